//! `GET /cards?limit=&cursor=`: the caller's cards newest first from GSI1 (`userId` + `createdAt`),
//! paginated with an opaque [`crate::cursor::Cursor`].
//!
//! The body is a JSON array of cards — seed 001's smoke test: "GET /cards with valid JWT → 200 with
//! empty array (new user)". The next page, when there is one, is named by a `Link` header (RFC 8288,
//! as GitHub's API pages): `Link: <?limit=20&cursor=…>; rel="next"`, a reference relative to the
//! request's own URL (so it holds behind any stage or custom-domain path); absent on the last page
//! (the query asks for one card more than the page to know).

use crate::HandlerError;
use crate::cursor::Cursor;
use crate::http::{self, Request, Response};
use crate::obs::RequestLog;
use aws_lambda_events::http::HeaderValue;
use lambda_runtime::LambdaEvent;

pub use crate::store::CardsDeps as Deps;

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: i32 = 20;
/// Largest page.
pub const MAX_LIMIT: i32 = 100;

/// The `Link` header naming the page after this one (`cursor` is URL-safe base64, `limit` a number).
///
/// ```
/// assert_eq!(backend::cards_list::next_link(2, "eyJ"), "<?limit=2&cursor=eyJ>; rel=\"next\"");
/// ```
#[must_use]
pub fn next_link(limit: i32, cursor: &str) -> String {
    format!("<?limit={limit}&cursor={cursor}>; rel=\"next\"")
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
    // The pseudonym a cursor names its owner by (never the `sub`: `crate::cursor`).
    let owner = deps.users.hash(&caller.sub);
    let limit = parse_limit(http::query_param(req, "limit"))?;
    let after = http::query_param(req, "cursor")
        .map(|c| Cursor::decode(c, &caller, &owner))
        .transpose()?;
    let (items, next) = deps.store.list(&caller, limit, after.as_ref()).await?;
    let mut response = http::json(200, &items);
    if let Some(next) = next {
        let link = HeaderValue::from_str(&next_link(limit, &next.encode(&owner)))
            .map_err(|e| HandlerError::Internal(format!("next page link: {e}")))?;
        response.headers.insert("link", link);
    }
    Ok(response)
}
