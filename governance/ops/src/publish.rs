//! `collectiq-ops dashboards plan|apply|render` (the dashboards and the Logs Insights saved queries) and
//! `collectiq-ops alarms plan|apply|backtest|state`.
//!
//! Exit codes: 0 done; 1 an item failed to publish (every one is named) or nothing could be done (the
//! message says why) — an error while running, not a finding; 2 only for `plan --detailed-exitcode`
//! when changes are pending.

use alarms::announce::AnnounceOptions;
use anyhow::{Context, Result};
use chrono::{Duration, Utc};
use clap::{Args, Subcommand};
use governance::ledger::Ledger;
use governance::publish::backtest::{MAX_BACKTEST_DAYS, backtest_catalogue};
use governance::publish::cloudwatch::with_publishing_retries;
use governance::publish::lambda::ESCALATE_AFTER_MINUTES;
use governance::publish::queries::{QueryPlanView, QueryPlanning};
use governance::publish::state::{
    EscalationReport, StateOptions, announce, escalate, render_slack, render_text, state_report,
};
use governance::publish::{ApplyOptions, ApplyReport, Desired, PlanView};
use serde::Serialize;
use std::path::PathBuf;

use crate::exit;
use crate::global::{GlobalArgs, GlobalOption, clients_for, load_spec};
use crate::output::{check_file_targets, emit, progress, write_json};
use crate::progress::progress_bar;

/// `dashboards` subcommands.
#[derive(Debug, Subcommand)]
pub enum DashboardsCommand {
    /// Compare the generated dashboards and Logs Insights saved queries with the published ones; print
    /// create/update/delete/unchanged and the monthly $ delta. Writes nothing.
    Plan(PlanArgs),
    /// Publish only what changed (dashboards and saved queries); delete orphans under the managed prefix.
    Apply,
    /// Write the generated dashboard bodies to `<out>/dashboards/` without calling AWS.
    Render,
}

/// `alarms` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlarmsCommand {
    /// Compare the alarm catalogue with DescribeAlarms; print the plan and the monthly $ delta.
    Plan(AlarmPlanArgs),
    /// Write only what changed (≤ 3 writes per second), delete orphans under the managed prefix.
    Apply,
    /// Replay every alarm over its metric's history and warn about noisy alarms.
    Backtest(BacktestArgs),
    /// What is firing, since when, flaps, recoveries, and faulting traces as evidence.
    State(StateArgs),
}

/// The Slack payload `alarms state` writes under `--out`.
const ALARM_STATE_FILE: &str = "alarm-state.slack.json";

/// Why a plan takes no `--out`: it writes nothing.
const PLAN_WRITES_NO_FILE: &str = "a plan writes no file (`--json` prints it as JSON on stdout)";

impl DashboardsCommand {
    /// Why `option` would have no effect on this subcommand, or `None` when it uses it.
    #[must_use]
    pub fn why_unused(&self, option: GlobalOption) -> Option<&'static str> {
        match (self, option) {
            (Self::Plan(_), GlobalOption::Out) => Some(PLAN_WRITES_NO_FILE),
            (Self::Apply, GlobalOption::Out) => Some(
                "apply publishes to CloudWatch and writes no file (`dashboards render` writes the bodies \
                 under `--out`)",
            ),
            (Self::Render, GlobalOption::EndpointUrl | GlobalOption::Profile | GlobalOption::Region) => {
                Some("render writes the bodies generated from the spec and calls no AWS API")
            }
            _ => None,
        }
    }
}

impl AlarmsCommand {
    /// Why `option` would have no effect on this subcommand, or `None` when it uses it.
    #[must_use]
    pub fn why_unused(&self, option: GlobalOption) -> Option<&'static str> {
        match (self, option) {
            (Self::Plan(_), GlobalOption::Out) => Some(PLAN_WRITES_NO_FILE),
            (Self::Apply, GlobalOption::Out) => Some("apply publishes to CloudWatch and writes no file"),
            (Self::Backtest(_), GlobalOption::Out) => Some(
                "the backtest prints its result and writes no file (`--json` prints it as JSON on stdout)",
            ),
            _ => None,
        }
    }
}

/// `plan` options.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 2 when the plan has changes (like `terraform plan -detailed-exitcode`).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// `alarms plan` options.
#[derive(Debug, Args)]
pub struct AlarmPlanArgs {
    /// Plan options.
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Backtest every alarm over 14 days and warn about those that would have paged more than this
    /// many times.
    #[arg(long)]
    pub noise_budget: Option<u32>,
}

/// `alarms backtest` options.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Days of history, 1 to 455 (CloudWatch keeps 1-minute data for 15 days, 5-minute for 63, hourly for
    /// 455: an alarm whose period does not reach that far back is skipped, saying why).
    #[arg(long, default_value_t = 14,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_BACKTEST_DAYS)))]
    pub days: u32,
    /// Most pages per alarm tolerated in the window.
    #[arg(long, default_value_t = 5)]
    pub noise_budget: u32,
}

/// `alarms state` options.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Post the report to Slack now (webhook from the spec's Secrets Manager secret), even when nothing
    /// changed. The post is recorded in the ledger like the alarms Lambda's, so its next run does not
    /// post the same state again, and a post an earlier run left pending is sent first.
    #[arg(long)]
    pub post: bool,
    /// Escalate critical alarms firing at least this many minutes (0 to 10080, a week) to the critical
    /// SNS topic (once per episode, via the ledger).
    #[arg(long, value_parser = clap::value_parser!(i64).range(ESCALATE_AFTER_MINUTES))]
    pub escalate_after_minutes: Option<i64>,
}

#[derive(Serialize)]
struct PlanJson {
    dashboards: Option<PlanView>,
    alarms: Option<PlanView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queries: Option<QueryPlanView>,
}

/// What `dashboards apply` wrote: the dashboards, and the saved queries (or why not).
#[derive(Serialize)]
struct DashboardsApplyJson<'a> {
    dashboards: &'a ApplyReport,
    queries: QueryPlanView,
    queries_applied: Option<ApplyReport>,
}

/// Runs a `dashboards` subcommand; returns the exit code.
///
/// # Errors
/// When the spec does not load, a generated dashboard is invalid, or AWS cannot be read.
pub async fn run_dashboards(global: &GlobalArgs, cmd: &DashboardsCommand) -> Result<i32> {
    let spec = load_spec(&global.platform)?;
    let desired = Desired::for_spec(&spec)?;
    let prefix = spec.managed_prefix();
    if let DashboardsCommand::Render = cmd {
        let dir = global.out.join("dashboards");
        let names: Vec<String> = desired
            .dashboards
            .iter()
            .map(|d| format!("{}.json", d.name))
            .collect();
        // Every target is checked before the first is written: a refusal leaves no partial set.
        let targets: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
        check_file_targets(targets.iter().map(PathBuf::as_path))?;
        let mut lines = Vec::new();
        for (d, name) in desired.dashboards.iter().zip(&names) {
            let path = write_json(&dir, name, &d.body)?;
            lines.push(format!(
                "✓ {} — {} widgets, {} metrics → {}",
                d.name,
                d.body.widgets.len(),
                dashboards::validate::metric_count(&d.body),
                path.display()
            ));
        }
        let names: Vec<&str> = desired.dashboards.iter().map(|d| d.name.as_str()).collect();
        emit(global, &names, &lines.join("\n"))?;
        return Ok(0);
    }
    // The saved Logs Insights queries are regional and name the spec's log groups: planned or written
    // from another region they would miss the ones published and query groups that are not there.
    refuse_other_region(
        global,
        &spec,
        &format!("the saved Logs Insights queries of {prefix} name log groups"),
    )?;
    let desired_queries = governance::publish::queries::desired_queries(&spec)?;
    let clients = clients_for(global, &spec).await;
    let cw = with_publishing_retries(&clients.cloudwatch);
    let logs = governance::publish::queries::with_publishing_retries(&clients.logs);
    progress(&format!(
        "reading the dashboards of the account ({prefix}-* in full)…"
    ));
    let plan = governance::publish::dashboards::plan(&cw, &desired.dashboards, &prefix)
        .await
        .context("cannot read the published dashboards")?;
    progress(&format!(
        "reading the saved Logs Insights queries under {prefix}/…"
    ));
    let queries = governance::publish::queries::plan_or_skip(&logs, &desired_queries, &prefix).await;
    match cmd {
        DashboardsCommand::Plan(args) => {
            let queries = queries.context("cannot read the saved Logs Insights queries")?;
            let view = PlanJson {
                dashboards: Some(PlanView::of_dashboards(&plan)),
                alarms: None,
                queries: Some(QueryPlanView::of(&queries)),
            };
            let text = format!("{}\n{}", plan.render_text(), queries.render_text());
            emit(global, &view, text.trim_end())?;
            Ok(
                if args.detailed_exitcode && !(plan.is_empty() && queries.is_empty()) {
                    2
                } else {
                    0
                },
            )
        }
        DashboardsCommand::Apply => {
            progress(&plan.render_text());
            let report =
                governance::publish::dashboards::apply(&cw, &plan, &progress_bar("dashboards")).await;
            let mut text = report.render_text("dashboards");
            // A failed read of the saved queries does not hold the dashboards back; it fails the run.
            let (view, queries_applied, read_ok) = match &queries {
                Ok(planning) => {
                    let applied = match planning {
                        QueryPlanning::Planned(p) => {
                            progress(&p.render_text());
                            let applied =
                                governance::publish::queries::apply(&logs, p, &progress_bar("saved queries"))
                                    .await;
                            text.push_str(&applied.render_text("saved queries"));
                            Some(applied)
                        }
                        QueryPlanning::Unsupported(note) => {
                            text.push_str(&format!("{note}\n"));
                            None
                        }
                    };
                    (QueryPlanView::of(planning), applied, true)
                }
                Err(e) => {
                    text.push_str(&format!("✗ cannot read the saved Logs Insights queries: {e}\n"));
                    (QueryPlanView::default(), None, false)
                }
            };
            let ok = read_ok && report.ok() && queries_applied.as_ref().is_none_or(ApplyReport::ok);
            let json = DashboardsApplyJson {
                dashboards: &report,
                queries: view,
                queries_applied,
            };
            emit(global, &json, text.trim_end())?;
            // An item that failed to publish is an error while running, not a finding.
            if !ok {
                crate::output::failures_to_stderr(global, &text);
            }
            Ok(if ok { exit::OK } else { exit::ERROR })
        }
        DashboardsCommand::Render => Ok(0),
    }
}

/// Refuses a `--region` other than the spec's for a command whose resources (`what`, "… in") are the
/// spec region's, before any AWS call.
///
/// # Errors
/// The refusal, naming both regions and the spec.
fn refuse_other_region(global: &GlobalArgs, spec: &platform_spec::PlatformSpec, what: &str) -> Result<()> {
    if let Some(region) = global.region.as_deref().filter(|r| *r != spec.platform.region) {
        anyhow::bail!(
            "--region {region}: {what} in {}, the spec's region ({}); drop --region, or give --platform a \
             spec of the platform in {region}",
            spec.platform.region,
            global.platform.display()
        );
    }
    Ok(())
}

/// Runs an `alarms` subcommand; returns the exit code.
///
/// # Errors
/// When the spec does not load, the catalogue is invalid, or AWS cannot be read.
pub async fn run_alarms(global: &GlobalArgs, cmd: &AlarmsCommand) -> Result<i32> {
    let spec = load_spec(&global.platform)?;
    // Alarms are regional and notify their own region's SNS topics: written from another region they
    // would watch metrics nothing publishes there (or are refused for the spec's topics), and read
    // from one they find none.
    refuse_other_region(
        global,
        &spec,
        &format!(
            "the alarms of {} watch metrics and notify topics",
            spec.managed_prefix()
        ),
    )?;
    let catalogue = governance::publish::alarms::desired_catalogue(&spec)?;
    let prefix = spec.managed_prefix();
    let clients = clients_for(global, &spec).await;
    let cw = with_publishing_retries(&clients.cloudwatch);
    match cmd {
        AlarmsCommand::Plan(args) => {
            progress(&format!(
                "reading every alarm of the account ({} in the catalogue)…",
                catalogue.alarms.len()
            ));
            let mut planning = governance::publish::alarms::plan(&cw, &catalogue, &prefix)
                .await
                .context("cannot read the published alarms")?;
            if let Some(max_fires) = args.noise_budget {
                let budget = alarms::plan::NoiseBudget {
                    max_fires,
                    window_days: 14,
                };
                progress("backtesting the catalogue over 14 days for the noise budget…");
                let summary =
                    backtest_catalogue(&cw, &catalogue, Utc::now(), budget.window_days, budget).await;
                planning.plan.apply_noise_budget(&summary.fires(), budget);
            }
            let view = PlanJson {
                dashboards: None,
                alarms: Some(PlanView::of_alarms(&planning)),
                queries: None,
            };
            emit(global, &view, planning.render_text().trim_end())?;
            Ok(if args.plan.detailed_exitcode && !planning.is_empty() {
                2
            } else {
                0
            })
        }
        AlarmsCommand::Apply => {
            let planning = governance::publish::alarms::plan(&cw, &catalogue, &prefix)
                .await
                .context("cannot read the published alarms")?;
            progress(&planning.render_text());
            let report = governance::publish::alarms::apply(
                &cw,
                &planning.plan,
                ApplyOptions::default(),
                &progress_bar("alarms"),
            )
            .await;
            let text = report.render_text("alarms");
            emit(global, &report, text.trim_end())?;
            if !report.ok() {
                crate::output::failures_to_stderr(global, &text);
            }
            Ok(if report.ok() { exit::OK } else { exit::ERROR })
        }
        AlarmsCommand::Backtest(args) => {
            progress(&format!(
                "GetMetricData for {} alarms over {} days…",
                catalogue.alarms.len(),
                args.days
            ));
            let budget = alarms::plan::NoiseBudget {
                max_fires: args.noise_budget,
                window_days: args.days,
            };
            let summary = backtest_catalogue(&cw, &catalogue, Utc::now(), args.days, budget).await;
            emit(global, &summary, summary.render_text().trim_end())?;
            // Nothing evaluated is a failed run (AWS unreachable, access denied), not a clean backtest.
            if !summary.alarms.is_empty() && summary.alarms.iter().all(|a| a.fires.is_none()) {
                // A read failure says why, rather than a structural skip (a composite) listed first.
                let skips = || summary.alarms.iter().filter_map(|a| a.skipped.as_deref());
                let why = skips()
                    .find(|w| w.contains("failed"))
                    .or_else(|| skips().next())
                    .unwrap_or("no data");
                anyhow::bail!("no alarm could be evaluated: {why}");
            }
            Ok(0)
        }
        AlarmsCommand::State(args) => {
            // Checked before the alarms are read (and anything escalated or posted).
            let slack_path = global.out.join(ALARM_STATE_FILE);
            check_file_targets([slack_path.as_path()])?;
            let report = state_report(
                &cw,
                &clients.xray,
                &spec,
                &catalogue,
                Utc::now(),
                StateOptions::default(),
            )
            .await
            .context("cannot read the alarms")?;
            let slack = render_slack(&report);
            let path = write_json(&global.out, ALARM_STATE_FILE, &slack)?;
            let mut text = render_text(&report);
            text.push_str(&format!("Slack payload: {}\n", path.display()));
            let mut code = 0;
            let ledger = Ledger::new(clients.dynamodb.clone(), &spec.ledger.table);
            // As the alarms Lambda does: escalate first, so an escalation made now is a reason to post,
            // then post through the same announce path (recorded pending, marked sent, the announced
            // state advanced) — so the next scheduled run does not post the same state again.
            let mut escalation = EscalationReport::default();
            if let Some(minutes) = args.escalate_after_minutes {
                let esc = escalate(
                    &report,
                    Duration::minutes(minutes),
                    &ledger,
                    &clients.sns,
                    &spec.notifications.sns_critical_topic_arn,
                )
                .await;
                text.push_str(&format!(
                    "Escalated {} to SNS, {} already escalated this episode, {} not yet {minutes} min.\n",
                    esc.escalated.len(),
                    esc.already_escalated.len(),
                    esc.not_yet.len()
                ));
                if !esc.in_flight.is_empty() {
                    text.push_str(&format!(
                        "Being escalated by another run (not yet marked sent): {}.\n",
                        esc.in_flight.join(", ")
                    ));
                }
                for (name, why) in &esc.failures {
                    text.push_str(&format!("✗ escalation of {name}: {why}\n"));
                    code = exit::ERROR;
                }
                escalation = esc;
            }
            if args.post {
                // Asked for by a person: post even when nothing changed since the last announcement.
                let options = AnnounceOptions {
                    always_post: true,
                    ..AnnounceOptions::default()
                };
                let announced = announce(
                    &report,
                    escalation.paged(),
                    &ledger,
                    &governance::cost_pass::SdkChannels::new(&clients),
                    &spec.notifications.slack_webhook_secret,
                    options,
                )
                .await;
                if !announced.resent.is_empty() {
                    text.push_str(&format!(
                        "Sent {} post(s) an earlier run left pending.\n",
                        announced.resent.len()
                    ));
                }
                match (&announced.failure, announced.posted) {
                    (Some(why), _) => {
                        text.push_str(&format!("✗ Slack: {why}\n"));
                        code = exit::ERROR;
                    }
                    (None, true) => text.push_str("Posted to Slack.\n"),
                    (None, false) => text.push_str("Not posted.\n"),
                }
            }
            emit(global, &report, text.trim_end())?;
            if code == exit::ERROR {
                crate::output::failures_to_stderr(global, &text);
            }
            Ok(code)
        }
    }
}
