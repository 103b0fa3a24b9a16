//! The buffers a flush reuses ([`Scratch`], kept in the recorder between flushes), the [`Slot`]s
//! that index drained values, and the [`TemplateCache`] of documents' unchanging bytes. Plain data: the
//! recorder holds it, the flush fills it.

use super::json::DocumentTemplate;
use super::series::CellKind;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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
    pub(super) templates: TemplateCache,
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

/// Template bytes kept at most; the cache starts over beyond that.
const MAX_TEMPLATE_BYTES: usize = 1 << 20;
/// Signatures remembered at most (seen or templated); the cache starts over beyond that.
const MAX_TEMPLATES: usize = 1024;

/// Document templates ([`DocumentTemplate`]) by signature: the group, the metrics' series ordinals in
/// document order, and the recorder's unit generation (bumped by every `describe_*!`, the only thing
/// that changes a registered series' bytes). Ordinals and group ids are never reused, so a signature
/// names the same bytes for the process's lifetime. A template is built the second time its signature
/// is seen: metrics that differ from one flush to the next cost a hash, not an allocation.
#[derive(Debug, Default)]
pub(super) struct TemplateCache {
    entries: HashMap<u64, Cached, BuildHasherDefault<PassThrough>>,
    bytes: usize,
}

#[derive(Debug)]
struct Cached {
    group: u64,
    units: u64,
    ordinals: Box<[u64]>,
    /// `None` until the signature is seen a second time.
    template: Option<DocumentTemplate>,
}

impl Cached {
    fn is(&self, group: u64, units: u64, slots: &[Slot]) -> bool {
        self.group == group
            && self.units == units
            && self.ordinals.len() == slots.len()
            && self.ordinals.iter().zip(slots).all(|(o, s)| *o == s.ordinal)
    }
}

impl TemplateCache {
    /// The template of `group`'s document of the metrics `slots` at unit generation `units`, built
    /// with `build` if this signature was seen before; `None` the first time.
    pub(super) fn get(
        &mut self,
        group: u64,
        units: u64,
        slots: &[Slot],
        build: impl FnOnce() -> DocumentTemplate,
    ) -> Option<&DocumentTemplate> {
        let mut h = (group ^ units.rotate_left(32)).wrapping_mul(SEED);
        for s in slots {
            h = (h.rotate_left(5) ^ s.ordinal).wrapping_mul(SEED);
        }
        let hit = self.entries.get(&h).is_some_and(|c| c.is(group, units, slots));
        if !hit {
            if let Some(old) = self.entries.remove(&h) {
                self.bytes -= old.template.as_ref().map_or(0, DocumentTemplate::size);
            }
            if self.entries.len() >= MAX_TEMPLATES {
                self.clear();
            }
            self.entries.insert(
                h,
                Cached {
                    group,
                    units,
                    ordinals: slots.iter().map(|s| s.ordinal).collect(),
                    template: None,
                },
            );
            return None;
        }
        if self.entries.get(&h).is_some_and(|c| c.template.is_none()) {
            let template = build();
            if self.bytes + template.size() > MAX_TEMPLATE_BYTES {
                self.clear();
                return None;
            }
            self.bytes += template.size();
            let cached = self.entries.get_mut(&h)?;
            cached.template = Some(template);
        }
        self.entries.get(&h)?.template.as_ref()
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }
}

const SEED: u64 = 0x517c_c1b7_2722_0a95;

/// The keys are hashes already.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(SEED);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}
