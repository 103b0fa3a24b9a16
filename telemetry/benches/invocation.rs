//! Criterion benchmarks of `telemetry` against the peer stack, in the same run:
//! tracing-subscriber JSON (`flatten_event`) + metrics_cloudwatch_embedded + opentelemetry-aws's X-Ray
//! exporter (through tracing-opentelemetry), and metrique's EMF writer. Log lines go to `io::sink`
//! (every library renders a line into its own buffer first), EMF documents into an in-memory buffer
//! (writing to `io::sink` would let a writer that streams small pieces skip the copying), spans to a
//! local UDP socket nobody reads: the figures are the libraries' own cost.
//!
//! `cargo bench -p telemetry --bench invocation`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use metrique_writer::format::Format;
use std::hint::black_box;
use telemetry::emf::EmfBuilder;

#[path = "common.rs"]
mod common;
use common::*;

fn typical_invocation(c: &mut Criterion) {
    let (_d1, addr) = daemon();
    let mut g = c.benchmark_group("typical_invocation");

    let (rec, mut svc) = ours_service();
    let dispatch = ours_dispatch(&addr);
    g.bench_function("telemetry", |b| {
        tracing::dispatcher::with_default(&dispatch, || {
            metrics::with_local_recorder(&rec, || {
                b.iter(|| {
                    invoke(&mut svc);
                });
            });
        });
    });

    let (peer, _provider) = peer_dispatch(&addr);
    let collector = mce();
    let mut mce_buf: Vec<u8> = Vec::new();
    g.bench_function("peer_stack", |b| {
        tracing::dispatcher::with_default(&peer, || {
            b.iter(|| peer_invoke(collector, &mut mce_buf, None));
        });
    });
    g.finish();
}

fn log_line(c: &mut Criterion) {
    let (_d, addr) = daemon();
    let mut g = c.benchmark_group("log_line");
    let ours = ours_dispatch(&addr);
    g.bench_function("telemetry", |b| {
        tracing::dispatcher::with_default(&ours, || {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                function_request_id = "r-1",
                cold_start = false
            )
            .entered();
            b.iter(|| tracing::info!(card_id = "c-1", latency_ms = 12.5, "card valued"));
        });
    });
    let (peer, _p) = peer_dispatch(&addr);
    g.bench_function("tracing_subscriber_json", |b| {
        tracing::dispatcher::with_default(&peer, || {
            let _inv = tracing::info_span!("Lambda runtime invoke", requestId = "r-1").entered();
            b.iter(|| tracing::info!(card_id = "c-1", latency_ms = 12.5, "card valued"));
        });
    });
    g.finish();
}

/// Encoding cost only: the metrics are recorded (or the entry built) in the untimed setup, one flush per
/// setup (`PerIteration`: with larger batches all but the first flush would find nothing to write).
fn emf_flush(c: &mut Criterion) {
    let mut g = c.benchmark_group("emf_flush");
    for n in [10usize, 100] {
        let names: Vec<String> = (0..n).map(|i| format!("Metric{i:03}")).collect();
        let record = |names: &[String]| {
            for name in names {
                metrics::counter!(name.clone()).increment(1);
            }
        };
        let buf = telemetry::emf::SharedBuffer::default();
        let rec = EmfBuilder::new()
            .namespace("CollectIQ")
            .service("valuation")
            .with_writer(buf.clone())
            .build()
            .unwrap();
        g.bench_with_input(BenchmarkId::new("telemetry", n), &names, |b, names| {
            metrics::with_local_recorder(&rec, || {
                b.iter_batched(
                    || {
                        buf.clear();
                        record(names);
                    },
                    |()| black_box(rec.flush()),
                    BatchSize::PerIteration,
                );
            });
        });
        let collector = mce();
        let mut mce_buf: Vec<u8> = Vec::new();
        g.bench_with_input(
            BenchmarkId::new("metrics_cloudwatch_embedded", n),
            &names,
            |b, names| {
                b.iter_batched(
                    || record(names),
                    |()| {
                        mce_buf.clear();
                        collector.flush(&mut mce_buf).unwrap();
                    },
                    BatchSize::PerIteration,
                );
            },
        );
        let mut emf = metrique_writer_format_emf::Emf::all_validations(
            "CollectIQ".into(),
            vec![vec!["service".into()]],
        );
        let mut out = Vec::with_capacity(16 * 1024);
        g.bench_with_input(BenchmarkId::new("metrique", n), &names, |b, names| {
            b.iter_batched(
                || MetriqueEntry { names },
                |entry| {
                    out.clear();
                    emf.format(&entry, &mut out).unwrap();
                    black_box(out.len());
                },
                BatchSize::PerIteration,
            );
        });
    }
    g.finish();
}

/// One exported span: an invocation with one child span, both sent to the (local) daemon.
fn span_export(c: &mut Criterion) {
    let (_d, addr) = daemon();
    let mut g = c.benchmark_group("span_export");
    let ours = ours_dispatch(&addr);
    g.bench_function("telemetry", |b| {
        tracing::dispatcher::with_default(&ours, || {
            b.iter(ours_spans);
        });
    });
    let (peer, _p) = peer_dispatch(&addr);
    g.bench_function("opentelemetry_aws", |b| {
        tracing::dispatcher::with_default(&peer, || {
            b.iter(peer_spans);
        });
    });
    g.finish();
}

criterion_group!(benches, typical_invocation, log_line, emf_flush, span_export);
criterion_main!(benches);
