//! `GET /cards/{id}`: one of the caller's cards; 404 for a card that does not exist or is someone
//! else's (the key includes the caller's `sub`, so another user's card is simply not found).

use crate::HandlerError;
use crate::http::{self, Request, Response};
use crate::obs::RequestLog;
use lambda_runtime::LambdaEvent;

pub use crate::store::CardsDeps as Deps;

/// The handler.
///
/// # Errors
/// Server-side failures only (`Retryable`, `Internal`); client errors are 4xx answers.
pub async fn handler(event: LambdaEvent<Request>, deps: &Deps) -> Result<Response, HandlerError> {
    let mut log = RequestLog::start("cards_get", &event.context.request_id);
    let result = run(&event.payload, deps, &mut log).await;
    http::finish(log, result)
}

async fn run(req: &Request, deps: &Deps, log: &mut RequestLog) -> Result<Response, HandlerError> {
    let caller = http::caller(req)?;
    log.user(&deps.users, &caller.sub);
    let id = http::card_id(req)?;
    match deps.store.get(&caller, &id).await? {
        Some(card) => Ok(http::json(200, &card)),
        None => Err(HandlerError::NotFound("card".into())),
    }
}
