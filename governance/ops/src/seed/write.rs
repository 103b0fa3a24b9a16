//! The SDK writers of the demo seed: a [`DemoMonth`] written into an AWS endpoint (the emulator) through
//! the real SDK clients — topics, the ledger table, the webhook secret, logs, budgets, metrics, alarms,
//! traces. What is written is built by the pure [`super::datums`]; this file only sends it.
//!
//! Log events and traces are stamped in the minutes before the month's `now`. CloudWatch Logs rejects
//! events more than 14 days old or 2 hours ahead ([PutLogEvents]; moto does the same against its wall
//! clock) and X-Ray keeps traces 30 days, so a month pinned outside that window would lose them silently:
//! [`stamp_time`] then stamps them in the minutes before the wall clock instead, and [`SeedReport`] says
//! so. A rejected log event is an error, never a quiet loss.
//!
//! [PutLogEvents]: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html

use std::collections::BTreeMap;

use aws_error::AwsCallError;
use aws_sdk_cloudwatch::types::Dimension;
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Duration, Utc};
use governance::aws::AwsClients;
use governance::ledger::LedgerError;
use platform_spec::PlatformSpec;
use serde::Serialize;

use super::datums::{at, metric_datums, preexisting_alarms};
use super::month::DemoMonth;

/// What failed while seeding, and where.
#[derive(Debug, thiserror::Error)]
#[error("seeding {step} failed: {cause}")]
pub struct SeedError {
    /// The step (`budgets`, `metrics AWS/Lambda`, ...).
    pub step: String,
    /// Why.
    #[source]
    pub cause: SeedCause,
}

/// Why a seeding step failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedCause {
    /// An emulator call failed (classified; the SDK error is its source). Boxed: the call error is large.
    #[error("{}", .0.summary())]
    Aws(Box<AwsCallError>),
    /// Creating the ledger table failed.
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    /// A document could not be encoded.
    #[error("cannot encode the document: {0}")]
    Encode(#[from] serde_json::Error),
    /// A request could not be built (a required field missing).
    #[error("cannot build the request: {0}")]
    Build(#[from] aws_smithy_types::error::operation::BuildError),
    /// The service accepted the call but not all of its content (e.g. log events outside the window).
    #[error("{0}")]
    Rejected(String),
}

impl From<AwsCallError> for SeedCause {
    fn from(e: AwsCallError) -> Self {
        Self::Aws(Box::new(e))
    }
}

fn fail<C: Into<SeedCause>>(step: impl Into<String>) -> impl FnOnce(C) -> SeedError {
    let step = step.into();
    move |cause| SeedError {
        step,
        cause: cause.into(),
    }
}

/// Counts of what [`apply`] wrote, for the demo's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Metric datums written.
    pub metric_datums: usize,
    /// PutMetricData calls made.
    pub put_metric_calls: usize,
    /// Budgets created.
    pub budgets: usize,
    /// Alarms created (and how many were set to ALARM).
    pub alarms: (usize, usize),
    /// Log events written.
    pub log_events: usize,
    /// Trace segments written.
    pub trace_segments: usize,
    /// The instant log events and traces end at: the month's `now`, or the wall clock when that is
    /// outside what CloudWatch Logs accepts (see [`stamp_time`]).
    pub logs_and_traces_at: Option<DateTime<Utc>>,
    /// Whether `logs_and_traces_at` is the wall clock because the month's `now` was too old (or ahead).
    pub logs_and_traces_shifted: bool,
}

/// How old a log event may be when CloudWatch Logs receives it (and moto enforces the same).
pub const LOGS_MAX_AGE: Duration = Duration::days(14);
/// How far ahead of the clock a log event may be.
pub const LOGS_MAX_AHEAD: Duration = Duration::hours(2);
/// How long X-Ray keeps a trace.
pub const XRAY_RETENTION: Duration = Duration::days(30);

/// Where log events and traces of a month seeded as of `now` end, given the `wall` clock: `now` itself
/// while its log events (stamped up to 5 minutes before it) are inside CloudWatch Logs' window — 14 days
/// back, less an hour of slack for a slow run, to 2 hours ahead — else `wall` (the `bool` says which).
///
/// ```
/// use collectiq_ops::seed::write::stamp_time;
/// let wall = "2026-12-02T12:00:00Z".parse().unwrap();
/// let recent = "2026-11-25T13:12:00Z".parse().unwrap();
/// assert_eq!(stamp_time(recent, wall), (recent, false));
/// let old = "2026-11-01T13:12:00Z".parse().unwrap();
/// assert_eq!(stamp_time(old, wall), (wall, true));
/// ```
#[must_use]
pub fn stamp_time(now: DateTime<Utc>, wall: DateTime<Utc>) -> (DateTime<Utc>, bool) {
    let oldest = wall - LOGS_MAX_AGE + Duration::hours(1);
    let newest = wall + LOGS_MAX_AHEAD - Duration::minutes(1);
    if now - Duration::minutes(5) >= oldest && now <= newest {
        (now, false)
    } else {
        (wall, true)
    }
}

/// Seeds everything but Cost Explorer: SNS topics, the ledger table, the Slack webhook secret (pointing at
/// `slack_webhook_url`), log groups with events, budgets with spend, a month of metrics, alarms (some
/// firing, one orphan under the managed prefix, one unmanaged) and faulting traces.
///
/// Cost Explorer results are queued separately with [`cost_explorer_pages`], right before the code that
/// reads them runs, because moto hands queued results to whichever request comes first.
///
/// # Errors
/// [`SeedError`] naming the step that failed.
pub async fn apply(
    spec: &PlatformSpec,
    month: &DemoMonth,
    clients: &AwsClients,
    slack_webhook_url: &str,
) -> Result<SeedReport, SeedError> {
    let mut report = SeedReport::default();
    create_topics(spec, clients).await?;
    create_ledger(spec, clients).await?;
    clients
        .secrets
        .create_secret()
        .name(&spec.notifications.slack_webhook_secret)
        .secret_string(slack_webhook_url)
        .send()
        .await
        .map_err(AwsCallError::of("SecretsManager", "CreateSecret"))
        .map_err(fail("Slack webhook secret"))?;
    let (stamp, shifted) = stamp_time(month.now, Utc::now());
    report.logs_and_traces_at = Some(stamp);
    report.logs_and_traces_shifted = shifted;
    report.log_events = write_logs(spec, stamp, clients).await?;
    report.budgets = create_budgets(spec, month, clients).await?;
    let datums = metric_datums(spec, month);
    for (namespace, data) in &datums {
        for chunk in data.chunks(1000) {
            clients
                .cloudwatch
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(AwsCallError::of("CloudWatch", "PutMetricData"))
                .map_err(fail(format!("metrics {namespace}")))?;
            report.put_metric_calls += 1;
            report.metric_datums += chunk.len();
        }
    }
    report.alarms = create_alarms(spec, clients).await?;
    report.trace_segments = write_traces(spec, stamp, clients).await?;
    Ok(report)
}

async fn create_topics(spec: &PlatformSpec, clients: &AwsClients) -> Result<(), SeedError> {
    for arn in [
        &spec.notifications.sns_critical_topic_arn,
        &spec.notifications.sns_warning_topic_arn,
    ] {
        let name = arn.rsplit(':').next().unwrap_or(arn);
        clients
            .sns
            .create_topic()
            .name(name)
            .send()
            .await
            .map_err(AwsCallError::of("SNS", "CreateTopic"))
            .map_err(fail(format!("SNS topic {name}")))?;
    }
    Ok(())
}

async fn create_ledger(spec: &PlatformSpec, clients: &AwsClients) -> Result<(), SeedError> {
    governance::ledger::Ledger::create_table(&clients.dynamodb, &spec.ledger.table)
        .await
        .map(|_| ())
        .map_err(fail("ledger table"))
}

/// One structured log line as a CollectIQ function writes it (the Powertools keys).
#[derive(Serialize)]
struct LogLine<'a> {
    timestamp: String,
    level: &'a str,
    message: &'a str,
    service: &'a str,
    function_name: &'a str,
    function_request_id: String,
    cold_start: bool,
}

/// Five lines per function, one a minute, the last a minute before `end`.
async fn write_logs(
    spec: &PlatformSpec,
    end: DateTime<Utc>,
    clients: &AwsClients,
) -> Result<usize, SeedError> {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let first = end - Duration::minutes(5);
    let mut written = 0;
    for f in &spec.functions {
        let group = format!("/aws/lambda/{}", f.name);
        let step = format!("log group {group}");
        clients
            .logs
            .create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .map_err(AwsCallError::of("CloudWatchLogs", "CreateLogGroup"))
            .map_err(fail(&step))?;
        clients
            .logs
            .put_retention_policy()
            .log_group_name(&group)
            .retention_in_days(i32::try_from(spec.platform.log_retention_days).unwrap_or(30))
            .send()
            .await
            .map_err(AwsCallError::of("CloudWatchLogs", "PutRetentionPolicy"))
            .map_err(fail(&step))?;
        clients
            .logs
            .create_log_stream()
            .log_group_name(&group)
            .log_stream_name("2026/seed/[$LATEST]0")
            .send()
            .await
            .map_err(AwsCallError::of("CloudWatchLogs", "CreateLogStream"))
            .map_err(fail(&step))?;
        let mut events = Vec::new();
        for i in 0..5_i64 {
            let time = first + Duration::minutes(i);
            let failing = f.id == "authenticity_agent" && i == 4;
            let line = LogLine {
                timestamp: time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                level: if failing { "ERROR" } else { "INFO" },
                message: if failing {
                    "Bedrock Converse throttled after retries."
                } else {
                    "Request handled."
                },
                service: spec.service_name(),
                function_name: &f.name,
                function_request_id: format!("{:08x}-seed-{i}", f.id.len()),
                cold_start: i == 0,
            };
            let message = serde_json::to_string(&line).map_err(fail(&step))?;
            events.push(
                InputLogEvent::builder()
                    .timestamp(time.timestamp_millis())
                    .message(message)
                    .build()
                    .map_err(fail(&step))?,
            );
        }
        let sent = events.len();
        let answer = clients
            .logs
            .put_log_events()
            .log_group_name(&group)
            .log_stream_name("2026/seed/[$LATEST]0")
            .set_log_events(Some(events))
            .send()
            .await
            .map_err(AwsCallError::of("CloudWatchLogs", "PutLogEvents"))
            .map_err(fail(&step))?;
        // PutLogEvents drops events outside its window and only says so in this field.
        if let Some(r) = answer.rejected_log_events_info().filter(|r| {
            r.too_old_log_event_end_index().is_some()
                || r.too_new_log_event_start_index().is_some()
                || r.expired_log_event_end_index().is_some()
        }) {
            return Err(fail(&step)(SeedCause::Rejected(format!(
                "PutLogEvents rejected events stamped {} – {} (too old up to index {:?}, too new from {:?}, \
                 expired up to {:?}): CloudWatch Logs accepts events from the last 14 days up to 2 hours ahead",
                first.format("%Y-%m-%d %H:%M UTC"),
                (first + Duration::minutes(4)).format("%H:%M"),
                r.too_old_log_event_end_index(),
                r.too_new_log_event_start_index(),
                r.expired_log_event_end_index()
            ))));
        }
        written += sent;
    }
    Ok(written)
}

async fn create_budgets(
    spec: &PlatformSpec,
    month: &DemoMonth,
    clients: &AwsClients,
) -> Result<usize, SeedError> {
    use aws_sdk_budgets::types::{
        Budget, BudgetType, CalculatedSpend, ComparisonOperator, Notification, NotificationType,
        NotificationWithSubscribers, Spend, Subscriber, SubscriptionType, ThresholdType, TimePeriod,
        TimeUnit,
    };
    let account = spec
        .platform
        .account_id
        .clone()
        .unwrap_or_else(|| "123456789012".to_owned());
    for b in &month.budgets {
        let step = format!("budget {}", b.name);
        let spend =
            |amount: rust_decimal::Decimal| Spend::builder().amount(amount.to_string()).unit("USD").build();
        let start = SmithyTime::from_secs(at(month.month_start, 0, 0).timestamp());
        let budget = Budget::builder()
            .budget_name(&b.name)
            .budget_type(BudgetType::Cost)
            .time_unit(TimeUnit::Monthly)
            .budget_limit(spend(b.limit_usd).map_err(fail(&step))?)
            .time_period(TimePeriod::builder().start(start).build())
            .calculated_spend(
                CalculatedSpend::builder()
                    .actual_spend(spend(b.actual_usd).map_err(fail(&step))?)
                    .forecasted_spend(spend(b.forecast_usd).map_err(fail(&step))?)
                    .build(),
            )
            .build()
            .map_err(fail(&step))?;
        let mut notifications = Vec::new();
        let thresholds = b
            .actual_thresholds_percent
            .iter()
            .map(|t| (NotificationType::Actual, *t))
            .chain(
                b.forecast_thresholds_percent
                    .iter()
                    .map(|t| (NotificationType::Forecasted, *t)),
            );
        for (kind, threshold) in thresholds {
            let notification = Notification::builder()
                .notification_type(kind)
                .comparison_operator(ComparisonOperator::GreaterThan)
                .threshold(f64::from(threshold))
                .threshold_type(ThresholdType::Percentage)
                .build()
                .map_err(fail(&step))?;
            let subscriber = Subscriber::builder()
                .subscription_type(SubscriptionType::Sns)
                .address(&spec.notifications.sns_warning_topic_arn)
                .build()
                .map_err(fail(&step))?;
            notifications.push(
                NotificationWithSubscribers::builder()
                    .notification(notification)
                    .subscribers(subscriber)
                    .build()
                    .map_err(fail(&step))?,
            );
        }
        clients
            .budgets
            .create_budget()
            .account_id(&account)
            .budget(budget)
            .set_notifications_with_subscribers(Some(notifications))
            .send()
            .await
            .map_err(AwsCallError::of("Budgets", "CreateBudget"))
            .map_err(fail(&step))?;
    }
    Ok(month.budgets.len())
}

async fn create_alarms(spec: &PlatformSpec, clients: &AwsClients) -> Result<(usize, usize), SeedError> {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic, Tag};
    let alarms = preexisting_alarms(spec);
    let managed = format!("{}-", spec.managed_prefix());
    // The alarms under the prefix were published by an earlier governance run, so they carry its
    // ownership tags (what lets the next apply delete the orphan among them); the hand-made one has none.
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build();
    let ownership = vec![
        tag(alarms::plan::MANAGED_BY_TAG, alarms::plan::MANAGED_BY),
        tag(alarms::plan::PLATFORM_TAG, &spec.managed_prefix()),
    ];
    let mut firing = 0;
    for a in &alarms {
        let step = format!("alarm {}", a.name);
        let topic = if a.critical {
            &spec.notifications.sns_critical_topic_arn
        } else {
            &spec.notifications.sns_warning_topic_arn
        };
        clients
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(&a.name)
            .namespace(a.namespace)
            .metric_name(a.metric)
            .dimensions(
                Dimension::builder()
                    .name(a.dimension.0)
                    .value(&a.dimension.1)
                    .build(),
            )
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(5)
            .datapoints_to_alarm(5)
            .threshold(a.threshold)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .alarm_actions(topic)
            .set_tags(a.name.starts_with(&managed).then(|| ownership.clone()))
            .send()
            .await
            .map_err(AwsCallError::of("CloudWatch", "PutMetricAlarm"))
            .map_err(fail(&step))?;
        if let Some(reason) = a.state {
            clients
                .cloudwatch
                .set_alarm_state()
                .alarm_name(&a.name)
                .state_value(StateValue::Alarm)
                .state_reason(reason)
                .send()
                .await
                .map_err(AwsCallError::of("CloudWatch", "SetAlarmState"))
                .map_err(fail(&step))?;
            firing += 1;
        }
    }
    Ok((alarms.len(), firing))
}

/// An X-Ray segment document (the subset the seed writes).
#[derive(Serialize)]
struct SegmentDocument<'a> {
    name: &'a str,
    id: String,
    trace_id: String,
    start_time: f64,
    end_time: f64,
    fault: bool,
    origin: &'a str,
    annotations: BTreeMap<&'a str, &'a str>,
}

/// Five authenticity-agent segments (three faulting), 37 s apart, in the 4 minutes before `end`: inside
/// doctor's 5-minute window and the alarm-state report's evidence window.
async fn write_traces(
    spec: &PlatformSpec,
    end: DateTime<Utc>,
    clients: &AwsClients,
) -> Result<usize, SeedError> {
    let Some(f) = spec.function("authenticity_agent") else {
        return Ok(0);
    };
    let base = (end - Duration::minutes(4)).timestamp();
    let mut docs = Vec::new();
    for i in 0..5_i64 {
        let start = base + i * 37;
        let doc = SegmentDocument {
            name: &f.name,
            id: format!("{:016x}", 0x5eed_0000_u64 + i.unsigned_abs()),
            trace_id: format!(
                "1-{start:08x}-{:024x}",
                0xc011_ec71_0000_u128 + u128::from(i.unsigned_abs())
            ),
            start_time: start as f64,
            end_time: start as f64 + 2.5,
            fault: i % 2 == 0,
            origin: "AWS::Lambda::Function",
            annotations: BTreeMap::from([("service", spec.service_name()), ("agent", "authenticity")]),
        };
        docs.push(serde_json::to_string(&doc).map_err(fail("traces"))?);
    }
    let n = docs.len();
    clients
        .xray
        .put_trace_segments()
        .set_trace_segment_documents(Some(docs))
        .send()
        .await
        .map_err(AwsCallError::of("XRay", "PutTraceSegments"))
        .map_err(fail("traces"))?;
    Ok(n)
}
