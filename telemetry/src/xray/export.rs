//! The X-Ray daemon exporter: a batch of spans (one invocation) → subsegment documents → a
//! [`SegmentSink`].
//!
//! The usual batch — one tree of spans under the invocation span, no span links, at most
//! [`MAX_ANNOTATIONS`] annotation attributes, under 64 kB — is written as JSON straight from the span
//! data into the sink's datagram buffer: no [`Subsegment`](super::Subsegment) model, no maps, no
//! `serde_json::Value`s. Every other batch takes the model writer ([`subsegments`](super::subsegments)),
//! which splits oversize documents and keeps the annotation budget across several roots. Both read the
//! batch's shape and each attribute's place from `batch`, and a property test holds the direct output
//! byte for byte to the model's.

use super::batch::{Flags, Role, Tree, is_namespace, is_true, role, segment_url, whole_number};
use super::exporter::SegmentSink;
use super::header::{span_id_ascii, xray_trace_id_ascii};
use super::segment::{
    MAX_ANNOTATION_VALUE, MAX_ANNOTATIONS, MAX_DOCUMENT_BYTES, annotation_key_cow, segment_name_cow,
    truncated,
};
use super::spans::SpanSink;
use super::translate::subsegments_after;
use crate::clock::{epoch_micros_parts, epoch_seconds_f64};
use opentelemetry::trace::Status;
use opentelemetry::{SpanId, Value as OtelValue};
use opentelemetry_sdk::trace::SpanData;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The X-Ray daemon exporter: translates each batch of spans into subsegment documents and hands
/// them to a [`SegmentSink`] (the UDP daemon, or memory in tests).
///
/// X-Ray indexes at most [`MAX_ANNOTATIONS`] annotations a trace. An invocation of more than
/// [`MAX_HELD_SPANS`](super::layer) spans leaves in several batches (its spans in early ones, the
/// invocation span in the last): the exporter carries what the early ones used to the next, and
/// keeps [`INVOCATION_RESERVE`] of the budget for the invocation span's own (`ColdStart`, `Service`,
/// the correlation id), so a trace never carries more than X-Ray indexes and the invocation's are
/// never the ones it drops.
#[derive(Debug, Clone)]
pub struct XraySegmentExporter {
    sink: Arc<dyn SegmentSink>,
    spent: Arc<SpentAnnotations>,
}

/// The annotations early batches used, per trace still open (at most [`MAX_OPEN_TRACES`], oldest
/// forgotten first: a span that outlives its invocation leaves in a batch no last one follows).
#[derive(Debug, Default)]
struct SpentAnnotations {
    /// Whether `traces` holds any: a batch of a trace with no early one reads no lock.
    any: AtomicBool,
    traces: Mutex<Vec<(opentelemetry::TraceId, usize)>>,
}

/// What an invocation's early batches leave of the annotation budget for the invocation span's own.
pub(crate) const INVOCATION_RESERVE: usize = 10;
/// Most traces [`SpentAnnotations`] follows at once.
const MAX_OPEN_TRACES: usize = 64;

impl SpentAnnotations {
    /// The trace's count, taken out of the ledger when `last`.
    fn spent(&self, trace: opentelemetry::TraceId, last: bool) -> usize {
        if !self.any.load(Ordering::Acquire) {
            return 0;
        }
        let mut traces = self
            .traces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(at) = traces.iter().position(|(t, _)| *t == trace) else {
            return 0;
        };
        let spent = traces[at].1;
        if last {
            traces.remove(at);
            self.any.store(!traces.is_empty(), Ordering::Release);
        }
        spent
    }

    /// Adds `used` to the trace's count.
    fn add(&self, trace: opentelemetry::TraceId, used: usize) {
        let mut traces = self
            .traces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match traces.iter_mut().find(|(t, _)| *t == trace) {
            Some((_, spent)) => *spent += used,
            None => {
                if traces.len() >= MAX_OPEN_TRACES {
                    traces.remove(0);
                }
                traces.push((trace, used));
            }
        }
        self.any.store(true, Ordering::Release);
    }
}

impl XraySegmentExporter {
    /// An exporter writing to `sink`.
    #[must_use]
    pub fn new(sink: impl SegmentSink) -> Self {
        Self {
            sink: Arc::new(sink),
            spent: Arc::default(),
        }
    }
}

/// Whether `batch` is an early part of an open span's spans: every root's parent is a local span
/// not in the batch (the invocation span's parent is Lambda's segment, remote; a root span of a
/// process outside Lambda has none).
fn is_early(batch: &[SpanData], tree: &Tree) -> bool {
    let roots = tree.roots();
    !roots.is_empty()
        && roots.iter().all(|&r| {
            let s = &batch[r];
            !s.parent_span_is_remote && s.parent_span_id != SpanId::INVALID
        })
}

/// Annotation attributes of `batch`, as the model counts them (each span's distinct keys).
fn annotations_of(batch: &[SpanData]) -> usize {
    batch
        .iter()
        .map(|span| {
            let mut keys: Vec<Cow<'_, str>> = span
                .attributes
                .iter()
                .filter_map(|kv| match role(kv.key.as_str()) {
                    Role::Annotation(key) if annotatable(&kv.value) => {
                        Some(annotation_key_cow(key)).filter(|k| !k.is_empty())
                    }
                    _ => None,
                })
                .collect();
            crate::sort::sort(&mut keys);
            keys.dedup();
            keys.len()
        })
        .sum()
}

impl SpanSink for XraySegmentExporter {
    fn export(&self, batch: Vec<SpanData>) {
        let tree = Tree::of(&batch);
        let Some(trace) = batch.first().map(|s| s.span_context.trace_id()) else {
            return;
        };
        let early = is_early(&batch, &tree);
        // What this batch starts from: the trace's earlier batches' annotations, and for an early one
        // the invocation span's reserve too.
        let spent = self.spent.spent(trace, !early);
        let start = if early { spent + INVOCATION_RESERVE } else { spent };
        if let Some(root) = direct_root(&batch, &tree, start) {
            let mut fits = false;
            self.sink.send_with(&mut |buf| {
                let start = buf.len();
                write_document(&batch, &tree, root, false, buf, &mut Members::default());
                fits = buf.len() - start <= MAX_DOCUMENT_BYTES;
                fits
            });
            if fits {
                if early {
                    self.spent.add(trace, annotations_of(&batch));
                }
                super::spans::give_back(batch);
                return;
            }
        }
        let (docs, used) = subsegments_after(batch, &tree, start);
        if early {
            self.spent.add(trace, used);
        }
        for doc in docs {
            // Serialise straight into the sink's datagram; only a document over 64 kB is split.
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

/// The root to write the batch under as one document, when the direct writer produces what the
/// model would: one tree, no span links (their metadata is a JSON object the model builds), and
/// no more annotation attributes than the budget leaves after `spent` (so none is moved to metadata).
fn direct_root(batch: &[SpanData], tree: &Tree, spent: usize) -> Option<usize> {
    let budget = MAX_ANNOTATIONS.saturating_sub(spent);
    let root = tree.single_root()?;
    if batch.iter().any(|span| !span.links.is_empty()) {
        return None;
    }
    // No more attributes than the budget (an invocation's batch): no more annotations either.
    let attributes: usize = batch.iter().map(|span| span.attributes.len()).sum();
    let annotations = if attributes <= budget {
        attributes
    } else {
        batch
            .iter()
            .flat_map(|span| &span.attributes)
            .filter(|kv| matches!(role(kv.key.as_str()), Role::Annotation(_)))
            .count()
    };
    (annotations <= budget).then_some(root)
}

/// A JSON string.
fn string(buf: &mut Vec<u8>, s: &str) {
    crate::json::write_str(buf, s);
}

/// A JSON number as serde_json writes an `f64` (`null` when not finite): its own shortest-float
/// formatter, without the serializer around it (two per span: its start and end).
fn float(buf: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        buf.extend_from_slice(zmij::Buffer::new().format_finite(f).as_bytes());
    } else {
        buf.extend_from_slice(b"null");
    }
}

/// A `start_time`/`end_time`: [`epoch_seconds_f64`] as serde_json writes it. Between 2^30 and 2^32
/// seconds (2004 to 2106) that double's shortest form is its whole-microsecond decimal, trailing
/// zeros cut (`.0` when none is left), so the digits are written from the integers instead of
/// through the float formatter; a property test holds the two equal.
fn timestamp(buf: &mut Vec<u8>, t: std::time::SystemTime) {
    let (secs, micros) = epoch_micros_parts(t);
    // Ten digits, the point, six: from 2^30 to 2^32 seconds every time is written this long.
    let Some(secs) = u32::try_from(secs).ok().filter(|s| *s >= 1 << 30) else {
        float(buf, epoch_seconds_f64(t));
        return;
    };
    let mut text = [b'.'; 17];
    pairs(&mut text[..10], secs);
    pairs(&mut text[11..], micros);
    // Trailing zeros cut; a whole second keeps one (`1796631678.0`, as serde_json writes 1796631678.0).
    let zeros = text[11..].iter().rev().take_while(|&&d| d == b'0').count().min(5);
    buf.extend_from_slice(&text[..17 - zeros]);
}

/// `"00".."99"`, the two digits of each number below 100.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        // Both below 10.
        #[allow(clippy::cast_possible_truncation)]
        {
            t[2 * i] = b'0' + (i / 10) as u8;
            t[2 * i + 1] = b'0' + (i % 10) as u8;
        }
        i += 1;
    }
    t
};

/// The last `out.len()` (even) decimal digits of `n`, zero-padded, two at a time.
fn pairs(out: &mut [u8], mut n: u32) {
    for pair in out.rchunks_exact_mut(2) {
        let d = (n % 100) as usize * 2;
        n /= 100;
        pair.copy_from_slice(&DIGIT_PAIRS[d..d + 2]);
    }
}

/// `"` + `ascii` + `"`.
fn quoted(buf: &mut Vec<u8>, ascii: &[u8]) {
    buf.push(b'"');
    buf.extend_from_slice(ascii);
    buf.push(b'"');
}

/// An attribute value as the model's metadata and `aws` members hold it (`json_owned`): numbers that
/// are not finite, and arrays, as text.
fn value(buf: &mut Vec<u8>, v: &OtelValue) {
    match v {
        OtelValue::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
        OtelValue::I64(i) => {
            let _ = serde_json::to_writer(&mut *buf, i);
        }
        OtelValue::F64(f) if f.is_finite() => float(buf, *f),
        OtelValue::String(s) => string(buf, s.as_str()),
        other => string(buf, &other.to_string()),
    }
}

/// An annotation value (a string cut to its limit, a number, a boolean).
fn annotation(buf: &mut Vec<u8>, v: &OtelValue) {
    match v {
        OtelValue::String(s) => string(buf, truncated(s.as_str(), MAX_ANNOTATION_VALUE)),
        OtelValue::F64(f) => float(buf, *f),
        other => value(buf, other),
    }
}

/// Whether an annotation can hold `v` (otherwise it is metadata): the values the model's
/// `AnnotationValue` has a variant for.
fn annotatable(v: &OtelValue) -> bool {
    match v {
        OtelValue::String(_) | OtelValue::Bool(_) | OtelValue::I64(_) => true,
        // JSON has no NaN or infinity: such a number is metadata, written as its text.
        OtelValue::F64(f) => f.is_finite(),
        _ => false,
    }
}

/// Sorts by key, keeping the last of each key (a map's insert order: the last write wins).
fn last_per_key<K: AsRef<str>, V>(entries: &mut Vec<(K, V)>) {
    if entries.len() > 1 {
        // Reversed, the last write of a key comes first, and the stable sort keeps it first.
        entries.reverse();
        crate::sort::stable_sort_by(entries, |a, b| a.0.as_ref() < b.0.as_ref());
        entries.dedup_by(|later, earlier| later.0.as_ref() == earlier.0.as_ref());
    }
}

/// `,"key":{…}` with each entry written by `write`; nothing when there are none.
fn object<K: AsRef<str>, V>(
    buf: &mut Vec<u8>,
    key: &[u8],
    entries: &[(K, V)],
    write: impl Fn(&mut Vec<u8>, &V),
) {
    if entries.is_empty() {
        return;
    }
    buf.extend_from_slice(key);
    buf.push(b'{');
    for (n, (k, v)) in entries.iter().enumerate() {
        if n > 0 {
            buf.push(b',');
        }
        string(buf, k.as_ref());
        buf.push(b':');
        write(buf, v);
    }
    buf.push(b'}');
}

/// A document's `aws`, `annotations` and `metadata` members as gathered from its span's attributes:
/// one set of vectors serves a whole batch (a parent's are written before its children are gathered).
#[derive(Default)]
struct Members<'a> {
    aws: Vec<(&'a str, &'a OtelValue)>,
    annotations: Vec<(Cow<'a, str>, &'a OtelValue)>,
    metadata: Vec<(Cow<'a, str>, &'a OtelValue)>,
}

/// Span `i`'s document, its children nested, in the model's member order.
fn write_document<'a>(
    batch: &'a [SpanData],
    tree: &Tree,
    i: usize,
    nested: bool,
    buf: &mut Vec<u8>,
    members: &mut Members<'a>,
) {
    let span = &batch[i];
    buf.extend_from_slice(b"{\"name\":");
    string(buf, &segment_name_cow(&span.name));
    buf.extend_from_slice(b",\"id\":");
    quoted(buf, &span_id_ascii(span.span_context.span_id()));
    if !nested {
        buf.extend_from_slice(b",\"trace_id\":");
        quoted(buf, &xray_trace_id_ascii(span.span_context.trace_id()));
        if span.parent_span_id != SpanId::INVALID {
            buf.extend_from_slice(b",\"parent_id\":");
            quoted(buf, &span_id_ascii(span.parent_span_id));
            buf.extend_from_slice(b",\"type\":\"subsegment\"");
        }
    }
    buf.extend_from_slice(b",\"start_time\":");
    timestamp(buf, span.start_time);
    buf.extend_from_slice(b",\"end_time\":");
    timestamp(buf, span.end_time.max(span.start_time));

    let (mut fault, mut error, mut throttle) = (false, false, false);
    // Whether the span carries the crate's own error classification (`telemetry.error`/`.throttle`).
    let mut classified = false;
    let (mut method, mut url, mut namespace) = (None, None, None);
    // `status`, `content_length` of a response, once one of them is named.
    let mut response: Option<(Option<u16>, Option<u64>)> = None;
    let Members {
        aws,
        annotations,
        metadata,
    } = members;
    aws.clear();
    annotations.clear();
    metadata.clear();
    for kv in &span.attributes {
        let v = &kv.value;
        match role(kv.key.as_str()) {
            // As in `translate`: the crate's own fault (a timeout on S3's 400 `RequestTimeout`) is a
            // classification, so the status code adds no `error` beside it.
            Role::Fault => {
                let set = is_true(v);
                fault |= set;
                classified |= set;
            }
            Role::Error => {
                error = is_true(v);
                classified = true;
            }
            Role::Throttle => {
                throttle = is_true(v);
                classified = true;
            }
            Role::HttpMethod => method = Some(v),
            Role::HttpUrl => url = Some(v.as_str()),
            Role::UrlFull => url = Some(Cow::Owned(segment_url(&v.as_str()).into_owned())),
            Role::HttpStatus => {
                response.get_or_insert_default().0 = whole_number(v).and_then(|n| u16::try_from(n).ok());
            }
            Role::HttpContentLength => response.get_or_insert_default().1 = whole_number(v),
            Role::Namespace if is_namespace(v) => namespace = Some(v),
            Role::Namespace => metadata.push((Cow::Borrowed(kv.key.as_str()), v)),
            Role::Aws(key) => aws.push((key, v)),
            Role::Skip => {}
            Role::Annotation(key) => {
                let key = annotation_key_cow(key);
                if annotatable(v) && !key.is_empty() {
                    annotations.push((key, v));
                } else {
                    metadata.push((key, v));
                }
            }
            Role::Metadata => metadata.push((Cow::Borrowed(kv.key.as_str()), v)),
        }
    }
    if let Some(ns) = namespace {
        buf.extend_from_slice(b",\"namespace\":");
        string(buf, &ns.as_str());
    }
    let outcome = Flags::of_outcome(
        response.and_then(|(status, _)| status),
        matches!(span.status, Status::Error { .. }),
        classified,
    );
    fault |= outcome.fault;
    error |= outcome.error;
    throttle |= outcome.throttle;
    for (set, member) in [
        (fault, &b",\"fault\":true"[..]),
        (error, b",\"error\":true"),
        (throttle, b",\"throttle\":true"),
    ] {
        if set {
            buf.extend_from_slice(member);
        }
    }
    if matches!(span.status, Status::Error { .. }) || !span.events.is_empty() {
        let mut exceptions = super::translate::exceptions(span).peekable();
        if exceptions.peek().is_some() {
            buf.extend_from_slice(b",\"cause\":{\"exceptions\":[");
            for (n, (id, message, kind)) in exceptions.enumerate() {
                if n > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(b"{\"id\":");
                quoted(buf, id.as_bytes());
                if !message.is_empty() {
                    buf.extend_from_slice(b",\"message\":");
                    string(buf, message.as_ref());
                }
                if let Some(kind) = kind {
                    buf.extend_from_slice(b",\"type\":");
                    string(buf, kind.as_ref());
                }
                buf.push(b'}');
            }
            buf.extend_from_slice(b"]}");
        }
    }
    if method.is_some() || url.is_some() || response.is_some() {
        buf.extend_from_slice(b",\"http\":{");
        if method.is_some() || url.is_some() {
            buf.extend_from_slice(b"\"request\":{");
            if let Some(m) = method {
                buf.extend_from_slice(b"\"method\":");
                string(buf, &m.as_str());
            }
            if let Some(u) = url {
                buf.extend_from_slice(if method.is_some() {
                    b",\"url\":"
                } else {
                    b"\"url\":"
                });
                string(buf, &u);
            }
            buf.push(b'}');
            if response.is_some() {
                buf.push(b',');
            }
        }
        if let Some((status, length)) = response {
            buf.extend_from_slice(b"\"response\":{");
            if let Some(s) = status {
                buf.extend_from_slice(b"\"status\":");
                let _ = serde_json::to_writer(&mut *buf, &s);
            }
            if let Some(l) = length {
                buf.extend_from_slice(if status.is_some() {
                    b",\"content_length\":"
                } else {
                    b"\"content_length\":"
                });
                let _ = serde_json::to_writer(&mut *buf, &l);
            }
            buf.push(b'}');
        }
        buf.push(b'}');
    }
    last_per_key(aws);
    object(buf, b",\"aws\":", aws, |buf, v| value(buf, v));
    last_per_key(annotations);
    object(buf, b",\"annotations\":", annotations, |buf, v| {
        annotation(buf, v)
    });
    if !metadata.is_empty() {
        last_per_key(metadata);
        buf.extend_from_slice(b",\"metadata\":{");
        object(buf, b"\"default\":", metadata, |buf, v| value(buf, v));
        buf.push(b'}');
    }
    let children = tree.children(i);
    if !children.is_empty() {
        buf.extend_from_slice(b",\"subsegments\":[");
        for (n, &c) in children.iter().enumerate() {
            if n > 0 {
                buf.push(b',');
            }
            write_document(batch, tree, c, true, buf, members);
        }
        buf.push(b']');
    }
    buf.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::{MemorySink, Subsegment, subsegments};
    use opentelemetry::trace::{Link, SpanContext, SpanKind, TraceFlags, TraceState};
    use opentelemetry::{Array, Key, KeyValue, TraceId};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use serde_json::Value;
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

    /// What the exporter sent, as sent, for `batch`.
    fn exported(batch: Vec<SpanData>) -> Vec<String> {
        let sink = MemorySink::default();
        XraySegmentExporter::new(sink.clone()).export(batch);
        sink.texts()
    }

    /// What the model writer makes of `batch`, as text.
    fn modelled(batch: Vec<SpanData>) -> Vec<String> {
        subsegments(batch)
            .into_iter()
            .flat_map(Subsegment::into_documents)
            .collect()
    }

    fn takes_direct_path(batch: &[SpanData]) -> bool {
        direct_root(batch, &Tree::of(batch), 0).is_some()
    }

    proptest! {
        /// A number written as serde_json writes an `f64`, for any value (`null` when not finite).
        #[test]
        fn floats_are_written_as_serde_json_writes_them(f in proptest::num::f64::ANY) {
            let mut buf = Vec::new();
            float(&mut buf, f);
            prop_assert_eq!(String::from_utf8(buf).unwrap(), serde_json::to_string(&f).unwrap());
        }

        /// A timestamp is the decimal of its whole microseconds, written as serde_json writes the
        /// model's `f64` of it: digits from the integers from 2004 to 2106, the float formatter
        /// around them (and on any time before or after).
        #[test]
        fn timestamps_are_their_microseconds_as_serde_json_writes_them(
            secs in prop_oneof![
                4 => (1u64 << 30)..(1u64 << 32),
                1 => Just((1u64 << 30) - 1),
                1 => Just(1u64 << 30),
                1 => Just((1u64 << 32) - 1),
                1 => Just(1u64 << 32),
                1 => 0u64..(1u64 << 40),
            ],
            micros in prop_oneof![
                3 => 0u32..1_000_000,
                1 => (0u32..10).prop_map(|m| m * 100_000),
                1 => (0u32..1000).prop_map(|m| m * 1000),
                1 => Just(999_999u32),
            ],
            nanos in 0u32..1000,
        ) {
            let t = UNIX_EPOCH + Duration::new(secs, micros * 1000 + nanos);
            let mut buf = Vec::new();
            timestamp(&mut buf, t);
            let text = String::from_utf8(buf).unwrap();
            let seconds = epoch_seconds_f64(t);
            prop_assert_eq!(&text, &serde_json::to_string(&seconds).unwrap());
            // The model's double is the one nearest the decimal (what parsing it gives).
            let decimal: f64 = format!("{secs}.{micros:06}").parse().unwrap();
            if (1u64 << 30..1u64 << 32).contains(&secs) {
                prop_assert_eq!(seconds.to_bits(), decimal.to_bits());
            }
        }
    }

    #[test]
    fn timestamps_have_microsecond_resolution() {
        let text = |secs, nanos| {
            let mut buf = Vec::new();
            timestamp(&mut buf, UNIX_EPOCH + Duration::new(secs, nanos));
            String::from_utf8(buf).unwrap()
        };
        assert_eq!(text(1_796_631_678, 968_155_999), "1796631678.968155");
        assert_eq!(text(1_796_631_678, 500_000_000), "1796631678.5");
        assert_eq!(text(1_796_631_678, 999), "1796631678.0");
        assert_eq!(text(1_796_631_678, 1_000), "1796631678.000001");
        // Before the Unix epoch: 0, as the model has it.
        let mut buf = Vec::new();
        timestamp(&mut buf, UNIX_EPOCH - Duration::from_secs(1));
        assert_eq!(buf, b"0.0");
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
        assert!(takes_direct_path(&batch));
        let expected = modelled(batch.clone());
        let sent = exported(batch);
        assert_eq!(sent, expected, "byte for byte");
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

    /// Annotation values are strings, numbers and booleans: a NaN or infinite number (no JSON
    /// number) becomes metadata, written as its text. `namespace` is `aws` or `remote`; another
    /// value goes to metadata. Both writers agree.
    #[test]
    fn non_finite_annotations_and_unknown_namespaces_become_metadata() {
        for (attrs, namespace) in [
            (
                vec![
                    KeyValue::new("annotation.ratio", f64::NAN),
                    KeyValue::new("xray.namespace", "local"),
                ],
                None,
            ),
            (
                vec![
                    KeyValue::new("annotation.ratio", f64::INFINITY),
                    KeyValue::new("xray.namespace", "aws"),
                ],
                Some("aws"),
            ),
            (
                vec![
                    KeyValue::new("annotation.ratio", f64::NEG_INFINITY),
                    KeyValue::new("xray.namespace", "remote"),
                ],
                Some("remote"),
            ),
        ] {
            let batch = vec![span(1, 0x53995c3f42cd8ad8, attrs.clone())];
            let sent = exported(batch.clone());
            assert_eq!(sent, modelled(batch), "byte for byte");
            let doc: Value = serde_json::from_str(&sent[0]).unwrap();
            assert!(doc.get("annotations").is_none(), "{doc}");
            let ratio = attrs[0].value.to_string();
            assert_eq!(doc["metadata"]["default"]["ratio"], Value::String(ratio), "{doc}");
            match namespace {
                Some(ns) => assert_eq!(doc["namespace"], ns),
                None => {
                    assert!(doc.get("namespace").is_none(), "{doc}");
                    assert_eq!(doc["metadata"]["default"]["xray.namespace"], "local");
                }
            }
        }
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

    /// A UDP payload over IPv4 is at most 65,507 bytes and the daemon header takes 29 of them, so a
    /// document of 65,479–65,536 bytes (under X-Ray's 64 kB) never left: split it instead.
    #[test]
    fn a_document_just_under_64_kb_still_reaches_the_daemon() {
        use crate::xray::{DAEMON_HEADER, UdpDaemonSink};
        let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        daemon
            .set_read_timeout(Some(std::time::Duration::from_millis(500)))
            .unwrap();
        let sink = UdpDaemonSink::new(&daemon.local_addr().unwrap().to_string()).unwrap();
        let exporter = XraySegmentExporter::new(sink);
        let child = |id, len| span(id, 1, vec![KeyValue::new("note", "x".repeat(len))]);
        let batch = |pad| {
            vec![
                child(2, 30_000),
                child(3, pad),
                span(1, 0x53995c3f42cd8ad8, Vec::new()),
            ]
        };
        // The whole batch as one document, whatever the limit.
        let one_document = |b| serde_json::to_string(&subsegments(b)[0]).unwrap().len();
        // Pad the second child until that document is 65,500 bytes.
        let pad = 30_000 + 65_500 - one_document(batch(30_000));
        let batch = || batch(pad);
        let whole = one_document(batch());
        assert!(
            (65_479..=64 * 1024).contains(&whole),
            "fits X-Ray's 64 kB, not a datagram: {whole}"
        );
        exporter.export(batch());
        let mut buf = vec![0u8; 70_000];
        let mut ids = Vec::new();
        while let Ok(n) = daemon.recv(&mut buf) {
            let text = std::str::from_utf8(&buf[..n]).unwrap();
            let doc: Value = serde_json::from_str(text.strip_prefix(DAEMON_HEADER).unwrap()).unwrap();
            ids.push(doc["id"].as_str().unwrap().to_owned());
        }
        ids.sort();
        assert_eq!(
            ids,
            ["0000000000000001", "0000000000000002", "0000000000000003"],
            "every span arrives"
        );
    }

    /// Segment documents: `error` is a 4XX, `throttle` a 429, `fault` a 5XX; the collector's
    /// awsxrayexporter reads the HTTP status first, then an Error status. `url.full` (the HTTP client
    /// conventions' URL) is the request URL, without userinfo, query or fragment.
    #[test]
    fn flags_follow_the_http_status_and_url_full_is_the_request_url() {
        let flags = |code: Option<i64>, status: Status| {
            let mut attrs = vec![KeyValue::new(
                "url.full",
                "https://user:pw@api.example.com:8443/v1/cards?api_key=k-123#frag",
            )];
            if let Some(c) = code {
                attrs.push(KeyValue::new("http.response.status_code", c));
            }
            let mut s = span(1, 0x53995c3f42cd8ad8, attrs);
            s.status = status;
            let sent = exported(vec![s.clone()]);
            assert_eq!(sent, modelled(vec![s]), "both writers agree");
            let doc: Value = serde_json::from_str(&sent[0]).unwrap();
            assert_eq!(
                doc["http"]["request"]["url"], "https://api.example.com:8443/v1/cards",
                "{doc}"
            );
            ["fault", "error", "throttle"].map(|f| doc.get(f) == Some(&Value::Bool(true)))
        };
        let error = || Status::error("HTTP error");
        assert_eq!(flags(Some(404), error()), [false, true, false], "4xx: error");
        assert_eq!(
            flags(Some(429), error()),
            [false, true, true],
            "429: error + throttle"
        );
        assert_eq!(
            flags(Some(503), Status::Unset),
            [true, false, false],
            "5xx: fault"
        );
        assert_eq!(flags(Some(503), error()), [true, false, false]);
        assert_eq!(
            flags(None, error()),
            [true, false, false],
            "no status code: Error is a fault"
        );
        assert_eq!(
            flags(Some(200), error()),
            [true, false, false],
            "not an HTTP error: a fault"
        );
        assert_eq!(flags(Some(200), Status::Unset), [false, false, false]);
    }

    #[test]
    fn only_a_batch_the_direct_writer_renders_as_the_model_does_takes_it() {
        let root = || span(1, 0x53995c3f42cd8ad8, Vec::new());
        assert!(takes_direct_path(&[
            span(2, 1, Vec::new()),
            span(3, 2, Vec::new()),
            root()
        ]));
        assert!(!takes_direct_path(&[span(2, 0, Vec::new()), root()]), "two roots");
        assert!(
            !takes_direct_path(&[span(7, 8, Vec::new()), span(8, 7, Vec::new()), root()]),
            "a cycle"
        );
        let many = (0..=MAX_ANNOTATIONS)
            .map(|n| KeyValue::new(format!("annotation.a{n}"), 1_i64))
            .collect();
        assert!(
            !takes_direct_path(&[span(1, 0, many)]),
            "more annotations than the budget"
        );
        let mut linked = root();
        linked.links.links.push(Link::with_context(root().span_context));
        assert!(!takes_direct_path(&[linked]), "span links");
        let deep: Vec<SpanData> = (1..=70).map(|id| span(id, id - 1, Vec::new())).collect();
        assert!(!takes_direct_path(&deep), "nested deeper than X-Ray documents go");
        assert!(takes_direct_path(&deep[..60]));
    }

    const KEYS: &[&str] = &[
        "annotation.grade",
        "annotation.card id-7",
        "annotation.",
        "annotation.é",
        "correlation_id",
        "aws.operation",
        "aws.region",
        "aws.lambda.x",
        "faas.trigger",
        "cloud.region",
        "telemetry.fault",
        "telemetry.error",
        "telemetry.throttle",
        "telemetry.other",
        "otel.status",
        "http.request.method",
        "http.request.url",
        "http.response.status",
        "http.response.status_code",
        "http.response.content_length",
        "xray.namespace",
        "function_arn",
        "cold_start",
        "card_id",
        "a",
        "z",
        "é",
        "url.full",
    ];

    fn attribute_value() -> impl Strategy<Value = OtelValue> {
        prop_oneof![
            any::<bool>().prop_map(OtelValue::Bool),
            any::<i64>().prop_map(OtelValue::I64),
            prop::sample::select(vec![200_i64, -1, 0, 70_000, 429, 404, 503]).prop_map(OtelValue::I64),
            any::<f64>().prop_map(OtelValue::F64),
            prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.1, -0.0, 1e300])
                .prop_map(OtelValue::F64),
            "[a-z0-9 \"\\\\é\u{1F600}\u{7}]{0,12}".prop_map(|s| OtelValue::String(s.into())),
            prop::sample::select(vec![
                "200",
                "70000",
                "-5",
                "GET",
                "https://x/y?q=1",
                "https://u:p@x/y#f",
                "no scheme?q",
                "aws",
                "remote"
            ])
            .prop_map(|s| OtelValue::String(s.into())),
            Just(OtelValue::String("é".repeat(MAX_ANNOTATION_VALUE + 5).into())),
            Just(OtelValue::Array(Array::I64(vec![1, 2]))),
            Just(OtelValue::Array(Array::String(vec!["a\"b".into()]))),
        ]
    }

    /// One span's inputs: parent choice, other trace, name, attributes, status, start and end (ms),
    /// a link.
    type SpanInput = (u8, bool, String, Vec<(usize, OtelValue)>, u8, u16, u16, bool);

    fn span_input() -> impl Strategy<Value = SpanInput> {
        (
            any::<u8>(),
            prop::bool::weighted(0.05),
            prop_oneof![
                "[a-zA-Z0-9_ ./{}:é-]{0,20}",
                Just("a".repeat(250)),
                Just("{}".to_owned())
            ],
            // A few keys often, so that one span names the same key twice.
            prop::collection::vec(
                prop_oneof![
                    (0..KEYS.len(), attribute_value()),
                    (10..13_usize, any::<bool>().prop_map(OtelValue::Bool)),
                    (
                        prop::sample::select(vec![0_usize, 5, 17, 19, 24, 27]),
                        attribute_value()
                    ),
                ],
                0..10,
            ),
            0..4_u8,
            any::<u16>(),
            any::<u16>(),
            prop::bool::weighted(0.05),
        )
    }

    /// Span k's parent is mostly an earlier span (a tree); sometimes none, Lambda's segment, itself or
    /// any span (two roots, cycles).
    fn batch_of(inputs: Vec<SpanInput>) -> Vec<SpanData> {
        let n = inputs.len() as u64;
        inputs
            .into_iter()
            .enumerate()
            .map(
                |(k, (parent, other_trace, name, attrs, status, start, end, link))| {
                    let k = k as u64;
                    let parent = match (k, parent % 8) {
                        (0, p) if p % 2 == 0 => 0,
                        (0, _) => 0x53995c3f42cd8ad8,
                        (_, 0) => match u64::from(parent / 8) % (n + 2) {
                            0 => 0,
                            1 => 0x53995c3f42cd8ad8,
                            p => p - 1,
                        },
                        _ => u64::from(parent) % k + 1,
                    };
                    let attributes = attrs
                        .into_iter()
                        .map(|(key, value)| KeyValue::new(Key::from_static_str(KEYS[key]), value))
                        .collect();
                    let mut s = span(k + 1, parent, attributes);
                    if other_trace {
                        s.span_context = SpanContext::new(
                            TraceId::from_hex("1759e988bd862e3fe1be46a994272791").unwrap(),
                            s.span_context.span_id(),
                            TraceFlags::SAMPLED,
                            false,
                            TraceState::default(),
                        );
                    }
                    s.name = name.into();
                    s.status = match status {
                        0 => Status::Unset,
                        1 => Status::error("boom"),
                        3 => {
                            // An OpenTelemetry-API span's recorded exceptions (hostile text included).
                            for (message, kind) in
                                [("db \"timeout\"\n\u{1}", Some("sqlx::Error")), ("", None)]
                            {
                                let mut attributes = vec![KeyValue::new("exception.message", message)];
                                attributes.extend(kind.map(|k| KeyValue::new("exception.type", k)));
                                s.events.events.push(opentelemetry::trace::Event::new(
                                    "exception",
                                    s.start_time,
                                    attributes,
                                    0,
                                ));
                            }
                            Status::error("")
                        }
                        _ => Status::Ok,
                    };
                    s.start_time =
                        UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000 + u64::from(start));
                    s.end_time = UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000 + u64::from(end));
                    if link {
                        let mut l = Link::with_context(s.span_context.clone());
                        l.attributes.push(KeyValue::new("messaging.message.id", "m-1"));
                        s.links.links.push(l);
                    }
                    s
                },
            )
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The direct writer is held byte for byte to the model writer (the serde documents), on
        /// batches of every shape, every attribute the mapping names, and hostile names and values.
        #[test]
        fn the_exporter_sends_what_the_model_serialises(
            inputs in prop::collection::vec(span_input(), 1..7),
        ) {
            let batch = batch_of(inputs);
            prop_assert_eq!(exported(batch.clone()), modelled(batch));
        }
    }

    #[test]
    fn most_generated_batches_take_the_direct_path() {
        // Without this, the property above could pass by never leaving the model path.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = prop::collection::vec(span_input(), 1..7);
        let direct = (0..400)
            .filter(|_| {
                let inputs = strategy.new_tree(&mut runner).unwrap().current();
                takes_direct_path(&batch_of(inputs))
            })
            .count();
        assert!(direct > 200, "{direct} of 400");
    }
}
