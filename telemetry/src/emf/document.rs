//! EMF documents: the specification's limits and name rules, and a validator. The serde model of a
//! document lives in this file's tests, as the oracle for the writer in [`super::json`].
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use super::units::EmfUnit;

/// Metric definitions per document.
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;
/// Values per metric per document.
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Dimension keys per dimension set.
pub const MAX_DIMENSIONS: usize = 30;
/// Bytes per document (one log event): CloudWatch Logs takes events of up to 256 KB (262,144 bytes, 26
/// of them its own per-event overhead), and 1 KiB is left for what Lambda adds, as for a log line
/// (`logs::MAX_LINE_BYTES`): a document cut by the log pipeline loses all its metrics at once.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024 - 1024;
/// Metric name length (CloudWatch `MetricDatum.MetricName`).
pub const MAX_METRIC_NAME: usize = 255;
/// Dimension name length.
pub const MAX_DIMENSION_NAME: usize = 250;
/// Dimension value length.
pub const MAX_DIMENSION_VALUE: usize = 1024;
/// Namespace length (CloudWatch `Metric.Namespace`: at most 255).
pub const MAX_NAMESPACE: usize = 255;
/// Largest magnitude CloudWatch accepts.
pub const MAX_ABS_VALUE: f64 = 1.174_271e108;
/// Smallest non-zero magnitude CloudWatch accepts.
pub const MIN_ABS_VALUE: f64 = 8.515_920e-109;
/// Length root properties are cut to, so documents stay small.
pub const MAX_PROPERTY_CHARS: usize = 1024;

/// Whether CloudWatch accepts this value.
#[must_use]
pub fn is_valid_value(v: f64) -> bool {
    v.is_finite() && (v == 0.0 || (v.abs() <= MAX_ABS_VALUE && v.abs() >= MIN_ABS_VALUE))
}

/// Whether `ns` is a valid namespace (`^[a-zA-Z0-9._#:/-]+$`, ≤ 255 chars, not starting with `:`
/// (CloudWatch's `Metric.Namespace` pattern `[^:].*`), not `AWS/…`).
#[must_use]
pub fn is_valid_namespace(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= MAX_NAMESPACE
        && !ns.starts_with(':')
        && !ns.starts_with("AWS/")
        && ns
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'#' | b':' | b'/' | b'-'))
}

/// Whether `name` is a valid metric name (1–255 ASCII printable chars, not reserved).
#[must_use]
pub fn is_valid_metric_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_METRIC_NAME
        && name != "_aws"
        && name.bytes().all(|c| (0x20..0x7f).contains(&c))
        && !name.trim().is_empty()
}

/// Whether `name` is a valid dimension name (1–250 ASCII printable chars, not starting with `:`).
#[must_use]
pub fn is_valid_dimension_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_DIMENSION_NAME
        && !name.starts_with(':')
        && name != "_aws"
        && name.bytes().all(|c| (0x20..0x7f).contains(&c))
        && !name.trim().is_empty()
}

/// Whether `name` is one of the members a document opens with under Lambda's log-level filter
/// ([`EmfBuilder::lambda_log_level`](super::EmfBuilder::lambda_log_level)): `level` and `timestamp`.
/// With the filter on, a dimension, property or metric of that name would repeat the member (a JSON
/// object with a key twice, which CloudWatch and Lambda's filter each read their own way), so none
/// is written.
#[must_use]
pub(crate) fn is_level_member(name: &str) -> bool {
    name == "level" || name == "timestamp"
}

/// Whether `value` is a valid dimension value: 1–1024 printable ASCII characters, not only whitespace.
/// CloudWatch's `Dimension.Value`: "Dimension values must contain only ASCII characters and must
/// include at least one non-whitespace character. ASCII control characters are not supported" — a
/// document with such a value loses its dimensions. A label whose value is not one becomes a property.
#[must_use]
pub fn is_valid_dimension_value(value: &str) -> bool {
    !value.trim().is_empty()
        && value.len() <= MAX_DIMENSION_VALUE
        && value.bytes().all(|c| (0x20..0x7f).contains(&c))
}

/// A violation of the EMF specification found by [`validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid EMF document: {0}")]
pub struct SpecViolation(pub String);

/// Checks one serialized document against the specification's rules (the JSON schema plus CloudWatch's
/// limits). Used by this crate's property tests and by anyone testing emitted logs.
///
/// ```
/// let doc = r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"CollectIQ",
///   "Dimensions":[["service"]],"Metrics":[{"Name":"CardsValued","Unit":"Count"}]}]},
///   "service":"valuation","CardsValued":1}"#;
/// assert!(telemetry::emf::validate(doc).is_ok());
/// assert!(telemetry::emf::validate(r#"{"_aws":{}}"#).is_err());
/// ```
pub fn validate(document: &str) -> Result<(), SpecViolation> {
    let bad = |m: String| Err(SpecViolation(m));
    if document.len() > MAX_DOCUMENT_BYTES {
        return bad(format!("{} bytes > {MAX_DOCUMENT_BYTES}", document.len()));
    }
    let v: serde_json::Value =
        serde_json::from_str(document).map_err(|e| SpecViolation(format!("not JSON: {e}")))?;
    let root = v
        .as_object()
        .ok_or_else(|| SpecViolation("root is not an object".into()))?;
    let aws = root
        .get("_aws")
        .and_then(|a| a.as_object())
        .ok_or_else(|| SpecViolation("no _aws".into()))?;
    if !aws.get("Timestamp").is_some_and(serde_json::Value::is_u64) {
        return bad("Timestamp missing or not integer ms".into());
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(|d| d.as_array())
        .ok_or_else(|| SpecViolation("no CloudWatchMetrics".into()))?;
    for d in directives {
        let ns = d.get("Namespace").and_then(|n| n.as_str()).unwrap_or_default();
        if !is_valid_namespace(ns) {
            return bad(format!("namespace {ns:?}"));
        }
        let sets = d
            .get("Dimensions")
            .and_then(|x| x.as_array())
            .ok_or_else(|| SpecViolation("no Dimensions".into()))?;
        // The specification's schema: `Dimensions` has at least one DimensionSet (which may be empty).
        if sets.is_empty() {
            return bad("Dimensions is empty (at least one DimensionSet, which may be [])".into());
        }
        for set in sets {
            let keys = set
                .as_array()
                .ok_or_else(|| SpecViolation("dimension set not array".into()))?;
            if keys.len() > MAX_DIMENSIONS {
                return bad(format!("{} dimensions", keys.len()));
            }
            for k in keys {
                let k = k.as_str().unwrap_or_default();
                if !is_valid_dimension_name(k) {
                    return bad(format!("dimension name {k:?}"));
                }
                match root.get(k).and_then(|x| x.as_str()) {
                    Some(val) if is_valid_dimension_value(val) => {}
                    other => return bad(format!("dimension {k:?} value {other:?}")),
                }
            }
        }
        let metrics = d
            .get("Metrics")
            .and_then(|x| x.as_array())
            .ok_or_else(|| SpecViolation("no Metrics".into()))?;
        if metrics.len() > MAX_METRICS_PER_DOCUMENT {
            return bad(format!("{} metrics", metrics.len()));
        }
        for m in metrics {
            let name = m.get("Name").and_then(|x| x.as_str()).unwrap_or_default();
            if !is_valid_metric_name(name) {
                return bad(format!("metric name {name:?}"));
            }
            if let Some(u) = m.get("Unit")
                && u.as_str().and_then(EmfUnit::parse).is_none()
            {
                return bad(format!("unit {u}"));
            }
            if let Some(r) = m.get("StorageResolution")
                && r != 1
                && r != 60
            {
                return bad(format!("StorageResolution {r}"));
            }
            let values: Vec<&serde_json::Value> = match root.get(name) {
                Some(serde_json::Value::Array(a)) => a.iter().collect(),
                Some(x @ serde_json::Value::Number(_)) => vec![x],
                other => return bad(format!("metric {name:?} target {other:?}")),
            };
            if values.is_empty() || values.len() > MAX_VALUES_PER_METRIC {
                return bad(format!("metric {name:?} has {} values", values.len()));
            }
            if !values.iter().all(|x| x.as_f64().is_some_and(is_valid_value)) {
                return bad(format!("metric {name:?} has an invalid value"));
            }
        }
    }
    Ok(())
}

/// The serde model of an EMF document, mirroring the specification: the oracle the hand-written
/// writer is compared with.
#[cfg(test)]
pub(crate) mod model {
    use super::EmfUnit;
    use serde::Serialize;
    use serde::ser::{SerializeMap, Serializer};

    /// One metric in a document: its definition and the values it carries there (borrowed).
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) struct MetricValues<'a> {
        pub(crate) name: &'a str,
        pub(crate) unit: EmfUnit,
        pub(crate) high_resolution: bool,
        pub(crate) values: &'a [f64],
    }

    #[derive(Serialize)]
    struct MetricDefinition<'a> {
        #[serde(rename = "Name")]
        name: &'a str,
        #[serde(rename = "Unit")]
        unit: EmfUnit,
        #[serde(rename = "StorageResolution", skip_serializing_if = "Option::is_none")]
        storage_resolution: Option<u8>,
    }

    #[derive(Serialize)]
    struct MetricDirective<'a> {
        #[serde(rename = "Namespace")]
        namespace: &'a str,
        #[serde(rename = "Dimensions")]
        dimensions: [Vec<&'a str>; 1],
        #[serde(rename = "Metrics")]
        metrics: Vec<MetricDefinition<'a>>,
    }

    #[derive(Serialize)]
    struct AwsMetadata<'a> {
        #[serde(rename = "Timestamp")]
        timestamp: u64,
        #[serde(rename = "CloudWatchMetrics")]
        cloudwatch_metrics: [MetricDirective<'a>; 1],
    }

    /// One EMF document: `_aws` metadata, then dimension values, properties and metric values at the root.
    pub(crate) struct Document<'a> {
        pub(crate) namespace: &'a str,
        pub(crate) timestamp: u64,
        pub(crate) dimensions: &'a [(String, String)],
        pub(crate) properties: &'a [(&'a str, &'a str)],
        pub(crate) metrics: &'a [MetricValues<'a>],
    }

    impl Serialize for Document<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let aws = AwsMetadata {
                timestamp: self.timestamp,
                cloudwatch_metrics: [MetricDirective {
                    namespace: self.namespace,
                    dimensions: [self.dimensions.iter().map(|(k, _)| k.as_str()).collect()],
                    metrics: self
                        .metrics
                        .iter()
                        .map(|m| MetricDefinition {
                            name: m.name,
                            unit: m.unit,
                            storage_resolution: m.high_resolution.then_some(1),
                        })
                        .collect(),
                }],
            };
            let mut map = s.serialize_map(Some(
                1 + self.dimensions.len() + self.properties.len() + self.metrics.len(),
            ))?;
            map.serialize_entry("_aws", &aws)?;
            for (k, v) in self.dimensions {
                map.serialize_entry(k, v)?;
            }
            for (k, v) in self.properties {
                map.serialize_entry(k, v)?;
            }
            for m in self.metrics {
                match m.values {
                    [one] => map.serialize_entry(m.name, &Number(*one))?,
                    many => map.serialize_entry(m.name, &Numbers(many))?,
                }
            }
            map.end()
        }
    }

    /// A metric value: integral values are written as integers (`3`, not `3.0`), which is shorter and
    /// cheaper to format; CloudWatch reads both the same.
    struct Number(f64);

    impl Serialize for Number {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
            if self.0.fract() == 0.0 && self.0.abs() < EXACT {
                #[allow(clippy::cast_possible_truncation)]
                s.serialize_i64(self.0 as i64)
            } else {
                s.serialize_f64(self.0)
            }
        }
    }

    struct Numbers<'a>(&'a [f64]);

    impl Serialize for Numbers<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(|v| Number(*v)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::model::{Document, MetricValues};
    use super::*;
    use crate::emf::json::{self, DocumentHead, MetricFragments, MetricJson};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// Arbitrary text: quotes, backslashes, control characters, any unicode.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9_]{1,12}",
            "[\"\\\\/\\x00-\\x1f a-z]{0,12}",
            any::<String>(),
        ]
    }

    fn unit() -> impl Strategy<Value = EmfUnit> {
        proptest::sample::select(EmfUnit::ALL.to_vec())
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            (-1_000_000i64..1_000_000).prop_map(|v| v as f64),
            Just(0.0),
        ]
    }

    /// CloudWatch's `Metric.Namespace` (1–255 characters, pattern `[^:].*`) and `Dimension.Value`
    /// ("only ASCII characters", no control characters, one non-whitespace).
    #[test]
    fn namespace_and_dimension_value_rules_are_cloudwatchs() {
        assert!(is_valid_namespace("CollectIQ/valuation:v1"));
        assert!(!is_valid_namespace(":CollectIQ"), "pattern [^:].*");
        assert!(is_valid_namespace(&"a".repeat(255)));
        assert!(!is_valid_namespace(&"a".repeat(256)), "at most 255");
        assert!(!is_valid_namespace("AWS/Lambda"));
        assert!(is_valid_dimension_value("base-set #4/102"));
        for bad in ["Pokémon", "カード", "tab\there", "line\n", " ", ""] {
            assert!(!is_valid_dimension_value(bad), "{bad:?}");
        }
        assert!(is_valid_dimension_value(&"x".repeat(MAX_DIMENSION_VALUE)));
        assert!(!is_valid_dimension_value(&"x".repeat(MAX_DIMENSION_VALUE + 1)));
    }

    /// The specification's schema gives `Dimensions` at least one DimensionSet; the set itself may be
    /// empty (a metric with no dimensions).
    #[test]
    fn dimensions_holds_at_least_one_set() {
        let doc = |dims: &str| {
            format!(
                r#"{{"_aws":{{"Timestamp":1,"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":{dims},"Metrics":[{{"Name":"M"}}]}}]}},"M":1}}"#
            )
        };
        assert!(validate(&doc("[[]]")).is_ok());
        let e = validate(&doc("[]")).unwrap_err();
        assert!(e.to_string().contains("Dimensions is empty"), "{e}");
    }

    fn unique(n: usize) -> impl Strategy<Value = Vec<String>> {
        proptest::collection::hash_set(text(), 0..n).prop_map(|s| s.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn writer_output_is_the_serde_model_and_the_spec(
            namespace in text(),
            timestamp in any::<u64>(),
            // Distinct root keys: dimensions, then properties, then metrics.
            keys in unique(24),
            dim_values in proptest::collection::vec(text(), 8),
            prop_values in proptest::collection::vec(text(), 8),
            defs in proptest::collection::vec((unit(), any::<bool>(), proptest::collection::vec(value(), 1..5)), 8),
            split in (0usize..=8, 0usize..=8),
        ) {
            let n_dims = split.0.min(keys.len());
            let n_props = split.1.min(keys.len() - n_dims);
            let dims: Vec<(String, String)> = keys[..n_dims].iter().cloned().zip(dim_values).collect();
            let props: Vec<(&str, &str)> = keys[n_dims..n_dims + n_props]
                .iter()
                .zip(&prop_values)
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let names = &keys[n_dims + n_props..];
            let metrics: Vec<MetricValues<'_>> = names
                .iter()
                .zip(&defs)
                .map(|(name, (unit, hr, values))| MetricValues {
                    name,
                    unit: *unit,
                    high_resolution: *hr,
                    values,
                })
                .collect();
            let expected = serde_json::to_vec(&Document {
                namespace: &namespace,
                timestamp,
                dimensions: &dims,
                properties: &props,
                metrics: &metrics,
            })
            .unwrap();

            let directive = json::directive_head(&namespace);
            let set = json::dimension_set(dims.iter().map(|(k, _)| k.as_str()));
            let dims_json = json::members(dims.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let props_json = json::members(props.iter().copied());
            let head = DocumentHead { directive: &directive, dimension_set: &set, root: [&dims_json, &props_json, &[]], level: None };
            // Odd metrics' fragments are rendered for another unit, as after a late `describe_*!`.
            let fragments: Vec<MetricFragments> = metrics
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let unit = if i % 2 == 1 { EmfUnit::ALL[(i * 7) % 27] } else { m.unit };
                    MetricFragments::new(m.name, unit, m.high_resolution)
                })
                .collect();
            let mut out = b"leading bytes are kept".to_vec();
            json::write_document(&mut out, &head, timestamp, metrics.len(), |i| MetricJson {
                fragments: &fragments[i],
                unit: metrics[i].unit,
                values: metrics[i].values,
            });
            prop_assert!(out.starts_with(b"leading bytes are kept"));
            let written = &out[22..];
            prop_assert_eq!(String::from_utf8_lossy(written), String::from_utf8_lossy(&expected));

            // A document written from a template is the same, the properties being the group's or
            // the flush's own.
            let none: &[u8] = &[];
            for root in [[&dims_json[..], &props_json[..], none], [&dims_json[..], none, &props_json[..]]] {
                let head = DocumentHead { directive: &directive, dimension_set: &set, root, level: None };
                let template = json::DocumentTemplate::new(&head, metrics.len(), |i| MetricJson {
                    fragments: &fragments[i],
                    unit: metrics[i].unit,
                    values: &[],
                });
                let mut out = b"leading".to_vec();
                let n = template.write(&mut out, timestamp, root[2], |i| metrics[i].values);
                prop_assert_eq!(n, metrics.iter().map(|m| m.values.len()).sum::<usize>());
                prop_assert_eq!(String::from_utf8_lossy(&out[7..]), String::from_utf8_lossy(&expected));
            }

            // And what the specification requires, read back with serde_json.
            let doc: Value = serde_json::from_slice(written).unwrap();
            prop_assert_eq!(&doc["_aws"]["Timestamp"], &json!(timestamp));
            let directive = &doc["_aws"]["CloudWatchMetrics"][0];
            prop_assert_eq!(&directive["Namespace"], &json!(namespace));
            prop_assert_eq!(&directive["Dimensions"], &json!([dims.iter().map(|(k, _)| k).collect::<Vec<_>>()]));
            for (k, v) in &dims {
                prop_assert_eq!(&doc[k.as_str()], &json!(v));
            }
            for (k, v) in &props {
                prop_assert_eq!(&doc[*k], &json!(v));
            }
            let defs = directive["Metrics"].as_array().unwrap();
            prop_assert_eq!(defs.len(), metrics.len());
            for (def, m) in defs.iter().zip(&metrics) {
                let mut want = json!({"Name": m.name, "Unit": m.unit.as_str()});
                if m.high_resolution {
                    want["StorageResolution"] = json!(1);
                }
                prop_assert_eq!(def, &want);
                let got: Vec<f64> = match &doc[m.name] {
                    Value::Array(a) => a.iter().map(|v| v.as_f64().unwrap()).collect(),
                    v => vec![v.as_f64().unwrap()],
                };
                // serde_json's default float parser may be one ulp off; the bytes are compared above.
                prop_assert_eq!(got.len(), m.values.len());
                for (g, w) in got.iter().zip(m.values) {
                    let ulps = (g.to_bits() as i64).wrapping_sub(w.to_bits() as i64).unsigned_abs();
                    prop_assert!(g == w || ulps <= 2, "{} vs {}", g, w);
                }
                prop_assert_eq!(doc[m.name].is_array(), m.values.len() > 1);
            }
            prop_assert_eq!(doc.as_object().unwrap().len(), 1 + dims.len() + props.len() + metrics.len());
        }
    }
}
