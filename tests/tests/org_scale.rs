//! The organisation pass at scale, on the emulator: 10, 100 and 300 platform environments (N accounts × 3
//! environments of Backoffice), one `run_org` each in plan and in run mode, recording wall time, peak RSS
//! of this process, AWS calls per kind and Cost Explorer requests. The figures go in docs/BENCHMARKS.md
//! ("Organisation pass").
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
        let accounts = envs.div_ceil(ENVIRONMENTS.len());
        let emulator = Emulator::start().await.unwrap();
        let base = emulator.sdk_config().await;
        Ledger::create_table(&AwsClients::new(&base).dynamodb, "scale-org-ledger")
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let org = organisation(dir.path(), accounts);
        let deps = OrgDeps::new(base);
        for mode in [Mode::Plan, Mode::Run] {
            let t0 = Instant::now();
            let run = run_org(&org, &deps, &OrgOptions::new(&org, mode, Utc::now())).await;
            let seconds = t0.elapsed().as_secs_f64();
            assert!(run.ce_requests_today <= 3, "{}", run.render_summary());
            let row = line(
                org.items.len(),
                if mode == Mode::Plan { "plan" } else { "run" },
                &run,
                seconds,
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
