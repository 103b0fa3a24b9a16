//! The typical invocation of the `invocation` bench (5 log lines, 10 counters on 2 labels, 3 spans,
//! EMF flush, the X-Ray export), ours and the peer stack's, run `N` times each in a function of its
//! own — for counting instructions, which a shared VM's timing noise (±30 % between runs) does not
//! touch. Not a timing: run it under callgrind and read each function's inclusive count
//! (docs/BENCHMARKS.md has the commands; the symbols need `CARGO_PROFILE_BENCH_STRIP=none`).
//!
//! `cargo bench -p telemetry --bench instructions -- 1000`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "common.rs"]
mod common;

use common::{daemon, invoke, lambda_event, mce, ours_dispatch, ours_service, peer_dispatch, workload};
use std::hint::black_box;

// Two functions with different bodies (the label), so the linker does not fold them into one symbol.
#[inline(never)]
fn ours_typical_invocations(n: u64, once: &mut dyn FnMut()) {
    black_box("ours");
    for _ in 0..n {
        once();
    }
}

#[inline(never)]
fn peer_typical_invocations(n: u64, once: &mut dyn FnMut()) {
    black_box("peer");
    for _ in 0..n {
        once();
    }
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<u64>().ok())
        .unwrap_or(1000);
    let (_d, addr) = daemon();

    let (rec, mut svc) = ours_service();
    let ours = ours_dispatch(&addr);
    tracing::dispatcher::with_default(&ours, || {
        metrics::with_local_recorder(&rec, || {
            let mut once = || invoke(&mut svc);
            // Warm: callsites registered, buffers grown, the metric cells made.
            for _ in 0..n / 10 + 1 {
                once();
            }
            ours_typical_invocations(n, &mut once);
        });
    });

    let (peer, provider) = peer_dispatch(&addr);
    let collector = mce();
    let mut buf: Vec<u8> = Vec::new();
    tracing::dispatcher::with_default(&peer, || {
        let mut once = || {
            let ev = lambda_event();
            let span = tracing::info_span!(
                "Lambda runtime invoke",
                requestId = ev.context.request_id.as_str(),
                xrayTraceId = common::HEADER
            );
            span.in_scope(workload);
            buf.clear();
            collector.flush(&mut buf).unwrap();
            drop(span);
            black_box(ev);
        };
        for _ in 0..n / 10 + 1 {
            once();
        }
        peer_typical_invocations(n, &mut once);
    });
    let _ = provider.shutdown();
    println!("{n} typical invocations each: ours_typical_invocations, peer_typical_invocations");
}
