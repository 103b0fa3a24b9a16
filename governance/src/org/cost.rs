//! The organisation's cost, read once in the management (payer) account and split per platform.
//!
//! With consolidated billing, Cost Explorer in the management account sees every member's spend by
//! `LINKED_ACCOUNT`. One `GetCostAndUsage` (DAILY, grouped by `LINKED_ACCOUNT` and `SERVICE`) therefore
//! replaces one query per platform: [`LinkedCost::page_for`] cuts it into the page each platform's own
//! cost pass would have read (keyed `[service, Environment$<env>]`), so the per-platform reports are
//! the same code as a single-account run. A second request, grouped by `LINKED_ACCOUNT` and the
//! `Environment` tag, gives the untagged spend per account for the roll-up (CE allows two group-bys;
//! `Environment$` is untagged) — two requests a day in all, under the organisation's cap of three, each
//! taken from the cap in the ledger *before* it is sent. The answer is cached in the organisation's
//! ledger (under the day it is for: the days that are not settled, and the list of settled days the
//! read used), so further runs the same day send none; two runs at once read once (the reader holds
//! the day's reading lease, the other waits for its cache, [`READ_LEASE`] at most). A past day asked for
//! again (`org plan --date`) is read again unless its cache was read after the moment asked about: the
//! day's 06:00 cache holds a few hours of that day.
//!
//! Settled days are kept for later days too (one document per day, [`SETTLED_KEEP`]), so each day's
//! first read asks only from the first day that is not settled (usually the last three) instead of the
//! whole window: fewer rows, so fewer pages of the cap for a large organisation — as the single-account
//! pass does with its own days. Cost Explorer marks every day of the open month `Estimated`, so a day
//! counts as settled once it is final *or* [`SETTLE_DAYS`] old (its figures have stopped moving); such a
//! day keeps its `Estimated` flag, and is read once more [`SETTLE_DAYS`] after its month closes.
//!
//! A day of a large organisation (one row per account × service: 500 accounts × 10 services is about
//! 450 KB of JSON) is more than one DynamoDB item holds (400 KB): each day is stored in parts of at most
//! [`MAX_PART_BYTES`] ([`put_parts`]) and read back whole or not at all ([`get_parts`]).
//!
//! An account that holds several platforms: CE cannot group by account, service and tag at once. When
//! their environments differ, each report's spend is its environment's share of the account's each day
//! (its tagged spend plus the untagged, from the tag query), by service pro rata
//! ([`LinkedCost::page_for`]); when two share an environment, the tag cannot tell them apart and each
//! report shows the whole account's. The item says which.
//!
//! API: <https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html>.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_error::AwsCallError;
use aws_sdk_costexplorer::types::{
    DateInterval as CeInterval, Dimension as CeDimension, DimensionValues, Expression, Granularity,
    GroupDefinition as CeGroupDefinition, GroupDefinitionType,
};
use chrono::{DateTime, NaiveDate, Utc};
use cost::input::{
    Amount, CostAndUsagePage, DateInterval, ENVIRONMENT_TAG, Group, GroupDefinition, ResultByTime,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ledger::org_ce_counter;
use crate::cost_pass::counting::RequestCounter;
use crate::cost_pass::read::{COST_METRIC, CeQuota, ReadError, page_from_sdk};
use crate::cost_pass::source::CePages;
use crate::cost_pass::state::{SETTLE_DAYS, after_close, plus_days};
use crate::ledger::{LedgerError, LedgerStore, put_snapshot, snapshots};

/// The CE dimension of member accounts.
pub const LINKED_ACCOUNT: &str = "LINKED_ACCOUNT";

/// How long the organisation's cached days are kept (a run reuses only the ones fetched today).
const CACHE_KEEP: Duration = Duration::from_secs(3 * 86_400);
/// How long a settled day is kept: longer than any window an organisation run reads (the report's
/// month, the anomaly baseline and the trend reach about two months back).
pub const SETTLED_KEEP: Duration = Duration::from_secs(100 * 86_400);

/// The largest body of one ledger item the cache writes. DynamoDB refuses an item over 400 KB
/// (names and values of all its attributes); a day of a large organisation is more than that, and is
/// stored in parts of at most this many bytes ([`put_parts`]).
const MAX_PART_BYTES: usize = 300_000;

/// A settled day as stored for later runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SettledDay {
    day: LinkedDay,
    /// Whether the day's untagged spend was read with it (the second request).
    with_tags: bool,
    /// Whether its spend per `Environment` value was kept too ([`LinkedDay::tagged`]; days stored
    /// before it was are read again, as days without their untagged spend are).
    #[serde(default)]
    with_environments: bool,
    /// Whether it was read at least [`SETTLE_DAYS`] after its month closed: an `Estimated` day read
    /// before is read once more then ([`settled_for`]).
    #[serde(default)]
    after_close: bool,
}

/// Whether a read on `today` keeps `day` (of `date`) as settled: final, or [`SETTLE_DAYS`] old.
/// Today is partial and never kept.
fn settles(date: NaiveDate, day: &LinkedDay, today: NaiveDate) -> bool {
    date < today && (!day.estimated || plus_days(date, SETTLE_DAYS) <= today)
}

/// Whether a stored day still serves a read on `today`: final, read after its month closed, or its
/// month has not closed [`SETTLE_DAYS`] ago yet (then it is read once more).
fn settled_for(date: NaiveDate, stored: &SettledDay, today: NaiveDate) -> bool {
    !stored.day.estimated || stored.after_close || !after_close(date, today)
}

/// Why the organisation's cost could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OrgCostError {
    /// Cost Explorer refused or failed (classified).
    #[error(transparent)]
    Call(#[from] AwsCallError),
    /// The cap was reached, the answer did not parse, or the counter failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The ledger (cache) failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Another run has been reading the organisation's cost for longer than [`READ_LEASE`]: nothing
    /// was requested here; run again once it is done.
    #[error(
        "another run is reading the organisation's cost (no request sent here); run again once it is done"
    )]
    Busy,
}

impl OrgCostError {
    /// The AWS failure class, when a call failed.
    #[must_use]
    pub fn class(&self) -> Option<aws_error::ErrorClass> {
        match self {
            Self::Call(e) => Some(e.class()),
            Self::Busy => Some(aws_error::ErrorClass::Throttled),
            Self::Read(_) | Self::Ledger(_) => None,
        }
    }
}

/// One day × account × service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedRow {
    /// The account.
    pub account: String,
    /// The CE `SERVICE` value.
    pub service: String,
    /// USD.
    pub amount: Decimal,
}

/// One day of the organisation's spend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedDay {
    /// Whether CE marked the day as estimated.
    pub estimated: bool,
    /// Spend by account and service.
    pub rows: Vec<LinkedRow>,
    /// Spend without an `Environment` tag, by account (from the tag query; empty when not read).
    pub untagged: BTreeMap<String, Decimal>,
    /// Spend with an `Environment` tag, by account and tag value (from the tag query; empty when not
    /// read, and in days cached before it was kept).
    #[serde(default)]
    pub tagged: BTreeMap<String, BTreeMap<String, Decimal>>,
}

/// The organisation's daily spend by account and service over a window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedCost {
    /// Every day CE returned.
    pub days: BTreeMap<NaiveDate, LinkedDay>,
}

fn usd(group: &Group) -> Decimal {
    group
        .metrics
        .get(COST_METRIC)
        .map_or(Decimal::ZERO, |a: &Amount| a.amount)
}

fn key_index(page: &CostAndUsagePage, kind: &str, key: &str) -> Option<usize> {
    page.group_definitions
        .iter()
        .position(|d| d.kind == kind && d.key == key)
}

impl LinkedCost {
    /// Flattens the `LINKED_ACCOUNT` × `SERVICE` pages and, optionally, the `LINKED_ACCOUNT` ×
    /// `Environment` tag pages.
    ///
    /// # Errors
    /// [`ReadError::Unexpected`] when a page is not grouped as asked.
    pub fn from_pages(
        by_service: &[CostAndUsagePage],
        by_tag: &[CostAndUsagePage],
    ) -> Result<Self, ReadError> {
        let unexpected = |detail: &str| ReadError::Unexpected {
            api: "ce:GetCostAndUsage",
            detail: detail.to_owned(),
        };
        let mut out = Self::default();
        // A page without a single group has nothing to misread (Cost Explorer with no spend in the window
        // may leave GroupDefinitions out): only pages with groups must be grouped as asked.
        let has_groups = |page: &CostAndUsagePage| page.results_by_time.iter().any(|r| !r.groups.is_empty());
        for page in by_service.iter().filter(|p| has_groups(p)) {
            let (Some(a), Some(s)) = (
                key_index(page, "DIMENSION", LINKED_ACCOUNT),
                key_index(page, "DIMENSION", "SERVICE"),
            ) else {
                return Err(unexpected("not grouped by LINKED_ACCOUNT and SERVICE"));
            };
            for result in &page.results_by_time {
                let day = out.days.entry(result.time_period.start).or_default();
                day.estimated |= result.estimated;
                for g in &result.groups {
                    let (Some(account), Some(service)) = (g.keys.get(a), g.keys.get(s)) else {
                        return Err(unexpected("a group with fewer keys than group definitions"));
                    };
                    day.rows.push(LinkedRow {
                        account: account.clone(),
                        service: service.clone(),
                        amount: usd(g),
                    });
                }
            }
        }
        for page in by_tag.iter().filter(|p| has_groups(p)) {
            let (Some(a), Some(t)) = (
                key_index(page, "DIMENSION", LINKED_ACCOUNT),
                key_index(page, "TAG", ENVIRONMENT_TAG),
            ) else {
                return Err(unexpected(
                    "not grouped by LINKED_ACCOUNT and the Environment tag",
                ));
            };
            for result in &page.results_by_time {
                let day = out.days.entry(result.time_period.start).or_default();
                for g in &result.groups {
                    let (Some(account), Some(tag)) = (g.keys.get(a), g.keys.get(t)) else {
                        return Err(unexpected("a group with fewer keys than group definitions"));
                    };
                    // `Environment$` is spend without the tag.
                    match tag.strip_prefix(&format!("{ENVIRONMENT_TAG}$")) {
                        Some("") => *day.untagged.entry(account.clone()).or_default() += usd(g),
                        Some(value) => {
                            *day.tagged
                                .entry(account.clone())
                                .or_default()
                                .entry(value.to_owned())
                                .or_default() += usd(g);
                        }
                        None => {}
                    }
                }
            }
        }
        Ok(out)
    }

    /// The page a platform's own cost pass would have read for `[start, end)`: `account`'s spend by
    /// service, keyed as the platform's `environment`. With `share`, the account holds other platforms
    /// of other environments: each day's rows are scaled to `environment`'s share of the account's
    /// spend that day (its tagged spend plus the untagged, from the tag query) — CE cannot group by
    /// account, service and tag at once, so by service it is pro rata; a day without the tag query's
    /// figures is left whole.
    #[must_use]
    pub fn page_for(
        &self,
        account: &str,
        environment: &str,
        share: bool,
        start: NaiveDate,
        end: NaiveDate,
    ) -> CostAndUsagePage {
        let tag = format!("{ENVIRONMENT_TAG}${environment}");
        let factor = |day: &LinkedDay| -> Option<Decimal> {
            if !share {
                return None;
            }
            let tagged = day.tagged.get(account)?;
            let total: Decimal = day
                .rows
                .iter()
                .filter(|r| r.account == account)
                .map(|r| r.amount)
                .sum();
            if total <= Decimal::ZERO {
                return None;
            }
            let own = tagged.get(environment).copied().unwrap_or_default()
                + day.untagged.get(account).copied().unwrap_or_default();
            Some((own / total).min(Decimal::ONE))
        };
        CostAndUsagePage {
            group_definitions: GroupDefinition::report_grouping(),
            results_by_time: self
                .days
                .range(start..end)
                .map(|(date, day)| ResultByTime {
                    time_period: DateInterval {
                        start: *date,
                        end: date.succ_opt().unwrap_or(*date),
                    },
                    total: BTreeMap::new(),
                    groups: {
                        let scale = factor(day);
                        day.rows
                            .iter()
                            .filter(|r| r.account == account)
                            .map(|r| Group {
                                keys: vec![r.service.clone(), tag.clone()],
                                metrics: BTreeMap::from([(
                                    COST_METRIC.to_owned(),
                                    Amount::usd(scale.map_or(r.amount, |f| (r.amount * f).round_dp(6))),
                                )]),
                            })
                            .collect()
                    },
                    estimated: day.estimated,
                })
                .collect(),
            next_page_token: None,
        }
    }

    /// Spend per account over `[start, end)`.
    #[must_use]
    pub fn by_account(&self, start: NaiveDate, end: NaiveDate) -> BTreeMap<String, Decimal> {
        let mut out = BTreeMap::new();
        for day in self.days.range(start..end).map(|(_, d)| d) {
            for r in &day.rows {
                *out.entry(r.account.clone()).or_default() += r.amount;
            }
        }
        out
    }

    /// Spend per account and service on `date`.
    #[must_use]
    pub fn by_account_service(
        &self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> BTreeMap<(String, String), Decimal> {
        let mut out = BTreeMap::new();
        for day in self.days.range(start..end).map(|(_, d)| d) {
            for r in &day.rows {
                *out.entry((r.account.clone(), r.service.clone())).or_default() += r.amount;
            }
        }
        out
    }

    /// `account`'s untagged spend per day (the second query's `Environment$` groups).
    #[must_use]
    pub fn untagged_days(&self, account: &str) -> BTreeMap<NaiveDate, Decimal> {
        self.days
            .iter()
            .filter_map(|(date, day)| day.untagged.get(account).map(|usd| (*date, *usd)))
            .collect()
    }

    /// Untagged spend per account over `[start, end)`.
    #[must_use]
    pub fn untagged(&self, start: NaiveDate, end: NaiveDate) -> BTreeMap<String, Decimal> {
        let mut out = BTreeMap::new();
        for day in self.days.range(start..end).map(|(_, d)| d) {
            for (account, amount) in &day.untagged {
                *out.entry(account.clone()).or_default() += *amount;
            }
        }
        out
    }
}

/// What reading the organisation's cost did.
#[derive(Debug, Clone)]
pub struct PayerRead {
    /// The spend.
    pub cost: LinkedCost,
    /// Cost Explorer requests this run sent (0 when the day's answer was cached).
    pub ce_requests_this_run: u32,
    /// Cost Explorer requests counted today for the organisation, against its cap.
    pub ce_requests_today: u64,
    /// Whether the answer came from the ledger.
    pub cached: bool,
}

/// Where and how to read: the management account's Cost Explorer and the organisation's ledger.
#[derive(Debug)]
pub struct PayerQuery<'a, L> {
    /// Cost Explorer in the management account.
    pub ce: &'a aws_sdk_costexplorer::Client,
    /// The organisation's ledger.
    pub ledger: &'a L,
    /// The organisation's name (ledger keys).
    pub org_name: &'a str,
    /// Requests a day.
    pub cap: u32,
    /// Whether to also read untagged spend (the second request).
    pub untagged: bool,
}

/// How long one run may hold the day's Cost Explorer read (a few pages, each a request): another run
/// waits this long for its cache, and a reader that died frees it after this.
const READ_LEASE: chrono::Duration = chrono::Duration::minutes(2);

fn cache_pk(org_name: &str) -> String {
    format!("org#{org_name}#ce-linked")
}

/// Under today's cache: the settled days the day's read used (read back from [`settled_pk`]).
fn settled_list_key(today: NaiveDate) -> String {
    format!("{today}#settled")
}

fn settled_pk(org_name: &str) -> String {
    format!("org#{org_name}#ce-linked-settled")
}

/// One part of a document too large for one ledger item ([`put_parts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Part {
    /// Which part of how many, of which write.
    part: PartOf,
    /// This part's slice of the document's JSON.
    text: String,
}

/// Where a [`Part`] belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PartOf {
    /// 0 for the part stored under the document's own key, which is written last.
    index: u32,
    /// How many parts the document has.
    count: u32,
    /// The write the parts belong to (the document's hash and length): parts of two writes of the same
    /// key are never joined.
    id: String,
}

/// The sort key of part `index` (≥ 1) of the document at `sk`; part 0 is at `sk`.
fn part_key(sk: &str, index: u32) -> String {
    format!("{sk}#p{index:04}")
}

/// The document key and index of a part key ([`part_key`]); `None` for a document's own key.
fn parse_part_key(sk: &str) -> Option<(&str, u32)> {
    let (base, index) = sk.rsplit_once("#p")?;
    Some((base, index.parse().ok()?))
}

/// How many bytes `c` takes inside a JSON string (as `serde_json` escapes it).
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if u32::from(c) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// `json` cut on character boundaries into slices each at most `max` bytes once escaped in a JSON
/// string.
fn split_escaped(json: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut from, mut size) = (0, 0);
    for (at, c) in json.char_indices() {
        if size + escaped_len(c) > max && at > from {
            out.push(&json[from..at]);
            (from, size) = (at, 0);
        }
        size += escaped_len(c);
    }
    if from < json.len() {
        out.push(&json[from..]);
    }
    out
}

/// Stores `value` as JSON under `(pk, sk)` — in one item when it is at most [`MAX_PART_BYTES`] (as
/// [`put_snapshot`] does), otherwise in [`Part`]s of at most that size: parts 1.. under
/// [`part_key`]s first, then part 0, which holds the count, under `sk` itself. A reader that finds part
/// 0 finds the parts of its write (or, when another write has replaced some since, parts it refuses).
///
/// # Errors
/// When the document cannot be serialized or a write fails.
async fn put_parts<L: LedgerStore + ?Sized, T: Serialize + Sync>(
    ledger: &L,
    pk: &str,
    sk: &str,
    value: &T,
    keep: Duration,
) -> Result<(), LedgerError> {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let json = serde_json::to_string(value)
        .map_err(|e| LedgerError::document(ledger.table(), format!("snapshot {pk}/{sk}"), e))?;
    if json.len() <= MAX_PART_BYTES {
        return ledger.put_snapshot_body(pk, sk, json, keep).await;
    }
    let mut hasher = DefaultHasher::new();
    json.hash(&mut hasher);
    let id = format!("{:016x}-{}", hasher.finish(), json.len());
    // Room for the part's own fields and the string's quotes.
    let texts = split_escaped(&json, MAX_PART_BYTES - 512);
    let count = u32::try_from(texts.len()).unwrap_or(u32::MAX);
    let part = |index: u32, text: &str| Part {
        part: PartOf {
            index,
            count,
            id: id.clone(),
        },
        text: text.to_owned(),
    };
    for (index, text) in (1..count).zip(texts.iter().skip(1)) {
        put_snapshot(ledger, pk, &part_key(sk, index), &part(index, text), keep).await?;
    }
    let first = texts.first().copied().unwrap_or_default();
    put_snapshot(ledger, pk, sk, &part(0, first), keep).await
}

/// Every document under `pk` with a key in `from..=to` written by [`put_parts`] (or, in one item, by
/// [`put_snapshot`]), as `(sk, value)`; `(sk, None)` when one of its parts is missing or belongs to
/// another write — the caller treats that document as not stored, never as a smaller one.
///
/// # Errors
/// When the read fails or a whole document does not parse as `T`.
async fn get_parts<L: LedgerStore + ?Sized, T: serde::de::DeserializeOwned>(
    ledger: &L,
    pk: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, Option<T>)>, LedgerError> {
    let range = format!("read snapshots {pk}/{from}..={to}");
    let bodies = ledger.snapshot_bodies(pk, from, &format!("{to}#p~")).await?;
    let mut parts: BTreeMap<(String, u32), Part> = BTreeMap::new();
    let mut documents = Vec::new();
    for (sk, body) in bodies {
        match parse_part_key(&sk) {
            // A part that does not parse is as good as missing.
            Some((base, index)) => {
                if let Ok(part) = serde_json::from_str::<Part>(&body) {
                    parts.insert((base.to_owned(), index), part);
                }
            }
            None => documents.push((sk, body)),
        }
    }
    let mut out = Vec::with_capacity(documents.len());
    for (sk, body) in documents {
        let json = match serde_json::from_str::<Part>(&body) {
            Ok(first) if first.part.index == 0 => {
                let mut json = first.text;
                let joined = (1..first.part.count).all(|index| match parts.get(&(sk.clone(), index)) {
                    Some(p)
                        if p.part.index == index
                            && p.part.count == first.part.count
                            && p.part.id == first.part.id =>
                    {
                        json.push_str(&p.text);
                        true
                    }
                    _ => false,
                });
                joined.then_some(json)
            }
            Ok(_) => None,
            // Stored whole.
            Err(_) => Some(body),
        };
        let value =
            match json {
                Some(json) => Some(serde_json::from_str(&json).map_err(|e| {
                    LedgerError::document(ledger.table(), range.clone(), format!("{sk}: {e}"))
                })?),
                None => None,
            };
        out.push((sk, value));
    }
    Ok(out)
}

/// What a day's cache covers, written after its days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum CachedWindow {
    /// The window, whether the untagged spend was read, and when (wall clock) Cost Explorer was read.
    Read {
        from: NaiveDate,
        to: NaiveDate,
        with_tags: bool,
        read_at: DateTime<Utc>,
    },
    /// As written before the time was kept: `(from, to, with_tags)`.
    Before(NaiveDate, NaiveDate, bool),
}

impl CachedWindow {
    fn covers(self, start: NaiveDate, end: NaiveDate, untagged: bool) -> bool {
        let (from, to, with_tags) = match self {
            Self::Read {
                from, to, with_tags, ..
            }
            | Self::Before(from, to, with_tags) => (from, to, with_tags),
        };
        from <= start && to >= end && (with_tags || !untagged)
    }

    fn read_at(self) -> Option<DateTime<Utc>> {
        match self {
            Self::Read { read_at, .. } => Some(read_at),
            Self::Before(..) => None,
        }
    }
}

impl<L: LedgerStore> PayerQuery<'_, L> {
    /// The organisation's spend over `[start, end)` for a report at `as_of`: from the day's cache when
    /// it covers the window, otherwise from Cost Explorer (one request per page, each taken from the cap
    /// first).
    ///
    /// # Errors
    /// [`OrgCostError`] when the cap is used up, a request fails, or the ledger fails.
    pub async fn read(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        as_of: DateTime<Utc>,
    ) -> Result<PayerRead, OrgCostError> {
        self.read_counting(start, end, as_of, &mut 0).await
    }

    /// The daily cap counts the requests of the real day (UTC) of `now`, the wall clock when the read
    /// began, whatever day a report is for: a run with `--date` in the past pays today, as the
    /// single-account pass counts it. One day for the whole read, also when it crosses midnight.
    fn quota(&self, now: DateTime<Utc>) -> CeQuota<'_, L> {
        CeQuota {
            ledger: self.ledger,
            pk: org_ce_counter(self.org_name),
            day: now.date_naive().to_string(),
            cap: self.cap,
        }
    }

    /// The organisation's spend over `[start, end)` from the cache of `as_of`'s day only, when it
    /// covers the window (`None` when it does not): what the state machine's steps after the first
    /// read use, with no Cost Explorer permission — the cache the plan step of the same execution (the
    /// same `as_of`) read or found.
    ///
    /// # Errors
    /// [`OrgCostError::Ledger`] when the ledger fails.
    pub async fn cached(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        as_of: DateTime<Utc>,
    ) -> Result<Option<PayerRead>, OrgCostError> {
        self.cached_at(start, end, as_of, Utc::now()).await
    }

    /// [`Self::cached`], its request count `now`'s day's.
    pub(crate) async fn cached_at(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<PayerRead>, OrgCostError> {
        Ok(self
            .cached_window(start, end, as_of, now)
            .await?
            .map(|(read, _)| read))
    }

    /// [`Self::cached`], and when Cost Explorer was read for it (`None` for a cache written before
    /// that was kept); its request count is `now`'s day's.
    async fn cached_window(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<(PayerRead, Option<DateTime<Utc>>)>, OrgCostError> {
        let today = as_of.date_naive();
        let pk = cache_pk(self.org_name);
        let marker = format!("{today}#window");
        let cached: Vec<(String, CachedWindow)> = snapshots(self.ledger, &pk, &marker, &marker).await?;
        let Some((_, window)) = cached.into_iter().next() else {
            return Ok(None);
        };
        if !window.covers(start, end, self.untagged) {
            return Ok(None);
        }
        let prefix = format!("{today}#d");
        let stored: Vec<(String, Option<(NaiveDate, LinkedDay)>)> =
            get_parts(self.ledger, &pk, &prefix, &format!("{today}#e")).await?;
        let mut days = BTreeMap::new();
        // Days with a part missing: the cache covers the window only if the settled store has them.
        let mut incomplete = Vec::new();
        for (sk, day) in stored {
            match day {
                Some((date, day)) => {
                    days.insert(date, day);
                }
                None => match sk.strip_prefix(&prefix).map(str::parse::<NaiveDate>) {
                    Some(Ok(date)) => incomplete.push(date),
                    _ => return Ok(None),
                },
            }
        }
        // The settled days of the read are not repeated under today's key: they are read back from
        // the settled store, each one the read used (a cache written before this list existed holds
        // every day under today's key, and has no list).
        let listed = settled_list_key(today);
        let used: Vec<(String, Vec<NaiveDate>)> = snapshots(self.ledger, &pk, &listed, &listed).await?;
        let mut settled = Vec::new();
        if let Some((_, used)) = used.into_iter().next()
            && !used.is_empty()
        {
            let mut stored = self.settled_days(start, end, today).await?;
            for date in used.into_iter().filter(|d| *d >= start && *d < end) {
                match stored.remove(&date) {
                    Some(day) => {
                        days.insert(date, day);
                        settled.push(date);
                    }
                    // Expired, replaced or incomplete since: the cache no longer covers the window.
                    None => return Ok(None),
                }
            }
        }
        if incomplete.iter().any(|d| !settled.contains(d)) {
            return Ok(None);
        }
        Ok(Some((
            PayerRead {
                cost: LinkedCost { days },
                ce_requests_this_run: 0,
                ce_requests_today: self.quota(now).used().await?,
                cached: true,
            },
            window.read_at(),
        )))
    }

    /// The day's cache when it may serve a read for `as_of` made at `now` (wall clock). A run the same
    /// day reuses it, whenever it was read (the cap allows about one read a day). A past day asked for
    /// again (`org plan --date D`: `as_of` is D's last second) is served only by a cache read after
    /// `as_of`: the one the day's own 06:00 run left holds six hours of D, and would report its spend —
    /// and tier — too low.
    async fn reusable(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<PayerRead>, OrgCostError> {
        let Some((read, read_at)) = self.cached_window(start, end, as_of, now).await? else {
            return Ok(None);
        };
        let past_day = as_of.date_naive() < now.date_naive();
        if past_day && read_at.is_none_or(|at| at < as_of) {
            return Ok(None);
        }
        Ok(Some(read))
    }

    /// [`Self::read`], adding every request it sends to `sent` — also when a later one fails, so that a
    /// failed read still says what it cost.
    ///
    /// # Errors
    /// As [`Self::read`].
    pub async fn read_counting(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        as_of: DateTime<Utc>,
        sent: &mut u32,
    ) -> Result<PayerRead, OrgCostError> {
        self.read_counting_at(start, end, as_of, Utc::now(), sent).await
    }

    /// [`Self::read_counting`] made at `now` (wall clock): requests count under `now`'s day.
    pub(crate) async fn read_counting_at(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
        sent: &mut u32,
    ) -> Result<PayerRead, OrgCostError> {
        if let Some(read) = self.reusable(start, end, as_of, now).await? {
            return Ok(read);
        }
        // One reader a day at a time: two runs at once (the schedule beside an operator's `org plan`)
        // would both pay for the read, and the second would run into the cap. The reader holds the
        // day's reading lease; another run waits for its cache.
        let pk = cache_pk(self.org_name);
        let reading = format!("{}#reading", as_of.date_naive());
        self.ledger.claim(&pk, &reading, "reading", CACHE_KEEP).await?;
        let at = Utc::now();
        if self
            .ledger
            .lease(&pk, &reading, at + READ_LEASE, at)
            .await?
            .is_none()
        {
            let waited = tokio::time::Instant::now();
            while waited.elapsed() < READ_LEASE.to_std().unwrap_or_default() {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                if let Some(read) = self.reusable(start, end, as_of, now).await? {
                    return Ok(read);
                }
            }
            // The other reader died (its lease ran out): read here.
            let at = Utc::now();
            if self
                .ledger
                .lease(&pk, &reading, at + READ_LEASE, at)
                .await?
                .is_none()
            {
                return Err(OrgCostError::Busy);
            }
        }
        // The reader before may have finished between this run's cache check and its lease.
        let read = match self.reusable(start, end, as_of, now).await {
            Ok(Some(read)) => Ok(read),
            Ok(None) => self.read_now(start, end, as_of, now, sent).await,
            Err(e) => Err(e),
        };
        // Done (or failed): the lease ends, so a run after a failure reads at once.
        if let Err(e) = self
            .ledger
            .update_record(&pk, &reading, "done", Some(CACHE_KEEP))
            .await
        {
            tracing::warn!(error = %e, "the organisation's cost reading lease could not be ended; it runs out");
        }
        read
    }

    /// The read itself, once this run holds the day's reading lease.
    async fn read_now(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
        sent: &mut u32,
    ) -> Result<PayerRead, OrgCostError> {
        let today = as_of.date_naive();
        let pk = cache_pk(self.org_name);
        let quota = self.quota(now);
        let marker = format!("{today}#window");
        let before = *sent;
        // Settled days from earlier reads; Cost Explorer only from the first day that is not one.
        let mut settled = self.settled_days(start, end, today).await?;
        let from = start
            .iter_days()
            .take_while(|d| *d < end)
            .find(|d| !settled.contains_key(d))
            .unwrap_or(end);
        settled.retain(|d, _| *d < from);
        let mut in_settled: Vec<NaiveDate> = settled.keys().copied().collect();
        let mut cost = LinkedCost { days: settled };
        if from < end {
            // Every attempt is a billed request: the SDK's retries are held to the cap and added to
            // the ledger's counter as in the single-account pass (`RequestCounter::ce_request`).
            let counter = RequestCounter::new();
            let ce = counter.attach_cost_explorer(self.ce);
            let by_service = self
                .pages(&counter, &ce, &quota, (from, end), false, sent)
                .await?;
            let by_tag = if self.untagged {
                self.pages(&counter, &ce, &quota, (from, end), true, sent).await?
            } else {
                Vec::new()
            };
            let fetched = LinkedCost::from_pages(&by_service, &by_tag)?;
            // Today is partial and a recent estimated day may still change: neither is kept.
            let settled_pk = settled_pk(self.org_name);
            for (date, day) in fetched.days.iter().filter(|(d, day)| settles(**d, day, today)) {
                let stored = SettledDay {
                    day: day.clone(),
                    with_tags: self.untagged,
                    with_environments: self.untagged,
                    after_close: after_close(*date, today),
                };
                put_parts(self.ledger, &settled_pk, &date.to_string(), &stored, SETTLED_KEEP).await?;
                in_settled.push(*date);
            }
            cost.days.extend(fetched.days);
        }
        // Today's key holds only what the settled store does not (today, recent days) and the list of
        // the settled days this read used, so a 60-day window's first read of the day writes a few
        // documents here, not one per day twice.
        put_snapshot(
            self.ledger,
            &pk,
            &settled_list_key(today),
            &in_settled,
            CACHE_KEEP,
        )
        .await?;
        for (date, day) in cost.days.iter().filter(|(d, _)| !in_settled.contains(d)) {
            put_parts(
                self.ledger,
                &pk,
                &format!("{today}#d{date}"),
                &(date, day),
                CACHE_KEEP,
            )
            .await?;
        }
        let window = CachedWindow::Read {
            from: start,
            to: end,
            with_tags: self.untagged,
            read_at: now,
        };
        put_snapshot(self.ledger, &pk, &marker, &window, CACHE_KEEP).await?;
        Ok(PayerRead {
            cost,
            ce_requests_this_run: *sent - before,
            ce_requests_today: quota.used().await?,
            cached: false,
        })
    }

    /// The settled days of `[start, end)` stored by earlier reads that still serve a read on `today`
    /// ([`settled_for`]; with their untagged spend when this query needs it). A day with a part
    /// missing is not among them.
    async fn settled_days(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        today: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, LinkedDay>, OrgCostError> {
        let last = end.pred_opt().unwrap_or(end);
        let stored: Vec<(String, Option<SettledDay>)> = get_parts(
            self.ledger,
            &settled_pk(self.org_name),
            &start.to_string(),
            &last.to_string(),
        )
        .await?;
        Ok(stored
            .into_iter()
            .filter_map(|(sk, s)| Some((sk.parse::<NaiveDate>().ok()?, s?)))
            .filter(|(_, s)| !self.untagged || (s.with_tags && s.with_environments))
            .filter(|(d, s)| *d >= start && *d < end && settled_for(*d, s, today))
            .map(|(d, s)| (d, s.day))
            .collect())
    }

    async fn pages(
        &self,
        counter: &RequestCounter,
        ce: &aws_sdk_costexplorer::Client,
        quota: &CeQuota<'_, L>,
        (start, end): (NaiveDate, NaiveDate),
        by_tag: bool,
        sent: &mut u32,
    ) -> Result<Vec<CostAndUsagePage>, OrgCostError> {
        let mut guard = CePages::new();
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let before = counter.snapshot().cost_explorer();
            let answer = counter
                .ce_request(quota, || linked_page(ce, start, end, by_tag, token.clone()))
                .await;
            *sent += counter.snapshot().cost_explorer() - before;
            let page = answer??;
            let next = page.next_page_token.clone();
            pages.push(page);
            match guard.next(next)? {
                Some(t) => token = Some(t),
                None => return Ok(pages),
            }
        }
    }
}

/// One page of `GetCostAndUsage` DAILY over `[start, end)` grouped by `LINKED_ACCOUNT` and `SERVICE`
/// (or the `Environment` tag), credits and refunds excluded.
///
/// # Errors
/// [`OrgCostError::Call`] when the request fails, [`OrgCostError::Read`] when the answer does not parse.
pub async fn linked_page(
    ce: &aws_sdk_costexplorer::Client,
    start: NaiveDate,
    end: NaiveDate,
    by_tag: bool,
    token: Option<String>,
) -> Result<CostAndUsagePage, OrgCostError> {
    let interval = CeInterval::builder()
        .start(start.to_string())
        .end(end.to_string())
        .build()
        .map_err(|e| ReadError::Unexpected {
            api: "ce:GetCostAndUsage",
            detail: e.to_string(),
        })?;
    let group =
        |kind: GroupDefinitionType, key: &str| CeGroupDefinition::builder().r#type(kind).key(key).build();
    let second = if by_tag {
        group(GroupDefinitionType::Tag, ENVIRONMENT_TAG)
    } else {
        group(GroupDefinitionType::Dimension, "SERVICE")
    };
    // Credits and refunds are not spend (as in the single-account query).
    let no_credits = Expression::builder()
        .not(
            Expression::builder()
                .dimensions(
                    DimensionValues::builder()
                        .key(CeDimension::RecordType)
                        .values("Credit")
                        .values("Refund")
                        .build(),
                )
                .build(),
        )
        .build();
    let out = ce
        .get_cost_and_usage()
        .time_period(interval)
        .granularity(Granularity::Daily)
        .metrics(COST_METRIC)
        .group_by(group(GroupDefinitionType::Dimension, LINKED_ACCOUNT))
        .group_by(second)
        .filter(no_credits)
        .set_next_page_token(token)
        .send()
        .await
        .map_err(AwsCallError::of("CostExplorer", "GetCostAndUsage"))?;
    Ok(page_from_sdk(&out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str) -> CostAndUsagePage {
        serde_json::from_str(json).unwrap()
    }

    fn linked() -> LinkedCost {
        let by_service = page(
            r#"{"GroupDefinitions":[{"Type":"DIMENSION","Key":"LINKED_ACCOUNT"},{"Type":"DIMENSION","Key":"SERVICE"}],
            "ResultsByTime":[
             {"TimePeriod":{"Start":"2026-12-01","End":"2026-12-02"},"Estimated":false,"Groups":[
               {"Keys":["111111111111","AWS Lambda"],"Metrics":{"UnblendedCost":{"Amount":"1.5","Unit":"USD"}}},
               {"Keys":["222222222222","AWS Lambda"],"Metrics":{"UnblendedCost":{"Amount":"4","Unit":"USD"}}}]},
             {"TimePeriod":{"Start":"2026-12-02","End":"2026-12-03"},"Estimated":true,"Groups":[
               {"Keys":["111111111111","Amazon Rekognition"],"Metrics":{"UnblendedCost":{"Amount":"2.25","Unit":"USD"}}}]}]}"#,
        );
        let by_tag = page(
            r#"{"GroupDefinitions":[{"Type":"DIMENSION","Key":"LINKED_ACCOUNT"},{"Type":"TAG","Key":"Environment"}],
            "ResultsByTime":[{"TimePeriod":{"Start":"2026-12-01","End":"2026-12-02"},"Groups":[
               {"Keys":["111111111111","Environment$"],"Metrics":{"UnblendedCost":{"Amount":"0.5","Unit":"USD"}}},
               {"Keys":["111111111111","Environment$prod"],"Metrics":{"UnblendedCost":{"Amount":"1","Unit":"USD"}}}]}]}"#,
        );
        LinkedCost::from_pages(&[by_service], &[by_tag]).unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Two platforms of different environments in one account: each report's spend is its
    /// environment's share of the account's (tagged plus untagged), by service pro rata — not the whole
    /// account's, which set the other platform's burn tier.
    #[test]
    fn a_shared_account_gives_each_environment_its_share() {
        let by_service = page(
            r#"{"GroupDefinitions":[{"Type":"DIMENSION","Key":"LINKED_ACCOUNT"},{"Type":"DIMENSION","Key":"SERVICE"}],
            "ResultsByTime":[{"TimePeriod":{"Start":"2026-12-01","End":"2026-12-02"},"Estimated":false,"Groups":[
               {"Keys":["333333333333","Amazon ECS"],"Metrics":{"UnblendedCost":{"Amount":"6","Unit":"USD"}}},
               {"Keys":["333333333333","AWS Lambda"],"Metrics":{"UnblendedCost":{"Amount":"2.4","Unit":"USD"}}}]}]}"#,
        );
        let by_tag = page(
            r#"{"GroupDefinitions":[{"Type":"DIMENSION","Key":"LINKED_ACCOUNT"},{"Type":"TAG","Key":"Environment"}],
            "ResultsByTime":[{"TimePeriod":{"Start":"2026-12-01","End":"2026-12-02"},"Groups":[
               {"Keys":["333333333333","Environment$prod"],"Metrics":{"UnblendedCost":{"Amount":"8","Unit":"USD"}}},
               {"Keys":["333333333333","Environment$dev"],"Metrics":{"UnblendedCost":{"Amount":"0.3","Unit":"USD"}}},
               {"Keys":["333333333333","Environment$"],"Metrics":{"UnblendedCost":{"Amount":"0.1","Unit":"USD"}}}]}]}"#,
        );
        let cost = LinkedCost::from_pages(&[by_service], &[by_tag]).unwrap();
        let spend = |env: &str, share: bool| -> Decimal {
            let page = cost.page_for("333333333333", env, share, d("2026-12-01"), d("2026-12-02"));
            let table = cost::input::DailyCostTable::from_pages(&[page], COST_METRIC).unwrap();
            table
                .for_environment(env, true)
                .rows
                .iter()
                .map(|r| r.amount)
                .sum()
        };
        // dev: (0.3 tagged + 0.1 untagged) of 8.4 — $0.40, not the account's $8.40.
        assert_eq!(spend("dev", true).round_dp(2), Decimal::new(40, 2));
        assert_eq!(spend("prod", true).round_dp(2), Decimal::new(810, 2));
        assert_eq!(
            spend("dev", false),
            Decimal::new(84, 1),
            "without the share: the whole account"
        );
    }

    #[test]
    fn a_platform_page_holds_only_its_accounts_spend_keyed_as_its_environment() {
        let cost = linked();
        let page = cost.page_for("111111111111", "prod", false, d("2026-12-01"), d("2026-12-03"));
        let table = cost::input::DailyCostTable::from_pages(&[page], COST_METRIC).unwrap();
        let prod = table.for_environment("prod", false);
        let total: Decimal = prod.rows.iter().map(|r| r.amount).sum();
        assert_eq!(
            total,
            Decimal::new(375, 2),
            "1.5 Lambda + 2.25 Rekognition, not the other account's 4"
        );
        assert!(prod.rows.iter().all(|r| r.environment.as_deref() == Some("prod")));
        assert_eq!(
            prod.days.get(&d("2026-12-02")),
            Some(&true),
            "estimated flag kept"
        );
        let window = cost.page_for("111111111111", "prod", false, d("2026-12-02"), d("2026-12-03"));
        assert_eq!(window.results_by_time.len(), 1);
    }

    #[test]
    fn account_totals_and_untagged_spend() {
        let cost = linked();
        let by_account = cost.by_account(d("2026-12-01"), d("2026-12-03"));
        assert_eq!(by_account["111111111111"], Decimal::new(375, 2));
        assert_eq!(by_account["222222222222"], Decimal::from(4));
        let untagged = cost.untagged(d("2026-12-01"), d("2026-12-03"));
        assert_eq!(untagged["111111111111"], Decimal::new(5, 1));
        assert!(!untagged.contains_key("222222222222"));
    }

    #[test]
    fn a_page_without_spend_needs_no_group_definitions() {
        let empty = page(
            r#"{"ResultsByTime":[{"TimePeriod":{"Start":"2026-12-01","End":"2026-12-02"},"Groups":[]}]}"#,
        );
        let cost =
            LinkedCost::from_pages(std::slice::from_ref(&empty), std::slice::from_ref(&empty)).unwrap();
        assert!(cost.by_account(d("2026-12-01"), d("2026-12-02")).is_empty());
    }

    #[test]
    fn a_page_grouped_otherwise_is_refused() {
        let wrong = page(
            r#"{"GroupDefinitions":[{"Type":"DIMENSION","Key":"SERVICE"}],"ResultsByTime":[
            {"TimePeriod":{"Start":"2026-12-01","End":"2026-12-02"},"Groups":[
              {"Keys":["AWS Lambda"],"Metrics":{"UnblendedCost":{"Amount":"1","Unit":"USD"}}}]}]}"#,
        );
        let err = LinkedCost::from_pages(&[wrong], &[]).unwrap_err().to_string();
        assert!(err.contains("LINKED_ACCOUNT and SERVICE"), "{err}");
    }

    /// A `GetCostAndUsage` answer grouped by `LINKED_ACCOUNT` and `SERVICE`, no results yet.
    fn linked_answer()
    -> aws_sdk_costexplorer::operation::get_cost_and_usage::builders::GetCostAndUsageOutputBuilder {
        let group = |key: &str| {
            CeGroupDefinition::builder()
                .r#type(GroupDefinitionType::Dimension)
                .key(key)
                .build()
        };
        aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput::builder()
            .group_definitions(group(LINKED_ACCOUNT))
            .group_definitions(group("SERVICE"))
    }

    /// A Cost Explorer client answering every `GetCostAndUsage` with [`linked_answer`], and its rule.
    fn answering() -> (aws_smithy_mocks::Rule, aws_sdk_costexplorer::Client) {
        use aws_smithy_mocks::{mock, mock_client};
        let answer = linked_answer().build();
        let rule =
            mock!(aws_sdk_costexplorer::Client::get_cost_and_usage).then_output(move || answer.clone());
        let ce = mock_client!(aws_sdk_costexplorer, [&rule]);
        (rule, ce)
    }

    #[tokio::test]
    async fn a_second_read_the_same_day_sends_nothing_and_the_cap_holds() {
        let (rule, ce) = answering();
        let ledger = crate::ledger::MemoryLedger::default();
        let query = PayerQuery {
            ce: &ce,
            ledger: &ledger,
            org_name: "acme",
            cap: 1,
            untagged: false,
        };
        let now = "2026-12-10T08:00:00Z".parse().unwrap();
        // Read at `now` by the wall clock too: the three reads count on one day, whenever the test runs.
        let query = &query;
        let read = |start, end| async move { query.read_counting_at(start, end, now, now, &mut 0).await };
        let first = read(d("2026-11-01"), d("2026-12-11")).await.unwrap();
        assert_eq!(
            (first.ce_requests_this_run, first.ce_requests_today, first.cached),
            (1, 1, false)
        );
        let second = read(d("2026-11-05"), d("2026-12-11")).await.unwrap();
        assert_eq!((second.ce_requests_this_run, second.cached), (0, true));
        assert_eq!(rule.num_calls(), 1);
        // A wider window is not in the cache, and the cap (1) is used up: refused before any request.
        let third = read(d("2026-10-01"), d("2026-12-11")).await.unwrap_err();
        assert!(third.to_string().contains("cap reached"), "{third}");
        assert_eq!(rule.num_calls(), 1);
    }

    /// Two runs at once (the schedule beside an operator's `org plan`): one reads Cost Explorer, the
    /// other waits for its cache — one read's requests, never a second run into the cap. And a run
    /// that finds another still reading after the wait says so instead of paying twice.
    #[tokio::test(start_paused = true)]
    async fn two_reads_at_once_pay_once() {
        let (rule, ce) = answering();
        let ledger = crate::ledger::MemoryLedger::default();
        let query = PayerQuery {
            ce: &ce,
            ledger: &ledger,
            org_name: "acme",
            cap: 1,
            untagged: false,
        };
        let now = "2026-12-10T08:00:00Z".parse().unwrap();
        // The other run holds the day's reading lease: this one waits, then says why it read nothing.
        let pk = cache_pk("acme");
        ledger
            .claim(&pk, "2026-12-10#reading", "reading", CACHE_KEEP)
            .await
            .unwrap();
        let at = Utc::now();
        ledger
            .lease(&pk, "2026-12-10#reading", at + READ_LEASE, at)
            .await
            .unwrap()
            .unwrap();
        let refused = query
            .read(d("2026-11-01"), d("2026-12-11"), now)
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("another run is reading"),
            "{refused}"
        );
        assert_eq!(rule.num_calls(), 0);
        // It finished: this run, started while it was still reading, waits for its cache and sends
        // nothing (without the lease it would have read at once: a second read, past the cap of 1).
        let (waiting, finished) = tokio::join!(query.read(d("2026-11-01"), d("2026-12-11"), now), async {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            // The other reader ends its lease; its read (here) fills the cache.
            ledger.end_leases();
            query.read(d("2026-11-01"), d("2026-12-11"), now).await
        });
        let (waiting, finished) = (waiting.unwrap(), finished.unwrap());
        assert_eq!(rule.num_calls(), 1, "one read's request, within the cap of 1");
        assert_eq!((finished.ce_requests_this_run, finished.cached), (1, false));
        assert_eq!((waiting.ce_requests_this_run, waiting.cached), (0, true));
    }

    /// Issue 13 item 4 in the organisation's read: a throttled attempt the SDK retries is a billed request
    /// too — counted in the run's figure and in the ledger's daily counter, and held to the cap.
    #[tokio::test]
    async fn retried_attempts_are_counted_and_held_to_the_cap() {
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::retry::RetryConfig;
        let throttled = || {
            let mut r = HttpResponse::new(
                400.try_into().unwrap(),
                SdkBody::from(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#),
            );
            r.headers_mut()
                .insert("content-type", "application/x-amz-json-1.1");
            r
        };
        let answer = linked_answer().build();
        // One rule, two answers in turn (a rule made with `then_*` answers the same every time).
        let rule = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .sequence()
            .http_response(throttled)
            .output(move || answer.clone())
            .build();
        /// The SDK retries only with a sleep to wait between attempts (the mock client has none).
        #[derive(Debug)]
        struct TokioSleep;
        impl aws_sdk_costexplorer::config::AsyncSleep for TokioSleep {
            fn sleep(&self, d: std::time::Duration) -> aws_sdk_costexplorer::config::Sleep {
                aws_sdk_costexplorer::config::Sleep::new(tokio::time::sleep(d))
            }
        }
        let retrying = |c: aws_sdk_costexplorer::config::Builder| {
            c.retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(std::time::Duration::from_millis(1)),
            )
            .sleep_impl(aws_sdk_costexplorer::config::SharedAsyncSleep::new(TokioSleep))
        };
        let ce = mock_client!(aws_sdk_costexplorer, RuleMode::Sequential, [&rule], retrying);
        let ledger = crate::ledger::MemoryLedger::default();
        let query = PayerQuery {
            ce: &ce,
            ledger: &ledger,
            org_name: "acme",
            cap: 3,
            untagged: false,
        };
        let now = "2026-12-10T08:00:00Z".parse().unwrap();
        let read = query.read(d("2026-11-01"), d("2026-12-11"), now).await.unwrap();
        assert_eq!(
            (read.ce_requests_this_run, read.ce_requests_today),
            (2, 2),
            "the throttled attempt and the answered one"
        );
        assert_eq!(rule.num_calls(), 2);
        // With a cap of 1 the retry is never sent: the read fails with the cap, one request billed.
        let first = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage).then_http_response(throttled);
        let ce = mock_client!(aws_sdk_costexplorer, RuleMode::Sequential, [&first], retrying);
        let ledger = crate::ledger::MemoryLedger::default();
        let query = PayerQuery {
            ce: &ce,
            ledger: &ledger,
            org_name: "acme",
            cap: 1,
            untagged: false,
        };
        let mut sent = 0;
        // The read is made on Dec 12 (wall clock) for the report day Dec 10: one fixed instant, so the
        // day counted is the day read back below whenever the suite runs (midnight UTC included).
        let wall: DateTime<Utc> = "2026-12-12T00:30:00Z".parse().unwrap();
        let err = query
            .read_counting_at(d("2026-11-01"), d("2026-12-11"), now, wall, &mut sent)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cap"), "{err}");
        // The mock picks its answer before the attempt is refused, so only the counter tells what
        // went on the wire: the first attempt, not the retry.
        assert_eq!(sent, 1);
        let pk = org_ce_counter("acme");
        let counted = |day: &'static str| ledger.counter(&pk, day);
        assert_eq!(
            counted("2026-12-12").await.unwrap(),
            1,
            "the real day's counter holds the one billed request (the report's day is {now})"
        );
        assert_eq!(counted("2026-12-10").await.unwrap(), 0, "not the report's day");
    }

    /// A day's first read asks Cost Explorer only from the first day not settled by an earlier read;
    /// the settled days come from the ledger, and the whole window is still there.
    #[tokio::test]
    async fn the_next_days_read_asks_only_from_the_first_unsettled_day() {
        use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageInput;
        use aws_sdk_costexplorer::types::{
            DateInterval as Period, Group as CeGroup, MetricValue, ResultByTime as CeDay,
        };
        use aws_smithy_mocks::{mock, mock_client};
        // Every day of [from, to) at $2 for one account; the last two days before `to` estimated.
        let answer = |from: &str, to: &str| {
            let (from, to) = (d(from), d(to));
            let mut out = linked_answer();
            for day in from.iter_days().take_while(|x| *x < to) {
                out = out.results_by_time(
                    CeDay::builder()
                        .time_period(
                            Period::builder()
                                .start(day.to_string())
                                .end(day.succ_opt().unwrap().to_string())
                                .build()
                                .unwrap(),
                        )
                        .estimated(day + chrono::Duration::days(3) >= to)
                        .groups(
                            CeGroup::builder()
                                .keys("111111111111")
                                .keys("AWS Lambda")
                                .metrics(
                                    COST_METRIC,
                                    MetricValue::builder().amount("2").unit("USD").build(),
                                )
                                .build(),
                        )
                        .build(),
                );
            }
            out.build()
        };
        let starts = |start: &'static str| {
            move |r: &GetCostAndUsageInput| r.time_period().map(CeInterval::start) == Some(start)
        };
        let first_answer = answer("2026-11-01", "2026-12-11");
        let whole = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .match_requests(starts("2026-11-01"))
            .then_output(move || first_answer.clone());
        // Dec 10 was today (partial), Dec 8 and 9 estimated: the next day asks from Dec 8.
        let next_answer = answer("2026-12-08", "2026-12-12");
        let recent = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .match_requests(starts("2026-12-08"))
            .then_output(move || next_answer.clone());
        let ce = mock_client!(
            aws_sdk_costexplorer,
            aws_smithy_mocks::RuleMode::MatchAny,
            [&whole, &recent]
        );
        let ledger = crate::ledger::MemoryLedger::default();
        let query = PayerQuery {
            ce: &ce,
            ledger: &ledger,
            org_name: "acme",
            cap: 3,
            untagged: false,
        };
        let first = query
            .read(
                d("2026-11-01"),
                d("2026-12-11"),
                "2026-12-10T08:00:00Z".parse().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!((first.ce_requests_this_run, first.cost.days.len()), (1, 40));
        let next = query
            .read(
                d("2026-11-02"),
                d("2026-12-12"),
                "2026-12-11T08:00:00Z".parse().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!((whole.num_calls(), recent.num_calls()), (1, 1));
        assert_eq!(next.ce_requests_this_run, 1);
        // The whole window, settled days from the ledger and the rest from the new answer.
        assert_eq!(next.cost.days.len(), 40);
        assert_eq!(next.cost.days.keys().next(), Some(&d("2026-11-02")));
        assert!(!next.cost.days[&d("2026-12-07")].estimated);
        assert_eq!(
            next.cost.by_account(d("2026-11-02"), d("2026-12-12"))["111111111111"],
            Decimal::from(80)
        );
        // Today's key holds only the days that are not settled (Dec 9–10 estimated, Dec 11 today)
        // and the list of the 37 settled ones, read back from the settled store: the same window.
        let pk = cache_pk("acme");
        let unsettled: Vec<(String, (NaiveDate, LinkedDay))> =
            snapshots(&ledger, &pk, "2026-12-11#d", "2026-12-11#e")
                .await
                .unwrap();
        let unsettled: Vec<NaiveDate> = unsettled.into_iter().map(|(_, (d, _))| d).collect();
        assert_eq!(unsettled, [d("2026-12-09"), d("2026-12-10"), d("2026-12-11")]);
        let later = "2026-12-11T09:00:00Z".parse().unwrap();
        let again = query
            .cached(d("2026-11-02"), d("2026-12-12"), later)
            .await
            .unwrap()
            .expect("the window is cached");
        assert_eq!((again.cached, again.ce_requests_this_run), (true, 0));
        assert_eq!(again.cost.days, next.cost.days);
        // A listed settled day that is no longer stored: not cached, rather than a gap in the window.
        let mut listed: Vec<NaiveDate> = d("2026-11-02").iter_days().take(37).collect();
        listed.push(d("2026-12-10"));
        put_snapshot(&ledger, &pk, "2026-12-11#settled", &listed, CACHE_KEEP)
            .await
            .unwrap();
        assert!(
            query
                .cached(d("2026-11-02"), d("2026-12-12"), later)
                .await
                .unwrap()
                .is_none()
        );
        // A read that also needs the untagged spend cannot use days stored without it.
        let tagged = PayerQuery {
            untagged: true,
            ..query
        };
        assert!(
            tagged
                .settled_days(d("2026-11-02"), d("2026-12-12"), d("2026-12-11"))
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// A `GetCostAndUsage` answer in which every day of `[from, to)` holds `groups` (account, service,
    /// USD), `Estimated` when `estimated` says so.
    fn days_answer(
        from: &str,
        to: &str,
        estimated: impl Fn(NaiveDate) -> bool,
        groups: &[(String, String, String)],
    ) -> aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput {
        use aws_sdk_costexplorer::types::{
            DateInterval as Period, Group as CeGroup, MetricValue, ResultByTime as CeDay,
        };
        let (from, to) = (d(from), d(to));
        let mut out = linked_answer();
        for day in from.iter_days().take_while(|x| *x < to) {
            let period = Period::builder()
                .start(day.to_string())
                .end(day.succ_opt().unwrap().to_string())
                .build()
                .unwrap();
            let mut result = CeDay::builder().time_period(period).estimated(estimated(day));
            for (account, service, usd) in groups {
                result = result.groups(
                    CeGroup::builder()
                        .keys(account)
                        .keys(service)
                        .metrics(
                            COST_METRIC,
                            MetricValue::builder().amount(usd).unit("USD").build(),
                        )
                        .build(),
                );
            }
            out = out.results_by_time(result.build());
        }
        out.build()
    }

    /// Matches the requests whose period starts on `start`.
    fn starting(
        start: &'static str,
    ) -> impl Fn(&aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageInput) -> bool
    + Send
    + Sync
    + 'static {
        move |r| r.time_period().map(CeInterval::start) == Some(start)
    }

    fn lambda_at(usd: &str) -> Vec<(String, String, String)> {
        vec![("111111111111".to_owned(), "AWS Lambda".to_owned(), usd.to_owned())]
    }

    /// DynamoDB refuses an item over 400 KB, and one day of a large organisation (a row per account ×
    /// service) is more: the read failed after Cost Explorer was paid, nothing was cached, and every
    /// run paid again into the cap. A day is stored in parts of at most 300 KB and read back whole; a
    /// part missing means "not stored", never a smaller day.
    #[tokio::test]
    async fn a_thousand_accounts_day_is_stored_in_parts_and_read_back_whole() {
        use aws_smithy_mocks::{mock, mock_client};
        let services = [
            "Amazon Elastic Compute Cloud - Compute",
            "AWS Lambda",
            "Amazon Simple Storage Service",
            "Amazon DynamoDB",
            "AmazonCloudWatch",
            "AWS Key Management Service",
            "Amazon Virtual Private Cloud",
            "Amazon Simple Queue Service",
            "AWS Step Functions",
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
        ];
        let groups: Vec<(String, String, String)> = (0..1_000_u64)
            .flat_map(|a| {
                services.iter().map(move |s| {
                    (
                        format!("{:012}", 100_000_000_000 + a),
                        (*s).to_owned(),
                        "12.3456789012".to_owned(),
                    )
                })
            })
            .collect();
        // Dec 8 final (the settled store); Dec 9 estimated and Dec 10 today (today's cache).
        let answer = days_answer("2026-12-08", "2026-12-11", |day| day > d("2026-12-08"), &groups);
        let rule =
            mock!(aws_sdk_costexplorer::Client::get_cost_and_usage).then_output(move || answer.clone());
        let ce = mock_client!(aws_sdk_costexplorer, [&rule]);
        let ledger = crate::ledger::MemoryLedger::default();
        let query = PayerQuery {
            ce: &ce,
            ledger: &ledger,
            org_name: "acme",
            cap: 3,
            untagged: false,
        };
        let (start, end) = (d("2026-12-08"), d("2026-12-11"));
        let now = "2026-12-10T08:00:00Z".parse().unwrap();
        let read = query.read(start, end, now).await.unwrap();
        assert_eq!(read.cost.days.len(), 3);
        assert!(read.cost.days.values().all(|day| day.rows.len() == 10_000));
        // Read back whole, with no second request.
        let again = query
            .cached(start, end, now)
            .await
            .unwrap()
            .expect("the day's cache covers the window");
        assert_eq!(again.cost.days, read.cost.days);
        assert_eq!(rule.num_calls(), 1);
        // Every item well under DynamoDB's 400 KB; each day took several.
        for pk in [cache_pk("acme"), settled_pk("acme")] {
            for (sk, body) in ledger.snapshot_bodies(&pk, "", "~").await.unwrap() {
                assert!(body.len() <= MAX_PART_BYTES, "{pk}/{sk}: {} bytes", body.len());
            }
        }
        for (pk, sk) in [
            (settled_pk("acme"), "2026-12-08"),
            (cache_pk("acme"), "2026-12-10#d2026-12-09"),
            (cache_pk("acme"), "2026-12-10#d2026-12-10"),
        ] {
            let parts = ledger
                .snapshot_bodies(&pk, sk, &format!("{sk}#p~"))
                .await
                .unwrap();
            assert!(parts.len() >= 3, "{pk}/{sk}: {} parts", parts.len());
        }
        // The settled day serves the next day's read, whole.
        let settled = query.settled_days(start, end, d("2026-12-11")).await.unwrap();
        assert_eq!(settled.get(&start), read.cost.days.get(&start));
        // A part missing (a write that died half-way, an item expired) in today's cache: not cached.
        let (pk, key) = (cache_pk("acme"), "2026-12-10#d2026-12-09");
        let (_, body) = ledger.snapshot_bodies(&pk, key, key).await.unwrap().remove(0);
        let mut first: Part = serde_json::from_str(&body).unwrap();
        first.part.count += 1;
        put_snapshot(&ledger, &pk, key, &first, CACHE_KEEP).await.unwrap();
        assert!(query.cached(start, end, now).await.unwrap().is_none());
        // A part of another write in the settled store: the day is not stored, so it is read again.
        let pk = settled_pk("acme");
        let (_, body) = ledger
            .snapshot_bodies(&pk, "2026-12-08", "2026-12-08")
            .await
            .unwrap()
            .remove(0);
        let mut first: Part = serde_json::from_str(&body).unwrap();
        first.part.id = "another write".to_owned();
        put_snapshot(&ledger, &pk, "2026-12-08", &first, SETTLED_KEEP)
            .await
            .unwrap();
        assert!(
            query
                .settled_days(start, end, d("2026-12-11"))
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// `org plan --date D` the next morning: the cache D's own 06:00 run left holds six hours of D,
    /// and served the report of D's end (spend and tier too low). It is read again; a run later the same
    /// day still reuses the day's answer (the cap allows one read a day).
    #[tokio::test]
    async fn a_past_day_is_read_again_rather_than_served_by_the_cache_of_its_morning() {
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        // Cost Explorer's answer at 06:00 ($1 of Dec 10 booked), then the next morning ($24).
        let (morning, whole) = (
            days_answer("2026-12-09", "2026-12-11", |_| true, &lambda_at("1")),
            days_answer("2026-12-09", "2026-12-11", |_| true, &lambda_at("24")),
        );
        let rule = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .sequence()
            .output(move || morning.clone())
            .output(move || whole.clone())
            .build();
        let ce = mock_client!(aws_sdk_costexplorer, RuleMode::Sequential, [&rule]);
        let ledger = crate::ledger::MemoryLedger::default();
        let query = PayerQuery {
            ce: &ce,
            ledger: &ledger,
            org_name: "acme",
            cap: 3,
            untagged: false,
        };
        let (start, end) = (d("2026-12-09"), d("2026-12-11"));
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let dec_10 = |read: &PayerRead| read.cost.by_account(d("2026-12-10"), end)["111111111111"];
        // The day's own run at 06:00, and one at 10:00 that reuses its answer.
        let six = at("2026-12-10T06:00:00Z");
        let first = query
            .read_counting_at(start, end, six, six, &mut 0)
            .await
            .unwrap();
        let ten = at("2026-12-10T10:00:00Z");
        let later = query
            .read_counting_at(start, end, ten, ten, &mut 0)
            .await
            .unwrap();
        assert_eq!((first.cached, later.cached, rule.num_calls()), (false, true, 1));
        assert_eq!(dec_10(&later), Decimal::ONE);
        // The next morning, the report of Dec 10's end: not the 06:00 cache — read again.
        let day_end = at("2026-12-10T23:59:59Z");
        let mut sent = 0;
        let past = query
            .read_counting_at(start, end, day_end, at("2026-12-11T08:00:00Z"), &mut sent)
            .await
            .unwrap();
        assert_eq!((past.cached, sent, rule.num_calls()), (false, 1, 2));
        assert_eq!(dec_10(&past), Decimal::from(24));
        // That read, made after the day's end, serves the same past day again.
        let again = query
            .read_counting_at(start, end, day_end, at("2026-12-11T09:00:00Z"), &mut 0)
            .await
            .unwrap();
        assert_eq!((again.cached, rule.num_calls()), (true, 2));
        assert_eq!(dec_10(&again), Decimal::from(24));
    }

    /// Cost Explorer marks every day of the open month `Estimated`, so the settled store held none of
    /// December and each day's first read asked again from the 1st — for a large organisation many
    /// pages, and past the cap a read that never converges. A day three days old is kept, flag and
    /// all: the next day asks from the first day not stored. Three days after December closes, its
    /// estimated days are read once more, and kept as found.
    #[tokio::test]
    async fn the_open_months_estimated_days_are_kept_once_three_days_old() {
        use aws_smithy_mocks::{RuleMode, mock, mock_client};
        let december_on = |day: NaiveDate| day >= d("2026-12-01");
        let first_answer = days_answer("2026-11-01", "2026-12-11", december_on, &lambda_at("2"));
        let whole = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .match_requests(starting("2026-11-01"))
            .then_output(move || first_answer.clone());
        let next_answer = days_answer("2026-12-08", "2026-12-12", december_on, &lambda_at("2"));
        let recent = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .match_requests(starting("2026-12-08"))
            .then_output(move || next_answer.clone());
        let ce = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&whole, &recent]);
        let ledger = crate::ledger::MemoryLedger::default();
        let query = PayerQuery {
            ce: &ce,
            ledger: &ledger,
            org_name: "acme",
            cap: 10,
            untagged: false,
        };
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        query
            .read(d("2026-11-01"), d("2026-12-11"), at("2026-12-10T08:00:00Z"))
            .await
            .unwrap();
        // Dec 1–7 are three days old on Dec 10: the next day asks from Dec 8, not from Dec 1.
        let next = query
            .read(d("2026-11-02"), d("2026-12-12"), at("2026-12-11T08:00:00Z"))
            .await
            .unwrap();
        assert_eq!((whole.num_calls(), recent.num_calls()), (1, 1));
        assert_eq!(next.cost.days.len(), 40);
        assert!(
            next.cost.days[&d("2026-12-07")].estimated,
            "kept as Cost Explorer marked it"
        );
        assert_eq!(
            next.cost.by_account(d("2026-11-02"), d("2026-12-12"))["111111111111"],
            Decimal::from(80)
        );
        // December's estimates stand until three days after it closes; then they are read once more.
        let december = (d("2026-12-01"), d("2027-01-01"));
        let kept = query
            .settled_days(december.0, december.1, d("2027-01-03"))
            .await
            .unwrap();
        assert_eq!(kept.len(), 8, "Dec 1–8");
        assert!(
            query
                .settled_days(december.0, december.1, d("2027-01-04"))
                .await
                .unwrap()
                .is_empty()
        );
        let reread_answer = days_answer("2026-12-01", "2027-01-05", |_| true, &lambda_at("3"));
        let reread = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .match_requests(starting("2026-12-01"))
            .then_output(move || reread_answer.clone());
        let last_answer = days_answer("2027-01-02", "2027-01-06", |_| true, &lambda_at("3"));
        let last = mock!(aws_sdk_costexplorer::Client::get_cost_and_usage)
            .match_requests(starting("2027-01-02"))
            .then_output(move || last_answer.clone());
        let ce = mock_client!(aws_sdk_costexplorer, RuleMode::MatchAny, [&reread, &last]);
        let query = PayerQuery { ce: &ce, ..query };
        query
            .read(d("2026-12-01"), d("2027-01-05"), at("2027-01-04T08:00:00Z"))
            .await
            .unwrap();
        // Read once after the close, still `Estimated`: kept as found, not read again the next day.
        let after = query
            .read(d("2026-12-02"), d("2027-01-06"), at("2027-01-05T08:00:00Z"))
            .await
            .unwrap();
        assert_eq!((reread.num_calls(), last.num_calls()), (1, 1));
        assert_eq!(
            after.cost.by_account(december.0, december.1)["111111111111"],
            Decimal::from(90),
            "Dec 2–31 as the read after the close found them"
        );
    }
}
