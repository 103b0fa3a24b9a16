//! Generate, validate and plan dashboards.
//!
//! `CARGO_TARGET_DIR=target-dash cargo bench -p dashboards --bench dashboards`

// criterion_group! generates an undocumented public function; a benchmark may panic on bad fixtures.
#![allow(missing_docs, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use dashboards::builder::{DashboardBuilder, Metric, MetricWidget};
use dashboards::catalogue::{CatalogueOptions, dashboards_for};
use dashboards::plan::{DashboardPricing, PublishedDashboard, plan_dashboards};
use dashboards::validate::validate;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml");
    let spec = platform_spec::load(&path).expect("spec");
    let opts = CatalogueOptions::for_spec(&spec);
    c.bench_function("generate_collectiq_prod_8_dashboards", |b| {
        b.iter(|| dashboards_for(black_box(&spec), &opts).expect("valid"))
    });

    // 500 widgets × 5 metrics: the largest single page CloudWatch accepts.
    let big = (0..500)
        .fold(DashboardBuilder::new("big"), |b, i| {
            b.with_widget(
                (0..5).fold(MetricWidget::new("w", "us-east-1").with_size(6, 4), |w, j| {
                    w.with_metric(
                        Metric::aws("AWS/Lambda", "Errors")
                            .with_dimension("FunctionName", format!("f{i}-{j}")),
                    )
                }),
            )
        })
        .build()
        .expect("valid");
    c.bench_function("validate_500_widgets_2500_metrics", |b| {
        b.iter(|| validate(black_box(&big)))
    });

    // 100 published dashboards (the 8 seeds, renamed), all unchanged: parse + compare every body.
    let seeds = dashboards_for(&spec, &opts).expect("valid");
    let desired: Vec<_> = (0..100)
        .map(|i| {
            let mut d = seeds[i % seeds.len()].clone();
            d.name = format!("collectiq-prod-{i}-{}", d.name);
            d
        })
        .collect();
    let published: Vec<PublishedDashboard> = desired
        .iter()
        .map(|d| PublishedDashboard {
            name: d.name.clone(),
            body: Some(d.body_json().expect("json")),
        })
        .collect();
    c.bench_function("plan_100_dashboards_unchanged", |b| {
        b.iter(|| {
            plan_dashboards(
                black_box(&desired),
                black_box(&published),
                "collectiq-prod",
                &DashboardPricing::default(),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
