//! The library handlers behind the thin Lambda mains `governance-cost` and `governance-fastburn`.
//!
//! EventBridge Scheduler sends `{"job": "cost_report"}` daily to `governance-cost` and invokes
//! `governance-fastburn` (only the burn check, with a role that has no Cost Explorer permission) hourly
//! (infra/modules/governance); `governance-cost` still runs `{"job": "fast_burn"}` by hand. Optional
//! fields: `"dry_run": true` (render, do not send) and `"date": "YYYY-MM-DD"` — a past day only with
//! `"dry_run": true` (budget spend restated from Cost Explorer, no forecast, never sent).
//!
//! Configuration comes from the function's environment: `COLLECTIQ_PLATFORM_FILE` (default
//! `platforms/$COLLECTIQ_PLATFORM.toml`, shipped in the zip), and overrides of the spec's targets
//! `LEDGER_TABLE_NAME`, `SLACK_WEBHOOK_SECRET_ARN`, `SNS_TOPIC_CRITICAL_ARN` as Terraform sets them.
//!
//! Errors map to stable [`Diagnostic`] types: `Validation` (bad event or spec: retrying will not help),
//! `Configuration` (AWS refused for good: access denied, a missing table or topic), `Retryable` (AWS or
//! the ledger failed in a way the next run may not: throttled, server fault, timeout, transport),
//! `Delivery` (the report was built but a send failed; its record stays pending and the next run sends
//! it). The type is read from the one AWS error classification ([`aws_error::ErrorClass`]), never from a
//! message. Every error is also logged at ERROR, since a scheduled invocation's result is thrown away.

use aws_error::ErrorClass;
use chrono::{DateTime, NaiveDate, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use platform_spec::PlatformSpec;
use serde::{Deserialize, Serialize};

use super::pass::{CostPassError, PassOptions, Targets, run_daily, run_fast_burn};
use crate::aws::{AwsClients, AwsTarget, sdk_config};

/// What the scheduler sends. An unknown field is refused (`{"dryrun":true}` must not post the report).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// `cost_report` (default) or `fast_burn`.
    #[serde(default)]
    pub job: Option<String>,
    /// Report day (UTC), for re-running a past day.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// Render only; send nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// What the function returns (also its log line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobResponse {
    /// The job run.
    pub job: String,
    /// One line: the report headline or the burn rates.
    pub summary: String,
    /// Budget decision or fast-burn alert (`nothing`, `notify 100%`, `page_fast`, ...).
    pub decision: String,
    /// Whether Slack accepted a post.
    pub slack_posted: bool,
    /// The SNS message id of a critical publish.
    pub sns_message_id: Option<String>,
    /// Cost Explorer requests this run (each $0.01).
    pub ce_requests: u32,
    /// Every AWS request this run.
    pub api_requests: u32,
}

/// A handler failure with a stable error type.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event or the configuration is wrong: retrying will not help.
    #[error("{0}")]
    Validation(String),
    /// The pass failed (AWS or the ledger); `class` is the AWS failure's, when it was one.
    #[error("{source}")]
    Pass {
        /// The class of the AWS failure behind it.
        class: Option<ErrorClass>,
        /// What failed.
        source: CostPassError,
    },
    /// The report was built without an input it needs (budgets, the token metrics, recent Cost
    /// Explorer days): not sent; the next run completes and sends it. `class` is the first missing
    /// read's AWS failure class.
    #[error("{message}")]
    Incomplete {
        /// What is missing and why.
        message: String,
        /// The AWS class of the first failed read, when it was one.
        class: Option<ErrorClass>,
    },
    /// The report was built but a send failed: its record stays pending and the next run sends it.
    #[error("{message}")]
    Delivery {
        /// Every failure, joined.
        message: String,
        /// The AWS classes of the failures (empty for Slack's own errors).
        classes: Vec<ErrorClass>,
    },
}

/// Whether an AWS failure of `class` needs a person (permissions, a missing resource, a bad request)
/// rather than another run.
const fn needs_configuration(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::AccessDenied
            | ErrorClass::NotFound
            | ErrorClass::ClientFault
            | ErrorClass::NotImplemented
    )
}

impl HandlerError {
    /// The `errorType` Lambda reports.
    #[must_use]
    pub const fn error_type(&self) -> &'static str {
        match self {
            Self::Validation(_) => "Validation",
            Self::Pass {
                class: Some(class), ..
            } if needs_configuration(*class) => "Configuration",
            Self::Incomplete {
                class: Some(class), ..
            } if needs_configuration(*class) => "Configuration",
            Self::Pass { .. } | Self::Incomplete { .. } => "Retryable",
            Self::Delivery { .. } => "Delivery",
        }
    }

    /// Logs the failure at ERROR (with its type and class) and returns it.
    #[must_use]
    pub fn logged(self, job: &str) -> Self {
        let class = match &self {
            Self::Pass { class, .. } | Self::Incomplete { class, .. } => class.map(ErrorClass::as_str),
            Self::Delivery { classes, .. } => classes.first().map(|c| c.as_str()),
            Self::Validation(_) => None,
        };
        tracing::error!(
            job,
            error_type = self.error_type(),
            error_class = class.unwrap_or("none"),
            error = %self,
            "governance job failed"
        );
        self
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Self {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// The AWS class behind a pass failure, when an AWS read or the ledger failed.
fn pass_class(e: &CostPassError) -> Option<ErrorClass> {
    match e {
        CostPassError::Ledger(l) => l.class(),
        CostPassError::Read(r) | CostPassError::NoCostData(r) => r.class(),
        _ => None,
    }
}

impl From<CostPassError> for HandlerError {
    fn from(e: CostPassError) -> Self {
        match e {
            CostPassError::NoAllowance | CostPassError::Prices(_) => Self::Validation(e.to_string()),
            source => Self::Pass {
                class: pass_class(&source),
                source,
            },
        }
    }
}

/// A run's failure: an incomplete report is typed by why its first input is missing (a denied read
/// needs a person, a throttled one another run), else a failed send is `Delivery`; `None` when the run
/// succeeded.
fn run_error(
    missing: &[super::pass::MissingInput],
    delivery: &super::notify::Delivery,
) -> Option<HandlerError> {
    if let Some(first) = missing.first() {
        return Some(HandlerError::Incomplete {
            message: delivery.errors.first().cloned().unwrap_or_else(|| {
                format!(
                    "the report is missing {}",
                    missing
                        .iter()
                        .map(|m| m.what.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }),
            class: first.class,
        });
    }
    if delivery.failed() {
        return Some(delivery_error(delivery));
    }
    in_flight_error(delivery)
}

/// A message another run was sending at the same time (it held the send lease) is that run's; but if
/// that run died, only a later run sends it. The run asks Lambda to retry it (`Retryable`): the retry
/// finds the message sent, or the dead run's lease over, and sends it — instead of leaving it to the
/// next schedule (a day, for the daily report, which would then be superseded).
fn in_flight_error(delivery: &super::notify::Delivery) -> Option<HandlerError> {
    delivery.in_flight_note().map(|note| HandlerError::Incomplete {
        message: format!("{note}; retried to make sure it went out"),
        class: None,
    })
}

fn delivery_error(delivery: &super::notify::Delivery) -> HandlerError {
    HandlerError::Delivery {
        message: delivery.errors.join("; "),
        classes: delivery.failure_classes.clone(),
    }
}

/// What the handlers need, built once per cold start.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The platform spec.
    pub spec: PlatformSpec,
    /// SDK clients.
    pub clients: AwsClients,
    /// Ledger, secret and topic names.
    pub targets: Targets,
}

impl Deps {
    /// Deps from a loaded spec and clients, with the spec's targets.
    #[must_use]
    pub fn new(spec: PlatformSpec, clients: AwsClients) -> Self {
        let targets = Targets::from_spec(&spec);
        Self {
            spec,
            clients,
            targets,
        }
    }

    /// Deps from the Lambda environment (see the module docs). `COLLECTIQ_ENDPOINT_URL` points the
    /// clients at an emulator.
    ///
    /// # Errors
    /// [`HandlerError::Validation`] when the spec file is missing or invalid.
    pub async fn from_env() -> Result<Self, HandlerError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let path = var("COLLECTIQ_PLATFORM_FILE")
            .or_else(|| var("COLLECTIQ_PLATFORM").map(|p| format!("platforms/{p}.toml")))
            .ok_or_else(|| {
                HandlerError::Validation("set COLLECTIQ_PLATFORM_FILE (or COLLECTIQ_PLATFORM)".into())
            })?;
        let spec = platform_spec::load(std::path::Path::new(&path))
            .map_err(|e| HandlerError::Validation(e.to_string()))?;
        let config = sdk_config(&AwsTarget {
            endpoint_url: var("COLLECTIQ_ENDPOINT_URL"),
            region: Some(spec.platform.region.clone()),
            ..AwsTarget::default()
        })
        .await;
        let mut deps = Self::new(spec, AwsClients::new(&config));
        if let Some(t) = var("LEDGER_TABLE_NAME") {
            deps.targets.ledger_table = t;
        }
        if let Some(s) = var("SLACK_WEBHOOK_SECRET_ARN") {
            // The spec's rule: a name or ARN in this account, never the URL (never repeated).
            if let Some(problem) = platform_spec::secret_problem(&deps.spec, &s) {
                return Err(HandlerError::Validation(format!(
                    "SLACK_WEBHOOK_SECRET_ARN: {problem}"
                )));
            }
            deps.targets.slack_webhook_secret = s;
        }
        if let Some(a) = var("SNS_TOPIC_CRITICAL_ARN") {
            if let Some(problem) = platform_spec::topic_arn_problem(&deps.spec, &a) {
                return Err(HandlerError::Validation(format!(
                    "SNS_TOPIC_CRITICAL_ARN: {problem}"
                )));
            }
            deps.targets.sns_critical_topic_arn = a;
        }
        Ok(deps)
    }

    fn options(&self, request: &JobRequest) -> Result<PassOptions, HandlerError> {
        options_at(&self.spec, &self.targets, request, Utc::now())
    }
}

/// The pass options for `request` at `now`: a future `date` is refused; a past one is a past-day run
/// (budget spend restated from Cost Explorer, no forecast, nothing decided) and must be a dry run — a
/// tier announced and claimed for a period that is over would page for nothing.
fn options_at(
    spec: &PlatformSpec,
    targets: &Targets,
    request: &JobRequest,
    now: DateTime<Utc>,
) -> Result<PassOptions, HandlerError> {
    let as_of =
        super::pass::as_of_for(request.date, now).map_err(|e| HandlerError::Validation(e.to_string()))?;
    let past_day = as_of.date_naive() < now.date_naive();
    if past_day && !request.dry_run {
        return Err(HandlerError::Validation(format!(
            "\"date\": \"{}\" is before today ({} UTC): a past day's report is never sent; add \
             \"dry_run\": true to render it (budget spend restated from Cost Explorer)",
            as_of.date_naive(),
            now.date_naive()
        )));
    }
    let mut options = PassOptions::new(spec, as_of)
        .with_notify(!request.dry_run)
        .with_past_day(past_day)
        .with_ce_day(now.date_naive());
    options.targets = targets.clone();
    Ok(options)
}

/// The `governance-cost` handler: the daily report (`cost_report`, default) or the burn check
/// (`fast_burn`).
///
/// # Errors
/// [`HandlerError`]: `Validation` for an unknown job, `Retryable` when the pass fails, `Delivery` when a
/// send failed.
pub async fn cost_handler(event: LambdaEvent<JobRequest>, deps: &Deps) -> Result<JobResponse, HandlerError> {
    let request = event.payload;
    let job = request.job.as_deref().unwrap_or("cost_report").to_owned();
    cost_job(&request, deps).await.map_err(|e| e.logged(&job))
}

async fn cost_job(request: &JobRequest, deps: &Deps) -> Result<JobResponse, HandlerError> {
    match request.job.as_deref().unwrap_or("cost_report") {
        "cost_report" => {
            let options = deps.options(request)?;
            let run = run_daily(&deps.spec, &deps.clients, &options).await?;
            let response = JobResponse {
                job: "cost_report".into(),
                summary: run.report.headline(),
                decision: decision_label(&run.decision),
                slack_posted: run.delivery.slack_posted,
                sns_message_id: run.delivery.sns_message_id.clone(),
                ce_requests: run.calls.cost_explorer(),
                api_requests: run.calls.total(),
            };
            tracing::info!(
                job = "cost_report",
                headline = %response.summary,
                decision = %response.decision,
                slack_posted = response.slack_posted,
                ce_requests = response.ce_requests,
                pending = ?run.delivery.pending,
                "cost report done"
            );
            // A run that sends fails when its report is incomplete (nothing was sent) or a send failed.
            if options.notify
                && let Some(e) = run_error(&run.missing, &run.delivery)
            {
                return Err(e);
            }
            Ok(response)
        }
        "fast_burn" => fast_burn(request, deps).await,
        other => Err(HandlerError::Validation(format!(
            "unknown job {other:?}: expected cost_report or fast_burn"
        ))),
    }
}

/// The `governance-fastburn` handler: the hourly burn check whatever the event says.
///
/// # Errors
/// As [`cost_handler`].
pub async fn fast_burn_handler(
    event: LambdaEvent<JobRequest>,
    deps: &Deps,
) -> Result<JobResponse, HandlerError> {
    fast_burn(&event.payload, deps)
        .await
        .map_err(|e| e.logged("fast_burn"))
}

async fn fast_burn(request: &JobRequest, deps: &Deps) -> Result<JobResponse, HandlerError> {
    let run = run_fast_burn(&deps.spec, &deps.clients, &deps.options(request)?).await?;
    let summary = run
        .burn
        .windows
        .iter()
        .map(|w| format!("{} {}x", w.window.label(), w.burn_rate.round_dp(2)))
        .collect::<Vec<_>>()
        .join(", ");
    let response = JobResponse {
        job: "fast_burn".into(),
        summary,
        decision: run.burn.alert.map_or_else(
            || "nothing".to_owned(),
            |a| {
                serde_json::to_value(a)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            },
        ),
        slack_posted: run.delivery.slack_posted,
        sns_message_id: run.delivery.sns_message_id.clone(),
        ce_requests: run.calls.cost_explorer(),
        api_requests: run.calls.total(),
    };
    tracing::info!(job = "fast_burn", rates = %response.summary, alert = %response.decision, "burn check done");
    if run.delivery.failed() {
        return Err(delivery_error(&run.delivery));
    }
    if let Some(e) = in_flight_error(&run.delivery) {
        return Err(e);
    }
    Ok(response)
}

fn decision_label(d: &cost::alerting::AlertDecision) -> String {
    use cost::alerting::AlertDecision;
    match d {
        AlertDecision::Nothing => "nothing".into(),
        AlertDecision::Notify { tier } => format!("notify {}", tier.label()),
        AlertDecision::Escalate { from, to } => format!("escalate {} to {}", from.label(), to.label()),
        AlertDecision::Recovery { from } => format!("recovery from {}", from.label()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_payloads_parse() {
        let r: JobRequest = serde_json::from_str(r#"{"job":"fast_burn"}"#).unwrap();
        assert_eq!(r.job.as_deref(), Some("fast_burn"));
        let r: JobRequest =
            serde_json::from_str(r#"{"job":"cost_report","date":"2026-11-30","dry_run":true}"#).unwrap();
        assert!(r.dry_run);
        let r: JobRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(r, JobRequest::default());
    }

    /// A misspelt field must not fall back to its default: `{"dryrun":true}` would post the report.
    #[test]
    fn unknown_fields_are_refused_and_named() {
        for (event, field) in [
            (r#"{"job":"cost_report","dryrun":true}"#, "dryrun"),
            (r#"{"dryRun":true}"#, "dryRun"),
        ] {
            let e = serde_json::from_str::<JobRequest>(event).unwrap_err().to_string();
            assert!(e.contains(&format!("unknown field `{field}`")), "{e}");
        }
    }

    #[test]
    fn errors_have_stable_types() {
        let d: Diagnostic = HandlerError::Validation("x".into()).into();
        assert_eq!(d.error_type, "Validation");
        let d: Diagnostic = HandlerError::from(CostPassError::NoAllowance).into();
        assert_eq!(d.error_type, "Validation");
        let unexpected = crate::cost_pass::read::ReadError::Unexpected {
            api: "ce:GetCostAndUsage",
            detail: "x".into(),
        };
        let d: Diagnostic = HandlerError::from(CostPassError::NoCostData(unexpected)).into();
        assert_eq!(d.error_type, "Retryable");
    }

    /// A cost read AWS refused for good is `Configuration` wherever it surfaces — Cost Explorer with
    /// nothing cached, or an input the report was built without — and a throttled one `Retryable`; a
    /// complete report whose send failed is `Delivery`.
    #[test]
    fn missing_inputs_and_unreadable_cost_are_typed_by_their_class() {
        use crate::cost_pass::fake::call_error;
        use crate::cost_pass::notify::Delivery;
        use crate::cost_pass::pass::MissingInput;
        use crate::cost_pass::read::ReadError;
        let read = |code| ReadError::Aws {
            api: "ce:GetCostAndUsage",
            cause: Box::new(call_error("CostExplorer", "GetCostAndUsage", 400, Some(code))),
        };
        let denied = HandlerError::from(CostPassError::NoCostData(read("AccessDeniedException")));
        assert_eq!(denied.error_type(), "Configuration", "{denied}");
        let throttled = HandlerError::from(CostPassError::NoCostData(read("ThrottlingException")));
        assert_eq!(throttled.error_type(), "Retryable");

        let missing = |class| MissingInput {
            what: "budgets (budgets:DescribeBudgets: …)".into(),
            class: Some(class),
        };
        let not_sent = Delivery {
            errors: vec!["the 2026-11-21 report was not sent: missing budgets".into()],
            ..Delivery::default()
        };
        let e = run_error(&[missing(ErrorClass::AccessDenied)], &not_sent).unwrap();
        assert_eq!(e.error_type(), "Configuration");
        assert!(e.to_string().contains("missing budgets"), "{e}");
        let e = run_error(&[missing(ErrorClass::Throttled)], &not_sent).unwrap();
        assert_eq!(e.error_type(), "Retryable");
        assert!(run_error(&[], &Delivery::default()).is_none());
        let failed_send = Delivery {
            errors: vec!["slack: 500".into()],
            ..Delivery::default()
        };
        assert_eq!(
            run_error(&[], &failed_send).map(|e| e.error_type()),
            Some("Delivery")
        );
        let in_flight = Delivery {
            in_flight: vec!["collectiq-prod#fast-burn#2026-11-21/page_fast#sns".into()],
            ..Delivery::default()
        };
        let e = run_error(&[], &in_flight).unwrap();
        assert_eq!(e.error_type(), "Retryable");
        assert!(e.to_string().contains("another run was sending"), "{e}");
    }

    /// The type comes from the AWS classification, not from a message: a throttled ledger is worth
    /// another run, a denied one needs a person.
    #[tokio::test]
    async fn ledger_failures_are_typed_by_their_class() {
        use crate::ledger::{LedgerOp, LedgerStore, MemoryLedger};
        let ledger = MemoryLedger::new();
        ledger.fail(LedgerOp::Query, 1);
        let e = ledger.claims("p").await.unwrap_err();
        let h = HandlerError::from(CostPassError::Ledger(e));
        assert!(
            matches!(
                h,
                HandlerError::Pass {
                    class: Some(ErrorClass::Throttled),
                    ..
                }
            ),
            "{h:?}"
        );
        assert_eq!(h.error_type(), "Retryable");
        assert!(needs_configuration(ErrorClass::AccessDenied));
        assert!(!needs_configuration(ErrorClass::Timeout));
        let d: Diagnostic = HandlerError::Delivery {
            message: "SNS publish to t: InternalError".into(),
            classes: vec![ErrorClass::ServerFault],
        }
        .into();
        assert_eq!(d.error_type, "Delivery");
    }

    /// A past `date` is a past-day dry run or refused; today's is a normal run; a future one refused.
    #[test]
    fn a_past_date_is_a_dry_run_or_refused() {
        use chrono::TimeZone;
        let spec = crate::test_support::prod_spec();
        let targets = Targets::from_spec(&spec);
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        let request = |json: &str| -> JobRequest { serde_json::from_str(json).unwrap() };
        let err = options_at(&spec, &targets, &request(r#"{"date":"2026-11-30"}"#), now).unwrap_err();
        assert_eq!(err.error_type(), "Validation");
        assert!(
            err.to_string()
                .contains("\"date\": \"2026-11-30\" is before today"),
            "{err}"
        );
        assert!(err.to_string().contains("\"dry_run\": true"), "{err}");
        let past = options_at(
            &spec,
            &targets,
            &request(r#"{"date":"2026-11-30","dry_run":true}"#),
            now,
        )
        .unwrap();
        assert!(past.past_day && !past.notify);
        let today = options_at(&spec, &targets, &request(r#"{"date":"2026-12-02"}"#), now).unwrap();
        assert!(!today.past_day && today.notify);
        assert_eq!(today.as_of, now);
        let future = options_at(&spec, &targets, &request(r#"{"date":"2026-12-03"}"#), now).unwrap_err();
        assert_eq!(future.error_type(), "Validation");
    }

    /// A failed Cost Explorer or Budgets read is typed by its class too: denied needs a person,
    /// throttled or a 503 is worth another run — and the message names the call and the answer.
    #[test]
    fn read_failures_are_typed_by_their_class() {
        use crate::cost_pass::fake::call_error;
        use crate::cost_pass::read::ReadError;
        let read = |service, operation, api, status, code| {
            HandlerError::from(CostPassError::Read(ReadError::Aws {
                api,
                cause: Box::new(call_error(service, operation, status, code)),
            }))
        };
        let denied = read(
            "CostExplorer",
            "GetCostAndUsage",
            "ce:GetCostAndUsage",
            400,
            Some("AccessDeniedException"),
        );
        assert_eq!(denied.error_type(), "Configuration");
        assert!(
            denied
                .to_string()
                .contains("ce:GetCostAndUsage: AccessDeniedException: injected by a fake (HTTP 400)"),
            "{denied}"
        );
        let throttled = read(
            "Budgets",
            "DescribeBudgets",
            "budgets:DescribeBudgets",
            400,
            Some("ThrottlingException"),
        );
        assert_eq!(throttled.error_type(), "Retryable");
        let unavailable = read("CostExplorer", "GetCostAndUsage", "ce:GetCostAndUsage", 503, None);
        assert_eq!(unavailable.error_type(), "Retryable");
        assert!(
            unavailable
                .to_string()
                .contains("HTTP 503 with no AWS error code"),
            "{unavailable}"
        );
    }
}
