//! Fire-once budget alerting as a pure state machine. The governance ledger (DynamoDB) stores one
//! [`AlertState`] per platform/environment/period and writes [`Transition::next`] with a conditional put
//! (condition: the stored state still equals the one passed in), so two concurrent runs cannot both
//! notify.
//!
//! Rules, per period (`YYYY-MM`; the governance pass passes `YYYY-Qn` / `YYYY` when every budget is
//! quarterly / annual, its `cost_pass::alert_period`):
//! - a new period starts from `Ok` with nothing notified (the rollover resets; no message);
//! - a tier above the highest tier notified this period notifies: [`AlertDecision::Notify`] for the first,
//!   [`AlertDecision::Escalate`] after that — each tier at most once per period;
//! - falling back to `Ok` after a notification sends one [`AlertDecision::Recovery`] note (at most once
//!   per notification: a later escalation re-arms it);
//! - everything else (same tier, de-escalation that is not a recovery, re-rising to a tier already
//!   notified) is [`AlertDecision::Nothing`].

use serde::{Deserialize, Serialize};

use crate::burn::Tier;

/// What the ledger remembers for one platform/environment/period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    /// The period's key: `YYYY-MM`, `YYYY-Qn` or `YYYY`.
    pub period: String,
    /// The highest tier notified in the period (`Ok`: none yet).
    pub highest_notified: Tier,
    /// The tier seen on the last run.
    pub current: Tier,
    /// Whether a recovery note was sent since the last notification.
    pub recovery_sent: bool,
}

impl AlertState {
    /// The state at the start of a period.
    #[must_use]
    pub fn fresh(period: &str) -> Self {
        Self {
            period: period.to_owned(),
            highest_notified: Tier::Ok,
            current: Tier::Ok,
            recovery_sent: false,
        }
    }
}

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertDecision {
    /// Nothing new.
    Nothing,
    /// First notification of the period.
    Notify {
        /// The tier reached.
        tier: Tier,
    },
    /// A higher tier than already notified.
    Escalate {
        /// The highest tier notified before.
        from: Tier,
        /// The new tier.
        to: Tier,
    },
    /// Back to `Ok` after a notification.
    Recovery {
        /// The highest tier notified in the period.
        from: Tier,
    },
}

impl AlertDecision {
    /// Whether a message goes out.
    #[must_use]
    pub const fn sends(&self) -> bool {
        !matches!(self, Self::Nothing)
    }
}

/// A decision and the state to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// What to send.
    pub decision: AlertDecision,
    /// The state to write (conditionally) to the ledger.
    pub next: AlertState,
}

/// Decides what to send for `tier` in `period`, given the stored state (if any).
///
/// ```
/// use cost::alerting::{decide, AlertDecision};
/// use cost::burn::Tier;
/// let t1 = decide(None, "2025-06", Tier::Pct80);
/// assert_eq!(t1.decision, AlertDecision::Notify { tier: Tier::Pct80 });
/// let t2 = decide(Some(&t1.next), "2025-06", Tier::Pct80);
/// assert_eq!(t2.decision, AlertDecision::Nothing); // fire once
/// ```
#[must_use]
pub fn decide(previous: Option<&AlertState>, period: &str, tier: Tier) -> Transition {
    let state = match previous {
        Some(s) if s.period == period => s.clone(),
        _ => AlertState::fresh(period),
    };
    if tier > state.highest_notified {
        let decision = if state.highest_notified == Tier::Ok {
            AlertDecision::Notify { tier }
        } else {
            AlertDecision::Escalate {
                from: state.highest_notified,
                to: tier,
            }
        };
        let next = AlertState {
            period: period.to_owned(),
            highest_notified: tier,
            current: tier,
            recovery_sent: false,
        };
        return Transition { decision, next };
    }
    if tier == Tier::Ok && state.highest_notified > Tier::Ok && !state.recovery_sent {
        let next = AlertState {
            current: Tier::Ok,
            recovery_sent: true,
            ..state.clone()
        };
        return Transition {
            decision: AlertDecision::Recovery {
                from: state.highest_notified,
            },
            next,
        };
    }
    Transition {
        decision: AlertDecision::Nothing,
        next: AlertState {
            current: tier,
            ..state
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JUNE: &str = "2025-06";
    const JULY: &str = "2025-07";

    fn run(
        period: &str,
        tiers: &[Tier],
        start: Option<AlertState>,
    ) -> (Vec<AlertDecision>, Option<AlertState>) {
        let mut state = start;
        let mut out = Vec::new();
        for t in tiers {
            let tr = decide(state.as_ref(), period, *t);
            out.push(tr.decision);
            state = Some(tr.next);
        }
        (out, state)
    }

    #[test]
    fn quiet_month_sends_nothing() {
        let (d, s) = run(JUNE, &[Tier::Ok; 5], None);
        assert!(d.iter().all(|x| *x == AlertDecision::Nothing));
        assert_eq!(s.unwrap(), AlertState::fresh(JUNE));
    }

    #[test]
    fn notify_escalate_recover_in_one_month() {
        use Tier::*;
        let (d, s) = run(
            JUNE,
            &[Ok, Pct80, Pct80, Pct120, Pct100, Pct150, Pct150, Ok, Ok],
            None,
        );
        assert_eq!(
            d,
            vec![
                AlertDecision::Nothing,
                AlertDecision::Notify { tier: Pct80 },
                AlertDecision::Nothing,
                AlertDecision::Escalate {
                    from: Pct80,
                    to: Pct120
                },
                AlertDecision::Nothing, // de-escalation is not a recovery
                AlertDecision::Escalate {
                    from: Pct120,
                    to: Pct150
                },
                AlertDecision::Nothing,
                AlertDecision::Recovery { from: Pct150 },
                AlertDecision::Nothing,
            ]
        );
        let s = s.unwrap();
        assert_eq!(
            (s.highest_notified, s.current, s.recovery_sent),
            (Pct150, Ok, true)
        );
    }

    #[test]
    fn flapping_does_not_renotify_a_tier_already_sent() {
        use Tier::*;
        let (d, _) = run(JUNE, &[Pct80, Ok, Pct80, Ok, Pct100, Ok], None);
        assert_eq!(
            d,
            vec![
                AlertDecision::Notify { tier: Pct80 },
                AlertDecision::Recovery { from: Pct80 },
                AlertDecision::Nothing,
                AlertDecision::Nothing, // one recovery per notification
                AlertDecision::Escalate {
                    from: Pct80,
                    to: Pct100
                },
                AlertDecision::Recovery { from: Pct100 },
            ]
        );
    }

    #[test]
    fn month_rollover_resets_silently_then_notifies_again() {
        use Tier::*;
        let (_, june) = run(JUNE, &[Pct120], None);
        // July 1: the budget reset; OK sends nothing (no recovery note for a new period).
        let t = decide(june.as_ref(), JULY, Ok);
        assert_eq!(t.decision, AlertDecision::Nothing);
        assert_eq!(t.next, AlertState::fresh(JULY));
        // The same tier as June's is a fresh notification in July.
        let t = decide(june.as_ref(), JULY, Pct120);
        assert_eq!(t.decision, AlertDecision::Notify { tier: Pct120 });
        assert_eq!(t.next.period, JULY);
        // A late re-run for June (e.g. a backfill) still sees June's state.
        assert_eq!(
            decide(june.as_ref(), JUNE, Pct120).decision,
            AlertDecision::Nothing
        );
    }

    fn tier() -> impl Strategy<Value = Tier> {
        proptest::sample::select(Tier::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn each_tier_fires_at_most_once_and_reruns_are_silent(tiers in proptest::collection::vec(tier(), 0..40)) {
            let mut state: Option<AlertState> = None;
            let mut fired: Vec<Tier> = Vec::new();
            for t in tiers {
                let tr = decide(state.as_ref(), JUNE, t);
                match tr.decision {
                    AlertDecision::Notify { tier } | AlertDecision::Escalate { to: tier, .. } => {
                        prop_assert!(!fired.contains(&tier));
                        prop_assert_eq!(tier, t);
                        fired.push(tier);
                    }
                    _ => {}
                }
                // Re-running the same day with the stored state sends nothing.
                let again = decide(Some(&tr.next), JUNE, t);
                prop_assert_eq!(again.decision, AlertDecision::Nothing);
                prop_assert_eq!(&again.next, &tr.next);
                state = Some(tr.next);
            }
            prop_assert!(fired.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
