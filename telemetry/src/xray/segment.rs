//! X-Ray subsegment documents and their limits.
//!
//! Spec: <https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html>.
//! Functions emit independent subsegments (`type: "subsegment"`) whose `parent_id` is Lambda's
//! facade segment or another of our subsegments, and whose `trace_id` is the header's `Root`.

use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Largest document sent: X-Ray accepts 64 kB, but a document goes to the daemon in one UDP datagram
/// after the 30-byte [`DAEMON_HEADER`](super::DAEMON_HEADER), and an IPv4 UDP payload is at most
/// 65,507 bytes; a larger document is split (or trimmed) instead of lost.
pub const MAX_DOCUMENT_BYTES: usize = MAX_UDP_PAYLOAD - super::exporter::DAEMON_HEADER.len();
/// Largest IPv4 UDP payload (65,535 − 8-byte UDP header − 20-byte IP header).
pub const MAX_UDP_PAYLOAD: usize = 65_507;
/// Annotations per trace.
pub const MAX_ANNOTATIONS: usize = 50;
/// Annotation key length.
pub const MAX_ANNOTATION_KEY: usize = 500;
/// Annotation string value length.
pub const MAX_ANNOTATION_VALUE: usize = 1000;
/// Segment name length.
pub const MAX_NAME: usize = 200;

/// An annotation value: indexed, filterable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnnotationValue {
    /// A string (≤ 1000 chars).
    Str(String),
    /// A number.
    Num(f64),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

/// An independent subsegment document.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Subsegment {
    /// Name (≤ 200 chars, X-Ray's character set).
    pub name: String,
    /// 16 hex digits.
    pub id: String,
    /// `1-{8 hex}-{24 hex}`; only on documents sent on their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The parent segment or subsegment id; only on documents sent on their own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// `subsegment` on documents sent on their own; absent when nested.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// Epoch seconds.
    pub start_time: f64,
    /// Epoch seconds.
    pub end_time: f64,
    /// `aws` for AWS SDK calls, `remote` for other downstream calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A 5xx-like failure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fault: bool,
    /// A 4xx-like failure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
    /// Throttled by the downstream service (429, or a throttling error code); comes with `error`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub throttle: bool,
    /// What failed: the span's exceptions (OpenTelemetry `exception` events) or its error status's
    /// description (a handler's error, an `ERROR` event inside the span).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// The outgoing HTTP call this subsegment stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
    /// AWS call details: `operation`, `region`, `request_id`, `retries`, `table_name`, `queue_url` ….
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aws: BTreeMap<String, serde_json::Value>,
    /// Indexed key/values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, AnnotationValue>,
    /// Non-indexed values by namespace.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Nested subsegments (children that finished while this one was open).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subsegments: Vec<Subsegment>,
}

/// A subsegment's `cause` (the segment document's `cause.exceptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cause {
    /// The exceptions, at most [`MAX_EXCEPTIONS`].
    pub exceptions: Vec<Exception>,
}

/// One `cause.exceptions` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Exception {
    /// 16 hex digits, unique in the trace.
    pub id: String,
    /// The message (redacted where it was recorded), at most [`MAX_EXCEPTION_MESSAGE`] characters.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The exception's type, when known.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// What an exception's message and type are cut to in a document too large for the datagram (ten of
/// them, six bytes a character escaped, stay under half of it).
pub const MAX_CUT_EXCEPTION_CHARS: usize = 200;

/// Most exceptions one subsegment's `cause` lists.
pub const MAX_EXCEPTIONS: usize = 10;
/// Longest exception message kept, in characters.
pub const MAX_EXCEPTION_MESSAGE: usize = 1_000;

/// The `http` object of a subsegment for a downstream call.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Http {
    /// What was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequest>,
    /// What came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponse>,
}

/// `http.request`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpRequest {
    /// `GET`, `POST` ….
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The URL without query string, fragment or credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `http.response`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpResponse {
    /// The status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The body length, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
}

/// Makes a valid annotation key: ASCII letters, digits, `_` and `.` (others become `_`), ≤ 500 chars.
///
/// ```
/// assert_eq!(telemetry::xray::annotation_key("card id-7"), "card_id_7");
/// ```
#[must_use]
pub fn annotation_key(key: &str) -> String {
    annotation_key_cow(key).into_owned()
}

/// [`annotation_key`], borrowing a key that is already valid (most are).
pub(crate) fn annotation_key_cow(key: &str) -> Cow<'_, str> {
    if key.len() <= MAX_ANNOTATION_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Cow::Borrowed(key);
    }
    Cow::Owned(
        key.chars()
            .take(MAX_ANNOTATION_KEY)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect(),
    )
}

/// Makes a valid segment name: X-Ray's characters (letters, digits, whitespace and `_.:/%&#=+\-@`),
/// others dropped, ≤ 200 chars, never empty.
#[must_use]
pub fn segment_name(name: &str) -> String {
    segment_name_cow(name).into_owned()
}

/// The ASCII bytes a segment name may hold as they are: letters, digits, whitespace, `_.:/%&#=+\-@`.
static NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0usize;
    while b < 128 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
            || matches!(
                c,
                b'_' | b'.' | b':' | b'/' | b'%' | b'&' | b'#' | b'=' | b'+' | b'\\' | b'-' | b'@'
            );
        b += 1;
    }
    t
};

/// [`segment_name`], borrowing a name that is already valid (most are).
pub(crate) fn segment_name_cow(name: &str) -> Cow<'_, str> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/%&#=+\\-@".contains(c);
    // Most names are ASCII: one table lookup a byte (the closure above, for every ASCII byte).
    if name.len() <= MAX_NAME
        && name.bytes().all(|b| NAME_BYTE[usize::from(b)])
        && name.bytes().any(|b| !char::from(b).is_whitespace())
    {
        return Cow::Borrowed(name);
    }
    let n: String = name.chars().filter(|c| allowed(*c)).take(MAX_NAME).collect();
    Cow::Owned(if n.trim().is_empty() { "span".to_owned() } else { n })
}

/// Truncates a string to `max` chars.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    truncated(s, max).to_owned()
}

/// The chars an `aws` member value or an HTTP request part keeps when its document is over the
/// size limit even without metadata and annotations.
pub const MAX_CUT_MEMBER_CHARS: usize = 1024;

/// The first `max` chars of `s`.
pub(crate) fn truncated(s: &str, max: usize) -> &str {
    // No more chars than bytes: a string this short is whole.
    if s.len() <= max {
        return s;
    }
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

impl Subsegment {
    /// Makes this a nested subsegment (children of a sent document carry no trace id, parent or type).
    pub fn nest(&mut self) {
        self.trace_id = None;
        self.parent_id = None;
        self.kind = None;
    }

    /// The documents to send for this subsegment: one with its children nested when that fits in
    /// [`MAX_DOCUMENT_BYTES`]; otherwise the children are sent as independent subsegments first.
    #[must_use]
    pub fn into_documents(mut self) -> Vec<String> {
        if self.subsegments.is_empty() {
            return self.to_json_within_limit().into_iter().collect();
        }
        if let Ok(text) = serde_json::to_string(&self)
            && text.len() <= MAX_DOCUMENT_BYTES
        {
            return vec![text];
        }
        let mut out = Vec::new();
        for mut child in std::mem::take(&mut self.subsegments) {
            child.trace_id.clone_from(&self.trace_id);
            child.parent_id = Some(self.id.clone());
            child.kind = Some("subsegment");
            out.extend(child.into_documents());
        }
        out.extend(self.to_json_within_limit());
        out
    }

    /// Serializes within [`MAX_DOCUMENT_BYTES`]: metadata goes first, then annotations, then the
    /// `aws` and `http` members are cut to [`MAX_CUT_MEMBER_CHARS`] a value and the exceptions'
    /// messages and types to [`MAX_CUT_EXCEPTION_CHARS`], then `aws` goes whole, then `cause`, if
    /// needed (each step marks `metadata.telemetry.truncated`). After that the document is its ids,
    /// times, flags, a name of ≤ 200 chars and two cut URL parts: it always fits. `None` only if
    /// serde_json fails.
    #[must_use]
    pub fn to_json_within_limit(&self) -> Option<String> {
        let text = serde_json::to_string(self).ok()?;
        if text.len() <= MAX_DOCUMENT_BYTES {
            return Some(text);
        }
        let mut trimmed = self.clone();
        trimmed.metadata.clear();
        trimmed.metadata.insert(
            "telemetry".into(),
            BTreeMap::from([("truncated".into(), serde_json::Value::Bool(true))]),
        );
        let text = serde_json::to_string(&trimmed).ok()?;
        if text.len() <= MAX_DOCUMENT_BYTES {
            return Some(text);
        }
        trimmed.annotations.clear();
        let text = serde_json::to_string(&trimmed).ok()?;
        if text.len() <= MAX_DOCUMENT_BYTES {
            return Some(text);
        }
        // An SDK call's members (a queue URL, a table name) or a URL can be any length.
        // Numbers and booleans stay as they are; a long string is cut, and an array or object longer
        // than the cut as text becomes its cut text.
        for v in trimmed.aws.values_mut() {
            let cut = match &*v {
                serde_json::Value::String(s) if s.chars().nth(MAX_CUT_MEMBER_CHARS).is_some() => {
                    Some(truncate_chars(s, MAX_CUT_MEMBER_CHARS))
                }
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    let text = v.to_string();
                    (text.chars().nth(MAX_CUT_MEMBER_CHARS).is_some())
                        .then(|| truncate_chars(&text, MAX_CUT_MEMBER_CHARS))
                }
                _ => None,
            };
            if let Some(cut) = cut {
                *v = serde_json::Value::String(cut);
            }
        }
        if let Some(request) = trimmed.http.as_mut().and_then(|h| h.request.as_mut()) {
            for part in [&mut request.method, &mut request.url].into_iter().flatten() {
                *part = truncate_chars(part, MAX_CUT_MEMBER_CHARS);
            }
        }
        // Exception messages and types likewise (ten of them, escaped, can pass the datagram alone).
        for e in trimmed.cause.iter_mut().flat_map(|c| c.exceptions.iter_mut()) {
            e.message = truncate_chars(&e.message, MAX_CUT_EXCEPTION_CHARS);
            if let Some(kind) = e.kind.as_mut() {
                *kind = truncate_chars(kind, MAX_CUT_EXCEPTION_CHARS);
            }
        }
        let text = serde_json::to_string(&trimmed).ok()?;
        if text.len() <= MAX_DOCUMENT_BYTES {
            return Some(text);
        }
        trimmed.aws.clear();
        let text = serde_json::to_string(&trimmed).ok()?;
        if text.len() <= MAX_DOCUMENT_BYTES {
            return Some(text);
        }
        // Last, the cause itself: the fault and error flags stay.
        trimmed.cause = None;
        serde_json::to_string(&trimmed)
            .ok()
            .filter(|t| t.len() <= MAX_DOCUMENT_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten exceptions of escaped control characters pass the datagram on their own: the messages are
    /// cut, then the cause dropped — the document (and its fault flag) is never lost.
    #[test]
    fn a_document_too_large_for_its_cause_keeps_its_fault() {
        let mut doc = Subsegment {
            name: "handler".into(),
            id: "0000000000000001".into(),
            trace_id: Some("1-5759e988-bd862e3fe1be46a994272793".into()),
            parent_id: Some("53995c3f42cd8ad8".into()),
            kind: Some("subsegment"),
            fault: true,
            ..Subsegment::default()
        };
        let exception = |i: usize| Exception {
            id: format!("{i:016x}"),
            message: "\u{1}".repeat(MAX_EXCEPTION_MESSAGE),
            kind: Some("\u{2}".repeat(200)),
        };
        doc.cause = Some(Cause {
            exceptions: (1..=MAX_EXCEPTIONS).map(exception).collect(),
        });
        assert!(serde_json::to_string(&doc).unwrap().len() > MAX_DOCUMENT_BYTES);
        let text = doc.to_json_within_limit().expect("cut, not dropped");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["fault"], true);
        assert_eq!(v["cause"]["exceptions"].as_array().unwrap().len(), MAX_EXCEPTIONS);
        assert!(text.len() <= MAX_DOCUMENT_BYTES);
    }

    /// A document too large even without metadata and annotations — an SDK call's members or a URL
    /// of any length — is cut, never dropped: each step only as far as needed.
    #[test]
    fn a_document_too_large_for_its_members_is_cut_not_dropped() {
        let doc = |aws: Vec<(&str, serde_json::Value)>, url: String| Subsegment {
            name: "sqs".into(),
            id: "0000000000000001".into(),
            trace_id: Some("1-5759e988-bd862e3fe1be46a994272793".into()),
            parent_id: Some("53995c3f42cd8ad8".into()),
            kind: Some("subsegment"),
            http: Some(Http {
                request: Some(HttpRequest {
                    method: Some("POST".into()),
                    url: Some(url),
                }),
                response: None,
            }),
            aws: aws.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            start_time: 1_700_000_000.0,
            end_time: 1_700_000_000.5,
            namespace: Some("aws".into()),
            fault: false,
            error: false,
            throttle: false,
            cause: None,
            annotations: BTreeMap::new(),
            metadata: BTreeMap::new(),
            subsegments: Vec::new(),
        };
        let long = "q".repeat(40_000);
        let cut = doc(
            vec![
                ("queue_url", serde_json::Value::String(long.clone())),
                ("table_name", serde_json::Value::String(long.clone())),
                ("operation", serde_json::Value::String("SendMessage".into())),
                ("retries", serde_json::json!(2)),
                ("resource_names", serde_json::Value::from(vec!["a"; 2000])),
            ],
            format!("https://x/{long}"),
        );
        let text = cut.to_json_within_limit().expect("sent");
        assert!(text.len() <= MAX_DOCUMENT_BYTES);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["aws"]["operation"], "SendMessage");
        assert_eq!(v["aws"]["retries"], 2, "a number is never cut to text");
        assert_eq!(
            v["aws"]["resource_names"].as_str().unwrap().chars().count(),
            MAX_CUT_MEMBER_CHARS
        );
        assert_eq!(
            v["aws"]["queue_url"].as_str().unwrap().chars().count(),
            MAX_CUT_MEMBER_CHARS
        );
        assert_eq!(
            v["http"]["request"]["url"].as_str().unwrap().chars().count(),
            MAX_CUT_MEMBER_CHARS
        );
        assert_eq!(v["metadata"]["telemetry"]["truncated"], true);
        // So many members that even cut they do not fit: `aws` goes, the rest of the document stays.
        let many: Vec<(String, serde_json::Value)> = (0..200)
            .map(|i| (format!("k{i}"), serde_json::Value::String(long.clone())))
            .collect();
        let crowded = doc(
            many.iter().map(|(k, v)| (k.as_str(), v.clone())).collect(),
            "https://x/y".into(),
        );
        let text = crowded.to_json_within_limit().expect("sent");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v.get("aws").is_none(), "{text}");
        assert_eq!(v["http"]["request"]["url"], "https://x/y");
        // Small enough: untouched.
        let small = doc(
            vec![("operation", serde_json::Value::String("GetItem".into()))],
            "https://x/y".into(),
        );
        assert_eq!(small.to_json_within_limit(), serde_json::to_string(&small).ok());
    }

    /// The byte table is the character rule for ASCII: every byte, alone and in a name, gives what
    /// the rule gives.
    #[test]
    fn the_name_table_is_the_character_rule() {
        let by_rule = |name: &str| -> String {
            let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/%&#=+\\-@".contains(c);
            let n: String = name.chars().filter(|c| allowed(*c)).take(MAX_NAME).collect();
            if n.trim().is_empty() { "span".to_owned() } else { n }
        };
        for b in 0..=127u8 {
            let c = char::from(b);
            for name in [c.to_string(), format!("a{c}b"), format!("{c}{c}")] {
                assert_eq!(segment_name_cow(&name), by_rule(&name), "{name:?}");
            }
        }
        assert_eq!(truncated("abc", 3), "abc");
        assert_eq!(truncated("abcd", 3), "abc");
        assert_eq!(truncated("éé", 1), "é");
        assert_eq!(truncated("ééé", 4), "ééé");
    }

    fn seg() -> Subsegment {
        Subsegment {
            name: "price".into(),
            id: "53995c3f42cd8ad8".into(),
            trace_id: Some("1-581cf771-a006649127e371903a2de979".into()),
            parent_id: Some("60a7d0c22fb2f001".into()),
            kind: Some("subsegment"),
            start_time: 1.5,
            end_time: 2.5,
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
        }
    }

    #[test]
    fn children_nest_or_split_when_too_big() {
        let mut parent = seg();
        let mut child = seg();
        child.id = "1111111111111111".into();
        child.nest();
        parent.subsegments.push(child.clone());
        let docs = parent.clone().into_documents();
        assert_eq!(docs.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&docs[0]).unwrap();
        assert_eq!(
            v["subsegments"][0],
            serde_json::json!({"name": "price", "id": "1111111111111111", "start_time": 1.5, "end_time": 2.5})
        );
        child.metadata.insert(
            "default".into(),
            BTreeMap::from([("big".into(), serde_json::Value::String("x".repeat(40_000)))]),
        );
        parent.subsegments = vec![child.clone(), child];
        let docs = parent.into_documents();
        assert_eq!(docs.len(), 3);
        let vs: Vec<serde_json::Value> = docs.iter().map(|d| serde_json::from_str(d).unwrap()).collect();
        assert!(docs.iter().all(|d| d.len() <= MAX_DOCUMENT_BYTES));
        assert_eq!(vs[0]["parent_id"], "53995c3f42cd8ad8");
        assert_eq!(vs[0]["type"], "subsegment");
        assert_eq!(vs[0]["trace_id"], "1-581cf771-a006649127e371903a2de979");
        assert!(vs[2].get("subsegments").is_none());
    }

    #[test]
    fn minimal_document_shape() {
        let v: serde_json::Value = serde_json::from_str(&seg().to_json_within_limit().unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "price", "id": "53995c3f42cd8ad8", "trace_id": "1-581cf771-a006649127e371903a2de979",
                "parent_id": "60a7d0c22fb2f001", "type": "subsegment", "start_time": 1.5, "end_time": 2.5})
        );
    }

    #[test]
    fn oversize_metadata_is_trimmed() {
        let mut s = seg();
        s.metadata.insert(
            "default".into(),
            BTreeMap::from([("big".into(), serde_json::Value::String("x".repeat(70_000)))]),
        );
        s.annotations.insert("k".into(), AnnotationValue::Int(1));
        let text = s.to_json_within_limit().unwrap();
        assert!(text.len() <= MAX_DOCUMENT_BYTES);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["metadata"]["telemetry"]["truncated"], true);
        assert_eq!(v["annotations"]["k"], 1);
    }

    #[test]
    fn names_and_keys_are_sanitised() {
        assert_eq!(segment_name("GET /cards/{id}"), "GET /cards/id");
        assert_eq!(segment_name("{}"), "span");
        assert_eq!(segment_name(&"a".repeat(300)).len(), 200);
        assert_eq!(annotation_key("gen_ai.model"), "gen_ai.model");
    }
}
