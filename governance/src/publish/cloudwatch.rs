//! The CloudWatch operations publishing uses, behind one small trait ([`CloudWatchApi`]) implemented for
//! `aws_sdk_cloudwatch::Client`, and the one-to-one conversions between the `alarms` crate's input
//! structs and the SDK's types (both directions: `Put*Alarm` requests out, `DescribeAlarms` back in).
//!
//! Paging lives in the free functions ([`describe_all_alarms`], [`list_all_dashboards`], ...) so every
//! implementation of the trait (the SDK client, the benchmark's fake) is paged the same way, and every
//! paging loop of governance is bounded by one [`PageGuard`]: a cap on pages and repeat detection over
//! every token already followed; hitting either is an error naming the operation, never a truncation.
//!
//! Retries are the SDK's (`RetryConfig`, see [`with_publishing_retries`]), never a loop here.

use std::future::Future;

use alarms::model::{
    Alarm, ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, PutCompositeAlarmInput,
    PutMetricAlarmInput, Statistic, TreatMissingData,
};
use alarms::state::{AlarmStatus, StateTransition, StateValue};
use aws_sdk_cloudwatch::types as cw;
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use aws_error::{AwsCallError, ErrorClass};

/// A failed CloudWatch call: which operation, the service's code and message, the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct ApiError {
    /// The operation (`PutMetricAlarm`).
    pub operation: &'static str,
    /// The service's error code (`Throttling`, `NotImplemented`), if it answered.
    pub code: Option<String>,
    /// One line saying what went wrong.
    pub message: String,
    /// HTTP status, if a response came back.
    pub status: Option<u16>,
    /// The class [`AwsCallError`] gave the failure: the only record of a call that got no answer (a
    /// timeout, a refused connection), whose code and status say nothing. `None`: a failure made up
    /// locally (fakes, paging bounds), classified from its code and status.
    #[serde(skip)]
    pub classified: Option<ErrorClass>,
}

impl ApiError {
    /// A failure that never reached a response (used by fakes and conversions).
    #[must_use]
    pub fn local(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            code: None,
            message: message.into(),
            status: None,
            classified: None,
        }
    }

    /// The failure's class: [`AwsCallError`]'s for a real call, else from the code and status.
    #[must_use]
    pub fn class(&self) -> ErrorClass {
        self.classified.unwrap_or_else(|| {
            aws_error::classify_answer(
                self.status.unwrap_or(0),
                self.code.as_deref(),
                Some(&self.message),
            )
        })
    }

    /// Whether the endpoint does not implement the operation (moto answers `PutCompositeAlarm` with 501).
    #[must_use]
    pub fn is_not_implemented(&self) -> bool {
        self.status == Some(501) || self.code.as_deref() == Some("NotImplemented")
    }

    /// `service`'s `operation` failed: classified ([`AwsCallError`]), kept as its code, one-line summary
    /// and HTTP status (what the publish reports serialise).
    pub(crate) fn from_sdk<E, R>(
        service: &'static str,
        operation: &'static str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: aws_error::RawAnswer + std::fmt::Debug + Send + Sync + 'static,
    {
        let call = AwsCallError::from_sdk(service, operation, err);
        Self {
            operation,
            code: call.code().map(str::to_owned),
            message: call.summary(),
            status: call.status(),
            classified: Some(call.class()),
        }
    }
}

/// An alarm as `DescribeAlarms` returned it: its configuration (to compare with the desired one) and
/// its state (for the state report).
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedAlarm {
    /// `AlarmArn` (what `ListTagsForResource` takes).
    pub arn: String,
    /// The configuration, as the `Put*` input that would produce it (tags empty: `DescribeAlarms` does
    /// not return them; the planner fills them in for the alarms whose ownership they decide).
    pub alarm: Alarm,
    /// State, since when, and why.
    pub status: AlarmStatus,
}

/// One page of `DescribeAlarms`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmPage {
    /// Metric and composite alarms of the page.
    pub alarms: Vec<PublishedAlarm>,
    /// Token of the next page.
    pub next_token: Option<String>,
}

/// One page of `ListDashboards`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DashboardPage {
    /// Dashboard names.
    pub names: Vec<String>,
    /// Token of the next page.
    pub next_token: Option<String>,
}

/// One page of `DescribeAlarmHistory` (state updates).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryPage {
    /// State transitions of the page.
    pub transitions: Vec<StateTransition>,
    /// Token of the next page.
    pub next_token: Option<String>,
}

/// One page of `GetMetricData` for the query with `ReturnData`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricDataPage {
    /// `(timestamp, value)` points.
    pub points: Vec<(DateTime<Utc>, f64)>,
    /// Token of the next page.
    pub next_token: Option<String>,
}

/// The CloudWatch operations the publisher uses — and nothing else.
pub trait CloudWatchApi: Send + Sync {
    /// `DescribeAlarms` (metric and composite alarms), one page of up to 100.
    fn describe_alarms(
        &self,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<AlarmPage, ApiError>> + Send;
    /// `PutMetricAlarm`.
    fn put_metric_alarm(
        &self,
        alarm: &PutMetricAlarmInput,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// `PutCompositeAlarm`.
    fn put_composite_alarm(
        &self,
        alarm: &PutCompositeAlarmInput,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// `ListTagsForResource` of one alarm, by its ARN. The default (for test doubles that never plan
    /// deletes) answers an error, so the planner deletes nothing whose tags it could not read.
    fn alarm_tags(
        &self,
        alarm_arn: &str,
    ) -> impl Future<Output = Result<Vec<alarms::model::Tag>, ApiError>> + Send {
        let arn = alarm_arn.to_owned();
        async move {
            Err(ApiError::local(
                "ListTagsForResource",
                format!("this CloudWatch client does not read tags ({arn})"),
            ))
        }
    }
    /// `TagResource` of one alarm, by its ARN: adds `tags` (or sets their values), leaving its other
    /// tags. The default (for test doubles that never plan tags) answers an error.
    fn tag_alarm(
        &self,
        alarm_arn: &str,
        tags: &[alarms::model::Tag],
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        let why = format!(
            "this CloudWatch client does not tag ({alarm_arn}, {} tags)",
            tags.len()
        );
        async move { Err(ApiError::local("TagResource", why)) }
    }
    /// `DeleteAlarms` (≤ 100 names).
    fn delete_alarms(&self, names: &[String]) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// `DescribeAlarmHistory` state updates between `start` and `end`, one page.
    fn describe_alarm_history(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<HistoryPage, ApiError>> + Send;
    /// `DescribeAlarmHistory` state updates of the alarm `alarm_name` only, one page (the alarm-state
    /// report reads the managed alarms' history this way, not the account's). The default filters
    /// [`CloudWatchApi::describe_alarm_history`]; the SDK client asks by `AlarmName`.
    fn describe_alarm_history_of(
        &self,
        alarm_name: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<HistoryPage, ApiError>> + Send {
        async move {
            let mut page = self.describe_alarm_history(start, end, next_token).await?;
            page.transitions.retain(|t| t.alarm_name == alarm_name);
            Ok(page)
        }
    }
    /// `ListDashboards`, one page.
    fn list_dashboards(
        &self,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<DashboardPage, ApiError>> + Send;
    /// `GetDashboard`: the body.
    fn get_dashboard(&self, name: &str) -> impl Future<Output = Result<String, ApiError>> + Send;
    /// `PutDashboard`; returns the validation warnings CloudWatch attached to a successful put.
    fn put_dashboard(
        &self,
        name: &str,
        body: &str,
    ) -> impl Future<Output = Result<Vec<String>, ApiError>> + Send;
    /// `DeleteDashboards`.
    fn delete_dashboards(&self, names: &[String]) -> impl Future<Output = Result<(), ApiError>> + Send;
    /// `GetMetricData` for `queries` between `start` and `end`, one page of the `ReturnData` query.
    fn get_metric_data(
        &self,
        queries: &[MetricDataQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<MetricDataPage, ApiError>> + Send;
}

/// Most pages any paging loop follows before it gives up with an error (a service that keeps handing out
/// new tokens, or a fake that loops): 1,000 pages of `DescribeAlarms` are 100,000 alarms, far beyond any
/// account this tool manages.
pub const MAX_PAGES: usize = 1_000;

/// A paging loop stopped before the last page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    /// The service handed back a token the loop had already followed: following it would loop forever
    /// (or read the same items twice).
    #[error(
        "{operation}: page {page} returned a NextToken already followed on an earlier page; stopped instead of looping"
    )]
    RepeatedToken {
        /// The paged operation.
        operation: &'static str,
        /// The page (1-based) that returned the repeated token.
        page: usize,
    },
    /// More pages than the cap: stopped rather than reading (and paying for) without end.
    #[error(
        "{operation}: more than {max_pages} pages; stopped at the cap instead of returning a truncated list"
    )]
    TooManyPages {
        /// The paged operation.
        operation: &'static str,
        /// The cap.
        max_pages: usize,
    },
}

impl From<PagingError> for ApiError {
    fn from(e: PagingError) -> Self {
        let operation = match &e {
            PagingError::RepeatedToken { operation, .. } | PagingError::TooManyPages { operation, .. } => {
                operation
            }
        };
        Self::local(operation, e.to_string())
    }
}

/// The bounds of one paging loop: every token followed is remembered (a repeat of *any* earlier token is
/// an error, not only of the previous one), and the number of pages is capped. A loop calls
/// [`PageGuard::next`] with each page's token; it answers the token to follow, or `None` at the last
/// page (an absent or empty token: CloudWatch sends `""` on some last pages).
///
/// ```
/// use governance::publish::cloudwatch::{PageGuard, PagingError};
/// let mut g = PageGuard::new("DescribeAlarms", 10);
/// assert_eq!(g.next(Some("a".into())).unwrap(), Some("a".to_owned()));
/// assert_eq!(g.next(Some("b".into())).unwrap(), Some("b".to_owned()));
/// // "a" again, two pages later: a cycle.
/// assert!(matches!(g.next(Some("a".into())), Err(PagingError::RepeatedToken { page: 3, .. })));
/// let mut g = PageGuard::new("ListDashboards", 10);
/// assert_eq!(g.next(Some(String::new())).unwrap(), None);
/// ```
#[derive(Debug, Clone)]
pub struct PageGuard {
    operation: &'static str,
    max_pages: usize,
    pages: usize,
    seen: std::collections::HashSet<String>,
}

impl PageGuard {
    /// A guard for `operation` allowing `max_pages` pages (at least one).
    #[must_use]
    pub fn new(operation: &'static str, max_pages: usize) -> Self {
        Self {
            operation,
            max_pages: max_pages.max(1),
            pages: 0,
            seen: std::collections::HashSet::new(),
        }
    }

    /// Pages read so far.
    #[must_use]
    pub const fn pages(&self) -> usize {
        self.pages
    }

    /// Records one page read that handed back `token`; answers the token to follow next, `None` when
    /// that page was the last.
    ///
    /// # Errors
    /// [`PagingError::RepeatedToken`] when `token` was followed before, [`PagingError::TooManyPages`] when
    /// following it would read more than the cap.
    pub fn next(&mut self, token: Option<String>) -> Result<Option<String>, PagingError> {
        self.pages += 1;
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if !self.seen.insert(token.clone()) {
            return Err(PagingError::RepeatedToken {
                operation: self.operation,
                page: self.pages,
            });
        }
        if self.pages >= self.max_pages {
            return Err(PagingError::TooManyPages {
                operation: self.operation,
                max_pages: self.max_pages,
            });
        }
        Ok(Some(token))
    }
}

/// Follows `NextToken` from the first page to the last, collecting every page's items, within a
/// [`PageGuard`] of `max_pages`: a repeated token or the cap is an error naming `operation`, never a
/// silently shortened list.
///
/// # Errors
/// The first failed page, or the guard's [`PagingError`] as an [`ApiError`] of `operation`.
pub async fn paginate<T, F, Fut>(
    operation: &'static str,
    max_pages: usize,
    mut fetch: F,
) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), ApiError>>,
{
    let mut guard = PageGuard::new(operation, max_pages);
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let (items, next) = fetch(token).await?;
        out.extend(items);
        match guard.next(next)? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Every alarm of the account, following `NextToken` until the last page.
///
/// # Errors
/// The first failed page; a repeated `NextToken` or more than [`MAX_PAGES`] pages.
pub async fn describe_all_alarms<C: CloudWatchApi>(cw: &C) -> Result<Vec<PublishedAlarm>, ApiError> {
    paginate("DescribeAlarms", MAX_PAGES, |token| async move {
        let page = cw.describe_alarms(token).await?;
        Ok((page.alarms, page.next_token))
    })
    .await
}

/// Every dashboard name of the account.
///
/// # Errors
/// The first failed page; a repeated `NextToken` or more than [`MAX_PAGES`] pages.
pub async fn list_all_dashboards<C: CloudWatchApi>(cw: &C) -> Result<Vec<String>, ApiError> {
    paginate("ListDashboards", MAX_PAGES, |token| async move {
        let page = cw.list_dashboards(token).await?;
        Ok((page.names, page.next_token))
    })
    .await
}

/// Every state update between `start` and `end`.
///
/// # Errors
/// The first failed page; a repeated `NextToken` or more than [`MAX_PAGES`] pages.
pub async fn alarm_history<C: CloudWatchApi>(
    cw: &C,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<StateTransition>, ApiError> {
    paginate("DescribeAlarmHistory", MAX_PAGES, |token| async move {
        let page = cw.describe_alarm_history(start, end, token).await?;
        Ok((page.transitions, page.next_token))
    })
    .await
}

/// Every point of the `ReturnData` query of `queries` between `start` and `end`, oldest first.
///
/// # Errors
/// The first failed page; a repeated `NextToken` or more than [`MAX_PAGES`] pages.
pub async fn metric_data<C: CloudWatchApi>(
    cw: &C,
    queries: &[MetricDataQuery],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, f64)>, ApiError> {
    let mut out = paginate("GetMetricData", MAX_PAGES, |token| async move {
        let page = cw.get_metric_data(queries, start, end, token).await?;
        Ok((page.points, page.next_token))
    })
    .await?;
    out.sort_by_key(|(t, _)| *t);
    Ok(out)
}

/// A copy of `client` whose retries suit publishing against AWS: standard mode, 6 attempts, exponential
/// backoff from 1 s (throttling errors are retried by the SDK's classifier). A client configured for a
/// single attempt (the emulator) is returned unchanged, so unimplemented calls fail fast, and so is every
/// client when the user chose the retry settings ([`crate::aws::retries_chosen`]).
#[must_use]
pub fn with_publishing_retries(client: &aws_sdk_cloudwatch::Client) -> aws_sdk_cloudwatch::Client {
    use aws_config::retry::RetryConfig;
    let config = client.config();
    let single = config.retry_config().is_some_and(|r| r.max_attempts() <= 1);
    if single || crate::aws::retries_chosen() {
        return client.clone();
    }
    let retry = RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(std::time::Duration::from_secs(1))
        .with_max_backoff(std::time::Duration::from_secs(20));
    aws_sdk_cloudwatch::Client::from_conf(config.to_builder().retry_config(retry).build())
}

// ---- conversions: alarms crate → SDK ------------------------------------------------------------

fn enum_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn sdk_dimensions(dims: &[Dimension]) -> Vec<cw::Dimension> {
    dims.iter()
        .map(|d| cw::Dimension::builder().name(&d.name).value(&d.value).build())
        .collect()
}

fn sdk_query(q: &MetricDataQuery) -> cw::MetricDataQuery {
    let stat = q.metric_stat.as_ref().map(|s| {
        cw::MetricStat::builder()
            .metric(
                cw::Metric::builder()
                    .namespace(&s.metric.namespace)
                    .metric_name(&s.metric.metric_name)
                    .set_dimensions(Some(sdk_dimensions(&s.metric.dimensions)))
                    .build(),
            )
            .period(i32::try_from(s.period).unwrap_or(i32::MAX))
            .stat(&s.stat)
            .set_unit(s.unit.as_deref().map(cw::StandardUnit::from))
            .build()
    });
    cw::MetricDataQuery::builder()
        .id(&q.id)
        .set_metric_stat(stat)
        .set_expression(q.expression.clone())
        .set_label(q.label.clone())
        .set_return_data(q.return_data)
        .set_period(q.period.map(|p| i32::try_from(p).unwrap_or(i32::MAX)))
        .set_account_id(q.account_id.clone())
        .build()
}

fn to_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn to_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn non_empty(v: &[String]) -> Option<Vec<String>> {
    if v.is_empty() { None } else { Some(v.to_vec()) }
}

/// One page of `StateUpdate` history items between `start` and `end` for `request` (the account's metric
/// and composite alarms, or one alarm by name), as transitions; the two history reads differ only in what
/// they ask for.
async fn state_updates(
    request: aws_sdk_cloudwatch::operation::describe_alarm_history::builders::DescribeAlarmHistoryFluentBuilder,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    next_token: Option<String>,
) -> Result<HistoryPage, ApiError> {
    let out = request
        .history_item_type(cw::HistoryItemType::StateUpdate)
        .start_date(smithy_time(start))
        .end_date(smithy_time(end))
        .max_records(100)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| ApiError::from_sdk("CloudWatch", "DescribeAlarmHistory", e))?;
    let transitions = out
        .alarm_history_items()
        .iter()
        .filter_map(|item| {
            StateTransition::from_history_data(
                item.alarm_name()?,
                item.timestamp().and_then(chrono_time)?,
                item.history_data()?,
            )
            .ok()
        })
        .collect();
    Ok(HistoryPage {
        transitions,
        next_token: out.next_token().map(str::to_owned),
    })
}

impl CloudWatchApi for aws_sdk_cloudwatch::Client {
    async fn describe_alarms(&self, next_token: Option<String>) -> Result<AlarmPage, ApiError> {
        let out = self
            .describe_alarms()
            .alarm_types(cw::AlarmType::MetricAlarm)
            .alarm_types(cw::AlarmType::CompositeAlarm)
            .max_records(100)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "DescribeAlarms", e))?;
        let mut alarms: Vec<PublishedAlarm> =
            out.metric_alarms().iter().map(published_metric_alarm).collect();
        alarms.extend(out.composite_alarms().iter().map(published_composite_alarm));
        Ok(AlarmPage {
            alarms,
            next_token: out.next_token().map(str::to_owned),
        })
    }

    async fn put_metric_alarm(&self, a: &PutMetricAlarmInput) -> Result<(), ApiError> {
        let tags: Vec<cw::Tag> = a
            .tags
            .iter()
            .map(|t| cw::Tag::builder().key(&t.key).value(&t.value).build())
            .collect();
        self.put_metric_alarm()
            .alarm_name(&a.alarm_name)
            .set_alarm_description(a.alarm_description.clone())
            .set_actions_enabled(a.actions_enabled)
            .set_ok_actions(non_empty(&a.ok_actions))
            .set_alarm_actions(non_empty(&a.alarm_actions))
            .set_insufficient_data_actions(non_empty(&a.insufficient_data_actions))
            .set_metric_name(a.metric_name.clone())
            .set_namespace(a.namespace.clone())
            .set_statistic(a.statistic.map(|s| cw::Statistic::from(s.as_str())))
            .set_extended_statistic(a.extended_statistic.clone())
            .set_dimensions(if a.dimensions.is_empty() {
                None
            } else {
                Some(sdk_dimensions(&a.dimensions))
            })
            .set_period(a.period.map(to_i32))
            .set_unit(a.unit.as_deref().map(cw::StandardUnit::from))
            .evaluation_periods(to_i32(a.evaluation_periods))
            .set_datapoints_to_alarm(a.datapoints_to_alarm.map(to_i32))
            .set_threshold(a.threshold)
            .comparison_operator(cw::ComparisonOperator::from(
                enum_name(&a.comparison_operator).as_str(),
            ))
            .set_treat_missing_data(a.treat_missing_data.map(|t| enum_name(&t)))
            .set_evaluate_low_sample_count_percentile(a.evaluate_low_sample_count_percentile.clone())
            .set_metrics(if a.metrics.is_empty() {
                None
            } else {
                Some(a.metrics.iter().map(sdk_query).collect())
            })
            .set_tags(if tags.is_empty() { None } else { Some(tags) })
            .set_threshold_metric_id(a.threshold_metric_id.clone())
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "PutMetricAlarm", e))?;
        Ok(())
    }

    async fn put_composite_alarm(&self, c: &PutCompositeAlarmInput) -> Result<(), ApiError> {
        let tags: Vec<cw::Tag> = c
            .tags
            .iter()
            .map(|t| cw::Tag::builder().key(&t.key).value(&t.value).build())
            .collect();
        self.put_composite_alarm()
            .alarm_name(&c.alarm_name)
            .set_alarm_description(c.alarm_description.clone())
            .alarm_rule(&c.alarm_rule)
            .set_actions_enabled(c.actions_enabled)
            .set_ok_actions(non_empty(&c.ok_actions))
            .set_alarm_actions(non_empty(&c.alarm_actions))
            .set_insufficient_data_actions(non_empty(&c.insufficient_data_actions))
            .set_actions_suppressor(c.actions_suppressor.clone())
            .set_actions_suppressor_wait_period(c.actions_suppressor_wait_period.map(to_i32))
            .set_actions_suppressor_extension_period(c.actions_suppressor_extension_period.map(to_i32))
            .set_tags(if tags.is_empty() { None } else { Some(tags) })
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "PutCompositeAlarm", e))?;
        Ok(())
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), ApiError> {
        self.delete_alarms()
            .set_alarm_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "DeleteAlarms", e))?;
        Ok(())
    }

    async fn tag_alarm(&self, alarm_arn: &str, tags: &[alarms::model::Tag]) -> Result<(), ApiError> {
        let tags: Vec<cw::Tag> = tags
            .iter()
            .map(|t| cw::Tag::builder().key(&t.key).value(&t.value).build())
            .collect();
        self.tag_resource()
            .resource_arn(alarm_arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "TagResource", e))?;
        Ok(())
    }

    async fn alarm_tags(&self, alarm_arn: &str) -> Result<Vec<alarms::model::Tag>, ApiError> {
        let out = self
            .list_tags_for_resource()
            .resource_arn(alarm_arn)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "ListTagsForResource", e))?;
        Ok(out
            .tags()
            .iter()
            .map(|t| alarms::model::Tag {
                key: t.key().unwrap_or_default().to_owned(),
                value: t.value().unwrap_or_default().to_owned(),
            })
            .collect())
    }

    async fn describe_alarm_history(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        next_token: Option<String>,
    ) -> Result<HistoryPage, ApiError> {
        let request = self
            .describe_alarm_history()
            .alarm_types(cw::AlarmType::MetricAlarm)
            .alarm_types(cw::AlarmType::CompositeAlarm);
        state_updates(request, start, end, next_token).await
    }

    async fn describe_alarm_history_of(
        &self,
        alarm_name: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        next_token: Option<String>,
    ) -> Result<HistoryPage, ApiError> {
        // Without AlarmTypes only a metric alarm's history comes back: a composite's is asked for.
        let request = self
            .describe_alarm_history()
            .alarm_name(alarm_name)
            .alarm_types(cw::AlarmType::MetricAlarm)
            .alarm_types(cw::AlarmType::CompositeAlarm);
        state_updates(request, start, end, next_token).await
    }

    async fn list_dashboards(&self, next_token: Option<String>) -> Result<DashboardPage, ApiError> {
        let out = self
            .list_dashboards()
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "ListDashboards", e))?;
        Ok(DashboardPage {
            names: out
                .dashboard_entries()
                .iter()
                .filter_map(|d| d.dashboard_name().map(str::to_owned))
                .collect(),
            next_token: out.next_token().map(str::to_owned),
        })
    }

    async fn get_dashboard(&self, name: &str) -> Result<String, ApiError> {
        let out = self
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "GetDashboard", e))?;
        Ok(out.dashboard_body().unwrap_or_default().to_owned())
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> Result<Vec<String>, ApiError> {
        let out = self
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "PutDashboard", e))?;
        Ok(out
            .dashboard_validation_messages()
            .iter()
            .map(|m| {
                format!(
                    "{}: {}",
                    m.data_path().unwrap_or("/"),
                    m.message().unwrap_or_default()
                )
            })
            .collect())
    }

    async fn delete_dashboards(&self, names: &[String]) -> Result<(), ApiError> {
        self.delete_dashboards()
            .set_dashboard_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "DeleteDashboards", e))?;
        Ok(())
    }

    async fn get_metric_data(
        &self,
        queries: &[MetricDataQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        next_token: Option<String>,
    ) -> Result<MetricDataPage, ApiError> {
        let returned = queries
            .iter()
            .find(|q| q.return_data != Some(false))
            .map(|q| q.id.clone())
            .unwrap_or_default();
        let out = self
            .get_metric_data()
            .set_metric_data_queries(Some(queries.iter().map(sdk_query).collect()))
            .start_time(smithy_time(start))
            .end_time(smithy_time(end))
            .scan_by(cw::ScanBy::TimestampAscending)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatch", "GetMetricData", e))?;
        let points = out
            .metric_data_results()
            .iter()
            .filter(|r| r.id() == Some(returned.as_str()))
            .flat_map(|r| {
                r.timestamps()
                    .iter()
                    .zip(r.values())
                    .filter_map(|(t, v)| Some((chrono_time(t)?, *v)))
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(MetricDataPage {
            points,
            next_token: out.next_token().map(str::to_owned),
        })
    }
}

// ---- conversions: SDK → alarms crate -------------------------------------------------------------

/// SDK time → chrono (`None` if out of range).
#[must_use]
pub fn chrono_time(t: &SmithyTime) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single()
}

/// chrono → SDK time.
#[must_use]
pub fn smithy_time(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_secs(t.timestamp())
}

fn model_dimensions(dims: &[cw::Dimension]) -> Vec<Dimension> {
    dims.iter()
        .map(|d| Dimension {
            name: d.name().unwrap_or_default().to_owned(),
            value: d.value().unwrap_or_default().to_owned(),
        })
        .collect()
}

fn model_query(q: &cw::MetricDataQuery) -> MetricDataQuery {
    MetricDataQuery {
        id: q.id().unwrap_or_default().to_owned(),
        metric_stat: q.metric_stat().map(|s| MetricStat {
            metric: Metric {
                namespace: s
                    .metric()
                    .and_then(|m| m.namespace())
                    .unwrap_or_default()
                    .to_owned(),
                metric_name: s
                    .metric()
                    .and_then(|m| m.metric_name())
                    .unwrap_or_default()
                    .to_owned(),
                dimensions: s
                    .metric()
                    .map(|m| model_dimensions(m.dimensions()))
                    .unwrap_or_default(),
            },
            period: s.period().map_or(0, to_u32),
            stat: s.stat().unwrap_or_default().to_owned(),
            unit: s.unit().map(|u| u.as_str().to_owned()),
        }),
        expression: q.expression().map(str::to_owned),
        label: q.label().map(str::to_owned),
        return_data: q.return_data(),
        period: q.period().map(to_u32),
        account_id: q.account_id().map(str::to_owned),
    }
}

fn state_value(v: Option<&cw::StateValue>) -> StateValue {
    match v {
        Some(cw::StateValue::Alarm) => StateValue::Alarm,
        Some(cw::StateValue::Ok) => StateValue::Ok,
        _ => StateValue::InsufficientData,
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// A `DescribeAlarms` metric alarm as the `PutMetricAlarm` input that produced it, plus its state.
#[must_use]
pub fn published_metric_alarm(m: &cw::MetricAlarm) -> PublishedAlarm {
    let name = m.alarm_name().unwrap_or_default().to_owned();
    let input = PutMetricAlarmInput {
        alarm_name: name.clone(),
        alarm_description: m.alarm_description().map(str::to_owned),
        actions_enabled: m.actions_enabled(),
        ok_actions: m.ok_actions().to_vec(),
        alarm_actions: m.alarm_actions().to_vec(),
        insufficient_data_actions: m.insufficient_data_actions().to_vec(),
        metric_name: m.metric_name().map(str::to_owned),
        namespace: m.namespace().map(str::to_owned),
        statistic: m.statistic().and_then(|s| Statistic::from_name(s.as_str())),
        extended_statistic: m.extended_statistic().map(str::to_owned),
        dimensions: model_dimensions(m.dimensions()),
        period: m.period().map(to_u32),
        unit: m.unit().map(|u| u.as_str().to_owned()),
        evaluation_periods: m.evaluation_periods().map_or(0, to_u32),
        datapoints_to_alarm: m.datapoints_to_alarm().map(to_u32),
        threshold: m.threshold(),
        comparison_operator: m
            .comparison_operator()
            .and_then(|c| parse_enum::<ComparisonOperator>(c.as_str()))
            .unwrap_or(ComparisonOperator::GreaterThanThreshold),
        treat_missing_data: m.treat_missing_data().and_then(parse_enum::<TreatMissingData>),
        evaluate_low_sample_count_percentile: m.evaluate_low_sample_count_percentile().map(str::to_owned),
        metrics: m.metrics().iter().map(model_query).collect(),
        tags: Vec::new(),
        threshold_metric_id: m.threshold_metric_id().map(str::to_owned),
    };
    PublishedAlarm {
        arn: m.alarm_arn().unwrap_or_default().to_owned(),
        status: AlarmStatus {
            name,
            state: state_value(m.state_value()),
            state_updated: m
                .state_transitioned_timestamp()
                .or(m.state_updated_timestamp())
                .and_then(chrono_time)
                .unwrap_or_default(),
            reason: m.state_reason().unwrap_or_default().to_owned(),
        },
        alarm: Alarm::Metric(input),
    }
}

/// A `DescribeAlarms` composite alarm as the `PutCompositeAlarm` input that produced it, plus its state.
#[must_use]
pub fn published_composite_alarm(c: &cw::CompositeAlarm) -> PublishedAlarm {
    let name = c.alarm_name().unwrap_or_default().to_owned();
    let input = PutCompositeAlarmInput {
        alarm_name: name.clone(),
        alarm_description: c.alarm_description().map(str::to_owned),
        alarm_rule: c.alarm_rule().unwrap_or_default().to_owned(),
        actions_enabled: c.actions_enabled(),
        ok_actions: c.ok_actions().to_vec(),
        alarm_actions: c.alarm_actions().to_vec(),
        insufficient_data_actions: c.insufficient_data_actions().to_vec(),
        actions_suppressor: c.actions_suppressor().map(str::to_owned),
        actions_suppressor_wait_period: c.actions_suppressor_wait_period().map(to_u32),
        actions_suppressor_extension_period: c.actions_suppressor_extension_period().map(to_u32),
        tags: Vec::new(),
    };
    PublishedAlarm {
        arn: c.alarm_arn().unwrap_or_default().to_owned(),
        status: AlarmStatus {
            name,
            state: state_value(c.state_value()),
            state_updated: c
                .state_transitioned_timestamp()
                .or(c.state_updated_timestamp())
                .and_then(chrono_time)
                .unwrap_or_default(),
            reason: c.state_reason().unwrap_or_default().to_owned(),
        },
        alarm: Alarm::Composite(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alarms::catalogue::{CatalogueOptions, catalogue_for};

    #[test]
    fn a_call_that_got_no_answer_keeps_its_class() {
        use aws_sdk_cloudwatch::operation::list_dashboards::ListDashboardsError;
        use aws_smithy_runtime_api::client::result::SdkError;
        use aws_smithy_runtime_api::http::Response;
        // A member endpoint that never answers: the attempt timeout ends the call, with no status and
        // no code to classify it by.
        let hung: SdkError<ListDashboardsError, Response> =
            SdkError::timeout_error("operation attempt timeout occurred after 4s");
        let err = ApiError::from_sdk("CloudWatch", "ListDashboards", hung);
        assert_eq!((err.status, err.code.as_deref()), (None, None));
        assert_eq!(err.class(), ErrorClass::Timeout, "{err}");
        // A failure made up locally is classified from its code and status.
        let mut throttled = ApiError::local("PutMetricAlarm", "Rate exceeded");
        throttled.code = Some("Throttling".into());
        throttled.status = Some(400);
        assert_eq!(throttled.class(), ErrorClass::Throttled);
    }

    fn catalogue() -> Vec<Alarm> {
        let spec = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap();
        catalogue_for(&spec, &CatalogueOptions::for_spec(&spec))
            .unwrap()
            .inputs()
    }

    /// What DescribeAlarms would hand back for `a`: the SDK's own output type, built from the request.
    fn as_described(a: &PutMetricAlarmInput) -> cw::MetricAlarm {
        cw::MetricAlarm::builder()
            .alarm_name(&a.alarm_name)
            .set_alarm_description(a.alarm_description.clone())
            .set_actions_enabled(a.actions_enabled)
            .set_ok_actions(Some(a.ok_actions.clone()))
            .set_alarm_actions(Some(a.alarm_actions.clone()))
            .set_metric_name(a.metric_name.clone())
            .set_namespace(a.namespace.clone())
            .set_statistic(a.statistic.map(|s| cw::Statistic::from(s.as_str())))
            .set_extended_statistic(a.extended_statistic.clone())
            .set_dimensions(Some(sdk_dimensions(&a.dimensions)))
            .set_period(a.period.map(to_i32))
            .evaluation_periods(to_i32(a.evaluation_periods))
            .set_datapoints_to_alarm(a.datapoints_to_alarm.map(to_i32))
            .set_threshold(a.threshold)
            .comparison_operator(cw::ComparisonOperator::from(
                enum_name(&a.comparison_operator).as_str(),
            ))
            .set_treat_missing_data(a.treat_missing_data.map(|t| enum_name(&t)))
            .set_evaluate_low_sample_count_percentile(a.evaluate_low_sample_count_percentile.clone())
            .set_metrics(Some(a.metrics.iter().map(sdk_query).collect()))
            .set_threshold_metric_id(a.threshold_metric_id.clone())
            .state_value(cw::StateValue::Alarm)
            .state_reason("Threshold Crossed")
            .state_updated_timestamp(SmithyTime::from_secs(1_700_000_000))
            .build()
    }

    /// `DescribeAlarmHistory` returns only metric alarms' history unless `AlarmTypes` names composites
    /// (CloudWatch API reference): the one-alarm read asks for both, as the account-wide one does.
    #[tokio::test]
    async fn one_alarms_history_is_read_for_composite_alarms_too() {
        use aws_smithy_mocks::{mock, mock_client};
        let both = |types: &[cw::AlarmType]| {
            types.contains(&cw::AlarmType::MetricAlarm) && types.contains(&cw::AlarmType::CompositeAlarm)
        };
        let one = mock!(aws_sdk_cloudwatch::Client::describe_alarm_history)
            .match_requests(move |r| r.alarm_name().is_some() && both(r.alarm_types()))
            .then_output(|| {
                aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryOutput::builder()
                    .build()
            });
        let all = mock!(aws_sdk_cloudwatch::Client::describe_alarm_history)
            .match_requests(move |r| r.alarm_name().is_none() && both(r.alarm_types()))
            .then_output(|| {
                aws_sdk_cloudwatch::operation::describe_alarm_history::DescribeAlarmHistoryOutput::builder()
                    .build()
            });
        let client = mock_client!(aws_sdk_cloudwatch, [&one, &all]);
        let end = Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap();
        let start = end - chrono::Duration::hours(3);
        CloudWatchApi::describe_alarm_history_of(
            &client,
            "collectiq-prod-fn-cards-get-errors-critical",
            start,
            end,
            None,
        )
        .await
        .unwrap();
        CloudWatchApi::describe_alarm_history(&client, start, end, None)
            .await
            .unwrap();
        assert_eq!((one.num_calls(), all.num_calls()), (1, 1));
    }

    #[test]
    fn every_catalogue_alarm_round_trips_through_the_sdk_types() {
        let mut checked = 0;
        for alarm in catalogue() {
            let Alarm::Metric(want) = alarm else { continue };
            let back = published_metric_alarm(&as_described(&want));
            let Alarm::Metric(mut got) = back.alarm else {
                panic!("kind changed")
            };
            got.tags.clone_from(&want.tags); // tags are never read back
            assert_eq!(got, want, "{}", want.alarm_name);
            assert_eq!(back.status.state, StateValue::Alarm);
            assert_eq!(back.status.state_updated.timestamp(), 1_700_000_000);
            checked += 1;
        }
        assert!(checked > 40, "{checked}");
    }

    #[test]
    fn enum_spellings_match_the_api() {
        assert_eq!(
            enum_name(&ComparisonOperator::GreaterThanUpperThreshold),
            "GreaterThanUpperThreshold"
        );
        assert_eq!(enum_name(&TreatMissingData::NotBreaching), "notBreaching");
        assert_eq!(
            parse_enum::<TreatMissingData>("breaching"),
            Some(TreatMissingData::Breaching)
        );
        assert_eq!(parse_enum::<TreatMissingData>("bogus"), None);
    }

    #[test]
    fn composite_read_back_keeps_rule_and_suppressor() {
        let c = cw::CompositeAlarm::builder()
            .alarm_name("p-x-failures-critical")
            .alarm_rule("ALARM(\"a\") OR ALARM(\"b\")")
            .actions_suppressor("p-maintenance")
            .actions_suppressor_wait_period(60)
            .actions_suppressor_extension_period(60)
            .alarm_actions("arn:t")
            .state_value(cw::StateValue::Ok)
            .build();
        let p = published_composite_alarm(&c);
        let Alarm::Composite(got) = p.alarm else { panic!() };
        assert_eq!(got.alarm_rule, "ALARM(\"a\") OR ALARM(\"b\")");
        assert_eq!(got.actions_suppressor_wait_period, Some(60));
        assert_eq!(got.alarm_actions, ["arn:t"]);
        assert_eq!(p.status.state, StateValue::Ok);
    }

    #[test]
    fn not_implemented_is_recognized_by_status_or_code() {
        let mut e = ApiError::local("PutCompositeAlarm", "x");
        assert!(!e.is_not_implemented());
        e.status = Some(501);
        assert!(e.is_not_implemented());
        e.status = Some(400);
        e.code = Some("NotImplemented".into());
        assert!(e.is_not_implemented());
    }
}
