//! The governance ledger: one table (PK `pk`, SK `sk`, TTL attribute `expires_at`) that remembers what
//! governance did, so a re-run does nothing twice. [`LedgerStore`] is the seam the passes write through;
//! [`Ledger`] is its DynamoDB implementation, `MemoryLedger` (feature `testing`) an in-memory one with the
//! same conditional semantics (and DynamoDB's TTL) for unit tests.
//!
//! - **delivery records** ([`delivery`], [`LedgerStore::record_all`], [`LedgerStore::update_record`]):
//!   every notification is written as a *pending* record holding its whole rendered payload, in the same
//!   conditional transaction as the decision it announces, *before* it is sent, and marked *sent* after.
//!   The next run sends whatever is still pending — also when the process died in between. One record
//!   per message and channel. Nothing is ever released: a failed send leaves its record pending.
//! - **claims** ([`LedgerStore::claim`]): a conditional put (`attribute_not_exists(pk)`) that succeeds for
//!   exactly one caller.
//! - **snapshots** ([`put_snapshot`], [`snapshots`]): JSON documents per day, e.g. cost per service, so
//!   past days are never re-queried from Cost Explorer.
//! - **counters** ([`LedgerStore::increment`]): atomic `ADD`, with an optional cap enforced in the same
//!   conditional update (the Cost Explorer daily request cap).
//!
//! Every failure is a [`LedgerError`]: the table, what was attempted, and the cause — the classified AWS
//! call error ([`aws_error::AwsCallError`], kept as the source) or a stored item that does not parse.

pub mod delivery;
mod dynamodb;
#[cfg(any(test, feature = "testing"))]
pub mod memory;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use aws_error::{AwsCallError, ErrorClass};

pub use dynamodb::Ledger;
#[cfg(any(test, feature = "testing"))]
pub use memory::{LedgerOp, MemoryLedger};

/// A ledger failure: which table, what was attempted, and why.
#[derive(Debug, thiserror::Error)]
#[error("ledger {table}: {action}: {cause}")]
pub struct LedgerError {
    /// Table name.
    pub table: String,
    /// What was attempted (`record collectiq-prod#cost-alert#2026-11/tier#100`).
    pub action: String,
    /// Why it failed.
    #[source]
    pub cause: LedgerCause,
}

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerCause {
    /// The DynamoDB call failed (classified; the SDK error is its source). Boxed: the call error is large
    /// and every ledger `Result` carries this type.
    #[error("{}", .0.summary())]
    Aws(Box<AwsCallError>),
    /// A document could not be written or a stored one read back (`serde_json`'s message).
    #[error("{0}")]
    Document(String),
    /// A `Query` handed back a `LastEvaluatedKey` already followed, or more pages than the cap: stopped
    /// instead of looping or reading without end.
    #[error("{0}")]
    Paging(#[from] crate::publish::cloudwatch::PagingError),
}

impl From<AwsCallError> for LedgerCause {
    fn from(e: AwsCallError) -> Self {
        Self::Aws(Box::new(e))
    }
}

impl LedgerError {
    /// A failure of `action` on `table`.
    #[must_use]
    pub fn new(table: &str, action: impl Into<String>, cause: impl Into<LedgerCause>) -> Self {
        Self {
            table: table.to_owned(),
            action: action.into(),
            cause: cause.into(),
        }
    }

    /// A document that could not be written or read back.
    #[must_use]
    pub fn document(table: &str, action: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::new(table, action, LedgerCause::Document(detail.to_string()))
    }

    /// The class of the AWS failure (`None` for a document that does not parse).
    #[must_use]
    pub fn class(&self) -> Option<ErrorClass> {
        match &self.cause {
            LedgerCause::Aws(e) => Some(e.class()),
            LedgerCause::Document(_) | LedgerCause::Paging(_) => None,
        }
    }

    /// Whether the same operation may succeed later (throttled, server fault, timeout, transport).
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match &self.cause {
            LedgerCause::Aws(e) => e.is_retryable(),
            LedgerCause::Document(_) | LedgerCause::Paging(_) => false,
        }
    }
}

/// One item of [`LedgerStore::record_all`]: written only if no item has its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewItem<'a> {
    /// Partition key.
    pub pk: &'a str,
    /// Sort key.
    pub sk: &'a str,
    /// What is stored (a [`delivery::DeliveryRecord`] as JSON, or a plain marker).
    pub detail: &'a str,
    /// How long the item is kept; `None`: no TTL (kept until a later update sets one).
    pub keep: Option<Duration>,
}

/// A lease as its holder took it ([`LedgerStore::lease`]): when it ends and the `now` it was taken at.
/// Together they name the holder, in the ledger as in [`LedgerStore::update_leased`]'s condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseHolder {
    /// `until` as passed to [`LedgerStore::lease`].
    pub until: DateTime<Utc>,
    /// `now` as passed to [`LedgerStore::lease`].
    pub taken_at: DateTime<Utc>,
}

/// Outcome of [`LedgerStore::increment`] with a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Counted; the new value.
    Ok(u64),
    /// The cap was reached; nothing was counted.
    CapReached(u64),
}

/// What the passes write through: claims, snapshots and capped counters on one `(pk, sk)` table.
pub trait LedgerStore: Send + Sync {
    /// The table name (for error messages).
    fn table(&self) -> &str;

    /// Claims `(pk, sk)` once: `Ok(true)` for the one caller that wrote it, `Ok(false)` if an item is
    /// already there. `detail` is stored with the claim (what was sent); the item expires after `keep`.
    fn claim(
        &self,
        pk: &str,
        sk: &str,
        detail: &str,
        keep: Duration,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send;

    /// Writes every item of `items` — or none: one conditional transaction in which each item needs its
    /// key to be free. `Ok(true)` when all were written, `Ok(false)` (nothing written) when any key was
    /// already taken.
    fn record_all(&self, items: &[NewItem<'_>]) -> impl Future<Output = Result<bool, LedgerError>> + Send;

    /// Replaces the `detail` of the existing item `(pk, sk)` and its expiry (`keep` from now; `None`
    /// removes the TTL), and ends any [`Self::lease`] on it. Fails when the item does not exist.
    fn update_record(
        &self,
        pk: &str,
        sk: &str,
        detail: &str,
        keep: Option<Duration>,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Leases the existing item `(pk, sk)` until `until` for the one caller about to send it: `Some`
    /// with its current `detail` when this caller holds the lease (no lease, or one that ended before
    /// `now`), `None` when another caller's lease is still running. [`Self::update_record`] ends the
    /// lease (the holder wrote what came of the send). Two runs that both read a record as pending
    /// then send it once: the one that does not get the lease leaves it to the other, and the one that
    /// gets it after the other marked it sent reads that in the returned `detail`.
    ///
    /// `(until, now)` name the holder: a caller passes the wall clock's `now` (to the nanosecond, which
    /// no other caller shares), so the SDK's retry of its own request — sent again because the first
    /// answer was lost — meets its own lease and gets `Some`, not `None` as if another run held it.
    fn lease(
        &self,
        pk: &str,
        sk: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<String>, LedgerError>> + Send;

    /// [`Self::update_record`] by the holder of a lease, only while the lease is still its own: `holder`
    /// still names the item's lease, running or run out — no other caller took it since, and none
    /// ended it by writing what came of its own send. `Ok(true)` when written (the lease ends),
    /// `Ok(false)` when not (nothing changed: the record is another caller's to write now). A sender
    /// whose send outlasted its lease then cannot overwrite the outcome of the run that took over —
    /// a late failure turning that run's *sent* back into *pending*, and the next run sending it again.
    /// The SDK's retry of this write after a lost answer finds its own `detail` written: `Ok(true)`.
    ///
    /// No default: a store that wraps another (the organisation's [`crate::org::ledger::AccountLedger`])
    /// must forward it, or its holders would lose the condition unseen.
    ///
    /// # Errors
    /// When the item does not exist or the write fails.
    fn update_leased(
        &self,
        pk: &str,
        sk: &str,
        holder: LeaseHolder,
        detail: &str,
        keep: Option<Duration>,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send;

    /// Every item under `pk`, as `(sk, detail)`, in sort-key order.
    fn claims(&self, pk: &str) -> impl Future<Output = Result<Vec<(String, String)>, LedgerError>> + Send;

    /// Stores a JSON body under `(pk, sk)`, replacing any previous one.
    fn put_snapshot_body(
        &self,
        pk: &str,
        sk: &str,
        body: String,
        keep: Duration,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Every snapshot body under `pk` with a sort key in `from..=to` (string order), as `(sk, body)`.
    fn snapshot_bodies(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>, LedgerError>> + Send;

    /// Adds `by` to the counter at `(pk, sk)`. With `cap`, the add only happens while the counter stays
    /// `<= cap`; otherwise nothing changes and [`Counted::CapReached`] is returned.
    fn increment(
        &self,
        pk: &str,
        sk: &str,
        by: u64,
        cap: Option<u64>,
        keep: Duration,
    ) -> impl Future<Output = Result<Counted, LedgerError>> + Send;

    /// The counter's current value (0 when absent).
    fn counter(&self, pk: &str, sk: &str) -> impl Future<Output = Result<u64, LedgerError>> + Send;
}

/// Stores `value` as a JSON snapshot under `(pk, sk)`, replacing any previous one.
///
/// # Errors
/// When the document cannot be serialized or the write fails.
pub async fn put_snapshot<L: LedgerStore + ?Sized, T: serde::Serialize + Sync>(
    ledger: &L,
    pk: &str,
    sk: &str,
    value: &T,
    keep: Duration,
) -> Result<(), LedgerError> {
    let body = serde_json::to_string(value)
        .map_err(|e| LedgerError::document(ledger.table(), format!("snapshot {pk}/{sk}"), e))?;
    ledger.put_snapshot_body(pk, sk, body, keep).await
}

/// Every snapshot under `pk` with a sort key in `from..=to` (sort keys compare as strings, so use ISO
/// dates), parsed as `T`, as `(sk, value)`.
///
/// # Errors
/// When the read fails or a stored body does not parse as `T`.
pub async fn snapshots<L: LedgerStore + ?Sized, T: serde::de::DeserializeOwned>(
    ledger: &L,
    pk: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, T)>, LedgerError> {
    let bodies = ledger.snapshot_bodies(pk, from, to).await?;
    bodies
        .into_iter()
        .map(|(sk, body)| match serde_json::from_str(&body) {
            Ok(value) => Ok((sk, value)),
            Err(e) => Err(LedgerError::document(
                ledger.table(),
                format!("read snapshots {pk}/{from}..={to}"),
                format!("{sk}: {e}"),
            )),
        })
        .collect()
}
