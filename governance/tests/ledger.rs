//! The ledger against DynamoDB in the emulator: fire-once claims, release, snapshots, capped counters.
#![allow(clippy::unwrap_used)] // test set-up helpers outside #[test] fns: failing loudly is the point

use std::time::Duration;

use collectiq_tests::Emulator;
use governance::ledger::{Counted, Ledger};

const DAY: Duration = Duration::from_secs(86_400);

async fn ledger() -> (Emulator, Ledger) {
    let emulator = Emulator::start().await.unwrap();
    let clients = emulator.clients().await;
    let ledger = Ledger::create_table(&clients.dynamodb, "ledger").await.unwrap();
    (emulator, ledger)
}

#[tokio::test]
async fn a_claim_succeeds_once_and_release_allows_a_retry() {
    let (_emulator, ledger) = ledger().await;
    assert!(
        ledger
            .claim("collectiq#prod#2026-11", "tier#100", "posted", DAY)
            .await
            .unwrap()
    );
    assert!(
        !ledger
            .claim("collectiq#prod#2026-11", "tier#100", "posted", DAY)
            .await
            .unwrap()
    );
    assert!(
        ledger
            .claim("collectiq#prod#2026-11", "tier#120", "posted", DAY)
            .await
            .unwrap()
    );
    let claims = ledger.claims("collectiq#prod#2026-11").await.unwrap();
    assert_eq!(
        claims.iter().map(|(sk, _)| sk.as_str()).collect::<Vec<_>>(),
        ["tier#100", "tier#120"]
    );
    ledger
        .release("collectiq#prod#2026-11", "tier#120")
        .await
        .unwrap();
    assert!(
        ledger
            .claim("collectiq#prod#2026-11", "tier#120", "posted", DAY)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn snapshots_round_trip_by_date_range() {
    let (_emulator, ledger) = ledger().await;
    for (day, usd) in [("2026-11-01", 10), ("2026-11-02", 12), ("2026-11-03", 9)] {
        ledger
            .put_snapshot(
                "collectiq#prod#cost",
                day,
                &serde_json::json!({"total": usd}),
                DAY,
            )
            .await
            .unwrap();
    }
    let got: Vec<(String, serde_json::Value)> = ledger
        .snapshots("collectiq#prod#cost", "2026-11-02", "2026-11-03")
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, "2026-11-02");
    assert_eq!(got[0].1["total"], 12);
}

#[tokio::test]
async fn counters_respect_their_cap() {
    let (_emulator, ledger) = ledger().await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(
            ledger
                .increment("collectiq#prod#ce", "2026-11-21", 2, Some(5), DAY)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        seen,
        [
            Counted::Ok(2),
            Counted::Ok(4),
            Counted::CapReached(4),
            Counted::CapReached(4)
        ]
    );
    assert_eq!(
        ledger
            .increment("collectiq#prod#ce", "2026-11-21", 1, Some(5), DAY)
            .await
            .unwrap(),
        Counted::Ok(5)
    );
    assert_eq!(
        ledger.counter("collectiq#prod#ce", "2026-11-21").await.unwrap(),
        5
    );
    assert_eq!(
        ledger.counter("collectiq#prod#ce", "2026-11-22").await.unwrap(),
        0
    );
}
