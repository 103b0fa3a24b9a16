//! An in-memory [`LedgerStore`] with DynamoDB's conditional semantics (a claim fails on any existing
//! item, a capped increment leaves the counter unchanged when it would pass the cap), for unit tests of
//! the passes on fakes. Clones share state. It can fail chosen operations to test what a pass does when
//! the ledger does. Behind the `testing` feature: no production build compiles it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{Counted, LedgerError, LedgerStore};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Claim(String),
    Snapshot(String),
    Counter(u64),
}

#[derive(Debug, Default)]
struct State {
    items: BTreeMap<(String, String), Item>,
    fail_releases: bool,
    releases: Vec<(String, String)>,
}

/// The in-memory ledger.
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    state: Arc<Mutex<State>>,
}

impl MemoryLedger {
    /// An empty ledger.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread poisons the lock; the state is still what it wrote.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes every later [`LedgerStore::release`] fail (a throttled or denied `DeleteItem`).
    pub fn fail_releases(&self) {
        self.state().fail_releases = true;
    }

    /// The sort keys of the claims under `pk`, in order.
    #[must_use]
    pub fn claimed(&self, pk: &str) -> Vec<String> {
        self.state()
            .items
            .iter()
            .filter(|((p, _), item)| p == pk && matches!(item, Item::Claim(_)))
            .map(|((_, sk), _)| sk.clone())
            .collect()
    }

    /// Every `(pk, sk)` released so far, in order.
    #[must_use]
    pub fn releases(&self) -> Vec<(String, String)> {
        self.state().releases.clone()
    }

    /// The number of items stored (claims, snapshots, counters).
    #[must_use]
    pub fn len(&self) -> usize {
        self.state().items.len()
    }

    /// Whether nothing is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn key(pk: &str, sk: &str) -> (String, String) {
        (pk.to_owned(), sk.to_owned())
    }
}

impl LedgerStore for MemoryLedger {
    fn table(&self) -> &str {
        "memory"
    }

    async fn claim(&self, pk: &str, sk: &str, detail: &str, _keep: Duration) -> Result<bool, LedgerError> {
        let mut state = self.state();
        let key = Self::key(pk, sk);
        if state.items.contains_key(&key) {
            return Ok(false);
        }
        state.items.insert(key, Item::Claim(detail.to_owned()));
        Ok(true)
    }

    async fn release(&self, pk: &str, sk: &str) -> Result<(), LedgerError> {
        let mut state = self.state();
        if state.fail_releases {
            return Err(LedgerError {
                table: "memory".into(),
                action: format!("release {pk}/{sk}"),
                detail: "ThrottlingException: injected".into(),
            });
        }
        state.items.remove(&Self::key(pk, sk));
        state.releases.push(Self::key(pk, sk));
        Ok(())
    }

    async fn claims(&self, pk: &str) -> Result<Vec<(String, String)>, LedgerError> {
        Ok(self
            .state()
            .items
            .iter()
            .filter(|((p, _), _)| p == pk)
            .map(|((_, sk), item)| {
                let detail = match item {
                    Item::Claim(d) => d.clone(),
                    Item::Snapshot(_) | Item::Counter(_) => String::new(),
                };
                (sk.clone(), detail)
            })
            .collect())
    }

    async fn put_snapshot_body(
        &self,
        pk: &str,
        sk: &str,
        body: String,
        _keep: Duration,
    ) -> Result<(), LedgerError> {
        self.state().items.insert(Self::key(pk, sk), Item::Snapshot(body));
        Ok(())
    }

    async fn snapshot_bodies(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>, LedgerError> {
        Ok(self
            .state()
            .items
            .range(Self::key(pk, from)..=Self::key(pk, to))
            .filter_map(|((_, sk), item)| match item {
                Item::Snapshot(body) => Some((sk.clone(), body.clone())),
                Item::Claim(_) | Item::Counter(_) => None,
            })
            .collect())
    }

    async fn increment(
        &self,
        pk: &str,
        sk: &str,
        by: u64,
        cap: Option<u64>,
        _keep: Duration,
    ) -> Result<Counted, LedgerError> {
        let mut state = self.state();
        let current = match state.items.get(&Self::key(pk, sk)) {
            Some(Item::Counter(n)) => *n,
            _ => 0,
        };
        // The same condition as the DynamoDB update: `attribute_not_exists(count) OR count <= cap - by`.
        let exists = state.items.contains_key(&Self::key(pk, sk));
        if let Some(cap) = cap
            && exists
            && current > cap.saturating_sub(by)
        {
            return Ok(Counted::CapReached(current));
        }
        state.items.insert(Self::key(pk, sk), Item::Counter(current + by));
        Ok(Counted::Ok(current + by))
    }

    async fn counter(&self, pk: &str, sk: &str) -> Result<u64, LedgerError> {
        Ok(match self.state().items.get(&Self::key(pk, sk)) {
            Some(Item::Counter(n)) => *n,
            _ => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP: Duration = Duration::from_secs(60);

    /// The same contract `governance/tests/ledger.rs` checks against DynamoDB (moto).
    #[tokio::test]
    async fn claims_are_fire_once_and_release_frees_them() {
        let l = MemoryLedger::new();
        assert!(l.claim("p", "tier#100", "sent", KEEP).await.unwrap());
        assert!(!l.claim("p", "tier#100", "again", KEEP).await.unwrap());
        assert_eq!(
            l.claims("p").await.unwrap(),
            [("tier#100".to_owned(), "sent".to_owned())]
        );
        l.release("p", "tier#100").await.unwrap();
        assert!(l.claim("p", "tier#100", "retry", KEEP).await.unwrap());
    }

    #[tokio::test]
    async fn capped_counter_stops_at_the_cap_and_reports_the_value() {
        let l = MemoryLedger::new();
        for want in 1..=3 {
            assert_eq!(
                l.increment("p", "d", 1, Some(3), KEEP).await.unwrap(),
                Counted::Ok(want)
            );
        }
        assert_eq!(
            l.increment("p", "d", 1, Some(3), KEEP).await.unwrap(),
            Counted::CapReached(3)
        );
        assert_eq!(l.counter("p", "d").await.unwrap(), 3);
        // As in DynamoDB, an absent counter passes `attribute_not_exists`: a cap of 0 still lets the
        // first request through (issue 13 item 4 is to change that in both implementations).
        assert_eq!(
            l.increment("z", "d", 1, Some(0), KEEP).await.unwrap(),
            Counted::Ok(1)
        );
        assert_eq!(
            l.increment("z", "d", 1, Some(0), KEEP).await.unwrap(),
            Counted::CapReached(1)
        );
        assert_eq!(
            l.increment("q", "d", 5, None, KEEP).await.unwrap(),
            Counted::Ok(5)
        );
    }

    #[tokio::test]
    async fn snapshots_read_back_in_range_only() {
        let l = MemoryLedger::new();
        for d in ["2026-11-01", "2026-11-02", "2026-11-03"] {
            super::super::put_snapshot(&l, "p", d, &d, KEEP).await.unwrap();
        }
        let got: Vec<(String, String)> = super::super::snapshots(&l, "p", "2026-11-02", "2026-11-03")
            .await
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], ("2026-11-02".to_owned(), "2026-11-02".to_owned()));
    }
}
