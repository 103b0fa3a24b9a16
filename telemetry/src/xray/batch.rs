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
    /// the service's error code, e.g. S3's `SlowDown` on a 503 is a throttle, not a fault, or a true
    /// `telemetry.fault`, e.g. S3's `RequestTimeout` on a 400 is a fault, not an error) keeps that
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

/// Whether `v` is one of the segment `namespace` values X-Ray defines: `aws` (an AWS SDK call) or
/// `remote` (another downstream call). Any other text goes to metadata instead.
pub(crate) fn is_namespace(v: &Value) -> bool {
    matches!(v, Value::String(s) if matches!(s.as_str(), "aws" | "remote"))
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
    /// In one vector (an invocation's batch is exported with two allocations, not one per parent):
    /// `n + 1` offsets, then every span's children grouped by parent (span `i`'s are at
    /// `n + 1 + links[i]..n + 1 + links[i + 1]`, in the order they finished: batch order), then the
    /// roots.
    links: Vec<usize>,
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
        Self::of_parents(parent_of)
    }

    /// The tree of a batch whose span `i` has the parent `parent_of[i]` in the batch.
    fn of_parents(parent_of: Vec<Option<usize>>) -> Self {
        let n = parent_of.len();
        let nested = |i: usize| parent_of[i].filter(|&p| p != i);
        // Counts, then each group's end, then each child into its group from the back (batch order
        // kept), which leaves `links[p]` at the group's start; the roots after the groups.
        let mut links = vec![0usize; 2 * n + 1];
        for i in 0..n {
            if let Some(p) = nested(i) {
                links[p] += 1;
            }
        }
        for i in 1..n {
            links[i] += links[i - 1];
        }
        let grouped = n.checked_sub(1).map_or(0, |last| links[last]);
        links[n] = grouped;
        for i in (0..n).rev() {
            if let Some(p) = nested(i) {
                links[p] -= 1;
                let at = n + 1 + links[p];
                links[at] = i;
            }
        }
        for (at, i) in (n + 1 + grouped..).zip((0..n).filter(|&i| nested(i).is_none())) {
            links[at] = i;
        }
        Self { parent_of, links }
    }

    /// Span `i`'s children, in batch order.
    pub(crate) fn children(&self, i: usize) -> &[usize] {
        let n = self.parent_of.len();
        &self.links[n + 1 + self.links[i]..n + 1 + self.links[i + 1]]
    }

    /// The spans with no parent in the batch, in batch order.
    pub(crate) fn roots(&self) -> &[usize] {
        let n = self.parent_of.len();
        &self.links[n + 1 + self.links[n]..]
    }

    /// Whether span `i` is nested in its parent's document.
    pub(crate) fn is_nested(&self, i: usize) -> bool {
        self.parent_of[i].is_some_and(|p| p != i)
    }

    /// The one root, when the whole batch hangs under it within [`MAX_NESTING`] (the usual
    /// invocation): then the batch is one document.
    pub(crate) fn single_root(&self) -> Option<usize> {
        let [root] = self.roots() else {
            return None;
        };
        // Every span reaches the root within `MAX_NESTING` parents; one in a parent cycle, never. At
        // most `MAX_NESTING + 1` steps a span: linear in the batch, without a stack.
        (0..self.parent_of.len())
            .all(|i| {
                let mut at = i;
                (0..=MAX_NESTING).any(|_| {
                    if at == *root {
                        return true;
                    }
                    at = self.parent_of[at].unwrap_or(*root);
                    false
                })
            })
            .then_some(*root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Children per parent, roots, and the single root as a walk from the root finds them: what the
    /// tree held before it was packed into one vector.
    fn by_lists(parent_of: &[Option<usize>]) -> (Vec<Vec<usize>>, Vec<usize>, Option<usize>) {
        let mut children = vec![Vec::new(); parent_of.len()];
        let mut roots = Vec::new();
        for (i, p) in parent_of.iter().enumerate() {
            match p {
                Some(p) if *p != i => children[*p].push(i),
                _ => roots.push(i),
            }
        }
        let single = match roots.as_slice() {
            [root] => {
                let mut reached = 0;
                let mut too_deep = false;
                let mut stack = vec![(*root, 0usize)];
                while let Some((i, depth)) = stack.pop() {
                    reached += 1;
                    if !children[i].is_empty() {
                        too_deep |= depth >= MAX_NESTING;
                        stack.extend(children[i].iter().map(|&c| (c, depth + 1)));
                    }
                }
                (!too_deep && reached == parent_of.len()).then_some(*root)
            }
            _ => None,
        };
        (children, roots, single)
    }

    fn check(parent_of: Vec<Option<usize>>) {
        let (children, roots, single) = by_lists(&parent_of);
        let tree = Tree::of_parents(parent_of);
        for (i, c) in children.iter().enumerate() {
            assert_eq!(tree.children(i), c.as_slice(), "children of {i}");
        }
        assert_eq!(tree.roots(), roots.as_slice());
        assert_eq!(tree.single_root(), single);
    }

    #[test]
    fn chains_at_and_past_the_nesting_limit_and_cycles() {
        check(Vec::new());
        check(vec![None]);
        check(vec![Some(0)]);
        // A chain: span i's parent is i + 1, the last the root; MAX_NESTING deep, and one deeper.
        for len in [MAX_NESTING, MAX_NESTING + 1, MAX_NESTING + 2, 3 * MAX_NESTING] {
            check((0..len).map(|i| (i + 1 < len).then_some(i + 1)).collect());
        }
        // Two spans each other's parent, beside a root.
        check(vec![Some(1), Some(0), None]);
        check(vec![Some(1), Some(0)]);
    }

    proptest! {
        #[test]
        fn packed_children_and_roots_are_the_listed_ones(
            parents in (1usize..150).prop_flat_map(|n| {
                proptest::collection::vec(proptest::option::of(0..n), n)
            }),
        ) {
            check(parents);
        }

        /// Trees with one root (each span's parent later in the batch, as spans close before their
        /// parents), deep and wide, deeper than the nesting limit too.
        #[test]
        fn trees_with_one_root_find_it(
            parents in (1usize..150).prop_flat_map(|n| {
                (0..n)
                    .map(|i| {
                        if i + 1 < n {
                            (i + 1..(i + 3).min(n)).prop_map(Some).boxed()
                        } else {
                            Just(None).boxed()
                        }
                    })
                    .collect::<Vec<_>>()
            }),
        ) {
            check(parents);
        }
    }
}
