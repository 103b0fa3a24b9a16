//! What alarms and dashboards cost per month, before anything is published.
//!
//! CloudWatch bills alarms per **alarm metric** (<https://aws.amazon.com/cloudwatch/pricing/>):
//! $0.10 per standard-resolution metric, $0.30 high resolution (period < 60 s), a math alarm counts
//! each metric it reads, an anomaly alarm counts 3 per metric (the metric and the two band bounds),
//! a composite alarm is $0.50; dashboards are $3 each beyond 3 free per account. The account-wide
//! free tier of 10 alarm metrics is not subtracted (it is shared by everything in the account).

use crate::model::{Alarm, PutMetricAlarmInput};
use rust_decimal::Decimal;

/// Alarm prices in USD per month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmPricing {
    /// Per standard-resolution alarm metric.
    pub standard_metric_usd: Decimal,
    /// Per high-resolution alarm metric.
    pub high_resolution_metric_usd: Decimal,
    /// Per composite alarm.
    pub composite_usd: Decimal,
}

impl Default for AlarmPricing {
    fn default() -> Self {
        Self {
            standard_metric_usd: Decimal::new(10, 2),
            high_resolution_metric_usd: Decimal::new(30, 2),
            composite_usd: Decimal::new(50, 2),
        }
    }
}

/// The cost of one alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmCost {
    /// Alarm name.
    pub name: String,
    /// Billed alarm metrics (0 for a composite).
    pub metrics: u32,
    /// Whether billed at the high-resolution rate.
    pub high_resolution: bool,
    /// USD per month.
    pub monthly_usd: Decimal,
}

/// Billed alarm metrics of a metric alarm: 1 for one metric, one per metric for math, ×3 for an
/// anomaly band.
///
/// ```
/// use alarms::cost::alarm_metric_count;
/// use alarms::spec::{MetricAlarm, MetricRef};
/// use vocabulary::Stat;
/// let m = MetricRef::aws("AWS/Bedrock", "InputTokenCount").with_dimension("ModelId", "x");
/// let a = MetricAlarm::anomaly("a", m, Stat::Sum, 3600, 2.0).build().unwrap();
/// assert_eq!(alarm_metric_count(&a), 3);
/// ```
#[must_use]
pub fn alarm_metric_count(a: &PutMetricAlarmInput) -> u32 {
    if a.metrics.is_empty() {
        return 1;
    }
    let metrics =
        u32::try_from(a.metrics.iter().filter(|q| q.metric_stat.is_some()).count()).unwrap_or(u32::MAX);
    if a.threshold_metric_id.is_some() {
        metrics.saturating_mul(3)
    } else {
        metrics
    }
}

/// Whether any metric of the alarm is evaluated at a high-resolution period (< 60 s).
#[must_use]
pub fn is_high_resolution(a: &PutMetricAlarmInput) -> bool {
    a.period.is_some_and(|p| p < 60)
        || a.metrics
            .iter()
            .filter_map(|q| q.metric_stat.as_ref())
            .any(|s| s.period < 60)
}

impl AlarmPricing {
    /// The monthly cost of `alarm`.
    ///
    /// ```
    /// use alarms::cost::AlarmPricing;
    /// use alarms::composite::{AlarmRule, CompositeAlarm};
    /// use alarms::Alarm;
    /// let c = CompositeAlarm::new("c", AlarmRule::alarm("a")).build().unwrap();
    /// assert_eq!(AlarmPricing::default().alarm_cost(&Alarm::Composite(c)).monthly_usd, rust_decimal::Decimal::new(50, 2));
    /// ```
    #[must_use]
    pub fn alarm_cost(&self, alarm: &Alarm) -> AlarmCost {
        match alarm {
            Alarm::Composite(c) => AlarmCost {
                name: c.alarm_name.clone(),
                metrics: 0,
                high_resolution: false,
                monthly_usd: self.composite_usd,
            },
            Alarm::Metric(m) => {
                let metrics = alarm_metric_count(m);
                let high = is_high_resolution(m);
                let rate = if high {
                    self.high_resolution_metric_usd
                } else {
                    self.standard_metric_usd
                };
                AlarmCost {
                    name: m.alarm_name.clone(),
                    metrics,
                    high_resolution: high,
                    monthly_usd: rate * Decimal::from(metrics),
                }
            }
        }
    }

    /// Total monthly cost of `alarms`.
    #[must_use]
    pub fn total(&self, alarms: &[Alarm]) -> Decimal {
        alarms.iter().map(|a| self.alarm_cost(a).monthly_usd).sum()
    }
}

/// A monthly estimate for a set of alarms and dashboards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostEstimate {
    /// Per alarm.
    pub alarms: Vec<AlarmCost>,
    /// Billed alarm metrics in total.
    pub alarm_metrics: u32,
    /// Sum over alarms.
    pub alarms_usd: Decimal,
    /// Dashboards counted.
    pub dashboards: usize,
    /// Dashboards beyond the free ones × $3.
    pub dashboards_usd: Decimal,
    /// Alarms + dashboards.
    pub total_usd: Decimal,
}

/// Estimates `alarms` plus `dashboards` dashboards costing `dashboards_usd` a month (price them with
/// `dashboards::plan::DashboardPricing`, which knows the free tier; all dashboards of the account count).
///
/// ```
/// use alarms::catalogue::{catalogue_for, CatalogueOptions};
/// use alarms::cost::{estimate, AlarmPricing};
/// let spec = platform_spec::load(std::path::Path::new(concat!(
///     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/collectiq-prod.toml"
/// ))).unwrap();
/// let cat = catalogue_for(&spec, &CatalogueOptions::for_spec(&spec)).unwrap();
/// let e = estimate(&cat.inputs(), 8, 15.into(), &AlarmPricing::default());
/// assert_eq!(e.dashboards_usd, 15.into());
/// assert_eq!(e.total_usd, e.alarms_usd + e.dashboards_usd);
/// ```
#[must_use]
pub fn estimate(
    alarms: &[Alarm],
    dashboards: usize,
    dashboards_usd: Decimal,
    pricing: &AlarmPricing,
) -> CostEstimate {
    let costs: Vec<AlarmCost> = alarms.iter().map(|a| pricing.alarm_cost(a)).collect();
    let alarms_usd = costs.iter().map(|c| c.monthly_usd).sum();
    CostEstimate {
        alarm_metrics: costs.iter().map(|c| c.metrics).sum(),
        alarms: costs,
        alarms_usd,
        dashboards,
        dashboards_usd,
        total_usd: alarms_usd + dashboards_usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{CatalogueOptions, catalogue_for};
    use crate::spec::{MathInput, MetricAlarm, MetricRef};
    use rust_decimal_macros::dec;
    use vocabulary::Stat;

    fn lambda(m: &str) -> MetricRef {
        MetricRef::aws("AWS/Lambda", m).with_dimension("FunctionName", "f")
    }

    #[test]
    fn prices_per_kind() {
        let p = AlarmPricing::default();
        let single = MetricAlarm::new("s", lambda("Errors"), Stat::Sum, 60)
            .above(0.0)
            .build()
            .unwrap();
        assert_eq!(
            p.alarm_cost(&Alarm::Metric(single.clone())).monthly_usd,
            dec!(0.10)
        );
        let high = MetricAlarm::new("h", lambda("Errors"), Stat::Sum, 10)
            .above(0.0)
            .build()
            .unwrap();
        let hc = p.alarm_cost(&Alarm::Metric(high));
        assert!(hc.high_resolution);
        assert_eq!(hc.monthly_usd, dec!(0.30));
        let math = MetricAlarm::math(
            "m",
            vec![
                MathInput::new("a", lambda("Errors"), Stat::Sum),
                MathInput::new("b", lambda("Invocations"), Stat::Sum),
            ],
            "a / b",
            "rate",
            60,
        )
        .above(0.1)
        .build()
        .unwrap();
        assert_eq!(p.alarm_cost(&Alarm::Metric(math)).monthly_usd, dec!(0.20));
        let anomaly = MetricAlarm::anomaly("x", lambda("Invocations"), Stat::Sum, 300, 2.0)
            .build()
            .unwrap();
        assert_eq!(p.alarm_cost(&Alarm::Metric(anomaly)).monthly_usd, dec!(0.30));
        let high_math = MetricAlarm::math(
            "hm",
            vec![MathInput::new("a", lambda("Errors"), Stat::Sum)],
            "a * 2",
            "x",
            30,
        )
        .above(1.0)
        .build()
        .unwrap();
        assert_eq!(p.alarm_cost(&Alarm::Metric(high_math)).monthly_usd, dec!(0.30));
    }

    #[test]
    fn collectiq_prod_estimate_is_exact() {
        let s = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap();
        let cat = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        // 8 dashboards at `DashboardPricing::default()` (3 free, $3 each); the pricing itself is
        // checked in dashboards/tests/cloudwatch_bill.rs, where both crates are at hand.
        let e = estimate(&cat.inputs(), 8, dec!(15), &AlarmPricing::default());
        // metrics: api 5xx 2 + p95 1 + p99 1; 12 functions × (error rate 2 + error count 1 (+ composite)
        // + throttles 1 + duration 1 + cold start 2); sfn 2 + 3 (failed and timed out; + composite) + p90
        // 1; 2 DLQs; table: the page 2 + 3 GSIs × 2, the warning 2
        // + GSIs' warnings 3×2; bedrock 1 + anomaly 3; budgets 150 % and 120 % (80 % is AWS Budgets' e-mail);
        // 4 governance functions × (error rate 2 + error count 1).
        let metrics = 4 + 12 * 7 + 6 + 2 + 16 + 4 + 2 + 4 * 3;
        assert_eq!(e.alarm_metrics, metrics);
        // 17 composites: one per function (the governance functions' too), one for the state machine.
        assert_eq!(
            e.alarms_usd,
            dec!(0.10) * Decimal::from(metrics) + dec!(0.50) * Decimal::from(17)
        );
        assert_eq!(e.dashboards_usd, dec!(15));
        assert_eq!(e.alarms.len(), cat.alarms.len());
    }

    /// A Bedrock model's aliases are series its alarms read: each adds one metric to the throttle alarm
    /// and three to the input-token anomaly alarm (the series and its band), nothing else.
    #[test]
    fn each_model_alias_adds_four_alarm_metrics() {
        let mut s = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap();
        let metrics = |s: &platform_spec::PlatformSpec| {
            let cat = catalogue_for(s, &CatalogueOptions::for_spec(s)).unwrap();
            estimate(&cat.inputs(), 0, Decimal::ZERO, &AlarmPricing::default())
        };
        let plain = metrics(&s);
        s.bedrock_models[0].aliases = vec![
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0".into(),
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3".into(),
        ];
        let aliased = metrics(&s);
        // 2 aliases × (throttles 1 + anomaly 3).
        assert_eq!(aliased.alarm_metrics, plain.alarm_metrics + 2 * 4);
        assert_eq!(aliased.alarms_usd, plain.alarms_usd + dec!(0.80));
        assert_eq!(aliased.alarms.len(), plain.alarms.len());
    }
}
