//! The error code, message and request id of a raw AWS HTTP error response, whatever the protocol —
//! for code that sees the response but not the SDK's parsed error (an interceptor, a replay test).
//!
//! Where each protocol puts the code (Smithy protocol specs,
//! <https://smithy.io/2.0/aws/protocols/index.html>):
//! - awsJson1.0/1.1 (DynamoDB, Cost Explorer, Budgets, Secrets Manager, Bedrock): `__type` in the JSON body,
//!   possibly `namespace#Code`; restJson1 also in the `x-amzn-errortype` header, possibly `Code:uri`;
//! - awsQuery / restXml (SNS, SQS query, S3): `<Error><Code>…</Code><Message>…</Message></Error>`;
//! - Smithy RPCv2 CBOR (CloudWatch): `__type` in the CBOR map.
//!
//! awsQueryCompatible services also send `x-amzn-query-error: Code;Sender`, which wins.
//!
//! The request id is in `x-amzn-requestid` (JSON protocols), `x-amz-request-id` (S3) or
//! `x-amzn-request-id`.

use aws_smithy_runtime_api::http::Response;

use crate::codes::normalise_code;

/// Bodies larger than this are not parsed (error bodies are a few hundred bytes).
const MAX_PARSED_BODY: usize = 64 * 1024;

/// What an error response says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorAnswer {
    /// The bare error code (`ThrottlingException`), decoration removed.
    pub code: Option<String>,
    /// The service's message, if any.
    pub message: Option<String>,
}

impl ErrorAnswer {
    /// Reads the code and message of a raw response (headers first, then the body by its protocol).
    ///
    /// ```
    /// use aws_smithy_runtime_api::http::{Response, StatusCode};
    /// use aws_smithy_types::body::SdkBody;
    /// let r = Response::new(
    ///     StatusCode::try_from(400).unwrap(),
    ///     SdkBody::from(r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow"}"#),
    /// );
    /// let a = aws_error::ErrorAnswer::of(&r);
    /// assert_eq!(a.code.as_deref(), Some("ProvisionedThroughputExceededException"));
    /// assert_eq!(a.message.as_deref(), Some("slow"));
    /// ```
    #[must_use]
    pub fn of(response: &Response) -> Self {
        let headers = response.headers();
        let body = response
            .body()
            .bytes()
            .filter(|b| b.len() <= MAX_PARSED_BODY)
            .unwrap_or_default();
        let cbor = headers.get("content-type").is_some_and(|t| t.contains("cbor"))
            || headers.get("smithy-protocol") == Some("rpc-v2-cbor");
        let mut answer = if cbor {
            Self {
                code: cbor_text(body, "__type"),
                message: cbor_text(body, "message")
                    .or_else(|| cbor_text(body, "Message"))
                    .or_else(|| cbor_text(body, "errorMessage")),
            }
        } else {
            Self::parse_text(body)
        };
        if let Some(t) = headers.get("x-amzn-errortype").filter(|t| !t.is_empty()) {
            answer.code = Some(t.to_owned());
        }
        // awsQueryCompatible services (CloudWatch over CBOR, SQS over JSON) send the query code here, as
        // `Code;Sender`; the SDK reads it over the body's (`aws_query_compatible_errors.rs`).
        if let Some((code, _)) = headers
            .get("x-amzn-query-error")
            .and_then(|h| h.split_once(';'))
            .filter(|(c, _)| !c.is_empty())
        {
            answer.code = Some(code.to_owned());
        }
        answer.code = answer
            .code
            .map(|c| normalise_code(&c).to_owned())
            .filter(|c| !c.is_empty());
        answer
    }

    /// JSON (`__type`/`code`/`Code`, `message`/`Message`) or XML (`<Code>`, `<Message>`).
    fn parse_text(body: &[u8]) -> Self {
        let Ok(text) = std::str::from_utf8(body) else {
            return Self::default();
        };
        let text = text.trim_start();
        if text.starts_with('{') {
            #[derive(serde::Deserialize)]
            struct Json {
                #[serde(rename = "__type", alias = "code", alias = "Code")]
                code: Option<String>,
                #[serde(alias = "Message", alias = "errorMessage")]
                message: Option<String>,
            }
            return serde_json::from_str::<Json>(text).map_or_else(
                |_| Self::default(),
                |j| Self {
                    code: j.code,
                    message: j.message,
                },
            );
        }
        if text.starts_with('<') {
            return Self {
                code: xml_element(text, "Code"),
                message: xml_element(text, "Message"),
            };
        }
        Self::default()
    }
}

/// The request id AWS gave the call, from the response headers.
#[must_use]
pub fn request_id(response: &Response) -> Option<&str> {
    let headers = response.headers();
    headers
        .get("x-amzn-requestid")
        .or_else(|| headers.get("x-amz-request-id"))
        .or_else(|| headers.get("x-amzn-request-id"))
}

/// The text of the first `<name>…</name>` element (error documents are flat and small).
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    let text = xml[start..end].trim();
    (!text.is_empty()).then(|| unescape_xml(text))
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text-string value following the text-string key `key` in a CBOR document (RFC 8949 §3: major
/// type 3, length in the low five bits, or in the next 1/2/4 bytes for 24/25/26). Enough for the flat
/// error map of Smithy RPCv2 CBOR.
fn cbor_text(body: &[u8], key: &str) -> Option<String> {
    let key = key.as_bytes();
    let key_len = u8::try_from(key.len()).ok().filter(|l| *l < 24)?;
    let mut needle = vec![0x60 | key_len];
    needle.extend_from_slice(key);
    let at = body.windows(needle.len()).position(|w| w == needle.as_slice())?;
    let rest = body.get(at + needle.len()..)?;
    let (&head, rest) = rest.split_first()?;
    if head >> 5 != 3 {
        return None;
    }
    let (len, rest) = match head & 0x1f {
        n @ 0..=23 => (usize::from(n), rest),
        24 => (usize::from(*rest.first()?), rest.get(1..)?),
        25 => (
            usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            rest.get(2..)?,
        ),
        26 => (
            usize::try_from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)).ok()?,
            rest.get(4..)?,
        ),
        _ => return None,
    };
    std::str::from_utf8(rest.get(..len)?).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16, headers: &[(&str, &str)], body: impl Into<SdkBody>) -> Response {
        let mut r = Response::new(StatusCode::try_from(status).unwrap(), body.into());
        for (k, v) in headers {
            r.headers_mut().insert((*k).to_owned(), (*v).to_owned());
        }
        r
    }

    #[test]
    fn aws_json_type_with_namespace() {
        let a = ErrorAnswer::of(&response(
            400,
            &[("content-type", "application/x-amz-json-1.0")],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
        ));
        assert_eq!(a.code.as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(a.message.as_deref(), Some("Requested resource not found"));
    }

    #[test]
    fn rest_json_header_wins() {
        let a = ErrorAnswer::of(&response(
            429,
            &[(
                "x-amzn-errortype",
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            )],
            r#"{"message":"Too many requests"}"#,
        ));
        assert_eq!(a.code.as_deref(), Some("ThrottlingException"));
        assert_eq!(a.message.as_deref(), Some("Too many requests"));
    }

    #[test]
    fn query_xml_error_document() {
        // SNS Publish throttled, as the awsQuery protocol answers.
        let body = "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n  <Error>\n    \
                    <Type>Sender</Type>\n    <Code>Throttled</Code>\n    <Message>Rate exceeded &amp; more</Message>\n  \
                    </Error>\n  <RequestId>9d1c2c0e</RequestId>\n</ErrorResponse>";
        let a = ErrorAnswer::of(&response(429, &[("content-type", "text/xml")], body));
        assert_eq!(a.code.as_deref(), Some("Throttled"));
        assert_eq!(a.message.as_deref(), Some("Rate exceeded & more"));
    }

    #[test]
    fn cbor_error_map() {
        // {"__type": "com.amazonaws.cloudwatch#Throttling", "message": "Rate exceeded"} (RFC 8949).
        let mut body = vec![0xa2, 0x66];
        body.extend_from_slice(b"__type");
        let ty = b"com.amazonaws.cloudwatch#Throttling";
        body.push(0x78);
        body.push(u8::try_from(ty.len()).unwrap());
        body.extend_from_slice(ty);
        body.push(0x67);
        body.extend_from_slice(b"message");
        body.push(0x6d);
        body.extend_from_slice(b"Rate exceeded");
        let a = ErrorAnswer::of(&response(
            400,
            &[
                ("content-type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
            ],
            body,
        ));
        assert_eq!(a.code.as_deref(), Some("Throttling"));
        assert_eq!(a.message.as_deref(), Some("Rate exceeded"));
    }

    #[test]
    fn garbage_gives_nothing_and_never_panics() {
        for body in [
            &b""[..],
            b"{",
            b"<Code>",
            b"\x66__type\x79\xff",
            b"\xff\xfe",
            b"<html>oops</html>",
        ] {
            let a = ErrorAnswer::of(&response(
                500,
                &[("content-type", "application/cbor")],
                body.to_vec(),
            ));
            assert_eq!(a.code, None, "{body:?}");
            let a = ErrorAnswer::of(&response(500, &[], body.to_vec()));
            assert_eq!(a.code, None, "{body:?}");
        }
    }

    #[test]
    fn request_id_from_any_of_the_three_headers() {
        for h in ["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"] {
            assert_eq!(request_id(&response(400, &[(h, "r-1")], "")), Some("r-1"));
        }
        assert_eq!(request_id(&response(400, &[], "")), None);
    }
}
