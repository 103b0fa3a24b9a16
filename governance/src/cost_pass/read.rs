//! Reading AWS into the [`cost::input`] types with the fewest calls: one `GetCostAndUsage` (all pages),
//! one `GetCostForecast`, one `DescribeBudgets`, and one `GetMetricData` batch for every token and volume
//! metric (after one `ListMetrics` per namespace to find the exact dimension sets).
//!
//! These are the SDK halves of the [`super::source::CostReads`] seam: one request (or one paging loop
//! that costs nothing) each. Every Cost Explorer request first takes a unit of the daily cap from the
//! ledger ([`CeQuota`]); [`super::source`] does that before each page, for every implementation.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use aws_error::AwsCallError;
use aws_sdk_cloudwatch::types::{
    Dimension as CwDimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};
use aws_sdk_costexplorer::types::{
    DateInterval as CeInterval, Dimension as CeDimension, DimensionValues, Expression, Granularity,
    GroupDefinition as CeGroupDefinition, GroupDefinitionType, MatchOption, Metric as CeMetric, MetricValue,
    TagValues,
};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, NaiveDate, Utc};
use cost::burn::CeForecastInput;
use cost::input::{
    Amount, Budget, CalculatedSpend, CostAndUsagePage, CostForecast, DateInterval, ENVIRONMENT_TAG,
    ForecastResult, Group, GroupDefinition, MetricSumSeries, ResultByTime,
};
use cost::pricing::{BEDROCK_NAMESPACE, MODEL_ID_DIMENSION, TokenKind};
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;
use telemetry::catalogue::{DimensionKey, MetricName, NAMESPACE};

use super::forecast::ForecastUnavailable;
use crate::ledger::{Counted, Ledger, LedgerError, LedgerStore};
use crate::publish::cloudwatch::{MAX_PAGES, PageGuard, PagingError};

/// The Cost Explorer metric the report uses.
pub const COST_METRIC: &str = "UnblendedCost";

/// The prediction interval asked of `GetCostForecast`, percent.
pub const FORECAST_INTERVAL_LEVEL: u8 = 80;

/// Most queries one `GetMetricData` request takes.
pub const MAX_QUERIES_PER_REQUEST: usize = 500;

/// A read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// An AWS call failed (classified: throttled, denied, transport, ...; the SDK error is its source).
    #[error("{api}: {}", .cause.summary())]
    Aws {
        /// `ce:GetCostAndUsage`, ...
        api: &'static str,
        /// The classified failure. Boxed: the call error is large and every read `Result` carries it.
        #[source]
        cause: Box<AwsCallError>,
    },
    /// The Cost Explorer daily request cap is used up.
    #[error("Cost Explorer daily cap reached ({used} of {cap} requests today)")]
    CapReached {
        /// Requests counted today.
        used: u64,
        /// The cap.
        cap: u32,
    },
    /// The ledger could not count the request.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// `GetCostForecast` failed, classified.
    #[error("ce:GetCostForecast: {0}")]
    Forecast(ForecastUnavailable),
    /// A call answered, but left part of what was asked unread (a `GetMetricData` series whose
    /// `StatusCode` is not `Complete`), classified as the service put it (`Forbidden`: access denied).
    #[error("{api}: {detail}")]
    Incomplete {
        /// The call.
        api: &'static str,
        /// Which part, and why.
        detail: String,
        /// The class of the series' status, when it has one.
        class: Option<aws_error::ErrorClass>,
    },
    /// An answer could not be understood.
    #[error("{api}: unexpected answer: {detail}")]
    Unexpected {
        /// The call.
        api: &'static str,
        /// What was wrong.
        detail: String,
    },
}

impl ReadError {
    /// The AWS failure class (throttled, access denied, timeout, …) when an AWS call failed — the read's
    /// own, or the ledger's; `None` for a cap, a forecast CE would not make, or an answer not understood.
    #[must_use]
    pub fn class(&self) -> Option<aws_error::ErrorClass> {
        match self {
            Self::Aws { cause, .. } => Some(cause.class()),
            Self::Incomplete { class, .. } => *class,
            Self::Ledger(e) => e.class(),
            Self::CapReached { .. } | Self::Forecast(_) | Self::Unexpected { .. } => None,
        }
    }
}

/// The Cost Explorer daily request cap, counted in the ledger (`{prefix}#ce-requests`, one item per UTC
/// day). [`CeQuota::take`] is called before every request, so two concurrent runs cannot exceed it; the
/// SDK's retries are added by [`super::counting::RequestCounter::ce_request`]. A cap of `0` means no
/// request at all.
#[derive(Debug, Clone)]
pub struct CeQuota<'a, L = Ledger> {
    /// The ledger.
    pub ledger: &'a L,
    /// Partition key of the counter.
    pub pk: String,
    /// Sort key: the UTC day the requests are billed on.
    pub day: String,
    /// Most requests per day.
    pub cap: u32,
}

/// How long a day's request counter is kept.
const COUNTER_KEEP: std::time::Duration = std::time::Duration::from_secs(3 * 86_400);

impl<'a, L: LedgerStore> CeQuota<'a, L> {
    /// The cap of `spec` (`[cost] ce_daily_request_cap`) on the counter of the UTC day of `now`.
    #[must_use]
    pub fn for_spec(ledger: &'a L, spec: &PlatformSpec, now: DateTime<Utc>) -> Self {
        Self {
            ledger,
            pk: super::state::Keys::new(spec.managed_prefix()).ce_requests(),
            day: now.date_naive().to_string(),
            cap: spec.cost.ce_daily_request_cap,
        }
    }

    /// Takes one request from today's allowance; answers the count after it.
    ///
    /// # Errors
    /// [`ReadError::CapReached`] when the cap is used up (always for a cap of `0`, without touching the
    /// ledger), [`ReadError::Ledger`] when counting fails.
    pub async fn take(&self) -> Result<u64, ReadError> {
        if self.cap == 0 {
            return Err(ReadError::CapReached { used: 0, cap: 0 });
        }
        match self
            .ledger
            .increment(&self.pk, &self.day, 1, Some(u64::from(self.cap)), COUNTER_KEEP)
            .await?
        {
            Counted::Ok(n) => Ok(n),
            Counted::CapReached(used) => Err(ReadError::CapReached { used, cap: self.cap }),
        }
    }

    /// Adds requests already sent (SDK retries) to today's count, whatever the cap: they were billed.
    ///
    /// # Errors
    /// [`ReadError::Ledger`] when counting fails.
    pub async fn add(&self, sent: u64) -> Result<u64, ReadError> {
        match self
            .ledger
            .increment(&self.pk, &self.day, sent, None, COUNTER_KEEP)
            .await?
        {
            Counted::Ok(n) | Counted::CapReached(n) => Ok(n),
        }
    }

    /// Requests counted today.
    ///
    /// # Errors
    /// When the ledger read fails.
    pub async fn used(&self) -> Result<u64, ReadError> {
        Ok(self.ledger.counter(&self.pk, &self.day).await?)
    }
}

/// A paging loop's bound hit, as the read error of `api`.
fn paging(api: &'static str) -> impl FnOnce(PagingError) -> ReadError {
    move |e| ReadError::Unexpected {
        api,
        detail: e.to_string(),
    }
}

/// The failure of `api` (`ce:GetCostAndUsage`), classified under the SDK's service and operation names.
fn aws_err<E, R>(
    api: &'static str,
) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> ReadError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: aws_error::RawAnswer + std::fmt::Debug + Send + Sync + 'static,
{
    let (prefix, operation) = api.split_once(':').unwrap_or(("", api));
    let service = match prefix {
        "ce" => "CostExplorer",
        "budgets" => "Budgets",
        "cloudwatch" => "CloudWatch",
        other => other,
    };
    move |e| ReadError::Aws {
        api,
        cause: Box::new(AwsCallError::from_sdk(service, operation, e)),
    }
}

fn ce_interval(start: NaiveDate, end: NaiveDate) -> Result<CeInterval, ReadError> {
    CeInterval::builder()
        .start(start.to_string())
        .end(end.to_string())
        .build()
        .map_err(|e| ReadError::Unexpected {
            api: "ce",
            detail: e.to_string(),
        })
}

/// Credits and refunds are not spend: excluded so a refund does not read as a drop in usage.
fn no_credits() -> Result<Expression, ReadError> {
    let values = DimensionValues::builder()
        .key(CeDimension::RecordType)
        .values("Credit")
        .values("Refund")
        .build();
    Ok(Expression::builder()
        .not(Expression::builder().dimensions(values).build())
        .build())
}

/// One page of `GetCostAndUsage` DAILY over `[start, end)`, grouped by `SERVICE` and the `Environment`
/// tag (every environment: hygiene needs the untagged share), from `token`. The caller takes the quota
/// unit and follows the pages ([`super::source::cost_and_usage`]).
///
/// # Errors
/// [`ReadError`] when the request fails or an amount does not parse.
pub async fn cost_and_usage_page(
    ce: &aws_sdk_costexplorer::Client,
    start: NaiveDate,
    end: NaiveDate,
    token: Option<String>,
) -> Result<CostAndUsagePage, ReadError> {
    let api = "ce:GetCostAndUsage";
    let out = ce
        .get_cost_and_usage()
        .time_period(ce_interval(start, end)?)
        .granularity(Granularity::Daily)
        .metrics(COST_METRIC)
        .group_by(
            CeGroupDefinition::builder()
                .r#type(GroupDefinitionType::Dimension)
                .key("SERVICE")
                .build(),
        )
        .group_by(
            CeGroupDefinition::builder()
                .r#type(GroupDefinitionType::Tag)
                .key(ENVIRONMENT_TAG)
                .build(),
        )
        .filter(no_credits()?)
        .set_next_page_token(token)
        .send()
        .await
        .map_err(aws_err(api))?;
    let (page, unreadable) = partial_page_from_sdk(&out)?;
    for u in &unreadable {
        tracing::warn!(
            day = %u.date,
            group = ?u.keys,
            detail = %u.detail,
            "Cost Explorer amount unreadable: its day is left incomplete and asked for again"
        );
    }
    Ok(page)
}

/// Parses an AWS amount, refusing one beyond ±[`cost::input::MAX_AMOUNT`] (10¹⁵ USD): no real bill is
/// that large, and a hostile answer such as `79228162514264337593543950335` would overflow the first sum
/// it entered.
fn parse_decimal(api: &'static str, what: &str, s: &str) -> Result<Decimal, ReadError> {
    // `from_str` rounds beyond 28 significant digits, which CE's long strings need.
    let amount = Decimal::from_str(s.trim()).map_err(|e| ReadError::Unexpected {
        api,
        detail: format!("{what} {s:?} is not a decimal: {e}"),
    })?;
    cost::input::within_range(amount, s).map_err(|e| ReadError::Unexpected {
        api,
        detail: format!("{what}: {e}"),
    })
}

fn amount_of(api: &'static str, m: &MetricValue) -> Result<Amount, ReadError> {
    Ok(Amount {
        amount: match m.amount() {
            Some(a) => parse_decimal(api, "amount", a)?,
            None => Decimal::ZERO,
        },
        unit: m.unit().unwrap_or_default().to_owned(),
    })
}

fn date_of(api: &'static str, s: &str) -> Result<NaiveDate, ReadError> {
    // DAILY periods are dates; tolerate a timestamp form.
    let day = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|e| ReadError::Unexpected {
        api,
        detail: format!("date {s:?}: {e}"),
    })
}

fn interval_of(api: &'static str, i: Option<&CeInterval>) -> Result<DateInterval, ReadError> {
    let i = i.ok_or_else(|| ReadError::Unexpected {
        api,
        detail: "a period without TimePeriod".into(),
    })?;
    Ok(DateInterval {
        start: date_of(api, i.start())?,
        end: date_of(api, i.end())?,
    })
}

fn metrics_of(
    api: &'static str,
    m: Option<&std::collections::HashMap<String, MetricValue>>,
) -> Result<BTreeMap<String, Amount>, ReadError> {
    m.into_iter()
        .flatten()
        .map(|(k, v)| Ok((k.clone(), amount_of(api, v)?)))
        .collect()
}

/// A group amount of a `GetCostAndUsage` answer that could not be read, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableAmount {
    /// The day.
    pub date: NaiveDate,
    /// The group's keys (`["Amazon Rekognition", "Environment$dev"]`).
    pub keys: Vec<String>,
    /// What could not be read (`amount "NaN" is not a decimal: …`).
    pub detail: String,
}

impl std::fmt::Display for UnreadableAmount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, group {:?}: {}", self.date, self.keys, self.detail)
    }
}

/// Maps one SDK `GetCostAndUsage` answer 1:1 to [`CostAndUsagePage`].
///
/// # Errors
/// [`ReadError::Unexpected`] when a date or amount does not parse; an amount of a group is named by
/// its day and group keys.
pub fn page_from_sdk(
    out: &aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput,
) -> Result<CostAndUsagePage, ReadError> {
    let (page, unreadable) = partial_page_from_sdk(out)?;
    match unreadable.into_iter().next() {
        Some(u) => Err(ReadError::Unexpected {
            api: "ce:GetCostAndUsage",
            detail: u.to_string(),
        }),
        None => Ok(page),
    }
}

/// [`page_from_sdk`], except that a group whose amount cannot be read (`"NaN"`, out of range) does not
/// fail the answer: it keeps no metrics — so [`cost::input::DailyCostTable::from_pages`] marks its day
/// incomplete, and that day is not stored — and is returned with where it is. One such group of any
/// environment would otherwise stop every report until Cost Explorer's answer changed.
///
/// # Errors
/// [`ReadError::Unexpected`] when a date or a period's `Total` does not parse: the answer as a whole.
pub fn partial_page_from_sdk(
    out: &aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput,
) -> Result<(CostAndUsagePage, Vec<UnreadableAmount>), ReadError> {
    let api = "ce:GetCostAndUsage";
    let group_definitions = out
        .group_definitions()
        .iter()
        .map(|g| GroupDefinition {
            kind: g.r#type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
            key: g.key().unwrap_or_default().to_owned(),
        })
        .collect();
    let mut unreadable = Vec::new();
    let mut results_by_time = Vec::with_capacity(out.results_by_time().len());
    for r in out.results_by_time() {
        let time_period = interval_of(api, r.time_period())?;
        let date = time_period.start;
        let total = metrics_of(api, r.total()).map_err(|e| ReadError::Unexpected {
            api,
            detail: format!("{date}, Total: {}", unexpected_detail(e)),
        })?;
        let mut groups = Vec::with_capacity(r.groups().len());
        for g in r.groups() {
            let keys = g.keys().to_vec();
            let metrics = match metrics_of(api, g.metrics()) {
                Ok(metrics) => metrics,
                Err(e) => {
                    unreadable.push(UnreadableAmount {
                        date,
                        keys: keys.clone(),
                        detail: unexpected_detail(e),
                    });
                    BTreeMap::new()
                }
            };
            groups.push(Group { keys, metrics });
        }
        results_by_time.push(ResultByTime {
            time_period,
            total,
            groups,
            estimated: r.estimated(),
        });
    }
    let page = CostAndUsagePage {
        group_definitions,
        results_by_time,
        next_page_token: out.next_page_token().map(str::to_owned),
    };
    Ok((page, unreadable))
}

/// The detail of an answer not understood, without the call's name (the caller adds where it was).
fn unexpected_detail(e: ReadError) -> String {
    match e {
        ReadError::Unexpected { detail, .. } => detail,
        other => other.to_string(),
    }
}

/// `GetCostForecast` of `UNBLENDED_COST` from `today` to the end of the month (`month_end` exclusive), for
/// the environment's tag (plus untagged spend when `include_untagged`), with an 80 % interval.
///
/// The caller takes the quota unit first ([`super::source::cost_forecast`]).
///
/// # Errors
/// [`ReadError::Forecast`] with the failure classified when CE answers with an error (it refuses early
/// in the month and on new accounts; the caller falls back and says so).
pub async fn cost_forecast(
    ce: &aws_sdk_costexplorer::Client,
    today: NaiveDate,
    month_end: NaiveDate,
    environment: &str,
    include_untagged: bool,
) -> Result<CeForecastInput, ReadError> {
    let env = Expression::builder()
        .tags(
            TagValues::builder()
                .key(ENVIRONMENT_TAG)
                .values(environment)
                .match_options(MatchOption::Equals)
                .build(),
        )
        .build();
    let filter = if include_untagged {
        let untagged = Expression::builder()
            .tags(
                TagValues::builder()
                    .key(ENVIRONMENT_TAG)
                    .match_options(MatchOption::Absent)
                    .build(),
            )
            .build();
        Expression::builder().or(env).or(untagged).build()
    } else {
        env
    };
    // The spend A and the daily rate exclude credits and refunds (the budget's `cost_types`, the CE
    // query's filter): the forecast blended with them must too, or credits pull it towards $0.
    let filter = Expression::builder().and(filter).and(no_credits()?).build();
    let out = ce
        .get_cost_forecast()
        .time_period(ce_interval(today, month_end)?)
        .metric(CeMetric::UnblendedCost)
        .granularity(Granularity::Monthly)
        .prediction_interval_level(i32::from(FORECAST_INTERVAL_LEVEL))
        .filter(filter)
        .send()
        .await
        .map_err(|e| ReadError::Forecast(ForecastUnavailable::from_sdk(e)))?;
    Ok(CeForecastInput {
        forecast: forecast_from_sdk(&out)?,
        prediction_interval_level: Some(FORECAST_INTERVAL_LEVEL),
    })
}

/// Maps an SDK `GetCostForecast` answer to [`CostForecast`].
///
/// # Errors
/// [`ReadError::Unexpected`] when a value does not parse or a period has no mean.
pub fn forecast_from_sdk(
    out: &aws_sdk_costexplorer::operation::get_cost_forecast::GetCostForecastOutput,
) -> Result<CostForecast, ReadError> {
    let api = "ce:GetCostForecast";
    let opt = |s: Option<&str>, what: &str| s.map(|s| parse_decimal(api, what, s)).transpose();
    Ok(CostForecast {
        total: out.total().map(|m| amount_of(api, m)).transpose()?,
        forecast_results_by_time: out
            .forecast_results_by_time()
            .iter()
            .map(|r| {
                Ok(ForecastResult {
                    time_period: interval_of(api, r.time_period())?,
                    mean_value: opt(r.mean_value(), "MeanValue")?.ok_or_else(|| ReadError::Unexpected {
                        api,
                        detail: "a forecast period without MeanValue".into(),
                    })?,
                    prediction_interval_lower_bound: opt(
                        r.prediction_interval_lower_bound(),
                        "PredictionIntervalLowerBound",
                    )?,
                    prediction_interval_upper_bound: opt(
                        r.prediction_interval_upper_bound(),
                        "PredictionIntervalUpperBound",
                    )?,
                })
            })
            .collect::<Result<_, ReadError>>()?,
    })
}

/// The spec's budgets as `DescribeBudgets` reports them (all pages), and the names the account lacks.
///
/// # Errors
/// [`ReadError`] when the spec has no account id or the call fails.
pub async fn budgets(
    client: &aws_sdk_budgets::Client,
    spec: &PlatformSpec,
) -> Result<(Vec<Budget>, Vec<String>), ReadError> {
    let api = "budgets:DescribeBudgets";
    let account = spec
        .platform
        .account_id
        .as_deref()
        .ok_or_else(|| ReadError::Unexpected {
            api,
            detail: "platform.account_id is not set in the spec".into(),
        })?;
    let wanted: BTreeSet<&str> = spec.budgets.iter().map(|b| b.name.as_str()).collect();
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    let mut guard = PageGuard::new("DescribeBudgets", MAX_PAGES);
    loop {
        let out = client
            .describe_budgets()
            .account_id(account)
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(aws_err(api))?;
        for b in out.budgets() {
            if wanted.contains(b.budget_name()) {
                found.push(budget_from_sdk(b)?);
            }
        }
        match guard
            .next(out.next_token().map(str::to_owned))
            .map_err(paging(api))?
        {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let missing = wanted
        .iter()
        .filter(|w| !found.iter().any(|b: &Budget| b.budget_name == **w))
        .map(|w| (*w).to_owned())
        .collect();
    Ok((found, missing))
}

/// Maps one SDK budget to [`Budget`].
///
/// `CalculatedSpend.ActualSpend` and `ForecastedSpend` are both optional in the SDK (cost-anchors §2;
/// a budget AWS Budgets has not calculated yet has a forecast only, or nothing). A `CalculatedSpend`
/// without `ActualSpend` maps to no `calculated_spend`: [`cost::input::CalculatedSpend`] holds an
/// actual spend, and none is known — so the burn refuses the budget by name
/// ([`cost::burn::BurnError::NoActualSpend`], the report's `budget skipped: …` note) rather than
/// reading it as $0 spent. Its `ForecastedSpend` is not kept until that type can hold a forecast alone.
///
/// # Errors
/// [`ReadError::Unexpected`] when an amount does not parse.
pub fn budget_from_sdk(b: &aws_sdk_budgets::types::Budget) -> Result<Budget, ReadError> {
    let api = "budgets:DescribeBudgets";
    let spend = |what: &str, s: &aws_sdk_budgets::types::Spend| -> Result<Amount, ReadError> {
        Ok(Amount {
            amount: parse_decimal(api, &format!("{what} amount"), s.amount())?,
            unit: s.unit().to_owned(),
        })
    };
    // No `ActualSpend`: no `CalculatedSpend` (see above), never an actual spend of $0. Nor a $0 just
    // after an edit: "When you modify a budget, the calculatedSpend drops to zero until AWS has new
    // usage data" (UpdateBudget) — read as spend, a budget announced at 100 % would "recover" and stay
    // claimed as recovered.
    let calculated_spend = match b.calculated_spend() {
        Some(c) => match c.actual_spend() {
            Some(actual) if recalculating(actual, b.last_updated_time(), std::time::SystemTime::now()) => {
                None
            }
            Some(actual) => Some(CalculatedSpend {
                actual_spend: spend("ActualSpend", actual)?,
                forecasted_spend: c
                    .forecasted_spend()
                    .map(|f| spend("ForecastedSpend", f))
                    .transpose()?,
            }),
            None => None,
        },
        None => None,
    };
    Ok(Budget {
        budget_name: b.budget_name().to_owned(),
        budget_type: Some(b.budget_type().as_str().to_owned()),
        time_unit: Some(b.time_unit().as_str().to_owned()),
        budget_limit: b.budget_limit().map(|l| spend("BudgetLimit", l)).transpose()?,
        calculated_spend,
    })
}

/// How long after an edit a budget's `ActualSpend` of $0 is taken for the reset, not for spend: AWS
/// Budgets refreshes its figures up to three times a day.
const RECALCULATION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Whether `actual` is the $0 AWS Budgets shows while it recalculates a budget edited at `updated`
/// (within [`RECALCULATION`] of `now`, or in its future): its spend is unknown then, not $0.
fn recalculating(
    actual: &aws_sdk_budgets::types::Spend,
    updated: Option<&aws_smithy_types::DateTime>,
    now: std::time::SystemTime,
) -> bool {
    let zero = actual.amount().parse::<Decimal>().is_ok_and(|a| a.is_zero());
    let recent = updated
        .and_then(|u| std::time::SystemTime::try_from(*u).ok())
        .is_some_and(|u| now.duration_since(u).map_or(true, |age| age < RECALCULATION));
    zero && recent
}

/// One series to ask `GetMetricData` for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesKey {
    /// Namespace.
    pub namespace: String,
    /// Metric name.
    pub metric_name: String,
    /// Dimensions, sorted by name.
    pub dimensions: Vec<(String, String)>,
}

/// The series the report needs, found with one `ListMetrics` per namespace (all pages):
/// - `AWS/Bedrock` token counts (`InputTokenCount`, ...) per `ModelId` — plus the spec's model ids and
///   their aliases, since `ListMetrics` only lists metrics with data in the last two weeks; none for a
///   spec without `[[bedrock_models]]` (the account's Bedrock calls are another platform's);
/// - CollectIQ's `Bedrock*Tokens` per agent and model, and `CardsValued`, of the platform's own
///   `service` ([`PlatformSpec::service_name`]), in the dimension sets the shared catalogue declares, tokens only in the set without `operation` (a call with an operation is
///   emitted in both sets: summing both would count its tokens twice).
///
/// # Errors
/// [`ReadError`] when `ListMetrics` fails.
pub async fn report_series(
    cw: &aws_sdk_cloudwatch::Client,
    spec: &PlatformSpec,
    include_app_metrics: bool,
) -> Result<Vec<SeriesKey>, ReadError> {
    let mut out: BTreeSet<SeriesKey> = BTreeSet::new();
    let bedrock_metrics: Vec<&str> = TokenKind::ALL.iter().map(|k| k.bedrock_metric()).collect();
    // A platform that names no Bedrock model calls none: the account's Bedrock series are another
    // platform's (Backoffice dev shares its account with CollectIQ dev), never its token spend or burn.
    let bedrock_listed = if spec.bedrock_models.is_empty() {
        Vec::new()
    } else {
        list_metrics(cw, BEDROCK_NAMESPACE).await?
    };
    for m in bedrock_listed {
        if bedrock_metrics.contains(&m.metric_name.as_str())
            && m.dimensions.len() == 1
            && m.dimensions[0].0 == MODEL_ID_DIMENSION
        {
            out.insert(m);
        }
    }
    let model_ids = spec
        .bedrock_models
        .iter()
        .flat_map(|m| std::iter::once(m.id.trim()).chain(m.aliases.iter().map(|a| a.trim())));
    for id in model_ids {
        for metric in &bedrock_metrics {
            out.insert(SeriesKey {
                namespace: BEDROCK_NAMESPACE.to_owned(),
                metric_name: (*metric).to_owned(),
                dimensions: vec![(MODEL_ID_DIMENSION.to_owned(), id.to_owned())],
            });
        }
    }
    if include_app_metrics {
        for m in list_metrics(cw, NAMESPACE).await? {
            let Some(name) = MetricName::from_name(&m.metric_name) else {
                continue;
            };
            let is_tokens = TokenKind::ALL.iter().any(|k| k.app_metric() == name);
            if name != MetricName::CardsValued && !is_tokens {
                continue;
            }
            // The namespace is every platform's of the account: only this platform's `service` is
            // its valuations and token spend (Backoffice dev shares its account with CollectIQ dev).
            let service = DimensionKey::Service.as_str();
            if !m
                .dimensions
                .iter()
                .any(|(k, v)| k == service && v == spec.service_name())
            {
                continue;
            }
            let keys: Option<Vec<DimensionKey>> =
                m.dimensions.iter().map(|(k, _)| dimension_key(k)).collect();
            let Some(keys) = keys else { continue };
            if !name.spec().is_emitted_with(&keys) {
                continue;
            }
            // Tokens per agent and model only: a call with an API operation is emitted in both of the
            // catalogue's sets, so the per-operation series would count its tokens a second time.
            if is_tokens
                && !(keys.contains(&DimensionKey::Agent)
                    && keys.contains(&DimensionKey::Model)
                    && !keys.contains(&DimensionKey::Operation))
            {
                continue;
            }
            out.insert(m);
        }
    }
    Ok(out.into_iter().collect())
}

fn dimension_key(name: &str) -> Option<DimensionKey> {
    [
        DimensionKey::Service,
        DimensionKey::Agent,
        DimensionKey::Model,
        DimensionKey::Operation,
        DimensionKey::FunctionName,
    ]
    .into_iter()
    .find(|k| k.as_str() == name)
}

/// `ListMetrics` for one namespace, all pages.
///
/// # Errors
/// [`ReadError::Aws`] when a call fails.
pub async fn list_metrics(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
) -> Result<Vec<SeriesKey>, ReadError> {
    let api = "cloudwatch:ListMetrics";
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut guard = PageGuard::new("ListMetrics", MAX_PAGES);
    loop {
        let page = cw
            .list_metrics()
            .namespace(namespace)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(aws_err(api))?;
        for m in page.metrics() {
            let mut dimensions: Vec<(String, String)> = m
                .dimensions()
                .iter()
                .map(|d| {
                    (
                        d.name().unwrap_or_default().to_owned(),
                        d.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            dimensions.sort();
            out.push(SeriesKey {
                namespace: m.namespace().unwrap_or(namespace).to_owned(),
                metric_name: m.metric_name().unwrap_or_default().to_owned(),
                dimensions,
            });
        }
        match guard
            .next(page.next_token().map(str::to_owned))
            .map_err(paging(api))?
        {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// `GetMetricData` `Sum` of every series over `[start, end)` at `period_s` seconds, in as few requests as
/// possible (500 queries per request, all pages).
///
/// # Errors
/// [`ReadError::Aws`] when a call fails.
pub async fn metric_sums(
    cw: &aws_sdk_cloudwatch::Client,
    series: &[SeriesKey],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    period_s: i32,
) -> Result<Vec<MetricSumSeries>, ReadError> {
    let api = "cloudwatch:GetMetricData";
    let mut out: Vec<MetricSumSeries> = series
        .iter()
        .map(|s| MetricSumSeries {
            namespace: s.namespace.clone(),
            metric_name: s.metric_name.clone(),
            dimensions: s
                .dimensions
                .iter()
                .map(|(name, value)| cost::input::Dimension {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            points: Vec::new(),
        })
        .collect();
    for (chunk_no, chunk) in series.chunks(MAX_QUERIES_PER_REQUEST).enumerate() {
        let base = chunk_no * MAX_QUERIES_PER_REQUEST;
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let metric = Metric::builder()
                    .namespace(&s.namespace)
                    .metric_name(&s.metric_name)
                    .set_dimensions(Some(
                        s.dimensions
                            .iter()
                            .map(|(n, v)| CwDimension::builder().name(n).value(v).build())
                            .collect(),
                    ))
                    .build();
                MetricDataQuery::builder()
                    .id(format!("m{}", base + i))
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(period_s)
                            .stat("Sum")
                            .build(),
                    )
                    .return_data(true)
                    .build()
            })
            .collect();
        let mut token: Option<String> = None;
        let mut guard = PageGuard::new("GetMetricData", MAX_PAGES);
        loop {
            let page = cw
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(SmithyTime::from_secs(start.timestamp()))
                .end_time(SmithyTime::from_secs(end.timestamp()))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(aws_err(api))?;
            for r in page.metric_data_results() {
                // A series CloudWatch could not read (`InternalError`, `Forbidden`) is not zero tokens:
                // the read fails and the report lists it as missing. `PartialData` continues on the
                // next page; without one, the rest is missing too.
                let partial_at_end =
                    matches!(r.status_code(), Some(StatusCode::PartialData)) && page.next_token().is_none();
                if matches!(
                    r.status_code(),
                    Some(StatusCode::InternalError | StatusCode::Forbidden)
                ) || partial_at_end
                {
                    let messages: Vec<String> = r
                        .messages()
                        .iter()
                        .chain(page.messages())
                        .filter_map(|m| m.value().map(str::to_owned))
                        .collect();
                    return Err(ReadError::Incomplete {
                        api,
                        class: match r.status_code() {
                            Some(StatusCode::Forbidden) => Some(aws_error::ErrorClass::AccessDenied),
                            Some(StatusCode::InternalError) => Some(aws_error::ErrorClass::ServerFault),
                            _ => None,
                        },
                        detail: format!(
                            "series {} answered {}{}",
                            r.id().unwrap_or("?"),
                            r.status_code().map_or("?", StatusCode::as_str),
                            if messages.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", messages.join("; "))
                            }
                        ),
                    });
                }
                let Some(idx) = r
                    .id()
                    .and_then(|id| id.strip_prefix('m'))
                    .and_then(|n| n.parse::<usize>().ok())
                else {
                    continue;
                };
                let Some(target) = out.get_mut(idx) else { continue };
                for (t, v) in r.timestamps().iter().zip(r.values()) {
                    if let Some(ts) = DateTime::<Utc>::from_timestamp(t.secs(), 0) {
                        target.points.push(cost::input::SumPoint {
                            timestamp: ts,
                            sum: *v,
                        });
                    }
                }
            }
            match guard
                .next(page.next_token().map(str::to_owned))
                .map_err(paging(api))?
            {
                Some(t) => token = Some(t),
                None => break,
            }
        }
    }
    for s in &mut out {
        s.points.sort_by_key(|p| p.timestamp);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageOutput;
    use aws_sdk_costexplorer::operation::get_cost_forecast::GetCostForecastOutput;
    use aws_sdk_costexplorer::types::{
        ForecastResult as SdkForecast, Group as SdkGroup, ResultByTime as SdkResult,
    };

    fn money(a: &str) -> MetricValue {
        MetricValue::builder().amount(a).unit("USD").build()
    }

    #[test]
    fn cost_page_maps_one_to_one_with_long_amounts() {
        let out = GetCostAndUsageOutput::builder()
            .group_definitions(
                CeGroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key("SERVICE")
                    .build(),
            )
            .group_definitions(
                CeGroupDefinition::builder()
                    .r#type(GroupDefinitionType::Tag)
                    .key("Environment")
                    .build(),
            )
            .results_by_time(
                SdkResult::builder()
                    .time_period(ce_interval(d(1), d(2)).unwrap())
                    .estimated(true)
                    .groups(
                        SdkGroup::builder()
                            .keys("Claude 3.5 Sonnet (Amazon Bedrock Edition)")
                            .keys("Environment$prod")
                            .metrics(
                                COST_METRIC,
                                money("2641.54800000000022919266484677791595458984375"),
                            )
                            .build(),
                    )
                    .build(),
            )
            .next_page_token("p2")
            .build();
        let page = page_from_sdk(&out).unwrap();
        assert_eq!(page.group_definitions[1].kind, "TAG");
        assert_eq!(page.next_page_token.as_deref(), Some("p2"));
        let r = &page.results_by_time[0];
        assert!(r.estimated);
        assert_eq!(r.time_period.start, d(1));
        assert_eq!(r.groups[0].keys[1], "Environment$prod");
        assert_eq!(
            r.groups[0].metrics[COST_METRIC].amount.round_dp(3),
            Decimal::new(2_641_548, 3)
        );
        // And the cost crate reads it as rows.
        let table = cost::input::DailyCostTable::from_pages(&[page], COST_METRIC).unwrap();
        assert_eq!(table.rows[0].environment.as_deref(), Some("prod"));
    }

    #[test]
    fn bad_amounts_are_errors_not_zero() {
        let out = GetCostAndUsageOutput::builder()
            .results_by_time(
                SdkResult::builder()
                    .time_period(ce_interval(d(1), d(2)).unwrap())
                    .groups(
                        SdkGroup::builder()
                            .keys("AWS Lambda")
                            .metrics(COST_METRIC, money("12,5"))
                            .build(),
                    )
                    .build(),
            )
            .build();
        let err = page_from_sdk(&out).unwrap_err();
        assert!(err.to_string().contains("\"12,5\""), "{err}");
    }

    /// The audit's page: on 2026-12-04 only `Amazon Rekognition` / `Environment$dev` — an environment
    /// the prod report does not even use — has `"Amount":"NaN"`; the other groups and days are fine.
    fn page_with_one_nan() -> GetCostAndUsageOutput {
        let day = |n| NaiveDate::from_ymd_opt(2026, 12, n).unwrap();
        let group = |service: &str, env: &str, amount: &str| {
            SdkGroup::builder()
                .keys(service)
                .keys(format!("Environment${env}"))
                .metrics(COST_METRIC, money(amount))
                .build()
        };
        GetCostAndUsageOutput::builder()
            .group_definitions(
                CeGroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key("SERVICE")
                    .build(),
            )
            .group_definitions(
                CeGroupDefinition::builder()
                    .r#type(GroupDefinitionType::Tag)
                    .key("Environment")
                    .build(),
            )
            .results_by_time(
                SdkResult::builder()
                    .time_period(ce_interval(day(4), day(5)).unwrap())
                    .groups(group("AWS Lambda", "prod", "1.5"))
                    .groups(group("Amazon Rekognition", "dev", "NaN"))
                    .build(),
            )
            .results_by_time(
                SdkResult::builder()
                    .time_period(ce_interval(day(5), day(6)).unwrap())
                    .groups(group("AWS Lambda", "prod", "2"))
                    .build(),
            )
            .build()
    }

    /// Audit: the error said `amount "NaN" is not a decimal…`, naming neither the day nor the group.
    #[test]
    fn an_unreadable_amount_is_named_by_its_day_and_group() {
        let e = page_from_sdk(&page_with_one_nan()).unwrap_err().to_string();
        assert!(
            e.contains("2026-12-04")
                && e.contains("Amazon Rekognition")
                && e.contains("Environment$dev")
                && e.contains("\"NaN\""),
            "{e}"
        );
    }

    /// Audit: one unreadable amount of another environment dropped the whole answer, and with it the
    /// report, every run. The report's reader keeps the answer: the group keeps no metrics, so its day
    /// alone is incomplete (not stored, asked for again), and where it was is returned.
    #[test]
    fn an_unreadable_amount_leaves_only_its_day_incomplete() {
        let (page, unreadable) = partial_page_from_sdk(&page_with_one_nan()).unwrap();
        let dec4 = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(unreadable.len(), 1);
        assert_eq!(unreadable[0].date, dec4);
        assert_eq!(unreadable[0].keys, ["Amazon Rekognition", "Environment$dev"]);
        assert!(unreadable[0].detail.contains("\"NaN\""), "{}", unreadable[0]);
        let table = cost::input::DailyCostTable::from_pages(&[page], COST_METRIC).unwrap();
        assert_eq!(table.rows.len(), 2, "the readable groups of both days");
        assert_eq!(
            table.unreadable.keys().copied().collect::<Vec<_>>(),
            [dec4],
            "only December 4 is incomplete"
        );
        assert!(table.days[&dec4], "a lower bound, as an Estimated day is");
    }

    /// The forecast is asked for the spend the report's other figures measure: the environment's
    /// (untagged included) without credits and refunds.
    #[tokio::test]
    async fn the_forecast_excludes_credits_and_refunds() {
        use aws_sdk_costexplorer::types::Dimension as CeDim;
        use aws_smithy_mocks::{mock, mock_client};
        let rule = mock!(aws_sdk_costexplorer::Client::get_cost_forecast)
            .match_requests(|req| {
                let Some(f) = req.filter() else { return false };
                let credits = f.and().iter().any(|e| {
                    e.not().and_then(|n| n.dimensions()).is_some_and(|d| {
                        d.key() == Some(&CeDim::RecordType)
                            && d.values() == ["Credit".to_owned(), "Refund".to_owned()]
                    })
                });
                let environment = f.and().iter().any(|e| e.or().len() == 2);
                credits && environment
            })
            .then_output(|| {
                GetCostForecastOutput::builder()
                    .total(MetricValue::builder().amount("120").unit("USD").build())
                    .build()
            });
        let ce = mock_client!(aws_sdk_costexplorer, [&rule]);
        let forecast = cost_forecast(&ce, d(18), d(30), "prod", true).await.unwrap();
        assert_eq!(forecast.forecast.total.unwrap().amount, Decimal::from(120));
        assert_eq!(rule.num_calls(), 1);
    }

    /// Backoffice dev shares its account (and so the `CollectIQ` namespace) with CollectIQ dev: its
    /// report takes only series of its own `service`, never CollectIQ's valuations or agents' tokens.
    #[tokio::test]
    async fn only_the_platforms_own_service_is_read_from_the_shared_namespace() {
        use aws_sdk_cloudwatch::operation::list_metrics::ListMetricsOutput;
        use aws_sdk_cloudwatch::types::{Dimension, Metric};
        use aws_smithy_mocks::{mock, mock_client};
        let metric = |name: &str, dims: &[(&str, &str)]| {
            let mut m = Metric::builder().namespace(NAMESPACE).metric_name(name);
            for (k, v) in dims {
                m = m.dimensions(Dimension::builder().name(*k).value(*v).build());
            }
            m.build()
        };
        let listed = ListMetricsOutput::builder()
            .metrics(metric("CardsValued", &[("service", "collectiq")]))
            .metrics(metric(
                "BedrockInputTokens",
                &[
                    ("service", "collectiq"),
                    ("agent", "authenticity"),
                    ("model", "m"),
                ],
            ))
            .metrics(metric("CardsValued", &[("service", "backoffice")]))
            .build();
        let client = || {
            let listed = listed.clone();
            let ours = mock!(aws_sdk_cloudwatch::Client::list_metrics)
                .match_requests(|r| r.namespace() == Some(NAMESPACE))
                .then_output(move || listed.clone());
            let bedrock = mock!(aws_sdk_cloudwatch::Client::list_metrics)
                .match_requests(|r| r.namespace() == Some(BEDROCK_NAMESPACE))
                .then_output(|| ListMetricsOutput::builder().build());
            mock_client!(
                aws_sdk_cloudwatch,
                aws_smithy_mocks::RuleMode::MatchAny,
                [&ours, &bedrock]
            )
        };
        let platforms = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms");
        let backoffice = platform_spec::load(&platforms.join("backoffice-dev.toml")).unwrap();
        let series = report_series(&client(), &backoffice, true).await.unwrap();
        let services: Vec<&str> = series
            .iter()
            .flat_map(|s| &s.dimensions)
            .filter(|(k, _)| k == "service")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(services, ["backoffice"], "{series:?}");
        let collectiq = platform_spec::load(&platforms.join("collectiq-dev.toml")).unwrap();
        let own = report_series(&client(), &collectiq, true).await.unwrap();
        assert_eq!(
            own.iter().filter(|s| s.namespace == NAMESPACE).count(),
            2,
            "{own:?}"
        );
    }

    /// A series GetMetricData could not read is an error, not a series of zero tokens (an hourly burn
    /// check would compute a burn rate of 0 and not page).
    #[tokio::test]
    async fn a_series_cloudwatch_could_not_read_fails_the_read() {
        use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
        use aws_sdk_cloudwatch::types::{MessageData, MetricDataResult};
        use aws_smithy_mocks::{mock, mock_client};
        let series = [SeriesKey {
            namespace: "AWS/Bedrock".into(),
            metric_name: "InputTokenCount".into(),
            dimensions: vec![("ModelId".into(), "m".into())],
        }];
        let start = DateTime::<Utc>::from_timestamp(1_764_000_000, 0).unwrap();
        let answer = |status: StatusCode, next: Option<&str>| {
            let out = GetMetricDataOutput::builder()
                .metric_data_results(
                    MetricDataResult::builder()
                        .id("m0")
                        .status_code(status)
                        .messages(
                            MessageData::builder()
                                .code("InternalError")
                                .value("try again")
                                .build(),
                        )
                        .build(),
                )
                .set_next_token(next.map(str::to_owned))
                .build();
            mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_output(move || out.clone())
        };
        for status in [
            StatusCode::InternalError,
            StatusCode::Forbidden,
            StatusCode::PartialData,
        ] {
            let rule = answer(status.clone(), None);
            let cw = mock_client!(aws_sdk_cloudwatch, [&rule]);
            let err = metric_sums(&cw, &series, start, start + chrono::Duration::hours(1), 300)
                .await
                .unwrap_err();
            assert!(err.to_string().contains(status.as_str()), "{status:?}: {err}");
            assert!(err.to_string().contains("try again"), "{err}");
            let class = match status {
                StatusCode::Forbidden => Some(aws_error::ErrorClass::AccessDenied),
                StatusCode::InternalError => Some(aws_error::ErrorClass::ServerFault),
                _ => None,
            };
            assert_eq!(err.class(), class, "{status:?}");
        }
        // Complete answers read as before.
        let rule = answer(StatusCode::Complete, None);
        let cw = mock_client!(aws_sdk_cloudwatch, [&rule]);
        let read = metric_sums(&cw, &series, start, start + chrono::Duration::hours(1), 300)
            .await
            .unwrap();
        assert!(read[0].points.is_empty());
    }

    #[test]
    fn forecast_maps_with_interval() {
        let out = GetCostForecastOutput::builder()
            .total(money("120.5"))
            .forecast_results_by_time(
                SdkForecast::builder()
                    .time_period(ce_interval(d(18), d(30)).unwrap())
                    .mean_value("120.5")
                    .prediction_interval_lower_bound("100")
                    .prediction_interval_upper_bound("140.25")
                    .build(),
            )
            .build();
        let f = forecast_from_sdk(&out).unwrap();
        assert_eq!(f.total.unwrap().amount, Decimal::new(1205, 1));
        let r = &f.forecast_results_by_time[0];
        assert_eq!(r.mean_value, Decimal::new(1205, 1));
        assert_eq!(r.prediction_interval_upper_bound, Some(Decimal::new(14025, 2)));
        let missing = GetCostForecastOutput::builder()
            .forecast_results_by_time(
                SdkForecast::builder()
                    .time_period(ce_interval(d(18), d(30)).unwrap())
                    .build(),
            )
            .build();
        assert!(forecast_from_sdk(&missing).is_err());
    }

    #[test]
    fn budget_maps_limit_and_optional_forecast() {
        use aws_sdk_budgets::types::{Budget as B, BudgetType, CalculatedSpend as C, Spend, TimeUnit};
        let spend = |a: &str| Spend::builder().amount(a).unit("USD").build().unwrap();
        let b = B::builder()
            .budget_name("collectiq-prod-monthly")
            .budget_type(BudgetType::Cost)
            .time_unit(TimeUnit::Monthly)
            .budget_limit(spend("500"))
            .calculated_spend(C::builder().actual_spend(spend("604.456")).build())
            .build()
            .unwrap();
        let got = budget_from_sdk(&b).unwrap();
        assert_eq!(got.budget_limit.unwrap().amount, Decimal::from(500));
        let c = got.calculated_spend.unwrap();
        assert_eq!(c.actual_spend.amount, Decimal::new(604_456, 3));
        assert!(c.forecasted_spend.is_none());
        assert_eq!(got.time_unit.as_deref(), Some("MONTHLY"));
    }

    /// UpdateBudget: "When you modify a budget, the calculatedSpend drops to zero until AWS has new usage
    /// data". A $0 within a day of the edit is unknown spend (the budget is skipped by name), not a
    /// recovery; a $0 long after it, or any other amount, is spend.
    #[test]
    fn a_zero_spend_just_after_an_edit_is_not_read_as_spend() {
        use aws_sdk_budgets::types::{Budget as B, BudgetType, CalculatedSpend as C, Spend, TimeUnit};
        let spend = |a: &str| Spend::builder().amount(a).unit("USD").build().unwrap();
        let now = std::time::SystemTime::now();
        let ago = |h: u64| aws_smithy_types::DateTime::from(now - std::time::Duration::from_secs(h * 3600));
        let budget = |actual: &str, updated: aws_smithy_types::DateTime| {
            B::builder()
                .budget_name("collectiq-prod-monthly")
                .budget_type(BudgetType::Cost)
                .time_unit(TimeUnit::Monthly)
                .budget_limit(spend("500"))
                .calculated_spend(C::builder().actual_spend(spend(actual)).build())
                .last_updated_time(updated)
                .build()
                .unwrap()
        };
        for zero in ["0", "0.0", "0.000"] {
            assert!(
                budget_from_sdk(&budget(zero, ago(2)))
                    .unwrap()
                    .calculated_spend
                    .is_none(),
                "{zero}"
            );
        }
        let old = budget_from_sdk(&budget("0", ago(48))).unwrap();
        assert_eq!(old.calculated_spend.unwrap().actual_spend.amount, Decimal::ZERO);
        let spent = budget_from_sdk(&budget("310.5", ago(2))).unwrap();
        assert_eq!(
            spent.calculated_spend.unwrap().actual_spend.amount,
            Decimal::new(3105, 1)
        );
        assert!(recalculating(
            &spend("0"),
            Some(&ago(0)),
            now + std::time::Duration::from_secs(60)
        ));
        assert!(!recalculating(&spend("0"), None, now));
    }

    /// A budget just created: `CalculatedSpend{ForecastedSpend:{"Amount":"700","Unit":"USD"}}`, no
    /// `ActualSpend`. Its burn is refused by name (`budget skipped: …`), never computed as $0 spent; with
    /// both amounts, both are kept.
    #[test]
    fn a_budget_with_a_forecast_but_no_actual_spend_is_not_read_as_zero() {
        use aws_sdk_budgets::types::{Budget as B, BudgetType, CalculatedSpend as C, Spend, TimeUnit};
        use cost::burn::{BurnError, BurnInput};
        let spend = |a: &str| Spend::builder().amount(a).unit("USD").build().unwrap();
        let budget = |calculated: C| {
            B::builder()
                .budget_name("collectiq-prod-monthly")
                .budget_type(BudgetType::Cost)
                .time_unit(TimeUnit::Monthly)
                .budget_limit(spend("500"))
                .calculated_spend(calculated)
                .build()
                .unwrap()
        };
        let forecast_only =
            budget_from_sdk(&budget(C::builder().forecasted_spend(spend("700")).build())).unwrap();
        assert_eq!(
            forecast_only.budget_limit.as_ref().unwrap().amount,
            Decimal::from(500)
        );
        let e = BurnInput::from_budget(&forecast_only, vec![], None).unwrap_err();
        assert!(
            matches!(e, BurnError::NoActualSpend { ref budget } if budget == "collectiq-prod-monthly"),
            "{e}"
        );
        assert!(
            e.to_string().contains("its spend so far is unknown, not $0"),
            "{e}"
        );

        let both = budget(
            C::builder()
                .actual_spend(spend("250"))
                .forecasted_spend(spend("700"))
                .build(),
        );
        let c = budget_from_sdk(&both).unwrap().calculated_spend.unwrap();
        assert_eq!(c.actual_spend.amount, Decimal::from(250));
        assert_eq!(c.forecasted_spend.unwrap().amount, Decimal::from(700));
    }

    /// Issue 13: a hostile Budgets or Cost Explorer answer (`7.9e28`) parsed and panicked the pass in
    /// its first sum; it is now an error naming the API and the field.
    #[test]
    fn hostile_amounts_are_errors_naming_the_field() {
        use aws_sdk_budgets::types::{Budget as B, BudgetType, CalculatedSpend as C, Spend, TimeUnit};
        const HUGE: &str = "79228162514264337593543950335";
        let spend = |a: &str| Spend::builder().amount(a).unit("USD").build().unwrap();
        let budget = |limit: &str, actual: &str| {
            B::builder()
                .budget_name("collectiq-prod-monthly")
                .budget_type(BudgetType::Cost)
                .time_unit(TimeUnit::Monthly)
                .budget_limit(spend(limit))
                .calculated_spend(C::builder().actual_spend(spend(actual)).build())
                .build()
                .unwrap()
        };
        for (b, field) in [
            (budget(HUGE, "1"), "BudgetLimit"),
            (budget("500", "-1000000000000000.01"), "ActualSpend"),
        ] {
            let e = budget_from_sdk(&b).unwrap_err().to_string();
            assert!(
                e.contains("budgets:DescribeBudgets") && e.contains(field) && e.contains("out of range"),
                "{e}"
            );
        }
        let page = GetCostAndUsageOutput::builder()
            .results_by_time(
                SdkResult::builder()
                    .time_period(ce_interval(d(1), d(2)).unwrap())
                    .groups(
                        SdkGroup::builder()
                            .keys("AWS Lambda")
                            .metrics(COST_METRIC, money(HUGE))
                            .build(),
                    )
                    .build(),
            )
            .build();
        let e = page_from_sdk(&page).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        let forecast = GetCostForecastOutput::builder()
            .forecast_results_by_time(
                SdkForecast::builder()
                    .time_period(ce_interval(d(18), d(30)).unwrap())
                    .mean_value(HUGE)
                    .build(),
            )
            .build();
        let e = forecast_from_sdk(&forecast).unwrap_err().to_string();
        assert!(e.contains("MeanValue") && e.contains("out of range"), "{e}");
        assert_eq!(
            parse_decimal("api", "x", "1000000000000000").unwrap(),
            cost::input::MAX_AMOUNT
        );
    }

    fn d(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, n).unwrap()
    }
}
