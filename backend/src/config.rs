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
            name: "USER_ID_HASH_KEY",
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
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
        _ => Ok(default),
    }
}

/// The user pseudonymiser from `USER_ID_HASH_KEY` (≥ 32 bytes).
///
/// # Errors
/// Missing or too short.
pub fn user_hasher() -> Result<UserHasher, ConfigError> {
    Ok(UserHasher::new(required("USER_ID_HASH_KEY")?.into_bytes())?)
}

/// The AWS configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`,
/// `AWS_MAX_ATTEMPTS`), loaded once per process in `main`.
pub async fn aws() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
