//! Where notifications go: the Slack webhook URL from Secrets Manager, and SNS for critical tiers.

use aws_sdk_sns::types::MessageAttributeValue;
use cost::sns::SnsMessage;

use super::slack::{SlackError, WebhookUrl};
use crate::aws::describe_sdk_error;

/// A notification could not be prepared or sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The secret could not be read (the message names the secret, never its value).
    #[error("cannot read the Slack webhook secret {secret}: {detail}")]
    Secret {
        /// Secret name or ARN.
        secret: String,
        /// Why.
        detail: String,
    },
    /// Posting to Slack failed.
    #[error(transparent)]
    Slack(#[from] SlackError),
    /// Publishing to SNS failed.
    #[error("SNS publish to {topic}: {detail}")]
    Sns {
        /// Topic ARN.
        topic: String,
        /// Why.
        detail: String,
    },
}

/// Reads the webhook URL from Secrets Manager (`GetSecretValue`, name or ARN).
///
/// # Errors
/// [`NotifyError::Secret`] when the call fails or the value is not a usable URL.
pub async fn webhook_url(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
) -> Result<WebhookUrl, NotifyError> {
    let fail = |detail: String| NotifyError::Secret {
        secret: secret.to_owned(),
        detail,
    };
    let out = secrets
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| fail(describe_sdk_error(&e)))?;
    let value = out
        .secret_string()
        .ok_or_else(|| fail("the secret has no SecretString".into()))?;
    WebhookUrl::from_secret(value).map_err(|e| fail(e.to_string()))
}

/// Publishes `message` to `topic`, with `severity` and `kind` message attributes for subscription
/// filters. Returns the message id.
///
/// # Errors
/// [`NotifyError::Sns`] when the publish fails.
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    topic: &str,
    message: &SnsMessage,
    severity: &str,
    kind: &str,
) -> Result<String, NotifyError> {
    let fail = |detail: String| NotifyError::Sns {
        topic: topic.to_owned(),
        detail,
    };
    let attr = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .map_err(|e| fail(e.to_string()))
    };
    let out = sns
        .publish()
        .topic_arn(topic)
        .subject(&message.subject)
        .message(&message.message)
        .message_attributes("severity", attr(severity)?)
        .message_attributes("kind", attr(kind)?)
        .send()
        .await
        .map_err(|e| fail(describe_sdk_error(&e)))?;
    Ok(out.message_id().unwrap_or_default().to_owned())
}
