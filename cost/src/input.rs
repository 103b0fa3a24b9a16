//! Input types that mirror what the AWS APIs return, so the I/O shell can map responses 1:1.
//!
//! - Cost Explorer `GetCostAndUsage` ([`CostAndUsagePage`]): `ResultsByTime[].Groups[].Metrics`, amounts as
//!   decimal strings, `Estimated` per period, group keys such as `["AWS Lambda", "Environment$prod"]`.
//! - Cost Explorer `GetCostForecast` ([`CostForecast`]): `Total`, `ForecastResultsByTime[]` with
//!   `MeanValue` and optional prediction-interval bounds.
//! - AWS Budgets `DescribeBudgets` ([`DescribeBudgetsPage`]): `BudgetLimit`, `CalculatedSpend`.
//! - CloudWatch `GetMetricData` with statistic `Sum` ([`MetricSumSeries`]): one series per metric and
//!   dimension set.
//!
//! The serde field names are the AWS (PascalCase) names, so a captured JSON response deserializes as is.
//! [`DailyCostTable`] flattens Cost Explorer pages into rows the rest of the crate works on.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The tag key whose group values mark the environment (`Environment$prod`; `Environment$` = untagged).
pub const ENVIRONMENT_TAG: &str = "Environment";

/// An amount with its unit (`{"Amount": "0.268", "Unit": "USD"}`); CE sends long decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Amount {
    /// The amount, parsed from the decimal string exactly (rounded to 28 significant digits).
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// The unit (`USD`, or `N/A` for usage quantities).
    pub unit: String,
}

/// Parses an AWS decimal string (`"2641.548000000000229…"`, `"1E+2"`), rounding beyond 28 digits. An
/// amount beyond ±[`MAX_AMOUNT`] (10¹⁵ USD) is refused: no real bill is that large, and `7e28` would
/// overflow the first sum it entered.
///
/// # Errors
/// [`InputError::BadAmount`] when the text is not a number, [`InputError::AmountTooLarge`] when it is
/// out of range.
///
/// ```
/// let d = cost::input::parse_amount("0.26823646440000000000000000000000001").unwrap();
/// assert_eq!(d, rust_decimal::Decimal::new(2682364644, 10));
/// assert!(cost::input::parse_amount("N/A").is_err());
/// assert!(cost::input::parse_amount("7e28").is_err());
/// ```
pub fn parse_amount(text: &str) -> Result<Decimal, InputError> {
    let t = text.trim();
    let amount = t
        .parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(t))
        .map(|d| d.normalize())
        .map_err(|_| InputError::BadAmount(text.to_owned()))?;
    within_range(amount, text)
}

/// `amount` (read from `text`) when it is within ±[`MAX_AMOUNT`]: the one bound every parser of AWS
/// amounts applies.
///
/// # Errors
/// [`InputError::AmountTooLarge`] naming `text`.
pub fn within_range(amount: Decimal, text: &str) -> Result<Decimal, InputError> {
    if amount.abs() > MAX_AMOUNT {
        return Err(InputError::AmountTooLarge(text.to_owned()));
    }
    Ok(amount)
}

/// Parses an AWS `yyyy-MM-dd` date (CE `TimePeriod`; a `T…` time part is ignored).
///
/// # Errors
/// [`InputError::BadDate`] when the text is not such a date.
pub fn parse_date(text: &str) -> Result<NaiveDate, InputError> {
    let day = text.trim().get(..10).unwrap_or(text);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| InputError::BadDate(text.to_owned()))
}

impl Amount {
    /// An amount from the SDK's `amount`/`unit` strings.
    ///
    /// # Errors
    /// [`InputError::BadAmount`] when `amount` is not a number.
    ///
    /// ```
    /// let a = cost::input::Amount::parse("604.456", "USD").unwrap();
    /// assert_eq!(a.amount, rust_decimal::Decimal::new(604456, 3));
    /// ```
    pub fn parse(amount: &str, unit: &str) -> Result<Self, InputError> {
        Ok(Self {
            amount: parse_amount(amount)?,
            unit: unit.to_owned(),
        })
    }

    /// A USD amount.
    ///
    /// ```
    /// let a = cost::input::Amount::usd(rust_decimal::Decimal::ONE);
    /// assert_eq!(a.unit, "USD");
    /// ```
    #[must_use]
    pub fn usd(amount: Decimal) -> Self {
        Self {
            amount,
            unit: "USD".to_owned(),
        }
    }
}

/// A `{Start, End}` date interval; `End` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DateInterval {
    /// First day (inclusive).
    pub start: NaiveDate,
    /// Day after the last day (exclusive).
    pub end: NaiveDate,
}

/// One `GroupDefinitions[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDefinition {
    /// `DIMENSION`, `TAG` or `COST_CATEGORY`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `SERVICE`, a tag key such as `Environment`, ...
    pub key: String,
}

impl GroupDefinition {
    /// The report's grouping, as it is asked of `GetCostAndUsage` and answered: by `SERVICE` dimension,
    /// then by the [`ENVIRONMENT_TAG`] cost-allocation tag.
    #[must_use]
    pub fn report_grouping() -> Vec<Self> {
        vec![
            Self {
                kind: "DIMENSION".into(),
                key: "SERVICE".into(),
            },
            Self {
                kind: "TAG".into(),
                key: ENVIRONMENT_TAG.into(),
            },
        ]
    }
}

/// One `Groups[]` entry: keys in `GroupDefinitions` order and the requested metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Group {
    /// Group keys, e.g. `["Amazon Rekognition", "Environment$prod"]`.
    pub keys: Vec<String>,
    /// Metric name (`UnblendedCost`, ...) to amount.
    pub metrics: BTreeMap<String, Amount>,
}

/// One `ResultsByTime[]` entry (one day at DAILY granularity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultByTime {
    /// The period covered.
    pub time_period: DateInterval,
    /// Totals; empty when `GroupBy` is used.
    #[serde(default)]
    pub total: BTreeMap<String, Amount>,
    /// The groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Whether the bill for this period is not final yet (a lower bound).
    #[serde(default)]
    pub estimated: bool,
}

/// One page of a `GetCostAndUsage` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CostAndUsagePage {
    /// How groups are keyed.
    #[serde(default)]
    pub group_definitions: Vec<GroupDefinition>,
    /// One entry per period.
    #[serde(default)]
    pub results_by_time: Vec<ResultByTime>,
    /// Token of the next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// One `ForecastResultsByTime[]` entry of `GetCostForecast`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForecastResult {
    /// The forecast period.
    pub time_period: DateInterval,
    /// The mean forecast.
    #[serde(with = "rust_decimal::serde::str")]
    pub mean_value: Decimal,
    /// Lower bound of the prediction interval, when one was requested.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub prediction_interval_lower_bound: Option<Decimal>,
    /// Upper bound of the prediction interval, when one was requested.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub prediction_interval_upper_bound: Option<Decimal>,
}

/// A `GetCostForecast` response. The forecast period starts today (CE cannot forecast the past), so it
/// covers the rest of the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CostForecast {
    /// The forecast total over the whole requested period.
    #[serde(default)]
    pub total: Option<Amount>,
    /// Per-period forecasts with their intervals.
    #[serde(default)]
    pub forecast_results_by_time: Vec<ForecastResult>,
}

/// `CalculatedSpend` of a budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CalculatedSpend {
    /// Spend so far in the budget period.
    pub actual_spend: Amount,
    /// AWS Budgets' own forecast; absent early in the period or on new accounts.
    #[serde(default)]
    pub forecasted_spend: Option<Amount>,
}

/// One budget as `DescribeBudgets` returns it (only the fields cost governance reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Budget {
    /// Budget name.
    pub budget_name: String,
    /// `COST`, `USAGE`, ...
    #[serde(default)]
    pub budget_type: Option<String>,
    /// `MONTHLY`, `QUARTERLY`, ...
    #[serde(default)]
    pub time_unit: Option<String>,
    /// The limit; absent for planned/auto-adjusting budgets without a fixed limit.
    #[serde(default)]
    pub budget_limit: Option<Amount>,
    /// Actual and forecast spend.
    #[serde(default)]
    pub calculated_spend: Option<CalculatedSpend>,
}

/// One page of a `DescribeBudgets` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeBudgetsPage {
    /// The budgets on this page.
    #[serde(default)]
    pub budgets: Vec<Budget>,
    /// Token of the next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// A CloudWatch dimension `{Name, Value}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    /// Dimension name (`ModelId`, `agent`, ...).
    pub name: String,
    /// Dimension value.
    pub value: String,
}

/// One datapoint of a `Sum` series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SumPoint {
    /// Start of the aggregation period.
    pub timestamp: DateTime<Utc>,
    /// The `Sum` statistic (CloudWatch returns doubles; counts here, never money).
    pub sum: f64,
}

/// A CloudWatch `Sum` series for one metric and one exact dimension set, as the shell assembles it from
/// a `GetMetricData` query (`MetricStat{Metric{Namespace, MetricName, Dimensions}, Stat: "Sum"}`) and
/// its `Timestamps`/`Values`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricSumSeries {
    /// `AWS/Bedrock` or `CollectIQ`.
    pub namespace: String,
    /// The metric name.
    pub metric_name: String,
    /// The exact dimension set.
    pub dimensions: Vec<Dimension>,
    /// The datapoints.
    pub points: Vec<SumPoint>,
}

impl DateInterval {
    /// An interval from the SDK's `start`/`end` strings.
    ///
    /// # Errors
    /// [`InputError::BadDate`] when either is not a `yyyy-MM-dd` date.
    pub fn parse(start: &str, end: &str) -> Result<Self, InputError> {
        Ok(Self {
            start: parse_date(start)?,
            end: parse_date(end)?,
        })
    }
}

impl MetricSumSeries {
    /// A series with no points yet.
    ///
    /// ```
    /// let s = cost::input::MetricSumSeries::new("AWS/Bedrock", "InputTokenCount")
    ///     .with_dimension("ModelId", "anthropic.claude-3-haiku-20240307-v1:0");
    /// assert_eq!(s.dimension("ModelId"), Some("anthropic.claude-3-haiku-20240307-v1:0"));
    /// ```
    #[must_use]
    pub fn new(namespace: &str, metric_name: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            metric_name: metric_name.to_owned(),
            dimensions: Vec::new(),
            points: Vec::new(),
        }
    }

    /// Adds a dimension.
    #[must_use]
    pub fn with_dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push(Dimension {
            name: name.to_owned(),
            value: value.to_owned(),
        });
        self
    }

    /// Adds a datapoint.
    #[must_use]
    pub fn with_point(mut self, timestamp: DateTime<Utc>, sum: f64) -> Self {
        self.points.push(SumPoint { timestamp, sum });
        self
    }

    /// The value of dimension `name`, if present.
    #[must_use]
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }

    /// Sum of the datapoints whose timestamp falls on a day in `[start, end)`, rounded to whole units
    /// (token and valuation counts are integers; negative or non-finite sums count as 0).
    #[must_use]
    pub fn total_between(&self, start: NaiveDate, end: NaiveDate) -> u64 {
        let sum: f64 = self
            .points
            .iter()
            .filter(|p| {
                let d = p.timestamp.date_naive();
                d >= start && d < end
            })
            .map(|p| {
                if p.sum.is_finite() && p.sum > 0.0 {
                    p.sum
                } else {
                    0.0
                }
            })
            .sum();
        // `as` saturates; the value is finite and non-negative here.
        sum.round() as u64
    }
}

/// Errors turning Cost Explorer pages into rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// A group lacks the metric that was asked for.
    #[error("Cost Explorer group {keys:?} on {date} has no metric {metric:?}")]
    MissingMetric {
        /// The group keys.
        keys: Vec<String>,
        /// The day.
        date: NaiveDate,
        /// The metric asked for.
        metric: String,
    },
    /// Pages disagree on their group definitions, or a group has fewer keys than definitions.
    #[error("Cost Explorer groups are not keyed by SERVICE (definitions {definitions:?}, keys {keys:?})")]
    UnexpectedGrouping {
        /// The group definitions seen.
        definitions: Vec<String>,
        /// The offending keys.
        keys: Vec<String>,
    },
    /// An amount beyond ±10¹⁵ USD: not a real bill, and large enough to overflow later arithmetic.
    #[error("Cost Explorer amount {amount} for {service:?} on {date} is out of range")]
    OutOfRange {
        /// The service.
        service: String,
        /// The day.
        date: NaiveDate,
        /// The amount.
        amount: Decimal,
    },
    /// Not a decimal number.
    #[error("not a decimal amount: {0:?}")]
    BadAmount(String),
    /// A decimal number beyond ±[`MAX_AMOUNT`] (10¹⁵ USD).
    #[error("amount {0:?} is out of range: at most 10^15 USD either way")]
    AmountTooLarge(String),
    /// Not a `yyyy-MM-dd` date.
    #[error("not a yyyy-MM-dd date: {0:?}")]
    BadDate(String),
    /// An amount is not in USD.
    #[error("Cost Explorer amount for {service:?} on {date} is in {unit:?}, expected USD")]
    NotUsd {
        /// The service.
        service: String,
        /// The day.
        date: NaiveDate,
        /// The unit seen.
        unit: String,
    },
}

/// The pseudo-service name used when a page has no `GroupBy` (only `Total`).
pub const TOTAL_SERVICE: &str = "(total)";

/// One day's cost for one service (and tag value, when grouped by the environment tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostRow {
    /// The day.
    pub date: NaiveDate,
    /// The CE `SERVICE` value (e.g. `Claude 3.5 Sonnet (Amazon Bedrock Edition)`).
    pub service: String,
    /// The `Environment` tag value when grouped by it: `Some("")` is untagged spend.
    pub environment: Option<String>,
    /// The cost in USD.
    pub amount: Decimal,
    /// Whether CE marked the day as estimated.
    pub estimated: bool,
}

/// One day's total over all services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyTotal {
    /// The day.
    pub date: NaiveDate,
    /// Total cost in USD.
    pub amount: Decimal,
    /// Whether CE marked the day as estimated (not final).
    pub estimated: bool,
}

/// Cost Explorer DAILY results flattened into rows, one per day × service (× environment tag).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyCostTable {
    /// The rows, in page order.
    pub rows: Vec<CostRow>,
    /// Days CE returned (also those with no groups), with their `Estimated` flag.
    pub days: BTreeMap<NaiveDate, bool>,
    /// Days with a group Cost Explorer sent without an amount that could be read (`"NaN"`, out of
    /// range: the reader leaves such a group's metrics out), with the keys of each such group. The
    /// group is not in `rows`, so the day is a lower bound: it is marked `Estimated` in `days`, and is
    /// read again rather than kept as final.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable: BTreeMap<NaiveDate, Vec<Vec<String>>>,
}

impl DailyCostTable {
    /// Flattens all pages of one `GetCostAndUsage` (DAILY, grouped by `SERVICE` and optionally by the
    /// `Environment` tag) using `metric` (e.g. `UnblendedCost`).
    ///
    /// A group with no metric at all is one whose amount could not be read: its day goes into
    /// [`DailyCostTable::unreadable`] (and is marked `Estimated`) instead of failing the whole answer.
    ///
    /// # Errors
    /// [`InputError`] when a group has metrics but not `metric` (the answer is not to the question
    /// asked), an amount is not USD, or grouping is not by SERVICE.
    ///
    /// ```
    /// let page: cost::input::CostAndUsagePage = serde_json::from_str(r#"{
    ///   "GroupDefinitions":[{"Type":"DIMENSION","Key":"SERVICE"}],
    ///   "ResultsByTime":[{"TimePeriod":{"Start":"2025-06-01","End":"2025-06-02"},"Estimated":true,
    ///     "Groups":[{"Keys":["AWS Lambda"],"Metrics":{"UnblendedCost":{"Amount":"0.60000000001","Unit":"USD"}}}]}]
    /// }"#).unwrap();
    /// let table = cost::input::DailyCostTable::from_pages(&[page], "UnblendedCost").unwrap();
    /// assert_eq!(table.rows[0].service, "AWS Lambda");
    /// assert!(table.rows[0].estimated);
    /// ```
    pub fn from_pages(pages: &[CostAndUsagePage], metric: &str) -> Result<Self, InputError> {
        let mut table = Self::default();
        for page in pages {
            let defs: Vec<String> = page.group_definitions.iter().map(|d| d.key.clone()).collect();
            let service_idx = page.group_definitions.iter().position(|d| d.key == "SERVICE");
            let env_idx = page
                .group_definitions
                .iter()
                .position(|d| d.kind == "TAG" && d.key == ENVIRONMENT_TAG);
            for result in &page.results_by_time {
                let date = result.time_period.start;
                let estimated = table.days.get(&date).copied().unwrap_or(false) || result.estimated;
                table.days.insert(date, estimated);
                if page.group_definitions.is_empty() {
                    if let Some(total) = result.total.get(metric) {
                        check_usd(total, TOTAL_SERVICE, date)?;
                        table.rows.push(CostRow {
                            date,
                            service: TOTAL_SERVICE.to_owned(),
                            environment: None,
                            amount: total.amount,
                            estimated: result.estimated,
                        });
                    }
                    continue;
                }
                for group in &result.groups {
                    let Some(service) = service_idx.and_then(|i| group.keys.get(i)) else {
                        return Err(InputError::UnexpectedGrouping {
                            definitions: defs.clone(),
                            keys: group.keys.clone(),
                        });
                    };
                    if group.metrics.is_empty() {
                        table.days.insert(date, true);
                        table.unreadable.entry(date).or_default().push(group.keys.clone());
                        continue;
                    }
                    let environment = env_idx
                        .and_then(|i| group.keys.get(i))
                        .map(|k| k.split_once('$').map_or(k.as_str(), |(_, v)| v).to_owned());
                    let amount = group
                        .metrics
                        .get(metric)
                        .ok_or_else(|| InputError::MissingMetric {
                            keys: group.keys.clone(),
                            date,
                            metric: metric.to_owned(),
                        })?;
                    check_usd(amount, service, date)?;
                    table.rows.push(CostRow {
                        date,
                        service: service.clone(),
                        environment,
                        amount: amount.amount,
                        estimated: result.estimated,
                    });
                }
            }
        }
        Ok(table)
    }

    /// Adds a row (for building tables by hand in tests and seeds).
    #[must_use]
    pub fn with_row(mut self, date: NaiveDate, service: &str, amount: Decimal, estimated: bool) -> Self {
        let e = self.days.entry(date).or_insert(false);
        *e = *e || estimated;
        self.rows.push(CostRow {
            date,
            service: service.to_owned(),
            environment: None,
            amount,
            estimated,
        });
        self
    }

    /// Daily totals over all services, one per day CE returned (days without groups total 0).
    #[must_use]
    pub fn daily_totals(&self) -> Vec<DailyTotal> {
        let mut sums: BTreeMap<NaiveDate, Decimal> = self.days.keys().map(|d| (*d, Decimal::ZERO)).collect();
        // Saturating, not `+=`: a row of `from_pages` is within ±MAX_AMOUNT, so no real sum saturates;
        // a table built or stored otherwise must not panic here, and a saturated total is refused later
        // as out of range (burn::budget_burn).
        for row in &self.rows {
            let sum = sums.entry(row.date).or_default();
            *sum = sum.saturating_add(row.amount);
        }
        sums.into_iter()
            .map(|(date, amount)| DailyTotal {
                date,
                amount,
                estimated: self.days.get(&date).copied().unwrap_or(false),
            })
            .collect()
    }

    /// Per service, per day amounts (tags summed).
    #[must_use]
    pub fn by_service_day(&self) -> BTreeMap<String, BTreeMap<NaiveDate, Decimal>> {
        let mut out: BTreeMap<String, BTreeMap<NaiveDate, Decimal>> = BTreeMap::new();
        for row in &self.rows {
            let sum = out
                .entry(row.service.clone())
                .or_default()
                .entry(row.date)
                .or_default();
            *sum = sum.saturating_add(row.amount);
        }
        out
    }

    /// Per service totals over the days in `[start, end)`.
    #[must_use]
    pub fn service_totals(&self, start: NaiveDate, end: NaiveDate) -> BTreeMap<String, Decimal> {
        let mut out: BTreeMap<String, Decimal> = BTreeMap::new();
        for row in self.rows.iter().filter(|r| r.date >= start && r.date < end) {
            let sum = out.entry(row.service.clone()).or_default();
            *sum = sum.saturating_add(row.amount);
        }
        out
    }

    /// The rows of one environment (`Environment$<env>`), plus untagged rows (`Environment$`) when
    /// `include_untagged`. A table not grouped by the tag is returned whole. `days` is kept, so a day
    /// with spend only in other environments still counts as a $0 day here.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// let d = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    /// let mut t = cost::input::DailyCostTable::default();
    /// for (env, amount) in [("prod", 5), ("dev", 1), ("", 2)] {
    ///     t = t.with_tagged_row(d, "AWS Lambda", env, amount.into(), false);
    /// }
    /// assert_eq!(t.for_environment("prod", true).daily_totals()[0].amount, 7.into());
    /// assert_eq!(t.for_environment("prod", false).daily_totals()[0].amount, 5.into());
    /// ```
    #[must_use]
    pub fn for_environment(&self, environment: &str, include_untagged: bool) -> Self {
        if !self.has_environment_tag() {
            return self.clone();
        }
        let keep = |r: &CostRow| match r.environment.as_deref() {
            Some("") => include_untagged,
            Some(e) => e == environment,
            None => true,
        };
        Self {
            rows: self.rows.iter().filter(|r| keep(r)).cloned().collect(),
            days: self.days.clone(),
            unreadable: self.unreadable.clone(),
        }
    }

    /// Adds a row with an `Environment` tag value (`""` = untagged).
    #[must_use]
    pub fn with_tagged_row(
        mut self,
        date: NaiveDate,
        service: &str,
        environment: &str,
        amount: Decimal,
        estimated: bool,
    ) -> Self {
        self = self.with_row(date, service, amount, estimated);
        if let Some(last) = self.rows.last_mut() {
            last.environment = Some(environment.to_owned());
        }
        self
    }

    /// The rows and days in `[start, end)` (e.g. the days to snapshot into the ledger).
    #[must_use]
    pub fn between(&self, start: NaiveDate, end: NaiveDate) -> Self {
        Self {
            rows: self
                .rows
                .iter()
                .filter(|r| r.date >= start && r.date < end)
                .cloned()
                .collect(),
            days: self.days.range(start..end).map(|(d, e)| (*d, *e)).collect(),
            unreadable: self
                .unreadable
                .range(start..end)
                .map(|(d, keys)| (*d, keys.clone()))
                .collect(),
        }
    }

    /// This table with every day that `newer` covers replaced by `newer`'s rows: cached snapshots of
    /// past days merged with a fresh, shorter CE query, so settled days are never queried twice.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use cost::input::DailyCostTable;
    /// let (d1, d2) = (NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(), NaiveDate::from_ymd_opt(2025, 6, 2).unwrap());
    /// let cached = DailyCostTable::default().with_row(d1, "AWS Lambda", 1.into(), false).with_row(d2, "AWS Lambda", 1.into(), true);
    /// let fresh = DailyCostTable::default().with_row(d2, "AWS Lambda", 3.into(), false);
    /// let merged = cached.merged_with(&fresh);
    /// assert_eq!(merged.daily_totals().iter().map(|t| t.amount).sum::<rust_decimal::Decimal>(), 4.into());
    /// assert!(!merged.days[&d2]);
    /// ```
    #[must_use]
    pub fn merged_with(&self, newer: &Self) -> Self {
        let mut rows: Vec<CostRow> = self
            .rows
            .iter()
            .filter(|r| !newer.days.contains_key(&r.date))
            .cloned()
            .collect();
        rows.extend(newer.rows.iter().cloned());
        rows.sort_by_key(|r| r.date);
        let mut days = self.days.clone();
        days.extend(newer.days.iter().map(|(d, e)| (*d, *e)));
        let mut unreadable = self.unreadable.clone();
        unreadable.retain(|d, _| !newer.days.contains_key(d));
        unreadable.extend(newer.unreadable.iter().map(|(d, keys)| (*d, keys.clone())));
        Self {
            rows,
            days,
            unreadable,
        }
    }

    /// Whether the rows carry the `Environment` tag (needed for the untagged share).
    #[must_use]
    pub fn has_environment_tag(&self) -> bool {
        self.rows.iter().any(|r| r.environment.is_some())
    }
}

/// Largest amount accepted from Cost Explorer (absolute value).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0); // 10^15

fn check_usd(amount: &Amount, service: &str, date: NaiveDate) -> Result<(), InputError> {
    if amount.amount.abs() > MAX_AMOUNT {
        return Err(InputError::OutOfRange {
            service: service.to_owned(),
            date,
            amount: amount.amount,
        });
    }
    // A zero amount may come back with an empty unit; only a real non-USD currency is an error.
    if amount.unit == "USD" || amount.amount.is_zero() {
        Ok(())
    } else {
        Err(InputError::NotUsd {
            service: service.to_owned(),
            date,
            unit: amount.unit.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn long_ce_amount_strings_parse_without_error() {
        let a: Amount = serde_json::from_str(
            r#"{"Amount":"2641.54800000000022919266484677791595458984375","Unit":"USD"}"#,
        )
        .unwrap();
        assert_eq!(a.amount.round_dp(3), dec!(2641.548));
    }

    #[test]
    fn sdk_strings_parse_with_clear_errors() {
        assert_eq!(parse_amount(" 1E+2 ").unwrap(), dec!(100));
        assert_eq!(
            parse_amount("2641.54800000000022919266484677791595458984375")
                .unwrap()
                .round_dp(3),
            dec!(2641.548)
        );
        assert_eq!(parse_amount("x"), Err(InputError::BadAmount("x".into())));
        let i = DateInterval::parse("2025-06-01", "2025-06-02T00:00:00Z").unwrap();
        assert_eq!(i.end, NaiveDate::from_ymd_opt(2025, 6, 2).unwrap());
        assert_eq!(
            DateInterval::parse("June", "2025-06-02"),
            Err(InputError::BadDate("June".into()))
        );
        assert!(Amount::parse("1.5", "USD").is_ok());
    }

    #[test]
    fn budget_without_forecast_parses() {
        let b: Budget = serde_json::from_str(
            r#"{"BudgetName":"prod","BudgetType":"COST","TimeUnit":"MONTHLY",
                "BudgetLimit":{"Amount":"500","Unit":"USD"},
                "CalculatedSpend":{"ActualSpend":{"Amount":"604.456","Unit":"USD"}},
                "TimePeriod":{"Start":1477958399.0,"End":3706473600.0}}"#,
        )
        .unwrap();
        let spend = b.calculated_spend.unwrap();
        assert_eq!(spend.actual_spend.amount, dec!(604.456));
        assert!(spend.forecasted_spend.is_none());
        assert_eq!(b.budget_limit.unwrap().amount, dec!(500));
    }

    #[test]
    fn forecast_parses_with_and_without_interval() {
        let f: CostForecast = serde_json::from_str(
            r#"{"Total":{"Amount":"120.5","Unit":"USD"},"ForecastResultsByTime":[
                {"TimePeriod":{"Start":"2025-06-18","End":"2025-07-01"},"MeanValue":"120.5",
                 "PredictionIntervalLowerBound":"100","PredictionIntervalUpperBound":"140.25"}]}"#,
        )
        .unwrap();
        assert_eq!(
            f.forecast_results_by_time[0].prediction_interval_upper_bound,
            Some(dec!(140.25))
        );
        let g: CostForecast = serde_json::from_str(
            r#"{"ForecastResultsByTime":[{"TimePeriod":{"Start":"2025-06-18","End":"2025-07-01"},"MeanValue":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(
            g.forecast_results_by_time[0].prediction_interval_lower_bound,
            None
        );
    }

    fn page_with_env() -> CostAndUsagePage {
        serde_json::from_str(
            r#"{"GroupDefinitions":[{"Type":"DIMENSION","Key":"SERVICE"},{"Type":"TAG","Key":"Environment"}],
            "ResultsByTime":[
              {"TimePeriod":{"Start":"2025-06-01","End":"2025-06-02"},"Estimated":false,"Total":{},"Groups":[
                {"Keys":["AWS Lambda","Environment$prod"],"Metrics":{"UnblendedCost":{"Amount":"1.5","Unit":"USD"}}},
                {"Keys":["AWS Lambda","Environment$"],"Metrics":{"UnblendedCost":{"Amount":"0.5","Unit":"USD"}}}]},
              {"TimePeriod":{"Start":"2025-06-02","End":"2025-06-03"},"Estimated":true,"Total":{},"Groups":[]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn pages_flatten_with_tags_and_empty_days() {
        let t = DailyCostTable::from_pages(&[page_with_env()], "UnblendedCost").unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].environment.as_deref(), Some("prod"));
        assert_eq!(t.rows[1].environment.as_deref(), Some(""));
        assert!(t.has_environment_tag());
        let totals = t.daily_totals();
        assert_eq!(totals.len(), 2);
        assert_eq!(totals[0].amount, dec!(2.0));
        assert!(!totals[0].estimated);
        assert_eq!(totals[1].amount, Decimal::ZERO);
        assert!(totals[1].estimated);
        let d1 = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let d3 = NaiveDate::from_ymd_opt(2025, 6, 3).unwrap();
        assert_eq!(t.service_totals(d1, d3)["AWS Lambda"], dec!(2.0));
    }

    #[test]
    fn missing_metric_and_non_usd_are_errors() {
        let err = DailyCostTable::from_pages(&[page_with_env()], "AmortizedCost").unwrap_err();
        assert!(matches!(err, InputError::MissingMetric { .. }), "{err}");
        let mut page = page_with_env();
        page.results_by_time[0].groups[0]
            .metrics
            .get_mut("UnblendedCost")
            .unwrap()
            .unit = "EUR".into();
        let err = DailyCostTable::from_pages(&[page], "UnblendedCost").unwrap_err();
        assert!(matches!(err, InputError::NotUsd { .. }), "{err}");
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000_000_i64));
        let mut page = page_with_env();
        page.results_by_time[0].groups[0]
            .metrics
            .get_mut("UnblendedCost")
            .unwrap()
            .amount = Decimal::MAX;
        let err = DailyCostTable::from_pages(&[page], "UnblendedCost").unwrap_err();
        assert!(matches!(err, InputError::OutOfRange { .. }), "{err}");
    }

    /// Issue 13: a hostile answer of `7e28` parsed, and the next sum panicked.
    #[test]
    fn hostile_amounts_are_refused_at_parse_and_sums_never_panic() {
        for text in [
            "7e28",
            "-7e28",
            "79228162514264337593543950335",
            "1000000000000000.01",
        ] {
            let e = parse_amount(text).unwrap_err();
            assert_eq!(e, InputError::AmountTooLarge(text.into()), "{text}");
            assert!(e.to_string().contains("out of range"), "{e}");
            assert!(Amount::parse(text, "USD").is_err(), "{text}");
        }
        assert_eq!(parse_amount("1e15").unwrap(), MAX_AMOUNT);
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let table = DailyCostTable::default()
            .with_row(d, "AWS Lambda", Decimal::MAX, false)
            .with_row(d, "AWS Lambda", Decimal::MAX, false);
        assert_eq!(table.daily_totals()[0].amount, Decimal::MAX);
        assert_eq!(table.by_service_day()["AWS Lambda"][&d], Decimal::MAX);
        let next = d.succ_opt().unwrap();
        assert_eq!(table.service_totals(d, next)["AWS Lambda"], Decimal::MAX);
    }

    /// Audit: one group whose amount the reader could not read (it keeps no metric) made the whole
    /// answer an error. Only its day is incomplete: a lower bound, marked `Estimated`, its group named.
    #[test]
    fn a_group_without_a_readable_amount_leaves_its_day_incomplete_not_the_answer() {
        let mut page = page_with_env();
        page.results_by_time[0].groups.push(Group {
            keys: vec!["Amazon Rekognition".into(), "Environment$dev".into()],
            metrics: BTreeMap::new(),
        });
        let t = DailyCostTable::from_pages(&[page], "UnblendedCost").unwrap();
        let (d1, d2) = (
            NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            NaiveDate::from_ymd_opt(2025, 6, 2).unwrap(),
        );
        assert_eq!(t.rows.len(), 2, "the readable groups are kept");
        assert_eq!(
            t.unreadable[&d1],
            vec![vec![
                "Amazon Rekognition".to_owned(),
                "Environment$dev".to_owned()
            ]]
        );
        assert!(t.days[&d1], "a lower bound: marked Estimated");
        assert_eq!(t.daily_totals()[0].amount, dec!(2.0));
        assert!(t.for_environment("prod", true).unreadable.contains_key(&d1));
        assert!(t.between(d2, d2.succ_opt().unwrap()).unreadable.is_empty());
        // A fresh read of the day replaces it, as it replaces its rows.
        let fresh = DailyCostTable::default().with_row(d1, "AWS Lambda", dec!(5), false);
        assert!(t.merged_with(&fresh).unreadable.is_empty());
        assert!(fresh.merged_with(&t).unreadable.contains_key(&d1));
        // A group with metrics, none of them the one asked for, is still the whole answer's error.
        let err = DailyCostTable::from_pages(&[page_with_env()], "AmortizedCost").unwrap_err();
        assert!(matches!(err, InputError::MissingMetric { .. }), "{err}");
    }

    #[test]
    fn grouping_without_service_is_rejected() {
        let mut page = page_with_env();
        page.group_definitions.remove(0);
        page.group_definitions[0].kind = "TAG".into();
        let err = DailyCostTable::from_pages(&[page], "UnblendedCost").unwrap_err();
        assert!(matches!(err, InputError::UnexpectedGrouping { .. }), "{err}");
    }

    #[test]
    fn between_and_merge_replace_whole_days() {
        let t = DailyCostTable::from_pages(&[page_with_env()], "UnblendedCost").unwrap();
        let d1 = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let d2 = NaiveDate::from_ymd_opt(2025, 6, 2).unwrap();
        let first = t.between(d1, d2);
        assert_eq!((first.rows.len(), first.days.len()), (2, 1));
        // A fresh query for June 1 with one group replaces both cached June 1 rows; June 2 is kept.
        let fresh = DailyCostTable::default().with_row(d1, "AWS Lambda", dec!(5), false);
        let merged = t.merged_with(&fresh);
        assert_eq!(merged.rows.len(), 1);
        assert_eq!(merged.daily_totals()[0].amount, dec!(5));
        assert!(merged.days[&d2]);
        assert_eq!(merged.days.len(), 2);
    }

    #[test]
    fn metric_series_total_filters_days_and_rounds() {
        let ts = |d: u32| {
            NaiveDate::from_ymd_opt(2025, 6, d)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
        };
        let s = MetricSumSeries::new("CollectIQ", "CardsValued")
            .with_point(ts(1), 10.4)
            .with_point(ts(2), 20.2)
            .with_point(ts(3), f64::NAN)
            .with_point(ts(4), 99.0);
        let start = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        let end = NaiveDate::from_ymd_opt(2025, 6, 4).unwrap();
        assert_eq!(s.total_between(start, end), 31);
    }
}
