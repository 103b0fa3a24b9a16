//! The alarm-state report on-call reads, and the escalation of critical alarms that keep firing.
//!
//! `DescribeAlarms` (every page) gives what is firing and since when; `DescribeAlarmHistory` the flaps
//! and recoveries of the last 24 hours — asked per managed alarm (`AlarmName`), only for alarms whose
//! state changed in the window, and with the ledger ([`state_report_incremental`]) only since the last
//! read: the 24 h window is kept in the ledger; X-Ray `GetTraceSummaries` — with the filter expression
//! the alarms crate builds for the alarm's functions (`service("fn") { fault = true }`) — the most recent
//! faulting traces, so on-call starts from evidence. The pure [`alarms::state::summarize`] puts it
//! together; this module renders it for the terminal and as Slack Block Kit, posts it ([`announce`]),
//! and escalates to the critical SNS topic once per alarm episode ([`escalate`]).
//!
//! Both notifications are delivered at least once and recognisably once
//! ([`crate::ledger::delivery`]): each is recorded pending with its payload before it is sent and
//! marked sent after; a run first sends what an earlier run left pending. An episode's record has no
//! TTL while the alarm is still firing in that episode, so a long episode never pages twice.
//!
//! A source that fails (history or traces unavailable, e.g. on the emulator) becomes a note in the
//! report, never a failed report.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration as StdDuration;

use alarms::catalogue::{Catalogue, Severity};
use alarms::state::{
    AlarmStateSummary, AlarmStatus, StateTransition, SummaryInput, TraceEvidence, summarize, xray_trace_url,
};
use chrono::{DateTime, Duration, Utc};
use cost::format::truncate as fit;
use cost::slack::{Block, SlackMessage, TextObject, escape, escape_within};
use platform_spec::PlatformSpec;
use serde::Serialize;

use super::cloudwatch::{ApiError, CloudWatchApi, describe_all_alarms};
use crate::cost_pass::notify::{
    DeliveryError, NoSlack, NoSns, NotifyError, Sender, SlackSource, SnsPublisher, StoredRecord, record_id,
    records,
};
use crate::cost_pass::slack::SlackRetry;
use crate::ledger::delivery::{DeliveryRecord, SnsNotification};
use crate::ledger::{LedgerError, LedgerStore, NewItem};

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
        let mut guard = super::cloudwatch::PageGuard::new("GetTraceSummaries", super::cloudwatch::MAX_PAGES);
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
                .map_err(|e| ApiError::from_sdk("CloudWatch", "GetTraceSummaries", e))?;
            ids.extend(
                out.trace_summaries()
                    .iter()
                    .filter_map(|s| s.id().map(str::to_owned)),
            );
            token = guard.next(out.next_token().map(str::to_owned))?;
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
    /// What the history read asked for.
    #[serde(default)]
    pub history: HistoryRead,
    /// Sources that failed and what that means for the report.
    pub notes: Vec<String>,
    /// The firing alarms whose X-Ray search answered (found traces or none).
    #[serde(default)]
    pub traces_searched: BTreeSet<String>,
    /// The platform's X-Ray sampling in percent (`platform.xray_sampling_percent`); `None` is Lambda's
    /// default. A search that finds no faulting trace says how much X-Ray records.
    #[serde(default)]
    pub xray_sampling_percent: Option<u8>,
}

impl StateReport {
    /// What on-call reads under a firing alarm whose X-Ray search found nothing: a sampled platform
    /// records few requests, so "no faulting trace" is not "no fault". `None` when the search found
    /// traces, failed (a note says so) or was not made.
    #[must_use]
    pub fn no_trace_line(&self, alarm: &alarms::state::FiringAlarm) -> Option<String> {
        if !alarm.evidence.is_empty()
            || alarm.trace_query.is_none()
            || !self.traces_searched.contains(&alarm.name)
        {
            return None;
        }
        let recorded = match self.xray_sampling_percent {
            Some(p) => format!("{p} % of requests"),
            None => "the first request each second and 5 % of the rest".to_owned(),
        };
        Some(format!(
            "No faulting trace in X-Ray for this window: it records {recorded}, so a fault can leave none — read the function's logs."
        ))
    }
}

/// How far back the report looks for flaps and recoveries.
pub const HISTORY_WINDOW_HOURS: i64 = 24;

/// How far before the last read an incremental read starts again: CloudWatch may list a state change in
/// the history a little after it happened; transitions read twice are merged.
pub const HISTORY_OVERLAP_MINUTES: i64 = 10;

/// Most pages of `DescribeAlarmHistory` read for one alarm (100 items a page).
const HISTORY_MAX_PAGES: usize = 50;

/// A state change as kept in the ledger's history window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StoredTransition {
    /// Alarm name.
    pub alarm: String,
    /// When.
    pub at: DateTime<Utc>,
    /// From.
    pub old: alarms::state::StateValue,
    /// To.
    pub new: alarms::state::StateValue,
}

impl From<&StateTransition> for StoredTransition {
    fn from(t: &StateTransition) -> Self {
        Self {
            alarm: t.alarm_name.clone(),
            at: t.timestamp,
            old: t.old_state,
            new: t.new_state,
        }
    }
}

impl From<&StoredTransition> for StateTransition {
    fn from(t: &StoredTransition) -> Self {
        Self {
            alarm_name: t.alarm.clone(),
            timestamp: t.at,
            old_state: t.old,
            new_state: t.new,
        }
    }
}

/// The last 24 h of state changes of the managed alarms, kept in the ledger between runs under
/// [`history_key`], and how far they have been read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct HistoryWindow {
    /// Everything up to here has been read.
    pub read_until: Option<DateTime<Utc>>,
    /// The transitions, oldest first.
    pub transitions: Vec<StoredTransition>,
}

/// The ledger key of the history window.
#[must_use]
pub fn history_key(platform: &str) -> (String, String) {
    (format!("{platform}#alarm-state"), "history".to_owned())
}

/// What one history read did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistoryRead {
    /// Alarms whose history was asked for (one `DescribeAlarmHistory` with `AlarmName` each, plus pages).
    pub alarms_asked: usize,
    /// From when.
    pub from: Option<DateTime<Utc>>,
}

/// The state changes of `alarms` between `from` and `now`, asking only for the alarms whose state
/// changed since `from` (their `StateUpdatedTimestamp`): an alarm that has not changed has no history
/// to read.
async fn managed_history<C: CloudWatchApi>(
    cw: &C,
    alarms: &[AlarmStatus],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(Vec<StateTransition>, usize), ApiError> {
    let mut out = Vec::new();
    let mut asked = 0;
    for a in alarms.iter().filter(|a| a.state_updated >= from) {
        asked += 1;
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for page in 1..=HISTORY_MAX_PAGES {
            let p = cw
                .describe_alarm_history_of(&a.name, from, now, token.take())
                .await?;
            out.extend(p.transitions.into_iter().filter(|t| t.alarm_name == a.name));
            match p.next_token.filter(|t| !t.is_empty()) {
                None => break,
                Some(t) if !seen.insert(t.clone()) => {
                    return Err(ApiError::local(
                        "DescribeAlarmHistory",
                        format!(
                            "{}: a NextToken came back twice; stopped instead of looping",
                            a.name
                        ),
                    ));
                }
                Some(_) if page == HISTORY_MAX_PAGES => {
                    return Err(ApiError::local(
                        "DescribeAlarmHistory",
                        format!("{}: more than {HISTORY_MAX_PAGES} pages in 24 h", a.name),
                    ));
                }
                Some(t) => token = Some(t),
            }
        }
    }
    Ok((out, asked))
}

/// Builds the report for the environment's alarms — exactly the catalogue's names, never every name
/// under the prefix (`collectiq-prod-eu-…` is under `collectiq-prod-` too) — reading the last 24 h of
/// history of those that changed state in that time.
///
/// # Errors
/// Only when `DescribeAlarms` fails; history and trace failures become notes.
pub async fn state_report<C: CloudWatchApi, X: TraceApi>(
    cw: &C,
    xray: &X,
    spec: &PlatformSpec,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
    opts: StateOptions,
) -> Result<StateReport, ApiError> {
    report_with(cw, xray, spec, catalogue, now, opts, None::<&NoLedger>).await
}

/// [`state_report`] reading the history incrementally: the window of the last 24 h is kept in `ledger`
/// ([`history_key`]) with the time it was read up to, and each run asks only for the managed alarms whose
/// state changed since then, from then (less [`HISTORY_OVERLAP_MINUTES`]). A run every 5 minutes with
/// nothing changing makes no `DescribeAlarmHistory` call at all.
///
/// # Errors
/// Only when `DescribeAlarms` fails; history, ledger and trace failures become notes.
pub async fn state_report_incremental<C: CloudWatchApi, X: TraceApi, L: LedgerStore>(
    cw: &C,
    xray: &X,
    spec: &PlatformSpec,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
    opts: StateOptions,
    ledger: &L,
) -> Result<StateReport, ApiError> {
    report_with(cw, xray, spec, catalogue, now, opts, Some(ledger)).await
}

/// A ledger type for [`state_report`], which has none.
type NoLedger = crate::ledger::Ledger;

async fn history_for<C: CloudWatchApi, L: LedgerStore>(
    cw: &C,
    statuses: &[AlarmStatus],
    platform: &str,
    now: DateTime<Utc>,
    ledger: Option<&L>,
    notes: &mut Vec<String>,
) -> Option<(Vec<StateTransition>, HistoryRead)> {
    let window_start = now - Duration::hours(HISTORY_WINDOW_HOURS);
    let (pk, sk) = history_key(platform);
    let stored = match ledger {
        None => HistoryWindow::default(),
        Some(l) => match crate::ledger::snapshots::<_, HistoryWindow>(l, &pk, &sk, &sk).await {
            Ok(mut found) => found.pop().map(|(_, w)| w).unwrap_or_default(),
            Err(e) => {
                notes.push(format!("stored alarm history unreadable ({e}): read 24 h again"));
                HistoryWindow::default()
            }
        },
    };
    let from = stored
        .read_until
        // A stored time near chrono's minimum (a tampered or corrupt item) must not panic the run.
        .and_then(|t| t.checked_sub_signed(Duration::minutes(HISTORY_OVERLAP_MINUTES)))
        .filter(|t| *t > window_start && *t <= now)
        .unwrap_or(window_start);
    let (fresh, asked) = match managed_history(cw, statuses, from, now).await {
        Ok(r) => r,
        Err(e) => {
            notes.push(format!(
                "alarm history unavailable ({e}): flaps and recoveries are not counted"
            ));
            return None;
        }
    };
    let mut transitions: Vec<StoredTransition> = stored
        .transitions
        .into_iter()
        .filter(|t| t.at >= window_start)
        .collect();
    for t in &fresh {
        let t = StoredTransition::from(t);
        if !transitions.contains(&t) {
            transitions.push(t);
        }
    }
    transitions.sort_by(|a, b| (a.at, &a.alarm).cmp(&(b.at, &b.alarm)));
    if let Some(l) = ledger {
        let window = HistoryWindow {
            read_until: Some(now),
            transitions: transitions.clone(),
        };
        if let Err(e) =
            crate::ledger::put_snapshot(l, &pk, &sk, &window, StdDuration::from_secs(2 * 86_400)).await
        {
            notes.push(format!(
                "alarm history not saved ({e}): the next run reads 24 h again"
            ));
        }
    }
    Some((
        transitions.iter().map(StateTransition::from).collect(),
        HistoryRead {
            alarms_asked: asked,
            from: Some(from),
        },
    ))
}

#[allow(clippy::too_many_arguments)]
async fn report_with<C: CloudWatchApi, X: TraceApi, L: LedgerStore>(
    cw: &C,
    xray: &X,
    spec: &PlatformSpec,
    catalogue: &Catalogue,
    now: DateTime<Utc>,
    opts: StateOptions,
    ledger: Option<&L>,
) -> Result<StateReport, ApiError> {
    // Ownership is exact: the catalogue's names. Another environment's `{prefix}-eu-…` alarms, and any
    // hand-made alarm under the prefix, are not this report's to page on.
    let statuses: Vec<AlarmStatus> = describe_all_alarms(cw)
        .await?
        .into_iter()
        .filter(|p| catalogue.get(&p.status.name).is_some())
        .map(|p| p.status)
        .collect();
    let catalogue = Some(catalogue);
    let mut notes = Vec::new();
    let (history, history_read, read) =
        match history_for(cw, &statuses, &spec.managed_prefix(), now, ledger, &mut notes).await {
            Some((h, read)) => (h, true, read),
            None => (Vec::new(), false, HistoryRead::default()),
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
    let mut traces_searched = BTreeSet::new();
    for f in &first.firing {
        let Some(q) = &f.trace_query else { continue };
        // The window the report shows is the one searched (`FiringAlarm::trace_window`).
        let start = f.trace_window.0.max(now - opts.trace_lookback);
        match xray
            .faulting_traces(&q.filter_expression, start, now, opts.traces_per_alarm)
            .await
        {
            Ok(ids) => {
                traces_searched.insert(f.name.clone());
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
        history: read,
        notes,
        traces_searched,
        xray_sampling_percent: spec
            .platform
            .xray_sampling()
            .map(platform_spec::XraySampling::percent),
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
        "{} firing ({} critical, {} warning), {} recovered in 24 h, {} flapping, {} with insufficient data — {} of {}'s generated alarms read",
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
        if let Some(line) = r.no_trace_line(f) {
            let _ = writeln!(t, "      {line}");
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
    // Alarm names, state reasons and notes come from AWS: nothing in them may act on the terminal.
    vocabulary::text::terminal_safe(&t)
}

/// Most firing alarms shown as their own section in Slack (the rest are counted).
pub const SLACK_FIRING_SECTIONS: usize = 15;

/// Characters the notes of an alarm-state post may take together.
const NOTES_CHARS: usize = 1_500;

/// A section's text limit (Block Kit: 3,000 characters).
const SECTION_CHARS: usize = 3_000;

/// Characters kept for what is added to a rendered post: the "Posted because" context (at most 2,000)
/// and the delivery ref.
const ADDED_LATER_CHARS: usize = 2_300;

/// The report as a Slack incoming-webhook payload (Block Kit), within Slack's limits (total text
/// included, with room for the "Posted because" line and the delivery ref added before it is sent).
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
    let mut firing: Vec<Block> = Vec::new();
    for f in s.firing.iter().take(SLACK_FIRING_SECTIONS) {
        // Names, reasons and notes come from CloudWatch and X-Ray (anyone allowed SetAlarmState writes a
        // reason): escaped, so `<!channel>` or a `<https://…|link>` in them is text, not a mention or a
        // link on-call would click.
        let mut text = format!(
            "*{}* `{}`\nIn ALARM since {} ({} min), {}",
            severity_word(f.severity),
            escape(&f.name),
            f.since.format("%Y-%m-%d %H:%M UTC"),
            f.firing_minutes,
            flaps(r, f.flaps_24h)
        );
        let mut after = String::new();
        if !f.evidence.is_empty() {
            let links: Vec<String> = f
                .evidence
                .iter()
                .map(|e| format!("<{}|{}>", escape(&e.console_url), escape(&e.trace_id)))
                .collect();
            after.push_str(&format!("\nFaulting traces: {}", links.join(", ")));
        }
        if let Some(line) = r.no_trace_line(f) {
            after.push_str(&format!("\n_{line}_"));
        }
        if !f.reason.is_empty() {
            // One quoted line (a newline in the reason would end the quote), cut before it is escaped
            // to what the section leaves it: an entity is never cut in half, and the trace links after
            // it are never cut off (a 1,023-character reason of `&` escapes to over 5,000).
            let room = SECTION_CHARS.saturating_sub(text.chars().count() + after.chars().count() + 2);
            text.push_str(&format!(
                "\n>{}",
                escape_within(&f.reason.replace('\n', " "), room)
            ));
        }
        text.push_str(&after);
        firing.push(Block::Section {
            text: Some(TextObject::mrkdwn(fit(&text, SECTION_CHARS))),
            fields: Vec::new(),
        });
    }
    let mut tail: Vec<Block> = Vec::new();
    if !s.recovered.is_empty() || !s.flapping.is_empty() {
        let mut lines: Vec<String> = s
            .recovered
            .iter()
            .take(10)
            .map(|x| {
                format!(
                    ":white_check_mark: `{}` recovered {}",
                    escape(&x.name),
                    x.recovered_at.format("%H:%M UTC")
                )
            })
            .collect();
        lines.extend(
            s.flapping
                .iter()
                .take(10)
                .map(|(n, c)| format!(":repeat: `{}` into ALARM {c}× in 24 h", escape(n))),
        );
        tail.push(Block::Divider {});
        tail.push(Block::Section {
            text: Some(TextObject::mrkdwn(fit(&lines.join("\n"), 3000))),
            fields: Vec::new(),
        });
    }
    if !r.notes.is_empty() {
        // Notes share NOTES_CHARS: ten long ones alone would pass Slack's total.
        let mut room = NOTES_CHARS;
        let notes: Vec<TextObject> = r
            .notes
            .iter()
            .take(10)
            .map_while(|n| {
                let text = escape_within(n, room.min(2000));
                room = room.checked_sub(text.chars().count())?;
                (!text.is_empty()).then(|| TextObject::mrkdwn(text))
            })
            .collect();
        if !notes.is_empty() {
            tail.push(Block::Context { elements: notes });
        }
    }
    // Slack refuses a message whose text passes its total (cost::slack::limits::TOTAL_TEXT), and a
    // refused post is never delivered: the firing sections that fit go in, in order (critical first), the
    // rest are counted. Room is kept for what the pass adds (the "Posted because" line, the delivery ref).
    let chars = |bs: &[Block]| -> usize {
        bs.iter()
            .flat_map(Block::texts)
            .map(|t| t.text().chars().count())
            .sum()
    };
    let mut room = cost::slack::limits::TOTAL_TEXT
        .saturating_sub(ADDED_LATER_CHARS + chars(&blocks) + chars(&tail) + 60);
    let mut shown = 0;
    for section in firing {
        let n = chars(std::slice::from_ref(&section));
        if n > room {
            break;
        }
        room -= n;
        blocks.push(section);
        shown += 1;
    }
    if s.firing.len() > shown {
        blocks.push(Block::Context {
            elements: vec![TextObject::mrkdwn(format!(
                "… and {} more firing",
                s.firing.len() - shown
            ))],
        });
    }
    blocks.extend(tail);
    SlackMessage {
        text: fit(&format!("{}: {}", r.platform, headline(r)), 3000),
        blocks,
    }
}

/// The retry bounds of the alarm-state post: one retry after a 429, waiting what Slack asks for (at
/// most 30 s).
const SLACK_RETRY: SlackRetry = SlackRetry {
    max_attempts: 2,
    max_wait: StdDuration::from_secs(30),
};

/// Reads the webhook URL from the secret and posts `message` (with the cost report's webhook client: URL
/// checks, `Retry-After`, Slack's error codes). The URL is never logged or put in an error.
///
/// # Errors
/// [`NotifyError`] naming the secret, never the URL.
pub async fn post_to_slack<S: SlackSource>(
    secrets: &S,
    secret_name: &str,
    message: &cost::slack::SlackMessage,
) -> Result<(), NotifyError> {
    use crate::cost_pass::notify::SlackPoster as _;
    let webhook = secrets.slack(secret_name, SLACK_RETRY).await?;
    webhook.post(message).await.map(|_| ()).map_err(NotifyError::from)
}

/// The ledger key under which the last announced alarm state is kept.
#[must_use]
pub fn announced_key(platform: &str) -> (String, String) {
    (format!("{platform}#alarm-state"), "announced".to_owned())
}

/// How long a sent alarm-state post record (and a pending one) is kept.
pub const POST_RECORD_KEEP: StdDuration = StdDuration::from_secs(7 * 86_400);

/// What [`announce`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct AnnounceReport {
    /// Whether the report was posted to Slack.
    pub posted: bool,
    /// Why it was (or would have been) posted; empty when nothing changed.
    pub reasons: Vec<alarms::announce::PostReason>,
    /// Posts an earlier run recorded and this run sent (their record ids).
    pub resent: Vec<String>,
    /// Why the post or the ledger failed (never the webhook URL). A post that was recorded but not
    /// sent stays pending and the next run sends it.
    pub failure: Option<String>,
}

/// The sort key of the post that announces `decision` after `last`. It depends only on what the run
/// read and decided — the announced state it starts from, the firing episodes it leads to, the reasons —
/// never on the run's clock, so two runs that overlap with the same view (a Lambda retry beside the next
/// scheduled run, or one event delivered twice) compute the same key and the ledger's conditional write
/// lets exactly one of them record and send the post. The last post's time comes first, so the keys of
/// successive posts sort in the order they were decided; the rest is a decimal FNV-1a hash of the
/// decision (digits only: runs are compared with digits masked).
fn post_sk(last: &alarms::announce::Announced, decision: &alarms::announce::PostDecision) -> String {
    let since = last.last_post.map_or_else(
        || "none".to_owned(),
        |at| at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    );
    // Serialising these plain maps and enums cannot fail; a failure would only weaken the key to the
    // last post's time, which still separates successive posts.
    let material =
        serde_json::to_string(&(last, &decision.next.firing, &decision.reasons)).unwrap_or_default();
    format!("post#{since}#{:020}", fnv1a(material.as_bytes()))
}

/// 64-bit FNV-1a: stable across builds and platforms (unlike `std`'s hasher), which a ledger key needs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Stores `then` (an [`alarms::announce::Announced`] as JSON) as the announced state.
async fn remember_announced<L: LedgerStore>(
    ledger: &L,
    platform: &str,
    then: &serde_json::Value,
) -> Result<(), LedgerError> {
    let (pk, sk) = announced_key(platform);
    crate::ledger::put_snapshot(ledger, &pk, &sk, then, StdDuration::from_secs(90 * 24 * 3600)).await
}

/// Posts the alarm-state report to Slack only when it changed since the last delivered post (a new
/// firing episode, a recovery, a page in `paged` not yet announced) or when a digest is due
/// ([`alarms::announce`]). What was announced lives in the ledger under [`announced_key`].
///
/// At least once: a post is recorded pending (with its payload and the announced state it leads to)
/// under `{platform}#alarm-state / post#<time>` before it is sent; the announced state advances only
/// once it is sent. A run first sends the posts an earlier run left pending, oldest first, and records
/// nothing new while one is still pending (so failed posts never pile up).
pub async fn announce<L: LedgerStore, S: SlackSource>(
    report: &StateReport,
    paged: alarms::announce::Paged<'_>,
    ledger: &L,
    secrets: &S,
    secret_name: &str,
    options: alarms::announce::AnnounceOptions,
) -> AnnounceReport {
    let now = report.summary.generated_at;
    let (pk, sk) = announced_key(&report.platform);
    let mut out = AnnounceReport::default();
    let mut sender = Sender::new(
        ledger,
        secrets,
        &NoSns,
        secret_name,
        SLACK_RETRY,
        Some(POST_RECORD_KEEP),
    );

    // 1. What an earlier run recorded and did not send.
    let posts: Vec<StoredRecord> = match records(ledger, &pk).await {
        Ok(r) => r.into_iter().filter(|r| r.sk.starts_with("post#")).collect(),
        Err(e) => {
            out.failure = Some(format!("pending posts unreadable: {e}"));
            Vec::new()
        }
    };
    // The state the newest sent post led to: what the announced snapshot says unless its write failed
    // after that post went out (then the next decision would announce the same alarms again).
    let sent_state = newest_sent_state(&posts);
    // Keys of posts that can never be sent: this run's decision, the same as theirs when nothing changed
    // since, takes another key (below) instead of colliding with them.
    let mut refused: BTreeSet<String> = posts
        .iter()
        .filter(|r| r.record.state == crate::ledger::delivery::DeliveryState::Refused)
        .map(|r| r.sk.clone())
        .collect();
    let pending: Vec<StoredRecord> = posts.into_iter().filter(|r| r.record.is_pending()).collect();
    for stored in pending {
        let sk = stored.sk.clone();
        let then = stored.record.then.clone();
        match sender.send(stored, now).await {
            Ok(sent) => {
                out.posted = true;
                out.resent.push(sent.id);
                if let Some(then) = then
                    && let Err(e) = remember_announced(ledger, &report.platform, &then).await
                {
                    out.failure = Some(format!("posted, but the announced state was not saved: {e}"));
                    return out;
                }
            }
            // Another run is posting it now: later posts wait behind it, as they would behind a failure,
            // but nothing failed here.
            Err(DeliveryError::InFlight { .. } | DeliveryError::Settled { .. }) => return out,
            // Refused for good (over Slack's limits): settled, so it holds back nothing after it.
            Err(e) if e.refused() => {
                refused.insert(sk);
                out.failure = Some(e.to_string());
            }
            Err(e) => {
                out.failure = Some(e.to_string());
                return out;
            }
        }
    }

    // 2. This run's decision.
    let last = match crate::ledger::snapshots::<_, alarms::announce::Announced>(ledger, &pk, &sk, &sk).await {
        Ok(mut found) => found.pop().map(|(_, a)| a).unwrap_or_default(),
        Err(e) => {
            // Without the last state every firing alarm looks new: post (at least once) rather than
            // stay silent, and say why.
            out.failure = Some(format!("last announced state unreadable: {e}"));
            alarms::announce::Announced::default()
        }
    };
    let last = match sent_state {
        Some((sent, value)) if sent.last_post > last.last_post => {
            // A sent post is newer than the snapshot: its write was lost. Repair it, then decide from it.
            if let Err(e) = remember_announced(ledger, &report.platform, &value).await {
                tracing::warn!(error = %e, "could not repair the announced state from the last sent post");
            }
            sent
        }
        _ => last,
    };
    let decision = alarms::announce::decide(&report.summary, &last, paged, now, options);
    out.reasons.clone_from(&decision.reasons);
    let next = match serde_json::to_value(&decision.next) {
        Ok(v) => v,
        Err(e) => {
            out.failure = Some(format!("announced state does not serialize: {e}"));
            return out;
        }
    };
    if !decision.should_post() {
        if decision.next != last
            && let Err(e) = remember_announced(ledger, &report.platform, &next).await
        {
            out.failure = Some(format!("announced state not saved: {e}"));
        }
        return out;
    }
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
                &format!("Posted because: {}", escape(&why.join(" · "))),
                2_000,
            ))],
        },
    );
    // A refused post of the same decision keeps its key: this one takes the next free `~` form (the same
    // for every run that decides it, so two runs still record one post).
    let mut post = post_sk(&last, &decision);
    while refused.contains(&post) {
        post.push('~');
    }
    let record = DeliveryRecord::slack(&record_id(&pk, &post), message, now).with_then(next.clone());
    let recorded = match record.to_detail() {
        Ok(detail) => {
            ledger
                .record_all(&[NewItem {
                    pk: &pk,
                    sk: &post,
                    detail: &detail,
                    keep: Some(POST_RECORD_KEEP),
                }])
                .await
        }
        Err(e) => Err(LedgerError::document(
            ledger.table(),
            format!("record {pk}/{post}"),
            e,
        )),
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            // Another run decided this very post from the same announced state and recorded it first. If
            // it was sent, the announced state follows it (its run may have died before saving it); if
            // it is pending, that run is sending it or the next run sends it (step 1): never twice here.
            if let Err(e) = follow_recorded(ledger, &report.platform, &pk, &post).await {
                out.failure = Some(e);
            }
            return out;
        }
        Err(e) => {
            // Nothing recorded, nothing sent, nothing advanced: the next run decides again.
            out.failure = Some(format!("post not recorded: {e}"));
            return out;
        }
    }
    let stored = StoredRecord {
        pk: pk.clone(),
        sk: post,
        record,
    };
    match sender.send(stored, now).await {
        Ok(_) => {
            out.posted = true;
            if let Err(e) = remember_announced(ledger, &report.platform, &next).await {
                // The post went out but could not be remembered: the next run posts it again (at least once).
                out.failure = Some(format!("posted, but the announced state was not saved: {e}"));
            }
        }
        Err(DeliveryError::InFlight { .. } | DeliveryError::Settled { .. }) => {}
        Err(e) => out.failure = Some(e.to_string()),
    }
    out
}

/// The announced state (parsed, and as stored) the newest sent post record leads to, if any.
fn newest_sent_state(posts: &[StoredRecord]) -> Option<(alarms::announce::Announced, serde_json::Value)> {
    posts
        .iter()
        .filter(|r| r.record.state == crate::ledger::delivery::DeliveryState::Sent)
        .filter_map(|r| {
            let value = r.record.then.clone()?;
            let parsed = serde_json::from_value::<alarms::announce::Announced>(value.clone()).ok()?;
            Some((parsed, value))
        })
        .max_by_key(|(a, _)| a.last_post)
}

/// After a refused record of post `sk`: saves the announced state that post leads to when it was sent.
async fn follow_recorded<L: LedgerStore>(
    ledger: &L,
    platform: &str,
    pk: &str,
    sk: &str,
) -> Result<(), String> {
    let stored = records(ledger, pk)
        .await
        .map_err(|e| format!("post {sk} recorded by another run, but unreadable: {e}"))?;
    let Some(record) = stored.into_iter().find(|r| r.sk == sk).map(|r| r.record) else {
        return Ok(()); // expired in between: nothing to follow
    };
    match record.then {
        // Sent only: a refused post (over Slack's limits) announced nothing.
        Some(then) if record.state == crate::ledger::delivery::DeliveryState::Sent => {
            remember_announced(ledger, platform, &then).await.map_err(|e| {
                format!("post {sk} sent by another run, but the announced state was not saved: {e}")
            })
        }
        _ => Ok(()),
    }
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
    /// Escalated now (published in this run, including pages an earlier run recorded).
    pub escalated: Vec<String>,
    /// Already escalated in this episode (the ledger said so).
    pub already_escalated: Vec<String>,
    /// Recorded by another run between this run's read of the ledger and its own record, and not yet
    /// marked sent: that run is publishing it (or failed to, and the next run publishes it). Not a
    /// page that was sent, so never announced as one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub in_flight: Vec<String>,
    /// Of `escalated`, pages an earlier run recorded for an episode that has ended since.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalated_late: Vec<String>,
    /// Critical alarms firing, but not yet for long enough.
    pub not_yet: Vec<String>,
    /// `(alarm, why)` for escalations that failed (their records stay pending: the next run retries).
    pub failures: Vec<(String, String)>,
}

impl EscalationReport {
    /// The pages sent for the alarms' current episodes, for [`announce`]: this run's and the ones an
    /// earlier run sent (it may have failed before announcing them).
    #[must_use]
    pub fn paged(&self) -> alarms::announce::Paged<'_> {
        alarms::announce::Paged {
            now: &self.escalated,
            earlier: &self.already_escalated,
            late: &self.escalated_late,
        }
    }
}

/// The ledger key of an alarm episode: the alarm and when it went into ALARM, to the millisecond
/// (CloudWatch's `StateUpdatedTimestamp`): an alarm that recovers and fires again within one second is
/// a new episode, paged again.
#[must_use]
pub fn episode_key(platform: &str, alarm: &str, since: DateTime<Utc>) -> (String, String) {
    (
        format!("{platform}#alarm-escalation"),
        format!("{alarm}#{}", since.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
    )
}

/// The episode's key as versions before 2026-12-04 wrote it (to the second): a record of an episode
/// still open under that key is that episode's, so an upgrade does not page it again.
fn legacy_episode_sk(alarm: &str, since: DateTime<Utc>) -> String {
    format!("{alarm}#{}", since.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// How long an escalation record is kept once its episode is over (while the alarm keeps firing in the
/// episode it has no TTL at all).
pub const EPISODE_KEEP_AFTER_CLOSE: StdDuration = StdDuration::from_secs(30 * 86_400);

fn alarm_of(sk: &str) -> String {
    sk.rsplit_once('#').map_or(sk, |(a, _)| a).to_owned()
}

/// Publishes to `topic_arn` every critical, notifying alarm firing for at least `after`, once per
/// episode and at least once: the page is recorded pending (no TTL while the episode is open) before it
/// is published and marked sent after; pages an earlier run left pending are published first. Records
/// of episodes that are over get a TTL of [`EPISODE_KEEP_AFTER_CLOSE`].
pub async fn escalate<L: LedgerStore, P: SnsPublisher>(
    report: &StateReport,
    after: Duration,
    ledger: &L,
    sns: &P,
    topic_arn: &str,
) -> EscalationReport {
    let now = report.summary.generated_at;
    let mut out = EscalationReport::default();
    let due: Vec<&alarms::state::FiringAlarm> = report.summary.to_escalate(after);
    for f in &report.summary.firing {
        if f.severity == Some(Severity::Critical) && f.notifies && !due.iter().any(|d| d.name == f.name) {
            out.not_yet.push(f.name.clone());
        }
    }
    let pk = format!("{}#alarm-escalation", report.platform);
    let existing = match ledger.claims(&pk).await {
        Ok(items) => items,
        Err(e) => {
            for f in &due {
                out.failures.push((f.name.clone(), e.to_string()));
            }
            return out;
        }
    };
    let open: Vec<String> = report
        .summary
        .firing
        .iter()
        .flat_map(|f| {
            [
                episode_key(&report.platform, &f.name, f.since).1,
                legacy_episode_sk(&f.name, f.since),
            ]
        })
        .collect();

    // Record this run's new episodes, each on its own: one failing does not hold back the others.
    let mut to_send: Vec<StoredRecord> = Vec::new();
    // Episodes another run recorded meanwhile: `(alarm, sort key)`.
    let mut raced: Vec<(String, String)> = Vec::new();
    for f in due {
        let (_, sk) = episode_key(&report.platform, &f.name, f.since);
        let legacy = legacy_episode_sk(&f.name, f.since);
        if existing.iter().any(|(s, _)| *s == sk || *s == legacy) {
            continue; // sent (already escalated) or pending (sent below)
        }
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
        // SNS subjects are ASCII without control characters and under 100 characters, or Publish is
        // refused — and a refused page would stay pending on every run.
        let subject = cost::sns::subject_safe(&format!(
            "[CRITICAL] {} firing for {} min",
            f.name, f.firing_minutes
        ));
        let notification = SnsNotification::new(topic_arn, &subject, &body, "CRITICAL", "alarm_escalation");
        let record = DeliveryRecord::sns(&record_id(&pk, &sk), notification, now);
        let recorded = match record.to_detail() {
            Ok(detail) => {
                ledger
                    .record_all(&[NewItem {
                        pk: &pk,
                        sk: &sk,
                        detail: &detail,
                        keep: None,
                    }])
                    .await
            }
            Err(e) => Err(LedgerError::document(
                ledger.table(),
                format!("record {pk}/{sk}"),
                e,
            )),
        };
        match recorded {
            Ok(true) => to_send.push(StoredRecord {
                pk: pk.clone(),
                sk,
                record,
            }),
            // Another run recorded the episode since `existing` was read: sent only if its record
            // says so.
            Ok(false) => raced.push((f.name.clone(), sk)),
            Err(e) => out.failures.push((f.name.clone(), e.to_string())),
        }
    }
    if !raced.is_empty() {
        match ledger.claims(&pk).await {
            Ok(now_recorded) => {
                for (name, sk) in raced {
                    // A record this version cannot read was written by an earlier one, which marked
                    // nothing pending: taken as sent, as the loop below takes it. One not found yet (a
                    // read that lags the write) is in flight: the next run reads it again.
                    let sent = now_recorded
                        .iter()
                        .find(|(s, _)| *s == sk)
                        .is_some_and(|(_, detail)| {
                            DeliveryRecord::parse(detail).is_none_or(|r| !r.is_pending())
                        });
                    if sent {
                        out.already_escalated.push(name);
                    } else {
                        out.in_flight.push(name);
                    }
                }
            }
            Err(e) => {
                for (name, _) in raced {
                    out.failures.push((
                        name,
                        format!("another run recorded this page; reading its record back failed: {e}"),
                    ));
                }
            }
        }
    }

    // Earlier runs' records: pending ones are sent; sent ones of closed episodes get their TTL.
    for (sk, detail) in &existing {
        let Some(record) = DeliveryRecord::parse(detail) else {
            if open.contains(sk) {
                out.already_escalated.push(alarm_of(sk)); // written by an earlier version
            }
            continue;
        };
        if record.is_pending() {
            to_send.insert(
                0,
                StoredRecord {
                    pk: pk.clone(),
                    sk: sk.clone(),
                    record,
                },
            );
        } else if open.contains(sk) {
            out.already_escalated.push(alarm_of(sk));
        } else if record.then.is_none() {
            // The episode is over: from now on the record may expire. `then` notes that it was closed.
            let closed = record.with_then(serde_json::json!({ "episode_closed_at": now }));
            if let Ok(detail) = closed.to_detail()
                && let Err(e) = ledger
                    .update_record(&pk, sk, &detail, Some(EPISODE_KEEP_AFTER_CLOSE))
                    .await
            {
                tracing::warn!(episode = %sk, error = %e, "could not start the TTL of a closed episode");
            }
        }
    }

    // Pages recorded for another topic (one misconfigured, or since replaced) go to today's.
    let mut sender = Sender::new(ledger, &NoSlack, sns, "", SLACK_RETRY, None).with_sns_topic(topic_arn);
    for stored in to_send {
        // A page recorded for an episode that has ended meanwhile is still sent (at least once); its
        // TTL starts on the next run.
        let alarm = alarm_of(&stored.sk);
        let ended = !open.contains(&stored.sk);
        match sender.send(stored, now).await {
            Ok(_) => {
                if ended {
                    out.escalated_late.push(alarm.clone());
                }
                out.escalated.push(alarm);
            }
            Err(e) => {
                let why = match e {
                    // Another run is publishing this page now: it is that run's.
                    DeliveryError::InFlight { .. } => {
                        out.in_flight.push(alarm);
                        continue;
                    }
                    // Another run published it after this run read it pending.
                    DeliveryError::Settled { .. } => {
                        out.already_escalated.push(alarm);
                        continue;
                    }
                    DeliveryError::Send { cause, .. } => cause.to_string(),
                    e => e.to_string(),
                };
                out.failures.push((alarm, why));
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

    /// A firing alarm whose X-Ray search found nothing says how much X-Ray records on that platform
    /// (seed 002: Backoffice samples 5 %), so on-call does not read "no trace" as "no fault"; a search
    /// that found traces, or failed (a note says so), adds no such line.
    #[tokio::test]
    async fn no_faulting_trace_says_how_much_xray_samples() {
        let backoffice = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/backoffice-dev.toml"),
        )
        .unwrap();
        assert_eq!(backoffice.platform.xray_sampling_percent, Some(5));
        let run = async |spec: &PlatformSpec, traces: Result<Vec<String>, ApiError>| {
            let cat = desired_catalogue(spec).unwrap();
            let cw = FakeCloudWatch::default();
            for d in &cat.alarms {
                cw.seed(d.alarm.clone());
            }
            // An alarm on a function or API: the ones with an X-Ray search.
            let fn_alarm = cat
                .alarms
                .iter()
                .find(|d| alarms::state::trace_query(d).is_some() && d.notifies)
                .map(|d| d.alarm.name().to_owned())
                .expect("an alarm with an X-Ray search");
            cw.set_state(
                &fn_alarm,
                alarms::state::StateValue::Alarm,
                now() - Duration::minutes(10),
                "Threshold Crossed",
            );
            let r = state_report(
                &cw,
                &Traces(traces, Default::default()),
                spec,
                &cat,
                now(),
                StateOptions::default(),
            )
            .await
            .unwrap();
            assert!(r.summary.firing.iter().any(|f| f.trace_query.is_some()));
            let slack = serde_json::to_string(&render_slack(&r)).unwrap();
            (render_text(&r), slack)
        };
        let (text, slack) = run(&backoffice, Ok(vec![])).await;
        let line = "No faulting trace in X-Ray for this window: it records 5 % of requests";
        assert!(text.contains(line), "{text}");
        assert!(slack.contains(line), "{slack}");
        // CollectIQ sets no sampling: Lambda's default is what X-Ray records.
        let (text, _) = run(&spec(), Ok(vec![])).await;
        assert!(
            text.contains("it records the first request each second and 5 % of the rest"),
            "{text}"
        );
        let (text, slack) = run(
            &backoffice,
            Ok(vec!["1-6740a000-000000000000000000000001".into()]),
        )
        .await;
        assert!(
            !text.contains("No faulting trace") && !slack.contains("No faulting trace"),
            "{text}"
        );
        let (text, _) = run(
            &backoffice,
            Err(ApiError::local("GetTraceSummaries", "throttled")),
        )
        .await;
        assert!(!text.contains("No faulting trace"), "{text}");
        assert!(text.contains("unavailable"), "{text}");
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
        cw.seed(Alarm::Metric(foreign.clone()));
        cw.set_state("hand-made", alarms::state::StateValue::Alarm, now(), "x");
        // Nor is a second environment's alarm whose name starts with this one's prefix: `prod-eu` is
        // under `collectiq-prod-`, and its critical alarm must not page prod's on-call.
        let eu = "collectiq-prod-eu-fn-authenticity-agent-error-rate-critical";
        foreign.alarm_name = eu.into();
        cw.seed(Alarm::Metric(foreign));
        cw.set_state(eu, alarms::state::StateValue::Alarm, now(), "x");
        let traces = Traces(
            Ok(vec!["1-6740a000-000000000000000000000001".into()]),
            Default::default(),
        );
        let r = state_report(&cw, &traces, &spec, &cat, now(), StateOptions::default())
            .await
            .unwrap();
        assert_eq!(r.alarms_read, cat.alarms.len());
        assert_eq!(r.summary.firing.len(), 1);
        let f = &r.summary.firing[0];
        assert_eq!(f.firing_minutes, 20);
        assert_eq!(f.evidence.len(), 1);
        assert_eq!(
            traces.1.lock().unwrap().as_slice(),
            [r#"service("prod-collectiq-authenticity-agent") { fault = true }"#]
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
        let r = state_report(&cw, &traces, &spec, &cat, now(), StateOptions::default())
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
        let r = state_report(&cw, &traces, &spec, &cat, now(), StateOptions::default())
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

    /// The prod catalogue's every alarm in ALARM for 5 minutes with `reason`, and `notes`.
    fn every_alarm_firing(reason: &str, notes: Vec<String>) -> StateReport {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let statuses: Vec<AlarmStatus> = cat
            .alarms
            .iter()
            .map(|d| AlarmStatus {
                name: d.name().to_owned(),
                state: alarms::state::StateValue::Alarm,
                state_updated: now() - Duration::minutes(5),
                reason: reason.to_owned(),
            })
            .collect();
        let summary = summarize(SummaryInput {
            alarms: &statuses,
            history: &[],
            catalogue: Some(&cat),
            evidence: &BTreeMap::new(),
            now: now(),
        });
        StateReport {
            platform: "collectiq-prod".into(),
            region: "us-east-1".into(),
            alarms_read: statuses.len(),
            summary,
            history_read: true,
            history: HistoryRead::default(),
            notes,
            traces_searched: BTreeSet::new(),
            xray_sampling_percent: None,
        }
    }

    #[test]
    fn slack_payload_stays_within_limits_with_many_firing() {
        let r = every_alarm_firing(&"x".repeat(400), vec![]);
        let msg = render_slack(&r);
        assert!(
            cost::slack::validate(&msg).is_empty(),
            "{:?}",
            cost::slack::validate(&msg)
        );
        assert!(msg.blocks.len() <= 50);
    }

    /// Reasons are whatever `SetAlarmState` was given, and escaping makes `<` four characters: firing
    /// sections of 3,000 characters each (and long notes) must still come to a post Slack takes — with
    /// the "Posted because" line and the delivery ref added — the sections that do not fit counted.
    #[test]
    fn long_escaped_reasons_and_notes_stay_within_slacks_total() {
        let r = every_alarm_firing(&"<".repeat(1_000), vec!["&".repeat(2_000); 10]);
        let firing = r.summary.firing.len();
        let mut msg = render_slack(&r);
        msg.blocks.insert(
            1,
            Block::Context {
                elements: vec![TextObject::mrkdwn("p".repeat(2_000))],
            },
        );
        let msg =
            crate::ledger::delivery::DeliveryRecord::slack("collectiq-prod#alarm-state/post#1", msg, now());
        let crate::ledger::delivery::Payload::Slack(msg) = msg.payload else {
            unreachable!()
        };
        assert!(
            cost::slack::validate(&msg).is_empty(),
            "{:?}",
            cost::slack::validate(&msg)
        );
        let sections = msg
            .blocks
            .iter()
            .filter(
                |b| matches!(b, Block::Section { text: Some(t), .. } if t.text().contains("In ALARM since")),
            )
            .count();
        assert!(sections >= 2, "{sections}");
        let more = format!("… and {} more firing", firing - sections);
        assert!(
            msg.blocks.iter().flat_map(Block::texts).any(|t| t.text() == more),
            "{more}"
        );
    }

    /// A reason of 1,023 `&` (anyone allowed `SetAlarmState` can write one) escapes to over 5,000
    /// characters: cut before escaping, no entity is split and the faulting-trace links after it stay.
    #[test]
    fn a_long_escaped_reason_never_cuts_an_entity_or_the_trace_links() {
        let mut r = every_alarm_firing(&"&".repeat(1_023), vec![]);
        r.summary.firing[0].evidence = vec![alarms::state::TraceEvidence {
            trace_id: "1-5759e988-bd862e3fe1be46a994272793".into(),
            console_url: "https://us-east-1.console.aws.amazon.com/cloudwatch/home#xray:traces/1".into(),
        }];
        let msg = render_slack(&r);
        let text = msg
            .blocks
            .iter()
            .flat_map(Block::texts)
            .map(|t| t.text().to_owned())
            .find(|t| t.contains("In ALARM since"))
            .unwrap();
        assert!(text.chars().count() <= 3_000, "{}", text.chars().count());
        assert!(
            text.contains("Faulting traces: <https://us-east-1.console.aws.amazon.com/"),
            "{text}"
        );
        let quoted = text.lines().find(|l| l.starts_with('>')).unwrap();
        let body = quoted.trim_start_matches('>').trim_end_matches('…');
        assert!(
            !body.is_empty() && body.len() % 5 == 0 && body.split("&amp;").all(str::is_empty),
            "{quoted}"
        );
    }

    /// A state reason is whatever `SetAlarmState` was given: Slack control sequences in it (or in a
    /// note carrying an AWS error message) must reach the channel as text — no `@channel`, no disguised
    /// link — and a newline must not end the quote.
    #[test]
    fn slack_control_sequences_in_reasons_and_notes_are_text() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let name = "collectiq-prod-api-5xx-rate-critical";
        let statuses = vec![AlarmStatus {
            name: name.to_owned(),
            state: alarms::state::StateValue::Alarm,
            state_updated: now() - Duration::minutes(5),
            reason: "<!channel> see <https://evil.example/login|the runbook> & `run this`\n*fake line*"
                .into(),
        }];
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
            alarms_read: 1,
            summary,
            history_read: true,
            history: HistoryRead::default(),
            notes: vec!["GetTraceSummaries failed: <!here> <https://evil.example|retry>".into()],
            traces_searched: BTreeSet::new(),
            xray_sampling_percent: None,
        };
        let msg = render_slack(&r);
        let json = serde_json::to_string(&msg).unwrap();
        for bad in ["<!channel>", "<!here>", "<https://evil", "`run this`"] {
            assert!(!json.contains(bad), "{bad} reached Slack as markup: {json}");
        }
        let v = serde_json::to_value(&msg).unwrap();
        let section = v["blocks"][2]["text"]["text"].as_str().unwrap();
        assert!(
            section.ends_with(
                "\n>&lt;!channel&gt; see &lt;https://evil.example/login|the runbook&gt; &amp; 'run this' *fake line*"
            ),
            "{section}"
        );
        assert!(
            section.contains(&format!("`{name}`")),
            "our own names stay code: {section}"
        );
        assert!(json.contains("&lt;!here&gt;"), "{json}");
        // The terminal gets the same reason with an escape sequence (clipboard write, line erase):
        // printed as characters, never acting on the operator's terminal.
        let mut r = r;
        r.summary.firing[0].reason = "fine\x1b]52;c;aGk=\x07\x1b[2K\r0 firing".into();
        let text = render_text(&r);
        assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
        assert!(text.contains("fine�]52;c;aGk=��[2K�0 firing"), "{text}");
    }

    // ---- delivery of the escalation and the post (issue 13 items 2 and 6), on the fakes ----

    use crate::cost_pass::fake::{FakeChannels, Outcome};
    use crate::ledger::delivery::{DeliveryState, slack_marker};
    use crate::ledger::{LedgerOp, MemoryLedger};
    use alarms::state::StateValue;

    const COMPOSITE: &str = "collectiq-prod-fn-authenticity-agent-errors-critical";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:collectiq-prod-critical";

    /// A world with the prod catalogue published and the authenticity composite in ALARM since `since`.
    fn firing_world(since: DateTime<Utc>) -> (FakeCloudWatch, Catalogue) {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        for d in &cat.alarms {
            cw.seed(d.alarm.clone());
        }
        cw.set_state(COMPOSITE, StateValue::Alarm, since, "Composite rule matched");
        (cw, cat)
    }

    async fn report_at(cw: &FakeCloudWatch, cat: &Catalogue, at: DateTime<Utc>) -> StateReport {
        let traces = Traces(Ok(vec![]), Default::default());
        state_report(cw, &traces, &spec(), cat, at, StateOptions::default())
            .await
            .unwrap()
    }

    fn episode_sk(since: DateTime<Utc>) -> String {
        episode_key("collectiq-prod", COMPOSITE, since).1
    }

    fn record(ledger: &MemoryLedger, sk: &str) -> DeliveryRecord {
        DeliveryRecord::parse(&ledger.detail("collectiq-prod#alarm-escalation", sk).unwrap()).unwrap()
    }

    /// Issue 13 item 6: "when Publish and the claim's release both fail the escalation is never sent".
    /// Nothing is released any more: the failed page stays pending — even when noting the failure in the
    /// ledger fails too — and the next run publishes it.
    #[tokio::test(start_paused = true)]
    async fn a_failed_page_is_published_by_the_next_run_even_when_the_ledger_also_fails() {
        let since = now() - Duration::minutes(20);
        let (cw, cat) = firing_world(since);
        let ledger = MemoryLedger::new();
        let sns = FakeChannels::new();
        sns.script_sns([Outcome::Fail("InternalError".into())]);
        ledger.fail(LedgerOp::Update, 1);
        let r = report_at(&cw, &cat, now()).await;
        let first = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert!(first.escalated.is_empty());
        assert_eq!(first.failures.len(), 1, "{first:?}");
        assert!(first.failures[0].1.contains("InternalError"), "{first:?}");
        assert_eq!(record(&ledger, &episode_sk(since)).state, DeliveryState::Pending);

        // Five minutes later: the failed run could not note its attempt (nor end its send lease), and
        // the lease has run out by the next run.
        ledger.end_leases();
        let r = report_at(&cw, &cat, now() + Duration::minutes(5)).await;
        let second = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert_eq!(second.escalated, [COMPOSITE], "{second:?}");
        let published = sns.published();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].topic, TOPIC);
        assert_eq!(published[0].attributes["kind"], "alarm_escalation");
        let body: serde_json::Value = serde_json::from_str(&published[0].message).unwrap();
        assert_eq!(body["alarm"], COMPOSITE);
        assert_eq!(
            body["firing_minutes"], 20,
            "the page recorded in the first run, as it was"
        );

        let third = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert_eq!(third.already_escalated, [COMPOSITE]);
        assert_eq!(sns.published().len(), 1);
    }

    /// A page recorded for a topic that refuses it (a wrong ARN in the environment, since fixed) is
    /// published to the topic configured now by the next run, instead of failing on the old one forever.
    #[tokio::test(start_paused = true)]
    async fn a_page_recorded_for_a_wrong_topic_goes_to_the_topic_configured_now() {
        let since = now() - Duration::minutes(20);
        let (cw, cat) = firing_world(since);
        let ledger = MemoryLedger::new();
        let sns = FakeChannels::new();
        sns.script_sns([Outcome::Fail("NotFound: Topic does not exist".into())]);
        let wrong = "arn:aws:sns:us-east-1:123456789012:collectiq-prod-critcal";
        let r = report_at(&cw, &cat, now()).await;
        let first = escalate(&r, Duration::minutes(15), &ledger, &sns, wrong).await;
        assert_eq!(first.failures.len(), 1, "{first:?}");
        ledger.end_leases();
        let r = report_at(&cw, &cat, now() + Duration::minutes(5)).await;
        let second = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert_eq!(second.escalated, [COMPOSITE], "{second:?}");
        let published = sns.published();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].topic, TOPIC);
    }

    /// An alarm that recovers and fires again within the same second starts a new episode, paged
    /// again (episode keys were to the second: the second page was taken for the first).
    #[tokio::test(start_paused = true)]
    async fn an_alarm_firing_again_within_the_second_is_paged_again() {
        let first_since = now() - Duration::minutes(20) + Duration::milliseconds(86);
        let (cw, cat) = firing_world(first_since);
        let ledger = MemoryLedger::new();
        let sns = FakeChannels::new();
        let r = report_at(&cw, &cat, now()).await;
        let first = escalate(&r, Duration::zero(), &ledger, &sns, TOPIC).await;
        assert_eq!(first.escalated, [COMPOSITE], "{first:?}");
        let again_since = first_since + Duration::milliseconds(854);
        cw.set_state(
            COMPOSITE,
            StateValue::Alarm,
            again_since,
            "Composite rule matched again",
        );
        let r = report_at(&cw, &cat, now()).await;
        let second = escalate(&r, Duration::zero(), &ledger, &sns, TOPIC).await;
        assert_eq!(second.escalated, [COMPOSITE], "{second:?}");
        assert_eq!(sns.published().len(), 2);
    }

    /// A record an earlier version wrote for an episode still open (its key to the second) is that
    /// episode's: already escalated, not paged again after an upgrade.
    #[tokio::test(start_paused = true)]
    async fn an_open_episode_recorded_under_the_old_key_is_not_paged_again() {
        let since = now() - Duration::minutes(20) + Duration::milliseconds(250);
        let (cw, cat) = firing_world(since);
        let r = report_at(&cw, &cat, now()).await;
        let pk = "collectiq-prod#alarm-escalation";
        let detail = {
            let earlier = MemoryLedger::new();
            escalate(&r, Duration::zero(), &earlier, &FakeChannels::new(), TOPIC).await;
            earlier.detail(pk, &episode_sk(since)).unwrap()
        };
        let ledger = MemoryLedger::new();
        let legacy = format!("{COMPOSITE}#{}", since.format("%Y-%m-%dT%H:%M:%SZ"));
        let item = NewItem {
            pk,
            sk: &legacy,
            detail: &detail,
            keep: None,
        };
        assert!(ledger.record_all(&[item]).await.unwrap());
        let sns = FakeChannels::new();
        let esc = escalate(&r, Duration::zero(), &ledger, &sns, TOPIC).await;
        assert_eq!(esc.already_escalated, [COMPOSITE], "{esc:?}");
        assert!(esc.escalated.is_empty() && sns.published().is_empty(), "{esc:?}");
        assert_eq!(
            ledger.expires_in(pk, &legacy),
            None,
            "an open episode's record keeps no TTL"
        );
    }

    /// Two runs escalate the same episode at once; the other run records it between this run's read
    /// of the ledger and its own record. While the other run's record is pending (it has not published
    /// yet, or failed to), this run reports the page in flight — not "already escalated", which the
    /// announcement would tell on-call was paged — and publishes nothing; once the other run's record
    /// says sent, it is already escalated; when the record cannot be read back, a failure.
    #[tokio::test(start_paused = true)]
    async fn a_page_another_run_recorded_meanwhile_is_in_flight_until_marked_sent() {
        let since = now() - Duration::minutes(20);
        let (cw, cat) = firing_world(since);
        let r = report_at(&cw, &cat, now()).await;
        let pk = "collectiq-prod#alarm-escalation".to_owned();
        // The other run's record, pending (its Publish failed) and sent.
        for (publish, pending) in [
            (Outcome::Fail("InternalError".into()), true),
            (Outcome::Accept, false),
        ] {
            let detail = {
                let ledger = MemoryLedger::new();
                let sns = FakeChannels::new();
                sns.script_sns([publish]);
                escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
                ledger.detail(&pk, &episode_sk(since)).unwrap()
            };
            let ledger = MemoryLedger::new();
            ledger.race_next_record(&pk, &episode_sk(since), &detail);
            let sns = FakeChannels::new();
            let esc = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
            assert!(esc.escalated.is_empty() && esc.failures.is_empty(), "{esc:?}");
            assert!(sns.published().is_empty(), "the other run publishes it");
            if pending {
                assert_eq!(esc.in_flight, [COMPOSITE], "{esc:?}");
                assert!(esc.already_escalated.is_empty(), "{esc:?}");
                assert!(esc.paged().earlier.is_empty());
            } else {
                assert_eq!(esc.already_escalated, [COMPOSITE], "{esc:?}");
                assert!(esc.in_flight.is_empty(), "{esc:?}");
            }
        }
        // The read-back fails: nothing is claimed either way — a failure of this run.
        let ledger = MemoryLedger::new();
        ledger.race_next_record(&pk, &episode_sk(since), "{}");
        // The first query (this run's read) succeeds, the read-back fails.
        ledger.fail_after(LedgerOp::Query, 1, 1);
        let sns = FakeChannels::new();
        let esc = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert!(
            esc.already_escalated.is_empty() && esc.in_flight.is_empty(),
            "{esc:?}"
        );
        assert_eq!(esc.failures.len(), 1, "{esc:?}");
        assert!(
            esc.failures[0].1.contains("reading its record back failed"),
            "{esc:?}"
        );
    }

    /// A page left pending for an episode that ended is sent late beside the new episode's page; the
    /// report says which was late, so the announcement does not take it for the new episode's.
    #[tokio::test(start_paused = true)]
    async fn a_late_page_of_an_ended_episode_is_told_apart() {
        let first_since = now() - Duration::minutes(40);
        let (cw, cat) = firing_world(first_since);
        let (ledger, sns) = (MemoryLedger::new(), FakeChannels::new());
        sns.script_sns([Outcome::Fail("InternalError".into())]);
        let r = report_at(&cw, &cat, now() - Duration::minutes(20)).await;
        let failed = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert_eq!(failed.failures.len(), 1, "{failed:?}");
        // The alarm recovered and fired again: a new episode, due for its own page.
        let second_since = now() - Duration::minutes(16);
        cw.set_state(
            COMPOSITE,
            StateValue::Alarm,
            second_since,
            "Composite rule matched",
        );
        let r = report_at(&cw, &cat, now()).await;
        let both = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert_eq!(both.escalated, [COMPOSITE, COMPOSITE], "{both:?}");
        assert_eq!(both.escalated_late, [COMPOSITE]);
        assert_eq!(sns.published().len(), 2);
        let paged = both.paged();
        assert_eq!((paged.now.len(), paged.late.len()), (2, 1));
    }

    /// "When SNS accepted a message but its answer was lost, the re-run published it again": still true
    /// on a standard topic (it cannot deduplicate), but once, with the same `idempotency_key`.
    #[tokio::test(start_paused = true)]
    async fn a_lost_sns_answer_republishes_once_with_the_same_key() {
        let since = now() - Duration::minutes(20);
        let (cw, cat) = firing_world(since);
        let (ledger, sns) = (MemoryLedger::new(), FakeChannels::new());
        sns.script_sns([Outcome::AcceptLost]);
        let r = report_at(&cw, &cat, now()).await;
        for _ in 0..3 {
            escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        }
        let keys: Vec<String> = sns
            .published()
            .iter()
            .map(|m| m.idempotency_key().unwrap().to_owned())
            .collect();
        let id = format!("collectiq-prod#alarm-escalation/{}", episode_sk(since));
        assert_eq!(keys, [id.clone(), id]);
    }

    /// Issue 13 item 2: "an escalation claim's TTL shorter than a long episode pages again". The record
    /// of an open episode has no TTL; 40 days later the same episode is still escalated once. When the
    /// episode is over, the record gets its 30 days.
    #[tokio::test(start_paused = true)]
    async fn a_long_episode_pages_once_and_its_record_expires_only_after_it_ends() {
        let since = now() - Duration::minutes(20);
        let (cw, cat) = firing_world(since);
        let (ledger, sns) = (MemoryLedger::new(), FakeChannels::new());
        let r = report_at(&cw, &cat, now()).await;
        escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        let sk = episode_sk(since);
        assert_eq!(ledger.expires_in("collectiq-prod#alarm-escalation", &sk), None);
        tokio::time::advance(StdDuration::from_secs(40 * 86_400)).await;
        let later = report_at(&cw, &cat, now() + Duration::days(40)).await;
        let again = escalate(&later, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert_eq!(again.already_escalated, [COMPOSITE]);
        assert_eq!(sns.published().len(), 1, "one page per episode, however long");

        cw.set_state(COMPOSITE, StateValue::Ok, now() + Duration::days(40), "recovered");
        let over = report_at(&cw, &cat, now() + Duration::days(40)).await;
        escalate(&over, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        let left = ledger.expires_in("collectiq-prod#alarm-escalation", &sk).unwrap();
        assert_eq!(left, EPISODE_KEEP_AFTER_CLOSE);
        assert!(record(&ledger, &sk).then.is_some());
    }

    /// Crash window 2 for the page: recorded, then the process dies while publishing.
    #[tokio::test(start_paused = true)]
    async fn a_page_recorded_before_a_crash_is_published_by_the_next_run() {
        let since = now() - Duration::minutes(20);
        let (cw, cat) = firing_world(since);
        let (ledger, sns) = (MemoryLedger::new(), FakeChannels::new());
        sns.script_sns([Outcome::Hang]);
        let r = report_at(&cw, &cat, now()).await;
        let crashed = tokio::time::timeout(
            StdDuration::from_secs(60),
            escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC),
        )
        .await;
        assert!(crashed.is_err());
        assert!(sns.published().is_empty());
        // A run while the dead one's lease still runs leaves the page to it: in flight, not failed.
        let meanwhile = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert_eq!(meanwhile.in_flight, [COMPOSITE], "{meanwhile:?}");
        assert!(
            meanwhile.failures.is_empty() && sns.published().is_empty(),
            "{meanwhile:?}"
        );
        // The next scheduled run, after the dead run's lease ran out, publishes it.
        ledger.end_leases();
        let next = escalate(&r, Duration::minutes(15), &ledger, &sns, TOPIC).await;
        assert_eq!(next.escalated, [COMPOSITE]);
        assert_eq!(sns.published().len(), 1);
    }

    fn announce_options() -> alarms::announce::AnnounceOptions {
        alarms::announce::AnnounceOptions::default()
    }

    /// A scheduled run's post with no page of its own.
    async fn post(r: &StateReport, ledger: &MemoryLedger, slack: &FakeChannels) -> AnnounceReport {
        announce(
            r,
            alarms::announce::Paged::default(),
            ledger,
            slack,
            "secret",
            announce_options(),
        )
        .await
    }

    /// Chaos finding (docs/reliability.md, alarm state world 6): the post went out, then the write of the
    /// announced state failed; the next run must not announce the same alarms as new again — the sent
    /// post's record holds the state it led to, and the next run takes (and repairs) it.
    #[tokio::test(start_paused = true)]
    async fn a_sent_post_whose_announced_state_was_lost_is_not_announced_again() {
        let (cw, cat) = firing_world(now() - Duration::minutes(20));
        let (ledger, slack) = (MemoryLedger::new(), FakeChannels::new());
        let r = report_at(&cw, &cat, now()).await;
        ledger.fail(LedgerOp::Snapshot, 1);
        // This run also escalated the alarm, so its post's reasons (and key) differ from what a run
        // reading no announced state decides next: the key alone does not stop a second post.
        let escalated = [COMPOSITE.to_owned()];
        let first = announce(
            &r,
            alarms::announce::Paged::now(&escalated),
            &ledger,
            &slack,
            "secret",
            announce_options(),
        )
        .await;
        assert!(first.posted, "{first:?}");
        assert!(
            first
                .failure
                .as_deref()
                .unwrap()
                .contains("announced state was not saved"),
            "{first:?}"
        );
        let r2 = report_at(&cw, &cat, now() + Duration::minutes(5)).await;
        let second = post(&r2, &ledger, &slack).await;
        assert!(!second.posted && second.failure.is_none(), "{second:?}");
        assert_eq!(slack.posted().len(), 1, "the same alarms announced once");
    }

    /// Chaos finding (docs/reliability.md, alarm state world 9): a run paged, then its post could not
    /// even be recorded; the clean re-run finds the episode already escalated. On-call was paged once —
    /// and Slack must still say so once: the re-run's post announces the escalation, the one after is
    /// quiet.
    #[tokio::test(start_paused = true)]
    async fn a_page_whose_post_was_never_recorded_is_announced_by_the_next_run() {
        let (cw, cat) = firing_world(now() - Duration::minutes(20));
        let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
        let r = report_at(&cw, &cat, now()).await;
        // The first run announced the firing alarm before it was due for escalation.
        let early = report_at(&cw, &cat, now() - Duration::minutes(10)).await;
        let announced = announce(
            &early,
            alarms::announce::Paged::default(),
            &ledger,
            &channels,
            "secret",
            announce_options(),
        )
        .await;
        assert!(announced.posted, "{announced:?}");
        // The faulty run: the page goes out, the post's record does not.
        let esc = escalate(&r, Duration::minutes(15), &ledger, &channels, TOPIC).await;
        assert_eq!(esc.escalated, [COMPOSITE]);
        ledger.fail(LedgerOp::Record, 1);
        let failed = announce(&r, esc.paged(), &ledger, &channels, "secret", announce_options()).await;
        assert!(!failed.posted && failed.failure.is_some(), "{failed:?}");

        let r2 = report_at(&cw, &cat, now() + Duration::minutes(5)).await;
        let esc2 = escalate(&r2, Duration::minutes(15), &ledger, &channels, TOPIC).await;
        assert_eq!(esc2.already_escalated, [COMPOSITE]);
        let rerun = announce(
            &r2,
            esc2.paged(),
            &ledger,
            &channels,
            "secret",
            announce_options(),
        )
        .await;
        assert!(rerun.posted && rerun.failure.is_none(), "{rerun:?}");
        assert_eq!(
            rerun.reasons,
            [alarms::announce::PostReason::Escalated {
                alarm: COMPOSITE.to_owned()
            }]
        );
        let r3 = report_at(&cw, &cat, now() + Duration::minutes(10)).await;
        let esc3 = escalate(&r3, Duration::minutes(15), &ledger, &channels, TOPIC).await;
        let quiet = announce(
            &r3,
            esc3.paged(),
            &ledger,
            &channels,
            "secret",
            announce_options(),
        )
        .await;
        assert!(!quiet.posted, "{quiet:?}");
        assert_eq!(
            channels.posted().len(),
            2,
            "the first announcement and the escalation's"
        );
        assert_eq!(channels.published().len(), 1, "paged once");
    }

    /// A pending post the channel refuses for good (over Slack's limits: never sent) is settled as
    /// refused, with its error and an expiry, and holds back nothing: the same run still decides and sends
    /// its own post. Before, it stayed pending without an expiry and every later run stopped at it.
    #[tokio::test(start_paused = true)]
    async fn a_refused_pending_post_does_not_hold_back_later_posts() {
        use crate::ledger::delivery::{DeliveryRecord, DeliveryState};
        let (cw, cat) = firing_world(now() - Duration::minutes(20));
        let (ledger, slack) = (MemoryLedger::new(), FakeChannels::new());
        let (pk, _) = announced_key("collectiq-prod");
        let huge = SlackMessage {
            text: "too long".into(),
            blocks: (0..6)
                .map(|_| Block::Section {
                    text: Some(TextObject::mrkdwn("x".repeat(3_000))),
                    fields: Vec::new(),
                })
                .collect(),
        };
        // Stored under the very key this run's decision has (nothing changed since it was decided).
        let r = report_at(&cw, &cat, now()).await;
        let decision = alarms::announce::decide(
            &r.summary,
            &alarms::announce::Announced::default(),
            alarms::announce::Paged::default(),
            now(),
            announce_options(),
        );
        let key = post_sk(&alarms::announce::Announced::default(), &decision);
        let stuck = DeliveryRecord::slack(&format!("{pk}/{key}"), huge, now() - Duration::hours(1))
            .with_then(serde_json::to_value(&decision.next).unwrap());
        let detail = stuck.to_detail().unwrap();
        ledger
            .record_all(&[NewItem {
                pk: &pk,
                sk: &key,
                detail: &detail,
                keep: None,
            }])
            .await
            .unwrap();
        let out = post(&r, &ledger, &slack).await;
        assert!(out.posted, "{out:?}");
        assert!(
            out.failure.as_deref().unwrap_or_default().contains("limits"),
            "{out:?}"
        );
        assert_eq!(
            slack.posted().len(),
            1,
            "this run's own post; the refused one never sent"
        );
        let refused = DeliveryRecord::parse(&ledger.detail(&pk, &key).unwrap()).unwrap();
        let sent = DeliveryRecord::parse(&ledger.detail(&pk, &format!("{key}~")).unwrap()).unwrap();
        assert_eq!(
            sent.state,
            DeliveryState::Sent,
            "this run's post, under the next key"
        );
        assert_eq!(refused.state, DeliveryState::Refused);
        assert!(refused.last_error.as_deref().unwrap().contains("limits"));
        // The next run does not try it again.
        let r2 = report_at(&cw, &cat, now() + Duration::minutes(5)).await;
        let again = post(&r2, &ledger, &slack).await;
        assert!(again.failure.is_none(), "{again:?}");
        assert_eq!(slack.posted().len(), 1);
    }

    /// Issue 13 item 6: "13 of 30 faulty runs lost their Slack post and no later run sent it". A failed
    /// post stays pending and the next run sends that very post (once), without recording another.
    #[tokio::test(start_paused = true)]
    async fn a_failed_post_is_sent_by_the_next_run_and_failed_posts_do_not_pile_up() {
        let (cw, cat) = firing_world(now() - Duration::minutes(20));
        let (ledger, slack) = (MemoryLedger::new(), FakeChannels::new());
        slack.script_slack([Outcome::Fail("HTTP 503".into()), Outcome::Fail("HTTP 503".into())]);
        let r = report_at(&cw, &cat, now()).await;
        let first = post(&r, &ledger, &slack).await;
        assert!(!first.posted);
        assert!(
            first.failure.as_deref().unwrap().contains("HTTP 503"),
            "{first:?}"
        );
        let r2 = report_at(&cw, &cat, now() + Duration::minutes(5)).await;
        let second = post(&r2, &ledger, &slack).await;
        assert!(!second.posted && second.failure.is_some());
        let posts = ledger.claimed("collectiq-prod#alarm-state");
        assert_eq!(
            posts.iter().filter(|s| s.starts_with("post#")).count(),
            1,
            "{posts:?}"
        );
        let r3 = report_at(&cw, &cat, now() + Duration::minutes(10)).await;
        let third = post(&r3, &ledger, &slack).await;
        assert!(third.posted, "{third:?}");
        assert_eq!(third.resent.len(), 1);
        assert_eq!(
            slack.posted().len(),
            1,
            "the pending post, and no second one for the same change"
        );
        let marker = slack_marker(&slack.posted()[0]).unwrap().to_owned();
        assert!(marker.starts_with("collectiq-prod#alarm-state/post#"), "{marker}");
        let quiet = post(&r3, &ledger, &slack).await;
        assert!(!quiet.posted && quiet.failure.is_none(), "{quiet:?}");
    }

    /// Crash window 2 for the post: recorded, then the process dies while posting; the next run posts it
    /// and advances the announced state, so the run after that is quiet.
    #[tokio::test(start_paused = true)]
    async fn a_post_recorded_before_a_crash_is_posted_by_the_next_run() {
        let (cw, cat) = firing_world(now() - Duration::minutes(20));
        let (ledger, slack) = (MemoryLedger::new(), FakeChannels::new());
        slack.script_slack([Outcome::Hang]);
        let r = report_at(&cw, &cat, now()).await;
        let crashed = tokio::time::timeout(StdDuration::from_secs(60), post(&r, &ledger, &slack)).await;
        assert!(crashed.is_err());
        // While the dead run's lease runs, another run posts nothing and reports no failure.
        let meanwhile = post(&r, &ledger, &slack).await;
        assert!(!meanwhile.posted && meanwhile.failure.is_none(), "{meanwhile:?}");
        assert!(slack.posted().is_empty());
        ledger.end_leases();
        let next = post(&r, &ledger, &slack).await;
        assert!(next.posted && next.failure.is_none(), "{next:?}");
        assert_eq!(slack.posted().len(), 1);
        let quiet = post(&r, &ledger, &slack).await;
        assert!(!quiet.posted, "{quiet:?}");
        assert_eq!(slack.posted().len(), 1);
    }

    /// Issue 13 ("nothing sent twice"): two runs overlap — a Lambda retry beside the next scheduled run —
    /// and the second read the announced state before the first saved its post. Both decide the same
    /// post; it is recorded under one key, so the second records nothing, sends nothing, and takes the
    /// announced state from the first's sent record. (With a key from the run's clock both posted.)
    #[tokio::test(start_paused = true)]
    async fn two_overlapping_runs_with_the_same_view_post_once() {
        let (cw, cat) = firing_world(now() - Duration::minutes(20));
        let (ledger, slack) = (MemoryLedger::new(), FakeChannels::new());
        let (pk, sk) = announced_key("collectiq-prod");
        let before = serde_json::to_value(alarms::announce::Announced::default()).unwrap();
        let first = post(&report_at(&cw, &cat, now()).await, &ledger, &slack).await;
        assert!(first.posted && first.failure.is_none(), "{first:?}");
        let announced = || async {
            crate::ledger::snapshots::<_, alarms::announce::Announced>(&ledger, &pk, &sk, &sk)
                .await
                .unwrap()
        };
        let after_first = announced().await;
        assert_eq!(after_first.len(), 1);
        // The overlapping run's view: the announced state as it was before the first run saved its post.
        crate::ledger::put_snapshot(&ledger, &pk, &sk, &before, StdDuration::from_secs(3600))
            .await
            .unwrap();
        let second = post(
            &report_at(&cw, &cat, now() + Duration::seconds(40)).await,
            &ledger,
            &slack,
        )
        .await;
        assert!(!second.posted && second.failure.is_none(), "{second:?}");
        assert_eq!(slack.posted().len(), 1, "one post for one change");
        let posts = ledger.claimed("collectiq-prod#alarm-state");
        assert_eq!(
            posts.iter().filter(|s| s.starts_with("post#")).count(),
            1,
            "{posts:?}"
        );
        assert_eq!(
            announced().await,
            after_first,
            "the announced state follows the post the first run sent"
        );
        // A later change is a new post, under a new key.
        let quiet = post(
            &report_at(&cw, &cat, now() + Duration::minutes(5)).await,
            &ledger,
            &slack,
        )
        .await;
        assert!(!quiet.posted, "{quiet:?}");
        let recovered = post(
            &report_at(&FakeCloudWatch::default(), &cat, now() + Duration::minutes(10)).await,
            &ledger,
            &slack,
        )
        .await;
        assert!(recovered.posted, "{recovered:?}");
        assert_eq!(slack.posted().len(), 2);
    }

    /// A CloudWatch whose history answers per alarm and records what was asked.
    struct HistoryCloudWatch {
        inner: FakeCloudWatch,
        history: Vec<StateTransition>,
        asked: std::sync::Mutex<Vec<(String, DateTime<Utc>)>>,
    }

    impl CloudWatchApi for HistoryCloudWatch {
        async fn describe_alarms(
            &self,
            t: Option<String>,
        ) -> Result<super::super::cloudwatch::AlarmPage, ApiError> {
            self.inner.describe_alarms(t).await
        }
        async fn put_metric_alarm(&self, a: &alarms::model::PutMetricAlarmInput) -> Result<(), ApiError> {
            self.inner.put_metric_alarm(a).await
        }
        async fn put_composite_alarm(
            &self,
            a: &alarms::model::PutCompositeAlarmInput,
        ) -> Result<(), ApiError> {
            self.inner.put_composite_alarm(a).await
        }
        async fn delete_alarms(&self, n: &[String]) -> Result<(), ApiError> {
            self.inner.delete_alarms(n).await
        }
        async fn describe_alarm_history(
            &self,
            _start: DateTime<Utc>,
            _end: DateTime<Utc>,
            _t: Option<String>,
        ) -> Result<super::super::cloudwatch::HistoryPage, ApiError> {
            panic!("the account-wide history is never read");
        }
        async fn describe_alarm_history_of(
            &self,
            alarm: &str,
            start: DateTime<Utc>,
            end: DateTime<Utc>,
            _t: Option<String>,
        ) -> Result<super::super::cloudwatch::HistoryPage, ApiError> {
            self.asked.lock().unwrap().push((alarm.to_owned(), start));
            Ok(super::super::cloudwatch::HistoryPage {
                transitions: self
                    .history
                    .iter()
                    .filter(|t| t.alarm_name == alarm && t.timestamp >= start && t.timestamp <= end)
                    .cloned()
                    .collect(),
                next_token: None,
            })
        }
        async fn list_dashboards(
            &self,
            t: Option<String>,
        ) -> Result<super::super::cloudwatch::DashboardPage, ApiError> {
            self.inner.list_dashboards(t).await
        }
        async fn get_dashboard(&self, n: &str) -> Result<String, ApiError> {
            self.inner.get_dashboard(n).await
        }
        async fn put_dashboard(&self, n: &str, b: &str) -> Result<Vec<String>, ApiError> {
            self.inner.put_dashboard(n, b).await
        }
        async fn delete_dashboards(&self, n: &[String]) -> Result<(), ApiError> {
            self.inner.delete_dashboards(n).await
        }
        async fn get_metric_data(
            &self,
            q: &[alarms::model::MetricDataQuery],
            s: DateTime<Utc>,
            e: DateTime<Utc>,
            t: Option<String>,
        ) -> Result<super::super::cloudwatch::MetricDataPage, ApiError> {
            self.inner.get_metric_data(q, s, e, t).await
        }
    }

    /// An attacker's-view audit: a stored history window whose `read_until` is chrono's minimum (a corrupt
    /// or tampered ledger item) panicked the alarms Lambda ("DateTime - TimeDelta overflowed") on every
    /// run; one in the future asked for history from after now. Both read the last 24 h instead.
    #[tokio::test]
    async fn a_stored_history_time_out_of_range_reads_the_last_day_not_a_panic() {
        let spec = spec();
        let (inner, cat) = firing_world(now() - Duration::minutes(20));
        let cw = HistoryCloudWatch {
            inner,
            history: vec![],
            asked: Default::default(),
        };
        let traces = Traces(Ok(vec![]), Default::default());
        for read_until in [DateTime::<Utc>::MIN_UTC, now() + Duration::days(400)] {
            let ledger = MemoryLedger::new();
            let (pk, sk) = history_key(&spec.managed_prefix());
            let window = HistoryWindow {
                read_until: Some(read_until),
                transitions: vec![],
            };
            crate::ledger::put_snapshot(&ledger, &pk, &sk, &window, StdDuration::from_secs(60))
                .await
                .unwrap();
            let report =
                state_report_incremental(&cw, &traces, &spec, &cat, now(), StateOptions::default(), &ledger)
                    .await
                    .unwrap();
            assert_eq!(
                report.history.from,
                Some(now() - Duration::hours(HISTORY_WINDOW_HOURS)),
                "{read_until}"
            );
        }
    }

    /// Issue 13 item 4: "DescribeAlarmHistory is read account-wide for 24 hours every 5 minutes". Now only
    /// managed alarms whose state changed are asked for, and with the ledger only since the last read.
    #[tokio::test]
    async fn history_is_read_for_changed_managed_alarms_only_and_incrementally() {
        let spec = spec();
        let (inner, cat) = firing_world(now() - Duration::minutes(20));
        let name = "collectiq-prod-fn-cards-get-error-rate-critical";
        let flap = |m: i64, new: StateValue| StateTransition {
            alarm_name: name.to_owned(),
            timestamp: now() - Duration::minutes(m),
            old_state: if new == StateValue::Alarm {
                StateValue::Ok
            } else {
                StateValue::Alarm
            },
            new_state: new,
        };
        inner.set_state(name, StateValue::Ok, now() - Duration::minutes(30), "ok again");
        let cw = HistoryCloudWatch {
            inner,
            // Three times into ALARM in the hour: flapping (alarms::state::FLAPPING_THRESHOLD).
            history: vec![
                flap(55, StateValue::Alarm),
                flap(50, StateValue::Ok),
                flap(45, StateValue::Alarm),
                flap(40, StateValue::Ok),
                flap(35, StateValue::Alarm),
                flap(30, StateValue::Ok),
            ],
            asked: Default::default(),
        };
        let traces = Traces(Ok(vec![]), Default::default());
        let ledger = MemoryLedger::new();
        let first =
            state_report_incremental(&cw, &traces, &spec, &cat, now(), StateOptions::default(), &ledger)
                .await
                .unwrap();
        assert!(first.history_read);
        let asked: Vec<String> = cw.asked.lock().unwrap().iter().map(|(a, _)| a.clone()).collect();
        assert_eq!(
            asked,
            [COMPOSITE, name],
            "only the two managed alarms that changed in 24 h"
        );
        assert_eq!(first.history.alarms_asked, 2);
        assert_eq!(
            first
                .summary
                .flapping
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c),
            Some(3),
            "{:?}",
            first.summary.flapping
        );

        // Five minutes later nothing changed: no history call at all, the flaps come from the ledger.
        cw.asked.lock().unwrap().clear();
        let later = now() + Duration::minutes(5);
        let second =
            state_report_incremental(&cw, &traces, &spec, &cat, later, StateOptions::default(), &ledger)
                .await
                .unwrap();
        assert!(
            cw.asked.lock().unwrap().is_empty(),
            "{:?}",
            cw.asked.lock().unwrap()
        );
        assert_eq!(
            second
                .summary
                .flapping
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c),
            Some(3)
        );

        // The alarm fires again: only it is asked for, from the last read less the overlap.
        cw.inner
            .set_state(name, StateValue::Alarm, later + Duration::minutes(1), "again");
        let third_at = later + Duration::minutes(5);
        state_report_incremental(
            &cw,
            &traces,
            &spec,
            &cat,
            third_at,
            StateOptions::default(),
            &ledger,
        )
        .await
        .unwrap();
        let asked = cw.asked.lock().unwrap().clone();
        assert_eq!(
            asked,
            [(
                name.to_owned(),
                later - Duration::minutes(HISTORY_OVERLAP_MINUTES)
            )]
        );
    }

    #[test]
    fn episode_key_is_alarm_and_start() {
        let (pk, sk) = episode_key("collectiq-prod", "a-critical", now());
        assert_eq!(pk, "collectiq-prod#alarm-escalation");
        assert_eq!(sk, "a-critical#2026-11-22T12:00:00.000Z");
        assert_eq!(trace_epoch("1-6740a000-abc"), 0x6740_a000);
    }
}
