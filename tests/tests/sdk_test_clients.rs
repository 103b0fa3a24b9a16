//! Calls moto does not implement — DescribeAlarms paging, composite alarms, alarm history, cost forecast —
//! are tested with SDK test clients (aws-smithy-mocks): the real client serializes the request and
//! deserializes the modeled output, without a server.

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_smithy_mocks::{RuleMode, mock, mock_client};

#[tokio::test]
async fn describe_alarms_pages_are_all_read() {
    let page = |names: &[&str], next: Option<&str>| {
        let alarms: Vec<MetricAlarm> = names
            .iter()
            .map(|n| MetricAlarm::builder().alarm_name(*n).build())
            .collect();
        DescribeAlarmsOutput::builder()
            .set_metric_alarms(Some(alarms))
            .set_next_token(next.map(str::to_owned))
            .build()
    };
    let first = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || page(&["a", "b"], Some("t2")));
    let second = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.next_token() == Some("t2"))
        .then_output(move || page(&["c"], None));
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&first, &second]);
    let pages: Vec<_> = client
        .describe_alarms()
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    let names: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().metric_alarms().to_vec())
        .map(|a| a.alarm_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(first.num_calls(), 1);
    assert_eq!(second.num_calls(), 1);
}

#[tokio::test]
async fn composite_alarm_request_carries_the_rule_and_suppressor() {
    let put = mock!(aws_sdk_cloudwatch::Client::put_composite_alarm)
        .match_requests(|r| {
            r.alarm_rule() == Some("ALARM(\"a\") OR ALARM(\"b\")")
                && r.actions_suppressor() == Some("maintenance")
        })
        .then_output(|| {
            aws_sdk_cloudwatch::operation::put_composite_alarm::PutCompositeAlarmOutput::builder().build()
        });
    let client = mock_client!(aws_sdk_cloudwatch, &[&put]);
    client
        .put_composite_alarm()
        .alarm_name("collectiq-prod-valuation-critical")
        .alarm_rule("ALARM(\"a\") OR ALARM(\"b\")")
        .actions_suppressor("maintenance")
        .actions_suppressor_wait_period(120)
        .actions_suppressor_extension_period(60)
        .send()
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn cost_forecast_with_prediction_interval_is_parsed() {
    use aws_sdk_costexplorer::operation::get_cost_forecast::GetCostForecastOutput;
    use aws_sdk_costexplorer::types::{ForecastResult, MetricValue};
    let forecast = mock!(aws_sdk_costexplorer::Client::get_cost_forecast)
        .match_requests(|r| r.prediction_interval_level() == Some(80))
        .then_output(|| {
            GetCostForecastOutput::builder()
                .total(MetricValue::builder().amount("521.104").unit("USD").build())
                .forecast_results_by_time(
                    ForecastResult::builder()
                        .mean_value("521.104")
                        .prediction_interval_lower_bound("480.2")
                        .prediction_interval_upper_bound("560.9")
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_costexplorer, &[&forecast]);
    let out = client
        .get_cost_forecast()
        .time_period(
            aws_sdk_costexplorer::types::DateInterval::builder()
                .start("2026-11-22")
                .end("2026-12-01")
                .build()
                .unwrap(),
        )
        .metric(aws_sdk_costexplorer::types::Metric::UnblendedCost)
        .granularity(aws_sdk_costexplorer::types::Granularity::Monthly)
        .prediction_interval_level(80)
        .send()
        .await
        .unwrap();
    assert_eq!(out.total().unwrap().amount(), Some("521.104"));
    assert_eq!(
        out.forecast_results_by_time()[0].prediction_interval_upper_bound(),
        Some("560.9")
    );
}
