//! The `collectiq-ops` command line: human output on stdout, progress on stderr, `--json` for machines,
//! non-zero exit on failure.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use platform_spec::PlatformSpec;
use serde::Serialize;

use crate::aws::{AwsClients, AwsTarget, sdk_config};
use crate::emulator::Emulator;
use crate::emulator::webhook_sink::WebhookSink;
use crate::{doctor, seed};

/// Observability and cost governance for CollectIQ.
#[derive(Debug, Parser)]
#[command(name = "collectiq-ops", version, about)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Platform spec (TOML) describing the platform environment.
    #[arg(
        long,
        global = true,
        default_value = "infra/platforms/collectiq-prod.toml",
        env = "COLLECTIQ_PLATFORM"
    )]
    pub platform: PathBuf,
    /// Send every AWS call to this endpoint (e.g. a local emulator) with test credentials.
    #[arg(long, global = true, env = "COLLECTIQ_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// AWS profile.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS region (default: the profile's, or the spec's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Where files are written.
    #[arg(long, global = true, default_value = "out")]
    pub out: PathBuf,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One cheap read of every API the governance pass needs, ✓/✗ with the permission behind each ✗.
    Doctor,
    /// Start the local emulator, seed a CollectIQ month, and run the governance pass against it.
    Demo(DemoArgs),
    /// Platform spec tools.
    #[command(subcommand)]
    Spec(SpecCommand),
}

/// `demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// "Today" for the seeded month (the month runs from its 1st to this partial day).
    #[arg(long, default_value = "2026-11-21")]
    pub as_of: NaiveDate,
}

/// `spec` subcommands.
#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Validate spec files (default: every file under infra/platforms/) and print a summary of each.
    Check {
        /// Files to check.
        files: Vec<PathBuf>,
    },
}

/// Runs the CLI; returns the process exit code.
///
/// # Errors
/// Any failure that should end the process with a message (the binary prints it and exits 1).
pub async fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Doctor => {
            let spec = load_spec(&cli.global.platform)?;
            let clients = clients_for(&cli.global, &spec).await;
            progress(&format!("checking {} APIs for {}…", 12, spec.managed_prefix()));
            let report = doctor::run(&spec, &clients).await;
            emit(&cli.global, &report, &report.to_string())?;
            Ok(if report.all_ok() { 0 } else { 2 })
        }
        Command::Demo(args) => demo(&cli.global, args).await,
        Command::Spec(SpecCommand::Check { files }) => spec_check(&cli.global, files),
    }
}

fn load_spec(path: &Path) -> Result<PlatformSpec> {
    // The error already names file, line and key.
    platform_spec::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn clients_for(global: &GlobalArgs, spec: &PlatformSpec) -> AwsClients {
    let target = AwsTarget {
        profile: global.profile.clone(),
        region: global
            .region
            .clone()
            .or_else(|| Some(spec.platform.region.clone())),
        endpoint_url: global.endpoint_url.clone(),
    };
    AwsClients::new(&sdk_config(&target).await)
}

fn progress(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "› {message}");
}

fn emit<T: Serialize>(global: &GlobalArgs, value: &T, text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if global.json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{text}")?;
    }
    Ok(())
}

fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn spec_check(global: &GlobalArgs, files: &[PathBuf]) -> Result<i32> {
    let files = if files.is_empty() {
        let dir = Path::new("infra/platforms");
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        found.sort();
        found
    } else {
        files.to_vec()
    };
    #[derive(Serialize)]
    struct Checked {
        file: String,
        ok: bool,
        summary: String,
    }
    let mut results = Vec::new();
    for file in &files {
        let (ok, summary) = match platform_spec::load(file) {
            Ok(s) => (
                true,
                format!(
                    "{}: {} functions, {} APIs, {} state machines, {} tables, {} ECS services, {} budgets",
                    s.managed_prefix(),
                    s.functions.len(),
                    s.http_apis.len(),
                    s.state_machines.len(),
                    s.tables.len(),
                    s.ecs_services.len(),
                    s.budgets.len()
                ),
            ),
            Err(e) => (false, e.to_string()),
        };
        results.push(Checked {
            file: file.display().to_string(),
            ok,
            summary,
        });
    }
    let text = results
        .iter()
        .map(|r| {
            if r.ok {
                format!("✓ {} — {}", r.file, r.summary)
            } else {
                format!("✗ {}", r.summary)
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    emit(global, &results, &text)?;
    Ok(if results.iter().all(|r| r.ok) { 0 } else { 2 })
}

/// What the demo saw, written to `out/demo.json`.
#[derive(Debug, Serialize)]
struct DemoSummary<'a> {
    platform: String,
    as_of: NaiveDate,
    valuations_month_to_date: u64,
    claude_tokens_month_to_date: (u64, u64),
    spend_month_to_date_by_service: Vec<(String, String)>,
    budgets: Vec<DemoBudgetLine>,
    seed: SeedCounts,
    doctor: &'a doctor::DoctorReport,
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

async fn demo(global: &GlobalArgs, args: &DemoArgs) -> Result<i32> {
    if global.endpoint_url.is_some() {
        bail!(
            "demo starts its own emulator; drop --endpoint-url (use `doctor --endpoint-url …` for an existing one)"
        );
    }
    let spec = load_spec(&global.platform)?;
    progress("starting the local AWS emulator (moto + CloudWatch CBOR front)…");
    let emulator = Emulator::start().await.context("cannot start the emulator")?;
    progress(&format!("emulator up at {}", emulator.endpoint()));
    let sink = WebhookSink::start(Vec::new())
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
    let seeded = seed::apply(&spec, &month, &clients, sink.url()).await?;
    progress(&format!(
        "seeded {} metric datums in {} PutMetricData calls, {} budgets, {} alarms ({} firing)",
        seeded.metric_datums, seeded.put_metric_calls, seeded.budgets, seeded.alarms.0, seeded.alarms.1
    ));
    progress("running doctor against the seeded emulator…");
    let report = doctor::run(&spec, &clients).await;

    let mtd = month.month_to_date_by_service();
    let summary = DemoSummary {
        platform: spec.managed_prefix(),
        as_of: args.as_of,
        valuations_month_to_date: month.month_days().map(|d| d.valuations).sum(),
        claude_tokens_month_to_date: seed::apply::total_tokens(&month),
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
    };
    let path = write_json(&global.out, "demo.json", &summary)?;
    let text = render_demo(&summary, &month, &path);
    emit(global, &summary, &text)?;
    Ok(if report.all_ok() { 0 } else { 2 })
}

fn render_demo(s: &DemoSummary<'_>, month: &seed::DemoMonth, path: &Path) -> String {
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
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_parse_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "collectiq-ops",
            "doctor",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--json",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Doctor));
        assert_eq!(cli.global.endpoint_url.as_deref(), Some("http://127.0.0.1:1"));
        assert!(cli.global.json);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(51_234_567), "51,234,567");
    }
}
