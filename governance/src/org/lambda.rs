//! The organisation pass on Step Functions: the handlers behind `governance-org-plan`,
//! `governance-org-account` and `governance-org-summary`, the three Lambda functions of the state machine
//! in `infra/modules/org` (`ReadOrganisationCost` → Map `GovernEachAccount` → `Summarise`).
//!
//! They run the same stages as [`super::run_org`] does in one process, split where the state machine
//! splits them, and hand each other only JSON:
//!
//! 1. **plan** (`{"mode": "run"|"plan", "notify": bool}` from EventBridge Scheduler): reads the
//!    organisation's cost in the management account ([`read_org_cost`], ≤ 2 Cost Explorer requests, cached
//!    in the ledger for the day) and returns the member accounts to govern ([`PlanResponse`]). A failed
//!    cost read does not stop the pass: it is returned (`cost_failure`) and the reports are skipped, as
//!    in one process.
//! 2. **account** (one Map iteration, [`AccountRequest`]): assumes the member role and runs every
//!    platform of that account, one after another, with the day's cost taken from the ledger only (this
//!    function may not call Cost Explorer). Each item's outcome goes to the organisation's ledger (a
//!    Step Functions state holds at most 256 KiB: 300 outcomes would not fit), and the iteration returns
//!    only its count. Each item's failure is recorded in its outcome; the function itself fails only on a
//!    bad request or when the ledger refuses the outcomes, and the Map's `Catch` then records the account
//!    as failed.
//! 3. **summary** ([`SummaryRequest`]: the state with every iteration's result; the outcomes from the
//!    ledger): the roll-up (posted once a
//!    day when `notify`), and the summary of what failed where. When anything failed, the function fails
//!    with `errorType` `Incomplete` and the summary, failures first, as its message, so the execution is marked failed
//!    (and `ExecutionsFailed` alarms) — after the roll-up went out.
//!
//! **Discovery.** With `[discovery]` in the organisation spec, the plan step lists the members
//! ([`super::discover`]) once per execution and records each discovered account (and what was skipped or
//! rejected) in the ledger under the execution's `as_of`; the account and summary steps rebuild the same
//! organisation from that record ([`Organization::with_members`]), so all three see one membership and
//! only the plan function may call AWS Organizations.
//!
//! Configuration: `ORG_SPEC_FILE` (the organisation spec, shipped in the zip under `platforms/org/`),
//! `LEDGER_TABLE_NAME` and `SLACK_WEBHOOK_SECRET_ARN` (Terraform's names override the spec's),
//! `COLLECTIQ_ENDPOINT_URL` (an emulator). User guide: `docs/organisation.md`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_error::ErrorClass;
use chrono::{DateTime, Utc};
use lambda_runtime::Diagnostic;
use platform_spec::org::AccountSpec;
use platform_spec::{Membership, Organization};
use serde::{Deserialize, Serialize};

use super::discover::{DiscoveryError, discover};
use super::run::{
    CostSource, Failure, ItemOutcome, Mode, OrgCost, OrgDeps, OrgOptions, Stage, finish, govern_items,
    read_org_cost, skeleton_of,
};
use crate::aws::{AwsTarget, sdk_config};
use crate::cost_pass::counting::RequestCounter;
use crate::ledger::{Ledger, put_snapshot, snapshots};

/// The most of a summary an execution's error message carries: under the 32 KiB of a cause Step
/// Functions keeps, with room for the error type and JSON escaping.
const CAUSE_BYTES: usize = 24 * 1024;

/// What a failed execution's error says: the summary's headline, then its `✗` lines (failed items,
/// rejected accounts, the roll-up, the overview, the organisation's cost), then its other lines while
/// they fit in [`CAUSE_BYTES`]; what does not fit is counted, and the function's log has it all.
fn failure_cause(summary: &str) -> String {
    let mut lines = summary.lines();
    let mut out = lines.next().unwrap_or_default().to_owned();
    let rest: Vec<&str> = lines.collect();
    let failures = rest.iter().filter(|l| l.trim_start().starts_with('✗'));
    let others = rest
        .iter()
        .filter(|l| !l.trim_start().starts_with('✗') && l.trim() != "Failed:");
    let mut left_out = 0usize;
    for line in failures.chain(others) {
        // The note below must fit too.
        if out.len() + line.len() + 1 + 80 > CAUSE_BYTES {
            left_out += 1;
            continue;
        }
        out.push('\n');
        out.push_str(line);
    }
    if left_out > 0 {
        out.push_str(&format!(
            "\n… and {left_out} more line(s): the summary function's log has the whole summary"
        ));
    }
    out
}

/// The longest failure message carried into the summary from a failed iteration (Step Functions keeps
/// a cause of up to 32 KiB; a summary line needs the start of it).
const CAUSE_CHARS: usize = 600;

/// How long an execution's item outcomes stay in the ledger (the summary reads them minutes later).
const OUTCOMES_KEEP: Duration = Duration::from_secs(3 * 86_400);

/// The ledger partition of an organisation's item outcomes; sort keys `<as_of>#<item>`.
fn outcomes_pk(org_name: &str) -> String {
    format!("org#{org_name}#outcomes")
}

fn outcome_sk(as_of: DateTime<Utc>, item: &str) -> String {
    format!("{}#{item}", as_of.to_rfc3339())
}

/// The ledger partition of the accounts discovery found; sort keys `<as_of>#<account>`.
fn members_pk(org_name: &str) -> String {
    format!("org#{org_name}#members")
}

/// The ledger partition of what discovery skipped and rejected; sort key `<as_of>`.
fn membership_pk(org_name: &str) -> String {
    format!("org#{org_name}#membership")
}

/// Records what the plan step discovered for the execution at `as_of`: one item per member (the
/// account step reads its own) and the membership (bounded to fit an item).
async fn record_membership(
    ledger: &Ledger,
    org: &Organization,
    as_of: DateTime<Utc>,
) -> Result<(), OrgHandlerError> {
    let Some(m) = &org.membership else {
        return Ok(());
    };
    let name = &org.spec.organization.name;
    let failed = |e: crate::ledger::LedgerError| {
        OrgHandlerError::Ledger(format!("the discovered members were not recorded: {e}")).logged("plan")
    };
    let discovered: std::collections::HashSet<&str> = m.discovered.iter().map(String::as_str).collect();
    for account in org
        .spec
        .accounts
        .iter()
        .filter(|a| discovered.contains(a.id.as_str()))
    {
        put_snapshot(
            ledger,
            &members_pk(name),
            &outcome_sk(as_of, &account.id),
            account,
            OUTCOMES_KEEP,
        )
        .await
        .map_err(failed)?;
    }
    put_snapshot(
        ledger,
        &membership_pk(name),
        &as_of.to_rfc3339(),
        &m.clone().bounded(),
        OUTCOMES_KEEP,
    )
    .await
    .map_err(failed)
}

/// The organisation as the plan step of the execution at `as_of` discovered it: every recorded member,
/// or (with `account`) only that one. The file's own organisation when it has no `[discovery]`.
async fn recorded_organisation(
    ledger: &Ledger,
    org: &Organization,
    as_of: DateTime<Utc>,
    account: Option<&str>,
) -> Result<Organization, OrgHandlerError> {
    if org.spec.discovery.is_none() || account.is_some_and(|a| org.spec.accounts.iter().any(|x| x.id == a)) {
        return Ok(org.clone());
    }
    let name = &org.spec.organization.name;
    let unreadable = |e: crate::ledger::LedgerError| {
        OrgHandlerError::Ledger(format!("the discovered members could not be read: {e}"))
    };
    let (from, to) = match account {
        Some(a) => (outcome_sk(as_of, a), outcome_sk(as_of, a)),
        None => (
            format!("{}#", as_of.to_rfc3339()),
            format!("{}#~", as_of.to_rfc3339()),
        ),
    };
    let members: Vec<(String, AccountSpec)> = snapshots(ledger, &members_pk(name), &from, &to)
        .await
        .map_err(unreadable)?;
    let membership = if account.is_some() {
        Membership::default()
    } else {
        snapshots::<_, Membership>(
            ledger,
            &membership_pk(name),
            &as_of.to_rfc3339(),
            &as_of.to_rfc3339(),
        )
        .await
        .map_err(unreadable)?
        .into_iter()
        .next()
        .map(|(_, m)| m)
        .unwrap_or_default()
    };
    Ok(org.with_members(members.into_iter().map(|(_, a)| a).collect(), membership))
}

/// What the handlers need, built once per cold start.
#[derive(Debug, Clone)]
pub struct OrgLambdaDeps {
    /// The organisation, with Terraform's ledger and secret names.
    pub org: Organization,
    /// Clients in the governance (management) account.
    pub deps: OrgDeps,
}

impl OrgLambdaDeps {
    /// From the function's environment (see the module docs).
    ///
    /// # Errors
    /// [`OrgHandlerError::Validation`] when `ORG_SPEC_FILE` is unset or the organisation spec (or a
    /// platform spec it names) does not load.
    pub async fn from_env() -> Result<Self, OrgHandlerError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let path = var("ORG_SPEC_FILE").ok_or_else(|| {
            OrgHandlerError::Validation("set ORG_SPEC_FILE to the organisation spec".into())
        })?;
        let mut org = platform_spec::load_org(std::path::Path::new(&path))
            .map_err(|e| OrgHandlerError::Validation(e.to_string()))?;
        if let Some(t) = var("LEDGER_TABLE_NAME") {
            org.spec.organization.ledger_table = t;
        }
        if let Some(s) = var("SLACK_WEBHOOK_SECRET_ARN") {
            // The spec's rule: a secret name or ARN, never the URL (never repeated).
            if let Some(problem) = platform_spec::webhook_secret_problem(&s) {
                return Err(OrgHandlerError::Validation(format!(
                    "SLACK_WEBHOOK_SECRET_ARN: {problem}"
                )));
            }
            org.spec.organization.slack_webhook_secret = s;
        }
        let config = sdk_config(&AwsTarget {
            endpoint_url: var("COLLECTIQ_ENDPOINT_URL"),
            region: Some(org.spec.organization.region.clone()),
            ..AwsTarget::default()
        })
        .await;
        Ok(Self {
            org,
            deps: OrgDeps::new(config),
        })
    }

    fn ledger(&self) -> Arc<Ledger> {
        Arc::new(Ledger::new(
            self.deps.management.dynamodb.clone(),
            &self.org.spec.organization.ledger_table,
        ))
    }
}

/// A handler failure with a stable `errorType`.
#[derive(Debug, thiserror::Error)]
pub enum OrgHandlerError {
    /// The event or the configuration is wrong: retrying will not help.
    #[error("{0}")]
    Validation(String),
    /// The ledger could not record or give back the outcomes: worth another run.
    #[error("{0}")]
    Ledger(String),
    /// The pass ran, and something failed: the summary says what, where and why.
    #[error("{0}")]
    Incomplete(String),
}

impl OrgHandlerError {
    /// The `errorType` Lambda reports (and Step Functions matches on).
    #[must_use]
    pub const fn error_type(&self) -> &'static str {
        match self {
            Self::Validation(_) => "Validation",
            Self::Ledger(_) => "Retryable",
            Self::Incomplete(_) => "Incomplete",
        }
    }

    fn logged(self, step: &str) -> Self {
        tracing::error!(step, error_type = self.error_type(), error = %self, "organisation step failed");
        self
    }
}

impl From<OrgHandlerError> for Diagnostic {
    fn from(e: OrgHandlerError) -> Self {
        Self {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

fn default_mode() -> Mode {
    Mode::Run
}

/// What the scheduler sends the state machine (and the state machine the plan function).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// `run` (default) applies dashboards and alarms; `plan` only reads and plans.
    #[serde(default = "default_mode")]
    pub mode: Mode,
    /// Post every platform's report and the roll-up (`run` only).
    #[serde(default)]
    pub notify: bool,
}

/// What the plan function returns: the Map's items and what every iteration needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanResponse {
    /// The organisation.
    pub organization: String,
    /// "Now" of every report in this execution.
    pub as_of: DateTime<Utc>,
    /// Plan or run.
    pub mode: Mode,
    /// Whether to post.
    pub notify: bool,
    /// Member accounts to govern, in the organisation file's order.
    pub accounts: Vec<String>,
    /// Whether today's organisation cost is in the ledger for the iterations to read.
    pub cost_read: bool,
    /// Why it is not, when it is not.
    pub cost_failure: Option<Failure>,
    /// Cost Explorer requests this step sent (0 when today's answer was cached).
    pub ce_requests_this_run: u32,
    /// Cost Explorer requests of the organisation today.
    pub ce_requests_today: u64,
}

/// A failed discovery: worth another run when AWS throttled, timed out or failed on its side; a
/// configuration error (a missing permission, no organisation, too many accounts) otherwise.
fn discovery_failed(e: &DiscoveryError) -> OrgHandlerError {
    match e.class() {
        Some(
            ErrorClass::Throttled | ErrorClass::Timeout | ErrorClass::ServerFault | ErrorClass::Transport,
        ) => OrgHandlerError::Ledger(e.to_string()),
        _ => OrgHandlerError::Validation(e.to_string()),
    }
}

fn options(org: &Organization, mode: Mode, notify: bool, as_of: DateTime<Utc>) -> OrgOptions {
    let mut options = OrgOptions::new(org, mode, as_of);
    options.notify = notify && mode == Mode::Run;
    options
}

/// `governance-org-plan`: the organisation's cost, and the accounts to govern.
///
/// # Errors
/// [`OrgHandlerError::Validation`] when `notify` is asked of a plan. A failed cost read is not an error
/// of this step (the accounts are still governed): it is in [`PlanResponse::cost_failure`].
pub async fn plan_handler(
    request: PlanRequest,
    deps: &OrgLambdaDeps,
    now: DateTime<Utc>,
) -> Result<PlanResponse, OrgHandlerError> {
    if request.notify && request.mode == Mode::Plan {
        return Err(OrgHandlerError::Validation(
            "\"notify\": true needs \"mode\": \"run\" (a plan posts nothing)".into(),
        )
        .logged("plan"));
    }
    let org = &discover(&deps.org, &deps.deps.organizations)
        .await
        .map_err(|e| discovery_failed(&e).logged("plan"))?;
    if let Some(m) = &org.membership {
        for r in &m.rejected {
            tracing::error!(account = %r.account_id, tag = %r.tag, error = %r.message, "platforms tag rejected");
        }
        tracing::info!(
            listed = m.listed,
            discovered = m.discovered.len(),
            skipped = m.skipped.len(),
            rejected = m.rejected.len(),
            "members discovered"
        );
    }
    let options = options(org, request.mode, request.notify, now);
    let counter = RequestCounter::new();
    let management = counter.attach(&deps.deps.management);
    let ledger = Ledger::new(management.dynamodb.clone(), &org.spec.organization.ledger_table);
    record_membership(&ledger, org, now).await?;
    let cost = read_org_cost(
        org,
        &deps.deps.base,
        &management,
        &ledger,
        &options,
        CostSource::CostExplorer,
    )
    .await;
    if let Some(f) = &cost.failure {
        tracing::error!(class = f.class.map_or("unclassified", ErrorClass::as_str), error = %f.message,
            "the organisation's cost was not read: the reports are skipped, dashboards and alarms still run");
    }
    let accounts = org.by_account();
    let response = PlanResponse {
        organization: org.spec.organization.name.clone(),
        as_of: now,
        mode: request.mode,
        notify: options.notify,
        accounts: org
            .spec
            .accounts
            .iter()
            .filter(|a| accounts.contains_key(a.id.as_str()))
            .map(|a| a.id.clone())
            .collect(),
        cost_read: cost.read.is_some(),
        ce_requests_this_run: cost.ce_requests_this_run(),
        ce_requests_today: cost.ce_requests_today(),
        cost_failure: cost.failure,
    };
    tracing::info!(
        accounts = response.accounts.len(),
        cost_read = response.cost_read,
        ce_requests = response.ce_requests_this_run,
        "organisation planned"
    );
    Ok(response)
}

/// One Map iteration's input (the state machine's `ItemSelector`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRequest {
    /// The member account.
    pub account: String,
    /// "Now" of the execution.
    pub as_of: DateTime<Utc>,
    /// Plan or run.
    pub mode: Mode,
    /// Whether to post.
    #[serde(default)]
    pub notify: bool,
    /// Whether the plan step put today's cost in the ledger.
    #[serde(default)]
    pub cost_read: bool,
}

/// One account's outcome (its items' outcomes are in the ledger, for the summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountResponse {
    /// The member account.
    pub account: String,
    /// Items governed.
    pub items: usize,
    /// The ids of those that failed.
    pub failed: Vec<String>,
}

/// Time kept back before the invocation's deadline: recording the last outcome and answering.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// `governance-org-account`: every platform of one member account, one after another.
///
/// # Errors
/// [`OrgHandlerError::Validation`] when the account is not in the organisation spec,
/// [`OrgHandlerError::Ledger`] when its outcomes cannot be recorded. Item failures are in the
/// outcomes, not errors.
pub async fn account_handler(
    request: AccountRequest,
    deps: &OrgLambdaDeps,
) -> Result<AccountResponse, OrgHandlerError> {
    account_handler_until(request, deps, None).await
}

/// [`account_handler`] within the invocation's `deadline` (Lambda's context): each item's outcome is
/// recorded as soon as it finishes, each item gets at most the time left less [`DEADLINE_MARGIN`],
/// and an item whose turn comes too late is recorded as failed (not started) — so a Lambda time-out
/// never turns finished items into failed ones, and the summary names what did not run.
///
/// # Errors
/// As [`account_handler`].
pub async fn account_handler_until(
    request: AccountRequest,
    deps: &OrgLambdaDeps,
    deadline: Option<std::time::SystemTime>,
) -> Result<AccountResponse, OrgHandlerError> {
    let ledger = deps.ledger();
    let org = &recorded_organisation(&ledger, &deps.org, request.as_of, Some(&request.account))
        .await
        .map_err(|e| e.logged("account"))?;
    let items: Vec<_> = org
        .items
        .iter()
        .filter(|i| i.account_id == request.account)
        .collect();
    if items.is_empty() {
        return Err(OrgHandlerError::Validation(format!(
            "account {:?} is not in organisation {}: its accounts are {}",
            request.account,
            org.spec.organization.name,
            org.spec
                .accounts
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .logged("account"));
    }
    let mut options = options(org, request.mode, request.notify, request.as_of);
    let mut cost_failure = None;
    let linked = if request.cost_read {
        let cost = read_org_cost(
            org,
            &deps.deps.base,
            &deps.deps.management,
            &ledger,
            &options,
            CostSource::TodaysCache,
        )
        .await;
        cost_failure = cost.failure.clone();
        cost.linked()
    } else {
        // The plan step said why (the summary repeats it once): no report for anyone.
        options.cost = false;
        None
    };
    let pk = outcomes_pk(&org.spec.organization.name);
    let shared = items.len() > 1;
    let mut outcomes = Vec::with_capacity(items.len());
    for item in &items {
        let left = deadline.map(|d| {
            d.duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(DEADLINE_MARGIN)
        });
        let mut o = match left {
            Some(left) if left < Duration::from_secs(1) => {
                let mut o = skeleton_of(item, shared);
                o.failures.push(Failure {
                    stage: Stage::Item,
                    class: Some(ErrorClass::Timeout),
                    message: "not started: the account's invocation was about to time out (the \
                              platforms before it took its time); the next run governs it"
                        .to_owned(),
                });
                o
            }
            _ => {
                let mut one = options.clone();
                if let Some(left) = left {
                    one.item_timeout = one.item_timeout.min(left);
                }
                govern_items(org, &deps.deps, &one, &[*item], &ledger, linked.clone())
                    .await
                    .pop()
                    .unwrap_or_else(|| skeleton_of(item, shared))
            }
        };
        if let Some(f) = &cost_failure {
            o.failures.push(f.clone());
        }
        if o.ok() {
            tracing::info!(item = %o.item, seconds = o.seconds, "item complete");
        } else {
            tracing::error!(item = %o.item, failures = ?o.failures, "item failed");
        }
        put_snapshot(
            ledger.as_ref(),
            &pk,
            &outcome_sk(request.as_of, &o.item),
            &o,
            OUTCOMES_KEEP,
        )
        .await
        .map_err(|e| {
            OrgHandlerError::Ledger(format!("the outcome of {} was not recorded: {e}", o.item))
                .logged("account")
        })?;
        outcomes.push(o);
    }
    Ok(AccountResponse {
        account: request.account,
        items: outcomes.len(),
        failed: outcomes
            .iter()
            .filter(|o| !o.ok())
            .map(|o| o.item.clone())
            .collect(),
    })
}

/// A failed iteration, as the state machine's `AccountFailed` state passes it on.
#[derive(Debug, Clone, Deserialize)]
pub struct StatesError {
    /// The error name (`Validation`, `States.Timeout`, `Lambda.ServiceException`, ...).
    #[serde(rename = "Error", default)]
    pub error: String,
    /// The cause (for a Lambda error, its JSON `{"errorType", "errorMessage"}`).
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// One element of the Map's result.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum MapOutcome {
    /// `GovernAccount` returned.
    Done {
        /// Its response.
        outcome: AccountResponse,
    },
    /// `GovernAccount` failed and `AccountFailed` recorded it.
    Failed {
        /// The account.
        account: String,
        /// Step Functions' error.
        error: StatesError,
    },
}

/// What the summary function gets: the execution's state after the Map.
#[derive(Debug, Clone, Deserialize)]
pub struct SummaryRequest {
    /// "Now" of the execution.
    pub as_of: DateTime<Utc>,
    /// Plan or run.
    pub mode: Mode,
    /// Whether to post the roll-up.
    #[serde(default)]
    pub notify: bool,
    /// Whether the plan step read today's cost.
    #[serde(default)]
    pub cost_read: bool,
    /// Why it did not.
    #[serde(default)]
    pub cost_failure: Option<Failure>,
    /// Every iteration's result.
    pub outcomes: Vec<MapOutcome>,
}

/// What the summary function returns when every item completed.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryResponse {
    /// The organisation.
    pub organization: String,
    /// Items governed.
    pub items: usize,
    /// Whether the roll-up was posted, or why not.
    pub rollup_delivery: Option<String>,
    /// The roll-up's headline, when cost was read.
    pub headline: Option<String>,
    /// The summary a person reads.
    pub summary: String,
}

/// The class of a failed iteration, from Step Functions' error name and our own `errorType`s.
fn class_of(error: &StatesError) -> Option<ErrorClass> {
    match error.error.as_str() {
        "States.Timeout" | "Sandbox.Timedout" => Some(ErrorClass::Timeout),
        "Configuration" => Some(ErrorClass::AccessDenied),
        e if e.starts_with("Lambda.") => Some(ErrorClass::ServerFault),
        _ => None,
    }
}

/// The readable part of a cause: a Lambda error's `errorMessage`, else the cause itself, cut short.
fn cause_text(cause: &str) -> String {
    #[derive(Deserialize)]
    struct LambdaCause {
        #[serde(rename = "errorMessage")]
        message: String,
    }
    let text = serde_json::from_str::<LambdaCause>(cause).map_or_else(|_| cause.to_owned(), |c| c.message);
    let mut cut: String = text.chars().take(CAUSE_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// Every item of the organisation, in the file's order, from the outcomes the iterations stored and
/// the Map's results: an account whose iteration failed gets the failure on each of its items; an item
/// with no outcome at all says so.
fn items_from(org: &Organization, stored: Vec<ItemOutcome>, outcomes: Vec<MapOutcome>) -> Vec<ItemOutcome> {
    let per_account = org.by_account();
    let mut done: BTreeMap<String, ItemOutcome> = stored.into_iter().map(|o| (o.item.clone(), o)).collect();
    let mut failed: BTreeMap<String, Failure> = BTreeMap::new();
    for outcome in outcomes {
        match outcome {
            MapOutcome::Done { .. } => {}
            MapOutcome::Failed { account, error } => {
                let message = format!(
                    "the account's function failed: {}: {}",
                    error.error,
                    cause_text(&error.cause)
                );
                failed.insert(
                    account,
                    Failure {
                        stage: Stage::Item,
                        class: class_of(&error),
                        message,
                    },
                );
            }
        }
    }
    org.items
        .iter()
        .map(|item| {
            done.remove(&item.id()).unwrap_or_else(|| {
                let shared = per_account
                    .get(item.account_id.as_str())
                    .is_some_and(|v| v.len() > 1);
                let mut outcome = skeleton_of(item, shared);
                outcome
                    .failures
                    .push(failed.get(&item.account_id).cloned().unwrap_or_else(|| Failure {
                        stage: Stage::Item,
                        class: None,
                        message: "not governed: no outcome in the ledger for this execution".into(),
                    }));
                outcome
            })
        })
        .collect()
}

/// `governance-org-summary`: the roll-up (posted once a day when asked) and what failed where.
///
/// # Errors
/// [`OrgHandlerError::Incomplete`] with the summary when any item failed or the cost was not read;
/// [`OrgHandlerError::Ledger`] when the outcomes cannot be read.
pub async fn summary_handler(
    request: SummaryRequest,
    deps: &OrgLambdaDeps,
) -> Result<SummaryResponse, OrgHandlerError> {
    let started = Instant::now();
    let counter = RequestCounter::new();
    let management = counter.attach(&deps.deps.management);
    let ledger = Ledger::new(
        management.dynamodb.clone(),
        &deps.org.spec.organization.ledger_table,
    );
    let org = &recorded_organisation(&ledger, &deps.org, request.as_of, None)
        .await
        .map_err(|e| e.logged("summary"))?;
    let options = options(org, request.mode, request.notify, request.as_of);
    let cost = match (request.cost_failure, request.cost_read) {
        (Some(failure), _) => OrgCost::failed(failure),
        (None, false) => OrgCost::skipped(),
        (None, true) => {
            read_org_cost(
                org,
                &deps.deps.base,
                &management,
                &ledger,
                &options,
                CostSource::TodaysCache,
            )
            .await
        }
    };
    let stored: Vec<(String, ItemOutcome)> = snapshots(
        &ledger,
        &outcomes_pk(&org.spec.organization.name),
        &format!("{}#", request.as_of.to_rfc3339()),
        &format!("{}#~", request.as_of.to_rfc3339()),
    )
    .await
    .map_err(|e| {
        OrgHandlerError::Ledger(format!("the items' outcomes could not be read: {e}")).logged("summary")
    })?;
    let items = items_from(
        org,
        stored.into_iter().map(|(_, o)| o).collect(),
        request.outcomes,
    );
    let run = finish(
        org,
        &management,
        &ledger,
        &options,
        cost,
        items,
        &counter,
        started,
    )
    .await;
    let summary = run.render_summary();
    if !run.ok() {
        // The whole summary in the log; the failures, first, in the execution's error (Step Functions
        // keeps 32 KiB of a cause: past ~150 items the item lines alone filled it).
        tracing::error!(summary = %summary, "organisation summary");
        return Err(OrgHandlerError::Incomplete(failure_cause(&summary)).logged("summary"));
    }
    tracing::info!(items = run.items.len(), rollup = ?run.rollup_delivery, "organisation governed");
    Ok(SummaryResponse {
        organization: run.organization.clone(),
        items: run.items.len(),
        rollup_delivery: run.rollup_delivery.clone(),
        headline: run.rollup.as_ref().map(super::rollup::OrgRollup::headline),
        summary,
    })
}

#[cfg(test)]
mod tests {
    /// A failed execution's error keeps every failure within what Step Functions stores, whatever
    /// the number of items: 300 ✓ lines before one ✗ pushed the failure past 32 KiB.
    #[test]
    fn a_failure_cause_leads_with_the_failures_and_fits() {
        let mut summary = String::from("organisation collectiq run: 301 item(s), 300 ok, 1 failed, 9 s\n");
        for i in 0..300 {
            summary.push_str(&format!(
                "  ✓ collectiq-prod-{i:03} [member-{i:03}] publish +0 ~0 -0 ($0.00/mo) · CollectIQ prod: $108.26 MTD (21.7% of $500.00) — OK\n"
            ));
        }
        summary.push_str("  ✗ backoffice-dev [shared] no report (throttled)\nCost Explorer: 2 request(s) this run, 2 today\nFailed:\n");
        summary
            .push_str("  ✗ account 444455556666 (shared) backoffice-dev: alarms: throttled: Rate exceeded\n");
        assert!(summary.len() > 32 * 1024);
        let cause = failure_cause(&summary);
        assert!(cause.len() <= CAUSE_BYTES, "{}", cause.len());
        let lines: Vec<&str> = cause.lines().collect();
        assert!(lines[0].starts_with("organisation collectiq run"));
        assert!(lines[1].contains("✗ backoffice-dev"), "{}", lines[1]);
        assert!(lines[2].contains("✗ account 444455556666"), "{}", lines[2]);
        assert!(
            lines
                .last()
                .unwrap()
                .contains("more line(s): the summary function's log")
        );
        // A short summary is kept whole (less the `Failed:` heading, its lines lead anyway).
        let short = "headline\n  ✓ a\nFailed:\n  ✗ b\n";
        assert_eq!(failure_cause(short), "headline\n  ✗ b\n  ✓ a");
    }

    use super::*;

    /// The summary function's timeout (infra/modules/org/main.tf) outlasts its worst case: the
    /// roll-up's Slack post with every retry, then the overview's publish (one SDK operation: 90 s) and
    /// a minute for the ledger. Killed after Slack answered and before the ledger recorded it, the day's
    /// roll-up would be posted again.
    #[test]
    fn summary_timeout_outlasts_the_worst_post_and_publish() {
        let tf = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/modules/org/main.tf"
        ))
        .unwrap();
        let line = tf
            .lines()
            .find(|l| l.trim_start().starts_with("governance-org-summary = {"))
            .expect("the summary function's settings");
        let timeout: u64 = line
            .split("timeout_s = ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .expect("timeout_s");
        let worst = crate::cost_pass::slack::SlackRetry::default().worst_case()
            + std::time::Duration::from_secs(90)
            + std::time::Duration::from_secs(60);
        assert!(
            std::time::Duration::from_secs(timeout) >= worst,
            "timeout_s = {timeout} < {worst:?}"
        );
    }

    /// The payloads the state machine passes (infra/modules/org/state_machine.tf) parse.
    #[test]
    fn state_machine_payloads_parse() {
        let r: PlanRequest = serde_json::from_str(r#"{"mode":"run","notify":true}"#).unwrap();
        assert_eq!((r.mode, r.notify), (Mode::Run, true));
        let r: PlanRequest = serde_json::from_str("{}").unwrap();
        assert_eq!((r.mode, r.notify), (Mode::Run, false));
        let e = serde_json::from_str::<PlanRequest>(r#"{"mode":"apply"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `apply`"), "{e}");
        let e = serde_json::from_str::<PlanRequest>(r#"{"notfy":true}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `notfy`"), "{e}");

        let item: AccountRequest = serde_json::from_str(
            r#"{"account":"123456789012","as_of":"2026-12-02T06:00:00Z","mode":"plan","notify":false,"cost_read":true}"#,
        )
        .unwrap();
        assert_eq!(item.account, "123456789012");
        assert!(item.cost_read);

        // The Map's result: one iteration returned, one was caught by `AccountFailed`.
        let summary: SummaryRequest = serde_json::from_value(serde_json::json!({
            "accounts": ["1", "2"], "as_of": "2026-12-02T06:00:00Z", "mode": "run", "notify": true,
            "cost_read": true, "cost_failure": null,
            "outcomes": [
                {"outcome": {"account": "1", "items": 2, "failed": []}},
                {"account": "2", "failed": true, "error": {"Error": "States.Timeout", "Cause": "x"}},
            ],
        }))
        .unwrap();
        assert!(matches!(&summary.outcomes[0], MapOutcome::Done { outcome } if outcome.account == "1"));
        assert!(
            matches!(&summary.outcomes[1], MapOutcome::Failed { account, error } if account == "2" && class_of(error) == Some(ErrorClass::Timeout))
        );
    }

    #[test]
    fn a_lambda_cause_reads_as_its_message_and_is_cut_short() {
        let cause =
            r#"{"errorType":"Validation","errorMessage":"account \"9\" is not in organisation acme"}"#;
        assert_eq!(cause_text(cause), "account \"9\" is not in organisation acme");
        let long = "x".repeat(5000);
        let cut = cause_text(&long);
        assert_eq!(cut.chars().count(), CAUSE_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(
            class_of(&StatesError {
                error: "Lambda.ServiceException".into(),
                cause: String::new()
            }),
            Some(ErrorClass::ServerFault)
        );
        assert_eq!(
            class_of(&StatesError {
                error: "Validation".into(),
                cause: String::new()
            }),
            None
        );
    }

    #[test]
    fn errors_have_stable_types() {
        let d: Diagnostic = OrgHandlerError::Validation("x".into()).into();
        assert_eq!(d.error_type, "Validation");
        let d: Diagnostic = OrgHandlerError::Incomplete("y".into()).into();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("Incomplete", "y")
        );
    }
}
