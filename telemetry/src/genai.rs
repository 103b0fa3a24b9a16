//! Bedrock usage → the catalogue's `Bedrock*` metrics (dimension sets `[service, agent, model]` and
//! `[service, agent, model, operation]` in every document, the operation allow-listed) and an
//! OpenTelemetry GenAI client span.
//!
//! `AWS/Bedrock` only reports tokens per model; recording them per agent here is what lets the cost
//! governance attribute Bedrock spend to the valuation pipeline's agents.
//!
//! The span follows the GenAI semantic conventions
//! (<https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/>): name
//! `{gen_ai.operation.name} {gen_ai.request.model}`, kind client, `gen_ai.provider.name` (and the older
//! `gen_ai.system`) `aws.bedrock`, `gen_ai.operation.name` (`chat` for Converse, `text_completion` for
//! InvokeModel), `gen_ai.request.model`, `gen_ai.usage.input_tokens`/`output_tokens` and the prompt-cache
//! counts; its start is back-dated by the call's latency so its duration is the call's.

use crate::catalogue::{DimensionKey, MetricName};

/// One Bedrock call's usage (the Converse `usage` and `metrics` blocks plus who made the call).
#[derive(Debug, Clone, PartialEq)]
pub struct BedrockUsage {
    /// The model id (e.g. `anthropic.claude-3-5-sonnet-20240620-v1:0`).
    pub model: String,
    /// The agent that called (a [`crate::catalogue::Agent`] value).
    pub agent: String,
    /// The API operation (`Converse`, `InvokeModel`, …).
    pub operation: String,
    /// `usage.inputTokens`.
    pub input_tokens: u64,
    /// `usage.outputTokens`.
    pub output_tokens: u64,
    /// `usage.cacheReadInputTokens`.
    pub cache_read_tokens: u64,
    /// `usage.cacheWriteInputTokens`.
    pub cache_write_tokens: u64,
    /// `metrics.latencyMs`.
    pub latency_ms: Option<f64>,
}

impl BedrockUsage {
    /// Every input token the call used, cached or not: `inputTokens` + `cacheReadInputTokens` +
    /// `cacheWriteInputTokens`. Bedrock's Converse usage reports the cache reads and writes outside
    /// `inputTokens` (its `totalTokens` adds them back), while the GenAI conventions'
    /// `gen_ai.usage.input_tokens` "SHOULD include all types of input tokens, including cached tokens"
    /// and each cache count "SHOULD be included in `gen_ai.usage.input_tokens`". The metrics keep the
    /// three apart: each is priced at its own rate (cache reads 0.1×, writes 1.25× the input price).
    ///
    /// ```
    /// let u = telemetry::genai::BedrockUsage::from_converse(&serde_json::json!({
    ///     "usage": {"inputTokens": 12, "outputTokens": 30, "totalTokens": 1092,
    ///               "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 50}}), "m", "pricing");
    /// assert_eq!(u.all_input_tokens(), 1062);
    /// ```
    #[must_use]
    pub fn all_input_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_add(self.cache_read_tokens)
            .saturating_add(self.cache_write_tokens)
    }

    /// Reads a Converse response body (`{"usage": {...}, "metrics": {"latencyMs": ..}}`).
    ///
    /// ```
    /// use telemetry::catalogue::Agent;
    /// let body = serde_json::json!({"usage": {"inputTokens": 120, "outputTokens": 30, "totalTokens": 150,
    ///     "cacheReadInputTokens": 1000}, "metrics": {"latencyMs": 850}});
    /// let u = telemetry::genai::BedrockUsage::from_converse(&body, "claude", Agent::Authenticity.as_str());
    /// assert_eq!((u.input_tokens, u.output_tokens, u.cache_read_tokens), (120, 30, 1000));
    /// assert_eq!(u.latency_ms, Some(850.0));
    /// ```
    #[must_use]
    pub fn from_converse(body: &serde_json::Value, model: &str, agent: &str) -> Self {
        let n = |p: &str| body.pointer(p).and_then(serde_json::Value::as_u64).unwrap_or(0);
        Self {
            model: model.to_owned(),
            agent: agent.to_owned(),
            operation: "Converse".to_owned(),
            input_tokens: n("/usage/inputTokens"),
            output_tokens: n("/usage/outputTokens"),
            cache_read_tokens: n("/usage/cacheReadInputTokens"),
            cache_write_tokens: n("/usage/cacheWriteInputTokens"),
            latency_ms: body
                .pointer("/metrics/latencyMs")
                .and_then(serde_json::Value::as_f64),
        }
    }
}

/// The Bedrock Runtime operations kept as the `operation` label; any other becomes `other`, so the label
/// cannot grow the number of metric series.
pub const OPERATIONS: [&str; 6] = [
    "Converse",
    "ConverseStream",
    "InvokeModel",
    "InvokeModelWithResponseStream",
    "CountTokens",
    "ApplyGuardrail",
];

/// `operation` as the allow-listed label value.
///
/// ```
/// assert_eq!(telemetry::genai::operation_label("Converse"), "Converse");
/// assert_eq!(telemetry::genai::operation_label("card-7f3a"), "other");
/// ```
#[must_use]
pub fn operation_label(operation: &str) -> &'static str {
    OPERATIONS
        .iter()
        .find(|o| **o == operation)
        .copied()
        .unwrap_or("other")
}

/// `gen_ai.operation.name` for a Bedrock Runtime operation (the conventions' well-known values).
#[must_use]
pub fn operation_name(operation: &str) -> &'static str {
    match operation {
        "Converse" | "ConverseStream" => "chat",
        "InvokeModel" | "InvokeModelWithResponseStream" => "text_completion",
        _ => "other",
    }
}

/// Records `usage` as metrics through the `metrics` facade and as a `gen_ai` span.
///
/// ```
/// let rec = telemetry::emf::EmfBuilder::new().namespace("CollectIQ").with_writer(std::io::sink()).build()?;
/// let usage = telemetry::genai::BedrockUsage {
///     model: "claude".into(), agent: "pricing".into(), operation: "Converse".into(),
///     input_tokens: 10, output_tokens: 5, cache_read_tokens: 0, cache_write_tokens: 0, latency_ms: Some(12.0),
/// };
/// metrics::with_local_recorder(&rec, || telemetry::genai::record(&usage));
/// assert_eq!(rec.flush().values, 3);
/// # Ok::<(), telemetry::emf::BuildError>(())
/// ```
pub fn record(usage: &BedrockUsage) {
    let agent = DimensionKey::Agent.as_str();
    let model = DimensionKey::Model.as_str();
    let labels = [
        metrics::Label::new(agent, usage.agent.clone()),
        metrics::Label::new(model, usage.model.clone()),
        metrics::Label::new(
            DimensionKey::Operation.as_str(),
            operation_label(&usage.operation),
        ),
    ];
    let counters = [
        (MetricName::BedrockInputTokens, usage.input_tokens),
        (MetricName::BedrockOutputTokens, usage.output_tokens),
        (MetricName::BedrockCacheReadTokens, usage.cache_read_tokens),
        (MetricName::BedrockCacheWriteTokens, usage.cache_write_tokens),
    ];
    for (name, value) in counters {
        if value > 0 {
            metrics::counter!(name.as_str(), labels.to_vec()).increment(value);
        }
    }
    if let Some(ms) = usage.latency_ms {
        metrics::histogram!(MetricName::BedrockLatency.as_str(), labels.to_vec()).record(ms);
    }
    let current = tracing::Span::current();
    current.record("gen_ai.usage.input_tokens", usage.all_input_tokens());
    current.record("gen_ai.usage.output_tokens", usage.output_tokens);
    let operation = operation_name(&usage.operation);
    let span = tracing::info_span!(
        target: "telemetry::genai",
        "gen_ai",
        otel.name = format!("{operation} {}", usage.model),
        otel.kind = "client",
        xray.namespace = "aws",
        telemetry.duration_ms = usage.latency_ms,
        aws.operation = usage.operation.as_str(),
        gen_ai.provider.name = "aws.bedrock",
        gen_ai.system = "aws.bedrock",
        gen_ai.operation.name = operation,
        gen_ai.request.model = usage.model.as_str(),
        gen_ai.agent.name = usage.agent.as_str(),
        gen_ai.usage.input_tokens = usage.all_input_tokens(),
        gen_ai.usage.output_tokens = usage.output_tokens,
        gen_ai.usage.cache_read.input_tokens = usage.cache_read_tokens,
        gen_ai.usage.cache_creation.input_tokens = usage.cache_write_tokens,
        annotation.gen_ai_model = usage.model.as_str(),
        annotation.agent = usage.agent.as_str(),
    );
    drop(span);
}

#[cfg(all(test, feature = "xray"))]
mod tests {
    use super::*;
    use crate::emf::{EmfBuilder, SharedBuffer};
    use crate::xray::{MemorySink, XrayLayer};
    use serde_json::Value;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn metrics_by_agent_and_model_and_a_span() {
        let out = SharedBuffer::default();
        let rec = EmfBuilder::new()
            .namespace("CollectIQ")
            .service("valuation")
            .with_writer(out.clone())
            .build()
            .unwrap();
        let sink = MemorySink::default();
        let usage = BedrockUsage {
            model: "claude-sonnet".into(),
            agent: "authenticity".into(),
            operation: "Converse".into(),
            input_tokens: 1200,
            output_tokens: 300,
            cache_read_tokens: 0,
            cache_write_tokens: 50,
            latency_ms: Some(850.0),
        };
        let sub = tracing_subscriber::registry().with(XrayLayer::new(sink.clone()));
        tracing::subscriber::with_default(sub, || {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header =
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            )
            .entered();
            metrics::with_local_recorder(&rec, || record(&usage));
        });
        rec.flush();
        let line = out.contents();
        crate::emf::validate(line.trim()).unwrap();
        let doc: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(doc["BedrockInputTokens"], 1200);
        assert_eq!(doc["BedrockOutputTokens"], 300);
        assert_eq!(doc["BedrockCacheWriteTokens"], 50);
        assert!(doc.get("BedrockCacheReadTokens").is_none(), "zero is not emitted");
        assert_eq!(doc["BedrockLatency"], 850);
        assert_eq!(doc["agent"], "authenticity");
        assert_eq!(doc["operation"], "Converse");
        assert_eq!(doc["model"], "claude-sonnet");
        assert_metrics_have_dimension_sets(
            &doc,
            &[
                &["service", "agent", "model"],
                &["service", "agent", "model", "operation"],
            ],
        );
        for set in [
            &[DimensionKey::Service, DimensionKey::Agent, DimensionKey::Model][..],
            &[
                DimensionKey::Service,
                DimensionKey::Agent,
                DimensionKey::Model,
                DimensionKey::Operation,
            ],
        ] {
            assert!(MetricName::BedrockInputTokens.spec().is_emitted_with(set));
        }
        let spans = sink.documents();
        let span_doc = &spans[0]["subsegments"][0];
        assert_eq!(span_doc["name"], "chat claude-sonnet");
        assert_eq!(span_doc["aws"]["operation"], "Converse");
        let duration = span_doc["end_time"].as_f64().unwrap() - span_doc["start_time"].as_f64().unwrap();
        assert!(
            (0.85..1.0).contains(&duration),
            "back-dated by the 850 ms latency: {duration}"
        );
        // 1,200 as reported + the 50 written to the cache (the metrics keep them apart).
        assert_eq!(span_doc["metadata"]["default"]["gen_ai.usage.input_tokens"], 1250);
        assert_eq!(span_doc["annotations"]["agent"], "authenticity");
        assert_eq!(span_doc["namespace"], "aws");
    }

    /// GenAI semantic conventions (registry and the AWS Bedrock span table): the cache counts are
    /// `gen_ai.usage.cache_read.input_tokens` and `gen_ai.usage.cache_creation.input_tokens`, with a
    /// dot before `input_tokens`; the underscore spellings are the deprecated ones.
    #[test]
    fn cache_token_attributes_use_the_semconv_names() {
        let sink = MemorySink::default();
        let usage = BedrockUsage {
            model: "claude-sonnet".into(),
            agent: "authenticity".into(),
            operation: "Converse".into(),
            input_tokens: 120,
            output_tokens: 30,
            cache_read_tokens: 1000,
            cache_write_tokens: 50,
            latency_ms: None,
        };
        let sub = tracing_subscriber::registry().with(XrayLayer::new(sink.clone()));
        tracing::subscriber::with_default(sub, || {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header =
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            )
            .entered();
            record(&usage);
        });
        let spans = sink.documents();
        let meta = &spans[0]["subsegments"][0]["metadata"]["default"];
        assert_eq!(meta["gen_ai.usage.cache_read.input_tokens"], 1000, "{meta}");
        assert_eq!(meta["gen_ai.usage.cache_creation.input_tokens"], 50, "{meta}");
        // The conventions' input count includes the cached tokens, which Bedrock reports apart.
        assert_eq!(meta["gen_ai.usage.input_tokens"], 120 + 1000 + 50, "{meta}");
        assert_eq!(meta["gen_ai.usage.output_tokens"], 30, "{meta}");
        assert!(
            meta.get("gen_ai.usage.cache_read_input_tokens").is_none(),
            "{meta}"
        );
        assert!(
            meta.get("gen_ai.usage.cache_creation_input_tokens").is_none(),
            "{meta}"
        );
    }

    /// EMF specification: each directive's `Dimensions` is an array of dimension sets; every key of
    /// every set must be a root member whose value is a string. Checks the directive names exactly
    /// `sets`, each key a root string, and every metric of the directive a root number.
    #[allow(clippy::unwrap_used)]
    fn assert_metrics_have_dimension_sets(doc: &Value, sets: &[&[&str]]) {
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1, "{doc}");
        let got: Vec<Vec<&str>> = directives[0]["Dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|set| {
                set.as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap())
                    .collect()
            })
            .collect();
        let want: Vec<Vec<&str>> = sets.iter().map(|s| s.to_vec()).collect();
        assert_eq!(got, want, "{doc}");
        for key in sets.iter().flat_map(|s| s.iter()) {
            assert!(doc[*key].is_string(), "dimension {key} is a root string: {doc}");
        }
        for m in directives[0]["Metrics"].as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(
                doc[name].is_number() || doc[name].is_array(),
                "{name} value at the root: {doc}"
            );
        }
    }

    #[test]
    fn operation_is_a_dimension_only_when_allow_listed_and_present() {
        let out = SharedBuffer::default();
        let rec = EmfBuilder::new()
            .namespace("CollectIQ")
            .service("valuation")
            .with_writer(out.clone())
            .build()
            .unwrap();
        let usage = |operation: &str| BedrockUsage {
            model: "claude-haiku".into(),
            agent: "pricing".into(),
            operation: operation.into(),
            input_tokens: 10,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            latency_ms: None,
        };
        metrics::with_local_recorder(&rec, || {
            // An unknown operation is folded into `other`: the label cannot grow the metric count.
            record(&usage("card-7f3a"));
            // A caller recording without the operation label still lands in the agent/model set.
            metrics::counter!(
                MetricName::BedrockInputTokens.as_str(),
                "agent" => "extract",
                "model" => "claude-haiku"
            )
            .increment(5);
        });
        rec.flush();
        let docs: Vec<Value> = out
            .contents()
            .lines()
            .map(|l| {
                crate::emf::validate(l).unwrap();
                serde_json::from_str(l).unwrap()
            })
            .collect();
        assert_eq!(docs.len(), 2, "{docs:?}");
        let with_op = docs.iter().find(|d| d["agent"] == "pricing").unwrap();
        assert_eq!(with_op["operation"], "other");
        assert_metrics_have_dimension_sets(
            with_op,
            &[
                &["service", "agent", "model"],
                &["service", "agent", "model", "operation"],
            ],
        );
        let without = docs.iter().find(|d| d["agent"] == "extract").unwrap();
        assert!(without.get("operation").is_none());
        assert_metrics_have_dimension_sets(without, &[&["service", "agent", "model"]]);
    }
}
