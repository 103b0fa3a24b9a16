//! Criterion benchmarks of span export on the OpenTelemetry (OTLP) path against the peer stack
//! `tracing-opentelemetry` 0.34 + `opentelemetry_sdk` 0.33 (batch span processor, X-Ray id generator)
//! + `opentelemetry-otlp` 0.33 (HTTP/protobuf, reqwest blocking client), in the same run.
//!
//! Each iteration is one invocation: the invocation span (Lambda's header as parent) and one child with
//! a field, exported. Ours goes through [`XrayLayer`] into the OTLP/HTTP exporter (the batch queued; the
//! posting thread encodes and posts) or the OTLP/UDP exporter (encoded, base64, sent).
//! The peer's batch processor queues the span data and encodes on its own thread. Both HTTP exporters
//! post to the same loopback server that answers 200 to everything; the UDP datagrams go to a local
//! socket nobody reads. The figures are the cost on the invocation's thread.
//!
//! `otlp_encode` is the encoding alone, of that invocation's batch (captured once): our protobuf writer
//! (`telemetry::otel::otlp::encode`, the resource encoded each time) against opentelemetry-proto 0.33's
//! transform + prost, which the exporters used before (the resource converted once, as they did).
//!
//! `typical_invocation_otlp` is the `invocation` bench's typical invocation with the spans on this path:
//! ours against tracing-subscriber JSON + tracing-opentelemetry + `opentelemetry-otlp` +
//! metrics_cloudwatch_embedded.
//!
//! `cargo bench -p telemetry --bench otlp --features otlp-http`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::net::UdpSocket;
use telemetry::otel::http::{HttpTarget, OtlpHttpExporter};
use telemetry::otel::otlp::OtlpUdpExporter;
use telemetry::xray::XrayLayer;
use tracing_subscriber::layer::SubscriberExt;

#[path = "common.rs"]
mod common;
use common::ours_spans;
#[path = "otlp_common.rs"]
mod otlp_common;
use otlp_common::{collector, lambda_parent, peer_otlp, peer_otlp_spans, resource};

fn ours(b: &mut criterion::Bencher<'_>, dispatch: &tracing::Dispatch) {
    tracing::dispatcher::with_default(dispatch, || b.iter(ours_spans));
}

fn span_export_otlp(c: &mut Criterion) {
    let url = collector();
    let mut g = c.benchmark_group("span_export_otlp");

    let http = OtlpHttpExporter::new(HttpTarget::new(url.clone()), &resource()).unwrap();
    let http_dispatch =
        tracing::Dispatch::new(tracing_subscriber::registry().with(XrayLayer::with_span_sink(http)));
    g.bench_function("telemetry_http", |b| ours(b, &http_dispatch));

    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp = OtlpUdpExporter::new(&sink.local_addr().unwrap().to_string(), resource()).unwrap();
    let udp_dispatch =
        tracing::Dispatch::new(tracing_subscriber::registry().with(XrayLayer::with_span_sink(udp)));
    g.bench_function("telemetry_udp", |b| ours(b, &udp_dispatch));

    let (peer, provider) = peer_otlp(url);
    let parent = lambda_parent();
    g.bench_function("tracing_opentelemetry_otlp", |b| {
        tracing::dispatcher::with_default(&peer, || {
            b.iter(|| peer_otlp_spans(&parent));
        });
    });
    g.finish();
    let _ = provider.shutdown();
}

fn otlp_encode(c: &mut Criterion) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use prost::Message as _;
    let memory = telemetry::xray::MemorySpanSink::default();
    let capture = tracing::Dispatch::new(
        tracing_subscriber::registry().with(XrayLayer::with_span_sink(memory.clone())),
    );
    tracing::dispatcher::with_default(&capture, ours_spans);
    let batch = memory.spans();
    assert_eq!(batch.len(), 2, "the invocation span and its child");
    let resource = resource();
    let converted = ResourceAttributesWithSchema::from(&resource);
    let mut g = c.benchmark_group("otlp_encode");
    g.bench_function("telemetry", |b| {
        b.iter_batched(
            || batch.clone(),
            |batch| telemetry::otel::otlp::encode(batch, &resource),
            criterion::BatchSize::SmallInput,
        );
    });
    g.bench_function("opentelemetry_proto_prost", |b| {
        b.iter_batched(
            || batch.clone(),
            |batch| {
                ExportTraceServiceRequest {
                    resource_spans: group_spans_by_resource_and_scope(batch, &converted),
                }
                .encode_to_vec()
            },
            criterion::BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// Drops every batch: what the span model itself costs, without any exporter.
#[derive(Debug)]
struct Discard;

impl telemetry::xray::SpanSink for Discard {
    fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) {
        drop(std::hint::black_box(batch));
    }
}

/// Where the span model's cost goes: the layer alone, without making entered spans the current
/// OpenTelemetry context, and with the X-Ray translation and UDP send.
fn span_model(c: &mut Criterion) {
    let mut g = c.benchmark_group("span_model");
    let layer_only =
        tracing::Dispatch::new(tracing_subscriber::registry().with(XrayLayer::with_span_sink(Discard)));
    g.bench_function("layer_only", |b| ours(b, &layer_only));
    let no_context = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(XrayLayer::with_span_sink(Discard).with_context_activation(false)),
    );
    g.bench_function("layer_without_context_activation", |b| ours(b, &no_context));
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    let xray = tracing::Dispatch::new(tracing_subscriber::registry().with(XrayLayer::new(
        telemetry::xray::UdpDaemonSink::new(&daemon.local_addr().unwrap().to_string()).unwrap(),
    )));
    g.bench_function("xray_segments_udp", |b| ours(b, &xray));
    g.finish();
}

/// The `invocation` bench's typical invocation (5 log lines, 10 metrics, 3 spans, EMF flush) with the
/// spans exported over OTLP/HTTP: ours against tracing-subscriber JSON + tracing-opentelemetry +
/// `opentelemetry-otlp` + metrics_cloudwatch_embedded, both posting to one loopback collector.
fn typical_otlp(c: &mut Criterion) {
    let url = collector();
    let (ours, peer, provider) = otlp_common::otlp_typical_stacks(&url, None);
    let mut g = c.benchmark_group("typical_invocation_otlp");
    let (rec, mut svc) = common::ours_service();
    g.bench_function("telemetry", |b| {
        tracing::dispatcher::with_default(&ours, || {
            metrics::with_local_recorder(&rec, || b.iter(|| common::invoke(&mut svc)));
        });
    });
    let collector = common::mce();
    let parent = lambda_parent();
    let mut buf = Vec::new();
    g.bench_function("peer_stack", |b| {
        tracing::dispatcher::with_default(&peer, || {
            b.iter(|| common::peer_invoke(collector, &mut buf, Some(&parent)));
        });
    });
    g.finish();
    let _ = provider.shutdown();
}

criterion_group!(benches, span_export_otlp, otlp_encode, span_model, typical_otlp);
criterion_main!(benches);
