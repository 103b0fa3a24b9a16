//! Per-user daily quotas: every presigned upload, every card created (new or repeated) and every
//! revaluation (a Step Functions run, two Rekognition calls and a Bedrock call) is counted against a
//! limit per user and UTC day.
//!
//! One DynamoDB item per user, action and UTC day in the cards table — `PK = QUOTA#{userId pseudonym}`,
//! `SK = {action}#{YYYY-MM-DD}` — counted with one conditional `UpdateItem`
//! (`ADD used :one`, condition `attribute_not_exists(used) OR used < :limit`), so concurrent requests
//! can never pass the limit together. The item carries `expiresAt` (epoch seconds, the table's TTL
//! attribute): the end of the following UTC day. A refused request is
//! [`HandlerError::TooManyRequests`] — HTTP 429 with `Retry-After` = the seconds left until the next UTC
//! midnight. Quota items hold the keyed pseudonym, never the `sub`, and have no `userId`/`status`, so
//! they stay out of both indexes. Spec: DynamoDB `UpdateItem` condition expressions and TTL
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html>,
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html>).

use crate::HandlerError;
use crate::config::ConfigError;
use crate::error::sdk_error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

/// What is counted.
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

/// Default `PRESIGN_DAILY_LIMIT`: 200 presigned uploads per user and UTC day (two images per card:
/// a hundred cards a day, more than any collector registers by hand).
pub const DEFAULT_PRESIGN_DAILY_LIMIT: u32 = 200;
/// Default `REVALUE_DAILY_LIMIT`: 20 revaluations per user and UTC day.
pub const DEFAULT_REVALUE_DAILY_LIMIT: u32 = 20;
/// Default `CREATE_DAILY_LIMIT`: 100 cards created per user and UTC day — the hundred cards a day the
/// presign limit's two images per card allow. A repeated create (answered with its card) counts too.
pub const DEFAULT_CREATE_DAILY_LIMIT: u32 = 100;

/// A limit read from the environment: at least 1.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the variable when it is not a whole number ≥ 1.
pub fn limit_from_env(name: &'static str, value: u32) -> Result<u32, ConfigError> {
    if value == 0 {
        return Err(ConfigError::Invalid {
            name,
            reason: "must be at least 1 (a daily limit of 0 would refuse every request)".into(),
        });
    }
    Ok(value)
}

/// One action's daily limit per user.
#[derive(Debug, Clone)]
pub struct DailyQuota {
    client: Client,
    table: String,
    action: QuotaAction,
    limit: u32,
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

impl DailyQuota {
    /// `limit` uses of `action` per user and UTC day, counted in `table`.
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>, action: QuotaAction, limit: u32) -> Self {
        Self {
            client,
            table: table.into(),
            action,
            limit,
        }
    }

    /// The limit.
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// The item key of `user`'s counter for the UTC day of `now`.
    #[must_use]
    pub fn key(&self, user: &str, now: DateTime<Utc>) -> (String, String) {
        (
            format!("QUOTA#{user}"),
            format!("{}#{}", self.action.as_str(), now.format("%Y-%m-%d")),
        )
    }

    /// Counts one use for `user` (the keyed pseudonym, [`crate::identity::UserHasher::hash`]) on the UTC
    /// day of `now`; returns how many uses that day has had, this one included.
    ///
    /// # Errors
    /// [`HandlerError::TooManyRequests`] when the day's limit is reached (nothing is counted);
    /// SDK errors classified.
    pub async fn charge(&self, user: &str, now: DateTime<Utc>) -> Result<u32, HandlerError> {
        let (pk, sk) = self.key(user, now);
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
            Ok(out) => Ok(out
                .attributes()
                .and_then(|a| a.get("used"))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)),
            Err(e)
                if e.as_service_error()
                    .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code)
                    == Some("ConditionalCheckFailedException") =>
            {
                Err(HandlerError::TooManyRequests {
                    message: format!(
                        "daily limit of {} {} requests reached; it resets at 00:00 UTC",
                        self.limit,
                        self.action.as_str()
                    ),
                    retry_after_secs: seconds_to_next_utc_midnight(now),
                })
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
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

    #[test]
    fn one_counter_per_user_action_and_utc_day() {
        let client = Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .build(),
        );
        let q = DailyQuota::new(client, "t", QuotaAction::Revalue, 3);
        assert_eq!(
            q.key("u_ab", at("2026-11-22T23:59:59Z")),
            ("QUOTA#u_ab".into(), "revalue#2026-11-22".into())
        );
        assert_eq!(q.key("u_ab", at("2026-11-23T00:00:00Z")).1, "revalue#2026-11-23");
        assert!(
            limit_from_env("REVALUE_DAILY_LIMIT", 0)
                .unwrap_err()
                .to_string()
                .contains("REVALUE_DAILY_LIMIT")
        );
        assert_eq!(limit_from_env("REVALUE_DAILY_LIMIT", 5), Ok(5));
    }
}
