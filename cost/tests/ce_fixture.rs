//! The whole pure pipeline on captured-shape AWS documents: a CE `GetCostAndUsage` page (DAILY, grouped
//! by SERVICE and the `Environment` tag, May 19 – June 17 2025), `DescribeBudgets` and `GetCostForecast`.
//! Expected sums were computed independently (Python `decimal`) from the fixture's amount strings.

#![allow(clippy::unwrap_used, reason = "test crate: a failed unwrap is a failed test")]

use chrono::{NaiveDate, TimeZone, Utc};
use cost::burn::{CeForecastInput, Tier};
use cost::input::{CostAndUsagePage, CostForecast, DailyCostTable, DescribeBudgetsPage};
use cost::pricing::PriceTable;
use cost::report::{ReportInputs, ReportSettings, build_report};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const CE_PAGE: &str = include_str!("fixtures/ce-get-cost-and-usage-collectiq-2025-06.json");
const BUDGETS: &str = include_str!("fixtures/describe-budgets-collectiq.json");
const FORECAST: &str = include_str!("fixtures/ce-get-cost-forecast-collectiq-2025-06.json");

fn d(m: u32, n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, m, n).unwrap()
}

fn table() -> DailyCostTable {
    let page: CostAndUsagePage = serde_json::from_str(CE_PAGE).unwrap();
    assert!(page.next_page_token.is_none());
    DailyCostTable::from_pages(&[page], "UnblendedCost").unwrap()
}

fn inputs() -> ReportInputs {
    let budgets: DescribeBudgetsPage = serde_json::from_str(BUDGETS).unwrap();
    let forecast: CostForecast = serde_json::from_str(FORECAST).unwrap();
    ReportInputs {
        platform: "collectiq".into(),
        environment: "prod".into(),
        as_of: Utc.with_ymd_and_hms(2025, 6, 18, 6, 0, 0).unwrap(),
        cost_and_usage: table(),
        budgets: budgets.budgets,
        ce_forecast: Some(CeForecastInput {
            forecast,
            prediction_interval_level: Some(80),
        }),
        ce_forecast_unavailable: None,
        metrics: vec![],
        self_spend: cost::report::GovernanceSpend {
            ce_requests: 2,
            ce_daily_cap: 5,
            cloudwatch_requests: 1,
            budgets_requests: 1,
        },
        notes: vec![],
    }
}

#[test]
fn page_flattens_to_rows_with_tags_and_estimated_days() {
    let t = table();
    assert_eq!(t.days.len(), 30);
    assert_eq!(t.rows.len(), 450);
    assert!(t.has_environment_tag());
    assert!(t.days[&d(6, 16)] && t.days[&d(6, 17)] && !t.days[&d(6, 15)]);
    let june = |t: &DailyCostTable| {
        t.service_totals(d(6, 1), d(6, 18))
            .values()
            .copied()
            .sum::<Decimal>()
    };
    assert_eq!(june(&t), dec!(242.068816094780038784));
    assert_eq!(
        june(&t.for_environment("prod", false)),
        dec!(239.070202682655947594)
    );
    assert_eq!(
        june(&t.for_environment("prod", true)),
        dec!(240.194005475824518588)
    );
    let sonnet = t.for_environment("prod", false).service_totals(d(6, 1), d(6, 18));
    assert_eq!(
        sonnet["Claude 3.5 Sonnet (Amazon Bedrock Edition)"],
        dec!(163.498736366998340)
    );
}

#[test]
fn report_from_fixtures() {
    let r = build_report(
        &inputs(),
        &ReportSettings::default(),
        PriceTable::bundled().unwrap(),
    );
    // The limit-less planned budget is skipped with a note, the prod budget is burned.
    assert_eq!(r.budgets.len(), 1);
    assert!(r.notes.iter().any(|n| n.contains("collectiq-bedrock-planned")));
    let b = &r.budgets[0];
    assert_eq!(b.actual.round_dp(6), dec!(240.194005));
    assert_eq!(b.projections.budgets, Some(dec!(421.8830000000000381987774279)));
    assert_eq!(b.tier, Tier::Pct80);
    let ce = b.projections.ce.as_ref().unwrap();
    // Nothing booked on June 18 yet in the page: P_ce = A + mean.
    assert_eq!(ce.mean, b.actual + dec!(172.4188215361));
    // Untagged share over all environments, settled June 1–16: 1.0588 / 214.8775 = 0.4928 %.
    let u = r.hygiene.untagged.as_ref().unwrap();
    assert_eq!(u.untagged, dec!(1.058848206568570994));
    assert_eq!(u.total, dec!(214.877531495160463094));
    assert_eq!(u.share_pct.round_dp(4), dec!(0.4928));
    assert!(r.hygiene.unmapped_bedrock_services.is_empty());
    // The Rekognition loop on June 17 is the only anomaly.
    assert_eq!(r.anomalies.len(), 1, "{:?}", r.anomalies);
    assert_eq!(r.anomalies[0].service, "Amazon Rekognition");
    assert_eq!(r.anomalies[0].amount, dec!(14.25));
    // No CardsValued series: no per-valuation figures, but the report still renders within limits.
    assert_eq!(r.unit.per_valuation, None);
    let msg = cost::slack::render(&r);
    assert!(cost::slack::validate(&msg).is_empty());
    let json = serde_json::to_value(&msg).unwrap();
    assert!(json["blocks"].as_array().unwrap().len() <= 50);
    assert!(cost::terminal::render(&r).contains("Amazon Rekognition"));
}
