//! The demo seed lands in the emulator exactly as generated: what later features read back through the
//! SDK equals the generated month.

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, StateValue};
use aws_smithy_types::DateTime;
use collectiq_ops::seed::{self, DemoMonth};
use collectiq_tests::{TestEnv, WebhookSink, platform};
use rust_decimal::Decimal;
use telemetry::catalogue::{MetricName, NAMESPACE};

#[tokio::test]
async fn seeded_month_reads_back_through_the_sdk() {
    let env = TestEnv::start().await;
    let spec = platform("collectiq-prod.toml");
    let as_of = "2026-11-21".parse().unwrap();
    let month = DemoMonth::generate(&spec, as_of);
    let sink = WebhookSink::start(vec![]).await.unwrap();
    let report = seed::apply(&spec, &month, &env.clients, sink.url())
        .await
        .unwrap();
    assert_eq!(report.alarms, (5, 2));
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
