//! `collectiq-ops doctor`: one cheap read of every API the governance pass needs, reported ✓/✗ with the
//! IAM permission and the error behind each ✗ — the first thing an operator runs against a new account.
//!
//! Every call is a read. Cost Explorer is the only one that costs money ($0.01 per request); the doctor
//! makes exactly one CE request and says so.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime as SmithyTime;
use platform_spec::PlatformSpec;
use serde::Serialize;

use crate::aws::{AwsClients, describe_sdk_error};

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
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "doctor — {} ({})", self.platform, self.region)?;
        for c in &self.checks {
            let mark = if c.ok { "✓" } else { "✗" };
            write!(f, "  {mark} {:<15} {:<22} {}", c.service, c.call, c.detail)?;
            if !c.ok {
                write!(f, "  [needs {}]", c.permission)?;
            }
            writeln!(f)?;
        }
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        write!(
            f,
            "  {} of {} checks passed; {} Cost Explorer request (${}.{:02})",
            self.checks.len() - failed,
            self.checks.len(),
            self.cost_explorer_requests,
            self.cost_explorer_requests / 100,
            self.cost_explorer_requests % 100
        )
    }
}

fn check(
    service: &'static str,
    call: &'static str,
    permission: &'static str,
    outcome: Result<String, String>,
) -> Check {
    let (ok, detail) = match outcome {
        Ok(d) => (true, d),
        Err(e) => (false, e),
    };
    Check {
        service,
        call,
        permission,
        ok,
        detail,
    }
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Runs every check against `clients` for `spec`.
pub async fn run(spec: &PlatformSpec, clients: &AwsClients) -> DoctorReport {
    let prefix = spec.managed_prefix();
    let now = SystemTime::now();
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
            .map_err(|e| describe_sdk_error(&e)),
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
                format!(
                    "{} named {prefix}-*",
                    plural(r.dashboard_entries().len(), "dashboard")
                )
            })
            .map_err(|e| describe_sdk_error(&e)),
    ));
    checks.push(check(
        "CloudWatch",
        "DescribeAlarms",
        "cloudwatch:DescribeAlarms",
        cw.describe_alarms()
            .alarm_name_prefix(&prefix)
            .send()
            .await
            .map(|r| {
                let firing = r
                    .metric_alarms()
                    .iter()
                    .filter(|a| a.state_value() == Some(&aws_sdk_cloudwatch::types::StateValue::Alarm))
                    .count();
                format!(
                    "{} named {prefix}-*, {firing} in ALARM",
                    plural(r.metric_alarms().len(), "alarm")
                )
            })
            .map_err(|e| describe_sdk_error(&e)),
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
            .map_err(|e| describe_sdk_error(&e)),
    ));
    checks.push(check(
        "Cost Explorer",
        "GetCostAndUsage",
        "ce:GetCostAndUsage",
        cost_and_usage(clients, now).await,
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
            .start_time(SmithyTime::from(now - Duration::from_secs(300)))
            .end_time(SmithyTime::from(now))
            .send()
            .await
            .map(|r| {
                format!(
                    "{} in the last 5 minutes",
                    plural(r.trace_summaries().len(), "trace")
                )
            })
            .map_err(|e| describe_sdk_error(&e)),
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
                .map_err(|e| format!("{label} topic {arn}: {}", describe_sdk_error(&e))),
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
            .map_err(|e| format!("ledger {}: {}", spec.ledger.table, describe_sdk_error(&e))),
    ));
    checks.push(check(
        "Secrets Manager",
        "GetSecretValue",
        "secretsmanager:GetSecretValue",
        slack_secret(spec, clients).await,
    ));
    DoctorReport {
        platform: prefix,
        region: spec.platform.region.clone(),
        checks,
        cost_explorer_requests: 1,
    }
}

async fn metric_data(
    spec: &PlatformSpec,
    cw: &aws_sdk_cloudwatch::Client,
    now: SystemTime,
) -> Result<String, String> {
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
        .start_time(SmithyTime::from(now - Duration::from_secs(86_400)))
        .end_time(SmithyTime::from(now))
        .send()
        .await
        .map_err(|e| describe_sdk_error(&e))?;
    let values: f64 = r.metric_data_results().iter().flat_map(|m| m.values()).sum();
    Ok(format!("CardsValued Sum over the last 24 h = {values:.0}"))
}

async fn cost_and_usage(clients: &AwsClients, now: SystemTime) -> Result<String, String> {
    use aws_sdk_costexplorer::types::{DateInterval, Granularity};
    let today = chrono::DateTime::<chrono::Utc>::from(now).date_naive();
    let yesterday = today.pred_opt().unwrap_or(today);
    let period = DateInterval::builder()
        .start(yesterday.to_string())
        .end(today.to_string())
        .build()
        .map_err(|e| e.to_string())?;
    let r = clients
        .cost_explorer
        .get_cost_and_usage()
        .time_period(period)
        .granularity(Granularity::Daily)
        .metrics("UnblendedCost")
        .send()
        .await
        .map_err(|e| describe_sdk_error(&e))?;
    Ok(format!(
        "{} (1 request, $0.01)",
        plural(r.results_by_time().len(), "period")
    ))
}

async fn budgets(spec: &PlatformSpec, clients: &AwsClients) -> Result<String, String> {
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
        .map_err(|e| describe_sdk_error(&e))?;
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
        ))
    }
}

async fn slack_secret(spec: &PlatformSpec, clients: &AwsClients) -> Result<String, String> {
    let name = &spec.notifications.slack_webhook_secret;
    let r = clients
        .secrets
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| format!("secret {name}: {}", describe_sdk_error(&e)))?;
    // The value is never printed: only whether it looks like a webhook URL.
    match r.secret_string() {
        Some(v) if v.starts_with("https://hooks.slack.com/") => {
            Ok(format!("secret {name} holds a Slack webhook URL"))
        }
        Some(v) if v.starts_with("http://127.0.0.1") || v.starts_with("http://localhost") => {
            Ok(format!("secret {name} holds a loopback webhook URL (demo sink)"))
        }
        Some(_) => Err(format!(
            "secret {name} does not hold an https://hooks.slack.com/ URL"
        )),
        None => Err(format!("secret {name} has no string value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
