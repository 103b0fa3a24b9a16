//! Delivery records: how governance delivers every notification at least once and recognisably once.
//!
//! A notification is written to the ledger as a [`DeliveryRecord`] in state [`DeliveryState::Pending`],
//! holding the whole rendered payload, *before* it is sent; it is marked [`DeliveryState::Sent`] (with
//! the receipt) after the channel accepted it. A run finds the records still pending — a send that failed,
//! or a process that died after recording — and sends their stored payload again. One record per message
//! and channel, so a Slack failure never holds back an SNS page or the reverse.
//!
//! Every record has a stable id (`{pk}/{sk}` of its ledger item). It travels with the message: Slack
//! messages carry it in a last context element (`delivery ref …`, [`with_slack_marker`]), SNS messages as
//! the `idempotency_key` message attribute (and as `MessageDeduplicationId` on a FIFO topic). A message
//! sent twice — the channel accepted it but its answer was lost, so the record stayed pending — carries
//! the same id both times: people and subscribers can tell it is the same notification.
//!
//! The record is the item's `detail` attribute, as JSON. Items written by earlier versions (a plain
//! headline as `detail`) do not parse as a record and count as delivered.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cost::slack::{Block, SlackMessage, TextObject, limits};
use serde::{Deserialize, Serialize};

/// The record format (the `delivery` field): marks a `detail` as a record.
pub const FORMAT: u32 = 1;

/// Prefix of the Slack marker element (`delivery ref collectiq-prod#cost-report/2026-11-21`).
pub const SLACK_MARKER_PREFIX: &str = "delivery ref ";

/// The SNS message attribute holding the record id.
pub const SNS_IDEMPOTENCY_ATTRIBUTE: &str = "idempotency_key";

/// Where a record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The Slack incoming webhook.
    Slack,
    /// An SNS topic.
    Sns,
}

impl Channel {
    /// `slack` / `sns`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Sns => "sns",
        }
    }
}

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Recorded, not (known to be) accepted by the channel yet: the next run sends it.
    Pending,
    /// The channel accepted it.
    Sent,
    /// Never sent, replaced by a newer message of the same kind (a daily report of an earlier day).
    Superseded,
    /// Never sent and never to be: the payload breaks Slack's limits, so sending it again cannot succeed
    /// and would hold back every later message. Kept, with the error, for inspection until the record
    /// expires.
    Refused,
}

/// An SNS message as published: topic, subject, body and message attributes (string values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnsNotification {
    /// Topic ARN.
    pub topic: String,
    /// `Subject` (ASCII, ≤ 99 characters).
    pub subject: String,
    /// `Message`.
    pub message: String,
    /// Message attributes (`severity`, `kind`, `idempotency_key`).
    pub attributes: BTreeMap<String, String>,
}

impl SnsNotification {
    /// A message to `topic` with `severity` and `kind` attributes for subscription filters.
    #[must_use]
    pub fn new(topic: &str, subject: &str, message: &str, severity: &str, kind: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            subject: subject.to_owned(),
            message: message.to_owned(),
            attributes: [
                ("severity".to_owned(), severity.to_owned()),
                ("kind".to_owned(), kind.to_owned()),
            ]
            .into(),
        }
    }

    /// The record id this message carries (`idempotency_key`).
    #[must_use]
    pub fn idempotency_key(&self) -> Option<&str> {
        self.attributes.get(SNS_IDEMPOTENCY_ATTRIBUTE).map(String::as_str)
    }

    /// Whether the topic is a FIFO topic (its name ends in `.fifo`): SNS then deduplicates on
    /// `MessageDeduplicationId` itself, for five minutes.
    #[must_use]
    pub fn is_fifo(&self) -> bool {
        self.topic.ends_with(".fifo")
    }
}

/// What a record delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", content = "payload", rename_all = "snake_case")]
pub enum Payload {
    /// An incoming-webhook payload.
    Slack(SlackMessage),
    /// An SNS publish.
    Sns(SnsNotification),
}

/// One notification in the ledger (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// [`FORMAT`].
    pub delivery: u32,
    /// The stable id the message carries (`{pk}/{sk}`).
    pub id: String,
    /// Pending, sent or superseded.
    pub state: DeliveryState,
    /// The rendered message, exactly as it is (re)sent.
    #[serde(flatten)]
    pub payload: Payload,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Sends tried so far (across runs).
    #[serde(default)]
    pub attempts: u32,
    /// Why the last send failed.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When it was last tried.
    #[serde(default)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the channel accepted it.
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    /// What the channel answered (SNS message id, Slack attempts).
    #[serde(default)]
    pub receipt: Option<String>,
    /// What the pass remembers once the message is sent (the alarm-state report's announced state).
    #[serde(default)]
    pub then: Option<serde_json::Value>,
}

impl DeliveryRecord {
    /// A pending Slack record: `message` with the marker of `id` added.
    #[must_use]
    pub fn slack(id: &str, message: SlackMessage, now: DateTime<Utc>) -> Self {
        Self::pending(id, Payload::Slack(with_slack_marker(message, id)), now)
    }

    /// A pending SNS record: `message` with its `idempotency_key` attribute set to `id`.
    #[must_use]
    pub fn sns(id: &str, mut message: SnsNotification, now: DateTime<Utc>) -> Self {
        message
            .attributes
            .insert(SNS_IDEMPOTENCY_ATTRIBUTE.to_owned(), id.to_owned());
        Self::pending(id, Payload::Sns(message), now)
    }

    fn pending(id: &str, payload: Payload, now: DateTime<Utc>) -> Self {
        Self {
            delivery: FORMAT,
            id: id.to_owned(),
            state: DeliveryState::Pending,
            payload,
            recorded_at: now,
            attempts: 0,
            last_error: None,
            last_attempt_at: None,
            sent_at: None,
            receipt: None,
            then: None,
        }
    }

    /// With what the pass stores once it is sent.
    #[must_use]
    pub fn with_then(mut self, then: serde_json::Value) -> Self {
        self.then = Some(then);
        self
    }

    /// The record stored in an item's `detail`; `None` for anything else (a plain marker or an item an
    /// earlier version wrote).
    #[must_use]
    pub fn parse(detail: &str) -> Option<Self> {
        if !detail.starts_with('{') {
            return None;
        }
        serde_json::from_str::<Self>(detail)
            .ok()
            .filter(|r| r.delivery == FORMAT)
    }

    /// The JSON stored as the item's `detail`.
    ///
    /// # Errors
    /// When the payload cannot be serialized (it always can: strings and maps only).
    pub fn to_detail(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// The channel.
    #[must_use]
    pub const fn channel(&self) -> Channel {
        match self.payload {
            Payload::Slack(_) => Channel::Slack,
            Payload::Sns(_) => Channel::Sns,
        }
    }

    /// Whether it still has to be sent.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        self.state == DeliveryState::Pending
    }

    /// Marked sent at `at` with the channel's receipt.
    #[must_use]
    pub fn sent(mut self, receipt: String, at: DateTime<Utc>) -> Self {
        self.state = DeliveryState::Sent;
        self.attempts += 1;
        self.last_attempt_at = Some(at);
        self.sent_at = Some(at);
        self.receipt = Some(receipt);
        self.last_error = None;
        self
    }

    /// Still pending after a failed send at `at`.
    #[must_use]
    pub fn failed(mut self, why: String, at: DateTime<Utc>) -> Self {
        self.attempts += 1;
        self.last_attempt_at = Some(at);
        self.last_error = Some(why);
        self
    }

    /// Never to be sent: the channel refused the payload itself at `at` ([`DeliveryState::Refused`]).
    #[must_use]
    pub fn refused(self, why: String, at: DateTime<Utc>) -> Self {
        Self {
            state: DeliveryState::Refused,
            ..self.failed(why, at)
        }
    }

    /// Never to be sent: replaced by a newer message.
    #[must_use]
    pub fn superseded(mut self) -> Self {
        self.state = DeliveryState::Superseded;
        self
    }
}

/// `message` with a context element `delivery ref {id}` at its end: in the last context block when that
/// is the last block and has room, otherwise in a block of its own (when Slack's limits allow another).
///
/// ```
/// use cost::slack::SlackMessage;
/// use governance::ledger::delivery::{slack_marker, with_slack_marker};
/// let m = with_slack_marker(SlackMessage { text: "hi".into(), blocks: vec![] }, "p/sk");
/// assert_eq!(slack_marker(&m), Some("p/sk"));
/// assert!(cost::slack::validate(&m).is_empty());
/// ```
#[must_use]
pub fn with_slack_marker(mut message: SlackMessage, id: &str) -> SlackMessage {
    if slack_marker(&message) == Some(id) {
        return message;
    }
    let element = TextObject::mrkdwn(format!("{SLACK_MARKER_PREFIX}{id}"));
    let room_in_last = matches!(
        message.blocks.last(),
        Some(Block::Context { elements }) if elements.len() < limits::CONTEXT_ELEMENTS
    );
    if room_in_last {
        if let Some(Block::Context { elements }) = message.blocks.last_mut() {
            elements.push(element);
        }
    } else if message.blocks.len() < limits::MAX_BLOCKS {
        message.blocks.push(Block::Context {
            elements: vec![element],
        });
    } else {
        // No room for a block: the fallback text carries it.
        message.text.push_str(&format!(" ({SLACK_MARKER_PREFIX}{id})"));
    }
    message
}

/// The record id a Slack message carries (see [`with_slack_marker`]).
#[must_use]
pub fn slack_marker(message: &SlackMessage) -> Option<&str> {
    let in_blocks = message.blocks.iter().rev().find_map(|b| match b {
        Block::Context { elements } => elements
            .iter()
            .rev()
            .find_map(|e| e.text().strip_prefix(SLACK_MARKER_PREFIX)),
        _ => None,
    });
    in_blocks.or_else(|| {
        let (_, rest) = message.text.rsplit_once(&format!("({SLACK_MARKER_PREFIX}"))?;
        rest.strip_suffix(')')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 7, 0, 0).unwrap()
    }

    #[test]
    fn a_record_round_trips_and_plain_markers_are_not_records() {
        let sns = SnsNotification::new("arn:aws:sns:us-east-1:1:t", "s", "m", "CRITICAL", "cost_budget");
        let r = DeliveryRecord::sns("p/sns#150", sns, now());
        assert_eq!(r.channel(), Channel::Sns);
        let Payload::Sns(n) = &r.payload else { panic!() };
        assert_eq!(n.idempotency_key(), Some("p/sns#150"));
        assert_eq!(n.attributes["severity"], "CRITICAL");
        let json: serde_json::Value = serde_json::from_str(&r.to_detail().unwrap()).unwrap();
        assert_eq!(json["state"], "pending");
        assert_eq!(json["channel"], "sns");
        assert_eq!(json["payload"]["topic"], "arn:aws:sns:us-east-1:1:t");
        assert_eq!(DeliveryRecord::parse(&r.to_detail().unwrap()), Some(r.clone()));
        assert_eq!(DeliveryRecord::parse("CollectIQ prod: $800 of $500"), None);
        assert_eq!(DeliveryRecord::parse("{\"total\": 1}"), None);
        let sent = r.sent("msg-1".into(), now());
        assert_eq!((sent.state, sent.attempts), (DeliveryState::Sent, 1));
    }

    #[test]
    fn the_slack_marker_goes_where_slack_allows() {
        let ctx = |n: usize| Block::Context {
            elements: (0..n).map(|i| TextObject::mrkdwn(format!("e{i}"))).collect(),
        };
        let m = with_slack_marker(
            SlackMessage {
                text: "t".into(),
                blocks: vec![ctx(2)],
            },
            "a/b",
        );
        assert_eq!(m.blocks.len(), 1, "joins the last context block");
        assert_eq!(slack_marker(&m), Some("a/b"));
        let m = with_slack_marker(
            SlackMessage {
                text: "t".into(),
                blocks: vec![ctx(limits::CONTEXT_ELEMENTS)],
            },
            "a/b",
        );
        assert_eq!(m.blocks.len(), 2, "a full context block gets a new one after it");
        let full = SlackMessage {
            text: "t".into(),
            blocks: (0..limits::MAX_BLOCKS).map(|_| Block::Divider {}).collect(),
        };
        let m = with_slack_marker(full, "a/b");
        assert_eq!(m.blocks.len(), limits::MAX_BLOCKS);
        assert_eq!(m.text, "t (delivery ref a/b)");
        assert_eq!(slack_marker(&m), Some("a/b"));
        // Adding the same marker twice changes nothing.
        assert_eq!(with_slack_marker(m.clone(), "a/b"), m);
    }
}
