//! In-memory implementations of the cost pass's seams, for unit tests of the record → send → mark sent
//! protocol without a server: [`FakeReads`] (Cost Explorer pages, forecast, budgets, metric sums; each
//! call recorded in the run's [`RequestCounter`] under the SDK's service and operation names) and
//! [`FakeChannels`] (Slack and SNS that accept, fail, lose their answer or hang as told, and remember
//! what they got). The ledger's fake is [`crate::ledger::MemoryLedger`]. Behind the `testing` feature:
//! no production build compiles this file.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_error::AwsCallError;
use chrono::{DateTime, Days, NaiveDate, Utc};
use cost::burn::CeForecastInput;
use cost::input::{
    Amount, Budget, CalculatedSpend, CostAndUsagePage, DateInterval, ENVIRONMENT_TAG, Group, GroupDefinition,
    MetricSumSeries, ResultByTime,
};
use cost::slack::SlackMessage;
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;

use super::counting::RequestCounter;
use super::forecast::{ForecastFailure, ForecastUnavailable};
use super::notify::{NotifyError, SlackPoster, SlackSource, SnsPublisher};
use super::read::{COST_METRIC, ReadError, SeriesKey};
use super::slack::{PostReceipt, SlackError, SlackRetry};
use super::source::CostReads;
use crate::ledger::delivery::SnsNotification;

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
    estimated_from: Option<NaiveDate>,
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
            estimated_from: None,
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

    /// Every budget's spend is unknown: `CalculatedSpend` without `ActualSpend` (a budget AWS Budgets
    /// has not calculated yet, or the $0 it shows while it recalculates after an edit).
    #[must_use]
    pub fn with_spend_unknown(mut self) -> Self {
        for b in &mut self.budgets {
            b.calculated_spend = None;
        }
        self
    }

    /// Every budget resets each `unit` (`DescribeBudgets` `TimeUnit`: `MONTHLY`, `QUARTERLY`, ...).
    #[must_use]
    pub fn with_budget_unit(mut self, unit: &str) -> Self {
        for b in &mut self.budgets {
            b.time_unit = Some(unit.to_owned());
        }
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

    /// Days from `day` on are `Estimated` (as Cost Explorer marks every day of the open month).
    #[must_use]
    pub fn with_estimated_from(mut self, day: NaiveDate) -> Self {
        self.estimated_from = Some(day);
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
                estimated: self.estimated_from.is_some_and(|from| day >= from),
            })
            .collect();
        CostAndUsagePage {
            group_definitions: GroupDefinition::report_grouping(),
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

/// What one channel does on its next send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted.
    Accept,
    /// Refused before anything was delivered (Slack: connection refused; SNS: the service answered
    /// with this error code — HTTP 500 for `Internal…`, 400 otherwise).
    Fail(String),
    /// Accepted, but the answer was lost (Slack: timed out after posting; SNS: the SDK's timeout):
    /// the message is delivered and the sender sees an error.
    AcceptLost,
    /// Never answers, delivering nothing: the process dies while sending.
    Hang,
    /// Delivers, then never answers: the process dies after the channel accepted, before the ledger
    /// was told.
    AcceptThenHang,
    /// Delivers and answers after this long (a slow channel: another run may start meanwhile).
    AcceptAfter(std::time::Duration),
}

impl Outcome {
    /// Whether the channel receives the message (whatever the sender then hears).
    const fn delivers(&self) -> bool {
        matches!(
            self,
            Self::Accept | Self::AcceptLost | Self::AcceptThenHang | Self::AcceptAfter(_)
        )
    }
}

#[derive(Debug, Default)]
struct ChannelState {
    slack_script: VecDeque<Outcome>,
    sns_script: VecDeque<Outcome>,
    posted: Vec<SlackMessage>,
    published: Vec<SnsNotification>,
    slack_attempts: usize,
    sns_attempts: usize,
    secret_fails: usize,
}

/// Slack and SNS in memory. Each send takes the next scripted [`Outcome`] (accept when the script is
/// empty); delivered messages are kept for the test to read. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct FakeChannels {
    state: Arc<Mutex<ChannelState>>,
}

/// A failed call of `service`'s `operation` as the SDK reports an answer with `status` and, when
/// given, the error `code` (message "injected by a fake"), classified like a real one.
///
/// # Panics
/// When `status` is not an HTTP status.
#[must_use]
pub fn call_error(
    service: &'static str,
    operation: &'static str,
    status: u16,
    code: Option<&str>,
) -> AwsCallError {
    use aws_sdk_sns::operation::publish::PublishError;
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    #[allow(clippy::expect_used)] // callers pass real HTTP statuses
    let status = StatusCode::try_from(status).expect("an HTTP status");
    let mut meta = ErrorMetadata::builder();
    if let Some(code) = code {
        meta = meta.code(code).message("injected by a fake");
    }
    // The operation's own error type only carries the metadata; any modelled error type reads the same.
    let err: SdkError<PublishError, Response> = SdkError::service_error(
        PublishError::generic(meta.build()),
        Response::new(status, SdkBody::empty()),
    );
    AwsCallError::from_sdk(service, operation, err)
}

/// An SNS `Publish` failure as the SDK reports it, classified like a real one.
#[must_use]
pub fn sns_error(topic: &str, code: &str) -> NotifyError {
    use aws_sdk_sns::operation::publish::PublishError;
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::Response;
    let cause = if code == "Timeout" {
        let err: SdkError<PublishError, Response> = SdkError::timeout_error("the answer never came (fake)");
        AwsCallError::from_sdk("SNS", "Publish", err)
    } else {
        let status: u16 = if code.starts_with("Internal") { 500 } else { 400 };
        call_error("SNS", "Publish", status, Some(code))
    };
    NotifyError::Sns {
        topic: topic.to_owned(),
        cause,
    }
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

    /// The next `times` reads of the webhook secret fail (access denied).
    pub fn fail_secret(&self, times: usize) {
        lock(&self.state).secret_fails = times;
    }

    /// Slack messages delivered so far.
    #[must_use]
    pub fn posted(&self) -> Vec<SlackMessage> {
        lock(&self.state).posted.clone()
    }

    /// SNS messages delivered so far.
    #[must_use]
    pub fn published(&self) -> Vec<SnsNotification> {
        lock(&self.state).published.clone()
    }

    /// `(slack, sns)` send attempts so far, delivered or not.
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
        let outcome = {
            let mut s = lock(&self.state);
            s.slack_attempts += 1;
            let outcome = s.slack_script.pop_front().unwrap_or(Outcome::Accept);
            if outcome.delivers() {
                s.posted.push(message.clone());
            }
            outcome
        };
        match outcome {
            Outcome::Accept => Ok(PostReceipt {
                attempts: 1,
                waited_ms: 0,
            }),
            Outcome::AcceptAfter(wait) => {
                tokio::time::sleep(wait).await;
                Ok(PostReceipt {
                    attempts: 1,
                    waited_ms: 0,
                })
            }
            Outcome::Fail(detail) => Err(SlackError::Unavailable {
                attempts: 1,
                detail,
                outcome_unknown: false,
            }),
            Outcome::AcceptLost => Err(SlackError::Unavailable {
                attempts: 1,
                detail: "operation timed out".into(),
                outcome_unknown: true,
            }),
            Outcome::Hang | Outcome::AcceptThenHang => std::future::pending().await,
        }
    }
}

impl SlackSource for FakeChannels {
    type Slack = FakeSlack;

    async fn slack(&self, secret: &str, _retry: SlackRetry) -> Result<FakeSlack, NotifyError> {
        let fail = {
            let mut s = lock(&self.state);
            let fail = s.secret_fails > 0;
            s.secret_fails = s.secret_fails.saturating_sub(1);
            fail
        };
        if fail {
            return Err(NotifyError::Secret {
                secret: secret.to_owned(),
                problem: super::notify::SecretProblem::NoString,
            });
        }
        Ok(FakeSlack {
            state: Arc::clone(&self.state),
        })
    }
}

impl SnsPublisher for FakeChannels {
    async fn publish_sns(&self, message: &SnsNotification) -> Result<String, NotifyError> {
        let (outcome, id) = {
            let mut s = lock(&self.state);
            s.sns_attempts += 1;
            let outcome = s.sns_script.pop_front().unwrap_or(Outcome::Accept);
            if outcome.delivers() {
                s.published.push(message.clone());
            }
            (outcome, format!("fake-{}", s.sns_attempts))
        };
        match outcome {
            Outcome::Accept => Ok(id),
            Outcome::AcceptAfter(wait) => {
                tokio::time::sleep(wait).await;
                Ok(id)
            }
            Outcome::Fail(code) => Err(sns_error(&message.topic, &code)),
            Outcome::AcceptLost => Err(sns_error(&message.topic, "Timeout")),
            Outcome::Hang | Outcome::AcceptThenHang => std::future::pending().await,
        }
    }
}
