//! `collectiq-ops demo`: the main job on the embedded default. Starts the local AWS emulator, seeds a
//! CollectIQ month, and runs the governance pass against it with the real SDK clients, printing what a
//! user would see and writing it under `out/`.
//!
//! The pass is a list of steps; each governance feature adds one [`DemoSection`] (see [`run`]):
//! [`publish_steps`] (alarm state, plan, apply, second apply) and [`cost_step`] (the daily report).

pub mod cost_step;
pub mod publish_steps;
pub mod section;

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::Args;
use collectiq_tests::{Emulator, WebhookSink};
use governance::doctor;
use serde::Serialize;

use crate::global::{GlobalArgs, load_spec};
use crate::output::{emit, progress, write_json};
use crate::seed;
pub use section::{DemoContext, DemoSection};

/// `demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// "Today" for the seeded month (the month runs from its 1st to this partial day).
    #[arg(long, default_value = "2026-11-21")]
    pub as_of: NaiveDate,
}

/// What the demo saw, written to `out/demo.json`.
#[derive(Debug, Serialize)]
struct DemoSummary<'a> {
    platform: String,
    as_of: chrono::NaiveDate,
    valuations_month_to_date: u64,
    claude_tokens_month_to_date: (u64, u64),
    spend_month_to_date_by_service: Vec<(String, String)>,
    budgets: Vec<DemoBudgetLine>,
    seed: SeedCounts,
    doctor: &'a doctor::DoctorReport,
    sections: Vec<DemoSection>,
}

#[derive(Debug, Serialize)]
struct DemoBudgetLine {
    name: String,
    limit_usd: String,
    actual_usd: String,
    forecast_usd: String,
}

#[derive(Debug, Serialize)]
struct SeedCounts {
    metric_datums: usize,
    put_metric_data_calls: usize,
    alarms: usize,
    alarms_firing: usize,
    log_events: usize,
    trace_segments: usize,
}

/// Runs the demo; returns the exit code (0 all good, 2 a check or step failed).
///
/// # Errors
/// When the spec does not load or the emulator cannot start or be seeded.
pub async fn run(global: &GlobalArgs, args: &DemoArgs) -> Result<i32> {
    if global.endpoint_url.is_some() {
        bail!(
            "demo starts its own emulator; drop --endpoint-url (use `doctor --endpoint-url …` for an existing one)"
        );
    }
    let spec = load_spec(&global.platform)?;
    progress("starting the local AWS emulator (moto + CloudWatch CBOR front)…");
    let emulator = Emulator::start().await.context("cannot start the emulator")?;
    progress(&format!("emulator up at {}", emulator.endpoint()));
    let slack = WebhookSink::start(Vec::new())
        .await
        .context("cannot start the loopback Slack sink")?;
    let clients = emulator.clients().await;
    let month = seed::DemoMonth::generate(&spec, args.as_of);
    progress(&format!(
        "seeding {} for {} → {}…",
        spec.managed_prefix(),
        month.days[0].date,
        args.as_of
    ));
    let seeded = seed::apply(&spec, &month, &clients, slack.url()).await?;
    progress(&format!(
        "seeded {} metric datums in {} PutMetricData calls, {} budgets, {} alarms ({} firing)",
        seeded.metric_datums, seeded.put_metric_calls, seeded.budgets, seeded.alarms.0, seeded.alarms.1
    ));
    progress("running doctor against the seeded emulator…");
    let report = doctor::run(&spec, &clients).await;

    let ctx = DemoContext {
        spec: &spec,
        emulator: &emulator,
        clients: &clients,
        month: &month,
        slack: &slack,
        out: &global.out,
    };
    // The governance pass, one step per feature, in the order a scheduled run does them.
    let mut sections: Vec<DemoSection> = Vec::new();
    sections.extend(publish_steps::demo_sections(&ctx).await?);
    sections.push(cost_step::demo_step(&ctx).await?);

    let mtd = month.month_to_date_by_service();
    let summary = DemoSummary {
        platform: spec.managed_prefix(),
        as_of: args.as_of,
        valuations_month_to_date: month.month_days().map(|d| d.valuations).sum(),
        claude_tokens_month_to_date: seed::total_tokens(&month),
        spend_month_to_date_by_service: mtd
            .iter()
            .map(|(s, v)| (s.clone(), v.round_dp(2).to_string()))
            .collect(),
        budgets: month
            .budgets
            .iter()
            .map(|b| DemoBudgetLine {
                name: b.name.clone(),
                limit_usd: b.limit_usd.to_string(),
                actual_usd: b.actual_usd.to_string(),
                forecast_usd: b.forecast_usd.to_string(),
            })
            .collect(),
        seed: SeedCounts {
            metric_datums: seeded.metric_datums,
            put_metric_data_calls: seeded.put_metric_calls,
            alarms: seeded.alarms.0,
            alarms_firing: seeded.alarms.1,
            log_events: seeded.log_events,
            trace_segments: seeded.trace_segments,
        },
        doctor: &report,
        sections,
    };
    let path = write_json(&global.out, "demo.json", &summary)?;
    let text = render(&summary, &month, &path);
    emit(global, &summary, &text)?;
    let ok = report.all_ok() && summary.sections.iter().all(|s| s.ok);
    Ok(if ok { 0 } else { 2 })
}

fn render(s: &DemoSummary<'_>, month: &seed::DemoMonth, path: &Path) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "CollectIQ Ops demo — {} — month to date as of {} (partial day)",
        s.platform, s.as_of
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "Seeded month");
    let total: rust_decimal::Decimal = month.month_to_date_by_service().iter().map(|(_, v)| *v).sum();
    let _ = writeln!(t, "  valuations      {:>12}", group(s.valuations_month_to_date));
    let _ = writeln!(
        t,
        "  Claude tokens   {:>12} in / {} out",
        group(s.claude_tokens_month_to_date.0),
        group(s.claude_tokens_month_to_date.1)
    );
    let _ = writeln!(t, "  spend           {:>12}", format!("${}", total.round_dp(2)));
    for (service, usd) in &s.spend_month_to_date_by_service {
        let _ = writeln!(t, "    {service:<44} {:>10}", format!("${usd}"));
    }
    for b in &s.budgets {
        let _ = writeln!(
            t,
            "  budget {}: ${} limit, ${} actual, ${} forecast by AWS Budgets",
            b.name, b.limit_usd, b.actual_usd, b.forecast_usd
        );
    }
    let _ = writeln!(
        t,
        "  seeded {} metric datums, {} alarms ({} firing), {} log events, {} trace segments",
        s.seed.metric_datums, s.seed.alarms, s.seed.alarms_firing, s.seed.log_events, s.seed.trace_segments
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "{}", s.doctor);
    for section in &s.sections {
        let _ = writeln!(t);
        let _ = writeln!(t, "{}{}", section.title, if section.ok { "" } else { "  ✗" });
        let _ = writeln!(t, "{}", section.text.trim_end());
    }
    let _ = writeln!(t);
    let _ = write!(t, "Written: {}", path.display());
    t
}

/// `51234` → `51,234`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(51_234_567), "51,234,567");
    }
}
