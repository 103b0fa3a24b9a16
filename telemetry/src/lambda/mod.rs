//! The invocation layer for `lambda_runtime` ([`layer`]), and [`init`] which installs the global pipeline.
//!
//! ```no_run
//! use lambda_runtime::{Error, LambdaEvent, service_fn};
//! use serde_json::Value;
//!
//! async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
//!     tracing::info!("valuing");
//!     metrics::counter!("CardsValued").increment(1);
//!     Ok(event.payload)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     telemetry::init()?;
//!     telemetry::run(service_fn(handler)).await
//! }
//! ```
//!
//! [`run`] (concurrent under Lambda Managed Instances) or [`run_sequential`] (a handler that borrows
//! from `main`) also wait, once the runtime has posted the response and before it asks for the next
//! event, for spans a background exporter (OTLP/HTTP) still holds ([`SpanFlushLayer`]); with
//! `lambda_runtime::run` directly, an OTLP/HTTP post in flight may be frozen with the process. With
//! an OTLP/HTTP exporter they also register an internal extension ([`EXTENSION_NAME`]), so that Lambda
//! sends `SIGTERM` before it shuts the environment down, and wait up to [`SHUTDOWN_FLUSH`] for the
//! spans still held then (`TELEMETRY_SHUTDOWN_FLUSH=false` turns that off).
//!
//! Per invocation the layer opens the [`INVOCATION_SPAN`] carrying the request id, function ARN, the
//! trace header from `context.xray_trace_id` (the env var only as a fallback), the correlation id and
//! the cold-start flag, so logs, metrics and traces agree. When the handler returns — success, error or
//! panic — it flushes buffered logs (on failure), EMF metrics and the invocation's subsegment before the
//! runtime posts the response. Telemetry never fails the handler: a panic is reported and re-raised for
//! the runtime to turn into an error response, exactly as without the layer.

//!
//! Two seams, one file each: [`layer`](InvocationLayer) wraps every invocation (span, correlation,
//! flush, panic handling) and needs nothing global; `init` builds and installs the process-wide
//! subscriber, metrics recorder and panic hook, then hands the layer its configuration.

mod init;
mod layer;
mod run;
mod shutdown;

pub use init::{InitError, TelemetryBuilder, init};
pub use layer::{InvocationFuture, InvocationLayer, InvocationService, layer};
pub use run::{
    EventBodyLayer, EventBodyService, FLUSH_MARGIN, SpanFlushFuture, SpanFlushLayer, SpanFlushService, run,
    run_sequential, run_with,
};
pub use shutdown::{EXTENSION_NAME, SHUTDOWN_FLUSH};
