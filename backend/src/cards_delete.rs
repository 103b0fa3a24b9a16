//! `DELETE /cards/{id}`: removes the card and its price history in one transaction; 204, or 404 when
//! the caller has no such card. Counts `CardsDeleted`.

use crate::HandlerError;
use crate::http::{self, Request, Response};
use crate::obs::{self, RequestLog};
use lambda_runtime::LambdaEvent;
use telemetry::catalogue::MetricName;

pub use crate::store::CardsDeps as Deps;

/// The handler.
///
/// # Errors
/// Server-side failures only (`Retryable`, `Internal`); client errors are 4xx answers.
pub async fn handler(event: LambdaEvent<Request>, deps: &Deps) -> Result<Response, HandlerError> {
    let mut log = RequestLog::start("cards_delete", &event.context.request_id);
    let result = run(&event.payload, deps, &mut log).await;
    http::finish(log, result)
}

async fn run(req: &Request, deps: &Deps, log: &mut RequestLog) -> Result<Response, HandlerError> {
    let caller = http::caller(req)?;
    log.user(&deps.users, &caller.sub);
    let id = http::card_id(req)?;
    let prices = deps.store.delete(&caller, &id).await?;
    tracing::info!(card_id = id.as_str(), prices_deleted = prices, "card deleted");
    obs::count(MetricName::CardsDeleted, 1);
    Ok(http::empty(204))
}
