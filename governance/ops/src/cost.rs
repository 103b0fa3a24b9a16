//! `collectiq-ops cost report [--date D] [--post] [--chart FILE.svg|FILE.png]` and `collectiq-ops cost
//! fast-burn [--post]`.
//!
//! `--date` in the future is refused, and so is one before the oldest day Cost Explorer holds (the last
//! 13 months and the current month: [`governance::cost_pass::earliest_report_day`]). A past `--date` is reported with the budget spend restated from
//! Cost Explorer's daily costs up to that day ([`cost::report::CostReport::with_budget_spend_from_daily`]):
//! AWS Budgets only knows the spend *now*, which for a past day mixes in the days — or months — after
//! it. The days come from the run's one counted Cost Explorer query (ledger cache first, the daily cap
//! enforced), and the report says where its spend came from. A past day is never posted (`--post` is
//! refused): its tier would be announced and claimed for a period that is over.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use cost::chart::ChartFormat;

use governance::cost_pass::{DailyRun, FastBurnRun, PassOptions, as_of_for, run_daily, run_fast_burn};

use crate::exit;
use crate::global::{GlobalArgs, GlobalOption, clients_for, load_spec};
use crate::output::{check_file_targets, emit, progress, write_file, write_json};

/// `cost` subcommands.
#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// The daily cost report: budget burn, Bedrock by model and agent, $/valuation, anomalies. Prints it,
    /// writes the Slack JSON under out/, and posts it with --post (once per day and budget tier).
    Report(ReportArgs),
    /// The hourly Bedrock burn check from CloudWatch token metrics only (no Cost Explorer calls).
    FastBurn(FastBurnArgs),
}

impl CostCommand {
    /// Why `option` would have no effect on this subcommand, or `None` when it uses it.
    #[must_use]
    pub fn why_unused(&self, option: GlobalOption) -> Option<&'static str> {
        match (self, option) {
            (Self::FastBurn(_), GlobalOption::Out) => Some(
                "the burn check prints its result and writes no file (`cost report` writes its files \
                 under `--out`)",
            ),
            _ => None,
        }
    }
}

/// `cost report` options.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report day (UTC, YYYY-MM-DD); default today. A past day is reported as of its end, with budget
    /// spend from Cost Explorer's daily costs (AWS Budgets only knows today's), and is never posted. A
    /// future day is refused, and so is one before Cost Explorer's history (the last 13 months and the
    /// current month).
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

/// When a report is made, and whether its day is over: `--date` checked against `now` before anything
/// is read.
///
/// # Errors
/// A day after today's (UTC) or before Cost Explorer's history; a past day with `--post`.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
/// let (at, past) = collectiq_ops::cost::report_time(NaiveDate::from_ymd_opt(2026, 11, 30), false, now).unwrap();
/// assert_eq!((at.to_rfc3339().as_str(), past), ("2026-11-30T23:59:59+00:00", true));
/// assert_eq!(collectiq_ops::cost::report_time(None, true, now).unwrap(), (now, false));
/// assert!(collectiq_ops::cost::report_time(NaiveDate::from_ymd_opt(2026, 11, 30), true, now).is_err());
/// ```
pub fn report_time(date: Option<NaiveDate>, post: bool, now: DateTime<Utc>) -> Result<(DateTime<Utc>, bool)> {
    let as_of = as_of_for(date, now)?;
    let past = as_of.date_naive() < now.date_naive();
    if past && post {
        bail!(
            "--date {} is before today ({} UTC): a past day's report is never posted (--post), because \
             its budget tier would be announced and claimed for a period that is over; drop --post to see \
             it, with budget spend from Cost Explorer up to that day",
            as_of.date_naive(),
            now.date_naive()
        );
    }
    Ok((as_of, past))
}

/// Runs a `cost` subcommand; returns the exit code: [`exit::ERROR`] when a Slack or SNS send failed
/// (the report is still printed and written), else [`exit::OK`] — a budget tier is reported, not an
/// exit code.
///
/// # Errors
/// When `--date` is refused, the spec does not load, the pass fails, or a file cannot be written.
pub async fn run(global: &GlobalArgs, command: &CostCommand) -> Result<i32> {
    // Refusals first: nothing is read (or paid for) for a command that cannot run.
    let when = match command {
        CostCommand::Report(args) => Some(report_time(args.date, args.post, Utc::now())?),
        CostCommand::FastBurn(_) => None,
    };
    if let CostCommand::Report(args) = command {
        // A file that could not be written after the run would be found only once Cost Explorer is
        // paid and the report perhaps posted.
        check_file_targets(
            output_paths(&global.out, args.chart.as_slice())
                .iter()
                .map(PathBuf::as_path),
        )?;
    }
    let spec = load_spec(&global.platform)?;
    let clients = clients_for(global, &spec).await;
    match command {
        CostCommand::Report(args) => {
            let (as_of, past) = when.unwrap_or_else(|| (Utc::now(), false));
            if args.chart.is_some() && spec.budgets.is_empty() {
                // Refused before Cost Explorer is paid and anything is posted.
                anyhow::bail!(
                    "--chart: {} has no [[budgets]], and the chart draws a budget's burn",
                    global.platform.display()
                );
            }
            progress(&format!(
                "cost report for {} as of {}{}…",
                spec.managed_prefix(),
                as_of.format("%Y-%m-%d %H:%M UTC"),
                if past {
                    " (a past day: budget spend from Cost Explorer, not posted)"
                } else if args.post {
                    ", posting"
                } else {
                    " (dry run)"
                }
            ));
            let options = PassOptions::new(&spec, as_of)
                .with_notify(args.post)
                .with_past_day(past);
            let run = run_daily(&spec, &clients, &options).await?;
            // The report and what was posted are printed even when a file cannot be written: the run
            // has paid Cost Explorer and may have posted, and the operator must see that it did.
            let written = write_outputs(&global.out, &run, args.chart.as_slice());
            let files = match &written {
                Ok(files) => format!(
                    "Written: {}",
                    files
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(e) => format!("Not written: {e:#}"),
            };
            let text = format!(
                "{}\n{}\n{files}",
                cost::terminal::render(&run.report).trim_end(),
                run_summary(&run),
            );
            emit(global, &run, &text)?;
            written
                .context("the report ran (see above for what was sent) but not all its files were written")?;
            Ok(if run.delivery.failed() {
                // Exit 1: stderr says what failed, also when stdout goes to a file.
                crate::output::failures_to_stderr(global, &text);
                exit::ERROR
            } else {
                exit::OK
            })
        }
        CostCommand::FastBurn(args) => {
            let options = PassOptions::new(&spec, Utc::now()).with_notify(args.post);
            let run = run_fast_burn(&spec, &clients, &options).await?;
            let text = fast_burn_text(&run);
            emit(global, &run, &text)?;
            Ok(if run.delivery.failed() {
                crate::output::failures_to_stderr(global, &text);
                exit::ERROR
            } else {
                exit::OK
            })
        }
    }
}

/// The files [`write_outputs`] writes, to check them before the run ([`check_file_targets`]).
#[must_use]
pub fn output_paths(out: &Path, charts: &[ChartTarget]) -> Vec<PathBuf> {
    [REPORT_FILE, SLACK_FILE]
        .map(|name| out.join(name))
        .into_iter()
        .chain(charts.iter().map(|c| c.path.clone()))
        .collect()
}

/// The report's file under `--out`.
const REPORT_FILE: &str = "cost-report.json";
/// The Slack payload's file under `--out`.
const SLACK_FILE: &str = "cost-slack.json";

/// Writes `cost-report.json` and `cost-slack.json` under `out`, and each chart asked for. Returns the
/// paths written.
///
/// # Errors
/// When a file cannot be written or the chart cannot be drawn.
pub fn write_outputs(out: &Path, run: &DailyRun, charts: &[ChartTarget]) -> Result<Vec<PathBuf>> {
    let mut files = vec![
        write_json(out, REPORT_FILE, &run.report)?,
        write_json(out, SLACK_FILE, &run.slack)?,
    ];
    for ChartTarget { path, format } in charts {
        // What was written before a chart failed is said with the failure: the caller prints only it.
        let written = |files: &[PathBuf]| {
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let bytes = run
            .chart(*format, CHART_SIZE.0, CHART_SIZE.1)
            .map_err(|e| anyhow::anyhow!("chart {}: {e} (written: {})", path.display(), written(&files)))?;
        write_file(path, &bytes)?;
        files.push(path.clone());
    }
    Ok(files)
}

/// The lines under the report: what was decided and sent, and what the run cost.
#[must_use]
pub fn run_summary(run: &DailyRun) -> String {
    let decision = match run.decision {
        cost::alerting::AlertDecision::Nothing => "no budget transition".to_owned(),
        // The tier of spend or of its projection, whichever is higher (the Slack line says which).
        cost::alerting::AlertDecision::Notify { tier } => format!("notify: tier {}", tier.label()),
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
    t.push_str(&format!("  {}\n", run.burn.long_window.describe()));
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
    use chrono::{Datelike, TimeZone};

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

        // A chart that cannot be drawn (no budget was read) says so, and that the JSON files were written.
        let mut no_budget = run.clone();
        no_budget.report.budgets.clear();
        let out = tempfile::tempdir().unwrap();
        let e = write_outputs(out.path(), &no_budget, std::slice::from_ref(&png)).unwrap_err();
        let e = format!("{e:#}");
        assert!(
            e.starts_with("chart ") && e.contains("cost-report.json") && e.contains("cost-slack.json"),
            "{e}"
        );
        assert!(out.path().join("cost-report.json").is_file());
    }

    /// A seeded month read on a day three days ago (a past day, through the real pass on the emulator):
    /// each budget's spend is the environment's Cost Explorer total from its month's 1st to that day, not
    /// what Budgets holds now; the report, the Slack payload and the summary say so; nothing is decided.
    #[tokio::test]
    async fn a_past_day_takes_budget_spend_from_cost_explorer() {
        let emulator = collectiq_tests::Emulator::start().await.unwrap();
        let clients = emulator.clients().await;
        let spec = crate::test_support::prod_spec();
        let now = Utc::now();
        let day = now.date_naive() - chrono::Duration::days(3);
        let month = crate::seed::DemoMonth::generate(&spec, day);
        crate::seed::apply(&spec, &month, &clients, "http://127.0.0.1:9/unused")
            .await
            .unwrap();
        emulator
            .inject_cost_and_usage(&crate::seed::cost_explorer_pages(&month))
            .await
            .unwrap();
        let (as_of, past) = report_time(Some(day), false, now).unwrap();
        assert!(past);
        let options = PassOptions::new(&spec, as_of).with_past_day(past);
        let run = run_daily(&spec, &clients, &options).await.unwrap();
        let month_to_day: rust_decimal::Decimal = run
            .daily
            .iter()
            .filter(|d| d.date.with_day(1) == day.with_day(1) && d.date <= day)
            .map(|d| d.amount)
            .sum();
        assert!(month_to_day > rust_decimal::Decimal::ZERO);
        assert!(!run.report.budgets.is_empty());
        for b in &run.report.budgets {
            assert_eq!(b.actual, month_to_day, "{}", b.budget_name);
            assert_eq!(b.projections.budgets, None, "Budgets' forecast is made now");
        }
        let note = format!("{day} is a past day: budget spend is Cost Explorer's daily cost for prod");
        assert!(
            run.report.notes.iter().any(|n| n.starts_with(&note)),
            "{:#?}",
            run.report.notes
        );
        assert!(serde_json::to_string(&run.slack).unwrap().contains(&note));
        assert_eq!(run.decision, cost::alerting::AlertDecision::Nothing);
        assert!(run.sns.is_none());
        // A forecast is made from today: for a day that is over it is neither asked for nor paid.
        assert_eq!(run.calls.of("GetCostForecast"), 0, "{:?}", run.calls);
        assert!(
            run.report
                .notes
                .iter()
                .any(|n| n.contains("not requested for a past day")),
            "{:#?}",
            run.report.notes
        );
        assert!(
            run_summary(&run).contains("never posted (budget spend restated from Cost Explorer)"),
            "{}",
            run_summary(&run)
        );
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
