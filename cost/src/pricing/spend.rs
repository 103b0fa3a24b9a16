//! Bedrock spend from token metrics: per model from `AWS/Bedrock` (`ModelId`), per agent and model from
//! CollectIQ's own catalogue metrics, each day priced at the price effective that day.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use telemetry::catalogue::{DimensionKey, NAMESPACE};

use super::table::{BEDROCK_NAMESPACE, MODEL_ID_DIMENSION, ModelPrice, PriceTable, TokenCounts, TokenKind};
use crate::input::MetricSumSeries;

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
    /// Whether a cache-token series had at least one data point in the period (a point of 0 counts).
    /// A series with none is not "seen": the reader asks for all four token metrics, so a model that
    /// never reported caching still comes back with an empty cache series.
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
    // Seen by its data, not by its name: an empty series is what CloudWatch answers for a metric that
    // was never emitted. A zero-valued point is still data.
    let has_data = || {
        series.points.iter().any(|p| {
            let day = p.timestamp.date_naive();
            day >= start && day < end
        })
    };
    if matches!(kind, TokenKind::CacheRead | TokenKind::CacheWrite) && has_data() {
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
        // A call with an API operation is emitted in both dimension sets (telemetry's catalogue,
        // `BY_AGENT_MODEL`): the per-operation series repeats tokens the agent/model series holds.
        if s.dimension(DimensionKey::Operation.as_str()).is_some() {
            continue;
        }
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::pricing::*;
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

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

    /// telemetry emits a call with an API operation in both of the catalogue's Bedrock dimension sets
    /// (`{service,agent,model}` and `{service,agent,model,operation}`), so CloudWatch holds its tokens
    /// twice; the agent's spend is the call's, once.
    #[test]
    fn a_call_with_an_operation_is_priced_once_per_agent() {
        use telemetry::catalogue::{DimensionKey, MetricName};
        let sets = MetricName::BedrockInputTokens.spec().dimension_sets;
        assert!(
            sets.iter().any(|s| s.contains(&DimensionKey::Operation))
                && sets.iter().any(|s| !s.contains(&DimensionKey::Operation)),
            "the catalogue no longer emits both sets: {sets:?}"
        );
        let rollup = app(TokenKind::Input, "authenticity", SONNET, &[(1, 1000.0)]);
        let per_operation = app(TokenKind::Input, "authenticity", SONNET, &[(1, 1000.0)])
            .with_dimension(DimensionKey::Operation.as_str(), "Converse");
        let spend = bedrock_spend_by_agent(table(), &[rollup, per_operation], d(1), d(2), &BTreeMap::new());
        assert_eq!(spend.len(), 1);
        assert_eq!(spend[0].tokens.input, 1000);
        assert_eq!(spend[0].cost, dec!(0.003)); // 1k × $0.003/1k (Sonnet input)
    }
}
