//! The demo's cost step: the daily report for the seeded month, through the real pass.

use anyhow::Context as _;
use governance::cost_pass::{Delivery, PassOptions, counting, run_daily};
use serde::Serialize;

use super::section::{DemoContext, DemoSection};
use crate::cost as cli;

/// The burn charts the cost step writes under `out`, one per format.
pub(super) fn charts(out: &std::path::Path) -> [cli::ChartTarget; 2] {
    cost::chart::ChartFormat::ALL.map(|format| cli::ChartTarget {
        path: out.join(format!("cost-burn.{}", format.extension())),
        format,
    })
}

/// The demo's last step: the cost report for the seeded month, as the daily Lambda would produce it at
/// the demo's now (the month's `now`) — terminal rendering, `out/cost-report.json`, `out/cost-slack.json`,
/// `out/cost-burn.svg` and `out/cost-burn.png`, and the post to the loopback Slack sink.
///
/// # Errors
/// When the Cost Explorer pages cannot be queued, the pass fails, or a file cannot be written.
pub async fn demo_step(ctx: &DemoContext<'_>) -> anyhow::Result<DemoSection> {
    ctx.emulator
        .inject_cost_and_usage(&crate::seed::cost_explorer_pages(ctx.month))
        .await
        .context("cannot queue the Cost Explorer pages")?;
    let as_of = ctx.month.now;
    let before = ctx.slack.received().len();
    let options = PassOptions::new(ctx.spec, as_of).with_notify(true);
    let run = run_daily(ctx.spec, ctx.clients, &options).await?;
    let charts = charts(ctx.out);
    let files = cli::write_outputs(ctx.out, &run, &charts)?;
    let posts = ctx.slack.received().len().saturating_sub(before);
    let text = format!(
        "{}\n{}\nSlack sink received {posts} cost post(s)\nWritten: {}",
        cost::terminal::render(&run.report).trim_end(),
        cli::run_summary(&run),
        files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    #[derive(Serialize)]
    struct Json<'a> {
        headline: String,
        tier: cost::burn::Tier,
        severity: cost::burn::Severity,
        decision: &'a cost::alerting::AlertDecision,
        delivery: &'a Delivery,
        calls: &'a counting::ApiCalls,
        ce_requests_today: u64,
        slack_sink_posts: usize,
        files: Vec<String>,
    }
    let json = serde_json::to_value(Json {
        headline: run.report.headline(),
        tier: run.report.tier(),
        severity: run.report.severity(),
        decision: &run.decision,
        delivery: &run.delivery,
        calls: &run.calls,
        ce_requests_today: run.ce_requests_today,
        slack_sink_posts: posts,
        files: files.iter().map(|p| p.display().to_string()).collect(),
    })?;
    Ok(DemoSection {
        title: "Cost report".into(),
        text,
        json,
        ok: !run.delivery.failed() && run.delivery.slack_posted,
    })
}
