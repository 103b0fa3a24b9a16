//! The cost pass's read seam: [`CostReads`] (Cost Explorer pages, the forecast, budgets, metric series and
//! sums), implemented for the SDK clients by [`SdkReads`] and in memory by `fake::FakeReads` (feature
//! `testing`). The Cost Explorer cap is enforced here, once for every implementation: each page of
//! [`CostPager`] and the request of [`cost_forecast`] go through
//! [`RequestCounter::ce_request`](super::counting::RequestCounter::ce_request), which takes a quota unit
//! before the request and counts the SDK's retries against the cap. Paging is bounded by a
//! [`PageGuard`](crate::publish::cloudwatch::PageGuard): a repeated token or too many pages is an
//! error, never a silently shortened answer.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use cost::burn::CeForecastInput;
use cost::input::{Budget, CostAndUsagePage, MetricSumSeries};
use platform_spec::PlatformSpec;

use super::counting::RequestCounter;
use super::read::{self, CeQuota, ReadError, SeriesKey};
use crate::aws::AwsClients;
use crate::ledger::LedgerStore;
use crate::publish::cloudwatch::PageGuard;

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

/// Most `GetCostAndUsage` pages one query follows (each costs $0.01; the cap usually stops it first).
pub const MAX_CE_PAGES: usize = 50;

/// The `NextPageToken`s of one `GetCostAndUsage` query, at most [`MAX_CE_PAGES`] pages: the account's
/// pager ([`CostPager`]) and the organisation's (`org::cost`) both follow them through this.
#[derive(Debug, Clone)]
pub(crate) struct CePages(PageGuard);

impl CePages {
    pub(crate) fn new() -> Self {
        Self(PageGuard::new("GetCostAndUsage", MAX_CE_PAGES))
    }

    /// The token to follow after a page that handed back `token`; `None` after the last page.
    ///
    /// # Errors
    /// [`ReadError::Unexpected`] when Cost Explorer repeats a token or pages past [`MAX_CE_PAGES`].
    pub(crate) fn next(&mut self, token: Option<String>) -> Result<Option<String>, ReadError> {
        self.0.next(token).map_err(|e| ReadError::Unexpected {
            api: "ce:GetCostAndUsage",
            detail: e.to_string(),
        })
    }
}

/// `GetCostAndUsage` over `[start, end)`, one page at a time, so the caller can keep each page it paid
/// for (store it in the ledger) before the next request can fail.
#[derive(Debug)]
pub struct CostPager<'q, 'l, L> {
    quota: &'q CeQuota<'l, L>,
    counter: &'q RequestCounter,
    start: NaiveDate,
    end: NaiveDate,
    guard: CePages,
    token: Option<String>,
    done: bool,
}

impl<'q, 'l, L: LedgerStore> CostPager<'q, 'l, L> {
    /// A pager over `[start, end)` under `quota`, counting attempts in `counter`.
    #[must_use]
    pub fn new(
        quota: &'q CeQuota<'l, L>,
        counter: &'q RequestCounter,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Self {
        Self {
            quota,
            counter,
            start,
            end,
            guard: CePages::new(),
            token: None,
            done: false,
        }
    }

    /// Whether the last page has been read.
    #[must_use]
    pub const fn done(&self) -> bool {
        self.done
    }

    /// The next page, `None` after the last.
    ///
    /// # Errors
    /// [`ReadError::CapReached`] when the cap has no room, the page's failure, or
    /// [`ReadError::Unexpected`] when Cost Explorer repeats a `NextPageToken` or pages past
    /// [`MAX_CE_PAGES`].
    pub async fn next<R: CostReads + ?Sized>(
        &mut self,
        reads: &R,
    ) -> Result<Option<CostAndUsagePage>, ReadError> {
        if self.done {
            return Ok(None);
        }
        let (start, end, token) = (self.start, self.end, self.token.clone());
        let page = self
            .counter
            .ce_request(self.quota, || reads.cost_and_usage_page(start, end, token))
            .await??;
        match self.guard.next(page.next_page_token.clone()) {
            Ok(Some(t)) => self.token = Some(t),
            Ok(None) => self.done = true,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        }
        Ok(Some(page))
    }
}

/// Every `GetCostAndUsage` page over `[start, end)` ([`CostPager`] to the end).
///
/// # Errors
/// As [`CostPager::next`]; the pages already read are dropped (use [`CostPager`] to keep them).
pub async fn cost_and_usage<R: CostReads + ?Sized, L: LedgerStore>(
    reads: &R,
    quota: &CeQuota<'_, L>,
    counter: &RequestCounter,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<CostAndUsagePage>, ReadError> {
    let mut pager = CostPager::new(quota, counter, start, end);
    let mut pages = Vec::new();
    while let Some(page) = pager.next(reads).await? {
        pages.push(page);
    }
    Ok(pages)
}

/// `GetCostForecast` under the cap (every attempt counted, see [`RequestCounter::ce_request`]).
///
/// # Errors
/// [`ReadError::CapReached`] or [`ReadError::Ledger`] before the request (or a retry refused by the
/// cap); [`ReadError::Forecast`] with the failure classified when CE answers with an error.
pub async fn cost_forecast<R: CostReads + ?Sized, L: LedgerStore>(
    reads: &R,
    quota: &CeQuota<'_, L>,
    counter: &RequestCounter,
    today: NaiveDate,
    month_end: NaiveDate,
    environment: &str,
    include_untagged: bool,
) -> Result<CeForecastInput, ReadError> {
    counter
        .ce_request(quota, || {
            reads.cost_forecast(today, month_end, environment, include_untagged)
        })
        .await?
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Cost Explorer answering a token it handed back before, or paging on and on, is an unexpected
    /// answer naming the API — never a loop that spends $0.01 a request.
    #[test]
    fn a_repeated_token_or_too_many_pages_is_an_unexpected_answer() {
        let mut pages = CePages::new();
        assert_eq!(pages.next(Some("a".into())).unwrap(), Some("a".to_owned()));
        assert_eq!(pages.next(Some("b".into())).unwrap(), Some("b".to_owned()));
        let repeated = pages.next(Some("a".into())).unwrap_err();
        assert!(
            matches!(
                &repeated,
                ReadError::Unexpected {
                    api: "ce:GetCostAndUsage",
                    ..
                }
            ),
            "{repeated:?}"
        );
        let mut pages = CePages::new();
        for i in 1..MAX_CE_PAGES {
            assert!(pages.next(Some(format!("t{i}"))).unwrap().is_some(), "page {i}");
        }
        let capped = pages.next(Some("one-more".into())).unwrap_err();
        assert!(matches!(capped, ReadError::Unexpected { .. }), "{capped:?}");
        assert_eq!(
            CePages::new().next(Some(String::new())).unwrap(),
            None,
            "an empty token ends"
        );
        assert_eq!(CePages::new().next(None).unwrap(), None);
    }
}
