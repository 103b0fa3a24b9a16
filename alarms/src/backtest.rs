//! Backtest: evaluate an alarm over a metric history as CloudWatch does, and count how often it would
//! have fired (transitions into ALARM) — the noise budget checked by [`crate::plan::AlarmPlan::apply_noise_budget`].
//!
//! Evaluation follows "How alarm state is evaluated when data is missing"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data>):
//! at every period, CloudWatch looks at an *evaluation range* a little longer than `EvaluationPeriods`
//! (N + 2 periods here, the documented example's 5 for N = 3);
//! - with at least N real points in the range, the most recent N real points decide (missing-data
//!   treatment is not consulted);
//! - with fewer, `breaching`/`notBreaching` fill the gap up to N; `missing`/`ignore` decide on the real
//!   points alone — ALARM if at least M breach, OK if one does not, otherwise INSUFFICIENT_DATA
//!   (`missing`) or the current state (`ignore`);
//! - with none, `missing` → INSUFFICIENT_DATA, `ignore` → current state, `breaching` → ALARM,
//!   `notBreaching` → OK;
//! - alarms on `AWS/DynamoDB` metrics always behave as `ignore`.
//!
//! - with `missing`, real points that all breach but are fewer than M still give ALARM when the oldest
//!   of them is at least M periods old (the newest counts 1): "the alarm goes to ALARM state even if
//!   missing data is treated as missing, because the oldest evaluated data point is breaching and
//!   there aren't any non-breaching data points" (`X - - - -`, `- - X - -` for M = N = 3).
//!
//! This reproduces every cell of the two documented example tables. Percentiles of raw samples use the nearest-rank method (CloudWatch's own
//! percentile estimate can differ slightly on large samples).

use crate::model::{ComparisonOperator, PutMetricAlarmInput, Statistic, TreatMissingData};
use serde::Serialize;

/// One raw data point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Seconds since the epoch.
    pub timestamp: i64,
    /// Value.
    pub value: f64,
}

/// An alarm state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    /// `OK`.
    Ok,
    /// `ALARM`.
    Alarm,
    /// `INSUFFICIENT_DATA`.
    InsufficientData,
}

/// Backtest knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacktestOptions {
    /// Periods of evaluation range beyond `EvaluationPeriods`.
    pub extra_range_periods: u32,
    /// State before the first period.
    pub initial_state: AlarmState,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        Self {
            extra_range_periods: 2,
            initial_state: AlarmState::InsufficientData,
        }
    }
}

/// What the alarm would have done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BacktestReport {
    /// State after each period.
    pub states: Vec<AlarmState>,
    /// Transitions into ALARM (each one pages).
    pub fires: u32,
    /// Periods spent in ALARM.
    pub alarm_periods: u32,
}

/// Why an alarm cannot be backtested here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacktestError {
    /// A statistic the backtest cannot compute from raw samples (`tm90`, `PR(..)`, ...).
    #[error("statistic {0} is not supported by the backtest")]
    UnsupportedStatistic(String),
    /// Anomaly-band alarms need the band, which only CloudWatch computes.
    #[error("anomaly-band alarms cannot be backtested offline")]
    AnomalyBand,
    /// A math alarm: pass the per-period values of its returned expression (GetMetricData with the
    /// alarm's `Metrics`) to [`evaluate_series`].
    #[error("metric-math alarms are backtested on their expression's values; use evaluate_series")]
    NeedsSeries,
    /// Period missing or zero.
    #[error("the alarm has no period")]
    NoPeriod,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as f64;
    let rank = ((p / 100.0) * n).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// Aggregates raw samples into `periods` periods of `period` seconds starting at `start`, with `stat`
/// (`Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount` or `pNN`); a period without samples is `None`.
///
/// ```
/// use alarms::backtest::{aggregate, Sample};
/// let s = [Sample { timestamp: 0, value: 1.0 }, Sample { timestamp: 30, value: 3.0 }, Sample { timestamp: 130, value: 5.0 }];
/// assert_eq!(aggregate(&s, 0, 3, 60, "Sum").unwrap(), [Some(4.0), None, Some(5.0)]);
/// ```
///
/// # Errors
/// [`BacktestError::UnsupportedStatistic`] or [`BacktestError::NoPeriod`].
pub fn aggregate(
    samples: &[Sample],
    start: i64,
    periods: usize,
    period: u32,
    stat: &str,
) -> Result<Vec<Option<f64>>, BacktestError> {
    if period == 0 {
        return Err(BacktestError::NoPeriod);
    }
    let pct = match stat.strip_prefix('p').map(str::parse::<f64>) {
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => return Err(BacktestError::UnsupportedStatistic(stat.to_owned())),
        None if Statistic::from_name(stat).is_some() => None,
        None => return Err(BacktestError::UnsupportedStatistic(stat.to_owned())),
    };
    let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); periods];
    for s in samples {
        if s.timestamp < start {
            continue;
        }
        let i = s
            .timestamp
            .checked_sub(start)
            .and_then(|d| usize::try_from(d / i64::from(period)).ok())
            .unwrap_or(usize::MAX);
        if let Some(b) = buckets.get_mut(i) {
            b.push(s.value);
        }
    }
    Ok(buckets
        .into_iter()
        .map(|mut b| {
            if b.is_empty() {
                return None;
            }
            if let Some(p) = pct {
                b.sort_by(f64::total_cmp);
                return percentile(&b, p);
            }
            Some(match stat {
                "Sum" => b.iter().sum(),
                "Average" => b.iter().sum::<f64>() / b.len() as f64,
                "Minimum" => b.iter().copied().fold(f64::INFINITY, f64::min),
                "Maximum" => b.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                _ => b.len() as f64, // SampleCount
            })
        })
        .collect())
}

/// Aligns already-aggregated points (GetMetricData `Timestamps`/`Values` of the alarm's returned
/// expression, queried with the alarm's period; any order) onto `periods` periods from `start`; a
/// period without a point is `None`. Feed the result to [`evaluate_series`].
///
/// ```
/// use alarms::backtest::align;
/// // GetMetricData returns newest first by default.
/// assert_eq!(align(&[120, 0], &[7.0, 5.0], 0, 3, 60), [Some(5.0), None, Some(7.0)]);
/// ```
#[must_use]
pub fn align(
    timestamps: &[i64],
    values: &[f64],
    start: i64,
    periods: usize,
    period: u32,
) -> Vec<Option<f64>> {
    let mut out = vec![None; periods];
    if period == 0 {
        return out;
    }
    for (t, v) in timestamps.iter().zip(values) {
        let slot = t
            .checked_sub(start)
            .filter(|d| *d >= 0)
            .and_then(|d| usize::try_from(d / i64::from(period)).ok());
        if let Some(cell) = slot.and_then(|i| out.get_mut(i)) {
            *cell = Some(*v);
        }
    }
    out
}

fn breaches(op: ComparisonOperator, v: f64, t: f64) -> bool {
    match op {
        ComparisonOperator::GreaterThanThreshold => v > t,
        ComparisonOperator::GreaterThanOrEqualToThreshold => v >= t,
        ComparisonOperator::LessThanThreshold => v < t,
        ComparisonOperator::LessThanOrEqualToThreshold => v <= t,
        _ => false,
    }
}

fn treatment(a: &PutMetricAlarmInput) -> TreatMissingData {
    let dynamodb = a.namespace.as_deref() == Some("AWS/DynamoDB")
        || a.metrics
            .iter()
            .filter_map(|q| q.metric_stat.as_ref())
            .any(|s| s.metric.namespace == "AWS/DynamoDB");
    if dynamodb {
        TreatMissingData::Ignore
    } else {
        a.treat_missing_data.unwrap_or(TreatMissingData::Missing)
    }
}

/// Evaluates `alarm` over per-period `values` (oldest first; `None` = missing): the alarm's own metric
/// aggregated with its statistic, or a math alarm's expression values.
///
/// ```
/// use alarms::backtest::{evaluate_series, BacktestOptions};
/// use alarms::spec::{MetricAlarm, MetricRef};
/// use vocabulary::Stat;
/// let a = MetricAlarm::new("a", MetricRef::aws("AWS/SQS", "ApproximateNumberOfMessagesVisible").with_dimension("QueueName", "q"), Stat::Maximum, 60)
///     .above(10.0).evaluate(2, 3).build().unwrap();
/// let v = [Some(0.0), Some(11.0), Some(12.0), Some(0.0), Some(0.0), Some(0.0), Some(20.0), Some(20.0)];
/// let r = evaluate_series(&a, &v, BacktestOptions::default()).unwrap();
/// assert_eq!(r.fires, 2);
/// ```
///
/// # Errors
/// [`BacktestError::AnomalyBand`] for anomaly alarms.
pub fn evaluate_series(
    alarm: &PutMetricAlarmInput,
    values: &[Option<f64>],
    opts: BacktestOptions,
) -> Result<BacktestReport, BacktestError> {
    if alarm.threshold_metric_id.is_some() || alarm.comparison_operator.is_anomaly() {
        return Err(BacktestError::AnomalyBand);
    }
    let threshold = alarm.threshold.unwrap_or(0.0);
    let n = alarm.evaluation_periods.max(1) as usize;
    let m = alarm
        .datapoints_to_alarm
        .unwrap_or(alarm.evaluation_periods)
        .max(1) as usize;
    let range = n + opts.extra_range_periods as usize;
    let treat = treatment(alarm);
    let op = alarm.comparison_operator;
    let mut state = opts.initial_state;
    let mut report = BacktestReport {
        states: Vec::with_capacity(values.len()),
        fires: 0,
        alarm_periods: 0,
    };
    for t in 0..values.len() {
        let window = &values[(t + 1).saturating_sub(range)..=t];
        let real: Vec<bool> = window
            .iter()
            .flatten()
            .map(|v| breaches(op, *v, threshold))
            .collect();
        let next = if real.len() >= n {
            let breaching = real[real.len() - n..].iter().filter(|b| **b).count();
            if breaching >= m {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            }
        } else {
            let breaching = real.iter().filter(|b| **b).count();
            let fill = n - real.len();
            match treat {
                TreatMissingData::Breaching => {
                    if breaching + fill >= m {
                        AlarmState::Alarm
                    } else {
                        AlarmState::Ok
                    }
                }
                TreatMissingData::NotBreaching => {
                    if breaching >= m {
                        AlarmState::Alarm
                    } else {
                        AlarmState::Ok
                    }
                }
                TreatMissingData::Missing | TreatMissingData::Ignore => {
                    if breaching >= m {
                        AlarmState::Alarm
                    } else if breaching < real.len() {
                        AlarmState::Ok
                    } else if treat == TreatMissingData::Missing {
                        // Every real point breaches, fewer than M of them: ALARM when the oldest is at
                        // least M periods old (the newest counts 1) — "the oldest evaluated data point
                        // is breaching and there aren't any non-breaching data points" (`X - - - -`).
                        let oldest_breaching = window
                            .iter()
                            .position(|v| v.is_some_and(|v| breaches(op, v, threshold)))
                            .map(|i| window.len() - i);
                        if oldest_breaching.is_some_and(|age| age >= m) {
                            AlarmState::Alarm
                        } else {
                            AlarmState::InsufficientData
                        }
                    } else {
                        state
                    }
                }
            }
        };
        if next == AlarmState::Alarm {
            report.alarm_periods += 1;
            if state != AlarmState::Alarm {
                report.fires += 1;
            }
        }
        state = next;
        report.states.push(state);
    }
    Ok(report)
}

/// Backtests a single-metric alarm over raw `samples` between `start` and `end` (seconds since epoch).
///
/// ```
/// use alarms::backtest::{backtest, BacktestOptions, Sample};
/// use alarms::spec::{MetricAlarm, MetricRef};
/// use vocabulary::Stat;
/// let a = MetricAlarm::new("a", MetricRef::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f"), Stat::Sum, 60)
///     .above(10.0).build().unwrap();
/// let samples: Vec<Sample> = (0..10).map(|i| Sample { timestamp: i * 60, value: if i == 4 { 50.0 } else { 1.0 } }).collect();
/// assert_eq!(backtest(&a, &samples, 0, 600, BacktestOptions::default()).unwrap().fires, 1);
/// ```
///
/// # Errors
/// [`BacktestError`] for math and anomaly alarms and statistics the backtest cannot compute.
pub fn backtest(
    alarm: &PutMetricAlarmInput,
    samples: &[Sample],
    start: i64,
    end: i64,
    opts: BacktestOptions,
) -> Result<BacktestReport, BacktestError> {
    if !alarm.metrics.is_empty() {
        return Err(if alarm.threshold_metric_id.is_some() {
            BacktestError::AnomalyBand
        } else {
            BacktestError::NeedsSeries
        });
    }
    let period = alarm.period.filter(|p| *p > 0).ok_or(BacktestError::NoPeriod)?;
    let stat = match (&alarm.statistic, &alarm.extended_statistic) {
        (Some(s), _) => s.as_str().to_owned(),
        (None, Some(x)) => x.clone(),
        (None, None) => return Err(BacktestError::UnsupportedStatistic(String::new())),
    };
    let periods = usize::try_from(end.saturating_sub(start).max(0) / i64::from(period)).unwrap_or(0);
    let values = aggregate(samples, start, periods, period, &stat)?;
    evaluate_series(alarm, &values, opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{MetricAlarm, MetricRef};
    use proptest::prelude::*;
    use vocabulary::Stat;

    fn alarm(m: u32, n: u32, treat: TreatMissingData) -> PutMetricAlarmInput {
        MetricAlarm::new(
            "a",
            MetricRef::aws("AWS/SQS", "ApproximateNumberOfMessagesVisible").with_dimension("QueueName", "q"),
            Stat::Maximum,
            300,
        )
        .above(10.0)
        .evaluate(m, n)
        .treat_missing(treat)
        .build()
        .unwrap()
    }

    /// `0` not breaching, `X` breaching, `-` missing; oldest first (left), as in the documentation.
    fn parse(row: &str) -> Vec<Option<f64>> {
        row.split_whitespace()
            .map(|c| match c {
                "0" => Some(0.0),
                "X" => Some(99.0),
                _ => None,
            })
            .collect()
    }

    /// The state after the last point of `row`, starting from OK (so "retain" shows as OK).
    fn last(m: u32, n: u32, treat: TreatMissingData, row: &str) -> AlarmState {
        let opts = BacktestOptions {
            initial_state: AlarmState::Ok,
            ..BacktestOptions::default()
        };
        // Only the final evaluation is the documented one: it sees exactly the 5 points.
        let v = parse(row);
        *evaluate_series(&alarm(m, n, treat), &v, opts)
            .unwrap()
            .states
            .last()
            .unwrap()
    }

    use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};
    use TreatMissingData::{Breaching as B, Ignore as G, Missing as M, NotBreaching as N};

    #[test]
    fn documented_table_three_of_three() {
        // rows: (data, missing, ignore (retain = O here), breaching, notBreaching)
        let rows = [
            ("0 - X - X", O, O, O, O),
            ("0 - - - -", O, O, O, O),
            ("- - - - -", I, O, A, O),
            ("0 X X - X", A, A, A, A),
            ("- - - - X", I, O, A, O),
            // The documentation's sixth row: the oldest point breaches and none does not.
            ("X - - - -", A, O, A, O),
            // Likewise when it is exactly M periods old (AWS Knowledge Center: "at least as old as the
            // value of Datapoints to Alarm").
            ("- - X - -", A, O, A, O),
            ("- - - X -", I, O, A, O),
        ];
        for (row, missing, ignore, breaching, not_breaching) in rows {
            assert_eq!(last(3, 3, M, row), missing, "missing {row}");
            assert_eq!(last(3, 3, G, row), ignore, "ignore {row}");
            assert_eq!(last(3, 3, B, row), breaching, "breaching {row}");
            assert_eq!(last(3, 3, N, row), not_breaching, "notBreaching {row}");
        }
    }

    #[test]
    fn documented_table_two_of_three() {
        let rows = [
            ("0 - X - X", A, A, A, A),
            ("0 0 X 0 X", A, A, A, A),
            ("0 - X - -", O, O, A, O),
            ("- - - - 0", O, O, A, O),
            ("- - - - X", I, O, A, O),
        ];
        for (row, missing, ignore, breaching, not_breaching) in rows {
            assert_eq!(last(2, 3, M, row), missing, "missing {row}");
            assert_eq!(last(2, 3, G, row), ignore, "ignore {row}");
            assert_eq!(last(2, 3, B, row), breaching, "breaching {row}");
            assert_eq!(last(2, 3, N, row), not_breaching, "notBreaching {row}");
        }
    }

    #[test]
    fn ignore_retains_alarm_state() {
        let opts = BacktestOptions {
            initial_state: AlarmState::Alarm,
            ..BacktestOptions::default()
        };
        let r = evaluate_series(&alarm(3, 3, G), &parse("- - - - -"), opts).unwrap();
        assert!(r.states.iter().all(|s| *s == AlarmState::Alarm));
        assert_eq!(r.fires, 0, "already in ALARM: no new page");
    }

    #[test]
    fn dynamodb_alarms_always_ignore_missing_data() {
        let mut a = MetricAlarm::new(
            "d",
            MetricRef::aws("AWS/DynamoDB", "ReadThrottleEvents").with_dimension("TableName", "t"),
            Stat::Sum,
            60,
        )
        .above(0.0)
        .treat_missing(TreatMissingData::Breaching)
        .build()
        .unwrap();
        let r = evaluate_series(&a, &parse("- - -"), BacktestOptions::default()).unwrap();
        assert_eq!(r.fires, 0);
        a.namespace = Some("AWS/SQS".into());
        a.metric_name = Some("ApproximateNumberOfMessagesVisible".into());
        assert_eq!(
            evaluate_series(&a, &parse("- - -"), BacktestOptions::default())
                .unwrap()
                .fires,
            1
        );
    }

    #[test]
    fn flapping_counts_each_transition() {
        let v: Vec<Option<f64>> = (0..20)
            .map(|i| Some(if i % 4 < 2 { 50.0 } else { 0.0 }))
            .collect();
        let r = evaluate_series(&alarm(1, 1, N), &v, BacktestOptions::default()).unwrap();
        assert_eq!(r.fires, 5);
        assert_eq!(r.alarm_periods, 10);
        // M of N damps it: 3 of 3 never fires on two-period bursts.
        assert_eq!(
            evaluate_series(&alarm(3, 3, N), &v, BacktestOptions::default())
                .unwrap()
                .fires,
            0
        );
    }

    #[test]
    fn aggregate_statistics() {
        let s: Vec<Sample> = (1..=100)
            .map(|i| Sample {
                timestamp: 10,
                value: f64::from(i),
            })
            .collect();
        assert_eq!(aggregate(&s, 0, 1, 60, "p95").unwrap(), [Some(95.0)]);
        assert_eq!(aggregate(&s, 0, 1, 60, "p100").unwrap(), [Some(100.0)]);
        assert_eq!(aggregate(&s, 0, 1, 60, "Average").unwrap(), [Some(50.5)]);
        assert_eq!(aggregate(&s, 0, 1, 60, "Minimum").unwrap(), [Some(1.0)]);
        assert_eq!(aggregate(&s, 0, 1, 60, "Maximum").unwrap(), [Some(100.0)]);
        assert_eq!(aggregate(&s, 0, 1, 60, "SampleCount").unwrap(), [Some(100.0)]);
        assert_eq!(aggregate(&s, 0, 2, 60, "Sum").unwrap(), [Some(5050.0), None]);
        assert!(matches!(
            aggregate(&s, 0, 1, 60, "tm90"),
            Err(BacktestError::UnsupportedStatistic(_))
        ));
        assert!(matches!(
            aggregate(&s, 0, 1, 0, "Sum"),
            Err(BacktestError::NoPeriod)
        ));
        // Samples before the start are ignored.
        assert_eq!(
            aggregate(
                &[Sample {
                    timestamp: -5,
                    value: 1.0
                }],
                0,
                1,
                60,
                "Sum"
            )
            .unwrap(),
            [None]
        );
    }

    #[test]
    fn align_drops_points_outside_the_range() {
        assert_eq!(
            align(&[-60, 0, 59, 180], &[1.0, 2.0, 3.0, 4.0], 0, 3, 60),
            [Some(3.0), None, None]
        );
        assert_eq!(align(&[0], &[1.0], 0, 2, 0), [None, None]);
        // A math alarm's expression values go straight into the evaluation.
        let v = align(&[0, 60, 120, 180, 240], &[20.0; 5], 0, 5, 60);
        let math = MetricAlarm::math(
            "m",
            vec![crate::spec::MathInput::new(
                "a",
                MetricRef::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f"),
                Stat::Sum,
            )],
            "a * 2",
            "x",
            60,
        )
        .above(10.0)
        .evaluate(5, 5)
        .build()
        .unwrap();
        assert_eq!(
            evaluate_series(&math, &v, BacktestOptions::default())
                .unwrap()
                .fires,
            1
        );
    }

    #[test]
    fn math_and_anomaly_alarms_are_refused_by_backtest() {
        let math = MetricAlarm::math(
            "m",
            vec![crate::spec::MathInput::new(
                "a",
                MetricRef::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f"),
                Stat::Sum,
            )],
            "a * 2",
            "x",
            60,
        )
        .above(1.0)
        .build()
        .unwrap();
        assert_eq!(
            backtest(&math, &[], 0, 600, BacktestOptions::default()),
            Err(BacktestError::NeedsSeries)
        );
        assert!(evaluate_series(&math, &[Some(5.0)], BacktestOptions::default()).is_ok());
        let anomaly = MetricAlarm::anomaly(
            "x",
            MetricRef::aws("AWS/Lambda", "Invocations").with_dimension("FunctionName", "f"),
            Stat::Sum,
            300,
            2.0,
        )
        .build()
        .unwrap();
        assert_eq!(
            backtest(&anomaly, &[], 0, 600, BacktestOptions::default()),
            Err(BacktestError::AnomalyBand)
        );
        assert_eq!(
            evaluate_series(&anomaly, &[], BacktestOptions::default()),
            Err(BacktestError::AnomalyBand)
        );
    }

    proptest! {
        #[test]
        fn fires_never_exceed_alarm_periods_and_states_match_length(
            values in prop::collection::vec(prop::option::of(0.0f64..20.0), 0..200),
            m in 1u32..5, extra in 0u32..3,
        ) {
            let n = m + extra;
            for treat in [B, N, G, M] {
                let r = evaluate_series(&alarm(m, n, treat), &values, BacktestOptions::default()).unwrap();
                prop_assert_eq!(r.states.len(), values.len());
                prop_assert!(r.fires <= r.alarm_periods);
                prop_assert_eq!(r.alarm_periods as usize, r.states.iter().filter(|s| **s == AlarmState::Alarm).count());
            }
        }

        #[test]
        fn aggregate_never_panics_and_keeps_every_in_range_sample(
            ts in prop::collection::vec(any::<i64>(), 0..50), start in any::<i64>(), periods in 0usize..50, period in 1u32..4000,
        ) {
            let samples: Vec<Sample> = ts.iter().map(|t| Sample { timestamp: *t, value: 1.0 }).collect();
            let out = aggregate(&samples, start, periods, period, "SampleCount").unwrap();
            prop_assert_eq!(out.len(), periods);
            let end = i128::from(start) + i128::from(period) * periods as i128;
            let inside = ts.iter().filter(|t| i128::from(**t) >= i128::from(start) && i128::from(**t) < end).count();
            let counted: f64 = out.iter().flatten().sum();
            prop_assert_eq!(counted as usize, inside);
        }

        #[test]
        fn with_complete_data_the_treatment_does_not_matter(values in prop::collection::vec(0.0f64..20.0, 0..100), m in 1u32..4) {
            let v: Vec<Option<f64>> = values.into_iter().map(Some).collect();
            let reference = evaluate_series(&alarm(m, 3.max(m), B), &v, BacktestOptions::default()).unwrap();
            for treat in [N, G, M] {
                let r = evaluate_series(&alarm(m, 3.max(m), treat), &v, BacktestOptions::default()).unwrap();
                // Identical from the N-th period on (before that the range is not full yet).
                let k = 3.max(m) as usize - 1;
                prop_assert_eq!(&r.states[k.min(r.states.len())..], &reference.states[k.min(reference.states.len())..]);
            }
        }
    }
}
