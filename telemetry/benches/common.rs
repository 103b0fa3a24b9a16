//! What the benchmarks comparing a typical invocation share: the handler's work, the Lambda event, our
//! stack and the peer stack (tracing-subscriber JSON + tracing-opentelemetry with opentelemetry-aws's
//! X-Ray exporter + metrics_cloudwatch_embedded; on the OTLP path `otlp_common.rs` swaps the span
//! exporters). Included by `invocation.rs`, `profile.rs`, `otlp.rs` and `instructions.rs`; each uses
//! part of it.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use lambda_runtime::{LambdaEvent, Service, service_fn};
use opentelemetry::trace::TracerProvider as _;
use serde_json::{Value, json};
use std::net::UdpSocket;
use std::task::{Context, Poll, Waker};
use telemetry::context::FunctionInfo;
use telemetry::emf::{EmfBuilder, EmfRecorder};
use telemetry::lambda::InvocationLayer;
use telemetry::logs::{JsonLogLayer, LogConfig};
use telemetry::xray::{UdpDaemonSink, XrayLayer};
use tracing_subscriber::layer::SubscriberExt;

pub const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// The work a typical handler does: 5 log lines, 10 metrics on 2 dimensions, 3 spans.
pub fn workload() {
    let _a = tracing::info_span!("validate", card_id = "c-1").entered();
    tracing::info!(stage = "validate", "validating card");
    {
        let _b = tracing::info_span!("price", source = "ebay").entered();
        tracing::info!(comparables = 12u64, "fetched comparables");
        tracing::info!(value_usd = 120.5, "priced");
        let _c = tracing::info_span!("persist", table = "cards").entered();
        tracing::info!("stored");
    }
    for name in METRICS {
        metrics::counter!(name, "agent" => "pricing", "model" => "claude").increment(1);
    }
    tracing::info!(outcome = "ok", "valued");
}

pub const METRICS: [&str; 10] = ["M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8", "M9"];

pub fn daemon() -> (UdpSocket, String) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a = s.local_addr().unwrap().to_string();
    (s, a)
}

pub fn ours_dispatch(addr: &str) -> tracing::Dispatch {
    ours_dispatch_with(XrayLayer::new(UdpDaemonSink::new(addr).unwrap()))
}

/// Our log layer and `spans`, the span layer with its exporter (X-Ray daemon, OTLP/HTTP).
pub fn ours_dispatch_with(spans: XrayLayer) -> tracing::Dispatch {
    let fi = FunctionInfo {
        service: "valuation".into(),
        function_name: Some("valuate".into()),
        memory_size: Some(512),
        ..Default::default()
    };
    let logs = JsonLogLayer::new(LogConfig::new("valuation").with_function(fi)).with_writer(std::io::sink);
    tracing::Dispatch::new(tracing_subscriber::registry().with(logs).with(spans))
}

pub fn peer_dispatch(addr: &str) -> (tracing::Dispatch, opentelemetry_sdk::trace::SdkTracerProvider) {
    let client =
        opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient::new(addr.parse().unwrap())
            .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default())
        .with_simple_exporter(opentelemetry_aws::xray_exporter::XrayExporter::new(client))
        .build();
    (peer_stack(&provider), provider)
}

/// The peer's logs (tracing-subscriber JSON) and spans (tracing-opentelemetry through `provider`).
pub fn peer_stack(provider: &opentelemetry_sdk::trace::SdkTracerProvider) -> tracing::Dispatch {
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_writer(std::io::sink);
    tracing::Dispatch::new(tracing_subscriber::registry().with(fmt).with(otel))
}

pub fn mce() -> &'static metrics_cloudwatch_embedded::Collector {
    static C: std::sync::OnceLock<&'static metrics_cloudwatch_embedded::Collector> =
        std::sync::OnceLock::new();
    C.get_or_init(|| {
        metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace("CollectIQ")
            .with_dimension("service", "valuation")
            .init()
            .unwrap()
    })
}

pub fn lambda_event() -> LambdaEvent<Value> {
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = "8f5b3c1e-0000-4000-8000-000000000001".into();
    ctx.invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:valuate".into();
    ctx.xray_trace_id = Some(HEADER.into());
    LambdaEvent::new(json!({"requestContext": {"requestId": "api-1"}}), ctx)
}

/// Our EMF recorder (to the sink) and the real `InvocationService` around a handler doing [`workload`].
pub fn ours_service() -> (
    EmfRecorder,
    impl Service<LambdaEvent<Value>, Response = Value, Error = lambda_runtime::Error>,
) {
    let rec = EmfBuilder::new()
        .namespace("CollectIQ")
        .service("valuation")
        .allow_all_labels()
        .with_writer(std::io::sink())
        .build()
        .unwrap();
    let layer = InvocationLayer::new(FunctionInfo::default()).with_emf(rec.clone());
    let svc = layer.service(service_fn(|e: LambdaEvent<Value>| async move {
        workload();
        Ok::<_, lambda_runtime::Error>(e.payload)
    }));
    (rec, svc)
}

/// One invocation of `svc` with [`lambda_event`], polled once: the handler never waits.
pub fn invoke<S>(svc: &mut S)
where
    S: Service<LambdaEvent<Value>, Response = Value, Error = lambda_runtime::Error>,
{
    let mut fut = std::pin::pin!(svc.call(lambda_event()));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(matches!(fut.as_mut().poll(&mut cx), Poll::Ready(Ok(_))));
}

/// Our span export's work: the invocation span (Lambda's header as parent) and one child.
pub fn ours_spans() {
    let _inv = tracing::info_span!("lambda.invocation", telemetry.trace_header = HEADER).entered();
    drop(tracing::info_span!("price_card", card_id = "c-1").entered());
}

/// The peer's span export: lambda_runtime's invocation span and one child.
pub fn peer_spans() {
    let _inv = tracing::info_span!("Lambda runtime invoke", requestId = "r-1").entered();
    drop(tracing::info_span!("price_card", card_id = "c-1").entered());
}

/// One typical invocation on the peer stack: lambda_runtime's span around [`workload`], then the
/// metrics_cloudwatch_embedded flush into `buf`. With `parent` (Lambda's segment, as the peer's
/// users set it from `_X_AMZN_TRACE_ID` when they export OTLP), the span is made its child.
pub fn peer_invoke(
    collector: &metrics_cloudwatch_embedded::Collector,
    buf: &mut Vec<u8>,
    parent: Option<&opentelemetry::Context>,
) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let ev = lambda_event();
    let span = tracing::info_span!(
        "Lambda runtime invoke",
        requestId = ev.context.request_id.as_str(),
        xrayTraceId = HEADER
    );
    if let Some(parent) = parent {
        let _ = span.set_parent(parent.clone());
    }
    span.in_scope(workload);
    buf.clear();
    collector.flush(buf).unwrap();
    drop(span);
    std::hint::black_box(ev);
}

/// The metrique side of the EMF flush comparison: a `service` dimension and one value per name.
#[derive(Debug)]
pub struct MetriqueEntry<'a> {
    pub names: &'a [String],
}

impl<'a> metrique_writer::Entry for MetriqueEntry<'a> {
    fn write<'b>(&'b self, w: &mut impl metrique_writer::EntryWriter<'b>) {
        w.timestamp(std::time::SystemTime::now());
        w.value("service", "valuation");
        for n in self.names {
            w.value(n.as_str(), &1.0f64);
        }
    }
}
