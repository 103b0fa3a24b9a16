//! The last task of the valuation: merges the agents' results, persists them (card + `PRICE#` item in
//! one transaction, once per valuation id) and publishes `CardValuationUpdated` — and
//! `AuthenticityFlagged` when the score is below the threshold — on the EventBridge bus.
//!
//! The card enters the cross-user set analytics (GSI2) only when the photo confirms the card its
//! owner registered ([`photo_confirms`]); otherwise it is valued for its owner alone.
//!
//! A retried task after a successful write does not write twice; it publishes again (consumers
//! deduplicate on `valuationId`). Counts `CardsValued` and `AuthenticityFlagged`, records
//! `ValuationLatency` (request → persisted).

use crate::HandlerError;
use crate::config::{self, ConfigError};
pub use crate::flags::{DETAILS_MISMATCH_FLAG, UNCONFIRMED_FLAG};
use crate::identity::Caller;
use crate::model::{AggregatorInput, CardDetails, CardStatus, FeatureEnvelope, PriceRange, iso};
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
    /// The model's concerns and this crate's own flags ([`crate::flags::KNOWN`]), at most
    /// [`crate::flags::MAX_FLAGS`], each one printable line of at most [`crate::flags::MAX_FLAG_CHARS`]
    /// characters ([`crate::flags::bound`]).
    pub authenticity_flags: Vec<String>,
    /// When persisted.
    #[serde(with = "crate::model::iso_millis")]
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

/// The words of `text` as they are compared: lowercase letters and digits, accents on Latin letters
/// dropped (`Pokémon` read as `Pokemon`), anything else a separator.
fn words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à'..='å' => 'a',
            'ç' => 'c',
            'è'..='ë' => 'e',
            'ì'..='ï' => 'i',
            'ñ' => 'n',
            'ò'..='ö' | 'ø' => 'o',
            'ù'..='ü' => 'u',
            'ý' | 'ÿ' => 'y',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        })
        .collect();
    folded.split_whitespace().map(str::to_owned).collect()
}

/// Whether the photo's text confirms the card as its owner registered it, as far as text can: the
/// registered set number is an `n/m` number and every set number on the photo is that one (at least
/// one is read; `004/102` is `4/102`), and every word of the registered name — and of the grade, when
/// one is registered — is printed on it. These are what the price is asked for (name, number,
/// grade), so a valuation the photo confirms priced the photographed card. A card without a
/// registered or comparable number (`SWSH050`, `4/102a`), or whose photo shows none, is not confirmed.
///
/// The set and the rarity — GSI2's key — are not printed as text (a set symbol, a rarity symbol)
/// and stay the owner's word.
///
/// ```
/// use backend::model::{CardDetails, TextLine};
/// let card = CardDetails { name: "Charizard".into(), set_name: Some("Base Set".into()),
///     number: Some("4/102".into()), year: None, grade: None, rarity: Some("Holo Rare".into()) };
/// let photo = |lines: &[&str]| backend::rekognition_extract::envelope("c", lines.iter()
///     .map(|t| TextLine { text: (*t).into(), confidence: 99.0, top: None }).collect(), vec![]);
/// assert!(backend::aggregator::photo_confirms(&card, &photo(&["Charizard", "©1999 Wizards 4/102"])));
/// assert!(!backend::aggregator::photo_confirms(&card, &photo(&["Rattata", "©1999 Wizards 4/102"])));
/// ```
#[must_use]
pub fn photo_confirms(card: &CardDetails, photo: &FeatureEnvelope) -> bool {
    let Some(registered) = card.number.as_deref().and_then(set_number) else {
        return false;
    };
    let mut numbers = crate::rekognition_extract::set_number_words(&photo.text).peekable();
    if numbers.peek().is_none() || !numbers.all(|n| set_number(n) == Some(registered)) {
        return false;
    }
    let on_photo: std::collections::HashSet<String> =
        photo.text.iter().flat_map(|line| words(&line.text)).collect();
    let printed = |text: &str| {
        let w = words(text);
        !w.is_empty() && w.iter().all(|w| on_photo.contains(w))
    };
    printed(&card.name) && card.grade.as_deref().is_none_or(printed)
}

/// The GSI2 key (`set#rarity`) this valuation files the card under: the registered one when the photo
/// confirms the registered card ([`photo_confirms`]); `None` otherwise — the card is valued for its
/// owner but kept out of the cross-user analytics, where the owner's word alone would decide which
/// set's prices a value moves. A request without the card's details has nothing to confirm.
#[must_use]
pub fn analytics_key(input: &AggregatorInput) -> Option<String> {
    let card = input.request.card.as_ref()?;
    if photo_confirms(card, &input.features) {
        card.set_rarity()
    } else {
        None
    }
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
    let would_be_filed = input.request.card.as_ref().and_then(CardDetails::set_rarity);
    if would_be_filed.is_some() && analytics_key(input).is_none() {
        flags.push(UNCONFIRMED_FLAG.to_owned());
    }
    ValuationDetail {
        valuation_id: input.request.valuation_id.clone(),
        user_id: users.hash(&input.request.user_id),
        card_id: input.request.card_id.clone(),
        // Some flags send the card to a person whatever the threshold is (`flags::ALWAYS_FLAGGED`).
        status: if a.score < flag_threshold
            || mismatch
            || a.flags
                .iter()
                .any(|f| crate::flags::ALWAYS_FLAGGED.contains(&f.as_str()))
        {
            CardStatus::Flagged
        } else {
            CardStatus::Valued
        },
        value: input.agents.pricing.range.clone(),
        pricing_confidence: input.agents.pricing.confidence,
        authenticity_score: a.score,
        // Published as they are bounded here, whatever the task before wrote (`crate::flags`).
        authenticity_flags: crate::flags::bound(flags),
        valued_at: now,
        correlation_id: input.request.correlation_id.clone(),
    }
}

/// `detail` with what the card stored for its valuation when the card still holds it (its value,
/// scores, status and `valuedAt`); `detail` as computed otherwise.
async fn stored_detail(
    deps: &Deps,
    caller: &Caller,
    detail: ValuationDetail,
) -> Result<ValuationDetail, HandlerError> {
    let card = deps.store.get(caller, &detail.card_id).await?;
    Ok(match card {
        Some(card) if card.last_valuation_id.as_deref() == Some(detail.valuation_id.as_str()) => {
            ValuationDetail {
                status: card.status,
                value: card.value,
                pricing_confidence: card.pricing_confidence.unwrap_or(detail.pricing_confidence),
                authenticity_score: card.authenticity_score.unwrap_or(detail.authenticity_score),
                valued_at: card.valued_at.unwrap_or(detail.valued_at),
                ..detail
            }
        }
        _ => detail,
    })
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
                    set_rarity: analytics_key(&input),
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
        // A retry after the write (its event failed to publish): the event says what was stored — the
        // first run's `valuedAt` (the price item's sort key) and status — not this run's clock.
        let detail = if applied == Applied::AlreadyApplied {
            stored_detail(deps, &caller, detail).await?
        } else {
            detail
        };
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

/// The invocation's trace context for its events, as `OTEL_PROPAGATORS` asks: X-Ray's header for each
/// entry's `TraceHeader` (EventBridge hands it on to the rule's targets), W3C's `traceparent` and
/// `tracestate` for the detail, where a consumer's `telemetry` reads them
/// (`telemetry::propagation::event_context`: `detail.traceparent`). None outside a traced invocation.
fn trace_context() -> (Option<String>, Vec<(&'static str, String)>) {
    let Some(out) = telemetry::xray::outgoing_context_for(&tracing::Span::current()) else {
        return (None, Vec::new());
    };
    let mut xray = None;
    let mut w3c = Vec::new();
    for (name, value) in telemetry::propagation::Propagators::from_env().headers(out) {
        if name.eq_ignore_ascii_case("x-amzn-trace-id") {
            xray = Some(value);
        } else {
            w3c.push((name, value));
        }
    }
    (xray, w3c)
}

async fn publish(deps: &Deps, detail: &ValuationDetail) -> Result<Vec<String>, HandlerError> {
    let internal = |e: serde_json::Error| HandlerError::Internal(e.to_string());
    let (trace_header, w3c) = trace_context();
    let body = if w3c.is_empty() {
        serde_json::to_string(detail).map_err(internal)?
    } else {
        let mut value = serde_json::to_value(detail).map_err(internal)?;
        if let Some(fields) = value.as_object_mut() {
            for (name, v) in w3c {
                fields.insert(name.to_owned(), serde_json::Value::String(v));
            }
        }
        serde_json::to_string(&value).map_err(internal)?
    };
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
                .set_trace_header(trace_header.clone())
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
pub(crate) mod tests {
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
        for flag in [
            crate::flags::INJECTION_FLAG,
            crate::flags::PHOTO_NOT_JUDGED_FLAG,
            crate::flags::REFERENCE_MISMATCH_FLAG,
            crate::flags::REFERENCE_NOT_COMPARED_FLAG,
        ] {
            i.agents.authenticity.flags = vec![flag.to_owned()];
            assert_eq!(merge(&i, &users, 0.1, now).status, CardStatus::Flagged, "{flag}");
        }
        i.agents.authenticity.flags = vec!["worn corners".to_owned()];
        assert_eq!(merge(&i, &users, 0.1, now).status, CardStatus::Valued);
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

    /// A photo of a genuine `Rattata 66/102` (Base Set), as Rekognition reads it.
    fn genuine_rattata(extra: &[&str]) -> FeatureEnvelope {
        let lines = ["Rattata", "40 HP", "Bite 20", "©1999 Wizards 66/102"]
            .iter()
            .chain(extra)
            .map(|t| crate::model::TextLine {
                text: (*t).into(),
                confidence: 99.0,
                top: None,
            })
            .collect();
        crate::rekognition_extract::envelope("c-1", lines, vec![])
    }

    fn registered(name: &str, number: Option<&str>, grade: Option<&str>) -> CardDetails {
        CardDetails {
            name: name.into(),
            set_name: Some("Base Set".into()),
            number: number.map(str::to_owned),
            year: Some(1999),
            grade: grade.map(str::to_owned),
            rarity: Some("Common".into()),
        }
    }

    /// The attack: an owner registers "Pikachu Illustrator PSA 10, Base Set, Common" (the price is
    /// asked for that) over a photo of any genuine card, leaving the number out or writing one that
    /// cannot be compared, or copying the photographed card's number. The card is valued for its
    /// owner, but its value is not filed under `Base Set#Common` for every analyst; the event says so.
    #[test]
    fn the_owners_word_alone_files_no_value_in_the_set_analytics() {
        let now = crate::model::now();
        let users = crate::identity::UserHasher::new(vec![4; 32]).unwrap();
        for (card, photo) in [
            (
                registered("Pikachu Illustrator", None, Some("PSA 10")),
                genuine_rattata(&[]),
            ),
            (
                registered("Pikachu Illustrator", Some("4/102a"), Some("PSA 10")),
                genuine_rattata(&[]),
            ),
            (
                registered("Pikachu Illustrator", Some("SWSH050"), None),
                genuine_rattata(&[]),
            ),
            // the photographed card's own number, another card's name (or grade)
            (
                registered("Pikachu Illustrator", Some("66/102"), None),
                genuine_rattata(&[]),
            ),
            (
                registered("Rattata Illustrator", Some("66/102"), None),
                genuine_rattata(&[]),
            ),
            (
                registered("Rattata", Some("66/102"), Some("PSA 10")),
                genuine_rattata(&[]),
            ),
            // the registered number held up beside the card on a note
            (
                registered("Rattata", Some("4/102"), None),
                genuine_rattata(&["note 4/102"]),
            ),
            // no number readable on the photo
            (registered("Rattata", Some("66/102"), None), {
                let mut p = genuine_rattata(&[]);
                p.text.retain(|l| !l.text.contains('/'));
                p
            }),
        ] {
            let mut i = input(0.95);
            i.request.card = Some(card.clone());
            i.features = photo;
            assert_eq!(analytics_key(&i), None, "{card:?}");
            let d = merge(&i, &users, 0.5, now);
            assert!(
                d.authenticity_flags.iter().any(|f| f == UNCONFIRMED_FLAG),
                "{card:?}: {:?}",
                d.authenticity_flags
            );
            if card.number.as_deref() != Some("4/102") {
                // the owner's own view: valued, with the price found
                assert_eq!(d.status, CardStatus::Valued, "{card:?}");
            }
            assert_eq!(d.value.as_ref().map(|v| v.median), Some(dec!(2)));
        }
        // A request without the card's details has nothing to confirm.
        let mut legacy = input(0.95);
        legacy.features = genuine_rattata(&[]);
        assert_eq!(analytics_key(&legacy), None);

        // The card the photo shows, registered as printed (number spelled another way, accents as
        // OCR drops them, grade on the slab label), is filed under its set and rarity; no flag.
        for (card, extra) in [
            (registered("Rattata", Some("66/102"), None), &[][..]),
            (registered("rattata", Some("066 / 102"), None), &[]),
            (
                registered("Rattata", Some("66/102"), Some("PSA 10")),
                &["PSA 10 GEM MINT"][..],
            ),
        ] {
            let mut i = input(0.95);
            i.request.card = Some(card.clone());
            i.features = genuine_rattata(extra);
            assert_eq!(analytics_key(&i).as_deref(), Some("Base Set#Common"), "{card:?}");
            let d = merge(&i, &users, 0.5, now);
            assert!(!d.authenticity_flags.iter().any(|f| f == UNCONFIRMED_FLAG));
        }
        let mut pokemon = input(0.95);
        pokemon.request.card = Some(registered("Flabébé", Some("66/102"), None));
        pokemon.features = genuine_rattata(&["Flabebe"]);
        assert!(analytics_key(&pokemon).is_some());
    }

    /// Deps over DynamoDB's and EventBridge's wire protocol: every request answered, PutEvents with
    /// `events` accepted entries; the log of what was sent.
    fn wire_deps(events: usize) -> (Deps, crate::store::fake_aws::Log) {
        use crate::store::fake_aws;
        use serde_json::json;
        let (http, log) = fake_aws::http(move |_, target, _| {
            if target.ends_with("PutEvents") {
                let entries: Vec<_> = (0..events)
                    .map(|k| json!({"EventId": format!("e-{k}")}))
                    .collect();
                (200, json!({"FailedEntryCount": 0, "Entries": entries}))
            } else {
                (200, json!({}))
            }
        });
        let deps = Deps {
            store: CardStore::new(fake_aws::dynamodb(http.clone()), "t"),
            events: fake_aws::test_client!(aws_sdk_eventbridge, http),
            bus: "bus".into(),
            flag_threshold: 0.5,
            users: crate::identity::UserHasher::new(vec![4; 32]).unwrap(),
        };
        (deps, log)
    }

    /// The attack through the handler, against DynamoDB's and EventBridge's wire protocol: the
    /// transaction writes the value for the owner and takes `setRarity` (GSI2's key) off the card,
    /// which `POST /cards` wrote from what the owner typed; a confirmed card gets it back.
    #[tokio::test]
    async fn the_handler_keeps_an_unconfirmed_card_out_of_gsi2_but_values_it() {
        use serde_json::json;
        let run = |card: CardDetails| async move {
            let (deps, log) = wire_deps(1);
            let mut i = input(0.95);
            i.request.card = Some(card);
            i.features = genuine_rattata(&[]);
            let out = handler(LambdaEvent::new(i, lambda_runtime::Context::default()), &deps)
                .await
                .unwrap();
            let log = log.lock().unwrap().clone();
            let update = log
                .iter()
                .find(|(t, _)| t.ends_with("TransactWriteItems"))
                .map(|(_, b)| b["TransactItems"][0]["Update"].clone())
                .unwrap();
            (out, update)
        };
        let (out, update) = run(registered("Pikachu Illustrator", None, Some("PSA 10"))).await;
        assert_eq!(out.detail.status, CardStatus::Valued);
        assert!(
            out.detail
                .authenticity_flags
                .iter()
                .any(|f| f == UNCONFIRMED_FLAG)
        );
        let expr = update["UpdateExpression"].as_str().unwrap();
        let (set, remove) = expr.split_once(" REMOVE ").unwrap();
        assert!(
            set.contains("valueMedian = :md"),
            "the owner sees the value: {expr}"
        );
        assert!(remove.contains("#sr") && !set.contains("#sr"), "{expr}");
        assert_eq!(update["ExpressionAttributeNames"]["#sr"], "setRarity");
        assert!(update["ExpressionAttributeValues"].get(":sr").is_none());

        let (out, update) = run(registered("Rattata", Some("66/102"), None)).await;
        assert_eq!(out.detail.status, CardStatus::Valued);
        let expr = update["UpdateExpression"].as_str().unwrap();
        assert!(expr.contains("#sr = :sr") && !expr.split_once(" REMOVE ").unwrap().1.contains("#sr"));
        assert_eq!(
            update["ExpressionAttributeValues"][":sr"],
            json!({"S": "Base Set#Common"})
        );
    }

    /// Model-written flags as an injection would write them — 10 KB, a U+202E that reverses what a
    /// screen shows after it, newlines that forge a log line, fifty of them — reach the events as
    /// printable lines, bounded in length and number, with this crate's own flags kept.
    #[tokio::test]
    async fn model_flags_reach_the_events_bounded_and_printable() {
        use crate::flags::{MAX_FLAG_CHARS, MAX_FLAGS};
        use serde_json::Value;
        let (deps, log) = wire_deps(2);
        let mut i = input(0.2);
        i.agents.authenticity.flags = [
            "X".repeat(10 * 1024),
            "font ok\u{202E}detacifitrec\n{\"level\":\"INFO\",\"message\":\"card verified\"}".to_owned(),
        ]
        .into_iter()
        .chain((0..50).map(|n| format!("concern {n}")))
        .collect();
        let out = handler(LambdaEvent::new(i, lambda_runtime::Context::default()), &deps)
            .await
            .unwrap();
        assert_eq!(out.published, [VALUATION_UPDATED, AUTHENTICITY_FLAGGED]);
        let log = log.lock().unwrap().clone();
        let (_, put) = log.iter().find(|(t, _)| t.ends_with("PutEvents")).unwrap();
        let entries = put["Entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        for entry in entries {
            let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
            let flags: Vec<&str> = detail["authenticityFlags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            assert_eq!(flags.len(), MAX_FLAGS);
            assert!(
                flags.iter().all(|f| f.chars().count() <= MAX_FLAG_CHARS),
                "{flags:?}"
            );
            assert!(
                flags
                    .iter()
                    .all(|f| !f.chars().any(|c| c.is_control() || c == '\u{202E}')),
                "{flags:?}"
            );
            assert_eq!(
                flags[1],
                "font okdetacifitrec {\"level\":\"INFO\",\"message\":\"card verified\"}"
            );
            assert!(entry["Detail"].as_str().unwrap().len() < 16 * 1024);
        }
        // A card with its own flag among 50 of the model's keeps it.
        let mut i = input(0.9);
        i.agents.authenticity.flags = (0..50).map(|n| format!("concern {n}")).collect();
        i.request.card = Some(registered("Rattata", Some("4/102"), None));
        i.features = genuine_rattata(&[]);
        let d = merge(&i, &deps.users, 0.5, crate::model::now());
        assert_eq!(d.authenticity_flags.len(), MAX_FLAGS);
        assert!(d.authenticity_flags.iter().any(|f| f == DETAILS_MISMATCH_FLAG));
        assert!(d.authenticity_flags.iter().any(|f| f == UNCONFIRMED_FLAG));
    }

    /// The events carry the invocation's trace: the entry's `TraceHeader` is X-Ray's header (its
    /// `Parent` the aggregator's span) and the detail has the same context as W3C `traceparent`, which
    /// a consumer built on `telemetry` reads back as its parent. Without a traced span, neither.
    #[tokio::test]
    async fn the_events_carry_the_invocations_trace() {
        use serde_json::{Value, json};
        use tracing::Instrument as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let publish_once = |traced: bool| async move {
            let (deps, log) = wire_deps(1);
            let mut i = input(0.95);
            i.features = genuine_rattata(&[]);
            let subscriber = tracing_subscriber::registry().with(telemetry::xray::XrayLayer::new(
                telemetry::xray::MemorySink::default(),
            ));
            let _default = tracing::subscriber::set_default(subscriber);
            let call = handler(LambdaEvent::new(i, lambda_runtime::Context::default()), &deps);
            if traced {
                call.instrument(tracing::info_span!(
                    "lambda.invocation",
                    telemetry.trace_header =
                        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
                ))
                .await
                .unwrap();
            } else {
                call.await.unwrap();
            }
            let log = log.lock().unwrap().clone();
            let (_, put) = log
                .iter()
                .find(|(t, _)| t.ends_with("PutEvents"))
                .unwrap()
                .clone();
            put["Entries"][0].clone()
        };
        let entry = publish_once(true).await;
        let header = entry["TraceHeader"].as_str().unwrap();
        assert!(
            header.starts_with("Root=1-5759e988-bd862e3fe1be46a994272793;Parent="),
            "{header}"
        );
        let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
        let traceparent = detail["traceparent"].as_str().unwrap();
        assert!(
            traceparent.starts_with("00-5759e988bd862e3fe1be46a994272793-"),
            "{traceparent}"
        );
        // The consumer's side: an EventBridge event with this detail has this context as its parent.
        let event = json!({"detail-type": VALUATION_UPDATED, "source": EVENT_SOURCE, "detail": detail});
        let cx = telemetry::propagation::event_context(&event).unwrap();
        assert!(
            cx.header
                .to_string()
                .starts_with("Root=1-5759e988-bd862e3fe1be46a994272793"),
            "{}",
            cx.header
        );
        // The rest of the detail is the event's as before.
        assert!(serde_json::from_value::<ValuationDetail>(detail).is_ok());

        let entry = publish_once(false).await;
        assert!(entry.get("TraceHeader").is_none(), "{entry}");
        let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
        assert!(detail.get("traceparent").is_none(), "{detail}");
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
