//! The crate's one sort, small in code.
//!
//! The standard library's sorts (driftsort, ipnsort) are fast on large slices but each element type
//! and comparison instantiates 5–11 KB of code; the crate's dozen sort sites made ≈ 100 KB of every
//! function binary that links `telemetry` (docs/BENCHMARKS.md, "binary growth"). What the crate sorts
//! is short (a span's annotation keys, an EMF flush's slots, a line's string values), so an insertion
//! sort serves the common case, and a heapsort keeps a long slice — a span with thousands of
//! attributes, a hostile log line — at O(n log n) without extra memory. [`sort_by`] is not stable
//! past [`INSERTION_MAX`] elements; [`stable_sort_by`] is, at the price of an allocation there.

/// Slices up to this length are insertion-sorted (stable, no worse than the standard library's own
/// small-slice sort); longer ones are heapsorted.
const INSERTION_MAX: usize = 16;

/// Sorts `v` so that no element is `less` than the one before it. Unstable beyond [`INSERTION_MAX`]
/// elements; O(n log n) comparisons at worst.
pub(crate) fn sort_by<T>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    if n <= INSERTION_MAX {
        for i in 1..n {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    for node in (0..n / 2).rev() {
        sift_down(v, node, n, &mut less);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end, &mut less);
    }
}

/// [`sort_by`], stable at any length: a long slice is sorted with each element's position as the
/// tie-break (one allocation; a short one is sorted in place).
#[cfg(feature = "xray")]
pub(crate) fn stable_sort_by<T>(v: &mut Vec<T>, mut less: impl FnMut(&T, &T) -> bool) {
    if v.len() <= INSERTION_MAX {
        sort_by(v, less);
        return;
    }
    let mut at: Vec<(usize, T)> = v.drain(..).enumerate().collect();
    sort_by(&mut at, |(i, a), (j, b)| less(a, b) || (!less(b, a) && i < j));
    v.extend(at.into_iter().map(|(_, x)| x));
}

/// [`sort_by`] on a key.
#[cfg(any(feature = "logs", feature = "emf", feature = "xray"))]
pub(crate) fn sort_by_key<T, K: Ord>(v: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(v, |a, b| key(a) < key(b));
}

/// Whether `a` and `b`, each sorted stably by `key`, are equal element by element — how
/// `metrics::Key` compares labels and `InstrumentationScope` attributes — without sorting them (each
/// such sort instantiates ≈ 8 KB): the `n`-th element of a key in `a` is the `n`-th of that key in
/// `b`. Quadratic in the length, which the callers' code fixes (a `counter!` call's labels, a
/// library's scope attributes).
#[cfg(any(feature = "emf", feature = "otlp"))]
pub(crate) fn same_in_key_order<T: PartialEq, K: PartialEq + ?Sized>(
    a: &[T],
    b: &[T],
    key: impl Fn(&T) -> &K,
) -> bool {
    a.len() == b.len()
        && a.iter().enumerate().all(|(i, x)| {
            let k = key(x);
            let nth = a[..i].iter().filter(|y| key(y) == k).count();
            b.iter().filter(|y| key(y) == k).nth(nth) == Some(x)
        })
}

/// [`sort_by`] in `Ord` order.
pub(crate) fn sort<T: Ord>(v: &mut [T]) {
    sort_by(v, |a, b| a < b);
}

/// Moves `v[node]` down the max-heap `v[..end]` until both its children are no greater.
fn sift_down<T>(v: &mut [T], mut node: usize, end: usize, less: &mut impl FnMut(&T, &T) -> bool) {
    loop {
        let mut child = 2 * node + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&v[child], &v[child + 1]) {
            child += 1;
        }
        if !less(&v[node], &v[child]) {
            return;
        }
        v.swap(node, child);
        node = child;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Against the standard library's sort, across the insertion/heap boundary.
        #[test]
        fn sorts_as_std_does(mut v in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut want = v.clone();
            want.sort_unstable();
            sort(&mut v);
            prop_assert_eq!(v, want);
        }

        /// The stable sort keeps ties in their input order at any length.
        #[cfg(feature = "xray")]
        #[test]
        fn the_stable_sort_is_stable(v in proptest::collection::vec(0u8..4, 0..100)) {
            let mut tagged: Vec<(u8, usize)> = v.iter().copied().zip(0..).collect();
            let mut want = tagged.clone();
            want.sort_by_key(|&(k, _)| k);
            stable_sort_by(&mut tagged, |a, b| a.0 < b.0);
            prop_assert_eq!(tagged, want);
        }

        /// Short slices keep ties in their input order (callers of long ones add the position).
        #[cfg(any(feature = "logs", feature = "emf", feature = "xray"))]
        #[test]
        fn short_slices_are_stable(v in proptest::collection::vec(0u8..4, 0..=INSERTION_MAX)) {
            let mut tagged: Vec<(u8, usize)> = v.iter().copied().zip(0..).collect();
            let mut want = tagged.clone();
            want.sort_by_key(|&(k, _)| k);
            sort_by_key(&mut tagged, |&(k, _)| k);
            prop_assert_eq!(tagged, want);
        }
    }

    #[test]
    fn a_long_reversed_slice_and_all_equal_elements() {
        let mut v: Vec<u32> = (0..10_000).rev().collect();
        sort(&mut v);
        assert!(v.windows(2).all(|w| w[0] < w[1]));
        let mut same = vec![7u8; 1000];
        sort(&mut same);
        assert!(same.iter().all(|&x| x == 7));
    }
}
