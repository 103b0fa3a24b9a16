//! Where finished OpenTelemetry spans go: the one span model every exporter reads.
//!
//! [`XrayLayer`](super::XrayLayer) turns `tracing` spans into `opentelemetry_sdk` [`SpanData`], and
//! spans made with the OpenTelemetry API end as `SpanData` too (the `otel` feature's provider). Both
//! are handed, a batch at a time, to a [`SpanSink`]: the X-Ray daemon exporter
//! ([`XraySegmentExporter`](super::XraySegmentExporter)), OTLP over UDP or HTTP (`otel` module), or
//! several at once ([`SpanSinks`]). A batch is usually a whole invocation: the spans that finished
//! inside it, sent when its span closes, before the runtime posts the response.

use opentelemetry_sdk::trace::SpanData;
use std::cell::Cell;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Receives batches of finished spans. Must not block on the network and must not panic: it runs on
/// the invocation path.
pub trait SpanSink: Send + Sync + std::fmt::Debug + 'static {
    /// Takes one batch (spans in the order they finished; children before their parents).
    fn export(&self, batch: Vec<SpanData>);

    /// A wait for the batches handed to this sink so far to leave the process (sent, or given up
    /// on) — `None` when none is still held. A sink that sends while it is handed a batch (the UDP
    /// exporters) never holds any. The batches are fixed when this is called, the wait happens when
    /// the [`Flusher`] is called (with how long it may take; it returns whether they all left).
    /// Never waited on the invocation path: `telemetry::run` (feature `lambda`) takes it once the
    /// runtime has posted an invocation's response and waits, off the runtime's threads, before the
    /// runtime asks for the next event — when Lambda may freeze the process, and a post left half
    /// done would finish only at the next thaw, or never.
    fn flusher(&self) -> Option<Flusher> {
        None
    }

    /// Waits up to `timeout` for the batches handed over so far to leave; true when they have (or
    /// none was held).
    fn flush(&self, timeout: Duration) -> bool {
        self.flusher().is_none_or(|wait| wait(timeout))
    }

    /// Waits up to `timeout` for every batch handed over so far to leave — posted, or given up on —
    /// whatever state the endpoint is in (unlike [`flusher`](Self::flusher), which does not wait on a
    /// failing endpoint); true when none is still held. For shutdown: nothing comes after it.
    fn drain(&self, timeout: Duration) -> bool {
        self.flush(timeout)
    }

    /// Whether this sink may hold batches after [`export`](Self::export) returns (it sends them from
    /// a thread of its own, as the OTLP/HTTP exporter does) — then `telemetry::run` (feature
    /// `lambda`) also waits for them when Lambda shuts the environment down. False for sinks that
    /// send while they are handed a batch.
    fn holds_batches(&self) -> bool {
        false
    }
}

thread_local! {
    /// An emptied batch vector kept for this thread's next batch: a few spans' data outgrow the
    /// allocator's per-thread cache, so allocating the vector anew for every invocation is a slow
    /// allocation and a slow free each time.
    static SPARE_BATCH: Cell<Vec<SpanData>> = const { Cell::new(Vec::new()) };
}

/// The largest batch vector kept for reuse (in spans).
const SPARE_BATCH_CAPACITY: usize = 64;

/// An empty vector for a new batch: the one this thread last gave back, if any.
pub(crate) fn spare_batch() -> Vec<SpanData> {
    // A span may close while the thread's locals are torn down: then a new vector.
    SPARE_BATCH.try_with(Cell::take).unwrap_or_default()
}

/// The vector a closing span's batch is built in: its children's `finished`, when it has any (the
/// first child to close handed its vector up), else a [`spare_batch`] — never a fresh allocation
/// while this thread has one to reuse.
pub(crate) fn batch_from(finished: Vec<SpanData>) -> Vec<SpanData> {
    if finished.capacity() == 0 {
        spare_batch()
    } else {
        finished
    }
}

/// Empties `batch` and keeps its allocation for this thread's next [`spare_batch`] (unless it is
/// over [`SPARE_BATCH_CAPACITY`] spans: a long invocation's large batch is freed).
pub(crate) fn give_back(mut batch: Vec<SpanData>) {
    batch.clear();
    if batch.capacity() <= SPARE_BATCH_CAPACITY {
        // Freed instead when the thread's locals are already gone.
        let _ = SPARE_BATCH.try_with(|spare| spare.set(batch));
    }
}

/// A wait for batches a sink holds: called with the time it may take, returns whether they left
/// ([`SpanSink::flusher`]).
pub type Flusher = Box<dyn FnOnce(Duration) -> bool + Send>;

impl<T: SpanSink + ?Sized> SpanSink for Arc<T> {
    fn export(&self, batch: Vec<SpanData>) {
        (**self).export(batch);
    }

    fn flusher(&self) -> Option<Flusher> {
        (**self).flusher()
    }

    fn drain(&self, timeout: Duration) -> bool {
        (**self).drain(timeout)
    }

    fn holds_batches(&self) -> bool {
        (**self).holds_batches()
    }
}

/// Sends every batch to each of several sinks (e.g. X-Ray segment documents and OTLP/HTTP).
#[derive(Debug, Default, Clone)]
pub struct SpanSinks(Vec<Arc<dyn SpanSink>>);

impl SpanSinks {
    /// No sinks yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `sink`.
    #[must_use]
    pub fn with(mut self, sink: impl SpanSink) -> Self {
        self.0.push(Arc::new(sink));
        self
    }

    /// Whether there is no sink at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many sinks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl SpanSink for SpanSinks {
    fn export(&self, batch: Vec<SpanData>) {
        match self.0.as_slice() {
            [] => {}
            [only] => only.export(batch),
            [rest @ .., last] => {
                for sink in rest {
                    sink.export(batch.clone());
                }
                last.export(batch);
            }
        }
    }

    fn holds_batches(&self) -> bool {
        self.0.iter().any(|s| s.holds_batches())
    }

    /// The sinks drained in turn, within one timeout for all.
    fn drain(&self, timeout: Duration) -> bool {
        in_turn_within(self.0.iter(), timeout, |sink, left| sink.drain(left))
    }

    /// The sinks' waits in turn, within one timeout for all.
    fn flusher(&self) -> Option<Flusher> {
        let mut waits: Vec<Flusher> = self.0.iter().filter_map(|s| s.flusher()).collect();
        match waits.len() {
            0 => None,
            1 => waits.pop(),
            _ => Some(Box::new(move |timeout: Duration| {
                in_turn_within(waits, timeout, |wait, left| wait(left))
            })),
        }
    }
}

/// Runs `wait` on each item in turn with what is left of one `timeout` for all (each runs, even once
/// the time is spent: a zero wait still says whether its batches left); true when every one did.
fn in_turn_within<T>(
    items: impl IntoIterator<Item = T>,
    timeout: Duration,
    mut wait: impl FnMut(T, Duration) -> bool,
) -> bool {
    let until = Instant::now().checked_add(timeout);
    items.into_iter().fold(true, |all, item| {
        let left = until.map_or(timeout, |u| u.saturating_duration_since(Instant::now()));
        wait(item, left) && all
    })
}

/// Keeps every span in memory (tests).
#[derive(Debug, Clone, Default)]
pub struct MemorySpanSink(Arc<Mutex<Vec<Vec<SpanData>>>>);

impl MemorySpanSink {
    /// Every batch received so far.
    #[must_use]
    pub fn batches(&self) -> Vec<Vec<SpanData>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Every span received so far, batches flattened.
    #[must_use]
    pub fn spans(&self) -> Vec<SpanData> {
        self.batches().into_iter().flatten().collect()
    }
}

impl SpanSink for MemorySpanSink {
    fn export(&self, batch: Vec<SpanData>) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_given_back_is_the_next_spare_empty_and_a_large_one_is_freed() {
        let _ = spare_batch();
        assert_eq!(spare_batch().capacity(), 0, "nothing kept yet");
        let mut v = spare_batch();
        v.reserve_exact(4);
        let (ptr, cap) = (v.as_ptr(), v.capacity());
        give_back(v);
        let again = spare_batch();
        assert_eq!((again.as_ptr(), again.capacity(), again.len()), (ptr, cap, 0));
        assert_eq!(spare_batch().capacity(), 0, "taken once");
        let mut big = Vec::new();
        big.reserve_exact(SPARE_BATCH_CAPACITY + 1);
        give_back(big);
        assert_eq!(spare_batch().capacity(), 0, "over the cap: freed, not kept");
    }
}
