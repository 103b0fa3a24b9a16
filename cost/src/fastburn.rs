//! The fast path: multi-window burn rates of Bedrock spend from `AWS/Bedrock` token metrics alone (no
//! Cost Explorer), for the hourly check. CloudWatch token metrics are minutes old; CE is up to a day
//! late (reference `cost-anchors.md` §0.4 and §4).
//!
//! Burn rate over a window `w` = `(token cost in [until − w, until) / hours(w)) ÷ (allowance / hours in
//! the month)`: 1.0 spends the allowance exactly by month end. A window across a month's end holds each
//! hour to its own month's allowance: the rate is the window's cost ÷ [`allowed_spend`] in it, the sum
//! of `allowance × hours there / hours in that month` over the months it touches (the same as the
//! formula above inside one month). Alert rules (Google SRE Workbook, "Alerting on SLOs", adapted to
//! budgets):
//! - **page** when the 1 h **and** 5 min rates are ≥ 14.4 (2 % of the month's allowance in an hour);
//! - **page** when the 6 h **and** 30 min rates are ≥ 6 (5 % in six hours);
//! - **ticket** when the 3 d **and** 6 h rates are ≥ 1.
//!
//! The 3 d window is long enough for Cost Explorer: §4 takes it from **CE daily totals** (the whole
//! environment's spend, every service), CloudWatch's token cost only for the hour-scale windows where
//! CE is too late. [`FastBurn::with_ce_daily`] puts the [`LONG_WINDOW_DAYS`] most recent days of
//! totals among the [`LONG_WINDOW_REACH_DAYS`] before today in its place ([`long_window_days`]: today,
//! still partial, dropped; `Estimated` days kept — CE marks every day of the open month so, and final
//! days a week old would hide a spike of the last three — and the window flagged when it holds one);
//! with too few days of CE totals the 3 d window stays on the token cost and [`FastBurn::long_window`]
//! says why. The hourly check has no Cost Explorer permission: the
//! totals are the daily cost run's, left in the governance ledger.
//!
//! The short windows need fine data: query `GetMetricData` with `Period` 60 or 300 s. A datapoint
//! counts in a window when its timestamp (the start of its period) is inside it. The windows end at
//! [`complete_until`]`(as_of)`, the last 5-minute boundary at least a minute before `as_of`: CloudWatch
//! starts its periods at the query's start rounded down to the minute, so a window ending at `as_of`
//! itself (13:00:02) would hold, as its 5 minutes, only the period still being written (13:00:00 on),
//! and a period that just closed may still be missing its last minute of data.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::burn::MonthPeriod;
use crate::input::{DailyTotal, MetricSumSeries};
use crate::pricing::{BEDROCK_NAMESPACE, MODEL_ID_DIMENSION, PriceTable, TokenCounts, TokenKind};

/// A burn-rate window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    /// 5 minutes.
    M5,
    /// 30 minutes.
    M30,
    /// 1 hour.
    H1,
    /// 6 hours.
    H6,
    /// 3 days.
    D3,
}

impl Window {
    /// All windows, shortest first.
    pub const ALL: [Self; 5] = [Self::M5, Self::M30, Self::H1, Self::H6, Self::D3];

    /// Length in minutes.
    #[must_use]
    pub const fn minutes(self) -> i64 {
        match self {
            Self::M5 => 5,
            Self::M30 => 30,
            Self::H1 => 60,
            Self::H6 => 360,
            Self::D3 => 4320,
        }
    }

    /// `5m`, `30m`, `1h`, `6h`, `3d`.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::M5 => "5m",
            Self::M30 => "30m",
            Self::H1 => "1h",
            Self::H6 => "6h",
            Self::D3 => "3d",
        }
    }
}

/// Spend and burn rate in one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowBurn {
    /// The window.
    pub window: Window,
    /// Token cost in the window (USD).
    pub cost: Decimal,
    /// Burn rate (1.0 = on pace to spend exactly the allowance).
    pub burn_rate: Decimal,
}

/// The alert the fast path raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FastBurnAlert {
    /// 3 d and 6 h ≥ 1×: open a ticket.
    Ticket,
    /// 6 h and 30 min ≥ 6×: page.
    PageSlow,
    /// 1 h and 5 min ≥ 14.4×: page now.
    PageFast,
}

/// Days of Cost Explorer totals the 3 d window holds.
pub const LONG_WINDOW_DAYS: usize = 3;
/// How many days before today the 3 d window looks for them (the "3–7 d" reach of cost-anchors §4): a
/// daily run that missed a day or two still leaves three.
pub const LONG_WINDOW_REACH_DAYS: i64 = 7;

/// Where the 3 d window's spend comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum LongWindow {
    /// Cost Explorer daily totals of the environment (every service) on `days`, oldest first.
    CostExplorer {
        /// The days summed.
        days: Vec<NaiveDate>,
        /// True when fewer than [`LONG_WINDOW_DAYS`] final days were there and `Estimated` ones were
        /// used (Cost Explorer marks every day of the open month so).
        includes_estimated: bool,
    },
    /// Bedrock token cost from CloudWatch over the last 3 days, because `why` (no CE totals yet).
    BedrockTokens {
        /// Why Cost Explorer's totals were not used, in plain words.
        why: String,
    },
}

impl LongWindow {
    /// One line for the alert: what the 3 d window is made of.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use cost::fastburn::LongWindow;
    /// let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    /// let ce = LongWindow::CostExplorer { days: vec![d(18), d(19), d(20)], includes_estimated: false };
    /// assert_eq!(ce.describe(), "3d: Cost Explorer daily totals of 2026-11-18 to 2026-11-20 (complete days)");
    /// ```
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::CostExplorer {
                days,
                includes_estimated,
            } => {
                let span = match (days.first(), days.last()) {
                    (Some(a), Some(b)) if a != b => format!("{a} to {b}"),
                    (Some(a), _) => a.to_string(),
                    _ => "no days".to_owned(),
                };
                let kind = if *includes_estimated {
                    "Estimated days included: Cost Explorer's figures for the open month may still move"
                } else {
                    "complete days"
                };
                format!("3d: Cost Explorer daily totals of {span} ({kind})")
            }
            Self::BedrockTokens { why } => {
                format!("3d: Bedrock token cost from CloudWatch, not Cost Explorer totals: {why}")
            }
        }
    }
}

/// The days of `daily` the 3 d window sums on `today`: the last [`LONG_WINDOW_DAYS`] days there are in
/// the [`LONG_WINDOW_REACH_DAYS`] before today (today, still partial, dropped) — the most recent ones,
/// as a burn window must be: final days a week old would hide a spike of the last three. Cost
/// Explorer marks every day of the open month `Estimated`, so the window is flagged when it holds one
/// (`true`): those figures may still move.
///
/// # Errors
/// Why there are too few days (fewer than [`LONG_WINDOW_DAYS`] days of totals in the reach), in words.
///
/// ```
/// use chrono::NaiveDate;
/// use cost::input::DailyTotal;
/// let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
/// let daily: Vec<_> = (10..=21)
///     .map(|n| DailyTotal { date: d(n), amount: n.into(), estimated: n >= 19 })
///     .collect();
/// let (days, estimated) = cost::fastburn::long_window_days(&daily, d(21)).unwrap();
/// assert_eq!(days.iter().map(|t| t.date).collect::<Vec<_>>(), [d(18), d(19), d(20)]);
/// assert!(estimated);
/// let (days, estimated) = cost::fastburn::long_window_days(&daily, d(19)).unwrap();
/// assert_eq!(days.iter().map(|t| t.date).collect::<Vec<_>>(), [d(16), d(17), d(18)]);
/// assert!(!estimated);
/// assert!(cost::fastburn::long_window_days(&daily[..2], d(21)).is_err());
/// ```
pub fn long_window_days(daily: &[DailyTotal], today: NaiveDate) -> Result<(Vec<DailyTotal>, bool), String> {
    let from = today - Duration::days(LONG_WINDOW_REACH_DAYS);
    let mut reach: Vec<&DailyTotal> = daily
        .iter()
        .filter(|d| d.date >= from && d.date < today)
        .collect();
    reach.sort_by_key(|d| d.date);
    reach.dedup_by_key(|d| d.date);
    if reach.len() < LONG_WINDOW_DAYS {
        return Err(format!(
            "the ledger has Cost Explorer totals for {} of the {LONG_WINDOW_REACH_DAYS} days before {today} \
             (the daily cost run leaves them there), {LONG_WINDOW_DAYS} needed",
            reach.len()
        ));
    }
    let used: Vec<DailyTotal> = reach[reach.len() - LONG_WINDOW_DAYS..]
        .iter()
        .map(|d| **d)
        .collect();
    let includes_estimated = used.iter().any(|d| d.estimated);
    Ok((used, includes_estimated))
}

/// Result of the fast burn check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FastBurn {
    /// When it was evaluated.
    pub as_of: DateTime<Utc>,
    /// Monthly allowance the rates are relative to.
    pub allowance: Decimal,
    /// One entry per window, shortest first.
    pub windows: Vec<WindowBurn>,
    /// The strongest alert whose two windows both fire.
    pub alert: Option<FastBurnAlert>,
    /// Model ids with tokens in the last 3 days but no price (not in any cost): a ticket when no
    /// rate calls for an alert.
    pub unpriced_model_ids: Vec<String>,
    /// Where the 3 d window's spend comes from.
    pub long_window: LongWindow,
}

impl FastBurn {
    /// The alert the priced windows' rates call for, leaving unpriced tokens aside: when it differs
    /// from [`Self::alert`], the alert is the ticket for [`Self::unpriced_model_ids`].
    #[must_use]
    pub fn priced_alert(&self) -> Option<FastBurnAlert> {
        decide_priced(self)
    }

    /// Whether [`Self::alert`] is there only for tokens of models with no price.
    #[must_use]
    pub fn alerts_only_for_unpriced(&self) -> bool {
        self.alert.is_some() && self.priced_alert().is_none()
    }

    /// The burn rate of one window.
    #[must_use]
    pub fn rate(&self, window: Window) -> Decimal {
        self.windows
            .iter()
            .find(|w| w.window == window)
            .map_or(Decimal::ZERO, |w| w.burn_rate)
    }

    /// The check with its 3 d window taken from Cost Explorer's daily totals `daily` (the environment's,
    /// as the daily cost run stored them) — see [`long_window_days`] — and the alert decided again.
    /// With too few days the 3 d window keeps the Bedrock token cost and [`Self::long_window`] says why.
    ///
    /// ```
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// use cost::fastburn::{fast_burn, LongWindow, Window};
    /// use cost::input::DailyTotal;
    /// let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    /// let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    /// let daily: Vec<_> = (14..=20).map(|n| DailyTotal { date: d(n), amount: 50.into(), estimated: false }).collect();
    /// let fb = fast_burn(cost::pricing::PriceTable::bundled().unwrap(), &[], 1500.into(), now, &Default::default())
    ///     .with_ce_daily(&daily);
    /// // $50/day against $1,500 over 30 days ($50/day): exactly 1×.
    /// assert_eq!(fb.rate(Window::D3).round_dp(9), 1.into());
    /// assert!(matches!(fb.long_window, LongWindow::CostExplorer { includes_estimated: false, .. }));
    /// ```
    #[must_use]
    pub fn with_ce_daily(mut self, daily: &[DailyTotal]) -> Self {
        match long_window_days(daily, self.as_of.date_naive()) {
            Ok((days, includes_estimated)) => {
                // Checked: totals read back from the ledger that overflow a sum (a tampered item) leave
                // the token cost in the window and say so, never a panic.
                let cost = checked_sum(days.iter().map(|d| d.amount));
                // Each day at its own month's daily allowance: on the 1st the window's days are the
                // month before's, whose length may differ.
                let allowed = checked_sum(days.iter().map(|d| {
                    let start = d.date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
                    let end = start.checked_add_signed(Duration::days(1)).unwrap_or(start);
                    allowed_spend(self.allowance, start, end)
                }));
                match cost.zip(allowed) {
                    Some((cost, allowed)) => {
                        let burn_rate = cost.checked_div(allowed).unwrap_or_default();
                        for w in self.windows.iter_mut().filter(|w| w.window == Window::D3) {
                            w.cost = cost;
                            w.burn_rate = burn_rate;
                        }
                        self.long_window = LongWindow::CostExplorer {
                            days: days.iter().map(|d| d.date).collect(),
                            includes_estimated,
                        };
                    }
                    None => {
                        let span = days.iter().map(|d| d.date.to_string()).collect::<Vec<_>>();
                        self.long_window = LongWindow::BedrockTokens {
                            why: format!(
                                "Cost Explorer's totals of {} add up beyond any real bill",
                                span.join(", ")
                            ),
                        };
                    }
                }
            }
            Err(why) => self.long_window = LongWindow::BedrockTokens { why },
        }
        self.alert = decide(&self);
        self
    }
}

/// The sum of `amounts`, or `None` when it overflows `Decimal`.
fn checked_sum(amounts: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    amounts
        .into_iter()
        .try_fold(Decimal::ZERO, |sum, a| sum.checked_add(a))
}

/// The spend `monthly_allowance` allows in `[from, until)`: each part of the span inside one calendar
/// month (UTC) at that month's own pace, `allowance × seconds there / seconds in that month`. A window
/// across a month's end is held to the month before for the hours before it, so half an hour into
/// March a 6 h window is not measured against March's 31 days.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rust_decimal::Decimal;
/// let at = |m, d, h| Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).unwrap();
/// // $672 over February 2026 (672 h) is $1 an hour; over March (744 h), $672/744 an hour.
/// assert_eq!(cost::fastburn::allowed_spend(Decimal::from(672), at(2, 28, 18), at(2, 28, 23)), Decimal::from(5));
/// let across = cost::fastburn::allowed_spend(Decimal::from(672), at(2, 28, 18), at(3, 1, 1));
/// assert_eq!(across.round_dp(9), (Decimal::from(6) + Decimal::from(672) / Decimal::from(744)).round_dp(9));
/// ```
#[must_use]
pub fn allowed_spend(monthly_allowance: Decimal, from: DateTime<Utc>, until: DateTime<Utc>) -> Decimal {
    let mut allowed = Decimal::ZERO;
    let mut start = from;
    while start < until {
        let month = MonthPeriod::containing(start.date_naive());
        let month_end = month.end.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        // A month end that does not move forward (a date at chrono's limit) ends the walk.
        let end = month_end.min(until);
        if end <= start {
            break;
        }
        let part = Decimal::from((end - start).num_seconds());
        let month_secs = Decimal::from(month.days()) * Decimal::from(86_400);
        allowed += monthly_allowance
            .checked_mul(part)
            .and_then(|x| x.checked_div(month_secs))
            .unwrap_or_default();
        start = end;
    }
    allowed
}

/// The burn rates the alerts compare with (≥): the ticket's 1×, the slow page's 6×, the fast page's
/// 14.4×. A rate shown beside them is rounded so that it reaches each exactly when it does
/// ([`crate::format::burn_rate`]).
pub const RATE_THRESHOLDS: [Decimal; 3] = [
    Decimal::ONE,
    Decimal::from_parts(6, 0, 0, false, 0),
    Decimal::from_parts(144, 0, 0, false, 1),
];

/// The strongest alert whose two windows both fire; else a ticket when tokens of a model the price
/// table does not know were counted: their spend is in no window, so the rates cannot show a burn
/// (the cost anchors: alert on "an unknown model ID").
fn decide(fb: &FastBurn) -> Option<FastBurnAlert> {
    fb.priced_alert()
        .or_else(|| (!fb.unpriced_model_ids.is_empty()).then_some(FastBurnAlert::Ticket))
}

/// [`decide`] from the priced rates alone.
fn decide_priced(fb: &FastBurn) -> Option<FastBurnAlert> {
    let [ticket, slow, fast] = RATE_THRESHOLDS;
    let both = |a: Window, b: Window, x: Decimal| fb.rate(a) >= x && fb.rate(b) >= x;
    if both(Window::H1, Window::M5, fast) {
        Some(FastBurnAlert::PageFast)
    } else if both(Window::H6, Window::M30, slow) {
        Some(FastBurnAlert::PageSlow)
    } else if both(Window::D3, Window::H6, ticket) {
        Some(FastBurnAlert::Ticket)
    } else {
        None
    }
}

/// How far the windows reach: the last 5-minute boundary (UTC) at least a minute before `as_of`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// let at = |h, m, s| Utc.with_ymd_and_hms(2025, 6, 18, h, m, s).unwrap();
/// assert_eq!(cost::fastburn::complete_until(at(13, 0, 2)), at(12, 55, 0));
/// assert_eq!(cost::fastburn::complete_until(at(13, 1, 0)), at(13, 0, 0));
/// assert_eq!(cost::fastburn::complete_until(at(13, 0, 59)), at(12, 55, 0));
/// ```
#[must_use]
pub fn complete_until(as_of: DateTime<Utc>) -> DateTime<Utc> {
    let settled = (as_of - Duration::minutes(1)).timestamp();
    DateTime::from_timestamp(settled - settled.rem_euclid(300), 0).unwrap_or(as_of)
}

/// Evaluates the multi-window burn of Bedrock token spend against `monthly_allowance` (the budget, or
/// the share of it Bedrock may use), every window from the token cost; [`FastBurn::with_ce_daily`] then
/// puts Cost Explorer's daily totals in the 3 d window.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use cost::input::MetricSumSeries;
/// use cost::fastburn::{fast_burn, FastBurnAlert};
/// let now = Utc.with_ymd_and_hms(2025, 6, 18, 12, 0, 0).unwrap();
/// // 1M Sonnet input tokens ($3) in each of the twelve settled 5-minute periods: $36/h against $500/month.
/// let mut s = MetricSumSeries::new("AWS/Bedrock", "InputTokenCount")
///     .with_dimension("ModelId", "anthropic.claude-3-5-sonnet-20241022-v2:0");
/// for k in 1..=12 { s = s.with_point(cost::fastburn::complete_until(now) - Duration::minutes(5 * k), 1e6); }
/// let fb = fast_burn(cost::pricing::PriceTable::bundled().unwrap(), &[s], 500.into(), now, &Default::default());
/// assert_eq!(fb.alert, Some(FastBurnAlert::PageFast));
/// ```
#[must_use]
pub fn fast_burn(
    prices: &PriceTable,
    series: &[MetricSumSeries],
    monthly_allowance: Decimal,
    as_of: DateTime<Utc>,
    aliases: &BTreeMap<String, String>,
) -> FastBurn {
    let mut unpriced = BTreeSet::new();
    // (timestamp, cost) of every priced datapoint.
    let mut points: Vec<(DateTime<Utc>, Decimal)> = Vec::new();
    for s in series.iter().filter(|s| s.namespace == BEDROCK_NAMESPACE) {
        let (Some(kind), Some(id)) = (
            TokenKind::ALL
                .into_iter()
                .find(|k| k.bedrock_metric() == s.metric_name),
            s.dimension(MODEL_ID_DIMENSION),
        ) else {
            continue;
        };
        let Some(model) = prices.resolve_with(id, aliases) else {
            if s.points.iter().any(|p| p.sum > 0.0) {
                unpriced.insert(id.to_owned());
            }
            continue;
        };
        for p in &s.points {
            let n = if p.sum.is_finite() && p.sum > 0.0 {
                p.sum.round() as u64
            } else {
                0
            };
            let mut tokens = TokenCounts::default();
            match kind {
                TokenKind::Input => tokens.input = n,
                TokenKind::Output => tokens.output = n,
                TokenKind::CacheRead => tokens.cache_read = n,
                TokenKind::CacheWrite => tokens.cache_write = n,
            }
            points.push((p.timestamp, prices.cost(model, &tokens, p.timestamp.date_naive())));
        }
    }
    let until = complete_until(as_of);
    let windows: Vec<WindowBurn> = Window::ALL
        .into_iter()
        .map(|w| {
            let from = until - Duration::minutes(w.minutes());
            let cost: Decimal = points
                .iter()
                .filter(|(t, _)| *t >= from && *t < until)
                .map(|(_, c)| *c)
                .sum();
            let burn_rate = cost
                .checked_div(allowed_spend(monthly_allowance, from, until))
                .unwrap_or_default();
            WindowBurn {
                window: w,
                cost,
                burn_rate,
            }
        })
        .collect();
    let mut fb = FastBurn {
        as_of,
        allowance: monthly_allowance,
        windows,
        alert: None,
        unpriced_model_ids: unpriced.into_iter().collect(),
        long_window: LongWindow::BedrockTokens {
            why: "no Cost Explorer daily totals were given".to_owned(),
        },
    };
    fb.alert = decide(&fb);
    fb
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;

    const SONNET: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 18, 12, 0, 0).unwrap()
    }

    /// Sonnet input tokens every 5 minutes over the last `minutes` of complete periods (up to
    /// [`complete_until`]), `per_point` each.
    fn series(minutes: i64, per_point: f64) -> MetricSumSeries {
        (1..=minutes / 5).fold(
            MetricSumSeries::new(BEDROCK_NAMESPACE, "InputTokenCount")
                .with_dimension(MODEL_ID_DIMENSION, SONNET),
            |s, k| s.with_point(complete_until(now()) - Duration::minutes(5 * k), per_point),
        )
    }

    /// Run at 13:00:02 (an hourly schedule's start), the 5-minute window is the period 12:50–12:55 —
    /// settled — not 13:00's, two seconds old, nor 12:55's, whose last minute may not have arrived;
    /// a steady 52× burn pages.
    #[test]
    fn the_windows_end_at_the_last_settled_period() {
        let as_of = Utc.with_ymd_and_hms(2025, 6, 18, 13, 0, 2).unwrap();
        let until = complete_until(as_of);
        assert_eq!(until, Utc.with_ymd_and_hms(2025, 6, 18, 12, 55, 0).unwrap());
        // 1M Sonnet input tokens ($3) every 5 minutes, including the one being written.
        let steady = (0..=24).fold(
            MetricSumSeries::new(BEDROCK_NAMESPACE, "InputTokenCount")
                .with_dimension(MODEL_ID_DIMENSION, SONNET),
            |s, k| {
                s.with_point(
                    Utc.with_ymd_and_hms(2025, 6, 18, 13, 0, 0).unwrap() - Duration::minutes(5 * k),
                    1e6,
                )
            },
        );
        let fb = fast_burn(
            PriceTable::bundled().unwrap(),
            &[steady],
            dec!(500),
            as_of,
            &BTreeMap::new(),
        );
        assert_eq!(fb.windows[0].cost, dec!(3)); // 5m: 12:50 only
        assert_eq!(fb.windows[2].cost, dec!(36)); // 1h: 11:55 … 12:50
        assert_eq!(fb.alert, Some(FastBurnAlert::PageFast));
    }

    fn run(s: &[MetricSumSeries]) -> FastBurn {
        fast_burn(
            PriceTable::bundled().unwrap(),
            s,
            dec!(500),
            now(),
            &BTreeMap::new(),
        )
    }

    #[test]
    fn rates_hand_computed() {
        // $500 over June (720 h) = $0.69444/h. 100k tokens ($0.30) per 5 min for 6 h = $3.60/h.
        let fb = run(&[series(360, 100_000.0)]);
        assert_eq!(fb.windows[0].cost, dec!(0.3)); // 5m
        assert_eq!(fb.windows[2].cost, dec!(3.6)); // 1h
        assert_eq!(fb.windows[3].cost, dec!(21.6)); // 6h
        // 3.60 / (500/720) = 5.184
        assert_eq!(fb.rate(Window::H1).round_dp(3), dec!(5.184));
        assert_eq!(fb.rate(Window::H6).round_dp(3), dec!(5.184));
        // 3 d window holds the same 6 h of spend: 21.6/72 h ÷ 0.69444 = 0.432.
        assert_eq!(fb.rate(Window::D3).round_dp(3), dec!(0.432));
        assert_eq!(fb.alert, None);
    }

    #[test]
    fn each_rule_fires_on_both_windows_only() {
        // 6×: $0.69444 × 6 = $4.1667/h → 5 min $0.3472 → 115,741 tokens per point.
        assert_eq!(
            run(&[series(360, 116_000.0)]).alert,
            Some(FastBurnAlert::PageSlow)
        );
        // Same rate but only for the last 30 min: 6 h window too low → no slow page; 3 d far below 1×.
        assert_eq!(run(&[series(30, 116_000.0)]).alert, None);
        // 14.4×: $10/h → $0.8333 per 5 min → 277,778 tokens per point over the last hour.
        assert_eq!(run(&[series(60, 280_000.0)]).alert, Some(FastBurnAlert::PageFast));
        // A 5-minute burst alone does not page (1 h rate = 14.4 × 1/12).
        assert_eq!(run(&[series(5, 3_000_000.0)]).alert, None);
        // Ticket: 20k tokens per 5 min = $0.72/h = 1.04× sustained for 3 days.
        assert_eq!(run(&[series(4320, 20_000.0)]).alert, Some(FastBurnAlert::Ticket));
    }

    fn ce_day(n: u32, usd: Decimal, estimated: bool) -> DailyTotal {
        DailyTotal {
            date: NaiveDate::from_ymd_opt(2025, 6, n).unwrap(),
            amount: usd,
            estimated,
        }
    }

    /// cost-anchors §4: the 3 d window is Cost Explorer's daily totals, not the token cost. A steady
    /// 1.04× of tokens for 6 h is 0.09× over 3 days of tokens (no ticket); the environment's CE totals —
    /// $20 a day against $500 over June's 30 days ($16.67 a day) — are 1.2×: a ticket.
    #[test]
    fn the_3d_window_is_cost_explorer_s_daily_totals() {
        let tokens_only = run(&[series(360, 20_000.0)]);
        assert_eq!(tokens_only.rate(Window::D3).round_dp(4), dec!(0.0864));
        assert_eq!(tokens_only.alert, None);
        let daily: Vec<DailyTotal> = (10..=17).map(|n| ce_day(n, dec!(20), false)).collect();
        let fb = tokens_only.with_ce_daily(&daily);
        // June 15–17 (the 18th is today): $60 over 72 h ÷ ($500 / 720 h) = 1.2.
        assert_eq!(fb.windows[4].cost, dec!(60));
        assert_eq!(fb.rate(Window::D3).round_dp(6), dec!(1.2));
        assert_eq!(fb.rate(Window::H6).round_dp(3), dec!(1.037));
        assert_eq!(fb.alert, Some(FastBurnAlert::Ticket));
        assert_eq!(
            fb.long_window,
            LongWindow::CostExplorer {
                days: [15, 16, 17].map(|n| ce_day(n, dec!(0), false).date).to_vec(),
                includes_estimated: false,
            }
        );
    }

    /// Audit: three stored days of `5e28` each panicked the hourly check ("Addition overflowed"), every
    /// run until the items expired. The sum is checked: the 3 d window keeps the token cost and says why.
    #[test]
    fn totals_that_overflow_their_sum_leave_the_token_cost_not_a_panic() {
        let tokens_only = run(&[series(360, 20_000.0)]);
        let huge = dec!(50000000000000000000000000000);
        let daily: Vec<DailyTotal> = (15..=17).map(|n| ce_day(n, huge, false)).collect();
        let fb = tokens_only.clone().with_ce_daily(&daily);
        assert_eq!(fb.windows[4], tokens_only.windows[4]);
        let why = fb.long_window.describe();
        assert!(
            matches!(fb.long_window, LongWindow::BedrockTokens { .. })
                && why.contains("2025-06-15, 2025-06-16, 2025-06-17"),
            "{why}"
        );
        assert_eq!(fb.alert, tokens_only.alert);
    }

    /// On the 1st of a 31-day month the window's days are the 30-day month's before: each is held to
    /// its own month's daily allowance ($1,500 / 30 = $50), not the new month's ($48.39).
    #[test]
    fn the_3d_window_holds_each_day_to_its_own_months_allowance() {
        let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
        let daily: Vec<DailyTotal> = (28..=30)
            .map(|n| DailyTotal {
                date: d(11, n),
                amount: dec!(50),
                estimated: false,
            })
            .collect();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let fb = fast_burn(
            crate::pricing::PriceTable::bundled().unwrap(),
            &[],
            dec!(1500),
            now,
            &Default::default(),
        )
        .with_ce_daily(&daily);
        assert_eq!(fb.rate(Window::D3).round_dp(9), Decimal::ONE);
    }

    /// "1.0 spends the allowance exactly by month end": a budget spent at exactly each month's own
    /// hourly allowance reads 1× in every window, also in one that crosses into a month of another
    /// length. Half an hour into March the 6 h window is 5 h 35 min of February and 25 min of March, each
    /// part held to its own month's `B/(D·24)`. February has 28 days (2026) and 29 (2028, a leap year);
    /// Sonnet input tokens cost $3 per million, so 31,000 tokens per 5 minutes is $1.116 an hour: February's
    /// allowance when `B = 1.116 × 24 × D_feb`, which over March's 744 hours is `D_feb × 1,000` tokens per
    /// 5 minutes.
    #[test]
    fn windows_across_a_month_boundary_hold_each_part_to_its_own_months_allowance() {
        for (year, feb_days) in [(2026, 28u32), (2028, 29)] {
            let march_1 = Utc.with_ymd_and_hms(year, 3, 1, 0, 0, 0).unwrap();
            let as_of = march_1 + Duration::minutes(30);
            let until = complete_until(as_of);
            assert_eq!(until, march_1 + Duration::minutes(25));
            let budget = dec!(1.116) * Decimal::from(24 * feb_days);
            let steady = (1..=Window::D3.minutes() / 5).fold(
                MetricSumSeries::new(BEDROCK_NAMESPACE, "InputTokenCount")
                    .with_dimension(MODEL_ID_DIMENSION, SONNET),
                |s, k| {
                    let t = until - Duration::minutes(5 * k);
                    let tokens = if t < march_1 { 31_000 } else { feb_days * 1_000 };
                    s.with_point(t, f64::from(tokens))
                },
            );
            let fb = fast_burn(
                PriceTable::bundled().unwrap(),
                &[steady],
                budget,
                as_of,
                &BTreeMap::new(),
            );
            // 6 h: 67 February points at $0.093 and 5 March points at $feb_days·0.003.
            let h6 = dec!(67) * dec!(0.093) + dec!(5) * Decimal::from(feb_days) * dec!(0.003);
            assert_eq!(fb.windows[3].cost, h6, "{year}");
            for w in &fb.windows {
                assert_eq!(w.burn_rate.round_dp(12), Decimal::ONE, "{year} {:?}", w.window);
            }
            assert_eq!(fb.alert, Some(FastBurnAlert::Ticket), "{year}: 3 d and 6 h at 1×");
        }
    }

    /// The three most recent days before today (partial, dropped) are the window, `Estimated` or not
    /// (flagged then): a spike of the last days is what a burn window is for, and final days a week
    /// old would hide it. With fewer than three days of totals, the 3 d window stays on the token
    /// cost and says why.
    #[test]
    fn the_3d_window_takes_the_latest_days_flags_estimates_then_falls_back() {
        let d = |n| NaiveDate::from_ymd_opt(2025, 6, n).unwrap();
        // Today (18th) huge: dropped; 16–17 estimated and huge: in the window with the 15th.
        let mut daily: Vec<DailyTotal> = (12..=15).map(|n| ce_day(n, dec!(10), false)).collect();
        daily.extend([
            ce_day(16, dec!(900), true),
            ce_day(17, dec!(900), true),
            ce_day(18, dec!(900), false),
        ]);
        let fb = run(&[]).with_ce_daily(&daily);
        assert_eq!(fb.windows[4].cost, dec!(1810));
        assert_eq!(
            fb.long_window,
            LongWindow::CostExplorer {
                days: vec![d(15), d(16), d(17)],
                includes_estimated: true
            }
        );
        // All final: not flagged.
        let settled: Vec<DailyTotal> = (12..=17).map(|n| ce_day(n, dec!(10), false)).collect();
        let fb = run(&[]).with_ce_daily(&settled);
        assert_eq!(fb.windows[4].cost, dec!(30));
        assert!(matches!(
            &fb.long_window,
            LongWindow::CostExplorer {
                includes_estimated: false,
                ..
            }
        ));
        // Days older than a week do not count as recent: only the open month's estimates remain.
        let estimated: Vec<DailyTotal> = [ce_day(1, dec!(10), false), ce_day(2, dec!(10), false)]
            .into_iter()
            .chain((14..=17).map(|n| ce_day(n, dec!(20), true)))
            .collect();
        let fb = run(&[]).with_ce_daily(&estimated);
        assert_eq!(fb.windows[4].cost, dec!(60));
        assert!(
            matches!(&fb.long_window, LongWindow::CostExplorer { days, includes_estimated: true } if days == &[d(15), d(16), d(17)]),
            "{:?}",
            fb.long_window
        );
        assert!(fb.long_window.describe().contains("Estimated days included"));
        // Two days in the week before: not enough; the token cost stays, and the reason is given.
        let tokens = run(&[series(360, 100_000.0)]);
        let fb = tokens.clone().with_ce_daily(&estimated[4..]);
        assert_eq!(fb.windows[4], tokens.windows[4]);
        let why = fb.long_window.describe();
        assert!(
            why.starts_with("3d: Bedrock token cost from CloudWatch")
                && why.contains("totals for 2 of the 7 days before 2025-06-18"),
            "{why}"
        );
        // None at all (the daily run has not stored any yet): the same, with 0 days.
        assert!(
            run(&[])
                .with_ce_daily(&[])
                .long_window
                .describe()
                .contains("for 0 of the 7 days")
        );
    }

    #[test]
    fn unknown_models_and_future_points_are_not_priced() {
        let unknown = MetricSumSeries::new(BEDROCK_NAMESPACE, "InputTokenCount")
            .with_dimension(MODEL_ID_DIMENSION, "vendor.mystery-v9")
            .with_point(now() - Duration::minutes(5), 1e9);
        let future = series(0, 0.0).with_point(now(), 1e9);
        let fb = run(&[unknown, future]);
        assert_eq!(fb.unpriced_model_ids, vec!["vendor.mystery-v9".to_owned()]);
        assert!(fb.windows.iter().all(|w| w.cost.is_zero()));
    }

    /// A billion tokens of a model the price table does not know cost nothing in any window, so no
    /// rate can fire: the check raises a ticket naming it rather than report "no burn" (the cost
    /// anchors: alert on "an unknown model ID"). Priced tokens alongside keep their own alert.
    #[test]
    fn tokens_of_an_unpriced_model_raise_a_ticket() {
        let unknown = MetricSumSeries::new(BEDROCK_NAMESPACE, "InputTokenCount")
            .with_dimension(MODEL_ID_DIMENSION, "us.vendor.mystery-v9")
            .with_point(complete_until(now()) - Duration::minutes(5), 1e9);
        let fb = run(std::slice::from_ref(&unknown));
        assert_eq!(fb.alert, Some(FastBurnAlert::Ticket));
        assert_eq!(fb.priced_alert(), None);
        assert!(fb.alerts_only_for_unpriced());
        // The daily totals do not clear it: the model is still unpriced.
        assert_eq!(fb.with_ce_daily(&[]).alert, Some(FastBurnAlert::Ticket));
        // With a priced fast burn beside it, the page stands.
        let fb = run(&[unknown, series(60, 2e6)]);
        assert_eq!(fb.alert, Some(FastBurnAlert::PageFast));
        assert!(!fb.alerts_only_for_unpriced());
        // And no tokens of it at all: nothing.
        assert_eq!(run(&[series(0, 0.0)]).alert, None);
    }
}
