//! In-memory implementations of the cost pass's seams, for unit tests of the claim → send → release
//! protocol without a server: [`FakeReads`] (Cost Explorer pages, forecast, budgets, metric sums; each
//! call recorded in the run's [`RequestCounter`] under the SDK's service and operation names) and
//! [`FakeChannels`] (Slack and SNS that accept or fail as told, and remember what they got). The ledger's
//! fake is [`crate::ledger::MemoryLedger`]. Behind the `testing` feature: no production build compiles
//! this file.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Days, NaiveDate, Utc};
use cost::burn::CeForecastInput;
use cost::input::{
    Amount, Budget, CalculatedSpend, CostAndUsagePage, DateInterval, ENVIRONMENT_TAG, Group, GroupDefinition,
    MetricSumSeries, ResultByTime,
};
use cost::slack::SlackMessage;
use cost::sns::SnsMessage;
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;

use super::counting::RequestCounter;
use super::forecast::{ForecastFailure, ForecastUnavailable};
use super::notify::{Channels, NotifyError, SlackPoster};
use super::read::{COST_METRIC, ReadError, SeriesKey};
use super::slack::{PostReceipt, SlackError, SlackRetry};
use super::source::CostReads;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread poisons the lock; the data is still what it wrote.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn usd(amount: Decimal) -> Amount {
    Amount {
        amount,
        unit: "USD".into(),
    }
}

/// What the fake AWS answers. Clones share the counter.
#[derive(Debug, Clone)]
pub struct FakeReads {
    counter: RequestCounter,
    budgets: Vec<Budget>,
    daily_usd: Decimal,
    environment: String,
    page_days: u64,
    forecast: Option<CeForecastInput>,
}

impl FakeReads {
    /// No budgets, no spend, no forecast; calls are recorded in `counter`.
    #[must_use]
    pub fn new(counter: &RequestCounter, environment: &str) -> Self {
        Self {
            counter: counter.clone(),
            budgets: Vec::new(),
            daily_usd: Decimal::ZERO,
            environment: environment.to_owned(),
            page_days: 20,
            forecast: None,
        }
    }

    /// A monthly COST budget as `DescribeBudgets` reports it.
    #[must_use]
    pub fn with_budget(mut self, name: &str, limit: Decimal, actual: Decimal) -> Self {
        self.budgets.push(Budget {
            budget_name: name.to_owned(),
            budget_type: Some("COST".into()),
            time_unit: Some("MONTHLY".into()),
            budget_limit: Some(usd(limit)),
            calculated_spend: Some(CalculatedSpend {
                actual_spend: usd(actual),
                forecasted_spend: None,
            }),
        });
        self
    }

    /// Every day costs `usd` (one Lambda row tagged with the environment); `GetCostAndUsage` answers
    /// `page_days` days per page, so a long window takes several pages (and quota units).
    #[must_use]
    pub fn with_daily_spend(mut self, usd: Decimal, page_days: u64) -> Self {
        self.daily_usd = usd;
        self.page_days = page_days.max(1);
        self
    }

    /// `GetCostForecast` answers with `forecast` (otherwise it fails as moto does: not implemented).
    #[must_use]
    pub fn with_forecast(mut self, forecast: CeForecastInput) -> Self {
        self.forecast = Some(forecast);
        self
    }

    fn page(&self, start: NaiveDate, end: NaiveDate, token: Option<&str>) -> CostAndUsagePage {
        let from = token.and_then(|t| t.parse::<NaiveDate>().ok()).unwrap_or(start);
        let until = from
            .checked_add_days(Days::new(self.page_days))
            .map_or(end, |d| d.min(end));
        let results_by_time = from
            .iter_days()
            .take_while(|d| *d < until)
            .map(|day| ResultByTime {
                time_period: DateInterval {
                    start: day,
                    end: day.succ_opt().unwrap_or(day),
                },
                total: Default::default(),
                groups: vec![Group {
                    keys: vec![
                        "AWS Lambda".into(),
                        format!("{ENVIRONMENT_TAG}${}", self.environment),
                    ],
                    metrics: [(COST_METRIC.to_owned(), usd(self.daily_usd))].into(),
                }],
                estimated: false,
            })
            .collect();
        CostAndUsagePage {
            group_definitions: vec![
                GroupDefinition {
                    kind: "DIMENSION".into(),
                    key: "SERVICE".into(),
                },
                GroupDefinition {
                    kind: "TAG".into(),
                    key: ENVIRONMENT_TAG.into(),
                },
            ],
            results_by_time,
            next_page_token: (until < end).then(|| until.to_string()),
        }
    }
}

impl CostReads for FakeReads {
    async fn budgets(&self, spec: &PlatformSpec) -> Result<(Vec<Budget>, Vec<String>), ReadError> {
        self.counter.record("budgets", "DescribeBudgets");
        let missing = spec
            .budgets
            .iter()
            .filter(|b| !self.budgets.iter().any(|f| f.budget_name == b.name))
            .map(|b| b.name.clone())
            .collect();
        Ok((self.budgets.clone(), missing))
    }

    async fn report_series(
        &self,
        _spec: &PlatformSpec,
        _include_app_metrics: bool,
    ) -> Result<Vec<SeriesKey>, ReadError> {
        self.counter.record("cloudwatch", "ListMetrics");
        Ok(Vec::new())
    }

    async fn metric_sums(
        &self,
        _series: &[SeriesKey],
        _start: DateTime<Utc>,
        _end: DateTime<Utc>,
        _period_s: i32,
    ) -> Result<Vec<MetricSumSeries>, ReadError> {
        self.counter.record("cloudwatch", "GetMetricData");
        Ok(Vec::new())
    }

    async fn cost_and_usage_page(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        token: Option<String>,
    ) -> Result<CostAndUsagePage, ReadError> {
        self.counter.record("costexplorer", "GetCostAndUsage");
        Ok(self.page(start, end, token.as_deref()))
    }

    async fn cost_forecast(
        &self,
        _today: NaiveDate,
        _month_end: NaiveDate,
        _environment: &str,
        _include_untagged: bool,
    ) -> Result<CeForecastInput, ReadError> {
        self.counter.record("costexplorer", "GetCostForecast");
        self.forecast.clone().ok_or_else(|| {
            ReadError::Forecast(ForecastUnavailable {
                failure: ForecastFailure::NotImplemented,
                detail: "GetCostForecast is not implemented by the fake".into(),
            })
        })
    }
}

/// What one channel does on its next sends: accept, or fail with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Accept,
    /// Refused (Slack: HTTP 500 on every attempt; SNS: an internal error).
    Fail(String),
}

#[derive(Debug, Default)]
struct ChannelState {
    slack_script: VecDeque<Outcome>,
    sns_script: VecDeque<Outcome>,
    posted: Vec<SlackMessage>,
    published: Vec<(String, SnsMessage)>,
    slack_attempts: usize,
    sns_attempts: usize,
}

/// Slack and SNS in memory. Each send takes the next scripted [`Outcome`] (accept when the script is
/// empty); accepted messages are kept for the test to read. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct FakeChannels {
    state: Arc<Mutex<ChannelState>>,
}

impl FakeChannels {
    /// Channels that accept everything.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The next Slack posts answer these outcomes, in order.
    pub fn script_slack(&self, outcomes: impl IntoIterator<Item = Outcome>) {
        lock(&self.state).slack_script.extend(outcomes);
    }

    /// The next SNS publishes answer these outcomes, in order.
    pub fn script_sns(&self, outcomes: impl IntoIterator<Item = Outcome>) {
        lock(&self.state).sns_script.extend(outcomes);
    }

    /// Slack messages accepted so far.
    #[must_use]
    pub fn posted(&self) -> Vec<SlackMessage> {
        lock(&self.state).posted.clone()
    }

    /// SNS messages accepted so far, with their topic.
    #[must_use]
    pub fn published(&self) -> Vec<(String, SnsMessage)> {
        lock(&self.state).published.clone()
    }

    /// `(slack, sns)` send attempts so far, accepted or not.
    #[must_use]
    pub fn attempts(&self) -> (usize, usize) {
        let s = lock(&self.state);
        (s.slack_attempts, s.sns_attempts)
    }
}

/// The Slack side of [`FakeChannels`].
#[derive(Debug, Clone)]
pub struct FakeSlack {
    state: Arc<Mutex<ChannelState>>,
}

impl SlackPoster for FakeSlack {
    async fn post(&self, message: &SlackMessage) -> Result<PostReceipt, SlackError> {
        let mut s = lock(&self.state);
        s.slack_attempts += 1;
        match s.slack_script.pop_front().unwrap_or(Outcome::Accept) {
            Outcome::Accept => {
                s.posted.push(message.clone());
                Ok(PostReceipt {
                    attempts: 1,
                    waited_ms: 0,
                })
            }
            Outcome::Fail(detail) => Err(SlackError::Unavailable { attempts: 1, detail }),
        }
    }
}

impl Channels for FakeChannels {
    type Slack = FakeSlack;

    async fn slack(&self, _secret: &str, _retry: SlackRetry) -> Result<FakeSlack, NotifyError> {
        Ok(FakeSlack {
            state: Arc::clone(&self.state),
        })
    }

    async fn publish_sns(
        &self,
        topic: &str,
        message: &SnsMessage,
        _severity: &str,
        _kind: &str,
    ) -> Result<String, NotifyError> {
        let mut s = lock(&self.state);
        s.sns_attempts += 1;
        match s.sns_script.pop_front().unwrap_or(Outcome::Accept) {
            Outcome::Accept => {
                s.published.push((topic.to_owned(), message.clone()));
                Ok(format!("fake-{}", s.published.len()))
            }
            Outcome::Fail(detail) => Err(NotifyError::Sns {
                topic: topic.to_owned(),
                detail,
            }),
        }
    }
}
