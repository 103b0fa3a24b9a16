//! The hourly burn check against the emulator: Bedrock token metrics only (no Cost Explorer request), a
//! page goes to SNS and Slack once per day, and the Lambda handler returns the same.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up helpers: failing loudly is the point

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{Duration, TimeZone, Utc};
use collectiq_ops::seed::{self, DemoMonth};
use collectiq_tests::Emulator;
use collectiq_tests::WebhookSink;
use cost::fastburn::FastBurnAlert;
use governance::cost_pass::lambda::{Deps, JobRequest, cost_handler};
use governance::cost_pass::{PassOptions, run_fast_burn};

#[tokio::test]
async fn a_token_spike_pages_once_without_cost_explorer() {
    let emulator = Emulator::start().await.unwrap();
    let clients = emulator.clients().await;
    let sink = WebhookSink::start(vec![]).await.unwrap();
    let spec = platform_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
    )
    .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    let month = DemoMonth::generate(&spec, now.date_naive());
    seed::apply(&spec, &month, &clients, sink.url()).await.unwrap();

    // A runaway agent: 1M Sonnet input tokens ($3) every 5 minutes for the last hour of settled
    // periods (the windows end at `complete_until`) = $36/h against a $500 month ($0.69/h): a 52x burn.
    let model = &spec.bedrock_models[0].id;
    let until = cost::fastburn::complete_until(now);
    let datums: Vec<MetricDatum> = (1..=12)
        .map(|k| {
            MetricDatum::builder()
                .metric_name("InputTokenCount")
                .dimensions(Dimension::builder().name("ModelId").value(model).build())
                .timestamp(SmithyTime::from_secs(
                    (until - Duration::minutes(5 * k)).timestamp(),
                ))
                .unit(StandardUnit::Count)
                .value(1e6)
                .build()
        })
        .collect();
    clients
        .cloudwatch
        .put_metric_data()
        .namespace("AWS/Bedrock")
        .set_metric_data(Some(datums))
        .send()
        .await
        .unwrap();

    let options = PassOptions::new(&spec, now).with_notify(true);
    let run = run_fast_burn(&spec, &clients, &options).await.unwrap();
    assert_eq!(
        run.burn.alert,
        Some(FastBurnAlert::PageFast),
        "{:?}",
        run.burn.windows
    );
    assert!(run.burn.rate(cost::fastburn::Window::H1) > rust_decimal::Decimal::from(50));
    assert_eq!(run.calls.cost_explorer(), 0, "{}", run.calls.summary());
    assert_eq!(run.calls.of("GetMetricData"), 1);
    assert!(run.delivery.slack_posted, "{:?}", run.delivery);
    let sns = emulator.sns_messages().await.unwrap();
    assert_eq!(sns.len(), 1);
    assert!(
        sns[0]
            .subject
            .as_deref()
            .unwrap()
            .starts_with("CRITICAL CollectIQ prod Bedrock burn"),
        "{:?}",
        sns[0].subject
    );
    assert!(sns[0].message.contains("2% of the month's budget in one hour"));
    let posts = sink.received();
    assert_eq!(posts.len(), 1);
    let msg: cost::slack::SlackMessage = serde_json::from_str(&posts[0].body).unwrap();
    assert!(msg.text.contains("PAGE: fast burn"), "{}", msg.text);

    // A platform in the same account that names no Bedrock model (Backoffice dev beside CollectIQ dev)
    // calls none: the spike is not its spend, and its check never pages for it.
    let mut no_bedrock = spec.clone();
    no_bedrock.bedrock_models.clear();
    let other = run_fast_burn(&no_bedrock, &clients, &PassOptions::new(&no_bedrock, now))
        .await
        .unwrap();
    assert_eq!(other.burn.alert, None, "{:?}", other.burn.windows);
    assert_eq!(
        other.burn.rate(cost::fastburn::Window::H1),
        rust_decimal::Decimal::ZERO
    );

    // The same alert again within the day: nothing new.
    let again = run_fast_burn(&spec, &clients, &options).await.unwrap();
    assert_eq!(again.burn.alert, Some(FastBurnAlert::PageFast));
    assert!(!again.delivery.slack_posted);
    assert_eq!(sink.received().len(), 1);
    assert_eq!(emulator.sns_messages().await.unwrap().len(), 1);

    // The Lambda handler: an unknown job is a Validation error; a dry-run report works end to end.
    let deps = Deps::new(spec.clone(), clients.clone());
    let bad = cost_handler(
        lambda_runtime::LambdaEvent::new(
            JobRequest {
                job: Some("dashboards".into()),
                ..JobRequest::default()
            },
            lambda_runtime::Context::default(),
        ),
        &deps,
    )
    .await
    .unwrap_err();
    assert_eq!(bad.error_type(), "Validation");
    emulator
        .inject_cost_and_usage(&seed::cost_explorer_pages(&month))
        .await
        .unwrap();
    let ok = cost_handler(
        lambda_runtime::LambdaEvent::new(
            JobRequest {
                job: Some("cost_report".into()),
                date: Some(now.date_naive()),
                dry_run: true,
            },
            lambda_runtime::Context::default(),
        ),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(ok.job, "cost_report");
    assert!(ok.summary.starts_with("CollectIQ prod: $"), "{}", ok.summary);
    assert!(!ok.slack_posted);
    // The usage pages only: the test's pinned day (2026-11-21) is a past day whenever the suite runs, and a
    // past day's report asks for no forecast (it would be made from today) — the dry run it must be.
    assert_eq!(ok.ce_requests, 2, "{ok:?}");

    // The daily run left Cost Explorer's days in the ledger (DynamoDB): the burn check's 3 d window is
    // now their totals, still without a Cost Explorer request — the three days before the 20th, which
    // the run read the morning after, `Estimated` (CE books a day up to 24 h late: half-booked, left
    // out until read again); flagged because the 19th is `Estimated` too.
    let d = |n| chrono::NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    let with_ce = run_fast_burn(&spec, &clients, &options).await.unwrap();
    assert_eq!(
        with_ce.burn.long_window,
        cost::fastburn::LongWindow::CostExplorer {
            days: vec![d(17), d(18), d(19)],
            includes_estimated: true
        },
        "{:?}",
        with_ce.burn.windows
    );
    let seeded: rust_decimal::Decimal = month
        .days
        .iter()
        .filter(|day| (d(17)..=d(19)).contains(&day.date))
        .map(|day| day.total_usd())
        .sum();
    assert_eq!(with_ce.burn.windows[4].cost.round_dp(2), seeded.round_dp(2));
    assert_eq!(with_ce.calls.cost_explorer(), 0, "{}", with_ce.calls.summary());
}
