//! `POST /cards/{id}/revalue`: starts the valuation state machine for one of the caller's cards.
//!
//! The card is first marked `VALUING` (conditionally: 404 if it does not exist, 409 if a valuation is
//! already running), then `StartExecution` is called with a [`ValuationRequest`]. If the execution
//! cannot be started the status is put back, so the card is never left `VALUING` with nothing running.
//! Answers 202 with the execution ARN.
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
            // Nothing was started: the client's retry is the valuation the ceiling counts. A timeout
            // or a lost response may have started one (Bedrock is paid for all the same): the count
            // stays — one valuation too many, never one too few.
            if not_started && let Err(refund) = deps.ceiling.refund(charge).await {
                tracing::warn!(error = %refund, "could not refund the service's valuation count");
            }
            // Put the card back so it is not stuck in VALUING with no execution behind it.
            deps.store
                .revert_valuation(&caller, &before, &valuation_id)
                .await?;
            Err(match err {
                HandlerError::Internal(m) | HandlerError::Retryable(m) => HandlerError::Retryable(m),
                other => other,
            })
        }
    }
}

/// Whether a failed `StartExecution` surely started nothing: it was never sent, or Step Functions
/// answered with an error other than `ExecutionAlreadyExists` (an earlier attempt of this very call
/// started it). A timeout, a dispatch failure or an unreadable response may have started one.
fn surely_not_started(
    e: &aws_sdk_sfn::error::SdkError<aws_sdk_sfn::operation::start_execution::StartExecutionError>,
) -> bool {
    use aws_sdk_sfn::error::SdkError;
    match e {
        SdkError::ConstructionFailure(_) => true,
        SdkError::ServiceError(s) => !s.err().is_execution_already_exists(),
        _ => false,
    }
}
