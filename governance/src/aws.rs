//! Building the AWS SDK configuration and the clients the governance pass uses.
//!
//! Retries are configured here (`RetryConfig`), never hand-written: standard mode with 3 attempts against
//! AWS, 1 attempt against the emulator (moto answers unimplemented calls with HTTP 500, which the SDK would
//! otherwise retry three times).

use aws_config::{BehaviorVersion, Region, retry::RetryConfig};
use aws_credential_types::Credentials;
use aws_types::SdkConfig;

/// Where the clients point and how they authenticate.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    /// Named profile from the shared config files (`--profile`).
    pub profile: Option<String>,
    /// Region override (`--region`); otherwise the profile's or the environment's.
    pub region: Option<String>,
    /// Endpoint override (`--endpoint-url`), e.g. the local emulator. Implies static test credentials when
    /// no profile is given, and a single attempt per call.
    pub endpoint_url: Option<String>,
}

/// Loads the SDK configuration for `target`.
pub async fn sdk_config(target: &AwsTarget) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &target.region {
        loader = loader.region(Region::new(region.clone()));
    }
    match &target.endpoint_url {
        Some(url) => {
            loader = loader
                .endpoint_url(url)
                .retry_config(RetryConfig::standard().with_max_attempts(1));
            if target.profile.is_none() {
                loader = loader
                    .credentials_provider(Credentials::new("testing", "testing", None, None, "emulator"));
            }
            if target.region.is_none() {
                loader = loader.region(Region::new("us-east-1"));
            }
        }
        None => loader = loader.retry_config(RetryConfig::standard().with_max_attempts(3)),
    }
    loader.load().await
}

/// Every SDK client the governance pass uses, built once from one [`SdkConfig`].
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// CloudWatch (metrics, dashboards, alarms).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Cost Explorer ($0.01 per request).
    pub cost_explorer: aws_sdk_costexplorer::Client,
    /// AWS Budgets.
    pub budgets: aws_sdk_budgets::Client,
    /// X-Ray.
    pub xray: aws_sdk_xray::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// DynamoDB (the ledger).
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Secrets Manager (the Slack webhook).
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Builds every client from `config`. Every call they make is an X-Ray subsegment when it runs inside
    /// a traced Lambda invocation (nothing otherwise, e.g. in the CLI).
    #[must_use]
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            cloudwatch: telemetry::traced_client!(aws_sdk_cloudwatch, config),
            logs: telemetry::traced_client!(aws_sdk_cloudwatchlogs, config),
            cost_explorer: telemetry::traced_client!(aws_sdk_costexplorer, config),
            budgets: telemetry::traced_client!(aws_sdk_budgets, config),
            xray: telemetry::traced_client!(aws_sdk_xray, config),
            sns: telemetry::traced_client!(aws_sdk_sns, config),
            dynamodb: telemetry::traced_client!(aws_sdk_dynamodb, config),
            secrets: telemetry::traced_client!(aws_sdk_secretsmanager, config),
        }
    }
}

/// The account id in an ARN (`arn:aws:sns:us-east-1:123456789012:name` → `123456789012`).
#[must_use]
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The most useful one-line description of an SDK error: the service's code and message when the service
/// answered, the transport problem otherwise.
pub fn describe_sdk_error<E, R>(err: &aws_smithy_runtime_api::client::result::SdkError<E, R>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => format!("{e}"),
            }
        }
        SdkError::DispatchFailure(d) => {
            format!(
                "cannot reach the endpoint: {}",
                d.as_connector_error()
                    .map_or_else(|| format!("{d:?}"), |c| c.to_string())
            )
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        SdkError::ResponseError(r) => format!("unreadable response: {r:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_is_the_fifth_arn_field() {
        assert_eq!(
            account_of_arn("arn:aws:sns:us-east-1:123456789012:t"),
            Some("123456789012")
        );
        assert_eq!(account_of_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(account_of_arn("nonsense"), None);
    }

    #[tokio::test]
    async fn every_client_call_is_a_subsegment_of_the_invocation_and_forwards_the_header() {
        use aws_smithy_http_client::test_util::infallible_client_fn;
        use std::sync::{Arc, Mutex};
        use telemetry::xray::{MemorySink, TraceHeader, XrayLayer};
        use tracing::Instrument;
        use tracing_subscriber::layer::SubscriberExt;

        const ROOT: &str = "1-6740b2a0-0123456789abcdef01234567";
        let sent: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let seen = Arc::clone(&sent);
        let http = infallible_client_fn(move |req| {
            seen.lock().unwrap().push(
                req.headers()
                    .get("x-amzn-trace-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            );
            http::Response::builder()
                .status(200)
                .body(aws_smithy_types::body::SdkBody::from("{}"))
                .unwrap()
        });
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                Credentials::new("a", "b", None, None, "test"),
            ))
            .http_client(http)
            .build();
        let clients = AwsClients::new(&config);
        let sink = MemorySink::default();
        let _default = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(XrayLayer::new(sink.clone())),
        );
        let invocation = tracing::info_span!(
            "lambda.invocation",
            telemetry.trace_header = format!("Root={ROOT};Parent=53995c3f42cd8ad8;Sampled=1").as_str()
        );
        async {
            // Whatever the empty answers parse to, each call must have gone out traced.
            let _ = clients.dynamodb.list_tables().send().await;
            let _ = clients.cost_explorer.get_cost_categories().send().await;
            let _ = clients.secrets.list_secrets().send().await;
        }
        .instrument(invocation.clone())
        .await;
        drop(invocation);

        let headers = sent.lock().unwrap().clone();
        assert_eq!(headers.len(), 3);
        for header in &headers {
            let parsed = TraceHeader::parse(header.as_deref().expect("X-Amzn-Trace-Id sent")).unwrap();
            assert_eq!(parsed.xray_trace_id(), ROOT);
            assert!(parsed.is_sampled());
        }
        let docs = sink.documents();
        let calls: Vec<(String, String)> = docs
            .iter()
            .flat_map(|d| d["subsegments"].as_array().cloned().unwrap_or_default())
            .map(|s| {
                assert_eq!(s["namespace"], "aws", "{s}");
                (
                    s["name"].as_str().unwrap().to_owned(),
                    s["aws"]["operation"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(calls.len(), 3, "{docs:?}");
        for op in ["ListTables", "GetCostCategories", "ListSecrets"] {
            assert!(calls.iter().any(|(_, o)| o == op), "{op} in {calls:?}");
        }
    }

    #[tokio::test]
    async fn endpoint_override_means_static_creds_one_attempt_and_a_region() {
        let config = sdk_config(&AwsTarget {
            endpoint_url: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        })
        .await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(1));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
    }
}
