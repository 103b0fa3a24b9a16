//! Structured JSON logs with Powertools keys, as a `tracing` [`Layer`](tracing_subscriber::Layer).
//!
//! One JSON object per line:
//! `timestamp` (RFC 3339, ms, UTC), `level`, `message`, `service`, `cold_start`, `function_name`,
//! `function_memory_size`, `function_arn`, `function_request_id`, `xray_trace_id`, `correlation_id`,
//! then the event's fields and the fields of its enclosing spans, flattened (inner wins). Errors recorded
//! as `&dyn Error` become `error {name, type, message, cause {message, cause …}, causes[]}` (`cause`
//! nested as Powertools for TypeScript writes it; `causes` the same chain as a list).
//!
//! Level precedence: `AWS_LAMBDA_LOG_LEVEL` > code ([`LogConfig::with_level`]) > `POWERTOOLS_LOG_LEVEL` >
//! `LOG_LEVEL` (Powertools' legacy name) > `RUST_LOG` > INFO. `POWERTOOLS_LOGGER_SAMPLE_RATE` turns
//! DEBUG on for a sampled fraction of invocations; `POWERTOOLS_DEV` pretty-prints. Redaction ([`Redactor`], [`crate::redact`]) is on by
//! default, for the message, every field and the context keys, bounded per line. Log
//! buffering ([`BufferConfig`]) is opt-in.

mod buffer;
mod layer;
mod panic;
mod record;

pub use crate::redact::{DEFAULT_DENY_LIST, DEFAULT_MAX_SCAN_BYTES, REDACTED, Redactor};
pub use buffer::BufferConfig;
pub use layer::JsonLogLayer;
#[cfg(feature = "xray")]
pub(crate) use layer::SpanFields;
pub use panic::{Backtraces, InvocationFacts, InvocationScope, PanicHook};
pub use record::{MAX_LINE_BYTES, within_event_limit};

// Where it was first published; the one definition is in `context`, shared with `emf` and `lambda`.
pub use crate::context::is_truthy;

use crate::context::FunctionInfo;
use tracing::level_filters::LevelFilter;

/// Where the effective level came from (reported by `init` for operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelSource {
    /// `AWS_LAMBDA_LOG_LEVEL` (Lambda advanced logging controls): always wins.
    LambdaAdvancedLogging,
    /// Set in code.
    Code,
    /// `POWERTOOLS_LOG_LEVEL`.
    Powertools,
    /// `LOG_LEVEL` (Powertools' legacy name, read after `POWERTOOLS_LOG_LEVEL`).
    LogLevel,
    /// `RUST_LOG` (its bare level directive).
    RustLog,
    /// Nothing set: INFO.
    Default,
}

/// Logger configuration. Build with [`LogConfig::from_env`] or [`LogConfig::new`].
#[derive(Debug, Clone)]
pub struct LogConfig {
    pub(crate) function: FunctionInfo,
    pub(crate) alc_level: Option<LevelFilter>,
    /// `AWS_LAMBDA_LOG_LEVEL` is `FATAL`: Lambda keeps only `FATAL` lines, so a panic's is written so.
    pub(crate) alc_fatal: bool,
    pub(crate) code_level: Option<LevelFilter>,
    pub(crate) env_level: Option<(LevelFilter, LevelSource)>,
    pub(crate) sample_rate: f64,
    /// `POWERTOOLS_LOGGER_LOG_EVENT`: each invocation's event logged at INFO.
    pub(crate) log_event: bool,
    pub(crate) pretty: bool,
    pub(crate) redactor: Option<Redactor>,
    pub(crate) buffer: Option<BufferConfig>,
}

impl LogConfig {
    /// A configuration for `service` with no environment influence (tests).
    ///
    /// ```
    /// use telemetry::logs::LogConfig;
    /// use tracing::level_filters::LevelFilter;
    /// let cfg = LogConfig::new("valuation").with_level(LevelFilter::DEBUG);
    /// assert_eq!(cfg.level(), LevelFilter::DEBUG);
    /// ```
    #[must_use]
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            function: FunctionInfo {
                service: service.into(),
                ..FunctionInfo::default()
            },
            alc_level: None,
            alc_fatal: false,
            code_level: None,
            env_level: None,
            sample_rate: 0.0,
            log_event: false,
            pretty: false,
            redactor: Some(Redactor::default()),
            buffer: None,
        }
    }

    /// Reads the process environment.
    #[must_use]
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the environment through `lookup`.
    ///
    /// ```
    /// use telemetry::logs::{LevelSource, LogConfig};
    /// use tracing::level_filters::LevelFilter;
    /// let cfg = LogConfig::from_lookup(|k| match k {
    ///     "AWS_LAMBDA_LOG_LEVEL" => Some("WARN".into()),
    ///     "POWERTOOLS_LOG_LEVEL" => Some("debug".into()),
    ///     _ => None,
    /// })
    /// .with_level(LevelFilter::TRACE);
    /// assert_eq!(cfg.level_and_source(), (LevelFilter::WARN, LevelSource::LambdaAdvancedLogging));
    /// ```
    #[must_use]
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let function = FunctionInfo::from_lookup(&lookup);
        let level_var = |k: &str| lookup(k).as_deref().and_then(parse_level);
        let alc_level = level_var("AWS_LAMBDA_LOG_LEVEL");
        let alc_fatal =
            lookup("AWS_LAMBDA_LOG_LEVEL").is_some_and(|l| l.trim().eq_ignore_ascii_case("fatal"));
        let env_level = level_var("POWERTOOLS_LOG_LEVEL")
            .map(|l| (l, LevelSource::Powertools))
            .or_else(|| level_var("LOG_LEVEL").map(|l| (l, LevelSource::LogLevel)))
            .or_else(|| {
                lookup("RUST_LOG")
                    .as_deref()
                    .and_then(parse_rust_log)
                    .map(|l| (l, LevelSource::RustLog))
            });
        let sample_rate = lookup("POWERTOOLS_LOGGER_SAMPLE_RATE")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|r| r.is_finite())
            .map_or(0.0, |r| r.clamp(0.0, 1.0));
        let pretty = lookup("POWERTOOLS_DEV").is_some_and(|v| is_truthy(&v));
        let log_event = lookup("POWERTOOLS_LOGGER_LOG_EVENT").is_some_and(|v| is_truthy(&v));
        Self {
            function,
            alc_level,
            alc_fatal,
            code_level: None,
            env_level,
            sample_rate,
            log_event,
            pretty,
            redactor: Some(Redactor::default()),
            buffer: None,
        }
    }

    /// Sets the level in code (beaten only by `AWS_LAMBDA_LOG_LEVEL`).
    #[must_use]
    pub fn with_level(mut self, level: LevelFilter) -> Self {
        self.code_level = Some(level);
        self
    }

    /// Sets the function facts (service, name, memory) printed on every line.
    #[must_use]
    pub fn with_function(mut self, function: FunctionInfo) -> Self {
        self.function = function;
        self
    }

    /// Sets the debug sampling rate (0..=1) decided per invocation.
    #[must_use]
    pub fn with_sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = if rate.is_finite() {
            rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Logs each invocation's event at INFO (`"message":"Lambda invocation event"`, the event under
    /// `event`, redacted like every field), as `POWERTOOLS_LOGGER_LOG_EVENT=true` does.
    #[must_use]
    pub fn with_log_event(mut self, on: bool) -> Self {
        self.log_event = on;
        self
    }

    /// Whether each invocation's event is logged ([`LogConfig::with_log_event`]).
    #[must_use]
    pub fn log_event(&self) -> bool {
        self.log_event
    }

    /// Pretty-prints (multi-line JSON) for humans, as `POWERTOOLS_DEV` does.
    #[must_use]
    pub fn with_pretty(mut self, pretty: bool) -> Self {
        self.pretty = pretty;
        self
    }

    /// Replaces the redactor; `None` turns redaction off.
    #[must_use]
    pub fn with_redactor(mut self, redactor: Option<Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// Turns log buffering on.
    #[must_use]
    pub fn with_buffer(mut self, buffer: BufferConfig) -> Self {
        self.buffer = Some(buffer);
        self
    }

    /// The effective level.
    #[must_use]
    pub fn level(&self) -> LevelFilter {
        self.level_and_source().0
    }

    /// The effective level and where it came from.
    #[must_use]
    pub fn level_and_source(&self) -> (LevelFilter, LevelSource) {
        if let Some(l) = self.alc_level {
            (l, LevelSource::LambdaAdvancedLogging)
        } else if let Some(l) = self.code_level {
            (l, LevelSource::Code)
        } else if let Some((l, s)) = self.env_level {
            (l, s)
        } else {
            (LevelFilter::INFO, LevelSource::Default)
        }
    }

    /// The debug sampling rate.
    #[must_use]
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The most verbose level a debug-sampled invocation prints: DEBUG, unless Lambda's advanced
    /// logging controls ask for less — `AWS_LAMBDA_LOG_LEVEL` wins over sampling as over every other
    /// setting (Powertools' sampling sets DEBUG only where `AWS_LAMBDA_LOG_LEVEL` allows it, and
    /// Lambda drops the lines below that level anyway).
    pub(crate) fn sampled_level(&self) -> LevelFilter {
        self.alc_level
            .map_or(LevelFilter::DEBUG, |alc| alc.min(LevelFilter::DEBUG))
    }

    /// The most verbose level any event can be printed or buffered at.
    pub(crate) fn max_possible(&self) -> LevelFilter {
        let mut max = self.level();
        if self.sample_rate > 0.0 && max < self.sampled_level() {
            max = self.sampled_level();
        }
        if let Some(b) = &self.buffer {
            max = max.max(LevelFilter::from_level(b.level));
        }
        max
    }
}

/// Parses `TRACE`, `debug`, `Info`, `WARN`/`WARNING`, `ERROR`/`CRITICAL`/`FATAL`, `OFF`/`SILENT`.
#[must_use]
pub fn parse_level(s: &str) -> Option<LevelFilter> {
    match s.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(LevelFilter::TRACE),
        "debug" => Some(LevelFilter::DEBUG),
        "info" => Some(LevelFilter::INFO),
        "warn" | "warning" => Some(LevelFilter::WARN),
        "error" | "critical" | "fatal" => Some(LevelFilter::ERROR),
        "off" | "silent" => Some(LevelFilter::OFF),
        _ => None,
    }
}

/// The bare level directive of a `RUST_LOG` value (`info,hyper=warn` → INFO).
fn parse_rust_log(s: &str) -> Option<LevelFilter> {
    s.split(',').filter(|d| !d.contains('=')).find_map(parse_level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> LogConfig {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        LogConfig::from_lookup(move |k| m.get(k).cloned())
    }

    #[test]
    fn level_precedence() {
        assert_eq!(
            cfg(&[]).level_and_source(),
            (LevelFilter::INFO, LevelSource::Default)
        );
        assert_eq!(
            cfg(&[("RUST_LOG", "hyper=warn,debug")]).level_and_source(),
            (LevelFilter::DEBUG, LevelSource::RustLog)
        );
        let c = cfg(&[("RUST_LOG", "trace"), ("POWERTOOLS_LOG_LEVEL", "WARN")]);
        assert_eq!(c.level_and_source(), (LevelFilter::WARN, LevelSource::Powertools));
        assert_eq!(
            c.clone().with_level(LevelFilter::ERROR).level_and_source(),
            (LevelFilter::ERROR, LevelSource::Code)
        );
        let c = cfg(&[
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ("POWERTOOLS_LOG_LEVEL", "WARN"),
        ])
        .with_level(LevelFilter::ERROR);
        assert_eq!(
            c.level_and_source(),
            (LevelFilter::DEBUG, LevelSource::LambdaAdvancedLogging)
        );
    }

    /// `LOG_LEVEL`, Powertools Python's legacy variable, is read after `POWERTOOLS_LOG_LEVEL` and
    /// before `RUST_LOG`.
    #[test]
    fn legacy_log_level_after_powertools_log_level() {
        assert_eq!(
            cfg(&[("LOG_LEVEL", "DEBUG"), ("RUST_LOG", "warn")]).level_and_source(),
            (LevelFilter::DEBUG, LevelSource::LogLevel)
        );
        assert_eq!(
            cfg(&[
                ("POWERTOOLS_LOG_LEVEL", "ERROR"),
                ("LOG_LEVEL", "DEBUG"),
                ("RUST_LOG", "trace")
            ])
            .level_and_source(),
            (LevelFilter::ERROR, LevelSource::Powertools)
        );
        // An unknown value is skipped, as for POWERTOOLS_LOG_LEVEL.
        assert_eq!(
            cfg(&[("LOG_LEVEL", "loud"), ("RUST_LOG", "warn")]).level_and_source(),
            (LevelFilter::WARN, LevelSource::RustLog)
        );
        let c = cfg(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("LOG_LEVEL", "DEBUG")]);
        assert_eq!(
            c.with_level(LevelFilter::ERROR).level_and_source(),
            (LevelFilter::WARN, LevelSource::LambdaAdvancedLogging)
        );
    }

    /// Powertools' true values (Python `strtobool`: `y`, `yes`, `t`, `true`, `on`, `1`,
    /// case-insensitive) turn `POWERTOOLS_DEV` on; its false values and anything else leave it off.
    #[test]
    fn powertools_dev_takes_every_powertools_true_value() {
        for on in ["y", "Y", "yes", "t", "T", "true", "True", "on", "1"] {
            assert!(cfg(&[("POWERTOOLS_DEV", on)]).pretty, "{on:?}");
        }
        for off in ["n", "no", "f", "false", "off", "0", "", "dev"] {
            assert!(!cfg(&[("POWERTOOLS_DEV", off)]).pretty, "{off:?}");
        }
    }

    #[test]
    fn sample_rate_and_dev() {
        let c = cfg(&[
            ("POWERTOOLS_LOGGER_SAMPLE_RATE", "0.25"),
            ("POWERTOOLS_DEV", "true"),
        ]);
        assert!((c.sample_rate() - 0.25).abs() < f64::EPSILON);
        assert!(c.pretty);
        assert_eq!(c.max_possible(), LevelFilter::DEBUG);
        assert_eq!(cfg(&[("POWERTOOLS_LOGGER_SAMPLE_RATE", "7")]).sample_rate(), 1.0);
        assert_eq!(
            cfg(&[("POWERTOOLS_LOGGER_SAMPLE_RATE", "NaN")]).sample_rate(),
            0.0
        );
    }

    #[test]
    fn log_event_is_read_as_powertools_reads_a_flag() {
        assert!(!cfg(&[]).log_event(), "off by default");
        assert!(cfg(&[("POWERTOOLS_LOGGER_LOG_EVENT", "true")]).log_event());
        assert!(cfg(&[("POWERTOOLS_LOGGER_LOG_EVENT", "1")]).log_event());
        assert!(!cfg(&[("POWERTOOLS_LOGGER_LOG_EVENT", "false")]).log_event());
        assert!(!cfg(&[("POWERTOOLS_LOGGER_LOG_EVENT", "")]).log_event());
    }
}
