//! Environment configuration shared by the functions' `Deps::from_env`.

use crate::identity::{HashKeyError, UserHasher};

/// A missing or invalid environment variable (the function fails its init, visibly).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not set or empty.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// Set but unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

impl From<HashKeyError> for ConfigError {
    fn from(e: HashKeyError) -> Self {
        Self::Invalid {
            name: USER_ID_HASH_KEY,
            reason: e.to_string(),
        }
    }
}

/// A required variable.
///
/// # Errors
/// [`ConfigError::Missing`].
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// An optional variable parsed as `T`, `default` when unset.
///
/// # Errors
/// [`ConfigError::Invalid`] when set but not a `T`.
pub fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    parse_setting(name, std::env::var(name).ok().as_deref(), default)
}

/// [`parsed`] on the value `name` has (`None`: unset).
fn parse_setting<T: std::str::FromStr>(
    name: &'static str,
    value: Option<&str>,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match value {
        Some(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// Where the key of the user pseudonyms ([`UserHasher`]) comes from.
///
/// Deployed functions get `USER_ID_HASH_KEY_SECRET_ID` (a Secrets Manager secret whose `SecretString`
/// is the key, read once at cold start; Terraform generates it and never stores it). Local runs and
/// tests may pass the key itself as `USER_ID_HASH_KEY`. When both are set, the secret wins: a deployed
/// function never uses a key that could have leaked through its configuration.
#[derive(Clone, PartialEq, Eq)]
pub enum HashKeySource {
    /// The key itself (`USER_ID_HASH_KEY`).
    Inline(String),
    /// A Secrets Manager secret id or ARN (`USER_ID_HASH_KEY_SECRET_ID`).
    Secret(String),
}

impl std::fmt::Debug for HashKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline(<redacted>)"),
            Self::Secret(id) => f.debug_tuple("Secret").field(id).finish(),
        }
    }
}

/// The variable naming the key's secret.
pub const USER_ID_HASH_KEY_SECRET_ID: &str = "USER_ID_HASH_KEY_SECRET_ID";
/// The variable holding the key itself (local runs and tests).
pub const USER_ID_HASH_KEY: &str = "USER_ID_HASH_KEY";

impl HashKeySource {
    /// From `USER_ID_HASH_KEY_SECRET_ID`, else `USER_ID_HASH_KEY`.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] naming `USER_ID_HASH_KEY_SECRET_ID` when neither is set.
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Ok(id) = required(USER_ID_HASH_KEY_SECRET_ID) {
            return Ok(Self::Secret(id.trim().to_owned()));
        }
        match required(USER_ID_HASH_KEY) {
            Ok(key) => Ok(Self::Inline(key)),
            Err(_) => Err(ConfigError::Missing(USER_ID_HASH_KEY_SECRET_ID)),
        }
    }

    /// The hasher: the inline key, or the secret's `SecretString` read with `secrets`.
    ///
    /// ```
    /// use backend::config::HashKeySource;
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// // In a function: aws_sdk_secretsmanager::Client::new(&backend::config::aws().await).
    /// let secrets = aws_sdk_secretsmanager::Client::from_conf(
    ///     aws_sdk_secretsmanager::Config::builder()
    ///         .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
    ///         .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
    ///         .build(),
    /// );
    /// let users = HashKeySource::Inline("0123456789abcdef0123456789abcdef".into()).load(&secrets).await?;
    /// assert_eq!(users.hash("u-1").len(), 34);
    /// let short = HashKeySource::Inline("too short".into()).load(&secrets).await;
    /// assert!(short.unwrap_err().to_string().contains("USER_ID_HASH_KEY"));
    /// # Ok::<(), backend::config::ConfigError>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the variable: the secret cannot be read, has no string value,
    /// or the key is shorter than [`crate::identity::MIN_KEY_BYTES`]. The key never appears in an error.
    pub async fn load(&self, secrets: &aws_sdk_secretsmanager::Client) -> Result<UserHasher, ConfigError> {
        match self {
            Self::Inline(key) => Ok(UserHasher::new(key.clone().into_bytes())?),
            Self::Secret(id) => {
                let invalid = |reason: String| ConfigError::Invalid {
                    name: USER_ID_HASH_KEY_SECRET_ID,
                    reason,
                };
                let out = secrets
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|e| {
                        let e = aws_error::AwsCallError::from_sdk("SecretsManager", "GetSecretValue", e);
                        invalid(format!(
                            "secret {id} cannot be read: {} — {}",
                            e.summary(),
                            e.advice()
                        ))
                    })?;
                let key = out
                    .secret_string()
                    .ok_or_else(|| invalid(format!("secret {id} has no string value")))?;
                UserHasher::new(key.as_bytes().to_vec())
                    .map_err(|e: HashKeyError| invalid(format!("secret {id}: {e}")))
            }
        }
    }
}

/// The user pseudonymiser for a deployed function or a local run: [`HashKeySource::from_env`], then
/// [`HashKeySource::load`] with a Secrets Manager client from `aws`.
///
/// # Errors
/// As [`HashKeySource::from_env`] and [`HashKeySource::load`].
pub async fn user_hasher(aws: &aws_config::SdkConfig) -> Result<UserHasher, ConfigError> {
    let source = HashKeySource::from_env()?;
    source
        .load(&telemetry::traced_client!(aws_sdk_secretsmanager, aws))
        .await
}

/// An S3 client with X-Ray subsegments, path-style when `S3_FORCE_PATH_STYLE` is `true` (emulators;
/// default `false`): the one the functions that read or write uploads use.
///
/// # Errors
/// An invalid `S3_FORCE_PATH_STYLE`.
pub fn traced_s3(aws: &aws_config::SdkConfig) -> Result<aws_sdk_s3::Client, ConfigError> {
    let s3 = aws_sdk_s3::config::Builder::from(aws)
        .interceptor(telemetry::xray::aws_sdk::XrayInterceptor::new())
        .force_path_style(parsed("S3_FORCE_PATH_STYLE", false)?)
        .build();
    Ok(aws_sdk_s3::Client::from_conf(s3))
}

/// The AWS configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`,
/// `AWS_MAX_ATTEMPTS`), loaded once per process in `main`.
pub async fn aws() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline_secrets() -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::Config::builder()
                .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
                .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
                .build(),
        )
    }

    #[test]
    fn a_daily_limit_of_zero_is_refused_naming_its_variable() {
        use crate::quota::{DEFAULT_REVALUE_DAILY_LIMIT, DailyLimit};
        let limit = |v| parse_setting("REVALUE_DAILY_LIMIT", v, DEFAULT_REVALUE_DAILY_LIMIT);
        assert_eq!(limit(None), Ok(DEFAULT_REVALUE_DAILY_LIMIT));
        assert_eq!(limit(Some(" ")), Ok(DEFAULT_REVALUE_DAILY_LIMIT));
        assert_eq!(limit(Some(" 5 ")), Ok(DailyLimit::new(5).unwrap()));
        let err = limit(Some("0")).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid {
                name: "REVALUE_DAILY_LIMIT",
                reason: "must be at least 1 (a daily limit of 0 would refuse every request)".into(),
            }
        );
        assert!(err.to_string().contains("REVALUE_DAILY_LIMIT"), "{err}");
        assert!(matches!(
            limit(Some("twenty")),
            Err(ConfigError::Invalid {
                name: "REVALUE_DAILY_LIMIT",
                ..
            })
        ));
    }

    #[test]
    fn debug_never_shows_an_inline_key() {
        let key = "0123456789abcdef0123456789abcdef-secret";
        let shown = format!("{:?}", HashKeySource::Inline(key.into()));
        assert_eq!(shown, "Inline(<redacted>)");
        let shown = format!("{:?}", HashKeySource::Secret("arn:aws:secretsmanager:x".into()));
        assert!(shown.contains("arn:aws:secretsmanager:x"), "{shown}");
    }

    #[tokio::test]
    async fn inline_keys_are_checked_without_any_call() {
        let secrets = offline_secrets();
        let users = HashKeySource::Inline("k".repeat(32))
            .load(&secrets)
            .await
            .unwrap();
        let same = UserHasher::new("k".repeat(32).into_bytes()).unwrap();
        assert_eq!(users.hash("u-1"), same.hash("u-1"));
        let err = HashKeySource::Inline("k".repeat(31))
            .load(&secrets)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Invalid {
                name: USER_ID_HASH_KEY,
                reason: "the userId hash key must be at least 32 bytes, got 31".into(),
            }
        );
    }
}
