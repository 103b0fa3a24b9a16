//! The per-invocation tower layer: opens the invocation span (request id, trace header, correlation
//! id, cold start), scopes the invocation's own EMF metrics, and flushes logs, metrics and the X-Ray
//! subsegment when the handler returns, fails or panics. See the [parent module](super).

use crate::clock::sample;
use crate::context::{CONTROL_TARGET, ColdStartTracker, FunctionInfo, INVOCATION_SPAN};
use crate::emf::{EmfRecorder, InvocationMetrics};
use crate::logs::{InvocationFacts, LogConfig};
use crate::propagation::Propagators;
use crate::xray::TraceHeader;
use lambda_runtime::LambdaEvent;
use lambda_runtime::tower::{Layer, Service};
use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use tracing::Span;

type CorrelationFn = dyn Fn(&dyn Any) -> Option<String> + Send + Sync;

/// What every copy of the layer shares: set once by `init`, or read from the environment.
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) function: FunctionInfo,
    pub(super) sample_rate: f64,
    /// `POWERTOOLS_LOGGER_LOG_EVENT`: the event logged at INFO as each invocation starts.
    pub(super) log_event: bool,
    pub(super) emf: Option<EmfRecorder>,
    pub(super) cold: Arc<ColdStartTracker>,
    pub(super) correlation: Option<Arc<CorrelationFn>>,
    pub(super) correlation_header: Option<String>,
    /// `None`: `OTEL_PROPAGATORS` ([`Propagators::from_env`]).
    pub(super) propagators: Option<Propagators>,
    /// Where `init`'s span layer sends spans: [`run`](super::run) flushes it after each response.
    pub(super) spans: Option<Arc<dyn crate::xray::SpanSink>>,
}

static INSTALLED: OnceLock<Shared> = OnceLock::new();
static PROCESS_COLD_START: OnceLock<Arc<ColdStartTracker>> = OnceLock::new();

/// Makes `shared` what [`layer`] returns from now on (first call wins, as `init` runs once).
pub(super) fn install_shared(shared: Shared) {
    let _ = INSTALLED.set(shared);
}

pub(super) fn process_cold_start() -> Arc<ColdStartTracker> {
    Arc::clone(PROCESS_COLD_START.get_or_init(|| Arc::new(ColdStartTracker::default())))
}

/// Raw events past this size are not parsed for a typed payload (`EventBodyLayer`): the invocation
/// is traced from Lambda's own header only, and its event is not logged. Parsing a document costs
/// time and a few times its size in memory; events of a MiB are batches of large messages, rare.
const MAX_PARSED_EVENT_BYTES: usize = 1024 * 1024;

thread_local! {
    /// The raw body of the invocation the runtime is dispatching on this thread, between
    /// [`EventBodyLayer`](super::EventBodyLayer)'s call and its inner service's return: the
    /// runtime's deserialisation and the handler's `call` happen within it, on this thread.
    static DISPATCHED_EVENT: std::cell::RefCell<Option<bytes::Bytes>> = const { std::cell::RefCell::new(None) };
}

/// Runs `dispatch` with `body` as the event being dispatched on this thread ([`dispatched_event`]),
/// cleared afterwards, also when `dispatch` panics.
pub(super) fn dispatching<R>(body: bytes::Bytes, dispatch: impl FnOnce() -> R) -> R {
    struct Clear(Option<bytes::Bytes>);
    impl Drop for Clear {
        fn drop(&mut self) {
            let before = self.0.take();
            let _ = DISPATCHED_EVENT.try_with(|e| *e.borrow_mut() = before);
        }
    }
    let before = DISPATCHED_EVENT
        .try_with(|e| e.borrow_mut().replace(body))
        .ok()
        .flatten();
    let _clear = Clear(before);
    dispatch()
}

/// The event being dispatched on this thread, parsed: `None` outside [`dispatching`], when it is
/// not JSON, or past [`MAX_PARSED_EVENT_BYTES`].
fn dispatched_event() -> Option<serde_json::Value> {
    let body = DISPATCHED_EVENT.try_with(|e| e.borrow().clone()).ok().flatten()?;
    if body.len() > MAX_PARSED_EVENT_BYTES {
        return None;
    }
    serde_json::from_slice(&body).ok()
}

/// The layer [`init`] configured (or one read from the environment if `init` was not called).
#[must_use]
pub fn layer() -> InvocationLayer {
    match INSTALLED.get() {
        Some(shared) => InvocationLayer {
            shared: shared.clone(),
        },
        None => {
            let cfg = LogConfig::from_env();
            InvocationLayer {
                shared: Shared {
                    function: FunctionInfo::from_env(),
                    sample_rate: cfg.sample_rate(),
                    log_event: cfg.log_event(),
                    emf: crate::emf::global().cloned(),
                    cold: process_cold_start(),
                    correlation: None,
                    correlation_header: None,
                    propagators: None,
                    spans: None,
                },
            }
        }
    }
}

/// Wraps a handler service so each invocation gets its context and flush. See the [module docs](self).
#[derive(Clone)]
pub struct InvocationLayer {
    shared: Shared,
}

impl fmt::Debug for InvocationLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvocationLayer")
            .field("service", &self.shared.function.service)
            .finish_non_exhaustive()
    }
}

impl InvocationLayer {
    /// A layer for `function` with no metrics recorder and its own cold-start tracker (tests).
    ///
    /// ```
    /// use telemetry::context::FunctionInfo;
    /// let layer = telemetry::lambda::InvocationLayer::new(FunctionInfo::default());
    /// let svc = layer.service(lambda_runtime::service_fn(|e: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
    ///     Ok::<_, lambda_runtime::Error>(e.payload)
    /// }));
    /// # let _ = svc;
    /// ```
    #[must_use]
    pub fn new(function: FunctionInfo) -> Self {
        Self {
            shared: Shared {
                function,
                sample_rate: 0.0,
                log_event: false,
                emf: None,
                cold: Arc::new(ColdStartTracker::default()),
                correlation: None,
                correlation_header: None,
                propagators: None,
                spans: None,
            },
        }
    }

    /// Flushes this EMF recorder after each invocation.
    #[must_use]
    pub fn with_emf(mut self, recorder: EmfRecorder) -> Self {
        self.shared.emf = Some(recorder);
        self
    }

    /// The per-invocation debug sampling rate.
    #[must_use]
    pub fn with_sample_rate(mut self, rate: f64) -> Self {
        self.shared.sample_rate = rate;
        self
    }

    /// Logs each invocation's event at INFO (`"message":"Lambda invocation event"`, the event under
    /// `event`, redacted like every field), as `POWERTOOLS_LOGGER_LOG_EVENT=true` does. Events of type
    /// `serde_json::Value` only: a typed event is not known to serialise.
    #[must_use]
    pub fn with_log_event(mut self, on: bool) -> Self {
        self.shared.log_event = on;
        self
    }

    /// Takes the correlation id from this request header (API Gateway/ALB events) before the defaults.
    #[must_use]
    pub fn with_correlation_header(mut self, header: impl Into<String>) -> Self {
        self.shared.correlation_header = Some(header.into());
        self
    }

    /// Extracts the correlation id with `f` (for typed payloads; it receives `&payload` as `&dyn Any`).
    #[must_use]
    pub fn with_correlation(
        mut self,
        f: impl Fn(&dyn Any) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.shared.correlation = Some(Arc::new(f));
        self
    }

    /// Chooses the incoming parent with these propagators instead of `OTEL_PROPAGATORS`.
    #[must_use]
    pub fn with_propagators(mut self, propagators: Propagators) -> Self {
        self.shared.propagators = Some(propagators);
        self
    }

    /// Wraps `inner`.
    #[must_use]
    pub fn service<S>(&self, inner: S) -> InvocationService<S> {
        InvocationService {
            inner,
            shared: self.shared.clone(),
        }
    }

    /// The sink `init`'s span layer exports to, when it made one.
    pub(super) fn span_sink(&self) -> Option<Arc<dyn crate::xray::SpanSink>> {
        self.shared.spans.clone()
    }
}

impl<S> Layer<S> for InvocationLayer {
    type Service = InvocationService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        self.service(inner)
    }
}

/// The wrapped handler.
#[derive(Clone)]
pub struct InvocationService<S> {
    inner: S,
    shared: Shared,
}

impl<S> fmt::Debug for InvocationService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvocationService").finish_non_exhaustive()
    }
}

impl Shared {
    /// The correlation id of `payload`: the configured function's, else read from `json` (the
    /// payload itself, or the invocation's raw event parsed, see [`EventBodyLayer`](super::EventBodyLayer)).
    fn correlation_id(&self, payload: &dyn Any, json: Option<&serde_json::Value>) -> Option<String> {
        if let Some(f) = &self.correlation
            && let Some(id) = f(payload)
        {
            return Some(id);
        }
        let json = json?;
        if let Some(h) = &self.correlation_header
            && let Some(id) = crate::context::correlation_id_from_header(json, h)
        {
            return Some(id);
        }
        crate::context::correlation_id(json)
    }
}

impl<S, T> Service<LambdaEvent<T>> for InvocationService<S>
where
    S: Service<LambdaEvent<T>>,
    S::Error: fmt::Debug,
    T: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = InvocationFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<T>) -> Self::Future {
        let ctx = &event.context;
        let lambda_header: Option<Cow<'_, str>> = ctx
            .xray_trace_id
            .as_deref()
            .map(Cow::Borrowed)
            .or_else(|| env_trace_header(|k| std::env::var(k).ok()).map(Cow::Owned));
        // Lambda's segment is the parent; a context in the event (API Gateway headers, SQS attributes,
        // EventBridge detail) only when Lambda gave none — or first, when OTEL_PROPAGATORS leaves out
        // `xray-lambda` (traces reported somewhere else than X-Ray).
        // A typed payload's event is read from its raw body when the runtime stack hands it over
        // (`EventBodyLayer`, in `run`): headers, message attributes and the event logged as for JSON.
        let raw;
        let json = match (&event.payload as &dyn Any).downcast_ref::<serde_json::Value>() {
            Some(v) => Some(v),
            None => {
                raw = dispatched_event();
                raw.as_ref()
            }
        };
        let parent = match json {
            Some(v) => crate::propagation::event_parent_parsed(
                lambda_header.as_deref(),
                v,
                self.shared.propagators.unwrap_or_else(Propagators::from_env),
            ),
            None => crate::propagation::InvocationParent::lambda_only(lambda_header.as_deref()),
        };
        let trigger = json.map_or("other", crate::otel::resource::faas_trigger);
        let (header_text, tracestate, header) = (parent.header, parent.tracestate, parent.parsed);
        // Lambda's header when the event's context won (else it is `header`).
        let lambda_parsed = parent.lambda;
        // Powertools' `xray_trace_id` names Lambda's own trace, whatever the span's parent: the one
        // Lambda's segment, its logs and its REPORT line belong to. Without a Lambda header, the
        // event's trace.
        let xray_trace_id = lambda_parsed
            .as_ref()
            .or(header.as_ref())
            .map(TraceHeader::xray_trace_id);
        let cold = self.shared.cold.take(self.shared.function.initialization_type);
        let correlation = self.shared.correlation_id(&event.payload, json);
        let debug_sampled = sample(self.shared.sample_rate);
        let function = &self.shared.function;
        // The span layer reads the header back from the span's field: it takes this parse instead.
        let span = crate::xray::header::handing(&header_text, header.clone(), || {
            tracing::info_span!(
                target: "telemetry",
                INVOCATION_SPAN,
                function_request_id = ctx.request_id.as_str(),
                function_arn = ctx.invoked_function_arn.as_str(),
                xray_trace_id = xray_trace_id.as_deref(),
                correlation_id = correlation.as_deref(),
                cold_start = cold,
                telemetry.debug_sampled = debug_sampled,
                telemetry.trace_header = &*header_text,
                telemetry.tracestate = tracestate.as_deref(),
                telemetry.faas_trigger = trigger,
                telemetry.function_version = function.function_version.as_deref(),
                telemetry.segment_name = function.function_name.as_deref().unwrap_or(function.service.as_str()),
                telemetry.fault = tracing::field::Empty,
                annotation.ColdStart = cold,
                annotation.Service = function.service.as_str(),
            )
        });
        // Lambda's own context first: an SQS batch's message links fill the rest of the link limit.
        // (Nothing to link when Lambda's header is the parent, the default: no second parse of it.)
        if let (Some(lambda), Some(parent)) = (&lambda_parsed, &header) {
            lambda_header_link(&span, lambda, parent);
        }
        if let Some(v) = json
            && trigger == "pubsub"
        {
            sqs_batch_links(&span, v);
        }
        // This invocation's own metrics: under Managed Instances concurrency others run beside it.
        let metrics = self.shared.emf.as_ref().map(EmfRecorder::invocation);
        if cold && let Some(m) = &metrics {
            m.record_cold_start();
        }
        // What the panic hook prints if the handler panics on this thread (logs::PanicHook).
        let facts = Arc::new(InvocationFacts {
            request_id: ctx.request_id.clone(),
            function_arn: ctx.invoked_function_arn.clone(),
            xray_trace_id,
            correlation_id: correlation,
            cold_start: cold,
        });
        let finish = Finish {
            emf: self.shared.emf.clone(),
            metrics: metrics.clone(),
            facts: Arc::clone(&facts),
        };
        let inner = {
            let _entered = span.enter();
            if self.shared.log_event
                && let Some(v) = json
            {
                // `logs::record::EVENT_JSON_FIELD`: printed as the document, under `event`. The text is
                // made only when an INFO line is enabled here.
                tracing::info!(
                    telemetry.event_json = serde_json::to_string(v).unwrap_or_default().as_str(),
                    "Lambda invocation event"
                );
            }
            let _metrics = metrics.as_ref().map(InvocationMetrics::enter);
            let _facts = InvocationFacts::enter(&facts);
            catch_unwind(AssertUnwindSafe(|| self.inner.call(event)))
        };
        match inner {
            Ok(fut) => InvocationFuture {
                inner: Some(Box::pin(fut)),
                span: Some(span),
                metrics,
                facts: Some(facts),
                finish: Some(finish),
                panic: None,
            },
            // The handler panicked before returning a future: report now, re-raise on first poll.
            Err(payload) => {
                let mut finish = Some(finish);
                fail_with_panic(&span, payload.as_ref(), &mut finish);
                InvocationFuture {
                    inner: None,
                    span: None,
                    metrics: None,
                    facts: None,
                    finish: None,
                    panic: Some(payload),
                }
            }
        }
    }
}

/// Whether `AWS_LAMBDA_MAX_CONCURRENCY` asks for more than one invocation at a time: Lambda Managed
/// Instances, whose execution environment runs continuously ("without freezing between
/// invocations", AWS's Managed Instances execution environment guide) and rejects invocations while
/// every worker is busy — a flush there holds a worker and saves nothing.
pub(crate) fn managed_instances(max_concurrency: Option<&str>) -> bool {
    max_concurrency
        .and_then(|v| v.trim().parse::<u32>().ok())
        .is_some_and(|n| n > 1)
}

/// Lambda's header from the environment (`_X_AMZN_TRACE_ID`, read through `lookup`), for an invocation
/// whose context has none — only where the variable can be this invocation's. lambda_runtime's
/// sequential loop sets (or removes) it for each invocation; its concurrent mode (Lambda Managed
/// Instances, `AWS_LAMBDA_MAX_CONCURRENCY` > 1) never does, so a value there names no invocation in
/// particular, and parenting on it would put header-less invocations in a stranger's trace.
fn env_trace_header(lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    if managed_instances(lookup("AWS_LAMBDA_MAX_CONCURRENCY").as_deref()) {
        return None;
    }
    lookup("_X_AMZN_TRACE_ID")
}

/// An SQS batch's processing span, as the OpenTelemetry messaging conventions shape it
/// (<https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/>, and the SQS page):
/// a link to each message's creation context (`messaging.message.id` on the link), and
/// `messaging.system = aws_sqs`, `messaging.operation.type = process`,
/// `messaging.batch.message_count`, `messaging.destination.name` (the queue, when all records share
/// it). Nothing for other events, or when the invocation is not traced.
fn sqs_batch_links(span: &Span, event: &serde_json::Value) {
    use opentelemetry::trace::{Link, SpanContext, TraceFlags};
    use opentelemetry::{KeyValue, SpanId};
    let Some(records) = event.get("Records").and_then(serde_json::Value::as_array) else {
        return;
    };
    let sqs =
        |r: &serde_json::Value| r.get("eventSource").and_then(serde_json::Value::as_str) == Some("aws:sqs");
    if records.is_empty() || !records.iter().all(sqs) {
        return;
    }
    let (messages, left_out) = crate::propagation::sqs_message_links(event);
    let links = messages
        .into_iter()
        .map(|m| {
            let h = &m.context.header;
            let state = m
                .context
                .tracestate
                .as_deref()
                .map(crate::propagation::trace_state)
                .unwrap_or_default();
            let flags = TraceFlags::default().with_sampled(h.is_sampled());
            let context = SpanContext::new(h.root, h.parent.unwrap_or(SpanId::INVALID), flags, true, state);
            let attributes = m
                .message_id
                .map(|id| vec![KeyValue::new("messaging.message.id", id)])
                .unwrap_or_default();
            Link::new(context, attributes, 0)
        })
        .collect();
    fn queue(r: &serde_json::Value) -> Option<&str> {
        r.get("eventSourceARN")
            .and_then(serde_json::Value::as_str)
            .and_then(|arn| arn.rsplit(':').next())
    }
    let mut attributes = vec![
        KeyValue::new("messaging.system", "aws_sqs"),
        KeyValue::new("messaging.operation.type", "process"),
        KeyValue::new(
            "messaging.batch.message_count",
            i64::try_from(records.len()).unwrap_or(i64::MAX),
        ),
    ];
    if let Some(name) = queue(&records[0]).filter(|q| records.iter().all(|r| queue(r) == Some(q))) {
        attributes.push(KeyValue::new("messaging.destination.name", name.to_owned()));
    }
    crate::xray::add_links(
        span,
        links,
        u32::try_from(left_out).unwrap_or(u32::MAX),
        attributes,
    );
}

/// When the event's own context became the invocation's parent (`OTEL_PROPAGATORS` without
/// `xray-lambda`), Lambda's X-Ray context is not lost: it becomes a span link with `source=x-ray-env`,
/// as the AWS Lambda conventions' "AWS X-Ray Environment Span Link" section defined it (since replaced
/// by the propagator order, which decides the parent; the link is what keeps Lambda's own segment
/// reachable from the trace). Only a complete context is linked (`Root` and `Parent`): without active
/// tracing Lambda's header can be partial.
fn lambda_header_link(span: &Span, lambda: &TraceHeader, parent: &TraceHeader) {
    use opentelemetry::trace::{Link, SpanContext, TraceFlags, TraceState};
    let Some(lambda_parent) = lambda.parent else {
        return;
    };
    if lambda.root == parent.root && lambda.parent == parent.parent {
        return; // Lambda's header is the parent
    }
    let flags = TraceFlags::default().with_sampled(lambda.is_sampled());
    let context = SpanContext::new(lambda.root, lambda_parent, flags, true, TraceState::default());
    let link = Link::new(
        context,
        vec![opentelemetry::KeyValue::new("source", "x-ray-env")],
        0,
    );
    crate::xray::add_links(span, vec![link], 0, Vec::new());
}

struct Finish {
    emf: Option<EmfRecorder>,
    metrics: Option<InvocationMetrics>,
    /// The request id and trace id the invocation's EMF documents carry.
    facts: Arc<InvocationFacts>,
}

impl Finish {
    fn run(self) {
        if let Some(emf) = &self.emf {
            let request_id = ("function_request_id", self.facts.request_id.as_str());
            let props: &[(&str, &str)] = match &self.facts.xray_trace_id {
                Some(t) => &[request_id, ("xray_trace_id", t.as_str())],
                None => &[request_id],
            };
            if let Some(m) = &self.metrics {
                // Closed first: a task the handler scoped to it and that is still running records
                // process-wide from here on (the `flush` below, or the next invocation's).
                m.close();
                let _ = emf.flush_invocation(m, props);
            }
            // Recorded outside any invocation (init code, tasks spawned without the invocation's
            // scope): written too, but not as this invocation's.
            let _ = emf.flush();
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

fn fail_with_panic(span: &Span, payload: &(dyn Any + Send), finish: &mut Option<Finish>) {
    let _entered = span.enter();
    span.record("telemetry.fault", true);
    tracing::event!(target: CONTROL_TARGET, tracing::Level::ERROR, "flush");
    tracing::error!(panic = panic_message(payload), "handler panicked");
    if let Some(f) = finish.take() {
        f.run();
    }
}

/// Drops the last handle on the invocation's span, which closes it and sends its subsegment — unless
/// a span the handler started is still open (a spawned task outliving the handler): then the
/// subsegment is ended and sent now, not when that task ends, or never.
fn close_invocation(span: Span) {
    let id = span.id();
    drop(span);
    if let Some(id) = id {
        crate::xray::finish_if_open(&id);
    }
}

/// The future of an [`InvocationService`] call.
pub struct InvocationFuture<F> {
    inner: Option<Pin<Box<F>>>,
    span: Option<Span>,
    metrics: Option<InvocationMetrics>,
    facts: Option<Arc<InvocationFacts>>,
    finish: Option<Finish>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<F> fmt::Debug for InvocationFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvocationFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for InvocationFuture<F>
where
    F: Future<Output = Result<R, E>>,
    E: fmt::Debug,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(payload) = this.panic.take() {
            resume_unwind(payload);
        }
        let (Some(inner), Some(span)) = (this.inner.as_mut(), this.span.clone()) else {
            return Poll::Pending;
        };
        // Entered once for the poll and, when it is the last, for what ends the invocation: each
        // enter and exit costs the registry's reference counting and the OpenTelemetry context.
        let entered = span.enter();
        let polled = {
            let _metrics = this.metrics.as_ref().map(InvocationMetrics::enter);
            let _facts = this.facts.as_ref().map(InvocationFacts::enter);
            catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)))
        };
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => {
                if let Err(e) = &result {
                    span.record("telemetry.fault", true);
                    tracing::event!(target: CONTROL_TARGET, tracing::Level::ERROR, "flush");
                    tracing::error!(error = ?e, "handler failed");
                }
                if let Some(f) = this.finish.take() {
                    f.run();
                }
                drop(entered);
                this.inner = None;
                // Closing the span sends the invocation's subsegment before the response is posted.
                this.span = None;
                close_invocation(span);
                Poll::Ready(result)
            }
            Err(payload) => {
                drop(entered);
                fail_with_panic(&span, payload.as_ref(), &mut this.finish);
                this.inner = None;
                this.span = None;
                close_invocation(span);
                resume_unwind(payload)
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::emf::EmfBuilder;
    use crate::emf::SharedBuffer;
    use crate::logs::JsonLogLayer;
    use crate::testing::CapturedWriter;
    use crate::xray::MemorySink;
    use crate::xray::XrayLayer;
    use lambda_runtime::{Context as LambdaContext, service_fn};
    use serde_json::{Value, json};
    use tracing_subscriber::layer::SubscriberExt;

    /// In concurrent mode lambda_runtime never sets `_X_AMZN_TRACE_ID`: a value there (set once for the
    /// process, or left from elsewhere) would parent every header-less invocation in one stranger's trace.
    #[test]
    fn the_environments_trace_header_is_not_taken_under_concurrency() {
        const H: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let env = |concurrency: Option<&'static str>| {
            move |k: &str| match k {
                "_X_AMZN_TRACE_ID" => Some(H.to_owned()),
                "AWS_LAMBDA_MAX_CONCURRENCY" => concurrency.map(str::to_owned),
                _ => None,
            }
        };
        assert_eq!(env_trace_header(env(None)).as_deref(), Some(H));
        assert_eq!(env_trace_header(env(Some("1"))).as_deref(), Some(H));
        assert_eq!(env_trace_header(env(Some("8"))), None);
        assert_eq!(env_trace_header(env(Some(" 64 "))), None);
    }

    fn event(payload: Value, id: &str, header: Option<&str>) -> LambdaEvent<Value> {
        let mut ctx = LambdaContext::default();
        ctx.request_id = id.to_owned();
        ctx.invoked_function_arn = "arn:aws:lambda:eu-west-1:123:function:valuate".to_owned();
        ctx.xray_trace_id = header.map(str::to_owned);
        LambdaEvent::new(payload, ctx)
    }

    const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    struct Harness {
        logs: CapturedWriter,
        emf: SharedBuffer,
        xray: MemorySink,
        layer: InvocationLayer,
        dispatch: tracing::Dispatch,
    }

    fn harness() -> Harness {
        let logs = CapturedWriter::default();
        let emf_out = SharedBuffer::default();
        let xray = MemorySink::default();
        let function = FunctionInfo {
            service: "valuation".into(),
            function_name: Some("valuate".into()),
            ..Default::default()
        };
        let rec = EmfBuilder::new()
            .namespace("CollectIQ")
            .service("valuation")
            .function_name("valuate")
            .with_writer(emf_out.clone())
            .build()
            .unwrap();
        let log_cfg = LogConfig::new("valuation")
            .with_function(function.clone())
            .with_buffer(crate::logs::BufferConfig::default());
        let subscriber = tracing_subscriber::registry()
            .with(
                JsonLogLayer::new(log_cfg)
                    .with_writer(logs.clone())
                    .with_clock(FixedClock::from_millis(0)),
            )
            .with(XrayLayer::new(xray.clone()));
        let layer = InvocationLayer::new(function).with_emf(rec);
        Harness {
            logs,
            emf: emf_out,
            xray,
            layer,
            dispatch: tracing::Dispatch::new(subscriber),
        }
    }

    static KEPT: std::sync::Mutex<Option<tracing::Span>> = std::sync::Mutex::new(None);

    async fn handler(e: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
        tracing::debug!("buffered detail");
        tracing::info!(card_id = "c-1", "handling");
        metrics::counter!("CardsValued").increment(1);
        match e.payload["mode"].as_str() {
            Some("error") => Err("pricing unavailable".into()),
            Some("outlive") => {
                // A span the handler starts and leaves running (a spawned task's), kept past the call.
                *KEPT.lock().unwrap() = Some(tracing::info_span!("background_refresh"));
                Ok(json!({"ok": true}))
            }
            Some("panic") => panic!("boom"),
            _ => Ok(json!({"ok": true})),
        }
    }

    fn call(
        h: &Harness,
        payload: Value,
        id: &str,
    ) -> std::thread::Result<Result<Value, lambda_runtime::Error>> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let rec = h.layer.shared.emf.clone().unwrap();
        let mut svc = h.layer.service(service_fn(handler));
        let ev = event(payload, id, Some(HEADER));
        tracing::dispatcher::with_default(&h.dispatch, || {
            metrics::with_local_recorder(&rec, || {
                std::panic::catch_unwind(AssertUnwindSafe(|| rt.block_on(svc.call(ev))))
            })
        })
    }

    /// `POWERTOOLS_LOGGER_LOG_EVENT`: as the invocation starts, one INFO line "Lambda invocation
    /// event" with the event under `event` as a JSON document, inside the invocation's context, and
    /// redacted as every field is (a header, a JSON body, a card number). Nothing when not asked.
    #[test]
    fn the_event_is_logged_when_asked_and_redacted() {
        let mut h = harness();
        let payload = json!({
            "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "Accept": "*/*"},
            "body": "{\"password\":\"hunter2\"}",
            "card": 4_111_111_111_111_111u64,
            "items": [1, "two", null, true],
            "card_id": "c-1"
        });
        call(&h, payload.clone(), "req-0").unwrap().unwrap();
        assert!(
            h.logs
                .json_lines()
                .iter()
                .all(|l| l["message"] != "Lambda invocation event"),
            "off unless asked"
        );
        h.logs.clear();
        h.layer = h.layer.clone().with_log_event(true);
        call(&h, payload, "req-1").unwrap().unwrap();
        let text = h.logs.contents();
        for secret in ["hunter2", "eyJzdWIiOiIxIn0", "4111111111111111"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let lines = h.logs.json_lines();
        let line = lines
            .iter()
            .find(|l| l["message"] == "Lambda invocation event")
            .expect("the event line");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["function_request_id"], "req-1");
        assert!(line.get("telemetry.event_json").is_none(), "{line}");
        let event = &line["event"];
        assert_eq!(event["headers"]["Accept"], "*/*");
        assert_eq!(event["items"], json!([1, "two", null, true]));
        assert_eq!(event["card_id"], "c-1");
        assert_eq!(event["card"], "[REDACTED]");
        assert!(
            event["headers"]["Authorization"]
                .as_str()
                .unwrap()
                .contains("[REDACTED]"),
            "{event}"
        );
        assert!(event["body"].as_str().unwrap().contains("[REDACTED]"), "{event}");
        // Before the handler's own lines.
        let at = |m: &str| lines.iter().position(|l| l["message"] == m).unwrap();
        assert!(at("Lambda invocation event") < at("handling"));

        // Deeper than serde_json reads back (128 levels): the event is still there, as text, and
        // still redacted.
        h.logs.clear();
        let mut deep = json!({"password": "hunter2", "card_id": "c-2"});
        for _ in 0..200 {
            deep = json!({ "inner": deep });
        }
        call(&h, deep, "req-2").unwrap().unwrap();
        let text = h.logs.contents();
        assert!(!text.contains("hunter2"), "{text}");
        let lines = h.logs.json_lines();
        let line = lines
            .iter()
            .find(|l| l["message"] == "Lambda invocation event")
            .expect("the event line");
        let event = line["event"].as_str().expect("the event as text");
        assert!(event.contains("c-2") && event.contains("[REDACTED]"), "{event}");
    }

    /// A span started in the handler and still open when it returns keeps the registry's invocation
    /// span open: its subsegment must still leave when the handler ends, not when (or if) that span
    /// closes; the late span then leaves on its own, under the invocation's subsegment.
    #[test]
    fn a_span_outliving_the_handler_does_not_hold_the_invocation_back() {
        let h = harness();
        let ok = call(&h, json!({"mode": "outlive"}), "req-9").unwrap().unwrap();
        assert_eq!(ok, json!({"ok": true}));
        let docs = h.xray.documents();
        assert_eq!(docs.len(), 1, "{docs:?}");
        assert_eq!(docs[0]["parent_id"], "53995c3f42cd8ad8");
        assert!(docs[0]["end_time"].is_number(), "{}", docs[0]);
        let invocation_id = docs[0]["id"].clone();
        tracing::dispatcher::with_default(&h.dispatch, || drop(KEPT.lock().unwrap().take()));
        let docs = h.xray.documents();
        assert_eq!(docs.len(), 2, "{docs:?}");
        assert_eq!(docs[1]["name"], "background_refresh");
        assert_eq!(docs[1]["parent_id"], invocation_id);
        assert_eq!(docs[1]["trace_id"], docs[0]["trace_id"]);
    }

    /// FaaS conventions for AWS Lambda: `cloud.resource_id` is the function ARN with the alias replaced
    /// by the running version; `aws.lambda.invoked_arn` is the ARN as invoked. Read on the span data
    /// every exporter gets (the OTLP exporters send it as is; X-Ray leaves `cloud.*` to Lambda's segment).
    #[test]
    fn invocation_span_has_the_resolved_resource_id_and_the_invoked_arn() {
        let sink = crate::xray::MemorySpanSink::default();
        let function = FunctionInfo {
            service: "valuation".into(),
            function_name: Some("valuate".into()),
            function_version: Some("7".into()),
            ..Default::default()
        };
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry().with(XrayLayer::with_span_sink(sink.clone())),
        );
        let layer = InvocationLayer::new(function);
        let mut svc = layer.service(service_fn(|_: LambdaEvent<Value>| async {
            Ok::<_, lambda_runtime::Error>(json!({}))
        }));
        let mut ev = event(json!({}), "req-1", Some(HEADER));
        ev.context.invoked_function_arn =
            "arn:aws:lambda:eu-west-1:123456789012:function:valuate:live".into();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        tracing::dispatcher::with_default(&dispatch, || rt.block_on(svc.call(ev))).unwrap();
        let spans = sink.spans();
        let inv = spans
            .iter()
            .find(|s| {
                s.attributes
                    .iter()
                    .any(|kv| kv.key.as_str() == "faas.invocation_id")
            })
            .expect("invocation span");
        let attr = |k: &str| {
            inv.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.to_string())
        };
        assert_eq!(
            attr("cloud.resource_id").as_deref(),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:valuate:7")
        );
        assert_eq!(
            attr("aws.lambda.invoked_arn").as_deref(),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:valuate:live")
        );
        assert_eq!(attr("cloud.account.id").as_deref(), Some("123456789012"));
    }

    /// The invocation span's context is given at its creation; each context key is scanned on a
    /// budget of its own, so a correlation id longer than the budget is cut, and the trace id and ARN
    /// beside it are not.
    #[test]
    fn a_long_correlation_id_never_cuts_the_trace_id() {
        let logs = CapturedWriter::default();
        let cfg = LogConfig::new("valuation")
            .with_redactor(Some(crate::logs::Redactor::default().with_max_scan_bytes(60)));
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry().with(JsonLogLayer::new(cfg).with_writer(logs.clone())),
        );
        let layer = InvocationLayer::new(FunctionInfo::default());
        let mut svc = layer.service(service_fn(|_: LambdaEvent<Value>| async {
            tracing::info!("handling");
            Ok::<_, lambda_runtime::Error>(json!({}))
        }));
        let long = "c".repeat(200);
        let ev = event(
            json!({"requestContext": {"requestId": long}}),
            "req-1",
            Some(HEADER),
        );
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        tracing::dispatcher::with_default(&dispatch, || rt.block_on(svc.call(ev))).unwrap();
        let lines = logs.json_lines();
        assert_eq!(lines[0]["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(
            lines[0]["function_arn"],
            "arn:aws:lambda:eu-west-1:123:function:valuate"
        );
        let correlation = lines[0]["correlation_id"].as_str().unwrap();
        assert!(correlation.contains("past the scan limit"), "{correlation}");
    }

    /// Values past the limit held per metric between flushes are dropped, and the drop is logged as
    /// a warning with the invocation's context, not only counted in a report nobody reads.
    #[test]
    fn values_past_the_per_flush_limit_are_dropped_with_a_warning() {
        let h = harness();
        let rec = h.layer.shared.emf.clone().unwrap();
        let mut svc = h.layer.service(service_fn(|_: LambdaEvent<Value>| async {
            for _ in 0..=crate::emf::MAX_PENDING_VALUES + 1 {
                metrics::histogram!("Latency").record(1.0);
            }
            Ok::<_, lambda_runtime::Error>(json!({}))
        }));
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let ev = event(json!({}), "req-7", Some(HEADER));
        tracing::dispatcher::with_default(&h.dispatch, || {
            metrics::with_local_recorder(&rec, || rt.block_on(svc.call(ev)))
        })
        .unwrap();
        let lines = h.logs.json_lines();
        let warning = lines
            .iter()
            .find(|l| l["level"] == "WARN")
            .unwrap_or_else(|| panic!("no warning: {lines:?}"));
        assert_eq!(warning["dropped"], 2);
        assert_eq!(warning["limit"], crate::emf::MAX_PENDING_VALUES);
        assert_eq!(warning["function_request_id"], "req-7");
        let values: usize = h
            .emf
            .contents()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter_map(|d| d["Latency"].as_array().map(Vec::len))
            .sum();
        assert_eq!(values, crate::emf::MAX_PENDING_VALUES);
    }

    #[test]
    fn success_error_and_panic_all_flush() {
        let h = harness();
        let ok = call(&h, json!({"requestContext": {"requestId": "api-1"}}), "req-1")
            .unwrap()
            .unwrap();
        assert_eq!(ok, json!({"ok": true}));
        let lines = h.logs.json_lines();
        assert_eq!(lines.len(), 1, "debug stays buffered on success: {lines:?}");
        assert_eq!(lines[0]["function_request_id"], "req-1");
        assert_eq!(lines[0]["correlation_id"], "api-1");
        assert_eq!(lines[0]["cold_start"], true);
        assert_eq!(lines[0]["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        let emf: Vec<Value> = h
            .emf
            .contents()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(emf.iter().any(|d| d["ColdStart"] == 1.0));
        assert!(
            emf.iter()
                .any(|d| d["CardsValued"] == 1.0 && d["function_request_id"] == "req-1")
        );
        let docs = h.xray.documents();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["parent_id"], "53995c3f42cd8ad8");
        assert_eq!(docs[0]["annotations"]["ColdStart"], true);
        assert_eq!(docs[0]["name"], "valuate");

        h.logs.clear();
        h.emf.clear();
        h.xray.clear();
        let err = call(&h, json!({"mode": "error"}), "req-2").unwrap();
        assert!(err.is_err());
        let lines = h.logs.json_lines();
        let msgs: Vec<&str> = lines.iter().map(|l| l["message"].as_str().unwrap()).collect();
        assert_eq!(msgs, ["handling", "buffered detail", "handler failed"]);
        assert_eq!(lines[2]["level"], "ERROR");
        assert_eq!(lines[2]["cold_start"], false);
        let emf: Vec<Value> = h
            .emf
            .contents()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(
            emf.iter()
                .any(|d| d["CardsValued"] == 1.0 && d["function_request_id"] == "req-2")
        );
        assert!(!h.emf.contents().contains("ColdStart"));
        assert_eq!(h.xray.documents()[0]["fault"], true);
        // The handler's error is the invocation subsegment's cause, as Powertools records it.
        let cause = &h.xray.documents()[0]["cause"]["exceptions"][0];
        assert!(
            cause["message"].as_str().unwrap().starts_with("handler failed: "),
            "{cause}"
        );

        h.logs.clear();
        h.emf.clear();
        let panicked = call(&h, json!({"mode": "panic"}), "req-3");
        assert!(panicked.is_err(), "the panic is re-raised for the runtime");
        let lines = h.logs.json_lines();
        let last = lines.last().unwrap();
        assert_eq!(last["message"], "handler panicked");
        assert_eq!(last["panic"], "boom");
        assert_eq!(last["function_request_id"], "req-3");
        assert!(lines.iter().any(|l| l["message"] == "buffered detail"));
        assert!(h.emf.contents().contains("\"function_request_id\":\"req-3\""));
    }

    async fn interleaved(e: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
        let n = e.payload["n"].as_u64().unwrap();
        for step in 0..3u32 {
            metrics::counter!("CardsValued").increment(n);
            metrics::histogram!("ValuationLatency").record(f64::from(step) + n as f64 * 10.0);
            metrics::gauge!("InFlight").set(n as f64);
            ORDER.with(|o| o.borrow_mut().push(n));
            tokio::task::yield_now().await;
        }
        Ok(json!({"n": n}))
    }

    thread_local! {
        static ORDER: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    #[test]
    fn concurrent_invocations_flush_only_their_own_metrics() {
        let h = harness();
        let rec = h.layer.shared.emf.clone().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let svc = h.layer.service(service_fn(interleaved));
        let (mut a, mut b) = (svc.clone(), svc);
        let (ra, rb) = tracing::dispatcher::with_default(&h.dispatch, || {
            metrics::with_local_recorder(&rec, || {
                // Outside any invocation: process-wide, flushed without a request id.
                metrics::counter!("InitWork").increment(1);
                rt.block_on(async {
                    tokio::join!(
                        a.call(event(json!({"n": 1}), "req-a", Some(HEADER))),
                        b.call(event(json!({"n": 100}), "req-b", Some(HEADER)))
                    )
                })
            })
        });
        assert_eq!((ra.unwrap(), rb.unwrap()), (json!({"n": 1}), json!({"n": 100})));
        let order = ORDER.with(|o| o.borrow().clone());
        let first = |n| order.iter().position(|x| *x == n).unwrap();
        let last = |n| order.iter().rposition(|x| *x == n).unwrap();
        assert!(
            first(1) < last(100) && first(100) < last(1),
            "the two invocations' writes interleave: {order:?}"
        );
        let docs: Vec<Value> = h
            .emf
            .contents()
            .lines()
            .map(|l| {
                crate::emf::validate(l).unwrap();
                serde_json::from_str(l).unwrap()
            })
            .collect();
        let of = |id: &str| -> Vec<&Value> {
            docs.iter()
                .filter(|d| d["function_request_id"] == id && d.get("CardsValued").is_some())
                .collect()
        };
        let (da, db) = (of("req-a"), of("req-b"));
        assert_eq!((da.len(), db.len()), (1, 1), "{docs:?}");
        assert_eq!(da[0]["CardsValued"], 3);
        assert_eq!(da[0]["ValuationLatency"], json!([10, 11, 12]));
        assert_eq!(da[0]["InFlight"], 1);
        assert_eq!(db[0]["CardsValued"], 300);
        assert_eq!(db[0]["ValuationLatency"], json!([1000, 1001, 1002]));
        assert_eq!(db[0]["InFlight"], 100);
        let cold: Vec<&Value> = docs.iter().filter(|d| d.get("ColdStart").is_some()).collect();
        assert_eq!(cold.len(), 1);
        assert_eq!(cold[0]["function_request_id"], "req-a", "the cold start was a's");
        let init: Vec<&Value> = docs.iter().filter(|d| d.get("InitWork").is_some()).collect();
        assert_eq!(init.len(), 1);
        assert!(
            init[0].get("function_request_id").is_none(),
            "not any invocation's"
        );
        assert!(
            docs.iter()
                .all(|d| d.get("InitWork").is_none() || d.get("CardsValued").is_none())
        );
    }

    /// Sixteen invocations on four worker threads, each awaiting (a timer, so its task may resume on
    /// another worker) between its log lines and metrics: every line, EMF document and subsegment
    /// carries its own invocation's request id and trace, exactly one is cold, and nothing is written
    /// process-wide.
    #[test]
    fn invocations_moving_between_worker_threads_keep_their_own_context() {
        async fn hops(e: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
            let n = e.payload["n"].as_u64().unwrap();
            for step in 0..4u64 {
                tracing::info!(n, step, "step");
                metrics::counter!("CardsValued").increment(n);
                let _span = tracing::info_span!("price", n).entered();
                drop(_span);
                tokio::time::sleep(std::time::Duration::from_millis(1 + (n + step) % 3)).await;
            }
            Ok(json!({"n": n}))
        }
        let h = harness();
        let rec: &'static crate::emf::EmfRecorder = Box::leak(Box::new(h.layer.shared.emf.clone().unwrap()));
        let dispatch = h.dispatch.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_time()
            .on_thread_start(move || {
                // Each worker records through the test's subscriber and recorder for its whole life.
                std::mem::forget(tracing::dispatcher::set_default(&dispatch));
                std::mem::forget(metrics::set_default_local_recorder(rec));
            })
            .build()
            .unwrap();
        let root = |n: u64| format!("1-5759e988-{n:024x}");
        let svc = h.layer.service(service_fn(hops));
        let results = rt.block_on(async {
            let calls = (1..=16u64).map(|n| {
                let mut svc = svc.clone();
                tokio::spawn(async move {
                    let header = format!("Root={};Parent=53995c3f42cd8ad8;Sampled=1", root(n));
                    svc.call(event(json!({"n": n}), &format!("req-{n}"), Some(&header)))
                        .await
                })
            });
            join_all_spawned(calls).await
        });
        assert_eq!(results.len(), 16);
        for r in results {
            r.unwrap().unwrap();
        }
        let lines = h.logs.json_lines();
        let steps: Vec<&Value> = lines.iter().filter(|l| l["message"] == "step").collect();
        assert_eq!(steps.len(), 64, "{lines:?}");
        for l in steps {
            let n = l["n"].as_u64().unwrap();
            assert_eq!(l["function_request_id"], format!("req-{n}"), "{l}");
            assert_eq!(l["xray_trace_id"], root(n), "{l}");
        }
        let docs: Vec<Value> = h
            .emf
            .contents()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for n in 1..=16u64 {
            let mine: Vec<&Value> = docs
                .iter()
                .filter(|d| d["function_request_id"] == format!("req-{n}").as_str())
                .collect();
            let counted: u64 = mine.iter().filter_map(|d| d["CardsValued"].as_u64()).sum();
            assert_eq!(counted, 4 * n, "req-{n}: {docs:?}");
            assert!(
                mine.iter().all(|d| d["xray_trace_id"] == root(n).as_str()),
                "{mine:?}"
            );
        }
        assert!(
            docs.iter()
                .all(|d| d.get("function_request_id").is_some() || d.get("CardsValued").is_none()),
            "an invocation's metric written process-wide: {docs:?}"
        );
        assert_eq!(docs.iter().filter(|d| d.get("ColdStart").is_some()).count(), 1);
        // Each invocation's subsegment is under its own trace.
        let mut traces: Vec<String> = h
            .xray
            .documents()
            .iter()
            .filter(|d| d["name"] == "valuate")
            .map(|d| d["trace_id"].as_str().unwrap().to_owned())
            .collect();
        traces.sort();
        let mut want: Vec<String> = (1..=16).map(root).collect();
        want.sort();
        assert_eq!(traces, want);
    }

    /// `join_all` over spawned tasks without another dependency: awaits each in turn.
    async fn join_all_spawned<T>(
        handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
    ) -> Vec<Result<T, tokio::task::JoinError>> {
        let handles: Vec<_> = handles.collect();
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await);
        }
        out
    }

    #[test]
    fn sqs_batch_span_links_each_message() {
        use crate::xray::MemorySpanSink;
        use opentelemetry::trace::SpanKind;
        let spans = MemorySpanSink::default();
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry().with(XrayLayer::with_span_sink(spans.clone())),
        );
        let mut svc = InvocationLayer::new(FunctionInfo::default()).service(service_fn(
            |e: LambdaEvent<Value>| async move { Ok::<_, lambda_runtime::Error>(e.payload) },
        ));
        let queue = "arn:aws:sqs:eu-west-1:123456789012:valuations";
        let producer = |parent: &str| {
            format!("Root=1-5759e988-0000000000000000000000{parent};Parent=00000000000000{parent};Sampled=1")
        };
        let batch = json!({"Records": [
            {"eventSource": "aws:sqs", "eventSourceARN": queue, "messageId": "m-1",
             "attributes": {"AWSTraceHeader": producer("a1")}},
            {"eventSource": "aws:sqs", "eventSourceARN": queue, "messageId": "m-2", "attributes": {}},
            {"eventSource": "aws:sqs", "eventSourceARN": queue, "messageId": "m-3",
             "messageAttributes": {"traceparent": {"dataType": "String",
                "stringValue": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"}}}
        ]});
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            rt.block_on(svc.call(event(batch, "req-sqs", Some(HEADER))))
        })
        .unwrap();
        let all = spans.spans();
        assert_eq!(all.len(), 1);
        let inv = &all[0];
        assert_eq!(
            format!("{:016x}", inv.parent_span_id),
            "53995c3f42cd8ad8",
            "Lambda's segment stays the parent"
        );
        assert_eq!(inv.span_kind, SpanKind::Consumer);
        let links: Vec<(String, String, bool, bool, Vec<opentelemetry::KeyValue>)> = inv
            .links
            .iter()
            .map(|l| {
                let sc = &l.span_context;
                (
                    format!("{:032x}", sc.trace_id()),
                    format!("{:016x}", sc.span_id()),
                    sc.is_sampled(),
                    sc.is_remote(),
                    l.attributes.clone(),
                )
            })
            .collect();
        assert_eq!(
            links,
            [
                (
                    "5759e9880000000000000000000000a1".to_owned(),
                    "00000000000000a1".to_owned(),
                    true,
                    true,
                    vec![opentelemetry::KeyValue::new("messaging.message.id", "m-1")],
                ),
                (
                    "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
                    "00f067aa0ba902b7".to_owned(),
                    false,
                    true,
                    vec![opentelemetry::KeyValue::new("messaging.message.id", "m-3")],
                ),
            ],
            "one link per message with a context, in record order"
        );
        assert_eq!(inv.links.dropped_count, 0);
        let attr = |k: &str| {
            inv.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(attr("messaging.system"), Some("aws_sqs".into()));
        assert_eq!(attr("messaging.operation.type"), Some("process".into()));
        assert_eq!(attr("messaging.batch.message_count"), Some(3i64.into()));
        assert_eq!(attr("messaging.destination.name"), Some("valuations".into()));

        // The same batch through the exporters: OTLP carries the links natively, X-Ray as metadata.
        #[cfg(feature = "otlp")]
        {
            use prost::Message as _;
            let bytes =
                crate::otel::otlp::encode(all.clone(), &opentelemetry_sdk::Resource::builder_empty().build());
            let req = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::decode(
                bytes.as_slice(),
            )
            .unwrap();
            let span = &req.resource_spans[0].scope_spans[0].spans[0];
            assert_eq!(span.links.len(), 2);
            assert_eq!(
                span.links[1].span_id,
                0x00f0_67aa_0ba9_02b7u64.to_be_bytes().to_vec()
            );
        }
        let docs = crate::xray::subsegments(all);
        let doc = serde_json::to_value(&docs[0]).unwrap();
        assert_eq!(
            doc["metadata"]["otel"]["links"][1],
            json!({"trace_id": "1-4bf92f35-77b34da6a3ce929d0e0e4736", "id": "00f067aa0ba902b7",
                   "messaging.message.id": "m-3"})
        );
    }

    /// `OTEL_PROPAGATORS=tracecontext` (reporting to another system than X-Ray): the caller's
    /// `traceparent` is the parent and Lambda's X-Ray context a link marked `source=x-ray-env`; with
    /// the default (`xray-lambda`) Lambda's segment is the parent and nothing is linked.
    #[test]
    fn lambda_context_is_a_link_when_the_events_context_is_the_parent() {
        use crate::xray::MemorySpanSink;
        let run = |propagators: Propagators| {
            let spans = MemorySpanSink::default();
            let dispatch = tracing::Dispatch::new(
                tracing_subscriber::registry().with(XrayLayer::with_span_sink(spans.clone())),
            );
            let mut svc = InvocationLayer::new(FunctionInfo::default())
                .with_propagators(propagators)
                .service(service_fn(|e: LambdaEvent<Value>| async move {
                    Ok::<_, lambda_runtime::Error>(e.payload)
                }));
            let request = json!({"headers": {
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                "requestContext": {"requestId": "r-1", "http": {"method": "GET"}}});
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            tracing::dispatcher::with_default(&dispatch, || {
                rt.block_on(svc.call(event(request, "req-link", Some(HEADER))))
            })
            .unwrap();
            let all = spans.spans();
            assert_eq!(all.len(), 1);
            all.into_iter().next().unwrap()
        };
        let passive = run(Propagators::parse("tracecontext"));
        assert_eq!(
            format!("{:032x}", passive.span_context.trace_id()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(format!("{:016x}", passive.parent_span_id), "00f067aa0ba902b7");
        let links: Vec<(String, String, bool, Vec<opentelemetry::KeyValue>)> = passive
            .links
            .iter()
            .map(|l| {
                (
                    format!("{:032x}", l.span_context.trace_id()),
                    format!("{:016x}", l.span_context.span_id()),
                    l.span_context.is_sampled(),
                    l.attributes.clone(),
                )
            })
            .collect();
        assert_eq!(
            links,
            [(
                "5759e988bd862e3fe1be46a994272793".to_owned(),
                "53995c3f42cd8ad8".to_owned(),
                true,
                vec![opentelemetry::KeyValue::new("source", "x-ray-env")],
            )]
        );
        let active = run(Propagators::default());
        assert_eq!(format!("{:016x}", active.parent_span_id), "53995c3f42cd8ad8");
        assert!(active.links.is_empty(), "{:?}", active.links);
        // `none` reads no context from the event, `xray` no `traceparent`: Lambda's segment is the
        // parent, nothing linked.
        for propagators in ["none", "xray"] {
            let lambda_only = run(Propagators::parse(propagators));
            assert_eq!(
                format!("{:016x}", lambda_only.parent_span_id),
                "53995c3f42cd8ad8",
                "{propagators}"
            );
            assert!(
                lambda_only.links.is_empty(),
                "{propagators}: {:?}",
                lambda_only.links
            );
        }
    }

    /// A typed payload (here a struct reading only `rawPath`) gets what a `Value` payload gets from its
    /// event when the runtime hands over the raw body (`EventBodyLayer`, in `run`): the caller's
    /// `traceparent` in the API Gateway headers as the parent, the `http` trigger, the request's
    /// correlation id, and the event logged (redacted) under `POWERTOOLS_LOGGER_LOG_EVENT`. Without the
    /// raw body (the layer used on its own) or past the parse limit, the typed payload is traced from
    /// Lambda's header only, as before.
    #[test]
    fn a_typed_payload_reads_its_event_from_the_raw_body() {
        use crate::xray::MemorySpanSink;
        #[derive(serde::Deserialize)]
        struct Request {
            #[serde(rename = "rawPath")]
            raw_path: String,
        }
        let body = json!({
            "rawPath": "/cards",
            "headers": {
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
            },
            "requestContext": {"requestId": "api-7", "http": {"method": "GET"}}
        })
        .to_string();
        let run = |raw: Option<&str>| {
            let spans = MemorySpanSink::default();
            let logs = CapturedWriter::default();
            let dispatch = tracing::Dispatch::new(
                tracing_subscriber::registry()
                    .with(JsonLogLayer::new(LogConfig::new("valuation")).with_writer(logs.clone()))
                    .with(XrayLayer::with_span_sink(spans.clone())),
            );
            let mut svc = InvocationLayer::new(FunctionInfo::default())
                .with_propagators(Propagators::parse("tracecontext"))
                .with_log_event(true)
                .service(service_fn(|e: LambdaEvent<Request>| async move {
                    tracing::info!("handling");
                    Ok::<_, lambda_runtime::Error>(e.payload.raw_path)
                }));
            let mut ctx = LambdaContext::default();
            ctx.request_id = "req-typed".to_owned();
            ctx.xray_trace_id = Some(HEADER.to_owned());
            let ev = LambdaEvent::new(serde_json::from_str::<Request>(&body).unwrap(), ctx);
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let answer = tracing::dispatcher::with_default(&dispatch, || match raw {
                Some(raw) => {
                    let raw = bytes::Bytes::copy_from_slice(raw.as_bytes());
                    let fut = dispatching(raw, || svc.call(ev));
                    rt.block_on(fut)
                }
                None => rt.block_on(svc.call(ev)),
            })
            .unwrap();
            assert_eq!(answer, "/cards");
            assert!(dispatched_event().is_none(), "cleared after the dispatch");
            let all = spans.spans();
            assert_eq!(all.len(), 1);
            (all.into_iter().next().unwrap(), logs.json_lines())
        };
        let (span, lines) = run(Some(&body));
        assert_eq!(
            format!("{:032x}", span.span_context.trace_id()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(format!("{:016x}", span.parent_span_id), "00f067aa0ba902b7");
        assert!(
            span.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "faas.trigger" && kv.value.as_str() == "http"),
            "{:?}",
            span.attributes
        );
        let event_line = lines
            .iter()
            .find(|l| l["message"] == "Lambda invocation event")
            .expect("the event is logged");
        assert_eq!(event_line["event"]["rawPath"], "/cards");
        assert_eq!(event_line["correlation_id"], "api-7");
        let text = serde_json::to_string(&lines).unwrap();
        assert!(!text.contains("eyJzdWIiOiIxIn0"), "{text}");
        let handling = lines.iter().find(|l| l["message"] == "handling").unwrap();
        assert_eq!(handling["correlation_id"], "api-7");

        // Without the raw body, past the parse limit, not JSON, or nested past serde_json's 128
        // levels: Lambda's segment is the parent, no event, and the handler still answers.
        let mut huge = body.clone();
        huge.insert_str(1, &format!("\"pad\":\"{}\",", "x".repeat(MAX_PARSED_EVENT_BYTES)));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for raw in [
            None,
            Some(huge.as_str()),
            Some("{\"headers\": {\"traceparent"),
            Some(deep.as_str()),
        ] {
            let (span, lines) = run(raw);
            assert_eq!(format!("{:016x}", span.parent_span_id), "53995c3f42cd8ad8");
            assert!(lines.iter().all(|l| l["message"] != "Lambda invocation event"));
        }
    }

    /// Powertools' `xray_trace_id` is the `Root` of Lambda's own trace header (the context's, else
    /// `_X_AMZN_TRACE_ID`), whatever context the invocation span joins: with `OTEL_PROPAGATORS` leaving
    /// out `xray-lambda`, a caller's `traceparent` is the span's parent, and the log line, the EMF
    /// document and the panic line still name Lambda's trace.
    #[test]
    fn xray_trace_id_is_lambdas_when_the_events_context_is_the_parent() {
        let logs = CapturedWriter::default();
        let emf = SharedBuffer::default();
        let spans = crate::xray::MemorySpanSink::default();
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(JsonLogLayer::new(LogConfig::new("valuation")).with_writer(logs.clone()))
                .with(XrayLayer::with_span_sink(spans.clone())),
        );
        let rec = EmfBuilder::new()
            .namespace("CollectIQ")
            .service("valuation")
            .with_writer(emf.clone())
            .build()
            .unwrap();
        let seen_by_panic_hook = Arc::new(std::sync::Mutex::new(None));
        let seen = Arc::clone(&seen_by_panic_hook);
        let mut svc = InvocationLayer::new(FunctionInfo::default())
            .with_emf(rec.clone())
            .with_propagators(Propagators::parse("tracecontext"))
            .service(service_fn(move |_: LambdaEvent<Value>| {
                let seen = Arc::clone(&seen);
                async move {
                    *seen.lock().unwrap() = InvocationFacts::current().and_then(|f| f.xray_trace_id.clone());
                    tracing::info!("handling");
                    metrics::counter!("CardsValued").increment(1);
                    Ok::<_, lambda_runtime::Error>(json!({}))
                }
            }));
        let request = json!({"headers": {
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
            "requestContext": {"requestId": "r-1", "http": {"method": "GET"}}});
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            metrics::with_local_recorder(&rec, || {
                rt.block_on(svc.call(event(request, "req-w3c", Some(HEADER))))
            })
        })
        .unwrap();
        let lambdas = "1-5759e988-bd862e3fe1be46a994272793";
        // The caller's trace is still the span's parent.
        let all = spans.spans();
        assert_eq!(
            format!("{:032x}", all[0].span_context.trace_id()),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        let lines = logs.json_lines();
        assert_eq!(lines[0]["message"], "handling");
        assert_eq!(lines[0]["xray_trace_id"], lambdas);
        let doc: Value = serde_json::from_str(emf.contents().lines().next().unwrap()).unwrap();
        assert_eq!(doc["xray_trace_id"], lambdas);
        assert_eq!(seen_by_panic_hook.lock().unwrap().as_deref(), Some(lambdas));
    }

    /// Links stay within the SDK's limit (128): an SQS batch's messages until the limit, the rest
    /// counted as dropped. A batch takes no message's context as its parent (the messaging
    /// conventions keep that for a batch of one), so the parent is Lambda's segment and there is no
    /// `x-ray-env` link, even without `xray-lambda`.
    #[test]
    fn links_stay_within_the_limit() {
        use crate::xray::MemorySpanSink;
        let spans = MemorySpanSink::default();
        let dispatch = tracing::Dispatch::new(
            tracing_subscriber::registry().with(XrayLayer::with_span_sink(spans.clone())),
        );
        let mut svc = InvocationLayer::new(FunctionInfo::default())
            .with_propagators(Propagators::parse("tracecontext"))
            .service(service_fn(|e: LambdaEvent<Value>| async move {
                Ok::<_, lambda_runtime::Error>(e.payload)
            }));
        let records: Vec<Value> = (0..129)
            .map(|i| {
                json!({"eventSource": "aws:sqs", "messageId": format!("m-{i}"),
                       "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q",
                       "messageAttributes": {"traceparent": {"dataType": "String",
                          "stringValue": format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{:016x}-01", i + 1)}}})
            })
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            rt.block_on(svc.call(event(json!({"Records": records}), "req-many", Some(HEADER))))
        })
        .unwrap();
        let all = spans.spans();
        assert_eq!(all.len(), 1);
        let links = &all[0].links;
        assert_eq!(links.links.len(), crate::propagation::MAX_LINKS);
        assert_eq!(
            links.links[0].attributes,
            vec![opentelemetry::KeyValue::new("messaging.message.id", "m-0")]
        );
        assert_eq!(links.dropped_count, 1, "129 messages, 128 kept");
        let lambdas = TraceHeader::parse(HEADER).unwrap();
        assert_eq!(all[0].span_context.trace_id(), lambdas.root);
        assert_eq!(all[0].parent_span_id, lambdas.parent.unwrap());
    }

    #[test]
    fn typed_payload_and_custom_correlation() {
        let layer = InvocationLayer::new(FunctionInfo::default())
            .with_correlation(|p| p.downcast_ref::<String>().cloned());
        assert_eq!(
            layer.shared.correlation_id(&"x-1".to_owned(), None),
            Some("x-1".into())
        );
        let layer = InvocationLayer::new(FunctionInfo::default()).with_correlation_header("x-correlation-id");
        let ev = json!({"headers": {"X-Correlation-Id": "c-9"}, "requestContext": {"requestId": "r"}});
        assert_eq!(layer.shared.correlation_id(&ev, Some(&ev)), Some("c-9".into()));
        assert_eq!(layer.shared.correlation_id(&42u8, None), None);
        // A typed payload's raw event, parsed: the header is read from it.
        assert_eq!(layer.shared.correlation_id(&42u8, Some(&ev)), Some("c-9".into()));
    }
}
