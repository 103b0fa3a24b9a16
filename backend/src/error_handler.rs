//! Where failed valuations end up: the state machine's `Catch` (input + `error: {Error, Cause}`) and
//! the dead-letter queues (an SQS event whose records are such failures, or EventBridge events that
//! could not be delivered).
//!
//! For each failure it writes one ERROR line with the correlation id (the API request that started the
//! valuation, else the event or message id), the valuation and card ids and the error type, and puts a
//! card left `VALUING` into `FAILED` so the user can revalue it. SQS records that cannot be handled
//! (DynamoDB trouble) are returned as `batchItemFailures`, so only they are redelivered.
//!
//! A third input, sent on a schedule, sweeps valuations that never reached either path: an execution
//! that timed out as a whole, was stopped by hand, or whose error handler itself failed leaves its card
//! `VALUING` — and `cards_revalue` refuses a card that is `VALUING` (409), so the user would be stuck
//! for good. The sweep finds such cards on GSI3 (`status = VALUING`, `updatedAt` older than the state
//! machine's timeout plus a margin, so no live execution is touched) and puts them into `FAILED`, so
//! the user can revalue.

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::identity::{Caller, UserHasher};
use crate::model::ValuationRequest;
use crate::obs::RequestLog;
use crate::store::{CardStore, StuckCard};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use serde::{Deserialize, Serialize};

/// The longest error cause kept in a log line.
pub const MAX_CAUSE_CHARS: usize = 500;

/// `Catch` with `ResultPath: "$.error"`: the failing state's input plus the error. The first state's
/// input is the bare [`ValuationRequest`] (what `cards_revalue` starts the execution with), the later
/// states' carry it as `request` (`{request, features, …}`): both shapes are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "CaughtRepr")]
pub struct CaughtFailure {
    /// The valuation request (every state's input carries it).
    pub request: ValuationRequest,
    /// The caught error.
    pub error: CaughtError,
    /// Whether it failed in the first state, `RekognitionExtract` (its input is the bare request): before
    /// any Bedrock call, so the service's ceiling gives the valuation back.
    #[serde(skip_serializing)]
    pub in_first_state: bool,
}

/// The two shapes a `Catch` hands over (see [`CaughtFailure`]).
#[derive(Deserialize)]
#[serde(untagged)]
enum CaughtRepr {
    /// A later state's input: `{request, features, …, error}`.
    Wrapped {
        request: ValuationRequest,
        error: CaughtError,
    },
    /// `RekognitionExtract`'s: the request's own fields beside `error`.
    Flat {
        #[serde(flatten)]
        request: ValuationRequest,
        error: CaughtError,
    },
}

impl From<CaughtRepr> for CaughtFailure {
    fn from(r: CaughtRepr) -> Self {
        match r {
            CaughtRepr::Wrapped { request, error } => Self {
                request,
                error,
                in_first_state: false,
            },
            CaughtRepr::Flat { request, error } => Self {
                request,
                error,
                in_first_state: true,
            },
        }
    }
}

/// Step Functions' error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    /// The error name (a Lambda `errorType` such as `Retryable`, or `States.Timeout`).
    #[serde(rename = "Error")]
    pub error: String,
    /// The cause (for Lambda errors, a JSON string with `errorMessage`).
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

/// What the function is invoked with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum FailureInput {
    /// A batch from a dead-letter queue.
    Sqs(SqsEvent),
    /// Straight from the state machine's `Catch`.
    Caught(Box<CaughtFailure>),
    /// The scheduled sweep: `{"sweepStuckValuations": {"olderThanMinutes": 45}}`.
    Sweep(SweepRequest),
}

/// The scheduled sweep's event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SweepRequest {
    /// What to sweep.
    pub sweep_stuck_valuations: SweepOptions,
}

/// Which cards count as stuck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SweepOptions {
    /// `VALUING` for longer than this (at least [`MIN_STUCK_MINUTES`]; Terraform sends the state
    /// machine's timeout plus 15).
    pub older_than_minutes: u32,
    /// Most cards failed per run (default [`DEFAULT_SWEEP_LIMIT`]); the next run takes the rest.
    #[serde(default = "default_sweep_limit")]
    pub max_cards: usize,
}

/// Default of [`SweepOptions::max_cards`].
pub const DEFAULT_SWEEP_LIMIT: usize = 200;
/// Below this a sweep could fail a valuation that is merely slow: rejected as `Validation`.
pub const MIN_STUCK_MINUTES: u32 = 5;

const fn default_sweep_limit() -> usize {
    DEFAULT_SWEEP_LIMIT
}

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    /// Cards found `VALUING` for too long.
    pub found: usize,
    /// Of those, put into `FAILED` (the rest moved on meanwhile).
    pub marked_failed: usize,
}

/// What one failure was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureReport {
    /// The correlation id.
    pub correlation_id: String,
    /// The valuation, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valuation_id: Option<String>,
    /// The card, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// The error type.
    pub error_type: String,
    /// The cause, shortened.
    pub cause: String,
    /// Whether a `VALUING` card was put into `FAILED`.
    pub marked_failed: bool,
    /// Whether the valuation was given back to the service's daily ceiling (it failed before Bedrock).
    #[serde(default)]
    pub ceiling_refunded: bool,
}

/// The answer: a report for a `Catch`, batch item failures for SQS.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FailureOutput {
    /// For the state machine.
    Report(FailureReport),
    /// For the SQS event source mapping (`ReportBatchItemFailures`).
    Batch(SqsBatchResponse),
    /// For the sweep's schedule.
    Swept(SweepReport),
}

/// The function's dependencies.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The cards table.
    pub store: CardStore,
    /// Pseudonyms for log lines.
    pub users: UserHasher,
    /// The service's daily valuation ceiling, to give back valuations that failed before Bedrock.
    pub ceiling: crate::quota::ValuationCeiling,
}

impl Deps {
    /// From `TABLE_NAME`, `USER_ID_HASH_KEY_SECRET_ID` (or `USER_ID_HASH_KEY`).
    ///
    /// # Errors
    /// A missing or invalid variable.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let dynamodb = telemetry::traced_client!(aws_sdk_dynamodb, aws);
        let table = config::required("TABLE_NAME")?;
        Ok(Self {
            ceiling: crate::quota::ValuationCeiling::for_refunds(dynamodb.clone(), table.clone()),
            store: CardStore::new(dynamodb, table),
            users: config::user_hasher(aws).await?,
        })
    }
}

/// The `errorMessage` of a Lambda error cause, else the cause itself; at most [`MAX_CAUSE_CHARS`].
///
/// ```
/// let c = backend::error_handler::short_cause(Some(r#"{"errorMessage":"boom","errorType":"Internal"}"#));
/// assert_eq!(c, "boom");
/// ```
#[must_use]
pub fn short_cause(cause: Option<&str>) -> String {
    let raw = cause.unwrap_or_default();
    let msg = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| raw.to_owned());
    msg.chars().take(MAX_CAUSE_CHARS).collect()
}

async fn handle_caught(f: &CaughtFailure, deps: &Deps) -> Result<FailureReport, HandlerError> {
    let marked_failed = match Caller::from_sub(Some(&f.request.user_id)) {
        Ok(caller) => {
            deps.store
                .mark_failed(
                    &caller,
                    &f.request.card_id,
                    &f.request.valuation_id,
                    crate::model::now(),
                )
                .await?
        }
        Err(_) => false,
    };
    // A valuation that failed in its first state never reached Bedrock (an upload that is no image
    // Rekognition reads, most often): the service's ceiling gives it back, or a few accounts' junk
    // uploads would use up the day's valuations for everyone at no cost to them. Once: only with the
    // card's own VALUING → FAILED, which a redelivered failure no longer finds.
    let ceiling_refunded = marked_failed
        && f.in_first_state
        && {
            let charge = crate::quota::CeilingCharge::on_day_of(f.request.requested_at);
            match deps.ceiling.refund(charge).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "the failed valuation could not be given back to the service's ceiling");
                    false
                }
            }
        };
    let report = FailureReport {
        correlation_id: f.request.correlation_id.clone(),
        valuation_id: Some(f.request.valuation_id.clone()),
        card_id: Some(f.request.card_id.clone()),
        error_type: f.error.error.clone(),
        cause: short_cause(f.error.cause.as_deref()),
        marked_failed,
        ceiling_refunded,
    };
    tracing::error!(
        correlation_id = report.correlation_id.as_str(),
        valuation_id = report.valuation_id.as_deref(),
        card_id = report.card_id.as_deref(),
        userId = deps.users.hash(&f.request.user_id).as_str(),
        error_type = report.error_type.as_str(),
        cause = report.cause.as_str(),
        marked_failed,
        ceiling_refunded,
        "valuation failed"
    );
    Ok(report)
}

async fn sweep(o: &SweepOptions, deps: &Deps) -> Result<SweepReport, HandlerError> {
    if o.older_than_minutes < MIN_STUCK_MINUTES {
        return Err(HandlerError::validation(
            "sweepStuckValuations.olderThanMinutes",
            format!("must be at least {MIN_STUCK_MINUTES}"),
        ));
    }
    let now = crate::model::now();
    let before = now - chrono::Duration::minutes(i64::from(o.older_than_minutes));
    let stuck = deps.store.stuck_valuations(before, o.max_cards).await?;
    let mut report = SweepReport {
        found: stuck.len(),
        marked_failed: 0,
    };
    for card in &stuck {
        if fail_one(card, now, deps).await? {
            report.marked_failed += 1;
        }
    }
    tracing::info!(
        found = report.found,
        marked_failed = report.marked_failed,
        older_than_minutes = o.older_than_minutes,
        "stuck valuations swept"
    );
    Ok(report)
}

async fn fail_one(
    card: &StuckCard,
    now: chrono::DateTime<chrono::Utc>,
    deps: &Deps,
) -> Result<bool, HandlerError> {
    let Ok(caller) = Caller::from_sub(Some(&card.user_id)) else {
        tracing::warn!(
            card_id = card.card_id.as_str(),
            "stuck card with a malformed owner left alone"
        );
        return Ok(false);
    };
    let failed = deps.store.fail_stuck(&caller, card, now).await?;
    if failed {
        tracing::error!(
            correlation_id = card.card_id.as_str(),
            card_id = card.card_id.as_str(),
            userId = deps.users.hash(&card.user_id).as_str(),
            error_type = "Stuck",
            valuing_since = crate::model::iso(card.since).as_str(),
            stuck_minutes = (now - card.since).num_minutes(),
            marked_failed = true,
            "valuation never finished"
        );
    }
    Ok(failed)
}

#[derive(Debug, Deserialize)]
struct UndeliveredEvent {
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    detail: serde_json::Value,
}

async fn handle_record(m: &SqsMessage, deps: &Deps) -> Result<(), HandlerError> {
    let body = m.body.as_deref().unwrap_or_default();
    let message_id = m.message_id.as_deref().unwrap_or("unknown");
    let queue = m
        .event_source_arn
        .as_deref()
        .and_then(|a| a.rsplit(':').next())
        .unwrap_or("unknown");
    if let Ok(f) = serde_json::from_str::<CaughtFailure>(body) {
        handle_caught(&f, deps).await?;
    } else if let Ok(ev) = serde_json::from_str::<UndeliveredEvent>(body) {
        let attr = |k: &str| m.message_attributes.get(k).and_then(|a| a.string_value.clone());
        tracing::error!(
            correlation_id = ev
                .detail
                .get("correlationId")
                .and_then(|v| v.as_str())
                .unwrap_or(ev.id.as_str()),
            event_id = ev.id.as_str(),
            detail_type = ev.detail_type.as_str(),
            valuation_id = ev.detail.get("valuationId").and_then(|v| v.as_str()),
            card_id = ev.detail.get("cardId").and_then(|v| v.as_str()),
            error_type = attr("ERROR_CODE").as_deref().unwrap_or("Undelivered"),
            rule_arn = attr("RULE_ARN").as_deref(),
            queue,
            "event could not be delivered"
        );
    } else if serde_json::from_str::<serde_json::Value>(body)
        .is_ok_and(|v| v.pointer("/requestPayload/sweepStuckValuations").is_some())
    {
        // error_handler's own on-failure record of a sweep that failed after Lambda's retries: the
        // next scheduled sweep does the same work, so there is nothing to replay.
        tracing::warn!(
            correlation_id = message_id,
            queue,
            error_type = "SweepFailed",
            "a stuck-valuation sweep failed; the next scheduled sweep covers it"
        );
    } else {
        // Kept in the queue (a batch item failure) for a person: nothing here knows what it is.
        tracing::error!(
            correlation_id = message_id,
            queue,
            body_bytes = body.len(),
            error_type = "Unrecognised",
            "dead-letter message of unknown shape; left in the queue"
        );
        return Err(HandlerError::validation(
            "body",
            "a dead-letter message of unknown shape is left in the queue",
        ));
    }
    Ok(())
}

/// The handler.
///
/// # Errors
/// For a `Catch` input, `Retryable` when the card could not be updated; SQS batches never fail as a
/// whole (failed records are listed instead).
pub async fn handler(event: LambdaEvent<FailureInput>, deps: &Deps) -> Result<FailureOutput, HandlerError> {
    let log = RequestLog::start("error_handler", &event.context.request_id);
    let result = match &event.payload {
        FailureInput::Caught(f) => handle_caught(f, deps).await.map(FailureOutput::Report),
        FailureInput::Sqs(batch) => {
            let mut failures = Vec::new();
            for m in &batch.records {
                if let Err(e) = handle_record(m, deps).await {
                    tracing::warn!(
                        message_id = m.message_id.as_deref(),
                        error = &e as &dyn std::error::Error,
                        "record will be redelivered"
                    );
                    let mut f = BatchItemFailure::default();
                    f.item_identifier = m.message_id.clone().unwrap_or_default();
                    failures.push(f);
                }
            }
            let mut out = SqsBatchResponse::default();
            out.batch_item_failures = failures;
            Ok(FailureOutput::Batch(out))
        }
        FailureInput::Sweep(r) => sweep(&r.sweep_stuck_valuations, deps)
            .await
            .map(FailureOutput::Swept),
    };
    log.finish(&result);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_parse_into_the_right_variant() {
        let sqs: FailureInput =
            serde_json::from_str(include_str!("../../tests/fixtures/sqs_dlq_failures.json")).unwrap();
        let FailureInput::Sqs(batch) = sqs else {
            panic!("expected SQS")
        };
        assert_eq!(batch.records.len(), 2);
        let caught: CaughtFailure = serde_json::from_str(batch.records[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(caught.error.error, "Retryable");
        assert_eq!(
            short_cause(caught.error.cause.as_deref()),
            "retryable: pricing sources unavailable"
        );
        let direct: FailureInput = serde_json::from_str(batch.records[0].body.as_deref().unwrap()).unwrap();
        assert!(matches!(direct, FailureInput::Caught(_)));
    }

    /// Every `Catch` of the state machine hands over the failing state's input with `error` beside it
    /// (infra/modules/backend/state_machine.tf): the first state's input is the bare request as
    /// `cards_revalue` starts the execution, the later ones carry it as `request`. Each is read as the
    /// same failure, directly and from a dead-letter queue's body.
    #[test]
    fn every_states_catch_input_is_a_caught_failure() {
        let request: ValuationRequest = serde_json::from_value(serde_json::json!({
            "valuationId": "0b8f0a5e-1111-4c2b-9a5e-2f0c7f4a9d10",
            "userId": "7d3a1f2e-5b6c-4d8e-9f00-1a2b3c4d5e6f",
            "cardId": "5f1c2d3e-2222-4abc-8def-0123456789ab",
            "bucket": "collectiq-dev-uploads-123456789012",
            "frontS3Key": "uploads/u_0123/a.heic",
            "requestedAt": "2026-11-22T00:40:00.000Z",
            "correlationId": "Dq3fNpXoIAMEVjE="
        }))
        .unwrap();
        let error = serde_json::json!({
            "Error": "Validation",
            "Cause": "{\"errorType\":\"Validation\",\"errorMessage\":\"invalid frontS3Key: DetectText: InvalidImageFormatException\"}"
        });
        // The execution's input, exactly as cards_revalue serialises it.
        let mut extract = serde_json::to_value(&request).unwrap();
        extract["error"] = error.clone();
        let features = serde_json::json!({"text": [], "labels": []});
        let agents = serde_json::json!({"request": request, "features": features, "error": error});
        let aggregator = serde_json::json!({
            "request": request, "features": features, "agents": {"pricing": {}, "authenticity": {}},
            "error": error
        });
        for (state, input) in [
            ("RekognitionExtract", extract),
            ("Agents", agents),
            ("Aggregator", aggregator),
        ] {
            let FailureInput::Caught(f) = serde_json::from_value::<FailureInput>(input.clone())
                .unwrap_or_else(|e| panic!("{state}: {e}"))
            else {
                panic!("{state}: not read as a caught failure")
            };
            assert_eq!(f.request, request, "{state}");
            assert_eq!(f.error.error, "Validation", "{state}");
            // Only the first state's failure is before any Bedrock call.
            assert_eq!(f.in_first_state, state == "RekognitionExtract", "{state}");
            assert_eq!(
                short_cause(f.error.cause.as_deref()),
                "invalid frontS3Key: DetectText: InvalidImageFormatException"
            );
            let body: CaughtFailure = serde_json::from_str(&input.to_string()).unwrap();
            assert_eq!(body.request, request, "{state} from a queue");
        }
        // Without the error it is not a caught failure.
        assert!(serde_json::from_value::<CaughtFailure>(serde_json::to_value(&request).unwrap()).is_err());
    }

    #[test]
    fn the_sweep_event_parses_and_nothing_else_looks_like_it() {
        let e: FailureInput =
            serde_json::from_str(r#"{"sweepStuckValuations": {"olderThanMinutes": 45}}"#).unwrap();
        assert_eq!(
            e,
            FailureInput::Sweep(SweepRequest {
                sweep_stuck_valuations: SweepOptions {
                    older_than_minutes: 45,
                    max_cards: DEFAULT_SWEEP_LIMIT
                }
            })
        );
        for bad in [
            r#"{"sweepStuckValuations": {}}"#,
            r#"{"sweepStuckValuations": {"olderThanMinutes": 45, "x": 1}}"#,
            r#"{"sweep": {"olderThanMinutes": 45}}"#,
        ] {
            assert!(serde_json::from_str::<FailureInput>(bad).is_err(), "{bad}");
        }
        let out = serde_json::to_value(FailureOutput::Swept(SweepReport {
            found: 3,
            marked_failed: 2,
        }))
        .unwrap();
        assert_eq!(out, serde_json::json!({"found": 3, "markedFailed": 2}));
    }

    #[test]
    fn causes_are_shortened() {
        assert_eq!(short_cause(None), "");
        assert_eq!(short_cause(Some(&"x".repeat(2000))).len(), MAX_CAUSE_CHARS);
    }

    /// The card's `VALUING → FAILED` committed but its answer was lost (500): the SDK's retry finds the
    /// card failed by that very write, so the failure is reported as marking it and the valuation,
    /// failed in its first state, is given back once.
    #[tokio::test]
    async fn a_failure_whose_write_answer_was_lost_still_marks_and_refunds_once() {
        use crate::store::fake_aws::{self, card_item, condition_failed};
        let (http, log) = fake_aws::http(|n, _, body| match n {
            0 => fake_aws::error(500, "InternalServerError"),
            1 => {
                let token = body["ExpressionAttributeValues"][":token"].clone();
                condition_failed(Some(card_item(
                    "u-1",
                    "c-1",
                    "FAILED",
                    &serde_json::json!({"currentValuationId": {"S": "v-1"}, "failWriteId": token}),
                )))
            }
            _ => (200, serde_json::json!({})),
        });
        let dynamodb = fake_aws::dynamodb(http);
        let deps = Deps {
            store: CardStore::new(dynamodb.clone(), "t"),
            users: UserHasher::new(vec![7; 32]).unwrap(),
            ceiling: crate::quota::ValuationCeiling::for_refunds(dynamodb, "t"),
        };
        let failure: CaughtFailure = serde_json::from_value(serde_json::json!({
            "valuationId": "v-1", "userId": "u-1", "cardId": "c-1", "bucket": "b",
            "frontS3Key": "uploads/u_1/f.jpg", "requestedAt": "2026-11-22T00:40:00.000Z",
            "correlationId": "r-1",
            "error": {"Error": "Validation", "Cause": "not an image"}
        }))
        .unwrap();
        assert!(failure.in_first_state);
        let report = handle_caught(&failure, &deps).await.unwrap();
        assert!(report.marked_failed && report.ceiling_refunded, "{report:?}");
        let log = log.lock().unwrap();
        let writes: Vec<_> = log
            .iter()
            .map(|(_, b)| b["UpdateExpression"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(writes.len(), 3, "{writes:?}");
        assert_eq!(writes[2], "ADD used :minus_one", "{writes:?}");
    }
}
