//! Issue 13, item 5 ("Backend abuse"), against the emulator: no Cognito `sub` in upload keys, quota
//! items or the API access-log format; per-user daily quotas on presign and revalue (DynamoDB
//! conditional counters, 429 + `Retry-After` to the next UTC midnight); uploads confirmed by the card
//! that uses them (the rest expire by the lifecycle rule on the pending tag); deleting a card deletes
//! its images.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend_support;

use aws_sdk_dynamodb::types::AttributeValue;
use backend::model::{Card, CardStatus};
use backend::quota::{DailyQuota, QuotaAction, seconds_to_next_utc_midnight};
use backend::store::CardStore;
use backend::uploads::{UploadStore, UserUploads};
use backend::{cards_create, cards_delete, cards_revalue, upload_presign};
use backend_support::*;
use collectiq_tests::TestEnv;
use governance::cost_pass::counting::RequestCounter;

const BUCKET: &str = "collectiq-test-uploads";

fn s3(env: &TestEnv) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&env.sdk_config)
            .force_path_style(true)
            .build(),
    )
}

async fn setup(env: &TestEnv) -> aws_sdk_s3::Client {
    create_table(&env.clients.dynamodb).await;
    let s3 = s3(env);
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    s3
}

fn presign_deps(env: &TestEnv, n: u32) -> upload_presign::Deps {
    upload_presign::Deps {
        s3: s3(env),
        bucket: BUCKET.into(),
        policy: upload_presign::UploadPolicy::new(upload_presign::DEFAULT_ALLOWED_MIME, 12),
        users: users(),
        quota: DailyQuota::new(
            env.clients.dynamodb.clone(),
            TABLE,
            QuotaAction::Presign,
            limit(n),
        )
        .with_clock(quota_clock()),
    }
}

async fn presign(
    deps: &upload_presign::Deps,
    sub: &str,
) -> aws_lambda_events::apigw::ApiGatewayV2httpResponse {
    upload_presign::handler(
        lambda_event(api_event("apigw_v2_upload_presign.json", sub, None, None)),
        deps,
    )
    .await
    .unwrap()
}

/// Presigns and really uploads one image as the browser would (every signed header sent); its key.
async fn upload(deps: &upload_presign::Deps, sub: &str) -> String {
    let r = presign(deps, sub).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    let b = body_json(&r);
    let bytes = vec![0xFFu8; 2_457_600];
    let mut put = reqwest::Client::new().put(b["uploadUrl"].as_str().unwrap());
    for (k, v) in b["headers"].as_object().unwrap() {
        if k != "content-length" {
            put = put.header(k, v.as_str().unwrap());
        }
    }
    let put = put.body(bytes).send().await.unwrap();
    assert!(put.status().is_success(), "{:?}", put.text().await);
    b["key"].as_str().unwrap().to_owned()
}

/// A presigned URL stores one object: sent again (a second image, or a new photo over a card's
/// judged one) S3 answers 412 and the first upload stays (`If-None-Match: *` is signed into it).
#[tokio::test]
async fn a_presigned_url_uploads_once() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let r = presign(&presign_deps(&env, 10), ALICE).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    let b = body_json(&r);
    assert_eq!(b["headers"]["if-none-match"], "*", "{b}");
    let put = |fill: u8| {
        let mut put = reqwest::Client::new().put(b["uploadUrl"].as_str().unwrap());
        for (k, v) in b["headers"].as_object().unwrap() {
            if k != "content-length" {
                put = put.header(k, v.as_str().unwrap());
            }
        }
        put.body(vec![fill; 2_457_600]).send()
    };
    assert!(put(1).await.unwrap().status().is_success());
    assert_eq!(put(2).await.unwrap().status().as_u16(), 412);
    let key = b["key"].as_str().unwrap();
    let kept = s3.get_object().bucket(BUCKET).key(key).send().await.unwrap();
    let bytes = kept.body.collect().await.unwrap().into_bytes();
    assert!(bytes.iter().all(|b| *b == 1), "the first upload was replaced");
}

async fn tags(s3: &aws_sdk_s3::Client, key: &str) -> Vec<(String, String)> {
    s3.get_object_tagging()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap()
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

async fn exists(s3: &aws_sdk_s3::Client, key: &str) -> bool {
    s3.head_object().bucket(BUCKET).key(key).send().await.is_ok()
}

/// Every string in the table (keys and attributes), to look for a raw `sub`.
async fn table_text(env: &TestEnv) -> String {
    let items = env
        .clients
        .dynamodb
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    format!("{items:?}")
}

/// A 429 of the caller's own daily limit of `limit` `action` requests.
fn assert_429(r: &aws_lambda_events::apigw::ApiGatewayV2httpResponse, limit: u32, action: &str) {
    let message = too_many(r);
    assert!(
        message.contains(&format!("your daily limit of {limit} {action} requests"))
            && message.contains("00:00 UTC"),
        "{message}"
    );
}

/// A 429 of the service's daily limit of `limit` valuations, all users together.
fn assert_service_429(r: &aws_lambda_events::apigw::ApiGatewayV2httpResponse, limit: u32) {
    let message = too_many(r);
    assert!(
        message.contains(&format!("the service's daily limit of {limit} valuations"))
            && message.contains("all users together")
            && message.contains("00:00 UTC")
            && !message.contains("your"),
        "{message}"
    );
}

/// The message of a 429 whose `Retry-After` is the seconds from the instant the quotas counted at to
/// the next UTC midnight.
fn too_many(r: &aws_lambda_events::apigw::ApiGatewayV2httpResponse) -> String {
    assert_eq!(r.status_code, 429, "{:?}", r.body);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(retry, seconds_to_next_utc_midnight(counted_at()));
    assert!((1..=86_400).contains(&retry), "Retry-After {retry}");
    let b = body_json(r);
    assert_eq!(b["error"], "TooManyRequests");
    b["message"].as_str().unwrap().to_owned()
}

/// The end of the UTC day after the one the quotas counted at: their items' `expiresAt`.
fn expiry_of_counters() -> i64 {
    (counted_at().date_naive() + chrono::Days::new(2))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

#[tokio::test]
async fn presign_keys_are_pseudonymous_pending_and_limited_per_user_and_day() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let deps = presign_deps(&env, 3);
    let alice = users().hash(ALICE);

    let mut keys = Vec::new();
    for _ in 0..2 {
        keys.push(upload(&deps, ALICE).await);
    }
    let r = presign(&deps, ALICE).await;
    assert_eq!(r.status_code, 200);
    let b = body_json(&r);
    assert_eq!(b["headers"]["x-amz-tagging"], "collectiq-upload=pending", "{b}");
    keys.push(b["key"].as_str().unwrap().to_owned());
    for key in &keys {
        assert!(key.starts_with(&format!("uploads/{alice}/")), "{key}");
        assert!(!key.contains(ALICE), "the sub is in the key: {key}");
    }
    // the uploaded objects carry the pending tag the lifecycle rule expires
    assert_eq!(
        tags(&s3, &keys[0]).await,
        [("collectiq-upload".to_owned(), "pending".to_owned())]
    );

    // the fourth of the day: 429 with Retry-After to the next UTC midnight, no URL
    let r = presign(&deps, ALICE).await;
    assert_429(&r, 3, "presign");
    assert!(body_json(&r).get("uploadUrl").is_none());
    // others are not affected
    assert_eq!(presign(&deps, BOB).await.status_code, 200);

    // one counter item per user, action and UTC day, refused requests not counted, with its TTL
    let today = counted_at().format("%Y-%m-%d").to_string();
    let item = env
        .clients
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("PK", AttributeValue::S(format!("QUOTA#{alice}")))
        .key("SK", AttributeValue::S(format!("presign#{today}")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["used"].as_n().unwrap(), "3");
    let expires: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
    assert_eq!(
        expires,
        expiry_of_counters(),
        "expiresAt is the end of the following UTC day"
    );
    let text = table_text(&env).await;
    assert!(
        !text.contains(ALICE) && !text.contains(BOB),
        "a sub in the table: {text}"
    );
}

/// A state machine that does nothing, standing for the valuation workflow: its client and ARN.
async fn valuation_machine(env: &TestEnv) -> (aws_sdk_sfn::Client, String) {
    let sfn = aws_sdk_sfn::Client::new(&env.sdk_config);
    let sm = sfn
        .create_state_machine()
        .name("collectiq-test-valuation")
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/collectiq-test-sfn")
        .send()
        .await
        .unwrap();
    (sfn, sm.state_machine_arn().to_owned())
}

/// `cards_revalue`'s dependencies: `per_user` revaluations per user and `service` valuations for all
/// users together a day.
fn revalue_deps(
    env: &TestEnv,
    (sfn, arn): &(aws_sdk_sfn::Client, String),
    per_user: u32,
    service: u32,
) -> cards_revalue::Deps {
    cards_revalue::Deps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        sfn: sfn.clone(),
        state_machine_arn: arn.clone(),
        bucket: BUCKET.into(),
        users: users(),
        quota: DailyQuota::new(
            env.clients.dynamodb.clone(),
            TABLE,
            QuotaAction::Revalue,
            limit(per_user),
        )
        .with_clock(quota_clock()),
        ceiling: ceiling(env, service),
    }
}

async fn try_revalue(
    deps: &cards_revalue::Deps,
    sub: &str,
    card: &str,
) -> Result<aws_lambda_events::apigw::ApiGatewayV2httpResponse, backend::HandlerError> {
    cards_revalue::handler(
        lambda_event(api_event("apigw_v2_cards_revalue.json", sub, None, Some(card))),
        deps,
    )
    .await
}

async fn revalue(
    deps: &cards_revalue::Deps,
    sub: &str,
    card: &str,
) -> aws_lambda_events::apigw::ApiGatewayV2httpResponse {
    try_revalue(deps, sub, card).await.unwrap()
}

async fn executions((sfn, arn): &(aws_sdk_sfn::Client, String)) -> usize {
    sfn.list_executions()
        .state_machine_arn(arn)
        .send()
        .await
        .unwrap()
        .executions()
        .len()
}

async fn status_of(env: &TestEnv, sub: &str, card: &str) -> String {
    env.clients
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("PK", AttributeValue::S(format!("USER#{sub}")))
        .key("SK", AttributeValue::S(format!("CARD#{card}")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap()["status"]
        .as_s()
        .unwrap()
        .clone()
}

/// The service's valuations counted on the UTC day of `day` (`None`: no counter that day).
async fn service_valuations(env: &TestEnv, day: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let item = env
        .clients
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("PK", AttributeValue::S("QUOTA#service".into()))
        .key(
            "SK",
            AttributeValue::S(format!("valuation#{}", day.format("%Y-%m-%d"))),
        )
        .send()
        .await
        .unwrap()
        .item?;
    assert_eq!(
        item["expiresAt"].as_n().unwrap().parse::<i64>().unwrap(),
        (day.date_naive() + chrono::Days::new(2))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp(),
        "the service's counter expires at the end of the following UTC day"
    );
    assert!(
        item.keys()
            .all(|k| ["PK", "SK", "used", "expiresAt"].contains(&k.as_str())),
        "{item:?}"
    );
    Some(item["used"].as_n().unwrap().clone())
}

#[tokio::test]
async fn revalue_is_limited_per_day_and_a_refused_request_starts_nothing() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let machine = valuation_machine(&env).await;
    let deps = revalue_deps(&env, &machine, 2, 100);
    let front = upload(&presign_deps(&env, 10), ALICE).await;
    let card = create_card(&env, &s3, ALICE, &front, None).await;
    assert_eq!(revalue(&deps, ALICE, &card).await.status_code, 202);
    // the valuation finished (as the aggregator would leave it), so the next one may start
    set_status(&env, ALICE, &card, CardStatus::Valued).await;
    assert_eq!(revalue(&deps, ALICE, &card).await.status_code, 202);
    set_status(&env, ALICE, &card, CardStatus::Valued).await;

    let r = revalue(&deps, ALICE, &card).await;
    assert_429(&r, 2, "revalue");
    assert_eq!(
        executions(&machine).await,
        2,
        "the refused request started nothing"
    );
    assert_eq!(
        status_of(&env, ALICE, &card).await,
        "VALUED",
        "the refused request changed nothing"
    );
    // refused before the card was claimed: the service counted the two valuations only
    assert_eq!(service_valuations(&env, counted_at()).await.as_deref(), Some("2"));
}

/// Cognito sign-up is open, so per-user limits alone let Bedrock spend grow with every new user: the
/// service's ceiling counts all users' valuations together. Past it a revaluation is a 429 that says
/// it is the service's limit, not the caller's (each user here is well within their own), starts
/// nothing and leaves the card as it was.
#[tokio::test]
async fn valuations_are_limited_for_all_users_together() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let machine = valuation_machine(&env).await;
    let deps = revalue_deps(&env, &machine, 10, 2);
    let presign = presign_deps(&env, 10);
    let alices = create_card(&env, &s3, ALICE, &upload(&presign, ALICE).await, None).await;
    let bobs = create_card(&env, &s3, BOB, &upload(&presign, BOB).await, None).await;
    assert_eq!(revalue(&deps, ALICE, &alices).await.status_code, 202);
    set_status(&env, ALICE, &alices, CardStatus::Valued).await;
    assert_eq!(revalue(&deps, BOB, &bobs).await.status_code, 202);
    set_status(&env, BOB, &bobs, CardStatus::Valued).await;

    for (sub, card) in [(BOB, &bobs), (ALICE, &alices)] {
        let r = revalue(&deps, sub, card).await;
        assert_service_429(&r, 2);
        assert_eq!(
            status_of(&env, sub, card).await,
            "VALUED",
            "the refused valuation put the card back"
        );
    }
    assert_eq!(
        executions(&machine).await,
        2,
        "the refused requests started nothing"
    );
    assert_eq!(service_valuations(&env, counted_at()).await.as_deref(), Some("2"));
    // the refused requests reached the card, so they count against their callers' own limits
    // (as a 404 or 409 does), and a user past their own limit is told it is theirs
    let mine = revalue_deps(&env, &machine, 2, 2);
    let r = revalue(&mine, ALICE, &alices).await;
    assert_429(&r, 2, "revalue");
}

/// The ceiling counts valuations, not requests: a replayed request finds its valuation running (409)
/// and is not counted again, and a valuation whose execution could not be started is given back, so
/// the client's retry is counted once.
#[tokio::test]
async fn a_replayed_or_retried_revalue_is_one_valuation() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let machine = valuation_machine(&env).await;
    let deps = revalue_deps(&env, &machine, 10, 5);
    let presign = presign_deps(&env, 10);
    let card = create_card(&env, &s3, ALICE, &upload(&presign, ALICE).await, None).await;
    assert_eq!(revalue(&deps, ALICE, &card).await.status_code, 202);
    for _ in 0..2 {
        assert_eq!(revalue(&deps, ALICE, &card).await.status_code, 409);
    }
    assert_eq!(service_valuations(&env, counted_at()).await.as_deref(), Some("1"));

    // StartExecution fails (no such state machine): a 5xx the client retries
    let other = create_card(&env, &s3, ALICE, &upload(&presign, ALICE).await, None).await;
    let broken = cards_revalue::Deps {
        state_machine_arn: format!("{}-gone", machine.1),
        ..deps.clone()
    };
    let err = try_revalue(&broken, ALICE, &other).await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    assert_eq!(status_of(&env, ALICE, &other).await, "CREATED");
    assert_eq!(
        service_valuations(&env, counted_at()).await.as_deref(),
        Some("1"),
        "a valuation that was not started is given back"
    );
    assert_eq!(revalue(&deps, ALICE, &other).await.status_code, 202);
    assert_eq!(service_valuations(&env, counted_at()).await.as_deref(), Some("2"));
    assert_eq!(executions(&machine).await, 2);

    // StartExecution times out (an endpoint that takes the request and never answers): Step
    // Functions may have started the execution, so the count stays.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = aws_sdk_sfn::Client::from_conf(
        machine
            .0
            .config()
            .to_builder()
            .endpoint_url(format!("http://{}", hole.local_addr().unwrap()))
            .timeout_config(
                aws_smithy_types::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(std::time::Duration::from_millis(300))
                    .build(),
            )
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build(),
    );
    let third = create_card(&env, &s3, ALICE, &upload(&presign, ALICE).await, None).await;
    let timing_out = cards_revalue::Deps {
        sfn: silent,
        ..deps.clone()
    };
    let err = try_revalue(&timing_out, ALICE, &third).await.unwrap_err();
    assert_eq!(err.error_type(), "Retryable", "{err}");
    assert_eq!(
        service_valuations(&env, counted_at()).await.as_deref(),
        Some("3"),
        "a valuation that may have started is not given back"
    );
}

/// A valuation charged just before 00:00 UTC and refunded after it goes back to the day it was counted
/// on; a refund never takes a counter below 0.
#[tokio::test]
async fn a_refund_goes_back_to_the_day_it_was_charged() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let (late, early) = (at("2026-11-22T23:59:59.999Z"), at("2026-11-23T00:00:00.001Z"));
    let on = |t| {
        backend::quota::ValuationCeiling::new(env.clients.dynamodb.clone(), TABLE, limit(5))
            .with_clock(backend::quota::QuotaClock::Fixed(t))
    };
    let kept = on(late).charge().await.unwrap();
    let refunded = on(late).charge().await.unwrap();
    assert_eq!((kept.used(), refunded.used()), (1, 2));
    assert_eq!(on(early).charge().await.unwrap().used(), 1);

    on(early).refund(refunded).await.unwrap();
    assert_eq!(service_valuations(&env, late).await.as_deref(), Some("1"));
    assert_eq!(service_valuations(&env, early).await.as_deref(), Some("1"));

    on(late).refund(kept.clone()).await.unwrap();
    on(late).refund(kept).await.unwrap();
    assert_eq!(service_valuations(&env, late).await.as_deref(), Some("0"));
}

/// An S3 client for the emulator whose requests are counted by operation.
fn counted_s3(env: &TestEnv) -> (aws_sdk_s3::Client, RequestCounter) {
    let counter = RequestCounter::new();
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&env.sdk_config)
            .force_path_style(true)
            .interceptor(counter.clone())
            .build(),
    );
    (client, counter)
}

async fn create_with(
    deps: &cards_create::Deps,
    sub: &str,
    front: &str,
    back: Option<&str>,
) -> aws_lambda_events::apigw::ApiGatewayV2httpResponse {
    let mut body = serde_json::json!({"name": "Charizard", "year": 1999, "frontS3Key": front});
    if let Some(b) = back {
        body["backS3Key"] = b.into();
    }
    cards_create::handler(
        lambda_event(api_event("apigw_v2_cards_create.json", sub, Some(body), None)),
        deps,
    )
    .await
    .unwrap()
}

/// `POST /cards` is counted per user and UTC day like presign and revalue, before anything is read or
/// tagged: past the limit a create — new or repeated — is 429 with `Retry-After`, and makes no S3 call.
#[tokio::test]
async fn card_creation_is_limited_per_day_before_any_s3_call() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let presign = presign_deps(&env, 10);
    let first = upload(&presign, ALICE).await;
    let second = upload(&presign, ALICE).await;
    let (counted, calls) = counted_s3(&env);
    let deps = create_deps_with(&env, counted, 2);

    let r = create_with(&deps, ALICE, &first, None).await;
    assert_eq!(r.status_code, 201, "{:?}", r.body);
    // a repeated create (a client retrying after a lost answer) is a request like any other
    let r = create_with(&deps, ALICE, &first, None).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    let tagged = calls.snapshot().of("PutObjectTagging");

    for (front, back) in [
        (second.as_str(), None),
        (first.as_str(), None),
        (second.as_str(), Some(first.as_str())),
    ] {
        let r = create_with(&deps, ALICE, front, back).await;
        assert_429(&r, 2, "create");
    }
    assert_eq!(
        calls.snapshot().of("PutObjectTagging"),
        tagged,
        "a refused create tagged an image: {}",
        calls.snapshot().summary()
    );
    assert_eq!(
        tags(&s3, &second).await,
        [("collectiq-upload".to_owned(), "pending".to_owned())]
    );
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    let store = CardStore::new(env.clients.dynamodb.clone(), TABLE);
    assert_eq!(store.image_owner(&alice, &second).await.unwrap(), None);

    // others are not affected
    let bob_front = upload(&presign, BOB).await;
    assert_eq!(create_with(&deps, BOB, &bob_front, None).await.status_code, 201);
    // one counter per user and UTC day; refused requests not counted
    let today = counted_at().format("%Y-%m-%d").to_string();
    let item = env
        .clients
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("PK", AttributeValue::S(format!("QUOTA#{}", users().hash(ALICE))))
        .key("SK", AttributeValue::S(format!("create#{today}")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(item["used"].as_n().unwrap(), "2");
}

/// A repeated create gets its card back without re-tagging its images: they were tagged `confirmed`
/// before the card was written, and its claims say so. Only an image whose claim does not (a card
/// stored before claims was given it) is confirmed again.
#[tokio::test]
async fn a_repeated_create_re_tags_nothing() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let presign = presign_deps(&env, 10);
    let front = upload(&presign, ALICE).await;
    let back = upload(&presign, ALICE).await;
    let id = create_card(&env, &s3, ALICE, &front, Some(&back)).await;

    let (counted, calls) = counted_s3(&env);
    let deps = create_deps_with(&env, counted, 10);
    for _ in 0..3 {
        let r = create_with(&deps, ALICE, &front, Some(&back)).await;
        assert_eq!(r.status_code, 200, "{:?}", r.body);
        assert_eq!(body_json(&r)["cardId"], id.as_str());
    }
    assert_eq!(
        calls.snapshot().of("PutObjectTagging"),
        0,
        "{}",
        calls.snapshot().summary()
    );

    // A card stored before claims, repeated: its image is confirmed (nothing says it was).
    let old_front = upload(&presign, ALICE).await;
    let old = stored_card(
        "6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a",
        "Charizard",
        &old_front,
        None,
    );
    store_pre_claim(&env, ALICE, &old).await;
    let r = create_with(&deps, ALICE, &old_front, None).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert_eq!(body_json(&r)["cardId"], old.card_id.as_str());
    assert_eq!(
        tags(&s3, &old_front).await,
        [("collectiq-upload".to_owned(), "confirmed".to_owned())]
    );
}

async fn set_status(env: &TestEnv, sub: &str, card: &str, status: CardStatus) {
    env.clients
        .dynamodb
        .update_item()
        .table_name(TABLE)
        .key("PK", AttributeValue::S(format!("USER#{sub}")))
        .key("SK", AttributeValue::S(format!("CARD#{card}")))
        .update_expression("SET #s = :s")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", AttributeValue::S(status.as_str().into()))
        .send()
        .await
        .unwrap();
}

fn create_deps(env: &TestEnv) -> cards_create::Deps {
    create_deps_with(env, s3(env), backend::quota::DEFAULT_CREATE_DAILY_LIMIT.get())
}

/// `cards_create`'s dependencies with its S3 calls made through `s3` and a daily limit of `n`.
/// Fails every `TransactWriteItems` as a dropped connection would (before it is sent), so the write
/// is `Retryable` as a transaction conflict or a time-out is.
#[derive(Debug)]
struct DropTransactions;

impl aws_smithy_runtime_api::client::interceptors::Intercept for DropTransactions {
    fn name(&self) -> &'static str {
        "DropTransactions"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<
            '_,
        >,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        match cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            Some(m) if m.name() == "TransactWriteItems" => Err("connection reset (injected)".into()),
            _ => Ok(()),
        }
    }
}

/// A create whose write fails retryably — a transaction conflict with a concurrent create of the same
/// image, a time-out after which it may have committed — leaves its upload confirmed: the claim that
/// decides whose image it is may not be visible yet, and putting a card's photo back under the
/// one-day expiry loses it. (A definite refusal still gives the upload back: see
/// `a_card_confirms_its_uploads_and_deleting_it_deletes_them`.)
#[tokio::test]
async fn a_retryable_write_failure_leaves_the_upload_confirmed() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let presign = presign_deps(&env, 10);
    let front = upload(&presign, ALICE).await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        env.clients
            .dynamodb
            .config()
            .to_builder()
            .interceptor(DropTransactions)
            .build(),
    );
    let mut deps = create_deps_with(&env, s3.clone(), 10);
    deps.store = CardStore::new(dynamodb, TABLE);
    let body = serde_json::json!({"name": "Charizard", "frontS3Key": front});
    let r = cards_create::handler(
        lambda_event(api_event("apigw_v2_cards_create.json", ALICE, Some(body), None)),
        &deps,
    )
    .await;
    let e = r.expect_err("the write failed");
    assert!(matches!(e, backend::error::HandlerError::Retryable(_)), "{e:?}");
    assert_eq!(
        tags(&s3, &front).await,
        [("collectiq-upload".to_owned(), "confirmed".to_owned())],
        "a retryable failure put the upload back under the expiry"
    );
}

fn create_deps_with(env: &TestEnv, s3: aws_sdk_s3::Client, n: u32) -> cards_create::Deps {
    cards_create::Deps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        users: users(),
        uploads: UploadStore::new(s3, BUCKET),
        quota: DailyQuota::new(env.clients.dynamodb.clone(), TABLE, QuotaAction::Create, limit(n))
            .with_clock(quota_clock()),
    }
}

fn delete_deps(env: &TestEnv) -> cards_delete::Deps {
    cards_delete::Deps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        users: users(),
        uploads: UploadStore::new(s3(env), BUCKET),
    }
}

async fn create(
    env: &TestEnv,
    sub: &str,
    front: &str,
    back: Option<&str>,
) -> aws_lambda_events::apigw::ApiGatewayV2httpResponse {
    let mut body = serde_json::json!({"name": "Charizard", "year": 1999, "frontS3Key": front});
    if let Some(b) = back {
        body["backS3Key"] = b.into();
    }
    cards_create::handler(
        lambda_event(api_event("apigw_v2_cards_create.json", sub, Some(body), None)),
        &create_deps(env),
    )
    .await
    .unwrap()
}

async fn create_card(
    env: &TestEnv,
    s3: &aws_sdk_s3::Client,
    sub: &str,
    front: &str,
    back: Option<&str>,
) -> String {
    let r = create(env, sub, front, back).await;
    assert_eq!(r.status_code, 201, "{:?}", r.body);
    for key in std::iter::once(front).chain(back) {
        assert_eq!(
            tags(s3, key).await,
            [("collectiq-upload".to_owned(), "confirmed".to_owned())],
            "{key}"
        );
    }
    body_json(&r)["cardId"].as_str().unwrap().to_owned()
}

/// A valued card as an earlier version stored it (written with `put_item`, no image claims).
fn stored_card(id: &str, name: &str, front: &str, back: Option<&str>) -> Card {
    let now = backend::model::now();
    Card {
        card_id: id.into(),
        name: name.into(),
        set_name: None,
        number: None,
        year: Some(1999),
        grade: None,
        rarity: None,
        front_s3_key: front.into(),
        back_s3_key: back.map(str::to_owned),
        status: CardStatus::Valued,
        created_at: now,
        updated_at: now,
        value: None,
        pricing_confidence: None,
        authenticity_score: None,
        valued_at: None,
        last_valuation_id: None,
    }
}

async fn delete(env: &TestEnv, sub: &str, id: &str) -> i64 {
    cards_delete::handler(
        lambda_event(api_event("apigw_v2_cards_delete.json", sub, None, Some(id))),
        &delete_deps(env),
    )
    .await
    .unwrap()
    .status_code
}

#[tokio::test]
async fn a_card_confirms_its_uploads_and_deleting_it_deletes_them() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let presign = presign_deps(&env, 10);
    let front = upload(&presign, ALICE).await;
    let back = upload(&presign, ALICE).await;
    let unused = upload(&presign, ALICE).await;

    // create: the images are re-tagged confirmed; an unused upload stays pending (the lifecycle rule
    // expires it)
    let id = create_card(&env, &s3, ALICE, &front, Some(&back)).await;
    assert_eq!(tags(&s3, &unused).await[0].1, "pending");

    // a key nothing was uploaded to, or someone else's upload: 400 naming the field, no card
    let mine = UserUploads::of(
        &users(),
        &backend::identity::Caller::from_sub(Some(ALICE)).unwrap(),
    );
    for (sub, key, field) in [
        (ALICE, format!("{}never-uploaded.jpg", mine.prefix), "frontS3Key"),
        (BOB, front.clone(), "frontS3Key"),
    ] {
        let r = create(&env, sub, &key, None).await;
        assert_eq!(
            (r.status_code, body_json(&r)["field"].as_str()),
            (400, Some(field)),
            "{key}"
        );
    }
    // a create that fails after tagging its front gives that upload back to the expiry
    let fresh = upload(&presign, ALICE).await;
    let r = create(&env, ALICE, &fresh, Some(&format!("{}missing.jpg", mine.prefix))).await;
    assert_eq!(body_json(&r)["field"], "backS3Key");
    assert_eq!(
        tags(&s3, &fresh).await,
        [("collectiq-upload".to_owned(), "pending".to_owned())],
        "a failed create kept its upload out of the expiry"
    );
    // an image another card holds is answered before anything is tagged
    let r = create(&env, ALICE, &unused, Some(&back)).await;
    assert_eq!(r.status_code, 409, "{:?}", r.body);
    assert!(
        body_json(&r)["message"]
            .as_str()
            .is_some_and(|m| m.contains("backS3Key") && m.contains(&id)),
        "{:?}",
        r.body
    );
    assert_eq!(tags(&s3, &unused).await[0].1, "pending");

    // delete: the card, then its images are gone; the unused upload and Bob's things are untouched
    let bob_front = upload(&presign, BOB).await;
    let bob_card = create_card(&env, &s3, BOB, &bob_front, None).await;
    assert_eq!(delete(&env, BOB, &id).await, 404, "not Bob's card");
    assert!(exists(&s3, &front).await);
    assert_eq!(delete(&env, ALICE, &id).await, 204);
    assert!(!exists(&s3, &front).await, "front image left behind");
    assert!(!exists(&s3, &back).await, "back image left behind");
    assert!(exists(&s3, &unused).await);
    assert!(exists(&s3, &bob_front).await);
    assert_eq!(delete(&env, ALICE, &id).await, 404);
    assert_eq!(delete(&env, BOB, &bob_card).await, 204);
    assert!(!exists(&s3, &bob_front).await);
}

#[tokio::test]
async fn cards_with_keys_from_before_pseudonyms_are_still_readable_and_deleted_with_their_images_once_no_card_holds_them()
 {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    // an image uploaded under the old `uploads/{sub}/` layout, and a card stored then
    let legacy = format!("uploads/{ALICE}/0f8e1c2a-front.jpg");
    s3.put_object()
        .bucket(BUCKET)
        .key(&legacy)
        .body(vec![1u8; 10].into())
        .send()
        .await
        .unwrap();
    let card = stored_card("3f1c9a52-8d1e-4b7a-9c2d-5e6f7a8b9c0d", "Charizard", &legacy, None);
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    // Stored as it was then: the card item alone, before images were claimed.
    env.clients
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .set_item(Some(backend::store::card_item(&alice, &card)))
        .send()
        .await
        .unwrap();
    // A legacy key is still the owner's, and a card stored then still holds it: a new card cannot
    // be made from it, and the old card is given the claim it would have made …
    // (the request repeats the old card's details, so it is answered with that card, as a retried
    // create is) …
    let r = create(&env, ALICE, &legacy, None).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert_eq!(body_json(&r)["cardId"], card.card_id.as_str());
    let mut other = serde_json::json!({"name": "Venusaur", "frontS3Key": legacy});
    other["year"] = 1999.into();
    let r = cards_create::handler(
        lambda_event(api_event("apigw_v2_cards_create.json", ALICE, Some(other), None)),
        &create_deps(&env),
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 409, "{:?}", r.body);
    assert!(body_json(&r).to_string().contains(&card.card_id), "{:?}", r.body);
    let store = backend::store::CardStore::new(env.clients.dynamodb.clone(), TABLE);
    assert_eq!(
        store.image_owner(&alice, &legacy).await.unwrap(),
        Some(card.card_id.clone())
    );
    // … but a card another version made from it beside the old one (before this check) claimed it.
    assert!(
        store
            .delete(&alice, &card.card_id, &[legacy.as_str()], &[])
            .await
            .is_ok()
    );
    store_pre_claim(&env, ALICE, &card).await;
    let id = "8e2f4a6c-1b3d-4e5f-9a7b-c0d1e2f3a4b5".to_owned();
    let newer = stored_card(&id, "Charizard", &legacy, None);
    assert_eq!(
        store.create(&alice, &newer).await.unwrap(),
        backend::store::Created::Written
    );
    // Deleting the old card leaves the image to the card that claimed it …
    assert_eq!(delete(&env, ALICE, &card.card_id).await, 204);
    assert!(
        exists(&s3, &legacy).await,
        "the newer card's image was deleted with the old card"
    );
    // … and deleting that card deletes it.
    assert_eq!(delete(&env, ALICE, &id).await, 204);
    assert!(!exists(&s3, &legacy).await, "legacy image left behind");
}

/// Stores `card` as an earlier version did: the card item alone, no image claims.
async fn store_pre_claim(env: &TestEnv, sub: &str, card: &Card) {
    let caller = backend::identity::Caller::from_sub(Some(sub)).unwrap();
    env.clients
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .set_item(Some(backend::store::card_item(&caller, card)))
        .send()
        .await
        .unwrap();
}

/// A card stored before claims holds its image all the same: a new card on that image is refused
/// (409 naming the old card, or the old card itself when the request repeats its details), the old
/// card is given its claim, and a card on another image of the same user is still created.
#[tokio::test]
async fn a_new_card_cannot_take_the_image_an_older_claimless_card_shows() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let presign = presign_deps(&env, 10);
    let shown = upload(&presign, ALICE).await;
    let back = upload(&presign, ALICE).await;
    let other = upload(&presign, ALICE).await;
    let old = stored_card("0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d", "Blastoise", &shown, None);
    store_pre_claim(&env, ALICE, &old).await;
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    let store = backend::store::CardStore::new(env.clients.dynamodb.clone(), TABLE);
    assert_eq!(store.image_owner(&alice, &shown).await.unwrap(), None);

    // As the back of a new card: refused, naming the field and the old card.
    let r = create(&env, ALICE, &other, Some(&shown)).await;
    assert_eq!(r.status_code, 409, "{:?}", r.body);
    let body = body_json(&r);
    assert!(body.to_string().contains("backS3Key"), "{body}");
    assert!(body.to_string().contains(&old.card_id), "{body}");
    // Nothing of the refused card was kept: its front is unclaimed and under the expiry again.
    assert_eq!(store.image_owner(&alice, &other).await.unwrap(), None);
    assert!(
        !tags(&s3, &other)
            .await
            .contains(&("collectiq-upload".to_owned(), "confirmed".to_owned())),
        "a refused card's own upload was left confirmed"
    );
    // The old card now holds the claim it would have made: the next look is one read.
    assert_eq!(
        store.image_owner(&alice, &shown).await.unwrap(),
        Some(old.card_id.clone())
    );
    let r = create(&env, ALICE, &shown, Some(&back)).await;
    assert_eq!(r.status_code, 409, "{:?}", r.body);
    // Only the user's own cards count: the same key under Bob's identity is not Alice's card.
    let bob = backend::identity::Caller::from_sub(Some(BOB)).unwrap();
    assert_eq!(store.image_owner(&bob, &shown).await.unwrap(), None);
    // A card on images no card shows is created as before.
    let id = create_card(&env, &s3, ALICE, &other, Some(&back)).await;
    assert_eq!(store.image_owner(&alice, &other).await.unwrap(), Some(id));
}

/// The other order: the newer card (which claimed the image an older, claim-less card shows) is
/// deleted first. The image stays, its claim passes to the older card, and goes with that one.
#[tokio::test]
async fn deleting_the_newer_card_first_keeps_the_image_an_older_card_shows() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let presign = presign_deps(&env, 10);
    let shared = upload(&presign, ALICE).await;
    let own_back = upload(&presign, ALICE).await;
    let old = stored_card("5b2d8e4f-1a3c-4e6b-9d7f-0a1b2c3d4e5f", "Pikachu", &shared, None);
    store_pre_claim(&env, ALICE, &old).await;
    // A newer card was made from the same image (nothing claimed it; create did not yet look for
    // older cards) with a back of its own.
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    let store = backend::store::CardStore::new(env.clients.dynamodb.clone(), TABLE);
    let newer = "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e7f".to_owned();
    let newer_card = stored_card(&newer, "Pikachu", &shared, Some(&own_back));
    assert_eq!(
        store.create(&alice, &newer_card).await.unwrap(),
        backend::store::Created::Written
    );
    assert_eq!(
        store.image_owner(&alice, &shared).await.unwrap(),
        Some(newer.clone())
    );

    assert_eq!(delete(&env, ALICE, &newer).await, 204);
    assert!(
        exists(&s3, &shared).await,
        "the older card's image was deleted with the newer card"
    );
    assert!(
        !exists(&s3, &own_back).await,
        "the newer card's own back image left behind"
    );
    assert_eq!(
        store.image_owner(&alice, &shared).await.unwrap(),
        Some(old.card_id.clone()),
        "the claim did not pass to the card that still shows the image"
    );
    assert_eq!(store.image_owner(&alice, &own_back).await.unwrap(), None);
    // Now claimed, the image cannot start a third card …
    let r = create(&env, ALICE, &shared, None).await;
    assert_eq!(r.status_code, 409, "{:?}", r.body);
    // … and goes with the older card.
    assert_eq!(delete(&env, ALICE, &old.card_id).await, 204);
    assert!(
        !exists(&s3, &shared).await,
        "image left behind by the last card showing it"
    );
    assert_eq!(store.image_owner(&alice, &shared).await.unwrap(), None);
}

/// A create that fails after confirming an image a claim-less older card shows leaves it confirmed
/// (returning it to the expiry would delete the older card's photo within days).
#[tokio::test]
async fn a_failed_create_never_returns_an_older_cards_image_to_the_expiry() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let presign = presign_deps(&env, 10);
    let shown = upload(&presign, ALICE).await;
    // The older card's create confirmed its image, and it holds no claim.
    let old = stored_card("9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a", "Mewtwo", &shown, None);
    store_pre_claim(&env, ALICE, &old).await;
    s3.put_object_tagging()
        .bucket(BUCKET)
        .key(&shown)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("collectiq-upload")
                        .value("confirmed")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mine = UserUploads::of(
        &users(),
        &backend::identity::Caller::from_sub(Some(ALICE)).unwrap(),
    );
    // The front is the older card's, and the back does not exist: the missing upload is answered
    // first (uploads are confirmed before the user's cards are read), after the front was tagged —
    // and giving the front back must leave it confirmed, since the older card shows it.
    let r = create(&env, ALICE, &shown, Some(&format!("{}missing.jpg", mine.prefix))).await;
    assert_eq!(r.status_code, 400, "{:?}", r.body);
    assert_eq!(body_json(&r)["field"], "backS3Key", "{:?}", r.body);
    // With a back that exists, the older card's claim is what refuses it.
    let back = upload(&presign, ALICE).await;
    let r = create(&env, ALICE, &shown, Some(&back)).await;
    assert_eq!(r.status_code, 409, "{:?}", r.body);
    assert!(body_json(&r).to_string().contains("frontS3Key"), "{:?}", r.body);
    assert!(
        !tags(&s3, &back)
            .await
            .contains(&("collectiq-upload".to_owned(), "confirmed".to_owned())),
        "the refused card's own back was left confirmed"
    );
    assert_eq!(
        tags(&s3, &shown).await,
        [("collectiq-upload".to_owned(), "confirmed".to_owned())],
        "the older card's image went back under the expiry"
    );
}

/// A card stored before front == back was refused names one image on both sides: deleting it
/// deletes the image and its claim once (two deletes of one item in a transaction are refused).
#[tokio::test]
async fn a_card_with_one_image_on_both_sides_deletes_cleanly() {
    let env = TestEnv::start().await;
    let s3 = setup(&env).await;
    let key = upload(&presign_deps(&env, 10), ALICE).await;
    let card = stored_card("7a0e4c1d-2b3f-4a5e-8c6d-9e0f1a2b3c4d", "Mew", &key, Some(&key));
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    env.clients
        .dynamodb
        .put_item()
        .table_name(TABLE)
        .set_item(Some(backend::store::card_item(&alice, &card)))
        .send()
        .await
        .unwrap();
    assert_eq!(delete(&env, ALICE, &card.card_id).await, 204);
    assert!(!exists(&s3, &key).await, "image left behind");
    assert_eq!(delete(&env, ALICE, &card.card_id).await, 404);
}

/// The HTTP API's access-log format (infra/modules/backend/api.tf, `access_log_settings`).
fn access_log_format() -> String {
    let tf = std::fs::read_to_string(collectiq_tests::workspace_root().join("infra/modules/backend/api.tf"))
        .unwrap();
    let start = tf
        .find("access_log_settings")
        .expect("api.tf has access_log_settings");
    let rest = &tf[start..];
    let open = rest.find("jsonencode({").expect("a jsonencode format");
    let close = rest[open..].find("})").expect("the format closes");
    rest[open..open + close].to_owned()
}

#[test]
fn the_api_access_log_never_carries_the_sub() {
    let format = access_log_format();
    assert!(format.contains("$context.requestId"), "{format}");
    // HTTP APIs expose JWT claims as $context.authorizer.claims.* (and .jwt.claims.*): any of them
    // would write the caller's identity, unhashed, to the access log
    for var in [
        "$context.authorizer.claims",
        "$context.authorizer.jwt",
        "$context.authorizer.principalId",
    ] {
        assert!(!format.contains(var), "{var} in the access log format:\n{format}");
    }
}

#[test]
fn the_lifecycle_rule_expires_exactly_what_presign_tags_pending() {
    let tf =
        std::fs::read_to_string(collectiq_tests::workspace_root().join("infra/modules/backend/uploads.tf"))
            .unwrap();
    let start = tf
        .find(r#"id     = "expire-unconfirmed-uploads""#)
        .or_else(|| tf.find(r#"id = "expire-unconfirmed-uploads""#))
        .expect("uploads.tf has the expire-unconfirmed-uploads rule");
    let rule = &tf[start..start + tf[start..].find("\n  }\n").unwrap()];
    let compact: String = rule.split_whitespace().collect::<Vec<_>>().join(" ");
    let (tag_key, tag_value) = backend::uploads::PENDING_TAGGING.split_once('=').unwrap();
    assert!(compact.contains(r#"status = "Enabled""#), "{rule}");
    assert!(
        compact.contains(&format!(r#"prefix = "{}""#, backend::uploads::UPLOADS_PREFIX)),
        "{rule}"
    );
    assert!(
        compact.contains(&format!(r#"{tag_key} = "{tag_value}""#)),
        "{rule}"
    );
    // one day by default: a presigned URL lives minutes, so a pending upload a day old is abandoned
    assert!(
        compact.contains("expiration { days = var.unconfirmed_upload_expiration_days }"),
        "{rule}"
    );
    let vars =
        std::fs::read_to_string(collectiq_tests::workspace_root().join("infra/modules/backend/variables.tf"))
            .unwrap();
    let var = &vars[vars
        .find(r#"variable "unconfirmed_upload_expiration_days""#)
        .unwrap()..];
    let var: String = var[..var.find("\n}").unwrap()]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(var.contains("default = 1"), "{var}");
}

/// A key with no upload behind it is answered (400 naming the field) before the user's cards are
/// read: a loop of creates on made-up keys costs one S3 call each, never a read of the partition
/// (which for a user with thousands of cards is thousands of read units a request).
#[tokio::test]
async fn a_create_on_a_missing_upload_reads_none_of_the_users_cards() {
    let env = TestEnv::start().await;
    let _s3 = setup(&env).await;
    let presign = presign_deps(&env, 10);
    let front = upload(&presign, ALICE).await;
    let counter = RequestCounter::new();
    let counted = aws_sdk_dynamodb::Client::from_conf(
        env.clients
            .dynamodb
            .config()
            .to_builder()
            .interceptor(counter.clone())
            .build(),
    );
    let deps = cards_create::Deps {
        store: CardStore::new(counted, TABLE),
        users: users(),
        uploads: UploadStore::new(s3(&env), BUCKET),
        quota: DailyQuota::new(
            env.clients.dynamodb.clone(),
            TABLE,
            QuotaAction::Create,
            backend::quota::DEFAULT_CREATE_DAILY_LIMIT,
        )
        .with_clock(quota_clock()),
    };
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    let made_up = format!("{}never-uploaded.jpg", UserUploads::of(&users(), &alice).prefix);
    for (front, back) in [(made_up.as_str(), None), (front.as_str(), Some(made_up.as_str()))] {
        let mut body = serde_json::json!({"name": "Charizard", "frontS3Key": front});
        if let Some(b) = back {
            body["backS3Key"] = b.into();
        }
        let r = cards_create::handler(
            lambda_event(api_event("apigw_v2_cards_create.json", ALICE, Some(body), None)),
            &deps,
        )
        .await
        .unwrap();
        assert_eq!(r.status_code, 400, "{:?}", r.body);
        let field = if back.is_some() { "backS3Key" } else { "frontS3Key" };
        assert_eq!(body_json(&r)["field"], field);
    }
    let calls = counter.snapshot();
    // The second request confirmed its real front before the back failed: giving it back reads the
    // cards once (an image a card shows stays confirmed). The first read nothing but its claim.
    assert_eq!(calls.of("Query"), 1, "{}", calls.summary());
}
