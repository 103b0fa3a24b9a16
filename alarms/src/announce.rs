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

/// What the last successful post told on-call; stored between runs. The default — nothing announced
/// yet — remembers no escalation (`escalated: Some(empty)`), so every page of an open episode is announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announced {
    /// Firing episodes already announced: alarm name → in ALARM since.
    #[serde(default)]
    pub firing: BTreeMap<String, DateTime<Utc>>,
    /// When the last post (of any kind) went out.
    #[serde(default)]
    pub last_post: Option<DateTime<Utc>>,
    /// Escalations already announced: alarm → in ALARM since (the episode paged). `None` in a state
    /// written before escalations were remembered: then only escalations made by the deciding run are
    /// announced, as that version did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated: Option<BTreeMap<String, DateTime<Utc>>>,
}

impl Default for Announced {
    fn default() -> Self {
        Self {
            firing: BTreeMap::new(),
            last_post: None,
            escalated: Some(BTreeMap::new()),
        }
    }
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
    /// An announced episode left `ALARM` for `INSUFFICIENT_DATA`: not recovered, its metric stopped
    /// (a function that stopped being invoked, a metric renamed).
    NoData {
        /// Alarm name.
        alarm: String,
    },
    /// An announced episode's alarm is no longer there (renamed, or pruned from the catalogue): its
    /// episode ended without recovering, and whatever fired is watched, if at all, under another name.
    Gone {
        /// Alarm name.
        alarm: String,
    },
    /// A page to the critical topic for the alarm's current episode that no post announced yet.
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
            Self::NoData { alarm } => format!("no data now: {alarm}"),
            Self::Gone { alarm } => format!("no longer watched: {alarm} (renamed or removed)"),
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

/// The pages the deciding run knows were sent to the critical topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paged<'a> {
    /// Alarms this run escalated (their page went out in this run).
    pub now: &'a [String],
    /// Firing alarms whose page for the current episode an earlier run sent.
    pub earlier: &'a [String],
    /// Of `now`, the pages sent late for an episode that has ended (an earlier run recorded them): they
    /// are announced, but do not count as the current episode's page.
    pub late: &'a [String],
}

impl<'a> Paged<'a> {
    /// Pages sent by this run only.
    #[must_use]
    pub fn now(now: &'a [String]) -> Self {
        Self {
            now,
            earlier: &[],
            late: &[],
        }
    }
}

/// Decides whether this run's report is worth a post, given what was announced last.
///
/// Every page of an open episode is announced once: the ones this run sent, and the ones an earlier
/// run sent but never announced (it paged, then failed before its post was recorded).
///
/// ```
/// use alarms::announce::{decide, AnnounceOptions, Announced, Paged};
/// use alarms::state::{summarize, AlarmStatus, StateValue, SummaryInput};
/// use chrono::{TimeZone, Utc};
/// let now = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
/// let alarms = [AlarmStatus { name: "app-prod-api-5xx-rate-critical".into(), state: StateValue::Alarm,
///     state_updated: now - chrono::Duration::minutes(7), reason: "Threshold Crossed".into() }];
/// let s = summarize(SummaryInput { alarms: &alarms, history: &[], catalogue: None, evidence: &Default::default(), now });
/// let first = decide(&s, &Announced::default(), Paged::default(), now, AnnounceOptions::default());
/// assert!(first.should_post());
/// // Five minutes later nothing changed: quiet.
/// let again = decide(&s, &first.next, Paged::default(), now + chrono::Duration::minutes(5), AnnounceOptions::default());
/// assert!(!again.should_post());
/// ```
#[must_use]
pub fn decide(
    summary: &AlarmStateSummary,
    last: &Announced,
    paged: Paged<'_>,
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
            let alarm = name.clone();
            // Out of ALARM is not recovered when its metric simply stopped, nor when the alarm is gone.
            reasons.push(if summary.insufficient_data.contains(name) {
                PostReason::NoData { alarm }
            } else if summary.ok.contains(name) {
                PostReason::Recovered { alarm }
            } else {
                PostReason::Gone { alarm }
            });
        }
    }
    // Pages already announced stay announced while their episode goes on, whatever this run could read
    // of the ledger (a run that read no pages, or a forced post with none, must not forget them).
    let mut announced_pages: BTreeMap<String, DateTime<Utc>> = last
        .escalated
        .iter()
        .flatten()
        .filter(|(name, since)| current.get(*name) == Some(*since))
        .map(|(name, since)| (name.clone(), *since))
        .collect();
    // Sorted and once each: two runs with the same view decide the same reasons in the same order (the
    // post's ledger key hashes them), and a name listed twice (an ended episode's page sent late beside
    // the new episode's) is one line.
    let mut escalated = std::collections::BTreeSet::new();
    let count = |list: &[String], name: &String| list.iter().filter(|n| *n == name).count();
    for name in paged.now {
        escalated.insert(name.clone());
        // The current episode's page is among this run's unless every page of the name was a late one.
        if count(paged.now, name) > count(paged.late, name)
            && let Some(since) = current.get(name)
        {
            announced_pages.insert(name.clone(), *since);
        }
    }
    for name in paged.earlier {
        let Some(since) = current.get(name) else {
            continue; // the episode is over: its page was announced or is moot now
        };
        // A state from before escalations were remembered: the earlier run announced its own pages.
        let unannounced = last
            .escalated
            .as_ref()
            .is_some_and(|done| done.get(name) != Some(since));
        if unannounced {
            escalated.insert(name.clone());
        }
        announced_pages.insert(name.clone(), *since);
    }
    reasons.extend(escalated.into_iter().map(|alarm| PostReason::Escalated { alarm }));
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
            escalated: Some(announced_pages),
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
                Paged::default(),
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
            Paged::default(),
            t0() + Duration::minutes(5),
            AnnounceOptions::default(),
        );
        assert_eq!(
            d1.reasons,
            vec![PostReason::NewlyFiring {
                alarm: "a-critical".into()
            }]
        );
        let back_to_ok = |name: &str| AlarmStatus {
            name: name.into(),
            state: StateValue::Ok,
            state_updated: t0() + Duration::minutes(10),
            reason: "Threshold Crossed".into(),
        };
        let s2 = summarize(SummaryInput {
            alarms: &[back_to_ok("a-critical")],
            history: &[],
            catalogue: None,
            evidence: &BTreeMap::new(),
            now: t0() + Duration::minutes(10),
        });
        let d2 = decide(
            &s2,
            &d1.next,
            Paged::default(),
            t0() + Duration::minutes(10),
            AnnounceOptions::default(),
        );
        assert_eq!(
            d2.reasons,
            vec![PostReason::Recovered {
                alarm: "a-critical".into()
            }]
        );
        // An alarm that left the report by being renamed or pruned did not recover: said so.
        let renamed = summarize(SummaryInput {
            alarms: &[back_to_ok("a-renamed-critical")],
            history: &[],
            catalogue: None,
            evidence: &BTreeMap::new(),
            now: t0() + Duration::minutes(10),
        });
        let gone = decide(
            &renamed,
            &d1.next,
            Paged::default(),
            t0() + Duration::minutes(10),
            AnnounceOptions::default(),
        );
        assert_eq!(
            gone.reasons,
            vec![PostReason::Gone {
                alarm: "a-critical".into()
            }]
        );
        assert_eq!(
            gone.reasons[0].describe(),
            "no longer watched: a-critical (renamed or removed)"
        );
        assert!(gone.next.firing.is_empty(), "announced once, then forgotten");
        let d3 = decide(
            &s2,
            &d2.next,
            Paged::default(),
            t0() + Duration::minutes(15),
            AnnounceOptions::default(),
        );
        assert!(!d3.should_post());
        assert!(d3.next.firing.is_empty());
        // Out of ALARM into INSUFFICIENT_DATA (its metric stopped) is said so, not "recovered".
        let gone_quiet = summarize(SummaryInput {
            alarms: &[AlarmStatus {
                name: "a-critical".into(),
                state: StateValue::InsufficientData,
                state_updated: t0() + Duration::minutes(10),
                reason: "Insufficient Data".into(),
            }],
            history: &[],
            catalogue: None,
            evidence: &BTreeMap::new(),
            now: t0() + Duration::minutes(10),
        });
        let quiet = decide(
            &gone_quiet,
            &d1.next,
            Paged::default(),
            t0() + Duration::minutes(10),
            AnnounceOptions::default(),
        );
        assert_eq!(
            quiet.reasons,
            vec![PostReason::NoData {
                alarm: "a-critical".into()
            }]
        );
        assert_eq!(quiet.reasons[0].describe(), "no data now: a-critical");
    }

    #[test]
    fn a_refire_is_a_new_episode() {
        let first = t0();
        let s1 = summary(t0() + Duration::minutes(1), &[("a-critical", first)]);
        let d1 = decide(
            &s1,
            &Announced::default(),
            Paged::default(),
            t0() + Duration::minutes(1),
            AnnounceOptions::default(),
        );
        let again = t0() + Duration::minutes(20);
        let s2 = summary(again, &[("a-critical", again)]);
        let d2 = decide(&s2, &d1.next, Paged::default(), again, AnnounceOptions::default());
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
            escalated: Some(BTreeMap::new()),
        };
        let d = decide(
            &s,
            &announced,
            Paged::now(&["a-critical".to_owned()]),
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

    /// A run paged B, then failed before its post was even recorded: the next run finds B already
    /// escalated (the ledger's sent page) and must still tell Slack so — once.
    #[test]
    fn a_page_an_earlier_run_sent_but_never_announced_is_announced_once() {
        let since = t0();
        let at = t0() + Duration::minutes(20);
        let s = summary(at, &[("b-critical", since)]);
        let announced = Announced {
            firing: BTreeMap::from([("b-critical".to_owned(), since)]),
            last_post: Some(t0() + Duration::minutes(1)),
            escalated: Some(BTreeMap::new()),
        };
        let earlier = ["b-critical".to_owned()];
        let paged = Paged {
            now: &[],
            earlier: &earlier,
            late: &[],
        };
        let d = decide(&s, &announced, paged, at, AnnounceOptions::default());
        assert_eq!(
            d.reasons,
            vec![PostReason::Escalated {
                alarm: "b-critical".into()
            }]
        );
        assert_eq!(
            d.next.escalated,
            Some(BTreeMap::from([("b-critical".to_owned(), since)]))
        );
        // Once announced, the same page is not announced again.
        let later = at + Duration::minutes(5);
        let again = decide(&s, &d.next, paged, later, AnnounceOptions::default());
        assert!(!again.should_post(), "{:?}", again.reasons);
        // A new episode of the same alarm, paged by an earlier run, is a new announcement.
        let refire = later + Duration::minutes(30);
        let s2 = summary(refire, &[("b-critical", refire)]);
        let d2 = decide(&s2, &again.next, paged, refire, AnnounceOptions::default());
        assert!(d2.reasons.contains(&PostReason::Escalated {
            alarm: "b-critical".into()
        }));
    }

    /// Chaos world 9 exactly: the faulty run paged and announced nothing at all, so the re-run starts
    /// from no announced state; its post names the page with the new alarms.
    #[test]
    fn with_nothing_announced_yet_an_earlier_page_is_announced_with_the_new_alarms() {
        let since = t0();
        let at = t0() + Duration::minutes(20);
        let s = summary(at, &[("a-critical", since), ("b-critical", since)]);
        let earlier = ["b-critical".to_owned()];
        let d = decide(
            &s,
            &Announced::default(),
            Paged {
                now: &[],
                earlier: &earlier,
                late: &[],
            },
            at,
            AnnounceOptions::default(),
        );
        let described: Vec<String> = d.reasons.iter().map(PostReason::describe).collect();
        assert_eq!(
            described,
            ["new: a-critical", "new: b-critical", "escalated: b-critical"]
        );
    }

    /// A run that could not read the pages (or a forced post with none) keeps the announced ones: the
    /// next run does not announce them again. Pages are announced sorted and once each.
    #[test]
    fn announced_pages_survive_a_run_that_read_none_and_are_announced_sorted_once() {
        let since = t0();
        let at = t0() + Duration::minutes(20);
        let s = summary(at, &[("a-critical", since), ("b-critical", since)]);
        let announced = Announced {
            firing: BTreeMap::from([("a-critical".to_owned(), since), ("b-critical".to_owned(), since)]),
            last_post: Some(t0() + Duration::minutes(16)),
            escalated: Some(BTreeMap::from([("b-critical".to_owned(), since)])),
        };
        let forced = decide(
            &s,
            &announced,
            Paged::default(),
            at,
            AnnounceOptions {
                always_post: true,
                ..AnnounceOptions::default()
            },
        );
        assert_eq!(forced.reasons, vec![PostReason::Forced]);
        assert_eq!(forced.next.escalated, announced.escalated);
        let earlier = ["b-critical".to_owned()];
        let next = decide(
            &s,
            &forced.next,
            Paged {
                now: &[],
                earlier: &earlier,
                late: &[],
            },
            at + Duration::minutes(5),
            AnnounceOptions::default(),
        );
        assert!(!next.should_post(), "{:?}", next.reasons);
        // Two pages now, listed out of order and one twice: one line each, sorted.
        let now = [
            "c-critical".to_owned(),
            "a-critical".to_owned(),
            "c-critical".to_owned(),
        ];
        let d = decide(
            &s,
            &announced,
            Paged {
                now: &now,
                earlier: &[],
                late: &[],
            },
            at,
            AnnounceOptions::default(),
        );
        let described: Vec<String> = d.reasons.iter().map(PostReason::describe).collect();
        assert_eq!(described, ["escalated: a-critical", "escalated: c-critical"]);
    }

    /// A page sent late for an episode that ended is announced, but does not stand for the new
    /// episode's page: when a run sends that one and dies before posting, the next run announces it.
    #[test]
    fn a_late_page_of_an_ended_episode_does_not_count_for_the_new_episode() {
        let at = t0() + Duration::minutes(40);
        let since = t0() + Duration::minutes(30); // the new episode
        let s = summary(at, &[("x-critical", since)]);
        let announced = Announced {
            firing: BTreeMap::from([("x-critical".to_owned(), since)]),
            last_post: Some(t0() + Duration::minutes(31)),
            escalated: Some(BTreeMap::new()),
        };
        let x = ["x-critical".to_owned()];
        let d = decide(
            &s,
            &announced,
            Paged {
                now: &x,
                earlier: &[],
                late: &x,
            },
            at,
            AnnounceOptions::default(),
        );
        assert_eq!(
            d.reasons,
            vec![PostReason::Escalated {
                alarm: "x-critical".into()
            }]
        );
        assert_eq!(d.next.escalated, Some(BTreeMap::new()));
        let later = decide(
            &s,
            &d.next,
            Paged {
                now: &[],
                earlier: &x,
                late: &[],
            },
            at + Duration::minutes(5),
            AnnounceOptions::default(),
        );
        assert_eq!(later.reasons, d.reasons, "the new episode's page, announced");
    }

    /// An announced state written before escalations were remembered (`escalated` missing) does not
    /// announce every open page again after the upgrade; this run's own pages are still announced.
    #[test]
    fn a_state_without_remembered_escalations_announces_only_this_runs_pages() {
        let since = t0();
        let at = t0() + Duration::minutes(20);
        let s = summary(at, &[("b-critical", since), ("c-critical", since)]);
        let old: Announced =
            serde_json::from_str(r#"{"firing":{"b-critical":"2026-12-02T00:00:00Z","c-critical":"2026-12-02T00:00:00Z"},"last_post":"2026-12-02T00:01:00Z"}"#)
                .unwrap();
        assert_eq!(old.escalated, None);
        let (now, earlier) = (["c-critical".to_owned()], ["b-critical".to_owned()]);
        let d = decide(
            &s,
            &old,
            Paged {
                now: &now,
                earlier: &earlier,
                late: &[],
            },
            at,
            AnnounceOptions::default(),
        );
        assert_eq!(
            d.reasons,
            vec![PostReason::Escalated {
                alarm: "c-critical".into()
            }]
        );
        // From now on both pages are remembered as announced.
        assert_eq!(d.next.escalated.as_ref().map(BTreeMap::len), Some(2));
    }

    #[test]
    fn a_failed_post_is_retried_because_next_is_stored_only_after_success() {
        let since = t0();
        let s = summary(t0() + Duration::minutes(1), &[("a-critical", since)]);
        let d1 = decide(
            &s,
            &Announced::default(),
            Paged::default(),
            t0() + Duration::minutes(1),
            AnnounceOptions::default(),
        );
        assert!(d1.should_post());
        // The post failed: the shell keeps the old `Announced`, so the next run decides the same.
        let d2 = decide(
            &s,
            &Announced::default(),
            Paged::default(),
            t0() + Duration::minutes(6),
            AnnounceOptions::default(),
        );
        assert_eq!(d2.reasons, d1.reasons);
    }

    #[test]
    fn nothing_firing_and_nothing_announced_is_quiet_unless_forced() {
        let s = summary(t0(), &[]);
        assert!(
            !decide(
                &s,
                &Announced::default(),
                Paged::default(),
                t0(),
                AnnounceOptions::default()
            )
            .should_post()
        );
        let forced = decide(
            &s,
            &Announced::default(),
            Paged::default(),
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
            escalated: Some(BTreeMap::from([("x".to_owned(), t0())])),
        };
        let back: Announced = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        // A stored state without the field was written before escalations were remembered.
        let empty: Announced = serde_json::from_str("{}").unwrap();
        assert_eq!(
            empty,
            Announced {
                escalated: None,
                ..Announced::default()
            }
        );
    }
}
