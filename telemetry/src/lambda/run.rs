//! [`run`]: the runtime loop with the invocation layer, concurrent under Lambda Managed Instances.
//!
//! lambda_runtime 1.5 has a concurrent mode (`run_concurrent`, feature `concurrency-tokio`): with
//! `AWS_LAMBDA_MAX_CONCURRENCY` > 1 it runs that many `/next` polling loops as tokio tasks, so several
//! invocations are in flight in one process; unset or ≤ 1, it is the sequential loop of `run`. In
//! concurrent mode it does not set `_X_AMZN_TRACE_ID` (one process-wide variable cannot name several
//! invocations); the invocation layer reads `context.xray_trace_id`, and every log line, EMF document and
//! span takes its request id and trace id from its own invocation's span.

use lambda_runtime::{Diagnostic, IntoFunctionResponse, LambdaEvent, Service};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;

/// Runs `handler` behind [`layer`](super::layer) until the runtime stops: concurrently when
/// `AWS_LAMBDA_MAX_CONCURRENCY` > 1, sequentially otherwise. Call after [`init`](super::init).
///
/// ```no_run
/// use lambda_runtime::{Error, LambdaEvent, service_fn};
/// async fn handler(e: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> { Ok(e.payload) }
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     telemetry::init()?;
///     telemetry::run(service_fn(handler)).await
/// }
/// ```
///
/// # Errors
/// The runtime's own errors (the Runtime API unreachable, an invalid environment).
pub async fn run<A, F, R, B, S, D, E>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Service<LambdaEvent<A>, Response = R> + Clone + Send + 'static,
    F::Future: Future<Output = Result<R, F::Error>> + Send + 'static,
    F::Error: Into<Diagnostic> + fmt::Debug,
    A: for<'de> Deserialize<'de> + Send + 'static,
    R: IntoFunctionResponse<B, S> + Send + 'static,
    B: Serialize + Send + 'static,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send + 'static,
    E: Into<lambda_runtime::Error> + Send + fmt::Debug + 'static,
{
    run_with(super::layer(), handler).await
}

/// Like [`run`], behind `layer` (e.g. `telemetry::layer().with_correlation(…)`).
///
/// ```no_run
/// use lambda_runtime::{Error, LambdaEvent, service_fn};
/// struct Deps { table: String }
/// async fn handler(e: LambdaEvent<serde_json::Value>, deps: &Deps) -> Result<String, Error> { Ok(deps.table.clone()) }
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     telemetry::init()?;
///     // Built once; shared by the concurrent invocations for the life of the process.
///     let deps: &'static Deps = Box::leak(Box::new(Deps { table: "cards".into() }));
///     let layer = telemetry::layer().with_correlation_header("x-correlation-id");
///     telemetry::lambda::run_with(layer, service_fn(move |e| handler(e, deps))).await
/// }
/// ```
///
/// # Errors
/// As [`run`].
pub async fn run_with<A, F, R, B, S, D, E>(
    layer: super::InvocationLayer,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Service<LambdaEvent<A>, Response = R> + Clone + Send + 'static,
    F::Future: Future<Output = Result<R, F::Error>> + Send + 'static,
    F::Error: Into<Diagnostic> + fmt::Debug,
    A: for<'de> Deserialize<'de> + Send + 'static,
    R: IntoFunctionResponse<B, S> + Send + 'static,
    B: Serialize + Send + 'static,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send + 'static,
    E: Into<lambda_runtime::Error> + Send + fmt::Debug + 'static,
{
    lambda_runtime::run_concurrent(layer.service(handler)).await
}
