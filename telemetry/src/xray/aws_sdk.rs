//! AWS SDK calls as X-Ray subsegments: an interceptor for any `aws-sdk-*` client.
//!
//! One subsegment per attempt (`namespace: "aws"`, named after the service as the X-Ray SDKs do), a
//! child of the span the call is made in, with `aws.operation`, `aws.region`, `aws.request_id`,
//! `aws.retries` (0 on the first attempt), `aws.table_name` (DynamoDB; a transaction's one table) or
//! `aws.queue_url` (SQS), and
//! `http.response.status`. Flags follow X-Ray's rules as `aws_error` classifies the answer (one
//! classifier and one throttling-code list for the whole workspace, any protocol's error shape): 4xx →
//! `error`, 429 or a throttling error code → `throttle` (with `error`, also for S3's 503 `SlowDown`), 5xx
//! or no response at all → `fault`. The request carries
//! `X-Amzn-Trace-Id` with this subsegment as `Parent` (set before signing; SigV4 does not sign it), so
//! the service's own segment hangs under it, and the same context as W3C `traceparent` (and
//! `tracestate` when the invocation received one); in an unsampled invocation the invocation's header
//! is forwarded as is (`Sampled=0`, `traceparent` flags `00`).
//!
//! Field names: <https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html#api-segmentdocuments-aws>.

use super::layer::outgoing_context_for;
use crate::propagation::Propagators;
use aws_error::{ErrorClass, XrayFlags};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::sync::{Mutex, PoisonError};
use tracing::Span;
use tracing::field::Empty;

/// The X-Ray trace header.
pub const TRACE_HEADER: &str = "x-amzn-trace-id";

/// Bodies larger than this are not parsed for resource names.
const MAX_PARSED_BODY: usize = 64 * 1024;

/// Makes every operation attempt of the client it is registered on an X-Ray subsegment and forwards
/// the trace header. Register it on any service config builder:
///
/// ```
/// let sdk_config = aws_types::SdkConfig::builder()
///     .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
///     .build();
/// let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
///     .interceptor(telemetry::xray::aws_sdk::XrayInterceptor::new())
///     .build();
/// let client = aws_sdk_dynamodb::Client::from_conf(config);
/// # let _ = client;
/// ```
///
/// Outside an invocation (or without an [`XrayLayer`](super::XrayLayer) on a registry subscriber) it
/// does nothing. It never fails a call.
#[derive(Debug, Clone, Copy, Default)]
pub struct XrayInterceptor {
    /// The headers each call carries; `None`: `OTEL_PROPAGATORS` ([`Propagators::from_env`]).
    propagators: Option<Propagators>,
}

impl XrayInterceptor {
    /// The interceptor; outgoing headers as `OTEL_PROPAGATORS` says (default: X-Ray and W3C).
    #[must_use]
    pub const fn new() -> Self {
        Self { propagators: None }
    }

    /// Carries the headers `propagators` name instead of reading `OTEL_PROPAGATORS`.
    ///
    /// ```
    /// use telemetry::propagation::Propagators;
    /// let only_xray = telemetry::xray::aws_sdk::XrayInterceptor::new().with_propagators(Propagators::parse("xray"));
    /// # let _ = only_xray;
    /// ```
    #[must_use]
    pub const fn with_propagators(mut self, propagators: Propagators) -> Self {
        self.propagators = Some(propagators);
        self
    }
}

/// A client of the SDK crate `$sdk` built from `$config` (a `&SdkConfig`) with [`XrayInterceptor`]
/// registered — the shared SDK config has no interceptor hook, so this is per client. Not for
/// presigning clients: a trace header set before signing would become a signed header of the URL.
///
/// ```
/// # async fn f(config: &aws_types::SdkConfig) {
/// let client: aws_sdk_dynamodb::Client = telemetry::traced_client!(aws_sdk_dynamodb, config);
/// # let _ = client;
/// # }
/// ```
#[macro_export]
macro_rules! traced_client {
    ($sdk:ident, $config:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .interceptor($crate::xray::aws_sdk::XrayInterceptor::new())
                .build(),
        )
    };
}

/// The current attempt's span, closed when the attempt ends.
#[derive(Debug)]
struct AttemptSpan(Mutex<Option<Span>>);

impl Storable for AttemptSpan {
    type Storer = StoreReplace<Self>;
}

/// Resource names read from the operation's JSON request body.
#[derive(Debug, Default, serde::Deserialize)]
struct Resource {
    #[serde(rename = "TableName")]
    table_name: Option<String>,
    #[serde(rename = "QueueUrl")]
    queue_url: Option<String>,
    /// `TransactWriteItems` / `TransactGetItems`: each action names its own table.
    #[serde(rename = "TransactItems", default)]
    transact_items: Vec<TransactAction>,
}

/// One action of a DynamoDB transaction: whichever of its members is set names the table.
#[derive(Debug, Default, serde::Deserialize)]
struct TransactAction {
    #[serde(rename = "Put")]
    put: Option<TableRef>,
    #[serde(rename = "Update")]
    update: Option<TableRef>,
    #[serde(rename = "Delete")]
    delete: Option<TableRef>,
    #[serde(rename = "ConditionCheck")]
    condition_check: Option<TableRef>,
    #[serde(rename = "Get")]
    get: Option<TableRef>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct TableRef {
    #[serde(rename = "TableName")]
    table_name: Option<String>,
}

impl Resource {
    /// The table the call is on: its `TableName`, or the one table every action of a transaction
    /// names (a transaction over several tables names none).
    fn table(&self) -> Option<&str> {
        if let Some(t) = &self.table_name {
            return Some(t);
        }
        let mut tables = self.transact_items.iter().filter_map(|a| {
            [&a.put, &a.update, &a.delete, &a.condition_check, &a.get]
                .into_iter()
                .flatten()
                .find_map(|r| r.table_name.as_deref())
        });
        let first = tables.next()?;
        tables.all(|t| t == first).then_some(first)
    }
}

/// Sets the subsegment's `error`/`throttle`/`fault` flags (only the true ones).
fn record_flags(span: &Span, flags: XrayFlags) {
    for (field, set) in [
        ("telemetry.error", flags.error),
        ("telemetry.throttle", flags.throttle),
        ("telemetry.fault", flags.fault),
    ] {
        if set {
            span.record(field, true);
        }
    }
}

impl Intercept for XrayInterceptor {
    fn name(&self) -> &'static str {
        "telemetry::xray::XrayInterceptor"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("AWS", "unknown"), |m| (m.service(), m.name()));
        let region = cfg
            .load::<aws_types::region::Region>()
            .map(|r| r.as_ref().to_owned());
        let retries = cfg
            .load::<RequestAttempts>()
            .map_or(0, |a| a.attempts().saturating_sub(1));
        let span = tracing::info_span!(
            target: "telemetry::xray::aws_sdk",
            "aws_sdk",
            otel.name = service,
            xray.namespace = "aws",
            aws.operation = operation,
            aws.region = region.as_deref(),
            aws.retries = retries,
            aws.request_id = Empty,
            aws.table_name = Empty,
            aws.queue_url = Empty,
            http.response.status = Empty,
            telemetry.error = Empty,
            telemetry.fault = Empty,
            telemetry.throttle = Empty,
        );
        cfg.interceptor_state()
            .store_put(AttemptSpan(Mutex::new(Some(span))));
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(slot) = cfg.load::<AttemptSpan>() else {
            return Ok(());
        };
        let span = slot.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let Some(span) = span else { return Ok(()) };
        let request = context.request_mut();
        let names_resources = cfg
            .load::<Metadata>()
            .is_some_and(|m| matches!(m.service(), "DynamoDB" | "SQS"));
        if names_resources
            && let Some(body) = request.body().bytes().filter(|b| b.len() <= MAX_PARSED_BODY)
            && let Ok(resource) = serde_json::from_slice::<Resource>(body)
        {
            if let Some(t) = resource.table() {
                span.record("aws.table_name", t);
            }
            if let Some(q) = &resource.queue_url {
                span.record("aws.queue_url", q.as_str());
            }
        }
        if let Some(out) = outgoing_context_for(&span) {
            // `try_insert`: a header value the HTTP layer refuses is left off the call; smithy's
            // `insert` would panic inside the caller's request.
            let headers = request.headers_mut();
            let propagators = self.propagators.unwrap_or_else(Propagators::from_env);
            for (name, value) in propagators.headers(out) {
                let _ = headers.try_insert(name, value);
            }
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(span) = cfg
            .load::<AttemptSpan>()
            .and_then(|s| s.0.lock().unwrap_or_else(PoisonError::into_inner).take())
        else {
            return Ok(());
        };
        let Some(response) = context.response() else {
            // No response: a timeout, a connection or a dispatch failure.
            record_flags(&span, XrayFlags::of(ErrorClass::Transport, None));
            return Ok(());
        };
        let status = response.status().as_u16();
        span.record("http.response.status", status);
        if let Some(id) = aws_error::request_id(response) {
            span.record("aws.request_id", id);
        }
        if status >= 400 {
            // One classification for every protocol's error shape (awsJson, restJson, query/XML, CBOR).
            let class = aws_error::classify_response(response);
            record_flags(&span, XrayFlags::of(class, Some(status)));
        }
        // Dropping the span closes the subsegment now, not when the operation's config bag goes.
        drop(span);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::{TraceHeader, XrayLayer, fake_daemon};
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;
    use serde_json::{Value, json};
    use std::time::Duration;
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;

    const HEADER: &str =
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:1";

    #[test]
    fn a_transactions_one_table_is_its_table_name() {
        let parse = |v: Value| serde_json::from_value::<Resource>(v).unwrap();
        let one = parse(json!({"TransactItems": [
            {"Put": {"TableName": "cards", "Item": {}}},
            {"Delete": {"TableName": "cards", "Key": {}}},
            {"ConditionCheck": {"TableName": "cards", "Key": {}}}
        ]}));
        assert_eq!(one.table(), Some("cards"));
        let two = parse(json!({"TransactItems": [
            {"Put": {"TableName": "cards"}}, {"Update": {"TableName": "ledger"}}
        ]}));
        assert_eq!(two.table(), None, "several tables: none named");
        assert_eq!(parse(json!({"TableName": "t"})).table(), Some("t"));
        assert_eq!(parse(json!({"QueueUrl": "q"})).table(), None);
    }

    fn event(status: u16, body: &str, request_id: &str) -> ReplayEvent {
        ReplayEvent::new(
            http::Request::builder()
                .uri("https://dynamodb.eu-west-1.amazonaws.com/")
                .body(SdkBody::empty())
                .unwrap(),
            http::Response::builder()
                .status(status)
                .header("x-amzn-requestid", request_id)
                .header("content-type", "application/x-amz-json-1.0")
                .body(SdkBody::from(body))
                .unwrap(),
        )
    }

    fn client(replay: &StaticReplayClient, attempts: u32) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .http_client(replay.clone())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .interceptor(XrayInterceptor::new())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    fn get_item(
        client: &aws_sdk_dynamodb::Client,
    ) -> aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder {
        client
            .get_item()
            .table_name("cards")
            .key("id", AttributeValue::S("c-1".into()))
    }

    fn sent_headers(replay: &StaticReplayClient) -> Vec<Option<String>> {
        sent(replay, TRACE_HEADER)
    }

    fn sent(replay: &StaticReplayClient, name: &str) -> Vec<Option<String>> {
        replay
            .actual_requests()
            .map(|r| r.headers().get(name).map(str::to_owned))
            .collect()
    }

    #[tokio::test]
    async fn each_attempt_is_a_subsegment_and_carries_the_header() {
        let (daemon, sink) = fake_daemon::start();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(XrayLayer::new(sink)));
        let replay = StaticReplayClient::new(vec![
            event(500, r#"{"__type":"InternalServerError"}"#, "req-500"),
            event(200, r#"{"Item":{"id":{"S":"c-1"}}}"#, "req-ok"),
        ]);
        let client = client(&replay, 2);
        let invocation = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER);
        let item = get_item(&client)
            .send()
            .instrument(invocation.clone())
            .await
            .unwrap();
        assert_eq!(item.item().unwrap()["id"], AttributeValue::S("c-1".into()));
        drop(invocation);

        let docs = fake_daemon::received(&daemon);
        assert_eq!(
            docs.len(),
            1,
            "the attempts nest into the invocation's document: {docs:?}"
        );
        let inv = &docs[0];
        assert_eq!(inv["parent_id"], "53995c3f42cd8ad8");
        let calls = inv["subsegments"].as_array().unwrap();
        assert_eq!(calls.len(), 2);
        for (i, call) in calls.iter().enumerate() {
            assert_eq!(call["name"], "DynamoDB");
            assert_eq!(call["namespace"], "aws");
            assert_eq!(call["aws"]["operation"], "GetItem");
            assert_eq!(call["aws"]["region"], "eu-west-1");
            assert_eq!(call["aws"]["table_name"], "cards");
            assert_eq!(call["aws"]["retries"], i);
            assert!(call["end_time"].as_f64().unwrap() >= call["start_time"].as_f64().unwrap());
        }
        assert_eq!(calls[0]["aws"]["request_id"], "req-500");
        assert_eq!(calls[0]["http"], json!({"response": {"status": 500}}));
        assert_eq!(calls[0]["fault"], true);
        assert_eq!(calls[1]["aws"]["request_id"], "req-ok");
        assert_eq!(calls[1]["http"]["response"]["status"], 200);
        for flag in ["fault", "error", "throttle"] {
            assert!(calls[1].get(flag).is_none(), "{flag} on a success");
        }

        let headers = sent_headers(&replay);
        assert_eq!(headers.len(), 2);
        let traceparents = sent(&replay, "traceparent");
        for (tp, call) in traceparents.iter().zip(calls) {
            // W3C spelling of the same context: version 00, the Root's 32 hex digits, this attempt's id.
            let tp = crate::propagation::TraceParent::parse(tp.as_deref().unwrap()).unwrap();
            assert_eq!(
                format!("{:032x}", tp.trace_id),
                "5759e988bd862e3fe1be46a994272793"
            );
            assert_eq!(format!("{:016x}", tp.parent_id), call["id"].as_str().unwrap());
            assert!(tp.sampled);
        }
        for (header, call) in headers.iter().zip(calls) {
            let h = TraceHeader::parse(header.as_deref().unwrap()).unwrap();
            assert_eq!(h.xray_trace_id(), "1-5759e988-bd862e3fe1be46a994272793");
            assert_eq!(
                format!("{:016x}", h.parent.unwrap()),
                call["id"].as_str().unwrap()
            );
            assert!(h.is_sampled());
            assert_eq!(h.lineage.as_deref(), Some("a:1"));
        }
    }

    /// `OTEL_PROPAGATORS=xray`: the call carries `X-Amzn-Trace-Id` only, no `traceparent`.
    #[tokio::test]
    async fn propagators_choose_the_headers_a_call_carries() {
        let (_daemon, sink) = fake_daemon::start();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(XrayLayer::new(sink)));
        for (value, xray, w3c) in [
            ("xray", true, false),
            ("tracecontext", false, true),
            ("none", false, false),
        ] {
            let replay =
                StaticReplayClient::new(vec![event(200, r#"{"Item":{"id":{"S":"c-1"}}}"#, "req-ok")]);
            let config = aws_sdk_dynamodb::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
                .http_client(replay.clone())
                .interceptor(XrayInterceptor::new().with_propagators(Propagators::parse(value)))
                .build();
            let client = aws_sdk_dynamodb::Client::from_conf(config);
            let invocation = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER);
            get_item(&client).send().instrument(invocation).await.unwrap();
            assert_eq!(sent_headers(&replay)[0].is_some(), xray, "{value}");
            assert_eq!(sent(&replay, "traceparent")[0].is_some(), w3c, "{value}");
        }
    }

    /// Sends `calls` failing `GetItem`s (one attempt each) inside one sampled invocation and reads back
    /// each subsegment's (request id, error, throttle, fault) from the fake daemon, in call order.
    async fn flags_after(
        daemon: &std::net::UdpSocket,
        replay: &StaticReplayClient,
        calls: usize,
    ) -> Vec<(Value, bool, bool, bool)> {
        let client = client(replay, 1);
        let invocation = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER);
        async {
            for _ in 0..calls {
                assert!(get_item(&client).send().await.is_err());
            }
        }
        .instrument(invocation.clone())
        .await;
        drop(invocation);
        let docs = fake_daemon::received(daemon);
        docs[0]["subsegments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let set = |f: &str| c.get(f) == Some(&Value::Bool(true));
                (
                    c["aws"]["request_id"].clone(),
                    set("error"),
                    set("throttle"),
                    set("fault"),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn error_throttle_and_fault_follow_xray_rules() {
        let (daemon, sink) = fake_daemon::start();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(XrayLayer::new(sink)));
        let replay = StaticReplayClient::new(vec![
            event(
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#,
                "r-throttled",
            ),
            event(429, "{}", "r-429"),
            event(
                400,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"}"#,
                "r-missing",
            ),
            event(503, "{}", "r-503"),
        ]);
        let flags = flags_after(&daemon, &replay, 4).await;
        assert_eq!(
            flags,
            [
                (json!("r-throttled"), true, true, false),
                (json!("r-429"), true, true, false),
                (json!("r-missing"), true, false, false),
                (json!("r-503"), false, false, true),
            ]
        );
    }

    #[tokio::test]
    async fn unsampled_forwards_the_header_and_sends_nothing() {
        let (daemon, sink) = fake_daemon::start();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(XrayLayer::new(sink)));
        let replay = StaticReplayClient::new(vec![event(200, "{}", "r-1"), event(200, "{}", "r-2")]);
        let client = client(&replay, 1);
        let unsampled = HEADER.replace("Sampled=1", "Sampled=0");
        let invocation =
            tracing::info_span!("lambda.invocation", telemetry.trace_header = unsampled.as_str());
        get_item(&client).send().instrument(invocation).await.unwrap();
        get_item(&client).send().await.unwrap();
        assert_eq!(
            sent_headers(&replay),
            [Some(unsampled), None],
            "outside an invocation: no header"
        );
        assert_eq!(
            sent(&replay, "traceparent"),
            [
                Some("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00".to_owned()),
                None
            ],
            "unsampled: Lambda's parent, flags 00"
        );
        assert!(fake_daemon::received(&daemon).is_empty());
    }

    /// The flags come from `aws_error`'s one classifier, whatever the protocol spells the code as; a
    /// server fault is never a throttle (an older list here and in backend disagreed on that).
    #[tokio::test]
    async fn flags_read_every_protocols_error_shape() {
        let (daemon, sink) = fake_daemon::start();
        let _default =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(XrayLayer::new(sink)));
        let with = |status: u16, header: Option<(&str, &str)>, body: &str, id: &str| {
            let mut r = http::Response::builder()
                .status(status)
                .header("x-amzn-requestid", id);
            if let Some((k, v)) = header {
                r = r.header(k, v);
            }
            ReplayEvent::new(
                http::Request::builder()
                    .uri("https://dynamodb.eu-west-1.amazonaws.com/")
                    .body(SdkBody::empty())
                    .unwrap(),
                r.body(SdkBody::from(body)).unwrap(),
            )
        };
        let replay = StaticReplayClient::new(vec![
            with(
                400,
                Some((
                    "x-amzn-errortype",
                    "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.availability/",
                )),
                "{}",
                "r-restjson",
            ),
            with(
                400,
                Some(("content-type", "text/xml")),
                "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
                "r-xml",
            ),
            with(400, None, r#"{"__type":"LimitExceededException"}"#, "r-ce"),
            with(
                500,
                None,
                r#"{"__type":"com.amazon.coral.service#InternalServerError"}"#,
                "r-ise",
            ),
            with(
                503,
                Some(("content-type", "application/xml")),
                "<Error><Code>SlowDown</Code></Error>",
                "r-slowdown",
            ),
            with(403, None, r#"{"__type":"AccessDeniedException"}"#, "r-denied"),
        ]);
        let flags = flags_after(&daemon, &replay, 6).await;
        assert_eq!(
            flags,
            [
                (json!("r-restjson"), true, true, false),
                (json!("r-xml"), true, true, false),
                (json!("r-ce"), true, true, false),
                (json!("r-ise"), false, false, true),
                (json!("r-slowdown"), true, true, false),
                (json!("r-denied"), true, false, false),
            ]
        );
    }
}
