//! `GET /healthz`: the unauthenticated liveness probe of the HTTP API.

use crate::HandlerError;
use crate::http::{self, Request, Response};
use crate::obs::RequestLog;
use chrono::{DateTime, SecondsFormat, Utc};
use lambda_runtime::LambdaEvent;
use serde::Serialize;

/// The body `healthz` answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthBody {
    /// Always `"ok"` when the function runs.
    pub status: &'static str,
    /// When the answer was produced (RFC 3339, ms, UTC).
    pub timestamp: String,
}

/// Builds the health body for `now`.
///
/// ```
/// let body = backend::healthz::health_body(chrono::DateTime::UNIX_EPOCH);
/// assert_eq!(body.status, "ok");
/// assert_eq!(body.timestamp, "1970-01-01T00:00:00.000Z");
/// ```
#[must_use]
pub fn health_body(now: DateTime<Utc>) -> HealthBody {
    HealthBody {
        status: "ok",
        timestamp: now.to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}

/// `healthz` has no dependencies.
#[derive(Debug, Clone, Copy, Default)]
pub struct Deps;

/// The handler: always 200 with [`HealthBody`]; no auth, no AWS calls.
///
/// # Errors
/// Never.
pub async fn handler(event: LambdaEvent<Request>, _deps: &Deps) -> Result<Response, HandlerError> {
    let log = RequestLog::start("healthz", &event.context.request_id);
    http::finish(log, Ok(http::json(200, &health_body(Utc::now()))))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_serializes_with_status_and_timestamp() {
        let v = serde_json::to_value(health_body(DateTime::UNIX_EPOCH)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"status": "ok", "timestamp": "1970-01-01T00:00:00.000Z"})
        );
    }
}
