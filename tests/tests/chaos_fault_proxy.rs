//! The fault proxy itself, against the real emulator and the real SDK clients: each protocol's
//! throttling error is read by the SDK as that service's throttling code (and retried by standard
//! mode), 500/503 carry their status, a reset or a hang fails the attempt without applying the call, a
//! lost answer fails it after the emulator applied it, and the same seed injects the same faults.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up: failing loudly is the point

use std::time::{Duration, Instant};

use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use collectiq_tests::faults::chaos::{ChaosWorld, Setting};
use collectiq_tests::faults::{FaultKind, FaultPlan};

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    match e {
        SdkError::ServiceError(s) => s.err().code().map(str::to_owned),
        _ => None,
    }
}

fn always(kind: FaultKind, ops: &[&str]) -> FaultPlan {
    FaultPlan::new(1, 1.0, &[(kind, 1)]).only(ops.iter().copied())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_protocol_throttles_in_its_own_shape_and_standard_retries_get_through() {
    let world = ChaosWorld::start().await;
    let one = world.clients(Setting::OneAttemptLostAnswers).await;
    world.set_faults(&always(
        FaultKind::Throttle,
        &[
            "ListDashboards",
            "ListTables",
            "ListTopics",
            "DescribeBudgets",
            "GetCostAndUsage",
            "PutTraceSegments",
            "ListSecrets",
        ],
    ));
    // Smithy RPC v2 CBOR (CloudWatch): the awsQuery-compatible code from x-amzn-query-error.
    let e = one.cloudwatch.list_dashboards().send().await.unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("Throttling"), "{e:?}");
    // awsJson 1.0 (DynamoDB) and 1.1 (Budgets, Cost Explorer, Secrets Manager).
    let e = one.dynamodb.list_tables().send().await.unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ThrottlingException"), "{e:?}");
    let e = one
        .budgets
        .describe_budgets()
        .account_id("123456789012")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ThrottlingException"), "{e:?}");
    let e = one.secrets.list_secrets().send().await.unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ThrottlingException"), "{e:?}");
    // awsQuery (SNS): the XML ErrorResponse's code.
    let e = one.sns.list_topics().send().await.unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("Throttling"), "{e:?}");
    // restJson (X-Ray): x-amzn-ErrorType with HTTP 429.
    let e = one
        .xray
        .put_trace_segments()
        .trace_segment_documents("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).as_deref(), Some("ThrottledException"), "{e:?}");
    let counts = world.take_counts();
    assert_eq!(counts.of_kind(FaultKind::Throttle), 6, "{}", counts.summary());
    assert_eq!(counts.operations["ListDashboards"].forwarded, 0);

    // Standard retries: at most two faults in a row per operation, so the third attempt gets through —
    // which proves the SDK classified every shape as retryable.
    let mut plan = FaultPlan::new(1, 1.0, &[(FaultKind::Throttle, 1)]).with_max_consecutive(2);
    plan.operations = None;
    world.set_faults(&plan);
    let retrying = world.clients(Setting::StandardRetries).await;
    retrying.cloudwatch.list_dashboards().send().await.unwrap();
    retrying.dynamodb.list_tables().send().await.unwrap();
    retrying.sns.list_topics().send().await.unwrap();
    retrying
        .xray
        .put_trace_segments()
        .trace_segment_documents(
            r#"{"name":"x","id":"70de5b6f19ff9a0a","trace_id":"1-581cf771-a006649127e371903a2de979","start_time":1.0,"end_time":2.0}"#,
        )
        .send()
        .await
        .unwrap();
    let counts = world.take_counts();
    for op in ["ListDashboards", "ListTables", "ListTopics", "PutTraceSegments"] {
        let c = &counts.operations[op];
        assert_eq!(
            (c.calls, c.faults(), c.forwarded),
            (3, 2, 1),
            "{op}: {}",
            counts.summary()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_resets_hangs_and_lost_answers_do_what_they_say() {
    let world = ChaosWorld::start().await;
    let one = world.clients(Setting::OneAttemptLostAnswers).await;
    let topics = async || {
        let listed = world.direct.sns.list_topics().send().await.unwrap();
        listed
            .topics()
            .iter()
            .filter_map(|t| t.topic_arn().map(str::to_owned))
            .collect::<Vec<_>>()
    };

    world.set_faults(&always(FaultKind::InternalError, &["CreateTopic"]));
    let e = one.sns.create_topic().name("t500").send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500), "{e:?}");
    world.set_faults(&always(FaultKind::Unavailable, &["CreateTopic"]));
    let e = one.sns.create_topic().name("t503").send().await.unwrap_err();
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(503), "{e:?}");
    assert_eq!(code(&e).as_deref(), Some("ServiceUnavailable"));

    // A reset: the attempt fails with a transport error and the topic was never created.
    world.set_faults(&always(FaultKind::Reset, &["CreateTopic"]));
    let e = one.sns.create_topic().name("reset").send().await.unwrap_err();
    assert!(
        matches!(e, SdkError::DispatchFailure(_) | SdkError::ResponseError(_)),
        "{e:?}"
    );
    // A hang: the attempt times out (8 s) and nothing was applied.
    world.set_faults(&always(FaultKind::Hang, &["CreateTopic"]));
    let started = Instant::now();
    let e = one.sns.create_topic().name("hang").send().await.unwrap_err();
    assert!(matches!(e, SdkError::TimeoutError(_)), "{e:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(7900),
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // A lost answer: the attempt fails like a reset, but the emulator created the topic.
    world.set_faults(&always(FaultKind::LostAfterApply, &["CreateTopic"]));
    let e = one.sns.create_topic().name("lost").send().await.unwrap_err();
    assert!(
        matches!(e, SdkError::DispatchFailure(_) | SdkError::ResponseError(_)),
        "{e:?}"
    );
    let names = topics().await;
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(":lost"), "{names:?}");
    // Latency: the call succeeds, later.
    world.set_faults(&always(FaultKind::Latency, &["CreateTopic"]).with_latency(Duration::from_millis(400)));
    let started = Instant::now();
    one.sns.create_topic().name("slow").send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));

    let counts = world.take_counts();
    let c = &counts.operations["CreateTopic"];
    assert_eq!(c.calls, 6);
    assert_eq!(c.forwarded, 2, "lost-after-apply and latency reach the emulator");
    for kind in [
        FaultKind::InternalError,
        FaultKind::Unavailable,
        FaultKind::Reset,
        FaultKind::Hang,
        FaultKind::LostAfterApply,
        FaultKind::Latency,
    ] {
        assert_eq!(c.injected.get(&kind), Some(&1), "{kind}: {}", counts.summary());
    }
    // The proxy keeps serving after all that.
    world.stop_faults();
    one.sns.list_topics().send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_seed_injects_the_same_faults() {
    let world = ChaosWorld::start().await;
    let one = world.clients(Setting::OneAttemptLostAnswers).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        world.set_faults(
            &Setting::StandardRetries
                .plan(77)
                .with_latency(Duration::from_millis(1)),
        );
        let mut outcomes = Vec::new();
        for i in 0..40 {
            let r = one
                .dynamodb
                .list_tables()
                .send()
                .await
                .map(|_| ())
                .map_err(|e| code(&e).unwrap_or_else(|| format!("transport {i}")));
            outcomes.push(r.is_ok());
        }
        seen.push((outcomes, world.take_counts()));
    }
    assert_eq!(seen[0].0, seen[1].0);
    assert_eq!(seen[0].1, seen[1].1);
    let faults = seen[0].1.faults();
    assert!((2..=20).contains(&faults), "{}", seen[0].1.summary());
}
