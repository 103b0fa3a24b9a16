//! End to end: the `hello` example binary runs under the Lambda Runtime-API harness
//! (`telemetry::testing::runtime_api`, feature `test-util`), with a local UDP socket as the X-Ray daemon.
//! Success, error and panic invocations; every stdout line is parsed (log line or EMF document), the
//! panic is one JSON line with the request id (not the default hook's text on stderr), lambda_runtime's
//! own error lines carry the request id too, and the subsegments must be parented to Lambda's segment.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use serde_json::{Value, json};
use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;
use telemetry::testing::runtime_api::{FunctionProcess, Outcome, cargo_binary};

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

/// The `hello` example under the harness with `env` (examples are not built by `cargo test --test e2e`).
fn hello(env: &[(&str, &str)]) -> FunctionProcess {
    let binary = cargo_binary(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["-p", "telemetry", "--example", "hello"],
        "examples/hello",
    );
    FunctionProcess::start(&binary, "hello", env).unwrap()
}

#[test]
fn hello_function_under_runtime_api_harness() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let daemon_addr = daemon.local_addr().unwrap().to_string();
    let f = hello(&[
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("POWERTOOLS_SERVICE_NAME", "hello"),
        ("POWERTOOLS_TRACE_DISABLED", "false"),
        ("AWS_XRAY_DAEMON_ADDRESS", daemon_addr.as_str()),
        // The panic line carries a backtrace only when Rust's rule asks for one (audit 12, M3).
        ("RUST_BACKTRACE", "1"),
    ]);
    let trace = |sampled: u8| format!("Root={ROOT};Parent={PARENT};Sampled={sampled};Lineage=16f3a795:0");
    let ok = f.invoke_traced(
        json!({"card_id": "c-1", "requestContext": {"requestId": "api-ok"}}).to_string(),
        &trace(1),
    );
    let err = f.invoke_traced(json!({"card_id": "c-2", "mode": "error"}).to_string(), &trace(1));
    let panic = f.invoke_traced(json!({"card_id": "c-3", "mode": "panic"}).to_string(), &trace(0));
    let (ok_id, err_id, panic_id) = (
        ok.request_id.as_str(),
        err.request_id.as_str(),
        panic.request_id.as_str(),
    );
    // Each invocation's EMF document is its last line: wait for the reader to see it.
    for id in [ok_id, err_id, panic_id] {
        assert!(
            f.lines_for(id).iter().any(|l| l.contains("\"_aws\"")),
            "no EMF document for {id}"
        );
    }
    let mut datagrams = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(n) = daemon.recv(&mut buf) {
        datagrams.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }

    // Responses: success body, error and panic reported as errors.
    let Outcome::Response(body) = &ok.outcome else {
        panic!("{:?}", ok.outcome)
    };
    assert_eq!(
        serde_json::from_str::<Value>(body).unwrap()["value_usd"],
        "120.00"
    );
    assert!(matches!(err.outcome, Outcome::Error(_)), "{:?}", err.outcome);
    let Outcome::Error(panic_body) = &panic.outcome else {
        panic!("{:?}", panic.outcome)
    };
    assert!(panic_body.contains("corrupt card image"), "{panic_body}");

    // Every stdout line is JSON: either a log line or an EMF document.
    let lines = f.stdout_lines();
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let (emf, logs): (Vec<&Value>, Vec<&Value>) = parsed.iter().partition(|v| v.get("_aws").is_some());
    for (line, v) in lines.iter().zip(&parsed) {
        if v.get("_aws").is_some() {
            telemetry::emf::validate(line).unwrap();
        }
    }
    // Nothing on stderr either: the default panic hook's text is gone.
    let stderr = f.stderr_lines();
    assert!(
        stderr.iter().all(|l| !l.contains("panicked")),
        "stderr: {stderr:?}"
    );
    for l in &logs {
        for key in [
            "timestamp",
            "level",
            "message",
            "service",
            "function_name",
            "function_memory_size",
        ] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
        assert_eq!(l["service"], "hello");
        assert_eq!(l["function_memory_size"], 128);
        assert!(
            l.get("requestId").is_none(),
            "lambda_runtime's span fields are not flattened"
        );
        // Every error line — ours, the panic hook's, lambda_runtime's own — names its invocation.
        if l["level"] == "ERROR" {
            let id = l["function_request_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no request id: {l}"));
            assert!([err_id, panic_id].contains(&id), "{l}");
        }
    }
    let pricing: Vec<&&Value> = logs.iter().filter(|l| l["message"] == "pricing card").collect();
    assert_eq!(pricing.len(), 3);
    assert_eq!(pricing[0]["function_request_id"], ok_id);
    assert_eq!(pricing[0]["correlation_id"], "api-ok");
    assert_eq!(pricing[0]["cold_start"], true);
    assert_eq!(pricing[0]["xray_trace_id"], ROOT);
    assert_eq!(pricing[0]["card_id"], "c-1");
    assert_eq!(pricing[0]["user_email"], "[REDACTED]");
    assert_eq!(pricing[1]["cold_start"], false);
    let failed = logs.iter().find(|l| l["message"] == "handler failed").unwrap();
    assert_eq!(failed["function_request_id"], err_id);
    let panicked = logs.iter().find(|l| l["message"] == "handler panicked").unwrap();
    assert_eq!(panicked["panic"], "corrupt card image");
    assert_eq!(panicked["function_request_id"], panic_id);

    // The panic itself: one JSON line from telemetry's hook, with location, backtrace and context.
    let hook: Vec<&&Value> = logs
        .iter()
        .filter(|l| l["message"] == "corrupt card image")
        .collect();
    assert_eq!(hook.len(), 1, "{logs:?}");
    let hook = hook[0];
    assert_eq!(hook["level"], "ERROR");
    assert_eq!(hook["function_request_id"], panic_id);
    assert_eq!(hook["xray_trace_id"], ROOT);
    assert_eq!(hook["cold_start"], false);
    assert!(
        hook["location"].as_str().unwrap().contains("examples/hello.rs:"),
        "{hook}"
    );
    assert!(!hook["backtrace"].as_str().unwrap().is_empty());
    // lambda_runtime's own line about the panic carries the request id (its span, read by the logger).
    let runtime_line = logs
        .iter()
        .find(|l| l["message"] == "user handler panicked")
        .unwrap_or_else(|| panic!("lambda_runtime's panic line: {logs:?}"));
    assert_eq!(runtime_line["function_request_id"], panic_id);
    assert_eq!(runtime_line["xray_trace_id"], ROOT);

    // EMF: one cold start, and one CardsValued document per invocation carrying its request id.
    assert_eq!(emf.iter().filter(|d| d.get("ColdStart").is_some()).count(), 1);
    for id in [ok_id, err_id, panic_id] {
        let d = emf
            .iter()
            .find(|d| d["function_request_id"] == id && d.get("CardsValued").is_some())
            .unwrap();
        assert_eq!(d["CardsValued"], 1.0);
        assert_eq!(d["ValuationLatency"], 12.5);
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CollectIQ");
    }
    // EMF documents are written before the response is posted, so none can come after the last result.

    // X-Ray: only the two sampled invocations, each an invocation subsegment under Lambda's segment with
    // the price_card subsegment nested in it.
    let docs: Vec<Value> = datagrams
        .iter()
        .map(|d| {
            let (header, body) = d.split_once('\n').unwrap();
            assert_eq!(
                serde_json::from_str::<Value>(header).unwrap(),
                json!({"format": "json", "version": 1})
            );
            serde_json::from_str(body).unwrap()
        })
        .collect();
    assert_eq!(docs.len(), 2, "one datagram per sampled invocation: {docs:?}");
    let roots: Vec<&Value> = docs.iter().filter(|d| d["parent_id"] == PARENT).collect();
    assert_eq!(roots.len(), 2);
    for root in &roots {
        assert_eq!(root["name"], "hello");
        assert_eq!(root["trace_id"], ROOT);
        assert_eq!(root["type"], "subsegment");
        let child = &root["subsegments"][0];
        assert_eq!(child["name"], "price_card");
        assert_eq!(
            child["annotations"]["card"].as_str().map(|c| c.starts_with("c-")),
            Some(true)
        );
        assert!(child["start_time"].as_f64().unwrap() >= root["start_time"].as_f64().unwrap());
    }
    assert!(
        roots.iter().any(|r| r["fault"] == true),
        "the failed invocation is a fault"
    );
    assert!(roots.iter().any(|r| r["annotations"]["ColdStart"] == true));
}

/// ARCHITECTURE: "a broken sink loses telemetry, not requests". A metrics namespace CloudWatch refuses
/// and an OTLP endpoint that is no URL used to make `telemetry::init()?` end the function before its
/// first invocation: now it serves, writes no metric and exports no span, and says why in one ERROR
/// line each.
#[test]
fn refused_settings_lose_telemetry_not_requests() {
    let f = hello(&[
        ("POWERTOOLS_SERVICE_NAME", "hello"),
        ("POWERTOOLS_METRICS_NAMESPACE", "Collect IQ"),
        ("POWERTOOLS_TRACE_DISABLED", "false"),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector.internal"),
    ]);
    let ok = f.invoke(json!({"card_id": "c-1"}).to_string());
    let Outcome::Response(body) = &ok.outcome else {
        panic!("{:?}", ok.outcome)
    };
    assert_eq!(
        serde_json::from_str::<Value>(body).unwrap()["value_usd"],
        "120.00"
    );
    assert_eq!(f.init_error(Duration::ZERO), None);
    let lines: Vec<Value> = f
        .stdout_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    let said = |needle: &str, message: &str| {
        errors.iter().any(|l| {
            l["error"].as_str().is_some_and(|e| e.contains(needle))
                && l["message"].as_str().is_some_and(|m| m.starts_with(message))
        })
    };
    assert!(said("Collect IQ", "metrics configuration refused"), "{errors:?}");
    assert!(
        said("ftp://collector.internal", "trace export configuration refused"),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.get("_aws").is_some()),
        "no EMF document: {lines:?}"
    );
    // The invocation's own lines are there, with its request id.
    assert!(
        f.lines_for(&ok.request_id)
            .iter()
            .any(|l| l.contains("pricing card"))
    );
}
