//! The stuck-valuation sweep (GSI3: `valuingShard` + `updatedAt`) against DynamoDB in moto: cards left
//! `VALUING` by executions that never reached the error handler are failed, so their owners can
//! revalue them; live valuations, other states and cards that moved on meanwhile are left alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend_support;

use backend::error_handler::{self, FailureInput, FailureOutput, SweepOptions, SweepReport, SweepRequest};
use backend::identity::Caller;
use backend::model::{Card, CardStatus};
use backend::store::{CardStore, StuckCard};
use backend_support::*;
use chrono::{DateTime, Duration, Utc};
use collectiq_tests::TestEnv;

fn card(id: &str, status: CardStatus, updated_at: DateTime<Utc>) -> Card {
    Card {
        card_id: id.into(),
        name: format!("card {id}"),
        set_name: None,
        number: None,
        year: None,
        grade: None,
        rarity: None,
        front_s3_key: format!("uploads/x/{id}.jpg"),
        back_s3_key: None,
        status,
        created_at: updated_at - Duration::days(1),
        updated_at,
        value: None,
        pricing_confidence: None,
        authenticity_score: None,
        valued_at: None,
        last_valuation_id: None,
    }
}

fn minutes_ago(m: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis((Utc::now() - Duration::minutes(m)).timestamp_millis()).unwrap()
}

async fn put(store: &CardStore, sub: &str, c: &Card) {
    assert_eq!(
        store
            .create(&Caller::from_sub(Some(sub)).unwrap(), c)
            .await
            .unwrap(),
        backend::store::Created::Written
    );
}

async fn status(store: &CardStore, sub: &str, id: &str) -> CardStatus {
    store
        .get(&Caller::from_sub(Some(sub)).unwrap(), id)
        .await
        .unwrap()
        .unwrap()
        .status
}

fn sweep_event(older_than_minutes: u32, max_cards: usize) -> FailureInput {
    FailureInput::Sweep(SweepRequest {
        sweep_stuck_valuations: SweepOptions {
            older_than_minutes,
            max_cards,
        },
    })
}

#[tokio::test]
async fn stuck_cards_of_every_user_are_failed_and_nothing_else_is() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let deps = cards_deps(&env);
    let store = &deps.store;
    let stuck_since = minutes_ago(120);
    put(store, ALICE, &card("a-stuck", CardStatus::Valuing, stuck_since)).await;
    put(
        store,
        ALICE,
        &card("a-live", CardStatus::Valuing, minutes_ago(10)),
    )
    .await;
    put(
        store,
        ALICE,
        &card("a-failed", CardStatus::Failed, minutes_ago(300)),
    )
    .await;
    put(
        store,
        ALICE,
        &card("a-valued", CardStatus::Valued, minutes_ago(300)),
    )
    .await;
    put(
        store,
        BOB,
        &card("b-stuck", CardStatus::Valuing, minutes_ago(60 * 24)),
    )
    .await;

    // GSI3, oldest first, only VALUING and only before the cutoff
    let found = store.stuck_valuations(minutes_ago(45), 10).await.unwrap();
    assert_eq!(
        found
            .iter()
            .map(|c| (c.user_id.as_str(), c.card_id.as_str()))
            .collect::<Vec<_>>(),
        [(BOB, "b-stuck"), (ALICE, "a-stuck")]
    );
    assert_eq!(found[1].since, stuck_since, "updatedAt read back exactly");
    assert_eq!(
        store.stuck_valuations(minutes_ago(45), 1).await.unwrap().len(),
        1,
        "limit"
    );

    let handler_deps = error_handler::Deps {
        store: store.clone(),
        users: users(),
        ceiling: backend::quota::ValuationCeiling::for_refunds(env.clients.dynamodb.clone(), TABLE),
    };
    let out = error_handler::handler(lambda_event(sweep_event(45, 200)), &handler_deps)
        .await
        .unwrap();
    assert_eq!(
        out,
        FailureOutput::Swept(SweepReport {
            found: 2,
            marked_failed: 2
        })
    );
    assert_eq!(status(store, ALICE, "a-stuck").await, CardStatus::Failed);
    assert_eq!(status(store, BOB, "b-stuck").await, CardStatus::Failed);
    assert_eq!(
        status(store, ALICE, "a-live").await,
        CardStatus::Valuing,
        "a live valuation"
    );
    assert_eq!(status(store, ALICE, "a-valued").await, CardStatus::Valued);

    // the next run finds nothing: FAILED cards have left the VALUING partition of GSI3
    let again = error_handler::handler(lambda_event(sweep_event(45, 200)), &handler_deps)
        .await
        .unwrap();
    assert_eq!(
        again,
        FailureOutput::Swept(SweepReport {
            found: 0,
            marked_failed: 0
        })
    );
}

#[tokio::test]
async fn a_card_that_moved_on_after_the_query_is_left_alone() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let store = cards_deps(&env).store;
    let since = minutes_ago(90);
    put(&store, ALICE, &card("c-1", CardStatus::Valuing, since)).await;
    let alice = Caller::from_sub(Some(ALICE)).unwrap();
    let seen = StuckCard {
        user_id: ALICE.into(),
        card_id: "c-1".into(),
        since,
    };
    // meanwhile the owner's valuation failed and a new one started (VALUING again, a newer updatedAt)
    assert!(
        store
            .mark_failed(&alice, "c-1", "v-0", minutes_ago(2))
            .await
            .unwrap()
    );
    store
        .begin_valuation(&alice, "c-1", "v-1", minutes_ago(1))
        .await
        .unwrap();
    assert!(
        !store.fail_stuck(&alice, &seen, Utc::now()).await.unwrap(),
        "lost the race"
    );
    assert_eq!(status(&store, ALICE, "c-1").await, CardStatus::Valuing);
    // a card deleted meanwhile is not recreated by the update
    store.delete(&alice, "c-1", &[], &[]).await.unwrap();
    assert!(!store.fail_stuck(&alice, &seen, Utc::now()).await.unwrap());
    assert!(store.get(&alice, "c-1").await.unwrap().is_none());
}

/// Express workflows run at least once, and a start that timed out may still run: a valuation that
/// is no longer the card's current one can neither fail the card, nor put it back, nor write its
/// result over the newer one's.
#[tokio::test]
async fn an_older_valuation_cannot_touch_the_newer_one() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let store = cards_deps(&env).store;
    put(&store, ALICE, &card("c-2", CardStatus::Valued, minutes_ago(60))).await;
    let alice = Caller::from_sub(Some(ALICE)).unwrap();
    let before = store
        .begin_valuation(&alice, "c-2", "v-1", minutes_ago(10))
        .await
        .unwrap();
    assert!(
        store
            .mark_failed(&alice, "c-2", "v-1", minutes_ago(9))
            .await
            .unwrap()
    );
    store
        .begin_valuation(&alice, "c-2", "v-2", minutes_ago(8))
        .await
        .unwrap();
    // v-1's duplicate failure, its revert and its late result all leave v-2 running
    assert!(
        !store
            .mark_failed(&alice, "c-2", "v-1", minutes_ago(7))
            .await
            .unwrap()
    );
    store.revert_valuation(&alice, &before, "v-1").await.unwrap();
    assert_eq!(status(&store, ALICE, "c-2").await, CardStatus::Valuing);
    let result = |id: &str, status| backend::store::ValuationUpdate {
        valuation_id: id.into(),
        status,
        range: None,
        pricing_confidence: 0.9,
        authenticity_score: 0.9,
        valued_at: minutes_ago(5),
        set_rarity: None,
    };
    assert_eq!(
        store
            .apply_valuation(&alice, "c-2", &result("v-1", CardStatus::Flagged))
            .await
            .unwrap(),
        backend::store::Applied::Superseded
    );
    assert_eq!(status(&store, ALICE, "c-2").await, CardStatus::Valuing);
    // v-2 writes once; its retry is recognised
    assert_eq!(
        store
            .apply_valuation(&alice, "c-2", &result("v-2", CardStatus::Valued))
            .await
            .unwrap(),
        backend::store::Applied::Written
    );
    assert_eq!(
        store
            .apply_valuation(&alice, "c-2", &result("v-2", CardStatus::Valued))
            .await
            .unwrap(),
        backend::store::Applied::AlreadyApplied
    );
    let c = store.get(&alice, "c-2").await.unwrap().unwrap();
    assert_eq!(
        (c.status, c.last_valuation_id.as_deref()),
        (CardStatus::Valued, Some("v-2"))
    );
}

#[tokio::test]
async fn a_sweep_too_eager_to_be_safe_is_rejected() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let deps = cards_deps(&env);
    put(
        &deps.store,
        ALICE,
        &card("c-1", CardStatus::Valuing, minutes_ago(3)),
    )
    .await;
    let handler_deps = error_handler::Deps {
        store: deps.store.clone(),
        users: users(),
        ceiling: backend::quota::ValuationCeiling::for_refunds(env.clients.dynamodb.clone(), TABLE),
    };
    let e = error_handler::handler(lambda_event(sweep_event(1, 200)), &handler_deps)
        .await
        .unwrap_err();
    assert_eq!(
        lambda_runtime::Diagnostic::from(e.clone()).error_type,
        "Validation"
    );
    assert!(e.to_string().contains("olderThanMinutes"), "{e}");
    assert_eq!(status(&deps.store, ALICE, "c-1").await, CardStatus::Valuing);
}

/// GSI3 holds the valuations in flight only (sparse), spread over its shards; the sweep reads every
/// shard and still answers oldest first within its limit, and a card that leaves `VALUING` leaves
/// the index.
#[tokio::test]
async fn the_index_holds_only_valuations_in_flight_over_several_shards() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let store = cards_deps(&env).store;
    let ids: Vec<String> = (0..24).map(|i| format!("card-{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let minutes = 60 + i64::try_from(i).unwrap();
        put(
            &store,
            ALICE,
            &card(id, CardStatus::Valuing, minutes_ago(minutes)),
        )
        .await;
    }
    for id in ["done-1", "done-2", "new-1"] {
        let st = if id == "new-1" {
            CardStatus::Created
        } else {
            CardStatus::Valued
        };
        put(&store, BOB, &card(id, st, minutes_ago(500))).await;
    }
    let indexed = env
        .clients
        .dynamodb
        .scan()
        .table_name(TABLE)
        .index_name(backend::store::GSI3)
        .send()
        .await
        .unwrap();
    assert_eq!(indexed.count(), 24, "only the VALUING cards are in GSI3");
    let shards: std::collections::BTreeSet<String> = indexed
        .items()
        .iter()
        .map(|i| i["valuingShard"].as_s().unwrap().clone())
        .collect();
    assert!(
        shards.len() >= 4,
        "24 cards over {} shard(s): {shards:?}",
        shards.len()
    );
    assert!(shards.iter().all(|s| s.starts_with("VALUING#")));
    // Oldest first across the shards, and the limit holds across them.
    let found = store.stuck_valuations(minutes_ago(30), 5).await.unwrap();
    let oldest: Vec<&str> = ids.iter().rev().take(5).map(String::as_str).collect();
    assert_eq!(
        found.iter().map(|c| c.card_id.as_str()).collect::<Vec<_>>(),
        oldest
    );
    assert_eq!(
        store.stuck_valuations(minutes_ago(30), 100).await.unwrap().len(),
        24
    );
    // Failed by the sweep: out of the index.
    let alice = Caller::from_sub(Some(ALICE)).unwrap();
    for c in &found {
        assert!(store.fail_stuck(&alice, c, Utc::now()).await.unwrap());
    }
    assert_eq!(
        store.stuck_valuations(minutes_ago(30), 100).await.unwrap().len(),
        19
    );
}

/// A card that went `VALUING` before the index was sharded has no `valuingShard`: the sweep cannot
/// see it until its owner tries to value it again — that answers 409 as before and gives it its
/// shard, so the next sweep fails it and the owner can value it.
#[tokio::test]
async fn a_card_stuck_from_before_the_sharded_index_is_enrolled_by_a_retry() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let store = cards_deps(&env).store;
    let alice = Caller::from_sub(Some(ALICE)).unwrap();
    let mut legacy = backend::store::card_item(&alice, &card("old-1", CardStatus::Valuing, minutes_ago(600)));
    legacy
        .remove("valuingShard")
        .expect("card_item gives a VALUING card its shard");
    env.clients
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .set_item(Some(legacy))
        .send()
        .await
        .unwrap();
    assert!(
        store
            .stuck_valuations(minutes_ago(45), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = store.begin_valuation(&alice, "old-1", "v-2", Utc::now()).await;
    assert!(
        matches!(retry, Err(backend::HandlerError::Conflict(_))),
        "{retry:?}"
    );
    let found = store.stuck_valuations(minutes_ago(45), 10).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(store.fail_stuck(&alice, &found[0], Utc::now()).await.unwrap());
    assert_eq!(status(&store, ALICE, "old-1").await, CardStatus::Failed);
    let before = store
        .begin_valuation(&alice, "old-1", "v-3", Utc::now())
        .await
        .unwrap();
    assert_eq!(before.status, CardStatus::Failed);
    assert_eq!(
        store
            .stuck_valuations(Utc::now() + Duration::minutes(1), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}
