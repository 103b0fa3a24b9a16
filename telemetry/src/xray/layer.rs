//! `tracing` spans → X-Ray subsegments of Lambda's own segment.

use super::exporter::SegmentSink;
use super::header::{TraceHeader, xray_trace_id};
use super::segment::{
    AnnotationValue, MAX_ANNOTATION_VALUE, MAX_ANNOTATIONS, Subsegment, annotation_key, segment_name,
    truncate_chars,
};
use crate::clock::{Clock, SystemClock, epoch_seconds_f64, random_u64};
use crate::context::INVOCATION_SPAN;
use opentelemetry::{SpanId, TraceId};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Field prefix that turns a span field into an annotation (`annotation.card_grade = "PSA 10"`).
pub const ANNOTATION_PREFIX: &str = "annotation.";

#[derive(Debug)]
struct SpanRecord {
    id: SpanId,
    trace: TraceId,
    parent: SpanId,
    lineage: Option<Arc<str>>,
    start: SystemTime,
    doc: Subsegment,
    annotation_budget: Arc<AtomicUsize>,
}

/// Turns spans inside a sampled invocation into X-Ray subsegments and hands each finished one to a
/// [`SegmentSink`]. Spans outside an invocation, or in an invocation whose header says `Sampled=0`,
/// produce nothing.
///
/// Field mapping: `annotation.*` fields → annotations (≤ 50 per invocation, keys sanitised; beyond that,
/// metadata); `xray.namespace` → `namespace`; `otel.name` → the subsegment name; `aws.*` → the `aws`
/// object; `http.request.method`, `http.request.url`, `http.response.status`,
/// `http.response.content_length` → the `http` object; `telemetry.error`, `telemetry.fault`,
/// `telemetry.throttle` → the flags; every other field → metadata under `default`. An ERROR event
/// inside a span marks it `fault`. DEBUG and TRACE spans — library internals such as the AWS SDK's
/// orchestrator spans — are not exported; their children hang under the nearest exported ancestor.
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
    sink: Arc<dyn SegmentSink>,
    clock: Arc<dyn Clock>,
}

impl XrayLayer {
    /// A layer sending to `sink`.
    #[must_use]
    pub fn new(sink: impl SegmentSink) -> Self {
        Self {
            sink: Arc::new(sink),
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses `clock` for start and end times.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

fn new_span_id() -> SpanId {
    loop {
        let id = SpanId::from_bytes(random_u64().to_be_bytes());
        if id != SpanId::INVALID {
            return id;
        }
    }
}

#[derive(Default)]
struct JsonFields(Vec<(&'static str, Value)>);

impl Visit for JsonFields {
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.0.push((
            f.name(),
            serde_json::Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number),
        ));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.push((f.name(), Value::from(v)));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.push((f.name(), Value::from(v)));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.push((f.name(), Value::Bool(v)));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.push((f.name(), Value::String(v.to_owned())));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.0.push((f.name(), Value::String(format!("{v:?}"))));
    }
}

fn apply(rec: &mut SpanRecord, fields: Vec<(&'static str, Value)>) {
    for (name, value) in fields {
        match name {
            "telemetry.fault" => rec.doc.fault = value == Value::Bool(true),
            "telemetry.error" => rec.doc.error = value == Value::Bool(true),
            "telemetry.throttle" => rec.doc.throttle = value == Value::Bool(true),
            "http.request.method" | "http.request.url" => {
                let request = rec
                    .doc
                    .http
                    .get_or_insert_default()
                    .request
                    .get_or_insert_default();
                let text = value.as_str().map(str::to_owned);
                if name == "http.request.method" {
                    request.method = text;
                } else {
                    request.url = text;
                }
            }
            "http.response.status" | "http.response.content_length" => {
                let response = rec
                    .doc
                    .http
                    .get_or_insert_default()
                    .response
                    .get_or_insert_default();
                if name == "http.response.status" {
                    response.status = value.as_u64().and_then(|v| u16::try_from(v).ok());
                } else {
                    response.content_length = value.as_u64();
                }
            }
            n if n.starts_with("aws.") => {
                rec.doc.aws.insert(n["aws.".len()..].to_owned(), value);
            }
            "xray.namespace" => rec.doc.namespace = value.as_str().map(str::to_owned),
            "otel.name" => {
                if let Some(n) = value.as_str() {
                    rec.doc.name = segment_name(n);
                }
            }
            n if n.starts_with("telemetry.") => {}
            // The log context of the invocation span: X-Ray already knows the trace, the function and the
            // request (Lambda's own segment); only the correlation id is worth indexing.
            "function_request_id" | "function_arn" | "xray_trace_id" | "cold_start" => {}
            n if n.starts_with(ANNOTATION_PREFIX) || n == "correlation_id" => {
                let key = annotation_key(n.strip_prefix(ANNOTATION_PREFIX).unwrap_or(n));
                let ann = match &value {
                    Value::String(s) => Some(AnnotationValue::Str(truncate_chars(s, MAX_ANNOTATION_VALUE))),
                    Value::Bool(b) => Some(AnnotationValue::Bool(*b)),
                    Value::Number(n) => n
                        .as_i64()
                        .map(AnnotationValue::Int)
                        .or_else(|| n.as_f64().map(AnnotationValue::Num)),
                    _ => None,
                };
                let fresh = !rec.doc.annotations.contains_key(&key);
                let within = !fresh || rec.annotation_budget.fetch_add(1, Ordering::AcqRel) < MAX_ANNOTATIONS;
                match ann {
                    Some(a) if within && !key.is_empty() => {
                        rec.doc.annotations.insert(key, a);
                    }
                    _ => {
                        rec.doc
                            .metadata
                            .entry("default".into())
                            .or_default()
                            .insert(key, value);
                    }
                }
            }
            n => {
                rec.doc
                    .metadata
                    .entry("default".into())
                    .or_default()
                    .insert(n.to_owned(), value);
            }
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for XrayLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = JsonFields::default();
        attrs.record(&mut fields);
        let meta = attrs.metadata();
        if *meta.level() > Level::INFO {
            return;
        }
        let base = if meta.name() == INVOCATION_SPAN {
            let header = fields
                .0
                .iter()
                .find(|(n, _)| *n == "telemetry.trace_header")
                .and_then(|(_, v)| v.as_str())
                .and_then(|h| TraceHeader::parse(h).ok());
            let Some((header, parent)) = header.and_then(|h| h.parent.map(|p| (h, p))) else {
                return;
            };
            if !header.is_sampled() {
                // Nothing to export, but outgoing calls still carry the decision onward.
                span.extensions_mut().insert(Unsampled(header.to_string()));
                return;
            }
            let lineage = header.lineage.as_deref().map(Arc::from);
            (header.root, parent, Arc::new(AtomicUsize::new(0)), lineage)
        } else {
            let Some(ancestor) = span.scope().skip(1).find_map(|s| {
                s.extensions()
                    .get::<SpanRecord>()
                    .map(|r| (r.trace, r.id, Arc::clone(&r.annotation_budget), r.lineage.clone()))
            }) else {
                return;
            };
            ancestor
        };
        let (trace, parent, annotation_budget, lineage) = base;
        let span_id = new_span_id();
        let name = fields
            .0
            .iter()
            .find(|(n, _)| *n == "telemetry.segment_name")
            .and_then(|(_, v)| v.as_str())
            .map_or_else(|| segment_name(meta.name()), segment_name);
        let start = self.clock.now();
        let mut rec = SpanRecord {
            id: span_id,
            trace,
            parent,
            lineage,
            start,
            doc: Subsegment {
                name,
                id: format!("{span_id:016x}"),
                trace_id: Some(xray_trace_id(trace)),
                parent_id: Some(format!("{parent:016x}")),
                kind: Some("subsegment"),
                start_time: epoch_seconds_f64(start),
                end_time: 0.0,
                namespace: None,
                fault: false,
                error: false,
                throttle: false,
                http: None,
                aws: BTreeMap::new(),
                annotations: BTreeMap::new(),
                metadata: BTreeMap::new(),
                subsegments: Vec::new(),
            },
            annotation_budget,
        };
        apply(&mut rec, fields.0);
        span.extensions_mut().insert(rec);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(rec) = ext.get_mut::<SpanRecord>() {
            let mut fields = JsonFields::default();
            values.record(&mut fields);
            apply(rec, fields.0);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR
            || event.metadata().target() == crate::context::CONTROL_TARGET
        {
            return;
        }
        if let Some(span) = ctx.event_span(event)
            && let Some(rec) = span.extensions_mut().get_mut::<SpanRecord>()
        {
            rec.doc.fault = true;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut rec) = span.extensions_mut().remove::<SpanRecord>() else {
            return;
        };
        let end = self.clock.now();
        rec.doc.end_time = epoch_seconds_f64(end).max(epoch_seconds_f64(rec.start));
        // Nest into the nearest exported ancestor while it is open (the registry closes parents after
        // their children), so a whole invocation usually leaves in one datagram.
        if let Some(parent) = span
            .scope()
            .skip(1)
            .find(|s| s.extensions().get::<SpanRecord>().is_some())
            && let Some(p) = parent.extensions_mut().get_mut::<SpanRecord>()
            && p.trace == rec.trace
            && p.id == rec.parent
        {
            let mut doc = rec.doc;
            doc.nest();
            p.doc.subsegments.push(doc);
            return;
        }
        for text in rec.doc.into_documents() {
            self.sink.send(&text);
        }
    }
}

/// The trace header of an unsampled invocation, forwarded as received (`Sampled=0` keeps downstream
/// services from sampling what Lambda decided not to).
#[derive(Debug)]
struct Unsampled(String);

/// The `X-Amzn-Trace-Id` value for an outgoing call made inside the current span: the invocation's
/// `Root` and `Lineage`, `Parent` = the current subsegment, `Sampled=1`. Send it as the
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
    let id = span.id()?;
    tracing::dispatcher::get_default(|dispatch| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(&id)?;
        span.scope().find_map(|s| {
            let ext = s.extensions();
            if let Some(r) = ext.get::<SpanRecord>() {
                let mut h = format!("Root={};Parent={:016x};Sampled=1", xray_trace_id(r.trace), r.id);
                if let Some(l) = &r.lineage {
                    h.push_str(";Lineage=");
                    h.push_str(l);
                }
                return Some(h);
            }
            ext.get::<Unsampled>().map(|u| u.0.clone())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::MemorySink;
    use tracing_subscriber::layer::SubscriberExt;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:1";

    fn run(f: impl FnOnce()) -> Vec<Value> {
        let sink = MemorySink::default();
        let subscriber = tracing_subscriber::registry().with(XrayLayer::new(sink.clone()));
        tracing::subscriber::with_default(subscriber, f);
        sink.documents()
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
        assert!(a.get("fault").is_none());
        assert!(
            inv.get("metadata").is_none(),
            "the log context is not repeated in X-Ray"
        );
        assert_eq!(inv["annotations"]["correlation_id"], "corr-7");
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
