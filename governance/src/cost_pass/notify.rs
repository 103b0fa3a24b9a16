//! Where notifications go: the Slack webhook URL from Secrets Manager, and SNS for critical tiers. The
//! seam the pass sends through is [`Channels`] (with [`SlackPoster`]), implemented for the SDK clients by
//! [`SdkChannels`] and in memory by `fake::FakeChannels` (feature `testing`).

use std::future::Future;

use aws_sdk_sns::types::MessageAttributeValue;
use cost::slack::SlackMessage;
use cost::sns::SnsMessage;

use super::slack::{PostReceipt, SlackError, SlackRetry, SlackWebhook, WebhookUrl};
use crate::aws::{AwsClients, describe_sdk_error};

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

/// Posts one Slack message (the webhook, or a fake).
pub trait SlackPoster: Send + Sync {
    /// Posts `message`; the receipt says how many attempts it took.
    fn post(&self, message: &SlackMessage) -> impl Future<Output = Result<PostReceipt, SlackError>> + Send;
}

impl SlackPoster for SlackWebhook {
    async fn post(&self, message: &SlackMessage) -> Result<PostReceipt, SlackError> {
        SlackWebhook::post(self, message).await
    }
}

/// The two channels a pass sends to.
pub trait Channels: Send + Sync {
    /// The Slack poster [`Channels::slack`] returns.
    type Slack: SlackPoster;

    /// Reads the webhook secret and builds the poster — before anything is claimed, so a missing secret
    /// cannot swallow a period's post.
    fn slack(
        &self,
        secret: &str,
        retry: SlackRetry,
    ) -> impl Future<Output = Result<Self::Slack, NotifyError>> + Send;

    /// Publishes to SNS with `severity` and `kind` attributes; returns the message id.
    fn publish_sns(
        &self,
        topic: &str,
        message: &SnsMessage,
        severity: &str,
        kind: &str,
    ) -> impl Future<Output = Result<String, NotifyError>> + Send;
}

/// [`Channels`] on the SDK clients (Secrets Manager for the webhook URL, SNS).
#[derive(Debug, Clone, Copy)]
pub struct SdkChannels<'a> {
    clients: &'a AwsClients,
}

impl<'a> SdkChannels<'a> {
    /// Channels through `clients`.
    #[must_use]
    pub const fn new(clients: &'a AwsClients) -> Self {
        Self { clients }
    }
}

impl Channels for SdkChannels<'_> {
    type Slack = SlackWebhook;

    async fn slack(&self, secret: &str, retry: SlackRetry) -> Result<SlackWebhook, NotifyError> {
        let url = webhook_url(&self.clients.secrets, secret).await?;
        Ok(SlackWebhook::new(url, retry)?)
    }

    async fn publish_sns(
        &self,
        topic: &str,
        message: &SnsMessage,
        severity: &str,
        kind: &str,
    ) -> Result<String, NotifyError> {
        publish(&self.clients.sns, topic, message, severity, kind).await
    }
}
