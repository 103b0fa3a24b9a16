//! The valuation pipeline's first task: Rekognition `DetectText` + `DetectLabels` on the front image
//! → a [`FeatureEnvelope`] for the pricing and authenticity agents.
//!
//! Rekognition sits behind [`Vision`] ([`RekognitionVision`] is the real client); tests use a
//! deterministic fake. Counts `RekognitionCalls` per operation and records `AgentDuration`
//! (`agent = extract`).

use crate::HandlerError;
use crate::model::{CardHints, ExtractOutput, FeatureEnvelope, LabelHit, TextLine, ValuationRequest};
use crate::obs::{self, RequestLog};
use async_trait::async_trait;
use aws_sdk_rekognition::types::{Image, S3Object, TextTypes};
use lambda_runtime::LambdaEvent;
use std::sync::Arc;
use telemetry::catalogue::Agent;

/// Lines below this confidence (0–100) are dropped.
pub const MIN_TEXT_CONFIDENCE: f32 = 80.0;
/// Labels below this confidence are not requested.
pub const MIN_LABEL_CONFIDENCE: f32 = 70.0;
/// Labels that mean "this is a card".
pub const CARD_LABELS: [&str; 3] = ["Trading Card", "Card", "Poster"];

/// Text and labels in an image.
#[async_trait]
pub trait Vision: Send + Sync {
    /// `DetectText`: lines of text.
    async fn detect_text(&self, bucket: &str, key: &str) -> Result<Vec<TextLine>, HandlerError>;
    /// `DetectLabels`: labels.
    async fn detect_labels(&self, bucket: &str, key: &str) -> Result<Vec<LabelHit>, HandlerError>;
}

/// The real Rekognition client.
#[derive(Debug, Clone)]
pub struct RekognitionVision {
    client: aws_sdk_rekognition::Client,
}

impl RekognitionVision {
    /// Wraps a client.
    #[must_use]
    pub fn new(client: aws_sdk_rekognition::Client) -> Self {
        Self { client }
    }
}

fn image(bucket: &str, key: &str) -> Image {
    Image::builder()
        .s3_object(S3Object::builder().bucket(bucket).name(key).build())
        .build()
}

/// Bad images are the caller's problem (not retried); throttling and 5xx are retryable.
fn vision_error<E>(
    op: &str,
    e: aws_sdk_rekognition::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> HandlerError
where
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + Send + Sync + 'static,
{
    let code = e
        .as_service_error()
        .and_then(aws_smithy_types::error::metadata::ProvideErrorMetadata::code)
        .unwrap_or_default()
        .to_owned();
    if matches!(
        code.as_str(),
        "InvalidImageFormatException" | "ImageTooLargeException" | "InvalidS3ObjectException"
    ) {
        return HandlerError::validation("frontS3Key", format!("{op}: {code}"));
    }
    crate::error::sdk_error(op, e)
}

#[async_trait]
impl Vision for RekognitionVision {
    async fn detect_text(&self, bucket: &str, key: &str) -> Result<Vec<TextLine>, HandlerError> {
        let out = self
            .client
            .detect_text()
            .image(image(bucket, key))
            .send()
            .await
            .map_err(|e| vision_error("DetectText", e))?;
        Ok(out
            .text_detections()
            .iter()
            .filter(|d| d.r#type() == Some(&TextTypes::Line))
            .filter_map(|d| {
                Some(TextLine {
                    text: d.detected_text()?.to_owned(),
                    confidence: d.confidence()?,
                })
            })
            .collect())
    }

    async fn detect_labels(&self, bucket: &str, key: &str) -> Result<Vec<LabelHit>, HandlerError> {
        let out = self
            .client
            .detect_labels()
            .image(image(bucket, key))
            .max_labels(25)
            .min_confidence(MIN_LABEL_CONFIDENCE)
            .send()
            .await
            .map_err(|e| vision_error("DetectLabels", e))?;
        Ok(out
            .labels()
            .iter()
            .filter_map(|l| {
                Some(LabelHit {
                    name: l.name()?.to_owned(),
                    confidence: l.confidence()?,
                })
            })
            .collect())
    }
}

/// The function's dependencies.
#[derive(Clone)]
pub struct Deps {
    /// Rekognition (or a fake).
    pub vision: Arc<dyn Vision>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps").finish_non_exhaustive()
    }
}

impl Deps {
    /// The real Rekognition client.
    #[must_use]
    pub fn from_env(aws: &aws_config::SdkConfig) -> Self {
        Self {
            vision: Arc::new(RekognitionVision::new(aws_sdk_rekognition::Client::new(aws))),
        }
    }
}

/// Reads year, set number and grade off the text lines.
///
/// ```
/// use backend::model::TextLine;
/// let lines = [TextLine { text: "©1999 Wizards 4/102".into(), confidence: 99.0 },
///              TextLine { text: "PSA 10 GEM MINT".into(), confidence: 98.0 }];
/// let h = backend::rekognition_extract::hints(&lines);
/// assert_eq!((h.year, h.number.as_deref(), h.grade.as_deref()), (Some(1999), Some("4/102"), Some("PSA 10")));
/// ```
#[must_use]
pub fn hints(lines: &[TextLine]) -> CardHints {
    let mut h = CardHints::default();
    for line in lines {
        let words: Vec<&str> = line.text.split_whitespace().collect();
        for (i, raw) in words.iter().enumerate() {
            let w = raw.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '/' && c != '.');
            let digits: String = w.chars().filter(char::is_ascii_digit).collect();
            if h.year.is_none()
                && digits.len() == 4
                && w.trim_start_matches(|c: char| !c.is_ascii_digit()) == digits
                && let Ok(y) = digits.parse::<u16>()
                && (1900..=2099).contains(&y)
            {
                h.year = Some(y);
            }
            if h.number.is_none()
                && let Some((a, b)) = w.split_once('/')
                && !a.is_empty()
                && !b.is_empty()
                && a.chars().all(|c| c.is_ascii_alphanumeric())
                && b.chars().all(|c| c.is_ascii_digit())
            {
                h.number = Some(w.to_owned());
            }
            if h.grade.is_none()
                && ["PSA", "BGS", "CGC", "SGC"].contains(&w.to_ascii_uppercase().as_str())
                && let Some(next) = words.get(i + 1)
                && next.parse::<f32>().is_ok_and(|g| (1.0..=10.0).contains(&g))
            {
                h.grade = Some(format!("{} {next}", w.to_ascii_uppercase()));
            }
        }
    }
    h
}

/// Builds the envelope from raw detections (filters, sorts, parses hints).
#[must_use]
pub fn envelope(card_id: &str, mut text: Vec<TextLine>, mut labels: Vec<LabelHit>) -> FeatureEnvelope {
    text.retain(|t| t.confidence >= MIN_TEXT_CONFIDENCE && !t.text.trim().is_empty());
    text.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    labels.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let looks_like_card = labels.iter().any(|l| CARD_LABELS.contains(&l.name.as_str()));
    FeatureEnvelope {
        card_id: card_id.to_owned(),
        hints: hints(&text),
        text,
        labels,
        looks_like_card,
    }
}

/// The handler.
///
/// # Errors
/// `Validation` for an unreadable image, `Retryable`/`Internal` from Rekognition.
pub async fn handler(
    event: LambdaEvent<ValuationRequest>,
    deps: &Deps,
) -> Result<ExtractOutput, HandlerError> {
    let log = RequestLog::start("rekognition_extract", &event.context.request_id);
    let req = event.payload;
    let result = async {
        obs::rekognition_call("DetectText");
        obs::rekognition_call("DetectLabels");
        let (text, labels) = tokio::try_join!(
            deps.vision.detect_text(&req.bucket, &req.front_s3_key),
            deps.vision.detect_labels(&req.bucket, &req.front_s3_key),
        )?;
        let features = envelope(&req.card_id, text, labels);
        tracing::info!(
            card_id = req.card_id.as_str(),
            valuation_id = req.valuation_id.as_str(),
            lines = features.text.len(),
            labels = features.labels.len(),
            looks_like_card = features.looks_like_card,
            "features extracted"
        );
        Ok(ExtractOutput {
            request: req.clone(),
            features,
        })
    }
    .await;
    obs::agent_duration(Agent::Extract, log.elapsed_ms());
    log.finish(&result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: &str, c: f32) -> TextLine {
        TextLine {
            text: t.into(),
            confidence: c,
        }
    }

    #[test]
    fn envelope_filters_sorts_and_detects_cards() {
        let e = envelope(
            "c-1",
            vec![
                line("blurry", 40.0),
                line("Charizard", 91.0),
                line("4/102 1999", 99.0),
            ],
            vec![
                LabelHit {
                    name: "Dragon".into(),
                    confidence: 75.0,
                },
                LabelHit {
                    name: "Trading Card".into(),
                    confidence: 97.0,
                },
            ],
        );
        assert_eq!(
            e.text.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
            ["4/102 1999", "Charizard"]
        );
        assert_eq!(e.labels[0].name, "Trading Card");
        assert!(e.looks_like_card);
        assert_eq!(
            (e.hints.year, e.hints.number.as_deref()),
            (Some(1999), Some("4/102"))
        );
    }

    #[test]
    fn hints_ignore_implausible_values() {
        let h = hints(&[line("HP 120 3000 PSA 11 ½", 99.0), line("no/number", 99.0)]);
        assert_eq!(h, CardHints::default());
    }
}
