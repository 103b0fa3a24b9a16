//! How a catalogue of custom metrics joins the vocabulary without this crate depending on it.
//!
//! `telemetry::catalogue` implements both traits for its `MetricName` and `DimensionKey`, so
//! [`MetricRef::custom`](crate::MetricRef::custom) and [`known::check`](crate::known::check) accept
//! CollectIQ's own metrics with the same exact-dimension-set rule as AWS's.

/// One metric of a custom catalogue (a namespace of metrics a platform emits itself).
pub trait CustomMetric: Copy + 'static {
    /// The catalogue's CloudWatch namespace.
    const NAMESPACE: &'static str;

    /// Every metric in the catalogue.
    fn all() -> &'static [Self];

    /// The metric name as emitted.
    fn metric_name(self) -> &'static str;

    /// The dimension sets it is emitted with (keys by name, order-free).
    fn dimension_sets(self) -> Vec<Vec<&'static str>>;

    /// Looks a metric up by its emitted name.
    #[must_use]
    fn from_metric_name(name: &str) -> Option<Self> {
        Self::all().iter().copied().find(|m| m.metric_name() == name)
    }
}

/// One dimension key of a custom catalogue.
pub trait CustomDimension: Copy {
    /// The key as emitted.
    fn dimension_name(self) -> &'static str;
}
