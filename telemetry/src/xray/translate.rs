//! OpenTelemetry spans → X-Ray subsegment documents: the X-Ray daemon exporter is one reader of the
//! span model, not a second model.
//!
//! Spec: <https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html>. A span whose
//! parent is in the same batch is nested in its parent's `subsegments`; the others are independent
//! subsegments (`type: "subsegment"`, `trace_id`, `parent_id`) — under Lambda's facade segment for the
//! invocation span. A batch (one invocation) usually leaves as one datagram.
//!
//! Attribute mapping: `annotation.*` and `correlation_id` → annotations (≤ 50 per batch, keys
//! sanitised; beyond that, metadata); `xray.namespace` → `namespace`; `aws.*` (not `aws.lambda.*`) →
//! the `aws` object; `http.request.method`, `http.request.url`, `http.response.status` (or
//! `http.response.status_code`), `http.response.content_length` → `http`; `telemetry.error`,
//! `telemetry.throttle` and an error status (or `telemetry.fault`) → the flags; the invocation's log
//! context and the `faas.*`/`cloud.*` conventions are left out (Lambda's own segment has them); every
//! other attribute → metadata under `default`; span links (an SQS batch's messages) → metadata
//! `otel.links` (`trace_id` in X-Ray form, `id`, the link's attributes).

use super::exporter::SegmentSink;
use super::header::{span_id_hex, xray_trace_id};
use super::segment::{
    AnnotationValue, MAX_ANNOTATION_VALUE, MAX_ANNOTATIONS, MAX_DOCUMENT_BYTES, Subsegment, annotation_key,
    segment_name, truncate_chars,
};
use super::spans::SpanSink;
use crate::clock::epoch_seconds_f64;
use opentelemetry::trace::Status;
use opentelemetry::{SpanId, Value as OtelValue};
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Field prefix that turns a span field into an annotation (`annotation.card_grade = "PSA 10"`).
pub const ANNOTATION_PREFIX: &str = "annotation.";

/// The X-Ray daemon exporter: translates each batch of spans into subsegment documents and hands
/// them to a [`SegmentSink`] (the UDP daemon, or memory in tests).
#[derive(Debug, Clone)]
pub struct XraySegmentExporter {
    sink: Arc<dyn SegmentSink>,
}

impl XraySegmentExporter {
    /// An exporter writing to `sink`.
    #[must_use]
    pub fn new(sink: impl SegmentSink) -> Self {
        Self { sink: Arc::new(sink) }
    }
}

impl SpanSink for XraySegmentExporter {
    fn export(&self, batch: Vec<SpanData>) {
        for doc in subsegments(batch) {
            // Usually the whole invocation fits one document: serialise it straight into the sink's
            // datagram. Only a document over 64 kB takes the splitting path.
            let mut fits = false;
            self.sink.send_with(&mut |buf| {
                let start = buf.len();
                fits =
                    serde_json::to_writer(&mut *buf, &doc).is_ok() && buf.len() - start <= MAX_DOCUMENT_BYTES;
                fits
            });
            if !fits {
                for text in doc.into_documents() {
                    self.sink.send(&text);
                }
            }
        }
    }
}

/// JSON for an OpenTelemetry attribute value.
pub(crate) fn json_value(v: &OtelValue) -> Value {
    match v {
        OtelValue::Bool(b) => Value::Bool(*b),
        OtelValue::I64(i) => Value::from(*i),
        OtelValue::F64(f) => {
            serde_json::Number::from_f64(*f).map_or_else(|| Value::String(f.to_string()), Value::Number)
        }
        OtelValue::String(s) => Value::String(s.as_str().to_owned()),
        other => Value::String(other.to_string()),
    }
}

fn is_true(v: &OtelValue) -> bool {
    matches!(v, OtelValue::Bool(true))
}

/// JSON for an attribute value, moving its string.
fn json_owned(v: OtelValue) -> Value {
    match v {
        OtelValue::String(s) => Value::String(s.into()),
        other => json_value(&other),
    }
}

/// The trace id, parent id and `type` of a document sent on its own (a nested one carries none).
fn make_independent(doc: &mut Subsegment, span: &SpanData) {
    let parent = span.parent_span_id;
    doc.trace_id = Some(xray_trace_id(span.span_context.trace_id()));
    doc.parent_id = (parent != SpanId::INVALID).then(|| span_id_hex(parent));
    doc.kind = (parent != SpanId::INVALID).then_some("subsegment");
}

fn document(span: &mut SpanData, budget: &mut usize, nested: bool) -> Subsegment {
    let mut doc = Subsegment {
        name: segment_name(&span.name),
        id: span_id_hex(span.span_context.span_id()),
        trace_id: None,
        parent_id: None,
        kind: None,
        start_time: epoch_seconds_f64(span.start_time),
        end_time: epoch_seconds_f64(span.end_time).max(epoch_seconds_f64(span.start_time)),
        namespace: None,
        fault: matches!(span.status, Status::Error { .. }),
        error: false,
        throttle: false,
        http: None,
        aws: BTreeMap::new(),
        annotations: BTreeMap::new(),
        metadata: BTreeMap::new(),
        subsegments: Vec::new(),
    };
    if !nested {
        make_independent(&mut doc, span);
    }
    if !span.links.is_empty() {
        // Segment documents have no span links; keep them readable beside the subsegment.
        let links = span
            .links
            .iter()
            .map(|l| {
                let mut link = serde_json::Map::new();
                link.insert(
                    "trace_id".into(),
                    Value::String(xray_trace_id(l.span_context.trace_id())),
                );
                link.insert("id".into(), Value::String(span_id_hex(l.span_context.span_id())));
                for kv in &l.attributes {
                    link.insert(kv.key.as_str().to_owned(), json_value(&kv.value));
                }
                Value::Object(link)
            })
            .collect();
        doc.metadata
            .entry("otel".into())
            .or_default()
            .insert("links".into(), Value::Array(links));
    }
    // Metadata under `default`, moved into the document once at the end.
    let mut default_meta: BTreeMap<String, Value> = BTreeMap::new();
    for kv in std::mem::take(&mut span.attributes) {
        let name = kv.key.as_str();
        let value = kv.value;
        match name {
            "telemetry.fault" => doc.fault |= is_true(&value),
            "telemetry.error" => doc.error = is_true(&value),
            "telemetry.throttle" => doc.throttle = is_true(&value),
            "http.request.method" | "http.request.url" => {
                let request = doc.http.get_or_insert_default().request.get_or_insert_default();
                let text = Some(String::from(value.as_str()));
                if name == "http.request.method" {
                    request.method = text;
                } else {
                    request.url = text;
                }
            }
            "http.response.status" | "http.response.status_code" | "http.response.content_length" => {
                let response = doc.http.get_or_insert_default().response.get_or_insert_default();
                let n = match &value {
                    OtelValue::I64(i) => u64::try_from(*i).ok(),
                    OtelValue::String(s) => s.as_str().parse().ok(),
                    _ => None,
                };
                if name == "http.response.content_length" {
                    response.content_length = n;
                } else {
                    response.status = n.and_then(|v| u16::try_from(v).ok());
                }
            }
            "xray.namespace" => doc.namespace = Some(String::from(value.as_str())),
            n if n.starts_with("aws.lambda.") || n.starts_with("faas.") || n.starts_with("cloud.") => {}
            n if n.starts_with("aws.") => {
                doc.aws.insert(n["aws.".len()..].to_owned(), json_owned(value));
            }
            n if n.starts_with("telemetry.") || n.starts_with("otel.") => {}
            // The log context of the invocation span: X-Ray already knows the trace, the function and the
            // request (Lambda's own segment); only the correlation id is worth indexing.
            "function_request_id" | "function_arn" | "xray_trace_id" | "cold_start" => {}
            n if n.starts_with(ANNOTATION_PREFIX) || n == "correlation_id" => {
                let key = annotation_key(n.strip_prefix(ANNOTATION_PREFIX).unwrap_or(n));
                let ann = match &value {
                    OtelValue::String(s) => Some(AnnotationValue::Str(truncate_chars(
                        s.as_str(),
                        MAX_ANNOTATION_VALUE,
                    ))),
                    OtelValue::Bool(b) => Some(AnnotationValue::Bool(*b)),
                    OtelValue::I64(i) => Some(AnnotationValue::Int(*i)),
                    OtelValue::F64(f) => Some(AnnotationValue::Num(*f)),
                    _ => None,
                };
                let fresh = !doc.annotations.contains_key(&key);
                let within = !fresh || *budget < MAX_ANNOTATIONS;
                match ann {
                    Some(a) if within && !key.is_empty() => {
                        if fresh {
                            *budget += 1;
                        }
                        doc.annotations.insert(key, a);
                    }
                    _ => {
                        default_meta.insert(key, json_owned(value));
                    }
                }
            }
            n => {
                default_meta.insert(n.to_owned(), json_owned(value));
            }
        }
    }
    if !default_meta.is_empty() {
        doc.metadata.insert("default".to_owned(), default_meta);
    }
    doc
}

/// The documents for a batch: each span nested under its parent when the parent is in the batch,
/// children in the order they finished. Annotations count against one budget of
/// [`MAX_ANNOTATIONS`] per batch (X-Ray's limit is per trace).
#[must_use]
pub fn subsegments(mut batch: Vec<SpanData>) -> Vec<Subsegment> {
    let mut budget = 0usize;
    // Annotations are assigned in start order, so the first 50 spans of an invocation keep theirs.
    let mut by_start: Vec<usize> = (0..batch.len()).collect();
    by_start.sort_by_key(|&i| batch[i].start_time);
    // An invocation's batch is a handful of spans: a scan beats building a map.
    let index: Option<HashMap<SpanId, usize>> = (batch.len() > 32).then(|| {
        batch
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_context.span_id(), i))
            .collect()
    });
    let find = |id: SpanId| match &index {
        Some(map) => map.get(&id).copied(),
        None => batch.iter().position(|s| s.span_context.span_id() == id),
    };
    let parent_of: Vec<Option<usize>> = batch
        .iter()
        .map(|s| {
            find(s.parent_span_id).filter(|&p| batch[p].span_context.trace_id() == s.span_context.trace_id())
        })
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); batch.len()];
    let mut roots = Vec::new();
    for (i, p) in parent_of.iter().enumerate() {
        match p {
            Some(p) if *p != i => children[*p].push(i),
            _ => roots.push(i),
        }
    }
    // Nested documents carry no trace id, parent id or type: only roots get them.
    let mut docs: Vec<Option<Subsegment>> = vec![None; batch.len()];
    for i in by_start {
        let nested = parent_of[i].is_some_and(|p| p != i);
        docs[i] = Some(document(&mut batch[i], &mut budget, nested));
    }
    fn build(
        i: usize,
        docs: &mut [Option<Subsegment>],
        children: &[Vec<usize>],
        depth: usize,
    ) -> Option<Subsegment> {
        let mut doc = docs[i].take()?;
        // A cycle cannot come from real parent ids; the depth bound keeps hostile input finite.
        if depth < 64 {
            for &c in &children[i] {
                if let Some(mut child) = build(c, docs, children, depth + 1) {
                    child.nest();
                    doc.subsegments.push(child);
                }
            }
        }
        Some(doc)
    }
    let mut out: Vec<Subsegment> = roots
        .into_iter()
        .filter_map(|r| build(r, &mut docs, &children, 0))
        .collect();
    // Whatever a cycle left unreached still leaves, on its own.
    out.extend(docs.into_iter().zip(&batch).filter_map(|(doc, span)| {
        let mut doc = doc?;
        make_independent(&mut doc, span);
        Some(doc)
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::MemorySink;
    use opentelemetry::trace::{SpanContext, SpanKind, TraceFlags, TraceState};
    use opentelemetry::{KeyValue, TraceId};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::time::{Duration, UNIX_EPOCH};

    fn span(id: u64, parent: u64, attributes: Vec<KeyValue>) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
                SpanId::from_bytes(id.to_be_bytes()),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from_bytes(parent.to_be_bytes()),
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: format!("s{id}").into(),
            start_time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + id),
            end_time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_100),
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: opentelemetry::InstrumentationScope::builder("t").build(),
        }
    }

    /// What the exporter sent, as text, for `batch`.
    fn exported(batch: Vec<SpanData>) -> Vec<String> {
        let sink = MemorySink::default();
        XraySegmentExporter::new(sink.clone()).export(batch);
        sink.documents().iter().map(Value::to_string).collect()
    }

    #[test]
    fn the_direct_path_sends_what_the_documents_serialise_to() {
        let batch = vec![
            span(2, 1, vec![KeyValue::new("card_id", "c-1")]),
            span(
                1,
                0x53995c3f42cd8ad8,
                vec![KeyValue::new("annotation.grade", "PSA 10")],
            ),
        ];
        let expected: Vec<String> = subsegments(batch.clone())
            .into_iter()
            .flat_map(Subsegment::into_documents)
            .map(|t| serde_json::from_str::<Value>(&t).unwrap().to_string())
            .collect();
        let sent = exported(batch);
        assert_eq!(sent, expected);
        let doc: Value = serde_json::from_str(&sent[0]).unwrap();
        assert_eq!(doc["id"], "0000000000000001");
        assert_eq!(doc["parent_id"], "53995c3f42cd8ad8");
        assert_eq!(doc["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        let child = &doc["subsegments"][0];
        assert_eq!(child["id"], "0000000000000002");
        assert!(
            child.get("trace_id").is_none()
                && child.get("parent_id").is_none()
                && child.get("type").is_none(),
            "nested: {child}"
        );
    }

    #[test]
    fn oversize_batches_still_split_and_cycles_still_leave() {
        let big = |id| span(id, 1, vec![KeyValue::new("big", "x".repeat(40_000))]);
        let sent = exported(vec![big(2), big(3), span(1, 0x53995c3f42cd8ad8, Vec::new())]);
        assert_eq!(sent.len(), 3);
        for text in &sent {
            let doc: Value = serde_json::from_str(text).unwrap();
            assert!(text.len() <= MAX_DOCUMENT_BYTES);
            assert_eq!(doc["type"], "subsegment", "each sent on its own: {}", doc["id"]);
            assert_eq!(doc["trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        }
        // Parent ids that form a cycle (never from real spans): each document still leaves, complete.
        let docs = subsegments(vec![span(7, 8, Vec::new()), span(8, 7, Vec::new())]);
        assert_eq!(docs.len(), 2);
        for d in docs {
            assert!(
                d.trace_id.is_some() && d.parent_id.is_some() && d.kind.is_some(),
                "{d:?}"
            );
        }
    }
}
