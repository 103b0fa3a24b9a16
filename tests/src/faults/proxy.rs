//! The fault-injecting loopback proxy: an HTTP/1.1 server on `127.0.0.1:<free port>` that reads each
//! request, identifies its operation ([`super::protocol::identify`]), asks the [`FaultPlan`] whether to
//! fault it, and either forwards it to the upstream (the emulator, or a webhook sink) or injects the fault.
//! A member account can have a plan of its own ([`FaultProxy::set_account_plan`]): the calls made with its
//! assumed-role sessions are decided by that plan ([`super::accounts`]). Everything it did is counted per
//! operation ([`FaultCounts`]), in all and per member account.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::accounts::Sessions;
use super::plan::{FaultKind, FaultPlan};
use super::protocol::{ErrorAnswer, error_answer, header_value, identify};

/// Largest request the proxy accepts (CloudWatch's PutMetricData allows 1 MB; gzip makes it smaller).
const MAX_REQUEST: usize = 8 * 1024 * 1024;

/// What happened to one operation's calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationCounts {
    /// Requests seen.
    pub calls: u64,
    /// Requests forwarded to the upstream (including latency and lost-after-apply faults).
    pub forwarded: u64,
    /// Faults injected, by kind.
    pub injected: BTreeMap<FaultKind, u64>,
}

impl OperationCounts {
    /// Every fault injected on this operation.
    #[must_use]
    pub fn faults(&self) -> u64 {
        self.injected.values().sum()
    }
}

/// Counts per operation, plus the totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// By operation name.
    pub operations: BTreeMap<String, OperationCounts>,
}

impl FaultCounts {
    /// All requests seen.
    #[must_use]
    pub fn calls(&self) -> u64 {
        self.operations.values().map(|o| o.calls).sum()
    }
    /// All faults injected.
    #[must_use]
    pub fn faults(&self) -> u64 {
        self.operations.values().map(OperationCounts::faults).sum()
    }
    /// Faults of one kind.
    #[must_use]
    pub fn of_kind(&self, kind: FaultKind) -> u64 {
        self.operations
            .values()
            .map(|o| o.injected.get(&kind).copied().unwrap_or(0))
            .sum()
    }
    /// Requests of one operation seen.
    #[must_use]
    pub fn calls_of(&self, operation: &str) -> u64 {
        self.operations.get(operation).map_or(0, |o| o.calls)
    }
    /// Adds `other` into `self` (to total several runs).
    pub fn add(&mut self, other: &Self) {
        for (op, c) in &other.operations {
            let mine = self.operations.entry(op.clone()).or_default();
            mine.calls += c.calls;
            mine.forwarded += c.forwarded;
            for (k, n) in &c.injected {
                *mine.injected.entry(*k).or_default() += n;
            }
        }
    }
    /// One line: `412 calls, 83 faults (throttle 20, 500 11, …); faulted ops: PutMetricAlarm 9, …`.
    #[must_use]
    pub fn summary(&self) -> String {
        let kinds: Vec<String> = FaultKind::ALL
            .iter()
            .filter(|k| self.of_kind(**k) > 0)
            .map(|k| format!("{k} {}", self.of_kind(*k)))
            .collect();
        let ops: Vec<String> = self
            .operations
            .iter()
            .filter(|(_, c)| c.faults() > 0)
            .map(|(op, c)| format!("{op} {}/{}", c.faults(), c.calls))
            .collect();
        format!(
            "{} calls, {} faults ({}); faulted/seen: {}",
            self.calls(),
            self.faults(),
            kinds.join(", "),
            ops.join(", ")
        )
    }
}

/// One plan's decision sequence: calls seen and consecutive faults, per operation.
#[derive(Debug)]
struct Decider {
    plan: FaultPlan,
    /// Calls seen per operation since the plan was set (the decision index).
    index: BTreeMap<String, u64>,
    /// Consecutive faults per operation.
    consecutive: BTreeMap<String, u32>,
}

impl Decider {
    fn new(plan: FaultPlan) -> Self {
        Self {
            plan,
            index: BTreeMap::new(),
            consecutive: BTreeMap::new(),
        }
    }

    /// The fault of the next call of `operation`, after the consecutive-fault limit.
    fn decide(&mut self, operation: &str) -> Option<FaultKind> {
        let index = self.index.entry(operation.to_owned()).or_default();
        let i = *index;
        *index += 1;
        let mut kind = self.plan.decide(operation, i);
        let streak = self.consecutive.entry(operation.to_owned()).or_default();
        if kind.is_some_and(FaultKind::fails_the_attempt) {
            if self.plan.max_consecutive.is_some_and(|max| *streak >= max) {
                kind = None;
                *streak = 0;
            } else {
                *streak += 1;
            }
        } else {
            *streak = 0;
        }
        kind
    }
}

#[derive(Debug)]
struct State {
    /// The proxy-wide plan.
    plan: Decider,
    /// Plans of single member accounts, which replace the proxy-wide one for their calls.
    account_plans: BTreeMap<String, Decider>,
    /// Which session acts in which account.
    sessions: Sessions,
    counts: FaultCounts,
    /// The same counts, per member account the proxy recognised.
    account_counts: BTreeMap<String, FaultCounts>,
}

/// What to do with one call, and the bounds of the plan that decided it.
struct Decision {
    kind: Option<FaultKind>,
    latency: std::time::Duration,
    hang_limit: std::time::Duration,
}

impl State {
    /// Counts the call (made in `account`, when known) and decides its fault.
    fn decide(&mut self, account: Option<&str>, operation: &str) -> Decision {
        let decider = match account.and_then(|a| self.account_plans.get_mut(a)) {
            Some(d) => d,
            None => &mut self.plan,
        };
        let kind = decider.decide(operation);
        let (latency, hang_limit) = (decider.plan.latency, decider.plan.hang_limit);
        let count = |counts: &mut FaultCounts| {
            let c = counts.operations.entry(operation.to_owned()).or_default();
            c.calls += 1;
            if let Some(k) = kind {
                *c.injected.entry(k).or_default() += 1;
            }
            if kind.is_none_or(FaultKind::applies_the_call) {
                c.forwarded += 1;
            }
        };
        count(&mut self.counts);
        if let Some(a) = account {
            count(self.account_counts.entry(a.to_owned()).or_default());
        }
        Decision {
            kind,
            latency,
            hang_limit,
        }
    }
}

/// A running fault proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    endpoint: String,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum FaultProxyError {
    /// Binding the loopback port failed.
    #[error("cannot start the fault proxy: {0}")]
    Bind(#[source] std::io::Error),
    /// The upstream URL is not `http://host:port`.
    #[error("the fault proxy's upstream must be http://host:port, got {0:?}")]
    Upstream(String),
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream` (`http://127.0.0.1:PORT`).
    ///
    /// # Errors
    /// [`FaultProxyError`] when the port cannot be bound or the upstream is not plain `http://host:port`.
    pub async fn start(upstream: &str, plan: FaultPlan) -> Result<Self, FaultProxyError> {
        let authority = upstream
            .strip_prefix("http://")
            .map(|a| a.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| FaultProxyError::Upstream(upstream.to_owned()))?
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(FaultProxyError::Bind)?;
        let port = listener.local_addr().map_err(FaultProxyError::Bind)?.port();
        let state = Arc::new(Mutex::new(State {
            plan: Decider::new(plan),
            account_plans: BTreeMap::new(),
            sessions: Sessions::default(),
            counts: FaultCounts::default(),
            account_counts: BTreeMap::new(),
        }));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                let upstream = authority.clone();
                tokio::spawn(async move {
                    // A broken client connection ends that connection only.
                    let _ = serve(stream, &upstream, &state).await;
                });
            }
        });
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            state,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`: point the SDK (or the webhook URL) here.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Replaces the plan; the decision sequence and the consecutive-fault streaks start over (the counts
    /// are kept). `FaultPlan::none()` turns the faults off.
    pub fn set_plan(&self, plan: FaultPlan) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).plan = Decider::new(plan);
    }

    /// Faults the calls made in member account `account` by `plan` instead of the proxy-wide one: every
    /// call signed with a session `sts:AssumeRole` opened into one of its roles, and those `AssumeRole`
    /// calls themselves (spare them with [`FaultPlan::except`]`(["AssumeRole"])` to fault only what the
    /// member does once its role is assumed). The proxy learns the sessions from the `AssumeRole` answers
    /// it forwards (see [`super::accounts`]). Setting a plan again starts its decisions over.
    pub fn set_account_plan(&self, account: &str, plan: FaultPlan) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .account_plans
            .insert(account.to_owned(), Decider::new(plan));
    }

    /// What the proxy saw and injected so far in member account `account` (empty when it saw no call
    /// made there).
    #[must_use]
    pub fn account_counts(&self, account: &str) -> FaultCounts {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .account_counts
            .get(account)
            .cloned()
            .unwrap_or_default()
    }

    /// What the proxy saw and injected so far.
    #[must_use]
    pub fn counts(&self) -> FaultCounts {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counts
            .clone()
    }

    /// Returns the counts so far and starts new ones (the per-account counts start over too).
    pub fn take_counts(&self) -> FaultCounts {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.account_counts.clear();
        std::mem::take(&mut s.counts)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One parsed request.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

/// Serves one client connection: requests in order (HTTP/1.1 keep-alive), until the client closes or a
/// fault ends the connection.
async fn serve(mut client: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    let mut buffered = Vec::new();
    let mut upstream_conn: Option<TcpStream> = None;
    loop {
        let Some(request) = read_request(&mut client, &mut buffered).await? else {
            return Ok(());
        };
        let call = identify(&request.method, &request.path, &request.headers, &request.body);
        let (account, decision) = {
            let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
            let account = s.sessions.account_of(&call, &request.headers, &request.body);
            let decision = s.decide(account.as_deref(), &call.operation);
            (account, decision)
        };
        let Decision {
            kind,
            latency,
            hang_limit,
        } = decision;
        let forwarded = |answer: &[u8]| {
            state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sessions
                .learn(&call, account.as_deref(), answer);
        };
        match kind {
            None => {
                let answer = forward(&mut upstream_conn, upstream, &request).await?;
                forwarded(&answer);
                client.write_all(&answer).await?;
            }
            Some(FaultKind::Latency) => {
                tokio::time::sleep(latency).await;
                let answer = forward(&mut upstream_conn, upstream, &request).await?;
                forwarded(&answer);
                client.write_all(&answer).await?;
            }
            Some(
                k @ (FaultKind::Throttle
                | FaultKind::Deny
                | FaultKind::InternalError
                | FaultKind::Unavailable),
            ) => {
                let answer = error_answer(&call, k).map_or_else(Vec::new, |a| render(&a));
                client.write_all(&answer).await?;
            }
            Some(FaultKind::Hang) => {
                // Hold the connection, answer nothing; the client's timeout ends it (a read of 0 bytes).
                let mut sink = [0u8; 1024];
                let _ = tokio::time::timeout(hang_limit, async {
                    while client.read(&mut sink).await.is_ok_and(|n| n > 0) {}
                })
                .await;
                return reset(client);
            }
            Some(FaultKind::Reset) => return reset(client),
            Some(FaultKind::LostAfterApply) => {
                let _applied = forward(&mut upstream_conn, upstream, &request).await?;
                return reset(client);
            }
        }
        if request.close {
            return Ok(());
        }
    }
}

/// Closes `stream` with a TCP RST (linger 0) instead of a FIN.
fn reset(stream: TcpStream) -> std::io::Result<()> {
    stream.set_zero_linger()?;
    drop(stream);
    Ok(())
}

/// Reads one request (head + `Content-Length` or chunked body) from `stream`, keeping what follows in
/// `buffered`. `None` when the client closed the connection between requests.
async fn read_request(stream: &mut TcpStream, buffered: &mut Vec<u8>) -> std::io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(i) = find(buffered, b"\r\n\r\n") {
            break i + 4;
        }
        if !fill(stream, buffered).await? {
            return if buffered.is_empty() {
                Ok(None)
            } else {
                Err(invalid("connection closed inside a request head"))
            };
        }
    };
    let mut header_slots = [httparse::EMPTY_HEADER; 96];
    let mut parsed = httparse::Request::new(&mut header_slots);
    parsed
        .parse(&buffered[..head_end])
        .map_err(|e| invalid(&format!("bad request head: {e}")))?;
    let method = parsed.method.unwrap_or("GET").to_owned();
    let path = parsed.path.unwrap_or("/").to_owned();
    let headers = owned_headers(parsed.headers);
    let header = |name: &str| header_value(&headers, name);
    let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    let chunked = header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    buffered.drain(..head_end);
    let body = if chunked {
        read_chunked(stream, buffered).await?
    } else {
        let len: usize = header("content-length")
            .map(|v| v.parse().map_err(|_| invalid("bad Content-Length")))
            .transpose()?
            .unwrap_or(0);
        if len > MAX_REQUEST {
            return Err(invalid("request too large"));
        }
        while buffered.len() < len {
            if !fill(stream, buffered).await? {
                return Err(invalid("connection closed inside a request body"));
            }
        }
        buffered.drain(..len).collect()
    };
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
        close,
    }))
}

async fn read_chunked(stream: &mut TcpStream, buffered: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = find(buffered, b"\r\n") {
                break i;
            }
            if !fill(stream, buffered).await? {
                return Err(invalid("connection closed inside a chunk"));
            }
        };
        let size_text = String::from_utf8_lossy(&buffered[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid("bad chunk size"))?;
        buffered.drain(..line_end + 2);
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            loop {
                if let Some(i) = find(buffered, b"\r\n") {
                    let empty = i == 0;
                    buffered.drain(..i + 2);
                    if empty {
                        return Ok(body);
                    }
                } else if !fill(stream, buffered).await? {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_REQUEST {
            return Err(invalid("request too large"));
        }
        while buffered.len() < size + 2 {
            if !fill(stream, buffered).await? {
                return Err(invalid("connection closed inside a chunk"));
            }
        }
        body.extend(buffered.drain(..size));
        buffered.drain(..2);
    }
}

/// Sends `request` to the upstream over a kept-alive connection (re-opened once if the kept one went
/// stale) and returns the raw response, re-framed with `Content-Length`.
async fn forward(
    conn: &mut Option<TcpStream>,
    upstream: &str,
    request: &Request,
) -> std::io::Result<Vec<u8>> {
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.path);
    for (k, v) in &request.headers {
        if matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "host"
        ) {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "host: {upstream}\r\ncontent-length: {}\r\n\r\n",
        request.body.len()
    ));
    let mut wire = head.into_bytes();
    wire.extend_from_slice(&request.body);
    for attempt in 0..2 {
        if conn.is_none() {
            *conn = Some(TcpStream::connect(upstream).await?);
        }
        let Some(stream) = conn.as_mut() else { continue };
        let sent = stream.write_all(&wire).await;
        let answer = match sent {
            Ok(()) => read_response(stream, request.method == "HEAD").await,
            Err(e) => Err(e),
        };
        match answer {
            Ok((bytes, keep)) => {
                if !keep {
                    *conn = None;
                }
                return Ok(bytes);
            }
            // A kept-alive connection the upstream closed: once more on a fresh one.
            Err(e) if attempt == 0 => {
                *conn = None;
                let _ = e;
            }
            Err(e) => return Err(e),
        }
    }
    Err(invalid("upstream unreachable"))
}

/// Reads one HTTP/1.1 response; returns it re-rendered with `Content-Length` and whether the upstream
/// connection can be reused.
async fn read_response(stream: &mut TcpStream, head_only: bool) -> std::io::Result<(Vec<u8>, bool)> {
    let mut buffered = Vec::new();
    let head_end = loop {
        if let Some(i) = find(&buffered, b"\r\n\r\n") {
            break i + 4;
        }
        if !fill(stream, &mut buffered).await? {
            return Err(invalid("upstream closed before answering"));
        }
    };
    let mut header_slots = [httparse::EMPTY_HEADER; 96];
    let mut parsed = httparse::Response::new(&mut header_slots);
    parsed
        .parse(&buffered[..head_end])
        .map_err(|e| invalid(&format!("bad upstream response: {e}")))?;
    let status = parsed.code.unwrap_or(502);
    let reason = parsed.reason.unwrap_or("").to_owned();
    let headers = owned_headers(parsed.headers);
    let header = |name: &str| header_value(&headers, name);
    let mut keep = !header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    buffered.drain(..head_end);
    let body = if head_only || status == 204 || status == 304 {
        Vec::new()
    } else if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        read_chunked(stream, &mut buffered).await?
    } else if let Some(len) = header("content-length") {
        let len: usize = len.parse().map_err(|_| invalid("bad upstream Content-Length"))?;
        while buffered.len() < len {
            if !fill(stream, &mut buffered).await? {
                return Err(invalid("upstream closed inside a body"));
            }
        }
        buffered.truncate(len);
        buffered
    } else {
        // Delimited by close.
        keep = false;
        while fill(stream, &mut buffered).await? {}
        buffered
    };
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in &headers {
        if matches!(k.as_str(), "content-length" | "transfer-encoding" | "connection") {
            continue;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Ok((bytes, keep))
}

fn render(answer: &ErrorAnswer) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", answer.body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&answer.body);
    bytes
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Reads more bytes into `buf`; `false` at end of stream.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// A parsed head's headers as owned `(lower-case name, trimmed value)` pairs.
fn owned_headers(parsed: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    parsed
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).trim().to_owned(),
            )
        })
        .collect()
}
