//! One ledger for the whole organisation, with every key under the member account's id.
//!
//! The organisation pass keeps one DynamoDB ledger in the management account. Each item's passes write
//! through [`AccountLedger`], which puts `<account id>#` in front of every partition key: the cost pass of
//! `collectiq-prod` in account 123456789012 writes `123456789012#collectiq-prod#ce-daily`, and a
//! `collectiq-prod` in another account can never read or claim it.
//!
//! The one key it does not prefix is the Cost Explorer request counter: in an organisation run the
//! platform passes make no Cost Explorer request of their own (their pages come from the management
//! account's one query), so their `<prefix>#ce-requests` reads the organisation's counter and counting a
//! unit there is a no-op that answers the organisation's figure — each platform report then shows the
//! Cost Explorer requests the organisation really made today.

use std::time::Duration;

use crate::ledger::{Counted, LedgerError, LedgerStore, NewItem};

/// The suffix of the cost pass's Cost Explorer counter key (`cost_pass::state::Keys::ce_requests`).
const CE_COUNTER_SUFFIX: &str = "#ce-requests";

/// The organisation's Cost Explorer counter: `org#<name>#ce-requests`, one item per UTC day.
#[must_use]
pub fn org_ce_counter(org_name: &str) -> String {
    format!("org#{org_name}{CE_COUNTER_SUFFIX}")
}

/// A [`LedgerStore`] that scopes every key to one account (see the module docs).
#[derive(Debug)]
pub struct AccountLedger<'a, L> {
    inner: &'a L,
    account: String,
    org_ce_counter: String,
}

impl<'a, L: LedgerStore> AccountLedger<'a, L> {
    /// Keys of `account` in `inner`; the Cost Explorer counter is `org_ce_counter` ([`org_ce_counter`]).
    #[must_use]
    pub fn new(inner: &'a L, account: &str, org_ce_counter: String) -> Self {
        Self {
            inner,
            account: account.to_owned(),
            org_ce_counter,
        }
    }

    /// The key `pk` is stored under.
    #[must_use]
    pub fn scoped(&self, pk: &str) -> String {
        format!("{}#{pk}", self.account)
    }
}

impl<L: LedgerStore> LedgerStore for AccountLedger<'_, L> {
    fn table(&self) -> &str {
        self.inner.table()
    }

    async fn claim(&self, pk: &str, sk: &str, detail: &str, keep: Duration) -> Result<bool, LedgerError> {
        self.inner.claim(&self.scoped(pk), sk, detail, keep).await
    }

    async fn record_all(&self, items: &[NewItem<'_>]) -> Result<bool, LedgerError> {
        let keys: Vec<String> = items.iter().map(|i| self.scoped(i.pk)).collect();
        let scoped: Vec<NewItem<'_>> = items
            .iter()
            .zip(&keys)
            .map(|(i, pk)| NewItem {
                pk: pk.as_str(),
                sk: i.sk,
                detail: i.detail,
                keep: i.keep,
            })
            .collect();
        self.inner.record_all(&scoped).await
    }

    async fn update_record(
        &self,
        pk: &str,
        sk: &str,
        detail: &str,
        keep: Option<Duration>,
    ) -> Result<(), LedgerError> {
        self.inner.update_record(&self.scoped(pk), sk, detail, keep).await
    }

    async fn update_leased(
        &self,
        pk: &str,
        sk: &str,
        holder: crate::ledger::LeaseHolder,
        detail: &str,
        keep: Option<Duration>,
    ) -> Result<bool, LedgerError> {
        self.inner
            .update_leased(&self.scoped(pk), sk, holder, detail, keep)
            .await
    }

    async fn lease(
        &self,
        pk: &str,
        sk: &str,
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, LedgerError> {
        self.inner.lease(&self.scoped(pk), sk, until, now).await
    }

    async fn claims(&self, pk: &str) -> Result<Vec<(String, String)>, LedgerError> {
        self.inner.claims(&self.scoped(pk)).await
    }

    async fn put_snapshot_body(
        &self,
        pk: &str,
        sk: &str,
        body: String,
        keep: Duration,
    ) -> Result<(), LedgerError> {
        self.inner
            .put_snapshot_body(&self.scoped(pk), sk, body, keep)
            .await
    }

    async fn snapshot_bodies(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>, LedgerError> {
        self.inner.snapshot_bodies(&self.scoped(pk), from, to).await
    }

    async fn increment(
        &self,
        pk: &str,
        sk: &str,
        by: u64,
        cap: Option<u64>,
        keep: Duration,
    ) -> Result<Counted, LedgerError> {
        if pk.ends_with(CE_COUNTER_SUFFIX) {
            // No request of this platform's reaches Cost Explorer: answer the organisation's count.
            return Ok(Counted::Ok(self.inner.counter(&self.org_ce_counter, sk).await?));
        }
        self.inner.increment(&self.scoped(pk), sk, by, cap, keep).await
    }

    async fn counter(&self, pk: &str, sk: &str) -> Result<u64, LedgerError> {
        if pk.ends_with(CE_COUNTER_SUFFIX) {
            return self.inner.counter(&self.org_ce_counter, sk).await;
        }
        self.inner.counter(&self.scoped(pk), sk).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{LeaseHolder, MemoryLedger};

    const KEEP: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn two_accounts_with_the_same_platform_never_share_a_key() {
        let table = MemoryLedger::default();
        let a = AccountLedger::new(&table, "111111111111", org_ce_counter("acme"));
        let b = AccountLedger::new(&table, "222222222222", org_ce_counter("acme"));
        assert!(
            a.claim("collectiq-prod#cost-report", "2026-12-01", "posted", KEEP)
                .await
                .unwrap()
        );
        // The same platform in another account claims its own report.
        assert!(
            b.claim("collectiq-prod#cost-report", "2026-12-01", "posted", KEEP)
                .await
                .unwrap()
        );
        assert!(
            !a.claim("collectiq-prod#cost-report", "2026-12-01", "again", KEEP)
                .await
                .unwrap()
        );
        a.put_snapshot_body("collectiq-prod#ce-daily", "2026-12-01", "{\"a\":1}".into(), KEEP)
            .await
            .unwrap();
        assert!(
            b.snapshot_bodies("collectiq-prod#ce-daily", "2026-12-01", "2026-12-01")
                .await
                .unwrap()
                .is_empty()
        );
        let stored = table
            .snapshot_bodies("111111111111#collectiq-prod#ce-daily", "2026-12-01", "2026-12-01")
            .await
            .unwrap();
        assert_eq!(stored.len(), 1, "stored under the account's key");
        assert_eq!(
            table
                .claims("222222222222#collectiq-prod#cost-report")
                .await
                .unwrap()
                .len(),
            1
        );
    }

    /// A send's outcome through the organisation's ledger is written only while the run still holds the
    /// lease, as through the platform's own: a sender whose lease another run took cannot undo that
    /// run's outcome.
    #[tokio::test]
    async fn writes_after_a_send_keep_the_lease_condition_under_the_account_key() {
        use chrono::TimeZone;
        let table = MemoryLedger::default();
        let a = AccountLedger::new(&table, "111111111111", org_ce_counter("acme"));
        let (pk, sk) = ("collectiq-prod#cost-alert#2026-12", "tier#120");
        assert!(a.claim(pk, sk, "pending", KEEP).await.unwrap());
        let t0 = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 7, 0, 0).unwrap();
        let first = LeaseHolder {
            until: t0 + chrono::Duration::seconds(190),
            taken_at: t0,
        };
        assert!(
            a.lease(pk, sk, first.until, first.taken_at)
                .await
                .unwrap()
                .is_some()
        );
        // The first run's lease ran out; a second run took it and wrote its outcome.
        let t1 = t0 + chrono::Duration::seconds(200);
        let second = LeaseHolder {
            until: t1 + chrono::Duration::seconds(190),
            taken_at: t1,
        };
        assert!(
            a.lease(pk, sk, second.until, second.taken_at)
                .await
                .unwrap()
                .is_some()
        );
        assert!(a.update_leased(pk, sk, second, "sent", Some(KEEP)).await.unwrap());
        // The first run's late failure is refused.
        assert!(
            !a.update_leased(pk, sk, first, "pending (failed)", Some(KEEP))
                .await
                .unwrap()
        );
        let stored = table
            .claims("111111111111#collectiq-prod#cost-alert#2026-12")
            .await
            .unwrap();
        assert_eq!(stored, [(sk.to_owned(), "sent".to_owned())]);
    }

    #[tokio::test]
    async fn the_platform_ce_counter_reads_the_organisations_and_never_counts() {
        let table = MemoryLedger::default();
        let counter = org_ce_counter("acme");
        table
            .increment(&counter, "2026-12-01", 1, Some(3), KEEP)
            .await
            .unwrap();
        let a = AccountLedger::new(&table, "111111111111", counter.clone());
        let got = a
            .increment("collectiq-prod#ce-requests", "2026-12-01", 1, Some(5), KEEP)
            .await
            .unwrap();
        assert_eq!(got, Counted::Ok(1));
        assert_eq!(
            a.counter("collectiq-prod#ce-requests", "2026-12-01")
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            table.counter(&counter, "2026-12-01").await.unwrap(),
            1,
            "not incremented"
        );
        // Other counters are the account's own.
        a.increment("collectiq-prod#other", "d", 2, None, KEEP)
            .await
            .unwrap();
        assert_eq!(
            table
                .counter("111111111111#collectiq-prod#other", "d")
                .await
                .unwrap(),
            2
        );
    }
}
