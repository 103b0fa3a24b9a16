//! One AWS call error with one classification, shared by every crate that calls AWS.
//!
//! [`AwsCallError`] is built from any SDK error (`SdkError<E, HttpResponse>` of any `aws-sdk-*` client)
//! and keeps it as its source. It carries the service, operation, error code, HTTP status and request id,
//! and one [`ErrorClass`]: throttled, access denied, not found, not implemented, server fault, client
//! fault, timeout, transport ([`TransportProblem`] says which: no credentials, DNS, connection refused,
//! TLS, …). Retry decisions ([`AwsCallError::is_retryable`]), X-Ray flags ([`XrayFlags`]), report notes
//! and `doctor`'s ✗ lines ([`AwsCallError::advice`], [`AwsCallError::iam_action`]) all read that one value.
//!
//! The codes behind each class are one list per class in [`codes`](crate::SDK_THROTTLING_CODES) — the
//! AWS SDK's own throttling list plus the services' own throttles, with sources — and
//! [`ErrorAnswer`] reads a code from a raw response of any protocol (awsJson, restJson, query/XML, CBOR)
//! for code that sees only the HTTP exchange (the X-Ray interceptor).
//!
//! Spec: issue 10 item 3; docs/errors.md lists the classes, the codes and what each consumer does.
//!
//! ```
//! use aws_error::{ErrorClass, classify_answer};
//! // Cost Explorer's throttle, and the server fault an older list mistook for one.
//! assert_eq!(classify_answer(400, Some("LimitExceededException"), None), ErrorClass::Throttled);
//! assert!(classify_answer(500, Some("InternalServerError"), None).is_retryable());
//! assert_ne!(classify_answer(500, Some("InternalServerError"), None), ErrorClass::Throttled);
//! ```

mod advice;
mod call;
mod class;
mod codes;
mod response;

pub use advice::iam_action;
pub use call::{AwsCallError, RawAnswer};
pub use class::{ErrorClass, TransportProblem, XrayFlags};
pub use codes::{
    ACCESS_DENIED_CODES, CREDENTIALS_REJECTED_CODES, NOT_IMPLEMENTED_CODES, SDK_THROTTLING_CODES,
    SERVER_FAULT_CODES, SERVICE_THROTTLING_CODES, TRANSIENT_CODES, classify_answer, is_throttling_code,
    normalise_code,
};
pub use response::{ErrorAnswer, request_id};

/// The class of a raw error response (status ≥ 400) read with [`ErrorAnswer::of`]; for code that sees
/// the HTTP exchange but not the SDK's parsed error.
///
/// ```
/// use aws_smithy_runtime_api::http::{Response, StatusCode};
/// use aws_smithy_types::body::SdkBody;
/// let r = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::from("<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"));
/// assert_eq!(aws_error::classify_response(&r), aws_error::ErrorClass::Throttled);
/// ```
#[must_use]
pub fn classify_response(response: &aws_smithy_runtime_api::http::Response) -> ErrorClass {
    let answer = ErrorAnswer::of(response);
    classify_answer(
        response.status().as_u16(),
        answer.code.as_deref(),
        answer.message.as_deref(),
    )
}
