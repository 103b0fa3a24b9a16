//! The `metrics` recorder: registration. Everything that depends only on a metric's key — name
//! validity, unit, which labels become dimensions (the cardinality guard admits values in
//! first-registration order), the document group it belongs to — is resolved once when the key is
//! first registered ([`super::series`]), including the JSON fragments of its names and values, escaped
//! then and only then. The cells that hold values are in [`super::cells`]; the flush that turns them
//! into EMF documents is in [`super::flush`].

use super::cells::{CounterCell, GaugeCell, HistogramCell};
use super::document::{
    MAX_DIMENSIONS, MAX_PROPERTY_CHARS, is_valid_dimension_name, is_valid_dimension_value,
    is_valid_metric_name,
};
use super::guard::{CardinalityGuard, OVERFLOW_VALUE};
use super::json::{self, MetricFragments};
use super::key_cache::{self, Kept, KeyParts};
use super::scratch::Scratch;
use super::series::{Group, GroupKey, Series, unit_index};
use super::units::EmfUnit;
use crate::clock::Clock;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, SharedString, Unit};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// `metrics::Key` hashes itself by writing its precomputed hash once; keep it as is.
#[derive(Default)]
pub(super) struct KeyHasher(u64);

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

pub(super) type KeyMap<T> = RwLock<KeyTable<T>>;

/// The next recorder's [`Inner::id`] (0 is no recorder's).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The registered keys by their precomputed hash, each with its cell. `counter!("Name", "l" => "v")`
/// builds its key from `&'static` parts each time — the same name and label slice as the last time
/// — so a key of the same parts (pointers and lengths) as a registered one of the same hash is that
/// key without its text compared ([`same_key`]); a lookup never copies the key.
pub(super) struct KeyTable<T>(HashMap<u64, Bucket<T>, BuildHasherDefault<KeyHasher>>);

/// The registered keys of one hash, with their cells.
type Bucket<T> = Vec<(Key, Arc<T>)>;

impl<T> Default for KeyTable<T> {
    fn default() -> Self {
        Self(HashMap::default())
    }
}

/// Whether `a` and `b` (of the same hash) are the same key: the same parts, or the same text.
fn same_key(a: &Key, b: &Key) -> bool {
    KeyParts::of(a) == KeyParts::of(b) || same_text(a, b)
}

/// Whether `a` and `b` are the same key by their text.
fn same_text(a: &Key, b: &Key) -> bool {
    a.name() == b.name() && same_labels(a.labels().as_slice(), b.labels().as_slice())
}

/// `metrics::Key`'s label equality without its sorts (two stable-sort instantiations, ≈ 17 KB in
/// every function binary): the order of different keys is ignored, that of one key's repeats is not,
/// except between just two labels. A lookup pays it only when the key's parts differ from the
/// registered key's.
fn same_labels(a: &[Label], b: &[Label]) -> bool {
    if let ([a0, a1], [b0, b1]) = (a, b) {
        // Two labels are compared in either order, also of one key (as `metrics` does).
        return (a0 == b0 && a1 == b1) || (a0 == b1 && a1 == b0);
    }
    crate::sort::same_in_key_order(a, b, Label::key)
}

impl<T> KeyTable<T> {
    pub(super) fn get(&self, key: &Key) -> Option<&Arc<T>> {
        self.find(key, KeyParts::of(key)).map(|(cell, _)| cell)
    }

    /// The cell of `key` (whose parts are `parts`), and whether the registered key has those parts.
    fn find(&self, key: &Key, parts: KeyParts) -> Option<(&Arc<T>, bool)> {
        let bucket = self.0.get(&key.get_hash())?;
        if let Some((_, v)) = bucket.iter().find(|(k, _)| KeyParts::of(k) == parts) {
            return Some((v, true));
        }
        bucket
            .iter()
            .find(|(k, _)| same_text(k, key))
            .map(|(_, v)| (v, false))
    }

    pub(super) fn insert(&mut self, key: Key, value: Arc<T>) {
        let bucket = self.0.entry(key.get_hash()).or_default();
        match bucket.iter_mut().find(|(k, _)| same_key(k, &key)) {
            Some(entry) => entry.1 = value,
            None => bucket.push((key, value)),
        }
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&Arc<T>) -> bool) {
        self.0.retain(|_, bucket| {
            bucket.retain(|(_, v)| keep(v));
            !bucket.is_empty()
        });
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }
}

pub(super) struct Config {
    pub(super) namespace: String,
    pub(super) default_dimensions: Vec<(String, String)>,
    pub(super) units: HashMap<String, EmfUnit>,
    pub(super) high_resolution: HashSet<String>,
    /// Label-key sets of metrics emitted with several dimension sets.
    pub(super) dimension_sets: HashMap<String, Vec<Vec<String>>>,
    pub(super) guard: CardinalityGuard,
    pub(super) disabled: bool,
    pub(super) function_name: Option<String>,
    /// The `level` written at every document's root ([`super::EmfBuilder::lambda_log_level`]).
    pub(super) level: Option<String>,
}

impl Config {
    /// Whether `name` would repeat one of the members documents open with under Lambda's log-level
    /// filter ([`super::document::is_level_member`]): a label, property or metric of that name is
    /// not written.
    pub(super) fn repeats_level_member(&self, name: &str) -> bool {
        self.level.is_some() && super::document::is_level_member(name)
    }
}

#[derive(Default)]
pub(super) struct Interner {
    pub(super) groups: HashMap<GroupKey, Arc<Group>>,
    pub(super) series: HashMap<(u64, String), Arc<Series>>,
    pub(super) next_group: u64,
    pub(super) next_series: u64,
}

/// Every cell of a recorder, by kind, in registration order.
#[derive(Default)]
pub(super) struct CellLists {
    pub(super) counters: Vec<Arc<CounterCell>>,
    pub(super) gauges: Vec<Arc<GaugeCell>>,
    pub(super) histograms: Vec<Arc<HistogramCell>>,
}

pub(super) struct Inner {
    /// This recorder among the process's (never reused): whose cells a thread keeps ([`key_cache`]).
    pub(super) id: u64,
    pub(super) cfg: Config,
    pub(super) counters: KeyMap<CounterCell>,
    pub(super) gauges: KeyMap<GaugeCell>,
    pub(super) histograms: KeyMap<HistogramCell>,
    pub(super) described: RwLock<HashMap<String, EmfUnit>>,
    pub(super) interner: Mutex<Interner>,
    pub(super) cold_start: AtomicBool,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) registered: AtomicU32,
    /// How many cells the last flushed invocation recorded: the next one's entries start with room
    /// for as many (one allocation, not a doubling per power of two).
    pub(super) entries_hint: AtomicUsize,
    /// `,"CloudWatchMetrics":[{"Namespace":"…","Dimensions":[`
    pub(super) directive: Box<[u8]>,
    /// The `ColdStart` document's dimensions and metric.
    pub(super) cold_start_group: Group,
    pub(super) cold_start_metric: MetricFragments,
    /// The buffers every flush reuses and the writer, one flush at a time: a flush of the
    /// process-wide cells drains the counters holding it ([`CounterCell::drain`]), so each count is
    /// reported once, and every flush writes under it anyway — one lock per flush.
    pub(super) flushing: Mutex<Flushing>,
    /// Bumped after every `describe_*!` that sets a unit: document templates made before are stale.
    pub(super) unit_generation: AtomicU64,
}

/// What a flush holds while it renders and writes ([`Inner::flushing`]).
pub(super) struct Flushing {
    pub(super) scratch: Scratch,
    pub(super) writer: Box<dyn Write + Send>,
    /// Every cell in registration order: flushes walk these (entries arrive nearly sorted), under
    /// the lock they hold anyway. A registration adds its cell holding its key table's write lock,
    /// and the sweep locks a key table before this: one order, no deadlock.
    pub(super) cells: CellLists,
}

/// The EMF recorder. Cheap to clone (shared state); install it globally with
/// [`EmfBuilder::install`](super::EmfBuilder::install) or use it locally with
/// `metrics::with_local_recorder` in tests.
#[derive(Clone)]
pub struct EmfRecorder {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for EmfRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmfRecorder")
            .field("namespace", &self.inner.cfg.namespace)
            .field("disabled", &self.inner.cfg.disabled)
            .finish_non_exhaustive()
    }
}

pub(super) fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Config {
    /// The dimension sets a key with dimensions `dims` is written with: each configured set of
    /// `metric` whose label keys are all among `dims` (with the default dimensions first), then the
    /// set of all of `dims` unless already there. Keys keep their order in `dims`.
    fn sets_for(&self, metric: &str, dims: &[(String, String)]) -> Vec<Vec<String>> {
        let defaults = self.default_dimensions.len().min(dims.len());
        let full: Vec<String> = dims.iter().map(|(k, _)| k.clone()).collect();
        let mut out: Vec<Vec<String>> = Vec::new();
        for set in self.dimension_sets.get(metric).into_iter().flatten() {
            if !set.iter().all(|k| dims[defaults..].iter().any(|(d, _)| d == k)) {
                continue;
            }
            let keys: Vec<String> = dims
                .iter()
                .enumerate()
                .filter(|(i, (k, _))| *i < defaults || set.contains(k))
                .map(|(_, (k, _))| k.clone())
                .collect();
            if !out.contains(&keys) {
                out.push(keys);
            }
        }
        if !out.contains(&full) {
            out.push(full);
        }
        out
    }
}

impl Inner {
    fn get_or_insert<T: Kept>(
        &self,
        map: &KeyMap<T>,
        list: fn(&mut CellLists) -> &mut Vec<Arc<T>>,
        key: &Key,
        make: impl FnOnce(Arc<Series>) -> T,
    ) -> Arc<T> {
        let parts = KeyParts::of(key);
        if let Some(c) = key_cache::find(self.id, parts) {
            return c;
        }
        if let Some((c, by_parts)) = read(map).find(key, parts) {
            // A key of static parts (the same as the registered key's): this thread keeps its cell.
            if by_parts {
                key_cache::keep(self.id, parts, c);
            }
            return Arc::clone(c);
        }
        let mut w = write(map);
        if let Some(c) = w.get(key) {
            return Arc::clone(c);
        }
        let (series, folded) = self.resolve(key);
        // A key with a dimension value folded into `other` takes the cell of its folded key: one cell
        // per series written, not one per value past the guard's limit (kept forever, since a
        // folded key has no property the sweep would forget it by). Such a key is looked up again
        // on each registration; only keys past the limit pay that.
        let key = match folded {
            Some(folded) => {
                if let Some(c) = w.get(&folded) {
                    return Arc::clone(c);
                }
                folded
            }
            None => key.clone(),
        };
        let cell = Arc::new(make(series));
        w.insert(key, Arc::clone(&cell));
        list(&mut lock(&self.flushing).cells).push(Arc::clone(&cell));
        self.registered.fetch_add(1, Ordering::Relaxed);
        cell
    }

    /// Everything about a key that does not change between flushes; and, when the cardinality guard
    /// folded one of its dimension values into `other`, the key with those values folded.
    fn resolve(&self, key: &Key) -> (Arc<Series>, Option<Key>) {
        let cfg = &self.cfg;
        let name = key.name();
        let mut dims = cfg.default_dimensions.clone();
        let mut label_dims: Vec<(String, String)> = Vec::new();
        let mut props: Vec<(String, String)> = Vec::new();
        // The labels whose values were folded into `other` or redacted, and the value each became.
        let mut folded: Vec<(usize, String)> = Vec::new();
        for (index, label) in key.labels().enumerate() {
            let (k, raw) = (label.key(), label.value());
            // Under Lambda's log-level filter the document opens with `level` and `timestamp`: a label
            // of either name is left out rather than written as the same key twice.
            if cfg.repeats_level_member(k) {
                continue;
            }
            // Labels leave the process as the log lines' fields do (the document is a log event; a
            // dimension is listed by ListMetrics): the same default redaction, a denied name whole,
            // and a denied name never a dimension. Paid once per key, at registration.
            let denied = crate::redact::default_redactor().is_denied_field(k);
            let v = crate::redact::redact_attribute(k, raw);
            if v != raw {
                // Every secret behind the same redacted text shares one cell.
                folded.push((index, v.clone().into_owned()));
            }
            let v = v.as_ref();
            let taken = |k: &str, dims: &[(String, String)], more: &[(String, String)]| {
                dims.iter().chain(more).any(|(d, _)| d == k)
            };
            let is_dim = !denied
                && dims.len() + label_dims.len() < MAX_DIMENSIONS
                && cfg.guard.allows(name, k)
                && is_valid_dimension_name(k)
                && is_valid_dimension_value(v)
                && k != name
                && !taken(k, &dims, &label_dims);
            if is_dim {
                let admitted = cfg.guard.admit(name, k, v);
                if admitted != v {
                    folded.retain(|(i, _)| *i != index);
                    folded.push((index, OVERFLOW_VALUE.to_owned()));
                }
                label_dims.push((k.to_owned(), admitted.to_owned()));
            } else if is_property_key(k) && k != name && !taken(k, &dims, &props) {
                // Not a dimension (not allowed, a 31st, or a name or value CloudWatch refuses as one):
                // still in the document, for Logs Insights.
                props.push((k.to_owned(), truncate(v)));
            }
        }
        crate::sort::sort(&mut label_dims);
        dims.extend(label_dims);
        // A label key repeated in the labels may have gone to both; the dimension wins.
        props.retain(|(k, _)| !dims.iter().any(|(d, _)| d == k));
        crate::sort::sort(&mut props);
        let sets = cfg.sets_for(name, &dims);
        let invalid = if !is_valid_metric_name(name) {
            Some("invalid EMF metric name")
        } else if dims.iter().any(|(d, _)| d == name) {
            Some("EMF metric name clashes with a dimension")
        } else if cfg.repeats_level_member(name) {
            Some(
                "EMF metric name clashes with the `level`/`timestamp` member Lambda's log-level filter needs",
            )
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
                .entry((dims.clone(), props.clone(), sets.clone()))
                .or_insert_with(|| Arc::new(Group::with_sets(next_group, dims, props, &sets))),
        );
        if group.id == next_group {
            interner.next_group = next_group + 1;
        }
        let next_series = interner.next_series;
        let series = Arc::clone(
            interner
                .series
                .entry((group.id, name.to_owned()))
                .or_insert_with(|| {
                    Arc::new(Series {
                        owner: std::ptr::from_ref(self).addr(),
                        ordinal: next_series,
                        group: Arc::clone(&group),
                        name: name.to_owned(),
                        fragments: MetricFragments::new(name, unit, cfg.high_resolution.contains(name)),
                        invalid,
                        unit: AtomicU8::new(unit_index(unit)),
                    })
                }),
        );
        if series.ordinal == next_series {
            interner.next_series = next_series + 1;
        }
        let folded_key = (!folded.is_empty()).then(|| {
            let labels: Vec<Label> = key
                .labels()
                .enumerate()
                .map(|(i, l)| match folded.iter().find(|(f, _)| *f == i) {
                    Some((_, value)) => Label::new(l.key().to_owned(), value.clone()),
                    None => l.clone(),
                })
                .collect();
            Key::from_parts(name.to_owned(), labels)
        });
        (series, folded_key)
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
        Counter::from_arc(inner.get_or_insert(
            &inner.counters,
            |l| &mut l.counters,
            key,
            |series| CounterCell {
                value: AtomicU64::new(0),
                flushed: AtomicU64::new(0),
                absolute: AtomicU64::new(0),
                series,
            },
        ))
    }
    fn register_gauge(&self, key: &Key, _m: &Metadata<'_>) -> Gauge {
        let inner = &self.inner;
        Gauge::from_arc(inner.get_or_insert(
            &inner.gauges,
            |l| &mut l.gauges,
            key,
            |series| GaugeCell {
                bits: AtomicU64::new(0),
                set: AtomicBool::new(false),
                series,
            },
        ))
    }
    fn register_histogram(&self, key: &Key, _m: &Metadata<'_>) -> Histogram {
        let inner = &self.inner;
        Histogram::from_arc(inner.get_or_insert(
            &inner.histograms,
            |l| &mut l.histograms,
            key,
            |series| HistogramCell {
                values: Mutex::new(Vec::new()),
                overflow: AtomicUsize::new(0),
                series,
            },
        ))
    }
}

impl EmfRecorder {
    pub(super) fn from_parts(cfg: Config, writer: Box<dyn Write + Send>, clock: Arc<dyn Clock>) -> Self {
        let mut cold_dims: Vec<(String, String)> = cfg
            .default_dimensions
            .iter()
            .filter(|(k, _)| k == "service")
            .cloned()
            .collect();
        if let Some(f) = cfg.function_name.as_ref().filter(|f| is_valid_dimension_value(f)) {
            cold_dims.push(("function_name".to_owned(), f.clone()));
        }
        Self {
            inner: Arc::new(Inner {
                directive: json::directive_head(&cfg.namespace),
                cold_start_group: Group::new(u64::MAX, cold_dims, Vec::new()),
                cold_start_metric: MetricFragments::new(
                    crate::catalogue::MetricName::ColdStart.as_str(),
                    EmfUnit::Count,
                    false,
                ),
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                cfg,
                counters: RwLock::default(),
                gauges: RwLock::default(),
                histograms: RwLock::default(),
                described: RwLock::default(),
                interner: Mutex::default(),
                cold_start: AtomicBool::new(false),
                clock,
                registered: AtomicU32::new(0),
                entries_hint: AtomicUsize::new(0),
                flushing: Mutex::new(Flushing {
                    scratch: Scratch::default(),
                    writer,
                    cells: CellLists::default(),
                }),
                unit_generation: AtomicU64::new(0),
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
        self.inner.unit_generation.fetch_add(1, Ordering::AcqRel);
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
}

/// Whether a label key can be a property (a plain root member): any non-empty key of at most
/// [`MAX_PROPERTY_CHARS`] bytes (a value's limit) but `_aws`, the document's metadata. Keys CloudWatch refuses as dimension
/// names (non-ASCII, over 250 characters, starting with `:`) are fine as JSON members.
fn is_property_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= MAX_PROPERTY_CHARS && k != "_aws"
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

#[cfg(test)]
mod tests {
    use super::{KeyTable, same_key};
    use metrics::{Key, Label};
    use std::sync::Arc;

    /// Two keys' labels are the same exactly when `metrics::Key`'s own equality says so: every pair of
    /// label lists of up to four labels over two keys and two values, in every order (repeated keys
    /// included, whose order among themselves counts there too).
    #[test]
    fn labels_are_the_same_as_metrics_says() {
        let all: Vec<Label> = ["a", "b"]
            .iter()
            .flat_map(|k| ["1", "2"].map(|v| Label::new(*k, v)))
            .collect();
        let mut lists: Vec<Vec<Label>> = vec![Vec::new()];
        for len in 1..=4 {
            let mut at = vec![0; len];
            loop {
                lists.push(at.iter().map(|&i| all[i].clone()).collect());
                let Some(i) = at.iter().rposition(|&i| i + 1 < all.len()) else {
                    break;
                };
                at[i] += 1;
                at[i + 1..].fill(0);
            }
        }
        let (mut same, mut checked) = (0, 0);
        for a in &lists {
            for b in &lists {
                let (ka, kb) = (Key::from_parts("M", a.clone()), Key::from_parts("M", b.clone()));
                let want = ka == kb;
                assert_eq!(super::same_labels(a, b), want, "{a:?} against {b:?}");
                same += usize::from(want);
                checked += 1;
            }
        }
        assert!(same > lists.len() && checked > 100_000, "{same} of {checked}");
    }

    /// Keys made of the same static parts are the same key without their text compared; keys of the
    /// same text from other parts (a name built at run time, labels in another slice) are the same
    /// too; keys that share a name but not their labels, or a label slice but not the name, are not.
    #[test]
    fn keys_are_the_same_by_parts_or_by_text() {
        static LABELS: [Label; 2] = [
            Label::from_static_parts("agent", "pricing"),
            Label::from_static_parts("model", "claude"),
        ];
        static OTHER: [Label; 1] = [Label::from_static_parts("agent", "pricing")];
        let fixed = || Key::from_static_labels("CardsValued", &LABELS);
        assert!(same_key(&fixed(), &fixed()));
        let built = Key::from_parts(
            String::from("Cards") + "Valued",
            vec![Label::new("agent", "pricing"), Label::new("model", "claude")],
        );
        assert!(same_key(&fixed(), &built) && same_key(&built, &fixed()));
        assert_eq!(fixed().get_hash(), built.get_hash());
        assert!(!same_key(
            &fixed(),
            &Key::from_static_labels("CardsValued", &OTHER)
        ));
        assert!(!same_key(
            &fixed(),
            &Key::from_static_labels("CardsPriced", &LABELS)
        ));

        let mut table = KeyTable::default();
        table.insert(fixed(), Arc::new(1));
        table.insert(built.clone(), Arc::new(2));
        assert_eq!(table.len(), 1, "the same key, whatever its parts");
        assert_eq!(table.get(&fixed()).map(|v| **v), Some(2));
        table.insert(Key::from_static_labels("CardsValued", &OTHER), Arc::new(3));
        assert_eq!(table.len(), 2);
        table.retain(|v| **v != 2);
        assert_eq!((table.len(), table.get(&built).is_none()), (1, true));

        let rec = crate::emf::EmfBuilder::new()
            .allow_all_labels()
            .with_writer(std::io::sink())
            .build()
            .unwrap();
        metrics::with_local_recorder(&rec, || {
            metrics::counter!("CardsValued", "agent" => "pricing").increment(1);
            metrics::counter!(String::from("Cards") + "Valued", "agent" => String::from("pricing"))
                .increment(1);
        });
        assert_eq!(
            super::read(&rec.inner.counters).len(),
            1,
            "one cell, whatever the key's parts"
        );
    }
}
