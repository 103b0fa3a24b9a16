//! [`run`]: the runtime loop with the invocation layer, concurrent under Lambda Managed Instances.
//!
//! lambda_runtime 1.5 has a concurrent mode (`run_concurrent`, feature `concurrency-tokio`): with
//! `AWS_LAMBDA_MAX_CONCURRENCY` > 1 it runs that many `/next` polling loops as tokio tasks, so several
//! invocations are in flight in one process; unset or ≤ 1, it is the sequential loop of `run`. In
//! concurrent mode it does not set `_X_AMZN_TRACE_ID` (one process-wide variable cannot name several
//! invocations); the invocation layer reads `context.xray_trace_id`, and every log line, EMF document and
//! span takes its request id and trace id from its own invocation's span.
//!
//! Around the runtime's own response post, [`SpanFlushLayer`] waits for the spans a background
//! exporter (OTLP/HTTP) still holds before the runtime asks for the next event — the moment Lambda
//! may freeze the process. With such an exporter, the runners also register an internal extension so
//! that Lambda sends `SIGTERM` before it shuts the environment down, and flush once more then
//! (`shutdown` module).

use crate::xray::SpanSink;
use lambda_runtime::tower::Layer;
use lambda_runtime::{Diagnostic, IntoFunctionResponse, LambdaEvent, LambdaInvocation, Runtime, Service};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

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
    let sink = layer.span_sink();
    super::shutdown::arm(sink.clone()).await;
    let flush = SpanFlushLayer::lambda(sink);
    // `lambda_runtime::run_concurrent`'s stack (the runtime's `TracingLayer` around the service that
    // posts the response), with the span flush outside it: it runs once the response is posted.
    Runtime::new(layer.service(handler))
        .layer(EventBodyLayer)
        .layer(lambda_runtime::layers::TracingLayer::new())
        .layer(flush)
        .run_concurrent()
        .await
}

/// Runs `service` — a handler already behind [`layer`](super::layer) — one invocation at a time, with
/// the span flush after each response ([`SpanFlushLayer`]): for a handler that borrows from `main`
/// (not `'static`), which [`run`] cannot share between concurrent invocations.
///
/// ```no_run
/// use lambda_runtime::{Error, LambdaEvent, service_fn};
/// async fn handler(e: LambdaEvent<serde_json::Value>, table: &str) -> Result<String, Error> { Ok(table.to_owned()) }
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     telemetry::init()?;
///     let table = String::from("cards");
///     let table = table.as_str();
///     telemetry::lambda::run_sequential(telemetry::layer().service(service_fn(move |e| handler(e, table)))).await
/// }
/// ```
///
/// # Errors
/// As [`run`].
pub async fn run_sequential<A, F, R, B, S, D, E>(service: F) -> Result<(), lambda_runtime::Error>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + fmt::Debug,
    A: for<'de> Deserialize<'de>,
    R: IntoFunctionResponse<B, S>,
    B: Serialize,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<lambda_runtime::Error> + Send + fmt::Debug,
{
    if super::layer::managed_instances(std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok().as_deref()) {
        // Said once, at start: under Managed Instances the environment asks for several invocations
        // at a time, and this loop serves them one after another (it still answers every one).
        tracing::warn!(
            "AWS_LAMBDA_MAX_CONCURRENCY asks for concurrent invocations; run_sequential serves them one at a \
             time (use telemetry::lambda::run with a 'static handler for the concurrent loop)"
        );
    }
    let sink = super::layer().span_sink();
    super::shutdown::arm(sink.clone()).await;
    Runtime::new(service)
        .layer(EventBodyLayer)
        .layer(lambda_runtime::layers::TracingLayer::new())
        .layer(SpanFlushLayer::lambda(sink))
        .run()
        .await
}

/// Hands each invocation's raw event to the [invocation layer](super::layer) while the runtime
/// dispatches it, so that a handler taking a typed payload (`LambdaEvent<ApiGatewayV2httpRequest>`,
/// a struct of its own) gets what a `serde_json::Value` handler gets from its event: the trace context
/// in API Gateway headers, SQS message attributes and EventBridge details, `faas.trigger`, the
/// default correlation id, SQS message links, and `POWERTOOLS_LOGGER_LOG_EVENT`. The event is parsed
/// once more for that, up to 1 MiB (a larger one is traced from Lambda's header alone and not
/// logged); a `Value` payload is read as it is. [`run`], [`run_with`] and [`run_sequential`] add it;
/// a `lambda_runtime::Runtime` built by hand takes it with `.layer(EventBodyLayer)`.
///
/// ```no_run
/// use lambda_runtime::{Error, LambdaEvent, Runtime, service_fn};
/// #[derive(serde::Deserialize)]
/// struct Order { id: String }
/// async fn handler(e: LambdaEvent<Order>) -> Result<String, Error> { Ok(e.payload.id) }
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     telemetry::init()?;
///     Runtime::new(telemetry::layer().service(service_fn(handler)))
///         .layer(telemetry::lambda::EventBodyLayer)
///         .layer(telemetry::lambda::SpanFlushLayer::installed())
///         .run()
///         .await
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct EventBodyLayer;

impl<S> Layer<S> for EventBodyLayer {
    type Service = EventBodyService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        EventBodyService { inner }
    }
}

/// The runtime's service behind an [`EventBodyLayer`].
#[derive(Debug, Clone)]
pub struct EventBodyService<S> {
    inner: S,
}

impl<S> Service<LambdaInvocation> for EventBodyService<S>
where
    S: Service<LambdaInvocation>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        // The runtime deserialises the payload and calls the handler's service within this call.
        super::layer::dispatching(invocation.body.clone(), || self.inner.call(invocation))
    }
}

/// How long before the invocation's deadline a span flush gives up, so that the runtime still asks
/// for the next event in time.
pub const FLUSH_MARGIN: Duration = Duration::from_millis(50);

/// Waits, after the runtime has posted an invocation's response and before it asks for the next
/// event (when Lambda may freeze the process), for the spans a background exporter (OTLP/HTTP) holds
/// at that moment to leave: at most until the invocation's deadline less [`FLUSH_MARGIN`], and never
/// longer than the exporter's own timeout. The caller already has its answer; the wait happens only
/// when spans are held (the X-Ray and OTLP/UDP exporters send on the invocation's thread) and the
/// exporter is not failing ([`SpanSink::flusher`]). [`run`] adds it; a `lambda_runtime::Runtime` built
/// by hand takes it with `.layer(SpanFlushLayer::installed())`.
///
/// ```no_run
/// use lambda_runtime::{Error, LambdaEvent, Runtime, service_fn};
/// async fn handler(e: LambdaEvent<serde_json::Value>) -> Result<serde_json::Value, Error> { Ok(e.payload) }
/// #[tokio::main]
/// async fn main() -> Result<(), Error> {
///     telemetry::init()?;
///     Runtime::new(telemetry::layer().service(service_fn(handler)))
///         .layer(telemetry::lambda::SpanFlushLayer::installed())
///         .run()
///         .await
/// }
/// ```
#[derive(Clone, Default)]
pub struct SpanFlushLayer {
    sink: Option<Arc<dyn SpanSink>>,
}

impl SpanFlushLayer {
    /// Flushes the sink [`init`](super::init) set up — none when it set up no span export, or under
    /// Lambda Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY` > 1), whose environment is never frozen.
    #[must_use]
    pub fn installed() -> Self {
        Self::lambda(super::layer().span_sink())
    }

    fn lambda(sink: Option<Arc<dyn SpanSink>>) -> Self {
        let frozen =
            !super::layer::managed_instances(std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok().as_deref());
        Self {
            sink: sink.filter(|_| frozen),
        }
    }

    /// Flushes `sink`, whatever the environment.
    #[must_use]
    pub fn new(sink: Arc<dyn SpanSink>) -> Self {
        Self { sink: Some(sink) }
    }
}

impl fmt::Debug for SpanFlushLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanFlushLayer")
            .field("sink", &self.sink)
            .finish()
    }
}

impl<S> Layer<S> for SpanFlushLayer {
    type Service = SpanFlushService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        SpanFlushService {
            inner,
            sink: self.sink.clone(),
        }
    }
}

/// The runtime's service behind a [`SpanFlushLayer`].
#[derive(Clone)]
pub struct SpanFlushService<S> {
    inner: S,
    sink: Option<Arc<dyn SpanSink>>,
}

impl<S> fmt::Debug for SpanFlushService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanFlushService")
            .field("sink", &self.sink)
            .finish_non_exhaustive()
    }
}

/// The time from `now` to `deadline_ms` (milliseconds since the epoch, the runtime's
/// `Lambda-Runtime-Deadline-Ms`) less [`FLUSH_MARGIN`]; zero once that has passed.
fn flush_budget(deadline_ms: u64, now: SystemTime) -> Duration {
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    deadline
        .duration_since(now)
        .unwrap_or_default()
        .saturating_sub(FLUSH_MARGIN)
}

impl<S> Service<LambdaInvocation> for SpanFlushService<S>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_runtime::Error>,
{
    type Response = ();
    type Error = lambda_runtime::Error;
    type Future = SpanFlushFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let deadline = invocation.context.deadline;
        SpanFlushFuture {
            posted: Some(Box::pin(self.inner.call(invocation))),
            sink: self.sink.clone(),
            deadline,
            flushing: None,
            result: None,
        }
    }
}

/// The runtime's post of the response, then the span flush. See [`SpanFlushLayer`].
pub struct SpanFlushFuture<F> {
    /// The runtime's work (handler, response post); `None` once it is done.
    posted: Option<Pin<Box<F>>>,
    sink: Option<Arc<dyn SpanSink>>,
    deadline: u64,
    /// The flush, off the runtime's threads: under Lambda Managed Instances other invocations run on
    /// them meanwhile.
    flushing: Option<tokio::task::JoinHandle<bool>>,
    /// What the runtime's work returned, handed on once the flush is over.
    result: Option<Result<(), lambda_runtime::Error>>,
}

impl<F> fmt::Debug for SpanFlushFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanFlushFuture")
            .field("posted", &self.posted.is_none())
            .field("flushing", &self.flushing.is_some())
            .finish_non_exhaustive()
    }
}

impl<F> Future for SpanFlushFuture<F>
where
    F: Future<Output = Result<(), lambda_runtime::Error>>,
{
    type Output = Result<(), lambda_runtime::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin` (the runtime's future is boxed).
        let this = self.get_mut();
        if let Some(posted) = &mut this.posted {
            let result = std::task::ready!(posted.as_mut().poll(cx));
            this.posted = None;
            // The batches held at this moment — the response is posted — are the ones to wait for.
            let Some(wait) = this.sink.take().and_then(|s| s.flusher()) else {
                return Poll::Ready(result);
            };
            let budget = flush_budget(this.deadline, SystemTime::now());
            if budget.is_zero() {
                return Poll::Ready(result);
            }
            this.result = Some(result);
            this.flushing = Some(tokio::task::spawn_blocking(move || {
                let left = wait(budget);
                if !left {
                    tracing::debug!(
                        budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
                        "spans still held when the flush gave up; they leave when the process thaws"
                    );
                }
                left
            }));
        }
        if let Some(flushing) = &mut this.flushing {
            // A flush that panicked is over too.
            let _ = std::task::ready!(Pin::new(flushing).poll(cx));
            this.flushing = None;
        }
        Poll::Ready(this.result.take().unwrap_or(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_instances_are_more_than_one_invocation_at_a_time() {
        use super::super::layer::managed_instances;
        assert!(managed_instances(Some("8")));
        assert!(managed_instances(Some(" 2 ")));
        for v in [None, Some("1"), Some("0"), Some(""), Some("many"), Some("-4")] {
            assert!(!managed_instances(v), "{v:?}");
        }
    }

    #[test]
    fn the_flush_ends_before_the_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_000_000);
        assert_eq!(flush_budget(1_003_000, now), Duration::from_millis(2_950));
        assert_eq!(flush_budget(1_000_040, now), Duration::ZERO, "inside the margin");
        assert_eq!(flush_budget(999_000, now), Duration::ZERO, "already past");
        assert_eq!(flush_budget(0, now), Duration::ZERO);
    }
}
