//! Panics as one JSON log line, with the invocation's context.
//!
//! Rust's default panic hook prints `thread 'main' panicked at src/x.rs:3:5:\nmessage` and, with
//! `RUST_BACKTRACE`, a multi-line backtrace to stderr: plain text beside the JSON lines, split into
//! several CloudWatch events, with no request id. [`PanicHook`] replaces it (installed by
//! `telemetry::init`) with one JSON object on stdout in the logger's shape: `level` `ERROR`, `message`
//! (the panic message, redacted), the Powertools root keys, `location` (`file:line:column`), `thread`,
//! and, when Rust's own rule says to capture one, `backtrace` as a single string field. That rule is
//! [`Backtrace::capture`](std::backtrace::Backtrace::capture)'s: `RUST_LIB_BACKTRACE`, else
//! `RUST_BACKTRACE`, set and not `0`. Symbolising a large Lambda binary takes tens to hundreds of
//! milliseconds, and a handler that panics per record (caught by the invocation layer) would pay it per
//! record; [`PanicHook::with_backtraces`] overrides the rule.
//!
//! The context comes from [`InvocationFacts`], which the invocation layer makes current on the thread
//! while it runs (polls) the handler: a thread-local, so the hook takes no lock a panicking layer could
//! hold and every concurrent invocation (Lambda Managed Instances) sees its own. A panic outside an
//! invocation (init, a task spawned without the invocation) is still one JSON line, without the
//! request id.

use super::LogConfig;
use super::record::{FieldValue, Line, Printed};
use crate::clock::{Clock, Stamp, SystemClock};
use std::cell::RefCell;
use std::io::{self, Write};
use std::panic::PanicHookInfo;
use std::sync::Arc;
use tracing_subscriber::fmt::MakeWriter;

/// What a panic line says about the invocation it happened in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvocationFacts {
    /// `function_request_id`.
    pub request_id: String,
    /// `function_arn`.
    pub function_arn: String,
    /// `xray_trace_id` (the `Root` of the trace header).
    pub xray_trace_id: Option<String>,
    /// `correlation_id`.
    pub correlation_id: Option<String>,
    /// `cold_start`.
    pub cold_start: bool,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<InvocationFacts>>> = const { RefCell::new(None) };
}

/// While alive, `facts` are the current invocation's on this thread (the previous ones come back on drop).
#[derive(Debug)]
#[must_use = "the facts are current only while the guard lives"]
pub struct InvocationScope {
    previous: Option<Arc<InvocationFacts>>,
}

impl InvocationFacts {
    /// Makes these facts current on this thread until the guard drops.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use telemetry::logs::InvocationFacts;
    /// let facts = Arc::new(InvocationFacts { request_id: "r-1".into(), ..Default::default() });
    /// let _scope = InvocationFacts::enter(&facts);
    /// assert_eq!(InvocationFacts::current().unwrap().request_id, "r-1");
    /// ```
    pub fn enter(facts: &Arc<Self>) -> InvocationScope {
        let previous = CURRENT
            .try_with(|c| {
                c.try_borrow_mut()
                    .ok()
                    .and_then(|mut c| c.replace(Arc::clone(facts)))
            })
            .ok()
            .flatten();
        InvocationScope { previous }
    }

    /// The facts current on this thread, if any.
    #[must_use]
    pub fn current() -> Option<Arc<Self>> {
        CURRENT
            .try_with(|c| c.try_borrow().ok().and_then(|c| c.clone()))
            .ok()
            .flatten()
    }
}

impl Drop for InvocationScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                *c = previous;
            }
        });
    }
}

/// When a panic line carries a `backtrace`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Backtraces {
    /// As Rust's default hook: when `RUST_LIB_BACKTRACE` or `RUST_BACKTRACE` enables it
    /// ([`Backtrace::capture`](std::backtrace::Backtrace::capture)).
    #[default]
    FromEnv,
    /// On every panic.
    Always,
    /// Never.
    Never,
}

/// A panic hook that writes one JSON line. See the [module docs](self).
///
/// ```
/// use telemetry::logs::{LogConfig, PanicHook};
/// PanicHook::new(LogConfig::from_env()).install();
/// ```
#[derive(Debug)]
pub struct PanicHook<W = fn() -> io::Stdout> {
    cfg: LogConfig,
    writer: W,
    clock: Arc<dyn Clock>,
    backtraces: Backtraces,
}

impl PanicHook {
    /// A hook writing to stdout, as the logger does, with `cfg`'s service, function and redaction.
    #[must_use]
    pub fn new(cfg: LogConfig) -> Self {
        Self {
            cfg,
            writer: io::stdout,
            clock: Arc::new(SystemClock),
            backtraces: Backtraces::FromEnv,
        }
    }
}

impl<W> PanicHook<W>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    /// Writes through `writer` instead (tests).
    #[must_use]
    pub fn with_writer<W2>(self, writer: W2) -> PanicHook<W2> {
        PanicHook {
            cfg: self.cfg,
            writer,
            clock: self.clock,
            backtraces: self.backtraces,
        }
    }

    /// When to capture a backtrace (default [`Backtraces::FromEnv`]).
    #[must_use]
    pub fn with_backtraces(mut self, backtraces: Backtraces) -> Self {
        self.backtraces = backtraces;
        self
    }

    /// Uses `clock` for the timestamp.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Replaces the process's panic hook (the default one's text is not printed).
    pub fn install(self) {
        std::panic::set_hook(Box::new(move |info| self.report(info)));
    }

    /// Writes the line for `info` (what the installed hook does).
    pub fn report(&self, info: &PanicHookInfo<'_>) {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("Box<dyn Any>");
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        let backtrace = match self.backtraces {
            Backtraces::FromEnv => Some(std::backtrace::Backtrace::capture()),
            Backtraces::Always => Some(std::backtrace::Backtrace::force_capture()),
            Backtraces::Never => None,
        }
        .filter(|b| b.status() == std::backtrace::BacktraceStatus::Captured)
        .map(|b| b.to_string());
        let thread = std::thread::current().name().unwrap_or("<unnamed>").to_owned();
        let line = self.render(
            message,
            location,
            backtrace,
            thread,
            InvocationFacts::current().as_deref(),
        );
        let _ = self
            .writer
            .make_writer()
            .write_all(&super::record::within_event_limit(&line, false));
    }

    fn render(
        &self,
        message: &str,
        location: Option<String>,
        backtrace: Option<String>,
        thread: String,
        facts: Option<&InvocationFacts>,
    ) -> Vec<u8> {
        let str_value = |s: &str| FieldValue::Str(s.into());
        let cold = facts.map(|f| FieldValue::Bool(f.cold_start));
        let arn = facts.map(|f| str_value(&f.function_arn));
        let request = facts.map(|f| str_value(&f.request_id));
        let trace = facts.and_then(|f| f.xray_trace_id.as_deref()).map(str_value);
        let correlation = facts.and_then(|f| f.correlation_id.as_deref()).map(str_value);
        // Nothing here was redacted yet: every value goes through the line's redactor.
        fn scan(v: Option<&FieldValue>) -> Option<Printed<'_>> {
            v.map(|v| (v, None))
        }
        let context = [
            scan(cold.as_ref()),
            None,
            None,
            scan(arn.as_ref()),
            scan(request.as_ref()),
            scan(trace.as_ref()),
            scan(correlation.as_ref()),
        ];
        let location = location.map(|l| FieldValue::Str(l.into()));
        let thread = FieldValue::Str(thread.into());
        let backtrace = backtrace.map(|b| FieldValue::Str(b.into()));
        let mut fields: Vec<(&str, Printed<'_>)> = Vec::with_capacity(3);
        if let Some(l) = &location {
            fields.push(("location", (l, None)));
        }
        fields.push(("thread", (&thread, None)));
        if let Some(b) = &backtrace {
            fields.push(("backtrace", (b, None)));
        }
        let ts = Stamp::new(self.clock.now());
        let line = Line {
            timestamp: &ts,
            // Under `AWS_LAMBDA_LOG_LEVEL=FATAL` Lambda drops every ERROR line: a panic is fatal to the
            // invocation, and the one line saying why must get through.
            level: if self.cfg.alc_fatal { "FATAL" } else { "ERROR" },
            message,
            cfg: &self.cfg,
            context,
            fields: &fields,
            context_block: None,
        };
        let mut out = Vec::with_capacity(1024);
        if serde_json::to_writer(&mut out, &line).is_err() {
            out.clear();
            out.extend_from_slice(if self.cfg.alc_fatal {
                br#"{"level":"FATAL","message":"panic (unprintable)"}"#.as_slice()
            } else {
                br#"{"level":"ERROR","message":"panic (unprintable)"}"#.as_slice()
            });
        }
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::context::FunctionInfo;
    use crate::testing::CapturedWriter;
    use serde_json::Value;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    #[test]
    fn a_panic_is_one_json_line_with_the_invocation_context() {
        let out = CapturedWriter::default();
        let cfg = LogConfig::new("valuation").with_function(FunctionInfo {
            service: "valuation".into(),
            function_name: Some("valuate".into()),
            memory_size: Some(512),
            ..FunctionInfo::default()
        });
        let hook = PanicHook::new(cfg.clone())
            .with_writer(out.clone())
            .with_clock(FixedClock::from_millis(1_764_662_400_000))
            .with_backtraces(Backtraces::Always);
        let previous = std::panic::take_hook();
        hook.install();
        let facts = Arc::new(InvocationFacts {
            request_id: "req-7".into(),
            function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:valuate".into(),
            xray_trace_id: Some("1-5759e988-bd862e3fe1be46a994272793".into()),
            correlation_id: Some("api-7".into()),
            cold_start: true,
        });
        let inside = catch_unwind(AssertUnwindSafe(|| {
            let _scope = InvocationFacts::enter(&facts);
            panic!("card c-1 has no grade; owner bob@example.com");
        }));
        let outside = catch_unwind(|| panic!("at init"));
        // Rust's rule by default (RUST_BACKTRACE / RUST_LIB_BACKTRACE), or never.
        let env_default = PanicHook::new(cfg.clone()).with_writer(out.clone());
        env_default.install();
        let _ = catch_unwind(|| panic!("by the env rule"));
        PanicHook::new(cfg)
            .with_writer(out.clone())
            .with_backtraces(Backtraces::Never)
            .install();
        let _ = catch_unwind(|| panic!("never a backtrace"));
        // Lambda keeps only FATAL lines under AWS_LAMBDA_LOG_LEVEL=FATAL: the panic's is one.
        let fatal_only = LogConfig::from_lookup(|k| (k == "AWS_LAMBDA_LOG_LEVEL").then(|| "fatal".into()));
        PanicHook::new(fatal_only).with_writer(out.clone()).install();
        let _ = catch_unwind(|| panic!("under FATAL"));
        std::panic::set_hook(previous);
        assert!(inside.is_err() && outside.is_err());
        assert!(
            InvocationFacts::current().is_none(),
            "the scope ended with the unwind"
        );

        let text = out.contents();
        let ours: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| {
                v["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("card c-1") || m == "at init")
            })
            .collect();
        assert_eq!(ours.len(), 2, "{text}");
        let p = &ours[0];
        assert_eq!(p["level"], "ERROR");
        assert_eq!(p["message"], "card c-1 has no grade; owner [REDACTED]");
        assert_eq!(p["timestamp"], "2025-12-02T08:00:00.000Z");
        assert_eq!(p["service"], "valuation");
        assert_eq!(p["function_name"], "valuate");
        assert_eq!(p["function_memory_size"], 512);
        assert_eq!(p["function_request_id"], "req-7");
        assert_eq!(p["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(p["correlation_id"], "api-7");
        assert_eq!(p["cold_start"], true);
        let location = p["location"].as_str().unwrap();
        assert!(location.starts_with("telemetry/src/logs/panic.rs:"), "{location}");
        assert_eq!(location.split(':').count(), 3, "file:line:column");
        assert!(
            !p["backtrace"].as_str().unwrap().is_empty(),
            "a captured backtrace"
        );
        let o = &ours[1];
        assert!(o.get("function_request_id").is_none());
        assert_eq!(o["service"], "valuation");

        let line = |message: &str| {
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find(|v| v["message"] == message)
                .unwrap_or_else(|| panic!("no line {message:?} in {text}"))
        };
        assert_eq!(line("under FATAL")["level"], "FATAL");
        assert_eq!(line("by the env rule")["level"], "ERROR");
        let never = line("never a backtrace");
        assert!(never.get("backtrace").is_none(), "{never}");
        assert_eq!(never["thread"], p["thread"], "the rest of the line stays");
        let by_env = line("by the env rule");
        let env_on = ["RUST_LIB_BACKTRACE", "RUST_BACKTRACE"]
            .iter()
            .find_map(|k| std::env::var(k).ok())
            .is_some_and(|v| v != "0");
        assert_eq!(by_env.get("backtrace").is_some(), env_on, "{by_env}");
    }
}
