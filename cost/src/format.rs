//! Formatting shared by the Slack, terminal and SNS renderings: money, percentages, Unicode sparklines
//! and character-safe truncation.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::burn::Tier;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `$1,234.57`: two decimals, thousands separators, `-$3.00` for negatives.
///
/// ```
/// use rust_decimal::Decimal;
/// assert_eq!(cost::format::usd(Decimal::new(123_456_789, 3)), "$123,456.79");
/// assert_eq!(cost::format::usd(Decimal::new(-3, 0)), "-$3.00");
/// ```
#[must_use]
pub fn usd(amount: Decimal) -> String {
    usd_dp(amount, 2)
}

/// `value` to `dp` decimals as every figure here is printed: halves away from zero (`12.25` → `12.3`;
/// `rust_decimal`'s `round_dp` would give `12.2`). Figures kept rounded (the organisation roll-up's)
/// round the same way, so one amount never reads two ways.
///
/// ```
/// use rust_decimal::Decimal;
/// assert_eq!(cost::format::rounded(Decimal::new(1225, 2), 1), Decimal::new(123, 1));
/// assert_eq!(cost::format::rounded(Decimal::new(-10_125, 3), 2), Decimal::new(-1013, 2));
/// ```
#[must_use]
pub fn rounded(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// `parts` in cents that add up to their total in cents (largest remainder: each part rounded down,
/// then a cent each to the parts that lost the most), so lines printed under a total sum to it.
/// Parts of mixed signs are rounded one by one ([`rounded`]).
///
/// ```
/// use rust_decimal::Decimal;
/// let part = Decimal::new(1005, 3); // $1.005
/// // Each alone prints $1.01; together they are $2.01.
/// assert_eq!(cost::format::cents_summing(&[part, part]), [Decimal::new(101, 2), Decimal::new(100, 2)]);
/// ```
#[must_use]
pub fn cents_summing(parts: &[Decimal]) -> Vec<Decimal> {
    if parts.iter().any(|p| p.is_sign_negative() && !p.is_zero()) {
        return parts.iter().map(|p| rounded(*p, 2)).collect();
    }
    let total: Decimal = parts
        .iter()
        .copied()
        .fold(Decimal::ZERO, |a, p| a.saturating_add(p));
    let cent = Decimal::new(1, 2);
    let mut out: Vec<Decimal> = parts.iter().map(|p| p.trunc_with_scale(2)).collect();
    let floors: Decimal = out
        .iter()
        .copied()
        .fold(Decimal::ZERO, |a, p| a.saturating_add(p));
    let owed = ((rounded(total, 2) - floors) / cent).trunc();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    // Largest remainder first; ties to the earlier part (the list's order).
    order.sort_by(|&a, &b| (parts[b] - out[b]).cmp(&(parts[a] - out[a])).then(a.cmp(&b)));
    for &i in order
        .iter()
        .take(usize::try_from(owed.normalize().mantissa()).unwrap_or(0))
    {
        out[i] += cent;
    }
    out
}

/// Like [`usd`] with `dp` decimals (per-valuation figures use 5).
#[must_use]
pub fn usd_dp(amount: Decimal, dp: u32) -> String {
    let rounded = rounded(amount, dp);
    let neg = rounded.is_sign_negative() && !rounded.is_zero();
    let text = format!("{:.*}", dp as usize, rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if neg { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}${grouped}")
    } else {
        format!("{sign}${grouped}.{frac}")
    }
}

/// A change in money, always signed: `+$1,234.57`, `-$0.70`, `+$0.00` (a change that rounds to zero
/// is never `-$0.00`).
///
/// ```
/// use rust_decimal::Decimal;
/// assert_eq!(cost::format::signed_usd(Decimal::new(-70, 2)), "-$0.70");
/// assert_eq!(cost::format::signed_usd(Decimal::new(-4, 3)), "+$0.00");
/// assert_eq!(cost::format::signed_usd(Decimal::new(123_456_789, 3)), "+$123,456.79");
/// ```
#[must_use]
pub fn signed_usd(amount: Decimal) -> String {
    let text = usd(amount);
    if text.starts_with('-') {
        text
    } else {
        format!("+{text}")
    }
}

/// A percentage with one decimal: `62.5%` (never `-0.0%`).
#[must_use]
pub fn pct(value: Decimal) -> String {
    format!("{:.1}%", unsigned_zero(rounded(value, 1)))
}

/// A percentage of a budget with one decimal, as [`pct`], except that rounding never carries the
/// figure across a tier threshold: `79.96` (below the 80 % tier) reads `79.9%`, not `80.0%`, and
/// `150.04` (above the strict 150 % one) reads `150.1%`, not `150.0%` — a reader comparing the figure
/// with the thresholds sees the tier the report gives it.
///
/// ```
/// use rust_decimal::Decimal;
/// assert_eq!(cost::format::budget_pct(Decimal::new(7996, 2)), "79.9%");
/// assert_eq!(cost::format::budget_pct(Decimal::new(15004, 2)), "150.1%");
/// assert_eq!(cost::format::budget_pct(Decimal::new(6248, 2)), "62.5%");
/// ```
#[must_use]
pub fn budget_pct(value: Decimal) -> String {
    // Every tier but `Ok`, whose "threshold" (0) is no alert.
    let [_, tiers @ ..] = Tier::ALL;
    let shown = rounded_within(value, 1, |figure| tiers.map(|t| t.reached_by(figure)));
    format!("{:.1}%", unsigned_zero(shown))
}

/// A ratio with two decimals: `1.04×` (never `-0.00×`), except that rounding never carries a burn ratio
/// onto or across the warning (1.2, [`Tier::Pct120`]) or the critical (1.5, [`Tier::Pct150`]) ratio, as
/// [`budget_pct`] does for percentages. The anchors write "r ≥ 1.2", the tiers read it strictly (seed
/// 000's "> 120%"), and the figure reaches a threshold exactly when the ratio does under either
/// reading: `1.1996` (no warning) reads `1.19×`, not `1.20×`; `1.2001` reads `1.21×`; only 1.2 itself
/// reads `1.20×`. Ratios against the seed model share it: at most 0.01 off, as rounding is.
///
/// ```
/// use rust_decimal::Decimal;
/// assert_eq!(cost::format::ratio(Decimal::new(10_413, 4)), "1.04×");
/// assert_eq!(cost::format::ratio(Decimal::new(11_996, 4)), "1.19×");
/// assert_eq!(cost::format::ratio(Decimal::new(12, 1)), "1.20×");
/// assert_eq!(cost::format::ratio(Decimal::new(12_001, 4)), "1.21×");
/// ```
#[must_use]
pub fn ratio(value: Decimal) -> String {
    let [warning, critical] =
        [Tier::Pct120, Tier::Pct150].map(|t| Decimal::from(t.threshold_pct()) / Decimal::ONE_HUNDRED);
    let shown = rounded_within(value, 2, |r| {
        [r >= warning, r > warning, r >= critical, r > critical]
    });
    format!("{:.2}×", unsigned_zero(shown))
}

/// A fast-burn rate to `dp` decimals (1 or 2), without the `×`: it reaches 1, 6 and 14.4
/// ([`RATE_THRESHOLDS`](crate::fastburn::RATE_THRESHOLDS)) exactly when `value` does — 14.38 reads
/// `14.3` beside "page at 14.4×", not `14.4`.
///
/// ```
/// use rust_decimal_macros::dec;
/// assert_eq!(cost::format::burn_rate(dec!(14.38), 1), "14.3");
/// assert_eq!(cost::format::burn_rate(dec!(14.4), 1), "14.4");
/// assert_eq!(cost::format::burn_rate(dec!(5.996), 2), "5.99");
/// assert_eq!(cost::format::burn_rate(dec!(0.9999), 2), "0.99");
/// assert_eq!(cost::format::burn_rate(dec!(7.25), 1), "7.3");
/// ```
#[must_use]
pub fn burn_rate(value: Decimal, dp: u32) -> String {
    let shown = rounded_within(value, dp, |r| crate::fastburn::RATE_THRESHOLDS.map(|t| r >= t));
    format!("{:.*}", dp as usize, unsigned_zero(shown))
}

/// A reconciliation drift in percent with one decimal, signed as the drift is: its magnitude is over
/// `threshold_pct` exactly when the drift's is (a drift warns over the threshold, `|d| > t`), so 10.04
/// beside ±10 % reads `10.1%`, not `10.0%`, and exactly 10 reads `10.0%`.
///
/// ```
/// use rust_decimal_macros::dec;
/// assert_eq!(cost::format::drift_pct(dec!(10.04), dec!(10)), "10.1%");
/// assert_eq!(cost::format::drift_pct(dec!(-10.04), dec!(10)), "-10.1%");
/// assert_eq!(cost::format::drift_pct(dec!(10), dec!(10)), "10.0%");
/// assert_eq!(cost::format::drift_pct(dec!(12.34), dec!(10)), "12.3%");
/// ```
#[must_use]
pub fn drift_pct(value: Decimal, threshold_pct: Decimal) -> String {
    let shown = magnitude_within(value, 1, |d| [d > threshold_pct.abs()]);
    format!("{:.1}%", unsigned_zero(shown))
}

/// An anomaly's z-score to at most `dp` decimals (1 or 2), signed: its magnitude reaches the
/// severity thresholds ([`Z_LOW`](crate::anomaly::Z_LOW) 2.0, [`Z_MEDIUM`](crate::anomaly::Z_MEDIUM)
/// 2.5, [`Z_HIGH`](crate::anomaly::Z_HIGH) 3.0, the defaults every report uses, reached at the figure)
/// exactly when `value`'s does — 2.96, a medium anomaly, reads `2.9`, not `3.0` beside "Medium". A z
/// with fewer decimals keeps them: the flat-baseline rule's
/// [`FLAT_BASELINE_Z`](crate::anomaly::FLAT_BASELINE_Z) reads `10`.
///
/// ```
/// use rust_decimal_macros::dec;
/// assert_eq!(cost::format::z_score(dec!(2.96), 1), "2.9");
/// assert_eq!(cost::format::z_score(dec!(-2.96), 1), "-2.9");
/// assert_eq!(cost::format::z_score(dec!(3.0), 1), "3.0");
/// assert_eq!(cost::format::z_score(dec!(2.996), 2), "2.99");
/// assert_eq!(cost::format::z_score(dec!(3.098), 1), "3.1");
/// assert_eq!(cost::format::z_score(dec!(-10), 1), "-10");
/// ```
#[must_use]
pub fn z_score(value: Decimal, dp: u32) -> String {
    use crate::anomaly::{Z_HIGH, Z_LOW, Z_MEDIUM};
    let shown = magnitude_within(value, dp, |z| [Z_LOW, Z_MEDIUM, Z_HIGH].map(|t| z >= t));
    unsigned_zero(shown).to_string()
}

/// [`rounded_within`] for a signed figure whose thresholds apply to its magnitude (`|d|`, `|z|`):
/// the magnitude is rounded within them and the sign put back.
fn magnitude_within<const N: usize>(
    value: Decimal,
    dp: u32,
    reached: impl Fn(Decimal) -> [bool; N],
) -> Decimal {
    let shown = rounded_within(value.abs(), dp, reached);
    if value.is_sign_negative() { -shown } else { shown }
}

/// `value` [`rounded`] to `dp` decimals, then moved one step (`10^−dp`) back wherever rounding changed
/// one of the thresholds `reached` says a figure reaches: the figure shown reaches each exactly when
/// `value` does. Distinct thresholds must lie more than a step apart; one threshold read both ways
/// (`≥` and `>`) is fine, as rounding can carry the figure across only one of the two.
fn rounded_within<const N: usize>(
    value: Decimal,
    dp: u32,
    reached: impl Fn(Decimal) -> [bool; N],
) -> Decimal {
    let step = Decimal::new(1, dp);
    let wanted = reached(value);
    let mut shown = rounded(value, dp);
    for (i, want) in wanted.into_iter().enumerate() {
        match (want, reached(shown)[i]) {
            (false, true) => shown -= step,
            (true, false) => shown += step,
            _ => {}
        }
    }
    shown
}

/// A zero without its sign: a `Decimal` zero can carry a negative sign (`Decimal::from_str("-0.0")`, or a
/// negative value rounded to zero), and `Display` prints that sign.
fn unsigned_zero(d: Decimal) -> Decimal {
    if d.is_zero() { Decimal::ZERO } else { d }
}

/// An integer with thousands separators.
#[must_use]
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A Unicode sparkline, one bar per value, scaled between the series' min and max (a flat series is
/// drawn at the bottom, or mid-height when non-zero).
///
/// ```
/// use rust_decimal::Decimal;
/// let s = cost::format::sparkline(&[0, 1, 2, 3, 4, 5, 6, 7].map(Decimal::from));
/// assert_eq!(s, "▁▂▃▄▅▆▇█");
/// ```
#[must_use]
pub fn sparkline(values: &[Decimal]) -> String {
    let (Some(min), Some(max)) = (values.iter().min(), values.iter().max()) else {
        return String::new();
    };
    let span = max - min;
    values
        .iter()
        .map(|v| {
            if span.is_zero() {
                if v.is_zero() { BARS[0] } else { BARS[3] }
            } else {
                let idx = ((v - min) * Decimal::from(7) / span).round();
                BARS[usize::try_from(idx.mantissa()).unwrap_or(0).min(7)]
            }
        })
        .collect()
}

/// At most `max` characters (Unicode scalar values), ending with `…` when cut.
///
/// ```
/// assert_eq!(cost::format::truncate("abcdef", 4), "abc…");
/// assert_eq!(cost::format::truncate("abc", 4), "abc");
/// ```
#[must_use]
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Pads or cuts `s` to exactly `width` characters (left-aligned).
#[must_use]
pub fn fit(s: &str, width: usize) -> String {
    let t = truncate(s, width);
    let n = t.chars().count();
    format!("{t}{}", " ".repeat(width.saturating_sub(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_formats() {
        assert_eq!(usd(dec!(0)), "$0.00");
        assert_eq!(usd(dec!(312.4)), "$312.40");
        assert_eq!(usd(dec!(1000000)), "$1,000,000.00");
        assert_eq!(usd(dec!(-0.001)), "$0.00");
        assert_eq!(usd(dec!(0.005)), "$0.01");
        assert_eq!(usd_dp(dec!(0.00352), 5), "$0.00352");
        assert_eq!(usd_dp(dec!(12), 0), "$12");
        assert_eq!(pct(dec!(62.48)), "62.5%");
        assert_eq!(ratio(dec!(1.0413333)), "1.04×");
        // Values that round to zero print no sign (some rust_decimal versions print "-0.0" for them).
        assert_eq!(pct(dec!(-0.04)), "0.0%");
        assert_eq!(pct(dec!(-0.0)), "0.0%");
        assert_eq!(pct(dec!(-0.06)), "-0.1%");
        assert_eq!(ratio(dec!(-0.004)), "0.00×");
        assert_eq!(count(50_000), "50,000");
    }

    /// Each threshold, from both sides: the figure shown reaches a tier exactly when the value does
    /// (80 % and 100 % at the figure, 120 % and 150 % strictly above it).
    #[test]
    fn budget_percentages_never_round_across_a_threshold() {
        for (value, shown) in [
            (dec!(79.95), "79.9%"),
            (dec!(79.94), "79.9%"),
            (dec!(80), "80.0%"),
            (dec!(80.04), "80.0%"),
            (dec!(99.99), "99.9%"),
            (dec!(100.0), "100.0%"),
            (dec!(119.96), "120.0%"),
            (dec!(120), "120.0%"),
            (dec!(120.01), "120.1%"),
            (dec!(120.06), "120.1%"),
            (dec!(149.99), "150.0%"),
            (dec!(150.0001), "150.1%"),
            (dec!(152.34), "152.3%"),
            (dec!(0), "0.0%"),
            (dec!(-0.04), "0.0%"),
        ] {
            assert_eq!(budget_pct(value), shown, "{value}");
            let back: Decimal = shown.trim_end_matches('%').parse().unwrap();
            assert_eq!(
                crate::burn::Tier::from_pct(back),
                crate::burn::Tier::from_pct(value),
                "{value} shown as {shown}"
            );
        }
        assert_eq!(count(7), "7");
    }

    /// cost-anchors §4: "Warning = r ≥ 1.2 or P ≥ 1.2B; critical = r ≥ 1.5 or P ≥ 1.5B", which the tiers
    /// read strictly (seed 000's "> 120%", "> 150%"). A ratio printed with two decimals reaches a
    /// threshold exactly when the ratio does, either way it is read: 1.1996 is no warning, so it never
    /// reads `1.20×`; 1.2001 is one, so it never reads `1.20×` either.
    #[test]
    fn ratios_never_round_across_the_warning_or_critical_threshold() {
        for (value, shown) in [
            (dec!(1.1996), "1.19×"),
            (dec!(1.195), "1.19×"),
            (dec!(1.19), "1.19×"),
            (dec!(1.2), "1.20×"),
            (dec!(1.2001), "1.21×"),
            (dec!(1.2049), "1.21×"),
            (dec!(1.24), "1.24×"),
            (dec!(1.4999), "1.49×"),
            (dec!(1.5), "1.50×"),
            (dec!(1.50001), "1.51×"),
            (dec!(0.9996), "1.00×"),
        ] {
            assert_eq!(ratio(value), shown, "{value}");
            assert_eq!(ratio_reaches(shown), reaches(value), "{value}");
        }
    }

    /// Drift is compared as `|d| > threshold` and z as `|z| ≥ 2.0 / 2.5 / 3.0`: the printed figure,
    /// read back, compares the same way as the value, either sign, and is never a step further off.
    #[test]
    fn drift_and_z_never_round_across_their_thresholds() {
        for (value, shown) in [
            (dec!(10.04), "10.1%"),
            (dec!(10.0001), "10.1%"),
            (dec!(10), "10.0%"),
            (dec!(9.96), "10.0%"),
            (dec!(-10.04), "-10.1%"),
            (dec!(-9.96), "-10.0%"),
            (dec!(75), "75.0%"),
            (dec!(-0.04), "0.0%"),
        ] {
            assert_eq!(drift_pct(value, dec!(10)), shown, "{value}");
            let back: Decimal = shown.trim_end_matches('%').parse().unwrap();
            assert_eq!(
                back.abs() > dec!(10),
                value.abs() > dec!(10),
                "{value} shown as {shown}"
            );
        }
        for (value, dp, shown) in [
            (dec!(2.96), 1, "2.9"),
            (dec!(3.0), 1, "3.0"),
            (dec!(3.04), 1, "3.0"),
            (dec!(2.46), 1, "2.4"),
            (dec!(2.5), 1, "2.5"),
            (dec!(1.96), 1, "1.9"),
            (dec!(-2.96), 1, "-2.9"),
            (dec!(-3.098), 1, "-3.1"),
            (dec!(10), 1, "10"),
            (dec!(2.996), 2, "2.99"),
            (dec!(2.4951), 2, "2.49"),
        ] {
            assert_eq!(z_score(value, dp), shown, "{value}");
            let back: Decimal = shown.parse().unwrap();
            let severity = |z: Decimal| [dec!(2), dec!(2.5), dec!(3)].map(|t| z.abs() >= t);
            assert_eq!(severity(back), severity(value), "{value} shown as {shown}");
        }
    }

    /// Whether `value` reaches the warning (1.2) and the critical (1.5) ratio, read as the anchors write
    /// them (`≥`) and as the tiers apply them (`>`).
    fn reaches(value: Decimal) -> [bool; 4] {
        [
            value >= dec!(1.2),
            value > dec!(1.2),
            value >= dec!(1.5),
            value > dec!(1.5),
        ]
    }

    /// [`reaches`] of the ratio printed as `shown`.
    fn ratio_reaches(shown: &str) -> [bool; 4] {
        reaches(shown.trim_end_matches('×').parse().unwrap())
    }

    proptest::proptest! {
        #[test]
        fn a_printed_ratio_reaches_the_thresholds_its_value_reaches(
            threshold in proptest::sample::select(vec![12_000i64, 15_000]),
            offset in -200i64..200,
            anywhere in -10_000i64..40_000,
        ) {
            // Near a threshold (where rounding could cross it), and anywhere.
            for value in [Decimal::new(threshold + offset, 4), Decimal::new(anywhere, 4)] {
                let shown = ratio(value);
                proptest::prop_assert_eq!(ratio_reaches(&shown), reaches(value), "{} shown as {}", value, shown);
                // Never further than one step (0.01) from the value.
                let back: Decimal = shown.trim_end_matches('×').parse().unwrap();
                proptest::prop_assert!((back - value).abs() <= Decimal::new(1, 2), "{} shown as {}", value, shown);
            }
        }

        #[test]
        fn usd_round_trips_to_cents(cents in -1_000_000_000_000i64..1_000_000_000_000) {
            let amount = Decimal::new(cents, 2);
            let text = usd(amount);
            let parsed: Decimal = text.replace(['$', ','], "").parse().unwrap();
            proptest::prop_assert_eq!(parsed, amount);
        }

        /// Lines in cents add up to their total in cents, each within a cent of its amount.
        #[test]
        fn cents_add_up_to_the_rounded_total(mills in proptest::collection::vec(0i64..10_000_000, 0..30)) {
            let parts: Vec<Decimal> = mills.iter().map(|m| Decimal::new(*m, 3)).collect();
            let shown = cents_summing(&parts);
            let total: Decimal = parts.iter().sum();
            proptest::prop_assert_eq!(shown.iter().sum::<Decimal>(), rounded(total, 2));
            for (s, p) in shown.iter().zip(&parts) {
                proptest::prop_assert!((*s - *p).abs() < Decimal::new(1, 2), "{} for {}", s, p);
                proptest::prop_assert_eq!(s.round_dp(2), *s);
            }
        }

        #[test]
        fn sparkline_has_one_bar_per_value(values in proptest::collection::vec(-1_000_000i64..1_000_000, 0..40)) {
            let v: Vec<Decimal> = values.iter().map(|x| Decimal::new(*x, 2)).collect();
            proptest::prop_assert_eq!(sparkline(&v).chars().count(), v.len());
        }
    }

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[dec!(0), dec!(0)]), "▁▁");
        assert_eq!(sparkline(&[dec!(3), dec!(3)]), "▄▄");
        assert_eq!(sparkline(&[dec!(1), dec!(10)]), "▁█");
        assert_eq!(sparkline(&[dec!(-5), dec!(5)]), "▁█");
    }

    #[test]
    fn truncation_is_char_safe() {
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("x", 0), "");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("abcdef", 4), "abc…");
    }
}
