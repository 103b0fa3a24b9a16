//! The flush: drains the cells (process-wide) or one invocation's buffer and writes EMF documents.
//! It only drains values, sorts by small integers (when not drained in order already) and copies the
//! fragments resolved at registration — from a document template cached per group and metric set
//! ([`super::scratch::TemplateCache`]) once the same set is flushed again — and formatted numbers into a
//! reused buffer ([`super::json`]); in steady state it allocates nothing.

use super::MAX_PENDING_VALUES;
use super::cells::CounterCell;
use super::document::{
    MAX_DOCUMENT_BYTES, MAX_METRICS_PER_DOCUMENT, MAX_VALUES_PER_METRIC, is_valid_dimension_name,
    is_valid_value,
};
use super::invocation::{Entry, InvocationMetrics};
use super::json::{self, DocumentHead, DocumentTemplate, MetricJson};
use super::key_cache::Kept;
use super::recorder::{CellLists, EmfRecorder, Flushing, KeyMap, lock, write};
use super::scratch::{Scratch, Slot, TemplateCache};
use super::series::{CellKind, Group, Series};
use super::units::EmfUnit;
use crate::clock::epoch_millis;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Interned groups and series beyond which unused ones are swept at flush.
const SWEEP_THRESHOLD: usize = 1024;

/// The most cells a new invocation's entries are sized for from the last one's count (one invocation
/// recording thousands of series does not make every later one start that large).
const MAX_ENTRIES_HINT: usize = 256;

/// What one flush did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Documents written.
    pub documents: usize,
    /// Metric values written.
    pub values: usize,
    /// Values rejected (NaN, ±inf, out of CloudWatch's range, or over [`MAX_PENDING_VALUES`](super::MAX_PENDING_VALUES)).
    pub rejected_values: usize,
    /// Metrics rejected (invalid name, name clashing with a dimension, document too large).
    pub rejected_metrics: usize,
}

/// Where the series of a [`Slot`] lives.
trait SeriesSource {
    fn series(&self, slot: &Slot) -> &Series;
}

/// The process-wide cells, in registration order.
impl SeriesSource for CellLists {
    fn series(&self, slot: &Slot) -> &Series {
        match slot.kind {
            CellKind::Counter => &self.counters[slot.index].series,
            CellKind::Gauge => &self.gauges[slot.index].series,
            CellKind::Histogram => &self.histograms[slot.index].series,
        }
    }
}

/// One invocation's entries.
struct Entries<'a>(&'a [Entry]);

impl SeriesSource for Entries<'_> {
    fn series(&self, slot: &Slot) -> &Series {
        &self.0[slot.index].series
    }
}

/// Clears `flag` and says whether it was set: a plain load first, so a flag that is clear (the common
/// case) costs no locked exchange.
fn take_flag(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::AcqRel)
}

impl EmfRecorder {
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
        let (report, idle_with_props) =
            self.flushing(|cells, sc| self.render_into(cells, properties, sc), true);
        self.sweep(idle_with_props);
        report
    }

    /// A new invocation's metrics: enter it around the invocation's work
    /// ([`InvocationMetrics::enter`]) and end the invocation with
    /// [`flush_invocation`](Self::flush_invocation). The invocation layer does both.
    #[must_use]
    pub fn invocation(&self) -> InvocationMetrics {
        let hint = self.inner.entries_hint.load(Ordering::Relaxed);
        InvocationMetrics::new(Arc::as_ptr(&self.inner).addr(), hint)
    }

    /// Writes what `invocation` recorded since its last flush (and its `ColdStart`), with `properties`
    /// (e.g. its `function_request_id`) on every document. Nothing of other invocations, nothing of
    /// the process-wide cells: [`flush`](Self::flush) writes those.
    pub fn flush_invocation(
        &self,
        invocation: &InvocationMetrics,
        properties: &[(&str, &str)],
    ) -> FlushReport {
        self.flushing(|_, sc| self.render_invocation(invocation, properties, sc), true)
    }

    fn render_invocation(
        &self,
        invocation: &InvocationMetrics,
        properties: &[(&str, &str)],
        sc: &mut Scratch,
    ) -> FlushReport {
        let mut report = FlushReport::default();
        let shared = &invocation.0;
        if shared.owner != Arc::as_ptr(&self.inner).addr() {
            return report;
        }
        let mut state = lock(&shared.state);
        sc.values.clear();
        sc.slots.clear();
        let overflow = std::mem::take(&mut state.overflow);
        if overflow > 0 {
            report.rejected_values += overflow;
            tracing::warn!(
                dropped = overflow,
                limit = MAX_PENDING_VALUES,
                "metric values past the limit held per metric between flushes dropped"
            );
        }
        for (index, e) in state.entries.iter_mut().enumerate() {
            let start = sc.values.len();
            match e.kind {
                CellKind::Counter if e.counter > 0 => {
                    #[allow(clippy::cast_precision_loss)]
                    sc.values.push(e.counter as f64);
                    e.counter = 0;
                }
                CellKind::Gauge => sc.values.extend(e.gauge.take()),
                CellKind::Histogram => {
                    sc.values.extend_from_slice(&e.values);
                    e.values.clear();
                }
                CellKind::Counter => {}
            }
            if sc.values.len() > start {
                sc.slots
                    .push(slot(e.kind, index, &e.series, start, sc.values.len() - start));
            }
        }
        self.inner
            .entries_hint
            .store(state.entries.len().min(MAX_ENTRIES_HINT), Ordering::Relaxed);
        let cold = take_flag(&shared.cold_start);
        if self.inner.cfg.disabled {
            return FlushReport::default();
        }
        self.encode(&Entries(&state.entries), sc, properties, cold, &mut report);
        report
    }

    /// Drains everything recorded since the last flush into serialized documents without writing them.
    pub fn render(&self, properties: &[(&str, &str)]) -> (Vec<String>, FlushReport) {
        let mut lines = Vec::new();
        let (report, idle_with_props) = self.flushing(
            |cells, sc| {
                let rendered = self.render_into(cells, properties, sc);
                let text = String::from_utf8_lossy(&sc.out);
                lines = text.lines().map(str::to_owned).collect();
                rendered
            },
            false,
        );
        self.sweep(idle_with_props);
        (lines, report)
    }

    /// Renders with `render` (given the cell lists) into the reused buffers and, when `write`,
    /// writes what it rendered, holding `Inner::flushing`: flushes run one at a time.
    fn flushing<R>(&self, render: impl FnOnce(&CellLists, &mut Scratch) -> R, write: bool) -> R {
        let mut flushing = lock(&self.inner.flushing);
        let Flushing {
            scratch: sc,
            writer,
            cells,
        } = &mut *flushing;
        sc.out.clear();
        let report = render(cells, sc);
        if write && !sc.out.is_empty() {
            // A broken sink loses metrics, never the request.
            let _ = writer.write_all(&sc.out);
            let _ = writer.flush();
        }
        sc.out.clear();
        sc.trim();
        report
    }

    /// Drains the process-wide cells and serializes them into `sc.out`, one document per line, with
    /// `Inner::flushing` held (`cells` and `sc` are its); and whether a key with properties was idle
    /// (then [`Self::sweep`], once the lock is released).
    fn render_into(
        &self,
        cells: &CellLists,
        properties: &[(&str, &str)],
        sc: &mut Scratch,
    ) -> (FlushReport, bool) {
        let mut report = FlushReport::default();
        let inner = &self.inner;
        let (counters, gauges, histograms) = (&cells.counters, &cells.gauges, &cells.histograms);
        sc.values.clear();
        sc.slots.clear();
        let mut idle_with_props = false;
        for (index, c) in counters.iter().enumerate() {
            let v = c.drain();
            if v > 0 {
                #[allow(clippy::cast_precision_loss)]
                sc.values.push(v as f64);
                sc.slots
                    .push(slot(CellKind::Counter, index, &c.series, sc.values.len() - 1, 1));
            } else {
                idle_with_props |= !c.series.group.props.is_empty();
            }
        }
        for (index, g) in gauges.iter().enumerate() {
            if take_flag(&g.set) {
                sc.values.push(f64::from_bits(g.bits.load(Ordering::Acquire)));
                sc.slots
                    .push(slot(CellKind::Gauge, index, &g.series, sc.values.len() - 1, 1));
            } else {
                idle_with_props |= !g.series.group.props.is_empty();
            }
        }
        for (index, h) in histograms.iter().enumerate() {
            let mut pending = lock(&h.values);
            let overflow = h.overflow.swap(0, Ordering::AcqRel);
            if overflow > 0 {
                report.rejected_values += overflow;
                tracing::warn!(
                    metric = %h.series.name,
                    dropped = overflow,
                    limit = MAX_PENDING_VALUES,
                    "metric values past the limit held per metric between flushes dropped"
                );
            }
            if pending.is_empty() {
                idle_with_props |= !h.series.group.props.is_empty();
            } else {
                let start = sc.values.len();
                sc.values.extend_from_slice(&pending);
                sc.slots
                    .push(slot(CellKind::Histogram, index, &h.series, start, pending.len()));
                // Keep a small allocation for the next invocation's values; release a large one.
                if pending.capacity() > 4 * MAX_VALUES_PER_METRIC {
                    *pending = Vec::new();
                } else {
                    pending.clear();
                }
            }
        }
        let cold = take_flag(&inner.cold_start);
        if !inner.cfg.disabled {
            self.encode(cells, sc, properties, cold, &mut report);
        } else {
            report = FlushReport::default();
        }
        (report, idle_with_props)
    }

    /// Turns the drained `sc.slots`/`sc.values` into documents appended to `sc.out`.
    fn encode(
        &self,
        src: &impl SeriesSource,
        sc: &mut Scratch,
        properties: &[(&str, &str)],
        cold: bool,
        report: &mut FlushReport,
    ) {
        let Scratch {
            out,
            values,
            slots,
            merged,
            round,
            props,
            prop_spans,
            extra,
            templates,
        } = sc;
        let timestamp = epoch_millis(self.inner.clock.now());
        let units = self.inner.unit_generation.load(Ordering::Acquire);

        // The flush's properties, escaped once for all its documents; the first of a repeated key wins.
        props.clear();
        prop_spans.clear();
        for (i, (k, v)) in properties.iter().enumerate() {
            if !is_valid_dimension_name(k)
                || prop_spans.iter().any(|(j, _, _)| properties[*j].0 == *k)
                || self.inner.cfg.repeats_level_member(k)
            {
                continue;
            }
            let start = props.len();
            props.push(b',');
            crate::json::write_str(props, k);
            props.push(b':');
            crate::json::write_str(props, v);
            prop_spans.push((i, start, props.len()));
        }

        if cold {
            let group = &self.inner.cold_start_group;
            extra.clear();
            for &(i, s, e) in prop_spans.iter() {
                let k = properties[i].0;
                if !group.has_key(k) && k != "ColdStart" {
                    extra.extend_from_slice(&props[s..e]);
                }
            }
            let metric = |_: usize| MetricJson {
                fragments: &self.inner.cold_start_metric,
                unit: EmfUnit::Count,
                values: &[1.0],
            };
            self.emit(group, extra, timestamp, 0, 1, &metric, true, out, report);
        }

        // Reject what can never be emitted, and invalid values. A drained counter is a whole number
        // from 1 to u64::MAX, always within CloudWatch's range: a flush of valid counters only (the
        // usual one) has nothing to check value by value.
        let all_valid_counters = slots.iter().all(|d| !d.invalid && d.kind == CellKind::Counter);
        if !all_valid_counters {
            slots.retain_mut(|d| {
                if d.invalid {
                    let series = src.series(d);
                    report.rejected_metrics += 1;
                    let why = series.invalid.unwrap_or_default();
                    tracing::warn!(metric = %series.name, "{why}; dropped");
                    return false;
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
                    let series = src.series(d);
                    tracing::warn!(metric = %series.name, rejected = d.len - n, "NaN, infinite or out-of-range metric values rejected");
                }
                d.len = n;
                n > 0
            });
        }
        // Usually the cells were drained in document order, one per series: nothing to sort or merge.
        let key = |d: &Slot| (d.group, d.ordinal);
        if slots.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
            merged.clear();
            std::mem::swap(slots, merged);
        } else {
            crate::sort::sort_by_key(slots, key);
            merge(slots, values, merged);
        }

        let mut i = 0;
        while i < merged.len() {
            let group = &src.series(&merged[i]).group;
            let mut j = i + 1;
            while j < merged.len() && merged[j].group == merged[i].group {
                j += 1;
            }
            let run = &merged[i..j];
            extra.clear();
            for &(p, s, e) in prop_spans.iter() {
                let k = properties[p].0;
                if !group.has_key(k) && !run.iter().any(|m| src.series(m).name == k) {
                    extra.extend_from_slice(&props[s..e]);
                }
            }
            let templates = (&mut *templates, units);
            self.emit_group(
                src, group, extra, timestamp, run, values, round, templates, out, report,
            );
            i = j;
        }
    }

    /// One kind's part of [`Self::sweep`]: forgets from `map` the cells of series with properties
    /// that no handle holds and that hold nothing `unflushed`, then, still holding `map`, drops from
    /// the cell list those it alone holds.
    fn sweep_kind<T: Kept>(
        &self,
        map: &KeyMap<T>,
        list: fn(&mut CellLists) -> &mut Vec<Arc<T>>,
        unflushed: impl Fn(&T) -> bool,
    ) {
        // Held by the map and the list only: no handle outside can record into it. Asked before
        // whether the cell holds anything unflushed: a handle records, then drops, so once the count
        // shows it dropped (the fence pairs with the drop's release) its recording is seen. Asked the
        // other way round, a recording made between the two reads was lost with the cell.
        fn unheld<T>(c: &Arc<T>) -> bool {
            let unheld = Arc::strong_count(c) <= 2;
            std::sync::atomic::fence(Ordering::Acquire);
            unheld
        }
        let mut map = write(map);
        map.retain(|c| c.series().group.props.is_empty() || !unheld(c) || unflushed(c));
        list(&mut lock(&self.inner.flushing).cells).retain(|c| Arc::strong_count(c) > 1);
    }

    /// Forgets idle keys whose labels went to properties (request ids and the like), so a long-lived
    /// process does not accumulate one cell per distinct value; and unused interned groups. A cell a
    /// caller still holds a handle to is kept. Called without `Inner::flushing` held: each kind's key
    /// table is locked before it, as a registration locks them.
    fn sweep(&self, idle_with_props: bool) {
        let inner = &self.inner;
        if idle_with_props {
            self.sweep_kind(&inner.counters, |l| &mut l.counters, CounterCell::has_unflushed);
            self.sweep_kind(
                &inner.gauges,
                |l| &mut l.gauges,
                |g| g.set.load(Ordering::Acquire),
            );
            self.sweep_kind(
                &inner.histograms,
                |l| &mut l.histograms,
                |h| !lock(&h.values).is_empty(),
            );
        }
        // Each series and group was made by a registration: while there were few, there is nothing to
        // sweep, and the interner's lock is not taken.
        if inner.registered.load(Ordering::Relaxed) as usize <= SWEEP_THRESHOLD {
            return;
        }
        let mut interner = lock(&inner.interner);
        if interner.series.len() > SWEEP_THRESHOLD {
            interner.series.retain(|_, s| Arc::strong_count(s) > 1);
        }
        if interner.groups.len() > SWEEP_THRESHOLD {
            interner.groups.retain(|_, g| Arc::strong_count(g) > 1);
        }
    }

    /// Emits one group's metrics: ≤ 100 per document, ≤ 100 values per metric per document.
    #[allow(clippy::too_many_arguments)]
    fn emit_group(
        &self,
        src: &impl SeriesSource,
        group: &Group,
        extra: &[u8],
        ts: u64,
        run: &[Slot],
        values: &[f64],
        round: &mut Vec<Slot>,
        (templates, units): (&mut TemplateCache, u64),
        out: &mut Vec<u8>,
        report: &mut FlushReport,
    ) {
        if run.iter().all(|m| m.len <= MAX_VALUES_PER_METRIC) {
            let metric = |i| metric_at(src, run, values, i);
            for lo in (0..run.len()).step_by(MAX_METRICS_PER_DOCUMENT) {
                let hi = (lo + MAX_METRICS_PER_DOCUMENT).min(run.len());
                let slots = &run[lo..hi];
                let t = (&mut *templates, units);
                if !self.emit_templated(src, group, extra, ts, slots, values, t, out, report) {
                    self.emit(group, extra, ts, lo, hi, &metric, true, out, report);
                }
            }
            return;
        }
        let rounds = run
            .iter()
            .map(|m| m.len.div_ceil(MAX_VALUES_PER_METRIC))
            .max()
            .unwrap_or(0);
        for r in 0..rounds {
            let lo = r * MAX_VALUES_PER_METRIC;
            round.clear();
            round.extend(run.iter().filter(|m| m.len > lo).map(|m| Slot {
                start: m.start + lo,
                len: (m.len - lo).min(MAX_VALUES_PER_METRIC),
                ..*m
            }));
            let round: &[Slot] = round;
            let metric = |i| metric_at(src, round, values, i);
            for first in (0..round.len()).step_by(MAX_METRICS_PER_DOCUMENT) {
                let last = (first + MAX_METRICS_PER_DOCUMENT).min(round.len());
                let slots = &round[first..last];
                let t = (&mut *templates, units);
                if !self.emit_templated(src, group, extra, ts, slots, values, t, out, report) {
                    self.emit(group, extra, ts, first, last, &metric, true, out, report);
                }
            }
        }
    }

    /// Writes the metrics `slots` as one document from the group's cached template, if there is one
    /// for them (see [`TemplateCache`]) and the document fits; `false` means "write it with
    /// [`emit`](Self::emit)", which also splits a document that is too large.
    #[allow(clippy::too_many_arguments)]
    fn emit_templated(
        &self,
        src: &impl SeriesSource,
        group: &Group,
        extra: &[u8],
        ts: u64,
        slots: &[Slot],
        values: &[f64],
        (cache, units): (&mut TemplateCache, u64),
        out: &mut Vec<u8>,
        report: &mut FlushReport,
    ) -> bool {
        let build = || {
            let head = self.head(group, extra, true);
            DocumentTemplate::new(&head, slots.len(), |i| metric_at(src, slots, values, i))
        };
        let Some(template) = cache.get(group.id, units, slots, build) else {
            return false;
        };
        let start = out.len();
        let written = template.write(out, ts, extra, |i| {
            let s = &slots[i];
            &values[s.start..s.start + s.len]
        });
        if out.len() - start > MAX_DOCUMENT_BYTES {
            out.truncate(start);
            return false;
        }
        out.push(b'\n');
        report.documents += 1;
        report.values += written;
        true
    }

    fn head<'a>(&'a self, group: &'a Group, extra: &'a [u8], with_props: bool) -> DocumentHead<'a> {
        DocumentHead {
            directive: &self.inner.directive,
            dimension_set: &group.dimension_set,
            root: if with_props {
                [&group.dims_json, &group.props_json, extra]
            } else {
                [&group.dims_json, &[], &[]]
            },
            level: self.inner.cfg.level.as_deref(),
        }
    }

    /// Writes metrics `lo..hi` as one document, halving the range while it exceeds the size limit.
    #[allow(clippy::too_many_arguments)]
    fn emit<'a>(
        &self,
        group: &Group,
        extra: &[u8],
        ts: u64,
        lo: usize,
        hi: usize,
        metric: &dyn Fn(usize) -> MetricJson<'a>,
        with_props: bool,
        out: &mut Vec<u8>,
        report: &mut FlushReport,
    ) {
        let head = self.head(group, extra, with_props);
        let start = out.len();
        let written = json::write_document(out, &head, ts, hi - lo, |i| metric(lo + i));
        if out.len() - start <= MAX_DOCUMENT_BYTES {
            out.push(b'\n');
            report.documents += 1;
            report.values += written;
            return;
        }
        out.truncate(start);
        let name = || metric(lo).fragments.name();
        if hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            self.emit(group, extra, ts, lo, mid, metric, with_props, out, report);
            self.emit(group, extra, ts, mid, hi, metric, with_props, out, report);
        } else if with_props && (!group.props_json.is_empty() || !extra.is_empty()) {
            tracing::warn!(metric = %name(), "EMF document too large; properties left out");
            self.emit(group, extra, ts, lo, hi, metric, false, out, report);
        } else {
            report.rejected_metrics += 1;
            tracing::warn!(metric = %name(), "EMF document too large even alone; dropped");
        }
    }
}

/// Merges the runs of sorted `slots` that are one series (keys folded into `other`, a counter and a
/// gauge of the same name) into `merged`: counters are summed, anything else is listed. A run whose
/// values were combined is copied to the end of `values` first, so the sources stay untouched.
fn merge(slots: &[Slot], values: &mut Vec<f64>, merged: &mut Vec<Slot>) {
    merged.clear();
    let mut copied = false;
    for d in slots.iter() {
        let same = merged
            .last()
            .is_some_and(|acc| (acc.group, acc.ordinal) == (d.group, d.ordinal));
        let Some(acc) = merged.last_mut().filter(|_| same) else {
            merged.push(*d);
            copied = false;
            continue;
        };
        // Two counters only: a gauge or a histogram's one value is listed beside a counter of the
        // same series, whichever was recorded first, never added into it.
        if acc.len == 1 && d.len == 1 && acc.kind == CellKind::Counter && d.kind == CellKind::Counter {
            let total = values[acc.start] + values[d.start];
            if is_valid_value(total) {
                if copied {
                    values[acc.start] = total;
                } else {
                    values.push(total);
                    acc.start = values.len() - 1;
                    copied = true;
                }
                continue;
            }
        }
        if !copied {
            let start = values.len();
            values.extend_from_within(acc.start..acc.start + acc.len);
            acc.start = start;
            copied = true;
        }
        values.extend_from_within(d.start..d.start + d.len);
        acc.len += d.len;
    }
}

fn metric_at<'a>(src: &'a impl SeriesSource, slots: &[Slot], values: &'a [f64], i: usize) -> MetricJson<'a> {
    let s = &slots[i];
    let series = src.series(s);
    MetricJson {
        fragments: &series.fragments,
        unit: series.unit(),
        values: &values[s.start..s.start + s.len],
    }
}

fn slot(kind: CellKind, index: usize, series: &Series, start: usize, len: usize) -> Slot {
    Slot {
        kind,
        index,
        group: series.group.id,
        ordinal: series.ordinal,
        invalid: series.invalid.is_some(),
        start,
        len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::emf::recorder::read;
    use crate::emf::{EmfBuilder, SharedBuffer, validate};
    use serde_json::{Value, json};

    fn recorder() -> (EmfRecorder, SharedBuffer) {
        let out = SharedBuffer::default();
        let rec = EmfBuilder::new()
            .namespace("CollectIQ")
            .service("valu\"ation")
            .allow_all_labels()
            .with_writer(out.clone())
            .with_clock(FixedClock::from_millis(7))
            .build()
            .unwrap();
        (rec, out)
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

    #[test]
    fn names_and_values_needing_escapes_survive() {
        let (rec, out) = recorder();
        // Metric names and dimension values are printable ASCII (CloudWatch's `Dimension.Value`);
        // property values any unicode.
        let name = "Quote\"d \\ name";
        metrics::with_local_recorder(&rec, || {
            metrics::counter!(name, "route" => "/a\"b\\c", "set" => "Pokémon 😀", "note" => "line\nbreak\u{1}")
                .increment(3);
        });
        rec.flush_with(&[
            ("function_request_id", "req\"1\\\u{7}"),
            ("function_request_id", "dup"),
        ]);
        let d = &docs(&out)[0];
        assert_eq!(d[name], 3);
        assert_eq!(d["service"], "valu\"ation");
        assert_eq!(d["route"], "/a\"b\\c", "a dimension");
        assert_eq!(d["set"], "Pokémon 😀", "not ASCII: a property, not a dimension");
        assert_eq!(
            d["note"], "line\nbreak\u{1}",
            "control characters: a property, not a dimension"
        );
        assert_eq!(
            d["function_request_id"], "req\"1\\\u{7}",
            "the first of a repeated key"
        );
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["service", "route"]])
        );
        assert_eq!(d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], name);
    }

    /// docs/telemetry.md: a label whose *name* CloudWatch refuses as a dimension (non-ASCII, over 250
    /// characters, starting with `:`) becomes a property like one whose value is refused; only `_aws`,
    /// an empty key and keys over 1,024 bytes are left out.
    #[test]
    fn labels_whose_names_cannot_be_dimensions_are_properties() {
        let (rec, out) = recorder();
        let long = "k".repeat(251);
        let too_long = "x".repeat(1025);
        metrics::with_local_recorder(&rec, || {
            metrics::counter!(
                "Hits",
                "größe" => "L",
                ":colon" => "c",
                long.clone() => "long",
                "_aws" => "meta",
                "" => "empty",
                too_long.clone() => "gone",
                "route" => "/a"
            )
            .increment(1);
        });
        rec.flush();
        let d = &docs(&out)[0];
        assert_eq!(d["Hits"], 1);
        assert_eq!(d["größe"], "L");
        assert_eq!(d[":colon"], "c");
        assert_eq!(d[long.as_str()], "long");
        assert!(d["_aws"]["CloudWatchMetrics"].is_array(), "metadata intact: {d}");
        assert!(d.get("").is_none() && d.get(too_long.as_str()).is_none(), "{d}");
        assert_eq!(
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["service", "route"]])
        );
    }

    #[test]
    fn flush_properties_never_shadow_dimensions_or_metrics() {
        let (rec, out) = recorder();
        metrics::with_local_recorder(&rec, || {
            metrics::counter!("request", "route" => "/a").increment(1);
            metrics::counter!("Other").increment(1);
        });
        rec.flush_with(&[("route", "x"), ("request", "y"), ("service", "z"), ("ok", "1")]);
        let ds = docs(&out);
        let with_route = ds.iter().find(|d| d.get("request").is_some()).unwrap();
        assert_eq!(with_route["route"], "/a");
        assert_eq!(with_route["request"], 1);
        assert_eq!(with_route["ok"], "1");
        let other = ds.iter().find(|d| d.get("Other").is_some()).unwrap();
        assert_eq!(other["route"], "x", "no clash in this document: a property");
        assert_eq!(other["request"], "y");
        assert_eq!(other["service"], "valu\"ation");
    }

    #[test]
    fn documents_written_from_templates_are_the_same_until_a_unit_changes() {
        let (rec, out) = recorder();
        let record = |n: u64| {
            metrics::with_local_recorder(&rec, || {
                for name in ["A", "B", "C"] {
                    metrics::counter!(name, "route" => "/a").increment(n);
                }
                metrics::histogram!("Latency").record(1.5);
                metrics::histogram!("Latency").record(2.0);
            });
        };
        let flush = || {
            out.clear();
            rec.flush_with(&[("function_request_id", "r-1")]);
            out.contents()
        };
        record(1);
        let first = flush();
        // Seen once, then templated, then written from the template.
        for _ in 0..3 {
            record(1);
            assert_eq!(flush(), first);
        }
        // Another subset of the same group's metrics, and other values: its own documents.
        metrics::with_local_recorder(&rec, || metrics::counter!("B", "route" => "/a").increment(7));
        let other = flush();
        for _ in 0..2 {
            metrics::with_local_recorder(&rec, || metrics::counter!("B", "route" => "/a").increment(7));
            assert_eq!(flush(), other);
        }
        assert_eq!(docs_of(&other)[0]["B"], 7);
        assert_eq!(docs_of(&other)[0]["function_request_id"], "r-1");
        record(2);
        let doubled = flush();
        assert_eq!(docs_of(&doubled)[0]["A"], 2);
        assert_eq!(doubled.replace(":2,", ":1,").replace(":2}", ":1}"), first);

        // `describe_*!` changes a registered metric's unit: the next document says so.
        metrics::with_local_recorder(&rec, || {
            metrics::describe_counter!("B", metrics::Unit::Bytes, "bytes");
        });
        record(1);
        let described = flush();
        let d = docs_of(&described)
            .into_iter()
            .find(|d| d.get("B").is_some())
            .unwrap();
        let defs = d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .clone();
        assert!(defs.contains(&json!({"Name": "B", "Unit": "Bytes"})), "{defs:?}");
        record(1);
        assert_eq!(flush(), described);
    }

    #[test]
    fn split_documents_are_the_same_from_templates() {
        let (rec, out) = recorder();
        let names: Vec<String> = (0..150).map(|i| format!("M{i}")).collect();
        let record = || {
            metrics::with_local_recorder(&rec, || {
                for name in &names {
                    metrics::counter!(name.clone()).increment(1);
                }
                for i in 0..250 {
                    metrics::histogram!("Sizes").record(f64::from(i));
                }
            });
        };
        let mut first = None;
        for _ in 0..4 {
            record();
            out.clear();
            let report = rec.flush();
            let text = out.contents();
            assert_eq!(report.values, 150 + 250);
            assert!(docs_of(&text).len() >= 4, "150 metrics and 250 values split");
            assert_eq!(first.get_or_insert(text.clone()), &text);
        }
    }

    fn docs_of(text: &str) -> Vec<Value> {
        text.lines()
            .map(|l| {
                validate(l).unwrap();
                serde_json::from_str(l).unwrap()
            })
            .collect()
    }

    /// A thread keeps the cells of keys made of static parts (`key_cache`), but never one the sweep
    /// may forget: a static key with a property label, registered again and again on this thread, is
    /// still forgotten once idle.
    #[test]
    fn a_kept_cell_is_never_one_the_sweep_forgets() {
        let rec = EmfBuilder::new().with_writer(std::io::sink()).build().unwrap();
        metrics::with_local_recorder(&rec, || {
            for _ in 0..3 {
                metrics::counter!("Requests", "request_id" => "r-1").increment(1);
                metrics::counter!("Valued").increment(1);
            }
        });
        assert_eq!(rec.flush().values, 2);
        // Idle at the next flush, which sweeps.
        assert_eq!(rec.flush().values, 0);
        let flushing = lock(&rec.inner.flushing);
        let cells = &flushing.cells;
        assert_eq!(cells.counters.len(), 1, "the idle property cell is forgotten");
        assert_eq!(cells.counters[0].series.name, "Valued");
    }

    /// Registrations of keys with properties (each a new cell, idle after one flush) while other
    /// threads flush and sweep: every count, value and gauge setting reported once — the sweep
    /// forgot a cell whose handle recorded between its two reads (it read "nothing unflushed", then
    /// "no handle"), losing ≈ 1 count in 3,000 — and no deadlock (the work runs on a thread of its
    /// own, so one fails the test instead of hanging it).
    #[test]
    fn registrations_beside_flushes_and_sweeps_lose_nothing() {
        // The race is narrow: three rounds.
        for _ in 0..3 {
            register_beside_flushes();
        }
    }

    fn register_beside_flushes() {
        let out = SharedBuffer::default();
        let rec = Arc::new(EmfBuilder::new().with_writer(out.clone()).build().unwrap());
        let (done, finished) = std::sync::mpsc::channel();
        let worker = Arc::clone(&rec);
        std::thread::spawn(move || {
            let rec = &*worker;
            let total = std::sync::atomic::AtomicU64::new(0);
            let registering = std::sync::atomic::AtomicU64::new(2);
            std::thread::scope(|s| {
                for t in 0..2 {
                    let registering = &registering;
                    s.spawn(move || {
                        metrics::with_local_recorder(rec, || {
                            for i in 0..3000 {
                                let id = format!("{t}-{i}");
                                metrics::counter!("Requests", "request_id" => id.clone()).increment(1);
                                metrics::histogram!("Latency", "request_id" => id.clone()).record(2.0);
                                metrics::gauge!("Depth", "request_id" => id).set(3.0);
                            }
                        });
                        registering.fetch_sub(1, Ordering::Release);
                    });
                }
                for _ in 0..2 {
                    let (registering, total) = (&registering, &total);
                    s.spawn(move || {
                        while registering.load(Ordering::Acquire) > 0 {
                            total.fetch_add(rec.flush().values as u64, Ordering::Relaxed);
                        }
                    });
                }
            });
            total.fetch_add(rec.flush().values as u64, Ordering::Relaxed);
            done.send(total.load(Ordering::Relaxed)).ok();
        });
        let total = finished
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("registering and flushing threads finish (no deadlock)");
        // Each request's three values, reported once each.
        assert_eq!(total, 18_000);
        let docs = docs_of(&out.contents());
        let sum = |name: &str| -> f64 { docs.iter().filter_map(|d| d[name].as_f64()).sum() };
        assert_eq!(
            (sum("Requests"), sum("Latency"), sum("Depth")),
            (6000.0, 12_000.0, 18_000.0)
        );
        assert!(
            lock(&rec.inner.flushing).cells.counters.len() < 6000,
            "idle cells swept"
        );
    }

    /// Cells kept per thread belong to one recorder: two recorders used in turn on one thread, with
    /// the same static keys, each count only their own; more static keys than a thread keeps start
    /// its cache over without losing a count.
    #[test]
    fn kept_cells_belong_to_their_recorder() {
        let (a, b) = (
            EmfBuilder::new()
                .allow_all_labels()
                .with_writer(std::io::sink())
                .build()
                .unwrap(),
            EmfBuilder::new()
                .allow_all_labels()
                .with_writer(std::io::sink())
                .build()
                .unwrap(),
        );
        let count = |rec: &EmfRecorder, n: u64| {
            metrics::with_local_recorder(rec, || {
                for _ in 0..n {
                    metrics::counter!("Valued", "agent" => "pricing").increment(1);
                }
            });
        };
        for _ in 0..3 {
            count(&a, 2);
            count(&b, 5);
        }
        let total = |rec: &EmfRecorder| -> f64 {
            let (lines, _) = rec.render(&[]);
            docs_of(&lines.join("\n"))
                .iter()
                .filter_map(|d| d["Valued"].as_f64())
                .sum()
        };
        assert_eq!((total(&a), total(&b)), (6.0, 15.0));
        // 200 keys of static parts (leaked names), each registered twice, then again.
        let names: Vec<&'static str> = (0..200)
            .map(|i| &*Box::leak(format!("M{i:03}").into_boxed_str()))
            .collect();
        metrics::with_local_recorder(&a, || {
            for _ in 0..2 {
                for name in &names {
                    metrics::counter!(*name).increment(1);
                }
            }
        });
        let (lines, _) = a.render(&[]);
        let docs = docs_of(&lines.join("\n"));
        for name in &names {
            let n: f64 = docs.iter().filter_map(|d| d[*name].as_f64()).sum();
            assert_eq!(n, 2.0, "{name}");
        }
    }

    #[test]
    fn idle_keys_with_property_labels_are_forgotten() {
        // request_id is not allow-listed: a property, so one cell per request.
        let rec = EmfBuilder::new().with_writer(std::io::sink()).build().unwrap();
        metrics::with_local_recorder(&rec, || {
            for i in 0..2000 {
                metrics::counter!("Requests", "request_id" => i.to_string()).increment(1);
            }
        });
        let held =
            metrics::with_local_recorder(&rec, || metrics::counter!("Requests", "request_id" => "held"));
        assert_eq!(lock(&rec.inner.flushing).cells.counters.len(), 2001);
        assert_eq!(rec.flush().values, 2000);
        assert_eq!(
            lock(&rec.inner.flushing).cells.counters.len(),
            1,
            "only the cell a handle still points at is kept"
        );
        held.increment(5);
        assert_eq!(rec.flush().values, 1, "the held handle's value is flushed");
        assert_eq!(rec.flush().values, 0);
        held.increment(1);
        assert_eq!(rec.flush().values, 1);
    }

    /// A dimension value past `max_values_per_key` is folded into `other`; the keys it came with do
    /// not each keep a cell of their own (2000 distinct model ids are 2 admitted values and `other`),
    /// and `other` carries every folded value, from counters, gauges and histograms alike.
    #[test]
    fn folded_dimension_values_share_one_cell() {
        let out = SharedBuffer::default();
        let rec = EmfBuilder::new()
            .allow_dimensions("M", ["model"])
            .allow_dimensions("G", ["model"])
            .allow_dimensions("H", ["model"])
            .max_values_per_key(2)
            .with_writer(out.clone())
            .build()
            .unwrap();
        let record = || {
            metrics::with_local_recorder(&rec, || {
                for i in 0..2000 {
                    let model = format!("model-{i}");
                    metrics::counter!("M", "model" => model.clone()).increment(1);
                    metrics::gauge!("G", "model" => model.clone()).set(f64::from(i));
                    metrics::histogram!("H", "model" => model).record(1.0);
                }
            });
        };
        record();
        let report = rec.flush();
        let cells = || {
            let c = &lock(&rec.inner.flushing).cells;
            (c.counters.len(), c.gauges.len(), c.histograms.len())
        };
        assert!(
            cells().0 <= 3 && cells().1 <= 3 && cells().2 <= 3,
            "{:?}",
            cells()
        );
        assert!(read(&rec.inner.counters).len() <= 3);
        assert!(read(&rec.inner.histograms).len() <= 3);
        let other = |ds: &[Value], name: &str| -> Vec<f64> {
            ds.iter()
                .filter(|d| d["model"] == "other")
                .filter_map(|d| d.get(name))
                .flat_map(|v| match v {
                    Value::Array(a) => a.iter().filter_map(Value::as_f64).collect(),
                    v => v.as_f64().into_iter().collect::<Vec<f64>>(),
                })
                .collect()
        };
        let ds = docs(&out);
        assert_eq!(other(&ds, "M"), [1998.0], "{report:?}");
        assert_eq!(other(&ds, "G"), [1999.0], "the last value set");
        assert_eq!(other(&ds, "H"), vec![1.0; 1998], "every value kept");
        // Again: still three cells each, none new.
        out.clear();
        record();
        rec.flush();
        assert!(
            cells().0 <= 3 && cells().1 <= 3 && cells().2 <= 3,
            "{:?}",
            cells()
        );
        assert_eq!(other(&docs(&out), "M"), [1998.0]);
    }
}
