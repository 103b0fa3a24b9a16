//! OpenTelemetry spans → X-Ray subsegment documents: the X-Ray daemon exporter is one reader of the
//! span model, not a second model.
//!
//! Spec: <https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html>. A span whose
//! parent is in the same batch is nested in its parent's `subsegments`; the others are independent
//! subsegments (`type: "subsegment"`, `trace_id`, `parent_id`) — under Lambda's facade segment for the
//! invocation span. A batch (one invocation) usually leaves as one datagram.
//!
//! This is the model writer: every batch can take it, and it is the oracle the direct writer
//! ([`XraySegmentExporter`](super::XraySegmentExporter)'s usual path) is tested against.
//!
//! Attribute mapping ([`role`](super::batch::role)): `annotation.*` and `correlation_id` → annotations (≤ 50 per batch, keys
//! sanitised; beyond that, metadata); `xray.namespace` → `namespace`; `aws.*` (not `aws.lambda.*`) →
//! the `aws` object; `http.request.method`, `http.request.url` (or `url.full` without userinfo, query
//! and fragment), `http.response.status` (or `http.response.status_code`),
//! `http.response.content_length` → `http`; the flags from the HTTP status code when it is an error
//! (4xx `error`, 429 `error` + `throttle`, 5xx `fault`), else an Error status → `fault`, plus
//! `telemetry.fault`/`.error`/`.throttle`; the invocation's log
//! context and the `faas.*`/`cloud.*` conventions are left out (Lambda's own segment has them); every
//! other attribute → metadata under `default`; span links (an SQS batch's messages) → metadata
//! `otel.links` (`trace_id` in X-Ray form, `id`, the link's attributes).

use super::batch::{Flags, MAX_NESTING, Role, Tree, is_namespace, is_true, role, segment_url, whole_number};
use super::header::{span_id_hex, xray_trace_id};
use super::segment::{
    AnnotationValue, Cause, Exception, MAX_ANNOTATION_VALUE, MAX_ANNOTATIONS, MAX_EXCEPTION_MESSAGE,
    MAX_EXCEPTIONS, Subsegment, annotation_key, segment_name, truncate_chars,
};
use crate::clock::epoch_seconds_f64;
use opentelemetry::trace::Status;
use opentelemetry::{SpanId, Value as OtelValue};
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

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
        fault: false,
        error: false,
        throttle: false,
        cause: None,
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
    // Whether the span carries the crate's own error classification (`telemetry.error`/`.throttle`).
    let mut classified = false;
    for kv in std::mem::take(&mut span.attributes) {
        let name = kv.key.as_str();
        let value = kv.value;
        match role(name) {
            // The crate's own fault (a timeout, whatever its status: S3's `RequestTimeout` is a 400)
            // is a classification too: the status code adds no `error` beside it.
            Role::Fault => {
                let fault = is_true(&value);
                doc.fault |= fault;
                classified |= fault;
            }
            Role::Error => {
                doc.error = is_true(&value);
                classified = true;
            }
            Role::Throttle => {
                doc.throttle = is_true(&value);
                classified = true;
            }
            r @ (Role::HttpMethod | Role::HttpUrl | Role::UrlFull) => {
                let request = doc.http.get_or_insert_default().request.get_or_insert_default();
                let text = Some(if r == Role::UrlFull {
                    segment_url(&value.as_str()).into_owned()
                } else {
                    String::from(value.as_str())
                });
                if r == Role::HttpMethod {
                    request.method = text;
                } else {
                    request.url = text;
                }
            }
            r @ (Role::HttpStatus | Role::HttpContentLength) => {
                let response = doc.http.get_or_insert_default().response.get_or_insert_default();
                let n = whole_number(&value);
                if r == Role::HttpContentLength {
                    response.content_length = n;
                } else {
                    response.status = n.and_then(|v| u16::try_from(v).ok());
                }
            }
            Role::Namespace if is_namespace(&value) => doc.namespace = Some(String::from(value.as_str())),
            Role::Namespace => {
                default_meta.insert(name.to_owned(), json_owned(value));
            }
            Role::Aws(key) => {
                doc.aws.insert(key.to_owned(), json_owned(value));
            }
            Role::Skip => {}
            Role::Annotation(key) => {
                let key = annotation_key(key);
                let ann = match &value {
                    OtelValue::String(s) => Some(AnnotationValue::Str(truncate_chars(
                        s.as_str(),
                        MAX_ANNOTATION_VALUE,
                    ))),
                    OtelValue::Bool(b) => Some(AnnotationValue::Bool(*b)),
                    OtelValue::I64(i) => Some(AnnotationValue::Int(*i)),
                    OtelValue::F64(f) if f.is_finite() => Some(AnnotationValue::Num(*f)),
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
            Role::Metadata => {
                default_meta.insert(name.to_owned(), json_owned(value));
            }
        }
    }
    if !default_meta.is_empty() {
        doc.metadata.insert("default".to_owned(), default_meta);
    }
    let code = doc
        .http
        .as_ref()
        .and_then(|h| h.response.as_ref())
        .and_then(|r| r.status);
    let outcome = Flags::of_outcome(code, matches!(span.status, Status::Error { .. }), classified);
    doc.fault |= outcome.fault;
    doc.error |= outcome.error;
    doc.throttle |= outcome.throttle;
    let exceptions: Vec<Exception> = exceptions(span)
        .map(|(id, message, kind)| Exception {
            id,
            message: message.into_owned(),
            kind: kind.map(Cow::into_owned),
        })
        .collect();
    if !exceptions.is_empty() {
        doc.cause = Some(Cause { exceptions });
    }
    doc
}

/// A span's `cause.exceptions` as `(id, message, type)`: its OpenTelemetry `exception` events
/// (`exception.message`, `exception.type`; the semantic conventions' names), else — an error status with
/// a description (a handler's error, an `ERROR` event inside the span) — that description. At most
/// [`MAX_EXCEPTIONS`], messages cut to [`MAX_EXCEPTION_MESSAGE`] characters; ids are derived from the
/// span id, so each is unique in the trace and the same in both document writers.
pub(crate) fn exceptions(
    span: &SpanData,
) -> impl Iterator<Item = (String, Cow<'_, str>, Option<Cow<'_, str>>)> {
    fn attr<'e>(e: &'e opentelemetry::trace::Event, key: &str) -> Option<Cow<'e, str>> {
        e.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str())
    }
    let from_events: Vec<(Cow<'_, str>, Option<Cow<'_, str>>)> = span
        .events
        .iter()
        .filter(|e| e.name == "exception")
        .map(|e| {
            (
                attr(e, "exception.message").unwrap_or_default(),
                attr(e, "exception.type"),
            )
        })
        .take(MAX_EXCEPTIONS)
        .collect();
    let listed: Vec<(Cow<'_, str>, Option<Cow<'_, str>>)> = if from_events.is_empty() {
        match &span.status {
            Status::Error { description } if !description.is_empty() => {
                vec![(Cow::Borrowed(description.as_ref()), None)]
            }
            _ => Vec::new(),
        }
    } else {
        from_events
    };
    let base = u64::from_be_bytes(span.span_context.span_id().to_bytes());
    listed.into_iter().enumerate().map(move |(i, (message, kind))| {
        // Another 16-hex id per exception: the span id mixed with the index (never zero).
        let id = (base ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)).max(1);
        (
            format!("{id:016x}"),
            truncate_cow(message, MAX_EXCEPTION_MESSAGE),
            kind.map(|k| truncate_cow(k, 200)),
        )
    })
}

fn truncate_cow(s: Cow<'_, str>, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        Some((at, _)) => Cow::Owned(s[..at].to_owned()),
        None => s,
    }
}

/// The documents for a batch: each span nested under its parent when the parent is in the batch,
/// children in the order they finished. Annotations count against one budget of
/// [`MAX_ANNOTATIONS`] per batch (X-Ray's limit is per trace: the daemon exporter carries it from
/// an invocation's early batches to its last, [`super::XraySegmentExporter`]).
#[must_use]
pub fn subsegments(batch: Vec<SpanData>) -> Vec<Subsegment> {
    let tree = Tree::of(&batch);
    subsegments_after(batch, &tree, 0).0
}

/// [`subsegments`] for a batch whose tree is known, with `spent` of the trace's [`MAX_ANNOTATIONS`] already used (by the spans of
/// an earlier batch of the same invocation); also returns how many this batch used.
pub(crate) fn subsegments_after(
    mut batch: Vec<SpanData>,
    tree: &Tree,
    spent: usize,
) -> (Vec<Subsegment>, usize) {
    let mut budget = spent;
    // Annotations are assigned in start order, so the first 50 spans of an invocation keep theirs.
    let mut by_start: Vec<usize> = (0..batch.len()).collect();
    // The position breaks ties: spans starting together keep the batch's order.
    crate::sort::sort_by_key(&mut by_start, |&i| (batch[i].start_time, i));
    // Nested documents carry no trace id, parent id or type: only roots get them.
    let mut docs: Vec<Option<Subsegment>> = vec![None; batch.len()];
    for i in by_start {
        docs[i] = Some(document(&mut batch[i], &mut budget, tree.is_nested(i)));
    }
    fn build(i: usize, docs: &mut [Option<Subsegment>], tree: &Tree, depth: usize) -> Option<Subsegment> {
        let mut doc = docs[i].take()?;
        // A cycle cannot come from real parent ids; the depth bound keeps hostile input finite.
        if depth < MAX_NESTING {
            for &c in tree.children(i) {
                if let Some(mut child) = build(c, docs, tree, depth + 1) {
                    child.nest();
                    doc.subsegments.push(child);
                }
            }
        }
        Some(doc)
    }
    let mut out: Vec<Subsegment> = tree
        .roots()
        .iter()
        .filter_map(|&r| build(r, &mut docs, tree, 0))
        .collect();
    // Whatever a cycle left unreached still leaves, on its own.
    out.extend(docs.into_iter().zip(&batch).filter_map(|(doc, span)| {
        let mut doc = doc?;
        make_independent(&mut doc, span);
        Some(doc)
    }));
    (out, budget.saturating_sub(spent))
}
