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
use telemetry::catalogue::{Agent, MetricName};

/// Lines below this confidence (0–100) are dropped.
pub const MIN_TEXT_CONFIDENCE: f32 = 80.0;
/// Labels below this confidence are not requested.
pub const MIN_LABEL_CONFIDENCE: f32 = 70.0;
/// Labels that mean "this is a card".
pub const CARD_LABELS: [&str; 3] = ["Trading Card", "Card", "Poster"];
/// Grading companies whose label (`PSA 10`) gives a card's grade.
pub const GRADING_COMPANIES: [&str; 4] = ["PSA", "BGS", "CGC", "SGC"];

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

/// Bad images are the caller's problem (`Validation` on `frontS3Key`, not retried); throttling and 5xx
/// are retryable. `InvalidS3ObjectException` ("unable to access the S3 object") is ours: the object was
/// confirmed to exist when its card was created (`cards_create` tags it, 404 → `Validation` there), so
/// Rekognition failing to read it now is the role's S3 or KMS access (`Internal`), not the user's image.
fn vision_error<E>(
    op: &str,
    e: aws_sdk_rekognition::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> HandlerError
where
    E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + Send + Sync + 'static,
{
    let e = aws_error::AwsCallError::from_sdk("Rekognition", op, e);
    match e.code() {
        Some(code @ ("InvalidImageFormatException" | "ImageTooLargeException")) => {
            HandlerError::validation("frontS3Key", format!("{op}: {code}"))
        }
        Some("InvalidS3ObjectException") => HandlerError::Internal(format!(
            "{e} (Rekognition cannot read the confirmed upload with this role: check its s3:GetObject \
             and the data key's kms:Decrypt)"
        )),
        _ => crate::error::aws_call_error(&e),
    }
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
                    top: d.geometry().and_then(|g| g.bounding_box()).and_then(|b| b.top()),
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
            vision: Arc::new(RekognitionVision::new(telemetry::traced_client!(
                aws_sdk_rekognition,
                aws
            ))),
        }
    }
}

/// Reads year, set number and grade off the text lines.
///
/// ```
/// use backend::model::TextLine;
/// let lines = [TextLine { text: "©1999 Wizards 4/102".into(), confidence: 99.0, top: None },
///              TextLine { text: "PSA 10 GEM MINT".into(), confidence: 98.0, top: None }];
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
                && let Some(n) = set_number_word(w)
            {
                h.number = Some(n.to_owned());
            }
            if h.grade.is_none()
                && GRADING_COMPANIES.contains(&w.to_ascii_uppercase().as_str())
                && let Some(next) = words.get(i + 1)
                && next.parse::<f32>().is_ok_and(|g| (1.0..=10.0).contains(&g))
            {
                h.grade = Some(format!("{} {next}", w.to_ascii_uppercase()));
            }
        }
    }
    h
}

/// `w` (a word trimmed of surrounding punctuation but dots) when it is shaped like a set number:
/// `4/102`, `SWSH050/100` — letters or digits, a slash, digits — without its dots.
fn set_number_word(w: &str) -> Option<&str> {
    // `w` keeps its dots for the grades (`9.5`); a number ends a sentence now and then.
    let w = w.trim_matches('.');
    let (a, b) = w.split_once('/')?;
    (!a.is_empty()
        && !b.is_empty()
        && a.chars().all(|c| c.is_ascii_alphanumeric())
        && b.chars().all(|c| c.is_ascii_digit()))
    .then_some(w)
}

/// Every word of `lines` shaped like a set number, in the lines' order (the first is
/// [`CardHints::number`]): what the aggregator compares with the number the owner registered, all of
/// them, so a second number held up beside the card does not pass for the card's.
///
/// ```
/// use backend::model::TextLine;
/// let line = |t: &str| TextLine { text: t.into(), confidence: 99.0, top: None };
/// let lines = [line("©1999 Wizards 4/102."), line("note: 66/102")];
/// let words: Vec<&str> = backend::rekognition_extract::set_number_words(&lines).collect();
/// assert_eq!(words, ["4/102", "66/102"]);
/// ```
pub fn set_number_words(lines: &[TextLine]) -> impl Iterator<Item = &str> {
    lines.iter().flat_map(|line| {
        line.text.split_whitespace().filter_map(|raw| {
            set_number_word(raw.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '/' && c != '.'))
        })
    })
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
    let mut log = RequestLog::start("rekognition_extract", &event.context.request_id);
    let req = event.payload;
    // Seed 001's structured log names the user: the pseudonym the API put in the execution input.
    log.user_pseudonym(req.user_pseudonym.as_deref());
    let result = async {
        obs::rekognition_call("DetectText");
        obs::rekognition_call("DetectLabels");
        let (text, labels) = tokio::try_join!(
            deps.vision.detect_text(&req.bucket, &req.front_s3_key),
            deps.vision.detect_labels(&req.bucket, &req.front_s3_key),
        )?;
        let features = envelope(&req.card_id, text, labels);
        if let Some(confidence) = features.ocr_confidence() {
            obs::record(MetricName::OcrConfidence, confidence);
        }
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
            top: None,
        }
    }

    /// The OCR confidence is the kept lines' mean, on Rekognition's 0–100 scale brought to 0–1; the
    /// dropped low-confidence lines do not pull it down; nothing read is no value (not a zero).
    #[test]
    fn ocr_confidence_is_the_mean_of_the_kept_lines() {
        let e = envelope(
            "c-1",
            vec![
                line("blurry", 40.0),
                line("Charizard", 90.0),
                line("4/102", 100.0),
            ],
            vec![],
        );
        let c = e.ocr_confidence().unwrap();
        assert!((c - 0.95).abs() < 1e-9, "{c}");
        assert_eq!(
            envelope("c-2", vec![line("smudge", 12.0)], vec![]).ocr_confidence(),
            None
        );
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

    // --- the real Rekognition client over recorded HTTP exchanges (no network, no fake vision) ------

    use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
    use aws_smithy_runtime_api::client::http::SharedHttpClient;
    use aws_smithy_runtime_api::shared::IntoShared;
    use aws_smithy_types::body::SdkBody;
    use lambda_runtime::{Context, LambdaEvent};
    use serde_json::{Value, json};

    /// A DetectText answer as Rekognition sends it: LINE and WORD detections (WORDs repeat the lines).
    fn detect_text_answer() -> String {
        let geometry = |top: f32| {
            json!({"BoundingBox": {"Width": 0.5, "Height": 0.05, "Left": 0.1, "Top": top},
                   "Polygon": [{"X": 0.1, "Y": top}, {"X": 0.6, "Y": top}]})
        };
        json!({
            "TextDetections": [
                {"DetectedText": "Charizard", "Type": "LINE", "Id": 0, "Confidence": 99.12, "Geometry": geometry(0.125)},
                {"DetectedText": "PSA 10 GEM MINT", "Type": "LINE", "Id": 1, "Confidence": 95.5, "Geometry": geometry(0.015625)},
                {"DetectedText": "©1999 Wizards 4/102", "Type": "LINE", "Id": 2, "Confidence": 97.25, "Geometry": geometry(0.9375)},
                {"DetectedText": "illegible smudge", "Type": "LINE", "Id": 3, "Confidence": 41.0, "Geometry": geometry(0.5)},
                {"DetectedText": "Charizard", "Type": "WORD", "Id": 4, "ParentId": 0, "Confidence": 99.12, "Geometry": geometry(0.125)}
            ],
            "TextModelVersion": "3.0"
        })
        .to_string()
    }

    /// A DetectLabels answer (labels with parents, aliases and categories, as the API returns them).
    fn detect_labels_answer() -> String {
        json!({
            "Labels": [
                {"Name": "Paper", "Confidence": 88.5, "Instances": [], "Parents": [],
                 "Aliases": [], "Categories": [{"Name": "Materials"}]},
                {"Name": "Trading Card", "Confidence": 98.75, "Instances": [],
                 "Parents": [{"Name": "Paper"}], "Aliases": [{"Name": "Collectible Card"}],
                 "Categories": [{"Name": "Hobbies and Interests"}]}
            ],
            "LabelModelVersion": "3.0"
        })
        .to_string()
    }

    fn rekognition(http: SharedHttpClient) -> RekognitionVision {
        RekognitionVision::new(crate::store::fake_aws::test_client!(
            aws_sdk_rekognition,
            http,
            aws_smithy_types::retry::RetryConfig::disabled()
        ))
    }

    fn replay(status: u16, error_type: Option<&str>, body: String) -> StaticReplayClient {
        let mut response = http::Response::builder()
            .status(status)
            .header("content-type", "application/x-amz-json-1.1");
        if let Some(t) = error_type {
            response = response.header("x-amzn-errortype", t);
        }
        StaticReplayClient::new(vec![ReplayEvent::new(
            http::Request::builder()
                .uri("https://rekognition.us-east-1.amazonaws.com/")
                .body(SdkBody::empty())
                .unwrap(),
            response.body(SdkBody::from(body)).unwrap(),
        )])
    }

    /// The one request `http` saw: its X-Amz-Target and JSON body.
    fn sent(http: &StaticReplayClient) -> (String, Value) {
        let requests: Vec<_> = http.actual_requests().collect();
        assert_eq!(requests.len(), 1, "one request, no retry");
        let r = requests[0];
        assert_eq!(
            r.headers().get("content-type"),
            Some("application/x-amz-json-1.1")
        );
        (
            r.headers().get("x-amz-target").unwrap().to_owned(),
            serde_json::from_slice(r.body().bytes().unwrap()).unwrap(),
        )
    }

    const BUCKET: &str = "collectiq-dev-uploads-123456789012";
    const KEY: &str = "uploads/u-1/front.jpg";

    #[tokio::test]
    async fn detect_text_asks_for_the_s3_object_and_keeps_lines_only() {
        let http = replay(200, None, detect_text_answer());
        let lines = rekognition(http.clone().into_shared())
            .detect_text(BUCKET, KEY)
            .await
            .unwrap();
        let (target, body) = sent(&http);
        assert_eq!(target, "RekognitionService.DetectText");
        assert_eq!(
            body,
            json!({"Image": {"S3Object": {"Bucket": BUCKET, "Name": KEY}}})
        );
        let at = |t: &str, c: f32, top: f32| TextLine {
            top: Some(top),
            ..line(t, c)
        };
        assert_eq!(
            lines,
            [
                at("Charizard", 99.12, 0.125),
                at("PSA 10 GEM MINT", 95.5, 0.015625),
                at("©1999 Wizards 4/102", 97.25, 0.9375),
                at("illegible smudge", 41.0, 0.5),
            ],
            "LINEs in the API's order with where each starts (reading order); WORDs dropped; \
             confidence filtering is envelope()'s job"
        );
    }

    #[tokio::test]
    async fn detect_labels_asks_for_25_labels_above_70_percent() {
        let http = replay(200, None, detect_labels_answer());
        let labels = rekognition(http.clone().into_shared())
            .detect_labels(BUCKET, KEY)
            .await
            .unwrap();
        let (target, body) = sent(&http);
        assert_eq!(target, "RekognitionService.DetectLabels");
        assert_eq!(
            body,
            json!({"Image": {"S3Object": {"Bucket": BUCKET, "Name": KEY}}, "MaxLabels": 25, "MinConfidence": 70.0})
        );
        assert_eq!(
            labels
                .iter()
                .map(|l| (l.name.as_str(), l.confidence))
                .collect::<Vec<_>>(),
            [("Paper", 88.5), ("Trading Card", 98.75)]
        );
    }

    #[tokio::test]
    async fn the_handler_builds_the_envelope_from_both_real_calls() {
        // DetectText and DetectLabels run concurrently: answer by X-Amz-Target, not by order.
        let (http, seen) = crate::store::fake_aws::http(|_, target, _| {
            let answer = match target {
                "RekognitionService.DetectText" => detect_text_answer(),
                "RekognitionService.DetectLabels" => detect_labels_answer(),
                _ => String::from("{}"),
            };
            (200, serde_json::from_str(&answer).unwrap())
        });
        let deps = Deps {
            vision: Arc::new(rekognition(http)),
        };
        let request = ValuationRequest {
            valuation_id: "v-1".into(),
            user_id: "u-1".into(),
            user_pseudonym: None,
            card_id: "card-123".into(),
            bucket: BUCKET.into(),
            front_s3_key: KEY.into(),
            back_s3_key: None,
            requested_at: chrono::DateTime::UNIX_EPOCH,
            correlation_id: "api-1".into(),
            card: None,
        };
        let out = handler(LambdaEvent::new(request.clone(), Context::default()), &deps)
            .await
            .unwrap();
        assert_eq!(out.request, request);
        let f = out.features;
        assert_eq!(f.card_id, "card-123");
        assert_eq!(
            f.text.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(),
            ["Charizard", "©1999 Wizards 4/102", "PSA 10 GEM MINT"],
            "confident lines, most confident first"
        );
        assert_eq!(
            f.labels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["Trading Card", "Paper"]
        );
        assert!(f.looks_like_card);
        assert_eq!(
            (f.hints.year, f.hints.number.as_deref(), f.hints.grade.as_deref()),
            (Some(1999), Some("4/102"), Some("PSA 10"))
        );
        let mut targets: Vec<String> = seen.lock().unwrap().iter().map(|(t, _)| t.clone()).collect();
        targets.sort();
        assert_eq!(
            targets,
            ["RekognitionService.DetectLabels", "RekognitionService.DetectText"],
            "one call each"
        );
    }

    #[tokio::test]
    async fn throttling_is_retryable_and_a_bad_image_names_the_field() {
        let http = replay(
            400,
            Some("ProvisionedThroughputExceededException"),
            json!({"__type": "ProvisionedThroughputExceededException", "Message": "Provisioned rate exceeded"}).to_string(),
        );
        let e = rekognition(http.into_shared())
            .detect_text(BUCKET, KEY)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, HandlerError::Retryable(m) if m.contains("DetectText")),
            "{e:?}"
        );

        let http = replay(
            400,
            Some("ThrottlingException"),
            json!({"__type": "ThrottlingException", "Message": "Slow down"}).to_string(),
        );
        let e = rekognition(http.into_shared())
            .detect_labels(BUCKET, KEY)
            .await
            .unwrap_err();
        assert!(matches!(e, HandlerError::Retryable(_)), "{e:?}");

        let http = replay(
            400,
            Some("InvalidImageFormatException"),
            json!({"__type": "InvalidImageFormatException", "Message": "Request has invalid image format"})
                .to_string(),
        );
        let e = rekognition(http.into_shared())
            .detect_labels(BUCKET, KEY)
            .await
            .unwrap_err();
        assert_eq!(
            e,
            HandlerError::validation("frontS3Key", "DetectLabels: InvalidImageFormatException")
        );
    }

    /// Rekognition cannot read the S3 object: the upload was confirmed when its card was created, so
    /// this is the role's S3 or KMS access — a server error (`Internal`, never retried), not the
    /// user's image (`Validation` would log a client error and blame `frontS3Key`).
    #[tokio::test]
    async fn an_object_rekognition_cannot_read_is_our_error_not_the_users() {
        let http = replay(
            400,
            Some("InvalidS3ObjectException"),
            json!({"__type": "InvalidS3ObjectException",
                   "Message": "Unable to get object metadata from S3. Check object key, region and/or access permissions."})
            .to_string(),
        );
        let e = rekognition(http.into_shared())
            .detect_text(BUCKET, KEY)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, HandlerError::Internal(m) if m.contains("InvalidS3ObjectException") && m.contains("DetectText")),
            "{e:?}"
        );
        assert!(!e.is_client_error());
        let http = replay(
            400,
            Some("ImageTooLargeException"),
            json!({"__type": "ImageTooLargeException", "Message": "Image size is too large"}).to_string(),
        );
        let e = rekognition(http.into_shared())
            .detect_labels(BUCKET, KEY)
            .await
            .unwrap_err();
        assert_eq!(
            e,
            HandlerError::validation("frontS3Key", "DetectLabels: ImageTooLargeException")
        );
    }
}
