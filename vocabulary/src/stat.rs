//! CloudWatch statistics and periods: a typed [`Stat`] for builders and the syntax checks the validators use.
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>

use std::fmt;

/// A statistic, as builders write it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// `Sum`.
    Sum,
    /// `Average`.
    Average,
    /// `Minimum`.
    Minimum,
    /// `Maximum`.
    Maximum,
    /// `SampleCount`.
    SampleCount,
    /// `pNN` (0 < NN ≤ 100), e.g. `Stat::Percentile(99.9)` → `p99.9`.
    Percentile(f64),
    /// `tmNN`: trimmed mean of the lowest NN %.
    TrimmedMean(f64),
    /// `IQM`: interquartile mean.
    Iqm,
}

impl Stat {
    /// Whether this is one of the five standard statistics (`Statistic`), as opposed to an
    /// extended one (`ExtendedStatistic`).
    #[must_use]
    pub fn is_standard(self) -> bool {
        matches!(
            self,
            Self::Sum | Self::Average | Self::Minimum | Self::Maximum | Self::SampleCount
        )
    }
}

fn fmt_number(v: f64) -> String {
    // Shortest text that round-trips: 99.0 → "99", 99.9 → "99.9".
    let s = format!("{v}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sum => f.write_str("Sum"),
            Self::Average => f.write_str("Average"),
            Self::Minimum => f.write_str("Minimum"),
            Self::Maximum => f.write_str("Maximum"),
            Self::SampleCount => f.write_str("SampleCount"),
            Self::Percentile(p) => write!(f, "p{}", fmt_number(*p)),
            Self::TrimmedMean(p) => write!(f, "tm{}", fmt_number(*p)),
            Self::Iqm => f.write_str("IQM"),
        }
    }
}

/// The five standard statistic names.
pub const STANDARD_STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

fn is_number(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_digit() || c == '.')
        && s.chars().filter(|&c| c == '.').count() <= 1
        && !s.starts_with('.')
        && !s.ends_with('.')
}

fn is_percent_value(s: &str) -> bool {
    is_number(s) && s.parse::<f64>().is_ok_and(|v| v > 0.0 && v <= 100.0)
}

fn is_range(inner: &str, percent: bool) -> bool {
    let Some((lo, hi)) = inner.split_once(':') else {
        return false;
    };
    if percent {
        let ok = |x: &str| {
            x.is_empty()
                || x.strip_suffix('%')
                    .is_some_and(|v| is_number(v) && v.parse::<f64>().is_ok_and(|n| n <= 100.0))
        };
        ok(lo) && ok(hi) && !(lo.is_empty() && hi.is_empty())
    } else {
        let ok = |x: &str| x.is_empty() || x.parse::<f64>().is_ok();
        ok(lo) && ok(hi) && !(lo.is_empty() && hi.is_empty())
    }
}

/// Whether `s` is a valid extended statistic: `p90`, `tm90`, `tc90`, `ts90`, `wm90`, `IQM`,
/// `PR(n:m)`, `TM(10%:90%)` (and `TC`, `TS`, `WM`; absolute bounds too).
///
/// ```
/// use vocabulary::stat::is_valid_extended_statistic;
/// assert!(is_valid_extended_statistic("p99.9"));
/// assert!(is_valid_extended_statistic("TM(10%:90%)"));
/// assert!(!is_valid_extended_statistic("p101"));
/// assert!(!is_valid_extended_statistic("Average"));
/// ```
#[must_use]
pub fn is_valid_extended_statistic(s: &str) -> bool {
    if s == "IQM" {
        return true;
    }
    for prefix in ["p", "tm", "tc", "ts", "wm"] {
        if let Some(rest) = s.strip_prefix(prefix)
            && is_percent_value(rest)
        {
            return true;
        }
    }
    for prefix in ["TM", "TC", "TS", "WM", "tm", "tc", "ts", "wm"] {
        if let Some(inner) = s
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
        {
            return is_range(inner, true) || is_range(inner, false);
        }
    }
    if let Some(inner) = s.strip_prefix("PR(").and_then(|r| r.strip_suffix(')')) {
        return is_range(inner, false);
    }
    false
}

/// Whether `s` is an extended statistic `PutMetricAlarm` accepts as `ExtendedStatistic`: its reference
/// narrows the bounded trimmed forms to "`TC/TM/TS/WM(X%:X%)` where X is between 10 and 90 inclusive"
/// (percentages only; `PR(n:m)` keeps values). A dashboard takes the wider forms.
///
/// ```
/// use vocabulary::stat::is_valid_alarm_extended_statistic;
/// assert!(is_valid_alarm_extended_statistic("TM(10%:90%)"));
/// assert!(is_valid_alarm_extended_statistic("p99"));
/// assert!(is_valid_alarm_extended_statistic("PR(100:2000)"));
/// assert!(!is_valid_alarm_extended_statistic("TM(5%:95%)"));
/// assert!(!is_valid_alarm_extended_statistic("TC(0.005:0.030)"));
/// ```
#[must_use]
pub fn is_valid_alarm_extended_statistic(s: &str) -> bool {
    if !is_valid_extended_statistic(s) {
        return false;
    }
    let bounded = ["TM(", "TC(", "TS(", "WM(", "tm(", "tc(", "ts(", "wm("]
        .iter()
        .find_map(|p| s.strip_prefix(p).and_then(|r| r.strip_suffix(')')));
    let Some(inner) = bounded else {
        return true;
    };
    let Some((lo, hi)) = inner.split_once(':') else {
        return false;
    };
    let within = |x: &str| {
        x.strip_suffix('%')
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|n| (10.0..=90.0).contains(&n))
    };
    within(lo) && within(hi)
}

/// Whether `s` is a statistic a dashboard accepts: a standard one or an extended one.
#[must_use]
pub fn is_valid_stat(s: &str) -> bool {
    STANDARD_STATISTICS.contains(&s) || is_valid_extended_statistic(s)
}

/// Whether `period` (seconds) is valid for a dashboard metric: 1, 5, 10, 30 or a multiple of 60.
#[must_use]
pub fn is_valid_dashboard_period(period: u32) -> bool {
    matches!(period, 1 | 5 | 10 | 30) || (period > 0 && period.is_multiple_of(60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_matches_cloudwatch_spelling() {
        assert_eq!(Stat::Percentile(95.0).to_string(), "p95");
        assert_eq!(Stat::Percentile(99.9).to_string(), "p99.9");
        assert_eq!(Stat::TrimmedMean(90.0).to_string(), "tm90");
        assert_eq!(Stat::SampleCount.to_string(), "SampleCount");
        assert!(Stat::Sum.is_standard());
        assert!(!Stat::Iqm.is_standard());
    }

    #[test]
    fn extended_statistics_accepted_and_rejected() {
        for ok in [
            "p50",
            "p99.99",
            "tm90",
            "tc90",
            "ts90",
            "wm90",
            "IQM",
            "PR(10:)",
            "PR(:500)",
            "TM(10%:90%)",
            "WM(:95%)",
            "TC(0.005:0.030)",
        ] {
            assert!(is_valid_extended_statistic(ok), "{ok}");
        }
        for bad in [
            "p0",
            "p101",
            "p",
            "P99",
            "pp99",
            "tm",
            "PR()",
            "PR(:)",
            "TM(10:%)",
            "Avg",
            "Sum",
            "p9.",
            "TM(110%:)",
        ] {
            assert!(!is_valid_extended_statistic(bad), "{bad}");
        }
    }

    #[test]
    fn standard_statistics() {
        assert!(is_valid_stat("Sum"));
        assert!(is_valid_stat("p95"));
        assert!(!is_valid_stat("sum"));
        assert!(!is_valid_stat("Avg"));
    }

    #[test]
    fn dashboard_periods() {
        for ok in [1, 5, 10, 30, 60, 300, 3600, 86_400] {
            assert!(is_valid_dashboard_period(ok), "{ok}");
        }
        for bad in [0, 2, 15, 45, 61, 90] {
            assert!(!is_valid_dashboard_period(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_percentile_the_builder_can_write_is_valid(p in 0.1f64..=100.0) {
            let rounded = (p * 10.0).round() / 10.0;
            prop_assume!(rounded > 0.0);
            prop_assert!(is_valid_stat(&Stat::Percentile(rounded).to_string()));
        }
    }
}
