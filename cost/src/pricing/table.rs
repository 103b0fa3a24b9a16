//! The dated Bedrock price table (`cost/data/bedrock-prices.toml`, compiled in), the token kinds it
//! prices, and model-id normalisation (bare ids, cross-region profiles, ARNs).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use telemetry::catalogue::MetricName;
use vocabulary::aws::bedrock;

/// The price table shipped with the crate.
pub const BUNDLED_PRICES: &str = include_str!("../../data/bedrock-prices.toml");

/// The CloudWatch namespace of Bedrock runtime metrics.
pub const BEDROCK_NAMESPACE: &str = vocabulary::namespace::BEDROCK;
/// The dimension the `AWS/Bedrock` token metrics are keyed by.
pub const MODEL_ID_DIMENSION: &str = vocabulary::dimension::MODEL_ID;
/// The CE service name of first-party Bedrock usage (Titan, ...).
pub const BEDROCK_SERVICE: &str = "Amazon Bedrock";
/// Suffix of CE service names for models billed through AWS Marketplace.
pub const MARKETPLACE_SUFFIX: &str = "(Amazon Bedrock Edition)";

/// A kind of token, as billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// Input (prompt) tokens.
    Input,
    /// Output (completion) tokens.
    Output,
    /// Prompt-cache read tokens (0.1× input price).
    CacheRead,
    /// Prompt-cache write tokens (1.25× input price).
    CacheWrite,
}

impl TokenKind {
    /// All kinds.
    pub const ALL: [Self; 4] = [Self::Input, Self::Output, Self::CacheRead, Self::CacheWrite];

    /// The `AWS/Bedrock` metric name for this kind.
    #[must_use]
    pub const fn bedrock_metric(self) -> &'static str {
        match self {
            Self::Input => bedrock::INPUT_TOKEN_COUNT.name,
            Self::Output => bedrock::OUTPUT_TOKEN_COUNT.name,
            Self::CacheRead => bedrock::CACHE_READ_INPUT_TOKEN_COUNT.name,
            Self::CacheWrite => bedrock::CACHE_WRITE_INPUT_TOKEN_COUNT.name,
        }
    }

    /// CollectIQ's own catalogue metric for this kind (per agent and model).
    #[must_use]
    pub const fn app_metric(self) -> MetricName {
        match self {
            Self::Input => MetricName::BedrockInputTokens,
            Self::Output => MetricName::BedrockOutputTokens,
            Self::CacheRead => MetricName::BedrockCacheReadTokens,
            Self::CacheWrite => MetricName::BedrockCacheWriteTokens,
        }
    }

    pub(super) fn from_bedrock_metric(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.bedrock_metric() == name)
    }

    pub(super) fn from_app_metric(name: &str) -> Option<Self> {
        let metric = MetricName::from_name(name)?;
        Self::ALL.into_iter().find(|k| k.app_metric() == metric)
    }
}

/// Token counts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Cache-read tokens.
    pub cache_read: u64,
    /// Cache-write tokens.
    pub cache_write: u64,
}

impl TokenCounts {
    pub(super) fn add(&mut self, kind: TokenKind, n: u64) {
        let slot = match kind {
            TokenKind::Input => &mut self.input,
            TokenKind::Output => &mut self.output,
            TokenKind::CacheRead => &mut self.cache_read,
            TokenKind::CacheWrite => &mut self.cache_write,
        };
        *slot = slot.saturating_add(n);
    }

    pub(super) fn merge(&mut self, other: &Self) {
        for k in TokenKind::ALL {
            self.add(k, other.get(k));
        }
    }

    /// The count of one kind.
    #[must_use]
    pub const fn get(&self, kind: TokenKind) -> u64 {
        match kind {
            TokenKind::Input => self.input,
            TokenKind::Output => self.output,
            TokenKind::CacheRead => self.cache_read,
            TokenKind::CacheWrite => self.cache_write,
        }
    }

    /// All tokens.
    #[must_use]
    pub const fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write)
    }
}

/// One dated price of a model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedPrice {
    /// First day this price applies.
    pub effective: NaiveDate,
    /// USD per 1,000 input tokens.
    #[serde(with = "rust_decimal::serde::str")]
    pub input_per_1k: Decimal,
    /// USD per 1,000 output tokens.
    #[serde(with = "rust_decimal::serde::str")]
    pub output_per_1k: Decimal,
}

/// One model of the price table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// Stable key (`claude-3-5-sonnet-v2`).
    pub key: String,
    /// Display name.
    pub name: String,
    /// Base model ids without the `:N` suffix; profile ids and ARNs are normalized to these.
    pub ids: Vec<String>,
    /// The CE `SERVICE` line this model is billed under.
    pub billing_service: String,
    /// Whether the model bills prompt-cache tokens.
    pub supports_cache: bool,
    /// Prices, any order; the one with the latest `effective ≤ day` applies.
    pub price: Vec<DatedPrice>,
}

impl ModelPrice {
    /// The price effective on `day` (the earliest one if `day` precedes them all).
    #[must_use]
    pub fn price_on(&self, day: NaiveDate) -> Option<&DatedPrice> {
        self.price
            .iter()
            .filter(|p| p.effective <= day)
            .max_by_key(|p| p.effective)
            .or_else(|| self.price.iter().min_by_key(|p| p.effective))
    }
}

/// The dated Bedrock price table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTable {
    /// Date the table was last checked.
    pub as_of: NaiveDate,
    /// Currency (USD).
    pub currency: String,
    /// Region the prices are for.
    pub region: String,
    /// Cache-read multiplier on the input price.
    #[serde(with = "rust_decimal::serde::str")]
    pub cache_read_multiplier: Decimal,
    /// Cache-write multiplier on the input price.
    #[serde(with = "rust_decimal::serde::str")]
    pub cache_write_multiplier: Decimal,
    /// The models.
    #[serde(rename = "model")]
    pub models: Vec<ModelPrice>,
}

/// Errors loading a price table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceTableError {
    /// Not valid TOML for the table's schema.
    #[error("price table: {0}")]
    Parse(String),
    /// A model has no price, or a negative one.
    #[error("price table: model {0:?} has no price or a negative price")]
    BadPrice(String),
    /// Two models claim the same id.
    #[error("price table: id {0:?} is listed twice")]
    DuplicateId(String),
}

static BUNDLED: OnceLock<Result<PriceTable, PriceTableError>> = OnceLock::new();

impl PriceTable {
    /// Parses and validates a table.
    ///
    /// # Errors
    /// [`PriceTableError`] on syntax, missing/negative prices or duplicate ids.
    pub fn parse(text: &str) -> Result<Self, PriceTableError> {
        let table: Self = toml::from_str(text).map_err(|e| PriceTableError::Parse(e.to_string()))?;
        let mut seen = BTreeSet::new();
        for m in &table.models {
            if m.price.is_empty()
                || m.price
                    .iter()
                    .any(|p| p.input_per_1k.is_sign_negative() || p.output_per_1k.is_sign_negative())
            {
                return Err(PriceTableError::BadPrice(m.key.clone()));
            }
            for id in &m.ids {
                if !seen.insert(id.clone()) {
                    return Err(PriceTableError::DuplicateId(id.clone()));
                }
            }
        }
        Ok(table)
    }

    /// The table bundled with the crate, parsed once.
    ///
    /// # Errors
    /// [`PriceTableError`] if the bundled file is broken (a test guards against that).
    ///
    /// ```
    /// let table = cost::pricing::PriceTable::bundled().unwrap();
    /// let m = table.resolve("us.anthropic.claude-3-5-sonnet-20241022-v2:0").unwrap();
    /// assert_eq!(m.billing_service, "Claude 3.5 Sonnet (Amazon Bedrock Edition)");
    /// ```
    pub fn bundled() -> Result<&'static Self, PriceTableError> {
        BUNDLED
            .get_or_init(|| Self::parse(BUNDLED_PRICES))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Finds the model for a `ModelId` value: a bare id (`anthropic.claude-3-haiku-20240307-v1:0`), a
    /// cross-region inference-profile id (`us.anthropic...`), or a foundation-model / inference-profile
    /// ARN. Application-inference-profile ARNs are opaque; map them with [`Self::resolve_with`].
    #[must_use]
    pub fn resolve(&self, model_id: &str) -> Option<&ModelPrice> {
        let id = normalize_model_id(model_id);
        self.models
            .iter()
            .flat_map(|m| m.ids.iter().map(move |i| (m, i)))
            .filter(|(_, i)| {
                id == **i
                    || id
                        .strip_prefix(i.as_str())
                        .is_some_and(|rest| rest.starts_with(':'))
            })
            .max_by_key(|(_, i)| i.len())
            .map(|(m, _)| m)
    }

    /// Like [`Self::resolve`], first translating ids through `aliases` (e.g. application inference
    /// profile ARN → its model id, as `GetInferenceProfile` reports).
    #[must_use]
    pub fn resolve_with(&self, model_id: &str, aliases: &BTreeMap<String, String>) -> Option<&ModelPrice> {
        self.resolve(aliases.get(model_id).map_or(model_id, String::as_str))
    }

    /// The model with this key.
    #[must_use]
    pub fn model(&self, key: &str) -> Option<&ModelPrice> {
        self.models.iter().find(|m| m.key == key)
    }

    /// Cost of `tokens` for `model` at the price effective on `day`.
    ///
    /// ```
    /// use cost::pricing::{PriceTable, TokenCounts};
    /// let t = PriceTable::bundled().unwrap();
    /// let sonnet = t.model("claude-3-5-sonnet-v2").unwrap();
    /// let day = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    /// // 1M in, 200k out: $3 + $3.
    /// let c = t.cost(sonnet, &TokenCounts { input: 1_000_000, output: 200_000, ..Default::default() }, day);
    /// assert_eq!(c, rust_decimal::Decimal::from(6));
    /// ```
    #[must_use]
    pub fn cost(&self, model: &ModelPrice, tokens: &TokenCounts, day: NaiveDate) -> Decimal {
        self.cost_by_kind(model, tokens, day).values().copied().sum()
    }

    /// Cost split by token kind.
    #[must_use]
    pub fn cost_by_kind(
        &self,
        model: &ModelPrice,
        tokens: &TokenCounts,
        day: NaiveDate,
    ) -> BTreeMap<TokenKind, Decimal> {
        let Some(p) = model.price_on(day) else {
            return BTreeMap::new();
        };
        let k = Decimal::from(1000);
        let per = |n: u64, price: Decimal| Decimal::from(n) * price / k;
        BTreeMap::from([
            (TokenKind::Input, per(tokens.input, p.input_per_1k)),
            (TokenKind::Output, per(tokens.output, p.output_per_1k)),
            (
                TokenKind::CacheRead,
                per(tokens.cache_read, p.input_per_1k * self.cache_read_multiplier),
            ),
            (
                TokenKind::CacheWrite,
                per(tokens.cache_write, p.input_per_1k * self.cache_write_multiplier),
            ),
        ])
    }

    /// The models billed under a CE service name.
    #[must_use]
    pub fn models_billed_as(&self, service: &str) -> Vec<&ModelPrice> {
        self.models
            .iter()
            .filter(|m| m.billing_service == service)
            .collect()
    }
}

/// Strips ARN prefixes and cross-region profile prefixes (`us.`, `eu.`, `apac.`, `global.`, ...).
///
/// ```
/// assert_eq!(
///     cost::pricing::normalize_model_id(
///         "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"),
///     "anthropic.claude-3-5-haiku-20241022-v1:0");
/// ```
#[must_use]
pub fn normalize_model_id(model_id: &str) -> &str {
    let id = model_id.trim();
    let id = if id.starts_with("arn:") {
        id.rsplit_once('/').map_or(id, |(_, tail)| tail)
    } else {
        id
    };
    match id.split_once('.') {
        Some((geo, rest)) if rest.contains('.') && is_geo_prefix(geo) => rest,
        _ => id,
    }
}

fn is_geo_prefix(s: &str) -> bool {
    matches!(s, "us" | "eu" | "apac" | "global" | "us-gov" | "jp" | "au" | "ca")
}

/// Whether a CE `SERVICE` name is Bedrock spend (first-party or Marketplace-billed).
#[must_use]
pub fn is_bedrock_service(service: &str) -> bool {
    service == BEDROCK_SERVICE || service.ends_with(MARKETPLACE_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::pricing::*;
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

    #[test]
    fn bundled_table_parses_and_is_dated() {
        let t = table();
        assert_eq!(t.as_of, d(1));
        assert_eq!(t.cache_read_multiplier, dec!(0.1));
        assert_eq!(t.cache_write_multiplier, dec!(1.25));
        for key in [
            "claude-3-5-sonnet-v1",
            "claude-3-5-sonnet-v2",
            "claude-3-5-haiku",
            "claude-3-haiku",
        ] {
            let m = t.model(key).unwrap();
            assert!(m.billing_service.ends_with(MARKETPLACE_SUFFIX), "{key}");
        }
        assert_eq!(
            t.model("titan-text-express").unwrap().billing_service,
            BEDROCK_SERVICE
        );
    }

    #[test]
    fn resolves_bare_profile_and_arn_ids() {
        let t = table();
        for id in [
            SONNET,
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "eu.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        ] {
            assert_eq!(
                t.resolve(id).map(|m| m.key.as_str()),
                Some("claude-3-5-sonnet-v2"),
                "{id}"
            );
        }
        assert_eq!(
            t.resolve("anthropic.claude-3-5-sonnet-20240620-v1:0")
                .unwrap()
                .key,
            "claude-3-5-sonnet-v1"
        );
        assert_eq!(
            t.resolve("anthropic.claude-3-haiku-20240307-v1:0").unwrap().key,
            "claude-3-haiku"
        );
        assert_eq!(
            t.resolve("anthropic.claude-3-5-haiku-20241022-v1:0").unwrap().key,
            "claude-3-5-haiku"
        );
        assert_eq!(
            t.resolve("amazon.titan-text-express-v1").unwrap().key,
            "titan-text-express"
        );
        // A prefix must end at the version separator: v10 is not v1.
        assert!(t.resolve("amazon.titan-text-express-v10").is_none());
        assert!(t.resolve("anthropic.claude-opus-4").is_none());
        let app_profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3";
        assert!(t.resolve(app_profile).is_none());
        let aliases = BTreeMap::from([(app_profile.to_owned(), SONNET.to_owned())]);
        assert_eq!(
            t.resolve_with(app_profile, &aliases).unwrap().key,
            "claude-3-5-sonnet-v2"
        );
    }

    proptest::proptest! {
        #[test]
        fn every_id_form_resolves_to_the_same_model(idx in 0usize..7, version in 0u8..3, geo in 0usize..4, junk in ".{0,40}") {
            let t = table();
            let model = &t.models[idx];
            let base = format!("{}:{version}", model.ids[0]);
            let geo = ["us", "eu", "apac", "global"][geo];
            for id in [
                base.clone(),
                format!("{geo}.{base}"),
                format!("arn:aws:bedrock:us-east-1::foundation-model/{base}"),
                format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/{geo}.{base}"),
            ] {
                proptest::prop_assert_eq!(t.resolve(&id).map(|m| m.key.as_str()), Some(model.key.as_str()), "{}", id);
            }
            // Arbitrary text never panics, and resolves only if it names a known id.
            if let Some(m) = t.resolve(&junk) {
                proptest::prop_assert!(m.ids.iter().any(|i| junk.contains(i.as_str())));
            }
        }
    }

    #[test]
    fn token_cost_hand_computed_with_cache_multipliers() {
        let t = table();
        let sonnet = t.model("claude-3-5-sonnet-v2").unwrap();
        let tokens = TokenCounts {
            input: 1_000_000,
            output: 200_000,
            cache_read: 500_000,
            cache_write: 100_000,
        };
        let by = t.cost_by_kind(sonnet, &tokens, d(1));
        assert_eq!(by[&TokenKind::Input], dec!(3)); // 1000 × 0.003
        assert_eq!(by[&TokenKind::Output], dec!(3)); // 200 × 0.015
        assert_eq!(by[&TokenKind::CacheRead], dec!(0.15)); // 500 × 0.0003
        assert_eq!(by[&TokenKind::CacheWrite], dec!(0.375)); // 100 × 0.00375
        assert_eq!(t.cost(sonnet, &tokens, d(1)), dec!(6.525));
    }

    #[test]
    fn seed_volume_at_sonnet_prices_is_300_not_75() {
        // 50k valuations × (1,000 in + 200 out).
        let t = table();
        let tokens = TokenCounts {
            input: 50_000_000,
            output: 10_000_000,
            ..Default::default()
        };
        assert_eq!(
            t.cost(t.model("claude-3-5-sonnet-v2").unwrap(), &tokens, d(1)),
            dec!(300)
        );
        assert_eq!(
            t.cost(t.model("claude-3-5-haiku").unwrap(), &tokens, d(1)),
            dec!(80)
        );
    }

    #[test]
    fn bad_tables_are_rejected() {
        assert!(matches!(
            PriceTable::parse("as_of = 1"),
            Err(PriceTableError::Parse(_))
        ));
        let dup = format!(
            "{BUNDLED_PRICES}\n[[model]]\nkey = \"x\"\nname = \"x\"\nids = [\"amazon.titan-text-lite-v1\"]\nbilling_service = \"Amazon Bedrock\"\nsupports_cache = false\n[[model.price]]\neffective = \"2025-01-01\"\ninput_per_1k = \"1\"\noutput_per_1k = \"1\"\n"
        );
        assert_eq!(
            PriceTable::parse(&dup),
            Err(PriceTableError::DuplicateId("amazon.titan-text-lite-v1".into()))
        );
        let neg = BUNDLED_PRICES.replacen("input_per_1k = \"0.003\"", "input_per_1k = \"-0.003\"", 1);
        assert!(matches!(
            PriceTable::parse(&neg),
            Err(PriceTableError::BadPrice(_))
        ));
    }
}
