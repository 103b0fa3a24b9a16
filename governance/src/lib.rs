//! `governance`: the core of the governance service, the imperative shell around the pure `dashboards`,
//! `alarms` and `cost` crates. What runs in the governance Lambdas lives here, and nothing else:
//!
//! - [`aws`]: the SDK clients (retries, X-Ray subsegments, `--endpoint-url`);
//! - [`cost_pass`]: the daily cost report and the hourly Bedrock burn check;
//! - [`publish`]: dashboards and alarms plan/apply, alarm state and escalation;
//! - [`ledger`]: the DynamoDB ledger (claims, snapshots, capped counters);
//! - [`doctor`]: one cheap read of every API the passes need;
//! - [`org`]: an organisation's accounts and platforms in one pass (issue 14).
//!
//! The front (`collectiq-ops`: clap, terminal rendering, progress bars, the demo and its month writer)
//! is the `collectiq-ops` crate in `governance/ops`; the emulator harness is in the test kit
//! (`collectiq-tests`). In-memory fakes of the seams are behind the `testing` feature. See
//! `docs/architecture.md`.

pub mod aws;
pub mod cost_pass;
pub mod doctor;
pub mod ledger;
// Issue 14: one pass over many accounts and platforms.
pub mod org;
pub mod publish;

pub use platform_spec::{PlatformSpec, SpecError};

#[cfg(test)]
pub(crate) mod test_support {
    /// The CollectIQ prod spec shipped in infra/platforms, which the unit tests run against.
    pub(crate) fn prod_spec() -> platform_spec::PlatformSpec {
        platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap()
    }

    /// Clients whose Secrets Manager answers `GetSecretValue` with `url`, at `endpoint` (a real AWS
    /// endpoint when `None`; no request leaves the process either way).
    pub(crate) fn secret_clients(endpoint: Option<&str>, url: &str) -> crate::aws::AwsClients {
        let body = serde_json::json!({"Name": "collectiq/slack", "SecretString": url}).to_string();
        let http = aws_smithy_http_client::test_util::infallible_client_fn(move |_| {
            http::Response::builder()
                .status(200)
                .body(aws_smithy_types::body::SdkBody::from(body.clone()))
                .unwrap()
        });
        let mut config = aws_types::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("a", "b", None, None, "test"),
            ))
            .http_client(http);
        if let Some(e) = endpoint {
            config = config.endpoint_url(e);
        }
        crate::aws::AwsClients::new(&config.build())
    }
}
