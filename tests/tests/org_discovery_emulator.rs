//! Member discovery against the emulator's AWS Organizations: an organisation created in moto (the
//! test's own account, 123456789012, is its management account) with members that are tagged, untagged,
//! suspended and badly tagged; what `collectiq-ops org plan` resolves from it (the same `discover` then
//! `run_org` the command runs), and what the state machine's three steps resolve from the membership the
//! plan step records.
//!
//! - `org_plan_governs_tagged_members_and_names_the_rest`
//! - `the_state_machine_steps_share_the_membership_the_plan_step_discovered`
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up: failing loudly is the point

use std::path::Path;

use aws_sdk_organizations::types::Tag;
use chrono::Utc;
use collectiq_tests::Emulator;
use governance::aws::AwsClients;
use governance::ledger::Ledger;
use governance::org::discover::discover;
use governance::org::lambda::{
    AccountRequest, OrgHandlerError, OrgLambdaDeps, PlanRequest, SummaryRequest, account_handler,
    plan_handler, summary_handler,
};
use governance::org::{Mode, OrgDeps, OrgOptions, run_org};
use platform_spec::Organization;
use platform_spec::org::discovery::SkipReason;

const MANAGEMENT: &str = "123456789012"; // moto's default account: the test's own credentials
const LEDGER: &str = "acme-org-ledger";
const TAG: &str = "collectiq:platforms";

/// The emulated organisation's members, by role in the test.
struct Members {
    shop: String,
    sandbox: String,
    old: String,
    bad: String,
}

async fn tag(org: &aws_sdk_organizations::Client, account: &str, value: &str) {
    org.tag_resource()
        .resource_id(account)
        .tags(Tag::builder().key(TAG).value(value).build().unwrap())
        .send()
        .await
        .unwrap();
}

/// The organisation in moto: "Shop Prod" tagged with its platform spec, "Sandbox" untagged, "Old"
/// tagged but closed (SUSPENDED), "Bad Tag" tagged with an absolute path.
async fn members(org: &aws_sdk_organizations::Client) -> Members {
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["Shop Prod", "Sandbox", "Old", "Bad Tag"] {
        let out = org
            .create_account()
            .account_name(name)
            .email(format!("{}@example.com", name.replace(' ', ".")))
            .send()
            .await
            .unwrap();
        ids.push(
            out.create_account_status()
                .and_then(|s| s.account_id())
                .unwrap()
                .to_owned(),
        );
    }
    let m = Members {
        shop: ids[0].clone(),
        sandbox: ids[1].clone(),
        old: ids[2].clone(),
        bad: ids[3].clone(),
    };
    tag(org, &m.shop, "shop-dev.toml").await;
    tag(org, &m.old, "old-dev.toml").await;
    org.close_account().account_id(&m.old).send().await.unwrap();
    tag(org, &m.bad, "/etc/passwd").await;
    m
}

/// The organisation file (discovery only) and the Shop's platform spec (Backoffice dev in its account).
fn organisation(dir: &Path, shop: &str) -> Organization {
    let shipped = std::fs::read_to_string(
        collectiq_tests::workspace_root().join("infra/platforms/backoffice-dev.toml"),
    )
    .unwrap();
    std::fs::write(dir.join("shop-dev.toml"), shipped.replace("210987654321", shop)).unwrap();
    let path = dir.join("org.toml");
    std::fs::write(
        &path,
        format!(
            "[organization]\nname = \"acme\"\nmanagement_account_id = \"{MANAGEMENT}\"\nregion = \"us-east-1\"\n\
             ledger_table = \"{LEDGER}\"\nslack_webhook_secret = \"acme/slack\"\n\n\
             [discovery]\nplatforms_tag = \"{TAG}\"\nrole_name = \"collectiq-governance-member\"\n"
        ),
    )
    .unwrap();
    platform_spec::load_org(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn org_plan_governs_tagged_members_and_names_the_rest() {
    let emulator = Emulator::start().await.unwrap();
    let base = emulator.sdk_config().await;
    let deps = OrgDeps::new(base.clone());
    let m = members(&deps.organizations).await;
    let dir = tempfile::tempdir().unwrap();
    let file = organisation(dir.path(), &m.shop);
    assert!(file.items.is_empty(), "nothing is governed before discovery");

    let org = discover(&file, &deps.organizations).await.unwrap();
    let ids: Vec<String> = org.items.iter().map(platform_spec::OrgItem::id).collect();
    assert_eq!(ids, [format!("{}/backoffice-dev", m.shop)]);
    let shop = &org.items[0];
    assert_eq!(shop.account_name, "shop-prod");
    assert_eq!(
        shop.role_arn,
        format!("arn:aws:iam::{}:role/collectiq-governance-member", m.shop)
    );
    let membership = org.membership.as_ref().unwrap();
    assert_eq!(membership.listed, 5, "the management account and four members");
    let reason = |id: &str| {
        membership
            .skipped
            .iter()
            .find(|s| s.account_id == id)
            .map(|s| s.reason.clone())
    };
    assert_eq!(reason(MANAGEMENT), Some(SkipReason::Untagged));
    assert_eq!(reason(&m.sandbox), Some(SkipReason::Untagged));
    assert_eq!(reason(&m.old), Some(SkipReason::NotActive("SUSPENDED".into())));
    assert_eq!(membership.rejected.len(), 1, "{}", membership.render());
    assert_eq!(membership.rejected[0].account_id, m.bad);
    // Tags are read for the ACTIVE accounts only: the management account, Shop, Sandbox, Bad Tag.
    assert_eq!(membership.tag_requests, 4);

    // `org plan`: the discovered member is governed through its role like a listed one; the rejected
    // tag fails the pass (exit 2) and is named with its account, tag and reason.
    let mut options = OrgOptions::new(&org, Mode::Plan, Utc::now());
    options.cost = false;
    let plan = run_org(&org, &deps, &options).await;
    let summary = plan.render_summary();
    assert_eq!(plan.items.len(), 1, "{summary}");
    assert!(plan.items[0].ok(), "{summary}");
    assert!(plan.items[0].publish.as_ref().unwrap().creates > 5, "{summary}");
    assert!(!plan.ok(), "a rejected tag fails the pass: {summary}");
    assert!(
        summary.contains(&format!(
            "✗ account {} (\"Bad Tag\"): tag {TAG}: platforms entry 1: expected a relative path to a .toml platform spec, found \"/etc/passwd\"",
            m.bad
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "· skipped account {} (\"Sandbox\"): no platforms tag",
            m.sandbox
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "· skipped account {} (\"Old\"): SUSPENDED, not ACTIVE",
            m.old
        )),
        "{summary}"
    );
    assert_eq!(
        plan.calls.get("organizations:ListAccounts"),
        Some(&1),
        "{:?}",
        plan.calls
    );
    assert_eq!(
        plan.calls.get("organizations:ListTagsForResource"),
        Some(&4),
        "{:?}",
        plan.calls
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["discovery"]["rejected"][0]["account_id"], m.bad.as_str());
}

#[tokio::test]
async fn the_state_machine_steps_share_the_membership_the_plan_step_discovered() {
    let emulator = Emulator::start().await.unwrap();
    let base = emulator.sdk_config().await;
    let deps = OrgDeps::new(base.clone());
    Ledger::create_table(&AwsClients::new(&base).dynamodb, LEDGER)
        .await
        .unwrap();
    let m = members(&deps.organizations).await;
    let dir = tempfile::tempdir().unwrap();
    let deps = OrgLambdaDeps {
        org: organisation(dir.path(), &m.shop),
        deps,
    };

    let now = Utc::now();
    let request: PlanRequest = serde_json::from_str(r#"{"mode":"plan"}"#).unwrap();
    let plan = plan_handler(request, &deps, now).await.unwrap();
    assert_eq!(plan.accounts, std::slice::from_ref(&m.shop));

    // The Map iteration of the discovered account finds it in the recorded membership.
    let request: AccountRequest = serde_json::from_value(serde_json::json!({
        "account": m.shop, "as_of": plan.as_of, "mode": "plan", "cost_read": false,
    }))
    .unwrap();
    let response = account_handler(request, &deps).await.unwrap();
    assert_eq!(response.items, 1);
    assert!(response.failed.is_empty(), "{response:?}");
    // An account discovery skipped is not governed by a forged iteration.
    let request: AccountRequest = serde_json::from_value(serde_json::json!({
        "account": m.sandbox, "as_of": plan.as_of, "mode": "plan",
    }))
    .unwrap();
    let refused = account_handler(request, &deps).await.unwrap_err();
    assert_eq!(refused.error_type(), "Validation", "{refused}");

    let mut state = serde_json::to_value(&plan).unwrap();
    state["outcomes"] = serde_json::json!([{"outcome": response}]);
    let request: SummaryRequest = serde_json::from_value(state).unwrap();
    let err = summary_handler(request, &deps).await.unwrap_err();
    let OrgHandlerError::Incomplete(summary) = &err else {
        panic!("{err:?}")
    };
    assert!(
        summary.contains(&format!("✓ {}/backoffice-dev [shop-prod]", m.shop)),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("✗ account {} (\"Bad Tag\"): tag {TAG}: ", m.bad)),
        "{summary}"
    );
    assert!(
        summary.contains("5 account(s) listed, 1 governed by tag, 3 skipped, 1 rejected"),
        "{summary}"
    );
}
