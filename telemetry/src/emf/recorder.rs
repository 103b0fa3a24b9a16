//! The `metrics` recorder: storage of counters, gauges and histograms between flushes, and the flush
//! that turns them into EMF documents.
//!
//! Everything that depends only on a metric's key — name validity, unit, which labels become
//! dimensions (the cardinality guard admits values in first-registration order), the document group
//! it belongs to — is resolved once when the key is first registered. A flush then only drains values,
//! sorts by small integers and serializes borrowed data.

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
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// Histogram values held per metric between two flushes; more are dropped and counted (a process that
/// never flushes must not grow without bound).
pub const MAX_PENDING_VALUES: usize = 100_000;

/// Interned groups and series beyond which unused ones are swept at flush.
const SWEEP_THRESHOLD: usize = 1024;

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

/// One EMF document group: the dimension set with its values, and the plain properties.
#[derive(Debug)]
struct Group {
    id: u32,
    dims: Vec<(String, String)>,
    props: Vec<(String, String)>,
}

type GroupKey = (Vec<(String, String)>, Vec<(String, String)>);

/// One metric within one group; several keys may fold into the same series (e.g. into `other`).
#[derive(Debug)]
struct Series {
    ordinal: u32,
    group: Arc<Group>,
    name: String,
    /// Why the series can never be emitted, if so.
    invalid: Option<&'static str>,
    unit: AtomicU8,
    high_resolution: bool,
}

impl Series {
    fn unit(&self) -> EmfUnit {
        EmfUnit::ALL
            .get(usize::from(self.unit.load(Ordering::Relaxed)))
            .copied()
            .unwrap_or_default()
    }
}

fn unit_index(u: EmfUnit) -> u8 {
    EmfUnit::ALL
        .iter()
        .position(|x| *x == u)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(26)
}

#[derive(Debug)]
struct CounterCell {
    value: AtomicU64,
    series: Arc<Series>,
}

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.value.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.value.store(value, Ordering::Relaxed);
    }
}

#[derive(Debug)]
struct GaugeCell {
    bits: AtomicU64,
    set: AtomicBool,
    series: Arc<Series>,
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        let _ = self.bits.fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
            Some((f64::from_bits(b) + value).to_bits())
        });
        self.set.store(true, Ordering::Release);
    }
    fn decrement(&self, value: f64) {
        self.increment(-value);
    }
    fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Release);
        self.set.store(true, Ordering::Release);
    }
}

#[derive(Debug)]
struct HistogramCell {
    values: Mutex<Vec<f64>>,
    overflow: AtomicUsize,
    series: Arc<Series>,
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

#[derive(Default)]
struct Interner {
    groups: HashMap<GroupKey, Arc<Group>>,
    series: HashMap<(u32, String), Arc<Series>>,
    next_group: u32,
    next_series: u32,
}

pub(crate) struct Inner {
    pub(crate) cfg: Config,
    counters: KeyMap<CounterCell>,
    gauges: KeyMap<GaugeCell>,
    histograms: KeyMap<HistogramCell>,
    /// The same cells in registration order: flushes walk these, so entries arrive nearly sorted.
    counter_list: RwLock<Vec<Arc<CounterCell>>>,
    gauge_list: RwLock<Vec<Arc<GaugeCell>>>,
    histogram_list: RwLock<Vec<Arc<HistogramCell>>>,
    described: RwLock<HashMap<String, EmfUnit>>,
    interner: Mutex<Interner>,
    cold_start: AtomicBool,
    pub(crate) writer: Mutex<Box<dyn Write + Send>>,
    pub(crate) clock: Arc<dyn Clock>,
    registered: AtomicU32,
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

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    fn get_or_insert<T>(
        &self,
        map: &KeyMap<T>,
        list: &RwLock<Vec<Arc<T>>>,
        key: &Key,
        make: impl FnOnce(Arc<Series>) -> T,
    ) -> Arc<T> {
        if let Some(c) = read(map).get(key) {
            return Arc::clone(c);
        }
        let mut w = write(map);
        if let Some(c) = w.get(key) {
            return Arc::clone(c);
        }
        let cell = Arc::new(make(self.resolve(key)));
        w.insert(key.clone(), Arc::clone(&cell));
        write(list).push(Arc::clone(&cell));
        self.registered.fetch_add(1, Ordering::Relaxed);
        cell
    }

    /// Everything about a key that does not change between flushes.
    fn resolve(&self, key: &Key) -> Arc<Series> {
        let cfg = &self.cfg;
        let name = key.name();
        let mut dims = cfg.default_dimensions.clone();
        let mut label_dims: Vec<(String, String)> = Vec::new();
        let mut props: Vec<(String, String)> = Vec::new();
        for label in key.labels() {
            let (k, v) = (label.key(), label.value());
            let taken = |k: &str, dims: &[(String, String)], more: &[(String, String)]| {
                dims.iter().chain(more).any(|(d, _)| d == k)
            };
            let is_dim = dims.len() + label_dims.len() < MAX_DIMENSIONS
                && cfg.guard.allows(name, k)
                && is_valid_dimension_name(k)
                && is_valid_dimension_value(v)
                && k != name
                && !taken(k, &dims, &label_dims);
            if is_dim {
                label_dims.push((k.to_owned(), cfg.guard.admit(name, k, v).to_owned()));
            } else if is_valid_dimension_name(k) && k != name && !taken(k, &dims, &props) {
                props.push((k.to_owned(), truncate(v)));
            }
        }
        label_dims.sort();
        dims.extend(label_dims);
        props.sort();
        let invalid = if !is_valid_metric_name(name) {
            Some("invalid EMF metric name")
        } else if dims.iter().any(|(d, _)| d == name) {
            Some("EMF metric name clashes with a dimension")
        } else {
            None
        };
        let unit = read(&self.described)
            .get(name)
            .copied()
            .or_else(|| cfg.units.get(name).copied())
            .unwrap_or_default();
        let mut interner = lock(&self.interner);
        let next_group = interner.next_group;
        let group = Arc::clone(
            interner
                .groups
                .entry((dims.clone(), props.clone()))
                .or_insert_with(|| {
                    Arc::new(Group {
                        id: next_group,
                        dims,
                        props,
                    })
                }),
        );
        if group.id == next_group {
            interner.next_group = next_group.wrapping_add(1);
        }
        let next_series = interner.next_series;
        let series = Arc::clone(
            interner
                .series
                .entry((group.id, name.to_owned()))
                .or_insert_with(|| {
                    Arc::new(Series {
                        ordinal: next_series,
                        group: Arc::clone(&group),
                        name: name.to_owned(),
                        invalid,
                        unit: AtomicU8::new(unit_index(unit)),
                        high_resolution: cfg.high_resolution.contains(name),
                    })
                }),
        );
        if series.ordinal == next_series {
            interner.next_series = next_series.wrapping_add(1);
        }
        series
    }
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
        let inner = &self.inner;
        Counter::from_arc(
            inner.get_or_insert(&inner.counters, &inner.counter_list, key, |series| CounterCell {
                value: AtomicU64::new(0),
                series,
            }),
        )
    }
    fn register_gauge(&self, key: &Key, _m: &Metadata<'_>) -> Gauge {
        let inner = &self.inner;
        Gauge::from_arc(
            inner.get_or_insert(&inner.gauges, &inner.gauge_list, key, |series| GaugeCell {
                bits: AtomicU64::new(0),
                set: AtomicBool::new(false),
                series,
            }),
        )
    }
    fn register_histogram(&self, key: &Key, _m: &Metadata<'_>) -> Histogram {
        let inner = &self.inner;
        Histogram::from_arc(
            inner.get_or_insert(&inner.histograms, &inner.histogram_list, key, |series| {
                HistogramCell {
                    values: Mutex::new(Vec::new()),
                    overflow: AtomicUsize::new(0),
                    series,
                }
            }),
        )
    }
}

/// Values drained from one cell.
struct Drained<'a> {
    series: &'a Series,
    counter: bool,
    start: usize,
    len: usize,
}

impl EmfRecorder {
    pub(crate) fn from_parts(cfg: Config, writer: Box<dyn Write + Send>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                cfg,
                counters: RwLock::default(),
                gauges: RwLock::default(),
                histograms: RwLock::default(),
                counter_list: RwLock::default(),
                gauge_list: RwLock::default(),
                histogram_list: RwLock::default(),
                described: RwLock::default(),
                interner: Mutex::default(),
                cold_start: AtomicBool::new(false),
                writer: Mutex::new(writer),
                clock,
                registered: AtomicU32::new(0),
            }),
        }
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>) {
        let Some(u) = unit else { return };
        let u = EmfUnit::from_metrics(u);
        write(&self.inner.described).insert(key.as_str().to_owned(), u);
        for s in lock(&self.inner.interner)
            .series
            .values()
            .filter(|s| s.name == key.as_str())
        {
            s.unit.store(unit_index(u), Ordering::Relaxed);
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
        let mut out = Vec::with_capacity(1024);
        let report = self.render_into(properties, &mut out);
        if !out.is_empty() {
            let mut w = lock(&self.inner.writer);
            // A broken sink loses metrics, never the request.
            let _ = w.write_all(&out);
            let _ = w.flush();
        }
        report
    }

    /// Drains everything recorded since the last flush into serialized documents without writing them.
    pub fn render(&self, properties: &[(&str, &str)]) -> (Vec<String>, FlushReport) {
        let mut out = Vec::with_capacity(1024);
        let report = self.render_into(properties, &mut out);
        let text = String::from_utf8_lossy(&out);
        (text.lines().map(str::to_owned).collect(), report)
    }

    /// Drains and serializes into `out`, one document per line.
    fn render_into(&self, properties: &[(&str, &str)], out: &mut Vec<u8>) -> FlushReport {
        let mut report = FlushReport::default();
        let inner = &self.inner;
        let counters = read(&inner.counter_list);
        let gauges = read(&inner.gauge_list);
        let histograms = read(&inner.histogram_list);
        let mut values: Vec<f64> = Vec::with_capacity(counters.len() + gauges.len());
        let mut drained: Vec<Drained<'_>> =
            Vec::with_capacity(counters.len() + gauges.len() + histograms.len());
        let mut idle_with_props = false;
        for c in counters.iter() {
            let v = c.value.swap(0, Ordering::AcqRel);
            if v > 0 {
                #[allow(clippy::cast_precision_loss)]
                values.push(v as f64);
                drained.push(Drained {
                    series: &c.series,
                    counter: true,
                    start: values.len() - 1,
                    len: 1,
                });
            } else {
                idle_with_props |= !c.series.group.props.is_empty();
            }
        }
        for g in gauges.iter() {
            if g.set.swap(false, Ordering::AcqRel) {
                values.push(f64::from_bits(g.bits.load(Ordering::Acquire)));
                drained.push(Drained {
                    series: &g.series,
                    counter: false,
                    start: values.len() - 1,
                    len: 1,
                });
            } else {
                idle_with_props |= !g.series.group.props.is_empty();
            }
        }
        for h in histograms.iter() {
            let taken = std::mem::take(&mut *lock(&h.values));
            report.rejected_values += h.overflow.swap(0, Ordering::AcqRel);
            if taken.is_empty() {
                idle_with_props |= !h.series.group.props.is_empty();
            } else {
                let start = values.len();
                values.extend_from_slice(&taken);
                drained.push(Drained {
                    series: &h.series,
                    counter: false,
                    start,
                    len: taken.len(),
                });
            }
        }
        let cold = inner.cold_start.swap(false, Ordering::AcqRel);
        if inner.cfg.disabled {
            drop((counters, gauges, histograms));
            self.sweep(idle_with_props);
            return FlushReport::default();
        }
        let timestamp = epoch_millis(inner.clock.now());
        if cold {
            self.cold_start_document(timestamp, properties, out, &mut report);
        }

        // Reject what can never be emitted, and invalid values.
        let mut kept: Vec<Drained<'_>> = Vec::with_capacity(drained.len());
        for mut d in drained {
            if let Some(why) = d.series.invalid {
                report.rejected_metrics += 1;
                tracing::warn!(metric = %d.series.name, "{why}; dropped");
                continue;
            }
            let slice = &mut values[d.start..d.start + d.len];
            let mut n = 0;
            for i in 0..slice.len() {
                if is_valid_value(slice[i]) {
                    slice[n] = slice[i];
                    n += 1;
                }
            }
            if n < d.len {
                report.rejected_values += d.len - n;
                tracing::warn!(metric = %d.series.name, rejected = d.len - n, "NaN, infinite or out-of-range metric values rejected");
            }
            d.len = n;
            if n > 0 {
                kept.push(d);
            }
        }
        kept.sort_unstable_by_key(|d| (d.series.group.id, d.series.ordinal));

        let mut i = 0;
        while i < kept.len() {
            let group = &kept[i].series.group;
            let mut j = i;
            let mut metrics: Vec<(&Series, Cow<'_, [f64]>)> = Vec::new();
            while j < kept.len() && Arc::ptr_eq(&kept[j].series.group, group) {
                let d = &kept[j];
                let vals = &values[d.start..d.start + d.len];
                match metrics.last_mut() {
                    Some((s, acc)) if std::ptr::eq(*s, d.series) => {
                        // Counters folded into one series (e.g. into `other`) are summed, not listed.
                        if let ([sum], [v], true) = (acc.as_ref(), vals, d.counter) {
                            let total = sum + v;
                            if is_valid_value(total) {
                                *acc = Cow::Owned(vec![total]);
                                j += 1;
                                continue;
                            }
                        }
                        acc.to_mut().extend_from_slice(vals);
                    }
                    _ => metrics.push((d.series, Cow::Borrowed(vals))),
                }
                j += 1;
            }
            let refs: Vec<MetricValues<'_>> = metrics
                .iter()
                .map(|(s, v)| MetricValues {
                    name: &s.name,
                    unit: s.unit(),
                    high_resolution: s.high_resolution,
                    values: v,
                })
                .collect();
            let mut props: Vec<(&str, &str)> = group
                .props
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            for (k, v) in properties {
                if is_valid_dimension_name(k) && !props.iter().any(|(p, _)| p == k) {
                    props.push((k, v));
                }
            }
            props.retain(|(k, _)| {
                !refs.iter().any(|m| m.name == *k) && !group.dims.iter().any(|(d, _)| d == k)
            });
            self.emit_group(timestamp, &group.dims, &props, &refs, out, &mut report);
            i = j;
        }
        drop((counters, gauges, histograms));
        self.sweep(idle_with_props);
        report
    }

    /// Forgets idle keys whose labels went to properties (request ids and the like), so a long-lived
    /// process does not accumulate one cell per distinct value; and unused interned groups.
    fn sweep(&self, idle_with_props: bool) {
        let inner = &self.inner;
        if idle_with_props {
            write(&inner.counters)
                .retain(|_, c| c.series.group.props.is_empty() || c.value.load(Ordering::Acquire) > 0);
            write(&inner.gauges)
                .retain(|_, g| g.series.group.props.is_empty() || g.set.load(Ordering::Acquire));
            write(&inner.histograms)
                .retain(|_, h| h.series.group.props.is_empty() || !lock(&h.values).is_empty());
        }
        let mut interner = lock(&inner.interner);
        if interner.series.len() > SWEEP_THRESHOLD {
            interner.series.retain(|_, s| Arc::strong_count(s) > 1);
        }
        if interner.groups.len() > SWEEP_THRESHOLD {
            interner.groups.retain(|_, g| Arc::strong_count(g) > 1);
        }
    }

    fn cold_start_document(
        &self,
        ts: u64,
        properties: &[(&str, &str)],
        out: &mut Vec<u8>,
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
        let props: Vec<(&str, &str)> = properties
            .iter()
            .filter(|(k, _)| {
                is_valid_dimension_name(k) && !dims.iter().any(|(d, _)| d == k) && *k != "ColdStart"
            })
            .copied()
            .collect();
        let metric = [MetricValues {
            name: crate::catalogue::MetricName::ColdStart.as_str(),
            unit: EmfUnit::Count,
            high_resolution: false,
            values: &[1.0],
        }];
        self.emit(ts, &dims, &props, &metric, out, report);
    }

    fn emit_group(
        &self,
        ts: u64,
        dims: &[(String, String)],
        props: &[(&str, &str)],
        metrics: &[MetricValues<'_>],
        out: &mut Vec<u8>,
        report: &mut FlushReport,
    ) {
        if metrics.iter().all(|m| m.values.len() <= MAX_VALUES_PER_METRIC) {
            for batch in metrics.chunks(MAX_METRICS_PER_DOCUMENT) {
                self.emit(ts, dims, props, batch, out, report);
            }
            return;
        }
        let rounds = metrics
            .iter()
            .map(|m| m.values.len().div_ceil(MAX_VALUES_PER_METRIC))
            .max()
            .unwrap_or(0);
        for round in 0..rounds {
            let lo = round * MAX_VALUES_PER_METRIC;
            let slice: Vec<MetricValues<'_>> = metrics
                .iter()
                .filter(|m| m.values.len() > lo)
                .map(|m| MetricValues {
                    values: &m.values[lo..(lo + MAX_VALUES_PER_METRIC).min(m.values.len())],
                    ..*m
                })
                .collect();
            for batch in slice.chunks(MAX_METRICS_PER_DOCUMENT) {
                self.emit(ts, dims, props, batch, out, report);
            }
        }
    }

    /// Serializes one document, halving it while it exceeds the size limit.
    fn emit(
        &self,
        ts: u64,
        dims: &[(String, String)],
        props: &[(&str, &str)],
        metrics: &[MetricValues<'_>],
        out: &mut Vec<u8>,
        report: &mut FlushReport,
    ) {
        let doc = Document {
            namespace: &self.inner.cfg.namespace,
            timestamp: ts,
            dimensions: dims,
            properties: props,
            metrics,
        };
        let start = out.len();
        if serde_json::to_writer(&mut *out, &doc).is_err() {
            out.truncate(start);
            report.rejected_metrics += metrics.len();
            return;
        }
        if out.len() - start <= MAX_DOCUMENT_BYTES {
            out.push(b'\n');
            report.documents += 1;
            report.values += metrics.iter().map(|m| m.values.len()).sum::<usize>();
            return;
        }
        out.truncate(start);
        if metrics.len() > 1 {
            let (a, b) = metrics.split_at(metrics.len() / 2);
            self.emit(ts, dims, props, a, out, report);
            self.emit(ts, dims, props, b, out, report);
        } else if !props.is_empty() {
            tracing::warn!(metric = %metrics[0].name, "EMF document too large; properties left out");
            self.emit(ts, dims, &[], metrics, out, report);
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
