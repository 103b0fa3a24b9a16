//! Chaos test of the hourly fast-burn check (governance/src/cost_pass, `run_fast_burn`): a runaway agent
//! (1M Sonnet input tokens every 5 minutes for an hour) makes a fault-free run page once on SNS and post
//! once to Slack, without Cost Explorer. Under 20 % injected faults the ledger, the post and the page
//! must end as the fault-free run leaves them. Fast versions in the suite; the full one is `#[ignore]`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up: failing loudly is the point

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Duration, TimeZone, Utc};
use collectiq_ops::seed::{self, DemoMonth};
use collectiq_tests::faults::chaos::{ChaosWorld, Experiment, Setting, runs_from_env};
use governance::aws::AwsClients;
use governance::cost_pass::{PassOptions, run_fast_burn};
use platform_spec::PlatformSpec;

fn spec() -> PlatformSpec {
    collectiq_tests::platform("collectiq-prod.toml")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

async fn setup(world: &ChaosWorld) {
    let spec = spec();
    let month = DemoMonth::generate(&spec, now().date_naive());
    seed::apply(&spec, &month, &world.direct, &world.webhook_url())
        .await
        .unwrap();
    let model = &spec.bedrock_models[0].id;
    let datums: Vec<MetricDatum> = (1..=12)
        .map(|k| {
            MetricDatum::builder()
                .metric_name("InputTokenCount")
                .dimensions(Dimension::builder().name("ModelId").value(model).build())
                .timestamp(SmithyTime::from_secs(
                    (now() - Duration::minutes(5 * k)).timestamp(),
                ))
                .unit(StandardUnit::Count)
                .value(1e6)
                .build()
        })
        .collect();
    world
        .direct
        .cloudwatch
        .put_metric_data()
        .namespace("AWS/Bedrock")
        .set_metric_data(Some(datums))
        .send()
        .await
        .unwrap();
}

async fn fast_burn(clients: &AwsClients) -> Result<(), String> {
    let spec = spec();
    let options = PassOptions::new(&spec, now()).with_notify(true);
    let run = run_fast_burn(&spec, clients, &options)
        .await
        .map_err(|e| e.to_string())?;
    if run.delivery.failed() {
        return Err(format!("delivery failed: {:?}", run.delivery));
    }
    Ok(())
}

async fn experiment(setting: Setting, runs: u32, seed: u64) {
    let spec = spec();
    let (figures, worlds) = Experiment::new("fast-burn", setting, runs, seed, &spec.ledger.table)
        .run(setup, fast_burn)
        .await;
    assert!(figures.counts.faults() > 0, "{}", figures.counts.summary());
    assert_eq!(figures.posts.0, 1, "{}", figures.render());
    assert_eq!(figures.sns.0, 1, "{}", figures.render());
    for w in &worlds {
        assert_eq!(w.sent("GetCostAndUsage") + w.sent("GetCostForecast"), 0);
    }
    assert_eq!(figures.equal, figures.comparisons, "{}", figures.render());
}

#[tokio::test(flavor = "multi_thread")]
async fn fast_burn_under_faults_with_standard_retries_pages_exactly_once() {
    // Only ~7 calls per run: two runs, so that faults are certain to land.
    experiment(Setting::StandardRetries, 2, 1402).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fast_burn_under_lost_answers_pages_exactly_once_after_a_clean_rerun() {
    experiment(Setting::OneAttemptLostAnswers, 1, 2401).await;
}

/// `CHAOS_RUNS` (default 10) runs per setting.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "long chaos run: see docs/reliability.md"]
async fn fast_burn_chaos_full() {
    let runs = runs_from_env(10);
    experiment(Setting::StandardRetries, runs, 11_400).await;
    experiment(Setting::OneAttemptLostAnswers, runs, 21_400).await;
}
