//! The data CollectIQ stores and passes between the pipeline's tasks.
//!
//! Cards live in one DynamoDB table: `PK = USER#{sub}`, `SK = CARD#{cardId}`, with `userId` +
//! `createdAt` for GSI1 (a user's cards, newest first) and, only while a card is `VALUING`,
//! `valuingShard` + `updatedAt` for GSI3 (the valuations in flight, for the stuck-valuation sweep).
//! Valuation history items are `SK = PRICE#{valuedAt}#{cardId}` under the same user; they carry no
//! `userId`/`valuingShard`, so they stay out of both indexes.
//!
//! The valuation state machine passes [`ValuationRequest`] → [`ExtractOutput`] → (pricing ∥
//! authenticity) → [`AggregatorInput`]. Field names are camelCase on the wire.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// RFC 3339 with milliseconds in UTC: sortable as a string, as GSI sort keys need.
#[must_use]
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serde for a timestamp written as [`iso`] — always with milliseconds, so values sort as strings
/// (chrono's own serializer drops a zero fraction: `…:00Z` sorts after `…:00.500Z`). Reads any RFC 3339.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// #[derive(serde::Serialize)]
/// struct T(#[serde(with = "backend::model::iso_millis")] chrono::DateTime<Utc>);
/// let t = T(Utc.with_ymd_and_hms(2026, 11, 22, 0, 41, 0).unwrap());
/// assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-11-22T00:41:00.000Z\"");
/// ```
pub mod iso_millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `t` as [`super::iso`].
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::iso(*t))
    }

    /// Reads an RFC 3339 timestamp.
    ///
    /// # Errors
    /// Not a timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }

    /// The same for an optional timestamp.
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        /// Writes `t` as [`crate::model::iso`], `None` as null.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&crate::model::iso(*t)),
                None => s.serialize_none(),
            }
        }

        /// Reads an optional RFC 3339 timestamp.
        ///
        /// # Errors
        /// Not a timestamp.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<DateTime<Utc>>::deserialize(d)
        }
    }
}

/// Now, truncated to milliseconds — the precision stored — so what a handler answers equals what a
/// later read returns.
#[must_use]
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Where a card is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CardStatus {
    /// Created, never valued.
    Created,
    /// A valuation is running.
    Valuing,
    /// Valued and judged authentic enough.
    Valued,
    /// Valued, but the authenticity agent flagged it.
    Flagged,
    /// The last valuation failed (see the error handler's log line).
    Failed,
}

impl CardStatus {
    /// The stored value (`status`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Valuing => "VALUING",
            Self::Valued => "VALUED",
            Self::Flagged => "FLAGGED",
            Self::Failed => "FAILED",
        }
    }

    /// Parses a stored value.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Created,
            Self::Valuing,
            Self::Valued,
            Self::Flagged,
            Self::Failed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A price range in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceRange {
    /// Low end (25th percentile of the quotes).
    pub low: Decimal,
    /// Median of the quotes.
    pub median: Decimal,
    /// High end (75th percentile).
    pub high: Decimal,
    /// ISO 4217 code.
    pub currency: String,
}

/// A card as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    /// The card id (a UUID).
    pub card_id: String,
    /// Display name ("Charizard").
    pub name: String,
    /// Set ("Base Set").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_name: Option<String>,
    /// Number within the set ("4/102").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Year printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<u16>,
    /// Grade ("PSA 10").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// Rarity as printed ("Holo Rare"); with `set_name` it files the card on GSI2 (seed 001's
    /// `set#rarity` analytics index) once a valuation's photo confirms the registered card
    /// ([`crate::aggregator::photo_confirms`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rarity: Option<String>,
    /// S3 key of the front image (under `uploads/{sub}/`).
    pub front_s3_key: String,
    /// S3 key of the back image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub back_s3_key: Option<String>,
    /// Life-cycle state.
    pub status: CardStatus,
    /// When created.
    #[serde(with = "iso_millis")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "iso_millis")]
    pub updated_at: DateTime<Utc>,
    /// The latest valuation's price range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<PriceRange>,
    /// The pricing agent's confidence in `value` (0–1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing_confidence: Option<f64>,
    /// The latest authenticity score (0–1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticity_score: Option<f64>,
    /// When last valued.
    #[serde(default, with = "iso_millis::option", skip_serializing_if = "Option::is_none")]
    pub valued_at: Option<DateTime<Utc>>,
    /// The valuation that produced the current value (idempotency of the aggregator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_valuation_id: Option<String>,
}

impl Card {
    /// Whether `other` describes the same card as the caller wrote it (name, set, number, year, grade,
    /// rarity and images) — ids, times, status and valuation aside: a retried create is recognised by this.
    #[must_use]
    pub fn same_details_as(&self, other: &Self) -> bool {
        (
            &self.name,
            &self.set_name,
            &self.number,
            self.year,
            &self.grade,
            &self.rarity,
            &self.front_s3_key,
            &self.back_s3_key,
        ) == (
            &other.name,
            &other.set_name,
            &other.number,
            other.year,
            &other.grade,
            &other.rarity,
            &other.front_s3_key,
            &other.back_s3_key,
        )
    }
}

/// GSI2's partition key (seed 001's analytics index): `<setName>#<rarity>`, for a card with both.
///
/// ```
/// assert_eq!(backend::model::set_rarity(Some("Base Set"), Some("Holo Rare")).as_deref(), Some("Base Set#Holo Rare"));
/// assert_eq!(backend::model::set_rarity(Some("Base Set"), None), None);
/// ```
#[must_use]
pub fn set_rarity(set_name: Option<&str>, rarity: Option<&str>) -> Option<String> {
    Some(format!("{}#{}", set_name?, rarity?))
}

/// The card as its owner registered it (`POST /cards`), carried into the valuation so that the
/// pricing agent asks for the card the owner named rather than for the line the OCR was surest of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardDetails {
    /// Display name ("Charizard").
    pub name: String,
    /// Set ("Base Set").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_name: Option<String>,
    /// Number within the set ("4/102").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Year printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<u16>,
    /// Grade ("PSA 10").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// Rarity ("Holo Rare").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rarity: Option<String>,
}

impl CardDetails {
    /// What `card` was registered with.
    #[must_use]
    pub fn of(card: &Card) -> Self {
        Self {
            name: card.name.clone(),
            set_name: card.set_name.clone(),
            number: card.number.clone(),
            year: card.year,
            grade: card.grade.clone(),
            rarity: card.rarity.clone(),
        }
    }

    /// The card's GSI2 partition key ([`set_rarity`]).
    #[must_use]
    pub fn set_rarity(&self) -> Option<String> {
        set_rarity(self.set_name.as_deref(), self.rarity.as_deref())
    }
}

/// What starts a valuation: the state machine's input, built by `cards_revalue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValuationRequest {
    /// Unique per valuation (also the execution name's prefix and the idempotency key).
    pub valuation_id: String,
    /// The owner's `sub`.
    pub user_id: String,
    /// The owner's keyed pseudonym (`u_` + 32 hex, [`crate::identity::UserHasher`]), as the API logs
    /// it: the pipeline functions log it as `userId` without the hash key (seed 001 gives their roles
    /// no secret for it). Absent in requests built before it was carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pseudonym: Option<String>,
    /// The card.
    pub card_id: String,
    /// The upload bucket.
    pub bucket: String,
    /// Front image key.
    pub front_s3_key: String,
    /// Back image key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub back_s3_key: Option<String>,
    /// When the user asked (start of `ValuationLatency`).
    #[serde(with = "iso_millis")]
    pub requested_at: DateTime<Utc>,
    /// The API request id that started it.
    pub correlation_id: String,
    /// The card as registered, read when the valuation started. Absent in requests built before it
    /// was carried: the pricing agent then goes by the photo's text alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardDetails>,
}

/// One line of text Rekognition found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextLine {
    /// The text.
    pub text: String,
    /// Confidence 0–100.
    pub confidence: f32,
    /// Where the line's box starts, as a fraction of the image height from its top edge
    /// (`Geometry.BoundingBox.Top`): the line's place in reading order. Absent when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<f32>,
}

/// One label Rekognition found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelHit {
    /// Label name ("Trading Card").
    pub name: String,
    /// Confidence 0–100.
    pub confidence: f32,
}

/// Facts read off the text (best effort).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardHints {
    /// A plausible print year (1900–2099).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<u16>,
    /// A set number like `4/102`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// A grading label like `PSA 10`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
}

/// What the extract task found on the card images: the pricing and authenticity agents' input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureEnvelope {
    /// The card.
    pub card_id: String,
    /// Lines of text, most confident first.
    pub text: Vec<TextLine>,
    /// Labels, most confident first.
    pub labels: Vec<LabelHit>,
    /// Whether a card-like label was seen.
    pub looks_like_card: bool,
    /// Facts parsed from the text.
    pub hints: CardHints,
}

impl FeatureEnvelope {
    /// How sure the OCR was of the text kept, 0..=1: the mean `DetectText` confidence of the kept lines
    /// (Rekognition reports 0–100); `None` when no line was kept (nothing was read).
    #[must_use]
    pub fn ocr_confidence(&self) -> Option<f64> {
        if self.text.is_empty() {
            return None;
        }
        let sum: f64 = self.text.iter().map(|t| f64::from(t.confidence)).sum();
        #[allow(clippy::cast_precision_loss)] // a handful of lines
        let mean = sum / self.text.len() as f64;
        Some((mean / 100.0).clamp(0.0, 1.0))
    }
}

/// The extract task's output (the next states' input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractOutput {
    /// The original request.
    pub request: ValuationRequest,
    /// The features.
    pub features: FeatureEnvelope,
}

/// How one price source did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReport {
    /// Source name.
    pub source: String,
    /// Quotes used.
    pub quotes: usize,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The pricing agent's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceEstimate {
    /// The range, when any source had quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<PriceRange>,
    /// Confidence 0–1 (more quotes and a tighter spread → higher).
    pub confidence: f64,
    /// Per-source outcome.
    pub sources: Vec<SourceReport>,
}

/// The authenticity agent's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticityAssessment {
    /// 0 (certainly fake) – 1 (certainly genuine).
    pub score: f64,
    /// Concrete concerns the model listed.
    pub flags: Vec<String>,
    /// One-paragraph reasoning.
    pub rationale: String,
    /// The model that judged.
    pub model_id: String,
}

/// The parallel state's two results (`ResultSelector: {"pricing.$": "$[0]", "authenticity.$": "$[1]"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentResults {
    /// The pricing agent's output.
    pub pricing: PriceEstimate,
    /// The authenticity agent's output.
    pub authenticity: AuthenticityAssessment,
}

/// The aggregator's input: the extract output plus the agents' results under `agents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregatorInput {
    /// The original request.
    pub request: ValuationRequest,
    /// The extract task's features.
    pub features: FeatureEnvelope,
    /// The agents' results.
    pub agents: AgentResults,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips() {
        for s in [
            CardStatus::Created,
            CardStatus::Valuing,
            CardStatus::Valued,
            CardStatus::Flagged,
            CardStatus::Failed,
        ] {
            assert_eq!(CardStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(CardStatus::parse("valued"), None);
    }

    #[test]
    fn iso_is_sortable_millis_utc() {
        let t = DateTime::from_timestamp(1_763_772_000, 5_000_000).unwrap();
        assert_eq!(iso(t), "2025-11-22T00:40:00.005Z");
    }

    /// docs/backend.md: timestamps are RFC 3339 UTC with milliseconds, so they sort as strings —
    /// also on a whole second (chrono's own serializer wrote `…:00Z`, which sorts after `…:00.500Z`).
    #[test]
    fn a_card_on_a_whole_second_keeps_its_milliseconds() {
        let whole = DateTime::from_timestamp(1_763_772_000, 0).unwrap();
        let card = Card {
            card_id: "c-1".into(),
            name: "Charizard".into(),
            set_name: None,
            number: None,
            year: None,
            grade: None,
            rarity: None,
            front_s3_key: "uploads/u/front.jpg".into(),
            back_s3_key: None,
            status: CardStatus::Valued,
            created_at: whole,
            updated_at: whole,
            value: None,
            pricing_confidence: None,
            authenticity_score: None,
            valued_at: Some(whole),
            last_valuation_id: None,
        };
        let v = serde_json::to_value(&card).unwrap();
        for key in ["createdAt", "updatedAt", "valuedAt"] {
            assert_eq!(v[key], "2025-11-22T00:40:00.000Z", "{key}");
        }
        let back: Card = serde_json::from_value(v).unwrap();
        assert_eq!(back, card);
        let mut without = serde_json::to_value(&card).unwrap();
        without.as_object_mut().unwrap().remove("valuedAt");
        assert_eq!(serde_json::from_value::<Card>(without).unwrap().valued_at, None);
    }
}
