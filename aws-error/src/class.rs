//! The classes an AWS call failure falls into, what failed below HTTP when no answer came, and the
//! X-Ray flags each class sets.
//!
//! X-Ray's rules (<https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html#api-segmentdocuments-errors>):
//! `error` for a client error (4xx), `throttle` for a throttled request (429, and the services'
//! throttling codes), `fault` for a server error (5xx) — and a call that got no answer at all is a fault.

use std::fmt;

/// What kind of failure an AWS call ended in. Retries, X-Ray flags, report notes and doctor's advice all
/// read this one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The service asked us to slow down (a throttling code, or HTTP 429).
    Throttled,
    /// The caller may not do this, or its credentials were rejected (403, `AccessDenied…`,
    /// `UnrecognizedClientException`, `ExpiredToken`).
    AccessDenied,
    /// The named resource does not exist (`ResourceNotFoundException`, `NoSuchKey`, 404).
    NotFound,
    /// The endpoint does not implement the operation (501, an emulator's "not implemented").
    NotImplemented,
    /// The service failed (5xx, `InternalServerError`, `ServiceUnavailable`).
    ServerFault,
    /// The service rejected the request as invalid (any other 4xx; or the SDK could not build it).
    ClientFault,
    /// No answer in time (the SDK's operation/attempt timeouts, connect/read timeouts, `RequestTimeout`).
    Timeout,
    /// The request never got an answer: no credentials, DNS, connection refused or reset, TLS, or an
    /// unreadable response. [`TransportProblem`] says which.
    Transport,
}

impl ErrorClass {
    /// Every class, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Throttled,
        Self::AccessDenied,
        Self::NotFound,
        Self::NotImplemented,
        Self::ServerFault,
        Self::ClientFault,
        Self::Timeout,
        Self::Transport,
    ];

    /// A stable snake_case name for logs, JSON and metrics dimensions.
    ///
    /// ```
    /// assert_eq!(aws_error::ErrorClass::AccessDenied.as_str(), "access_denied");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Throttled => "throttled",
            Self::AccessDenied => "access_denied",
            Self::NotFound => "not_found",
            Self::NotImplemented => "not_implemented",
            Self::ServerFault => "server_fault",
            Self::ClientFault => "client_fault",
            Self::Timeout => "timeout",
            Self::Transport => "transport",
        }
    }

    /// Whether the same call may succeed if made again later: throttles, server faults, timeouts and
    /// transport failures (the SDK's standard retry mode retries the same). A transport failure caused
    /// by missing or broken credentials is not: see [`TransportProblem::is_retryable`].
    #[must_use]
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Throttled | Self::ServerFault | Self::Timeout | Self::Transport
        )
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request got no answer ([`ErrorClass::Transport`]), or why it timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportProblem {
    /// The credentials provider chain found no credentials, or the client has no credentials provider.
    NoCredentials,
    /// A credentials provider failed (a bad profile, an expired SSO session, an unreachable IMDS).
    CredentialsProviderFailed,
    /// The endpoint's host name did not resolve.
    Dns,
    /// Nothing listens at the endpoint's address and port.
    ConnectionRefused,
    /// The TLS handshake failed (plain HTTP on the port, or an untrusted certificate).
    Tls,
    /// The connection was reset or closed before an answer.
    ConnectionClosed,
    /// A response came but the SDK could not read it.
    UnreadableResponse,
    /// The connect, read or operation timeout elapsed.
    TimedOut,
    /// Any other I/O or dispatch failure.
    Other,
}

impl TransportProblem {
    /// Whether retrying can help: not when credentials are missing or broken (they stay so).
    #[must_use]
    pub const fn is_retryable(self) -> bool {
        !matches!(self, Self::NoCredentials | Self::CredentialsProviderFailed)
    }

    /// A short name (`no_credentials`, `dns`, …).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NoCredentials => "no_credentials",
            Self::CredentialsProviderFailed => "credentials_provider_failed",
            Self::Dns => "dns",
            Self::ConnectionRefused => "connection_refused",
            Self::Tls => "tls",
            Self::ConnectionClosed => "connection_closed",
            Self::UnreadableResponse => "unreadable_response",
            Self::TimedOut => "timed_out",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for TransportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three flags of an X-Ray (sub)segment for a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XrayFlags {
    /// A client error (4xx), including a throttle.
    pub error: bool,
    /// The request was throttled.
    pub throttle: bool,
    /// A server error (5xx) or no answer at all.
    pub fault: bool,
}

impl XrayFlags {
    /// The flags for a failure of `class`, with the HTTP status when an answer came.
    ///
    /// ```
    /// use aws_error::{ErrorClass, XrayFlags};
    /// let f = XrayFlags::of(ErrorClass::Throttled, Some(400));
    /// assert!(f.error && f.throttle && !f.fault);
    /// assert!(XrayFlags::of(ErrorClass::ServerFault, Some(500)).fault);
    /// assert!(XrayFlags::of(ErrorClass::Transport, None).fault);
    /// ```
    #[must_use]
    pub const fn of(class: ErrorClass, status: Option<u16>) -> Self {
        match class {
            // A throttle is an error the caller must handle, never the service's fault (S3's SlowDown
            // is a 503 but a throttle).
            ErrorClass::Throttled => Self {
                error: true,
                throttle: true,
                fault: false,
            },
            ErrorClass::ServerFault | ErrorClass::Timeout | ErrorClass::Transport => Self {
                error: false,
                throttle: false,
                fault: true,
            },
            ErrorClass::AccessDenied
            | ErrorClass::NotFound
            | ErrorClass::NotImplemented
            | ErrorClass::ClientFault => {
                // A 501 (not implemented) is still a 5xx for X-Ray.
                let fault = matches!(status, Some(500..=599));
                Self {
                    error: !fault,
                    throttle: false,
                    fault,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_classes_are_what_the_standard_retry_mode_retries() {
        let retryable: Vec<_> = ErrorClass::ALL.into_iter().filter(|c| c.is_retryable()).collect();
        assert_eq!(
            retryable,
            [
                ErrorClass::Throttled,
                ErrorClass::ServerFault,
                ErrorClass::Timeout,
                ErrorClass::Transport
            ]
        );
        assert!(!TransportProblem::NoCredentials.is_retryable());
        assert!(TransportProblem::ConnectionRefused.is_retryable());
    }

    #[test]
    fn xray_flags_follow_the_segment_document_rules() {
        let f = |c, s| {
            let x = XrayFlags::of(c, s);
            (x.error, x.throttle, x.fault)
        };
        assert_eq!(f(ErrorClass::Throttled, Some(429)), (true, true, false));
        assert_eq!(f(ErrorClass::Throttled, Some(503)), (true, true, false));
        assert_eq!(f(ErrorClass::NotFound, Some(400)), (true, false, false));
        assert_eq!(f(ErrorClass::AccessDenied, Some(403)), (true, false, false));
        assert_eq!(f(ErrorClass::NotImplemented, Some(501)), (false, false, true));
        assert_eq!(f(ErrorClass::NotImplemented, Some(400)), (true, false, false));
        assert_eq!(f(ErrorClass::ServerFault, Some(500)), (false, false, true));
        assert_eq!(f(ErrorClass::Timeout, None), (false, false, true));
        assert_eq!(f(ErrorClass::Transport, None), (false, false, true));
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<_> = ErrorClass::ALL.iter().map(|c| c.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), 8);
    }
}
