//! The global OpenTelemetry `TracerProvider`: spans a library makes with the OpenTelemetry API get
//! X-Ray ids, the current `tracing` span (or Lambda's segment) as parent, and leave with the
//! invocation's batch through the same sinks as `tracing` spans.
//!
//! The sampler is `ParentBased(AlwaysOff)` unless `OTEL_TRACES_SAMPLER` says otherwise (the SDK reads
//! it): inside an invocation the parent is the invocation's context, so Lambda's `Sampled` decides;
//! outside one, no stray root traces.
//!
//! Library spans leave the process as `tracing` spans do: redacted ([`crate::redact`]) before they
//! join the batch — attribute values, the span name, event names and attributes, the status
//! description and link attributes.

use crate::redact::{REDACTED, Redactor, ScanBudget, default_redactor, is_card_number, is_card_number_f64};
use crate::xray::SpanSink;
use opentelemetry::trace::Status;
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, Span, SpanData, SpanProcessor};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// A span processor handing each ended span to the invocation it belongs to (see
/// [`XrayLayer`](crate::xray::XrayLayer)), or straight to the sink when it belongs to none.
#[derive(Debug, Clone)]
pub struct SinkProcessor {
    sink: Arc<dyn SpanSink>,
}

impl SinkProcessor {
    /// A processor exporting to `sink`.
    #[must_use]
    pub fn new(sink: Arc<dyn SpanSink>) -> Self {
        Self { sink }
    }
}

/// How long [`SinkProcessor::force_flush`] waits at most: OpenTelemetry's default export timeout
/// (`OTEL_BSP_EXPORT_TIMEOUT`, 30 s) — the sink's own timeout (OTLP/HTTP: 10 s) usually ends it first.
pub const FORCE_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

impl SinkProcessor {
    fn flushed(&self, timeout: Duration) -> OTelSdkResult {
        if self.sink.flush(timeout) {
            Ok(())
        } else {
            Err(opentelemetry_sdk::error::OTelSdkError::Timeout(timeout))
        }
    }
}

impl SpanProcessor for SinkProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, mut span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        redact_span(&mut span);
        let now = crate::xray::adopt(span);
        if !now.is_empty() {
            self.sink.export(now);
        }
    }

    /// Waits for what the sink holds (an OTLP/HTTP queue), at most [`FORCE_FLUSH_TIMEOUT`]; the
    /// spans of open invocations are not finished yet and leave with them.
    fn force_flush(&self) -> OTelSdkResult {
        self.flushed(FORCE_FLUSH_TIMEOUT)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.flushed(timeout)
    }
}

/// Redacts a library span with the default rules, on one scan budget for the whole span.
fn redact_span(span: &mut SpanData) {
    let r = default_redactor();
    let budget = r.budget();
    redact_text(r, &budget, &mut span.name);
    redact_attributes(r, &budget, &mut span.attributes);
    for event in &mut span.events.events {
        redact_text(r, &budget, &mut event.name);
        redact_attributes(r, &budget, &mut event.attributes);
    }
    for link in &mut span.links.links {
        redact_attributes(r, &budget, &mut link.attributes);
    }
    if let Status::Error { description } = &mut span.status {
        redact_text(r, &budget, description);
    }
}

fn redact_text(r: &Redactor, budget: &ScanBudget, text: &mut Cow<'static, str>) {
    if let Cow::Owned(clean) = r.redact_within(text, budget) {
        *text = Cow::Owned(clean);
    }
}

/// Every value under a denied key, string values by content, integers that are card numbers.
fn redact_attributes(r: &Redactor, budget: &ScanBudget, attributes: &mut [KeyValue]) {
    let redacted = || Value::String(StringValue::from(REDACTED));
    for kv in attributes {
        if r.is_denied_field(kv.key.as_str()) {
            kv.value = redacted();
            continue;
        }
        match &mut kv.value {
            Value::String(v) => redact_string(r, budget, v),
            Value::I64(n) if is_card_number(u128::from(n.unsigned_abs())) => kv.value = redacted(),
            Value::F64(f) if is_card_number_f64(*f) => kv.value = redacted(),
            Value::Array(Array::String(items)) => {
                for v in items {
                    redact_string(r, budget, v);
                }
            }
            Value::Array(Array::I64(items))
                if items.iter().any(|n| is_card_number(u128::from(n.unsigned_abs()))) =>
            {
                kv.value = redacted();
            }
            Value::Array(Array::F64(items)) if items.iter().any(|f| is_card_number_f64(*f)) => {
                kv.value = redacted();
            }
            _ => {}
        }
    }
}

fn redact_string(r: &Redactor, budget: &ScanBudget, v: &mut StringValue) {
    if let Cow::Owned(clean) = r.redact_within(v.as_str(), budget) {
        *v = StringValue::from(clean);
    }
}

/// Builds the provider (X-Ray ids, `resource`, [`SinkProcessor`] on `sink`) and installs it as the
/// global one. Keep the returned handle to shut it down; dropping it does not uninstall it.
///
/// ```
/// use opentelemetry::trace::{Tracer, TracerProvider};
/// let sink = telemetry::xray::MemorySpanSink::default();
/// let provider = telemetry::otel::install_provider(std::sync::Arc::new(sink.clone()), opentelemetry_sdk::Resource::builder_empty().build());
/// // Outside an invocation nothing is sampled.
/// provider.tracer("lib").in_span("orphan", |_| {});
/// assert!(sink.spans().is_empty());
/// ```
#[must_use]
pub fn install_provider(sink: Arc<dyn SpanSink>, resource: Resource) -> SdkTracerProvider {
    let provider = build_provider(sink, resource);
    opentelemetry::global::set_tracer_provider(provider.clone());
    provider
}

/// Like [`install_provider`], without making it global (tests).
#[must_use]
pub fn build_provider(sink: Arc<dyn SpanSink>, resource: Resource) -> SdkTracerProvider {
    let mut builder = SdkTracerProvider::builder()
        .with_id_generator(super::XrayIdGenerator)
        .with_span_processor(SinkProcessor::new(sink))
        .with_resource(resource);
    let env = |k: &str| std::env::var(k).ok();
    builder = builder.with_sampler(sampler(
        env("OTEL_TRACES_SAMPLER").as_deref(),
        env("OTEL_TRACES_SAMPLER_ARG").as_deref(),
    ));
    builder.build()
}

/// What [`sampler`] ignores in `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, as warnings: the SDK
/// environment variable spec has an unknown name warned about and ignored ("MUST generate a
/// warning and gracefully ignore the setting"), and an invalid argument "logged and otherwise
/// ignored".
///
/// ```
/// use telemetry::otel::provider::sampler_warnings;
/// assert!(sampler_warnings(Some("parentbased_traceidratio"), Some("0.25")).is_empty());
/// assert_eq!(sampler_warnings(Some("parentbased_traceidration"), None).len(), 1);
/// assert_eq!(sampler_warnings(Some("traceidratio"), Some("1.5")).len(), 1);
/// ```
#[must_use]
pub fn sampler_warnings(value: Option<&str>, arg: Option<&str>) -> Vec<String> {
    read_sampler(value, arg).1
}

/// The sampler `OTEL_TRACES_SAMPLER` names, read as the SDK environment variable spec asks: names
/// case-insensitive and trimmed, empty = unset, `OTEL_TRACES_SAMPLER_ARG` the ratio (0–1, default
/// 1). Unset, `parentbased_always_off` and names this crate does not implement (`xray`,
/// `jaeger_remote`) give the default `ParentBased(AlwaysOff)`: in Lambda, Lambda's segment decides.
fn sampler(value: Option<&str>, arg: Option<&str>) -> Sampler {
    read_sampler(value, arg).0
}

/// [`sampler`] and [`sampler_warnings`], read once.
fn read_sampler(value: Option<&str>, arg: Option<&str>) -> (Sampler, Vec<String>) {
    let mut warnings = Vec::new();
    let mut ratio = || match arg.map(str::trim).filter(|a| !a.is_empty()) {
        None => 1.0,
        Some(a) => a
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .unwrap_or_else(|| {
                warnings.push(format!(
                    "OTEL_TRACES_SAMPLER_ARG: {a:?} is not a ratio from 0 to 1; ignored, 1.0 is used"
                ));
                1.0
            }),
    };
    let parent_based = |s: Sampler| Sampler::ParentBased(Box::new(s));
    let name = value.map(|v| v.trim().to_ascii_lowercase());
    let sampler = match name.as_deref() {
        // One decision per trace: `tracing` spans follow the invocation's (Lambda's `Sampled`), so a
        // library span inside an invocation follows its parent too — else an unsampled invocation
        // would export library spans alone, parentless, and a sampled one lose some of them. The
        // sampler decides roots, as named.
        Some("always_on") => parent_based(Sampler::AlwaysOn),
        Some("always_off") => Sampler::AlwaysOff,
        Some("traceidratio") => parent_based(Sampler::TraceIdRatioBased(ratio())),
        Some("parentbased_always_on") => parent_based(Sampler::AlwaysOn),
        Some("parentbased_traceidratio") => parent_based(Sampler::TraceIdRatioBased(ratio())),
        None | Some("" | "parentbased_always_off") => parent_based(Sampler::AlwaysOff),
        Some(known @ ("xray" | "jaeger_remote" | "parentbased_jaeger_remote")) => {
            warnings.push(format!(
                "OTEL_TRACES_SAMPLER: sampler {known:?} is not implemented; parentbased_always_off is used"
            ));
            parent_based(Sampler::AlwaysOff)
        }
        Some(other) => {
            warnings.push(format!(
                "OTEL_TRACES_SAMPLER: {other:?} is not a sampler (always_on, always_off, traceidratio, \
                 parentbased_always_on, parentbased_always_off, parentbased_traceidratio); \
                 parentbased_always_off is used"
            ));
            parent_based(Sampler::AlwaysOff)
        }
    };
    (sampler, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::{MemorySpanSink, XrayLayer};
    use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer, TracerProvider};
    use tracing_subscriber::layer::SubscriberExt;

    const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn run(header: &str) -> Vec<Vec<SpanData>> {
        let sink = MemorySpanSink::default();
        let shared: Arc<dyn SpanSink> = Arc::new(sink.clone());
        let provider = build_provider(Arc::clone(&shared), Resource::builder_empty().build());
        let tracer = provider.tracer("a-library");
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(shared));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = header).entered();
            let _work = tracing::info_span!("price_card").entered();
            // A library's own span, made with the OpenTelemetry API inside a tracing span.
            tracer.in_span("library.call", |cx| {
                assert!(cx.span().span_context().is_valid());
            });
            let nested = tracer
                .span_builder("library.client")
                .with_kind(SpanKind::Client)
                .start(&tracer);
            drop(nested);
        });
        sink.batches()
    }

    /// SDK environment variables: sampler names are case-insensitive, empty is unset (the
    /// `ParentBased(AlwaysOff)` default, not the SDK's AlwaysOn fallback for a value it does not
    /// know), `OTEL_TRACES_SAMPLER_ARG` is the ratio, 1 when missing or out of range.
    #[test]
    fn sampler_names_are_read_as_the_spec_says() {
        let name = |v: Option<&str>, a: Option<&str>| format!("{:?}", sampler(v, a));
        let default = name(None, None);
        assert!(
            default.contains("ParentBased") && default.contains("AlwaysOff"),
            "{default}"
        );
        for unset in [Some(""), Some("  "), Some("parentbased_always_off"), Some("xray")] {
            assert_eq!(name(unset, None), default, "{unset:?}");
        }
        assert_eq!(
            name(Some(" Always_Off "), None),
            format!("{:?}", Sampler::AlwaysOff)
        );
        // One decision per trace: inside an invocation a library span follows its parent (the
        // invocation's, which Lambda's `Sampled` made); the named sampler decides roots.
        let parent_based = |s: Sampler| format!("{:?}", Sampler::ParentBased(Box::new(s)));
        assert_eq!(name(Some("ALWAYS_ON"), None), parent_based(Sampler::AlwaysOn));
        assert_eq!(
            name(Some("TraceIdRatio"), Some("0.25")),
            parent_based(Sampler::TraceIdRatioBased(0.25))
        );
        assert_eq!(
            name(Some("traceidratio"), Some("2")),
            parent_based(Sampler::TraceIdRatioBased(1.0))
        );
        assert_eq!(
            name(Some("ParentBased_TraceIdRatio"), Some("0.5")),
            format!(
                "{:?}",
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.5)))
            )
        );
    }

    #[test]
    fn api_spans_join_the_invocation_batch_with_correct_parents() {
        let batches = run(HEADER);
        assert_eq!(batches.len(), 1, "one batch for the invocation: {batches:?}");
        let spans = &batches[0];
        let by_name = |n: &str| spans.iter().find(|s| s.name == n).unwrap();
        let inv = by_name("lambda.invocation");
        let work = by_name("price_card");
        let lib = by_name("library.call");
        let client = by_name("library.client");
        let root = opentelemetry::TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
        for s in [inv, work, lib, client] {
            assert_eq!(s.span_context.trace_id(), root, "{}", s.name);
            assert!(s.span_context.is_sampled());
        }
        assert_eq!(format!("{:016x}", inv.parent_span_id), "53995c3f42cd8ad8");
        assert!(inv.parent_span_is_remote);
        assert_eq!(work.parent_span_id, inv.span_context.span_id());
        assert_eq!(lib.parent_span_id, work.span_context.span_id());
        assert_eq!(client.parent_span_id, work.span_context.span_id());
        assert_eq!(client.span_kind, SpanKind::Client);
        assert_eq!(lib.instrumentation_scope.name(), "a-library");
    }

    #[test]
    fn tracing_spans_inside_an_api_span_are_its_children() {
        let sink = MemorySpanSink::default();
        let shared: Arc<dyn SpanSink> = Arc::new(sink.clone());
        let provider = build_provider(Arc::clone(&shared), Resource::builder_empty().build());
        let tracer = provider.tracer("a-library");
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(shared));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let work = tracing::info_span!("price_card");
            let _work = work.clone().entered();
            // A library opens its own span and calls back into code instrumented with `tracing`.
            tracer.in_span("library.call", |_| {
                let _cb = tracing::info_span!("callback").entered();
                let _deeper = tracing::info_span!("callback.step").entered();
                // An explicit parent is kept as given.
                drop(tracing::info_span!(parent: &work, "explicit").entered());
            });
            // Once the library's span has ended, new spans hang under the tracing span again.
            drop(tracing::info_span!("after").entered());
        });
        let batches = sink.batches();
        assert_eq!(batches.len(), 1, "one batch for the invocation: {batches:?}");
        let spans = &batches[0];
        let by_name = |n: &str| spans.iter().find(|s| s.name == n).unwrap();
        let work = by_name("price_card");
        let lib = by_name("library.call");
        let cb = by_name("callback");
        let deeper = by_name("callback.step");
        assert_eq!(lib.parent_span_id, work.span_context.span_id());
        assert_eq!(
            cb.parent_span_id,
            lib.span_context.span_id(),
            "child of the API span"
        );
        assert!(!cb.parent_span_is_remote);
        assert_eq!(deeper.parent_span_id, cb.span_context.span_id());
        assert_eq!(by_name("explicit").parent_span_id, work.span_context.span_id());
        assert_eq!(by_name("after").parent_span_id, work.span_context.span_id());
        for s in [cb, deeper] {
            assert_eq!(s.span_context.trace_id(), work.span_context.trace_id());
        }
    }

    /// An async span is entered once per poll, and may be entered by tasks that carry OpenTelemetry
    /// contexts of their own: each enter makes the span current over the context current at that
    /// enter (values, suppression), and each exit restores it.
    #[test]
    fn each_enter_makes_the_span_current_over_the_context_of_that_moment() {
        #[derive(Debug, PartialEq)]
        struct Tenant(&'static str);
        let sink = MemorySpanSink::default();
        let shared: Arc<dyn SpanSink> = Arc::new(sink.clone());
        let provider = build_provider(Arc::clone(&shared), Resource::builder_empty().build());
        let tracer = provider.tracer("a-library");
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(shared));
        let seen = || {
            let cx = opentelemetry::Context::current();
            (
                cx.span().span_context().span_id(),
                cx.get::<Tenant>().map(|t| t.0),
            )
        };
        let (outer, first, second) = tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let outer = seen();
            let work = tracing::info_span!("price_card");
            let first = {
                let _a = opentelemetry::Context::current_with_value(Tenant("a")).attach();
                work.in_scope(|| {
                    tracer.in_span("first.poll", |_| {});
                    seen()
                })
            };
            assert_eq!(seen(), outer, "an exit restores the outer context");
            let second = {
                let _b = opentelemetry::Context::current_with_value(Tenant("b")).attach();
                work.in_scope(|| {
                    tracer.in_span("second.poll", |_| {});
                    seen()
                })
            };
            (outer, first, second)
        });
        assert_eq!(first.1, Some("a"));
        assert_eq!(
            second.1,
            Some("b"),
            "the second enter's own context, not the first's"
        );
        assert_eq!(first.0, second.0, "the same span both times");
        assert_ne!(first.0, outer.0);
        let batches = sink.batches();
        assert_eq!(batches.len(), 1, "{batches:?}");
        let by_name = |n: &str| batches[0].iter().find(|s| s.name == n).unwrap();
        let work = by_name("price_card");
        assert_eq!(work.span_context.span_id(), first.0);
        for poll in ["first.poll", "second.poll"] {
            assert_eq!(
                by_name(poll).parent_span_id,
                work.span_context.span_id(),
                "{poll}"
            );
        }
    }

    #[test]
    fn in_xray_the_tracing_span_nests_under_the_api_span() {
        let sink = crate::xray::MemorySink::default();
        let exporter: Arc<dyn SpanSink> = Arc::new(crate::xray::XraySegmentExporter::new(sink.clone()));
        let provider = build_provider(Arc::clone(&exporter), Resource::builder_empty().build());
        let tracer = provider.tracer("a-library");
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(exporter));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            tracer.in_span("library.call", |_| {
                drop(tracing::info_span!("callback").entered());
            });
        });
        let docs = sink.documents();
        assert_eq!(docs.len(), 1, "{docs:?}");
        let lib = &docs[0]["subsegments"][0];
        assert_eq!(lib["name"], "library.call");
        assert_eq!(lib["subsegments"][0]["name"], "callback");
    }

    #[test]
    fn library_spans_are_redacted_before_they_leave() {
        use opentelemetry::trace::{Link, Span as _, SpanContext, TraceState};
        let sink = MemorySpanSink::default();
        let shared: Arc<dyn SpanSink> = Arc::new(sink.clone());
        let provider = build_provider(Arc::clone(&shared), Resource::builder_empty().build());
        let tracer = provider.tracer("a-library");
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(shared));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            let linked = SpanContext::new(
                opentelemetry::TraceId::from_hex("5759e988bd862e3fe1be46a994272794").unwrap(),
                opentelemetry::SpanId::from_hex("53995c3f42cd8ad9").unwrap(),
                opentelemetry::trace::TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            );
            let mut span = tracer
                .span_builder("GET https://api.x.io/v1?token=t-name-1")
                .with_kind(SpanKind::Client)
                .with_links(vec![Link::new(
                    linked,
                    vec![KeyValue::new("messaging.url", "https://q/x?api_key=k-link-1")],
                    0,
                )])
                .start(&tracer);
            span.set_attribute(KeyValue::new(
                "url.full",
                "https://api.x.io/v1?api_key=k-123&page=2",
            ));
            // Not hex: the span's random ids are in the text searched below.
            span.set_attribute(KeyValue::new(
                "http.request.header.authorization",
                "Bearer q-auth-7",
            ));
            span.set_attribute(KeyValue::new(
                "http.request.header.cookie",
                Value::Array(Array::String(vec!["sid=S3SS10N".into()])),
            ));
            span.set_attribute(KeyValue::new("card", 4_111_111_111_111_111i64));
            span.set_attribute(KeyValue::new("charge.total", 5_555_555_555_554_444.0f64));
            span.set_attribute(KeyValue::new("charge.amount", 120.5f64));
            span.set_attribute(KeyValue::new("http.response.status_code", 401i64));
            span.add_event(
                "exception",
                vec![KeyValue::new(
                    "exception.message",
                    "denied for bob@example.com, password=p-evt-1",
                )],
            );
            span.set_status(Status::error("upstream said token=t-status-1"));
            span.end();
        });
        let batches = sink.batches();
        let lib = batches[0]
            .iter()
            .find(|s| s.instrumentation_scope.name() == "a-library")
            .unwrap();
        let attr = |k: &str| {
            lib.attributes
                .iter()
                .find(|a| a.key.as_str() == k)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(
            attr("url.full").as_str(),
            "https://api.x.io/v1?api_key=[REDACTED]&page=2"
        );
        assert_eq!(attr("http.request.header.authorization").as_str(), "[REDACTED]");
        assert_eq!(attr("http.request.header.cookie").as_str(), "[REDACTED]");
        assert_eq!(attr("card").as_str(), "[REDACTED]");
        assert_eq!(
            attr("charge.total").as_str(),
            "[REDACTED]",
            "a whole float that is a card number"
        );
        assert_eq!(attr("charge.amount"), Value::F64(120.5), "look-alikes stay");
        assert_eq!(
            attr("http.response.status_code"),
            Value::I64(401),
            "look-alikes stay"
        );
        let everything = format!("{lib:?}");
        for secret in [
            "k-123",
            "q-auth-7",
            "S3SS10N",
            "4111111111111111",
            "t-name-1",
            "bob@example.com",
            "p-evt-1",
            "t-status-1",
            "k-link-1",
        ] {
            assert!(!everything.contains(secret), "{secret} leaked: {everything}");
        }
        assert_eq!(lib.name, "GET https://api.x.io/v1?token=[REDACTED]");
    }

    #[cfg(feature = "otlp")]
    #[test]
    fn library_spans_leave_over_otlp_without_their_secrets() {
        use base64::Engine as _;
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use opentelemetry_proto::tonic::common::v1::any_value;
        use prost::Message as _;
        let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        daemon.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let exporter: Arc<dyn SpanSink> = Arc::new(
            crate::otel::otlp::OtlpUdpExporter::new(
                &daemon.local_addr().unwrap().to_string(),
                Resource::builder_empty().build(),
            )
            .unwrap(),
        );
        let provider = build_provider(Arc::clone(&exporter), Resource::builder_empty().build());
        let tracer = provider.tracer("a-library");
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(exporter));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
            tracer.in_span("GET", |cx| {
                cx.span()
                    .set_attribute(KeyValue::new("url.full", "https://x/y?api_key=k-123"));
                cx.span()
                    .set_attribute(KeyValue::new("http.request.header.authorization", "Bearer abc"));
            });
        });
        let mut buf = vec![0u8; 65_536];
        let n = daemon.recv(&mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let b64 = text.split_once('\n').unwrap().1.strip_prefix("T1S").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let req = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
        let spans: Vec<_> = req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect();
        let lib = spans
            .iter()
            .find(|s| s.name == "GET")
            .expect("the library span is exported");
        let attr = |k: &str| {
            let kv = lib.attributes.iter().find(|a| a.key == k).unwrap();
            match kv.value.as_ref().and_then(|v| v.value.clone()) {
                Some(any_value::Value::StringValue(s)) => s,
                other => panic!("{k}: {other:?}"),
            }
        };
        assert_eq!(attr("url.full"), "https://x/y?api_key=[REDACTED]");
        assert_eq!(attr("http.request.header.authorization"), "[REDACTED]");
        assert!(!format!("{spans:?}").contains("k-123"));
        assert!(!format!("{spans:?}").contains("Bearer abc"));
    }

    #[test]
    fn unsampled_invocation_and_no_invocation_export_nothing() {
        assert!(run(&HEADER.replace("Sampled=1", "Sampled=0")).is_empty());
        let sink = MemorySpanSink::default();
        let provider = build_provider(Arc::new(sink.clone()), Resource::builder_empty().build());
        provider.tracer("lib").in_span("orphan", |_| {});
        assert!(sink.spans().is_empty());
    }
}
