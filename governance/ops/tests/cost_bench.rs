//! Measures a daily cost run of the real CLI against the emulator: API calls, Cost Explorer dollars, wall
//! time and peak RSS (`/usr/bin/time -v`). Ignored by default (it measures, it does not check behaviour
//! beyond the goals); run with
//! `cargo test -p collectiq-ops --test cost_bench -- --ignored --nocapture` (here, beside the binary it runs). Figures: docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up helpers: failing loudly is the point

// Async: the loopback Slack sink runs on this test's runtime while the CLI posts to it.
use tokio::process::Command;

use collectiq_ops::seed::{self, DemoMonth};
use collectiq_tests::Emulator;
use collectiq_tests::WebhookSink;

fn field<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .map_or("?", |v| v.trim_start_matches(':').trim())
}

#[tokio::test]
#[ignore = "measurement; run explicitly"]
async fn measure_daily_run_against_the_emulator() {
    let emulator = Emulator::start().await.unwrap();
    let clients = emulator.clients().await;
    let sink = WebhookSink::start(vec![]).await.unwrap();
    let spec_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/platforms/collectiq-prod.toml");
    let spec = platform_spec::load(&spec_path).unwrap();
    // Today's month: a past --date is never posted (its Budgets spend would be today's), and the run
    // measured is the scheduled one, which posts.
    let month = DemoMonth::generate(&spec, chrono::Utc::now().date_naive());
    seed::apply(&spec, &month, &clients, sink.url()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    println!("| run | CE requests | CE $ | all API requests | wall | peak RSS |");
    println!("|---|---|---|---|---|---|");
    // The pages are queued once: the re-run asks CE only from the first `Estimated` day, a request moto
    // answers empty (AWS would answer with those three days, one page).
    emulator
        .inject_cost_and_usage(&seed::cost_explorer_pages(&month))
        .await
        .unwrap();
    for run in ["first run of the day", "re-run, same day"] {
        let output = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(env!("CARGO_BIN_EXE_collectiq-ops"))
            .args(["cost", "report", "--post", "--json"])
            .arg("--platform")
            .arg(&spec_path)
            .args(["--endpoint-url", emulator.endpoint()])
            .arg("--out")
            .arg(out.path())
            .arg("--chart")
            .arg(out.path().join("burn.svg"))
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{stderr}\n{}",
            String::from_utf8_lossy(&output.stdout)
                .chars()
                .take(3000)
                .collect::<String>()
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let calls = json["calls"]["calls"].as_array().unwrap();
        let count = |svc: Option<&str>| -> u64 {
            calls
                .iter()
                .filter(|c| svc.is_none_or(|s| c["service"] == s))
                .map(|c| c["count"].as_u64().unwrap())
                .sum()
        };
        let ce = count(Some("costexplorer"));
        let rss_kb: u64 = field(&stderr, "Maximum resident set size (kbytes)")
            .parse()
            .unwrap();
        println!(
            "| {run} | {ce} | ${:.2} | {} ({}) | {} | {:.1} MB |",
            ce as f64 * 0.01,
            count(None),
            calls
                .iter()
                .map(|c| format!("{} {}", c["operation"].as_str().unwrap(), c["count"]))
                .collect::<Vec<_>>()
                .join(", "),
            field(&stderr, "Elapsed (wall clock) time (h:mm:ss or m:ss)"),
            rss_kb as f64 / 1024.0
        );
        assert!(ce <= 3, "goal: at most 3 CE requests per daily run");
        assert!(
            rss_kb <= 64 * 1024,
            "goal: peak RSS at most 64 MB, got {rss_kb} kB"
        );
    }
    assert_eq!(sink.received().len(), 1, "one post for the day");
}
