//! The platform spec model: what exists in one platform environment.
//!
//! Field names mirror the TOML keys (`snake_case`). Unknown keys are errors, so a typo cannot silently
//! drop a function from the dashboards and alarms.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use telemetry::catalogue::Agent;

/// One platform environment: everything dashboards, alarms and cost need to know about it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    /// Identity of the platform environment.
    pub platform: PlatformInfo,
    /// Lambda functions.
    #[serde(default)]
    pub functions: Vec<FunctionSpec>,
    /// API Gateway HTTP APIs.
    #[serde(default)]
    pub http_apis: Vec<HttpApiSpec>,
    /// Step Functions state machines.
    #[serde(default)]
    pub state_machines: Vec<StateMachineSpec>,
    /// DynamoDB tables.
    #[serde(default)]
    pub tables: Vec<TableSpec>,
    /// SQS queues and dead-letter queues.
    #[serde(default)]
    pub queues: Vec<QueueSpec>,
    /// S3 buckets.
    #[serde(default)]
    pub buckets: Vec<BucketSpec>,
    /// ECS services (Fargate), optionally behind an ALB.
    #[serde(default)]
    pub ecs_services: Vec<EcsServiceSpec>,
    /// Bedrock models the platform calls.
    #[serde(default)]
    pub bedrock_models: Vec<BedrockModelSpec>,
    /// AWS Budgets watched by the cost governance.
    #[serde(default)]
    pub budgets: Vec<BudgetSpec>,
    /// Where reports and alarms go.
    pub notifications: NotificationSpec,
    /// The governance ledger (DynamoDB).
    pub ledger: LedgerSpec,
    /// The governance Lambdas deployed beside the platform (absent: none in its account).
    #[serde(default)]
    pub governance: GovernanceSpec,
    /// Cost governance settings.
    #[serde(default)]
    pub cost: CostSettings,
}

/// The governance Lambdas' logical names, as Terraform's governance module names them (the cargo
/// bin and zip names).
pub const GOVERNANCE_FUNCTIONS: [&str; 4] = [
    "governance-cost",
    "governance-fastburn",
    "governance-alarms",
    "governance-dashboards",
];

/// `[governance]`: the governance Lambdas Terraform deploys in the platform's account
/// (`infra/modules/governance`), each named `{platform}-{env}-{logical name}`. The alarm catalogue gives
/// each the seeds' Lambda error alarms, paging on-call: the watcher is watched (issue 13), beside the
/// failures queue's Terraform-owned alarm that pages even if the alarms function never ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceSpec {
    /// Logical names, each one of [`GOVERNANCE_FUNCTIONS`], once.
    #[serde(default)]
    pub functions: Vec<String>,
}

/// `[platform]`: identity and platform-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformInfo {
    /// Platform name, lowercase (`collectiq`). First part of every generated resource name.
    pub name: String,
    /// Environment (`dev`, `prod`).
    pub environment: String,
    /// AWS region (`us-east-1`).
    pub region: String,
    /// Account id, when known (console links use it).
    #[serde(default)]
    pub account_id: Option<String>,
    /// Team that owns the platform (the `Owner` tag).
    #[serde(default)]
    pub owner: Option<String>,
    /// The `Project` tag of the resources the tool creates (seed 001: `CollectIQ`).
    #[serde(default)]
    pub project: Option<String>,
    /// The `CostCenter` tag of the resources the tool creates (seed 001: `Engineering`).
    #[serde(default)]
    pub cost_center: Option<String>,
    /// CloudWatch Logs retention for every log group of the platform, in days.
    pub log_retention_days: u32,
    /// X-Ray sampling in percent (0..=100); `None` means Lambda's default (the first request each
    /// second and 5 % of the rest). [`PlatformInfo::xray_sampling`] is the typed value consumers read.
    #[serde(default)]
    pub xray_sampling_percent: Option<u8>,
    /// Log level of the platform's functions (`POWERTOOLS_LOG_LEVEL`): seed 001 runs dev at `DEBUG` and
    /// prod at `INFO`. `None` leaves the deployment's default.
    #[serde(default)]
    pub log_level: Option<LogLevel>,
    /// Compliance frameworks the platform reports on (`["PCI-DSS", "SOC2", "HIPAA"]`); when any, the
    /// dashboards include a compliance dashboard of the evidence CloudWatch has (seed 003).
    #[serde(default)]
    pub compliance_frameworks: Vec<String>,
    /// `POWERTOOLS_SERVICE_NAME` of every function: the `service` field of log lines and the `service`
    /// dimension of custom metrics. One per platform keeps metric cardinality (and cost) low and lets
    /// readers name it exactly; the function is in `function_name`. Defaults to `name`.
    #[serde(default)]
    pub service_name: Option<String>,
    /// The account runs other platforms too (seeds 001 and 002: CollectIQ dev and Backoffice dev share
    /// one dev account), so its `AWS/Billing` `EstimatedCharges` is theirs as well. Every publisher of
    /// the spec's dashboards reads it here — the organisation pass, the platform's own Lambda and the
    /// CLI — so they draw the same cost widgets instead of rewriting each other's every day. An
    /// organisation spec listing several platforms under one account requires it on each.
    #[serde(default)]
    pub shared_account: bool,
}

/// A function's log level (`POWERTOOLS_LOG_LEVEL`), spelled as Powertools spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// `DEBUG`: everything (dev).
    Debug,
    /// `INFO` (prod).
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

impl LogLevel {
    /// The value as Powertools reads it (`DEBUG`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
        }
    }
}

/// The fraction of requests X-Ray records, from `platform.xray_sampling_percent`.
///
/// ```
/// let s = platform_spec::XraySampling::from_percent(5);
/// assert_eq!(s.fixed_rate(), 0.05);
/// // 5 % of 400 requests: 20 traces are expected, not 400.
/// assert_eq!(s.expected_traces(400), 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XraySampling {
    percent: u8,
}

impl XraySampling {
    /// `percent` of requests (clamped to 100).
    #[must_use]
    pub const fn from_percent(percent: u8) -> Self {
        Self {
            percent: if percent > 100 { 100 } else { percent },
        }
    }

    /// The percentage (0..=100).
    #[must_use]
    pub const fn percent(self) -> u8 {
        self.percent
    }

    /// The X-Ray sampling rule's `FixedRate` (0.0..=1.0), as `CreateSamplingRule` and Terraform's
    /// `aws_xray_sampling_rule.fixed_rate` take it.
    #[must_use]
    pub fn fixed_rate(self) -> f64 {
        f64::from(self.percent) / 100.0
    }

    /// How many of `requests` are expected to be traced (rounded down): what a "no traces" check
    /// must compare with, so a 5 %-sampled platform is not reported as untraced at low traffic.
    #[must_use]
    pub const fn expected_traces(self, requests: u64) -> u64 {
        requests.saturating_mul(self.percent as u64) / 100
    }
}

/// How much a resource matters to the people paged for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// On the user's path (API, valuation pipeline): its failures page on-call.
    Critical,
    /// Important but not user-facing: warnings to Slack.
    Standard,
    /// Best effort (reports, housekeeping): warnings only, lower sensitivity.
    Background,
}

/// `[[functions]]`: one Lambda function.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    /// Logical id used by routes and state machines (`cards_get`).
    pub id: String,
    /// Deployed function name (`prod-collectiq-cards-get`, seed 004's pattern), the `FunctionName` dimension.
    pub name: String,
    /// Memory in MB (128..=10240).
    pub memory_mb: u32,
    /// Timeout in seconds (1..=900).
    pub timeout_s: u32,
    /// Criticality tier.
    pub tier: Tier,
    /// Lambda runtime identifier (`provided.al2023`, `python3.11`): one of [`crate::LAMBDA_RUNTIMES`].
    #[serde(default = "default_runtime")]
    pub runtime: String,
    /// Instruction set (`x86_64` unless the spec says `arm64`).
    #[serde(default)]
    pub architecture: Architecture,
    /// The agent this function implements, if any.
    #[serde(default, deserialize_with = "de_agent_opt")]
    #[serde(serialize_with = "ser_agent_opt")]
    pub agent: Option<Agent>,
    /// A warning when an invocation's maximum `Duration` passes 90 % of `timeout_s` in 3 of 5 minutes —
    /// seed 001's "Lambda duration approaching timeout" for CollectIQ. Turn it off (`false`) where the
    /// platform's own documents name the alarms it wants and latency is not one of them (seed 002,
    /// Backoffice: errors, throttles, 5xx). Default `true`.
    #[serde(default = "default_true")]
    pub near_timeout_alarm: bool,
}

/// A Lambda function's instruction set, spelled as Lambda's `Architectures` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
pub enum Architecture {
    /// `x86_64` (Lambda's default).
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    /// `arm64` (Graviton: about 20 % cheaper per GB-second).
    #[serde(rename = "arm64")]
    Arm64,
}

fn default_runtime() -> String {
    "provided.al2023".to_owned()
}

/// `[[http_apis]]`: one API Gateway HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpApiSpec {
    /// API name.
    pub name: String,
    /// API id (the `ApiId` dimension).
    pub id: String,
    /// Stage (`$default`), the `Stage` dimension.
    #[serde(default = "default_stage")]
    pub stage: String,
    /// Routes.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// The CloudWatch Logs group of the stage's access log, if access logging is on (Logs Insights
    /// queries over endpoints read it).
    #[serde(default)]
    pub access_log_group: Option<String>,
    /// Warnings on the stage's p95 and p99 `Latency` — seed 000/001's rules for CollectIQ's API. Turn them
    /// off (`false`) where the platform's own documents name the alarms it wants and latency is not one
    /// of them (seed 002, Backoffice: errors, throttles, 5xx). Default `true`.
    #[serde(default = "default_true")]
    pub latency_alarms: bool,
    /// Whether a 5xx rate above 5 % pages on-call (seeds 000/001 for CollectIQ's API: critical). `false`
    /// where the platform's own documents list 5xx among its alarms without a severity (seed 002,
    /// Backoffice: "Errors, throttles, 5xx"): a warning to Slack, as its other alarms. Default `true`.
    #[serde(default = "default_true")]
    pub page_on_5xx: bool,
}

fn default_stage() -> String {
    "$default".to_owned()
}

/// How a route authenticates callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteAuth {
    /// Cognito JWT authorizer.
    Jwt,
    /// No authorizer: health checks, and public APIs (seed 002's Backoffice REST API).
    None,
}

/// `[[http_apis.routes]]`: one route.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// HTTP method (`GET`).
    pub method: String,
    /// Path (`/cards/{id}`).
    pub path: String,
    /// Id of the function that serves it.
    pub function: String,
    /// Authorization.
    #[serde(default = "default_auth")]
    pub auth: RouteAuth,
}

fn default_auth() -> RouteAuth {
    RouteAuth::Jwt
}

impl RouteSpec {
    /// The route key as API Gateway spells it (`GET /cards/{id}`): the label of its series (CloudWatch
    /// publishes them by `Method` and `Resource`).
    #[must_use]
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// `[[state_machines]]`: one Step Functions state machine.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StateMachineSpec {
    /// Name.
    pub name: String,
    /// ARN, the `StateMachineArn` dimension.
    pub arn: String,
    /// Function ids of its Lambda tasks, in order.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// Normal execution time, in seconds; the duration warning fires above it. Below the longest an
    /// execution runs (`EXPRESS`: 1..=299, executions last at most 5 minutes; `STANDARD`: under a year).
    #[serde(default = "default_sfn_duration")]
    pub expected_duration_s: u32,
    /// `STANDARD` or `EXPRESS` (seed 001: Standard in dev for debugging, Express in prod).
    #[serde(default)]
    pub workflow_type: WorkflowType,
}

/// A state machine's type, spelled as Step Functions spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WorkflowType {
    /// `STANDARD`: exactly-once, execution history kept for 90 days.
    #[default]
    Standard,
    /// `EXPRESS`: at-least-once, high volume, history only in CloudWatch Logs.
    Express,
}

fn default_sfn_duration() -> u32 {
    30
}

/// `[[tables]]`: one DynamoDB table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// Table name.
    pub name: String,
    /// Partition key attribute.
    pub partition_key: String,
    /// Sort key attribute.
    #[serde(default)]
    pub sort_key: Option<String>,
    /// Global secondary indexes.
    #[serde(default)]
    pub gsis: Vec<GsiSpec>,
    /// TTL attribute, if TTL is on.
    #[serde(default)]
    pub ttl_attribute: Option<String>,
    /// Whether throttling pages on-call (a critical alarm, throttle events in 3 of 5 minutes — seed
    /// 000's "DynamoDB throttling detected" for CollectIQ) besides the warning on any throttle event in
    /// 5 minutes, which every table gets. `false` where the platform's own documents rank throttling
    /// below a page (seed 003, BudgetBuddy: "capacity issues" are Medium; Critical is an outage, a breach
    /// or a security incident). Default `true`.
    #[serde(default = "default_true")]
    pub page_on_throttling: bool,
}

/// `[[tables.gsis]]`: one global secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GsiSpec {
    /// Index name, the `GlobalSecondaryIndexName` dimension.
    pub name: String,
    /// Partition key attribute.
    pub partition_key: String,
    /// Sort key attribute.
    #[serde(default)]
    pub sort_key: Option<String>,
}

/// What a queue is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// A work queue.
    Queue,
    /// A dead-letter queue: any message in it is a failure someone must look at.
    Dlq,
}

/// `[[queues]]`: one SQS queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// Queue name, the `QueueName` dimension.
    pub name: String,
    /// Work queue or DLQ.
    pub kind: QueueKind,
}

/// `[[buckets]]`: one S3 bucket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    /// Bucket name.
    pub name: String,
}

/// `[[ecs_services]]`: one ECS service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EcsServiceSpec {
    /// Cluster name, the `ClusterName` dimension.
    pub cluster: String,
    /// Service name, the `ServiceName` dimension.
    pub service: String,
    /// Launch type (`FARGATE`).
    #[serde(default = "default_launch_type")]
    pub launch_type: String,
    /// Desired task count.
    pub desired_count: u32,
    /// The ALB in front of it, if any.
    #[serde(default)]
    pub load_balancer: Option<LoadBalancerSpec>,
    /// The CloudWatch Logs group the containers log to (`awslogs-group`), if known.
    #[serde(default)]
    pub log_group: Option<String>,
}

fn default_launch_type() -> String {
    "FARGATE".to_owned()
}

/// `load_balancer = { .. }`: an Application Load Balancer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// The `LoadBalancer` dimension value (`app/name/0123456789abcdef`).
    pub arn_suffix: String,
    /// The `TargetGroup` dimension value (`targetgroup/name/0123456789abcdef`).
    pub target_group_arn_suffix: String,
}

/// `[[bedrock_models]]`: one Bedrock model the platform calls.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BedrockModelSpec {
    /// Model id or inference-profile id as passed to Converse (the `ModelId` dimension).
    pub id: String,
    /// Human label (`Claude 3.5 Sonnet`).
    pub label: String,
    /// The Cost Explorer SERVICE name it is billed under, when it is a Marketplace model.
    #[serde(default)]
    pub billing_service: Option<String>,
    /// Agents that call it.
    #[serde(default, deserialize_with = "de_agents", serialize_with = "ser_agents")]
    pub agents: Vec<Agent>,
    /// Other `ModelId` values that stand for this model: application-inference-profile ARNs (opaque,
    /// `GetInferenceProfile` tells which model they invoke), cross-region inference-profile ids
    /// (`us.anthropic…`) or ids the price table does not resolve by itself. AWS/Bedrock publishes a
    /// call's metrics under the `ModelId` it was made with, so a deployment that calls through a
    /// profile leaves `id`'s series empty: cost governance prices their tokens as `id` and always
    /// queries their metrics, and the model's alarms and dashboard rows sum `id`'s and every alias's
    /// series ([`Self::model_ids`]). At most [`MAX_MODEL_ALIASES`]. Not exported to Terraform.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// The most `aliases` one `[[bedrock_models]]` may have: a model's throttle and token alarms read `id`'s
/// and every alias's series in one metric-math alarm, and CloudWatch takes at most 10 metrics in one
/// (`PutMetricAlarm` `Metrics`: ≤ 10 `MetricStat`).
pub const MAX_MODEL_ALIASES: usize = 9;

/// The most Bedrock model ids (every `[[bedrock_models]]` `id` and alias) one spec may name: the
/// dashboards draw each in one widget with all the others (tokens per day: two rows an id and one sum a
/// model; latency: three lines an id), and CloudWatch takes at most 500 metrics in one widget.
pub const MAX_SPEC_MODEL_IDS: usize = 100;

impl BedrockModelSpec {
    /// Every `ModelId` value AWS/Bedrock publishes this model's metrics under: `id`, then each alias, in
    /// the spec's order (trimmed, as the loader checks them).
    ///
    /// ```
    /// let spec = platform_spec::parse(r#"
    /// [platform]
    /// name = "demo"
    /// environment = "dev"
    /// region = "us-east-1"
    /// log_retention_days = 30
    /// [[bedrock_models]]
    /// id = "anthropic.claude-3-5-haiku-20241022-v1:0"
    /// label = "Claude 3.5 Haiku"
    /// aliases = ["us.anthropic.claude-3-5-haiku-20241022-v1:0"]
    /// [notifications]
    /// slack_webhook_secret = "demo/slack"
    /// sns_critical_topic_arn = "arn:aws:sns:us-east-1:123456789012:crit"
    /// sns_warning_topic_arn = "arn:aws:sns:us-east-1:123456789012:warn"
    /// [ledger]
    /// table = "demo-ledger"
    /// "#, "demo.toml").unwrap();
    /// let ids: Vec<&str> = spec.bedrock_models[0].model_ids().collect();
    /// assert_eq!(ids, ["anthropic.claude-3-5-haiku-20241022-v1:0", "us.anthropic.claude-3-5-haiku-20241022-v1:0"]);
    /// ```
    pub fn model_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.trim()).chain(self.aliases.iter().map(|a| a.trim()))
    }
}

/// `[[budgets]]`: one AWS Budget.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Budget name in AWS Budgets.
    pub name: String,
    /// Monthly limit in USD.
    #[serde(deserialize_with = "de_budget_usd")]
    pub limit_usd: Decimal,
    /// ACTUAL thresholds in percent (`[80, 100]`).
    pub actual_thresholds_percent: Vec<u32>,
    /// FORECASTED thresholds in percent (`[100]`).
    #[serde(default)]
    pub forecast_thresholds_percent: Vec<u32>,
    /// CloudWatch alarms on `AWS/Billing` `EstimatedCharges` at 120 % (warning) and 150 % (pages on-call)
    /// of `limit_usd` — seed 000's rule for CollectIQ. `EstimatedCharges` is account-wide: turn them off
    /// (`false`) where the account holds other platforms' spend, or where the platform's own documents ask
    /// for Budgets' notices only. Default `true`.
    #[serde(default = "default_true")]
    pub billing_alarms: bool,
}

const fn default_true() -> bool {
    true
}

/// `[notifications]`: where reports and alarms go. Names and ARNs only, never secrets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSpec {
    /// Secrets Manager secret name holding the Slack incoming-webhook URL.
    pub slack_webhook_secret: String,
    /// SNS topic for critical alarms (pages on-call).
    pub sns_critical_topic_arn: String,
    /// SNS topic for warnings (Slack).
    pub sns_warning_topic_arn: String,
    /// E-mail addresses that receive what goes by e-mail (the budget's 80 % notice). Addresses, not
    /// secrets; empty when the platform has none.
    #[serde(default)]
    pub email: Vec<String>,
    /// Where the runbooks are published (`https://git.example/ops/blob/main/alarms/runbooks`): each
    /// alarm's description then links `{base}/{file}`, a link someone paged can open. Unset: the
    /// repository path (`alarms/runbooks/api-5xx.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook_base_url: Option<String>,
}

/// `[ledger]`: the governance ledger table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSpec {
    /// DynamoDB table name (PK `pk`, SK `sk`, TTL `expires_at`).
    pub table: String,
}

/// `[cost]`: cost governance settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CostSettings {
    /// Most Cost Explorer requests per UTC day ($0.01 each).
    #[serde(default = "default_ce_cap")]
    pub ce_daily_request_cap: u32,
    /// A service's day must cost at least this much to be reported as an anomaly.
    #[serde(default = "default_anomaly_floor", deserialize_with = "de_usd")]
    pub anomaly_min_daily_usd: Decimal,
    /// Drift between estimated and billed Bedrock spend that raises a warning, in percent.
    #[serde(default = "default_drift")]
    pub reconciliation_drift_percent: u32,
    /// The cost model the platform was designed against, if any.
    #[serde(default)]
    pub design_model: Option<DesignCostModel>,
}

impl Default for CostSettings {
    fn default() -> Self {
        Self {
            ce_daily_request_cap: default_ce_cap(),
            anomaly_min_daily_usd: default_anomaly_floor(),
            reconciliation_drift_percent: default_drift(),
            design_model: None,
        }
    }
}

fn default_ce_cap() -> u32 {
    5
}
fn default_anomaly_floor() -> Decimal {
    Decimal::from(5)
}
fn default_drift() -> u32 {
    10
}

/// `[cost.design_model]`: the monthly cost model the platform was designed against.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DesignCostModel {
    /// Valuations per month the model assumes (1..=[`Self::MAX_VALUATIONS_PER_MONTH`]).
    #[serde(deserialize_with = "de_valuations")]
    pub valuations_per_month: u64,
    /// Monthly USD per component (`bedrock`, `rekognition`, `lambda`, ...).
    #[serde(deserialize_with = "de_usd_map")]
    pub components_usd: std::collections::BTreeMap<String, Decimal>,
    /// Bedrock tokens per valuation the model assumes; `None` when the design does not say (the report
    /// then cannot price the design's tokens at today's models).
    #[serde(default)]
    pub tokens_per_valuation: Option<TokensPerValuation>,
}

/// `tokens_per_valuation = { input = 1000, output = 200 }`: Bedrock tokens one valuation uses, all
/// agents together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokensPerValuation {
    /// Input (prompt) tokens.
    #[serde(deserialize_with = "de_tokens")]
    pub input: u64,
    /// Output (completion) tokens.
    #[serde(deserialize_with = "de_tokens")]
    pub output: u64,
}

impl TokensPerValuation {
    /// The most tokens of either kind a valuation may be stated to use: 10 million (far above any
    /// context window times a handful of calls), so a typo of extra zeros is caught.
    pub const MAX: u64 = 10_000_000;
}

impl DesignCostModel {
    /// The most valuations a month a design model may assume: 10^10, about 3,800 a second all month.
    pub const MAX_VALUATIONS_PER_MONTH: u64 = 10_000_000_000;

    /// Total monthly USD of the model.
    #[must_use]
    pub fn total_usd(&self) -> Decimal {
        self.components_usd.values().copied().sum()
    }
}

/// The largest budget a spec may state, in USD (10¹²): sums of budgets stay far inside `Decimal`'s range
/// (a limit of 7.9·10²⁸ made the fast-burn pass's sum overflow and panic).
pub const MAX_BUDGET_USD: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// How a money field is read: a TOML number (integer or float), at most [`MAX_BUDGET_USD`], not negative
/// (`positive`: above 0 too), with at most `decimals` decimal places.
///
/// A string (`limit_usd = "500"`) is refused as every other number field refuses one; a float's shortest
/// round-trip text is what the author typed, so that is what is read, not the binary value.
#[derive(Debug, Clone, Copy)]
struct UsdRule {
    positive: bool,
    decimals: u32,
}

/// A budget's limit: AWS Budgets takes `Spend.Amount` as a plain decimal (`([0-9]*\.)?[0-9]+`), and a
/// monthly limit finer than a cent is a typo (`1e-28` was exported to Terraform as
/// `1.0000000000000001e-28`).
const BUDGET_LIMIT: UsdRule = UsdRule {
    positive: true,
    decimals: 2,
};

/// Any other amount (the anomaly floor, the design model's components): 0 allowed, to a millionth.
const AMOUNT: UsdRule = UsdRule {
    positive: false,
    decimals: 6,
};

impl UsdRule {
    fn range(self) -> String {
        format!(
            "{} and at most {MAX_BUDGET_USD} (10^12; no account's bill is larger)",
            if self.positive { "> 0" } else { ">= 0" }
        )
    }

    /// `value` (as the author wrote it: `shown`) when it keeps the rule.
    fn check(self, value: Decimal, shown: &str) -> Result<Decimal, String> {
        if value.is_sign_negative() && !value.is_zero()
            || self.positive && value.is_zero()
            || value > MAX_BUDGET_USD
        {
            return Err(format!(
                "expected an amount in USD {}, found {shown}",
                self.range()
            ));
        }
        if value.normalize().scale() > self.decimals {
            return Err(self.too_fine(shown));
        }
        Ok(value)
    }

    fn too_fine(self, shown: &str) -> String {
        format!(
            "expected an amount in USD with at most {} decimal places{}, found {shown}",
            self.decimals,
            if self.decimals == 2 { " (whole cents)" } else { "" }
        )
    }
}

struct UsdVisitor(UsdRule);

impl serde::de::Visitor<'_> for UsdVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an amount in USD (a number)")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
        self.0.check(Decimal::from(v), &v.to_string()).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
        self.0.check(Decimal::from(v), &v.to_string()).map_err(E::custom)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
        // Shown as written for everyday magnitudes, else in exponent form: `1e308` is 309 digits long.
        let shown = if !v.is_finite() || v == 0.0 || (1e-4..1e16).contains(&v.abs()) {
            v.to_string()
        } else {
            format!("{v:e}")
        };
        if !v.is_finite() || v.abs() > 1e12 {
            return Err(E::custom(format!(
                "expected an amount in USD {}, found {shown}",
                self.0.range()
            )));
        }
        // Finer than any rule's decimals (`Decimal` would round `1e-40` to 0, or fail past 28 places).
        if v != 0.0 && v.abs() < 1e-6 {
            return Err(E::custom(self.0.too_fine(&shown)));
        }
        let value = v
            .to_string()
            .parse::<Decimal>()
            .map_err(|_| E::custom(self.0.too_fine(&shown)))?;
        self.0.check(value, &shown).map_err(E::custom)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
        Err(E::custom(format!(
            "expected an amount in USD (a number), found the string {v:?}: write the number without quotes"
        )))
    }
}

fn de_budget_usd<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_any(UsdVisitor(BUDGET_LIMIT))
}

fn de_usd<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    d.deserialize_any(UsdVisitor(AMOUNT))
}

/// One amount of a map of amounts, read as [`de_usd`] reads one (so an error names its key).
struct Usd(Decimal);

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_usd(d).map(Usd)
    }
}

fn de_usd_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, Decimal>, D::Error> {
    Ok(std::collections::BTreeMap::<String, Usd>::deserialize(d)?
        .into_iter()
        .map(|(k, Usd(v))| (k, v))
        .collect())
}

/// A whole number of at most `MAX`, refused with `what` (`tokens per valuation`) and its line: above
/// `i64::MAX` TOML has no integer, and the value went on without a line to name.
fn de_at_most<'de, D: Deserializer<'de>, const MAX: u64>(d: D, what: &str) -> Result<u64, D::Error> {
    let n = u64::deserialize(d)?;
    if n > MAX {
        return Err(serde::de::Error::custom(format!(
            "expected at most {MAX} {what}, found {n}"
        )));
    }
    Ok(n)
}

fn de_tokens<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    de_at_most::<D, { TokensPerValuation::MAX }>(d, "tokens per valuation")
}

fn de_valuations<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    de_at_most::<D, { DesignCostModel::MAX_VALUATIONS_PER_MONTH }>(d, "valuations a month")
}

fn agent_from(name: &str) -> Result<Agent, String> {
    Agent::ALL
        .into_iter()
        .find(|a| a.as_str() == name)
        .ok_or_else(|| {
            let known: Vec<_> = Agent::ALL.iter().map(|a| a.as_str()).collect();
            format!("unknown agent {name:?}, expected one of {}", known.join(", "))
        })
}

fn de_agent_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Agent>, D::Error> {
    let name = String::deserialize(d)?;
    agent_from(&name).map(Some).map_err(serde::de::Error::custom)
}

fn de_agents<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Agent>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|n| agent_from(n))
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}

fn ser_agent_opt<S: serde::Serializer>(agent: &Option<Agent>, s: S) -> Result<S::Ok, S::Error> {
    match agent {
        Some(a) => s.serialize_some(a.as_str()),
        None => s.serialize_none(),
    }
}

fn ser_agents<S: serde::Serializer>(agents: &[Agent], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(agents.iter().map(|a| a.as_str()))
}

impl PlatformInfo {
    /// The X-Ray sampling the spec asks for, if any.
    #[must_use]
    pub fn xray_sampling(&self) -> Option<XraySampling> {
        self.xray_sampling_percent.map(XraySampling::from_percent)
    }
}

impl FunctionSpec {
    /// The function's CloudWatch Logs group, `/aws/lambda/{name}` (Lambda's default).
    #[must_use]
    pub fn log_group(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }
}

impl PlatformSpec {
    /// `{platform}-{env}`, the prefix of every name governance manages (dashboards, alarms).
    #[must_use]
    pub fn managed_prefix(&self) -> String {
        format!("{}-{}", self.platform.name, self.platform.environment)
    }

    /// The deployed name of the governance Lambda `logical` (`governance-cost` →
    /// `collectiq-prod-governance-cost`), as Terraform's governance module names it.
    #[must_use]
    pub fn governance_function_name(&self, logical: &str) -> String {
        format!("{}-{logical}", self.managed_prefix())
    }

    /// The part of an alarm name a resource called `name` gives: the name without the platform prefix
    /// (`collectiq-prod-api` → `api`; names spelled environment first, `dev-backoffice-data`, lose that
    /// prefix too), [`name_part`]-normalised; a name that is nothing but a prefix (`prod-CollectIQ`)
    /// becomes `kind`. Two resources of a kind with the same part would give two alarms one name, which
    /// the loader refuses.
    ///
    /// ```
    /// let spec = platform_spec::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"),
    ///     "/../../infra/platforms/collectiq-prod.toml"))).unwrap();
    /// assert_eq!(spec.resource_part("collectiq-prod-valuation-dlq", "dlq"), "valuation-dlq");
    /// assert_eq!(spec.resource_part("prod-CollectIQ", "data"), "data");
    /// assert_eq!(spec.resource_part("Other_Table", "data"), "other-table");
    /// ```
    #[must_use]
    pub fn resource_part(&self, name: &str, kind: &str) -> String {
        let own = self.managed_prefix();
        let env_first = format!("{}-{}", self.platform.environment, self.platform.name);
        for prefix in [own.as_str(), env_first.as_str()] {
            if name.eq_ignore_ascii_case(prefix) {
                return kind.to_owned();
            }
            if let Some(rest) = name
                .get(..=prefix.len())
                .filter(|head| head.eq_ignore_ascii_case(&format!("{prefix}-")))
                .and_then(|_| name.get(prefix.len() + 1..))
                .filter(|rest| !name_part(rest).is_empty())
            {
                return name_part(rest);
            }
        }
        name_part(name)
    }

    /// The `service` every function of the platform emits under (`platform.service_name`, else
    /// `platform.name`).
    #[must_use]
    pub fn service_name(&self) -> &str {
        self.platform
            .service_name
            .as_deref()
            .unwrap_or(&self.platform.name)
    }

    /// The function with logical id `id`.
    #[must_use]
    pub fn function(&self, id: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.id == id)
    }

    /// Dead-letter queues.
    pub fn dlqs(&self) -> impl Iterator<Item = &QueueSpec> {
        self.queues.iter().filter(|q| q.kind == QueueKind::Dlq)
    }

    /// Every `[[bedrock_models]] aliases` entry → the model's `id`.
    ///
    /// ```
    /// let spec = platform_spec::parse(r#"
    /// [platform]
    /// name = "demo"
    /// environment = "dev"
    /// region = "us-east-1"
    /// log_retention_days = 30
    /// [[bedrock_models]]
    /// id = "anthropic.claude-3-5-haiku-20241022-v1:0"
    /// label = "Claude 3.5 Haiku"
    /// aliases = ["arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"]
    /// [notifications]
    /// slack_webhook_secret = "demo/slack"
    /// sns_critical_topic_arn = "arn:aws:sns:us-east-1:123456789012:crit"
    /// sns_warning_topic_arn = "arn:aws:sns:us-east-1:123456789012:warn"
    /// [ledger]
    /// table = "demo-ledger"
    /// "#, "demo.toml").unwrap();
    /// let aliases = spec.model_aliases();
    /// assert_eq!(
    ///     aliases["arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"],
    ///     "anthropic.claude-3-5-haiku-20241022-v1:0"
    /// );
    /// ```
    #[must_use]
    pub fn model_aliases(&self) -> std::collections::BTreeMap<String, String> {
        self.bedrock_models
            .iter()
            .flat_map(|m| m.aliases.iter().map(|a| (a.trim().to_owned(), m.id.clone())))
            .collect()
    }
}

/// A name as alarm and widget names spell it: lower case, each run of anything but ASCII letters and
/// digits as one `-`, none at the ends (`cards_get` → `cards-get`, `Claude 3.5` → `claude-3-5`).
///
/// ```
/// assert_eq!(platform_spec::name_part("Anthropic.Claude_3.5:v1"), "anthropic-claude-3-5-v1");
/// ```
#[must_use]
pub fn name_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}
