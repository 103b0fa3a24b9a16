//! The one error type every handler returns, with stable error types for Lambda's `Diagnostic`.
//!
//! Client mistakes (`Validation`, `NotFound`, `Unauthorized`, `Conflict`) become 4xx JSON answers on
//! HTTP routes ([`crate::http::respond`]); on Step Functions tasks they fail the task with a stable
//! `errorType` the state machine's `Retry`/`Catch` can match (`Retryable` is retried, the rest are
//! caught). The `errorType` is never a Rust type name.

use aws_error::AwsCallError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

/// What went wrong in a handler.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// The input is invalid; `field` names the offending field (JSON pointer-ish, e.g. `contentType`).
    #[error("invalid {field}: {message}")]
    Validation {
        /// The field at fault.
        field: String,
        /// Why it is invalid.
        message: String,
    },
    /// The caller is not authenticated (no JWT `sub` claim).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The thing asked for does not exist (or belongs to someone else: the two are not distinguished).
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. a valuation is already running).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller used up a daily quota ([`crate::quota`]); HTTP 429 with `Retry-After`.
    #[error("too many requests: {message}")]
    TooManyRequests {
        /// Which limit, and when it resets.
        message: String,
        /// Seconds until the quota resets (the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// A dependency failed in a way that may succeed if retried (throttling, 5xx, timeouts).
    #[error("retryable: {0}")]
    Retryable(String),
    /// A dependency failed in a way a retry will not fix (bad configuration, malformed data).
    #[error("internal: {0}")]
    Internal(String),
}

impl HandlerError {
    /// A validation error naming `field`.
    ///
    /// ```
    /// let e = backend::HandlerError::validation("name", "must not be empty");
    /// assert_eq!(e.to_string(), "invalid name: must not be empty");
    /// assert_eq!(e.error_type(), "Validation");
    /// ```
    #[must_use]
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The stable error type (`Diagnostic.errorType`, the `error` key of HTTP error bodies).
    #[must_use]
    pub const fn error_type(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "Validation",
            Self::Unauthorized(_) => "Unauthorized",
            Self::NotFound(_) => "NotFound",
            Self::Conflict(_) => "Conflict",
            Self::TooManyRequests { .. } => "TooManyRequests",
            Self::Retryable(_) => "Retryable",
            Self::Internal(_) => "Internal",
        }
    }

    /// The HTTP status the client gets for this error. A server-side error is raised as a Lambda
    /// error, which API Gateway answers with 500 whether it is retryable or not: the request log
    /// says 500 too ([`Self::error_type`] tells `Retryable` from `Internal`).
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::Validation { .. } => 400,
            Self::Unauthorized(_) => 401,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::TooManyRequests { .. } => 429,
            Self::Retryable(_) => 500,
            Self::Internal(_) => 500,
        }
    }

    /// Whether the caller made the mistake (4xx), as opposed to us or a dependency (5xx).
    #[must_use]
    pub const fn is_client_error(&self) -> bool {
        self.http_status() < 500
    }
}

/// An AWS SDK error as a handler error: `aws_error` classifies it once (throttles, server faults,
/// timeouts and transport failures are `Retryable`; denied, not found, invalid requests and missing
/// credentials are `Internal`). The message is the call error's line — service, operation, code,
/// message, HTTP status and request id — or, with no answer, what went wrong (no credentials, DNS,
/// connection refused, timeout).
pub(crate) fn sdk_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> HandlerError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    aws_call_error(&AwsCallError::from_sdk(sdk_service::<E>(), operation, err))
}

/// The handler error for a classified AWS call failure: the class decides `Retryable` or `Internal`.
pub(crate) fn aws_call_error(e: &AwsCallError) -> HandlerError {
    tracing::debug!(
        aws.service = e.service(),
        aws.operation = e.operation(),
        aws.error_class = e.class().as_str(),
        aws.error_code = e.code(),
        aws.request_id = e.request_id(),
        "AWS call failed"
    );
    if e.is_retryable() {
        HandlerError::Retryable(e.to_string())
    } else {
        HandlerError::Internal(e.to_string())
    }
}

/// The SDK's service name (`DynamoDB`, as the operation metadata spells it) of the crate an operation
/// error type comes from (`aws_sdk_dynamodb::operation::get_item::GetItemError`).
fn sdk_service<E>() -> &'static str {
    let crate_name = std::any::type_name::<E>().split("::").next().unwrap_or_default();
    match crate_name {
        "aws_sdk_dynamodb" => "DynamoDB",
        "aws_sdk_s3" => "S3",
        "aws_sdk_sfn" => "SFN",
        "aws_sdk_eventbridge" => "EventBridge",
        "aws_sdk_rekognition" => "Rekognition",
        "aws_sdk_bedrockruntime" => "BedrockRuntime",
        "aws_sdk_secretsmanager" => "SecretsManager",
        _ => "AWS",
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Self {
        Self {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_use_stable_types_not_type_names() {
        let cases = [
            (HandlerError::validation("f", "m"), "Validation", 400),
            (HandlerError::Unauthorized("x".into()), "Unauthorized", 401),
            (HandlerError::NotFound("card".into()), "NotFound", 404),
            (HandlerError::Conflict("x".into()), "Conflict", 409),
            (
                HandlerError::TooManyRequests {
                    message: "x".into(),
                    retry_after_secs: 5,
                },
                "TooManyRequests",
                429,
            ),
            (HandlerError::Retryable("x".into()), "Retryable", 500),
            (HandlerError::Internal("x".into()), "Internal", 500),
        ];
        for (e, ty, status) in cases {
            assert_eq!(e.http_status(), status);
            assert_eq!(e.is_client_error(), status < 500);
            let d: Diagnostic = e.clone().into();
            assert_eq!(d.error_type, ty);
            assert_eq!(d.error_message, e.to_string());
        }
    }

    #[test]
    fn aws_errors_are_retryable_by_their_class() {
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        use aws_smithy_runtime_api::http::StatusCode;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        let err = |status: u16, code: &str| {
            SdkError::service_error(
                GetItemError::generic(ErrorMetadata::builder().code(code).message("m").build()),
                HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
            )
        };
        for (status, code, ty) in [
            (400, "ProvisionedThroughputExceededException", "Retryable"),
            (400, "ThrottlingException", "Retryable"),
            (400, "RequestLimitExceeded", "Retryable"),
            (500, "InternalServerError", "Retryable"),
            (503, "ServiceUnavailableException", "Retryable"),
            (429, "ModelNotReadyException", "Retryable"),
            (400, "ValidationException", "Internal"),
            (400, "ResourceNotFoundException", "Internal"),
            (400, "AccessDeniedException", "Internal"),
        ] {
            let e = sdk_error("GetItem", err(status, code));
            assert_eq!(e.error_type(), ty, "{status} {code}");
            assert!(
                e.to_string()
                    .contains(&format!("DynamoDB GetItem: {code}: m (HTTP {status})")),
                "{e}"
            );
        }
    }

    #[test]
    fn the_service_is_named_after_the_sdk_crate() {
        assert_eq!(
            sdk_service::<aws_sdk_dynamodb::operation::get_item::GetItemError>(),
            "DynamoDB"
        );
        assert_eq!(
            sdk_service::<aws_sdk_sfn::operation::start_execution::StartExecutionError>(),
            "SFN"
        );
        assert_eq!(
            sdk_service::<aws_sdk_bedrockruntime::operation::converse::ConverseError>(),
            "BedrockRuntime"
        );
        assert_eq!(sdk_service::<std::io::Error>(), "AWS");
    }
}
