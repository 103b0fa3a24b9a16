//! Publishing against moto with the real SDK clients (each test starts its own emulator): publish
//! CollectIQ's dashboards and alarms, read them back with GetDashboard / DescribeAlarms, re-run and count
//! the write requests with an SDK interceptor (zero), delete the orphan, never touch the unprefixed
//! alarm; the seeded state report, Slack post and once-per-episode escalation.

#![allow(clippy::unwrap_used)] // set-up helpers of a test binary

use std::sync::{Arc, Mutex};

use alarms::Alarm;
use alarms::catalogue::Catalogue;
use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{Duration, Utc};
use collectiq_tests::Emulator;
use collectiq_tests::{SinkResponse, WebhookSink};
use governance::publish::NoProgress;
use governance::publish::state::{StateOptions, escalate, post_to_slack, render_slack, state_report};
use governance::publish::{ApplyOptions, Desired, apply_all, plan_all};
use platform_spec::PlatformSpec;

/// Counts every CloudWatch operation the client starts, by name.
#[derive(Debug, Clone, Default)]
struct OperationLog(Arc<Mutex<Vec<String>>>);

impl OperationLog {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for OperationLog {
    fn name(&self) -> &'static str {
        "OperationLog"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg.load::<Metadata>().map_or("?", |m| m.name()).to_owned();
        self.0.lock().unwrap().push(name);
        Ok(())
    }
}

fn is_write(op: &str) -> bool {
    op.starts_with("Put") || op.starts_with("Delete") || op.starts_with("Set") || op.ends_with("TagResource")
}

fn spec() -> PlatformSpec {
    platform_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
    )
    .unwrap()
}

async fn counted_client(em: &Emulator) -> (aws_sdk_cloudwatch::Client, OperationLog) {
    let clients = em.clients().await;
    let log = OperationLog::default();
    let config = clients
        .cloudwatch
        .config()
        .to_builder()
        .interceptor(log.clone())
        .build();
    (aws_sdk_cloudwatch::Client::from_conf(config), log)
}

/// The catalogue without composite alarms (moto has no PutCompositeAlarm).
fn without_composites(mut d: Desired) -> Desired {
    d.catalogue = Catalogue {
        alarms: d
            .catalogue
            .alarms
            .into_iter()
            .filter(|a| matches!(a.alarm, Alarm::Metric(_)))
            .collect(),
        notes: d.catalogue.notes,
    };
    d
}

async fn put_plain_alarm(cw: &aws_sdk_cloudwatch::Client, name: &str) {
    put_tagged_alarm(cw, name, None).await;
}

/// A plain alarm, tagged as the catalogue tags its own when `platform` is given (`ManagedBy`,
/// `Platform`): a retired alarm of that environment.
async fn put_tagged_alarm(cw: &aws_sdk_cloudwatch::Client, name: &str, platform: Option<&str>) {
    let tags = platform.map(|p| {
        vec![
            aws_sdk_cloudwatch::types::Tag::builder()
                .key("ManagedBy")
                .value("collectiq-ops")
                .build(),
            aws_sdk_cloudwatch::types::Tag::builder()
                .key("Platform")
                .value(p)
                .build(),
        ]
    });
    cw.put_metric_alarm()
        .alarm_name(name)
        .set_tags(tags)
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_read_back_and_second_apply_writes_nothing() {
    let em = Emulator::start().await.unwrap();
    let (cw, log) = counted_client(&em).await;
    let spec = spec();
    put_tagged_alarm(
        &cw,
        "collectiq-prod-legacy-scanner-errors-critical",
        Some("collectiq-prod"),
    )
    .await;
    put_plain_alarm(&cw, "billing-estimated-charges-hand-made").await;
    // Under the prefix but not tagged as ours: made by hand, left alone.
    put_plain_alarm(&cw, "collectiq-prod-by-hand-critical").await;
    cw.put_dashboard()
        .dashboard_name("someone-elses-dashboard")
        .dashboard_body("{\"widgets\":[]}")
        .send()
        .await
        .unwrap();
    log.take();

    let desired = without_composites(Desired::for_spec(&spec).unwrap());
    let plan = plan_all(&cw, &spec, &desired).await.unwrap();
    assert_eq!(plan.dashboards.to_put().count(), 8);
    assert_eq!(plan.alarms.plan.to_put().len(), desired.catalogue.alarms.len());
    assert_eq!(
        plan.alarms.plan.to_delete(),
        ["collectiq-prod-legacy-scanner-errors-critical"]
    );
    assert_eq!(plan.alarms.plan.unmanaged, 2);
    // Reads only: ListDashboards, DescribeAlarms, ListTagsForResource for the two alarms under the
    // prefix that the catalogue does not want (GetDashboard only for managed ones: none yet).
    assert!(log.take().iter().all(|op| !is_write(op)));

    let report = apply_all(
        &cw,
        &plan,
        ApplyOptions {
            writes_per_second: 0.0,
            ..ApplyOptions::default()
        },
        |_| NoProgress,
    )
    .await;
    assert!(report.ok(), "{}", report.render_text());
    let ops = log.take();
    let writes: Vec<&String> = ops.iter().filter(|op| is_write(op)).collect();
    assert_eq!(writes.len(), 8 + desired.catalogue.alarms.len() + 1, "{ops:?}");
    assert_eq!(ops.iter().filter(|op| *op == "DeleteAlarms").count(), 1);

    // Read back: every dashboard body is the one we put; the alarms are there, the hand-made one too.
    for d in &desired.dashboards {
        let got = cw.get_dashboard().dashboard_name(&d.name).send().await.unwrap();
        let got: serde_json::Value = serde_json::from_str(got.dashboard_body().unwrap()).unwrap();
        assert_eq!(got, serde_json::to_value(&d.body).unwrap(), "{}", d.name);
    }
    let described = cw
        .describe_alarms()
        .alarm_names("collectiq-prod-api-5xx-rate-critical")
        .alarm_names("billing-estimated-charges-hand-made")
        .alarm_names("collectiq-prod-legacy-scanner-errors-critical")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = described
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    assert!(names.contains(&"collectiq-prod-api-5xx-rate-critical"));
    assert!(names.contains(&"billing-estimated-charges-hand-made"));
    assert!(!names.contains(&"collectiq-prod-legacy-scanner-errors-critical"));
    let api = described
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some("collectiq-prod-api-5xx-rate-critical"))
        .unwrap();
    assert_eq!(api.threshold(), Some(5.0));
    assert_eq!(api.metrics().len(), 3);
    assert_eq!(
        api.alarm_actions(),
        std::slice::from_ref(&spec.notifications.sns_critical_topic_arn)
    );
    log.take();

    // Second run: everything reads back equal, zero writes.
    let again = plan_all(&cw, &spec, &desired).await.unwrap();
    assert!(again.is_empty(), "{}", again.render_text());
    let second = apply_all(&cw, &again, ApplyOptions::default(), |_| NoProgress).await;
    assert_eq!(second.write_calls(), 0);
    let ops = log.take();
    assert!(!ops.is_empty());
    assert_eq!(ops.iter().filter(|op| is_write(op)).count(), 0, "{ops:?}");

    // Alarms made before Environment was generated (`Put*` ignores Tags on an existing alarm): each
    // run checks a slice of six and adds it with TagResource, other tags kept.
    let arn = |name: &str| format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}");
    for a in &desired.catalogue.alarms {
        cw.untag_resource()
            .resource_arn(arn(a.alarm.name()))
            .tag_keys("Environment")
            .send()
            .await
            .unwrap();
    }
    log.take();
    let untagged = plan_all(&cw, &spec, &desired).await.unwrap();
    let retag = &untagged.alarms.plan.retag;
    assert_eq!(retag.len(), 6, "{}", untagged.render_text());
    let report = apply_all(&cw, &untagged, ApplyOptions::default(), |_| NoProgress).await;
    assert!(report.ok(), "{}", report.render_text());
    let ops = log.take();
    assert_eq!(ops.iter().filter(|op| is_write(op)).count(), 6, "{ops:?}");
    assert_eq!(ops.iter().filter(|op| *op == "TagResource").count(), 6, "{ops:?}");
    for r in retag {
        let tags = cw
            .list_tags_for_resource()
            .resource_arn(&r.arn)
            .send()
            .await
            .unwrap();
        let value = |k: &str| {
            tags.tags()
                .iter()
                .find(|t| t.key() == Some(k))
                .and_then(|t| t.value())
        };
        assert_eq!(value("Environment"), Some("prod"), "{}", r.name);
        assert_eq!(value("ManagedBy"), Some("collectiq-ops"), "{}", r.name);
    }
    // The unprefixed dashboard and alarm were never touched.
    let all = cw.list_dashboards().send().await.unwrap();
    assert!(
        all.dashboard_entries()
            .iter()
            .any(|d| d.dashboard_name() == Some("someone-elses-dashboard"))
    );
}

/// A deployment starts calling the model through inference profiles, so the spec gains `aliases`: the
/// next plan updates the model's two alarms in place (same names: no create, no delete) and the
/// dashboards that draw them, moto takes the metric-math alarms (the anomaly band on a sum too), they
/// read back with every `ModelId`, and a second run writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_models_aliases_update_its_alarms_in_place_and_read_back_equal() {
    let em = Emulator::start().await.unwrap();
    let (cw, log) = counted_client(&em).await;
    let plain = spec();
    let first = without_composites(Desired::for_spec(&plain).unwrap());
    let plan = plan_all(&cw, &plain, &first).await.unwrap();
    let fast = || ApplyOptions {
        writes_per_second: 0.0,
        ..ApplyOptions::default()
    };
    assert!(apply_all(&cw, &plan, fast(), |_| NoProgress).await.ok());

    let mut aliased = spec();
    let profiles = [
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
    ];
    aliased.bedrock_models[0].aliases = profiles.iter().map(|p| (*p).to_owned()).collect();
    let desired = without_composites(Desired::for_spec(&aliased).unwrap());
    let plan = plan_all(&cw, &aliased, &desired).await.unwrap();
    let prefix = "collectiq-prod-bedrock-anthropic-claude-3-5-sonnet-20240620-v1-0";
    let throttles = format!("{prefix}-throttles-warning");
    let anomaly = format!("{prefix}-input-tokens-anomaly-warning");
    let mut updated: Vec<&str> = plan.alarms.plan.to_put().iter().map(|a| a.name()).collect();
    updated.sort_unstable();
    assert_eq!(
        updated,
        [anomaly.as_str(), throttles.as_str()],
        "{}",
        plan.render_text()
    );
    assert_eq!(plan.alarms.plan.count(alarms::plan::AlarmAction::Create), 0);
    assert!(plan.alarms.plan.to_delete().is_empty());
    let mut pages: Vec<&str> = plan.dashboards.to_put().map(|d| d.name.as_str()).collect();
    pages.sort_unstable();
    assert_eq!(pages, ["collectiq-prod-ai", "collectiq-prod-cost"]);
    let report = apply_all(&cw, &plan, fast(), |_| NoProgress).await;
    assert!(report.ok(), "{}", report.render_text());

    let described = cw
        .describe_alarms()
        .alarm_names(&throttles)
        .alarm_names(&anomaly)
        .send()
        .await
        .unwrap();
    assert_eq!(described.metric_alarms().len(), 2);
    for a in described.metric_alarms() {
        let model_ids: Vec<&str> = a
            .metrics()
            .iter()
            .filter_map(|q| q.metric_stat()?.metric()?.dimensions().first()?.value())
            .collect();
        assert_eq!(
            model_ids,
            [plain.bedrock_models[0].id.as_str(), profiles[0], profiles[1]],
            "{:?}",
            a.alarm_name()
        );
    }
    log.take();
    let again = plan_all(&cw, &aliased, &desired).await.unwrap();
    assert!(again.is_empty(), "{}", again.render_text());
    assert!(log.take().iter().all(|op| !is_write(op)));
}

/// Two environments in one account: `collectiq-prod` and `collectiq-prod-eu` (every name of the latter is
/// also under `collectiq-prod-`). Each is published twice, in turn, through moto with the real SDK
/// client: neither deletes or rewrites the other's alarms or dashboards, and each deletes only its own
/// retired alarm and page.
#[tokio::test(flavor = "multi_thread")]
async fn prod_and_prod_eu_side_by_side_never_delete_each_other() {
    let em = Emulator::start().await.unwrap();
    let (cw, log) = counted_client(&em).await;
    let prod = spec();
    let mut eu = spec();
    eu.platform.environment = "prod-eu".into();
    assert_eq!(eu.managed_prefix(), "collectiq-prod-eu");
    let d_prod = without_composites(Desired::for_spec(&prod).unwrap());
    let d_eu = without_composites(Desired::for_spec(&eu).unwrap());
    for _ in 0..2 {
        for (s, d) in [(&prod, &d_prod), (&eu, &d_eu)] {
            let plan = plan_all(&cw, s, d).await.unwrap();
            assert!(
                plan.alarms.plan.to_delete().is_empty() && plan.dashboards.to_delete().is_empty(),
                "{}",
                plan.render_text()
            );
            let r = apply_all(
                &cw,
                &plan,
                ApplyOptions {
                    writes_per_second: 0.0,
                    ..ApplyOptions::default()
                },
                |_| NoProgress,
            )
            .await;
            assert!(r.ok(), "{}", r.render_text());
        }
    }
    let alarms = cw.describe_alarms().send().await.unwrap();
    let n_alarms = alarms.metric_alarms().len();
    assert_eq!(
        n_alarms,
        d_prod.catalogue.alarms.len() + d_eu.catalogue.alarms.len()
    );
    let n_dash = cw
        .list_dashboards()
        .send()
        .await
        .unwrap()
        .dashboard_entries()
        .len();
    assert_eq!(n_dash, d_prod.dashboards.len() + d_eu.dashboards.len());

    // Each environment retires one alarm and one page of its own.
    put_tagged_alarm(
        &cw,
        "collectiq-prod-retired-errors-critical",
        Some("collectiq-prod"),
    )
    .await;
    put_tagged_alarm(
        &cw,
        "collectiq-prod-eu-retired-errors-critical",
        Some("collectiq-prod-eu"),
    )
    .await;
    for page in ["collectiq-prod-ecs", "collectiq-prod-eu-ecs"] {
        assert!(d_prod.dashboards.iter().all(|d| d.name != page));
        cw.put_dashboard()
            .dashboard_name(page)
            .dashboard_body("{\"widgets\":[]}")
            .send()
            .await
            .unwrap();
    }
    log.take();
    let plan = plan_all(&cw, &prod, &d_prod).await.unwrap();
    assert_eq!(
        plan.alarms.plan.to_delete(),
        ["collectiq-prod-retired-errors-critical"]
    );
    assert_eq!(plan.dashboards.to_delete(), ["collectiq-prod-ecs"]);
    // prod read the tags of every prod-eu alarm (their names cannot tell), of its own orphan and of
    // six of its unchanged alarms (TagAudit), and no prod-eu dashboard body.
    let ops = log.take();
    let tag_reads = ops.iter().filter(|op| *op == "ListTagsForResource").count();
    assert_eq!(
        tag_reads,
        d_eu.catalogue.alarms.len() + 2 + governance::publish::alarms::TAG_AUDIT_PER_RUN,
        "{ops:?}"
    );
    assert_eq!(
        ops.iter().filter(|op| *op == "GetDashboard").count(),
        d_prod.dashboards.len() + 1
    );
    let r = apply_all(
        &cw,
        &plan,
        ApplyOptions {
            writes_per_second: 0.0,
            ..ApplyOptions::default()
        },
        |_| NoProgress,
    )
    .await;
    assert!(r.ok(), "{}", r.render_text());
    let plan = plan_all(&cw, &eu, &d_eu).await.unwrap();
    assert_eq!(
        plan.alarms.plan.to_delete(),
        ["collectiq-prod-eu-retired-errors-critical"]
    );
    assert_eq!(plan.dashboards.to_delete(), ["collectiq-prod-eu-ecs"]);
    let r = apply_all(
        &cw,
        &plan,
        ApplyOptions {
            writes_per_second: 0.0,
            ..ApplyOptions::default()
        },
        |_| NoProgress,
    )
    .await;
    assert!(r.ok(), "{}", r.render_text());
    let alarms = cw.describe_alarms().send().await.unwrap();
    assert_eq!(alarms.metric_alarms().len(), n_alarms);
    let n = cw
        .list_dashboards()
        .send()
        .await
        .unwrap()
        .dashboard_entries()
        .len();
    assert_eq!(n, n_dash);
}

#[tokio::test(flavor = "multi_thread")]
async fn composite_not_implemented_is_a_named_failure_and_the_rest_is_written() {
    let em = Emulator::start().await.unwrap();
    let (cw, _log) = counted_client(&em).await;
    let spec = spec();
    let desired = Desired::for_spec(&spec).unwrap();
    let composites: Vec<String> = desired
        .catalogue
        .alarms
        .iter()
        .filter(|d| matches!(d.alarm, Alarm::Composite(_)))
        .map(|d| d.name().to_owned())
        .collect();
    assert!(!composites.is_empty());
    let plan = plan_all(&cw, &spec, &desired).await.unwrap();
    let report = apply_all(
        &cw,
        &plan,
        ApplyOptions {
            writes_per_second: 0.0,
            ..ApplyOptions::default()
        },
        |_| NoProgress,
    )
    .await;
    let mut failed: Vec<&str> = report.alarms.failures.iter().map(|f| f.name.as_str()).collect();
    failed.sort_unstable();
    let mut composites = composites;
    composites.sort_unstable();
    assert_eq!(failed, composites);
    assert!(
        report
            .alarms
            .failures
            .iter()
            .all(|f| f.error.is_not_implemented())
    );
    assert!(report.real_failures().is_empty());
    assert_eq!(
        report.alarms.created.len(),
        desired.catalogue.alarms.len() - composites.len()
    );
    let text = report.render_text();
    assert!(
        text.contains(&format!("✗ {} (create): PutCompositeAlarm", composites[0])),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_alarms_plan_real_outcomes_and_the_state_report_escalates_once() {
    let em = Emulator::start().await.unwrap();
    let sink = WebhookSink::start(Vec::new()).await.unwrap();
    let clients = em.clients().await;
    let spec = spec();
    let month = collectiq_ops::seed::DemoMonth::generate(&spec, "2026-11-21".parse().unwrap());
    collectiq_ops::seed::apply(&spec, &month, &clients, sink.url())
        .await
        .unwrap();
    let cw = &clients.cloudwatch;
    let desired = Desired::for_spec(&spec).unwrap();

    // State report: the two seeded alarms are firing, with catalogue severities.
    let now = Utc::now();
    let report = state_report(
        cw,
        &clients.xray,
        &spec,
        &desired.catalogue,
        now,
        StateOptions::default(),
    )
    .await
    .unwrap();
    let firing: Vec<&str> = report.summary.firing.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        firing.len(),
        2,
        "{firing:?} {}",
        governance::publish::state::render_text(&report)
    );
    assert!(firing.contains(&"collectiq-prod-fn-authenticity-agent-error-rate-critical"));
    assert!(firing.contains(&"collectiq-prod-valuation-dlq-depth-critical"));
    // moto has no DescribeAlarmHistory: flaps are unknown, not zero.
    assert!(!report.history_read);
    assert!(governance::publish::state::render_text(&report).contains("flaps unknown (no history)"));
    let auth = report
        .summary
        .firing
        .iter()
        .find(|f| f.name.contains("authenticity"))
        .unwrap();
    assert_eq!(
        auth.trace_query.as_ref().unwrap().filter_expression,
        r#"service("prod-collectiq-authenticity-agent") { fault = true }"#
    );

    // Slack: the webhook URL comes from the seeded secret.
    post_to_slack(
        &governance::cost_pass::SdkChannels::new(&clients),
        &spec.notifications.slack_webhook_secret,
        &render_slack(&report),
    )
    .await
    .unwrap();
    let posts = sink.received();
    assert_eq!(posts.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(
        body["blocks"][0]["text"]["text"],
        ":rotating_light: collectiq-prod: 2 alarms firing"
    );

    // Escalation: not yet at 0 minutes; 20 minutes later the DLQ alarm; the run after that none. The
    // authenticity error-rate alarm is an input of the notifying composite `…-errors-critical` (seeds 000
    // and 001 combined), which moto cannot store, so on the emulator it fires without paging anyone.
    let ledger = governance::ledger::Ledger::new(clients.dynamodb.clone(), &spec.ledger.table);
    let topic = &spec.notifications.sns_critical_topic_arn;
    let first = escalate(&report, Duration::minutes(15), &ledger, &clients.sns, topic).await;
    assert!(first.escalated.is_empty());
    assert_eq!(first.not_yet, ["collectiq-prod-valuation-dlq-depth-critical"]);
    let later = state_report(
        cw,
        &clients.xray,
        &spec,
        &desired.catalogue,
        now + Duration::minutes(20),
        StateOptions::default(),
    )
    .await
    .unwrap();
    let second = escalate(&later, Duration::minutes(15), &ledger, &clients.sns, topic).await;
    assert_eq!(
        second.escalated,
        ["collectiq-prod-valuation-dlq-depth-critical"],
        "{second:?}"
    );
    let third = escalate(&later, Duration::minutes(15), &ledger, &clients.sns, topic).await;
    assert!(third.escalated.is_empty());
    assert_eq!(third.already_escalated.len(), 1);
    let sent: Vec<_> = em
        .sns_messages()
        .await
        .unwrap()
        .into_iter()
        .filter(|m| &m.topic_arn == topic)
        .collect();
    assert_eq!(sent.len(), 1);
    let msg: serde_json::Value = serde_json::from_str(&sent[0].message).unwrap();
    assert_eq!(msg["platform"], "collectiq-prod");
    assert!(msg["firing_minutes"].as_i64().unwrap() >= 20);

    // The plan over the seeded account: the three current alarms are updated in place, the orphan
    // deleted, the hand-made alarm untouched.
    let plan = plan_all(cw, &spec, &desired).await.unwrap();
    let p = &plan.alarms.plan;
    let updated: Vec<&str> = p
        .changes
        .iter()
        .filter(|c| c.action == alarms::plan::AlarmAction::Update)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        updated,
        [
            "collectiq-prod-fn-authenticity-agent-error-rate-critical",
            "collectiq-prod-fn-cards-get-error-rate-critical",
            "collectiq-prod-valuation-dlq-depth-critical",
        ]
    );
    assert_eq!(p.to_delete(), ["collectiq-prod-legacy-scanner-errors-critical"]);
    assert_eq!(p.unmanaged, 1);
    assert!(plan.render_text().contains("Total monthly change: +$"));
}

#[tokio::test(flavor = "multi_thread")]
async fn set_alarm_state_survives_in_the_report_as_firing_minutes() {
    let em = Emulator::start().await.unwrap();
    let clients = em.clients().await;
    let spec = spec();
    let desired = Desired::for_spec(&spec).unwrap();
    let name = "collectiq-prod-valuation-dlq-depth-critical";
    let Alarm::Metric(dlq) = &desired.catalogue.get(name).unwrap().alarm else {
        panic!()
    };
    governance::publish::CloudWatchApi::put_metric_alarm(&clients.cloudwatch, dlq)
        .await
        .unwrap();
    clients
        .cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(StateValue::Alarm)
        .state_reason("14 messages")
        .send()
        .await
        .unwrap();
    let r = state_report(
        &clients.cloudwatch,
        &clients.xray,
        &spec,
        &desired.catalogue,
        Utc::now() + Duration::minutes(30),
        StateOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.summary.firing.len(), 1);
    assert!(r.summary.firing[0].firing_minutes >= 29);
    assert_eq!(r.summary.firing[0].reason, "14 messages");
    // A DLQ alarm has no functions behind it: no X-Ray query.
    assert!(r.summary.firing[0].trace_query.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn backtest_replays_the_dlq_alarm_over_get_metric_data() {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    use governance::publish::backtest::backtest_catalogue;
    let em = Emulator::start().await.unwrap();
    let clients = em.clients().await;
    let spec = spec();
    let mut cat = Desired::for_spec(&spec).unwrap().catalogue;
    cat.alarms
        .retain(|d| d.name() == "collectiq-prod-valuation-dlq-depth-critical");
    let now = Utc::now();
    let minute0 = (now - Duration::minutes(40)).timestamp() / 60 * 60;
    // 40 minutes of DLQ depth: 0, then 15 messages for 3 minutes, then drained — one page.
    let data: Vec<MetricDatum> = (0..40)
        .map(|i| {
            MetricDatum::builder()
                .metric_name("ApproximateNumberOfMessagesVisible")
                .dimensions(
                    Dimension::builder()
                        .name("QueueName")
                        .value("collectiq-prod-valuation-dlq")
                        .build(),
                )
                .timestamp(aws_smithy_types::DateTime::from_secs(minute0 + i * 60 + 5))
                .value(if (20..23).contains(&i) { 15.0 } else { 0.0 })
                .build()
        })
        .collect();
    clients
        .cloudwatch
        .put_metric_data()
        .namespace("AWS/SQS")
        .set_metric_data(Some(data))
        .send()
        .await
        .unwrap();
    let budget = alarms::plan::NoiseBudget {
        max_fires: 0,
        window_days: 1,
    };
    let summary = backtest_catalogue(&clients.cloudwatch, &cat, now, 1, budget).await;
    assert_eq!(summary.get_metric_data_calls, 1);
    let dlq = &summary.alarms[0];
    assert_eq!(dlq.skipped, None, "{}", summary.render_text());
    assert_eq!(dlq.fires, Some(1), "{}", summary.render_text());
    assert_eq!(dlq.alarm_periods, 3);
    assert!(dlq.periods_with_data >= 39, "{}", dlq.periods_with_data);
    assert_eq!(summary.warnings.len(), 1);
    assert!(
        summary.warnings[0]
            .starts_with("collectiq-prod-valuation-dlq-depth-critical would have fired 1 times")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_commands_against_the_emulator() {
    use collectiq_ops::global::GlobalArgs;
    use collectiq_ops::publish::{
        AlarmPlanArgs, AlarmsCommand, DashboardsCommand, PlanArgs, StateArgs, run_alarms, run_dashboards,
    };
    let em = Emulator::start().await.unwrap();
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
    // render writes the 8 bodies without AWS.
    assert_eq!(
        run_dashboards(&global, &DashboardsCommand::Render).await.unwrap(),
        0
    );
    let rendered = std::fs::read_dir(out.path().join("dashboards")).unwrap().count();
    assert_eq!(rendered, 8);
    let body: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("dashboards/collectiq-prod-overview.json")).unwrap(),
    )
    .unwrap();
    assert!(!body["widgets"].as_array().unwrap().is_empty());
    // plan with pending changes → 2 with --detailed-exitcode; apply; plan again → 0.
    let detailed = || {
        DashboardsCommand::Plan(PlanArgs {
            detailed_exitcode: true,
        })
    };
    assert_eq!(run_dashboards(&global, &detailed()).await.unwrap(), 2);
    assert_eq!(
        run_dashboards(&global, &DashboardsCommand::Apply).await.unwrap(),
        0
    );
    assert_eq!(run_dashboards(&global, &detailed()).await.unwrap(), 0);
    let alarm_plan = AlarmsCommand::Plan(AlarmPlanArgs {
        plan: PlanArgs {
            detailed_exitcode: true,
        },
        noise_budget: Some(5),
    });
    assert_eq!(run_alarms(&global, &alarm_plan).await.unwrap(), 2);
    let state = AlarmsCommand::State(StateArgs {
        post: false,
        escalate_after_minutes: None,
    });
    assert_eq!(run_alarms(&global, &state).await.unwrap(), 0);
    let slack: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("alarm-state.slack.json")).unwrap())
            .unwrap();
    assert_eq!(slack["blocks"][0]["type"], "header");
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_handlers_report_post_and_escalate_once() {
    use governance::publish::lambda::{
        AlarmsEvent, DashboardsEvent, LambdaDeps, alarms_handler, dashboards_handler,
    };
    use lambda_runtime::{Context, LambdaEvent};
    let em = Emulator::start().await.unwrap();
    // Slack answers the third post with a 500 (below: a failed delivery fails the invocation).
    let sink = WebhookSink::start(vec![
        SinkResponse::ok(),
        SinkResponse::ok(),
        SinkResponse::error(500, "internal_error"),
    ])
    .await
    .unwrap();
    let clients = em.clients().await;
    let spec = spec();
    let month = collectiq_ops::seed::DemoMonth::generate(&spec, "2026-11-21".parse().unwrap());
    collectiq_ops::seed::apply(&spec, &month, &clients, sink.url())
        .await
        .unwrap();
    let deps = LambdaDeps { spec, clients };
    let dry = dashboards_handler(
        LambdaEvent::new(
            DashboardsEvent {
                dry_run: true,
                ..DashboardsEvent::default()
            },
            Context::default(),
        ),
        &deps,
    )
    .await
    .unwrap();
    assert_eq!(dry.plan.create.len(), 8);
    assert!(dry.applied.is_none());
    let event = || {
        LambdaEvent::new(
            AlarmsEvent {
                apply: false,
                escalate_after_minutes: Some(0),
                ..AlarmsEvent::default()
            },
            Context::default(),
        )
    };
    let first = alarms_handler(event(), &deps).await.unwrap();
    assert_eq!(first.firing.len(), 2);
    assert!(first.posted_to_slack, "{:?}", first.notes);
    // The DLQ alarm pages; the authenticity error-rate alarm is an input of the `…-errors-critical`
    // composite (moto cannot store composites), so it fires without paging.
    assert_eq!(
        first.escalation.as_ref().unwrap().escalated,
        ["collectiq-prod-valuation-dlq-depth-critical"]
    );
    let second = alarms_handler(event(), &deps).await.unwrap();
    assert!(second.escalation.as_ref().unwrap().escalated.is_empty());
    assert_eq!(second.escalation.as_ref().unwrap().already_escalated.len(), 1);
    // Slack on change only (issue 11): the first run posts the new episodes, the re-run nothing.
    assert!(!second.posted_to_slack, "{:?}", second.post_reasons);
    assert!(second.post_reasons.is_empty());
    assert_eq!(sink.received().len(), 1);
    let topic = &deps.spec.notifications.sns_critical_topic_arn;
    let sent = em.sns_messages().await.unwrap();
    assert_eq!(sent.iter().filter(|m| &m.topic_arn == topic).count(), 1);
    // A recovery is a change: one post naming it, then quiet again.
    deps.clients
        .cloudwatch
        .set_alarm_state()
        .alarm_name("collectiq-prod-valuation-dlq-depth-critical")
        .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
        .state_reason("DLQ drained")
        .send()
        .await
        .unwrap();
    let third = alarms_handler(event(), &deps).await.unwrap();
    assert!(third.posted_to_slack);
    assert_eq!(
        third.post_reasons,
        ["recovered: collectiq-prod-valuation-dlq-depth-critical"]
    );
    let fourth = alarms_handler(event(), &deps).await.unwrap();
    assert!(!fourth.posted_to_slack);
    assert_eq!(sink.received().len(), 2);
    // The webhook URL (the sink's address) never appears in what the handler returns.
    let json = serde_json::to_string(&second).unwrap();
    assert!(!json.contains(sink.url()));

    // Issue 13 item 1: a delivery that fails fails the invocation (a scheduled invocation's return value
    // is thrown away; its error reaches the on-failure destination and its alarm). The DLQ alarm fires
    // again: a new episode, paged; Slack answers 500, so the post stays pending and the run fails,
    // naming Slack and never the webhook URL. The next run sends that post and succeeds.
    deps.clients
        .cloudwatch
        .set_alarm_state()
        .alarm_name("collectiq-prod-valuation-dlq-depth-critical")
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("DLQ filling again")
        .send()
        .await
        .unwrap();
    let failed = alarms_handler(event(), &deps).await.unwrap_err().to_string();
    assert!(failed.contains("Slack"), "{failed}");
    assert!(!failed.contains(sink.url()), "{failed}");
    assert_eq!(sink.received().len(), 3);
    let sent = em.sns_messages().await.unwrap();
    assert_eq!(
        sent.iter().filter(|m| &m.topic_arn == topic).count(),
        2,
        "the new episode paged although Slack failed"
    );
    let retried = alarms_handler(event(), &deps).await.unwrap();
    assert!(retried.posted_to_slack, "{:?}", retried.notes);
    assert_eq!(sink.received().len(), 4);
    assert_eq!(
        sink.received()[3].body,
        sink.received()[2].body,
        "the pending post, as first rendered"
    );
}
