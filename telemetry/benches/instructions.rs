//! The typical invocation of the `invocation` bench (5 log lines, 10 counters on 2 labels, 3 spans,
//! EMF flush, the X-Ray export), ours and the peer stack's, run `N` times each in a function of its
//! own; likewise its span export (invocation span + 1 child to the X-Ray daemon) and, with
//! `otlp-http`, the `otlp` bench's OTLP/HTTP span export and the typical invocation on the OTLP path
//! (spans to a loopback collector over OTLP/HTTP; the peer: tracing-subscriber JSON +
//! tracing-opentelemetry + `opentelemetry-otlp` + metrics_cloudwatch_embedded), the invocation's
//! thread only — for counting instructions, which a shared VM's timing noise (±30 % between runs)
//! does not touch. Not a timing: run it under callgrind and read each function's inclusive count
//! (docs/BENCHMARKS.md has the commands; the symbols need `CARGO_PROFILE_BENCH_STRIP=none`). Each
//! measured function also prints its mean wall time per call on stderr: outside valgrind, a quick
//! time check of both sides in one run (criterion's `invocation` bench stays the timing of record).
//!
//! `cargo bench -p telemetry --bench instructions -- 1000 [typical|span|otlp|otlp_typical|emf]` (a
//! name runs only that pair: its call counts are then its own, for `callgrind_annotate
//! --tree=caller`). `emf` is the `invocation` bench's 10-metric EMF flush against metrique's
//! formatting: one call of `ours_emf_flush`/`peer_emf_flush` is one flush (the recording is outside
//! it), `N` calls each. The OTLP pairs give both exporters' queues room for every batch, so neither
//! side counts dropping spans its posting thread (hardly scheduled under valgrind) has not taken yet.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "common.rs"]
mod common;
#[cfg(feature = "otlp-http")]
#[path = "otlp_common.rs"]
mod otlp_common;

use common::{
    daemon, invoke, mce, ours_dispatch, ours_service, ours_spans, peer_dispatch, peer_invoke, peer_spans,
};
use std::hint::black_box;

/// `n` times `once`, in a function named after the measurement: its name in the body keeps the
/// functions apart (the linker would fold identical ones into one symbol).
macro_rules! measured {
    ($name:ident) => {
        #[inline(never)]
        fn $name(n: u64, once: &mut dyn FnMut()) {
            black_box(stringify!($name));
            let t = std::time::Instant::now();
            for _ in 0..n {
                once();
            }
            eprintln!(
                "{} {:?}",
                stringify!($name),
                t.elapsed() / u32::try_from(n).unwrap()
            );
        }
    };
}
measured!(ours_typical_invocations);
measured!(peer_typical_invocations);
measured!(ours_span_exports);
measured!(peer_span_exports);
#[cfg(feature = "otlp-http")]
measured!(ours_otlp_http_exports);
#[cfg(feature = "otlp-http")]
measured!(peer_otlp_http_exports);
#[cfg(feature = "otlp-http")]
measured!(ours_otlp_typical_invocations);
#[cfg(feature = "otlp-http")]
measured!(peer_otlp_typical_invocations);

/// Runs `once` a tenth of `n` times to warm, then `n` times inside `measure`.
fn warm_then(n: u64, measure: fn(u64, &mut dyn FnMut()), once: &mut dyn FnMut()) {
    for _ in 0..n / 10 + 1 {
        once();
    }
    measure(n, once);
}

fn span_exports(n: u64, addr: &str) {
    let ours = ours_dispatch(addr);
    tracing::dispatcher::with_default(&ours, || warm_then(n, ours_span_exports, &mut ours_spans));
    let (peer, provider) = peer_dispatch(addr);
    tracing::dispatcher::with_default(&peer, || {
        warm_then(n, peer_span_exports, &mut peer_spans);
    });
    let _ = provider.shutdown();
}

/// Room for every batch (`.0`) and span (`.1`) of `n` measured and the warm-up's invocations of
/// `spans` spans each: under valgrind the posting threads hardly run, and a full queue would have both
/// sides count dropping spans instead of handing them over.
#[cfg(feature = "otlp-http")]
fn no_drop_queues(n: u64, spans: usize) -> (usize, usize) {
    let batches = usize::try_from(n + n / 10 + 2).unwrap();
    (batches, batches * spans)
}

#[cfg(feature = "otlp-http")]
fn otlp_http_exports(n: u64) {
    use telemetry::xray::XrayLayer;
    use tracing_subscriber::layer::SubscriberExt;
    let url = otlp_common::collector();
    let (ours_queue, peer_queue) = no_drop_queues(n, 2);
    let http = otlp_common::ours_otlp_http(url.clone(), Some(ours_queue));
    let ours = tracing::Dispatch::new(tracing_subscriber::registry().with(XrayLayer::with_span_sink(http)));
    tracing::dispatcher::with_default(&ours, || warm_then(n, ours_otlp_http_exports, &mut ours_spans));
    let provider = otlp_common::peer_otlp_provider(url, Some(peer_queue));
    let peer = otlp_common::peer_otel_only(&provider);
    let parent = otlp_common::lambda_parent();
    tracing::dispatcher::with_default(&peer, || {
        warm_then(n, peer_otlp_http_exports, &mut || {
            otlp_common::peer_otlp_spans(&parent)
        });
    });
    let _ = provider.shutdown();
}

/// One EMF flush of `names.len()` counters recorded (outside it) through the `metrics` facade.
#[inline(never)]
fn ours_emf_flush(rec: &telemetry::emf::EmfRecorder) {
    black_box("ours_emf_flush");
    black_box(rec.flush());
}

/// metrique formatting one entry into `out`, emptied first.
fn metrique_format(
    emf: &mut metrique_writer_format_emf::Emf,
    entry: &common::MetriqueEntry<'_>,
    out: &mut Vec<u8>,
) {
    use metrique_writer::format::Format;
    out.clear();
    emf.format(entry, out).unwrap();
}

/// metrique formatting one entry of the same values into EMF.
#[inline(never)]
fn peer_emf_flush(
    emf: &mut metrique_writer_format_emf::Emf,
    entry: &common::MetriqueEntry<'_>,
    out: &mut Vec<u8>,
) {
    black_box("peer_emf_flush");
    metrique_format(emf, entry, out);
    black_box(out.len());
}

/// The `invocation` bench's `emf_flush/…/10` pair, `n` flushes each: only the flush is inside the
/// measured functions (the recording, like criterion's setup, is outside them).
fn emf_flushes(n: u64) {
    let names: Vec<String> = (0..10).map(|i| format!("Metric{i:03}")).collect();
    let buf = telemetry::emf::SharedBuffer::default();
    let rec = telemetry::emf::EmfBuilder::new()
        .namespace("CollectIQ")
        .service("valuation")
        .with_writer(buf.clone())
        .build()
        .unwrap();
    // A tenth of `n` flushes warm (outside the measured function), then `n` measured ones.
    let warm = n / 10 + 1;
    metrics::with_local_recorder(&rec, || {
        for i in 0..warm + n {
            buf.clear();
            for name in &names {
                metrics::counter!(name.clone()).increment(1);
            }
            if i < warm {
                black_box(rec.flush());
            } else {
                ours_emf_flush(&rec);
            }
        }
    });
    let mut emf =
        metrique_writer_format_emf::Emf::all_validations("CollectIQ".into(), vec![vec!["service".into()]]);
    let mut out = Vec::with_capacity(16 * 1024);
    for i in 0..warm + n {
        let entry = common::MetriqueEntry { names: &names };
        if i < warm {
            metrique_format(&mut emf, &entry, &mut out);
        } else {
            peer_emf_flush(&mut emf, &entry, &mut out);
        }
    }
}

/// The typical invocation of `typical_invocations` with both stacks' spans exported over OTLP/HTTP to
/// a loopback collector (4 spans an invocation: the invocation's and the workload's 3).
#[cfg(feature = "otlp-http")]
fn otlp_typical_invocations(n: u64) {
    let url = otlp_common::collector();
    let (ours, peer, provider) = otlp_common::otlp_typical_stacks(&url, Some(no_drop_queues(n, 4)));
    let (rec, mut svc) = ours_service();
    tracing::dispatcher::with_default(&ours, || {
        metrics::with_local_recorder(&rec, || {
            warm_then(n, ours_otlp_typical_invocations, &mut || invoke(&mut svc));
        });
    });
    let collector = mce();
    let parent = otlp_common::lambda_parent();
    let mut buf: Vec<u8> = Vec::new();
    tracing::dispatcher::with_default(&peer, || {
        warm_then(n, peer_otlp_typical_invocations, &mut || {
            peer_invoke(collector, &mut buf, Some(&parent))
        });
    });
    let _ = provider.shutdown();
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(1000);
    let only = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-') && a.parse::<u64>().is_err());
    let runs = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let (_d, addr) = daemon();
    if runs("typical") {
        typical_invocations(n, &addr);
    }
    if runs("span") {
        span_exports(n, &addr);
    }
    #[cfg(feature = "otlp-http")]
    if runs("otlp") {
        otlp_http_exports(n);
    }
    #[cfg(feature = "otlp-http")]
    if runs("otlp_typical") {
        otlp_typical_invocations(n);
    }
    if runs("emf") {
        emf_flushes(n);
    }
    println!(
        "{n} each: ours_/peer_typical_invocations, ours_/peer_span_exports, ours_/peer_otlp_http_exports \
         and ours_/peer_otlp_typical_invocations (with otlp-http), ours_/peer_emf_flush (calls)"
    );
}

fn typical_invocations(n: u64, addr: &str) {
    let (rec, mut svc) = ours_service();
    let ours = ours_dispatch(addr);
    tracing::dispatcher::with_default(&ours, || {
        metrics::with_local_recorder(&rec, || {
            warm_then(n, ours_typical_invocations, &mut || invoke(&mut svc));
        });
    });
    let (peer, provider) = peer_dispatch(addr);
    let collector = mce();
    let mut buf: Vec<u8> = Vec::new();
    tracing::dispatcher::with_default(&peer, || {
        warm_then(n, peer_typical_invocations, &mut || {
            peer_invoke(collector, &mut buf, None)
        });
    });
    let _ = provider.shutdown();
}
