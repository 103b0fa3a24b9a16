//! The exit codes of the real `collectiq-ops` binary, one meaning each (see `collectiq-ops --help`):
//! 0 done, 1 bad invocation or an error, 2 a check ran and found a problem. Clap's own usage errors exit
//! 2, which would read as "a check failed" to a scheduler, so each kind of usage error is run here.
//!
//! None of these needs AWS: the refusals happen before any client is built, and where a command would
//! reach AWS it is pointed at a closed loopback port with one attempt per call.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up helpers: failing loudly is the point

use std::process::{Command, Output};

fn ops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_collectiq-ops"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(args)
        // Nothing here may reach a real account: a stray call goes to a closed port, once.
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("COLLECTIQ_ENDPOINT_URL")
        .env_remove("COLLECTIQ_PLATFORM")
        .env_remove("HTTP_API_IDS")
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn an_impossible_date_is_a_bad_invocation_not_a_failed_check() {
    let out = ops(&["cost", "report", "--date", "2026-13-40"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("invalid value '2026-13-40' for '--date <DATE>'"),
        "the message names the value and the option: {err}"
    );
    assert!(stdout(&out).is_empty(), "nothing on stdout: {}", stdout(&out));
}

#[test]
fn every_kind_of_usage_error_exits_1() {
    for args in [
        &["no-such-command"][..],
        &["doctor", "--no-such-flag"],
        &["cost", "report", "--chart", "burn.gif"],
        &["alarms", "plan", "--noise-budget", "many"],
        &["cost"],
        &[],
    ] {
        let out = ops(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("Usage: collectiq-ops") || err.contains("try '--help'"),
            "{args:?}: the usage or the way to it is shown: {err}"
        );
        assert!(stdout(&out).is_empty(), "{args:?}: nothing on stdout");
    }
}

#[test]
fn help_and_version_exit_0_and_help_documents_the_exit_codes() {
    let help = ops(&["--help"]);
    assert_eq!(help.status.code(), Some(0), "{}", stderr(&help));
    let text = stdout(&help);
    for line in [
        "Exit codes:",
        "  0  done; nothing found",
        "  1  bad invocation",
        "  2  a check found a problem",
    ] {
        assert!(text.contains(line), "{line:?} in --help:\n{text}");
    }
    let sub = ops(&["cost", "report", "--help"]);
    assert_eq!(sub.status.code(), Some(0), "{}", stderr(&sub));
    let version = ops(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        stdout(&version).trim(),
        format!("collectiq-ops {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_future_date_is_refused_before_any_aws_call() {
    // Two days ahead: still in the future if the binary starts after a midnight UTC this test spans.
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(2)).to_string();
    let out = ops(&[
        "cost",
        "report",
        "--date",
        &tomorrow,
        "--endpoint-url",
        &closed_port(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("--date {tomorrow} is in the future")),
        "{err}"
    );
    assert!(
        !err.contains("cost report for"),
        "refused before the run started: {err}"
    );
}

/// Cost Explorer holds the last 13 months and the current month (AWS Cost Management user guide): a
/// day 15 months back cannot be read, and is refused naming `--date` before anything is read.
#[test]
fn a_date_older_than_cost_explorers_history_is_refused_before_any_aws_call() {
    let old = (chrono::Utc::now().date_naive() - chrono::Months::new(15)).to_string();
    let out = ops(&["cost", "report", "--date", &old, "--endpoint-url", &closed_port()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("--date {old} is too far back")) && err.contains("13 months"),
        "{err}"
    );
    assert!(
        !err.contains("cost report for"),
        "refused before the run started: {err}"
    );
}

#[test]
fn a_past_date_is_not_posted() {
    let past = (chrono::Utc::now().date_naive() - chrono::Duration::days(40)).to_string();
    let out = ops(&[
        "cost",
        "report",
        "--date",
        &past,
        "--post",
        "--endpoint-url",
        &closed_port(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("--date {past} is before today")) && err.contains("--post"),
        "the refusal says why: {err}"
    );
    assert!(
        !err.contains("cost report for"),
        "refused before the run started: {err}"
    );
}

/// `--chart` for a spec without budgets is refused before Cost Explorer is paid or anything posted
/// (it used to fail after the run, with the report and what was sent never printed).
#[test]
fn a_chart_without_budgets_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let dev = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/platforms/collectiq-dev.toml"
    ))
    .unwrap();
    let start = dev.find("[[budgets]]").unwrap();
    let end = dev[start..].find("\n[cost]").unwrap() + start;
    let spec = dir.path().join("no-budgets.toml");
    std::fs::write(&spec, format!("{}{}", &dev[..start], &dev[end..])).unwrap();
    let spec = spec.to_str().unwrap();
    let out = ops(&[
        "--platform",
        spec,
        "cost",
        "report",
        "--chart",
        "out/burn.svg",
        "--endpoint-url",
        &closed_port(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--chart") && err.contains("has no [[budgets]]"),
        "{err}"
    );
    assert!(!err.contains("cost report for"), "refused before the run: {err}");
}

/// A retry variable the SDK would ignore (a typo, an unknown mode) is refused, naming it, before any
/// work: the README says these variables take effect.
#[test]
fn a_malformed_retry_variable_is_refused_naming_it() {
    for (var, value) in [
        ("AWS_MAX_ATTEMPTS", "1O"),
        ("AWS_MAX_ATTEMPTS", "0"),
        ("AWS_RETRY_MODE", "fast"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_collectiq-ops"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .args(["doctor", "--endpoint-url", &closed_port()])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env_remove("COLLECTIQ_PLATFORM")
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{var}={value}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("{var}=\"{value}\"")), "{err}");
        assert!(!err.contains("checking"), "refused before any check: {err}");
    }
}

/// `max_attempts = 0` in the selected profile of the AWS config file is refused naming the key and the
/// profile, before any work, as `AWS_MAX_ATTEMPTS=0` is: the SDK would skip it with a warning nobody sees.
#[test]
fn zero_attempts_in_the_profile_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[default]\nregion = us-east-1\nmax_attempts = 0\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_collectiq-ops"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["doctor", "--endpoint-url", &closed_port()])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_CONFIG_FILE", &config)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_MAX_ATTEMPTS")
        .env_remove("AWS_RETRY_MODE")
        .env_remove("COLLECTIQ_ENDPOINT_URL")
        .env_remove("COLLECTIQ_PLATFORM")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "max_attempts = \"0\" in profile default: expected a whole number of attempts, at least 1"
        ),
        "{err}"
    );
    assert!(!err.contains("checking"), "refused before any check: {err}");
}

/// `org run --date <past> --post` is refused as `cost report`'s is, before anything is read.
#[test]
fn a_past_date_is_not_posted_for_an_organisation_either() {
    let past = (chrono::Utc::now().date_naive() - chrono::Duration::days(3)).to_string();
    let org = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/platforms/org/collectiq-group.toml"
    );
    let out = ops(&[
        "org",
        "run",
        "--org",
        org,
        "--date",
        &past,
        "--post",
        "--endpoint-url",
        &closed_port(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("--date {past} is before today")) && err.contains("--post"),
        "the refusal says why: {err}"
    );
    assert!(!err.contains("running "), "refused before the run started: {err}");
}

/// Flags that cancel each other are refused before anything is read, naming both.
#[test]
fn org_flags_that_cancel_each_other_are_refused() {
    let org = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/platforms/org/collectiq-group.toml"
    );
    for (flags, says) in [
        (
            ["run", "--no-cost", "--post"],
            "--post posts the cost reports and the roll-up, which --no-cost skips",
        ),
        (
            ["plan", "--no-cost", "--no-publish"],
            "--no-publish and --no-cost together leave nothing to do",
        ),
    ] {
        let port = closed_port();
        let mut args = vec!["org", flags[0], "--org", org, flags[1], flags[2]];
        args.extend(["--endpoint-url", port.as_str()]);
        let out = ops(&args);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(
            !err.contains("running ") && !err.contains("planning "),
            "refused before the run: {err}"
        );
    }
}

#[test]
fn spec_check_exits_2_for_an_invalid_spec_and_1_for_an_unreadable_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/platforms/collectiq-dev.toml"
    );
    let out = ops(&["spec", "check", good]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let invalid = dir.path().join("invalid.toml");
    std::fs::write(&invalid, "this is = not a spec").unwrap();
    let invalid = invalid.to_str().unwrap();
    let out = ops(&["spec", "check", good, invalid]);
    assert_eq!(out.status.code(), Some(2), "a finding: {}", stdout(&out));
    assert!(stdout(&out).contains(&format!("✗ {invalid}")), "{}", stdout(&out));

    let missing = dir.path().join("missing.toml");
    let missing = missing.to_str().unwrap();
    let out = ops(&["spec", "check", invalid, missing]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an error wins over a finding: {}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains(&format!("✗ {missing}: cannot read platform spec")),
        "{}",
        stdout(&out)
    );
}

/// The text of a spec shipped in infra/platforms/.
fn shipped_spec(name: &str) -> String {
    let path = format!("{}/../../infra/platforms/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `spec check` generates the alarms, dashboards and saved queries too, so a spec it passes publishes:
/// 300 more functions used to load and then fail (a saved Logs Insights query over more than the 50
/// log groups CloudWatch takes); widgets past 500 metrics are split, and now the function queries come
/// in parts of 50, so it passes.
#[test]
fn spec_check_generates_the_alarms_and_dashboards_too() {
    let dir = tempfile::tempdir().unwrap();
    let prod = shipped_spec("collectiq-prod");
    let extra: String = (0..300)
        .map(|i| {
            format!(
                "\n[[functions]]\nid = \"extra_{i}\"\nname = \"prod-collectiq-extra-{i}\"\nmemory_mb = 512\n\
                 timeout_s = 30\ntier = \"standard\"\n"
            )
        })
        .collect();
    let at = prod.find("[[http_apis]]").unwrap();
    let path = dir.path().join("many.toml");
    std::fs::write(&path, format!("{}{extra}\n{}", &prod[..at], &prod[at..])).unwrap();
    let out = ops(&["spec", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("312 functions") && !stdout(&out).contains("cannot be generated"),
        "{}",
        stdout(&out)
    );
}

/// Issue 11's example: BudgetBuddy's spec with a cluster name ECS refuses fails `spec check` at the
/// file, line and key that hold it.
#[test]
fn spec_check_refuses_an_ecs_cluster_name_with_a_space_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = shipped_spec("budgetbuddy-prod");
    let broken = shipped.replace(
        "cluster = \"budgetbuddy-cluster\"",
        "cluster = \"budgetbuddy cluster\"",
    );
    assert_ne!(broken, shipped, "the shipped spec names its cluster");
    let line = broken.lines().position(|l| l.starts_with("cluster = ")).unwrap() + 1;
    let path = dir.path().join("budgetbuddy-prod.toml");
    std::fs::write(&path, broken).unwrap();
    let path = path.to_str().unwrap();
    let out = ops(&["spec", "check", path]);
    assert_eq!(out.status.code(), Some(2), "a finding: {}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!(
            "{path}:{line}: ecs_services[0].cluster: expected an ECS cluster or service name"
        )),
        "{}",
        stdout(&out)
    );
}

/// Nothing answers on a closed port: every check is listed as failed, but none *found* a problem (no
/// permission refused, nothing missing) — AWS could not be asked, which is an error (1), not a finding
/// (2, which a script would read as "fix the role").
#[test]
fn doctor_that_cannot_reach_aws_exits_1_and_still_lists_every_check() {
    let out = ops(&["doctor", "--endpoint-url", &closed_port(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("doctor's JSON");
    let checks = report["checks"].as_array().expect("checks");
    assert!(
        !checks.is_empty()
            && checks
                .iter()
                .all(|c| c["ok"] == false && c["could_not_run"] == true),
        "every check fails and says it could not run: {report}"
    );
}

#[test]
fn spec_check_without_files_checks_the_platform_the_user_named() {
    let dir = tempfile::tempdir().unwrap();
    let invalid = dir.path().join("mine.toml");
    std::fs::write(&invalid, "this is = not a spec").unwrap();
    let invalid = invalid.to_str().unwrap();
    let out = ops(&["--platform", invalid, "spec", "check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("✗ {invalid}")), "{}", stdout(&out));
    assert!(
        !stdout(&out).contains("collectiq-prod.toml"),
        "only the named spec: {}",
        stdout(&out)
    );
    // Through the environment, as a scheduler would set it.
    let out = Command::new(env!("CARGO_BIN_EXE_collectiq-ops"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["spec", "check"])
        .env("COLLECTIQ_PLATFORM", invalid)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    // Named as the default path, before or after the subcommand: still only that spec.
    for args in [
        [
            "--platform",
            "infra/platforms/collectiq-prod.toml",
            "spec",
            "check",
        ],
        [
            "spec",
            "check",
            "--platform",
            "infra/platforms/collectiq-prod.toml",
        ],
    ] {
        let out = ops(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("collectiq-prod.toml"), "{text}");
        assert!(
            !text.contains("backoffice-dev.toml"),
            "only the named spec: {text}"
        );
    }
    // Nothing named: every spec under infra/platforms/.
    let out = ops(&["spec", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for name in ["collectiq-prod.toml", "collectiq-dev.toml", "backoffice-dev.toml"] {
        assert!(stdout(&out).contains(name), "{name}: {}", stdout(&out));
    }
}

/// A global option given on the command line to a subcommand that would ignore it: each combination
/// with the option before or after the subcommand, the words the refusal must say.
const IGNORED: &[(&[&str], &[&str], &str, &str)] = &[
    // (the command, the option it would ignore, the subcommand as named, why)
    (
        &["demo"],
        &["--region", "eu-west-1"],
        "demo",
        "its own emulator in the spec's region",
    ),
    (
        &["demo"],
        &["--profile", "prod"],
        "demo",
        "the emulator's test credentials",
    ),
    (
        &["demo"],
        &["--endpoint-url", "http://127.0.0.1:1"],
        "demo",
        "starts its own emulator",
    ),
    (
        &["org", "plan", "--org", ORG],
        &["--platform", PROD],
        "org plan",
        "(`--org`) names the platform specs",
    ),
    (
        &["org", "run", "--org", ORG],
        &["--platform", PROD],
        "org run",
        "(`--org`) names the platform specs",
    ),
    (&["doctor"], &["--out", "reports"], "doctor", "writes no file"),
    (
        &["dashboards", "plan"],
        &["--out", "reports"],
        "dashboards plan",
        "a plan writes no file",
    ),
    (
        &["alarms", "plan", "--detailed-exitcode"],
        &["--out", "reports"],
        "alarms plan",
        "a plan writes no file",
    ),
    (
        &["dashboards", "apply"],
        &["--out", "reports"],
        "dashboards apply",
        "writes no file",
    ),
    (
        &["alarms", "apply"],
        &["--out", "reports"],
        "alarms apply",
        "writes no file",
    ),
    (
        &["alarms", "backtest"],
        &["--out", "reports"],
        "alarms backtest",
        "writes no file",
    ),
    (
        &["cost", "fast-burn"],
        &["--out", "reports"],
        "cost fast-burn",
        "writes no file",
    ),
    (
        &["dashboards", "render"],
        &["--region", "eu-west-1"],
        "dashboards render",
        "calls no AWS API",
    ),
    (
        &["dashboards", "render"],
        &["--profile", "prod"],
        "dashboards render",
        "calls no AWS API",
    ),
    (
        &["dashboards", "render"],
        &["--endpoint-url", "http://127.0.0.1:1"],
        "dashboards render",
        "calls no AWS API",
    ),
    (
        &["spec", "check"],
        &["--region", "eu-west-1"],
        "spec check",
        "calls no AWS API",
    ),
    (
        &["spec", "check"],
        &["--profile", "prod"],
        "spec check",
        "calls no AWS API",
    ),
    (
        &["spec", "check"],
        &["--endpoint-url", "http://127.0.0.1:1"],
        "spec check",
        "calls no AWS API",
    ),
    (
        &["spec", "check"],
        &["--out", "reports"],
        "spec check",
        "writes no file",
    ),
    (
        &["spec", "check", DEV],
        &["--platform", PROD],
        "spec check",
        "the FILES given are checked",
    ),
    (
        &["spec", "export-tfvars"],
        &["--out", "reports"],
        "spec export-tfvars",
        "the file `--write` names",
    ),
    (
        &["spec", "export-tfvars"],
        &["--region", "eu-west-1"],
        "spec export-tfvars",
        "calls no AWS API",
    ),
];

const ORG: &str = "infra/platforms/org/collectiq-group.toml";
const PROD: &str = "infra/platforms/collectiq-prod.toml";
const DEV: &str = "infra/platforms/collectiq-dev.toml";

/// `demo --region`, `org … --platform`, `doctor --out`, `dashboards|alarms plan --out`, …: the option
/// would be silently ignored, so it is a bad invocation (1) naming the option, the subcommand and why,
/// before anything runs — and the same command without it parses.
#[test]
fn a_global_option_the_subcommand_would_ignore_is_refused_naming_both() {
    for &(command, option, name, why) in IGNORED {
        for args in [
            [command, option].concat(),
            // Global options are taken before the subcommand too.
            [option, command].concat(),
        ] {
            let out = ops(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains(&format!("`{}` has no effect on `{name}`: ", option[0])) && err.contains(why),
                "{args:?}: the refusal names the option, the subcommand and why: {err}"
            );
            assert!(err.contains("Usage: collectiq-ops"), "{args:?}: {err}");
            assert!(!err.contains('›'), "{args:?}: refused before anything ran: {err}");
            assert!(stdout(&out).is_empty(), "{args:?}: nothing on stdout");
        }
        let without: Vec<&str> = std::iter::once("collectiq-ops")
            .chain(command.iter().copied())
            .collect();
        assert!(
            collectiq_ops::cli::parse(&without).is_ok(),
            "{without:?} without {option:?} still parses"
        );
    }
}

/// Two ignored options: both are named, one line each.
#[test]
fn every_ignored_option_is_named() {
    let out = ops(&["demo", "--profile", "prod", "--region", "eu-west-1", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("`--profile` has no effect on `demo`"), "{err}");
    assert!(err.contains("`--region` has no effect on `demo`"), "{err}");
    assert!(!err.contains("`--json`"), "demo takes --json: {err}");
}

/// The offline subcommands still run without the refused options, with the ones they take.
#[test]
fn without_the_ignored_option_the_offline_commands_run() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = ops(&["dashboards", "render", "--out", out_dir, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("dashboards").is_dir());
    let out = ops(&["spec", "check", DEV, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The variables are JSON either way: `--json` is taken.
    let out = ops(&["--platform", PROD, "spec", "export-tfvars", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("the variables as JSON");
}

/// `COLLECTIQ_PLATFORM` and `COLLECTIQ_ENDPOINT_URL` are set once for every command (a scheduler, a
/// developer's shell), and a default is nobody's choice: neither is refused where it has no effect.
#[test]
fn options_from_the_environment_or_defaults_are_never_refused() {
    let run = |args: &[&str], vars: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_collectiq-ops"));
        c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env_remove("COLLECTIQ_ENDPOINT_URL")
            .env_remove("COLLECTIQ_PLATFORM")
            .env_remove("HTTP_API_IDS");
        for (k, v) in vars {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let endpoint = closed_port();
    let endpoint = [("COLLECTIQ_ENDPOINT_URL", endpoint.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &["dashboards", "render", "--out", dir.path().to_str().unwrap()],
        &endpoint,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&["spec", "check", DEV], &endpoint);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Past the parse: refused for its own reason, the pinned day, never for the endpoint.
    let out = run(&["demo", "--as-of", "2099-01-01"], &endpoint);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--as-of 2099-01-01") && !err.contains("has no effect"),
        "{err}"
    );
    let out = run(
        &["org", "plan", "--org", ORG, "--no-cost", "--no-publish"],
        &[("COLLECTIQ_PLATFORM", PROD)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("leave nothing to do") && !err.contains("has no effect"),
        "{err}"
    );
    // A blank `--endpoint-url` is no endpoint: it asks nothing of `spec check`.
    let out = run(&["spec", "check", DEV, "--endpoint-url", ""], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The defaults (`--platform`, `--out out`, no `--json`) are no one's request.
    for args in [
        &["doctor"][..],
        &["dashboards", "plan"],
        &["alarms", "plan"],
        &["org", "plan", "--org", ORG],
    ] {
        let argv: Vec<&str> = std::iter::once("collectiq-ops")
            .chain(args.iter().copied())
            .collect();
        assert!(collectiq_ops::cli::parse(&argv).is_ok(), "{args:?}");
    }
}

/// The binary with stdout — and stderr too when `both` — a pipe whose reader has already gone, as
/// `collectiq-ops … 2>&1 | head -1` leaves them once `head` has its line. Closed before the start, so
/// every write meets the closed pipe (EPIPE), however short the output.
fn ops_into_a_closed_pipe(args: &[&str], both: bool) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = Command::new(env!("CARGO_BIN_EXE_collectiq-ops"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env_remove("COLLECTIQ_ENDPOINT_URL")
        .env_remove("COLLECTIQ_PLATFORM")
        .env_remove("HTTP_API_IDS")
        .stdout(writer.try_clone().unwrap());
    if both {
        c.stderr(writer);
    }
    c.output().unwrap()
}

/// A reader that stops early is no failure of the command: `eprintln!` panicked (exit 101) on the closed
/// stderr, and a passing `spec check | head -1` exited 1 with `error: Broken pipe`. Each command now
/// ends quietly with its own exit code.
#[test]
fn a_reader_that_stops_early_ends_the_output_quietly_with_the_commands_own_code() {
    let dir = tempfile::tempdir().unwrap();
    let invalid = dir.path().join("invalid.toml");
    std::fs::write(&invalid, "this is = not a spec").unwrap();
    let missing = dir.path().join("missing.toml");
    let port = closed_port();
    let cases: [(&[&str], i32); 6] = [
        (&["spec", "check", DEV], 0),
        (&["spec", "check", DEV, "--json"], 0),
        (&["spec", "check", invalid.to_str().unwrap()], 2),
        (&["spec", "check", missing.to_str().unwrap()], 1),
        (&["--platform", PROD, "spec", "export-tfvars"], 0),
        (&["doctor", "--endpoint-url", &port], 1),
    ];
    for (args, code) in cases {
        let out = ops_into_a_closed_pipe(args, true);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?} with stdout and stderr closed"
        );
        let out = ops_into_a_closed_pipe(args, false);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?} with stdout closed: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            !err.contains("Broken pipe") && !err.contains("panicked"),
            "{args:?}: the closed stdout is not an error: {err}"
        );
    }
    // An error with stderr closed too: still 1, not a panic.
    let out = ops_into_a_closed_pipe(
        &["--platform", missing.to_str().unwrap(), "spec", "export-tfvars"],
        true,
    );
    assert_eq!(out.status.code(), Some(1));
}

/// A blank `COLLECTIQ_PLATFORM` (exported but empty) counts as unset, as a blank
/// `COLLECTIQ_ENDPOINT_URL` does: it used to fail with "a value is required for '--platform'". A blank
/// `--platform` on the command line is refused (it would otherwise quietly mean the prod spec).
#[test]
fn a_blank_collectiq_platform_counts_as_unset() {
    let run = |args: &[&str], platform: &str| {
        Command::new(env!("CARGO_BIN_EXE_collectiq-ops"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .args(args)
            .env_remove("COLLECTIQ_ENDPOINT_URL")
            .env_remove("HTTP_API_IDS")
            .env("COLLECTIQ_PLATFORM", platform)
            .output()
            .unwrap()
    };
    for blank in ["", " "] {
        let out = run(&["spec", "check", DEV], blank);
        assert_eq!(out.status.code(), Some(0), "{blank:?}: {}", stderr(&out));
        // Unset, so not named: every spec under infra/platforms/ is checked.
        let out = run(&["spec", "check"], blank);
        assert_eq!(out.status.code(), Some(0), "{blank:?}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("backoffice-dev.toml"),
            "{blank:?}: {}",
            stdout(&out)
        );
        // The default spec is the one exported.
        let out = run(&["spec", "export-tfvars"], blank);
        assert_eq!(out.status.code(), Some(0), "{blank:?}: {}", stderr(&out));
        let vars: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(vars["environment"], "prod", "{blank:?}");
    }
    let out = ops(&["--platform", "", "spec", "export-tfvars"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("`--platform` is blank"), "{}", stderr(&out));
}

/// `export-tfvars --write` overwrote any file but the spec it read: a swapped dev/prod path destroyed a
/// spec. A `.toml` target, or one that parses as a platform or organisation spec, is refused before
/// anything is read, naming the path, and left as it was.
#[test]
fn export_tfvars_refuses_to_overwrite_a_spec() {
    let dir = tempfile::tempdir().unwrap();
    let victims = [
        (
            "collectiq-prod.toml",
            shipped_spec("collectiq-prod"),
            "a .toml file is a spec",
        ),
        (
            "prod-spec.txt",
            shipped_spec("collectiq-prod"),
            "it is a spec (its [platform] table)",
        ),
        (
            "group.conf",
            std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../",
                "infra/platforms/org/collectiq-group.toml"
            ))
            .unwrap(),
            "it is a spec (its [organization] table)",
        ),
    ];
    for (name, text, why) in victims {
        let victim = dir.path().join(name);
        std::fs::write(&victim, &text).unwrap();
        let victim = victim.to_str().unwrap();
        let out = ops(&["--platform", DEV, "spec", "export-tfvars", "--write", victim]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("--write {victim}: {why}")), "{name}: {err}");
        assert_eq!(
            std::fs::read_to_string(victim).unwrap(),
            text,
            "{name} is left as it was"
        );
    }
    // A FIFO would block the TOML sniff's read (and then the write) until some process opened it.
    let fifo = dir.path().join("vars.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_str().unwrap();
    let out = ops(&["--platform", DEV, "spec", "export-tfvars", "--write", fifo]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("--write {fifo}: it exists and is not a regular file")),
        "{}",
        stderr(&out)
    );
    // Any other file is replaced by the variables, and nothing else is left in its folder.
    let target = dir.path().join("vars/platform.auto.tfvars.json");
    std::fs::create_dir(dir.path().join("vars")).unwrap();
    std::fs::write(&target, "{}").unwrap();
    let out = ops(&[
        "--platform",
        DEV,
        "spec",
        "export-tfvars",
        "--write",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let vars: serde_json::Value = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(vars["environment"], "dev");
    assert_eq!(std::fs::read_dir(dir.path().join("vars")).unwrap().count(), 1);
}

/// Exit 1 means stderr says what and where: `spec check missing.toml` said it on stdout only, and with
/// `--json` only the first of several problems reached stderr (the others had no `✗`).
#[test]
fn spec_check_failures_reach_stderr_every_problem_on_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let missing = missing.to_str().unwrap();
    let out = ops(&["spec", "check", missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("error: {missing}: cannot read platform spec")),
        "{}",
        stderr(&out)
    );

    let dev = shipped_spec("collectiq-dev");
    let broken = dev.replace("memory_mb = 512", "memory_mb = 99999");
    let problems = broken.lines().filter(|l| *l == "memory_mb = 99999").count();
    assert!(problems > 1, "several problems");
    let path = dir.path().join("several.toml");
    std::fs::write(&path, broken).unwrap();
    let path = path.to_str().unwrap();
    for json in [false, true] {
        let mut args = vec!["spec", "check", path];
        if json {
            args.push("--json");
        }
        let out = ops(&args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let shown = if json { stderr(&out) } else { stdout(&out) };
        let crossed: Vec<&str> = shown
            .lines()
            .filter(|l| l.starts_with(&format!("✗ {path}:")))
            .collect();
        assert_eq!(
            crossed.len(),
            problems,
            "json {json}: every problem, crossed: {shown}"
        );
        assert!(
            crossed
                .iter()
                .all(|l| l.contains("memory_mb: expected 128..10240")),
            "{shown}"
        );
    }
}

/// An output path that cannot be written was found only after every AWS read (and the Slack post with
/// `--post`): it is now refused first, like the other refusals, naming what is in the way.
#[test]
fn unwritable_report_paths_are_refused_before_any_aws_call() {
    let dir = tempfile::tempdir().unwrap();
    let afile = dir.path().join("afile");
    std::fs::write(&afile, "a regular file").unwrap();
    let afile = afile.to_str().unwrap();
    let chart = format!("{afile}/x.svg");
    let port = closed_port();
    for (args, says) in [
        (
            vec![
                "cost",
                "report",
                "--chart",
                chart.as_str(),
                "--out",
                dir.path().to_str().unwrap(),
            ],
            format!("cannot write {chart}: {afile} is not a directory"),
        ),
        (
            vec!["cost", "report", "--out", afile],
            format!("cannot write {afile}/cost-report.json: {afile} is not a directory"),
        ),
        (
            vec!["alarms", "state", "--out", afile],
            format!("cannot write {afile}/alarm-state.slack.json: {afile} is not a directory"),
        ),
    ] {
        let mut args = args;
        args.extend(["--endpoint-url", port.as_str()]);
        let out = ops(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&says), "{args:?}: {err}");
        assert!(!err.contains("cost report for"), "refused before the run: {err}");
    }
}

/// `demo` found an unwritable `--out` only after a minute and a half of emulator and governance pass,
/// `org` after every account was read, published to and posted from: both now refuse it first.
#[test]
fn demo_and_org_refuse_an_unwritable_out_before_they_start() {
    let dir = tempfile::tempdir().unwrap();
    let afile = dir.path().join("afile");
    std::fs::write(&afile, "a regular file").unwrap();
    let afile = afile.to_str().unwrap();
    let port = closed_port();
    for (args, says) in [
        (vec!["demo", "--out", afile], format!("cannot write {afile}/")),
        (
            vec![
                "org",
                "run",
                "--org",
                ORG,
                "--out",
                afile,
                "--endpoint-url",
                port.as_str(),
            ],
            format!("cannot write {afile}/org-"),
        ),
    ] {
        let out = ops(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&says) && err.contains(&format!("{afile} is not a directory")),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("emulator"),
            "refused before the emulator starts: {err}"
        );
        assert!(
            !err.contains("running "),
            "refused before any account is run: {err}"
        );
    }
}

/// Alarms are regional and notify the spec's regional SNS topics: `alarms … --region` other than the
/// spec's wrote alarms that could never fire (or were refused) and read none back; it is now refused
/// before any AWS call, naming both regions. The spec's own region is accepted.
#[test]
fn alarms_in_another_region_than_the_specs_are_refused() {
    let port = closed_port();
    for sub in [
        &["alarms", "plan"][..],
        &["alarms", "apply"],
        &["alarms", "state"],
        // The saved Logs Insights queries that come with the dashboards are regional too.
        &["dashboards", "plan"],
        &["dashboards", "apply"],
    ] {
        let mut args = sub.to_vec();
        args.extend([
            "--platform",
            PROD,
            "--region",
            "eu-west-1",
            "--endpoint-url",
            port.as_str(),
        ]);
        let out = ops(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("--region eu-west-1") && err.contains("us-east-1") && err.contains("drop --region"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("reading every alarm") && !err.contains("reading the dashboards"),
            "{args:?}: refused before any call: {err}"
        );
    }
    let out = ops(&[
        "alarms",
        "plan",
        "--platform",
        PROD,
        "--region",
        "us-east-1",
        "--endpoint-url",
        port.as_str(),
    ]);
    assert!(!stderr(&out).contains("drop --region"), "{}", stderr(&out));
}

/// `dashboards render` with one target a folder wrote the others first, then failed: every target is
/// checked before the first is written.
#[test]
fn dashboards_render_writes_nothing_when_one_target_cannot_be_written() {
    let names = tempfile::tempdir().unwrap();
    let out = ops(&[
        "dashboards",
        "render",
        "--out",
        names.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rendered: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rendered.len() > 2, "{rendered:?}");

    let dir = tempfile::tempdir().unwrap();
    let blocked = dir
        .path()
        .join(format!("dashboards/{}.json", rendered[rendered.len() - 1]));
    std::fs::create_dir_all(&blocked).unwrap();
    let out = ops(&["dashboards", "render", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot write {}: it is a directory", blocked.display())),
        "{}",
        stderr(&out)
    );
    let written: Vec<_> = std::fs::read_dir(dir.path().join("dashboards"))
        .unwrap()
        .collect();
    assert_eq!(written.len(), 1, "only the folder in the way: {written:?}");

    // A read-only target (which the writer refuses to replace) is found before anything is written
    // too: the earlier dashboards keep what they held.
    let again = tempfile::tempdir().unwrap();
    let out = ops(&["dashboards", "render", "--out", again.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = again.path().join(format!("dashboards/{}.json", rendered[0]));
    std::fs::write(&first, "kept").unwrap();
    let last = again
        .path()
        .join(format!("dashboards/{}.json", rendered[rendered.len() - 1]));
    let mut perms = std::fs::metadata(&last).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&last, perms).unwrap();
    let out = ops(&["dashboards", "render", "--out", again.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot write {}: it is read-only", last.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&first).unwrap(), "kept");
}
