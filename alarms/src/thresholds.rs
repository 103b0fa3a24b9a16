//! Which alarms a spec item gets and at what threshold, decided once: [`crate::catalogue`] builds its
//! alarms from these rules and the `dashboards` crate draws them as threshold lines, so a dashboard never
//! draws a line for an alarm that does not exist, or with another severity or value.
//!
//! Each rule reads the spec field that turns it off for a platform whose own seed names other alarms
//! (`[[http_apis]].latency_alarms`, `[[functions]].near_timeout_alarm`, `[[budgets]].billing_alarms`).
//!
//! ```
//! use alarms::catalogue::Severity;
//! let spec = platform_spec::load(std::path::Path::new(concat!(
//!     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/backoffice-dev.toml"
//! ))).unwrap();
//! // Seed 002: errors, throttles, 5xx — no latency or duration alarm, a standard function warns.
//! assert!(alarms::thresholds::api_latency(&spec.http_apis[0]).is_empty());
//! assert_eq!(alarms::thresholds::near_timeout_ms(&spec.functions[0]), None);
//! assert_eq!(alarms::thresholds::lambda_errors_severity(&spec.functions[0]), Severity::Warning);
//! assert_eq!(alarms::thresholds::api_5xx_severity(&spec.http_apis[0]), Severity::Warning);
//! ```

use crate::severity::Severity;
use crate::spec::{MathInput, MetricRef};
use platform_spec::{BudgetSpec, FunctionSpec, HttpApiSpec, LoadBalancerSpec, PlatformSpec, Tier};
use vocabulary::aws::application_elb;
use vocabulary::{AwsMetric, Stat, dimension};

/// HTTP API: the critical 5xx rate, in percent of requests (seeds 000/001: "API 5xx rate > 5 %").
pub const API_5XX_RATE_PERCENT: f64 = 5.0;

/// Lambda: the error rate of the `errors` composite's `error-rate` input, in percent (seed 001).
pub const LAMBDA_ERROR_RATE_PERCENT: f64 = 10.0;

/// ALB in front of an ECS service: the warning 5xx rate, in percent (seed 003: "Error Rate: Alert if > 1%").
pub const ALB_5XX_RATE_PERCENT: f64 = 1.0;

/// The window of the seeds' "rate > x % for 5 minutes" alarms (API 5xx rate, Lambda error rate): one
/// 5-minute ratio of sums, not five one-minute ratios in a row. A quiet minute read as 0 % broke the
/// streak, so a function failing every call but called less than once a minute never alarmed. The
/// dashboards draw these rates, with the alarms' lines, over the same window.
pub const RATE_WINDOW_S: u32 = 300;

/// The period of the ALB 5xx rate warning (three of them in a row: 15 minutes); its widget's too.
pub const ALB_5XX_RATE_PERIOD_S: u32 = 300;

/// The period of the ALB p95 response-time warning (three in a row); its widget's too.
pub const ALB_RESPONSE_TIME_PERIOD_S: u32 = 300;

/// The period of the ECS CPU and memory warnings (Average, three in a row); their widgets' too.
pub const ECS_UTILIZATION_PERIOD_S: u32 = 300;

/// The period of the Step Functions p90 duration warning (three in a row); its widget's too.
pub const SFN_DURATION_PERIOD_S: u32 = 300;

/// The ALB 5xx rate over the ids of [`alb_5xx_rate_inputs`]: target 5xx plus the load balancer's own
/// 5xx, over the target group's requests plus the load balancer's 5xx.
///
/// `HTTPCode_ELB_5XX_Count` is published per `LoadBalancer` only: a task crash loop shows up there, never
/// in the target group's count. `RequestCount` counts only requests for which a target was chosen (ALB
/// metrics docs), so with no healthy target it is 0 while every request fails: the ELB's 5xx join the
/// denominator too (a 502/504 after a target was chosen is then counted twice there — the rate reads
/// lower, never 0 in an outage).
pub const ALB_5XX_RATE_EXPRESSION: &str = "IF(FILL(requests, 0) + FILL(elb_errors, 0) > 0, 100 * (FILL(errors, 0) + \
     FILL(elb_errors, 0)) / (FILL(requests, 0) + FILL(elb_errors, 0)), 0)";

/// One percentile-latency warning on an HTTP API stage's `Latency`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyRule {
    /// Signal part of the alarm name (`latency-p95`).
    pub signal: &'static str,
    /// The percentile (95.0).
    pub percentile: f64,
    /// Fires above this many milliseconds.
    pub threshold_ms: f64,
    /// For this many consecutive minutes.
    pub minutes: u32,
    /// The seed rule it implements.
    pub seed: &'static str,
    /// Always [`Severity::Warning`]; kept so dashboards label the line with the alarm's own word.
    pub severity: Severity,
}

const API_LATENCY: [LatencyRule; 2] = [
    LatencyRule {
        signal: "latency-p95",
        percentile: 95.0,
        threshold_ms: 1_000.0,
        minutes: 10,
        seed: "seed 001: API P95 latency > 1000ms for 10 minutes",
        severity: Severity::Warning,
    },
    LatencyRule {
        signal: "latency-p99",
        percentile: 99.0,
        threshold_ms: 5_000.0,
        minutes: 5,
        seed: "seed 000: API P99 latency > 5 seconds",
        severity: Severity::Warning,
    },
];

/// The latency warnings `api` gets: p95 > 1 s and p99 > 5 s, none where `latency_alarms = false`.
#[must_use]
pub fn api_latency(api: &HttpApiSpec) -> &'static [LatencyRule] {
    if api.latency_alarms { &API_LATENCY } else { &[] }
}

/// Who `api`'s 5xx-rate alarm notifies: on-call (seeds 000/001) unless `page_on_5xx = false` (seed 002,
/// Backoffice: 5xx among its alarms, no severity given), then Slack.
#[must_use]
pub fn api_5xx_severity(api: &HttpApiSpec) -> Severity {
    if api.page_on_5xx {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// Who a function's `errors` composite notifies: on-call for tier `critical`, Slack otherwise.
#[must_use]
pub fn lambda_errors_severity(f: &FunctionSpec) -> Severity {
    if f.tier == Tier::Critical {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// The `duration-near-timeout` warning's threshold (90 % of the timeout, in milliseconds), or `None`
/// where the function has `near_timeout_alarm = false`.
#[must_use]
pub fn near_timeout_ms(f: &FunctionSpec) -> Option<f64> {
    f.near_timeout_alarm
        .then(|| f64::from(f.timeout_s) * 1_000.0 * 0.9)
}

/// One `EstimatedCharges` alarm of a budget: above `percent` of the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingRule {
    /// Share of the budget's limit, in percent (150).
    pub percent: u32,
    /// Who it notifies.
    pub severity: Severity,
}

const BILLING: [BillingRule; 2] = [
    BillingRule {
        percent: 150,
        severity: Severity::Critical,
    },
    BillingRule {
        percent: 120,
        severity: Severity::Warning,
    },
];

/// The billing alarms `budget` gets: 150 % (critical) and 120 % (warning) of its limit (seed 000), none
/// where `billing_alarms = false` or the platform is outside us-east-1 (the only region with
/// `AWS/Billing` metrics).
#[must_use]
pub fn billing_alarms(spec: &PlatformSpec, budget: &BudgetSpec) -> &'static [BillingRule] {
    if budget.billing_alarms && spec.platform.region == vocabulary::namespace::BILLING_REGION {
        &BILLING
    } else {
        &[]
    }
}

/// `percent` of the budget's limit, in USD.
#[must_use]
pub fn share_of_limit_usd(budget: &BudgetSpec, percent: u32) -> f64 {
    let limit: f64 = budget.limit_usd.to_string().parse().unwrap_or(0.0);
    limit * f64::from(percent) / 100.0
}

/// The inputs of [`ALB_5XX_RATE_EXPRESSION`] for the load balancer `lb`: `errors` (target 5xx),
/// `elb_errors` (the load balancer's own 5xx) and `requests`, all `Sum`.
#[must_use]
pub fn alb_5xx_rate_inputs(lb: &LoadBalancerSpec) -> Vec<MathInput> {
    let tg = |n: AwsMetric| {
        MetricRef::of(n)
            .with_dimension(dimension::LOAD_BALANCER, &lb.arn_suffix)
            .with_dimension(dimension::TARGET_GROUP, &lb.target_group_arn_suffix)
    };
    let elb = MetricRef::of(application_elb::HTTP_CODE_ELB_5XX_COUNT)
        .with_dimension(dimension::LOAD_BALANCER, &lb.arn_suffix);
    vec![
        MathInput::new(
            "errors",
            tg(application_elb::HTTP_CODE_TARGET_5XX_COUNT),
            Stat::Sum,
        ),
        MathInput::new("elb_errors", elb, Stat::Sum),
        MathInput::new("requests", tg(application_elb::REQUEST_COUNT), Stat::Sum),
    ]
}
