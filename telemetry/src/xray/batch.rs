//! What both X-Ray writers read the same way: the shape of a batch (which span nests under which) and
//! what each span attribute becomes in a subsegment document.
//!
//! The model writer ([`subsegments`](super::subsegments)) and the direct writer
//! ([`XraySegmentExporter`](super::XraySegmentExporter)'s usual path) both take their decisions here,
//! so they cannot disagree on a parent or on where an attribute goes.

use opentelemetry::{SpanId, Value};
use opentelemetry_sdk::trace::SpanData;
use std::borrow::Cow;
use std::collections::HashMap;

/// Field prefix that turns a span field into an annotation (`annotation.card_grade = "PSA 10"`).
pub const ANNOTATION_PREFIX: &str = "annotation.";

/// How deep children are nested; deeper ones (only hostile parent ids make them) leave on their own.
pub(crate) const MAX_NESTING: usize = 64;

/// Where one span attribute goes in its subsegment document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role<'a> {
    /// `telemetry.fault`: `true` sets `fault`.
    Fault,
    /// `telemetry.error`: sets `error` (the last one wins).
    Error,
    /// `telemetry.throttle`: sets `throttle` (the last one wins).
    Throttle,
    /// `http.request.method`.
    HttpMethod,
    /// `http.request.url`.
    HttpUrl,
    /// `url.full` (the HTTP client conventions' URL): the request URL, as [`segment_url`] shows it.
    UrlFull,
    /// `http.response.status` or `http.response.status_code`.
    HttpStatus,
    /// `http.response.content_length`.
    HttpContentLength,
    /// `xray.namespace`.
    Namespace,
    /// `aws.<key>` (not `aws.lambda.*`): a member of the `aws` object.
    Aws(&'a str),
    /// `annotation.<key>` or `correlation_id`: an annotation named `<key>` (before sanitising).
    Annotation(&'a str),
    /// Left out: the invocation's log context and the `faas.*`/`cloud.*` conventions (Lambda's own
    /// segment has them), and the `telemetry.*`/`otel.*` plumbing.
    Skip,
    /// Metadata under `default`.
    Metadata,
}

/// What the attribute `name` becomes.
pub(crate) fn role(name: &str) -> Role<'_> {
    match name {
        "telemetry.fault" => Role::Fault,
        "telemetry.error" => Role::Error,
        "telemetry.throttle" => Role::Throttle,
        "http.request.method" => Role::HttpMethod,
        "http.request.url" => Role::HttpUrl,
        "url.full" => Role::UrlFull,
        "http.response.status" | "http.response.status_code" => Role::HttpStatus,
        "http.response.content_length" => Role::HttpContentLength,
        "xray.namespace" => Role::Namespace,
        n if n.starts_with("aws.lambda.") || n.starts_with("faas.") || n.starts_with("cloud.") => Role::Skip,
        n if n.starts_with("aws.") => Role::Aws(&n["aws.".len()..]),
        n if n.starts_with("telemetry.") || n.starts_with("otel.") => Role::Skip,
        // The log context of the invocation span: X-Ray already knows the trace, the function and the
        // request (Lambda's own segment); only the correlation id is worth indexing.
        "function_request_id" | "function_arn" | "xray_trace_id" | "cold_start" => Role::Skip,
        "correlation_id" => Role::Annotation(name),
        n => n
            .strip_prefix(ANNOTATION_PREFIX)
            .map_or(Role::Metadata, Role::Annotation),
    }
}

/// A subsegment's `fault`, `error` and `throttle`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Flags {
    pub(crate) fault: bool,
    pub(crate) error: bool,
    pub(crate) throttle: bool,
}

impl Flags {
    /// The flags a span's outcome implies, as the segment document page defines them (`error`: 4XX,
    /// `throttle`: 429, `fault`: 5XX) and the collector's awsxrayexporter derives them: from the HTTP
    /// status code when it is an error code; otherwise an Error status is a `fault`. A span the crate
    /// classified itself (`classified`: it carries `telemetry.error`/`telemetry.throttle`, read from
    /// the service's error code, e.g. S3's `SlowDown` on a 503 is a throttle, not a fault) keeps that
    /// classification. The explicit `telemetry.*` flags are added on top by the writers.
    pub(crate) fn of_outcome(status_code: Option<u16>, status_is_error: bool, classified: bool) -> Self {
        if classified {
            return Self {
                fault: status_is_error,
                ..Self::default()
            };
        }
        match status_code {
            Some(429) => Self {
                error: true,
                throttle: true,
                ..Self::default()
            },
            Some(400..=499) => Self {
                error: true,
                ..Self::default()
            },
            Some(500..=599) => Self {
                fault: true,
                ..Self::default()
            },
            _ => Self {
                fault: status_is_error,
                ..Self::default()
            },
        }
    }
}

/// A URL as a segment shows it: without userinfo, query or fragment, which carry credentials and
/// tokens (`https://u:pw@host/p?api_key=k` → `https://host/p`).
pub(crate) fn segment_url(url: &str) -> Cow<'_, str> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return Cow::Borrowed(url);
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!("{scheme}://{}", &rest[at + 1..])),
        None => Cow::Borrowed(url),
    }
}

/// Whether a flag attribute (`telemetry.fault`, `.error`, `.throttle`) is set: only a boolean `true`.
pub(crate) fn is_true(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// An HTTP status or content length from an integer or a numeric string; `None` for anything else.
pub(crate) fn whole_number(v: &Value) -> Option<u64> {
    match v {
        Value::I64(i) => u64::try_from(*i).ok(),
        Value::String(s) => s.as_str().parse().ok(),
        _ => None,
    }
}

/// Which span of a batch nests under which: a span whose parent is in the batch (same trace) is its
/// child; the others are roots, sent on their own.
#[derive(Debug)]
pub(crate) struct Tree {
    /// Each span's parent in the batch (`Some(i)` for a span naming itself, which is then a root).
    pub(crate) parent_of: Vec<Option<usize>>,
    /// Each span's children, in the order they finished (batch order).
    pub(crate) children: Vec<Vec<usize>>,
    /// The spans with no parent in the batch.
    pub(crate) roots: Vec<usize>,
}

impl Tree {
    /// The tree of `batch`.
    pub(crate) fn of(batch: &[SpanData]) -> Self {
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
                find(s.parent_span_id)
                    .filter(|&p| batch[p].span_context.trace_id() == s.span_context.trace_id())
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
        Self {
            parent_of,
            children,
            roots,
        }
    }

    /// Whether span `i` is nested in its parent's document.
    pub(crate) fn is_nested(&self, i: usize) -> bool {
        self.parent_of[i].is_some_and(|p| p != i)
    }

    /// The one root, when the whole batch hangs under it within [`MAX_NESTING`] (the usual
    /// invocation): then the batch is one document.
    pub(crate) fn single_root(&self) -> Option<usize> {
        let [root] = self.roots.as_slice() else {
            return None;
        };
        let mut reached = 0usize;
        let mut stack = vec![(*root, 0usize)];
        while let Some((i, depth)) = stack.pop() {
            reached += 1;
            if !self.children[i].is_empty() {
                if depth >= MAX_NESTING {
                    return None;
                }
                stack.extend(self.children[i].iter().map(|&c| (c, depth + 1)));
            }
        }
        // Spans in a parent cycle are reached from no root.
        (reached == self.parent_of.len()).then_some(*root)
    }
}
