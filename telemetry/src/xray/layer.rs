//! `tracing` spans → OpenTelemetry spans (`opentelemetry_sdk` [`SpanData`]) under Lambda's segment.
//!
//! The one span model: every span this layer makes is an OpenTelemetry span with an X-Ray-compatible
//! trace id, Lambda's facade segment (from the trace header) as the invocation's parent, and
//! `Sampled` honoured. Finished spans go, a batch per invocation, to a [`SpanSink`] — the X-Ray daemon
//! exporter, OTLP over UDP or HTTP, or several. While a span is entered it is also the current
//! OpenTelemetry [`Context`], so spans a library makes with the OpenTelemetry API are its children
//! and join the same batch (the `otel` feature's provider).

use super::export::XraySegmentExporter;
use super::exporter::SegmentSink;
use super::header::{Sampled, TraceHeader, xray_trace_id};
use super::segment::segment_name_cow;
use super::spans::SpanSink;
use crate::clock::{Clock, SystemClock, random_u64};
use crate::context::INVOCATION_SPAN;
use opentelemetry::trace::{SpanContext, SpanKind, Status, TraceContextExt, TraceFlags};
use opentelemetry::{
    Context as OtelContext, ContextGuard, InstrumentationScope, Key, KeyValue, SpanId, TraceId, Value,
};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The instrumentation scope of spans made from `tracing`.
fn scope() -> InstrumentationScope {
    static SCOPE: OnceLock<InstrumentationScope> = OnceLock::new();
    SCOPE
        .get_or_init(|| {
            InstrumentationScope::builder("telemetry")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build()
        })
        .clone()
}

#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) context: SpanContext,
    parent: SpanId,
    parent_is_remote: bool,
    /// What the incoming header carried after `Sampled` — `;Lineage=…` and any other `;key=value`,
    /// in order — passed on in outgoing headers (Lambda's recursion detection reads `Lineage`).
    pub(crate) carried: Option<Arc<str>>,
    name: Cow<'static, str>,
    kind: SpanKind,
    start: SystemTime,
    attributes: Vec<KeyValue>,
    status: Status,
    /// Span links (an SQS batch's messages), and how many were left out.
    links: SpanLinks,
    /// Finished descendants (and adopted OpenTelemetry-API spans), exported with this span.
    pub(crate) finished: Vec<SpanData>,
}

/// Turns `tracing` spans inside a sampled invocation into OpenTelemetry spans and hands each finished
/// batch to a [`SpanSink`]. Spans outside an invocation, or in an invocation whose header says
/// `Sampled=0`, produce nothing.
///
/// Field mapping: every field becomes a span attribute, except `otel.name` (the span name, as
/// `tracing-opentelemetry` reads it), `otel.kind` (`server`, `client`, `producer`, `consumer`,
/// `internal`), `telemetry.fault` (an error status), `telemetry.duration_ms` (back-dates the start: a span recorded
/// after the call) and the invocation's `telemetry.*` plumbing. The
/// X-Ray exporter then maps `annotation.*`, `xray.namespace`, `aws.*`, `http.*` onto the subsegment
/// document ([`XraySegmentExporter`]). An ERROR event inside a span gives it an error status (X-Ray:
/// `fault`). DEBUG and TRACE spans — library internals such as the AWS SDK's orchestrator spans — are
/// not exported; their children hang under the nearest exported ancestor.
///
/// ```
/// use telemetry::xray::{MemorySink, XrayLayer};
/// use tracing_subscriber::layer::SubscriberExt;
/// let sink = MemorySink::default();
/// let subscriber = tracing_subscriber::registry().with(XrayLayer::new(sink.clone()));
/// tracing::subscriber::with_default(subscriber, || {
///     let _inv = tracing::info_span!("lambda.invocation",
///         telemetry.trace_header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1").entered();
///     let _s = tracing::info_span!("price_card").entered();
/// });
/// let docs = sink.documents();
/// assert_eq!(docs.len(), 1);
/// assert_eq!(docs[0]["subsegments"][0]["name"], "price_card");
/// ```
#[derive(Debug)]
pub struct XrayLayer {
    sink: Arc<dyn SpanSink>,
    clock: Arc<dyn Clock>,
    activate_context: bool,
    sample_roots: bool,
    /// Every invocation unsampled (`OTEL_TRACES_SAMPLER=always_off`): contexts still go on, with
    /// `Sampled=0`.
    sampling_off: bool,
    /// No span recorded (no exporter): each invocation's context goes on as it came.
    pass_through: bool,
}

impl XrayLayer {
    /// A layer sending X-Ray subsegment documents to `sink` (the daemon, or memory in tests).
    #[must_use]
    pub fn new(sink: impl SegmentSink) -> Self {
        Self::with_span_sink(XraySegmentExporter::new(sink))
    }

    /// A layer sending its spans to `sink` (any exporter, or [`SpanSinks`](super::SpanSinks)).
    #[must_use]
    pub fn with_span_sink(sink: impl SpanSink) -> Self {
        Self {
            sink: Arc::new(sink),
            clock: Arc::new(SystemClock),
            activate_context: true,
            sample_roots: false,
            sampling_off: false,
            pass_through: false,
        }
    }

    /// Uses `clock` for start and end times.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Whether an entered span is also the current OpenTelemetry `Context` (default on), so that
    /// spans made with the OpenTelemetry API become its children.
    #[must_use]
    pub fn with_context_activation(mut self, on: bool) -> Self {
        self.activate_context = on;
        self
    }

    /// Whether an invocation without any trace context starts a new sampled trace (X-Ray-format id)
    /// instead of being left untraced (default off: in Lambda, Lambda decides).
    #[must_use]
    pub fn with_root_sampling(mut self, on: bool) -> Self {
        self.sample_roots = on;
        self
    }

    /// Whether no invocation is sampled whatever its header says (`OTEL_TRACES_SAMPLER=always_off`):
    /// nothing is exported, and outgoing calls and OpenTelemetry-API spans carry the context on with
    /// the sampled flag cleared, as an `AlwaysOff` sampler's spans do.
    #[must_use]
    pub fn with_sampling_off(mut self, off: bool) -> Self {
        self.sampling_off = off;
        self.pass_through |= off;
        self
    }

    /// Whether no span is recorded (no exporter: `OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER=none`)
    /// while outgoing calls and OpenTelemetry-API spans carry each invocation's context on as it
    /// came, sampled flag and parent included — what a no-op SDK's spans propagate.
    #[must_use]
    pub fn with_pass_through(mut self, on: bool) -> Self {
        self.pass_through = on;
        self
    }

    /// The sink spans go to (shared with the OpenTelemetry provider so both land in one place).
    #[must_use]
    pub fn sink(&self) -> Arc<dyn SpanSink> {
        Arc::clone(&self.sink)
    }
}

/// A random span id, never the invalid all-zero one.
pub(crate) fn new_span_id() -> SpanId {
    loop {
        let id = SpanId::from_bytes(random_u64().to_be_bytes());
        if id != SpanId::INVALID {
            return id;
        }
    }
}

/// A trace id X-Ray accepts: the first 32 bits are the epoch seconds, the other 96 random.
pub(crate) fn new_xray_trace_id(now: SystemTime) -> TraceId {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let secs = u32::try_from(secs).unwrap_or(u32::MAX);
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    bytes[4..8].copy_from_slice(&(random_u64() as u32 | 1).to_be_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_be_bytes());
    TraceId::from_bytes(bytes)
}

#[derive(Default)]
struct Fields {
    attributes: Vec<KeyValue>,
    trace_header: Option<String>,
    /// The trace header as the invocation layer parsed it (`header::handing`), instead of its text
    /// (boxed: every span's `Fields` is built and moved, few carry a header).
    handed_header: Option<Box<TraceHeader>>,
    tracestate: Option<String>,
    segment_name: Option<String>,
    otel_name: Option<String>,
    kind: Option<SpanKind>,
    faas_trigger: Option<String>,
    function_version: Option<String>,
    duration_ms: Option<f64>,
    fault: bool,
    /// Bit `i`: `attributes[i]` is a string recorded as it came, still to be redacted ([`Fields::redact`]).
    unredacted: u64,
    /// The callsite's field count: room for the attributes when the first one comes (most spans of the
    /// crate's own have `telemetry.*` fields only, and need none).
    room: usize,
    /// The invocation span's: its `xray_trace_id` (the log context) is no attribute — the trace id is
    /// the span's own ([`Fields::as_faas_invocation`]).
    invocation: bool,
}

fn span_kind(s: &str) -> Option<SpanKind> {
    Some(match s {
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        "internal" => SpanKind::Internal,
        _ => return None,
    })
}

impl Fields {
    fn push(&mut self, f: &Field, v: Value) {
        if self.invocation && f.name() == "xray_trace_id" {
            return;
        }
        if self.attributes.capacity() == 0 {
            self.attributes.reserve_exact(self.room.max(1));
        }
        self.attributes
            .push(KeyValue::new(Key::from_static_str(f.name()), v));
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, f: &Field, v: f64) {
        if f.name() == "telemetry.duration_ms" {
            self.duration_ms = Some(v);
        } else if crate::redact::redacts_float(f.name(), v) {
            // Denied by name whatever its type, as the log layer prints it.
            self.push(f, Value::String(crate::redact::REDACTED.into()));
        } else {
            self.push(f, Value::F64(v));
        }
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        if crate::redact::redacts_integer(f.name(), u128::from(v.unsigned_abs())) {
            self.push(f, Value::String(crate::redact::REDACTED.into()));
        } else {
            self.push(f, Value::I64(v));
        }
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        match i64::try_from(v) {
            Ok(i) => self.record_i64(f, i),
            Err(_) => self.record_str(f, &v.to_string()),
        }
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        match f.name() {
            // Kept as an attribute too when set: the exporters read it as the crate's own
            // classification (a timeout's status code adds no `error` beside the fault).
            "telemetry.fault" => {
                self.fault |= v;
                if v {
                    self.push(f, Value::Bool(true));
                }
            }
            n if n.starts_with("telemetry.") && n != "telemetry.error" && n != "telemetry.throttle" => {}
            _ => self.push(f, Value::Bool(v)),
        }
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.record_str_from(f, v, None);
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.record_str(f, &format!("{v:?}"));
    }
}

impl Fields {
    /// [`Visit::record_str`], taking an attribute's value from `shared`, the log layer's capture of
    /// the same span, when it holds it unchanged by the default rules: no copy, no second scan.
    fn record_str_from(&mut self, f: &Field, v: &str, shared: Option<(&LogFields, &mut usize)>) {
        match f.name() {
            "telemetry.trace_header" => match super::header::take_handed(v) {
                Some(h) => self.handed_header = Some(Box::new(h)),
                None => self.trace_header = Some(v.to_owned()),
            },
            "telemetry.tracestate" => self.tracestate = Some(v.to_owned()),
            "telemetry.segment_name" => self.segment_name = Some(v.to_owned()),
            // The span's name leaves the process too (`GET {url}` with a `?token=`).
            "otel.name" => self.otel_name = Some(crate::redact::redact_attribute("", v).into_owned()),
            "otel.kind" => self.kind = span_kind(v),
            "telemetry.faas_trigger" => self.faas_trigger = Some(v.to_owned()),
            "telemetry.function_version" => self.function_version = Some(v.to_owned()),
            n if n.starts_with("telemetry.") => {}
            "xray_trace_id" if self.invocation => {}
            // Span attributes leave the process (X-Ray, OTLP): the same redaction as log fields, once
            // the span is known to be kept ([`Fields::redact`]), and not twice when the log layer's
            // redaction has already found the value clean.
            name if self.attributes.len() < 64 => {
                match shared.and_then(|(l, from)| l.shared_str(name, v, from)) {
                    Some(clean) => self.push(f, Value::String(clean.into())),
                    None => {
                        self.unredacted |= 1 << self.attributes.len();
                        self.push(f, Value::String(v.to_owned().into()));
                    }
                }
            }
            name => self.push(
                f,
                Value::String(crate::redact::redact_attribute(name, v).into_owned().into()),
            ),
        }
    }
}

/// [`Fields`] visiting a new span's values beside `shared`, the log layer's capture of them
/// ([`Fields::record_str_from`]); every other value as `Fields` takes it.
struct Capture<'a> {
    fields: &'a mut Fields,
    shared: Option<&'a LogFields>,
    /// Where in `shared` to look for the next value ([`SpanFields::shared_str`](crate::logs::SpanFields::shared_str)).
    from: usize,
}

impl Visit for Capture<'_> {
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.fields.record_f64(f, v);
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.fields.record_i64(f, v);
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.fields.record_u64(f, v);
    }
    fn record_i128(&mut self, f: &Field, v: i128) {
        self.fields.record_i128(f, v);
    }
    fn record_u128(&mut self, f: &Field, v: u128) {
        self.fields.record_u128(f, v);
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.fields.record_bool(f, v);
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        let shared = self.shared.map(|l| (l, &mut self.from));
        self.fields.record_str_from(f, v, shared);
    }
    fn record_bytes(&mut self, f: &Field, v: &[u8]) {
        self.fields.record_bytes(f, v);
    }
    fn record_error(&mut self, f: &Field, v: &(dyn std::error::Error + 'static)) {
        self.fields.record_error(f, v);
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.fields.record_debug(f, v);
    }
}

impl Fields {
    /// Redacts the string attributes recorded as they came, by the default rules
    /// ([`redact_attribute`](crate::redact::redact_attribute)), except those `clean(key, value)` says
    /// the rules leave unchanged. Before [`as_faas_invocation`](Self::as_faas_invocation), which reads
    /// the ARN.
    fn redact(&mut self, clean: impl Fn(&str, &str) -> bool) {
        let mut pending = std::mem::take(&mut self.unredacted);
        while pending != 0 {
            let i = pending.trailing_zeros() as usize;
            pending &= pending - 1;
            let kv = &mut self.attributes[i];
            if let Value::String(v) = &kv.value
                && !clean(kv.key.as_str(), v.as_str())
            {
                let v = v.as_str();
                match crate::redact::redact_attribute(kv.key.as_str(), v) {
                    Cow::Borrowed(r) if std::ptr::eq(r, v) => {}
                    r => kv.value = Value::String(r.into_owned().into()),
                }
            }
        }
    }

    /// The invocation span's log context under the FaaS semantic conventions' names
    /// (<https://opentelemetry.io/docs/specs/semconv/faas/faas-spans/>): `faas.invocation_id`,
    /// `faas.coldstart`, `faas.trigger`, `cloud.resource_id` (the function ARN with the running
    /// version, [`resolved_function_arn`](crate::context::resolved_function_arn)), `cloud.account.id`
    /// and `aws.lambda.invoked_arn` (the ARN as invoked, alias and all).
    fn as_faas_invocation(&mut self) {
        // In place: the span's own records (its correlation id) come here one field at a time, and
        // rebuilding the list for each cost an allocation. (`xray_trace_id` never became an attribute:
        // `Fields::invocation`.)
        let mut i = 0;
        while i < self.attributes.len() {
            match self.attributes[i].key.as_str() {
                "function_request_id" => self.attributes[i].key = Key::from_static_str("faas.invocation_id"),
                "cold_start" => self.attributes[i].key = Key::from_static_str("faas.coldstart"),
                "function_arn" => {
                    let (account, resource_id) = {
                        let arn = self.attributes[i].value.as_str();
                        faas_ids(&arn, self.function_version.as_deref())
                    };
                    // `cloud.account.id`, `cloud.resource_id`, then the ARN as invoked, where the ARN was.
                    self.attributes[i].key = Key::from_static_str("aws.lambda.invoked_arn");
                    self.attributes
                        .insert(i, KeyValue::new("cloud.resource_id", resource_id));
                    i += 1;
                    if let Some(account) = account {
                        self.attributes
                            .insert(i - 1, KeyValue::new("cloud.account.id", account));
                        i += 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if let Some(trigger) = self.faas_trigger.take() {
            if trigger == "pubsub" {
                self.kind.get_or_insert(SpanKind::Consumer);
            }
            self.attributes.push(KeyValue::new("faas.trigger", trigger));
        }
    }
}

/// `(account, resource id)` of the function ARN `arn` invoked as version `version`
/// ([`crate::context::arn_account`], [`crate::context::resolved_function_arn`]). A process serves one
/// function: the last answer is kept per thread and shared (`Arc<str>`) while the ARN and version are
/// the same.
fn faas_ids(arn: &str, version: Option<&str>) -> (Option<Arc<str>>, Arc<str>) {
    type Ids = (String, Option<String>, Option<Arc<str>>, Arc<str>);
    thread_local! {
        static LAST: RefCell<Option<Ids>> = const { RefCell::new(None) };
    }
    let compute = || {
        let account = crate::context::arn_account(arn).map(Arc::from);
        let resource_id = Arc::from(crate::context::resolved_function_arn(arn, version));
        (account, resource_id)
    };
    LAST.try_with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return compute();
        };
        if let Some((a, v, account, resource_id)) = &*last
            && a == arn
            && v.as_deref() == version
        {
            return (account.clone(), resource_id.clone());
        }
        let (account, resource_id) = compute();
        *last = Some((
            arn.to_owned(),
            version.map(str::to_owned),
            account.clone(),
            resource_id.clone(),
        ));
        (account, resource_id)
    })
    .unwrap_or_else(|_| compute())
}

/// An `ERROR` event's message and its `error` field (`tracing::error!(error = ?e, "handler failed")`).
#[derive(Default)]
struct ErrorText {
    message: String,
    error: String,
}

impl ErrorText {
    /// `message: error`, redacted as an exception message and cut to X-Ray's kept length.
    fn description(&self) -> String {
        let text = match (self.message.is_empty(), self.error.is_empty()) {
            (_, true) => self.message.clone(),
            (true, false) => self.error.clone(),
            (false, false) => format!("{}: {}", self.message, self.error),
        };
        let text = crate::redact::redact_attribute("exception.message", &text);
        super::segment::truncate_chars(&text, super::segment::MAX_EXCEPTION_MESSAGE)
    }
}

impl tracing::field::Visit for ErrorText {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "message" => value.clone_into(&mut self.message),
            "error" | "exception" => value.clone_into(&mut self.error),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        let target = match field.name() {
            "message" => &mut self.message,
            "error" | "exception" => &mut self.error,
            _ => return,
        };
        target.clear();
        let _ = write!(target, "{value:?}");
        // Long debug output is cut here already: the description keeps MAX_EXCEPTION_MESSAGE chars.
        if target.len() > 4 * super::segment::MAX_EXCEPTION_MESSAGE {
            let mut end = 4 * super::segment::MAX_EXCEPTION_MESSAGE;
            while !target.is_char_boundary(end) {
                end -= 1;
            }
            target.truncate(end);
        }
    }
    fn record_error(&mut self, field: &tracing::field::Field, value: &(dyn std::error::Error + 'static)) {
        if matches!(field.name(), "error" | "exception") {
            self.error = value.to_string();
        } else {
            self.record_debug(field, &tracing::field::display(value));
        }
    }
}

impl SpanRecord {
    fn apply(&mut self, fields: Fields) {
        if fields.fault && !matches!(self.status, Status::Error { .. }) {
            self.status = Status::error("");
        }
        if let Some(n) = fields.otel_name {
            self.name = Cow::Owned(n);
        }
        if let Some(k) = fields.kind {
            self.kind = k;
        }
        for kv in fields.attributes {
            match self.attributes.iter_mut().find(|a| a.key == kv.key) {
                Some(existing) => existing.value = kv.value,
                None => self.attributes.push(kv),
            }
        }
    }

    fn into_span_data(self, end: SystemTime) -> (SpanData, Vec<SpanData>) {
        let data = SpanData {
            span_context: self.context,
            parent_span_id: self.parent,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: self.kind,
            name: self.name,
            start_time: self.start,
            end_time: end.max(self.start),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: self.links,
            status: self.status,
            instrumentation_scope: scope(),
        };
        (data, self.finished)
    }
}

/// The OpenTelemetry context of an unsampled invocation, and its header as received.
#[derive(Debug)]
struct Unsampled {
    header: String,
    context: SpanContext,
}

thread_local! {
    /// OpenTelemetry contexts attached while a span is entered, by tracing span id.
    static ACTIVE: RefCell<Vec<(u64, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

/// `span`'s ancestors, nearest first: each looked up once (`scope().skip(1)` looks the span itself up
/// again, a registry lookup's two locked instructions for nothing).
fn ancestors<'a, S>(
    span: &tracing_subscriber::registry::SpanRef<'a, S>,
) -> impl Iterator<Item = tracing_subscriber::registry::SpanRef<'a, S>>
where
    S: for<'l> LookupSpan<'l>,
{
    std::iter::successors(span.parent(), tracing_subscriber::registry::SpanRef::parent)
}

/// The current OpenTelemetry span, when it is a sampled local span of `trace` other than `ours`
/// (the context our nearest exported `tracing` ancestor made current when it was entered).
fn current_api_parent(trace: TraceId, ours: SpanId) -> Option<SpanId> {
    OtelContext::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        (sc.is_valid()
            && sc.is_sampled()
            && !sc.is_remote()
            && sc.trace_id() == trace
            && sc.span_id() != ours)
            .then(|| sc.span_id())
    })
}

/// The log layer's record of a span's fields, when the log layer is compiled in: which of them the
/// default redaction rules left unchanged ([`SpanFields::is_clean`](crate::logs::SpanFields::is_clean)).
#[cfg(feature = "logs")]
type LogFields = crate::logs::SpanFields;
#[cfg(not(feature = "logs"))]
enum LogFields {}

#[cfg(not(feature = "logs"))]
impl LogFields {
    fn is_clean(&self, _: &str, _: &str) -> bool {
        match *self {}
    }
    fn shared_str(&self, _: &str, _: &str, _: &mut usize) -> Option<std::sync::Arc<str>> {
        match *self {}
    }
}

fn kind_of(attributes: &[KeyValue], default: SpanKind) -> SpanKind {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == "xray.namespace")
        .map_or(default, |_| SpanKind::Client)
}

impl<S> tracing_subscriber::Layer<S> for XrayLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if *meta.level() > Level::INFO {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields {
            room: meta.fields().len(),
            invocation: meta.name() == INVOCATION_SPAN,
            ..Fields::default()
        };
        {
            let ext = span.extensions();
            attrs.record(&mut Capture {
                fields: &mut fields,
                shared: ext.get::<LogFields>(),
                from: 0,
            });
        }
        let mut start = self.clock.now();
        // A span recorded after the fact (a Bedrock call's usage) starts when the call did.
        if let Some(ms) = fields.duration_ms.filter(|ms| ms.is_finite() && *ms > 0.0)
            && let Some(s) =
                start.checked_sub(std::time::Duration::from_secs_f64(ms.min(86_400_000.0) / 1000.0))
        {
            start = s;
        }
        let (trace, parent, parent_is_remote, carried, state, default_kind) =
            if meta.name() == INVOCATION_SPAN {
                let header = fields.handed_header.take().map(|h| *h).or_else(|| {
                    fields
                        .trace_header
                        .as_deref()
                        .and_then(|h| TraceHeader::parse(h).ok())
                });
                let state = fields
                    .tracestate
                    .as_deref()
                    .and_then(crate::propagation::valid_tracestate)
                    .map(|s| crate::propagation::trace_state(&s))
                    .unwrap_or_default();
                let header = header.map(|mut h| {
                    if self.sampling_off {
                        h.sampled = Sampled::No;
                    }
                    h
                });
                match header {
                    Some(h) if h.is_sampled() && !self.pass_through => {
                        let carried = carried_parts(&h);
                        let (parent, remote) = h.parent.map_or((SpanId::INVALID, false), |p| (p, true));
                        (h.root, parent, remote, carried, state, SpanKind::Server)
                    }
                    Some(h) => {
                        // Nothing to export, but outgoing calls and OpenTelemetry-API spans still carry the
                        // decision onward. Without Lambda's `Parent`, the invocation's own span id stands in
                        // (as OpenTelemetry SDKs give unsampled spans ids): an all-zero parent id makes an
                        // invalid `traceparent` (W3C Trace Context §3.2.2.4) and an invalid context.
                        let (parent, remote) = h.parent.map_or_else(|| (new_span_id(), false), |p| (p, true));
                        let flags = TraceFlags::default().with_sampled(h.is_sampled());
                        let context = SpanContext::new(h.root, parent, flags, remote, state);
                        span.extensions_mut().insert(Unsampled {
                            header: h.to_string(),
                            context,
                        });
                        return;
                    }
                    None if self.sample_roots && !self.pass_through => (
                        new_xray_trace_id(start),
                        SpanId::INVALID,
                        false,
                        None,
                        state,
                        SpanKind::Server,
                    ),
                    None => return,
                }
            } else {
                let Some(mut ancestor) = ancestors(&span).find_map(|s| {
                    s.extensions().get::<SpanRecord>().map(|r| {
                        (
                            r.context.trace_id(),
                            r.context.span_id(),
                            false,
                            r.carried.clone(),
                            r.context.trace_state().clone(),
                            SpanKind::Internal,
                        )
                    })
                }) else {
                    return;
                };
                // A span made inside an OpenTelemetry-API span (a library's `tracer.in_span(…)`) is
                // that span's child: entering a `tracing` span makes it the current context, so a
                // current span of the same trace other than our ancestor was started after it.
                if self.activate_context
                    && attrs.is_contextual()
                    && let Some(api_parent) = current_api_parent(ancestor.0, ancestor.1)
                {
                    ancestor.1 = api_parent;
                }
                ancestor
            };
        // The span is kept: its attributes leave the process.
        if fields.unredacted != 0 {
            let ext = span.extensions();
            let log = ext.get::<LogFields>();
            fields.redact(|k, v| log.is_some_and(|f| f.is_clean(k, v)));
        }
        if meta.name() == INVOCATION_SPAN {
            fields.as_faas_invocation();
        }
        let name = fields
            .segment_name
            .take()
            .map_or(Cow::Borrowed(meta.name()), |n| match segment_name_cow(&n) {
                // Already valid (most are): the recorded text itself, not a copy.
                Cow::Borrowed(_) => Cow::Owned(n),
                Cow::Owned(valid) => Cow::Owned(valid),
            });
        let kind = kind_of(&fields.attributes, default_kind);
        // A callsite's fields are distinct: the first record needs no merging.
        let attributes = std::mem::take(&mut fields.attributes);
        let mut rec = SpanRecord {
            context: SpanContext::new(trace, new_span_id(), TraceFlags::SAMPLED, false, state),
            parent,
            parent_is_remote,
            carried,
            name,
            kind,
            start,
            attributes,
            status: Status::Unset,
            links: SpanLinks::default(),
            finished: Vec::new(),
        };
        rec.apply(fields);
        span.extensions_mut().insert(rec);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if ext.get_mut::<SpanRecord>().is_some() {
            let mut fields = Fields {
                invocation: span.name() == INVOCATION_SPAN,
                ..Fields::default()
            };
            values.record(&mut fields);
            if fields.unredacted != 0 {
                let log = ext.get_mut::<LogFields>().map(|f| &*f);
                fields.redact(|k, v| log.is_some_and(|f| f.is_clean(k, v)));
            }
            if span.name() == INVOCATION_SPAN {
                fields.as_faas_invocation();
            }
            if let Some(rec) = ext.get_mut::<SpanRecord>() {
                rec.apply(fields);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR
            || event.metadata().target() == crate::context::CONTROL_TARGET
        {
            return;
        }
        let Some(span) = ctx.event_span(event) else { return };
        let described = match span.extensions().get::<SpanRecord>() {
            None => return,
            Some(rec) => matches!(&rec.status, Status::Error { description } if !description.is_empty()),
        };
        if described {
            // Only the first error is the cause: a later one costs no formatting.
            return;
        }
        // The first error event's text becomes the status description, which the document's
        // `cause.exceptions` carries: visited (user `Debug` code) before the extensions lock is taken,
        // and redacted, since it leaves the process.
        let mut text = ErrorText::default();
        event.record(&mut text);
        let description = text.description();
        if let Some(rec) = span.extensions_mut().get_mut::<SpanRecord>() {
            let described = matches!(&rec.status, Status::Error { description } if !description.is_empty());
            if !described {
                rec.status = Status::error(description);
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if !self.activate_context {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let ext = span.extensions();
        let sc = match (ext.get::<SpanRecord>(), ext.get::<Unsampled>()) {
            (Some(r), _) => r.context.clone(),
            (None, Some(u)) => u.context.clone(),
            (None, None) => return,
        };
        drop(ext);
        let guard = OtelContext::map_current(|cx| cx.with_remote_span_context(sc)).attach();
        ACTIVE.with(|a| a.borrow_mut().push((id.into_u64(), guard)));
    }

    fn on_exit(&self, id: &Id, _ctx: Context<'_, S>) {
        if !self.activate_context {
            return;
        }
        let key = id.into_u64();
        let guard = ACTIVE.with(|a| {
            let mut a = a.borrow_mut();
            a.iter().rposition(|(k, _)| *k == key).map(|i| a.remove(i))
        });
        drop(guard);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(rec) = span.extensions_mut().remove::<SpanRecord>() else {
            return;
        };
        let (data, finished) = rec.into_span_data(self.clock.now());
        // Join the nearest exported ancestor of the same trace while it is open (the registry closes
        // parents after their children), so a whole invocation usually leaves as one batch — up to
        // `MAX_HELD_SPANS`: a long invocation's spans leave in batches of that many instead of all
        // staying in memory until it ends.
        // Each ancestor's extensions are taken for writing at once (not read, then written): the
        // nearest with a record takes the span, when of the same trace.
        let batch = 'join: {
            let mut next = span.parent();
            while let Some(ancestor) = next {
                let mut ext = ancestor.extensions_mut();
                if let Some(a) = ext.get_mut::<SpanRecord>() {
                    if a.context.trace_id() != data.span_context.trace_id() {
                        break;
                    }
                    // The first child to close hands its vector up whole: one batch vector per
                    // invocation instead of one per level (a few spans' data outgrow the allocator's
                    // per-thread cache).
                    if a.finished.is_empty() {
                        a.finished = super::spans::batch_from(finished);
                    } else {
                        a.finished.extend(finished);
                    }
                    a.finished.push(data);
                    if a.finished.len() < MAX_HELD_SPANS {
                        return;
                    }
                    break 'join std::mem::take(&mut a.finished);
                }
                drop(ext);
                next = ancestor.parent();
            }
            let mut batch = super::spans::batch_from(finished);
            batch.push(data);
            batch
        };
        // Exported with no span's extensions borrowed: an exporter may log.
        self.sink.export(batch);
    }
}

/// Adds `links` (and `dropped` more left out) and `attributes` to `span`'s OpenTelemetry span, when
/// it has one (a sampled invocation under this layer). The invocation layer gives an SQS batch's
/// processing span a link per message this way.
#[cfg(feature = "lambda")]
pub(crate) fn add_links(
    span: &tracing::Span,
    links: Vec<opentelemetry::trace::Link>,
    dropped: u32,
    attributes: Vec<KeyValue>,
) {
    let Some(id) = span.id() else { return };
    let mut parts = Some((links, attributes));
    tracing::dispatcher::get_default(|dispatch| {
        let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>() else {
            return;
        };
        let Some(s) = registry.span(&id) else { return };
        let mut ext = s.extensions_mut();
        if let Some(rec) = ext.get_mut::<SpanRecord>()
            && let Some((links, attributes)) = parts.take()
        {
            // At most `MAX_LINKS` in all (the SDK's default limit), whoever added them; the rest counted.
            let room = crate::propagation::MAX_LINKS.saturating_sub(rec.links.links.len());
            let over = u32::try_from(links.len().saturating_sub(room)).unwrap_or(u32::MAX);
            rec.links.links.extend(links.into_iter().take(room));
            rec.links.dropped_count = rec
                .links
                .dropped_count
                .saturating_add(dropped)
                .saturating_add(over);
            rec.attributes.extend(attributes);
        }
    });
}

/// Ends `id`'s span now and exports it with the children it holds, when the registry still has it
/// open after its last handle was dropped: a span the handler started outlives it (a spawned task
/// that keeps running holds its parent open), which held the invocation's subsegment back until that
/// span closed — after the response, or never for a task that never ends. Spans closing later leave
/// as independent subsegments under it. Nothing to do when the span closed with its handle (the
/// common case costs one registry lookup).
#[cfg(feature = "lambda")]
pub(crate) fn finish_if_open(id: &Id) {
    let mut out: Option<(Arc<dyn SpanSink>, Vec<SpanData>)> = None;
    tracing::dispatcher::get_default(|dispatch| {
        let (Some(registry), Some(layer)) = (
            dispatch.downcast_ref::<tracing_subscriber::Registry>(),
            dispatch.downcast_ref::<XrayLayer>(),
        ) else {
            return;
        };
        let Some(span) = registry.span(id) else { return };
        let Some(rec) = span.extensions_mut().remove::<SpanRecord>() else {
            return;
        };
        let (data, finished) = rec.into_span_data(layer.clock.now());
        let mut batch = super::spans::batch_from(finished);
        batch.push(data);
        out = Some((layer.sink(), batch));
    });
    // Exported outside the dispatcher's borrow: an exporter may log.
    if let Some((sink, batch)) = out {
        sink.export(batch);
    }
}

/// The most finished spans an open span holds for its batch; at this many they are exported at once
/// (the X-Ray exporter sends them as independent subsegments under their still-open parent).
pub(crate) const MAX_HELD_SPANS: usize = 1_000;

/// Hands a finished OpenTelemetry-API span to the current `tracing` span's exported ancestor of the
/// same trace, so it leaves in the invocation's batch. Returns what to export now: the span itself
/// when there is no such ancestor, the ancestor's held spans when they reach [`MAX_HELD_SPANS`],
/// else nothing.
#[cfg(feature = "otel")]
pub(crate) fn adopt(span: SpanData) -> Vec<SpanData> {
    let current = tracing::Span::current();
    let Some(id) = current.id() else {
        return vec![span];
    };
    let mut span = Some(span);
    let mut full = Vec::new();
    tracing::dispatcher::get_default(|dispatch| {
        let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>() else {
            return;
        };
        let Some(s) = registry.span(&id) else { return };
        for s in s.scope() {
            let mut ext = s.extensions_mut();
            if let Some(rec) = ext.get_mut::<SpanRecord>()
                && let Some(data) = span.take_if(|d| d.span_context.trace_id() == rec.context.trace_id())
            {
                rec.finished.push(data);
                if rec.finished.len() >= MAX_HELD_SPANS {
                    full = std::mem::take(&mut rec.finished);
                }
                return;
            }
        }
    });
    full.extend(span);
    full
}

/// `;Lineage=…` and the other `;key=value` parts of `h` after `Sampled`, as its `Display` writes
/// them; `None` when there are none.
fn carried_parts(h: &TraceHeader) -> Option<Arc<str>> {
    let mut carried = String::new();
    h.write_carried(&mut carried).ok()?;
    (!carried.is_empty()).then(|| Arc::from(carried))
}

/// The `X-Amzn-Trace-Id` value for an outgoing call made inside the current span: the invocation's
/// `Root`, `Lineage` and other parts, `Parent` = the current subsegment, `Sampled=1`. Send it as the
/// `X-Amzn-Trace-Id` header so the downstream service's segment hangs under this subsegment. In an
/// unsampled invocation it is the invocation's header as received (`Sampled=0`).
/// `None` outside an invocation, or when the global subscriber is not built on
/// `tracing_subscriber::Registry`.
///
/// ```
/// use telemetry::xray::{MemorySink, XrayLayer, current_trace_header};
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry().with(XrayLayer::new(MemorySink::default()));
/// tracing::subscriber::with_default(subscriber, || {
///     assert_eq!(current_trace_header(), None);
///     let _inv = tracing::info_span!("lambda.invocation",
///         telemetry.trace_header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1").entered();
///     let header = current_trace_header().unwrap();
///     assert!(header.starts_with("Root=1-5759e988-bd862e3fe1be46a994272793;Parent="));
/// });
/// ```
#[must_use]
pub fn current_trace_header() -> Option<String> {
    trace_header_for(&tracing::Span::current())
}

/// What an outgoing call made inside a span carries: both header spellings of one context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingContext {
    /// `X-Amzn-Trace-Id`.
    pub xray: String,
    /// W3C `traceparent`.
    pub traceparent: String,
    /// W3C `tracestate`, when the invocation received one.
    pub tracestate: Option<String>,
}

/// Like [`trace_header_for`], with the W3C `traceparent`/`tracestate` of the same context too.
///
/// ```
/// use telemetry::xray::{MemorySink, XrayLayer, outgoing_context_for};
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry().with(XrayLayer::new(MemorySink::default()));
/// tracing::subscriber::with_default(subscriber, || {
///     let _inv = tracing::info_span!("lambda.invocation",
///         telemetry.trace_header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0").entered();
///     let out = outgoing_context_for(&tracing::Span::current()).unwrap();
///     assert_eq!(out.traceparent, "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00");
/// });
/// ```
#[must_use]
pub fn outgoing_context_for(span: &tracing::Span) -> Option<OutgoingContext> {
    let id = span.id()?;
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(&id)?;
        span.scope().find_map(|s| {
            let ext = s.extensions();
            let (xray, sc) = if let Some(r) = ext.get::<SpanRecord>() {
                let mut h = format!(
                    "Root={};Parent={:016x};Sampled=1",
                    xray_trace_id(r.context.trace_id()),
                    r.context.span_id()
                );
                if let Some(c) = &r.carried {
                    h.push_str(c);
                }
                (h, &r.context)
            } else {
                let u = ext.get::<Unsampled>()?;
                (u.header.clone(), &u.context)
            };
            Some(OutgoingContext::with_w3c(xray, sc))
        })
    })
}

impl OutgoingContext {
    /// The X-Ray header `xray` with the W3C `traceparent` (flags from `sc`'s sampled bit) and
    /// `tracestate` (when not empty) of the same context.
    pub(crate) fn with_w3c(xray: String, sc: &SpanContext) -> Self {
        let state = sc.trace_state().header();
        Self {
            xray,
            traceparent: format!(
                "00-{:032x}-{:016x}-{}",
                sc.trace_id(),
                sc.span_id(),
                if sc.is_sampled() { "01" } else { "00" }
            ),
            tracestate: (!state.is_empty()).then_some(state),
        }
    }
}

/// Like [`current_trace_header`], for a call made inside `span` (which need not be entered): `Parent`
/// is `span`'s subsegment, or its nearest exported ancestor's.
///
/// ```
/// use telemetry::xray::{MemorySink, XrayLayer, trace_header_for};
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry().with(XrayLayer::new(MemorySink::default()));
/// tracing::subscriber::with_default(subscriber, || {
///     let _inv = tracing::info_span!("lambda.invocation",
///         telemetry.trace_header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0").entered();
///     let call = tracing::info_span!("call");
///     assert_eq!(trace_header_for(&call).unwrap(),
///         "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0");
/// });
/// ```
#[must_use]
pub fn trace_header_for(span: &tracing::Span) -> Option<String> {
    outgoing_context_for(span).map(|c| c.xray)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::MemorySink;
    use serde_json::Value;
    use tracing_subscriber::layer::SubscriberExt;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:1";

    fn run(f: impl FnOnce()) -> Vec<Value> {
        let sink = MemorySink::default();
        let subscriber = tracing_subscriber::registry().with(XrayLayer::new(sink.clone()));
        tracing::subscriber::with_default(subscriber, f);
        sink.documents()
    }

    /// The first `ERROR` event in a span becomes its `cause`: message and `error` field, redacted (it
    /// leaves the process), cut to X-Ray's kept length; later errors do not replace it.
    #[test]
    fn an_error_event_is_the_cause_redacted_and_first_one_kept() {
        let docs = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            tracing::error!(error = "connect failed: password=hunter2", "db unreachable");
            tracing::error!("a later error");
        });
        let cause = &docs[0]["cause"]["exceptions"];
        assert_eq!(cause.as_array().unwrap().len(), 1);
        let message = cause[0]["message"].as_str().unwrap();
        assert!(
            message.starts_with("db unreachable: connect failed: password="),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        assert_eq!(docs[0]["fault"], true);
        let long = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            tracing::error!("{}", "x".repeat(5_000));
        });
        let message = long[0]["cause"]["exceptions"][0]["message"].as_str().unwrap();
        assert_eq!(
            message.chars().count(),
            super::super::segment::MAX_EXCEPTION_MESSAGE
        );
    }

    /// W3C Trace Context §3.2.2.4: an all-zero parent id is invalid. An unsampled Lambda header
    /// without `Parent` still gives outgoing calls a `traceparent` that parses: the invocation's own
    /// span id is the parent (as OpenTelemetry SDKs give unsampled spans ids), the same for every call
    /// of the invocation; the X-Ray header goes on unchanged.
    #[test]
    fn unsampled_header_without_parent_gives_a_valid_traceparent() {
        use crate::propagation::TraceParent;
        let unsampled = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0";
        let docs = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = unsampled).entered();
            let first = outgoing_context_for(&tracing::info_span!("call")).unwrap();
            let second = outgoing_context_for(&tracing::Span::current()).unwrap();
            let tp = TraceParent::parse(&first.traceparent)
                .unwrap_or_else(|e| panic!("{}: {e}", first.traceparent));
            assert_eq!(
                first.traceparent.get(..36),
                Some("00-5759e988bd862e3fe1be46a994272793-")
            );
            assert!(first.traceparent.ends_with("-00"), "{}", first.traceparent);
            assert!(!tp.sampled);
            assert_eq!(second.traceparent, first.traceparent);
            assert_eq!(first.xray, unsampled);
        });
        assert!(docs.is_empty(), "unsampled: nothing exported");
    }

    /// `OTEL_TRACES_SAMPLER=always_off`: nothing is exported, yet outgoing calls still carry the
    /// invocation's context, with the sampled flag cleared. With no exporter at all (pass-through)
    /// the context goes on as it came — the SDK spec: disabling "has no effect on propagators".
    #[test]
    fn sampling_off_still_propagates_unsampled() {
        let sink = MemorySink::default();
        let subscriber = tracing_subscriber::registry().with(
            XrayLayer::new(sink.clone())
                .with_sampling_off(true)
                .with_root_sampling(true),
        );
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let out = outgoing_context_for(&tracing::info_span!("call")).unwrap();
            assert_eq!(
                out.xray,
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a:1"
            );
            assert_eq!(
                out.traceparent,
                "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00"
            );
            drop(_inv);
            let _root = tracing::info_span!("lambda.invocation").entered();
            assert_eq!(current_trace_header(), None, "no root trace is started either");
        });
        assert!(sink.documents().is_empty());

        let sink = MemorySink::default();
        let subscriber = tracing_subscriber::registry().with(
            XrayLayer::new(sink.clone())
                .with_pass_through(true)
                .with_root_sampling(true),
        );
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let _child = tracing::info_span!("work").entered();
            let out = outgoing_context_for(&tracing::info_span!("call")).unwrap();
            assert_eq!(out.xray, HEADER, "as it came");
            assert_eq!(
                out.traceparent,
                "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
            );
        });
        assert!(sink.documents().is_empty(), "nothing recorded, nothing exported");
    }

    #[test]
    fn parenting_follows_spans_and_header() {
        let docs = run(|| {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header = HEADER,
                telemetry.segment_name = "## handler",
                cold_start = true,
                function_arn = "arn:aws:lambda:eu-west-1:1:function:f",
                correlation_id = "corr-7"
            )
            .entered();
            let _a =
                tracing::info_span!("price_card", annotation.grade = "PSA 10", card_id = "c-1").entered();
            let _b = tracing::info_span!("bedrock", xray.namespace = "aws", otel.name = "Bedrock.Converse")
                .entered();
            tracing::error!("throttled");
        });
        assert_eq!(docs.len(), 1, "one datagram for the whole invocation");
        let inv = &docs[0];
        let a = &inv["subsegments"][0];
        let b = &a["subsegments"][0];
        assert_eq!(inv["name"], "## handler");
        assert_eq!(inv["parent_id"], "53995c3f42cd8ad8");
        assert_eq!(inv["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(inv["type"], "subsegment");
        for d in [inv, a, b] {
            assert!(d["end_time"].as_f64().unwrap() >= d["start_time"].as_f64().unwrap());
            assert_eq!(d["id"].as_str().unwrap().len(), 16);
        }
        assert!(
            a.get("parent_id").is_none() && a.get("type").is_none(),
            "nested subsegments carry neither"
        );
        assert_eq!(a["annotations"]["grade"], "PSA 10");
        assert_eq!(a["metadata"]["default"]["card_id"], "c-1");
        assert_eq!(b["name"], "Bedrock.Converse");
        assert_eq!(b["namespace"], "aws");
        assert_eq!(b["fault"], true);
        // The error event's text is the subsegment's cause (X-Ray shows it on the trace).
        assert_eq!(b["cause"]["exceptions"][0]["message"], "throttled");
        assert_eq!(b["cause"]["exceptions"][0]["id"].as_str().unwrap().len(), 16);
        assert!(a.get("fault").is_none() && a.get("cause").is_none());
        assert!(
            inv.get("metadata").is_none(),
            "the log context is not repeated in X-Ray"
        );
        assert_eq!(inv["annotations"]["correlation_id"], "corr-7");
    }

    #[test]
    fn span_attributes_are_redacted_like_log_fields() {
        let docs = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let _call = tracing::info_span!(
                "price_api",
                authorization = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
                url = "https://prices.example/v1/quote?api_key=sk-live-123&card=c-1",
                card_id = "c-1"
            )
            .entered();
        });
        let meta = &docs[0]["subsegments"][0]["metadata"]["default"];
        let text = meta.to_string();
        assert!(!text.contains("eyJhbGciOiJIUzI1NiJ9"), "{text}");
        assert!(!text.contains("sk-live-123"), "{text}");
        assert_eq!(meta["card_id"], "c-1", "look-alikes stay");
        assert!(
            meta["url"]
                .as_str()
                .unwrap()
                .starts_with("https://prices.example/v1/quote?api_key=")
        );
    }

    /// The log layer's level decides for every layer which callsites are enabled: at `OFF` (Powertools'
    /// `SILENT`) it must still let the error through to X-Ray's `cause`, and print nothing itself.
    #[cfg(feature = "logs")]
    #[test]
    fn a_silent_log_level_keeps_the_error_cause() {
        use crate::logs::{JsonLogLayer, LogConfig};
        use tracing_subscriber::filter::LevelFilter;
        for log_first in [true, false] {
            let sink = MemorySink::default();
            let out = crate::testing::CapturedWriter::default();
            let logs =
                JsonLogLayer::new(LogConfig::new("s").with_level(LevelFilter::OFF)).with_writer(out.clone());
            let xray = XrayLayer::new(sink.clone());
            let work = || {
                let _inv =
                    tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
                tracing::error!(error = "table missing", "handler failed");
            };
            if log_first {
                tracing::subscriber::with_default(tracing_subscriber::registry().with(logs).with(xray), work);
            } else {
                tracing::subscriber::with_default(tracing_subscriber::registry().with(xray).with(logs), work);
            }
            let docs = sink.documents();
            let message = docs[0]["cause"]["exceptions"][0]["message"].as_str();
            assert_eq!(
                message,
                Some("handler failed: table missing"),
                "log_first={log_first}: {}",
                docs[0]
            );
            assert_eq!(out.contents(), "", "nothing printed at OFF");
        }
    }

    /// The attributes X-Ray receives when the log layer redacts the same fields first (or after, or
    /// with other rules, or not at all) are those it sends alone: the log layer's findings are reused
    /// only where they are the default rules' own.
    #[cfg(feature = "logs")]
    #[test]
    fn attributes_are_redacted_whatever_the_log_layer_did() {
        use crate::logs::{JsonLogLayer, LogConfig, Redactor};
        let work = || {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header = HEADER,
                correlation_id = "ana@example.com",
                function_request_id = "8f5b3c1e-0000-4000-8000-000000000001"
            )
            .entered();
            let call = tracing::info_span!(
                "price_api",
                url = "https://prices.example/v1/quote?api_key=sk-live-123&card=c-1",
                contact = "ana@example.com",
                card_id = "c-1",
                note = "clean",
                long = "x".repeat(40) + " password=hunter2",
            );
            let _e = call.enter();
            call.record("note", "token=tk-live-9");
            call.record("card_id", "c-2");
        };
        let sections = |docs: &[Value]| {
            let inv = &docs[0];
            (
                inv["metadata"].clone(),
                inv["annotations"].clone(),
                inv["subsegments"][0]["metadata"].clone(),
            )
        };
        let alone = sections(&run(work));
        let text = format!("{alone:?}");
        for secret in ["sk-live-123", "ana@example.com", "tk-live-9", "hunter2"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(
            text.contains("\"c-2\"") && text.contains("password=[REDACTED]"),
            "{text}"
        );
        let configs = [
            LogConfig::new("s"),
            LogConfig::new("s").with_redactor(None),
            LogConfig::new("s").with_redactor(Some(Redactor::default().keep_emails())),
            LogConfig::new("s").with_redactor(Some(Redactor::default().deny_fields(["card_id"]))),
            LogConfig::new("s").with_redactor(Some(Redactor::default().with_max_scan_bytes(30))),
        ];
        for (i, cfg) in configs.into_iter().enumerate() {
            for log_first in [true, false] {
                let sink = MemorySink::default();
                let logs = JsonLogLayer::new(cfg.clone()).with_writer(std::io::sink);
                let xray = XrayLayer::new(sink.clone());
                if log_first {
                    let s = tracing_subscriber::registry().with(logs).with(xray);
                    tracing::subscriber::with_default(s, work);
                } else {
                    let s = tracing_subscriber::registry().with(xray).with(logs);
                    tracing::subscriber::with_default(s, work);
                }
                assert_eq!(
                    sections(&sink.documents()),
                    alone,
                    "config {i}, log layer first: {log_first}"
                );
            }
        }
    }

    /// The invocation span's context under the FaaS names, in the order the fields came, the ARN's
    /// three attributes where the ARN was; its own records (one field each) are renamed the same way.
    #[test]
    fn the_invocation_context_takes_the_faas_names_in_place() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:valuate:live";
        let mut f = Fields {
            attributes: vec![
                KeyValue::new("function_request_id", "r-1"),
                KeyValue::new("card_id", "c-1"),
                KeyValue::new("function_arn", arn),
                KeyValue::new("cold_start", true),
            ],
            faas_trigger: Some("pubsub".into()),
            function_version: Some("7".into()),
            ..Fields::default()
        };
        f.as_faas_invocation();
        let got: Vec<(String, String)> = f
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect();
        let want = [
            ("faas.invocation_id", "r-1"),
            ("card_id", "c-1"),
            ("cloud.account.id", "123456789012"),
            (
                "cloud.resource_id",
                "arn:aws:lambda:eu-west-1:123456789012:function:valuate:7",
            ),
            ("aws.lambda.invoked_arn", arn),
            ("faas.coldstart", "true"),
            ("faas.trigger", "pubsub"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(f.kind, Some(SpanKind::Consumer));
        // A record of one field, and an ARN with no account.
        let mut r = Fields {
            attributes: vec![KeyValue::new(
                "function_arn",
                "arn:aws:lambda:eu-west-1::function:f",
            )],
            ..Fields::default()
        };
        r.as_faas_invocation();
        let keys: Vec<&str> = r.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["cloud.resource_id", "aws.lambda.invoked_arn"]);
    }

    /// The invocation span's `xray_trace_id` (the log context: the trace id is the span's own) is no
    /// attribute, given at creation or recorded later; another span's field of that name is one.
    #[test]
    fn only_the_invocation_span_leaves_out_its_xray_trace_id() {
        let sink = crate::xray::MemorySpanSink::default();
        let layer = XrayLayer::with_span_sink(sink.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header = HEADER,
                xray_trace_id = "1-5759e988-bd862e3fe1be46a994272793",
                correlation_id = "c-1",
            );
            let _inv = inv.enter();
            inv.record("xray_trace_id", "1-5759e988-00000000000000000000000a");
            let _call =
                tracing::info_span!("call", xray_trace_id = "1-5759e988-bd862e3fe1be46a994272793").entered();
        });
        let spans = sink.spans();
        let keys = |name: &str| -> Vec<String> {
            let span = spans.iter().find(|s| s.name == name).unwrap();
            span.attributes.iter().map(|kv| kv.key.to_string()).collect()
        };
        assert!(
            !keys("lambda.invocation").contains(&"xray_trace_id".to_owned()),
            "{:?}",
            keys("lambda.invocation")
        );
        assert!(keys("lambda.invocation").contains(&"correlation_id".to_owned()));
        assert!(keys("call").contains(&"xray_trace_id".to_owned()));
    }

    /// The FaaS ids kept per thread belong to one ARN and version: alternating functions, versions and
    /// an ARN without an account on one thread, each gets what the two functions answer for it.
    #[test]
    fn each_function_arn_and_version_gets_its_own_ids() {
        let a = "arn:aws:lambda:eu-west-1:111111111111:function:a:live";
        let b = "arn:aws:lambda:eu-west-1:222222222222:function:b";
        let c = "arn:aws:lambda:eu-west-1::function:c";
        for (arn, version) in [
            (a, Some("3")),
            (a, Some("3")),
            (a, Some("4")),
            (b, None),
            (a, Some("3")),
            (c, None),
            (a, None),
        ] {
            let (account, resource_id) = faas_ids(arn, version);
            assert_eq!(
                account.as_deref(),
                crate::context::arn_account(arn),
                "{arn} {version:?}"
            );
            assert_eq!(
                &*resource_id,
                crate::context::resolved_function_arn(arn, version),
                "{arn} {version:?}"
            );
        }
    }

    #[test]
    fn integer_card_numbers_and_span_names_are_redacted() {
        let docs = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let _call = tracing::info_span!(
                "charge",
                otel.name = "GET /v1/charge?token=tk-9f8e7d",
                card = 4_111_111_111_111_111u64,
                pin_token = 1234i64,
                huge = u64::MAX,
                qty = 3u64,
                amount = 4_111_111_111_111_111.0f64,
                cvv = 737.0f64,
                price = 120.5f64,
            )
            .entered();
        });
        let sub = &docs[0]["subsegments"][0];
        let meta = &sub["metadata"]["default"];
        assert_eq!(meta["card"], "[REDACTED]", "{meta}");
        // Floats too: a whole one that is a card number, and any under a denied name.
        assert_eq!(meta["amount"], "[REDACTED]", "{meta}");
        assert_eq!(meta["cvv"], "[REDACTED]", "{meta}");
        assert_eq!(meta["price"], 120.5, "{meta}");
        assert_eq!(
            meta["pin_token"], "[REDACTED]",
            "denied by name whatever its type: {meta}"
        );
        assert_eq!(meta["huge"], u64::MAX.to_string(), "{meta}");
        assert_eq!(meta["qty"], 3);
        // X-Ray's name charset drops `?`, `[` and `]`; the token is gone before that.
        let name = sub["name"].as_str().unwrap();
        assert!(name.contains("REDACTED") && !name.contains("tk-9f8e7d"), "{name}");
    }

    #[test]
    fn downstream_header_points_at_the_current_subsegment() {
        let mut header = None;
        let docs = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let _call = tracing::info_span!("bedrock", xray.namespace = "aws").entered();
            header = current_trace_header();
        });
        let parsed = TraceHeader::parse(header.as_deref().unwrap()).unwrap();
        assert_eq!(parsed.xray_trace_id(), "1-5759e988-bd862e3fe1be46a994272793");
        assert!(parsed.is_sampled());
        assert_eq!(parsed.lineage.as_deref(), Some("a:1"));
        let call = &docs[0]["subsegments"][0];
        assert_eq!(
            format!("{:016x}", parsed.parent.unwrap()),
            call["id"].as_str().unwrap()
        );
    }

    /// Every `key=value` part of the incoming header after `Sampled` goes on, in order, whatever the
    /// sampling decision: a sampled invocation's outgoing header is rebuilt (new `Parent`), an
    /// unsampled one's passed as received; both keep `Lineage` and the parts X-Ray may add later.
    #[test]
    fn outgoing_headers_keep_every_carried_part_sampled_or_not() {
        for sampled in ["1", "0"] {
            let incoming = format!(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled={sampled};Lineage=a:1;Foo=bar;Self=1-x"
            );
            let mut header = None;
            run(|| {
                let _inv =
                    tracing::info_span!("lambda.invocation", telemetry.trace_header = incoming.as_str())
                        .entered();
                let _call = tracing::info_span!("bedrock", xray.namespace = "aws").entered();
                header = current_trace_header();
            });
            let header = header.unwrap();
            assert!(
                header.ends_with(&format!("Sampled={sampled};Lineage=a:1;Foo=bar;Self=1-x")),
                "{header}"
            );
        }
    }

    /// The span layer takes the invocation layer's parse of the trace header (`header::handing`) for
    /// exactly the text the span records instead of parsing it: handed an unsampled parse of a
    /// sampled header, the invocation span is unsampled (nothing exported); the same span made without
    /// the handoff is exported.
    #[test]
    fn the_invocation_span_takes_the_handed_header() {
        let text = String::from(HEADER);
        let mut unsampled = TraceHeader::parse(&text).unwrap();
        unsampled.sampled = super::super::Sampled::No;
        let sink = crate::xray::MemorySpanSink::default();
        let layer = XrayLayer::with_span_sink(sink.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let handed = super::super::header::handing(&text, Some(unsampled), || {
                tracing::info_span!("lambda.invocation", telemetry.trace_header = text.as_str())
            });
            drop(handed.entered());
            assert!(
                sink.batches().is_empty(),
                "the handed, unsampled header was taken"
            );
            drop(tracing::info_span!("lambda.invocation", telemetry.trace_header = text.as_str()).entered());
        });
        assert_eq!(sink.batches().len(), 1, "parsed from the text: sampled");
    }

    /// An invocation span inside a span of another trace (a local invoke under a CLI's invocation, a
    /// test harness) starts its own trace: its spans leave in a batch of their own when it closes,
    /// never in the enclosing trace's.
    #[test]
    fn an_invocation_inside_another_trace_leaves_in_its_own_batch() {
        let other = "Root=1-6759e988-0d862e3fe1be46a994272794;Parent=63995c3f42cd8ad9;Sampled=1";
        let sink = crate::xray::MemorySpanSink::default();
        let layer = XrayLayer::with_span_sink(sink.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let _outer = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let _step = tracing::info_span!("step").entered();
            {
                let _inner =
                    tracing::info_span!("lambda.invocation", telemetry.trace_header = other).entered();
                drop(tracing::info_span!("inner.work").entered());
            }
            assert_eq!(
                sink.batches().len(),
                1,
                "the inner invocation left when it closed"
            );
        });
        let batches = sink.batches();
        assert_eq!(batches.len(), 2, "{batches:?}");
        let trace_of = |b: &Vec<SpanData>| {
            let traces: Vec<_> = b.iter().map(|s| s.span_context.trace_id()).collect();
            assert!(
                traces.windows(2).all(|w| w[0] == w[1]),
                "one trace a batch: {b:?}"
            );
            format!("{:032x}", traces[0])
        };
        let names = |b: &Vec<SpanData>| b.iter().map(|s| s.name.to_string()).collect::<Vec<_>>();
        assert_eq!(trace_of(&batches[0]), "6759e9880d862e3fe1be46a994272794");
        assert_eq!(names(&batches[0]), ["inner.work", "lambda.invocation"]);
        assert_eq!(trace_of(&batches[1]), "5759e988bd862e3fe1be46a994272793");
        assert_eq!(names(&batches[1]), ["step", "lambda.invocation"]);
    }

    /// A long invocation's spans do not all stay in memory until it ends: at `MAX_HELD_SPANS` held
    /// they leave as a batch, every span exactly once, the invocation span last; OpenTelemetry-API
    /// spans count the same way.
    #[cfg(feature = "otel")]
    #[test]
    fn a_long_invocation_sends_its_spans_in_batches_of_the_held_limit() {
        use opentelemetry::trace::{Tracer, TracerProvider};
        let sink = crate::xray::MemorySpanSink::default();
        let layer = XrayLayer::with_span_sink(sink.clone());
        let provider = crate::otel::provider::build_provider(
            layer.sink(),
            opentelemetry_sdk::Resource::builder_empty().build(),
        );
        let tracer = provider.tracer("lib");
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            for i in 0..2_400 {
                if i % 2 == 0 {
                    drop(tracing::info_span!("record", i).entered());
                } else {
                    drop(tracer.start("api"));
                }
            }
        });
        let batches = sink.batches();
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_HELD_SPANS, MAX_HELD_SPANS, 401], "{sizes:?}");
        let last = batches.last().unwrap().last().unwrap();
        assert_eq!(last.name, "lambda.invocation");
        let mut ids: Vec<u64> = batches
            .iter()
            .flatten()
            .map(|s| u64::from_be_bytes(s.span_context.span_id().to_bytes()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 2_401, "every span once");
    }

    /// X-Ray indexes at most 50 annotations a trace: an invocation of 2,410 spans, each with an
    /// annotation, leaves in three batches, and the trace still carries at most 50 — the invocation
    /// span's own among them — where each batch had a budget of its own before (150, and the
    /// invocation's `ColdStart` among the ones X-Ray drops).
    #[test]
    fn an_invocation_in_several_batches_keeps_one_annotation_budget() {
        fn count(d: &Value) -> usize {
            d.get("annotations")
                .and_then(Value::as_object)
                .map_or(0, serde_json::Map::len)
                + d.get("subsegments")
                    .and_then(Value::as_array)
                    .map_or(0, |s| s.iter().map(count).sum())
        }
        let sink = MemorySink::default();
        let subscriber = tracing_subscriber::registry().with(XrayLayer::new(sink.clone()));
        let mut first = 0;
        tracing::subscriber::with_default(subscriber, || {
            {
                let _inv = tracing::info_span!(
                    "lambda.invocation",
                    telemetry.trace_header = HEADER,
                    annotation.ColdStart = true
                )
                .entered();
                for i in 0..(2 * MAX_HELD_SPANS + 410) {
                    drop(tracing::info_span!("step", annotation.n = i).entered());
                }
            }
            first = sink.documents().len();
            // The next invocation (Lambda's header names the same trace) starts from a whole budget.
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            for i in 0..3 {
                drop(tracing::info_span!("step", annotation.n = i).entered());
            }
        });
        let all = sink.documents();
        let (docs, again) = all.split_at(first);
        assert!(docs.len() > 2, "{}", docs.len());
        let annotations: usize = docs.iter().map(count).sum();
        assert_eq!(annotations, crate::xray::segment::MAX_ANNOTATIONS);
        let inv = docs.iter().find(|d| d["name"] == "lambda.invocation").unwrap();
        assert_eq!(inv["annotations"]["ColdStart"], true, "{inv}");
        // The ones past the budget are metadata, not lost.
        let in_metadata = docs
            .iter()
            .flat_map(|d| {
                d["subsegments"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .chain([d.clone()])
            })
            .filter(|d| d["metadata"]["default"].get("n").is_some())
            .count();
        assert!(in_metadata > 2_000, "{in_metadata}");
        assert_eq!(again.iter().map(count).sum::<usize>(), 3);
    }

    /// A whole invocation leaves as one batch, each span after the spans it encloses and siblings in
    /// the order they closed — whichever child's vector is handed up and whichever is appended.
    #[test]
    fn an_invocation_leaves_as_one_batch_children_first_in_closing_order() {
        let sink = crate::xray::MemorySpanSink::default();
        let layer = XrayLayer::with_span_sink(sink.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            {
                let _a = tracing::info_span!("a").entered();
                drop(tracing::info_span!("a1").entered());
                let _a2 = tracing::info_span!("a2").entered();
                drop(tracing::info_span!("a2x").entered());
            }
            drop(tracing::info_span!("b").entered());
            let _c = tracing::info_span!("c").entered();
            let _c1 = tracing::info_span!("c1").entered();
            drop(tracing::info_span!("c1x").entered());
        });
        let batches = sink.batches();
        assert_eq!(batches.len(), 1);
        let names: Vec<&str> = batches[0].iter().map(|s| s.name.as_ref()).collect();
        assert_eq!(
            names,
            ["a1", "a2x", "a2", "a", "b", "c1x", "c1", "c", "lambda.invocation"]
        );
    }

    #[test]
    fn debug_spans_are_skipped_and_their_children_nest_above() {
        let docs = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let _internal = tracing::debug_span!("try_attempt").entered();
            let _call = tracing::info_span!(
                "call",
                aws.operation = "GetItem",
                http.request.method = "POST",
                http.response.status = 429u64,
                telemetry.error = true,
                telemetry.throttle = true
            )
            .entered();
        });
        assert_eq!(docs.len(), 1, "nested through the skipped span");
        let calls = docs[0]["subsegments"].as_array().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["name"], "call");
        assert_eq!(calls[0]["aws"], serde_json::json!({"operation": "GetItem"}));
        assert_eq!(
            calls[0]["http"],
            serde_json::json!({"request": {"method": "POST"}, "response": {"status": 429}})
        );
        assert_eq!(
            (&calls[0]["error"], &calls[0]["throttle"]),
            (&Value::Bool(true), &Value::Bool(true))
        );
        assert!(calls[0].get("metadata").is_none());
    }

    /// A timeout the SDK interceptor classes as a fault (S3's `RequestTimeout` comes as a 400) is a
    /// fault only: the 4xx status adds no `error` beside the crate's own classification.
    #[test]
    fn a_timeout_on_a_4xx_status_is_a_fault_not_an_error_too() {
        let docs = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let _call = tracing::info_span!(
                "S3.PutObject",
                aws.operation = "PutObject",
                http.response.status = 400u64,
                telemetry.fault = true
            )
            .entered();
        });
        let call = &docs[0]["subsegments"][0];
        assert_eq!(call["fault"], true, "{call}");
        assert!(call.get("error").is_none_or(|e| e == false), "{call}");
    }

    #[test]
    fn nothing_when_unsampled_or_outside_invocation() {
        let docs = run(|| {
            let _outside = tracing::info_span!("init").entered();
            drop(_outside);
            let header = HEADER.replace("Sampled=1", "Sampled=0");
            let _inv =
                tracing::info_span!("lambda.invocation", telemetry.trace_header = header.as_str()).entered();
            let _a = tracing::info_span!("work").entered();
        });
        assert!(docs.is_empty());
    }

    #[test]
    fn root_sampling_starts_an_xray_format_trace() {
        let sink = MemorySink::default();
        let subscriber =
            tracing_subscriber::registry().with(XrayLayer::new(sink.clone()).with_root_sampling(true));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = "").entered();
            let _a = tracing::info_span!("work").entered();
        });
        let docs = sink.documents();
        assert_eq!(docs.len(), 1);
        let trace = docs[0]["trace_id"].as_str().unwrap();
        // `1-{8 hex epoch seconds}-{24 hex}`, the seconds within a minute of now.
        let secs = u64::from_str_radix(&trace[2..10], 16).unwrap();
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.abs_diff(secs) < 60, "{trace}");
        assert!(TraceHeader::parse(&format!("Root={trace}")).is_ok());
        assert!(
            docs[0].get("parent_id").is_none() && docs[0].get("type").is_none(),
            "a root segment"
        );
        assert_eq!(docs[0]["subsegments"][0]["name"], "work");
        // Without root sampling, no context means no trace.
        assert!(run(|| drop(tracing::info_span!("lambda.invocation").entered())).is_empty());
    }

    #[test]
    fn annotation_budget_is_per_invocation() {
        let docs = run(|| {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            for i in 0..60 {
                let s = tracing::info_span!("step", annotation.n = tracing::field::Empty);
                s.record("annotation.n", i);
            }
        });
        let steps = docs[0]["subsegments"].as_array().unwrap();
        let annotated = steps.iter().filter(|d| d.get("annotations").is_some()).count();
        assert_eq!(annotated, 50);
        assert_eq!(steps.len(), 60);
        assert_eq!(
            steps[59]["metadata"]["default"]["n"], 59,
            "over the budget: metadata"
        );
    }
}
