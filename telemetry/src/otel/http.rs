//! OTLP/HTTP protobuf span export to a collector or to X-Ray's OTLP endpoint, from a background thread.
//!
//! Spec: <https://opentelemetry.io/docs/specs/otlp/#otlphttp> (`POST {endpoint}/v1/traces`,
//! `Content-Type: application/x-protobuf`, an `ExportTraceServiceRequest` body). X-Ray's endpoint
//! `https://xray.{region}.amazonaws.com/v1/traces` takes the same request signed with SigV4 for the
//! service `xray` (<https://docs.aws.amazon.com/xray/latest/devguide/xray-opentelemetry.html>), with
//! the credentials Lambda puts in the environment.
//!
//! The invocation path only pushes the batch onto a bounded queue and wakes the thread, which takes
//! everything waiting, encodes it and posts it (up to [`MAX_SPANS_PER_REQUEST`] spans a request). The
//! wake starts the post before Lambda can freeze the process; it is a system call only when the thread
//! sleeps. A full queue or a dead endpoint loses spans (counted in [`OtlpHttpExporter::dropped`]), never
//! delays a request.
//!
//! Retries follow the OTLP/HTTP spec (<https://opentelemetry.io/docs/specs/otlp/#failures-1>): a
//! `429`, `502`, `503` or `504`, or no answer at all (connection refused, reset, timed out), is tried
//! again after at least the server's `Retry-After` (seconds or an HTTP date) and at least an
//! exponential backoff with jitter ([`FIRST_BACKOFF`] doubling up to [`MAX_BACKOFF`]); any other
//! status is final. A batch's export, its retries included, ends within the timeout
//! (`OTEL_EXPORTER_OTLP_TIMEOUT`): each attempt may take only what is left of it, a wait that would
//! pass it is not started, and the batch is dropped.
//!
//! Lambda freezes the process once the runtime asks for the next event, so a post still in flight
//! would finish only at the next thaw (past its SigV4 date, or never). [`run`](crate::lambda::run)
//! therefore waits, after the response is posted and before that request, for the batches held at
//! that moment ([`SpanSink::flusher`]): the caller already has its answer, and the wait is bounded by
//! the invocation's deadline and the export timeout. While the endpoint fails, nobody waits.

use super::proto::{EncodedResource, TraceRequest};
use crate::xray::SpanSink;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// The service name X-Ray's OTLP endpoint is signed for.
pub const XRAY_SIGNING_SERVICE: &str = "xray";

/// The `User-Agent` of every request: the OTLP exporter spec's "SHOULD emit a User-Agent header to
/// at a minimum identify the exporter, the language of its implementation, and the version".
pub const USER_AGENT: &str = concat!(
    "OTel-OTLP-Exporter-Rust/",
    env!("CARGO_PKG_VERSION"),
    " collectiq-telemetry"
);

/// Where and how to post. Its `Debug` shows header names, never their values (API keys), and hides a
/// URL's userinfo and query.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// The full URL, `…/v1/traces`.
    pub url: String,
    /// Extra headers (`OTEL_EXPORTER_OTLP_HEADERS`).
    pub headers: Vec<(String, String)>,
    /// Per-request timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, default 10 s).
    pub timeout: Duration,
    /// Sign with SigV4 for `xray` in this region.
    pub sigv4_region: Option<String>,
    /// Batches waiting at most (default 64); beyond, new batches are dropped.
    pub queue: usize,
    /// Bodies gzip-compressed, with `Content-Encoding: gzip` (`OTEL_EXPORTER_OTLP_COMPRESSION=gzip`).
    pub gzip: bool,
    /// Certificates trusted for the endpoint in place of the built-in roots, and a client identity
    /// (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `…CLIENT_CERTIFICATE`, `…CLIENT_KEY`).
    pub tls: super::OtlpTls,
}

impl HttpTarget {
    /// A target with the defaults.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
            sigv4_region: None,
            queue: 64,
            gzip: false,
            tls: super::OtlpTls::default(),
        }
    }
}

impl std::fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTarget")
            .field("url", &super::redacted::redacted_url(&self.url))
            .field("headers", &super::redacted::RedactedHeaders(&self.headers))
            .field("timeout", &self.timeout)
            .field("sigv4_region", &self.sigv4_region)
            .field("queue", &self.queue)
            .field("gzip", &self.gzip)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Spans in one POST at most: OpenTelemetry's default `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`. A larger
/// invocation batch still goes whole, alone.
pub const MAX_SPANS_PER_REQUEST: usize = 512;

/// What the invocation threads and the posting thread share, behind one lock.
#[derive(Default)]
struct Queue {
    /// Batches waiting for the thread, oldest first.
    waiting: Vec<Vec<SpanData>>,
    /// Batches accepted so far, and those posted or given up on.
    accepted: u64,
    done: u64,
    /// Callers of `wait_idle` waiting now: only then does the thread signal the condition variable.
    idle_waiters: usize,
    /// The exporter was dropped: the thread posts what is waiting, then ends.
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    idle: Condvar,
    dropped: AtomicU64,
    capacity: usize,
    /// The last batch was given up on (and none has been posted since): flushes do not wait, so a
    /// dead collector does not hold every invocation until its timeout.
    failing: AtomicBool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to `timeout` until the first `ticket` batches accepted are done. The thread takes
    /// batches in the order they came, so they are when `done` reaches `ticket`.
    fn wait_done(&self, ticket: u64, timeout: Duration) -> bool {
        let mut queue = self.lock();
        if queue.done >= ticket {
            return true;
        }
        queue.idle_waiters += 1;
        let (mut queue, _) = self
            .idle
            .wait_timeout_while(queue, timeout, |q| q.done < ticket)
            .unwrap_or_else(PoisonError::into_inner);
        queue.idle_waiters -= 1;
        queue.done >= ticket
    }
}

/// Posts OTLP protobuf batches from a background thread. See the [module docs](self).
pub struct OtlpHttpExporter {
    shared: Arc<Shared>,
    thread: std::thread::Thread,
    /// The export timeout: no batch takes longer, so no flush waits longer.
    timeout: Duration,
}

impl std::fmt::Debug for OtlpHttpExporter {
    /// Counts only: the waiting spans are not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queue = self.shared.lock();
        f.debug_struct("OtlpHttpExporter")
            .field("waiting", &queue.waiting.len())
            .field("accepted", &queue.accepted)
            .field("done", &queue.done)
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpExportError {
    /// The HTTP client could not be built.
    #[error("OTLP/HTTP client for {url}: {source}")]
    Client {
        /// The endpoint, userinfo and query `<redacted>`.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// A TLS file holds no usable PEM certificate or key. Its contents are never shown.
    #[error("{var}: {path:?} {problem}")]
    Tls {
        /// The variable that named the file.
        var: &'static str,
        /// The path.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The HTTP client refused the TLS files (a key block that is no key, a key that does not fit
    /// the certificate). The files are named, their contents never shown.
    #[error("{files}: cannot be used for TLS: {problem}")]
    TlsClient {
        /// Each file's variable and path.
        files: String,
        /// The client's reason, with its causes.
        problem: String,
    },
    /// The background thread could not be spawned.
    #[error("OTLP/HTTP export thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// [`OtlpTls`](super::OtlpTls) parsed: the trusted certificates and the client identity.
struct TlsParts {
    roots: Option<Vec<reqwest::Certificate>>,
    identity: Option<reqwest::Identity>,
    /// Each file's variable and path, for an error building the client with them.
    files: String,
}

impl TlsParts {
    /// Parses each file, naming the one that is wrong.
    fn of(tls: &super::OtlpTls) -> Result<Self, HttpExportError> {
        let wrong = |file: &super::PemFile, problem: String| HttpExportError::Tls {
            var: file.var,
            path: file.path.clone(),
            problem,
        };
        let certificates = |file: &super::PemFile| match reqwest::Certificate::from_pem_bundle(&file.pem) {
            Ok(certs) if !certs.is_empty() => Ok(certs),
            Ok(_) => Err(wrong(
                file,
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            )),
            Err(e) => Err(wrong(
                file,
                format!("holds a certificate that cannot be read: {e}"),
            )),
        };
        let roots = tls.trusted.as_ref().map(certificates).transpose()?;
        let identity = match &tls.client {
            None => None,
            Some((cert, key)) => {
                certificates(cert)?;
                let is_key =
                    |line: &[u8]| line.starts_with(b"-----BEGIN ") && line.ends_with(b"PRIVATE KEY-----");
                if !key.pem.split(|&b| b == b'\n').any(|l| is_key(l.trim_ascii())) {
                    return Err(wrong(
                        key,
                        "holds no PEM private key (-----BEGIN … PRIVATE KEY-----)".into(),
                    ));
                }
                let mut pem = cert.pem.clone();
                pem.push(b'\n');
                pem.extend_from_slice(&key.pem);
                Some(reqwest::Identity::from_pem(&pem).map_err(|e| {
                    wrong(
                        key,
                        format!(
                            "and {:?} are no usable certificate and private key: {e}",
                            cert.path
                        ),
                    )
                })?)
            }
        };
        let files = tls
            .trusted
            .iter()
            .chain(tls.client.iter().flat_map(|(c, k)| [c, k]))
            .map(|f| format!("{} ({:?})", f.var, f.path))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Self {
            roots,
            identity,
            files,
        })
    }

    /// The error of a client that could not be built: the TLS files' when there are any.
    fn build_error(files: String, url: &str, source: reqwest::Error) -> HttpExportError {
        if files.is_empty() {
            return HttpExportError::Client {
                url: super::redacted::redacted_url(url),
                source,
            };
        }
        let mut problem = source.to_string();
        let mut cause = std::error::Error::source(&source);
        while let Some(c) = cause {
            problem.push_str(": ");
            problem.push_str(&c.to_string());
            cause = c.source();
        }
        HttpExportError::TlsClient { files, problem }
    }

    /// The client builder trusting only the given roots, when some are, and presenting the identity.
    fn apply(
        self,
        mut builder: reqwest::blocking::ClientBuilder,
    ) -> (reqwest::blocking::ClientBuilder, String) {
        if let Some(roots) = self.roots {
            builder = builder.tls_built_in_root_certs(false);
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        if let Some(identity) = self.identity {
            builder = builder.identity(identity);
        }
        (builder, self.files)
    }
}

impl OtlpHttpExporter {
    /// Starts the background thread posting to `target`.
    ///
    /// # Errors
    /// The HTTP client cannot be built or the thread cannot start.
    pub fn new(target: HttpTarget, resource: &Resource) -> Result<Self, HttpExportError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            idle: Condvar::new(),
            dropped: AtomicU64::new(0),
            capacity: target.queue.max(1),
            failing: AtomicBool::new(false),
        });
        let theirs = Arc::clone(&shared);
        let resource = EncodedResource::new(resource);
        let timeout = target.timeout;
        let tls = TlsParts::of(&target.tls)?;
        // The blocking client is built (and later dropped) on its own thread: reqwest's blocking client
        // must not be created or dropped inside an async runtime, which is where `init` usually runs.
        let (ready_tx, ready_rx) = sync_channel(1);
        let handle = std::thread::Builder::new()
            .name("otlp-http".into())
            .spawn(move || {
                // No redirects: reqwest strips only `Authorization` and cookies when it follows one, so
                // the `OTEL_EXPORTER_OTLP_HEADERS` values (API keys) and SigV4's session token would go
                // to whatever host, over whatever scheme, a 3xx names. A 3xx is a failed export instead.
                let builder = reqwest::blocking::Client::builder()
                    .timeout(target.timeout)
                    .user_agent(USER_AGENT)
                    .no_proxy()
                    .redirect(reqwest::redirect::Policy::none())
                    .referer(false);
                let (builder, files) = tls.apply(builder);
                let client = builder.build();
                match client {
                    Ok(client) => {
                        let _ = ready_tx.send(Ok(()));
                        let _closed = ClosedOnExit(&theirs);
                        post_loop(&client, &target, &resource, &theirs);
                    }
                    Err(source) => {
                        let _ = ready_tx.send(Err(TlsParts::build_error(files, &target.url, source)));
                    }
                }
            })?;
        ready_rx
            .recv()
            .map_err(|_| HttpExportError::Thread(std::io::Error::other("the export thread exited")))??;
        Ok(Self {
            shared,
            thread: handle.thread().clone(),
            timeout,
        })
    }

    /// Batches lost so far: queue full, endpoint unreachable, or a non-2xx answer (a redirect included:
    /// it is never followed).
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Waits up to `timeout` for every accepted batch to be posted (or given up on); true if they were.
    /// For shutdown and tests — never called on the invocation path.
    #[must_use]
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let ticket = self.shared.lock().accepted;
        self.shared.wait_done(ticket, timeout)
    }
}

impl Drop for OtlpHttpExporter {
    /// The thread posts what is waiting, then ends.
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.thread.unpark();
    }
}

/// Closes the queue when the posting thread ends, however it ends: should it panic, new batches are
/// refused and counted as dropped (not kept for nobody), and those it left waiting are counted too.
struct ClosedOnExit<'a>(&'a Shared);

impl Drop for ClosedOnExit<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.lock();
        queue.closed = true;
        let lost = queue.waiting.len() as u64;
        queue.waiting.clear();
        queue.done += lost;
        self.0.dropped.fetch_add(lost, Ordering::Relaxed);
        self.0.idle.notify_all();
    }
}

/// The posting thread: takes every waiting batch at once and posts them in as few requests as
/// [`MAX_SPANS_PER_REQUEST`] allows, so a burst of invocations (Lambda Managed Instances) costs a few
/// POSTs and the invocations find the thread awake. Parks when nothing waits.
fn post_loop(
    client: &reqwest::blocking::Client,
    target: &HttpTarget,
    resource: &EncodedResource,
    shared: &Shared,
) {
    let mut taken: Vec<Vec<SpanData>> = Vec::new();
    let mut warned = WarnEvery::new(FAILURE_WARNING_INTERVAL);
    loop {
        {
            let mut queue = shared.lock();
            if queue.waiting.is_empty() {
                if queue.closed {
                    return;
                }
                drop(queue);
                // `unpark` before `park` leaves a token: a batch pushed after the check is not missed.
                std::thread::park();
                continue;
            }
            std::mem::swap(&mut queue.waiting, &mut taken);
        }
        let mut batches = taken.drain(..).peekable();
        while batches.peek().is_some() {
            let mut spans = Vec::new();
            let mut count = 0u64;
            while let Some(batch) =
                batches.next_if(|b| spans.is_empty() || spans.len() + b.len() <= MAX_SPANS_PER_REQUEST)
            {
                spans.extend(batch);
                count += 1;
            }
            let body = TraceRequest::new(&spans, resource).encode();
            let body = if target.gzip { gzipped(&body) } else { body };
            let answer = post_with_retries(
                target.timeout,
                |body, timeout| post(client, target, body, timeout),
                body.into(),
            );
            let posted = matches!(answer, Answer::Status(s, _) if s.is_success());
            // Failing: no answer, or still refused for a while (429/5xx) when the budget ran out. A final
            // 4xx (a bad batch, an expired signature, a missing permission) came back at once: the
            // endpoint answers, and flushes keep waiting for it (else every later batch would be posted
            // as the process freezes, and lost).
            shared
                .failing
                .store(!posted && answer.is_retryable(), Ordering::Relaxed);
            if !posted {
                let dropped = shared.dropped.fetch_add(count, Ordering::Relaxed) + count;
                // A bad key (401), a missing permission (403) or a dead collector would otherwise lose
                // every span without a word; once a minute at most. Never a header value.
                if warned.due(std::time::Instant::now()) {
                    tracing::warn!(
                        answer = %answer,
                        batches_dropped = dropped,
                        "OTLP/HTTP span export failed; its spans are dropped"
                    );
                }
            }
            let mut queue = shared.lock();
            queue.done += count;
            if queue.idle_waiters > 0 {
                shared.idle.notify_all();
            }
        }
    }
}

/// `body` gzip-compressed (RFC 1952), on the export thread, once per request: retries send the same
/// bytes.
fn gzipped(body: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a `Vec` cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// How often at most a failing exporter says so.
const FAILURE_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// A warning at most once per `interval`: the first is due at once.
#[derive(Debug)]
struct WarnEvery {
    interval: Duration,
    last: Option<std::time::Instant>,
}

impl WarnEvery {
    const fn new(interval: Duration) -> Self {
        Self { interval, last: None }
    }

    /// Whether a warning is due `now`; if so, the next is `interval` later.
    fn due(&mut self, now: std::time::Instant) -> bool {
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < self.interval)
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// How one POST ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The endpoint answered with this status, and the wait its `Retry-After` asked for, if any.
    Status(reqwest::StatusCode, Option<Duration>),
    /// No answer: connection refused or reset, or the request timed out.
    Unanswered,
    /// Not sent: the request could not be built.
    Unsendable,
    /// Not sent: no credentials in the environment to sign with.
    #[cfg(feature = "sigv4")]
    Unsigned,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(s, _) => write!(f, "HTTP {}", s.as_u16()),
            Self::Unanswered => f.write_str("no answer (connection refused or reset, or timed out)"),
            Self::Unsendable => f.write_str("not sent: the request could not be built"),
            #[cfg(feature = "sigv4")]
            Self::Unsigned => f.write_str("not sent: no AWS credentials in the environment to sign with"),
        }
    }
}

impl Answer {
    /// Whether the spec says to try again: `429`, `502`, `503`, `504`, or no answer at all.
    fn is_retryable(self) -> bool {
        match self {
            Self::Status(s, _) => matches!(s.as_u16(), 429 | 502 | 503 | 504),
            Self::Unanswered => true,
            Self::Unsendable => false,
            #[cfg(feature = "sigv4")]
            Self::Unsigned => false,
        }
    }
}

/// The first backoff before a retry when the server gave no `Retry-After`; doubled after each
/// retry up to [`MAX_BACKOFF`], each wait drawn between half and all of it (jitter, so functions that
/// failed together do not retry together).
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest backoff between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Posts `body` with `attempt` (given the time left) until it is answered with a final status, or
/// until the budget `timeout` since the first attempt is spent: each attempt may take only what is
/// left, and a wait that would end past it is not started. A retry waits at least what the server's
/// `Retry-After` asked for and at least the backoff (a `Retry-After: 0` must not become a tight loop
/// against an overloaded collector).
fn post_with_retries(
    timeout: Duration,
    mut attempt: impl FnMut(bytes::Bytes, Duration) -> Answer,
    body: bytes::Bytes,
) -> Answer {
    let started = std::time::Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let left = timeout.saturating_sub(started.elapsed());
        let answer = attempt(body.clone(), left); // `clone`: a reference count, not a copy
        if !answer.is_retryable() {
            return answer;
        }
        let jitter = jittered(backoff);
        let wait = match answer {
            Answer::Status(_, Some(after)) => after.max(jitter),
            _ => jitter,
        };
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if started.elapsed().saturating_add(wait) >= timeout {
            return answer;
        }
        std::thread::sleep(wait);
    }
}

/// A wait between half and all of `backoff`.
fn jittered(backoff: Duration) -> Duration {
    let half = backoff / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_nanos(crate::clock::random_u64() % nanos)
}

/// A `Retry-After` value as a wait from `now`: delay-seconds, or an HTTP date (a date already past
/// is no wait). `None` for anything else: the backoff applies.
/// <https://www.rfc-editor.org/rfc/rfc9110#field.retry-after>
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is a wait longer than any budget.
        return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

fn post(
    client: &reqwest::blocking::Client,
    target: &HttpTarget,
    body: bytes::Bytes,
    timeout: Duration,
) -> Answer {
    let mut headers: Vec<(String, String)> = vec![("content-type".into(), "application/x-protobuf".into())];
    if target.gzip {
        // Signed with the rest: SigV4 covers the compressed body as sent.
        headers.push(("content-encoding".into(), "gzip".into()));
    }
    headers.extend(target.headers.iter().cloned());
    #[cfg(feature = "sigv4")]
    if let Some(region) = &target.sigv4_region {
        // Signed at each attempt: a retry carries its own date.
        let Some(signed) = env_credentials().and_then(|credentials| {
            sign(
                &target.url,
                &headers,
                &body,
                region,
                std::time::SystemTime::now(),
                &credentials,
            )
        }) else {
            return Answer::Unsigned;
        };
        headers.extend(signed);
    }
    if timeout.is_zero() {
        return Answer::Unanswered;
    }
    let mut request = client.post(&target.url).timeout(timeout);
    for (k, v) in &headers {
        request = request.header(k.as_str(), v.as_str());
    }
    match request.body(body).send() {
        Ok(response) => {
            let after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, std::time::SystemTime::now()));
            Answer::Status(response.status(), after)
        }
        // A request that cannot be built (a header value `http` refuses) never will be.
        Err(e) if e.is_builder() => Answer::Unsendable,
        Err(_) => Answer::Unanswered,
    }
}

/// The credentials Lambda gives a function, from the environment.
#[cfg(feature = "sigv4")]
fn env_credentials() -> Option<aws_credential_types::Credentials> {
    let key = std::env::var("AWS_ACCESS_KEY_ID").ok()?;
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
    let token = std::env::var("AWS_SESSION_TOKEN").ok();
    Some(aws_credential_types::Credentials::new(
        key,
        secret,
        token,
        None,
        "environment",
    ))
}

/// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`, `x-amz-content-sha256`
/// when configured) for a POST of `body` to `url` with `headers`, for the service `xray`.
///
/// ```
/// # #[cfg(feature = "sigv4")] {
/// let creds = aws_credential_types::Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "doc");
/// let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_764_633_600);
/// let headers = telemetry::otel::http::sign("https://xray.eu-west-1.amazonaws.com/v1/traces",
///     &[("content-type".into(), "application/x-protobuf".into())], b"", "eu-west-1", t, &creds).unwrap();
/// let auth = &headers.iter().find(|(k, _)| k == "authorization").unwrap().1;
/// assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251202/eu-west-1/xray/aws4_request"));
/// # }
/// ```
#[cfg(feature = "sigv4")]
#[must_use]
pub fn sign(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    region: &str,
    time: std::time::SystemTime,
    credentials: &aws_credential_types::Credentials,
) -> Option<Vec<(String, String)>> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    let identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(XRAY_SIGNING_SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .ok()?
        .into();
    let request = SignableRequest::new(
        "POST",
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .ok()?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(request, &params).ok()?.into_parts();
    Some(
        instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

impl SpanSink for OtlpHttpExporter {
    /// A lock, a push and a wake — a system call only when the thread is parked (it is busy posting
    /// whenever invocations come faster than the endpoint answers).
    fn export(&self, batch: Vec<SpanData>) {
        if batch.is_empty() {
            return;
        }
        let mut queue = self.shared.lock();
        if queue.closed || queue.waiting.len() >= self.shared.capacity {
            drop(queue);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        queue.waiting.push(batch);
        queue.accepted += 1;
        drop(queue);
        self.thread.unpark();
    }

    /// A wait for the batches accepted so far — at most the export timeout, whatever the caller
    /// allows. `None` when none is held, or while the endpoint is failing (its last batch was given
    /// up on): then the batches are still tried in the background, but no invocation waits for them.
    fn flusher(&self) -> Option<crate::xray::Flusher> {
        let ticket = {
            let queue = self.shared.lock();
            if queue.done >= queue.accepted {
                return None;
            }
            queue.accepted
        };
        if self.shared.failing.load(Ordering::Relaxed) {
            return None;
        }
        let (shared, cap) = (Arc::clone(&self.shared), self.timeout);
        Some(Box::new(move |timeout: Duration| {
            shared.wait_done(ticket, timeout.min(cap))
        }))
    }

    /// Every accepted batch, failing endpoint or not: at shutdown the thread's last tries are all
    /// there is.
    fn drain(&self, timeout: Duration) -> bool {
        self.wait_idle(timeout)
    }

    fn holds_batches(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::XrayLayer;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::time::Instant;
    use tracing_subscriber::layer::SubscriberExt;

    /// A failing exporter says so at once, then at most once a minute (a dead collector must not flood
    /// the function's logs).
    #[test]
    fn failures_are_warned_at_most_once_a_minute() {
        let t0 = Instant::now();
        let mut w = WarnEvery::new(FAILURE_WARNING_INTERVAL);
        assert!(w.due(t0));
        assert!(!w.due(t0 + Duration::from_secs(1)));
        assert!(!w.due(t0 + Duration::from_secs(59)));
        assert!(w.due(t0 + Duration::from_secs(60)));
        assert!(!w.due(t0 + Duration::from_secs(90)));
        assert!(w.due(t0 + Duration::from_secs(121)));
    }

    fn export_one(exporter: OtlpHttpExporter) -> OtlpHttpExporter {
        let exporter = Arc::new(exporter);
        let subscriber =
            tracing_subscriber::registry().with(XrayLayer::with_span_sink(Arc::clone(&exporter)));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header =
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            )
            .entered();
        });
        Arc::try_unwrap(exporter).unwrap()
    }

    #[test]
    fn a_dead_endpoint_costs_the_invocation_nothing() {
        // A port nobody listens on; the thread's connection fails, the invocation never waits.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/traces", closed.local_addr().unwrap());
        drop(closed);
        // No answer is retried with backoff until the export timeout.
        let mut target = HttpTarget::new(url);
        target.timeout = Duration::from_millis(600);
        let exporter = OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap();
        let started = Instant::now();
        let exporter = export_one(exporter);
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "the export path did not wait"
        );
        assert!(exporter.wait_idle(Duration::from_secs(10)));
        assert_eq!(exporter.dropped(), 1);
    }

    /// A keep-alive endpoint answering the `n`-th request (over any connection) with `answers[n]`, the
    /// last one from then on. Returns every request's body, in order.
    fn scripted_endpoint(listener: TcpListener, answers: Vec<&'static str>) -> Arc<Mutex<Vec<Vec<u8>>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let bodies = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (bodies, answers) = (Arc::clone(&bodies), answers.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    while let Some((_, body)) = read_request(&mut reader) {
                        let n = {
                            let mut b = bodies.lock().unwrap();
                            b.push(body);
                            b.len() - 1
                        };
                        let answer = answers[n.min(answers.len() - 1)];
                        if (&stream).write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        seen
    }

    fn scripted_exporter(
        answers: Vec<&'static str>,
        timeout: Duration,
    ) -> (OtlpHttpExporter, Arc<Mutex<Vec<Vec<u8>>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut target = HttpTarget::new(format!("http://{}/v1/traces", listener.local_addr().unwrap()));
        target.timeout = timeout;
        let seen = scripted_endpoint(listener, answers);
        let exporter = OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap();
        (export_one(exporter), seen)
    }

    /// The spec's retryable answers (429, 502, 503, 504) are posted again — after the `Retry-After`
    /// the server asked for, else after a backoff — with the same body, until one is final.
    #[test]
    fn retryable_answers_are_posted_again_until_one_is_final() {
        let (exporter, seen) = scripted_exporter(
            vec![
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 0\r\ncontent-length: 0\r\n\r\n",
                "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n",
                "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n",
                "HTTP/1.1 504 Gateway Timeout\r\nretry-after: 0\r\ncontent-length: 0\r\n\r\n",
                "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            ],
            Duration::from_secs(10),
        );
        assert!(exporter.wait_idle(WAIT));
        assert_eq!(exporter.dropped(), 0, "the fifth attempt was accepted");
        let bodies = seen.lock().unwrap().clone();
        assert_eq!(bodies.len(), 5);
        assert!(
            bodies.iter().all(|b| *b == bodies[0]),
            "every attempt carries the batch"
        );
        ExportTraceServiceRequest::decode(bodies[0].as_slice()).unwrap();
    }

    /// Any other answer is final: a 400 (the collector rejects the data), a 401, a 500.
    #[test]
    fn other_answers_are_not_posted_again() {
        for answer in [
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 401 Unauthorized\r\nretry-after: 0\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
        ] {
            let (exporter, seen) = scripted_exporter(vec![answer], Duration::from_secs(10));
            assert!(exporter.wait_idle(WAIT));
            assert_eq!(exporter.dropped(), 1, "{answer}");
            assert_eq!(seen.lock().unwrap().len(), 1, "{answer}");
        }
    }

    /// A `Retry-After` that ends past the export timeout is not waited for: the batch is dropped at
    /// once (a function must not keep a post alive for an hour), and the thread is free for the next.
    #[test]
    fn a_retry_after_past_the_timeout_drops_the_batch_at_once() {
        let (exporter, seen) = scripted_exporter(
            vec!["HTTP/1.1 503 Service Unavailable\r\nretry-after: 3600\r\ncontent-length: 0\r\n\r\n"],
            Duration::from_secs(30),
        );
        assert!(
            exporter.wait_idle(Duration::from_secs(10)),
            "gave up without waiting the hour"
        );
        assert_eq!(exporter.dropped(), 1);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date already past is no wait"
        );
        assert_eq!(retry_after("99999999999999999999999", now), Some(Duration::MAX));
        for junk in ["", "-1", "1.5", "soon", "Wed, 21 Oct 2015"] {
            assert_eq!(retry_after(junk, now), None, "{junk:?}");
        }
    }

    #[test]
    fn backoff_is_jittered_within_half_and_all() {
        for _ in 0..1_000 {
            let w = jittered(FIRST_BACKOFF);
            assert!(w >= FIRST_BACKOFF / 2 && w < FIRST_BACKOFF, "{w:?}");
        }
        assert!(jittered(Duration::ZERO) <= Duration::from_nanos(1));
    }

    /// A loopback OTLP/HTTP endpoint: accepts one request, answers `response`, returns the request's
    /// head lines and body.
    fn serve_once(
        listener: TcpListener,
        response: String,
    ) -> std::thread::JoinHandle<(Vec<String>, Vec<u8>)> {
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let request = read_request(&mut reader).unwrap();
            (&stream).write_all(response.as_bytes()).unwrap();
            request
        })
    }

    /// One HTTP/1.1 request: its head lines and body; `None` when the connection closed first.
    fn read_request(reader: &mut impl BufRead) -> Option<(Vec<String>, Vec<u8>)> {
        let mut head = Vec::new();
        let mut len = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            head.push(line.trim().to_owned());
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).ok()?;
        Some((head, body))
    }

    #[test]
    fn posts_protobuf_with_configured_headers() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let server = serve_once(listener, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into());
        let mut target = HttpTarget::new(url);
        target.headers.push(("x-api-key".into(), "k-1".into()));
        let exporter = OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap();
        let exporter = export_one(exporter);
        let (head, body) = server.join().unwrap();
        assert!(head[0].starts_with("POST /v1/traces HTTP/1.1"));
        assert!(
            head.iter()
                .any(|h| h.eq_ignore_ascii_case("content-type: application/x-protobuf"))
        );
        assert!(head.iter().any(|h| h.eq_ignore_ascii_case("x-api-key: k-1")));
        // The OTLP exporter spec: a User-Agent naming the exporter, its language and version.
        assert!(
            head.iter().any(|h| h
                .to_ascii_lowercase()
                .starts_with("user-agent: otel-otlp-exporter-rust/")),
            "{head:?}"
        );
        let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id, hex_bytes("5759e988bd862e3fe1be46a994272793"));
        assert!(exporter.wait_idle(Duration::from_secs(5)));
        assert_eq!(exporter.dropped(), 0);
    }

    /// `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` (OTLP exporter spec): the body is gzip (RFC 1952), the
    /// request says `Content-Encoding: gzip`, and the inflated body is the same protobuf; without it no
    /// `Content-Encoding` is sent.
    #[test]
    fn gzip_bodies_say_so_and_inflate_to_the_request() {
        use std::io::Read as _;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let server = serve_once(listener, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into());
        let mut target = HttpTarget::new(url);
        target.gzip = true;
        let exporter = export_one(OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap());
        let (head, body) = server.join().unwrap();
        assert!(
            head.iter()
                .any(|h| h.eq_ignore_ascii_case("content-encoding: gzip")),
            "{head:?}"
        );
        assert_eq!(&body[..2], [0x1f, 0x8b], "the gzip magic number");
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(body.as_slice())
            .read_to_end(&mut inflated)
            .unwrap();
        let req = ExportTraceServiceRequest::decode(inflated.as_slice()).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id, hex_bytes("5759e988bd862e3fe1be46a994272793"));
        assert!(exporter.wait_idle(Duration::from_secs(5)));

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let server = serve_once(listener, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".into());
        let _plain = export_one(
            OtlpHttpExporter::new(HttpTarget::new(url), &Resource::builder_empty().build()).unwrap(),
        );
        let (head, body) = server.join().unwrap();
        assert!(
            !head
                .iter()
                .any(|h| h.to_ascii_lowercase().starts_with("content-encoding"))
        );
        assert!(ExportTraceServiceRequest::decode(body.as_slice()).is_ok());
    }

    #[test]
    fn a_redirect_is_a_failed_export_and_the_api_key_stays_home() {
        // reqwest would strip only `Authorization` on a cross-host redirect; the API key header would go
        // to the second server. The exporter follows no redirect at all.
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        let elsewhere_url = format!("http://{}/v1/traces", elsewhere.local_addr().unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let server = serve_once(
            listener,
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nlocation: {elsewhere_url}\r\ncontent-length: 0\r\n\r\n"
            ),
        );
        let mut target = HttpTarget::new(url);
        target.headers.push(("api-key".into(), "sk-secret".into()));
        let exporter = OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap();
        let exporter = export_one(exporter);
        let (head, _) = server.join().unwrap();
        assert!(head.iter().any(|h| h.eq_ignore_ascii_case("api-key: sk-secret")));
        assert!(exporter.wait_idle(Duration::from_secs(10)));
        assert_eq!(exporter.dropped(), 1, "a 3xx is a failed export");
        elsewhere.set_nonblocking(true).unwrap();
        assert_eq!(
            elsewhere.accept().map_err(|e| e.kind()).err(),
            Some(std::io::ErrorKind::WouldBlock),
            "the redirect target received a connection"
        );
    }

    /// `n` invocations, one span each, exported through the layer.
    fn invocations(exporter: &Arc<OtlpHttpExporter>, n: usize) {
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(Arc::clone(exporter)));
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..n {
                let _inv = tracing::info_span!(
                    "lambda.invocation",
                    telemetry.trace_header =
                        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                )
                .entered();
            }
        });
    }

    /// A keep-alive endpoint that reports each request's span count on `got`, then answers 200 only
    /// when `go` says so: a post held as long as the test wants.
    fn held_endpoint(
        listener: TcpListener,
    ) -> (std::sync::mpsc::Receiver<usize>, std::sync::mpsc::Sender<()>) {
        held_endpoint_answering(listener, &[OK])
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";

    /// [`held_endpoint`], answering its `n`-th request `answers[n]` (the last from then on).
    fn held_endpoint_answering(
        listener: TcpListener,
        answers: &'static [&'static str],
    ) -> (std::sync::mpsc::Receiver<usize>, std::sync::mpsc::Sender<()>) {
        let (got_tx, got) = std::sync::mpsc::channel();
        let (go, go_rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut n = 0;
            while let Some((_, body)) = read_request(&mut reader) {
                let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
                let spans = req
                    .resource_spans
                    .iter()
                    .flat_map(|r| &r.scope_spans)
                    .map(|s| s.spans.len())
                    .sum();
                if got_tx.send(spans).is_err() || go_rx.recv().is_err() {
                    return;
                }
                let answer = answers[n.min(answers.len() - 1)];
                n += 1;
                (&stream).write_all(answer.as_bytes()).unwrap();
            }
        });
        (got, go)
    }

    /// An exporter (queue of `queue` batches) to a [`held_endpoint`], its first batch posted and held.
    fn first_post_held(
        queue: usize,
    ) -> (
        Arc<OtlpHttpExporter>,
        std::sync::mpsc::Receiver<usize>,
        std::sync::mpsc::Sender<()>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut target = HttpTarget::new(format!("http://{}/v1/traces", listener.local_addr().unwrap()));
        target.queue = queue;
        let (got, go) = held_endpoint(listener);
        let exporter = Arc::new(OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap());
        invocations(&exporter, 1);
        assert_eq!(got.recv_timeout(WAIT), Ok(1), "the first batch is posted at once");
        (exporter, got, go)
    }

    const WAIT: Duration = Duration::from_secs(10);

    /// Answers the held post, expects the next request to carry `spans` spans, and answers it too.
    fn release(got: &std::sync::mpsc::Receiver<usize>, go: &std::sync::mpsc::Sender<()>, spans: usize) {
        go.send(()).unwrap();
        assert_eq!(got.recv_timeout(WAIT), Ok(spans));
        go.send(()).unwrap();
    }

    #[test]
    fn batches_waiting_behind_a_slow_post_go_in_one_request() {
        let (exporter, got, go) = first_post_held(64);
        invocations(&exporter, 9);
        release(&got, &go, 9); // the nine that waited go in one request
        assert!(exporter.wait_idle(WAIT));
        assert_eq!(exporter.dropped(), 0);
    }

    #[test]
    fn a_full_queue_drops_new_batches_and_counts_them() {
        let (exporter, got, go) = first_post_held(3);
        invocations(&exporter, 10);
        assert_eq!(exporter.dropped(), 7, "three wait, seven are dropped");
        assert!(
            !exporter.wait_idle(Duration::from_millis(50)),
            "the held post is not done"
        );
        let debug = format!("{exporter:?}");
        assert!(
            debug.contains("waiting: 3") && !debug.contains("trace_id"),
            "{debug}"
        );
        release(&got, &go, 3);
        assert!(exporter.wait_idle(WAIT));
        assert_eq!(exporter.dropped(), 7);
    }

    /// The flush `telemetry::run` makes after each response waits for what was handed over before it,
    /// within its timeout, and says whether all of it left.
    #[test]
    fn a_flush_waits_for_the_batches_handed_over_before_it() {
        let (exporter, got, go) = first_post_held(64);
        let wait = exporter.flusher().expect("a batch is held");
        invocations(&exporter, 1); // after the flusher was taken: not its to wait for
        assert!(
            !exporter.flush(Duration::from_millis(50)),
            "the held post is not done"
        );
        go.send(()).unwrap();
        assert!(wait(WAIT), "the first batch left");
        assert_eq!(got.recv_timeout(WAIT), Ok(1), "the second is posted next");
        go.send(()).unwrap();
        assert!(exporter.flush(WAIT));
        assert!(exporter.flusher().is_none());
        assert!(exporter.flush(Duration::ZERO), "nothing left: no wait");
        // Through `SpanSinks`, beside a sink that never holds anything.
        let sinks = crate::xray::SpanSinks::new()
            .with(crate::xray::MemorySpanSink::default())
            .with(Arc::clone(&exporter));
        invocations(&exporter, 1);
        assert_eq!(got.recv_timeout(WAIT), Ok(1));
        assert!(sinks.flusher().is_some());
        assert!(!sinks.flush(Duration::from_millis(50)));
        go.send(()).unwrap();
        assert!(sinks.flush(WAIT));
        assert!(sinks.flusher().is_none());
        assert_eq!(exporter.dropped(), 0);
    }

    /// A batch the endpoint refuses for good (400: a bad batch; 403: an expired signature) is dropped,
    /// but the endpoint answered at once: the next invocations' flushes still wait for their batches,
    /// or each would be posted as the process freezes, and lost.
    #[test]
    fn a_refused_batch_leaves_flushes_waiting() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = HttpTarget::new(format!("http://{}/v1/traces", listener.local_addr().unwrap()));
        let (got, go) = held_endpoint_answering(
            listener,
            &["HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", OK],
        );
        let exporter = Arc::new(OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap());
        invocations(&exporter, 1);
        assert_eq!(got.recv_timeout(WAIT), Ok(1));
        go.send(()).unwrap(); // 400
        assert!(exporter.wait_idle(WAIT));
        assert_eq!(exporter.dropped(), 1);
        invocations(&exporter, 1);
        assert_eq!(got.recv_timeout(WAIT), Ok(1));
        assert!(exporter.flusher().is_some(), "the endpoint answers: flushes wait");
        go.send(()).unwrap(); // 200
        assert!(exporter.flush(WAIT));
        assert_eq!(exporter.dropped(), 1);
    }

    /// While the endpoint fails (its last batch was given up on, still refused when the budget ran
    /// out), no flush waits for it: a dead collector must not hold every invocation until its timeout.
    /// The first post that goes through makes flushes wait again.
    #[test]
    fn a_failing_endpoint_is_not_waited_for_until_it_answers_again() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = HttpTarget::new(format!("http://{}/v1/traces", listener.local_addr().unwrap()));
        // A 503 asking for a wait past the budget: given up on at once, the endpoint failing.
        let (got, go) = held_endpoint_answering(
            listener,
            &[
                "HTTP/1.1 503 Service Unavailable\r\nretry-after: 3600\r\ncontent-length: 0\r\n\r\n",
                OK,
            ],
        );
        let exporter = Arc::new(OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap());
        invocations(&exporter, 1);
        assert_eq!(got.recv_timeout(WAIT), Ok(1));
        assert!(exporter.flusher().is_some(), "not known to fail yet");
        go.send(()).unwrap(); // 503
        assert!(exporter.wait_idle(WAIT));
        assert_eq!(exporter.dropped(), 1);

        invocations(&exporter, 1);
        assert_eq!(got.recv_timeout(WAIT), Ok(1));
        assert!(
            exporter.flusher().is_none(),
            "held, but the endpoint is failing: no wait"
        );
        // At shutdown the held batch is waited for all the same (drain), failing or not.
        assert!(
            !exporter.drain(Duration::from_millis(50)),
            "still held: the drain does not claim it left"
        );
        let drained = {
            let exporter = Arc::clone(&exporter);
            std::thread::spawn(move || exporter.drain(WAIT))
        };
        go.send(()).unwrap(); // 200
        assert!(drained.join().unwrap(), "the drain saw the post go through");
        assert!(exporter.wait_idle(WAIT));

        invocations(&exporter, 1);
        assert_eq!(got.recv_timeout(WAIT), Ok(1));
        assert!(exporter.flusher().is_some(), "answering again: flushes wait");
        go.send(()).unwrap();
        assert!(exporter.flush(WAIT));
        assert_eq!(exporter.dropped(), 1);
    }

    /// An attempt may take only what is left of the export timeout: an endpoint that never answers
    /// costs the batch one timeout, not one per attempt.
    #[test]
    fn a_silent_endpoint_costs_one_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut target = HttpTarget::new(format!("http://{}/v1/traces", listener.local_addr().unwrap()));
        target.timeout = Duration::from_millis(300);
        let attempts = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&attempts);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::Relaxed);
                held.push(stream); // read nothing, answer nothing
            }
        });
        let exporter = export_one(OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap());
        assert!(exporter.wait_idle(WAIT));
        assert_eq!(exporter.dropped(), 1);
        assert_eq!(
            attempts.load(Ordering::Relaxed),
            1,
            "the first attempt took the whole budget: no retry after it"
        );
    }

    #[test]
    fn dropping_the_exporter_posts_what_waits() {
        let (exporter, got, go) = first_post_held(64);
        invocations(&exporter, 2);
        drop(Arc::try_unwrap(exporter).unwrap());
        release(&got, &go, 2); // the waiting batches still go
    }

    #[test]
    fn debug_shows_header_names_not_values() {
        let mut target = HttpTarget::new("https://collector:4318/v1/traces");
        target.headers.push(("api-key".into(), "sk-secret".into()));
        let debug = format!("{target:?}");
        assert!(!debug.contains("sk-secret"), "{debug}");
        assert!(debug.contains(r#"headers: {"api-key": <redacted>}"#), "{debug}");
        assert!(
            debug.contains(r#"url: "https://collector:4318/v1/traces""#),
            "{debug}"
        );
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[cfg(feature = "sigv4")]
    #[test]
    fn sigv4_headers_name_the_xray_scope() {
        // SigV4 (AWS docs, "Elements of an AWS API request signature"): the credential scope is
        // date/region/service/aws4_request, the date header is ISO 8601 basic, the session token travels.
        let creds = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("tok".into()),
            None,
            "t",
        );
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_764_633_600); // 2025-12-02T00:00:00Z
        let body = b"\x0a\x00";
        let headers = sign(
            "https://xray.eu-west-1.amazonaws.com/v1/traces",
            &[("content-type".into(), "application/x-protobuf".into())],
            body,
            "eu-west-1",
            t,
            &creds,
        )
        .unwrap();
        let get = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("x-amz-date").as_deref(), Some("20251202T000000Z"));
        assert_eq!(get("x-amz-security-token").as_deref(), Some("tok"));
        let auth = get("authorization").unwrap();
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251202/eu-west-1/xray/aws4_request, SignedHeaders="
            ),
            "{auth}"
        );
        let signed = auth
            .split("SignedHeaders=")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap();
        assert!(signed.split(';').any(|h| h == "host") && signed.split(';').any(|h| h == "x-amz-date"));
    }

    /// A collector behind a private CA asking for a client certificate (the OTLP exporter spec's
    /// `…CERTIFICATE`, `…CLIENT_CERTIFICATE`, `…CLIENT_KEY`), served with rustls on loopback.
    mod tls {
        use super::*;
        use crate::otel::{OtlpTls, PemFile};
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        };
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

        /// A CA, a server certificate for 127.0.0.1 and a client certificate it issued, and a second
        /// CA that issued nothing here.
        struct Pki {
            ca: CertificateDer<'static>,
            ca_pem: String,
            other_ca_pem: String,
            server: (CertificateDer<'static>, Vec<u8>),
            client_pem: (String, String),
        }

        fn ca(name: &str) -> (rcgen::Certificate, Issuer<'static, KeyPair>) {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.self_signed(&key).unwrap();
            (cert, Issuer::new(params, key))
        }

        fn leaf(
            issuer: &Issuer<'_, KeyPair>,
            names: &[&str],
            usage: ExtendedKeyUsagePurpose,
        ) -> (rcgen::Certificate, KeyPair) {
            let key = KeyPair::generate().unwrap();
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, "test leaf");
            params.extended_key_usages = vec![usage];
            (params.signed_by(&key, issuer).unwrap(), key)
        }

        fn pki() -> Pki {
            let (ca_cert, issuer) = ca("collector test CA");
            let (other, _) = ca("another CA");
            let (server, server_key) = leaf(&issuer, &["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
            let (client, client_key) = leaf(&issuer, &["exporter.test"], ExtendedKeyUsagePurpose::ClientAuth);
            Pki {
                ca: ca_cert.der().clone(),
                ca_pem: ca_cert.pem(),
                other_ca_pem: other.pem(),
                server: (server.der().clone(), server_key.serialize_der()),
                client_pem: (client.pem(), client_key.serialize_pem()),
            }
        }

        /// What the collector saw of one connection: the request's head, or the handshake's error,
        /// and whether the client presented a certificate.
        type Seen = Arc<Mutex<Vec<Result<(Vec<String>, bool), String>>>>;

        /// Serves every connection over TLS, requiring a client certificate issued by `pki`'s CA,
        /// answering each request 200.
        fn collector(pki: &Pki) -> (String, Seen) {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut roots = rustls::RootCertStore::empty();
            roots.add(pki.ca.clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::clone(&provider),
            )
            .build()
            .unwrap();
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server.1.clone()));
            let config = Arc::new(
                rustls::ServerConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_client_cert_verifier(verifier)
                    .with_single_cert(vec![pki.server.0.clone()], key)
                    .unwrap(),
            );
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("https://{}/v1/traces", listener.local_addr().unwrap());
            let seen: Seen = Arc::default();
            let log = Arc::clone(&seen);
            std::thread::spawn(move || {
                for tcp in listener.incoming().flatten() {
                    let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, tcp);
                    if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
                        log.lock().unwrap().push(Err(e.to_string()));
                        continue;
                    }
                    let client_cert = tls.conn.peer_certificates().is_some_and(|c| !c.is_empty());
                    let mut reader = BufReader::new(tls);
                    while let Some((head, _)) = read_request(&mut reader) {
                        log.lock().unwrap().push(Ok((head, client_cert)));
                        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                        if reader
                            .get_mut()
                            .write_all(ok)
                            .and_then(|()| reader.get_mut().flush())
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            });
            (url, seen)
        }

        fn pem(var: &'static str, text: &str) -> PemFile {
            PemFile {
                var,
                path: format!("/etc/otel/{}.pem", var.to_ascii_lowercase()),
                pem: text.as_bytes().to_vec(),
            }
        }

        fn client_identity(pki: &Pki) -> Option<(PemFile, PemFile)> {
            Some((
                pem("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &pki.client_pem.0),
                pem("OTEL_EXPORTER_OTLP_CLIENT_KEY", &pki.client_pem.1),
            ))
        }

        fn export_to(url: &str, tls: OtlpTls) -> OtlpHttpExporter {
            let mut target = HttpTarget::new(url);
            target.timeout = Duration::from_millis(800);
            target.tls = tls;
            let exporter = OtlpHttpExporter::new(target, &Resource::builder_empty().build()).unwrap();
            let exporter = export_one(exporter);
            assert!(exporter.wait_idle(Duration::from_secs(10)));
            exporter
        }

        /// With the collector's CA trusted and the client certificate presented, the batch is posted
        /// over TLS and the collector sees the client's certificate.
        #[test]
        fn a_private_ca_and_a_client_certificate_reach_a_mutual_tls_collector() {
            let pki = pki();
            let (url, seen) = collector(&pki);
            let exporter = export_to(
                &url,
                OtlpTls {
                    trusted: Some(pem("OTEL_EXPORTER_OTLP_CERTIFICATE", &pki.ca_pem)),
                    client: client_identity(&pki),
                },
            );
            assert_eq!(exporter.dropped(), 0);
            let seen = seen.lock().unwrap();
            let Some(Ok((head, client_cert))) = seen.first() else {
                panic!("{seen:?}")
            };
            assert!(head[0].starts_with("POST /v1/traces HTTP/1.1"), "{head:?}");
            assert!(client_cert);
        }

        /// The trusted certificates replace the built-in roots, and the identity is what opens the
        /// door: another CA, no CA (the built-in roots know none of these), or no client certificate
        /// each lose the batch, and the collector saw no request.
        #[test]
        fn the_wrong_ca_or_no_client_certificate_is_refused() {
            let pki = pki();
            let cases = [
                (
                    Some(pem("OTEL_EXPORTER_OTLP_CERTIFICATE", &pki.other_ca_pem)),
                    client_identity(&pki),
                ),
                (None, client_identity(&pki)),
                (Some(pem("OTEL_EXPORTER_OTLP_CERTIFICATE", &pki.ca_pem)), None),
            ];
            for (i, (trusted, client)) in cases.into_iter().enumerate() {
                let (url, seen) = collector(&pki);
                let exporter = export_to(&url, OtlpTls { trusted, client });
                assert_eq!(exporter.dropped(), 1, "case {i}");
                let seen = seen.lock().unwrap();
                assert!(
                    !seen.is_empty() && seen.iter().all(Result::is_err),
                    "case {i}: {seen:?}"
                );
            }
        }

        /// Files that hold no certificate or key stop the exporter naming the variable and path,
        /// never the contents.
        #[test]
        fn unusable_files_are_named_not_shown() {
            let pki = pki();
            let start = |tls| {
                let mut target = HttpTarget::new("https://127.0.0.1:1/v1/traces");
                target.tls = tls;
                OtlpHttpExporter::new(target, &Resource::builder_empty().build())
                    .unwrap_err()
                    .to_string()
            };
            let e = start(OtlpTls {
                trusted: Some(pem("OTEL_EXPORTER_OTLP_CERTIFICATE", "not a certificate")),
                client: None,
            });
            assert_eq!(
                e,
                "OTEL_EXPORTER_OTLP_CERTIFICATE: \"/etc/otel/otel_exporter_otlp_certificate.pem\" holds no PEM \
                 certificate (-----BEGIN CERTIFICATE-----)"
            );
            // The certificate where the key should be: no private key in it.
            let e = start(OtlpTls {
                trusted: None,
                client: Some((
                    pem("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &pki.client_pem.0),
                    pem("OTEL_EXPORTER_OTLP_CLIENT_KEY", &pki.client_pem.0),
                )),
            });
            assert!(e.starts_with("OTEL_EXPORTER_OTLP_CLIENT_KEY: \"/etc/otel/otel_exporter_otlp_client_key.pem\" holds no PEM private key"), "{e}");
            // A key block whose body is not a key: named, its text not shown.
            let garbage =
                "-----BEGIN PRIVATE KEY-----\nc2stbGl2ZS1zZWNyZXQtdmFsdWU=\n-----END PRIVATE KEY-----\n";
            let e = start(OtlpTls {
                trusted: None,
                client: Some((
                    pem("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &pki.client_pem.0),
                    pem("OTEL_EXPORTER_OTLP_CLIENT_KEY", garbage),
                )),
            });
            assert!(
                e.contains("OTEL_EXPORTER_OTLP_CLIENT_KEY")
                    && e.contains("/etc/otel/otel_exporter_otlp_client_key.pem"),
                "{e}"
            );
            assert!(!e.contains("c2stbGl2ZS") && !e.contains("sk-live"), "{e}");
        }
    }
}
