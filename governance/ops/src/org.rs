//! `collectiq-ops org plan|run --org FILE`: govern every account × platform of an organisation in one
//! process — the same per-item work the organisation state machine (`infra/modules/org`) runs as a Map
//! state — with the organisation's cost read once in the management account.
//!
//! `plan` assumes every member role, plans dashboards and alarms, and builds every cost report and the
//! roll-up without writing to CloudWatch or posting; `run` applies the plans, and with `--post` sends each
//! platform's report to its channel and the roll-up to the organisation's. The summary names every item
//! that failed, where (assume role, publish, cost) and why (the AWS failure class). Exit code 0 when
//! every item completed; 1 when some item failed (the other items' results stand) or the pass could
//! not run (the organisation spec does not load), as the README says. The whole outcome is written to `out/org-<name>.json`.
//!
//! With `[discovery]` in the organisation spec, the members are first listed in the management account
//! (`organizations:ListAccounts` and each account's platforms tag); a discovery that cannot finish
//! (access denied, throttled past the retries) stops the command before anything is governed.
//!
//! The credentials the command runs with are governance's own (in the management account, or a
//! delegated account trusted by every member role; Cost Explorer is read only with the management
//! account's — the cost stage checks the caller's account): see `docs/organisation.md`.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use governance::aws::{AwsTarget, sdk_config};
use governance::org::discover::discover;
use governance::org::{Mode, OrgDeps, OrgOptions, run_org};

use crate::global::{GlobalArgs, GlobalOption};
use crate::output::{emit, progress, write_json};

/// `org …`.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Assume every member role, plan dashboards and alarms, build the cost reports and the roll-up;
    /// change nothing in CloudWatch, post nothing.
    Plan(OrgArgs),
    /// Apply every plan; with `--post`, send every report and the roll-up.
    Run(OrgRunArgs),
}

impl OrgCommand {
    /// Why `option` would have no effect on this subcommand, or `None` when it uses it.
    #[must_use]
    pub fn why_unused(&self, option: GlobalOption) -> Option<&'static str> {
        match option {
            GlobalOption::Platform => {
                Some("the organisation spec (`--org`) names the platform specs governed in each account")
            }
            GlobalOption::EndpointUrl
            | GlobalOption::Profile
            | GlobalOption::Region
            | GlobalOption::Json
            | GlobalOption::Out => None,
        }
    }
}

/// Options of `org plan`.
#[derive(Debug, Args)]
pub struct OrgArgs {
    /// The organisation spec (`infra/platforms/org/collectiq-group.toml`).
    #[arg(long, value_name = "FILE")]
    pub org: PathBuf,
    /// Report day (default today, UTC); a future day is refused.
    #[arg(long)]
    pub date: Option<NaiveDate>,
    /// Items at once (default: the spec's `max_concurrency`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub max_concurrency: Option<u32>,
    /// Skip dashboards and alarms.
    #[arg(long)]
    pub no_publish: bool,
    /// Skip the cost reports and the roll-up (no Cost Explorer request).
    #[arg(long)]
    pub no_cost: bool,
}

/// Options of `org run`.
#[derive(Debug, Args)]
pub struct OrgRunArgs {
    /// What `plan` takes.
    #[command(flatten)]
    pub common: OrgArgs,
    /// Post every platform's report to its channel and the roll-up to the organisation's.
    #[arg(long)]
    pub post: bool,
}

/// Runs `org plan|run`; returns the exit code.
///
/// # Errors
/// When the organisation spec does not load, its members cannot be discovered, the date is in the
/// future, or `out/` cannot be written.
pub async fn run(global: &GlobalArgs, command: &OrgCommand) -> Result<i32> {
    let (args, mode, post) = match command {
        OrgCommand::Plan(a) => (a, Mode::Plan, false),
        OrgCommand::Run(a) => (&a.common, Mode::Run, a.post),
    };
    // Refused before anything is read: flags that cancel each other, and a past day's reports are never
    // posted (as `cost report`).
    if post && args.no_cost {
        anyhow::bail!(
            "--post posts the cost reports and the roll-up, which --no-cost skips: drop one of them"
        );
    }
    if args.no_publish && args.no_cost {
        anyhow::bail!("--no-publish and --no-cost together leave nothing to do: drop one of them");
    }
    let (as_of, past_day) = crate::cost::report_time(args.date, post, Utc::now())?;
    let org = platform_spec::load_org(&args.org).map_err(|e| anyhow::anyhow!("{e}"))?;
    let o = &org.spec.organization;
    // The summary file is checked before any account is read, published to or posted from.
    crate::output::check_file_targets([global.out.join(format!("org-{}.json", o.name)).as_path()])?;
    let target = AwsTarget {
        profile: global.profile.clone(),
        region: global.region.clone().or_else(|| Some(o.region.clone())),
        endpoint_url: global.endpoint_url.clone(),
    };
    let deps = OrgDeps::new(sdk_config(&target).await);
    if org.spec.discovery.is_some() {
        progress(&format!(
            "discovering the members of {} (organizations:ListAccounts)",
            o.name
        ));
    }
    let org = discover(&org, &deps.organizations)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(m) = &org.membership {
        // The headline now; every skipped and rejected account is in the summary at the end.
        progress(m.render().lines().next().unwrap_or_default());
    }
    let o = &org.spec.organization;
    let mut options = OrgOptions::new(&org, mode, as_of);
    options.notify = post;
    options.past_day = past_day;
    options.publish = !args.no_publish;
    options.cost = !args.no_cost;
    if let Some(n) = args.max_concurrency {
        options.max_concurrency = n as usize;
    }
    progress(&format!(
        "{} {}: {} item(s) in {} account(s), {} at once",
        match mode {
            Mode::Plan => "planning",
            Mode::Run => "running",
        },
        o.name,
        org.items.len(),
        org.by_account().len(),
        options.max_concurrency
    ));
    let outcome = run_org(&org, &deps, &options).await;
    let path = write_json(&global.out, &format!("org-{}.json", o.name), &outcome)?;
    progress(&format!("wrote {}", path.display()));
    let mut text = outcome.render_summary();
    if let Some(rollup) = &outcome.rollup {
        text.push('\n');
        text.push_str(&rollup.render_text());
    }
    if let Some(delivery) = &outcome.rollup_delivery {
        text.push_str(&format!("Roll-up: {delivery}\n"));
    }
    emit(global, &outcome, &text)?;
    // An item that failed (a role not assumed, a call refused) is an error while running, as a failed
    // publish is for `dashboards|alarms apply`; the other items' results are in the summary regardless.
    Ok(if outcome.ok() {
        crate::exit::OK
    } else {
        crate::output::failures_to_stderr(global, &text);
        crate::exit::ERROR
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(subcommand)]
        command: OrgCommand,
    }

    #[test]
    fn plan_and_run_parse_their_options() {
        let w = Wrapper::try_parse_from(["x", "run", "--org", "o.toml", "--post", "--max-concurrency", "4"])
            .unwrap();
        match w.command {
            OrgCommand::Run(a) => {
                assert!(a.post);
                assert_eq!(a.common.max_concurrency, Some(4));
                assert_eq!(a.common.org, PathBuf::from("o.toml"));
            }
            OrgCommand::Plan(_) => panic!("parsed as plan"),
        }
        assert!(
            Wrapper::try_parse_from(["x", "plan"]).is_err(),
            "--org is required"
        );
        assert!(Wrapper::try_parse_from(["x", "plan", "--org", "o", "--max-concurrency", "0"]).is_err());
        assert!(
            Wrapper::try_parse_from(["x", "plan", "--org", "o", "--post"]).is_err(),
            "plan never posts"
        );
    }
}
