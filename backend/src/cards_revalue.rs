//! `POST /cards/{id}/revalue`: starts the valuation state machine for one of the caller's cards.
//!
//! The card is first marked `VALUING` (conditionally: 404 if it does not exist, 409 if a valuation is
//! already running), then `StartExecution` is called with a [`ValuationRequest`]. If the execution
//! surely was not started the status is put back. Answers 202 with the valuation id.
//!
//! `StartExecution` is sent once, never retried by the SDK: on an Express state machine it is not
//! idempotent ("Idempotency is not automatically managed. Starting multiple workflows with the same
//! name results in concurrent executions",
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>), so a
//! retry after a lost answer could start a second, paid execution. Only an answer that Step Functions
//! refused the request — a 4xx other than `ExecutionAlreadyExists`, a throttle included (the request
//! is sent once, so its throttled answer is the only one) — or a request never sent counts as "not
//! started": the ceiling is refunded and the card put back. After a 5xx, a timeout or a dropped
//! connection an execution may be running: the count stays and the
//! card stays `VALUING` for that execution to finish (its result, or the error handler's `FAILED`) or,
//! if none runs, for the stuck-valuation sweep to fail it ([`crate::error_handler`]); until then the
//! client's retry is a 409.
//!
//! Each valuation costs a Step Functions run, two Rekognition calls and a Bedrock call, so every
//! request is first counted against `REVALUE_DAILY_LIMIT` per user and UTC day ([`crate::quota`]):
//! past it the answer is 429 ("your daily limit …") with `Retry-After` and nothing is read, changed or
//! started. Requests answered 404 or 409 count too (the limit bounds requests, including probing).
//!
//! Once the card is `VALUING`, the valuation is counted against the service's ceiling,
//! `SERVICE_VALUATION_DAILY_LIMIT` valuations per UTC day for all users together
//! ([`crate::quota::ValuationCeiling`]), before `StartExecution`: past it the card is put back and the
//! answer is 429 ("the service's daily limit …") with nothing started. Counting after the card is
//! claimed is what keeps a valuation from being counted twice: a replayed request finds the card
//! `VALUING` and is a 409 that never reaches the ceiling, and a valuation whose execution could not be
//! started is refunded, so the client's retry is counted once.

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::http::{self, Request, Response};
use crate::identity::UserHasher;
use crate::model::{CardDetails, CardStatus, ValuationRequest, iso};
use crate::obs::RequestLog;
use crate::quota::{self, DailyQuota, QuotaAction, ValuationCeiling};
use crate::store::CardStore;
use lambda_runtime::LambdaEvent;
use serde::Serialize;

/// The function's dependencies.
#[derive(Debug, Clone)]
pub struct Deps {
    /// The cards table.
    pub store: CardStore,
    /// Step Functions.
    pub sfn: aws_sdk_sfn::Client,
    /// `STATE_MACHINE_ARN`.
    pub state_machine_arn: String,
    /// `BUCKET_UPLOADS`.
    pub bucket: String,
    /// Pseudonyms for log lines and quota counters.
    pub users: UserHasher,
    /// `REVALUE_DAILY_LIMIT` per user and UTC day, counted in the cards table.
    pub quota: DailyQuota,
    /// `SERVICE_VALUATION_DAILY_LIMIT` valuations per UTC day, all users together, counted in the
    /// cards table.
    pub ceiling: ValuationCeiling,
}

impl Deps {
    /// From `TABLE_NAME`, `STATE_MACHINE_ARN`, `BUCKET_UPLOADS`, `REVALUE_DAILY_LIMIT` (20),
    /// `SERVICE_VALUATION_DAILY_LIMIT` (3000), `USER_ID_HASH_KEY_SECRET_ID` (or `USER_ID_HASH_KEY`).
    ///
    /// # Errors
    /// A missing or invalid variable.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let dynamodb = telemetry::traced_client!(aws_sdk_dynamodb, aws);
        let table = config::required("TABLE_NAME")?;
        Ok(Self {
            quota: DailyQuota::new(
                dynamodb.clone(),
                &table,
                QuotaAction::Revalue,
                config::parsed("REVALUE_DAILY_LIMIT", quota::DEFAULT_REVALUE_DAILY_LIMIT)?,
            ),
            ceiling: ValuationCeiling::new(
                dynamodb.clone(),
                &table,
                config::parsed(
                    "SERVICE_VALUATION_DAILY_LIMIT",
                    quota::DEFAULT_SERVICE_VALUATION_DAILY_LIMIT,
                )?,
            ),
            store: CardStore::new(dynamodb, table),
            sfn: telemetry::traced_client!(aws_sdk_sfn, aws),
            state_machine_arn: config::required("STATE_MACHINE_ARN")?,
            bucket: config::required("BUCKET_UPLOADS")?,
            users: config::user_hasher(aws).await?,
        })
    }
}

/// The 202 body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// The card.
    pub card_id: String,
    /// Always `VALUING`.
    pub status: CardStatus,
    /// The valuation id (the result is read with `GET /cards/{id}`). The execution's ARN is not
    /// given: it names the account, region and state machine, which a client has no use for.
    pub valuation_id: String,
}

/// The handler.
///
/// # Errors
/// Server-side failures only (`Retryable`, `Internal`); client errors are 4xx answers.
pub async fn handler(event: LambdaEvent<Request>, deps: &Deps) -> Result<Response, HandlerError> {
    let mut log = RequestLog::start("cards_revalue", &event.context.request_id);
    let result = run(&event.payload, deps, &mut log, &event.context.request_id).await;
    http::finish(log, result)
}

async fn run(
    req: &Request,
    deps: &Deps,
    log: &mut RequestLog,
    lambda_request_id: &str,
) -> Result<Response, HandlerError> {
    let caller = http::caller(req)?;
    log.user(&deps.users, &caller.sub);
    let id = http::card_id(req)?;
    let now = crate::model::now();
    deps.quota.charge(&deps.users.hash(&caller.sub)).await?;
    let valuation_id = uuid::Uuid::new_v4().to_string();
    let before = deps
        .store
        .begin_valuation(&caller, &id, &valuation_id, now)
        .await?;
    // Counted once the card is claimed (a replay is the 409 above, never a second valuation) and
    // before StartExecution, the first call that costs.
    let charge = match deps.ceiling.charge().await {
        Ok(charge) => charge,
        Err(e) => {
            deps.store
                .revert_valuation(&caller, &before, &valuation_id)
                .await?;
            return Err(e);
        }
    };
    let request = ValuationRequest {
        valuation_id: valuation_id.clone(),
        user_id: caller.sub.clone(),
        user_pseudonym: Some(deps.users.hash(&caller.sub)),
        card_id: id.clone(),
        bucket: deps.bucket.clone(),
        front_s3_key: before.front_s3_key.clone(),
        back_s3_key: before.back_s3_key.clone(),
        requested_at: now,
        correlation_id: http::api_request_id(req).unwrap_or(lambda_request_id).to_owned(),
        // The card as registered: the pricing agent prices the card its owner named.
        card: Some(CardDetails::of(&before)),
    };
    let input = serde_json::to_string(&request).map_err(|e| HandlerError::Internal(e.to_string()))?;
    let started = deps
        .sfn
        .start_execution()
        .state_machine_arn(&deps.state_machine_arn)
        .name(&valuation_id)
        .input(input)
        .customize()
        .config_override(
            aws_sdk_sfn::config::Builder::default()
                .retry_config(aws_smithy_types::retry::RetryConfig::disabled()),
        )
        .send()
        .await;
    match started {
        Ok(out) => {
            tracing::info!(
                card_id = id.as_str(),
                valuation_id = valuation_id.as_str(),
                execution_arn = out.execution_arn(),
                requested_at = iso(now).as_str(),
                service_valuations_today = charge.used(),
                "valuation started"
            );
            Ok(http::json(
                202,
                &Started {
                    card_id: id,
                    status: CardStatus::Valuing,
                    valuation_id,
                },
            ))
        }
        Err(e) => {
            let not_started = surely_not_started(&e);
            let err = crate::error::sdk_error("StartExecution", e);
            if not_started {
                // Nothing was started: the client's retry is the valuation the ceiling counts, and the
                // card is put back so it is not stuck in VALUING with no execution behind it.
                if let Err(refund) = deps.ceiling.refund(charge).await {
                    tracing::warn!(error = %refund, "could not refund the service's valuation count");
                }
                deps.store
                    .revert_valuation(&caller, &before, &valuation_id)
                    .await?;
            } else {
                // An execution may run (Bedrock is paid for all the same): the count stays — one
                // valuation too many, never one too few — and so does VALUING, for that execution or,
                // if none runs, the stuck-valuation sweep.
                tracing::warn!(
                    card_id = id.as_str(),
                    valuation_id = valuation_id.as_str(),
                    error = %err,
                    "StartExecution may have started the valuation: the card stays VALUING"
                );
            }
            Err(match err {
                HandlerError::Internal(m) | HandlerError::Retryable(m) => HandlerError::Retryable(m),
                other => other,
            })
        }
    }
}

/// Whether a failed `StartExecution` surely started nothing: it was never sent, or Step Functions
/// refused it with a 4xx other than `ExecutionAlreadyExists` — throttling included: the request is
/// sent once, so a throttled answer is the only answer, and a throttled request is not processed. A
/// 5xx, a timeout, a dispatch failure or an unreadable response may have started one.
fn surely_not_started(
    e: &aws_sdk_sfn::error::SdkError<aws_sdk_sfn::operation::start_execution::StartExecutionError>,
) -> bool {
    use aws_sdk_sfn::error::SdkError;
    match e {
        SdkError::ConstructionFailure(_) => true,
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            (400..500).contains(&status) && !s.err().is_execution_already_exists()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::DailyLimit;
    use crate::store::fake_aws::{self, card_item};
    use lambda_runtime::Context;
    use serde_json::{Value, json};

    const SUB: &str = "7d3a1f2e-5b6c-4d8e-9f00-1a2b3c4d5e6f";
    const CARD: &str = "3f1c9a52-8d1e-4b7a-9c2d-5e6f7a8b9c0d";

    /// `POST /cards/{CARD}/revalue` with DynamoDB answering as for a `CREATED` card and Step Functions
    /// answering every `StartExecution` with `sfn_answer`: the outcome, the DynamoDB writes' update
    /// expressions and the number of `StartExecution` requests sent.
    async fn revalue(sfn_answer: (u16, Value)) -> (Result<Response, HandlerError>, Vec<String>, usize) {
        let (ddb_http, ddb_log) = fake_aws::http(|_, _, body| {
            let update = body["UpdateExpression"].as_str().unwrap_or_default();
            if update.starts_with("ADD used :one") {
                (200, json!({"Attributes": {"used": {"N": "1"}}}))
            } else if update.starts_with("SET #s = :valuing") {
                (
                    200,
                    json!({"Attributes": card_item(SUB, CARD, "CREATED", &json!({}))}),
                )
            } else {
                (200, json!({}))
            }
        });
        let (sfn_http, sfn_log) = fake_aws::http(move |_, _, _| sfn_answer.clone());
        let ddb = fake_aws::dynamodb(ddb_http);
        let limit = |n| DailyLimit::new(n).unwrap();
        let deps = Deps {
            store: CardStore::new(ddb.clone(), "t"),
            sfn: fake_aws::sfn(sfn_http),
            state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:valuation".into(),
            bucket: "uploads".into(),
            users: UserHasher::new(vec![7; 32]).unwrap(),
            quota: DailyQuota::new(ddb.clone(), "t", QuotaAction::Revalue, limit(20)),
            ceiling: ValuationCeiling::new(ddb, "t", limit(100)),
        };
        let req: Request =
            serde_json::from_str(include_str!("../../tests/fixtures/apigw_v2_cards_revalue.json")).unwrap();
        let r = handler(LambdaEvent::new(req, Context::default()), &deps).await;
        let writes = ddb_log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b)| b["UpdateExpression"].as_str().unwrap_or_default().to_owned())
            .collect();
        let starts = sfn_log
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == "AWSStepFunctions.StartExecution")
            .count();
        (r, writes, starts)
    }

    fn refunded(writes: &[String]) -> bool {
        writes.iter().any(|w| w.starts_with("ADD used :minus_one"))
    }

    fn reverted(writes: &[String]) -> bool {
        writes.iter().any(|w| w.starts_with("SET #s = :prev"))
    }

    #[tokio::test]
    async fn a_start_answered_500_is_sent_once_and_keeps_its_count_and_valuing() {
        // An Express StartExecution is not idempotent: a retry could start a second execution, and
        // after a 500 the first may be running.
        let (r, writes, starts) = revalue(fake_aws::error(500, "InternalServerError")).await;
        assert!(matches!(r, Err(HandlerError::Retryable(_))), "{r:?}");
        assert_eq!(starts, 1, "one StartExecution, no SDK retry");
        assert!(!refunded(&writes), "the count stays: {writes:?}");
        assert!(!reverted(&writes), "the card stays VALUING: {writes:?}");
        assert_eq!(writes.len(), 3, "quota, VALUING, ceiling: {writes:?}");
    }

    #[tokio::test]
    async fn a_throttled_start_is_refunded_and_the_card_put_back() {
        // Sent once, so the throttle is the one answer: nothing runs, and leaving the card VALUING
        // would answer every revalue with 409 until the sweep.
        let (r, writes, starts) = revalue(fake_aws::error(400, "ThrottlingException")).await;
        assert!(matches!(r, Err(HandlerError::Retryable(_))), "{r:?}");
        assert_eq!(starts, 1);
        assert!(refunded(&writes) && reverted(&writes), "{writes:?}");
    }

    #[tokio::test]
    async fn a_refused_start_is_refunded_and_the_card_put_back() {
        let (r, writes, starts) = revalue(fake_aws::error(400, "StateMachineDoesNotExist")).await;
        assert!(matches!(r, Err(HandlerError::Retryable(_))), "{r:?}");
        assert_eq!(starts, 1);
        assert!(refunded(&writes) && reverted(&writes), "{writes:?}");
    }

    #[tokio::test]
    async fn a_started_valuation_is_a_202() {
        let (r, writes, starts) = revalue((
            200,
            json!({"executionArn": "arn:aws:states:us-east-1:123456789012:express:valuation:v:x", "startDate": 1.795308e9}),
        ))
        .await;
        assert_eq!(r.unwrap().status_code, 202);
        assert_eq!((writes.len(), starts), (3, 1));
    }
}
