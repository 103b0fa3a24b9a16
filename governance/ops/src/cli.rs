//! The `collectiq-ops` command line: the clap definition and the dispatch to one module per subcommand.
//! Human output on stdout, progress on stderr, `--json` for machines, and the exit codes in [`exit`]:
//! 0 done, 1 bad invocation or an error, 2 a check ran and found a problem.

use std::ffi::OsString;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::global::{DEFAULT_PLATFORM, GlobalArgs, GlobalOption, clients_for, load_spec};
use crate::output::{emit, progress};

pub use crate::exit;

/// Observability and cost governance for CollectIQ.
#[derive(Debug, Parser)]
#[command(name = "collectiq-ops", version, after_help = exit::HELP)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One cheap read of every API the governance pass needs, ✓/✗ with the permission behind each ✗.
    Doctor,
    /// Start the local emulator, seed a CollectIQ month, and run the governance pass against it.
    Demo(crate::demo::DemoArgs),
    /// Platform spec tools.
    #[command(subcommand)]
    Spec(crate::spec::SpecCommand),
    /// Cost governance: the daily cost report and the hourly Bedrock burn check.
    #[command(subcommand)]
    Cost(crate::cost::CostCommand),
    /// CloudWatch dashboards: plan, apply, render.
    #[command(subcommand)]
    Dashboards(crate::publish::DashboardsCommand),
    /// CloudWatch alarms: plan, apply, backtest, state.
    #[command(subcommand)]
    Alarms(crate::publish::AlarmsCommand),
    /// An organisation: every account × platform in one pass through assumed roles (issue 14).
    #[command(subcommand)]
    Org(crate::org::OrgCommand),
}

impl Command {
    /// Why `option` would have no effect on this subcommand, or `None` when it uses it (each command
    /// module says so for its own subcommands, next to the code that would use the option).
    #[must_use]
    pub fn why_unused(&self, option: GlobalOption) -> Option<&'static str> {
        match self {
            Self::Doctor => (option == GlobalOption::Out).then_some(
                "doctor prints its report and writes no file (`--json` prints it as JSON on stdout)",
            ),
            Self::Demo(args) => args.why_unused(option),
            Self::Spec(command) => command.why_unused(option),
            Self::Cost(command) => command.why_unused(option),
            Self::Dashboards(command) => command.why_unused(option),
            Self::Alarms(command) => command.why_unused(option),
            Self::Org(command) => command.why_unused(option),
        }
    }
}

/// The refusal of each global option given on the command line that the subcommand would ignore, one
/// line each (none: the invocation stands). An option from the environment (`COLLECTIQ_PLATFORM`,
/// `COLLECTIQ_ENDPOINT_URL`) or left at its default is never refused: those are set once for every
/// command, not asked of this one.
fn unused_options(cli: &Cli, matches: &clap::ArgMatches) -> Vec<String> {
    // `dashboards plan`, as the user typed it.
    let mut name = Vec::new();
    let mut at = matches;
    while let Some((sub, sub_matches)) = at.subcommand() {
        name.push(sub);
        at = sub_matches;
    }
    let name = name.join(" ");
    GlobalOption::ALL
        .into_iter()
        .filter(|o| matches.value_source(o.id()) == Some(clap::parser::ValueSource::CommandLine))
        // A blank `--endpoint-url` is no endpoint (see `parse`): it asks for nothing.
        .filter(|o| *o != GlobalOption::EndpointUrl || cli.global.endpoint_url.is_some())
        .filter_map(|o| {
            let why = cli.command.why_unused(o)?;
            Some(format!("`{}` has no effect on `{name}`: {why}", o.flag()))
        })
        .collect()
}

/// Parses the command line. A usage error is printed (with clap's usage hint) and becomes
/// [`exit::ERROR`], not clap's own 2, which [`exit::FINDINGS`] reserves for checks; `--help` and
/// `--version` print and become [`exit::OK`]. A global option given on the command line to a
/// subcommand that has no use for it (`demo --region`, `org … --platform`, `doctor --out`) is such a
/// usage error, naming the option, the subcommand and why ([`Command::why_unused`]).
///
/// # Errors
/// The exit code to end the process with, after clap's message has been printed.
///
/// ```
/// use collectiq_ops::cli::{exit, parse};
/// assert_eq!(parse(["collectiq-ops", "cost", "report", "--date", "2026-13-40"]).unwrap_err(), exit::ERROR);
/// assert!(parse(["collectiq-ops", "doctor"]).is_ok());
/// assert_eq!(parse(["collectiq-ops", "doctor", "--out", "reports"]).unwrap_err(), exit::ERROR);
/// ```
pub fn parse<I, T>(args: I) -> Result<Cli, i32>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    use clap::{CommandFactory as _, FromArgMatches as _};
    let usage = |e: clap::Error| {
        // Printing can only fail on a closed stdout/stderr; the exit code still tells.
        let _ = e.print();
        if e.use_stderr() { exit::ERROR } else { exit::OK }
    };
    let matches = Cli::command().try_get_matches_from(args).map_err(usage)?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(usage)?;
    let platform_source = matches.value_source("platform");
    // Named with --platform or COLLECTIQ_PLATFORM, even when that is the default path.
    cli.global.platform_named = platform_source.is_some_and(|s| s != clap::parser::ValueSource::DefaultValue);
    if crate::global::is_blank(cli.global.platform.as_os_str()) {
        if platform_source == Some(clap::parser::ValueSource::CommandLine) {
            // `--platform "$SPEC"` with SPEC unset must not quietly mean the prod spec.
            let e = Cli::command().error(
                clap::error::ErrorKind::InvalidValue,
                format!(
                    "`--platform` is blank: name a platform spec file, or leave the option out for \
                     {DEFAULT_PLATFORM}"
                ),
            );
            return Err(usage(e));
        }
        // An exported but empty COLLECTIQ_PLATFORM counts as unset, as COLLECTIQ_ENDPOINT_URL does.
        cli.global.platform = DEFAULT_PLATFORM.into();
        cli.global.platform_named = false;
    }
    // An exported but empty COLLECTIQ_ENDPOINT_URL is no endpoint (the parser lets a blank through).
    cli.global.endpoint_url = cli.global.endpoint_url.filter(|u| !u.is_empty());
    // An option the subcommand would silently ignore is refused, as clap refuses an unknown one: the
    // user asked for something the command will not do.
    let unused = unused_options(&cli, &matches);
    if !unused.is_empty() {
        let e = Cli::command().error(clap::error::ErrorKind::ArgumentConflict, unused.join("\n"));
        return Err(usage(e));
    }
    Ok(cli)
}

/// Runs the CLI; returns the process exit code (see [`exit`]).
///
/// # Errors
/// Any failure that should end the process with a message (the binary prints it and exits
/// [`exit::ERROR`]).
pub async fn run(cli: Cli) -> Result<i32> {
    // A retry setting the SDK would ignore (a variable, or the selected profile's `max_attempts` /
    // `retry_mode`) is refused before anything runs: the user set it to mean something.
    let retry = governance::aws::retry_setting_problems(cli.global.profile.as_deref()).await;
    if !retry.is_empty() {
        anyhow::bail!("{}", retry.join("; "));
    }
    match &cli.command {
        Command::Doctor => {
            let spec = load_spec(&cli.global.platform)?;
            let clients = clients_for(&cli.global, &spec).await;
            progress(&format!("checking {} APIs for {}…", 12, spec.managed_prefix()));
            let report = governance::doctor::run(&spec, &clients).await;
            emit(&cli.global, &report, &report.to_string())?;
            // 2 only when a check found a problem; checks that could not run at all (AWS unreachable,
            // throttled, failing) are an error, 1.
            Ok(if report.all_ok() {
                exit::OK
            } else if report.found_problems() {
                exit::FINDINGS
            } else {
                exit::ERROR
            })
        }
        Command::Demo(args) => crate::demo::run(&cli.global, args).await,
        Command::Spec(command) => crate::spec::run(&cli.global, command),
        Command::Cost(command) => crate::cost::run(&cli.global, command).await,
        Command::Dashboards(command) => crate::publish::run_dashboards(&cli.global, command).await,
        Command::Alarms(command) => crate::publish::run_alarms(&cli.global, command).await,
        Command::Org(command) => crate::org::run(&cli.global, command).await,
    }
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

    /// An exported but empty `COLLECTIQ_ENDPOINT_URL` made the SDK panic; a region of `""` or `mars`
    /// reached AWS. Both are refused when parsed, naming the flag.
    #[test]
    fn endpoint_and_region_are_checked_when_parsed() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(["collectiq-ops"].iter().chain(args).chain(&["doctor"]))
                .map_err(|e| e.to_string())
        };
        for bad in ["127.0.0.1:5000", "ftp://x", "http://"] {
            let e = parse(&["--endpoint-url", bad]).unwrap_err();
            assert!(e.contains("--endpoint-url"), "{bad:?}: {e}");
        }
        assert!(parse(&["--endpoint-url", "http://127.0.0.1:5000"]).is_ok());
        // Blank (an exported but empty COLLECTIQ_ENDPOINT_URL): no endpoint, not an error.
        for blank in ["", " "] {
            let cli = super::parse(["collectiq-ops", "--endpoint-url", blank, "doctor"]).unwrap();
            assert_eq!(cli.global.endpoint_url, None, "{blank:?}");
        }
        for bad in ["", "mars", "us-east", "US-EAST-1", "us-east-x"] {
            let e = parse(&["--region", bad]).unwrap_err();
            assert!(e.contains("--region"), "{bad:?}: {e}");
        }
        for good in ["us-east-1", "eu-west-2", "us-gov-west-1", "cn-north-1"] {
            assert!(parse(&["--region", good]).is_ok(), "{good}");
        }
    }

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from([
            "collectiq-ops",
            "alarms",
            "state",
            "--post",
            "--escalate-after-minutes",
            "20",
        ])
        .unwrap();
        match cli.command {
            Command::Alarms(crate::publish::AlarmsCommand::State(a)) => {
                assert!(a.post);
                assert_eq!(a.escalate_after_minutes, Some(20));
            }
            other => panic!("{other:?}"),
        }
        let cli =
            Cli::try_parse_from(["collectiq-ops", "dashboards", "plan", "--detailed-exitcode"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Dashboards(crate::publish::DashboardsCommand::Plan(
                crate::publish::PlanArgs {
                    detailed_exitcode: true
                }
            ))
        ));
        let cli = Cli::try_parse_from(["collectiq-ops", "alarms", "plan", "--noise-budget", "3"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Alarms(crate::publish::AlarmsCommand::Plan(
                crate::publish::AlarmPlanArgs {
                    noise_budget: Some(3),
                    ..
                }
            ))
        ));
        let cli = Cli::try_parse_from(["collectiq-ops", "alarms", "backtest", "--days", "7"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Alarms(crate::publish::AlarmsCommand::Backtest(
                crate::publish::BacktestArgs { days: 7, .. }
            ))
        ));
    }

    /// Issue 13: `--escalate-after-minutes` and `alarms backtest --days` reached `chrono::Duration` and
    /// date arithmetic unchecked (a panic, or a negative delay paging at once). Out of range is a bad
    /// invocation: clap names the flag and the range, and the exit code is 1, not a panic.
    #[test]
    fn out_of_range_durations_are_a_bad_invocation() {
        let bad = [
            (
                "alarms state --escalate-after-minutes=-5",
                "--escalate-after-minutes",
                "0..=10080",
            ),
            (
                "alarms state --escalate-after-minutes=-1",
                "--escalate-after-minutes",
                "0..=10080",
            ),
            (
                "alarms state --escalate-after-minutes 9223372036854775807",
                "--escalate-after-minutes",
                "0..=10080",
            ),
            ("alarms backtest --days 0", "--days", "1..=455"),
            ("alarms backtest --days 4294967295", "--days", "1..=455"),
        ];
        for (args, flag, range) in bad {
            let argv: Vec<&str> = std::iter::once("collectiq-ops").chain(args.split(' ')).collect();
            let e = Cli::try_parse_from(&argv).unwrap_err().to_string();
            assert!(e.contains(flag) && e.contains(range), "{args}: {e}");
            assert_eq!(parse(&argv).unwrap_err(), exit::ERROR, "{args}");
        }
        assert!(
            Cli::try_parse_from([
                "collectiq-ops",
                "alarms",
                "state",
                "--escalate-after-minutes",
                "10080"
            ])
            .is_ok()
        );
        assert!(Cli::try_parse_from(["collectiq-ops", "alarms", "backtest", "--days", "455"]).is_ok());
    }

    #[test]
    fn the_command_line_refuses_other_chart_extensions_before_any_work() {
        let parse = |chart: &str| Cli::try_parse_from(["collectiq-ops", "cost", "report", "--chart", chart]);
        let e = parse("out/burn.gif").unwrap_err().to_string();
        assert!(
            e.contains("out/burn.gif: the chart is drawn as .svg or .png"),
            "{e}"
        );
        let cli = parse("out/burn.png").unwrap();
        let Command::Cost(crate::cost::CostCommand::Report(args)) = cli.command else {
            panic!("not a cost report: {:?}", cli.command);
        };
        assert_eq!(
            args.chart,
            Some(crate::cost::ChartTarget {
                path: "out/burn.png".into(),
                format: cost::chart::ChartFormat::Png
            })
        );
    }
}
