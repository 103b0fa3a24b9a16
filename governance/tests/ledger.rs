//! The ledger against DynamoDB in the emulator: fire-once claims, release, snapshots, capped counters.
#![allow(clippy::unwrap_used)] // test set-up helpers outside #[test] fns: failing loudly is the point

use std::time::Duration;

use collectiq_tests::Emulator;
use governance::ledger::{Counted, Ledger, NewItem};

const DAY: Duration = Duration::from_secs(86_400);

async fn ledger() -> (Emulator, Ledger) {
    let emulator = Emulator::start().await.unwrap();
    let clients = emulator.clients().await;
    let ledger = Ledger::create_table(&clients.dynamodb, "ledger").await.unwrap();
    (emulator, ledger)
}

#[tokio::test]
async fn a_claim_succeeds_once() {
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
}

/// `TransactWriteItems` with a condition per item: all written or none; `UpdateItem` replaces the record
/// and its TTL, and refuses an item that is not there.
#[tokio::test]
async fn records_are_written_all_or_nothing_and_updated_in_place() {
    let (_emulator, ledger) = ledger().await;
    let item = |sk, detail, keep| NewItem {
        pk: "p",
        sk,
        detail,
        keep,
    };
    assert!(
        ledger
            .record_all(&[item("tier#150", "slack", Some(DAY)), item("sns#150", "sns", None)])
            .await
            .unwrap()
    );
    // One key taken: nothing of the transaction is written.
    assert!(
        !ledger
            .record_all(&[item("tier#120", "x", None), item("sns#150", "again", None)])
            .await
            .unwrap()
    );
    let claims = ledger.claims("p").await.unwrap();
    assert_eq!(
        claims,
        [
            ("sns#150".to_owned(), "sns".to_owned()),
            ("tier#150".to_owned(), "slack".to_owned())
        ]
    );
    ledger
        .update_record("p", "sns#150", "sent", Some(DAY))
        .await
        .unwrap();
    ledger.update_record("p", "tier#150", "sent", None).await.unwrap();
    assert_eq!(ledger.claims("p").await.unwrap()[0].1, "sent");
    let missing = ledger.update_record("p", "nope", "x", None).await.unwrap_err();
    assert_eq!(
        missing.class(),
        Some(aws_error::ErrorClass::ClientFault),
        "{missing}"
    );
    assert!(missing.to_string().contains("update p/nope"), "{missing}");
}

/// A record's send lease against the emulator's DynamoDB: one holder at a time, handed back with the
/// record as it is now; the holder's update ends it; one that ran out can be taken again.
#[tokio::test]
async fn a_send_lease_has_one_holder_until_it_ends_or_runs_out() {
    use chrono::{Duration as Minutes, TimeZone, Utc};
    let (_emulator, ledger) = ledger().await;
    let now = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
    let item = NewItem {
        pk: "p",
        sk: "page",
        detail: "pending",
        keep: None,
    };
    assert!(ledger.record_all(&[item]).await.unwrap());
    let until = now + Minutes::minutes(3);
    assert_eq!(
        ledger.lease("p", "page", until, now).await.unwrap().as_deref(),
        Some("pending")
    );
    // Another run meanwhile: the lease is held.
    assert_eq!(
        ledger
            .lease("p", "page", until, now + Minutes::minutes(1))
            .await
            .unwrap(),
        None
    );
    // The holder writes what came of the send: the lease ends, and the next lease reads it.
    ledger.update_record("p", "page", "sent", None).await.unwrap();
    assert_eq!(
        ledger
            .lease("p", "page", until, now + Minutes::minutes(1))
            .await
            .unwrap()
            .as_deref(),
        Some("sent")
    );
    // A holder that died: its lease runs out and another run takes it.
    assert_eq!(
        ledger
            .lease("p", "page", until, now + Minutes::minutes(2))
            .await
            .unwrap(),
        None
    );
    assert!(
        ledger
            .lease("p", "page", now + Minutes::minutes(10), now + Minutes::minutes(4))
            .await
            .unwrap()
            .is_some()
    );
    let missing = ledger.lease("p", "nope", until, now).await.unwrap_err();
    assert!(missing.to_string().contains("lease p/nope"), "{missing}");
}

/// The delivery protocol against the emulator's SNS: a pending record is published with its
/// `idempotency_key` attribute, marked sent with the message id, and not sent again.
#[tokio::test]
async fn a_pending_sns_record_is_published_once_with_its_idempotency_key() {
    use governance::cost_pass::notify::{NoSlack, Sender, StoredRecord, records};
    use governance::cost_pass::slack::SlackRetry;
    use governance::ledger::delivery::{DeliveryRecord, DeliveryState, SnsNotification};
    let (emulator, ledger) = ledger().await;
    let clients = emulator.clients().await;
    let topic = clients
        .sns
        .create_topic()
        .name("collectiq-prod-critical")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let now = chrono::Utc::now();
    let message = SnsNotification::new(&topic, "CRITICAL test", "body", "CRITICAL", "cost_budget");
    let record = DeliveryRecord::sns("p/sns#150", message, now);
    let detail = record.to_detail().unwrap();
    assert!(
        ledger
            .record_all(&[NewItem {
                pk: "p",
                sk: "sns#150",
                detail: &detail,
                keep: None,
            }])
            .await
            .unwrap()
    );
    let pending = records(&ledger, "p").await.unwrap();
    assert_eq!(pending.len(), 1);
    let mut sender = Sender::new(
        &ledger,
        &NoSlack,
        &clients.sns,
        "",
        SlackRetry::default(),
        Some(DAY),
    );
    let StoredRecord { pk, sk, record } = pending.into_iter().next().unwrap();
    let sent = sender.send(StoredRecord { pk, sk, record }, now).await.unwrap();
    let got = emulator.sns_messages().await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message_id, sent.receipt);
    assert!(
        got[0]
            .attributes
            .contains(&("idempotency_key".into(), "p/sns#150".into())),
        "{:?}",
        got[0].attributes
    );
    let stored = records(&ledger, "p").await.unwrap();
    assert_eq!(stored[0].record.state, DeliveryState::Sent);
    assert_eq!(stored[0].record.receipt.as_deref(), Some(sent.receipt.as_str()));
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
