//! The cost pass's read seam: [`CostReads`] (Cost Explorer pages, the forecast, budgets, metric series and
//! sums), implemented for the SDK clients by [`SdkReads`] and in memory by `fake::FakeReads` (feature
//! `testing`). The Cost Explorer cap is enforced here, once for every implementation: [`cost_and_usage`]
//! takes a quota unit before each page, [`cost_forecast`] before the request.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use cost::burn::CeForecastInput;
use cost::input::{Budget, CostAndUsagePage, MetricSumSeries};
use platform_spec::PlatformSpec;

use super::read::{self, CeQuota, ReadError, SeriesKey};
use crate::aws::AwsClients;
use crate::ledger::LedgerStore;

/// What the cost pass reads. One method per request kind; paging of Cost Explorer and the quota are the
/// caller's ([`cost_and_usage`]), so a fake cannot bypass the cap.
pub trait CostReads: Send + Sync {
    /// The spec's budgets as `DescribeBudgets` reports them, and the names the account lacks.
    fn budgets(
        &self,
        spec: &PlatformSpec,
    ) -> impl Future<Output = Result<(Vec<Budget>, Vec<String>), ReadError>> + Send;

    /// The token and volume series the report needs (`ListMetrics`; app metrics only when asked).
    fn report_series(
        &self,
        spec: &PlatformSpec,
        include_app_metrics: bool,
    ) -> impl Future<Output = Result<Vec<SeriesKey>, ReadError>> + Send;

    /// `Sum` of every series over `[start, end)` at `period_s` seconds (`GetMetricData`).
    fn metric_sums(
        &self,
        series: &[SeriesKey],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        period_s: i32,
    ) -> impl Future<Output = Result<Vec<MetricSumSeries>, ReadError>> + Send;

    /// One `GetCostAndUsage` page over `[start, end)` from `token` (each costs $0.01).
    fn cost_and_usage_page(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        token: Option<String>,
    ) -> impl Future<Output = Result<CostAndUsagePage, ReadError>> + Send;

    /// `GetCostForecast` from `today` to `month_end` for the environment (costs $0.01).
    fn cost_forecast(
        &self,
        today: NaiveDate,
        month_end: NaiveDate,
        environment: &str,
        include_untagged: bool,
    ) -> impl Future<Output = Result<CeForecastInput, ReadError>> + Send;
}

/// Every `GetCostAndUsage` page over `[start, end)`, one quota unit taken before each.
///
/// # Errors
/// [`ReadError::CapReached`] when the cap is used up (pages already read are dropped: the caller falls
/// back to the ledger's cached days), a page fails, or CE repeats a `NextPageToken`.
pub async fn cost_and_usage<R: CostReads + ?Sized, L: LedgerStore>(
    reads: &R,
    quota: &CeQuota<'_, L>,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<CostAndUsagePage>, ReadError> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        quota.take().await?;
        let page = reads.cost_and_usage_page(start, end, token.clone()).await?;
        let next = page.next_page_token.clone();
        pages.push(page);
        match next {
            Some(t) if Some(&t) != token.as_ref() => token = Some(t),
            Some(_) => {
                return Err(ReadError::Unexpected {
                    api: "ce:GetCostAndUsage",
                    detail: "the same NextPageToken twice".into(),
                });
            }
            None => return Ok(pages),
        }
    }
}

/// `GetCostForecast` after taking one quota unit.
///
/// # Errors
/// [`ReadError::CapReached`] or [`ReadError::Ledger`] before the request; [`ReadError::Forecast`] with the
/// failure classified when CE answers with an error.
pub async fn cost_forecast<R: CostReads + ?Sized, L: LedgerStore>(
    reads: &R,
    quota: &CeQuota<'_, L>,
    today: NaiveDate,
    month_end: NaiveDate,
    environment: &str,
    include_untagged: bool,
) -> Result<CeForecastInput, ReadError> {
    quota.take().await?;
    reads
        .cost_forecast(today, month_end, environment, include_untagged)
        .await
}

/// [`CostReads`] on the SDK clients.
#[derive(Debug, Clone, Copy)]
pub struct SdkReads<'a> {
    clients: &'a AwsClients,
}

impl<'a> SdkReads<'a> {
    /// Reads through `clients` (attach a [`super::counting::RequestCounter`] first to count them).
    #[must_use]
    pub const fn new(clients: &'a AwsClients) -> Self {
        Self { clients }
    }
}

impl CostReads for SdkReads<'_> {
    async fn budgets(&self, spec: &PlatformSpec) -> Result<(Vec<Budget>, Vec<String>), ReadError> {
        read::budgets(&self.clients.budgets, spec).await
    }

    async fn report_series(
        &self,
        spec: &PlatformSpec,
        include_app_metrics: bool,
    ) -> Result<Vec<SeriesKey>, ReadError> {
        read::report_series(&self.clients.cloudwatch, spec, include_app_metrics).await
    }

    async fn metric_sums(
        &self,
        series: &[SeriesKey],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        period_s: i32,
    ) -> Result<Vec<MetricSumSeries>, ReadError> {
        read::metric_sums(&self.clients.cloudwatch, series, start, end, period_s).await
    }

    async fn cost_and_usage_page(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        token: Option<String>,
    ) -> Result<CostAndUsagePage, ReadError> {
        read::cost_and_usage_page(&self.clients.cost_explorer, start, end, token).await
    }

    async fn cost_forecast(
        &self,
        today: NaiveDate,
        month_end: NaiveDate,
        environment: &str,
        include_untagged: bool,
    ) -> Result<CeForecastInput, ReadError> {
        read::cost_forecast(
            &self.clients.cost_explorer,
            today,
            month_end,
            environment,
            include_untagged,
        )
        .await
    }
}
