//! The handlers behind the `governance-dashboards` and `governance-alarms` Lambda functions (their
//! `main`s only build [`LambdaDeps`] and call `lambda_runtime::run`).
//!
//! - `governance-dashboards` (e.g. daily, and after each deploy): plan and apply the dashboards and the
//!   Logs Insights saved queries ([`super::queries`]).
//! - `governance-alarms` (e.g. every 5 minutes): plan and apply the alarm catalogue (a no-op when
//!   nothing changed: one `DescribeAlarms` read, zero writes), build the alarm-state report, escalate
//!   critical alarms firing for longer than `escalate_after_minutes` to the critical SNS topic once per
//!   episode, and post to Slack only what changed since the last post (a new episode, a recovery, an
//!   escalation) plus at most one digest per `digest_hours` while alarms keep firing.
//!
//! Errors map to stable `errorType`s: `Validation` (the event is wrong, e.g. `escalate_after_minutes`
//! outside [`ESCALATE_AFTER_MINUTES`]), `Configuration` (the spec or environment is wrong; retrying will
//! not help), `Retryable` (AWS could not be read), `PartialFailure` (some items were not written — the
//! message names them).

use std::path::PathBuf;

use super::progress::NoProgress;
use chrono::{Duration, Utc};
use lambda_runtime::{Diagnostic, LambdaEvent};
use platform_spec::PlatformSpec;
use serde::{Deserialize, Serialize};

use alarms::announce::{AnnounceOptions, DEFAULT_DIGEST_PERIOD_HOURS};

use super::queries::QueryPlanView;
use super::state::{EscalationReport, StateOptions, announce, escalate, state_report_incremental};
use super::{ApplyOptions, ApplyReport, Desired, PlanView};
use crate::aws::AwsClients;
use crate::ledger::Ledger;

/// Environment variable naming the platform spec file packaged with the function.
pub const PLATFORM_ENV: &str = "COLLECTIQ_PLATFORM";

/// What the handlers need, built once per cold start.
#[derive(Debug, Clone)]
pub struct LambdaDeps {
    /// The platform spec.
    pub spec: PlatformSpec,
    /// SDK clients.
    pub clients: AwsClients,
}

impl LambdaDeps {
    /// Loads the spec named by `COLLECTIQ_PLATFORM` (default `platform.toml` next to the binary's working
    /// directory), builds the clients (`COLLECTIQ_ENDPOINT_URL` points them at an emulator) and applies
    /// Terraform's `LEDGER_TABLE_NAME`, `SLACK_WEBHOOK_SECRET_ARN` and `SNS_TOPIC_CRITICAL_ARN` over the
    /// spec's values ([`LambdaDeps::with_targets`]): the deployed environment wins, and no caller can
    /// forget to apply it (issue 13: a packaged spec naming another account's topic misroutes pages).
    ///
    /// # Errors
    /// [`HandlerError::Configuration`] when the spec does not load.
    pub async fn from_env() -> Result<Self, HandlerError> {
        Self::from_vars(|k| std::env::var(k).ok()).await
    }

    /// [`LambdaDeps::from_env`] reading the environment through `lookup` (tests pass a map). An empty
    /// value counts as unset.
    ///
    /// # Errors
    /// [`HandlerError::Configuration`] when the spec does not load.
    pub async fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, HandlerError> {
        let var = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let path = PathBuf::from(var(PLATFORM_ENV).unwrap_or_else(|| "platform.toml".into()));
        let spec = platform_spec::load(&path).map_err(|e| HandlerError::Configuration(e.to_string()))?;
        let config = crate::aws::sdk_config(&crate::aws::AwsTarget {
            endpoint_url: var("COLLECTIQ_ENDPOINT_URL"),
            region: Some(spec.platform.region.clone()),
            ..Default::default()
        })
        .await;
        let topic = var("SNS_TOPIC_CRITICAL_ARN");
        if let Some(problem) = topic
            .as_deref()
            .and_then(|t| platform_spec::topic_arn_problem(&spec, t))
        {
            return Err(HandlerError::Configuration(format!(
                "SNS_TOPIC_CRITICAL_ARN: {problem}"
            )));
        }
        let secret = var("SLACK_WEBHOOK_SECRET_ARN");
        if let Some(problem) = secret
            .as_deref()
            .and_then(|s| platform_spec::secret_problem(&spec, s))
        {
            return Err(HandlerError::Configuration(format!(
                "SLACK_WEBHOOK_SECRET_ARN: {problem}"
            )));
        }
        let mut spec = spec;
        if let Some(ids) = var("HTTP_API_IDS") {
            apply_api_ids(&mut spec, &ids)
                .map_err(|e| HandlerError::Configuration(format!("HTTP_API_IDS: {e}")))?;
        }
        let deps = Self {
            spec,
            clients: AwsClients::new(&config),
        };
        Ok(deps.with_targets(var("LEDGER_TABLE_NAME"), secret, topic))
    }

    /// Where notifications go and what the ledger is, as Terraform set them: each `Some` replaces the
    /// spec's value (the deployed environment wins over the packaged spec).
    #[must_use]
    pub fn with_targets(
        mut self,
        ledger_table: Option<String>,
        slack_webhook_secret: Option<String>,
        sns_critical_topic_arn: Option<String>,
    ) -> Self {
        if let Some(t) = ledger_table {
            self.spec.ledger.table = t;
        }
        if let Some(s) = slack_webhook_secret {
            self.spec.notifications.slack_webhook_secret = s;
        }
        if let Some(a) = sns_critical_topic_arn {
            self.spec.notifications.sns_critical_topic_arn = a;
        }
        self
    }
}

/// Puts the deployed HTTP API ids (`{"<api name>": "<id>"}`, Terraform's `HTTP_API_IDS`) into `spec`:
/// API Gateway makes an API's id when it creates it, so the packaged spec's can only be a placeholder,
/// and an alarm on it would watch an API that does not exist. Every name must be one of the spec's
/// `[[http_apis]]` and given once ([`platform_spec::parse_http_api_ids`]), every id API Gateway's form
/// ([`platform_spec::http_api_id_problem`]).
///
/// # Errors
/// What is wrong with `json`, naming the API.
pub fn apply_api_ids(spec: &mut PlatformSpec, json: &str) -> Result<(), String> {
    let ids = platform_spec::parse_http_api_ids(json).map_err(|e| e.to_string())?;
    for (name, id) in ids {
        if let Some(problem) = platform_spec::http_api_id_problem(&id) {
            return Err(format!("API {name:?}: {problem}"));
        }
        let Some(api) = spec.http_apis.iter_mut().find(|a| a.name == name) else {
            return Err(format!(
                "API {name:?} is not one of the spec's [[http_apis]] ({})",
                spec.http_apis
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        api.id = id;
    }
    Ok(())
}

/// A handler failure with a stable error type.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is wrong (a value out of range): retrying it will not help.
    #[error("{0}")]
    Validation(String),
    /// The spec or the environment is wrong.
    #[error("{0}")]
    Configuration(String),
    /// AWS could not be read; the next scheduled run will retry.
    #[error("{0}")]
    Retryable(String),
    /// Some items were not written (named in the message).
    #[error("{0}")]
    PartialFailure(String),
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match &e {
            HandlerError::Validation(_) => "Validation",
            HandlerError::Configuration(_) => "Configuration",
            HandlerError::Retryable(_) => "Retryable",
            HandlerError::PartialFailure(_) => "PartialFailure",
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// `governance-dashboards` input (the EventBridge Scheduler payload `{"job":"dashboards"}`, Terraform's
/// `{"job":"dashboards","trigger":"deploy"}`; `{}` is fine). An unknown field is refused: a misspelt
/// `{"dryRun":true}` must not publish.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardsEvent {
    /// `dashboards` when given (another job sent here is refused).
    #[serde(default)]
    pub job: Option<String>,
    /// What invoked the function (`deploy`), for the log only.
    #[serde(default)]
    pub trigger: Option<String>,
    /// Plan only.
    #[serde(default)]
    pub dry_run: bool,
}

/// `job`, when the event names one, must be this function's.
fn check_job(job: Option<&str>, want: &str) -> Result<(), HandlerError> {
    match job {
        None => Ok(()),
        Some(j) if j == want => Ok(()),
        Some(other) => Err(HandlerError::Validation(format!(
            "job {other:?} sent to the {want} function: expected {want:?} or no job"
        ))),
    }
}

/// `governance-dashboards` output.
#[derive(Debug, Clone, Serialize)]
pub struct DashboardsOutcome {
    /// The plan.
    pub plan: PlanView,
    /// What was written (`None` on a dry run).
    pub applied: Option<ApplyReport>,
    /// The Logs Insights saved queries' plan (or the note saying why there is none).
    pub queries: QueryPlanView,
    /// What was written to the saved queries (`None` on a dry run or without a plan).
    pub queries_applied: Option<ApplyReport>,
}

fn failures(report: &ApplyReport) -> Option<String> {
    (!report.ok()).then(|| {
        report
            .failures
            .iter()
            .map(|f| format!("{} ({}): {}", f.name, f.action, f.error))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Plans and applies the dashboards and the Logs Insights saved queries. Both are read before anything
/// is written; a failed read of the saved queries does not hold the dashboards back: they are applied,
/// then the run fails `Retryable` naming the read.
///
/// # Errors
/// `Configuration`, `Retryable` or `PartialFailure` (see the module docs).
pub async fn dashboards_handler(
    event: LambdaEvent<DashboardsEvent>,
    deps: &LambdaDeps,
) -> Result<DashboardsOutcome, HandlerError> {
    check_job(event.payload.job.as_deref(), "dashboards")?;
    let desired = Desired::for_spec(&deps.spec).map_err(|e| HandlerError::Configuration(e.to_string()))?;
    let desired_queries = super::queries::desired_queries(&deps.spec)
        .map_err(|e| HandlerError::Configuration(e.to_string()))?;
    let prefix = deps.spec.managed_prefix();
    let cw = super::cloudwatch::with_publishing_retries(&deps.clients.cloudwatch);
    let logs = super::queries::with_publishing_retries(&deps.clients.logs);
    let plan = super::dashboards::plan(&cw, &desired.dashboards, &prefix)
        .await
        .map_err(|e| HandlerError::Retryable(e.to_string()))?;
    tracing::info!(plan = %plan.render_text(), "dashboard plan");
    let queries = super::queries::plan_or_skip(&logs, &desired_queries, &prefix).await;
    match &queries {
        Ok(q) => tracing::info!(plan = %q.render_text(), "saved query plan"),
        Err(e) => tracing::error!(error = %e, "cannot read the saved Logs Insights queries"),
    }
    if event.payload.dry_run {
        let queries = queries.map_err(|e| HandlerError::Retryable(format!("saved queries: {e}")))?;
        return Ok(DashboardsOutcome {
            plan: PlanView::of_dashboards(&plan),
            applied: None,
            queries: QueryPlanView::of(&queries),
            queries_applied: None,
        });
    }
    let report = super::dashboards::apply(&cw, &plan, &NoProgress).await;
    let (queries, queries_applied) = match queries {
        Ok(q) => {
            let applied = match q.plan() {
                Some(p) => Some(super::queries::apply(&logs, p, &NoProgress).await),
                None => None,
            };
            (q, applied)
        }
        Err(e) => {
            let mut message = format!("saved queries not published: {e}");
            if let Some(f) = failures(&report) {
                message = format!("{f}; {message}");
            }
            return Err(HandlerError::Retryable(message));
        }
    };
    let failed: Vec<String> = [Some(&report), queries_applied.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(failures)
        .collect();
    if !failed.is_empty() {
        return Err(HandlerError::PartialFailure(failed.join("; ")));
    }
    Ok(DashboardsOutcome {
        plan: PlanView::of_dashboards(&plan),
        applied: Some(report),
        queries: QueryPlanView::of(&queries),
        queries_applied,
    })
}

fn yes() -> bool {
    true
}

/// `governance-alarms` input (the scheduler's `{"job":"alarms"}`), or an SNS notification from the
/// warning topic (`{"Records":[{"EventSource":"aws:sns",…}]}`), which starts a run with the defaults at
/// once instead of at the next schedule. An unknown field is refused: a misspelt `{"dry_run":true}`
/// must not apply and post.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmsEvent {
    /// The SNS envelope's records (the warning topic's subscription): what they say is not read — the
    /// run reads the alarms' state itself.
    #[serde(default, rename = "Records")]
    pub records: Option<Vec<serde_json::Value>>,
    /// `alarms` when given (another job sent here is refused).
    #[serde(default)]
    pub job: Option<String>,
    /// Apply the catalogue (default true).
    #[serde(default = "yes")]
    pub apply: bool,
    /// Build, post and escalate the state report (default true).
    #[serde(default = "yes")]
    pub report: bool,
    /// Escalate critical alarms firing at least this long (default 15).
    #[serde(default)]
    pub escalate_after_minutes: Option<i64>,
    /// Post to Slack even when nothing changed since the last post (default false).
    #[serde(default)]
    pub always_post: bool,
    /// Hours between two digests while alarms keep firing unchanged (default 24).
    #[serde(default)]
    pub digest_hours: Option<i64>,
}

impl Default for AlarmsEvent {
    fn default() -> Self {
        Self {
            records: None,
            job: None,
            apply: true,
            report: true,
            escalate_after_minutes: None,
            always_post: false,
            digest_hours: None,
        }
    }
}

/// `governance-alarms` output.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmsOutcome {
    /// The plan, if applied.
    pub plan: Option<PlanView>,
    /// What was written.
    pub applied: Option<ApplyReport>,
    /// Alarms firing now.
    pub firing: Vec<String>,
    /// Whether the report was posted to Slack (only on change, or a digest: [`alarms::announce`]).
    pub posted_to_slack: bool,
    /// Why it was posted (empty when nothing changed).
    pub post_reasons: Vec<String>,
    /// Escalations.
    pub escalation: Option<EscalationReport>,
    /// Notes (unavailable sources, Slack failures).
    pub notes: Vec<String>,
}

/// Default minutes before a firing critical alarm is escalated.
pub const DEFAULT_ESCALATE_AFTER_MINUTES: i64 = 15;

/// The `escalate_after_minutes` accepted (the Lambda event and `alarms state --escalate-after-minutes`):
/// zero (escalate as soon as it fires) to one week. A negative value paged at once by accident; far more
/// overflows `chrono`'s `Duration`.
pub const ESCALATE_AFTER_MINUTES: std::ops::RangeInclusive<i64> = 0..=10_080;

/// The `digest_hours` accepted: one hour to one week.
pub const DIGEST_HOURS: std::ops::RangeInclusive<i64> = 1..=168;

/// `value` when it lies in `range`; otherwise a [`HandlerError::Validation`] naming the field and the
/// range.
fn in_range(
    field: &str,
    value: i64,
    range: &std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<i64, HandlerError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(HandlerError::Validation(format!(
            "\"{field}\": {value} is out of range: expected {}..={} ({unit})",
            range.start(),
            range.end()
        )))
    }
}

impl AlarmsEvent {
    /// How long a critical alarm fires before it is escalated, and the period between digests: the
    /// event's values (or the defaults), checked against [`ESCALATE_AFTER_MINUTES`] and
    /// [`DIGEST_HOURS`].
    ///
    /// # Errors
    /// [`HandlerError::Validation`] naming the field and the allowed range.
    ///
    /// ```
    /// use governance::publish::lambda::AlarmsEvent;
    /// let event = AlarmsEvent { escalate_after_minutes: Some(-5), ..AlarmsEvent::default() };
    /// let e = event.timings().unwrap_err().to_string();
    /// assert!(e.contains("escalate_after_minutes") && e.contains("0..=10080"), "{e}");
    /// let (escalate, digest) = AlarmsEvent::default().timings().unwrap();
    /// assert_eq!((escalate.num_minutes(), digest.num_hours()), (15, 24));
    /// ```
    pub fn timings(&self) -> Result<(Duration, Duration), HandlerError> {
        let minutes = in_range(
            "escalate_after_minutes",
            self.escalate_after_minutes
                .unwrap_or(DEFAULT_ESCALATE_AFTER_MINUTES),
            &ESCALATE_AFTER_MINUTES,
            "minutes",
        )?;
        let hours = in_range(
            "digest_hours",
            self.digest_hours.unwrap_or(DEFAULT_DIGEST_PERIOD_HOURS),
            &DIGEST_HOURS,
            "hours",
        )?;
        Ok((Duration::minutes(minutes), Duration::hours(hours)))
    }
}

/// Applies the catalogue, then reports, posts and escalates.
///
/// # Errors
/// `Configuration`, `Retryable` or `PartialFailure` (see the module docs). A failed Slack post or SNS
/// escalation is a `PartialFailure` after both were attempted; the next run retries what failed.
pub async fn alarms_handler(
    event: LambdaEvent<AlarmsEvent>,
    deps: &LambdaDeps,
) -> Result<AlarmsOutcome, HandlerError> {
    let apply_deadline = apply_deadline(event.context.deadline, std::time::SystemTime::now());
    let e = event.payload;
    // Before any work: a bad event must not apply half a run.
    check_job(e.job.as_deref(), "alarms")?;
    let (escalate_after, digest_period) = e.timings()?;
    let spec = &deps.spec;
    let catalogue =
        super::alarms::desired_catalogue(spec).map_err(|e| HandlerError::Configuration(e.to_string()))?;
    let cw = super::cloudwatch::with_publishing_retries(&deps.clients.cloudwatch);
    let mut out = AlarmsOutcome {
        plan: None,
        applied: None,
        firing: Vec::new(),
        posted_to_slack: false,
        post_reasons: Vec::new(),
        escalation: None,
        notes: Vec::new(),
    };
    if e.apply {
        let planning = super::alarms::plan(&cw, &catalogue, &spec.managed_prefix())
            .await
            .map_err(|e| HandlerError::Retryable(e.to_string()))?;
        let options = ApplyOptions {
            deadline: apply_deadline,
            ..ApplyOptions::default()
        };
        let report = super::alarms::apply(&cw, &planning.plan, options, &NoProgress).await;
        if !report.deferred.is_empty() {
            out.notes.push(format!(
                "{} alarm write(s) left for the next run: the apply stopped {} s before the function's \
                 timeout to leave the state report, escalation and Slack post their time",
                report.deferred.len(),
                POST_RESERVE.as_secs()
            ));
        }
        out.plan = Some(PlanView::of_alarms(&planning));
        out.applied = Some(report);
    }
    if e.report {
        let now = Utc::now();
        let ledger = Ledger::new(deps.clients.dynamodb.clone(), &spec.ledger.table);
        // The history of the managed alarms only, and only since the last run read it (kept in the ledger).
        let report = state_report_incremental(
            &cw,
            &deps.clients.xray,
            spec,
            &catalogue,
            now,
            StateOptions::default(),
            &ledger,
        )
        .await
        .map_err(|e| read_failure(out.applied.as_ref(), &e.to_string()))?;
        out.firing = report.summary.firing.iter().map(|f| f.name.clone()).collect();
        out.notes.extend(report.notes.iter().cloned());
        // Escalate first, so that an escalation made by this run is itself a reason to post.
        let escalation = escalate(
            &report,
            escalate_after,
            &ledger,
            &deps.clients.sns,
            &spec.notifications.sns_critical_topic_arn,
        )
        .await;
        let options = AnnounceOptions {
            digest_period,
            always_post: e.always_post,
        };
        let announced = announce(
            &report,
            escalation.paged(),
            &ledger,
            &crate::cost_pass::SdkChannels::new(&deps.clients),
            &spec.notifications.slack_webhook_secret,
            options,
        )
        .await;
        out.posted_to_slack = announced.posted;
        out.post_reasons = announced
            .reasons
            .iter()
            .map(alarms::announce::PostReason::describe)
            .collect();
        let mut delivery = Vec::new();
        if let Some(why) = &announced.failure {
            delivery.push(format!("Slack: {why}"));
        }
        delivery.extend(
            escalation
                .failures
                .iter()
                .map(|(alarm, why)| format!("SNS escalation of {alarm}: {why}")),
        );
        out.escalation = Some(escalation);
        if let Some(e) = run_failure(out.applied.as_ref(), &delivery) {
            return Err(e);
        }
    }
    if let Some(f) = out.applied.as_ref().and_then(failures) {
        return Err(HandlerError::PartialFailure(f));
    }
    Ok(out)
}

/// What the alarms Lambda keeps for the work after the apply: the state report (`DescribeAlarms`, the
/// history, X-Ray trace summaries), the SNS escalation and the Slack post, whose worst case alone is
/// 50 s (two 10 s attempts and a 30 s `Retry-After`, `state::SLACK_RETRY`).
pub const POST_RESERVE: std::time::Duration = std::time::Duration::from_secs(60);

/// When the apply must stop starting writes, from the invocation's deadline (`deadline_ms`, epoch
/// milliseconds as Lambda gives it; 0 when unknown, e.g. outside Lambda): [`POST_RESERVE`] before it,
/// but never less than half the time left (a function given a short timeout still applies, in parts).
#[must_use]
pub fn apply_deadline(deadline_ms: u64, now: std::time::SystemTime) -> Option<tokio::time::Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let end = std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline_ms);
    let left = end.duration_since(now).unwrap_or_default();
    let budget = left.saturating_sub(POST_RESERVE).max(left / 2);
    Some(tokio::time::Instant::now() + budget)
}

/// The run's failure when a delivery failed: a scheduled invocation's return value is thrown away, so a
/// failed delivery must fail the function (its error alarm and on-failure destination see it) and be
/// logged at ERROR — naming the alarm writes that failed in the same run first.
/// `rest` after the alarm writes of `applied` that failed, `; `-joined: a run's error names those
/// writes first, whatever else failed.
fn after_write_failures(applied: Option<&ApplyReport>, rest: impl IntoIterator<Item = String>) -> String {
    applied
        .and_then(failures)
        .into_iter()
        .chain(rest)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The run's error when the alarm-state read fails after the apply: `Retryable` naming the read, after
/// the alarm writes that failed in the same run (they would otherwise go unreported: the apply's
/// report is in no answer when the handler fails).
fn read_failure(applied: Option<&ApplyReport>, read: &str) -> HandlerError {
    let message = after_write_failures(applied, [format!("alarm state not read: {read}")]);
    tracing::error!(failures = %message, "alarm state could not be read; the next run retries it");
    HandlerError::Retryable(message)
}

fn run_failure(applied: Option<&ApplyReport>, delivery: &[String]) -> Option<HandlerError> {
    if delivery.is_empty() {
        return None;
    }
    let message = after_write_failures(applied, delivery.iter().cloned());
    tracing::error!(failures = %message, "alarm-state delivery failed; the next run retries it");
    Some(HandlerError::PartialFailure(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_default_sensibly() {
        let e: AlarmsEvent = serde_json::from_str("{}").unwrap();
        assert!(e.apply && e.report && !e.always_post);
        assert_eq!(e.escalate_after_minutes, None);
        let d: DashboardsEvent = serde_json::from_str("{\"dry_run\":true}").unwrap();
        assert!(d.dry_run);
    }

    /// A failed alarm write and a failed delivery in one run: the error names both (the write was lost
    /// from it when a delivery failed too).
    #[test]
    fn a_failed_write_is_named_beside_a_failed_delivery() {
        let applied = ApplyReport {
            failures: vec![super::super::alarms::ItemFailure {
                name: "collectiq-prod-x-critical".into(),
                action: "create",
                error: super::super::cloudwatch::ApiError {
                    operation: "PutMetricAlarm",
                    code: Some("ValidationError".into()),
                    message: "bad".into(),
                    status: Some(400),
                    classified: None,
                },
            }],
            ..ApplyReport::default()
        };
        let e = run_failure(Some(&applied), &["Slack: webhook refused".to_owned()]).unwrap();
        let text = e.to_string();
        assert!(text.contains("collectiq-prod-x-critical (create)"), "{text}");
        assert!(text.contains("Slack: webhook refused"), "{text}");
        assert!(
            run_failure(Some(&applied), &[]).is_none(),
            "no delivery failure: the caller reports the writes"
        );
    }

    /// The alarm state cannot be read after an apply with a failed write: the error names the write
    /// first, then the read (the write was lost from it, and from the log).
    #[test]
    fn a_failed_write_is_named_when_the_state_read_fails() {
        let applied = ApplyReport {
            failures: vec![super::super::alarms::ItemFailure {
                name: "collectiq-prod-y-warning".into(),
                action: "update",
                error: super::super::cloudwatch::ApiError {
                    operation: "PutMetricAlarm",
                    code: Some("LimitExceeded".into()),
                    message: "too many".into(),
                    status: Some(400),
                    classified: None,
                },
            }],
            ..ApplyReport::default()
        };
        let e = read_failure(Some(&applied), "DescribeAlarmHistory: Rate exceeded");
        assert!(matches!(e, HandlerError::Retryable(_)), "{e:?}");
        let text = e.to_string();
        let write = text.find("collectiq-prod-y-warning (update)").expect(&text);
        let read = text
            .find("alarm state not read: DescribeAlarmHistory")
            .expect(&text);
        assert!(write < read, "{text}");
        let alone = read_failure(None, "x").to_string();
        assert!(alone.contains("alarm state not read: x"), "{alone}");
    }

    /// What Terraform and the scheduler send parses; a misspelt field is refused and named (it would
    /// otherwise fall back to its default: publish, apply and post), and another function's job too.
    #[test]
    fn the_payloads_sent_parse_and_a_misspelt_field_is_refused() {
        for payload in [
            r#"{"job":"dashboards"}"#,
            r#"{"job":"dashboards","trigger":"deploy"}"#,
        ] {
            let d: DashboardsEvent = serde_json::from_str(payload).unwrap();
            assert!(check_job(d.job.as_deref(), "dashboards").is_ok());
        }
        let a: AlarmsEvent = serde_json::from_str(r#"{"job":"alarms"}"#).unwrap();
        assert!(check_job(a.job.as_deref(), "alarms").is_ok());
        // The warning topic's subscription (infra/modules/governance/notifications.tf): SNS invokes the
        // function with its envelope, which starts a run with the defaults.
        let sns = r#"{"Records":[{"EventSource":"aws:sns","EventVersion":"1.0","EventSubscriptionArn":"arn:aws:sns:us-east-1:123456789012:collectiq-prod-warning:1f2e","Sns":{"Type":"Notification","MessageId":"95df01b4-ee98-5cb9-9903-4c221d41eb5e","TopicArn":"arn:aws:sns:us-east-1:123456789012:collectiq-prod-warning","Subject":"ALARM: \"x\"","Message":"{\"AlarmName\":\"x\"}","Timestamp":"2026-12-05T17:00:00.000Z","SignatureVersion":"1","Signature":"EXAMPLE","SigningCertUrl":"https://sns.us-east-1.amazonaws.com/x.pem","UnsubscribeUrl":"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe","MessageAttributes":{}}}]}"#;
        let a: AlarmsEvent = serde_json::from_str(sns).unwrap();
        assert!(a.apply && a.report && a.records.is_some_and(|r| r.len() == 1));
        let e = serde_json::from_str::<DashboardsEvent>(r#"{"dryRun":true}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `dryRun`"), "{e}");
        let e = serde_json::from_str::<AlarmsEvent>(r#"{"dry_run":true}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `dry_run`"), "{e}");
        let wrong = check_job(Some("cost_report"), "alarms").unwrap_err().to_string();
        assert!(
            wrong.contains(r#"job "cost_report" sent to the alarms function"#),
            "{wrong}"
        );
    }

    /// Issue 13: "the alarms Lambda takes the ledger table, webhook secret and topic ARN from the spec and
    /// ignores the environment Terraform sets". `from_env` itself applies it, and the clients go to
    /// `COLLECTIQ_ENDPOINT_URL` (a loopback sink here, which sees the ledger call and its table name).
    #[tokio::test]
    async fn the_environment_wins_over_the_spec_and_points_the_clients() {
        use collectiq_tests::WebhookSink;
        let spec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/platforms/collectiq-prod.toml"
        );
        let packaged = platform_spec::load(std::path::Path::new(spec)).unwrap();
        let sink = WebhookSink::start(vec![]).await.unwrap();
        let endpoint = sink.url().trim_end_matches("/services/T000/B000/demo").to_owned();
        let env = std::collections::HashMap::from([
            (PLATFORM_ENV, spec.to_owned()),
            ("COLLECTIQ_ENDPOINT_URL", endpoint),
            ("LEDGER_TABLE_NAME", "tf-ledger".to_owned()),
            (
                "SLACK_WEBHOOK_SECRET_ARN",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:tf-slack".to_owned(),
            ),
            (
                "SNS_TOPIC_CRITICAL_ARN",
                "arn:aws:sns:us-east-1:123456789012:tf-critical".to_owned(),
            ),
        ]);
        let deps = LambdaDeps::from_vars(|k| env.get(k).cloned()).await.unwrap();
        assert_eq!(deps.spec.ledger.table, "tf-ledger");
        assert_ne!(packaged.ledger.table, "tf-ledger");
        assert_eq!(
            deps.spec.notifications.slack_webhook_secret,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:tf-slack"
        );
        assert_eq!(
            deps.spec.notifications.sns_critical_topic_arn,
            "arn:aws:sns:us-east-1:123456789012:tf-critical"
        );

        let ledger = Ledger::new(deps.clients.dynamodb.clone(), &deps.spec.ledger.table);
        let _ = crate::ledger::LedgerStore::claims(&ledger, "p").await;
        let got = sink.received();
        assert!(!got.is_empty(), "the ledger call went to COLLECTIQ_ENDPOINT_URL");
        assert!(got[0].body.contains("\"tf-ledger\""), "{}", got[0].body);

        // Unset or empty: the spec's values stay.
        let env = std::collections::HashMap::from([
            (PLATFORM_ENV, spec.to_owned()),
            ("LEDGER_TABLE_NAME", String::new()),
        ]);
        let deps = LambdaDeps::from_vars(|k| env.get(k).cloned()).await.unwrap();
        assert_eq!(deps.spec.ledger, packaged.ledger);
        assert_eq!(deps.spec.notifications, packaged.notifications);
    }

    /// The deployed API id (Terraform's `HTTP_API_IDS`) replaces the spec's placeholder, so the 5xx
    /// alarm and the API widgets watch the API that exists; a name or id that cannot be is refused.
    #[tokio::test]
    async fn the_deployed_api_id_replaces_the_specs_placeholder() {
        let spec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/platforms/collectiq-prod.toml"
        );
        let env = std::collections::HashMap::from([
            (PLATFORM_ENV, spec.to_owned()),
            (
                "HTTP_API_IDS",
                r#"{"collectiq-prod-api":"a1b2c3d4e5"}"#.to_owned(),
            ),
        ]);
        let deps = LambdaDeps::from_vars(|k| env.get(k).cloned()).await.unwrap();
        assert_eq!(deps.spec.http_apis[0].id, "a1b2c3d4e5");
        let desired = Desired::for_spec(&deps.spec).unwrap();
        let five_xx = desired
            .catalogue
            .alarms
            .iter()
            .find(|a| a.name().ends_with("-5xx-rate-critical"))
            .expect("the API's 5xx alarm");
        assert!(
            serde_json::to_string(&five_xx.alarm)
                .unwrap()
                .contains("a1b2c3d4e5"),
            "the alarm watches the deployed API"
        );
        for (ids, why) in [
            (
                r#"{"other-api":"a1b2c3d4e5"}"#,
                "is not one of the spec's [[http_apis]]",
            ),
            (
                r#"{"collectiq-prod-api":"A1B2"}"#,
                "expected an API Gateway API id",
            ),
            ("a1b2c3d4e5", "expected {"),
            (
                r#"{"collectiq-prod-api":"a1b2c3d4e5","collectiq-prod-api":"f6g7h8i9j0"}"#,
                "API \"collectiq-prod-api\" is named twice",
            ),
        ] {
            let env = std::collections::HashMap::from([
                (PLATFORM_ENV, spec.to_owned()),
                ("HTTP_API_IDS", ids.to_owned()),
            ]);
            let Err(e) = LambdaDeps::from_vars(|k| env.get(k).cloned()).await else {
                panic!("{ids} accepted")
            };
            assert!(
                e.to_string().starts_with("HTTP_API_IDS: ") && e.to_string().contains(why),
                "{e}"
            );
        }
    }

    /// A critical topic in the environment that cannot be a topic (or is in another region) is refused
    /// at start-up, naming the variable: a page recorded for it would fail on every run.
    #[tokio::test]
    async fn a_malformed_critical_topic_in_the_environment_is_refused_naming_the_variable() {
        let spec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/platforms/collectiq-prod.toml"
        );
        for (topic, why) in [
            ("arn:aws:sns:us-east-1:1234:crit", "expected an SNS topic ARN"),
            ("collectiq-prod-critical", "expected an SNS topic ARN"),
            (
                "arn:aws:sns:eu-west-1:123456789012:crit",
                "expected an ARN in region us-east-1",
            ),
        ] {
            let env = std::collections::HashMap::from([
                (PLATFORM_ENV, spec.to_owned()),
                ("SNS_TOPIC_CRITICAL_ARN", topic.to_owned()),
            ]);
            let Err(e) = LambdaDeps::from_vars(|k| env.get(k).cloned()).await else {
                panic!("{topic} accepted")
            };
            let text = e.to_string();
            assert!(matches!(e, HandlerError::Configuration(_)), "{text}");
            assert!(
                text.starts_with("SNS_TOPIC_CRITICAL_ARN: ") && text.contains(why),
                "{text}"
            );
        }
    }

    /// Terraform's `SLACK_WEBHOOK_SECRET_ARN` replaced the spec's secret unchecked: the webhook URL put
    /// there went to Secrets Manager as a secret id (CloudTrail) and into every error naming the secret;
    /// another account's secret sent the reports to its owner. The spec's rule now applies, quietly.
    #[tokio::test]
    async fn a_bad_webhook_secret_in_the_environment_is_refused_without_repeating_it() {
        let spec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/platforms/collectiq-prod.toml"
        );
        for (secret, why) in [
            ("https://hooks.slack.com/services/T0/B0/xyzzy", "found a URL"),
            (
                "arn:aws:secretsmanager:us-east-1:999999999999:secret:xyzzy",
                "account",
            ),
            ("coll\u{1b}xyzzy", "a character Secrets Manager refuses"),
        ] {
            let env = std::collections::HashMap::from([
                (PLATFORM_ENV, spec.to_owned()),
                ("SLACK_WEBHOOK_SECRET_ARN", secret.to_owned()),
            ]);
            let Err(e) = LambdaDeps::from_vars(|k| env.get(k).cloned()).await else {
                panic!("{secret} accepted")
            };
            let text = e.to_string();
            assert!(matches!(e, HandlerError::Configuration(_)), "{text}");
            assert!(
                text.starts_with("SLACK_WEBHOOK_SECRET_ARN: ") && text.contains(why),
                "{text}"
            );
            // A URL (the secret itself) or an unprintable value is never repeated; an ARN is no secret.
            assert!(secret.starts_with("arn:") || !text.contains("xyzzy"), "{text}");
        }
    }

    /// The apply leaves [`POST_RESERVE`] of the invocation for the state report, escalation and Slack
    /// post, but never less than half of what is left; no deadline outside Lambda.
    #[tokio::test(start_paused = true)]
    async fn the_apply_stops_in_time_for_the_posts() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let ms = |s: u64| 1_800_000_000_000 + s * 1000;
        let start = tokio::time::Instant::now();
        let after = |deadline: Option<tokio::time::Instant>| deadline.map(|d| (d - start).as_secs());
        assert_eq!(after(apply_deadline(ms(120), now)), Some(60));
        assert_eq!(after(apply_deadline(ms(300), now)), Some(240));
        assert_eq!(after(apply_deadline(ms(30), now)), Some(15));
        assert_eq!(after(apply_deadline(ms(0) - 5_000, now)), Some(0), "already past");
        assert_eq!(apply_deadline(0, now), None);
    }

    /// Issue 13: `escalate_after_minutes` and `digest_hours` went straight into `Duration::minutes/hours`
    /// (a panic past chrono's range) and a negative delay escalated at once.
    #[test]
    fn out_of_range_timings_are_refused_naming_the_field() {
        let event = |escalate, digest| AlarmsEvent {
            escalate_after_minutes: escalate,
            digest_hours: digest,
            ..AlarmsEvent::default()
        };
        for minutes in [i64::MIN, -5, -1, 10_081, i64::MAX] {
            let e = event(Some(minutes), None).timings().unwrap_err();
            assert!(matches!(e, HandlerError::Validation(_)), "{e}");
            let text = e.to_string();
            assert!(
                text.contains("\"escalate_after_minutes\": ") && text.contains("0..=10080"),
                "{text}"
            );
        }
        for hours in [i64::MIN, 0, 169, i64::MAX] {
            let text = event(None, Some(hours)).timings().unwrap_err().to_string();
            assert!(
                text.contains("\"digest_hours\": ") && text.contains("1..=168"),
                "{text}"
            );
        }
        let (escalate, digest) = event(Some(10_080), Some(1)).timings().unwrap();
        assert_eq!(
            (escalate, digest),
            (Duration::minutes(10_080), Duration::hours(1))
        );
        let (escalate, digest) = event(Some(0), Some(168)).timings().unwrap();
        assert_eq!((escalate, digest), (Duration::zero(), Duration::hours(168)));
    }

    /// The handler refuses a bad event before any AWS call (the endpoint here refuses connections, so a
    /// call would end as `Retryable`).
    #[tokio::test]
    async fn the_handler_refuses_a_bad_event_before_any_work() {
        let spec = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/platforms/collectiq-prod.toml"
        );
        let env = std::collections::HashMap::from([
            (PLATFORM_ENV, spec.to_owned()),
            ("COLLECTIQ_ENDPOINT_URL", "http://127.0.0.1:1".to_owned()),
        ]);
        let deps = LambdaDeps::from_vars(|k| env.get(k).cloned()).await.unwrap();
        let payload = AlarmsEvent {
            escalate_after_minutes: Some(i64::MAX),
            ..AlarmsEvent::default()
        };
        let e = alarms_handler(
            LambdaEvent::new(payload, lambda_runtime::Context::default()),
            &deps,
        )
        .await
        .unwrap_err();
        assert_eq!(Diagnostic::from(e).error_type, "Validation");
    }

    #[test]
    fn errors_have_stable_types() {
        let d: Diagnostic = HandlerError::PartialFailure("a (create): x".into()).into();
        assert_eq!(d.error_type, "PartialFailure");
        assert_eq!(d.error_message, "a (create): x");
        let d: Diagnostic = HandlerError::Configuration("bad".into()).into();
        assert_eq!(d.error_type, "Configuration");
    }
}
