//! The `collectiq-ops` command line: human output on stdout, progress on stderr, `--json` for machines,
//! non-zero exit on failure.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use platform_spec::PlatformSpec;
use serde::Serialize;

use crate::aws::{AwsClients, AwsTarget, sdk_config};
use crate::doctor;

/// Observability and cost governance for CollectIQ.
#[derive(Debug, Parser)]
#[command(name = "collectiq-ops", version)]
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
    /// Cost governance: the daily cost report and the hourly Bedrock burn check.
    #[command(subcommand)]
    Cost(crate::cost_pass::cli::CostCommand),
    /// CloudWatch dashboards: plan, apply, render.
    #[command(subcommand)]
    Dashboards(crate::publish::cli::DashboardsCommand),
    /// CloudWatch alarms: plan, apply, backtest, state.
    #[command(subcommand)]
    Alarms(crate::publish::cli::AlarmsCommand),
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
    /// Print the spec's `platform.auto.tfvars.json` for Terraform (or write it with `--write`).
    ExportTfvars {
        /// Write to this file instead of stdout (e.g. infra/envs/prod/platform.auto.tfvars.json).
        #[arg(long)]
        write: Option<PathBuf>,
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
        Command::Demo(args) => crate::demo::run(&cli.global, args).await,
        Command::Spec(SpecCommand::Check { files }) => spec_check(&cli.global, files),
        Command::Spec(SpecCommand::ExportTfvars { write }) => export_tfvars(&cli.global, write.as_deref()),
        Command::Cost(command) => crate::cost_pass::cli::run(&cli.global, command).await,
        Command::Dashboards(command) => crate::publish::cli::run_dashboards(&cli.global, command).await,
        Command::Alarms(command) => crate::publish::cli::run_alarms(&cli.global, command).await,
    }
}

pub(crate) fn load_spec(path: &Path) -> Result<PlatformSpec> {
    // The error already names file, line and key.
    platform_spec::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) async fn clients_for(global: &GlobalArgs, spec: &PlatformSpec) -> AwsClients {
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

pub(crate) fn progress(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "› {message}");
}

pub(crate) fn emit<T: Serialize>(global: &GlobalArgs, value: &T, text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if global.json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{text}")?;
    }
    Ok(())
}

pub(crate) fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn export_tfvars(global: &GlobalArgs, write: Option<&Path>) -> Result<i32> {
    let spec = load_spec(&global.platform)?;
    let text = crate::tfvars::render(&spec)?;
    match write {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
            progress(&format!(
                "wrote {} from {}",
                path.display(),
                global.platform.display()
            ));
        }
        None => print!("{text}"),
    }
    Ok(0)
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
}
