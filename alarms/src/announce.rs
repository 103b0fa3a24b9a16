//! When the alarm-state report is worth a Slack post: on change only.
//!
//! The alarms Lambda runs every 5 minutes. Posting the whole report on every run while anything fires
//! turns one budget warning that holds until the month ends into ~288 posts a day, and on-call learns to
//! mute the channel. The seeds (000 "Alarms", 001 "Monitoring and alerting") route warnings to Slack and
//! critical alarms to the pager; neither asks for repetition. So a post goes out only for:
//!
//! - a **new firing episode** (an alarm that was not firing at the last post, or that fired again: a new
//!   `StateUpdatedTimestamp` is a new episode);
//! - a **recovery** of an episode that was announced;
//! - an **escalation** made by this run;
//! - a **digest** at most once per period (default daily) while alarms keep firing and nothing changed.
//!
//! What was announced is kept between runs (the shell stores [`Announced`] in the ledger) and advanced
//! only after a post succeeded, so a failed post is retried by the next run and a re-run after a
//! successful one posts nothing new. Recoveries are found by comparing with what was announced, so they
//! do not depend on `DescribeAlarmHistory` (which the emulator lacks and which is costly to read).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::state::AlarmStateSummary;

/// The default period between two digests while alarms keep firing unchanged.
pub const DEFAULT_DIGEST_PERIOD_HOURS: i64 = 24;

/// What the last successful post told on-call; stored between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    /// Firing episodes already announced: alarm name → in ALARM since.
    #[serde(default)]
    pub firing: BTreeMap<String, DateTime<Utc>>,
    /// When the last post (of any kind) went out.
    #[serde(default)]
    pub last_post: Option<DateTime<Utc>>,
}

/// Why a post goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PostReason {
    /// A firing episode on-call has not been told about.
    NewlyFiring {
        /// Alarm name.
        alarm: String,
    },
    /// An announced episode ended.
    Recovered {
        /// Alarm name.
        alarm: String,
    },
    /// This run escalated the alarm to the critical topic.
    Escalated {
        /// Alarm name.
        alarm: String,
    },
    /// Nothing changed, alarms keep firing, and the digest period has passed.
    Digest {
        /// Alarms firing.
        firing: usize,
    },
    /// The caller asked for a post regardless (`always_post`).
    Forced,
}

impl PostReason {
    /// One line for the post's header and for logs.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::NewlyFiring { alarm } => format!("new: {alarm}"),
            Self::Recovered { alarm } => format!("recovered: {alarm}"),
            Self::Escalated { alarm } => format!("escalated: {alarm}"),
            Self::Digest { firing } => format!("digest: {firing} still firing"),
            Self::Forced => "requested".to_owned(),
        }
    }
}

/// The decision for one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostDecision {
    /// Why to post; empty means stay quiet.
    pub reasons: Vec<PostReason>,
    /// What to store once the post succeeded (or at once when there is nothing to post, so that
    /// episodes which ended unannounced are forgotten).
    pub next: Announced,
}

impl PostDecision {
    /// Whether anything is worth a post.
    #[must_use]
    pub fn should_post(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// Knobs for [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceOptions {
    /// At most one digest per this period while alarms keep firing unchanged.
    pub digest_period: Duration,
    /// Post even when nothing changed.
    pub always_post: bool,
}

impl Default for AnnounceOptions {
    fn default() -> Self {
        Self {
            digest_period: Duration::hours(DEFAULT_DIGEST_PERIOD_HOURS),
            always_post: false,
        }
    }
}

/// Decides whether this run's report is worth a post, given what was announced last.
///
/// `escalated` holds the alarms this run escalated to SNS.
///
/// ```
/// use alarms::announce::{decide, AnnounceOptions, Announced};
/// use alarms::state::{summarize, AlarmStatus, StateValue, SummaryInput};
/// use chrono::{TimeZone, Utc};
/// let now = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
/// let alarms = [AlarmStatus { name: "app-prod-api-5xx-rate-critical".into(), state: StateValue::Alarm,
///     state_updated: now - chrono::Duration::minutes(7), reason: "Threshold Crossed".into() }];
/// let s = summarize(SummaryInput { alarms: &alarms, history: &[], catalogue: None, evidence: &Default::default(), now });
/// let first = decide(&s, &Announced::default(), &[], now, AnnounceOptions::default());
/// assert!(first.should_post());
/// // Five minutes later nothing changed: quiet.
/// let again = decide(&s, &first.next, &[], now + chrono::Duration::minutes(5), AnnounceOptions::default());
/// assert!(!again.should_post());
/// ```
#[must_use]
pub fn decide(
    summary: &AlarmStateSummary,
    last: &Announced,
    escalated: &[String],
    now: DateTime<Utc>,
    options: AnnounceOptions,
) -> PostDecision {
    let current: BTreeMap<String, DateTime<Utc>> =
        summary.firing.iter().map(|f| (f.name.clone(), f.since)).collect();
    let mut reasons = Vec::new();
    for (name, since) in &current {
        if last.firing.get(name) != Some(since) {
            reasons.push(PostReason::NewlyFiring { alarm: name.clone() });
        }
    }
    for name in last.firing.keys() {
        if !current.contains_key(name) {
            reasons.push(PostReason::Recovered { alarm: name.clone() });
        }
    }
    for name in escalated {
        reasons.push(PostReason::Escalated { alarm: name.clone() });
    }
    let digest_due = last.last_post.is_none_or(|at| now - at >= options.digest_period);
    if reasons.is_empty() && !current.is_empty() && digest_due {
        reasons.push(PostReason::Digest {
            firing: current.len(),
        });
    }
    if reasons.is_empty() && options.always_post {
        reasons.push(PostReason::Forced);
    }
    let last_post = if reasons.is_empty() {
        last.last_post
    } else {
        Some(now)
    };
    PostDecision {
        reasons,
        next: Announced {
            firing: current,
            last_post,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AlarmStatus, StateValue, SummaryInput, summarize};
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 0, 0, 0).unwrap()
    }

    fn summary(now: DateTime<Utc>, firing: &[(&str, DateTime<Utc>)]) -> AlarmStateSummary {
        let alarms: Vec<AlarmStatus> = firing
            .iter()
            .map(|(name, since)| AlarmStatus {
                name: (*name).to_owned(),
                state: StateValue::Alarm,
                state_updated: *since,
                reason: "Threshold Crossed".into(),
            })
            .collect();
        summarize(SummaryInput {
            alarms: &alarms,
            history: &[],
            catalogue: None,
            evidence: &BTreeMap::new(),
            now,
        })
    }

    /// Runs the 5-minute schedule for `runs` runs with one alarm firing throughout, storing `next`
    /// only when a post "succeeded"; returns how many posts went out.
    fn posts_over(runs: i64, period: Duration) -> usize {
        let since = t0() - Duration::minutes(3);
        let mut announced = Announced::default();
        let mut posts = 0;
        for i in 0..runs {
            let now = t0() + Duration::minutes(5 * i);
            let s = summary(now, &[("collectiq-prod-budget-80-warning", since)]);
            let d = decide(
                &s,
                &announced,
                &[],
                now,
                AnnounceOptions {
                    digest_period: period,
                    always_post: false,
                },
            );
            if d.should_post() {
                posts += 1;
            }
            announced = d.next;
        }
        posts
    }

    #[test]
    fn a_warning_that_holds_all_day_posts_once_then_one_digest_a_day() {
        // 288 runs = one day of the 5-minute schedule; the old behaviour posted 288 times.
        assert_eq!(posts_over(288, Duration::hours(24)), 1);
        // Two days: the first post and one digest 24 h later.
        assert_eq!(posts_over(2 * 288, Duration::hours(24)), 2);
        // A shorter configured period gives more digests: 1 + 23 hourly over a day.
        assert_eq!(posts_over(288, Duration::hours(1)), 24);
    }

    #[test]
    fn a_recovery_of_an_announced_episode_posts_and_then_stays_quiet() {
        let since = t0();
        let s1 = summary(t0() + Duration::minutes(5), &[("a-critical", since)]);
        let d1 = decide(
            &s1,
            &Announced::default(),
            &[],
            t0() + Duration::minutes(5),
            AnnounceOptions::default(),
        );
        assert_eq!(
            d1.reasons,
            vec![PostReason::NewlyFiring {
                alarm: "a-critical".into()
            }]
        );
        let s2 = summary(t0() + Duration::minutes(10), &[]);
        let d2 = decide(
            &s2,
            &d1.next,
            &[],
            t0() + Duration::minutes(10),
            AnnounceOptions::default(),
        );
        assert_eq!(
            d2.reasons,
            vec![PostReason::Recovered {
                alarm: "a-critical".into()
            }]
        );
        let d3 = decide(
            &s2,
            &d2.next,
            &[],
            t0() + Duration::minutes(15),
            AnnounceOptions::default(),
        );
        assert!(!d3.should_post());
        assert!(d3.next.firing.is_empty());
    }

    #[test]
    fn a_refire_is_a_new_episode() {
        let first = t0();
        let s1 = summary(t0() + Duration::minutes(1), &[("a-critical", first)]);
        let d1 = decide(
            &s1,
            &Announced::default(),
            &[],
            t0() + Duration::minutes(1),
            AnnounceOptions::default(),
        );
        let again = t0() + Duration::minutes(20);
        let s2 = summary(again, &[("a-critical", again)]);
        let d2 = decide(&s2, &d1.next, &[], again, AnnounceOptions::default());
        assert_eq!(
            d2.reasons,
            vec![PostReason::NewlyFiring {
                alarm: "a-critical".into()
            }]
        );
    }

    #[test]
    fn an_escalation_posts_even_when_the_episode_was_announced() {
        let since = t0();
        let s = summary(t0() + Duration::minutes(20), &[("a-critical", since)]);
        let announced = Announced {
            firing: BTreeMap::from([("a-critical".to_owned(), since)]),
            last_post: Some(t0() + Duration::minutes(1)),
        };
        let d = decide(
            &s,
            &announced,
            &["a-critical".to_owned()],
            t0() + Duration::minutes(20),
            AnnounceOptions::default(),
        );
        assert_eq!(
            d.reasons,
            vec![PostReason::Escalated {
                alarm: "a-critical".into()
            }]
        );
        assert_eq!(d.next.last_post, Some(t0() + Duration::minutes(20)));
    }

    #[test]
    fn a_failed_post_is_retried_because_next_is_stored_only_after_success() {
        let since = t0();
        let s = summary(t0() + Duration::minutes(1), &[("a-critical", since)]);
        let d1 = decide(
            &s,
            &Announced::default(),
            &[],
            t0() + Duration::minutes(1),
            AnnounceOptions::default(),
        );
        assert!(d1.should_post());
        // The post failed: the shell keeps the old `Announced`, so the next run decides the same.
        let d2 = decide(
            &s,
            &Announced::default(),
            &[],
            t0() + Duration::minutes(6),
            AnnounceOptions::default(),
        );
        assert_eq!(d2.reasons, d1.reasons);
    }

    #[test]
    fn nothing_firing_and_nothing_announced_is_quiet_unless_forced() {
        let s = summary(t0(), &[]);
        assert!(!decide(&s, &Announced::default(), &[], t0(), AnnounceOptions::default()).should_post());
        let forced = decide(
            &s,
            &Announced::default(),
            &[],
            t0(),
            AnnounceOptions {
                always_post: true,
                ..AnnounceOptions::default()
            },
        );
        assert_eq!(forced.reasons, vec![PostReason::Forced]);
    }

    #[test]
    fn announced_round_trips_through_json_and_reads_an_empty_object() {
        let a = Announced {
            firing: BTreeMap::from([("x".to_owned(), t0())]),
            last_post: Some(t0()),
        };
        let back: Announced = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        let empty: Announced = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Announced::default());
    }
}
