//! The governance ledger: one table (PK `pk`, SK `sk`, TTL attribute `expires_at`) that remembers what
//! governance did, so a re-run does nothing twice. [`LedgerStore`] is the seam the passes write through;
//! [`Ledger`] is its DynamoDB implementation, `MemoryLedger` (feature `testing`) an in-memory one with the
//! same conditional semantics for unit tests.
//!
//! - **fire-once claims** ([`LedgerStore::claim`]): a conditional put (`attribute_not_exists(pk)`) that
//!   succeeds for exactly one caller. Claim *before* notifying, one claim per channel: if that channel's
//!   send then fails, its claim is released ([`LedgerStore::release`]) so the next run retries it; if the
//!   process dies between claim and post, the notification is lost rather than duplicated (finance reads
//!   the report; a duplicate is worse than a late one, and the next tier or the next period notifies
//!   again).
//! - **snapshots** ([`put_snapshot`], [`snapshots`]): JSON documents per day, e.g. cost per service, so
//!   past days are never re-queried from Cost Explorer.
//! - **counters** ([`LedgerStore::increment`]): atomic `ADD`, with an optional cap enforced in the same
//!   conditional update (the Cost Explorer daily request cap).

mod dynamodb;
#[cfg(any(test, feature = "testing"))]
pub mod memory;

use std::future::Future;
use std::time::Duration;

pub use dynamodb::Ledger;
#[cfg(any(test, feature = "testing"))]
pub use memory::MemoryLedger;

/// A ledger failure (the table is missing, access denied, a stored item is not what we wrote).
#[derive(Debug, thiserror::Error)]
#[error("ledger {table}: {action}: {detail}")]
pub struct LedgerError {
    /// Table name.
    pub table: String,
    /// What was attempted (`claim collectiq#prod#2026-11/tier#100`).
    pub action: String,
    /// Why it failed.
    pub detail: String,
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

    /// Releases a claim (after the notification it guarded failed), so the next run retries.
    fn release(&self, pk: &str, sk: &str) -> impl Future<Output = Result<(), LedgerError>> + Send;

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
    let body = serde_json::to_string(value).map_err(|e| LedgerError {
        table: ledger.table().to_owned(),
        action: format!("snapshot {pk}/{sk}"),
        detail: e.to_string(),
    })?;
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
            Err(e) => Err(LedgerError {
                table: ledger.table().to_owned(),
                action: format!("read snapshots {pk}/{from}..={to}"),
                detail: format!("{sk}: {e}"),
            }),
        })
        .collect()
}
