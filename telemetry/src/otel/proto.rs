//! The OTLP `ExportTraceServiceRequest` written straight from a `SpanData` batch: a protobuf writer of
//! a few functions (varints, length-delimited fields, `fixed32`/`fixed64`) instead of
//! opentelemetry-proto's intermediate structs and prost, which cost ≈ 58 KB in every function binary.
//!
//! Messages: <https://github.com/open-telemetry/opentelemetry-proto> v1.x (`collector/trace/v1`,
//! `trace/v1`, `common/v1`, `resource/v1`); wire format:
//! <https://protobuf.dev/programming-guides/encoding/>. The bytes are those of opentelemetry-proto
//! 0.33's `group_spans_by_resource_and_scope` encoded by prost — the tests compare them for every field
//! and on random batches: one `ResourceSpans`, its `ScopeSpans` in the order their scope first appears
//! (scopes equal as `InstrumentationScope`'s `Eq` says), spans in batch order; fields in tag order;
//! proto3 defaults (empty strings and bytes, zero numbers) left out, but oneof values, `Some` messages
//! (resource, scope, status, every attribute's value) always written.

use opentelemetry::trace::{Link, SpanId, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use std::time::{SystemTime, UNIX_EPOCH};

/// Wire type of varint fields (`uint32`, `int64`, `bool`, enums).
const VARINT: u32 = 0;
/// Wire type of `fixed64` and `double` fields.
const FIXED64: u32 = 1;
/// Wire type of strings, bytes and nested messages.
const LEN: u32 = 2;
/// Wire type of `fixed32` fields.
const FIXED32: u32 = 5;

/// `ResourceSpans.scope_spans` and `ScopeSpans.spans` are both field 2 of their message.
const REPEATED_FIELD_2: u8 = 2 << 3 | LEN as u8;
/// `ExportTraceServiceRequest.resource_spans` is field 1.
const RESOURCE_SPANS: u8 = 1 << 3 | LEN as u8;

/// `Span.flags` and `Link.flags`: the W3C trace flags, plus "the parent's (link's) remoteness is
/// known" and, when it is, whether it is remote (`SPAN_FLAGS_CONTEXT_*_MASK`).
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

/// The resource half of every request, encoded once per exporter: `ResourceSpans` fields 1
/// (`resource`) and 3 (`schema_url`), keys included.
#[derive(Debug)]
pub(crate) struct EncodedResource {
    resource: Vec<u8>,
    schema_url: Vec<u8>,
}

impl EncodedResource {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut encoded = Vec::new();
        message(&mut encoded, 1, |out| {
            for (key, value) in resource.iter() {
                key_value(out, 1, key.as_str(), value);
            }
        });
        Self {
            resource: encoded,
            schema_url: schema_url_field(resource.schema_url()),
        }
    }
}

/// One `ScopeSpans`: its fields 1 (`scope`) and 3 (`schema_url`), and each span's `Span` message.
#[derive(Debug)]
struct ScopeSpans {
    scope: Vec<u8>,
    schema_url: Vec<u8>,
    spans: Vec<Vec<u8>>,
}

impl ScopeSpans {
    fn encoded_len(&self) -> usize {
        self.scope.len()
            + self.spans.iter().map(|s| field_len(s.len())).sum::<usize>()
            + self.schema_url.len()
    }
}

/// An `ExportTraceServiceRequest` of one resource whose spans are already encoded: it can be split
/// between spans (for datagrams) without encoding a span twice.
#[derive(Debug)]
pub(crate) struct TraceRequest<'r> {
    resource: &'r EncodedResource,
    scopes: Vec<ScopeSpans>,
}

impl<'r> TraceRequest<'r> {
    /// Groups `batch` by instrumentation scope (in the order scopes first appear) and encodes each span.
    pub(crate) fn new(batch: &[SpanData], resource: &'r EncodedResource) -> Self {
        // Each group's scope, beside `scopes`: a batch holds a few (one per library that made spans).
        let mut seen: Vec<&InstrumentationScope> = Vec::new();
        let mut scopes: Vec<ScopeSpans> = Vec::new();
        for span in batch {
            let scope = &span.instrumentation_scope;
            let at = match seen.iter().position(|s| same_scope(s, scope)) {
                Some(at) => at,
                None => {
                    seen.push(scope);
                    scopes.push(ScopeSpans {
                        scope: scope_field(scope),
                        schema_url: schema_url_field(scope.schema_url()),
                        spans: Vec::new(),
                    });
                    scopes.len() - 1
                }
            };
            scopes[at].spans.push(span_message(span));
        }
        Self { resource, scopes }
    }

    pub(crate) fn span_count(&self) -> usize {
        self.scopes.iter().map(|s| s.spans.len()).sum()
    }

    /// Moves the last `n` spans into a second request with the same resource and the scopes they came
    /// from. Scopes emptied here stay in `self` (empty), and a scope visited while spans remain to be
    /// moved comes along even if it gives none, as the exporter's split of the prost structs did.
    pub(crate) fn split_off(&mut self, mut n: usize) -> Self {
        let mut moved = Vec::new();
        for scope in self.scopes.iter_mut().rev() {
            if n == 0 {
                break;
            }
            let take = n.min(scope.spans.len());
            let spans = scope.spans.split_off(scope.spans.len() - take);
            n -= take;
            moved.push(ScopeSpans {
                scope: scope.scope.clone(),
                schema_url: scope.schema_url.clone(),
                spans,
            });
        }
        moved.reverse();
        Self {
            resource: self.resource,
            scopes: moved,
        }
    }

    /// The serialized `ExportTraceServiceRequest`.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let scope_lens: Vec<usize> = self.scopes.iter().map(ScopeSpans::encoded_len).collect();
        let resource_spans_len = self.resource.resource.len()
            + scope_lens.iter().map(|&len| field_len(len)).sum::<usize>()
            + self.resource.schema_url.len();
        let mut out = Vec::with_capacity(field_len(resource_spans_len));
        out.push(RESOURCE_SPANS);
        varint(&mut out, resource_spans_len as u64);
        out.extend_from_slice(&self.resource.resource);
        for (scope, len) in self.scopes.iter().zip(scope_lens) {
            out.push(REPEATED_FIELD_2);
            varint(&mut out, len as u64);
            out.extend_from_slice(&scope.scope);
            for span in &scope.spans {
                out.push(REPEATED_FIELD_2);
                varint(&mut out, span.len() as u64);
                out.extend_from_slice(span);
            }
            out.extend_from_slice(&scope.schema_url);
        }
        out.extend_from_slice(&self.resource.schema_url);
        out
    }
}

/// The length of a field of a one-byte key whose payload is `len` bytes, length prefix included.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

fn varint_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from(field << 3 | wire));
}

/// A varint field, left out when zero (proto3 `uint32` and enums).
fn uint(out: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        key(out, field, VARINT);
        varint(out, value);
    }
}

fn fixed64(out: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        key(out, field, FIXED64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

fn fixed32(out: &mut Vec<u8>, field: u32, value: u32) {
    if value != 0 {
        key(out, field, FIXED32);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A string or bytes field, left out when empty.
fn bytes(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    if !value.is_empty() {
        bytes_always(out, field, value);
    }
}

fn string(out: &mut Vec<u8>, field: u32, value: &str) {
    bytes(out, field, value.as_bytes());
}

fn bytes_always(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    key(out, field, LEN);
    varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// A nested message, always written (an empty one too): its body goes after a one-byte length
/// placeholder, widened once the body is known to need more.
fn message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    key(out, field, LEN);
    let at = out.len();
    out.push(0);
    body(out);
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        let mut prefix = Vec::with_capacity(10);
        varint(&mut prefix, len as u64);
        out.splice(at..=at, prefix);
    }
}

/// `SystemTime` as OTLP's nanoseconds since the epoch; before the epoch is 0, as the transform has it.
fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn flags(trace_flags: u8, is_remote: bool) -> u32 {
    let remote = if is_remote { CONTEXT_IS_REMOTE } else { 0 };
    u32::from(trace_flags) | CONTEXT_HAS_IS_REMOTE | remote
}

/// A `KeyValue` message as field `field` of its parent.
fn key_value(out: &mut Vec<u8>, field: u32, key: &str, value: &Value) {
    message(out, field, |out| {
        string(out, 1, key);
        message(out, 2, |out| any_value(out, value));
    });
}

fn attributes(out: &mut Vec<u8>, field: u32, attributes: &[KeyValue]) {
    for kv in attributes {
        key_value(out, field, kv.key.as_str(), &kv.value);
    }
}

/// The body of an `AnyValue`: its oneof is written whatever the value (`false`, `0`, `""` included).
fn any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => bytes_always(out, 1, s.as_str().as_bytes()),
        Value::Bool(b) => {
            key(out, 2, VARINT);
            varint(out, u64::from(*b));
        }
        Value::I64(i) => {
            key(out, 3, VARINT);
            varint(out, *i as u64);
        }
        Value::F64(f) => {
            key(out, 4, FIXED64);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Array(array) => message(out, 5, |out| array_values(out, array)),
        // A kind added to opentelemetry later: an `AnyValue` without a value rather than a panic.
        _ => {}
    }
}

/// The body of an `ArrayValue`: each element an `AnyValue` (field 1).
fn array_values(out: &mut Vec<u8>, array: &Array) {
    fn each<T>(out: &mut Vec<u8>, values: &[T], value: impl Fn(&T) -> Value) {
        for v in values {
            message(out, 1, |out| any_value(out, &value(v)));
        }
    }
    match array {
        Array::Bool(values) => each(out, values, |&b| Value::Bool(b)),
        Array::I64(values) => each(out, values, |&i| Value::I64(i)),
        Array::F64(values) => each(out, values, |&f| Value::F64(f)),
        Array::String(values) => {
            for v in values {
                message(out, 1, |out| bytes_always(out, 1, v.as_str().as_bytes()));
            }
        }
        _ => {}
    }
}

/// The `schema_url` field of `ResourceSpans` and of `ScopeSpans` (field 3 of both), empty when there
/// is none.
fn schema_url_field(url: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    string(&mut out, 3, url.unwrap_or_default());
    out
}

/// `InstrumentationScope`'s equality (name, version, schema URL, then attributes sorted by key and
/// compared) without its two sorts and its hashing (≈ 25 KB in every function binary).
fn same_scope(a: &InstrumentationScope, b: &InstrumentationScope) -> bool {
    a.name() == b.name()
        && a.version() == b.version()
        && a.schema_url() == b.schema_url()
        && crate::sort::same_in_key_order(
            &a.attributes().collect::<Vec<_>>(),
            &b.attributes().collect::<Vec<_>>(),
            |kv| &kv.key,
        )
}

/// `ScopeSpans.scope` (field 1): an `InstrumentationScope` of name, version and attributes.
fn scope_field(scope: &InstrumentationScope) -> Vec<u8> {
    let mut out = Vec::new();
    message(&mut out, 1, |out| {
        string(out, 1, scope.name());
        string(out, 2, scope.version().unwrap_or_default());
        for kv in scope.attributes() {
            key_value(out, 3, kv.key.as_str(), &kv.value);
        }
    });
    out
}

fn span_kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// A `Span` message (without its key and length).
fn span_message(span: &SpanData) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let cx = &span.span_context;
    bytes(&mut out, 1, &cx.trace_id().to_bytes());
    bytes(&mut out, 2, &cx.span_id().to_bytes());
    string(&mut out, 3, &cx.trace_state().header());
    if span.parent_span_id != SpanId::INVALID {
        bytes(&mut out, 4, &span.parent_span_id.to_bytes());
    }
    string(&mut out, 5, &span.name);
    uint(&mut out, 6, span_kind(&span.span_kind));
    fixed64(&mut out, 7, nanos(span.start_time));
    fixed64(&mut out, 8, nanos(span.end_time));
    attributes(&mut out, 9, &span.attributes);
    uint(&mut out, 10, u64::from(span.dropped_attributes_count));
    for event in &span.events.events {
        message(&mut out, 11, |out| {
            fixed64(out, 1, nanos(event.timestamp));
            string(out, 2, &event.name);
            attributes(out, 3, &event.attributes);
            uint(out, 4, u64::from(event.dropped_attributes_count));
        });
    }
    uint(&mut out, 12, u64::from(span.events.dropped_count));
    for link in &span.links.links {
        message(&mut out, 13, |out| link_message(out, link));
    }
    uint(&mut out, 14, u64::from(span.links.dropped_count));
    message(&mut out, 15, |out| {
        let (code, description) = match &span.status {
            Status::Unset => (0, ""),
            Status::Ok => (1, ""),
            Status::Error { description } => (2, description.as_ref()),
        };
        string(out, 2, description);
        uint(out, 3, code);
    });
    fixed32(
        &mut out,
        16,
        flags(cx.trace_flags().to_u8(), span.parent_span_is_remote),
    );
    out
}

fn link_message(out: &mut Vec<u8>, link: &Link) {
    let cx = &link.span_context;
    bytes(out, 1, &cx.trace_id().to_bytes());
    bytes(out, 2, &cx.span_id().to_bytes());
    string(out, 3, &cx.trace_state().header());
    attributes(out, 4, &link.attributes);
    uint(out, 5, u64::from(link.dropped_attributes_count));
    fixed32(out, 6, flags(cx.trace_flags().to_u8(), cx.is_remote()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Event, SpanContext, TraceFlags, TraceId, TraceState};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans as ProtoScopeSpans};
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use proptest::prelude::*;
    use prost::Message as _;
    use std::borrow::Cow;
    use std::time::Duration;

    /// What the exporters sent before this module: opentelemetry-proto's transform encoded by prost.
    fn reference(batch: Vec<SpanData>, resource: &Resource) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                batch,
                &ResourceAttributesWithSchema::from(resource),
            ),
        }
    }

    fn ours(batch: &[SpanData], resource: &Resource) -> Vec<u8> {
        TraceRequest::new(batch, &EncodedResource::new(resource)).encode()
    }

    /// Same bytes; on a difference, the decoded requests are compared first so the failure names the
    /// field.
    fn assert_same(batch: Vec<SpanData>, resource: &Resource) {
        let ours = ours(&batch, resource);
        let theirs = reference(batch, resource);
        let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).expect("ours decodes");
        assert_eq!(
            format!("{decoded:?}"),
            format!("{theirs:?}"),
            "decoded requests differ"
        );
        assert_eq!(ours, theirs.encode_to_vec(), "bytes differ");
    }

    const TRACE: u128 = 0x5759_e988_bd86_2e3f_e1be_46a9_9427_2793;

    fn context(trace: u128, span: u64, flags: u8, remote: bool, state: TraceState) -> SpanContext {
        SpanContext::new(
            TraceId::from_bytes(trace.to_be_bytes()),
            SpanId::from_bytes(span.to_be_bytes()),
            TraceFlags::new(flags),
            remote,
            state,
        )
    }

    fn at(nanos: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(nanos)
    }

    fn span(name: &'static str) -> SpanData {
        SpanData {
            span_context: context(TRACE, 0x53995c3f42cd8ad8, 1, false, TraceState::default()),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.into(),
            start_time: at(1_700_000_000_000_000_000),
            end_time: at(1_700_000_000_250_000_000),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("telemetry").build(),
        }
    }

    fn every_value() -> Vec<KeyValue> {
        vec![
            KeyValue::new("s", "card"),
            KeyValue::new("empty", ""),
            KeyValue::new("unicode", "žluťoučký 🐎 カード"),
            KeyValue::new("t", true),
            KeyValue::new("f", false),
            KeyValue::new("zero", 0i64),
            KeyValue::new("neg", -1i64),
            KeyValue::new("min", i64::MIN),
            KeyValue::new("max", i64::MAX),
            KeyValue::new("d", 1.5f64),
            KeyValue::new("d0", 0.0f64),
            KeyValue::new("dneg0", -0.0f64),
            KeyValue::new("nan", f64::NAN),
            KeyValue::new("inf", f64::INFINITY),
            KeyValue::new("-inf", f64::NEG_INFINITY),
            KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
            KeyValue::new("ints", Value::Array(Array::I64(vec![0, -7, i64::MAX]))),
            KeyValue::new("doubles", Value::Array(Array::F64(vec![0.0, f64::NAN, -2.5]))),
            KeyValue::new(
                "strings",
                Value::Array(Array::String(vec!["".into(), "a".into(), "ü".into()])),
            ),
            KeyValue::new("no ints", Value::Array(Array::I64(Vec::new()))),
            KeyValue::new("", "empty key"),
            KeyValue::new("long", "x".repeat(20_000)),
        ]
    }

    #[test]
    fn an_empty_batch_is_the_resource_alone() {
        assert_same(Vec::new(), &Resource::builder_empty().build());
        assert_eq!(
            ours(&[], &Resource::builder_empty().build()),
            [0x0a, 0x02, 0x0a, 0x00]
        );
    }

    #[test]
    fn a_plain_span_matches() {
        assert_same(vec![span("valuate")], &Resource::builder_empty().build());
    }

    #[test]
    fn every_attribute_value_kind_matches() {
        let mut s = span("attrs");
        s.attributes = every_value();
        s.dropped_attributes_count = 3;
        assert_same(vec![s], &Resource::builder_empty().build());
    }

    #[test]
    fn empty_strings_zero_times_and_an_unset_status_are_left_out_as_prost_does() {
        let mut s = span("");
        s.span_context = context(0, 0, 0, false, TraceState::default());
        s.start_time = UNIX_EPOCH;
        s.end_time = UNIX_EPOCH - Duration::from_secs(1);
        assert_same(vec![s], &Resource::builder_empty().build());
    }

    #[test]
    fn times_past_2554_wrap_as_the_transform_casts_them() {
        let mut s = span("far");
        s.start_time = UNIX_EPOCH + Duration::from_secs(20_000_000_000);
        s.end_time = at(u64::MAX);
        assert_same(vec![s], &Resource::builder_empty().build());
    }

    #[test]
    fn ids_parents_trace_state_kinds_and_flags_match() {
        let state =
            TraceState::from_key_value([("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE")]).unwrap();
        let kinds = [
            SpanKind::Internal,
            SpanKind::Server,
            SpanKind::Client,
            SpanKind::Producer,
            SpanKind::Consumer,
        ];
        let batch: Vec<SpanData> = kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| {
                let mut s = span("kinds");
                s.span_kind = kind;
                s.span_context = context(TRACE, i as u64 + 1, i as u8, i % 2 == 0, state.clone());
                s.parent_span_id = SpanId::from_bytes(0x00f0_67aa_0ba9_02b7u64.to_be_bytes());
                s.parent_span_is_remote = i % 2 == 1;
                s
            })
            .collect();
        assert_same(batch.clone(), &Resource::builder_empty().build());
        let request =
            ExportTraceServiceRequest::decode(ours(&batch, &Resource::builder_empty().build()).as_slice())
                .unwrap();
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans[1].flags, 0x301, "sampled, parent known to be remote");
        assert_eq!(
            spans[2].flags, 0x102,
            "parent known to be local, trace flags kept"
        );
        assert_eq!(spans[0].trace_state, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    }

    #[test]
    fn events_links_dropped_counts_and_statuses_match() {
        let mut s = span("rich");
        s.events.events = vec![
            Event::new("exception", at(1_700_000_000_100_000_000), every_value(), 2),
            Event::new("", UNIX_EPOCH, Vec::new(), 0),
        ];
        s.events.dropped_count = 5;
        s.links.links = vec![
            Link::new(
                context(
                    TRACE + 1,
                    9,
                    1,
                    true,
                    TraceState::from_key_value([("k", "v")]).unwrap(),
                ),
                vec![KeyValue::new("messaging.system", "aws_sqs")],
                1,
            ),
            Link::new(context(0, 0, 0, false, TraceState::default()), Vec::new(), 0),
        ];
        s.links.dropped_count = 7;
        s.status = Status::error("card not found: ü");
        let mut ok = span("ok");
        ok.status = Status::Ok;
        let mut bare_error = span("bare error");
        bare_error.status = Status::error("");
        assert_same(vec![s, ok, bare_error], &Resource::builder_empty().build());
    }

    #[test]
    fn scopes_group_in_first_seen_order_with_name_version_schema_and_attributes() {
        let a = InstrumentationScope::builder("a-lib")
            .with_version("1.2.3")
            .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
            .with_attributes([KeyValue::new("x", 1i64), KeyValue::new("y", "z")])
            .build();
        // Equal to `a` (attributes compare as sets by key): its spans join `a`'s group, under `a`'s bytes.
        let a_reordered = InstrumentationScope::builder("a-lib")
            .with_version("1.2.3")
            .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
            .with_attributes([KeyValue::new("y", "z"), KeyValue::new("x", 1i64)])
            .build();
        let b = InstrumentationScope::builder("").build();
        let batch: Vec<SpanData> = [
            a.clone(),
            b.clone(),
            a_reordered,
            InstrumentationScope::builder("telemetry").build(),
            b,
            a,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, scope)| {
            let mut s = span("scoped");
            s.span_context = context(TRACE, i as u64 + 1, 1, false, TraceState::default());
            s.instrumentation_scope = scope;
            s
        })
        .collect();
        assert_same(batch.clone(), &Resource::builder_empty().build());
        let request =
            ExportTraceServiceRequest::decode(ours(&batch, &Resource::builder_empty().build()).as_slice())
                .unwrap();
        let counts: Vec<usize> = request.resource_spans[0]
            .scope_spans
            .iter()
            .map(|s| s.spans.len())
            .collect();
        assert_eq!(counts, [3, 2, 1]);
    }

    #[test]
    fn resource_attributes_and_schema_url_match() {
        let resource = Resource::builder_empty()
            .with_schema_url(
                [
                    KeyValue::new("service.name", "valuation"),
                    KeyValue::new("faas.max_memory", 134_217_728i64),
                    KeyValue::new("cloud.provider", "aws"),
                ],
                "https://opentelemetry.io/schemas/1.26.0",
            )
            .build();
        assert_same(vec![span("one"), span("two")], &resource);
        assert_same(Vec::new(), &resource);
        let resource = Resource::builder_empty().with_attributes(every_value()).build();
        assert_same(vec![span("one")], &resource);
    }

    /// The exporter's split before this module, on the prost structs: the last `n` spans move to a
    /// second request with the same resource and scopes.
    fn reference_split(
        mut request: ExportTraceServiceRequest,
        mut n: usize,
    ) -> (ExportTraceServiceRequest, ExportTraceServiceRequest) {
        let mut tail = ExportTraceServiceRequest::default();
        for rs in request.resource_spans.iter_mut().rev() {
            if n == 0 {
                break;
            }
            let mut moved = ResourceSpans {
                resource: rs.resource.clone(),
                scope_spans: Vec::new(),
                schema_url: rs.schema_url.clone(),
            };
            for ss in rs.scope_spans.iter_mut().rev() {
                if n == 0 {
                    break;
                }
                let take = n.min(ss.spans.len());
                let spans = ss.spans.split_off(ss.spans.len() - take);
                n -= take;
                moved.scope_spans.insert(
                    0,
                    ProtoScopeSpans {
                        scope: ss.scope.clone(),
                        spans,
                        schema_url: ss.schema_url.clone(),
                    },
                );
            }
            tail.resource_spans.insert(0, moved);
        }
        (request, tail)
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::I64),
            any::<f64>().prop_map(Value::F64),
            ".{0,12}".prop_map(Value::from),
            prop::collection::vec(any::<bool>(), 0..4).prop_map(|v| Value::Array(Array::Bool(v))),
            prop::collection::vec(any::<i64>(), 0..4).prop_map(|v| Value::Array(Array::I64(v))),
            prop::collection::vec(any::<f64>(), 0..4).prop_map(|v| Value::Array(Array::F64(v))),
            prop::collection::vec(".{0,6}", 0..4)
                .prop_map(|v| Value::Array(Array::String(v.into_iter().map(Into::into).collect()))),
        ]
    }

    fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
        prop::collection::vec(
            ("[a-z.]{0,8}", value()).prop_map(|(k, v)| KeyValue::new(k, v)),
            0..4,
        )
    }

    fn time() -> impl Strategy<Value = SystemTime> {
        prop_oneof![
            Just(UNIX_EPOCH),
            Just(UNIX_EPOCH - Duration::from_secs(1)),
            any::<u64>().prop_map(at),
        ]
    }

    fn span_context() -> impl Strategy<Value = SpanContext> {
        let state = prop_oneof![
            Just(TraceState::default()),
            Just(TraceState::from_key_value([("rojo", "00f067aa0ba902b7"), ("congo", "t61")]).unwrap()),
        ];
        (any::<u128>(), any::<u64>(), any::<u8>(), any::<bool>(), state)
            .prop_map(|(t, s, f, r, state)| context(t, s, f, r, state))
    }

    /// A few scopes, so batches mix them and repeat them: 3 and 4 are equal; 5 and 6 repeat a key in
    /// two orders (not equal), 7's NaN makes it equal to no scope, not even itself.
    fn scope() -> impl Strategy<Value = InstrumentationScope> {
        (0usize..8).prop_map(|i| match i {
            0 => InstrumentationScope::builder("telemetry").build(),
            1 => InstrumentationScope::builder("").with_version("0.1").build(),
            2 => InstrumentationScope::builder("lib")
                .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
                .build(),
            3 => InstrumentationScope::builder("attrs")
                .with_attributes([KeyValue::new("a", 1i64), KeyValue::new("b", true)])
                .build(),
            4 => InstrumentationScope::builder("attrs")
                .with_attributes([KeyValue::new("b", true), KeyValue::new("a", 1i64)])
                .build(),
            5 => InstrumentationScope::builder("attrs")
                .with_attributes([KeyValue::new("a", 1i64), KeyValue::new("a", 2i64)])
                .build(),
            6 => InstrumentationScope::builder("attrs")
                .with_attributes([KeyValue::new("a", 2i64), KeyValue::new("a", 1i64)])
                .build(),
            _ => InstrumentationScope::builder("attrs")
                .with_attributes([KeyValue::new("a", f64::NAN), KeyValue::new("b", true)])
                .build(),
        })
    }

    fn status() -> impl Strategy<Value = Status> {
        prop_oneof![
            Just(Status::Unset),
            Just(Status::Ok),
            ".{0,8}".prop_map(Status::error),
        ]
    }

    fn kind() -> impl Strategy<Value = SpanKind> {
        prop_oneof![
            Just(SpanKind::Internal),
            Just(SpanKind::Server),
            Just(SpanKind::Client),
            Just(SpanKind::Producer),
            Just(SpanKind::Consumer),
        ]
    }

    fn events() -> impl Strategy<Value = SpanEvents> {
        let event = (".{0,6}", time(), attributes(), any::<u32>())
            .prop_map(|(name, t, attrs, dropped)| Event::new(name, t, attrs, dropped));
        (prop::collection::vec(event, 0..3), any::<u32>()).prop_map(|(events, dropped)| {
            let mut all = SpanEvents::default();
            all.events = events;
            all.dropped_count = dropped;
            all
        })
    }

    fn links() -> impl Strategy<Value = SpanLinks> {
        let link = (span_context(), attributes(), any::<u32>())
            .prop_map(|(cx, attrs, dropped)| Link::new(cx, attrs, dropped));
        (prop::collection::vec(link, 0..3), any::<u32>()).prop_map(|(links, dropped)| {
            let mut all = SpanLinks::default();
            all.links = links;
            all.dropped_count = dropped;
            all
        })
    }

    fn span_data() -> impl Strategy<Value = SpanData> {
        (
            (
                span_context(),
                any::<u64>(),
                any::<bool>(),
                kind(),
                ".{0,10}",
                time(),
                time(),
            ),
            (attributes(), any::<u32>(), events(), links(), status(), scope()),
        )
            .prop_map(
                |(
                    (span_context, parent, parent_remote, span_kind, name, start_time, end_time),
                    (attributes, dropped_attributes_count, events, links, status, instrumentation_scope),
                )| SpanData {
                    span_context,
                    // Often no parent: the invalid id is left out.
                    parent_span_id: SpanId::from_bytes(
                        if parent % 3 == 0 { 0 } else { parent }.to_be_bytes(),
                    ),
                    parent_span_is_remote: parent_remote,
                    span_kind,
                    name: Cow::Owned(name),
                    start_time,
                    end_time,
                    attributes,
                    dropped_attributes_count,
                    events,
                    links,
                    status,
                    instrumentation_scope,
                },
            )
    }

    fn resource() -> impl Strategy<Value = Resource> {
        (attributes(), prop::option::of("[a-z:/.]{0,20}")).prop_map(|(attrs, schema)| match schema {
            Some(url) => Resource::builder_empty().with_schema_url(attrs, url).build(),
            None => Resource::builder_empty().with_attributes(attrs).build(),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_batches_encode_as_the_transform_and_prost_do(
            batch in prop::collection::vec(span_data(), 0..6),
            resource in resource(),
        ) {
            let ours = ours(&batch, &resource);
            prop_assert_eq!(ours, reference(batch, &resource).encode_to_vec());
        }

        #[test]
        fn random_splits_encode_as_the_prost_split_did(
            batch in prop::collection::vec(span_data(), 1..8),
            resource in resource(),
            first in any::<prop::sample::Index>(),
            second in any::<prop::sample::Index>(),
        ) {
            let encoded = EncodedResource::new(&resource);
            let mut request = TraceRequest::new(&batch, &encoded);
            let n = first.index(batch.len()) + 1;
            let tail = request.split_off(n);
            let (head_ref, tail_ref) = reference_split(reference(batch.clone(), &resource), n);
            prop_assert_eq!(tail.encode(), tail_ref.encode_to_vec());
            prop_assert_eq!(tail.span_count(), n);
            prop_assert_eq!(request.encode(), head_ref.clone().encode_to_vec());
            // The head again, as the exporter halves a half still too big (emptied scopes included);
            // the exporter never moves zero spans.
            let remaining = request.span_count();
            if remaining > 0 {
                let m = second.index(remaining) + 1;
                let tail2 = request.split_off(m);
                let (head_ref, tail2_ref) = reference_split(head_ref, m);
                prop_assert_eq!(request.encode(), head_ref.encode_to_vec());
                prop_assert_eq!(tail2.encode(), tail2_ref.encode_to_vec());
            }
        }
    }

    #[test]
    fn varint_lengths_match_the_encoding() {
        for value in [0, 1, 127, 128, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            varint(&mut out, value);
            assert_eq!(out.len(), varint_len(value), "{value}");
            assert_eq!(out.len(), prost::encoding::encoded_len_varint(value), "{value}");
        }
    }
}
