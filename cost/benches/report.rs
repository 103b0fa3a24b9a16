//! Cost of the pure part of a governance run: parsing one CE page, building the report and rendering it
//! (Slack, terminal, SVG and PNG chart), on the CollectIQ fixture month and on a 200-service account.

#![allow(missing_docs, clippy::unwrap_used, reason = "benchmark harness")]

use std::hint::black_box;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use cost::burn::CeForecastInput;
use cost::input::{CostAndUsagePage, CostForecast, DailyCostTable, DescribeBudgetsPage};
use cost::pricing::PriceTable;
use cost::report::{ReportInputs, ReportSettings, build_report};
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;

const CE_PAGE: &str = include_str!("../tests/fixtures/ce-get-cost-and-usage-collectiq-2025-06.json");
const BUDGETS: &str = include_str!("../tests/fixtures/describe-budgets-collectiq.json");
const FORECAST: &str = include_str!("../tests/fixtures/ce-get-cost-forecast-collectiq-2025-06.json");

fn inputs(table: DailyCostTable) -> ReportInputs {
    let budgets: DescribeBudgetsPage = serde_json::from_str(BUDGETS).unwrap();
    let forecast: CostForecast = serde_json::from_str(FORECAST).unwrap();
    ReportInputs {
        platform: "collectiq".into(),
        environment: "prod".into(),
        as_of: Utc.with_ymd_and_hms(2025, 6, 18, 6, 0, 0).unwrap(),
        cost_and_usage: table,
        budgets: budgets.budgets,
        ce_forecast: Some(CeForecastInput {
            forecast,
            prediction_interval_level: Some(80),
        }),
        ce_forecast_unavailable: None,
        metrics: vec![],
        self_spend: Default::default(),
        notes: vec![],
    }
}

fn big_table() -> DailyCostTable {
    let start = NaiveDate::from_ymd_opt(2025, 5, 4).unwrap();
    let mut t = DailyCostTable::default();
    for day in 0..46 {
        let date = start + Duration::days(day);
        for s in 0..200 {
            let amount = Decimal::new(100 + (s * 37 + day * 11) % 900, 2);
            t = t.with_row(date, &format!("Service number {s}"), amount, day > 42);
        }
    }
    t
}

fn bench(c: &mut Criterion) {
    let prices = PriceTable::bundled().unwrap();
    let settings = ReportSettings::default();
    c.bench_function("parse_ce_page_450_groups", |b| {
        b.iter(|| {
            let page: CostAndUsagePage = serde_json::from_str(black_box(CE_PAGE)).unwrap();
            DailyCostTable::from_pages(&[page], "UnblendedCost").unwrap()
        });
    });
    let page: CostAndUsagePage = serde_json::from_str(CE_PAGE).unwrap();
    let fixture = inputs(DailyCostTable::from_pages(&[page], "UnblendedCost").unwrap());
    c.bench_function("build_report_fixture_month", |b| {
        b.iter(|| build_report(black_box(&fixture), &settings, prices))
    });
    let report = build_report(&fixture, &settings, prices);
    c.bench_function("render_slack_fixture_month", |b| {
        b.iter(|| cost::slack::render(black_box(&report)))
    });
    c.bench_function("render_chart_svg", |b| {
        b.iter(|| cost::chart::burn_chart_svg(black_box(&report.budgets[0]), &[], 900, 450).unwrap());
    });
    c.bench_function("render_chart_png", |b| {
        b.iter(|| cost::chart::burn_chart_png(black_box(&report.budgets[0]), &[], 960, 480).unwrap());
    });
    let big = inputs(big_table());
    c.bench_function("build_and_render_200_services_46_days", |b| {
        b.iter(|| cost::slack::render(&build_report(black_box(&big), &settings, prices)));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
