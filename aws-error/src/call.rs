//! [`AwsCallError`]: one failed AWS call — which service and operation, what the service answered (code,
//! message, HTTP status, request id) or why no answer came, its [`ErrorClass`], and the SDK error kept as
//! the source.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::{DispatchFailure, SdkError};
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::codes::{classify_answer, is_credentials_rejected_code};
use crate::response::{ErrorAnswer, request_id};
use crate::{ErrorClass, TransportProblem, XrayFlags};

/// A raw response an [`SdkError`] carries: its status, what its body says, its request id. Implemented
/// for the SDK's `HttpResponse`, so [`AwsCallError::from_sdk`] takes any client's errors.
pub trait RawAnswer {
    /// The HTTP status.
    fn status(&self) -> u16;
    /// The error code and message read from headers and body.
    fn answer(&self) -> ErrorAnswer;
    /// The request id AWS gave the call.
    fn request_id(&self) -> Option<&str>;
}

impl RawAnswer for Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
    fn answer(&self) -> ErrorAnswer {
        ErrorAnswer::of(self)
    }
    fn request_id(&self) -> Option<&str> {
        request_id(self)
    }
}

/// One failed AWS call, classified once. Its [`source`](StdError::source) is the SDK error itself.
///
/// ```no_run
/// # async fn f(client: aws_sdk_dynamodb::Client) -> Result<(), aws_error::AwsCallError> {
/// use aws_error::AwsCallError;
/// client.list_tables().send().await.map_err(AwsCallError::of("DynamoDB", "ListTables"))?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AwsCallError {
    service: String,
    operation: String,
    class: ErrorClass,
    transport: Option<TransportProblem>,
    code: Option<String>,
    message: Option<String>,
    status: Option<u16>,
    request_id: Option<String>,
    detail: Option<String>,
    source: Arc<dyn StdError + Send + Sync>,
}

impl AwsCallError {
    /// Classifies `err`, the failure of `service`'s `operation` (names as the SDK's operation metadata
    /// spells them: `DynamoDB`/`GetItem`, `CostExplorer`/`GetCostForecast`).
    #[must_use]
    pub fn from_sdk<E, R>(
        service: impl Into<String>,
        operation: impl Into<String>,
        err: SdkError<E, R>,
    ) -> Self
    where
        E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
        R: RawAnswer + fmt::Debug + Send + Sync + 'static,
    {
        let mut e = Facts::default();
        match &err {
            SdkError::ServiceError(s) => {
                let raw = s.raw();
                let answer = raw.answer();
                e.code = s.err().code().map(str::to_owned).or(answer.code);
                e.message = s.err().message().map(str::to_owned).or(answer.message);
                e.status = Some(raw.status());
                e.request_id = raw
                    .request_id()
                    .or_else(|| s.err().meta().extra("aws_request_id"))
                    .map(str::to_owned);
                e.class = classify_answer(raw.status(), e.code.as_deref(), e.message.as_deref());
            }
            SdkError::ResponseError(r) => {
                let raw = r.raw();
                let status = raw.status();
                e.status = Some(status);
                e.request_id = raw.request_id().map(str::to_owned);
                if status >= 400 {
                    let answer = raw.answer();
                    e.class = classify_answer(status, answer.code.as_deref(), answer.message.as_deref());
                    e.code = answer.code;
                    e.message = answer.message;
                } else {
                    e.transport = Some(TransportProblem::UnreadableResponse);
                }
                e.detail = deepest_cause(&err);
            }
            SdkError::TimeoutError(_) => {
                e.class = ErrorClass::Timeout;
                e.transport = Some(TransportProblem::TimedOut);
                e.detail = deepest_cause(&err);
            }
            SdkError::DispatchFailure(d) => {
                let problem = dispatch_problem(d, &err);
                e.class = if problem == TransportProblem::TimedOut {
                    ErrorClass::Timeout
                } else {
                    ErrorClass::Transport
                };
                e.transport = Some(problem);
                e.detail = deepest_cause(&err);
            }
            // A request the SDK could not build (a missing required field, an invalid endpoint), or
            // credentials that failed while it was being built.
            _ => {
                match chain_problem(&err) {
                    Some(
                        p @ (TransportProblem::NoCredentials | TransportProblem::CredentialsProviderFailed),
                    ) => {
                        e.transport = Some(p);
                    }
                    _ => e.class = ErrorClass::ClientFault,
                }
                e.detail = deepest_cause(&err);
            }
        }
        Self {
            service: service.into(),
            operation: operation.into(),
            class: e.class,
            transport: e.transport,
            code: e.code,
            message: e.message,
            status: e.status,
            request_id: e.request_id,
            detail: e.detail,
            source: Arc::new(err),
        }
    }

    /// `map_err(AwsCallError::of("SNS", "Publish"))`: [`from_sdk`](Self::from_sdk) as a closure.
    pub fn of<E, R>(service: &'static str, operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> Self
    where
        E: StdError + ProvideErrorMetadata + Send + Sync + 'static,
        R: RawAnswer + fmt::Debug + Send + Sync + 'static,
    {
        move |err| Self::from_sdk(service, operation, err)
    }

    /// The same failure, classified as `class`: for a caller that knows more than the HTTP answer says
    /// (DynamoDB's `TransactionCanceledException` is a 400, but cancelled for contention —
    /// `TransactionConflict`, `ThrottlingError` — it is throttling, and a retry can succeed).
    ///
    /// ```
    /// # use aws_error::{AwsCallError, ErrorClass};
    /// # fn demo(e: AwsCallError) {
    /// let e = e.with_class(ErrorClass::Throttled);
    /// assert!(e.is_retryable());
    /// # }
    /// ```
    #[must_use]
    pub fn with_class(mut self, class: ErrorClass) -> Self {
        self.class = class;
        self
    }

    /// The service (`DynamoDB`).
    #[must_use]
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The operation (`GetItem`).
    #[must_use]
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The class.
    #[must_use]
    pub const fn class(&self) -> ErrorClass {
        self.class
    }

    /// Why no answer came (or the timeout), when that is what happened.
    #[must_use]
    pub const fn transport_problem(&self) -> Option<TransportProblem> {
        self.transport
    }

    /// The service's error code, bare (`ThrottlingException`).
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The service's message.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The HTTP status, when a response came.
    #[must_use]
    pub const fn status(&self) -> Option<u16> {
        self.status
    }

    /// The request id AWS gave the call, for a support case or a CloudTrail search.
    #[must_use]
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether the same call may succeed later (see [`ErrorClass::is_retryable`]); missing or broken
    /// credentials never are.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.class.is_retryable() && self.transport.is_none_or(TransportProblem::is_retryable)
    }

    /// Whether the service throttled the call (X-Ray `throttle`).
    #[must_use]
    pub fn is_throttle(&self) -> bool {
        self.class == ErrorClass::Throttled
    }

    /// Whether X-Ray counts it as a fault: a 5xx that is not a throttle, or no answer at all.
    #[must_use]
    pub fn is_fault(&self) -> bool {
        self.xray_flags().fault
    }

    /// The X-Ray flags of the call.
    #[must_use]
    pub fn xray_flags(&self) -> XrayFlags {
        XrayFlags::of(self.class, self.status)
    }

    /// The SDK error this was built from, as its concrete type — to match a modeled error variant.
    #[must_use]
    pub fn sdk_error<E, R>(&self) -> Option<&SdkError<E, R>>
    where
        E: StdError + 'static,
        R: fmt::Debug + 'static,
    {
        self.source.downcast_ref::<SdkError<E, R>>()
    }

    /// The IAM action the caller lacks, for an access-denied answer: the one the service named in its
    /// message ("… is not authorized to perform: ce:GetCostForecast …"), else the one the operation
    /// needs (`service:Operation`, with the exceptions where IAM names it differently). `None` for
    /// other classes and for rejected credentials (no permission would fix those).
    ///
    /// ```
    /// # use aws_error::AwsCallError;
    /// # fn f(e: &AwsCallError) {
    /// if let Some(action) = e.iam_action() {
    ///     println!("the role needs {action}");
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn iam_action(&self) -> Option<String> {
        if self.class != ErrorClass::AccessDenied
            || self.code.as_deref().is_some_and(is_credentials_rejected_code)
        {
            return None;
        }
        if let Some(named) = self.message.as_deref().and_then(action_in_message) {
            return Some(named.to_owned());
        }
        crate::advice::iam_action(&self.service, &self.operation)
    }

    /// What is wrong and what to do, in plain words, for an operator (doctor's ✗ lines, report notes).
    #[must_use]
    pub fn advice(&self) -> String {
        crate::advice::advice(self)
    }

    /// The lowest-level cause's text for a failure without an answer (`Connection refused (os error 111)`).
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Debug for AwsCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCallError")
            .field("service", &self.service)
            .field("operation", &self.operation)
            .field("class", &self.class)
            .field("transport", &self.transport)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("status", &self.status)
            .field("request_id", &self.request_id)
            .field("detail", &self.detail)
            .finish_non_exhaustive()
    }
}

/// Two call errors are equal when they report the same call and the same failure; the SDK error kept
/// as the source is not compared (it has no equality).
impl PartialEq for AwsCallError {
    fn eq(&self, other: &Self) -> bool {
        self.service == other.service
            && self.operation == other.operation
            && self.class == other.class
            && self.transport == other.transport
            && self.code == other.code
            && self.message == other.message
            && self.status == other.status
            && self.request_id == other.request_id
            && self.detail == other.detail
    }
}

impl Eq for AwsCallError {}

impl fmt::Display for AwsCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.service, self.operation, self.summary())
    }
}

impl StdError for AwsCallError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

impl AwsCallError {
    /// What happened in one line, without the service and operation (`ThrottlingException: Rate
    /// exceeded (HTTP 400, request id …)`, `no AWS credentials found`, `DNS lookup failed: …`).
    #[must_use]
    pub fn summary(&self) -> String {
        if let Some(problem) = self.transport {
            let words = match problem {
                TransportProblem::NoCredentials => return "no AWS credentials found".to_owned(),
                TransportProblem::CredentialsProviderFailed => "the credentials provider failed",
                TransportProblem::Dns => "DNS lookup failed",
                TransportProblem::ConnectionRefused => "endpoint unreachable (connection refused)",
                TransportProblem::Tls => "TLS handshake failed",
                TransportProblem::ConnectionClosed => "the connection was closed before an answer",
                TransportProblem::UnreadableResponse => "unreadable response",
                TransportProblem::TimedOut => "timed out",
                TransportProblem::Other => "the request could not be sent",
            };
            return match &self.detail {
                Some(d) => format!("{words}: {d}"),
                None => words.to_owned(),
            };
        }
        let status = match (self.status, &self.request_id) {
            (Some(s), Some(id)) => format!(" (HTTP {s}, request id {id})"),
            (Some(s), None) => format!(" (HTTP {s})"),
            (None, _) => String::new(),
        };
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => format!("{c}: {m}{status}"),
            (Some(c), None) => format!("{c}{status}"),
            (None, Some(m)) => format!("{m}{status}"),
            (None, None) => match (self.status, &self.detail) {
                (Some(s), _) => format!("HTTP {s} with no AWS error code"),
                (None, Some(d)) => d.clone(),
                (None, None) => self.class.as_str().to_owned(),
            },
        }
    }
}

/// What classification found, before the error is moved into the source.
struct Facts {
    class: ErrorClass,
    transport: Option<TransportProblem>,
    code: Option<String>,
    message: Option<String>,
    status: Option<u16>,
    request_id: Option<String>,
    detail: Option<String>,
}

impl Default for Facts {
    fn default() -> Self {
        Self {
            class: ErrorClass::Transport,
            transport: None,
            code: None,
            message: None,
            status: None,
            request_id: None,
            detail: None,
        }
    }
}

/// `perform: ce:GetCostForecast` (IAM's wording in every access-denied message).
fn action_in_message(message: &str) -> Option<&str> {
    let at = message.find("perform: ")? + "perform: ".len();
    let action = message[at..]
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .next()?
        .trim_end_matches('.');
    action.contains(':').then_some(action)
}

/// The error chain below `err`, outermost first.
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| (*e).source())
}

/// What the chain says about credentials, DNS, connections and TLS (types where they are public,
/// otherwise the texts hyper-util and smithy-runtime use: "dns error", "TLS handshake failed", "no
/// identity resolver").
fn chain_problem(err: &(dyn StdError + 'static)) -> Option<TransportProblem> {
    for e in chain(err) {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(match c {
                CredentialsError::CredentialsNotLoaded(_) => TransportProblem::NoCredentials,
                _ => TransportProblem::CredentialsProviderFailed,
            });
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            match io.kind() {
                ErrorKind::ConnectionRefused => return Some(TransportProblem::ConnectionRefused),
                ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof => return Some(TransportProblem::ConnectionClosed),
                ErrorKind::TimedOut => return Some(TransportProblem::TimedOut),
                _ => {}
            }
        }
        let text = e.to_string();
        if text.contains("no identity resolver") {
            return Some(TransportProblem::NoCredentials);
        }
        if text == "dns error" || text.contains("failed to lookup address") {
            return Some(TransportProblem::Dns);
        }
        if text.contains("TLS handshake") || text.contains("invalid peer certificate") {
            return Some(TransportProblem::Tls);
        }
    }
    None
}

fn dispatch_problem(d: &DispatchFailure, err: &(dyn StdError + 'static)) -> TransportProblem {
    if d.is_timeout() {
        return TransportProblem::TimedOut;
    }
    chain_problem(err).unwrap_or(TransportProblem::Other)
}

/// The text of the lowest cause (what actually went wrong), at most 300 characters.
fn deepest_cause(err: &(dyn StdError + 'static)) -> Option<String> {
    let last = chain(err).last()?;
    let text = last.to_string();
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_names_the_action_in_its_message() {
        assert_eq!(
            action_in_message(
                "User: arn:aws:sts::123456789012:assumed-role/gov/x is not authorized to perform: ce:GetCostForecast on resource: arn:aws:ce:us-east-1:123456789012:/GetCostForecast"
            ),
            Some("ce:GetCostForecast")
        );
        assert_eq!(
            action_in_message(
                "... is not authorized to perform: dynamodb:GetItem because no identity-based policy allows the dynamodb:GetItem action"
            ),
            Some("dynamodb:GetItem")
        );
        assert_eq!(action_in_message("Access Denied"), None);
    }
}
