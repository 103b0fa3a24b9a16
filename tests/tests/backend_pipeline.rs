//! Upload presigning, revalue and the valuation pipeline against the emulator: S3 (a real PUT through
//! the presigned URL), Step Functions StartExecution, DynamoDB transactions, EventBridge → SQS, Secrets
//! Manager. Rekognition, Bedrock and the price APIs are deterministic fakes (a loopback HTTP server
//! for the price API, so the real reqwest source is exercised).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend_support;

use aws_sdk_dynamodb::types::AttributeValue;
use backend::model::*;
use backend::store::CardStore;
use backend::{
    HandlerError, aggregator, authenticity_agent, cards_revalue, error_handler, pricing_agent,
    rekognition_extract, upload_presign,
};
use backend_support::*;
use collectiq_tests::TestEnv;
use fakes::*;
use rust_decimal_macros::dec;
use std::sync::Arc;

/// Fakes for the three external AI/price APIs (the only fakes in these tests).
mod fakes {
    use async_trait::async_trait;
    use backend::HandlerError;
    use backend::authenticity_agent::{AuthenticityModel, ModelReply};
    use backend::model::{LabelHit, TextLine};
    use backend::pricing_agent::{PriceQuery, PriceSource, Quote};
    use backend::rekognition_extract::Vision;

    pub struct FakeVision;
    #[async_trait]
    impl Vision for FakeVision {
        async fn detect_text(&self, _: &str, _: &str) -> Result<Vec<TextLine>, HandlerError> {
            Ok(vec![
                TextLine {
                    text: "Charizard".into(),
                    confidence: 99.1,
                    top: None,
                },
                TextLine {
                    text: "4/102 ©1999 Wizards".into(),
                    confidence: 97.5,
                    top: None,
                },
                TextLine {
                    text: "smudge".into(),
                    confidence: 31.0,
                    top: None,
                },
            ])
        }
        async fn detect_labels(&self, _: &str, _: &str) -> Result<Vec<LabelHit>, HandlerError> {
            Ok(vec![LabelHit {
                name: "Trading Card".into(),
                confidence: 98.0,
            }])
        }
    }

    /// A graded card as Rekognition reads it: surest of the slab label, the HP and the number, less of
    /// the name (boxes from the top: label, then name and HP on one row, the number at the foot).
    pub struct NumbersFirstVision;
    #[async_trait]
    impl Vision for NumbersFirstVision {
        async fn detect_text(&self, _: &str, _: &str) -> Result<Vec<TextLine>, HandlerError> {
            let line = |text: &str, confidence: f32, top: f32| TextLine {
                text: text.into(),
                confidence,
                top: Some(top),
            };
            Ok(vec![
                line("4/102 ©1999 Wizards", 99.8, 0.92),
                line("PSA 10 GEM MINT", 99.9, 0.02),
                line("120 HP", 99.7, 0.11),
                line("Charizard", 95.0, 0.12),
            ])
        }
        async fn detect_labels(&self, _: &str, _: &str) -> Result<Vec<LabelHit>, HandlerError> {
            FakeVision.detect_labels("", "").await
        }
    }

    pub struct FakeModel(pub &'static str);
    #[async_trait]
    impl AuthenticityModel for FakeModel {
        fn model_id(&self) -> &str {
            "anthropic.claude-3-5-sonnet-20240620-v1:0"
        }
        async fn converse(
            &self,
            _: &str,
            user: &str,
            _: Option<&backend::authenticity_agent::CardImage>,
        ) -> Result<ModelReply, HandlerError> {
            Ok(ModelReply {
                text: self.0.to_owned(),
                usage: telemetry::genai::BedrockUsage {
                    model: "anthropic.claude-3-5-sonnet-20240620-v1:0".into(),
                    agent: "authenticity".into(),
                    operation: "Converse".into(),
                    input_tokens: user.len() as u64 / 4,
                    output_tokens: 42,
                    cache_read_tokens: 600,
                    cache_write_tokens: 0,
                    latency_ms: Some(850.0),
                },
            })
        }
    }

    pub struct FailingSource(pub &'static str);
    #[async_trait]
    impl PriceSource for FailingSource {
        fn name(&self) -> &str {
            self.0
        }
        async fn quotes(&self, _: &PriceQuery) -> Result<Vec<Quote>, HandlerError> {
            Err(HandlerError::Retryable("HTTP 503".into()))
        }
    }
}

fn request(card_id: &str) -> ValuationRequest {
    ValuationRequest {
        valuation_id: "5b0e7c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e".into(),
        user_id: ALICE.into(),
        user_pseudonym: None,
        card_id: card_id.into(),
        bucket: "uploads".into(),
        front_s3_key: format!("uploads/{ALICE}/front.jpg"),
        back_s3_key: None,
        requested_at: chrono::Utc::now() - chrono::Duration::seconds(3),
        correlation_id: "Dq3eLmXoIAMEViD=".into(),
        card: None,
    }
}

async fn stored_card(env: &TestEnv, status: CardStatus) -> Card {
    let now = chrono::Utc::now();
    let card_id = uuid_like();
    let card = Card {
        // One upload per card: an image belongs to one card.
        front_s3_key: format!("uploads/{ALICE}/front-{card_id}.jpg"),
        card_id,
        name: "Charizard".into(),
        set_name: Some("Base Set".into()),
        number: None,
        year: Some(1999),
        grade: None,
        rarity: Some("Holo Rare".into()),
        back_s3_key: None,
        status,
        created_at: now,
        updated_at: now,
        value: None,
        pricing_confidence: None,
        authenticity_score: None,
        valued_at: None,
        last_valuation_id: None,
    };
    let caller = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    assert_eq!(
        CardStore::new(env.clients.dynamodb.clone(), TABLE)
            .create(&caller, &card)
            .await
            .unwrap(),
        backend::store::Created::Written
    );
    card
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(1);
    format!(
        "3f1c9a52-8d1e-4b7a-9c2d-{:012x}",
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn card_item(
    env: &TestEnv,
    card_id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    env.clients
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("PK", AttributeValue::S(format!("USER#{ALICE}")))
        .key("SK", AttributeValue::S(format!("CARD#{card_id}")))
        .send()
        .await
        .unwrap()
        .item
}

#[tokio::test]
async fn presigned_put_lands_under_the_callers_prefix() {
    let env = TestEnv::start().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&env.sdk_config)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("uploads").send().await.unwrap();
    create_table(&env.clients.dynamodb).await; // the quota counters
    let deps = upload_presign::Deps {
        s3: s3.clone(),
        bucket: "uploads".into(),
        policy: upload_presign::UploadPolicy::new(upload_presign::DEFAULT_ALLOWED_MIME, 12),
        users: users(),
        quota: backend::quota::DailyQuota::new(
            env.clients.dynamodb.clone(),
            TABLE,
            backend::quota::QuotaAction::Presign,
            backend::quota::DEFAULT_PRESIGN_DAILY_LIMIT,
        )
        .with_clock(quota_clock()),
    };
    let r = upload_presign::handler(
        lambda_event(api_event("apigw_v2_upload_presign.json", ALICE, None, None)),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(r.status_code, 200);
    let b = body_json(&r);
    let key = b["key"].as_str().unwrap();
    assert!(
        key.starts_with(&format!("uploads/{}/", users().hash(ALICE))) && key.ends_with(".jpg"),
        "{key}"
    );
    assert_eq!(b["method"], "PUT");
    assert_eq!(b["headers"]["content-type"], "image/jpeg");
    let url = b["uploadUrl"].as_str().unwrap();
    assert!(
        url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=300"),
        "{url}"
    );

    // the URL really uploads (moto does not check signatures; AWS does, over the signed headers)
    let bytes = vec![0xFFu8; 2_457_600];
    let put = reqwest::Client::new()
        .put(url)
        .header("content-type", "image/jpeg")
        .header("content-length", bytes.len().to_string())
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{:?}", put.text().await);
    let head = s3.head_object().bucket("uploads").key(key).send().await.unwrap();
    assert_eq!(head.content_length(), Some(2_457_600));

    for (body, field) in [
        (
            serde_json::json!({"contentType": "image/gif", "contentLength": 10}),
            "contentType",
        ),
        (
            serde_json::json!({"contentType": "image/png", "contentLength": 13 * 1024 * 1024}),
            "contentLength",
        ),
        (serde_json::json!({"contentType": "image/png"}), "contentLength"),
    ] {
        let r = upload_presign::handler(
            lambda_event(api_event(
                "apigw_v2_upload_presign.json",
                ALICE,
                Some(body.clone()),
                None,
            )),
            &deps,
        )
        .await
        .unwrap();
        assert_eq!(
            (r.status_code, body_json(&r)["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn revalue_starts_one_execution_and_never_leaves_a_card_stuck() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let sfn = aws_sdk_sfn::Client::new(&env.sdk_config);
    let sm = sfn
        .create_state_machine()
        .name("collectiq-test-valuation")
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Pass","End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/collectiq-test-sfn")
        .send()
        .await
        .unwrap();
    let deps = cards_revalue::Deps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        sfn: sfn.clone(),
        state_machine_arn: sm.state_machine_arn().to_owned(),
        bucket: "uploads".into(),
        users: users(),
        quota: backend::quota::DailyQuota::new(
            env.clients.dynamodb.clone(),
            TABLE,
            backend::quota::QuotaAction::Revalue,
            backend::quota::DEFAULT_REVALUE_DAILY_LIMIT,
        )
        .with_clock(quota_clock()),
        ceiling: ceiling(&env, backend::quota::DEFAULT_SERVICE_VALUATION_DAILY_LIMIT.get()),
    };
    let card = stored_card(&env, CardStatus::Created).await;
    let revalue = |sub: &'static str, id: String| {
        let deps = deps.clone();
        async move {
            cards_revalue::handler(
                lambda_event(api_event("apigw_v2_cards_revalue.json", sub, None, Some(&id))),
                &deps,
            )
            .await
        }
    };
    let r = revalue(ALICE, card.card_id.clone()).await.unwrap();
    assert_eq!(r.status_code, 202);
    let b = body_json(&r);
    assert_eq!(b["status"], "VALUING");
    assert!(
        b.get("executionArn").is_none(),
        "no account id or state machine name to clients: {b}"
    );
    // The execution is named after the valuation.
    let execution_arn = format!(
        "{}:{}",
        sm.state_machine_arn().replace(":stateMachine:", ":execution:"),
        b["valuationId"].as_str().unwrap()
    );
    let exec = sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .unwrap();
    let input: ValuationRequest = serde_json::from_str(exec.input().unwrap()).unwrap();
    assert_eq!(
        (input.card_id.as_str(), input.user_id.as_str()),
        (card.card_id.as_str(), ALICE)
    );
    assert_eq!(input.correlation_id, "Dq3eLmXoIAMEViD=");
    assert_eq!(
        input.card,
        Some(CardDetails::of(&card)),
        "the card as registered, for the pricing query"
    );
    assert_eq!(input.valuation_id, b["valuationId"].as_str().unwrap());
    assert_eq!(
        card_item(&env, &card.card_id).await.unwrap()["status"]
            .as_s()
            .unwrap(),
        "VALUING"
    );

    assert_eq!(
        revalue(ALICE, card.card_id.clone()).await.unwrap().status_code,
        409,
        "already valuing"
    );
    assert_eq!(
        revalue(BOB, card.card_id.clone()).await.unwrap().status_code,
        404,
        "not Bob's"
    );
    assert_eq!(revalue(ALICE, uuid_like()).await.unwrap().status_code, 404);
    let listed = sfn
        .list_executions()
        .state_machine_arn(sm.state_machine_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 1, "one execution only");

    // StartExecution fails → the card goes back to its previous status, the caller gets an error
    let other = stored_card(&env, CardStatus::Valued).await;
    let mut broken = deps.clone();
    broken.state_machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:missing".into();
    let e = cards_revalue::handler(
        lambda_event(api_event(
            "apigw_v2_cards_revalue.json",
            ALICE,
            None,
            Some(&other.card_id),
        )),
        &broken,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, HandlerError::Retryable(_)), "{e:?}");
    assert_eq!(
        card_item(&env, &other.card_id).await.unwrap()["status"]
            .as_s()
            .unwrap(),
        "VALUED"
    );
}

/// A one-request HTTP server standing in for a price API; returns the requests it saw.
fn price_api(answer: &'static str) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            tx.send(head).unwrap();
            let mut w = stream;
            write!(w, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}", answer.len()).unwrap();
        }
    });
    (url, rx)
}

#[tokio::test]
async fn pipeline_extract_price_judge_aggregate_publish() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let card = stored_card(&env, CardStatus::Valuing).await;

    // extract (Rekognition fake)
    let extract = rekognition_extract::handler(
        lambda_event(request(&card.card_id)),
        &rekognition_extract::Deps {
            vision: Arc::new(FakeVision),
        },
    )
    .await
    .unwrap();
    assert!(extract.features.looks_like_card);
    assert_eq!(extract.features.text.len(), 2, "low-confidence line dropped");
    assert_eq!(
        (
            extract.features.hints.year,
            extract.features.hints.number.as_deref()
        ),
        (Some(1999), Some("4/102"))
    );

    // pricing: sources from Secrets Manager (emulator); one real HTTP source (loopback fake API) and
    // one failing source
    let (url, seen) = price_api(
        r#"{"quotes":[{"amount":"310.00","currency":"USD"},{"amount":"355.00","currency":"USD"},{"amount":"420.00","currency":"USD"},{"amount":"9.99","currency":"EUR"}]}"#,
    );
    let secrets = aws_sdk_secretsmanager::Client::new(&env.sdk_config);
    secrets
        .create_secret()
        .name("collectiq/test/price-apis")
        .secret_string(
            serde_json::json!({"sources": [{"name": "cardmarket", "baseUrl": url, "apiKey": "k-123"}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let configs = pricing_agent::load_sources(&secrets, "collectiq/test/price-apis")
        .await
        .unwrap();
    let mut sources: Vec<Arc<dyn pricing_agent::PriceSource>> = configs
        .into_iter()
        .map(|c| Arc::new(pricing_agent::HttpPriceSource::new(c)) as Arc<dyn pricing_agent::PriceSource>)
        .collect();
    sources.push(Arc::new(FailingSource("flaky")));
    let pricing = pricing_agent::handler(lambda_event(extract.clone()), &pricing_agent::Deps { sources })
        .await
        .unwrap();
    let head = seen.recv().unwrap();
    assert!(head.contains("x-api-key: k-123"), "{head}");
    assert!(
        head.starts_with("GET /v1/prices?name=Charizard&number=4%2F102&year=1999"),
        "{head}"
    );
    let range = pricing.range.clone().unwrap();
    assert_eq!(
        (range.low, range.median, range.high),
        (dec!(310.00), dec!(355.00), dec!(420.00))
    );
    assert_eq!(pricing.sources[1].error.as_deref(), Some("retryable: HTTP 503"));
    assert_eq!(pricing.sources[0].quotes, 3, "EUR quote ignored");

    // every source failing is retryable for the state machine
    let e = pricing_agent::handler(
        lambda_event(extract.clone()),
        &pricing_agent::Deps {
            sources: vec![Arc::new(FailingSource("a")), Arc::new(FailingSource("b"))],
        },
    )
    .await
    .unwrap_err();
    assert_eq!(lambda_runtime::Diagnostic::from(e).error_type, "Retryable");

    // authenticity (Bedrock fake): tokens recorded per agent and model, as EMF
    let out = telemetry::emf::SharedBuffer::default();
    let rec = telemetry::emf::EmfBuilder::new()
        .namespace("CollectIQ")
        .service("authenticity_agent")
        .with_writer(out.clone())
        .build()
        .unwrap();
    let verdict = {
        let _guard = metrics::set_default_local_recorder(&rec);
        authenticity_agent::handler(
            lambda_event(extract.clone()),
            &authenticity_agent::Deps { images: None, model: Arc::new(FakeModel(r#"{"score": 0.31, "flags": ["holo pattern"], "rationale": "Holo pattern looks printed."}"#)) },
        )
        .await
        .unwrap()
    };
    rec.flush();
    let docs: Vec<serde_json::Value> = out
        .contents()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tokens = docs
        .iter()
        .find(|d| d.get("BedrockOutputTokens").is_some())
        .expect("a Bedrock token document");
    assert_eq!(tokens["BedrockOutputTokens"], 42.0);
    assert_eq!(tokens["BedrockCacheReadTokens"], 600.0);
    assert_eq!(
        (tokens["agent"].as_str(), tokens["model"].as_str()),
        (
            Some("authenticity"),
            Some("anthropic.claude-3-5-sonnet-20240620-v1:0")
        )
    );
    assert!(
        docs.iter()
            .any(|d| d.get("AuthenticityScore") == Some(&serde_json::json!(0.31))),
        "{docs:#?}"
    );
    assert_eq!(verdict.flags, ["holo pattern"]);

    // aggregator: persist + publish to EventBridge, delivered to an SQS queue by a rule
    let events = aws_sdk_eventbridge::Client::new(&env.sdk_config);
    let sqs = aws_sdk_sqs::Client::new(&env.sdk_config);
    events
        .create_event_bus()
        .name("collectiq-test")
        .send()
        .await
        .unwrap();
    let q = sqs
        .create_queue()
        .queue_name("valuation-events")
        .send()
        .await
        .unwrap();
    let q_url = q.queue_url().unwrap().to_owned();
    let q_arn = sqs
        .get_queue_attributes()
        .queue_url(&q_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    events
        .put_rule()
        .name("all-valuation")
        .event_bus_name("collectiq-test")
        .event_pattern(r#"{"source": ["collectiq.valuation"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("all-valuation")
        .event_bus_name("collectiq-test")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(q_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let agg_deps = aggregator::Deps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        events,
        bus: "collectiq-test".into(),
        flag_threshold: 0.5,
        users: users(),
    };
    let input = AggregatorInput {
        request: extract.request.clone(),
        features: extract.features.clone(),
        agents: AgentResults {
            pricing,
            authenticity: verdict,
        },
    };
    let outcome = aggregator::handler(lambda_event(input.clone()), &agg_deps)
        .await
        .unwrap();
    assert!(outcome.written);
    assert_eq!(outcome.published, ["CardValuationUpdated", "AuthenticityFlagged"]);
    let item = card_item(&env, &card.card_id).await.unwrap();
    assert_eq!(item["status"].as_s().unwrap(), "FLAGGED");
    // The owner sees what the valuation found; seed 001's GSI2 (analytics, across users) does not
    // count a card judged a fake.
    assert_eq!(item["valueMedian"].as_n().unwrap(), "355.00");
    assert_eq!(analytics(&env, "Base Set#Holo Rare").await, []);
    let mut received = Vec::new();
    for _ in 0..5 {
        let msgs = sqs
            .receive_message()
            .queue_url(&q_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        received.extend(
            msgs.messages()
                .iter()
                .map(|m| serde_json::from_str::<serde_json::Value>(m.body().unwrap()).unwrap()),
        );
        if received.len() >= 2 {
            break;
        }
    }
    let mut types: Vec<&str> = received
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["AuthenticityFlagged", "CardValuationUpdated"]);
    let detail: aggregator::ValuationDetail = serde_json::from_value(received[0]["detail"].clone()).unwrap();
    assert_eq!(
        (detail.card_id.as_str(), detail.status),
        (card.card_id.as_str(), CardStatus::Flagged)
    );

    // a retried aggregator task writes nothing twice, and what it publishes again is what was stored
    // (the first run's valuedAt, the price item's sort key), not its own clock
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = aggregator::handler(lambda_event(input.clone()), &agg_deps)
        .await
        .unwrap();
    assert!(!again.written);
    assert_eq!(again.detail.valued_at, outcome.detail.valued_at);
    assert_eq!(again.detail.status, outcome.detail.status);
    assert_eq!(again.detail.value, outcome.detail.value);
    let prices = env
        .clients
        .dynamodb
        .query()
        .table_name(TABLE)
        .key_condition_expression("PK = :pk AND begins_with(SK, :p)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("USER#{ALICE}")))
        .expression_attribute_values(":p", AttributeValue::S("PRICE#".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(prices.count(), 1, "one price item per valuation");

    // the card deleted mid-valuation: NotFound, nothing written
    let mut gone = input.clone();
    gone.request.card_id = uuid_like();
    gone.request.valuation_id = "another".into();
    let e = aggregator::handler(lambda_event(gone), &agg_deps)
        .await
        .unwrap_err();
    assert_eq!(e, HandlerError::NotFound("card".into()));
}

/// Seed 001's GSI2 (analytics) for one `set#rarity`: each card's sort key and median value.
async fn analytics(env: &TestEnv, set_rarity: &str) -> Vec<(String, String)> {
    env.clients
        .dynamodb
        .query()
        .table_name(TABLE)
        .index_name(backend::store::GSI2)
        .key_condition_expression("setRarity = :sr")
        .expression_attribute_values(":sr", AttributeValue::S(set_rarity.into()))
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .map(|i| {
            (
                i["SK"].as_s().unwrap().clone(),
                i["valueMedian"].as_n().unwrap().clone(),
            )
        })
        .collect()
}

fn range(median: rust_decimal::Decimal) -> PriceRange {
    PriceRange {
        low: median - dec!(50),
        median,
        high: median + dec!(50),
        currency: "USD".into(),
    }
}

/// Starts valuation `id` on `card` and applies its result as the aggregator does.
async fn value(
    store: &CardStore,
    card: &Card,
    id: &str,
    status: CardStatus,
    range: Option<PriceRange>,
) -> backend::store::Applied {
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    store
        .begin_valuation(&alice, &card.card_id, id, chrono::Utc::now())
        .await
        .unwrap();
    store
        .apply_valuation(
            &alice,
            &card.card_id,
            &backend::store::ValuationUpdate {
                valuation_id: id.into(),
                status,
                range,
                pricing_confidence: 0.8,
                authenticity_score: 0.9,
                valued_at: backend::model::now(),
                set_rarity: CardDetails::of(card).set_rarity(),
            },
        )
        .await
        .unwrap()
}

/// The card says what its latest valuation found: a valuation with no quotes takes the previous
/// price off the card (and the card out of GSI2), instead of showing it under the new date and id.
#[tokio::test]
async fn a_valuation_without_quotes_takes_the_old_price_off_the_card() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let store = CardStore::new(env.clients.dynamodb.clone(), TABLE);
    let card = stored_card(&env, CardStatus::Created).await;
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();
    let written = backend::store::Applied::Written;
    assert_eq!(
        value(&store, &card, "v-1", CardStatus::Valued, Some(range(dec!(355)))).await,
        written
    );
    assert_eq!(
        store.get(&alice, &card.card_id).await.unwrap().unwrap().value,
        Some(range(dec!(355)))
    );

    assert_eq!(
        value(&store, &card, "v-2", CardStatus::Valued, None).await,
        written
    );
    let now = store.get(&alice, &card.card_id).await.unwrap().unwrap();
    assert_eq!(
        (
            now.value,
            now.last_valuation_id.as_deref(),
            now.pricing_confidence
        ),
        (None, Some("v-2"), Some(0.8))
    );
    let item = card_item(&env, &card.card_id).await.unwrap();
    for gone in ["valueLow", "valueMedian", "valueHigh", "currency"] {
        assert!(!item.contains_key(gone), "{gone} left on the card: {item:?}");
    }
    assert_eq!(analytics(&env, "Base Set#Holo Rare").await, []);
}

/// A card judged a fake (or whose text tried to steer the judge) is kept out of GSI2, the cross-user
/// price analytics, and goes back into it once a valuation finds it genuine.
#[tokio::test]
async fn flagged_cards_stay_out_of_the_price_analytics() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let store = CardStore::new(env.clients.dynamodb.clone(), TABLE);
    let card = stored_card(&env, CardStatus::Created).await;
    let sk = format!("CARD#{}", card.card_id);
    let alice = backend::identity::Caller::from_sub(Some(ALICE)).unwrap();

    value(&store, &card, "v-1", CardStatus::Flagged, Some(range(dec!(9000)))).await;
    assert_eq!(analytics(&env, "Base Set#Holo Rare").await, []);
    // its owner still sees what was found
    let flagged = store.get(&alice, &card.card_id).await.unwrap().unwrap();
    assert_eq!(
        (flagged.status, flagged.value),
        (CardStatus::Flagged, Some(range(dec!(9000))))
    );

    value(&store, &card, "v-2", CardStatus::Valued, Some(range(dec!(355)))).await;
    assert_eq!(
        analytics(&env, "Base Set#Holo Rare").await,
        [(sk.clone(), "355".to_owned())]
    );
    value(&store, &card, "v-3", CardStatus::Flagged, Some(range(dec!(400)))).await;
    assert_eq!(analytics(&env, "Base Set#Holo Rare").await, []);

    // a card stored FLAGGED (card_item) carries no GSI2 key either
    let mut stored = card.clone();
    stored.status = CardStatus::Flagged;
    stored.value = Some(range(dec!(9000)));
    let item = backend::store::card_item(&alice, &stored);
    assert!(!item.contains_key(backend::store::SET_RARITY), "{item:?}");
}

/// The price query names the card as its owner registered it; from a request without the card's
/// details (started before they were carried), it reads the photo in reading order, not the line
/// Rekognition was surest of (a number, the HP, a slab label).
#[tokio::test]
async fn the_price_query_names_the_registered_card_not_the_likeliest_ocr_line() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let card = stored_card(&env, CardStatus::Valuing).await;
    let extract = rekognition_extract::handler(
        lambda_event(request(&card.card_id)),
        &rekognition_extract::Deps {
            vision: Arc::new(NumbersFirstVision),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        extract.features.text[0].text, "PSA 10 GEM MINT",
        "most confident first"
    );
    let (url, seen) = price_api(r#"{"quotes":[{"amount":"355.00","currency":"USD"}]}"#);
    let deps = pricing_agent::Deps {
        sources: vec![Arc::new(pricing_agent::HttpPriceSource::new(
            pricing_agent::parse_secret(
                &serde_json::json!({"sources": [{"name": "cardmarket", "baseUrl": url, "apiKey": "k"}]})
                    .to_string(),
            )
            .unwrap()
            .remove(0),
        ))],
    };
    let query_for = |registered: Option<CardDetails>| {
        let mut input = extract.clone();
        input.request.card = registered;
        let deps = deps.clone();
        async move {
            pricing_agent::handler(lambda_event(input), &deps).await.unwrap();
        }
    };
    // No details (a request from before they were carried): the photo, read top to bottom.
    query_for(None).await;
    let head = seen.recv().unwrap();
    assert!(
        head.starts_with("GET /v1/prices?name=Charizard&number=4%2F102&year=1999&grade=PSA+10 "),
        "{head}"
    );
    // As registered: the owner's name and grade; the photo only where the owner gave nothing.
    let mut registered = CardDetails::of(&card);
    registered.grade = Some("PSA 9".into());
    query_for(Some(registered.clone())).await;
    let head = seen.recv().unwrap();
    assert!(
        head.starts_with("GET /v1/prices?name=Charizard&number=4%2F102&year=1999&grade=PSA+9 "),
        "{head}"
    );
    registered.name = "Blastoise".into();
    registered.number = Some("2/102".into());
    query_for(Some(registered)).await;
    let head = seen.recv().unwrap();
    assert!(
        head.starts_with("GET /v1/prices?name=Blastoise&number=2%2F102&year=1999&grade=PSA+9 "),
        "{head}"
    );
}

/// The error handler's report on a failure the state machine caught.
async fn caught_report(
    deps: &error_handler::Deps,
    caught: &error_handler::CaughtFailure,
) -> error_handler::FailureReport {
    let out = error_handler::handler(
        lambda_event(error_handler::FailureInput::Caught(Box::new(caught.clone()))),
        deps,
    )
    .await
    .unwrap();
    let error_handler::FailureOutput::Report(r) = out else {
        panic!("a report")
    };
    r
}

#[tokio::test]
async fn error_handler_marks_the_card_failed_and_reports_correlation_ids() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let deps = error_handler::Deps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        users: users(),
        ceiling: backend::quota::ValuationCeiling::for_refunds(env.clients.dynamodb.clone(), TABLE),
    };
    let card = stored_card(&env, CardStatus::Valuing).await;
    let caught = error_handler::CaughtFailure {
        request: request(&card.card_id),
        error: error_handler::CaughtError {
            error: "Retryable".into(),
            cause: Some(
                r#"{"errorMessage":"retryable: every price source failed","errorType":"Retryable"}"#.into(),
            ),
        },
        in_first_state: false,
    };
    let r = caught_report(&deps, &caught).await;
    assert_eq!(
        (r.correlation_id.as_str(), r.error_type.as_str()),
        ("Dq3eLmXoIAMEViD=", "Retryable")
    );
    assert_eq!(r.cause, "retryable: every price source failed");
    assert!(r.marked_failed);
    assert!(
        !r.ceiling_refunded,
        "a later state's failure may have called Bedrock"
    );
    assert_eq!(
        card_item(&env, &card.card_id).await.unwrap()["status"]
            .as_s()
            .unwrap(),
        "FAILED"
    );
    // the same failure again (redelivery) changes nothing
    let out = error_handler::handler(
        lambda_event(error_handler::FailureInput::Caught(Box::new(caught))),
        &deps,
    )
    .await
    .unwrap();
    assert!(matches!(out, error_handler::FailureOutput::Report(ref r) if !r.marked_failed));

    // A valuation that failed in its first state (RekognitionExtract: an upload Rekognition cannot
    // read) never reached Bedrock: the service's ceiling gets it back — once, however often the
    // failure is delivered.
    let service = ceiling(&env, 10);
    for _ in 0..2 {
        let _ = service.charge().await.unwrap();
    }
    let card = stored_card(&env, CardStatus::Valuing).await;
    let mut unreadable = error_handler::CaughtFailure {
        request: request(&card.card_id),
        error: error_handler::CaughtError {
            error: "Validation".into(),
            cause: Some(
                r#"{"errorMessage":"invalid frontS3Key: DetectText: InvalidImageFormatException","errorType":"Validation"}"#
                    .into(),
            ),
        },
        in_first_state: true,
    };
    unreadable.request.requested_at = counted_at();
    for (delivery, refunded) in [(1, true), (2, false)] {
        let r = caught_report(&deps, &unreadable).await;
        assert_eq!(
            (r.marked_failed, r.ceiling_refunded),
            (refunded, refunded),
            "delivery {delivery}"
        );
    }
    // Two charged, one given back: the next valuation is the day's second.
    assert_eq!(service.charge().await.unwrap().used(), 2);

    // the DLQ fixture: both records handled, none to redeliver
    let batch: error_handler::FailureInput =
        serde_json::from_str(&fixture_text("sqs_dlq_failures.json")).unwrap();
    let out = error_handler::handler(lambda_event(batch.clone()), &deps)
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        serde_json::json!({"batchItemFailures": []})
    );

    // Replaying the queues (infra/modules/backend/dead_letters.tf): error_handler's own record of a
    // failed sweep is dropped (the next sweep covers it); a message nothing knows stays for a person.
    let mut odd = batch.clone();
    if let error_handler::FailureInput::Sqs(ref mut event) = odd {
        let template = event.records[0].clone();
        let mut sweep = template.clone();
        sweep.message_id = Some("sweep-record".into());
        sweep.body = Some(
            serde_json::json!({
                "version": "1.0",
                "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
                "requestPayload": {"sweepStuckValuations": {"olderThanMinutes": 45}},
                "responsePayload": {"errorType": "Retryable", "errorMessage": "throttled"}
            })
            .to_string(),
        );
        let mut unknown = template;
        unknown.message_id = Some("unknown-record".into());
        unknown.body = Some("{\"hello\": \"world\"}".into());
        event.records = vec![sweep, unknown];
    }
    let out = error_handler::handler(lambda_event(odd), &deps).await.unwrap();
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "unknown-record"}]})
    );

    // DynamoDB down (table gone): the caught-failure record is redelivered, the event record is not
    env.clients
        .dynamodb
        .delete_table()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    let out = error_handler::handler(lambda_event(batch), &deps).await.unwrap();
    assert_eq!(
        serde_json::to_value(&out).unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]})
    );
}
