//! Building the AWS SDK configuration and the clients the governance pass uses.
//!
//! Retries are configured here (`RetryConfig`), never hand-written. The standard settings are honoured
//! everywhere: `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` in the environment, or `max_attempts` / `retry_mode`
//! in the selected profile, win — also with `--endpoint-url`. When none of them is given: standard mode
//! with 3 attempts against AWS, and 1 attempt against an endpoint override (the emulator: moto answers
//! unimplemented calls with HTTP 500, which the SDK would otherwise retry three times).
//!
//! Every call has timeouts ([`default_timeouts`]), so a connection that never answers ends the attempt
//! (and is retried like any other transient failure) instead of hanging the pass until Lambda kills it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_config::retry::{RetryConfig, RetryMode};
use aws_config::{BehaviorVersion, Region, timeout::TimeoutConfig};
use aws_credential_types::Credentials;
use aws_types::SdkConfig;
use aws_types::os_shim_internal::{Env, Fs};

/// Environment variables the SDK reads for its retry settings.
const RETRY_ENV: [&str; 2] = ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"];
/// Profile keys the SDK reads for its retry settings.
const RETRY_PROFILE_KEYS: [&str; 2] = ["max_attempts", "retry_mode"];

/// Where the clients point and how they authenticate.
#[derive(Debug, Clone, Default)]
pub struct AwsTarget {
    /// Named profile from the shared config files (`--profile`).
    pub profile: Option<String>,
    /// Region override (`--region`); otherwise the profile's or the environment's.
    pub region: Option<String>,
    /// Endpoint override (`--endpoint-url`), e.g. the local emulator. Implies static test credentials when
    /// no profile is given, and a single attempt per call unless the retry settings say otherwise.
    pub endpoint_url: Option<String>,
}

/// The timeouts every call gets: connect 3.1 s (the SDK's own default), one attempt 30 s (Cost Explorer
/// answers in seconds, everything else in milliseconds), a whole operation with its retries 90 s — below
/// the governance Lambdas' timeouts, so a hung endpoint fails the call, not the invocation.
#[must_use]
pub fn default_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(3100))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(90))
        .build()
}

/// Set by [`sdk_config`] when the environment or the selected profile gives `AWS_MAX_ATTEMPTS` /
/// `AWS_RETRY_MODE` (`max_attempts` / `retry_mode`): then no client built from it gets other retry
/// settings (the publishing passes' 6 attempts yield to the user's choice).
static RETRIES_CHOSEN: AtomicBool = AtomicBool::new(false);

/// Whether the user chose the retry settings of the clients [`sdk_config`] built in this process.
#[must_use]
pub fn retries_chosen() -> bool {
    RETRIES_CHOSEN.load(Ordering::Relaxed)
}

/// Loads the SDK configuration for `target`.
pub async fn sdk_config(target: &AwsTarget) -> SdkConfig {
    let (config, chosen) = sdk_config_in(target, &Env::real(), &Fs::real()).await;
    if chosen {
        RETRIES_CHOSEN.store(true, Ordering::Relaxed);
    }
    config
}

/// [`sdk_config`] with the retry settings read from `env` and `fs` (tests pass fakes; production the real
/// ones). Everything else the loader reads itself.
async fn sdk_config_in(target: &AwsTarget, env: &Env, fs: &Fs) -> (SdkConfig, bool) {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(default_timeouts());
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &target.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let (given, refused) = RetrySettings::read(env, fs, target.profile.as_deref()).await;
    // The CLI refuses to start with one of these (`retry_setting_problems`); a Lambda has no profile
    // and runs with what it was deployed with, so a bad variable there is skipped, loudly.
    for problem in refused {
        tracing::warn!(%problem, "retry setting ignored");
    }
    let chosen = given != RetrySettings::default();
    loader = loader.retry_config(given.retry_config(target.endpoint_url.is_some()));
    if let Some(url) = &target.endpoint_url {
        loader = loader.endpoint_url(url);
        if target.profile.is_none() {
            loader =
                loader.credentials_provider(Credentials::new("testing", "testing", None, None, "emulator"));
        }
        if target.region.is_none() {
            loader = loader.region(Region::new("us-east-1"));
        }
    }
    (loader.load().await, chosen)
}

/// `AWS_MAX_ATTEMPTS` / a profile's `max_attempts`, as the SDK takes it: a whole number of at least 1;
/// else why not.
fn max_attempts_of(v: &str) -> Result<u32, String> {
    v.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "expected a whole number of attempts, at least 1".to_owned())
}

/// `AWS_RETRY_MODE` / a profile's `retry_mode`: `standard` or `adaptive`; else why not.
fn retry_mode_of(v: &str) -> Result<RetryMode, String> {
    v.parse::<RetryMode>()
        .map_err(|e| format!("expected standard or adaptive ({e})"))
}

/// What is wrong with the retry settings the SDK clients would use, one line each naming the setting, where
/// it was given and its value: `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` in the environment, else
/// `max_attempts` / `retry_mode` in the selected profile (`profile`, else `AWS_PROFILE`, else
/// `default`) — per field, as the SDK reads them. The clients skip such a value (0 attempts, an unknown
/// mode) with a warning a CLI without a log subscriber never shows: `collectiq-ops` refuses to start
/// with one, since the user set it to mean something.
pub async fn retry_setting_problems(profile: Option<&str>) -> Vec<String> {
    retry_setting_problems_in(&Env::real(), &Fs::real(), profile).await
}

/// [`retry_setting_problems`] reading `env` and `fs` (tests pass fakes).
async fn retry_setting_problems_in(env: &Env, fs: &Fs, profile: Option<&str>) -> Vec<String> {
    RetrySettings::read(env, fs, profile).await.1
}

/// The retry settings the user chose, per field: the environment first, then the selected profile — the
/// SDK's own precedence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RetrySettings {
    max_attempts: Option<u32>,
    mode: Option<RetryMode>,
}

impl RetrySettings {
    /// Reads `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` from `env` and `max_attempts` / `retry_mode` from the
    /// selected profile (`profile`, else `AWS_PROFILE`, else `default`). A value the SDK would reject (0
    /// attempts, an unknown mode) is left out and listed, naming the setting (`AWS_MAX_ATTEMPTS="0"`,
    /// `max_attempts = "0" in profile chaos`); an unreadable config file counts as "not given".
    async fn read(env: &Env, fs: &Fs, profile: Option<&str>) -> (Self, Vec<String>) {
        // `ProfileFiles` is the name `profile::load` still takes; its replacement lives in aws-runtime,
        // which this crate does not depend on.
        #[allow(deprecated)]
        let files = aws_config::profile::profile_file::ProfileFiles::default();
        let selected = profile.map(|p| std::borrow::Cow::Owned(p.to_owned()));
        let profiles = aws_config::profile::load(fs, env, &files, selected).await.ok();
        // The value in effect and how to name it: the variable wins over the profile, per field.
        let value = |env_key: &str, profile_key: &str| -> Option<(String, String)> {
            match env.get(env_key) {
                Ok(v) if !v.trim().is_empty() => {
                    Some((v.trim().to_owned(), format!("{env_key}={:?}", v.trim())))
                }
                _ => profiles.as_ref().and_then(|p| {
                    p.get(profile_key)
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| {
                            (
                                v.to_owned(),
                                format!("{profile_key} = {v:?} in profile {}", p.selected_profile()),
                            )
                        })
                }),
            }
        };
        let mut refused = Vec::new();
        // A profile named on the command line that no file defines: the SDK's credential chain would
        // fail on every call with "profile file credentials provider initialization error".
        if let Some(name) = profile
            && name != "default"
            && profiles
                .as_ref()
                .is_none_or(|set| set.get_profile(name).is_none())
        {
            refused.push(format!(
                "--profile {name:?}: no such profile in the AWS config or credentials file \
                 (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials)"
            ));
        }
        let max_attempts = value(RETRY_ENV[0], RETRY_PROFILE_KEYS[0]).and_then(|(v, said)| {
            max_attempts_of(&v)
                .map_err(|why| refused.push(format!("{said}: {why}")))
                .ok()
        });
        let mode = value(RETRY_ENV[1], RETRY_PROFILE_KEYS[1]).and_then(|(v, said)| {
            retry_mode_of(&v)
                .map_err(|why| refused.push(format!("{said}: {why}")))
                .ok()
        });
        (Self { max_attempts, mode }, refused)
    }

    /// The retry configuration: what was given, per field, over standard mode with 3 attempts — or, when
    /// nothing was given and the endpoint is overridden, 1 attempt.
    fn retry_config(self, endpoint_override: bool) -> RetryConfig {
        if self == Self::default() && endpoint_override {
            return RetryConfig::standard().with_max_attempts(1);
        }
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts.unwrap_or(3))
            .with_retry_mode(self.mode.unwrap_or(RetryMode::Standard))
    }
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
    /// API Gateway (the deployed HTTP API ids, organisation pass).
    pub apigateway: aws_sdk_apigatewayv2::Client,
    /// Whether every client talks to a loopback endpoint (the local emulator, `--endpoint-url` /
    /// `COLLECTIQ_ENDPOINT_URL`): only then is a loopback Slack webhook (the demo's sink) a place a
    /// report may go. Deployed, 127.0.0.1 is the Lambda sandbox itself (its Runtime API on 9001).
    pub local_endpoint: bool,
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
            apigateway: telemetry::traced_client!(aws_sdk_apigatewayv2, config),
            local_endpoint: config.endpoint_url().is_some_and(is_loopback_url),
        }
    }
}

/// Whether `url` names a loopback host (`127.0.0.0/8`, `::1`, `localhost`).
#[must_use]
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl AwsClients {
    /// The same clients, each with a retry quota of its own for `owner` (a member account id).
    ///
    /// The SDK's standard retry mode spends a token bucket (500 tokens; 5 per retried throttle, 10 per
    /// retried timeout, none refilled but by successes) that every client of one *retry partition* in
    /// the process shares, and the default partition is the service and region (`cloudwatch-us-east-1`).
    /// Per-account throttles and hangs are one member's trouble: with the default partition, a member
    /// whose CloudWatch throttles would spend the quota every other member's retries draw on (in one
    /// `collectiq-ops org` pass, and across the warm invocations of one Lambda), and their transient
    /// errors would then fail at the first attempt. Here each client retries from
    /// `<service>-<region>-<owner>`'s bucket instead.
    #[must_use]
    pub fn with_own_retry_quota(&self, owner: &str) -> Self {
        use aws_sdk_cloudwatch::config::retry::RetryPartition;
        let partition = |service: &str, region: Option<&Region>| {
            RetryPartition::new(format!(
                "{service}-{}-{owner}",
                region.map_or("global", |r| r.as_ref())
            ))
        };
        macro_rules! own {
            ($field:ident, $sdk:ident) => {{
                let config = self.$field.config();
                let name = stringify!($field);
                $sdk::Client::from_conf(
                    config
                        .to_builder()
                        .retry_partition(partition(name, config.region()))
                        .build(),
                )
            }};
        }
        Self {
            cloudwatch: own!(cloudwatch, aws_sdk_cloudwatch),
            logs: own!(logs, aws_sdk_cloudwatchlogs),
            cost_explorer: own!(cost_explorer, aws_sdk_costexplorer),
            budgets: own!(budgets, aws_sdk_budgets),
            xray: own!(xray, aws_sdk_xray),
            sns: own!(sns, aws_sdk_sns),
            dynamodb: own!(dynamodb, aws_sdk_dynamodb),
            secrets: own!(secrets, aws_sdk_secretsmanager),
            apigateway: own!(apigateway, aws_sdk_apigatewayv2),
            local_endpoint: self.local_endpoint,
        }
    }
}

/// The account id in an ARN (`arn:aws:sns:us-east-1:123456789012:name` → `123456789012`).
#[must_use]
pub fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_member_retries_from_a_quota_of_its_own() {
        let config = SdkConfig::builder()
            .region(Region::new("eu-west-1"))
            .behavior_version(BehaviorVersion::latest())
            .build();
        let shared = AwsClients::new(&config);
        let a = shared.with_own_retry_quota("111111111111");
        let b = shared.with_own_retry_quota("222222222222");
        let partition = |c: &AwsClients| c.cloudwatch.config().retry_partition().map(ToString::to_string);
        assert_eq!(
            partition(&a).as_deref(),
            Some("cloudwatch-eu-west-1-111111111111")
        );
        assert_ne!(partition(&a), partition(&b));
        assert_eq!(
            a.budgets
                .config()
                .retry_partition()
                .map(ToString::to_string)
                .as_deref(),
            Some("budgets-eu-west-1-111111111111")
        );
    }

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

    fn emulator() -> AwsTarget {
        AwsTarget {
            endpoint_url: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        }
    }

    async fn config_only(target: &AwsTarget, env: &Env, fs: &Fs) -> SdkConfig {
        sdk_config_in(target, env, fs).await.0
    }

    #[tokio::test]
    async fn a_user_choice_of_retries_is_reported_so_nothing_overrides_it() {
        let none = Env::from_slice(&[]);
        let fs = Fs::from_slice(&[]);
        assert!(!sdk_config_in(&emulator(), &none, &fs).await.1);
        assert!(!sdk_config_in(&AwsTarget::default(), &none, &fs).await.1);
        let mode = Env::from_slice(&[("AWS_RETRY_MODE", "adaptive")]);
        let (config, chosen) = sdk_config_in(&AwsTarget::default(), &mode, &fs).await;
        assert!(chosen);
        assert_eq!(
            config.retry_config().map(RetryConfig::mode),
            Some(RetryMode::Adaptive)
        );
    }

    fn attempts(config: &SdkConfig) -> Option<u32> {
        config.retry_config().map(RetryConfig::max_attempts)
    }

    #[tokio::test]
    async fn endpoint_override_without_retry_settings_means_static_creds_one_attempt_and_a_region() {
        let config = config_only(&emulator(), &Env::from_slice(&[]), &Fs::from_slice(&[])).await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert_eq!(attempts(&config), Some(1));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
    }

    #[tokio::test]
    async fn aws_max_attempts_and_retry_mode_win_over_the_emulator_default() {
        let env = Env::from_slice(&[("AWS_MAX_ATTEMPTS", "5"), ("AWS_RETRY_MODE", "standard")]);
        let config = config_only(&emulator(), &env, &Fs::from_slice(&[])).await;
        assert_eq!(attempts(&config), Some(5));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
        // AWS_RETRY_MODE alone also counts as a choice: the SDK's standard mode, 3 attempts.
        let env = Env::from_slice(&[("AWS_RETRY_MODE", "standard")]);
        let config = config_only(&emulator(), &env, &Fs::from_slice(&[])).await;
        assert_eq!(attempts(&config), Some(3));
        // Without an endpoint override the variable wins too.
        let env = Env::from_slice(&[("AWS_MAX_ATTEMPTS", "7")]);
        let config = config_only(&AwsTarget::default(), &env, &Fs::from_slice(&[])).await;
        assert_eq!(attempts(&config), Some(7));
    }

    #[tokio::test]
    async fn profile_retry_settings_win_over_the_emulator_default() {
        let env = Env::from_slice(&[("HOME", "/home/u")]);
        let fs = Fs::from_slice(&[(
            "/home/u/.aws/config",
            "[default]\nregion = eu-west-1\n[profile chaos]\nmax_attempts = 4\n",
        )]);
        let target = AwsTarget {
            profile: Some("chaos".into()),
            ..emulator()
        };
        let config = config_only(&target, &env, &fs).await;
        assert_eq!(attempts(&config), Some(4));
        // The default profile has no retry setting: the emulator default stays.
        let config = config_only(&emulator(), &env, &fs).await;
        assert_eq!(attempts(&config), Some(1));
        // AWS_PROFILE selects the profile just like --profile.
        let env = Env::from_slice(&[("HOME", "/home/u"), ("AWS_PROFILE", "chaos")]);
        let config = config_only(&emulator(), &env, &fs).await;
        assert_eq!(attempts(&config), Some(4));
    }

    /// The SDK takes `max_attempts` as a whole number of at least 1 (AWS SDKs and Tools reference guide,
    /// "Retry behavior": `max_attempts`, `AWS_MAX_ATTEMPTS`) and skips 0 with a warning; the selected
    /// profile's 0 is refused naming the key, the profile and the value, as the variable's is.
    /// `--profile nope` (a typo): refused up front naming the profile, not eleven "profile file
    /// credentials provider initialization error" lines from the checks; a profile defined in either
    /// file, and `default` (the environment's credentials may stand for it), pass.
    #[tokio::test]
    async fn a_profile_no_file_defines_is_refused_by_name() {
        let env = Env::from_slice(&[("HOME", "/home/u")]);
        let fs = Fs::from_slice(&[
            ("/home/u/.aws/config", "[profile prod]\nregion = eu-west-1\n"),
            (
                "/home/u/.aws/credentials",
                "[ops]\naws_access_key_id = A\naws_secret_access_key = B\n",
            ),
        ]);
        let refused = retry_setting_problems_in(&env, &fs, Some("nope")).await;
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(
            refused[0].starts_with("--profile \"nope\": no such profile"),
            "{refused:?}"
        );
        for known in ["prod", "ops", "default"] {
            let refused = retry_setting_problems_in(&env, &fs, Some(known)).await;
            assert!(refused.is_empty(), "{known}: {refused:?}");
        }
        // No files at all: a named profile cannot exist.
        let bare = Fs::from_slice(&[]);
        assert_eq!(
            retry_setting_problems_in(&env, &bare, Some("prod")).await.len(),
            1
        );
        assert!(retry_setting_problems_in(&env, &bare, None).await.is_empty());
    }

    #[tokio::test]
    async fn zero_attempts_in_the_selected_profile_is_refused_naming_the_key() {
        let env = Env::from_slice(&[("HOME", "/home/u")]);
        let fs = Fs::from_slice(&[(
            "/home/u/.aws/config",
            "[default]\nmax_attempts = 0\n[profile chaos]\nmax_attempts = 0\nretry_mode = fast\n\
             [profile fine]\nmax_attempts = 4\n",
        )]);
        let refused = retry_setting_problems_in(&env, &fs, Some("chaos")).await;
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert_eq!(
            refused[0],
            "max_attempts = \"0\" in profile chaos: expected a whole number of attempts, at least 1"
        );
        assert!(
            refused[1].starts_with("retry_mode = \"fast\" in profile chaos: expected standard or adaptive"),
            "{refused:?}"
        );
        // No --profile: the default profile (or AWS_PROFILE's) is the one read.
        let refused = retry_setting_problems_in(&env, &fs, None).await;
        assert_eq!(
            refused,
            ["max_attempts = \"0\" in profile default: expected a whole number of attempts, at least 1"]
        );
        assert!(
            retry_setting_problems_in(&env, &fs, Some("fine"))
                .await
                .is_empty()
        );
        // The variable wins over the profile: its value is the one checked (and named).
        let with_var = Env::from_slice(&[("HOME", "/home/u"), ("AWS_MAX_ATTEMPTS", "2")]);
        assert!(retry_setting_problems_in(&with_var, &fs, None).await.is_empty());
        let zero_var = Env::from_slice(&[("HOME", "/home/u"), ("AWS_MAX_ATTEMPTS", "0")]);
        assert_eq!(
            retry_setting_problems_in(&zero_var, &fs, Some("fine")).await,
            ["AWS_MAX_ATTEMPTS=\"0\": expected a whole number of attempts, at least 1"]
        );
    }

    #[tokio::test]
    async fn against_aws_without_settings_three_attempts_and_every_call_has_timeouts() {
        let config = config_only(
            &AwsTarget {
                region: Some("eu-west-1".into()),
                ..Default::default()
            },
            &Env::from_slice(&[]),
            &Fs::from_slice(&[]),
        )
        .await;
        assert_eq!(attempts(&config), Some(3));
        let timeouts = config.timeout_config().expect("timeouts set");
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(90)));
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_millis(3100)));
        let emulated = config_only(&emulator(), &Env::from_slice(&[]), &Fs::from_slice(&[])).await;
        assert_eq!(emulated.timeout_config(), Some(&default_timeouts()));
    }
}
