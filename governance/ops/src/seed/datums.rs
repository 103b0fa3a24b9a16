//! The pure half of the demo seed: what the month looks like as AWS data — metric datums by namespace,
//! the alarms that exist before governance runs, the Cost Explorer pages — built from the generated
//! [`DemoMonth`] without any I/O. [`super::write`] sends them.

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit, StatisticSet};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use cost::input::{
    Amount, CostAndUsagePage, DateInterval, ENVIRONMENT_TAG, Group, GroupDefinition, ResultByTime,
};
use platform_spec::PlatformSpec;
use rust_decimal::prelude::ToPrimitive;
use telemetry::catalogue::{DimensionKey, MetricName, NAMESPACE};
use vocabulary::aws::{api_gateway, bedrock, billing, lambda, sqs, states};
use vocabulary::dimension;

use super::month::{DemoDay, DemoMonth};

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
            namespace: lambda::ERRORS.namespace,
            metric: lambda::ERRORS.name,
            dimension: (dimension::FUNCTION_NAME, function("authenticity_agent")),
            threshold: authenticity_threshold,
            state: Some("Authenticity agent errors above 10 per minute for 5 minutes (Bedrock throttling)."),
            critical: true,
        },
        PreexistingAlarm {
            name: dlq_name,
            namespace: sqs::APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE.namespace,
            metric: sqs::APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE.name,
            dimension: (dimension::QUEUE_NAME, dlq.clone()),
            threshold: dlq_threshold,
            state: Some("14 failed valuations waiting in the DLQ."),
            critical: true,
        },
        PreexistingAlarm {
            name: cards_get,
            namespace: lambda::ERRORS.namespace,
            metric: lambda::ERRORS.name,
            dimension: (dimension::FUNCTION_NAME, function("cards_get")),
            threshold: cards_get_threshold,
            state: None,
            critical: true,
        },
        PreexistingAlarm {
            name: format!("{p}-legacy-scanner-errors-critical"),
            namespace: lambda::ERRORS.namespace,
            metric: lambda::ERRORS.name,
            dimension: (dimension::FUNCTION_NAME, format!("{p}-legacy-scanner")),
            threshold: 1.0,
            state: None,
            critical: true,
        },
        PreexistingAlarm {
            name: "billing-estimated-charges-hand-made".to_owned(),
            namespace: billing::ESTIMATED_CHARGES.namespace,
            metric: billing::ESTIMATED_CHARGES.name,
            dimension: (dimension::CURRENCY, "USD".to_owned()),
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

/// `date` at `hour:minute` UTC.
pub(super) fn at(date: NaiveDate, hour: u32, minute: u32) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)))
}

/// Share of a day's volume in each hour (a CollectIQ day peaks in the evening, US time).
const DIURNAL: [u32; 24] = [
    5, 4, 3, 3, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
];

/// How a day's total is laid out in time: one datapoint at noon for older days, hourly for the last three
/// days (the fast burn check and alarm backtests read hourly data), only the hours of today completed at
/// the month's `now` — or, in today's first hour, one datapoint halfway to `now` — so nothing is stamped
/// after `now`.
fn slots(month: &DemoMonth, day: &DemoDay) -> Vec<(chrono::DateTime<Utc>, f64)> {
    if (month.as_of - day.date).num_days() > 2 {
        return vec![(at(day.date, 12, 0), 1.0)];
    }
    let hours = if day.date == month.as_of {
        month.hours_today() as usize
    } else {
        24
    };
    if hours == 0 {
        let midnight = at(day.date, 0, 0);
        if month.now <= midnight {
            return Vec::new();
        }
        return vec![(midnight + (month.now - midnight) / 2, 1.0)];
    }
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
            let md = || dims(&[(dimension::MODEL_ID, model)]);
            let sum =
                |f: fn(&super::month::AgentTokens) -> u64| day.tokens.values().map(f).sum::<u64>() as f64;
            w.count(
                bedrock::INPUT_TOKEN_COUNT.namespace,
                bedrock::INPUT_TOKEN_COUNT.name,
                md(),
                StandardUnit::Count,
                sum(|t| t.input),
            );
            w.count(
                bedrock::OUTPUT_TOKEN_COUNT.namespace,
                bedrock::OUTPUT_TOKEN_COUNT.name,
                md(),
                StandardUnit::Count,
                sum(|t| t.output),
            );
            w.count(
                bedrock::CACHE_READ_INPUT_TOKEN_COUNT.namespace,
                bedrock::CACHE_READ_INPUT_TOKEN_COUNT.name,
                md(),
                StandardUnit::Count,
                sum(|t| t.cache_read),
            );
            w.count(
                bedrock::INVOCATIONS.namespace,
                bedrock::INVOCATIONS.name,
                md(),
                StandardUnit::Count,
                sum(|t| t.calls),
            );
            w.stats(
                bedrock::INVOCATION_LATENCY.namespace,
                bedrock::INVOCATION_LATENCY.name,
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
            // Rekognition reads printed card text with high confidence (mean 93 of 100 per card).
            w.stats(
                NAMESPACE,
                MetricName::OcrConfidence.as_str(),
                sd(),
                StandardUnit::None,
                v,
                0.93,
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
            // Only the agents the spec's functions run (an agent no function is emits nothing).
            let mut agents: Vec<telemetry::catalogue::Agent> =
                spec.functions.iter().filter_map(|f| f.agent).collect();
            agents.sort_unstable();
            agents.dedup();
            for agent in agents {
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
                let fd = || dims(&[(dimension::FUNCTION_NAME, &f.name)]);
                w.count(
                    lambda::INVOCATIONS.namespace,
                    lambda::INVOCATIONS.name,
                    fd(),
                    StandardUnit::Count,
                    calls as f64,
                );
                w.count(
                    lambda::ERRORS.namespace,
                    lambda::ERRORS.name,
                    fd(),
                    StandardUnit::Count,
                    errors as f64,
                );
                w.count(
                    lambda::THROTTLES.namespace,
                    lambda::THROTTLES.name,
                    fd(),
                    StandardUnit::Count,
                    0.0,
                );
                let avg = f64::from(f.timeout_s) * 1000.0 * if f.agent.is_some() { 0.02 } else { 0.008 };
                w.stats(
                    lambda::DURATION.namespace,
                    lambda::DURATION.name,
                    fd(),
                    StandardUnit::Milliseconds,
                    calls as f64,
                    avg,
                );
            }
            // AWS/ApiGateway (HTTP API: ApiId + Stage, lowercase 4xx/5xx).
            for api in &spec.http_apis {
                let ad = || dims(&[(dimension::API_ID, &api.id), (dimension::STAGE, &api.stage)]);
                let (count, c4, c5) = day.api_requests;
                w.count(
                    api_gateway::COUNT.namespace,
                    api_gateway::COUNT.name,
                    ad(),
                    StandardUnit::Count,
                    count as f64,
                );
                w.count(
                    api_gateway::HTTP_4XX.namespace,
                    api_gateway::HTTP_4XX.name,
                    ad(),
                    StandardUnit::Count,
                    c4 as f64,
                );
                w.count(
                    api_gateway::HTTP_5XX.namespace,
                    api_gateway::HTTP_5XX.name,
                    ad(),
                    StandardUnit::Count,
                    c5 as f64,
                );
                w.stats(
                    api_gateway::LATENCY.namespace,
                    api_gateway::LATENCY.name,
                    ad(),
                    StandardUnit::Milliseconds,
                    count as f64,
                    142.0,
                );
            }
            // AWS/States.
            for sm in &spec.state_machines {
                let sd = || dims(&[(dimension::STATE_MACHINE_ARN, &sm.arn)]);
                let (started, failed) = day.executions;
                w.count(
                    states::EXECUTIONS_STARTED.namespace,
                    states::EXECUTIONS_STARTED.name,
                    sd(),
                    StandardUnit::Count,
                    started as f64,
                );
                w.count(
                    states::EXECUTIONS_FAILED.namespace,
                    states::EXECUTIONS_FAILED.name,
                    sd(),
                    StandardUnit::Count,
                    failed as f64,
                );
                w.count(
                    states::EXECUTIONS_SUCCEEDED.namespace,
                    states::EXECUTIONS_SUCCEEDED.name,
                    sd(),
                    StandardUnit::Count,
                    started.saturating_sub(failed) as f64,
                );
                w.stats(
                    states::EXECUTION_TIME.namespace,
                    states::EXECUTION_TIME.name,
                    sd(),
                    StandardUnit::Milliseconds,
                    started as f64,
                    9100.0,
                );
            }
        }
    }
    // DLQ depth is a gauge: hourly over the 13 hours before the last whole hour of `now`, climbing to 14.
    let last_whole_hour = month
        .now
        .date_naive()
        .and_hms_opt(month.now.hour(), 0, 0)
        .map_or(month.now, |t| t.and_utc())
        - chrono::Duration::hours(1);
    for q in spec.dlqs() {
        let firing = q.name.contains("valuation");
        for h in 0..13_u32 {
            let depth = if firing { f64::from(h + 2) } else { 0.0 };
            let time = last_whole_hour - chrono::Duration::hours(i64::from(12 - h));
            out.entry(sqs::APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE.namespace.to_owned())
                .or_default()
                .push(
                    MetricDatum::builder()
                        .metric_name(sqs::APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE.name)
                        .dimensions(
                            Dimension::builder()
                                .name(dimension::QUEUE_NAME)
                                .value(&q.name)
                                .build(),
                        )
                        .timestamp(SmithyTime::from_secs(time.timestamp()))
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
    let group_definitions = GroupDefinition::report_grouping();
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
    fn nothing_is_stamped_after_now_at_any_hour() {
        let spec = crate::test_support::prod_spec();
        for now in [
            "2026-12-02T06:08:00Z",
            "2026-12-02T00:20:00Z",
            "2026-12-01T00:00:30Z",
            "2026-12-31T23:59:59Z",
        ] {
            let month = DemoMonth::generate_at(&spec, now.parse().unwrap());
            let today = month.days.last().unwrap();
            let today_slots = slots(&month, today);
            assert_eq!(today_slots.len(), (month.hours_today() as usize).max(1), "{now}");
            let total: f64 = today_slots.iter().map(|(_, s)| s).sum();
            assert!((total - 1.0).abs() < 1e-9, "{now}");
            let latest = metric_datums(&spec, &month)
                .values()
                .flatten()
                .filter_map(|d| d.timestamp().map(SmithyTime::secs))
                .max()
                .unwrap();
            assert!(latest < month.now.timestamp(), "{now}: a datum at {latest}");
        }
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
