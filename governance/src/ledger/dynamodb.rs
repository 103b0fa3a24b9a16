//! The ledger on DynamoDB (PK `pk`, SK `sk`, TTL attribute `expires_at`): the SDK implementation of
//! [`LedgerStore`]. Claims are conditional puts (`attribute_not_exists(pk)`), delivery records one
//! `TransactWriteItems` of conditional puts and conditional updates, counters atomic `ADD` with the cap in
//! the same conditional update, snapshots JSON bodies read back with `Query … BETWEEN`. Every SDK failure
//! becomes an [`AwsCallError`] inside the [`LedgerError`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_error::AwsCallError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{Counted, LeaseHolder, LedgerError, LedgerStore, NewItem};
use crate::publish::cloudwatch::PageGuard;

const SERVICE: &str = "DynamoDB";

/// Pages one ledger `Query` may read: a partition holds one pass's records (a day's deliveries, a
/// month's claims), far below 1 MB × this.
const MAX_QUERY_PAGES: usize = 100;

/// A `LastEvaluatedKey` as a token [`PageGuard`] can remember (its attributes in name order).
fn key_token(key: &std::collections::HashMap<String, AttributeValue>) -> String {
    let mut parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    parts.sort();
    parts.join("\u{1f}")
}

/// The governance ledger table.
#[derive(Debug, Clone)]
pub struct Ledger {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn epoch_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `t` as a DynamoDB number of seconds to the nanosecond (`1764936000.123456789`): a lease's times name
/// its holder ([`LedgerStore::lease`]), so they keep every digit the caller's clock gave. Compared with
/// the whole seconds earlier versions wrote, as numbers.
fn epoch_nanos(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
}

/// Whether the stored number `n` is the instant `t` ([`epoch_nanos`]; DynamoDB hands numbers back
/// normalised, `1764936000.5` for `1764936000.500000000`).
fn is_instant(n: &str, t: chrono::DateTime<chrono::Utc>) -> bool {
    let (secs, frac) = n.split_once('.').unwrap_or((n, ""));
    let nanos = format!("{frac:0<9}");
    nanos.len() == 9
        && secs.parse::<i64>().ok() == Some(t.timestamp())
        && nanos.parse::<u32>().ok() == Some(t.timestamp_subsec_nanos())
}

/// Whether `item` holds the lease `(until, taken_at)`: the one this caller asked for — its own request,
/// which the SDK sent again after the first answer was lost.
fn holds_lease(
    item: &std::collections::HashMap<String, AttributeValue>,
    until: chrono::DateTime<chrono::Utc>,
    taken_at: chrono::DateTime<chrono::Utc>,
) -> bool {
    let is = |name: &str, t| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .is_some_and(|n| is_instant(n, t))
    };
    is("lease_until", until) && is("lease_taken_at", taken_at)
}

/// A value no other claim carries: the claim's own, stored with it, so that the SDK's retry of a
/// `PutItem` whose first answer was lost recognises the item as its own instead of another caller's.
fn claim_token(now: SystemTime) -> String {
    use std::hash::{BuildHasher, Hasher};
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    // `RandomState` is seeded randomly per process (and moves on per call): two Lambdas claiming in
    // the same nanosecond still differ.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u64(CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    format!("{nanos:x}-{:016x}", hasher.finish())
}

impl Ledger {
    /// A ledger on `table`.
    #[must_use]
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the ledger table (PK `pk`, SK `sk`, on-demand) — for the emulator and the demo; in AWS
    /// Terraform creates it, with TTL on `expires_at` and point-in-time recovery.
    ///
    /// # Errors
    /// When the table cannot be created.
    pub async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Self, LedgerError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let fail = |detail: String| LedgerError::document(table, "create table", detail);
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| fail(e.to_string()))
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| fail(e.to_string()))
        };
        client
            .create_table()
            .table_name(table)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| {
                LedgerError::new(
                    table,
                    "create table",
                    AwsCallError::from_sdk(SERVICE, "CreateTable", e),
                )
            })?;
        Ok(Self::new(client.clone(), table))
    }

    /// The table name.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// `map_err(self.err("claim p/sk", "PutItem"))`: the SDK error classified, with the table and action.
    fn err<E, R>(
        &self,
        action: String,
        operation: &'static str,
    ) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> LedgerError + '_
    where
        E: std::error::Error
            + aws_smithy_types::error::metadata::ProvideErrorMetadata
            + Send
            + Sync
            + 'static,
        R: aws_error::RawAnswer + std::fmt::Debug + Send + Sync + 'static,
    {
        move |e| LedgerError::new(&self.table, action, AwsCallError::from_sdk(SERVICE, operation, e))
    }

    /// Claims `(pk, sk)` once: `Ok(true)` for the one caller that wrote it, `Ok(false)` if it was already
    /// claimed. `detail` is stored with the claim (what was sent); the item expires after `keep`.
    ///
    /// The put carries a token of its own (`claim_token`): when the SDK sends it again because the
    /// first answer was lost (a timeout, a 500 after the write), the retry finds the item the first
    /// attempt wrote, and the token the failed condition hands back says it is this caller's — `Ok(true)`,
    /// not "another caller's".
    ///
    /// # Errors
    /// Any failure other than "already claimed".
    pub async fn claim(&self, pk: &str, sk: &str, detail: &str, keep: Duration) -> Result<bool, LedgerError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError;
        let now = SystemTime::now();
        let token = claim_token(now);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk.to_owned()))
            .item("sk", AttributeValue::S(sk.to_owned()))
            .item("claimed_at", AttributeValue::N(epoch_secs(now).to_string()))
            .item("claim_token", AttributeValue::S(token.clone()))
            .item("detail", AttributeValue::S(detail.to_owned()))
            .item(
                "expires_at",
                AttributeValue::N(epoch_secs(now + keep).to_string()),
            )
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => Ok(c
                    .item()
                    .and_then(|item| item.get("claim_token"))
                    .and_then(|t| t.as_s().ok())
                    .is_some_and(|t| *t == token)),
                _ => Err(self.err(format!("claim {pk}/{sk}"), "PutItem")(e)),
            },
        }
    }

    /// Writes all of `items` or none (see [`LedgerStore::record_all`]): one `TransactWriteItems` of puts
    /// conditional on `attribute_not_exists(pk)`.
    ///
    /// # Errors
    /// Any failure other than a taken key.
    pub async fn record_all(&self, items: &[NewItem<'_>]) -> Result<bool, LedgerError> {
        use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
        let Some(first) = items.first() else {
            return Ok(true);
        };
        let action = format!("record {}/{} (+{} more)", first.pk, first.sk, items.len() - 1);
        let now = SystemTime::now();
        let mut request = self.client.transact_write_items();
        for item in items {
            let mut put = Put::builder()
                .table_name(&self.table)
                .item("pk", AttributeValue::S(item.pk.to_owned()))
                .item("sk", AttributeValue::S(item.sk.to_owned()))
                .item("claimed_at", AttributeValue::N(epoch_secs(now).to_string()))
                .item("detail", AttributeValue::S(item.detail.to_owned()))
                .condition_expression("attribute_not_exists(pk)");
            if let Some(keep) = item.keep {
                put = put.item(
                    "expires_at",
                    AttributeValue::N(epoch_secs(now + keep).to_string()),
                );
            }
            let put = put
                .build()
                .map_err(|e| LedgerError::document(&self.table, action.clone(), e))?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        // The SDK gives the request a `ClientRequestToken` of its own (the operation's idempotency
        // token) once, before its attempts: a retry after a lost answer is the same transaction to
        // DynamoDB, which answers it as it answered the first (success, not "key taken") for 10 minutes.
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                // A cancelled transaction lists one reason per item; a taken key is `ConditionalCheckFailed`.
                // Cancelled for contention or capacity instead (two runs at once, a hot partition), it is
                // throttling — a 400, but a retry can succeed — not a configuration fault.
                let reasons: Vec<String> = e
                    .as_service_error()
                    .and_then(|s| match s {
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                        _ => None,
                    })
                    .map(|c| {
                        c.cancellation_reasons()
                            .iter()
                            .filter_map(|r| r.code().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if reasons.iter().any(|r| r == "ConditionalCheckFailed") {
                    return Ok(false);
                }
                let contended = reasons.iter().any(|r| {
                    matches!(
                        r.as_str(),
                        "TransactionConflict"
                            | "ThrottlingError"
                            | "ProvisionedThroughputExceeded"
                            | "RequestLimitExceeded"
                    )
                });
                let call = AwsCallError::from_sdk(SERVICE, "TransactWriteItems", e);
                let call = if contended {
                    call.with_class(aws_error::ErrorClass::Throttled)
                } else {
                    call
                };
                Err(LedgerError::new(&self.table, action, call))
            }
        }
    }

    /// The `UpdateItem` both record writes send, before their condition: `detail` replaced, the lease
    /// released, and `expires_at` set `keep` from now (removed without it).
    fn set_detail(
        &self,
        pk: &str,
        sk: &str,
        detail: &str,
        keep: Option<Duration>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .expression_attribute_values(":d", AttributeValue::S(detail.to_owned()));
        match keep {
            Some(keep) => update
                .update_expression("SET detail = :d, expires_at = :exp REMOVE lease_until, lease_taken_at")
                .expression_attribute_values(
                    ":exp",
                    AttributeValue::N(epoch_secs(SystemTime::now() + keep).to_string()),
                ),
            None => {
                update.update_expression("SET detail = :d REMOVE expires_at, lease_until, lease_taken_at")
            }
        }
    }

    /// Replaces the `detail` of an existing item and its expiry (see [`LedgerStore::update_record`]).
    ///
    /// # Errors
    /// When the item does not exist or the update fails.
    pub async fn update_record(
        &self,
        pk: &str,
        sk: &str,
        detail: &str,
        keep: Option<Duration>,
    ) -> Result<(), LedgerError> {
        self.set_detail(pk, sk, detail, keep)
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(self.err(format!("update {pk}/{sk}"), "UpdateItem"))?;
        Ok(())
    }

    /// Replaces the `detail` of an item while `holder`'s lease is still its own (see
    /// [`LedgerStore::update_leased`]): one `UpdateItem` conditional on `lease_until` and
    /// `lease_taken_at`, handing back the item when the condition fails.
    ///
    /// # Errors
    /// When the item does not exist or the update fails for another reason than a lease taken over.
    pub async fn update_leased(
        &self,
        pk: &str,
        sk: &str,
        holder: LeaseHolder,
        detail: &str,
        keep: Option<Duration>,
    ) -> Result<bool, LedgerError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let action = format!("update {pk}/{sk}");
        let update = self
            .set_detail(pk, sk, detail, keep)
            .condition_expression("lease_until = :until AND lease_taken_at = :taken_at")
            .expression_attribute_values(":until", AttributeValue::N(epoch_nanos(holder.until)))
            .expression_attribute_values(":taken_at", AttributeValue::N(epoch_nanos(holder.taken_at)))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => match c.item() {
                    // This write, sent again after its answer was lost: it is there.
                    Some(item) => Ok(item
                        .get("detail")
                        .and_then(|d| d.as_s().ok())
                        .is_some_and(|d| d == detail)),
                    None => Err(LedgerError::document(&self.table, action, "no such item")),
                },
                _ => Err(self.err(action, "UpdateItem")(e)),
            },
        }
    }

    /// Leases `(pk, sk)` until `until` (see [`LedgerStore::lease`]): one conditional `UpdateItem`
    /// returning the item as it is now. `lease_until` and `lease_taken_at` (`now`) are stored to the
    /// nanosecond: together they name the holder, so when the SDK sends the update again because the
    /// first answer was lost, the failed condition hands back this caller's own lease, and it is taken
    /// (`Some`) — not read as another run's.
    ///
    /// # Errors
    /// When the item does not exist or the update fails for another reason than a running lease.
    pub async fn lease(
        &self,
        pk: &str,
        sk: &str,
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, LedgerError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        let action = format!("lease {pk}/{sk}");
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .update_expression("SET lease_until = :until, lease_taken_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            )
            .expression_attribute_values(":until", AttributeValue::N(epoch_nanos(until)))
            .expression_attribute_values(":now", AttributeValue::N(epoch_nanos(now)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match out {
            Ok(out) => {
                let detail = out
                    .attributes()
                    .and_then(|a| a.get("detail"))
                    .and_then(|d| d.as_s().ok())
                    .cloned()
                    .ok_or_else(|| LedgerError::document(&self.table, action.clone(), "no detail"))?;
                Ok(Some(detail))
            }
            // A running lease, or no such item: the failed condition hands back the item as it is, if
            // there is one (no second call, no other permission). A running lease that is this
            // caller's own is its retried request's: taken.
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => match c.item() {
                    Some(item) if holds_lease(item, until, now) => item
                        .get("detail")
                        .and_then(|d| d.as_s().ok())
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| LedgerError::document(&self.table, action, "no detail")),
                    Some(_) => Ok(None),
                    None => Err(LedgerError::document(&self.table, action, "no such item")),
                },
                _ => Err(self.err(action, "UpdateItem")(e)),
            },
        }
    }

    /// Every claim under `pk`, as `(sk, detail)`, in sort-key order.
    ///
    /// # Errors
    /// When the query fails.
    pub async fn claims(&self, pk: &str) -> Result<Vec<(String, String)>, LedgerError> {
        let items = self.query(pk).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = item.get("sk")?.as_s().ok()?.clone();
                let detail = item
                    .get("detail")
                    .and_then(|d| d.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                Some((sk, detail))
            })
            .collect())
    }

    /// Stores a JSON snapshot under `(pk, sk)`, replacing any previous one.
    ///
    /// # Errors
    /// When the document cannot be serialized or the put fails.
    pub async fn put_snapshot<T: serde::Serialize + Sync>(
        &self,
        pk: &str,
        sk: &str,
        value: &T,
        keep: Duration,
    ) -> Result<(), LedgerError> {
        super::put_snapshot(self, pk, sk, value, keep).await
    }

    async fn put_body(&self, pk: &str, sk: &str, body: String, keep: Duration) -> Result<(), LedgerError> {
        let action = format!("snapshot {pk}/{sk}");
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk.to_owned()))
            .item("sk", AttributeValue::S(sk.to_owned()))
            .item("body", AttributeValue::S(body))
            .item(
                "expires_at",
                AttributeValue::N(epoch_secs(SystemTime::now() + keep).to_string()),
            )
            .send()
            .await
            .map_err(self.err(action, "PutItem"))?;
        Ok(())
    }

    /// Every snapshot under `pk` with a sort key in `from..=to` (sort keys compare as strings, so use
    /// ISO dates), as `(sk, value)`.
    ///
    /// # Errors
    /// When the query fails or a stored body does not parse as `T`.
    pub async fn snapshots<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, T)>, LedgerError> {
        super::snapshots(self, pk, from, to).await
    }

    async fn bodies(&self, pk: &str, from: &str, to: &str) -> Result<Vec<(String, String)>, LedgerError> {
        let action = format!("read snapshots {pk}/{from}..={to}");
        let mut out = Vec::new();
        let mut start = None;
        let mut guard = PageGuard::new("Query", MAX_QUERY_PAGES);
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                // One Lambda reads what another wrote a moment before (the plan step's cache, a Map
                // iteration's outcome): an eventually consistent read may not see it yet.
                .consistent_read(true)
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
                .expression_attribute_values(":to", AttributeValue::S(to.to_owned()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(self.err(action.clone(), "Query"))?;
            for item in page.items() {
                let (Some(Ok(sk)), Some(Ok(body))) = (
                    item.get("sk").map(|v| v.as_s()),
                    item.get("body").map(|v| v.as_s()),
                ) else {
                    continue;
                };
                out.push((sk.clone(), body.clone()));
            }
            match guard.next(page.last_evaluated_key().map(key_token)) {
                Ok(Some(_)) => start = page.last_evaluated_key().cloned(),
                Ok(None) => return Ok(out),
                Err(e) => return Err(LedgerError::new(&self.table, action, e)),
            }
        }
    }

    /// Adds `by` to the counter at `(pk, sk)`. With `cap`, the add only happens while the counter stays
    /// `<= cap`; otherwise nothing changes and [`Counted::CapReached`] is returned.
    ///
    /// # Errors
    /// When the update fails for another reason.
    pub async fn increment(
        &self,
        pk: &str,
        sk: &str,
        by: u64,
        cap: Option<u64>,
        keep: Duration,
    ) -> Result<Counted, LedgerError> {
        let action = format!("count {pk}/{sk}");
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .update_expression("ADD #n :by SET expires_at = :exp")
            .expression_attribute_names("#n", "count")
            .expression_attribute_values(":by", AttributeValue::N(by.to_string()))
            .expression_attribute_values(
                ":exp",
                AttributeValue::N(epoch_secs(SystemTime::now() + keep).to_string()),
            )
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew);
        if let Some(cap) = cap {
            let room = cap.saturating_sub(by);
            update = update
                .condition_expression("attribute_not_exists(#n) OR #n <= :room")
                .expression_attribute_values(":room", AttributeValue::N(room.to_string()));
        }
        match update.send().await {
            Ok(out) => {
                let value = out
                    .attributes()
                    .and_then(|a| a.get("count"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(by);
                Ok(Counted::Ok(value))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(Counted::CapReached(self.counter(pk, sk).await?))
            }
            Err(e) => Err(self.err(action, "UpdateItem")(e)),
        }
    }

    /// The counter's current value (0 when absent).
    ///
    /// # Errors
    /// When the read fails.
    pub async fn counter(&self, pk: &str, sk: &str) -> Result<u64, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(self.err(format!("read {pk}/{sk}"), "GetItem"))?;
        Ok(out
            .item()
            .and_then(|i| i.get("count"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    async fn query(
        &self,
        pk: &str,
    ) -> Result<Vec<std::collections::HashMap<String, AttributeValue>>, LedgerError> {
        let mut out = Vec::new();
        let mut start = None;
        let mut guard = PageGuard::new("Query", MAX_QUERY_PAGES);
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(self.err(format!("query {pk}"), "Query"))?;
            out.extend(page.items().iter().cloned());
            match guard.next(page.last_evaluated_key().map(key_token)) {
                Ok(Some(_)) => start = page.last_evaluated_key().cloned(),
                Ok(None) => return Ok(out),
                Err(e) => return Err(LedgerError::new(&self.table, format!("query {pk}"), e)),
            }
        }
    }
}

impl LedgerStore for Ledger {
    fn table(&self) -> &str {
        &self.table
    }

    async fn claim(&self, pk: &str, sk: &str, detail: &str, keep: Duration) -> Result<bool, LedgerError> {
        Ledger::claim(self, pk, sk, detail, keep).await
    }

    async fn record_all(&self, items: &[NewItem<'_>]) -> Result<bool, LedgerError> {
        Ledger::record_all(self, items).await
    }

    async fn update_record(
        &self,
        pk: &str,
        sk: &str,
        detail: &str,
        keep: Option<Duration>,
    ) -> Result<(), LedgerError> {
        Ledger::update_record(self, pk, sk, detail, keep).await
    }

    async fn update_leased(
        &self,
        pk: &str,
        sk: &str,
        holder: LeaseHolder,
        detail: &str,
        keep: Option<Duration>,
    ) -> Result<bool, LedgerError> {
        Ledger::update_leased(self, pk, sk, holder, detail, keep).await
    }

    async fn lease(
        &self,
        pk: &str,
        sk: &str,
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<String>, LedgerError> {
        Ledger::lease(self, pk, sk, until, now).await
    }

    async fn claims(&self, pk: &str) -> Result<Vec<(String, String)>, LedgerError> {
        Ledger::claims(self, pk).await
    }

    async fn put_snapshot_body(
        &self,
        pk: &str,
        sk: &str,
        body: String,
        keep: Duration,
    ) -> Result<(), LedgerError> {
        self.put_body(pk, sk, body, keep).await
    }

    async fn snapshot_bodies(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<(String, String)>, LedgerError> {
        self.bodies(pk, from, to).await
    }

    async fn increment(
        &self,
        pk: &str,
        sk: &str,
        by: u64,
        cap: Option<u64>,
        keep: Duration,
    ) -> Result<Counted, LedgerError> {
        Ledger::increment(self, pk, sk, by, cap, keep).await
    }

    async fn counter(&self, pk: &str, sk: &str) -> Result<u64, LedgerError> {
        Ledger::counter(self, pk, sk).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    const DAY: Duration = Duration::from_secs(86_400);

    /// Every Query is strongly consistent: the summary step reads the outcomes the last Map iteration
    /// wrote a moment before, the account step the cache the plan step wrote; an eventually consistent
    /// read may miss them (a platform reported "not governed", an account's items failed).
    #[tokio::test]
    async fn every_query_is_strongly_consistent() {
        use aws_sdk_dynamodb::operation::query::QueryOutput;
        let consistent = mock!(aws_sdk_dynamodb::Client::query)
            .match_requests(|r| r.consistent_read() == Some(true))
            .then_output(|| QueryOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &[&consistent]);
        let ledger = Ledger::new(client, "t");
        ledger.claims("p").await.unwrap();
        let _: Vec<(String, serde_json::Value)> = ledger.snapshots("p", "a", "z").await.unwrap();
        assert_eq!(consistent.num_calls(), 2);
    }

    /// A transaction DynamoDB cancelled for contention (two runs recording at once) is throttling, to
    /// be retried; one cancelled because a key is taken is `Ok(false)`.
    #[tokio::test]
    async fn a_transaction_cancelled_for_contention_is_retryable_a_taken_key_is_false() {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        use aws_sdk_dynamodb::types::CancellationReason;
        use aws_sdk_dynamodb::types::error::TransactionCanceledException;
        let cancelled = |codes: &'static [Option<&'static str>]| {
            mock!(aws_sdk_dynamodb::Client::transact_write_items).then_error(move || {
                TransactWriteItemsError::TransactionCanceledException(
                    TransactionCanceledException::builder()
                        .set_cancellation_reasons(Some(
                            codes
                                .iter()
                                .map(|c| {
                                    CancellationReason::builder()
                                        .set_code(c.map(str::to_owned))
                                        .build()
                                })
                                .collect(),
                        ))
                        .message("Transaction cancelled")
                        .build(),
                )
            })
        };
        let items = [
            NewItem {
                pk: "p",
                sk: "a",
                detail: "{}",
                keep: None,
            },
            NewItem {
                pk: "p",
                sk: "b",
                detail: "{}",
                keep: None,
            },
        ];
        for codes in [
            &[Some("None"), Some("TransactionConflict")][..],
            &[Some("ThrottlingError"), Some("None")][..],
        ] {
            let rule = cancelled(codes);
            let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&rule]), "ledger");
            let err = ledger.record_all(&items).await.unwrap_err();
            assert_eq!(
                err.class(),
                Some(aws_error::ErrorClass::Throttled),
                "{codes:?}: {err}"
            );
            assert!(err.is_retryable(), "{codes:?}");
        }
        let rule = cancelled(&[Some("None"), Some("ConditionalCheckFailed")]);
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&rule]), "ledger");
        assert!(!ledger.record_all(&items).await.unwrap());
        let rule = cancelled(&[Some("ValidationError"), Some("None")]);
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&rule]), "ledger");
        let err = ledger.record_all(&items).await.unwrap_err();
        assert!(!err.is_retryable(), "{err}");
    }

    /// `ConditionalCheckFailed` handing back `item` (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
    fn check_failed(
        item: std::collections::HashMap<String, AttributeValue>,
    ) -> aws_sdk_dynamodb::types::error::ConditionalCheckFailedException {
        aws_sdk_dynamodb::types::error::ConditionalCheckFailedException::builder()
            .set_item(Some(item))
            .message("The conditional request failed")
            .build()
    }

    /// The SDK sent a lease's `UpdateItem` again because the first answer was lost (a timeout, a 500
    /// after the write): the retry meets the lease the first attempt took. It is this caller's own —
    /// the same `lease_until` and `lease_taken_at` — so the lease is taken (`Some`), instead of the run
    /// reading its own lease as another run's and leaving the record unsent. Another holder's lease
    /// (taken a moment later, to the nanosecond) is still `None`.
    #[tokio::test]
    async fn a_lease_whose_answer_was_lost_is_taken_by_its_own_retry() {
        use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemInput};
        use aws_smithy_mocks::MockResponse;
        let already = |other_taken_at: Option<&'static str>| {
            mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(
                move |req: &UpdateItemInput| {
                    let values = req.expression_attribute_values().unwrap();
                    // As DynamoDB hands numbers back: without trailing zeros.
                    let normalised = |k: &str| {
                        let n = values[k].as_n().unwrap();
                        AttributeValue::N(n.trim_end_matches('0').trim_end_matches('.').to_owned())
                    };
                    let taken_at =
                        other_taken_at.map_or_else(|| normalised(":now"), |t| AttributeValue::N(t.into()));
                    MockResponse::Error(UpdateItemError::ConditionalCheckFailedException(check_failed(
                        std::collections::HashMap::from([
                            ("pk".to_owned(), AttributeValue::S("p".into())),
                            ("sk".to_owned(), AttributeValue::S("page".into())),
                            ("detail".to_owned(), AttributeValue::S("pending".into())),
                            ("lease_until".to_owned(), normalised(":until")),
                            ("lease_taken_at".to_owned(), taken_at),
                        ]),
                    )))
                },
            )
        };
        let now: chrono::DateTime<chrono::Utc> = "2025-12-05T12:00:00.250Z".parse().unwrap();
        let until = now + chrono::Duration::minutes(3);
        let own = already(None);
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&own]), "ledger");
        assert_eq!(
            ledger.lease("p", "page", until, now).await.unwrap().as_deref(),
            Some("pending")
        );
        let theirs = already(Some("1764936000.250000001"));
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&theirs]), "ledger");
        assert_eq!(ledger.lease("p", "page", until, now).await.unwrap(), None);
    }

    /// The same for a claim's `PutItem`: the retry finds the item the first attempt wrote, with this
    /// claim's own token — claimed (`true`), not "another run's" (which left the roll-up unposted by
    /// anyone). An item with another token is another caller's claim (`false`).
    #[tokio::test]
    async fn a_claim_whose_answer_was_lost_is_its_own() {
        use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemInput};
        use aws_smithy_mocks::MockResponse;
        let own = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_response(|req: &PutItemInput| {
            MockResponse::Error(PutItemError::ConditionalCheckFailedException(check_failed(
                req.item().unwrap().clone(),
            )))
        });
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&own]), "ledger");
        assert!(ledger.claim("p", "2026-12-02", "pending", DAY).await.unwrap());
        let theirs = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_response(|req: &PutItemInput| {
            let mut item = req.item().unwrap().clone();
            item.insert("claim_token".into(), AttributeValue::S("another-run".into()));
            MockResponse::Error(PutItemError::ConditionalCheckFailedException(check_failed(item)))
        });
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&theirs]), "ledger");
        assert!(!ledger.claim("p", "2026-12-02", "pending", DAY).await.unwrap());
        // A claim an earlier version wrote (no token) is another caller's.
        let old = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_response(|req: &PutItemInput| {
            let mut item = req.item().unwrap().clone();
            item.remove("claim_token");
            MockResponse::Error(PutItemError::ConditionalCheckFailedException(check_failed(item)))
        });
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&old]), "ledger");
        assert!(!ledger.claim("p", "2026-12-02", "pending", DAY).await.unwrap());
    }

    /// The writes after a send are the lease holder's only: conditional on the item's `lease_until`
    /// and `lease_taken_at` being the holder's. A failed condition whose item holds another detail is
    /// a lease taken over (`false`, nothing written); one whose item holds this write's own detail is
    /// this write sent again after a lost answer (`true`).
    #[tokio::test]
    async fn a_write_after_a_send_is_the_lease_holders_only() {
        use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemInput, UpdateItemOutput};
        use aws_smithy_mocks::MockResponse;
        let taken_at: chrono::DateTime<chrono::Utc> = "2025-12-05T12:00:00.250Z".parse().unwrap();
        let holder = LeaseHolder {
            until: taken_at + chrono::Duration::seconds(210),
            taken_at,
        };
        let conditioned = mock!(aws_sdk_dynamodb::Client::update_item)
            .match_requests(move |r: &UpdateItemInput| {
                let v = r.expression_attribute_values().unwrap();
                r.condition_expression() == Some("lease_until = :until AND lease_taken_at = :taken_at")
                    && v[":until"].as_n().is_ok_and(|n| is_instant(n, holder.until))
                    && v[":taken_at"]
                        .as_n()
                        .is_ok_and(|n| is_instant(n, holder.taken_at))
                    && r.update_expression()
                        .is_some_and(|u| u.ends_with("lease_until, lease_taken_at"))
            })
            .then_output(|| UpdateItemOutput::builder().build());
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&conditioned]), "ledger");
        assert!(
            ledger
                .update_leased("p", "page", holder, "sent", None)
                .await
                .unwrap()
        );
        assert_eq!(conditioned.num_calls(), 1);
        let found = |detail: &'static str| {
            mock!(aws_sdk_dynamodb::Client::update_item).then_compute_response(move |_: &UpdateItemInput| {
                MockResponse::Error(UpdateItemError::ConditionalCheckFailedException(check_failed(
                    std::collections::HashMap::from([(
                        "detail".to_owned(),
                        AttributeValue::S(detail.into()),
                    )]),
                )))
            })
        };
        let theirs = found("sent by the run that took over");
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&theirs]), "ledger");
        assert!(
            !ledger
                .update_leased("p", "page", holder, "pending again", None)
                .await
                .unwrap()
        );
        let own = found("sent");
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&own]), "ledger");
        assert!(
            ledger
                .update_leased("p", "page", holder, "sent", None)
                .await
                .unwrap()
        );
    }

    /// Every record transaction goes out with a `ClientRequestToken`, set once before the SDK's
    /// attempts: DynamoDB answers a retried transaction whose first answer was lost as it answered
    /// the first (written), instead of cancelling it for keys the first attempt took.
    #[tokio::test]
    async fn every_record_transaction_carries_an_idempotency_token() {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
        let tokened = mock!(aws_sdk_dynamodb::Client::transact_write_items)
            .match_requests(|r| r.client_request_token().is_some_and(|t| !t.is_empty()))
            .then_output(|| TransactWriteItemsOutput::builder().build());
        let ledger = Ledger::new(mock_client!(aws_sdk_dynamodb, [&tokened]), "ledger");
        let item = NewItem {
            pk: "p",
            sk: "a",
            detail: "{}",
            keep: None,
        };
        assert!(ledger.record_all(&[item]).await.unwrap());
        assert_eq!(tokened.num_calls(), 1);
    }

    #[test]
    fn lease_times_keep_every_nanosecond_and_read_back_normalised() {
        let t: chrono::DateTime<chrono::Utc> = "2025-12-05T12:00:00.5Z".parse().unwrap();
        assert_eq!(epoch_nanos(t), "1764936000.500000000");
        assert!(is_instant("1764936000.5", t));
        assert!(is_instant("1764936000.500000000", t));
        assert!(!is_instant("1764936000.500000001", t));
        assert!(!is_instant("1764936000", t));
        let whole: chrono::DateTime<chrono::Utc> = "2025-12-05T12:00:00Z".parse().unwrap();
        assert!(is_instant("1764936000", whole));
        assert_ne!(claim_token(SystemTime::now()), claim_token(SystemTime::now()));
    }

    /// A `Query` whose every page hands back the same `LastEvaluatedKey` (a faulty endpoint or proxy):
    /// the read stops with an error naming it instead of looping forever.
    #[tokio::test]
    async fn a_query_that_keeps_answering_the_same_last_key_stops() {
        let rule = mock!(aws_sdk_dynamodb::Client::query).then_output(|| {
            aws_sdk_dynamodb::operation::query::QueryOutput::builder()
                .items(std::collections::HashMap::from([
                    ("pk".to_owned(), AttributeValue::S("p".into())),
                    ("sk".to_owned(), AttributeValue::S("s".into())),
                    ("detail".to_owned(), AttributeValue::S("sent".into())),
                ]))
                .last_evaluated_key("pk", AttributeValue::S("p".into()))
                .last_evaluated_key("sk", AttributeValue::S("s".into()))
                .build()
        });
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
        let ledger = Ledger::new(client, "ledger");
        let err = ledger.claims("p").await.unwrap_err();
        assert!(matches!(err.cause, super::super::LedgerCause::Paging(_)), "{err}");
        assert!(err.to_string().contains("already followed"), "{err}");
        assert_eq!(
            rule.num_calls(),
            2,
            "the second page repeats the first page's key"
        );
    }
}
