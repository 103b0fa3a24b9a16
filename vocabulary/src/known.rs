//! Does CloudWatch publish this metric with exactly these dimension keys?
//!
//! CloudWatch matches dimension sets exactly: a widget or alarm asking for `Errors` with
//! `{FunctionName, Stage}` gets no data and no error. The dashboard and alarm validators ask this module;
//! AWS namespaces are answered from [`crate::aws`], a custom namespace from its catalogue
//! ([`CustomMetric`]). Namespaces neither knows are not checked.

use crate::aws::{self, AwsMetric, same_set};
use crate::custom::CustomMetric;

/// What the vocabulary says about one (namespace, metric, dimension keys) triple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricCheck {
    /// The namespace is not in the vocabulary: nothing can be said.
    UnknownNamespace,
    /// Known namespace, unknown metric name.
    UnknownMetric {
        /// Names known in that namespace with the same spelling ignoring case, for the message.
        did_you_mean: Vec<&'static str>,
    },
    /// Known metric, but not published with this dimension set.
    DimensionSetMismatch {
        /// The sets it is published with.
        expected: Vec<Vec<&'static str>>,
    },
    /// Known metric with an exact dimension set.
    Ok,
}

impl MetricCheck {
    /// `Ok` or a namespace nobody checks.
    #[must_use]
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok | Self::UnknownNamespace)
    }
}

/// Whether `namespace` is one of the `AWS/…` namespaces the vocabulary covers.
#[must_use]
pub fn is_known_aws_namespace(namespace: &str) -> bool {
    aws::all().any(|k| k.namespace == namespace)
}

/// Whether `namespace` is checked: an AWS one in the vocabulary, or the catalogue `C`'s.
#[must_use]
pub fn is_known_namespace<C: CustomMetric>(namespace: &str) -> bool {
    is_custom::<C>(namespace) || is_known_aws_namespace(namespace)
}

fn is_custom<C: CustomMetric>(namespace: &str) -> bool {
    !namespace.is_empty() && namespace == C::NAMESPACE
}

/// The AWS metric `metric` in `namespace`, if the vocabulary has it.
#[must_use]
pub fn aws_metric(namespace: &str, metric: &str) -> Option<&'static AwsMetric> {
    aws::all().find(|k| k.namespace == namespace && k.name == metric)
}

/// The dimension sets `metric` is published with in `namespace` (AWS or the catalogue `C`'s).
#[must_use]
pub fn dimension_sets<C: CustomMetric>(namespace: &str, metric: &str) -> Option<Vec<Vec<&'static str>>> {
    if is_custom::<C>(namespace) {
        return C::from_metric_name(metric).map(CustomMetric::dimension_sets);
    }
    aws_metric(namespace, metric).map(|k| k.dimension_sets.iter().map(|s| s.to_vec()).collect())
}

/// Checks a metric and its dimension keys against the AWS vocabulary and the custom catalogue `C`.
///
/// ```
/// use vocabulary::known::{check_aws, MetricCheck};
/// assert_eq!(check_aws("AWS/ApiGateway", "5xx", &["ApiId", "Stage"]), MetricCheck::Ok);
/// // REST spelling with HTTP API dimensions never has data.
/// assert!(matches!(check_aws("AWS/ApiGateway", "5XXError", &["ApiId", "Stage"]), MetricCheck::DimensionSetMismatch { .. }));
/// assert!(matches!(check_aws("AWS/DynamoDB", "ReadThrottleEvents", &["TableName", "GlobalSecondaryIndex"]),
///     MetricCheck::DimensionSetMismatch { .. }));
/// ```
#[must_use]
pub fn check<C: CustomMetric>(namespace: &str, metric: &str, keys: &[&str]) -> MetricCheck {
    if !is_known_namespace::<C>(namespace) {
        return MetricCheck::UnknownNamespace;
    }
    let Some(sets) = dimension_sets::<C>(namespace, metric) else {
        let lower = metric.to_ascii_lowercase();
        let did_you_mean = if is_custom::<C>(namespace) {
            C::all()
                .iter()
                .map(|m| m.metric_name())
                .filter(|m| m.to_ascii_lowercase() == lower)
                .collect()
        } else {
            aws::all()
                .filter(|k| k.namespace == namespace && k.name.to_ascii_lowercase() == lower)
                .map(|k| k.name)
                .collect()
        };
        return MetricCheck::UnknownMetric { did_you_mean };
    };
    if sets.iter().any(|s| same_set(keys, s)) {
        MetricCheck::Ok
    } else {
        MetricCheck::DimensionSetMismatch { expected: sets }
    }
}

/// No custom catalogue: [`check_aws`] checks AWS namespaces only.
#[derive(Debug, Clone, Copy)]
pub enum NoCustomMetrics {}

impl CustomMetric for NoCustomMetrics {
    // No CloudWatch namespace can be empty, so this one matches nothing.
    const NAMESPACE: &'static str = "";
    fn all() -> &'static [Self] {
        &[]
    }
    fn metric_name(self) -> &'static str {
        match self {}
    }
    fn dimension_sets(self) -> Vec<Vec<&'static str>> {
        match self {}
    }
}

/// [`check`] for AWS namespaces only.
#[must_use]
pub fn check_aws(namespace: &str, metric: &str, keys: &[&str]) -> MetricCheck {
    check::<NoCustomMetrics>(namespace, metric, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_api_metrics_are_lowercase() {
        assert_eq!(
            check_aws("AWS/ApiGateway", "4xx", &["ApiId", "Stage", "Method", "Resource"]),
            MetricCheck::Ok
        );
        assert!(matches!(
            check_aws("AWS/ApiGateway", "4xx", &["ApiId", "Stage", "Route"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        assert_eq!(
            check_aws("AWS/ApiGateway", "5XX", &["ApiId", "Stage"]),
            MetricCheck::UnknownMetric {
                did_you_mean: vec!["5xx"]
            }
        );
        assert!(matches!(
            check_aws("AWS/ApiGateway", "4xx", &["ApiName"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
    }

    #[test]
    fn gsi_dimension_is_global_secondary_index_name() {
        assert_eq!(
            check_aws(
                "AWS/DynamoDB",
                "WriteThrottleEvents",
                &["GlobalSecondaryIndexName", "TableName"]
            ),
            MetricCheck::Ok
        );
        // slic-watch's spelling never matches anything.
        assert!(matches!(
            check_aws(
                "AWS/DynamoDB",
                "WriteThrottleEvents",
                &["TableName", "GlobalSecondaryIndex"]
            ),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        // SystemErrors is per operation only.
        assert!(matches!(
            check_aws("AWS/DynamoDB", "SystemErrors", &["TableName"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
    }

    #[test]
    fn other_namespaces_are_not_checked() {
        assert_eq!(
            check_aws("Acme/Things", "Whatever", &["x"]),
            MetricCheck::UnknownNamespace
        );
        assert!(!is_known_aws_namespace("Acme/Things"));
        assert!(is_known_aws_namespace("AWS/Bedrock"));
        // The empty namespace of `NoCustomMetrics` is not a catalogue.
        assert_eq!(check_aws("", "x", &[]), MetricCheck::UnknownNamespace);
    }

    #[test]
    fn service_specific_sets() {
        assert_eq!(
            check_aws("AWS/States", "ExecutionsFailed", &["StateMachineArn"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check_aws("AWS/Bedrock", "InvocationThrottles", &["ModelId"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check_aws("AWS/ECS", "CPUUtilization", &["ServiceName", "ClusterName"]),
            MetricCheck::Ok
        );
        assert!(matches!(
            check_aws("AWS/ECS", "CPUUtilization", &["ServiceName"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        assert_eq!(
            check_aws("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", &["LoadBalancer"]),
            MetricCheck::Ok
        );
        assert!(matches!(
            check_aws(
                "AWS/ApplicationELB",
                "HTTPCode_ELB_5XX_Count",
                &["LoadBalancer", "TargetGroup"]
            ),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        assert_eq!(
            check_aws("AWS/S3", "BucketSizeBytes", &["BucketName", "StorageType"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check_aws("AWS/Rekognition", "ResponseTime", &["Operation"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check_aws("AWS/SQS", "ApproximateNumberOfMessagesVisible", &["QueueName"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check_aws("AWS/Billing", "EstimatedCharges", &["Currency"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check_aws("AWS/Lambda", "Errors", &["FunctionName"]),
            MetricCheck::Ok
        );
    }

    /// A two-metric catalogue, to check the custom path without depending on `telemetry`.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Demo {
        CardsValued,
        ColdStart,
    }

    impl CustomMetric for Demo {
        const NAMESPACE: &'static str = "Demo";
        fn all() -> &'static [Self] {
            &[Self::CardsValued, Self::ColdStart]
        }
        fn metric_name(self) -> &'static str {
            match self {
                Self::CardsValued => "CardsValued",
                Self::ColdStart => "ColdStart",
            }
        }
        fn dimension_sets(self) -> Vec<Vec<&'static str>> {
            match self {
                Self::CardsValued => vec![vec!["service"]],
                Self::ColdStart => vec![vec!["service", "function_name"]],
            }
        }
    }

    #[test]
    fn custom_namespace_uses_the_catalogue() {
        assert_eq!(
            check::<Demo>("Demo", "CardsValued", &["service"]),
            MetricCheck::Ok
        );
        assert!(matches!(
            check::<Demo>("Demo", "ColdStart", &["service"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        assert_eq!(
            check::<Demo>("Demo", "coldstart", &["service"]),
            MetricCheck::UnknownMetric {
                did_you_mean: vec!["ColdStart"]
            }
        );
        // AWS namespaces still answer.
        assert_eq!(
            check::<Demo>("AWS/Lambda", "Errors", &["FunctionName"]),
            MetricCheck::Ok
        );
    }
}
