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
use telemetry::catalogue::Agent;
use telemetry::catalogue::{DimensionKey, MetricName, NAMESPACE};
use vocabulary::aws::{AwsMetric, api_gateway, bedrock, billing, lambda, sqs, states};
use vocabulary::dimension;

use super::month::{AgentTokens, DemoDay, DemoMonth};

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
            // The reason states this alarm's own rule (seed 001: error rate > 10 % for 5 minutes), not
            // seed 000's error count, which is the composite's other input.
            state: Some("Authenticity agent error rate above 10 % for 5 minutes (Bedrock throttling)."),
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

/// A day's value of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DayValue {
    /// A count: the day's total, split over the day's slots by their share.
    Total(f64),
    /// A distribution: the day's `samples` (split like a total) averaging `mean`, sent as a statistic
    /// set per slot.
    Mean {
        /// Samples in the day.
        samples: f64,
        /// Their mean.
        mean: f64,
    },
}

/// One row of the demo day's table: a metric, its dimensions and the day's value.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    namespace: &'static str,
    metric: &'static str,
    dimensions: Vec<(&'static str, String)>,
    unit: StandardUnit,
    value: DayValue,
}

impl Series {
    fn aws(
        metric: &AwsMetric,
        dimensions: Vec<(&'static str, String)>,
        unit: StandardUnit,
        value: DayValue,
    ) -> Self {
        Self {
            namespace: metric.namespace,
            metric: metric.name,
            dimensions,
            unit,
            value,
        }
    }

    fn ours(
        metric: MetricName,
        dimensions: Vec<(&'static str, String)>,
        unit: StandardUnit,
        value: DayValue,
    ) -> Self {
        Self {
            namespace: NAMESPACE,
            metric: metric.as_str(),
            dimensions,
            unit,
            value,
        }
    }

    /// The datum of the slot at `ts` holding `share` of the day.
    fn datum(&self, ts: SmithyTime, share: f64) -> MetricDatum {
        let dimensions = self
            .dimensions
            .iter()
            .map(|(k, v)| Dimension::builder().name(*k).value(v).build())
            .collect();
        let datum = MetricDatum::builder()
            .metric_name(self.metric)
            .set_dimensions(Some(dimensions))
            .timestamp(ts)
            .unit(self.unit.clone());
        match self.value {
            DayValue::Total(total) => datum.value((total * share).round()).build(),
            DayValue::Mean { samples, mean } => {
                let n = (samples * share).round().max(1.0);
                datum
                    .statistic_values(
                        StatisticSet::builder()
                            .sample_count(n)
                            .sum(n * mean)
                            .minimum(mean * 0.35)
                            .maximum(mean * 3.2)
                            .build(),
                    )
                    .build()
            }
        }
    }
}

/// A token count as Bedrock reports it (`AWS/Bedrock`, by `ModelId`) and as the agents do (ours, by
/// agent and model; `None`: Bedrock only), read from a day's [`AgentTokens`].
struct TokenCount {
    bedrock: &'static AwsMetric,
    ours: Option<MetricName>,
    of: fn(&AgentTokens) -> u64,
}

const TOKEN_COUNTS: [TokenCount; 4] = [
    TokenCount {
        bedrock: &bedrock::INPUT_TOKEN_COUNT,
        ours: Some(MetricName::BedrockInputTokens),
        of: |t| t.input,
    },
    TokenCount {
        bedrock: &bedrock::OUTPUT_TOKEN_COUNT,
        ours: Some(MetricName::BedrockOutputTokens),
        of: |t| t.output,
    },
    TokenCount {
        bedrock: &bedrock::CACHE_READ_INPUT_TOKEN_COUNT,
        ours: Some(MetricName::BedrockCacheReadTokens),
        of: |t| t.cache_read,
    },
    TokenCount {
        bedrock: &bedrock::INVOCATIONS,
        ours: None,
        of: |t| t.calls,
    },
];
/// Mean Bedrock latency, ms: as Bedrock measures it, and as the agent measures its call.
const BEDROCK_LATENCY_MS: f64 = 1850.0;
const AGENT_BEDROCK_LATENCY_MS: f64 = 1900.0;
/// One sample per valuation: the card's latency (ms) and scores (mean OCR confidence 93 of 100:
/// Rekognition reads printed card text well).
const PER_VALUATION_MEANS: [(MetricName, StandardUnit, f64); 4] = [
    (MetricName::ValuationLatency, StandardUnit::Milliseconds, 7400.0),
    (MetricName::AuthenticityScore, StandardUnit::None, 0.87),
    (MetricName::PricingConfidence, StandardUnit::None, 0.78),
    (MetricName::OcrConfidence, StandardUnit::None, 0.93),
];
/// Share of valuations flagged for a person.
const FLAGGED_SHARE: f64 = 0.021;
/// Rekognition calls by operation.
const REKOGNITION_OPERATIONS: [(&str, f64); 2] = [("DetectText", 0.5), ("DetectLabels", 0.5)];
/// Mean duration of each agent's step, ms.
const fn agent_duration_ms(agent: Agent) -> f64 {
    match agent {
        Agent::Extract => 1200.0,
        Agent::OcrReasoning => 1700.0,
        Agent::Pricing => 2100.0,
        Agent::Authenticity => 2600.0,
    }
}
/// Mean Lambda duration as a share of the function's timeout (model agents wait on Bedrock).
const AGENT_DURATION_OF_TIMEOUT: f64 = 0.02;
const FUNCTION_DURATION_OF_TIMEOUT: f64 = 0.008;
/// Mean HTTP API latency and Step Functions execution time, ms.
const API_LATENCY_MS: f64 = 142.0;
const EXECUTION_TIME_MS: f64 = 9100.0;

/// The demo day as a table of series: every metric the month seeds for `day`, from the spec's
/// resources and the day's generated totals.
fn day_series(spec: &PlatformSpec, month: &DemoMonth, day: &DemoDay) -> Vec<Series> {
    use DayValue::{Mean, Total};
    use StandardUnit::{Count, Milliseconds};
    let service = || (DimensionKey::Service.as_str(), spec.service_name().to_owned());
    let model = month.model_id.as_str();
    let valuations = day.valuations as f64;
    let day_sum = |f: fn(&AgentTokens) -> u64| day.tokens.values().map(f).sum::<u64>() as f64;
    let mut rows = Vec::new();

    // AWS/Bedrock, by ModelId: what Bedrock itself reports.
    let by_model = || vec![(dimension::MODEL_ID, model.to_owned())];
    for count in &TOKEN_COUNTS {
        rows.push(Series::aws(
            count.bedrock,
            by_model(),
            Count,
            Total(day_sum(count.of)),
        ));
    }
    let calls = day_sum(|t| t.calls);
    rows.push(Series::aws(
        &bedrock::INVOCATION_LATENCY,
        by_model(),
        Milliseconds,
        Mean {
            samples: calls,
            mean: BEDROCK_LATENCY_MS,
        },
    ));

    // CollectIQ's own metrics, from the shared catalogue.
    rows.push(Series::ours(
        MetricName::CardsValued,
        vec![service()],
        Count,
        Total(valuations),
    ));
    rows.push(Series::ours(
        MetricName::CardsCreated,
        vec![service()],
        Count,
        Total(day.cards_created as f64),
    ));
    rows.push(Series::ours(
        MetricName::AuthenticityFlagged,
        vec![service()],
        Count,
        Total((valuations * FLAGGED_SHARE).round()),
    ));
    for (metric, unit, mean) in PER_VALUATION_MEANS {
        rows.push(Series::ours(
            metric,
            vec![service()],
            unit,
            Mean {
                samples: valuations,
                mean,
            },
        ));
    }
    for (operation, share) in REKOGNITION_OPERATIONS {
        rows.push(Series::ours(
            MetricName::RekognitionCalls,
            vec![
                service(),
                (DimensionKey::Operation.as_str(), operation.to_owned()),
            ],
            Count,
            Total(day.rekognition_calls as f64 * share),
        ));
    }
    for (agent, t) in &day.tokens {
        let by_agent = || {
            vec![
                service(),
                (DimensionKey::Agent.as_str(), agent.as_str().to_owned()),
                (DimensionKey::Model.as_str(), model.to_owned()),
            ]
        };
        for count in &TOKEN_COUNTS {
            if let Some(metric) = count.ours {
                rows.push(Series::ours(
                    metric,
                    by_agent(),
                    Count,
                    Total((count.of)(t) as f64),
                ));
            }
        }
        rows.push(Series::ours(
            MetricName::BedrockLatency,
            by_agent(),
            Milliseconds,
            Mean {
                samples: t.calls as f64,
                mean: AGENT_BEDROCK_LATENCY_MS,
            },
        ));
    }
    // Only the agents the spec's functions run (an agent no function is emits nothing).
    let mut agents: Vec<Agent> = spec.functions.iter().filter_map(|f| f.agent).collect();
    agents.sort_unstable();
    agents.dedup();
    for agent in agents {
        rows.push(Series::ours(
            MetricName::AgentDuration,
            vec![
                service(),
                (DimensionKey::Agent.as_str(), agent.as_str().to_owned()),
            ],
            Milliseconds,
            Mean {
                samples: valuations,
                mean: agent_duration_ms(agent),
            },
        ));
    }

    // AWS/Lambda per function.
    for f in &spec.functions {
        let (calls, errors) = day.invocations.get(&f.id).copied().unwrap_or_default();
        let by_function = || vec![(dimension::FUNCTION_NAME, f.name.clone())];
        let of_timeout = if f.agent.is_some() {
            AGENT_DURATION_OF_TIMEOUT
        } else {
            FUNCTION_DURATION_OF_TIMEOUT
        };
        rows.extend([
            Series::aws(&lambda::INVOCATIONS, by_function(), Count, Total(calls as f64)),
            Series::aws(&lambda::ERRORS, by_function(), Count, Total(errors as f64)),
            Series::aws(&lambda::THROTTLES, by_function(), Count, Total(0.0)),
            Series::aws(
                &lambda::DURATION,
                by_function(),
                Milliseconds,
                Mean {
                    samples: calls as f64,
                    mean: f64::from(f.timeout_s) * 1000.0 * of_timeout,
                },
            ),
        ]);
    }
    // AWS/ApiGateway (HTTP API: ApiId + Stage, lowercase 4xx/5xx).
    for api in &spec.http_apis {
        let by_api = || {
            vec![
                (dimension::API_ID, api.id.clone()),
                (dimension::STAGE, api.stage.clone()),
            ]
        };
        let (count, c4, c5) = day.api_requests;
        rows.extend([
            Series::aws(&api_gateway::COUNT, by_api(), Count, Total(count as f64)),
            Series::aws(&api_gateway::HTTP_4XX, by_api(), Count, Total(c4 as f64)),
            Series::aws(&api_gateway::HTTP_5XX, by_api(), Count, Total(c5 as f64)),
            Series::aws(
                &api_gateway::LATENCY,
                by_api(),
                Milliseconds,
                Mean {
                    samples: count as f64,
                    mean: API_LATENCY_MS,
                },
            ),
        ]);
    }
    // AWS/States.
    for sm in &spec.state_machines {
        let by_machine = || vec![(dimension::STATE_MACHINE_ARN, sm.arn.clone())];
        let (started, failed) = day.executions;
        rows.extend([
            Series::aws(
                &states::EXECUTIONS_STARTED,
                by_machine(),
                Count,
                Total(started as f64),
            ),
            Series::aws(
                &states::EXECUTIONS_FAILED,
                by_machine(),
                Count,
                Total(failed as f64),
            ),
            Series::aws(
                &states::EXECUTIONS_SUCCEEDED,
                by_machine(),
                Count,
                Total(started.saturating_sub(failed) as f64),
            ),
            Series::aws(
                &states::EXECUTION_TIME,
                by_machine(),
                Milliseconds,
                Mean {
                    samples: started as f64,
                    mean: EXECUTION_TIME_MS,
                },
            ),
        ]);
    }
    rows
}

/// Builds every datum of the month, by namespace: each day's table ([`day_series`]) laid out over the
/// day's slots, and the DLQ's depth.
#[must_use]
pub fn metric_datums(spec: &PlatformSpec, month: &DemoMonth) -> BTreeMap<String, Vec<MetricDatum>> {
    let mut out: BTreeMap<String, Vec<MetricDatum>> = BTreeMap::new();
    for day in &month.days {
        let table = day_series(spec, month, day);
        for (time, share) in slots(month, day) {
            let ts = SmithyTime::from_secs(time.timestamp());
            for series in &table {
                out.entry(series.namespace.to_owned())
                    .or_default()
                    .push(series.datum(ts, share));
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
    fn a_day_of_hourly_slots_adds_up_to_the_days_table() {
        let (spec, month) = prod();
        // The day before `as_of` is laid out over 24 hourly slots.
        let day = &month.days[month.days.len() - 2];
        assert_eq!(slots(&month, day).len(), 24);
        let datums = metric_datums(&spec, &month);
        let on_day = |d: &&MetricDatum| {
            let secs = d.timestamp().unwrap().secs();
            secs >= at(day.date, 0, 0).timestamp() && secs < at(day.date, 23, 59).timestamp()
        };
        let valued: f64 = datums[NAMESPACE]
            .iter()
            .filter(on_day)
            .filter(|d| d.metric_name() == Some(MetricName::CardsValued.as_str()))
            .map(|d| d.value().unwrap())
            .sum();
        // Each slot rounds its share: at most half a card each.
        assert!(
            (valued - day.valuations as f64).abs() <= 12.0,
            "{valued} vs {}",
            day.valuations
        );
        let latency: Vec<&MetricDatum> = datums[NAMESPACE]
            .iter()
            .filter(on_day)
            .filter(|d| d.metric_name() == Some(MetricName::ValuationLatency.as_str()))
            .collect();
        assert_eq!(latency.len(), 24);
        let stats = latency[0].statistic_values().unwrap();
        assert!((stats.sum().unwrap() / stats.sample_count().unwrap() - 7400.0).abs() < 1e-6);
        // Every function has its four Lambda series in every slot.
        let lambda_rows = datums["AWS/Lambda"].iter().filter(on_day).count();
        assert_eq!(lambda_rows, spec.functions.len() * 4 * 24);
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
        // The firing error-rate alarm's reason is the rule the catalogue's alarm of that name checks.
        let rule = "error rate above 10 % for 5 minutes";
        let authenticity = cat.get(&seeded[0].name).unwrap();
        assert!(
            authenticity.alarm.description().unwrap().contains(rule),
            "{:?}",
            authenticity.alarm.description()
        );
        assert!(seeded[0].state.unwrap().contains(rule), "{:?}", seeded[0].state);
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
