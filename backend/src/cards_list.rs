//! `GET /cards?limit=&cursor=`: the caller's cards newest first from GSI1 (`userId` + `createdAt`),
//! paginated with an opaque [`crate::cursor::Cursor`].

use crate::HandlerError;
use crate::cursor::Cursor;
use crate::http::{self, Request, Response};
use crate::model::Card;
use crate::obs::RequestLog;
use lambda_runtime::LambdaEvent;
use serde::Serialize;

pub use crate::store::CardsDeps as Deps;

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: i32 = 20;
/// Largest page.
pub const MAX_LIMIT: i32 = 100;

/// One page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// The cards.
    pub items: Vec<Card>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Parses `limit`.
///
/// ```
/// assert_eq!(backend::cards_list::parse_limit(None).unwrap(), 20);
/// assert_eq!(backend::cards_list::parse_limit(Some("5")).unwrap(), 5);
/// assert!(backend::cards_list::parse_limit(Some("0")).is_err());
/// ```
///
/// # Errors
/// [`HandlerError::Validation`] on field `limit` unless 1..=100.
pub fn parse_limit(raw: Option<&str>) -> Result<i32, HandlerError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(t) => match t.parse::<i32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(HandlerError::validation(
                "limit",
                format!("must be 1..={MAX_LIMIT}"),
            )),
        },
    }
}

/// The handler.
///
/// # Errors
/// Server-side failures only (`Retryable`, `Internal`); client errors are 4xx answers.
pub async fn handler(event: LambdaEvent<Request>, deps: &Deps) -> Result<Response, HandlerError> {
    let mut log = RequestLog::start("cards_list", &event.context.request_id);
    let result = run(&event.payload, deps, &mut log).await;
    http::finish(log, result)
}

async fn run(req: &Request, deps: &Deps, log: &mut RequestLog) -> Result<Response, HandlerError> {
    let caller = http::caller(req)?;
    log.user(&deps.users, &caller.sub);
    let limit = parse_limit(http::query_param(req, "limit"))?;
    let after = http::query_param(req, "cursor")
        .map(|c| Cursor::decode(c, &caller))
        .transpose()?;
    let (items, next) = deps.store.list(&caller, limit, after.as_ref()).await?;
    Ok(http::json(
        200,
        &Page {
            items,
            next_cursor: next.map(|c| c.encode()),
        },
    ))
}
