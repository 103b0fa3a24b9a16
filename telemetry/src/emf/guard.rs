//! The cardinality guard: which labels become CloudWatch dimensions.
//!
//! Every distinct combination of dimension values is a custom metric billed at $0.30 per month. The
//! guard keeps that number bounded: per metric, only allow-listed label keys become dimensions; any
//! other label becomes a plain root property (searchable in Logs Insights, free as a metric); and each
//! allow-listed key keeps at most `max_values_per_key` distinct values, folding the rest into `other`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The value overflowing dimension values are folded into.
pub const OVERFLOW_VALUE: &str = "other";

/// Guard configuration and its memory of values already seen.
#[derive(Debug)]
pub(crate) struct CardinalityGuard {
    allow: HashMap<String, Vec<String>>,
    allow_all: bool,
    max_values: usize,
    seen: Mutex<HashMap<(String, String), HashSet<String>>>,
}

impl CardinalityGuard {
    pub(crate) fn new(allow: HashMap<String, Vec<String>>, allow_all: bool, max_values: usize) -> Self {
        Self {
            allow,
            allow_all,
            max_values,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Whether label `key` of metric `metric` may become a dimension.
    pub(crate) fn allows(&self, metric: &str, key: &str) -> bool {
        self.allow_all
            || self
                .allow
                .get(metric)
                .is_some_and(|keys| keys.iter().any(|k| k == key))
    }

    /// The dimension value to emit: `value` if it is one of the first `max_values` seen for this
    /// metric and key, `other` afterwards.
    pub(crate) fn admit<'a>(&self, metric: &str, key: &str, value: &'a str) -> &'a str {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let set = seen.entry((metric.to_owned(), key.to_owned())).or_default();
        if set.contains(value) {
            return value;
        }
        if set.len() < self.max_values {
            set.insert(value.to_owned());
            value
        } else {
            OVERFLOW_VALUE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_and_overflow() {
        let g = CardinalityGuard::new(HashMap::from([("M".into(), vec!["model".into()])]), false, 2);
        assert!(g.allows("M", "model"));
        assert!(!g.allows("M", "card_id"));
        assert!(!g.allows("Other", "model"));
        assert_eq!(g.admit("M", "model", "a"), "a");
        assert_eq!(g.admit("M", "model", "b"), "b");
        assert_eq!(g.admit("M", "model", "c"), "other");
        assert_eq!(g.admit("M", "model", "a"), "a");
        assert_eq!(g.admit("N", "model", "c"), "c", "per metric");
    }
}
