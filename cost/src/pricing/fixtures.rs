//! Test fixtures shared by the pricing tests: dates in June 2025, metric series, the bundled table.

use chrono::{NaiveDate, TimeZone, Utc};
use telemetry::catalogue::{DimensionKey, NAMESPACE};

use super::{BEDROCK_NAMESPACE, MODEL_ID_DIMENSION, PriceTable, TokenKind};
use crate::input::MetricSumSeries;

pub(super) const SONNET: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";

pub(super) fn d(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, n).unwrap()
}

pub(super) fn at(n: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, n, 0, 0, 0).unwrap()
}

pub(super) fn bedrock(metric: &str, id: &str, points: &[(u32, f64)]) -> MetricSumSeries {
    points.iter().fold(
        MetricSumSeries::new(BEDROCK_NAMESPACE, metric).with_dimension(MODEL_ID_DIMENSION, id),
        |s, (day, v)| s.with_point(at(*day), *v),
    )
}

pub(super) fn app(kind: TokenKind, agent: &str, model: &str, points: &[(u32, f64)]) -> MetricSumSeries {
    points.iter().fold(
        MetricSumSeries::new(NAMESPACE, kind.app_metric().as_str())
            .with_dimension(DimensionKey::Service.as_str(), "collectiq")
            .with_dimension(DimensionKey::Agent.as_str(), agent)
            .with_dimension(DimensionKey::Model.as_str(), model),
        |s, (day, v)| s.with_point(at(*day), *v),
    )
}

pub(super) fn table() -> &'static PriceTable {
    PriceTable::bundled().unwrap()
}
