//! What the fault proxy injects, and the seeded, deterministic decision for each call.
//!
//! A [`FaultPlan`] names a share of calls (or only named operations) to fault and the weighted mix of
//! [`FaultKind`]s. The decision for a call depends only on the seed, the operation name and how many calls
//! of that operation came before it — never on timing — so the same seed against the same sequence of
//! calls injects the same faults, also when different operations interleave differently.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// The protocol's own throttling error (awsJson `ThrottlingException`, CBOR/query `Throttling`, X-Ray
    /// `ThrottledException` 429, a webhook's 429 + `Retry-After`). The call is not applied.
    Throttle,
    /// The protocol's own access-denied error (awsJson `AccessDeniedException` 400, CBOR/query
    /// `AccessDenied` 403, restJson `AccessDeniedException` 403): the caller's role lacks the permission.
    /// Not applied, and no SDK retries it.
    Deny,
    /// HTTP 500 with the protocol's `InternalFailure` error shape. Not applied.
    InternalError,
    /// HTTP 503 with the protocol's `ServiceUnavailable` error shape. Not applied.
    Unavailable,
    /// The call is forwarded after [`FaultPlan::latency`]; it succeeds (unless the client gives up first).
    Latency,
    /// The request is read and never answered: the connection stays open until the client closes it (its
    /// timeout) or [`FaultPlan::hang_limit`] passes. Not applied.
    Hang,
    /// The connection is reset (TCP RST) right after the request is read. Not applied.
    Reset,
    /// The call is forwarded and applied by the emulator, then the connection is reset instead of
    /// answering: the client cannot tell it from [`FaultKind::Reset`], but the service did the work.
    LostAfterApply,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 8] = [
        Self::Throttle,
        Self::Deny,
        Self::InternalError,
        Self::Unavailable,
        Self::Latency,
        Self::Hang,
        Self::Reset,
        Self::LostAfterApply,
    ];

    /// Whether the client sees a failed attempt (everything but [`FaultKind::Latency`]).
    #[must_use]
    pub fn fails_the_attempt(self) -> bool {
        self != Self::Latency
    }

    /// Whether the emulator applies the call (latency and lost answers).
    #[must_use]
    pub fn applies_the_call(self) -> bool {
        matches!(self, Self::Latency | Self::LostAfterApply)
    }

    /// A stable short name (`throttle`, `denied`, `500`, `503`, `latency`, `hang`, `reset`,
    /// `lost-after-apply`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Throttle => "throttle",
            Self::Deny => "denied",
            Self::InternalError => "500",
            Self::Unavailable => "503",
            Self::Latency => "latency",
            Self::Hang => "hang",
            Self::Reset => "reset",
            Self::LostAfterApply => "lost-after-apply",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which calls to fault, how, and with which seed.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Seed of the decisions.
    pub seed: u64,
    /// Share of eligible calls to fault, 0.0..=1.0.
    pub share: f64,
    /// The mix of faults with their weights (a kind with weight 0 never happens).
    pub kinds: Vec<(FaultKind, u32)>,
    /// Only these operations are eligible (`None`: every operation).
    pub operations: Option<BTreeSet<String>>,
    /// These operations are never eligible (e.g. `AssumeRole`, to fault a member account's own calls but
    /// not the way into it).
    pub spared: BTreeSet<String>,
    /// After this many consecutive faults on one operation the next call of it passes untouched
    /// (`None`: no limit). Models transient trouble: with `max_attempts - 1` here, the SDK's retries
    /// always get through, which is the contract the standard retry mode is built for.
    pub max_consecutive: Option<u32>,
    /// Delay of a [`FaultKind::Latency`] fault.
    pub latency: Duration,
    /// Longest a [`FaultKind::Hang`] holds the connection when the client does not give up first.
    pub hang_limit: Duration,
}

impl FaultPlan {
    /// No faults at all: the proxy forwards everything (and still counts the calls).
    #[must_use]
    pub fn none() -> Self {
        Self {
            seed: 0,
            share: 0.0,
            kinds: Vec::new(),
            operations: None,
            spared: BTreeSet::new(),
            max_consecutive: None,
            latency: Duration::from_millis(200),
            hang_limit: Duration::from_secs(30),
        }
    }

    /// `share` of every call faulted with the given mix, seeded.
    #[must_use]
    pub fn new(seed: u64, share: f64, kinds: &[(FaultKind, u32)]) -> Self {
        Self {
            seed,
            share: share.clamp(0.0, 1.0),
            kinds: kinds.to_vec(),
            ..Self::none()
        }
    }

    /// Only these operations (by the name the proxy identifies: `PutMetricAlarm`, `Publish`, ...).
    #[must_use]
    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(mut self, operations: I) -> Self {
        self.operations = Some(operations.into_iter().map(Into::into).collect());
        self
    }

    /// Never these operations (see [`FaultPlan::spared`]).
    #[must_use]
    pub fn except<I: IntoIterator<Item = S>, S: Into<String>>(mut self, operations: I) -> Self {
        self.spared.extend(operations.into_iter().map(Into::into));
        self
    }

    /// See [`FaultPlan::max_consecutive`].
    #[must_use]
    pub fn with_max_consecutive(mut self, n: u32) -> Self {
        self.max_consecutive = Some(n);
        self
    }

    /// See [`FaultPlan::latency`].
    #[must_use]
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// See [`FaultPlan::hang_limit`].
    #[must_use]
    pub fn with_hang_limit(mut self, limit: Duration) -> Self {
        self.hang_limit = limit;
        self
    }

    /// The fault for the `index`-th call (0-based) of `operation`, before the consecutive-fault limit.
    #[must_use]
    pub fn decide(&self, operation: &str, index: u64) -> Option<FaultKind> {
        if self.share <= 0.0 {
            return None;
        }
        if let Some(only) = &self.operations
            && !only.contains(operation)
        {
            return None;
        }
        if self.spared.contains(operation) {
            return None;
        }
        let total: u64 = self.kinds.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        let h = mix(self.seed ^ fnv1a(operation.as_bytes()) ^ mix(index.wrapping_add(0x9e37)));
        // The top 53 bits as a uniform number in [0, 1).
        #[allow(clippy::cast_precision_loss)]
        let roll = (h >> 11) as f64 / (1u64 << 53) as f64;
        if roll >= self.share {
            return None;
        }
        let mut pick = mix(h) % total;
        for (kind, weight) in &self.kinds {
            let w = u64::from(*weight);
            if pick < w {
                return Some(*kind);
            }
            pick -= w;
        }
        None
    }
}

/// FNV-1a: a stable hash of the operation name (std's hasher is randomly keyed per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixed() -> Vec<(FaultKind, u32)> {
        FaultKind::ALL.iter().map(|k| (*k, 1)).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_decisions_and_another_seed_others() {
        let a = FaultPlan::new(7, 0.2, &mixed());
        let b = FaultPlan::new(7, 0.2, &mixed());
        let c = FaultPlan::new(8, 0.2, &mixed());
        let run = |p: &FaultPlan| -> Vec<Option<FaultKind>> {
            (0..500).map(|i| p.decide("PutMetricAlarm", i)).collect()
        };
        assert_eq!(run(&a), run(&b));
        assert_ne!(run(&a), run(&c));
        // Operations have their own sequences.
        let other: Vec<_> = (0..500).map(|i| a.decide("Publish", i)).collect();
        assert_ne!(run(&a), other);
    }

    #[test]
    fn the_share_and_the_weights_are_honoured() {
        let plan = FaultPlan::new(
            42,
            0.2,
            &[
                (FaultKind::Throttle, 3),
                (FaultKind::Reset, 1),
                (FaultKind::Hang, 0),
            ],
        );
        let n = 20_000u64;
        let faults: Vec<FaultKind> = (0..n).filter_map(|i| plan.decide("GetMetricData", i)).collect();
        #[allow(clippy::cast_precision_loss)]
        let share = faults.len() as f64 / n as f64;
        assert!((0.19..0.21).contains(&share), "{share}");
        let throttles = faults.iter().filter(|k| **k == FaultKind::Throttle).count();
        #[allow(clippy::cast_precision_loss)]
        let ratio = throttles as f64 / faults.len() as f64;
        assert!((0.72..0.78).contains(&ratio), "{ratio}");
        assert!(!faults.contains(&FaultKind::Hang));
        assert_eq!(FaultPlan::none().decide("GetMetricData", 3), None);
        assert!((0..100).all(|i| FaultPlan::new(1, 1.0, &[]).decide("X", i).is_none()));
    }

    #[test]
    fn only_named_operations_are_faulted_and_spared_ones_never() {
        let plan = FaultPlan::new(1, 1.0, &mixed()).only(["Publish"]);
        assert!(plan.decide("Publish", 0).is_some());
        assert!((0..100).all(|i| plan.decide("PutMetricAlarm", i).is_none()));
        let all_but = FaultPlan::new(1, 1.0, &[(FaultKind::Deny, 1)]).except(["AssumeRole"]);
        assert_eq!(all_but.decide("DescribeBudgets", 0), Some(FaultKind::Deny));
        assert!((0..100).all(|i| all_but.decide("AssumeRole", i).is_none()));
    }

    #[test]
    fn kinds_say_what_the_service_saw() {
        assert!(FaultKind::LostAfterApply.applies_the_call());
        assert!(FaultKind::LostAfterApply.fails_the_attempt());
        assert!(!FaultKind::Reset.applies_the_call());
        assert!(!FaultKind::Latency.fails_the_attempt());
        assert_eq!(FaultKind::InternalError.to_string(), "500");
    }
}
