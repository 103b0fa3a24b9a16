//! The organisation pass against the emulator's multi-account mode: moto serves every request signed
//! with credentials from `sts:AssumeRole` in the account of the assumed role
//! (../shared/reference/aws-emulator.md, "Many accounts in one emulator"), so each member's alarms,
//! dashboards, budgets, secrets and topics really live in that member's account.
//!
//! - `an_organisation_is_governed_in_one_pass_each_member_in_its_own_account`: three accounts running
//!   the *same* platform (Backoffice dev) — plan, then run with posting: alarms land in each member and
//!   nowhere else, Cost Explorer is asked twice in the management account for everyone (and not again
//!   the same day), each platform's report holds its own account's spend, every ledger key carries the
//!   account id, each platform posts to its own channel and the roll-up to the organisation's.
//! - `three_broken_members_never_stop_the_others_and_the_summary_names_them`: one member whose role
//!   cannot be assumed (AccessDenied), one whose STS answers throttle, one whose STS never answers; the
//!   other members complete and the summary names the three, with their failure classes.
//! - `members_failing_after_their_role_is_assumed_never_stop_the_others_and_the_summary_names_them`:
//!   the same after a successful `AssumeRole`: one member's Budgets and `PutMetricAlarm` answer
//!   AccessDenied, one member's every call throttles, one member's every call hangs.
//!
//! The faults come from the test kit's fault proxy in front of the emulator
//! (`collectiq_tests::faults::FaultProxy::set_account_plan`): it knows which member each request acts
//! in from the `AssumeRole` calls it forwards (the `RoleArn`, then the session's access key in every
//! later request's signature).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up: failing loudly is the point

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use aws_error::ErrorClass;
use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, Utc};
use collectiq_tests::faults::accounts::ASSUME_ROLE;
use collectiq_tests::faults::{FaultKind, FaultPlan, FaultProxy};
use collectiq_tests::{Emulator, ReceivedPost, SinkResponse, WebhookSink};
use cost::input::CostAndUsagePage;
use governance::aws::{AwsClients, AwsTarget, sdk_config};
use governance::ledger::Ledger;
use governance::org::assume::assume_member;
use governance::org::{Mode, OrgDeps, OrgOptions, Stage, run_org};
use platform_spec::{OrgItem, Organization};
use rust_decimal::Decimal;

const MANAGEMENT: &str = "123456789012"; // moto's default account: the test's own credentials
const LEDGER: &str = "acme-org-ledger";
const ORG_SECRET: &str = "acme/slack-webhook";

/// Writes one Backoffice dev spec per account (the shipped one with its account id replaced) and an
/// organisation file naming them; returns the loaded organisation.
fn organisation(dir: &Path, accounts: &[&str]) -> Organization {
    let shipped = std::fs::read_to_string(
        collectiq_tests::workspace_root().join("infra/platforms/backoffice-dev.toml"),
    )
    .unwrap();
    let mut org = format!(
        "[organization]\nname = \"acme\"\nmanagement_account_id = \"{MANAGEMENT}\"\nregion = \"us-east-1\"\n\
         ledger_table = \"{LEDGER}\"\nslack_webhook_secret = \"{ORG_SECRET}\"\nmax_concurrency = 8\n"
    );
    for account in accounts {
        let file = format!("{account}-backoffice-dev.toml");
        std::fs::write(dir.join(&file), shipped.replace("210987654321", account)).unwrap();
        org.push_str(&format!(
            "\n[[accounts]]\nid = \"{account}\"\nname = \"member-{account}\"\n\
             role_arn = \"arn:aws:iam::{account}:role/collectiq-governance-member\"\nplatforms = [\"{file}\"]\n"
        ));
    }
    let path = dir.join("org.toml");
    std::fs::write(&path, org).unwrap();
    platform_spec::load_org(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Each member as AWS would have it: the budget with its spend, the Slack secret, the SNS topics.
/// `item`'s own webhook on `sink`: the sink's URL with the member's account id as the last part.
fn member_webhook(sink: &WebhookSink, item: &OrgItem) -> String {
    let base = sink.url();
    let cut = base.rfind('/').unwrap();
    format!("{}/{}", &base[..cut], item.account_id)
}

async fn seed_member(base: &aws_types::SdkConfig, item: &OrgItem, spend_usd: &str, webhook: &str) {
    let sts = aws_sdk_sts::Client::new(base);
    let member = AwsClients::new(&assume_member(&sts, base, item).await.unwrap());
    let spec = &item.spec;
    let budget = &spec.budgets[0];
    let money = |a: &str| {
        aws_sdk_budgets::types::Spend::builder()
            .amount(a)
            .unit("USD")
            .build()
            .unwrap()
    };
    member
        .budgets
        .create_budget()
        .account_id(&item.account_id)
        .budget(
            aws_sdk_budgets::types::Budget::builder()
                .budget_name(&budget.name)
                .budget_type(aws_sdk_budgets::types::BudgetType::Cost)
                .time_unit(aws_sdk_budgets::types::TimeUnit::Monthly)
                .budget_limit(money(&budget.limit_usd.to_string()))
                .calculated_spend(
                    aws_sdk_budgets::types::CalculatedSpend::builder()
                        .actual_spend(money(spend_usd))
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    member
        .secrets
        .create_secret()
        .name(&spec.notifications.slack_webhook_secret)
        .secret_string(webhook)
        .send()
        .await
        .unwrap();
    for arn in [
        &spec.notifications.sns_critical_topic_arn,
        &spec.notifications.sns_warning_topic_arn,
    ] {
        let name = arn.rsplit(':').next().unwrap();
        member.sns.create_topic().name(name).send().await.unwrap();
    }
}

/// Ten days of spend: account `i` (1-based) spends `i` cents a day on Lambda and 10 cents on DynamoDB
/// (small against the $20 budget, so each member's tier is set by its own Budgets spend);
/// account 2 also has 50 cents of untagged spend today (so it is month to date on any day).
fn ce_pages(accounts: &[&str], today: NaiveDate) -> Vec<CostAndUsagePage> {
    let day = |offset: i64| today - Days::days(offset);
    let by_service = |n: usize, a: &str| {
        vec![
            serde_json::json!({"Keys": [a, "AWS Lambda"], "Metrics": {"UnblendedCost": {"Amount": format!("0.0{n}"), "Unit": "USD"}}}),
            serde_json::json!({"Keys": [a, "Amazon DynamoDB"], "Metrics": {"UnblendedCost": {"Amount": "0.10", "Unit": "USD"}}}),
        ]
    };
    let results: Vec<serde_json::Value> = (1..=10)
        .rev()
        .map(|o| {
            serde_json::json!({
                "TimePeriod": {"Start": day(o).to_string(), "End": day(o - 1).to_string()},
                "Estimated": o <= 2,
                "Groups": accounts.iter().enumerate().flat_map(|(i, a)| by_service(i + 1, a)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let services = serde_json::json!({
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "DIMENSION", "Key": "SERVICE"}],
        "ResultsByTime": results,
    });
    let tags = serde_json::json!({
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}, {"Type": "TAG", "Key": "Environment"}],
        "ResultsByTime": [{
            "TimePeriod": {"Start": day(0).to_string(), "End": day(-1).to_string()},
            "Groups": [{"Keys": [accounts[1], "Environment$"], "Metrics": {"UnblendedCost": {"Amount": "0.50", "Unit": "USD"}}}],
        }],
    });
    vec![
        serde_json::from_value(services).unwrap(),
        serde_json::from_value(tags).unwrap(),
    ]
}

async fn alarm_names(config: &aws_types::SdkConfig) -> Vec<String> {
    let cw = aws_sdk_cloudwatch::Client::new(config);
    // Metric and composite alarms (DescribeAlarms answers metric alarms only unless asked for both).
    let out = cw
        .describe_alarms()
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::MetricAlarm)
        .alarm_types(aws_sdk_cloudwatch::types::AlarmType::CompositeAlarm)
        .send()
        .await
        .unwrap();
    out.metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name().map(str::to_owned))
        .chain(
            out.composite_alarms()
                .iter()
                .filter_map(|a| a.alarm_name().map(str::to_owned)),
        )
        .collect()
}

/// Deploys the member's HTTP API (its spec's first, by name) as API Gateway would: with an id of its own.
async fn deploy_api(base: &aws_types::SdkConfig, item: &OrgItem) -> String {
    let sts = aws_sdk_sts::Client::new(base);
    let member = AwsClients::new(&assume_member(&sts, base, item).await.unwrap());
    let api = member
        .apigateway
        .create_api()
        .name(&item.spec.http_apis[0].name)
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .send()
        .await
        .unwrap();
    api.api_id().unwrap().to_owned()
}

/// Every `ApiId` the account's metric alarms watch, on the alarm or in its metric-math queries.
async fn watched_api_ids(config: &aws_types::SdkConfig) -> std::collections::BTreeSet<String> {
    let cw = aws_sdk_cloudwatch::Client::new(config);
    let out = cw.describe_alarms().send().await.unwrap();
    out.metric_alarms()
        .iter()
        .flat_map(|a| {
            a.dimensions().iter().chain(
                a.metrics()
                    .iter()
                    .filter_map(|q| q.metric_stat()?.metric())
                    .flat_map(|m| m.dimensions()),
            )
        })
        .filter(|d| d.name() == Some("ApiId"))
        .filter_map(|d| d.value().map(str::to_owned))
        .collect()
}

async fn dashboard_names(config: &aws_types::SdkConfig) -> Vec<String> {
    let cw = aws_sdk_cloudwatch::Client::new(config);
    let out = cw.list_dashboards().send().await.unwrap();
    out.dashboard_entries()
        .iter()
        .filter_map(|d| d.dashboard_name().map(str::to_owned))
        .collect()
}

/// Three members running Backoffice dev, on the emulator: the organisation's ledger and roll-up secret
/// in the management account; in each member its budget (spent 1 %, 85 %, 160 % of $20), Slack secret
/// and topics; ten days of the organisation's spend in Cost Explorer.
struct Acme {
    _emulator: Emulator,
    base: aws_types::SdkConfig,
    management: AwsClients,
    _dir: tempfile::TempDir,
    accounts: [&'static str; 3],
    org: Organization,
    sink: WebhookSink,
    now: DateTime<Utc>,
}

impl Acme {
    async fn start() -> Self {
        let emulator = Emulator::start().await.unwrap();
        let base = emulator.sdk_config().await;
        let management = AwsClients::new(&base);
        let dir = tempfile::tempdir().unwrap();
        let accounts = ["111111111111", "222222222222", "333333333333"];
        let org = organisation(dir.path(), &accounts);
        let sink = WebhookSink::start(vec![SinkResponse::ok(); 8]).await.unwrap();
        Ledger::create_table(&management.dynamodb, LEDGER).await.unwrap();
        management
            .secrets
            .create_secret()
            .name(ORG_SECRET)
            .secret_string(sink.url())
            .send()
            .await
            .unwrap();
        // Each member's channel is its own webhook (a path of its own on the sink), so a report sent
        // through another member's webhook shows.
        for (item, spend) in org.items.iter().zip(["0.2", "17", "32"]) {
            seed_member(&base, item, spend, &member_webhook(&sink, item)).await;
        }
        // The first two members have deployed their API; the third has not (yet).
        for item in &org.items[..2] {
            deploy_api(&base, item).await;
        }
        let now: DateTime<Utc> = Utc::now();
        emulator
            .inject_cost_and_usage(&ce_pages(&accounts, now.date_naive()))
            .await
            .unwrap();
        Self {
            _emulator: emulator,
            base,
            management,
            _dir: dir,
            accounts,
            org,
            sink,
            now,
        }
    }
}

#[tokio::test]
async fn an_organisation_is_governed_in_one_pass_each_member_in_its_own_account() {
    let started = std::time::Instant::now();
    let Acme {
        _emulator,
        base,
        management,
        _dir,
        accounts,
        org,
        sink,
        now,
    } = Acme::start().await;
    let deps = OrgDeps::new(base.clone());

    // Plan: every role assumed, every report built, nothing written to CloudWatch, nothing posted.
    let plan = run_org(&org, &deps, &OrgOptions::new(&org, Mode::Plan, now)).await;
    let summary = plan.render_summary();
    assert!(plan.ok(), "{summary}");
    assert_eq!(plan.items.len(), 3);
    assert_eq!(plan.ce_requests_this_run, 2, "{summary}");
    assert_eq!(
        plan.calls.get("costexplorer:GetCostAndUsage"),
        Some(&2),
        "{:?}",
        plan.calls
    );
    assert_eq!(plan.calls.get("sts:AssumeRole"), Some(&3), "{:?}", plan.calls);
    let creates = plan.items[0].publish.as_ref().unwrap().creates;
    assert!(creates > 5, "{summary}");
    for item in &plan.items {
        assert_eq!(
            item.publish.as_ref().unwrap().creates,
            creates,
            "the same platform everywhere"
        );
        assert!(
            item.calls.calls.iter().all(|c| c.service != "costexplorer"),
            "no CE call from a member: {:?}",
            item.calls
        );
    }
    let sts = aws_sdk_sts::Client::new(&base);
    for item in &org.items {
        let member = assume_member(&sts, &base, item).await.unwrap();
        assert!(alarm_names(&member).await.is_empty(), "a plan writes no alarm");
    }
    assert!(sink.received().is_empty());

    // Cost Explorer answers for every member only in the payer: credentials of another account (here
    // the spec names a management account the test's credentials are not) read nothing and say why,
    // instead of reporting every other account's spend as $0.
    let mut elsewhere = org.clone();
    elsewhere.spec.organization.management_account_id = "111122223333".into();
    let refused = run_org(&elsewhere, &deps, &OrgOptions::new(&elsewhere, Mode::Plan, now)).await;
    let failure = refused.cost_failure.as_ref().expect("the cost stage fails");
    assert!(
        failure.message.contains(&format!(
            "read in account {MANAGEMENT}, not the organisation's management account 111122223333"
        )),
        "{}",
        failure.message
    );
    assert_eq!(refused.ce_requests_this_run, 0);
    assert_eq!(refused.calls.get("costexplorer:GetCostAndUsage"), None);

    // Each report holds its own account's spend only: account i spent (i + 0.10) × 10 days.
    for (i, item) in plan.items.iter().enumerate() {
        let cost = item.cost.as_ref().unwrap();
        let expected = (Decimal::new(i as i64 + 1, 2) + Decimal::new(10, 2)) * Decimal::from(10);
        assert_eq!(cost.spend_usd, expected, "{}: {cost:?}", item.item);
        assert!(
            cost.headline
                .starts_with(&format!("Backoffice dev ({}): ", item.account_id)),
            "{}",
            cost.headline
        );
    }
    // Each tier is the member's own: the tier is the highest threshold reached by max(actual, projection)
    // (cost::burn), so 1 % stays below 80 whatever the day of the month, 160 % is critical (150), and
    // 85 % is at least 80 (its projection may reach higher early or late in the month).
    let tiers: Vec<u32> = plan
        .items
        .iter()
        .map(|i| i.cost.as_ref().unwrap().tier_pct)
        .collect();
    assert_eq!(tiers[0], 0, "{summary}");
    assert!(tiers[1] >= 80, "{tiers:?}");
    assert_eq!(tiers[2], 150, "{summary}");
    let rollup = plan.rollup.as_ref().unwrap();
    // Month to date (empty on the 1st, when the seeded days are all last month's): 333… spends most.
    if now.day() > 1 {
        assert_eq!(rollup.top_accounts[0].account_id, "333333333333");
    }
    assert_eq!(rollup.untagged.len(), 1);
    assert_eq!(rollup.untagged[0].account_id, "222222222222");
    // The roll-up shows every platform with the tier its own report computed, worst first.
    assert_eq!(rollup.burn.len(), 3);
    assert_eq!(rollup.burn[0].tier_pct, Some(150), "worst tier first");
    for item in &plan.items {
        let burn = rollup.burn.iter().find(|b| b.item == item.item).unwrap();
        assert_eq!(burn.tier_pct, Some(item.cost.as_ref().unwrap().tier_pct));
        assert_eq!(burn.account_id, item.account_id);
    }

    // Run, posting: alarms land in each member and nowhere else; no new Cost Explorer request today.
    let mut options = OrgOptions::new(&org, Mode::Run, now);
    options.notify = true;
    let run = run_org(&org, &deps, &options).await;
    let summary = run.render_summary();
    assert!(run.ok(), "{summary}");
    assert_eq!(
        (run.ce_requests_this_run, run.ce_requests_today, run.ce_cached),
        (0, 2, true),
        "{summary}"
    );
    assert_eq!(
        run.calls.get("costexplorer:GetCostAndUsage"),
        None,
        "{:?}",
        run.calls
    );
    for (item, outcome) in org.items.iter().zip(&run.items) {
        let member = assume_member(&sts, &base, item).await.unwrap();
        let names = alarm_names(&member).await;
        let dashboards = dashboard_names(&member).await;
        let publish = outcome.publish.as_ref().unwrap();
        // Everything the plan created is in the member account: its alarms and its dashboards (but for
        // what the emulator does not implement: moto has no PutCompositeAlarm).
        assert!(
            publish
                .not_implemented
                .iter()
                .all(|n| n.starts_with("backoffice-dev-")),
            "{publish:?}"
        );
        assert_eq!(
            names.len() + dashboards.len() + publish.not_implemented.len(),
            publish.creates,
            "in {}: alarms {names:?}, dashboards {dashboards:?}",
            item.account_id
        );
        assert!(!names.is_empty() && !dashboards.is_empty());
        assert!(
            names.iter().all(|n| n.starts_with("backoffice-dev-")),
            "{names:?}"
        );
        assert!(outcome.cost.as_ref().unwrap().slack_posted, "{summary}");
        // The API alarms watch the API deployed in that account: its id read there (API Gateway makes
        // it, the spec's is a placeholder); a member without the API keeps the spec's, and says so.
        let member_clients = AwsClients::new(&member);
        let deployed = member_clients.apigateway.get_apis().send().await.unwrap();
        let deployed: Vec<String> = deployed
            .items()
            .iter()
            .filter_map(|a| a.api_id().map(str::to_owned))
            .collect();
        let watched = watched_api_ids(&member).await;
        let unresolved = &publish.unresolved_api_ids;
        if let [id] = deployed.as_slice() {
            assert_eq!(watched, [id.clone()].into(), "{}", item.account_id);
            assert!(unresolved.is_empty(), "{unresolved:?}");
        } else {
            assert!(deployed.is_empty());
            assert_eq!(
                watched,
                [item.spec.http_apis[0].id.clone()].into(),
                "{}",
                item.account_id
            );
            assert!(
                unresolved[0].contains("\"dev-backoffice\" is not in the account"),
                "{unresolved:?}"
            );
            assert!(summary.contains("is not in the account"), "{summary}");
        }
    }
    // The management (monitoring) account holds one dashboard: the organisation overview, a graph per
    // member whose metrics carry that member's accountId (cross-account observability).
    assert_eq!(
        dashboard_names(&base).await,
        ["acme-organisation-overview"],
        "{summary}"
    );
    let overview = aws_sdk_cloudwatch::Client::new(&base)
        .get_dashboard()
        .dashboard_name("acme-organisation-overview")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(overview.dashboard_body().unwrap()).unwrap();
    let graphs: Vec<&serde_json::Value> = body["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["type"] == "metric")
        .collect();
    assert_eq!(graphs.len(), accounts.len());
    for account in accounts {
        let graph = graphs
            .iter()
            .find(|g| g["properties"]["title"].as_str().unwrap().contains(account))
            .unwrap();
        for row in graph["properties"]["metrics"].as_array().unwrap() {
            let options = row.as_array().unwrap().last().unwrap();
            assert_eq!(options["accountId"], account, "{graph}");
        }
    }
    assert!(
        summary
            .contains("organisation overview dashboard: acme-organisation-overview written (3 account(s))"),
        "{summary}"
    );
    assert!(
        alarm_names(&base).await.is_empty(),
        "nothing in the management account"
    );
    assert_eq!(run.rollup_delivery.as_deref(), Some("posted"), "{summary}");
    let posts = sink.received();
    assert_eq!(posts.len(), 4, "three platform reports and the roll-up");
    let bodies: Vec<String> = posts.iter().map(|p| p.body.clone()).collect();
    assert!(
        bodies.iter().any(|b| b.contains("Organisation cost — acme")),
        "{bodies:?}"
    );
    // The three platform reports look alike but for their account: each names its own, in the Slack
    // header and fallback text its channel shows, and went through its own member's webhook.
    for item in &org.items {
        let named: Vec<&String> = bodies
            .iter()
            .filter(|b| b.contains(&format!("dev ({}) — ", item.account_id)))
            .collect();
        assert_eq!(named.len(), 1, "{}: {bodies:?}", item.account_id);
        let own_path = format!("/services/T000/B000/{}", item.account_id);
        let through_own: Vec<&ReceivedPost> = posts.iter().filter(|p| p.path == own_path).collect();
        assert_eq!(through_own.len(), 1, "{own_path}: {posts:?}");
        assert_eq!(&through_own[0].body, named[0], "{own_path}");
        assert!(
            named[0].contains(&format!("Backoffice dev ({}): ", item.account_id)),
            "{}",
            named[0]
        );
    }

    // Every ledger key carries the account id (or is the organisation's own).
    let scan = management
        .dynamodb
        .scan()
        .table_name(LEDGER)
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = scan
        .items()
        .iter()
        .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    assert!(!keys.is_empty());
    for key in &keys {
        assert!(
            key.starts_with("org#acme#")
                || accounts
                    .iter()
                    .any(|a| key.starts_with(&format!("{a}#backoffice-dev#"))),
            "{key}"
        );
    }
    for a in accounts {
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("{a}#backoffice-dev#ce-daily"))),
            "{keys:?}"
        );
    }

    // A third pass the same day posts nothing again.
    let again = run_org(&org, &deps, &options).await;
    assert_eq!(
        again.rollup_delivery.as_deref(),
        Some(&*format!("already posted for {}", now.date_naive()))
    );
    assert_eq!(
        again.overview,
        Some(Ok("acme-organisation-overview unchanged".to_owned())),
        "unchanged: no write"
    );
    assert_eq!(sink.received().len(), 4);

    // Alarm state rolled up across accounts: an alarm that notifies, firing in the first member, shows
    // on that item and in the roll-up's "Alarms in ALARM per account", and nowhere else. Backoffice's
    // alarms all warn (seed 002 gives them no severity: `page_on_5xx = false`, `page_on_throttling =
    // false`, tier standard).
    let first = &org.items[0];
    let desired = governance::publish::Desired::for_spec(&first.spec).unwrap();
    assert!(
        !desired
            .catalogue
            .alarms
            .iter()
            .any(|d| d.notifies && d.severity == alarms::catalogue::Severity::Critical),
        "Backoffice pages on nothing its seed does not rank"
    );
    let alarm = desired
        .catalogue
        .alarms
        .iter()
        .find(|d| d.notifies && d.name().ends_with("-5xx-rate-warning"))
        .unwrap()
        .name()
        .to_owned();
    let member = assume_member(&sts, &base, first).await.unwrap();
    aws_sdk_cloudwatch::Client::new(&member)
        .set_alarm_state()
        .alarm_name(&alarm)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("test: errors above the threshold")
        .send()
        .await
        .unwrap();
    let seen = run_org(&org, &deps, &OrgOptions::new(&org, Mode::Plan, now)).await;
    assert!(seen.ok(), "{}", seen.render_summary());
    let firing: Vec<(&str, &str)> = seen
        .items
        .iter()
        .flat_map(|i| {
            i.publish
                .as_ref()
                .unwrap()
                .firing
                .iter()
                .map(move |f| (i.item.as_str(), f.name.as_str()))
        })
        .collect();
    assert_eq!(firing, [(first.id().as_str(), alarm.as_str())]);
    let text = seen.rollup.as_ref().unwrap().render_text();
    assert!(
        text.contains(&format!(
            "Alarms in ALARM per account:\n  {}: 0 critical, 1 warning — {alarm}\n",
            first.id()
        )),
        "{text}"
    );
    assert!(
        seen.render_summary().contains("1 alarm(s) in ALARM (0 critical)"),
        "{}",
        seen.render_summary()
    );

    // A roll-up that cannot be posted (its webhook secret is gone) fails the pass, so the execution
    // fails and its alarm tells on-call; the day's record stays pending for the next run.
    let mut other = run.rollup.clone().unwrap();
    other.organization = "acme-eu".into();
    let ledger = Ledger::new(management.dynamodb.clone(), LEDGER);
    let lost = governance::org::rollup::post(&other, &management, &ledger, "acme/no-such-secret").await;
    assert!(lost.failed, "{lost:?}");
    assert!(lost.said.starts_with("not posted"), "{lost:?}");
    // The failed post handed its send lease back: a run right after tries again (and fails the same
    // way here), rather than taking it for another run's post in flight.
    let again_lost = governance::org::rollup::post(&other, &management, &ledger, "acme/no-such-secret").await;
    assert!(again_lost.failed, "{again_lost:?}");
    assert!(again_lost.said.starts_with("not posted"), "{again_lost:?}");
    let mut failed_run = again;
    failed_run.rollup_delivery = Some(lost.said.clone());
    failed_run.rollup_failed = true;
    assert!(!failed_run.ok());
    assert!(
        failed_run
            .render_summary()
            .contains(&format!("✗ organisation roll-up: {}", lost.said)),
        "{}",
        failed_run.render_summary()
    );
    assert_eq!(sink.received().len(), 4, "nothing posted");
    eprintln!(
        "organisation of 3 accounts: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

/// A past day (`org plan --date <yesterday>`): each report's budget spend is Cost Explorer's days up
/// to it, no forecast is asked for, and nothing is posted even when asked to.
#[tokio::test]
async fn a_past_day_is_restated_and_never_posted() {
    let Acme {
        _emulator,
        base,
        _dir,
        org,
        sink,
        now,
        ..
    } = Acme::start().await;
    let deps = OrgDeps::new(base.clone());
    let mut options = OrgOptions::new(&org, Mode::Run, now - chrono::Duration::days(1));
    options.past_day = true;
    options.notify = true;
    options.publish = false;
    let run = run_org(&org, &deps, &options).await;
    let summary = run.render_summary();
    assert!(run.ok(), "{summary}");
    assert_eq!(
        run.calls.get("costexplorer:GetCostForecast"),
        None,
        "{:?}",
        run.calls
    );
    for item in &run.items {
        let cost = item.cost.as_ref().unwrap();
        assert!(!cost.slack_posted, "{}: {cost:?}", item.item);
        assert!(
            cost.notes
                .iter()
                .any(|n| n.contains("not requested for a past day")),
            "{}: {:?}",
            item.item,
            cost.notes
        );
    }
    assert!(sink.received().is_empty(), "nothing posted for a past day");
}

#[tokio::test]
async fn three_broken_members_never_stop_the_others_and_the_summary_names_them() {
    let emulator = Emulator::start().await.unwrap();
    let accounts = [
        "111111111111",
        "444444444444",
        "555555555555",
        "666666666666",
        "222222222222",
    ];
    // STS's own answers to AssumeRole into three of the members: AccessDenied (the role's trust policy
    // does not name governance), Throttling, none at all.
    let proxy = FaultProxy::start(emulator.endpoint(), FaultPlan::none())
        .await
        .unwrap();
    for (account, kind) in [
        ("444444444444", FaultKind::Deny),
        ("555555555555", FaultKind::Throttle),
        ("666666666666", FaultKind::Hang),
    ] {
        proxy.set_account_plan(account, FaultPlan::new(14, 1.0, &[(kind, 1)]).only([ASSUME_ROLE]));
    }
    let base = sdk_config(&AwsTarget {
        endpoint_url: Some(proxy.endpoint().to_owned()),
        ..AwsTarget::default()
    })
    .await;
    let management = AwsClients::new(&base);
    Ledger::create_table(&management.dynamodb, LEDGER).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let org = organisation(dir.path(), &accounts);
    let now = Utc::now();
    emulator
        .inject_cost_and_usage(&ce_pages(&accounts, now.date_naive()))
        .await
        .unwrap();
    let mut options = OrgOptions::new(&org, Mode::Run, now);
    options.sts_timeout = Duration::from_secs(2);
    let run = run_org(&org, &OrgDeps::new(base), &options).await;
    let summary = run.render_summary();
    assert_eq!(
        proxy.counts().faults(),
        3,
        "{summary}: {}",
        proxy.counts().summary()
    );

    let by_account: BTreeMap<&str, _> = run.items.iter().map(|i| (i.account_id.as_str(), i)).collect();
    for healthy in ["111111111111", "222222222222"] {
        let item = by_account[healthy];
        assert!(item.ok(), "{summary}");
        assert!(item.publish.as_ref().unwrap().write_calls > 5, "{summary}");
        assert!(item.cost.is_some(), "{summary}");
    }
    for (account, class) in [
        ("444444444444", ErrorClass::AccessDenied),
        ("555555555555", ErrorClass::Throttled),
        ("666666666666", ErrorClass::Timeout),
    ] {
        let item = by_account[account];
        assert_eq!(item.failures.len(), 1, "{summary}");
        assert_eq!(item.failures[0].stage, Stage::AssumeRole, "{summary}");
        assert_eq!(item.failures[0].class, Some(class), "{account}: {summary}");
        assert!(item.publish.is_none() && item.cost.is_none());
        // The summary names the account, where it failed, and why.
        assert!(
            summary.contains(&format!(
                "✗ account {account} (member-{account}) {account}/backoffice-dev: assume role: {}",
                class.as_str()
            )),
            "{summary}"
        );
    }
    assert_eq!(run.failed().len(), 3);
    assert!(summary.contains("5 items, 2 complete, 3 failed"), "{summary}");
    assert!(summary.contains("AccessDenied"), "{summary}");
    // The roll-up still covers every account's spend; the broken ones show why they have no tier.
    let rollup = run.rollup.as_ref().unwrap();
    assert_eq!(rollup.burn.len(), 5);
    assert!(
        rollup
            .burn
            .iter()
            .filter(|b| b.missing.as_deref().is_some_and(|m| m.starts_with("assume role")))
            .count()
            == 3,
        "{:?}",
        rollup.burn
    );
}

/// The three ways a member account most often breaks *after* its role is assumed, each from the member's
/// own calls (the shared fault proxy learns each member's session from the `AssumeRole` answers it
/// forwards and faults what is signed with it): one member's role lacks `budgets:ViewBudget` and
/// `cloudwatch:PutMetricAlarm` (AccessDenied from Budgets' awsJson and CloudWatch's CBOR protocol), one
/// member's every call is throttled, one member's every call hangs. The three other members are governed
/// completely — alarms and dashboards in their own account, their reports posted — the summary names
/// each broken member with the stage and class of every failure, the roll-up says why three platforms
/// have no tier, and the pass ends within the item deadline however long the hung member would wait.
#[tokio::test]
async fn members_failing_after_their_role_is_assumed_never_stop_the_others_and_the_summary_names_them() {
    let started = std::time::Instant::now();
    let emulator = Emulator::start().await.unwrap();
    let (denied, throttled, hanging) = ("777777777777", "888888888888", "999999999999");
    let healthy = ["111111111111", "222222222222", "333333333333"];
    let accounts = [healthy[0], denied, throttled, hanging, healthy[1], healthy[2]];
    // Every member seeded straight in the emulator: the proxy sees only the pass.
    let seed_base = emulator.sdk_config().await;
    let management = AwsClients::new(&seed_base);
    Ledger::create_table(&management.dynamodb, LEDGER).await.unwrap();
    let sink = WebhookSink::start(vec![SinkResponse::ok(); 8]).await.unwrap();
    management
        .secrets
        .create_secret()
        .name(ORG_SECRET)
        .secret_string(sink.url())
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let org = organisation(dir.path(), &accounts);
    for item in &org.items {
        seed_member(&seed_base, item, "5", sink.url()).await;
    }
    let now = Utc::now();
    emulator
        .inject_cost_and_usage(&ce_pages(&accounts, now.date_naive()))
        .await
        .unwrap();

    // Each broken member's own calls, never the way in (its AssumeRole succeeds).
    let proxy = FaultProxy::start(emulator.endpoint(), FaultPlan::none())
        .await
        .unwrap();
    let every_own_call = |kind| FaultPlan::new(14, 1.0, &[(kind, 1)]).except([ASSUME_ROLE]);
    proxy.set_account_plan(
        denied,
        every_own_call(FaultKind::Deny).only(["DescribeBudgets", "PutMetricAlarm"]),
    );
    proxy.set_account_plan(throttled, every_own_call(FaultKind::Throttle));
    proxy.set_account_plan(hanging, every_own_call(FaultKind::Hang));

    // Every call ends after CALL_TIMEOUT (the emulator answers in milliseconds); an item after 15 s.
    const CALL_TIMEOUT: Duration = Duration::from_secs(4);
    let base = sdk_config(&AwsTarget {
        endpoint_url: Some(proxy.endpoint().to_owned()),
        ..AwsTarget::default()
    })
    .await
    .to_builder()
    .timeout_config(
        aws_smithy_types::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(CALL_TIMEOUT)
            .operation_timeout(CALL_TIMEOUT)
            .build(),
    )
    .build();
    let deps = OrgDeps::new(base);
    let line = |account: &str, stage: &str, class: ErrorClass| {
        format!(
            "✗ account {account} (member-{account}) {account}/backoffice-dev: {stage}: {}: ",
            class.as_str()
        )
    };

    // A cost-only plan, posting nothing: a report the member's budgets are missing from is no result
    // either (it would show a tier computed without the budget).
    let mut options = OrgOptions::new(&org, Mode::Plan, now);
    options.publish = false;
    options.item_timeout = Duration::from_secs(15);
    let plan = run_org(&org, &deps, &options).await;
    let summary = plan.render_summary();
    assert!(summary.contains("6 items, 3 complete, 3 failed"), "{summary}");
    for (account, class) in [
        (denied, ErrorClass::AccessDenied),
        (throttled, ErrorClass::Throttled),
        (hanging, ErrorClass::Timeout),
    ] {
        assert!(
            summary.contains(&format!(
                "{}report incomplete: missing budgets (",
                line(account, "cost", class)
            )),
            "{account}: {summary}"
        );
    }

    let mut options = OrgOptions::new(&org, Mode::Run, now);
    options.notify = true;
    options.item_timeout = Duration::from_secs(15);
    let run = run_org(&org, &deps, &options).await;
    let summary = run.render_summary();
    eprintln!("{summary}");
    let by_account: BTreeMap<&str, _> = run.items.iter().map(|i| (i.account_id.as_str(), i)).collect();

    // The faults hit each broken member's own calls, and only theirs.
    let seen = |a: &str| proxy.account_counts(a);
    assert!(
        seen(denied).of_kind(FaultKind::Deny) >= 2,
        "{}",
        seen(denied).summary()
    );
    let t = seen(throttled);
    let assumed = t.calls_of(ASSUME_ROLE);
    assert!(
        assumed == 2 && t.faults() == t.calls() - assumed,
        "{}",
        t.summary()
    );
    assert!(
        seen(hanging).of_kind(FaultKind::Hang) >= 1,
        "{}",
        seen(hanging).summary()
    );
    for account in healthy {
        let counts = seen(account);
        assert!(
            counts.calls() > 10 && counts.faults() == 0,
            "{account}: {}",
            counts.summary()
        );
    }

    // The others are complete: everything planned is in their own account, their reports went out.
    let sts = aws_sdk_sts::Client::new(&seed_base);
    for account in healthy {
        let outcome = by_account[account];
        assert!(outcome.ok(), "{summary}");
        let publish = outcome.publish.as_ref().unwrap();
        let item = org.items.iter().find(|i| i.account_id == account).unwrap();
        let member = assume_member(&sts, &seed_base, item).await.unwrap();
        let (names, dashboards) = (alarm_names(&member).await, dashboard_names(&member).await);
        assert!(!names.is_empty() && !dashboards.is_empty(), "{account}");
        assert_eq!(
            names.len() + dashboards.len() + publish.not_implemented.len(),
            publish.creates,
            "in {account}: alarms {names:?}, dashboards {dashboards:?}"
        );
        let cost = outcome.cost.as_ref().unwrap();
        assert!(cost.slack_posted, "{summary}");
        assert!(
            summary.contains(&format!("✓ {account}/backoffice-dev [member-{account}]")),
            "{summary}"
        );
    }
    let bodies: Vec<String> = sink.received().iter().map(|p| p.body.clone()).collect();
    assert_eq!(
        bodies.len(),
        4,
        "three platform reports and the roll-up: {bodies:?}"
    );
    for account in healthy {
        assert!(
            bodies
                .iter()
                .any(|b| b.contains(&format!("Backoffice dev ({account}): "))),
            "{account}: {bodies:?}"
        );
    }
    assert!(bodies.iter().any(|b| b.contains("Organisation cost — acme")));

    // The summary names each broken member, the stage that failed and why.
    for (account, stage, class) in [
        (denied, "publish", ErrorClass::AccessDenied),
        (denied, "cost", ErrorClass::AccessDenied),
        (throttled, "publish", ErrorClass::Throttled),
        (throttled, "cost", ErrorClass::Throttled),
    ] {
        assert!(
            summary.contains(&line(account, stage, class)),
            "{account} {stage}: {summary}"
        );
    }
    let hung = by_account[hanging];
    assert!(!hung.failures.is_empty(), "{summary}");
    assert!(
        hung.failures.iter().all(|f| f.class == Some(ErrorClass::Timeout)),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "✗ account {hanging} (member-{hanging}) {hanging}/backoffice-dev: "
        )),
        "{summary}"
    );
    for account in [denied, throttled, hanging] {
        let item = by_account[account];
        assert!(!item.ok() && item.cost.is_none(), "{account}: {summary}");
        // Nothing failed before the role was assumed.
        assert!(
            item.failures.iter().all(|f| f.stage != Stage::AssumeRole),
            "{summary}"
        );
    }
    assert!(summary.contains("6 items, 3 complete, 3 failed"), "{summary}");
    // The roll-up covers every account's spend and says why the three have no tier.
    let rollup = run.rollup.as_ref().unwrap();
    assert_eq!(rollup.burn.len(), 6);
    let untiered: Vec<&str> = rollup
        .burn
        .iter()
        .filter(|b| b.missing.is_some())
        .map(|b| b.account_id.as_str())
        .collect();
    assert_eq!(untiered.len(), 3, "{:?}", rollup.burn);
    assert!(untiered.iter().all(|a| [denied, throttled, hanging].contains(a)));

    // Bounded by the deadlines, not by the hung member: the items run side by side and the hung one
    // stops at its item deadline at the latest.
    let bound = options.item_timeout + Duration::from_secs(10);
    assert!(
        run.seconds < bound.as_secs_f64(),
        "{:.1} s: {summary}",
        run.seconds
    );
    eprintln!(
        "organisation of 6 accounts, 3 broken after AssumeRole: pass {:.1} s, test {:.1} s",
        run.seconds,
        started.elapsed().as_secs_f64()
    );
}

/// The state machine's three steps (`governance-org-plan` → one `governance-org-account` per member →
/// `governance-org-summary`), called as Step Functions calls them, with the JSON its definition passes
/// (infra/modules/org/state_machine.tf): the same outcome as one process, Cost Explorer asked only by the
/// plan step, the item outcomes handed over through the ledger, and one member whose iteration failed
/// (the Map's `Catch`, here a Lambda timeout) named in the summary while the others complete and the
/// roll-up goes out.
#[tokio::test]
async fn the_state_machine_steps_govern_the_organisation_as_one_process_does() {
    use governance::org::lambda::{
        AccountRequest, OrgHandlerError, OrgLambdaDeps, PlanRequest, SummaryRequest, account_handler,
        account_handler_until, plan_handler, summary_handler,
    };
    let Acme {
        _emulator,
        base,
        management: _,
        _dir,
        accounts,
        org,
        sink,
        now,
    } = Acme::start().await;
    let deps = OrgLambdaDeps {
        org: org.clone(),
        deps: OrgDeps::new(base.clone()),
    };

    // ReadOrganisationCost: what EventBridge Scheduler sends (infra/modules/org: {mode, notify}).
    let request: PlanRequest = serde_json::from_str(r#"{"mode":"run","notify":true}"#).unwrap();
    let plan = plan_handler(request, &deps, now).await.unwrap();
    assert_eq!(plan.accounts, accounts);
    assert!(plan.cost_read && plan.cost_failure.is_none(), "{plan:?}");
    assert_eq!((plan.ce_requests_this_run, plan.ce_requests_today), (2, 2));
    // The state after its ResultSelector, as JSON.
    let state = serde_json::to_value(&plan).unwrap();

    // GovernEachAccount: the first two iterations run; the third's function timed out, and the Map's
    // Catch (AccountFailed) passed on {account, failed, error}.
    let mut outcomes = Vec::new();
    for account in &accounts[..2] {
        let input = serde_json::json!({
            "account": account, "as_of": state["as_of"], "mode": state["mode"],
            "notify": state["notify"], "cost_read": state["cost_read"],
        });
        let request: AccountRequest = serde_json::from_value(input).unwrap();
        let response = account_handler(request, &deps).await.unwrap();
        assert_eq!(response.items, 1);
        assert!(response.failed.is_empty(), "{response:?}");
        outcomes.push(serde_json::json!({ "outcome": response }));
    }
    outcomes.push(serde_json::json!({
        "account": accounts[2], "failed": true,
        "error": {"Error": "States.Timeout", "Cause": "Task timed out after 900.00 seconds"},
    }));
    // An account the organisation does not list is refused, and says which accounts it does list.
    let stranger: AccountRequest = serde_json::from_value(serde_json::json!({
        "account": "999999999999", "as_of": state["as_of"], "mode": "run",
    }))
    .unwrap();
    let refused = account_handler(stranger, &deps).await.unwrap_err();
    assert_eq!(refused.error_type(), "Validation");
    assert!(
        refused
            .to_string()
            .contains("111111111111, 222222222222, 333333333333"),
        "{refused}"
    );

    // Summarise: the whole state, with the Map's results under `outcomes`.
    let mut input = state.clone();
    input["outcomes"] = serde_json::Value::Array(outcomes);
    let request: SummaryRequest = serde_json::from_value(input).unwrap();
    let err = summary_handler(request, &deps).await.unwrap_err();
    let OrgHandlerError::Incomplete(summary) = &err else {
        panic!("{err:?}")
    };
    assert!(summary.contains("3 items, 2 complete, 1 failed"), "{summary}");
    assert!(
        summary.contains(
            "✗ account 333333333333 (member-333333333333) 333333333333/backoffice-dev: item: timeout: \
             the account's function failed: States.Timeout: Task timed out after 900.00 seconds"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("Cost Explorer: 0 request(s) this run, 2 today (today's answer reused)"),
        "{summary}"
    );
    // The governed members have their alarms; the failed one has none.
    let sts = aws_sdk_sts::Client::new(&base);
    for (i, item) in org.items.iter().enumerate() {
        let member = assume_member(&sts, &base, item).await.unwrap();
        assert_eq!(
            alarm_names(&member).await.is_empty(),
            i == 2,
            "{}",
            item.account_id
        );
    }
    // Two platform reports and the roll-up, which names the failed member's platform without a tier.
    let bodies: Vec<String> = sink.received().iter().map(|p| p.body.clone()).collect();
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert!(
        bodies.iter().any(|b| b.contains("Organisation cost — acme")),
        "{bodies:?}"
    );

    // An invocation about to time out starts no item: the item is recorded as not started (so the
    // summary names it), nothing is written in the member, and the function answers in time.
    let late: AccountRequest = serde_json::from_value(serde_json::json!({
        "account": accounts[2], "as_of": state["as_of"], "mode": "run",
        "notify": true, "cost_read": true,
    }))
    .unwrap();
    let deadline = std::time::SystemTime::now() + Duration::from_secs(5);
    let response = account_handler_until(late, &deps, Some(deadline)).await.unwrap();
    assert_eq!(response.failed, [format!("{}/backoffice-dev", accounts[2])]);
    let member = assume_member(&sts, &base, &org.items[2]).await.unwrap();
    assert!(alarm_names(&member).await.is_empty());
    assert_eq!(sink.received().len(), 3, "nothing posted");
}

/// One execution counts its Cost Explorer requests under one day, the day of its `as_of` (the plan
/// step's wall clock, handed to every later step): a plan step started a second before midnight UTC
/// whose read runs after it, or a summary step that runs after midnight, would otherwise count under
/// one day and read back the other's — the summary said "0 today" after two requests.
#[tokio::test]
async fn an_execution_counts_its_cost_explorer_requests_under_its_own_day() {
    use governance::cost_pass::read::CeQuota;
    use governance::org::lambda::{OrgLambdaDeps, PlanRequest, plan_handler};
    use governance::org::ledger::org_ce_counter;
    let acme = Acme::start().await;
    let deps = OrgLambdaDeps {
        org: acme.org.clone(),
        deps: OrgDeps::new(acme.base.clone()),
    };
    // The plan step's clock read a second before today began; its read runs today.
    let today = acme.now.date_naive();
    let started = (today - Days::days(1)).and_hms_opt(23, 59, 59).unwrap().and_utc();
    let request: PlanRequest = serde_json::from_str(r#"{"mode":"plan"}"#).unwrap();
    let plan = plan_handler(request, &deps, started).await.unwrap();
    assert!(plan.cost_read && plan.cost_failure.is_none(), "{plan:?}");
    assert_eq!((plan.ce_requests_this_run, plan.ce_requests_today), (2, 2));
    let ledger = Ledger::new(acme.management.dynamodb.clone(), LEDGER);
    let counted = |day: NaiveDate| {
        let quota = CeQuota {
            ledger: &ledger,
            pk: org_ce_counter("acme"),
            day: day.to_string(),
            cap: 0,
        };
        async move { quota.used().await.unwrap() }
    };
    assert_eq!(
        (counted(started.date_naive()).await, counted(today).await),
        (2, 0),
        "the execution's requests count under its own day"
    );
}
