//! End to end, OpenTelemetry: the `hello_otel` example binary under the Runtime-API harness exports its
//! spans as OTLP protobuf over UDP (the Lambda distributions' format) to a local socket and as
//! SigV4-signed OTLP/HTTP to a loopback server. The test decodes the protobuf with
//! `opentelemetry-proto` and checks ids, parents, attributes, the X-Ray-format trace id, and the SigV4
//! signature, recomputed here from the AWS algorithm (canonical request → string to sign → HMAC chain).
//! A second test runs ten invocations at once (`AWS_LAMBDA_MAX_CONCURRENCY=8`) and checks that every log
//! line, EMF document and span carries its own invocation's request id and trace id.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use base64::Engine as _;
use hmac::{Hmac, Mac};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use prost::Message as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telemetry::testing::runtime_api::{FunctionProcess, Outcome, cargo_binary};

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const LAMBDA_PARENT: &str = "53995c3f42cd8ad8";
const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn binary() -> std::path::PathBuf {
    cargo_binary(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &[
            "-p",
            "telemetry",
            "--example",
            "hello_otel",
            "--features",
            "sigv4",
        ],
        "examples/hello_otel",
    )
}

/// One HTTP request the loopback collector received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// When the collector began writing its answer.
    answered: Instant,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

/// A loopback OTLP/HTTP collector: answers 200 to everything, keeps every request.
fn collector() -> (String, Arc<Mutex<Vec<Received>>>) {
    collector_answering(|_| OK)
}

/// A loopback OTLP/HTTP collector answering its `n`-th request (over any connection) with
/// `answer(n)` (which may block to hold the answer). Keeps every request.
fn collector_answering(
    answer: impl Fn(usize) -> &'static str + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Received>>>) {
    let answer = Arc::new(answer);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sink = Arc::clone(&sink);
            let answer = Arc::clone(&answer);
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or_default().to_owned();
                    let path = parts.next().unwrap_or_default().to_owned();
                    let mut headers = Vec::new();
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap();
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                    let len = headers
                        .iter()
                        .find(|(k, _)| k == "content-length")
                        .map_or(0, |(_, v)| v.parse().unwrap());
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    let n = sink.lock().unwrap().len();
                    let text = answer(n);
                    sink.lock().unwrap().push(Received {
                        method,
                        path,
                        headers,
                        body,
                        answered: Instant::now(),
                    });
                    writer.write_all(text.as_bytes()).unwrap();
                }
            });
        }
    });
    (base, seen)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.to_owned())
}

/// Decodes one daemon datagram of the OTLP/UDP format.
fn decode_datagram(datagram: &[u8]) -> ExportTraceServiceRequest {
    let text = std::str::from_utf8(datagram).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(header).unwrap(),
        json!({"format": "json", "version": 1})
    );
    let b64 = body
        .strip_prefix("T1S")
        .expect("sampled spans carry the T1S prefix");
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap()
}

/// Every span of some requests, with the scope name and the resource attributes it came with.
fn spans(requests: &[ExportTraceServiceRequest]) -> Vec<(String, Vec<KeyValue>, Span)> {
    let mut out = Vec::new();
    for r in requests {
        for rs in &r.resource_spans {
            let resource = rs.resource.clone().unwrap_or_default().attributes;
            for ss in &rs.scope_spans {
                let scope = ss.scope.clone().unwrap_or_default().name;
                for span in &ss.spans {
                    out.push((scope.clone(), resource.clone(), span.clone()));
                }
            }
        }
    }
    out
}

fn udp_requests(daemon: &UdpSocket, at_least: usize, within: Duration) -> Vec<ExportTraceServiceRequest> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while Instant::now() < deadline {
        match daemon.recv(&mut buf) {
            Ok(n) => out.push(decode_datagram(&buf[..n])),
            Err(_) if out.len() >= at_least => break,
            Err(_) => {}
        }
    }
    out
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// Recomputes the SigV4 signature of a received request from the AWS algorithm
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>) and compares it with
/// the `authorization` header. Returns the credential scope.
fn verify_sigv4(r: &Received, host: &str) -> String {
    let auth = r.header("authorization").expect("signed");
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").expect("algorithm");
    let fields: HashMap<&str, &str> = rest.split(", ").filter_map(|f| f.split_once('=')).collect();
    let credential = fields["Credential"];
    let (key_id, scope) = credential.split_once('/').unwrap();
    assert_eq!(key_id, KEY_ID);
    let signed_headers = fields["SignedHeaders"];
    let amz_date = r.header("x-amz-date").unwrap();
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|name| {
            let value = if name == "host" {
                r.header("host").unwrap_or(host)
            } else {
                r.header(name)
                    .unwrap_or_else(|| panic!("signed header {name} not sent"))
            };
            format!("{name}:{}\n", value.trim())
        })
        .collect();
    let payload_hash = hex(&Sha256::digest(&r.body));
    let canonical = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        r.method, r.path
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, "aws4_request"] = parts.as_slice() else {
        panic!("scope {scope}")
    };
    let k_date = hmac(format!("AWS4{SECRET}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    let k_signing = hmac(&k_service, "aws4_request");
    let expected = hex(&hmac(&k_signing, &string_to_sign));
    assert_eq!(
        fields["Signature"], expected,
        "SigV4 signature over {canonical:?}"
    );
    assert!(amz_date.starts_with(date));
    scope.to_owned()
}

fn start(daemon: &UdpSocket, collector: &str, extra: &[(&str, &str)]) -> FunctionProcess {
    let daemon = daemon.local_addr().unwrap().to_string();
    let mut env = vec![
        ("POWERTOOLS_TRACE_DISABLED", "false"),
        ("OTEL_TRACES_EXPORTER", "otlp-udp,otlp"),
        ("AWS_XRAY_DAEMON_ADDRESS", daemon.as_str()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=collectiq"),
        ("TELEMETRY_OTLP_SIGV4_REGION", "eu-west-1"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", "session-token"),
    ];
    env.extend_from_slice(extra);
    FunctionProcess::start(&binary(), "hello_otel", &env).unwrap()
}

/// The function exporting over OTLP/HTTP only (to `collector`), after one sampled invocation for
/// `card` that it answered.
fn started_and_invoked(
    daemon: &UdpSocket,
    collector: &str,
    card: &str,
) -> (FunctionProcess, telemetry::testing::runtime_api::Invocation) {
    let f = start(daemon, collector, &[("OTEL_TRACES_EXPORTER", "otlp")]);
    let header = format!("Root={ROOT};Parent={LAMBDA_PARENT};Sampled=1");
    let inv = f.invoke_traced(json!({"card_id": card}).to_string(), &header);
    assert!(matches!(inv.outcome, Outcome::Response(_)), "{inv:?}");
    (f, inv)
}

#[test]
fn spans_leave_as_otlp_over_udp_and_signed_http() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let (base, received) = collector();
    let f = start(&daemon, &base, &[]);

    let lambda_header = format!("Root={ROOT};Parent={LAMBDA_PARENT};Sampled=1;Lineage=16f3a795:0");
    let sampled = f.invoke_traced(
        r#"{"card_id": "c-1", "requestContext": {"requestId": "api-1"}}"#,
        &lambda_header,
    );
    assert!(matches!(sampled.outcome, Outcome::Response(_)), "{sampled:?}");
    // No Lambda context (tracing off upstream): the API Gateway request's W3C traceparent is the parent.
    let w3c = f.invoke_traced(
        r#"{"card_id": "c-2", "requestContext": {"requestId": "api-2"},
            "headers": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "congo=t61rcWkgMzE"}}"#,
        "",
    );
    assert!(matches!(w3c.outcome, Outcome::Response(_)), "{w3c:?}");
    let unsampled = f.invoke(r#"{"card_id": "c-3"}"#);
    assert!(matches!(unsampled.outcome, Outcome::Response(_)));

    // UDP: one datagram per sampled invocation, nothing for the unsampled one.
    let requests = udp_requests(&daemon, 2, Duration::from_secs(5));
    assert_eq!(requests.len(), 2, "{requests:?}");
    let all = spans(&requests);
    let resource = &all[0].1;
    for (k, v) in [
        ("service.name", s("hello_otel")),
        ("cloud.provider", s("aws")),
        ("cloud.platform", s("aws_lambda")),
        ("cloud.region", s("eu-west-1")),
        ("faas.name", s("hello_otel")),
        ("faas.version", s("$LATEST")),
        ("faas.max_memory", any_value::Value::IntValue(512 * 1024 * 1024)),
        ("faas.instance", s("2026/11/22/[$LATEST]0123456789abcdef")),
    ] {
        assert_eq!(attr(resource, k), Some(&v), "resource {k}");
    }

    let of_trace = |trace: &str| -> Vec<&(String, Vec<KeyValue>, Span)> {
        all.iter()
            .filter(|(_, _, sp)| hex(&sp.trace_id) == trace)
            .collect()
    };
    // Lambda's context: the X-Ray Root is the trace id (its first 32 bits the epoch seconds 0x5759e988).
    let xray = of_trace("5759e988bd862e3fe1be46a994272793");
    assert_eq!(xray.len(), 3, "{xray:?}");
    let by_name = |set: &[&(String, Vec<KeyValue>, Span)], n: &str| -> Span {
        set.iter().find(|(_, _, sp)| sp.name == n).unwrap().2.clone()
    };
    let inv = by_name(&xray, "hello_otel");
    let work = by_name(&xray, "price_card");
    let lib = by_name(&xray, "pricing-lib.lookup");
    assert_eq!(hex(&inv.parent_span_id), LAMBDA_PARENT, "under Lambda's segment");
    assert_eq!(inv.kind, SpanKind::Server as i32);
    assert_eq!(work.parent_span_id, inv.span_id);
    assert_eq!(
        lib.parent_span_id, work.span_id,
        "the OpenTelemetry-API span is the tracing span's child"
    );
    assert_eq!(
        xray.iter()
            .find(|(_, _, sp)| sp.name == "pricing-lib.lookup")
            .unwrap()
            .0,
        "pricing-lib"
    );
    assert_eq!(
        attr(&inv.attributes, "faas.invocation_id"),
        Some(&s(&sampled.request_id))
    );
    assert_eq!(attr(&inv.attributes, "faas.trigger"), Some(&s("http")));
    assert_eq!(
        attr(&inv.attributes, "faas.coldstart"),
        Some(&any_value::Value::BoolValue(true))
    );
    assert_eq!(
        attr(&inv.attributes, "cloud.account.id"),
        Some(&s("123456789012"))
    );
    assert_eq!(attr(&inv.attributes, "correlation_id"), Some(&s("api-1")));
    assert_eq!(attr(&work.attributes, "card_id"), Some(&s("c-1")));
    for sp in [&inv, &work, &lib] {
        assert_eq!(sp.span_id.len(), 8);
        assert!(sp.end_time_unix_nano >= sp.start_time_unix_nano);
    }
    // The W3C-parented invocation.
    let w3c_spans = of_trace("4bf92f3577b34da6a3ce929d0e0e4736");
    let w3c_inv = by_name(&w3c_spans, "hello_otel");
    assert_eq!(hex(&w3c_inv.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(w3c_inv.trace_state, "congo=t61rcWkgMzE");
    assert_eq!(
        attr(&w3c_inv.attributes, "faas.invocation_id"),
        Some(&s(&w3c.request_id))
    );
    assert_eq!(w3c_spans.len(), 3);

    // HTTP: the same spans, SigV4-signed for xray, with the configured header.
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let posts = received.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "one POST per sampled invocation");
    let host = base.trim_start_matches("http://");
    let mut http_requests = Vec::new();
    for p in &posts {
        assert_eq!((p.method.as_str(), p.path.as_str()), ("POST", "/v1/traces"));
        assert_eq!(p.header("content-type"), Some("application/x-protobuf"));
        assert_eq!(p.header("x-tenant"), Some("collectiq"));
        assert_eq!(p.header("x-amz-security-token"), Some("session-token"));
        let scope = verify_sigv4(p, host);
        assert!(scope.ends_with("/eu-west-1/xray/aws4_request"), "{scope}");
        http_requests.push(ExportTraceServiceRequest::decode(p.body.as_slice()).unwrap());
    }
    let mut udp_ids: Vec<String> = all.iter().map(|(_, _, sp)| hex(&sp.span_id)).collect();
    let mut http_ids: Vec<String> = spans(&http_requests)
        .iter()
        .map(|(_, _, sp)| hex(&sp.span_id))
        .collect();
    udp_ids.sort();
    http_ids.sort();
    assert_eq!(udp_ids, http_ids, "both exporters read the same spans");
}

#[test]
fn concurrent_invocations_keep_their_own_ids() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let (base, _received) = collector();
    let f = start(
        &daemon,
        &base,
        &[
            ("AWS_LAMBDA_MAX_CONCURRENCY", "8"),
            ("OTEL_TRACES_EXPORTER", "otlp-udp"),
        ],
    );
    // Warm up (cold start, init) so the ten below overlap in their handlers.
    let warm = f.invoke_traced(
        "{}",
        &format!("Root=1-6740f0a1-000000000000000000000001;Parent={LAMBDA_PARENT};Sampled=1"),
    );
    assert!(matches!(warm.outcome, Outcome::Response(_)));
    let _ = udp_requests(&daemon, 1, Duration::from_secs(2));

    let n = 10usize;
    let started = Instant::now();
    let results: Vec<(String, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let f = &f;
                scope.spawn(move || {
                    let root = format!("1-6740f0a1-{:024x}", 0x1000 + i);
                    let header = format!("Root={root};Parent={LAMBDA_PARENT};Sampled=1");
                    let payload = json!({"card_id": format!("c-{i}"), "delay_ms": 300}).to_string();
                    let inv = f.invoke_traced(payload, &header);
                    let Outcome::Response(body) = &inv.outcome else {
                        panic!("{inv:?}")
                    };
                    let body: Value = serde_json::from_str(body).unwrap();
                    assert_eq!(body["request_id"], inv.request_id.as_str());
                    (inv.request_id, root)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    // Ten 300 ms handlers through eight concurrent pollers: well under the 3 s they take one by one.
    assert!(
        elapsed < Duration::from_millis(2_000),
        "not concurrent: {elapsed:?}"
    );

    for (request_id, root) in &results {
        let lines: Vec<Value> = f
            .lines_for(request_id)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let logs: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_none()).collect();
        let emf: Vec<&Value> = lines.iter().filter(|l| l.get("_aws").is_some()).collect();
        assert_eq!(
            logs.iter()
                .filter(|l| l["message"] == "pricing card" || l["message"] == "priced")
                .count(),
            2,
            "{request_id}: {lines:?}"
        );
        // Recorded before and after the handler's await (which may resume on another worker).
        for metric in ["CardsValued", "CardsPriced"] {
            assert_eq!(
                emf.iter().filter_map(|d| d[metric].as_f64()).sum::<f64>(),
                1.0,
                "{request_id} {metric}: {lines:?}"
            );
        }
        for l in &lines {
            assert_eq!(l["function_request_id"], request_id.as_str());
            assert_eq!(l["xray_trace_id"], root.as_str(), "{l}");
        }
    }
    // Nothing crossed: no line names one invocation's request id with another's trace, and no
    // metric of theirs was written process-wide (without a request id).
    let by_request: HashMap<&str, &str> = results.iter().map(|(r, t)| (r.as_str(), t.as_str())).collect();
    for line in f.stdout_lines() {
        let v: Value = serde_json::from_str(&line).unwrap();
        if v.get("_aws").is_some() && v.get("function_request_id").is_none() {
            assert!(
                v.get("CardsValued").is_none() && v.get("CardsPriced").is_none(),
                "an invocation's metric written process-wide: {line}"
            );
        }
        if let (Some(r), Some(t)) = (v["function_request_id"].as_str(), v["xray_trace_id"].as_str())
            && let Some(expected) = by_request.get(r)
        {
            assert_eq!(t, *expected, "{line}");
        }
    }

    let requests = udp_requests(&daemon, n, Duration::from_secs(5));
    let all = spans(&requests);
    let mut windows = Vec::new();
    for (request_id, root) in &results {
        let trace = root[2..].replace('-', "");
        let mine: Vec<&Span> = all
            .iter()
            .map(|(_, _, s)| s)
            .filter(|s| hex(&s.trace_id) == trace)
            .collect();
        assert_eq!(mine.len(), 3, "{request_id}: {mine:?}");
        let inv = mine.iter().find(|s| s.name == "hello_otel").unwrap();
        assert_eq!(attr(&inv.attributes, "faas.invocation_id"), Some(&s(request_id)));
        let work = mine.iter().find(|s| s.name == "price_card").unwrap();
        assert_eq!(work.parent_span_id, inv.span_id);
        assert!(attr(&work.attributes, "card_id").is_some());
        windows.push((inv.start_time_unix_nano, inv.end_time_unix_nano));
    }
    // The invocations really interleaved: at least eight were open at one moment.
    let most_open = windows
        .iter()
        .map(|(start, _)| {
            windows
                .iter()
                .filter(|(s2, e2)| s2 <= start && start < e2)
                .count()
        })
        .max()
        .unwrap();
    assert!(
        most_open >= 8,
        "at most {most_open} invocations overlapped: {windows:?}"
    );
}

/// Lambda may freeze the process as soon as the runtime asks for the next event: a post still in
/// flight would finish only at the next thaw. `telemetry::run` waits for the invocation's spans after
/// the response is posted and before that request — the caller is not kept waiting, the spans are not
/// left behind — and a `503` is posted again after its `Retry-After`.
#[test]
fn spans_leave_after_the_response_and_before_the_next_event() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    // The retry's answer waits until the test has seen the response: whatever the machine's load, the
    // collector answers after the response, and a function that did not wait would already have
    // asked for its next event.
    let gate: Gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let opened = Arc::clone(&gate);
    let (base, received) = collector_answering(move |n| {
        if n == 0 {
            return "HTTP/1.1 503 Service Unavailable\r\nretry-after: 0\r\ncontent-length: 0\r\n\r\n";
        }
        let (open, cv) = &*opened;
        let guard = open.lock().unwrap();
        drop(
            cv.wait_timeout_while(guard, Duration::from_secs(30), |o| !*o)
                .unwrap(),
        );
        OK
    });
    let (f, inv) = started_and_invoked(&daemon, &base, "c-9");
    // Time enough for a function that does not wait to ask for its next event.
    std::thread::sleep(Duration::from_millis(300));
    open(&gate);

    // The function's next `/next`, after its response.
    let response = format!("response {}", inv.request_id);
    let deadline = Instant::now() + Duration::from_secs(20);
    let (responded, next) = loop {
        let calls = f.calls();
        let at = calls.iter().position(|(_, c)| *c == response);
        if let Some(at) = at
            && let Some((next, _)) = calls[at..].iter().find(|(_, c)| c == "next")
        {
            break (calls[at].0, *next);
        }
        assert!(Instant::now() < deadline, "no poll after the response: {calls:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let posts = received.lock().unwrap().clone();
    assert_eq!(posts.len(), 2, "the 503, then the accepted retry");
    assert_eq!(posts[0].body, posts[1].body, "the retry carries the same batch");
    let request = ExportTraceServiceRequest::decode(posts[1].body.as_slice()).unwrap();
    let all = spans(&[request]);
    let trace = ROOT[2..].replace('-', "");
    assert!(!all.is_empty());
    assert!(
        all.iter().all(|(_, _, sp)| hex(&sp.trace_id) == trace),
        "the invocation's spans"
    );
    assert!(
        responded < posts[1].answered,
        "the response was posted while the collector still held the spans (not delayed by the flush)"
    );
    assert!(
        posts[1].answered < next,
        "the function asked for its next event only once its spans had left"
    );
    let _scope = verify_sigv4(&posts[1], base.trim_start_matches("http://"));
}

/// A latch a test opens: the collector's answers wait on it.
type Gate = Arc<(Mutex<bool>, std::sync::Condvar)>;

fn open(gate: &Gate) {
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
}

/// A collector whose every answer waits until `gate` opens (at most 30 s).
fn gated_collector() -> (String, Arc<Mutex<Vec<Received>>>, Gate) {
    let gate: Gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let opened = Arc::clone(&gate);
    let (base, received) = collector_answering(move |_| {
        let (open, cv) = &*opened;
        let guard = open.lock().unwrap();
        drop(
            cv.wait_timeout_while(guard, Duration::from_secs(30), |o| !*o)
                .unwrap(),
        );
        OK
    });
    (base, received, gate)
}

/// The function's JSON log line with `message`, waiting up to two seconds for the reader.
fn line_with_message(f: &FunctionProcess, message: &str) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let found = f
            .stdout_lines()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|l| l["message"] == message);
        if found.is_some() || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Lambda sends `SIGTERM` before it shuts an environment down only to a function with an extension
/// registered (500 ms for the runtime with an internal one). With an OTLP/HTTP exporter the function
/// registers one during Init, for no event, and on `SIGTERM` waits for the spans still held before it
/// exits 0 with one JSON line saying so.
#[test]
fn sigterm_waits_for_the_spans_still_held_then_exits() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (base, received, gate) = gated_collector();
    let (mut f, _) = started_and_invoked(&daemon, &base, "c-11");

    let calls = f.calls();
    let names: Vec<&str> = calls.iter().map(|(_, c)| c.as_str()).collect();
    let register = names
        .iter()
        .position(|c| c.starts_with("register "))
        .unwrap_or_else(|| panic!("no extension registered: {names:?}"));
    assert_eq!(
        names[register],
        format!("register {} {{\"events\":[]}}", telemetry::lambda::EXTENSION_NAME),
        "an internal extension subscribed to no event"
    );
    let first_next = names.iter().position(|c| *c == "next").unwrap();
    assert!(register < first_next, "registered during Init: {names:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f
        .calls()
        .iter()
        .any(|(_, c)| c.starts_with("extension next ext-"))
    {
        assert!(
            Instant::now() < deadline,
            "the extension never signalled it is ready: {:?}",
            f.calls()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The collector still holds the invocation's batch: it answers only once the SIGTERM is sent (and
    // soon after, so that a loaded machine stays well inside the 400 ms budget).
    f.signal_term();
    let signalled = Instant::now();
    std::thread::sleep(Duration::from_millis(30));
    open(&gate);
    let status = f
        .wait_exit(Duration::from_secs(10))
        .expect("the function exits after SIGTERM");
    assert!(status.success(), "exit 0, not killed by the signal: {status:?}");
    // INFO only once the exporter has the collector's answer: the process outlived the signal until
    // the batch it still held at the signal was posted.
    let line = line_with_message(&f, "shutting down: no span batch still waiting")
        .unwrap_or_else(|| panic!("no shutdown line: {:?}", f.stdout_lines()));
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["budget_ms"], 400);
    let posts = received.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].answered > signalled,
        "the batch was still held at the signal, and the process outlived it"
    );
    let all = spans(&[ExportTraceServiceRequest::decode(posts[0].body.as_slice()).unwrap()]);
    assert!(
        all.iter().any(|(_, _, sp)| sp.name == "price_card"),
        "the invocation's spans"
    );
}

/// A collector that never answers holds the shutdown no longer than `SHUTDOWN_FLUSH`; the loss is
/// logged. Turned off, the function registers no extension, and `SIGTERM` ends it at once.
#[test]
fn a_silent_collector_holds_the_shutdown_only_so_long() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (base, _received, gate) = gated_collector();
    let (mut f, _) = started_and_invoked(&daemon, &base, "c-12");
    let sent = Instant::now();
    let status = f.terminate(Duration::from_secs(10)).expect("exits");
    let took = sent.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took >= telemetry::lambda::SHUTDOWN_FLUSH && took < Duration::from_secs(5),
        "{took:?}"
    );
    let line = line_with_message(&f, "shutting down: span batches still waiting are lost")
        .unwrap_or_else(|| panic!("no shutdown line: {:?}", f.stdout_lines()));
    assert_eq!(line["level"], "WARN");

    let mut off = start(
        &daemon,
        &base,
        &[
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("TELEMETRY_SHUTDOWN_FLUSH", "false"),
        ],
    );
    let inv = off.invoke(r#"{"card_id": "c-13"}"#);
    assert!(matches!(inv.outcome, Outcome::Response(_)), "{inv:?}");
    assert!(
        off.calls().iter().all(|(_, c)| !c.starts_with("register ")),
        "{:?}",
        off.calls()
    );
    let status = off.terminate(Duration::from_secs(10)).expect("exits");
    assert!(
        !status.success(),
        "the default action: killed by SIGTERM ({status:?})"
    );
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
}
