//! What the OTLP benchmarks share: a loopback collector, the resource, the peer stack
//! (`tracing-opentelemetry` + SDK batch processor + `opentelemetry-otlp` over HTTP), and Lambda's
//! segment as the peer's remote parent. Included by `otlp.rs` and `instructions.rs`.
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;

/// A loopback HTTP/1.1 server answering 200 to every request (keep-alive).
pub fn collector() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = stream.try_clone().unwrap();
                let mut r = BufReader::new(stream);
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err()
                        || w.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

pub fn resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder_empty()
        .with_attributes([
            opentelemetry::KeyValue::new("service.name", "valuation"),
            opentelemetry::KeyValue::new("cloud.provider", "aws"),
            opentelemetry::KeyValue::new("faas.name", "valuate"),
        ])
        .build()
}

/// The peer stack posting to `url`; shut its provider down at the end.
pub fn peer_otlp(url: String) -> (tracing::Dispatch, opentelemetry_sdk::trace::SdkTracerProvider) {
    let provider = peer_otlp_provider(url, None);
    (peer_otel_only(&provider), provider)
}

/// tracing-opentelemetry through `provider`, no log layer.
pub fn peer_otel_only(provider: &opentelemetry_sdk::trace::SdkTracerProvider) -> tracing::Dispatch {
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    tracing::Dispatch::new(tracing_subscriber::registry().with(layer))
}

/// The peer's SDK provider: X-Ray ids, batch processor (its queue `queue` spans, else the SDK's
/// default 2,048), `opentelemetry-otlp` over HTTP to `url`.
pub fn peer_otlp_provider(url: String, queue: Option<usize>) -> opentelemetry_sdk::trace::SdkTracerProvider {
    use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut config = BatchConfigBuilder::default();
    if let Some(queue) = queue {
        config = config.with_max_queue_size(queue);
    }
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(config.build())
        .build();
    opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default())
        .with_span_processor(processor)
        .with_resource(resource())
        .build()
}

/// Our OTLP/HTTP exporter posting to `url`, its queue `queue` batches (default 64).
pub fn ours_otlp_http(url: String, queue: Option<usize>) -> telemetry::otel::http::OtlpHttpExporter {
    use telemetry::otel::http::{HttpTarget, OtlpHttpExporter};
    let mut target = HttpTarget::new(url);
    if let Some(queue) = queue {
        target.queue = queue;
    }
    OtlpHttpExporter::new(target, &resource()).unwrap()
}

/// The typical invocation's stacks on the OTLP path, both posting to `url`: ours (the `invocation`
/// bench's logs and metrics, spans through our OTLP/HTTP exporter) and the peer's (tracing-subscriber
/// JSON, tracing-opentelemetry + batch processor + `opentelemetry-otlp`; metrics_cloudwatch_embedded
/// is [`crate::common::mce`]). `queue`: room for every batch (ours) and span (the peer's), so that
/// neither drops what a slow posting thread has not taken yet.
pub fn otlp_typical_stacks(
    url: &str,
    queue: Option<(usize, usize)>,
) -> (
    tracing::Dispatch,
    tracing::Dispatch,
    opentelemetry_sdk::trace::SdkTracerProvider,
) {
    let ours = crate::common::ours_dispatch_with(telemetry::xray::XrayLayer::with_span_sink(ours_otlp_http(
        url.to_owned(),
        queue.map(|q| q.0),
    )));
    let provider = peer_otlp_provider(url.to_owned(), queue.map(|q| q.1));
    (ours, crate::common::peer_stack(&provider), provider)
}

/// Lambda's segment as the remote parent, as the peer's users set it from `_X_AMZN_TRACE_ID`.
pub fn lambda_parent() -> opentelemetry::Context {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
        SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ))
}

/// The peer's OTLP span export: the invocation span with Lambda's segment as its parent, one child.
pub fn peer_otlp_spans(parent: &opentelemetry::Context) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let inv = tracing::info_span!("lambda.invocation", faas.invocation_id = "r-1");
    let _ = inv.set_parent(parent.clone());
    let _inv = inv.entered();
    drop(tracing::info_span!("price_card", card_id = "c-1").entered());
}
