//! The cost pass's claim → send → release protocol on the in-memory seams (feature `testing`), with
//! tokio's clock paused: what each channel's success or failure leaves in the ledger, what the next run
//! then sends, and the Cost Explorer daily cap across runs.
//!
//! The rules checked come from docs/cost-governance.md and ARCHITECTURE.md ("delivered at least once and
//! deduplicated … retried by the next run", "Cost Explorer … query at most once per run, cache in the
//! ledger, count and report the calls"); the seeds' tiers: more than 150 % of the budget actually spent
//! pages (SNS critical) as well as posting to Slack.
#![allow(clippy::unwrap_used)] // test set-up helpers outside #[test] fns: failing loudly is the point

use chrono::{DateTime, TimeZone, Utc};
use cost::alerting::AlertDecision;
use cost::burn::Tier;
use governance::cost_pass::counting::RequestCounter;
use governance::cost_pass::fake::{FakeChannels, FakeReads, Outcome};
use governance::cost_pass::state::Keys;
use governance::cost_pass::{CostPassError, DailyRun, PassContext, PassOptions};
use governance::ledger::{LedgerStore, MemoryLedger};
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;

fn spec() -> PlatformSpec {
    platform_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
    )
    .unwrap()
}

fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap()
}

/// $800 actually spent of the $500 monthly budget on Nov 21: 160 %, the critical tier.
fn over_budget(counter: &RequestCounter) -> FakeReads {
    FakeReads::new(counter, "prod")
        .with_budget("collectiq-prod-monthly", Decimal::from(500), Decimal::from(800))
        .with_daily_spend(Decimal::from(38), 20)
}

struct World {
    spec: PlatformSpec,
    ledger: MemoryLedger,
    channels: FakeChannels,
}

impl World {
    fn new() -> Self {
        Self {
            spec: spec(),
            ledger: MemoryLedger::new(),
            channels: FakeChannels::new(),
        }
    }

    async fn run(&self, notify: bool) -> Result<DailyRun, CostPassError> {
        let counter = RequestCounter::new();
        let reads = over_budget(&counter);
        let options = PassOptions::new(&self.spec, as_of()).with_notify(notify);
        PassContext {
            spec: &self.spec,
            options: &options,
            reads: &reads,
            ledger: &self.ledger,
            channels: &self.channels,
            counter: &counter,
        }
        .daily()
        .await
    }

    fn keys(&self) -> Keys {
        Keys::new(self.spec.managed_prefix())
    }

    fn alert_claims(&self) -> Vec<String> {
        self.ledger.claimed(&self.keys().alert("2026-11"))
    }

    fn report_claims(&self) -> Vec<String> {
        self.ledger.claimed(&self.keys().report())
    }

    fn critical_topic(&self) -> &str {
        &self.spec.notifications.sns_critical_topic_arn
    }
}

const PAGED: AlertDecision = AlertDecision::Notify { tier: Tier::Pct150 };

#[tokio::test(start_paused = true)]
async fn both_channels_succeed_and_a_rerun_sends_nothing() {
    let w = World::new();
    let first = w.run(true).await.unwrap();
    assert_eq!(first.decision, PAGED);
    assert!(first.delivery.slack_posted, "{:?}", first.delivery);
    assert!(first.delivery.sns_message_id.is_some(), "{:?}", first.delivery);
    assert!(first.delivery.errors.is_empty(), "{:?}", first.delivery);
    assert_eq!(w.channels.posted(), std::slice::from_ref(&first.slack));
    let published = w.channels.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, w.critical_topic());
    assert_eq!(Some(&published[0].1), first.sns.as_ref());
    // One claim per channel: Slack's day and tier, SNS's tier.
    assert_eq!(w.report_claims(), ["2026-11-21"]);
    assert_eq!(w.alert_claims(), ["sns#150", "tier#150"]);

    let again = w.run(true).await.unwrap();
    assert_eq!(again.decision, AlertDecision::Nothing);
    assert_eq!(
        again.delivery.skipped.as_deref(),
        Some("the 2026-11-21 report was already posted and there is no new budget transition")
    );
    assert_eq!(w.channels.attempts(), (1, 1), "a re-run tries no channel");
    assert_eq!(w.alert_claims(), ["sns#150", "tier#150"]);
}

#[tokio::test(start_paused = true)]
async fn slack_failing_after_sns_gives_back_only_slacks_claims_and_the_rerun_posts_once() {
    let w = World::new();
    w.channels.script_slack([Outcome::Fail("HTTP 500".into())]);
    let first = w.run(true).await.unwrap();
    assert!(first.delivery.sns_message_id.is_some());
    assert!(!first.delivery.slack_posted);
    assert_eq!(
        first.delivery.errors,
        ["Slack post failed after 1 attempt(s): HTTP 500"]
    );
    // Before the seams both claims were kept here and the Slack report was never sent (issue 13 item 2).
    assert!(w.report_claims().is_empty(), "{:?}", w.report_claims());
    assert_eq!(w.alert_claims(), ["sns#150"]);

    let retry = w.run(true).await.unwrap();
    assert_eq!(retry.decision, PAGED, "the tier is announced again on Slack");
    assert!(retry.delivery.slack_posted && retry.delivery.errors.is_empty());
    assert_eq!(
        retry.delivery.sns_message_id, None,
        "SNS already paged: not again"
    );
    assert_eq!(w.channels.posted(), std::slice::from_ref(&retry.slack));
    assert_eq!(w.channels.published().len(), 1);
    assert_eq!(w.report_claims(), ["2026-11-21"]);
    assert_eq!(w.alert_claims(), ["sns#150", "tier#150"]);

    let quiet = w.run(true).await.unwrap();
    assert!(quiet.delivery.skipped.is_some());
    assert_eq!((w.channels.posted().len(), w.channels.published().len()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn sns_failing_after_slack_is_owed_and_the_rerun_pages_once() {
    let w = World::new();
    w.channels.script_sns([Outcome::Fail("InternalError".into())]);
    let first = w.run(true).await.unwrap();
    assert!(first.delivery.slack_posted);
    assert_eq!(first.delivery.sns_message_id, None);
    assert_eq!(
        first.delivery.errors,
        [format!("SNS publish to {}: InternalError", w.critical_topic())]
    );
    // Slack keeps its claims; SNS gives its claim back and records that the page is owed.
    assert_eq!(w.report_claims(), ["2026-11-21"]);
    assert_eq!(w.alert_claims(), ["sns-owed#150", "tier#150"]);

    let retry = w.run(true).await.unwrap();
    assert_eq!(
        retry.decision,
        AlertDecision::Nothing,
        "Slack already announced the tier"
    );
    assert!(retry.delivery.sns_message_id.is_some(), "{:?}", retry.delivery);
    assert!(!retry.delivery.slack_posted, "no second Slack post");
    assert_eq!(w.channels.posted().len(), 1);
    let published = w.channels.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, w.critical_topic());
    assert_eq!(w.alert_claims(), ["sns#150", "tier#150"], "the debt is paid");

    let quiet = w.run(true).await.unwrap();
    assert!(quiet.delivery.skipped.is_some());
    assert_eq!(w.channels.attempts(), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn both_channels_failing_release_every_claim_and_the_rerun_sends_both() {
    let w = World::new();
    w.channels.script_slack([Outcome::Fail("HTTP 503".into())]);
    w.channels.script_sns([Outcome::Fail("Throttling".into())]);
    let first = w.run(true).await.unwrap();
    assert_eq!(first.delivery.errors.len(), 2, "{:?}", first.delivery.errors);
    assert!(w.report_claims().is_empty());
    assert!(w.alert_claims().is_empty());

    let retry = w.run(true).await.unwrap();
    assert_eq!(retry.decision, PAGED);
    assert!(retry.delivery.slack_posted && retry.delivery.sns_message_id.is_some());
    assert_eq!((w.channels.posted().len(), w.channels.published().len()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_failed_release_fails_the_run_loudly() {
    let w = World::new();
    w.channels.script_slack([Outcome::Fail("HTTP 500".into())]);
    w.ledger.fail_releases();
    let err = w.run(true).await.unwrap_err();
    assert!(matches!(err, CostPassError::Ledger(_)), "{err}");
    assert!(err.to_string().contains("release"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_claims_nothing_and_sends_nothing() {
    let w = World::new();
    let run = w.run(false).await.unwrap();
    assert_eq!(run.decision, PAGED);
    assert_eq!(run.delivery.skipped.as_deref(), Some("dry run (no --post)"));
    assert!(w.alert_claims().is_empty() && w.report_claims().is_empty());
    assert_eq!(w.channels.attempts(), (0, 0));
}

/// The spec caps Cost Explorer at 5 requests a day ($0.05). The first run pays 2 pages + 1 forecast; the
/// settled days are cached, so each re-run pays 1 page for today only; once the cap is used the run
/// reports from the cache and says why, without a single Cost Explorer request.
#[tokio::test(start_paused = true)]
async fn the_cost_explorer_daily_cap_is_respected_across_runs() {
    let w = World::new();
    let cap = u64::from(w.spec.cost.ce_daily_request_cap);
    assert_eq!(cap, 5);
    let quota_pk = w.keys().ce_requests();
    let today = Utc::now().date_naive().to_string();
    let mut paid = Vec::new();
    for _ in 0..5 {
        let run = w.run(false).await.unwrap();
        paid.push(run.calls.cost_explorer());
        assert!(run.ce_requests_today <= cap, "{}", run.ce_requests_today);
        assert_eq!(
            w.ledger.counter(&quota_pk, &today).await.unwrap(),
            run.ce_requests_today
        );
        if run.ce_query.is_none() {
            let note = run
                .report
                .notes
                .iter()
                .find(|n| n.starts_with("Cost Explorer not queried"));
            assert!(
                note.is_some_and(|n| n.contains("daily cap reached (5 of 5 requests today)")),
                "{:?}",
                run.report.notes
            );
        }
    }
    assert_eq!(paid, [3, 1, 1, 0, 0]);
    assert_eq!(w.ledger.counter(&quota_pk, &today).await.unwrap(), cap);
}
