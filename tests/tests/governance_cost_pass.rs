//! The cost pass end to end against the emulator: injected Cost Explorer pages, budgets with spend, token
//! metrics (the demo seed), a loopback Slack webhook and SNS read back — one post and one page per period,
//! nothing on a re-run, 429 handling, the Cost Explorer request count and cap.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up helpers: failing loudly is the point

use chrono::{DateTime, TimeZone, Utc};
use collectiq_ops::seed::{self, DemoMonth};
use collectiq_tests::Emulator;
use collectiq_tests::{SinkResponse, WebhookSink};
use cost::alerting::AlertDecision;
use cost::burn::{Severity, Tier};
use cost::slack::SlackMessage;
use governance::aws::AwsClients;
use governance::cost_pass::{PassOptions, run_daily};
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;

struct World {
    emulator: Emulator,
    clients: AwsClients,
    sink: WebhookSink,
    spec: PlatformSpec,
    month: DemoMonth,
}

fn spec() -> PlatformSpec {
    platform_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
    )
    .unwrap()
}

/// 13:00 UTC on the seeded day: the seed has written hours 0–12.
fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap()
}

/// The real day the runs of a test count their Cost Explorer requests under ([`PassOptions::ce_day`]),
/// fixed: runs on either side of a midnight UTC the suite crosses count on one day, as the assertions
/// on `ce_requests_today` across runs expect.
fn ce_day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

/// Seeds the month (budget spend times `spend_factor`), queues the CE pages, starts the sink.
async fn world(script: Vec<SinkResponse>, spend_factor: Option<Decimal>) -> World {
    world_at(script, spend_factor, as_of()).await
}

/// [`world`] for a month seeded up to `as_of`'s day.
async fn world_at(script: Vec<SinkResponse>, spend_factor: Option<Decimal>, as_of: DateTime<Utc>) -> World {
    let emulator = Emulator::start().await.unwrap();
    let clients = emulator.clients().await;
    let sink = WebhookSink::start(script).await.unwrap();
    let spec = spec();
    let mut month = DemoMonth::generate(&spec, as_of.date_naive());
    if let Some(f) = spend_factor {
        for b in &mut month.budgets {
            b.actual_usd = b.limit_usd * f;
        }
    }
    seed::apply(&spec, &month, &clients, sink.url()).await.unwrap();
    emulator
        .inject_cost_and_usage(&seed::cost_explorer_pages(&month))
        .await
        .unwrap();
    World {
        emulator,
        clients,
        sink,
        spec,
        month,
    }
}

fn posted(sink: &WebhookSink) -> Vec<SlackMessage> {
    sink.received()
        .iter()
        .map(|p| serde_json::from_str(&p.body).unwrap())
        .collect()
}

#[tokio::test]
async fn critical_budget_posts_once_and_pages_once_and_a_rerun_sends_nothing() {
    // Budgets report 160 % of the limit already spent: exhausted, critical.
    let w = world(vec![], Some(Decimal::new(16, 1))).await;
    let options = PassOptions::new(&w.spec, as_of())
        .with_notify(true)
        .with_ce_day(ce_day());

    let run = run_daily(&w.spec, &w.clients, &options).await.unwrap();
    assert_eq!(run.report.tier(), Tier::Pct150);
    assert_eq!(run.report.severity(), Severity::Critical);
    assert_eq!(run.decision, AlertDecision::Notify { tier: Tier::Pct150 });
    assert!(run.delivery.slack_posted, "{:?}", run.delivery);
    assert!(!run.delivery.failed(), "{:?}", run.delivery);

    // Cost Explorer: two GetCostAndUsage pages + one GetCostForecast (moto lacks it: counted, noted).
    assert_eq!(run.calls.of("GetCostAndUsage"), 2, "{}", run.calls.summary());
    assert_eq!(run.calls.of("GetCostForecast"), 1, "{}", run.calls.summary());
    assert_eq!(run.calls.cost_explorer(), 3);
    assert_eq!(run.ce_requests_today, 3);
    assert_eq!(run.report.self_spend.ce_requests, 3);
    assert_eq!(run.report.self_spend.ce_cost(), Decimal::new(3, 2));
    assert_eq!(run.calls.of("DescribeBudgets"), 1);
    assert_eq!(run.calls.of("GetMetricData"), 1, "one batch for every series");
    assert_eq!(run.report.self_spend.cloudwatch_requests, 1);
    // moto answers GetCostForecast with a bare HTTP 500: one note says so and what the projection used.
    let forecast_notes: Vec<_> = run
        .report
        .notes
        .iter()
        .filter(|n| n.contains("forecast"))
        .collect();
    assert_eq!(
        forecast_notes,
        [
            "Cost Explorer forecast unavailable (the endpoint does not implement GetCostForecast); \
             projection uses linear + trailing-7-day rate + Budgets' forecast"
        ],
        "{:?}",
        run.report.notes
    );

    // The report is the seeded month: Budgets' actual, Sonnet tokens priced, valuations counted.
    let burn = &run.report.budgets[0];
    assert_eq!(burn.budget_name, "collectiq-prod-monthly");
    assert_eq!(burn.actual, Decimal::from(800));
    assert!(
        run.report.unit.valuations > 30_000,
        "{}",
        run.report.unit.valuations
    );
    assert!(
        run.report
            .bedrock_by_model
            .per_model
            .iter()
            .any(|m| m.model_key.contains("sonnet")),
        "{:?}",
        run.report.bedrock_by_model
    );

    // Exactly one Slack post, the alert line first, within Slack's limits.
    let posts = posted(&w.sink);
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].text.starts_with("Budget tier 150% reached"),
        "{}",
        posts[0].text
    );
    // The post is the run's message plus the delivery record's marker (docs/cost-governance.md,
    // "Delivery"): the record of the 150 % transition is `cost-alert#<month>/tier#150`.
    assert_eq!(
        posts[0],
        governance::ledger::delivery::with_slack_marker(
            run.slack.clone(),
            "collectiq-prod#cost-alert#2026-11/tier#150"
        )
    );
    assert!(cost::slack::validate(&posts[0]).is_empty());

    // Exactly one SNS message, on the critical topic, with the report's subject.
    let sns = w.emulator.sns_messages().await.unwrap();
    assert_eq!(sns.len(), 1, "{sns:?}");
    assert_eq!(sns[0].topic_arn, w.spec.notifications.sns_critical_topic_arn);
    let expected = cost::sns::critical_message(&run.report).unwrap();
    assert_eq!(sns[0].subject.as_deref(), Some(expected.subject.as_str()));
    assert!(
        sns[0]
            .subject
            .as_deref()
            .unwrap()
            .starts_with("CRITICAL CollectIQ prod budget 150%")
    );
    assert_eq!(sns[0].message, expected.message);
    assert!(
        sns[0]
            .attributes
            .contains(&("severity".into(), "CRITICAL".into()))
    );
    assert_eq!(
        run.delivery.sns_message_id.as_deref(),
        Some(sns[0].message_id.as_str())
    );

    // Settled days are in the ledger now.
    let ledger = governance::ledger::Ledger::new(w.clients.dynamodb.clone(), &w.spec.ledger.table);
    let day = governance::cost_pass::pass::stored_day(&ledger, &w.spec, "2026-11-10".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!day.estimated);
    assert!(
        day.rows
            .iter()
            .any(|r| r.service == seed::month::CLAUDE_SONNET_LINE)
    );

    // A re-run the same day: nothing new is sent; CE is asked only from the first unsettled day, and the
    // failed forecast is not paid for again.
    let again = run_daily(&w.spec, &w.clients, &options).await.unwrap();
    assert_eq!(again.decision, AlertDecision::Nothing);
    assert!(!again.delivery.slack_posted);
    assert!(again.delivery.skipped.is_some());
    assert_eq!(posted(&w.sink).len(), 1);
    assert_eq!(w.emulator.sns_messages().await.unwrap().len(), 1);
    assert_eq!(again.calls.of("GetCostAndUsage"), 1, "{}", again.calls.summary());
    assert_eq!(again.calls.of("GetCostForecast"), 0);
    assert_eq!(again.ce_requests_today, 4);
    let (q_start, q_end) = again.ce_query.unwrap();
    assert_eq!(q_start.to_string(), "2026-11-19", "the first Estimated day");
    assert_eq!(q_end.to_string(), "2026-11-22");
    assert!(again.cached_days >= 27, "{}", again.cached_days);
    // The report is built from the ledger's days just the same.
    assert_eq!(again.report.unit.total_cost, run.report.unit.total_cost);
    assert_eq!(again.report.anomalies, run.report.anomalies);
    let _ = &w.month;
}

#[tokio::test]
async fn a_429_then_success_is_one_post_and_warning_tiers_do_not_page() {
    let w = world(vec![SinkResponse::rate_limited(1)], None).await;
    let options = PassOptions::new(&w.spec, as_of()).with_notify(true);
    let run = run_daily(&w.spec, &w.clients, &options).await.unwrap();
    // The seeded month overruns at real prices: a warning tier, not critical.
    assert_eq!(
        run.report.severity(),
        Severity::Warning,
        "{}",
        run.report.headline()
    );
    assert!(matches!(run.decision, AlertDecision::Notify { .. }));
    assert!(run.delivery.slack_posted);
    assert_eq!(run.delivery.slack_attempts, 2);
    // Two HTTP requests, the same body: one post accepted.
    let received = w.sink.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    assert!(run.sns.is_none());
    assert!(w.emulator.sns_messages().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_rejected_post_gives_the_period_back_and_the_next_run_posts() {
    let w = world(vec![SinkResponse::error(400, "invalid_payload")], None).await;
    let options = PassOptions::new(&w.spec, as_of()).with_notify(true);
    let failed = run_daily(&w.spec, &w.clients, &options).await.unwrap();
    assert!(failed.delivery.failed());
    assert!(
        failed.delivery.errors[0].contains("invalid_payload"),
        "{:?}",
        failed.delivery.errors
    );
    assert!(!failed.delivery.errors[0].contains("127.0.0.1"));
    let retried = run_daily(&w.spec, &w.clients, &options).await.unwrap();
    assert!(retried.delivery.slack_posted, "{:?}", retried.delivery);
    assert_eq!(
        retried.decision, failed.decision,
        "the transition was released and sent now"
    );
    assert_eq!(w.sink.received().len(), 2);
}

/// Early in a month the last 7 settled days reach into the previous one: their $/valuation divides those
/// days' cost by those days' valuations — not by the valuations of the month's days only (read from the
/// 1st, a week of cost over a day or two of valuations showed as a drift of several hundred percent).
#[tokio::test]
async fn early_in_a_month_the_last_seven_days_count_their_own_valuations() {
    let as_of = Utc.with_ymd_and_hms(2026, 12, 3, 13, 0, 0).unwrap();
    let w = world_at(vec![], None, as_of).await;
    let run = run_daily(&w.spec, &w.clients, &PassOptions::new(&w.spec, as_of))
        .await
        .unwrap();
    let (start, end) = cost::report::recent_window(as_of.date_naive());
    assert_eq!(
        (start.to_string(), end.to_string()),
        ("2026-11-25".to_owned(), "2026-12-02".to_owned())
    );
    let seeded: u64 = w
        .month
        .days
        .iter()
        .filter(|d| d.date >= start && d.date < end)
        .map(|d| d.valuations)
        .sum();
    let recent = run.report.unit_recent.as_ref().unwrap();
    // The seed rounds each hourly slot of the last days: a few valuations either way.
    assert!(
        recent.valuations.abs_diff(seeded) <= 24,
        "last 7 settled days: {} valuations counted, {seeded} seeded",
        recent.valuations
    );
    // The month so far is one settled day (Dec 1): the 7 days hold several times its valuations.
    assert!(
        recent.valuations > 3 * run.report.unit.valuations,
        "{} vs month {}",
        recent.valuations,
        run.report.unit.valuations
    );
}

#[tokio::test]
async fn the_daily_cap_stops_cost_explorer_and_the_report_uses_the_ledger() {
    let w = world(vec![], None).await;
    let mut spec = w.spec.clone();
    spec.cost.ce_daily_request_cap = 3;
    let options = PassOptions::new(&spec, as_of()).with_ce_day(ce_day());
    let first = run_daily(&spec, &w.clients, &options).await.unwrap();
    assert_eq!(first.ce_requests_today, 3);
    let capped = run_daily(&spec, &w.clients, &options).await.unwrap();
    assert_eq!(capped.calls.cost_explorer(), 0, "{}", capped.calls.summary());
    assert_eq!(capped.ce_requests_today, 3);
    assert!(
        capped
            .report
            .notes
            .iter()
            .any(|n| n.contains("daily cap reached (3 of 3")),
        "{:?}",
        capped.report.notes
    );
    assert_eq!(capped.report.budgets.len(), 1);
    // A dry run never posts.
    assert!(w.sink.received().is_empty());
    assert_eq!(capped.delivery.skipped.as_deref(), Some("dry run (no --post)"));
}
