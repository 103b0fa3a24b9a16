//! Plain-words advice for an [`AwsCallError`] — what is wrong and what to do — and the IAM action an
//! operation needs (IAM prefixes: <https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html>).

use crate::codes::is_credentials_rejected_code;
use crate::{AwsCallError, ErrorClass, TransportProblem};

/// The IAM service prefix for an SDK service name (`Metadata::service()`: `CostExplorer`, `SFN`) or a
/// human one (`Cost Explorer`, `Step Functions`).
fn iam_prefix(service: &str) -> Option<&'static str> {
    let key: String = service
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match key.as_str() {
        "dynamodb" => "dynamodb",
        "cloudwatch" => "cloudwatch",
        "cloudwatchlogs" | "logs" => "logs",
        "costexplorer" | "ce" => "ce",
        "budgets" => "budgets",
        "sns" => "sns",
        "sqs" => "sqs",
        "secretsmanager" => "secretsmanager",
        "xray" => "xray",
        "s3" => "s3",
        "sfn" | "stepfunctions" | "states" => "states",
        "eventbridge" | "events" => "events",
        "rekognition" => "rekognition",
        "bedrockruntime" | "bedrock" => "bedrock",
        "sts" => "sts",
        "lambda" => "lambda",
        "kms" => "kms",
        "iam" => "iam",
        "organizations" => "organizations",
        _ => return None,
    })
}

/// The IAM action `service`'s `operation` needs: `prefix:Operation`, except where IAM names it
/// otherwise (Budgets reads need `budgets:ViewBudget`; Bedrock's Converse needs
/// `bedrock:InvokeModel`; S3 listings need `s3:ListBucket`).
///
/// ```
/// assert_eq!(aws_error::iam_action("CostExplorer", "GetCostForecast").as_deref(), Some("ce:GetCostForecast"));
/// assert_eq!(aws_error::iam_action("Budgets", "DescribeBudgets").as_deref(), Some("budgets:ViewBudget"));
/// assert_eq!(aws_error::iam_action("Organizations", "ListAccounts").as_deref(), Some("organizations:ListAccounts"));
/// assert_eq!(aws_error::iam_action("Nowhere", "Op"), None);
/// ```
#[must_use]
pub fn iam_action(service: &str, operation: &str) -> Option<String> {
    let prefix = iam_prefix(service)?;
    let action = match (prefix, operation) {
        ("budgets", op) if op.starts_with("Describe") => "ViewBudget",
        ("bedrock", "Converse") => "InvokeModel",
        ("bedrock", "ConverseStream") => "InvokeModelWithResponseStream",
        ("s3", "ListObjectsV2" | "ListObjects" | "HeadBucket") => "ListBucket",
        ("s3", "HeadObject") => "GetObject",
        ("s3", "DeleteObjects") => "DeleteObject",
        (_, op) => op,
    };
    Some(format!("{prefix}:{action}"))
}

pub(crate) fn advice(e: &AwsCallError) -> String {
    let service = e.service();
    if let Some(problem) = e.transport_problem() {
        return transport_advice(problem, e);
    }
    let code = e.code().unwrap_or("no error code");
    match e.class() {
        ErrorClass::Throttled => format!(
            "{service} throttled the call ({code}): the account's request rate is exceeded. The SDK retries \
             with backoff; if it keeps happening, call less often or ask for a higher quota."
        ),
        ErrorClass::AccessDenied if e.code().is_some_and(is_credentials_rejected_code) => format!(
            "the credentials were rejected ({code}): they are unknown, expired or for another partition. \
             Refresh them (`aws sso login`, new keys) and check which identity `aws sts get-caller-identity` shows."
        ),
        ErrorClass::AccessDenied => match e.iam_action() {
            Some(action) => format!(
                "access denied: the role needs {action}. Add it to the governance role's policy (or remove \
                 the deny that blocks it) and run again."
            ),
            None => format!(
                "access denied by {service} ({code}). Check the role's policy for {}.",
                e.operation()
            ),
        },
        ErrorClass::NotFound => format!(
            "not found ({code}{}): the resource named in the request does not exist in this account and \
             region. Check the name in the platform spec and the region, or create it (terraform apply).",
            e.message().map(|m| format!(": {m}")).unwrap_or_default()
        ),
        ErrorClass::NotImplemented => format!(
            "the endpoint does not implement {} (an emulator?). Run this against AWS, or skip it locally.",
            e.operation()
        ),
        ErrorClass::ServerFault => format!(
            "{service} failed on its side ({code}{}). Usually transient: run again later; if it persists, \
             check the AWS Health Dashboard.",
            e.status().map(|s| format!(", HTTP {s}")).unwrap_or_default()
        ),
        ErrorClass::ClientFault => format!(
            "{service} rejected the request ({}). Fix what the message names; running again will not help.",
            e.summary()
        ),
        ErrorClass::Timeout => format!(
            "{service} did not answer in time ({code}). Run again; if it persists, check the network path \
             or raise the SDK timeouts."
        ),
        ErrorClass::Transport => format!("the call to {service} failed: {}", e.summary()),
    }
}

fn transport_advice(problem: TransportProblem, e: &AwsCallError) -> String {
    let service = e.service();
    let detail = e.detail().map(|d| format!(" ({d})")).unwrap_or_default();
    match problem {
        TransportProblem::NoCredentials => "no AWS credentials found: the SDK's credential provider chain \
             (environment, profile/SSO, web identity, container or instance role) found none. Export \
             AWS_PROFILE and run `aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run \
             where a role is attached."
            .to_owned(),
        TransportProblem::CredentialsProviderFailed => format!(
            "the credentials provider failed{detail}. Check the profile in ~/.aws/config (name, SSO session, \
             role ARN) and run `aws sso login` if the session expired."
        ),
        TransportProblem::Dns => format!(
            "DNS failure: the endpoint's host name for {service} does not resolve{detail}. Check the region \
             and any AWS_ENDPOINT_URL / --endpoint-url; inside a VPC, the function needs a NAT gateway or a \
             VPC endpoint."
        ),
        TransportProblem::ConnectionRefused => format!(
            "endpoint unreachable: nothing accepted the connection to {service}{detail}. If you point at a \
             local emulator (--endpoint-url, AWS_ENDPOINT_URL), start it or fix the port; otherwise check \
             proxies and firewalls."
        ),
        TransportProblem::Tls => format!(
            "TLS handshake with {service} failed{detail}: the endpoint does not speak HTTPS on that port, or \
             its certificate is not trusted. Use http:// for a local emulator; behind a TLS-inspecting \
             proxy set AWS_CA_BUNDLE."
        ),
        TransportProblem::ConnectionClosed => format!(
            "the connection to {service} was closed before an answer{detail}. Usually transient: run again."
        ),
        TransportProblem::UnreadableResponse => format!(
            "{service} answered with something the SDK could not read{detail}: a proxy or an emulator may \
             be in the way. Check the endpoint URL."
        ),
        TransportProblem::TimedOut => format!(
            "{service} did not answer in time{detail}. Run again; if it persists, check the network path \
             (VPC, proxy) or raise the SDK timeouts."
        ),
        TransportProblem::Other => format!(
            "the call to {service} could not be sent{detail}. Check the endpoint URL and the network."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_actions_for_the_calls_governance_and_backend_make() {
        for (service, op, action) in [
            ("CostExplorer", "GetCostAndUsage", "ce:GetCostAndUsage"),
            ("CostExplorer", "GetCostForecast", "ce:GetCostForecast"),
            ("Budgets", "DescribeBudgets", "budgets:ViewBudget"),
            ("CloudWatch", "PutMetricAlarm", "cloudwatch:PutMetricAlarm"),
            ("CloudWatch", "GetMetricData", "cloudwatch:GetMetricData"),
            ("SNS", "GetTopicAttributes", "sns:GetTopicAttributes"),
            (
                "SecretsManager",
                "GetSecretValue",
                "secretsmanager:GetSecretValue",
            ),
            ("DynamoDB", "DescribeTable", "dynamodb:DescribeTable"),
            ("XRay", "PutTraceSegments", "xray:PutTraceSegments"),
            ("SFN", "StartExecution", "states:StartExecution"),
            ("EventBridge", "PutEvents", "events:PutEvents"),
            ("BedrockRuntime", "Converse", "bedrock:InvokeModel"),
            ("S3", "ListObjectsV2", "s3:ListBucket"),
            ("Cost Explorer", "GetCostForecast", "ce:GetCostForecast"),
            ("CloudWatchLogs", "PutLogEvents", "logs:PutLogEvents"),
        ] {
            assert_eq!(iam_action(service, op).as_deref(), Some(action), "{service} {op}");
        }
    }
}
