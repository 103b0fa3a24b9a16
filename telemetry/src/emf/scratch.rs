//! The buffers a flush reuses ([`Scratch`], kept in the recorder between flushes) and the [`Slot`]s
//! that index drained values. Plain data: the recorder holds it, the flush fills it.

use super::series::CellKind;

/// Values drained from one cell: where its series is (`kind`, `index` in the source) and where its
/// values are in the flush's value buffer. Plain data, so the buffers holding slots outlive a flush.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub(super) kind: CellKind,
    pub(super) index: usize,
    pub(super) group: u64,
    pub(super) ordinal: u64,
    /// The series can never be emitted (see [`Series::invalid`]).
    pub(super) invalid: bool,
    pub(super) start: usize,
    pub(super) len: usize,
}

/// Buffers a flush reuses; nothing else is allocated per flush once they have grown.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    pub(super) out: Vec<u8>,
    pub(super) values: Vec<f64>,
    pub(super) slots: Vec<Slot>,
    pub(super) merged: Vec<Slot>,
    pub(super) round: Vec<Slot>,
    /// The flush's properties rendered once (`,"k":"v"` each) …
    pub(super) props: Vec<u8>,
    /// … as (index in the caller's slice, byte range in `props`).
    pub(super) prop_spans: Vec<(usize, usize, usize)>,
    /// The properties one group's documents carry.
    pub(super) extra: Vec<u8>,
}

/// Buffers larger than this are released after a flush instead of being kept for the next one.
const MAX_KEPT_SCRATCH: usize = 1 << 20;

impl Scratch {
    pub(super) fn trim(&mut self) {
        if self.out.capacity() > MAX_KEPT_SCRATCH {
            self.out = Vec::new();
        }
        if self.values.capacity() > MAX_KEPT_SCRATCH / 8 {
            self.values = Vec::new();
        }
    }
}
