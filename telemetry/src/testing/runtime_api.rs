//! A Lambda Runtime-API emulator for running real function binaries in tests.
//!
//! [`FunctionProcess::start`] binds an HTTP server on a free loopback port, starts the binary with
//! `AWS_LAMBDA_RUNTIME_API` pointing at it (plus the usual `AWS_LAMBDA_*` variables and whatever the
//! test adds), and captures every stdout line. [`FunctionProcess::invoke`] queues an event, serves it on
//! `GET /2018-06-01/runtime/invocation/next` with the `Lambda-Runtime-*` headers, and waits for the
//! function's `POST …/{id}/response` or `…/{id}/error`. `POST /runtime/init/error` is recorded too (a
//! function that fails its init), and the Extensions API's `register` and `event/next` are served (an
//! internal extension that subscribed to no event: its `next` stays open). [`FunctionProcess::signal_term`]
//! sends `SIGTERM`, as Lambda does at shutdown. The child is killed on drop, also when the test panics.
//!
//! ```no_run
//! use telemetry::testing::runtime_api::{FunctionProcess, Outcome};
//! # let binary = std::path::PathBuf::from("target/debug/examples/hello");
//! let f = FunctionProcess::start(&binary, "hello", &[]).unwrap();
//! let inv = f.invoke(r#"{"rawPath": "/healthz"}"#);
//! assert!(matches!(inv.outcome, Outcome::Response(_)));
//! let lines = f.lines_for(&inv.request_id);   // its log lines and EMF documents (raw JSON text)
//! # let _ = lines;
//! ```
//!
//! Payloads and answers are JSON text, so the harness has no dependencies; tests parse them.
//! [`cargo_binary`] builds the binary under test (`cargo build -q ARGS`, once per process and
//! arguments). It is the one harness of the workspace: telemetry's e2e test runs its example through it,
//! and the `collectiq-tests` crate re-exports it for the backend's functions.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long [`FunctionProcess::invoke`] waits for an answer.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// The X-Ray trace header every invocation carries (sampled; no daemon listens, so nothing is lost
/// but the datagrams).
pub const TRACE_HEADER: &str = "Root=1-6740f0a1-0b1c2d3e4f5061728394a5b6;Parent=53995c3f42cd8ad8;Sampled=0";

/// What the function answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST …/response` with this body (JSON text).
    Response(String),
    /// `POST …/error` with this body (JSON text with `errorType`, `errorMessage`).
    Error(String),
}

/// One finished invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The `Lambda-Runtime-Aws-Request-Id` it was served with.
    pub request_id: String,
    /// The answer.
    pub outcome: Outcome,
}

#[derive(Debug, Default)]
struct State {
    /// Request id, payload and the `Lambda-Runtime-Trace-Id` it is served with.
    queue: VecDeque<(String, String, String)>,
    results: HashMap<String, Outcome>,
    init_error: Option<String>,
    polls: usize,
    /// Extensions registered.
    extensions: usize,
    /// When each Runtime API call arrived: `next`, `response <id>`, `error <id>`.
    calls: Vec<(Instant, String)>,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    s.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A function binary running against the emulator.
#[derive(Debug)]
pub struct FunctionProcess {
    addr: SocketAddr,
    function_name: String,
    state: Shared,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    child: Child,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl FunctionProcess {
    /// Starts `binary` as function `function_name` with `env` on top of the Lambda variables
    /// (`AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME`, `_MEMORY_SIZE`, `_VERSION`, log group and
    /// stream, `POWERTOOLS_SERVICE_NAME` = the function name, `POWERTOOLS_METRICS_NAMESPACE=CollectIQ`).
    /// The environment is otherwise cleared (only `PATH` is kept), so host AWS settings never leak in.
    ///
    /// # Errors
    /// When the port cannot be bound or the binary cannot be spawned.
    pub fn start(binary: &Path, function_name: &str, env: &[(&str, &str)]) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state: Shared = Arc::default();
        let st = Arc::clone(&state);
        let name = function_name.to_owned();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let st = Arc::clone(&st);
                let name = name.clone();
                std::thread::spawn(move || serve(stream, &st, &name));
            }
        });
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{function_name}"),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/22/[$LATEST]0123456789abcdef",
            )
            .env("POWERTOOLS_SERVICE_NAME", function_name)
            .env("POWERTOOLS_METRICS_NAMESPACE", "CollectIQ")
            .env("POWERTOOLS_TRACE_DISABLED", "true");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            collect_lines(out, Arc::clone(&stdout));
        }
        if let Some(err) = child.stderr.take() {
            collect_lines(err, Arc::clone(&stderr));
        }
        Ok(Self {
            addr,
            function_name: function_name.to_owned(),
            state,
            stdout,
            stderr,
            child,
        })
    }

    /// The emulator's `host:port`.
    #[must_use]
    pub fn runtime_api(&self) -> SocketAddr {
        self.addr
    }

    /// Invokes the function with the JSON text `payload` and waits (up to [`INVOKE_TIMEOUT`]) for its answer.
    ///
    /// # Panics
    /// On timeout, or when the function reported an init error or exited: the message says which and
    /// includes its stdout.
    #[must_use]
    pub fn invoke(&self, payload: impl Into<String>) -> Invocation {
        self.invoke_traced(payload, TRACE_HEADER)
    }

    /// Like [`invoke`](Self::invoke), served with `trace_header` as `Lambda-Runtime-Trace-Id` (e.g. a
    /// sampled one, to see the function's X-Ray documents at `AWS_XRAY_DAEMON_ADDRESS`).
    ///
    /// # Panics
    /// As [`invoke`](Self::invoke).
    #[must_use]
    pub fn invoke_traced(&self, payload: impl Into<String>, trace_header: &str) -> Invocation {
        let id = format!(
            "{:08x}-e2e0-4000-8000-{:012x}",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        );
        lock(&self.state)
            .queue
            .push_back((id.clone(), payload.into(), trace_header.to_owned()));
        self.state.1.notify_all();
        let deadline = Instant::now() + INVOKE_TIMEOUT;
        let mut s = lock(&self.state);
        loop {
            if let Some(outcome) = s.results.remove(&id) {
                return Invocation {
                    request_id: id,
                    outcome,
                };
            }
            if let Some(e) = &s.init_error {
                panic!(
                    "{}: init error {e}\nstdout:\n{}",
                    self.function_name,
                    self.stdout_lines().join("\n")
                );
            }
            let now = Instant::now();
            if now >= deadline {
                drop(s);
                panic!(
                    "{}: no answer to {id} within {INVOKE_TIMEOUT:?}\nstdout:\n{}",
                    self.function_name,
                    self.stdout_lines().join("\n")
                );
            }
            let wait = (deadline - now).min(Duration::from_millis(200));
            s = self
                .state
                .1
                .wait_timeout(s, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// The init error the function posted, if any (waits up to `wait` for one).
    #[must_use]
    pub fn init_error(&self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(e) = lock(&self.state).init_error.clone() {
                return Some(e);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every stdout line so far.
    #[must_use]
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The stdout lines of one invocation: those carrying `"function_request_id":"{request_id}"`
    /// (its log lines and its EMF documents). Waits up to two seconds for the stdout reader to catch
    /// up with the invocation's EMF document (written last, before the response is posted).
    #[must_use]
    pub fn lines_for(&self, request_id: &str) -> Vec<String> {
        let needle = format!("\"function_request_id\":\"{request_id}\"");
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let lines: Vec<String> = self
                .stdout_lines()
                .into_iter()
                .filter(|l| l.contains(&needle))
                .collect();
            if lines.iter().any(|l| l.contains("\"_aws\"")) || Instant::now() >= deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Every stderr line so far (where a `main` that fails before the runtime starts reports why).
    #[must_use]
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits up to `wait` for the process to exit; its status if it did.
    pub fn wait_exit(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many times the function has asked for its next event.
    #[must_use]
    pub fn polls(&self) -> usize {
        lock(&self.state).polls
    }

    /// Sends the process `SIGTERM` — what Lambda does before it shuts down an environment with an
    /// extension registered; returns once it is sent.
    ///
    /// # Panics
    /// When `kill -TERM` cannot be run (no `kill` on `PATH`) or fails.
    pub fn signal_term(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        assert!(
            sent.as_ref().is_ok_and(std::process::ExitStatus::success),
            "kill -TERM {}: {sent:?}",
            self.child.id()
        );
    }

    /// [`signal_term`](Self::signal_term), then waits up to `wait` for the process to exit; its
    /// status if it did.
    ///
    /// # Panics
    /// As [`signal_term`](Self::signal_term).
    pub fn terminate(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        self.signal_term();
        self.wait_exit(wait)
    }

    /// Every Runtime API call so far with the moment it arrived, in order: `next` (the function asks
    /// for its next event — where Lambda may freeze it), `response <id>`, `error <id>`; and the
    /// Extensions API's `register <Lambda-Extension-Name> <body>` and `extension next <identifier>`.
    #[must_use]
    pub fn calls(&self) -> Vec<(Instant, String)> {
        lock(&self.state).calls.clone()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_lines<R: Read + Send + 'static>(from: R, sink: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        }
    });
}

/// One HTTP/1.1 request: method, path, headers (names lower-cased), body.
type HttpRequest = (String, String, Vec<(String, String)>, Vec<u8>);

/// Reads one HTTP/1.1 request (Content-Length or chunked body).
fn read_request(r: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut len = 0usize;
    let mut chunked = false;
    let mut headers = Vec::new();
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
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
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
    Some((method, path, headers, body))
}

fn serve(stream: TcpStream, state: &Shared, function_name: &str) {
    let Ok(mut w) = stream.try_clone() else { return };
    let mut r = BufReader::new(stream);
    while let Some((method, path, headers, body)) = read_request(&mut r) {
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str())
        };
        let ok = if method == "POST" && path.ends_with("/extension/register") {
            // The Extensions API: an extension registers during Init, for the events in its body.
            let id = {
                let mut s = lock(state);
                s.extensions += 1;
                let id = format!("ext-{}", s.extensions);
                s.calls.push((
                    Instant::now(),
                    format!(
                        "register {} {}",
                        header("lambda-extension-name"),
                        String::from_utf8_lossy(&body)
                    ),
                ));
                id
            };
            state.1.notify_all();
            let answer = format!(
                "{{\"functionName\":\"{function_name}\",\"functionVersion\":\"$LATEST\",\"handler\":\"bootstrap\"}}"
            );
            w.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Extension-Identifier: {id}\r\n\
                     Content-Length: {}\r\n\r\n{answer}",
                    answer.len()
                )
                .as_bytes(),
            )
        } else if method == "GET" && path.ends_with("/extension/event/next") {
            // No INVOKE or SHUTDOWN event is ever sent: the call stays open, as Lambda holds an
            // internal extension's that subscribed to none (Lambda sends SIGTERM to shut down).
            let mut s = lock(state);
            s.calls.push((
                Instant::now(),
                format!("extension next {}", header("lambda-extension-identifier")),
            ));
            state.1.notify_all();
            loop {
                s = state.1.wait(s).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        } else if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let (id, payload, trace_header) = {
                let mut s = lock(state);
                s.polls += 1;
                s.calls.push((Instant::now(), "next".to_owned()));
                state.1.notify_all();
                loop {
                    if let Some(next) = s.queue.pop_front() {
                        break next;
                    }
                    s = state.1.wait(s).unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            let body = payload;
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
                + 30_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:{function_name}\r\n\
                 Lambda-Runtime-Trace-Id: {trace_header}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            w.write_all(head.as_bytes())
                .and_then(|()| w.write_all(body.as_bytes()))
        } else if method == "POST" {
            let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
            let parsed = String::from_utf8_lossy(&body).into_owned();
            {
                let mut s = lock(state);
                match segs.as_slice() {
                    [_, "runtime", "invocation", id, "response"] => {
                        s.calls.push((Instant::now(), format!("response {id}")));
                        s.results.insert((*id).to_owned(), Outcome::Response(parsed));
                    }
                    [_, "runtime", "invocation", id, "error"] => {
                        s.calls.push((Instant::now(), format!("error {id}")));
                        s.results.insert((*id).to_owned(), Outcome::Error(parsed));
                    }
                    [_, "runtime", "init", "error"] => s.init_error = Some(parsed),
                    _ => {}
                }
            }
            state.1.notify_all();
            w.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")
        } else {
            w.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        };
        if ok.is_err() {
            return;
        }
    }
}

/// Runs `cargo build -q ARGS` in `dir` once per test process and argument list (cargo is a no-op when
/// the binary is fresh; same profile and target dir as the running test) and returns
/// `target/<profile>/<relative>`, e.g. `cargo_binary(dir, &["-p", "telemetry", "--example", "hello"],
/// "examples/hello")`. One build at a time: a debug function binary is a few hundred MB.
///
/// # Panics
/// When the build fails.
#[must_use]
pub fn cargo_binary(dir: &Path, args: &[&str], relative: &str) -> PathBuf {
    static BUILT: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());
    let key: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !built.contains(&key) {
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .arg("build")
            .arg("-q")
            .args(args)
            .current_dir(dir)
            .status();
        assert!(
            status.as_ref().is_ok_and(std::process::ExitStatus::success),
            "cargo build {} failed: {status:?}",
            args.join(" ")
        );
        built.push(key);
    }
    // target/<profile>/deps/<test-binary> → target/<profile>
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .unwrap_or_default()
        .join(format!("{relative}{}", std::env::consts::EXE_SUFFIX))
}
