//! Trace context in and out: W3C Trace Context (`traceparent`, `tracestate`) and the X-Ray header
//! (`X-Amzn-Trace-Id`), read from the events that start an invocation and written on outgoing calls.
//!
//! Specs: W3C Trace Context Level 1 <https://www.w3.org/TR/trace-context/> (§3.2 `traceparent`, §3.3
//! `tracestate`), and the X-Ray header <https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader>.
//! Where the context travels in events:
//! - API Gateway (REST and HTTP) and ALB: request `headers` (`traceparent`, `tracestate`,
//!   `X-Amzn-Trace-Id`), names case-insensitive;
//! - SQS: the system attribute `attributes.AWSTraceHeader` (X-Ray format), or a message attribute
//!   `messageAttributes.traceparent.stringValue` set by an OpenTelemetry producer;
//! - EventBridge: the event's `trace-header`/`traceparent` in `detail` when the producer put them there
//!   (EventBridge itself hands its X-Ray header to the Lambda invoke, as `context.xray_trace_id`).
//!
//! Inside Lambda the invocation's parent is Lambda's own segment (`context.xray_trace_id`); a context
//! found in the event is the parent only when Lambda gave none ([`event_parent`]), or first when
//! `OTEL_PROPAGATORS` leaves out `xray-lambda` ([`event_parent_for`], [`Propagators`]); the event is
//! read only through the propagators `OTEL_PROPAGATORS` names ([`event_context_for`]).

use crate::xray::{OutgoingContext, Sampled, TraceHeader};
use opentelemetry::{SpanId, TraceId};
use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

/// The W3C header names.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C vendor state header.
pub const TRACESTATE: &str = "tracestate";
/// The X-Ray header name as it appears on HTTP requests.
pub const XRAY_HEADER: &str = "x-amzn-trace-id";

/// Longest `tracestate` kept (the spec lets a receiver drop it beyond 512 characters).
pub const MAX_TRACESTATE: usize = 512;

/// A parsed `traceparent`: `{version}-{trace id}-{parent id}-{flags}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The 128-bit trace id (never all zero).
    pub trace_id: TraceId,
    /// The caller's span id (never all zero).
    pub parent_id: SpanId,
    /// The `sampled` flag (bit 0 of `trace-flags`).
    pub sampled: bool,
}

/// Why a `traceparent` was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceParentError {
    /// Not four dash-separated fields of the right lengths.
    #[error("traceparent {0:?} is not version-traceid-parentid-flags")]
    Shape(String),
    /// A field holds something other than lowercase hex.
    #[error("traceparent {0:?} has a field that is not lowercase hex")]
    NotHex(String),
    /// Version `ff` (forbidden) or version `00` with trailing data.
    #[error("traceparent {0:?} has an invalid version")]
    Version(String),
    /// All-zero trace id or parent id.
    #[error("traceparent {0:?} has an all-zero trace id or parent id")]
    Zero(String),
}

fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Shortens a rejected value for an error message (never the whole of a hostile input).
fn shown(s: &str) -> String {
    s.chars().take(80).collect()
}

impl TraceParent {
    /// Parses a `traceparent` value. Never panics, whatever the input; work is bounded by the first
    /// 256 bytes it looks at.
    ///
    /// Follows §3.2 and §4.3 of the spec: version `00` must be exactly 55 characters; a higher version
    /// may carry more fields after the fourth (ignored); `ff` is invalid; ids must not be all zero.
    ///
    /// ```
    /// use telemetry::propagation::TraceParent;
    /// let tp = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
    /// assert!(tp.sampled);
    /// assert_eq!(tp.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    /// # Ok::<(), telemetry::propagation::TraceParentError>(())
    /// ```
    ///
    /// # Errors
    /// A value that breaks the spec's grammar, a forbidden version or all-zero ids.
    pub fn parse(value: &str) -> Result<Self, TraceParentError> {
        let v = value.trim_matches(|c| c == ' ' || c == '\t');
        let bytes = v.as_bytes();
        if bytes.len() < 55 || !v.is_char_boundary(55) {
            return Err(TraceParentError::Shape(shown(v)));
        }
        let head = &v[..55];
        let fields: Vec<&str> = head.split('-').collect();
        let [version, trace, parent, flags] = fields.as_slice() else {
            return Err(TraceParentError::Shape(shown(v)));
        };
        if (version.len(), trace.len(), parent.len(), flags.len()) != (2, 32, 16, 2) {
            return Err(TraceParentError::Shape(shown(v)));
        }
        if !(lower_hex(version) && lower_hex(trace) && lower_hex(parent) && lower_hex(flags)) {
            return Err(TraceParentError::NotHex(shown(v)));
        }
        let rest = &v[55..];
        match *version {
            "ff" => return Err(TraceParentError::Version(shown(v))),
            "00" if !rest.is_empty() => return Err(TraceParentError::Version(shown(v))),
            // A future version may append fields, each after a dash.
            _ if !rest.is_empty() && !rest.starts_with('-') => {
                return Err(TraceParentError::Shape(shown(v)));
            }
            _ => {}
        }
        let trace_id = u128::from_str_radix(trace, 16).map_err(|_| TraceParentError::NotHex(shown(v)))?;
        let parent_id = u64::from_str_radix(parent, 16).map_err(|_| TraceParentError::NotHex(shown(v)))?;
        let flags = u8::from_str_radix(flags, 16).map_err(|_| TraceParentError::NotHex(shown(v)))?;
        if trace_id == 0 || parent_id == 0 {
            return Err(TraceParentError::Zero(shown(v)));
        }
        Ok(Self {
            trace_id: TraceId::from_bytes(trace_id.to_be_bytes()),
            parent_id: SpanId::from_bytes(parent_id.to_be_bytes()),
            sampled: flags & 1 == 1,
        })
    }

    /// The same context as an X-Ray header (`Root` is the trace id split 8+24, `Parent` the span id).
    #[must_use]
    pub fn to_xray(&self) -> TraceHeader {
        TraceHeader {
            root: self.trace_id,
            parent: Some(self.parent_id),
            sampled: if self.sampled { Sampled::Yes } else { Sampled::No },
            lineage: None,
            extra: Vec::new(),
        }
    }

    /// The context of an X-Ray header, when it has a `Parent`. `Sampled=?` or none counts as not
    /// sampled: W3C has no "decide for me".
    #[must_use]
    pub fn from_xray(header: &TraceHeader) -> Option<Self> {
        Some(Self {
            trace_id: header.root,
            parent_id: header.parent?,
            sampled: header.is_sampled(),
        })
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{}",
            self.trace_id,
            self.parent_id,
            if self.sampled { "01" } else { "00" }
        )
    }
}

/// The most list-members a `tracestate` may have (W3C Trace Context §3.3.1.1).
pub const MAX_TRACESTATE_MEMBERS: usize = 32;

/// A `tracestate` value as it may be kept and forwarded, or `None` when it breaks W3C Trace Context's
/// grammar (§3.3.1): each list-member `key=value` with a key of lowercase letters, digits and
/// `_-*/` (`tenant@system` for multi-tenant keys), a value of 1–256 printable characters other than
/// `,` and `=` not ending in a space, each key once, at most [`MAX_TRACESTATE_MEMBERS`] members. The
/// whole header is dropped on any fault, as §3.3.1.1 allows. Spaces and tabs around members and
/// empty members are allowed and left out of the result. A list longer than [`MAX_TRACESTATE`]
/// characters loses whole members until it fits, as §3.3.1.5 says: those over 128 characters
/// first, then from the end.
///
/// ```
/// use telemetry::propagation::valid_tracestate;
/// assert_eq!(valid_tracestate(" congo=t61rcWkgMzE ").as_deref(), Some("congo=t61rcWkgMzE"));
/// assert_eq!(valid_tracestate("rojo=00f067aa0ba902b7,\tcongo=t61rcWkgMzE").as_deref(),
///            Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
/// assert_eq!(valid_tracestate("a=1\nb=2"), None);
/// assert_eq!(valid_tracestate("congo=a,congo=b"), None, "a key twice");
/// assert_eq!(valid_tracestate("rojo==x"), None, "`=` in a value");
/// ```
#[must_use]
pub fn valid_tracestate(value: &str) -> Option<Cow<'_, str>> {
    let ows = |c: char| c == ' ' || c == '\t';
    let v = value.trim_matches(ows);
    // 32 members of a 256-character key and value each, with room for blanks: anything longer is
    // not a list to read.
    if v.is_empty() || v.len() > MAX_TRACESTATE_MEMBERS * 1024 {
        return None;
    }
    let mut keys: Vec<&str> = Vec::with_capacity(4);
    let mut tidy = true;
    for member in v.split(',') {
        let m = member.trim_matches(ows);
        tidy &= m.len() == member.len() && !m.is_empty();
        if m.is_empty() {
            continue;
        }
        let (key, val) = m.split_once('=')?;
        if !tracestate_key(key) || !tracestate_value(val) || keys.contains(&key) {
            return None;
        }
        keys.push(key);
        if keys.len() > MAX_TRACESTATE_MEMBERS {
            return None;
        }
    }
    if keys.is_empty() {
        None
    } else if tidy && v.len() <= MAX_TRACESTATE {
        Some(Cow::Borrowed(v))
    } else {
        let mut members: Vec<&str> = v
            .split(',')
            .map(|m| m.trim_matches(ows))
            .filter(|m| !m.is_empty())
            .collect();
        let length = |m: &[&str]| m.iter().map(|x| x.len()).sum::<usize>() + m.len().saturating_sub(1);
        while length(&members) > MAX_TRACESTATE {
            match members.iter().rposition(|m| m.len() > 128) {
                Some(i) => members.remove(i),
                None => members.pop()?,
            };
        }
        (!members.is_empty()).then(|| Cow::Owned(members.join(",")))
    }
}

/// The OpenTelemetry `TraceState` of a `tracestate` value that [`valid_tracestate`] kept.
/// opentelemetry 0.33 refuses a key whose system id has all the 14 characters W3C allows
/// (`tenant@abcdefghijklmn`), and with it the whole list: such a member is left out instead, and the
/// others still carried on.
pub(crate) fn trace_state(valid: &str) -> opentelemetry::trace::TraceState {
    use opentelemetry::trace::TraceState;
    valid.parse().unwrap_or_else(|_| {
        let members = valid
            .split(',')
            .filter_map(|m| m.split_once('='))
            .filter(|kv| TraceState::from_key_value([*kv]).is_ok());
        TraceState::from_key_value(members).unwrap_or_default()
    })
}

/// A `tracestate` key: `lcalpha 0*255(lcalpha / DIGIT / "_" / "-"/ "*" / "/")`, or
/// `tenant@system` with a tenant of 1–241 (starting with a letter or digit) and a system of 1–14
/// (starting with a letter).
fn tracestate_key(key: &str) -> bool {
    let rest = |b: &[u8]| {
        b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/'))
    };
    match key.split_once('@') {
        None => {
            let b = key.as_bytes();
            (1..=256).contains(&b.len()) && b[0].is_ascii_lowercase() && rest(&b[1..])
        }
        Some((tenant, system)) => {
            let (t, s) = (tenant.as_bytes(), system.as_bytes());
            (1..=241).contains(&t.len())
                && (t[0].is_ascii_lowercase() || t[0].is_ascii_digit())
                && rest(&t[1..])
                && (1..=14).contains(&s.len())
                && s[0].is_ascii_lowercase()
                && rest(&s[1..])
        }
    }
}

/// A `tracestate` value: `0*255(chr) nblk-chr`, where `chr` is `%x20-7E` but `,` and `=`, and the
/// last is not a space.
fn tracestate_value(value: &str) -> bool {
    let b = value.as_bytes();
    (1..=256).contains(&b.len())
        && b.iter()
            .all(|&c| (0x20..0x7f).contains(&c) && c != b',' && c != b'=')
        && b[b.len() - 1] != b' '
}

/// A trace context found in an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContext {
    /// The context, as an X-Ray header (what the invocation span takes).
    pub header: TraceHeader,
    /// `tracestate` that came with a W3C `traceparent`, forwarded unchanged.
    pub tracestate: Option<String>,
    /// Where it was found, for logs and tests: `headers.traceparent`, `attributes.AWSTraceHeader` ….
    pub source: &'static str,
}

fn header_ci<'a>(headers: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    headers
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// The value of the request header `name` in an API Gateway or ALB event: its `multiValueHeaders`
/// (REST APIs, ALB with multi-value headers on) joined with `,` as RFC 9110 §5.3 combines repeated
/// fields (two `traceparent` fields make an invalid one, two `tracestate` fields one list), else
/// `headers`.
fn event_header<'a>(event: &'a serde_json::Value, name: &str) -> Option<Cow<'a, str>> {
    let multi = event
        .get("multiValueHeaders")
        .and_then(|m| m.as_object())
        .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .and_then(|(_, v)| v.as_array());
    if let Some(values) = multi {
        let texts: Vec<&str> = values.iter().filter_map(serde_json::Value::as_str).collect();
        match texts.as_slice() {
            [] => {}
            [one] => return Some(Cow::Borrowed(one)),
            _ => return Some(Cow::Owned(texts.join(","))),
        }
    }
    event
        .get("headers")
        .and_then(|h| header_ci(h, name))
        .map(Cow::Borrowed)
}

fn from_w3c(tp: &str, ts: Option<&str>, source: &'static str) -> Option<EventContext> {
    let tp = TraceParent::parse(tp).ok()?;
    Some(EventContext {
        header: tp.to_xray(),
        tracestate: ts.and_then(valid_tracestate).map(Cow::into_owned),
        source,
    })
}

fn from_xray(text: &str, source: &'static str) -> Option<EventContext> {
    let header = TraceHeader::parse(text).ok()?;
    header.parent?;
    Some(EventContext {
        header,
        tracestate: None,
        source,
    })
}

/// The trace context an event carries, W3C first (a `traceparent` names the caller's own span), then
/// X-Ray. `None` when the event carries none, or only malformed ones. This is
/// [`event_context_for`] with both propagators on (the default).
///
/// ```
/// use serde_json::json;
/// let api = json!({"headers": {"Traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
///                  "requestContext": {"requestId": "r"}});
/// let cx = telemetry::propagation::event_context(&api).unwrap();
/// assert_eq!(cx.header.to_string(), "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1");
/// let sqs = json!({"Records": [{"eventSource": "aws:sqs", "attributes":
///     {"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}}]});
/// assert_eq!(telemetry::propagation::event_context(&sqs).unwrap().source, "attributes.AWSTraceHeader");
/// ```
#[must_use]
pub fn event_context(event: &serde_json::Value) -> Option<EventContext> {
    event_context_for(event, Propagators::default())
}

/// The trace context an event carries under `propagators`: W3C (`traceparent`, `tracestate`) only
/// when `tracecontext` is on, X-Ray (`X-Amzn-Trace-Id`, `AWSTraceHeader`, `trace-header`) only when
/// `xray` (or `xray-lambda`) is; W3C first when both are. `none` reads nothing, as the OpenTelemetry
/// specification's `none` ("no automatically configured propagator") requires.
///
/// ```
/// use serde_json::json;
/// use telemetry::propagation::{Propagators, event_context_for};
/// let api = json!({"headers": {
///     "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
///     "x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}});
/// assert_eq!(event_context_for(&api, Propagators::parse("xray")).unwrap().source, "headers.x-amzn-trace-id");
/// assert_eq!(event_context_for(&api, Propagators::parse("none")), None);
/// ```
#[must_use]
pub fn event_context_for(event: &serde_json::Value, propagators: Propagators) -> Option<EventContext> {
    let (w3c, xray) = (propagators.tracecontext, propagators.xray);
    if !(w3c || xray) {
        return None;
    }
    if w3c
        && let Some(cx) = event_header(event, TRACEPARENT).and_then(|tp| {
            from_w3c(
                &tp,
                event_header(event, TRACESTATE).as_deref(),
                "headers.traceparent",
            )
        })
    {
        return Some(cx);
    }
    if xray
        && let Some(cx) =
            event_header(event, XRAY_HEADER).and_then(|h| from_xray(&h, "headers.x-amzn-trace-id"))
    {
        return Some(cx);
    }
    // A message's context is the parent of a batch of one only: a span of many messages links to
    // each (`sqs_message_links`), as the OpenTelemetry messaging conventions say ("Exclusively for
    // single messages scenarios, the 'Process' span MAY use the message's creation context as its
    // parent").
    if let Some([record]) = event
        .get("Records")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        && is_sqs(record)
        && let Some(cx) = sqs_record_context(record, propagators)
    {
        return Some(cx);
    }
    if event.get("detail-type").is_some()
        && let Some(detail) = event.get("detail")
    {
        let ts = detail.get(TRACESTATE).and_then(serde_json::Value::as_str);
        if w3c
            && let Some(cx) = detail
                .get(TRACEPARENT)
                .and_then(serde_json::Value::as_str)
                .and_then(|tp| from_w3c(tp, ts, "detail.traceparent"))
        {
            return Some(cx);
        }
        if xray
            && let Some(cx) = detail
                .get("trace-header")
                .and_then(serde_json::Value::as_str)
                .and_then(|h| from_xray(h, "detail.trace-header"))
        {
            return Some(cx);
        }
    }
    None
}

fn is_sqs(record: &serde_json::Value) -> bool {
    record.get("eventSource").and_then(serde_json::Value::as_str) == Some("aws:sqs")
}

/// One SQS record's trace context: an OpenTelemetry producer's `traceparent` message attribute,
/// else the `AWSTraceHeader` system attribute SQS fills from the sender's X-Ray context; each only
/// when its propagator is on.
fn sqs_record_context(record: &serde_json::Value, propagators: Propagators) -> Option<EventContext> {
    let attr = |name: &str| {
        record
            .get("messageAttributes")?
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.get("stringValue")?.as_str())
    };
    if propagators.tracecontext
        && let Some(cx) =
            attr(TRACEPARENT).and_then(|tp| from_w3c(tp, attr(TRACESTATE), "messageAttributes.traceparent"))
    {
        return Some(cx);
    }
    if !propagators.xray {
        return None;
    }
    crate::context::json_path(record, &["attributes", "AWSTraceHeader"])
        .and_then(serde_json::Value::as_str)
        .and_then(|h| from_xray(h, "attributes.AWSTraceHeader"))
}

/// Links kept per span, as the OpenTelemetry SDK's default span limit (`max_links_per_span`).
pub const MAX_LINKS: usize = 128;

/// The trace context of one message in a batch, for a span link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLink {
    /// The producer's context (its span is the link's target).
    pub context: EventContext,
    /// `messageId`, the link's `messaging.message.id` attribute.
    pub message_id: Option<String>,
}

/// The links an SQS batch's processing span carries: one per record that has a trace context, in
/// record order, at most [`MAX_LINKS`] (the second value counts the records left out). The OpenTelemetry
/// messaging conventions (<https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/>,
/// "Trace structure") link a batch's process span to each message's creation context, since one
/// span cannot have a parent per message. Empty for any other event.
///
/// ```
/// use serde_json::json;
/// let batch = json!({"Records": [
///     {"eventSource": "aws:sqs", "messageId": "m-1", "attributes":
///         {"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}},
///     {"eventSource": "aws:sqs", "messageId": "m-2", "attributes": {}}]});
/// let (links, left_out) = telemetry::propagation::sqs_message_links(&batch);
/// assert_eq!((links.len(), left_out), (1, 0));
/// assert_eq!(links[0].message_id.as_deref(), Some("m-1"));
/// ```
#[must_use]
pub fn sqs_message_links(event: &serde_json::Value) -> (Vec<MessageLink>, usize) {
    let Some(records) = event.get("Records").and_then(serde_json::Value::as_array) else {
        return (Vec::new(), 0);
    };
    let mut links = Vec::new();
    let mut left_out = 0;
    for record in records.iter().filter(|r| is_sqs(r)) {
        let Some(context) = sqs_record_context(record, Propagators::default()) else {
            continue;
        };
        if links.len() == MAX_LINKS {
            left_out += 1;
            continue;
        }
        links.push(MessageLink {
            context,
            message_id: record
                .get("messageId")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
        });
    }
    (links, left_out)
}

/// The invocation's parent: Lambda's header (`context.xray_trace_id`) when it parses, else the
/// event's context. Returns the X-Ray header text the invocation span takes, and the `tracestate`.
///
/// ```
/// use serde_json::json;
/// let ev = json!({"headers": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
/// let lambda = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
/// assert_eq!(telemetry::propagation::event_parent(Some(lambda), &ev).0, lambda);
/// assert!(telemetry::propagation::event_parent(None, &ev).0.starts_with("Root=1-4bf92f35-"));
/// ```
#[must_use]
pub fn event_parent(lambda_header: Option<&str>, event: &serde_json::Value) -> (String, Option<String>) {
    event_parent_for(lambda_header, event, Propagators::default())
}

/// [`event_parent`] under `propagators` ([`Propagators`] says how a list is read): by default
/// Lambda's header wins whenever it parses; under a list, the context the list's propagators find
/// last, Lambda's header through `xray-lambda` when none before it found one (the event's
/// `tracestate` kept with its `traceparent`), and Lambda's header when the event carries none. The
/// event is read only through the propagators named ([`event_context_for`]): `xray` alone never
/// takes a `traceparent`, `none` never reads the event. Lambda's `Lineage` is kept whichever
/// context wins. The AWS Lambda conventions' "API Gateway request proxy (Lambda tracing passive)"
/// example: the function span's parent is the caller's `traceparent`.
///
/// ```
/// use telemetry::propagation::{Propagators, event_parent_for};
/// let ev = serde_json::json!({"headers": {
///     "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
///     "tracestate": "congo=t61rcWkgMzE"}});
/// let lambda = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
/// let (parent, state) = event_parent_for(Some(lambda), &ev, Propagators::parse("tracecontext"));
/// assert!(parent.starts_with("Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7"));
/// assert_eq!(state.as_deref(), Some("congo=t61rcWkgMzE"));
/// ```
#[must_use]
pub fn event_parent_for(
    lambda_header: Option<&str>,
    event: &serde_json::Value,
    propagators: Propagators,
) -> (String, Option<String>) {
    let parent = event_parent_parsed(lambda_header, event, propagators);
    (parent.header.into_owned(), parent.tracestate)
}

/// The invocation's parent as [`event_parent_for`] chooses it, with the parses made choosing it: the
/// invocation layer parses no header again.
#[derive(Debug)]
#[cfg_attr(not(feature = "lambda"), allow(dead_code))] // read by the invocation layer only
pub(crate) struct InvocationParent<'a> {
    /// The X-Ray header text the invocation span takes.
    pub header: std::borrow::Cow<'a, str>,
    /// The event's `tracestate`, kept with its `traceparent`.
    pub tracestate: Option<String>,
    /// `header`, parsed (`None` when it does not parse).
    pub parsed: Option<TraceHeader>,
    /// Lambda's own header, parsed, when another context became the parent.
    pub lambda: Option<TraceHeader>,
}

impl<'a> InvocationParent<'a> {
    /// Lambda's header as the parent (an event that is not JSON carries no context of its own).
    #[cfg_attr(not(feature = "lambda"), allow(dead_code))]
    pub(crate) fn lambda_only(lambda_header: Option<&'a str>) -> Self {
        Self {
            header: std::borrow::Cow::Borrowed(lambda_header.unwrap_or_default()),
            tracestate: None,
            parsed: lambda_header.and_then(|h| TraceHeader::parse(h).ok()),
            lambda: None,
        }
    }
}

/// [`event_parent_for`], with its parses ([`InvocationParent`]).
pub(crate) fn event_parent_parsed<'a>(
    lambda_header: Option<&'a str>,
    event: &serde_json::Value,
    propagators: Propagators,
) -> InvocationParent<'a> {
    use std::borrow::Cow;
    let mut lambda = lambda_header.and_then(|h| TraceHeader::parse(h).ok());
    let chosen = match propagators.order {
        // Unset: Lambda's header whenever it parses, X-Ray's parenting.
        None if propagators.xray_lambda && lambda.is_some() => None,
        None => event_context_for(event, propagators),
        // A list: OpenTelemetry's composite propagator, each in turn replacing what the ones before
        // found; `xray-lambda` reads Lambda's header only when none did, and else extracts as `xray`
        // (the AWS Lambda semantic conventions' `xray-lambda` pseudo-code). `None`: Lambda's header.
        Some(order) => {
            let w3c = Propagators::only(true, false);
            let xray = Propagators::only(false, true);
            let mut found: Option<Option<EventContext>> = None;
            for step in order.into_iter().flatten() {
                let extracted = match step {
                    Extractor::TraceContext => event_context_for(event, w3c).map(Some),
                    Extractor::Xray => event_context_for(event, xray).map(Some),
                    // Lambda's header when nothing before found a context; else — or without Lambda's
                    // header (`_X_AMZN_TRACE_ID` empty) — what `xray` extracts from the event.
                    Extractor::XrayLambda if found.is_none() && lambda.is_some() => Some(None),
                    Extractor::XrayLambda => event_context_for(event, xray).map(Some),
                };
                if extracted.is_some() {
                    found = extracted;
                }
            }
            found.flatten()
        }
    };
    match chosen {
        Some(mut cx) => {
            // Lambda's `Lineage` (its recursive-loop detection) goes on with the invocation's outgoing
            // calls whichever context is the parent.
            if let Some(l) = lambda.as_ref().and_then(|l| l.lineage.clone()) {
                cx.header.lineage = Some(l);
            }
            let header = cx.header.to_string();
            if lambda_header == Some(header.as_str()) {
                lambda = None;
            }
            InvocationParent {
                header: Cow::Owned(header),
                tracestate: cx.tracestate,
                parsed: Some(cx.header),
                lambda,
            }
        }
        None => InvocationParent {
            header: Cow::Borrowed(lambda_header.unwrap_or_default()),
            tracestate: None,
            parsed: lambda,
            lambda: None,
        },
    }
}

/// A propagator that extracts a context, as `OTEL_PROPAGATORS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extractor {
    TraceContext,
    Xray,
    XrayLambda,
}

/// Which context headers outgoing calls (the SDK interceptor, `send_traced`) carry: `OTEL_PROPAGATORS`
/// (<https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#general-sdk-configuration>),
/// a comma list of `tracecontext` (`traceparent`, `tracestate`), `baggage`, `xray` and `xray-lambda`
/// (`X-Amzn-Trace-Id`), `none`; case-insensitive. Unset or empty: today's default, both
/// `X-Amzn-Trace-Id` and `traceparent`/`tracestate` (AWS services read the first, OpenTelemetry
/// services the second). `baggage` is accepted but adds nothing: the crate carries no baggage. An
/// unknown name is ignored; a list of unknown names only is read as unset.
///
/// Incoming, unset (the default) makes Lambda's own trace header the invocation's parent whenever it
/// parses (X-Ray's parenting), else the event's context. A list is read as OpenTelemetry's composite
/// propagator, in its order, each propagator replacing the context the ones before found
/// ([`event_parent_for`]): `tracecontext` the event's `traceparent`, `xray` its X-Ray header,
/// `xray-lambda` Lambda's header when nothing before it found a context, else the event's X-Ray
/// header (the AWS Lambda semantic conventions' `xray-lambda`). So `xray-lambda` alone, or first
/// before propagators that find nothing, parents the invocation under Lambda's segment, and
/// `tracecontext,baggage,xray-lambda` under the caller's `traceparent` when there is one. With
/// none of them (`none`, `baggage`) the event is not read and Lambda's header is the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Propagators {
    /// `X-Amzn-Trace-Id` (`xray`, `xray-lambda`).
    pub xray: bool,
    /// `traceparent` and `tracestate` (`tracecontext`).
    pub tracecontext: bool,
    /// Lambda's trace header (`_X_AMZN_TRACE_ID`) may be the parent (`xray-lambda`).
    pub xray_lambda: bool,
    /// The extracting propagators in the order the list names them; `None` unset (the default).
    order: Option<[Option<Extractor>; 3]>,
}

impl Default for Propagators {
    fn default() -> Self {
        Self {
            xray: true,
            tracecontext: true,
            xray_lambda: true,
            order: None,
        }
    }
}

impl Propagators {
    /// The propagators `value` (an `OTEL_PROPAGATORS` value) names.
    ///
    /// ```
    /// use telemetry::propagation::Propagators;
    /// let xray = Propagators::parse("xray");
    /// assert!(xray.xray && !xray.tracecontext && !xray.xray_lambda);
    /// let w3c = Propagators::parse("tracecontext,baggage");
    /// assert!(!w3c.xray && w3c.tracecontext && !w3c.xray_lambda);
    /// assert!(Propagators::parse("xray-lambda").xray_lambda);
    /// assert_eq!(Propagators::parse(""), Propagators::default());
    /// ```
    #[must_use]
    pub fn parse(value: &str) -> Self {
        let mut out = Self::only(false, false);
        let mut order = [None; 3];
        let mut steps = 0;
        let mut known = false;
        for name in value.split(',').map(|n| n.trim().to_ascii_lowercase()) {
            let step = match name.as_str() {
                "tracecontext" => {
                    out.tracecontext = true;
                    Some(Extractor::TraceContext)
                }
                "xray" => {
                    out.xray = true;
                    Some(Extractor::Xray)
                }
                "xray-lambda" => {
                    out.xray = true;
                    out.xray_lambda = true;
                    Some(Extractor::XrayLambda)
                }
                "baggage" | "none" => None,
                _ => continue,
            };
            known = true;
            // Each once, where the list first names it.
            if let Some(step) = step
                && !order.contains(&Some(step))
            {
                order[steps] = Some(step);
                steps += 1;
            }
        }
        out.order = Some(order);
        if known { out } else { Self::default() }
    }

    /// W3C only, X-Ray only, both or neither: for reading an event, in no particular order.
    fn only(tracecontext: bool, xray: bool) -> Self {
        Self {
            xray,
            tracecontext,
            xray_lambda: false,
            order: None,
        }
    }

    /// The process's propagators: `OTEL_PROPAGATORS`, read once.
    #[must_use]
    pub fn from_env() -> Self {
        static PROPAGATORS: OnceLock<Propagators> = OnceLock::new();
        *PROPAGATORS.get_or_init(|| {
            std::env::var("OTEL_PROPAGATORS").map_or_else(|_| Self::default(), |v| Self::parse(&v))
        })
    }

    /// The headers `out` becomes under these propagators: `x-amzn-trace-id`, `traceparent`,
    /// `tracestate`, each only when its propagator is on (and, for `tracestate`, when there is one).
    #[must_use]
    pub fn headers(self, out: OutgoingContext) -> Vec<(&'static str, String)> {
        let mut headers = Vec::with_capacity(3);
        if self.xray {
            headers.push((XRAY_HEADER, out.xray));
        }
        if self.tracecontext {
            headers.push((TRACEPARENT, out.traceparent));
            if let Some(state) = out.tracestate {
                headers.push((TRACESTATE, state));
            }
        }
        headers
    }
}

/// The OpenTelemetry API's global text-map propagator, from `OTEL_PROPAGATORS` ([`Propagators`]):
/// what a library built on the OpenTelemetry API (`opentelemetry-http`, tonic interceptors) injects
/// into its outgoing calls and extracts from incoming ones. `telemetry::init` installs it; the API's
/// default is a no-op, so without it those libraries' calls carried no context at all.
///
/// Injecting writes what [`Propagators::headers`] writes for the context's span: the current
/// `tracing` span's outgoing context when the context is that span's (its X-Ray header keeps the
/// invocation's `Lineage`), else one built from the span context (`Sampled` from its flags).
/// Extracting reads `traceparent`/`tracestate` and `X-Amzn-Trace-Id` in the list's order, a later
/// one replacing what an earlier one found (OpenTelemetry's composite propagator).
///
/// ```
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
/// use opentelemetry::{Context, SpanId, TraceId};
/// use std::collections::HashMap;
/// use telemetry::propagation::{EnvPropagator, Propagators};
/// let propagator = EnvPropagator::new(Propagators::parse("tracecontext,xray"));
/// let sc = SpanContext::new(
///     TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
///     SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
///     TraceFlags::SAMPLED, false, TraceState::default(),
/// );
/// let mut headers = HashMap::new();
/// propagator.inject_context(&Context::new().with_remote_span_context(sc), &mut headers);
/// assert_eq!(headers["traceparent"], "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01");
/// assert_eq!(headers["x-amzn-trace-id"], "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
/// let back = propagator.extract(&headers);
/// assert_eq!(back.span().span_context().span_id(), SpanId::from_hex("53995c3f42cd8ad8").unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct EnvPropagator {
    propagators: Propagators,
    fields: Vec<String>,
}

impl EnvPropagator {
    /// The propagator of `propagators`.
    #[must_use]
    pub fn new(propagators: Propagators) -> Self {
        let mut fields = Vec::new();
        if propagators.tracecontext {
            fields.extend([TRACEPARENT.to_owned(), TRACESTATE.to_owned()]);
        }
        if propagators.xray {
            fields.push(XRAY_HEADER.to_owned());
        }
        Self { propagators, fields }
    }

    /// Whether it reads or writes anything (`OTEL_PROPAGATORS=none` or `baggage` alone: no).
    #[must_use]
    pub fn is_noop(&self) -> bool {
        self.fields.is_empty()
    }

    /// The context's outgoing headers: the current `tracing` span's when `cx` is its context.
    fn outgoing(cx: &opentelemetry::Context) -> Option<OutgoingContext> {
        use opentelemetry::trace::TraceContextExt as _;
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return None;
        }
        let ours = crate::xray::outgoing_context_for(&tracing::Span::current()).filter(|o| {
            o.traceparent
                .get(3..52)
                .is_some_and(|ids| ids == format!("{:032x}-{:016x}", sc.trace_id(), sc.span_id()))
        });
        if ours.is_some() {
            return ours;
        }
        let xray = format!(
            "Root={};Parent={:016x};Sampled={}",
            crate::xray::xray_trace_id(sc.trace_id()),
            sc.span_id(),
            if sc.is_sampled() { 1 } else { 0 }
        );
        Some(OutgoingContext::with_w3c(xray, sc))
    }
}

/// Every field of header `name` joined with `,` (RFC 7230 §3.2.2); `None` when there is none.
fn joined(extractor: &dyn opentelemetry::propagation::Extractor, name: &str) -> Option<String> {
    match extractor.get_all(name) {
        Some(all) if !all.is_empty() => Some(all.join(",")),
        _ => extractor.get(name).map(str::to_owned),
    }
}

impl opentelemetry::propagation::TextMapPropagator for EnvPropagator {
    fn inject_context(
        &self,
        cx: &opentelemetry::Context,
        injector: &mut dyn opentelemetry::propagation::Injector,
    ) {
        let Some(out) = Self::outgoing(cx) else { return };
        for (name, value) in self.propagators.headers(out) {
            injector.set(name, value);
        }
    }

    fn extract_with_context(
        &self,
        cx: &opentelemetry::Context,
        extractor: &dyn opentelemetry::propagation::Extractor,
    ) -> opentelemetry::Context {
        use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};
        // Header names in lowercase, as OpenTelemetry's extractors look them up.
        let get = |name: &str| extractor.get(name);
        // Unset, W3C is read last so it wins, as it does on an event ([`event_context_for`]): a
        // `traceparent` names the caller's own span.
        let order = self.propagators.order.unwrap_or([
            self.propagators.xray.then_some(Extractor::Xray),
            self.propagators.tracecontext.then_some(Extractor::TraceContext),
            None,
        ]);
        let mut found: Option<SpanContext> = None;
        for step in order.into_iter().flatten() {
            let context = match step {
                Extractor::TraceContext => {
                    get(TRACEPARENT)
                        .and_then(|v| TraceParent::parse(v).ok())
                        .map(|tp| {
                            // W3C: several `tracestate` fields are one list (RFC 7230's joining).
                            let state = joined(extractor, TRACESTATE)
                                .as_deref()
                                .and_then(valid_tracestate)
                                .map(|s| trace_state(&s))
                                .unwrap_or_default();
                            (tp, state)
                        })
                }
                Extractor::Xray | Extractor::XrayLambda => get(XRAY_HEADER)
                    .and_then(|v| TraceHeader::parse(v).ok())
                    .and_then(|h| TraceParent::from_xray(&h))
                    .map(|tp| (tp, TraceState::default())),
            };
            if let Some((tp, state)) = context {
                let flags = TraceFlags::default().with_sampled(tp.sampled);
                found = Some(SpanContext::new(tp.trace_id, tp.parent_id, flags, true, state));
            }
        }
        match found {
            Some(sc) => cx.with_remote_span_context(sc),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        opentelemetry::propagation::text_map_propagator::FieldIter::new(&self.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    // The examples of W3C Trace Context §3.2.2.
    const SPEC: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// A library on the OpenTelemetry API injecting inside a span: the headers name that span (its
    /// subsegment), keep the invocation's `Lineage`, and follow the list (`xray` alone: no W3C);
    /// what it extracts is the caller's context, the later propagator of the list winning.
    #[test]
    fn the_global_propagator_carries_the_current_span_and_its_lineage() {
        use opentelemetry::propagation::TextMapPropagator;
        use opentelemetry::trace::TraceContextExt;
        use std::collections::HashMap;
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry()
            .with(crate::xray::XrayLayer::new(crate::xray::MemorySink::default()));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header =
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1"
            )
            .entered();
            let _call = tracing::info_span!("library.call").entered();
            let cx = opentelemetry::Context::current();
            let sc = cx.span().span_context().clone();
            assert!(sc.is_valid() && sc.is_sampled());
            let mut headers = HashMap::new();
            EnvPropagator::new(Propagators::default()).inject_context(&cx, &mut headers);
            assert_eq!(
                headers[TRACEPARENT],
                format!("00-5759e988bd862e3fe1be46a994272793-{:016x}-01", sc.span_id())
            );
            assert_eq!(
                headers[XRAY_HEADER],
                format!(
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent={:016x};Sampled=1;Lineage=a87bd80c:1",
                    sc.span_id()
                )
            );
            let mut xray_only = HashMap::new();
            EnvPropagator::new(Propagators::parse("xray")).inject_context(&cx, &mut xray_only);
            assert_eq!(xray_only.keys().collect::<Vec<_>>(), [&XRAY_HEADER.to_owned()]);
            let none = EnvPropagator::new(Propagators::parse("none"));
            assert!(none.is_noop());
        });
        // Extracting: `xray` after `tracecontext` replaces what the `traceparent` said.
        let mut incoming = HashMap::new();
        incoming.insert(TRACEPARENT.to_owned(), SPEC.to_owned());
        incoming.insert(
            XRAY_HEADER.to_owned(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0".to_owned(),
        );
        let both = EnvPropagator::new(Propagators::parse("tracecontext,xray")).extract(&incoming);
        let sc = both.span().span_context().clone();
        assert_eq!(sc.span_id(), SpanId::from_hex("53995c3f42cd8ad8").unwrap());
        assert!(sc.is_remote() && !sc.is_sampled());
        let w3c = EnvPropagator::new(Propagators::parse("tracecontext")).extract(&incoming);
        assert_eq!(
            w3c.span().span_context().span_id(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap()
        );
        let nothing = EnvPropagator::new(Propagators::parse("none")).extract(&incoming);
        assert!(!nothing.span().span_context().is_valid());
    }

    /// Headers as an HTTP server hands them over: a name may come as several fields.
    struct Fields(Vec<(&'static str, &'static str)>);

    impl opentelemetry::propagation::Extractor for Fields {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        }
        fn keys(&self) -> Vec<&str> {
            self.0.iter().map(|(k, _)| *k).collect()
        }
        fn get_all(&self, key: &str) -> Option<Vec<&str>> {
            let all: Vec<&str> = self
                .0
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| *v)
                .collect();
            (!all.is_empty()).then_some(all)
        }
    }

    /// W3C: "When receiving multiple `tracestate` header fields, they MUST be combined into a single
    /// header according to RFC7230"; and unset, the global propagator lets the `traceparent` win as
    /// the event path does, rather than an `X-Amzn-Trace-Id` beside it.
    #[test]
    fn the_global_propagator_joins_tracestate_fields_and_lets_traceparent_win() {
        use opentelemetry::propagation::TextMapPropagator as _;
        use opentelemetry::trace::TraceContextExt as _;
        let split = Fields(vec![
            (TRACEPARENT, SPEC),
            (TRACESTATE, "congo=a"),
            (TRACESTATE, "rojo=b"),
        ]);
        let cx = EnvPropagator::new(Propagators::default()).extract(&split);
        assert_eq!(cx.span().span_context().trace_state().header(), "congo=a,rojo=b");

        let both = Fields(vec![
            (TRACEPARENT, SPEC),
            (TRACESTATE, "congo=t61rcWkgMzE"),
            (
                XRAY_HEADER,
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            ),
        ]);
        let cx = EnvPropagator::new(Propagators::default()).extract(&both);
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id(),
            opentelemetry::TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
        );
        assert_eq!(sc.span_id(), SpanId::from_hex("00f067aa0ba902b7").unwrap());
        assert_eq!(sc.trace_state().header(), "congo=t61rcWkgMzE");
    }

    /// W3C allows a system id of 14 characters (`tenant@abcdefghijklmn`), which opentelemetry 0.33's
    /// `TraceState` refuses together with the whole list: only that member is left out.
    #[test]
    fn trace_state_keeps_the_members_opentelemetry_can_hold() {
        let text = "rojo=00f067aa0ba902b7,t@abcdefghijklmn=x,congo=t61rcWkgMzE";
        let kept = valid_tracestate(text).unwrap();
        assert_eq!(kept, text, "valid W3C");
        assert!(
            text.parse::<opentelemetry::trace::TraceState>().is_err(),
            "the SDK's parser refuses it"
        );
        assert_eq!(
            trace_state(&kept).header(),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
        );
        assert_eq!(
            trace_state("t@abcdefghijklm=x").header(),
            "t@abcdefghijklm=x",
            "13 characters"
        );
        assert_eq!(trace_state("rojo=1,congo=2").header(), "rojo=1,congo=2");
    }

    /// `tracestate` values from W3C Trace Context §3.3.1 and its test suite's cases: kept (spaces
    /// and tabs around members and empty members left out) or dropped whole.
    #[test]
    fn tracestate_follows_the_w3c_grammar() {
        let key256 = format!("a{}", "b".repeat(255));
        let value256 = "v".repeat(256);
        let kept = [
            ("congo=t61rcWkgMzE", "congo=t61rcWkgMzE"),
            (
                "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
                "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
            ),
            (" rojo=1 ,\tcongo=2\t", "rojo=1,congo=2"),
            ("rojo=1,,congo=2, ,", "rojo=1,congo=2"),
            ("fw529a3039@dt=-3a1b", "fw529a3039@dt=-3a1b"),
            ("1tenant@sys-1=x", "1tenant@sys-1=x"),
            ("a_-*/9=v a l", "a_-*/9=v a l"),
            (
                "k=!\"#$%&'()*+-./:;<>?@[]^_`{|}~",
                "k=!\"#$%&'()*+-./:;<>?@[]^_`{|}~",
            ),
        ];
        for (text, want) in kept {
            assert_eq!(valid_tracestate(text).as_deref(), Some(want), "{text:?}");
        }
        assert!(
            valid_tracestate(&format!("{key256}=x")).is_some(),
            "a 256-char key"
        );
        assert!(
            valid_tracestate(&format!("k={value256}")).is_some(),
            "a 256-char value"
        );
        let members32: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
        assert!(valid_tracestate(&members32.join(",")).is_some(), "32 members");
        let members33: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
        let dropped = [
            "",
            " , ",
            "congo=a,congo=b",
            "rojo==x",
            "rojo=x=y",
            "Rojo=1",
            "1rojo=1",
            "ro jo=1",
            "rojo=",
            "rojo",
            "rojo=a,b",
            "rojo=1\n",
            "rojo=é",
            "@sys=1",
            "tenant@=1",
            "tenant@Sys=1",
            "tenant@1sys=1",
            "tenant@systemnamelong1=1",
            "a@b@c=1",
        ];
        for text in dropped {
            assert_eq!(valid_tracestate(text), None, "{text:?}");
        }
        for text in [
            format!("{key256}b=x"),
            format!("k={value256}v"),
            members33.join(","),
            format!("k={}", "v".repeat(MAX_TRACESTATE)),
        ] {
            assert_eq!(valid_tracestate(&text), None, "{} chars", text.len());
        }
    }

    /// P1: the AWS Lambda conventions' "Lambda tracing passive" example. Without `xray-lambda` the
    /// caller's `traceparent` is the parent, `tracestate` kept, even when Lambda gives a header; with
    /// it (and by default) Lambda's header wins, as before.
    #[test]
    fn without_xray_lambda_the_events_w3c_context_is_the_parent() {
        let ev = json!({"headers": {"traceparent": SPEC, "tracestate": "congo=t61rcWkgMzE"}});
        let lambda = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
        let (parent, state) = event_parent_for(Some(lambda), &ev, Propagators::parse("tracecontext,baggage"));
        let h = TraceHeader::parse(&parent).unwrap();
        assert_eq!(h.xray_trace_id(), "1-4bf92f35-77b34da6a3ce929d0e0e4736");
        assert_eq!(format!("{:016x}", h.parent.unwrap()), "00f067aa0ba902b7");
        assert!(h.is_sampled());
        assert_eq!(state.as_deref(), Some("congo=t61rcWkgMzE"));
        for lambda_first in [Propagators::default(), Propagators::parse("xray-lambda")] {
            assert_eq!(
                event_parent_for(Some(lambda), &ev, lambda_first),
                (lambda.to_owned(), None)
            );
        }
        // No context in the event: Lambda's header still.
        assert_eq!(
            event_parent_for(Some(lambda), &json!({}), Propagators::parse("tracecontext")).0,
            lambda
        );
    }

    /// A list is OpenTelemetry's composite propagator: each propagator in turn replaces what the
    /// ones before it found, and `xray-lambda` takes Lambda's header only when nothing before it
    /// found a context, else extracts as `xray` (the AWS Lambda semantic conventions' pseudo-code:
    /// "the `xray-lambda` propagator SHOULD check if the provided context already has an active span
    /// context. If found, the propagator SHOULD just return the extract result of the `xray`
    /// propagator"). Lambda's `Lineage` stays on whichever context wins.
    #[test]
    fn a_propagator_list_is_read_in_order_as_a_composite() {
        let lambda =
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1";
        let event_xray = "Root=1-6a1b2c3d-0123456789abcdef01234567;Parent=1a2b3c4d5e6f7081;Sampled=1";
        let w3c_only = json!({"headers": {"traceparent": SPEC}});
        let both = json!({"headers": {"traceparent": SPEC, "X-Amzn-Trace-Id": event_xray}});
        let root = |list: &str, ev: &serde_json::Value| {
            let (parent, _) = event_parent_for(Some(lambda), ev, Propagators::parse(list));
            let h = TraceHeader::parse(&parent).unwrap();
            (h.xray_trace_id(), h.lineage)
        };
        let (w3c, xray, ours) = (
            "1-4bf92f35-77b34da6a3ce929d0e0e4736",
            "1-6a1b2c3d-0123456789abcdef01234567",
            "1-5759e988-bd862e3fe1be46a994272793",
        );
        let lineage = Some("a87bd80c:1".to_owned());
        for (list, ev, want) in [
            ("tracecontext,baggage,xray-lambda", &w3c_only, w3c),
            ("tracecontext,baggage,xray-lambda", &both, xray),
            ("xray-lambda,tracecontext", &w3c_only, w3c),
            ("xray-lambda", &both, ours),
            ("xray-lambda,baggage", &w3c_only, ours),
            ("tracecontext,xray", &both, xray),
            ("xray,tracecontext", &both, w3c),
            ("tracecontext,baggage,xray-lambda", &json!({}), ours),
        ] {
            assert_eq!(root(list, ev), (want.to_owned(), lineage.clone()), "{list} {ev}");
        }
        // Unset: Lambda's header whenever it parses.
        assert_eq!(
            event_parent_for(Some(lambda), &both, Propagators::default()).0,
            lambda
        );
        // No Lambda header (`_X_AMZN_TRACE_ID` empty): `xray-lambda` returns what `xray` extracts
        // from the event, listed alone or after a propagator that found nothing.
        for list in ["xray-lambda", "tracecontext,xray-lambda", "xray-lambda,baggage"] {
            let (parent, _) = event_parent_for(None, &both, Propagators::parse(list));
            assert_eq!(parent, event_xray, "{list}");
        }
        let xray_only = json!({"headers": {"X-Amzn-Trace-Id": event_xray}});
        assert_eq!(
            event_parent_for(None, &xray_only, Propagators::parse("tracecontext,xray-lambda")).0,
            event_xray
        );
        assert_eq!(
            event_parent_for(None, &json!({}), Propagators::parse("xray-lambda")).0,
            ""
        );
    }

    /// API Gateway REST APIs and ALB (multi-value headers on) give repeated header fields in
    /// `multiValueHeaders`; W3C §3.2 / §3.3.1: two `traceparent` fields are no context (combined
    /// they do not parse), two `tracestate` fields are combined into one list.
    #[test]
    fn multi_value_headers_are_combined() {
        let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let alb = json!({"multiValueHeaders": {"traceparent": [SPEC], "tracestate": ["rojo=1", "congo=2"]}});
        let cx = event_context(&alb).unwrap();
        assert!(cx.header.to_string().starts_with("Root=1-4bf92f35-"), "{cx:?}");
        assert_eq!(cx.tracestate.as_deref(), Some("rojo=1,congo=2"));
        let twice = json!({"headers": {"traceparent": other},
                           "multiValueHeaders": {"traceparent": [SPEC, other]}});
        assert_eq!(event_context(&twice), None, "two traceparent fields");
        let rest = json!({"headers": {"traceparent": SPEC, "tracestate": "congo=2"},
                          "multiValueHeaders": {"Traceparent": [SPEC], "tracestate": ["rojo=1", "congo=2"]}});
        assert_eq!(
            event_context(&rest).unwrap().tracestate.as_deref(),
            Some("rojo=1,congo=2")
        );
    }

    /// A batch's processing span has no message as its parent, only links (OpenTelemetry messaging
    /// conventions: "Exclusively for single messages scenarios, the 'Process' span MAY use the
    /// message's creation context as its parent"); a batch of one does.
    #[test]
    fn only_a_batch_of_one_takes_its_messages_context_as_parent() {
        let record = |root: &str| {
            json!({"eventSource": "aws:sqs", "messageId": root, "attributes": {"AWSTraceHeader":
                format!("Root=1-5759e988-{root};Parent=53995c3f42cd8ad8;Sampled=1")}})
        };
        let one = json!({"Records": [record("bd862e3fe1be46a994272793")]});
        assert_eq!(event_context(&one).unwrap().source, "attributes.AWSTraceHeader");
        let two =
            json!({"Records": [record("bd862e3fe1be46a994272793"), record("0123456789abcdef01234567")]});
        assert_eq!(event_context(&two), None);
        assert_eq!(sqs_message_links(&two).0.len(), 2);
    }

    /// W3C §3.3.1.5: a list over 512 characters loses whole members, those over 128 characters
    /// first, then from the end — not the whole header.
    #[test]
    fn a_long_tracestate_is_cut_by_whole_members() {
        let member = |k: &str, n: usize| format!("{k}={}", "v".repeat(n - k.len() - 1));
        let four = [
            member("a", 120),
            member("b", 120),
            member("c", 120),
            member("d", 120),
            member("e", 120),
        ];
        assert_eq!(
            valid_tracestate(&four.join(",")).as_deref(),
            Some(four[..4].join(",").as_str())
        );
        let with_big = [
            member("a", 100),
            member("big", 200),
            member("c", 100),
            member("d", 100),
            member("e", 100),
        ];
        assert_eq!(
            valid_tracestate(&with_big.join(",")).as_deref(),
            Some(
                [&with_big[0], &with_big[2], &with_big[3], &with_big[4]]
                    .map(String::as_str)
                    .join(",")
                    .as_str()
            )
        );
        let short = format!("{},x=1", member("a", 250));
        assert_eq!(
            valid_tracestate(&short).as_deref(),
            Some(short.as_str()),
            "within 512"
        );
    }

    /// `OTEL_PROPAGATORS` decides what is read from the event too (OpenTelemetry SDK configuration:
    /// `none` is "no automatically configured propagator"): with `none` a caller's `traceparent`
    /// is not a context and Lambda's header is the parent; with `xray` only, the event's X-Ray header
    /// is taken and its `traceparent` ignored.
    #[test]
    fn incoming_context_is_read_only_through_the_configured_propagators() {
        let lambda = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";
        let event_xray = "Root=1-6a1b2c3d-0123456789abcdef01234567;Parent=1a2b3c4d5e6f7081;Sampled=1";
        let only_w3c = json!({"headers": {"traceparent": SPEC, "tracestate": "congo=t61rcWkgMzE"}});
        assert_eq!(
            event_parent_for(Some(lambda), &only_w3c, Propagators::parse("none")),
            (lambda.to_owned(), None)
        );
        assert_eq!(event_context_for(&only_w3c, Propagators::parse("none")), None);
        assert_eq!(event_context_for(&only_w3c, Propagators::parse("xray")), None);

        let both = json!({"headers": {"traceparent": SPEC, "X-Amzn-Trace-Id": event_xray}});
        let (parent, state) = event_parent_for(Some(lambda), &both, Propagators::parse("xray"));
        assert_eq!(parent, event_xray);
        assert_eq!(state, None);
        // `tracecontext` only: the X-Ray header of the event is not read.
        let xray_only_event = json!({"headers": {"x-amzn-trace-id": event_xray}});
        assert_eq!(
            event_parent_for(Some(lambda), &xray_only_event, Propagators::parse("tracecontext")).0,
            lambda
        );
        // SQS and EventBridge follow the same rule.
        let sqs = json!({"Records": [{"eventSource": "aws:sqs",
            "attributes": {"AWSTraceHeader": event_xray},
            "messageAttributes": {"traceparent": {"stringValue": SPEC, "dataType": "String"}}}]});
        assert_eq!(
            event_context_for(&sqs, Propagators::parse("xray"))
                .unwrap()
                .source,
            "attributes.AWSTraceHeader"
        );
        assert_eq!(event_context_for(&sqs, Propagators::parse("none")), None);
        let eb =
            json!({"detail-type": "CardValued", "detail": {"traceparent": SPEC, "trace-header": event_xray}});
        assert_eq!(
            event_context_for(&eb, Propagators::parse("xray")).unwrap().source,
            "detail.trace-header"
        );
        assert_eq!(
            event_context_for(&eb, Propagators::parse("tracecontext"))
                .unwrap()
                .source,
            "detail.traceparent"
        );
        // Without Lambda's header, `none` leaves the invocation without a parent.
        assert_eq!(event_parent_for(None, &both, Propagators::parse("none")).0, "");
    }

    /// `OTEL_PROPAGATORS` decides the outgoing headers; unset, empty or unknown keeps both.
    #[test]
    fn propagators_choose_the_outgoing_headers() {
        let out = || OutgoingContext {
            xray: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into(),
            traceparent: "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01".into(),
            tracestate: Some("congo=t61rcWkgMzE".into()),
        };
        let names = |value: &str| -> Vec<&'static str> {
            Propagators::parse(value)
                .headers(out())
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(names(""), [XRAY_HEADER, TRACEPARENT, TRACESTATE]);
        assert_eq!(names("xray"), [XRAY_HEADER]);
        assert_eq!(names("XRAY-LAMBDA"), [XRAY_HEADER]);
        assert_eq!(names("tracecontext,baggage"), [TRACEPARENT, TRACESTATE]);
        assert_eq!(
            names(" tracecontext , xray "),
            [XRAY_HEADER, TRACEPARENT, TRACESTATE]
        );
        assert_eq!(names("none"), Vec::<&str>::new());
        assert_eq!(
            names("jaeger"),
            [XRAY_HEADER, TRACEPARENT, TRACESTATE],
            "unknown: as unset"
        );
        assert_eq!(names("jaeger,xray"), [XRAY_HEADER]);
    }

    #[test]
    fn spec_examples_and_rejections() {
        let tp = TraceParent::parse(SPEC).unwrap();
        assert_eq!(
            format!("{:032x}", tp.trace_id),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(format!("{:016x}", tp.parent_id), "00f067aa0ba902b7");
        assert!(tp.sampled);
        let unsampled =
            TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").unwrap();
        assert!(!unsampled.sampled);
        // Only bit 0 is `sampled`; other flags are ignored.
        assert!(
            TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")
                .unwrap()
                .sampled
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "00-4bf92f3577b34da6a3ce929d0e0e47é6-00f067aa0ba902b7-01",
        ] {
            assert!(TraceParent::parse(bad).is_err(), "{bad:?} accepted");
        }
        // A later version may append fields (§4.3).
        assert!(
            TraceParent::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future")
                .is_ok()
        );
        assert!(TraceParent::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x").is_err());
    }

    #[test]
    fn xray_and_w3c_name_the_same_ids() {
        // The X-Ray docs' example header and its W3C spelling: Root's two parts joined are the trace id.
        let h =
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
                .unwrap();
        let tp = TraceParent::from_xray(&h).unwrap();
        assert_eq!(
            tp.to_string(),
            "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
        );
        assert_eq!(tp.to_xray().to_string(), h.to_string());
        let unsampled =
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?")
                .unwrap();
        assert!(!TraceParent::from_xray(&unsampled).unwrap().sampled);
    }

    #[test]
    fn events_of_each_source() {
        let sqs = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m",
            "attributes": {"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
            "messageAttributes": {"traceparent": {"stringValue": SPEC, "dataType": "String"},
                                  "tracestate": {"stringValue": "congo=t61rcWkgMzE", "dataType": "String"}}}]});
        let cx = event_context(&sqs).unwrap();
        assert_eq!(cx.source, "messageAttributes.traceparent");
        assert_eq!(cx.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));
        let mut only_xray = sqs.clone();
        only_xray["Records"][0]["messageAttributes"] = json!({});
        let cx = event_context(&only_xray).unwrap();
        assert_eq!(cx.source, "attributes.AWSTraceHeader");
        assert_eq!(cx.header.xray_trace_id(), "1-5759e988-bd862e3fe1be46a994272793");

        let api = json!({"headers": {"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"}});
        let cx = event_context(&api).unwrap();
        assert_eq!(cx.source, "headers.x-amzn-trace-id");
        assert!(!cx.header.is_sampled());
        // ALB puts a Root-only header (no Parent): not a parent to hang under.
        assert_eq!(
            event_context(
                &json!({"headers": {"x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793"}})
            ),
            None
        );

        let eb = json!({"detail-type": "CardValued", "id": "e", "detail": {"traceparent": SPEC}});
        assert_eq!(event_context(&eb).unwrap().source, "detail.traceparent");
        assert_eq!(
            event_context(&json!({"headers": {"traceparent": "garbage"}})),
            None
        );
        assert_eq!(event_context(&json!(null)), None);
    }

    #[test]
    fn sqs_batch_links_every_message_with_a_context() {
        let xray = |parent: &str, sampled: u8| {
            format!("Root=1-5759e988-bd862e3fe1be46a994272793;Parent={parent};Sampled={sampled}")
        };
        let batch = json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "m-1", "attributes": {"AWSTraceHeader": xray("53995c3f42cd8ad8", 1)}},
            // W3C from an OpenTelemetry producer wins over the system attribute.
            {"eventSource": "aws:sqs", "messageId": "m-2", "attributes": {"AWSTraceHeader": xray("1111111111111111", 1)},
             "messageAttributes": {"traceparent": {"stringValue": SPEC, "dataType": "String"},
                                   "tracestate": {"stringValue": "congo=t61rcWkgMzE", "dataType": "String"}}},
            {"eventSource": "aws:sqs", "messageId": "m-3"},
            {"eventSource": "aws:sqs", "messageId": "m-4", "attributes": {"AWSTraceHeader": "garbage"}},
            {"eventSource": "aws:sqs", "messageId": "m-5", "attributes": {"AWSTraceHeader": xray("2222222222222222", 0)}}
        ]});
        let (links, left_out) = sqs_message_links(&batch);
        assert_eq!(left_out, 0);
        let ids: Vec<_> = links.iter().map(|l| l.message_id.as_deref().unwrap()).collect();
        assert_eq!(
            ids,
            ["m-1", "m-2", "m-5"],
            "records without a valid context get no link"
        );
        assert_eq!(
            format!("{:016x}", links[0].context.header.parent.unwrap()),
            "53995c3f42cd8ad8"
        );
        assert_eq!(links[1].context.source, "messageAttributes.traceparent");
        assert_eq!(
            TraceParent::from_xray(&links[1].context.header)
                .unwrap()
                .to_string(),
            SPEC
        );
        assert_eq!(links[1].context.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));
        assert!(!links[2].context.header.is_sampled());

        let many: Vec<_> = (0..MAX_LINKS + 5)
            .map(|i| {
                json!({"eventSource": "aws:sqs", "messageId": format!("m-{i}"),
                "attributes": {"AWSTraceHeader": xray(&format!("{:016x}", i + 1), 1)}})
            })
            .collect();
        let (links, left_out) = sqs_message_links(&json!({ "Records": many }));
        assert_eq!((links.len(), left_out), (MAX_LINKS, 5));
        assert_eq!(
            sqs_message_links(&json!({"Records": [{"eventSource": "aws:sns"}]})).0,
            Vec::new()
        );
        assert_eq!(sqs_message_links(&json!({"headers": {}})).0, Vec::new());
    }

    proptest! {
        /// What `valid_tracestate` keeps it keeps again unchanged, within the limits, with each key
        /// once; the OpenTelemetry parse the span layer makes of it keeps every member.
        #[test]
        fn a_kept_tracestate_is_kept_again_as_it_is(
            members in proptest::collection::vec(
                ("[a-z1][a-z0-9_*/-]{0,4}(@[a-z][a-z0-9]{0,2})?", "[ -~]{0,5}[!-~]", "[ \t]{0,2}"),
                0..6,
            ),
            noise in "[ \t,=a-z0-9@_*/A-Z!-]{0,40}",
            with_noise in proptest::bool::weighted(0.3),
        ) {
            let text = if with_noise {
                noise
            } else {
                members.iter().map(|(k, v, ows)| format!("{ows}{k}={v}{ows}")).collect::<Vec<_>>().join(",")
            };
            if let Some(kept) = valid_tracestate(&text) {
                let again = valid_tracestate(&kept);
                prop_assert_eq!(again.as_deref(), Some(&*kept));
                prop_assert!(kept.len() <= MAX_TRACESTATE);
                let members: Vec<&str> = kept.split(',').collect();
                let mut keys: Vec<&str> = members.iter().map(|m| m.split_once('=').unwrap().0).collect();
                keys.sort_unstable();
                keys.dedup();
                prop_assert_eq!(keys.len(), members.len());
                let state: opentelemetry::trace::TraceState = kept.parse().unwrap();
                prop_assert_eq!(state.header(), kept.into_owned());
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = TraceParent::parse(&s);
        }

        #[test]
        fn near_misses_never_panic(prefix in "[0-9a-f-]{0,60}", tail in "\\PC{0,8}") {
            let _ = TraceParent::parse(&format!("{prefix}{tail}"));
        }

        #[test]
        fn round_trips(t in 1u128.., p in 1u64.., sampled: bool) {
            let tp = TraceParent { trace_id: TraceId::from_bytes(t.to_be_bytes()), parent_id: SpanId::from_bytes(p.to_be_bytes()), sampled };
            prop_assert_eq!(TraceParent::parse(&tp.to_string()), Ok(tp));
        }
    }
}
