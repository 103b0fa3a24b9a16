//! The cards table (single-table design, see [`crate::model`]) behind the real DynamoDB client.
//!
//! Every write is conditional so nothing is half-written: a create never overwrites, a delete removes
//! the card and its price history in one transaction, a valuation updates the card and appends its
//! price item in one transaction, and only once per `valuationId`.
//!
//! An uploaded image belongs to one card: the create writes an `IMAGE#{s3 key}` claim beside the card
//! (same partition, in the same transaction, only if no claim exists) and the delete removes it with
//! the card. Two cards can then never share an image, so deleting one never deletes the other's.

use crate::HandlerError;
use crate::cursor::Cursor;
use crate::error::sdk_error;
use crate::identity::Caller;
use crate::model::{Card, CardStatus, PriceRange, iso};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Pages one unbounded `Query` loop may read (a user's price history, a sweep's shard).
pub const MAX_QUERY_PAGES: usize = 200;

/// The bounds of a `Query` loop: at most [`MAX_QUERY_PAGES`] pages, and a `LastEvaluatedKey` seen
/// before is an error, not a loop (a faulty endpoint or proxy that keeps answering the same key).
struct PageBound {
    pages: usize,
    seen: std::collections::HashSet<String>,
}

impl PageBound {
    fn new() -> Self {
        Self {
            pages: 0,
            seen: std::collections::HashSet::new(),
        }
    }

    /// The key to start the next page from, `None` after the last page.
    fn next(&mut self, operation: &str, last: Option<&Item>) -> Result<Option<Item>, HandlerError> {
        self.pages += 1;
        let Some(key) = last else { return Ok(None) };
        let mut parts: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        parts.sort();
        if !self.seen.insert(parts.join("\u{1f}")) {
            return Err(HandlerError::Internal(format!(
                "{operation}: page {} returned a LastEvaluatedKey already followed; stopped instead of looping",
                self.pages
            )));
        }
        if self.pages >= MAX_QUERY_PAGES {
            return Err(HandlerError::Internal(format!(
                "{operation}: more than {MAX_QUERY_PAGES} pages; stopped"
            )));
        }
        Ok(Some(key.clone()))
    }
}

/// GSI1: a user's cards by creation time.
pub const GSI1: &str = "GSI1";
/// GSI2 (seed 001 "DynamoDB Module"): cards by `set#rarity` and median value, for analytics. Sparse:
/// only a card with a set, a rarity and a valuation carries both keys ([`SET_RARITY`], `valueMedian`).
pub const GSI2: &str = "GSI2";
/// GSI2's partition key attribute: `<setName>#<rarity>`.
pub const SET_RARITY: &str = "setRarity";
/// GSI3: the cards being valued, by shard and last change (the stuck-valuation sweep). Sparse: only
/// a `VALUING` card carries its partition key ([`VALUING_SHARD`]), so the index holds the valuations
/// in flight, not every card; sharded: a burst of valuations spreads over [`VALUING_SHARDS`] keys
/// instead of one (a single `status` key took every card's writes, and its `updatedAt` sort key only
/// grows, so DynamoDB could not split it).
pub const GSI3: &str = "GSI3";
/// GSI3's partition key attribute: `VALUING#<n>` while the card is `VALUING`, absent otherwise.
pub const VALUING_SHARD: &str = "valuingShard";
/// The status a card had when [`CardStore::begin_valuation`] put it into `VALUING` (what a
/// valuation that cannot be started puts back, [`CardStore::revert_valuation`]), kept on the card so a
/// retried `begin_valuation` that finds its own write still knows it.
pub const VALUING_FROM_STATUS: &str = "valuingFromStatus";
/// The `updatedAt` a card had when [`CardStore::begin_valuation`] put it into `VALUING` (see
/// [`VALUING_FROM_STATUS`]).
pub const VALUING_FROM_AT: &str = "valuingFromAt";
/// A token fresh for each `VALUING → FAILED` write: a retried write that finds it knows the card is
/// `FAILED` by its own hand.
pub const FAIL_WRITE_ID: &str = "failWriteId";
/// How many partitions GSI3 spreads the valuations in flight over.
pub const VALUING_SHARDS: u32 = 8;

/// The GSI3 partition of a `VALUING` card: `VALUING#0` … `VALUING#7`, from its id (FNV-1a), so the
/// same card always lands in the same one.
#[must_use]
pub fn valuing_shard(card_id: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in card_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("VALUING#{}", h % VALUING_SHARDS)
}
/// Most price items deleted with the card in one transaction (DynamoDB allows 100 actions: the card,
/// its two image claims and 97 prices).
pub const MAX_PRICES_PER_DELETE: usize = 97;
/// Most pages (1 MB each, some thousands of cards) of a user's cards read looking for the cards on an
/// image ([`CardStore::cards_on_images`]); past it the answer is "not known", and the image is kept.
pub const MAX_CARD_PAGES: usize = 16;

/// Which of a user's cards show some images ([`CardStore::cards_on_images`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageUsers {
    /// Image key → a card (not the one asked about) whose front or back it is.
    pub cards: HashMap<String, String>,
    /// `false` when the user's cards were not all read (more than [`MAX_CARD_PAGES`] pages): an image
    /// with no card here may still be shown by one.
    pub complete: bool,
}

/// The cards table.
#[derive(Debug, Clone)]
pub struct CardStore {
    client: Client,
    table: String,
}

/// A valuation to apply to a card.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuationUpdate {
    /// Idempotency key.
    pub valuation_id: String,
    /// `VALUED` or `FLAGGED`.
    pub status: CardStatus,
    /// The price range, if any source had quotes.
    pub range: Option<PriceRange>,
    /// Pricing confidence.
    pub pricing_confidence: f64,
    /// Authenticity score.
    pub authenticity_score: f64,
    /// When.
    pub valued_at: DateTime<Utc>,
    /// The GSI2 partition key (`<setName>#<rarity>`) this valuation files the card under, given only
    /// when the photo confirms the registered card ([`crate::aggregator::analytics_key`]): written when
    /// the card is `VALUED`. `None` removes it — the card is valued for its owner but stays out of the
    /// cross-user analytics (the card was created with the key its owner typed). A `FLAGGED` card loses
    /// it whatever this says.
    pub set_rarity: Option<String>,
}

/// A card left `VALUING` (found on GSI3 by [`CardStore::stuck_valuations`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckCard {
    /// The owner's `sub`.
    pub user_id: String,
    /// The card.
    pub card_id: String,
    /// When it went to `VALUING` (its `updatedAt`).
    pub since: DateTime<Utc>,
}

/// What [`CardStore::apply_valuation`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written now.
    Written,
    /// This valuation id was already applied (a retried task): nothing written.
    AlreadyApplied,
    /// A newer valuation of the card was started after this one (an Express workflow run twice, or a
    /// revalue after a start that timed out but ran): nothing written, the newer one decides.
    Superseded,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn card_sk(card_id: &str) -> String {
    format!("CARD#{card_id}")
}

/// The sort key of an image's claim: which card an uploaded image belongs to.
pub(crate) fn image_sk(s3_key: &str) -> String {
    format!("IMAGE#{s3_key}")
}

fn image_key(caller: &Caller, s3_key: &str) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(caller.pk())),
        ("SK".to_owned(), s(image_sk(s3_key))),
    ])
}

/// On an image's claim: `true` when the claim was written with its card by [`CardStore::create`], which
/// `cards_create` calls only once the image is tagged `confirmed`. A repeated create then has nothing
/// to tag again. Claims written otherwise (given to a card stored before claims, passed on by a
/// delete) do not carry it.
pub const UPLOAD_CONFIRMED: &str = "uploadConfirmed";

/// The claim of an uploaded image by a card.
fn claim_item(caller: &Caller, s3_key: &str, card_id: &str) -> Item {
    let mut claim = image_key(caller, s3_key);
    claim.insert("entityType".to_owned(), s("IMAGE"));
    claim.insert("cardId".to_owned(), s(card_id));
    claim
}

/// What [`CardStore::create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The card and its image claims were written.
    Written,
    /// An image is already another card's: nothing was written.
    ImageTaken {
        /// The request field naming the image (`frontS3Key` or `backS3Key`).
        field: &'static str,
        /// The card that holds it (`None` if it was deleted in between).
        card_id: Option<String>,
    },
}

/// The key of a user's card.
fn key(caller: &Caller, card_id: &str) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(caller.pk())),
        ("SK".to_owned(), s(card_sk(card_id))),
    ])
}

/// A card as a DynamoDB item (with the GSI attributes).
#[must_use]
pub fn card_item(caller: &Caller, card: &Card) -> Item {
    let mut item = key(caller, &card.card_id);
    let mut put = |k: &str, v: AttributeValue| {
        item.insert(k.to_owned(), v);
    };
    put("entityType", s("CARD"));
    put("userId", s(&caller.sub));
    put("cardId", s(&card.card_id));
    put("name", s(&card.name));
    put("frontS3Key", s(&card.front_s3_key));
    put("status", s(card.status.as_str()));
    if card.status == CardStatus::Valuing {
        put(VALUING_SHARD, s(valuing_shard(&card.card_id)));
    }
    put("createdAt", s(iso(card.created_at)));
    put("updatedAt", s(iso(card.updated_at)));
    if let Some(v) = &card.set_name {
        put("setName", s(v));
    }
    if let Some(v) = &card.number {
        put("number", s(v));
    }
    if let Some(v) = card.year {
        put("year", n(v));
    }
    if let Some(v) = &card.grade {
        put("grade", s(v));
    }
    if let Some(v) = &card.rarity {
        put("rarity", s(v));
    }
    // A FLAGGED card stays out of GSI2 (cross-user analytics): see `apply_valuation`.
    if card.status != CardStatus::Flagged
        && let Some(key) = crate::model::set_rarity(card.set_name.as_deref(), card.rarity.as_deref())
    {
        put(SET_RARITY, s(key));
    }
    if let Some(v) = &card.back_s3_key {
        put("backS3Key", s(v));
    }
    if let Some(r) = &card.value {
        put("valueLow", n(r.low));
        put("valueMedian", n(r.median));
        put("valueHigh", n(r.high));
        put("currency", s(&r.currency));
    }
    if let Some(v) = card.pricing_confidence {
        put("pricingConfidence", n(v));
    }
    if let Some(v) = card.authenticity_score {
        put("authenticityScore", n(v));
    }
    if let Some(v) = card.valued_at {
        put("valuedAt", s(iso(v)));
    }
    if let Some(v) = &card.last_valuation_id {
        put("lastValuationId", s(v));
    }
    item
}

fn corrupt(what: &str) -> HandlerError {
    HandlerError::Internal(format!("stored card is malformed: {what}"))
}

fn get_s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_n<T: FromStr>(item: &Item, k: &str) -> Result<Option<T>, HandlerError> {
    match item.get(k).map(AttributeValue::as_n) {
        None => Ok(None),
        Some(Ok(text)) => text.parse().map(Some).map_err(|_| corrupt(k)),
        Some(Err(_)) => Err(corrupt(k)),
    }
}

fn get_time(item: &Item, k: &str) -> Result<Option<DateTime<Utc>>, HandlerError> {
    get_s(item, k)
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| corrupt(k))
        })
        .transpose()
}

/// Reads a card item back.
///
/// # Errors
/// [`HandlerError::Internal`] naming the malformed attribute.
pub fn card_from_item(item: &Item) -> Result<Card, HandlerError> {
    let req = |k: &str| get_s(item, k).map(str::to_owned).ok_or_else(|| corrupt(k));
    let value = match (
        get_n::<Decimal>(item, "valueLow")?,
        get_n::<Decimal>(item, "valueMedian")?,
        get_n::<Decimal>(item, "valueHigh")?,
    ) {
        (Some(low), Some(median), Some(high)) => Some(PriceRange {
            low,
            median,
            high,
            currency: req("currency")?,
        }),
        _ => None,
    };
    Ok(Card {
        card_id: req("cardId")?,
        name: req("name")?,
        set_name: get_s(item, "setName").map(str::to_owned),
        number: get_s(item, "number").map(str::to_owned),
        year: get_n(item, "year")?,
        grade: get_s(item, "grade").map(str::to_owned),
        rarity: get_s(item, "rarity").map(str::to_owned),
        front_s3_key: req("frontS3Key")?,
        back_s3_key: get_s(item, "backS3Key").map(str::to_owned),
        status: CardStatus::parse(&req("status")?).ok_or_else(|| corrupt("status"))?,
        created_at: get_time(item, "createdAt")?.ok_or_else(|| corrupt("createdAt"))?,
        updated_at: get_time(item, "updatedAt")?.ok_or_else(|| corrupt("updatedAt"))?,
        value,
        pricing_confidence: get_n(item, "pricingConfidence")?,
        authenticity_score: get_n(item, "authenticityScore")?,
        valued_at: get_time(item, "valuedAt")?,
        last_valuation_id: get_s(item, "lastValuationId").map(str::to_owned),
    })
}

fn is_condition_failure<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> bool {
    e.as_service_error()
        .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

impl CardStore {
    /// A store over `table`.
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Writes a new card and claims its images, in one transaction: the card only if its id is new, each
    /// image only if no card holds it yet. Call it once the images are tagged `confirmed`: each claim
    /// records that ([`UPLOAD_CONFIRMED`]).
    ///
    /// # Errors
    /// [`HandlerError::Conflict`] when the card id exists; SDK errors classified.
    pub async fn create(&self, caller: &Caller, card: &Card) -> Result<Created, HandlerError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| HandlerError::Internal(e.to_string());
        let images: Vec<(&'static str, &str)> = std::iter::once(("frontS3Key", card.front_s3_key.as_str()))
            .chain(card.back_s3_key.as_deref().map(|k| ("backS3Key", k)))
            .collect();
        let mut items = vec![
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(card_item(caller, card)))
                        .condition_expression("attribute_not_exists(PK)")
                        .build()
                        .map_err(build)?,
                )
                .build(),
        ];
        for (_, s3_key) in &images {
            let mut claim = claim_item(caller, s3_key, &card.card_id);
            claim.insert(UPLOAD_CONFIRMED.to_owned(), AttributeValue::Bool(true));
            items.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(claim))
                            .condition_expression("attribute_not_exists(PK)")
                            .build()
                            .map_err(build)?,
                    )
                    .build(),
            );
        }
        let r = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(e) = r else {
            return Ok(Created::Written);
        };
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let failed: Vec<bool> = match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(t)) => t
                .cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect(),
            _ => return Err(sdk_error("TransactWriteItems", e)),
        };
        if let Some(busy) = cancelled_by_contention(&e) {
            return Err(busy);
        }
        if failed.first().copied().unwrap_or(false) {
            return Err(HandlerError::Conflict("card id already exists".into()));
        }
        // Which image is taken: the reasons say when the emulator or AWS gives them per item; read the
        // claims otherwise.
        for (i, (field, s3_key)) in images.iter().enumerate() {
            let reported = failed.get(i + 1).copied();
            if reported == Some(false) {
                continue;
            }
            if let Some(card_id) = self.image_owner(caller, s3_key).await? {
                return Ok(Created::ImageTaken {
                    field,
                    card_id: Some(card_id),
                });
            }
            if reported == Some(true) {
                return Ok(Created::ImageTaken { field, card_id: None });
            }
        }
        Err(sdk_error("TransactWriteItems", e))
    }

    /// The card holding an uploaded image, if any (strongly consistent).
    ///
    /// # Errors
    /// SDK errors classified.
    pub async fn image_owner(&self, caller: &Caller, s3_key: &str) -> Result<Option<String>, HandlerError> {
        Ok(self
            .read(image_key(caller, s3_key))
            .await?
            .and_then(|i| get_s(&i, "cardId").map(str::to_owned)))
    }

    /// Whether `card_id`'s claim on `s3_key` records that the image was confirmed before the card was
    /// written ([`UPLOAD_CONFIRMED`]; strongly consistent). `false` for a claim that does not say so, is
    /// another card's, or is missing.
    ///
    /// # Errors
    /// SDK errors classified.
    pub async fn claim_confirmed(
        &self,
        caller: &Caller,
        s3_key: &str,
        card_id: &str,
    ) -> Result<bool, HandlerError> {
        Ok(self.read(image_key(caller, s3_key)).await?.is_some_and(|claim| {
            get_s(&claim, "cardId") == Some(card_id)
                && claim.get(UPLOAD_CONFIRMED) == Some(&AttributeValue::Bool(true))
        }))
    }

    /// Writes `card_id`'s claim on `s3_key` unless some card already claims it (a card stored before
    /// claims, found by [`Self::cards_on_images`], gets the claim it would have made): `true` when
    /// written, `false` when a claim was there.
    ///
    /// # Errors
    /// SDK errors classified.
    pub async fn adopt_claim(
        &self,
        caller: &Caller,
        s3_key: &str,
        card_id: &str,
    ) -> Result<bool, HandlerError> {
        let r = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(claim_item(caller, s3_key, card_id)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    /// The caller's cards (but `except`), whose front or back is one of `s3_keys` (strongly
    /// consistent): image key → card id.
    ///
    /// Claims came in after cards: a card stored before them holds no claim, so a newer card may have
    /// claimed the same image, and deleting either must not delete the image the other still shows.
    /// This reads the caller's cards (one partition; at most [`MAX_CARD_PAGES`] pages): on a create
    /// whose images nobody claims, a delete, or a create that failed — never on a read.
    ///
    /// # Errors
    /// SDK errors classified.
    pub async fn cards_on_images(
        &self,
        caller: &Caller,
        s3_keys: &[&str],
        except: Option<&str>,
    ) -> Result<ImageUsers, HandlerError> {
        let mut users = ImageUsers {
            cards: HashMap::new(),
            complete: true,
        };
        if s3_keys.is_empty() {
            return Ok(users);
        }
        let names: Vec<String> = (0..s3_keys.len()).map(|i| format!(":k{i}")).collect();
        let list = names.join(", ");
        let mut start = None;
        for _ in 0..MAX_CARD_PAGES {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :card)")
                .filter_expression(format!(
                    "{}(frontS3Key IN ({list}) OR backS3Key IN ({list}))",
                    if except.is_some() {
                        "cardId <> :me AND "
                    } else {
                        ""
                    }
                ))
                .expression_attribute_values(":pk", s(caller.pk()))
                .expression_attribute_values(":card", s("CARD#"))
                .projection_expression("cardId, frontS3Key, backS3Key")
                .consistent_read(true)
                .set_exclusive_start_key(start);
            if let Some(me) = except {
                query = query.expression_attribute_values(":me", s(me));
            }
            for (name, key) in names.iter().zip(s3_keys) {
                query = query.expression_attribute_values(name, s(*key));
            }
            let out = query.send().await.map_err(|e| sdk_error("Query", e))?;
            for item in out.items() {
                let Some(card_id) = get_s(item, "cardId") else {
                    continue;
                };
                for side in ["frontS3Key", "backS3Key"] {
                    if let Some(key) = get_s(item, side).filter(|k| s3_keys.contains(k)) {
                        users
                            .cards
                            .entry(key.to_owned())
                            .or_insert_with(|| card_id.to_owned());
                    }
                }
            }
            match out.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(users),
            }
        }
        users.complete = false;
        Ok(users)
    }

    /// One item, strongly consistent (the reads that decide a write must see the last one).
    async fn read(&self, key: Item) -> Result<Option<Item>, HandlerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }

    /// The caller's card, if it exists (strongly consistent).
    ///
    /// # Errors
    /// SDK errors classified; malformed items as `Internal`.
    pub async fn get(&self, caller: &Caller, card_id: &str) -> Result<Option<Card>, HandlerError> {
        self.read(key(caller, card_id))
            .await?
            .as_ref()
            .map(card_from_item)
            .transpose()
    }

    /// One page of the caller's cards, newest first, and the cursor of the next page.
    ///
    /// # Errors
    /// SDK errors classified; malformed items as `Internal`.
    pub async fn list(
        &self,
        caller: &Caller,
        limit: i32,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Card>, Option<Cursor>), HandlerError> {
        if limit < 1 {
            return Err(HandlerError::validation("limit", "must be at least 1"));
        }
        let start = after.map(|c| {
            HashMap::from([
                ("PK".to_owned(), s(&c.pk)),
                ("SK".to_owned(), s(&c.sk)),
                ("userId".to_owned(), s(&c.user_id)),
                ("createdAt".to_owned(), s(&c.created_at)),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("userId = :u")
            .expression_attribute_values(":u", s(&caller.sub))
            .scan_index_forward(false)
            // One more than the page: a page that ends the list exactly names no next page (DynamoDB
            // returns a LastEvaluatedKey whenever it stops at its Limit, more items or not).
            .limit(limit.saturating_add(1))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        let cursor_at = |k: &Item| {
            Some(Cursor {
                pk: get_s(k, "PK")?.to_owned(),
                sk: get_s(k, "SK")?.to_owned(),
                user_id: get_s(k, "userId")?.to_owned(),
                created_at: get_s(k, "createdAt")?.to_owned(),
            })
        };
        let items = out.items();
        let page = usize::try_from(limit).unwrap_or(usize::MAX);
        let (items, next) = if items.len() > page {
            // More follow: the next page starts after this page's last card (its keys are the
            // index's and the table's, as a LastEvaluatedKey's would be).
            (
                &items[..page],
                page.checked_sub(1).and_then(|i| cursor_at(&items[i])),
            )
        } else {
            // The whole rest, unless DynamoDB stopped early (its 1 MB page): then more may follow.
            (items, out.last_evaluated_key().and_then(cursor_at))
        };
        let cards = items.iter().map(card_from_item).collect::<Result<Vec<_>, _>>()?;
        Ok((cards, next))
    }

    /// The keys of the card's price items (`PRICE#…` with this `cardId`).
    async fn price_keys(&self, caller: &Caller, card_id: &str) -> Result<Vec<Item>, HandlerError> {
        let mut keys = Vec::new();
        let mut start = None;
        let mut bound = PageBound::new();
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :price)")
                .filter_expression("cardId = :card")
                .expression_attribute_values(":pk", s(caller.pk()))
                .expression_attribute_values(":price", s("PRICE#"))
                .expression_attribute_values(":card", s(card_id))
                .projection_expression("PK, SK")
                // A price written just before the delete must not be missed and orphaned.
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            keys.extend(out.items().iter().cloned());
            match bound.next("Query (price history)", out.last_evaluated_key())? {
                Some(k) => start = Some(k),
                None => return Ok(keys),
            }
        }
    }

    /// Deletes the card, the claims of its `images` and its price history; returns how many price items
    /// went with it. Each `(image, card)` of `handovers` is an image of this card another card still
    /// shows: its claim passes to that card (only if this card held it, or nobody did).
    ///
    /// The card and up to [`MAX_PRICES_PER_DELETE`] price items go in one transaction (the card only if
    /// it exists); older price items beyond that are removed afterwards, and are invisible once the card
    /// is gone.
    ///
    /// # Errors
    /// [`HandlerError::NotFound`] when the caller has no such card; SDK errors classified.
    pub async fn delete(
        &self,
        caller: &Caller,
        card_id: &str,
        images: &[&str],
        handovers: &[(&str, &str)],
    ) -> Result<usize, HandlerError> {
        let prices = self.price_keys(caller, card_id).await?;
        let (first, rest) = prices.split_at(prices.len().min(MAX_PRICES_PER_DELETE));
        let mut items = vec![
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(caller, card_id)))
                        .condition_expression("attribute_exists(PK)")
                        .build()
                        .map_err(|e| HandlerError::Internal(e.to_string()))?,
                )
                .build(),
        ];
        // The image claims go with the card (only this card's: a claim another card made stays).
        let mut claims: Vec<&str> = images.to_vec();
        claims.dedup();
        for s3_key in claims.iter().take(2) {
            items.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(image_key(caller, s3_key)))
                            .condition_expression("attribute_not_exists(PK) OR cardId = :card")
                            .expression_attribute_values(":card", s(card_id))
                            .build()
                            .map_err(|e| HandlerError::Internal(e.to_string()))?,
                    )
                    .build(),
            );
        }
        // An image another card still shows (a card stored before claims) passes to that card: its
        // claim now names it, so the image is kept until that card is deleted too.
        for (s3_key, heir) in handovers.iter().take(2) {
            let claim = claim_item(caller, s3_key, heir);
            items.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(claim))
                            .condition_expression("attribute_not_exists(PK) OR cardId = :card")
                            .expression_attribute_values(":card", s(card_id))
                            .build()
                            .map_err(|e| HandlerError::Internal(e.to_string()))?,
                    )
                    .build(),
            );
        }
        for k in first {
            items.push(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(k.clone()))
                            .build()
                            .map_err(|e| HandlerError::Internal(e.to_string()))?,
                    )
                    .build(),
            );
        }
        let r = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        if let Err(e) = r {
            return Err(transaction_error(e, "card"));
        }
        for k in rest {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(k.clone()))
                .send()
                .await
                .map_err(|e| sdk_error("DeleteItem", e))?;
        }
        Ok(prices.len())
    }

    /// The card's `lastValuationId` and `currentValuationId` (strongly consistent), or `None` when the
    /// card does not exist.
    async fn valuation_ids(
        &self,
        caller: &Caller,
        card_id: &str,
    ) -> Result<Option<(Option<String>, Option<String>)>, HandlerError> {
        let text = |item: &Item, k: &str| get_s(item, k).map(str::to_owned);
        Ok(self
            .read(key(caller, card_id))
            .await?
            .map(|i| (text(&i, "lastValuationId"), text(&i, "currentValuationId"))))
    }

    /// Marks the card `VALUING` for `valuation_id` (its `currentValuationId`) unless a valuation
    /// already runs; returns the card as it was. Only that valuation may later write its result, fail
    /// the card or put it back ([`Self::apply_valuation`], [`Self::mark_failed`],
    /// [`Self::revert_valuation`]).
    ///
    /// `UpdateItem` takes no idempotency token, so when this write commits but its answer is lost (a
    /// 5xx, a dropped connection) the SDK's retry finds the card `VALUING` and fails the condition.
    /// `valuation_id` is fresh for each request, so a failed condition whose old item
    /// (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) is `VALUING` for `valuation_id` is this very
    /// write: the card as it was is rebuilt from the status and `updatedAt` the write kept beside it
    /// ([`VALUING_FROM_STATUS`], [`VALUING_FROM_AT`]), instead of a 409 for a valuation nobody started.
    ///
    /// # Errors
    /// [`HandlerError::NotFound`], [`HandlerError::Conflict`] when already valuing; SDK errors.
    pub async fn begin_valuation(
        &self,
        caller: &Caller,
        card_id: &str,
        valuation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Card, HandlerError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(caller, card_id)))
            .update_expression(
                "SET #s = :valuing, updatedAt = :now, currentValuationId = :vid, #shard = :shard, \
                 #fromStatus = #s, #fromAt = updatedAt",
            )
            .condition_expression("attribute_exists(PK) AND #s <> :valuing")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#shard", VALUING_SHARD)
            .expression_attribute_names("#fromStatus", VALUING_FROM_STATUS)
            .expression_attribute_names("#fromAt", VALUING_FROM_AT)
            .expression_attribute_values(":valuing", s(CardStatus::Valuing.as_str()))
            .expression_attribute_values(":now", s(iso(now)))
            .expression_attribute_values(":vid", s(valuation_id))
            .expression_attribute_values(":shard", s(valuing_shard(card_id)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match r {
            Ok(out) => out
                .attributes()
                .ok_or_else(|| corrupt("no old image"))
                .and_then(card_from_item),
            Err(e) if is_condition_failure(&e) => {
                // No old item: the card does not exist — or an endpoint that ignores
                // ReturnValuesOnConditionCheckFailure (an emulator) did not send it, so read it.
                let old = match old_item(&e) {
                    Some(old) => Some(old.clone()),
                    None => self.read(key(caller, card_id)).await?,
                };
                match old {
                    None => Err(HandlerError::NotFound("card".into())),
                    Some(old)
                        if get_s(&old, "status") == Some(CardStatus::Valuing.as_str())
                            && get_s(&old, "currentValuationId") == Some(valuation_id) =>
                    {
                        tracing::info!(
                            card_id,
                            valuation_id,
                            "the card is VALUING by this request's own write (a retry after a lost answer)"
                        );
                        card_before_valuing(&old)
                    }
                    Some(old) => {
                        if !old.contains_key(VALUING_SHARD) {
                            self.enroll_in_sweep(caller, card_id).await?;
                        }
                        Err(HandlerError::Conflict("a valuation is already running".into()))
                    }
                }
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Gives a `VALUING` card that has no GSI3 key (one that went `VALUING` before the index was
    /// sharded) its shard, so the stuck-valuation sweep sees it: a user retrying a card stuck since
    /// then gets it failed by the next sweep, and can value it again. Nothing for any other card.
    async fn enroll_in_sweep(&self, caller: &Caller, card_id: &str) -> Result<(), HandlerError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(caller, card_id)))
            .update_expression("SET #shard = :shard")
            .condition_expression("#s = :valuing AND attribute_not_exists(#shard)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#shard", VALUING_SHARD)
            .expression_attribute_values(":valuing", s(CardStatus::Valuing.as_str()))
            .expression_attribute_values(":shard", s(valuing_shard(card_id)))
            .send()
            .await;
        match r {
            Ok(_) => {
                tracing::info!(
                    card_id,
                    "a card VALUING from before the sharded index now has its shard"
                );
                Ok(())
            }
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Puts the status back after valuation `valuation_id` could not be started (only if the card is
    /// still `VALUING` for it).
    ///
    /// # Errors
    /// SDK errors classified (a lost race is not an error).
    pub async fn revert_valuation(
        &self,
        caller: &Caller,
        previous: &Card,
        valuation_id: &str,
    ) -> Result<(), HandlerError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(caller, &previous.card_id)))
            .update_expression("SET #s = :prev, updatedAt = :at REMOVE #shard")
            .condition_expression("#s = :valuing AND currentValuationId = :vid")
            .expression_attribute_values(":vid", s(valuation_id))
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#shard", VALUING_SHARD)
            .expression_attribute_values(":prev", s(previous.status.as_str()))
            .expression_attribute_values(":at", s(iso(previous.updated_at)))
            .expression_attribute_values(":valuing", s(CardStatus::Valuing.as_str()))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Applies a valuation: card attributes and a `PRICE#` item in one transaction, once per id.
    ///
    /// # Errors
    /// [`HandlerError::NotFound`] when the card was deleted meanwhile; SDK errors classified.
    pub async fn apply_valuation(
        &self,
        caller: &Caller,
        card_id: &str,
        v: &ValuationUpdate,
    ) -> Result<Applied, HandlerError> {
        let mut names = HashMap::from([
            ("#s".to_owned(), "status".to_owned()),
            ("#shard".to_owned(), VALUING_SHARD.to_owned()),
        ]);
        let mut values = HashMap::from([
            (":st".to_owned(), s(v.status.as_str())),
            (":at".to_owned(), s(iso(v.valued_at))),
            (":vid".to_owned(), s(&v.valuation_id)),
            (":pc".to_owned(), n(v.pricing_confidence)),
            (":as".to_owned(), n(v.authenticity_score)),
        ]);
        let mut set = vec![
            "#s = :st",
            "updatedAt = :at",
            "valuedAt = :at",
            "lastValuationId = :vid",
            "pricingConfidence = :pc",
            "authenticityScore = :as",
        ];
        let mut price = HashMap::from([
            ("PK".to_owned(), s(caller.pk())),
            (
                // Seed 001's `PRICE#{iso8601}`, with the card id after the time: the partition is the
                // user's, so two of their cards valued in the same millisecond would otherwise write
                // one item (the second overwriting the first's price). A prefix query on `PRICE#`
                // still returns the user's prices in time order.
                "SK".to_owned(),
                s(format!("PRICE#{}#{card_id}", iso(v.valued_at))),
            ),
            ("entityType".to_owned(), s("PRICE")),
            ("cardId".to_owned(), s(card_id)),
            ("valuationId".to_owned(), s(&v.valuation_id)),
            ("pricingConfidence".to_owned(), n(v.pricing_confidence)),
            ("authenticityScore".to_owned(), n(v.authenticity_score)),
            ("valuedAt".to_owned(), s(iso(v.valued_at))),
        ]);
        // Valued or flagged: out of GSI3 (it holds only the valuations in flight).
        let mut remove = vec!["#shard"];
        names.insert("#cur".to_owned(), "currency".to_owned());
        if let Some(r) = &v.range {
            values.insert(":lo".to_owned(), n(r.low));
            values.insert(":md".to_owned(), n(r.median));
            values.insert(":hi".to_owned(), n(r.high));
            values.insert(":cur".to_owned(), s(&r.currency));
            set.extend([
                "valueLow = :lo",
                "valueMedian = :md",
                "valueHigh = :hi",
                "#cur = :cur",
            ]);
            price.insert("valueLow".to_owned(), n(r.low));
            price.insert("valueMedian".to_owned(), n(r.median));
            price.insert("valueHigh".to_owned(), n(r.high));
            price.insert("currency".to_owned(), s(&r.currency));
        } else {
            // No quotes this time: the card says so, as its price item and event do, instead of
            // showing the previous price under this valuation's date and id. Without `valueMedian`
            // (GSI2's sort key) it also leaves the analytics index.
            remove.extend(["valueLow", "valueMedian", "valueHigh", "#cur"]);
        }
        names.insert("#sr".to_owned(), SET_RARITY.to_owned());
        match &v.set_rarity {
            Some(key) if v.status != CardStatus::Flagged => {
                // Into GSI2 (back, for a card flagged or unconfirmed before).
                values.insert(":sr".to_owned(), s(key));
                set.push("#sr = :sr");
            }
            // Out of GSI2: the analytics are across users, so one user's word must not move a set's
            // prices — neither a card judged a fake (or whose text tried to steer the judge) nor one
            // whose photo does not confirm the card registered. Its owner still sees the value found.
            _ => remove.push("#sr"),
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(caller, card_id)))
            .update_expression(format!("SET {} REMOVE {}", set.join(", "), remove.join(", ")))
            // Once per valuation id, and only by the card's current valuation (cards valued before
            // currentValuationId existed have none).
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(lastValuationId) OR lastValuationId <> :vid) \
                 AND (attribute_not_exists(currentValuationId) OR currentValuationId = :vid)",
            )
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| HandlerError::Internal(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(price))
            .condition_expression("attribute_not_exists(SK)")
            .build()
            .map_err(|e| HandlerError::Internal(e.to_string()))?;
        let r = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match r {
            Ok(_) => Ok(Applied::Written),
            Err(e) => match transaction_error(e, "card") {
                HandlerError::NotFound(_) => match self.valuation_ids(caller, card_id).await? {
                    Some((last, _)) if last.as_deref() == Some(v.valuation_id.as_str()) => {
                        Ok(Applied::AlreadyApplied)
                    }
                    Some((_, Some(current))) if current != v.valuation_id => Ok(Applied::Superseded),
                    Some(_) => Err(HandlerError::Conflict("price item already exists".into())),
                    None => Err(HandlerError::NotFound("card".into())),
                },
                other => Err(other),
            },
        }
    }

    /// Cards every user left `VALUING` since before `before`, oldest first, at most `limit`: a
    /// `Query` on each of GSI3's shards (`valuingShard = VALUING#n AND updatedAt < before`, each at
    /// most `limit` items, page by page), merged.
    ///
    /// # Errors
    /// SDK errors classified; index items without `userId`/`cardId`/`updatedAt` as `Internal`.
    pub async fn stuck_valuations(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StuckCard>, HandlerError> {
        let mut stuck = Vec::new();
        for shard in 0..VALUING_SHARDS {
            let mut found = 0;
            let mut start = None;
            let mut bound = PageBound::new();
            while found < limit {
                let page = i32::try_from(limit - found).unwrap_or(i32::MAX);
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(GSI3)
                    .key_condition_expression("#shard = :shard AND updatedAt < :before")
                    .expression_attribute_names("#shard", VALUING_SHARD)
                    .expression_attribute_values(":shard", s(format!("VALUING#{shard}")))
                    .expression_attribute_values(":before", s(iso(before)))
                    .projection_expression("userId, cardId, updatedAt")
                    .scan_index_forward(true)
                    .limit(page)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| sdk_error("Query", e))?;
                for item in out.items() {
                    found += 1;
                    stuck.push(StuckCard {
                        user_id: get_s(item, "userId").ok_or_else(|| corrupt("userId"))?.to_owned(),
                        card_id: get_s(item, "cardId").ok_or_else(|| corrupt("cardId"))?.to_owned(),
                        since: get_time(item, "updatedAt")?.ok_or_else(|| corrupt("updatedAt"))?,
                    });
                }
                match bound.next("Query (stuck valuations)", out.last_evaluated_key())? {
                    Some(k) => start = Some(k),
                    None => break,
                }
            }
        }
        stuck.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.card_id.cmp(&b.card_id)));
        stuck.truncate(limit);
        Ok(stuck)
    }

    /// Marks a stuck card `FAILED`, only if it is still `VALUING` since `since` (a card revalued or
    /// finished meanwhile is left alone); returns whether it did.
    ///
    /// # Errors
    /// SDK errors classified (a lost race is not an error).
    pub async fn fail_stuck(
        &self,
        caller: &Caller,
        card: &StuckCard,
        now: DateTime<Utc>,
    ) -> Result<bool, HandlerError> {
        self.fail_valuing(caller, &card.card_id, Guard::Since(card.since), now)
            .await
    }

    /// Marks the card `FAILED` if valuation `valuation_id` left it `VALUING` (a newer valuation
    /// running on the card is left alone); returns whether it did.
    ///
    /// # Errors
    /// SDK errors classified.
    pub async fn mark_failed(
        &self,
        caller: &Caller,
        card_id: &str,
        valuation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, HandlerError> {
        self.fail_valuing(caller, card_id, Guard::Valuation(valuation_id), now)
            .await
    }

    /// `VALUING` → `FAILED` if the card is still `VALUING` and the guard holds (not updated since, or
    /// still valuing for that valuation). A failed condition — the card moved on — is `Ok(false)`, not
    /// an error.
    ///
    /// The write leaves a token fresh for this call ([`FAIL_WRITE_ID`]): when it commits but its answer
    /// is lost and the SDK's retry fails the condition, an old item
    /// (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) carrying that token is this very write, so the
    /// answer is `Ok(true)` — the error handler refunds and reports the card it failed, the sweep counts
    /// it.
    async fn fail_valuing(
        &self,
        caller: &Caller,
        card_id: &str,
        guard: Guard<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, HandlerError> {
        let token = uuid::Uuid::new_v4().to_string();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(caller, card_id)))
            .update_expression("SET #s = :failed, updatedAt = :now, #failWrite = :token REMOVE #shard")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#shard", VALUING_SHARD)
            .expression_attribute_names("#failWrite", FAIL_WRITE_ID)
            .expression_attribute_values(":failed", s(CardStatus::Failed.as_str()))
            .expression_attribute_values(":valuing", s(CardStatus::Valuing.as_str()))
            .expression_attribute_values(":now", s(iso(now)))
            .expression_attribute_values(":token", s(&token))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = match guard {
            Guard::Since(since) => update
                .condition_expression("#s = :valuing AND updatedAt = :since")
                .expression_attribute_values(":since", s(iso(since))),
            Guard::Valuation(id) => update
                .condition_expression(
                    "#s = :valuing AND (attribute_not_exists(currentValuationId) OR currentValuationId = :vid)",
                )
                .expression_attribute_values(":vid", s(id)),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => {
                let ours = old_item(&e).and_then(|old| get_s(old, FAIL_WRITE_ID)) == Some(token.as_str());
                if ours {
                    tracing::info!(
                        card_id,
                        "the card is FAILED by this call's own write (a retry after a lost answer)"
                    );
                }
                Ok(ours)
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }
}

/// The item as it was when an `UpdateItem` condition failed, if the request asked for it
/// (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) and the item exists.
fn old_item(
    e: &aws_sdk_dynamodb::error::SdkError<
        UpdateItemError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Option<&Item> {
    match e.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item(),
        _ => None,
    }
}

/// The card as it was before [`CardStore::begin_valuation`] wrote `old` (its own write, seen again by a
/// retry): the status and `updatedAt` that write kept.
fn card_before_valuing(old: &Item) -> Result<Card, HandlerError> {
    let mut card = card_from_item(old)?;
    card.status = get_s(old, VALUING_FROM_STATUS)
        .and_then(CardStatus::parse)
        .ok_or_else(|| corrupt(VALUING_FROM_STATUS))?;
    card.updated_at = get_time(old, VALUING_FROM_AT)?.ok_or_else(|| corrupt(VALUING_FROM_AT))?;
    Ok(card)
}

/// A cancelled transaction whose first failed condition is a `ConditionalCheckFailed` means the
/// guarded item is not there (or not in the expected state): `NotFound(what)`.
/// A transaction DynamoDB cancelled because of other writes or capacity, not because a condition
/// failed: `TransactionConflict` (a concurrent transaction or write on one of its items),
/// `ThrottlingError`, `ProvisionedThroughputExceeded`, `RequestLimitExceeded`. Trying again later can
/// succeed, so it is [`HandlerError::Retryable`] (a Lambda error, API Gateway's 500 to a client; retried
/// by the state machine), never [`HandlerError::Internal`] or a "not found". A condition that failed as well wins: that answer does not change on retry.
/// Reasons: <https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>.
fn cancelled_by_contention<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> Option<HandlerError> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    let Some(TransactWriteItemsError::TransactionCanceledException(t)) = e.as_service_error() else {
        return None;
    };
    let codes: Vec<&str> = t.cancellation_reasons().iter().filter_map(|r| r.code()).collect();
    if codes.contains(&"ConditionalCheckFailed") {
        return None;
    }
    codes
        .iter()
        .find(|c| {
            matches!(
                **c,
                "TransactionConflict"
                    | "ThrottlingError"
                    | "ProvisionedThroughputExceeded"
                    | "RequestLimitExceeded"
            )
        })
        .map(|c| HandlerError::Retryable(format!("TransactWriteItems cancelled: {c}; try again")))
}

fn transaction_error(
    e: aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
    what: &str,
) -> HandlerError {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    if let Some(busy) = cancelled_by_contention(&e) {
        return busy;
    }
    if let Some(TransactWriteItemsError::TransactionCanceledException(t)) = e.as_service_error()
        && t.cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed"))
    {
        return HandlerError::NotFound(what.to_owned());
    }
    sdk_error("TransactWriteItems", e)
}

/// Which `VALUING` card [`CardStore::fail_valuing`] may fail.
#[derive(Debug, Clone, Copy)]
enum Guard<'a> {
    /// The sweep: one not updated since it was read.
    Since(DateTime<Utc>),
    /// The error handler: one still valuing for this valuation.
    Valuation(&'a str),
}

/// What the card read functions (`cards_get`, `cards_list`) need: the table and the user pseudonymiser
/// (`cards_create` and `cards_delete` also need the upload bucket: [`crate::uploads::CardImageDeps`]).
#[derive(Debug, Clone)]
pub struct CardsDeps {
    /// The cards table.
    pub store: CardStore,
    /// Pseudonyms for log lines.
    pub users: crate::identity::UserHasher,
}

impl CardsDeps {
    /// From `TABLE_NAME` and `USER_ID_HASH_KEY_SECRET_ID` (or `USER_ID_HASH_KEY`).
    ///
    /// # Errors
    /// A missing or invalid variable.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, crate::config::ConfigError> {
        Ok(Self {
            store: CardStore::new(
                telemetry::traced_client!(aws_sdk_dynamodb, aws),
                crate::config::required("TABLE_NAME")?,
            ),
            users: crate::config::user_hasher(aws).await?,
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_query_loop_stops_on_a_repeated_key_and_at_its_cap() {
        let key = |v: &str| Item::from([("PK".to_owned(), AttributeValue::S(v.to_owned()))]);
        let mut b = PageBound::new();
        assert_eq!(b.next("Query", Some(&key("a"))).unwrap(), Some(key("a")));
        assert_eq!(b.next("Query", Some(&key("b"))).unwrap(), Some(key("b")));
        let e = b.next("Query", Some(&key("a"))).unwrap_err().to_string();
        assert!(e.contains("already followed"), "{e}");
        assert_eq!(PageBound::new().next("Query", None).unwrap(), None);
        let mut b = PageBound::new();
        let capped = (0..MAX_QUERY_PAGES)
            .map(|i| b.next("Query", Some(&key(&i.to_string()))))
            .find_map(Result::err)
            .map(|e| e.to_string());
        assert!(capped.is_some_and(|e| e.contains("more than 200 pages")));
    }
    use super::*;
    use rust_decimal_macros::dec;

    fn card() -> Card {
        let t = DateTime::parse_from_rfc3339("2026-11-22T00:40:00.000Z")
            .unwrap()
            .with_timezone(&Utc);
        Card {
            card_id: "c-1".into(),
            name: "Charizard".into(),
            set_name: Some("Base Set".into()),
            number: Some("4/102".into()),
            year: Some(1999),
            grade: None,
            rarity: Some("Holo Rare".into()),
            front_s3_key: "uploads/u-1/f.jpg".into(),
            back_s3_key: None,
            status: CardStatus::Valued,
            created_at: t,
            updated_at: t,
            value: Some(PriceRange {
                low: dec!(310.00),
                median: dec!(355.50),
                high: dec!(420),
                currency: "USD".into(),
            }),
            pricing_confidence: Some(0.8),
            authenticity_score: Some(0.93),
            valued_at: Some(t),
            last_valuation_id: Some("v-1".into()),
        }
    }

    #[test]
    fn item_round_trips_with_keys_and_index_attributes() {
        let me = Caller::from_sub(Some("u-1")).unwrap();
        let item = card_item(&me, &card());
        assert_eq!(get_s(&item, "PK"), Some("USER#u-1"));
        assert_eq!(get_s(&item, "SK"), Some("CARD#c-1"));
        assert_eq!(get_s(&item, "userId"), Some("u-1"));
        assert_eq!(get_s(&item, "createdAt"), Some("2026-11-22T00:40:00.000Z"));
        assert_eq!(get_s(&item, "status"), Some("VALUED"));
        assert_eq!(item["valueMedian"], AttributeValue::N("355.50".into()));
        // Seed 001's GSI2 keys: `set#rarity` and the median value.
        assert_eq!(get_s(&item, SET_RARITY), Some("Base Set#Holo Rare"));
        assert_eq!(card_from_item(&item).unwrap(), card());
        // Without a rarity (or a set) the card stays out of GSI2.
        let mut plain = card();
        plain.rarity = None;
        let item = card_item(&me, &plain);
        assert!(!item.contains_key(SET_RARITY), "{item:?}");
    }

    /// Reasons from the TransactWriteItems reference: contention and capacity are worth a retry, a
    /// failed condition is an answer (and wins when both appear).
    #[test]
    fn a_transaction_lost_to_contention_is_retryable() {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        use aws_sdk_dynamodb::types::CancellationReason;
        use aws_sdk_dynamodb::types::error::TransactionCanceledException;
        let cancelled = |codes: &[&str]| {
            let reasons = codes
                .iter()
                .map(|c| CancellationReason::builder().code(*c).build())
                .collect();
            aws_sdk_dynamodb::error::SdkError::<_, ()>::service_error(
                TransactWriteItemsError::TransactionCanceledException(
                    TransactionCanceledException::builder()
                        .set_cancellation_reasons(Some(reasons))
                        .build(),
                ),
                (),
            )
        };
        for code in [
            "TransactionConflict",
            "ThrottlingError",
            "ProvisionedThroughputExceeded",
            "RequestLimitExceeded",
        ] {
            assert!(
                matches!(
                    cancelled_by_contention(&cancelled(&["None", code])),
                    Some(HandlerError::Retryable(m)) if m.contains(code)
                ),
                "{code}"
            );
        }
        assert!(
            cancelled_by_contention(&cancelled(&["ConditionalCheckFailed", "TransactionConflict"])).is_none()
        );
        assert!(cancelled_by_contention(&cancelled(&["None", "ValidationError"])).is_none());
    }

    #[test]
    fn malformed_items_name_the_attribute() {
        let me = Caller::from_sub(Some("u-1")).unwrap();
        let mut item = card_item(&me, &card());
        item.insert("year".into(), AttributeValue::N("MCMXCIX".into()));
        assert_eq!(
            card_from_item(&item).unwrap_err(),
            HandlerError::Internal("stored card is malformed: year".into())
        );
        item.remove("year");
        item.insert("status".into(), s("LOST"));
        assert!(card_from_item(&item).is_err());
    }
}

/// `list` against DynamoDB's own answers (a real client over replayed HTTP): its `Limit` and
/// `LastEvaluatedKey` semantics, which the local emulator does not reproduce exactly.
#[cfg(test)]
mod list_tests {
    use super::*;
    use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
    use aws_smithy_types::body::SdkBody;
    use serde_json::{Value, json};

    /// A store whose DynamoDB client talks to `http`.
    fn store_over(http: &StaticReplayClient) -> CardStore {
        CardStore::new(fake_aws::test_client!(aws_sdk_dynamodb, http.clone()), "t")
    }

    fn card_item(n: u32) -> Value {
        let at = format!("2026-11-22T00:{n:02}:00.000Z");
        json!({
            "PK": {"S": "USER#u-1"}, "SK": {"S": format!("CARD#c-{n}")},
            "userId": {"S": "u-1"}, "createdAt": {"S": at}, "updatedAt": {"S": at},
            "cardId": {"S": format!("c-{n}")}, "name": {"S": format!("card {n}")},
            "frontS3Key": {"S": "uploads/u/f.jpg"}, "status": {"S": "CREATED"}
        })
    }

    /// `list(limit)` answered with `items` (and `LastEvaluatedKey` = the last one's keys when
    /// `stopped`): the cards' names, the cursor's SK, and the `Limit` the query asked for.
    async fn page(limit: i32, items: u32, stopped: bool) -> (Vec<String>, Option<String>, Value) {
        let items: Vec<Value> = (0..items).map(card_item).collect();
        let mut answer = json!({"Items": items, "Count": items.len(), "ScannedCount": items.len()});
        if stopped {
            let last = &items[items.len() - 1];
            answer["LastEvaluatedKey"] = json!({"PK": last["PK"], "SK": last["SK"],
                                                "userId": last["userId"], "createdAt": last["createdAt"]});
        }
        let http = StaticReplayClient::new(vec![ReplayEvent::new(
            http::Request::builder()
                .uri("https://dynamodb.us-east-1.amazonaws.com/")
                .body(SdkBody::empty())
                .unwrap(),
            http::Response::builder()
                .status(200)
                .header("content-type", "application/x-amz-json-1.0")
                .body(SdkBody::from(answer.to_string()))
                .unwrap(),
        )]);
        let store = store_over(&http);
        let me = Caller::from_sub(Some("u-1")).unwrap();
        let (cards, next) = store.list(&me, limit, None).await.unwrap();
        let sent: Vec<_> = http.actual_requests().collect();
        let body: Value = serde_json::from_slice(sent[0].body().bytes().unwrap()).unwrap();
        (
            cards.into_iter().map(|c| c.name).collect(),
            next.map(|c| c.sk),
            body["Limit"].clone(),
        )
    }

    #[tokio::test]
    async fn a_page_knows_whether_another_follows() {
        // DynamoDB stops at the query's Limit (one more than the page) with a LastEvaluatedKey: the
        // page is cut to its size and the next starts after its last card, not after the extra one.
        let (names, next, limit) = page(2, 3, true).await;
        assert_eq!(limit, json!(3), "one card more than the page");
        assert_eq!(names, ["card 0", "card 1"]);
        assert_eq!(next.as_deref(), Some("CARD#c-1"));
        // The list ends exactly at the page: no next page (DynamoDB stopped short of its Limit).
        let (names, next, _) = page(2, 2, false).await;
        assert_eq!((names.len(), next), (2, None));
        // DynamoDB stopped early (its 1 MB page) with fewer cards: more may follow, from its key.
        let (names, next, _) = page(3, 2, true).await;
        assert_eq!((names.len(), next.as_deref()), (2, Some("CARD#c-1")));
        // The last, short page.
        let (names, next, _) = page(5, 1, false).await;
        assert_eq!((names.len(), next), (1, None));
    }

    #[tokio::test]
    async fn a_page_of_no_cards_is_refused_before_any_call() {
        let http = StaticReplayClient::new(vec![]);
        let store = store_over(&http);
        let me = Caller::from_sub(Some("u-1")).unwrap();
        for limit in [0, -1, i32::MIN] {
            let e = store.list(&me, limit, None).await.unwrap_err();
            assert!(
                matches!(&e, HandlerError::Validation { field, .. } if field == "limit"),
                "{e:?}"
            );
        }
        assert_eq!(http.actual_requests().count(), 0);
    }
}

/// Real AWS JSON clients (DynamoDB, Step Functions) over an HTTP side a test writes: every request is
/// recorded (its `X-Amz-Target` and JSON body) and answered by the test's function, and the clients
/// retry as a function's do (standard mode, 3 attempts; backoff shortened), so a lost answer and the
/// SDK's retry after it can be played.
#[cfg(test)]
pub(crate) mod fake_aws {
    /// A client of the SDK crate `$sdk` (`aws_sdk_s3`, …) for tests: `us-east-1`, static test
    /// credentials, every request to `$http`, and the retry config `$retry` (the SDK's default without).
    macro_rules! test_client {
        ($sdk:ident, $http:expr) => {
            $sdk::Client::from_conf(
                $crate::store::fake_aws::test_client!(@builder $sdk, $http).build(),
            )
        };
        ($sdk:ident, $http:expr, $retry:expr) => {
            $sdk::Client::from_conf(
                $crate::store::fake_aws::test_client!(@builder $sdk, $http)
                    .retry_config($retry)
                    .build(),
            )
        };
        (@builder $sdk:ident, $http:expr) => {
            $sdk::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new("us-east-1"))
                .credentials_provider($sdk::config::Credentials::new(
                    "AKIDTEST", "secret", None, None, "test",
                ))
                .http_client($http)
        };
    }
    pub(crate) use test_client;

    use aws_smithy_http_client::test_util::infallible_client_fn;
    use aws_smithy_runtime_api::client::http::SharedHttpClient;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;
    use serde_json::{Value, json};
    use std::sync::{Arc, Mutex};

    /// The requests seen: `(X-Amz-Target, JSON body)`.
    pub(crate) type Log = Arc<Mutex<Vec<(String, Value)>>>;

    /// An answer: HTTP status and JSON body (an error names itself with `__type`).
    pub(crate) fn error(status: u16, code: &str) -> (u16, Value) {
        (status, json!({"__type": code, "message": "test"}))
    }

    /// DynamoDB's `ConditionalCheckFailedException`, with the item as it was when given.
    pub(crate) fn condition_failed(item: Option<Value>) -> (u16, Value) {
        let mut body = json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed"
        });
        if let Some(item) = item {
            body["Item"] = item;
        }
        (400, body)
    }

    /// An HTTP side answering request `n` (from 0) with `answer(n, target, body)`.
    pub(crate) fn http(
        answer: impl Fn(usize, &str, &Value) -> (u16, Value) + Send + Sync + 'static,
    ) -> (SharedHttpClient, Log) {
        let log: Log = Arc::default();
        let seen = log.clone();
        let client = infallible_client_fn(move |req: http::Request<SdkBody>| {
            let target = req
                .headers()
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body: Value =
                serde_json::from_slice(req.body().bytes().unwrap_or_default()).unwrap_or(Value::Null);
            let n = {
                let mut log = seen.lock().unwrap();
                log.push((target.clone(), body.clone()));
                log.len() - 1
            };
            let (status, answer) = answer(n, &target, &body);
            http::Response::builder()
                .status(status)
                .header("content-type", "application/x-amz-json-1.0")
                .body(SdkBody::from(answer.to_string()))
                .unwrap()
        });
        (client, log)
    }

    fn retries() -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(std::time::Duration::from_millis(1))
    }

    /// A DynamoDB client over `http`.
    pub(crate) fn dynamodb(http: SharedHttpClient) -> aws_sdk_dynamodb::Client {
        test_client!(aws_sdk_dynamodb, http, retries())
    }

    /// A Step Functions client over `http`.
    pub(crate) fn sfn(http: SharedHttpClient) -> aws_sdk_sfn::Client {
        test_client!(aws_sdk_sfn, http, retries())
    }

    /// A card item as DynamoDB's JSON has it, with `extra` attributes on top.
    pub(crate) fn card_item(sub: &str, card_id: &str, status: &str, extra: &Value) -> Value {
        let mut item = json!({
            "PK": {"S": format!("USER#{sub}")}, "SK": {"S": format!("CARD#{card_id}")},
            "userId": {"S": sub}, "cardId": {"S": card_id}, "name": {"S": "Charizard"},
            "frontS3Key": {"S": "uploads/u_1/f.jpg"}, "status": {"S": status},
            "createdAt": {"S": "2026-11-22T00:00:00.000Z"}, "updatedAt": {"S": "2026-11-22T00:40:00.000Z"}
        });
        for (k, v) in extra.as_object().into_iter().flatten() {
            item[k] = v.clone();
        }
        item
    }
}

/// What the card's conditional writes do when their first attempt commits but its answer is lost and
/// the SDK's retry finds the write already made.
#[cfg(test)]
mod retry_tests {
    use super::fake_aws::{self, card_item, condition_failed};
    use super::*;
    use serde_json::{Value, json};

    const SUB: &str = "u-1";

    fn store(
        answer: impl Fn(usize, &str, &Value) -> (u16, Value) + Send + Sync + 'static,
    ) -> (CardStore, fake_aws::Log) {
        let (http, log) = fake_aws::http(answer);
        (CardStore::new(fake_aws::dynamodb(http), "t"), log)
    }

    fn at(t: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc)
    }

    fn me() -> Caller {
        Caller::from_sub(Some(SUB)).unwrap()
    }

    #[tokio::test]
    async fn a_retried_begin_valuation_that_finds_its_own_write_is_no_conflict() {
        // The first attempt commits, its answer is lost (500); the retry fails the condition and sees
        // the card VALUING for this very valuation, with what it was before beside it.
        let (store, log) = store(|n, _, _| match n {
            0 => fake_aws::error(500, "InternalServerError"),
            1 => condition_failed(Some(card_item(
                SUB,
                "c-1",
                "VALUING",
                &json!({
                    "currentValuationId": {"S": "v-1"}, "valuingShard": {"S": "VALUING#3"},
                    "updatedAt": {"S": "2026-11-22T01:00:00.000Z"},
                    "valuingFromStatus": {"S": "VALUED"}, "valuingFromAt": {"S": "2026-11-22T00:40:00.000Z"}
                }),
            ))),
            _ => fake_aws::error(400, "ValidationException"),
        });
        let before = store
            .begin_valuation(&me(), "c-1", "v-1", at("2026-11-22T01:00:00Z"))
            .await
            .unwrap();
        assert_eq!(before.status, CardStatus::Valued, "the status to put back");
        assert_eq!(before.updated_at, at("2026-11-22T00:40:00Z"));
        assert_eq!(before.front_s3_key, "uploads/u_1/f.jpg");
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 2, "the write and the SDK's retry, nothing else");
        let body = &log[1].1;
        assert_eq!(body["ReturnValuesOnConditionCheckFailure"], "ALL_OLD");
        assert!(
            body["UpdateExpression"]
                .as_str()
                .unwrap()
                .contains("#fromStatus = #s, #fromAt = updatedAt"),
            "{body}"
        );
        assert_eq!(
            body["ExpressionAttributeNames"]["#fromStatus"],
            VALUING_FROM_STATUS
        );
    }

    #[tokio::test]
    async fn another_valuation_is_a_conflict_and_a_missing_card_not_found() {
        let running = |shard: bool| {
            let mut extra = json!({"currentValuationId": {"S": "v-0"}});
            if shard {
                extra["valuingShard"] = json!({"S": "VALUING#3"});
            }
            card_item(SUB, "c-1", "VALUING", &extra)
        };
        let cases = [
            (Some(running(true)), "Conflict", 1),
            // a VALUING card from before the sharded index is enrolled in the sweep
            (Some(running(false)), "Conflict", 2),
            // no old item: read (strongly consistent) to tell a missing card from an endpoint that
            // does not send it
            (None, "NotFound", 2),
        ];
        for (item, want, requests) in cases {
            let (store, log) = store(move |n, _, _| {
                if n == 0 {
                    condition_failed(item.clone())
                } else {
                    (200, json!({}))
                }
            });
            let e = store
                .begin_valuation(&me(), "c-1", "v-1", at("2026-11-22T01:00:00Z"))
                .await
                .unwrap_err();
            assert_eq!(e.error_type(), want, "{e}");
            assert_eq!(log.lock().unwrap().len(), requests, "{want}");
        }
    }

    /// The error handler's `VALUING → FAILED`: answered by `retry` after a first attempt whose answer
    /// was lost, given the token the write sent.
    async fn mark_failed_after_a_lost_answer(retry: fn(&str) -> Value) -> (bool, usize) {
        let (store, log) = store(move |n, _, body| match n {
            0 => fake_aws::error(500, "InternalServerError"),
            _ => condition_failed(Some(retry(
                body["ExpressionAttributeValues"][":token"]["S"]
                    .as_str()
                    .unwrap_or_default(),
            ))),
        });
        let failed = store
            .mark_failed(&me(), "c-1", "v-1", at("2026-11-22T01:00:00Z"))
            .await
            .unwrap();
        let n = log.lock().unwrap().len();
        (failed, n)
    }

    #[tokio::test]
    async fn a_retried_fail_that_finds_its_own_write_says_it_failed_the_card() {
        let own = |token: &str| {
            card_item(
                SUB,
                "c-1",
                "FAILED",
                &json!({"currentValuationId": {"S": "v-1"}, "failWriteId": {"S": token}}),
            )
        };
        assert_eq!(mark_failed_after_a_lost_answer(own).await, (true, 2));
        // FAILED by another write (a duplicate delivery of the same failure, the sweep): not ours.
        let other = |_: &str| {
            card_item(
                SUB,
                "c-1",
                "FAILED",
                &json!({"currentValuationId": {"S": "v-1"}, "failWriteId": {"S": "someone-else"}}),
            )
        };
        assert_eq!(mark_failed_after_a_lost_answer(other).await, (false, 2));
        // FAILED before the token existed
        let old = |_: &str| card_item(SUB, "c-1", "FAILED", &json!({}));
        assert_eq!(mark_failed_after_a_lost_answer(old).await, (false, 2));
    }
}
