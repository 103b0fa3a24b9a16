//! The alarm-state report on-call reads, and the escalation of critical alarms that keep firing.
//!
//! `DescribeAlarms` (every page) gives what is firing and since when; `DescribeAlarmHistory` the flaps
//! and recoveries of the last 24 hours; X-Ray `GetTraceSummaries` — with the filter expression the
//! alarms crate builds for the alarm's functions (`service("fn") { fault = true }`) — the most recent
//! faulting traces, so on-call starts from evidence. The pure [`alarms::state::summarize`] puts it
//! together; this module renders it for the terminal and as Slack Block Kit, posts it, and escalates to
//! the critical SNS topic once per alarm episode (a fire-once claim in the ledger keyed by the alarm
//! and the time it went into ALARM).
//!
//! A source that fails (history or traces unavailable, e.g. on the emulator) becomes a note in the
//! report, never a failed report.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration as StdDuration;

use alarms::catalogue::{Catalogue, Severity};
use alarms::state::{AlarmStateSummary, AlarmStatus, SummaryInput, TraceEvidence, summarize, xray_trace_url};
use chrono::{DateTime, Duration, Utc};
use cost::slack::{Block, SlackMessage, TextObject};
use platform_spec::PlatformSpec;
use serde::Serialize;

use super::cloudwatch::{ApiError, CloudWatchApi, alarm_history, describe_all_alarms};
use crate::aws::describe_sdk_error;
use crate::ledger::{Ledger, LedgerStore};

/// The X-Ray operation the report uses.
pub trait TraceApi: Send + Sync {
    /// Ids of up to `limit` traces matching `filter_expression` between `start` and `end`, newest first.
    fn faulting_traces(
        &self,
        filter_expression: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, ApiError>> + Send;
}

/// The epoch seconds embedded in an X-Ray trace id (`1-5f84c7a1-…`).
fn trace_epoch(id: &str) -> i64 {
    id.split('-')
        .nth(1)
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

impl TraceApi for aws_sdk_xray::Client {
    async fn faulting_traces(
        &self,
        filter_expression: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, ApiError> {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .get_trace_summaries()
                .start_time(super::cloudwatch::smithy_time(start))
                .end_time(super::cloudwatch::smithy_time(end))
                .filter_expression(filter_expression)
                .sampling(false)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("GetTraceSummaries", &e))?;
            ids.extend(
                out.trace_summaries()
                    .iter()
                    .filter_map(|s| s.id().map(str::to_owned)),
            );
            token = out.next_token().map(str::to_owned);
            // Pages are in no particular order; a few pages are enough to find recent evidence.
            if token.is_none() || ids.len() >= limit * 10 {
                break;
            }
        }
        ids.sort_by_key(|id| std::cmp::Reverse(trace_epoch(id)));
        ids.dedup();
        ids.truncate(limit);
        Ok(ids)
    }
}

/// Report knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateOptions {
    /// How far back to look for faulting traces (X-Ray answers at most 6 hours per query here).
    pub trace_lookback: Duration,
    /// Traces per firing alarm.
    pub traces_per_alarm: usize,
}

impl Default for StateOptions {
    fn default() -> Self {
        Self {
            trace_lookback: Duration::hours(6),
            traces_per_alarm: 3,
        }
    }
}

/// The report: the pure summary plus what could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateReport {
    /// `{platform}-{env}`.
    pub platform: String,
    /// Region (for links).
    pub region: String,
    /// Managed alarms read.
    pub alarms_read: usize,
    /// The summary.
    pub summary: AlarmStateSummary,
    /// Whether `DescribeAlarmHistory` was read (otherwise flaps and recoveries are unknown, not 0).
    pub history_read: bool,
    /// Sources that failed and what that means for the report.
    pub notes: Vec<String>,
}

/// Builds the report for the alarms under the spec's managed prefix.
///
/// # Errors
/// Only when `DescribeAlarms` fails; history and trace failures become notes.
pub async fn state_report<C: CloudWatchApi, X: TraceApi>(
    cw: &C,
    xray: &X,
    spec: &PlatformSpec,
    catalogue: Option<&Catalogue>,
    now: DateTime<Utc>,
    opts: StateOptions,
) -> Result<StateReport, ApiError> {
    let prefix = format!("{}-", spec.managed_prefix());
    let statuses: Vec<AlarmStatus> = describe_all_alarms(cw)
        .await?
        .into_iter()
        .filter(|p| p.status.name.starts_with(&prefix))
        .map(|p| p.status)
        .collect();
    let mut notes = Vec::new();
    let mut history_read = true;
    let history = match alarm_history(cw, now - Duration::hours(24), now).await {
        Ok(h) => h,
        Err(e) => {
            history_read = false;
            notes.push(format!(
                "alarm history unavailable ({e}): flaps and recoveries are not counted"
            ));
            Vec::new()
        }
    };
    let no_evidence = BTreeMap::new();
    let first = summarize(SummaryInput {
        alarms: &statuses,
        history: &history,
        catalogue,
        evidence: &no_evidence,
        now,
    });
    let mut evidence: BTreeMap<String, Vec<TraceEvidence>> = BTreeMap::new();
    for f in &first.firing {
        let Some(q) = &f.trace_query else { continue };
        let start = (f.since - Duration::minutes(15)).max(now - opts.trace_lookback);
        match xray
            .faulting_traces(&q.filter_expression, start, now, opts.traces_per_alarm)
            .await
        {
            Ok(ids) => {
                evidence.insert(
                    f.name.clone(),
                    ids.iter()
                        .map(|id| TraceEvidence {
                            trace_id: id.clone(),
                            console_url: xray_trace_url(&spec.platform.region, id),
                        })
                        .collect(),
                );
            }
            Err(e) => notes.push(format!("traces for {} unavailable ({e})", f.name)),
        }
    }
    let summary = summarize(SummaryInput {
        alarms: &statuses,
        history: &history,
        catalogue,
        evidence: &evidence,
        now,
    });
    Ok(StateReport {
        platform: spec.managed_prefix(),
        region: spec.platform.region.clone(),
        alarms_read: statuses.len(),
        summary,
        history_read,
        notes,
    })
}

fn severity_word(s: Option<Severity>) -> &'static str {
    match s {
        Some(Severity::Critical) => "CRITICAL",
        Some(Severity::Warning) => "warning",
        None => "unknown",
    }
}

fn flaps(r: &StateReport, n: u32) -> String {
    if r.history_read {
        format!("{n} flaps in 24 h")
    } else {
        "flaps unknown (no history)".to_owned()
    }
}

fn headline(r: &StateReport) -> String {
    let s = &r.summary;
    format!(
        "{} firing ({} critical, {} warning), {} recovered in 24 h, {} flapping, {} with insufficient data — {} alarms under {}-*",
        s.firing.len(),
        s.firing_count(Severity::Critical),
        s.firing_count(Severity::Warning),
        s.recovered.len(),
        s.flapping.len(),
        s.insufficient_data.len(),
        r.alarms_read,
        r.platform
    )
}

/// The report for the terminal.
#[must_use]
pub fn render_text(r: &StateReport) -> String {
    use std::fmt::Write as _;
    let s = &r.summary;
    let mut t = format!(
        "Alarm state — {} — {}\n  {}\n",
        r.platform,
        s.generated_at.format("%Y-%m-%d %H:%M UTC"),
        headline(r)
    );
    for f in &s.firing {
        let _ = writeln!(
            t,
            "  ● {:<8} {} — in ALARM since {} ({} min), {}{}",
            severity_word(f.severity),
            f.name,
            f.since.format("%H:%M"),
            f.firing_minutes,
            flaps(r, f.flaps_24h),
            if f.notifies { "" } else { " (composite input)" }
        );
        if !f.reason.is_empty() {
            let _ = writeln!(t, "      {}", f.reason);
        }
        if let Some(q) = &f.trace_query {
            let _ = writeln!(t, "      X-Ray: {}", q.filter_expression);
        }
        for e in &f.evidence {
            let _ = writeln!(t, "      trace {} {}", e.trace_id, e.console_url);
        }
    }
    for rec in &s.recovered {
        let _ = writeln!(
            t,
            "  ✓ recovered {} at {}",
            rec.name,
            rec.recovered_at.format("%H:%M")
        );
    }
    for (name, n) in &s.flapping {
        let _ = writeln!(t, "  ~ flapping {name}: {n} times into ALARM in 24 h");
    }
    for n in &r.notes {
        let _ = writeln!(t, "  ! {n}");
    }
    t
}

/// Most firing alarms shown as their own section in Slack (the rest are counted).
pub const SLACK_FIRING_SECTIONS: usize = 15;

/// The report as a Slack incoming-webhook payload (Block Kit), within Slack's limits.
#[must_use]
pub fn render_slack(r: &StateReport) -> SlackMessage {
    let s = &r.summary;
    let mut blocks = vec![
        Block::Header {
            text: TextObject::plain(fit(
                &format!(
                    "{} {}: {} alarm{} firing",
                    if s.firing_count(Severity::Critical) > 0 {
                        ":rotating_light:"
                    } else if s.firing.is_empty() {
                        ":white_check_mark:"
                    } else {
                        ":warning:"
                    },
                    r.platform,
                    s.firing.len(),
                    if s.firing.len() == 1 { "" } else { "s" }
                ),
                150,
            )),
        },
        Block::Context {
            elements: vec![TextObject::mrkdwn(fit(&headline(r), 2000))],
        },
    ];
    for f in s.firing.iter().take(SLACK_FIRING_SECTIONS) {
        let mut text = format!(
            "*{}* `{}`\nIn ALARM since {} ({} min), {}",
            severity_word(f.severity),
            f.name,
            f.since.format("%Y-%m-%d %H:%M UTC"),
            f.firing_minutes,
            flaps(r, f.flaps_24h)
        );
        if !f.reason.is_empty() {
            text.push_str(&format!("\n>{}", f.reason));
        }
        if !f.evidence.is_empty() {
            let links: Vec<String> = f
                .evidence
                .iter()
                .map(|e| format!("<{}|{}>", e.console_url, e.trace_id))
                .collect();
            text.push_str(&format!("\nFaulting traces: {}", links.join(", ")));
        }
        blocks.push(Block::Section {
            text: Some(TextObject::mrkdwn(fit(&text, 3000))),
            fields: Vec::new(),
        });
    }
    if s.firing.len() > SLACK_FIRING_SECTIONS {
        blocks.push(Block::Context {
            elements: vec![TextObject::mrkdwn(format!(
                "… and {} more firing",
                s.firing.len() - SLACK_FIRING_SECTIONS
            ))],
        });
    }
    if !s.recovered.is_empty() || !s.flapping.is_empty() {
        let mut lines: Vec<String> = s
            .recovered
            .iter()
            .take(10)
            .map(|x| {
                format!(
                    ":white_check_mark: `{}` recovered {}",
                    x.name,
                    x.recovered_at.format("%H:%M UTC")
                )
            })
            .collect();
        lines.extend(
            s.flapping
                .iter()
                .take(10)
                .map(|(n, c)| format!(":repeat: `{n}` into ALARM {c}× in 24 h")),
        );
        blocks.push(Block::Divider {});
        blocks.push(Block::Section {
            text: Some(TextObject::mrkdwn(fit(&lines.join("\n"), 3000))),
            fields: Vec::new(),
        });
    }
    if !r.notes.is_empty() {
        blocks.push(Block::Context {
            elements: r
                .notes
                .iter()
                .take(10)
                .map(|n| TextObject::mrkdwn(fit(n, 2000)))
                .collect(),
        });
    }
    SlackMessage {
        text: fit(&format!("{}: {}", r.platform, headline(r)), 3000),
        blocks,
    }
}

fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Why a post or an escalation failed. Never contains the webhook URL.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The webhook secret could not be read.
    #[error("cannot read the Slack webhook secret {secret}: {detail}")]
    Secret {
        /// Secret name (not its value).
        secret: String,
        /// Why.
        detail: String,
    },
    /// Slack answered with an error (or never answered).
    #[error("Slack webhook (secret {secret}) failed: {detail}")]
    Slack {
        /// Secret name.
        secret: String,
        /// Status and Slack's error code.
        detail: String,
    },
}

/// Reads the webhook URL from Secrets Manager and posts `message`; a 429 is retried once after its
/// `Retry-After` (at most 30 s). The URL is never logged or put in an error.
///
/// # Errors
/// [`NotifyError`] naming the secret, never the URL.
pub async fn post_to_slack(
    secrets: &aws_sdk_secretsmanager::Client,
    secret_name: &str,
    message: &SlackMessage,
) -> Result<(), NotifyError> {
    use crate::cost_pass::slack::{SlackRetry, SlackWebhook};
    // The same webhook client as the cost report: URL checks, Retry-After, Slack's error codes.
    let url = crate::cost_pass::notify::webhook_url(secrets, secret_name)
        .await
        .map_err(|e| NotifyError::Secret {
            secret: secret_name.to_owned(),
            detail: e.to_string(),
        })?;
    let slack = |detail: String| NotifyError::Slack {
        secret: secret_name.to_owned(),
        detail,
    };
    // One retry after a 429, waiting what Slack asks for (at most 30 s).
    let retry = SlackRetry {
        max_attempts: 2,
        max_wait: StdDuration::from_secs(30),
    };
    let webhook = SlackWebhook::new(url, retry).map_err(|e| slack(e.to_string()))?;
    webhook
        .post(message)
        .await
        .map(|_| ())
        .map_err(|e| slack(e.to_string()))
}

/// The ledger key under which the last announced alarm state is kept.
#[must_use]
pub fn announced_key(platform: &str) -> (String, String) {
    (format!("{platform}#alarm-state"), "announced".to_owned())
}

/// What [`announce`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AnnounceReport {
    /// Whether the report was posted to Slack.
    pub posted: bool,
    /// Why it was (or would have been) posted; empty when nothing changed.
    pub reasons: Vec<alarms::announce::PostReason>,
    /// Why the post or the ledger failed (never the webhook URL). A failed post is retried by the next
    /// run, because what was announced is only advanced after a successful post.
    pub failure: Option<String>,
}

/// Posts the alarm-state report to Slack only when it changed since the last successful post (a new
/// firing episode, a recovery, an escalation in `escalated`) or when a digest is due
/// ([`alarms::announce`]). What was announced lives in the ledger under [`announced_key`].
pub async fn announce<L: LedgerStore>(
    report: &StateReport,
    escalated: &[String],
    ledger: &L,
    secrets: &aws_sdk_secretsmanager::Client,
    secret_name: &str,
    options: alarms::announce::AnnounceOptions,
) -> AnnounceReport {
    let (pk, sk) = announced_key(&report.platform);
    let mut out = AnnounceReport::default();
    let last = match crate::ledger::snapshots::<_, alarms::announce::Announced>(ledger, &pk, &sk, &sk).await {
        Ok(mut found) => found.pop().map(|(_, a)| a).unwrap_or_default(),
        Err(e) => {
            // Without the last state every firing alarm looks new: post (at least once) rather than
            // stay silent, and say why.
            out.failure = Some(format!("last announced state unreadable: {e}"));
            alarms::announce::Announced::default()
        }
    };
    let decision = alarms::announce::decide(
        &report.summary,
        &last,
        escalated,
        report.summary.generated_at,
        options,
    );
    out.reasons.clone_from(&decision.reasons);
    if decision.should_post() {
        let mut message = render_slack(report);
        let why: Vec<String> = decision
            .reasons
            .iter()
            .map(alarms::announce::PostReason::describe)
            .collect();
        message.blocks.insert(
            1.min(message.blocks.len()),
            Block::Context {
                elements: vec![TextObject::mrkdwn(fit(
                    &format!("Posted because: {}", why.join(" · ")),
                    2_000,
                ))],
            },
        );
        if let Err(e) = post_to_slack(secrets, secret_name, &message).await {
            out.failure = Some(e.to_string());
            return out;
        }
        out.posted = true;
    } else if decision.next == last {
        return out;
    }
    if let Err(e) = crate::ledger::put_snapshot(
        ledger,
        &pk,
        &sk,
        &decision.next,
        StdDuration::from_secs(90 * 24 * 3600),
    )
    .await
    {
        // The post went out but could not be remembered: the next run posts it again (at least once).
        out.failure = Some(format!("posted, but the announced state was not saved: {e}"));
    }
    out
}

/// What an escalation sends to SNS (the message body, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationMessage {
    /// Alarm name.
    pub alarm: String,
    /// Platform.
    pub platform: String,
    /// In ALARM since.
    pub firing_since: DateTime<Utc>,
    /// Minutes in ALARM.
    pub firing_minutes: i64,
    /// `StateReason`.
    pub reason: String,
    /// Faulting traces.
    pub traces: Vec<String>,
}

/// What [`escalate`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EscalationReport {
    /// Escalated now.
    pub escalated: Vec<String>,
    /// Already escalated in this episode (the ledger said so).
    pub already_escalated: Vec<String>,
    /// Critical alarms firing, but not yet for long enough.
    pub not_yet: Vec<String>,
    /// `(alarm, why)` for escalations that failed (their claims are released, so the next run retries).
    pub failures: Vec<(String, String)>,
}

/// The ledger key of an alarm episode: the alarm and when it went into ALARM.
#[must_use]
pub fn episode_key(platform: &str, alarm: &str, since: DateTime<Utc>) -> (String, String) {
    (
        format!("{platform}#alarm-escalation"),
        format!("{alarm}#{}", since.format("%Y-%m-%dT%H:%M:%SZ")),
    )
}

/// Publishes to `topic_arn` every critical, notifying alarm firing for at least `after`, once per
/// episode: the ledger claim comes first; a failed publish releases it.
pub async fn escalate(
    report: &StateReport,
    after: Duration,
    ledger: &Ledger,
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
) -> EscalationReport {
    let mut out = EscalationReport::default();
    let due: Vec<String> = report
        .summary
        .to_escalate(after)
        .iter()
        .map(|f| f.name.clone())
        .collect();
    for f in &report.summary.firing {
        if f.severity == Some(Severity::Critical) && f.notifies && !due.contains(&f.name) {
            out.not_yet.push(f.name.clone());
        }
    }
    for f in report.summary.to_escalate(after) {
        let (pk, sk) = episode_key(&report.platform, &f.name, f.since);
        let message = EscalationMessage {
            alarm: f.name.clone(),
            platform: report.platform.clone(),
            firing_since: f.since,
            firing_minutes: f.firing_minutes,
            reason: f.reason.clone(),
            traces: f.evidence.iter().map(|e| e.console_url.clone()).collect(),
        };
        let body = match serde_json::to_string(&message) {
            Ok(b) => b,
            Err(e) => {
                out.failures.push((f.name.clone(), e.to_string()));
                continue;
            }
        };
        match ledger
            .claim(&pk, &sk, &body, StdDuration::from_secs(30 * 24 * 3600))
            .await
        {
            Ok(false) => {
                out.already_escalated.push(f.name.clone());
                continue;
            }
            Err(e) => {
                out.failures.push((f.name.clone(), e.to_string()));
                continue;
            }
            Ok(true) => {}
        }
        let subject = fit(
            &format!("[CRITICAL] {} firing for {} min", f.name, f.firing_minutes),
            100,
        );
        match sns
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(&body)
            .send()
            .await
        {
            Ok(_) => out.escalated.push(f.name.clone()),
            Err(e) => {
                let why = describe_sdk_error(&e);
                let _ = ledger.release(&pk, &sk).await;
                out.failures.push((f.name.clone(), why));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::alarms::desired_catalogue;
    use crate::publish::fake::FakeCloudWatch;
    use alarms::Alarm;
    use chrono::TimeZone;

    struct Traces(Result<Vec<String>, ApiError>, std::sync::Mutex<Vec<String>>);

    impl TraceApi for Traces {
        async fn faulting_traces(
            &self,
            filter_expression: &str,
            _start: DateTime<Utc>,
            _end: DateTime<Utc>,
            limit: usize,
        ) -> Result<Vec<String>, ApiError> {
            self.1.lock().unwrap().push(filter_expression.to_owned());
            self.0.clone().map(|mut v| {
                v.truncate(limit);
                v
            })
        }
    }

    use crate::test_support::prod_spec as spec;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn firing_function_alarm_gets_trace_links_and_slack_blocks() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        for d in &cat.alarms {
            cw.seed(d.alarm.clone());
        }
        let name = "collectiq-prod-fn-authenticity-agent-error-rate-critical";
        cw.set_state(
            name,
            alarms::state::StateValue::Alarm,
            now() - Duration::minutes(20),
            "Threshold Crossed",
        );
        // An unmanaged alarm in ALARM is not part of this platform's report.
        let mut foreign = match &cat.alarms[0].alarm {
            Alarm::Metric(m) => m.clone(),
            Alarm::Composite(_) => panic!(),
        };
        foreign.alarm_name = "hand-made".into();
        cw.seed(Alarm::Metric(foreign));
        cw.set_state("hand-made", alarms::state::StateValue::Alarm, now(), "x");
        let traces = Traces(
            Ok(vec!["1-6740a000-000000000000000000000001".into()]),
            Default::default(),
        );
        let r = state_report(&cw, &traces, &spec, Some(&cat), now(), StateOptions::default())
            .await
            .unwrap();
        assert_eq!(r.alarms_read, cat.alarms.len());
        assert_eq!(r.summary.firing.len(), 1);
        let f = &r.summary.firing[0];
        assert_eq!(f.firing_minutes, 20);
        assert_eq!(f.evidence.len(), 1);
        assert_eq!(
            traces.1.lock().unwrap().as_slice(),
            [r#"service("collectiq-prod-authenticity-agent") { fault = true }"#]
        );
        let text = render_text(&r);
        assert!(
            text.contains("CRITICAL collectiq-prod-fn-authenticity-agent-error-rate-critical"),
            "{text}"
        );
        assert!(
            text.contains("#xray:traces/1-6740a000-000000000000000000000001"),
            "{text}"
        );
        assert!(text.contains("(20 min), 0 flaps in 24 h"), "{text}");
        let msg = render_slack(&r);
        assert!(cost::slack::validate(&msg).is_empty());
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(json["blocks"][0]["type"], "header");
        assert_eq!(
            json["blocks"][0]["text"]["text"],
            ":rotating_light: collectiq-prod: 1 alarm firing"
        );
        assert!(
            json["blocks"][2]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("Faulting traces: <https://")
        );
        // Seeds 000 and 001 give two Lambda error rules; both are inputs of the notifying composite
        // `…-errors-critical`, so the rate input alone pages nobody …
        assert!(r.summary.to_escalate(Duration::minutes(15)).is_empty());
        // … and when the composite fires (as it does in AWS once an input is in ALARM), it is escalated.
        let composite = "collectiq-prod-fn-authenticity-agent-errors-critical";
        cw.set_state(
            composite,
            alarms::state::StateValue::Alarm,
            now() - Duration::minutes(20),
            "Composite rule matched",
        );
        let r = state_report(&cw, &traces, &spec, Some(&cat), now(), StateOptions::default())
            .await
            .unwrap();
        let due: Vec<&str> = r
            .summary
            .to_escalate(Duration::minutes(15))
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(due, [composite]);
    }

    #[tokio::test]
    async fn trace_failures_become_notes() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        let name = "collectiq-prod-fn-cards-get-error-rate-critical";
        cw.seed(cat.get(name).unwrap().alarm.clone());
        cw.set_state(name, alarms::state::StateValue::Alarm, now(), "r");
        let traces = Traces(
            Err(ApiError::local("GetTraceSummaries", "InternalFailure")),
            Default::default(),
        );
        let r = state_report(&cw, &traces, &spec, Some(&cat), now(), StateOptions::default())
            .await
            .unwrap();
        assert_eq!(r.summary.firing.len(), 1);
        assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
        assert!(
            r.notes[0].starts_with("traces for collectiq-prod-fn-cards-get-error-rate-critical unavailable")
        );
        let msg = render_slack(&r);
        assert!(cost::slack::validate(&msg).is_empty());
    }

    #[test]
    fn slack_payload_stays_within_limits_with_many_firing() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let statuses: Vec<AlarmStatus> = cat
            .alarms
            .iter()
            .map(|d| AlarmStatus {
                name: d.name().to_owned(),
                state: alarms::state::StateValue::Alarm,
                state_updated: now() - Duration::minutes(5),
                reason: "x".repeat(400),
            })
            .collect();
        let summary = summarize(SummaryInput {
            alarms: &statuses,
            history: &[],
            catalogue: Some(&cat),
            evidence: &BTreeMap::new(),
            now: now(),
        });
        let r = StateReport {
            platform: "collectiq-prod".into(),
            region: "us-east-1".into(),
            alarms_read: statuses.len(),
            summary,
            history_read: true,
            notes: vec![],
        };
        let msg = render_slack(&r);
        assert!(
            cost::slack::validate(&msg).is_empty(),
            "{:?}",
            cost::slack::validate(&msg)
        );
        assert!(msg.blocks.len() <= 50);
    }

    #[test]
    fn episode_key_is_alarm_and_start() {
        let (pk, sk) = episode_key("collectiq-prod", "a-critical", now());
        assert_eq!(pk, "collectiq-prod#alarm-escalation");
        assert_eq!(sk, "a-critical#2026-11-22T12:00:00Z");
        assert_eq!(trace_epoch("1-6740a000-abc"), 0x6740_a000);
    }
}
