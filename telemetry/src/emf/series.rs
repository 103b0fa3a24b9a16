//! What a metric key resolves to, once, at registration: its document [`Group`] (dimension set and
//! properties, with their JSON fragments) and its [`Series`] (name, unit, fragments), and the
//! [`CellKind`] a value came from. Plain data shared by the cells, the per-invocation buffers
//! ([`super::invocation`]) and the flush; it imports none of them, which is what keeps
//! `invocation` and the recorder from depending on each other.

use super::json::{self, MetricFragments};
use super::units::EmfUnit;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// One EMF document group: the dimension set with its values, and the plain properties, each also
/// as the JSON fragment every document of the group repeats.
#[derive(Debug)]
pub(super) struct Group {
    /// Unique for the process's lifetime (64 bits never wrap), so flushes compare ids, not pointers.
    pub(super) id: u64,
    pub(super) dims: Vec<(String, String)>,
    pub(super) props: Vec<(String, String)>,
    /// `["service","agent"]`, or several sets: `["service","agent"],["service","agent","model"]`
    pub(super) dimension_set: Box<[u8]>,
    /// `,"service":"valuation","agent":"pricing"`
    pub(super) dims_json: Box<[u8]>,
    /// `,"card_id":"c-1"`
    pub(super) props_json: Box<[u8]>,
}

impl Group {
    pub(super) fn new(id: u64, dims: Vec<(String, String)>, props: Vec<(String, String)>) -> Self {
        Self {
            id,
            dimension_set: json::dimension_set(dims.iter().map(|(k, _)| k.as_str())),
            dims_json: json::members(dims.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            props_json: json::members(props.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            dims,
            props,
        }
    }

    /// A group written with several dimension sets (each a list of keys of `dims`).
    pub(super) fn with_sets(
        id: u64,
        dims: Vec<(String, String)>,
        props: Vec<(String, String)>,
        sets: &[Vec<String>],
    ) -> Self {
        let mut group = Self::new(id, dims, props);
        if sets.len() > 1 {
            group.dimension_set = json::dimension_sets(sets);
        }
        group
    }

    pub(super) fn has_key(&self, key: &str) -> bool {
        self.dims.iter().chain(&self.props).any(|(k, _)| k == key)
    }
}

/// Dimensions, properties and the dimension sets (usually one: all the dimensions).
pub(super) type GroupKey = (Vec<(String, String)>, Vec<(String, String)>, Vec<Vec<String>>);

/// One metric within one group; several keys may fold into the same series (e.g. into `other`).
#[derive(Debug)]
pub(super) struct Series {
    /// The recorder that made it (its address): invocations only take their own recorder's metrics.
    pub(super) owner: usize,
    /// Unique for the process's lifetime, like [`Group::id`].
    pub(super) ordinal: u64,
    pub(super) group: Arc<Group>,
    pub(super) name: String,
    /// The JSON fragments of the name and definition.
    pub(super) fragments: MetricFragments,
    /// Why the series can never be emitted, if so.
    pub(super) invalid: Option<&'static str>,
    pub(super) unit: AtomicU8,
}

impl Series {
    pub(super) fn unit(&self) -> EmfUnit {
        EmfUnit::ALL
            .get(usize::from(self.unit.load(Ordering::Relaxed)))
            .copied()
            .unwrap_or_default()
    }
}

pub(super) fn unit_index(u: EmfUnit) -> u8 {
    EmfUnit::ALL
        .iter()
        .position(|x| *x == u)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(26)
}

/// Which kind of cell a drained value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CellKind {
    Counter,
    Gauge,
    Histogram,
}
