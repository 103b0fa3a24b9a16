//! The cost pass's reads for one item of an organisation run: budgets and metrics from the member
//! account (through its assumed role), Cost Explorer from the management account's one query.
//!
//! [`OrgReads`] implements [`CostReads`] so the platform's daily pass runs unchanged: its
//! `GetCostAndUsage` pages are cut from [`LinkedCost`] (no request leaves the process), and it asks for
//! no forecast — `GetCostForecast` takes no `LINKED_ACCOUNT` grouping, so one per platform would break
//! the organisation's three-requests-a-day budget; the report says so and projects from actuals and
//! Budgets' own forecast of each budget (free with `DescribeBudgets` in the member account).

use chrono::{DateTime, NaiveDate, Utc};
use cost::burn::CeForecastInput;
use cost::input::{Budget, CostAndUsagePage, MetricSumSeries};
use platform_spec::PlatformSpec;

use super::cost::LinkedCost;
use crate::cost_pass::read::{ReadError, SeriesKey};
use crate::cost_pass::{CostReads, SdkReads};

/// What the report says instead of a Cost Explorer forecast in an organisation run.
pub const NO_FORECAST: &str = "not requested in an organisation run: Cost Explorer is read once for the whole \
     organisation in the management account (≤ 3 requests a day)";

/// [`CostReads`] of one account × platform item (see the module docs).
#[derive(Debug)]
pub struct OrgReads<'a> {
    member: SdkReads<'a>,
    linked: &'a LinkedCost,
    account: &'a str,
    environment: &'a str,
    /// The account holds platforms of other environments too: the environment's share of its spend
    /// ([`LinkedCost::page_for`]).
    share: bool,
}

impl<'a> OrgReads<'a> {
    /// Budgets and metrics through `member`; cost from `account`'s rows of `linked`, keyed as
    /// `environment`.
    #[must_use]
    pub const fn new(
        member: SdkReads<'a>,
        linked: &'a LinkedCost,
        account: &'a str,
        environment: &'a str,
    ) -> Self {
        Self {
            member,
            linked,
            account,
            environment,
            share: false,
        }
    }

    /// Reads the environment's share of the account's spend (the account holds platforms of other
    /// environments too).
    #[must_use]
    pub const fn sharing(mut self, share: bool) -> Self {
        self.share = share;
        self
    }
}

impl CostReads for OrgReads<'_> {
    async fn budgets(&self, spec: &PlatformSpec) -> Result<(Vec<Budget>, Vec<String>), ReadError> {
        self.member.budgets(spec).await
    }

    async fn report_series(
        &self,
        spec: &PlatformSpec,
        include_app_metrics: bool,
    ) -> Result<Vec<SeriesKey>, ReadError> {
        self.member.report_series(spec, include_app_metrics).await
    }

    async fn metric_sums(
        &self,
        series: &[SeriesKey],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        period_s: i32,
    ) -> Result<Vec<MetricSumSeries>, ReadError> {
        self.member.metric_sums(series, start, end, period_s).await
    }

    async fn cost_and_usage_page(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        _token: Option<String>,
    ) -> Result<CostAndUsagePage, ReadError> {
        Ok(self
            .linked
            .page_for(self.account, self.environment, self.share, start, end))
    }

    async fn cost_forecast(
        &self,
        _today: NaiveDate,
        _month_end: NaiveDate,
        _environment: &str,
        _include_untagged: bool,
    ) -> Result<CeForecastInput, ReadError> {
        Err(ReadError::Unexpected {
            api: "ce:GetCostForecast",
            detail: NO_FORECAST.to_owned(),
        })
    }
}
