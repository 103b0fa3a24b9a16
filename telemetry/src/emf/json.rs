//! The EMF document writer: appends one document straight into a reused byte buffer.
//!
//! Why not serde: every string in a document except the per-flush properties (request id, trace id) is
//! known when a metric key is first registered — namespace, dimension names and values, property
//! names and values, metric names, units. They are escaped once, then and there ([`MetricFragments`],
//! [`members`], [`dimension_set`]), and
//! a flush only copies those fragments and formats numbers (`itoa` for integral values, `zmij` — the
//! shortest round-trip formatter serde_json itself uses — for the rest). This removed the two thirds
//! of a flush that serde_json's string escaping and float formatting took (docs/BENCHMARKS.md).
//!
//! The output is exactly what serde_json writes for the same document (`document::tests` keep a serde
//! model of the specification as the oracle and compare both on arbitrary input), and `crate::json`'s property
//! test checks string escaping against serde_json for arbitrary strings.

use super::units::EmfUnit;

use crate::json::write_str;

/// Appends `,"key":"value"` for each pair: the root members of a dimension set or of properties.
pub(crate) fn members<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Box<[u8]> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        out.push(b',');
        write_str(&mut out, k);
        out.push(b':');
        write_str(&mut out, v);
    }
    out.into_boxed_slice()
}

/// `["k1","k2"]`: one dimension set.
pub(crate) fn dimension_set<'a>(keys: impl IntoIterator<Item = &'a str>) -> Box<[u8]> {
    let mut out = vec![b'['];
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(&mut out, k);
    }
    out.push(b']');
    out.into_boxed_slice()
}

/// `["k1"],["k1","k2"]`: several dimension sets, in order.
pub(crate) fn dimension_sets(sets: &[Vec<String>]) -> Box<[u8]> {
    let mut out = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(&dimension_set(set.iter().map(String::as_str)));
    }
    out.into_boxed_slice()
}

/// The part of every document between the timestamp and the dimension set:
/// `,"CloudWatchMetrics":[{"Namespace":"…","Dimensions":[`.
pub(crate) fn directive_head(namespace: &str) -> Box<[u8]> {
    let mut out = b",\"CloudWatchMetrics\":[{\"Namespace\":".to_vec();
    write_str(&mut out, namespace);
    out.extend_from_slice(b",\"Dimensions\":[");
    out.into_boxed_slice()
}

/// Appends a metric value. Integral values are written as integers (`3`, not `3.0`): shorter, cheaper,
/// and CloudWatch reads both the same. Callers pass finite values only (see `is_valid_value`).
pub(crate) fn write_value(out: &mut Vec<u8>, v: f64) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let int = v as i64;
    #[allow(clippy::cast_precision_loss, clippy::float_cmp)]
    if int as f64 == v && v.abs() < EXACT {
        // Most values a flush writes are small counts (a counter incremented once): their digits
        // are stored directly, without the formatter and a copy of its buffer.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        match int {
            0..=9 => out.push(b'0' + int as u8),
            10..=99 => out.extend_from_slice(&[b'0' + (int / 10) as u8, b'0' + (int % 10) as u8]),
            _ => out.extend_from_slice(itoa::Buffer::new().format(int).as_bytes()),
        }
    } else if v.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
    } else {
        // Never reached through the recorder, which rejects non-finite values; JSON has no NaN.
        out.extend_from_slice(b"null");
    }
}

/// A metric's fragments, rendered when its series is created.
#[derive(Debug)]
pub(crate) struct MetricFragments {
    /// `{"Name":"…","Unit":"…"}`, with `,"StorageResolution":1` when high-resolution, for `unit`.
    definition: Box<[u8]>,
    unit: EmfUnit,
    high_resolution: bool,
    /// `,"…":`, the metric's root member up to its value.
    member: Box<[u8]>,
}

impl MetricFragments {
    pub(crate) fn new(name: &str, unit: EmfUnit, high_resolution: bool) -> Self {
        let mut member = vec![b','];
        write_str(&mut member, name);
        member.push(b':');
        let mut definition = Vec::new();
        write_definition(
            &mut definition,
            &member[1..member.len() - 1],
            unit,
            high_resolution,
        );
        Self {
            definition: definition.into_boxed_slice(),
            unit,
            high_resolution,
            member: member.into_boxed_slice(),
        }
    }
}

impl MetricFragments {
    /// The metric's name, for warnings.
    pub(crate) fn name(&self) -> String {
        serde_json::from_slice(&self.member[1..self.member.len() - 1]).unwrap_or_default()
    }
}

fn write_definition(out: &mut Vec<u8>, quoted_name: &[u8], unit: EmfUnit, high_resolution: bool) {
    out.extend_from_slice(b"{\"Name\":");
    out.extend_from_slice(quoted_name);
    out.extend_from_slice(b",\"Unit\":\"");
    // Unit names contain no character JSON escapes.
    out.extend_from_slice(unit.as_str().as_bytes());
    if high_resolution {
        out.extend_from_slice(b"\",\"StorageResolution\":1}");
    } else {
        out.extend_from_slice(b"\"}");
    }
}

/// One metric of a document: its fragments, its unit now (`describe_*!` may change it after the
/// fragments were rendered) and its values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MetricJson<'a> {
    pub(crate) fragments: &'a MetricFragments,
    pub(crate) unit: EmfUnit,
    pub(crate) values: &'a [f64],
}

/// The pre-rendered parts of one document besides its metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DocumentHead<'a> {
    /// From [`directive_head`].
    pub(crate) directive: &'a [u8],
    /// From [`dimension_set`].
    pub(crate) dimension_set: &'a [u8],
    /// Root members from [`members`]: dimension values, then properties.
    pub(crate) root: [&'a [u8]; 3],
    /// `level` and `timestamp` members first, for Lambda's log-level filter
    /// ([`crate::emf::EmfBuilder::lambda_log_level`]).
    pub(crate) level: Option<&'a str>,
}

/// Appends one document (no newline) with `count` metrics, the `i`-th given by `metric(i)`:
/// `{"_aws":{"Timestamp":…,"CloudWatchMetrics":[{"Namespace":…,"Dimensions":[[…]],"Metrics":[…]}]},
/// <dimension values>,<properties>,<metric values>}` — the key order serde_json gives the same model.
/// Returns the number of values written.
pub(crate) fn write_document<'a>(
    out: &mut Vec<u8>,
    head: &DocumentHead<'_>,
    timestamp: u64,
    count: usize,
    metric: impl Fn(usize) -> MetricJson<'a>,
) -> usize {
    write_timestamp(out, timestamp, head.level);
    write_metadata(out, head, count, &metric);
    for part in head.root {
        out.extend_from_slice(part);
    }
    let mut written = 0;
    for i in 0..count {
        let m = metric(i);
        written += m.values.len();
        out.extend_from_slice(&m.fragments.member);
        write_values(out, m.values);
    }
    out.push(b'}');
    written
}

/// `{"_aws":{"Timestamp":…`: the start of every document; with a `level`, the document opens with it
/// and the same instant as an RFC 3339 `timestamp` — Lambda's log-level filter reads a line without
/// both as INFO ("If you don't supply a valid timestamp, Lambda will assign the log the level INFO").
fn write_timestamp(out: &mut Vec<u8>, timestamp: u64, level: Option<&str>) {
    if let Some(level) = level {
        out.extend_from_slice(b"{\"level\":");
        write_str(out, level);
        out.extend_from_slice(b",\"timestamp\":\"");
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(timestamp);
        out.extend_from_slice(crate::clock::Stamp::new(at).as_bytes());
        out.extend_from_slice(b"\",\"_aws\":{\"Timestamp\":");
    } else {
        out.extend_from_slice(b"{\"_aws\":{\"Timestamp\":");
    }
    out.extend_from_slice(itoa::Buffer::new().format(timestamp).as_bytes());
}

/// `,"CloudWatchMetrics":[{…,"Metrics":[…]}]}`: the rest of the `_aws` member.
fn write_metadata<'a>(
    out: &mut Vec<u8>,
    head: &DocumentHead<'_>,
    count: usize,
    metric: &impl Fn(usize) -> MetricJson<'a>,
) {
    out.extend_from_slice(head.directive);
    out.extend_from_slice(head.dimension_set);
    out.extend_from_slice(b"],\"Metrics\":[");
    for i in 0..count {
        let m = metric(i);
        if i > 0 {
            out.push(b',');
        }
        let f = m.fragments;
        if m.unit == f.unit {
            out.extend_from_slice(&f.definition);
        } else {
            write_definition(out, &f.member[1..f.member.len() - 1], m.unit, f.high_resolution);
        }
    }
    out.extend_from_slice(b"]}]}");
}

/// A metric's value: a number, or an array of them.
fn write_values(out: &mut Vec<u8>, values: &[f64]) {
    match values {
        [one] => write_value(out, *one),
        many => {
            out.push(b'[');
            for (k, v) in many.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                write_value(out, *v);
            }
            out.push(b']');
        }
    }
}

/// The bytes of a document that stay the same from one flush to the next as long as its group, its
/// metrics (in order) and their units do: the whole `_aws` member after the timestamp, the group's
/// dimension and property members, and each metric's `,"name":`. Writing a document from it
/// ([`write`](Self::write)) copies two slices and, per metric, its name member and its values — the
/// same bytes [`write_document`] writes (its tests compare the two).
#[derive(Debug, Default)]
pub(crate) struct DocumentTemplate {
    /// `,"CloudWatchMetrics":[…]}` followed by the dimension and property members.
    head: Vec<u8>,
    /// Every metric's `,"name":`, one after the other …
    members: Vec<u8>,
    /// … each ending here.
    member_ends: Vec<usize>,
    /// The documents' `level` ([`DocumentHead::level`]).
    level: Option<Box<str>>,
}

impl DocumentTemplate {
    /// The template of the documents `write_document(out, head, _, count, metric)` writes, without
    /// `head.root[2]` (the per-flush properties, which [`write`](Self::write) takes).
    pub(crate) fn new<'a>(
        head: &DocumentHead<'_>,
        count: usize,
        metric: impl Fn(usize) -> MetricJson<'a>,
    ) -> Self {
        let mut t = Self::default();
        write_metadata(&mut t.head, head, count, &metric);
        t.head.extend_from_slice(head.root[0]);
        t.head.extend_from_slice(head.root[1]);
        t.level = head.level.map(Box::from);
        t.member_ends.reserve_exact(count);
        for i in 0..count {
            t.members.extend_from_slice(&metric(i).fragments.member);
            t.member_ends.push(t.members.len());
        }
        t
    }

    /// Bytes held.
    pub(crate) fn size(&self) -> usize {
        self.head.len() + self.members.len() + self.member_ends.len() * size_of::<usize>()
    }

    /// Appends one document (no newline): the timestamp, the template, `extra` (per-flush property
    /// members, written after the group's) and the `i`-th metric's values from `values(i)`. Returns the
    /// number of values written.
    pub(crate) fn write<'v>(
        &self,
        out: &mut Vec<u8>,
        timestamp: u64,
        extra: &[u8],
        values: impl Fn(usize) -> &'v [f64],
    ) -> usize {
        write_timestamp(out, timestamp, self.level.as_deref());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(extra);
        let mut written = 0;
        let mut start = 0;
        for (i, &end) in self.member_ends.iter().enumerate() {
            let v = values(i);
            written += v.len();
            out.extend_from_slice(&self.members[start..end]);
            start = end;
            write_values(out, v);
        }
        out.push(b'}');
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_are_shortest_and_integral_when_exact() {
        let cases = [
            (3.0, "3"),
            (-0.0, "0"),
            (12.5, "12.5"),
            (1e200, "1e+200"),
            (9_007_199_254_740_992.0, "9007199254740992.0"),
            (-7.0, "-7"),
            (0.1, "0.1"),
        ];
        for (v, text) in cases {
            let mut out = Vec::new();
            write_value(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), text, "{v}");
        }
        // Non-integral values: byte for byte what serde_json writes.
        for v in [12.5, 0.1, -2.991_641_243_025_806e84, 1e-300, 1.5e300] {
            let mut out = Vec::new();
            write_value(&mut out, v);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&v).unwrap()
            );
        }
    }

    /// Small counts are stored digit by digit: the same text as the integer formatter's, through
    /// every boundary of the short paths.
    #[test]
    fn small_counts_are_written_as_integers_are() {
        for int in -200i64..=200 {
            let mut out = Vec::new();
            #[allow(clippy::cast_precision_loss)]
            write_value(&mut out, int as f64);
            assert_eq!(String::from_utf8(out).unwrap(), int.to_string());
        }
    }

    proptest! {
        #[test]
        fn any_finite_number_round_trips(v in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let mut out = Vec::new();
            write_value(&mut out, v);
            // Rust's exact parser: serde_json's default one may be off by one ulp.
            let parsed: f64 = std::str::from_utf8(&out).unwrap().parse().unwrap();
            prop_assert_eq!(parsed, v);
        }
    }
}
