//! `collectiq-ops cost report [--date D] [--post] [--chart FILE.svg|FILE.png]` and `collectiq-ops cost
//! fast-burn [--post]`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use cost::chart::ChartFormat;

use governance::cost_pass::{DailyRun, FastBurnRun, PassOptions, as_of_for, run_daily, run_fast_burn};

use crate::global::{GlobalArgs, clients_for, load_spec};
use crate::output::{emit, progress, write_json};

/// `cost` subcommands.
#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// The daily cost report: budget burn, Bedrock by model and agent, $/valuation, anomalies. Prints it,
    /// writes the Slack JSON under out/, and posts it with --post (once per day and budget tier).
    Report(ReportArgs),
    /// The hourly Bedrock burn check from CloudWatch token metrics only (no Cost Explorer calls).
    FastBurn(FastBurnArgs),
}

/// `cost report` options.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report day (UTC); default today. A past day is reported as of its end.
    #[arg(long)]
    pub date: Option<NaiveDate>,
    /// Post to Slack (and SNS for a critical tier), claiming the period in the ledger first.
    #[arg(long)]
    pub post: bool,
    /// Also draw the budget-burn chart of the worst budget; the extension picks the format (.svg or
    /// .png).
    #[arg(long, value_name = "FILE.svg|FILE.png", value_parser = ChartTarget::parse)]
    pub chart: Option<ChartTarget>,
}

/// The chart's size in pixels (the PNG's exact size, the SVG's canvas).
pub const CHART_SIZE: (u32, u32) = (960, 480);

/// Where `--chart` writes, and the format its extension names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartTarget {
    /// The file to write.
    pub path: PathBuf,
    /// The format, from the file's extension.
    pub format: ChartFormat,
}

impl ChartTarget {
    /// A target from a path whose extension names a [`ChartFormat`] (case-insensitive).
    ///
    /// # Errors
    /// For any other extension, or none: the message names the accepted ones.
    ///
    /// ```
    /// use cost::chart::ChartFormat;
    /// use collectiq_ops::cost::ChartTarget;
    /// assert_eq!(ChartTarget::parse("out/burn.png").unwrap().format, ChartFormat::Png);
    /// let e = ChartTarget::parse("burn.jpg").unwrap_err();
    /// assert!(e.contains(".svg or .png"), "{e}");
    /// ```
    pub fn parse(path: &str) -> Result<Self, String> {
        let path = PathBuf::from(path);
        match ChartFormat::from_path(&path) {
            Some(format) => Ok(Self { path, format }),
            None => Err(format!(
                "{}: the chart is drawn as {}; name the file with one of these extensions",
                path.display(),
                ChartFormat::ALL
                    .map(|f| format!(".{}", f.extension()))
                    .join(" or ")
            )),
        }
    }
}

/// `cost fast-burn` options.
#[derive(Debug, Args)]
pub struct FastBurnArgs {
    /// Send the alert (SNS for pages, Slack for all), once per day and kind.
    #[arg(long)]
    pub post: bool,
}

/// Runs a `cost` subcommand; returns the exit code (2 when a send failed).
///
/// # Errors
/// When the spec does not load, the pass fails, or a file cannot be written.
pub async fn run(global: &GlobalArgs, command: &CostCommand) -> Result<i32> {
    let spec = load_spec(&global.platform)?;
    let clients = clients_for(global, &spec).await;
    match command {
        CostCommand::Report(args) => {
            let as_of = as_of_for(args.date, Utc::now())?;
            progress(&format!(
                "cost report for {} as of {}{}…",
                spec.managed_prefix(),
                as_of.format("%Y-%m-%d %H:%M UTC"),
                if args.post { ", posting" } else { " (dry run)" }
            ));
            let options = PassOptions::new(&spec, as_of).with_notify(args.post);
            let run = run_daily(&spec, &clients, &options).await?;
            let files = write_outputs(&global.out, &run, args.chart.as_slice())?;
            let text = format!(
                "{}\n{}\nWritten: {}",
                cost::terminal::render(&run.report).trim_end(),
                run_summary(&run),
                files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            emit(global, &run, &text)?;
            Ok(if run.delivery.failed() { 2 } else { 0 })
        }
        CostCommand::FastBurn(args) => {
            let options = PassOptions::new(&spec, Utc::now()).with_notify(args.post);
            let run = run_fast_burn(&spec, &clients, &options).await?;
            let text = fast_burn_text(&run);
            emit(global, &run, &text)?;
            Ok(if run.delivery.failed() { 2 } else { 0 })
        }
    }
}

/// Writes `cost-report.json` and `cost-slack.json` under `out`, and each chart asked for. Returns the
/// paths written.
///
/// # Errors
/// When a file cannot be written or the chart cannot be drawn.
pub fn write_outputs(out: &Path, run: &DailyRun, charts: &[ChartTarget]) -> Result<Vec<PathBuf>> {
    let mut files = vec![
        write_json(out, "cost-report.json", &run.report)?,
        write_json(out, "cost-slack.json", &run.slack)?,
    ];
    for ChartTarget { path, format } in charts {
        let bytes = run
            .chart(*format, CHART_SIZE.0, CHART_SIZE.1)
            .map_err(|e| anyhow::anyhow!("chart: {e}"))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        files.push(path.clone());
    }
    Ok(files)
}

/// The lines under the report: what was decided and sent, and what the run cost.
#[must_use]
pub fn run_summary(run: &DailyRun) -> String {
    let decision = match run.decision {
        cost::alerting::AlertDecision::Nothing => "no budget transition".to_owned(),
        cost::alerting::AlertDecision::Notify { tier } => format!("notify: tier {} reached", tier.label()),
        cost::alerting::AlertDecision::Escalate { from, to } => {
            format!("escalate: {} → {}", from.label(), to.label())
        }
        cost::alerting::AlertDecision::Recovery { from } => format!("recovery from {}", from.label()),
    };
    let d = &run.delivery;
    let sent = if d.slack_posted {
        format!(
            "posted to Slack ({} attempt{})",
            d.slack_attempts,
            if d.slack_attempts == 1 { "" } else { "s" }
        )
    } else {
        d.skipped.clone().unwrap_or_else(|| "not posted".into())
    };
    let sns = match (&d.sns_message_id, &run.sns) {
        (Some(id), _) => format!("; SNS critical published ({id})"),
        (None, Some(_)) if !d.requested => "; SNS critical would be published".into(),
        _ => String::new(),
    };
    let mut out = format!(
        "Alert: {decision} — {sent}{sns}\nAPI calls this run: {} ({} Cost Explorer = ${}); CE today {} of cap {}{}",
        run.calls.summary(),
        run.calls.cost_explorer(),
        rust_decimal::Decimal::from(run.calls.cost_explorer()) * cost::report::CE_REQUEST_PRICE,
        run.ce_requests_today,
        run.report.self_spend.ce_daily_cap,
        match run.ce_query {
            Some((s, e)) => format!(
                "; CE queried {s}..{e}, {} day(s) from the ledger",
                run.cached_days
            ),
            None => String::new(),
        }
    );
    for e in &d.errors {
        out.push_str(&format!("\n✗ {e}"));
    }
    out
}

fn fast_burn_text(run: &FastBurnRun) -> String {
    let mut t = format!(
        "Bedrock fast burn as of {} against {}/month\n",
        run.burn.as_of.format("%Y-%m-%d %H:%M UTC"),
        cost::format::usd(run.burn.allowance)
    );
    for w in &run.burn.windows {
        t.push_str(&format!(
            "  {:>4}  {:>10}  {:>7}x\n",
            w.window.label(),
            cost::format::usd(w.cost),
            w.burn_rate.round_dp(2)
        ));
    }
    t.push_str(&format!(
        "Alert: {}\n",
        run.burn
            .alert
            .map_or_else(|| "none".to_owned(), |a| format!("{a:?}"))
    ));
    if let Some(s) = &run.delivery.skipped {
        t.push_str(&format!("Sent: nothing ({s})\n"));
    } else if run.delivery.slack_posted {
        t.push_str("Sent: Slack");
        if run.delivery.sns_message_id.is_some() {
            t.push_str(" + SNS critical");
        }
        t.push('\n');
    }
    for e in &run.delivery.errors {
        t.push_str(&format!("✗ {e}\n"));
    }
    t.push_str(&format!(
        "API calls: {} (Cost Explorer: {})",
        run.calls.summary(),
        run.calls.cost_explorer()
    ));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn chart_targets_take_their_format_from_the_extension() {
        let png = ChartTarget::parse("out/burn.PNG").unwrap();
        assert_eq!(png.format, ChartFormat::Png);
        assert_eq!(png.path, PathBuf::from("out/burn.PNG"));
        assert_eq!(ChartTarget::parse("burn.svg").unwrap().format, ChartFormat::Svg);
        for bad in ["burn.jpg", "burn", "burn.svg.gz", "png"] {
            let e = ChartTarget::parse(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("{bad}: ")) && e.contains("drawn as .svg or .png"),
                "{e}"
            );
        }
    }

    /// The seeded month through the real pass (emulator), then `--chart` as PNG and as SVG: each file is
    /// exactly what `cost::chart` draws for the run's worst budget, at [`CHART_SIZE`].
    #[tokio::test]
    async fn write_outputs_draws_the_chart_in_the_format_asked() {
        let emulator = collectiq_tests::Emulator::start().await.unwrap();
        let clients = emulator.clients().await;
        let spec = crate::test_support::prod_spec();
        let month = crate::seed::DemoMonth::generate(&spec, "2026-11-21".parse().unwrap());
        crate::seed::apply(&spec, &month, &clients, "http://127.0.0.1:9/unused")
            .await
            .unwrap();
        emulator
            .inject_cost_and_usage(&crate::seed::cost_explorer_pages(&month))
            .await
            .unwrap();
        let as_of = Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap();
        let run = run_daily(&spec, &clients, &PassOptions::new(&spec, as_of))
            .await
            .unwrap();
        let burn = run.report.worst_budget().unwrap();
        let dir = tempfile::tempdir().unwrap();

        let png = ChartTarget::parse(dir.path().join("charts/burn.png").to_str().unwrap()).unwrap();
        let files = write_outputs(dir.path(), &run, std::slice::from_ref(&png)).unwrap();
        assert_eq!(files.last(), Some(&png.path));
        let bytes = std::fs::read(&png.path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, right after the chunk's length and type.
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
        assert_eq!((be(&bytes[16..20]), be(&bytes[20..24])), CHART_SIZE);
        let expected = cost::chart::burn_chart_png(burn, &run.daily, CHART_SIZE.0, CHART_SIZE.1).unwrap();
        assert_eq!(bytes, expected);

        let svg = ChartTarget::parse(dir.path().join("burn.svg").to_str().unwrap()).unwrap();
        write_outputs(dir.path(), &run, std::slice::from_ref(&svg)).unwrap();
        let text = std::fs::read_to_string(&svg.path).unwrap();
        assert!(text.starts_with("<svg") && text.contains(&burn.budget_name));
        for name in ["cost-report.json", "cost-slack.json"] {
            assert!(dir.path().join(name).is_file(), "{name}");
        }
    }

    #[test]
    fn future_dates_are_refused() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 30, 0).unwrap();
        assert!(as_of_for(NaiveDate::from_ymd_opt(2026, 11, 23), now).is_err());
        assert_eq!(
            as_of_for(NaiveDate::from_ymd_opt(2026, 11, 22), now).unwrap(),
            now
        );
    }
}
