//! Reaching a member account: `sts:AssumeRole` into the role the organisation spec names, and an
//! [`SdkConfig`] whose every client signs with those credentials (and so acts in that account).
//!
//! The call is explicit rather than `aws_config::sts::AssumeRoleProvider` so that a role that cannot be
//! assumed fails *here*, once, classified ([`AwsCallError`]: access denied, throttled, timed out …),
//! instead of as a credentials error inside the first call of every pass. The session lasts an hour
//! (STS's default and the role-chaining ceiling), longer than [`OrgItem`](platform_spec::OrgItem)'s
//! timeout allows any item to run.
//!
//! API: <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>.

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_error::AwsCallError;
use aws_types::SdkConfig;
use platform_spec::OrgItem;

/// The session name member accounts see in CloudTrail for governance's calls.
pub const SESSION_NAME: &str = "collectiq-governance";

/// Seconds an assumed session lasts.
pub const SESSION_SECONDS: i32 = 3600;

/// Why a member account could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum AssumeError {
    /// STS refused or failed (classified).
    #[error(transparent)]
    Sts(#[from] AwsCallError),
    /// STS answered without credentials, or with credentials for another account.
    #[error("sts:AssumeRole {role_arn}: {detail}")]
    Unexpected {
        /// The role.
        role_arn: String,
        /// What was wrong.
        detail: String,
    },
}

impl AssumeError {
    /// The failure class, when STS answered with one.
    #[must_use]
    pub fn class(&self) -> Option<aws_error::ErrorClass> {
        match self {
            Self::Sts(e) => Some(e.class()),
            Self::Unexpected { .. } => None,
        }
    }
}

/// Assumes `item`'s role with `sts` (the governance account's own client) and returns `base` with the
/// session's credentials and the platform's region: every client built from it acts in the member
/// account.
///
/// # Errors
/// [`AssumeError::Sts`] when STS refuses (the trust policy does not name governance's role, the
/// external id is wrong), throttles or times out; [`AssumeError::Unexpected`] when the answer has no
/// credentials or the assumed role is in another account than the spec says.
pub async fn assume_member(
    sts: &aws_sdk_sts::Client,
    base: &SdkConfig,
    item: &OrgItem,
) -> Result<SdkConfig, AssumeError> {
    let out = sts
        .assume_role()
        .role_arn(&item.role_arn)
        .role_session_name(SESSION_NAME)
        .duration_seconds(SESSION_SECONDS)
        .set_external_id(item.external_id.clone())
        .send()
        .await
        .map_err(AwsCallError::of("STS", "AssumeRole"))?;
    let unexpected = |detail: String| AssumeError::Unexpected {
        role_arn: item.role_arn.clone(),
        detail,
    };
    let creds = out
        .credentials()
        .ok_or_else(|| unexpected("the answer has no Credentials".into()))?;
    // `arn:aws:sts::<account>:assumed-role/<role>/<session>`: the account the session acts in.
    if let Some(user) = out.assumed_role_user() {
        let account = crate::aws::account_of_arn(user.arn());
        if account != Some(item.account_id.as_str()) {
            return Err(unexpected(format!(
                "the session acts in account {}, not {}",
                account.unwrap_or("?"),
                item.account_id
            )));
        }
    }
    let expiry = std::time::SystemTime::try_from(*creds.expiration()).ok();
    let credentials = Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        expiry,
        "sts:AssumeRole",
    );
    Ok(base
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .region(Region::new(item.spec.platform.region.clone()))
        .build())
}
