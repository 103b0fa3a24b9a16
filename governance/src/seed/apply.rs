//! Writing a [`DemoMonth`] into an AWS endpoint (the emulator) through the real SDK clients.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use platform_spec::PlatformSpec;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use telemetry::catalogue::{DimensionKey, MetricName, NAMESPACE};

use super::month::{DemoDay, DemoMonth};
use crate::aws::{AwsClients, describe_sdk_error};
use cost::input::{
    Amount, CostAndUsagePage, DateInterval, ENVIRONMENT_TAG, Group, GroupDefinition, ResultByTime,
};

/// What failed while seeding, and where.
#[derive(Debug, thiserror::Error)]
#[error("seeding {step} failed: {detail}")]
pub struct SeedError {
    /// The step (`budgets`, `metrics AWS/Lambda`, ...).
    pub step: String,
    /// Why.
    pub detail: String,
}

fn fail(step: impl Into<String>) -> impl FnOnce(String) -> SeedError {
    let step = step.into();
    move |detail| SeedError { step, detail }
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
        .map_err(|e| describe_sdk_error(&e))
        .map_err(fail("Slack webhook secret"))?;
    report.log_events = write_logs(spec, month, clients).await?;
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
                .map_err(|e| describe_sdk_error(&e))
                .map_err(fail(format!("metrics {namespace}")))?;
            report.put_metric_calls += 1;
            report.metric_datums += chunk.len();
        }
    }
    report.alarms = create_alarms(spec, clients).await?;
    report.trace_segments = write_traces(spec, month, clients).await?;
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
            .map_err(|e| describe_sdk_error(&e))
            .map_err(fail(format!("SNS topic {name}")))?;
    }
    Ok(())
}

async fn create_ledger(spec: &PlatformSpec, clients: &AwsClients) -> Result<(), SeedError> {
    crate::ledger::Ledger::create_table(&clients.dynamodb, &spec.ledger.table)
        .await
        .map(|_| ())
        .map_err(|e| SeedError {
            step: "ledger table".into(),
            detail: e.to_string(),
        })
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

async fn write_logs(
    spec: &PlatformSpec,
    month: &DemoMonth,
    clients: &AwsClients,
) -> Result<usize, SeedError> {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let today = at(month.as_of, 9, 0);
    let mut written = 0;
    for f in &spec.functions {
        let group = format!("/aws/lambda/{}", f.name);
        let step = || fail(format!("log group {group}"));
        clients
            .logs
            .create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .map_err(|e| describe_sdk_error(&e))
            .map_err(step())?;
        clients
            .logs
            .put_retention_policy()
            .log_group_name(&group)
            .retention_in_days(i32::try_from(spec.platform.log_retention_days).unwrap_or(30))
            .send()
            .await
            .map_err(|e| describe_sdk_error(&e))
            .map_err(step())?;
        clients
            .logs
            .create_log_stream()
            .log_group_name(&group)
            .log_stream_name("2026/seed/[$LATEST]0")
            .send()
            .await
            .map_err(|e| describe_sdk_error(&e))
            .map_err(step())?;
        let mut events = Vec::new();
        for i in 0..5_i64 {
            let time = today + chrono::Duration::minutes(i);
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
            let message = serde_json::to_string(&line)
                .map_err(|e| e.to_string())
                .map_err(step())?;
            events.push(
                InputLogEvent::builder()
                    .timestamp(time.timestamp_millis())
                    .message(message)
                    .build()
                    .map_err(|e| e.to_string())
                    .map_err(step())?,
            );
        }
        written += events.len();
        clients
            .logs
            .put_log_events()
            .log_group_name(&group)
            .log_stream_name("2026/seed/[$LATEST]0")
            .set_log_events(Some(events))
            .send()
            .await
            .map_err(|e| describe_sdk_error(&e))
            .map_err(step())?;
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
        let step = || fail(format!("budget {}", b.name));
        let spend = |amount: rust_decimal::Decimal| {
            Spend::builder()
                .amount(amount.to_string())
                .unit("USD")
                .build()
                .map_err(|e| e.to_string())
        };
        let start = SmithyTime::from_secs(at(month.month_start, 0, 0).timestamp());
        let budget = Budget::builder()
            .budget_name(&b.name)
            .budget_type(BudgetType::Cost)
            .time_unit(TimeUnit::Monthly)
            .budget_limit(spend(b.limit_usd).map_err(step())?)
            .time_period(TimePeriod::builder().start(start).build())
            .calculated_spend(
                CalculatedSpend::builder()
                    .actual_spend(spend(b.actual_usd).map_err(step())?)
                    .forecasted_spend(spend(b.forecast_usd).map_err(step())?)
                    .build(),
            )
            .build()
            .map_err(|e| e.to_string())
            .map_err(step())?;
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
                .map_err(|e| e.to_string())
                .map_err(step())?;
            let subscriber = Subscriber::builder()
                .subscription_type(SubscriptionType::Sns)
                .address(&spec.notifications.sns_warning_topic_arn)
                .build()
                .map_err(|e| e.to_string())
                .map_err(step())?;
            notifications.push(
                NotificationWithSubscribers::builder()
                    .notification(notification)
                    .subscribers(subscriber)
                    .build()
                    .map_err(|e| e.to_string())
                    .map_err(step())?,
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
            .map_err(|e| describe_sdk_error(&e))
            .map_err(step())?;
    }
    Ok(month.budgets.len())
}

/// Alarms that exist before governance first runs: two firing, one OK, one orphan under the managed
/// prefix (a function that no longer exists) and one alarm governance must never touch.
///
/// The three current ones carry the names and thresholds the alarms catalogue generates for the spec,
/// as hand-made single-metric versions (`Sum`, 5 of 5 minutes, ALARM actions only): the first plan
/// updates them in place — keeping the two in ALARM for the state report — instead of creating
/// duplicates, deletes the orphan and leaves the unprefixed alarm alone.
pub fn preexisting_alarms(spec: &PlatformSpec) -> Vec<PreexistingAlarm> {
    let p = spec.managed_prefix();
    let function = |id: &str| {
        spec.function(id)
            .map_or_else(|| id.to_owned(), |f| f.name.clone())
    };
    let dlq = spec
        .dlqs()
        .next()
        .map_or_else(|| format!("{p}-dlq"), |q| q.name.clone());
    let catalogue =
        alarms::catalogue::catalogue_for(spec, &alarms::catalogue::CatalogueOptions::for_spec(spec)).ok();
    // Name and threshold of the catalogue's alarm for `resource` and `signal`.
    let generated = |resource: &str, signal: &str, severity: &str| {
        catalogue
            .as_ref()
            .and_then(|c| {
                c.alarms
                    .iter()
                    .find(|d| d.resource == resource && d.signal == signal)
            })
            .map_or_else(
                || (format!("{p}-{resource}-{signal}-{severity}"), 10.0),
                |d| {
                    let threshold = match &d.alarm {
                        alarms::Alarm::Metric(m) => m.threshold.unwrap_or(10.0),
                        alarms::Alarm::Composite(_) => 10.0,
                    };
                    (d.name().to_owned(), threshold)
                },
            )
    };
    let fn_resource = |id: &str| format!("fn-{}", id.replace('_', "-"));
    let (authenticity, authenticity_threshold) =
        generated(&fn_resource("authenticity_agent"), "error-rate", "critical");
    let (dlq_name, dlq_threshold) = generated(&resource_name(&p, &dlq), "depth", "critical");
    let (cards_get, cards_get_threshold) = generated(&fn_resource("cards_get"), "error-rate", "critical");
    vec![
        PreexistingAlarm {
            name: authenticity,
            namespace: "AWS/Lambda",
            metric: "Errors",
            dimension: ("FunctionName", function("authenticity_agent")),
            threshold: authenticity_threshold,
            state: Some("Authenticity agent errors above 10 per minute for 5 minutes (Bedrock throttling)."),
            critical: true,
        },
        PreexistingAlarm {
            name: dlq_name,
            namespace: "AWS/SQS",
            metric: "ApproximateNumberOfMessagesVisible",
            dimension: ("QueueName", dlq.clone()),
            threshold: dlq_threshold,
            state: Some("14 failed valuations waiting in the DLQ."),
            critical: true,
        },
        PreexistingAlarm {
            name: cards_get,
            namespace: "AWS/Lambda",
            metric: "Errors",
            dimension: ("FunctionName", function("cards_get")),
            threshold: cards_get_threshold,
            state: None,
            critical: true,
        },
        PreexistingAlarm {
            name: format!("{p}-legacy-scanner-errors-critical"),
            namespace: "AWS/Lambda",
            metric: "Errors",
            dimension: ("FunctionName", format!("{p}-legacy-scanner")),
            threshold: 1.0,
            state: None,
            critical: true,
        },
        PreexistingAlarm {
            name: "billing-estimated-charges-hand-made".to_owned(),
            namespace: "AWS/Billing",
            metric: "EstimatedCharges",
            dimension: ("Currency", "USD".to_owned()),
            threshold: 600.0,
            state: None,
            critical: false,
        },
    ]
}

/// `{prefix}-cards-get` → `cards-get`: the resource part of a managed alarm name.
fn resource_name(prefix: &str, deployed: &str) -> String {
    deployed
        .strip_prefix(prefix)
        .map_or(deployed, |r| r.trim_start_matches('-'))
        .replace('_', "-")
}

/// An alarm the seed creates before governance runs.
#[derive(Debug, Clone, PartialEq)]
pub struct PreexistingAlarm {
    /// Alarm name.
    pub name: String,
    /// Namespace.
    pub namespace: &'static str,
    /// Metric.
    pub metric: &'static str,
    /// The one dimension.
    pub dimension: (&'static str, String),
    /// Threshold.
    pub threshold: f64,
    /// `Some(reason)`: set to ALARM with this reason.
    pub state: Option<&'static str>,
    /// Routed to the critical topic.
    pub critical: bool,
}

async fn create_alarms(spec: &PlatformSpec, clients: &AwsClients) -> Result<(usize, usize), SeedError> {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
    let alarms = preexisting_alarms(spec);
    let mut firing = 0;
    for a in &alarms {
        let step = || fail(format!("alarm {}", a.name));
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
            .send()
            .await
            .map_err(|e| describe_sdk_error(&e))
            .map_err(step())?;
        if let Some(reason) = a.state {
            clients
                .cloudwatch
                .set_alarm_state()
                .alarm_name(&a.name)
                .state_value(StateValue::Alarm)
                .state_reason(reason)
                .send()
                .await
                .map_err(|e| describe_sdk_error(&e))
                .map_err(step())?;
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

async fn write_traces(
    spec: &PlatformSpec,
    month: &DemoMonth,
    clients: &AwsClients,
) -> Result<usize, SeedError> {
    let Some(f) = spec.function("authenticity_agent") else {
        return Ok(0);
    };
    let base = at(month.as_of, 12, 0).timestamp();
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
        docs.push(serde_json::to_string(&doc).map_err(|e| SeedError {
            step: "traces".into(),
            detail: e.to_string(),
        })?);
    }
    let n = docs.len();
    clients
        .xray
        .put_trace_segments()
        .set_trace_segment_documents(Some(docs))
        .send()
        .await
        .map_err(|e| describe_sdk_error(&e))
        .map_err(fail("traces"))?;
    Ok(n)
}

fn at(date: NaiveDate, hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)))
}

/// Share of a day's volume in each hour (a CollectIQ day peaks in the evening, US time).
const DIURNAL: [u32; 24] = [
    5, 4, 3, 3, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
];

/// How a day's total is laid out in time: one datapoint at noon for older days, hourly for the last three
/// days (the fast burn check and alarm backtests read hourly data), only the elapsed hours of today.
fn slots(month: &DemoMonth, day: &DemoDay) -> Vec<(chrono::DateTime<Utc>, f64)> {
    if (month.as_of - day.date).num_days() > 2 {
        return vec![(at(day.date, 12, 0), 1.0)];
    }
    let hours = if day.date == month.as_of { 13 } else { 24 };
    let total: u32 = DIURNAL[..hours].iter().sum();
    (0..hours)
        .map(|h| {
            (
                at(day.date, h as u32, 30),
                f64::from(DIURNAL[h]) / f64::from(total),
            )
        })
        .collect()
}

/// Appends datums at one timestamp, scaling day totals by the slot's share.
struct DatumWriter<'a> {
    out: &'a mut BTreeMap<String, Vec<MetricDatum>>,
    ts: SmithyTime,
    share: f64,
}

impl DatumWriter<'_> {
    fn count(&mut self, ns: &str, name: &str, dims: Vec<Dimension>, unit: StandardUnit, value: f64) {
        let datum = MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims))
            .timestamp(self.ts)
            .unit(unit)
            .value((value * self.share).round())
            .build();
        self.out.entry(ns.to_owned()).or_default().push(datum);
    }

    /// A pre-aggregated statistic set: `count` samples averaging `avg`.
    fn stats(
        &mut self,
        ns: &str,
        name: &str,
        dims: Vec<Dimension>,
        unit: StandardUnit,
        count: f64,
        avg: f64,
    ) {
        let n = (count * self.share).round().max(1.0);
        let stats = StatisticSet::builder()
            .sample_count(n)
            .sum(n * avg)
            .minimum(avg * 0.35)
            .maximum(avg * 3.2)
            .build();
        let datum = MetricDatum::builder()
            .metric_name(name)
            .set_dimensions(Some(dims))
            .timestamp(self.ts)
            .unit(unit)
            .statistic_values(stats)
            .build();
        self.out.entry(ns.to_owned()).or_default().push(datum);
    }
}

/// Builds every datum of the month, by namespace.
#[must_use]
pub fn metric_datums(spec: &PlatformSpec, month: &DemoMonth) -> BTreeMap<String, Vec<MetricDatum>> {
    let mut out: BTreeMap<String, Vec<MetricDatum>> = BTreeMap::new();
    let service = spec.service_name();
    let dims = |pairs: &[(&str, &str)]| -> Vec<Dimension> {
        pairs
            .iter()
            .map(|(k, v)| Dimension::builder().name(*k).value(*v).build())
            .collect()
    };
    for day in &month.days {
        for (time, share) in slots(month, day) {
            let ts = SmithyTime::from_secs(time.timestamp());
            let mut w = DatumWriter {
                out: &mut out,
                ts,
                share,
            };
            let v = day.valuations as f64;
            let model = month.model_id.as_str();
            // AWS/Bedrock, by ModelId: what Bedrock itself reports.
            let md = || dims(&[("ModelId", model)]);
            let sum =
                |f: fn(&super::month::AgentTokens) -> u64| day.tokens.values().map(f).sum::<u64>() as f64;
            w.count(
                "AWS/Bedrock",
                "InputTokenCount",
                md(),
                StandardUnit::Count,
                sum(|t| t.input),
            );
            w.count(
                "AWS/Bedrock",
                "OutputTokenCount",
                md(),
                StandardUnit::Count,
                sum(|t| t.output),
            );
            w.count(
                "AWS/Bedrock",
                "CacheReadInputTokenCount",
                md(),
                StandardUnit::Count,
                sum(|t| t.cache_read),
            );
            w.count(
                "AWS/Bedrock",
                "Invocations",
                md(),
                StandardUnit::Count,
                sum(|t| t.calls),
            );
            w.stats(
                "AWS/Bedrock",
                "InvocationLatency",
                md(),
                StandardUnit::Milliseconds,
                sum(|t| t.calls),
                1850.0,
            );
            // CollectIQ's own metrics, from the shared catalogue.
            let svc = DimensionKey::Service.as_str();
            let sd = || dims(&[(svc, service)]);
            w.count(
                NAMESPACE,
                MetricName::CardsValued.as_str(),
                sd(),
                StandardUnit::Count,
                v,
            );
            w.count(
                NAMESPACE,
                MetricName::CardsCreated.as_str(),
                sd(),
                StandardUnit::Count,
                day.cards_created as f64,
            );
            w.count(
                NAMESPACE,
                MetricName::AuthenticityFlagged.as_str(),
                sd(),
                StandardUnit::Count,
                (v * 0.021).round(),
            );
            w.stats(
                NAMESPACE,
                MetricName::ValuationLatency.as_str(),
                sd(),
                StandardUnit::Milliseconds,
                v,
                7400.0,
            );
            w.stats(
                NAMESPACE,
                MetricName::AuthenticityScore.as_str(),
                sd(),
                StandardUnit::None,
                v,
                0.87,
            );
            w.stats(
                NAMESPACE,
                MetricName::PricingConfidence.as_str(),
                sd(),
                StandardUnit::None,
                v,
                0.78,
            );
            for (op, share_of_calls) in [("DetectText", 0.5), ("DetectLabels", 0.5)] {
                let d = dims(&[(svc, service), (DimensionKey::Operation.as_str(), op)]);
                w.count(
                    NAMESPACE,
                    MetricName::RekognitionCalls.as_str(),
                    d,
                    StandardUnit::Count,
                    day.rekognition_calls as f64 * share_of_calls,
                );
            }
            for (agent, t) in &day.tokens {
                let am = || {
                    dims(&[
                        (svc, service),
                        (DimensionKey::Agent.as_str(), agent.as_str()),
                        (DimensionKey::Model.as_str(), model),
                    ])
                };
                w.count(
                    NAMESPACE,
                    MetricName::BedrockInputTokens.as_str(),
                    am(),
                    StandardUnit::Count,
                    t.input as f64,
                );
                w.count(
                    NAMESPACE,
                    MetricName::BedrockOutputTokens.as_str(),
                    am(),
                    StandardUnit::Count,
                    t.output as f64,
                );
                w.count(
                    NAMESPACE,
                    MetricName::BedrockCacheReadTokens.as_str(),
                    am(),
                    StandardUnit::Count,
                    t.cache_read as f64,
                );
                w.stats(
                    NAMESPACE,
                    MetricName::BedrockLatency.as_str(),
                    am(),
                    StandardUnit::Milliseconds,
                    t.calls as f64,
                    1900.0,
                );
            }
            for agent in telemetry::catalogue::Agent::ALL {
                let d = dims(&[(svc, service), (DimensionKey::Agent.as_str(), agent.as_str())]);
                let avg = match agent {
                    telemetry::catalogue::Agent::Extract => 1200.0,
                    telemetry::catalogue::Agent::OcrReasoning => 1700.0,
                    telemetry::catalogue::Agent::Pricing => 2100.0,
                    telemetry::catalogue::Agent::Authenticity => 2600.0,
                };
                w.stats(
                    NAMESPACE,
                    MetricName::AgentDuration.as_str(),
                    d,
                    StandardUnit::Milliseconds,
                    v,
                    avg,
                );
            }
            // AWS/Lambda per function.
            for f in &spec.functions {
                let (calls, errors) = day.invocations.get(&f.id).copied().unwrap_or_default();
                let fd = || dims(&[("FunctionName", &f.name)]);
                w.count(
                    "AWS/Lambda",
                    "Invocations",
                    fd(),
                    StandardUnit::Count,
                    calls as f64,
                );
                w.count("AWS/Lambda", "Errors", fd(), StandardUnit::Count, errors as f64);
                w.count("AWS/Lambda", "Throttles", fd(), StandardUnit::Count, 0.0);
                let avg = f64::from(f.timeout_s) * 1000.0 * if f.agent.is_some() { 0.02 } else { 0.008 };
                w.stats(
                    "AWS/Lambda",
                    "Duration",
                    fd(),
                    StandardUnit::Milliseconds,
                    calls as f64,
                    avg,
                );
            }
            // AWS/ApiGateway (HTTP API: ApiId + Stage, lowercase 4xx/5xx).
            for api in &spec.http_apis {
                let ad = || dims(&[("ApiId", &api.id), ("Stage", &api.stage)]);
                let (count, c4, c5) = day.api_requests;
                w.count("AWS/ApiGateway", "Count", ad(), StandardUnit::Count, count as f64);
                w.count("AWS/ApiGateway", "4xx", ad(), StandardUnit::Count, c4 as f64);
                w.count("AWS/ApiGateway", "5xx", ad(), StandardUnit::Count, c5 as f64);
                w.stats(
                    "AWS/ApiGateway",
                    "Latency",
                    ad(),
                    StandardUnit::Milliseconds,
                    count as f64,
                    142.0,
                );
            }
            // AWS/States.
            for sm in &spec.state_machines {
                let sd = || dims(&[("StateMachineArn", &sm.arn)]);
                let (started, failed) = day.executions;
                w.count(
                    "AWS/States",
                    "ExecutionsStarted",
                    sd(),
                    StandardUnit::Count,
                    started as f64,
                );
                w.count(
                    "AWS/States",
                    "ExecutionsFailed",
                    sd(),
                    StandardUnit::Count,
                    failed as f64,
                );
                w.count(
                    "AWS/States",
                    "ExecutionsSucceeded",
                    sd(),
                    StandardUnit::Count,
                    started.saturating_sub(failed) as f64,
                );
                w.stats(
                    "AWS/States",
                    "ExecutionTime",
                    sd(),
                    StandardUnit::Milliseconds,
                    started as f64,
                    9100.0,
                );
            }
        }
    }
    // DLQ depth is a gauge: hourly over the last day, climbing to 14 now.
    for q in spec.dlqs() {
        let firing = q.name.contains("valuation");
        for h in 0..13_u32 {
            let depth = if firing { f64::from(h + 2) } else { 0.0 };
            out.entry("AWS/SQS".to_owned()).or_default().push(
                MetricDatum::builder()
                    .metric_name("ApproximateNumberOfMessagesVisible")
                    .dimensions(Dimension::builder().name("QueueName").value(&q.name).build())
                    .timestamp(SmithyTime::from_secs(at(month.as_of, h, 0).timestamp()))
                    .unit(StandardUnit::Count)
                    .value(depth)
                    .build(),
            );
        }
    }
    out
}

/// The Cost Explorer GetCostAndUsage answer for the month and its history (DAILY, grouped by SERVICE and
/// the `Environment` tag), split into two pages joined by a `NextPageToken` as a long window is in AWS.
#[must_use]
pub fn cost_explorer_pages(month: &DemoMonth) -> Vec<CostAndUsagePage> {
    let group = |service: &str, tag: String, usd: &rust_decimal::Decimal| Group {
        keys: vec![service.to_owned(), tag],
        metrics: BTreeMap::from([("UnblendedCost".to_owned(), Amount::usd(usd.round_dp(10)))]),
    };
    let results: Vec<ResultByTime> = month
        .days
        .iter()
        .map(|day| {
            let env_key = format!("{ENVIRONMENT_TAG}${}", month.environment);
            let untagged = format!("{ENVIRONMENT_TAG}$");
            let groups = day
                .cost_by_service
                .iter()
                .map(|(service, usd)| group(service, env_key.clone(), usd))
                .chain(
                    day.untagged_by_service
                        .iter()
                        .map(|(service, usd)| group(service, untagged.clone(), usd)),
                )
                .collect();
            ResultByTime {
                time_period: DateInterval {
                    start: day.date,
                    end: day.date.succ_opt().unwrap_or(day.date),
                },
                total: BTreeMap::new(),
                groups,
                estimated: day.estimated,
            }
        })
        .collect();
    let group_definitions = vec![
        GroupDefinition {
            kind: "DIMENSION".to_owned(),
            key: "SERVICE".to_owned(),
        },
        GroupDefinition {
            kind: "TAG".to_owned(),
            key: ENVIRONMENT_TAG.to_owned(),
        },
    ];
    let split = results.len() / 2;
    let (first, second) = results.split_at(split);
    vec![
        CostAndUsagePage {
            results_by_time: first.to_vec(),
            group_definitions: group_definitions.clone(),
            next_page_token: Some(format!("seed-page-2-{}", month.as_of)),
        },
        CostAndUsagePage {
            results_by_time: second.to_vec(),
            group_definitions,
            next_page_token: None,
        },
    ]
}

/// Month-to-date totals the demo prints after seeding.
#[must_use]
pub fn total_tokens(month: &DemoMonth) -> (u64, u64) {
    month
        .month_days()
        .flat_map(|d| d.tokens.values())
        .fold((0, 0), |(i, o), t| (i + t.input, o + t.output))
}

/// Rounds a Decimal to whole cents as f64 (display only).
#[must_use]
pub fn cents(value: rust_decimal::Decimal) -> f64 {
    value.round_dp(2).to_f64().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> (PlatformSpec, DemoMonth) {
        let spec = crate::test_support::prod_spec();
        let month = DemoMonth::generate(&spec, "2026-11-21".parse().unwrap());
        (spec, month)
    }

    #[test]
    fn hourly_slots_sum_to_the_day() {
        let (_, month) = prod();
        for day in &month.days {
            let total: f64 = slots(&month, day).iter().map(|(_, s)| s).sum();
            assert!((total - 1.0).abs() < 1e-9, "{}", day.date);
        }
        assert_eq!(slots(&month, month.days.last().unwrap()).len(), 13);
        assert_eq!(slots(&month, &month.days[0]).len(), 1);
    }

    #[test]
    fn datums_cover_every_namespace_and_only_catalogue_metrics_in_ours() {
        let (spec, month) = prod();
        let datums = metric_datums(&spec, &month);
        let namespaces: Vec<_> = datums.keys().map(String::as_str).collect();
        assert_eq!(
            namespaces,
            [
                "AWS/ApiGateway",
                "AWS/Bedrock",
                "AWS/Lambda",
                "AWS/SQS",
                "AWS/States",
                NAMESPACE
            ]
        );
        for d in &datums[NAMESPACE] {
            let name = MetricName::from_name(d.metric_name().unwrap()).expect("catalogue metric");
            let keys: Vec<DimensionKey> = d
                .dimensions()
                .iter()
                .map(|dim| {
                    [
                        DimensionKey::Service,
                        DimensionKey::Agent,
                        DimensionKey::Model,
                        DimensionKey::Operation,
                        DimensionKey::FunctionName,
                    ]
                    .into_iter()
                    .find(|k| Some(k.as_str()) == dim.name())
                    .unwrap()
                })
                .collect();
            assert!(name.spec().is_emitted_with(&keys), "{name} with {keys:?}");
        }
    }

    #[test]
    fn cost_pages_split_the_window_and_carry_both_groupings() {
        let (_, month) = prod();
        let pages = cost_explorer_pages(&month);
        assert_eq!(pages.len(), 2);
        let days: usize = pages.iter().map(|p| p.results_by_time.len()).sum();
        assert_eq!(days, month.days.len());
        let first = &pages[0].results_by_time[0];
        assert_eq!(first.time_period.start.to_string(), "2026-10-01");
        assert!(first.groups.iter().any(|g| g.keys[1] == "Environment$"));
        assert!(
            first
                .groups
                .iter()
                .any(|g| g.keys[0] == super::super::month::CLAUDE_SONNET_LINE)
        );
        // What moto is sent: AWS's names, amounts as decimal strings.
        let json = serde_json::to_value(&pages[0]).unwrap();
        assert_eq!(json["GroupDefinitions"][1]["Type"], "TAG");
        assert_eq!(json["NextPageToken"], "seed-page-2-2026-11-21");
        let amount = &json["ResultsByTime"][0]["Groups"][0]["Metrics"]["UnblendedCost"];
        assert_eq!(amount["Unit"], "USD");
        assert!(amount["Amount"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
        // And the cost crate reads the pages back into the same daily table.
        let table = cost::input::DailyCostTable::from_pages(&pages, "UnblendedCost").unwrap();
        assert_eq!(table.days.len(), month.days.len());
    }

    #[test]
    fn alarm_names_follow_the_catalogue() {
        let (spec, _) = prod();
        let seeded = preexisting_alarms(&spec);
        let cat =
            alarms::catalogue::catalogue_for(&spec, &alarms::catalogue::CatalogueOptions::for_spec(&spec))
                .unwrap();
        let names: Vec<&str> = seeded.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "collectiq-prod-fn-authenticity-agent-error-rate-critical",
                "collectiq-prod-valuation-dlq-depth-critical",
                "collectiq-prod-fn-cards-get-error-rate-critical",
                "collectiq-prod-legacy-scanner-errors-critical",
                "billing-estimated-charges-hand-made",
            ]
        );
        // The current ones are in the catalogue (updated in place), the firing ones among them.
        for a in &seeded[..3] {
            assert!(cat.get(&a.name).is_some(), "{}", a.name);
        }
        assert_eq!(seeded.iter().filter(|a| a.state.is_some()).count(), 2);
        assert!(
            seeded
                .iter()
                .filter(|a| a.state.is_some())
                .all(|a| cat.get(&a.name).is_some())
        );
        // The DLQ alarm has the catalogue's metric, dimension and threshold.
        let alarms::Alarm::Metric(dlq) = &cat
            .get("collectiq-prod-valuation-dlq-depth-critical")
            .unwrap()
            .alarm
        else {
            panic!()
        };
        assert_eq!(dlq.metric_name.as_deref(), Some(seeded[1].metric));
        assert_eq!(dlq.dimensions[0].value, seeded[1].dimension.1);
        assert_eq!(dlq.threshold, Some(seeded[1].threshold));
        // The orphan is under the prefix but not generated; the hand-made one is outside the prefix.
        assert!(cat.get(&seeded[3].name).is_none());
        assert!(seeded[3].name.starts_with("collectiq-prod-"));
        assert!(!seeded[4].name.starts_with("collectiq-prod-"));
    }
}
