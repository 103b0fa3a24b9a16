//! The monthly CloudWatch bill of a platform's alarms and dashboards together: `alarms` prices the
//! alarms, `dashboards` the dashboards, and neither crate depends on the other, so the sums that need
//! both are checked here (moved from `alarms/src/plan.rs` and `alarms/src/cost.rs`).
//!
//! Prices: <https://aws.amazon.com/cloudwatch/pricing/> — $3 per dashboard a month after 3 free,
//! $0.10 per standard-resolution alarm metric.

// Helpers of an integration test may panic: a failing fixture is a failing test.
#![allow(clippy::unwrap_used)]

use alarms::Alarm;
use alarms::catalogue::{CatalogueOptions, catalogue_for};
use alarms::cost::{AlarmPricing, estimate};
use alarms::plan::{plan_alarms, total_line};
use dashboards::catalogue::{CatalogueOptions as DashboardOptions, dashboards_for};
use dashboards::plan::{DashboardPricing, plan_dashboards};
use rust_decimal_macros::dec;

fn prod() -> platform_spec::PlatformSpec {
    platform_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
    )
    .unwrap()
}

fn desired_alarms(s: &platform_spec::PlatformSpec) -> Vec<Alarm> {
    catalogue_for(s, &CatalogueOptions::for_spec(s)).unwrap().inputs()
}

#[test]
fn total_line_adds_both_plans() {
    let s = prod();
    let a = plan_alarms(
        &desired_alarms(&s),
        &[],
        "collectiq-prod",
        &AlarmPricing::default(),
    );
    let ds = dashboards_for(&s, &DashboardOptions::for_spec(&s)).unwrap();
    let d = plan_dashboards(&ds, &[], "collectiq-prod", &Default::default());
    assert_eq!(
        total_line(&a, d.monthly_before, d.monthly_after),
        "Monthly: alarms +$21.50, dashboards +$15.00, total +$36.50 ($0.00/mo -> $36.50/mo)."
    );
}

#[test]
fn eight_dashboards_cost_fifteen_dollars_in_the_estimate() {
    let s = prod();
    let dashboards = 8;
    let e = estimate(
        &desired_alarms(&s),
        dashboards,
        DashboardPricing::default().monthly_cost(dashboards),
        &AlarmPricing::default(),
    );
    // 8 − 3 free = 5 × $3.
    assert_eq!(e.dashboards_usd, dec!(15));
    assert_eq!(e.total_usd, e.alarms_usd + dec!(15));
}
