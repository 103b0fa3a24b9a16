//! The one list of AWS error codes per class, and the rule that sorts a service's answer (HTTP status and
//! error code) into an [`ErrorClass`].
//!
//! Sources:
//! - throttling: the SDK's own list, `THROTTLING_ERRORS` in `aws-runtime` 1.6.0
//!   (`src/retries/classifiers.rs`, used by the standard retry mode's `AwsErrorCodeClassifier`; botocore's
//!   and the Go SDK v2's lists are the same fourteen codes), plus the throttling errors that services model
//!   under other codes, read from the generated SDK crates' error parsers (`protocol_serde/*.rs`);
//! - transient codes: `TRANSIENT_ERRORS` in the same `aws-runtime` file;
//! - access denied, credentials rejected, server faults: the "Common Errors" page every AWS API reference
//!   carries (e.g. <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html>) and the
//!   services' own error shapes (SNS `AuthorizationError`, EC2 `UnauthorizedOperation`);
//! - not implemented: what Smithy servers and emulators answer for an operation they lack (moto: 501 or
//!   `NotImplemented`; Smithy: `UnknownOperationException`).
//!
//! `InternalServerError` is a server fault, not throttling: it is retried because it is a 5xx, and X-Ray
//! counts it as a fault.

use crate::ErrorClass;

/// Throttling codes of the AWS SDK's standard retry mode (`aws-runtime` 1.6.0 `THROTTLING_ERRORS`,
/// identical in botocore and the Go SDK v2). Note that `LimitExceededException` is Cost Explorer's
/// throttle ("You made too many calls in a short period of time. Try again later."), and `SlowDown` is S3's
/// (HTTP 503).
pub const SDK_THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Throttling errors services model under codes the SDK's list lacks (read from the error parsers of
/// the generated SDK crates: `aws-sdk-sns` 1.94 `shape_publish.rs`, `aws-sdk-sfn` 1.98, `aws-sdk-sqs` 1.93,
/// `aws-sdk-ssooidc` 1.95).
pub const SERVICE_THROTTLING_CODES: &[&str] = &[
    // SNS `ThrottledException` (HTTP 429): "the rate at which requests have been submitted for this
    // action exceeds the limit for your AWS account".
    "Throttled",
    // SNS `KMSThrottlingException`: KMS throttled the key of an encrypted topic.
    "KMSThrottling",
    // Step Functions `KmsThrottlingException`.
    "KmsThrottlingException",
    // SQS `KmsThrottled`.
    "KMS.ThrottlingException",
    // SSO OIDC `SlowDownException` (the device-code flow polls too fast).
    "SlowDownException",
];

/// Codes the SDK retries as transient (`aws-runtime` 1.6.0 `TRANSIENT_ERRORS`): the service gave up
/// reading the request. Classed [`ErrorClass::Timeout`].
pub const TRANSIENT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// The caller is authenticated but not allowed ("Common Errors" `AccessDeniedException`,
/// `NotAuthorized`, `OptInRequired`; S3 `AccessDenied`; EC2 `UnauthorizedOperation`; SNS
/// `AuthorizationError`).
pub const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "NotAuthorized",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "OptInRequired",
];

/// The credentials themselves were rejected: unknown, expired or badly signed ("Common Errors"
/// `InvalidClientTokenId`, `ExpiredTokenException`, `IncompleteSignature`, `MissingAuthenticationToken`,
/// `RequestExpired`; awsJson services answer `UnrecognizedClientException`; S3 `InvalidAccessKeyId`,
/// `SignatureDoesNotMatch`). Classed [`ErrorClass::AccessDenied`]; the advice differs.
pub const CREDENTIALS_REJECTED_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "IncompleteSignatureException",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "InvalidAccessKeyId",
    "RequestExpired",
    "AuthFailure",
];

/// The endpoint does not implement the operation (an emulator, or an unknown action).
pub const NOT_IMPLEMENTED_CODES: &[&str] = &[
    "UnknownOperationException",
    "UnknownOperation",
    "NotImplemented",
    "NotImplementedException",
    "InvalidAction",
    "UnsupportedOperation",
    "UnsupportedOperationException",
];

/// Codes that say the service failed, whatever the status ("Common Errors" `InternalFailure`,
/// `ServiceUnavailable`; the services' `InternalServerError`/`InternalServerException`,
/// `ServiceUnavailableException`, Budgets `InternalErrorException`, Lambda `ServiceException`).
pub const SERVER_FAULT_CODES: &[&str] = &[
    "InternalFailure",
    "InternalError",
    "InternalErrorException",
    "InternalServerError",
    "InternalServerException",
    "InternalServiceError",
    "InternalServiceErrorException",
    "InternalServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "ServiceFailure",
];

/// The bare code from any spelling a service sends: `com.amazonaws.dynamodb.v20120810#ResourceNotFound`
/// (awsJson `__type`) and `ThrottlingException:http://internal.amazon.com/…` (restJson
/// `x-amzn-errortype`) both lose their decoration.
///
/// ```
/// assert_eq!(
///     aws_error::normalise_code("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"),
///     "ProvisionedThroughputExceededException"
/// );
/// assert_eq!(aws_error::normalise_code("ThrottlingException:http://internal.amazon.com/coral/"), "ThrottlingException");
/// ```
#[must_use]
pub fn normalise_code(code: &str) -> &str {
    // The SDK's `sanitize_error_code` (generated `json_errors.rs`/`cbor_errors.rs`): drop the suffix
    // from the first `:`, then the namespace up to `#`.
    let code = code.split_once(':').map_or(code, |(c, _)| c);
    code.rsplit_once('#').map_or(code, |(_, c)| c).trim()
}

/// Whether `code` (in any spelling) means "slow down": the SDK's list or a service's own throttle.
///
/// ```
/// assert!(aws_error::is_throttling_code("LimitExceededException")); // Cost Explorer
/// assert!(aws_error::is_throttling_code("Throttled")); // SNS
/// assert!(!aws_error::is_throttling_code("InternalServerError"));
/// ```
#[must_use]
pub fn is_throttling_code(code: &str) -> bool {
    let code = normalise_code(code);
    SDK_THROTTLING_CODES.contains(&code) || SERVICE_THROTTLING_CODES.contains(&code)
}

/// Whether `code` names a missing resource: `ResourceNotFoundException`, `NotFound`, S3's `NoSuchKey`,
/// SQS's `QueueDoesNotExist`, `…NotFoundFault`.
fn is_not_found_code(code: &str) -> bool {
    code.ends_with("NotFound")
        || code.ends_with("NotFoundException")
        || code.ends_with("NotFoundFault")
        || code.ends_with("DoesNotExist")
        || code.ends_with("NonExistentQueue")
        || code.starts_with("NoSuch")
}

/// Texts emulators answer for an operation they lack (moto: "The get_cost_forecast action has not been
/// implemented").
fn says_not_implemented(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["not implemented", "not yet implemented", "not been implemented"]
        .iter()
        .any(|t| text.contains(t))
}

/// Whether the credentials were rejected (as opposed to the caller lacking a permission).
#[must_use]
pub(crate) fn is_credentials_rejected_code(code: &str) -> bool {
    CREDENTIALS_REJECTED_CODES.contains(&normalise_code(code))
}

/// The class of a service's answer: its HTTP status, its error code (any spelling) and its message.
///
/// A known code wins over the status (S3's `SlowDown` is a 503 and a throttle); the status decides when
/// the code is unknown or missing; the message is read only to spot an emulator's "not implemented" —
/// after the specific statuses (429, 501, 408, 401/403, 404), before a generic 5xx or fault code.
///
/// ```
/// use aws_error::{ErrorClass, classify_answer};
/// assert_eq!(classify_answer(400, Some("ThrottlingException"), None), ErrorClass::Throttled);
/// assert_eq!(classify_answer(500, Some("InternalServerError"), None), ErrorClass::ServerFault);
/// assert_eq!(classify_answer(429, None, None), ErrorClass::Throttled);
/// assert_eq!(classify_answer(400, Some("ValidationException"), None), ErrorClass::ClientFault);
/// ```
#[must_use]
pub fn classify_answer(status: u16, code: Option<&str>, message: Option<&str>) -> ErrorClass {
    if let Some(code) = code.map(normalise_code).filter(|c| !c.is_empty()) {
        if is_throttling_code(code) {
            return ErrorClass::Throttled;
        }
        if TRANSIENT_CODES.contains(&code) {
            return ErrorClass::Timeout;
        }
        if ACCESS_DENIED_CODES.contains(&code) || CREDENTIALS_REJECTED_CODES.contains(&code) {
            return ErrorClass::AccessDenied;
        }
        if NOT_IMPLEMENTED_CODES.contains(&code) {
            return ErrorClass::NotImplemented;
        }
        if SERVER_FAULT_CODES.contains(&code) {
            // Emulators answer an operation they lack with a generic fault code and a 501 or a "not
            // implemented" text (LocalStack: 501 `InternalFailure` "… not yet implemented").
            if status == 501 || message.is_some_and(says_not_implemented) {
                return ErrorClass::NotImplemented;
            }
            return ErrorClass::ServerFault;
        }
        if is_not_found_code(code) {
            return ErrorClass::NotFound;
        }
    }
    match status {
        429 => ErrorClass::Throttled,
        501 => ErrorClass::NotImplemented,
        408 => ErrorClass::Timeout,
        401 | 403 => ErrorClass::AccessDenied,
        404 => ErrorClass::NotFound,
        _ if message.is_some_and(says_not_implemented) => ErrorClass::NotImplemented,
        500..=599 => ErrorClass::ServerFault,
        _ => ErrorClass::ClientFault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every list, with the class each code must land in (AWS docs and SDK sources above).
    fn table() -> Vec<(&'static str, ErrorClass)> {
        let mut t = Vec::new();
        for (codes, class) in [
            (SDK_THROTTLING_CODES, ErrorClass::Throttled),
            (SERVICE_THROTTLING_CODES, ErrorClass::Throttled),
            (TRANSIENT_CODES, ErrorClass::Timeout),
            (ACCESS_DENIED_CODES, ErrorClass::AccessDenied),
            (CREDENTIALS_REJECTED_CODES, ErrorClass::AccessDenied),
            (NOT_IMPLEMENTED_CODES, ErrorClass::NotImplemented),
            (SERVER_FAULT_CODES, ErrorClass::ServerFault),
        ] {
            t.extend(codes.iter().map(|c| (*c, class)));
        }
        t
    }

    #[test]
    fn the_sdk_list_is_the_fourteen_codes_of_the_standard_retry_mode() {
        // aws-runtime 1.6.0 src/retries/classifiers.rs THROTTLING_ERRORS, in its order.
        assert_eq!(SDK_THROTTLING_CODES.len(), 14);
        assert_eq!(SDK_THROTTLING_CODES[0], "Throttling");
        assert_eq!(SDK_THROTTLING_CODES[13], "EC2ThrottledException");
    }

    #[test]
    fn no_code_is_in_two_lists() {
        let t = table();
        for (i, (a, ca)) in t.iter().enumerate() {
            for (b, cb) in &t[i + 1..] {
                assert!(a != b || ca == cb, "{a} is listed as {ca:?} and {cb:?}");
                assert_ne!(a, b, "{a} is listed twice");
            }
        }
    }

    #[test]
    fn service_specific_codes_from_the_aws_docs() {
        let cases = [
            // Cost Explorer's throttle is LimitExceededException (HTTP 400).
            (400, "LimitExceededException", ErrorClass::Throttled),
            // CloudWatch (query/CBOR) throttles with `Throttling`.
            (400, "Throttling", ErrorClass::Throttled),
            // CloudWatch's alarm quota is `LimitExceeded`: a quota, not a rate — a retry will not help.
            (400, "LimitExceeded", ErrorClass::ClientFault),
            (
                400,
                "ProvisionedThroughputExceededException",
                ErrorClass::Throttled,
            ),
            (400, "RequestLimitExceeded", ErrorClass::Throttled),
            (429, "Throttled", ErrorClass::Throttled),
            // S3's throttle arrives as a 503.
            (503, "SlowDown", ErrorClass::Throttled),
            // The server faults backend once counted as throttling.
            (500, "InternalServerError", ErrorClass::ServerFault),
            (500, "InternalServerException", ErrorClass::ServerFault),
            (503, "ServiceUnavailableException", ErrorClass::ServerFault),
            (400, "ResourceNotFoundException", ErrorClass::NotFound),
            (404, "NoSuchKey", ErrorClass::NotFound),
            (
                400,
                "AWS.SimpleQueueService.NonExistentQueue",
                ErrorClass::NotFound,
            ),
            (404, "ResourceNotFound", ErrorClass::NotFound),
            (400, "DataUnavailableException", ErrorClass::ClientFault),
            (400, "ValidationException", ErrorClass::ClientFault),
            (400, "ConditionalCheckFailedException", ErrorClass::ClientFault),
            (403, "AccessDenied", ErrorClass::AccessDenied),
            (400, "AccessDeniedException", ErrorClass::AccessDenied),
            (403, "UnrecognizedClientException", ErrorClass::AccessDenied),
            (403, "AuthorizationError", ErrorClass::AccessDenied),
            (400, "InvalidAction", ErrorClass::NotImplemented),
            (400, "RequestTimeout", ErrorClass::Timeout),
            // Bedrock: ModelNotReadyException is a 429 (retry later), ModelTimeoutException a 408.
            (429, "ModelNotReadyException", ErrorClass::Throttled),
            (408, "ModelTimeoutException", ErrorClass::Timeout),
        ];
        for (status, code, class) in cases {
            assert_eq!(
                classify_answer(status, Some(code), None),
                class,
                "{status} {code}"
            );
        }
    }

    #[test]
    fn status_decides_without_a_code() {
        for (status, class) in [
            (429, ErrorClass::Throttled),
            (500, ErrorClass::ServerFault),
            (502, ErrorClass::ServerFault),
            (503, ErrorClass::ServerFault),
            (504, ErrorClass::ServerFault),
            (501, ErrorClass::NotImplemented),
            (403, ErrorClass::AccessDenied),
            (404, ErrorClass::NotFound),
            (408, ErrorClass::Timeout),
            (400, ErrorClass::ClientFault),
            (409, ErrorClass::ClientFault),
        ] {
            assert_eq!(classify_answer(status, None, None), class, "{status}");
            assert_eq!(
                classify_answer(status, Some(""), None),
                class,
                "{status} empty code"
            );
        }
    }

    #[test]
    fn emulator_gaps_are_not_implemented_but_a_status_beats_the_text() {
        // LocalStack: 501 with a generic fault code.
        assert_eq!(
            classify_answer(
                501,
                Some("InternalFailure"),
                Some("API action 'GetCostForecast' not yet implemented")
            ),
            ErrorClass::NotImplemented
        );
        assert_eq!(
            classify_answer(500, Some("InternalFailure"), Some("boom")),
            ErrorClass::ServerFault
        );
        assert_eq!(
            classify_answer(403, None, Some("not implemented")),
            ErrorClass::AccessDenied
        );
        assert_eq!(
            classify_answer(200, Some("Whatever"), Some("Not Yet Implemented")),
            ErrorClass::NotImplemented
        );
        // A throttle stays a throttle whatever the status and text.
        assert_eq!(
            classify_answer(501, Some("ThrottlingException"), Some("not implemented")),
            ErrorClass::Throttled
        );
    }

    #[test]
    fn an_emulators_text_says_not_implemented() {
        assert_eq!(
            classify_answer(
                500,
                None,
                Some("The get_cost_forecast action has not been implemented")
            ),
            ErrorClass::NotImplemented
        );
        assert_eq!(
            classify_answer(500, None, Some("<html>")),
            ErrorClass::ServerFault
        );
    }

    fn spelling(code: &'static str) -> impl Strategy<Value = String> {
        prop_oneof![
            Just(code.to_owned()),
            "[a-z]{2,8}\\.[a-z0-9]{2,10}".prop_map(move |ns| format!("com.amazonaws.{ns}#{code}")),
            "[a-z/.]{0,30}".prop_map(move |tail| format!("{code}:http://internal.amazon.com/{tail}")),
            Just(format!("  {code} ")),
        ]
    }

    proptest! {
        /// Every listed code lands in its class in every spelling, whatever the status and message.
        #[test]
        fn listed_codes_win_over_status_in_every_spelling(
            (code, class) in proptest::sample::select(table()),
            spelled in proptest::sample::select(table()).prop_flat_map(|(c, _)| spelling(c)),
            status in prop_oneof![Just(400u16), Just(403), Just(404), Just(429), Just(500), Just(501), Just(503)],
            message in proptest::option::of(".{0,40}"),
        ) {
            // Only a generic server-fault code gives way, to an emulator's "not implemented".
            let emulator_gap = |class, status, message: Option<&str>| {
                if class == ErrorClass::ServerFault && (status == 501 || message.is_some_and(says_not_implemented)) {
                    ErrorClass::NotImplemented
                } else {
                    class
                }
            };
            prop_assert_eq!(
                classify_answer(status, Some(code), message.as_deref()),
                emulator_gap(class, status, message.as_deref())
            );
            let bare = normalise_code(&spelled);
            let expected = table()
                .into_iter()
                .find(|(c, _)| *c == bare)
                .map(|(_, k)| emulator_gap(k, status, None));
            prop_assert_eq!(Some(classify_answer(status, Some(&spelled), None)), expected);
        }

        /// An unknown code never makes a 5xx anything but a server fault (or not implemented), and never
        /// makes a 4xx other than 429 a throttle.
        #[test]
        fn unknown_codes_follow_the_status(code in "[A-Z][a-z]{3,12}Error", status in 400u16..600) {
            prop_assume!(!is_not_found_code(&code));
            prop_assume!(table().iter().all(|(c, _)| *c != code));
            let class = classify_answer(status, Some(&code), None);
            match status {
                429 => prop_assert_eq!(class, ErrorClass::Throttled),
                501 => prop_assert_eq!(class, ErrorClass::NotImplemented),
                500..=599 => prop_assert_eq!(class, ErrorClass::ServerFault),
                _ => prop_assert_ne!(class, ErrorClass::Throttled),
            }
        }

        /// Normalising is idempotent and only ever shortens.
        #[test]
        fn normalising_is_idempotent(code in ".{0,60}") {
            let once = normalise_code(&code);
            prop_assert_eq!(normalise_code(once), once);
            prop_assert!(once.len() <= code.len());
        }
    }
}
