//! Per-invocation metrics, for Lambda Managed Instances concurrency.
//!
//! `metrics` handles are process-wide, so with several invocations running in one process a plain
//! recorder cannot tell whose `counter!` an increment is. While an [`InvocationMetrics`] is entered on
//! the current thread (the invocation layer enters it around every poll of the handler's future),
//! recordings of its recorder go to that invocation's own buffer instead of the process-wide cells;
//! [`EmfRecorder::flush_invocation`](super::EmfRecorder::flush_invocation) then writes exactly that
//! invocation's metrics with its own request id. Outside any invocation (init code, a task spawned
//! without [`InvocationMetrics::scope`]) recordings go to the process-wide cells, as before.
//!
//! Counters are summed per invocation, histograms keep the invocation's values, gauges stay
//! process-wide state (an invocation's `set`/`increment` changes the shared value) and the invocation
//! reports the value its last change produced.

use super::series::{CellKind, Series};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

thread_local! {
    static CURRENT: RefCell<Option<InvocationMetrics>> = const { RefCell::new(None) };
}

/// Entries searched linearly before an index is built (most invocations touch a few metrics).
const LINEAR: usize = 32;

/// One invocation's metrics, kept apart from those of invocations running at the same time. Cheap to
/// clone (shared state). Created by [`EmfRecorder::invocation`](super::EmfRecorder::invocation).
///
/// ```
/// use telemetry::emf::{EmfBuilder, SharedBuffer};
/// let out = SharedBuffer::default();
/// let rec = EmfBuilder::new().namespace("CollectIQ").with_writer(out.clone()).build()?;
/// let (a, b) = (rec.invocation(), rec.invocation());
/// metrics::with_local_recorder(&rec, || {
///     a.enter_with(|| metrics::counter!("CardsValued").increment(1));
///     b.enter_with(|| metrics::counter!("CardsValued").increment(5));
/// });
/// rec.flush_invocation(&a, &[("function_request_id", "req-a")]);
/// let doc: serde_json::Value = serde_json::from_str(out.contents().trim())?;
/// assert_eq!((doc["CardsValued"].as_u64(), doc["function_request_id"].as_str()), (Some(1), Some("req-a")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct InvocationMetrics(pub(super) Arc<Shared>);

impl fmt::Debug for InvocationMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvocationMetrics").finish_non_exhaustive()
    }
}

pub(super) struct Shared {
    /// The recorder whose recordings this invocation takes (its address).
    pub(super) owner: usize,
    pub(super) state: Mutex<State>,
    pub(super) cold_start: AtomicBool,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) entries: Vec<Entry>,
    index: HashMap<usize, usize, BuildHasherDefault<AddressHasher>>,
    /// Histogram values beyond the pending cap.
    pub(super) overflow: usize,
    /// The invocation ended ([`InvocationMetrics::close`]): later recordings are process-wide.
    closed: bool,
}

/// What one invocation recorded for one cell.
pub(super) struct Entry {
    key: usize,
    pub(super) series: Arc<Series>,
    pub(super) kind: CellKind,
    pub(super) counter: u64,
    pub(super) gauge: Option<f64>,
    pub(super) values: Vec<f64>,
}

/// Keys are addresses (distinct, 8-aligned): a multiply spreads them well enough.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_usize(&mut self, v: usize) {
        self.0 = (v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl State {
    fn entry(&mut self, series: &Arc<Series>, kind: CellKind) -> usize {
        let key = Arc::as_ptr(series).addr() ^ kind as usize;
        let found = if self.index.is_empty() {
            self.entries.iter().position(|e| e.key == key)
        } else {
            self.index.get(&key).copied()
        };
        found.unwrap_or_else(|| {
            self.entries.push(Entry {
                key,
                series: Arc::clone(series),
                kind,
                counter: 0,
                gauge: None,
                values: Vec::new(),
            });
            let i = self.entries.len() - 1;
            if !self.index.is_empty() {
                self.index.insert(key, i);
            } else if self.entries.len() > LINEAR {
                self.index = self.entries.iter().enumerate().map(|(i, e)| (e.key, i)).collect();
            }
            i
        })
    }
}

/// Hands a recording of `series` to the invocation entered on this thread, if it belongs to the
/// series' recorder; `false` means "record process-wide".
pub(super) fn route(series: &Arc<Series>, kind: CellKind, f: impl FnOnce(&mut Entry, &mut usize)) -> bool {
    CURRENT
        .try_with(|current| {
            let Ok(current) = current.try_borrow() else {
                return false;
            };
            let Some(inv) = current.as_ref().filter(|i| i.0.owner == series.owner) else {
                return false;
            };
            let mut state = inv.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            let state = &mut *state;
            if state.closed {
                // A task scoped to an invocation that has ended: nothing would write this invocation
                // again, so the recording goes where the next flush finds it.
                return false;
            }
            let i = state.entry(series, kind);
            f(&mut state.entries[i], &mut state.overflow);
            true
        })
        .unwrap_or(false)
}

impl InvocationMetrics {
    /// Metrics of an invocation of the recorder at `owner`, with room for `entries` cells.
    pub(super) fn new(owner: usize, entries: usize) -> Self {
        Self(Arc::new(Shared {
            owner,
            state: Mutex::new(State {
                entries: Vec::with_capacity(entries),
                ..State::default()
            }),
            cold_start: AtomicBool::new(false),
        }))
    }

    /// Routes this thread's recordings to this invocation until the returned guard is dropped (it
    /// restores whatever was entered before).
    #[must_use = "recordings are routed only while the guard lives"]
    pub fn enter(&self) -> InvocationScope {
        let previous = CURRENT
            .try_with(|c| c.try_borrow_mut().ok().map(|mut c| c.replace(self.clone())))
            .ok()
            .flatten();
        InvocationScope {
            previous,
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with this invocation entered.
    pub fn enter_with<R>(&self, f: impl FnOnce() -> R) -> R {
        let _scope = self.enter();
        f()
    }

    /// The invocation entered on this thread, if any: to carry into a spawned task with
    /// [`scope`](Self::scope).
    #[must_use]
    pub fn current() -> Option<Self> {
        CURRENT
            .try_with(|c| c.try_borrow().ok().and_then(|c| c.clone()))
            .ok()
            .flatten()
    }

    /// Wraps `future` so every poll records into this invocation (for tasks a handler spawns):
    /// `tokio::spawn(InvocationMetrics::current().unwrap().scope(async { … }))`.
    pub fn scope<F: Future>(self, future: F) -> Scoped<F> {
        Scoped {
            metrics: self,
            future: Box::pin(future),
        }
    }

    /// Ends the invocation: what its scoped tasks ([`scope`](Self::scope)) record from now on is
    /// recorded process-wide (written by the next [`EmfRecorder::flush`](super::EmfRecorder::flush),
    /// without this invocation's request id) instead of into a buffer nothing writes again. Call it
    /// before the invocation's last [`flush_invocation`](super::EmfRecorder::flush_invocation); the
    /// invocation layer does.
    pub fn close(&self) {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
    }

    /// This invocation was a real cold start: its flush adds the `ColdStart` document.
    pub fn record_cold_start(&self) {
        self.0.cold_start.store(true, Ordering::Release);
    }
}

/// Restores the previously entered invocation when dropped. Not `Send`: it belongs to one thread.
pub struct InvocationScope {
    previous: Option<Option<InvocationMetrics>>,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for InvocationScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvocationScope").finish_non_exhaustive()
    }
}

impl Drop for InvocationScope {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            let _ = CURRENT.try_with(|c| {
                if let Ok(mut c) = c.try_borrow_mut() {
                    *c = previous;
                }
            });
        }
    }
}

/// A future whose polls record into one invocation. See [`InvocationMetrics::scope`].
pub struct Scoped<F> {
    metrics: InvocationMetrics,
    future: Pin<Box<F>>,
}

impl<F> fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped").finish_non_exhaustive()
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _scope = this.metrics.enter();
        this.future.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emf::{EmfBuilder, EmfRecorder, SharedBuffer, validate};
    use serde_json::{Value, json};

    fn recorder() -> (EmfRecorder, SharedBuffer) {
        let out = SharedBuffer::default();
        let rec = EmfBuilder::new()
            .namespace("CollectIQ")
            .service("valuation")
            .with_writer(out.clone())
            .build()
            .unwrap();
        (rec, out)
    }

    fn take(out: &SharedBuffer) -> Vec<Value> {
        let docs = out
            .contents()
            .lines()
            .map(|l| {
                validate(l).unwrap();
                serde_json::from_str(l).unwrap()
            })
            .collect();
        out.clear();
        docs
    }

    #[test]
    fn each_kind_is_kept_per_invocation() {
        let (rec, out) = recorder();
        let (a, b) = (rec.invocation(), rec.invocation());
        metrics::with_local_recorder(&rec, || {
            metrics::gauge!("Depth").set(10.0);
            a.enter_with(|| {
                metrics::counter!("Hits").increment(2);
                metrics::counter!("Hits").increment(3);
                metrics::gauge!("Depth").increment(1.0);
                metrics::histogram!("Lat").record(1.5);
                b.enter_with(|| metrics::counter!("Hits").increment(100));
                // b's scope ended: back to a.
                metrics::histogram!("Lat").record(2.5);
            });
            b.enter_with(|| metrics::gauge!("Depth").decrement(4.0));
        });
        rec.flush_invocation(&a, &[("function_request_id", "a")]);
        let da = take(&out);
        assert_eq!(da.len(), 1);
        assert_eq!(
            (
                &da[0]["Hits"],
                &da[0]["Depth"],
                &da[0]["Lat"],
                &da[0]["function_request_id"]
            ),
            (&json!(5), &json!(11), &json!([1.5, 2.5]), &json!("a")),
            "the gauge is shared state: 10 + 1"
        );
        rec.flush_invocation(&b, &[("function_request_id", "b")]);
        let db = take(&out);
        assert_eq!((&db[0]["Hits"], &db[0]["Depth"]), (&json!(100), &json!(7)));
        assert!(db[0].get("Lat").is_none());
        rec.flush();
        let process = take(&out);
        assert_eq!(process.len(), 1, "only what was recorded outside: {process:?}");
        // Recorded outside (set to 10), then changed by both invocations: the process value is now 7.
        assert_eq!(process[0]["Depth"], 7);
        assert!(process[0].get("Hits").is_none());
        assert_eq!(rec.flush_invocation(&a, &[]).documents, 0, "drained");
    }

    /// A gauge and a counter of one name are one series: "counters are summed, anything else is
    /// listed" — in either recording order; a gauge recorded first used to be summed with the counter.
    #[test]
    fn a_gauge_is_never_summed_into_a_counter_of_its_series() {
        for gauge_first in [true, false] {
            let (rec, out) = recorder();
            let a = rec.invocation();
            metrics::with_local_recorder(&rec, || {
                a.enter_with(|| {
                    if gauge_first {
                        metrics::gauge!("X").set(5.0);
                        metrics::counter!("X").increment(1);
                    } else {
                        metrics::counter!("X").increment(1);
                        metrics::gauge!("X").set(5.0);
                    }
                });
            });
            rec.flush_invocation(&a, &[("function_request_id", "a")]);
            let d = take(&out);
            let mut values: Vec<f64> = d[0]["X"]
                .as_array()
                .unwrap_or_else(|| panic!("gauge_first={gauge_first}: {}", d[0]["X"]))
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            values.sort_by(f64::total_cmp);
            assert_eq!(values, [1.0, 5.0], "gauge_first={gauge_first}");
        }
    }

    /// A new invocation starts with room for as many cells as the last flushed one recorded (capped),
    /// so recording them does not reallocate; what it records is unchanged.
    #[test]
    fn an_invocation_starts_with_room_for_the_last_ones_cells() {
        let (rec, out) = recorder();
        let capacity = |inv: &InvocationMetrics| inv.0.state.lock().unwrap().entries.capacity();
        let names: Vec<String> = (0..300).map(|i| format!("M{i}")).collect();
        let run = |count: usize| {
            let inv = rec.invocation();
            let room = capacity(&inv);
            metrics::with_local_recorder(&rec, || {
                inv.enter_with(|| {
                    for n in &names[..count] {
                        metrics::counter!(n.clone()).increment(1);
                    }
                });
            });
            rec.flush_invocation(&inv, &[]);
            assert_eq!(crate::emf::metrics_declared(&take(&out)), count);
            room
        };
        assert_eq!(run(10), 0, "nothing flushed yet");
        assert!(run(3) >= 10, "room for the last invocation's 10 cells");
        assert!(run(300) >= 3);
        let capped = run(1);
        assert!(
            (256..300).contains(&capped),
            "capped at 256 cells, not the last 300: {capped}"
        );
    }

    #[test]
    fn another_recorders_metrics_are_not_taken() {
        let (rec, _out) = recorder();
        let (other, other_out) = recorder();
        let inv = rec.invocation();
        metrics::with_local_recorder(&other, || {
            inv.enter_with(|| metrics::counter!("Hits").increment(1))
        });
        assert_eq!(rec.flush_invocation(&inv, &[]).documents, 0);
        assert_eq!(
            other.flush_invocation(&inv, &[]).documents,
            0,
            "not its invocation"
        );
        assert_eq!(other.flush().values, 1);
        assert_eq!(take(&other_out)[0]["Hits"], 1);
    }

    #[test]
    fn scope_carries_the_invocation_into_a_future_and_cold_start_is_its_own() {
        let (rec, out) = recorder();
        let inv = rec.invocation();
        inv.record_cold_start();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        metrics::with_local_recorder(&rec, || {
            let carried = inv.enter_with(|| InvocationMetrics::current().unwrap());
            assert!(InvocationMetrics::current().is_none());
            rt.block_on(carried.scope(async {
                metrics::counter!("Spawned").increment(1);
                tokio::task::yield_now().await;
                metrics::counter!("Spawned").increment(1);
            }));
        });
        rec.flush();
        assert!(
            take(&out).is_empty(),
            "neither the count nor the cold start is process-wide"
        );
        rec.flush_invocation(&inv, &[("function_request_id", "r")]);
        let docs = take(&out);
        assert_eq!(docs.len(), 2);
        assert!(
            docs.iter()
                .any(|d| d["ColdStart"] == 1 && d["function_request_id"] == "r")
        );
        assert!(docs.iter().any(|d| d["Spawned"] == 2));
    }

    #[test]
    fn many_metrics_switch_to_an_index() {
        let (rec, out) = recorder();
        let inv = rec.invocation();
        metrics::with_local_recorder(&rec, || {
            inv.enter_with(|| {
                for round in 0..2 {
                    for i in 0..(LINEAR * 3) {
                        metrics::counter!(format!("M{i:03}")).increment(round + 1);
                    }
                }
            });
        });
        assert_eq!(rec.flush_invocation(&inv, &[]).values, LINEAR * 3);
        let docs = take(&out);
        assert!(docs.iter().all(|d| d["M000"].is_null() || d["M000"] == 3));
        assert_eq!(docs[0]["M000"], 3);
    }

    /// A task scoped to an invocation that outlives it (`tokio::spawn(m.scope(…))`, still counting
    /// after the handler returned) records process-wide once the invocation is closed: the next
    /// `flush` writes it, where before it went into a buffer nothing wrote again.
    #[test]
    fn recordings_after_the_invocation_closed_are_process_wide() {
        let (rec, out) = recorder();
        let a = rec.invocation();
        metrics::with_local_recorder(&rec, || {
            a.enter_with(|| metrics::counter!("Refreshed").increment(1));
            a.close();
            // The scoped task, polled again after the invocation's end.
            a.enter_with(|| metrics::counter!("Refreshed").increment(2));
        });
        rec.flush_invocation(&a, &[("function_request_id", "a")]);
        rec.flush();
        let docs: Vec<Value> = out
            .contents()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let of = |id: Option<&str>| {
            docs.iter()
                .filter(|d| d.get("function_request_id").and_then(Value::as_str) == id)
                .map(|d| d["Refreshed"].as_u64().unwrap())
                .sum::<u64>()
        };
        assert_eq!((of(Some("a")), of(None)), (1, 2), "{docs:?}");
    }
}
