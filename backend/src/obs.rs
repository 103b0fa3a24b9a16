//! The per-request log line every function writes, with seed 001's "Structured Logging" keys:
//! `timestamp`, `level`, `requestId`, `userId` (a keyed pseudonym, never the `sub`), `operation`,
//! `duration` (whole milliseconds) and `status` (`success`; beyond the seed's example, `client_error`
//! and `server_error`) — at INFO on success, WARN for client errors and ERROR for server errors
//! (which also flushes `telemetry`'s buffered debug lines).
//!
//! Business metrics are emitted with the `metrics` macros under names from
//! [`telemetry::catalogue::MetricName`]; `telemetry::layer()` flushes them as EMF at the end of the
//! invocation.

use crate::HandlerError;
use crate::identity::UserHasher;
use std::time::Instant;
use telemetry::catalogue::{Agent, DimensionKey, MetricName};

/// The outcome of one request, as logged in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done (HTTP 2xx, task succeeded).
    Success,
    /// The caller's mistake (4xx).
    ClientError,
    /// Ours or a dependency's (5xx, task failed).
    ServerError,
}

impl Status {
    /// The logged value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::ClientError => "client_error",
            Self::ServerError => "server_error",
        }
    }
}

/// Times one request and writes its summary line when finished.
#[derive(Debug)]
pub struct RequestLog {
    operation: &'static str,
    request_id: String,
    user: Option<String>,
    started: Instant,
}

impl RequestLog {
    /// Starts timing `operation` for the Lambda request `request_id`.
    ///
    /// ```
    /// let mut log = backend::obs::RequestLog::start("cards_get", "req-1");
    /// let outcome: Result<u16, backend::HandlerError> = Ok(200);
    /// log.finish_http(&outcome.map(|s| s));
    /// ```
    #[must_use]
    pub fn start(operation: &'static str, request_id: &str) -> Self {
        Self {
            operation,
            request_id: request_id.to_owned(),
            user: None,
            started: Instant::now(),
        }
    }

    /// Attaches the caller, as the keyed pseudonym of `sub`.
    pub fn user(&mut self, hasher: &UserHasher, sub: &str) {
        self.user = Some(hasher.hash(sub));
    }

    /// Attaches the caller by a pseudonym [`UserHasher::hash`] already made (a valuation's, carried in
    /// the execution input). Anything not shaped like one (`u_` + 32 lowercase hex) is left out: a raw
    /// `sub` in the wrong field must never reach a log line.
    ///
    /// ```
    /// let mut log = backend::obs::RequestLog::start("pricing_agent", "req-1");
    /// log.user_pseudonym(Some("7d3a1f2e-5b6c-4d8e-9f00-1a2b3c4d5e6f"));
    /// assert_eq!(log.user_id(), "anonymous");
    /// log.user_pseudonym(Some("u_0123456789abcdef0123456789abcdef"));
    /// assert_eq!(log.user_id(), "u_0123456789abcdef0123456789abcdef");
    /// ```
    pub fn user_pseudonym(&mut self, pseudonym: Option<&str>) {
        if let Some(p) = pseudonym.filter(|p| crate::identity::is_pseudonym(p)) {
            self.user = Some(p.to_owned());
        }
    }

    /// The `userId` the summary line will carry.
    #[must_use]
    pub fn user_id(&self) -> &str {
        self.user.as_deref().unwrap_or("anonymous")
    }

    /// Milliseconds since [`RequestLog::start`].
    #[must_use]
    pub fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// Writes the summary line for an HTTP answer (`Ok(status code)`) or an error.
    pub fn finish_http(self, outcome: &Result<u16, HandlerError>) {
        match outcome {
            Ok(code) if *code < 400 => self.write(Status::Success, Some(*code), None),
            Ok(code) if *code < 500 => self.write(Status::ClientError, Some(*code), None),
            Ok(code) => self.write(Status::ServerError, Some(*code), None),
            Err(e) => self.write_error(e),
        }
    }

    /// Writes the summary line for a task result.
    pub fn finish<T>(self, outcome: &Result<T, HandlerError>) {
        match outcome {
            Ok(_) => self.write(Status::Success, None, None),
            Err(e) => self.write_error(e),
        }
    }

    fn write_error(self, e: &HandlerError) {
        let status = if e.is_client_error() {
            Status::ClientError
        } else {
            Status::ServerError
        };
        self.write(status, Some(e.http_status()), Some(e));
    }

    fn write(self, status: Status, http_status: Option<u16>, error: Option<&HandlerError>) {
        let duration = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let user = self.user.as_deref().unwrap_or("anonymous");
        let error_type = error.map(HandlerError::error_type);
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    operation = self.operation,
                    duration,
                    status = status.as_str(),
                    http_status,
                    requestId = self.request_id.as_str(),
                    userId = user,
                    error_type,
                    error = error.map(|e| e as &dyn std::error::Error),
                    "request completed"
                )
            };
        }
        match status {
            Status::Success => line!(info),
            Status::ClientError => line!(warn),
            Status::ServerError => line!(error),
        }
    }
}

/// Increments a catalogue counter dimensioned by `service` only.
pub fn count(metric: MetricName, n: u64) {
    metrics::counter!(metric.as_str()).increment(n);
}

/// Records a value of a catalogue metric dimensioned by `service` only.
pub fn record(metric: MetricName, value: f64) {
    metrics::histogram!(metric.as_str()).record(value);
}

/// Records `AgentDuration` for `agent`.
pub fn agent_duration(agent: Agent, ms: f64) {
    metrics::histogram!(
        MetricName::AgentDuration.as_str(),
        DimensionKey::Agent.as_str() => agent.as_str()
    )
    .record(ms);
}

/// Counts one Rekognition call of `operation` (`DetectText`, `DetectLabels`).
pub fn rekognition_call(operation: &'static str) {
    metrics::counter!(
        MetricName::RekognitionCalls.as_str(),
        DimensionKey::Operation.as_str() => operation
    )
    .increment(1);
}
/// Test support: the `request completed` lines a future writes, read back as JSON objects.
#[cfg(test)]
pub(crate) mod capture {
    use serde_json::{Map, Value};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::instrument::WithSubscriber as _;
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// Every event as one JSON object: its fields by name (`message` included) and `level`.
    #[derive(Default)]
    struct Lines {
        events: Mutex<Vec<Map<String, Value>>>,
        next_span: AtomicU64,
    }

    struct Fields<'a>(&'a mut Map<String, Value>);

    impl Visit for Fields<'_> {
        fn record_str(&mut self, f: &Field, v: &str) {
            self.0.insert(f.name().to_owned(), v.into());
        }
        fn record_u64(&mut self, f: &Field, v: u64) {
            self.0.insert(f.name().to_owned(), v.into());
        }
        fn record_i64(&mut self, f: &Field, v: i64) {
            self.0.insert(f.name().to_owned(), v.into());
        }
        fn record_f64(&mut self, f: &Field, v: f64) {
            self.0.insert(f.name().to_owned(), v.into());
        }
        fn record_bool(&mut self, f: &Field, v: bool) {
            self.0.insert(f.name().to_owned(), v.into());
        }
        fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
            self.0.insert(f.name().to_owned(), format!("{v:?}").into());
        }
    }

    /// The subscriber writing into shared [`Lines`].
    struct Capture(Arc<Lines>);

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(self.0.next_span.fetch_add(1, Ordering::Relaxed) + 1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut line = Map::new();
            line.insert("level".into(), event.metadata().level().as_str().into());
            event.record(&mut Fields(&mut line));
            self.0
                .events
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// Runs `f` with every tracing event it writes captured; returns its output and the
    /// `request completed` lines.
    pub(crate) async fn summary_lines<F: Future>(f: F) -> (F::Output, Vec<Map<String, Value>>) {
        let lines = Arc::new(Lines::default());
        let out = f.with_subscriber(Capture(Arc::clone(&lines))).await;
        let summaries = lines
            .events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|l| l.get("message").and_then(Value::as_str) == Some("request completed"))
            .cloned()
            .collect();
        (out, summaries)
    }
}
