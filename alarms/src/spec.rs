//! Typed alarm specs: static threshold (standard or percentile statistic), metric math and anomaly
//! band, with M-of-N evaluation and missing-data treatment, rendered to a validated
//! [`PutMetricAlarmInput`].
//!
//! The metric an alarm watches is a [`MetricRef`] from `vocabulary` (the type dashboard rows use too);
//! custom metrics enter only through [`MetricRef::custom`] with the shared catalogue's names and keys.

use crate::model::{
    ComparisonOperator, Metric, MetricDataQuery, MetricStat, PutMetricAlarmInput, Statistic, Tag,
    TreatMissingData,
};
use crate::validate::{AlarmValidationErrors, validate_metric_alarm};
/// A metric an alarm watches.
///
/// ```
/// use alarms::spec::MetricRef;
/// use telemetry::catalogue::{DimensionKey, MetricName};
/// let m = MetricRef::custom(MetricName::ColdStart)
///     .with_custom_dimension(DimensionKey::Service, "collectiq")
///     .with_custom_dimension(DimensionKey::FunctionName, "prod-collectiq-cards-get");
/// assert_eq!(alarms::model::Metric::from(&m).namespace, "CollectIQ");
/// ```
pub use vocabulary::MetricRef;
use vocabulary::Stat;

/// One metric input of a math alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct MathInput {
    /// Query id (lowercase first letter) used by the expression.
    pub id: String,
    /// The metric.
    pub metric: MetricRef,
    /// Its statistic.
    pub stat: Stat,
}

impl MathInput {
    /// `id` = `stat` of `metric`.
    #[must_use]
    pub fn new(id: impl Into<String>, metric: MetricRef, stat: Stat) -> Self {
        Self {
            id: id.into(),
            metric,
            stat,
        }
    }
}

/// A metric alarm under construction.
///
/// ```
/// use alarms::spec::{MathInput, MetricAlarm, MetricRef};
/// use alarms::model::TreatMissingData;
/// use vocabulary::Stat;
/// let f = |m: &str| MetricRef::aws("AWS/Lambda", m).with_dimension("FunctionName", "f");
/// let a = MetricAlarm::math("f-error-rate", vec![
///         MathInput::new("errors", f("Errors"), Stat::Sum),
///         MathInput::new("invocations", f("Invocations"), Stat::Sum),
///     ], "IF(errors > 10, 100 * errors / invocations, 0)", "error rate (%)", 60)
///     .above(10.0)
///     .evaluate(5, 5)
///     .treat_missing(TreatMissingData::NotBreaching)
///     .build()
///     .unwrap();
/// assert_eq!(a.metrics.len(), 3);
/// assert_eq!(a.metrics[2].return_data, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct MetricAlarm {
    input: PutMetricAlarmInput,
}

fn base(name: String) -> PutMetricAlarmInput {
    PutMetricAlarmInput {
        alarm_name: name,
        alarm_description: None,
        actions_enabled: Some(true),
        ok_actions: Vec::new(),
        alarm_actions: Vec::new(),
        insufficient_data_actions: Vec::new(),
        metric_name: None,
        namespace: None,
        statistic: None,
        extended_statistic: None,
        dimensions: Vec::new(),
        period: None,
        unit: None,
        evaluation_periods: 1,
        datapoints_to_alarm: Some(1),
        threshold: None,
        comparison_operator: ComparisonOperator::GreaterThanThreshold,
        treat_missing_data: None,
        evaluate_low_sample_count_percentile: None,
        metrics: Vec::new(),
        tags: Vec::new(),
        threshold_metric_id: None,
    }
}

fn stat_query(id: &str, metric: &MetricRef, stat: Stat, period: u32, return_data: bool) -> MetricDataQuery {
    MetricDataQuery {
        id: id.to_owned(),
        metric_stat: Some(MetricStat {
            metric: Metric::from(metric),
            period,
            stat: stat.to_string(),
            unit: None,
        }),
        expression: None,
        label: None,
        return_data: Some(return_data),
        period: None,
        account_id: None,
    }
}

impl MetricAlarm {
    /// A static-threshold alarm on one metric; a percentile or other extended statistic becomes
    /// `ExtendedStatistic`.
    pub fn new(name: impl Into<String>, metric: MetricRef, stat: Stat, period: u32) -> Self {
        let mut input = base(name.into());
        let m = Metric::from(&metric);
        input.namespace = Some(m.namespace);
        input.metric_name = Some(m.metric_name);
        input.dimensions = m.dimensions;
        input.period = Some(period);
        match Statistic::from_name(&stat.to_string()) {
            Some(s) => input.statistic = Some(s),
            None => input.extended_statistic = Some(stat.to_string()),
        }
        Self { input }
    }

    /// A metric-math alarm: `expression` over `inputs`, all at `period`.
    pub fn math(
        name: impl Into<String>,
        inputs: Vec<MathInput>,
        expression: impl Into<String>,
        label: impl Into<String>,
        period: u32,
    ) -> Self {
        let mut input = base(name.into());
        input.metrics = inputs
            .iter()
            .map(|i| stat_query(&i.id, &i.metric, i.stat, period, false))
            .collect();
        input.metrics.push(MetricDataQuery {
            id: "expr".into(),
            metric_stat: None,
            expression: Some(expression.into()),
            label: Some(label.into()),
            return_data: Some(true),
            period: None,
            account_id: None,
        });
        Self { input }
    }

    /// An anomaly-detection alarm: `metric` against `ANOMALY_DETECTION_BAND(m1, band_width)`; fires
    /// above the band unless [`Self::below_band`] or [`Self::outside_band`] says otherwise.
    pub fn anomaly(
        name: impl Into<String>,
        metric: MetricRef,
        stat: Stat,
        period: u32,
        band_width: f64,
    ) -> Self {
        let mut input = base(name.into());
        input.metrics = vec![
            stat_query("m1", &metric, stat, period, true),
            MetricDataQuery {
                id: "ad1".into(),
                metric_stat: None,
                expression: Some(format!("ANOMALY_DETECTION_BAND(m1, {band_width})")),
                label: Some("expected".into()),
                return_data: Some(true),
                period: None,
                account_id: None,
            },
        ];
        input.threshold_metric_id = Some("ad1".into());
        input.comparison_operator = ComparisonOperator::GreaterThanUpperThreshold;
        Self { input }
    }

    /// An anomaly-detection alarm on a metric-math `expression` over `inputs` (all at `period`): the
    /// expression's value against `ANOMALY_DETECTION_BAND(expr, band_width)`, the band CloudWatch trains
    /// on the expression itself (a metric-math anomaly detector); fires above the band unless
    /// [`Self::below_band`] or [`Self::outside_band`] says otherwise. For a quantity published as
    /// several series, such as one model's tokens under each `ModelId` it is called by.
    ///
    /// ```
    /// use alarms::spec::{MathInput, MetricAlarm, MetricRef};
    /// use vocabulary::Stat;
    /// let tokens = |id: &str| MetricRef::aws("AWS/Bedrock", "InputTokenCount").with_dimension("ModelId", id);
    /// let a = MetricAlarm::math_anomaly("a", vec![
    ///         MathInput::new("m0", tokens("anthropic.claude-3-5-haiku-20241022-v1:0"), Stat::Sum),
    ///         MathInput::new("m1", tokens("us.anthropic.claude-3-5-haiku-20241022-v1:0"), Stat::Sum),
    ///     ], "SUM([FILL(m0, 0), FILL(m1, 0)])", "input tokens", 3600, 3.0)
    ///     .evaluate(3, 3)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(a.threshold_metric_id.as_deref(), Some("ad1"));
    /// assert_eq!(a.metrics[3].expression.as_deref(), Some("ANOMALY_DETECTION_BAND(expr, 3)"));
    /// assert_eq!(alarms::cost::alarm_metric_count(&a), 6); // 3 per metric
    /// ```
    pub fn math_anomaly(
        name: impl Into<String>,
        inputs: Vec<MathInput>,
        expression: impl Into<String>,
        label: impl Into<String>,
        period: u32,
        band_width: f64,
    ) -> Self {
        let mut alarm = Self::math(name, inputs, expression, label, period);
        alarm.input.metrics.push(MetricDataQuery {
            id: "ad1".into(),
            metric_stat: None,
            expression: Some(format!("ANOMALY_DETECTION_BAND(expr, {band_width})")),
            label: Some("expected".into()),
            return_data: Some(true),
            period: None,
            account_id: None,
        });
        alarm.input.threshold_metric_id = Some("ad1".into());
        alarm.input.comparison_operator = ComparisonOperator::GreaterThanUpperThreshold;
        alarm
    }

    fn compare(mut self, op: ComparisonOperator, t: f64) -> Self {
        self.input.comparison_operator = op;
        self.input.threshold = Some(t);
        self
    }

    /// Fires when the value is `> t`.
    pub fn above(self, t: f64) -> Self {
        self.compare(ComparisonOperator::GreaterThanThreshold, t)
    }

    /// Fires when the value is `>= t`.
    pub fn at_or_above(self, t: f64) -> Self {
        self.compare(ComparisonOperator::GreaterThanOrEqualToThreshold, t)
    }

    /// Fires when the value is `< t`.
    pub fn below(self, t: f64) -> Self {
        self.compare(ComparisonOperator::LessThanThreshold, t)
    }

    /// Fires when the value is `<= t`.
    pub fn at_or_below(self, t: f64) -> Self {
        self.compare(ComparisonOperator::LessThanOrEqualToThreshold, t)
    }

    /// Anomaly alarms: fire below the band.
    pub fn below_band(mut self) -> Self {
        self.input.comparison_operator = ComparisonOperator::LessThanLowerThreshold;
        self
    }

    /// Anomaly alarms: fire outside the band on either side.
    pub fn outside_band(mut self) -> Self {
        self.input.comparison_operator = ComparisonOperator::LessThanLowerOrGreaterThanUpperThreshold;
        self
    }

    /// "M out of N": fire when `m` of the last `n` periods breach.
    pub fn evaluate(mut self, m: u32, n: u32) -> Self {
        self.input.datapoints_to_alarm = Some(m);
        self.input.evaluation_periods = n;
        self
    }

    /// How missing data points count.
    pub fn treat_missing(mut self, t: TreatMissingData) -> Self {
        self.input.treat_missing_data = Some(t);
        self
    }

    /// Percentile alarms: do not change state while the sample count is too low to be significant
    /// (fewer than 10/(1−p) samples a period: 1,000 for p99). At low traffic such an alarm never
    /// changes state, so the catalogue uses [`Self::evaluate_low_sample_count`].
    pub fn ignore_low_sample_count(mut self) -> Self {
        self.input.evaluate_low_sample_count_percentile = Some("ignore".into());
        self
    }

    /// Percentile alarms: evaluate every period, however few samples it has ("the alarm is always
    /// evaluated and possibly changes state no matter how many data points are available").
    pub fn evaluate_low_sample_count(mut self) -> Self {
        self.input.evaluate_low_sample_count_percentile = Some("evaluate".into());
        self
    }

    /// Description (≤ 1,024 characters).
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.input.alarm_description = Some(d.into());
        self
    }

    /// ALARM-state actions.
    pub fn with_alarm_actions(mut self, arns: Vec<String>) -> Self {
        self.input.alarm_actions = arns;
        self
    }

    /// OK-state actions.
    pub fn with_ok_actions(mut self, arns: Vec<String>) -> Self {
        self.input.ok_actions = arns;
        self
    }

    /// INSUFFICIENT_DATA-state actions.
    pub fn with_insufficient_data_actions(mut self, arns: Vec<String>) -> Self {
        self.input.insufficient_data_actions = arns;
        self
    }

    /// Tags (honoured on create only).
    pub fn with_tags(mut self, tags: Vec<Tag>) -> Self {
        self.input.tags = tags;
        self
    }

    /// The validated input.
    ///
    /// # Errors
    /// Every broken `PutMetricAlarm` rule ([`crate::validate::validate_metric_alarm`]).
    pub fn build(self) -> Result<PutMetricAlarmInput, AlarmValidationErrors> {
        validate_metric_alarm(&self.input)?;
        Ok(self.input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::AlarmRuleKind;
    use telemetry::catalogue::{DimensionKey, MetricName};

    #[test]
    fn percentile_becomes_extended_statistic() {
        let a = MetricAlarm::new(
            "p",
            MetricRef::aws("AWS/ApiGateway", "Latency")
                .with_dimension("ApiId", "a")
                .with_dimension("Stage", "$default"),
            Stat::Percentile(95.0),
            60,
        )
        .above(1000.0)
        .evaluate(10, 10)
        .ignore_low_sample_count()
        .build()
        .unwrap();
        assert_eq!(a.extended_statistic.as_deref(), Some("p95"));
        assert_eq!(a.statistic, None);
        let s = MetricAlarm::new(
            "s",
            MetricRef::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f"),
            Stat::Sum,
            60,
        )
        .above(1.0)
        .build()
        .unwrap();
        assert_eq!(s.statistic, Some(Statistic::Sum));
    }

    #[test]
    fn anomaly_alarm_is_valid_and_has_no_threshold() {
        let a = MetricAlarm::anomaly(
            "a",
            MetricRef::aws("AWS/Bedrock", "InputTokenCount").with_dimension("ModelId", "m"),
            Stat::Sum,
            3600,
            3.0,
        )
        .outside_band()
        .evaluate(3, 3)
        .build()
        .unwrap();
        assert_eq!(a.threshold, None);
        assert_eq!(a.threshold_metric_id.as_deref(), Some("ad1"));
        assert_eq!(
            a.metrics[1].expression.as_deref(),
            Some("ANOMALY_DETECTION_BAND(m1, 3)")
        );
    }

    #[test]
    fn build_refuses_what_cloudwatch_would_refuse() {
        let e = MetricAlarm::new(
            "x",
            MetricRef::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f"),
            Stat::Sum,
            60,
        )
        .build()
        .unwrap_err();
        assert!(e.has(AlarmRuleKind::Threshold));
        let e = MetricAlarm::new(
            "x",
            MetricRef::custom(MetricName::AgentDuration).with_custom_dimension(DimensionKey::Service, "s"),
            Stat::Average,
            60,
        )
        .above(1.0)
        .build()
        .unwrap_err();
        assert!(e.has(AlarmRuleKind::DimensionSet));
        // An empty or overlong dimension value: PutMetricAlarm would refuse the alarm on every run.
        for value in [String::new(), "v".repeat(1025)] {
            let e = MetricAlarm::new(
                "x",
                MetricRef::aws("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count")
                    .with_dimension("LoadBalancer", value.as_str()),
                Stat::Sum,
                60,
            )
            .above(1.0)
            .build()
            .unwrap_err();
            assert!(e.has(AlarmRuleKind::DimensionValue), "{e:?}");
        }
    }
}
