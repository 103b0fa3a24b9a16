//! An in-memory [`LedgerStore`] with DynamoDB's conditional semantics (a claim fails on any existing
//! item, a record transaction writes all or nothing, a capped increment leaves the counter unchanged when
//! it would pass the cap) and its TTL (an item past `expires_at` is gone), for unit tests of the passes on
//! fakes. Clones share state. Time is `tokio`'s clock, so a test with the clock paused moves the ledger
//! forward with `tokio::time::advance`.
//!
//! Faults ([`MemoryLedger::fail`], [`MemoryLedger::hang`], [`MemoryLedger::lose_answer`]) stand in for a
//! bad day at DynamoDB and for a process that dies: a failed operation returns the same classified
//! [`AwsCallError`] the SDK would (`ThrottlingException`, HTTP 400); a hung one never completes, so a test
//! that drops the run's future has killed the process exactly there; one whose answer is lost takes
//! effect and is sent again, as the SDK retries it. Behind the `testing` feature: no production build
//! compiles it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_error::AwsCallError;
use tokio::time::Instant;

use super::{Counted, LeaseHolder, LedgerError, LedgerStore, NewItem};

/// The operations a fault can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LedgerOp {
    /// [`LedgerStore::claim`].
    Claim,
    /// [`LedgerStore::record_all`].
    Record,
    /// [`LedgerStore::update_record`].
    Update,
    /// [`LedgerStore::lease`].
    Lease,
    /// [`LedgerStore::claims`] and [`LedgerStore::snapshot_bodies`].
    Query,
    /// [`LedgerStore::put_snapshot_body`].
    Snapshot,
    /// [`LedgerStore::increment`] and [`LedgerStore::counter`].
    Count,
}

impl LedgerOp {
    const fn operation(self) -> &'static str {
        match self {
            Self::Claim | Self::Snapshot => "PutItem",
            Self::Record => "TransactWriteItems",
            Self::Update | Self::Lease | Self::Count => "UpdateItem",
            Self::Query => "Query",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Claim(String),
    Snapshot(String),
    Counter(u64),
}

#[derive(Debug, Default)]
struct State {
    items: BTreeMap<(String, String), (Item, Option<Instant>)>,
    /// Per operation: how many calls still succeed, then how many fail.
    failing: BTreeMap<LedgerOp, (usize, usize)>,
    hanging: Option<LedgerOp>,
    updates: Vec<(String, String)>,
    /// `(pk, sk, detail)` another writer records just before the next `record_all`.
    racing: Option<(String, String, String)>,
    /// `(pk, sk, detail)` another writer claims just before the next `claim`.
    racing_claim: Option<(String, String, String)>,
    /// Leases taken (see [`LedgerStore::lease`]), until they are ended by an update.
    leases: BTreeMap<(String, String), Held>,
    /// Per operation: how many calls still have their answer lost ([`MemoryLedger::lose_answer`]).
    losing: BTreeMap<LedgerOp, usize>,
}

/// A lease as its holder asked for it: `(until, taken_at)` name the holder, as in DynamoDB's
/// `lease_until` and `lease_taken_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    until: chrono::DateTime<chrono::Utc>,
    taken_at: chrono::DateTime<chrono::Utc>,
    /// Run out ([`MemoryLedger::end_leases`]): free for anyone, still naming its holder.
    ran_out: bool,
}

impl State {
    /// Drops what has expired (DynamoDB's TTL, at its most eager).
    fn expire(&mut self) {
        let now = Instant::now();
        self.items.retain(|_, (_, exp)| exp.is_none_or(|e| e > now));
    }
}

/// The in-memory ledger.
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    state: Arc<Mutex<State>>,
}

/// DynamoDB's largest item, attribute names and values together (400 KB).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The size DynamoDB counts for a snapshot item: `pk`, `sk`, `body` and `expires_at`, each attribute's
/// name and value (a number takes at most 21 bytes).
fn snapshot_item_bytes(pk: &str, sk: &str, body: &str) -> usize {
    "pk".len() + pk.len() + "sk".len() + sk.len() + "body".len() + body.len() + "expires_at".len() + 21
}

/// The error the SDK gives for a DynamoDB call that AWS answered with `code` (HTTP 400), classified
/// like any other.
fn refused(op: LedgerOp, code: &str, message: &str) -> AwsCallError {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    let meta = ErrorMetadata::builder().code(code).message(message).build();
    #[allow(clippy::expect_used)] // 400 is a valid HTTP status
    let status = StatusCode::try_from(400_u16).expect("400 is a status");
    let err: SdkError<PutItemError, Response> = SdkError::service_error(
        PutItemError::generic(meta),
        Response::new(status, SdkBody::empty()),
    );
    AwsCallError::from_sdk("DynamoDB", op.operation(), err)
}

/// The error the SDK gives for a throttled DynamoDB call.
fn throttled(op: LedgerOp) -> AwsCallError {
    refused(op, "ThrottlingException", "injected by MemoryLedger")
}

impl MemoryLedger {
    /// An empty ledger.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking test thread poisons the lock; the state is still what it wrote.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.expire();
        state
    }

    /// Makes the next `times` calls of `op` fail as a throttled DynamoDB call does.
    pub fn fail(&self, op: LedgerOp, times: usize) {
        self.fail_after(op, 0, times);
    }

    /// Lets the next `ok` calls of `op` succeed, then makes `times` fail as [`Self::fail`] does.
    pub fn fail_after(&self, op: LedgerOp, ok: usize, times: usize) {
        self.state().failing.insert(op, (ok, times));
    }

    /// Another writer records `(pk, sk)` with `detail` just before the next `record_all`: between the
    /// caller's read of the ledger and its own write.
    pub fn race_next_record(&self, pk: &str, sk: &str, detail: &str) {
        self.state().racing = Some((pk.to_owned(), sk.to_owned(), detail.to_owned()));
    }

    /// Another writer claims `(pk, sk)` with `detail` just before the next `claim`: between the caller's
    /// read of the ledger and its own claim (and, in a test, it then dies: it does nothing more).
    pub fn race_next_claim(&self, pk: &str, sk: &str, detail: &str) {
        self.state().racing_claim = Some((pk.to_owned(), sk.to_owned(), detail.to_owned()));
    }

    /// Ends every running send lease, as if [`crate::cost_pass::notify::SEND_LEASE`] had passed since
    /// they were taken (a lease is measured on the wall clock, which a test does not wait for). As in
    /// DynamoDB, a lease that ran out still names its holder until another caller takes it.
    pub fn end_leases(&self) {
        for held in self.state().leases.values_mut() {
            held.ran_out = true;
        }
    }

    /// The next `times` calls of `op` take effect, but their answer is lost and the SDK sends the
    /// same request again: the caller gets the answer to the retry. Only [`LedgerOp::Lease`] (the retry
    /// meets the caller's own lease) and [`LedgerStore::update_leased`] under [`LedgerOp::Update`] (the
    /// lease is gone, the caller's own detail is there) are retried this way; other operations are not
    /// affected.
    pub fn lose_answer(&self, op: LedgerOp, times: usize) {
        self.state().losing.insert(op, times);
    }

    /// Whether this call of `op` has its answer lost ([`Self::lose_answer`]).
    fn answer_lost(&self, op: LedgerOp) -> bool {
        let mut state = self.state();
        match state.losing.get_mut(&op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// Makes every later call of `op` never complete (the process dies there); `None` stops it.
    pub fn hang(&self, op: Option<LedgerOp>) {
        self.state().hanging = op;
    }

    /// Fails or hangs `op` as injected.
    async fn enter(&self, op: LedgerOp, action: impl FnOnce() -> String) -> Result<(), LedgerError> {
        let (hang, fail) = {
            let mut state = self.state();
            let hang = state.hanging == Some(op);
            let fail = match state.failing.get_mut(&op) {
                Some((ok, _)) if *ok > 0 => {
                    *ok -= 1;
                    false
                }
                Some((_, n)) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            };
            (hang, fail)
        };
        if hang {
            std::future::pending::<()>().await;
        }
        if fail {
            return Err(LedgerError::new("memory", action(), throttled(op)));
        }
        Ok(())
    }

    /// The sort keys under `pk`, in order.
    #[must_use]
    pub fn claimed(&self, pk: &str) -> Vec<String> {
        self.state()
            .items
            .iter()
            .filter(|((p, _), (item, _))| p == pk && matches!(item, Item::Claim(_)))
            .map(|((_, sk), _)| sk.clone())
            .collect()
    }

    /// The `detail` stored at `(pk, sk)`.
    #[must_use]
    pub fn detail(&self, pk: &str, sk: &str) -> Option<String> {
        match self.state().items.get(&Self::key(pk, sk)) {
            Some((Item::Claim(d), _)) => Some(d.clone()),
            _ => None,
        }
    }

    /// How long `(pk, sk)` is still kept: `None` for an item without TTL (or no item).
    #[must_use]
    pub fn expires_in(&self, pk: &str, sk: &str) -> Option<Duration> {
        let state = self.state();
        let (_, exp) = state.items.get(&Self::key(pk, sk))?;
        exp.map(|e| e.saturating_duration_since(Instant::now()))
    }

    /// Every `(pk, sk)` updated so far, in order.
    #[must_use]
    pub fn updates(&self) -> Vec<(String, String)> {
        self.state().updates.clone()
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

    fn expiry(keep: Option<Duration>) -> Option<Instant> {
        keep.map(|k| Instant::now() + k)
    }
}

/// The conditional update of [`LedgerStore::lease`] on `state`: taken when no lease runs, or when the
/// running one is the caller's own `(until, now)` (its request sent again).
fn lease_item(
    state: &mut State,
    key: &(String, String),
    until: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<String>, LedgerError> {
    let detail = match state.items.get(key) {
        Some((Item::Claim(detail), _)) => detail.clone(),
        _ => {
            return Err(LedgerError::document(
                "memory",
                format!("lease {}/{}", key.0, key.1),
                "ConditionalCheckFailedException: no such item",
            ));
        }
    };
    if let Some(held) = state.leases.get(key) {
        let own = held.until == until && held.taken_at == now;
        if !own && !held.ran_out && held.until >= now {
            return Ok(None);
        }
    }
    let held = Held {
        until,
        taken_at: now,
        ran_out: false,
    };
    state.leases.insert(key.clone(), held);
    Ok(Some(detail))
}

/// The conditional update of [`LedgerStore::update_leased`] on `state`.
fn update_leased_item(
    state: &mut State,
    key: &(String, String),
    holder: LeaseHolder,
    detail: &str,
    expiry: Option<Instant>,
) -> Result<bool, LedgerError> {
    let current = match state.items.get(key) {
        Some((Item::Claim(current), _)) => current.clone(),
        _ => {
            return Err(LedgerError::document(
                "memory",
                format!("update {}/{}", key.0, key.1),
                "ConditionalCheckFailedException: no such item",
            ));
        }
    };
    let held = state
        .leases
        .get(key)
        .is_some_and(|h| h.until == holder.until && h.taken_at == holder.taken_at);
    if !held {
        return Ok(current == detail);
    }
    state
        .items
        .insert(key.clone(), (Item::Claim(detail.to_owned()), expiry));
    state.leases.remove(key);
    state.updates.push(key.clone());
    Ok(true)
}

impl LedgerStore for MemoryLedger {
    fn table(&self) -> &str {
        "memory"
    }

    async fn claim(&self, pk: &str, sk: &str, detail: &str, keep: Duration) -> Result<bool, LedgerError> {
        self.enter(LedgerOp::Claim, || format!("claim {pk}/{sk}")).await?;
        let mut state = self.state();
        if let Some((pk, sk, detail)) = state.racing_claim.take() {
            let expiry = Self::expiry(Some(keep));
            state.items.insert((pk, sk), (Item::Claim(detail), expiry));
        }
        let key = Self::key(pk, sk);
        if state.items.contains_key(&key) {
            return Ok(false);
        }
        state
            .items
            .insert(key, (Item::Claim(detail.to_owned()), Self::expiry(Some(keep))));
        Ok(true)
    }

    async fn record_all(&self, items: &[NewItem<'_>]) -> Result<bool, LedgerError> {
        let action = || {
            items.first().map_or_else(
                || "record nothing".to_owned(),
                |i| format!("record {}/{}", i.pk, i.sk),
            )
        };
        self.enter(LedgerOp::Record, action).await?;
        let mut state = self.state();
        if let Some((pk, sk, detail)) = state.racing.take() {
            state
                .items
                .insert((pk, sk), (Item::Claim(detail), Self::expiry(None)));
        }
        if items
            .iter()
            .any(|i| state.items.contains_key(&Self::key(i.pk, i.sk)))
        {
            return Ok(false);
        }
        for i in items {
            state.items.insert(
                Self::key(i.pk, i.sk),
                (Item::Claim(i.detail.to_owned()), Self::expiry(i.keep)),
            );
        }
        Ok(true)
    }

    async fn update_record(
        &self,
        pk: &str,
        sk: &str,
        detail: &str,
        keep: Option<Duration>,
    ) -> Result<(), LedgerError> {
        self.enter(LedgerOp::Update, || format!("update {pk}/{sk}"))
            .await?;
        let mut state = self.state();
        let key = Self::key(pk, sk);
        if !state.items.contains_key(&key) {
            return Err(LedgerError::document(
                "memory",
                format!("update {pk}/{sk}"),
                "ConditionalCheckFailedException: no such item",
            ));
        }
        state
            .items
            .insert(key.clone(), (Item::Claim(detail.to_owned()), Self::expiry(keep)));
        state.leases.remove(&key);
        state.updates.push(key);
        Ok(())
    }

    async fn update_leased(
        &self,
        pk: &str,
        sk: &str,
        holder: LeaseHolder,
        detail: &str,
        keep: Option<Duration>,
    ) -> Result<bool, LedgerError> {
        self.enter(LedgerOp::Update, || format!("update {pk}/{sk}"))
            .await?;
        let key = Self::key(pk, sk);
        let first = update_leased_item(&mut self.state(), &key, holder, detail, Self::expiry(keep));
        if self.answer_lost(LedgerOp::Update) && first.is_ok() {
            // The SDK's retry of the same request: the lease is gone, its own detail is there.
            return update_leased_item(&mut self.state(), &key, holder, detail, Self::expiry(keep));
        }
        first
    }

    async fn lease(
        &self,
        pk: &str,
        sk: &str,
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, LedgerError> {
        self.enter(LedgerOp::Lease, || format!("lease {pk}/{sk}")).await?;
        let key = Self::key(pk, sk);
        let first = lease_item(&mut self.state(), &key, until, now);
        if self.answer_lost(LedgerOp::Lease) && first.is_ok() {
            // The SDK's retry of the same request: it meets the lease the first attempt took.
            let mut state = self.state();
            return lease_item(&mut state, &key, until, now);
        }
        first
    }

    async fn claims(&self, pk: &str) -> Result<Vec<(String, String)>, LedgerError> {
        self.enter(LedgerOp::Query, || format!("query {pk}")).await?;
        Ok(self
            .state()
            .items
            .iter()
            .filter(|((p, _), _)| p == pk)
            .map(|((_, sk), (item, _))| {
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
        keep: Duration,
    ) -> Result<(), LedgerError> {
        self.enter(LedgerOp::Snapshot, || format!("snapshot {pk}/{sk}"))
            .await?;
        // As DynamoDB does: an item over 400 KB is refused, so a test writes what production can.
        if snapshot_item_bytes(pk, sk, &body) > MAX_ITEM_BYTES {
            return Err(LedgerError::new(
                "memory",
                format!("snapshot {pk}/{sk}"),
                refused(
                    LedgerOp::Snapshot,
                    "ValidationException",
                    "Item size has exceeded the maximum allowed size",
                ),
            ));
        }
        self.state().items.insert(
            Self::key(pk, sk),
            (Item::Snapshot(body), Self::expiry(Some(keep))),
        );
        Ok(())
    }

    async fn snapshot_bodies(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>, LedgerError> {
        self.enter(LedgerOp::Query, || format!("read snapshots {pk}/{from}..={to}"))
            .await?;
        Ok(self
            .state()
            .items
            .range(Self::key(pk, from)..=Self::key(pk, to))
            .filter_map(|((_, sk), (item, _))| match item {
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
        keep: Duration,
    ) -> Result<Counted, LedgerError> {
        self.enter(LedgerOp::Count, || format!("count {pk}/{sk}")).await?;
        let mut state = self.state();
        let current = match state.items.get(&Self::key(pk, sk)) {
            Some((Item::Counter(n), _)) => *n,
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
        state.items.insert(
            Self::key(pk, sk),
            (Item::Counter(current + by), Self::expiry(Some(keep))),
        );
        Ok(Counted::Ok(current + by))
    }

    async fn counter(&self, pk: &str, sk: &str) -> Result<u64, LedgerError> {
        self.enter(LedgerOp::Count, || format!("read {pk}/{sk}")).await?;
        Ok(match self.state().items.get(&Self::key(pk, sk)) {
            Some((Item::Counter(n), _)) => *n,
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
    }

    #[tokio::test(start_paused = true)]
    async fn records_are_all_or_nothing_and_expire_like_dynamodb_ttl() {
        let l = MemoryLedger::new();
        let item = |sk, keep| NewItem {
            pk: "p",
            sk,
            detail: "d",
            keep,
        };
        assert!(
            l.record_all(&[item("a", None), item("b", Some(KEEP))])
                .await
                .unwrap()
        );
        assert!(!l.record_all(&[item("c", None), item("b", None)]).await.unwrap());
        assert_eq!(
            l.claimed("p"),
            ["a", "b"],
            "nothing of a refused transaction is written"
        );
        l.update_record("p", "a", "sent", Some(KEEP)).await.unwrap();
        assert_eq!(l.detail("p", "a").as_deref(), Some("sent"));
        assert!(l.update_record("p", "zz", "x", None).await.is_err());
        tokio::time::advance(KEEP + Duration::from_secs(1)).await;
        assert!(l.claimed("p").is_empty(), "both expired");
        l.fail(LedgerOp::Record, 1);
        let e = l.record_all(&[item("a", None)]).await.unwrap_err();
        assert_eq!(e.class(), Some(aws_error::ErrorClass::Throttled), "{e}");
        assert!(e.is_retryable());
        assert!(l.record_all(&[item("a", None)]).await.unwrap());
        assert_eq!(l.expires_in("p", "a"), None, "no TTL");
    }

    /// The lease contract `governance/tests/ledger.rs` checks against DynamoDB, and the SDK's retry of
    /// a lease whose answer was lost: it meets the caller's own lease and takes it.
    #[tokio::test]
    async fn a_lease_has_one_holder_and_a_retried_lease_is_its_own() {
        use chrono::{Duration as Minutes, TimeZone, Utc};
        let l = MemoryLedger::new();
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
        let item = NewItem {
            pk: "p",
            sk: "page",
            detail: "pending",
            keep: None,
        };
        assert!(l.record_all(&[item]).await.unwrap());
        let until = now + Minutes::minutes(3);
        l.lose_answer(LedgerOp::Lease, 1);
        assert_eq!(
            l.lease("p", "page", until, now).await.unwrap().as_deref(),
            Some("pending"),
            "the retry meets its own lease"
        );
        let later = now + Minutes::minutes(1);
        assert_eq!(
            l.lease("p", "page", until, later).await.unwrap(),
            None,
            "another run"
        );
        l.end_leases();
        assert!(
            l.lease("p", "page", later + Minutes::minutes(3), later)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            l.lease("p", "page", until, now).await.unwrap(),
            None,
            "the first holder's lease was taken over"
        );
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

    /// DynamoDB refuses an item over 400 KB (`ValidationException`): so does the memory ledger, and
    /// nothing is written.
    #[tokio::test]
    async fn a_snapshot_over_400_kb_is_refused_as_dynamodb_refuses_it() {
        let l = MemoryLedger::new();
        let fits = "x".repeat(MAX_ITEM_BYTES - 100);
        l.put_snapshot_body("p", "fits", fits, KEEP).await.unwrap();
        let e = l
            .put_snapshot_body("p", "too-big", "x".repeat(MAX_ITEM_BYTES), KEEP)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("ValidationException"), "{e}");
        assert!(!e.is_retryable());
        let stored = l.snapshot_bodies("p", "", "~").await.unwrap();
        assert_eq!(stored.len(), 1, "only the item that fits");
    }
}
