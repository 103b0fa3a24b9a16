//! `collectiq-ops spec check [FILES]` (validate specs, one summary line each) and `collectiq-ops spec
//! export-tfvars [--write FILE]` (the spec's `platform.auto.tfvars.json`, see [`crate::tfvars`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use serde::Serialize;

use crate::exit;
use crate::global::{GlobalArgs, GlobalOption, load_spec};
use crate::output::{emit, error_line, progress, write_file, write_stdout};

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
    // Refused before anything is read: a swapped path must not cost a spec.
    if let Some(path) = write {
        refuse_spec_target(path, &global.platform)?;
    }
    let spec = load_spec(&global.platform)?;
    let text = crate::tfvars::render(&spec)?;
    match write {
        Some(path) => {
            write_file(path, text.as_bytes())?;
            progress(&format!(
                "wrote {} from {}",
                path.display(),
                global.platform.display()
            ));
        }
        // A closed pipe (`| head`) ends the output quietly; a full disk is an error, not a panic.
        None => write_stdout(text.as_bytes()).context("cannot write the variables to stdout")?,
    }
    Ok(0)
}

/// Refuses a `--write` target that is a platform or organisation spec: the spec read (a swapped dev/prod
/// path), any `.toml` file, or an existing file that parses as TOML with a `[platform]` or
/// `[organization]` table — overwriting it with the variables would destroy it.
fn refuse_spec_target(path: &Path, platform: &Path) -> Result<()> {
    let refuse = |why: &str| {
        anyhow::bail!(
            "--write {}: {why}; the variables file goes to infra/envs/<env>/platform.auto.tfvars.json",
            path.display()
        )
    };
    if same_file(path, platform) {
        return refuse("it is the spec itself");
    }
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
        return refuse("a .toml file is a spec, not a variables file");
    }
    // A FIFO or a device would block the read below (and the write) until another process opens it.
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return refuse("it exists and is not a regular file");
    }
    // Specs are at most 1 MiB; a larger or unreadable file is not one (the write says what is wrong).
    let text = std::fs::File::open(path).ok().and_then(|f| {
        use std::io::Read as _;
        let mut text = String::new();
        let limit = platform_spec::MAX_SPEC_BYTES;
        let read = f.take(limit + 1).read_to_string(&mut text).ok()?;
        (u64::try_from(read).ok()? <= limit).then_some(text)
    });
    let table = text.and_then(|t| t.parse::<toml::Table>().ok()).and_then(|t| {
        ["platform", "organization"]
            .into_iter()
            .find(|k| t.get(*k).is_some_and(toml::Value::is_table))
    });
    if let Some(table) = table {
        return refuse(&format!("it is a spec (its [{table}] table)"));
    }
    Ok(())
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
        #[serde(skip)]
        unreadable: bool,
    }
    let mut results = Vec::new();
    for file in &files {
        let loaded = platform_spec::load(file);
        let (ok, summary) = match &loaded {
            // A spec that loads but generates no valid alarms or dashboards (e.g. a widget past
            // CloudWatch's 500 metrics) would fail only at publishing: checked here too.
            Ok(s) if let Err(e) = governance::publish::Desired::for_spec(s) => (
                false,
                format!(
                    "{}: loads, but its alarms and dashboards cannot be generated: {e}",
                    file.display()
                ),
            ),
            Ok(s) if let Err(e) = governance::publish::queries::desired_queries(s) => (
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
            Err(e) => (false, e.to_string()),
        };
        results.push(Checked {
            file: file.display().to_string(),
            ok,
            summary,
            unreadable: matches!(loaded, Err(platform_spec::SpecError::Read { .. })),
        });
    }
    let text = results
        .iter()
        .map(|r| {
            if r.ok {
                format!("✓ {} — {}", r.file, r.summary)
            } else {
                // One `✗` line per problem: `--json` sends each to stderr, not only the first.
                crossed(&r.summary)
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    emit(global, &results, &text)?;
    if !global.json {
        // Exit 1 means stderr says what and where (`--json` has already sent the `✗` lines there).
        for r in results.iter().filter(|r| r.unreadable) {
            error_line(&r.summary);
        }
    }
    // A file that cannot be read was never checked: that is an error (exit 1), not a finding (exit 2).
    Ok(if results.iter().any(|r| r.unreadable) {
        exit::ERROR
    } else if results.iter().all(|r| r.ok) {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

/// Each line of a failure summary (a spec error lists one problem a line) as a `✗` line.
fn crossed(summary: &str) -> String {
    summary
        .lines()
        .map(|l| format!("✗ {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
