//! The userId hash key as deployed: a Secrets Manager secret (`USER_ID_HASH_KEY_SECRET_ID`, what
//! Terraform wires) read at cold start — through the real Secrets Manager client against moto, and
//! through the real `cards_get` binary under the Runtime-API emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend_support;

use backend::config::{ConfigError, HashKeySource};
use backend::identity::UserHasher;
use backend_support::*;
use collectiq_tests::TestEnv;
use collectiq_tests::runtime_api::{FunctionProcess, Outcome, backend_binary};
use serde_json::Value;

/// 64 alphanumerics, as `aws_secretsmanager_random_password` generates them in infra/modules/backend.
const DEPLOYED_KEY: &str = "Qm7xT2vR9kLp4Wn8Zc3Fh6Jd1Sg5Ya0Ub7Ne2Mr4Kt9Pv6Hw3Lq8Xz1Cj5Gf0Bs2D";

async fn put_secret(env: &TestEnv, name: &str, value: &str) -> String {
    env.clients
        .secrets
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_secret_is_the_key() {
    let env = TestEnv::start().await;
    let arn = put_secret(&env, "collectiq-test/user-id-hash-key", DEPLOYED_KEY).await;
    let expected = UserHasher::new(DEPLOYED_KEY.as_bytes().to_vec()).unwrap();
    for id in [arn.as_str(), "collectiq-test/user-id-hash-key"] {
        let users = HashKeySource::Secret(id.to_owned())
            .load(&env.clients.secrets)
            .await
            .unwrap();
        assert_eq!(users.hash(ALICE), expected.hash(ALICE), "read by {id}");
    }
    assert_ne!(
        expected.hash(ALICE),
        users().hash(ALICE),
        "another key, another pseudonym"
    );
}

#[tokio::test]
async fn unusable_secrets_name_the_variable_and_never_the_key() {
    let env = TestEnv::start().await;
    let short = "only-twenty-bytes-xx";
    put_secret(&env, "short", short).await;
    env.clients
        .secrets
        .create_secret()
        .name("binary")
        .secret_binary(aws_smithy_types::Blob::new(DEPLOYED_KEY.as_bytes()))
        .send()
        .await
        .unwrap();
    for (id, why) in [
        ("missing", "cannot be read"),
        ("short", "at least 32 bytes, got 20"),
        ("binary", "has no string value"),
    ] {
        let err = HashKeySource::Secret(id.to_owned())
            .load(&env.clients.secrets)
            .await
            .unwrap_err();
        let ConfigError::Invalid { name, reason } = &err else {
            panic!("{id}: {err:?}")
        };
        assert_eq!(*name, "USER_ID_HASH_KEY_SECRET_ID");
        assert!(reason.contains(why) && reason.contains(id), "{id}: {reason}");
        assert!(
            !reason.contains(short) && !reason.contains(DEPLOYED_KEY),
            "{reason}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deployed_function_pseudonymises_with_the_secret() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    let arn = put_secret(&env, "collectiq-test/user-id-hash-key", DEPLOYED_KEY).await;
    let endpoint = env.emulator.endpoint().to_owned();
    // The environment Terraform gives cards_get: TABLE_NAME and the secret's ARN, no key.
    let get_fn = FunctionProcess::start(
        &backend_binary("cards_get"),
        "cards_get",
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("TABLE_NAME", TABLE),
            ("USER_ID_HASH_KEY_SECRET_ID", arn.as_str()),
            ("USER_ID_HASH_KEY_VERSION", "1"),
        ],
    )
    .unwrap();
    let mut event: Value = serde_json::from_str(&fixture_text("apigw_v2_cards_get.json")).unwrap();
    let sub = event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    event["pathParameters"]["id"] = "00000000-0000-4000-8000-000000000000".into();
    let inv = tokio::task::block_in_place(|| get_fn.invoke(event.to_string()));
    let Outcome::Response(text) = &inv.outcome else {
        panic!("expected a response, got {:?}", inv.outcome)
    };
    let answer: Value = serde_json::from_str(text).unwrap();
    assert_eq!(answer["statusCode"], 404);
    let lines: Vec<Value> = get_fn
        .lines_for(&inv.request_id)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines
        .iter()
        .find(|l| l["message"] == "request completed")
        .unwrap_or_else(|| panic!("{lines:#?}"));
    let expected = UserHasher::new(DEPLOYED_KEY.as_bytes().to_vec()).unwrap();
    assert_eq!(summary["userId"].as_str(), Some(expected.hash(&sub).as_str()));
    let all = get_fn.stdout_lines().join("\n");
    assert!(
        !all.contains(DEPLOYED_KEY) && !all.contains(&sub),
        "neither key nor sub is logged"
    );
}

#[test]
fn a_function_whose_secret_is_missing_exits_at_init_naming_the_variable() {
    let env = tokio::runtime::Runtime::new().unwrap().block_on(TestEnv::start());
    let endpoint = env.emulator.endpoint().to_owned();
    let mut f = FunctionProcess::start(
        &backend_binary("cards_get"),
        "cards_get",
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("TABLE_NAME", TABLE),
            ("USER_ID_HASH_KEY_SECRET_ID", "collectiq-test/not-there"),
        ],
    )
    .unwrap();
    let status = f
        .wait_exit(std::time::Duration::from_secs(20))
        .expect("the process exits");
    assert!(!status.success());
    std::thread::sleep(std::time::Duration::from_millis(100)); // let the stderr reader drain
    let err = f.stderr_lines().join("\n");
    assert!(
        err.contains("USER_ID_HASH_KEY_SECRET_ID") && err.contains("collectiq-test/not-there"),
        "{err}"
    );
    assert_eq!(f.polls(), 0, "never asked for an event");
}
