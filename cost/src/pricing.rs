//! Bedrock token pricing: a dated price table (`cost/data/bedrock-prices.toml`, compiled in), spend per
//! model from the `AWS/Bedrock` token metrics, spend per agent from CollectIQ's own token metrics, and
//! the reconciliation of both against what Cost Explorer billed.
//!
//! Anthropic models are billed through AWS Marketplace under service names such as
//! `Claude 3.5 Sonnet (Amazon Bedrock Edition)`, not under `Amazon Bedrock`; each model in the table
//! names the CE `SERVICE` line it is billed under (reference `cost-anchors.md` §0.2 and §3).
//!
//! Cost of one day's tokens for one model:
//! `(input + cache_write·1.25 + cache_read·0.1)·input_per_1k/1000 + output·output_per_1k/1000`,
//! at the price effective on that day.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use telemetry::catalogue::{DimensionKey, MetricName, NAMESPACE};

use crate::input::{DailyCostTable, MetricSumSeries};

/// The price table shipped with the crate.
pub const BUNDLED_PRICES: &str = include_str!("../data/bedrock-prices.toml");

/// The CloudWatch namespace of Bedrock runtime metrics.
pub const BEDROCK_NAMESPACE: &str = "AWS/Bedrock";
/// The dimension the `AWS/Bedrock` token metrics are keyed by.
pub const MODEL_ID_DIMENSION: &str = "ModelId";
/// The CE service name of first-party Bedrock usage (Titan, ...).
pub const BEDROCK_SERVICE: &str = "Amazon Bedrock";
/// Suffix of CE service names for models billed through AWS Marketplace.
pub const MARKETPLACE_SUFFIX: &str = "(Amazon Bedrock Edition)";
/// Default reconciliation drift threshold, in percent.
pub const DEFAULT_DRIFT_THRESHOLD_PCT: Decimal = Decimal::from_parts(10, 0, 0, false, 0);

/// A billed-vs-estimated gap smaller than this many dollars over the window is never a drift warning,
/// whatever its percentage: a few cents of Titan embeddings with no token metrics must not page finance.
pub const DRIFT_MIN_GAP_USD: Decimal = Decimal::ONE;

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
            Self::Input => "InputTokenCount",
            Self::Output => "OutputTokenCount",
            Self::CacheRead => "CacheReadInputTokenCount",
            Self::CacheWrite => "CacheWriteInputTokenCount",
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

    fn from_bedrock_metric(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.bedrock_metric() == name)
    }

    fn from_app_metric(name: &str) -> Option<Self> {
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
    fn add(&mut self, kind: TokenKind, n: u64) {
        let slot = match kind {
            TokenKind::Input => &mut self.input,
            TokenKind::Output => &mut self.output,
            TokenKind::CacheRead => &mut self.cache_read,
            TokenKind::CacheWrite => &mut self.cache_write,
        };
        *slot = slot.saturating_add(n);
    }

    fn merge(&mut self, other: &Self) {
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

/// Spend on one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpend {
    /// Price table key.
    pub model_key: String,
    /// Display name.
    pub model_name: String,
    /// The CE line it is billed under.
    pub billing_service: String,
    /// `ModelId` values that resolved to it.
    pub ids_seen: Vec<String>,
    /// Tokens in the period.
    pub tokens: TokenCounts,
    /// Estimated cost in USD.
    pub cost: Decimal,
    /// Whether cache-token series were present at all.
    pub cache_metrics_seen: bool,
}

/// Tokens seen for a `ModelId` the price table does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpricedModel {
    /// The raw `ModelId`.
    pub model_id: String,
    /// Its tokens (not in any cost).
    pub tokens: TokenCounts,
}

/// Bedrock spend per model from `AWS/Bedrock` token metrics.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BedrockSpend {
    /// Priced models, most expensive first.
    pub per_model: Vec<ModelSpend>,
    /// Model ids without a price.
    pub unpriced: Vec<UnpricedModel>,
    /// Sum of `per_model` costs.
    pub total: Decimal,
    /// Price changes inside the period: (model key, day the new price starts).
    pub price_changes: Vec<(String, NaiveDate)>,
}

/// Days of `[start, end)`.
fn days(start: NaiveDate, end: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    start.iter_days().take_while(move |d| *d < end)
}

#[derive(Default)]
struct Acc {
    ids: BTreeSet<String>,
    daily: BTreeMap<NaiveDate, TokenCounts>,
    cache_seen: bool,
}

fn accumulate(acc: &mut Acc, kind: TokenKind, series: &MetricSumSeries, start: NaiveDate, end: NaiveDate) {
    if matches!(kind, TokenKind::CacheRead | TokenKind::CacheWrite) {
        acc.cache_seen = true;
    }
    for day in days(start, end) {
        let next = day.succ_opt().unwrap_or(day);
        let n = series.total_between(day, next);
        if n > 0 {
            acc.daily.entry(day).or_default().add(kind, n);
        }
    }
}

fn price_daily(table: &PriceTable, model: &ModelPrice, daily: &BTreeMap<NaiveDate, TokenCounts>) -> Decimal {
    daily.iter().map(|(day, t)| table.cost(model, t, *day)).sum()
}

fn price_changes(model: &ModelPrice, start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    model
        .price
        .iter()
        .map(|p| p.effective)
        .filter(|d| *d > start && *d < end)
        .collect()
}

/// Bedrock spend per model over `[start, end)` from `AWS/Bedrock` `Sum` series keyed by `ModelId`.
/// Series of other namespaces/metrics, or without a `ModelId` dimension (account-wide aggregates that
/// would double count), are ignored.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use cost::input::MetricSumSeries;
/// use cost::pricing::{bedrock_spend_by_model, PriceTable};
/// let t0 = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
/// let id = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
/// let series = vec![
///     MetricSumSeries::new("AWS/Bedrock", "InputTokenCount").with_dimension("ModelId", id).with_point(t0, 1e6),
///     MetricSumSeries::new("AWS/Bedrock", "OutputTokenCount").with_dimension("ModelId", id).with_point(t0, 2e5),
/// ];
/// let (s, e) = (NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(), NaiveDate::from_ymd_opt(2025, 7, 1).unwrap());
/// let spend = bedrock_spend_by_model(PriceTable::bundled().unwrap(), &series, s, e, &Default::default());
/// assert_eq!(spend.total, rust_decimal::Decimal::from(6));
/// ```
#[must_use]
pub fn bedrock_spend_by_model(
    table: &PriceTable,
    series: &[MetricSumSeries],
    start: NaiveDate,
    end: NaiveDate,
    aliases: &BTreeMap<String, String>,
) -> BedrockSpend {
    let mut priced: BTreeMap<String, Acc> = BTreeMap::new();
    let mut unpriced: BTreeMap<String, TokenCounts> = BTreeMap::new();
    for s in series.iter().filter(|s| s.namespace == BEDROCK_NAMESPACE) {
        let (Some(kind), Some(id)) = (
            TokenKind::from_bedrock_metric(&s.metric_name),
            s.dimension(MODEL_ID_DIMENSION),
        ) else {
            continue;
        };
        match table.resolve_with(id, aliases) {
            Some(model) => {
                let acc = priced.entry(model.key.clone()).or_default();
                acc.ids.insert(id.to_owned());
                accumulate(acc, kind, s, start, end);
            }
            None => unpriced
                .entry(id.to_owned())
                .or_default()
                .add(kind, s.total_between(start, end)),
        }
    }
    let mut out = BedrockSpend::default();
    for (key, acc) in priced {
        let Some(model) = table.model(&key) else { continue };
        let mut tokens = TokenCounts::default();
        acc.daily.values().for_each(|t| tokens.merge(t));
        let cost = price_daily(table, model, &acc.daily);
        out.total += cost;
        out.price_changes.extend(
            price_changes(model, start, end)
                .into_iter()
                .map(|d| (key.clone(), d)),
        );
        out.per_model.push(ModelSpend {
            model_key: key,
            model_name: model.name.clone(),
            billing_service: model.billing_service.clone(),
            ids_seen: acc.ids.into_iter().collect(),
            tokens,
            cost,
            cache_metrics_seen: acc.cache_seen,
        });
    }
    out.per_model
        .sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.model_key.cmp(&b.model_key)));
    out.unpriced = unpriced
        .into_iter()
        .map(|(model_id, tokens)| UnpricedModel { model_id, tokens })
        .collect();
    out
}

/// Spend of one agent on one model, from CollectIQ's own token metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSpend {
    /// The `agent` dimension value (see `telemetry::catalogue::Agent`).
    pub agent: String,
    /// The `model` dimension value as emitted.
    pub model_id: String,
    /// Price table key, when the model is known.
    pub model_key: Option<String>,
    /// Tokens.
    pub tokens: TokenCounts,
    /// Estimated cost (0 when the model is unknown).
    pub cost: Decimal,
}

/// Bedrock spend per agent and model over `[start, end)`, from the catalogue metrics
/// `BedrockInputTokens`/`BedrockOutputTokens`/`BedrockCacheReadTokens`/`BedrockCacheWriteTokens` in the
/// `CollectIQ` namespace with the `service`, `agent`, `model` dimension set. Most expensive first.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use cost::input::MetricSumSeries;
/// use telemetry::catalogue::{DimensionKey, MetricName, NAMESPACE};
/// let t0 = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
/// let s = MetricSumSeries::new(NAMESPACE, MetricName::BedrockInputTokens.as_str())
///     .with_dimension(DimensionKey::Service.as_str(), "collectiq-authenticity")
///     .with_dimension(DimensionKey::Agent.as_str(), "authenticity")
///     .with_dimension(DimensionKey::Model.as_str(), "anthropic.claude-3-haiku-20240307-v1:0")
///     .with_point(t0, 4000.0);
/// let (a, b) = (NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(), NaiveDate::from_ymd_opt(2025, 6, 2).unwrap());
/// let spend = cost::pricing::bedrock_spend_by_agent(cost::pricing::PriceTable::bundled().unwrap(), &[s], a, b, &Default::default());
/// assert_eq!(spend[0].cost, rust_decimal::Decimal::new(1, 3)); // 4k × $0.00025/1k
/// ```
#[must_use]
pub fn bedrock_spend_by_agent(
    table: &PriceTable,
    series: &[MetricSumSeries],
    start: NaiveDate,
    end: NaiveDate,
    aliases: &BTreeMap<String, String>,
) -> Vec<AgentSpend> {
    let mut acc: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for s in series.iter().filter(|s| s.namespace == NAMESPACE) {
        let Some(kind) = TokenKind::from_app_metric(&s.metric_name) else {
            continue;
        };
        let (Some(agent), Some(model)) = (
            s.dimension(DimensionKey::Agent.as_str()),
            s.dimension(DimensionKey::Model.as_str()),
        ) else {
            continue;
        };
        accumulate(
            acc.entry((agent.to_owned(), model.to_owned())).or_default(),
            kind,
            s,
            start,
            end,
        );
    }
    let mut out: Vec<AgentSpend> = acc
        .into_iter()
        .map(|((agent, model_id), a)| {
            let mut tokens = TokenCounts::default();
            a.daily.values().for_each(|t| tokens.merge(t));
            let model = table.resolve_with(&model_id, aliases);
            AgentSpend {
                agent,
                model_key: model.map(|m| m.key.clone()),
                cost: model.map_or(Decimal::ZERO, |m| price_daily(table, m, &a.daily)),
                model_id,
                tokens,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.cost
            .cmp(&a.cost)
            .then_with(|| (&a.agent, &a.model_id).cmp(&(&b.agent, &b.model_id)))
    });
    out
}

/// Why a reconciliation needs a human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PricingWarning {
    /// Tokens for a `ModelId` with no price: the estimate misses them.
    UnknownModelId {
        /// The raw id.
        model_id: String,
        /// Its tokens.
        tokens: u64,
    },
    /// The app reports cache tokens for a model but `AWS/Bedrock` has no cache series for it.
    MissingCacheTokens {
        /// Price table key.
        model_key: String,
        /// Cache tokens the app reported.
        app_cache_tokens: u64,
    },
    /// The price of a model changed inside the period.
    PriceChanged {
        /// Price table key.
        model_key: String,
        /// First day of the new price.
        effective: NaiveDate,
    },
    /// Billed and estimated differ by more than the threshold.
    Drift {
        /// CE service line.
        billing_service: String,
        /// `(billed − estimated)/billed · 100`.
        drift_pct: Decimal,
    },
    /// A CE line billed for tokens nobody metered (or not billed yet for metered tokens).
    OneSided {
        /// CE service line.
        billing_service: String,
        /// Billed.
        billed: Decimal,
        /// Estimated.
        estimated: Decimal,
    },
    /// A Marketplace Bedrock service name no model in the price table is billed under.
    UnmappedBillingService {
        /// CE service name.
        billing_service: String,
        /// Billed in the period.
        billed: Decimal,
    },
}

impl PricingWarning {
    /// One line for humans.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::UnknownModelId { model_id, tokens } => {
                format!(
                    "unknown model id `{model_id}` ({tokens} tokens unpriced): add it to bedrock-prices.toml"
                )
            }
            Self::MissingCacheTokens {
                model_key,
                app_cache_tokens,
            } => format!(
                "{model_key}: the app reports {app_cache_tokens} cache tokens but AWS/Bedrock has no cache metrics"
            ),
            Self::PriceChanged { model_key, effective } => {
                format!("{model_key}: price changed on {effective}; days before and after priced separately")
            }
            Self::Drift {
                billing_service,
                drift_pct,
            } => {
                format!(
                    "{billing_service}: billed differs from token estimate by {}%",
                    drift_pct.round_dp(1)
                )
            }
            Self::OneSided {
                billing_service,
                billed,
                estimated,
            } => format!(
                "{billing_service}: billed ${} but tokens estimate ${}",
                billed.round_dp(2),
                estimated.round_dp(2)
            ),
            Self::UnmappedBillingService {
                billing_service,
                billed,
            } => format!(
                "Marketplace line `{billing_service}` (${}) is not mapped to a model in bedrock-prices.toml",
                billed.round_dp(2)
            ),
        }
    }
}

/// One CE billing line compared with the token estimates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationLine {
    /// CE `SERVICE`.
    pub billing_service: String,
    /// Models billed under it (price table keys) that had tokens.
    pub models: Vec<String>,
    /// What CE billed in the period.
    pub billed: Decimal,
    /// Tokens from `AWS/Bedrock` × price.
    pub estimated: Decimal,
    /// Tokens from the app's metrics × price (the per-agent view summed).
    pub estimated_by_agents: Decimal,
    /// `(billed − estimated)/billed · 100`; absent when nothing was billed.
    pub drift_pct: Option<Decimal>,
    /// Whether `|drift_pct|` is within the threshold.
    pub within_threshold: bool,
}

impl ReconciliationLine {
    /// What a reader needs next to an "ok" whose drift percentage is above `threshold_pct`: the gap is
    /// under [`DRIFT_MIN_GAP_USD`], so a large percentage of a few cents is not drift. `None` otherwise.
    #[must_use]
    pub fn small_gap_note(&self, threshold_pct: Decimal) -> Option<String> {
        (self.within_threshold && self.drift_pct.is_some_and(|d| d.abs() > threshold_pct))
            .then(|| format!("gap under ${DRIFT_MIN_GAP_USD:.2}"))
    }
}

/// Billed vs estimated Bedrock spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// The period `[start, end)`.
    pub start: NaiveDate,
    /// Exclusive end.
    pub end: NaiveDate,
    /// Drift threshold in percent.
    pub threshold_pct: Decimal,
    /// One line per billing service.
    pub lines: Vec<ReconciliationLine>,
    /// Total billed for Bedrock (all Bedrock lines).
    pub billed_total: Decimal,
    /// Total estimated from `AWS/Bedrock` tokens.
    pub estimated_total: Decimal,
    /// What needs a human.
    pub warnings: Vec<PricingWarning>,
}

/// Reconciles token estimates against CE Bedrock lines over `[start, end)`. Use complete, preferably
/// non-estimated days on both sides: CE lags the metrics by up to a day.
///
/// ```
/// use chrono::NaiveDate;
/// use cost::input::DailyCostTable;
/// use cost::pricing::{reconcile, BedrockSpend, PriceTable, DEFAULT_DRIFT_THRESHOLD_PCT};
/// let d = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
/// let ce = DailyCostTable::default().with_row(d, "Claude 9 (Amazon Bedrock Edition)", 5.into(), false);
/// let r = reconcile(PriceTable::bundled().unwrap(), &BedrockSpend::default(), &[], &ce, d, d.succ_opt().unwrap(), DEFAULT_DRIFT_THRESHOLD_PCT);
/// assert!(r.warnings.iter().any(|w| matches!(w, cost::pricing::PricingWarning::UnmappedBillingService { .. })));
/// ```
#[must_use]
pub fn reconcile(
    table: &PriceTable,
    by_model: &BedrockSpend,
    by_agent: &[AgentSpend],
    ce: &DailyCostTable,
    start: NaiveDate,
    end: NaiveDate,
    threshold_pct: Decimal,
) -> Reconciliation {
    let billed: BTreeMap<String, Decimal> = ce
        .service_totals(start, end)
        .into_iter()
        .filter(|(s, _)| is_bedrock_service(s))
        .collect();
    let mut warnings = Vec::new();
    let mut services: BTreeSet<String> = billed.keys().cloned().collect();
    services.extend(by_model.per_model.iter().map(|m| m.billing_service.clone()));
    let mut lines = Vec::new();
    for service in services {
        let mapped = table.models.iter().any(|m| m.billing_service == service);
        let billed_here = billed.get(&service).copied().unwrap_or_default();
        if !mapped {
            warnings.push(PricingWarning::UnmappedBillingService {
                billing_service: service.clone(),
                billed: billed_here,
            });
        }
        let models: Vec<&ModelSpend> = by_model
            .per_model
            .iter()
            .filter(|m| m.billing_service == service)
            .collect();
        let estimated: Decimal = models.iter().map(|m| m.cost).sum();
        let estimated_by_agents: Decimal = by_agent
            .iter()
            .filter(|a| {
                a.model_key
                    .as_deref()
                    .and_then(|k| table.model(k))
                    .is_some_and(|m| m.billing_service == service)
            })
            .map(|a| a.cost)
            .sum();
        let drift_pct = (billed_here - estimated)
            .checked_div(billed_here)
            .map(|x| x * Decimal::ONE_HUNDRED);
        let small_gap = (billed_here - estimated).abs() < DRIFT_MIN_GAP_USD;
        let within_threshold = small_gap || drift_pct.is_some_and(|d| d.abs() <= threshold_pct);
        match drift_pct {
            Some(d) if !within_threshold && mapped => {
                warnings.push(PricingWarning::Drift {
                    billing_service: service.clone(),
                    drift_pct: d,
                });
            }
            None if !estimated.is_zero() => warnings.push(PricingWarning::OneSided {
                billing_service: service.clone(),
                billed: billed_here,
                estimated,
            }),
            _ => {}
        }
        lines.push(ReconciliationLine {
            billing_service: service,
            models: models.iter().map(|m| m.model_key.clone()).collect(),
            billed: billed_here,
            estimated,
            estimated_by_agents,
            drift_pct,
            within_threshold,
        });
    }
    for u in &by_model.unpriced {
        warnings.push(PricingWarning::UnknownModelId {
            model_id: u.model_id.clone(),
            tokens: u.tokens.total(),
        });
    }
    let mut seen_unknown_app: BTreeSet<&str> = BTreeSet::new();
    for a in by_agent.iter().filter(|a| a.model_key.is_none()) {
        if seen_unknown_app.insert(&a.model_id) && !by_model.unpriced.iter().any(|u| u.model_id == a.model_id)
        {
            warnings.push(PricingWarning::UnknownModelId {
                model_id: a.model_id.clone(),
                tokens: a.tokens.total(),
            });
        }
    }
    for m in &by_model.per_model {
        let app_cache: u64 = by_agent
            .iter()
            .filter(|a| a.model_key.as_deref() == Some(&m.model_key))
            .map(|a| a.tokens.cache_read.saturating_add(a.tokens.cache_write))
            .sum();
        if app_cache > 0 && !m.cache_metrics_seen {
            warnings.push(PricingWarning::MissingCacheTokens {
                model_key: m.model_key.clone(),
                app_cache_tokens: app_cache,
            });
        }
    }
    for (model_key, effective) in &by_model.price_changes {
        warnings.push(PricingWarning::PriceChanged {
            model_key: model_key.clone(),
            effective: *effective,
        });
    }
    lines.sort_by(|a, b| {
        b.billed
            .cmp(&a.billed)
            .then_with(|| a.billing_service.cmp(&b.billing_service))
    });
    Reconciliation {
        start,
        end,
        threshold_pct,
        billed_total: billed.values().copied().sum(),
        estimated_total: by_model.total,
        lines,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;

    const SONNET: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";

    fn d(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, n).unwrap()
    }

    fn at(n: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, n, 0, 0, 0).unwrap()
    }

    fn bedrock(metric: &str, id: &str, points: &[(u32, f64)]) -> MetricSumSeries {
        points.iter().fold(
            MetricSumSeries::new(BEDROCK_NAMESPACE, metric).with_dimension(MODEL_ID_DIMENSION, id),
            |s, (day, v)| s.with_point(at(*day), *v),
        )
    }

    fn app(kind: TokenKind, agent: &str, model: &str, points: &[(u32, f64)]) -> MetricSumSeries {
        points.iter().fold(
            MetricSumSeries::new(NAMESPACE, kind.app_metric().as_str())
                .with_dimension(DimensionKey::Service.as_str(), "collectiq")
                .with_dimension(DimensionKey::Agent.as_str(), agent)
                .with_dimension(DimensionKey::Model.as_str(), model),
            |s, (day, v)| s.with_point(at(*day), *v),
        )
    }

    fn table() -> &'static PriceTable {
        PriceTable::bundled().unwrap()
    }

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
    fn price_change_inside_period_prices_each_day_at_its_price() {
        let mut t = table().clone();
        let haiku = t.models.iter_mut().find(|m| m.key == "claude-3-haiku").unwrap();
        haiku.price.push(DatedPrice {
            effective: d(3),
            input_per_1k: dec!(0.0005),
            output_per_1k: dec!(0.0025),
        });
        let id = "anthropic.claude-3-haiku-20240307-v1:0";
        let series = vec![bedrock(
            "InputTokenCount",
            id,
            &[(1, 1000.0), (2, 1000.0), (3, 1000.0), (4, 1000.0)],
        )];
        let spend = bedrock_spend_by_model(&t, &series, d(1), d(5), &BTreeMap::new());
        // 2 days × 0.00025 + 2 days × 0.0005 = 0.0015
        assert_eq!(spend.total, dec!(0.0015));
        assert_eq!(spend.price_changes, vec![("claude-3-haiku".to_owned(), d(3))]);
        assert_eq!(spend.per_model[0].tokens.input, 4000);
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

    fn month_fixture() -> (Vec<MetricSumSeries>, Vec<MetricSumSeries>, DailyCostTable) {
        let profile = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
        let haiku = "anthropic.claude-3-haiku-20240307-v1:0";
        let cw = vec![
            // Sonnet called both by bare id and through the US profile: summed.
            bedrock("InputTokenCount", SONNET, &[(1, 600_000.0), (2, 400_000.0)]),
            bedrock("InputTokenCount", profile, &[(2, 1_000_000.0)]),
            bedrock("OutputTokenCount", SONNET, &[(1, 200_000.0)]),
            bedrock("OutputTokenCount", profile, &[(2, 200_000.0)]),
            bedrock("InputTokenCount", haiku, &[(1, 4_000_000.0)]),
            bedrock("OutputTokenCount", haiku, &[(1, 400_000.0)]),
            bedrock("InputTokenCount", "anthropic.claude-opus-9", &[(1, 10.0)]),
            // Outside the period: ignored.
            bedrock("InputTokenCount", SONNET, &[(9, 9e9)]),
            // No ModelId (account aggregate): ignored.
            MetricSumSeries::new(BEDROCK_NAMESPACE, "InputTokenCount").with_point(at(1), 9e9),
        ];
        let apps = vec![
            app(TokenKind::Input, "authenticity", SONNET, &[(1, 1_500_000.0)]),
            app(TokenKind::Output, "authenticity", SONNET, &[(1, 300_000.0)]),
            app(TokenKind::CacheRead, "authenticity", SONNET, &[(1, 100_000.0)]),
            app(TokenKind::Input, "pricing", haiku, &[(1, 4_000_000.0)]),
            app(TokenKind::Output, "pricing", haiku, &[(1, 400_000.0)]),
        ];
        let ce = DailyCostTable::default()
            .with_row(
                d(1),
                "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
                dec!(6.0),
                false,
            )
            .with_row(
                d(2),
                "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
                dec!(6.6),
                false,
            )
            .with_row(d(1), "Claude 3 Haiku (Amazon Bedrock Edition)", dec!(1.5), false)
            .with_row(d(1), "Claude 4 Opus (Amazon Bedrock Edition)", dec!(0.5), false)
            .with_row(d(1), "AWS Lambda", dec!(3), false);
        (cw, apps, ce)
    }

    #[test]
    fn spend_per_model_per_agent_and_reconciliation_hand_computed() {
        let t = table();
        let (cw, apps, ce) = month_fixture();
        let by_model = bedrock_spend_by_model(t, &cw, d(1), d(3), &BTreeMap::new());
        // Sonnet: 2M in × 0.003/1k = 6; 400k out × 0.015/1k = 6 → 12.
        // Haiku: 4M × 0.00025/1k = 1; 400k × 0.00125/1k = 0.5 → 1.5.
        assert_eq!(by_model.per_model.len(), 2);
        assert_eq!(by_model.per_model[0].model_key, "claude-3-5-sonnet-v2");
        assert_eq!(by_model.per_model[0].cost, dec!(12));
        assert_eq!(by_model.per_model[0].ids_seen.len(), 2);
        assert_eq!(by_model.per_model[1].cost, dec!(1.5));
        assert_eq!(by_model.total, dec!(13.5));
        assert_eq!(by_model.unpriced.len(), 1);
        assert_eq!(by_model.unpriced[0].tokens.input, 10);

        let by_agent = bedrock_spend_by_agent(t, &apps, d(1), d(3), &BTreeMap::new());
        // authenticity: 1.5M × 0.003 + 300k × 0.015 + 100k × 0.0003 → 4.5 + 4.5 + 0.03 = 9.03
        assert_eq!(by_agent[0].agent, "authenticity");
        assert_eq!(by_agent[0].cost, dec!(9.03));
        assert_eq!(by_agent[1].agent, "pricing");
        assert_eq!(by_agent[1].cost, dec!(1.5));

        let r = reconcile(
            t,
            &by_model,
            &by_agent,
            &ce,
            d(1),
            d(3),
            DEFAULT_DRIFT_THRESHOLD_PCT,
        );
        assert_eq!(r.billed_total, dec!(14.6));
        assert_eq!(r.estimated_total, dec!(13.5));
        let sonnet = &r.lines[0];
        assert_eq!(
            sonnet.billing_service,
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)"
        );
        assert_eq!(sonnet.billed, dec!(12.6));
        // (12.6 − 12)/12.6 = 4.76 % → within 10 %.
        assert_eq!(sonnet.drift_pct.unwrap().round_dp(2), dec!(4.76));
        assert!(sonnet.within_threshold);
        assert_eq!(sonnet.estimated_by_agents, dec!(9.03));
        let haiku = r
            .lines
            .iter()
            .find(|l| l.billing_service.starts_with("Claude 3 Haiku"))
            .unwrap();
        assert_eq!(haiku.drift_pct, Some(Decimal::ZERO));
        let kinds: Vec<&str> = r
            .warnings
            .iter()
            .map(|w| match w {
                PricingWarning::UnknownModelId { .. } => "unknown",
                PricingWarning::MissingCacheTokens { .. } => "cache",
                PricingWarning::PriceChanged { .. } => "price",
                PricingWarning::Drift { .. } => "drift",
                PricingWarning::OneSided { .. } => "one-sided",
                PricingWarning::UnmappedBillingService { .. } => "unmapped",
            })
            .collect();
        assert_eq!(kinds, vec!["unmapped", "unknown", "cache"]);
        assert!(r.warnings[0].message().contains("Claude 4 Opus"));
        assert!(!r.lines.iter().any(|l| l.billing_service == "AWS Lambda"));
    }

    #[test]
    fn drift_above_threshold_and_one_sided_lines_warn() {
        let t = table();
        let (cw, _, _) = month_fixture();
        let by_model = bedrock_spend_by_model(t, &cw, d(1), d(3), &BTreeMap::new());
        // Billed 48 for Sonnet against an estimate of 12: +75 % (the 4× seed gap shape).
        let ce = DailyCostTable::default().with_row(
            d(1),
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
            dec!(48),
            false,
        );
        let r = reconcile(t, &by_model, &[], &ce, d(1), d(3), DEFAULT_DRIFT_THRESHOLD_PCT);
        assert!(r.warnings.contains(&PricingWarning::Drift {
            billing_service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)".into(),
            drift_pct: dec!(75),
        }));
        // Haiku metered but nothing billed yet.
        assert!(
            r.warnings
                .iter()
                .any(|w| matches!(w, PricingWarning::OneSided { estimated, .. } if *estimated == dec!(1.5)))
        );
    }

    #[test]
    fn a_gap_under_a_dollar_is_never_drift() {
        let t = table();
        // 75 cents billed on Bedrock's own line with no token metrics at all: 100 % drift, but pennies.
        let ce = DailyCostTable::default().with_row(d(1), "Amazon Bedrock", dec!(0.75), false);
        let r = reconcile(
            t,
            &BedrockSpend::default(),
            &[],
            &ce,
            d(1),
            d(3),
            DEFAULT_DRIFT_THRESHOLD_PCT,
        );
        assert!(
            !r.warnings
                .iter()
                .any(|w| matches!(w, PricingWarning::Drift { .. })),
            "{:?}",
            r.warnings
        );
        let line = r
            .lines
            .iter()
            .find(|l| l.billing_service == "Amazon Bedrock")
            .unwrap();
        assert!(line.within_threshold);
        assert_eq!(line.drift_pct, Some(dec!(100)));
        // The same percentage on real money still warns.
        let ce = DailyCostTable::default().with_row(d(1), "Amazon Bedrock", dec!(7.50), false);
        let r = reconcile(
            t,
            &BedrockSpend::default(),
            &[],
            &ce,
            d(1),
            d(3),
            DEFAULT_DRIFT_THRESHOLD_PCT,
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| matches!(w, PricingWarning::Drift { .. }))
        );
    }
}
