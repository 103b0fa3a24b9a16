//! Each thread's registered keys. `counter!(…)` registers its key on every call, and the recorder's
//! key table answers under its read lock: two locked instructions (≈ 15–30 ns each on a shared
//! Intel core) per call, ten of them in a typical invocation. A thread keeps the cells it was handed
//! for keys made of static parts — the same name and label slice every time, found in the table by
//! their parts ([`KeyParts`]) — and finds them again with no lock.
//!
//! Only cells the sweep never forgets are kept: those of series without properties (the sweep drops
//! idle cells of series with properties, and a kept cell would look held). A kept cell is therefore
//! always the one the table holds for its key. A thread keeps one recorder's cells at a time (by
//! [`Inner::id`](super::recorder::Inner)), at most [`MAX_KEPT`] per kind.

use super::cells::{CounterCell, GaugeCell, HistogramCell};
use super::series::Series;
use metrics::Key;
use std::cell::RefCell;
use std::sync::Arc;
use std::thread::LocalKey;

/// Cells a thread keeps per kind at most; past it the thread starts over.
const MAX_KEPT: usize = 64;

/// A key's hash and the addresses and lengths of its name and label slice. Keys of equal parts are
/// the same key: the key table's own fast check (`same_key`), where the hash is the bucket's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct KeyParts([usize; 4], u64);

impl KeyParts {
    pub(super) fn of(key: &Key) -> Self {
        let (name, labels) = (key.name(), key.labels().as_slice());
        Self(
            [
                name.as_ptr().addr(),
                name.len(),
                labels.as_ptr().addr(),
                labels.len(),
            ],
            key.get_hash(),
        )
    }
}

/// One thread's kept cells of one kind, all of one recorder.
pub(super) struct KeyCache<T> {
    recorder: u64,
    kept: Vec<(KeyParts, Arc<T>)>,
}

impl<T> KeyCache<T> {
    const fn new() -> Self {
        Self {
            recorder: 0,
            kept: Vec::new(),
        }
    }
}

thread_local! {
    static COUNTERS: RefCell<KeyCache<CounterCell>> = const { RefCell::new(KeyCache::new()) };
    static GAUGES: RefCell<KeyCache<GaugeCell>> = const { RefCell::new(KeyCache::new()) };
    static HISTOGRAMS: RefCell<KeyCache<HistogramCell>> = const { RefCell::new(KeyCache::new()) };
}

/// A cell kind with a thread's cache of its own.
pub(super) trait Kept: Sized + 'static {
    fn cache() -> &'static LocalKey<RefCell<KeyCache<Self>>>;
    fn series(&self) -> &Series;
}

impl Kept for CounterCell {
    fn cache() -> &'static LocalKey<RefCell<KeyCache<Self>>> {
        &COUNTERS
    }
    fn series(&self) -> &Series {
        &self.series
    }
}

impl Kept for GaugeCell {
    fn cache() -> &'static LocalKey<RefCell<KeyCache<Self>>> {
        &GAUGES
    }
    fn series(&self) -> &Series {
        &self.series
    }
}

impl Kept for HistogramCell {
    fn cache() -> &'static LocalKey<RefCell<KeyCache<Self>>> {
        &HISTOGRAMS
    }
    fn series(&self) -> &Series {
        &self.series
    }
}

/// The cell this thread keeps for `parts` of recorder `recorder`.
pub(super) fn find<T: Kept>(recorder: u64, parts: KeyParts) -> Option<Arc<T>> {
    T::cache()
        .try_with(|cache| {
            let cache = cache.try_borrow().ok()?;
            if cache.recorder != recorder {
                return None;
            }
            let (_, cell) = cache.kept.iter().find(|(p, _)| *p == parts)?;
            Some(Arc::clone(cell))
        })
        .ok()
        .flatten()
}

/// Keeps `cell` for `parts` of recorder `recorder` on this thread (forgetting another recorder's),
/// unless the sweep may forget it (its series has properties).
pub(super) fn keep<T: Kept>(recorder: u64, parts: KeyParts, cell: &Arc<T>) {
    if !cell.series().group.props.is_empty() {
        return;
    }
    let _ = T::cache().try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return;
        };
        if cache.recorder != recorder || cache.kept.len() >= MAX_KEPT {
            cache.recorder = recorder;
            cache.kept.clear();
        }
        cache.kept.push((parts, Arc::clone(cell)));
    });
}
