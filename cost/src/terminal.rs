//! The cost report for a terminal: plain-text tables and Unicode sparklines, every list in full.

use std::fmt::Write as _;

use crate::burn::Exhaustion;
use crate::format::{budget_pct, count, drift_pct, fit, pct, ratio, sparkline, usd, usd_dp, z_score};
use crate::report::{CostReport, display_platform};
use crate::unit::GapExplanation;

fn explanation(e: &GapExplanation) -> String {
    match e {
        GapExplanation::InLine => "in line with seed".to_owned(),
        GapExplanation::ModelDrift {
            billed_model,
            seed_matches_model,
            seed_volume_at_billed_model,
            tokens_per_valuation,
        } => {
            format!(
                "MODEL DRIFT: billed {billed_model}; seed $ match {seed_matches_model}; seed volume at {billed_model} = {}/month{}",
                usd(*seed_volume_at_billed_model),
                tokens_per_valuation
                    .map_or_else(String::new, |t| format!("; {} tokens/valuation", t.round_dp(0)))
            )
        }
        GapExplanation::Above { ratio: r } => format!("{} the seed (usage or price)", ratio(*r)),
        GapExplanation::Below { ratio: r } => format!("{} the seed", ratio(*r)),
        GapExplanation::NotInSeed => "not in the seed model".to_owned(),
        GapExplanation::NoValuations => "no valuations".to_owned(),
    }
}

/// Renders the report as text for a terminal (UTF-8, no colour codes).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use cost::report::{build_report, ReportInputs, ReportSettings};
/// let inputs = ReportInputs {
///     platform: "collectiq".into(), environment: "dev".into(),
///     as_of: Utc.with_ymd_and_hms(2025, 6, 18, 6, 0, 0).unwrap(),
///     cost_and_usage: Default::default(), budgets: vec![], ce_forecast: None, ce_forecast_unavailable: None, metrics: vec![],
///     self_spend: Default::default(), notes: vec![],
/// };
/// let report = build_report(&inputs, &ReportSettings::default(), cost::pricing::PriceTable::bundled().unwrap());
/// assert!(cost::terminal::render(&report).starts_with("CollectIQ cost — dev — 2025-06-18"));
/// ```
#[must_use]
pub fn render(r: &CostReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} cost — {} — {} (as of {})   {} {} {}",
        display_platform(&r.platform),
        r.environment,
        r.date,
        r.as_of.format("%H:%M UTC"),
        r.tier().emoji(),
        r.tier().label(),
        r.severity().label()
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "Budgets");
    if r.budgets.is_empty() {
        let _ = writeln!(o, "  (none configured)");
    } else {
        let _ = writeln!(
            o,
            "  {} {:>11} {:>11} {:>6} {:>6} {:>11} {:>6} {:>30} {:>24}  tier",
            fit("budget", 28),
            "actual",
            "limit",
            "act%",
            "burn",
            "projected",
            "proj%",
            "CE forecast",
            "exhausted"
        );
        for b in &r.budgets {
            let ce = b.projections.ce.as_ref().map_or_else(
                || "n/a".to_owned(),
                |c| match (c.lower, c.upper, c.level) {
                    (Some(l), Some(u), Some(level)) => {
                        format!("{} ({level}%: {}–{})", usd(c.mean), usd_dp(l, 0), usd_dp(u, 0))
                    }
                    _ => usd(c.mean),
                },
            );
            let exhausted = match &b.exhaustion {
                Exhaustion::Exhausted => "exhausted".to_owned(),
                Exhaustion::InDays { days, date, .. } => format!("{date} ({}d)", days.round_dp(1)),
                Exhaustion::NoSpend => "never".to_owned(),
            };
            let _ = writeln!(
                o,
                "  {} {:>11} {:>11} {:>6} {:>6} {:>11} {:>6} {:>30} {:>24}  {} {}",
                fit(&b.budget_name, 28),
                usd(b.actual),
                usd(b.limit),
                budget_pct(b.actual_pct),
                b.burn_ratio.map_or_else(|| "n/a".to_owned(), ratio),
                usd(b.projections.blended),
                budget_pct(b.projected_pct),
                ce,
                exhausted,
                b.tier.emoji(),
                b.tier.label()
            );
            let rec = b
                .projections
                .recent_rate
                .as_ref()
                .zip(b.projections.recent)
                .map_or_else(
                    || "n/a".to_owned(),
                    |(rate, p)| {
                        format!(
                            "{}/day over {} days → {}",
                            usd(rate.per_day),
                            rate.days_used.len(),
                            usd(p)
                        )
                    },
                );
            let _ = writeln!(
                o,
                "    {}f = {}  expected {}  linear {}  recent {}  budgets forecast {}",
                match b.period.unit {
                    crate::burn::BudgetTimeUnit::Monthly => String::new(),
                    unit => format!(
                        "{} {} ({} days)  ",
                        unit.aws_name(),
                        b.period.key(),
                        b.period.days()
                    ),
                },
                pct(b.elapsed_fraction * rust_decimal::Decimal::ONE_HUNDRED),
                usd(b.expected),
                b.projections.linear.map_or_else(|| "n/a".to_owned(), usd),
                rec,
                b.projections.budgets.map_or_else(|| "n/a".to_owned(), usd)
            );
        }
    }

    let u = &r.unit;
    // A platform that values no cards has no such section (`UnitEconomics::applies`).
    if u.applies() {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Cost per valuation: {} vs seed {} · {} valuations · total {} ({} – {})",
            u.per_valuation.map_or_else(|| "n/a".to_owned(), |p| usd_dp(p, 5)),
            usd_dp(u.seed_per_valuation, 5),
            count(u.valuations),
            usd(u.total_cost),
            r.window.0,
            r.window.1.pred_opt().unwrap_or(r.window.1)
        );
        if let Some(recent) = &r.unit_recent {
            let _ = writeln!(o, "  {}", crate::slack::recent_unit_line(u, recent));
        }
        let _ = writeln!(
            o,
            "  {} {:>11} {:>9} {:>9} {:>10} {:>12}  explanation",
            fit("component", 15),
            "cost",
            "$/val",
            "seed",
            "Δ/val",
            "@seed vol"
        );
        for c in &u.components {
            let na = || "n/a".to_owned();
            let _ = writeln!(
                o,
                "  {} {:>11} {:>9} {:>9} {:>10} {:>12}  {}",
                fit(c.component.label(), 15),
                usd(c.cost),
                c.per_valuation.map_or_else(na, |p| usd_dp(p, 5)),
                usd_dp(c.seed_per_valuation, 5),
                c.delta_per_valuation.map_or_else(na, |p| usd_dp(p, 5)),
                c.monthly_at_seed_volume.map_or_else(na, usd),
                explanation(&c.explanation)
            );
        }
    }

    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Bedrock by model (AWS/Bedrock tokens × price): {}",
        usd(r.bedrock_by_model.total)
    );
    for m in &r.bedrock_by_model.per_model {
        let _ = writeln!(
            o,
            "  {} {:>11}  in {:>13}  out {:>12}  cache r/w {}/{}  ids {}",
            fit(&m.model_name, 28),
            usd(m.cost),
            count(m.tokens.input),
            count(m.tokens.output),
            count(m.tokens.cache_read),
            count(m.tokens.cache_write),
            m.ids_seen.join(", ")
        );
    }
    for m in &r.bedrock_by_model.unpriced {
        let _ = writeln!(
            o,
            "  {} {:>11}  {} tokens unpriced",
            fit(&m.model_id, 28),
            "?",
            count(m.tokens.total())
        );
    }
    match r.agent_metrics_missing() {
        Some(missing) => {
            let _ = writeln!(o, "Bedrock by agent: {missing}");
        }
        None => {
            let _ = writeln!(o, "Bedrock by agent (app metrics × price)");
        }
    }
    for a in &r.bedrock_by_agent {
        let _ = writeln!(
            o,
            "  {} {} {:>11}  in {:>13}  out {:>12}",
            fit(&a.agent, 16),
            fit(a.model_key.as_deref().unwrap_or(&a.model_id), 28),
            usd(a.cost),
            count(a.tokens.input),
            count(a.tokens.output)
        );
    }
    let rec = &r.reconciliation;
    let _ = writeln!(
        o,
        "Billed vs tokens ({} – {}, threshold ±{}): billed {} · tokens {}",
        rec.start,
        rec.end.pred_opt().unwrap_or(rec.end),
        pct(rec.threshold_pct),
        usd(rec.billed_total),
        usd(rec.estimated_total)
    );
    for l in &rec.lines {
        let _ = writeln!(
            o,
            "  {} {} billed {:>11}  tokens {:>11}  agents {:>11}  drift {}{}",
            if l.within_threshold { "ok  " } else { "WARN" },
            fit(&l.billing_service, 44),
            usd(l.billed),
            usd(l.estimated),
            // Without per-agent metrics the agents' sum is unknown, not $0.00.
            if r.bedrock_by_agent.is_empty() {
                "n/a".to_owned()
            } else {
                usd(l.estimated_by_agents)
            },
            l.drift_pct
                .map_or_else(|| "n/a".to_owned(), |d| drift_pct(d, rec.threshold_pct)),
            // A large percentage on a few cents is not drift: say why it is still "ok".
            l.small_gap_note(rec.threshold_pct)
                .map_or_else(String::new, |note| format!(" ({note})"))
        );
    }
    for w in &rec.warnings {
        let _ = writeln!(o, "  ⚠ {}", w.message());
    }

    let _ = writeln!(o);
    let days = r.top_services.first().map_or(0, |t| t.daily.len());
    let _ = writeln!(o, "Top services ({days} days)");
    for t in &r.top_services {
        let _ = writeln!(
            o,
            "  {} last {:>10}  total {:>11}  {}",
            fit(&t.service, 44),
            usd(t.last()),
            usd(t.total),
            sparkline(&t.amounts())
        );
    }
    let _ = writeln!(o, "Anomalies");
    if r.anomalies.is_empty() {
        let _ = writeln!(o, "  none");
    }
    for a in &r.anomalies {
        let _ = writeln!(
            o,
            "  {} {} {:?} {:?}: {} vs mean {} (s {}, z {}, {} baseline){}",
            a.date,
            fit(&a.service, 44),
            a.severity,
            a.direction,
            usd(a.amount),
            usd(a.baseline_mean),
            usd(a.baseline_std),
            z_score(a.z, 2),
            a.baseline.describe(),
            if a.estimated { " [estimated]" } else { "" }
        );
    }
    let _ = writeln!(o, "Hygiene");
    match &r.hygiene.untagged {
        Some(u) => {
            let _ = writeln!(
                o,
                "  untagged (Environment$): {} of {} ({})",
                usd(u.untagged),
                usd(u.total),
                pct(u.share_pct)
            );
        }
        None => {
            let _ = writeln!(o, "  untagged share: n/a (CE not grouped by the Environment tag)");
        }
    }
    for (s, amount) in &r.hygiene.unmapped_bedrock_services {
        let _ = writeln!(o, "  unmapped Marketplace line: {s} ({})", usd(*amount));
    }
    for n in &r.notes {
        let _ = writeln!(o, "note: {n}");
    }
    let s = &r.self_spend;
    let _ = writeln!(
        o,
        "governance: {} CE requests ({}; cap {}/day) · {} GetMetricData · {} Budgets{}",
        s.ce_requests,
        usd(s.ce_cost()),
        s.ce_daily_cap,
        s.cloudwatch_requests,
        s.budgets_requests,
        if r.ce_estimated {
            " · CE data estimated"
        } else {
            ""
        }
    );
    // Budget and service names come from AWS: nothing in them may act on the terminal.
    vocabulary::text::terminal_safe(&o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::demo_report;

    #[test]
    fn demo_terminal_snapshot_and_content() {
        let text = render(&demo_report());
        insta::assert_snapshot!("demo_month_terminal", text);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "CollectIQ cost — prod — 2025-06-18 (as of 06:00 UTC)   🟡 80% NOTICE"
        );
        let budget = lines
            .iter()
            .find(|l| l.trim_start().starts_with("collectiq-prod-monthly"))
            .unwrap();
        for needle in [
            "$241.41",
            "$500.00",
            "48.3%",
            "0.84×",
            "$408.74",
            "81.7%",
            "2025-07-07 (19.3d)",
        ] {
            assert!(budget.contains(needle), "{needle} in {budget}");
        }
        assert!(text.contains("MODEL DRIFT: billed Claude 3.5 Sonnet v2; seed $ match Claude 3.5 Haiku"));
        assert!(text.contains("1200 tokens/valuation"));
        let rek = lines
            .iter()
            .find(|l| l.trim_start().starts_with("Amazon Rekognition") && l.contains("last"))
            .unwrap();
        assert!(rek.ends_with("▁▁▁▁▁▁▁▁▁▁▁▁▁█"), "{rek}");
        assert!(text.contains("governance: 2 CE requests ($0.02; cap 5/day)"));
    }

    /// As in Slack: a drift over ±10 % never reads 10.0 %, and z = 2.996 (Medium) never reads 3.00.
    #[test]
    fn drift_and_z_never_round_across_their_thresholds() {
        use rust_decimal_macros::dec;
        let mut report = demo_report();
        report.reconciliation.lines = vec![crate::pricing::ReconciliationLine {
            billing_service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)".into(),
            models: Vec::new(),
            billed: dec!(13.34),
            estimated: dec!(12),
            estimated_by_agents: dec!(12),
            drift_pct: Some(dec!(10.04)),
            within_threshold: false,
        }];
        report.anomalies[0].z = dec!(2.996);
        report.anomalies[0].severity = crate::anomaly::AnomalySeverity::Medium;
        let text = render(&report);
        assert!(text.contains("drift 10.1%"), "{text}");
        assert!(!text.contains("drift 10.0%"), "{text}");
        assert!(text.contains("z 2.99,"), "{text}");
    }

    #[test]
    fn large_drift_on_cents_says_why_it_is_ok() {
        use rust_decimal::Decimal;
        use rust_decimal_macros::dec;
        let mut report = demo_report();
        let line = crate::pricing::ReconciliationLine {
            billing_service: "Amazon Bedrock".into(),
            models: Vec::new(),
            billed: dec!(0.75),
            estimated: Decimal::ZERO,
            estimated_by_agents: Decimal::ZERO,
            drift_pct: Some(dec!(100)),
            within_threshold: true,
        };
        report.reconciliation.lines.push(line.clone());
        report
            .reconciliation
            .lines
            .push(crate::pricing::ReconciliationLine {
                billing_service: "Claude 3 Haiku (Amazon Bedrock Edition)".into(),
                billed: dec!(40),
                within_threshold: false,
                ..line
            });
        let text = render(&report);
        let row = |service: &str| {
            text.lines()
                .find(|l| l.contains(&format!("{service:<44} billed")))
                .unwrap_or_else(|| panic!("no row for {service} in\n{text}"))
                .to_owned()
        };
        let cents = row("Amazon Bedrock");
        assert!(cents.trim_start().starts_with("ok"), "{cents}");
        assert!(cents.ends_with("drift 100.0% (gap under $1.00)"), "{cents}");
        let real = row("Claude 3 Haiku (Amazon Bedrock Edition)");
        assert!(
            real.trim_start().starts_with("WARN") && real.ends_with("drift 100.0%"),
            "{real}"
        );
    }

    // Moved from report.rs's tests, which rendered through this module while this module reads
    // `report` (a module circle); the assertions are unchanged.
    #[test]
    fn without_per_agent_metrics_the_report_says_so() {
        let mut inputs = crate::report::tests::demo_inputs();
        inputs.metrics.retain(|m| {
            m.namespace != telemetry::catalogue::NAMESPACE
                || m.metric_name == telemetry::catalogue::MetricName::CardsValued.as_str()
        });
        let r = crate::report::build_report(
            &inputs,
            &crate::report::ReportSettings::default(),
            crate::pricing::PriceTable::bundled().unwrap(),
        );
        assert!(r.bedrock_by_agent.is_empty());
        assert_eq!(
            r.agent_metrics_missing().as_deref(),
            Some(
                "no per-agent token metrics (BedrockInputTokens/BedrockOutputTokens by agent) between \
                 2025-06-01 and 2025-06-16: spend per agent unknown"
            )
        );
        let text = render(&r);
        assert!(
            text.contains("Bedrock by agent: no per-agent token metrics"),
            "{text}"
        );
        assert!(!text.contains("agents       $0.00"), "{text}");
        assert!(text.contains("agents         n/a"), "{text}");
        let slack = serde_json::to_string(&crate::slack::render(&r)).unwrap();
        assert!(
            slack.contains("*Bedrock by agent* — no per-agent token metrics"),
            "{slack}"
        );
    }
}
