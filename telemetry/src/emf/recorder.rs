//! The `metrics` recorder: storage of counters, gauges and histograms between flushes, and the flush
//! that turns them into EMF documents.

use super::document::{
    Document, MAX_DIMENSIONS, MAX_DOCUMENT_BYTES, MAX_METRICS_PER_DOCUMENT, MAX_PROPERTY_CHARS,
    MAX_VALUES_PER_METRIC, MetricValues, is_valid_dimension_name, is_valid_dimension_value,
    is_valid_metric_name, is_valid_value,
};
use super::guard::CardinalityGuard;
use super::units::EmfUnit;
use crate::clock::{Clock, epoch_millis};
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Histogram values held per metric between two flushes; more are dropped and counted (a process that
/// never flushes must not grow without bound).
pub const MAX_PENDING_VALUES: usize = 100_000;

/// `metrics::Key` hashes itself by writing its precomputed hash once; keep it as is.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
}

type KeyMap<T> = RwLock<HashMap<Key, Arc<T>, BuildHasherDefault<KeyHasher>>>;

#[derive(Debug, Default)]
struct CounterCell(AtomicU64);

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
struct GaugeCell {
    bits: AtomicU64,
    set: AtomicBool,
}

impl GaugeCell {
    fn update(&self, f: impl Fn(f64) -> f64) {
        let _ = self.bits.fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
            Some(f(f64::from_bits(b)).to_bits())
        });
        self.set.store(true, Ordering::Release);
    }
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.update(|v| v + value);
    }
    fn decrement(&self, value: f64) {
        self.update(|v| v - value);
    }
    fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Release);
        self.set.store(true, Ordering::Release);
    }
}

#[derive(Debug, Default)]
struct HistogramCell {
    values: Mutex<Vec<f64>>,
    overflow: AtomicUsize,
}

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        let mut v = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        if v.len() < MAX_PENDING_VALUES {
            v.push(value);
        } else {
            self.overflow.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What one flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Documents written.
    pub documents: usize,
    /// Metric values written.
    pub values: usize,
    /// Values rejected (NaN, ±inf, out of CloudWatch's range, or over [`MAX_PENDING_VALUES`]).
    pub rejected_values: usize,
    /// Metrics rejected (invalid name, name clashing with a dimension, document too large).
    pub rejected_metrics: usize,
}

pub(crate) struct Config {
    pub(crate) namespace: String,
    pub(crate) default_dimensions: Vec<(String, String)>,
    pub(crate) units: HashMap<String, EmfUnit>,
    pub(crate) high_resolution: HashSet<String>,
    pub(crate) guard: CardinalityGuard,
    pub(crate) disabled: bool,
    pub(crate) function_name: Option<String>,
}

pub(crate) struct Inner {
    pub(crate) cfg: Config,
    counters: KeyMap<CounterCell>,
    gauges: KeyMap<GaugeCell>,
    histograms: KeyMap<HistogramCell>,
    described: RwLock<HashMap<String, EmfUnit>>,
    cold_start: AtomicBool,
    pub(crate) writer: Mutex<Box<dyn Write + Send>>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The EMF recorder. Cheap to clone (shared state); install it globally with
/// [`EmfBuilder::install`](super::EmfBuilder::install) or use it locally with
/// `metrics::with_local_recorder` in tests.
#[derive(Clone)]
pub struct EmfRecorder {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for EmfRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfRecorder")
            .field("namespace", &self.inner.cfg.namespace)
            .field("disabled", &self.inner.cfg.disabled)
            .finish_non_exhaustive()
    }
}

fn get_or_insert<T: Default>(map: &KeyMap<T>, key: &Key) -> Arc<T> {
    if let Some(c) = map.read().unwrap_or_else(PoisonError::into_inner).get(key) {
        return Arc::clone(c);
    }
    let mut w = map.write().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(w.entry(key.clone()).or_default())
}

impl metrics::Recorder for EmfRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _d: SharedString) {
        self.describe(key, unit);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _d: SharedString) {
        self.describe(key, unit);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _d: SharedString) {
        self.describe(key, unit);
    }
    fn register_counter(&self, key: &Key, _m: &Metadata<'_>) -> Counter {
        Counter::from_arc(get_or_insert(&self.inner.counters, key))
    }
    fn register_gauge(&self, key: &Key, _m: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(get_or_insert(&self.inner.gauges, key))
    }
    fn register_histogram(&self, key: &Key, _m: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(get_or_insert(&self.inner.histograms, key))
    }
}

struct Sample {
    counter: bool,
    name: String,
    labels: Vec<(String, String)>,
    values: Vec<f64>,
}

type GroupKey = (Vec<(String, String)>, Vec<(String, String)>);

impl EmfRecorder {
    pub(crate) fn from_parts(cfg: Config, writer: Box<dyn Write + Send>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                cfg,
                counters: RwLock::default(),
                gauges: RwLock::default(),
                histograms: RwLock::default(),
                described: RwLock::default(),
                cold_start: AtomicBool::new(false),
                writer: Mutex::new(writer),
                clock,
            }),
        }
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>) {
        if let Some(u) = unit {
            self.inner
                .described
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key.as_str().to_owned(), EmfUnit::from_metrics(u));
        }
    }

    /// Records a real cold start: the next flush adds a `ColdStart` = 1 document with the dimensions
    /// `service` and `function_name` (Powertools semantics; 0 is never emitted).
    pub fn record_cold_start(&self) {
        self.inner.cold_start.store(true, Ordering::Release);
    }

    /// Whether output is disabled (`POWERTOOLS_METRICS_DISABLED`).
    #[must_use]
    pub fn is_disabled(&self) -> bool {
        self.inner.cfg.disabled
    }

    /// Drains everything recorded since the last flush and writes it as EMF documents, one per line.
    ///
    /// ```
    /// use telemetry::emf::EmfBuilder;
    /// let out = telemetry::emf::SharedBuffer::default();
    /// let rec = EmfBuilder::new().namespace("CollectIQ").service("valuation").with_writer(out.clone()).build()?;
    /// metrics::with_local_recorder(&rec, || metrics::counter!("CardsValued").increment(2));
    /// let report = rec.flush();
    /// assert_eq!(report.documents, 1);
    /// let doc: serde_json::Value = serde_json::from_str(out.contents().trim())?;
    /// assert_eq!(doc["CardsValued"], 2.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self) -> FlushReport {
        self.flush_with(&[])
    }

    /// Like [`flush`](Self::flush), adding root properties (e.g. `function_request_id`) to every document.
    pub fn flush_with(&self, properties: &[(&str, &str)]) -> FlushReport {
        let (docs, report) = self.render(properties);
        if !docs.is_empty() {
            let mut w = self.inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            for mut d in docs {
                d.push('\n');
                // A broken sink loses metrics, never the request.
                let _ = w.write_all(d.as_bytes());
            }
            let _ = w.flush();
        }
        report
    }

    /// Drains everything recorded since the last flush into serialized documents without writing them.
    pub fn render(&self, properties: &[(&str, &str)]) -> (Vec<String>, FlushReport) {
        let mut report = FlushReport::default();
        let samples = self.drain(&mut report);
        let cold = self.inner.cold_start.swap(false, Ordering::AcqRel);
        if self.inner.cfg.disabled {
            return (Vec::new(), FlushReport::default());
        }
        let timestamp = epoch_millis(self.inner.clock.now());
        let mut docs = Vec::new();
        if cold {
            self.cold_start_document(timestamp, properties, &mut docs, &mut report);
        }
        let groups = self.group(samples, &mut report);
        for ((dims, mut props), metrics) in groups {
            let mut metrics: Vec<MetricValues> = metrics.into_values().collect();
            metrics.retain(|m| {
                let clash = dims.iter().any(|(k, _)| *k == m.name);
                if clash {
                    report.rejected_metrics += 1;
                    tracing::warn!(metric = %m.name, "EMF metric name clashes with a dimension; dropped");
                }
                !clash
            });
            for (k, v) in properties {
                props.push(((*k).to_owned(), truncate(v)));
            }
            props.retain(|(k, _)| {
                is_valid_dimension_name(k)
                    && !metrics.iter().any(|m| m.name == *k)
                    && !dims.iter().any(|(d, _)| d == k)
            });
            props.sort();
            props.dedup_by(|a, b| a.0 == b.0);
            self.emit_group(timestamp, &dims, &props, &metrics, &mut docs, &mut report);
        }
        if !docs.is_empty() {
            report.documents = docs.len();
        }
        (docs, report)
    }

    fn drain(&self, report: &mut FlushReport) -> Vec<Sample> {
        let mut samples = Vec::new();
        let labels = |k: &Key| {
            k.labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect::<Vec<_>>()
        };
        for (k, c) in self
            .inner
            .counters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let v = c.0.swap(0, Ordering::AcqRel);
            if v > 0 {
                #[allow(clippy::cast_precision_loss)]
                samples.push(Sample {
                    counter: true,
                    name: k.name().to_owned(),
                    labels: labels(k),
                    values: vec![v as f64],
                });
            }
        }
        for (k, g) in self
            .inner
            .gauges
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            if g.set.swap(false, Ordering::AcqRel) {
                let v = f64::from_bits(g.bits.load(Ordering::Acquire));
                samples.push(Sample {
                    counter: false,
                    name: k.name().to_owned(),
                    labels: labels(k),
                    values: vec![v],
                });
            }
        }
        for (k, h) in self
            .inner
            .histograms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let values = std::mem::take(&mut *h.values.lock().unwrap_or_else(PoisonError::into_inner));
            report.rejected_values += h.overflow.swap(0, Ordering::AcqRel);
            if !values.is_empty() {
                samples.push(Sample {
                    counter: false,
                    name: k.name().to_owned(),
                    labels: labels(k),
                    values,
                });
            }
        }
        // Deterministic order: the guard admits values in this order.
        samples.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        samples
    }

    fn unit_of(&self, name: &str) -> EmfUnit {
        if let Some(u) = self
            .inner
            .described
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return *u;
        }
        self.inner.cfg.units.get(name).copied().unwrap_or_default()
    }

    fn group(
        &self,
        samples: Vec<Sample>,
        report: &mut FlushReport,
    ) -> BTreeMap<GroupKey, BTreeMap<String, MetricValues>> {
        let cfg = &self.inner.cfg;
        let mut groups: BTreeMap<GroupKey, BTreeMap<String, MetricValues>> = BTreeMap::new();
        for s in samples {
            if !is_valid_metric_name(&s.name) {
                report.rejected_metrics += 1;
                tracing::warn!(metric = %s.name, "invalid EMF metric name; dropped");
                continue;
            }
            let before = s.values.len();
            let values: Vec<f64> = s.values.into_iter().filter(|v| is_valid_value(*v)).collect();
            if values.len() < before {
                report.rejected_values += before - values.len();
                tracing::warn!(metric = %s.name, rejected = before - values.len(), "NaN, infinite or out-of-range metric values rejected");
            }
            if values.is_empty() {
                continue;
            }
            let mut dims = cfg.default_dimensions.clone();
            let mut label_dims = Vec::new();
            let mut props = Vec::new();
            for (k, v) in s.labels {
                let is_dim = dims.len() + label_dims.len() < MAX_DIMENSIONS
                    && cfg.guard.allows(&s.name, &k)
                    && is_valid_dimension_name(&k)
                    && is_valid_dimension_value(&v)
                    && k != s.name
                    && !dims.iter().chain(&label_dims).any(|(d, _)| *d == k);
                if is_dim {
                    let admitted = cfg.guard.admit(&s.name, &k, &v).to_owned();
                    label_dims.push((k, admitted));
                } else if !dims.iter().any(|(d, _)| *d == k) {
                    let v = truncate(&v);
                    props.push((k, v));
                }
            }
            label_dims.sort();
            dims.extend(label_dims);
            props.sort();
            let unit = self.unit_of(&s.name);
            let high_resolution = cfg.high_resolution.contains(&s.name);
            let entry = groups
                .entry((dims, props))
                .or_default()
                .entry(s.name.clone())
                .or_insert_with(|| MetricValues {
                    name: s.name,
                    unit,
                    high_resolution,
                    values: Vec::new(),
                });
            // Counters folded into one group (e.g. by the `other` overflow) are summed, not listed.
            match (s.counter, entry.values.as_mut_slice(), values.as_slice()) {
                (true, [sum], [v]) if sum.is_finite() && is_valid_value(*sum + *v) => *sum += *v,
                _ => entry.values.extend(values),
            }
        }
        groups
    }

    fn cold_start_document(
        &self,
        ts: u64,
        properties: &[(&str, &str)],
        docs: &mut Vec<String>,
        report: &mut FlushReport,
    ) {
        let cfg = &self.inner.cfg;
        let mut dims: Vec<(String, String)> = cfg
            .default_dimensions
            .iter()
            .filter(|(k, _)| k == "service")
            .cloned()
            .collect();
        if let Some(f) = cfg.function_name.as_ref().filter(|f| is_valid_dimension_value(f)) {
            dims.push(("function_name".to_owned(), f.clone()));
        }
        let props: Vec<(String, String)> = properties
            .iter()
            .filter(|(k, _)| {
                is_valid_dimension_name(k) && !dims.iter().any(|(d, _)| d == k) && *k != "ColdStart"
            })
            .map(|(k, v)| ((*k).to_owned(), truncate(v)))
            .collect();
        let metric = [MetricValues {
            name: crate::catalogue::MetricName::ColdStart.as_str().to_owned(),
            unit: EmfUnit::Count,
            high_resolution: false,
            values: vec![1.0],
        }];
        self.emit(ts, &dims, &props, &metric, docs, report);
    }

    fn emit_group(
        &self,
        ts: u64,
        dims: &[(String, String)],
        props: &[(String, String)],
        metrics: &[MetricValues],
        docs: &mut Vec<String>,
        report: &mut FlushReport,
    ) {
        let rounds = metrics
            .iter()
            .map(|m| m.values.len().div_ceil(MAX_VALUES_PER_METRIC))
            .max()
            .unwrap_or(0);
        for round in 0..rounds {
            let lo = round * MAX_VALUES_PER_METRIC;
            let slice: Vec<MetricValues> = metrics
                .iter()
                .filter(|m| m.values.len() > lo)
                .map(|m| MetricValues {
                    values: m.values[lo..(lo + MAX_VALUES_PER_METRIC).min(m.values.len())].to_vec(),
                    ..m.clone()
                })
                .collect();
            for batch in slice.chunks(MAX_METRICS_PER_DOCUMENT) {
                self.emit(ts, dims, props, batch, docs, report);
            }
        }
    }

    /// Serializes one document, halving it while it exceeds the size limit.
    fn emit(
        &self,
        ts: u64,
        dims: &[(String, String)],
        props: &[(String, String)],
        metrics: &[MetricValues],
        docs: &mut Vec<String>,
        report: &mut FlushReport,
    ) {
        let doc = Document {
            namespace: &self.inner.cfg.namespace,
            timestamp: ts,
            dimensions: dims,
            properties: props,
            metrics,
        };
        let Ok(text) = serde_json::to_string(&doc) else {
            report.rejected_metrics += metrics.len();
            return;
        };
        if text.len() <= MAX_DOCUMENT_BYTES {
            report.values += metrics.iter().map(|m| m.values.len()).sum::<usize>();
            docs.push(text);
        } else if metrics.len() > 1 {
            let (a, b) = metrics.split_at(metrics.len() / 2);
            self.emit(ts, dims, props, a, docs, report);
            self.emit(ts, dims, props, b, docs, report);
        } else if !props.is_empty() {
            tracing::warn!(metric = %metrics[0].name, "EMF document too large; properties left out");
            self.emit(ts, dims, &[], metrics, docs, report);
        } else {
            report.rejected_metrics += 1;
            tracing::warn!(metric = %metrics[0].name, "EMF document too large even alone; dropped");
        }
    }
}

fn truncate(v: &str) -> String {
    if v.len() <= MAX_PROPERTY_CHARS {
        return v.to_owned();
    }
    let mut end = MAX_PROPERTY_CHARS;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v[..end].to_owned()
}
