//! Where a typical invocation's time goes: not a comparison (that is `invocation`), a breakdown. perf
//! is not available on the shared VM (and the workspace forbids the `unsafe` a counting allocator
//! needs), so this binary times each variant by hand — the median of several rounds of many
//! iterations — removing one part of the stack at a time:
//!
//! - `full`: the `invocation` bench's typical invocation (5 log lines, 10 counters on 2 labels,
//!   3 spans, EMF flush, one X-Ray datagram) through the real `InvocationService`;
//! - `no_xray`, `no_logs`, `no_layers`: the same without the span layer, the log layer, or both;
//! - `no_subscriber`: without any subscriber (no registry either): the service, metrics and EMF alone;
//! - `xray_discard`: spans built but the batch dropped (no translation, serialisation or send);
//! - `no_redaction`: the log layer without its redactor;
//! - `span_export`: the `invocation` bench's span export (invocation span + 1 child, X-Ray to UDP),
//!   with the batch dropped, and without context activation;
//! - `xray_stages`: that batch (captured once) cloned, translated to subsegments, serialised, and
//!   sent — each stage timed cumulatively — and a bare UDP send of the same datagram;
//! - `emf`: the `invocation` bench's EMF flush (10 and 100 counters, no labels) through held counter
//!   handles: the increments alone, increments + flush into an in-memory buffer, and a flush that finds
//!   nothing (the fixed cost of a flush).
//!
//! `cargo bench -p telemetry --bench profile` (optional arguments: iterations per round, rounds, and
//! `emf` to run only that part).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::net::UdpSocket;
use std::time::Instant;
use telemetry::context::FunctionInfo;
use telemetry::emf::{EmfBuilder, SharedBuffer};
use telemetry::logs::{JsonLogLayer, LogConfig};
use telemetry::xray::{MemorySpanSink, SegmentSink, SpanSink, UdpDaemonSink, XrayLayer, XraySegmentExporter};
use tracing_subscriber::layer::SubscriberExt;

#[path = "common.rs"]
mod common;
use common::{invoke, lambda_event, ours_service, ours_spans};

/// A named step timed on its own.
type Stage<'a> = (&'a str, Box<dyn Fn() + 'a>);

#[derive(Debug)]
struct Discard;

impl SpanSink for Discard {
    fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) {
        drop(std::hint::black_box(batch));
    }
}

fn logs(redact: bool) -> JsonLogLayer<fn() -> std::io::Sink> {
    let fi = FunctionInfo {
        service: "valuation".into(),
        function_name: Some("valuate".into()),
        memory_size: Some(512),
        ..Default::default()
    };
    let mut cfg = LogConfig::new("valuation").with_function(fi);
    if !redact {
        cfg = cfg.with_redactor(None);
    }
    JsonLogLayer::new(cfg).with_writer(std::io::sink as fn() -> std::io::Sink)
}

/// Median ns per iteration over `rounds` rounds, and the fastest round.
fn measure(iters: u64, rounds: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..iters / 4 + 1 {
        f();
    }
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        times.push(t.elapsed().as_nanos() as f64 / iters as f64);
    }
    times.sort_by(f64::total_cmp);
    (times[rounds / 2], times[0])
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let iters = args.first().copied().unwrap_or(20_000);
    let rounds = args.get(1).copied().unwrap_or(7) as usize;
    let only_emf = std::env::args().skip(1).any(|a| a == "emf");
    println!("{:<28} {:>10} {:>10}", "variant", "median ns", "min ns");
    emf(iters, rounds);
    if only_emf {
        return;
    }
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = daemon.local_addr().unwrap().to_string();
    let xray = || XrayLayer::new(UdpDaemonSink::new(&addr).unwrap());

    let (rec, mut svc) = ours_service();
    let variants: Vec<(&str, tracing::Dispatch)> = vec![
        (
            "full",
            tracing::Dispatch::new(tracing_subscriber::registry().with(logs(true)).with(xray())),
        ),
        (
            "no_xray",
            tracing::Dispatch::new(tracing_subscriber::registry().with(logs(true))),
        ),
        (
            "no_logs",
            tracing::Dispatch::new(tracing_subscriber::registry().with(xray())),
        ),
        (
            "no_layers",
            tracing::Dispatch::new(tracing_subscriber::registry()),
        ),
        ("no_subscriber", tracing::Dispatch::none()),
        (
            "xray_discard",
            tracing::Dispatch::new(
                tracing_subscriber::registry()
                    .with(logs(true))
                    .with(XrayLayer::with_span_sink(Discard)),
            ),
        ),
        (
            "no_redaction",
            tracing::Dispatch::new(tracing_subscriber::registry().with(logs(false)).with(xray())),
        ),
    ];
    for (name, dispatch) in &variants {
        let (ns, min) = tracing::dispatcher::with_default(dispatch, || {
            metrics::with_local_recorder(&rec, || {
                measure(iters, rounds, || {
                    invoke(&mut svc);
                })
            })
        });
        println!("{:<28} {ns:>10.0} {min:>10.0}", format!("typical/{name}"));
    }
    let (ns, min) = measure(iters, rounds, || drop(std::hint::black_box(lambda_event())));
    println!("{:<28} {ns:>10.0} {min:>10.0}", "typical/event_only");

    let spans: Vec<(&str, tracing::Dispatch)> = vec![
        (
            "xray_udp",
            tracing::Dispatch::new(tracing_subscriber::registry().with(xray())),
        ),
        (
            "discard",
            tracing::Dispatch::new(tracing_subscriber::registry().with(XrayLayer::with_span_sink(Discard))),
        ),
        (
            "discard_no_context",
            tracing::Dispatch::new(
                tracing_subscriber::registry()
                    .with(XrayLayer::with_span_sink(Discard).with_context_activation(false)),
            ),
        ),
        (
            "registry_only",
            tracing::Dispatch::new(tracing_subscriber::registry()),
        ),
    ];
    for (name, dispatch) in &spans {
        let (ns, min) = tracing::dispatcher::with_default(dispatch, || measure(iters, rounds, ours_spans));
        println!("{:<28} {ns:>10.0} {min:>10.0}", format!("span_export/{name}"));
    }

    let captured = MemorySpanSink::default();
    let capture = tracing::Dispatch::new(
        tracing_subscriber::registry().with(XrayLayer::with_span_sink(captured.clone())),
    );
    tracing::dispatcher::with_default(&capture, ours_spans);
    let batch = captured.batches().remove(0);
    let sink = UdpDaemonSink::new(&addr).unwrap();
    let exporter = XraySegmentExporter::new(UdpDaemonSink::new(&addr).unwrap());
    let datagram = {
        let docs = telemetry::xray::subsegments(batch.clone());
        docs.into_iter().next().unwrap().into_documents().remove(0)
    };
    let stages: Vec<Stage<'_>> = vec![
        ("clone", Box::new(|| drop(std::hint::black_box(batch.clone())))),
        (
            "clone+translate",
            Box::new(|| drop(std::hint::black_box(telemetry::xray::subsegments(batch.clone())))),
        ),
        (
            "clone+translate+serialise",
            Box::new(|| {
                for d in telemetry::xray::subsegments(batch.clone()) {
                    drop(std::hint::black_box(d.into_documents()));
                }
            }),
        ),
        ("clone+export_udp", Box::new(|| exporter.export(batch.clone()))),
        ("udp_send_only", Box::new(|| sink.send(&datagram))),
    ];
    for (name, f) in &stages {
        let (ns, min) = measure(iters, rounds, f);
        println!("{:<28} {ns:>10.0} {min:>10.0}", format!("xray_stages/{name}"));
    }
}

/// The `emf` part: run alone with `profile <iters> <rounds> emf`.
fn emf(iters: u64, rounds: usize) {
    for n in [10usize, 100] {
        let buf = SharedBuffer::default();
        let rec = EmfBuilder::new()
            .namespace("CollectIQ")
            .service("valuation")
            .with_writer(buf.clone())
            .build()
            .unwrap();
        let handles: Vec<metrics::Counter> = metrics::with_local_recorder(&rec, || {
            (0..n)
                .map(|i| metrics::counter!(format!("Metric{i:03}")))
                .collect()
        });
        let (ns, min) = measure(iters, rounds, || handles.iter().for_each(|c| c.increment(1)));
        println!("{:<28} {ns:>10.0} {min:>10.0}", format!("emf/{n}/increments"));
        let (ns, min) = measure(iters, rounds, || {
            handles.iter().for_each(|c| c.increment(1));
            buf.clear();
            std::hint::black_box(rec.flush());
        });
        println!(
            "{:<28} {ns:>10.0} {min:>10.0}",
            format!("emf/{n}/increments+flush")
        );
        let (ns, min) = measure(iters, rounds, || {
            std::hint::black_box(rec.flush());
        });
        println!("{:<28} {ns:>10.0} {min:>10.0}", format!("emf/{n}/empty_flush"));
    }
}
