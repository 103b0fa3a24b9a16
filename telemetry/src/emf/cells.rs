//! The process-wide cells behind `metrics`' `Counter`, `Gauge` and `Histogram` handles. A recording
//! goes to the current invocation's own buffer when one of this recorder's invocations is entered on
//! the thread ([`super::invocation::route`]), else to the cell, which the process-wide flush drains.

use super::invocation::route;
use super::series::{CellKind, Series};
use metrics::{CounterFn, GaugeFn, HistogramFn};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Histogram values held per metric between two flushes; more are dropped and counted (a process that
/// never flushes must not grow without bound).
pub const MAX_PENDING_VALUES: usize = 100_000;

#[derive(Debug)]
pub(super) struct CounterCell {
    /// Everything added outside an invocation since the cell was made (saturating; started over
    /// from zero by a drain once past [`RESTART_AT`]).
    pub(super) value: AtomicU64,
    /// How much of `value` process-wide flushes have reported. Written only by [`Self::drain`],
    /// with the recorder's `flushing` lock held: a flush reads each counter with plain loads and a store
    /// instead of a locked swap (≈ 20 cycles each on x86, most of a small flush's own time).
    pub(super) flushed: AtomicU64,
    /// The highest total `absolute` has set: EMF counts per flush, so an absolute total reports
    /// what it grew by since.
    pub(super) absolute: AtomicU64,
    pub(super) series: Arc<Series>,
}

/// A drain that finds a counter's total at or past this starts the total over from zero (one swap),
/// so that a total saturating at `u64::MAX` over a process's life never stops counting.
const RESTART_AT: u64 = 1 << 63;

impl CounterCell {
    /// What was added since the last drain, and marks it reported. Only with the recorder's
    /// `flushing` lock held (two concurrent drains would both report the same growth).
    pub(super) fn drain(&self) -> u64 {
        let now = self.value.load(Ordering::Relaxed);
        let before = self.flushed.load(Ordering::Relaxed);
        if now == before {
            return 0;
        }
        if now < RESTART_AT {
            self.flushed.store(now, Ordering::Relaxed);
            return now - before;
        }
        // `value` only grows but for this swap, made under the same lock: it is at least `before`.
        let total = self.value.swap(0, Ordering::AcqRel);
        self.flushed.store(0, Ordering::Relaxed);
        total.saturating_sub(before)
    }

    /// Whether something was added since the last drain.
    pub(super) fn has_unflushed(&self) -> bool {
        self.value.load(Ordering::Relaxed) != self.flushed.load(Ordering::Relaxed)
    }
}

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        if !route(&self.series, CellKind::Counter, |e, _| {
            e.counter = e.counter.saturating_add(value);
        }) {
            // Saturating, as the invocation's own cells are: a wrapped total would report a small
            // count (or, at exactly 0, none) for a counter that overflowed.
            let _ = self
                .value
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_add(value))
                });
        }
    }
    /// `metrics` sets the counter to at least `value` (a total kept elsewhere, which callers may
    /// report out of order). An EMF document counts what happened since the last flush, so what goes
    /// in is the growth over the highest total set before: 100 then 105 adds 100 then 5 (CloudWatch's
    /// sum is 105), an older 100 after 105 adds nothing.
    fn absolute(&self, value: u64) {
        let before = self.absolute.fetch_max(value, Ordering::AcqRel);
        let grown = value.saturating_sub(before);
        if grown > 0 {
            self.increment(grown);
        }
    }
}

#[derive(Debug)]
pub(super) struct GaugeCell {
    pub(super) bits: AtomicU64,
    pub(super) set: AtomicBool,
    pub(super) series: Arc<Series>,
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        let previous = self
            .bits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                Some((f64::from_bits(b) + value).to_bits())
            })
            .unwrap_or_else(|b| b);
        // The gauge is process state; an invocation reports the value its own change produced.
        let now = f64::from_bits(previous) + value;
        if !route(&self.series, CellKind::Gauge, |e, _| e.gauge = Some(now)) {
            self.set.store(true, Ordering::Release);
        }
    }
    fn decrement(&self, value: f64) {
        self.increment(-value);
    }
    fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Release);
        if !route(&self.series, CellKind::Gauge, |e, _| e.gauge = Some(value)) {
            self.set.store(true, Ordering::Release);
        }
    }
}

#[derive(Debug)]
pub(super) struct HistogramCell {
    pub(super) values: Mutex<Vec<f64>>,
    pub(super) overflow: AtomicUsize,
    pub(super) series: Arc<Series>,
}

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        let routed = route(&self.series, CellKind::Histogram, |e, overflow| {
            if e.values.len() < MAX_PENDING_VALUES {
                e.values.push(value);
            } else {
                *overflow += 1;
            }
        });
        if routed {
            return;
        }
        let mut v = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        if v.len() < MAX_PENDING_VALUES {
            v.push(value);
        } else {
            self.overflow.fetch_add(1, Ordering::Relaxed);
        }
    }
}
