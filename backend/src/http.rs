//! API Gateway HTTP API (payload format 2.0) requests and responses.
//!
//! Handlers read the caller from the JWT authorizer claims, JSON bodies (base64 when
//! `isBase64Encoded`), path and query parameters; they answer with JSON. [`respond`] turns client
//! errors into 4xx answers `{"error": "Validation", "message": …, "field": …}` and lets server errors
//! through as Lambda errors (API Gateway answers 500 and the function's `Errors` metric counts them).

use crate::HandlerError;
use crate::identity::Caller;
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::HeaderValue;
use base64::Engine;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The request type of every HTTP function.
pub type Request = ApiGatewayV2httpRequest;
/// The response type of every HTTP function.
pub type Response = ApiGatewayV2httpResponse;

/// The JSON body of a 4xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorBody {
    /// The stable error type (`Validation`, `NotFound`, …).
    pub error: &'static str,
    /// A human-readable message.
    pub message: String,
    /// The offending field, for `Validation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The caller of an authenticated route.
///
/// # Errors
/// [`HandlerError::Unauthorized`] without a usable `sub` claim.
pub fn caller(req: &Request) -> Result<Caller, HandlerError> {
    let sub = req
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .and_then(|j| j.claims.get("sub"));
    Caller::from_sub(sub.map(String::as_str))
}

/// The API Gateway request id (`requestContext.requestId`), the correlation id of HTTP calls.
#[must_use]
pub fn api_request_id(req: &Request) -> Option<&str> {
    req.request_context.request_id.as_deref()
}

/// The JSON body parsed as `T`; errors name the field serde complained about.
///
/// # Errors
/// [`HandlerError::Validation`] for a missing, non-UTF-8 or malformed body.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, HandlerError> {
    let raw = req
        .body
        .as_deref()
        .ok_or_else(|| HandlerError::validation("body", "a JSON body is required"))?;
    // Refused before it is decoded or parsed: a body is a few hundred bytes, and what is not read costs
    // nothing (base64 is 4 bytes for every 3).
    let limit = if req.is_base64_encoded {
        MAX_BODY_BYTES.div_ceil(3) * 4
    } else {
        MAX_BODY_BYTES
    };
    if raw.len() > limit {
        return Err(too_large(raw.len(), req.is_base64_encoded));
    }
    let bytes = if req.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|_| HandlerError::validation("body", "not valid base64"))?
    } else {
        raw.as_bytes().to_vec()
    };
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." {
            missing_field(&inner.to_string()).unwrap_or_else(|| "body".to_owned())
        } else {
            path
        };
        // The parser's message repeats the value or key it refused (`invalid type: string "…"`,
        // `unknown field `…``): cut, so a refused body is answered and logged in a few hundred bytes.
        HandlerError::validation(
            cut(&field, MAX_ECHO_CHARS),
            cut(&inner.to_string(), MAX_ECHO_CHARS),
        )
    })?;
    // One JSON value and nothing after it (whitespace aside): `{…} {…}` is not a body.
    de.end()
        .map_err(|e| HandlerError::validation("body", format!("after the JSON value: {e}")))?;
    Ok(value)
}

/// The most bytes a JSON body may have (decoded). The largest body the API takes — a card with every
/// text at its limit and both image keys at S3's 1,024 bytes, all written as `\u` escapes — is under
/// 20 KB; API Gateway would pass up to 6 MB to the function, which would parse it, and echo it back.
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// The most characters of a field path or a parser message a 400 repeats (answered and logged).
const MAX_ECHO_CHARS: usize = 200;

fn too_large(len: usize, base64: bool) -> HandlerError {
    HandlerError::validation(
        "body",
        format!(
            "{len} bytes{}; at most {MAX_BODY_BYTES} are accepted",
            if base64 { " of base64" } else { "" }
        ),
    )
}

/// `s` cut to `max` characters, ending in `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// serde reports a missing field at the parent path; pull the field's name out of its message.
fn missing_field(msg: &str) -> Option<String> {
    let rest = msg.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// A path parameter (`{id}` in `/cards/{id}`).
///
/// # Errors
/// [`HandlerError::Validation`] naming the parameter when it is absent.
pub fn path_param<'a>(req: &'a Request, name: &str) -> Result<&'a str, HandlerError> {
    req.path_parameters
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| HandlerError::validation(name, "missing path parameter"))
}

/// A query string parameter, if present.
#[must_use]
pub fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters.first(name)
}

/// A JSON response with `status`.
#[must_use]
pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut r = Response::default();
    r.status_code = i64::from(status);
    r.headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    r.body = Some(Body::Text(text));
    r
}

/// A response with no body (`204`).
#[must_use]
pub fn empty(status: u16) -> Response {
    let mut r = Response::default();
    r.status_code = i64::from(status);
    r
}

/// The 4xx answer for a client error; a [`HandlerError::TooManyRequests`] carries `Retry-After`
/// (delay-seconds, RFC 9110 §10.2.3).
///
/// ```
/// use backend::{HandlerError, http};
/// let r = http::error_response(&HandlerError::TooManyRequests { message: "daily limit".into(), retry_after_secs: 30 });
/// assert_eq!((r.status_code, r.headers["retry-after"].to_str().unwrap()), (429, "30"));
/// ```
#[must_use]
pub fn error_response(e: &HandlerError) -> Response {
    let (message, field) = match e {
        HandlerError::Validation { field, message } => (message.clone(), Some(field.clone())),
        HandlerError::TooManyRequests { message, .. } => (message.clone(), None),
        other => (other.to_string(), None),
    };
    let mut r = json(
        e.http_status(),
        &ErrorBody {
            error: e.error_type(),
            message,
            field,
        },
    );
    if let HandlerError::TooManyRequests { retry_after_secs, .. } = e {
        r.headers
            .insert("retry-after", HeaderValue::from(*retry_after_secs));
    }
    r
}

/// Client errors → 4xx responses; server errors stay errors (Lambda error, API Gateway 500).
///
/// ```
/// use backend::{HandlerError, http};
/// let r = http::respond(Err(HandlerError::validation("name", "required"))).unwrap();
/// assert_eq!(r.status_code, 400);
/// assert!(http::respond(Err(HandlerError::Retryable("throttled".into()))).is_err());
/// ```
///
/// # Errors
/// The server-side [`HandlerError`]s (`Retryable`, `Internal`).
pub fn respond(result: Result<Response, HandlerError>) -> Result<Response, HandlerError> {
    match result {
        Ok(r) => Ok(r),
        Err(e) if e.is_client_error() => Ok(error_response(&e)),
        Err(e) => Err(e),
    }
}

/// Maps client errors to answers ([`respond`]) and writes the request's summary line.
pub fn finish(
    log: crate::obs::RequestLog,
    result: Result<Response, HandlerError>,
) -> Result<Response, HandlerError> {
    let result = respond(result);
    let status = match &result {
        Ok(r) => Ok(u16::try_from(r.status_code).unwrap_or(500)),
        Err(e) => Err(e.clone()),
    };
    log.finish_http(&status);
    result
}

/// The `{id}` path parameter as a card id (a UUID, lower-cased).
///
/// # Errors
/// [`HandlerError::Validation`] on field `id`.
pub fn card_id(req: &Request) -> Result<String, HandlerError> {
    let raw = path_param(req, "id")?;
    uuid::Uuid::parse_str(raw)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| HandlerError::validation("id", "must be a card id (UUID)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn req(body: Option<&str>, b64: bool) -> Request {
        let mut r: Request =
            serde_json::from_str(include_str!("../../tests/fixtures/apigw_v2_cards_create.json")).unwrap();
        r.body = body.map(str::to_owned);
        r.is_base64_encoded = b64;
        r
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct In {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        year: Option<u16>,
    }

    #[test]
    fn caller_comes_from_jwt_claims() {
        assert_eq!(
            caller(&req(None, false)).unwrap().sub,
            "7d3a1f2e-5b6c-4d8e-9f00-1a2b3c4d5e6f"
        );
        let mut r = req(None, false);
        r.request_context.authorizer = None;
        assert!(matches!(caller(&r), Err(HandlerError::Unauthorized(_))));
    }

    #[test]
    fn body_errors_name_the_field() {
        let e = json_body::<In>(&req(Some(r#"{"year": 1999}"#), false)).unwrap_err();
        assert_eq!(
            e,
            HandlerError::validation("name", "missing field `name` at line 1 column 14")
        );
        let e = json_body::<In>(&req(Some(r#"{"name": "x", "year": "old"}"#), false)).unwrap_err();
        assert!(matches!(e, HandlerError::Validation { ref field, .. } if field == "year"));
        let e = json_body::<In>(&req(None, false)).unwrap_err();
        assert!(matches!(e, HandlerError::Validation { ref field, .. } if field == "body"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(r#"{"name":"x"}"#);
        assert!(json_body::<In>(&req(Some(&b64), true)).is_ok());
        let e = json_body::<In>(&req(Some("%%"), true)).unwrap_err();
        assert!(matches!(e, HandlerError::Validation { ref field, .. } if field == "body"));
    }

    /// A refused body is answered (and logged) in a few hundred bytes, whatever it held: a 250 KB
    /// string where a number goes, a 250 KB unknown key, a 6 MB body (refused before it is parsed).
    #[test]
    fn a_refused_body_is_not_echoed_back() {
        let long = "A".repeat(250_000);
        for body in [
            format!(r#"{{"name":"x","year":"{long}"}}"#),
            format!(r#"{{"name":"x","{long}":1}}"#),
            format!(r#"{{"name":"x","year":{{"{long}":1}}}}"#),
        ] {
            let mut r = req(Some(&body), false);
            // Under the size limit the parser sees it; over it, it is refused unread.
            for limit in [false, true] {
                if !limit {
                    r.body = Some(body.replace(&long, &"A".repeat(20_000)));
                } else {
                    r.body = Some(body.clone());
                }
                let e = json_body::<In>(&r).unwrap_err();
                let HandlerError::Validation { field, message } = &e else {
                    panic!("{e:?}")
                };
                assert!(
                    field.chars().count() <= MAX_ECHO_CHARS + 1
                        && message.chars().count() <= MAX_ECHO_CHARS + 1,
                    "{field} / {message}"
                );
                let answer = respond(Err(e.clone())).unwrap();
                let Some(Body::Text(t)) = answer.body else {
                    panic!("text body")
                };
                assert!(t.len() < 1_000, "{} bytes", t.len());
                if limit {
                    assert_eq!(field, "body");
                    assert!(message.contains("at most 32768"), "{message}");
                }
            }
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!(r#"{{"name":"{long}"}}"#));
        let e = json_body::<In>(&req(Some(&b64), true)).unwrap_err();
        assert!(e.to_string().contains("bytes of base64"), "{e}");
        // The largest body the API takes fits: every character written as a `\u` escape.
        let escaped: String = "é"
            .repeat(2_000)
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        assert!(json_body::<In>(&req(Some(&format!(r#"{{"name":"{escaped}"}}"#)), false)).is_ok());
    }

    #[test]
    fn a_body_is_one_json_value_and_nothing_after_it() {
        assert!(json_body::<In>(&req(Some("{\"name\":\"x\"}\n  "), false)).is_ok());
        for body in [
            r#"{"name":"x"} {"name":"y"}"#,
            r#"{"name":"x"}garbage"#,
            r#"{"name":"x"}]"#,
        ] {
            let e = json_body::<In>(&req(Some(body), false)).unwrap_err();
            assert!(
                matches!(&e, HandlerError::Validation { field, message } if field == "body" && message.contains("trailing")),
                "{body}: {e:?}"
            );
        }
    }

    #[test]
    fn client_errors_become_json_answers() {
        let r = respond(Err(HandlerError::validation("contentType", "not allowed"))).unwrap();
        assert_eq!(r.status_code, 400);
        assert_eq!(r.headers["content-type"], "application/json");
        let Some(Body::Text(t)) = r.body else {
            panic!("text body")
        };
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": "Validation", "message": "not allowed", "field": "contentType"})
        );
        let r = respond(Err(HandlerError::NotFound("card".into()))).unwrap();
        assert_eq!(r.status_code, 404);
        assert!(respond(Err(HandlerError::Internal("x".into()))).is_err());
    }
}
