//! Offline validation of `PutMetricAlarm` / `PutCompositeAlarm` inputs with the API's rules, so a bad
//! alarm fails in a test, not at apply time (or worse, is accepted and never fires).
//!
//! Limits from the API reference and the CloudWatch user guide (see `docs/alarms.md` for the list).

use crate::model::{MetricDataQuery, PutCompositeAlarmInput, PutMetricAlarmInput};
use crate::rule::{MAX_CHILDREN, MAX_RULE_CHARS, rule_children};
use std::collections::HashSet;
use std::fmt;
use telemetry::catalogue::MetricName;
use vocabulary::stat::{is_valid_alarm_extended_statistic, is_valid_stat};
use vocabulary::{MetricCheck, known};

/// Longest alarm name.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 1_024;
/// Most actions per state.
pub const MAX_ACTIONS_PER_STATE: usize = 5;
/// Most `Metrics` queries.
pub const MAX_QUERIES: usize = 20;
/// Most metrics among the queries.
pub const MAX_METRIC_STATS: usize = 10;
/// Most expressions among the queries.
pub const MAX_EXPRESSIONS: usize = 10;
/// Longest expression.
pub const MAX_EXPRESSION_CHARS: usize = 2_048;
/// Most dimensions on a metric.
pub const MAX_DIMENSIONS: usize = 30;
/// Longest `ActionsSuppressor`.
pub const MAX_SUPPRESSOR_CHARS: usize = 1_600;

/// The rule an [`AlarmViolation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmRuleKind {
    /// Name empty, longer than 255 or with control characters.
    Name,
    /// Description longer than 1,024 characters.
    Description,
    /// More than 5 actions for one state.
    TooManyActions,
    /// Not exactly one of `Statistic`, `ExtendedStatistic`, `Metrics`.
    MetricSource,
    /// A single-metric alarm without `Namespace`, `MetricName` or `Period`, or a math alarm with them.
    MetricFields,
    /// More than 20 queries.
    TooManyQueries,
    /// More than 10 metrics among the queries.
    TooManyMetrics,
    /// More than 10 expressions among the queries.
    TooManyExpressions,
    /// Not exactly one `ReturnData` (two for an anomaly alarm: the metric and its band).
    ReturnData,
    /// A query id that is empty, not starting lowercase, or repeated; or a query that is not exactly
    /// one of metric or expression.
    QueryShape,
    /// An expression longer than 2,048 characters.
    ExpressionLength,
    /// A period that is not 10, 20, 30 or a multiple of 60, or metrics with different periods.
    Period,
    /// Period × EvaluationPeriods above one day (period < 1 h) or seven days.
    EvaluationRange,
    /// `EvaluationPeriods` < 1, or `DatapointsToAlarm` not in 1..=EvaluationPeriods.
    DatapointsToAlarm,
    /// An invalid extended statistic or `Stat`.
    Statistic,
    /// Threshold vs `ThresholdMetricId` vs operator mismatch.
    Threshold,
    /// `EvaluateLowSampleCountPercentile` not `evaluate`/`ignore`, or without a percentile.
    LowSampleCount,
    /// More than 30 dimensions.
    TooManyDimensions,
    /// A dimension value empty or longer than 1,024 characters (`Dimension.Value`: length 1–1024).
    DimensionValue,
    /// Unknown metric in a known namespace.
    UnknownMetric,
    /// A dimension set the metric is never published with (the alarm would never fire).
    DimensionSet,
    /// Composite rule longer than 10,240 characters, empty, or with more than 100 alarms.
    CompositeRule,
    /// `ActionsSuppressor` too long, or wait/extension periods without a suppressor.
    ActionsSuppressor,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmViolation {
    /// The input field (`Metrics[2].Id`).
    pub field: String,
    /// The rule.
    pub rule: AlarmRuleKind,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for AlarmViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every violation of one alarm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alarm {name} is invalid: {}", .violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct AlarmValidationErrors {
    /// Alarm name.
    pub name: String,
    /// Violations.
    pub violations: Vec<AlarmViolation>,
}

impl AlarmValidationErrors {
    /// Whether some violation breaks `rule`.
    #[must_use]
    pub fn has(&self, rule: AlarmRuleKind) -> bool {
        self.violations.iter().any(|v| v.rule == rule)
    }
}

struct Out(Vec<AlarmViolation>);

impl Out {
    fn push(&mut self, field: impl Into<String>, rule: AlarmRuleKind, message: impl Into<String>) {
        self.0.push(AlarmViolation {
            field: field.into(),
            rule,
            message: message.into(),
        });
    }

    fn finish(self, name: &str) -> Result<(), AlarmValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AlarmValidationErrors {
                name: name.to_owned(),
                violations: self.0,
            })
        }
    }
}

fn common(out: &mut Out, name: &str, description: Option<&str>, actions: [(&str, &[String]); 3]) {
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        out.push(
            "AlarmName",
            AlarmRuleKind::Name,
            format!("must be 1-{MAX_NAME_CHARS} characters without control characters"),
        );
    }
    if let Some(d) = description
        && d.chars().count() > MAX_DESCRIPTION_CHARS
    {
        out.push(
            "AlarmDescription",
            AlarmRuleKind::Description,
            format!(
                "{} characters, at most {MAX_DESCRIPTION_CHARS}",
                d.chars().count()
            ),
        );
    }
    for (field, list) in actions {
        if list.len() > MAX_ACTIONS_PER_STATE {
            out.push(
                field,
                AlarmRuleKind::TooManyActions,
                format!("{} actions, at most {MAX_ACTIONS_PER_STATE}", list.len()),
            );
        }
    }
}

/// Whether `period` is valid for an alarm: 10, 20, 30 (high resolution) or a multiple of 60.
#[must_use]
pub fn is_valid_alarm_period(period: u32) -> bool {
    matches!(period, 10 | 20 | 30) || (period > 0 && period.is_multiple_of(60))
}

fn is_valid_id(id: &str) -> bool {
    let mut c = id.chars();
    c.next().is_some_and(|c| c.is_ascii_lowercase()) && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The longest dimension value `PutMetricAlarm` takes.
const MAX_DIMENSION_VALUE_CHARS: usize = 1024;

fn check_metric(out: &mut Out, field: &str, namespace: &str, metric: &str, dims: &[crate::model::Dimension]) {
    if dims.len() > MAX_DIMENSIONS {
        out.push(
            field,
            AlarmRuleKind::TooManyDimensions,
            format!("{} dimensions, at most {MAX_DIMENSIONS}", dims.len()),
        );
    }
    for d in dims {
        let len = d.value.chars().count();
        if !(1..=MAX_DIMENSION_VALUE_CHARS).contains(&len) {
            out.push(
                field,
                AlarmRuleKind::DimensionValue,
                format!(
                    "dimension {} has a value of {len} characters; CloudWatch takes 1 to {MAX_DIMENSION_VALUE_CHARS}",
                    d.name
                ),
            );
        }
    }
    let keys: Vec<&str> = dims.iter().map(|d| d.name.as_str()).collect();
    match known::check::<MetricName>(namespace, metric, &keys) {
        MetricCheck::Ok | MetricCheck::UnknownNamespace => {}
        MetricCheck::UnknownMetric { .. } => out.push(field, AlarmRuleKind::UnknownMetric, format!("{namespace} has no metric {metric}")),
        MetricCheck::DimensionSetMismatch { expected } => out.push(
            field,
            AlarmRuleKind::DimensionSet,
            format!("{namespace} {metric} is never published with {keys:?} (it has {expected:?}); the alarm would never fire"),
        ),
    }
}

/// Validates a `PutMetricAlarm` input.
///
/// ```
/// use alarms::spec::{MetricAlarm, MetricRef};
/// use alarms::validate::{validate_metric_alarm, AlarmRuleKind};
/// use vocabulary::Stat;
/// let mut a = MetricAlarm::new("a", MetricRef::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f"), Stat::Sum, 60)
///     .above(0.0)
///     .build()
///     .unwrap();
/// assert!(validate_metric_alarm(&a).is_ok());
/// a.evaluation_periods = 1441; // 1441 minutes > one day
/// assert!(validate_metric_alarm(&a).unwrap_err().has(AlarmRuleKind::EvaluationRange));
/// ```
///
/// # Errors
/// [`AlarmValidationErrors`] with every violation.
pub fn validate_metric_alarm(a: &PutMetricAlarmInput) -> Result<(), AlarmValidationErrors> {
    let mut out = Out(Vec::new());
    common(
        &mut out,
        &a.alarm_name,
        a.alarm_description.as_deref(),
        [
            ("OKActions", &a.ok_actions),
            ("AlarmActions", &a.alarm_actions),
            ("InsufficientDataActions", &a.insufficient_data_actions),
        ],
    );
    let sources = usize::from(a.statistic.is_some())
        + usize::from(a.extended_statistic.is_some())
        + usize::from(!a.metrics.is_empty());
    if sources != 1 {
        out.push(
            "Statistic",
            AlarmRuleKind::MetricSource,
            format!("exactly one of Statistic, ExtendedStatistic and Metrics must be set, found {sources}"),
        );
    }
    if let Some(x) = &a.extended_statistic
        && !is_valid_alarm_extended_statistic(x)
    {
        out.push(
            "ExtendedStatistic",
            AlarmRuleKind::Statistic,
            format!(
                "\"{x}\" is not an extended statistic an alarm takes (p0.0–p100, tm/tc/ts/wm + a percentile, IQM, \
                 PR(n:m), or TC/TM/TS/WM(X%:X%) with X from 10 to 90)"
            ),
        );
    }
    let period = if a.metrics.is_empty() {
        if a.namespace.is_none() || a.metric_name.is_none() || a.period.is_none() {
            out.push(
                "MetricName",
                AlarmRuleKind::MetricFields,
                "a single-metric alarm needs Namespace, MetricName and Period",
            );
        }
        if let (Some(ns), Some(m)) = (&a.namespace, &a.metric_name) {
            check_metric(&mut out, "Dimensions", ns, m, &a.dimensions);
        }
        a.period
    } else {
        if a.namespace.is_some()
            || a.metric_name.is_some()
            || !a.dimensions.is_empty()
            || a.period.is_some()
            || a.unit.is_some()
        {
            out.push(
                "Metrics",
                AlarmRuleKind::MetricFields,
                "Metrics cannot be combined with Namespace, MetricName, Dimensions, Period or Unit",
            );
        }
        queries(&mut out, a)
    };
    if let Some(p) = period {
        if !is_valid_alarm_period(p) {
            out.push(
                "Period",
                AlarmRuleKind::Period,
                format!("{p} s must be 10, 20, 30 or a multiple of 60"),
            );
        }
        let range = u64::from(p) * u64::from(a.evaluation_periods);
        let cap: u64 = if p < 3_600 { 86_400 } else { 604_800 };
        if range > cap {
            out.push(
                "EvaluationPeriods",
                AlarmRuleKind::EvaluationRange,
                format!("Period × EvaluationPeriods = {range} s, at most {cap} s"),
            );
        }
    }
    if a.evaluation_periods < 1 {
        out.push(
            "EvaluationPeriods",
            AlarmRuleKind::DatapointsToAlarm,
            "EvaluationPeriods must be at least 1",
        );
    }
    if let Some(m) = a.datapoints_to_alarm
        && (m < 1 || m > a.evaluation_periods)
    {
        out.push(
            "DatapointsToAlarm",
            AlarmRuleKind::DatapointsToAlarm,
            format!("{m} must be within 1..={}", a.evaluation_periods),
        );
    }
    let anomaly = a.comparison_operator.is_anomaly();
    match (anomaly, a.threshold.is_some(), a.threshold_metric_id.as_deref()) {
        (false, true, None) => {}
        (false, false, _) => out.push(
            "Threshold",
            AlarmRuleKind::Threshold,
            "a static alarm needs Threshold",
        ),
        (false, true, Some(_)) => out.push(
            "ThresholdMetricId",
            AlarmRuleKind::Threshold,
            "ThresholdMetricId needs an anomaly-band operator",
        ),
        (true, true, _) => out.push(
            "Threshold",
            AlarmRuleKind::Threshold,
            "an anomaly alarm has no Threshold",
        ),
        (true, false, None) => out.push(
            "ThresholdMetricId",
            AlarmRuleKind::Threshold,
            "an anomaly-band operator needs ThresholdMetricId",
        ),
        (true, false, Some(id)) => {
            let band = a.metrics.iter().find(|q| q.id == id);
            if !band
                .and_then(|q| q.expression.as_deref())
                .is_some_and(|e| e.contains("ANOMALY_DETECTION_BAND("))
            {
                out.push(
                    "ThresholdMetricId",
                    AlarmRuleKind::Threshold,
                    format!("\"{id}\" must be an ANOMALY_DETECTION_BAND expression in Metrics"),
                );
            }
        }
    }
    if let Some(v) = &a.evaluate_low_sample_count_percentile {
        let percentile = a
            .extended_statistic
            .as_deref()
            .is_some_and(|s| s.starts_with('p'));
        if !(v == "evaluate" || v == "ignore") || !percentile {
            out.push(
                "EvaluateLowSampleCountPercentile",
                AlarmRuleKind::LowSampleCount,
                "must be `evaluate` or `ignore`, and only with a percentile ExtendedStatistic",
            );
        }
    }
    out.finish(&a.alarm_name)
}

fn returns(q: &MetricDataQuery) -> bool {
    q.return_data.unwrap_or(true)
}

/// Checks `Metrics`; returns the common period of its metrics.
fn queries(out: &mut Out, a: &PutMetricAlarmInput) -> Option<u32> {
    let qs = &a.metrics;
    if qs.len() > MAX_QUERIES {
        out.push(
            "Metrics",
            AlarmRuleKind::TooManyQueries,
            format!("{} queries, at most {MAX_QUERIES}", qs.len()),
        );
    }
    let stats = qs.iter().filter(|q| q.metric_stat.is_some()).count();
    let exprs = qs.iter().filter(|q| q.expression.is_some()).count();
    if stats > MAX_METRIC_STATS {
        out.push(
            "Metrics",
            AlarmRuleKind::TooManyMetrics,
            format!("{stats} metrics, at most {MAX_METRIC_STATS}"),
        );
    }
    if exprs > MAX_EXPRESSIONS {
        out.push(
            "Metrics",
            AlarmRuleKind::TooManyExpressions,
            format!("{exprs} expressions, at most {MAX_EXPRESSIONS}"),
        );
    }
    let returning: Vec<&str> = qs.iter().filter(|q| returns(q)).map(|q| q.id.as_str()).collect();
    match a.threshold_metric_id.as_deref() {
        Some(band) => {
            // The band and the metric it is computed from both return data.
            if returning.len() != 2 || !returning.contains(&band) {
                out.push("Metrics", AlarmRuleKind::ReturnData, format!("an anomaly alarm returns exactly the metric and its band \"{band}\", found {returning:?}"));
            }
        }
        None => {
            if returning.len() != 1 {
                out.push(
                    "Metrics",
                    AlarmRuleKind::ReturnData,
                    format!(
                        "exactly one query must have ReturnData true, found {}",
                        returning.len()
                    ),
                );
            }
        }
    }
    let mut ids = HashSet::new();
    let mut periods = HashSet::new();
    for (i, q) in qs.iter().enumerate() {
        let f = format!("Metrics[{i}]");
        if !is_valid_id(&q.id) || !ids.insert(q.id.as_str()) {
            out.push(
                format!("{f}.Id"),
                AlarmRuleKind::QueryShape,
                format!("id \"{}\" must be unique and start with a lowercase letter", q.id),
            );
        }
        match (&q.metric_stat, &q.expression) {
            (Some(ms), None) => {
                periods.insert(ms.period);
                if !is_valid_stat(&ms.stat) {
                    out.push(
                        format!("{f}.MetricStat.Stat"),
                        AlarmRuleKind::Statistic,
                        format!("\"{}\" is not a statistic", ms.stat),
                    );
                }
                check_metric(
                    out,
                    &format!("{f}.MetricStat.Metric"),
                    &ms.metric.namespace,
                    &ms.metric.metric_name,
                    &ms.metric.dimensions,
                );
            }
            (None, Some(e)) => {
                if e.chars().count() > MAX_EXPRESSION_CHARS {
                    out.push(
                        format!("{f}.Expression"),
                        AlarmRuleKind::ExpressionLength,
                        format!("{} characters, at most {MAX_EXPRESSION_CHARS}", e.chars().count()),
                    );
                }
                if e.trim().is_empty() {
                    out.push(
                        format!("{f}.Expression"),
                        AlarmRuleKind::QueryShape,
                        "empty expression",
                    );
                }
            }
            _ => out.push(
                f,
                AlarmRuleKind::QueryShape,
                "a query has exactly one of MetricStat and Expression",
            ),
        }
    }
    if periods.len() > 1 {
        out.push(
            "Metrics",
            AlarmRuleKind::Period,
            format!("all metrics of a math alarm use the same period, found {periods:?}"),
        );
    }
    periods
        .into_iter()
        .next()
        .or_else(|| qs.iter().find_map(|q| q.period))
}

/// Validates a `PutCompositeAlarm` input (cycles span several composites: see
/// [`crate::composite::find_cycle`]).
///
/// ```
/// use alarms::composite::{AlarmRule, CompositeAlarm};
/// use alarms::validate::{validate_composite_alarm, AlarmRuleKind};
/// let mut c = CompositeAlarm::new("c", AlarmRule::alarm("a")).build().unwrap();
/// c.alarm_rule = (0..101).map(|i| format!("ALARM(a{i})")).collect::<Vec<_>>().join(" OR ");
/// assert!(validate_composite_alarm(&c).unwrap_err().has(AlarmRuleKind::CompositeRule));
/// ```
///
/// # Errors
/// [`AlarmValidationErrors`] with every violation.
pub fn validate_composite_alarm(c: &PutCompositeAlarmInput) -> Result<(), AlarmValidationErrors> {
    let mut out = Out(Vec::new());
    common(
        &mut out,
        &c.alarm_name,
        c.alarm_description.as_deref(),
        [
            ("OKActions", &c.ok_actions),
            ("AlarmActions", &c.alarm_actions),
            ("InsufficientDataActions", &c.insufficient_data_actions),
        ],
    );
    let chars = c.alarm_rule.chars().count();
    if chars == 0 || chars > MAX_RULE_CHARS {
        out.push(
            "AlarmRule",
            AlarmRuleKind::CompositeRule,
            format!("{chars} characters, must be 1-{MAX_RULE_CHARS}"),
        );
    }
    let children = rule_children(&c.alarm_rule);
    if children.len() > MAX_CHILDREN {
        out.push(
            "AlarmRule",
            AlarmRuleKind::CompositeRule,
            format!("{} alarms, at most {MAX_CHILDREN}", children.len()),
        );
    }
    let elements = crate::rule::rule_elements(&c.alarm_rule);
    if elements > crate::rule::MAX_RULE_ELEMENTS {
        out.push(
            "AlarmRule",
            AlarmRuleKind::CompositeRule,
            format!(
                "{elements} elements (state functions and TRUE/FALSE), at most {}",
                crate::rule::MAX_RULE_ELEMENTS
            ),
        );
    }
    match &c.actions_suppressor {
        Some(s) if s.is_empty() || s.chars().count() > MAX_SUPPRESSOR_CHARS => {
            out.push(
                "ActionsSuppressor",
                AlarmRuleKind::ActionsSuppressor,
                format!("must be 1-{MAX_SUPPRESSOR_CHARS} characters"),
            );
        }
        // "WaitPeriod is required only when ActionsSuppressor is specified" (likewise ExtensionPeriod):
        // with a suppressor, both.
        Some(_)
            if c.actions_suppressor_wait_period.is_none()
                || c.actions_suppressor_extension_period.is_none() =>
        {
            out.push(
                "ActionsSuppressorWaitPeriod",
                AlarmRuleKind::ActionsSuppressor,
                "an ActionsSuppressor needs both ActionsSuppressorWaitPeriod and ActionsSuppressorExtensionPeriod",
            );
        }
        None if c.actions_suppressor_wait_period.is_some()
            || c.actions_suppressor_extension_period.is_some() =>
        {
            out.push(
                "ActionsSuppressorWaitPeriod",
                AlarmRuleKind::ActionsSuppressor,
                "wait and extension periods need an ActionsSuppressor",
            );
        }
        _ => {}
    }
    out.finish(&c.alarm_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn single() -> PutMetricAlarmInput {
        PutMetricAlarmInput {
            alarm_name: "collectiq-prod-fn-x-errors-critical".into(),
            alarm_description: Some("d".into()),
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
            datapoints_to_alarm: Some(5),
            threshold: Some(10.0),
            comparison_operator: ComparisonOperator::GreaterThanThreshold,
            treat_missing_data: Some(TreatMissingData::NotBreaching),
            evaluate_low_sample_count_percentile: None,
            metrics: vec![],
            tags: vec![],
            threshold_metric_id: None,
        }
    }

    fn q_metric(id: &str, period: u32) -> MetricDataQuery {
        MetricDataQuery {
            id: id.into(),
            metric_stat: Some(MetricStat {
                metric: Metric {
                    namespace: "AWS/Lambda".into(),
                    metric_name: "Errors".into(),
                    dimensions: vec![Dimension {
                        name: "FunctionName".into(),
                        value: "f".into(),
                    }],
                },
                period,
                stat: "Sum".into(),
                unit: None,
            }),
            expression: None,
            label: None,
            return_data: Some(false),
            period: None,
            account_id: None,
        }
    }

    fn q_expr(id: &str, e: &str, ret: bool) -> MetricDataQuery {
        MetricDataQuery {
            id: id.into(),
            metric_stat: None,
            expression: Some(e.into()),
            label: None,
            return_data: Some(ret),
            period: None,
            account_id: None,
        }
    }

    fn math() -> PutMetricAlarmInput {
        PutMetricAlarmInput {
            metric_name: None,
            namespace: None,
            statistic: None,
            dimensions: vec![],
            period: None,
            metrics: vec![
                q_metric("m1", 60),
                q_metric("m2", 60),
                q_expr("e1", "m1 + m2", true),
            ],
            ..single()
        }
    }

    fn rules_of(a: &PutMetricAlarmInput) -> Vec<AlarmRuleKind> {
        validate_metric_alarm(a)
            .err()
            .map(|e| e.violations.into_iter().map(|v| v.rule).collect())
            .unwrap_or_default()
    }

    #[test]
    fn valid_single_and_math_alarms_pass() {
        assert_eq!(rules_of(&single()), vec![]);
        assert_eq!(rules_of(&math()), vec![]);
    }

    #[test]
    fn name_rule() {
        assert!(
            rules_of(&PutMetricAlarmInput {
                alarm_name: "x".repeat(255),
                ..single()
            })
            .is_empty()
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                alarm_name: "x".repeat(256),
                ..single()
            }),
            vec![AlarmRuleKind::Name]
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                alarm_name: String::new(),
                ..single()
            }),
            vec![AlarmRuleKind::Name]
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                alarm_name: "a\nb".into(),
                ..single()
            }),
            vec![AlarmRuleKind::Name]
        );
    }

    #[test]
    fn description_rule() {
        assert!(
            rules_of(&PutMetricAlarmInput {
                alarm_description: Some("é".repeat(1024)),
                ..single()
            })
            .is_empty()
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                alarm_description: Some("x".repeat(1025)),
                ..single()
            }),
            vec![AlarmRuleKind::Description]
        );
    }

    #[test]
    fn actions_rule() {
        let five = vec!["arn".to_owned(); 5];
        assert!(
            rules_of(&PutMetricAlarmInput {
                alarm_actions: five.clone(),
                ok_actions: five.clone(),
                insufficient_data_actions: five,
                ..single()
            })
            .is_empty()
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                ok_actions: vec!["arn".to_owned(); 6],
                ..single()
            }),
            vec![AlarmRuleKind::TooManyActions]
        );
    }

    #[test]
    fn metric_source_rule() {
        let both = PutMetricAlarmInput {
            extended_statistic: Some("p99".into()),
            ..single()
        };
        assert_eq!(rules_of(&both), vec![AlarmRuleKind::MetricSource]);
        let extended = PutMetricAlarmInput {
            statistic: None,
            extended_statistic: Some("p99".into()),
            ..single()
        };
        assert!(rules_of(&extended).is_empty());
        let none = PutMetricAlarmInput {
            statistic: None,
            ..single()
        };
        assert_eq!(rules_of(&none), vec![AlarmRuleKind::MetricSource]);
        let math_and_stat = PutMetricAlarmInput {
            statistic: Some(Statistic::Sum),
            ..math()
        };
        assert!(rules_of(&math_and_stat).contains(&AlarmRuleKind::MetricSource));
    }

    #[test]
    fn metric_fields_rule() {
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                period: None,
                ..single()
            }),
            vec![AlarmRuleKind::MetricFields]
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                period: Some(60),
                ..math()
            }),
            vec![AlarmRuleKind::MetricFields]
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                unit: Some("Count".into()),
                ..math()
            }),
            vec![AlarmRuleKind::MetricFields]
        );
    }

    #[test]
    fn query_count_rules() {
        let mut ten_ten = math();
        ten_ten.metrics = (0..10)
            .map(|i| q_metric(&format!("m{i}"), 60))
            .chain((0..9).map(|i| q_expr(&format!("e{i}"), "m1", false)))
            .collect();
        ten_ten.metrics.push(q_expr("total", "SUM(METRICS())", true));
        assert!(rules_of(&ten_ten).is_empty(), "{:?}", rules_of(&ten_ten));
        let mut eleven = ten_ten.clone();
        eleven.metrics[10] = q_metric("m10", 60);
        assert!(rules_of(&eleven).contains(&AlarmRuleKind::TooManyMetrics));
        let mut many_expr = math();
        many_expr.metrics = std::iter::once(q_metric("m0", 60))
            .chain((0..10).map(|i| q_expr(&format!("e{i}"), "m0", false)))
            .collect();
        many_expr.metrics.push(q_expr("total", "m0", true));
        assert!(rules_of(&many_expr).contains(&AlarmRuleKind::TooManyExpressions));
        let mut twentyone = ten_ten;
        twentyone.metrics.push(q_expr("extra", "m0", false));
        assert!(rules_of(&twentyone).contains(&AlarmRuleKind::TooManyQueries));
    }

    #[test]
    fn return_data_rule() {
        let mut none = math();
        none.metrics[2].return_data = Some(false);
        assert_eq!(rules_of(&none), vec![AlarmRuleKind::ReturnData]);
        let mut two = math();
        two.metrics[0].return_data = None; // None means true
        assert_eq!(rules_of(&two), vec![AlarmRuleKind::ReturnData]);
    }

    #[test]
    fn anomaly_alarm_returns_metric_and_band() {
        let mut a = math();
        a.metrics = vec![
            q_metric("m1", 300),
            q_expr("ad1", "ANOMALY_DETECTION_BAND(m1, 2)", true),
        ];
        a.metrics[0].return_data = Some(true);
        a.threshold = None;
        a.threshold_metric_id = Some("ad1".into());
        a.comparison_operator = ComparisonOperator::GreaterThanUpperThreshold;
        assert!(rules_of(&a).is_empty(), "{:?}", rules_of(&a));
        let mut one = a.clone();
        one.metrics[0].return_data = Some(false);
        assert_eq!(rules_of(&one), vec![AlarmRuleKind::ReturnData]);
        let mut not_band = a.clone();
        not_band.metrics[1].expression = Some("m1 * 2".into());
        assert_eq!(rules_of(&not_band), vec![AlarmRuleKind::Threshold]);
    }

    #[test]
    fn threshold_rules() {
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                threshold: None,
                ..single()
            }),
            vec![AlarmRuleKind::Threshold]
        );
        let anomaly_op = PutMetricAlarmInput {
            comparison_operator: ComparisonOperator::GreaterThanUpperThreshold,
            ..single()
        };
        assert_eq!(rules_of(&anomaly_op), vec![AlarmRuleKind::Threshold]);
        let id_without_op = PutMetricAlarmInput {
            threshold_metric_id: Some("ad1".into()),
            ..single()
        };
        assert_eq!(rules_of(&id_without_op), vec![AlarmRuleKind::Threshold]);
        let op_without_id = PutMetricAlarmInput {
            threshold: None,
            comparison_operator: ComparisonOperator::LessThanLowerThreshold,
            ..single()
        };
        assert_eq!(rules_of(&op_without_id), vec![AlarmRuleKind::Threshold]);
    }

    #[test]
    fn query_shape_rules() {
        let mut dup = math();
        dup.metrics[1].id = "m1".into();
        assert!(rules_of(&dup).contains(&AlarmRuleKind::QueryShape));
        let mut upper = math();
        upper.metrics[2].id = "E1".into();
        assert!(rules_of(&upper).contains(&AlarmRuleKind::QueryShape));
        let mut both = math();
        both.metrics[0].expression = Some("m2".into());
        assert!(rules_of(&both).contains(&AlarmRuleKind::QueryShape));
    }

    #[test]
    fn expression_length_rule() {
        let mut ok = math();
        ok.metrics[2].expression = Some(format!("m1 + m2{}", " ".repeat(2048 - 7)));
        assert!(rules_of(&ok).is_empty());
        let mut long = math();
        long.metrics[2].expression = Some(format!("m1 + m2{}", " ".repeat(2048 - 6)));
        assert_eq!(rules_of(&long), vec![AlarmRuleKind::ExpressionLength]);
    }

    #[test]
    fn period_rules() {
        for ok in [10, 20, 30, 60, 300, 3600] {
            assert!(
                rules_of(&PutMetricAlarmInput {
                    period: Some(ok),
                    evaluation_periods: 1,
                    datapoints_to_alarm: None,
                    ..single()
                })
                .is_empty(),
                "{ok}"
            );
        }
        for bad in [5, 15, 45, 90] {
            assert!(
                rules_of(&PutMetricAlarmInput {
                    period: Some(bad),
                    ..single()
                })
                .contains(&AlarmRuleKind::Period),
                "{bad}"
            );
        }
        let mut mixed = math();
        mixed.metrics[1] = q_metric("m2", 300);
        assert!(rules_of(&mixed).contains(&AlarmRuleKind::Period));
    }

    #[test]
    fn evaluation_range_rule() {
        let day = PutMetricAlarmInput {
            period: Some(60),
            evaluation_periods: 1440,
            datapoints_to_alarm: Some(1),
            ..single()
        };
        assert!(rules_of(&day).is_empty());
        let over = PutMetricAlarmInput {
            evaluation_periods: 1441,
            ..day.clone()
        };
        assert_eq!(rules_of(&over), vec![AlarmRuleKind::EvaluationRange]);
        let week = PutMetricAlarmInput {
            period: Some(3600),
            evaluation_periods: 168,
            ..day.clone()
        };
        assert!(rules_of(&week).is_empty());
        let over_week = PutMetricAlarmInput {
            period: Some(3600),
            evaluation_periods: 169,
            ..day
        };
        assert_eq!(rules_of(&over_week), vec![AlarmRuleKind::EvaluationRange]);
    }

    #[test]
    fn datapoints_rule() {
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                datapoints_to_alarm: Some(6),
                ..single()
            }),
            vec![AlarmRuleKind::DatapointsToAlarm]
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                datapoints_to_alarm: Some(0),
                ..single()
            }),
            vec![AlarmRuleKind::DatapointsToAlarm]
        );
        assert_eq!(
            rules_of(&PutMetricAlarmInput {
                evaluation_periods: 0,
                datapoints_to_alarm: None,
                ..single()
            }),
            vec![AlarmRuleKind::DatapointsToAlarm]
        );
        assert!(
            rules_of(&PutMetricAlarmInput {
                datapoints_to_alarm: Some(3),
                ..single()
            })
            .is_empty()
        );
    }

    #[test]
    fn statistic_rules() {
        let bad = PutMetricAlarmInput {
            statistic: None,
            extended_statistic: Some("p100.1".into()),
            ..single()
        };
        assert_eq!(rules_of(&bad), vec![AlarmRuleKind::Statistic]);
        // PutMetricAlarm's reference: `TM(X%:X%)` and its kin with X from 10 to 90 only, percentages only.
        for (x, ok) in [
            ("TM(10%:90%)", true),
            ("WM(25%:75%)", true),
            ("PR(100:2000)", true),
            ("TM(5%:95%)", false),
            ("WM(:95%)", false),
            ("TC(0.005:0.030)", false),
        ] {
            let a = PutMetricAlarmInput {
                statistic: None,
                extended_statistic: Some(x.into()),
                ..single()
            };
            assert_eq!(rules_of(&a).is_empty(), ok, "{x}: {:?}", rules_of(&a));
        }
        let mut bad_stat = math();
        if let Some(ms) = bad_stat.metrics[0].metric_stat.as_mut() {
            ms.stat = "Avg".into();
        }
        assert_eq!(rules_of(&bad_stat), vec![AlarmRuleKind::Statistic]);
    }

    #[test]
    fn low_sample_count_rule() {
        let ok = PutMetricAlarmInput {
            statistic: None,
            extended_statistic: Some("p99".into()),
            evaluate_low_sample_count_percentile: Some("ignore".into()),
            ..single()
        };
        assert!(rules_of(&ok).is_empty());
        let on_sum = PutMetricAlarmInput {
            evaluate_low_sample_count_percentile: Some("ignore".into()),
            ..single()
        };
        assert_eq!(rules_of(&on_sum), vec![AlarmRuleKind::LowSampleCount]);
        let bad_value = PutMetricAlarmInput {
            evaluate_low_sample_count_percentile: Some("skip".into()),
            ..ok
        };
        assert_eq!(rules_of(&bad_value), vec![AlarmRuleKind::LowSampleCount]);
    }

    #[test]
    fn dimension_rules() {
        let wrong = PutMetricAlarmInput {
            dimensions: vec![Dimension {
                name: "Function".into(),
                value: "f".into(),
            }],
            ..single()
        };
        assert_eq!(rules_of(&wrong), vec![AlarmRuleKind::DimensionSet]);
        let unknown = PutMetricAlarmInput {
            metric_name: Some("Error".into()),
            ..single()
        };
        assert_eq!(rules_of(&unknown), vec![AlarmRuleKind::UnknownMetric]);
        let many = PutMetricAlarmInput {
            namespace: Some("Acme".into()),
            dimensions: (0..31)
                .map(|i| Dimension {
                    name: format!("d{i}"),
                    value: "v".into(),
                })
                .collect(),
            ..single()
        };
        assert_eq!(rules_of(&many), vec![AlarmRuleKind::TooManyDimensions]);
        let mut in_math = math();
        if let Some(ms) = in_math.metrics[1].metric_stat.as_mut() {
            ms.metric.dimensions.push(Dimension {
                name: "Stage".into(),
                value: "x".into(),
            });
        }
        assert_eq!(rules_of(&in_math), vec![AlarmRuleKind::DimensionSet]);
    }

    fn composite() -> PutCompositeAlarmInput {
        PutCompositeAlarmInput {
            alarm_name: "c".into(),
            alarm_description: None,
            alarm_rule: "ALARM(a) OR ALARM(b)".into(),
            actions_enabled: None,
            ok_actions: vec![],
            alarm_actions: vec![],
            insufficient_data_actions: vec![],
            actions_suppressor: None,
            actions_suppressor_wait_period: None,
            actions_suppressor_extension_period: None,
            tags: vec![],
        }
    }

    fn composite_rules(c: &PutCompositeAlarmInput) -> Vec<AlarmRuleKind> {
        validate_composite_alarm(c)
            .err()
            .map(|e| e.violations.into_iter().map(|v| v.rule).collect())
            .unwrap_or_default()
    }

    #[test]
    fn composite_rule_rules() {
        assert!(composite_rules(&composite()).is_empty());
        let hundred = (0..100)
            .map(|i| format!("ALARM(a{i})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        assert!(
            composite_rules(&PutCompositeAlarmInput {
                alarm_rule: hundred,
                ..composite()
            })
            .is_empty()
        );
        let long = format!("ALARM(\"{}\")", "x".repeat(10_240));
        assert_eq!(
            composite_rules(&PutCompositeAlarmInput {
                alarm_rule: long,
                ..composite()
            }),
            vec![AlarmRuleKind::CompositeRule]
        );
        assert_eq!(
            composite_rules(&PutCompositeAlarmInput {
                alarm_rule: String::new(),
                ..composite()
            }),
            vec![AlarmRuleKind::CompositeRule]
        );
        // "as many as 500 elements": 100 alarms each tested three ways is 300 elements (allowed), four
        // ways 400, five ways plus TRUE 501 (refused) — the 100 distinct children pass either way.
        let tested = |ways: &[&str], extra: &str| {
            let terms = (0..100)
                .flat_map(|i| ways.iter().map(move |w| format!("{w}(a{i})")))
                .collect::<Vec<_>>()
                .join(" OR ");
            PutCompositeAlarmInput {
                alarm_rule: format!("{terms}{extra}"),
                ..composite()
            }
        };
        assert!(composite_rules(&tested(&["ALARM", "OK", "INSUFFICIENT_DATA"], "")).is_empty());
        assert!(
            composite_rules(&tested(&["ALARM", "OK", "INSUFFICIENT_DATA", "ALARM", "OK"], "")).is_empty()
        );
        assert_eq!(
            composite_rules(&tested(
                &["ALARM", "OK", "INSUFFICIENT_DATA", "ALARM", "OK"],
                " OR TRUE"
            )),
            vec![AlarmRuleKind::CompositeRule]
        );
    }

    #[test]
    fn composite_suppressor_rules() {
        let ok = PutCompositeAlarmInput {
            actions_suppressor: Some("s".into()),
            actions_suppressor_wait_period: Some(60),
            actions_suppressor_extension_period: Some(60),
            ..composite()
        };
        assert!(composite_rules(&ok).is_empty());
        let orphan = PutCompositeAlarmInput {
            actions_suppressor_wait_period: Some(60),
            ..composite()
        };
        assert_eq!(composite_rules(&orphan), vec![AlarmRuleKind::ActionsSuppressor]);
        // A suppressor needs both periods ("required only when ActionsSuppressor is specified").
        for (wait, extension) in [(None, None), (Some(60), None), (None, Some(60))] {
            let half = PutCompositeAlarmInput {
                actions_suppressor: Some("s".into()),
                actions_suppressor_wait_period: wait,
                actions_suppressor_extension_period: extension,
                ..composite()
            };
            assert_eq!(
                composite_rules(&half),
                vec![AlarmRuleKind::ActionsSuppressor],
                "{wait:?} {extension:?}"
            );
        }
        let long = PutCompositeAlarmInput {
            actions_suppressor: Some("s".repeat(1601)),
            ..composite()
        };
        assert_eq!(composite_rules(&long), vec![AlarmRuleKind::ActionsSuppressor]);
        let actions = PutCompositeAlarmInput {
            alarm_actions: vec!["a".into(); 6],
            ..composite()
        };
        assert_eq!(composite_rules(&actions), vec![AlarmRuleKind::TooManyActions]);
    }
}
