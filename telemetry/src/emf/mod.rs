//! CloudWatch Embedded Metric Format through the `metrics` facade.
//!
//! Function code writes `metrics::counter!`, `gauge!` and `histogram!`; this recorder keeps counters as
//! sums, gauges as their last value and histograms as value arrays, and [`EmfRecorder::flush`] writes
//! them at the end of each invocation as EMF documents that respect the whole
//! [specification](https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
//! ≤ 100 metrics per document and ≤ 100 values per metric (split, never dropped), ≤ 30 dimensions,
//! name and length rules, the 27 units, `StorageResolution` 1 for high-resolution metrics, `Timestamp`
//! in ms, ≤ 256 KB per document; NaN, ±inf and out-of-range values are rejected with a warning.
//!
//! A cardinality guard decides which labels become dimensions (see [`EmfBuilder::allow_dimensions`]).
//!
//! Files, each depending only on the ones before it: `series` (what a key resolves to once: its
//! document group and series), `invocation` (one invocation's own buffer under Managed Instances
//! concurrency), `cells` (the process-wide counter/gauge/histogram cells, which route to the current
//! invocation), `scratch` (the flush's reused buffers), `recorder` (registration: the `metrics::Recorder`
//! and the resolution of keys), `flush` (drains cells or an invocation into documents); `json` and
//! `document` are the format, `guard` the cardinality guard, `units` the EMF units.

mod cells;
mod document;
mod flush;
mod guard;
mod invocation;
mod json;
mod key_cache;
mod recorder;
mod scratch;
mod series;
mod units;

pub use cells::MAX_PENDING_VALUES;
pub use document::{
    MAX_DIMENSIONS, MAX_DOCUMENT_BYTES, MAX_METRICS_PER_DOCUMENT, MAX_VALUES_PER_METRIC, SpecViolation,
    is_valid_value, validate,
};
pub use flush::FlushReport;
pub use guard::OVERFLOW_VALUE;
pub use invocation::{InvocationMetrics, InvocationScope, Scoped};
pub use recorder::EmfRecorder;
pub use units::EmfUnit;

use crate::catalogue::{DimensionKey, MetricName};
use crate::clock::{Clock, SystemClock};
use crate::context::is_truthy;
use document::{is_valid_dimension_name, is_valid_dimension_value, is_valid_namespace};
use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Powertools' namespace when none is configured.
pub const DEFAULT_NAMESPACE: &str = "default_namespace";

/// Why a recorder could not be built or installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The namespace breaks `^[a-zA-Z0-9._#:/-]{1,255}$` or uses the reserved `AWS/` prefix.
    #[error("invalid EMF namespace {0:?}")]
    InvalidNamespace(String),
    /// A default dimension has an invalid name or value.
    #[error("invalid default dimension {0:?}")]
    InvalidDimension(String),
    /// More default dimensions than EMF allows.
    #[error("{0} default dimensions; EMF allows {MAX_DIMENSIONS}")]
    TooManyDimensions(usize),
    /// A default dimension is named `level` or `timestamp` while documents open with those members
    /// for Lambda's log-level filter ([`EmfBuilder::lambda_log_level`]).
    #[error(
        "default dimension {0:?} would repeat the document's own `{0}` member, written for Lambda's log-level filter (AWS_LAMBDA_LOG_LEVEL)"
    )]
    LevelMemberDimension(String),
    /// Another global `metrics` recorder is already installed.
    #[error("a global metrics recorder is already installed")]
    AlreadyInstalled,
}

/// Builds an [`EmfRecorder`]: [`build`](Self::build) for a local recorder (tests),
/// [`install`](Self::install) for the global one.
///
/// Catalogue metrics come preconfigured: their units, and their catalogue dimension keys allow-listed.
///
/// ```
/// use telemetry::emf::{EmfBuilder, EmfUnit};
/// let rec = EmfBuilder::new()
///     .namespace("CollectIQ")
///     .service("valuation")
///     .allow_dimensions("UploadBytes", ["bucket"])
///     .with_unit("UploadBytes", EmfUnit::Bytes)
///     .high_resolution("UploadBytes")
///     .build()?;
/// assert!(!rec.is_disabled());
/// # Ok::<(), telemetry::emf::BuildError>(())
/// ```
pub struct EmfBuilder {
    namespace: String,
    service: String,
    dimensions: Vec<(String, String)>,
    units: HashMap<String, EmfUnit>,
    high_resolution: HashSet<String>,
    allow: HashMap<String, Vec<String>>,
    dimension_sets: HashMap<String, Vec<Vec<String>>>,
    allow_all: bool,
    max_values_per_key: usize,
    disabled: bool,
    function_name: Option<String>,
    level: Option<String>,
    writer: Box<dyn Write + Send>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for EmfBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfBuilder")
            .field("namespace", &self.namespace)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// The level an EMF document must carry to pass Lambda's log-level filter: the application log level
/// when the log format is JSON and that level drops INFO lines (WARN, ERROR, FATAL), else none (a
/// line without `level` is INFO, which passes). Lambda filters only JSON-format logs.
fn lambda_filter_level(format: Option<&str>, level: Option<&str>) -> Option<String> {
    if !format.is_some_and(|f| f.trim().eq_ignore_ascii_case("json")) {
        return None;
    }
    let level = level?.trim().to_ascii_uppercase();
    matches!(level.as_str(), "WARN" | "ERROR" | "FATAL").then_some(level)
}

impl Default for EmfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl EmfBuilder {
    /// Defaults: namespace `default_namespace`, service `service_undefined`, stdout, the catalogue's
    /// units and allow-lists, 50 distinct values per dimension key.
    #[must_use]
    pub fn new() -> Self {
        let mut units = HashMap::new();
        let mut allow: HashMap<String, Vec<String>> = HashMap::new();
        let mut dimension_sets: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        for m in MetricName::ALL {
            let spec = m.spec();
            units.insert(m.as_str().to_owned(), EmfUnit::from_catalogue(spec.unit));
            let keys = allow.entry(m.as_str().to_owned()).or_default();
            let label_sets: Vec<Vec<String>> = spec
                .dimension_sets
                .iter()
                .map(|set| {
                    set.iter()
                        .filter(|k| !matches!(k, DimensionKey::Service | DimensionKey::FunctionName))
                        .map(|k| k.as_str().to_owned())
                        .collect()
                })
                .collect();
            for k in label_sets.iter().flatten() {
                if !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
            // A metric the catalogue emits with several sets (a rollup and its finer set) carries
            // them all in one document's `Dimensions`.
            if label_sets.len() > 1 {
                dimension_sets.insert(m.as_str().to_owned(), label_sets);
            }
        }
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            service: "service_undefined".to_owned(),
            dimensions: Vec::new(),
            units,
            high_resolution: HashSet::new(),
            allow,
            dimension_sets,
            allow_all: false,
            max_values_per_key: 50,
            disabled: false,
            function_name: None,
            level: None,
            writer: Box::new(io::stdout()),
            clock: Arc::new(SystemClock),
        }
    }

    /// Reads `POWERTOOLS_METRICS_NAMESPACE`, `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_FUNCTION_NAME`
    /// (else `AWS_LAMBDA_FUNCTION_NAME`), `POWERTOOLS_METRICS_DISABLED` (else `POWERTOOLS_DEV`), each
    /// flag on for Powertools' true values ([`crate::context::is_truthy`]), and `AWS_LAMBDA_LOG_FORMAT`
    /// with `AWS_LAMBDA_LOG_LEVEL` ([`lambda_log_level`](Self::lambda_log_level)).
    #[must_use]
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env) through `lookup`.
    ///
    /// ```
    /// let b = telemetry::emf::EmfBuilder::from_lookup(|k| (k == "POWERTOOLS_METRICS_DISABLED").then(|| "true".into()));
    /// assert!(b.build()?.is_disabled());
    /// # Ok::<(), telemetry::emf::BuildError>(())
    /// ```
    #[must_use]
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut b = Self::new();
        // Trimmed: a namespace set as `"CollectIQ "` by infrastructure code would otherwise refuse
        // every metric of the function (a space is outside the EMF libraries' namespace pattern).
        if let Some(ns) = get("POWERTOOLS_METRICS_NAMESPACE") {
            b.namespace = ns.trim().to_owned();
        }
        if let Some(s) = get("POWERTOOLS_SERVICE_NAME") {
            b.service = s;
        }
        b.function_name = get("POWERTOOLS_METRICS_FUNCTION_NAME").or_else(|| get("AWS_LAMBDA_FUNCTION_NAME"));
        b.level = lambda_filter_level(
            get("AWS_LAMBDA_LOG_FORMAT").as_deref(),
            get("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        );
        b.disabled = match get("POWERTOOLS_METRICS_DISABLED") {
            Some(v) => is_truthy(&v),
            None => get("POWERTOOLS_DEV").is_some_and(|v| is_truthy(&v)),
        };
        b
    }

    /// Sets the namespace.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the `service` default dimension.
    #[must_use]
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// Sets the function name used by the `ColdStart` metric.
    #[must_use]
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = Some(name.into());
        self
    }

    /// `name` as the `ColdStart` metric's function name, unless one is set already.
    #[cfg_attr(not(feature = "lambda"), allow(dead_code))]
    pub(crate) fn or_function_name(mut self, name: Option<String>) -> Self {
        if self.function_name.is_none() {
            self.function_name = name;
        }
        self
    }

    /// Adds a default dimension to every metric (besides `service`).
    #[must_use]
    pub fn with_dimension(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((key.into(), value.into()));
        self
    }

    /// Sets a metric's unit (`describe_*!` units override it).
    #[must_use]
    pub fn with_unit(mut self, metric: impl Into<String>, unit: EmfUnit) -> Self {
        self.units.insert(metric.into(), unit);
        self
    }

    /// Marks a metric high-resolution (`StorageResolution` 1).
    #[must_use]
    pub fn high_resolution(mut self, metric: impl Into<String>) -> Self {
        self.high_resolution.insert(metric.into());
        self
    }

    /// Lets these label keys of `metric` become dimensions; its other labels become root properties.
    #[must_use]
    pub fn allow_dimensions<I, S>(mut self, metric: impl Into<String>, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let entry = self.allow.entry(metric.into()).or_default();
        entry.extend(keys.into_iter().map(Into::into));
        self
    }

    /// Emits `metric` with several dimension sets in one document (EMF `Dimensions` is an array of
    /// sets; CloudWatch makes one metric per set): each set is the default dimensions plus the listed
    /// label keys, written when all its keys are dimensions of the recorded key. The set of all the
    /// key's dimensions is always written too. The keys are allow-listed as dimensions.
    ///
    /// ```
    /// let out = telemetry::emf::SharedBuffer::default();
    /// let rec = telemetry::emf::EmfBuilder::new()
    ///     .namespace("CollectIQ")
    ///     .service("upload")
    ///     .with_dimension_sets("UploadBytes", [vec!["bucket"], vec!["bucket", "content_type"]])
    ///     .with_writer(out.clone())
    ///     .build()?;
    /// metrics::with_local_recorder(&rec, || {
    ///     metrics::counter!("UploadBytes", "bucket" => "cards", "content_type" => "image/png").increment(10);
    /// });
    /// rec.flush();
    /// let doc: serde_json::Value = serde_json::from_str(out.contents().trim())?;
    /// assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
    ///     serde_json::json!([["service", "bucket"], ["service", "bucket", "content_type"]]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_dimension_sets<I, K, S>(mut self, metric: impl Into<String>, sets: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let metric = metric.into();
        let sets: Vec<Vec<String>> = sets
            .into_iter()
            .map(|set| set.into_iter().map(Into::into).collect())
            .collect();
        let allowed = self.allow.entry(metric.clone()).or_default();
        for k in sets.iter().flatten() {
            if !allowed.contains(k) {
                allowed.push(k.clone());
            }
        }
        self.dimension_sets.insert(metric, sets);
        self
    }

    /// Turns the allow-list off: every label becomes a dimension (the distinct-value cap still applies).
    #[must_use]
    pub fn allow_all_labels(mut self) -> Self {
        self.allow_all = true;
        self
    }

    /// Caps distinct values per metric and dimension key; later values become [`OVERFLOW_VALUE`].
    #[must_use]
    pub fn max_values_per_key(mut self, max: usize) -> Self {
        self.max_values_per_key = max.max(1);
        self
    }

    /// Opens every document with `"level":"<level>"` and its instant as an RFC 3339 `"timestamp"`.
    /// Lambda's log-level filter (JSON log format with an application log level,
    /// `AWS_LAMBDA_LOG_LEVEL`) reads a line without both as INFO and drops it under WARN, ERROR or
    /// FATAL — every metric with it. [`from_lookup`](Self::from_lookup)
    /// sets the filter's own level then, the least that passes it; `None` writes no member.
    ///
    /// ```
    /// # use telemetry::emf::EmfBuilder;
    /// let env = |k: &str| match k {
    ///     "AWS_LAMBDA_LOG_FORMAT" => Some("JSON".to_owned()),
    ///     "AWS_LAMBDA_LOG_LEVEL" => Some("WARN".to_owned()),
    ///     _ => None,
    /// };
    /// assert_eq!(EmfBuilder::from_lookup(env).level(), Some("WARN"));
    /// assert_eq!(EmfBuilder::from_lookup(|_| None).level(), None);
    /// ```
    #[must_use]
    pub fn lambda_log_level(mut self, level: Option<&str>) -> Self {
        self.level = level.map(str::to_owned);
        self
    }

    /// The `level` written at every document's root, if any ([`Self::lambda_log_level`]).
    #[must_use]
    pub fn level(&self) -> Option<&str> {
        self.level.as_deref()
    }

    /// Disables output (flushes drain and discard).
    #[must_use]
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = disabled;
        self
    }

    /// Writes documents to `writer` instead of stdout.
    #[must_use]
    pub fn with_writer(mut self, writer: impl Write + Send + 'static) -> Self {
        self.writer = Box::new(writer);
        self
    }

    /// Uses `clock` for document timestamps.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds a recorder without installing it.
    ///
    /// # Errors
    /// An invalid namespace or default dimension.
    pub fn build(self) -> Result<EmfRecorder, BuildError> {
        if !is_valid_namespace(&self.namespace) {
            return Err(BuildError::InvalidNamespace(self.namespace));
        }
        let mut dims = vec![("service".to_owned(), self.service)];
        dims.extend(self.dimensions);
        if dims.len() > MAX_DIMENSIONS {
            return Err(BuildError::TooManyDimensions(dims.len()));
        }
        for (k, v) in &dims {
            if !is_valid_dimension_name(k)
                || !is_valid_dimension_value(v)
                || dims.iter().filter(|(x, _)| x == k).count() > 1
            {
                return Err(BuildError::InvalidDimension(format!("{k}={v}")));
            }
            if self.level.is_some() && document::is_level_member(k) {
                return Err(BuildError::LevelMemberDimension(k.clone()));
            }
        }
        let cfg = recorder::Config {
            namespace: self.namespace,
            default_dimensions: dims,
            units: self.units,
            high_resolution: self.high_resolution,
            dimension_sets: self.dimension_sets,
            guard: guard::CardinalityGuard::new(self.allow, self.allow_all, self.max_values_per_key),
            disabled: self.disabled,
            function_name: self.function_name,
            level: self.level,
        };
        Ok(EmfRecorder::from_parts(cfg, self.writer, self.clock))
    }

    /// Builds the recorder and installs it as the global `metrics` recorder.
    ///
    /// # Errors
    /// [`BuildError::AlreadyInstalled`] if a global recorder exists, or a [`build`](Self::build) error.
    pub fn install(self) -> Result<EmfRecorder, BuildError> {
        let rec = self.build()?;
        metrics::set_global_recorder(rec.clone()).map_err(|_| BuildError::AlreadyInstalled)?;
        let _ = GLOBAL.set(rec.clone());
        Ok(rec)
    }
}

static GLOBAL: OnceLock<EmfRecorder> = OnceLock::new();

/// The recorder [`EmfBuilder::install`] installed, if any.
#[must_use]
pub fn global() -> Option<&'static EmfRecorder> {
    GLOBAL.get()
}

/// A cloneable in-memory writer (for tests, examples and benchmarks).
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far.
    #[must_use]
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }

    /// Forgets what was written.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How many metrics the EMF documents `docs` declare, all together (tests).
#[cfg(test)]
pub(crate) fn metrics_declared(docs: &[serde_json::Value]) -> usize {
    docs.iter()
        .map(|d| {
            d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn rec(b: EmfBuilder) -> (EmfRecorder, SharedBuffer) {
        let out = SharedBuffer::default();
        let r = b
            .with_writer(out.clone())
            .with_clock(FixedClock::from_millis(1_700_000_000_000))
            .build()
            .unwrap();
        (r, out)
    }

    fn docs(out: &SharedBuffer) -> Vec<Value> {
        out.contents()
            .lines()
            .map(|l| {
                validate(l).unwrap();
                serde_json::from_str(l).unwrap()
            })
            .collect()
    }

    fn base() -> EmfBuilder {
        EmfBuilder::new().namespace("CollectIQ").service("valuation")
    }

    /// Labels leave the process (the document is a log event; a dimension value is listed by
    /// ListMetrics): the log lines' default redaction applies — a denied name whole and never a
    /// dimension, secrets inside values — and the look-alikes stay.
    #[test]
    fn labels_are_redacted_like_log_fields() {
        let (r, out) = rec(base().allow_all_labels());
        metrics::with_local_recorder(&r, || {
            for pw in ["hunter2", "s3cr3t!"] {
                metrics::counter!(
                    "LoginFailed",
                    "password" => pw,
                    "user" => "bob@example.com",
                    "auth" => "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
                    "model" => "anthropic.claude-3-5-sonnet-20240620-v1:0",
                    "request_id" => "8f5b3c1e-0000-4000-8000-000000000001"
                )
                .increment(1);
            }
        });
        r.flush();
        let text = out.contents();
        for secret in ["hunter2", "s3cr3t!", "bob@example.com", "eyJhbGciOiJIUzI1NiJ9"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let d = docs(&out);
        assert_eq!(d.len(), 1, "both passwords redact to one series: {d:?}");
        let d = &d[0];
        assert_eq!(d["LoginFailed"], 2.0, "{d}");
        assert_eq!(d["password"], "[REDACTED]", "{d}");
        assert_eq!(d["model"], "anthropic.claude-3-5-sonnet-20240620-v1:0");
        assert_eq!(d["request_id"], "8f5b3c1e-0000-4000-8000-000000000001");
        let dims = &d["_aws"]["CloudWatchMetrics"][0]["Dimensions"];
        assert!(
            !dims.to_string().contains("password"),
            "a denied name is never a dimension: {dims}"
        );
    }

    /// A counter that overflows reports the largest total, inside an invocation and outside it
    /// alike: a wrapped sum would report 1 (or, at exactly 0, nothing) for 2^64 + 1 increments.
    #[test]
    fn an_overflowing_counter_saturates_everywhere() {
        let (r, out) = rec(base());
        metrics::with_local_recorder(&r, || {
            metrics::counter!("Huge").increment(u64::MAX);
            metrics::counter!("Huge").increment(2);
            metrics::counter!("Wraps").increment(u64::MAX);
            metrics::counter!("Wraps").increment(1);
        });
        r.flush();
        let d = &docs(&out)[0];
        #[allow(clippy::cast_precision_loss)]
        let max = u64::MAX as f64;
        assert_eq!(d["Huge"].as_f64(), Some(max), "{d}");
        assert_eq!(d["Wraps"].as_f64(), Some(max), "{d}");
    }

    /// Each flush reports what was added since the one before — also after a total reached
    /// `u64::MAX` (the counter starts over, it does not stay stuck there) — and an idle counter
    /// is left out.
    #[test]
    fn a_counter_reports_its_growth_per_flush_also_after_saturating() {
        let (r, out) = rec(base());
        let flushed = |count: &mut dyn FnMut()| {
            out.clear();
            metrics::with_local_recorder(&r, count);
            r.flush();
            docs(&out)
                .first()
                .and_then(|d| d.get("C").and_then(serde_json::Value::as_f64))
        };
        assert_eq!(flushed(&mut || metrics::counter!("C").increment(3)), Some(3.0));
        assert_eq!(flushed(&mut || metrics::counter!("C").increment(2)), Some(2.0));
        assert_eq!(flushed(&mut || {}), None, "nothing added, nothing reported");
        #[allow(clippy::cast_precision_loss)]
        let max = u64::MAX as f64;
        assert_eq!(
            flushed(&mut || metrics::counter!("C").increment(u64::MAX)),
            Some(max)
        );
        assert_eq!(flushed(&mut || metrics::counter!("C").increment(5)), Some(5.0));
        assert_eq!(
            flushed(&mut || metrics::counter!("C").increment(1 << 62)),
            Some(2f64.powi(62))
        );
        assert_eq!(flushed(&mut || metrics::counter!("C").increment(7)), Some(7.0));
    }

    /// Flushes running at once while other threads count (the fresh-buffer flush beside the one
    /// holding the shared buffers) report every count exactly once between them.
    #[test]
    fn concurrent_flushes_report_each_count_once() {
        let (r, out) = rec(base());
        let counter = {
            use metrics::Recorder as _;
            let key = metrics::Key::from_name("Hits");
            r.register_counter(&key, &metrics::Metadata::new("t", metrics::Level::INFO, None))
        };
        let (threads, per_thread) = (3u64, 100_000u64);
        let counting = std::sync::atomic::AtomicU64::new(threads);
        std::thread::scope(|s| {
            for _ in 0..threads {
                let (c, counting) = (counter.clone(), &counting);
                s.spawn(move || {
                    (0..per_thread).for_each(|_| c.increment(1));
                    counting.fetch_sub(1, std::sync::atomic::Ordering::Release);
                });
            }
            for _ in 0..3 {
                s.spawn(|| {
                    while counting.load(std::sync::atomic::Ordering::Acquire) > 0 {
                        r.flush();
                    }
                });
            }
        });
        r.flush();
        let total: f64 = docs(&out).iter().filter_map(|d| d["Hits"].as_f64()).sum();
        #[allow(clippy::cast_precision_loss)]
        let want = (threads * per_thread) as f64;
        assert_eq!(total, want);
    }

    #[test]
    fn counters_sum_gauges_last_histograms_arrays() {
        let (r, out) = rec(base());
        metrics::with_local_recorder(&r, || {
            metrics::counter!("CardsValued").increment(2);
            metrics::counter!("CardsValued").increment(3);
            metrics::gauge!("QueueDepth").set(4.0);
            metrics::gauge!("QueueDepth").set(7.0);
            metrics::histogram!("ValuationLatency").record(12.5);
            metrics::histogram!("ValuationLatency").record(20.0);
        });
        let report = r.flush();
        assert_eq!(
            report,
            FlushReport {
                documents: 1,
                values: 4,
                rejected_values: 0,
                rejected_metrics: 0
            }
        );
        let d = &docs(&out)[0];
        assert_eq!(d["CardsValued"], 5.0);
        assert_eq!(d["QueueDepth"], 7.0);
        assert_eq!(d["ValuationLatency"], json!([12.5, 20]));
        assert_eq!(d["service"], "valuation");
        assert_eq!(d["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let cw = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "CollectIQ");
        assert_eq!(cw["Dimensions"], json!([["service"]]));
        let units: Vec<_> = cw["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["Name"].clone(), m["Unit"].clone()))
            .collect();
        assert!(
            units.contains(&(json!("ValuationLatency"), json!("Milliseconds"))),
            "catalogue unit"
        );
        assert!(units.contains(&(json!("QueueDepth"), json!("None"))));
        out.clear();
        assert_eq!(
            r.flush().documents,
            0,
            "counters are deltas: nothing new, nothing written"
        );
        assert!(out.contents().is_empty());
    }

    #[test]
    fn snapshot_document() {
        let (r, out) = rec(base());
        metrics::with_local_recorder(&r, || {
            metrics::counter!("BedrockInputTokens", "agent" => "pricing", "model" => "claude", "card_id" => "c-1").increment(120);
        });
        r.flush_with(&[("function_request_id", "req-1")]);
        let d = &docs(&out)[0];
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["service", "agent", "model"]])
        );
        assert_eq!(d["card_id"], "c-1", "not allow-listed: a property");
        assert_eq!(d["function_request_id"], "req-1");
        // Key order must not depend on serde_json's preserve_order, which other crates switch on.
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!(d);
    }

    #[test]
    fn cardinality_guard_folds_overflow() {
        let (r, out) = rec(base().allow_dimensions("Hits", ["route"]).max_values_per_key(2));
        metrics::with_local_recorder(&r, || {
            for route in ["/a", "/b", "/c", "/d"] {
                metrics::counter!("Hits", "route" => route, "user" => "u-1").increment(1);
            }
        });
        r.flush();
        let ds = docs(&out);
        let mut routes: Vec<(String, f64)> = ds
            .iter()
            .map(|d| {
                (
                    d["route"].as_str().unwrap().to_owned(),
                    d["Hits"].as_f64().unwrap(),
                )
            })
            .collect();
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            routes,
            [("/a".into(), 1.0), ("/b".into(), 1.0), ("other".into(), 2.0)]
        );
        assert!(ds.iter().all(|d| d["user"] == "u-1"
            && d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == json!([["service", "route"]])));
    }

    #[test]
    fn splits_values_and_metrics_never_drops() {
        let (r, out) = rec(base());
        metrics::with_local_recorder(&r, || {
            for i in 0..250 {
                metrics::histogram!("Big").record(f64::from(i));
            }
            for i in 0..150 {
                metrics::counter!(format!("M{i:03}")).increment(1);
            }
        });
        let report = r.flush();
        let ds = docs(&out);
        let big: Vec<f64> = ds
            .iter()
            .filter_map(|d| d.get("Big"))
            .flat_map(|v| v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]))
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(big, (0..250).map(f64::from).collect::<Vec<_>>());
        assert_eq!(metrics_declared(&ds), 151 + 2, "Big appears in three documents");
        assert_eq!(report.values, 400);
        assert_eq!(report.documents, ds.len());
    }

    #[test]
    fn rejects_bad_values_and_names() {
        let (r, out) = rec(base());
        metrics::with_local_recorder(&r, || {
            metrics::histogram!("Lat").record(f64::NAN);
            metrics::histogram!("Lat").record(f64::INFINITY);
            metrics::histogram!("Lat").record(1e200);
            metrics::histogram!("Lat").record(3.0);
            metrics::counter!("").increment(1);
            metrics::counter!("service").increment(1);
        });
        let report = r.flush();
        assert_eq!(report.rejected_values, 3);
        assert_eq!(report.rejected_metrics, 2);
        let ds = docs(&out);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0]["Lat"], 3.0);
    }

    #[test]
    fn units_resolution_and_describe() {
        let (r, out) = rec(base()
            .high_resolution("Up")
            .with_unit("Rate", EmfUnit::BytesPerSecond));
        metrics::with_local_recorder(&r, || {
            metrics::describe_histogram!("Up", metrics::Unit::Seconds, "upload time");
            metrics::histogram!("Up").record(1.0);
            metrics::gauge!("Rate").set(10.0);
        });
        r.flush();
        let defs = docs(&out)[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"].clone();
        assert!(
            defs.as_array()
                .unwrap()
                .contains(&json!({"Name": "Up", "Unit": "Seconds", "StorageResolution": 1}))
        );
        assert!(
            defs.as_array()
                .unwrap()
                .contains(&json!({"Name": "Rate", "Unit": "Bytes/Second"}))
        );
    }

    #[test]
    fn cold_start_document_and_disabled() {
        let (r, out) = rec(base().function_name("valuate-card"));
        r.record_cold_start();
        r.flush();
        let d = &docs(&out)[0];
        assert_eq!(d["ColdStart"], 1.0);
        assert_eq!(d["function_name"], "valuate-card");
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["service", "function_name"]])
        );
        let (r, out) = rec(base().disabled(true));
        metrics::with_local_recorder(&r, || metrics::counter!("X").increment(1));
        r.record_cold_start();
        assert_eq!(r.flush().documents, 0);
        assert!(out.contents().is_empty());
    }

    /// `Counter::absolute` sets a total kept elsewhere ("at least", callers may report out of order);
    /// an EMF document counts per flush, so each flush reports what the total grew by — CloudWatch's
    /// sum over the flushes is the total, never the sum of the totals.
    #[test]
    fn absolute_counters_report_their_growth_per_flush() {
        let (r, out) = rec(base());
        let flush_value = |set: &[u64]| {
            metrics::with_local_recorder(&r, || {
                for &v in set {
                    metrics::counter!("BytesRead").absolute(v);
                }
            });
            out.clear();
            r.flush();
            docs(&out).first().map(|d| d["BytesRead"].clone())
        };
        assert_eq!(flush_value(&[100]), Some(json!(100)));
        assert_eq!(flush_value(&[105]), Some(json!(5)));
        assert_eq!(
            flush_value(&[110, 104]),
            Some(json!(5)),
            "an older total reported late adds nothing"
        );
        assert_eq!(
            flush_value(&[90]),
            None,
            "below the highest total: no growth, no value"
        );
        // Inside an invocation the growth goes to the invocation's own document.
        let inv = r.invocation();
        {
            let _entered = inv.enter();
            metrics::with_local_recorder(&r, || metrics::counter!("BytesRead").absolute(130));
        }
        out.clear();
        r.flush_invocation(&inv, &[]);
        assert_eq!(docs(&out)[0]["BytesRead"], json!(20));
    }

    /// `POWERTOOLS_METRICS_NAMESPACE="CollectIQ "` (a trailing space from infrastructure code) refused
    /// the namespace, and with it every metric of the function for its whole life.
    #[test]
    fn a_namespace_from_the_environment_is_trimmed() {
        let b = EmfBuilder::from_lookup(|k| {
            (k == "POWERTOOLS_METRICS_NAMESPACE").then(|| " CollectIQ \n".into())
        });
        let r = b.with_writer(std::io::sink()).build().unwrap();
        assert!(!r.is_disabled());
        assert!(format!("{r:?}").contains("\"CollectIQ\""), "{r:?}");
    }

    /// Lambda's log-level filter (JSON log format) reads a line without `level` as INFO: under
    /// `AWS_LAMBDA_LOG_LEVEL=WARN` every EMF document would be dropped, and every metric with it. Each
    /// document — an invocation's, the cold start's, each part of a split flush — carries the filter's
    /// level then, and stays a valid EMF document (`level` is a property).
    #[test]
    fn documents_carry_the_level_lambdas_filter_keeps() {
        let env = |format: &'static str, level: &'static str| {
            move |k: &str| match k {
                "AWS_LAMBDA_LOG_FORMAT" => Some(format.to_owned()),
                "AWS_LAMBDA_LOG_LEVEL" => Some(level.to_owned()),
                _ => None,
            }
        };
        for (format, level, want) in [
            ("JSON", "WARN", Some("WARN")),
            ("JSON", "error", Some("ERROR")),
            ("json", "FATAL", Some("FATAL")),
            ("JSON", "INFO", None),
            ("JSON", "DEBUG", None),
            ("Text", "WARN", None),
            ("", "WARN", None),
        ] {
            assert_eq!(
                EmfBuilder::from_lookup(env(format, level)).level(),
                want,
                "{format} {level}"
            );
        }
        let builder = EmfBuilder::from_lookup(env("JSON", "WARN"))
            .namespace("CollectIQ")
            .service("valuation");
        let (r, out) = rec(builder.function_name("valuate-card"));
        r.record_cold_start();
        metrics::with_local_recorder(&r, || {
            for i in 0..150 {
                metrics::counter!(format!("M{i:03}")).increment(1);
            }
        });
        r.flush();
        let written = docs(&out);
        assert!(
            written.len() >= 3,
            "the cold start and 150 metrics in two documents: {}",
            written.len()
        );
        for d in &written {
            assert_eq!(d["level"], "WARN", "{d}");
            // Lambda takes `level` only beside a valid RFC 3339 `timestamp`: the document's own instant.
            assert_eq!(d["timestamp"], "2023-11-14T22:13:20.000Z", "{d}");
            assert_eq!(d["_aws"]["Timestamp"], 1_700_000_000_000u64, "{d}");
        }
        let (r, out) = rec(base());
        metrics::with_local_recorder(&r, || metrics::counter!("X").increment(1));
        r.flush();
        assert!(
            docs(&out).iter().all(|d| d.get("level").is_none()),
            "no level unless asked"
        );
    }

    /// The top-level member names of one JSON object, in order and with repeats (a map would keep one).
    fn top_level_keys(line: &str) -> Vec<String> {
        assert!(serde_json::from_str::<Value>(line).unwrap().is_object(), "{line}");
        let mut keys = Vec::new();
        let mut depth = 0usize;
        let mut expect_key = false;
        // A small scanner over the validated text: a string right after `{` or `,` at depth 1 is a key.
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' | b'[' => {
                    depth += 1;
                    expect_key = bytes[i] == b'{' && depth == 1;
                }
                b'}' | b']' => depth -= 1,
                b',' => expect_key = depth == 1,
                b'"' => {
                    let start = i + 1;
                    i += 1;
                    while bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    if expect_key {
                        keys.push(line[start..i].to_owned());
                        expect_key = false;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        keys
    }

    /// Under Lambda's log-level filter every document opens with `level` and `timestamp`
    /// (`lambda_log_level`). A label, a flush property or a metric of either name must not write the
    /// same key a second time — a JSON object with a key twice is read one way by Lambda's filter and
    /// maybe another by CloudWatch — and a default dimension of that name is refused when building.
    #[test]
    fn level_members_are_never_repeated_under_the_lambda_filter() {
        let env = |k: &str| match k {
            "AWS_LAMBDA_LOG_FORMAT" => Some("JSON".to_owned()),
            "AWS_LAMBDA_LOG_LEVEL" => Some("ERROR".to_owned()),
            _ => None,
        };
        let filtered = || {
            EmfBuilder::from_lookup(env)
                .namespace("CollectIQ")
                .service("valuation")
        };
        let (r, out) = rec(filtered().allow_all_labels());
        metrics::with_local_recorder(&r, || {
            metrics::counter!("CardsValued", "level" => "high", "timestamp" => "now", "agent" => "pricing")
                .increment(1);
            metrics::counter!("timestamp").increment(1);
            metrics::counter!("level").increment(1);
        });
        let report = r.flush_with(&[("level", "x"), ("timestamp", "y"), ("card_id", "c-1")]);
        assert_eq!(
            report.rejected_metrics, 2,
            "the metrics named `level` and `timestamp`"
        );
        let text = out.contents();
        assert_eq!(text.lines().count(), 1, "{text}");
        for line in text.lines() {
            let keys = top_level_keys(line);
            for k in ["level", "timestamp"] {
                assert_eq!(keys.iter().filter(|x| *x == k).count(), 1, "{k} in {line}");
            }
        }
        let d = &docs(&out)[0];
        assert_eq!(d["level"], "ERROR");
        assert_eq!(d["timestamp"], "2023-11-14T22:13:20.000Z");
        assert_eq!(d["CardsValued"], 1.0);
        assert_eq!(d["agent"], "pricing");
        assert_eq!(d["card_id"], "c-1");
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["service", "agent"]])
        );

        // Without the filter they are an ordinary dimension and property.
        let (r, out) = rec(base().allow_all_labels());
        metrics::with_local_recorder(&r, || {
            metrics::counter!("CardsValued", "level" => "high").increment(1);
        });
        r.flush_with(&[("timestamp", "y")]);
        let d = &docs(&out)[0];
        assert_eq!(d["level"], "high");
        assert_eq!(d["timestamp"], "y");

        for name in ["level", "timestamp"] {
            let err = filtered().with_dimension(name, "x").build().unwrap_err();
            assert!(
                matches!(&err, BuildError::LevelMemberDimension(n) if n == name),
                "{err}"
            );
            assert!(err.to_string().contains("AWS_LAMBDA_LOG_LEVEL"), "{err}");
            assert!(base().with_dimension(name, "x").build().is_ok());
        }
    }

    /// `POWERTOOLS_METRICS_DISABLED` (else `POWERTOOLS_DEV`) takes Powertools' true values: Python's
    /// `strtobool` `y`, `yes`, `t`, `true`, `on`, `1`, case-insensitive; anything else leaves metrics on.
    #[test]
    fn disabled_by_any_powertools_true_value() {
        let disabled = |var: &'static str, v: &'static str| {
            EmfBuilder::from_lookup(|k| (k == var).then(|| v.to_owned()))
                .build()
                .unwrap()
                .is_disabled()
        };
        for var in ["POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"] {
            for on in ["y", "Y", "yes", "t", "T", "true", "TRUE", "on", "1"] {
                assert!(disabled(var, on), "{var}={on:?}");
            }
            for off in ["n", "no", "f", "false", "off", "0", "disabled"] {
                assert!(!disabled(var, off), "{var}={off:?}");
            }
        }
    }

    #[test]
    fn build_errors() {
        assert_eq!(
            EmfBuilder::new().namespace("AWS/Lambda").build().unwrap_err(),
            BuildError::InvalidNamespace("AWS/Lambda".into())
        );
        assert!(matches!(
            EmfBuilder::new().namespace("a b").build(),
            Err(BuildError::InvalidNamespace(_))
        ));
        assert!(matches!(
            EmfBuilder::new().with_dimension("service", "x").build(),
            Err(BuildError::InvalidDimension(_))
        ));
        let many = (0..30).fold(EmfBuilder::new(), |b, i| b.with_dimension(format!("d{i}"), "v"));
        assert_eq!(many.build().unwrap_err(), BuildError::TooManyDimensions(31));
    }

    #[test]
    fn too_many_label_dimensions_become_properties() {
        let (r, out) = rec(base().allow_all_labels());
        let labels: Vec<metrics::Label> = (0..40)
            .map(|i| metrics::Label::new(format!("k{i:02}"), "v"))
            .collect();
        metrics::with_local_recorder(&r, || metrics::counter!("Wide", labels).increment(1));
        r.flush();
        let d = &docs(&out)[0];
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
                .as_array()
                .unwrap()
                .len(),
            30
        );
        assert_eq!(d["k39"], "v");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Counter(String, Vec<(String, String)>, u64),
        Gauge(String, Vec<(String, String)>, f64),
        Hist(String, Vec<(String, String)>, Vec<f64>),
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -1e6..1e6f64,
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(0.0),
            Just(1e-200)
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z][A-Za-z0-9_]{0,12}",
            "\\PC{0,300}",
            Just("service".to_owned()),
            Just(String::new())
        ]
    }

    fn labels() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("[a-z:_ ]{0,6}", "\\PC{0,20}"), 0..5)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (name(), labels(), 0..1000u64).prop_map(|(n, l, v)| Op::Counter(n, l, v)),
            (name(), labels(), value()).prop_map(|(n, l, v)| Op::Gauge(n, l, v)),
            (name(), labels(), proptest::collection::vec(value(), 0..260))
                .prop_map(|(n, l, v)| Op::Hist(n, l, v)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_input_yields_spec_valid_documents(ops in proptest::collection::vec(op(), 0..40), allow_all in any::<bool>()) {
            let mut b = base().max_values_per_key(3).allow_dimensions("Hist", ["a", "b"]);
            if allow_all {
                b = b.allow_all_labels();
            }
            let (r, out) = rec(b);
            metrics::with_local_recorder(&r, || {
                for op in &ops {
                    let ls = |l: &Vec<(String, String)>| l.iter().map(|(k, v)| metrics::Label::new(k.clone(), v.clone())).collect::<Vec<_>>();
                    match op {
                        Op::Counter(n, l, v) => metrics::counter!(n.clone(), ls(l)).increment(*v),
                        Op::Gauge(n, l, v) => metrics::gauge!(n.clone(), ls(l)).set(*v),
                        Op::Hist(n, l, vs) => {
                            let h = metrics::histogram!(n.clone(), ls(l));
                            for v in vs {
                                h.record(*v);
                            }
                        }
                    }
                }
            });
            let report = r.flush_with(&[("function_request_id", "r"), ("bad key:", "x")]);
            let mut emitted = 0;
            for line in out.contents().lines() {
                prop_assert!(validate(line).is_ok(), "{:?}: {line}", validate(line));
                let v: Value = serde_json::from_str(line).unwrap();
                for m in v["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap() {
                    emitted += match &v[m["Name"].as_str().unwrap()] { Value::Array(a) => a.len(), _ => 1 };
                }
            }
            prop_assert_eq!(emitted, report.values);
            prop_assert_eq!(out.contents().lines().count(), report.documents);
            let valid_hist: usize = ops.iter().filter_map(|o| match o {
                Op::Hist(n, _, vs) if document::is_valid_metric_name(n) && n != "service" => Some(vs.iter().filter(|v| is_valid_value(**v)).count()),
                _ => None,
            }).sum();
            prop_assert!(report.values >= valid_hist.min(report.values), "never drops");
        }
    }
}
