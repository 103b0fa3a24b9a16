//! The alarm catalogue generated from a platform spec, with the seed design's thresholds.
//!
//! Names are `{platform}-{env}-{resource}-{signal}-{severity}`. Critical alarms go to
//! `notifications.sns_critical_topic_arn` (on-call), warnings to `sns_warning_topic_arn` (Slack); both
//! notify on ALARM and on OK. Every critical alarm carries a runbook: its summary and link are in the
//! description (≤ 1,024 characters).
//!
//! Severities are the seeds' (`../shared/seeds/`): 000 "CloudWatch Alarms" (critical → PagerDuty/SMS,
//! warning → e-mail/Slack), 001 "Observability and Monitoring" → "CloudWatch Alarms" (critical → page
//! on-call, warning → Slack), 002 "Components" (Backoffice: errors, throttles, 5xx) and 003 "Key Metrics"
//! (BudgetBuddy). Each alarm's description names the seed rule it implements. Which alarms a spec item
//! gets and their thresholds are decided in [`crate::thresholds`], which the dashboards read too.
//!
//! | resource | signal | severity | condition | seed |
//! |---|---|---|---|---|
//! | HTTP API | `5xx-rate` | critical (warning where `page_on_5xx = false`) | 100·5xx/Count > 5 % over 5 minutes (one 300 s ratio) | 000, 001 |
//! | HTTP API | `latency-p95` / `latency-p99` | warning | p95 > 1,000 ms for 10 of 10 min; p99 > 5,000 ms for 5 of 5; only where `latency_alarms` (default true; Backoffice: false, seed 002) | 001; 000 |
//! | function | `errors` (composite) | critical (tier critical) or warning | `error-rate` OR `error-count` | 000 + 001 |
//! | function | `error-rate` (input) | — | 100·errors/invocations > 10 % over 5 minutes (one 300 s ratio) | 001 |
//! | function | `error-count` (input) | — | Errors > 10 in any one minute | 000 |
//! | function | `throttles` | warning | Throttles > 0 in 3 of 5 minutes | 002 |
//! | function | `duration-near-timeout` | warning | Maximum duration > 90 % of the timeout in 3 of 5 min; only where `near_timeout_alarm` (default true; Backoffice: false, seed 002) | 001 |
//! | Rust function | `cold-start-rate` | warning | 100·ColdStart/Invocations > 20 % in 3 of 3 five-minute periods (≥ 10 invocations) | 000 |
//! | state machine | `failures` (composite) | critical | `failed-executions` (> 10 in 15 min) OR `failure-rate` (> 10 % in 15 min) | 001; 000 |
//! | state machine | `duration-p90` | warning | p90 ExecutionTime > expected duration (30 s) in 3 of 3 five-minute periods | 000 |
//! | DLQ | `depth` | critical | visible messages > 10 | 001 |
//! | table | `throttling` | critical | read+write throttle events > 0 in 3 of 5 minutes; only where `page_on_throttling` (default true; BudgetBuddy: false, seed 003; Backoffice: false, seed 002) | 000 |
//! | table, GSI | `throttles` | warning | any throttle event in 5 minutes | 001, 003 |
//! | budget | `spend-150pct` / `-120pct` | critical / warning | EstimatedCharges (month to date, ACTUAL) above the share of the limit; only where `billing_alarms` (default true) | 000 |
//! | Bedrock model | `throttles` | warning | InvocationThrottles > 0 in 3 of 5 min, summed over the id and its `aliases` | 000 (reliability: Bedrock throttling) |
//! | Bedrock model | `input-tokens-anomaly` | warning | hourly input tokens (id + `aliases`) above the anomaly band (width 3) 3 of 3 hours | — (cost driver) |
//! | ECS service | `cpu` / `memory` | warning | Average > 80 % in 3 of 3 five-minute periods | 003 |
//! | ECS service (ALB) | `5xx-rate` / `latency-p95` | warning | target + ALB 5xx > 1 %; p95 TargetResponseTime > 1 s; 3 of 3 five-minute periods | 003 |
//! | ECS service (ALB) | `down` | critical | HealthyHostCount (Minimum) < 1 in 3 of 3 minutes, missing data = down | 003 ("Critical: Service down") |
//! | ECS service (no ALB) | `down` | critical | CPUUtilization SampleCount < 1 in 3 of 3 minutes, missing data = down | 003 ("Critical: Service down") |
//!
//! The budget's 80 % notice is not a CloudWatch alarm: seed 001 sends "AWS Budget 80% threshold" by
//! e-mail, which AWS Budgets' own notification does (Terraform); a second copy in Slack would be noise.

use crate::composite::{AlarmRule, CompositeAlarm, CycleError, find_cycle};
use crate::model::{Alarm, PutCompositeAlarmInput, Tag, TreatMissingData, alarm_arn};
use crate::runbook::{Runbook, RunbookLinks};
use crate::spec::{MathInput, MetricAlarm, MetricRef};
use crate::thresholds;
use crate::validate::{AlarmValidationErrors, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS};
pub use platform_spec::ServiceNaming;
use platform_spec::{FunctionSpec, PlatformSpec, QueueKind, name_part};
use serde::Serialize;
use std::collections::BTreeMap;
use telemetry::catalogue::{DimensionKey, MetricName};
use vocabulary::Stat;
use vocabulary::aws::{api_gateway, application_elb, bedrock, billing, dynamodb, ecs, lambda, sqs, states};
use vocabulary::{AwsMetric, dimension, value};

pub use crate::severity::Severity;

/// One generated alarm and what the shell and the reports need to know about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmDefinition {
    /// Severity (also the name's suffix).
    pub severity: Severity,
    /// Resource part of the name (`fn-cards-get`, `api`, `table-data`).
    pub resource: String,
    /// Signal part of the name (`error-rate`).
    pub signal: String,
    /// The runbook (always present for critical alarms).
    pub runbook: Option<Runbook>,
    /// Whether it has actions; inputs of a composite do not, so on-call is paged once.
    pub notifies: bool,
    /// Lambda function names whose faulting traces are the evidence when it fires.
    pub trace_services: Vec<String>,
    /// The `Put*` input.
    pub alarm: Alarm,
}

impl AlarmDefinition {
    /// The alarm name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.alarm.name()
    }
}

/// Knobs of the generated catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueOptions {
    /// The `service` dimension each function emits under (the cold-start alarms name it exactly; an
    /// alarm cannot `SEARCH`). Must match the functions' `POWERTOOLS_SERVICE_NAME`.
    pub service_naming: ServiceNaming,
    /// Where runbook links point.
    pub runbook_links: RunbookLinks,
    /// Fewer invocations than this in 5 minutes never count as a high cold-start rate (low traffic
    /// makes every start cold).
    pub min_cold_start_invocations: u32,
}

impl CatalogueOptions {
    /// The platform's one service name (`spec.service_name()`, what Terraform sets as
    /// `POWERTOOLS_SERVICE_NAME`), runbook links under `notifications.runbook_base_url` (repo-relative
    /// without one), 10 invocations.
    #[must_use]
    pub fn for_spec(spec: &PlatformSpec) -> Self {
        Self {
            service_naming: ServiceNaming::Fixed(spec.service_name().to_owned()),
            runbook_links: spec
                .notifications
                .runbook_base_url
                .clone()
                .map_or(RunbookLinks::RepoRelative, RunbookLinks::BaseUrl),
            min_cold_start_invocations: 10,
        }
    }
}

/// Why the catalogue could not be generated (a bug or a spec CloudWatch cannot express).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogueError {
    /// A generated alarm breaks an API rule.
    #[error(transparent)]
    Invalid(#[from] AlarmValidationErrors),
    /// Composite alarms reference each other in a cycle.
    #[error(transparent)]
    Cycle(#[from] CycleError),
    /// Two alarms got the same name: resources of two spec items (or two kinds) whose name parts come
    /// out alike.
    #[error(
        "{first} and {second} both make the alarm name {name}: give one of them a name that differs in \
         more than case and punctuation"
    )]
    DuplicateName {
        /// The name.
        name: String,
        /// The spec key of the first item that makes it (`tables[0].gsis[0].name`).
        first: String,
        /// The spec key of the second.
        second: String,
    },
    /// A generated alarm name is longer than `PutMetricAlarm` / `PutCompositeAlarm` take (`AlarmName`:
    /// at most [`MAX_NAME_CHARS`] characters). Names are `{platform}-{env}-{resource}-{signal}-{severity}`,
    /// so the fix is in the spec: `key` names the spec item the resource part came from.
    #[error(
        "{key}: makes the alarm name \"{}\" of {chars} characters, and CloudWatch takes at most \
         {MAX_NAME_CHARS} (AlarmName); shorten {key} (or platform.name / platform.environment, the \
         name's prefix)",
        shortened(name)
    )]
    NameTooLong {
        /// The spec key(s) the name's resource part came from (`tables[2].name`).
        key: String,
        /// The generated name.
        name: String,
        /// Its length in characters.
        chars: usize,
    },
}

/// A long name for a message: its first 60 and last 40 characters (the part that says which alarm).
fn shortened(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= 110 {
        return name.to_owned();
    }
    let head: String = chars[..60].iter().collect();
    let tail: String = chars[chars.len() - 40..].iter().collect();
    format!("{head}…{tail}")
}

/// The generated alarms of one platform environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalogue {
    /// The alarms, in generation order.
    pub alarms: Vec<AlarmDefinition>,
    /// What was left out and why (e.g. billing alarms outside us-east-1).
    pub notes: Vec<String>,
}

impl Catalogue {
    /// The `Put*` inputs, for [`crate::plan::plan_alarms`].
    #[must_use]
    pub fn inputs(&self) -> Vec<Alarm> {
        self.alarms.iter().map(|d| d.alarm.clone()).collect()
    }

    /// The definition named `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&AlarmDefinition> {
        self.alarms.iter().find(|d| d.name() == name)
    }

    /// ARNs of the alarms that notify, critical first (for the overview dashboard's alarm widget).
    #[must_use]
    pub fn notifying_arns(&self, region: &str, account_id: &str) -> Vec<String> {
        let mut defs: Vec<&AlarmDefinition> = self.alarms.iter().filter(|d| d.notifies).collect();
        defs.sort_by_key(|d| d.severity);
        defs.iter()
            .map(|d| alarm_arn(region, account_id, d.name()))
            .collect()
    }
}

const BILLING_REGION: &str = vocabulary::namespace::BILLING_REGION;

/// How many of a table's indexes its throttling page reads: reads and writes of the table and of each
/// index are two metrics apiece, and an alarm reads at most [`crate::validate::MAX_METRIC_STATS`].
const MAX_PAGED_GSIS: usize = crate::validate::MAX_METRIC_STATS / 2 - 1;

struct Gen<'a> {
    spec: &'a PlatformSpec,
    opts: &'a CatalogueOptions,
    prefix: String,
    /// The spec key of the item whose alarms are being generated (`functions[3].id`): what a name too
    /// long for CloudWatch is blamed on.
    source: String,
    out: Vec<AlarmDefinition>,
    /// `source` of each of `out`, for a name two items make.
    sources: Vec<String>,
    notes: Vec<String>,
}

struct Meta {
    severity: Severity,
    resource: String,
    signal: String,
    runbook: Option<Runbook>,
    trace_services: Vec<String>,
    what: String,
}

/// How a warning's description says where it goes (see `Gen::routed`).
const TO_SLACK: &str = "Warning to Slack";

fn meta(severity: Severity, resource: &str, signal: &str, runbook: Option<Runbook>, what: String) -> Meta {
    Meta {
        severity,
        resource: resource.to_owned(),
        signal: signal.to_owned(),
        runbook,
        trace_services: Vec::new(),
        what,
    }
}

/// `{what}` + the runbook summary and link, cut to fit 1,024 characters (the summary is shortened,
/// never the link).
#[must_use]
pub fn describe(what: &str, runbook: Option<Runbook>, links: &RunbookLinks) -> String {
    let Some(r) = runbook else {
        return truncate(what, MAX_DESCRIPTION_CHARS);
    };
    let link = links.link(r);
    let label = "\nRunbook: ";
    let fixed = what.chars().count() + label.len() + 1 + link.chars().count();
    let text = if fixed <= MAX_DESCRIPTION_CHARS {
        let summary = truncate(r.summary(), MAX_DESCRIPTION_CHARS - fixed);
        format!("{what}{label}{summary}\n{link}")
    } else {
        // A very long link: keep the link, shorten what fired.
        let room = MAX_DESCRIPTION_CHARS.saturating_sub(label.len() + 1 + link.chars().count());
        format!("{}{label}\n{link}", truncate(what, room))
    };
    truncate(&text, MAX_DESCRIPTION_CHARS)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else if max == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

impl Gen<'_> {
    fn name(&self, m: &Meta) -> String {
        format!(
            "{}-{}-{}-{}",
            self.prefix,
            m.resource,
            m.signal,
            m.severity.as_str()
        )
    }

    /// `name` if CloudWatch takes it; else which spec key made it too long.
    fn fits(&self, name: &str) -> Result<(), CatalogueError> {
        let chars = name.chars().count();
        if chars <= MAX_NAME_CHARS {
            return Ok(());
        }
        Err(CatalogueError::NameTooLong {
            key: self.source.clone(),
            name: name.to_owned(),
            chars,
        })
    }

    fn topic(&self, s: Severity) -> String {
        match s {
            Severity::Critical => self.spec.notifications.sns_critical_topic_arn.clone(),
            Severity::Warning => self.spec.notifications.sns_warning_topic_arn.clone(),
        }
    }

    /// `what` with its route words true for this platform: a warning goes "to Slack" where the spec has a
    /// warning topic of its own (CollectIQ, Backoffice: seed 001 sends warnings to Slack); where warnings
    /// share the critical topic (BudgetBuddy's one `budgetbuddy-alarms` topic, seed 003: e-mail, SNS,
    /// PagerDuty), it names that topic instead.
    fn routed<'w>(&self, what: &'w str) -> std::borrow::Cow<'w, str> {
        let n = &self.spec.notifications;
        if n.sns_warning_topic_arn != n.sns_critical_topic_arn || !what.contains(TO_SLACK) {
            return std::borrow::Cow::Borrowed(what);
        }
        let topic = n.sns_warning_topic_arn.rsplit(':').next().unwrap_or_default();
        std::borrow::Cow::Owned(what.replace(TO_SLACK, &format!("Warning to the {topic} topic")))
    }

    /// Ownership (`ManagedBy` = `collectiq-ops`, not seed 001's `Terraform`: the tool, not Terraform,
    /// creates and deletes these alarms, and reads the tag to know which are its own), the environment
    /// and severity, and seed 001's tags the spec gives: `Environment` (the cost pass groups spend by
    /// it — an alarm costs $0.10 a month or more), `Owner`, `Project` and `CostCenter`.
    fn tags(&self, s: Severity) -> Vec<Tag> {
        let platform = &self.spec.platform;
        let mut tags = vec![
            Tag {
                key: "ManagedBy".into(),
                value: "collectiq-ops".into(),
            },
            Tag {
                key: "Platform".into(),
                value: self.prefix.clone(),
            },
            Tag {
                key: "Severity".into(),
                value: s.as_str().into(),
            },
            Tag {
                key: "Environment".into(),
                value: platform.environment.clone(),
            },
        ];
        for (key, value) in [
            ("Owner", &platform.owner),
            ("Project", &platform.project),
            ("CostCenter", &platform.cost_center),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                tags.push(Tag {
                    key: key.into(),
                    value: value.to_owned(),
                });
            }
        }
        tags
    }

    fn push(
        &mut self,
        m: Meta,
        notifies: bool,
        build: impl FnOnce(String) -> MetricAlarm,
    ) -> Result<String, CatalogueError> {
        let name = self.name(&m);
        self.fits(&name)?;
        let actions = if notifies {
            vec![self.topic(m.severity)]
        } else {
            Vec::new()
        };
        let what = self.routed(&m.what);
        let input = build(name.clone())
            .with_description(describe(&what, m.runbook, &self.opts.runbook_links))
            .with_alarm_actions(actions.clone())
            .with_ok_actions(actions)
            .with_tags(self.tags(m.severity))
            .build()?;
        self.sources.push(self.source.clone());
        self.out.push(AlarmDefinition {
            severity: m.severity,
            resource: m.resource,
            signal: m.signal,
            runbook: m.runbook,
            notifies,
            trace_services: m.trace_services,
            alarm: Alarm::Metric(input),
        });
        Ok(name)
    }

    fn push_composite(&mut self, m: Meta, rule: AlarmRule) -> Result<(), CatalogueError> {
        let name = self.name(&m);
        self.fits(&name)?;
        let topic = vec![self.topic(m.severity)];
        let input: PutCompositeAlarmInput = CompositeAlarm::new(name, rule)
            .with_description(describe(
                &self.routed(&m.what),
                m.runbook,
                &self.opts.runbook_links,
            ))
            .with_alarm_actions(topic.clone())
            .with_ok_actions(topic)
            .with_tags(self.tags(m.severity))
            .build()?;
        self.sources.push(self.source.clone());
        self.out.push(AlarmDefinition {
            severity: m.severity,
            resource: m.resource,
            signal: m.signal,
            runbook: m.runbook,
            notifies: true,
            trace_services: m.trace_services,
            alarm: Alarm::Composite(input),
        });
        Ok(())
    }

    fn apis(&mut self) -> Result<(), CatalogueError> {
        for (i, api) in self.spec.http_apis.iter().enumerate() {
            self.source = format!("http_apis[{i}].name");
            let resource = self.spec.resource_part(&api.name, "api");
            let m = |n: AwsMetric| {
                MetricRef::of(n)
                    .with_dimension(dimension::API_ID, &api.id)
                    .with_dimension(dimension::STAGE, &api.stage)
            };
            let mut fns: Vec<String> = api
                .routes
                .iter()
                .filter_map(|r| self.spec.function(&r.function))
                .map(|f| f.name.clone())
                .collect();
            fns.sort();
            fns.dedup();
            let severity = thresholds::api_5xx_severity(api);
            let mut crit = meta(
                severity,
                &resource,
                "5xx-rate",
                Some(Runbook::Api5xx),
                if severity == Severity::Critical {
                    format!(
                        "HTTP API {} ({}): more than 5 % of requests returned 5xx for 5 minutes. Pages on-call \
                         (seed 001: API 5xx rate > 5 % for 5 minutes; seed 000's critical \"API error rate > 5%\", read as 5xx: \
                         4xx are the callers' errors, on the dashboard).",
                        api.name, api.id
                    )
                } else {
                    format!(
                        "HTTP API {} ({}): more than 5 % of requests returned 5xx for 5 minutes. Warning to Slack \
                         (the platform lists 5xx among its alarms without a severity; page_on_5xx = false).",
                        api.name, api.id
                    )
                },
            );
            crit.trace_services = fns.clone();
            self.push(crit, true, |name| {
                MetricAlarm::math(
                    name,
                    vec![
                        MathInput::new("errors", m(api_gateway::HTTP_5XX), Stat::Sum),
                        MathInput::new("requests", m(api_gateway::COUNT), Stat::Sum),
                    ],
                    "IF(requests > 0, 100 * errors / requests, 0)",
                    "5xx rate (%)",
                    thresholds::RATE_WINDOW_S,
                )
                .above(thresholds::API_5XX_RATE_PERCENT)
                .evaluate(1, 1)
                .treat_missing(TreatMissingData::NotBreaching)
            })?;
            for rule in thresholds::api_latency(api) {
                let (p, threshold, n) = (rule.percentile, rule.threshold_ms, rule.minutes);
                let mut w = meta(
                    rule.severity,
                    &resource,
                    rule.signal,
                    None,
                    format!(
                        "HTTP API {}: p{p} latency above {threshold} ms for {n} minutes. Warning to Slack ({}).",
                        api.name, rule.seed
                    ),
                );
                w.trace_services = fns.clone();
                self.push(w, true, |name| {
                    MetricAlarm::new(name, m(api_gateway::LATENCY), Stat::Percentile(p), 60)
                        .above(threshold)
                        .evaluate(n, n)
                        .treat_missing(TreatMissingData::NotBreaching)
                        .evaluate_low_sample_count()
                })?;
            }
        }
        Ok(())
    }

    /// The governance Lambdas deployed beside the platform (`[governance] functions`): the seeds' Lambda
    /// error rules (000's count, 001's rate, one composite), paging on-call — the watcher is watched
    /// (issue 13). A governance run that fails is a report or a page nobody gets; the alarms function
    /// that publishes this alarm may be the one failing, which is why the failures queue's
    /// Terraform-owned alarm pages too.
    fn governance_functions(&mut self) -> Result<(), CatalogueError> {
        for (i, logical) in self.spec.governance.functions.iter().enumerate() {
            self.source = format!("governance.functions[{i}]");
            let resource = format!("fn-{}", name_part(logical));
            let name = self.spec.governance_function_name(logical);
            self.lambda_errors(&name, &resource, Severity::Critical)?;
        }
        Ok(())
    }

    fn functions(&mut self) -> Result<(), CatalogueError> {
        for (i, f) in self.spec.functions.iter().enumerate() {
            self.source = format!("functions[{i}].id");
            let resource = format!("fn-{}", name_part(&f.id));
            let m = |n: AwsMetric| MetricRef::of(n).with_dimension(dimension::FUNCTION_NAME, &f.name);
            self.lambda_errors(&f.name, &resource, thresholds::lambda_errors_severity(f))?;
            let mut t = meta(
                Severity::Warning,
                &resource,
                "throttles",
                Some(Runbook::QuotaIncreases),
                format!(
                    "Lambda {}: invocations throttled in 3 of 5 minutes (a throttled request never ran). \
                     Warning to Slack (seed 002 alarms on throttles; seed 001 shows them on the Lambda dashboard).",
                    f.name
                ),
            );
            t.trace_services = vec![f.name.clone()];
            self.push(t, true, |name| {
                MetricAlarm::new(name, m(lambda::THROTTLES), Stat::Sum, 60)
                    .above(0.0)
                    .evaluate(3, 5)
                    .treat_missing(TreatMissingData::NotBreaching)
            })?;
            // Seed 001's rule; off where the platform's seed names its alarms and duration is not one
            // (`near_timeout_alarm = false`: Backoffice, seed 002).
            if let Some(limit_ms) = thresholds::near_timeout_ms(f) {
                let mut d = meta(
                    Severity::Warning,
                    &resource,
                    "duration-near-timeout",
                    None,
                    format!(
                        "Lambda {}: an invocation took more than 90 % of its {} s timeout in 3 of 5 minutes. \
                     Warning to Slack (seed 001: Lambda duration approaching timeout).",
                        f.name, f.timeout_s
                    ),
                );
                d.trace_services = vec![f.name.clone()];
                self.push(d, true, |name| {
                    MetricAlarm::new(name, m(lambda::DURATION), Stat::Maximum, 60)
                        .above(limit_ms)
                        .evaluate(3, 5)
                        .treat_missing(TreatMissingData::NotBreaching)
                })?;
            }
            if links_telemetry(f) {
                self.cold_start(f, &resource)?;
            }
        }
        Ok(())
    }

    /// Seeds 000 and 001 give two rules for when Lambda errors page: 000 says "Lambda errors > 10/minute",
    /// 001 "Lambda error rate > 10% for 5 minutes". On-call wants both and one page: a rate catches a
    /// broken function at any traffic, a count catches a small rate of a large volume (hundreds of
    /// users failing). Each as its seed words it: the count in any one minute (000 gives no window
    /// beyond the minute), the rate over 5 minutes. The two rules are inputs without actions of one
    /// composite that notifies.
    fn lambda_errors(
        &mut self,
        function_name: &str,
        resource: &str,
        severity: Severity,
    ) -> Result<(), CatalogueError> {
        let m = |n: AwsMetric| MetricRef::of(n).with_dimension(dimension::FUNCTION_NAME, function_name);
        let composite = format!("{}-{resource}-errors-{}", self.prefix, severity.as_str());
        let mut rate = meta(
            severity,
            resource,
            "error-rate",
            Some(Runbook::LambdaErrors),
            format!(
                "Input of {composite} (no actions): Lambda {} error rate above 10 % for 5 minutes \
                 (seed 001's rule).",
                function_name
            ),
        );
        rate.trace_services = vec![function_name.to_owned()];
        let a = self.push(rate, false, |name| {
            MetricAlarm::math(
                name,
                vec![
                    MathInput::new("errors", m(lambda::ERRORS), Stat::Sum),
                    MathInput::new("invocations", m(lambda::INVOCATIONS), Stat::Sum),
                ],
                "IF(invocations > 0, 100 * errors / invocations, 0)",
                "error rate (%)",
                thresholds::RATE_WINDOW_S,
            )
            .above(thresholds::LAMBDA_ERROR_RATE_PERCENT)
            .evaluate(1, 1)
            .treat_missing(TreatMissingData::NotBreaching)
        })?;
        let mut count = meta(
            severity,
            resource,
            "error-count",
            Some(Runbook::LambdaErrors),
            format!(
                "Input of {composite} (no actions): Lambda {} more than 10 errors in a minute (seed 000's \
                 rule).",
                function_name
            ),
        );
        count.trace_services = vec![function_name.to_owned()];
        let b = self.push(count, false, |name| {
            MetricAlarm::new(name, m(lambda::ERRORS), Stat::Sum, 60)
                .above(10.0)
                .evaluate(1, 1)
                .treat_missing(TreatMissingData::NotBreaching)
        })?;
        let who = match severity {
            Severity::Critical => "Pages on-call",
            Severity::Warning => "Warning to Slack (the function's tier is not critical)",
        };
        let mut comp = meta(
            severity,
            resource,
            "errors",
            Some(Runbook::LambdaErrors),
            format!(
                "Lambda {}: error rate above 10 % for 5 minutes (seed 001) OR more than 10 errors in a minute \
                 (seed 000). {who}; the firing input says which rule.",
                function_name
            ),
        );
        comp.trace_services = vec![function_name.to_owned()];
        self.push_composite(comp, AlarmRule::alarm(a).or(AlarmRule::alarm(b)))
    }

    fn cold_start(&mut self, f: &FunctionSpec, resource: &str) -> Result<(), CatalogueError> {
        let min = self.opts.min_cold_start_invocations;
        let cold = MetricRef::custom(MetricName::ColdStart)
            .with_custom_dimension(DimensionKey::Service, self.opts.service_naming.service_for(f))
            .with_custom_dimension(DimensionKey::FunctionName, &f.name);
        let inv = MetricRef::of(lambda::INVOCATIONS).with_dimension(dimension::FUNCTION_NAME, &f.name);
        let w = meta(
            Severity::Warning,
            resource,
            "cold-start-rate",
            None,
            format!(
                "Lambda {}: more than 20 % of invocations were cold starts in 3 of 3 five-minute periods. \
                 Warning to Slack (seed 000: Lambda cold start rate > 20%).",
                f.name
            ),
        );
        self.push(w, true, |name| {
            MetricAlarm::math(
                name,
                vec![
                    MathInput::new("cold", cold, Stat::Sum),
                    MathInput::new("invocations", inv, Stat::Sum),
                ],
                format!("IF(invocations >= {min}, 100 * FILL(cold, 0) / invocations, 0)"),
                "cold-start rate (%)",
                300,
            )
            .above(20.0)
            .evaluate(3, 3)
            .treat_missing(TreatMissingData::NotBreaching)
        })?;
        Ok(())
    }

    fn state_machines(&mut self) -> Result<(), CatalogueError> {
        for (i, sm) in self.spec.state_machines.iter().enumerate() {
            self.source = format!("state_machines[{i}].name");
            let resource = self.spec.resource_part(&sm.name, "state-machine");
            let m = |n: AwsMetric| MetricRef::of(n).with_dimension(dimension::STATE_MACHINE_ARN, &sm.arn);
            let tasks: Vec<String> = sm
                .tasks
                .iter()
                .filter_map(|t| self.spec.function(t))
                .map(|f| f.name.clone())
                .collect();
            let mut failed = meta(
                Severity::Critical,
                &resource,
                "failed-executions",
                Some(Runbook::StepFunctionsFailures),
                format!(
                    "Input of {}-{resource}-failures-critical (no actions): more than 10 failed or timed-out \
                     executions of {} in 15 minutes.",
                    self.prefix, sm.name
                ),
            );
            failed.trace_services = tasks.clone();
            // A timed-out execution failed as much as a failed one (an EXPRESS execution past 5 minutes
            // never reaches ErrorHandler): both count, each FILLed with 0 (a series with no point at a
            // timestamp would leave the sum without one).
            let a = self.push(failed, false, |name| {
                MetricAlarm::math(
                    name,
                    vec![
                        MathInput::new("failed", m(states::EXECUTIONS_FAILED), Stat::Sum),
                        MathInput::new("timedout", m(states::EXECUTIONS_TIMED_OUT), Stat::Sum),
                    ],
                    "FILL(failed, 0) + FILL(timedout, 0)",
                    "failed or timed-out executions",
                    900,
                )
                .above(10.0)
                .treat_missing(TreatMissingData::NotBreaching)
            })?;
            let mut rate = meta(
                Severity::Critical,
                &resource,
                "failure-rate",
                Some(Runbook::StepFunctionsFailures),
                format!(
                    "Input of {}-{resource}-failures-critical (no actions): more than 10 % of {} executions failed \
                     or timed out in 15 minutes.",
                    self.prefix, sm.name
                ),
            );
            rate.trace_services = tasks.clone();
            let b = self.push(rate, false, |name| {
                MetricAlarm::math(
                    name,
                    vec![
                        MathInput::new("failed", m(states::EXECUTIONS_FAILED), Stat::Sum),
                        MathInput::new("timedout", m(states::EXECUTIONS_TIMED_OUT), Stat::Sum),
                        MathInput::new("started", m(states::EXECUTIONS_STARTED), Stat::Sum),
                    ],
                    "IF(started > 0, 100 * (FILL(failed, 0) + FILL(timedout, 0)) / started, 0)",
                    "failure rate (%)",
                    900,
                )
                .above(10.0)
                .treat_missing(TreatMissingData::NotBreaching)
            })?;
            let mut comp = meta(
                Severity::Critical,
                &resource,
                "failures",
                Some(Runbook::StepFunctionsFailures),
                format!(
                    "Step Functions {}: more than 10 failed executions (seed 001) or more than 10 % failed \
                     (seed 000) in 15 minutes. Pages on-call.",
                    sm.name
                ),
            );
            comp.trace_services = tasks.clone();
            self.push_composite(comp, AlarmRule::alarm(a).or(AlarmRule::alarm(b)))?;
            let expected_ms = f64::from(sm.expected_duration_s) * 1_000.0;
            let mut d = meta(
                Severity::Warning,
                &resource,
                "duration-p90",
                None,
                format!(
                    "Step Functions {}: p90 execution time above {} s in 3 of 3 five-minute periods. Warning to \
                     Slack (seed 000: Step Functions duration > 30 seconds).",
                    sm.name, sm.expected_duration_s
                ),
            );
            d.trace_services = tasks;
            self.push(d, true, |name| {
                MetricAlarm::new(
                    name,
                    m(states::EXECUTION_TIME),
                    Stat::Percentile(90.0),
                    thresholds::SFN_DURATION_PERIOD_S,
                )
                .above(expected_ms)
                .evaluate(3, 3)
                .treat_missing(TreatMissingData::NotBreaching)
                .evaluate_low_sample_count()
            })?;
        }
        Ok(())
    }

    fn dlqs(&mut self) -> Result<(), CatalogueError> {
        // Indexed among all `[[queues]]`, as the spec's keys are.
        for (i, q) in self
            .spec
            .queues
            .iter()
            .enumerate()
            .filter(|(_, q)| q.kind == QueueKind::Dlq)
        {
            self.source = format!("queues[{i}].name");
            let resource = self.spec.resource_part(&q.name, "dlq");
            let c = meta(
                Severity::Critical,
                &resource,
                "depth",
                Some(Runbook::DlqDepth),
                format!(
                    "SQS dead-letter queue {}: more than 10 messages waiting. Pages on-call (seed 001: DLQ depth \
                     > 10 messages).",
                    q.name
                ),
            );
            self.push(c, true, |name| {
                MetricAlarm::new(
                    name,
                    MetricRef::of(sqs::APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE)
                        .with_dimension(dimension::QUEUE_NAME, &q.name),
                    Stat::Maximum,
                    60,
                )
                .above(10.0)
                .treat_missing(TreatMissingData::NotBreaching)
            })?;
        }
        Ok(())
    }

    fn tables(&mut self) -> Result<(), CatalogueError> {
        for (i, t) in self.spec.tables.iter().enumerate() {
            self.source = format!("tables[{i}].name");
            let resource = format!("table-{}", self.spec.resource_part(&t.name, "data"));
            let throttle_inputs = |gsi: Option<&str>| {
                let m = |n: AwsMetric| {
                    let r = MetricRef::of(n).with_dimension(dimension::TABLE_NAME, &t.name);
                    match gsi {
                        Some(g) => r.with_dimension(dimension::GLOBAL_SECONDARY_INDEX_NAME, g),
                        None => r,
                    }
                };
                vec![
                    MathInput::new("reads", m(dynamodb::READ_THROTTLE_EVENTS), Stat::Sum),
                    MathInput::new("writes", m(dynamodb::WRITE_THROTTLE_EVENTS), Stat::Sum),
                ]
            };
            if t.page_on_throttling {
                // `TableName` alone counts the table's throttles, not its indexes' (AWS's DynamoDB
                // metrics page): the page reads each index too, as many as an alarm's 10 metrics hold
                // (the table and four indexes); the rest are named in a note and keep their warnings.
                let paged = &t.gsis[..t.gsis.len().min(MAX_PAGED_GSIS)];
                let mut inputs = throttle_inputs(None);
                let mut expression = "FILL(reads, 0) + FILL(writes, 0)".to_owned();
                for (k, g) in paged.iter().enumerate() {
                    for (mut input, id) in throttle_inputs(Some(&g.name))
                        .into_iter()
                        .zip([format!("gsi{k}reads"), format!("gsi{k}writes")])
                    {
                        expression.push_str(&format!(" + FILL({id}, 0)"));
                        input.id = id;
                        inputs.push(input);
                    }
                }
                if t.gsis.len() > paged.len() {
                    let left: Vec<&str> = t.gsis[paged.len()..].iter().map(|g| g.name.as_str()).collect();
                    self.notes.push(format!(
                        "table {}: the throttling page reads the table and its first {MAX_PAGED_GSIS} indexes (an alarm \
                         reads at most 10 metrics); {} only warn",
                        t.name,
                        left.join(", ")
                    ));
                }
                let indexes = if paged.is_empty() {
                    String::new()
                } else {
                    format!(
                        " or its index{} {}",
                        if paged.len() == 1 { "" } else { "es" },
                        paged
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let c = meta(
                    Severity::Critical,
                    &resource,
                    "throttling",
                    Some(Runbook::QuotaIncreases),
                    format!(
                        "DynamoDB table {}{indexes}: requests throttled in 3 of 5 minutes. Pages on-call (seed 000: \
                         DynamoDB throttling detected).",
                        t.name
                    ),
                );
                self.push(c, true, |name| {
                    MetricAlarm::math(name, inputs.clone(), &expression, "throttle events", 60)
                        .above(0.0)
                        .evaluate(3, 5)
                        .treat_missing(TreatMissingData::NotBreaching)
                })?;
            }
            let w = meta(
                Severity::Warning,
                &resource,
                "throttles",
                Some(Runbook::QuotaIncreases),
                format!(
                    "DynamoDB table {}: throttle events in the last 5 minutes. Warning to Slack (seed 001: \
                     DynamoDB throttles detected; seed 003: alert on any throttling event).",
                    t.name
                ),
            );
            self.push(w, true, |name| {
                MetricAlarm::math(
                    name,
                    throttle_inputs(None),
                    "FILL(reads, 0) + FILL(writes, 0)",
                    "throttle events",
                    300,
                )
                .above(0.0)
                .treat_missing(TreatMissingData::NotBreaching)
            })?;
            for (j, g) in t.gsis.iter().enumerate() {
                // The index's alarms are named after the table and the index.
                self.source = format!("tables[{i}].name with tables[{i}].gsis[{j}].name");
                let w = meta(
                    Severity::Warning,
                    &format!("{resource}-{}", name_part(&g.name)),
                    "throttles",
                    Some(Runbook::QuotaIncreases),
                    format!(
                        "DynamoDB index {} of {}: throttle events in the last 5 minutes (a throttled GSI throttles the table's writes).",
                        g.name, t.name
                    ),
                );
                self.push(w, true, |name| {
                    MetricAlarm::math(
                        name,
                        throttle_inputs(Some(&g.name)),
                        "FILL(reads, 0) + FILL(writes, 0)",
                        "throttle events",
                        300,
                    )
                    .above(0.0)
                    .treat_missing(TreatMissingData::NotBreaching)
                })?;
            }
        }
        Ok(())
    }

    fn budgets(&mut self) -> Result<(), CatalogueError> {
        if self.spec.budgets.is_empty() {
            return Ok(());
        }
        if self.spec.platform.region != BILLING_REGION {
            self.notes.push(format!(
                "billing alarms skipped: AWS/Billing metrics exist only in {BILLING_REGION}, the platform is in {}",
                self.spec.platform.region
            ));
            return Ok(());
        }
        for (i, b) in self.spec.budgets.iter().enumerate() {
            self.source = format!("budgets[{i}].name");
            if !b.billing_alarms {
                self.notes.push(format!(
                    "billing alarms off for budget {} (billing_alarms = false): AWS Budgets' own notices only",
                    b.name
                ));
                continue;
            }
            let resource = format!("budget-{}", self.spec.resource_part(&b.name, "monthly"));
            let limit = thresholds::share_of_limit_usd(b, 100);
            // ACTUAL charges only: a projection never pages (the cost report warns on projections).
            for rule in thresholds::billing_alarms(self.spec, b) {
                let (pct, severity, runbook) = (rule.percent, rule.severity, Some(Runbook::CostOverBudget));
                let who = match severity {
                    Severity::Critical => format!("Pages on-call (seed 000: Cost > {pct}% of budget)"),
                    Severity::Warning => format!("Warning to Slack (seed 000: Cost > {pct}% of budget)"),
                };
                let threshold = thresholds::share_of_limit_usd(b, pct);
                let what = format!(
                    "Month-to-date AWS charges (account-wide EstimatedCharges) above {pct} % of budget {} (${threshold:.2} of ${limit:.2}). {who}.",
                    b.name
                );
                let m = meta(severity, &resource, &format!("spend-{pct}pct"), runbook, what);
                self.push(m, true, |name| {
                    MetricAlarm::new(
                        name,
                        MetricRef::of(billing::ESTIMATED_CHARGES)
                            .with_dimension(dimension::CURRENCY, value::USD),
                        Stat::Maximum,
                        21_600,
                    )
                    .above(threshold)
                    .treat_missing(TreatMissingData::Ignore)
                })?;
            }
        }
        Ok(())
    }

    /// A model's alarms watch every `ModelId` it publishes under: `id` alone as one metric, or with
    /// `aliases` (inference profiles publish a call's metrics under the profile's `ModelId`, leaving the
    /// model's own series empty) the sum over all of them in one metric-math alarm of the same name.
    fn bedrock(&mut self) -> Result<(), CatalogueError> {
        for (i, model) in self.spec.bedrock_models.iter().enumerate() {
            self.source = format!("bedrock_models[{i}].id");
            let resource = format!("bedrock-{}", name_part(&model.id));
            let ids: Vec<&str> = model.model_ids().collect();
            let m = |n: AwsMetric| MetricRef::of(n).with_dimension(dimension::MODEL_ID, model.id.trim());
            let summed = match model.aliases.len() {
                0 => String::new(),
                n => format!(
                    " Summed over ModelId {} and its {n} alias{} (calls through an inference profile publish \
                     under the profile's ModelId).",
                    model.id.trim(),
                    if n == 1 { "" } else { "es" }
                ),
            };
            let t = meta(
                Severity::Warning,
                &resource,
                "throttles",
                Some(Runbook::QuotaIncreases),
                format!(
                    "Bedrock {} ({}): invocations throttled in 3 of 5 minutes (throttles are not counted in \
                     Invocations). Warning to Slack (seed 000 lists Bedrock throttling as a reliability metric).{summed}",
                    model.label, model.id
                ),
            );
            self.push(t, true, |name| {
                match over_model_ids(&ids, bedrock::INVOCATION_THROTTLES, Stat::Sum) {
                    None => MetricAlarm::new(name, m(bedrock::INVOCATION_THROTTLES), Stat::Sum, 60),
                    Some((inputs, sum)) => MetricAlarm::math(name, inputs, sum, "throttled invocations", 60),
                }
                .above(0.0)
                .evaluate(3, 5)
                .treat_missing(TreatMissingData::NotBreaching)
            })?;
            let a = meta(
                Severity::Warning,
                &resource,
                "input-tokens-anomaly",
                None,
                format!(
                    "Bedrock {}: hourly input tokens above the expected band for 3 hours (cost driver).{summed}",
                    model.label
                ),
            );
            self.push(a, true, |name| {
                match over_model_ids(&ids, bedrock::INPUT_TOKEN_COUNT, Stat::Sum) {
                    None => MetricAlarm::anomaly(name, m(bedrock::INPUT_TOKEN_COUNT), Stat::Sum, 3_600, 3.0),
                    Some((inputs, sum)) => {
                        MetricAlarm::math_anomaly(name, inputs, sum, "input tokens", 3_600, 3.0)
                    }
                }
                .evaluate(3, 3)
                .treat_missing(TreatMissingData::Ignore)
            })?;
        }
        Ok(())
    }

    fn ecs(&mut self) -> Result<(), CatalogueError> {
        for (i, svc) in self.spec.ecs_services.iter().enumerate() {
            self.source = format!("ecs_services[{i}].service");
            let resource = format!("ecs-{}", name_part(&svc.service));
            let m = |n: AwsMetric| {
                MetricRef::of(n)
                    .with_dimension(dimension::CLUSTER_NAME, &svc.cluster)
                    .with_dimension(dimension::SERVICE_NAME, &svc.service)
            };
            for (signal, metric) in [("cpu", ecs::CPU_UTILIZATION), ("memory", ecs::MEMORY_UTILIZATION)] {
                let w = meta(
                    Severity::Warning,
                    &resource,
                    signal,
                    None,
                    format!(
                        "ECS {}/{}: average {} above 80 % for 15 minutes. Warning (seed 003: alert > 80 %).",
                        svc.cluster, svc.service, metric.name
                    ),
                );
                self.push(w, true, |name| {
                    // No data is no tasks running: the `down` alarm pages for that (the load balancer's
                    // healthy hosts, or without one the tasks' own CPU samples); a CPU or memory
                    // warning on it would say "above 80 %" of a service that is not there.
                    MetricAlarm::new(
                        name,
                        m(metric),
                        Stat::Average,
                        thresholds::ECS_UTILIZATION_PERIOD_S,
                    )
                    .above(80.0)
                    .evaluate(3, 3)
                    .treat_missing(TreatMissingData::NotBreaching)
                })?;
            }
            let Some(lb) = &svc.load_balancer else {
                // No load balancer to count healthy targets: a service with no task running publishes
                // no `CPUUtilization` at all, and the CPU and memory warnings read that as fine. Its
                // samples per minute are the signal: none for 3 minutes is down.
                let d = meta(
                    Severity::Critical,
                    &resource,
                    "down",
                    Some(Runbook::ServiceDown),
                    format!(
                        "ECS {}/{}: no task has reported CPUUtilization for 3 minutes: no task is running. \
                         Pages on-call (seed 003 \"Severity Levels\": Critical = service down).",
                        svc.cluster, svc.service
                    ),
                );
                self.push(d, true, |name| {
                    MetricAlarm::new(name, m(ecs::CPU_UTILIZATION), Stat::SampleCount, 60)
                        .below(1.0)
                        .evaluate(3, 3)
                        .treat_missing(TreatMissingData::Breaching)
                })?;
                continue;
            };
            let tg = |n: AwsMetric| {
                MetricRef::of(n)
                    .with_dimension(dimension::LOAD_BALANCER, &lb.arn_suffix)
                    .with_dimension(dimension::TARGET_GROUP, &lb.target_group_arn_suffix)
            };
            let e = meta(
                Severity::Warning,
                &resource,
                "5xx-rate",
                None,
                format!(
                    "ALB in front of {}: more than 1 % of requests returned 5xx for 15 minutes, the \
                     targets' own and the load balancer's (502/503/504 when no target answers). Warning \
                     (seed 003: error rate alert if > 1 %).",
                    svc.service
                ),
            );
            // Target 5xx plus the ELB's own, over requests plus the ELB's 5xx: why, on the expression.
            self.push(e, true, |name| {
                MetricAlarm::math(
                    name,
                    thresholds::alb_5xx_rate_inputs(lb),
                    thresholds::ALB_5XX_RATE_EXPRESSION,
                    "5xx rate (%)",
                    thresholds::ALB_5XX_RATE_PERIOD_S,
                )
                .above(thresholds::ALB_5XX_RATE_PERCENT)
                .evaluate(3, 3)
                .treat_missing(TreatMissingData::NotBreaching)
            })?;
            let d = meta(
                Severity::Critical,
                &resource,
                "down",
                Some(Runbook::ServiceDown),
                format!(
                    "ALB in front of {}: no healthy target for 3 minutes, so every request fails with \
                     502/503. Pages on-call (seed 003 \"Severity Levels\": Critical = service down).",
                    svc.service
                ),
            );
            // Minimum over the minute: one healthy-less minute anywhere in the ALB's AZs counts.
            // Missing data is down too: the metric stops when the target group leaves the load
            // balancer.
            self.push(d, true, |name| {
                MetricAlarm::new(name, tg(application_elb::HEALTHY_HOST_COUNT), Stat::Minimum, 60)
                    .below(1.0)
                    .evaluate(3, 3)
                    .treat_missing(TreatMissingData::Breaching)
            })?;
            let l = meta(
                Severity::Warning,
                &resource,
                "latency-p95",
                None,
                format!(
                    "ALB in front of {}: p95 response time above 1 s for 15 minutes. Warning (seed 003: \
                     response time alert if p95 > 1s).",
                    svc.service
                ),
            );
            self.push(l, true, |name| {
                MetricAlarm::new(
                    name,
                    tg(application_elb::TARGET_RESPONSE_TIME),
                    Stat::Percentile(95.0),
                    thresholds::ALB_RESPONSE_TIME_PERIOD_S,
                )
                .above(1.0)
                .evaluate(3, 3)
                .treat_missing(TreatMissingData::NotBreaching)
                .evaluate_low_sample_count()
            })?;
        }
        Ok(())
    }
}

/// `metric` under each of a model's `ModelId` values (`ids`: its id, then its aliases) as math inputs
/// `m0`, `m1`, … and the expression that sums them, or `None` for one `ModelId` (the alarm reads the
/// metric itself). Each input is `FILL`ed with 0 and the sum taken over the array, so a `ModelId` with
/// no call in a period (the model's own id, when every call goes through a profile) neither drops that
/// period nor hides the others' values. At most 10 `ModelId`s (the spec's `MAX_MODEL_ALIASES` + 1):
/// an alarm reads at most 10 metrics.
fn over_model_ids(ids: &[&str], metric: AwsMetric, stat: Stat) -> Option<(Vec<MathInput>, String)> {
    const _: () = assert!(
        platform_spec::MAX_MODEL_ALIASES < crate::validate::MAX_METRIC_STATS,
        "a model's id and aliases must fit one metric-math alarm"
    );
    if ids.len() < 2 {
        return None;
    }
    let inputs: Vec<MathInput> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            MathInput::new(
                format!("m{i}"),
                MetricRef::of(metric).with_dimension(dimension::MODEL_ID, *id),
                stat,
            )
        })
        .collect();
    let filled: Vec<String> = inputs.iter().map(|i| format!("FILL({}, 0)", i.id)).collect();
    Some((inputs, format!("SUM([{}])", filled.join(", "))))
}

/// Whether a function links `telemetry` (Rust on a custom runtime) and so emits `ColdStart`.
fn links_telemetry(f: &FunctionSpec) -> bool {
    f.runtime.starts_with("provided")
}

/// Generates the catalogue for `spec`.
///
/// ```
/// use alarms::catalogue::{catalogue_for, CatalogueOptions, Severity};
/// let spec = platform_spec::load(std::path::Path::new(concat!(
///     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/collectiq-prod.toml"
/// ))).unwrap();
/// let cat = catalogue_for(&spec, &CatalogueOptions::for_spec(&spec)).unwrap();
/// let api = cat.get("collectiq-prod-api-5xx-rate-critical").unwrap();
/// assert_eq!(api.severity, Severity::Critical);
/// assert_eq!(api.alarm.alarm_actions(), [spec.notifications.sns_critical_topic_arn.clone()]);
/// assert!(cat.alarms.iter().filter(|d| d.severity == Severity::Critical).all(|d| d.runbook.is_some()));
/// ```
///
/// # Errors
/// [`CatalogueError`] if a generated alarm breaks an API rule — a bug the tests catch for every shipped
/// spec.
pub fn catalogue_for(spec: &PlatformSpec, opts: &CatalogueOptions) -> Result<Catalogue, CatalogueError> {
    let mut g = Gen {
        spec,
        opts,
        prefix: spec.managed_prefix(),
        source: String::new(),
        out: Vec::new(),
        sources: Vec::new(),
        notes: Vec::new(),
    };
    g.apis()?;
    g.functions()?;
    g.governance_functions()?;
    g.state_machines()?;
    g.dlqs()?;
    g.tables()?;
    g.bedrock()?;
    g.ecs()?;
    g.budgets()?;
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (d, source) in g.out.iter().zip(&g.sources) {
        if let Some(first) = seen.insert(d.name(), source) {
            return Err(CatalogueError::DuplicateName {
                name: d.name().to_owned(),
                first: first.to_owned(),
                second: source.clone(),
            });
        }
    }
    let composites: Vec<PutCompositeAlarmInput> = g
        .out
        .iter()
        .filter_map(|d| match &d.alarm {
            Alarm::Composite(c) => Some(c.clone()),
            Alarm::Metric(_) => None,
        })
        .collect();
    find_cycle(&composites)?;
    Ok(Catalogue {
        alarms: g.out,
        notes: g.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite::rule_children;
    use crate::model::{ComparisonOperator, PutMetricAlarmInput};
    use std::path::Path;

    fn spec(name: &str) -> PlatformSpec {
        platform_spec::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../infra/platforms/{name}.toml")),
        )
        .unwrap()
    }

    fn cat(name: &str) -> Catalogue {
        let s = spec(name);
        catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap()
    }

    fn metric<'a>(c: &'a Catalogue, name: &str) -> &'a PutMetricAlarmInput {
        match &c.get(name).unwrap_or_else(|| panic!("no {name}")).alarm {
            Alarm::Metric(m) => m,
            Alarm::Composite(_) => panic!("{name} is composite"),
        }
    }

    /// Seed 001 "Resource Tagging Strategy" (`Project = "CollectIQ"`, `Owner = "DevOps"`,
    /// `CostCenter = "Engineering"`) / "Cost Allocation Tags": the alarms the tool creates (Terraform's
    /// `default_tags` never reach them) carry the environment, owner, project and cost centre, so their
    /// cost is allocated with the rest; composites too.
    #[test]
    fn every_alarm_carries_the_environment_and_owner_tags() {
        for name in ["collectiq-prod", "collectiq-dev"] {
            let s = spec(name);
            let c = cat(name);
            for d in &c.alarms {
                let tags = match &d.alarm {
                    Alarm::Metric(m) => &m.tags,
                    Alarm::Composite(c) => &c.tags,
                };
                let tag = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.as_str());
                assert_eq!(
                    tag("Environment"),
                    Some(s.platform.environment.as_str()),
                    "{}",
                    d.name()
                );
                assert_eq!(tag("Owner"), Some("DevOps"), "{}", d.name());
                assert_eq!(tag("Project"), Some("CollectIQ"), "{}", d.name());
                assert_eq!(tag("CostCenter"), Some("Engineering"), "{}", d.name());
                assert_eq!(tag("ManagedBy"), Some("collectiq-ops"), "{}", d.name());
            }
        }
    }

    /// `PutMetricAlarm` / `PutCompositeAlarm` take an `AlarmName` of at most 255 characters (CloudWatch API
    /// reference). DynamoDB takes table names of up to 255, so a spec that loads can make a longer alarm
    /// name: the error names the spec key the name came from, not only the alarm.
    #[test]
    fn an_alarm_name_past_255_characters_names_the_spec_key_it_came_from() {
        let mut s = spec("collectiq-prod");
        s.tables[0].gsis.clear();
        // `collectiq-prod-table-{part}-throttling-critical`: 41 characters around the table's part.
        s.tables[0].name = "x".repeat(214);
        let longest = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        assert!(longest.alarms.iter().any(|d| d.name().chars().count() == 255));
        s.tables[0].name = "x".repeat(215);
        let e = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap_err();
        match &e {
            CatalogueError::NameTooLong { key, chars, name } => {
                assert_eq!((key.as_str(), *chars), ("tables[0].name", 256));
                assert!(name.ends_with("-throttling-critical"), "{name}");
            }
            other => panic!("expected NameTooLong, got {other:?}"),
        }
        let said = e.to_string();
        assert!(said.starts_with("tables[0].name: "), "{said}");
        assert!(said.contains("at most 255"), "{said}");

        // A Bedrock model id is free text: its alarms name `bedrock_models[i].id`.
        let mut s = spec("collectiq-prod");
        let last = s.bedrock_models.len() - 1;
        s.bedrock_models[last].id = "m".repeat(300);
        match catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap_err() {
            CatalogueError::NameTooLong { key, .. } => assert_eq!(key, format!("bedrock_models[{last}].id")),
            other => panic!("expected NameTooLong, got {other:?}"),
        }
    }

    #[test]
    fn every_shipped_spec_generates_a_valid_catalogue() {
        for name in [
            "collectiq-prod",
            "collectiq-dev",
            "backoffice-dev",
            "budgetbuddy-prod",
        ] {
            let c = cat(name);
            assert!(!c.alarms.is_empty());
            for d in &c.alarms {
                assert!(d.name().starts_with(&format!("{name}-")));
                assert!(d.name().ends_with(&format!("-{}", d.severity.as_str())));
                assert_eq!(
                    d.name(),
                    format!("{name}-{}-{}-{}", d.resource, d.signal, d.severity.as_str())
                );
                let desc = d.alarm.description().unwrap();
                assert!(desc.chars().count() <= 1024);
                if d.severity == Severity::Critical {
                    let r = d.runbook.unwrap();
                    assert!(
                        desc.ends_with(&format!("alarms/runbooks/{}", r.file_name())),
                        "{desc}"
                    );
                }
            }
        }
    }

    #[test]
    fn collectiq_prod_counts() {
        let c = cat("collectiq-prod");
        let count = |s: Severity| c.alarms.iter().filter(|d| d.severity == s).count();
        // critical: api 5xx, 12 critical-tier functions (the error handler too: seed 001 pages on any
        // Lambda error rate > 10 %) × (error-rate + error-count inputs + errors composite), sfn 2 inputs
        // + composite, 2 DLQs, table throttling, budget 150 %, and the 4 governance functions' errors
        // (inputs + composite: the watcher is watched)
        assert_eq!(count(Severity::Critical), 1 + 12 * 3 + 3 + 2 + 1 + 1 + 4 * 3);
        // warning: api p95+p99, 12 throttles, 12 duration, 12 cold start, sfn duration, table + 3 GSI
        // throttles, bedrock throttles + anomaly, budget 120 %
        assert_eq!(count(Severity::Warning), 2 + 12 + 12 + 12 + 1 + 4 + 2 + 1);
        // Pages: one per incident — the inputs of composites have no actions.
        let notifying = c.alarms.iter().filter(|d| d.notifies).count();
        assert_eq!(notifying, c.alarms.len() - 12 * 2 - 2 - 4 * 2);
        assert!(c.notes.is_empty());
    }

    #[test]
    fn routing_by_severity() {
        let s = spec("collectiq-prod");
        let c = cat("collectiq-prod");
        for d in &c.alarms {
            let expected = match (d.notifies, d.severity) {
                (false, _) => vec![],
                (true, Severity::Critical) => vec![s.notifications.sns_critical_topic_arn.clone()],
                (true, Severity::Warning) => vec![s.notifications.sns_warning_topic_arn.clone()],
            };
            assert_eq!(d.alarm.alarm_actions(), expected.as_slice(), "{}", d.name());
        }
        assert_eq!(
            c.notifying_arns("us-east-1", "123456789012").len(),
            c.alarms.iter().filter(|d| d.notifies).count()
        );
    }

    #[test]
    fn api_5xx_alarm_is_rate_math_on_http_api_metrics() {
        let c = cat("collectiq-prod");
        let a = metric(&c, "collectiq-prod-api-5xx-rate-critical");
        assert_eq!(a.threshold, Some(5.0));
        assert_eq!((a.datapoints_to_alarm, a.evaluation_periods), (Some(1), 1));
        let names: Vec<&str> = a
            .metrics
            .iter()
            .filter_map(|q| q.metric_stat.as_ref())
            .map(|s| s.metric.metric_name.as_str())
            .collect();
        assert_eq!(names, ["5xx", "Count"]);
        let def = c.get("collectiq-prod-api-5xx-rate-critical").unwrap();
        assert_eq!(def.trace_services.len(), 7);
        // Key order must not depend on serde_json's preserve_order, which other crates switch on.
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!("collectiq-prod-api-5xx-rate-critical", a);
    }

    /// `EstimatedCharges` is the account's: a platform sharing its account (Backoffice dev beside
    /// CollectIQ dev) or whose seed asks for Budgets' notices only (BudgetBuddy, seed 003) has no
    /// billing alarm, and the catalogue says why; CollectIQ keeps seed 000's 120 % and 150 %.
    #[test]
    fn billing_alarms_follow_the_spec() {
        for platform in ["backoffice-dev", "budgetbuddy-prod"] {
            let c = cat(platform);
            assert!(
                c.alarms.iter().all(|a| !a.name().contains("-spend-")),
                "{platform}: {:?}",
                c.alarms.iter().map(AlarmDefinition::name).collect::<Vec<_>>()
            );
            assert!(
                c.notes
                    .iter()
                    .any(|n| n.contains("billing alarms off for budget")),
                "{platform}: {:?}",
                c.notes
            );
        }
        let c = cat("collectiq-prod");
        for name in [
            "collectiq-prod-budget-monthly-spend-150pct-critical",
            "collectiq-prod-budget-monthly-spend-120pct-warning",
        ] {
            assert!(c.get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn lambda_alarms_follow_tier_and_timeout() {
        let c = cat("collectiq-prod");
        let e = metric(&c, "collectiq-prod-fn-cards-get-error-rate-critical");
        assert_eq!(
            e.metrics[2].expression.as_deref(),
            Some("IF(invocations > 0, 100 * errors / invocations, 0)")
        );
        assert!(
            c.get("collectiq-prod-fn-error-handler-errors-critical")
                .is_some_and(|d| d.notifies)
        );
        let d = metric(
            &c,
            "collectiq-prod-fn-pricing-agent-duration-near-timeout-warning",
        );
        assert_eq!(d.threshold, Some(108_000.0)); // 90 % of 120 s
        let cs = metric(&c, "collectiq-prod-fn-healthz-cold-start-rate-warning");
        let cold = cs.metrics[0].metric_stat.as_ref().unwrap();
        assert_eq!(cold.metric.namespace, "CollectIQ");
        assert_eq!(
            cold.metric.dimensions[0].value, "collectiq",
            "the platform's one service by default"
        );
        let fixed = CatalogueOptions {
            service_naming: ServiceNaming::FunctionId,
            ..CatalogueOptions::for_spec(&spec("collectiq-prod"))
        };
        let c2 = catalogue_for(&spec("collectiq-prod"), &fixed).unwrap();
        let cs2 = metric(&c2, "collectiq-prod-fn-healthz-cold-start-rate-warning");
        assert_eq!(
            cs2.metrics[0].metric_stat.as_ref().unwrap().metric.dimensions[0].value,
            "healthz"
        );
        // Key order must not depend on serde_json's preserve_order, which other crates switch on.
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!("collectiq-prod-fn-cards-get-error-rate-critical", e);
    }

    #[test]
    fn step_functions_composite_pages_once() {
        let c = cat("collectiq-prod");
        let comp = match &c.get("collectiq-prod-valuation-failures-critical").unwrap().alarm {
            Alarm::Composite(x) => x.clone(),
            Alarm::Metric(_) => panic!(),
        };
        let children = rule_children(&comp.alarm_rule);
        assert_eq!(
            children.into_iter().collect::<Vec<_>>(),
            [
                "collectiq-prod-valuation-failed-executions-critical",
                "collectiq-prod-valuation-failure-rate-critical"
            ]
        );
        for child in [
            "collectiq-prod-valuation-failed-executions-critical",
            "collectiq-prod-valuation-failure-rate-critical",
        ] {
            assert!(!c.get(child).unwrap().notifies);
            assert!(metric(&c, child).alarm_actions.is_empty());
        }
        let p90 = metric(&c, "collectiq-prod-valuation-duration-p90-warning");
        assert_eq!(p90.extended_statistic.as_deref(), Some("p90"));
        assert_eq!(p90.threshold, Some(30_000.0));
        // Key order must not depend on serde_json's preserve_order, which other crates switch on.
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!("collectiq-prod-valuation-failures-critical", comp);
    }

    /// Issue 13: "every governance Lambda has ... an error alarm in the generated catalogue (the watcher is
    /// watched)". The spec's `[governance] functions` get the seeds' Lambda error rules, paging on-call,
    /// on the names Terraform deploys them under; a platform without governance functions gets none.
    #[test]
    fn the_governance_functions_errors_page_on_call() {
        let s = spec("collectiq-prod");
        let c = cat("collectiq-prod");
        for g in platform_spec::GOVERNANCE_FUNCTIONS {
            let composite = c
                .get(&format!("collectiq-prod-fn-{g}-errors-critical"))
                .unwrap_or_else(|| panic!("no errors alarm for {g}"));
            assert!(composite.notifies && composite.severity == Severity::Critical);
            let Alarm::Composite(comp) = &composite.alarm else {
                panic!("errors is a composite")
            };
            assert_eq!(
                comp.alarm_actions,
                [s.notifications.sns_critical_topic_arn.as_str()]
            );
            let count = metric(&c, &format!("collectiq-prod-fn-{g}-error-count-critical"));
            assert_eq!(
                dims(count),
                [("FunctionName".to_owned(), format!("collectiq-prod-{g}"))]
            );
        }
        let backoffice = cat("backoffice-dev");
        assert!(!backoffice.alarms.iter().any(|d| d.name().contains("governance")));
    }

    /// Seed 000: "Lambda errors > 10/minute" pages. The count input needed five such minutes in a row, so
    /// a burst of 11 (or 500) failures in one minute paged no one.
    #[test]
    fn more_than_ten_errors_in_one_minute_fire_seed_000s_rule() {
        use crate::backtest::{BacktestOptions, evaluate_series};
        let c = cat("collectiq-prod");
        let count = metric(&c, "collectiq-prod-fn-cards-get-error-count-critical");
        let fires = |minutes: &[f64]| {
            let series: Vec<Option<f64>> = minutes.iter().copied().map(Some).collect();
            evaluate_series(count, &series, BacktestOptions::default())
                .unwrap()
                .fires
        };
        assert_eq!(fires(&[0.0, 11.0, 0.0, 0.0, 0.0]), 1);
        assert_eq!(fires(&[0.0, 500.0, 0.0]), 1);
        assert_eq!(
            fires(&[10.0, 10.0, 10.0, 10.0, 10.0, 10.0]),
            0,
            "10 a minute is not more than 10"
        );
    }

    /// `TableName` alone counts a table's throttles, not its indexes' (AWS's DynamoDB metrics page): the
    /// page read the table only, so a throttled GSI — which throttles the table's writes — only warned.
    #[test]
    fn the_throttling_page_reads_the_table_and_its_indexes() {
        let indexes_read = |a: &PutMetricAlarmInput| -> Vec<String> {
            a.metrics
                .iter()
                .filter_map(|q| q.metric_stat.as_ref())
                .filter_map(|m| {
                    m.metric
                        .dimensions
                        .iter()
                        .find(|d| d.name == "GlobalSecondaryIndexName")
                        .map(|d| d.value.clone())
                })
                .collect()
        };
        let c = cat("collectiq-prod");
        let page = metric(&c, "collectiq-prod-table-data-throttling-critical");
        let mut read = indexes_read(page);
        read.dedup();
        assert_eq!(read, ["GSI1", "GSI2", "GSI3"]);
        // Every metric the page reads is in its sum.
        let expression = page.metrics.iter().find_map(|q| q.expression.as_deref()).unwrap();
        for q in page.metrics.iter().filter(|q| q.metric_stat.is_some()) {
            assert!(
                expression.contains(&format!("FILL({}, 0)", q.id)),
                "{}: {expression}",
                q.id
            );
        }
        // Six indexes: the table and four fill the alarm's 10 metrics; the note names the other two.
        let mut s = spec("collectiq-prod");
        for n in 4..=6 {
            let mut g = s.tables[0].gsis[0].clone();
            g.name = format!("GSI{n}");
            s.tables[0].gsis.push(g);
        }
        let c = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let page = metric(&c, "collectiq-prod-table-data-throttling-critical");
        assert_eq!(
            page.metrics.iter().filter(|q| q.metric_stat.is_some()).count(),
            10
        );
        assert!(
            c.notes.iter().any(|n| n.contains("GSI5, GSI6 only warn")),
            "{:?}",
            c.notes
        );
        assert!(
            c.get("collectiq-prod-table-data-gsi6-throttles-warning")
                .is_some()
        );
    }

    #[test]
    fn data_and_cost_alarms() {
        let c = cat("collectiq-prod");
        let gsi = metric(&c, "collectiq-prod-table-data-gsi1-throttles-warning");
        let dims = &gsi.metrics[0].metric_stat.as_ref().unwrap().metric.dimensions;
        assert_eq!(dims[1].name, "GlobalSecondaryIndexName");
        assert_eq!(
            metric(&c, "collectiq-prod-valuation-dlq-depth-critical").threshold,
            Some(10.0)
        );
        assert_eq!(
            metric(&c, "collectiq-prod-budget-monthly-spend-150pct-critical").threshold,
            Some(750.0)
        );
        assert_eq!(
            metric(&c, "collectiq-prod-budget-monthly-spend-120pct-warning").threshold,
            Some(600.0)
        );
        // Seed 001: the budget's 80 % goes by e-mail (AWS Budgets), not as a Slack alarm.
        assert!(
            c.get("collectiq-prod-budget-monthly-spend-80pct-warning")
                .is_none()
        );
        let anomaly = metric(
            &c,
            "collectiq-prod-bedrock-anthropic-claude-3-5-sonnet-20240620-v1-0-input-tokens-anomaly-warning",
        );
        assert_eq!(
            anomaly.comparison_operator,
            ComparisonOperator::GreaterThanUpperThreshold
        );
    }

    /// A model called through inference profiles publishes its metrics under their `ModelId`s, not its
    /// own: its alarms keep their names and sum every series (FILLed, so a silent one drops nothing),
    /// and cost one alarm metric per series (three for the anomaly band's).
    #[test]
    fn bedrock_alarms_sum_the_models_aliases() {
        let mut s = spec("collectiq-prod");
        let id = s.bedrock_models[0].id.clone();
        let profiles = [
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
        ];
        s.bedrock_models[0].aliases = profiles.iter().map(|p| (*p).to_owned()).collect();
        let c = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let names = |c: &Catalogue| c.alarms.iter().map(|d| d.name().to_owned()).collect::<Vec<_>>();
        assert_eq!(
            names(&c),
            names(&cat("collectiq-prod")),
            "same alarms, same names"
        );
        let read = |a: &PutMetricAlarmInput, metric: &str| -> Vec<String> {
            a.metrics
                .iter()
                .filter_map(|q| q.metric_stat.as_ref())
                .map(|ms| {
                    assert_eq!(ms.metric.metric_name, metric);
                    assert_eq!(ms.metric.dimensions.len(), 1);
                    assert_eq!(ms.metric.dimensions[0].name, "ModelId");
                    ms.metric.dimensions[0].value.clone()
                })
                .collect()
        };
        let returned = |a: &PutMetricAlarmInput| -> Vec<(String, Option<String>)> {
            a.metrics
                .iter()
                .filter(|q| q.return_data == Some(true))
                .map(|q| (q.id.clone(), q.expression.clone()))
                .collect()
        };
        let sum = "SUM([FILL(m0, 0), FILL(m1, 0), FILL(m2, 0)])".to_owned();
        let want = [id.as_str(), profiles[0], profiles[1]];
        let prefix = "collectiq-prod-bedrock-anthropic-claude-3-5-sonnet-20240620-v1-0";

        let t = metric(&c, &format!("{prefix}-throttles-warning"));
        assert_eq!(read(t, "InvocationThrottles"), want);
        assert_eq!(returned(t), [("expr".to_owned(), Some(sum.clone()))]);
        assert_eq!(
            (t.threshold, t.datapoints_to_alarm, t.evaluation_periods),
            (Some(0.0), Some(3), 5)
        );
        assert_eq!(crate::cost::alarm_metric_count(t), 3);
        assert!(
            t.alarm_description
                .as_deref()
                .unwrap()
                .contains(&format!("Summed over ModelId {id} and its 2 aliases")),
            "{:?}",
            t.alarm_description
        );

        let a = metric(&c, &format!("{prefix}-input-tokens-anomaly-warning"));
        assert_eq!(read(a, "InputTokenCount"), want);
        assert_eq!(
            returned(a),
            [
                ("expr".to_owned(), Some(sum)),
                (
                    "ad1".to_owned(),
                    Some("ANOMALY_DETECTION_BAND(expr, 3)".to_owned())
                )
            ]
        );
        assert_eq!(a.threshold_metric_id.as_deref(), Some("ad1"));
        assert_eq!(
            a.comparison_operator,
            ComparisonOperator::GreaterThanUpperThreshold
        );
        assert_eq!(crate::cost::alarm_metric_count(a), 9);

        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!("collectiq-prod-bedrock-throttles-with-aliases", t);

        // The spec's most aliases: 10 series, the most one metric-math alarm reads.
        s.bedrock_models[0].aliases = (0..platform_spec::MAX_MODEL_ALIASES)
            .map(|i| format!("{}{i}", profiles[1]))
            .collect();
        let c = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        for signal in ["throttles", "input-tokens-anomaly"] {
            let a = metric(&c, &format!("{prefix}-{signal}-warning"));
            assert_eq!(
                a.metrics.iter().filter(|q| q.metric_stat.is_some()).count(),
                crate::validate::MAX_METRIC_STATS
            );
        }
    }

    #[test]
    fn backoffice_and_budgetbuddy() {
        let b = cat("backoffice-dev");
        // Python: no cold-start alarm from our catalogue; standard tier: warning.
        assert!(b.get("backoffice-dev-fn-api-error-rate-warning").is_some());
        assert!(b.alarms.iter().all(|d| d.signal != "cold-start-rate"));
        // Seed 002 gives its 5xx alarm no severity: a warning, as its other alarms (page_on_5xx = false).
        assert!(b.get("backoffice-dev-api-5xx-rate-warning").is_some());
        assert!(b.get("backoffice-dev-api-5xx-rate-critical").is_none());
        let bb = cat("budgetbuddy-prod");
        for n in [
            "cpu-warning",
            "memory-warning",
            "5xx-rate-warning",
            "latency-p95-warning",
        ] {
            assert!(
                bb.get(&format!("budgetbuddy-prod-ecs-budgetbuddy-backend-{n}"))
                    .is_some(),
                "{n}"
            );
        }
        assert_eq!(
            metric(
                &bb,
                "budgetbuddy-prod-ecs-budgetbuddy-backend-latency-p95-warning"
            )
            .threshold,
            Some(1.0)
        );
        // The load balancer's own 5xx (no healthy target: a crash loop) count too: published per
        // LoadBalancer only (ALB metrics docs); the targets' 5xx and requests per target group.
        let rate = metric(&bb, "budgetbuddy-prod-ecs-budgetbuddy-backend-5xx-rate-warning");
        let input = |id: &str| {
            let q = rate.metrics.iter().find(|q| q.id == id).unwrap();
            let m = &q.metric_stat.as_ref().unwrap().metric;
            let mut d: Vec<&str> = m.dimensions.iter().map(|d| d.name.as_str()).collect();
            d.sort_unstable();
            (m.metric_name.clone(), d)
        };
        assert_eq!(
            input("elb_errors"),
            ("HTTPCode_ELB_5XX_Count".to_owned(), vec!["LoadBalancer"])
        );
        assert_eq!(
            input("requests"),
            ("RequestCount".to_owned(), vec!["LoadBalancer", "TargetGroup"])
        );
        assert_eq!(
            input("errors"),
            (
                "HTTPCode_Target_5XX_Count".to_owned(),
                vec!["LoadBalancer", "TargetGroup"]
            )
        );
        assert!(rate.metrics.iter().any(|q| {
            q.expression
                .as_deref()
                .is_some_and(|e| e.contains("FILL(elb_errors, 0)"))
        }));
        // An outage with no healthy target: RequestCount has no data, every request is an ELB 503.
        let expression = rate.metrics.iter().find_map(|q| q.expression.clone()).unwrap();
        assert!(
            expression.starts_with("IF(FILL(requests, 0) + FILL(elb_errors, 0) > 0,"),
            "{expression}"
        );
        // Key order must not depend on serde_json's preserve_order, which other crates switch on.
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!(
            "budgetbuddy-prod-ecs-budgetbuddy-backend-5xx-rate-warning",
            metric(&bb, "budgetbuddy-prod-ecs-budgetbuddy-backend-5xx-rate-warning")
        );
    }

    /// The dimension values an alarm reads, by dimension name.
    fn dims(a: &PutMetricAlarmInput) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = a
            .dimensions
            .iter()
            .chain(
                a.metrics
                    .iter()
                    .filter_map(|q| q.metric_stat.as_ref())
                    .flat_map(|s| s.metric.dimensions.iter()),
            )
            .map(|d| (d.name.clone(), d.value.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn threshold_and_window(a: &PutMetricAlarmInput) -> (Option<f64>, Option<u32>, u32, u32) {
        let period = a.period.or_else(|| {
            a.metrics
                .iter()
                .filter_map(|q| q.metric_stat.as_ref())
                .map(|s| s.period)
                .next()
        });
        (
            a.threshold,
            a.datapoints_to_alarm,
            a.evaluation_periods,
            period.unwrap_or_default(),
        )
    }

    /// Seeds 000 "CloudWatch Alarms" and 001 "Observability and Monitoring" → "CloudWatch Alarms": the
    /// thresholds, windows and who is paged, written from the seeds.
    /// CloudWatch: with `ignore`, a percentile alarm "does not change state" in a period with fewer
    /// than 10/(1−p) samples (1,000 for p99). At the seeds' traffic (seed 000: 50k valuations a month,
    /// about one request a minute) such alarms could never fire, so every percentile alarm evaluates.
    #[test]
    fn percentile_alarms_evaluate_low_sample_counts() {
        for platform in ["collectiq-prod", "budgetbuddy-prod", "backoffice-dev"] {
            let c = cat(platform);
            let percentiles: Vec<_> = c
                .alarms
                .iter()
                .filter_map(|d| match &d.alarm {
                    Alarm::Metric(m) if m.extended_statistic.is_some() => Some(m),
                    _ => None,
                })
                .collect();
            assert!(
                !percentiles.is_empty() || platform == "backoffice-dev",
                "{platform}"
            );
            for m in percentiles {
                assert_eq!(
                    m.evaluate_low_sample_count_percentile.as_deref(),
                    Some("evaluate"),
                    "{}",
                    m.alarm_name
                );
            }
        }
    }

    /// Seed 001: "Lambda error rate > 10% for 5 minutes" and "API 5xx rate > 5% for 5 minutes". A
    /// function failing every call, called every other minute, is at 100 % over any 5 minutes: it
    /// must alarm. Five one-minute ratios in a row read its quiet minutes as 0 % and never did.
    #[test]
    fn sparse_failures_still_breach_the_five_minute_rates() {
        let c = cat("collectiq-prod");
        for name in [
            "collectiq-prod-fn-error-handler-error-rate-critical",
            "collectiq-prod-api-5xx-rate-critical",
        ] {
            let a = metric(&c, name);
            assert_eq!(
                a.metrics
                    .iter()
                    .filter_map(|q| q.metric_stat.as_ref())
                    .map(|s| s.period)
                    .collect::<Vec<_>>(),
                [300, 300],
                "{name}"
            );
            assert_eq!(
                (a.datapoints_to_alarm, a.evaluation_periods),
                (Some(1), 1),
                "{name}"
            );
            // An hour of minutes, one failing call every other minute, summed per the alarm's period
            // as CloudWatch's `Sum` does, then the expression's ratio.
            let period_min = 300 / 60;
            let ratios: Vec<Option<f64>> = (0..60 / period_min)
                .map(|p| {
                    let calls = (p * period_min..(p + 1) * period_min)
                        .filter(|m| m % 2 == 0)
                        .count();
                    Some(if calls > 0 { 100.0 } else { 0.0 })
                })
                .collect();
            let r = crate::backtest::evaluate_series(a, &ratios, crate::backtest::BacktestOptions::default())
                .unwrap();
            assert!(r.fires > 0, "{name}: {r:?}");
        }
    }

    #[test]
    fn collectiq_alarms_carry_seed_000_001_thresholds_and_routing() {
        let s = spec("collectiq-prod");
        let c = cat("collectiq-prod");
        let critical = vec![s.notifications.sns_critical_topic_arn.clone()];
        let warning = vec![s.notifications.sns_warning_topic_arn.clone()];
        let check = |name: &str, threshold: f64, m: u32, n: u32, period: u32, topic: &[String]| {
            let a = metric(&c, name);
            assert_eq!(
                threshold_and_window(a),
                (Some(threshold), Some(m), n, period),
                "{name}"
            );
            assert_eq!(a.alarm_actions, topic, "{name}");
        };
        // 000/001 critical: API 5xx > 5 % for 5 minutes.
        check("collectiq-prod-api-5xx-rate-critical", 5.0, 1, 1, 300, &critical);
        // 001 warning: API P95 > 1000 ms for 10 minutes; 000 warning: P99 > 5 s.
        check(
            "collectiq-prod-api-latency-p95-warning",
            1_000.0,
            10,
            10,
            60,
            &warning,
        );
        check(
            "collectiq-prod-api-latency-p99-warning",
            5_000.0,
            5,
            5,
            60,
            &warning,
        );
        // 001 critical: Lambda error rate > 10 % for 5 minutes; 000 critical: > 10 errors/minute. Inputs
        // of one composite that pages.
        check(
            "collectiq-prod-fn-cards-get-error-rate-critical",
            10.0,
            1,
            1,
            300,
            &[],
        );
        check(
            "collectiq-prod-fn-cards-get-error-count-critical",
            10.0,
            1,
            1,
            60,
            &[],
        );
        let errors = c.get("collectiq-prod-fn-cards-get-errors-critical").unwrap();
        let Alarm::Composite(comp) = &errors.alarm else {
            panic!("errors is a composite")
        };
        assert_eq!(
            comp.alarm_rule,
            "ALARM(\"collectiq-prod-fn-cards-get-error-rate-critical\") OR \
             ALARM(\"collectiq-prod-fn-cards-get-error-count-critical\")"
        );
        assert_eq!(comp.alarm_actions, critical);
        let desc = comp.alarm_description.as_deref().unwrap();
        assert!(desc.contains("seed 001") && desc.contains("seed 000"), "{desc}");
        // 001 critical: > 10 failed executions in 15 minutes; 000: failure rate > 10 %.
        check(
            "collectiq-prod-valuation-failed-executions-critical",
            10.0,
            1,
            1,
            900,
            &[],
        );
        check(
            "collectiq-prod-valuation-failure-rate-critical",
            10.0,
            1,
            1,
            900,
            &[],
        );
        // 001 critical: DLQ depth > 10 messages.
        check(
            "collectiq-prod-valuation-dlq-depth-critical",
            10.0,
            1,
            1,
            60,
            &critical,
        );
        check(
            "collectiq-prod-events-dlq-depth-critical",
            10.0,
            1,
            1,
            60,
            &critical,
        );
        // 000 critical: DynamoDB throttling detected; 001 warning: DynamoDB throttles detected.
        check(
            "collectiq-prod-table-data-throttling-critical",
            0.0,
            3,
            5,
            60,
            &critical,
        );
        check(
            "collectiq-prod-table-data-throttles-warning",
            0.0,
            1,
            1,
            300,
            &warning,
        );
        // 000 critical: Cost > 150 % of budget ($500); warning: > 120 %.
        check(
            "collectiq-prod-budget-monthly-spend-150pct-critical",
            750.0,
            1,
            1,
            21_600,
            &critical,
        );
        check(
            "collectiq-prod-budget-monthly-spend-120pct-warning",
            600.0,
            1,
            1,
            21_600,
            &warning,
        );
        // 000 warning: cold start rate > 20 %; Step Functions duration > 30 s; 001: duration near timeout.
        check(
            "collectiq-prod-fn-healthz-cold-start-rate-warning",
            20.0,
            3,
            3,
            300,
            &warning,
        );
        check(
            "collectiq-prod-valuation-duration-p90-warning",
            30_000.0,
            3,
            3,
            300,
            &warning,
        );
        // 90 % of seed 004's default Lambda timeout (30 s; only upload_presign is set to 10 s).
        check(
            "collectiq-prod-fn-cards-get-duration-near-timeout-warning",
            27_000.0,
            3,
            5,
            60,
            &warning,
        );
        // Every alarm reads names that exist in the spec (so it can fire).
        for d in &c.alarms {
            let Alarm::Metric(a) = &d.alarm else { continue };
            for (k, v) in dims(a) {
                let known = match k.as_str() {
                    "FunctionName" => {
                        s.functions.iter().any(|f| f.name == v)
                            || s.governance
                                .functions
                                .iter()
                                .any(|g| s.governance_function_name(g) == v)
                    }
                    "TableName" => s.tables.iter().any(|t| t.name == v),
                    "QueueName" => s.queues.iter().any(|q| q.name == v),
                    "StateMachineArn" => s.state_machines.iter().any(|m| m.arn == v),
                    "ApiId" => s.http_apis.iter().any(|h| h.id == v),
                    _ => true,
                };
                assert!(known, "{}: {k}={v} is not in the spec", d.name());
            }
        }
    }

    /// Seed 002 "Components" → Monitoring: "CloudWatch Alarms | Errors, throttles, 5xx".
    #[test]
    fn backoffice_alarms_are_seed_002s_errors_throttles_5xx() {
        let c = cat("backoffice-dev");
        for name in [
            "backoffice-dev-fn-api-errors-warning",
            "backoffice-dev-fn-api-throttles-warning",
            "backoffice-dev-api-5xx-rate-warning",
        ] {
            let d = c.get(name).unwrap_or_else(|| panic!("no {name}"));
            assert!(d.notifies, "{name}");
        }
        let t = metric(&c, "backoffice-dev-fn-api-throttles-warning");
        assert_eq!(t.metric_name.as_deref(), Some("Throttles"));
        assert_eq!(
            dims(t),
            [("FunctionName".to_owned(), "dev-backoffice-api".to_owned())]
        );
        // Seed 002 "DynamoDB Operations": the StatusIndex GSI.
        assert!(
            c.get("backoffice-dev-table-data-statusindex-throttles-warning")
                .is_some()
        );
        // Seed 002 lists errors, throttles and 5xx: no latency alarm on its API.
        let latency: Vec<&str> = c
            .alarms
            .iter()
            .map(AlarmDefinition::name)
            .filter(|n| n.contains("latency"))
            .collect();
        assert!(latency.is_empty(), "{latency:?}");
        // Nor on its function's duration (`near_timeout_alarm = false`): every alarm is one of the three
        // kinds (the function's errors composite and its two inputs; Lambda and table throttles).
        let signals: std::collections::BTreeSet<&str> = c.alarms.iter().map(|d| d.signal.as_str()).collect();
        assert_eq!(
            signals,
            std::collections::BTreeSet::from([
                "5xx-rate",
                "error-count",
                "error-rate",
                "errors",
                "throttles"
            ]),
        );
        assert!(
            c.get("backoffice-dev-fn-api-duration-near-timeout-warning")
                .is_none()
        );
        // Seed 002 gives no severity: the table's throttles warn, as the function's do; paging on
        // sustained throttling is seed 000's rule (CollectIQ's).
        assert!(c.get("backoffice-dev-table-data-throttling-critical").is_none());
        assert!(c.get("backoffice-dev-table-data-throttles-warning").is_some());
    }

    /// Seed 001's "Lambda duration approaching timeout" stays CollectIQ's (`near_timeout_alarm` defaults
    /// to true): one warning per function at 90 % of its timeout.
    #[test]
    fn near_timeout_follows_the_spec() {
        let c = cat("collectiq-prod");
        let near: Vec<&AlarmDefinition> = c
            .alarms
            .iter()
            .filter(|d| d.signal == "duration-near-timeout")
            .collect();
        assert_eq!(near.len(), 12);
        assert!(near.iter().all(|d| d.severity == Severity::Warning));
        let mut s = spec("collectiq-prod");
        s.functions[0].near_timeout_alarm = false;
        let off = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let name = format!(
            "collectiq-prod-fn-{}-duration-near-timeout-warning",
            name_part(&s.functions[0].id)
        );
        assert!(c.get(&name).is_some() && off.get(&name).is_none(), "{name}");
        assert_eq!(off.alarms.len(), c.alarms.len() - 1);
    }

    /// Seed 003 "Monitoring & Alerting" → Key Metrics: CPU > 80 %, memory > 80 %, error rate > 1 %, p95 >
    /// 1 s, any DynamoDB throttling; "Alert Channels": the budgetbuddy-alarms topic.
    #[test]
    fn budgetbuddy_alarms_carry_seed_003_thresholds_and_names() {
        let c = cat("budgetbuddy-prod");
        // Seed 003 routes alerts by e-mail, SNS and PagerDuty: no description sends anything "to Slack".
        for d in &c.alarms {
            let desc = d.alarm.description().unwrap_or_default();
            assert!(!desc.contains("Slack"), "{}: {desc}", d.name());
        }
        let topic = vec!["arn:aws:sns:us-east-1:345678901234:budgetbuddy-alarms".to_owned()];
        for (name, threshold) in [
            ("budgetbuddy-prod-ecs-budgetbuddy-backend-cpu-warning", 80.0),
            ("budgetbuddy-prod-ecs-budgetbuddy-backend-memory-warning", 80.0),
            ("budgetbuddy-prod-ecs-budgetbuddy-backend-5xx-rate-warning", 1.0),
            (
                "budgetbuddy-prod-ecs-budgetbuddy-backend-latency-p95-warning",
                1.0,
            ),
            (
                "budgetbuddy-prod-table-budgetbuddy-transactions-throttles-warning",
                0.0,
            ),
            ("budgetbuddy-prod-table-budgetbuddy-users-throttles-warning", 0.0),
        ] {
            let a = metric(&c, name);
            assert_eq!(a.threshold, Some(threshold), "{name}");
            assert_eq!(a.alarm_actions, topic, "{name}");
        }
        let cpu = metric(&c, "budgetbuddy-prod-ecs-budgetbuddy-backend-cpu-warning");
        assert_eq!(
            dims(cpu),
            [
                ("ClusterName".to_owned(), "budgetbuddy-cluster".to_owned()),
                ("ServiceName".to_owned(), "budgetbuddy-backend".to_owned())
            ]
        );
        let t = metric(
            &c,
            "budgetbuddy-prod-table-budgetbuddy-transactions-throttles-warning",
        );
        assert!(dims(t).contains(&("TableName".to_owned(), "BudgetBuddy-Transactions".to_owned())));
        // "Severity Levels": Critical is an outage (service down), a breach or a security incident.
        // Throttling is a capacity issue (Medium): a warning, never a page.
        let critical: Vec<&str> = c
            .alarms
            .iter()
            .filter(|d| d.severity == Severity::Critical)
            .map(AlarmDefinition::name)
            .collect();
        assert_eq!(
            critical,
            ["budgetbuddy-prod-ecs-budgetbuddy-backend-down-critical"]
        );
        let down = metric(&c, critical[0]);
        assert_eq!(down.metric_name.as_deref(), Some("HealthyHostCount"));
        assert_eq!(down.threshold, Some(1.0));
        assert_eq!(
            down.comparison_operator,
            crate::model::ComparisonOperator::LessThanThreshold
        );
        assert_eq!(down.treat_missing_data, Some(TreatMissingData::Breaching));
        assert_eq!(
            dims(down),
            [
                (
                    "LoadBalancer".to_owned(),
                    "app/budgetbuddy-alb/5f2c9a7e1b3d4c6a".to_owned()
                ),
                (
                    "TargetGroup".to_owned(),
                    "targetgroup/budgetbuddy-backend/8e1d2c3b4a596877".to_owned()
                )
            ]
        );
        assert_eq!(down.alarm_actions, topic);
    }

    /// Two spec items whose alarms come out with one name are both named, by key, so the spec can be
    /// fixed where it says it.
    #[test]
    fn a_name_two_items_make_names_both() {
        let mut s = spec("collectiq-prod");
        let twin = s.functions[0].clone();
        s.functions.push(twin);
        let last = s.functions.len() - 1;
        let e = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(&e, CatalogueError::DuplicateName { first, second, .. }
                if first == "functions[0].id" && *second == format!("functions[{last}].id")),
            "{text}"
        );
        assert!(text.contains("functions[0].id and functions["), "{text}");
    }

    /// A service without a load balancer has no healthy-host count, and its CPU and memory warnings
    /// read no data (no task running) as fine: without a `down` of its own, a service scaled to zero
    /// or crash-looping before its first sample fired nothing.
    #[test]
    fn a_service_without_a_load_balancer_still_pages_when_no_task_runs() {
        let mut s = spec("budgetbuddy-prod");
        s.ecs_services[0].load_balancer = None;
        let c = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let name = "budgetbuddy-prod-ecs-budgetbuddy-backend-down-critical";
        let def = c.get(name).unwrap();
        assert_eq!(def.severity, Severity::Critical);
        assert_eq!(def.runbook, Some(Runbook::ServiceDown));
        let down = metric(&c, name);
        assert_eq!(down.namespace.as_deref(), Some("AWS/ECS"));
        assert_eq!(down.metric_name.as_deref(), Some("CPUUtilization"));
        assert_eq!(down.statistic, Some(crate::model::Statistic::SampleCount));
        assert_eq!(down.comparison_operator, ComparisonOperator::LessThanThreshold);
        assert_eq!(down.threshold, Some(1.0));
        assert_eq!(down.treat_missing_data, Some(TreatMissingData::Breaching));
        assert_eq!(
            down.alarm_actions,
            [s.notifications.sns_critical_topic_arn.clone()]
        );
        assert_eq!(
            dims(down),
            [
                ("ClusterName".to_owned(), "budgetbuddy-cluster".to_owned()),
                ("ServiceName".to_owned(), "budgetbuddy-backend".to_owned())
            ]
        );
        // The load balancer's alarms went with it.
        assert!(
            c.get("budgetbuddy-prod-ecs-budgetbuddy-backend-5xx-rate-warning")
                .is_none()
        );
    }

    #[test]
    fn whole_catalogue_snapshots() {
        for name in ["collectiq-prod", "backoffice-dev", "budgetbuddy-prod"] {
            let c = cat(name);
            let inputs = c.inputs();
            // Paired assertions on the parsed documents: names, routing and a runbook link per critical alarm.
            let v = serde_json::to_value(&inputs).unwrap();
            for (a, d) in v.as_array().unwrap().iter().zip(&c.alarms) {
                assert_eq!(a["AlarmName"], d.name());
                assert_eq!(
                    a["Kind"],
                    if matches!(d.alarm, Alarm::Composite(_)) {
                        "Composite"
                    } else {
                        "Metric"
                    }
                );
                if d.severity == Severity::Critical {
                    assert!(
                        a["AlarmDescription"]
                            .as_str()
                            .unwrap()
                            .contains("alarms/runbooks/")
                    );
                }
            }
            // Key order must not depend on serde_json's preserve_order, which other crates switch on.
            let mut settings = insta::Settings::clone_current();
            settings.set_sort_maps(true);
            let _sorted = settings.bind_to_scope();
            insta::assert_json_snapshot!(format!("catalogue-{name}"), inputs);
        }
    }

    #[test]
    fn billing_alarms_need_us_east_1() {
        let mut s = spec("collectiq-prod");
        s.platform.region = "eu-west-1".into();
        let c = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        assert!(c.alarms.iter().all(|d| !d.resource.starts_with("budget-")));
        assert_eq!(c.notes.len(), 1);
    }

    /// collectiq-prod moved to GovCloud (`us-gov-west-1`, its topic and state machine ARNs in
    /// `aws-us-gov`): the alarms' own ARNs, which the overview dashboard lists, are in that partition
    /// too; `arn:aws:` names nothing there.
    #[test]
    fn govcloud_alarm_arns_are_in_the_aws_us_gov_partition() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml");
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace("us-east-1", "us-gov-west-1")
            .replace("arn:aws:", "arn:aws-us-gov:");
        let s = platform_spec::parse(&text, "collectiq-prod.toml").unwrap();
        let c = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let arns = c.notifying_arns(&s.platform.region, s.platform.account_id.as_deref().unwrap());
        assert!(!arns.is_empty());
        for arn in &arns {
            assert!(
                arn.starts_with("arn:aws-us-gov:cloudwatch:us-gov-west-1:123456789012:alarm:"),
                "{arn}"
            );
        }
        for d in &c.alarms {
            for action in d.alarm.alarm_actions() {
                assert!(action.starts_with("arn:aws-us-gov:"), "{}: {action}", d.name());
            }
        }
    }

    /// `notifications.runbook_base_url` makes every critical alarm's runbook a link someone paged can
    /// open; without it the repository path stays.
    #[test]
    fn the_specs_runbook_base_url_makes_the_links() {
        let mut s = spec("collectiq-prod");
        let repo = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        s.notifications.runbook_base_url = Some("https://git.example/ops/blob/main/alarms/runbooks/".into());
        let c = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let mut linked = 0;
        for (d, before) in c.alarms.iter().zip(&repo.alarms) {
            let (desc, old) = (
                d.alarm.description().unwrap(),
                before.alarm.description().unwrap(),
            );
            if let Some(r) = d.runbook {
                let link = format!(
                    "\nhttps://git.example/ops/blob/main/alarms/runbooks/{}",
                    r.file_name()
                );
                assert!(desc.ends_with(&link), "{}: {desc}", d.name());
                assert!(
                    old.ends_with(&format!("\nalarms/runbooks/{}", r.file_name())),
                    "{old}"
                );
                linked += 1;
            } else {
                assert_eq!(desc, old);
            }
        }
        assert!(linked > 10, "{linked} alarms with a runbook");
    }

    #[test]
    fn descriptions_fit_1024_even_with_a_long_base_url() {
        let s = spec("collectiq-prod");
        let opts = CatalogueOptions {
            runbook_links: RunbookLinks::BaseUrl(format!("https://x.example/{}", "a".repeat(900))),
            ..CatalogueOptions::for_spec(&s)
        };
        let c = catalogue_for(&s, &opts).unwrap();
        for d in &c.alarms {
            let desc = d.alarm.description().unwrap();
            assert!(desc.chars().count() <= 1024, "{}", d.name());
            if let Some(r) = d.runbook {
                assert!(desc.ends_with(r.file_name()));
            }
        }
    }

    #[test]
    fn slug_and_describe() {
        assert_eq!(
            name_part("anthropic.claude-3-5-sonnet-20240620-v1:0"),
            "anthropic-claude-3-5-sonnet-20240620-v1-0"
        );
        assert_eq!(name_part("GSI1"), "gsi1");
        let d = describe("What.", Some(Runbook::DlqDepth), &RunbookLinks::RepoRelative);
        assert!(d.starts_with("What.\nRunbook: More than 10 messages"));
        assert!(d.ends_with("\nalarms/runbooks/dlq-depth.md"));
        assert_eq!(describe("x", None, &RunbookLinks::RepoRelative), "x");
    }
}
