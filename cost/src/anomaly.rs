//! Spend anomalies per service, and cost hygiene.
//!
//! **Anomalies**: a service's spend on day `t` is compared with a per-weekday trailing baseline: the same
//! weekday over the previous [`AnomalyConfig::weeks`] weeks (`t−7, t−14, …`), never `t` itself. With fewer
//! than [`AnomalyConfig::min_weekday_samples`] such days, the baseline falls back to the previous
//! [`AnomalyConfig::fallback_days`] days (the s3u/aws-cost-anomalies rule). `z = (x − mean)/s` with the
//! sample standard deviation `s` (n − 1). When `s` ≈ 0 (< $0.01) the z-score is ±10 if the jump exceeds the
//! dollar floor, else 0. A day is flagged only when `|z| ≥ 2` **and** `|x − mean| ≥` the dollar floor, so a
//! $1/day dev account does not page. Severity: 2.0 low, 2.5 medium, 3.0 high. Drops on days CE still
//! marks `Estimated` are ignored unless [`AnomalyConfig::drops_on_estimated_days`] (CE lag); the daily
//! report ([`daily_anomalies`]) reads spikes on yesterday and drops two days back, when the lag is over.
//!
//! **Hygiene**: the share of spend whose `Environment` tag is empty (`Environment$`), and Bedrock
//! Marketplace service names the price table does not map to a model.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use rust_decimal::{Decimal, MathematicalOps};
use serde::{Deserialize, Serialize};

use crate::input::DailyCostTable;
use crate::pricing::{PriceTable, is_bedrock_service};

/// Standard deviations below this (USD) count as zero.
pub const STD_EPSILON: Decimal = Decimal::from_parts(1, 0, 0, false, 2);
/// The z-score used when the baseline is flat and the jump exceeds the floor.
pub const FLAT_BASELINE_Z: Decimal = Decimal::TEN;

/// Default `|z|` from which a day is a low anomaly (and flagged at all).
pub const Z_LOW: Decimal = Decimal::from_parts(20, 0, 0, false, 1);
/// Default `|z|` from which an anomaly is medium.
pub const Z_MEDIUM: Decimal = Decimal::from_parts(25, 0, 0, false, 1);
/// Default `|z|` from which an anomaly is high.
pub const Z_HIGH: Decimal = Decimal::from_parts(30, 0, 0, false, 1);

/// Anomaly detection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnomalyConfig {
    /// Smallest absolute dollar jump that can be an anomaly.
    pub min_dollar_delta: Decimal,
    /// Weeks of same-weekday history in the baseline.
    pub weeks: u32,
    /// Fewest same-weekday samples before falling back to the trailing window.
    pub min_weekday_samples: usize,
    /// Days in the fallback trailing window.
    pub fallback_days: u32,
    /// Whether drops are reported on days CE still marks `Estimated`. Off by default: a half-booked
    /// day (CE lags up to 24 h) reads as a drop that is not real. Spikes on such days are real (the
    /// estimate is a lower bound) and always reported.
    pub drops_on_estimated_days: bool,
    /// `|z|` at or above which a day is low / medium / high.
    pub z_low: Decimal,
    /// Medium threshold.
    pub z_medium: Decimal,
    /// High threshold.
    pub z_high: Decimal,
}

impl AnomalyConfig {
    /// Defaults with a given dollar floor (e.g. $5 for prod, $2 for dev).
    ///
    /// ```
    /// let c = cost::anomaly::AnomalyConfig::with_floor(rust_decimal::Decimal::from(5));
    /// assert_eq!(c.weeks, 4);
    /// ```
    #[must_use]
    pub fn with_floor(min_dollar_delta: Decimal) -> Self {
        Self {
            min_dollar_delta,
            weeks: 4,
            min_weekday_samples: 3,
            fallback_days: 14,
            drops_on_estimated_days: false,
            z_low: Z_LOW,
            z_medium: Z_MEDIUM,
            z_high: Z_HIGH,
        }
    }
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self::with_floor(Decimal::from(5))
    }
}

/// How severe an anomaly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalySeverity {
    /// `|z| ≥ 2.0`.
    Low,
    /// `|z| ≥ 2.5`.
    Medium,
    /// `|z| ≥ 3.0`.
    High,
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Above the baseline.
    Spike,
    /// Below the baseline (a stopped pipeline shows up here).
    Drop,
}

/// Which baseline was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Baseline {
    /// The same weekday in previous weeks.
    SameWeekday {
        /// Samples used.
        samples: usize,
    },
    /// The previous days (fallback).
    Trailing {
        /// Samples used.
        samples: usize,
    },
}

impl Baseline {
    /// `same weekday ×4` or `trailing ×9`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::SameWeekday { samples } => format!("same weekday ×{samples}"),
            Self::Trailing { samples } => format!("trailing ×{samples}"),
        }
    }
}

/// One flagged service-day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    /// CE service.
    pub service: String,
    /// The day.
    pub date: NaiveDate,
    /// Spend that day.
    pub amount: Decimal,
    /// Baseline mean.
    pub baseline_mean: Decimal,
    /// Baseline sample standard deviation.
    pub baseline_std: Decimal,
    /// The z-score.
    pub z: Decimal,
    /// `amount − baseline_mean`.
    pub delta: Decimal,
    /// Severity.
    pub severity: AnomalySeverity,
    /// Spike or drop.
    pub direction: Direction,
    /// Which baseline.
    pub baseline: Baseline,
    /// Whether CE marked the day estimated.
    pub estimated: bool,
}

/// Mean and sample standard deviation (`None` with fewer than 2 values).
#[must_use]
pub fn mean_and_sample_std(values: &[Decimal]) -> Option<(Decimal, Decimal)> {
    if values.len() < 2 {
        return None;
    }
    let n = Decimal::from(values.len());
    // Checked arithmetic: absurd inputs give no baseline instead of an overflow panic.
    let sum = values
        .iter()
        .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(*v))?;
    let mean = sum.checked_div(n)?;
    let ss = values.iter().try_fold(Decimal::ZERO, |acc, v| {
        let dev = v.checked_sub(mean)?;
        acc.checked_add(dev.checked_mul(dev)?)
    })?;
    let var = ss.checked_div(n - Decimal::ONE)?;
    Some((mean, var.sqrt().unwrap_or_default()))
}

/// The z-score of `x` against `(mean, std)` with the flat-baseline rule.
///
/// ```
/// use rust_decimal::Decimal;
/// // Flat $1/day baseline, $9 day, $5 floor → +10.
/// assert_eq!(cost::anomaly::z_score(Decimal::from(9), Decimal::ONE, Decimal::ZERO, Decimal::from(5)), Decimal::TEN);
/// ```
#[must_use]
pub fn z_score(x: Decimal, mean: Decimal, std: Decimal, min_dollar_delta: Decimal) -> Decimal {
    let delta = x.saturating_sub(mean);
    if std < STD_EPSILON {
        if delta.abs() >= min_dollar_delta && !delta.is_zero() {
            if delta > Decimal::ZERO {
                FLAT_BASELINE_Z
            } else {
                -FLAT_BASELINE_Z
            }
        } else {
            Decimal::ZERO
        }
    } else {
        // `std ≥ STD_EPSILON`: only a delta near the decimal range overflows; as far off as can be.
        delta.checked_div(std).unwrap_or(if delta.is_sign_negative() {
            Decimal::MIN
        } else {
            Decimal::MAX
        })
    }
}

fn value_on(
    days: &BTreeMap<NaiveDate, bool>,
    series: &BTreeMap<NaiveDate, Decimal>,
    d: NaiveDate,
) -> Option<Decimal> {
    // A day CE returned without a row for this service is a real $0; a day CE did not return is unknown.
    days.contains_key(&d)
        .then(|| series.get(&d).copied().unwrap_or_default())
}

/// The anomalies the daily report of `today` shows: **spikes on yesterday** (a half-booked day's spend is a
/// lower bound, so a spike is already real) and **drops two days back**, once Cost Explorer's lag (up to
/// 24 h) has passed — whether or not that day is still `Estimated`, as every day of an open month is. With
/// [`AnomalyConfig::drops_on_estimated_days`], drops are read on yesterday too, instead. Each day is
/// examined once for each direction, so a drop is reported once, a day later than a spike.
#[must_use]
pub fn daily_anomalies(ce: &DailyCostTable, today: NaiveDate, cfg: &AnomalyConfig) -> Vec<Anomaly> {
    let yesterday = today - Duration::days(1);
    let mut out = detect_anomalies(ce, yesterday, cfg);
    if !cfg.drops_on_estimated_days {
        out.retain(|a| a.direction == Direction::Spike);
        let settled = AnomalyConfig {
            drops_on_estimated_days: true,
            ..cfg.clone()
        };
        out.extend(
            detect_anomalies(ce, yesterday - Duration::days(1), &settled)
                .into_iter()
                .filter(|a| a.direction == Direction::Drop),
        );
        // One order for both days, as `detect_anomalies` sorts one: a high drop before a low spike.
        out.sort_by(by_severity);
    }
    out
}

/// High first, then the larger jump, then the service name.
fn by_severity(a: &Anomaly, b: &Anomaly) -> std::cmp::Ordering {
    b.severity
        .cmp(&a.severity)
        .then_with(|| b.delta.abs().cmp(&a.delta.abs()))
        .then_with(|| a.service.cmp(&b.service))
}

/// Flags anomalous service spend on `day`. Sorted by severity (high first), then `|delta|`.
///
/// ```
/// use chrono::{Duration, NaiveDate};
/// use cost::input::DailyCostTable;
/// use rust_decimal::Decimal;
/// let day = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
/// let mut t = DailyCostTable::default();
/// for w in 1..=4 { t = t.with_row(day - Duration::days(7 * w), "AWS Lambda", Decimal::from(10 + w), false); }
/// t = t.with_row(day, "AWS Lambda", Decimal::from(60), false);
/// let a = cost::anomaly::detect_anomalies(&t, day, &cost::anomaly::AnomalyConfig::default());
/// assert_eq!(a[0].service, "AWS Lambda");
/// ```
#[must_use]
pub fn detect_anomalies(ce: &DailyCostTable, day: NaiveDate, cfg: &AnomalyConfig) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (service, series) in ce.by_service_day() {
        let Some(x) = value_on(&ce.days, &series, day) else {
            continue;
        };
        let weekday: Vec<Decimal> = (1..=i64::from(cfg.weeks))
            .filter_map(|w| value_on(&ce.days, &series, day - Duration::days(7 * w)))
            .collect();
        let (values, baseline) = if weekday.len() >= cfg.min_weekday_samples.max(2) {
            let n = weekday.len();
            (weekday, Baseline::SameWeekday { samples: n })
        } else {
            let trailing: Vec<Decimal> = (1..=i64::from(cfg.fallback_days))
                .filter_map(|k| value_on(&ce.days, &series, day - Duration::days(k)))
                .collect();
            let n = trailing.len();
            (trailing, Baseline::Trailing { samples: n })
        };
        let Some((mean, std)) = mean_and_sample_std(&values) else {
            continue;
        };
        let delta = x.saturating_sub(mean);
        let z = z_score(x, mean, std, cfg.min_dollar_delta);
        let estimated = ce.days.get(&day).copied().unwrap_or(false);
        if delta.abs() < cfg.min_dollar_delta
            || z.abs() < cfg.z_low
            || (delta < Decimal::ZERO && estimated && !cfg.drops_on_estimated_days)
        {
            continue;
        }
        let severity = if z.abs() >= cfg.z_high {
            AnomalySeverity::High
        } else if z.abs() >= cfg.z_medium {
            AnomalySeverity::Medium
        } else {
            AnomalySeverity::Low
        };
        out.push(Anomaly {
            service,
            date: day,
            amount: x,
            baseline_mean: mean,
            baseline_std: std,
            z,
            delta,
            severity,
            direction: if delta > Decimal::ZERO {
                Direction::Spike
            } else {
                Direction::Drop
            },
            baseline,
            estimated,
        });
    }
    out.sort_by(by_severity);
    out
}

/// The sum of `amounts`, saturating, not `sum()`: rows read back from the ledger are range-checked, but
/// a table built otherwise must not panic the report (`DailyCostTable`'s own sums saturate too).
fn saturating_sum(amounts: impl Iterator<Item = Decimal>) -> Decimal {
    amounts.fold(Decimal::ZERO, Decimal::saturating_add)
}

/// `100 · untagged / total` (divided first when `100 · untagged` does not fit), or 0 without spend.
fn share_pct(untagged: Decimal, total: Decimal) -> Decimal {
    untagged
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|x| x.checked_div(total))
        .or_else(|| untagged.checked_div(total)?.checked_mul(Decimal::ONE_HUNDRED))
        .unwrap_or_default()
}

/// Untagged spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UntaggedShare {
    /// Spend with an empty `Environment` tag.
    pub untagged: Decimal,
    /// All spend.
    pub total: Decimal,
    /// `100 · untagged / total`.
    pub share_pct: Decimal,
}

impl UntaggedShare {
    /// The share of `untagged` in `total` (capped at `total`): for a source that knows the untagged
    /// spend without knowing it per row (an organisation's per-account figure).
    #[must_use]
    pub fn of(untagged: Decimal, total: Decimal) -> Self {
        let untagged = untagged.max(Decimal::ZERO).min(total.max(Decimal::ZERO));
        Self {
            untagged,
            total,
            share_pct: share_pct(untagged, total),
        }
    }
}

/// Cost hygiene findings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Hygiene {
    /// Untagged share; `None` when CE was not grouped by the `Environment` tag.
    pub untagged: Option<UntaggedShare>,
    /// Bedrock service names the price table does not map, with their spend (largest first).
    pub unmapped_bedrock_services: Vec<(String, Decimal)>,
}

/// Hygiene over `[start, end)`.
///
/// ```
/// use chrono::NaiveDate;
/// use cost::input::DailyCostTable;
/// let d = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
/// let t = DailyCostTable::default().with_row(d, "Claude Opus 9 (Amazon Bedrock Edition)", 3.into(), false);
/// let h = cost::anomaly::hygiene(&t, d, d.succ_opt().unwrap(), cost::pricing::PriceTable::bundled().unwrap());
/// assert_eq!(h.unmapped_bedrock_services.len(), 1);
/// assert!(h.untagged.is_none());
/// ```
#[must_use]
pub fn hygiene(ce: &DailyCostTable, start: NaiveDate, end: NaiveDate, table: &PriceTable) -> Hygiene {
    let rows = || ce.rows.iter().filter(|r| r.date >= start && r.date < end);
    let untagged = ce.has_environment_tag().then(|| {
        let total = saturating_sum(rows().map(|r| r.amount));
        let untagged = saturating_sum(
            rows()
                .filter(|r| r.environment.as_deref() == Some(""))
                .map(|r| r.amount),
        );
        UntaggedShare {
            untagged,
            total,
            share_pct: share_pct(untagged, total),
        }
    });
    let mut unmapped: Vec<(String, Decimal)> = ce
        .service_totals(start, end)
        .into_iter()
        .filter(|(s, _)| is_bedrock_service(s) && table.models_billed_as(s).is_empty())
        .collect();
    unmapped.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Hygiene {
        untagged,
        unmapped_bedrock_services: unmapped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::CostRow;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn d(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, n).unwrap()
    }

    /// 29 days of history ending on June 29, Mondays (2, 9, 16, 23) busier.
    fn history(service: &str, weekday_amounts: [Decimal; 4], other: Decimal) -> DailyCostTable {
        let mondays = [2, 9, 16, 23];
        (1..=29).fold(DailyCostTable::default(), |t, n| {
            let amount = mondays
                .iter()
                .position(|m| *m == n)
                .map_or(other, |i| weekday_amounts[i]);
            t.with_row(d(n), service, amount, false)
        })
    }

    #[test]
    fn sample_std_hand_computed() {
        // 10, 12, 14, 16: mean 13, ss = 9+1+1+9 = 20, var = 20/3, s = 2.5820
        let (m, s) = mean_and_sample_std(&[dec!(10), dec!(12), dec!(14), dec!(16)]).unwrap();
        assert_eq!(m, dec!(13));
        assert_eq!(s.round_dp(4), dec!(2.5820));
        assert!(mean_and_sample_std(&[dec!(1)]).is_none());
        assert!(
            mean_and_sample_std(&[Decimal::MAX, Decimal::MIN]).is_none(),
            "overflow is None, not a panic"
        );
    }

    #[test]
    fn weekday_baseline_ignores_quiet_days_and_excludes_the_day() {
        // Mondays 10/12/14/16, other days $1. Monday June 30 at $21: z = (21 − 13)/2.582 = 3.098 → high.
        let t = history("AWS Lambda", [dec!(10), dec!(12), dec!(14), dec!(16)], dec!(1)).with_row(
            d(30),
            "AWS Lambda",
            dec!(21),
            false,
        );
        let a = detect_anomalies(&t, d(30), &AnomalyConfig::default());
        assert_eq!(a.len(), 1);
        let a = &a[0];
        assert_eq!(a.baseline, Baseline::SameWeekday { samples: 4 });
        assert_eq!(a.baseline_mean, dec!(13));
        assert_eq!(a.z.round_dp(3), dec!(3.098));
        assert_eq!(a.severity, AnomalySeverity::High);
        assert_eq!(a.direction, Direction::Spike);
        assert_eq!(a.delta, dec!(8));
        // A normal Monday ($14) is not flagged although it is 14× a normal day.
        let t = history("AWS Lambda", [dec!(10), dec!(12), dec!(14), dec!(16)], dec!(1)).with_row(
            d(30),
            "AWS Lambda",
            dec!(14),
            false,
        );
        assert!(detect_anomalies(&t, d(30), &AnomalyConfig::default()).is_empty());
    }

    #[test]
    fn dollar_floor_keeps_small_accounts_quiet() {
        // Dev: $1/day flat, then $4: z = +10 by the flat rule, but the $3 jump is under the $5 floor.
        let t = history("AWS Lambda", [dec!(1); 4], dec!(1)).with_row(d(30), "AWS Lambda", dec!(4), false);
        assert!(detect_anomalies(&t, d(30), &AnomalyConfig::default()).is_empty());
        let a = detect_anomalies(&t, d(30), &AnomalyConfig::with_floor(dec!(2)));
        assert_eq!(a[0].z, dec!(10));
        assert_eq!(a[0].baseline_std, Decimal::ZERO);
    }

    #[test]
    fn short_history_falls_back_to_trailing_days() {
        // 10 days of history: only one same-weekday sample → trailing 14 days (9 samples, all $2).
        let t = (21..=29)
            .fold(DailyCostTable::default(), |t, n| {
                t.with_row(d(n), "Amazon Rekognition", dec!(2), false)
            })
            .with_row(d(30), "Amazon Rekognition", dec!(0), true);
        // June 30 is estimated: the drop is ignored by default (CE lag), reported when asked for.
        assert!(detect_anomalies(&t, d(30), &AnomalyConfig::with_floor(dec!(1))).is_empty());
        let cfg = AnomalyConfig {
            drops_on_estimated_days: true,
            ..AnomalyConfig::with_floor(dec!(1))
        };
        let a = detect_anomalies(&t, d(30), &cfg);
        assert_eq!(a[0].baseline, Baseline::Trailing { samples: 9 });
        assert_eq!(a[0].direction, Direction::Drop);
        assert_eq!(a[0].z, dec!(-10));
        assert!(a[0].estimated);
    }

    /// Every day of an open month is `Estimated`: a stopped pipeline is still reported — as a drop two
    /// days back, once — and yesterday's half-booked dip is not.
    #[test]
    fn the_daily_report_shows_a_drop_two_days_back_once() {
        // June 1–27 at $10 a day, then $0 from June 28 on; every day estimated (an open month).
        let t = (1..=30).fold(DailyCostTable::default(), |t, n| {
            let v = if n < 28 { dec!(10) } else { dec!(0) };
            t.with_row(d(n), "Amazon Bedrock", v, true)
        });
        let cfg = AnomalyConfig::with_floor(dec!(5));
        // The report of June 29: yesterday (June 28) is too fresh for a drop.
        assert!(daily_anomalies(&t, d(29), &cfg).is_empty());
        // June 30: June 28's drop, once.
        let a = daily_anomalies(&t, d(30), &cfg);
        assert_eq!(a.len(), 1, "{a:?}");
        assert_eq!((a[0].date, a[0].direction), (d(28), Direction::Drop));
        // Spikes are read on yesterday, and a drop is not reported again on a later day.
        let spike = t.clone().with_row(d(29), "Amazon Bedrock", dec!(40), true);
        let a = daily_anomalies(&spike, d(30), &cfg);
        assert!(
            a.iter()
                .any(|x| x.date == d(29) && x.direction == Direction::Spike),
            "{a:?}"
        );
        assert!(a.iter().all(|x| x.date != d(27)));
        // Asked for drops on estimated days: read on yesterday instead.
        let eager = AnomalyConfig {
            drops_on_estimated_days: true,
            ..cfg
        };
        let a = daily_anomalies(&t, d(29), &eager);
        assert_eq!((a[0].date, a[0].direction), (d(28), Direction::Drop));
    }

    #[test]
    fn missing_service_row_on_a_returned_day_is_zero() {
        // Service absent on June 30 while CE returned the day: a $0 drop.
        let t = history("AWS Lambda", [dec!(20), dec!(21), dec!(19), dec!(20)], dec!(20)).with_row(
            d(30),
            "Amazon S3",
            dec!(0.1),
            false,
        );
        let a = detect_anomalies(&t, d(30), &AnomalyConfig::default());
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].amount, Decimal::ZERO);
        assert_eq!(a[0].direction, Direction::Drop);
    }

    #[test]
    fn untagged_share_and_unmapped_marketplace_lines() {
        let mut t = DailyCostTable::default();
        for (service, env, amount) in [
            ("AWS Lambda", "prod", dec!(6)),
            ("AWS Lambda", "", dec!(2)),
            ("Claude 3.5 Sonnet (Amazon Bedrock Edition)", "prod", dec!(10)),
            ("Claude Sonnet 4 (Amazon Bedrock Edition)", "", dec!(2)),
        ] {
            t.days.insert(d(1), false);
            t.rows.push(CostRow {
                date: d(1),
                service: service.into(),
                environment: Some(env.into()),
                amount,
                estimated: false,
            });
        }
        let h = hygiene(&t, d(1), d(2), PriceTable::bundled().unwrap());
        let u = h.untagged.unwrap();
        assert_eq!((u.untagged, u.total, u.share_pct), (dec!(4), dec!(20), dec!(20)));
        assert_eq!(
            h.unmapped_bedrock_services,
            vec![("Claude Sonnet 4 (Amazon Bedrock Edition)".into(), dec!(2))]
        );
    }

    /// Audit: three stored days of `5e28` (a tampered ledger) panicked the daily report in `hygiene`'s
    /// `sum()` ("Addition overflowed"). The sums saturate, the share is computed or 0: no panic.
    #[test]
    fn hygiene_and_anomalies_on_amounts_that_overflow_never_panic() {
        let huge = dec!(50000000000000000000000000000);
        let mut t = DailyCostTable::default();
        for n in 1..=3 {
            for env in ["prod", ""] {
                t = t.with_tagged_row(d(n), "Amazon Rekognition", env, huge, false);
            }
        }
        let h = hygiene(&t, d(1), d(4), PriceTable::bundled().unwrap());
        let u = h.untagged.unwrap();
        assert_eq!(
            (u.untagged, u.total, u.share_pct),
            (Decimal::MAX, Decimal::MAX, dec!(100))
        );
        assert_eq!(UntaggedShare::of(Decimal::MAX, Decimal::MAX).share_pct, dec!(100));
        let spiky = history("AWS Lambda", [Decimal::MIN; 4], Decimal::MIN).with_row(
            d(30),
            "AWS Lambda",
            Decimal::MAX,
            false,
        );
        let _ = detect_anomalies(&spiky, d(30), &AnomalyConfig::default());
        assert_eq!(
            z_score(Decimal::MAX, Decimal::MIN, dec!(0.5), Decimal::ONE),
            Decimal::MAX
        );
    }

    proptest! {
        #[test]
        fn nothing_under_the_floor_is_ever_flagged(
            hist in proptest::collection::vec(0u32..500, 29), today in 0u32..500, floor in 1u32..20,
        ) {
            let t = hist.iter().enumerate().fold(DailyCostTable::default(), |t, (i, c)| {
                t.with_row(d(u32::try_from(i).unwrap() + 1), "svc", Decimal::new(i64::from(*c), 2), false)
            }).with_row(d(30), "svc", Decimal::new(i64::from(today), 2), false);
            for a in detect_anomalies(&t, d(30), &AnomalyConfig::with_floor(Decimal::from(floor))) {
                prop_assert!(a.delta.abs() >= Decimal::from(floor));
                prop_assert!(a.z.abs() >= dec!(2));
            }
        }
    }
}
