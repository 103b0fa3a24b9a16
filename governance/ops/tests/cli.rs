//! The `collectiq-ops` binary as a user runs it: exit codes, stdout/stderr split, `--json`, spec errors.

use std::process::Command;

use collectiq_tests::Emulator;

fn ops() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_collectiq-ops"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        // What a developer may have exported must not change what these tests check.
        .env_remove("COLLECTIQ_ENDPOINT_URL")
        .env_remove("COLLECTIQ_PLATFORM")
        .env_remove("HTTP_API_IDS");
    c
}

#[test]
fn spec_check_passes_for_every_shipped_spec() {
    let out = ops().args(["spec", "check"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with('✓')).count(), 4, "{text}");
    assert!(text.contains("collectiq-prod: 12 functions"));
}

#[test]
fn spec_check_names_file_line_and_key_of_a_bad_spec() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/platforms/collectiq-dev.toml"
    ))
    .unwrap();
    let bad = good.replacen("memory_mb = 512", "memory_mb = 99999", 1);
    let line = bad.lines().position(|l| l == "memory_mb = 99999").unwrap() + 1;
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, bad).unwrap();
    let out = ops()
        .args(["spec", "check", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = parsed[0]["summary"].as_str().unwrap();
    assert_eq!(
        summary,
        format!(
            "{}:{line}: functions[0].memory_mb: expected 128..10240, found 99999",
            path.display()
        )
    );
}

/// A spec that loads but makes an alarm name CloudWatch refuses (`AlarmName`: at most 255 characters;
/// DynamoDB takes table names of up to 255): `spec check` names the spec key the name came from.
#[test]
fn spec_check_names_the_key_behind_an_alarm_name_past_255_characters() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../infra/platforms/collectiq-dev.toml"
    ))
    .unwrap();
    let table = "t".repeat(240);
    let bad = good.replacen("name = \"dev-CollectIQ\"", &format!("name = \"{table}\""), 1);
    assert_ne!(bad, good);
    let path = dir.path().join("long-table.toml");
    std::fs::write(&path, bad).unwrap();
    let out = ops()
        .args(["spec", "check", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = parsed[0]["summary"].as_str().unwrap();
    assert!(summary.contains("tables[0].name: "), "{summary}");
    assert!(summary.contains("at most 255"), "{summary}");
}

#[test]
fn a_missing_spec_is_a_clear_error_not_a_panic() {
    let out = ops()
        .args(["doctor", "--platform", "nope.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: nope.toml: cannot read platform spec"),
        "{err}"
    );
}

#[tokio::test]
async fn doctor_reports_every_failure_with_its_permission_against_an_empty_account() {
    let emulator = Emulator::start().await.unwrap();
    let out = ops()
        .args(["doctor", "--json", "--endpoint-url", emulator.endpoint()])
        .output()
        .unwrap();
    // Nothing is seeded: the ledger, topics, secret and budgets are missing.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 12);
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["permission"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "budgets:ViewBudget",
            "sns:GetTopicAttributes",
            "sns:GetTopicAttributes",
            "dynamodb:DescribeTable",
            "secretsmanager:GetSecretValue"
        ]
    );
    let budgets = checks.iter().find(|c| c["service"] == "Budgets").unwrap();
    assert!(
        budgets["detail"]
            .as_str()
            .unwrap()
            .contains("collectiq-prod-monthly")
    );
    assert!(String::from_utf8(out.stderr).unwrap().contains("checking"));
}

#[test]
fn demo_runs_end_to_end_and_writes_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = ops()
        .args(["demo", "--json", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["platform"], "collectiq-prod");
    assert!(
        summary["doctor"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true)
    );
    assert_eq!(summary["seed"]["alarms_firing"], 2);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo.json")).unwrap()).unwrap();
    assert_eq!(written, summary);
    // The budget-burn chart in both formats: a real SVG document and a PNG (by its signature).
    let svg = std::fs::read_to_string(dir.path().join("cost-burn.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
    let png = std::fs::read(dir.path().join("cost-burn.png")).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1_000,
        "{} bytes",
        png.len()
    );
}
