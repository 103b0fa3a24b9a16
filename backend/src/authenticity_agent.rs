//! The authenticity agent: asks a Bedrock model (Converse) whether the extracted features look like a
//! genuine card, and answers an [`AuthenticityAssessment`] (score 0–1, flags, rationale).
//!
//! The model sits behind [`AuthenticityModel`] ([`BedrockModel`] is the real Converse client); tests use
//! a deterministic fake. Token usage is recorded per agent and model through
//! [`telemetry::genai::record`] (`BedrockInputTokens`, … with `agent = authenticity`); the score as
//! `AuthenticityScore`, the time as `AgentDuration`.

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::model::{AuthenticityAssessment, ExtractOutput, FeatureEnvelope};
use crate::obs::{self, RequestLog};
use async_trait::async_trait;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, SystemContentBlock,
};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use telemetry::catalogue::{Agent, MetricName};
use telemetry::genai::BedrockUsage;

/// The default model (`BEDROCK_MODEL_ID`).
pub const DEFAULT_MODEL_ID: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

/// The system prompt (stable, so Bedrock prompt caching can reuse it).
pub const SYSTEM_PROMPT: &str = "You judge whether a collectible trading card is genuine from text and \
labels a vision model read off its photo. Answer with one JSON object and nothing else: \
{\"score\": number between 0 (certainly counterfeit) and 1 (certainly genuine), \"flags\": [short \
strings naming concrete concerns], \"rationale\": one short paragraph}.";

/// A model's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// The text of the answer.
    pub text: String,
    /// Token usage and latency, as `telemetry::genai` records it.
    pub usage: BedrockUsage,
}

/// A chat model.
#[async_trait]
pub trait AuthenticityModel: Send + Sync {
    /// The model id (the `model` dimension).
    fn model_id(&self) -> &str;
    /// One Converse turn: `system` + one user message.
    async fn converse(&self, system: &str, user: &str) -> Result<ModelReply, HandlerError>;
}

/// Bedrock Converse.
#[derive(Debug, Clone)]
pub struct BedrockModel {
    client: aws_sdk_bedrockruntime::Client,
    model_id: String,
}

impl BedrockModel {
    /// A model client.
    #[must_use]
    pub fn new(client: aws_sdk_bedrockruntime::Client, model_id: impl Into<String>) -> Self {
        Self {
            client,
            model_id: model_id.into(),
        }
    }
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, HandlerError> {
    r.map_err(|e| HandlerError::Internal(format!("Converse request: {e}")))
}

#[async_trait]
impl AuthenticityModel for BedrockModel {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    async fn converse(&self, system: &str, user: &str) -> Result<ModelReply, HandlerError> {
        let message = build(
            Message::builder()
                .role(ConversationRole::User)
                .content(ContentBlock::Text(user.to_owned()))
                .build(),
        )?;
        let out = self
            .client
            .converse()
            .model_id(&self.model_id)
            .system(SystemContentBlock::Text(system.to_owned()))
            .messages(message)
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(512)
                    .temperature(0.0)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| crate::error::sdk_error("Converse", e))?;
        let text = out
            .output()
            .and_then(|o| o.as_message().ok())
            .map(|m| {
                m.content()
                    .iter()
                    .filter_map(|c| c.as_text().ok().cloned())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .unwrap_or_default();
        let u = out.usage();
        let n = |v: Option<i32>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        let usage = BedrockUsage {
            model: self.model_id.clone(),
            agent: Agent::Authenticity.as_str().to_owned(),
            operation: "Converse".to_owned(),
            input_tokens: n(u.map(|u| u.input_tokens())),
            output_tokens: n(u.map(|u| u.output_tokens())),
            cache_read_tokens: n(u.and_then(|u| u.cache_read_input_tokens())),
            cache_write_tokens: n(u.and_then(|u| u.cache_write_input_tokens())),
            latency_ms: out.metrics().map(|m| m.latency_ms() as f64),
        };
        Ok(ModelReply { text, usage })
    }
}

/// The function's dependencies.
#[derive(Clone)]
pub struct Deps {
    /// The model (or a fake).
    pub model: Arc<dyn AuthenticityModel>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("model", &self.model.model_id())
            .finish()
    }
}

impl Deps {
    /// Bedrock with `BEDROCK_MODEL_ID` (default [`DEFAULT_MODEL_ID`]).
    ///
    /// # Errors
    /// An invalid variable.
    pub fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let model_id = config::parsed("BEDROCK_MODEL_ID", DEFAULT_MODEL_ID.to_owned())?;
        Ok(Self {
            model: Arc::new(BedrockModel::new(
                aws_sdk_bedrockruntime::Client::new(aws),
                model_id,
            )),
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Evidence<'a> {
    text: Vec<&'a str>,
    labels: Vec<&'a str>,
    looks_like_card: bool,
    hints: &'a crate::model::CardHints,
}

/// The user message: the features as JSON (only text, labels and hints; no ids).
#[must_use]
pub fn prompt(f: &FeatureEnvelope) -> String {
    let evidence = Evidence {
        text: f.text.iter().map(|t| t.text.as_str()).collect(),
        labels: f.labels.iter().map(|l| l.name.as_str()).collect(),
        looks_like_card: f.looks_like_card,
        hints: &f.hints,
    };
    format!(
        "Evidence read off the card photo:\n{}",
        serde_json::to_string(&evidence).unwrap_or_default()
    )
}

#[derive(Debug, Deserialize)]
struct Verdict {
    score: f64,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    rationale: String,
}

/// Parses the model's answer: the first `{…}` object in the text, `score` within 0..=1.
///
/// ```
/// let a = backend::authenticity_agent::parse_verdict(
///     "Here you go: {\"score\": 0.93, \"flags\": [], \"rationale\": \"Fonts match.\"}", "m")?;
/// assert_eq!(a.score, 0.93);
/// # Ok::<(), backend::HandlerError>(())
/// ```
///
/// # Errors
/// `Retryable` when the answer is not such an object (models are sampled; a retry may do better).
pub fn parse_verdict(text: &str, model_id: &str) -> Result<AuthenticityAssessment, HandlerError> {
    let bad = |why: &str| HandlerError::Retryable(format!("model answer unusable: {why}"));
    let start = text.find('{').ok_or_else(|| bad("no JSON object"))?;
    let end = text.rfind('}').ok_or_else(|| bad("no JSON object"))?;
    if end < start {
        return Err(bad("no JSON object"));
    }
    let v: Verdict = serde_json::from_str(&text[start..=end]).map_err(|_| bad("not the expected JSON"))?;
    if !(0.0..=1.0).contains(&v.score) {
        return Err(bad("score outside 0..=1"));
    }
    Ok(AuthenticityAssessment {
        score: v.score,
        flags: v.flags.into_iter().take(20).collect(),
        rationale: v.rationale.chars().take(2000).collect(),
        model_id: model_id.to_owned(),
    })
}

/// The handler.
///
/// # Errors
/// `Retryable` for throttling or an unusable answer; `Internal` otherwise.
pub async fn handler(
    event: LambdaEvent<ExtractOutput>,
    deps: &Deps,
) -> Result<AuthenticityAssessment, HandlerError> {
    let log = RequestLog::start("authenticity_agent", &event.context.request_id);
    let input = event.payload;
    let result = async {
        let reply = deps
            .model
            .converse(SYSTEM_PROMPT, &prompt(&input.features))
            .await?;
        // Tokens are billed whether or not the answer parses: record them first.
        telemetry::genai::record(&reply.usage);
        let verdict = parse_verdict(&reply.text, deps.model.model_id())?;
        obs::record(MetricName::AuthenticityScore, verdict.score);
        tracing::info!(
            card_id = input.request.card_id.as_str(),
            valuation_id = input.request.valuation_id.as_str(),
            score = verdict.score,
            flags = verdict.flags.len(),
            input_tokens = reply.usage.input_tokens,
            output_tokens = reply.usage.output_tokens,
            "authenticity judged"
        );
        Ok(verdict)
    }
    .await;
    obs::agent_duration(Agent::Authenticity, log.elapsed_ms());
    log.finish(&result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_outside_the_contract_are_retryable() {
        for text in ["no json", "{\"score\": 1.5}", "{\"flags\": []}", "} {"] {
            assert!(
                matches!(parse_verdict(text, "m"), Err(HandlerError::Retryable(_))),
                "{text}"
            );
        }
        let v = parse_verdict("```json\n{\"score\": 0.2, \"flags\": [\"font\"]}\n```", "m").unwrap();
        assert_eq!(
            (v.score, v.flags.as_slice(), v.model_id.as_str()),
            (0.2, ["font".to_owned()].as_slice(), "m")
        );
    }

    #[test]
    fn prompt_carries_evidence_but_no_ids() {
        let f = crate::rekognition_extract::envelope(
            "card-123",
            vec![crate::model::TextLine {
                text: "Charizard".into(),
                confidence: 99.0,
            }],
            vec![],
        );
        let p = prompt(&f);
        assert!(p.contains("Charizard"));
        assert!(!p.contains("card-123"));
    }
}
