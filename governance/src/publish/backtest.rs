//! `alarms backtest`: replay each catalogue alarm over the last 14 days of its metric — `GetMetricData`
//! with the alarm's own metric, period and statistic (or its math queries) — through the alarms crate's
//! [`alarms::backtest::evaluate_series`], and warn about alarms that would have paged more often than
//! the noise budget allows.

use std::collections::BTreeMap;

use alarms::Alarm;
use alarms::backtest::{BacktestOptions, evaluate_series};
use alarms::catalogue::Catalogue;
use alarms::model::{Metric, MetricDataQuery, MetricStat, PutMetricAlarmInput};
use alarms::plan::NoiseBudget;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::cloudwatch::{CloudWatchApi, metric_data};

/// What happened to one alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmBacktest {
    /// Alarm name.
    pub name: String,
    /// Transitions into ALARM over the window (each one pages), if it could be evaluated.
    pub fires: Option<u32>,
    /// Periods it would have spent in ALARM.
    pub alarm_periods: u32,
    /// Periods with data.
    pub periods_with_data: usize,
    /// Why it was not evaluated.
    pub skipped: Option<String>,
}

/// The whole backtest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BacktestSummary {
    /// Window start.
    pub start: DateTime<Utc>,
    /// Window end.
    pub end: DateTime<Utc>,
    /// Per alarm, in catalogue order.
    pub alarms: Vec<AlarmBacktest>,
    /// Noise-budget warnings.
    pub warnings: Vec<String>,
    /// `GetMetricData` calls made.
    pub get_metric_data_calls: usize,
}

impl BacktestSummary {
    /// Alarm name → fires, for [`alarms::plan::AlarmPlan::apply_noise_budget`].
    #[must_use]
    pub fn fires(&self) -> BTreeMap<String, u32> {
        self.alarms
            .iter()
            .filter_map(|a| a.fires.map(|f| (a.name.clone(), f)))
            .collect()
    }

    /// A table for the terminal.
    #[must_use]
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = format!(
            "Backtest {} → {} ({} GetMetricData calls)\n",
            self.start.format("%Y-%m-%d %H:%M"),
            self.end.format("%Y-%m-%d %H:%M UTC"),
            self.get_metric_data_calls
        );
        let _ = writeln!(
            s,
            "  {:<72} {:>6} {:>9} {:>7}",
            "alarm", "fires", "in ALARM", "points"
        );
        for a in &self.alarms {
            match (&a.fires, &a.skipped) {
                (Some(f), _) => {
                    let _ = writeln!(
                        s,
                        "  {:<72} {f:>6} {:>9} {:>7}",
                        a.name, a.alarm_periods, a.periods_with_data
                    );
                }
                (None, Some(why)) => {
                    let _ = writeln!(s, "  {:<72} skipped: {why}", a.name);
                }
                (None, None) => {}
            }
        }
        for w in &self.warnings {
            let _ = writeln!(s, "  ! {w}");
        }
        let evaluated = self.alarms.iter().filter(|a| a.fires.is_some()).count();
        let _ = writeln!(
            s,
            "{evaluated} of {} alarms evaluated; {} over the noise budget.",
            self.alarms.len(),
            self.warnings.len()
        );
        s
    }
}

/// The queries that reproduce the alarm's evaluated value, and the period.
fn queries_of(a: &PutMetricAlarmInput) -> Option<(Vec<MetricDataQuery>, u32)> {
    if !a.metrics.is_empty() {
        let period = a
            .metrics
            .iter()
            .filter(|q| q.return_data != Some(false))
            .find_map(|q| q.period.or(q.metric_stat.as_ref().map(|s| s.period)))
            .or_else(|| {
                a.metrics
                    .iter()
                    .filter_map(|q| q.metric_stat.as_ref())
                    .map(|s| s.period)
                    .max()
            })?;
        return Some((a.metrics.clone(), period));
    }
    let period = a.period?;
    let stat = a
        .statistic
        .map(|s| s.as_str().to_owned())
        .or_else(|| a.extended_statistic.clone())?;
    Some((
        vec![MetricDataQuery {
            id: "m".into(),
            metric_stat: Some(MetricStat {
                metric: Metric {
                    namespace: a.namespace.clone()?,
                    metric_name: a.metric_name.clone()?,
                    dimensions: a.dimensions.clone(),
                },
                period,
                stat,
                unit: a.unit.clone(),
            }),
            expression: None,
            label: None,
            return_data: Some(true),
            period: None,
            account_id: None,
        }],
        period,
    ))
}

/// The longest window a backtest reads: CloudWatch keeps metric data for 455 days (1-minute data for
/// 15). The CLI refuses more; [`backtest_catalogue`] reads no more.
pub const MAX_BACKTEST_DAYS: u32 = 455;

/// Backtests every metric alarm of `catalogue` over `days` days ending at `now` (at most
/// [`MAX_BACKTEST_DAYS`]: a longer window has no data, and `now - days` could leave chrono's range).
pub async fn backtest_catalogue<C: CloudWatchApi>(
    cw: &C,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
    days: u32,
    budget: NoiseBudget,
) -> BacktestSummary {
    let days = days.min(MAX_BACKTEST_DAYS);
    let mut out = BacktestSummary {
        start: now - Duration::days(i64::from(days)),
        end: now,
        alarms: Vec::new(),
        warnings: Vec::new(),
        get_metric_data_calls: 0,
    };
    for d in &catalogue.alarms {
        let name = d.name().to_owned();
        let skip = |why: &str| AlarmBacktest {
            name: name.clone(),
            fires: None,
            alarm_periods: 0,
            periods_with_data: 0,
            skipped: Some(why.to_owned()),
        };
        let a = match &d.alarm {
            Alarm::Composite(_) => {
                out.alarms.push(skip("composite: follows its children"));
                continue;
            }
            Alarm::Metric(a) => a,
        };
        if a.threshold_metric_id.is_some() {
            out.alarms
                .push(skip("anomaly band: only CloudWatch computes the band"));
            continue;
        }
        let Some((queries, period)) = queries_of(a).filter(|(_, p)| *p > 0) else {
            out.alarms.push(skip("no period or statistic"));
            continue;
        };
        let p = i64::from(period);
        let start_s = (out.start.timestamp() / p) * p;
        let end_s = (now.timestamp() / p) * p;
        let periods = usize::try_from((end_s - start_s) / p).unwrap_or(0);
        let (Some(start), Some(end)) = (
            DateTime::<Utc>::from_timestamp(start_s, 0),
            DateTime::<Utc>::from_timestamp(end_s, 0),
        ) else {
            out.alarms.push(skip("window out of range"));
            continue;
        };
        out.get_metric_data_calls += 1;
        let points = match metric_data(cw, &queries, start, end).await {
            Ok(p) => p,
            Err(e) => {
                out.alarms.push(skip(&format!("GetMetricData failed: {e}")));
                continue;
            }
        };
        let mut values: Vec<Option<f64>> = vec![None; periods];
        for (t, v) in &points {
            let i = (t.timestamp() - start_s) / p;
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| values.get_mut(i)) {
                *slot = Some(*v);
            }
        }
        match evaluate_series(a, &values, BacktestOptions::default()) {
            Ok(r) => out.alarms.push(AlarmBacktest {
                name: name.clone(),
                fires: Some(r.fires),
                alarm_periods: r.alarm_periods,
                periods_with_data: values.iter().flatten().count(),
                skipped: None,
            }),
            Err(e) => out.alarms.push(skip(&e.to_string())),
        }
    }
    for a in &out.alarms {
        if let Some(f) = a.fires.filter(|f| *f > budget.max_fires) {
            out.warnings.push(format!(
                "{} would have fired {f} times in the last {} days (noise budget {})",
                a.name, days, budget.max_fires
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::alarms::desired_catalogue;

    #[test]
    fn single_metric_query_mirrors_the_alarm() {
        let spec = crate::test_support::prod_spec();
        let cat = desired_catalogue(&spec).unwrap();
        let Alarm::Metric(dlq) = &cat
            .get("collectiq-prod-valuation-dlq-depth-critical")
            .unwrap()
            .alarm
        else {
            panic!()
        };
        let (q, period) = queries_of(dlq).unwrap();
        assert_eq!(period, 60);
        let ms = q[0].metric_stat.as_ref().unwrap();
        assert_eq!(ms.metric.metric_name, "ApproximateNumberOfMessagesVisible");
        assert_eq!(ms.stat, "Maximum");
        let Alarm::Metric(rate) = &cat.get("collectiq-prod-api-5xx-rate-critical").unwrap().alarm else {
            panic!()
        };
        let (q, period) = queries_of(rate).unwrap();
        assert_eq!(
            (q.len(), period),
            (3, 300),
            "one 5-minute ratio (seed 001: 5xx rate over 5 minutes)"
        );
    }

    /// Issue 13: `alarms backtest --days` went into `now - Duration::days(days)`, which panics past
    /// chrono's range; the window is capped at what CloudWatch keeps.
    #[tokio::test]
    async fn an_overlong_window_is_capped_not_a_panic() {
        let cat = desired_catalogue(&crate::test_support::prod_spec()).unwrap();
        let cw = crate::publish::fake::FakeCloudWatch::default();
        let now = Utc::now();
        let budget = NoiseBudget {
            max_fires: 5,
            window_days: u32::MAX,
        };
        let summary = backtest_catalogue(&cw, &cat, now, u32::MAX, budget).await;
        assert_eq!(summary.start, now - Duration::days(i64::from(MAX_BACKTEST_DAYS)));
        assert_eq!(summary.end, now);
    }
}
