//! The one error type every handler returns, with stable error types for Lambda's `Diagnostic`.
//!
//! Client mistakes (`Validation`, `NotFound`, `Unauthorized`, `Conflict`) become 4xx JSON answers on
//! HTTP routes ([`crate::http::respond`]); on Step Functions tasks they fail the task with a stable
//! `errorType` the state machine's `Retry`/`Catch` can match (`Retryable` is retried, the rest are
//! caught). The `errorType` is never a Rust type name.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
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
            Self::Retryable(_) => "Retryable",
            Self::Internal(_) => "Internal",
        }
    }

    /// The HTTP status this error answers with (5xx errors are raised as Lambda errors instead).
    #[must_use]
    pub const fn http_status(&self) -> u16 {
        match self {
            Self::Validation { .. } => 400,
            Self::Unauthorized(_) => 401,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Retryable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// Whether the caller made the mistake (4xx), as opposed to us or a dependency (5xx).
    #[must_use]
    pub const fn is_client_error(&self) -> bool {
        self.http_status() < 500
    }
}

/// Classifies an AWS SDK error by its shape: timeouts, dispatch failures, unreadable responses, 5xx and
/// throttling are retryable; everything else (4xx, request construction) is internal.
pub(crate) fn sdk_error<E>(what: &str, err: SdkError<E, HttpResponse>) -> HandlerError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let detail = format!("{what}: {}", DisplayErrorContext(&err));
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or_default();
            s.raw().status().as_u16() >= 500 || is_throttling(code)
        }
        _ => false,
    };
    if retryable {
        HandlerError::Retryable(detail)
    } else {
        HandlerError::Internal(detail)
    }
}

/// AWS error codes that mean "slow down and try again".
pub(crate) fn is_throttling(code: &str) -> bool {
    code.contains("Throttl")
        || matches!(
            code,
            "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
                | "ServiceUnavailable"
                | "ServiceUnavailableException"
                | "InternalServerError"
                | "InternalServerException"
                | "ModelNotReadyException"
        )
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
            (HandlerError::Retryable("x".into()), "Retryable", 503),
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
}
