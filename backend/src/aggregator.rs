//! The last task of the valuation: merges the agents' results, persists them (card + `PRICE#` item in
//! one transaction, once per valuation id) and publishes `CardValuationUpdated` — and
//! `AuthenticityFlagged` when the score is below the threshold — on the EventBridge bus.
//!
//! A retried task after a successful write does not write twice; it publishes again (consumers
//! deduplicate on `valuationId`). Counts `CardsValued` and `AuthenticityFlagged`, records
//! `ValuationLatency` (request → persisted).

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::identity::Caller;
use crate::model::{AggregatorInput, CardStatus, PriceRange, iso};
use crate::obs::{self, RequestLog};
use crate::store::{Applied, CardStore, ValuationUpdate};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use telemetry::catalogue::MetricName;

/// The `source` of the events.
pub const EVENT_SOURCE: &str = "collectiq.valuation";
/// `detail-type` of the valuation event.
pub const VALUATION_UPDATED: &str = "CardValuationUpdated";
/// `detail-type` of the authenticity event.
pub const AUTHENTICITY_FLAGGED: &str = "AuthenticityFlagged";
/// Default `AUTHENTICITY_FLAG_THRESHOLD`.
pub const DEFAULT_FLAG_THRESHOLD: f64 = 0.5;

/// The function's dependencies.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The cards table.
    pub store: CardStore,
    /// EventBridge.
    pub events: aws_sdk_eventbridge::Client,
    /// `EVENT_BUS_NAME`.
    pub bus: String,
    /// Scores below this flag the card.
    pub flag_threshold: f64,
    /// Pseudonyms for log lines.
    pub users: crate::identity::UserHasher,
}

impl Deps {
    /// From `TABLE_NAME`, `EVENT_BUS_NAME`, `AUTHENTICITY_FLAG_THRESHOLD` (0.5), `USER_ID_HASH_KEY_SECRET_ID` (or `USER_ID_HASH_KEY`).
    ///
    /// # Errors
    /// A missing or invalid variable.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            store: CardStore::new(
                telemetry::traced_client!(aws_sdk_dynamodb, aws),
                config::required("TABLE_NAME")?,
            ),
            events: telemetry::traced_client!(aws_sdk_eventbridge, aws),
            bus: config::required("EVENT_BUS_NAME")?,
            flag_threshold: flag_threshold(config::parsed(
                "AUTHENTICITY_FLAG_THRESHOLD",
                DEFAULT_FLAG_THRESHOLD,
            )?)?,
            users: config::user_hasher(aws).await?,
        })
    }
}

/// Checks `AUTHENTICITY_FLAG_THRESHOLD`: a number in (0, 1]. `NaN` would flag nothing (every
/// comparison is false) and 0 or less would judge every card genuine.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the variable.
pub fn flag_threshold(t: f64) -> Result<f64, ConfigError> {
    if t.is_finite() && t > 0.0 && t <= 1.0 {
        Ok(t)
    } else {
        Err(ConfigError::Invalid {
            name: "AUTHENTICITY_FLAG_THRESHOLD",
            reason: format!("expected a score in (0, 1], found {t}"),
        })
    }
}

/// The `detail` of both events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuationDetail {
    /// Idempotency key for consumers.
    pub valuation_id: String,
    /// The owner's keyed pseudonym (`u_…`, [`crate::identity::UserHasher::hash`]), never the Cognito
    /// `sub`: the same value as the functions' log lines, so a consumer can follow one user without
    /// learning who it is.
    pub user_id: String,
    /// The card.
    pub card_id: String,
    /// `VALUED` or `FLAGGED`.
    pub status: CardStatus,
    /// The price range, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<PriceRange>,
    /// Pricing confidence.
    pub pricing_confidence: f64,
    /// Authenticity score.
    pub authenticity_score: f64,
    /// The model's concerns.
    pub authenticity_flags: Vec<String>,
    /// When persisted.
    pub valued_at: DateTime<Utc>,
    /// The API request that started the valuation.
    pub correlation_id: String,
}

/// The aggregator's output (the state machine's result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// What was published.
    pub detail: ValuationDetail,
    /// Whether this call wrote (false: a retry of an applied valuation).
    pub written: bool,
    /// `detail-type`s published.
    pub published: Vec<String>,
}

/// The flag a valuation gets when the set number its owner registered is not the one on the photo
/// (`Charizard 4/102` typed over a photo of `Rattata 66/102`): the price was asked for the typed
/// card and the authenticity judged on the photographed one, so a person looks at it, and a
/// `FLAGGED` card stays out of its set's analytics.
pub const DETAILS_MISMATCH_FLAG: &str = "the set number registered for the card is not the one on the photo";

/// `(number, of)` of a set number such as `4/102` or `004 / 102`; `None` for other forms (promo
/// codes such as `SWSH050`), which are not compared.
fn set_number(text: &str) -> Option<(u32, u32)> {
    let (number, of) = text.trim().split_once('/')?;
    Some((number.trim().parse().ok()?, of.trim().parse().ok()?))
}

/// Whether the owner registered a set number that the photo shows as another.
fn details_mismatch(input: &AggregatorInput) -> bool {
    let registered = input
        .request
        .card
        .as_ref()
        .and_then(|c| c.number.as_deref())
        .and_then(set_number);
    let photographed = input.features.hints.number.as_deref().and_then(set_number);
    matches!((registered, photographed), (Some(r), Some(p)) if r != p)
}

/// Merges the agents' results into the event detail (the owner as the pseudonym `users` gives).
#[must_use]
pub fn merge(
    input: &AggregatorInput,
    users: &crate::identity::UserHasher,
    flag_threshold: f64,
    now: DateTime<Utc>,
) -> ValuationDetail {
    let a = &input.agents.authenticity;
    let mismatch = details_mismatch(input);
    let mut flags = a.flags.clone();
    if mismatch {
        flags.push(DETAILS_MISMATCH_FLAG.to_owned());
    }
    ValuationDetail {
        valuation_id: input.request.valuation_id.clone(),
        user_id: users.hash(&input.request.user_id),
        card_id: input.request.card_id.clone(),
        // The injection guard's flag sends the card to a person whatever the threshold is.
        status: if a.score < flag_threshold
            || mismatch
            || a.flags
                .iter()
                .any(|f| f == crate::authenticity_agent::INJECTION_FLAG)
        {
            CardStatus::Flagged
        } else {
            CardStatus::Valued
        },
        value: input.agents.pricing.range.clone(),
        pricing_confidence: input.agents.pricing.confidence,
        authenticity_score: a.score,
        authenticity_flags: flags,
        valued_at: now,
        correlation_id: input.request.correlation_id.clone(),
    }
}

/// The handler.
///
/// # Errors
/// `NotFound` when the card was deleted meanwhile (not retried); `Retryable` for DynamoDB or
/// EventBridge trouble.
pub async fn handler(event: LambdaEvent<AggregatorInput>, deps: &Deps) -> Result<Outcome, HandlerError> {
    let mut log = RequestLog::start("aggregator", &event.context.request_id);
    let input = event.payload;
    let result = async {
        let caller = Caller::from_sub(Some(&input.request.user_id))
            .map_err(|_| HandlerError::validation("request.userId", "malformed"))?;
        log.user(&deps.users, &caller.sub);
        let detail = merge(&input, &deps.users, deps.flag_threshold, crate::model::now());
        let applied = deps
            .store
            .apply_valuation(
                &caller,
                &input.request.card_id,
                &ValuationUpdate {
                    valuation_id: detail.valuation_id.clone(),
                    status: detail.status,
                    range: detail.value.clone(),
                    pricing_confidence: detail.pricing_confidence,
                    authenticity_score: detail.authenticity_score,
                    valued_at: detail.valued_at,
                    set_rarity: input
                        .request
                        .card
                        .as_ref()
                        .and_then(crate::model::CardDetails::set_rarity),
                },
            )
            .await?;
        if applied == Applied::Superseded {
            // A newer valuation runs on the card: this result is neither written nor announced.
            tracing::warn!(
                card_id = detail.card_id.as_str(),
                valuation_id = detail.valuation_id.as_str(),
                "valuation superseded by a newer one; result dropped"
            );
            return Ok(Outcome {
                detail,
                written: false,
                published: Vec::new(),
            });
        }
        let published = publish(deps, &detail).await?;
        if applied == Applied::Written {
            obs::count(MetricName::CardsValued, 1);
            let latency = (detail.valued_at - input.request.requested_at).num_milliseconds();
            obs::record(MetricName::ValuationLatency, latency.max(0) as f64);
            if detail.status == CardStatus::Flagged {
                obs::count(MetricName::AuthenticityFlagged, 1);
            }
        }
        tracing::info!(
            card_id = detail.card_id.as_str(),
            valuation_id = detail.valuation_id.as_str(),
            card_status = detail.status.as_str(),
            written = applied == Applied::Written,
            valued_at = iso(detail.valued_at).as_str(),
            "valuation persisted"
        );
        Ok(Outcome {
            detail,
            written: applied == Applied::Written,
            published,
        })
    }
    .await;
    log.finish(&result);
    result
}

async fn publish(deps: &Deps, detail: &ValuationDetail) -> Result<Vec<String>, HandlerError> {
    let body = serde_json::to_string(detail).map_err(|e| HandlerError::Internal(e.to_string()))?;
    let mut types = vec![VALUATION_UPDATED];
    if detail.status == CardStatus::Flagged {
        types.push(AUTHENTICITY_FLAGGED);
    }
    let mut req = deps.events.put_events();
    for t in &types {
        req = req.entries(
            PutEventsRequestEntry::builder()
                .event_bus_name(&deps.bus)
                .source(EVENT_SOURCE)
                .detail_type(*t)
                .detail(&body)
                .build(),
        );
    }
    let out = req
        .send()
        .await
        .map_err(|e| crate::error::sdk_error("PutEvents", e))?;
    if out.failed_entry_count() > 0 {
        let why: Vec<String> = out
            .entries()
            .iter()
            .filter_map(|e| {
                e.error_code()
                    .map(|c| format!("{c}: {}", e.error_message().unwrap_or_default()))
            })
            .collect();
        return Err(HandlerError::Retryable(format!(
            "PutEvents rejected entries: {}",
            why.join("; ")
        )));
    }
    Ok(types.into_iter().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use rust_decimal_macros::dec;

    pub(crate) fn input(score: f64) -> AggregatorInput {
        let request = ValuationRequest {
            valuation_id: "v-1".into(),
            user_id: "u-1".into(),
            user_pseudonym: None,
            card_id: "c-1".into(),
            bucket: "b".into(),
            front_s3_key: "uploads/u-1/f.jpg".into(),
            back_s3_key: None,
            requested_at: DateTime::UNIX_EPOCH,
            correlation_id: "api-1".into(),
            card: None,
        };
        AggregatorInput {
            features: crate::rekognition_extract::envelope("c-1", vec![], vec![]),
            request,
            agents: AgentResults {
                pricing: PriceEstimate {
                    range: Some(PriceRange {
                        low: dec!(1),
                        median: dec!(2),
                        high: dec!(3),
                        currency: "USD".into(),
                    }),
                    confidence: 0.5,
                    sources: vec![],
                },
                authenticity: AuthenticityAssessment {
                    score,
                    flags: vec!["font".into()],
                    rationale: "r".into(),
                    model_id: "m".into(),
                },
            },
        }
    }

    #[test]
    fn low_scores_flag_the_card() {
        let now = crate::model::now();
        let users = crate::identity::UserHasher::new(vec![4; 32]).unwrap();
        assert_eq!(merge(&input(0.49), &users, 0.5, now).status, CardStatus::Flagged);
        let d = merge(&input(0.5), &users, 0.5, now);
        assert_eq!(
            d.user_id,
            users.hash("u-1"),
            "the event carries the pseudonym, not the sub"
        );
        assert_eq!(d.status, CardStatus::Valued);
        assert_eq!(d.value.unwrap().median, dec!(2));
        assert_eq!(d.correlation_id, "api-1");
    }

    /// The injection guard's flag is a person's job whatever the configured threshold; a threshold
    /// that would flag nothing or everything is refused at start.
    #[test]
    fn an_injection_flag_always_flags_and_the_threshold_is_a_score() {
        let now = crate::model::now();
        let users = crate::identity::UserHasher::new(vec![4; 32]).unwrap();
        let mut i = input(0.2);
        i.agents.authenticity.flags = vec![crate::authenticity_agent::INJECTION_FLAG.to_owned()];
        assert_eq!(merge(&i, &users, 0.1, now).status, CardStatus::Flagged);
        for bad in [f64::NAN, 0.0, -0.5, 1.5, f64::INFINITY] {
            let e = flag_threshold(bad).unwrap_err().to_string();
            assert!(e.contains("AUTHENTICITY_FLAG_THRESHOLD"), "{e}");
        }
        assert_eq!(flag_threshold(0.5).unwrap(), 0.5);
        assert_eq!(flag_threshold(1.0).unwrap(), 1.0);
    }

    /// The price is asked for the card its owner registered, the authenticity judged on the photo:
    /// a registered set number the photo shows as another sends the card to a person (and keeps it
    /// out of its set's analytics), whatever the score. Other spellings of the same number, and
    /// numbers that are not `n/m`, are not a mismatch.
    #[test]
    fn a_registered_set_number_the_photo_contradicts_flags_the_card() {
        use crate::model::TextLine;
        let now = crate::model::now();
        let users = crate::identity::UserHasher::new(vec![4; 32]).unwrap();
        let with = |registered: Option<&str>, on_photo: &str| {
            let mut i = input(0.95);
            i.request.card = Some(CardDetails {
                name: "Charizard".into(),
                set_name: Some("Base Set".into()),
                number: registered.map(str::to_owned),
                year: Some(1999),
                grade: None,
                rarity: Some("Holo Rare".into()),
            });
            i.features = crate::rekognition_extract::envelope(
                "c-1",
                vec![TextLine {
                    text: on_photo.into(),
                    confidence: 99.0,
                    top: None,
                }],
                vec![],
            );
            merge(&i, &users, 0.5, now)
        };
        let d = with(Some("4/102"), "66/102");
        assert_eq!(d.status, CardStatus::Flagged);
        assert!(
            d.authenticity_flags.iter().any(|f| f == DETAILS_MISMATCH_FLAG),
            "{:?}",
            d.authenticity_flags
        );
        for (registered, on_photo) in [
            (Some("4/102"), "4/102"),
            (Some("004/102"), "4/102"),
            (Some("SWSH050"), "66/102"),
            (None, "66/102"),
            (Some("4/102"), "Charizard"),
        ] {
            let d = with(registered, on_photo);
            assert_eq!(d.status, CardStatus::Valued, "{registered:?} vs {on_photo:?}");
            assert!(!d.authenticity_flags.iter().any(|f| f == DETAILS_MISMATCH_FLAG));
        }
    }

    #[test]
    fn detail_matches_the_fixture_shape() {
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/eventbridge_card_valuation_updated.json"
        ))
        .unwrap();
        let detail: ValuationDetail = serde_json::from_value(fixture["detail"].clone()).unwrap();
        assert_eq!(detail.status, CardStatus::Valued);
        assert_eq!(detail.value.as_ref().unwrap().median, dec!(355.00));
        assert!(
            detail.user_id.len() == 34
                && detail.user_id.starts_with("u_")
                && detail.user_id[2..].chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            detail.user_id
        );
        let back = serde_json::to_value(&detail).unwrap();
        assert_eq!(back, fixture["detail"]);
    }
}
