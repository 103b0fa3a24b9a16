//! Plain structs mirroring the `PutMetricAlarm` and `PutCompositeAlarm` inputs (and what
//! `DescribeAlarms` returns for them), field for field, PascalCase like the API.
//!
//! These are the stable contract with the shell: `governance` converts them one-to-one into
//! `aws-sdk-cloudwatch` builders (`put_metric_alarm().alarm_name(..)…`) and converts `DescribeAlarms`
//! output back into them, so [`crate::plan`] can compare desired with published.
//!
//! API reference: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html>,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html>.

use serde::{Deserialize, Serialize};

/// A dimension (`{"Name": "FunctionName", "Value": "f"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    /// Dimension name.
    pub name: String,
    /// Dimension value.
    pub value: String,
}

/// A tag (`{"Key": .., "Value": ..}`); only honoured when the alarm is created.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// The five standard statistics (`Statistic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Statistic {
    /// `SampleCount`.
    SampleCount,
    /// `Average`.
    Average,
    /// `Sum`.
    Sum,
    /// `Minimum`.
    Minimum,
    /// `Maximum`.
    Maximum,
}

impl Statistic {
    /// The API spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SampleCount => "SampleCount",
            Self::Average => "Average",
            Self::Sum => "Sum",
            Self::Minimum => "Minimum",
            Self::Maximum => "Maximum",
        }
    }

    /// Parses the API spelling.
    #[must_use]
    pub fn from_name(s: &str) -> Option<Self> {
        [
            Self::SampleCount,
            Self::Average,
            Self::Sum,
            Self::Minimum,
            Self::Maximum,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// `ComparisonOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ComparisonOperator {
    /// `>=`.
    GreaterThanOrEqualToThreshold,
    /// `>`.
    GreaterThanThreshold,
    /// `<`.
    LessThanThreshold,
    /// `<=`.
    LessThanOrEqualToThreshold,
    /// Outside the anomaly band.
    LessThanLowerOrGreaterThanUpperThreshold,
    /// Below the anomaly band.
    LessThanLowerThreshold,
    /// Above the anomaly band.
    GreaterThanUpperThreshold,
}

impl ComparisonOperator {
    /// Whether this operator compares against an anomaly band (needs `ThresholdMetricId`).
    #[must_use]
    pub const fn is_anomaly(self) -> bool {
        matches!(
            self,
            Self::LessThanLowerOrGreaterThanUpperThreshold
                | Self::LessThanLowerThreshold
                | Self::GreaterThanUpperThreshold
        )
    }

    /// The operator as a symbol, for plans and descriptions.
    #[must_use]
    pub const fn symbol(self) -> &'static str {
        match self {
            Self::GreaterThanOrEqualToThreshold => ">=",
            Self::GreaterThanThreshold => ">",
            Self::LessThanThreshold => "<",
            Self::LessThanOrEqualToThreshold => "<=",
            Self::LessThanLowerOrGreaterThanUpperThreshold => "outside band",
            Self::LessThanLowerThreshold => "below band",
            Self::GreaterThanUpperThreshold => "above band",
        }
    }
}

/// `TreatMissingData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// Missing points count as breaching.
    Breaching,
    /// Missing points count as within the threshold.
    NotBreaching,
    /// The current state is kept.
    Ignore,
    /// The default: all missing → `INSUFFICIENT_DATA`.
    Missing,
}

/// A metric (`{"Namespace", "MetricName", "Dimensions"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metric {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric_name: String,
    /// Dimensions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
}

impl From<&vocabulary::MetricRef> for Metric {
    fn from(m: &vocabulary::MetricRef) -> Self {
        Self {
            namespace: m.namespace().to_owned(),
            metric_name: m.metric_name().to_owned(),
            dimensions: m
                .dimensions()
                .iter()
                .map(|d| Dimension {
                    name: d.name.clone(),
                    value: d.value.clone(),
                })
                .collect(),
        }
    }
}

/// `MetricStat`: a metric with its period and statistic, inside a [`MetricDataQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    /// The metric.
    pub metric: Metric,
    /// Period in seconds.
    pub period: u32,
    /// Statistic, standard or extended (`Sum`, `p99`).
    pub stat: String,
    /// Unit filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// `MetricDataQuery`: one entry of `Metrics` (a metric or an expression).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQuery {
    /// Id (starts with a lowercase letter).
    pub id: String,
    /// The metric, or `None` for an expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    /// The expression, or `None` for a metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether this is the alarm's value (`None` means `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
    /// Period of an expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// Account of a cross-account metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// The `PutMetricAlarm` input (static threshold, percentile, math or anomaly band).
///
/// Exactly one of `statistic`, `extended_statistic` and `metrics` is set; [`crate::validate`] checks
/// this and every other rule of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutMetricAlarmInput {
    /// `AlarmName` (1–255).
    pub alarm_name: String,
    /// `AlarmDescription` (≤ 1,024): what fired, the runbook summary and link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    /// `ActionsEnabled` (`None` means `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_enabled: Option<bool>,
    /// `OKActions` (≤ 5).
    #[serde(default, rename = "OKActions", skip_serializing_if = "Vec::is_empty")]
    pub ok_actions: Vec<String>,
    /// `AlarmActions` (≤ 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_actions: Vec<String>,
    /// `InsufficientDataActions` (≤ 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insufficient_data_actions: Vec<String>,
    /// `MetricName` (single-metric alarms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// `Namespace` (single-metric alarms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `Statistic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<Statistic>,
    /// `ExtendedStatistic` (`p95`, `tm90`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    /// `Dimensions` (single-metric alarms, ≤ 30).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    /// `Period` (single-metric alarms): 10, 20, 30 or a multiple of 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// `Unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// `EvaluationPeriods` (N).
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm` (M; `None` means N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    /// `Threshold` (static alarms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// `ComparisonOperator`.
    pub comparison_operator: ComparisonOperator,
    /// `TreatMissingData` (`None` means `missing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<TreatMissingData>,
    /// `EvaluateLowSampleCountPercentile` (`evaluate` or `ignore`, percentile alarms only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_low_sample_count_percentile: Option<String>,
    /// `Metrics` (math and anomaly alarms, ≤ 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricDataQuery>,
    /// `Tags` (create only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// `ThresholdMetricId`: the `ANOMALY_DETECTION_BAND` expression of an anomaly alarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_metric_id: Option<String>,
}

/// The `PutCompositeAlarm` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutCompositeAlarmInput {
    /// `AlarmName`.
    pub alarm_name: String,
    /// `AlarmDescription` (≤ 1,024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    /// `AlarmRule` (≤ 10,240 characters), see [`crate::composite::AlarmRule`].
    pub alarm_rule: String,
    /// `ActionsEnabled` (`None` means `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_enabled: Option<bool>,
    /// `OKActions`.
    #[serde(default, rename = "OKActions", skip_serializing_if = "Vec::is_empty")]
    pub ok_actions: Vec<String>,
    /// `AlarmActions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_actions: Vec<String>,
    /// `InsufficientDataActions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub insufficient_data_actions: Vec<String>,
    /// `ActionsSuppressor`: an alarm whose ALARM state suppresses this one's actions (≤ 1,600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_suppressor: Option<String>,
    /// `ActionsSuppressorWaitPeriod` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_suppressor_wait_period: Option<u32>,
    /// `ActionsSuppressorExtensionPeriod` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions_suppressor_extension_period: Option<u32>,
    /// `Tags` (create only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// Either kind of alarm, as the plan and the shell handle them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "Kind")]
pub enum Alarm {
    /// `PutMetricAlarm`.
    Metric(PutMetricAlarmInput),
    /// `PutCompositeAlarm`.
    Composite(PutCompositeAlarmInput),
}

impl Alarm {
    /// The alarm name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::Metric(m) => &m.alarm_name,
            Self::Composite(c) => &c.alarm_name,
        }
    }

    /// The alarm description, if any.
    #[must_use]
    pub fn description(&self) -> Option<&str> {
        match self {
            Self::Metric(m) => m.alarm_description.as_deref(),
            Self::Composite(c) => c.alarm_description.as_deref(),
        }
    }

    /// The ALARM-state actions.
    #[must_use]
    pub fn alarm_actions(&self) -> &[String] {
        match self {
            Self::Metric(m) => &m.alarm_actions,
            Self::Composite(c) => &c.alarm_actions,
        }
    }
}

/// The ARN partition `region` is in: `aws-cn` for China (`cn-north-1`), `aws-us-gov` for GovCloud
/// (`us-gov-west-1`), the ISO and European Sovereign Cloud partitions for theirs, `aws` for every other region. The platform spec
/// accepts regions and topic ARNs of every partition; an ARN built with `aws` in another partition
/// names nothing. Every ARN `alarms` and `dashboards` build takes its partition from here ([`arn`]).
///
/// ```
/// use alarms::model::partition;
/// assert_eq!(partition("us-east-1"), "aws");
/// assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
/// assert_eq!(partition("cn-northwest-1"), "aws-cn");
/// ```
#[must_use]
pub fn partition(region: &str) -> &'static str {
    // The partitions' region prefixes, as in the SDKs' endpoint rules (`regionRegex`).
    const PARTITIONS: [(&str, &str); 7] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-iso-", "aws-iso"),
        ("us-isob-", "aws-iso-b"),
        ("eu-isoe-", "aws-iso-e"),
        ("us-isof-", "aws-iso-f"),
        ("eusc-", "aws-eusc"),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |&(_, partition)| partition)
}

/// `arn:{partition}:{service}:{region}:{account_id}:{resource}`, the partition [`partition`]`(region)`.
///
/// ```
/// assert_eq!(
///     alarms::model::arn("states", "us-gov-west-1", "123456789012", "lambda:invoke"),
///     "arn:aws-us-gov:states:us-gov-west-1:123456789012:lambda:invoke"
/// );
/// ```
#[must_use]
pub fn arn(service: &str, region: &str, account_id: &str, resource: &str) -> String {
    format!(
        "arn:{}:{service}:{region}:{account_id}:{resource}",
        partition(region)
    )
}

/// The ARN of alarm `name` (`arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}`, see [`arn`]).
///
/// ```
/// use alarms::model::alarm_arn;
/// assert_eq!(alarm_arn("us-east-1", "123456789012", "a"), "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a");
/// assert_eq!(alarm_arn("cn-north-1", "123456789012", "a"), "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a");
/// ```
#[must_use]
pub fn alarm_arn(region: &str, account_id: &str, name: &str) -> String {
    arn("cloudwatch", region, account_id, &format!("alarm:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metric_alarm_serializes_with_api_field_names() {
        let a = PutMetricAlarmInput {
            alarm_name: "a".into(),
            alarm_description: None,
            actions_enabled: Some(true),
            ok_actions: vec!["arn:ok".into()],
            alarm_actions: vec!["arn:alarm".into()],
            insufficient_data_actions: vec![],
            metric_name: Some("Errors".into()),
            namespace: Some("AWS/Lambda".into()),
            statistic: Some(Statistic::Sum),
            extended_statistic: None,
            dimensions: vec![Dimension {
                name: "FunctionName".into(),
                value: "f".into(),
            }],
            period: Some(60),
            unit: None,
            evaluation_periods: 5,
            datapoints_to_alarm: Some(3),
            threshold: Some(1.0),
            comparison_operator: ComparisonOperator::GreaterThanThreshold,
            treat_missing_data: Some(TreatMissingData::NotBreaching),
            evaluate_low_sample_count_percentile: None,
            metrics: vec![],
            tags: vec![],
            threshold_metric_id: None,
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            json!({"AlarmName": "a", "ActionsEnabled": true, "OKActions": ["arn:ok"], "AlarmActions": ["arn:alarm"],
                   "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum",
                   "Dimensions": [{"Name": "FunctionName", "Value": "f"}], "Period": 60, "EvaluationPeriods": 5,
                   "DatapointsToAlarm": 3, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold",
                   "TreatMissingData": "notBreaching"})
        );
        assert_eq!(serde_json::from_value::<PutMetricAlarmInput>(v).unwrap(), a);
    }

    #[test]
    fn operators_and_statistics() {
        assert!(ComparisonOperator::GreaterThanUpperThreshold.is_anomaly());
        assert!(!ComparisonOperator::GreaterThanThreshold.is_anomaly());
        assert_eq!(Statistic::from_name("Maximum"), Some(Statistic::Maximum));
        assert_eq!(Statistic::from_name("p99"), None);
        assert_eq!(
            serde_json::to_value(TreatMissingData::NotBreaching).unwrap(),
            json!("notBreaching")
        );
    }
}
