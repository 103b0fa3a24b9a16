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
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default())
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let peer = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    (peer, provider)
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
