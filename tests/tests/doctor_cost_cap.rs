//! Doctor's one Cost Explorer request ($0.01) is under the spec's daily cap like the passes' requests:
//! counted in the ledger's `{prefix}#ce-requests` counter for the UTC day, not asked once the cap is used
//! (or when the cap is 0), and — since doctor is how you find out the ledger is missing — asked anyway,
//! uncounted and saying so, when the ledger cannot count. Against the emulator (moto), whose
//! `GetCostAndUsage` answers every request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up: failing loudly is the point

use chrono::Utc;
use collectiq_tests::{TestEnv, platform};
use governance::cost_pass::state::Keys;
use governance::doctor::{self, DoctorReport};
use governance::ledger::Ledger;

fn ce_check(report: &DoctorReport) -> (bool, String) {
    let c = report
        .checks
        .iter()
        .find(|c| c.call == "GetCostAndUsage")
        .expect("a Cost Explorer check");
    (c.ok, c.detail.clone())
}

#[tokio::test]
async fn doctor_counts_its_cost_explorer_request_and_stops_at_the_cap() {
    let env = TestEnv::start().await;
    let mut spec = platform("collectiq-prod.toml");
    spec.cost.ce_daily_request_cap = 2;
    Ledger::create_table(&env.clients.dynamodb, &spec.ledger.table)
        .await
        .unwrap();
    let ledger = Ledger::new(env.clients.dynamodb.clone(), &spec.ledger.table);
    // One instant for every doctor run here: each counts its request under `now`'s UTC day, the day read
    // back below — a suite crossing midnight UTC would otherwise count on one day and read the other.
    let now = Utc::now();
    let (pk, day) = (
        Keys::new(spec.managed_prefix()).ce_requests(),
        now.date_naive().to_string(),
    );

    for expected in 1..=2 {
        let report = doctor::run_at(&spec, &env.clients, now).await;
        let (ok, detail) = ce_check(&report);
        assert!(ok, "{report}");
        assert!(detail.contains("(1 request, $0.01)"), "{detail}");
        assert_eq!(report.cost_explorer_requests, 1);
        assert_eq!(ledger.counter(&pk, &day).await.unwrap(), expected);
    }

    // The cap (2) is used: not asked, not paid, and the line says why.
    let report = doctor::run_at(&spec, &env.clients, now).await;
    let (ok, detail) = ce_check(&report);
    assert!(ok, "{report}");
    assert_eq!(
        detail,
        "not asked: today's Cost Explorer cap is used (2 of 2 requests)"
    );
    assert_eq!(report.cost_explorer_requests, 0);
    assert!(
        report.to_string().contains("0 Cost Explorer requests ($0.00)"),
        "{report}"
    );
    assert_eq!(ledger.counter(&pk, &day).await.unwrap(), 2);

    // A cap of 0 means none, doctor's included.
    spec.cost.ce_daily_request_cap = 0;
    let report = doctor::run_at(&spec, &env.clients, now).await;
    assert_eq!(
        ce_check(&report).1,
        "not asked: the spec's ce_daily_request_cap is 0"
    );
    assert_eq!(report.cost_explorer_requests, 0);
}

#[tokio::test]
async fn without_a_ledger_doctor_still_asks_once_and_says_it_was_not_counted() {
    let env = TestEnv::start().await;
    let spec = platform("collectiq-prod.toml");
    let report = doctor::run(&spec, &env.clients).await;
    let (ok, detail) = ce_check(&report);
    assert!(ok, "Cost Explorer itself answered: {report}");
    assert!(detail.contains("(1 request, $0.01)"), "{detail}");
    assert!(detail.contains("not counted against the daily cap"), "{detail}");
    assert_eq!(report.cost_explorer_requests, 1);
    // The missing ledger is the DynamoDB check's failure, not Cost Explorer's.
    let ledger = report.checks.iter().find(|c| c.call == "DescribeTable").unwrap();
    assert!(!ledger.ok, "{report}");
}
