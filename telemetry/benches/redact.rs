//! Criterion benchmark of the redactor on adversarial fields (issue 12 item 6): time per byte at
//! 100 KB, 1 MB and 10 MB must stay flat (linear scan). The per-record budget is lifted
//! (`with_max_scan_bytes(usize::MAX)`) so the scanner itself is measured; `bounded/*` shows the cost
//! with the default 64 KiB budget, which is what a log line pays.
//!
//! The inputs are the shapes that made the old scanner quadratic or that stress each pass:
//! `cookie=cookie=…` (a key whose value is more keys), `cookie: ` repeated (header values),
//! `a@a@…` (e-mail candidates), `eyJ.eyJ.…` (JWT candidates), digit groups `4111 4111 …` (card
//! candidates), `%3D%22…` (percent-encoded separators), JSON quotes written `\u0022` or `&quot;`
//! and percent-encoded URL authorities.
//!
//! `cargo bench -p telemetry --bench redact`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use telemetry::redact::Redactor;

const SIZES: [(&str, usize); 3] = [("100KB", 100_000), ("1MB", 1_000_000), ("10MB", 10_000_000)];

const SHAPES: [(&str, &str); 11] = [
    ("cookie_eq", "cookie="),
    ("cookie_header", "cookie: "),
    ("at_signs", "a@a."),
    ("jwt_dots", "eyJ."),
    ("card_digits", "4111 "),
    ("percent", "token%3D%22"),
    ("percent_twice", "token%253D%2522"),
    ("percent_runs", "%25%25%25%25"),
    // The twenty-first session's quote spellings and encoded URL authorities.
    ("unicode_quotes", "\\u0022token\\u0022:"),
    ("entity_quotes", "&quot;token&quot;:"),
    ("encoded_urls", "%3A%2F%2Fa%3Ab%40"),
];

fn adversarial(unit: &str, len: usize) -> String {
    let mut s = unit.repeat(len / unit.len() + 1);
    s.truncate(len);
    s
}

fn unbounded(c: &mut Criterion) {
    let red = Redactor::default().with_max_scan_bytes(usize::MAX);
    let mut g = c.benchmark_group("redact");
    g.sample_size(10);
    for (shape, unit) in SHAPES {
        for (label, len) in SIZES {
            let input = adversarial(unit, len);
            g.throughput(Throughput::Bytes(len as u64));
            g.bench_with_input(BenchmarkId::new(shape, label), &input, |b, s| {
                b.iter(|| black_box(red.redact_str(black_box(s))).len());
            });
        }
    }
    g.finish();
}

fn bounded(c: &mut Criterion) {
    let red = Redactor::default();
    let mut g = c.benchmark_group("redact_bounded");
    g.sample_size(10);
    for (label, len) in SIZES {
        let input = adversarial("cookie=", len);
        g.bench_with_input(BenchmarkId::new("cookie_eq", label), &input, |b, s| {
            b.iter(|| black_box(red.redact_str(black_box(s))).len());
        });
    }
    g.finish();
}

criterion_group!(benches, unbounded, bounded);
criterion_main!(benches);
