//! An in-memory CloudWatch implementing [`CloudWatchApi`], for unit tests and the apply benchmark: it
//! stores alarms and dashboards like the service does (pages of 100, tags dropped on read-back but kept
//! for `ListTagsForResource`, `DeleteAlarms` refusing an alarm a composite still references), records
//! when each write happened on the `tokio` clock, can fail chosen items, and can take a simulated
//! latency per call. It is not used by any command.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alarms::Alarm;
use alarms::model::{MetricDataQuery, PutCompositeAlarmInput, PutMetricAlarmInput, Tag};
use alarms::rule::{reference_name, rule_children};
use alarms::state::{AlarmStatus, StateValue};
use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::cloudwatch::{
    AlarmPage, ApiError, CloudWatchApi, DashboardPage, HistoryPage, MetricDataPage, PublishedAlarm,
};

#[derive(Debug, Default)]
struct State {
    alarms: BTreeMap<String, PublishedAlarm>,
    tags: BTreeMap<String, Vec<Tag>>,
    dashboards: BTreeMap<String, String>,
    tag_reads: usize,
    writes: Vec<Instant>,
    fail_puts: BTreeMap<String, String>,
    fail_describe: Option<String>,
}

/// The fake. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct FakeCloudWatch {
    state: Arc<Mutex<State>>,
    latency: Duration,
}

impl FakeCloudWatch {
    /// A fake whose every call takes `latency` (on the `tokio` clock).
    ///
    /// ```
    /// let cw = governance::publish::fake::FakeCloudWatch::with_latency(std::time::Duration::from_millis(80));
    /// assert_eq!(cw.write_calls(), 0);
    /// ```
    #[must_use]
    pub fn with_latency(latency: Duration) -> Self {
        Self {
            latency,
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes every put of `name` (an alarm or a dashboard) fail with `code`.
    pub fn fail_put(&self, name: &str, code: &str) {
        self.lock().fail_puts.insert(name.to_owned(), code.to_owned());
    }

    /// Makes every `DescribeAlarms` fail with `code` (`None`: answer again).
    pub fn fail_describe_alarms(&self, code: Option<&str>) {
        self.lock().fail_describe = code.map(str::to_owned);
    }

    /// Puts of `name` succeed again.
    pub fn stop_failing(&self, name: &str) {
        self.lock().fail_puts.remove(name);
    }

    /// Replaces the tags of the published alarm `name` (an alarm created before some tags were
    /// generated).
    pub fn set_tags(&self, name: &str, tags: Vec<Tag>) {
        self.lock().tags.insert(name.to_owned(), tags);
    }

    /// The tags of the published alarm `name`, as `ListTagsForResource` answers them.
    #[must_use]
    pub fn tags(&self, name: &str) -> Vec<Tag> {
        self.lock().tags.get(name).cloned().unwrap_or_default()
    }

    /// Write calls received so far.
    #[must_use]
    pub fn write_calls(&self) -> usize {
        self.lock().writes.len()
    }

    /// The most writes that started within any one-second window.
    #[must_use]
    pub fn max_writes_in_any_second(&self) -> usize {
        let writes = self.lock().writes.clone();
        let mut best = 0;
        let mut lo = 0;
        for hi in 0..writes.len() {
            while writes[hi].duration_since(writes[lo]) >= Duration::from_secs(1) {
                lo += 1;
            }
            best = best.max(hi - lo + 1);
        }
        best
    }

    /// `ListTagsForResource` calls received so far.
    #[must_use]
    pub fn tag_reads(&self) -> usize {
        self.lock().tag_reads
    }

    /// Names of the stored alarms.
    #[must_use]
    pub fn alarm_names(&self) -> Vec<String> {
        self.lock().alarms.keys().cloned().collect()
    }

    /// Stores `alarm` as if it had been published long ago (no write is recorded), tags included.
    pub fn seed(&self, alarm: Alarm) {
        let name = alarm.name().to_owned();
        let mut state = self.lock();
        state.tags.insert(name.clone(), tags_of(&alarm));
        state
            .alarms
            .insert(name.clone(), published(strip_tags(alarm), name));
    }

    /// Sets the state of a stored alarm (like `SetAlarmState`; not counted as a write).
    pub fn set_state(&self, name: &str, state: StateValue, since: DateTime<Utc>, reason: &str) {
        if let Some(a) = self.lock().alarms.get_mut(name) {
            a.status.state = state;
            a.status.state_updated = since;
            reason.clone_into(&mut a.status.reason);
        }
    }

    async fn call(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    fn record_write(&self) {
        self.lock().writes.push(Instant::now());
    }

    fn put(&self, operation: &'static str, alarm: Alarm) -> Result<(), ApiError> {
        self.record_write();
        let name = alarm.name().to_owned();
        let mut state = self.lock();
        if let Some(code) = state.fail_puts.get(&name) {
            return Err(rejected(operation, code));
        }
        // Like PutMetricAlarm: tags are set on create and left as they are on update.
        if !state.alarms.contains_key(&name) {
            state.tags.insert(name.clone(), tags_of(&alarm));
        }
        state
            .alarms
            .insert(name.clone(), published(strip_tags(alarm), name));
        Ok(())
    }
}

/// The alarm name an ARN names (`…:alarm:<name>`).
fn alarm_of(arn: &str) -> &str {
    arn.rsplit_once(":alarm:").map_or("", |(_, n)| n)
}

/// Whether `alarm` is a composite whose rule references the alarm `name`.
fn references(alarm: &Alarm, name: &str) -> bool {
    match alarm {
        Alarm::Composite(c) => rule_children(&c.alarm_rule)
            .iter()
            .any(|r| reference_name(r) == name),
        Alarm::Metric(_) => false,
    }
}

/// The service's answer to `operation` on an alarm that does not exist.
fn no_alarm(operation: &'static str, arn: &str) -> ApiError {
    ApiError {
        operation,
        code: Some("ResourceNotFound".into()),
        message: format!("no alarm {arn}"),
        status: Some(404),
        classified: None,
    }
}

fn tags_of(alarm: &Alarm) -> Vec<Tag> {
    match alarm {
        Alarm::Metric(m) => m.tags.clone(),
        Alarm::Composite(c) => c.tags.clone(),
    }
}

fn strip_tags(mut alarm: Alarm) -> Alarm {
    match &mut alarm {
        Alarm::Metric(m) => m.tags.clear(),
        Alarm::Composite(c) => c.tags.clear(),
    }
    alarm
}

/// The ARN the fake gives an alarm (account and region of the test specs).
#[must_use]
pub fn alarm_arn(name: &str) -> String {
    format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")
}

fn published(alarm: Alarm, name: String) -> PublishedAlarm {
    PublishedAlarm {
        arn: alarm_arn(&name),
        alarm,
        status: AlarmStatus {
            name,
            state: StateValue::InsufficientData,
            state_updated: DateTime::<Utc>::default(),
            reason: String::new(),
        },
    }
}

const PAGE: usize = 100;

impl CloudWatchApi for FakeCloudWatch {
    async fn describe_alarms(&self, next_token: Option<String>) -> Result<AlarmPage, ApiError> {
        self.call().await;
        let state = self.lock();
        if let Some(code) = &state.fail_describe {
            return Err(rejected("DescribeAlarms", code));
        }
        let start: usize = next_token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let alarms: Vec<PublishedAlarm> = state.alarms.values().skip(start).take(PAGE).cloned().collect();
        let next = start + alarms.len();
        Ok(AlarmPage {
            alarms,
            next_token: (next < state.alarms.len()).then(|| next.to_string()),
        })
    }

    async fn put_metric_alarm(&self, alarm: &PutMetricAlarmInput) -> Result<(), ApiError> {
        self.call().await;
        self.put("PutMetricAlarm", Alarm::Metric(alarm.clone()))
    }

    async fn put_composite_alarm(&self, alarm: &PutCompositeAlarmInput) -> Result<(), ApiError> {
        self.call().await;
        self.put("PutCompositeAlarm", Alarm::Composite(alarm.clone()))
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), ApiError> {
        self.call().await;
        self.record_write();
        let mut state = self.lock();
        // As the service: at most 100 names and one composite alarm a call, else nothing is deleted.
        let composites = names
            .iter()
            .filter(|n| {
                state
                    .alarms
                    .get(*n)
                    .is_some_and(|a| matches!(a.alarm, Alarm::Composite(_)))
            })
            .count();
        if names.len() > 100 || composites > 1 {
            return Err(ApiError {
                operation: "DeleteAlarms",
                code: Some("ValidationError".into()),
                message: format!(
                    "{} names, {composites} composite alarms: at most 100 names and one composite alarm a call",
                    names.len()
                ),
                status: Some(400),
                classified: None,
            });
        }
        // As the service: an alarm a composite's rule references (by name or ARN) is refused while that
        // composite is published — even one named in the same call — and nothing of the call is deleted.
        let held: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| state.alarms.values().any(|a| references(&a.alarm, n)))
            .collect();
        if !held.is_empty() {
            return Err(ApiError {
                operation: "DeleteAlarms",
                code: Some("ValidationError".into()),
                message: format!(
                    "Cannot delete {} as there are composite alarm(s) depending on them.",
                    held.join(",")
                ),
                status: Some(400),
                classified: None,
            });
        }
        for n in names {
            state.alarms.remove(n);
            state.tags.remove(n);
        }
        Ok(())
    }

    async fn tag_alarm(&self, alarm_arn: &str, tags: &[Tag]) -> Result<(), ApiError> {
        self.call().await;
        self.record_write();
        let mut state = self.lock();
        let name = alarm_of(alarm_arn).to_owned();
        if !state.alarms.contains_key(&name) {
            return Err(no_alarm("TagResource", alarm_arn));
        }
        // As the service: a key given replaces its value, other tags stay.
        let have = state.tags.entry(name).or_default();
        for t in tags {
            have.retain(|h| h.key != t.key);
            have.push(t.clone());
        }
        Ok(())
    }

    async fn alarm_tags(&self, alarm_arn: &str) -> Result<Vec<Tag>, ApiError> {
        self.call().await;
        let mut state = self.lock();
        state.tag_reads += 1;
        state
            .tags
            .get(alarm_of(alarm_arn))
            .cloned()
            .ok_or_else(|| no_alarm("ListTagsForResource", alarm_arn))
    }

    async fn describe_alarm_history(
        &self,
        _start: DateTime<Utc>,
        _end: DateTime<Utc>,
        _next_token: Option<String>,
    ) -> Result<HistoryPage, ApiError> {
        self.call().await;
        Ok(HistoryPage::default())
    }

    async fn list_dashboards(&self, _next_token: Option<String>) -> Result<DashboardPage, ApiError> {
        self.call().await;
        Ok(DashboardPage {
            names: self.lock().dashboards.keys().cloned().collect(),
            next_token: None,
        })
    }

    async fn get_dashboard(&self, name: &str) -> Result<String, ApiError> {
        self.call().await;
        self.lock().dashboards.get(name).cloned().ok_or_else(|| ApiError {
            operation: "GetDashboard",
            code: Some("ResourceNotFound".into()),
            message: format!("dashboard {name} does not exist"),
            status: Some(404),
            classified: None,
        })
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> Result<Vec<String>, ApiError> {
        self.call().await;
        self.record_write();
        let mut state = self.lock();
        if let Some(code) = state.fail_puts.get(name) {
            return Err(rejected("PutDashboard", code));
        }
        state.dashboards.insert(name.to_owned(), body.to_owned());
        Ok(Vec::new())
    }

    async fn delete_dashboards(&self, names: &[String]) -> Result<(), ApiError> {
        self.call().await;
        self.record_write();
        // "You can specify up to 100 dashboards to delete."
        if names.len() > 100 {
            return Err(rejected("DeleteDashboards", "InvalidParameterValue"));
        }
        let wanted: BTreeSet<&String> = names.iter().collect();
        self.lock().dashboards.retain(|k, _| !wanted.contains(k));
        Ok(())
    }

    async fn get_metric_data(
        &self,
        _queries: &[MetricDataQuery],
        _start: DateTime<Utc>,
        _end: DateTime<Utc>,
        _next_token: Option<String>,
    ) -> Result<MetricDataPage, ApiError> {
        self.call().await;
        Ok(MetricDataPage::default())
    }
}

/// The error of a put the test made fail ([`FakeCloudWatch::fail_put`]): a 400 with `code`.
pub(crate) fn rejected(operation: &'static str, code: &str) -> ApiError {
    ApiError {
        operation,
        code: Some(code.to_owned()),
        message: format!("{code}: rejected by the fake"),
        status: Some(400),
        classified: None,
    }
}
