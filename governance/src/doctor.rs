//! `collectiq-ops doctor`: one cheap read of every API the governance pass needs, reported ✓/✗ with the
//! IAM permission and the error behind each ✗ — the first thing an operator runs against a new account.
//!
//! A ✗ line says what went wrong in plain words — no credentials found, endpoint unreachable, DNS,
//! throttled, access denied — from the one AWS error classifier (`aws_error`); it names the IAM action
//! only when a permission would fix it, and each distinct piece of advice is printed once below the
//! checks.
//!
//! Every call is a read. Cost Explorer is the only one that costs money ($0.01 per request); the doctor
//! makes exactly one CE request and says so.
//!
//! The windows it reads (CardsValued over the last 24 h, traces in the last 5 minutes, yesterday's cost)
//! end at one instant: the wall clock for [`run`], any instant for [`run_at`] (the demo passes the now it
//! seeded its month as of). Numbers are printed through [`whole`], which never writes a negative zero.

use std::fmt;

use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Duration, Utc};
use platform_spec::PlatformSpec;
use serde::Serialize;

use aws_error::{AwsCallError, ErrorClass, RawAnswer};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::AwsClients;

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// AWS service (`CloudWatch`).
    pub service: &'static str,
    /// API call made (`ListMetrics`).
    pub call: &'static str,
    /// IAM action the governance role needs for it.
    pub permission: &'static str,
    /// Whether it worked.
    pub ok: bool,
    /// What was found (✓) or what went wrong (✗).
    pub detail: String,
    /// What to do about a failed AWS call, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// The permission a ✗ line names: the IAM action an access-denied answer lacks, or `permission`
    /// when the doctor itself found the problem. `None` when no permission would fix it (no
    /// credentials, an unreachable endpoint, throttling, a server fault).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs: Option<String>,
    /// The check could not be made — no answer (unreachable endpoint, time-out), throttled or a server
    /// fault — so it found nothing either way. A run where this is all that failed is an error (exit
    /// 1), not a finding (exit 2).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub could_not_run: bool,
}

/// Every check, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// `{platform}-{env}`.
    pub platform: String,
    /// Region checked.
    pub region: String,
    /// The checks.
    pub checks: Vec<Check>,
    /// Cost Explorer requests made ($0.01 each).
    pub cost_explorer_requests: u32,
}

impl DoctorReport {
    /// Whether every check passed.
    #[must_use]
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// Whether a check found a problem (a refused permission, a missing resource, a finding of the
    /// doctor's own), as opposed to checks that only could not run.
    #[must_use]
    pub fn found_problems(&self) -> bool {
        self.checks.iter().any(|c| !c.ok && !c.could_not_run)
    }
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "doctor — {} ({})", self.platform, self.region)?;
        for c in &self.checks {
            let mark = if c.ok { "✓" } else { "✗" };
            write!(f, "  {mark} {:<15} {:<22} {}", c.service, c.call, c.detail)?;
            if let Some(needs) = c.needs.as_deref().filter(|_| !c.ok) {
                write!(f, "  [needs {needs}]")?;
            }
            writeln!(f)?;
        }
        // The same advice for many lines (no credentials: every call) is said once.
        let mut advice: Vec<&str> = Vec::new();
        for a in self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .filter_map(|c| c.advice.as_deref())
        {
            if !advice.contains(&a) {
                advice.push(a);
            }
        }
        for a in advice {
            writeln!(f, "  → {a}")?;
        }
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        write!(
            f,
            "  {} of {} checks passed; {} (${}.{:02})",
            self.checks.len() - failed,
            self.checks.len(),
            plural(
                usize::try_from(self.cost_explorer_requests).unwrap_or(usize::MAX),
                "Cost Explorer request"
            ),
            self.cost_explorer_requests / 100,
            self.cost_explorer_requests % 100
        )
    }
}

/// Why a check failed.
#[derive(Debug)]
enum Failure {
    /// An AWS call failed; `context` (`ledger collectiq-prod-ledger`) goes before its summary.
    Aws {
        context: Option<String>,
        error: Box<AwsCallError>,
    },
    /// The doctor found the problem itself (a budget missing from the account, a secret that is not a
    /// webhook URL).
    Found(String),
}

impl Failure {
    fn context(self, context: String) -> Self {
        match self {
            Self::Aws { error, .. } => Self::Aws {
                context: Some(context),
                error,
            },
            found @ Self::Found(_) => found,
        }
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Self::Found(s)
    }
}

impl From<&str> for Failure {
    fn from(s: &str) -> Self {
        Self::Found(s.to_owned())
    }
}

impl From<AwsCallError> for Failure {
    fn from(error: AwsCallError) -> Self {
        Self::Aws {
            context: None,
            error: Box::new(error),
        }
    }
}

/// `map_err(aws("CloudWatch", "ListMetrics"))`: the SDK error, classified.
fn aws<E, R>(service: &'static str, operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> Failure
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: RawAnswer + fmt::Debug + Send + Sync + 'static,
{
    move |e| AwsCallError::from_sdk(service, operation, e).into()
}

fn check(
    service: &'static str,
    call: &'static str,
    permission: &'static str,
    outcome: Result<String, Failure>,
) -> Check {
    let could_not_run = matches!(&outcome, Err(Failure::Aws { error, .. }) if matches!(
        error.class(),
        ErrorClass::Throttled | ErrorClass::ServerFault | ErrorClass::Timeout | ErrorClass::Transport
    ));
    let (ok, detail, advice, needs) = match outcome {
        Ok(d) => (true, d, None, None),
        Err(Failure::Found(d)) => (false, d, None, Some(permission.to_owned())),
        Err(Failure::Aws { context, error }) => {
            let summary = error.summary();
            let detail = match context {
                Some(c) => format!("{c}: {summary}"),
                None => summary,
            };
            let needs = if error.class() == ErrorClass::AccessDenied {
                error.iam_action()
            } else {
                None
            };
            (false, detail, Some(error.advice()), needs)
        }
    };
    Check {
        service,
        call,
        permission,
        ok,
        detail,
        advice,
        needs,
        could_not_run,
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// `value` rounded to a whole number, as text — never `-0`.
///
/// `{:.0}` keeps the sign of a value that rounds to zero (`-0.4` → `-0`), and an empty `f64` sum *is*
/// `-0.0` (the additive identity `Iterator::sum` starts from), so a metric query that returns no
/// datapoints would read "= -0". Zero has no sign here.
///
/// ```
/// use governance::doctor::whole;
/// assert_eq!(whole(-0.0), "0");
/// assert_eq!(whole(-0.4), "0");
/// assert_eq!(whole(std::iter::empty::<f64>().sum()), "0");
/// assert_eq!(whole(-0.6), "-1");
/// assert_eq!(whole(41_234.5), "41235");
/// ```
#[must_use]
pub fn whole(value: f64) -> String {
    let rounded = value.round();
    // `-0.0 == 0.0`: both print as "0".
    if rounded == 0.0 {
        "0".to_owned()
    } else {
        format!("{rounded:.0}")
    }
}

fn smithy(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_millis(t.timestamp_millis())
}

/// Runs every check against `clients` for `spec`, its windows ending at the wall clock.
pub async fn run(spec: &PlatformSpec, clients: &AwsClients) -> DoctorReport {
    run_at(spec, clients, Utc::now()).await
}

/// Runs every check against `clients` for `spec`, its windows (metrics over the last 24 h, traces over the
/// last 5 minutes, yesterday's cost) ending at `now`.
pub async fn run_at(spec: &PlatformSpec, clients: &AwsClients, now: DateTime<Utc>) -> DoctorReport {
    let prefix = spec.managed_prefix();
    let mut checks = Vec::new();

    let cw = &clients.cloudwatch;
    checks.push(check(
        "CloudWatch",
        "ListMetrics",
        "cloudwatch:ListMetrics",
        cw.list_metrics()
            .namespace(telemetry::catalogue::NAMESPACE)
            .send()
            .await
            .map(|r| {
                format!(
                    "{} in {}",
                    plural(r.metrics().len(), "metric"),
                    telemetry::catalogue::NAMESPACE
                )
            })
            .map_err(aws("CloudWatch", "ListMetrics")),
    ));
    checks.push(check(
        "CloudWatch",
        "GetMetricData",
        "cloudwatch:GetMetricData",
        metric_data(spec, cw, now).await,
    ));
    checks.push(check(
        "CloudWatch",
        "ListDashboards",
        "cloudwatch:ListDashboards",
        cw.list_dashboards()
            .dashboard_name_prefix(&prefix)
            .send()
            .await
            .map(|r| {
                // Exactly this environment's (`{prefix}-{section}`): `collectiq-prod-eu-*` also starts
                // with `collectiq-prod`.
                let ours = r
                    .dashboard_entries()
                    .iter()
                    .filter_map(|d| d.dashboard_name())
                    .filter(|n| dashboards::plan::owned_by(n, &prefix))
                    .count();
                format!("{} of {prefix}", plural(ours, "dashboard"))
            })
            .map_err(aws("CloudWatch", "ListDashboards")),
    ));
    checks.push(check(
        "CloudWatch",
        "DescribeAlarms",
        "cloudwatch:DescribeAlarms",
        cw.describe_alarms()
            .alarm_name_prefix(format!("{prefix}-"))
            .max_records(100)
            .send()
            .await
            .map(|r| {
                // Exactly the catalogue's names (another environment's `{prefix}-eu-…` alarms share
                // the prefix); one page of 100 is enough to show access works and what fires.
                let catalogue: std::collections::HashSet<String> = crate::publish::Desired::for_spec(spec)
                    .map(|d| d.catalogue.alarms.iter().map(|a| a.name().to_owned()).collect())
                    .unwrap_or_default();
                let ours: Vec<_> = r
                    .metric_alarms()
                    .iter()
                    .filter(|a| a.alarm_name().is_some_and(|n| catalogue.contains(n)))
                    .collect();
                let firing = ours
                    .iter()
                    .filter(|a| a.state_value() == Some(&aws_sdk_cloudwatch::types::StateValue::Alarm))
                    .count();
                let more = if r.next_token().is_some_and(|t| !t.is_empty()) {
                    " (first 100 read)"
                } else {
                    ""
                };
                format!(
                    "{} of {prefix}'s catalogue, {firing} in ALARM{more}",
                    plural(ours.len(), "metric alarm")
                )
            })
            .map_err(aws("CloudWatch", "DescribeAlarms")),
    ));
    checks.push(check(
        "CloudWatch Logs",
        "DescribeLogGroups",
        "logs:DescribeLogGroups",
        clients
            .logs
            .describe_log_groups()
            .log_group_name_prefix("/aws/lambda/")
            .send()
            .await
            .map(|r| {
                let ours = r
                    .log_groups()
                    .iter()
                    .filter(|g| {
                        spec.functions
                            .iter()
                            .any(|f| g.log_group_name() == Some(&format!("/aws/lambda/{}", f.name)))
                    })
                    .count();
                format!("{ours} of {} function log groups found", spec.functions.len())
            })
            .map_err(aws("CloudWatchLogs", "DescribeLogGroups")),
    ));
    let (ce_outcome, ce_requests) = cost_and_usage(spec, clients, now).await;
    checks.push(check(
        "Cost Explorer",
        "GetCostAndUsage",
        "ce:GetCostAndUsage",
        ce_outcome,
    ));
    checks.push(check(
        "Budgets",
        "DescribeBudgets",
        "budgets:ViewBudget",
        budgets(spec, clients).await,
    ));
    checks.push(check(
        "X-Ray",
        "GetTraceSummaries",
        "xray:GetTraceSummaries",
        clients
            .xray
            .get_trace_summaries()
            .start_time(smithy(now - Duration::minutes(5)))
            .end_time(smithy(now))
            .send()
            .await
            .map(|r| {
                format!(
                    "{} in the last 5 minutes",
                    plural(r.trace_summaries().len(), "trace")
                )
            })
            .map_err(aws("XRay", "GetTraceSummaries")),
    ));
    for (label, arn) in [
        ("critical", &spec.notifications.sns_critical_topic_arn),
        ("warning", &spec.notifications.sns_warning_topic_arn),
    ] {
        checks.push(check(
            "SNS",
            "GetTopicAttributes",
            "sns:GetTopicAttributes",
            clients
                .sns
                .get_topic_attributes()
                .topic_arn(arn)
                .send()
                .await
                .map(|_| format!("{label} topic {}", arn.rsplit(':').next().unwrap_or(arn)))
                .map_err(|e| aws("SNS", "GetTopicAttributes")(e).context(format!("{label} topic {arn}"))),
        ));
    }
    checks.push(check(
        "DynamoDB",
        "DescribeTable",
        "dynamodb:DescribeTable",
        clients
            .dynamodb
            .describe_table()
            .table_name(&spec.ledger.table)
            .send()
            .await
            .map(|r| {
                let status = r
                    .table()
                    .and_then(|t| t.table_status())
                    .map_or("unknown".to_owned(), |s| s.as_str().to_owned());
                format!("ledger {} is {status}", spec.ledger.table)
            })
            .map_err(|e| {
                aws("DynamoDB", "DescribeTable")(e).context(format!("ledger {}", spec.ledger.table))
            }),
    ));
    checks.push(check(
        "Secrets Manager",
        "GetSecretValue",
        "secretsmanager:GetSecretValue",
        slack_secret(spec, clients).await,
    ));
    DoctorReport {
        platform: prefix,
        // The region the calls went to (a --region may differ from the spec's).
        region: clients
            .cloudwatch
            .config()
            .region()
            .map_or_else(|| spec.platform.region.clone(), ToString::to_string),
        checks,
        cost_explorer_requests: ce_requests,
    }
}

async fn metric_data(
    spec: &PlatformSpec,
    cw: &aws_sdk_cloudwatch::Client,
    now: DateTime<Utc>,
) -> Result<String, Failure> {
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    use telemetry::catalogue::{DimensionKey, MetricName, NAMESPACE};
    let metric = Metric::builder()
        .namespace(NAMESPACE)
        .metric_name(MetricName::CardsValued.as_str())
        .dimensions(
            Dimension::builder()
                .name(DimensionKey::Service.as_str())
                .value(spec.service_name())
                .build(),
        )
        .build();
    let query = MetricDataQuery::builder()
        .id("cards")
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(86_400)
                .stat("Sum")
                .build(),
        )
        .build();
    let r = cw
        .get_metric_data()
        .metric_data_queries(query)
        .start_time(smithy(now - Duration::hours(24)))
        .end_time(smithy(now))
        .send()
        .await
        .map_err(aws("CloudWatch", "GetMetricData"))?;
    let values: f64 = r.metric_data_results().iter().flat_map(|m| m.values()).sum();
    Ok(format!("CardsValued Sum over the last 24 h = {}", whole(values)))
}

/// One `GetCostAndUsage` ($0.01) under the spec's daily cap, counted in the ledger like the passes'
/// requests (SDK retries included), so doctor never spends what the daily report needs. The cap used up
/// (or 0): not asked, and the check says so. A ledger that cannot count because it is missing or not
/// readable (the DynamoDB check says why): asked once anyway, uncounted, and the line says so, since
/// finding out what is missing is doctor's job. Any other ledger failure (throttled, a fault, a
/// timeout): not asked — the ledger is there and would count the request on another try, so an uncounted
/// one would only spend past the cap. Returns the outcome and the attempts sent.
async fn cost_and_usage(
    spec: &PlatformSpec,
    clients: &AwsClients,
    now: DateTime<Utc>,
) -> (Result<String, Failure>, u32) {
    use crate::cost_pass::counting::RequestCounter;
    use crate::cost_pass::read::{CeQuota, ReadError};
    use crate::ledger::{LedgerCause, LedgerError};
    use aws_sdk_costexplorer::types::{DateInterval, Granularity};
    let today = now.date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    let period = match DateInterval::builder()
        .start(yesterday.to_string())
        .end(today.to_string())
        .build()
    {
        Ok(p) => p,
        Err(e) => return (Err(Failure::Found(e.to_string())), 0),
    };
    let counter = RequestCounter::new();
    let counted = counter.attach(clients);
    let request = || {
        counted
            .cost_explorer
            .get_cost_and_usage()
            .time_period(period.clone())
            .granularity(Granularity::Daily)
            .metrics("UnblendedCost")
            .send()
    };
    let ledger = crate::ledger::Ledger::new(clients.dynamodb.clone(), &spec.ledger.table);
    let quota = CeQuota::for_spec(&ledger, spec, now);
    let (answer, uncounted) = match counter.ce_request(&quota, request).await {
        Ok(answer) => (answer, None),
        Err(ReadError::CapReached { used, cap }) => {
            let sent = counter.snapshot().cost_explorer();
            let why = if cap == 0 {
                "the spec's ce_daily_request_cap is 0".to_owned()
            } else {
                format!("today's Cost Explorer cap is used ({used} of {cap} requests)")
            };
            return (Ok(format!("not asked: {why}")), sent);
        }
        Err(e) if may_ask_uncounted(&e) => (request().await, Some(e)),
        Err(e) => {
            let failure = match e {
                ReadError::Ledger(LedgerError {
                    cause: LedgerCause::Aws(error),
                    table,
                    ..
                }) => Failure::Aws {
                    context: Some(format!(
                        "not asked: the ledger {table} could not count the request"
                    )),
                    error,
                },
                other => Failure::Found(format!("not asked: {other}")),
            };
            return (Err(failure), counter.snapshot().cost_explorer());
        }
    };
    let sent = counter.snapshot().cost_explorer();
    let outcome = answer.map_err(aws("CostExplorer", "GetCostAndUsage")).map(|r| {
        let mut line = format!(
            "{} ({}, ${}.{:02})",
            plural(r.results_by_time().len(), "period"),
            plural(usize::try_from(sent).unwrap_or(usize::MAX), "request"),
            sent / 100,
            sent % 100
        );
        if let Some(e) = uncounted {
            line.push_str(&format!("; not counted against the daily cap ({e})"));
        }
        line
    });
    (outcome, sent)
}

/// Whether doctor may send its Cost Explorer request uncounted after the ledger failed to count it: only
/// when the ledger table is missing or this caller may not use it (what doctor is there to report).
fn may_ask_uncounted(e: &crate::cost_pass::read::ReadError) -> bool {
    matches!(
        e,
        crate::cost_pass::read::ReadError::Ledger(l)
            if matches!(l.class(), Some(ErrorClass::NotFound | ErrorClass::AccessDenied))
    )
}

async fn budgets(spec: &PlatformSpec, clients: &AwsClients) -> Result<String, Failure> {
    let account = spec
        .platform
        .account_id
        .clone()
        .ok_or("platform.account_id is not set in the spec")?;
    let r = clients
        .budgets
        .describe_budgets()
        .account_id(&account)
        .send()
        .await
        .map_err(aws("Budgets", "DescribeBudgets"))?;
    let names: Vec<&str> = r.budgets().iter().map(|b| b.budget_name()).collect();
    let missing: Vec<&str> = spec
        .budgets
        .iter()
        .map(|b| b.name.as_str())
        .filter(|n| !names.contains(n))
        .collect();
    if missing.is_empty() {
        Ok(format!(
            "{} found ({})",
            plural(spec.budgets.len(), "budget"),
            names.join(", ")
        ))
    } else {
        Err(format!(
            "budget(s) in the spec but not in account {account}: {}",
            missing.join(", ")
        )
        .into())
    }
}

async fn slack_secret(spec: &PlatformSpec, clients: &AwsClients) -> Result<String, Failure> {
    let name = &spec.notifications.slack_webhook_secret;
    let r = clients
        .secrets
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| aws("SecretsManager", "GetSecretValue")(e).context(format!("secret {name}")))?;
    // The value is never printed: only whether the sender would take it (the same rule).
    let Some(value) = r.secret_string() else {
        return Err(format!("secret {name} has no string value").into());
    };
    match crate::cost_pass::slack::WebhookUrl::from_secret(value) {
        Ok(url) if url.is_loopback() && clients.local_endpoint => {
            Ok(format!("secret {name} holds a loopback webhook URL (demo sink)"))
        }
        Ok(url) if url.is_loopback() => Err(format!(
            "secret {name} holds {}",
            crate::cost_pass::notify::LOOPBACK_OUTSIDE_EMULATOR
        )
        .into()),
        Ok(_) => Ok(format!("secret {name} holds a Slack webhook URL")),
        Err(e) => Err(format!("secret {name}: {e}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 13: doctor sent an uncounted Cost Explorer request ($0.01, past the daily cap) on any
    /// ledger error, a throttle included. Only a missing or forbidden ledger lets it ask uncounted.
    #[tokio::test]
    async fn only_a_missing_or_forbidden_ledger_lets_doctor_ask_uncounted() {
        use collectiq_tests::{SinkResponse, WebhookSink};
        let spec = crate::test_support::prod_spec();
        assert!(spec.cost.ce_daily_request_cap > 0);
        let dynamodb_error = |code: &str| {
            SinkResponse::error(
                400,
                &format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected"}}"#),
            )
        };
        for (code, asked) in [
            ("ThrottlingException", false),
            ("ProvisionedThroughputExceededException", false),
            ("ResourceNotFoundException", true),
            ("AccessDeniedException", true),
        ] {
            // One loopback endpoint for every client: the ledger's UpdateItem gets `code`, a Cost
            // Explorer request (if any) the sink's default answer.
            let sink = WebhookSink::start(vec![dynamodb_error(code)]).await.unwrap();
            let endpoint = sink.url().trim_end_matches("/services/T000/B000/demo").to_owned();
            let config = crate::aws::sdk_config(&crate::aws::AwsTarget {
                endpoint_url: Some(endpoint),
                region: Some(spec.platform.region.clone()),
                ..Default::default()
            })
            .await;
            let clients = AwsClients::new(&config);
            let (outcome, _) = cost_and_usage(&spec, &clients, Utc::now()).await;
            let got = sink.received();
            let ce_requests = got.iter().filter(|r| r.body.contains("TimePeriod")).count();
            assert_eq!(ce_requests, usize::from(asked), "{code}: {got:?}");
            if !asked {
                let Err(Failure::Aws { context, error }) = outcome else {
                    panic!("{code}: {outcome:?}")
                };
                assert!(context.unwrap_or_default().contains("not asked"), "{code}");
                assert!(!matches!(
                    error.class(),
                    ErrorClass::NotFound | ErrorClass::AccessDenied
                ));
            }
        }
    }

    #[test]
    fn whole_numbers_never_carry_the_sign_of_zero() {
        // What CloudWatch gives back for a window with no datapoints: no values at all.
        let empty: f64 = Vec::<f64>::new().iter().sum();
        assert!(
            empty.is_sign_negative(),
            "the case this guards: an empty sum is -0.0"
        );
        assert_eq!(format!("{empty:.0}"), "-0", "and std prints it with its sign");
        assert_eq!(whole(empty), "0");
        for (v, want) in [
            (0.0, "0"),
            (-0.0, "0"),
            (-0.49, "0"),
            (0.49, "0"),
            (-0.5, "-1"),
            (1_706.0, "1706"),
            (-3.2, "-3"),
        ] {
            assert_eq!(whole(v), want, "{v}");
        }
        assert_eq!(whole(f64::NAN), "NaN");
    }

    #[test]
    fn rendering_marks_failures_with_their_permission() {
        let report = DoctorReport {
            platform: "demo-dev".into(),
            region: "us-east-1".into(),
            checks: vec![
                check(
                    "CloudWatch",
                    "ListMetrics",
                    "cloudwatch:ListMetrics",
                    Ok("3 metrics".into()),
                ),
                check(
                    "Budgets",
                    "DescribeBudgets",
                    "budgets:ViewBudget",
                    Err("AccessDeniedException: no".into()),
                ),
            ],
            cost_explorer_requests: 1,
        };
        let text = report.to_string();
        assert!(text.contains("✓ CloudWatch"));
        assert!(text.contains("✗ Budgets"));
        assert!(text.contains("[needs budgets:ViewBudget]"));
        assert!(!text.lines().nth(1).unwrap().contains("needs"));
        assert!(text.ends_with("1 of 2 checks passed; 1 Cost Explorer request ($0.01)"));
        assert!(!report.all_ok());
    }

    /// A loopback port nothing listens on.
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Real SDK clients pointed at a closed loopback port, with or without credentials.
    async fn clients(credentials: bool) -> AwsClients {
        let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(format!("http://127.0.0.1:{}", closed_port()))
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled());
        let loader = if credentials {
            loader.credentials_provider(aws_credential_types::Credentials::new(
                "AKID", "SECRET", None, None, "test",
            ))
        } else {
            loader.no_credentials()
        };
        AwsClients::new(&loader.load().await)
    }

    /// `doctor` called a loopback webhook secret "OK (demo sink)" in any account: a real account whose
    /// secret still held the demo's URL was told all was well while every report went nowhere.
    #[tokio::test]
    async fn a_loopback_webhook_is_a_failure_outside_the_emulator() {
        use crate::test_support::secret_clients;
        let spec = crate::test_support::prod_spec();
        let sink = "http://127.0.0.1:8080/services/T/B/x";
        let Failure::Found(e) = slack_secret(&spec, &secret_clients(None, sink))
            .await
            .unwrap_err()
        else {
            panic!("found by the doctor, not an AWS error");
        };
        assert!(e.contains("loopback"), "{e}");
        assert!(!e.contains("8080"), "the URL is never printed: {e}");
        let ok = slack_secret(&spec, &secret_clients(Some("http://127.0.0.1:4566"), sink)).await;
        assert!(ok.unwrap().contains("demo sink"));
        let slack = secret_clients(None, "https://hooks.slack.com/services/T/B/x");
        assert!(slack_secret(&spec, &slack).await.is_ok());
    }

    #[tokio::test]
    async fn without_credentials_every_call_says_so_and_what_to_do_once() {
        let report = run(&crate::test_support::prod_spec(), &clients(false).await).await;
        let text = report.to_string();
        let calls: Vec<&Check> = report.checks.iter().filter(|c| c.advice.is_some()).collect();
        assert!(calls.len() >= 10, "every AWS check failed on its call: {text}");
        for c in calls {
            assert!(!c.ok);
            assert!(c.detail.ends_with("no AWS credentials found"), "{c:?}");
            assert_eq!(c.needs, None, "no permission fixes missing credentials: {c:?}");
        }
        assert!(!text.contains("cannot reach the endpoint"), "{text}");
        assert!(!text.contains("[needs cloudwatch:ListMetrics]"), "{text}");
        assert_eq!(text.matches("→ no AWS credentials found: ").count(), 1, "{text}");
        assert!(text.contains("aws sso login"), "{text}");
        assert!(text.lines().last().unwrap().contains("checks passed"), "{text}");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_says_so_and_what_to_do() {
        let report = run(&crate::test_support::prod_spec(), &clients(true).await).await;
        let first = &report.checks[0];
        assert_eq!(
            (first.service, first.call, first.ok),
            ("CloudWatch", "ListMetrics", false)
        );
        assert!(
            first
                .detail
                .starts_with("endpoint unreachable (connection refused)"),
            "{first:?}"
        );
        let text = report.to_string();
        assert!(
            text.contains("→ endpoint unreachable: nothing accepted the connection to CloudWatch"),
            "{text}"
        );
        assert!(
            !text.contains("[needs"),
            "no permission fixes an unreachable endpoint: {text}"
        );
    }

    #[tokio::test]
    async fn access_denied_names_the_action_the_answer_names() {
        use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, mock};
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        let rule = mock!(aws_sdk_dynamodb::Client::describe_table).then_http_response(|| {
            let mut r = HttpResponse::new(
                StatusCode::try_from(400).unwrap(),
                SdkBody::from(
                    r#"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:sts::123456789012:assumed-role/gov/x is not authorized to perform: dynamodb:DescribeTable on resource: arn:aws:dynamodb:us-east-1:123456789012:table/ledger"}"#,
                ),
            );
            r.headers_mut().insert("content-type", "application/x-amz-json-1.0");
            r
        });
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKID", "SECRET", None, None, "test",
            ))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(
                MockResponseInterceptor::new()
                    .rule_mode(RuleMode::MatchAny)
                    .with_rule(&rule),
            )
            .build();
        let outcome = aws_sdk_dynamodb::Client::from_conf(conf)
            .describe_table()
            .table_name("ledger")
            .send()
            .await
            .map(|_| String::new())
            .map_err(|e| aws("DynamoDB", "DescribeTable")(e).context("ledger ledger".into()));
        let c = check("DynamoDB", "DescribeTable", "dynamodb:DescribeTable", outcome);
        assert!(!c.ok);
        assert!(
            c.detail
                .starts_with("ledger ledger: AccessDeniedException: User: "),
            "{c:?}"
        );
        assert_eq!(c.needs.as_deref(), Some("dynamodb:DescribeTable"));
        assert!(
            c.advice
                .as_deref()
                .unwrap()
                .starts_with("access denied: the role needs dynamodb:DescribeTable"),
            "{c:?}"
        );
    }
}
