//! The organisation pass at scale, on the emulator: 10, 100 and 300 platform environments (N accounts × 3
//! environments of Backoffice), one `run_org` each in plan and in run mode, recording wall time, peak RSS
//! of this process, AWS calls per kind and Cost Explorer requests. The figures go in docs/BENCHMARKS.md
//! ("Organisation pass").
//!
//! The suite runs a fast version (3 and 12 environments); the full sizes are `#[ignore]`d:
//!
//! ```sh
//! cargo test -p collectiq-tests --release --test org_scale -- --ignored --nocapture
//! ORG_SCALE_ENVS=10,100 cargo test -p collectiq-tests --release --test org_scale -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: failing loudly is the point

use std::time::Instant;

use chrono::Utc;
use collectiq_tests::Emulator;
use governance::aws::AwsClients;
use governance::ledger::Ledger;
use governance::org::{Mode, OrgDeps, OrgOptions, OrgRun, run_org};

const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

/// Peak resident set of this process (VmHWM), MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn organisation(dir: &std::path::Path, accounts: usize) -> platform_spec::Organization {
    let shipped = std::fs::read_to_string(
        collectiq_tests::workspace_root().join("infra/platforms/backoffice-dev.toml"),
    )
    .unwrap();
    let mut org = String::from(
        "[organization]\nname = \"scale\"\nmanagement_account_id = \"123456789012\"\nregion = \"us-east-1\"\n\
         ledger_table = \"scale-org-ledger\"\nslack_webhook_secret = \"scale/slack\"\nmax_concurrency = 16\nitem_timeout_s = 900\n",
    );
    for i in 0..accounts {
        let account = format!("{:012}", 100_000_000_000_u64 + i as u64);
        let mut files = Vec::new();
        for env in ENVIRONMENTS {
            let file = format!("{account}-backoffice-{env}.toml");
            let text = shipped
                .replace("210987654321", &account)
                .replace("environment = \"dev\"", &format!("environment = \"{env}\""))
                .replace("backoffice-dev", &format!("backoffice-{env}"));
            std::fs::write(dir.join(&file), text).unwrap();
            files.push(format!("\"{file}\""));
        }
        org.push_str(&format!(
            "\n[[accounts]]\nid = \"{account}\"\nname = \"member-{i}\"\nrole_arn = \"arn:aws:iam::{account}:role/governance\"\nplatforms = [{}]\n",
            files.join(", ")
        ));
    }
    let path = dir.join("org.toml");
    std::fs::write(&path, org).unwrap();
    platform_spec::load_org(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn line(envs: usize, mode: &str, run: &OrgRun, seconds: f64) -> String {
    let calls: u64 = run.calls.values().sum();
    let top: Vec<String> = {
        let mut v: Vec<(&String, &u64)> = run.calls.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1));
        v.iter().take(6).map(|(k, n)| format!("{k} {n}")).collect()
    };
    format!(
        "| {envs} | {mode} | {seconds:.1} s | {:.0} MiB | {calls} | {} | {}/{} ok | {} |",
        peak_rss_mib(),
        run.ce_requests_this_run,
        run.items.iter().filter(|i| i.ok()).count(),
        run.items.len(),
        top.join(", ")
    )
}

/// One pass per mode in `modes` over `envs` platform environments (accounts of three environments each)
/// on a fresh emulator: each run with its wall time.
async fn measure(envs: usize, modes: &[Mode]) -> (platform_spec::Organization, Vec<(Mode, OrgRun, f64)>) {
    let accounts = envs.div_ceil(ENVIRONMENTS.len());
    let emulator = Emulator::start().await.unwrap();
    let base = emulator.sdk_config().await;
    Ledger::create_table(&AwsClients::new(&base).dynamodb, "scale-org-ledger")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let org = organisation(dir.path(), accounts);
    let deps = OrgDeps::new(base);
    let mut runs = Vec::new();
    // One "now" for every pass: a pass after midnight UTC would look for the next day's cache.
    let now = Utc::now();
    for &mode in modes {
        let t0 = Instant::now();
        let run = run_org(&org, &deps, &OrgOptions::new(&org, mode, now)).await;
        runs.push((mode, run, t0.elapsed().as_secs_f64()));
    }
    (org, runs)
}

/// AWS calls of the run's items, by `service:Operation` (the management account's own left out).
fn item_calls(run: &OrgRun) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for item in &run.items {
        for call in &item.calls.calls {
            *out.entry(format!("{}:{}", call.service, call.operation))
                .or_insert(0) += u64::from(call.count);
        }
    }
    out
}

/// The suite's fast version: 3 and then 12 platform environments (1 and 4 accounts), two plan passes
/// each (a run pass spends ~12 s per account pacing its alarm writes at 3/s; the emulator test runs
/// one). Every item completes, every member role is assumed once per item, Cost Explorer is asked at
/// most three times a day in all (and only in the management account; the second pass reuses the day's
/// answer), and what the items call grows in proportion to the items: four times the items, four times
/// each kind of call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twelve_platform_environments_cost_four_times_three() {
    let (_, small) = measure(3, &[Mode::Plan, Mode::Plan]).await;
    let (org, large) = measure(12, &[Mode::Plan, Mode::Plan]).await;
    assert_eq!(org.items.len(), 12);
    assert_eq!(org.by_account().len(), 4);
    for (mode, run, seconds) in small.iter().chain(&large) {
        let summary = run.render_summary();
        assert!(run.ok(), "{mode:?}: {summary}");
        assert!(run.ce_requests_today <= 3, "{summary}");
        assert_eq!(
            run.calls.get("sts:AssumeRole").copied(),
            Some(run.items.len() as u64),
            "{:?}",
            run.calls
        );
        assert!(
            run.items
                .iter()
                .all(|i| i.calls.calls.iter().all(|c| c.service != "costexplorer")),
            "a member asked Cost Explorer: {summary}"
        );
        eprintln!("{}", line(run.items.len(), &format!("{mode:?}"), run, *seconds));
    }
    // Cost Explorer: the first pass of each organisation asks, the second reuses the day's answer.
    for runs in [&small, &large] {
        assert!(runs[0].1.ce_requests_this_run >= 1 && runs[0].1.ce_requests_this_run <= 3);
        assert_eq!(runs[1].1.ce_requests_this_run, 0);
    }
    for i in 0..2 {
        let (few, many) = (item_calls(&small[i].1), item_calls(&large[i].1));
        assert_eq!(
            few.keys().collect::<Vec<_>>(),
            many.keys().collect::<Vec<_>>(),
            "the same kinds of call"
        );
        for (kind, n) in &few {
            assert_eq!(many[kind], 4 * n, "{kind}: {few:?} vs {many:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "scale benchmark: minutes; run by hand (see the module docs)"]
async fn organisation_pass_at_10_100_300_platform_environments() {
    let sizes: Vec<usize> = std::env::var("ORG_SCALE_ENVS")
        .unwrap_or_else(|_| "10,100,300".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let mut rows = Vec::new();
    for envs in sizes {
        let (org, runs) = measure(envs, &[Mode::Plan, Mode::Run]).await;
        for (mode, run, seconds) in &runs {
            assert!(run.ce_requests_today <= 3, "{}", run.render_summary());
            let row = line(
                org.items.len(),
                if *mode == Mode::Plan { "plan" } else { "run" },
                run,
                *seconds,
            );
            eprintln!("{row}");
            rows.push(row);
        }
    }
    eprintln!(
        "\n| platform envs | mode | wall | peak RSS | AWS calls | CE requests | items | most frequent calls |"
    );
    eprintln!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        eprintln!("{r}");
    }
}
