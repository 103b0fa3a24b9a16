//! [`MetricRef`]: one metric with its dimension values — what a dashboard row and an alarm both point at.
//!
//! Dashboards add rendering (stat, label, colour) and alarms add evaluation (stat, period) on top; the
//! reference itself is the same type in both, so the test "every metric an alarm reads is on a
//! dashboard" compares like with like.

use crate::aws::AwsMetric;
use crate::custom::{CustomDimension, CustomMetric};
use crate::known::{self, MetricCheck};

/// One dimension name and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dimension {
    /// Name (`FunctionName`).
    pub name: String,
    /// Value (`prod-collectiq-cards-get`).
    pub value: String,
}

/// A metric and its dimension values.
///
/// ```
/// use vocabulary::{MetricRef, aws::lambda, dimension};
/// let m = MetricRef::of(lambda::ERRORS).with_dimension(dimension::FUNCTION_NAME, "prod-collectiq-cards-get");
/// assert_eq!(m.namespace(), "AWS/Lambda");
/// assert_eq!(m.dimension_keys(), ["FunctionName"]);
/// // The same metric asked for with a set Lambda never publishes.
/// assert!(MetricRef::of(lambda::ERRORS).with_dimension("Stage", "prod").check_aws().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct MetricRef {
    namespace: String,
    metric_name: String,
    dimensions: Vec<Dimension>,
}

impl MetricRef {
    /// Any metric by namespace and name (a namespace outside the vocabulary is not checked).
    pub fn new(namespace: impl Into<String>, metric_name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            metric_name: metric_name.into(),
            dimensions: Vec::new(),
        }
    }

    /// An AWS metric by namespace and name; prefer [`Self::of`] with a constant from [`crate::aws`].
    pub fn aws(namespace: &str, metric_name: &str) -> Self {
        Self::new(namespace, metric_name)
    }

    /// An AWS metric from the vocabulary.
    pub fn of(metric: AwsMetric) -> Self {
        Self::new(metric.namespace, metric.name)
    }

    /// A metric of a custom catalogue (CollectIQ's: `telemetry::catalogue::MetricName`).
    pub fn custom<M: CustomMetric>(metric: M) -> Self {
        Self::new(M::NAMESPACE, metric.metric_name())
    }

    /// Adds a dimension.
    pub fn with_dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push(Dimension {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a catalogue dimension.
    pub fn with_custom_dimension<K: CustomDimension>(self, key: K, value: impl Into<String>) -> Self {
        self.with_dimension(key.dimension_name(), value)
    }

    /// Namespace.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Metric name.
    #[must_use]
    pub fn metric_name(&self) -> &str {
        &self.metric_name
    }

    /// Dimensions, in the order added.
    #[must_use]
    pub fn dimensions(&self) -> &[Dimension] {
        &self.dimensions
    }

    /// Dimension names, in the order added.
    #[must_use]
    pub fn dimension_keys(&self) -> Vec<&str> {
        self.dimensions.iter().map(|d| d.name.as_str()).collect()
    }

    /// Takes it apart: namespace, metric name, dimensions.
    #[must_use]
    pub fn into_parts(self) -> (String, String, Vec<Dimension>) {
        (self.namespace, self.metric_name, self.dimensions)
    }

    /// Checks the metric and its dimension keys against the vocabulary and the catalogue `C`.
    ///
    /// # Errors
    /// The [`MetricCheck`] when the metric is unknown in a known namespace or its dimension set is
    /// not one it is published with.
    pub fn check<C: CustomMetric>(&self) -> Result<(), MetricCheck> {
        match known::check::<C>(&self.namespace, &self.metric_name, &self.dimension_keys()) {
            c if c.is_ok() => Ok(()),
            c => Err(c),
        }
    }

    /// [`Self::check`] against AWS namespaces only.
    ///
    /// # Errors
    /// As [`Self::check`].
    pub fn check_aws(&self) -> Result<(), MetricCheck> {
        self.check::<known::NoCustomMetrics>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::bedrock;
    use crate::dimension::MODEL_ID;

    #[test]
    fn bedrock_tokens_by_model() {
        // Bedrock runtime metrics page: InputTokenCount in AWS/Bedrock, dimension ModelId.
        let m = MetricRef::of(bedrock::INPUT_TOKEN_COUNT).with_dimension(MODEL_ID, "m");
        assert_eq!(m.namespace(), "AWS/Bedrock");
        assert_eq!(m.metric_name(), "InputTokenCount");
        assert_eq!(
            m.dimensions(),
            [Dimension {
                name: "ModelId".into(),
                value: "m".into()
            }]
        );
        assert_eq!(m.check_aws(), Ok(()));
        assert!(matches!(
            MetricRef::of(bedrock::INPUT_TOKEN_COUNT)
                .with_dimension("Model", "m")
                .check_aws(),
            Err(MetricCheck::DimensionSetMismatch { .. })
        ));
        assert!(matches!(
            MetricRef::aws("AWS/Bedrock", "InputTokens").check_aws(),
            Err(MetricCheck::UnknownMetric { .. })
        ));
        assert_eq!(
            MetricRef::new("Acme", "x").with_dimension("a", "b").check_aws(),
            Ok(())
        );
    }
}
