//! End to end: the real `cards_create` and `cards_get` binaries run under the Lambda Runtime-API
//! emulator (`collectiq_tests::runtime_api`), with their DynamoDB pointed at the moto emulator through
//! `AWS_ENDPOINT_URL`, driven with API Gateway v2 fixtures. Checks the answers, the JSON log lines
//! (operation, duration, status, requestId, pseudonymous userId) and the EMF documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backend_support;

use backend_support::*;
use collectiq_tests::TestEnv;
use collectiq_tests::runtime_api::{FunctionProcess, Invocation, Outcome, backend_binary};
use serde_json::Value;

fn start(name: &str, env: &TestEnv) -> FunctionProcess {
    let endpoint = env.emulator.endpoint().to_owned();
    FunctionProcess::start(
        &backend_binary(name),
        name,
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("TABLE_NAME", TABLE),
            ("BUCKET_UPLOADS", UPLOAD_BUCKET),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("USER_ID_HASH_KEY", HASH_KEY),
        ],
    )
    .unwrap()
}

/// The image the create fixture registers (`cards_create` confirms it exists): a key from before
/// pseudonymous keys, which stays its owner's.
async fn uploaded_fixture_image(env: &TestEnv) {
    let body: Value = serde_json::from_str(
        serde_json::from_str::<Value>(&fixture_text("apigw_v2_cards_create.json")).unwrap()["body"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    create_upload_bucket(env).await;
    put_upload(env, body["frontS3Key"].as_str().unwrap()).await;
}

fn event(name: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(&fixture_text(name)).unwrap();
    edit(&mut v);
    v.to_string()
}

fn response(inv: &Invocation) -> (i64, Value) {
    let Outcome::Response(text) = &inv.outcome else {
        panic!("expected a response, got {:?}", inv.outcome)
    };
    let v: Value = serde_json::from_str(text).unwrap();
    let body = v["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).unwrap())
        .unwrap_or(Value::Null);
    (v["statusCode"].as_i64().unwrap(), body)
}

fn parsed(lines: &[String]) -> Vec<Value> {
    lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The summary line of a request: the seed's fields, with the user pseudonymised.
fn summary<'a>(lines: &'a [Value], operation: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["message"] == "request completed")
        .unwrap_or_else(|| panic!("no summary line for {operation}: {lines:#?}"))
}

fn metric_names(doc: &Value) -> Vec<String> {
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn create_then_get_through_the_runtime_api() {
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    uploaded_fixture_image(&env).await;
    let create_fn = start("cards_create", &env);
    let get_fn = start("cards_get", &env);

    // POST /cards with the real fixture
    let created =
        tokio::task::block_in_place(|| create_fn.invoke(fixture_text("apigw_v2_cards_create.json")));
    let (status, card) = response(&created);
    assert_eq!(status, 201, "{card}");
    assert_eq!(card["name"], "Charizard");
    assert_eq!(card["status"], "CREATED");
    let id = card["cardId"].as_str().unwrap().to_owned();

    let lines = parsed(&create_fn.lines_for(&created.request_id));
    let line = summary(&lines, "cards_create");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["service"], "cards_create");
    assert_eq!(line["operation"], "cards_create");
    // Seed 001 "Structured Logging": timestamp, level, requestId, userId, operation, duration (ms), status.
    for key in [
        "timestamp",
        "level",
        "requestId",
        "userId",
        "operation",
        "duration",
        "status",
    ] {
        assert!(line.get(key).is_some(), "{key} missing: {line}");
    }
    assert_eq!(line["status"], "success");
    assert_eq!(line["http_status"], 201);
    assert_eq!(line["requestId"], created.request_id.as_str());
    assert!(line["duration"].is_u64(), "whole milliseconds: {line}");
    assert_eq!(
        line["correlation_id"], "Dq3b8gXoIAMEVfA=",
        "API Gateway request id as correlation id"
    );
    let user = line["userId"].as_str().unwrap();
    assert_eq!(user, users().hash(ALICE));
    let all_stdout = create_fn.stdout_lines().join("\n");
    assert!(!all_stdout.contains(ALICE), "the sub never reaches the logs");
    let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
    for doc in &emf {
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CollectIQ");
        telemetry::emf::validate(&doc.to_string()).unwrap();
    }
    let created_doc = emf
        .iter()
        .find(|d| metric_names(d).contains(&"CardsCreated".to_owned()))
        .unwrap_or_else(|| panic!("no CardsCreated document: {emf:#?}"));
    assert_eq!(created_doc["CardsCreated"], 1.0);
    assert_eq!(created_doc["service"], "cards_create");
    assert!(
        created_doc.get("userId").is_none() && created_doc.get("card_id").is_none(),
        "no ids in metrics"
    );
    let cold = emf
        .iter()
        .find(|d| d.get("ColdStart").is_some())
        .expect("first invocation is a cold start");
    assert_eq!(cold["function_name"], "cards_create");
    assert_eq!(emf.len(), 2, "{emf:#?}");

    // GET /cards/{id}: the same card, from another process
    let got = tokio::task::block_in_place(|| {
        get_fn.invoke(event("apigw_v2_cards_get.json", |v| {
            v["pathParameters"]["id"] = id.clone().into();
            v["rawPath"] = format!("/cards/{id}").into();
        }))
    });
    let (status, fetched) = response(&got);
    assert_eq!(status, 200);
    assert_eq!(fetched, card, "what was created is what is read");
    let lines = parsed(&get_fn.lines_for(&got.request_id));
    let line = summary(&lines, "cards_get");
    assert_eq!(
        (line["operation"].as_str(), line["status"].as_str()),
        (Some("cards_get"), Some("success"))
    );
    assert_eq!(
        line["userId"].as_str(),
        Some(user),
        "same pseudonym across functions"
    );

    // GET of a card that does not exist: 404 JSON, logged as a client error at WARN
    let missing = tokio::task::block_in_place(|| {
        get_fn.invoke(event("apigw_v2_cards_get.json", |v| {
            v["pathParameters"]["id"] = "00000000-0000-4000-8000-000000000000".into();
        }))
    });
    let (status, body) = response(&missing);
    assert_eq!(status, 404);
    assert_eq!(body["error"], "NotFound");
    let lines = parsed(&get_fn.lines_for(&missing.request_id));
    let line = summary(&lines, "cards_get");
    assert_eq!(
        (
            line["level"].as_str(),
            line["status"].as_str(),
            line["http_status"].as_u64()
        ),
        (Some("WARN"), Some("client_error"), Some(404))
    );

    // POST /cards with a bad body: 400 naming the field, nothing written
    let bad = tokio::task::block_in_place(|| {
        create_fn.invoke(event("apigw_v2_cards_create.json", |v| {
            v["body"] = r#"{"name":"","frontS3Key":"uploads/someone-else/x.jpg"}"#.into();
        }))
    });
    let (status, body) = response(&bad);
    assert_eq!((status, body["field"].as_str()), (400, Some("name")));
    let scan = env
        .clients
        .dynamodb
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .unwrap();
    // The card and its image's claim; the bad request wrote nothing.
    let (quota, items): (Vec<_>, Vec<_>) = scan
        .items()
        .iter()
        .partition(|i| i["PK"].as_s().unwrap().starts_with("QUOTA#"));
    let kinds: Vec<&str> = items
        .iter()
        .map(|i| i["entityType"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(kinds, ["CARD", "IMAGE"], "{:?}", scan.items());
    // The daily quota counted the create; the bad body, refused before it, was not counted.
    assert_eq!(
        quota
            .iter()
            .map(|i| (
                i["SK"].as_s().unwrap().split('#').next().unwrap(),
                i["used"].as_n().unwrap().as_str()
            ))
            .collect::<Vec<_>>(),
        [("create", "1")],
        "{quota:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_is_a_lambda_error_with_a_stable_type() {
    let env = TestEnv::start().await; // no table: DynamoDB answers ResourceNotFoundException
    let get_fn = start("cards_get", &env);
    let inv = tokio::task::block_in_place(|| get_fn.invoke(event("apigw_v2_cards_get.json", |_| {})));
    let Outcome::Error(text) = &inv.outcome else {
        panic!("expected an error, got {:?}", inv.outcome)
    };
    let err: Value = serde_json::from_str(text).unwrap();
    assert_eq!(err["errorType"], "Internal", "{err}");
    let lines = parsed(&get_fn.lines_for(&inv.request_id));
    let line = summary(&lines, "cards_get");
    assert_eq!(
        (line["level"].as_str(), line["status"].as_str()),
        (Some("ERROR"), Some("server_error"))
    );
    assert_eq!(line["error"]["type"], "Internal");
}

#[test]
fn a_function_without_its_configuration_exits_at_init_naming_the_variable() {
    let mut f = FunctionProcess::start(
        &backend_binary("cards_get"),
        "cards_get",
        &[("AWS_REGION", "us-east-1")],
    )
    .unwrap();
    let status = f
        .wait_exit(std::time::Duration::from_secs(20))
        .expect("the process exits");
    assert!(!status.success());
    std::thread::sleep(std::time::Duration::from_millis(100)); // let the stderr reader drain
    let err = f.stderr_lines().join("\n");
    assert!(err.contains("TABLE_NAME"), "{err}");
    assert_eq!(f.polls(), 0, "never asked for an event");
}

/// Every X-Ray document found in the datagrams `socket` receives until it stays quiet for 500 ms.
fn xray_documents(socket: &std::net::UdpSocket) -> Vec<Value> {
    socket
        .set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let mut docs = Vec::new();
    let mut buf = vec![0_u8; 65_536];
    while let Ok(n) = socket.recv(&mut buf) {
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert_eq!(header, r#"{"format":"json","version":1}"#);
        docs.push(serde_json::from_str(body).unwrap());
    }
    docs
}

/// Every (sub)segment of `doc`, depth first.
fn all_segments(doc: &Value) -> Vec<&Value> {
    let mut out = vec![doc];
    for child in doc["subsegments"].as_array().into_iter().flatten() {
        out.extend(all_segments(child));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sampled_invocation_traces_its_dynamodb_calls_as_aws_subsegments() {
    const ROOT: &str = "1-6740f0a1-aaaabbbbccccddddeeeeffff";
    let env = TestEnv::start().await;
    create_table(&env.clients.dynamodb).await;
    uploaded_fixture_image(&env).await;
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let daemon_address = daemon.local_addr().unwrap().to_string();
    let endpoint = env.emulator.endpoint().to_owned();
    let create_fn = FunctionProcess::start(
        &backend_binary("cards_create"),
        "cards_create",
        &[
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("TABLE_NAME", TABLE),
            ("BUCKET_UPLOADS", UPLOAD_BUCKET),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("USER_ID_HASH_KEY", HASH_KEY),
            ("AWS_XRAY_DAEMON_ADDRESS", daemon_address.as_str()),
            // The harness switches tracing off by default; this test is about it.
            ("POWERTOOLS_TRACE_DISABLED", "false"),
        ],
    )
    .unwrap();

    let created = tokio::task::block_in_place(|| {
        create_fn.invoke_traced(
            fixture_text("apigw_v2_cards_create.json"),
            &format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1"),
        )
    });
    assert_eq!(response(&created).0, 201);

    let docs = tokio::task::block_in_place(|| xray_documents(&daemon));
    assert!(!docs.is_empty(), "a sampled invocation sends its subsegments");
    for doc in &docs {
        assert_eq!(doc["trace_id"], ROOT, "{doc}");
    }
    let calls: Vec<&Value> = docs
        .iter()
        .flat_map(all_segments)
        .filter(|s| s["namespace"] == "aws")
        .collect();
    let writes: Vec<&&Value> = calls
        .iter()
        .filter(|s| s["name"] == "DynamoDB" && s["aws"]["table_name"] == TABLE)
        .collect();
    assert!(
        !writes.is_empty(),
        "the card's DynamoDB write is an `aws` subsegment naming the table: {docs:#?}"
    );
    for call in writes {
        assert!(call["aws"]["operation"].is_string(), "{call}");
        assert_eq!(call["http"]["response"]["status"], 200, "{call}");
        assert!(
            call.get("fault").is_none() && call.get("error").is_none(),
            "{call}"
        );
    }
}

/// A typed handler (`healthz` takes API Gateway's `ApiGatewayV2httpRequest`) reads its event as a
/// `serde_json::Value` handler does: `telemetry::lambda::run_with` hands the runtime's raw body to the
/// invocation layer (`EventBodyLayer`). With `OTEL_PROPAGATORS=tracecontext` the caller's
/// `traceparent` header is the invocation's parent (Lambda's segment aside), and
/// `POWERTOOLS_LOGGER_LOG_EVENT` logs the event, redacted.
#[test]
fn a_typed_handler_joins_the_callers_traceparent_and_logs_its_event() {
    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg";
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let daemon_address = daemon.local_addr().unwrap().to_string();
    let f = FunctionProcess::start(
        &backend_binary("healthz"),
        "healthz",
        &[
            ("AWS_XRAY_DAEMON_ADDRESS", daemon_address.as_str()),
            ("POWERTOOLS_TRACE_DISABLED", "false"),
            ("OTEL_PROPAGATORS", "tracecontext"),
            ("POWERTOOLS_LOGGER_LOG_EVENT", "true"),
        ],
    )
    .unwrap();
    let payload = event("apigw_v2_healthz.json", |v| {
        v["headers"]["traceparent"] = TRACEPARENT.into();
        v["headers"]["authorization"] = format!("Bearer {TOKEN}").into();
    });
    let inv = f.invoke_traced(
        payload,
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    );
    assert_eq!(response(&inv).0, 200);

    let lines = f.lines_for(&inv.request_id);
    assert!(
        lines.iter().all(|l| !l.contains(TOKEN)),
        "the bearer token leaked: {lines:#?}"
    );
    let logged = parsed(&lines);
    let event_line = logged
        .iter()
        .find(|l| l["message"] == "Lambda invocation event")
        .unwrap_or_else(|| panic!("no event line: {lines:#?}"));
    assert_eq!(event_line["event"]["rawPath"], "/healthz");
    assert_eq!(
        event_line["event"]["requestContext"]["requestId"],
        "Dq3hStXoIAMEVlG="
    );

    let docs = xray_documents(&daemon);
    let invocation = docs
        .iter()
        .flat_map(all_segments)
        .find(|s| s["parent_id"] == "00f067aa0ba902b7")
        .unwrap_or_else(|| panic!("no subsegment under the caller's span: {docs:#?}"));
    assert_eq!(invocation["trace_id"], "1-4bf92f35-77b34da6a3ce929d0e0e4736");
}
