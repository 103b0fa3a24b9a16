//! Why Cost Explorer gave no forecast: a failed `GetCostForecast` sorted into the few cases a reader can
//! act on, each said in plain words in the report's note ("Cost Explorer forecast unavailable (…);
//! projection uses linear + trailing-7-day rate", see `cost::report::forecast_fallback_note`).
//!
//! | class | recognised by |
//! |---|---|
//! | [`ForecastFailure::NotImplemented`] | codes `UnknownOperationException`, `NotImplemented`, `InvalidAction`, …; HTTP 501; or "not (yet / been) implemented" in the message or body (emulators) |
//! | [`ForecastFailure::DataUnavailable`] | `DataUnavailableException`: CE refuses early in the month and on new accounts |
//! | [`ForecastFailure::AccessDenied`] | `AccessDeniedException`, `UnauthorizedOperation`, …; HTTP 403 |
//! | [`ForecastFailure::Throttled`] | `LimitExceededException` (CE's throttling), `ThrottlingException`, `TooManyRequestsException`, …; HTTP 429 |
//! | [`ForecastFailure::Other`] | anything else: other codes, 5xx without a code, transport errors and time-outs |
//!
//! An error code wins over the HTTP status, and both over the text. The codes and the rule are
//! `aws_error`'s ([`aws_error::classify_answer`], the one list for the workspace); only
//! `DataUnavailableException` is Cost Explorer's own. With no answer at all the detail says what went
//! wrong (no credentials found, endpoint unreachable, DNS, timed out).

use aws_sdk_costexplorer::operation::get_cost_forecast::GetCostForecastError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use serde::{Deserialize, Serialize};

use aws_error::{AwsCallError, ErrorClass};

/// The kind of `GetCostForecast` failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastFailure {
    /// The endpoint does not implement `GetCostForecast` (an emulator, or an unknown operation).
    NotImplemented,
    /// Cost Explorer has too little data to forecast (early in the month, a new account).
    DataUnavailable,
    /// The caller may not call `ce:GetCostForecast`.
    AccessDenied,
    /// Cost Explorer throttled the request.
    Throttled,
    /// Cost Explorer failed (5xx) or did not answer (time-out, connection reset, DNS): transient.
    ServiceFault,
    /// Anything else (a refused request).
    Other,
}

/// Cost Explorer's own code for "too little data to forecast".
const DATA_UNAVAILABLE: &str = "DataUnavailableException";

impl ForecastFailure {
    /// The class of an error answer from its code, HTTP status and text (message, else body).
    ///
    /// ```
    /// use governance::cost_pass::forecast::ForecastFailure;
    /// assert_eq!(
    ///     ForecastFailure::from_answer(Some("DataUnavailableException"), 400, ""),
    ///     ForecastFailure::DataUnavailable
    /// );
    /// assert_eq!(ForecastFailure::from_answer(None, 501, ""), ForecastFailure::NotImplemented);
    /// assert_eq!(ForecastFailure::from_answer(None, 500, "<html>"), ForecastFailure::ServiceFault);
    /// assert_eq!(ForecastFailure::from_answer(None, 400, "bad dates"), ForecastFailure::Other);
    /// ```
    #[must_use]
    pub fn from_answer(code: Option<&str>, status: u16, text: &str) -> Self {
        if code.map(aws_error::normalise_code) == Some(DATA_UNAVAILABLE) {
            return Self::DataUnavailable;
        }
        Self::from_class(aws_error::classify_answer(status, code, Some(text)))
    }

    /// Whether the answer holds for the rest of the day, so it may be cached until tomorrow: the
    /// endpoint lacks the operation, CE has too little data, or the role may not call it. A throttle or
    /// any other failure (5xx, reset, time-out) is transient: nothing is cached and the next run asks
    /// again, instead of reporting "forecast unavailable" for the whole day.
    ///
    /// ```
    /// use governance::cost_pass::forecast::ForecastFailure;
    /// assert!(ForecastFailure::DataUnavailable.is_lasting());
    /// assert!(!ForecastFailure::Throttled.is_lasting());
    /// assert!(!ForecastFailure::Other.is_lasting());
    /// ```
    #[must_use]
    pub const fn is_lasting(self) -> bool {
        matches!(
            self,
            Self::NotImplemented | Self::DataUnavailable | Self::AccessDenied
        )
    }

    /// Whether a later run the same day is likely to get the forecast (throttled, a 5xx, no answer):
    /// the report waits for it rather than be posted with a fallback projection as the day's final one.
    ///
    /// ```
    /// use governance::cost_pass::forecast::ForecastFailure;
    /// assert!(ForecastFailure::Throttled.is_transient());
    /// assert!(ForecastFailure::ServiceFault.is_transient());
    /// assert!(!ForecastFailure::Other.is_transient());
    /// assert!(!ForecastFailure::NotImplemented.is_transient());
    /// ```
    #[must_use]
    pub const fn is_transient(self) -> bool {
        matches!(self, Self::Throttled | Self::ServiceFault)
    }

    /// The forecast fallback for a shared error class.
    const fn from_class(class: ErrorClass) -> Self {
        match class {
            ErrorClass::NotImplemented => Self::NotImplemented,
            ErrorClass::AccessDenied => Self::AccessDenied,
            ErrorClass::Throttled => Self::Throttled,
            ErrorClass::ServerFault | ErrorClass::Timeout | ErrorClass::Transport => Self::ServiceFault,
            _ => Self::Other,
        }
    }
}

/// A classified `GetCostForecast` failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.reason())]
pub struct ForecastUnavailable {
    /// The class.
    pub failure: ForecastFailure,
    /// The service's code and message, the HTTP status, or the transport problem.
    pub detail: String,
}

impl ForecastUnavailable {
    /// Sorts an SDK error into its [`ForecastFailure`] class.
    #[must_use]
    pub fn from_sdk(err: SdkError<GetCostForecastError, HttpResponse>) -> Self {
        // The raw body, for an emulator's plain-text "not implemented" that has no code.
        let body = err
            .raw_response()
            .and_then(|r| r.body().bytes())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let modeled_data_unavailable = matches!(
            err.as_service_error(),
            Some(GetCostForecastError::DataUnavailableException(_))
        );
        let e = AwsCallError::from_sdk("CostExplorer", "GetCostForecast", err);
        let Some(status) = e.status() else {
            // No answer at all: a time-out or a reset passes; no credentials or a request the SDK
            // could not build does not.
            let failure = if e.is_retryable() {
                ForecastFailure::ServiceFault
            } else {
                ForecastFailure::Other
            };
            return Self {
                failure,
                detail: e.summary(),
            };
        };
        let failure = if modeled_data_unavailable {
            ForecastFailure::DataUnavailable
        } else {
            ForecastFailure::from_answer(e.code(), status, e.message().unwrap_or(&body))
        };
        let detail = match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            (None, _) => format!("HTTP {status} with no AWS error code"),
        };
        Self { failure, detail }
    }

    /// What happened, in plain words, for the report's note.
    ///
    /// ```
    /// use governance::cost_pass::forecast::{ForecastFailure, ForecastUnavailable};
    /// let u = ForecastUnavailable { failure: ForecastFailure::NotImplemented, detail: "HTTP 501".into() };
    /// assert_eq!(u.reason(), "the endpoint does not implement GetCostForecast");
    /// ```
    #[must_use]
    pub fn reason(&self) -> String {
        match self.failure {
            ForecastFailure::NotImplemented => "the endpoint does not implement GetCostForecast".to_owned(),
            ForecastFailure::DataUnavailable => {
                "Cost Explorer has too little data to forecast yet, as early in the month or on a new account"
                    .to_owned()
            }
            ForecastFailure::AccessDenied => format!(
                "access denied: the role needs ce:GetCostForecast ({})",
                self.detail
            ),
            ForecastFailure::Throttled => format!(
                "Cost Explorer throttled the request ({}); the next run asks again",
                self.detail
            ),
            ForecastFailure::ServiceFault => format!(
                "Cost Explorer failed or did not answer ({}); the next run asks again",
                self.detail
            ),
            ForecastFailure::Other => format!("GetCostForecast failed: {}", self.detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sdk_costexplorer::config::{BehaviorVersion, Region};
    use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, mock};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    /// A real Cost Explorer client whose one `GetCostForecast` is answered with this raw HTTP response:
    /// the SDK's own deserializer reads the error, as it would from AWS.
    async fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> ForecastUnavailable {
        let (status_code, body, headers) = (
            StatusCode::try_from(status).unwrap(),
            body.to_owned(),
            headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>(),
        );
        let rule = mock!(aws_sdk_costexplorer::Client::get_cost_forecast).then_http_response(move || {
            let mut r = HttpResponse::new(status_code, SdkBody::from(body.clone()));
            for (k, v) in &headers {
                r.headers_mut().insert(k.clone(), v.clone());
            }
            r
        });
        let conf = aws_sdk_costexplorer::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
            .http_client(aws_smithy_mocks::create_mock_http_client())
            .interceptor(
                MockResponseInterceptor::new()
                    .rule_mode(RuleMode::MatchAny)
                    .with_rule(&rule),
            )
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        let client = aws_sdk_costexplorer::Client::from_conf(conf);
        let err = client
            .get_cost_forecast()
            .time_period(
                aws_sdk_costexplorer::types::DateInterval::builder()
                    .start("2026-11-21")
                    .end("2026-12-01")
                    .build()
                    .unwrap(),
            )
            .metric(aws_sdk_costexplorer::types::Metric::UnblendedCost)
            .granularity(aws_sdk_costexplorer::types::Granularity::Monthly)
            .send()
            .await
            .unwrap_err();
        ForecastUnavailable::from_sdk(err)
    }

    const JSON: (&str, &str) = ("content-type", "application/x-amz-json-1.1");

    #[tokio::test]
    async fn aws_unknown_operation_and_emulator_501_are_not_implemented() {
        let aws = answer(
            400,
            &[JSON],
            r#"{"__type":"com.amazon.coral.service#UnknownOperationException","message":""}"#,
        )
        .await;
        assert_eq!(aws.failure, ForecastFailure::NotImplemented, "{aws:?}");
        // LocalStack-style: 501 with a generic code.
        let emulator = answer(
            501,
            &[JSON],
            r#"{"__type":"InternalFailure","message":"API action 'GetCostForecast' for service 'ce' not yet implemented"}"#,
        )
        .await;
        assert_eq!(emulator.failure, ForecastFailure::NotImplemented, "{emulator:?}");
        // A plain-text body saying so (moto's NotImplementedError text), no code.
        let text = answer(
            500,
            &[],
            "NotImplementedError: The get_cost_forecast action has not been implemented",
        )
        .await;
        assert_eq!(text.failure, ForecastFailure::NotImplemented, "{text:?}");
        assert_eq!(text.reason(), "the endpoint does not implement GetCostForecast");
    }

    #[tokio::test]
    async fn data_unavailable_is_early_in_the_month() {
        let u = answer(
            400,
            &[JSON],
            r#"{"__type":"DataUnavailableException","Message":"Insufficient amount of historical data to generate forecast."}"#,
        )
        .await;
        assert_eq!(u.failure, ForecastFailure::DataUnavailable, "{u:?}");
        assert!(
            u.detail.contains("Insufficient amount of historical data"),
            "{u:?}"
        );
        assert!(
            u.reason().contains("too little data to forecast yet"),
            "{}",
            u.reason()
        );
    }

    #[tokio::test]
    async fn access_denied_names_the_permission() {
        let u = answer(
            400,
            &[JSON, ("x-amzn-errortype", "AccessDeniedException:")],
            r#"{"Message":"User: arn:aws:sts::123456789012:assumed-role/gov/x is not authorized to perform: ce:GetCostForecast"}"#,
        )
        .await;
        assert_eq!(u.failure, ForecastFailure::AccessDenied, "{u:?}");
        assert!(
            u.reason()
                .starts_with("access denied: the role needs ce:GetCostForecast (")
        );
        assert!(u.reason().contains("not authorized to perform"), "{}", u.reason());
        // A bare 403 without a code is access denied too.
        assert_eq!(answer(403, &[], "").await.failure, ForecastFailure::AccessDenied);
    }

    #[tokio::test]
    async fn limit_exceeded_and_429_are_throttling() {
        let u = answer(
            400,
            &[JSON],
            r#"{"__type":"LimitExceededException","Message":"Rate exceeded"}"#,
        )
        .await;
        assert_eq!(u.failure, ForecastFailure::Throttled, "{u:?}");
        assert_eq!(
            u.reason(),
            "Cost Explorer throttled the request (LimitExceededException: Rate exceeded); the next run asks again"
        );
        assert_eq!(answer(429, &[], "").await.failure, ForecastFailure::Throttled);
    }

    #[tokio::test]
    async fn anything_else_keeps_its_detail() {
        // moto's answer today: a Werkzeug 500 page, no code, no hint of what is missing.
        let html = answer(
            500,
            &[("content-type", "text/html; charset=utf-8")],
            "<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>",
        )
        .await;
        assert_eq!(html.failure, ForecastFailure::ServiceFault, "{html:?}");
        assert_eq!(
            html.reason(),
            "Cost Explorer failed or did not answer (HTTP 500 with no AWS error code); the next run asks again"
        );
        let other = answer(
            400,
            &[JSON],
            r#"{"__type":"ValidationException","Message":"Start date must be before end date"}"#,
        )
        .await;
        assert_eq!(other.failure, ForecastFailure::Other);
        assert_eq!(
            other.reason(),
            "GetCostForecast failed: ValidationException: Start date must be before end date"
        );
    }

    #[test]
    fn a_code_wins_over_status_and_status_over_text() {
        use ForecastFailure as F;
        assert_eq!(
            F::from_answer(Some("ThrottlingException"), 501, "not implemented"),
            F::Throttled
        );
        assert_eq!(F::from_answer(None, 403, "not implemented"), F::AccessDenied);
        assert_eq!(
            F::from_answer(Some("Whatever"), 200, "Not Yet Implemented"),
            F::NotImplemented
        );
        assert_eq!(F::from_answer(Some("Whatever"), 500, "boom"), F::ServiceFault);
        assert_eq!(
            F::from_answer(Some("ValidationException"), 400, "bad dates"),
            F::Other
        );
    }

    #[tokio::test]
    async fn no_answer_says_what_went_wrong() {
        let conf = aws_sdk_costexplorer::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:1")
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        let err = aws_sdk_costexplorer::Client::from_conf(conf)
            .get_cost_forecast()
            .send()
            .await
            .unwrap_err();
        let u = ForecastUnavailable::from_sdk(err);
        assert_eq!(u.failure, ForecastFailure::Other);
        assert_eq!(u.reason(), "GetCostForecast failed: no AWS credentials found");
    }
}
