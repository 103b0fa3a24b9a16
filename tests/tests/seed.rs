//! The demo seed lands in the emulator exactly as generated: what later features read back through the
//! SDK equals the generated month — on whatever day the suite runs. A month seeded as of now, or pinned a
//! few days back, is found by doctor at its own now (CardsValued over the last 24 h, traces in the last 5
//! minutes) and its log events are all accepted; a month pinned beyond CloudWatch Logs' 14-day window
//! (PutLogEvents: "none of the log events in the batch can be more than 14 days in the past") has its log
//! events and traces stamped at the wall clock instead, and says so.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up helpers: failing loudly is the point

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, StateValue};
use aws_smithy_types::DateTime;
use chrono::{Duration, Utc};
use collectiq_ops::seed::{self, DemoMonth, SeedReport};
use collectiq_tests::{TestEnv, WebhookSink, platform};
use governance::doctor::{self, DoctorReport};
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;
use telemetry::catalogue::{MetricName, NAMESPACE};

async fn seeded(
    month_of: impl FnOnce(&PlatformSpec) -> DemoMonth,
) -> (TestEnv, PlatformSpec, DemoMonth, SeedReport) {
    let env = TestEnv::start().await;
    let spec = platform("collectiq-prod.toml");
    let month = month_of(&spec);
    let sink = WebhookSink::start(vec![]).await.unwrap();
    let report = seed::apply(&spec, &month, &env.clients, sink.url())
        .await
        .unwrap();
    (env, spec, month, report)
}

/// The authenticity agent's seeded log events, as FilterLogEvents returns them (epoch ms).
async fn authenticity_log_times(env: &TestEnv, spec: &PlatformSpec) -> Vec<i64> {
    let group = format!(
        "/aws/lambda/{}",
        spec.function("authenticity_agent").unwrap().name
    );
    let out = env
        .clients
        .logs
        .filter_log_events()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    out.events().iter().filter_map(|e| e.timestamp()).collect()
}

fn detail<'a>(report: &'a DoctorReport, call: &str) -> &'a str {
    let check = report.checks.iter().find(|c| c.call == call).unwrap();
    assert!(check.ok, "{report}");
    &check.detail
}

/// The number doctor printed after "= ", which must not be a negative zero.
fn cards_valued(report: &DoctorReport) -> f64 {
    let text = detail(report, "GetMetricData");
    let n = text.rsplit("= ").next().unwrap();
    assert!(!n.starts_with('-'), "{text}");
    n.parse().unwrap()
}

#[tokio::test]
async fn a_month_seeded_as_of_now_is_found_by_doctor_at_now() {
    let now = DateTime::from_secs(Utc::now().timestamp());
    let now = chrono::DateTime::from_timestamp(now.secs(), 0).unwrap();
    let (env, spec, month, report) = seeded(|spec| DemoMonth::generate_at(spec, now)).await;
    assert_eq!(report.logs_and_traces_at, Some(now));
    assert!(!report.logs_and_traces_shifted);

    let doctor = doctor::run_at(&spec, &env.clients, month.now).await;
    // The last 24 h hold the hourly slots of yesterday after this hour and of today before it. Each
    // slot rounds its share of its day to a whole card (half a card at most, 24 slots a day), so
    // the slots of two days can add up to 24 cards more than the days' totals: the bound depends on
    // the hour the test runs at (it failed at 00:0x UTC by 2 cards without the slack).
    let yesterday_and_today: u64 = month.days.iter().rev().take(2).map(|d| d.valuations).sum();
    let rounding = 0.5 * 48.0;
    let seen = cards_valued(&doctor);
    assert!(
        seen > 0.0 && seen <= yesterday_and_today as f64 + rounding,
        "{seen} of ≤ {yesterday_and_today} + {rounding}"
    );
    assert_eq!(
        detail(&doctor, "GetTraceSummaries"),
        "5 traces in the last 5 minutes"
    );
    // The same checks at the wall clock a moment later find the same traces — those still in its
    // 5-minute window: the seed wrote them 240, 203, 166, 129 and 92 s before `now`, and a loaded
    // machine may take a minute or more between `now` and this call (emulator start, seeding).
    let wall = doctor::run(&spec, &env.clients).await;
    let elapsed = (Utc::now() - now).num_seconds();
    let text = detail(&wall, "GetTraceSummaries");
    let found: i64 = text
        .strip_suffix(" traces in the last 5 minutes")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    // A trace `240 - 37 i` s before `now` is in the window while `elapsed` < `60 + 37 i`.
    let still_in = (0..5_i64).filter(|i| elapsed < 60 + 37 * i).count() as i64;
    assert!(
        (still_in..=5).contains(&found),
        "{text} ({elapsed} s after the seed's now: at least {still_in} expected)"
    );

    // Every log event was accepted, in the five minutes before now.
    let times = authenticity_log_times(&env, &spec).await;
    assert_eq!(times.len(), 5, "{times:?}");
    let now_ms = now.timestamp_millis();
    assert!(
        times.iter().all(|t| (now_ms - 300_000..now_ms).contains(t)),
        "{times:?} vs {now_ms}"
    );
}

#[tokio::test]
async fn a_month_pinned_days_ago_reads_back_at_its_own_now_on_a_later_day() {
    // The wall clock is days after the month's now: doctor must read at the month's now, not today's.
    let as_of = Utc::now().date_naive() - Duration::days(3);
    let (env, spec, month, report) = seeded(|spec| DemoMonth::generate(spec, as_of)).await;
    assert_eq!(month.now, seed::pinned_now(as_of));
    assert_eq!(report.logs_and_traces_at, Some(month.now));
    assert!(!report.logs_and_traces_shifted);

    let doctor = doctor::run_at(&spec, &env.clients, month.now).await;
    let seen = cards_valued(&doctor);
    assert!(
        seen > 1_000.0,
        "CardsValued over the 24 h before {}: {seen}",
        month.now
    );
    assert_eq!(
        detail(&doctor, "GetTraceSummaries"),
        "5 traces in the last 5 minutes"
    );
    // At the wall clock, days later, the same month has nothing recent — and says 0, not -0.
    let wall = doctor::run(&spec, &env.clients).await;
    assert_eq!(
        detail(&wall, "GetMetricData"),
        "CardsValued Sum over the last 24 h = 0"
    );
    assert_eq!(
        detail(&wall, "GetTraceSummaries"),
        "0 traces in the last 5 minutes"
    );

    let times = authenticity_log_times(&env, &spec).await;
    assert_eq!(times.len(), 5, "{times:?}");
    let now_ms = month.now.timestamp_millis();
    assert!(
        times.iter().all(|t| (now_ms - 300_000..now_ms).contains(t)),
        "{times:?} vs {now_ms}"
    );
}

#[tokio::test]
async fn a_month_pinned_beyond_the_logs_window_stamps_logs_and_traces_at_the_wall_clock() {
    let as_of = Utc::now().date_naive() - Duration::days(20);
    let before = Utc::now();
    let (env, spec, _month, report) = seeded(|spec| DemoMonth::generate(spec, as_of)).await;
    assert!(report.logs_and_traces_shifted);
    let at = report.logs_and_traces_at.unwrap();
    assert!(at >= before && at <= Utc::now(), "{at}");
    // Accepted, not silently dropped as events 20 days old would be.
    let times = authenticity_log_times(&env, &spec).await;
    assert_eq!(times.len(), 5, "{times:?}");
    let doctor = doctor::run(&spec, &env.clients).await;
    assert_eq!(
        detail(&doctor, "GetTraceSummaries"),
        "5 traces in the last 5 minutes"
    );
}

#[tokio::test]
async fn seeded_month_reads_back_through_the_sdk() {
    // A fixed day: the numbers below are the same on every run. Its log events and traces land at the
    // wall clock once 2026-11-21 is outside CloudWatch Logs' window (from 2026-12-05 on).
    let as_of = "2026-11-21".parse().unwrap();
    let (env, spec, month, report) = seeded(|spec| DemoMonth::generate(spec, as_of)).await;
    assert_eq!(report.alarms, (5, 2));
    assert_eq!(report.log_events, 5 * spec.functions.len());
    assert_eq!(authenticity_log_times(&env, &spec).await.len(), 5);
    assert!(report.metric_datums > 5_000);

    // CardsValued per day, summed by CloudWatch, equals the generated valuations — old days (one datapoint)
    // and the hourly last three days alike.
    let metric = Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(MetricName::CardsValued.as_str())
        .dimensions(
            Dimension::builder()
                .name("service")
                .value(spec.service_name())
                .build(),
        )
        .build();
    let start = month
        .month_start
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    let got = env
        .clients
        .cloudwatch
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("v")
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(86_400)
                        .stat("Sum")
                        .build(),
                )
                .build(),
        )
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(start + 21 * 86_400))
        .send()
        .await
        .unwrap();
    let result = &got.metric_data_results()[0];
    let mut by_day: Vec<(i64, f64)> = result
        .timestamps()
        .iter()
        .map(DateTime::secs)
        .zip(result.values().iter().copied())
        .collect();
    by_day.sort_by_key(|(t, _)| *t);
    let expected: Vec<f64> = month.month_days().map(|d| d.valuations as f64).collect();
    let seen: Vec<f64> = by_day.iter().map(|(_, v)| *v).collect();
    assert_eq!(seen.len(), expected.len());
    for (day, (want, got)) in expected.iter().zip(&seen).enumerate() {
        // Hourly splitting rounds each hour; a day may be off by the rounding of 24 slots at most.
        assert!(
            (want - got).abs() <= 12.0,
            "day {}: want {want}, got {got}",
            day + 1
        );
    }

    // Budgets echo the month-to-date spend.
    let budgets = env
        .clients
        .budgets
        .describe_budgets()
        .account_id("123456789012")
        .send()
        .await
        .unwrap();
    let actual: Decimal = budgets.budgets()[0]
        .calculated_spend()
        .unwrap()
        .actual_spend()
        .unwrap()
        .amount()
        .parse()
        .unwrap();
    assert_eq!(actual, month.budgets[0].actual_usd);

    // Two alarms are firing, and the unmanaged one exists but is not under the prefix.
    let alarms = env
        .clients
        .cloudwatch
        .describe_alarms()
        .state_value(StateValue::Alarm)
        .send()
        .await
        .unwrap();
    assert_eq!(alarms.metric_alarms().len(), 2);
    let all = env.clients.cloudwatch.describe_alarms().send().await.unwrap();
    assert!(
        all.metric_alarms()
            .iter()
            .any(|a| !a.alarm_name().unwrap().starts_with("collectiq-prod-"))
    );

    // Cost Explorer: both pages come back in order, joined by the page token, covering every day.
    env.emulator
        .inject_cost_and_usage(&seed::cost_explorer_pages(&month))
        .await
        .unwrap();
    let ce = &env.clients.cost_explorer;
    let period = aws_sdk_costexplorer::types::DateInterval::builder()
        .start(month.days[0].date.to_string())
        .end(as_of.succ_opt().unwrap().to_string())
        .build()
        .unwrap();
    let first = ce
        .get_cost_and_usage()
        .time_period(period.clone())
        .granularity(aws_sdk_costexplorer::types::Granularity::Daily)
        .metrics("UnblendedCost")
        .send()
        .await
        .unwrap();
    let token = first
        .next_page_token()
        .expect("first page links to the second")
        .to_owned();
    let second = ce
        .get_cost_and_usage()
        .time_period(period)
        .granularity(aws_sdk_costexplorer::types::Granularity::Daily)
        .metrics("UnblendedCost")
        .next_page_token(token)
        .send()
        .await
        .unwrap();
    assert!(second.next_page_token().is_none());
    let days = first.results_by_time().len() + second.results_by_time().len();
    assert_eq!(days, month.days.len());
    let billed: Decimal = first
        .results_by_time()
        .iter()
        .chain(second.results_by_time())
        .filter(|r| r.time_period().unwrap().start() >= month.month_start.to_string().as_str())
        .flat_map(|r| r.groups())
        .map(|g| {
            g.metrics().unwrap()["UnblendedCost"]
                .amount()
                .unwrap()
                .parse::<Decimal>()
                .unwrap()
        })
        .sum();
    let generated: Decimal = month.month_to_date_by_service().iter().map(|(_, v)| *v).sum();
    assert_eq!(billed.round_dp(4), generated.round_dp(4));
}
