//! Shared by the `backend_*` tests: the cards table as Terraform creates it, fixtures, handler events.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use backend::identity::UserHasher;
use backend::store::{CardStore, CardsDeps};
use lambda_runtime::{Context, LambdaEvent};

pub const TABLE: &str = "collectiq-test-data";
pub const ALICE: &str = "7d3a1f2e-5b6c-4d8e-9f00-1a2b3c4d5e6f";
pub const BOB: &str = "0b0b0b0b-1111-4222-8333-444455556666";
pub const HASH_KEY: &str = "test-only-user-hash-key-0123456789abcdef";

/// Creates the single table as infra/modules/backend/main.tf does: GSI1 (userId, createdAt, all
/// attributes), seed 001's GSI2 (setRarity, valueMedian, keys only) and the sparse GSI3 (valuingShard,
/// updatedAt, with userId and cardId).
pub async fn create_table(db: &aws_sdk_dynamodb::Client) {
    let attr = |n: &str, t: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(t)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let gsi = |name: &str, pk: &str, sk: &str, projection: Projection| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(pk, KeyType::Hash))
            .key_schema(key(sk, KeyType::Range))
            .projection(projection)
            .build()
            .unwrap()
    };
    let projection = |t: ProjectionType| Projection::builder().projection_type(t);
    let mut attributes: Vec<_> = [
        "PK",
        "SK",
        "userId",
        "createdAt",
        "valuingShard",
        "updatedAt",
        "setRarity",
    ]
    .into_iter()
    .map(|n| attr(n, ScalarAttributeType::S))
    .collect();
    attributes.push(attr("valueMedian", ScalarAttributeType::N));
    db.create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .global_secondary_indexes(gsi(
            "GSI1",
            "userId",
            "createdAt",
            projection(ProjectionType::All).build(),
        ))
        .global_secondary_indexes(gsi(
            "GSI2",
            "setRarity",
            "valueMedian",
            projection(ProjectionType::KeysOnly).build(),
        ))
        .global_secondary_indexes(gsi(
            "GSI3",
            "valuingShard",
            "updatedAt",
            projection(ProjectionType::Include)
                .non_key_attributes("userId")
                .non_key_attributes("cardId")
                .build(),
        ))
        .send()
        .await
        .unwrap();
}

/// The instant every quota of a test binary counts at (fixed the first time one asks): the requests
/// of a suite all fall on one UTC day, and the keys, `Retry-After` and TTL a test expects are computed
/// from the instant the code counted at, even when the suite runs across 00:00 UTC.
pub fn counted_at() -> chrono::DateTime<chrono::Utc> {
    static AT: std::sync::LazyLock<chrono::DateTime<chrono::Utc>> =
        std::sync::LazyLock::new(backend::model::now);
    *AT
}

/// [`counted_at`] as the quotas' clock.
pub fn quota_clock() -> backend::quota::QuotaClock {
    backend::quota::QuotaClock::Fixed(counted_at())
}

/// `n` as a daily limit.
pub fn limit(n: u32) -> backend::quota::DailyLimit {
    backend::quota::DailyLimit::new(n).expect("a daily limit is at least 1")
}

/// The service's valuation ceiling of `n` a day, on [`quota_clock`].
pub fn ceiling(env: &collectiq_tests::TestEnv, n: u32) -> backend::quota::ValuationCeiling {
    backend::quota::ValuationCeiling::new(env.clients.dynamodb.clone(), TABLE, limit(n))
        .with_clock(quota_clock())
}

pub fn users() -> UserHasher {
    UserHasher::new(HASH_KEY.as_bytes().to_vec()).unwrap()
}

/// The upload bucket of the card functions' tests.
pub const UPLOAD_BUCKET: &str = "collectiq-test-uploads";

/// An S3 client for the emulator (path-style addressing, as `S3_FORCE_PATH_STYLE=true`).
pub fn s3(env: &collectiq_tests::TestEnv) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&env.sdk_config)
            .force_path_style(true)
            .build(),
    )
}

/// Creates [`UPLOAD_BUCKET`].
pub async fn create_upload_bucket(env: &collectiq_tests::TestEnv) {
    s3(env)
        .create_bucket()
        .bucket(UPLOAD_BUCKET)
        .send()
        .await
        .unwrap();
}

/// An uploaded image at `key` (what the presigned PUT leaves: tagged pending).
pub async fn put_upload(env: &collectiq_tests::TestEnv, key: &str) {
    s3(env)
        .put_object()
        .bucket(UPLOAD_BUCKET)
        .key(key)
        .tagging(backend::uploads::PENDING_TAGGING)
        .body(vec![0xFFu8; 16].into())
        .send()
        .await
        .unwrap();
}

/// `cards_create`'s dependencies (table, hasher, upload bucket, the default daily quota).
pub fn create_deps(env: &collectiq_tests::TestEnv) -> backend::cards_create::Deps {
    backend::cards_create::Deps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        users: users(),
        uploads: backend::uploads::UploadStore::new(s3(env), UPLOAD_BUCKET),
        quota: backend::quota::DailyQuota::new(
            env.clients.dynamodb.clone(),
            TABLE,
            backend::quota::QuotaAction::Create,
            backend::quota::DEFAULT_CREATE_DAILY_LIMIT,
        )
        .with_clock(quota_clock()),
    }
}

/// `cards_delete`'s dependencies (table, hasher, upload bucket).
pub fn delete_deps(env: &collectiq_tests::TestEnv) -> backend::cards_delete::Deps {
    backend::cards_delete::Deps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        users: users(),
        uploads: backend::uploads::UploadStore::new(s3(env), UPLOAD_BUCKET),
    }
}

pub fn cards_deps(env: &collectiq_tests::TestEnv) -> CardsDeps {
    CardsDeps {
        store: CardStore::new(env.clients.dynamodb.clone(), TABLE),
        users: users(),
    }
}

pub fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(
        collectiq_tests::workspace_root()
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// An API Gateway v2 fixture, with the caller, body and path id replaced as asked.
pub fn api_event(
    name: &str,
    sub: &str,
    body: Option<serde_json::Value>,
    id: Option<&str>,
) -> ApiGatewayV2httpRequest {
    let mut v: serde_json::Value = serde_json::from_str(&fixture_text(name)).unwrap();
    if v["requestContext"].get("authorizer").is_some() {
        v["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = sub.into();
    }
    if let Some(b) = body {
        v["body"] = b.to_string().into();
    }
    if let Some(id) = id {
        v["pathParameters"]["id"] = id.into();
    }
    serde_json::from_value(v).unwrap()
}

pub fn lambda_event<T>(payload: T) -> LambdaEvent<T> {
    let mut ctx = Context::default();
    ctx.request_id = "req-test".into();
    LambdaEvent::new(payload, ctx)
}

pub fn body_json(r: &aws_lambda_events::apigw::ApiGatewayV2httpResponse) -> serde_json::Value {
    match &r.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) => serde_json::from_str(t).unwrap(),
        None => serde_json::Value::Null,
        Some(other) => panic!("unexpected body {other:?}"),
    }
}

/// A new card's body; its image key is the caller's upload (`uploads/{pseudonym}/…`), see [`put_upload`].
pub fn new_card(sub: &str, name: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "year": 1999, "frontS3Key": upload_key(sub, name)})
}

/// The key of `sub`'s upload for the card `name`.
pub fn upload_key(sub: &str, name: &str) -> String {
    format!("uploads/{}/front-{name}.jpg", users().hash(sub))
}

/// The same event with `queryStringParameters` replaced (through JSON, as API Gateway sends it).
pub fn with_query(e: ApiGatewayV2httpRequest, q: &[(&str, &str)]) -> ApiGatewayV2httpRequest {
    let mut v = serde_json::to_value(e).unwrap();
    let map: serde_json::Map<String, serde_json::Value> =
        q.iter().map(|(k, v)| ((*k).to_owned(), (*v).into())).collect();
    v["rawQueryString"] = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
        .into();
    v["queryStringParameters"] = map.into();
    serde_json::from_value(v).unwrap()
}
