//! What moto cannot do, tested with SDK test clients (aws-smithy-mocks): the real client serializes our
//! requests and deserializes modeled outputs, without a server. Composite alarms (written after the
//! metric alarms they reference, with rule and suppressor), DescribeAlarms paging with both alarm kinds,
//! and a throttled write retried by the SDK's RetryConfig.

#![allow(clippy::unwrap_used)] // set-up helpers of a test binary

use alarms::Alarm;
use alarms::composite::{AlarmRule, CompositeAlarm};
use alarms::plan::AlarmAction;
use aws_sdk_cloudwatch::operation::delete_alarms::DeleteAlarmsOutput;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::operation::put_composite_alarm::PutCompositeAlarmOutput;
use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmOutput;
use aws_sdk_cloudwatch::types as cw;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use governance::publish::NoProgress;
use governance::publish::alarms::{ApplyOptions, apply, desired_catalogue, plan};
use governance::publish::cloudwatch::describe_all_alarms;

fn spec() -> platform_spec::PlatformSpec {
    platform_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
    )
    .unwrap()
}

#[tokio::test]
async fn describe_alarms_pages_of_both_kinds_are_all_read() {
    let metric = |n: &str| {
        cw::MetricAlarm::builder()
            .alarm_name(n)
            .evaluation_periods(1)
            .build()
    };
    let first = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| {
            r.next_token().is_none()
                && r.max_records() == Some(100)
                && r.alarm_types().contains(&cw::AlarmType::CompositeAlarm)
        })
        .then_output(move || {
            DescribeAlarmsOutput::builder()
                .metric_alarms(metric("p-a-x-critical"))
                .metric_alarms(metric("p-b-x-critical"))
                .next_token("t2")
                .build()
        });
    let second = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .match_requests(|r| r.next_token() == Some("t2"))
        .then_output(move || {
            DescribeAlarmsOutput::builder()
                .composite_alarms(
                    cw::CompositeAlarm::builder()
                        .alarm_name("p-c-critical")
                        .alarm_rule("ALARM(\"p-a-x-critical\")")
                        .state_value(cw::StateValue::Alarm)
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&first, &second]);
    let all = describe_all_alarms(&client).await.unwrap();
    let names: Vec<&str> = all.iter().map(|a| a.alarm.name()).collect();
    assert_eq!(names, ["p-a-x-critical", "p-b-x-critical", "p-c-critical"]);
    assert!(matches!(all[2].alarm, Alarm::Composite(_)));
    assert_eq!(all[2].status.state, alarms::state::StateValue::Alarm);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn composites_are_put_after_their_children_with_rule_and_suppressor() {
    let spec = spec();
    let mut cat = desired_catalogue(&spec).unwrap();
    // Keep one composite and its two children, and give the composite a suppressor.
    let composite_name = "collectiq-prod-valuation-failures-critical";
    cat.alarms
        .retain(|d| d.name().starts_with("collectiq-prod-valuation-fail"));
    assert_eq!(cat.alarms.len(), 3);
    for d in &mut cat.alarms {
        if let Alarm::Composite(c) = &mut d.alarm {
            *c = CompositeAlarm::new(
                composite_name,
                AlarmRule::alarm("collectiq-prod-valuation-failed-executions-critical")
                    .or(AlarmRule::alarm("collectiq-prod-valuation-failure-rate-critical")),
            )
            .with_actions_suppressor("collectiq-prod-maintenance-window", 60, 60)
            .with_alarm_actions(c.alarm_actions.clone())
            .with_tags(c.tags.clone())
            .build()
            .unwrap();
        }
    }
    let list = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let put_metric = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
        .match_requests(|r| {
            r.alarm_name()
                .is_some_and(|n| n.starts_with("collectiq-prod-valuation-fail"))
        })
        .sequence()
        .output(|| PutMetricAlarmOutput::builder().build())
        .times(2)
        .build();
    let put_composite = mock!(aws_sdk_cloudwatch::Client::put_composite_alarm)
        .match_requests(|r| {
            r.alarm_name() == Some(composite_name)
                && r.alarm_rule()
                    == Some(
                        "ALARM(\"collectiq-prod-valuation-failed-executions-critical\") OR ALARM(\"collectiq-prod-valuation-failure-rate-critical\")",
                    )
                && r.actions_suppressor() == Some("collectiq-prod-maintenance-window")
                && r.actions_suppressor_wait_period() == Some(60)
                && r.actions_suppressor_extension_period() == Some(60)
                && r.alarm_actions().len() == 1
                && r.tags().iter().any(|t| t.key() == Some("ManagedBy"))
        })
        .then_output(|| PutCompositeAlarmOutput::builder().build());
    // Sequential: the describe, two metric puts, then the composite — any other order fails.
    let client = mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        &[&list, &put_metric, &put_composite]
    );
    let planning = plan(&client, &cat, "collectiq-prod").await.unwrap();
    assert_eq!(planning.plan.count(AlarmAction::Create), 3);
    let report = apply(
        &client,
        &planning.plan,
        ApplyOptions {
            writes_per_second: 0.0,
        },
        &NoProgress,
    )
    .await;
    assert!(report.ok(), "{}", report.render_text("alarms"));
    assert_eq!(report.created.last().map(String::as_str), Some(composite_name));
    assert_eq!(put_metric.num_calls(), 2);
    assert_eq!(put_composite.num_calls(), 1);
}

#[tokio::test]
async fn composite_read_back_compares_unchanged_and_orphan_composites_are_deleted_first() {
    let spec = spec();
    let mut cat = desired_catalogue(&spec).unwrap();
    cat.alarms
        .retain(|d| d.name().starts_with("collectiq-prod-valuation-failures"));
    let Alarm::Composite(c) = cat.alarms[0].alarm.clone() else {
        panic!()
    };
    let list = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(move || {
        DescribeAlarmsOutput::builder()
            .composite_alarms(
                cw::CompositeAlarm::builder()
                    .alarm_name(&c.alarm_name)
                    .set_alarm_description(c.alarm_description.clone())
                    .alarm_rule(&c.alarm_rule)
                    .set_alarm_actions(Some(c.alarm_actions.clone()))
                    .set_ok_actions(Some(c.ok_actions.clone()))
                    .actions_enabled(true)
                    .build(),
            )
            .composite_alarms(
                cw::CompositeAlarm::builder()
                    .alarm_name("collectiq-prod-old-failures-critical")
                    .alarm_rule("ALARM(\"collectiq-prod-old-signal-critical\")")
                    .build(),
            )
            .metric_alarms(
                cw::MetricAlarm::builder()
                    .alarm_name("collectiq-prod-old-signal-critical")
                    .evaluation_periods(1)
                    .build(),
            )
            .build()
    });
    let delete = mock!(aws_sdk_cloudwatch::Client::delete_alarms)
        .match_requests(|r| {
            r.alarm_names()
                == [
                    "collectiq-prod-old-failures-critical".to_owned(),
                    "collectiq-prod-old-signal-critical".to_owned(),
                ]
        })
        .then_output(|| DeleteAlarmsOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&list, &delete]);
    let planning = plan(&client, &cat, "collectiq-prod").await.unwrap();
    assert_eq!(planning.plan.count(AlarmAction::Unchanged), 1);
    let report = apply(&client, &planning.plan, ApplyOptions::default(), &NoProgress).await;
    assert!(report.ok(), "{}", report.render_text("alarms"));
    assert_eq!(report.write_calls, 1);
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn throttled_write_is_retried_by_the_sdk_and_counts_once() {
    use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmError;
    use aws_smithy_types::error::ErrorMetadata;
    let spec = spec();
    let mut cat = desired_catalogue(&spec).unwrap();
    cat.alarms.truncate(1);
    let list = mock!(aws_sdk_cloudwatch::Client::describe_alarms)
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let throttled = mock!(aws_sdk_cloudwatch::Client::put_metric_alarm)
        .sequence()
        .error(|| {
            PutMetricAlarmError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| PutMetricAlarmOutput::builder().build())
        .build();
    let client = mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        &[&list, &throttled],
        |c| c.retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(1))
        )
    );
    let planning = plan(&client, &cat, "collectiq-prod").await.unwrap();
    let report = apply(
        &client,
        &planning.plan,
        ApplyOptions {
            writes_per_second: 0.0,
        },
        &NoProgress,
    )
    .await;
    assert!(report.ok(), "{}", report.render_text("alarms"));
    assert_eq!(report.write_calls, 1);
    assert_eq!(throttled.num_calls(), 2);
}
