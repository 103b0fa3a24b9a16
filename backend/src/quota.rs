//! Daily quotas: one per user for each costly request, and one for the whole service on valuations.
//!
//! **Per user** ([`DailyQuota`]): every presigned upload, every card created (new or repeated) and every
//! revaluation request is counted against a limit per user and UTC day.
//!
//! **The service** ([`ValuationCeiling`]): every valuation started — a Step Functions run, two
//! Rekognition calls and a Bedrock call, whoever asked for it — is counted against one limit per UTC
//! day for all users together. Cognito sign-up is open, so per-user limits alone let Bedrock spend grow
//! with sign-ups (each new user brings a fresh quota); the ceiling bounds the day's valuations whatever
//! the number of users. It counts valuations, not requests: a replayed request that finds its valuation
//! running (409) never reaches it, a valuation whose execution could not be started is given back
//! ([`ValuationCeiling::refund`]), and Step Functions' own retries inside an execution are one
//! valuation.
//!
//! Both are counted the same way: one DynamoDB item per counter and UTC day in the cards table —
//! `PK = QUOTA#{userId pseudonym}`, `SK = {action}#{YYYY-MM-DD}` for a user, `PK = QUOTA#service`,
//! `SK = valuation#{YYYY-MM-DD}` for the service — counted with one conditional `UpdateItem`
//! (`ADD used :one`, condition `attribute_not_exists(used) OR used < :limit`), so concurrent requests
//! can never pass the limit together. The item carries `expiresAt` (epoch seconds, the table's TTL
//! attribute): the end of the following UTC day. A refused request is
//! [`HandlerError::TooManyRequests`] — HTTP 429 with `Retry-After` = the seconds left until the next UTC
//! midnight, and a message saying whose limit it is ("your daily limit …", "the service's daily limit
//! …"). Quota items hold the keyed pseudonym, never the `sub` (pseudonyms start with `u_`, so no user's
//! counter is the service's), and have no `userId`/`status`, so they stay out of both indexes. Spec:
//! DynamoDB `UpdateItem` condition expressions and TTL
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>,
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html>).

use crate::HandlerError;
use crate::error::sdk_error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

/// What is counted per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaAction {
    /// `POST /upload/presign`.
    Presign,
    /// `POST /cards/{id}/revalue`.
    Revalue,
    /// `POST /cards`.
    Create,
}

impl QuotaAction {
    /// The sort-key prefix and the word in messages.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Presign => "presign",
            Self::Revalue => "revalue",
            Self::Create => "create",
        }
    }
}

/// A daily limit: a whole number, at least 1 (a limit of 0 would refuse every request). Parsed from
/// the environment with [`crate::config::parsed`], which names the variable when it is not one:
///
/// ```
/// use backend::quota::DailyLimit;
/// assert_eq!("20".parse::<DailyLimit>().map(DailyLimit::get), Ok(20));
/// assert!("0".parse::<DailyLimit>().unwrap_err().to_string().contains("at least 1"));
/// assert!("-1".parse::<DailyLimit>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DailyLimit(u32);

impl DailyLimit {
    /// `n` uses a day; `None` for 0.
    #[must_use]
    pub const fn new(n: u32) -> Option<Self> {
        if n == 0 { None } else { Some(Self(n)) }
    }

    /// The number of uses a day.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for DailyLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a daily limit does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DailyLimitError {
    /// Not a whole number.
    #[error("must be a whole number of uses a day: {0}")]
    NotANumber(#[from] std::num::ParseIntError),
    /// 0.
    #[error("must be at least 1 (a daily limit of 0 would refuse every request)")]
    Zero,
}

impl std::str::FromStr for DailyLimit {
    type Err = DailyLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s.parse()?).ok_or(DailyLimitError::Zero)
    }
}

/// Default `PRESIGN_DAILY_LIMIT`: 200 presigned uploads per user and UTC day (two images per card:
/// a hundred cards a day, more than any collector registers by hand).
pub const DEFAULT_PRESIGN_DAILY_LIMIT: DailyLimit = DailyLimit(200);
/// Default `REVALUE_DAILY_LIMIT`: 20 revaluations per user and UTC day.
pub const DEFAULT_REVALUE_DAILY_LIMIT: DailyLimit = DailyLimit(20);
/// Default `CREATE_DAILY_LIMIT`: 100 cards created per user and UTC day — the hundred cards a day the
/// presign limit's two images per card allow. A repeated create (answered with its card) counts too.
pub const DEFAULT_CREATE_DAILY_LIMIT: DailyLimit = DailyLimit(100);
/// Default `SERVICE_VALUATION_DAILY_LIMIT`: 3,000 valuations per UTC day, all users together — six a
/// day per dollar of seed 001's $500 prod budget (Terraform sets the variable from each environment's
/// budget the same way: 300 in dev). A 31-day month at the ceiling is 93,000 valuations: $746 at Claude
/// 3.5 Sonnet's list prices (seed 000's table with Bedrock at $3/$15 per million tokens, $0.00802 a
/// valuation), 149 % of the budget — under seed 000's critical "Cost > 150% of budget" — and $327 at
/// seed 000's own $0.00352; seed 000's design load (50,000 a month, ~1,613 a day) has 1.86× headroom.
/// docs/backend.md, "Daily quotas".
pub const DEFAULT_SERVICE_VALUATION_DAILY_LIMIT: DailyLimit = DailyLimit(3_000);

/// The partition key of the service's counters.
pub const SERVICE_QUOTA_PK: &str = "QUOTA#service";

/// Where a quota reads the time: the system clock in a function; a fixed instant in a test, so every
/// request the test makes falls on the same UTC day whenever the suite runs (a suite crossing 00:00 UTC
/// would otherwise count half its requests on the next day's counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuotaClock {
    /// [`crate::model::now`].
    #[default]
    System,
    /// Always this instant.
    Fixed(DateTime<Utc>),
}

impl QuotaClock {
    /// The instant a request is counted at.
    #[must_use]
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Self::System => crate::model::now(),
            Self::Fixed(t) => t,
        }
    }
}

/// Seconds from `now` to the next UTC midnight (1..=86400): the `Retry-After` of a refused request.
///
/// ```
/// let t = chrono::DateTime::parse_from_rfc3339("2026-11-22T23:59:30Z").unwrap().to_utc();
/// assert_eq!(backend::quota::seconds_to_next_utc_midnight(t), 30);
/// let midnight = chrono::DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z").unwrap().to_utc();
/// assert_eq!(backend::quota::seconds_to_next_utc_midnight(midnight), 86_400);
/// ```
#[must_use]
pub fn seconds_to_next_utc_midnight(now: DateTime<Utc>) -> u64 {
    let next = next_midnight(now);
    u64::try_from((next - now).num_seconds().max(1)).unwrap_or(1)
}

fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let day = now.date_naive();
    day.succ_opt()
        .unwrap_or(day)
        .and_hms_opt(0, 0, 0)
        .map_or(now + Duration::days(1), |t| t.and_utc())
}

/// `{prefix}#{YYYY-MM-DD}`: a counter's sort key on the UTC day of `now`.
fn day_key(prefix: &str, now: DateTime<Utc>) -> String {
    format!("{prefix}#{}", now.format("%Y-%m-%d"))
}

/// A counter per key and UTC day, `limit` uses a day: what both quotas count with.
#[derive(Debug, Clone)]
struct DayCounter {
    client: Client,
    table: String,
    limit: DailyLimit,
    clock: QuotaClock,
}

impl DayCounter {
    /// `limit` uses a day, counted in `table`, on the system clock.
    fn new(client: Client, table: String, limit: DailyLimit) -> Self {
        Self {
            client,
            table,
            limit,
            clock: QuotaClock::System,
        }
    }

    /// Counts one use on the item `pk`/`sk`: how many that day has had, this one included; `None` when
    /// the limit is reached (nothing counted).
    ///
    /// Not idempotent, and nothing here can make it so: `UpdateItem` takes no idempotency token, and a
    /// marker of the last request on the counter would be overwritten by any concurrent request, so a
    /// retry could not prove the use was already counted. A write that commits but whose answer is lost
    /// (a 5xx, a dropped connection) is counted again by the SDK's retry — one use too many, never one
    /// too few; retrying it ourselves or not, the client's own retry would count it again all the same.
    async fn add(&self, pk: String, sk: String, now: DateTime<Utc>) -> Result<Option<u32>, HandlerError> {
        // Kept one day after its own: long enough to look at yesterday's counts, then TTL removes it.
        let expires = next_midnight(now) + Duration::days(1);
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(pk))
            .key("SK", AttributeValue::S(sk))
            .update_expression("ADD used :one SET expiresAt = :exp")
            .condition_expression("attribute_not_exists(used) OR used < :limit")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(self.limit.to_string()))
            .expression_attribute_values(":exp", AttributeValue::N(expires.timestamp().to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match r {
            Ok(out) => Ok(Some(
                out.attributes()
                    .and_then(|a| a.get("used"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
            )),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }

    /// Takes one use back from the item `pk`/`sk`; never below 0, and never recreating an item that is
    /// gone (expired).
    ///
    /// One attempt, no SDK retry: a refund that commits but whose answer is lost would be given back
    /// again by a retry (no idempotency token, and no marker a concurrent refund could not overwrite),
    /// one use too few. A refund that fails is an error callers log and go past: one use too many.
    async fn give_back(&self, pk: String, sk: String) -> Result<(), HandlerError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(pk))
            .key("SK", AttributeValue::S(sk))
            .update_expression("ADD used :minus_one")
            .condition_expression("used > :zero")
            .expression_attribute_values(":minus_one", AttributeValue::N("-1".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .customize()
            .config_override(
                aws_sdk_dynamodb::config::Builder::default()
                    .retry_config(aws_smithy_types::retry::RetryConfig::disabled()),
            )
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
    }
}

fn is_condition_failure<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> bool {
    e.as_service_error()
        .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code)
        == Some("ConditionalCheckFailedException")
}

/// One action's daily limit per user.
#[derive(Debug, Clone)]
pub struct DailyQuota {
    counter: DayCounter,
    action: QuotaAction,
}

impl DailyQuota {
    /// `limit` uses of `action` per user and UTC day, counted in `table`, on the system clock.
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>, action: QuotaAction, limit: DailyLimit) -> Self {
        Self {
            counter: DayCounter::new(client, table.into(), limit),
            action,
        }
    }

    /// The same quota on `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: QuotaClock) -> Self {
        self.counter.clock = clock;
        self
    }

    /// The limit.
    #[must_use]
    pub const fn limit(&self) -> DailyLimit {
        self.counter.limit
    }

    /// The item key of `user`'s counter for the UTC day of `now`.
    #[must_use]
    pub fn key(&self, user: &str, now: DateTime<Utc>) -> (String, String) {
        (format!("QUOTA#{user}"), day_key(self.action.as_str(), now))
    }

    /// Counts one use for `user` (the keyed pseudonym, [`crate::identity::UserHasher::hash`]) on
    /// today's UTC day (by the quota's clock); returns how many uses that day has had, this one
    /// included.
    ///
    /// # Errors
    /// [`HandlerError::TooManyRequests`] ("your daily limit …") when the day's limit is reached (nothing
    /// is counted); SDK errors classified.
    pub async fn charge(&self, user: &str) -> Result<u32, HandlerError> {
        let now = self.counter.clock.now();
        let (pk, sk) = self.key(user, now);
        self.counter
            .add(pk, sk, now)
            .await?
            .ok_or_else(|| HandlerError::TooManyRequests {
                message: format!(
                    "your daily limit of {} {} requests is reached; it resets at 00:00 UTC",
                    self.counter.limit,
                    self.action.as_str()
                ),
                retry_after_secs: seconds_to_next_utc_midnight(now),
            })
    }
}

/// The service's daily ceiling on valuations, all users together (module docs): every operation that
/// starts one charges it once the valuation is sure to start but before anything that costs is called,
/// and refunds it when the valuation surely was not started after all (a timeout keeps the count).
#[derive(Debug, Clone)]
pub struct ValuationCeiling {
    counter: DayCounter,
}

/// One valuation counted by [`ValuationCeiling::charge`]: what [`ValuationCeiling::refund`] gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a valuation that is not started must be refunded"]
pub struct CeilingCharge {
    sk: String,
    used: u32,
}

impl CeilingCharge {
    /// The charge of a valuation requested at `at`: the UTC day the ceiling counted it on (a request
    /// is charged as it is made), for a refund decided later, elsewhere (the error handler).
    pub fn on_day_of(at: DateTime<Utc>) -> Self {
        Self {
            sk: ValuationCeiling::key(at).1,
            used: 0,
        }
    }

    /// Valuations started that UTC day, this one included.
    #[must_use]
    pub const fn used(&self) -> u32 {
        self.used
    }
}

impl ValuationCeiling {
    /// `limit` valuations per UTC day for the whole service, counted in `table`, on the system clock.
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>, limit: DailyLimit) -> Self {
        Self {
            counter: DayCounter::new(client, table.into(), limit),
        }
    }

    /// The ceiling's counter in `table` for giving valuations back only ([`Self::refund`] reads no
    /// limit): the error handler's.
    #[must_use]
    pub fn for_refunds(client: Client, table: impl Into<String>) -> Self {
        Self::new(client, table, DEFAULT_SERVICE_VALUATION_DAILY_LIMIT)
    }

    /// The same ceiling on `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: QuotaClock) -> Self {
        self.counter.clock = clock;
        self
    }

    /// The limit.
    #[must_use]
    pub const fn limit(&self) -> DailyLimit {
        self.counter.limit
    }

    /// The item key of the service's counter for the UTC day of `now`.
    #[must_use]
    pub fn key(now: DateTime<Utc>) -> (String, String) {
        (SERVICE_QUOTA_PK.to_owned(), day_key("valuation", now))
    }

    /// Counts one valuation on today's UTC day (by the ceiling's clock).
    ///
    /// # Errors
    /// [`HandlerError::TooManyRequests`] ("the service's daily limit …") when the day's ceiling is
    /// reached (nothing is counted); SDK errors classified.
    pub async fn charge(&self) -> Result<CeilingCharge, HandlerError> {
        let now = self.counter.clock.now();
        let (pk, sk) = Self::key(now);
        match self.counter.add(pk, sk.clone(), now).await? {
            Some(used) => Ok(CeilingCharge { sk, used }),
            None => {
                tracing::warn!(
                    limit = self.counter.limit.get(),
                    "the service's daily valuation limit is reached: valuations are refused until 00:00 UTC"
                );
                Err(HandlerError::TooManyRequests {
                    message: format!(
                        "the service's daily limit of {} valuations (all users together) is reached; \
                         it resets at 00:00 UTC",
                        self.counter.limit
                    ),
                    retry_after_secs: seconds_to_next_utc_midnight(now),
                })
            }
        }
    }

    /// Gives back a valuation that was charged but not started, on the day it was charged (a charge
    /// just before midnight is refunded to that day's counter, not the next one's).
    ///
    /// # Errors
    /// SDK errors classified. Callers log them and go on: a lost refund counts one valuation too many,
    /// never one too few.
    pub async fn refund(&self, charge: CeilingCharge) -> Result<(), HandlerError> {
        self.counter
            .give_back(SERVICE_QUOTA_PK.to_owned(), charge.sk)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn retry_after_counts_to_the_next_utc_midnight() {
        assert_eq!(seconds_to_next_utc_midnight(at("2026-11-22T00:00:01Z")), 86_399);
        assert_eq!(seconds_to_next_utc_midnight(at("2026-11-22T23:59:59.900Z")), 1);
        assert_eq!(seconds_to_next_utc_midnight(at("2026-12-31T12:00:00Z")), 43_200);
        // a UTC day, whatever the offset the timestamp was written with
        assert_eq!(
            seconds_to_next_utc_midnight(at("2026-11-22T20:00:00-05:00")),
            3_600 * 23
        );
    }

    fn offline_client() -> Client {
        Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        )
    }

    #[test]
    fn one_counter_per_user_action_and_utc_day() {
        let q = DailyQuota::new(offline_client(), "t", QuotaAction::Revalue, DailyLimit(3));
        assert_eq!(
            q.key("u_ab", at("2026-11-22T23:59:59Z")),
            ("QUOTA#u_ab".into(), "revalue#2026-11-22".into())
        );
        assert_eq!(q.key("u_ab", at("2026-11-23T00:00:00Z")).1, "revalue#2026-11-23");
    }

    #[test]
    fn one_service_counter_per_utc_day_apart_from_every_user() {
        assert_eq!(
            ValuationCeiling::key(at("2026-11-22T23:59:59Z")),
            ("QUOTA#service".into(), "valuation#2026-11-22".into())
        );
        assert_eq!(
            ValuationCeiling::key(at("2026-11-23T00:00:00Z")).1,
            "valuation#2026-11-23"
        );
        // a user's counter is QUOTA#u_…: the service's is no pseudonym
        let users = crate::identity::UserHasher::new(vec![7; 32]).unwrap();
        assert_ne!(format!("QUOTA#{}", users.hash("service")), SERVICE_QUOTA_PK);
        assert!(users.hash("service").starts_with("u_"));
    }

    #[test]
    fn a_daily_limit_is_a_whole_number_of_at_least_one() {
        assert_eq!("5".parse::<DailyLimit>(), Ok(DailyLimit(5)));
        assert_eq!("0".parse::<DailyLimit>(), Err(DailyLimitError::Zero));
        assert!(matches!(
            "2.5".parse::<DailyLimit>(),
            Err(DailyLimitError::NotANumber(_))
        ));
        assert_eq!(DailyLimit::new(0), None);
        assert_eq!(DailyLimit::new(7).map(DailyLimit::get), Some(7));
        // the service ceiling leaves room for more than one user's worth of every action
        assert!(DEFAULT_SERVICE_VALUATION_DAILY_LIMIT > DEFAULT_REVALUE_DAILY_LIMIT);
    }

    #[test]
    fn a_fixed_clock_counts_every_request_on_its_day() {
        let t = at("2026-11-22T23:59:59.999Z");
        assert_eq!(QuotaClock::Fixed(t).now(), t);
        let q = DailyQuota::new(offline_client(), "t", QuotaAction::Create, DailyLimit(1))
            .with_clock(QuotaClock::Fixed(t));
        assert_eq!(q.counter.clock.now(), t);
        let c = ValuationCeiling::new(offline_client(), "t", DailyLimit(1)).with_clock(QuotaClock::Fixed(t));
        assert_eq!(c.counter.clock.now(), t);
        let before = Utc::now();
        let now = QuotaClock::System.now();
        assert!(now >= before - Duration::milliseconds(1) && now <= Utc::now());
    }

    #[tokio::test]
    async fn a_refund_is_sent_once_whatever_its_answer() {
        // A refund that committed but whose answer was lost (500) would be given back twice by a
        // retry: one valuation too few. It is sent once; the error is the caller's to log.
        let (http, log) = crate::store::fake_aws::http(|n, _, _| match n {
            0 => crate::store::fake_aws::error(500, "InternalServerError"),
            _ => (200, serde_json::json!({})),
        });
        let ceiling = ValuationCeiling::for_refunds(crate::store::fake_aws::dynamodb(http), "t");
        let charge = CeilingCharge::on_day_of(at("2026-11-22T23:59:59Z"));
        let e = ceiling.refund(charge).await.unwrap_err();
        assert_eq!(e.error_type(), "Retryable", "{e}");
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 1, "one UpdateItem, no SDK retry");
        assert_eq!(log[0].1["UpdateExpression"], "ADD used :minus_one");
        assert_eq!(log[0].1["Key"]["SK"]["S"], "valuation#2026-11-22");
    }
}
