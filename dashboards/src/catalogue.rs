//! The dashboards generated from a platform spec.
//!
//! One dashboard per section, named `{platform}-{env}-{section}`; a section is generated only when the
//! spec has what it shows:
//!
//! | section | when | shows |
//! |---|---|---|
//! | `overview` | always | alarm status, requests, 5xx rate and latency, Lambda invocations and errors, executions, DLQ depth, DynamoDB read/write capacity, valuations, ECS/ALB health, month-to-date spend (seed 000 "Overview Dashboard") |
//! | `api` | HTTP APIs | 4xx/5xx rates, p50/p90/p95/p99 latency (seed 000: P50, P90, P99; p95 is the warning's), integration latency, requests and 5xx by route, 4xx on JWT routes (authorizer rejections; only when a route uses JWT) |
//! | `lambda` | functions | invocations, error rate, p50/p95/p99 duration vs timeout, throttles, concurrency, cold starts |
//! | `stepfunctions` | state machines | executions by status, duration vs expected, task (Lambda) failures and run time, DLQ depth |
//! | `data` | tables or buckets | DynamoDB capacity, throttles (table and GSIs), latency and throttled requests per operation, S3 size, objects, requests |
//! | `ai` | Bedrock models, an `extract` or an `authenticity` agent | Rekognition calls, latency, throttles; Bedrock invocations, tokens, latency, throttles, errors per model; authenticity score distribution (seed 001 "AI Services Dashboard") |
//! | `agents` | functions with agents | agent duration p50/p95/p99, authenticity score distribution, pricing confidence, OCR confidence (`OcrConfidence`, recorded by `rekognition_extract`), tokens per agent and model |
//! | `cost` | budgets | month-to-date spend vs budget lines, daily spend by service, anomaly band, $/valuation, Bedrock tokens, optimization opportunities (seed 000's strategies: Lambda GB-seconds, tokens per valuation, DynamoDB capacity, S3 storage) |
//! | `ecs` | ECS services | CPU and memory vs 80 %, ALB requests, 5xx rate (the alarm's: target + ALB 5xx), p50/p95/p99 response time, healthy hosts |
//! | `compliance` | `platform.compliance_frameworks` | availability, access denials and data-store errors as evidence; what CloudWatch cannot show (seed 003 "Compliance Dashboard") |
//!
//! Every threshold line is an alarm's, with its severity word and value: which alarms a spec item gets is
//! read from [`alarms::thresholds`], the decisions the alarm catalogue is built from, so a spec switch
//! (`latency_alarms`, `near_timeout_alarm`, `billing_alarms`) removes the alarm and its line together.
//!
//! CollectIQ's own metrics come from [`telemetry::catalogue`] with the `service` dimension value from
//! [`CatalogueOptions::service_naming`]; AWS billing metrics are read from `us-east-1`, the only region that has them.

use crate::builder::{
    AlarmWidget, BuildError, CustomSearch, DashboardBuilder, Expression, LogWidget, Metric, MetricWidget,
    TextWidget,
};
use crate::model::Dashboard;
use alarms::catalogue::Severity;
use alarms::thresholds;
pub use platform_spec::ServiceNaming;
use platform_spec::{
    BedrockModelSpec, BudgetSpec, FunctionSpec, HttpApiSpec, LoadBalancerSpec, PlatformSpec, RouteAuth,
    RouteSpec,
};
use telemetry::catalogue::{Agent, DimensionKey, MetricName};
use vocabulary::aws::{
    api_gateway, application_elb, bedrock, billing, dynamodb, ecs, lambda, rekognition, s3, sqs, states,
};
use vocabulary::{AwsMetric, Stat, dimension, value};

/// Knobs of the generated dashboards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueOptions {
    /// How functions name their `service` dimension.
    pub service_naming: ServiceNaming,
    /// Default time range of operational dashboards (`-PT6H`).
    pub start: String,
    /// Default time range of the cost dashboard (`-P30D`).
    pub cost_start: String,
    /// Id of the S3 request-metrics configuration (the `FilterId` dimension); the console's default
    /// whole-bucket filter is `EntireBucket`.
    pub s3_request_filter_id: String,
    /// Alarm ARNs to show as status on the overview (at most 100 per widget; more become more widgets).
    pub alarm_arns: Vec<String>,
    /// Whose spend the account's `EstimatedCharges` is: the spec's `[platform].shared_account` by
    /// default ([`BillingAccount::among`] finds out from the other platform specs).
    pub billing_account: BillingAccount,
}

/// Whose spend the account's `AWS/Billing` `EstimatedCharges` is. The metric has no dimension for a
/// platform: in an account that runs several, it is all of theirs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum BillingAccount {
    /// The account runs this platform only: `EstimatedCharges` is the platform's spend.
    #[default]
    Own,
    /// The account runs other platforms too (seeds 001 and 002: CollectIQ dev and Backoffice dev share
    /// one dev account, `infra/platforms/org/collectiq-group.toml`).
    Shared,
}

impl BillingAccount {
    /// What the spec says: [`BillingAccount::Shared`] with `[platform].shared_account = true`.
    #[must_use]
    pub fn of(spec: &PlatformSpec) -> Self {
        if spec.platform.shared_account {
            Self::Shared
        } else {
            Self::Own
        }
    }

    /// [`BillingAccount::Shared`] when another platform environment of `platforms` (the organisation's
    /// specs; `spec` itself may be among them) names the same `platform.account_id`; [`BillingAccount::Own`]
    /// otherwise, and when `spec` names no account.
    ///
    /// ```
    /// use dashboards::catalogue::BillingAccount;
    /// let base = platform_spec::parse(
    ///     "[platform]\nname = 'alpha'\nenvironment = 'dev'\nregion = 'us-east-1'\n\
    ///      account_id = '210987654321'\nlog_retention_days = 7\n\
    ///      [notifications]\nslack_webhook_secret = 'alpha/slack'\n\
    ///      sns_critical_topic_arn = 'arn:aws:sns:us-east-1:210987654321:critical'\n\
    ///      sns_warning_topic_arn = 'arn:aws:sns:us-east-1:210987654321:warning'\n\
    ///      [ledger]\ntable = 'alpha-ledger'\n",
    ///     "alpha.toml",
    /// )
    /// .unwrap();
    /// let other = |name: &str, account: &str| {
    ///     let mut s = base.clone();
    ///     s.platform.name = name.into();
    ///     s.platform.account_id = Some(account.into());
    ///     s
    /// };
    /// let (beta, gamma) = (other("beta", "210987654321"), other("gamma", "345678901234"));
    /// let org = [base.clone(), beta, gamma.clone()];
    /// assert_eq!(BillingAccount::among(&base, &org), BillingAccount::Shared);
    /// assert_eq!(BillingAccount::among(&gamma, &org), BillingAccount::Own);
    /// ```
    #[must_use]
    pub fn among<'a>(spec: &PlatformSpec, platforms: impl IntoIterator<Item = &'a PlatformSpec>) -> Self {
        let Some(account) = spec.platform.account_id.as_deref() else {
            return Self::Own;
        };
        let shared = platforms.into_iter().any(|other| {
            other.platform.account_id.as_deref() == Some(account)
                && other.managed_prefix() != spec.managed_prefix()
        });
        if shared { Self::Shared } else { Self::Own }
    }
}

impl CatalogueOptions {
    /// Defaults: the platform's one service name (`spec.service_name()`, what Terraform sets as
    /// `POWERTOOLS_SERVICE_NAME`), 6 h / 30 d ranges, `EntireBucket`, no alarms.
    #[must_use]
    pub fn for_spec(spec: &PlatformSpec) -> Self {
        Self {
            service_naming: ServiceNaming::Fixed(spec.service_name().to_owned()),
            start: "-PT6H".into(),
            cost_start: "-P30D".into(),
            s3_request_filter_id: "EntireBucket".into(),
            alarm_arns: Vec::new(),
            billing_account: BillingAccount::of(spec),
        }
    }

    /// Says whose spend the account's `EstimatedCharges` is.
    #[must_use]
    pub fn with_billing_account(mut self, account: BillingAccount) -> Self {
        self.billing_account = account;
        self
    }

    /// Shows these alarms on the overview.
    #[must_use]
    pub fn with_alarm_arns(mut self, arns: Vec<String>) -> Self {
        self.alarm_arns = arns;
        self
    }
}

const RED: &str = "#d62728";
const ORANGE: &str = "#ff7f0e";
const GREY: &str = "#7f7f7f";
const BILLING_REGION: &str = vocabulary::namespace::BILLING_REGION;
/// A day's spend from month-to-date `EstimatedCharges` (`mtd`): the day-over-day difference, except on
/// the day the month restarts, when the difference is negative and the month-to-date value is the day.
const DAILY_SPEND: &str = "IF(DIFF(mtd) < 0, mtd, DIFF(mtd))";
/// 0 the day the month restarts (the only day `DIFF(mtd)` is negative), 1 on the others. Metric math's
/// `IF` takes single time series only, so a `SEARCH`'s array (one series per service) cannot be guarded
/// like [`DAILY_SPEND`]. Dividing the array by this series can (arithmetic between an array and one
/// series is allowed), and drops the restart day's points: a division by zero drops the point
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html>).
const NOT_RESTART_DAY: &str = "IF(DIFF(mtd) < 0, 0, 1)";
/// The restart day's spend, all services together (the month-to-date value is that day's); nothing on
/// the other days.
const RESTART_DAY_SPEND: &str = "IF(DIFF(mtd) < 0, mtd)";
/// One S3 `StorageType` of `BucketSizeBytes`: the row's id and legend label.
struct StorageTier {
    id: &'static str,
    storage_type: &'static str,
    label: &'static str,
}
/// Where the uploads' bytes are: S3 Standard until the lifecycle rule moves an object to
/// Intelligent-Tiering (`infra/modules/backend/uploads.tf`, after `upload_ia_transition_days`), then the
/// tiers Intelligent-Tiering moves it through by itself: frequent, infrequent after 30 days without
/// access, archive instant after 90. Its asynchronous archive tiers (`IntelligentTieringAAStorage`,
/// `IntelligentTieringDAAStorage`) need an Intelligent-Tiering configuration the bucket does not have.
/// S3 reports each class under its own `StorageType`; only the object count has `AllStorageTypes`.
const UPLOAD_STORAGE_TIERS: [StorageTier; 4] = [
    StorageTier {
        id: "standard",
        storage_type: value::STANDARD_STORAGE,
        label: "Standard",
    },
    StorageTier {
        id: "it_frequent",
        storage_type: "IntelligentTieringFAStorage",
        label: "Intelligent-Tiering frequent",
    },
    StorageTier {
        id: "it_infrequent",
        storage_type: "IntelligentTieringIAStorage",
        label: "Intelligent-Tiering infrequent",
    },
    StorageTier {
        id: "it_archive_instant",
        storage_type: "IntelligentTieringAIAStorage",
        label: "Intelligent-Tiering archive instant",
    },
];
/// DynamoDB operations shown per table (the `Operation` dimension): CollectIQ's backend writes cards,
/// claims and valuations with `TransactWriteItems` (a test holds the list to every DynamoDB call in
/// `backend/src`); `BatchWriteItem` is for the other platforms' code.
pub const DDB_OPERATIONS: [&str; 7] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "TransactWriteItems",
    "BatchWriteItem",
];
/// The `service`-only dimension set of most catalogue metrics.
const SERVICE: &[DimensionKey] = &[DimensionKey::Service];
/// Dynamic legend labels for searches.
const BY_AGENT: &str = "${PROP('Dim.agent')}";
const BY_AGENT_MODEL: &str = "${PROP('Dim.agent')} (${PROP('Dim.model')})";
/// Rekognition operations the extract agent calls.
const REKOGNITION_OPERATIONS: [&str; 2] = ["DetectText", "DetectLabels"];
/// HTTP API latency percentiles: seed 000 "Key Metrics" ("API latency: P50, P90, P99") and p95, the
/// statistic of the p95 warning (seed 001).
const API_LATENCY_PERCENTILES: [f64; 4] = [50.0, 90.0, 95.0, 99.0];

struct Ctx<'a> {
    spec: &'a PlatformSpec,
    opts: &'a CatalogueOptions,
    region: &'a str,
    prefix: String,
}

impl Ctx<'_> {
    fn name(&self, section: &str) -> String {
        format!("{}-{section}", self.prefix)
    }

    fn widget(&self, title: &str) -> MetricWidget {
        MetricWidget::new(title, self.region).with_period(60)
    }

    /// A catalogue metric over every emitting `service`, as one expression.
    fn search(&self, id: &str, search: CustomSearch) -> Expression {
        Expression::search(id, search)
    }

    /// Whether `budget`'s limit and notices are drawn against the account's `EstimatedCharges`: not
    /// where its billing alarms are off in a shared account (Backoffice dev's reason): the charges carry
    /// the other platforms' spend and would always read "over budget". Where the alarms are on, the spec
    /// has chosen to watch the account's spend, and the lines are that choice's.
    fn compares_budget_with_account(&self, budget: &BudgetSpec) -> bool {
        budget.billing_alarms || self.opts.billing_account == BillingAccount::Own
    }

    /// The legend of the account's `EstimatedCharges`.
    const fn spend_label(&self) -> &'static str {
        match self.opts.billing_account {
            BillingAccount::Own => "spend",
            BillingAccount::Shared => "spend (whole account)",
        }
    }

    fn agents(&self) -> Vec<Agent> {
        let mut agents: Vec<Agent> = self
            .spec
            .functions
            .iter()
            .filter_map(|f| f.agent)
            .chain(
                self.spec
                    .bedrock_models
                    .iter()
                    .flat_map(|m| m.agents.iter().copied()),
            )
            .collect();
        agents.sort_unstable();
        agents.dedup();
        agents
    }

    /// Percentiles of a catalogue metric over 5-minute periods; `unit_range` pins the axis to 0..=1
    /// (scores and confidences).
    fn distribution(
        &self,
        metric: MetricName,
        title: &str,
        percentiles: &[f64],
        unit_range: bool,
    ) -> MetricWidget {
        let w = self.widget(title).with_period(300);
        let w = if unit_range {
            w.with_left_axis(Some(0.0), Some(1.0), None)
        } else {
            w
        };
        percentiles.iter().enumerate().fold(w, |w, (i, p)| {
            w.with_expression(
                self.search(
                    &format!("p{i}"),
                    CustomSearch::new(metric, &[DimensionKey::Service], Stat::Percentile(*p), 300),
                )
                .with_label(format!("p{p}")),
            )
        })
    }

    fn uses_catalogue(&self) -> bool {
        self.spec.functions.iter().any(|f| f.agent.is_some())
    }

    /// The `ServiceIntegrationResourceArn` Step Functions publishes the metrics of `lambda:invoke`
    /// tasks under (account-qualified, one series for every such task of the account's state
    /// machines): the tasks' own `LambdaFunction*` metrics exist only for tasks whose `Resource` is
    /// the function's ARN, which the deployed definitions do not use.
    fn lambda_invoke_integration(&self) -> Option<String> {
        let account = self.spec.platform.account_id.as_deref()?;
        Some(alarms::model::arn(
            "states",
            self.region,
            account,
            "lambda:invoke",
        ))
    }
}

/// Every dashboard for `spec`, paginated and validated.
///
/// ```
/// let spec = platform_spec::load(std::path::Path::new(concat!(
///     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/budgetbuddy-prod.toml"
/// ))).unwrap();
/// let ds = dashboards::catalogue::dashboards_for(&spec, &dashboards::catalogue::CatalogueOptions::for_spec(&spec)).unwrap();
/// let names: Vec<_> = ds.iter().map(|d| d.name.as_str()).collect();
/// assert_eq!(names, ["budgetbuddy-prod-overview", "budgetbuddy-prod-data", "budgetbuddy-prod-cost", "budgetbuddy-prod-ecs",
///     "budgetbuddy-prod-compliance"]);
/// ```
///
/// # Errors
/// [`BuildError`] if a generated widget or page breaks a rule — a bug, caught by the tests for every
/// shipped spec.
pub fn dashboards_for(spec: &PlatformSpec, opts: &CatalogueOptions) -> Result<Vec<Dashboard>, BuildError> {
    let ctx = Ctx {
        spec,
        opts,
        region: &spec.platform.region,
        prefix: spec.managed_prefix(),
    };
    let mut builders = vec![overview(&ctx)];
    if !spec.http_apis.is_empty() {
        builders.push(api(&ctx));
    }
    if !spec.functions.is_empty() {
        builders.push(lambda(&ctx));
    }
    if !spec.state_machines.is_empty() {
        builders.push(step_functions(&ctx));
    }
    if !spec.tables.is_empty() || !spec.buckets.is_empty() {
        builders.push(data(&ctx));
    }
    if !spec.bedrock_models.is_empty()
        || ctx.agents().contains(&Agent::Extract)
        || ctx.agents().contains(&Agent::Authenticity)
    {
        builders.push(ai(&ctx));
    }
    if ctx.uses_catalogue() {
        builders.push(agents(&ctx));
    }
    if !spec.budgets.is_empty() {
        builders.push(cost(&ctx));
    }
    if !spec.ecs_services.is_empty() {
        builders.push(ecs(&ctx));
    }
    if !spec.platform.compliance_frameworks.is_empty() {
        builders.push(compliance(&ctx));
    }
    let mut out = Vec::new();
    for b in builders {
        out.extend(b.build_pages()?);
    }
    Ok(out)
}

fn header(ctx: &Ctx<'_>, title: &str, blurb: &str) -> TextWidget {
    let p = &ctx.spec.platform;
    TextWidget::new(format!(
        "# {} {} — {title}\n{blurb} Generated from `infra/platforms/{}.toml`; edits in the console are overwritten.",
        p.name, p.environment, ctx.prefix
    ))
}

/// `IF(den > 0, 100 * num / den, 0)` over two hidden rows.
fn rate(w: MetricWidget, idx: usize, num: Metric, den: Metric, label: &str) -> MetricWidget {
    let (n, d) = (format!("n{idx}"), format!("d{idx}"));
    w.with_metric(num.with_id(&n).hidden())
        .with_metric(den.with_id(&d).hidden())
        .with_expression(
            Expression::new(format!("r{idx}"), format!("IF({d} > 0, 100 * {n} / {d}, 0)")).with_label(label),
        )
}

/// `fns` in groups that fit one metric widget at `entries` entries a function plus `fixed` entries
/// for the widget itself (CloudWatch takes at most
/// [`MAX_METRICS_PER_WIDGET`](crate::validate::MAX_METRICS_PER_WIDGET)), each with its title (`title`,
/// or `title (k/n)` when there is more than one group) and the index of its first function in `fns`;
/// none when `fns` is empty.
fn widget_groups<'f, F>(
    fns: &'f [F],
    title: &str,
    entries: usize,
    fixed: usize,
) -> Vec<(String, usize, &'f [F])> {
    let room = crate::validate::MAX_METRICS_PER_WIDGET.saturating_sub(fixed);
    let per = (room / entries.max(1)).max(1);
    let n = fns.len().div_ceil(per);
    if n == 1 {
        return vec![(title.to_owned(), 0, fns)];
    }
    fns.chunks(per)
        .enumerate()
        .map(|(k, group)| (format!("{title} ({}/{n})", k + 1), k * per, group))
        .collect()
}

fn api_metric(api: &HttpApiSpec, metric: AwsMetric) -> Metric {
    Metric::of(metric)
        .with_dimension(dimension::API_ID, &api.id)
        .with_dimension(dimension::STAGE, &api.stage)
}

/// One route's series: an HTTP API's detailed metrics are published per `Method` and `Resource` (the
/// route's path as written, `/cards/{id}`) beside `ApiId` and `Stage`.
fn route_metric(api: &HttpApiSpec, metric: AwsMetric, route: &RouteSpec) -> Metric {
    api_metric(api, metric)
        .with_dimension(dimension::METHOD, &route.method)
        .with_dimension(dimension::RESOURCE, &route.path)
}

fn lambda_metric(f: &FunctionSpec, metric: AwsMetric) -> Metric {
    Metric::of(metric).with_dimension(dimension::FUNCTION_NAME, &f.name)
}

/// How a row is drawn (legend, colour, axis): the row's own look, or its sum's when it is several.
struct Look {
    label: String,
    color: Option<&'static str>,
    right_axis: bool,
}

impl Look {
    fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            color: None,
            right_axis: false,
        }
    }

    fn with_color(mut self, color: &'static str) -> Self {
        self.color = Some(color);
        self
    }

    fn on_right_axis(mut self) -> Self {
        self.right_axis = true;
        self
    }
}

/// `SUM([FILL(a, 0), FILL(b, 0), …])`: the per-timestamp sum of several series, where a series without
/// a point at a timestamp (a `ModelId` nobody called that minute) counts 0 instead of dropping the sum.
fn sum_filled(ids: &[&str]) -> String {
    let filled: Vec<String> = ids.iter().map(|id| format!("FILL({id}, 0)")).collect();
    format!("SUM([{}])", filled.join(", "))
}

/// The `## Bedrock` heading of a model's rows, naming the `ModelId`s they add up.
fn model_section(model: &BedrockModelSpec) -> String {
    let mut text = format!("## Bedrock: {} (`{}`)", model.label, model.id);
    if !model.aliases.is_empty() {
        let aliases: Vec<String> = model.model_ids().skip(1).map(|a| format!("`{a}`")).collect();
        text.push_str(&format!(
            "\nSummed with its aliases (inference profiles publish a call's metrics under their own `ModelId`): {}",
            aliases.join(", ")
        ));
    }
    text
}

/// `metric` of a Bedrock model as one row of `w`, the way its alarms read it: the `ModelId` row
/// itself where the model has no aliases; otherwise hidden rows `{id}_0`, `{id}_1`… (the model's id,
/// then each alias: AWS/Bedrock publishes a call under the `ModelId` it was made with) and their sum
/// `{id}`, drawn as the row would be.
fn model_row(
    w: MetricWidget,
    model: &BedrockModelSpec,
    metric: AwsMetric,
    id: &str,
    look: Look,
) -> MetricWidget {
    let ids: Vec<&str> = model.model_ids().collect();
    let row = |model_id: &str| Metric::of(metric).with_dimension(dimension::MODEL_ID, model_id);
    if let [only] = ids.as_slice() {
        let mut m = row(only).with_label(look.label);
        if let Some(c) = look.color {
            m = m.with_color(c);
        }
        if look.right_axis {
            m = m.on_right_axis();
        }
        return w.with_metric(m);
    }
    let rows: Vec<String> = (0..ids.len()).map(|k| format!("{id}_{k}")).collect();
    let w = ids.iter().zip(&rows).fold(w, |w, (model_id, row_id)| {
        w.with_metric(row(model_id).with_id(row_id).hidden())
    });
    let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
    let mut sum = Expression::new(id, sum_filled(&refs)).with_label(look.label);
    if let Some(c) = look.color {
        sum = sum.with_color(c);
    }
    if look.right_axis {
        sum = sum.on_right_axis();
    }
    w.with_expression(sum)
}

/// A Bedrock model's p50/p95/p99 invocation latency. Percentiles do not add up, so with aliases each
/// `ModelId` gets its own three lines, labelled with the alias (an ARN's last part).
fn model_latency(w: MetricWidget, model: &BedrockModelSpec) -> MetricWidget {
    let ids: Vec<&str> = model.model_ids().collect();
    let row = |model_id: &str| {
        Metric::of(bedrock::INVOCATION_LATENCY).with_dimension(dimension::MODEL_ID, model_id)
    };
    if let [only] = ids.as_slice() {
        return w.with_percentiles(&row(only));
    }
    ids.iter().fold(w, |w, model_id| {
        let who = model_id.rsplit('/').next().unwrap_or(model_id);
        [50.0, 95.0, 99.0].into_iter().fold(w, |w, p| {
            w.with_metric(
                row(model_id)
                    .with_stat(Stat::Percentile(p))
                    .with_label(format!("{who} p{p}")),
            )
        })
    })
}

/// The color of a line at an alarm's threshold.
const fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => RED,
        Severity::Warning => ORANGE,
    }
}

/// An API's latency percentiles, with a line for each latency alarm it has (none where
/// `latency_alarms = false`).
fn api_latency(w: MetricWidget, api: &HttpApiSpec) -> MetricWidget {
    thresholds::api_latency(api).iter().fold(
        w.with_percentiles_of(&api_metric(api, api_gateway::LATENCY), &API_LATENCY_PERCENTILES),
        |w, rule| {
            w.with_threshold_line(
                rule.threshold_ms,
                format!(
                    "p{} {} {} s",
                    rule.percentile,
                    rule.severity.as_str(),
                    rule.threshold_ms / 1_000.0
                ),
                severity_color(rule.severity),
            )
        },
    )
}

/// The ALB's 5xx rate as its warning alarm computes it (target and load-balancer 5xx over requests and
/// load-balancer 5xx, [`thresholds::ALB_5XX_RATE_EXPRESSION`]) over the alarm's period, with the alarm's line: a target-only
/// rate reads 0 % in the outage the alarm exists for (no healthy target, every request a 502/503).
fn alb_5xx_rate(w: MetricWidget, lb: &LoadBalancerSpec) -> MetricWidget {
    let w = w.with_period(thresholds::ALB_5XX_RATE_PERIOD_S);
    thresholds::alb_5xx_rate_inputs(lb)
        .into_iter()
        .fold(w, |w, input| {
            w.with_metric(
                Metric::from(input.metric)
                    .with_stat(input.stat)
                    .with_id(input.id)
                    .hidden(),
            )
        })
        .with_expression(
            Expression::new("rate", thresholds::ALB_5XX_RATE_EXPRESSION).with_label("5xx % (targets + ALB)"),
        )
        .with_threshold_line(
            thresholds::ALB_5XX_RATE_PERCENT,
            format!("warning {} %", thresholds::ALB_5XX_RATE_PERCENT),
            ORANGE,
        )
}

fn overview(ctx: &Ctx<'_>) -> DashboardBuilder {
    let spec = ctx.spec;
    let mut b = DashboardBuilder::new(ctx.name("overview"))
        .with_start(&ctx.opts.start)
        .with_widget(header(ctx, "Overview", "Is the platform healthy right now?"));
    for (i, chunk) in ctx.opts.alarm_arns.chunks(100).enumerate() {
        let title = if i == 0 {
            "Alarms".to_owned()
        } else {
            format!("Alarms ({})", i + 1)
        };
        b = b.with_widget(AlarmWidget::new(title, chunk.to_vec()));
    }
    b = b.new_row();
    for api in &spec.http_apis {
        b = b.with_widget(
            ctx.widget(&format!("{} requests", api.name))
                .with_metric(api_metric(api, api_gateway::COUNT).with_stat(Stat::Sum)),
        );
        b = b.with_widget(
            rate(
                ctx.widget(&format!("{} 5xx rate (%)", api.name))
                    .with_period(thresholds::RATE_WINDOW_S),
                0,
                api_metric(api, api_gateway::HTTP_5XX),
                api_metric(api, api_gateway::COUNT),
                "5xx %",
            )
            .with_stat(Stat::Sum)
            .with_threshold_line(
                thresholds::API_5XX_RATE_PERCENT,
                format!(
                    "{} {} %",
                    thresholds::api_5xx_severity(api).as_str(),
                    thresholds::API_5XX_RATE_PERCENT
                ),
                severity_color(thresholds::api_5xx_severity(api)),
            ),
        );
        b = b.with_widget(api_latency(
            ctx.widget(&format!("{} latency (ms)", api.name)),
            api,
        ));
    }
    if !spec.functions.is_empty() {
        // One hidden row a function and their `SUM(METRICS())`. Past 499 functions the rows no longer
        // fit one widget, and an expression sees only its own widget's ids, so no one expression can
        // add up every function: each widget then sums its own group (labelled with which functions),
        // and the groups together cover every function exactly once. A `SEARCH` instead would be no
        // better: it returns at most 500 series too, and it matches `FunctionName` by token, so in a
        // shared account it would add other platforms' functions.
        let n = spec.functions.len();
        let total = |title: &str, metric: AwsMetric, what: &str| -> Vec<MetricWidget> {
            let groups = widget_groups(&spec.functions, title, 1, 1);
            let whole = groups.len() == 1;
            groups
                .into_iter()
                .map(|(title, start, group)| {
                    let label = if whole {
                        format!("{what}, all functions")
                    } else {
                        format!("{what}, functions {}–{} of {n}", start + 1, start + group.len())
                    };
                    group
                        .iter()
                        .enumerate()
                        .fold(ctx.widget(&title).with_stat(Stat::Sum), |w, (i, f)| {
                            w.with_metric(
                                lambda_metric(f, metric)
                                    .with_id(format!("m{}", start + i))
                                    .hidden(),
                            )
                        })
                        .with_expression(Expression::new("total", "SUM(METRICS())").with_label(label))
                })
                .collect()
        };
        for w in total("Lambda invocations", lambda::INVOCATIONS, "invocations")
            .into_iter()
            .chain(total("Lambda errors", lambda::ERRORS, "errors"))
        {
            b = b.with_widget(w);
        }
    }
    for sm in &spec.state_machines {
        let m = |n: AwsMetric| Metric::of(n).with_dimension(dimension::STATE_MACHINE_ARN, &sm.arn);
        b = b.with_widget(
            ctx.widget(&format!("{} executions", sm.name))
                .with_stat(Stat::Sum)
                .with_metric(m(states::EXECUTIONS_STARTED).with_label("started"))
                .with_metric(m(states::EXECUTIONS_FAILED).with_label("failed").with_color(RED)),
        );
    }
    // Past 500 DLQs the depth is drawn over several widgets (CloudWatch's limit per widget).
    let dlqs: Vec<_> = spec.dlqs().collect();
    for (title, _, group) in widget_groups(&dlqs, "DLQ depth", 1, 0) {
        let w = group
            .iter()
            .fold(ctx.widget(&title).with_stat(Stat::Maximum), |w, q| {
                w.with_metric(
                    Metric::of(sqs::APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE)
                        .with_dimension(dimension::QUEUE_NAME, &q.name),
                )
            });
        b = b.with_widget(w.with_threshold_line(10.0, "critical > 10", RED));
    }
    for t in &spec.tables {
        let m = |n: AwsMetric| Metric::of(n).with_dimension(dimension::TABLE_NAME, &t.name);
        b = b.with_widget(
            ctx.widget(&format!("{} read/write capacity (units per minute)", t.name))
                .with_stat(Stat::Sum)
                .with_metric(m(dynamodb::CONSUMED_READ_CAPACITY_UNITS).with_label("read"))
                .with_metric(m(dynamodb::CONSUMED_WRITE_CAPACITY_UNITS).with_label("write")),
        );
    }
    if ctx.uses_catalogue() {
        b = b.with_widget(
            ctx.widget("Cards valued")
                .with_period(300)
                .with_stat(Stat::Sum)
                .with_expression(
                    ctx.search(
                        "valued",
                        CustomSearch::new(MetricName::CardsValued, SERVICE, Stat::Sum, 300).sum(),
                    )
                    .with_label("valued"),
                )
                .with_expression(
                    ctx.search(
                        "flagged",
                        CustomSearch::new(MetricName::AuthenticityFlagged, SERVICE, Stat::Sum, 300).sum(),
                    )
                    .with_label("flagged"),
                ),
        );
    }
    for svc in &spec.ecs_services {
        let m = |n: AwsMetric| ecs_metric(svc, n);
        b = b.with_widget(
            ctx.widget(&format!("{} CPU / memory (%)", svc.service))
                .with_stat(Stat::Average)
                .with_metric(m(ecs::CPU_UTILIZATION).with_label("CPU"))
                .with_metric(m(ecs::MEMORY_UTILIZATION).with_label("memory"))
                .with_left_axis(Some(0.0), Some(100.0), Some("%")),
        );
        if let Some(lb) = &svc.load_balancer {
            b = b.with_widget(alb_5xx_rate(
                ctx.widget(&format!("{} 5xx rate (%)", svc.service)),
                lb,
            ));
        }
    }
    if let Some(budget) = spec.budgets.first() {
        let mut spend = MetricWidget::new("Month-to-date spend (USD, account)", BILLING_REGION)
            .with_period(21_600)
            .with_stat(Stat::Maximum)
            .with_metric(
                Metric::of(billing::ESTIMATED_CHARGES)
                    .with_dimension(dimension::CURRENCY, value::USD)
                    .with_label(ctx.spend_label()),
            );
        // Context, as on the cost dashboard: spend pages only at 150 % (seed 000), drawn there.
        if ctx.compares_budget_with_account(budget) {
            spend = spend.with_threshold_line(
                decimal_to_f64(budget.limit_usd),
                format!("budget {}", budget.name),
                GREY,
            );
        }
        b = b.with_widget(spend);
    }
    b
}

fn decimal_to_f64(d: rust_decimal::Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

fn api(ctx: &Ctx<'_>) -> DashboardBuilder {
    let mut b = DashboardBuilder::new(ctx.name("api"))
        .with_start(&ctx.opts.start)
        .with_widget(header(
            ctx,
            "API performance",
            "HTTP API errors, latency and traffic by route.",
        ));
    for api in &ctx.spec.http_apis {
        b = b.with_section(format!("## {} (`{}`, stage `{}`)", api.name, api.id, api.stage));
        b = b.with_widget(
            rate(
                rate(
                    ctx.widget("Error rates (%)")
                        .with_period(thresholds::RATE_WINDOW_S),
                    0,
                    api_metric(api, api_gateway::HTTP_4XX),
                    api_metric(api, api_gateway::COUNT),
                    "4xx %",
                ),
                1,
                api_metric(api, api_gateway::HTTP_5XX),
                api_metric(api, api_gateway::COUNT),
                "5xx %",
            )
            .with_stat(Stat::Sum)
            .with_threshold_line(
                thresholds::API_5XX_RATE_PERCENT,
                format!(
                    "5xx {} {} %",
                    thresholds::api_5xx_severity(api).as_str(),
                    thresholds::API_5XX_RATE_PERCENT
                ),
                severity_color(thresholds::api_5xx_severity(api)),
            ),
        );
        b = b.with_widget(api_latency(ctx.widget("Latency (ms)"), api));
        b = b.with_widget(
            ctx.widget("Integration latency (ms)")
                .with_percentiles(&api_metric(api, api_gateway::INTEGRATION_LATENCY)),
        );
        // One widget per 500 routes (CloudWatch's limit per widget).
        let by_route = |title: &str, metric: AwsMetric, routes: &[&RouteSpec]| {
            widget_groups(routes, title, 1, 0)
                .into_iter()
                .map(|(title, _, group)| {
                    group.iter().fold(
                        ctx.widget(&title).with_stat(Stat::Sum).stacked().with_size(12, 6),
                        |w, r| w.with_metric(route_metric(api, metric, r).with_label(r.route_key())),
                    )
                })
                .collect::<Vec<_>>()
        };
        let routes: Vec<&RouteSpec> = api.routes.iter().collect();
        for w in by_route("Requests by route", api_gateway::COUNT, &routes) {
            b = b.with_widget(w);
        }
        for w in by_route("5xx by route", api_gateway::HTTP_5XX, &routes) {
            b = b.with_widget(w);
        }
        let jwt: Vec<&RouteSpec> = api.routes.iter().filter(|r| r.auth == RouteAuth::Jwt).collect();
        for w in by_route(
            "4xx on JWT routes (authorizer rejections are 401s)",
            api_gateway::HTTP_4XX,
            &jwt,
        ) {
            b = b.with_widget(w.with_size(24, 6));
        }
    }
    b
}

fn lambda(ctx: &Ctx<'_>) -> DashboardBuilder {
    let fns = &ctx.spec.functions;
    let mut b = DashboardBuilder::new(ctx.name("lambda"))
        .with_start(&ctx.opts.start)
        .with_widget(header(
            ctx,
            "Lambda performance",
            "Every function: traffic, errors, duration, throttles, cold starts.",
        ));
    // One line per function; more functions than a widget holds go to as many widgets as needed.
    let all = |title: &str, metric: AwsMetric, stat: Stat| -> Vec<MetricWidget> {
        widget_groups(fns, title, 1, 0)
            .into_iter()
            .map(|(title, _, group)| {
                group
                    .iter()
                    .fold(ctx.widget(&title).with_stat(stat).with_size(12, 6), |w, f| {
                        w.with_metric(lambda_metric(f, metric).with_label(f.id.clone()))
                    })
            })
            .collect()
    };
    for w in all("Invocations", lambda::INVOCATIONS, Stat::Sum) {
        b = b.with_widget(w.stacked());
    }
    // The line is the `errors` composite's rate input: its severity follows each function's tier.
    let mut severities: Vec<Severity> = fns.iter().map(thresholds::lambda_errors_severity).collect();
    severities.sort_unstable();
    severities.dedup();
    if let Some(&worst) = severities.first() {
        let words: Vec<&str> = severities.iter().map(|s| s.as_str()).collect();
        // Three entries a function (errors, invocations, the rate).
        for (title, _, group) in widget_groups(fns, "Error rate (%)", 3, 0) {
            let rates = group.iter().enumerate().fold(
                ctx.widget(&title)
                    .with_period(thresholds::RATE_WINDOW_S)
                    .with_stat(Stat::Sum)
                    .with_size(12, 6),
                |w, (i, f)| {
                    rate(
                        w,
                        i,
                        lambda_metric(f, lambda::ERRORS),
                        lambda_metric(f, lambda::INVOCATIONS),
                        &f.id,
                    )
                },
            );
            b = b.with_widget(rates.with_threshold_line(
                thresholds::LAMBDA_ERROR_RATE_PERCENT,
                format!(
                    "{} {} %",
                    words.join(" / "),
                    thresholds::LAMBDA_ERROR_RATE_PERCENT
                ),
                severity_color(worst),
            ));
        }
    }
    for (title, metric, stat) in [
        ("Duration p95 (ms)", lambda::DURATION, Stat::Percentile(95.0)),
        ("Throttles", lambda::THROTTLES, Stat::Sum),
        (
            "Concurrent executions (max)",
            lambda::CONCURRENT_EXECUTIONS,
            Stat::Maximum,
        ),
    ] {
        for w in all(title, metric, stat) {
            b = b.with_widget(w);
        }
    }
    let rust: Vec<&FunctionSpec> = fns.iter().filter(|f| f.runtime.starts_with("provided")).collect();
    for (title, _, group) in widget_groups(&rust, "Cold starts", 1, 0) {
        let w = group.iter().fold(
            ctx.widget(&title).with_stat(Stat::Sum).with_size(12, 6),
            |w, f| {
                w.with_metric(
                    Metric::custom(MetricName::ColdStart)
                        .with_custom_dimension(DimensionKey::Service, ctx.opts.service_naming.service_for(f))
                        .with_custom_dimension(DimensionKey::FunctionName, &f.name)
                        .with_label(f.id.clone()),
                )
            },
        );
        b = b.with_widget(w);
    }
    b = b.with_section(if fns.iter().any(|f| thresholds::near_timeout_ms(f).is_some()) {
        "## Duration per function (p50 / p95 / p99 and the maximum, which the warning line at 90 % of the timeout is on)"
    } else {
        "## Duration per function (p50 / p95 / p99)"
    });
    for f in fns {
        let mut w = ctx
            .widget(&format!("{} duration (ms)", f.id))
            .with_percentiles(&lambda_metric(f, lambda::DURATION))
            .with_size(6, 5);
        if let Some(near_timeout) = thresholds::near_timeout_ms(f) {
            // The alarm reads the Maximum: one slow invocation fires it, and shows here.
            w = w
                .with_metric(
                    lambda_metric(f, lambda::DURATION)
                        .with_stat(Stat::Maximum)
                        .with_label("max"),
                )
                .with_threshold_line(near_timeout, "warning 90 % of timeout (max)", ORANGE);
        }
        b = b.with_widget(w);
    }
    // The governance Lambdas beside the platform (`[governance] functions`): what their error alarms
    // read, so a page about one is answered here.
    let governance = &ctx.spec.governance.functions;
    if !governance.is_empty() {
        let per_function = |title: &str, metric: AwsMetric| {
            governance
                .iter()
                .fold(ctx.widget(title).with_stat(Stat::Sum).with_size(12, 6), |w, g| {
                    w.with_metric(
                        Metric::of(metric)
                            .with_dimension(dimension::FUNCTION_NAME, ctx.spec.governance_function_name(g))
                            .with_label(g.clone()),
                    )
                })
        };
        b = b
            .with_section("## Governance functions (their errors page on-call: the watcher is watched)")
            .with_widget(per_function("Governance invocations", lambda::INVOCATIONS))
            .with_widget(per_function("Governance errors", lambda::ERRORS));
    }
    b
}

fn step_functions(ctx: &Ctx<'_>) -> DashboardBuilder {
    let spec = ctx.spec;
    let mut b = DashboardBuilder::new(ctx.name("stepfunctions"))
        .with_start(&ctx.opts.start)
        .with_widget(header(
            ctx,
            "Step Functions",
            "Executions, duration, task metrics and dead letters.",
        ));
    for sm in &spec.state_machines {
        let m = |n: AwsMetric| Metric::of(n).with_dimension(dimension::STATE_MACHINE_ARN, &sm.arn);
        b = b.with_section(format!("## {}", sm.name));
        b = b.with_widget(
            ctx.widget("Executions by status")
                .with_stat(Stat::Sum)
                .with_metric(m(states::EXECUTIONS_STARTED).with_label("started"))
                .with_metric(m(states::EXECUTIONS_SUCCEEDED).with_label("succeeded"))
                .with_metric(m(states::EXECUTIONS_FAILED).with_label("failed").with_color(RED))
                .with_metric(
                    m(states::EXECUTIONS_TIMED_OUT)
                        .with_label("timed out")
                        .with_color(ORANGE),
                )
                .with_metric(
                    m(states::EXECUTIONS_ABORTED)
                        .with_label("aborted")
                        .with_color(GREY),
                )
                .with_metric(m(states::EXECUTION_THROTTLED).with_label("throttled")),
        );
        // The paging alarm's expression: failed and timed-out executions over started ones (an
        // execution past its timeout never reaches ErrorHandler).
        b = b.with_widget(
            ctx.widget("Failure rate (%)")
                .with_metric(m(states::EXECUTIONS_FAILED).with_id("failed").hidden())
                .with_metric(m(states::EXECUTIONS_TIMED_OUT).with_id("timedout").hidden())
                .with_metric(m(states::EXECUTIONS_STARTED).with_id("started").hidden())
                .with_expression(
                    Expression::new(
                        "rate",
                        "IF(started > 0, 100 * (FILL(failed, 0) + FILL(timedout, 0)) / started, 0)",
                    )
                    .with_label("failed or timed out %"),
                )
                .with_stat(Stat::Sum)
                .with_period(900)
                .with_threshold_line(10.0, "critical 10 %", RED),
        );
        // The warning alarm reads p90 (seed 000: "Step Functions duration > 30 seconds"): drawn with it.
        b = b.with_widget(
            ctx.widget("Duration (ms)")
                .with_period(thresholds::SFN_DURATION_PERIOD_S)
                .with_percentiles_of(&m(states::EXECUTION_TIME), &[50.0, 90.0, 95.0, 99.0])
                .with_threshold_line(
                    f64::from(sm.expected_duration_s) * 1_000.0,
                    "warning p90 above expected",
                    ORANGE,
                ),
        );
    }
    // `lambda:invoke` tasks (infra's definitions): Step Functions publishes them per integration, not
    // per function or state machine — one series for the account, shown once; per-function errors and
    // durations are on the Lambda dashboard.
    let has_lambda_tasks = spec
        .state_machines
        .iter()
        .any(|sm| sm.tasks.iter().any(|t| spec.function(t).is_some()));
    if let (true, Some(arn)) = (has_lambda_tasks, ctx.lambda_invoke_integration()) {
        let task =
            |n: AwsMetric| Metric::of(n).with_dimension(dimension::SERVICE_INTEGRATION_RESOURCE_ARN, &arn);
        b = b.with_section("## Lambda tasks (every state machine of the account)");
        b = b.with_widget(
            ctx.widget("Lambda task failures")
                .with_stat(Stat::Sum)
                .with_size(12, 6)
                .with_metric(task(states::SERVICE_INTEGRATIONS_FAILED).with_label("failed"))
                .with_metric(task(states::SERVICE_INTEGRATIONS_TIMED_OUT).with_label("timed out")),
        );
        b = b.with_widget(
            ctx.widget("Lambda task run time (ms)")
                .with_size(12, 6)
                .with_percentiles(&task(states::SERVICE_INTEGRATION_RUN_TIME)),
        );
    }
    if spec.dlqs().next().is_some() {
        b = b.with_section("## Dead-letter queues");
        for q in spec.dlqs() {
            let m = |n: AwsMetric| Metric::of(n).with_dimension(dimension::QUEUE_NAME, &q.name);
            b = b.with_widget(
                ctx.widget(&format!("{} depth", q.name))
                    .with_metric(
                        m(sqs::APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE)
                            .with_stat(Stat::Maximum)
                            .with_label("visible"),
                    )
                    .with_metric(
                        m(sqs::APPROXIMATE_AGE_OF_OLDEST_MESSAGE)
                            .with_stat(Stat::Maximum)
                            .with_label("oldest (s)")
                            .on_right_axis(),
                    )
                    .with_threshold_line(10.0, "critical > 10", RED)
                    .with_size(12, 6),
            );
        }
    }
    b
}

fn data(ctx: &Ctx<'_>) -> DashboardBuilder {
    let spec = ctx.spec;
    let mut b = DashboardBuilder::new(ctx.name("data"))
        .with_start(&ctx.opts.start)
        .with_widget(header(
            ctx,
            "Data layer",
            "DynamoDB capacity, throttles and latency; S3 storage and requests.",
        ));
    for t in &spec.tables {
        let m = |n: AwsMetric| Metric::of(n).with_dimension(dimension::TABLE_NAME, &t.name);
        let gsi = |n: AwsMetric, g: &str| m(n).with_dimension(dimension::GLOBAL_SECONDARY_INDEX_NAME, g);
        b = b.with_section(format!("## Table `{}`", t.name));
        let mut capacity = ctx
            .widget("Consumed capacity (units)")
            .with_stat(Stat::Sum)
            .with_metric(m(dynamodb::CONSUMED_READ_CAPACITY_UNITS).with_label("table read"))
            .with_metric(m(dynamodb::CONSUMED_WRITE_CAPACITY_UNITS).with_label("table write"));
        let mut throttles = ctx
            .widget("Throttle events")
            .with_stat(Stat::Sum)
            .with_metric(m(dynamodb::READ_THROTTLE_EVENTS).with_label("table read"))
            .with_metric(m(dynamodb::WRITE_THROTTLE_EVENTS).with_label("table write"));
        for g in &t.gsis {
            capacity = capacity
                .with_metric(
                    gsi(dynamodb::CONSUMED_READ_CAPACITY_UNITS, &g.name)
                        .with_label(format!("{} read", g.name)),
                )
                .with_metric(
                    gsi(dynamodb::CONSUMED_WRITE_CAPACITY_UNITS, &g.name)
                        .with_label(format!("{} write", g.name)),
                );
            throttles = throttles
                .with_metric(
                    gsi(dynamodb::READ_THROTTLE_EVENTS, &g.name).with_label(format!("{} read", g.name)),
                )
                .with_metric(
                    gsi(dynamodb::WRITE_THROTTLE_EVENTS, &g.name).with_label(format!("{} write", g.name)),
                );
        }
        b = b.with_widget(capacity).with_widget(throttles);
        let per_op = |title: &str, metric: AwsMetric, stat: Stat| {
            DDB_OPERATIONS
                .iter()
                .fold(ctx.widget(title).with_stat(stat), |w, op| {
                    w.with_metric(
                        m(metric)
                            .with_dimension(dimension::OPERATION, *op)
                            .with_label(*op),
                    )
                })
        };
        // DynamoDB publishes SuccessfulRequestLatency with Minimum, Maximum, Sum, Average and
        // SampleCount only: a percentile of it draws nothing.
        b = b.with_widget(per_op(
            "Latency (average) by operation (ms)",
            dynamodb::SUCCESSFUL_REQUEST_LATENCY,
            Stat::Average,
        ));
        b = b.with_widget(
            per_op(
                "Throttled requests by operation",
                dynamodb::THROTTLED_REQUESTS,
                Stat::Sum,
            )
            .with_size(12, 6),
        );
        b = b.with_widget(
            per_op("System errors by operation", dynamodb::SYSTEM_ERRORS, Stat::Sum).with_size(12, 6),
        );
    }
    for bucket in &spec.buckets {
        let storage = |n: AwsMetric, st: &str| {
            Metric::of(n)
                .with_dimension(dimension::BUCKET_NAME, &bucket.name)
                .with_dimension(dimension::STORAGE_TYPE, st)
        };
        let req = |n: AwsMetric| {
            Metric::of(n)
                .with_dimension(dimension::BUCKET_NAME, &bucket.name)
                .with_dimension(dimension::FILTER_ID, &ctx.opts.s3_request_filter_id)
        };
        b = b.with_section(format!("## Bucket `{}`", bucket.name));
        // Arithmetic counts a missing point as 0: the sum holds before any object reaches a tier.
        let total: Vec<&str> = UPLOAD_STORAGE_TIERS.iter().map(|t| t.id).collect();
        let size = UPLOAD_STORAGE_TIERS.iter().fold(
            ctx.widget("Size and objects (daily)")
                .with_period(86_400)
                .with_stat(Stat::Average),
            |w, t| {
                w.with_metric(
                    storage(s3::BUCKET_SIZE_BYTES, t.storage_type)
                        .with_id(t.id)
                        .hidden(),
                )
            },
        );
        b = b.with_widget(
            size.with_expression(
                Expression::new("bytes", total.join(" + "))
                    .with_label("bytes (Standard + Intelligent-Tiering)"),
            )
            .with_metric(
                storage(s3::NUMBER_OF_OBJECTS, value::ALL_STORAGE_TYPES)
                    .with_label("objects")
                    .on_right_axis(),
            ),
        );
        b = b.with_widget(
            ctx.widget(&format!(
                "Requests (metrics filter `{}`)",
                ctx.opts.s3_request_filter_id
            ))
            .with_stat(Stat::Sum)
            .with_metric(req(s3::GET_REQUESTS).with_label("GET"))
            .with_metric(req(s3::PUT_REQUESTS).with_label("PUT"))
            .with_metric(req(s3::ERRORS_4XX).with_label("4xx").with_color(ORANGE))
            .with_metric(req(s3::ERRORS_5XX).with_label("5xx").with_color(RED)),
        );
        // Seed 001 "Data Layer Dashboard": "S3 upload volume", beside the GET/PUT request count.
        b = b.with_widget(
            ctx.widget("Upload volume (bytes)")
                .with_stat(Stat::Sum)
                .with_metric(req(s3::BYTES_UPLOADED).with_label("uploaded"))
                .with_metric(req(s3::BYTES_DOWNLOADED).with_label("downloaded")),
        );
        b = b.with_widget(
            ctx.widget("Request latency p95 (ms)")
                .with_metric(
                    req(s3::FIRST_BYTE_LATENCY)
                        .with_stat(Stat::Percentile(95.0))
                        .with_label("first byte"),
                )
                .with_metric(
                    req(s3::TOTAL_REQUEST_LATENCY)
                        .with_stat(Stat::Percentile(95.0))
                        .with_label("total"),
                ),
        );
    }
    b
}

fn ai(ctx: &Ctx<'_>) -> DashboardBuilder {
    let spec = ctx.spec;
    let mut b = DashboardBuilder::new(ctx.name("ai"))
        .with_start(&ctx.opts.start)
        .with_widget(header(
            ctx,
            "AI services",
            "Rekognition and Bedrock: calls, tokens, latency, throttles; the authenticity scores they produce.",
        ));
    if ctx.agents().contains(&Agent::Extract) {
        b = b.with_section("## Rekognition");
        let rk = |n: AwsMetric, op: &str| Metric::of(n).with_dimension(dimension::OPERATION, op);
        let calls = REKOGNITION_OPERATIONS.iter().enumerate().fold(
            ctx.widget("Calls (ours vs AWS)").with_stat(Stat::Sum),
            |w, (i, op)| {
                w.with_expression(
                    ctx.search(
                        &format!("calls{i}"),
                        CustomSearch::new(
                            MetricName::RekognitionCalls,
                            &[DimensionKey::Service, DimensionKey::Operation],
                            Stat::Sum,
                            60,
                        )
                        .filter(DimensionKey::Operation, *op)
                        .sum(),
                    )
                    .with_label(format!("{op} (emitted)")),
                )
                .with_metric(
                    rk(rekognition::SUCCESSFUL_REQUEST_COUNT, op).with_label(format!("{op} succeeded")),
                )
            },
        );
        let latency = REKOGNITION_OPERATIONS.iter().fold(
            ctx.widget("Response time (ms)").with_stat(Stat::Average),
            |w, op| w.with_metric(rk(rekognition::RESPONSE_TIME, op).with_label(*op)),
        );
        let errors = REKOGNITION_OPERATIONS.iter().fold(
            ctx.widget("Throttles and errors").with_stat(Stat::Sum),
            |w, op| {
                w.with_metric(
                    rk(rekognition::THROTTLED_COUNT, op)
                        .with_label(format!("{op} throttled"))
                        .with_color(ORANGE),
                )
                .with_metric(
                    rk(rekognition::SERVER_ERROR_COUNT, op)
                        .with_label(format!("{op} server errors"))
                        .with_color(RED),
                )
            },
        );
        b = b.with_widget(calls).with_widget(latency).with_widget(errors);
    }
    for model in &spec.bedrock_models {
        b = b.with_section(model_section(model));
        b = b.with_widget(model_row(
            ctx.widget("Invocations").with_stat(Stat::Sum),
            model,
            bedrock::INVOCATIONS,
            "invocations",
            Look::new("invocations"),
        ));
        let tokens = model_row(
            ctx.widget("Tokens").with_stat(Stat::Sum),
            model,
            bedrock::INPUT_TOKEN_COUNT,
            "input",
            Look::new("input"),
        );
        b = b.with_widget(model_row(
            tokens,
            model,
            bedrock::OUTPUT_TOKEN_COUNT,
            "output",
            Look::new("output").on_right_axis(),
        ));
        b = b.with_widget(model_latency(ctx.widget("Invocation latency (ms)"), model));
        let errors = [
            (bedrock::INVOCATION_THROTTLES, "throttled", "throttled", ORANGE),
            (bedrock::INVOCATION_CLIENT_ERRORS, "client", "client errors", GREY),
            (bedrock::INVOCATION_SERVER_ERRORS, "server", "server errors", RED),
        ]
        .into_iter()
        .fold(
            ctx.widget("Throttles and errors (throttles are not counted in invocations)")
                .with_stat(Stat::Sum),
            |w, (metric, id, label, color)| {
                model_row(w, model, metric, id, Look::new(label).with_color(color))
            },
        );
        b = b.with_widget(errors.with_size(24, 6));
    }
    if ctx.agents().contains(&Agent::Authenticity) {
        // Seed 001 "CloudWatch Dashboards" lists "Authenticity score distribution" under the AI Services
        // Dashboard; the agents dashboard draws it as well, for seed 000's "Authenticity Agent accuracy".
        b = b.with_section("## Authenticity").with_widget(ctx.distribution(
            MetricName::AuthenticityScore,
            "Authenticity score distribution",
            &[10.0, 50.0, 90.0],
            true,
        ));
    }
    b
}

fn agents(ctx: &Ctx<'_>) -> DashboardBuilder {
    use DimensionKey::{Agent as A, Model as M, Service as S};
    let mut b = DashboardBuilder::new(ctx.name("agents"))
        .with_start(&ctx.opts.start)
        .with_widget(header(
            ctx,
            "Agent performance",
            "How long each agent takes, how sure it is, what it spends.",
        ));
    for p in [50.0, 95.0, 99.0] {
        let stat = Stat::Percentile(p);
        b = b.with_widget(
            ctx.widget(&format!("Agent duration {stat} (ms)"))
                .with_expression(
                    ctx.search(
                        "d",
                        CustomSearch::new(MetricName::AgentDuration, &[S, A], stat, 60),
                    )
                    .with_label(BY_AGENT),
                ),
        );
    }
    let dist = |metric, title: &str, percentiles: &[f64], unit_range| {
        ctx.distribution(metric, title, percentiles, unit_range)
    };
    b = b
        .with_widget(dist(
            MetricName::AuthenticityScore,
            "Authenticity score distribution",
            &[10.0, 50.0, 90.0],
            true,
        ))
        .with_widget(dist(
            MetricName::PricingConfidence,
            "Pricing confidence distribution",
            &[10.0, 50.0, 90.0],
            true,
        ))
        .with_widget(
            // Seed 000's Business Metrics: "Average valuation time" beside the percentiles.
            dist(
                MetricName::ValuationLatency,
                "Valuation latency (ms)",
                &[50.0, 95.0],
                false,
            )
            .with_expression(
                ctx.search(
                    "avg",
                    CustomSearch::new(
                        MetricName::ValuationLatency,
                        &[DimensionKey::Service],
                        Stat::Average,
                        300,
                    ),
                )
                .with_label("average"),
            ),
        );
    if ctx.agents().contains(&Agent::Extract) || ctx.agents().contains(&Agent::OcrReasoning) {
        // Seed 000's Agent Performance dashboard: "OCR Reasoning Agent confidence" — how sure the OCR was
        // of the text the reasoning starts from (`rekognition_extract`, the `extract` agent, records it
        // per card).
        b = b.with_widget(dist(
            MetricName::OcrConfidence,
            "OCR confidence distribution",
            &[10.0, 50.0, 90.0],
            true,
        ));
    }
    if !ctx.spec.bedrock_models.is_empty() {
        let per_pair = |title: &str, metric: MetricName, stat: Stat| {
            ctx.widget(title).with_size(12, 6).with_expression(
                ctx.search("t", CustomSearch::new(metric, &[S, A, M], stat, 60))
                    .with_label(BY_AGENT_MODEL),
            )
        };
        b = b
            .with_section("## Bedrock per agent and model")
            .with_widget(per_pair("Input tokens", MetricName::BedrockInputTokens, Stat::Sum).stacked())
            .with_widget(per_pair("Output tokens", MetricName::BedrockOutputTokens, Stat::Sum).stacked())
            .with_widget(per_pair(
                "Cache-read tokens",
                MetricName::BedrockCacheReadTokens,
                Stat::Sum,
            ))
            .with_widget(per_pair(
                "Bedrock latency p95 (ms)",
                MetricName::BedrockLatency,
                Stat::Percentile(95.0),
            ));
    }
    b
}

fn cost(ctx: &Ctx<'_>) -> DashboardBuilder {
    let spec = ctx.spec;
    let billing = |w: &str| MetricWidget::new(w, BILLING_REGION).with_period(86_400);
    let total = || Metric::of(billing::ESTIMATED_CHARGES).with_dimension(dimension::CURRENCY, value::USD);
    let mut b = DashboardBuilder::new(ctx.name("cost"))
        .with_start(&ctx.opts.cost_start)
        .with_widget(header(
            ctx,
            "Cost",
            "AWS/Billing EstimatedCharges is month-to-date and account-wide (us-east-1 only, needs billing alerts on).",
        ));
    let compared: Vec<&BudgetSpec> = spec
        .budgets
        .iter()
        .filter(|b| ctx.compares_budget_with_account(b))
        .collect();
    let title = if compared.is_empty() {
        "Month-to-date spend, whole account (USD)"
    } else {
        "Month-to-date spend vs budget (USD)"
    };
    let mut vs_budget = billing(title)
        .with_period(21_600)
        .with_stat(Stat::Maximum)
        .with_metric(total().with_label(ctx.spend_label()))
        .with_size(12, 6);
    // Only thresholds something acts on: the budget's own notices (AWS Budgets, e.g. seed 003's 80 % and
    // 100 %) and the billing alarms the platform has (none where `billing_alarms = false`).
    for budget in compared {
        let share = |pct: u32| thresholds::share_of_limit_usd(budget, pct);
        vs_budget = vs_budget.with_threshold_line(share(100), format!("budget {}", budget.name), GREY);
        for &pct in budget.actual_thresholds_percent.iter().filter(|&&p| p != 100) {
            vs_budget = vs_budget.with_threshold_line(share(pct), format!("{pct} % (budget notice)"), GREY);
        }
        for rule in thresholds::billing_alarms(spec, budget).iter().rev() {
            vs_budget = vs_budget.with_threshold_line(
                share(rule.percent),
                format!("{} % ({})", rule.percent, rule.severity.as_str()),
                severity_color(rule.severity),
            );
        }
    }
    b = b.with_widget(vs_budget);
    b = b.with_widget(
        billing("Daily spend with anomaly band (USD)")
            .with_stat(Stat::Maximum)
            .with_metric(total().with_id("mtd").hidden())
            .with_expression(Expression::new("daily", DAILY_SPEND).with_label("daily spend"))
            .with_expression(
                Expression::new("band", "ANOMALY_DETECTION_BAND(daily, 2)").with_label("expected"),
            )
            .with_size(12, 6),
    );
    // Each service's day-over-day difference, except the day the month restarts (it would be minus last
    // month's total): that day is drawn whole, all services together.
    b = b.with_widget(
        billing("Daily spend by service (USD)")
            .with_stat(Stat::Maximum)
            .with_metric(total().with_id("mtd").hidden())
            .with_expression(Expression::new("keep", NOT_RESTART_DAY).hidden())
            .with_expression(Expression::new(
                "byservice",
                format!(
                    "DIFF(SEARCH('{{{},{},{}}} MetricName=\"{}\" {}=\"{}\"', 'Maximum', 86400)) / keep",
                    billing::ESTIMATED_CHARGES.namespace,
                    dimension::CURRENCY,
                    dimension::SERVICE_NAME,
                    billing::ESTIMATED_CHARGES.name,
                    dimension::CURRENCY,
                    value::USD
                ),
            ))
            .with_expression(
                Expression::new("restart", RESTART_DAY_SPEND).with_label("all services (month restarted)"),
            )
            .stacked()
            .with_size(24, 6),
    );
    if ctx.uses_catalogue() {
        // In the platform's region (SEARCH reads the widget's region); the billing row crosses to us-east-1.
        let mut per_valuation = MetricWidget::new("Spend per valuation (USD)", ctx.region)
            .with_period(86_400)
            .with_stat(Stat::Maximum)
            .with_metric(billing_row(ctx, total().with_id("mtd").hidden()))
            .with_expression(
                ctx.search(
                    "valued",
                    CustomSearch::new(MetricName::CardsValued, SERVICE, Stat::Sum, 86_400).sum(),
                )
                .hidden(),
            )
            .with_expression(Expression::new("daily", DAILY_SPEND).hidden())
            .with_expression(
                Expression::new("per", "IF(valued > 0, daily / valued, 0)").with_label("$ per valuation"),
            )
            .with_size(12, 6);
        if let Some(model) = &spec.cost.design_model
            && model.valuations_per_month > 0
        {
            let design = decimal_to_f64(model.total_usd()) / model.valuations_per_month as f64;
            per_valuation = per_valuation.with_threshold_line(design, "design model", GREY);
        }
        b = b.with_widget(per_valuation);
        let tokens = spec.bedrock_models.iter().enumerate().fold(
            ctx.widget("Bedrock tokens per day (cost driver)")
                .with_period(86_400)
                .with_stat(Stat::Sum)
                .with_size(12, 6),
            |w, (i, m)| {
                let w = model_row(
                    w,
                    m,
                    bedrock::INPUT_TOKEN_COUNT,
                    &format!("in{i}"),
                    Look::new(format!("{} input", m.label)),
                );
                model_row(
                    w,
                    m,
                    bedrock::OUTPUT_TOKEN_COUNT,
                    &format!("out{i}"),
                    Look::new(format!("{} output", m.label)),
                )
            },
        );
        if !spec.bedrock_models.is_empty() {
            b = b.with_widget(tokens);
        }
        b = business(ctx, b);
    }
    optimization(ctx, b)
}

/// Seed 000's "Business Metrics", per day over the cost dashboard's 30 days (beside what a valuation
/// costs): cards processed per day and user engagement (cards created, valued, deleted), and the
/// authenticity detection rate (the share of valued cards flagged as possibly fake). Average valuation
/// time is on the agents dashboard, beside its percentiles; API usage by endpoint on the API dashboard.
fn business(ctx: &Ctx<'_>, b: DashboardBuilder) -> DashboardBuilder {
    let daily = |id: &str, metric: MetricName| {
        ctx.search(id, CustomSearch::new(metric, SERVICE, Stat::Sum, 86_400).sum())
    };
    let cards = ctx
        .widget("Cards per day: created, valued, deleted")
        .with_period(86_400)
        .with_stat(Stat::Sum)
        .with_expression(daily("created", MetricName::CardsCreated).with_label("created (uploads)"))
        .with_expression(daily("valued", MetricName::CardsValued).with_label("valued"))
        .with_expression(daily("deleted", MetricName::CardsDeleted).with_label("deleted"))
        .with_size(12, 6);
    let detection = ctx
        .widget("Authenticity detection rate (% of valued cards flagged, per day)")
        .with_period(86_400)
        .with_stat(Stat::Sum)
        .with_expression(daily("valued", MetricName::CardsValued).hidden())
        .with_expression(daily("flagged", MetricName::AuthenticityFlagged).hidden())
        .with_expression(
            Expression::new("rate", "IF(valued > 0, 100 * flagged / valued, 0)").with_label("flagged %"),
        )
        .with_left_axis(Some(0.0), None, Some("%"))
        .with_size(12, 6);
    b.with_section("## Business metrics (seed 000)")
        .with_widget(cards)
        .with_widget(detection)
}

/// Seed 000's Cost Dashboard lists "Optimization opportunities"; its "Cost Optimization Strategies" say
/// where they are (seed 003's Cost Dashboard: "Resource utilization and costs"). Each widget shows the
/// number a strategy acts on, from metrics that exist; the text names only what the platform runs (no
/// Lambda or Bedrock advice on an ECS service's dashboard).
fn optimization(ctx: &Ctx<'_>, mut b: DashboardBuilder) -> DashboardBuilder {
    let spec = ctx.spec;
    let daily = |title: &str| ctx.widget(title).with_period(86_400).with_size(12, 6);
    b = b.with_section(optimization_text(spec));
    if !spec.functions.is_empty() {
        // GB-seconds = Σ duration (s) × memory (GB): what Lambda bills besides requests. Two entries a
        // function (its hidden duration and its GB-seconds), so past 250 functions the rows go to
        // several widgets; each function's expression reads only its own `d{i}`, in its own widget.
        // Stacked, a widget's top is its group's GB-seconds, not every function's: an expression
        // cannot read another widget's rows.
        let title = "Lambda GB-seconds per day by function (right-size memory)";
        for (title, start, group) in widget_groups(&spec.functions, title, 2, 0) {
            let w = group
                .iter()
                .enumerate()
                .fold(daily(&title).with_stat(Stat::Sum), |w, (j, f)| {
                    let i = start + j;
                    let gb = f64::from(f.memory_mb) / 1024.0;
                    w.with_metric(
                        lambda_metric(f, lambda::DURATION)
                            .with_id(format!("d{i}"))
                            .hidden(),
                    )
                    .with_expression(
                        Expression::new(format!("gbs{i}"), format!("d{i} / 1000 * {gb}"))
                            .with_label(format!("{} ({} MB)", f.id, f.memory_mb)),
                    )
                });
            b = b.with_widget(w.stacked());
        }
    }
    if ctx.uses_catalogue() && !spec.bedrock_models.is_empty() {
        // Every model's input tokens under every ModelId it publishes under (its aliases').
        let inputs: Vec<(String, &str)> = spec
            .bedrock_models
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                let ids: Vec<&str> = m.model_ids().collect();
                let one = ids.len() == 1;
                ids.into_iter().enumerate().map(move |(k, model_id)| {
                    let id = if one {
                        format!("in{i}")
                    } else {
                        format!("in{i}_{k}")
                    };
                    (id, model_id)
                })
            })
            .collect();
        let mut w = inputs.iter().fold(
            daily("Bedrock input tokens per valuation (prompt length)").with_stat(Stat::Sum),
            |w, (id, model_id)| {
                w.with_metric(
                    Metric::of(bedrock::INPUT_TOKEN_COUNT)
                        .with_dimension(dimension::MODEL_ID, *model_id)
                        .with_id(id)
                        .hidden(),
                )
            },
        );
        let ids: Vec<&str> = inputs.iter().map(|(id, _)| id.as_str()).collect();
        let sum = match ids.as_slice() {
            [one] => (*one).to_owned(),
            many => sum_filled(many),
        };
        w = w
            .with_expression(
                ctx.search(
                    "valued",
                    CustomSearch::new(MetricName::CardsValued, SERVICE, Stat::Sum, 86_400).sum(),
                )
                .hidden(),
            )
            .with_expression(
                Expression::new("per", format!("IF(valued > 0, ({sum}) / valued, 0)"))
                    .with_label("input tokens per valuation"),
            );
        if let Some(tokens) = spec
            .cost
            .design_model
            .as_ref()
            .and_then(|d| d.tokens_per_valuation)
        {
            w = w.with_threshold_line(tokens.input as f64, "design model", GREY);
        }
        b = b.with_widget(w);
    }
    for svc in &spec.ecs_services {
        let m = |n: AwsMetric| ecs_metric(svc, n);
        b = b.with_widget(
            daily(&format!(
                "{} CPU / memory utilization per day (right-size tasks)",
                svc.service
            ))
            .with_stat(Stat::Average)
            .with_metric(m(ecs::CPU_UTILIZATION).with_label("CPU"))
            .with_metric(m(ecs::MEMORY_UTILIZATION).with_label("memory"))
            .with_left_axis(Some(0.0), Some(100.0), Some("%")),
        );
    }
    for t in &spec.tables {
        let m = |n: AwsMetric| Metric::of(n).with_dimension(dimension::TABLE_NAME, &t.name);
        b = b.with_widget(
            daily(&format!(
                "{} capacity units per day (on-demand vs provisioned)",
                t.name
            ))
            .with_stat(Stat::Sum)
            .with_metric(m(dynamodb::CONSUMED_READ_CAPACITY_UNITS).with_label("read"))
            .with_metric(m(dynamodb::CONSUMED_WRITE_CAPACITY_UNITS).with_label("write")),
        );
    }
    for bucket in &spec.buckets {
        // Stacked: the top is every byte stored, the bands what tiering moved.
        let w = UPLOAD_STORAGE_TIERS.iter().fold(
            daily(&format!(
                "{} storage (bytes, lifecycle / Intelligent-Tiering)",
                bucket.name
            ))
            .with_stat(Stat::Average)
            .stacked(),
            |w, t| {
                w.with_metric(
                    Metric::of(s3::BUCKET_SIZE_BYTES)
                        .with_dimension(dimension::BUCKET_NAME, &bucket.name)
                        .with_dimension(dimension::STORAGE_TYPE, t.storage_type)
                        .with_label(t.label),
                )
            },
        );
        b = b.with_widget(w);
    }
    b
}

/// `n` of one ECS service (`ClusterName` and `ServiceName`).
fn ecs_metric(svc: &platform_spec::EcsServiceSpec, n: AwsMetric) -> Metric {
    Metric::of(n)
        .with_dimension(dimension::CLUSTER_NAME, &svc.cluster)
        .with_dimension(dimension::SERVICE_NAME, &svc.service)
}

/// The "Optimization opportunities" text: one strategy per kind of resource the platform has.
fn optimization_text(spec: &PlatformSpec) -> String {
    let strategies = [
        (
            !spec.functions.is_empty(),
            "Lambda: right-size memory (GB-seconds below), ARM64, provisioned concurrency only on critical paths.",
        ),
        (
            !spec.bedrock_models.is_empty(),
            "Bedrock: shorter prompts (tokens per valuation), cached responses.",
        ),
        (
            !spec.ecs_services.is_empty(),
            "ECS: right-size task CPU and memory (utilization below), Fargate Spot for interruptible work.",
        ),
        (
            !spec.tables.is_empty(),
            "DynamoDB: on-demand vs provisioned (capacity per day).",
        ),
        (
            !spec.buckets.is_empty(),
            "S3: lifecycle and Intelligent-Tiering (storage).",
        ),
        (true, "Logs: retention and sampling."),
    ];
    std::iter::once("## Optimization opportunities")
        .chain(
            strategies
                .into_iter()
                .filter_map(|(runs, line)| runs.then_some(line)),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// Seed 003's Compliance Dashboard ("PCI-DSS, SOC2, HIPAA metrics"): the evidence CloudWatch metrics
/// give — availability, access denials, data-store errors — and, in words, the controls that have no
/// metric and where they are checked.
fn compliance(ctx: &Ctx<'_>) -> DashboardBuilder {
    let spec = ctx.spec;
    let frameworks = spec.platform.compliance_frameworks.join(", ");
    let mut b = DashboardBuilder::new(ctx.name("compliance"))
        .with_start("-P7D")
        .with_widget(header(
            ctx,
            &format!("Compliance ({frameworks})"),
            "Evidence from metrics: the service stayed available, access was denied where it should be, \
             the data store did not fail. Controls without a metric (CloudTrail logging of every API call, VPC \
             Flow Logs, point-in-time recovery and the daily 2 AM backups kept 35 days, GuardDuty and Security \
             Hub findings, the monthly CloudTrail review) are checked by AWS Config and Security Hub, not here.",
        ));
    let widget = |title: &str| ctx.widget(title).with_period(300).with_size(12, 6);
    for svc in &spec.ecs_services {
        let Some(lb) = &svc.load_balancer else { continue };
        let tg = |n: AwsMetric| {
            Metric::of(n)
                .with_dimension(dimension::LOAD_BALANCER, &lb.arn_suffix)
                .with_dimension(dimension::TARGET_GROUP, &lb.target_group_arn_suffix)
        };
        let elb = |n: AwsMetric| Metric::of(n).with_dimension(dimension::LOAD_BALANCER, &lb.arn_suffix);
        b = b.with_section(format!(
            "## {} (availability: SOC2 A1, HIPAA §164.308(a)(7))",
            svc.service
        ));
        b = b.with_widget(
            widget("Healthy targets (minimum)")
                .with_stat(Stat::Minimum)
                .with_metric(tg(application_elb::HEALTHY_HOST_COUNT).with_label("healthy"))
                .with_metric(
                    tg(application_elb::UN_HEALTHY_HOST_COUNT)
                        .with_stat(Stat::Maximum)
                        .with_label("unhealthy")
                        .with_color(RED),
                ),
        );
        b = b.with_widget(alb_5xx_rate(
            widget("Requests failed with 5xx (%, targets + load balancer)"),
            lb,
        ));
        b = b.with_widget(
            widget("Denied and rejected requests (access control: PCI-DSS 7, SOC2 CC6)")
                .with_stat(Stat::Sum)
                .with_metric(
                    tg(application_elb::HTTP_CODE_TARGET_4XX_COUNT).with_label("target 4xx (401/403 incl.)"),
                )
                .with_metric(elb(application_elb::HTTP_CODE_ELB_4XX_COUNT).with_label("ALB 4xx"))
                .with_metric(
                    elb(application_elb::REJECTED_CONNECTION_COUNT)
                        .with_label("rejected connections")
                        .with_color(RED),
                )
                .with_size(24, 6),
        );
    }
    for api in &spec.http_apis {
        b = b.with_section(format!("## {} (availability and access denials)", api.name));
        b = b.with_widget(
            rate(
                rate(
                    widget("4xx / 5xx (%)"),
                    0,
                    api_metric(api, api_gateway::HTTP_4XX),
                    api_metric(api, api_gateway::COUNT),
                    "4xx %",
                ),
                1,
                api_metric(api, api_gateway::HTTP_5XX),
                api_metric(api, api_gateway::COUNT),
                "5xx %",
            )
            .with_stat(Stat::Sum),
        );
    }
    if !spec.tables.is_empty() {
        b = b.with_section("## Data stores (integrity and availability: PCI-DSS 10, HIPAA §164.312(c))");
        // Two series a table, 250 tables a widget (CloudWatch's 500 metrics per widget).
        for (title, _, group) in widget_groups(&spec.tables, "DynamoDB throttled requests per table", 2, 0) {
            let w = group.iter().fold(widget(&title).with_stat(Stat::Sum), |w, t| {
                let m = |n: AwsMetric| Metric::of(n).with_dimension(dimension::TABLE_NAME, &t.name);
                w.with_metric(m(dynamodb::READ_THROTTLE_EVENTS).with_label(format!("{} read", t.name)))
                    .with_metric(m(dynamodb::WRITE_THROTTLE_EVENTS).with_label(format!("{} write", t.name)))
            });
            b = b.with_widget(w);
        }
        b = b.with_widget(
            widget("DynamoDB user errors (account: access denied, validation)")
                .with_stat(Stat::Sum)
                .with_metric(Metric::of(dynamodb::USER_ERRORS).with_label("user errors")),
        );
    }
    b
}

/// A billing (us-east-1) row on a widget of the platform's region.
fn billing_row(ctx: &Ctx<'_>, m: Metric) -> Metric {
    if ctx.region == BILLING_REGION {
        m
    } else {
        m.with_region(BILLING_REGION)
    }
}

fn ecs(ctx: &Ctx<'_>) -> DashboardBuilder {
    let mut b = DashboardBuilder::new(ctx.name("ecs"))
        .with_start(&ctx.opts.start)
        .with_widget(header(
            ctx,
            "ECS services",
            "Fargate CPU and memory; the ALB in front: traffic, errors, latency.",
        ));
    for svc in &ctx.spec.ecs_services {
        let m = |n: AwsMetric| ecs_metric(svc, n);
        b = b.with_section(format!(
            "## {} / {} ({}, {} tasks)",
            svc.cluster, svc.service, svc.launch_type, svc.desired_count
        ));
        for (metric, title) in [
            (ecs::CPU_UTILIZATION, "CPU (%)"),
            (ecs::MEMORY_UTILIZATION, "Memory (%)"),
        ] {
            b = b.with_widget(
                ctx.widget(title)
                    .with_period(thresholds::ECS_UTILIZATION_PERIOD_S)
                    .with_metric(m(metric).with_stat(Stat::Average).with_label("average"))
                    .with_metric(m(metric).with_stat(Stat::Maximum).with_label("maximum"))
                    .with_left_axis(Some(0.0), Some(100.0), Some("%"))
                    .with_threshold_line(80.0, "warning 80 %", ORANGE)
                    .with_size(12, 6),
            );
        }
        if let Some(lb) = &svc.load_balancer {
            let tg = |n: AwsMetric| {
                Metric::of(n)
                    .with_dimension(dimension::LOAD_BALANCER, &lb.arn_suffix)
                    .with_dimension(dimension::TARGET_GROUP, &lb.target_group_arn_suffix)
            };
            let elb = |n: AwsMetric| Metric::of(n).with_dimension(dimension::LOAD_BALANCER, &lb.arn_suffix);
            b = b.with_widget(
                ctx.widget("Requests and 5xx")
                    .with_stat(Stat::Sum)
                    .with_metric(tg(application_elb::REQUEST_COUNT).with_label("requests"))
                    .with_metric(
                        tg(application_elb::HTTP_CODE_TARGET_5XX_COUNT)
                            .with_label("target 5xx")
                            .with_color(RED)
                            .on_right_axis(),
                    )
                    .with_metric(
                        elb(application_elb::HTTP_CODE_ELB_5XX_COUNT)
                            .with_label("ALB 5xx")
                            .with_color(ORANGE)
                            .on_right_axis(),
                    ),
            );
            // Seed 003 "Key Metrics": "Request Count: Monitor for anomalies" — the count against
            // CloudWatch's anomaly band (two standard deviations).
            b = b.with_widget(
                ctx.widget("Requests with anomaly band")
                    .with_stat(Stat::Sum)
                    .with_metric(
                        tg(application_elb::REQUEST_COUNT)
                            .with_id("req")
                            .with_label("requests"),
                    )
                    .with_expression(
                        Expression::new("band", "ANOMALY_DETECTION_BAND(req, 2)").with_label("expected"),
                    ),
            );
            b = b.with_widget(alb_5xx_rate(
                ctx.widget("5xx rate (%, targets + load balancer)"),
                lb,
            ));
            b = b.with_widget(
                ctx.widget("Response time (s)")
                    .with_period(thresholds::ALB_RESPONSE_TIME_PERIOD_S)
                    .with_percentiles(&tg(application_elb::TARGET_RESPONSE_TIME))
                    .with_threshold_line(1.0, "p95 warning 1 s", ORANGE),
            );
            b = b.with_widget(
                ctx.widget("Hosts")
                    .with_stat(Stat::Minimum)
                    .with_metric(tg(application_elb::HEALTHY_HOST_COUNT).with_label("healthy"))
                    .with_threshold_line(1.0, "critical below 1 (service down)", RED)
                    .with_metric(
                        tg(application_elb::UN_HEALTHY_HOST_COUNT)
                            .with_stat(Stat::Maximum)
                            .with_label("unhealthy")
                            .with_color(RED),
                    )
                    .with_size(24, 4),
            );
        }
        // Seed 003 "CloudWatch Dashboards": "Application Dashboard: `/aws/ecs/budgetbuddy-cluster`" — the
        // containers' own lines, errors first.
        if let Some(group) = &svc.log_group {
            b = b.with_widget(LogWidget::new(
                format!("{} application log: errors", svc.service),
                &ctx.spec.platform.region,
                format!(
                    "SOURCE '{}' | fields @timestamp, @logStream, @message \
                     | filter @message like /(?i)(error|exception|fatal)/ | sort @timestamp desc | limit 50",
                    group.replace('\'', "")
                ),
            ));
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every DynamoDB operation CollectIQ's backend calls has its row on the data dashboard's
    /// per-operation widgets (a write path without one shows no throttles or errors).
    #[test]
    fn every_dynamodb_call_of_the_backend_has_its_operation_row() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../backend/src");
        let mut called = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
            for op in [
                "get_item",
                "put_item",
                "update_item",
                "delete_item",
                "query",
                "scan",
                "transact_write_items",
                "transact_get_items",
                "batch_write_item",
                "batch_get_item",
            ] {
                if text.contains(&format!(".{op}()")) {
                    let camel: String = op
                        .split('_')
                        .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
                        .collect();
                    called.insert(camel);
                }
            }
        }
        assert!(called.contains("TransactWriteItems"), "{called:?}");
        let missing: Vec<&String> = called
            .iter()
            .filter(|op| !DDB_OPERATIONS.contains(&op.as_str()))
            .collect();
        assert!(missing.is_empty(), "no dashboard row for {missing:?}");
    }
    use crate::model::{MetricEntry, WidgetKind};
    use crate::validate::validate;
    use std::path::Path;

    fn spec(name: &str) -> PlatformSpec {
        platform_spec::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../infra/platforms/{name}.toml")),
        )
        .unwrap()
    }

    /// Past what one widget holds (500 entries: 166 functions at three entries for an error rate,
    /// 500 at one), the Lambda dashboard's per-function widgets become several, each within the limit,
    /// every function on one of them: 200 functions build instead of failing.
    #[test]
    fn many_functions_spread_over_widgets_within_the_limit() {
        let mut s = spec("collectiq-prod");
        let first = s.functions[0].clone();
        s.functions = (0..200)
            .map(|i| {
                let mut f = first.clone();
                f.id = format!("f{i}");
                f.name = format!("collectiq-prod-f{i}");
                f
            })
            .collect();
        let ds = dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let lambda: Vec<&Dashboard> = ds
            .iter()
            .filter(|d| d.name.starts_with("collectiq-prod-lambda"))
            .collect();
        let widgets: Vec<&crate::model::MetricWidgetProperties> = lambda
            .iter()
            .flat_map(|d| d.body.widgets.iter())
            .filter_map(|w| match &w.kind {
                WidgetKind::Metric(p) => Some(p),
                _ => None,
            })
            .collect();
        let titled = |prefix: &str| -> Vec<&&crate::model::MetricWidgetProperties> {
            widgets
                .iter()
                .filter(|p| p.title.as_deref().is_some_and(|t| t.starts_with(prefix)))
                .collect()
        };
        let rates = titled("Error rate (%)");
        assert_eq!(rates.len(), 2, "200 functions at 166 a widget");
        assert_eq!(rates[1].title.as_deref(), Some("Error rate (%) (2/2)"));
        assert_eq!(rates.iter().map(|p| p.metrics.len()).sum::<usize>(), 600);
        assert_eq!(titled("Invocations").len(), 1);
        assert!(
            widgets
                .iter()
                .all(|p| p.metrics.len() <= crate::validate::MAX_METRICS_PER_WIDGET)
        );
    }

    /// The reference's "`metrics` (0–500 entries …)" holds for every list a spec can make long: 501
    /// DLQs, 501 routes (all on JWT) and 251 tables build, over two widgets each, every item drawn
    /// once; before, the one widget each went past 500 and no dashboard of the spec was published.
    #[test]
    fn long_spec_lists_spread_over_widgets_within_the_limit() {
        let mut s = spec("collectiq-prod");
        let dlq = s.dlqs().next().unwrap().clone();
        s.queues = (0..501)
            .map(|i| {
                let mut q = dlq.clone();
                q.name = format!("collectiq-prod-q{i}-dlq");
                q
            })
            .collect();
        let route = s.http_apis[0].routes[0].clone();
        s.http_apis[0].routes = (0..501)
            .map(|i| {
                let mut r = route.clone();
                r.path = format!("/r{i}");
                r.auth = RouteAuth::Jwt;
                r
            })
            .collect();
        s.platform.compliance_frameworks = vec!["SOC2".to_owned()];
        let table = s.tables[0].clone();
        s.tables = (0..251)
            .map(|i| {
                let mut t = table.clone();
                t.name = format!("collectiq-prod-t{i}");
                t
            })
            .collect();
        let ds = dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        for (prefix, series) in [
            ("DLQ depth", 501),
            ("Requests by route", 501),
            ("5xx by route", 501),
            ("4xx on JWT routes", 501),
            ("DynamoDB throttled requests per table", 502),
        ] {
            let ws = widgets_titled(&ds, prefix);
            assert_eq!(ws.len(), 2, "{prefix}");
            assert!(ws[1].title.as_deref().unwrap().ends_with("(2/2)"), "{prefix}");
            assert!(
                ws.iter()
                    .all(|p| p.metrics.len() <= crate::validate::MAX_METRICS_PER_WIDGET),
                "{prefix}"
            );
            assert_eq!(
                ws.iter().map(|p| p.metrics.len()).sum::<usize>(),
                series,
                "{prefix}"
            );
        }
    }

    /// The most model ids a spec may name (`platform_spec::MAX_SPEC_MODEL_IDS`: ten models of
    /// an id and nine aliases) keep every widget within CloudWatch's 500 metrics: the dashboards build.
    #[test]
    fn the_most_model_ids_a_spec_may_name_fit_every_widget() {
        let mut s = spec("collectiq-prod");
        let first = s.bedrock_models[0].clone();
        let per_model = 1 + platform_spec::MAX_MODEL_ALIASES;
        s.bedrock_models = (0..platform_spec::MAX_SPEC_MODEL_IDS / per_model)
            .map(|m| {
                let mut model = first.clone();
                model.id = format!("vendor.model-{m}");
                model.label = format!("Model {m}");
                model.aliases = (0..per_model - 1)
                    .map(|a| format!("vendor.model-{m}-alias-{a}"))
                    .collect();
                model
            })
            .collect();
        let ds = dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let widest = ds
            .iter()
            .flat_map(|d| d.body.widgets.iter())
            .filter_map(|w| match &w.kind {
                WidgetKind::Metric(p) => Some(p.metrics.len()),
                _ => None,
            })
            .max()
            .unwrap();
        assert!(widest <= crate::validate::MAX_METRICS_PER_WIDGET, "{widest}");
        assert!(widest > 200, "the model widgets are the widest: {widest}");
    }

    /// collectiq-prod with `n` copies of its first function.
    fn with_functions(n: usize) -> PlatformSpec {
        let mut s = spec("collectiq-prod");
        let first = s.functions[0].clone();
        s.functions = (0..n)
            .map(|i| {
                let mut f = first.clone();
                f.id = format!("f{i}");
                f.name = format!("collectiq-prod-f{i}");
                f
            })
            .collect();
        s
    }

    /// The metric widgets of every dashboard whose title starts with `prefix`.
    fn widgets_titled<'a>(
        ds: &'a [Dashboard],
        prefix: &str,
    ) -> Vec<&'a crate::model::MetricWidgetProperties> {
        ds.iter()
            .flat_map(|d| d.body.widgets.iter())
            .filter_map(|w| match &w.kind {
                WidgetKind::Metric(p) if p.title.as_deref().is_some_and(|t| t.starts_with(prefix)) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// The function of every metric row of `widgets` (its `FunctionName`, or `function_name` on
    /// CollectIQ's own metrics).
    fn function_rows(widgets: &[&crate::model::MetricWidgetProperties]) -> Vec<String> {
        widgets
            .iter()
            .flat_map(|p| p.metrics.iter())
            .filter_map(|e| match e {
                MetricEntry::Metric(r) => r
                    .dimensions
                    .iter()
                    .find(|d| d.name == "FunctionName" || d.name == "function_name")
                    .map(|d| d.value.clone()),
                MetricEntry::Expression(_) => None,
            })
            .collect()
    }

    /// The widgets that add up or stack every function (the overview's invocation and error totals at
    /// one row a function and the sum, the cost dashboard's GB-seconds at two a function, the cold
    /// starts at one) past what one widget holds become several: 251 functions built nothing before
    /// (502 GB-seconds entries), 600 split every one of them. Each function is in exactly one widget
    /// of each, every widget within the limit, and each total sums only its own widget's rows (the
    /// validator refuses an id from another widget).
    #[test]
    fn totals_and_gb_seconds_past_a_widget_split_over_several() {
        let all = |n: usize| -> Vec<String> { (0..n).map(|i| format!("collectiq-prod-f{i}")).collect() };
        for (n, totals, gb_seconds) in [(251, 1, 2), (499, 1, 2), (500, 2, 2), (600, 2, 3)] {
            let s = with_functions(n);
            let ds = dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
            for d in &ds {
                validate(d).unwrap();
            }
            assert!(
                ds.iter()
                    .flat_map(|d| d.body.widgets.iter())
                    .all(|w| match &w.kind {
                        WidgetKind::Metric(p) => p.metrics.len() <= crate::validate::MAX_METRICS_PER_WIDGET,
                        _ => true,
                    }),
                "{n} functions"
            );
            for title in ["Lambda invocations", "Lambda errors"] {
                let widgets = widgets_titled(&ds, title);
                assert_eq!(widgets.len(), totals, "{n} functions: {title}");
                assert_eq!(function_rows(&widgets), all(n), "{n} functions: {title}");
                for p in &widgets {
                    let sums: Vec<(&str, Option<&str>)> = p
                        .metrics
                        .iter()
                        .filter_map(|e| match e {
                            MetricEntry::Expression(x) => {
                                Some((x.expression.as_str(), x.props.label.as_deref()))
                            }
                            MetricEntry::Metric(_) => None,
                        })
                        .collect();
                    assert_eq!(sums.len(), 1, "{n} functions: {title}");
                    assert_eq!(sums[0].0, "SUM(METRICS())");
                    if totals == 1 {
                        assert!(sums[0].1.unwrap().ends_with(", all functions"));
                    }
                }
                if totals == 2 {
                    let label = |p: &crate::model::MetricWidgetProperties| {
                        p.metrics
                            .iter()
                            .find_map(|e| match e {
                                MetricEntry::Expression(x) => x.props.label.clone(),
                                MetricEntry::Metric(_) => None,
                            })
                            .unwrap()
                    };
                    assert!(label(widgets[0]).ends_with(&format!("functions 1–499 of {n}")));
                    assert!(label(widgets[1]).ends_with(&format!("functions 500–{n} of {n}")));
                    assert_eq!(
                        widgets[1].title.as_deref(),
                        Some(format!("{title} (2/2)").as_str())
                    );
                }
            }
            let gbs = widgets_titled(&ds, "Lambda GB-seconds per day");
            assert_eq!(gbs.len(), gb_seconds, "{n} functions");
            assert_eq!(function_rows(&gbs), all(n), "{n} functions");
            let colds = widgets_titled(&ds, "Cold starts");
            assert_eq!(colds.len(), n.div_ceil(crate::validate::MAX_METRICS_PER_WIDGET));
            assert_eq!(function_rows(&colds), all(n), "{n} functions");
        }
    }

    fn generate(name: &str) -> Vec<Dashboard> {
        let s = spec(name);
        dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap()
    }

    /// (namespace, metric, dimensions) of every metric row.
    type Row = (String, String, Vec<(String, String)>);

    fn rows(d: &Dashboard) -> Vec<Row> {
        d.body
            .widgets
            .iter()
            .filter_map(|w| match &w.kind {
                WidgetKind::Metric(p) => Some(p),
                _ => None,
            })
            .flat_map(|p| p.metrics.iter())
            .filter_map(|e| match e {
                MetricEntry::Metric(r) => Some((
                    r.namespace.clone(),
                    r.metric_name.clone(),
                    r.dimensions
                        .iter()
                        .map(|d| (d.name.clone(), d.value.clone()))
                        .collect(),
                )),
                MetricEntry::Expression(_) => None,
            })
            .collect()
    }

    fn by_name<'a>(ds: &'a [Dashboard], section: &str) -> &'a Dashboard {
        ds.iter()
            .find(|d| d.name.ends_with(&format!("-{section}")))
            .unwrap()
    }

    #[test]
    fn every_shipped_spec_generates_valid_dashboards() {
        for name in [
            "collectiq-prod",
            "collectiq-dev",
            "backoffice-dev",
            "budgetbuddy-prod",
        ] {
            let ds = generate(name);
            assert!(!ds.is_empty());
            for d in &ds {
                assert!(d.name.starts_with(&format!("{name}-")), "{}", d.name);
                validate(d).unwrap();
            }
        }
    }

    #[test]
    fn collectiq_prod_has_all_sections() {
        let names: Vec<String> = generate("collectiq-prod").into_iter().map(|d| d.name).collect();
        assert_eq!(
            names,
            [
                "overview",
                "api",
                "lambda",
                "stepfunctions",
                "data",
                "ai",
                "agents",
                "cost"
            ]
            .map(|s| format!("collectiq-prod-{s}"))
        );
    }

    /// Seed 000's "Business Metrics" (cards processed per day, average valuation time, authenticity
    /// detection rate, user engagement) were on no dashboard: the daily counts were only hidden inputs
    /// of the cost widgets and valuation latency had no average.
    #[test]
    fn seed_000s_business_metrics_are_drawn() {
        let ds = generate("collectiq-prod");
        let all = |d: &Dashboard| expressions(d).join("\n");
        let cost = all(by_name(&ds, "cost"));
        for metric in [
            "CardsCreated",
            "CardsValued",
            "CardsDeleted",
            "AuthenticityFlagged",
        ] {
            assert!(
                cost.contains(&format!("MetricName=\"{metric}\"', 'Sum', 86400")),
                "{metric} per day: {cost}"
            );
        }
        assert!(
            cost.contains("IF(valued > 0, 100 * flagged / valued, 0)"),
            "{cost}"
        );
        let agents = all(by_name(&ds, "agents"));
        assert!(
            agents.contains("MetricName=\"ValuationLatency\"', 'Average', 300"),
            "{agents}"
        );
    }

    #[test]
    fn backoffice_gets_only_what_it_has() {
        let names: Vec<String> = generate("backoffice-dev").into_iter().map(|d| d.name).collect();
        assert_eq!(
            names,
            ["overview", "api", "lambda", "data", "cost"].map(|s| format!("backoffice-dev-{s}"))
        );
        // A Python function does not link telemetry: no ColdStart from our catalogue.
        let ds = generate("backoffice-dev");
        assert!(
            rows(by_name(&ds, "lambda"))
                .iter()
                .all(|(ns, _, _)| ns != "CollectIQ")
        );
    }

    #[test]
    fn api_dashboard_uses_http_api_spelling_and_every_route() {
        let ds = generate("collectiq-prod");
        let api = by_name(&ds, "api");
        let rows = rows(api);
        assert!(rows.iter().any(|(ns, m, _)| ns == "AWS/ApiGateway" && m == "5xx"));
        assert!(rows.iter().all(|(_, m, _)| m != "5XXError" && m != "4XXError"));
        for (_, _, dims) in rows.iter().filter(|(ns, _, _)| ns == "AWS/ApiGateway") {
            assert_eq!(dims[0], ("ApiId".to_owned(), "p7q2x9k4m1".to_owned()));
            assert_eq!(dims[1], ("Stage".to_owned(), "$default".to_owned()));
        }
        // Detailed metrics are published per `Method` and `Resource` (API Gateway's HTTP API metrics
        // page; cdk-monitoring-constructs): a `Route` dimension would match no series.
        let routes: std::collections::BTreeSet<String> = rows
            .iter()
            .filter(|(_, m, _)| m == "Count")
            .filter_map(|(_, _, d)| match (d.get(2), d.get(3)) {
                (Some((mk, method)), Some((rk, path))) if mk == "Method" && rk == "Resource" => {
                    Some(format!("{method} {path}"))
                }
                _ => None,
            })
            .collect();
        assert!(rows.iter().all(|(_, _, d)| d.iter().all(|(k, _)| k != "Route")));
        assert_eq!(routes.len(), 7);
        assert!(routes.contains("POST /cards/{id}/revalue"));
        // healthz has no authorizer, so it is not among the JWT-route 4xx.
        let v = serde_json::to_value(&api.body).unwrap();
        let jwt = v["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| {
                w["properties"]["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("4xx on JWT"))
            })
            .unwrap();
        assert_eq!(jwt["properties"]["metrics"].as_array().unwrap().len(), 6);
    }

    /// Seed 001 "Data Layer Dashboard": "S3 upload volume" beside "S3 GET/PUT request count", both from
    /// the bucket's request metrics (filter `EntireBucket`, which infra/ configures).
    #[test]
    fn data_dashboard_shows_s3_upload_volume() {
        let ds = generate("collectiq-prod");
        let w = metric_widget(by_name(&ds, "data"), "Upload volume (bytes)");
        assert_eq!(labels(w), ["uploaded", "downloaded"]);
        let body = serde_json::to_value(w).unwrap();
        let first = body["metrics"][0].as_array().unwrap();
        assert_eq!(first[0], "AWS/S3");
        assert_eq!(first[1], "BytesUploaded");
        assert!(
            first.contains(&serde_json::json!("FilterId"))
                && first.contains(&serde_json::json!("EntireBucket"))
        );
    }

    #[test]
    fn data_dashboard_uses_gsi_dimension_name() {
        let ds = generate("collectiq-prod");
        let rows = rows(by_name(&ds, "data"));
        let gsis: Vec<_> = rows
            .iter()
            .filter(|(_, _, d)| d.iter().any(|(k, _)| k == "GlobalSecondaryIndexName"))
            .collect();
        assert_eq!(gsis.len(), 12, "3 GSIs × (read, write) × (capacity, throttles)");
        assert!(
            rows.iter()
                .any(|(ns, m, d)| ns == "AWS/S3" && m == "BucketSizeBytes" && d.len() == 2)
        );
    }

    /// Every expression of a dashboard.
    fn expressions(d: &Dashboard) -> Vec<String> {
        d.body
            .widgets
            .iter()
            .filter_map(|w| match &w.kind {
                WidgetKind::Metric(p) => Some(p),
                _ => None,
            })
            .flat_map(|p| p.metrics.iter())
            .filter_map(|e| match e {
                MetricEntry::Expression(x) => Some(x.expression.clone()),
                MetricEntry::Metric(_) => None,
            })
            .collect()
    }

    #[test]
    fn catalogue_metrics_are_searched_whatever_service_emits_them() {
        let ds = generate("collectiq-prod");
        let agents = expressions(by_name(&ds, "agents"));
        for p in ["p50", "p95", "p99"] {
            let want =
                format!("SEARCH('{{CollectIQ,service,agent}} MetricName=\"AgentDuration\"', '{p}', 60)");
            assert!(agents.contains(&want), "{want} in {agents:?}");
        }
        assert!(
            agents.contains(
                &"SEARCH('{CollectIQ,service,agent,model} MetricName=\"BedrockInputTokens\"', 'Sum', 60)"
                    .to_owned()
            )
        );
        assert!(agents.contains(
            &"SEARCH('{CollectIQ,service} MetricName=\"AuthenticityScore\"', 'p10', 300)".to_owned()
        ));
        let overview = expressions(by_name(&ds, "overview"));
        assert!(overview.contains(
            &"SUM(SEARCH('{CollectIQ,service} MetricName=\"CardsValued\"', 'Sum', 300))".to_owned()
        ));
        let ai = expressions(by_name(&ds, "ai"));
        assert!(ai.contains(&"SUM(SEARCH('{CollectIQ,service,operation} MetricName=\"RekognitionCalls\" operation=\"DetectText\"', 'Sum', 60))".to_owned()));
        // Every catalogue search uses a dimension set the metric is emitted with.
        for d in &ds {
            for e in expressions(d) {
                for (ns, keys, metric) in crate::validate::search_schemas(&e) {
                    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    assert_eq!(
                        vocabulary::known::check::<MetricName>(&ns, &metric.unwrap(), &keys),
                        vocabulary::MetricCheck::Ok,
                        "{e}"
                    );
                }
            }
        }
    }

    #[test]
    fn cold_start_rows_name_each_function_service() {
        let ds = generate("collectiq-prod");
        let cold: Vec<Vec<(String, String)>> = rows(by_name(&ds, "lambda"))
            .into_iter()
            .filter(|(_, m, _)| m == "ColdStart")
            .map(|(_, _, d)| d)
            .collect();
        assert_eq!(cold.len(), 12);
        // By default every function emits under the platform's one service name.
        assert!(cold.contains(&vec![
            ("service".to_owned(), "collectiq".to_owned()),
            ("function_name".to_owned(), "prod-collectiq-cards-get".to_owned())
        ]));
        let s = spec("collectiq-prod");
        let per_function = CatalogueOptions {
            service_naming: ServiceNaming::FunctionId,
            ..CatalogueOptions::for_spec(&s)
        };
        let ds = dashboards_for(&s, &per_function).unwrap();
        let services: Vec<String> = rows(by_name(&ds, "lambda"))
            .into_iter()
            .filter(|(_, m, _)| m == "ColdStart")
            .map(|(_, _, d)| d[0].1.clone())
            .collect();
        assert!(services.contains(&"cards_get".to_owned()));
        assert_eq!(services.len(), 12);
    }

    #[test]
    fn budgetbuddy_ecs_has_cpu_memory_and_alb() {
        let ds = generate("budgetbuddy-prod");
        let rows = rows(by_name(&ds, "ecs"));
        for m in [
            "CPUUtilization",
            "MemoryUtilization",
            "HTTPCode_Target_5XX_Count",
            "TargetResponseTime",
            "HTTPCode_ELB_5XX_Count",
        ] {
            assert!(rows.iter().any(|(_, n, _)| n == m), "{m}");
        }
        assert!(rows.iter().all(|(ns, _, _)| ns != "CollectIQ"));
    }

    #[test]
    fn cost_dashboard_reads_billing_in_us_east_1_and_handles_month_restart() {
        let ds = generate("collectiq-prod");
        let v = serde_json::to_value(&by_name(&ds, "cost").body).unwrap();
        let widgets = v["widgets"].as_array().unwrap();
        let metric_widgets: Vec<&serde_json::Value> =
            widgets.iter().filter(|w| w["type"] == "metric").collect();
        assert!(
            metric_widgets
                .iter()
                .filter(|w| w["properties"]["title"].as_str().unwrap().contains("USD"))
                .all(|w| w["properties"]["region"] == "us-east-1")
        );
        let exprs: Vec<&str> = metric_widgets
            .iter()
            .flat_map(|w| w["properties"]["metrics"].as_array().unwrap())
            .filter_map(|e| e[0]["expression"].as_str())
            .collect();
        assert!(exprs.contains(&"IF(DIFF(mtd) < 0, mtd, DIFF(mtd))"));
        assert!(exprs.contains(&"IF(valued > 0, daily / valued, 0)"));
        assert!(exprs.contains(&"ANOMALY_DETECTION_BAND(daily, 2)"));
        let budget_lines: Vec<f64> = widgets[1]["properties"]["annotations"]["horizontal"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["value"].as_f64().unwrap())
            .collect();
        assert_eq!(budget_lines, [500.0, 400.0, 600.0, 750.0]);
    }

    #[test]
    fn billing_rows_cross_to_us_east_1_on_platform_widgets() {
        let mut s = spec("collectiq-prod");
        s.platform.region = "eu-west-1".into();
        let ds = dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let v = serde_json::to_value(&by_name(&ds, "cost").body).unwrap();
        let per = v["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["properties"]["title"] == "Spend per valuation (USD)")
            .unwrap();
        assert_eq!(per["properties"]["region"], "eu-west-1");
        assert_eq!(per["properties"]["metrics"][0][1], "EstimatedCharges");
        assert_eq!(per["properties"]["metrics"][0][4]["region"], "us-east-1");
        let api = serde_json::to_value(&by_name(&ds, "api").body).unwrap();
        assert_eq!(api["widgets"][2]["properties"]["region"], "eu-west-1");
        // In us-east-1 the row needs no region of its own.
        let ds = generate("collectiq-prod");
        let v = serde_json::to_value(&by_name(&ds, "cost").body).unwrap();
        let per = v["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["properties"]["title"] == "Spend per valuation (USD)")
            .unwrap();
        assert!(per["properties"]["metrics"][0][4].get("region").is_none());
    }

    #[test]
    fn overview_shows_alarm_arns_in_chunks_of_100() {
        let s = spec("collectiq-prod");
        let arns: Vec<String> = (0..150)
            .map(|i| format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a{i}"))
            .collect();
        let ds = dashboards_for(&s, &CatalogueOptions::for_spec(&s).with_alarm_arns(arns)).unwrap();
        let overview = by_name(&ds, "overview");
        let alarm_widgets: Vec<usize> = overview
            .body
            .widgets
            .iter()
            .filter_map(|w| match &w.kind {
                WidgetKind::Alarm(p) => Some(p.alarms.len()),
                _ => None,
            })
            .collect();
        assert_eq!(alarm_widgets, vec![100, 50]);
    }

    fn titles(d: &Dashboard) -> Vec<String> {
        let body = serde_json::to_value(&d.body).unwrap();
        body["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|w| {
                w["properties"]["title"]
                    .as_str()
                    .or_else(|| w["properties"]["markdown"].as_str())
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Seed 000 "Overview Dashboard": API request rate and latency, Lambda invocations and errors, Step
    /// Functions execution status, DynamoDB read/write capacity, cost trends.
    #[test]
    fn overview_has_seed_000s_list() {
        let ds = generate("collectiq-prod");
        let overview = by_name(&ds, "overview");
        let t = titles(overview);
        for want in [
            "collectiq-prod-api requests",
            "collectiq-prod-api latency (ms)",
            "Lambda invocations",
            "Lambda errors",
            "collectiq-prod-valuation executions",
            "prod-CollectIQ read/write capacity (units per minute)",
            "Month-to-date spend (USD, account)",
        ] {
            assert!(t.iter().any(|x| x == want), "{want} in {t:?}");
        }
        let r = rows(overview);
        let table = vec![("TableName".to_owned(), "prod-CollectIQ".to_owned())];
        for m in ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"] {
            assert!(
                r.contains(&("AWS/DynamoDB".to_owned(), m.to_owned(), table.clone())),
                "{m}"
            );
        }
        let invocations = r
            .iter()
            .filter(|(ns, m, _)| ns == "AWS/Lambda" && m == "Invocations")
            .count();
        assert_eq!(invocations, 12);
        let latency: Vec<_> = r.iter().filter(|(_, m, _)| m == "Latency").collect();
        // Seed 000 "Key Metrics": "API latency: P50, P90, P99", and p95 (the warning alarm's statistic).
        assert_eq!(latency.len(), 4, "p50, p90, p95, p99 of the API's Latency");
    }

    /// Seed 000 "Agent Performance Dashboard" lists "OCR Reasoning Agent confidence": a 0–1 distribution
    /// (p10/p50/p90) of `OcrConfidence`, the metric `rekognition_extract` records per card.
    /// The widget titled `title` on `section`'s dashboard, and its expressions.
    fn widget_expressions(ds: &[Dashboard], section: &str, title: &str) -> (serde_json::Value, Vec<String>) {
        let d = by_name(ds, section);
        let body: serde_json::Value = serde_json::from_str(&d.body_json().unwrap()).unwrap();
        let widget = body["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["properties"]["title"] == title)
            .unwrap_or_else(|| panic!("{title:?} on {section}"))
            .clone();
        let expressions = widget["properties"]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m[0]["expression"].as_str().unwrap().to_owned())
            .collect();
        (widget, expressions)
    }

    #[test]
    fn agents_dashboard_has_the_ocr_confidence_distribution() {
        let ds = generate("collectiq-prod");
        let (widget, expressions) = widget_expressions(&ds, "agents", "OCR confidence distribution");
        assert_eq!(
            expressions,
            ["p10", "p50", "p90"]
                .map(|p| format!("SEARCH('{{CollectIQ,service}} MetricName=\"OcrConfidence\"', '{p}', 300)"))
        );
        assert_eq!(widget["properties"]["yAxis"]["left"]["max"], 1.0);
        // The metric is in the telemetry catalogue, emitted under the service dimension only.
        assert_eq!(
            MetricName::OcrConfidence.spec().dimension_sets,
            &[&[telemetry::catalogue::DimensionKey::Service][..]][..]
        );
    }

    /// Seed 001 "CloudWatch Dashboards" → AI Services Dashboard: "Authenticity score distribution". The
    /// `ai` dashboard is that one; the agents dashboard keeps the widget for seed 000's "Authenticity
    /// Agent accuracy".
    #[test]
    fn ai_dashboard_has_the_authenticity_score_distribution() {
        let ds = generate("collectiq-prod");
        for section in ["ai", "agents"] {
            let (widget, expressions) = widget_expressions(&ds, section, "Authenticity score distribution");
            assert_eq!(
                expressions,
                ["p10", "p50", "p90"].map(|p| format!(
                    "SEARCH('{{CollectIQ,service}} MetricName=\"AuthenticityScore\"', '{p}', 300)"
                )),
                "{section}"
            );
            assert_eq!(widget["properties"]["yAxis"]["left"]["max"], 1.0, "{section}");
        }
    }

    /// BudgetBuddy runs ECS Fargate (seed 003: no Lambda, no Bedrock): its cost dashboard's advice and
    /// widgets are about what it runs — task utilization (seed 003's Cost Dashboard: "Resource
    /// utilization and costs") — and name neither Lambda nor Bedrock.
    #[test]
    fn optimization_opportunities_name_only_what_the_platform_runs() {
        let ds = generate("budgetbuddy-prod");
        let t = titles(by_name(&ds, "cost"));
        let text = t
            .iter()
            .find(|x| x.starts_with("## Optimization opportunities"))
            .unwrap();
        assert!(text.contains("ECS: right-size task CPU and memory"), "{text}");
        assert!(!text.contains("Lambda") && !text.contains("Bedrock"), "{text}");
        assert!(
            t.contains(&"budgetbuddy-backend CPU / memory utilization per day (right-size tasks)".to_owned())
        );
        let backoffice = generate("backoffice-dev");
        let t = titles(by_name(&backoffice, "cost"));
        let text = t
            .iter()
            .find(|x| x.starts_with("## Optimization opportunities"))
            .unwrap();
        assert!(text.contains("Lambda") && !text.contains("Bedrock"), "{text}");
    }

    /// Seed 000 "Cost Dashboard": optimization opportunities, from the strategies' own numbers.
    #[test]
    fn cost_dashboard_has_optimization_opportunities() {
        let s = spec("collectiq-prod");
        let ds = generate("collectiq-prod");
        let cost = by_name(&ds, "cost");
        let t = titles(cost);
        let text = t
            .iter()
            .find(|x| x.starts_with("## Optimization opportunities"))
            .unwrap();
        assert!(text.contains("Lambda: right-size memory") && text.contains("Bedrock: shorter prompts"));
        assert!(t.contains(&"Lambda GB-seconds per day by function (right-size memory)".to_owned()));
        assert!(t.contains(&"Bedrock input tokens per valuation (prompt length)".to_owned()));
        assert!(t.contains(&"prod-CollectIQ capacity units per day (on-demand vs provisioned)".to_owned()));
        assert!(
            t.iter()
                .any(|x| x.starts_with("collectiq-prod-uploads-123456789012 storage"))
        );
        let exprs = expressions(cost);
        // 1024 MB = 1 GB: GB-seconds are the duration sum in seconds.
        assert!(exprs.contains(&"d0 / 1000 * 1".to_owned()), "{exprs:?}");
        assert!(exprs.contains(&"IF(valued > 0, (in0) / valued, 0)".to_owned()));
        let body = serde_json::to_value(&cost.body).unwrap();
        let per = body["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["properties"]["title"] == "Bedrock input tokens per valuation (prompt length)")
            .unwrap();
        let design = s
            .cost
            .design_model
            .as_ref()
            .unwrap()
            .tokens_per_valuation
            .unwrap();
        assert_eq!(
            per["properties"]["annotations"]["horizontal"][0]["value"],
            serde_json::json!(design.input as f64)
        );
    }

    /// Seed 003 "CloudWatch Dashboards": a Compliance Dashboard (PCI-DSS, SOC2, HIPAA).
    #[test]
    fn budgetbuddy_has_a_compliance_dashboard_of_real_metrics() {
        let ds = generate("budgetbuddy-prod");
        let names: Vec<&str> = ds.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["overview", "data", "cost", "ecs", "compliance"].map(|s| format!("budgetbuddy-prod-{s}"))
        );
        let c = by_name(&ds, "compliance");
        let t = titles(c);
        assert!(t[0].contains("Compliance (PCI-DSS, SOC2, HIPAA)"), "{t:?}");
        assert!(t[0].contains("CloudTrail") && t[0].contains("35 days"), "{t:?}");
        let r = rows(c);
        for m in [
            "HealthyHostCount",
            "UnHealthyHostCount",
            "HTTPCode_Target_5XX_Count",
            "HTTPCode_Target_4XX_Count",
            "HTTPCode_ELB_4XX_Count",
            "RejectedConnectionCount",
            "ReadThrottleEvents",
            "UserErrors",
        ] {
            assert!(r.iter().any(|(_, n, _)| n == m), "{m}");
        }
        let tables: Vec<&str> = r
            .iter()
            .flat_map(|(_, _, d)| d.iter())
            .filter(|(k, _)| k == "TableName")
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(tables.contains(&"BudgetBuddy-Transactions") && tables.contains(&"BudgetBuddy-Users"));
        // Only platforms that ask for it get one.
        assert!(
            generate("collectiq-prod")
                .iter()
                .all(|d| !d.name.ends_with("-compliance"))
        );
    }

    #[test]
    fn snapshots_collectiq_prod() {
        for d in generate("collectiq-prod") {
            // Key order must not depend on serde_json's preserve_order, which other crates switch on.
            let mut settings = insta::Settings::clone_current();
            settings.set_sort_maps(true);
            let _sorted = settings.bind_to_scope();
            insta::assert_json_snapshot!(d.name.clone(), d.body);
        }
    }

    /// A model called through inference profiles publishes under their `ModelId`s, leaving its own
    /// series empty: each of its rows (the AI dashboard's, the cost dashboard's) sums the model's id and
    /// every alias, drawn as the one row was; latency, which does not add up, is drawn per `ModelId`.
    #[test]
    fn bedrock_rows_sum_the_models_aliases() {
        let mut s = spec("collectiq-prod");
        let id = s.bedrock_models[0].id.clone();
        let profiles = [
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
        ];
        s.bedrock_models[0].aliases = profiles.iter().map(|p| (*p).to_owned()).collect();
        let ds = dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        for d in &ds {
            validate(d).unwrap();
        }
        let model_ids = [id.as_str(), profiles[0], profiles[1]];
        // (hidden rows' ModelIds, the sum's expression, label, colour, axis) of each sum in a widget.
        let sums = |p: &crate::model::MetricWidgetProperties| {
            let mut hidden = Vec::new();
            let mut out = Vec::new();
            for e in &p.metrics {
                match e {
                    MetricEntry::Metric(r) if r.props.visible == Some(false) => {
                        assert_eq!(r.dimensions.len(), 1);
                        assert_eq!(r.dimensions[0].name, "ModelId");
                        hidden.push(r.dimensions[0].value.clone());
                    }
                    MetricEntry::Expression(x) if !x.expression.starts_with("SEARCH") => out.push((
                        std::mem::take(&mut hidden),
                        x.expression.clone(),
                        x.props.label.clone().unwrap_or_default(),
                        x.props.color.clone(),
                        x.props.y_axis.clone(),
                    )),
                    _ => {}
                }
            }
            out
        };
        let sum_of = |id: &str| format!("SUM([FILL({id}_0, 0), FILL({id}_1, 0), FILL({id}_2, 0)])");

        let ai = by_name(&ds, "ai");
        let section = titles(ai)
            .into_iter()
            .find(|t| t.starts_with("## Bedrock: Claude 3.5 Sonnet"))
            .unwrap();
        assert!(
            section.contains(&format!("`{}`, `{}`", profiles[0], profiles[1])),
            "{section}"
        );
        assert_eq!(
            sums(metric_widget(ai, "Invocations")),
            [(
                model_ids.map(str::to_owned).to_vec(),
                sum_of("invocations"),
                "invocations".into(),
                None,
                None
            )]
        );
        let tokens = sums(metric_widget(ai, "Tokens"));
        assert_eq!(
            tokens
                .iter()
                .map(|t| (t.1.as_str(), t.2.as_str(), t.4.as_deref()))
                .collect::<Vec<_>>(),
            [
                (sum_of("input").as_str(), "input", None),
                (sum_of("output").as_str(), "output", Some("right"))
            ]
        );
        let errors = sums(metric_widget(
            ai,
            "Throttles and errors (throttles are not counted in invocations)",
        ));
        assert_eq!(
            errors
                .iter()
                .map(|t| (t.1.clone(), t.2.as_str(), t.3.as_deref()))
                .collect::<Vec<_>>(),
            [
                (sum_of("throttled"), "throttled", Some(ORANGE)),
                (sum_of("client"), "client errors", Some(GREY)),
                (sum_of("server"), "server errors", Some(RED))
            ]
        );
        assert!(errors.iter().all(|t| t.0 == model_ids.map(str::to_owned)));
        let latency: Vec<(String, String)> = metric_widget(ai, "Invocation latency (ms)")
            .metrics
            .iter()
            .filter_map(|e| match e {
                MetricEntry::Metric(r) => Some((
                    r.dimensions[0].value.clone(),
                    r.props.label.clone().unwrap_or_default(),
                )),
                MetricEntry::Expression(_) => None,
            })
            .collect();
        assert_eq!(latency.len(), 9, "{latency:?}");
        assert_eq!(latency[0], (id.clone(), format!("{id} p50")));
        assert_eq!(latency[8], (profiles[1].to_owned(), "a1b2c3 p99".to_owned()));

        let cost = by_name(&ds, "cost");
        let per_day = sums(metric_widget(cost, "Bedrock tokens per day (cost driver)"));
        assert_eq!(
            per_day
                .iter()
                .map(|t| (t.1.clone(), t.2.as_str()))
                .collect::<Vec<_>>(),
            [
                (sum_of("in0"), "Claude 3.5 Sonnet input"),
                (sum_of("out0"), "Claude 3.5 Sonnet output")
            ]
        );
        assert!(
            expressions(cost).contains(&format!("IF(valued > 0, ({}) / valued, 0)", sum_of("in0"))),
            "{:?}",
            expressions(cost)
        );

        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!("collectiq-prod-ai-with-aliases", ai.body);
    }

    /// A line naming a severity is an alarm's (same value), drawn over that alarm's period: a one-minute
    /// series under the line of an alarm that compares a 5-minute ratio crosses it when nothing pages
    /// (one 5xx in two requests draws 50 % over a "critical 5 %" line; the window's 30 requests are 3 %).
    #[test]
    fn alarm_lines_are_drawn_over_their_alarms_period() {
        use alarms::model::Alarm;
        for name in [
            "collectiq-prod",
            "collectiq-dev",
            "backoffice-dev",
            "budgetbuddy-prod",
        ] {
            let s = spec(name);
            let cat =
                alarms::catalogue::catalogue_for(&s, &alarms::catalogue::CatalogueOptions::for_spec(&s))
                    .unwrap();
            // (threshold, period, metric names, whether it is math) of each metric alarm.
            let alarmed: Vec<(f64, u32, Vec<String>, bool)> = cat
                .inputs()
                .iter()
                .filter_map(|a| match a {
                    Alarm::Metric(m) => {
                        let stats: Vec<_> = m.metrics.iter().filter_map(|q| q.metric_stat.as_ref()).collect();
                        let period = m.period.or_else(|| stats.iter().map(|s| s.period).max())?;
                        let names = m
                            .metric_name
                            .iter()
                            .cloned()
                            .chain(stats.iter().map(|s| s.metric.metric_name.clone()))
                            .collect();
                        Some((m.threshold?, period, names, !m.metrics.is_empty()))
                    }
                    Alarm::Composite(_) => None,
                })
                .collect();
            let mut checked = 0;
            for d in generate(name) {
                for w in &d.body.widgets {
                    let WidgetKind::Metric(p) = &w.kind else { continue };
                    for (label, value) in lines(p) {
                        if !(label.contains("warning") || label.contains("critical")) {
                            continue;
                        }
                        let period = p.period.unwrap_or(300);
                        let drawn: Vec<&str> = p
                            .metrics
                            .iter()
                            .filter_map(|e| match e {
                                MetricEntry::Metric(r) => Some(r.metric_name.as_str()),
                                MetricEntry::Expression(_) => None,
                            })
                            .collect();
                        let math = p.metrics.iter().any(|e| matches!(e, MetricEntry::Expression(_)));
                        // The same value and period, on metrics the widget draws, computed alike (a
                        // rate's line is a math alarm's: `Errors > 10` is not `error rate > 10 %`).
                        let its = |(t, per, names, is_math): &(f64, u32, Vec<String>, bool)| {
                            *t == value
                                && *per == period
                                && names.iter().all(|n| drawn.contains(&n.as_str()))
                                && (!math || *is_math)
                        };
                        assert!(
                            alarmed.iter().any(its),
                            "{name}: {} / {:?}: line {label:?} at {value} over {period} s is no alarm's \
                             (alarms: {alarmed:?})",
                            d.name,
                            p.title
                        );
                        checked += 1;
                    }
                }
            }
            assert!(checked > 0, "{name}: no alarm line checked");
        }
    }

    /// A metric widget of `d` by title.
    fn metric_widget<'a>(d: &'a Dashboard, title: &str) -> &'a crate::model::MetricWidgetProperties {
        d.body
            .widgets
            .iter()
            .find_map(|w| match &w.kind {
                WidgetKind::Metric(p) if p.title.as_deref() == Some(title) => Some(p),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{}: no widget {title}", d.name))
    }

    /// (label, value) of each horizontal line of a widget.
    fn lines(p: &crate::model::MetricWidgetProperties) -> Vec<(String, f64)> {
        p.annotations
            .iter()
            .flat_map(|a| a.horizontal.iter())
            .filter_map(|h| match h {
                crate::model::HorizontalAnnotation::Line(l) => {
                    Some((l.label.clone().unwrap_or_default(), l.value))
                }
                crate::model::HorizontalAnnotation::Band(_) => None,
            })
            .collect()
    }

    /// Labels of the visible rows and expressions of a widget.
    fn labels(p: &crate::model::MetricWidgetProperties) -> Vec<String> {
        p.metrics
            .iter()
            .map(|e| match e {
                MetricEntry::Metric(r) => &r.props,
                MetricEntry::Expression(x) => &x.props,
            })
            .filter(|props| props.visible != Some(false))
            .filter_map(|props| props.label.clone())
            .collect()
    }

    /// Seed 002 "Components": "CloudWatch Alarms | Errors, throttles, 5xx" (`latency_alarms = false`,
    /// `near_timeout_alarm = false`, tier standard): no latency or duration line, and the error-rate line
    /// is the warning its `errors` composite is.
    #[test]
    fn backoffice_lines_are_its_alarms_only() {
        let ds = generate("backoffice-dev");
        let api = by_name(&ds, "api");
        assert!(lines(metric_widget(api, "Latency (ms)")).is_empty());
        assert_eq!(
            lines(metric_widget(api, "Error rates (%)")),
            [("5xx warning 5 %".to_owned(), 5.0)],
            "page_on_5xx = false: the 5xx line is the warning its alarm is"
        );
        let overview = by_name(&ds, "overview");
        assert!(lines(metric_widget(overview, "dev-backoffice latency (ms)")).is_empty());
        let lambda = by_name(&ds, "lambda");
        assert_eq!(
            lines(metric_widget(lambda, "Error rate (%)")),
            [("warning 10 %".to_owned(), 10.0)]
        );
        assert!(lines(metric_widget(lambda, "api duration (ms)")).is_empty());
        // Seed 002 "Components": "Public REST API with CORS" — no JWT route, so no authorizer widget.
        assert!(
            !titles(api).iter().any(|t| t.contains("JWT")),
            "{:?}",
            titles(api)
        );
    }

    /// Seeds 000/001: CollectIQ keeps its latency warnings (p95 > 1 s, p99 > 5 s), its critical Lambda
    /// error rate and the near-timeout warning; seed 000 "Key Metrics": API latency P50, P90, P99 (and p95,
    /// the warning's statistic).
    #[test]
    fn collectiq_lines_and_api_percentiles() {
        let ds = generate("collectiq-prod");
        let api = by_name(&ds, "api");
        let latency = metric_widget(api, "Latency (ms)");
        assert_eq!(labels(latency), ["p50", "p90", "p95", "p99"]);
        assert_eq!(
            lines(latency),
            [
                ("p95 warning 1 s".to_owned(), 1_000.0),
                ("p99 warning 5 s".to_owned(), 5_000.0)
            ]
        );
        let overview = metric_widget(by_name(&ds, "overview"), "collectiq-prod-api latency (ms)");
        assert_eq!(labels(overview), ["p50", "p90", "p95", "p99"]);
        let lambda = by_name(&ds, "lambda");
        assert_eq!(
            lines(metric_widget(lambda, "Error rate (%)")),
            [("critical 10 %".to_owned(), 10.0)]
        );
        let duration = metric_widget(lambda, "cards_get duration (ms)");
        // The near-timeout alarm reads the Maximum: plotted with its line.
        assert_eq!(labels(duration), ["p50", "p95", "p99", "max"]);
        let (label, value) = lines(duration)[0].clone();
        assert_eq!(label, "warning 90 % of timeout (max)");
        // Seed 000 "Step Functions duration > 30 seconds", alarmed on p90: drawn over p90.
        let sfn = metric_widget(by_name(&ds, "stepfunctions"), "Duration (ms)");
        assert_eq!(labels(sfn), ["p50", "p90", "p95", "p99"]);
        assert_eq!(lines(sfn), [("warning p90 above expected".to_owned(), 30_000.0)]);
        // Seed 004: the card functions time out at 30 s.
        assert!((value - 27_000.0).abs() < 1e-6, "{value}");
    }

    /// Seed 003: "Application Dashboard: `/aws/ecs/budgetbuddy-cluster`" (the group's lines on the ECS
    /// dashboard) and "Request Count: Monitor for anomalies" (the count against an anomaly band).
    #[test]
    fn budgetbuddy_application_log_and_request_anomalies() {
        let ds = generate("budgetbuddy-prod");
        let ecs = by_name(&ds, "ecs");
        let queries: Vec<&str> = ecs
            .body
            .widgets
            .iter()
            .filter_map(|w| match &w.kind {
                WidgetKind::Log(l) => Some(l.query.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(queries.len(), 1, "{queries:?}");
        assert!(
            queries[0].starts_with("SOURCE '/aws/ecs/budgetbuddy-cluster' |"),
            "{}",
            queries[0]
        );
        assert!(expressions(ecs).contains(&"ANOMALY_DETECTION_BAND(req, 2)".to_owned()));
    }

    /// Seed 003 "Key Metrics": "Error Rate: Alert if > 1%" — every widget with the warning line plots the
    /// alarm's own expression (target + load-balancer 5xx over requests + load-balancer 5xx), which reads
    /// 100 %, not 0 %, when no target is healthy.
    #[test]
    fn budgetbuddy_5xx_widgets_plot_the_alarms_expression() {
        let ds = generate("budgetbuddy-prod");
        for (section, title) in [
            ("overview", "budgetbuddy-backend 5xx rate (%)"),
            ("ecs", "5xx rate (%, targets + load balancer)"),
            (
                "compliance",
                "Requests failed with 5xx (%, targets + load balancer)",
            ),
        ] {
            let w = metric_widget(by_name(&ds, section), title);
            assert_eq!(lines(w), [("warning 1 %".to_owned(), 1.0)], "{section}");
            let visible: Vec<&str> = w
                .metrics
                .iter()
                .filter_map(|e| match e {
                    MetricEntry::Expression(x) if x.props.visible != Some(false) => {
                        Some(x.expression.as_str())
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(
                visible,
                [alarms::thresholds::ALB_5XX_RATE_EXPRESSION],
                "{section}"
            );
            let inputs: Vec<(String, String)> = w
                .metrics
                .iter()
                .filter_map(|e| match e {
                    MetricEntry::Metric(r) => {
                        Some((r.props.id.clone().unwrap_or_default(), r.metric_name.clone()))
                    }
                    MetricEntry::Expression(_) => None,
                })
                .collect();
            assert_eq!(
                inputs,
                [
                    ("errors".to_owned(), "HTTPCode_Target_5XX_Count".to_owned()),
                    ("elb_errors".to_owned(), "HTTPCode_ELB_5XX_Count".to_owned()),
                    ("requests".to_owned(), "RequestCount".to_owned()),
                ],
                "{section}"
            );
        }
        // The title says what is plotted: the share of requests that failed, not those served.
        assert!(
            !titles(by_name(&ds, "compliance"))
                .iter()
                .any(|t| t.contains("without 5xx"))
        );
    }

    /// Seed 003 "Cost Monitoring": "Budget Alerts: 80% and 100% thresholds" and no billing alarm
    /// (`billing_alarms = false`, as Backoffice): the cost dashboard draws the budget's notices only;
    /// CollectIQ (seed 000: cost > 120 % warning, > 150 % critical) keeps its alarm lines. Each account
    /// taken as the platform's own (the default); a shared one is
    /// `a_shared_account_draws_no_budget_it_cannot_be_compared_with`.
    #[test]
    fn cost_lines_are_the_budgets_notices_and_the_billing_alarms() {
        let title = "Month-to-date spend vs budget (USD)";
        // Backoffice dev's spec says its account is shared (with CollectIQ dev): the whole account's
        // spend, and no budget line it cannot be compared with — from its spec alone, as the
        // organisation pass draws it.
        let ds = generate("backoffice-dev");
        let shared = metric_widget(by_name(&ds, "cost"), "Month-to-date spend, whole account (USD)");
        assert!(lines(shared).is_empty());
        let ds = generate("budgetbuddy-prod");
        let got = lines(metric_widget(by_name(&ds, "cost"), title));
        assert_eq!(
            got,
            [
                ("budget budgetbuddy-prod-monthly".to_owned(), 300.0),
                ("80 % (budget notice)".to_owned(), 240.0),
            ]
        );
        let ds = generate("collectiq-prod");
        let got: Vec<String> = lines(metric_widget(by_name(&ds, "cost"), title))
            .into_iter()
            .map(|(l, v)| format!("{l} = {v}"))
            .collect();
        assert_eq!(
            got,
            [
                "budget collectiq-prod-monthly = 500",
                "80 % (budget notice) = 400",
                "120 % (warning) = 600",
                "150 % (critical) = 750",
            ]
        );
    }

    #[test]
    fn snapshots_backoffice_and_budgetbuddy() {
        for d in generate("backoffice-dev")
            .into_iter()
            .chain(generate("budgetbuddy-prod"))
        {
            // Key order must not depend on serde_json's preserve_order, which other crates switch on.
            let mut settings = insta::Settings::clone_current();
            settings.set_sort_maps(true);
            let _sorted = settings.bind_to_scope();
            insta::assert_json_snapshot!(d.name.clone(), d.body);
        }
    }

    /// The `StorageType` values of the `BucketSizeBytes` rows of a widget, and their ids.
    fn bucket_size_rows(p: &crate::model::MetricWidgetProperties) -> Vec<(String, String)> {
        p.metrics
            .iter()
            .filter_map(|e| match e {
                MetricEntry::Metric(r) if r.metric_name == "BucketSizeBytes" => Some((
                    r.dimensions
                        .iter()
                        .find(|d| d.name == "StorageType")
                        .map(|d| d.value.clone())
                        .unwrap_or_default(),
                    r.props.id.clone().unwrap_or_default(),
                )),
                _ => None,
            })
            .collect()
    }

    /// `infra/modules/backend/uploads.tf` moves uploads to S3 Intelligent-Tiering after
    /// `upload_ia_transition_days` (30 by default); from then on S3 reports their bytes under the
    /// Intelligent-Tiering `StorageType`s, never `StandardStorage`: frequent (`…FAStorage`), infrequent
    /// after 30 days without access (`…IAStorage`), archive instant after 90 (`…AIAStorage`), all without
    /// any bucket configuration (the asynchronous archive tiers need one the bucket does not have). The
    /// object count (`AllStorageTypes`) keeps every object; the size must too.
    #[test]
    fn s3_size_counts_the_intelligent_tiering_the_uploads_move_to() {
        let tf = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/modules/backend/uploads.tf"),
        )
        .unwrap();
        assert!(
            tf.contains("\"INTELLIGENT_TIERING\""),
            "the uploads' lifecycle changed"
        );
        let stored = [
            "StandardStorage",
            "IntelligentTieringFAStorage",
            "IntelligentTieringIAStorage",
            "IntelligentTieringAIAStorage",
        ];
        let ds = generate("collectiq-prod");
        let bucket = "collectiq-prod-uploads-123456789012";
        let data = metric_widget(by_name(&ds, "data"), "Size and objects (daily)");
        let sizes = bucket_size_rows(data);
        let types: Vec<&str> = sizes.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, stored);
        // One visible size, the sum of every class; the object count beside it.
        let visible: Vec<&crate::model::ExpressionEntry> = data
            .metrics
            .iter()
            .filter_map(|e| match e {
                MetricEntry::Expression(x) if x.props.visible != Some(false) => Some(x),
                _ => None,
            })
            .collect();
        assert_eq!(visible.len(), 1);
        let mut summed = crate::validate::expression_references(&visible[0].expression);
        summed.sort();
        let mut ids: Vec<String> = sizes.iter().map(|(_, id)| id.clone()).collect();
        ids.sort();
        assert_eq!(summed, ids, "{}", visible[0].expression);
        assert!(visible[0].expression.split(" + ").count() == stored.len());
        assert!(rows(by_name(&ds, "data")).contains(&(
            "AWS/S3".to_owned(),
            "NumberOfObjects".to_owned(),
            vec![
                ("BucketName".to_owned(), bucket.to_owned()),
                ("StorageType".to_owned(), "AllStorageTypes".to_owned())
            ]
        )));
        // The cost dashboard's storage widget stacks the classes: its top is what is stored.
        let cost = metric_widget(
            by_name(&ds, "cost"),
            &format!("{bucket} storage (bytes, lifecycle / Intelligent-Tiering)"),
        );
        let types: Vec<String> = bucket_size_rows(cost).into_iter().map(|(t, _)| t).collect();
        assert_eq!(types, stored);
        assert_eq!(cost.stacked, Some(true));
        assert_eq!(labels(cost).len(), stored.len(), "every class visible");
    }

    /// `EstimatedCharges` is month-to-date and restarts on the 1st: a service's day-over-day difference
    /// is then minus last month's total. Metric math's `IF` takes single time series only ("For each of
    /// these syntaxes, the output is a single time series", CloudWatch user guide, "Using IF
    /// expressions"), so a `SEARCH`'s array cannot go through `IF`; arithmetic between an array and one
    /// time series is allowed, and a division by zero drops the point. The per-service differences are
    /// divided by a mask that is 0 on the restart day (from the account total, which restarts the same
    /// day), and that day's spend is drawn whole from the total, as the daily spend widget does.
    #[test]
    fn daily_spend_by_service_is_not_negative_when_the_month_restarts() {
        let ds = generate("collectiq-prod");
        let w = metric_widget(by_name(&ds, "cost"), "Daily spend by service (USD)");
        let mut ids = std::collections::BTreeMap::new();
        for e in &w.metrics {
            match e {
                MetricEntry::Metric(r) => {
                    // The account total (no ServiceName), hidden: only the mask and the restart day read it.
                    assert_eq!(r.metric_name, "EstimatedCharges");
                    assert_eq!(
                        r.dimensions.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
                        ["Currency"]
                    );
                    assert_eq!(r.props.visible, Some(false));
                    assert_eq!(r.props.stat.as_deref().or(w.stat.as_deref()), Some("Maximum"));
                    ids.insert(r.props.id.clone().unwrap(), "mtd".to_owned());
                }
                MetricEntry::Expression(x) => {
                    ids.insert(x.props.id.clone().unwrap(), x.expression.clone());
                }
            }
        }
        assert_eq!(ids.get("mtd").map(String::as_str), Some("mtd"));
        for (id, e) in &ids {
            if e.contains("SEARCH(") {
                assert!(!e.contains("IF("), "{id}: IF over a SEARCH array: {e}");
            }
        }
        let per_service: Vec<&String> = ids.values().filter(|e| e.contains("SEARCH(")).collect();
        assert_eq!(per_service.len(), 1, "{ids:?}");
        let (diff, mask) = per_service[0]
            .rsplit_once(" / ")
            .unwrap_or_else(|| panic!("not masked: {}", per_service[0]));
        assert!(
            diff.starts_with(
                "DIFF(SEARCH('{AWS/Billing,Currency,ServiceName} MetricName=\"EstimatedCharges\""
            ) && diff.ends_with("'Maximum', 86400))"),
            "{diff}"
        );
        assert_eq!(
            ids.get(mask).map(String::as_str),
            Some("IF(DIFF(mtd) < 0, 0, 1)"),
            "the mask is 0 the day the month restarts, 1 on the others"
        );
        let visible: Vec<&str> = w
            .metrics
            .iter()
            .filter_map(|e| match e {
                MetricEntry::Expression(x) if x.props.visible != Some(false) => Some(x.expression.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(visible, [per_service[0].as_str(), "IF(DIFF(mtd) < 0, mtd)"]);
    }

    /// Seed 000 pages on spend only at 150 % of the budget ("Critical": "Budget exceeded by 50%"); red is
    /// the colour of a line that pages. The budget itself is context: grey, on the overview as on the
    /// cost dashboard.
    #[test]
    fn only_critical_lines_are_red_and_the_budget_is_grey_everywhere() {
        let color_of = |p: &crate::model::MetricWidgetProperties, label: &str| -> Option<String> {
            p.annotations
                .iter()
                .flat_map(|a| a.horizontal.iter())
                .find_map(|h| match h {
                    crate::model::HorizontalAnnotation::Line(l) if l.label.as_deref() == Some(label) => {
                        l.color.clone()
                    }
                    _ => None,
                })
        };
        for name in [
            "collectiq-prod",
            "collectiq-dev",
            "backoffice-dev",
            "budgetbuddy-prod",
        ] {
            let ds = generate(name);
            for d in &ds {
                for w in &d.body.widgets {
                    let WidgetKind::Metric(p) = &w.kind else { continue };
                    for (label, _) in lines(p) {
                        if color_of(p, &label).as_deref() == Some(RED) {
                            assert!(label.contains("critical"), "{}: red line {label:?}", d.name);
                        }
                    }
                }
            }
            if spec(name).platform.shared_account && !spec(name).budgets[0].billing_alarms {
                continue; // no budget line (a_shared_account_draws_no_budget_it_cannot_be_compared_with)
            }
            let budget = format!("budget {name}-monthly");
            let overview = metric_widget(by_name(&ds, "overview"), "Month-to-date spend (USD, account)");
            let cost = metric_widget(by_name(&ds, "cost"), "Month-to-date spend vs budget (USD)");
            assert_eq!(color_of(cost, &budget).as_deref(), Some(GREY), "{name}");
            assert_eq!(color_of(overview, &budget), color_of(cost, &budget), "{name}");
        }
    }

    /// Backoffice dev runs in CollectIQ dev's account (`infra/platforms/org/collectiq-group.toml`,
    /// account `shared-dev`), and its spec turns the billing alarms off for that reason: the account's
    /// `EstimatedCharges` carries CollectIQ dev's spend (a $50 budget) against Backoffice's $20, so its
    /// budget lines would always read "over budget". The spend is drawn, as the whole account's, without
    /// them. CollectIQ dev, in the same account, keeps its billing alarms and so its lines; BudgetBuddy,
    /// alarms off but alone in its account, keeps its Budgets notices (seed 003: 80 % and 100 %).
    #[test]
    fn a_shared_account_draws_no_budget_it_cannot_be_compared_with() {
        let org = platform_spec::load_org(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/org/collectiq-group.toml"),
        )
        .unwrap();
        let specs: Vec<&PlatformSpec> = org.items.iter().map(|i| &i.spec).collect();
        let generate_in_org = |name: &str| {
            let s = specs
                .iter()
                .find(|s| s.managed_prefix() == name)
                .copied()
                .unwrap();
            let account = BillingAccount::among(s, specs.iter().copied());
            (
                account,
                dashboards_for(s, &CatalogueOptions::for_spec(s).with_billing_account(account)).unwrap(),
            )
        };
        let spend = |d: &Dashboard, title: &str| {
            let w = metric_widget(d, title);
            (
                labels(w),
                lines(w).into_iter().map(|(l, _)| l).collect::<Vec<_>>(),
            )
        };
        let (account, ds) = generate_in_org("backoffice-dev");
        assert_eq!(account, BillingAccount::Shared);
        assert!(!spec("backoffice-dev").budgets[0].billing_alarms);
        let (labels, lines) = spend(by_name(&ds, "overview"), "Month-to-date spend (USD, account)");
        assert_eq!(labels, ["spend (whole account)"]);
        assert!(lines.is_empty(), "{lines:?}");
        let (labels, lines) = spend(by_name(&ds, "cost"), "Month-to-date spend, whole account (USD)");
        assert_eq!(labels, ["spend (whole account)"]);
        assert!(lines.is_empty(), "{lines:?}");

        let (account, ds) = generate_in_org("collectiq-dev");
        assert_eq!(account, BillingAccount::Shared);
        let (labels, lines) = spend(by_name(&ds, "cost"), "Month-to-date spend vs budget (USD)");
        assert_eq!(labels, ["spend (whole account)"]);
        assert_eq!(
            lines,
            [
                "budget collectiq-dev-monthly",
                "80 % (budget notice)",
                "120 % (warning)",
                "150 % (critical)"
            ]
        );

        let (account, ds) = generate_in_org("budgetbuddy-prod");
        assert_eq!(account, BillingAccount::Own);
        let (labels, lines) = spend(by_name(&ds, "cost"), "Month-to-date spend vs budget (USD)");
        assert_eq!(labels, ["spend"]);
        assert_eq!(lines, ["budget budgetbuddy-prod-monthly", "80 % (budget notice)"]);
    }
}
