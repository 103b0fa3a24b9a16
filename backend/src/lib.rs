//! `backend`: CollectIQ's own Lambda functions.
//!
//! Each function is a module with `pub async fn handler(LambdaEvent<Req>, &Deps) -> Result<Resp,
//! HandlerError>` and a `Deps` holding its SDK clients and settings (`Deps::from_env`); the binaries
//! in `src/bin/` are thin mains that link `telemetry`:
//!
//! ```no_run
//! use backend::cards_get::{Deps, handler};
//! use lambda_runtime::{Error, service_fn};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     telemetry::init()?;
//!     let deps = Deps::from_env(&backend::config::aws().await).await?;
//!     telemetry::lambda::run_sequential(telemetry::layer().service(service_fn(|e| handler(e, &deps)))).await
//! }
//! ```
//!
//! HTTP functions answer 4xx JSON errors naming the field and raise 5xx as Lambda errors
//! ([`http::respond`]); pipeline tasks fail with the stable error types of [`HandlerError`], which the
//! state machine's `Retry` (`Retryable`) and `Catch` (everything) match. See `docs/backend.md`.

pub mod config;
pub mod cursor;
pub mod error;
pub mod flags;
pub mod http;
pub mod identity;
pub mod model;
pub mod obs;
pub mod phash;
pub mod quota;
pub mod store;
pub mod uploads;

pub mod aggregator;
pub mod authenticity_agent;
pub mod cards_create;
pub mod cards_delete;
pub mod cards_get;
pub mod cards_list;
pub mod cards_revalue;
pub mod error_handler;
pub mod healthz;
pub mod pricing_agent;
pub mod rekognition_extract;
pub mod upload_presign;

pub use error::HandlerError;

/// The correlation id of any payload these functions receive, for
/// `telemetry::layer().with_correlation(backend::correlation_id)` (by itself the layer reads the event's
/// JSON — the raw body, under `run_with`, for these typed payloads — which has API Gateway's request id
/// but not a valuation's `correlationId`): API Gateway's `requestContext.requestId`, a valuation's
/// `correlationId` (the API request that started it), or the first SQS record's `messageId`.
///
/// ```
/// let req = backend::model::ValuationRequest {
///     valuation_id: "v".into(), user_id: "u".into(), user_pseudonym: None, card_id: "c".into(), bucket: "b".into(),
///     front_s3_key: "k".into(), back_s3_key: None, requested_at: chrono::DateTime::UNIX_EPOCH,
///     correlation_id: "api-1".into(), card: None,
/// };
/// assert_eq!(backend::correlation_id(&req).as_deref(), Some("api-1"));
/// assert_eq!(backend::correlation_id(&42_u8), None);
/// ```
#[must_use]
pub fn correlation_id(payload: &dyn std::any::Any) -> Option<String> {
    use model::{AggregatorInput, ExtractOutput, ValuationRequest};
    if let Some(r) = payload.downcast_ref::<http::Request>() {
        return r.request_context.request_id.clone();
    }
    if let Some(r) = payload.downcast_ref::<ValuationRequest>() {
        return Some(r.correlation_id.clone());
    }
    if let Some(r) = payload.downcast_ref::<ExtractOutput>() {
        return Some(r.request.correlation_id.clone());
    }
    if let Some(r) = payload.downcast_ref::<AggregatorInput>() {
        return Some(r.request.correlation_id.clone());
    }
    match payload.downcast_ref::<error_handler::FailureInput>()? {
        error_handler::FailureInput::Caught(f) => Some(f.request.correlation_id.clone()),
        error_handler::FailureInput::Sqs(e) => e.records.first()?.message_id.clone(),
        error_handler::FailureInput::Sweep(_) => None,
    }
}
