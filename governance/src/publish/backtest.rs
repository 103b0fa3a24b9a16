//! `alarms backtest`: replay each catalogue alarm over the last 14 days of its metric — `GetMetricData`
//! with the alarm's own metric, period and statistic (or its math queries) — through the alarms crate's
//! [`alarms::backtest::evaluate_series`], and warn about alarms that would have paged more often than
//! the noise budget allows.

use std::collections::BTreeMap;

use alarms::Alarm;
use alarms::backtest::{AlarmState, BacktestOptions, evaluate_series};
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
    /// Whether it notifies (pages or posts): an input of a composite does not, its composite does.
    /// Only these count against the noise budget.
    pub notifies: bool,
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
    /// Alarm name → fires of the alarms that notify, for
    /// [`alarms::plan::AlarmPlan::apply_noise_budget`] (a composite's inputs page nobody: their
    /// composite's fires count).
    #[must_use]
    pub fn fires(&self) -> BTreeMap<String, u32> {
        self.alarms
            .iter()
            .filter(|a| a.notifies)
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

/// How many days back CloudWatch answers a query at `period` seconds (`GetMetricData`: "between 15
/// and 63 days ago – Use a multiple of 300 seconds … greater than 63 days ago – Use a multiple of 3600
/// seconds", else "no data points in that time range is returned"; data under a minute is kept three
/// hours).
#[must_use]
pub const fn retention_days(period: u32) -> u32 {
    if period < 60 {
        0
    } else if period.is_multiple_of(3600) {
        MAX_BACKTEST_DAYS
    } else if period.is_multiple_of(300) {
        63
    } else {
        15
    }
}

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
    // Each evaluated metric alarm's states, for the composites over them.
    let mut timelines: BTreeMap<String, Timeline> = BTreeMap::new();
    let mut composites = Vec::new();
    for d in &catalogue.alarms {
        let name = d.name().to_owned();
        let skip = |why: &str| AlarmBacktest {
            name: name.clone(),
            fires: None,
            alarm_periods: 0,
            periods_with_data: 0,
            skipped: Some(why.to_owned()),
            notifies: d.notifies,
        };
        let a = match &d.alarm {
            Alarm::Composite(c) => {
                // Evaluated once its children are (they come first in the catalogue, or later).
                composites.push((out.alarms.len(), c));
                out.alarms.push(skip("composite: its rule could not be replayed"));
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
        // Past its retention CloudWatch returns no points: replayed, they would read as missing data
        // all along, "never fired" for an alarm that paged (or always in ALARM for `breaching`).
        let kept = retention_days(period);
        if days > kept {
            out.alarms.push(skip(&format!(
                "its {period} s datapoints are kept {kept} days by CloudWatch: over {days} days the rest \
                 would read as missing; backtest {kept} days or fewer"
            )));
            continue;
        }
        let p = i64::from(period);
        // One evaluation range before the window (N + 2 periods) sets the state it starts in: an
        // alarm already in ALARM then sent nothing when the window opened ("the state must have
        // changed"), and is not counted as firing there.
        let options = BacktestOptions::default();
        let warm = a.evaluation_periods.max(1) as usize + options.extra_range_periods as usize;
        let start_s = (out.start.timestamp() / p) * p - i64::try_from(warm).unwrap_or(0) * p;
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
        match evaluate_series(a, &values, options) {
            Ok(r) => {
                let in_alarm = |i: usize| r.states.get(i) == Some(&AlarmState::Alarm);
                let fires = (warm..r.states.len())
                    .filter(|&i| in_alarm(i) && !(i > 0 && in_alarm(i - 1)))
                    .count();
                out.alarms.push(AlarmBacktest {
                    name: name.clone(),
                    fires: Some(u32::try_from(fires).unwrap_or(u32::MAX)),
                    alarm_periods: u32::try_from((warm..r.states.len()).filter(|&i| in_alarm(i)).count())
                        .unwrap_or(u32::MAX),
                    periods_with_data: values.iter().skip(warm).flatten().count(),
                    skipped: None,
                    notifies: d.notifies,
                });
                timelines.insert(
                    name.clone(),
                    Timeline {
                        start_s,
                        period_s: p,
                        alarm: r.states.iter().map(|s| *s == AlarmState::Alarm).collect(),
                    },
                );
            }
            Err(e) => out.alarms.push(skip(&e.to_string())),
        }
    }
    for (slot, c) in composites {
        if let Some((fires, alarm_minutes)) = replay_composite(&c.alarm_rule, &timelines, &out) {
            let entry = &mut out.alarms[slot];
            entry.fires = Some(fires);
            entry.alarm_periods = alarm_minutes;
            entry.skipped = None;
        }
    }
    for a in out.alarms.iter().filter(|a| a.notifies) {
        if let Some(f) = a.fires.filter(|f| *f > budget.max_fires) {
            out.warnings.push(format!(
                "{} would have fired {f} times in the last {} days (noise budget {})",
                a.name, days, budget.max_fires
            ));
        }
    }
    out
}

/// One metric alarm's replayed states: whether it was in ALARM after each period from `start_s`.
struct Timeline {
    start_s: i64,
    period_s: i64,
    alarm: Vec<bool>,
}

impl Timeline {
    /// Whether it was in ALARM at `t` (epoch seconds): the state of the last period ended by then.
    fn alarm_at(&self, t: i64) -> bool {
        let ended = (t - self.start_s) / self.period_s;
        usize::try_from(ended - 1)
            .ok()
            .and_then(|i| self.alarm.get(i))
            .copied()
            .unwrap_or(false)
    }
}

/// A composite over its children's replayed states, minute by minute: `(fires, minutes in ALARM)`.
/// Only the rules the catalogue writes are replayed — `ALARM("a") OR ALARM("b") …` — and only when every
/// child was replayed; anything else (`AND`, `NOT`, `OK(…)`) is left skipped.
fn replay_composite(
    rule: &str,
    timelines: &BTreeMap<String, Timeline>,
    summary: &BacktestSummary,
) -> Option<(u32, u32)> {
    let mut children = Vec::new();
    for term in rule.split(" OR ") {
        let name = term.trim().strip_prefix("ALARM(")?.strip_suffix(')')?;
        let name = name.trim_matches('"');
        children.push(timelines.get(name)?);
    }
    if children.is_empty() {
        return None;
    }
    let (start, end) = (summary.start.timestamp(), summary.end.timestamp());
    // The children's timelines reach back before the window: the composite starts in the state they
    // gave it then, and a child already in ALARM is no new page.
    let mut was = children.iter().any(|c| c.alarm_at(start));
    let (mut fires, mut minutes) = (0u32, 0u32);
    let mut t = (start / 60 + 1) * 60;
    while t <= end {
        let now = children.iter().any(|c| c.alarm_at(t));
        if now && !was {
            fires += 1;
        }
        minutes += u32::from(now);
        was = now;
        t += 60;
    }
    Some((fires, minutes))
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

    /// Issue 5's noise budget counts what would have *paged*: the Lambda `errors` composite, not its
    /// inputs (which have no actions). Composites were skipped, so an input firing 3 times and the other
    /// 3 other times (6 pages) raised no warning, and a warning named an input that pages nobody.
    #[test]
    fn a_composite_is_replayed_from_its_childrens_states_and_only_pages_count() {
        let start = DateTime::<Utc>::from_timestamp(1_800_000_000 / 3600 * 3600, 0).unwrap();
        let summary = |alarms| BacktestSummary {
            start,
            end: start + Duration::hours(2),
            alarms,
            warnings: Vec::new(),
            get_metric_data_calls: 0,
        };
        // `rate` (5-minute periods) in ALARM in periods 2 and 10; `count` (1-minute) in minutes 30-31,
        // 50 and 52.
        let mut rate = vec![false; 24];
        rate[2] = true;
        rate[10] = true;
        let mut count = vec![false; 120];
        for m in [30, 31, 50, 52] {
            count[m] = true;
        }
        let t0 = start.timestamp();
        let timelines: BTreeMap<String, Timeline> = [
            ("p-fn-x-error-rate-critical", 300, rate),
            ("p-fn-x-error-count-critical", 60, count),
        ]
        .into_iter()
        .map(|(n, period_s, alarm)| {
            (
                n.to_owned(),
                Timeline {
                    start_s: t0,
                    period_s,
                    alarm,
                },
            )
        })
        .collect();
        let rule = r#"ALARM("p-fn-x-error-rate-critical") OR ALARM("p-fn-x-error-count-critical")"#;
        // rate: 2 episodes of 5 minutes; count: minutes 30-31 one episode, 50 and 52 two.
        assert_eq!(
            replay_composite(rule, &timelines, &summary(vec![])),
            Some((5, 14))
        );
        // A rule it cannot replay, or a child it could not, leaves the composite skipped.
        assert_eq!(
            replay_composite("ALARM(a) AND ALARM(b)", &timelines, &summary(vec![])),
            None
        );
        assert_eq!(
            replay_composite(
                r#"ALARM("p-fn-x-error-rate-critical") OR ALARM("gone")"#,
                &timelines,
                &summary(vec![])
            ),
            None
        );
        // Only alarms that notify count against the budget.
        let entry = |name: &str, fires, notifies| AlarmBacktest {
            name: name.into(),
            fires: Some(fires),
            alarm_periods: 0,
            periods_with_data: 0,
            skipped: None,
            notifies,
        };
        let s = summary(vec![
            entry("p-fn-x-error-rate-critical", 9, false),
            entry("p-fn-x-errors-critical", 6, true),
        ]);
        assert_eq!(
            s.fires().into_iter().collect::<Vec<_>>(),
            [("p-fn-x-errors-critical".to_owned(), 6)]
        );
    }

    /// The catalogue's composites are replayed end to end (all their inputs are metric alarms the
    /// backtest evaluates): none is left skipped for want of a rule it can read.
    #[tokio::test]
    async fn every_catalogue_composite_is_replayed() {
        let cat = desired_catalogue(&crate::test_support::prod_spec()).unwrap();
        let cw = crate::publish::fake::FakeCloudWatch::default();
        let summary = backtest_catalogue(&cw, &cat, Utc::now(), 1, NoiseBudget::default()).await;
        let composites: Vec<&AlarmBacktest> = summary
            .alarms
            .iter()
            .filter(|a| matches!(cat.get(&a.name).map(|d| &d.alarm), Some(Alarm::Composite(_))))
            .collect();
        // 12 functions', 4 governance functions' and the state machine's.
        assert_eq!(composites.len(), 17);
        for c in composites {
            assert_eq!(c.fires, Some(0), "{c:?}");
            assert!(c.notifies && c.skipped.is_none(), "{c:?}");
        }
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

    /// An alarm already in ALARM when the window opens sent nothing then ("CloudWatch alarms do not
    /// invoke actions simply because they are in a particular state, the state must have changed"):
    /// BudgetBuddy's ECS "no running task" alarm treats missing data as breaching, and with no data at
    /// all it is in ALARM throughout — one evaluation range before the window says so, and it fires 0
    /// times, not once at the window's start.
    #[tokio::test]
    async fn an_alarm_in_alarm_before_the_window_does_not_fire_at_its_start() {
        let spec = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../infra/platforms/budgetbuddy-prod.toml"),
        )
        .unwrap();
        let cat = desired_catalogue(&spec).unwrap();
        let breaching: Vec<String> = cat
            .alarms
            .iter()
            .filter_map(|d| match &d.alarm {
                Alarm::Metric(a)
                    if a.treat_missing_data == Some(alarms::model::TreatMissingData::Breaching) =>
                {
                    Some(d.name().to_owned())
                }
                _ => None,
            })
            .collect();
        assert!(!breaching.is_empty(), "BudgetBuddy has an alarm on missing data");
        let cw = crate::publish::fake::FakeCloudWatch::default();
        let summary = backtest_catalogue(&cw, &cat, Utc::now(), 1, NoiseBudget::default()).await;
        for name in &breaching {
            let a = summary.alarms.iter().find(|a| &a.name == name).unwrap();
            assert_eq!(a.fires, Some(0), "{a:?}");
            assert!(a.alarm_periods > 0, "{a:?}");
        }
    }

    /// CloudWatch answers a query more than 15 days back only at a multiple of 300 s, more than 63
    /// only at 3,600 s, "or no data points in that time range is returned": a 30-day backtest of a
    /// one-minute alarm (the DLQ depth) would replay 30 days of missing data as "never fired". It is
    /// skipped, saying why; 15 days still evaluate it.
    #[tokio::test]
    async fn a_window_past_the_datas_retention_is_skipped_not_read_as_missing() {
        let cat = desired_catalogue(&crate::test_support::prod_spec()).unwrap();
        let cw = crate::publish::fake::FakeCloudWatch::default();
        let dlq = |summary: &BacktestSummary| {
            summary
                .alarms
                .iter()
                .find(|a| a.name.contains("dlq"))
                .cloned()
                .unwrap()
        };
        let month = backtest_catalogue(&cw, &cat, Utc::now(), 30, NoiseBudget::default()).await;
        let a = dlq(&month);
        assert_eq!(a.fires, None, "{a:?}");
        let why = a.skipped.unwrap();
        assert!(
            why.contains("kept 15 days") && why.contains("over 30 days"),
            "{why}"
        );
        let fortnight = backtest_catalogue(&cw, &cat, Utc::now(), 15, NoiseBudget::default()).await;
        assert_eq!(dlq(&fortnight).fires, Some(0));
        assert_eq!(
            [
                retention_days(60),
                retention_days(300),
                retention_days(900),
                retention_days(3600),
                retention_days(30)
            ],
            [15, 63, 63, MAX_BACKTEST_DAYS, 0]
        );
    }
}
