//! Where notifications go and how they get there, at least once and recognisably once.
//!
//! **The channels.** Slack (the incoming-webhook URL from Secrets Manager, [`SlackSource`] →
//! [`SlackPoster`]) and SNS ([`SnsPublisher`]): small seams implemented for the SDK clients
//! (`aws_sdk_secretsmanager::Client`, `aws_sdk_sns::Client`, both at once by [`SdkChannels`]) and in
//! memory by `fake::FakeChannels` (feature `testing`). [`Channels`] is both.
//!
//! **The protocol** (ARCHITECTURE.md: "recorded pending before sending, marked sent after, retried by the
//! next run"; the records are [`crate::ledger::delivery`]):
//! 1. the pass renders each message and writes it as a *pending* [`DeliveryRecord`] — in the same
//!    conditional transaction as the decision it announces ([`LedgerStore::record_all`]), so the decision
//!    and its messages exist together or not at all;
//! 2. [`Sender::send`] sends the stored payload of every record still pending under the pass's keys —
//!    this run's and any an earlier run left (a failed send, a process that died) — and marks each *sent*
//!    with its receipt; a failed send stays pending (its attempt and error are noted in the record).
//!
//! What a user sees in each crash window is in docs/cost-governance.md ("Delivery: at least once").

use std::future::Future;
use std::time::Duration;

use aws_error::{AwsCallError, ErrorClass};
use aws_sdk_sns::types::MessageAttributeValue;
use chrono::{DateTime, Days, NaiveDate, Utc};
use cost::alerting::AlertDecision;
use cost::burn::Severity;
use cost::report::CostReport;
use cost::slack::{SlackMessage, render_with_decision, validate};
use serde::Serialize;

use super::slack::{PostReceipt, SlackError, SlackRetry, SlackWebhook, WebhookUrl};
use super::state::{self, Keys};
use crate::aws::AwsClients;
use crate::ledger::delivery::{Channel, DeliveryRecord, DeliveryState, Payload, SnsNotification};
use crate::ledger::{LeaseHolder, LedgerError, LedgerStore, NewItem};

/// Why the webhook secret gave no usable URL.
#[derive(Debug, thiserror::Error)]
pub enum SecretProblem {
    /// `GetSecretValue` failed (classified).
    #[error("{}", .0.summary())]
    Aws(#[from] AwsCallError),
    /// The secret is binary.
    #[error("the secret has no SecretString")]
    NoString,
    /// The value is not a webhook URL (never echoed).
    #[error(transparent)]
    NotAWebhook(#[from] SlackError),
}

/// A notification could not be prepared or sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The secret could not be read (the message names the secret, never its value).
    #[error("cannot read the Slack webhook secret {secret}: {problem}")]
    Secret {
        /// Secret name or ARN.
        secret: String,
        /// Why (in the message already, so not also a `source`: a `{:#}` chain would say it twice).
        problem: SecretProblem,
    },
    /// Posting to Slack failed.
    #[error(transparent)]
    Slack(#[from] SlackError),
    /// Publishing to SNS failed.
    #[error("SNS publish to {topic}: {}", .cause.summary())]
    Sns {
        /// Topic ARN.
        topic: String,
        /// The classified call error (in the message already, so not also a `source`: a `{:#}` chain
        /// would say it twice).
        cause: AwsCallError,
    },
    /// This sender has no such channel (a record in the wrong partition).
    #[error("no channel to send to: {0}")]
    NoChannel(String),
    /// The message was never sent: the payload breaks Slack's limits.
    #[error("the Slack payload breaks Slack's limits: {0}")]
    OverLimits(String),
}

impl NotifyError {
    /// Whether this payload can never be sent: it breaks Slack's limits, so the sender refuses it before
    /// any request, every time (the stored payload is sent as it is). Slack's own `invalid_payload` is
    /// not counted: the next run sends the record again, as a Slack-side fault may pass. Unlike a
    /// channel that is down, a later message may still go through.
    #[must_use]
    pub const fn refuses_payload(&self) -> bool {
        matches!(self, Self::OverLimits(_))
    }

    /// The class of the AWS failure behind it (SNS, Secrets Manager), if any.
    #[must_use]
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::Secret {
                problem: SecretProblem::Aws(e),
                ..
            }
            | Self::Sns { cause: e, .. } => Some(e.class()),
            _ => None,
        }
    }

    /// Whether the channel may have accepted the message although the call failed (a timeout, a
    /// connection lost after sending, a server error): a retry can then deliver it a second time.
    #[must_use]
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Self::Slack(e) => e.outcome_unknown(),
            Self::Sns { cause, .. } => matches!(
                cause.class(),
                ErrorClass::Timeout | ErrorClass::Transport | ErrorClass::ServerFault
            ),
            Self::Secret { .. } | Self::OverLimits(_) | Self::NoChannel(_) => false,
        }
    }
}

/// Reads the webhook URL from Secrets Manager (`GetSecretValue`, name or ARN). A loopback URL (the
/// demo's local sink) is taken only when `local_endpoint` says the run talks to the local emulator:
/// deployed, 127.0.0.1 is the function's own sandbox (Lambda's Runtime API listens there), so the
/// reports would reach nobody — or something that is not Slack.
///
/// # Errors
/// [`NotifyError::Secret`] when the call fails or the value is not a usable URL.
pub async fn webhook_url(
    secrets: &aws_sdk_secretsmanager::Client,
    secret: &str,
    local_endpoint: bool,
) -> Result<WebhookUrl, NotifyError> {
    let fail = |problem: SecretProblem| NotifyError::Secret {
        secret: secret.to_owned(),
        problem,
    };
    let out = secrets
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| fail(AwsCallError::from_sdk("SecretsManager", "GetSecretValue", e).into()))?;
    let value = out.secret_string().ok_or_else(|| fail(SecretProblem::NoString))?;
    let url = WebhookUrl::from_secret(value).map_err(|e| fail(e.into()))?;
    if url.is_loopback() && !local_endpoint {
        return Err(fail(
            SlackError::BadSecret(LOOPBACK_OUTSIDE_EMULATOR.into()).into(),
        ));
    }
    Ok(url)
}

/// Why a loopback webhook URL is refused when the run does not talk to the local emulator.
pub const LOOPBACK_OUTSIDE_EMULATOR: &str = "a loopback URL (the demo's local sink), taken only when the AWS endpoint \
     is the local emulator: here it would post inside the function's own sandbox, never to Slack";

/// Publishes `message` with its attributes; on a FIFO topic also with `MessageGroupId` and
/// `MessageDeduplicationId` (from the record id), so SNS itself drops a repeat within five minutes.
/// Returns the message id.
///
/// # Errors
/// [`NotifyError::Sns`] when the publish fails.
pub async fn publish(sns: &aws_sdk_sns::Client, message: &SnsNotification) -> Result<String, NotifyError> {
    let mut request = sns
        .publish()
        .topic_arn(&message.topic)
        .subject(&message.subject)
        .message(&message.message);
    for (name, value) in &message.attributes {
        // `build` only fails without a data type, which is always set.
        if let Ok(attr) = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
        {
            request = request.message_attributes(name, attr);
        }
    }
    if message.is_fifo()
        && let Some(key) = message.idempotency_key()
    {
        request = request
            .message_group_id("governance")
            .message_deduplication_id(fifo_dedup_id(key));
    }
    let out = request.send().await.map_err(|e| NotifyError::Sns {
        topic: message.topic.clone(),
        cause: AwsCallError::from_sdk("SNS", "Publish", e),
    })?;
    Ok(out.message_id().unwrap_or_default().to_owned())
}

/// A `MessageDeduplicationId` for a record id: the id itself when it fits SNS's rule (≤ 128 printable
/// ASCII characters), otherwise its FNV-1a hash in hex.
///
/// ```
/// use governance::cost_pass::notify::fifo_dedup_id;
/// assert_eq!(fifo_dedup_id("collectiq-prod#cost-alert#2026-11/sns#150"), "collectiq-prod#cost-alert#2026-11/sns#150");
/// assert_eq!(fifo_dedup_id(&"x".repeat(200)).len(), 16);
/// ```
#[must_use]
pub fn fifo_dedup_id(id: &str) -> String {
    if id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) {
        return id.to_owned();
    }
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
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

/// Gives the Slack poster for a webhook secret.
pub trait SlackSource: Send + Sync {
    /// The poster [`SlackSource::slack`] returns.
    type Slack: SlackPoster;

    /// Reads the webhook secret and builds the poster.
    fn slack(
        &self,
        secret: &str,
        retry: SlackRetry,
    ) -> impl Future<Output = Result<Self::Slack, NotifyError>> + Send;
}

/// Publishes to SNS.
pub trait SnsPublisher: Send + Sync {
    /// Publishes `message` (topic, subject, body, attributes); returns the message id.
    fn publish_sns(
        &self,
        message: &SnsNotification,
    ) -> impl Future<Output = Result<String, NotifyError>> + Send;
}

/// Both channels a pass sends to.
pub trait Channels: SlackSource + SnsPublisher {}

impl<T: SlackSource + SnsPublisher> Channels for T {}

impl SnsPublisher for aws_sdk_sns::Client {
    async fn publish_sns(&self, message: &SnsNotification) -> Result<String, NotifyError> {
        publish(self, message).await
    }
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

impl SlackSource for SdkChannels<'_> {
    type Slack = SlackWebhook;

    async fn slack(&self, secret: &str, retry: SlackRetry) -> Result<SlackWebhook, NotifyError> {
        let url = webhook_url(&self.clients.secrets, secret, self.clients.local_endpoint).await?;
        Ok(SlackWebhook::new(url, retry)?)
    }
}

impl SnsPublisher for SdkChannels<'_> {
    async fn publish_sns(&self, message: &SnsNotification) -> Result<String, NotifyError> {
        publish(&self.clients.sns, message).await
    }
}

/// No Slack channel: for a sender that only publishes (the escalation). A Slack record given to it fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSlack;

/// The poster of [`NoSlack`] (never built).
#[derive(Debug, Clone, Copy)]
pub struct NoPoster;

impl SlackPoster for NoPoster {
    async fn post(&self, _message: &SlackMessage) -> Result<PostReceipt, SlackError> {
        Err(SlackError::BadSecret(
            "no Slack channel configured for this sender".into(),
        ))
    }
}

impl SlackSource for NoSlack {
    type Slack = NoPoster;

    async fn slack(&self, _secret: &str, _retry: SlackRetry) -> Result<NoPoster, NotifyError> {
        Err(NotifyError::NoChannel("Slack".into()))
    }
}

/// No SNS channel: for a sender that only posts (the alarm-state report). An SNS record given to it
/// fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSns;

impl SnsPublisher for NoSns {
    async fn publish_sns(&self, message: &SnsNotification) -> Result<String, NotifyError> {
        Err(NotifyError::NoChannel(format!("SNS topic {}", message.topic)))
    }
}

/// A record as read back from the ledger, with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
    /// The record.
    pub record: DeliveryRecord,
}

/// Every delivery record under `pk` (items that are not records — markers, snapshots, items written by
/// earlier versions — are skipped), in sort-key order.
///
/// # Errors
/// When the ledger query fails.
pub async fn records<L: LedgerStore + ?Sized>(
    ledger: &L,
    pk: &str,
) -> Result<Vec<StoredRecord>, LedgerError> {
    Ok(ledger
        .claims(pk)
        .await?
        .into_iter()
        .filter_map(|(sk, detail)| {
            DeliveryRecord::parse(&detail).map(|record| StoredRecord {
                pk: pk.to_owned(),
                sk,
                record,
            })
        })
        .collect())
}

/// The item that records `record` at `(pk, sk)`.
///
/// # Errors
/// When the record does not serialize.
pub fn record_item(
    ledger_table: &str,
    pk: &str,
    sk: &str,
    record: &DeliveryRecord,
) -> Result<String, LedgerError> {
    record
        .to_detail()
        .map_err(|e| LedgerError::document(ledger_table, format!("record {pk}/{sk}"), e))
}

/// The record id of the item `(pk, sk)`: what the message carries.
#[must_use]
pub fn record_id(pk: &str, sk: &str) -> String {
    format!("{pk}/{sk}")
}

/// One record sent in this run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentRecord {
    /// Record id.
    pub id: String,
    /// Channel.
    pub channel: Channel,
    /// SNS message id, or `attempts=N` for Slack.
    pub receipt: String,
    /// HTTP attempts the Slack post took (1 for SNS).
    pub attempts: u32,
    /// Whether it was recorded by an earlier run (a retry).
    pub retried: bool,
}

/// Why a record was not delivered in this run.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The channel refused or never answered; the record stays pending.
    #[error("{id}: {cause}")]
    Send {
        /// Record id.
        id: String,
        /// The failure (in the message, not a `source`: a `{:#}` chain would repeat it).
        cause: NotifyError,
    },
    /// Another run holds its lease ([`LedgerStore::lease`]): it is sending it now, so this run does
    /// not (two runs at once send a message once). Not a failure; if that run dies before marking it,
    /// the lease ends after [`SEND_LEASE`] and a later run sends it.
    #[error("{id}: another run is sending it")]
    InFlight {
        /// Record id.
        id: String,
    },
    /// Another run sent it (or settled it as refused) after this run read it pending: nothing to do, and
    /// nothing failed.
    #[error("{id}: already sent by another run")]
    Settled {
        /// Record id.
        id: String,
    },
    /// The ledger could not lease it (see [`LedgerStore::lease`]): not sent; it stays pending.
    #[error("{id}: not sent (the ledger could not lease it): {cause}")]
    NotLeased {
        /// Record id.
        id: String,
        /// The ledger failure (in the message, not a `source`).
        cause: LedgerError,
    },
    /// The channel accepted it but the ledger could not mark it sent: the next run sends it again,
    /// carrying the same id.
    #[error("{id}: sent, but not marked sent (the next run sends it again, same delivery ref): {cause}")]
    NotMarked {
        /// Record id.
        id: String,
        /// The ledger failure (in the message, not a `source`).
        cause: LedgerError,
    },
}

impl DeliveryError {
    /// Whether the record was refused for good ([`NotifyError::refuses_payload`]): it is no longer
    /// pending, and the messages after it can still be sent.
    #[must_use]
    pub const fn refused(&self) -> bool {
        matches!(self, Self::Send { cause, .. } if cause.refuses_payload())
    }

    /// The AWS class of the failure, if it was an AWS call.
    #[must_use]
    pub fn class(&self) -> Option<ErrorClass> {
        match self {
            Self::Send { cause, .. } => cause.class(),
            Self::NotMarked { cause, .. } | Self::NotLeased { cause, .. } => cause.class(),
            Self::InFlight { .. } | Self::Settled { .. } => None,
        }
    }
}

/// Sends stored records through the channels and keeps the ledger up to date. The Slack poster is
/// built on the first Slack record (so a broken secret never holds back an SNS page).
#[derive(Debug)]
pub struct Sender<'a, L, S: SlackSource, P> {
    ledger: &'a L,
    slack: &'a S,
    sns: &'a P,
    secret: &'a str,
    retry: SlackRetry,
    poster: Option<S::Slack>,
    /// How long a sent record is kept (`None`: no TTL).
    keep_sent: Option<Duration>,
    /// The critical topic as configured now ([`Sender::with_sns_topic`]).
    sns_topic: Option<&'a str>,
}

impl<'a, L: LedgerStore, S: SlackSource, P: SnsPublisher> Sender<'a, L, S, P> {
    /// A sender writing to `ledger`, posting through `slack` (webhook secret `secret`) and publishing
    /// through `sns`; sent records are kept for `keep_sent`.
    #[must_use]
    pub const fn new(
        ledger: &'a L,
        slack: &'a S,
        sns: &'a P,
        secret: &'a str,
        retry: SlackRetry,
        keep_sent: Option<Duration>,
    ) -> Self {
        Self {
            ledger,
            slack,
            sns,
            secret,
            retry,
            poster: None,
            keep_sent,
            sns_topic: None,
        }
    }

    /// SNS records go to `topic`, whatever topic a record was stored with: a page recorded while the
    /// topic was misconfigured (or since replaced) reaches the topic configured now instead of failing
    /// on the old one on every run. An empty `topic` changes nothing.
    #[must_use]
    pub fn with_sns_topic(mut self, topic: &'a str) -> Self {
        self.sns_topic = (!topic.is_empty()).then_some(topic);
        self
    }

    async fn transmit(&mut self, payload: &Payload) -> Result<(String, u32), NotifyError> {
        match payload {
            Payload::Sns(message) => match self.sns_topic {
                Some(topic) if message.topic != topic => {
                    let mut moved = message.clone();
                    topic.clone_into(&mut moved.topic);
                    Ok((self.sns.publish_sns(&moved).await?, 1))
                }
                _ => Ok((self.sns.publish_sns(message).await?, 1)),
            },
            Payload::Slack(message) => {
                let violations = validate(message);
                if !violations.is_empty() {
                    return Err(NotifyError::OverLimits(format!("{violations:?}")));
                }
                let poster = match self.poster.take() {
                    Some(p) => p,
                    None => self.slack.slack(self.secret, self.retry).await?,
                };
                let posted = poster.post(message).await;
                self.poster = Some(poster);
                let receipt = posted?;
                Ok((format!("attempts={}", receipt.attempts), receipt.attempts))
            }
        }
    }

    /// Sends the stored payload of `stored` (pending), then marks it sent; a failed send leaves it
    /// pending, with the attempt noted.
    ///
    /// # Errors
    /// [`DeliveryError`] saying whether the send or the marking failed.
    pub async fn send(
        &mut self,
        stored: StoredRecord,
        now: DateTime<Utc>,
    ) -> Result<SentRecord, DeliveryError> {
        let StoredRecord { pk, sk, record } = stored;
        let id = record.id.clone();
        // One sender at a time: two runs that read it pending send it once. The lease also hands back
        // the record as it is now: one another run marked sent (or refused) meanwhile is not sent again.
        // It is timed by the wall clock when it is taken, not by the run's `now` (taken before the
        // report was read, and before this run's earlier sends).
        let at = Utc::now();
        let holder = LeaseHolder {
            until: at + send_lease(self.retry),
            taken_at: at,
        };
        let lease = self
            .ledger
            .lease(&pk, &sk, holder.until, holder.taken_at)
            .await
            .map_err(|cause| DeliveryError::NotLeased {
                id: id.clone(),
                cause,
            });
        match lease? {
            None => return Err(DeliveryError::InFlight { id }),
            Some(current) if DeliveryRecord::parse(&current).is_some_and(|r| !r.is_pending()) => {
                return Err(DeliveryError::Settled { id });
            }
            Some(_) => {}
        }
        let retried = record.attempts > 0 || record.recorded_at < now;
        match self.transmit(&record.payload).await {
            Ok((receipt, attempts)) => {
                let channel = record.channel();
                let sent = record.sent(receipt.clone(), now);
                let marked = match sent.to_detail() {
                    Ok(detail) => mark_sent(self.ledger, &pk, &sk, holder, &detail, self.keep_sent).await,
                    Err(e) => Err(LedgerError::document(
                        self.ledger.table(),
                        format!("update {pk}/{sk}"),
                        e,
                    )),
                };
                let marked = marked.map_err(|cause| DeliveryError::NotMarked {
                    id: id.clone(),
                    cause,
                })?;
                if !marked {
                    // Delivered, but after the lease ran out another run took the record over: its
                    // outcome is the one the ledger keeps (sent, or pending for the next run — one
                    // more copy with the same id at most).
                    tracing::warn!(id = %id, "sent after the send lease ran out; another run had taken the record over");
                }
                Ok(SentRecord {
                    id,
                    channel,
                    receipt,
                    attempts,
                    retried,
                })
            }
            Err(source) => {
                // A payload that can never be sent is settled as refused (with the usual expiry), so it
                // holds back no later message; any other failure leaves it pending for the next run.
                // Noting either is best effort: if the write fails it stays pending (and a refused one
                // is refused again, before any request, next time).
                let refused = source.refuses_payload();
                let (noted, keep) = if refused {
                    (record.refused(source.to_string(), now), self.keep_sent)
                } else {
                    (record.failed(source.to_string(), now), None)
                };
                // Only while the lease is this run's: a send that outlasted it must not turn the
                // outcome of the run that took over (sent, say) back into pending.
                if let Ok(detail) = noted.to_detail() {
                    match self.ledger.update_leased(&pk, &sk, holder, &detail, keep).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::info!(id = %id, "failed after the send lease ran out; another run has the record")
                        }
                        Err(e) => {
                            tracing::warn!(id = %id, error = %e, "could not note a failed delivery attempt")
                        }
                    }
                }
                if refused {
                    tracing::error!(id = %id, error = %source, "the channel refuses this message: not sent, not retried");
                }
                Err(DeliveryError::Send { id, cause: source })
            }
        }
    }

    /// Sends every pending record of `pending` (SNS first: pages matter most), adding what happened to
    /// `delivery`.
    pub async fn send_all(
        &mut self,
        pending: Vec<StoredRecord>,
        now: DateTime<Utc>,
        delivery: &mut Delivery,
    ) {
        let (mut sns, slack): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .filter(|s| s.record.is_pending())
            .partition(|s| s.record.channel() == Channel::Sns);
        sns.extend(slack);
        for stored in sns {
            match self.send(stored, now).await {
                Ok(sent) => delivery.add_sent(sent),
                Err(e) => delivery.add_failure(e),
            }
        }
    }
}

/// Tries of the write that marks a delivered message sent.
pub const MARK_SENT_TRIES: u32 = 4;

/// Marks a record sent, re-trying a retryable failure (throttled, 5xx, timeout) up to
/// [`MARK_SENT_TRIES`] times, 100 ms, 200 ms, 400 ms apart, whatever the client's own retry settings.
/// This is the one write whose loss makes the next run send the message again — a second page on the
/// critical topic — so it is worth a second of waiting; a lasting failure (denied, missing table) is
/// not re-tried.
///
/// Written only while `holder` still holds the record's lease ([`LedgerStore::update_leased`]):
/// `Ok(false)` when another run took it over.
async fn mark_sent<L: LedgerStore>(
    ledger: &L,
    pk: &str,
    sk: &str,
    holder: LeaseHolder,
    detail: &str,
    keep: Option<Duration>,
) -> Result<bool, LedgerError> {
    let mut pause = Duration::from_millis(100);
    let mut tries = 1;
    loop {
        match ledger.update_leased(pk, sk, holder, detail, keep).await {
            Err(e) if e.is_retryable() && tries < MARK_SENT_TRIES => {
                tracing::warn!(pk, sk, error = %e, tries, "marking a delivered message sent failed; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                tries += 1;
            }
            done => return done,
        }
    }
}

/// What was sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Whether sending was asked for.
    pub requested: bool,
    /// Whether Slack accepted a post in this run.
    pub slack_posted: bool,
    /// Attempts the Slack posts of this run took (429 retries included).
    pub slack_attempts: u32,
    /// The SNS message id, when a critical message was published.
    pub sns_message_id: Option<String>,
    /// Why nothing was sent, when nothing was.
    pub skipped: Option<String>,
    /// What failed (never contains the webhook URL).
    pub errors: Vec<String>,
    /// Records sent in this run (`retried`: recorded by an earlier run).
    pub sent: Vec<SentRecord>,
    /// Ids of records still pending after this run (the next run sends them).
    pub pending: Vec<String>,
    /// Ids of records never to be sent (replaced by a newer message).
    pub superseded: Vec<String>,
    /// Ids of records another run was sending at the same time (it sends them; see [`SEND_LEASE`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_flight: Vec<String>,
    /// The AWS classes of the failures (for the handler's error type).
    #[serde(skip)]
    pub failure_classes: Vec<ErrorClass>,
}

impl Delivery {
    /// `another run was sending <ids> at the same time`, when a record was in flight (the caller says
    /// what it does about it).
    #[must_use]
    pub fn in_flight_note(&self) -> Option<String> {
        (!self.in_flight.is_empty()).then(|| {
            format!(
                "another run was sending {} at the same time",
                self.in_flight.join(", ")
            )
        })
    }

    /// Whether a send failed.
    #[must_use]
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    fn add_sent(&mut self, sent: SentRecord) {
        match sent.channel {
            Channel::Slack => {
                self.slack_posted = true;
                self.slack_attempts += sent.attempts;
            }
            Channel::Sns => self.sns_message_id = Some(sent.receipt.clone()),
        }
        self.sent.push(sent);
    }

    fn add_failure(&mut self, e: DeliveryError) {
        let id = match &e {
            // Another run is sending it: not this run's failure, not this run's to report pending.
            DeliveryError::InFlight { id } => {
                self.in_flight.push(id.clone());
                return;
            }
            // Sent by another run meanwhile: done, by someone.
            DeliveryError::Settled { .. } => return,
            DeliveryError::Send { id, .. }
            | DeliveryError::NotMarked { id, .. }
            | DeliveryError::NotLeased { id, .. } => id.clone(),
        };
        self.pending.push(id);
        if let Some(class) = e.class() {
            self.failure_classes.push(class);
        }
        let message = match e {
            // The id says which message; the error what went wrong.
            DeliveryError::Send { cause, .. } => cause.to_string(),
            e => e.to_string(),
        };
        self.errors.push(message);
    }
}

/// What the daily run decided to announce, for [`deliver_daily`].
#[derive(Debug, Clone, Copy)]
pub struct DailyNotice<'a> {
    /// The environment's ledger keys.
    pub keys: &'a Keys,
    /// The report.
    pub report: &'a CostReport,
    /// The budget decision (from the delivered records of the period).
    pub decision: &'a AlertDecision,
    /// The critical SNS message of the decision, when it pages.
    pub sns: Option<&'a cost::sns::SnsMessage>,
    /// The period's alert partition (`…#cost-alert#<period>`, [`super::alert_period`]).
    pub alert_pk: &'a str,
    /// The previous period's alert partition (its pending records are sent too).
    pub previous_alert_pk: &'a str,
    /// Where to send.
    pub slack_secret: &'a str,
    /// The critical topic.
    pub sns_topic: &'a str,
    /// How long the alert period's records are kept ([`state::alert_keep`]).
    pub alert_keep: Duration,
    /// Slack retry bounds.
    pub retry: SlackRetry,
    /// Now (records' timestamps).
    pub now: DateTime<Utc>,
}

/// The pending record of a critical budget page under `alert_pk`/`sk` (`sns#NNN`), as JSON.
fn page_record(
    table: &str,
    alert_pk: &str,
    sk: &str,
    topic: &str,
    sns: &cost::sns::SnsMessage,
    now: DateTime<Utc>,
) -> Result<String, LedgerError> {
    let message = SnsNotification::new(
        topic,
        &sns.subject,
        &sns.message,
        Severity::Critical.label(),
        "cost_budget",
    );
    let record = DeliveryRecord::sns(&record_id(alert_pk, sk), message, now);
    record_item(table, alert_pk, sk, &record)
}

/// Records the critical page of `report` — actual spend at 150 % of a budget, which Budgets alone
/// gives — under `alert_pk` when a run cannot send the day's report (a Cost Explorer input is
/// missing): the page does not wait for the next complete run, which the daily request cap can put a
/// day away. The record is the one the complete run would write (`sns#NNN` of the report's tier), so
/// that run finds it and pages no second time; the transition's Slack message still comes with that
/// run's report. `missing` is added to the page's text. Nothing when the report is not critical, or
/// when the page is recorded already (the conditional write keeps the first); the caller's
/// `send_pending` sends what is pending.
///
/// # Errors
/// [`LedgerError`] when the alert partition cannot be written.
pub async fn record_early_page<L: LedgerStore>(
    ledger: &L,
    report: &CostReport,
    alert_pk: &str,
    topic: &str,
    keep: Duration,
    missing: &str,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let Some(mut sns) = cost::sns::critical_message(report) else {
        return Ok(());
    };
    let sk = state::sns_marker(&state::tier_marker(report.tier()));
    sns.message.push_str(&format!(
        "\n\nSent before the day's report, which waits for: {missing}. The spend above is Budgets' own; projections may change when the report is complete."
    ));
    let detail = page_record(ledger.table(), alert_pk, &sk, topic, &sns, now)?;
    let item = NewItem {
        pk: alert_pk,
        sk: &sk,
        detail: &detail,
        keep: Some(keep),
    };
    if !ledger.record_all(&[item]).await? {
        tracing::info!(sk = %sk, "the critical page was recorded already (an earlier or concurrent run)");
    }
    Ok(())
}

/// Records the day's messages (Slack: the report, with the alert line of a new transition; SNS: the
/// critical page) as pending, in one transaction with the decision's marker, then sends every pending
/// record of the report and the period. A pending report of an earlier day is superseded (never sent):
/// today's report replaces it.
///
/// Keys: the Slack record is `cost-alert#<period>/<tier#NNN|recovery#NNN>` for a transition (with a marker
/// `cost-report/<day>` pointing at it when it is the day's first post) or `cost-report/<day>` for a plain
/// report; the SNS record `cost-alert#<period>/sns#NNN`.
///
/// # Errors
/// When the ledger cannot be read or the records cannot be written. Failed sends are in the returned
/// [`Delivery`].
pub async fn deliver_daily<L: LedgerStore, N: Channels>(
    ledger: &L,
    channels: &N,
    notice: DailyNotice<'_>,
) -> Result<Delivery, LedgerError> {
    let DailyNotice {
        keys,
        report,
        decision,
        alert_pk,
        now,
        ..
    } = notice;
    let mut delivery = Delivery {
        requested: true,
        ..Delivery::default()
    };
    let report_pk = keys.report();
    let day = report.date.to_string();
    let report_items = ledger.claims(&report_pk).await?;
    let alert_items = ledger.claims(alert_pk).await?;
    let exists = |items: &[(String, String)], sk: &str| items.iter().any(|(s, _)| s == sk);
    let day_recorded = exists(&report_items, &day);
    let marker = state::decision_marker(decision).filter(|m| !exists(&alert_items, m));

    // What this run adds: the Slack message (if the day or the transition is new) and the SNS page.
    let mut new: Vec<(String, String, String)> = Vec::new();
    let slack_key = match (&marker, day_recorded) {
        (Some(m), _) => Some((alert_pk.to_owned(), m.clone())),
        (None, false) => Some((report_pk.clone(), day.clone())),
        (None, true) => None,
    };
    let effective = if marker.is_some() {
        *decision
    } else {
        AlertDecision::Nothing
    };
    if let Some((pk, sk)) = &slack_key {
        let message = render_with_decision(report, &effective);
        let record = DeliveryRecord::slack(&record_id(pk, sk), message, now);
        new.push((
            pk.clone(),
            sk.clone(),
            record_item(ledger.table(), pk, sk, &record)?,
        ));
        if let (Some(m), false) = (&marker, day_recorded) {
            // The day's first post is the transition's message: the day points at it.
            new.push((
                report_pk.clone(),
                day.clone(),
                format!("posted as {}", record_id(alert_pk, m)),
            ));
        }
    }
    // The SNS page of a new critical transition, or one an earlier version owes (`sns-owed#NNN`), or
    // one owed because actual spend passed 150 % after a projection had already claimed that tier
    // (a warning then, no page): the tier brings no new transition, but the page is still due once.
    let sks: Vec<String> = alert_items.iter().map(|(sk, _)| sk.clone()).collect();
    let page_marker = match (&marker, notice.sns) {
        (Some(m), Some(_)) => Some(m.clone()),
        (None, _) => state::owed_sns(&sks)
            .or_else(|| (report.severity() == Severity::Critical).then(|| state::tier_marker(report.tier()))),
        (Some(_), None) => None,
    };
    let page = match (page_marker, notice.sns) {
        (Some(m), Some(sns)) => Some((m, sns.clone())),
        (Some(m), None) => cost::sns::critical_message(report).map(|sns| (m, sns)),
        (None, _) => None,
    };
    if let Some((m, sns)) = page {
        let sk = state::sns_marker(&m);
        if !exists(&alert_items, &sk) {
            let detail = page_record(ledger.table(), alert_pk, &sk, notice.sns_topic, &sns, now)?;
            new.push((alert_pk.to_owned(), sk, detail));
        }
    }
    // The alert period's records outlive the period (a quarter's, a year's); the day's report, 70 days.
    let items: Vec<NewItem<'_>> = new
        .iter()
        .map(|(pk, sk, detail)| NewItem {
            pk,
            sk,
            detail,
            keep: Some(if pk == alert_pk {
                notice.alert_keep
            } else {
                state::CLAIM_KEEP
            }),
        })
        .collect();
    if !items.is_empty() && !ledger.record_all(&items).await? {
        // Another run recorded this decision at the same time: its records are sent below or by it.
        tracing::info!("the day's messages were recorded by a concurrent run");
    }

    let scope = PendingScope {
        reports: Some((&report_pk, &day)),
        alert_pks: &[notice.previous_alert_pk, alert_pk],
        slack_secret: notice.slack_secret,
        sns_topic: notice.sns_topic,
        keep: notice.alert_keep,
        retry: notice.retry,
        now,
    };
    if !send_pending(ledger, channels, &scope, &mut delivery).await? {
        delivery.skipped = Some(format!(
            "the {day} report was already posted and there is no new budget transition"
        ));
    }
    Ok(delivery)
}

/// The longest one AWS call of a send takes, its retries included: the webhook secret's
/// `GetSecretValue` or an SNS `Publish` (the operation timeout of [`crate::aws::default_timeouts`]).
pub const AWS_CALL_BOUND: Duration = Duration::from_secs(90);

/// What a lease keeps beyond the slowest send: the lease write itself and clocks that differ between
/// two Lambdas (milliseconds). Kept small: a run that died holding a lease leaves its record until the
/// lease is over, and Lambda's second async retry comes about 3 minutes and two runs' time after.
pub const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// How long a run holds a record it is sending ([`LedgerStore::lease`]) with the default Slack retry
/// bounds: longer than the slowest send — the first Slack record of a run reads the webhook secret
/// ([`AWS_CALL_BOUND`]) and then posts, three attempts timing out with the longest waits between them
/// ([`SlackRetry::worst_case`], 90 s) — plus [`LEASE_MARGIN`]; an SNS publish takes at most
/// [`AWS_CALL_BOUND`]. Short enough that a run that died while sending leaves the record to a run a few
/// minutes later. Writes after the send are conditional on the lease ([`LedgerStore::update_leased`]),
/// so a send that outlasts it anyway cannot overwrite what the run that took over wrote.
pub const SEND_LEASE: chrono::Duration = chrono::Duration::seconds(190);

/// The send lease for Slack retry bounds `retry`: [`SEND_LEASE`], or longer when `retry` allows a
/// slower post than the default.
#[must_use]
pub fn send_lease(retry: SlackRetry) -> chrono::Duration {
    let slowest = AWS_CALL_BOUND + retry.worst_case() + LEASE_MARGIN;
    chrono::Duration::from_std(slowest).map_or(SEND_LEASE, |d| d.max(SEND_LEASE))
}

/// Where [`send_pending`] looks for records earlier runs left pending, and how it sends them.
#[derive(Debug, Clone, Copy)]
pub struct PendingScope<'a> {
    /// The report partition (`…#cost-report`) and today (`YYYY-MM-DD`), if reports are owed: a pending
    /// report of an earlier day is superseded, never sent.
    pub reports: Option<(&'a str, &'a str)>,
    /// Alert partitions whose pending transitions and pages are sent.
    pub alert_pks: &'a [&'a str],
    /// Where to post.
    pub slack_secret: &'a str,
    /// The critical topic configured now: pending pages go there ([`Sender::with_sns_topic`]).
    pub sns_topic: &'a str,
    /// How long a sent record is kept: past the end of the alert periods in scope.
    pub keep: Duration,
    /// Slack retry bounds.
    pub retry: SlackRetry,
    /// Now (records' timestamps).
    pub now: DateTime<Utc>,
}

/// Sends every record pending in `scope` (SNS first), superseding earlier days' reports; records nothing
/// new. Returns whether anything was pending. [`deliver_daily`] ends with it, and a run whose own report
/// is incomplete calls it alone: a page an earlier run decided must not wait for the next complete run
/// (a day, for the daily pass).
///
/// # Errors
/// A ledger read or the superseding write failed.
pub async fn send_pending<L: LedgerStore, N: Channels>(
    ledger: &L,
    channels: &N,
    scope: &PendingScope<'_>,
    delivery: &mut Delivery,
) -> Result<bool, LedgerError> {
    let now = scope.now;
    // Everything pending: the report partition (today's; earlier days are superseded) and the periods.
    let mut pending = Vec::new();
    let (reports, day) = match scope.reports {
        Some((pk, day)) => (records(ledger, pk).await?, day),
        None => (Vec::new(), ""),
    };
    for stored in reports {
        if !stored.record.is_pending() {
            continue;
        }
        if stored.sk.as_str() < day {
            let id = stored.record.id.clone();
            let superseded = stored.record.superseded();
            let detail = record_item(ledger.table(), &stored.pk, &stored.sk, &superseded)?;
            ledger
                .update_record(&stored.pk, &stored.sk, &detail, Some(state::CLAIM_KEEP))
                .await?;
            delivery.superseded.push(id);
        } else {
            pending.push(stored);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for pk in scope.alert_pks.iter().filter(|pk| seen.insert(**pk)) {
        pending.extend(
            records(ledger, pk)
                .await?
                .into_iter()
                .filter(|s| s.record.is_pending()),
        );
    }
    if pending.is_empty() {
        return Ok(false);
    }
    let mut sender = Sender::new(
        ledger,
        channels,
        channels,
        scope.slack_secret,
        scope.retry,
        Some(scope.keep),
    )
    .with_sns_topic(scope.sns_topic);
    sender.send_all(pending, now, delivery).await;
    Ok(true)
}

/// Days the hourly burn check sends a burn alert an earlier run left pending: the day it was recorded
/// and the six after — a long weekend with a holiday on either side, with a day to spare. A webhook
/// revoked on Friday evening still has its page sent (and every run in between fails) once it is fixed.
pub const BURN_RESEND_DAYS: u64 = 7;

/// Days after [`BURN_RESEND_DAYS`] in which a burn alert still pending is given up: settled as
/// superseded (never sent: a burn rate a week old pages no one usefully) and reported as a failure of
/// the run that settles it. Looked for during as many days as it was sent, so a whole week without a
/// run that reads the ledger still reports it rather than letting it fall out of sight.
pub const BURN_GIVE_UP_DAYS: u64 = 7;

/// The fast-burn partitions (`…#fast-burn#YYYY-MM-DD`) one hourly run looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnPartitions {
    /// Today's: where this run records its alert.
    pub today: String,
    /// Today's and the [`BURN_RESEND_DAYS`]` - 1` days before, oldest first: their pending alerts are
    /// sent.
    pub resend: Vec<String>,
    /// The [`BURN_GIVE_UP_DAYS`] days before those, oldest first: their pending alerts are given up.
    pub give_up: Vec<String>,
}

impl BurnPartitions {
    /// The partitions of `today` under `keys`.
    ///
    /// ```
    /// use governance::cost_pass::notify::{BURN_GIVE_UP_DAYS, BURN_RESEND_DAYS, BurnPartitions};
    /// use governance::cost_pass::state::Keys;
    /// let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    /// let p = BurnPartitions::new(&Keys::new("collectiq-prod"), day);
    /// assert_eq!(p.today, "collectiq-prod#fast-burn#2026-11-21");
    /// assert_eq!(p.resend.len() as u64, BURN_RESEND_DAYS);
    /// assert_eq!(p.resend.first().unwrap(), "collectiq-prod#fast-burn#2026-11-15");
    /// assert_eq!(p.give_up.len() as u64, BURN_GIVE_UP_DAYS);
    /// assert_eq!(p.give_up.last().unwrap(), "collectiq-prod#fast-burn#2026-11-14");
    /// ```
    #[must_use]
    pub fn new(keys: &Keys, today: NaiveDate) -> Self {
        let days_back = |from: u64, count: u64| -> Vec<String> {
            (from..from + count)
                .rev()
                .filter_map(|n| today.checked_sub_days(Days::new(n)))
                .map(|day| keys.fast_burn(day))
                .collect()
        };
        Self {
            today: keys.fast_burn(today),
            resend: days_back(0, BURN_RESEND_DAYS),
            give_up: days_back(BURN_RESEND_DAYS, BURN_GIVE_UP_DAYS),
        }
    }
}

/// Where the burn check's pending alerts are, and how they are sent.
#[derive(Debug, Clone, Copy)]
pub struct BurnScope<'a> {
    /// The partitions looked at.
    pub partitions: &'a BurnPartitions,
    /// Where to send.
    pub slack_secret: &'a str,
    /// The critical topic configured now.
    pub sns_topic: &'a str,
    /// Slack retry bounds.
    pub retry: SlackRetry,
    /// Now.
    pub now: DateTime<Utc>,
}

/// One burn alert to deliver, for [`deliver_fast_burn`].
#[derive(Debug, Clone, Copy)]
pub struct BurnNotice<'a> {
    /// Where it is recorded (today's partition) and which earlier alerts are owed.
    pub scope: BurnScope<'a>,
    /// The alert kind (`page_fast`, `page_slow`, `ticket`): the Slack record's sort key.
    pub kind: &'a str,
    /// The Slack message.
    pub slack: &'a SlackMessage,
    /// The SNS page (pages only).
    pub sns: Option<&'a SnsNotification>,
}

/// Records a burn alert (Slack `<kind>`, SNS `<kind>#sns` for pages) once per day and kind, then sends
/// every burn alert still pending ([`send_owed_burns`]).
///
/// # Errors
/// When the ledger cannot be read or the records cannot be written.
pub async fn deliver_fast_burn<L: LedgerStore, N: Channels>(
    ledger: &L,
    channels: &N,
    notice: BurnNotice<'_>,
) -> Result<Delivery, LedgerError> {
    let BurnNotice { scope, kind, .. } = notice;
    let (pk, now) = (scope.partitions.today.as_str(), scope.now);
    let mut delivery = Delivery {
        requested: true,
        ..Delivery::default()
    };
    let existing = ledger.claims(pk).await?;
    let exists = |sk: &str| existing.iter().any(|(s, _)| s == sk);
    let mut new: Vec<(String, String)> = Vec::new();
    if !exists(kind) {
        let record = DeliveryRecord::slack(&record_id(pk, kind), notice.slack.clone(), now);
        new.push((kind.to_owned(), record_item(ledger.table(), pk, kind, &record)?));
    }
    let sns_sk = format!("{kind}#sns");
    if let Some(sns) = notice.sns
        && !exists(&sns_sk)
    {
        let record = DeliveryRecord::sns(&record_id(pk, &sns_sk), sns.clone(), now);
        new.push((sns_sk.clone(), record_item(ledger.table(), pk, &sns_sk, &record)?));
    }
    let items: Vec<NewItem<'_>> = new
        .iter()
        .map(|(sk, detail)| NewItem {
            pk,
            sk,
            detail,
            keep: Some(state::CLAIM_KEEP),
        })
        .collect();
    if !items.is_empty() && !ledger.record_all(&items).await? {
        tracing::info!(kind, "the burn alert was recorded by a concurrent run");
    }
    if !send_owed_burns(ledger, channels, &scope, &mut delivery).await? {
        delivery.skipped = Some(format!("{kind} already sent today"));
    }
    Ok(delivery)
}

/// Sends every burn alert pending in the last [`BURN_RESEND_DAYS`] days (SNS first) and gives up, loudly,
/// those pending in the [`BURN_GIVE_UP_DAYS`] before ([`BurnPartitions`]); records nothing new. Returns
/// whether anything was pending. [`deliver_fast_burn`] ends with it; a run that decides no alert of its
/// own calls it alone, so a page an earlier run could not send is not held back until the burn returns.
///
/// # Errors
/// A ledger read or a give-up write failed.
pub async fn send_owed_burns<L: LedgerStore, N: Channels>(
    ledger: &L,
    channels: &N,
    scope: &BurnScope<'_>,
    delivery: &mut Delivery,
) -> Result<bool, LedgerError> {
    let gave_up = give_up_burns(ledger, &scope.partitions.give_up, delivery).await?;
    let resend: Vec<&str> = scope.partitions.resend.iter().map(String::as_str).collect();
    let pending = PendingScope {
        reports: None,
        alert_pks: &resend,
        slack_secret: scope.slack_secret,
        sns_topic: scope.sns_topic,
        keep: state::CLAIM_KEEP,
        retry: scope.retry,
        now: scope.now,
    };
    Ok(send_pending(ledger, channels, &pending, delivery).await? || gave_up)
}

/// Settles every record still pending under `pks` as superseded, with why, and reports each in
/// `delivery` as a failure (the run fails: its error alarm tells on-call what was never delivered).
/// A record another run is sending right now is left to it. Returns whether any was given up.
async fn give_up_burns<L: LedgerStore>(
    ledger: &L,
    pks: &[String],
    delivery: &mut Delivery,
) -> Result<bool, LedgerError> {
    let mut gave_up = false;
    for pk in pks {
        for stored in records(ledger, pk).await? {
            if !stored.record.is_pending() {
                continue;
            }
            let StoredRecord { pk, sk, record } = stored;
            let at = Utc::now();
            let holder = LeaseHolder {
                until: at + SEND_LEASE,
                taken_at: at,
            };
            match ledger.lease(&pk, &sk, holder.until, holder.taken_at).await? {
                // Being sent by a run that still looks further back: its outcome stands.
                None => continue,
                Some(current) if settled(&current) => continue,
                Some(_) => {}
            }
            let why = format!(
                "given up: a burn alert recorded {} and not delivered in {BURN_RESEND_DAYS} days of                  tries is never sent (last error: {})",
                record.recorded_at.format("%Y-%m-%d %H:%M UTC"),
                record.last_error.as_deref().unwrap_or("none noted")
            );
            let id = record.id.clone();
            let mut superseded = record.superseded();
            superseded.last_error = Some(why.clone());
            let detail = record_item(ledger.table(), &pk, &sk, &superseded)?;
            if !ledger
                .update_leased(&pk, &sk, holder, &detail, Some(state::CLAIM_KEEP))
                .await?
            {
                continue; // taken over by a run that sends it after all
            }
            tracing::error!(id = %id, "{why}");
            delivery.errors.push(format!("{id}: {why}"));
            delivery.superseded.push(id);
            gave_up = true;
        }
    }
    Ok(gave_up)
}

/// Whether a record in `detail` is one that has been delivered or never will be (not pending): plain
/// markers and items of earlier versions count as delivered.
#[must_use]
pub fn settled(detail: &str) -> bool {
    DeliveryRecord::parse(detail).is_none_or(|r| r.state != DeliveryState::Pending)
}

#[cfg(test)]
mod lease_tests {
    use super::*;
    use crate::cost_pass::fake::FakeChannels;
    use crate::ledger::{LedgerOp, MemoryLedger};

    /// A pending page, recorded by an earlier run.
    async fn pending_page(ledger: &MemoryLedger) -> StoredRecord {
        let (pk, sk) = ("collectiq-prod#fast-burn#2026-11-21", "page_fast#sns");
        let page = SnsNotification::new(
            "arn:aws:sns:us-east-1:1:critical",
            "s",
            "m",
            "CRITICAL",
            "cost_fast_burn",
        );
        let record = DeliveryRecord::sns(&record_id(pk, sk), page, Utc::now());
        let detail = record.to_detail().unwrap();
        let item = NewItem {
            pk,
            sk,
            detail: &detail,
            keep: None,
        };
        assert!(ledger.record_all(&[item]).await.unwrap());
        StoredRecord {
            pk: pk.to_owned(),
            sk: sk.to_owned(),
            record,
        }
    }

    /// The lease's `UpdateItem` took effect but its answer was lost, and the SDK sent it again: the
    /// retry meets this run's own lease. It is taken and the page goes out — not left unsent as
    /// "another run is sending it" by a run that blocked itself.
    #[tokio::test]
    async fn a_lease_whose_answer_was_lost_still_sends_the_page() {
        let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
        let stored = pending_page(&ledger).await;
        ledger.lose_answer(LedgerOp::Lease, 1);
        let mut sender = Sender::new(
            &ledger,
            &channels,
            &channels,
            "secret",
            SlackRetry::default(),
            None,
        );
        let sent = sender.send(stored.clone(), Utc::now()).await.unwrap();
        assert_eq!(sent.channel, Channel::Sns);
        assert_eq!(channels.published().len(), 1);
        let record = DeliveryRecord::parse(&ledger.detail(&stored.pk, &stored.sk).unwrap()).unwrap();
        assert_eq!(record.state, DeliveryState::Sent);
    }

    /// SNS whose first publish is slow — it waits for `release` — and then fails; every later one is
    /// accepted.
    #[derive(Default)]
    struct SlowFirstPublish {
        release: tokio::sync::Notify,
        calls: std::sync::atomic::AtomicUsize,
        published: std::sync::Mutex<Vec<SnsNotification>>,
    }

    impl SnsPublisher for SlowFirstPublish {
        async fn publish_sns(&self, message: &SnsNotification) -> Result<String, NotifyError> {
            if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                self.release.notified().await;
                return Err(crate::cost_pass::fake::sns_error(&message.topic, "InternalError"));
            }
            self.published.lock().unwrap().push(message.clone());
            Ok("msg-2".into())
        }
    }

    /// Run A's publish outlasts its send lease; run B takes the record over, publishes it and marks it
    /// sent; then A's publish fails. A's note of the failure used to overwrite B's *sent* with *pending*
    /// (a write conditioned on nothing but the item existing), and the next run paged again. The note is
    /// now the lease holder's only: the record stays sent, and A still reports its own failure.
    #[tokio::test]
    async fn a_send_that_outlasts_its_lease_cannot_undo_the_run_that_took_over() {
        let ledger = MemoryLedger::new();
        let stored = pending_page(&ledger).await;
        let sns = SlowFirstPublish::default();
        let mut a = Sender::new(&ledger, &NoSlack, &sns, "", SlackRetry::default(), None);
        let mut b = Sender::new(&ledger, &NoSlack, &sns, "", SlackRetry::default(), None);
        let run_b = async {
            while sns.calls.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                tokio::task::yield_now().await;
            }
            ledger.end_leases(); // A's lease runs out while it is still publishing
            let sent = b.send(stored.clone(), Utc::now()).await;
            sns.release.notify_one();
            sent
        };
        let (a, b) = tokio::join!(a.send(stored.clone(), Utc::now()), run_b);
        assert!(b.is_ok(), "{b:?}");
        assert!(
            matches!(a, Err(DeliveryError::Send { .. })),
            "A reports its own failure: {a:?}"
        );
        let record = DeliveryRecord::parse(&ledger.detail(&stored.pk, &stored.sk).unwrap()).unwrap();
        assert_eq!(record.state, DeliveryState::Sent, "{record:?}");
        assert_eq!(record.receipt.as_deref(), Some("msg-2"));
        assert_eq!(sns.published.lock().unwrap().len(), 1);
    }

    /// The run's own mark, sent again by the SDK after its answer was lost, finds its own record
    /// written: marked, not "taken over".
    #[tokio::test]
    async fn a_mark_whose_answer_was_lost_is_still_marked() {
        let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
        let stored = pending_page(&ledger).await;
        ledger.lose_answer(LedgerOp::Update, 1);
        let mut sender = Sender::new(
            &ledger,
            &channels,
            &channels,
            "secret",
            SlackRetry::default(),
            None,
        );
        sender.send(stored.clone(), Utc::now()).await.unwrap();
        let record = DeliveryRecord::parse(&ledger.detail(&stored.pk, &stored.sk).unwrap()).unwrap();
        assert_eq!(record.state, DeliveryState::Sent);
    }

    /// The send lease outlasts the slowest send: the webhook secret read and a Slack post through all
    /// its attempts and waits (the audit found 3 minutes against 90 s + 90 s); slower retry bounds get a
    /// longer lease.
    #[test]
    fn the_send_lease_outlasts_the_slowest_send() {
        let secret = crate::aws::default_timeouts().operation_timeout().unwrap();
        assert_eq!(secret, AWS_CALL_BOUND);
        let slowest = secret + SlackRetry::default().worst_case();
        let lease = SEND_LEASE.to_std().unwrap();
        assert!(lease >= slowest + LEASE_MARGIN, "{lease:?} against {slowest:?}");
        assert_eq!(send_lease(SlackRetry::default()), SEND_LEASE);
        let patient = SlackRetry {
            max_attempts: 5,
            max_wait: Duration::from_secs(60),
        };
        let longer = send_lease(patient).to_std().unwrap();
        assert!(
            longer >= AWS_CALL_BOUND + patient.worst_case() + LEASE_MARGIN,
            "{longer:?}"
        );
    }
}

#[cfg(test)]
mod error_text_tests {
    use super::{DeliveryError, NotifyError, SecretProblem};

    /// The error and its causes as `anyhow`'s `{:#}` prints them.
    fn chain(e: &dyn std::error::Error) -> String {
        let mut chain = e.to_string();
        let mut next = e.source();
        while let Some(cause) = next {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            next = cause.source();
        }
        chain
    }

    /// A failed page, as the handler and the CLI print it: record id, topic, the AWS error — once each.
    #[test]
    fn a_failed_page_chain_says_each_part_once() {
        let e = DeliveryError::Send {
            id: "collectiq-prod#cost-alert#2026-11/sns#150".into(),
            cause: NotifyError::Sns {
                topic: "arn:aws:sns:eu-west-1:123456789012:critical".into(),
                cause: crate::cost_pass::fake::call_error("SNS", "Publish", 400, Some("Throttling")),
            },
        };
        let text = chain(&e);
        for part in ["sns#150", "SNS publish to", "Throttling"] {
            assert_eq!(text.matches(part).count(), 1, "{part} in {text}");
        }
    }

    /// Issue 13 item 6: "an error message repeats its prefix (cannot read the Slack webhook secret …:
    /// cannot read the Slack webhook secret …)" — the whole chain, as `anyhow`'s `{:#}` prints it, says
    /// each part once.
    #[test]
    fn a_secret_error_chain_says_each_part_once() {
        let e = NotifyError::Secret {
            secret: "collectiq/prod/slack".into(),
            problem: SecretProblem::NoString,
        };
        let chain = chain(&e);
        assert_eq!(
            chain.matches("cannot read the Slack webhook secret").count(),
            1,
            "{chain}"
        );
        assert_eq!(
            chain.matches("the secret has no SecretString").count(),
            1,
            "{chain}"
        );
    }
}

#[cfg(test)]
mod webhook_secret_tests {
    use super::*;
    use crate::test_support::secret_clients as clients;

    /// Deployed, 127.0.0.1 is the function's own sandbox (Lambda's Runtime API listens on 9001): a
    /// webhook secret set to a loopback URL — the demo's sink copied into a real account, or a
    /// tampered secret — must not be posted to. Only runs against the local emulator take it.
    #[tokio::test]
    async fn a_loopback_webhook_is_taken_only_against_the_local_emulator() {
        let sandbox = "http://127.0.0.1:9001/2018-06-01/runtime/init/error";
        let deployed = clients(None, sandbox);
        assert!(!deployed.local_endpoint);
        let e = SdkChannels::new(&deployed)
            .slack("collectiq/slack", SlackRetry::default())
            .await
            .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("collectiq/slack") && text.contains("loopback"),
            "{text}"
        );
        assert!(!text.contains("9001"), "the URL is never echoed: {text}");
        // A real Slack URL is fine in a real account.
        let slack = clients(None, "https://hooks.slack.com/services/T/B/x");
        assert!(
            SdkChannels::new(&slack)
                .slack("collectiq/slack", SlackRetry::default())
                .await
                .is_ok()
        );
        // Against the emulator the demo's sink is the destination.
        for endpoint in [
            "http://127.0.0.1:4566",
            "http://localhost:5000",
            "http://[::1]:4566",
        ] {
            let local = clients(Some(endpoint), sandbox);
            assert!(local.local_endpoint, "{endpoint}");
            assert!(
                SdkChannels::new(&local)
                    .slack("collectiq/slack", SlackRetry::default())
                    .await
                    .is_ok()
            );
        }
        // An endpoint override that is not loopback (a VPC endpoint) is no emulator.
        let vpce = clients(
            Some("https://vpce-0abc.secretsmanager.us-east-1.vpce.amazonaws.com"),
            sandbox,
        );
        assert!(!vpce.local_endpoint);
        assert!(
            SdkChannels::new(&vpce)
                .slack("collectiq/slack", SlackRetry::default())
                .await
                .is_err()
        );
    }
}
