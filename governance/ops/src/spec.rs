//! `collectiq-ops spec check [FILES]` (validate specs, one summary line each) and `collectiq-ops spec
//! export-tfvars [--write FILE]` (the spec's `platform.auto.tfvars.json`, see [`crate::tfvars`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use serde::Serialize;

use crate::exit;
use crate::global::{GlobalArgs, GlobalOption, load_spec};
use crate::output::{emit, progress};

/// `spec` subcommands.
#[derive(Debug, Subcommand)]
pub enum SpecCommand {
    /// Validate spec files and print a summary of each (default: the `--platform`/`COLLECTIQ_PLATFORM`
    /// spec when one is given, else every file under infra/platforms/).
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

impl SpecCommand {
    /// Why `option` would have no effect on this subcommand, or `None` when it uses it. `--json` is
    /// taken by `export-tfvars` too: the variables are JSON either way.
    #[must_use]
    pub fn why_unused(&self, option: GlobalOption) -> Option<&'static str> {
        match (self, option) {
            (_, GlobalOption::EndpointUrl | GlobalOption::Profile | GlobalOption::Region) => {
                Some("it reads the spec files only and calls no AWS API")
            }
            (Self::Check { files }, GlobalOption::Platform) if !files.is_empty() => Some(
                "the FILES given are checked (`--platform` names the spec checked when no FILES are given)",
            ),
            (Self::Check { .. }, GlobalOption::Out) => Some("it prints its summary and writes no file"),
            (Self::ExportTfvars { .. }, GlobalOption::Out) => {
                Some("the variables go to stdout, or to the file `--write` names")
            }
            _ => None,
        }
    }
}

/// Runs a `spec` subcommand; returns the exit code: [`exit::FINDINGS`] when every file was read and one
/// does not validate, [`exit::ERROR`] when a file cannot be read (after every file's line is printed).
///
/// # Errors
/// When the spec directory cannot be listed or a file cannot be written.
pub fn run(global: &GlobalArgs, command: &SpecCommand) -> Result<i32> {
    match command {
        SpecCommand::Check { files } => spec_check(global, files),
        SpecCommand::ExportTfvars { write } => export_tfvars(global, write.as_deref()),
    }
}

fn export_tfvars(global: &GlobalArgs, write: Option<&Path>) -> Result<i32> {
    let spec = load_spec(&global.platform)?;
    let text = crate::tfvars::render(&spec)?;
    match write {
        Some(path) if same_file(path, &global.platform) => anyhow::bail!(
            "--write {} is the spec itself: the variables file goes to infra/envs/<env>/platform.auto.tfvars.json",
            path.display()
        ),
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
            progress(&format!(
                "wrote {} from {}",
                path.display(),
                global.platform.display()
            ));
        }
        None => {
            use std::io::Write as _;
            // A closed pipe (`| head`) or a full disk is an error, not a panic.
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .context("cannot write the variables to stdout")?;
        }
    }
    Ok(0)
}

/// Whether `a` and `b` name one file (both exist and resolve alike).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn spec_check(global: &GlobalArgs, files: &[PathBuf]) -> Result<i32> {
    let files = if files.is_empty() && global.platform_named {
        // The spec the user named is the one they mean; checking every other file instead would
        // print ✓ for files they never asked about and say nothing of theirs.
        vec![global.platform.clone()]
    } else if files.is_empty() {
        let dir = Path::new("infra/platforms");
        platform_spec::spec_files(dir).with_context(|| format!("cannot list {}", dir.display()))?
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
    // A file that cannot be read was never checked: that is an error (exit 1), not a finding (exit 2).
    let mut unreadable = false;
    for file in &files {
        let (ok, summary) = match platform_spec::load(file) {
            // A spec that loads but generates no valid alarms or dashboards (e.g. a widget past
            // CloudWatch's 500 metrics) would fail only at publishing: checked here too.
            Ok(s) if let Err(e) = governance::publish::Desired::for_spec(&s) => (
                false,
                format!(
                    "{}: loads, but its alarms and dashboards cannot be generated: {e}",
                    file.display()
                ),
            ),
            Ok(s) if let Err(e) = governance::publish::queries::desired_queries(&s) => (
                false,
                format!(
                    "{}: loads, but its saved Logs Insights queries cannot be generated: {e}",
                    file.display()
                ),
            ),
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
            Err(e) => {
                unreadable |= matches!(e, platform_spec::SpecError::Read { .. });
                (false, e.to_string())
            }
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
    Ok(if unreadable {
        exit::ERROR
    } else if results.iter().all(|r| r.ok) {
        exit::OK
    } else {
        exit::FINDINGS
    })
}
