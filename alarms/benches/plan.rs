//! Plan 1,000 alarms (goal < 1 s), and backtest one alarm over 14 days of one-minute data.
//!
//! `CARGO_TARGET_DIR=target-dash cargo bench -p alarms --bench plan`

// criterion_group! generates an undocumented public function; a benchmark may panic on bad fixtures.
#![allow(missing_docs, clippy::expect_used)]

use alarms::Alarm;
use alarms::backtest::{BacktestOptions, evaluate_series};
use alarms::catalogue::{CatalogueOptions, catalogue_for};
use alarms::cost::AlarmPricing;
use alarms::plan::plan_alarms;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// 1,000 alarms: CollectIQ prod's catalogue repeated under distinct names.
fn thousand() -> Vec<Alarm> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml");
    let spec = platform_spec::load(&path).expect("spec");
    let base = catalogue_for(&spec, &CatalogueOptions::for_spec(&spec))
        .expect("catalogue")
        .inputs();
    (0..)
        .flat_map(|i| {
            base.iter().map(move |a| {
                let mut a = a.clone();
                let rename =
                    |n: &mut String| *n = n.replacen("collectiq-prod-", &format!("collectiq-prod-c{i}-"), 1);
                match &mut a {
                    Alarm::Metric(m) => rename(&mut m.alarm_name),
                    Alarm::Composite(c) => rename(&mut c.alarm_name),
                }
                a
            })
        })
        .take(1_000)
        .collect()
}

fn read_back(a: &Alarm) -> Alarm {
    match a.clone() {
        Alarm::Metric(mut m) => {
            m.tags.clear();
            if m.datapoints_to_alarm == Some(m.evaluation_periods) {
                m.datapoints_to_alarm = None;
            }
            m.ok_actions.reverse();
            Alarm::Metric(m)
        }
        Alarm::Composite(mut c) => {
            c.tags.clear();
            Alarm::Composite(c)
        }
    }
}

fn bench(c: &mut Criterion) {
    let desired = thousand();
    assert_eq!(desired.len(), 1_000);
    let published: Vec<Alarm> = desired.iter().map(read_back).collect();
    let changed: Vec<Alarm> = published
        .iter()
        .cloned()
        .map(|mut a| {
            if let Alarm::Metric(m) = &mut a {
                m.threshold = m.threshold.map(|t| t + 1.0);
            }
            a
        })
        .collect();
    let pricing = AlarmPricing::default();
    let mut g = c.benchmark_group("plan_1000_alarms");
    g.bench_function("all_new", |b| {
        b.iter(|| plan_alarms(black_box(&desired), &[], "collectiq-prod", &pricing))
    });
    g.bench_function("all_unchanged", |b| {
        b.iter(|| {
            plan_alarms(
                black_box(&desired),
                black_box(&published),
                "collectiq-prod",
                &pricing,
            )
        })
    });
    g.bench_function("all_changed_with_text", |b| {
        b.iter(|| {
            plan_alarms(
                black_box(&desired),
                black_box(&changed),
                "collectiq-prod",
                &pricing,
            )
            .render_text()
        })
    });
    g.finish();

    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml");
    let spec = platform_spec::load(&path).expect("spec");
    c.bench_function("catalogue_collectiq_prod", |b| {
        b.iter(|| catalogue_for(black_box(&spec), &CatalogueOptions::for_spec(&spec)))
    });

    let alarm = match &desired[0] {
        Alarm::Metric(m) => m.clone(),
        Alarm::Composite(_) => unreachable!("the first alarm is the API 5xx math alarm"),
    };
    let values: Vec<Option<f64>> = (0..20_160)
        .map(|i| {
            if i % 97 == 0 {
                None
            } else {
                Some(f64::from(i % 13))
            }
        })
        .collect();
    c.bench_function("backtest_14_days_of_minutes", |b| {
        b.iter(|| evaluate_series(black_box(&alarm), black_box(&values), BacktestOptions::default()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
