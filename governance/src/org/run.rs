//! One organisation pass in one process: every account × platform item through its assumed role, with
//! bounded concurrency, each item isolated from the others, and a summary of what failed where.
//!
//! ```text
//! management account: Cost Explorer ×1–2 (cached for the day) ─► LinkedCost ─┐
//! for each item (≤ max_concurrency at once, one at a time per account):      │
//!   sts:AssumeRole ─► member clients ─► dashboards + alarms plan [apply]      │
//!                                    └► cost report from its slice ◄─────────┘
//! every outcome ─► organisation roll-up ─► summary (and Slack, once a day)
//! ```
//!
//! **Quotas.** Items of one account run one after another (a lock per account): CloudWatch's
//! `PutMetricAlarm`/`DeleteAlarms` quotas (3 TPS per account and region) are then held by the publish
//! pass's own pacer, however many accounts run at once. Cost Explorer is called in the management
//! account only (see [`super::cost`]).
//!
//! **Isolation.** An item's failure (the role cannot be assumed, CloudWatch throttles, the item runs past
//! its deadline, even a panic) is recorded on that item with its stage and [`ErrorClass`] and never stops
//! another. The Step Functions state machine (`infra/modules/org`) does the same with a Map state whose
//! iterations each `Catch` their own error; this is its one-process twin (`collectiq-ops org`).

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alarms::catalogue::Severity;
use aws_error::{AwsCallError, ErrorClass};
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::join_all;
use platform_spec::{Membership, OrgItem, Organization, PlatformSpec};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::sync::{Mutex, Semaphore};

use super::assume::{AssumeError, assume_member};
use super::cost::{LinkedCost, PayerQuery, PayerRead};
use super::ledger::{AccountLedger, org_ce_counter};
use super::reads::OrgReads;
use super::rollup::{ItemBurn, OrgRollup, rollup};
use crate::aws::AwsClients;
use crate::cost_pass::counting::{ApiCalls, RequestCounter};
use crate::cost_pass::{CostPassError, PassContext, PassOptions, SdkChannels, SdkReads};
use crate::ledger::Ledger;
use crate::publish::alarms::TagAudit;
use crate::publish::cloudwatch::with_publishing_retries;
use crate::publish::{ApplyOptions, Desired, NoProgress, PublishError, apply_all, plan_all_with};

/// Read and plan only, or apply and (with `notify`) post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Assume every role, plan dashboards and alarms, build every cost report; write nothing to AWS
    /// except the ledger's cache.
    Plan,
    /// Also apply the plans (and post when asked).
    Run,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct OrgOptions {
    /// Plan or run.
    pub mode: Mode,
    /// "Now" of the reports.
    pub as_of: DateTime<Utc>,
    /// Post every platform's report to its channel and the roll-up to the organisation's (run only).
    pub notify: bool,
    /// Plan (and apply) dashboards and alarms.
    pub publish: bool,
    /// Build the cost reports and the roll-up.
    pub cost: bool,
    /// Items at once.
    pub max_concurrency: usize,
    /// Longest one item may take.
    pub item_timeout: Duration,
    /// Longest `sts:AssumeRole` may take.
    pub sts_timeout: Duration,
    /// Alarm writes per second within one account (CloudWatch allows 3).
    pub alarm_writes_per_second: f64,
    /// Also read untagged spend per account (a second Cost Explorer request a day).
    pub untagged_query: bool,
    /// `as_of` is a day before today: each report's budget spend comes from Cost Explorer up to that
    /// day, no forecast is asked for and nothing is posted ([`PassOptions::past_day`]).
    pub past_day: bool,
}

impl OrgOptions {
    /// The instant Cost Explorer requests count under: a run for today counts under its own day
    /// (`as_of`, the plan step's wall clock in every step of one state-machine execution), so a step
    /// after midnight UTC reads and writes the count the plan step made; a past day pays the real day.
    fn ce_counting_instant(&self) -> DateTime<Utc> {
        if self.past_day { Utc::now() } else { self.as_of }
    }

    /// The organisation spec's settings, for `mode` at `as_of`, posting nothing.
    #[must_use]
    pub fn new(org: &Organization, mode: Mode, as_of: DateTime<Utc>) -> Self {
        let o = &org.spec.organization;
        Self {
            mode,
            as_of,
            notify: false,
            publish: true,
            cost: true,
            max_concurrency: o.max_concurrency as usize,
            item_timeout: Duration::from_secs(u64::from(o.item_timeout_s)),
            sts_timeout: Duration::from_secs(10),
            alarm_writes_per_second: ApplyOptions::default().writes_per_second,
            untagged_query: true,
            past_day: false,
        }
    }
}

/// What the pass runs with: the governance account's own configuration (STS is called with it) and its
/// clients (Cost Explorer in the management account, the organisation's ledger, the roll-up's secret).
#[derive(Debug, Clone)]
pub struct OrgDeps {
    /// The configuration member sessions are derived from (endpoint, retries, HTTP client).
    pub base: SdkConfig,
    /// Clients in the management account.
    pub management: AwsClients,
    /// AWS Organizations in the management account (member discovery).
    pub organizations: aws_sdk_organizations::Client,
}

impl OrgDeps {
    /// All from one configuration.
    #[must_use]
    pub fn new(base: SdkConfig) -> Self {
        let management = AwsClients::new(&base);
        let organizations = aws_sdk_organizations::Client::new(&base);
        Self {
            base,
            management,
            organizations,
        }
    }
}

/// Which part of an item failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// `sts:AssumeRole` into the member account.
    AssumeRole,
    /// Dashboards and alarms.
    Publish,
    /// The cost report.
    Cost,
    /// The item as a whole (deadline, panic).
    Item,
}

impl Stage {
    /// `assume role`, `publish`, ...
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::AssumeRole => "assume role",
            Self::Publish => "publish",
            Self::Cost => "cost",
            Self::Item => "item",
        }
    }
}

#[allow(clippy::ref_option)] // serde's `serialize_with` hands the field by reference
fn class_name<S: Serializer>(class: &Option<ErrorClass>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(class.map_or("unclassified", ErrorClass::as_str))
}

/// The class back from its name (`unclassified`, or an unknown name: none).
fn class_from_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorClass>, D::Error> {
    let name = String::deserialize(d)?;
    Ok(ErrorClass::ALL.into_iter().find(|c| c.as_str() == name))
}

/// One failure of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Where.
    pub stage: Stage,
    /// The AWS failure class (`access_denied`, `throttled`, `timeout`, …), when it is an AWS failure.
    #[serde(serialize_with = "class_name", deserialize_with = "class_from_name")]
    pub class: Option<ErrorClass>,
    /// What happened.
    pub message: String,
}

/// What publishing did (or would do, in a plan).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishSummary {
    /// Dashboards and alarms to create (plan) or created (run).
    pub creates: usize,
    /// To update / updated.
    pub updates: usize,
    /// To delete / deleted.
    pub deletes: usize,
    /// Write calls made (run).
    pub write_calls: usize,
    /// Writes the endpoint does not implement (the emulator and `PutCompositeAlarm`), by name: not
    /// failures of the item, but not in the account either.
    pub not_implemented: Vec<String>,
    /// Monthly change in USD.
    pub monthly_delta_usd: Decimal,
    /// The environment's generated alarms that notify and were in ALARM when they were read (before
    /// this run's writes), critical first: the organisation's alarm state, rolled up across accounts.
    #[serde(default)]
    pub firing: Vec<FiringAlarm>,
    /// The spec's HTTP APIs whose deployed id was not found in the account (one line each, naming why):
    /// their alarms and widgets watch the spec's id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved_api_ids: Vec<String>,
}

/// One generated alarm in ALARM in a member account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiringAlarm {
    /// `AlarmName`.
    pub name: String,
    /// Who it notifies (stored as `critical` / `warning`).
    pub severity: Severity,
    /// Since when.
    pub since: DateTime<Utc>,
}

impl PublishSummary {
    /// How many of [`PublishSummary::firing`] are critical and how many warnings.
    #[must_use]
    pub fn firing_counts(&self) -> (usize, usize) {
        let critical = self
            .firing
            .iter()
            .filter(|f| f.severity == Severity::Critical)
            .count();
        (critical, self.firing.len() - critical)
    }
}

/// The catalogue's notifying alarms in ALARM among `published`, critical first, then longest firing.
/// Composite inputs (no actions) are left out, as on-call never hears of them alone; an alarm the
/// catalogue does not hold (another environment's, a hand-made one) is not this item's.
fn firing_of(
    desired: &Desired,
    published: &[crate::publish::cloudwatch::PublishedAlarm],
) -> Vec<FiringAlarm> {
    let managed: HashMap<&str, &alarms::catalogue::AlarmDefinition> = desired
        .catalogue
        .alarms
        .iter()
        .filter(|d| d.notifies)
        .map(|d| (d.name(), d))
        .collect();
    let mut firing: Vec<FiringAlarm> = published
        .iter()
        .filter(|p| p.status.state == alarms::state::StateValue::Alarm)
        .filter_map(|p| {
            let def = managed.get(p.alarm.name())?;
            Some(FiringAlarm {
                name: p.alarm.name().to_owned(),
                severity: def.severity,
                since: p.status.state_updated,
            })
        })
        .collect();
    // `Severity` orders Critical first.
    firing.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.since.cmp(&b.since))
            .then(a.name.cmp(&b.name))
    });
    firing
}

/// What the cost pass produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostSummary {
    /// The report's headline (`CollectIQ prod (123456789012): $312.40 MTD (62.5% of $500.00) — WARNING`).
    pub headline: String,
    /// The Cost Explorer spend the report saw (its slice of the organisation's query), USD.
    pub spend_usd: Decimal,
    /// Budget tier threshold reached (0, 80, 100, 120, 150).
    pub tier_pct: u32,
    /// Worst budget's actual spend in percent, when a budget was read.
    pub actual_pct: Option<Decimal>,
    /// Whether the report went to the platform's Slack channel in this run.
    pub slack_posted: bool,
    /// Notes the report carries (budgets missing, forecast not requested, ...).
    pub notes: Vec<String>,
}

/// The outcome of one account × platform item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemOutcome {
    /// `<account>/<platform>-<env>`.
    pub item: String,
    /// The member account.
    pub account_id: String,
    /// Its readable name.
    pub account_name: String,
    /// Platform.
    pub platform: String,
    /// Environment.
    pub environment: String,
    /// Everything that failed (empty: the item is complete).
    pub failures: Vec<Failure>,
    /// Dashboards and alarms.
    pub publish: Option<PublishSummary>,
    /// The cost report.
    pub cost: Option<CostSummary>,
    /// Whether the account holds other platforms (its cost slice is then its environment's share when
    /// another has another environment, else the whole account's).
    pub shared_account: bool,
    /// AWS requests the item made, by operation.
    pub calls: ApiCalls,
    /// Wall time of the item, seconds.
    pub seconds: f64,
}

/// An item's budget tier as its own report computed it, for the roll-up (here rather than in
/// `rollup`, which then needs nothing from this module).
impl From<&ItemOutcome> for ItemBurn {
    fn from(item: &ItemOutcome) -> Self {
        Self {
            item: item.item.clone(),
            account_id: item.account_id.clone(),
            tier_pct: item.cost.as_ref().map(|c| c.tier_pct),
            actual_pct: item.cost.as_ref().and_then(|c| c.actual_pct),
            firing: item
                .publish
                .as_ref()
                .map(|p| p.firing.iter().map(|f| (f.name.clone(), f.severity)).collect())
                .unwrap_or_default(),
            missing: item.cost.is_none().then(|| {
                item.failures.first().map_or_else(
                    || "no cost report".to_owned(),
                    |f| format!("{}: {}", f.stage.label(), f.message),
                )
            }),
        }
    }
}

impl ItemOutcome {
    /// Whether nothing failed.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The outcome of the whole pass.
#[derive(Debug, Clone, Serialize)]
pub struct OrgRun {
    /// The organisation.
    pub organization: String,
    /// Plan or run.
    pub mode: Mode,
    /// Every item, in the organisation file's order (discovered accounts' last).
    pub items: Vec<ItemOutcome>,
    /// What member discovery found and left out, when the organisation has `[discovery]`.
    pub discovery: Option<Membership>,
    /// Why the organisation's cost could not be read (the cost reports were then skipped).
    pub cost_failure: Option<Failure>,
    /// Cost Explorer requests this run sent.
    pub ce_requests_this_run: u32,
    /// Cost Explorer requests the organisation made today (≤ its cap).
    pub ce_requests_today: u64,
    /// Whether the organisation's cost came from today's cache.
    pub ce_cached: bool,
    /// The roll-up, when cost was read.
    pub rollup: Option<OrgRollup>,
    /// Whether the roll-up was posted in this run, or why not.
    pub rollup_delivery: Option<String>,
    /// The roll-up was due and could not be posted (see [`super::rollup::RollupDelivery::failed`]).
    pub rollup_failed: bool,
    /// What publishing the organisation overview dashboard did (a run that publishes), or why it failed.
    pub overview: Option<Result<String, String>>,
    /// Every AWS request of the run (items, Cost Explorer, ledger), by `service:Operation`.
    pub calls: BTreeMap<String, u64>,
    /// Wall time, seconds.
    pub seconds: f64,
}

impl OrgRun {
    /// The items that failed.
    #[must_use]
    pub fn failed(&self) -> Vec<&ItemOutcome> {
        self.items.iter().filter(|i| !i.ok()).collect()
    }

    /// Whether every item completed, the organisation's cost was read, the roll-up due was posted and no
    /// account's platforms tag was rejected.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.cost_failure.is_none()
            && !self.rollup_failed
            && !matches!(self.overview, Some(Err(_)))
            && self.items.iter().all(ItemOutcome::ok)
            && self.discovery.as_ref().is_none_or(|m| m.rejected.is_empty())
    }

    /// The summary a person reads: one line per item, then what failed where and why.
    #[must_use]
    pub fn render_summary(&self) -> String {
        let mut out = format!(
            "organisation {} ({}): {} items, {} complete, {} failed — {:.1} s\n",
            self.organization,
            match self.mode {
                Mode::Plan => "plan",
                Mode::Run => "run",
            },
            self.items.len(),
            self.items.iter().filter(|i| i.ok()).count(),
            self.failed().len(),
            self.seconds
        );
        for item in &self.items {
            let mark = if item.ok() { "✓" } else { "✗" };
            let mut parts = Vec::new();
            if let Some(p) = &item.publish {
                let skipped = if p.not_implemented.is_empty() {
                    String::new()
                } else {
                    format!(", {} not implemented by the endpoint", p.not_implemented.len())
                };
                parts.push(format!(
                    "publish +{} ~{} -{} ({}/mo{skipped})",
                    p.creates,
                    p.updates,
                    p.deletes,
                    crate::publish::signed_usd(p.monthly_delta_usd)
                ));
                if !p.firing.is_empty() {
                    parts.push(format!(
                        "{} alarm(s) in ALARM ({} critical)",
                        p.firing.len(),
                        p.firing_counts().0
                    ));
                }
                parts.extend(p.unresolved_api_ids.iter().cloned());
            }
            if let Some(c) = &item.cost {
                parts.push(c.headline.clone());
            }
            out.push_str(&format!(
                "  {mark} {} [{}] {}\n",
                item.item,
                item.account_name,
                parts.join(" · ")
            ));
        }
        if let Some(m) = &self.discovery {
            out.push_str(&m.render());
        }
        out.push_str(&format!(
            "Cost Explorer: {} request(s) this run, {} today{}\n",
            self.ce_requests_this_run,
            self.ce_requests_today,
            if self.ce_cached {
                " (today's answer reused)"
            } else {
                ""
            }
        ));
        if self.rollup_failed
            && let Some(d) = &self.rollup_delivery
        {
            out.push_str(&format!("✗ organisation roll-up: {d}\n"));
        }
        match &self.overview {
            Some(Ok(done)) => out.push_str(&format!("organisation overview dashboard: {done}\n")),
            Some(Err(why)) => out.push_str(&format!("✗ organisation overview dashboard: {why}\n")),
            None => {}
        }
        if let Some(f) = &self.cost_failure {
            out.push_str(&format!(
                "✗ organisation cost ({}): {}\n",
                class_label(f.class),
                f.message
            ));
        }
        let failed = self.failed();
        let rejected = self.discovery.as_ref().map_or(&[][..], |m| &m.rejected[..]);
        if !failed.is_empty() || !rejected.is_empty() {
            out.push_str("Failed:\n");
            for r in rejected {
                out.push_str(&format!(
                    "  ✗ {r} — fix or remove the tag; the account was not governed\n"
                ));
            }
            for item in failed {
                for f in &item.failures {
                    out.push_str(&format!(
                        "  ✗ account {} ({}) {}: {}: {}: {}\n",
                        item.account_id,
                        item.account_name,
                        item.item,
                        f.stage.label(),
                        class_label(f.class),
                        f.message
                    ));
                }
            }
        }
        out
    }
}

fn class_label(class: Option<ErrorClass>) -> &'static str {
    class.map_or("unclassified", ErrorClass::as_str)
}

/// Where a stage takes the organisation's cost from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource {
    /// Today's cache when it covers the window, else Cost Explorer (the one-process pass and the state
    /// machine's plan step).
    CostExplorer,
    /// Today's cache only: the state machine's later steps, which may not call Cost Explorer.
    TodaysCache,
}

/// The organisation's cost as one stage got it: read, or why not.
#[derive(Debug, Clone, Default)]
pub struct OrgCost {
    /// The spend, when read.
    pub read: Option<PayerRead>,
    /// Why not, when it was asked for.
    pub failure: Option<Failure>,
    /// What a failed read cost: requests sent, requests counted today.
    failed_ce: (u32, u64),
}

impl OrgCost {
    /// The cost was not read, for `failure` (as a plan step reported it).
    #[must_use]
    pub fn failed(failure: Failure) -> Self {
        Self {
            failure: Some(failure),
            ..Self::default()
        }
    }

    /// The cost was not asked for.
    #[must_use]
    pub fn skipped() -> Self {
        Self::default()
    }

    /// The spend, shareable between items.
    #[must_use]
    pub fn linked(&self) -> Option<Arc<LinkedCost>> {
        self.read.as_ref().map(|p| Arc::new(p.cost.clone()))
    }

    /// Cost Explorer requests this stage sent.
    #[must_use]
    pub fn ce_requests_this_run(&self) -> u32 {
        self.read
            .as_ref()
            .map_or(self.failed_ce.0, |p| p.ce_requests_this_run)
    }

    /// Cost Explorer requests the organisation made today.
    #[must_use]
    pub fn ce_requests_today(&self) -> u64 {
        self.read
            .as_ref()
            .map_or(self.failed_ce.1, |p| p.ce_requests_today)
    }
}

/// Cost Explorer answers for the whole organisation only in its management (payer) account: read in a
/// member or a delegated administrator account, every other account's spend would come back as $0 and
/// be reported so. The credentials' account (`sts:GetCallerIdentity`) must be the spec's
/// `management_account_id`.
///
/// # Errors
/// A [`Stage::Cost`] failure naming both accounts, or the failed call.
pub async fn check_payer(base: &SdkConfig, org: &Organization) -> Result<(), Failure> {
    let o = &org.spec.organization;
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(base)
            .region(aws_config::Region::new(o.region.clone()))
            .build(),
    );
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(AwsCallError::of("STS", "GetCallerIdentity"))
        .map_err(|e| Failure {
            stage: Stage::Cost,
            class: Some(e.class()),
            message: format!("cannot tell which account reads Cost Explorer: {e}"),
        })?;
    match identity.account() {
        Some(account) if account == o.management_account_id => Ok(()),
        other => Err(Failure {
            stage: Stage::Cost,
            class: None,
            message: format!(
                "Cost Explorer would be read in account {}, not the organisation's management account {} \
                 ([organization].management_account_id): only the payer sees every member's spend — run \
                 with the management account's credentials",
                other.unwrap_or("?"),
                o.management_account_id
            ),
        }),
    }
}

/// Stage 1: the organisation's cost over the window every item's report needs, from `source`; a
/// failure is returned in [`OrgCost::failure`], never raised (dashboards and alarms still run). A read
/// from Cost Explorer is made only with the payer's credentials ([`check_payer`] on `base`).
pub async fn read_org_cost(
    org: &Organization,
    base: &SdkConfig,
    management: &AwsClients,
    ledger: &Ledger,
    options: &OrgOptions,
    source: CostSource,
) -> OrgCost {
    if !options.cost {
        return OrgCost::skipped();
    }
    if source == CostSource::CostExplorer
        && let Err(f) = check_payer(base, org).await
    {
        return OrgCost::failed(f);
    }
    let o = &org.spec.organization;
    let today = options.as_of.date_naive();
    let start = org
        .items
        .iter()
        .map(|i| crate::cost_pass::pass::needed_from(today, &crate::cost_pass::report_settings(&i.spec)))
        .min()
        .unwrap_or(today);
    let end = today.succ_opt().unwrap_or(today);
    let query = PayerQuery {
        ce: &management.cost_explorer,
        ledger,
        org_name: &o.name,
        cap: o.ce_daily_request_cap,
        untagged: options.untagged_query,
    };
    let mut sent = 0;
    // The day requests count under: a run for today counts under its own day (`as_of`, the plan
    // step's wall clock in every step of one state-machine execution), so the summary step after
    // midnight UTC reads back the count the plan step made; a past day pays the real day. One
    // reading, so a failed read's count is read back from the day it counted under.
    let now = options.ce_counting_instant();
    let read = match source {
        CostSource::CostExplorer => {
            query
                .read_counting_at(start, end, options.as_of, now, &mut sent)
                .await
        }
        CostSource::TodaysCache => match query.cached_at(start, end, options.as_of, now).await {
            Ok(Some(read)) => Ok(read),
            Ok(None) => {
                return OrgCost::failed(Failure {
                    stage: Stage::Cost,
                    class: None,
                    message: format!(
                        "today's organisation cost is not in the ledger {}: the plan step did not read it (see its log)",
                        o.ledger_table
                    ),
                });
            }
            Err(e) => Err(e),
        },
    };
    match read {
        Ok(read) => OrgCost {
            read: Some(read),
            ..OrgCost::default()
        },
        Err(e) => OrgCost {
            read: None,
            // What the failed read cost still counts against the day's cap: say so.
            failed_ce: (
                sent,
                ledger
                    .counter(&org_ce_counter(&o.name), &now.date_naive().to_string())
                    .await
                    .unwrap_or(u64::from(sent)),
            ),
            failure: Some(Failure {
                stage: Stage::Cost,
                class: e.class(),
                message: e.to_string(),
            }),
        },
    }
}

/// Runs the organisation pass in one process: [`read_org_cost`], [`govern_items`] for every item,
/// [`finish`].
pub async fn run_org(org: &Organization, deps: &OrgDeps, options: &OrgOptions) -> OrgRun {
    let started = Instant::now();
    let counter = RequestCounter::new();
    let management = counter.attach(&deps.management);
    let ledger = Arc::new(Ledger::new(
        management.dynamodb.clone(),
        &org.spec.organization.ledger_table,
    ));
    let cost = read_org_cost(
        org,
        &deps.base,
        &management,
        &ledger,
        options,
        CostSource::CostExplorer,
    )
    .await;
    let items: Vec<&OrgItem> = org.items.iter().collect();
    let outcomes = govern_items(org, deps, options, &items, &ledger, cost.linked()).await;
    finish(
        org,
        &management,
        &ledger,
        options,
        cost,
        outcomes,
        &counter,
        started,
    )
    .await
}

/// Stage 2: `items` (of `org`) through their assumed roles, with bounded concurrency and one item at a
/// time per account, each isolated (deadline, panic); outcomes in `items`' order.
pub async fn govern_items(
    org: &Organization,
    deps: &OrgDeps,
    options: &OrgOptions,
    items: &[&OrgItem],
    ledger: &Arc<Ledger>,
    linked: Option<Arc<LinkedCost>>,
) -> Vec<ItemOutcome> {
    let o = &org.spec.organization;
    let sts = {
        let config = aws_sdk_sts::config::Builder::from(&deps.base)
            .region(aws_config::Region::new(o.region.clone()))
            .timeout_config(sts_timeouts(deps.base.timeout_config(), options.sts_timeout))
            .build();
        aws_sdk_sts::Client::from_conf(config)
    };
    let semaphore = Arc::new(Semaphore::new(options.max_concurrency.max(1)));
    let mut locks: HashMap<String, Arc<Mutex<()>>> = HashMap::new();
    let per_account = org.by_account();
    // Items share one task: the publish pass's progress callback is not `Send`, and the work is waiting
    // on AWS, not computing. A panic is caught per item, like any other failure.
    let jobs = items.iter().map(|item| {
        let lock = Arc::clone(locks.entry(item.account_id.clone()).or_default());
        let others: Vec<&&OrgItem> = per_account
            .get(item.account_id.as_str())
            .map(|v| {
                v.iter()
                    .filter(|o| o.spec.managed_prefix() != item.spec.managed_prefix())
                    .collect()
            })
            .unwrap_or_default();
        let job = ItemJob {
            item: (*item).clone(),
            // The org spec requires `[platform].shared_account` where an account runs several
            // platforms (so the platform's own publisher draws the same dashboards); the spec may
            // also say so for an account shared with platforms outside this organisation.
            shared_account: !others.is_empty() || item.spec.platform.shared_account,
            // The Environment tag tells its spend from the account's other environments'; platforms of
            // its own environment share that share.
            environment_share: others
                .iter()
                .any(|o| o.spec.platform.environment != item.spec.platform.environment),
            same_environment: others
                .iter()
                .filter(|o| o.spec.platform.environment == item.spec.platform.environment)
                .map(|o| o.spec.managed_prefix())
                .collect(),
            base: deps.base.clone(),
            sts: sts.clone(),
            ledger: Arc::clone(ledger),
            org_ce_counter: org_ce_counter(&o.name),
            linked: linked.clone(),
            options: options.clone(),
        };
        let semaphore = Arc::clone(&semaphore);
        let timeout = options.item_timeout;
        async move {
            // The account's lock first, then a slot: a slot is never held waiting for an account.
            let _account = lock.lock().await;
            let _slot = semaphore.acquire_owned().await;
            let t0 = Instant::now();
            let counter = RequestCounter::new();
            let mut outcome = job.skeleton();
            let work = AssertUnwindSafe(tokio::time::timeout(timeout, job.run(&counter))).catch_unwind();
            match work.await {
                Ok(Ok(done)) => outcome = done,
                Ok(Err(_)) => outcome.failures.push(Failure {
                    stage: Stage::Item,
                    class: Some(ErrorClass::Timeout),
                    message: format!("did not finish within {} s", timeout.as_secs_f64()),
                }),
                Err(_) => outcome.failures.push(Failure {
                    stage: Stage::Item,
                    class: None,
                    message: "the item panicked (see the log)".into(),
                }),
            }
            outcome.calls = counter.snapshot();
            outcome.seconds = t0.elapsed().as_secs_f64();
            outcome
        }
    });
    join_all(jobs.collect::<Vec<_>>()).await
}

/// Stage 3: the roll-up (posted when running with `notify`, once a day) and the run's outcome.
/// `management` is the management account's counted clients, `counter` the one they count into.
#[allow(clippy::too_many_arguments)] // the pass's three stages hand over exactly these
pub async fn finish(
    org: &Organization,
    management: &AwsClients,
    ledger: &Ledger,
    options: &OrgOptions,
    cost: OrgCost,
    items: Vec<ItemOutcome>,
    counter: &RequestCounter,
    started: Instant,
) -> OrgRun {
    let o = &org.spec.organization;
    let rollup = cost.read.as_ref().map(|p| {
        let burns: Vec<ItemBurn> = items.iter().map(ItemBurn::from).collect();
        let names: BTreeMap<String, String> = org
            .spec
            .accounts
            .iter()
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        rollup(
            &o.name,
            options.as_of.date_naive(),
            &p.cost,
            &names,
            &burns,
            p.ce_requests_today,
        )
    });
    let delivery = match (&rollup, options.mode, options.notify && !options.past_day) {
        (Some(r), Mode::Run, true) => {
            Some(super::rollup::post(r, management, ledger, &o.slack_webhook_secret).await)
        }
        _ => None,
    };
    let rollup_failed = delivery.as_ref().is_some_and(|d| d.failed);
    let rollup_delivery = delivery.map(|d| d.said);
    let overview = if options.mode == Mode::Run && options.publish {
        Some(publish_overview(org, management, &items).await)
    } else {
        None
    };

    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    for call in counter
        .snapshot()
        .calls
        .iter()
        .chain(items.iter().flat_map(|i| i.calls.calls.iter()))
    {
        *calls
            .entry(format!("{}:{}", call.service, call.operation))
            .or_default() += u64::from(call.count);
    }
    if let Some(m) = &org.membership {
        for (operation, count) in [
            ("ListAccounts", m.list_requests),
            ("ListTagsForResource", m.tag_requests),
        ] {
            if count > 0 {
                *calls.entry(format!("organizations:{operation}")).or_default() += u64::from(count);
            }
        }
    }
    OrgRun {
        organization: o.name.clone(),
        mode: options.mode,
        items,
        discovery: org.membership.clone(),
        ce_requests_this_run: cost.ce_requests_this_run(),
        ce_requests_today: cost.ce_requests_today(),
        ce_cached: cost.read.as_ref().is_some_and(|p| p.cached),
        cost_failure: cost.failure,
        rollup,
        rollup_delivery,
        rollup_failed,
        overview,
        calls,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Publishes the organisation overview ([`super::overview`]) in the management (monitoring) account:
/// the members with the most critical alarms firing first, then by account id.
async fn publish_overview(
    org: &Organization,
    management: &AwsClients,
    items: &[ItemOutcome],
) -> Result<String, String> {
    use super::overview::{OverviewAccount, managed_prefix, overview};
    let o = &org.spec.organization;
    // Alarms firing per account, in one pass over the items.
    let mut firing: HashMap<&str, (usize, usize)> = HashMap::new();
    for item in items {
        if let Some(p) = &item.publish {
            let (critical, warning) = p.firing_counts();
            let sum = firing.entry(item.account_id.as_str()).or_default();
            *sum = (sum.0 + critical, sum.1 + warning);
        }
    }
    let mut accounts: Vec<OverviewAccount> = org
        .by_account()
        .into_iter()
        .map(|(id, its)| OverviewAccount {
            id: id.to_owned(),
            name: its[0].account_name.clone(),
            platforms: its.iter().map(|i| i.spec.managed_prefix()).collect(),
            firing: firing.get(id).copied().unwrap_or_default(),
        })
        .collect();
    accounts.sort_by(|a, b| b.firing.cmp(&a.firing).then(a.id.cmp(&b.id)));
    let dashboard = overview(&o.name, &o.region, &accounts).map_err(|e| e.to_string())?;
    let prefix = managed_prefix(&o.name);
    let cw = with_publishing_retries(&management.cloudwatch);
    let plan = crate::publish::dashboards::plan(&cw, std::slice::from_ref(&dashboard), &prefix)
        .await
        .map_err(|e| e.to_string())?;
    let report = crate::publish::dashboards::apply(&cw, &plan, &NoProgress).await;
    if let Some(f) = report.failures.first() {
        return Err(format!("{} ({}): {}", f.name, f.action, f.error));
    }
    Ok(if report.write_calls == 0 {
        format!("{} unchanged", dashboard.name)
    } else {
        format!("{} written ({} account(s))", dashboard.name, accounts.len())
    })
}

/// The base configuration's timeouts (connect, per attempt, read) with `AssumeRole`'s own operation
/// timeout: setting only the operation timeout would drop the others, and a member whose STS never
/// answers would then hold its attempt until the operation timeout, with no connect timeout at all.
fn sts_timeouts(base: Option<&TimeoutConfig>, operation: Duration) -> TimeoutConfig {
    let mut b = TimeoutConfig::builder().operation_timeout(operation);
    if let Some(t) = base.and_then(TimeoutConfig::connect_timeout) {
        b = b.connect_timeout(t);
    }
    if let Some(t) = base.and_then(TimeoutConfig::operation_attempt_timeout) {
        b = b.operation_attempt_timeout(t.min(operation));
    }
    if let Some(t) = base.and_then(TimeoutConfig::read_timeout) {
        b = b.read_timeout(t);
    }
    b.build()
}

/// An item's outcome before it ran: no result, no failure.
#[must_use]
pub fn skeleton_of(item: &OrgItem, shared_account: bool) -> ItemOutcome {
    ItemOutcome {
        item: item.id(),
        account_id: item.account_id.clone(),
        account_name: item.account_name.clone(),
        platform: item.spec.platform.name.clone(),
        environment: item.spec.platform.environment.clone(),
        failures: Vec::new(),
        publish: None,
        cost: None,
        shared_account,
        calls: ApiCalls::default(),
        seconds: 0.0,
    }
}

/// One item's work, owned so it can run on its own task.
struct ItemJob {
    item: OrgItem,
    shared_account: bool,
    /// Another platform of the account has another environment: this one's spend is its
    /// environment's share ([`LinkedCost::page_for`]).
    environment_share: bool,
    /// The account's other platforms of this environment (they share that share).
    same_environment: Vec<String>,
    base: SdkConfig,
    sts: aws_sdk_sts::Client,
    ledger: Arc<Ledger>,
    org_ce_counter: String,
    linked: Option<Arc<LinkedCost>>,
    options: OrgOptions,
}

impl ItemJob {
    fn skeleton(&self) -> ItemOutcome {
        skeleton_of(&self.item, self.shared_account)
    }

    async fn run(self, counter: &RequestCounter) -> ItemOutcome {
        let mut out = self.skeleton();
        let sts = aws_sdk_sts::Client::from_conf(
            self.sts
                .config()
                .to_builder()
                .interceptor(counter.clone())
                .build(),
        );
        let member = match assume_member(&sts, &self.base, &self.item).await {
            Ok(config) => config,
            Err(e) => {
                out.failures.push(Failure {
                    stage: Stage::AssumeRole,
                    class: e.class(),
                    message: match &e {
                        AssumeError::Sts(call) => format!("{call} — {}", call.advice()),
                        AssumeError::Unexpected { .. } => e.to_string(),
                    },
                });
                return out;
            }
        };
        // The member's retries draw on its own quota: its throttles never use up the other members'.
        let clients = counter.attach(&AwsClients::new(&member).with_own_retry_quota(&self.item.account_id));
        if self.options.publish {
            match self.publish(&clients).await {
                Ok((summary, failures)) => {
                    out.publish = Some(summary);
                    out.failures.extend(failures);
                }
                Err(f) => out.failures.push(f),
            }
        }
        if self.options.cost
            && let Some(linked) = &self.linked
        {
            match self.cost(&clients, linked, counter).await {
                Ok(summary) => out.cost = Some(summary),
                Err(f) => out.failures.push(f),
            }
        }
        out
    }

    async fn publish(&self, clients: &AwsClients) -> Result<(PublishSummary, Vec<Failure>), Failure> {
        let (spec, unresolved_api_ids) = with_deployed_api_ids(&clients.apigateway, &self.item.spec).await?;
        let spec = &spec;
        let failed = |e: PublishError| {
            let class = match &e {
                PublishError::Api(api) => Some(api.class()),
                _ => None,
            };
            Failure {
                stage: Stage::Publish,
                class,
                message: e.to_string(),
            }
        };
        let cw = with_publishing_retries(&clients.cloudwatch);
        // In an account other platforms share, `EstimatedCharges` is all of theirs too.
        let billing = if self.shared_account {
            dashboards::catalogue::BillingAccount::Shared
        } else {
            dashboards::catalogue::BillingAccount::Own
        };
        let desired = Desired::for_spec_in(spec, billing).map_err(failed)?;
        // Once a day: every alarm's tags are checked (the five-minute rotation would see a few).
        let plan = plan_all_with(&cw, spec, &desired, TagAudit::all())
            .await
            .map_err(failed)?;
        let view_d = crate::publish::PlanView::of_dashboards(&plan.dashboards);
        let view_a = crate::publish::PlanView::of_alarms(&plan.alarms);
        let mut summary = PublishSummary {
            creates: view_d.create.len() + view_a.create.len(),
            updates: view_d.update.len() + view_a.update.len(),
            deletes: view_d.delete.len() + view_a.delete.len(),
            write_calls: 0,
            not_implemented: Vec::new(),
            monthly_delta_usd: plan.monthly_delta(),
            firing: firing_of(&desired, &plan.alarms.published),
            unresolved_api_ids,
        };
        let mut failures = Vec::new();
        if self.options.mode == Mode::Run {
            let options = ApplyOptions {
                writes_per_second: self.options.alarm_writes_per_second,
                ..ApplyOptions::default()
            };
            let report = apply_all(&cw, &plan, options, |_| NoProgress).await;
            summary.write_calls = report.write_calls();
            summary.not_implemented = report
                .dashboards
                .failures
                .iter()
                .chain(&report.alarms.failures)
                .filter(|f| f.error.is_not_implemented())
                .map(|f| f.name.clone())
                .collect();
            let real = report.real_failures();
            if let Some(first) = real.first() {
                failures.push(Failure {
                    stage: Stage::Publish,
                    class: Some(first.error.class()),
                    message: format!(
                        "{} of {} writes failed; first: {} ({}): {}",
                        real.len(),
                        report.write_calls(),
                        first.name,
                        first.action,
                        first.error
                    ),
                });
            }
        }
        Ok((summary, failures))
    }

    async fn cost(
        &self,
        clients: &AwsClients,
        linked: &LinkedCost,
        counter: &RequestCounter,
    ) -> Result<CostSummary, Failure> {
        let spec = &self.item.spec;
        let reads = OrgReads::new(
            SdkReads::new(clients),
            linked,
            &self.item.account_id,
            &spec.platform.environment,
        )
        .sharing(self.environment_share);
        let ledger = AccountLedger::new(
            self.ledger.as_ref(),
            &self.item.account_id,
            self.org_ce_counter.clone(),
        );
        // Its footer's Cost Explorer count is the organisation's, read under the execution's day as
        // the summary reads it (not the wall clock's, which is the next day after midnight UTC).
        let mut options = PassOptions::new(spec, self.options.as_of)
            .with_notify(self.options.notify && self.options.mode == Mode::Run && !self.options.past_day)
            .with_past_day(self.options.past_day)
            .with_ce_day(self.options.ce_counting_instant().date_naive())
            .for_account(&self.item.account_id);
        // The account's untagged spend comes from the second query, not from its rows.
        options.untagged_by_day = Some(linked.untagged_days(&self.item.account_id));
        // In the report itself, so the platform's channel reads it too, not only the roll-up.
        if self.environment_share {
            options = options.with_note(format!(
                "account {} holds platforms of other environments too: this report's spend is the \
                 Environment={} share of the account's (tagged, plus the untagged), by service pro rata{}",
                self.item.account_id,
                spec.platform.environment,
                if self.same_environment.is_empty() {
                    String::new()
                } else {
                    format!(", which {} shares", self.same_environment.join(", "))
                }
            ));
        } else if self.shared_account {
            options = options.with_note(format!(
                "account {} holds another platform of this environment: this report's spend is the whole \
                 account's (the Environment tag cannot tell them apart)",
                self.item.account_id
            ));
        }
        let run = PassContext {
            spec,
            options: &options,
            reads: &reads,
            ledger: &ledger,
            channels: &SdkChannels::new(clients),
            counter,
        }
        .daily()
        .await
        .map_err(|e| Failure {
            stage: Stage::Cost,
            class: cost_class(&e),
            message: e.to_string(),
        })?;
        // A report built without an input (the member's budgets or metrics could not be read) is not
        // the item's result, posted or not: the item fails, naming what and why, so the summary and the
        // roll-up do not show a tier computed without the budget.
        if !run.missing.is_empty() {
            return Err(Failure {
                stage: Stage::Cost,
                class: run.missing.iter().find_map(|m| m.class),
                message: format!(
                    "report incomplete: missing {}",
                    run.missing
                        .iter()
                        .map(|m| m.what.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            });
        }
        let notes = run.report.notes.clone();
        if run.delivery.failed() {
            return Err(Failure {
                stage: Stage::Cost,
                class: run.delivery.failure_classes.first().copied(),
                message: format!("report not delivered: {}", run.delivery.errors.join("; ")),
            });
        }
        // Another run was sending a record of this platform (it held the send lease): it is that
        // run's — but if that run died, only a later run sends it, and the next organisation run is a
        // day away (the day's report would then be superseded). The item fails so the run is retried.
        if let Some(note) = run.delivery.in_flight_note() {
            return Err(Failure {
                stage: Stage::Cost,
                class: None,
                message: format!("{note}; run again to make sure it went out"),
            });
        }
        Ok(CostSummary {
            headline: run.report.headline(),
            spend_usd: run.daily.iter().map(|d| d.amount).sum(),
            tier_pct: run.report.tier().threshold_pct(),
            actual_pct: run.report.worst_budget().map(|b| b.actual_pct),
            slack_posted: run.delivery.slack_posted,
            notes,
        })
    }
}

fn cost_class(e: &CostPassError) -> Option<ErrorClass> {
    match e {
        CostPassError::Ledger(l) => l.class(),
        CostPassError::Read(r) => r.class(),
        _ => None,
    }
}

/// `spec` with the account's deployed HTTP API ids in place of its placeholders (API Gateway makes
/// them), and what could not be resolved. Unreadable, nothing is to be published: the plan would turn
/// every working API alarm and widget back to the placeholder ids.
async fn with_deployed_api_ids(
    apigateway: &aws_sdk_apigatewayv2::Client,
    spec: &PlatformSpec,
) -> Result<(PlatformSpec, Vec<String>), Failure> {
    let mut spec = spec.clone();
    let unresolved = crate::publish::api_ids::resolve_api_ids(apigateway, &mut spec)
        .await
        .map_err(|e| Failure {
            stage: Stage::Publish,
            class: Some(e.class()),
            message: format!(
                "the account's HTTP API ids could not be read ({e}); nothing published: the API alarms and \
                 widgets would have gone back to the spec's placeholder ids"
            ),
        })?;
    Ok((spec, unresolved))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `GetApis` refused (a member role without `apigateway:GET`): the item's publish fails naming the
    /// call, before anything is planned — publishing would have moved every API alarm from the deployed
    /// id back to the spec's placeholder, an `ApiId` that never has data.
    #[tokio::test]
    async fn unreadable_api_ids_fail_the_publish_stage_before_any_plan() {
        use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
        use aws_smithy_types::body::SdkBody;
        let http = StaticReplayClient::new(vec![ReplayEvent::new(
            http::Request::builder()
                .uri("https://apigateway.us-east-1.amazonaws.com/v2/apis")
                .body(SdkBody::empty())
                .unwrap(),
            http::Response::builder()
                .status(403)
                .header("x-amzn-errortype", "AccessDeniedException")
                .body(SdkBody::from(
                    r#"{"message":"User is not authorized to perform: apigateway:GET"}"#,
                ))
                .unwrap(),
        )]);
        let config = aws_sdk_apigatewayv2::Config::builder()
            .behavior_version(aws_sdk_apigatewayv2::config::BehaviorVersion::latest())
            .region(aws_sdk_apigatewayv2::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_apigatewayv2::config::Credentials::for_tests())
            .http_client(http.clone())
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        let client = aws_sdk_apigatewayv2::Client::from_conf(config);
        let spec = crate::test_support::prod_spec();
        let failure = with_deployed_api_ids(&client, &spec).await.unwrap_err();
        assert_eq!(failure.stage, Stage::Publish);
        assert!(
            failure.message.contains("GetApis") && failure.message.contains("nothing published"),
            "{}",
            failure.message
        );
        assert_eq!(http.actual_requests().count(), 1);
    }

    #[test]
    fn assume_role_keeps_the_base_timeouts_under_its_own() {
        let t = sts_timeouts(Some(&crate::aws::default_timeouts()), Duration::from_secs(5));
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(5)));
        assert_eq!(t.connect_timeout(), Some(Duration::from_millis(3100)));
        assert_eq!(
            t.operation_attempt_timeout(),
            Some(Duration::from_secs(5)),
            "never past the whole"
        );
        assert_eq!(sts_timeouts(None, Duration::from_secs(5)).connect_timeout(), None);
    }
}
