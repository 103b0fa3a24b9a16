//! The one catalogue of CollectIQ's custom metrics.
//!
//! Every custom metric a CollectIQ function emits is a [`MetricName`] here, with its unit and the exact
//! dimension sets it is emitted with. Emitters (`backend`, `telemetry::genai`) and readers (`dashboards`,
//! `alarms`, `cost`) import these constants; CloudWatch matches dimension sets exactly, so a reader that
//! asks for a set nobody emits gets no data, and that is caught at compile or validation time instead.
//!
//! Keep cardinality low: every distinct combination of dimension values is a billed custom metric
//! ($0.30 per metric per month). Per-user or per-request values belong in log properties, never here.

use std::fmt;

/// The CloudWatch namespace of CollectIQ's own metrics (`POWERTOOLS_METRICS_NAMESPACE` in every function).
pub const NAMESPACE: &str = "CollectIQ";

/// EMF/CloudWatch units used by the catalogue (a subset of the 27 EMF units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// `Count`.
    Count,
    /// `Milliseconds`.
    Milliseconds,
    /// `Percent`.
    Percent,
    /// `None`: a dimensionless value (scores, ratios).
    None,
}

impl Unit {
    /// The unit's name as EMF and CloudWatch spell it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Percent => "Percent",
            Self::None => "None",
        }
    }
}

/// A dimension key CollectIQ functions put on their custom metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DimensionKey {
    /// `service`: the Powertools service name (`POWERTOOLS_SERVICE_NAME`), always present.
    Service,
    /// `function_name`: the Lambda function name (only on `ColdStart`).
    FunctionName,
    /// `agent`: which agent did the work (see [`Agent`]).
    Agent,
    /// `model`: the Bedrock model id the agent called.
    Model,
    /// `operation`: the API operation (Converse, InvokeModel, DetectText, ...).
    Operation,
}

impl DimensionKey {
    /// The key as it appears in EMF documents and CloudWatch dimensions.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::FunctionName => "function_name",
            Self::Agent => "agent",
            Self::Model => "model",
            Self::Operation => "operation",
        }
    }
}

impl fmt::Display for DimensionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The agents of the valuation pipeline; values of the [`DimensionKey::Agent`] dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Agent {
    /// Rekognition text and label extraction.
    Extract,
    /// OCR reasoning over the extracted text.
    OcrReasoning,
    /// The pricing agent.
    Pricing,
    /// The Bedrock-backed authenticity agent.
    Authenticity,
}

impl Agent {
    /// Every agent, in pipeline order.
    pub const ALL: [Self; 4] = [
        Self::Extract,
        Self::OcrReasoning,
        Self::Pricing,
        Self::Authenticity,
    ];

    /// The dimension value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Extract => "extract",
            Self::OcrReasoning => "ocr_reasoning",
            Self::Pricing => "pricing",
            Self::Authenticity => "authenticity",
        }
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A custom metric CollectIQ emits, with the unit and dimension sets it is emitted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricName {
    /// A card valuation completed (aggregator). The denominator of $/valuation.
    CardsValued,
    /// End-to-end valuation latency, upload to persisted value.
    ValuationLatency,
    /// Authenticity score 0..=1 produced by the authenticity agent.
    AuthenticityScore,
    /// The pricing agent's confidence 0..=1.
    PricingConfidence,
    /// How sure the OCR was of the text a card was read from, 0..=1: the mean Rekognition `DetectText`
    /// confidence of the lines the extract step kept (the input of the OCR reasoning).
    OcrConfidence,
    /// Wall time an agent spent on one card.
    AgentDuration,
    /// A card was created by a user.
    CardsCreated,
    /// A card was deleted by a user.
    CardsDeleted,
    /// A card was flagged as possibly fake.
    AuthenticityFlagged,
    /// Bedrock input tokens, per agent and model, and per agent, model and operation (from the
    /// Converse `usage` block).
    BedrockInputTokens,
    /// Bedrock output tokens, per agent and model.
    BedrockOutputTokens,
    /// Bedrock prompt-cache read tokens, per agent and model.
    BedrockCacheReadTokens,
    /// Bedrock prompt-cache write tokens, per agent and model.
    BedrockCacheWriteTokens,
    /// Bedrock call latency as the agent saw it, per agent and model.
    BedrockLatency,
    /// Rekognition API calls, per operation.
    RekognitionCalls,
    /// A real cold start (Powertools semantics: never for provisioned concurrency).
    ColdStart,
}

/// Static description of one catalogue metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    /// The metric.
    pub name: MetricName,
    /// Its unit.
    pub unit: Unit,
    /// The dimension sets it is emitted with; readers must use one of these exactly.
    pub dimension_sets: &'static [&'static [DimensionKey]],
    /// One line for dashboards, alarms and docs.
    pub description: &'static str,
}

use DimensionKey::{Agent as A, FunctionName as F, Model as M, Operation as O, Service as S};

const BY_SERVICE: &[&[DimensionKey]] = &[&[S]];
const BY_AGENT: &[&[DimensionKey]] = &[&[S, A]];
/// Bedrock usage: per agent and model, and per agent, model and API operation (both sets in every
/// document, so readers of either get data; `operation` is allow-listed in `genai::OPERATIONS`).
const BY_AGENT_MODEL: &[&[DimensionKey]] = &[&[S, A, M], &[S, A, M, O]];

impl MetricName {
    /// Every catalogue metric.
    pub const ALL: [Self; 16] = [
        Self::CardsValued,
        Self::ValuationLatency,
        Self::AuthenticityScore,
        Self::PricingConfidence,
        Self::OcrConfidence,
        Self::AgentDuration,
        Self::CardsCreated,
        Self::CardsDeleted,
        Self::AuthenticityFlagged,
        Self::BedrockInputTokens,
        Self::BedrockOutputTokens,
        Self::BedrockCacheReadTokens,
        Self::BedrockCacheWriteTokens,
        Self::BedrockLatency,
        Self::RekognitionCalls,
        Self::ColdStart,
    ];

    /// The metric name as emitted.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.spec().name_str()
    }

    /// The full specification of this metric.
    #[must_use]
    pub const fn spec(self) -> MetricSpec {
        let (unit, dimension_sets, description): (Unit, &'static [&'static [DimensionKey]], &str) = match self
        {
            Self::CardsValued => (Unit::Count, BY_SERVICE, "Card valuations completed"),
            Self::ValuationLatency => (Unit::Milliseconds, BY_SERVICE, "Upload-to-value latency"),
            Self::AuthenticityScore => (Unit::None, BY_SERVICE, "Authenticity score (0-1)"),
            Self::PricingConfidence => (Unit::None, BY_SERVICE, "Pricing confidence (0-1)"),
            Self::OcrConfidence => (
                Unit::None,
                BY_SERVICE,
                "OCR confidence of the text a card was read from (0-1)",
            ),
            Self::AgentDuration => (Unit::Milliseconds, BY_AGENT, "Time an agent spent on one card"),
            Self::CardsCreated => (Unit::Count, BY_SERVICE, "Cards created"),
            Self::CardsDeleted => (Unit::Count, BY_SERVICE, "Cards deleted"),
            Self::AuthenticityFlagged => (Unit::Count, BY_SERVICE, "Cards flagged as possibly fake"),
            Self::BedrockInputTokens => (Unit::Count, BY_AGENT_MODEL, "Bedrock input tokens"),
            Self::BedrockOutputTokens => (Unit::Count, BY_AGENT_MODEL, "Bedrock output tokens"),
            Self::BedrockCacheReadTokens => (Unit::Count, BY_AGENT_MODEL, "Bedrock cache-read tokens"),
            Self::BedrockCacheWriteTokens => (Unit::Count, BY_AGENT_MODEL, "Bedrock cache-write tokens"),
            Self::BedrockLatency => (Unit::Milliseconds, BY_AGENT_MODEL, "Bedrock call latency"),
            Self::RekognitionCalls => (Unit::Count, &[&[S, O]], "Rekognition API calls"),
            Self::ColdStart => (
                Unit::Count,
                &[&[S, F]],
                "Cold starts (not provisioned concurrency)",
            ),
        };
        MetricSpec {
            name: self,
            unit,
            dimension_sets,
            description,
        }
    }

    /// Looks a metric up by its emitted name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl MetricSpec {
    const fn name_str(&self) -> &'static str {
        match self.name {
            MetricName::CardsValued => "CardsValued",
            MetricName::ValuationLatency => "ValuationLatency",
            MetricName::AuthenticityScore => "AuthenticityScore",
            MetricName::PricingConfidence => "PricingConfidence",
            MetricName::OcrConfidence => "OcrConfidence",
            MetricName::AgentDuration => "AgentDuration",
            MetricName::CardsCreated => "CardsCreated",
            MetricName::CardsDeleted => "CardsDeleted",
            MetricName::AuthenticityFlagged => "AuthenticityFlagged",
            MetricName::BedrockInputTokens => "BedrockInputTokens",
            MetricName::BedrockOutputTokens => "BedrockOutputTokens",
            MetricName::BedrockCacheReadTokens => "BedrockCacheReadTokens",
            MetricName::BedrockCacheWriteTokens => "BedrockCacheWriteTokens",
            MetricName::BedrockLatency => "BedrockLatency",
            MetricName::RekognitionCalls => "RekognitionCalls",
            MetricName::ColdStart => "ColdStart",
        }
    }

    /// Whether `keys` (in any order) is exactly one of the sets this metric is emitted with.
    #[must_use]
    pub fn is_emitted_with(&self, keys: &[DimensionKey]) -> bool {
        let mut wanted = keys.to_vec();
        crate::sort::sort(&mut wanted);
        self.dimension_sets.iter().any(|set| {
            let mut have = set.to_vec();
            crate::sort::sort(&mut have);
            have == wanted
        })
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// The catalogue joins the shared CloudWatch vocabulary: `vocabulary::MetricRef::custom` and the
// dashboard/alarm validators accept these names with the same exact-dimension-set rule as AWS's.
impl vocabulary::CustomMetric for MetricName {
    const NAMESPACE: &'static str = NAMESPACE;

    fn all() -> &'static [Self] {
        &Self::ALL
    }

    fn metric_name(self) -> &'static str {
        self.as_str()
    }

    fn dimension_sets(self) -> Vec<Vec<&'static str>> {
        self.spec()
            .dimension_sets
            .iter()
            .map(|set| set.iter().map(|k| k.as_str()).collect())
            .collect()
    }
}

impl vocabulary::CustomDimension for DimensionKey {
    fn dimension_name(self) -> &'static str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_round_trip() {
        let names: HashSet<_> = MetricName::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(names.len(), MetricName::ALL.len());
        for m in MetricName::ALL {
            assert_eq!(MetricName::from_name(m.as_str()), Some(m));
            assert_eq!(m.spec().name, m);
        }
        assert_eq!(MetricName::from_name("Nope"), None);
    }

    #[test]
    fn every_metric_carries_service_except_nothing() {
        for m in MetricName::ALL {
            for set in m.spec().dimension_sets {
                assert!(
                    set.contains(&DimensionKey::Service),
                    "{m} set {set:?} lacks service"
                );
                assert!(set.len() <= 29, "EMF allows 29 user dimensions");
            }
        }
    }

    #[test]
    fn dimension_set_match_is_exact_and_order_free() {
        let spec = MetricName::BedrockInputTokens.spec();
        assert!(spec.is_emitted_with(&[DimensionKey::Model, DimensionKey::Service, DimensionKey::Agent]));
        assert!(!spec.is_emitted_with(&[DimensionKey::Service, DimensionKey::Agent]));
        assert!(spec.is_emitted_with(&[
            DimensionKey::Service,
            DimensionKey::Agent,
            DimensionKey::Model,
            DimensionKey::Operation
        ]));
        assert!(!MetricName::CardsValued.spec().is_emitted_with(&[]));
    }
}
