//! A short SNS message for critical reports (pager / email / Chatbot): ACTUAL spend above 150 % of a
//! budget (seed 000); projections never page ([`crate::burn::BudgetBurn::severity`]).
//!
//! SNS `Subject` must be under 100 characters, without line breaks or control characters; this crate
//! also keeps it ASCII (older SNS documentation requires ASCII, email gateways mangle the rest). The
//! message body is plain text, a few lines, far below SNS's 256 KB.

use serde::{Deserialize, Serialize};

use crate::burn::Severity;
use crate::format::{budget_pct, usd};
use crate::report::CostReport;

/// Longest subject this crate produces (SNS: fewer than 100 characters).
pub const SUBJECT_MAX: usize = 99;

/// An SNS `Publish` subject and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnsMessage {
    /// `Subject`: ASCII, ≤ 99 characters, one line.
    pub subject: String,
    /// `Message`: plain text.
    pub message: String,
}

/// A name from AWS (a budget's — Budgets allows newlines in one —, a Cost Explorer service) as one line
/// of the message: control characters and every other break or space (U+2028 LINE SEPARATOR, U+2029,
/// which mail and pager clients render as new lines) become spaces, and bidirectional controls
/// (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C), which can show a name's text in another
/// order than it is read, are left out. No name can add lines of its own ("all clear") to a page.
fn one_line(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_control() || c.is_whitespace() {
                Some(' ')
            } else if vocabulary::text::is_deceptive(c) {
                // What is left of the deceptive set: the bidirectional format characters.
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

/// Makes `s` a valid subject: non-ASCII → `?`, control characters → space, at most [`SUBJECT_MAX`].
///
/// ```
/// assert_eq!(cost::sns::subject_safe("Budget — 150%\n"), "Budget ? 150%");
/// ```
#[must_use]
pub fn subject_safe(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_control() {
                ' '
            } else if c.is_ascii() {
                c
            } else {
                '?'
            }
        })
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.len() <= SUBJECT_MAX {
        trimmed.to_owned()
    } else {
        format!("{}...", trimmed[..SUBJECT_MAX - 3].trim_end())
    }
}

/// The SNS message for `report`, only when its severity is critical.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use cost::report::{build_report, ReportInputs, ReportSettings};
/// let inputs = ReportInputs {
///     platform: "collectiq".into(), environment: "prod".into(),
///     as_of: Utc.with_ymd_and_hms(2025, 6, 18, 6, 0, 0).unwrap(),
///     cost_and_usage: Default::default(), budgets: vec![], ce_forecast: None, ce_forecast_unavailable: None, metrics: vec![],
///     self_spend: Default::default(), notes: vec![],
/// };
/// let report = build_report(&inputs, &ReportSettings::default(), cost::pricing::PriceTable::bundled().unwrap());
/// assert!(cost::sns::critical_message(&report).is_none());
/// ```
#[must_use]
pub fn critical_message(report: &CostReport) -> Option<SnsMessage> {
    (report.severity() == Severity::Critical).then(|| message(report))
}

/// The SNS message for `report`, whatever its severity.
#[must_use]
pub fn message(report: &CostReport) -> SnsMessage {
    let scope = report.scope();
    let subject = match report.worst_budget() {
        Some(b) => format!(
            "{} {scope} budget {}: {} of {} ({} projected)",
            report.severity().label(),
            b.tier.label(),
            usd(b.actual),
            usd(b.limit),
            budget_pct(b.projected_pct)
        ),
        None => format!("{} {scope} cost report", report.severity().label()),
    };
    let mut lines = vec![report.headline(), String::new()];
    for b in &report.budgets {
        lines.push(format!(
            "{}: {} of {} ({}), burn ratio {}, projected {} ({}), tier {}",
            one_line(&b.budget_name),
            usd(b.actual),
            usd(b.limit),
            budget_pct(b.actual_pct),
            b.burn_ratio
                .map_or_else(|| "n/a".to_owned(), crate::format::ratio),
            usd(b.projections.blended),
            budget_pct(b.projected_pct),
            b.tier.label()
        ));
    }
    if let Some(p) = report.unit.per_valuation {
        let seed = report.unit.seed_per_valuation;
        lines.push(if seed.is_zero() {
            format!("Cost per valuation: {}", crate::format::usd_dp(p, 5))
        } else {
            format!(
                "Cost per valuation: {} (seed {})",
                crate::format::usd_dp(p, 5),
                crate::format::usd_dp(seed, 5)
            )
        });
    }
    for a in report.anomalies.iter().take(3) {
        lines.push(format!(
            "Anomaly {}: {} on {} (usual {})",
            one_line(&a.service),
            usd(a.amount),
            a.date,
            usd(a.baseline_mean)
        ));
    }
    if report.anomalies.len() > 3 {
        lines.push(format!("... and {} more anomalies", report.anomalies.len() - 3));
    }
    lines.push("Full report: Slack cost channel / collectiq-ops cost report".to_owned());
    SnsMessage {
        subject: subject_safe(&subject),
        message: lines.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::burn::Tier;
    use crate::report::tests::demo_report;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    /// The demo month with 760 of 500 actually spent (152 %): critical.
    fn critical() -> CostReport {
        let mut r = demo_report();
        let b = &mut r.budgets[0];
        b.actual = dec!(760);
        b.actual_pct = dec!(152);
        b.projections.blended = dec!(900);
        b.projected_pct = dec!(180);
        b.tier = Tier::Pct150;
        r
    }

    #[test]
    fn only_critical_reports_page() {
        assert!(critical_message(&demo_report()).is_none());
        let m = critical_message(&critical()).unwrap();
        // Key order must not depend on serde_json's preserve_order, which other crates switch on.
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!("critical_sns", m);
        assert_eq!(
            m.subject,
            "CRITICAL CollectIQ prod budget 150%: $760.00 of $500.00 (180.0% projected)"
        );
        assert!(m.subject.len() < 100);
        let lines: Vec<&str> = m.message.lines().collect();
        assert_eq!(
            lines[0],
            "CollectIQ prod: $760.00 MTD (152.0% of $500.00) — CRITICAL"
        );
        assert!(
            lines[2].starts_with("collectiq-prod-monthly: $760.00 of $500.00 (152.0%)"),
            "{}",
            lines[2]
        );
        assert!(
            m.message
                .contains("Anomaly Amazon Rekognition: $12.50 on 2025-06-17")
        );
    }

    /// Budgets' name pattern (`[^:\\]+`) allows newlines: a budget or service name must not add lines of
    /// its own to the page on-call reads.
    #[test]
    fn names_cannot_add_lines_to_a_page() {
        let mut r = critical();
        r.budgets[0].budget_name = "prod\n\nAll clear: ignore this page\r".into();
        if let Some(a) = r.anomalies.first_mut() {
            a.service = "Amazon Rekognition\nAll clear".into();
        }
        let m = critical_message(&r).unwrap();
        assert!(
            m.message.lines().all(|l| !l.starts_with("All clear")),
            "{}",
            m.message
        );
        assert!(
            m.message.contains("prod  All clear: ignore this page : $760.00"),
            "{}",
            m.message
        );
        assert!(!m.subject.chars().any(char::is_control));
    }

    /// U+2028/U+2029 are not control characters, but mail and pager clients break lines at them; a
    /// right-to-left override can show "ignore" text in another order.
    #[test]
    fn unicode_separators_and_bidi_controls_cannot_shape_a_page() {
        let mut r = critical();
        r.budgets[0].budget_name = "prod\u{2028}All clear\u{2029}ignore\u{202E}egap\u{2066}x".into();
        let m = critical_message(&r).unwrap();
        for c in ['\u{2028}', '\u{2029}', '\u{202E}', '\u{2066}'] {
            assert!(!m.message.contains(c), "{c:?} in {}", m.message);
        }
        assert!(m.message.contains("prod All clear ignoreegapx"), "{}", m.message);
    }

    /// With two budgets, the page's subject names the one that pages — not one whose projection is
    /// higher but which only warns.
    #[test]
    fn the_subject_names_the_budget_that_pages() {
        let mut r = critical();
        let mut warns = r.budgets[0].clone();
        warns.budget_name = "team-a".into();
        warns.limit = dec!(500);
        warns.actual = dec!(300);
        warns.actual_pct = dec!(60);
        warns.projected_pct = dec!(190);
        warns.tier = Tier::Pct150;
        let pages = &mut r.budgets[0];
        pages.budget_name = "team-b".into();
        pages.limit = dec!(100);
        pages.actual = dec!(152);
        pages.actual_pct = dec!(152);
        pages.projected_pct = dec!(160);
        assert_eq!(warns.severity(), Severity::Warning, "{warns:?}");
        assert_eq!(r.budgets[0].severity(), Severity::Critical);
        r.budgets.insert(0, warns);
        let m = critical_message(&r).unwrap();
        assert!(m.subject.contains("$152.00 of $100.00"), "{}", m.subject);
    }

    #[test]
    fn projections_and_100_pct_actual_do_not_page() {
        // A projection at 152 % with 48 % actually spent: a warning, no page (seeds: only actual pages).
        let mut projected = demo_report();
        let b = &mut projected.budgets[0];
        b.projections.blended = dec!(760);
        b.projected_pct = dec!(152);
        b.tier = Tier::Pct150;
        assert_eq!(projected.severity(), Severity::Warning);
        assert!(critical_message(&projected).is_none());
        // The whole budget actually spent: still a warning (seed 001 alerts at 100 %, pages at 150 %).
        let mut spent = demo_report();
        spent.budgets[0].actual = dec!(500);
        spent.budgets[0].actual_pct = dec!(100);
        spent.budgets[0].tier = Tier::Pct100;
        assert!(critical_message(&spent).is_none());
        // Over 150 % actually spent pages (seed 000: "Cost > 150% of budget").
        spent.budgets[0].actual_pct = dec!(150.01);
        spent.budgets[0].tier = Tier::Pct150;
        assert!(critical_message(&spent).is_some());
    }

    proptest! {
        #[test]
        fn subjects_are_short_ascii_single_lines(platform in "\\PC{0,80}", env in "\\PC{0,80}", name in ".{0,200}") {
            let mut r = critical();
            r.platform = platform;
            r.environment = env;
            r.budgets[0].budget_name = name;
            let m = message(&r);
            prop_assert!(m.subject.len() <= SUBJECT_MAX);
            prop_assert!(m.subject.chars().all(|c| c.is_ascii() && !c.is_ascii_control()));
        }
    }
}
