//! Field values captured from events and spans, and the JSON line they render to.

use super::LogConfig;
use crate::clock::Stamp;
use crate::json::write_str;
use crate::redact::{
    DEFAULT_MAX_SCAN_BYTES, REDACTED, Redactor, ScanBudget, is_card_number, is_card_number_f64,
};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::fmt;
use std::sync::Arc;
use tracing::field::{Field, Visit};

/// The field the invocation layer logs the event's JSON text under (`POWERTOOLS_LOGGER_LOG_EVENT`):
/// printed as the JSON document it holds, under `event`.
pub(crate) const EVENT_JSON_FIELD: &str = "telemetry.event_json";

/// Root keys filled from the invocation context, in output order.
pub(crate) const CONTEXT_KEYS: [&str; 7] = [
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "correlation_id",
];

/// Keys a field can never overwrite; and `_aws`, which makes CloudWatch Logs read the line as an EMF
/// document (the specification: its value MUST be an object with `CloudWatchMetrics`), so a field of
/// that name would count as a malformed metrics document instead of a log field.
const RESERVED: [&str; 6] = [
    "timestamp",
    "level",
    "message",
    "service",
    "sampling_rate",
    "_aws",
];

/// A captured field value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldValue {
    /// Shared: the span layer takes a span's string attributes from the log layer's capture
    /// ([`SpanFields::shared_str`](super::layer::SpanFields::shared_str)) instead of copying them.
    Str(Arc<str>),
    Bool(bool),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    /// A JSON document (the invocation's event, `POWERTOOLS_LOGGER_LOG_EVENT`), printed as JSON:
    /// redacted key by key and string by string like any field.
    Json(Arc<serde_json::Value>),
    /// Boxed: errors are rare, and inline they would make every value 80 bytes instead of 32 — a
    /// span's field vector then outgrows the allocator's per-thread cache (over 1 KiB for the
    /// invocation span) and each one costs a trip through the general allocator.
    Error(Box<ErrorValue>),
}

// A value stays 32 bytes (an `i128` and its tag): see `FieldValue::Error`.
const _: () = assert!(std::mem::size_of::<FieldValue>() <= 32);

/// An error recorded as `&dyn Error`: `{name, type, location, message, causes[]}` (`name` = `type`;
/// `location` the `file:line` of the event or span that recorded it, Powertools' `error.location`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorValue {
    pub(crate) kind: String,
    pub(crate) message: String,
    pub(crate) causes: Vec<String>,
    pub(crate) location: Option<String>,
}

impl ErrorValue {
    pub(crate) fn from_error(e: &(dyn std::error::Error + 'static)) -> Self {
        let mut causes = Vec::new();
        let mut src = e.source();
        while let Some(s) = src {
            causes.push(s.to_string());
            src = s.source();
        }
        Self {
            kind: error_kind(e),
            message: e.to_string(),
            causes,
            location: None,
        }
    }
}

/// The kind printed when the redactor would change the real one.
const ERROR_KIND_FALLBACK: &str = "Error";

/// `kind` as printed under `red`: itself when `red` leaves it unchanged, else `Error`. The kind is
/// read from the error's `Debug`, which may start with a credential (an enum variant named after a
/// token, a `Debug` that prints the key first); half a type name is no use, so it goes whole.
fn printed_kind<'a>(kind: &'a str, red: &Redactor, budget: &ScanBudget) -> &'a str {
    match red.redact_within(kind, budget) {
        std::borrow::Cow::Borrowed(_) => kind,
        std::borrow::Cow::Owned(_) => ERROR_KIND_FALLBACK,
    }
}

/// The error's type as far as `dyn Error` reveals it: the leading identifier of its `Debug` output
/// (`NotFound { .. }` → `NotFound`, `Os { .. }` → `Os`), or `Error` if there is none. Printed only
/// through [`printed_kind`].
fn error_kind(e: &dyn std::error::Error) -> String {
    let dbg = format!("{e:?}");
    let ident: String = dbg
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ':'))
        .collect();
    if ident.is_empty() || ident.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        ERROR_KIND_FALLBACK.to_owned()
    } else {
        ident
    }
}

/// Captures an event's or span's fields; `message` goes apart.
#[derive(Debug, Default)]
pub(crate) struct FieldCollector {
    pub(crate) fields: Vec<(&'static str, FieldValue)>,
    pub(crate) message: Option<String>,
    /// A span's collector: string values that are never printed (`telemetry.*`, the reserved keys)
    /// are not copied (the span layer reads its `telemetry.*` fields itself).
    printed_only: bool,
    /// A message buffer kept from the last event ([`Self::release`]).
    spare: String,
    /// Bit `len % 64` for each name in `fields` ([`Self::put`]): a name of a length not seen yet is
    /// not looked for among them.
    lengths: u64,
    /// The `file:line` of the callsite being recorded ([`Self::at`]), for an error's `location`.
    location: Option<(&'static str, u32)>,
}

/// A message buffer larger than this is not kept for the next event.
const MAX_KEPT_MESSAGE: usize = 16 * 1024;

impl FieldCollector {
    /// Ready for the next event: no fields, no message, room for `fields` values; the vector and the
    /// message buffer keep their memory.
    pub(crate) fn reset(&mut self, fields: usize) {
        self.release();
        self.fields.reserve(fields);
        self.location = None;
    }

    /// Records the values of the callsite `meta`: an error among them is located at its `file:line`.
    pub(crate) fn at(&mut self, meta: &tracing::Metadata<'static>) -> &mut Self {
        self.location = meta.file().zip(meta.line());
        self
    }

    /// Drops the values (a large field is not kept until the next event) and a message buffer grown
    /// past [`MAX_KEPT_MESSAGE`]; keeps the rest for reuse.
    pub(crate) fn release(&mut self) {
        self.fields.clear();
        self.lengths = 0;
        if let Some(mut m) = self.message.take()
            && m.capacity() <= MAX_KEPT_MESSAGE
        {
            m.clear();
            self.spare = m;
        }
    }

    /// The message buffer, emptied (the one an earlier event left, if any).
    fn message_buffer(&mut self) -> String {
        let mut m = std::mem::take(&mut self.spare);
        m.clear();
        m
    }

    /// A collector with room for `fields` values (a callsite's field count), so collecting them does
    /// not grow the vector one reallocation at a time.
    pub(crate) fn with_capacity(fields: usize) -> Self {
        Self {
            fields: Vec::with_capacity(fields),
            message: None,
            printed_only: false,
            spare: String::new(),
            lengths: 0,
            location: None,
        }
    }

    /// A span's collector ([`Self::with_capacity`]) that skips the string values no line prints.
    pub(crate) fn for_span(fields: usize) -> Self {
        Self {
            printed_only: true,
            ..Self::with_capacity(fields)
        }
    }

    /// Whether a string value under `field` is left out (a span's, never printed).
    fn skips(&self, field: &Field) -> bool {
        self.printed_only && !is_printable(field.name())
    }

    fn put(&mut self, field: &Field, value: FieldValue) {
        self.put_named(field.name(), value);
    }

    fn put_named(&mut self, name: &'static str, value: FieldValue) {
        if name.starts_with("log.") {
            return;
        }
        // A callsite's names are distinct but for a name given twice (the last value wins): most
        // names have a length no other has, and need no search.
        let bit = 1u64 << (name.len() % 64);
        if self.lengths & bit != 0
            && let Some(slot) = self.fields.iter_mut().find(|(n, _)| *n == name)
        {
            slot.1 = value;
            return;
        }
        self.lengths |= bit;
        self.fields.push((name, value));
    }
}

impl Visit for FieldCollector {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, FieldValue::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, FieldValue::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, FieldValue::U64(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, FieldValue::I128(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, FieldValue::U128(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, FieldValue::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == EVENT_JSON_FIELD {
            // The invocation's event as JSON text: printed as the document under `event`. Text the
            // parser refuses (nested deeper than its 128 levels) is printed as a string, redacted as
            // any text is, rather than left out without a word.
            // `from_slice`, as `withheld` parses: one copy of the parser in the binary.
            let event = match serde_json::from_slice::<serde_json::Value>(value.as_bytes()) {
                Ok(event) => FieldValue::Json(Arc::new(event)),
                Err(_) => FieldValue::Str(value.into()),
            };
            self.put_named("event", event);
            return;
        }
        if self.skips(field) {
            return;
        }
        if field.name() == "message" {
            let mut m = self.message_buffer();
            m.push_str(value);
            self.message = Some(m);
        } else {
            self.put(field, FieldValue::Str(value.into()));
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.skips(field) {
            return;
        }
        let mut error = ErrorValue::from_error(value);
        error.location = self.location.map(|(file, line)| format!("{file}:{line}"));
        self.put(field, FieldValue::Error(Box::new(error)));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.skips(field) {
            return;
        }
        if field.name() == "message" {
            let mut m = self.message_buffer();
            let _ = fmt::Write::write_fmt(&mut m, format_args!("{value:?}"));
            self.message = Some(m);
        } else {
            self.put(field, FieldValue::Str(debug_text(value)));
        }
    }
}

/// The most bytes a line may take, its newline included: CloudWatch Logs takes events of up to
/// 256 KB (262,144 bytes, 26 of them its own per-event overhead); 1 KiB is left for what Lambda
/// adds. A longer line would be cut by the log pipeline mid-JSON, losing the whole record's
/// structure; the log layer and the panic hook cut its longest strings instead ([`within_event_limit`]).
pub const MAX_LINE_BYTES: usize = 256 * 1024 - 1024;

/// Strings this long or shorter (a level, a timestamp, an id) are never cut.
const MIN_CUT_STRING: usize = 256;

/// `line` (one JSON object and its newline) if it fits in [`MAX_LINE_BYTES`]; else the same text
/// with its longest string values cut, longest first and each only as far as needed, each ending in
/// a note of the bytes cut — keys, their order, numbers and every other byte as written. Strings of
/// [`MIN_CUT_STRING`] bytes or fewer (levels, timestamps, ids) are never cut. A line those cuts cannot
/// bring under the limit (thousands of short values) becomes a short line naming its size, with its
/// level, timestamp and context ids.
#[must_use]
pub fn within_event_limit(line: &[u8], pretty: bool) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    if line.len() <= MAX_LINE_BYTES {
        return Cow::Borrowed(line);
    }
    let mut values = string_values(line);
    // Longest first; each cut saves its length less what it keeps and its note.
    crate::sort::sort_by_key(&mut values, |&(start, end)| std::cmp::Reverse(end - start));
    let mut excess = line.len() - MAX_LINE_BYTES;
    let mut cuts: Vec<(usize, usize)> = Vec::new(); // (where the kept part ends, where the string ends)
    for (start, end) in values {
        if excess == 0 {
            break;
        }
        let len = end - start;
        if len <= MIN_CUT_STRING {
            break;
        }
        let note_len = cut_note(len).len();
        let want = len.saturating_sub(excess + note_len);
        let keep = token_boundary(&line[start..end], want);
        let saved = (len - keep).saturating_sub(note_len);
        if saved == 0 {
            continue;
        }
        cuts.push((start + keep, end));
        excess = excess.saturating_sub(saved);
    }
    if excess > 0 {
        return Cow::Owned(withheld(line, pretty));
    }
    crate::sort::sort(&mut cuts);
    let mut out = Vec::with_capacity(MAX_LINE_BYTES);
    let mut at = 0;
    for (kept, end) in cuts {
        out.extend_from_slice(&line[at..kept]);
        out.extend_from_slice(cut_note(end - kept).as_bytes());
        at = end;
    }
    out.extend_from_slice(&line[at..]);
    Cow::Owned(out)
}

/// What a cut string ends in.
fn cut_note(cut: usize) -> String {
    format!("…[{cut} bytes cut: line over the 256 KB log event limit]")
}

/// The contents (between the quotes, as written: escapes included) of every string in the JSON text
/// `json` that is a value, not a key.
fn string_values(json: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < json.len() {
        if json[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut j = start;
        while j < json.len() && json[j] != b'"' {
            j += if json[j] == b'\\' { 2 } else { 1 };
        }
        let end = j.min(json.len());
        let mut k = end + 1;
        while k < json.len() && json[k].is_ascii_whitespace() {
            k += 1;
        }
        if json.get(k) != Some(&b':') {
            out.push((start, end));
        }
        i = end + 1;
    }
    out
}

/// The largest cut point of a string's written contents `s` at or below `want` that splits neither
/// an escape (`\n`, `\u00e9`) nor a UTF-8 character.
fn token_boundary(s: &[u8], want: usize) -> usize {
    let mut i = 0;
    while i < s.len() {
        let step = match s[i] {
            b'\\' if s.get(i + 1) == Some(&b'u') => 6,
            b'\\' => 2,
            b if b < 0x80 => 1,
            b if b >= 0xF0 => 4,
            b if b >= 0xE0 => 3,
            _ => 2,
        };
        if i + step > want {
            return i;
        }
        i += step;
    }
    s.len()
}

/// The short line that stands for a line too long to cut: its size, and its level, timestamp and
/// context ids when they can be read.
fn withheld(line: &[u8], pretty: bool) -> Vec<u8> {
    let parsed = serde_json::from_slice::<serde_json::Value>(line).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(serde_json::Value::as_str)
            .filter(|s| s.len() <= 64)
            .map(str::to_owned)
    };
    let mut short = serde_json::Map::new();
    short.insert(
        "level".into(),
        field("level").unwrap_or_else(|| "WARN".into()).into(),
    );
    short.insert(
        "message".into(),
        format!(
            "a log line of {} bytes was withheld: over the 256 KB log event limit",
            line.len()
        )
        .into(),
    );
    for key in ["timestamp", "service", "function_request_id", "xray_trace_id"] {
        if let Some(s) = field(key) {
            short.insert(key.into(), s.into());
        }
    }
    let value = serde_json::Value::Object(short);
    let compact = serde_json::to_vec(&value).unwrap_or_default();
    let mut out = if pretty {
        let mut out = Vec::with_capacity(compact.len() * 2);
        crate::json::write_pretty(&mut out, &compact);
        out
    } else {
        compact
    };
    out.push(b'\n');
    out
}

/// Whether a field name is printed at all (internal and reserved names are not).
pub(crate) fn is_printable(name: &str) -> bool {
    !name.starts_with("telemetry.") && !RESERVED.contains(&name)
}

/// Index of a context root key.
pub(crate) fn context_slot(name: &str) -> Option<usize> {
    CONTEXT_KEYS.iter().position(|k| *k == name)
}

/// Redacts a span's captured fields once, when they are recorded, so the lines logged inside the span
/// print them without scanning them again (the invocation span's four context keys used to be scanned on
/// every line). One budget for the record, as for a line, and one of its own for each context key;
/// context keys are scanned but never denied by name, other printable fields are [`REDACTED`] when
/// their name is denied.
///
/// Returns the fields (bit `i` for field `i`, the first 64) that `red`, when its rules are the default
/// ones, left unchanged after scanning them whole: [`redact_attribute`](crate::redact::redact_attribute)
/// leaves those unchanged too, so the span layer can skip them ([`SpanFields::is_clean`](super::layer::SpanFields::is_clean)).
pub(crate) fn redact_captured(fields: &mut [(&'static str, FieldValue)], red: &Redactor) -> u64 {
    let shared = red.budget();
    let share = red.has_default_rules();
    let mut clean = 0u64;
    for (i, (name, value)) in fields.iter_mut().enumerate() {
        if !is_printable(name) {
            // Never printed (`telemetry.*`, e.g. the trace header the X-Ray layer reads): left alone.
            continue;
        }
        let context = context_slot(name).is_some();
        if !context && red.is_denied_static(name) {
            *value = FieldValue::Str(REDACTED.into());
            continue;
        }
        // A context key is scanned on a budget of its own (seven keys at most): given at the span's
        // creation, a long correlation id or ARN never cuts the trace id short.
        let own;
        let budget = if context {
            own = red.budget();
            &own
        } else {
            &shared
        };
        match value {
            FieldValue::Str(v) => {
                // Scanned whole under this budget and under the span layer's (one per attribute).
                let whole = v.len() <= budget.remaining() && v.len() <= DEFAULT_MAX_SCAN_BYTES;
                if share && whole && *name == "function_arn" && i < 64 && is_known_clean_arn(v) {
                    clean |= 1 << i;
                    continue;
                }
                match red.redact_within(v, budget) {
                    std::borrow::Cow::Owned(redacted) => *v = redacted.into(),
                    std::borrow::Cow::Borrowed(_) => {
                        if share && whole && i < 64 {
                            clean |= 1 << i;
                            if *name == "function_arn" {
                                remember_clean_arn(v);
                            }
                        }
                    }
                }
            }
            FieldValue::Error(e) => {
                if printed_kind(&e.kind, red, budget) != e.kind {
                    ERROR_KIND_FALLBACK.clone_into(&mut e.kind);
                }
                e.message = red.redact_within(&e.message, budget).into_owned();
                for c in &mut e.causes {
                    *c = red.redact_within(c, budget).into_owned();
                }
            }
            FieldValue::Json(doc) => *doc = Arc::new(redacted_json(doc, red, budget)),
            v if v.is_card_number() => *v = FieldValue::Str(REDACTED.into()),
            _ => {}
        }
    }
    clean
}

/// `doc` redacted as log fields are: a member whose name is deny-listed becomes [`REDACTED`], every
/// string (member names too) is scanned, and an integer that is a card number is [`REDACTED`].
fn redacted_json(doc: &serde_json::Value, red: &Redactor, budget: &ScanBudget) -> serde_json::Value {
    use serde_json::Value;
    match doc {
        Value::String(s) => Value::String(red.redact_within(s, budget).into_owned()),
        Value::Number(n) => {
            // The number as a field would hold it, for the same card check.
            let field = n
                .as_u64()
                .map(FieldValue::U64)
                .or_else(|| n.as_i64().map(FieldValue::I64))
                .or_else(|| n.as_f64().map(FieldValue::F64));
            if field.is_some_and(|f| f.is_card_number()) {
                Value::String(REDACTED.into())
            } else {
                doc.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| redacted_json(v, red, budget)).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| {
                    let value = if red.is_denied_field(k) {
                        Value::String(REDACTED.into())
                    } else {
                        redacted_json(v, red, budget)
                    };
                    (red.redact_within(k, budget).into_owned(), value)
                })
                .collect(),
        ),
        Value::Null | Value::Bool(_) => doc.clone(),
    }
}

thread_local! {
    /// A `Debug` value's text on its way to a shared string, reused from value to value.
    static DEBUG_TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// `value`'s `Debug` text, formatted into [`DEBUG_TEXT`] and copied once (a `Debug` impl that logs,
/// finding the buffer taken, formats its own).
fn debug_text(value: &dyn fmt::Debug) -> Arc<str> {
    let kept = DEBUG_TEXT.try_with(|t| {
        let mut t = t.try_borrow_mut().ok()?;
        t.clear();
        let _ = fmt::Write::write_fmt(&mut *t, format_args!("{value:?}"));
        let text = Arc::<str>::from(t.as_str());
        if t.capacity() > 64 * 1024 {
            *t = String::new();
        }
        Some(text)
    });
    kept.ok()
        .flatten()
        .unwrap_or_else(|| Arc::from(format!("{value:?}")))
}

thread_local! {
    /// The last function ARN the default rules scanned whole and left unchanged. A process serves one
    /// function, so every invocation's span records the same ARN (or one of a few aliases): scanned
    /// once per thread, then compared.
    static CLEAN_ARN: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn is_known_clean_arn(v: &str) -> bool {
    CLEAN_ARN
        .try_with(|c| c.try_borrow().is_ok_and(|c| !c.is_empty() && *c == v))
        .unwrap_or(false)
}

fn remember_clean_arn(v: &str) {
    let _ = CLEAN_ARN.try_with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            c.clear();
            c.push_str(v);
        }
    });
}

impl FieldValue {
    /// Whether this is an integer that is a payment card number (`card = 4111111111111111u64`).
    fn is_card_number(&self) -> bool {
        let n = match *self {
            Self::I64(v) => u128::from(v.unsigned_abs()),
            Self::U64(v) => u128::from(v),
            Self::I128(v) => v.unsigned_abs(),
            Self::U128(v) => v,
            Self::F64(v) => return is_card_number_f64(v),
            _ => return false,
        };
        is_card_number(n)
    }
}

/// A value to print and, for a span's field (already redacted by [`redact_captured`]), its JSON
/// encoded once for every line inside the span ([`encode_span_value`]).
pub(crate) type Printed<'a> = (&'a FieldValue, Option<&'a [u8]>);

/// Appends the JSON of a span's field value as every line prints it: already redacted, so written as
/// it is — the bytes `Line`'s serialisation writes for it.
pub(crate) fn encode_span_value(out: &mut Vec<u8>, value: &FieldValue) {
    // What serde_json writes for these, without its serializer's set-up.
    match value {
        FieldValue::Str(s) => return write_str(out, s),
        FieldValue::Bool(b) => return out.extend_from_slice(if *b { b"true" } else { b"false" }),
        FieldValue::I64(v) => return out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        FieldValue::U64(v) => return out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        _ => {}
    }
    let printed = Redacted {
        name: "",
        value,
        redactor: None,
        by_name: false,
    };
    if printed.write_to(out).is_err() {
        // Unreachable for these values (no map keys, no I/O); `null` keeps the line valid.
        out.extend_from_slice(b"null");
    }
}

/// One log line, rendered through serde.
pub(crate) struct Line<'a> {
    pub(crate) timestamp: &'a Stamp,
    pub(crate) level: &'a str,
    pub(crate) message: &'a str,
    pub(crate) cfg: &'a LogConfig,
    pub(crate) context: [Option<Printed<'a>>; 7],
    pub(crate) fields: &'a [(&'static str, Printed<'a>)],
    /// The bytes [`Line::write_context`] writes for this line, written before for another line with
    /// the same context (the same span's values, the same configuration): copied instead.
    pub(crate) context_block: Option<&'a [u8]>,
}

impl Line<'_> {
    /// Appends the line as compact JSON: the bytes `serde_json::to_writer(out, self)` writes (its tests
    /// compare the two), with the span fields' JSON copied as encoded when they were recorded instead
    /// of serialised again for every line. Redaction runs in the same order, on one budget.
    pub(crate) fn write_compact(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        self.write_open(out)?;
        out.push(b'}');
        Ok(())
    }

    /// [`Self::write_compact`] without the closing brace: more members may follow.
    pub(crate) fn write_open(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let red = self.cfg.redactor.as_ref();
        let budget = red.map(Redactor::budget);
        let red = red.zip(budget.as_ref());
        out.extend_from_slice(b"{\"timestamp\":\"");
        // Digits and `-:T.Z` only: nothing to escape.
        out.extend_from_slice(self.timestamp.as_bytes());
        out.push(b'"');
        out.extend_from_slice(b",\"level\":");
        // The five level names, quoted as they are (nothing to escape).
        match self.level {
            "INFO" => out.extend_from_slice(b"\"INFO\""),
            "DEBUG" => out.extend_from_slice(b"\"DEBUG\""),
            "WARN" => out.extend_from_slice(b"\"WARN\""),
            "ERROR" => out.extend_from_slice(b"\"ERROR\""),
            "TRACE" => out.extend_from_slice(b"\"TRACE\""),
            other => write_str(out, other),
        }
        out.extend_from_slice(b",\"message\":");
        match red {
            Some((r, b)) => write_str(out, &r.redact_within(self.message, b)),
            None => write_str(out, self.message),
        }
        match self.context_block {
            Some(block) => out.extend_from_slice(block),
            None => self.write_context(out, red)?,
        }
        for (name, (value, json)) in self.fields {
            write_field_key(out, name);
            match json {
                Some(json) => out.extend_from_slice(json),
                None => {
                    let printed = Redacted {
                        name,
                        value,
                        redactor: red,
                        by_name: true,
                    };
                    printed.write_to(out)?;
                }
            }
        }
        Ok(())
    }

    /// The members between `message` and the fields: `service`, the context keys, `sampling_rate`.
    /// Context values without their JSON (an event's own) are redacted on the line's budget `red`.
    pub(crate) fn write_context(
        &self,
        out: &mut Vec<u8>,
        red: Option<(&Redactor, &ScanBudget)>,
    ) -> serde_json::Result<()> {
        write_context(out, self.cfg, &self.context, red)
    }
}

/// Appends `,"name":`, a field member's key: the line's own fields and the span fields a span's line
/// run copies ([`super::layer`]) are written through this.
pub(crate) fn write_field_key(out: &mut Vec<u8>, name: &str) {
    out.push(b',');
    write_str(out, name);
    out.push(b':');
}

/// The members between `message` and the fields: `service`, the context keys, `sampling_rate`.
/// Context values without their JSON (an event's own) are redacted on the line's budget `red`.
/// `context`: each context key's value, if the line has one.
pub(crate) fn write_context(
    out: &mut Vec<u8>,
    cfg: &LogConfig,
    context: &[Option<Printed<'_>>; 7],
    red: Option<(&Redactor, &ScanBudget)>,
) -> serde_json::Result<()> {
    out.extend_from_slice(b",\"service\":");
    write_str(out, &cfg.function.service);
    let f = &cfg.function;
    for (i, key) in CONTEXT_KEYS.iter().enumerate() {
        let key_json = |out: &mut Vec<u8>| {
            out.extend_from_slice(b",\"");
            // The context keys are plain ASCII words: nothing to escape.
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
        };
        match (context[i], i) {
            (Some((_, Some(json))), _) => {
                key_json(out);
                out.extend_from_slice(json);
            }
            (Some((v, None)), _) => {
                key_json(out);
                let printed = Redacted {
                    name: key,
                    value: v,
                    redactor: red,
                    by_name: false,
                };
                printed.write_to(out)?;
            }
            (None, 1) => {
                if let Some(name) = &f.function_name {
                    key_json(out);
                    write_str(out, name);
                }
            }
            (None, 2) => {
                if let Some(memory) = f.memory_size {
                    key_json(out);
                    serde_json::to_writer(&mut *out, &memory)?;
                }
            }
            (None, _) => {}
        }
    }
    if cfg.sample_rate > 0.0 {
        out.extend_from_slice(b",\"sampling_rate\":");
        serde_json::to_writer(&mut *out, &cfg.sample_rate)?;
    }
    Ok(())
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let red = self.cfg.redactor.as_ref();
        // One budget for the whole line: message, context keys and fields together.
        let budget = red.map(Redactor::budget);
        let red = red.zip(budget.as_ref());
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", self.timestamp.as_str())?;
        m.serialize_entry("level", self.level)?;
        match red {
            Some((r, b)) => m.serialize_entry("message", &r.redact_within(self.message, b))?,
            None => m.serialize_entry("message", self.message)?,
        }
        m.serialize_entry("service", &self.cfg.function.service)?;
        let f = &self.cfg.function;
        for (i, key) in CONTEXT_KEYS.iter().enumerate() {
            match (self.context[i], i) {
                (Some((v, json)), _) => m.serialize_entry(
                    key,
                    &Redacted {
                        name: key,
                        value: v,
                        // Context keys come from the event (correlation ids from request headers):
                        // scanned like any text, but never denied by name.
                        redactor: if json.is_some() { None } else { red },
                        by_name: false,
                    },
                )?,
                // The configured name and memory size: ours, not from an event — nothing to scan.
                (None, 1) => {
                    if let Some(name) = &f.function_name {
                        m.serialize_entry(key, name)?;
                    }
                }
                (None, 2) => {
                    if let Some(memory) = f.memory_size {
                        m.serialize_entry(key, &memory)?;
                    }
                }
                (None, _) => {}
            }
        }
        if self.cfg.sample_rate > 0.0 {
            m.serialize_entry("sampling_rate", &self.cfg.sample_rate)?;
        }
        for (name, (value, json)) in self.fields {
            m.serialize_entry(
                name,
                &Redacted {
                    name,
                    value,
                    redactor: if json.is_some() { None } else { red },
                    by_name: true,
                },
            )?;
        }
        m.end()
    }
}

struct Redacted<'a> {
    name: &'static str,
    value: &'a FieldValue,
    redactor: Option<(&'a Redactor, &'a ScanBudget)>,
    by_name: bool,
}

impl Redacted<'_> {
    /// Appends the JSON `serialize` writes: strings through [`write_str`], the rest through serde_json.
    fn write_to(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let FieldValue::Str(v) = self.value else {
            return serde_json::to_writer(out, self);
        };
        match self.redactor {
            Some((r, _)) if self.by_name && r.is_denied_static(self.name) => write_str(out, REDACTED),
            Some((r, b)) => write_str(out, &r.redact_within(v, b)),
            None => write_str(out, v),
        }
        Ok(())
    }
}

/// An error's source chain (already redacted), outermost first, as nested `{message, cause}` objects.
struct CauseChain<'a>(&'a [String]);

impl Serialize for CauseChain<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some((first, rest)) = self.0.split_first() else {
            return s.serialize_none();
        };
        let mut m = s.serialize_map(Some(1 + usize::from(!rest.is_empty())))?;
        m.serialize_entry("message", first)?;
        if !rest.is_empty() {
            m.serialize_entry("cause", &CauseChain(rest))?;
        }
        m.end()
    }
}

impl Serialize for Redacted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some((r, _)) = self.redactor
            && ((self.by_name && r.is_denied_static(self.name)) || self.value.is_card_number())
        {
            return s.serialize_str(REDACTED);
        }
        match self.value {
            FieldValue::Str(v) => match self.redactor {
                Some((r, b)) => s.serialize_str(&r.redact_within(v, b)),
                None => s.serialize_str(v),
            },
            FieldValue::Json(doc) => match self.redactor {
                Some((r, b)) => redacted_json(doc, r, b).serialize(s),
                None => doc.serialize(s),
            },
            FieldValue::Bool(v) => s.serialize_bool(*v),
            FieldValue::I64(v) => s.serialize_i64(*v),
            FieldValue::U64(v) => s.serialize_u64(*v),
            FieldValue::I128(v) => s.serialize_i128(*v),
            FieldValue::U128(v) => s.serialize_u128(*v),
            // JSON has no NaN/inf: print them as strings rather than produce an invalid line.
            FieldValue::F64(v) if v.is_finite() => s.serialize_f64(*v),
            FieldValue::F64(v) => s.serialize_str(&v.to_string()),
            FieldValue::Error(e) => {
                let redact = |t: &str| {
                    self.redactor
                        .map_or_else(|| t.to_owned(), |(r, b)| r.redact_within(t, b).into_owned())
                };
                let kind = self
                    .redactor
                    .map_or(e.kind.as_str(), |(r, b)| printed_kind(&e.kind, r, b));
                let causes: Vec<String> = e.causes.iter().map(|c| redact(c)).collect();
                let mut m = s.serialize_map(Some(
                    4 + usize::from(!causes.is_empty()) + usize::from(e.location.is_some()),
                ))?;
                // `name` is Powertools' key for it (its users' queries read `error.name`).
                m.serialize_entry("name", kind)?;
                m.serialize_entry("type", kind)?;
                // Powertools (TypeScript): where it was raised; here, the event or span recording it.
                if let Some(location) = &e.location {
                    m.serialize_entry("location", location)?;
                }
                m.serialize_entry("message", &redact(&e.message))?;
                // Powertools (TypeScript) nests the source chain as `cause {message, cause}`; queries
                // on `error.cause.message` read it. The flat list stays for ours.
                if !causes.is_empty() {
                    m.serialize_entry("cause", &CauseChain(&causes))?;
                }
                m.serialize_entry("causes", &causes)?;
                m.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{JsonLogLayer, LogConfig};
    use super::*;
    use crate::context::FunctionInfo;
    use crate::testing::CapturedWriter;
    use proptest::prelude::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// A cut point never splits an escape or a UTF-8 character: every boundary at or below the
    /// wanted length is the last one a whole token ends at.
    #[test]
    fn cut_points_fall_between_characters_and_escapes() {
        let s = r#"a\u0001é\n€😀z"#.as_bytes();
        // Tokens: a(1) \u0001(6) é(2) \n(2) €(3) 😀(4) z(1): ends at 1, 7, 9, 11, 14, 18, 19.
        let ends = [0, 1, 7, 9, 11, 14, 18, 19];
        for want in 0..=s.len() + 2 {
            let at = token_boundary(s, want);
            let expect = *ends.iter().rev().find(|&&e| e <= want).unwrap();
            assert_eq!(at, expect, "want {want}");
        }
    }

    proptest! {
        /// Whatever the line, the answer fits, is one JSON object with the same keys, and a line that
        /// fitted is answered as it was.
        #[test]
        fn any_line_comes_back_within_the_limit_as_json(
            values in proptest::collection::vec(("[a-z]{1,8}", "\\PC{0,40}", 0usize..200_000), 1..8),
        ) {
            let mut map = serde_json::Map::new();
            for (k, v, n) in &values {
                map.insert(k.clone(), serde_json::Value::String(v.repeat(n / v.len().max(1) + 1)));
            }
            let mut line = serde_json::to_vec(&serde_json::Value::Object(map.clone())).unwrap();
            line.push(b'\n');
            let out = within_event_limit(&line, false);
            prop_assert!(out.len() <= MAX_LINE_BYTES);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            if line.len() <= MAX_LINE_BYTES {
                prop_assert_eq!(&*out, &line[..]);
            } else if v.get("message").and_then(|m| m.as_str()).is_none_or(|m| !m.contains("was withheld")) {
                let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
                let want: Vec<&String> = map.keys().collect();
                prop_assert_eq!(keys, want);
            }
        }
    }

    fn lines(cfg: LogConfig, f: impl FnOnce()) -> Vec<serde_json::Value> {
        let out = CapturedWriter::default();
        let layer = JsonLogLayer::new(cfg).with_writer(out.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        out.json_lines()
    }

    /// A name given twice keeps its last value, in the first one's place, whether or not another
    /// name has its length; names seen once keep their order.
    #[test]
    fn a_name_given_twice_keeps_its_last_value() {
        let span = tracing::info_span!("s", ab = 1u64, cd = 2u64, ab = 3u64, xyz = 4u64, ab = 5u64);
        let meta = span.metadata().map(|m| m.fields().iter().collect::<Vec<_>>());
        let names: Vec<_> = meta
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|f| f.name())
            .collect();
        assert_eq!(names, ["ab", "cd", "ab", "xyz", "ab"]);
        let mut c = FieldCollector::with_capacity(5);
        for (f, v) in meta.unwrap_or_default().iter().zip([1u64, 2, 3, 4, 5]) {
            c.record_u64(f, v);
        }
        assert_eq!(
            c.fields,
            [
                ("ab", FieldValue::U64(5)),
                ("cd", FieldValue::U64(2)),
                ("xyz", FieldValue::U64(4))
            ]
        );
        c.release();
        let only = tracing::info_span!("t", ab = 1u64);
        for f in only
            .metadata()
            .map(|m| m.fields().iter().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            c.record_u64(&f, 9);
        }
        assert_eq!(
            c.fields,
            [("ab", FieldValue::U64(9))],
            "a released collector starts afresh"
        );
    }

    /// `redact_captured` does not test the context keys' names against the deny list, and marks them
    /// clean for the span layer, whose `redact_attribute` does: that holds only while the default rules
    /// deny none of them.
    #[test]
    fn the_default_rules_deny_no_context_key() {
        let red = Redactor::default();
        for key in CONTEXT_KEYS {
            assert!(!red.is_denied_field(key), "{key}");
        }
    }

    /// Bit `i` is set for the fields the default rules scanned whole and left as they were, and only
    /// those: not a secret, a denied name, a field cut by the budget, or one under other rules.
    #[test]
    fn clean_marks_only_fields_left_whole_by_the_default_rules() {
        let fields = || {
            vec![
                ("card_id", FieldValue::Str("c-1".into())),
                ("url", FieldValue::Str("https://x.io/?token=abc".into())),
                ("api_token", FieldValue::Str("plain".into())),
                (
                    "function_arn",
                    FieldValue::Str("arn:aws:lambda:eu-west-1:1:function:f".into()),
                ),
                ("count", FieldValue::U64(3)),
                ("telemetry.trace_header", FieldValue::Str("Root=1-a".into())),
                ("contact", FieldValue::Str("ana@example.com".into())),
            ]
        };
        assert_eq!(redact_captured(&mut fields(), &Redactor::default()), 0b1001);
        assert_eq!(
            redact_captured(&mut fields(), &Redactor::default().keep_emails()),
            0
        );
        // 20 bytes: `c-1` fits, the URL does not (cut), the ARN finds the budget spent.
        let small = Redactor::default().with_max_scan_bytes(20);
        assert_eq!(redact_captured(&mut fields(), &small), 0b1);
    }

    /// The ARN a thread has found clean is not scanned again, and nothing else passes for it.
    #[test]
    fn a_known_clean_arn_is_taken_as_it_is_and_only_it() {
        let red = Redactor::default();
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:valuate";
        for _ in 0..2 {
            let mut f = vec![("function_arn", FieldValue::Str(arn.into()))];
            assert_eq!(redact_captured(&mut f, &red), 1);
            assert_eq!(f[0].1, FieldValue::Str(arn.into()));
        }
        // A context key's scan (or its known-clean ARN) leaves the other fields' budget whole.
        let small = Redactor::default().with_max_scan_bytes(arn.len() + 5);
        let mut f = vec![
            ("function_arn", FieldValue::Str(arn.into())),
            ("note", FieldValue::Str("abcdefghij".into())),
        ];
        assert_eq!(redact_captured(&mut f, &small), 0b11);
        assert_eq!(f[1].1, FieldValue::Str("abcdefghij".into()), "{f:?}");
        let tainted = format!("{arn}:token=tk-live-9");
        let mut f = vec![("function_arn", FieldValue::Str(tainted.as_str().into()))];
        assert_eq!(redact_captured(&mut f, &red), 0);
        assert_ne!(f[0].1, FieldValue::Str(tainted.into()));
        // The same ARN under other rules, and a clean ARN under another name: scanned as ever.
        let mut f = vec![
            ("function_arn", FieldValue::Str(arn.into())),
            ("arn", FieldValue::Str(arn.into())),
        ];
        assert_eq!(redact_captured(&mut f, &red.clone().keep_emails()), 0);
        let mut f = vec![(
            "function_arn",
            FieldValue::Str(format!("{arn}:ana@example.com").into()),
        )];
        assert_eq!(redact_captured(&mut f, &red), 0, "an e-mail in the ARN");
        // A budget too small for it: not taken whole.
        let mut f = vec![("function_arn", FieldValue::Str(arn.into()))];
        assert_eq!(
            redact_captured(&mut f, &Redactor::default().with_max_scan_bytes(10)),
            0
        );
    }

    #[test]
    fn integer_card_numbers_are_redacted_in_events_and_spans() {
        let got = lines(LogConfig::new("s"), || {
            let _s = tracing::info_span!(
                "charge",
                amount = 4_222_222_222_222u64,
                order = 1_234_567_812_345_670u64
            )
            .entered();
            tracing::info!(
                card_number = 4_111_111_111_111_111u64,
                card = 5_555_555_555_554_444i64,
                big = 378_282_246_310_005u128,
                cvv = 737u64,
                epoch_ms = 1_732_871_234_567u64,
                qty = 2,
                total = 4_111_111_111_111_111.0f64,
                price = 120.5f64,
                "charged"
            );
        });
        let l = &got[0];
        assert_eq!(l["price"], 120.5, "not whole: {l}");
        for key in ["card_number", "card", "big", "cvv", "amount", "total"] {
            assert_eq!(l[key], "[REDACTED]", "{key}: {l}");
        }
        assert_eq!(l["epoch_ms"], 1_732_871_234_567u64, "not a card: {l}");
        assert_eq!(
            l["order"], 1_234_567_812_345_670u64,
            "Luhn-valid but no issuer prefix: {l}"
        );
        assert_eq!(l["qty"], 2);
        let got = lines(LogConfig::new("s").with_redactor(None), || {
            tracing::info!(card = 4_111_111_111_111_111u64, "x");
        });
        assert_eq!(got[0]["card"], 4_111_111_111_111_111u64, "redaction off");
    }

    /// An error whose `Debug` starts with a secret (a token in a tuple struct's or an enum's name,
    /// or a `Debug` that prints the credential first): `error.name`/`error.type` print no more of it
    /// than the message would — `Error` when redaction would change it — in events and in spans.
    #[test]
    fn an_error_name_that_holds_a_secret_is_not_printed() {
        struct Leaky(&'static str);
        impl fmt::Debug for Leaky {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} {{ status: 401 }}", self.0)
            }
        }
        impl fmt::Display for Leaky {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bad credentials")
            }
        }
        impl std::error::Error for Leaky {}
        for secret in [
            "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            "AKIAIOSFODNN7EXAMPLE",
            "password:hunter2",
        ] {
            let e = Leaky(secret);
            let got = lines(LogConfig::new("s"), || {
                let _s =
                    tracing::info_span!("call", cause = &e as &(dyn std::error::Error + 'static)).entered();
                tracing::error!(error = &e as &(dyn std::error::Error + 'static), "failed");
            });
            let l = &got[0];
            let text = l.to_string();
            assert!(!text.contains(secret) && !text.contains("hunter2"), "{text}");
            for key in ["error", "cause"] {
                assert_eq!(l[key]["name"], "Error", "{key}: {l}");
                assert_eq!(l[key]["type"], "Error", "{key}: {l}");
                assert_eq!(l[key]["message"], "bad credentials", "{key}: {l}");
            }
        }
        // An ordinary name stays.
        let e = Leaky("NotFound");
        let got = lines(LogConfig::new("s"), || {
            tracing::error!(error = &e as &(dyn std::error::Error + 'static), "failed");
        });
        assert_eq!(got[0]["error"]["name"], "NotFound");
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z ]{0,12}",
            "(password=|token: |mail )[a-z0-9@.]{3,20}",
            "[\"\\\\\\x00-\\x1f é😀]{0,8}",
            any::<String>(),
        ]
    }

    fn value() -> impl Strategy<Value = FieldValue> {
        prop_oneof![
            text().prop_map(|t| FieldValue::Str(t.into())),
            any::<bool>().prop_map(FieldValue::Bool),
            any::<i64>().prop_map(FieldValue::I64),
            any::<u64>().prop_map(FieldValue::U64),
            any::<i128>().prop_map(FieldValue::I128),
            any::<u128>().prop_map(FieldValue::U128),
            any::<f64>().prop_map(FieldValue::F64),
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(0.1), Just(-0.0)].prop_map(FieldValue::F64),
            (text(), text(), proptest::collection::vec(text(), 0..3)).prop_map(|(kind, message, causes)| {
                FieldValue::Error(Box::new(ErrorValue {
                    kind,
                    message,
                    causes,
                    location: None,
                }))
            }),
        ]
    }

    fn name() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "card_id",
            "api_token",
            "user_password",
            "n",
            "q\"uote",
            "é",
            "stage",
        ])
    }

    proptest! {
        /// A span value's JSON is what serde_json writes for it (its own fast paths for strings,
        /// booleans and integers included).
        #[test]
        fn span_values_encode_as_serde_json_writes_them(v in value()) {
            let mut fast = Vec::new();
            encode_span_value(&mut fast, &v);
            let serde = serde_json::to_vec(&Redacted { name: "", value: &v, redactor: None, by_name: false })
                .unwrap();
            prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(serde).unwrap());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The compact writer is `serde_json::to_writer` of the line, span fields' JSON included, with
        /// redaction on or off and budgets small enough to run out within a line; laid out, it is
        /// `serde_json::to_writer_pretty` of the line.
        #[test]
        fn compact_writer_is_the_serde_serialisation(
            message in text(),
            context in proptest::collection::vec(proptest::option::of((value(), any::<bool>())), 7),
            fields in proptest::collection::vec((name(), value(), any::<bool>()), 0..6),
            redact in proptest::option::of(0usize..64),
            sample_rate in prop_oneof![Just(0.0), Just(0.1), Just(1.0)],
            function_name in proptest::option::of(text()),
            memory in proptest::option::of(any::<u32>()),
        ) {
            let mut cfg = LogConfig::new("valu\"ation").with_function(FunctionInfo {
                service: "valu\"ation".into(),
                function_name,
                memory_size: memory,
                ..Default::default()
            });
            cfg = cfg.with_sample_rate(sample_rate);
            cfg = cfg.with_redactor(redact.map(|n| Redactor::default().with_max_scan_bytes(n * 4)));
            // A span's values as the log layer keeps them: their JSON encoded once.
            let encode = |v: &FieldValue| {
                let mut j = Vec::new();
                encode_span_value(&mut j, v);
                j
            };
            let context_json: Vec<Option<Vec<u8>>> =
                context.iter().map(|c| c.as_ref().filter(|(_, span)| *span).map(|(v, _)| encode(v))).collect();
            let fields_json: Vec<Option<Vec<u8>>> =
                fields.iter().map(|(_, v, span)| span.then(|| encode(v))).collect();
            let mut ctx: [Option<Printed<'_>>; 7] = [None; 7];
            for (i, c) in context.iter().enumerate() {
                ctx[i] = c.as_ref().map(|(v, _)| (v, context_json[i].as_deref()));
            }
            let printed: Vec<(&str, Printed<'_>)> = fields
                .iter()
                .zip(&fields_json)
                .map(|((n, v, _), j)| (*n, (v, j.as_deref())))
                .collect();
            let line = Line {
                timestamp: &crate::clock::Stamp::new(
                    std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_796_317_200_123),
                ),
                level: "INFO",
                message: &message,
                cfg: &cfg,
                context: ctx,
                fields: &printed,
                context_block: None,
            };
            let mut compact = b"kept".to_vec();
            line.write_compact(&mut compact).unwrap();
            prop_assert!(compact.starts_with(b"kept"));
            let serde = serde_json::to_vec(&line).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&compact[4..]), String::from_utf8_lossy(&serde));
            // The pretty line (`POWERTOOLS_DEV`) is the compact one laid out as serde pretty-prints.
            let mut pretty = Vec::new();
            crate::json::write_pretty(&mut pretty, &compact[4..]);
            let serde_pretty = serde_json::to_vec_pretty(&line).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&pretty), String::from_utf8_lossy(&serde_pretty));
        }
    }
}
