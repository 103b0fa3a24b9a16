//! Logs Insights saved queries against the emulator with the real aws-sdk-cloudwatchlogs client. moto
//! 5.2.5 implements none of `DescribeQueryDefinitions`, `PutQueryDefinition`, `DeleteQueryDefinition`
//! (the front answers HTTP 501 `NotImplemented`): these tests prove the calls reach the endpoint, that the
//! answer is read as "not implemented" rather than as a failure of the account, and that the dashboards
//! pass (CLI and Lambda) still publishes its dashboards and says why the queries were not planned. The
//! request shapes are in `governance/tests/publish_queries_sdk.rs`.

#![allow(clippy::unwrap_used)] // set-up helpers of a test binary

use collectiq_tests::Emulator;
use governance::publish::NoProgress;
use governance::publish::queries::{QueryPlanning, apply, desired_queries, plan_or_skip, plan_queries};
use platform_spec::PlatformSpec;

fn spec() -> PlatformSpec {
    platform_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_has_no_query_definitions_and_that_is_a_note_not_a_failure() {
    let em = Emulator::start().await.unwrap();
    let logs = em.clients().await.logs;
    let spec = spec();
    let desired = desired_queries(&spec).unwrap();
    assert_eq!(desired.len(), 4);
    let planning = plan_or_skip(&logs, &desired, &spec.managed_prefix())
        .await
        .unwrap();
    let QueryPlanning::Unsupported(note) = &planning else {
        panic!("moto 5.2.5 lists saved queries now: {planning:?}; test them here for real");
    };
    assert_eq!(
        note,
        "Logs Insights saved queries not planned: the endpoint does not implement DescribeQueryDefinitions \
         (4 to save)"
    );
    // The writes reach the endpoint too, and each failure is classified as "not implemented".
    let plan = plan_queries(&desired, &[], &spec.managed_prefix());
    let report = apply(&logs, &plan, &NoProgress).await;
    assert_eq!(report.write_calls, 4);
    assert_eq!(report.failures.len(), 4);
    assert!(
        report
            .failures
            .iter()
            .all(|f| f.error.operation == "PutQueryDefinition" && f.error.is_not_implemented()),
        "{}",
        report.render_text("saved queries")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dashboards_lambda_and_cli_publish_dashboards_and_say_why_queries_were_not() {
    use collectiq_ops::global::GlobalArgs;
    use collectiq_ops::publish::{DashboardsCommand, PlanArgs, run_dashboards};
    use governance::publish::lambda::{DashboardsEvent, LambdaDeps, dashboards_handler};
    use lambda_runtime::{Context, LambdaEvent};

    let em = Emulator::start().await.unwrap();
    let deps = LambdaDeps {
        spec: spec(),
        clients: em.clients().await,
    };
    let run = |dry_run| {
        dashboards_handler(
            LambdaEvent::new(
                DashboardsEvent {
                    dry_run,
                    ..DashboardsEvent::default()
                },
                Context::default(),
            ),
            &deps,
        )
    };
    let applied = run(false).await.unwrap();
    assert_eq!(applied.applied.as_ref().unwrap().created.len(), 8);
    assert!(applied.queries_applied.is_none());
    assert!(
        applied
            .queries
            .note
            .as_deref()
            .is_some_and(|n| n.contains("does not implement DescribeQueryDefinitions")),
        "{:?}",
        applied.queries
    );
    let json = serde_json::to_value(&applied).unwrap();
    assert!(json["queries"]["note"].is_string());
    // Re-run: the dashboards are unchanged, and the run still succeeds.
    let again = run(false).await.unwrap();
    assert_eq!(again.applied.as_ref().unwrap().write_calls, 0);

    // The CLI: nothing pending after the Lambda's apply (the queries cannot be planned here).
    let out = tempfile::tempdir().unwrap();
    let global = GlobalArgs {
        platform: std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../infra/platforms/collectiq-prod.toml"),
        platform_named: true,
        endpoint_url: Some(em.endpoint().to_owned()),
        profile: None,
        region: None,
        json: true,
        out: out.path().to_owned(),
    };
    let plan = DashboardsCommand::Plan(PlanArgs {
        detailed_exitcode: true,
    });
    assert_eq!(run_dashboards(&global, &plan).await.unwrap(), 0);
    assert_eq!(
        run_dashboards(&global, &DashboardsCommand::Apply).await.unwrap(),
        0
    );
}
