//! The alarm-state summary on-call reads: what is in ALARM now (by severity, since when), how often
//! each alarm flapped in the last 24 hours, what recovered — and, for alarms on functions or APIs, the
//! X-Ray query that finds the most recent faulting traces and the console links of the traces the
//! shell found with it.
//!
//! Inputs are plain values the shell builds from `DescribeAlarms` (state, `StateUpdatedTimestamp`,
//! `StateReason`), `DescribeAlarmHistory` (`StateUpdate` items; [`StateTransition::from_history_data`]
//! parses their `HistoryData`) and X-Ray `GetTraceSummaries` (trace ids).

use crate::catalogue::{AlarmDefinition, Catalogue, Severity};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Transitions into ALARM within 24 hours from which an alarm counts as flapping.
pub const FLAPPING_THRESHOLD: u32 = 3;

/// Longest window searched for evidence traces.
pub const MAX_TRACE_WINDOW_HOURS: i64 = 6;
/// How long before an alarm's state change its trace evidence is searched from: the generated alarms
/// evaluate up to three 5-minute periods, so the faults that fired it are in the 15 minutes before.
pub const TRACE_LEAD_MINUTES: i64 = 15;

/// `StateValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateValue {
    /// `OK`.
    Ok,
    /// `ALARM`.
    Alarm,
    /// `INSUFFICIENT_DATA`.
    InsufficientData,
}

/// One alarm as `DescribeAlarms` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmStatus {
    /// `AlarmName`.
    pub name: String,
    /// `StateValue`.
    pub state: StateValue,
    /// `StateUpdatedTimestamp` (`StateTransitionedTimestamp` for composites).
    pub state_updated: DateTime<Utc>,
    /// `StateReason`.
    pub reason: String,
}

/// One state change from `DescribeAlarmHistory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTransition {
    /// `AlarmName`.
    pub alarm_name: String,
    /// `Timestamp`.
    pub timestamp: DateTime<Utc>,
    /// Old state.
    pub old_state: StateValue,
    /// New state.
    pub new_state: StateValue,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryData {
    old_state: HistoryState,
    new_state: HistoryState,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryState {
    state_value: StateValue,
}

impl StateTransition {
    /// Parses the `HistoryData` JSON of a `StateUpdate` history item
    /// (`{"version":"1.0","oldState":{"stateValue":"OK",…},"newState":{"stateValue":"ALARM",…}}`).
    ///
    /// ```
    /// use alarms::state::{StateTransition, StateValue};
    /// let t = StateTransition::from_history_data("a", chrono::Utc::now(),
    ///     r#"{"version":"1.0","oldState":{"stateValue":"OK","stateReason":"x"},"newState":{"stateValue":"ALARM","stateReason":"y"}}"#).unwrap();
    /// assert_eq!((t.old_state, t.new_state), (StateValue::Ok, StateValue::Alarm));
    /// ```
    ///
    /// # Errors
    /// The JSON error when `history_data` is not a state-update document.
    pub fn from_history_data(
        alarm_name: &str,
        timestamp: DateTime<Utc>,
        history_data: &str,
    ) -> Result<Self, serde_json::Error> {
        let h: HistoryData = serde_json::from_str(history_data)?;
        Ok(Self {
            alarm_name: alarm_name.to_owned(),
            timestamp,
            old_state: h.old_state.state_value,
            new_state: h.new_state.state_value,
        })
    }
}

/// A trace to start from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceEvidence {
    /// X-Ray trace id.
    pub trace_id: String,
    /// Console link.
    pub console_url: String,
}

/// What to ask X-Ray `GetTraceSummaries` for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceQuery {
    /// `FilterExpression`: faults on the alarm's services.
    pub filter_expression: String,
    /// The services (Lambda function names).
    pub services: Vec<String>,
}

/// The X-Ray query for faulting traces of the functions behind `def`, if any.
///
/// ```
/// use alarms::catalogue::{catalogue_for, CatalogueOptions};
/// use alarms::state::trace_query;
/// let spec = platform_spec::load(std::path::Path::new(concat!(
///     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/collectiq-prod.toml"
/// ))).unwrap();
/// let cat = catalogue_for(&spec, &CatalogueOptions::for_spec(&spec)).unwrap();
/// let q = trace_query(cat.get("collectiq-prod-fn-cards-get-error-rate-critical").unwrap()).unwrap();
/// assert_eq!(q.filter_expression, r#"service("prod-collectiq-cards-get") { fault = true }"#);
/// ```
#[must_use]
pub fn trace_query(def: &AlarmDefinition) -> Option<TraceQuery> {
    if def.trace_services.is_empty() {
        return None;
    }
    let filter_expression = def
        .trace_services
        .iter()
        .map(|s| format!("service(\"{}\") {{ fault = true }}", s.replace('"', "\\\"")))
        .collect::<Vec<_>>()
        .join(" OR ");
    Some(TraceQuery {
        filter_expression,
        services: def.trace_services.clone(),
    })
}

/// The CloudWatch console link of an X-Ray trace.
///
/// ```
/// assert_eq!(alarms::state::xray_trace_url("us-east-1", "1-5f84c7a1-1234567890abcdef01234567"),
///     "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#xray:traces/1-5f84c7a1-1234567890abcdef01234567");
/// ```
#[must_use]
pub fn xray_trace_url(region: &str, trace_id: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#xray:traces/{trace_id}")
}

/// An alarm in ALARM now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FiringAlarm {
    /// Alarm name.
    pub name: String,
    /// Severity (from the catalogue, else the name's suffix).
    pub severity: Option<Severity>,
    /// In ALARM since.
    pub since: DateTime<Utc>,
    /// Minutes in ALARM.
    pub firing_minutes: i64,
    /// Transitions into ALARM in the last 24 hours.
    pub flaps_24h: u32,
    /// `StateReason`.
    pub reason: String,
    /// Whether it has actions (composite inputs do not).
    pub notifies: bool,
    /// The X-Ray query for evidence, for alarms on functions and APIs.
    pub trace_query: Option<TraceQuery>,
    /// `StartTime`/`EndTime` for that query: from [`TRACE_LEAD_MINUTES`] before the alarm fired (the
    /// breaching datapoints it evaluated come before its state change) to now, at most
    /// [`MAX_TRACE_WINDOW_HOURS`] hours (the most recent traces are the evidence). The shell searches
    /// exactly this window.
    pub trace_window: (DateTime<Utc>, DateTime<Utc>),
    /// The traces the shell found with it.
    pub evidence: Vec<TraceEvidence>,
}

/// An alarm that went from ALARM to OK in the last 24 hours and is OK now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoveredAlarm {
    /// Alarm name.
    pub name: String,
    /// Severity.
    pub severity: Option<Severity>,
    /// When it went OK.
    pub recovered_at: DateTime<Utc>,
    /// When it had gone into ALARM, if the history shows it.
    pub firing_since: Option<DateTime<Utc>>,
}

/// The summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlarmStateSummary {
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// In ALARM now: critical first, then longest firing first.
    pub firing: Vec<FiringAlarm>,
    /// Recovered in the last 24 hours, most recent first.
    pub recovered: Vec<RecoveredAlarm>,
    /// Alarms with at least [`FLAPPING_THRESHOLD`] transitions into ALARM in 24 hours, most first.
    pub flapping: Vec<(String, u32)>,
    /// Alarms in INSUFFICIENT_DATA.
    pub insufficient_data: Vec<String>,
    /// Alarms in OK. Not serialised (the report lists what needs attention): it tells an alarm that
    /// recovered from one that is no longer there (renamed, pruned from the catalogue).
    #[serde(skip)]
    pub ok: Vec<String>,
}

impl AlarmStateSummary {
    /// How many alarms of `severity` are firing.
    #[must_use]
    pub fn firing_count(&self, severity: Severity) -> usize {
        self.firing
            .iter()
            .filter(|f| f.severity == Some(severity))
            .count()
    }

    /// Critical, notifying alarms firing for at least `after` — what the shell escalates.
    #[must_use]
    pub fn to_escalate(&self, after: Duration) -> Vec<&FiringAlarm> {
        self.firing
            .iter()
            .filter(|f| {
                f.severity == Some(Severity::Critical)
                    && f.notifies
                    && Duration::minutes(f.firing_minutes) >= after
            })
            .collect()
    }
}

/// Everything [`summarize`] reads.
#[derive(Debug, Clone, Copy)]
pub struct SummaryInput<'a> {
    /// `DescribeAlarms` states.
    pub alarms: &'a [AlarmStatus],
    /// `DescribeAlarmHistory` state updates (any order; at least the last 24 h).
    pub history: &'a [StateTransition],
    /// The catalogue, for severities, composite inputs and trace queries.
    pub catalogue: Option<&'a Catalogue>,
    /// Alarm name → traces the shell found with its [`TraceQuery`].
    pub evidence: &'a BTreeMap<String, Vec<TraceEvidence>>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Builds the summary.
///
/// ```
/// use alarms::state::{summarize, AlarmStatus, StateValue, SummaryInput};
/// use chrono::{TimeZone, Utc};
/// let now = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap();
/// let alarms = [AlarmStatus { name: "app-prod-api-5xx-rate-critical".into(), state: StateValue::Alarm,
///     state_updated: now - chrono::Duration::minutes(20), reason: "Threshold Crossed".into() }];
/// let s = summarize(SummaryInput { alarms: &alarms, history: &[], catalogue: None, evidence: &Default::default(), now });
/// assert_eq!(s.firing[0].firing_minutes, 20);
/// assert_eq!(s.to_escalate(chrono::Duration::minutes(15)).len(), 1);
/// ```
#[must_use]
pub fn summarize(input: SummaryInput<'_>) -> AlarmStateSummary {
    let day_ago = input.now - Duration::hours(24);
    let mut history: Vec<&StateTransition> = input.history.iter().collect();
    history.sort_by_key(|t| t.timestamp);
    let mut flaps: BTreeMap<&str, u32> = BTreeMap::new();
    for t in &history {
        if t.new_state == StateValue::Alarm
            && t.old_state != StateValue::Alarm
            && t.timestamp > day_ago
            && t.timestamp <= input.now
        {
            *flaps.entry(t.alarm_name.as_str()).or_insert(0) += 1;
        }
    }
    let def = |name: &str| input.catalogue.and_then(|c| c.get(name));
    let severity = |name: &str| {
        def(name)
            .map(|d| d.severity)
            .or_else(|| Severity::from_alarm_name(name))
    };
    let mut firing = Vec::new();
    let mut recovered = Vec::new();
    let mut insufficient = Vec::new();
    let mut ok = Vec::new();
    for a in input.alarms {
        match a.state {
            StateValue::Alarm => {
                let d = def(&a.name);
                firing.push(FiringAlarm {
                    name: a.name.clone(),
                    severity: severity(&a.name),
                    since: a.state_updated,
                    firing_minutes: (input.now - a.state_updated).num_minutes().max(0),
                    flaps_24h: flaps.get(a.name.as_str()).copied().unwrap_or(0),
                    reason: a.reason.clone(),
                    notifies: d.is_none_or(|d| d.notifies),
                    trace_query: d.and_then(trace_query),
                    trace_window: (
                        (a.state_updated - Duration::minutes(TRACE_LEAD_MINUTES))
                            .max(input.now - Duration::hours(MAX_TRACE_WINDOW_HOURS)),
                        input.now,
                    ),
                    evidence: input.evidence.get(&a.name).cloned().unwrap_or_default(),
                });
            }
            StateValue::Ok => {
                ok.push(a.name.clone());
                let last_recovery = history.iter().rev().find(|t| {
                    t.alarm_name == a.name
                        && t.old_state == StateValue::Alarm
                        && t.new_state == StateValue::Ok
                });
                if let Some(r) = last_recovery.filter(|r| r.timestamp > day_ago && r.timestamp <= input.now) {
                    let firing_since = history
                        .iter()
                        .rev()
                        .find(|t| {
                            t.alarm_name == a.name
                                && t.new_state == StateValue::Alarm
                                && t.timestamp <= r.timestamp
                        })
                        .map(|t| t.timestamp);
                    recovered.push(RecoveredAlarm {
                        name: a.name.clone(),
                        severity: severity(&a.name),
                        recovered_at: r.timestamp,
                        firing_since,
                    });
                }
            }
            StateValue::InsufficientData => insufficient.push(a.name.clone()),
        }
    }
    firing.sort_by(|a, b| {
        (a.severity.unwrap_or(Severity::Warning), a.since, &a.name).cmp(&(
            b.severity.unwrap_or(Severity::Warning),
            b.since,
            &b.name,
        ))
    });
    recovered.sort_by(|a, b| b.recovered_at.cmp(&a.recovered_at).then(a.name.cmp(&b.name)));
    let mut flapping: Vec<(String, u32)> = flaps
        .into_iter()
        .filter(|(_, n)| *n >= FLAPPING_THRESHOLD)
        .map(|(k, n)| (k.to_owned(), n))
        .collect();
    flapping.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    insufficient.sort();
    ok.sort();
    AlarmStateSummary {
        generated_at: input.now,
        firing,
        recovered,
        flapping,
        insufficient_data: insufficient,
        ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{CatalogueOptions, catalogue_for};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn status(name: &str, state: StateValue, minutes_ago: i64) -> AlarmStatus {
        AlarmStatus {
            name: name.into(),
            state,
            state_updated: now() - Duration::minutes(minutes_ago),
            reason: "Threshold Crossed".into(),
        }
    }

    fn tr(name: &str, minutes_ago: i64, old: StateValue, new: StateValue) -> StateTransition {
        StateTransition {
            alarm_name: name.into(),
            timestamp: now() - Duration::minutes(minutes_ago),
            old_state: old,
            new_state: new,
        }
    }

    fn catalogue() -> Catalogue {
        let s = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap();
        catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap()
    }

    use StateValue::{Alarm as A, InsufficientData as I, Ok as O};

    #[test]
    fn firing_by_severity_since_flaps_and_evidence() {
        let cat = catalogue();
        let api = "collectiq-prod-api-5xx-rate-critical";
        let warn = "collectiq-prod-api-latency-p95-warning";
        let fnc = "collectiq-prod-fn-cards-get-errors-critical";
        let alarms = [
            status(warn, A, 400),
            status(api, A, 10),
            status(fnc, A, 45),
            status("collectiq-prod-fn-healthz-duration-near-timeout-warning", O, 600),
        ];
        let history = [
            tr(api, 200, O, A),
            tr(api, 190, A, O),
            tr(api, 100, O, A),
            tr(api, 90, A, O),
            tr(api, 10, O, A),
            tr(fnc, 45, O, A),
            tr(api, 60 * 30, O, A), // older than 24 h: not a flap
        ];
        let evidence = BTreeMap::from([(
            fnc.to_owned(),
            vec![TraceEvidence {
                trace_id: "1-abc".into(),
                console_url: xray_trace_url("us-east-1", "1-abc"),
            }],
        )]);
        let s = summarize(SummaryInput {
            alarms: &alarms,
            history: &history,
            catalogue: Some(&cat),
            evidence: &evidence,
            now: now(),
        });
        let names: Vec<&str> = s.firing.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, [fnc, api, warn], "critical first, longest firing first");
        assert_eq!(s.firing_count(Severity::Critical), 2);
        assert_eq!(s.firing_count(Severity::Warning), 1);
        let a = &s.firing[1];
        assert_eq!((a.firing_minutes, a.flaps_24h), (10, 3));
        assert_eq!(s.flapping, vec![(api.to_owned(), 3)]);
        let f = &s.firing[0];
        assert_eq!(f.evidence.len(), 1);
        assert_eq!(f.trace_window, (now() - Duration::minutes(60), now()));
        assert_eq!(
            s.firing[2].trace_window.0,
            now() - Duration::hours(MAX_TRACE_WINDOW_HOURS),
            "capped"
        );
        assert_eq!(
            f.trace_query.as_ref().unwrap().services,
            ["prod-collectiq-cards-get"]
        );
        let api_q = a.trace_query.as_ref().unwrap();
        assert_eq!(api_q.services.len(), 7);
        assert!(
            api_q
                .filter_expression
                .contains(r#"service("prod-collectiq-healthz") { fault = true } OR "#)
        );
        let esc: Vec<&str> = s
            .to_escalate(Duration::minutes(30))
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(esc, [fnc]);
    }

    #[test]
    fn recovered_and_insufficient() {
        let alarms = [
            status("x-a-critical", O, 30),
            status("x-b-warning", O, 60 * 30),
            status("x-c-warning", I, 5),
        ];
        let history = [
            tr("x-a-critical", 90, O, A),
            tr("x-a-critical", 30, A, O),
            tr("x-b-warning", 60 * 30, A, O),
        ];
        let s = summarize(SummaryInput {
            alarms: &alarms,
            history: &history,
            catalogue: None,
            evidence: &BTreeMap::new(),
            now: now(),
        });
        assert_eq!(s.recovered.len(), 1);
        let r = &s.recovered[0];
        assert_eq!(
            (r.name.as_str(), r.severity),
            ("x-a-critical", Some(Severity::Critical))
        );
        assert_eq!(r.firing_since, Some(now() - Duration::minutes(90)));
        assert_eq!(s.insufficient_data, ["x-c-warning"]);
        assert!(s.firing.is_empty());
    }

    #[test]
    fn composite_inputs_are_not_escalated() {
        let cat = catalogue();
        let child = "collectiq-prod-valuation-failed-executions-critical";
        let s = summarize(SummaryInput {
            alarms: &[status(child, A, 120)],
            history: &[],
            catalogue: Some(&cat),
            evidence: &BTreeMap::new(),
            now: now(),
        });
        assert!(!s.firing[0].notifies);
        assert!(s.to_escalate(Duration::minutes(1)).is_empty());
    }

    #[test]
    fn history_data_parsing() {
        let t = StateTransition::from_history_data("a", now(), r#"{"version":"1.0","oldState":{"stateValue":"INSUFFICIENT_DATA"},"newState":{"stateValue":"OK"}}"#).unwrap();
        assert_eq!((t.old_state, t.new_state), (I, O));
        assert!(StateTransition::from_history_data("a", now(), r#"{"version":"1.0"}"#).is_err());
    }
}
