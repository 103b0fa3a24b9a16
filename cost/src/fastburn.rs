//! The fast path: multi-window burn rates of Bedrock spend from `AWS/Bedrock` token metrics alone (no
//! Cost Explorer), for the hourly check. CloudWatch token metrics are minutes old; CE is up to a day
//! late (reference `cost-anchors.md` §0.4 and §4).
//!
//! Burn rate over a window `w` = `(token cost in [until − w, until) / hours(w)) ÷ (allowance / hours in
//! the month)`: 1.0 spends the allowance exactly by month end. Alert rules (Google SRE Workbook,
//! "Alerting on SLOs", adapted to budgets):
//! - **page** when the 1 h **and** 5 min rates are ≥ 14.4 (2 % of the month's allowance in an hour);
//! - **page** when the 6 h **and** 30 min rates are ≥ 6 (5 % in six hours);
//! - **ticket** when the 3 d **and** 6 h rates are ≥ 1.
//!
//! The short windows need fine data: query `GetMetricData` with `Period` 60 or 300 s. A datapoint
//! counts in a window when its timestamp (the start of its period) is inside it. The windows end at
//! [`complete_until`]`(as_of)`, the last 5-minute boundary at least a minute before `as_of`: CloudWatch
//! starts its periods at the query's start rounded down to the minute, so a window ending at `as_of`
//! itself (13:00:02) would hold, as its 5 minutes, only the period still being written (13:00:00 on),
//! and a period that just closed may still be missing its last minute of data.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::burn::MonthPeriod;
use crate::input::MetricSumSeries;
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
    /// Model ids with tokens but no price (not in any cost).
    pub unpriced_model_ids: Vec<String>,
}

impl FastBurn {
    /// The burn rate of one window.
    #[must_use]
    pub fn rate(&self, window: Window) -> Decimal {
        self.windows
            .iter()
            .find(|w| w.window == window)
            .map_or(Decimal::ZERO, |w| w.burn_rate)
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
/// the share of it Bedrock may use).
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
    let month_hours = Decimal::from(MonthPeriod::containing(as_of.date_naive()).days()) * Decimal::from(24);
    let allowed_per_hour = monthly_allowance.checked_div(month_hours).unwrap_or_default();
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
            let hours = Decimal::from(w.minutes()) / Decimal::from(60);
            let burn_rate = (cost / hours).checked_div(allowed_per_hour).unwrap_or_default();
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
    };
    let both = |a: Window, b: Window, x: Decimal| fb.rate(a) >= x && fb.rate(b) >= x;
    fb.alert = if both(Window::H1, Window::M5, Decimal::new(144, 1)) {
        Some(FastBurnAlert::PageFast)
    } else if both(Window::H6, Window::M30, Decimal::from(6)) {
        Some(FastBurnAlert::PageSlow)
    } else if both(Window::D3, Window::H6, Decimal::ONE) {
        Some(FastBurnAlert::Ticket)
    } else {
        None
    };
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
}
