//! Which AWS protocol a request speaks, which operation it calls, and that protocol's error answers.
//!
//! | protocol | operation from | error shape |
//! |---|---|---|
//! | awsJson 1.0/1.1 (DynamoDB, Logs, CE, Budgets, Secrets Manager) | `X-Amz-Target: Prefix.Op` | JSON `{"__type","message"}` + `x-amzn-ErrorType` |
//! | Smithy RPC v2 CBOR (CloudWatch) | path `/service/<svc>/operation/<Op>` | CBOR map `{"__type","message"}` + `x-amzn-query-error: Code;Fault` |
//! | awsQuery (SNS) | form field `Action=` | XML `<ErrorResponse><Error><Type/><Code/><Message/></Error>` |
//! | restJson (X-Ray) | method + path (`POST /TraceSegments` → `PutTraceSegments`) | `x-amzn-ErrorType` + JSON `{"message"}` |
//! | plain HTTP (a Slack webhook) | `POST <path>` | `429` + `Retry-After`, plain text |
//!
//! Sources: the Smithy protocol specs (awsJson1_0/1_1 "Operation error serialization", rpcv2Cbor "Error
//! serialization", awsQuery "Error response serialization", restJson1 "Operation error serialization")
//! and the service models' throttling errors (`ThrottlingException`, CloudWatch's and SNS's query code
//! `Throttling`, X-Ray's `ThrottledException` with HTTP 429) and access-denied errors (awsJson
//! `AccessDeniedException`, e.g. Budgets' modelled 400; the "Common Errors" `AccessDenied` 403 of the
//! query-compatible services).

use super::plan::FaultKind;

/// The wire protocol of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson 1.0 or 1.1 (the `Content-Type` version is echoed back).
    AwsJson {
        /// `1.0` or `1.1`.
        version: &'static str,
    },
    /// Smithy RPC v2 CBOR with awsQuery-compatible error codes (CloudWatch).
    RpcV2Cbor,
    /// awsQuery: form-encoded request, XML answer (SNS).
    AwsQuery,
    /// restJson1 (X-Ray).
    RestJson,
    /// Anything else, e.g. a webhook.
    Plain,
}

/// What the proxy learned from a request's head and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The protocol.
    pub protocol: Protocol,
    /// The operation name (`PutMetricAlarm`, `Publish`, `GetCostAndUsage`, `PutTraceSegments`, `POST /hook`).
    pub operation: String,
}

/// The first value of header `name` (lower case) among `headers` (lower-case name, value).
pub(crate) fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Identifies protocol and operation. `headers` are (lower-case name, value).
#[must_use]
pub fn identify(method: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> Call {
    let header = |name: &str| header_value(headers, name);
    let content_type = header("content-type").unwrap_or_default();
    if let Some(target) = header("x-amz-target") {
        let version = if content_type.contains("1.1") {
            "1.1"
        } else {
            "1.0"
        };
        return Call {
            protocol: Protocol::AwsJson { version },
            operation: target.rsplit('.').next().unwrap_or(target).to_owned(),
        };
    }
    let path_only = path.split('?').next().unwrap_or(path);
    if let Some(i) = path_only.find("/service/")
        && let Some((_, op)) = path_only[i..].split_once("/operation/")
    {
        return Call {
            protocol: Protocol::RpcV2Cbor,
            operation: op.trim_end_matches('/').to_owned(),
        };
    }
    if content_type.starts_with("application/x-www-form-urlencoded")
        && let Some(action) = form_field(body, "Action")
    {
        return Call {
            protocol: Protocol::AwsQuery,
            operation: action,
        };
    }
    if let Some(op) = xray_operation(method, path_only) {
        return Call {
            protocol: Protocol::RestJson,
            operation: op.to_owned(),
        };
    }
    Call {
        protocol: Protocol::Plain,
        operation: format!("{method} {path_only}"),
    }
}

/// X-Ray's restJson routes (all `POST`), from the service model's `@http` traits.
fn xray_operation(method: &str, path: &str) -> Option<&'static str> {
    if method != "POST" {
        return None;
    }
    Some(match path {
        "/TraceSegments" => "PutTraceSegments",
        "/TelemetryRecords" => "PutTelemetryRecords",
        "/TraceSummaries" => "GetTraceSummaries",
        "/Traces" => "BatchGetTraces",
        "/TraceGraph" => "GetTraceGraph",
        "/ServiceGraph" => "GetServiceGraph",
        "/TimeSeriesServiceStatistics" => "GetTimeSeriesServiceStatistics",
        "/GetSamplingRules" => "GetSamplingRules",
        "/SamplingTargets" => "GetSamplingTargets",
        "/Groups" => "GetGroups",
        _ => return None,
    })
}

/// The first value of `name` in a form-encoded body (`+` and `%XX` decoded).
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A complete HTTP answer the proxy writes instead of forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorAnswer {
    /// HTTP status.
    pub status: u16,
    /// Headers besides `Content-Length`.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// The error a service answers for `kind` (only [`FaultKind::Throttle`], [`FaultKind::Deny`],
/// [`FaultKind::InternalError`] and [`FaultKind::Unavailable`] have one; other kinds are not answers).
#[must_use]
pub fn error_answer(call: &Call, kind: FaultKind) -> Option<ErrorAnswer> {
    // (HTTP status, awsJson/restJson code, awsQuery-compatible code, fault side)
    let (status, json_code, query_code, fault) = match (kind, call.protocol) {
        (FaultKind::Throttle, Protocol::RestJson) => (429, "ThrottledException", "Throttling", "Sender"),
        (FaultKind::Throttle, _) => (400, "ThrottlingException", "Throttling", "Sender"),
        // awsJson services model it as a 400 client error (Budgets, CE, DynamoDB); the query-compatible
        // services (CloudWatch, SNS, STS) and restJson answer 403.
        (FaultKind::Deny, Protocol::AwsJson { .. }) => {
            (400, "AccessDeniedException", "AccessDenied", "Sender")
        }
        (FaultKind::Deny, _) => (403, "AccessDeniedException", "AccessDenied", "Sender"),
        (FaultKind::InternalError, _) => (500, "InternalFailure", "InternalFailure", "Receiver"),
        (FaultKind::Unavailable, _) => (503, "ServiceUnavailable", "ServiceUnavailable", "Receiver"),
        _ => return None,
    };
    let message = match kind {
        FaultKind::Throttle => "Rate exceeded",
        FaultKind::Deny => {
            "User: arn:aws:sts::000000000000:assumed-role/fault-proxy/session is not authorized to perform this action (injected by the fault proxy)"
        }
        _ => "injected by the fault proxy",
    };
    let request_id = "00000000-fa17-4000-8000-000000000000";
    let h = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    Some(match call.protocol {
        Protocol::AwsJson { version } => ErrorAnswer {
            status,
            headers: vec![
                h("content-type", &format!("application/x-amz-json-{version}")),
                h("x-amzn-errortype", json_code),
                h("x-amzn-requestid", request_id),
            ],
            body: serde_json::json!({ "__type": json_code, "message": message })
                .to_string()
                .into_bytes(),
        },
        Protocol::RpcV2Cbor => ErrorAnswer {
            status,
            headers: vec![
                h("content-type", "application/cbor"),
                h("smithy-protocol", "rpc-v2-cbor"),
                h("x-amzn-query-error", &format!("{query_code};{fault}")),
                h("x-amzn-requestid", request_id),
            ],
            body: cbor_text_map(&[("__type", query_code), ("message", message)]),
        },
        Protocol::AwsQuery => ErrorAnswer {
            status,
            headers: vec![h("content-type", "text/xml"), h("x-amzn-requestid", request_id)],
            body: format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{fault}</Type>\
                 <Code>{query_code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>\
                 </ErrorResponse>"
            )
            .into_bytes(),
        },
        Protocol::RestJson => ErrorAnswer {
            status,
            headers: vec![
                h("content-type", "application/json"),
                h("x-amzn-errortype", json_code),
                h("x-amzn-requestid", request_id),
            ],
            body: serde_json::json!({ "message": message }).to_string().into_bytes(),
        },
        Protocol::Plain => {
            let (status, body) = match kind {
                FaultKind::Throttle => (429, "rate_limited"),
                FaultKind::Deny => (403, "invalid_token"),
                FaultKind::InternalError => (500, "internal_error"),
                _ => (503, "service_unavailable"),
            };
            let mut headers = vec![h("content-type", "text/plain")];
            if status == 429 {
                headers.push(h("retry-after", "1"));
            }
            ErrorAnswer {
                status,
                headers,
                body: body.as_bytes().to_vec(),
            }
        }
    })
}

/// A CBOR map of text keys to text values (RFC 8949 major types 5 and 3), definite lengths.
fn cbor_text_map(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    cbor_head(&mut out, 5, entries.len());
    for (k, v) in entries {
        cbor_head(&mut out, 3, k.len());
        out.extend_from_slice(k.as_bytes());
        cbor_head(&mut out, 3, v.len());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

fn cbor_head(out: &mut Vec<u8>, major: u8, len: usize) {
    let m = major << 5;
    match u64::try_from(len).unwrap_or(u64::MAX) {
        #[allow(clippy::cast_possible_truncation)]
        n @ 0..=23 => out.push(m | n as u8),
        #[allow(clippy::cast_possible_truncation)]
        n @ 24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        #[allow(clippy::cast_possible_truncation)]
        n @ 0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_protocol_in_use_is_recognised_with_its_operation() {
        let json = identify(
            "POST",
            "/",
            &hs(&[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "AWSInsightsIndexService.GetCostAndUsage"),
            ]),
            b"{}",
        );
        assert_eq!(json.protocol, Protocol::AwsJson { version: "1.1" });
        assert_eq!(json.operation, "GetCostAndUsage");
        let cbor = identify(
            "POST",
            "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm",
            &hs(&[("content-type", "application/cbor")]),
            b"\xa0",
        );
        assert_eq!(cbor.protocol, Protocol::RpcV2Cbor);
        assert_eq!(cbor.operation, "PutMetricAlarm");
        let query = identify(
            "POST",
            "/",
            &hs(&[("content-type", "application/x-www-form-urlencoded; charset=utf-8")]),
            b"Version=2010-03-31&Action=Publish&Message=a+b%26c",
        );
        assert_eq!(query.protocol, Protocol::AwsQuery);
        assert_eq!(query.operation, "Publish");
        let rest = identify(
            "POST",
            "/TraceSegments",
            &hs(&[("content-type", "application/json")]),
            b"{}",
        );
        assert_eq!(rest.protocol, Protocol::RestJson);
        assert_eq!(rest.operation, "PutTraceSegments");
        let hook = identify(
            "POST",
            "/hook?x=1",
            &hs(&[("content-type", "application/json")]),
            b"{}",
        );
        assert_eq!(hook.protocol, Protocol::Plain);
        assert_eq!(hook.operation, "POST /hook");
        assert_eq!(percent_decode("a+b%26c%2"), "a b&c%2");
    }

    #[test]
    fn throttles_carry_each_protocols_error_shape() {
        let call = |protocol, op: &str| Call {
            protocol,
            operation: op.into(),
        };
        let json = error_answer(
            &call(Protocol::AwsJson { version: "1.0" }, "PutItem"),
            FaultKind::Throttle,
        )
        .unwrap();
        assert_eq!(json.status, 400);
        assert!(
            json.headers
                .contains(&("x-amzn-errortype".into(), "ThrottlingException".into()))
        );
        let body: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(body["__type"], "ThrottlingException");

        let cbor = error_answer(&call(Protocol::RpcV2Cbor, "PutMetricAlarm"), FaultKind::Throttle).unwrap();
        assert!(
            cbor.headers
                .contains(&("x-amzn-query-error".into(), "Throttling;Sender".into()))
        );
        // {"__type": "Throttling", "message": "Rate exceeded"} in CBOR.
        let mut expected = vec![0xa2, 0x66];
        expected.extend_from_slice(b"__type");
        expected.push(0x6a);
        expected.extend_from_slice(b"Throttling");
        expected.push(0x67);
        expected.extend_from_slice(b"message");
        expected.push(0x6d);
        expected.extend_from_slice(b"Rate exceeded");
        assert_eq!(cbor.body, expected);

        let xml = error_answer(&call(Protocol::AwsQuery, "Publish"), FaultKind::Unavailable).unwrap();
        assert_eq!(xml.status, 503);
        let text = String::from_utf8(xml.body).unwrap();
        assert!(text.contains("<Code>ServiceUnavailable</Code>"), "{text}");
        assert!(text.starts_with("<ErrorResponse"));

        let rest = error_answer(&call(Protocol::RestJson, "PutTraceSegments"), FaultKind::Throttle).unwrap();
        assert_eq!(rest.status, 429);
        assert!(
            rest.headers
                .contains(&("x-amzn-errortype".into(), "ThrottledException".into()))
        );

        let hook = error_answer(&call(Protocol::Plain, "POST /hook"), FaultKind::Throttle).unwrap();
        assert_eq!(hook.status, 429);
        assert!(hook.headers.contains(&("retry-after".into(), "1".into())));
        assert!(error_answer(&call(Protocol::Plain, "x"), FaultKind::Reset).is_none());
    }

    #[test]
    fn denials_carry_each_protocols_error_shape() {
        let call = |protocol, op: &str| Call {
            protocol,
            operation: op.into(),
        };
        let budgets = error_answer(
            &call(Protocol::AwsJson { version: "1.1" }, "DescribeBudgets"),
            FaultKind::Deny,
        )
        .unwrap();
        assert_eq!(budgets.status, 400);
        let body: serde_json::Value = serde_json::from_slice(&budgets.body).unwrap();
        assert_eq!(body["__type"], "AccessDeniedException");
        assert!(
            budgets
                .headers
                .contains(&("content-type".into(), "application/x-amz-json-1.1".into()))
        );
        let cw = error_answer(&call(Protocol::RpcV2Cbor, "PutMetricAlarm"), FaultKind::Deny).unwrap();
        assert_eq!(cw.status, 403);
        assert!(
            cw.headers
                .contains(&("x-amzn-query-error".into(), "AccessDenied;Sender".into()))
        );
        let sts = error_answer(&call(Protocol::AwsQuery, "AssumeRole"), FaultKind::Deny).unwrap();
        assert_eq!(sts.status, 403);
        assert!(
            String::from_utf8(sts.body)
                .unwrap()
                .contains("<Code>AccessDenied</Code>")
        );
    }

    #[test]
    fn long_cbor_strings_use_the_longer_heads() {
        let long = "x".repeat(300);
        let m = cbor_text_map(&[("k", &long)]);
        assert_eq!(&m[..3], &[0xa1, 0x61, b'k']);
        assert_eq!(&m[3..6], &[0x79, 0x01, 0x2c]);
    }
}
