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
use governance::publish::alarms::{ApplyOptions, TagAudit, apply, desired_catalogue, plan, plan_with};
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
            ..ApplyOptions::default()
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
    // DeleteAlarms takes at most one composite a call: the composite goes alone, first, then the
    // metric alarm it referenced.
    let delete = mock!(aws_sdk_cloudwatch::Client::delete_alarms)
        .match_requests(|r| r.alarm_names() == ["collectiq-prod-old-failures-critical".to_owned()])
        .then_output(|| DeleteAlarmsOutput::builder().build());
    let delete_metric = mock!(aws_sdk_cloudwatch::Client::delete_alarms)
        .match_requests(|r| r.alarm_names() == ["collectiq-prod-old-signal-critical".to_owned()])
        .then_output(|| DeleteAlarmsOutput::builder().build());
    // Both orphans carry the catalogue's tags for collectiq-prod: they are this environment's.
    let tags = mock!(aws_sdk_cloudwatch::Client::list_tags_for_resource).then_output(|| {
        aws_sdk_cloudwatch::operation::list_tags_for_resource::ListTagsForResourceOutput::builder()
            .tags(cw::Tag::builder().key("ManagedBy").value("collectiq-ops").build())
            .tags(cw::Tag::builder().key("Platform").value("collectiq-prod").build())
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        &[&list, &delete, &delete_metric, &tags]
    );
    // No unchanged alarm's tags checked this run (TagAudit): the reads are the orphans'.
    let audit = TagAudit { per_run: 0, turn: 0 };
    let planning = plan_with(&client, &cat, "collectiq-prod", audit).await.unwrap();
    assert_eq!(planning.plan.count(AlarmAction::Unchanged), 1);
    assert_eq!(
        tags.num_calls(),
        2,
        "tags read for the two orphan candidates only"
    );
    let report = apply(&client, &planning.plan, ApplyOptions::default(), &NoProgress).await;
    assert!(report.ok(), "{}", report.render_text("alarms"));
    assert_eq!(report.write_calls, 2);
    assert_eq!((delete.num_calls(), delete_metric.num_calls()), (1, 1));
    assert_eq!(
        report.deleted,
        [
            "collectiq-prod-old-failures-critical",
            "collectiq-prod-old-signal-critical"
        ]
    );
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
            ..ApplyOptions::default()
        },
        &NoProgress,
    )
    .await;
    assert!(report.ok(), "{}", report.render_text("alarms"));
    assert_eq!(report.write_calls, 1);
    assert_eq!(throttled.num_calls(), 2);
}

/// DescribeAlarms that hands back an earlier token two pages later (t1 → t2 → t1): the loop stops with
/// an error naming the operation instead of cycling forever (only an immediate repeat was caught).
#[tokio::test]
async fn a_token_repeated_pages_later_is_an_error_not_a_loop() {
    let page = |token: Option<&'static str>, next: &'static str| {
        mock!(aws_sdk_cloudwatch::Client::describe_alarms)
            .match_requests(move |r| r.next_token() == token)
            .then_output(move || DescribeAlarmsOutput::builder().next_token(next).build())
    };
    let (first, second, third) = (page(None, "t1"), page(Some("t1"), "t2"), page(Some("t2"), "t1"));
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&first, &second, &third]);
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), describe_all_alarms(&client))
        .await
        .expect("the paging loop must stop by itself");
    let err = read.unwrap_err();
    assert_eq!(err.operation, "DescribeAlarms");
    assert!(err.message.contains("already followed"), "{err}");
    assert_eq!(first.num_calls() + second.num_calls() + third.num_calls(), 3);
}

/// A service that never stops handing out new tokens: the loop stops at the page cap with an error
/// naming the operation, never returning the pages read as if they were all.
#[tokio::test]
async fn endless_pages_stop_at_the_cap_with_an_error() {
    use governance::publish::cloudwatch::{MAX_PAGES, list_all_dashboards};
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = n.clone();
    let endless = mock!(aws_sdk_cloudwatch::Client::list_dashboards).then_output(move || {
        let i = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        aws_sdk_cloudwatch::operation::list_dashboards::ListDashboardsOutput::builder()
            .dashboard_entries(
                cw::DashboardEntry::builder()
                    .dashboard_name(format!("d{i}"))
                    .build(),
            )
            .next_token(format!("t{i}"))
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&endless]);
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), list_all_dashboards(&client))
        .await
        .expect("the paging loop must stop by itself");
    let err = read.unwrap_err();
    assert_eq!(err.operation, "ListDashboards");
    assert!(
        err.message.contains(&format!("more than {MAX_PAGES} pages")),
        "{err}"
    );
    assert_eq!(n.load(std::sync::atomic::Ordering::SeqCst), MAX_PAGES);
}

mod cost_explorer_attempts {
    //! Every Cost Explorer attempt counts against the daily cap and in the footer: the SDK's retries
    //! are billed requests ($0.01 each). A real Cost Explorer client with standard retries (3
    //! attempts), its answers scripted, the run's counter attached as the interceptor.
    use super::*;
    use aws_sdk_costexplorer::operation::get_cost_and_usage::{GetCostAndUsageError, GetCostAndUsageOutput};
    use aws_smithy_types::error::ErrorMetadata;
    use governance::cost_pass::counting::RequestCounter;
    use governance::cost_pass::read::{CeQuota, ReadError};
    use governance::ledger::{LedgerStore, MemoryLedger};

    fn throttled() -> GetCostAndUsageError {
        GetCostAndUsageError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        )
    }

    /// Two throttles, then the answer: the client retries twice.
    fn client(counter: &RequestCounter) -> (aws_sdk_costexplorer::Client, aws_smithy_mocks::Rule) {
        let rule = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .sequence()
            .error(throttled)
            .error(throttled)
            .output(|| GetCostAndUsageOutput::builder().build())
            .build();
        let c = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, &[&rule], |c| c
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(std::time::Duration::from_millis(1))
            )
            .interceptor(counter.clone()));
        (c, rule)
    }

    fn quota(ledger: &MemoryLedger, cap: u32) -> CeQuota<'_, MemoryLedger> {
        CeQuota {
            ledger,
            pk: "collectiq-prod#ce-requests".into(),
            day: "2026-11-21".into(),
            cap,
        }
    }

    #[tokio::test]
    async fn three_attempts_are_three_requests_in_the_ledger_and_the_footer() {
        let ledger = MemoryLedger::new();
        let counter = RequestCounter::new();
        let (ce, rule) = client(&counter);
        let q = quota(&ledger, 5);
        let out = counter
            .ce_request(&q, || ce.get_cost_and_usage().send())
            .await
            .unwrap();
        assert!(out.is_ok(), "{out:?}");
        assert_eq!(rule.num_calls(), 3);
        assert_eq!(counter.snapshot().cost_explorer(), 3);
        assert_eq!(q.used().await.unwrap(), 3, "the ledger counts every attempt");
    }

    /// Cap 2: the first attempt and one retry fit; the third attempt is refused before the wire, the
    /// request fails as "cap reached", and the count is exactly the cap.
    #[tokio::test]
    async fn retries_beyond_the_cap_are_not_sent() {
        let ledger = MemoryLedger::new();
        let counter = RequestCounter::new();
        let (ce, rule) = client(&counter);
        let q = quota(&ledger, 2);
        let err = counter
            .ce_request(&q, || ce.get_cost_and_usage().send())
            .await
            .unwrap_err();
        assert!(matches!(err, ReadError::CapReached { used: 2, cap: 2 }), "{err}");
        // The mock answers at serialization, before the gate; what went on the wire is what the
        // interceptor let through: two attempts.
        assert_eq!(
            counter.snapshot().cost_explorer(),
            2,
            "the third attempt never went out"
        );
        assert_eq!(q.used().await.unwrap(), 2);
        // The day is spent: the next request is not even started.
        let before = rule.num_calls();
        let again = counter.ce_request(&q, || ce.get_cost_and_usage().send()).await;
        assert!(matches!(again, Err(ReadError::CapReached { .. })));
        assert_eq!(rule.num_calls(), before);
        assert_eq!(counter.snapshot().cost_explorer(), 2);
    }

    /// A cap of 0 means none: no request, no ledger write.
    #[tokio::test]
    async fn cap_zero_sends_nothing() {
        let ledger = MemoryLedger::new();
        let counter = RequestCounter::new();
        let (ce, rule) = client(&counter);
        let q = quota(&ledger, 0);
        let r = counter.ce_request(&q, || ce.get_cost_and_usage().send()).await;
        assert!(matches!(r, Err(ReadError::CapReached { used: 0, cap: 0 })));
        assert_eq!(rule.num_calls(), 0);
        assert_eq!(ledger.counter(&q.pk, &q.day).await.unwrap(), 0);
    }
}
