//! End to end: the `hello` example binary runs under a Lambda Runtime-API emulator written here, with a
//! local UDP socket as the X-Ray daemon. Success, error and panic invocations; every stdout line and EMF
//! document is parsed and checked, and the subsegments must be parented to Lambda's segment.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const PARENT: &str = "53995c3f42cd8ad8";

struct Invocation {
    id: String,
    payload: Value,
    trace: String,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Invocation>,
    results: Vec<(String, String, Value)>, // (request id, "response" | "error", body)
    init_error: Option<String>,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

fn read_request(r: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        if k.eq_ignore_ascii_case("content-length") {
            len = v.trim().parse().ok()?;
        }
        if k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(len, 0);
        r.read_exact(&mut body).ok()?;
    }
    Some((method, path, body))
}

fn serve(stream: TcpStream, state: Shared) {
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut r) {
        let (lock, cv) = &*state;
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let inv = {
                let mut s = lock.lock().unwrap();
                loop {
                    if let Some(inv) = s.queue.pop_front() {
                        break inv;
                    }
                    s = cv.wait(s).unwrap();
                }
            };
            let body = inv.payload.to_string();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:hello\r\n\
                 Lambda-Runtime-Trace-Id: {}\r\nContent-Length: {}\r\n\r\n",
                inv.id,
                inv.trace,
                body.len()
            );
            w.write_all(head.as_bytes()).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        } else if method == "POST" {
            let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
            let mut s = lock.lock().unwrap();
            let parsed = serde_json::from_slice(&body).unwrap_or(Value::Null);
            match segs.as_slice() {
                [_, "runtime", "invocation", id, kind] => {
                    s.results.push(((*id).to_owned(), (*kind).to_owned(), parsed))
                }
                [_, "runtime", "init", "error"] => {
                    s.init_error = Some(String::from_utf8_lossy(&body).into_owned())
                }
                _ => {}
            }
            cv.notify_all();
            w.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        } else {
            w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        }
    }
}

/// Builds the example (cargo does not build examples for `cargo test --test e2e`) and returns its path.
fn example_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "telemetry", "--example", "hello"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "building the hello example failed");
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    dir.join("examples")
        .join(format!("hello{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn hello_function_under_runtime_api_emulator() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let api = listener.local_addr().unwrap();
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let state: Shared = Arc::default();
    let trace = |sampled: u8| format!("Root={ROOT};Parent={PARENT};Sampled={sampled};Lineage=16f3a795:0");
    {
        let mut s = state.0.lock().unwrap();
        s.queue.push_back(Invocation {
            id: "req-ok".into(),
            payload: json!({"card_id": "c-1", "requestContext": {"requestId": "api-ok"}}),
            trace: trace(1),
        });
        s.queue.push_back(Invocation {
            id: "req-err".into(),
            payload: json!({"card_id": "c-2", "mode": "error"}),
            trace: trace(1),
        });
        s.queue.push_back(Invocation {
            id: "req-panic".into(),
            payload: json!({"card_id": "c-3", "mode": "panic"}),
            trace: trace(0),
        });
    }
    let st = Arc::clone(&state);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let st = Arc::clone(&st);
            std::thread::spawn(move || serve(stream, st));
        }
    });

    let mut child = Command::new(example_binary())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "hello")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/hello")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
        .env("POWERTOOLS_SERVICE_NAME", "hello")
        .env("POWERTOOLS_METRICS_NAMESPACE", "CollectIQ")
        .env(
            "AWS_XRAY_DAEMON_ADDRESS",
            daemon.local_addr().unwrap().to_string(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });

    let deadline = Instant::now() + Duration::from_secs(30);
    {
        let (lock, cv) = &*state;
        let mut s = lock.lock().unwrap();
        while s.results.len() < 3 && s.init_error.is_none() && Instant::now() < deadline {
            s = cv.wait_timeout(s, Duration::from_millis(200)).unwrap().0;
        }
        assert!(s.init_error.is_none(), "init error: {:?}", s.init_error);
        assert_eq!(
            s.results.len(),
            3,
            "results: {:?}; stdout: {:?}",
            s.results,
            lines.lock().unwrap()
        );
    }
    let mut datagrams = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while let Ok(n) = daemon.recv(&mut buf) {
        datagrams.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().ok();
    child.wait().ok();

    // Responses: success body, error and panic reported as errors.
    let results = state.0.lock().unwrap().results.clone();
    let by_id = |id: &str| results.iter().find(|r| r.0 == id).unwrap().clone();
    assert_eq!(by_id("req-ok").1, "response");
    assert_eq!(by_id("req-ok").2["value_usd"], "120.00");
    assert_eq!(by_id("req-err").1, "error");
    assert_eq!(by_id("req-panic").1, "error");

    // Every stdout line is JSON: either a log line or an EMF document.
    let lines = lines.lock().unwrap().clone();
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
    }
    let pricing: Vec<&&Value> = logs.iter().filter(|l| l["message"] == "pricing card").collect();
    assert_eq!(pricing.len(), 3);
    assert_eq!(pricing[0]["function_request_id"], "req-ok");
    assert_eq!(pricing[0]["correlation_id"], "api-ok");
    assert_eq!(pricing[0]["cold_start"], true);
    assert_eq!(pricing[0]["xray_trace_id"], ROOT);
    assert_eq!(pricing[0]["card_id"], "c-1");
    assert_eq!(pricing[0]["user_email"], "[REDACTED]");
    assert_eq!(pricing[1]["cold_start"], false);
    let failed = logs.iter().find(|l| l["message"] == "handler failed").unwrap();
    assert_eq!(failed["function_request_id"], "req-err");
    let panicked = logs.iter().find(|l| l["message"] == "handler panicked").unwrap();
    assert_eq!(panicked["panic"], "corrupt card image");
    assert_eq!(panicked["function_request_id"], "req-panic");

    // EMF: one cold start, and one CardsValued document per invocation carrying its request id.
    assert_eq!(emf.iter().filter(|d| d.get("ColdStart").is_some()).count(), 1);
    for id in ["req-ok", "req-err", "req-panic"] {
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
