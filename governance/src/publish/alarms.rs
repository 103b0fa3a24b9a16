//! Publishing the alarm catalogue: read what is published (`DescribeAlarms`, every page), plan with the
//! pure [`alarms::plan::plan_alarms`], and apply only the changes — metric alarms before the composites
//! that reference them, the environment's own orphans deleted (composites first), writes paced at ≤ 3
//! per second. One failed item does not stop the others; the report names every failure. An orphan a
//! composite alarm that stays still references is left and named ([`super::orphans`]): `DeleteAlarms`
//! would refuse it and the rest of its call with it. The plan shows such an orphan as held, not as a
//! delete ([`AlarmPlanning::held`]), by the same rule.
//!
//! Ownership is exact ([`alarms::plan::owned_by`]): a name under `{prefix}-` is not enough, since
//! `collectiq-prod-eu-…` is under `collectiq-prod-` too. For each published alarm under the prefix that
//! the catalogue does not want, `ListTagsForResource` is read (paced) and only alarms tagged
//! `ManagedBy = collectiq-ops`, `Platform = {prefix}` are deleted. A tag read that fails leaves that
//! alarm alone this run: an orphan is not deleted (a warning of the plan), an update is not written and
//! is a failure of the apply ([`TAGS_NOT_READ`]) — a change that is needed must not pass as done.

use alarms::Alarm;
use alarms::catalogue::{Catalogue, CatalogueError, CatalogueOptions, catalogue_for};
use alarms::cost::AlarmPricing;
use alarms::plan::{AlarmAction, AlarmPlan, ownership_candidates, plan_alarms};
use chrono::{DateTime, Utc};
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;
use serde::Serialize;

use super::cloudwatch::{ApiError, CloudWatchApi, PublishedAlarm, describe_all_alarms};
use super::orphans::{CompositeRefs, HeldOrphan};
use super::pacer::Pacer;
use super::progress::ApplyProgress;

/// CloudWatch's `PutMetricAlarm` / `PutCompositeAlarm` / `DeleteAlarms` quota, per second.
pub const ALARM_WRITES_PER_SECOND: f64 = 3.0;
/// `ListTagsForResource` calls per second while deciding ownership.
pub const TAG_READS_PER_SECOND: f64 = 5.0;
/// Most names per `DeleteAlarms` call.
pub const DELETE_BATCH: usize = 100;
/// Unchanged alarms whose tags one plan reads ([`TagAudit`]).
pub const TAG_AUDIT_PER_RUN: usize = 6;
/// How the reason of an update the plan holds back starts when the published alarm's tags could not be
/// read (an [`AlarmPlan::collisions`] entry): whether it is this environment's alarm cannot be told, so
/// [`apply`] does not overwrite it and reports it as a failed update — the run fails, and the next one
/// tries again.
pub const TAGS_NOT_READ: &str = "tags not read";

/// Which unchanged alarms a plan reads the tags of. `Put*` ignores `Tags` when the alarm exists, so
/// tags generated after an alarm was created (Environment and Owner, say) reach it only by
/// `TagResource`, once the planner has seen them missing. Reading every alarm's tags each run would
/// cost a call an alarm every five minutes; instead the unchanged names, sorted, are read in slices of
/// `per_run` from the `turn`-th (round the end) — the default turns with the five-minute schedule, so
/// 90 alarms are all checked within 75 minutes for six reads (≈ 1.2 s) a run. Updates have their tags
/// read anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagAudit {
    /// Unchanged alarms read per plan (`0`: none, `usize::MAX`: all).
    pub per_run: usize,
    /// Which slice.
    pub turn: u64,
}

impl TagAudit {
    /// [`TAG_AUDIT_PER_RUN`] alarms, the slice of the five-minute period of `now`.
    #[must_use]
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            per_run: TAG_AUDIT_PER_RUN,
            turn: u64::try_from(now.timestamp().div_euclid(300)).unwrap_or(0),
        }
    }

    /// Every unchanged alarm.
    #[must_use]
    pub fn all() -> Self {
        Self {
            per_run: usize::MAX,
            turn: 0,
        }
    }

    /// The slice of `names` (sorted here) this plan reads: `per_run` names from the `turn`-th, round
    /// the end to the start (always `min(per_run, n)` reads; consecutive turns cover every name within
    /// ⌈n / per_run⌉ runs).
    fn pick(self, mut names: Vec<String>) -> Vec<String> {
        let n = names.len();
        if self.per_run == 0 || n == 0 {
            return Vec::new();
        }
        names.sort();
        if self.per_run >= n {
            return names;
        }
        let start = usize::try_from(self.turn.wrapping_mul(self.per_run as u64) % n as u64).unwrap_or(0);
        names.rotate_left(start);
        names.truncate(self.per_run);
        names
    }
}

/// The generated catalogue for `spec`.
///
/// # Errors
/// [`CatalogueError`] if the catalogue breaks an API rule (a bug the alarms crate's tests catch).
pub fn desired_catalogue(spec: &PlatformSpec) -> Result<Catalogue, CatalogueError> {
    catalogue_for(spec, &CatalogueOptions::for_spec(spec))
}

/// The plan and what it was made from.
#[derive(Debug, Clone)]
pub struct AlarmPlanning {
    /// The plan, as [`apply`] takes it: its deletes still name the [`Self::held`] orphans, since apply
    /// reads the composites again and decides then.
    pub plan: AlarmPlan,
    /// Every alarm `DescribeAlarms` returned (also the state report's input).
    pub published: Vec<PublishedAlarm>,
    /// The plan's orphans that a composite alarm that stays references (by what was read, with the
    /// rules of the composites the plan puts): apply will keep them and report them as `held`, so
    /// what is shown lists them as kept, not as deletes ([`CompositeRefs::held_orphans`]).
    pub held: Vec<HeldOrphan>,
}

impl AlarmPlanning {
    /// The plan as apply will carry it out if every write succeeds: each held orphan unchanged (kept,
    /// its cost with it) instead of deleted. What the text, the JSON view, `is_empty` and the monthly
    /// change are made from.
    #[must_use]
    pub fn as_applied(&self) -> AlarmPlan {
        let mut plan = self.plan.clone();
        for c in &mut plan.changes {
            if c.action == AlarmAction::Delete && self.held.iter().any(|h| h.name == c.name) {
                c.action = AlarmAction::Unchanged;
                c.monthly_after = c.monthly_before;
            }
        }
        plan
    }

    /// Whether applying writes nothing (held orphans are not written).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.as_applied().is_empty()
    }

    /// Monthly $ change of the managed alarms (a held orphan still costs what it did).
    #[must_use]
    pub fn monthly_delta(&self) -> Decimal {
        self.as_applied().monthly_delta()
    }

    /// The plan's `terraform plan`-like text ([`AlarmPlan::render_text`] of [`Self::as_applied`]), with
    /// a line for each held orphan naming the composites holding it, before the summary line (whose
    /// unchanged count includes them: they are not written).
    #[must_use]
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let text = self.as_applied().render_text();
        if self.held.is_empty() {
            return text;
        }
        let mut held = String::new();
        for h in &self.held {
            let _ = writeln!(
                held,
                "  = {:<64} kept: held by {} (a composite alarm that stays references it; DeleteAlarms would refuse it)",
                h.name,
                h.held_by.join(", ")
            );
        }
        // The names come from AWS (a composite made by hand): shown, never run, as the rest of the text.
        let held = vocabulary::text::terminal_safe(&held);
        let summary = text.trim_end_matches('\n').rfind('\n').map_or(0, |i| i + 1);
        format!("{}{held}{}", &text[..summary], &text[summary..])
    }
}

/// Reads every published alarm, the tags of the [`ownership_candidates`], and plans the catalogue
/// against them; the tags of this five-minute period's unchanged alarms are checked
/// ([`TagAudit::at`]).
///
/// # Errors
/// When `DescribeAlarms` fails (nothing is planned from a partial read). A failed tag read of an orphan
/// or an unchanged alarm is a warning in the plan: it is not deleted (or tagged) this run. One of an
/// update keeps the update in the plan and lists it in [`AlarmPlan::collisions`] ([`TAGS_NOT_READ`]):
/// [`apply`] does not write it and reports it as a failed update. An orphan a composite that stays
/// references is in [`AlarmPlanning::held`].
pub async fn plan<C: CloudWatchApi>(
    cw: &C,
    catalogue: &Catalogue,
    managed_prefix: &str,
) -> Result<AlarmPlanning, ApiError> {
    plan_with(cw, catalogue, managed_prefix, TagAudit::at(Utc::now())).await
}

/// [`plan`], checking the tags of the unchanged alarms `audit` picks.
///
/// # Errors
/// As [`plan`].
pub async fn plan_with<C: CloudWatchApi>(
    cw: &C,
    catalogue: &Catalogue,
    managed_prefix: &str,
    audit: TagAudit,
) -> Result<AlarmPlanning, ApiError> {
    let mut published = describe_all_alarms(cw).await?;
    let mut warnings = read_candidate_tags(cw, catalogue, &mut published, managed_prefix).await;
    let mut plan = plan_from(catalogue, &published, managed_prefix);
    // An update overwrites what is there: its tags say whether it is another environment's alarm
    // whose name meets one of ours. Read for updates only (an unchanged alarm is not written).
    let updates: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == AlarmAction::Update)
        .map(|c| c.name.clone())
        .collect();
    let unread = read_tags_of(
        cw,
        &mut published,
        &updates,
        "whose alarm it is cannot be told, so apply does not overwrite it and fails it",
    )
    .await;
    let read: Vec<&Alarm> = published.iter().map(|p| &p.alarm).collect();
    plan.refuse_collisions(&read);
    // Still a change (the plan says so, and `--detailed-exitcode` exits 2), but not one to write
    // blind: apply leaves it out and reports it as a failed update ([`TAGS_NOT_READ`]), so the run
    // fails instead of leaving, say, a critical alarm without its SNS action behind a success.
    plan.collisions
        .extend(unread.iter().map(|(name, why)| (name.clone(), why.clone())));
    // Tags a put leaves as they are: those of the updates (read above) and of this run's slice of the
    // unchanged alarms.
    let audited = audit.pick(
        plan.changes
            .iter()
            .filter(|c| c.action == AlarmAction::Unchanged)
            .map(|c| c.name.clone())
            .collect(),
    );
    let unaudited = read_tags_of(cw, &mut published, &audited, "its tags not checked this run").await;
    let checked: Vec<(&Alarm, &str)> = published
        .iter()
        .filter(|p| {
            let name = p.alarm.name();
            (updates.iter().chain(&audited).any(|n| n == name))
                && !unread.iter().chain(&unaudited).any(|(n, _)| n == name)
        })
        .map(|p| (&p.alarm, p.arn.as_str()))
        .collect();
    plan.plan_retags(&checked);
    warnings.extend(
        unaudited
            .into_iter()
            .map(|(name, warning)| format!("{name}: {warning}")),
    );
    plan.warnings.extend(warnings);
    let held = held_orphans(&plan, &published);
    Ok(AlarmPlanning {
        plan,
        published,
        held,
    })
}

/// The plan's orphans [`apply`] will hold if every put succeeds: the composites it will read after
/// the puts are those `published`, with the rules the plan puts for those it creates or updates (an
/// update that drops an orphan releases it); the orphans are then taken as apply takes them.
fn held_orphans(plan: &AlarmPlan, published: &[PublishedAlarm]) -> Vec<HeldOrphan> {
    let orphans = plan.to_delete();
    if orphans.is_empty() {
        return Vec::new();
    }
    let mut refs = CompositeRefs::of(published);
    for alarm in plan.to_put() {
        if let Alarm::Composite(c) = alarm {
            refs.set_rule(&c.alarm_name, &c.alarm_rule);
        }
    }
    refs.held_orphans(&orphans)
}

/// Fills in the tags of the published alarms named in `names`; `(name, why ending in consequence)`
/// for each alarm whose tags could not be read (`why` starts with [`TAGS_NOT_READ`]).
async fn read_tags_of<C: CloudWatchApi>(
    cw: &C,
    published: &mut [PublishedAlarm],
    names: &[String],
    consequence: &str,
) -> Vec<(String, String)> {
    let mut pacer = Pacer::per_second(TAG_READS_PER_SECOND);
    let mut warnings = Vec::new();
    for p in published
        .iter_mut()
        .filter(|p| names.iter().any(|n| n == p.alarm.name()))
    {
        pacer.ready().await;
        match cw.alarm_tags(&p.arn).await {
            Ok(tags) => match &mut p.alarm {
                Alarm::Metric(m) => m.tags = tags,
                Alarm::Composite(c) => c.tags = tags,
            },
            Err(e) => warnings.push((
                p.alarm.name().to_owned(),
                format!("{TAGS_NOT_READ} ({e}); {consequence}"),
            )),
        }
    }
    warnings
}

/// Fills in the tags of every published alarm whose ownership they decide; returns a warning per alarm
/// whose tags could not be read.
async fn read_candidate_tags<C: CloudWatchApi>(
    cw: &C,
    catalogue: &Catalogue,
    published: &mut [PublishedAlarm],
    managed_prefix: &str,
) -> Vec<String> {
    let desired = catalogue.inputs();
    let names: Vec<String> = {
        let all: Vec<&str> = published.iter().map(|p| p.alarm.name()).collect();
        ownership_candidates(&desired, &all, managed_prefix)
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    read_tags_of(cw, published, &names, "not deleted this run")
        .await
        .into_iter()
        .map(|(name, warning)| format!("{name}: {warning}"))
        .collect()
}

/// The pure step of [`plan`]: `desired` against what was read.
#[must_use]
pub fn plan_from(catalogue: &Catalogue, published: &[PublishedAlarm], managed_prefix: &str) -> AlarmPlan {
    let published: Vec<Alarm> = published.iter().map(|p| p.alarm.clone()).collect();
    plan_alarms(
        &catalogue.inputs(),
        &published,
        managed_prefix,
        &AlarmPricing::default(),
    )
}

/// Apply knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApplyOptions {
    /// Writes per second (≤ CloudWatch's 3 TPS quota).
    pub writes_per_second: f64,
    /// No write starts after this instant: what is left is [`ApplyReport::deferred`] to the next apply
    /// (the plan still holds it). The alarms Lambda sets it so that the state report, the escalation and
    /// the Slack post after the apply still fit in its timeout when CloudWatch's 3 TPS — shared by every
    /// environment of the account — stretches a large apply.
    pub deadline: Option<tokio::time::Instant>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            writes_per_second: ALARM_WRITES_PER_SECOND,
            deadline: None,
        }
    }
}

/// One item that could not be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    /// Alarm or dashboard name.
    pub name: String,
    /// `create`, `update`, `delete` or `tag`.
    pub action: &'static str,
    /// The API's answer.
    pub error: ApiError,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ApplyReport {
    /// Created.
    pub created: Vec<String>,
    /// Updated.
    pub updated: Vec<String>,
    /// Deleted (orphans under the managed prefix).
    pub deleted: Vec<String>,
    /// Orphans not deleted because a put of this apply failed: an orphan may be the alarm its
    /// replacement was to take over from (a renamed function), and is deleted by the next apply that
    /// writes everything.
    pub kept: Vec<String>,
    /// Orphans not deleted because a composite alarm that stays references them (`DeleteAlarms`
    /// refuses them, and would refuse the rest of their call): deleted by the first apply after the
    /// composite stops referencing them.
    pub held: Vec<HeldOrphan>,
    /// Published alarms given the generated tags they lacked (`TagResource`).
    pub tagged: Vec<String>,
    /// Unchanged, not written.
    pub unchanged: usize,
    /// Write calls made (`Put*`, `Delete*`, `TagResource`), failed ones included.
    pub write_calls: usize,
    /// Every item that failed, with the reason.
    pub failures: Vec<ItemFailure>,
    /// Warnings the service attached to successful writes (dashboard validation messages).
    pub warnings: Vec<String>,
    /// Puts and tags not attempted because [`ApplyOptions::deadline`] came first: the next apply makes
    /// them (the orphans wait as well, in [`ApplyReport::kept`]). Not a failure.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<String>,
}

impl ApplyReport {
    /// Whether every item was written.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// A summary naming every failure.
    #[must_use]
    pub fn render_text(&self, what: &str) -> String {
        use std::fmt::Write as _;
        let mut s = format!(
            "Applied {what}: {} created, {} updated, {} deleted, {}{} unchanged; {} write calls; {} failed.\n",
            self.created.len(),
            self.updated.len(),
            self.deleted.len(),
            if self.tagged.is_empty() {
                String::new()
            } else {
                format!("{} tagged, ", self.tagged.len())
            },
            self.unchanged,
            self.write_calls,
            self.failures.len()
        );
        for f in &self.failures {
            let _ = writeln!(s, "  ✗ {} ({}): {}", f.name, f.action, f.error);
        }
        if !self.deferred.is_empty() {
            let _ = writeln!(
                s,
                "  … {} writes left for the next apply (its deadline came first): {}",
                self.deferred.len(),
                self.deferred.join(", ")
            );
        }
        if !self.kept.is_empty() {
            let _ = writeln!(
                s,
                "  … {} orphans kept until every put succeeds: {}",
                self.kept.len(),
                self.kept.join(", ")
            );
        }
        if !self.held.is_empty() {
            let held: Vec<String> = self
                .held
                .iter()
                .map(|h| format!("{} (held by {})", h.name, h.held_by.join(", ")))
                .collect();
            let _ = writeln!(
                s,
                "  … {} orphans kept while composite alarms that stay reference them: {}",
                self.held.len(),
                held.join("; ")
            );
        }
        for w in &self.warnings {
            let _ = writeln!(s, "  ! {w}");
        }
        s
    }
}

fn action_word(plan: &AlarmPlan, name: &str) -> &'static str {
    match plan.changes.iter().find(|c| c.name == name).map(|c| c.action) {
        Some(AlarmAction::Create) => "create",
        Some(AlarmAction::Delete) => "delete",
        _ => "update",
    }
}

/// Writes the plan's changes: puts (metric alarms, then composites), then deletes in batches of 100
/// with at most one composite each (composites first, each alone: `DeleteAlarms` refuses two). The
/// deletes run only when every put succeeded (or the endpoint does not implement it) — an orphan may be
/// what its failed replacement was to take over from, and deleting it would leave the resource
/// unwatched; they are listed as `kept`. Before deleting, the composites are read again
/// (`DescribeAlarms`): an orphan one that stays references is listed as `held` and left out of the
/// calls ([`super::orphans`]); if that read fails, no orphan is deleted and each is a failure.
/// Every write waits for the pacer; throttling is retried by the SDK client's `RetryConfig`.
/// An alarm in the plan's [`AlarmPlan::collisions`] (another environment's, or one whose tags could not
/// be read) is not written and is a failure. Failures are collected, never returned early.
pub async fn apply<C: CloudWatchApi>(
    cw: &C,
    plan: &AlarmPlan,
    options: ApplyOptions,
    progress: &dyn ApplyProgress,
) -> ApplyReport {
    let mut report = ApplyReport {
        unchanged: plan.count(AlarmAction::Unchanged),
        ..ApplyReport::default()
    };
    // Another environment's alarm of the same name, or one whose tags could not be read: not written,
    // and a failure of this apply.
    report
        .failures
        .extend(plan.collisions.iter().map(|(name, why)| ItemFailure {
            name: name.clone(),
            action: "update",
            error: if why.starts_with(TAGS_NOT_READ) {
                ApiError {
                    operation: "ListTagsForResource",
                    code: Some("TagsNotRead".into()),
                    message: why.clone(),
                    status: None,
                    classified: None,
                }
            } else {
                ApiError {
                    operation: "PutMetricAlarm",
                    code: Some("NameCollision".into()),
                    message: why.clone(),
                    status: None,
                    classified: Some(aws_error::ErrorClass::ClientFault),
                }
            },
        }));
    let writable = |alarm: &&Alarm| !plan.collisions.iter().any(|(name, _)| name == alarm.name());
    let puts: Vec<&Alarm> = plan.to_put().into_iter().filter(writable).collect();
    let batches: Vec<Vec<String>> = plan
        .delete_batches(DELETE_BATCH)
        .into_iter()
        .map(|b| b.into_iter().map(str::to_owned).collect())
        .collect();
    progress.start((puts.len() + batches.len() + plan.retag.len()) as u64);
    let mut pacer = Pacer::per_second(options.writes_per_second);
    for alarm in puts {
        let name = alarm.name().to_owned();
        let action = action_word(plan, &name);
        progress.step(&name);
        if !in_time(&mut pacer, options.deadline).await {
            report.deferred.push(name);
            progress.advance();
            continue;
        }
        report.write_calls += 1;
        let result = match alarm {
            Alarm::Metric(m) => cw.put_metric_alarm(m).await,
            Alarm::Composite(c) => cw.put_composite_alarm(c).await,
        };
        match result {
            Ok(()) if action == "create" => report.created.push(name),
            Ok(()) => report.updated.push(name),
            Err(error) => report.failures.push(ItemFailure { name, action, error }),
        }
        progress.advance();
    }
    // An endpoint without composite alarms (moto answers 501) made no replacement fail: its
    // orphans go as on AWS.
    // A deferred put may be the replacement an orphan hands over to: the orphans wait with it.
    if !report.deferred.is_empty() || report.failures.iter().any(|f| !f.error.is_not_implemented()) {
        report.kept = batches.into_iter().flatten().collect();
        tag(cw, plan, &mut pacer, &mut report, progress, options.deadline).await;
        progress.finish();
        return report;
    }
    delete_orphans(cw, plan, &mut pacer, &mut report, progress).await;
    tag(cw, plan, &mut pacer, &mut report, progress, options.deadline).await;
    progress.finish();
    report
}

/// Deletes the plan's orphans but those a composite that stays references ([`super::orphans`]):
/// composites one a call, referrers first, each checked against the composites still published when
/// its turn comes (one whose delete failed holds what it references), then the metric alarms in calls
/// of [`DELETE_BATCH`].
async fn delete_orphans<C: CloudWatchApi>(
    cw: &C,
    plan: &AlarmPlan,
    pacer: &mut Pacer,
    report: &mut ApplyReport,
    progress: &dyn ApplyProgress,
) {
    let orphans = plan.to_delete();
    if orphans.is_empty() {
        return;
    }
    // Read after the puts: a composite updated by this apply no longer holds what it dropped.
    progress.step("reading the composite alarms");
    let mut refs = match describe_all_alarms(cw).await {
        Ok(read) => CompositeRefs::of(&read),
        Err(error) => {
            // Which orphans are held cannot be told, and one held would fail its whole call.
            report.failures.extend(orphans.iter().map(|name| ItemFailure {
                name: (*name).to_owned(),
                action: "delete",
                error: error.clone(),
            }));
            return;
        }
    };
    let (composites, metrics) = refs.deletion_order(&orphans);
    for name in composites {
        if hold(name, &refs, report) {
            progress.advance();
            continue;
        }
        if delete_batch(cw, &[name.to_owned()], pacer, report, progress).await {
            refs.remove(name);
        }
    }
    let free: Vec<String> = metrics
        .into_iter()
        .filter(|name| !hold(name, &refs, report))
        .map(str::to_owned)
        .collect();
    for batch in free.chunks(DELETE_BATCH) {
        delete_batch(cw, batch, pacer, report, progress).await;
    }
}

/// Whether a composite in `refs` references `name`; if so it is listed as held.
fn hold(name: &str, refs: &CompositeRefs, report: &mut ApplyReport) -> bool {
    match refs.holding(name) {
        Some(held) => {
            report.held.push(held);
            true
        }
        None => false,
    }
}

/// One paced `DeleteAlarms` call; whether it succeeded (each name of a failed call is a failure).
async fn delete_batch<C: CloudWatchApi>(
    cw: &C,
    batch: &[String],
    pacer: &mut Pacer,
    report: &mut ApplyReport,
    progress: &dyn ApplyProgress,
) -> bool {
    progress.step(&format!("deleting {} orphans", batch.len()));
    pacer.ready().await;
    report.write_calls += 1;
    let result = cw.delete_alarms(batch).await;
    progress.advance();
    match result {
        Ok(()) => {
            report.deleted.extend(batch.iter().cloned());
            true
        }
        Err(error) => {
            report.failures.extend(batch.iter().map(|name| ItemFailure {
                name: name.clone(),
                action: "delete",
                error: error.clone(),
            }));
            false
        }
    }
}

/// The plan's [`alarms::plan::Retag`]s, one `TagResource` each, paced as the other writes; a failure
/// is named in the report (the alarm keeps working, and is tagged by a later run).
/// Waits for the pacer's next slot and says whether a write may still start: not once `deadline` has
/// passed (then without waiting), nor when the wait crossed it.
async fn in_time(pacer: &mut Pacer, deadline: Option<tokio::time::Instant>) -> bool {
    let open = || deadline.is_none_or(|d| tokio::time::Instant::now() < d);
    if !open() {
        return false;
    }
    pacer.ready().await;
    open()
}

async fn tag<C: CloudWatchApi>(
    cw: &C,
    plan: &AlarmPlan,
    pacer: &mut Pacer,
    report: &mut ApplyReport,
    progress: &dyn ApplyProgress,
    deadline: Option<tokio::time::Instant>,
) {
    for r in &plan.retag {
        progress.step(&r.name);
        if !in_time(pacer, deadline).await {
            report.deferred.push(r.name.clone());
            progress.advance();
            continue;
        }
        report.write_calls += 1;
        match cw.tag_alarm(&r.arn, &r.tags).await {
            Ok(()) => report.tagged.push(r.name.clone()),
            Err(error) => report.failures.push(ItemFailure {
                name: r.name.clone(),
                action: "tag",
                error,
            }),
        }
        progress.advance();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::fake::FakeCloudWatch;
    use crate::publish::progress::NoProgress;

    use crate::test_support::prod_spec as spec;
    use platform_spec::PlatformSpec;

    /// A fake CloudWatch holding `cat`, published.
    async fn published(cat: &alarms::catalogue::Catalogue) -> FakeCloudWatch {
        let cw = FakeCloudWatch::default();
        let first = plan(&cw, cat, "collectiq-prod").await.unwrap();
        let report = apply(&cw, &first.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        cw
    }

    /// The catalogue's first alarm, a metric alarm, to copy from.
    fn first_metric(cat: &alarms::catalogue::Catalogue) -> alarms::model::PutMetricAlarmInput {
        match &cat.alarms[0].alarm {
            Alarm::Metric(m) => m.clone(),
            Alarm::Composite(_) => panic!("the catalogue starts with a metric alarm"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn apply_then_replan_is_empty_and_second_apply_writes_nothing() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        let first = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(first.plan.count(AlarmAction::Create), cat.alarms.len());
        let report = apply(&cw, &first.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.created.len(), cat.alarms.len());
        assert_eq!(cw.write_calls(), cat.alarms.len());
        let second = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert!(second.plan.is_empty(), "{}", second.plan.render_text());
        let again = apply(&cw, &second.plan, ApplyOptions::default(), &NoProgress).await;
        assert_eq!(again.write_calls, 0);
        assert_eq!(cw.write_calls(), cat.alarms.len());
    }

    #[tokio::test(start_paused = true)]
    async fn one_failure_does_not_stop_the_rest_and_is_named() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        cw.fail_put("collectiq-prod-api-latency-p95-warning", "ValidationError");
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert_eq!(report.failures.len(), 1);
        assert_eq!(report.failures[0].name, "collectiq-prod-api-latency-p95-warning");
        assert_eq!(report.created.len(), cat.alarms.len() - 1);
        let text = report.render_text("alarms");
        assert!(
            text.contains("✗ collectiq-prod-api-latency-p95-warning (create): PutMetricAlarm"),
            "{text}"
        );
    }

    /// The alarms Lambda (120 s) applied without a deadline of its own, then read the state, escalated
    /// and posted: a large apply at the account's shared 3 TPS could time the function out before the
    /// page and the Slack post. Past the deadline no write starts: the rest is deferred (the orphans
    /// too, their replacements may be among it) and the next apply finishes.
    #[tokio::test(start_paused = true)]
    async fn past_its_deadline_the_apply_defers_the_rest_to_the_next_run() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        let mut orphan = first_metric(&cat);
        orphan.alarm_name = "collectiq-prod-legacy-scanner-errors-critical".into();
        cw.put_metric_alarm(&orphan).await.unwrap();
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        let options = ApplyOptions {
            deadline: Some(tokio::time::Instant::now() + std::time::Duration::from_secs(10)),
            ..ApplyOptions::default()
        };
        let started = tokio::time::Instant::now();
        let report = apply(&cw, &planning.plan, options, &NoProgress).await;
        // 3 writes a second for 10 s: about 30 written, the rest left, nothing failed.
        assert!(
            (25..=35).contains(&report.created.len()),
            "{}",
            report.created.len()
        );
        assert_eq!(report.created.len() + report.deferred.len(), cat.alarms.len());
        assert!(report.ok() && report.failures.is_empty());
        assert_eq!(report.kept, ["collectiq-prod-legacy-scanner-errors-critical"]);
        assert!(report.deleted.is_empty());
        assert!(report.render_text("alarms").contains(&format!(
            "{} writes left for the next apply",
            report.deferred.len()
        )));
        assert!(
            started.elapsed() <= std::time::Duration::from_secs(11),
            "{:?}",
            started.elapsed()
        );
        // The next run writes what was left, then deletes the orphan.
        let next = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        let rest = apply(&cw, &next.plan, ApplyOptions::default(), &NoProgress).await;
        assert_eq!(rest.created.len(), report.deferred.len());
        assert_eq!(rest.deleted, ["collectiq-prod-legacy-scanner-errors-critical"]);
        assert!(plan(&cw, &cat, "collectiq-prod").await.unwrap().plan.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn orphans_under_the_prefix_go_unprefixed_alarms_stay() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        let mut orphan = first_metric(&cat);
        orphan.alarm_name = "collectiq-prod-legacy-scanner-errors-critical".into();
        let mut foreign = orphan.clone();
        foreign.alarm_name = "billing-estimated-charges-hand-made".into();
        let mut near = orphan.clone();
        near.alarm_name = "collectiq-production-other".into();
        let mut by_hand = orphan.clone();
        by_hand.alarm_name = "collectiq-prod-by-hand-critical".into();
        by_hand.tags.clear();
        for a in [&orphan, &foreign, &near, &by_hand] {
            cw.put_metric_alarm(a).await.unwrap();
        }
        let before = cw.write_calls();
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(
            planning.plan.to_delete(),
            ["collectiq-prod-legacy-scanner-errors-critical"]
        );
        // The hand-made one is under the prefix but untagged: left alone.
        assert_eq!(planning.plan.unmanaged, 3);
        assert_eq!(
            cw.tag_reads(),
            2,
            "tags read for the two candidates under the prefix only"
        );
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert_eq!(report.deleted, ["collectiq-prod-legacy-scanner-errors-critical"]);
        let names = cw.alarm_names();
        assert!(names.contains(&"billing-estimated-charges-hand-made".to_owned()));
        assert!(names.contains(&"collectiq-production-other".to_owned()));
        assert!(names.contains(&"collectiq-prod-by-hand-critical".to_owned()));
        assert_eq!(cw.write_calls() - before, cat.alarms.len() + 1);
    }

    /// Two environments in one account whose alarm names meet (prod's API `eu-api`, prod-eu's `api`):
    /// prod's plan must not overwrite prod-eu's alarm on every run (and prod-eu's then back): the
    /// update is refused, named, and a failure of the apply.
    #[tokio::test(start_paused = true)]
    async fn another_environments_alarm_of_the_same_name_is_not_overwritten() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        let mut theirs = first_metric(&cat);
        let name = theirs.alarm_name.clone();
        theirs.threshold = Some(theirs.threshold.unwrap_or(0.0) + 1.0);
        for t in &mut theirs.tags {
            if t.key == alarms::plan::PLATFORM_TAG {
                t.value = "collectiq-prod-eu".into();
            }
        }
        assert!(theirs.tags.iter().any(|t| t.value == "collectiq-prod-eu"));
        cw.put_metric_alarm(&theirs).await.unwrap();
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert!(
            !planning
                .plan
                .changes
                .iter()
                .any(|c| c.name == name && c.action == AlarmAction::Update),
            "{}",
            planning.plan.render_text()
        );
        assert_eq!(planning.plan.collisions.len(), 1);
        // Not a plan with nothing to do (`--detailed-exitcode`), and named in the JSON view.
        assert!(!planning.plan.is_empty());
        let view = serde_json::to_value(super::super::PlanView::of_alarms(&planning)).unwrap();
        assert_eq!(view["collisions"][0][0], name.as_str(), "{view}");
        assert!(
            planning.plan.render_text().contains("is collectiq-prod-eu's"),
            "{}",
            planning.plan.render_text()
        );
        let before = cw.write_calls();
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert_eq!(report.failures.len(), 1, "{}", report.render_text("alarms"));
        assert_eq!(report.failures[0].name, name);
        assert_eq!(report.failures[0].error.code.as_deref(), Some("NameCollision"));
        assert_eq!(
            cw.write_calls() - before,
            cat.alarms.len() - 1,
            "every other alarm is written"
        );
    }

    /// A CloudWatch whose `ListTagsForResource` fails for one alarm (throttled past the SDK's retries,
    /// a role without the permission): every other call goes to the fake.
    struct TagsFailFor(FakeCloudWatch, String);

    impl CloudWatchApi for TagsFailFor {
        async fn describe_alarms(
            &self,
            t: Option<String>,
        ) -> Result<super::super::cloudwatch::AlarmPage, ApiError> {
            self.0.describe_alarms(t).await
        }
        async fn put_metric_alarm(&self, a: &alarms::model::PutMetricAlarmInput) -> Result<(), ApiError> {
            self.0.put_metric_alarm(a).await
        }
        async fn put_composite_alarm(
            &self,
            a: &alarms::model::PutCompositeAlarmInput,
        ) -> Result<(), ApiError> {
            self.0.put_composite_alarm(a).await
        }
        async fn alarm_tags(&self, arn: &str) -> Result<Vec<alarms::model::Tag>, ApiError> {
            if arn == crate::publish::fake::alarm_arn(&self.1) {
                return Err(crate::publish::fake::rejected(
                    "ListTagsForResource",
                    "Throttling",
                ));
            }
            self.0.alarm_tags(arn).await
        }
        async fn tag_alarm(&self, arn: &str, tags: &[alarms::model::Tag]) -> Result<(), ApiError> {
            self.0.tag_alarm(arn, tags).await
        }
        async fn delete_alarms(&self, names: &[String]) -> Result<(), ApiError> {
            self.0.delete_alarms(names).await
        }
        async fn describe_alarm_history(
            &self,
            start: DateTime<Utc>,
            end: DateTime<Utc>,
            t: Option<String>,
        ) -> Result<super::super::cloudwatch::HistoryPage, ApiError> {
            self.0.describe_alarm_history(start, end, t).await
        }
        async fn list_dashboards(
            &self,
            t: Option<String>,
        ) -> Result<super::super::cloudwatch::DashboardPage, ApiError> {
            self.0.list_dashboards(t).await
        }
        async fn get_dashboard(&self, name: &str) -> Result<String, ApiError> {
            self.0.get_dashboard(name).await
        }
        async fn put_dashboard(&self, name: &str, body: &str) -> Result<Vec<String>, ApiError> {
            self.0.put_dashboard(name, body).await
        }
        async fn delete_dashboards(&self, names: &[String]) -> Result<(), ApiError> {
            self.0.delete_dashboards(names).await
        }
        async fn get_metric_data(
            &self,
            q: &[alarms::model::MetricDataQuery],
            start: DateTime<Utc>,
            end: DateTime<Utc>,
            t: Option<String>,
        ) -> Result<super::super::cloudwatch::MetricDataPage, ApiError> {
            self.0.get_metric_data(q, start, end, t).await
        }
    }

    /// A published critical alarm lost its SNS action (edited by hand): the plan updates it, but its
    /// tags cannot be read. The update used to be dropped with a plan warning — nothing written, and
    /// the apply, the Lambda and `plan --detailed-exitcode` all said everything was fine. Now the plan
    /// keeps the update and names why it is held back, and the apply does not overwrite an alarm whose
    /// owner it cannot tell but fails naming it; the other alarms are written.
    #[tokio::test(start_paused = true)]
    async fn an_update_whose_tags_cannot_be_read_is_a_failure_not_a_warning() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let mut edited = cat
            .alarms
            .iter()
            .find_map(|a| match &a.alarm {
                Alarm::Metric(m) if m.alarm_name.ends_with("-critical") && !m.alarm_actions.is_empty() => {
                    Some(m.clone())
                }
                _ => None,
            })
            .expect("a critical metric alarm with an action");
        let name = edited.alarm_name.clone();
        edited.alarm_actions.clear();
        cw.put_metric_alarm(&edited).await.unwrap();
        let other = cat
            .alarms
            .iter()
            .map(|a| a.alarm.name())
            .find(|n| *n != name)
            .unwrap();
        let mut other_edited = match &cat.alarms.iter().find(|a| a.alarm.name() == other).unwrap().alarm {
            Alarm::Metric(m) => Alarm::Metric(m.clone()),
            Alarm::Composite(c) => Alarm::Composite(c.clone()),
        };
        match &mut other_edited {
            Alarm::Metric(m) => m.alarm_description = Some("edited by hand".into()),
            Alarm::Composite(c) => c.alarm_description = Some("edited by hand".into()),
        }
        match &other_edited {
            Alarm::Metric(m) => cw.put_metric_alarm(m).await.unwrap(),
            Alarm::Composite(c) => cw.put_composite_alarm(c).await.unwrap(),
        }
        let flaky = TagsFailFor(cw.clone(), name.clone());

        let planning = plan_with(&flaky, &cat, "collectiq-prod", TagAudit::all())
            .await
            .unwrap();
        let text = planning.render_text();
        assert!(
            planning
                .plan
                .changes
                .iter()
                .any(|c| c.name == name && c.action == AlarmAction::Update),
            "the update is still a change: {text}"
        );
        assert!(!planning.is_empty(), "plan --detailed-exitcode exits 2: {text}");
        assert!(text.contains(&format!("✗ {name}: tags not read")), "{text}");

        let report = apply(&flaky, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(!report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.failures.len(), 1, "{}", report.render_text("alarms"));
        let f = &report.failures[0];
        assert_eq!((f.name.as_str(), f.action), (name.as_str(), "update"));
        assert_eq!(
            (f.error.operation, f.error.code.as_deref()),
            ("ListTagsForResource", Some("TagsNotRead"))
        );
        assert!(f.error.message.contains("Throttling"), "{}", f.error.message);
        assert_eq!(report.updated, [other], "the other update is written");
        let stored = cw.describe_alarms(None).await.unwrap();
        let still = stored.alarms.iter().find(|p| p.alarm.name() == name).unwrap();
        let Alarm::Metric(m) = &still.alarm else { panic!() };
        assert!(m.alarm_actions.is_empty(), "not overwritten blind");
    }

    /// Two retired composites (two functions removed): `DeleteAlarms` refuses a call naming two
    /// composites (the fake, as the service), so each goes in a call of its own and every orphan goes.
    #[tokio::test(start_paused = true)]
    async fn two_orphan_composites_are_deleted_in_calls_of_their_own() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let mut metric = first_metric(&cat);
        metric.alarm_name = "collectiq-prod-retired-errors-warning".into();
        cw.put_metric_alarm(&metric).await.unwrap();
        let composite = first_composite(&cat);
        for name in [
            "collectiq-prod-retired-a-critical",
            "collectiq-prod-retired-b-critical",
        ] {
            let mut c = composite.clone();
            c.alarm_name = name.into();
            cw.put_composite_alarm(&c).await.unwrap();
        }
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(planning.plan.to_delete().len(), 3);
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.deleted.len(), 3);
        let names = cw.alarm_names();
        assert!(!names.iter().any(|n| n.contains("retired")), "{names:?}");
    }

    /// The catalogue's first composite alarm, to copy from (tagged as collectiq-prod's).
    fn first_composite(cat: &alarms::catalogue::Catalogue) -> alarms::model::PutCompositeAlarmInput {
        cat.alarms
            .iter()
            .find_map(|a| match &a.alarm {
                Alarm::Composite(c) => Some(c.clone()),
                Alarm::Metric(_) => None,
            })
            .expect("a composite in the catalogue")
    }

    /// Publishes a metric orphan of collectiq-prod's (tagged as its own) for each of `names`.
    async fn metric_orphans(cw: &FakeCloudWatch, cat: &alarms::catalogue::Catalogue, names: &[&str]) {
        for name in names {
            let mut m = first_metric(cat);
            m.alarm_name = (*name).into();
            cw.put_metric_alarm(&m).await.unwrap();
        }
    }

    /// Publishes a composite named `name` with `rule`: collectiq-prod's orphan when `ours`, else made
    /// by hand (no tags).
    async fn composite(
        cw: &FakeCloudWatch,
        cat: &alarms::catalogue::Catalogue,
        name: &str,
        rule: &str,
        ours: bool,
    ) {
        let mut c = first_composite(cat);
        c.alarm_name = name.into();
        c.alarm_rule = rule.into();
        if !ours {
            c.tags.clear();
        }
        cw.put_composite_alarm(&c).await.unwrap();
    }

    /// A hand-made composite still references one orphan (by ARN): `DeleteAlarms` refuses that one
    /// and deletes nothing of its call (the fake, as the service), so the orphan is left — named with
    /// the composite holding it — and the other orphans of the same batch go in the same apply.
    #[tokio::test(start_paused = true)]
    async fn an_orphan_a_hand_made_composite_references_stays_and_the_rest_of_its_batch_goes() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let [a, held, c] = [
            "collectiq-prod-retired-a-errors-critical",
            "collectiq-prod-retired-b-errors-critical",
            "collectiq-prod-retired-c-errors-critical",
        ];
        metric_orphans(&cw, &cat, &[a, held, c]).await;
        let rule = format!(
            "ALARM(\"{}\") AND NOT OK(\"{}\")",
            cat.alarms[0].alarm.name(),
            crate::publish::fake::alarm_arn(held)
        );
        composite(&cw, &cat, "oncall-retired-b-by-hand", &rule, false).await;
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(planning.plan.to_delete(), [a, held, c]);
        assert_eq!(
            planning.plan.delete_batches(DELETE_BATCH).len(),
            1,
            "one call for the three"
        );
        let before = cw.write_calls();
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.deleted, [a, c]);
        assert_eq!(
            report.held,
            [HeldOrphan {
                name: held.into(),
                held_by: vec!["oncall-retired-b-by-hand".into()],
            }]
        );
        assert_eq!(
            cw.write_calls() - before,
            1,
            "one DeleteAlarms, the held orphan left out"
        );
        let names = cw.alarm_names();
        assert!(names.contains(&held.to_owned()) && names.contains(&"oncall-retired-b-by-hand".to_owned()));
        assert!(!names.contains(&a.to_owned()) && !names.contains(&c.to_owned()));
        let text = report.render_text("alarms");
        assert!(
            text.contains(&format!(
                "1 orphans kept while composite alarms that stay reference them: {held} (held by oncall-retired-b-by-hand)"
            )),
            "{text}"
        );
        // Once the composite stops referencing it, the next apply deletes it.
        composite(&cw, &cat, "oncall-retired-b-by-hand", "FALSE", false).await;
        let again = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        let report = apply(&cw, &again.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(
            report.ok() && report.held.is_empty(),
            "{}",
            report.render_text("alarms")
        );
        assert_eq!(report.deleted, [held]);
    }

    /// An orphan referenced only by an orphan composite goes with it: the composite first, in a call
    /// of its own, then the metric alarms it referenced.
    #[tokio::test(start_paused = true)]
    async fn an_orphan_referenced_by_an_orphan_composite_goes_after_it() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let metrics = [
            "collectiq-prod-retired-error-rate-critical",
            "collectiq-prod-retired-error-count-critical",
        ];
        metric_orphans(&cw, &cat, &metrics).await;
        let rule = format!("ALARM(\"{}\") OR ALARM(\"{}\")", metrics[0], metrics[1]);
        composite(&cw, &cat, "collectiq-prod-retired-errors-critical", &rule, true).await;
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(planning.plan.to_delete().len(), 3);
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert!(report.held.is_empty());
        assert_eq!(
            report.deleted,
            [
                "collectiq-prod-retired-errors-critical",
                "collectiq-prod-retired-error-count-critical",
                "collectiq-prod-retired-error-rate-critical",
            ]
        );
        assert!(!cw.alarm_names().iter().any(|n| n.contains("retired")));
    }

    /// Orphan composites referencing each other: the referrer goes first, whatever the names' order
    /// (`-a-` before `-b-` would be refused while `-b-` references it).
    #[tokio::test(start_paused = true)]
    async fn an_orphan_composite_goes_before_the_orphan_composite_it_references() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let metric = "collectiq-prod-retired-errors-warning";
        metric_orphans(&cw, &cat, &[metric]).await;
        let (a, b) = (
            "collectiq-prod-retired-a-critical",
            "collectiq-prod-retired-b-critical",
        );
        composite(&cw, &cat, a, &format!("ALARM({metric})"), true).await;
        composite(&cw, &cat, b, &format!("ALARM(\"{a}\")"), true).await;
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(planning.plan.to_delete(), [a, b, metric]);
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.deleted, [b, a, metric]);
    }

    /// A hand-made composite references an orphan composite: that one stays, and so does every
    /// orphan it references; an orphan nothing references still goes.
    #[tokio::test(start_paused = true)]
    async fn an_orphan_composite_that_is_held_holds_what_it_references() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let (child, free) = (
            "collectiq-prod-retired-errors-warning",
            "collectiq-prod-other-errors-warning",
        );
        metric_orphans(&cw, &cat, &[child, free]).await;
        let ours = "collectiq-prod-retired-critical";
        composite(&cw, &cat, ours, &format!("ALARM(\"{child}\")"), true).await;
        composite(&cw, &cat, "team-by-hand", &format!("ALARM(\"{ours}\")"), false).await;
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(planning.plan.to_delete().len(), 3);
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.deleted, [free]);
        let held: Vec<(&str, &[String])> = report
            .held
            .iter()
            .map(|h| (h.name.as_str(), h.held_by.as_slice()))
            .collect();
        assert_eq!(
            held,
            [
                (ours, &["team-by-hand".to_owned()][..]),
                (child, &[ours.to_owned()][..])
            ]
        );
        assert_eq!(planning.held, report.held, "the plan showed what apply held");
    }

    /// The dry run on-call reads agrees with apply: an orphan a hand-made composite references (by
    /// ARN) is shown kept and held by that composite — in the text and in the JSON view — not as a
    /// delete, and costs what it did; the other orphans of its batch are deletes. Once only the held
    /// orphan is left, the plan writes nothing (`--detailed-exitcode` is 0).
    #[tokio::test(start_paused = true)]
    async fn the_plan_shows_an_orphan_a_hand_made_composite_references_as_held_not_as_a_delete() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let [a, held, c] = [
            "collectiq-prod-retired-a-errors-critical",
            "collectiq-prod-retired-b-errors-critical",
            "collectiq-prod-retired-c-errors-critical",
        ];
        metric_orphans(&cw, &cat, &[a, held, c]).await;
        let rule = format!("NOT OK(\"{}\")", crate::publish::fake::alarm_arn(held));
        composite(&cw, &cat, "oncall-retired-b-by-hand", &rule, false).await;
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        let by_hand = vec!["oncall-retired-b-by-hand".to_owned()];
        assert_eq!(
            planning.held,
            [HeldOrphan {
                name: held.into(),
                held_by: by_hand.clone(),
            }]
        );
        assert_eq!(planning.plan.to_delete(), [a, held, c], "apply still decides");

        let text = planning.render_text();
        let line = |name: &str| text.lines().find(|l| l.contains(name)).unwrap_or_default();
        assert!(
            line(a).trim_start().starts_with("- ") && line(c).trim_start().starts_with("- "),
            "{text}"
        );
        assert!(line(held).trim_start().starts_with("= "), "{text}");
        assert!(
            line(held).contains("kept: held by oncall-retired-b-by-hand"),
            "{text}"
        );
        assert!(!line(held).contains("delete ("), "{text}");
        let summary = text.lines().last().unwrap_or_default();
        assert!(
            summary.starts_with("Plan: 0 to create, 0 to update, 2 to delete,"),
            "{text}"
        );
        assert!(
            summary.contains(&format!("{} unchanged", cat.alarms.len() + 1)),
            "{text}"
        );

        let view = serde_json::to_value(crate::publish::PlanView::of_alarms(&planning)).unwrap();
        assert_eq!(view["delete"], serde_json::json!([a, c]));
        assert_eq!(
            view["held"],
            serde_json::json!([{ "name": held, "held_by": ["oncall-retired-b-by-hand"] }])
        );
        assert_eq!(view["unchanged"], cat.alarms.len() + 1);
        // Three copies of one alarm: the held one is not saved.
        assert!(planning.plan.monthly_delta() < Decimal::ZERO);
        assert_eq!(
            planning.monthly_delta() * Decimal::from(3),
            planning.plan.monthly_delta() * Decimal::from(2)
        );

        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.deleted, [a, c]);
        assert_eq!(report.held, planning.held);

        let again = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(again.held, planning.held);
        assert!(
            !again.plan.is_empty() && again.is_empty(),
            "{}",
            again.render_text()
        );
        assert_eq!(again.monthly_delta(), Decimal::ZERO);
    }

    /// One of our composites references an orphan, and the plan updates it to a rule that no longer
    /// does: apply puts it before reading the composites again, so the orphan goes, and the plan —
    /// reading the rule it will put, not the one published — shows it as a delete.
    #[tokio::test(start_paused = true)]
    async fn the_plan_deletes_an_orphan_our_updated_composite_stops_referencing() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let orphan = "collectiq-prod-retired-errors-critical";
        metric_orphans(&cw, &cat, &[orphan]).await;
        let ours = first_composite(&cat);
        let rule = format!("({}) OR ALARM(\"{orphan}\")", ours.alarm_rule);
        composite(&cw, &cat, &ours.alarm_name, &rule, true).await;
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        assert_eq!(
            CompositeRefs::of(&planning.published).referrers(orphan),
            [ours.alarm_name.as_str()],
            "the published rule references it"
        );
        let update = planning.plan.changes.iter().find(|c| c.name == ours.alarm_name);
        assert_eq!(update.map(|c| c.action), Some(AlarmAction::Update));
        assert!(planning.held.is_empty(), "{:?}", planning.held);
        let text = planning.render_text();
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("- {orphan}"))),
            "{text}"
        );
        let view = crate::publish::PlanView::of_alarms(&planning);
        assert_eq!(view.delete, [orphan]);
        assert!(view.held.is_empty());

        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.updated, [ours.alarm_name.as_str()]);
        assert_eq!(report.deleted, [orphan]);
        assert!(report.held.is_empty());
    }

    /// The composites cannot be read again before the deletes: which orphans are held cannot be
    /// told, so none is deleted (one held would fail its whole call) and each is a failure naming
    /// the read.
    #[tokio::test(start_paused = true)]
    async fn orphans_stay_when_the_composites_cannot_be_read_before_deleting() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let orphan = "collectiq-prod-retired-errors-critical";
        metric_orphans(&cw, &cat, &[orphan]).await;
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        cw.fail_describe_alarms(Some("Throttling"));
        let before = cw.write_calls();
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert_eq!(cw.write_calls(), before, "no DeleteAlarms");
        assert!(report.deleted.is_empty());
        assert_eq!(report.failures.len(), 1, "{}", report.render_text("alarms"));
        let f = &report.failures[0];
        assert_eq!(
            (f.name.as_str(), f.action, f.error.operation),
            (orphan, "delete", "DescribeAlarms")
        );
        assert!(cw.alarm_names().contains(&orphan.to_owned()));
    }

    /// A renamed function: its new alarms fail to be created (a role without `TagResource`, say), so
    /// the old ones — orphans now — stay until a later apply creates their replacements.
    #[tokio::test(start_paused = true)]
    async fn orphans_stay_while_a_put_fails() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        let mut orphan = first_metric(&cat);
        orphan.alarm_name = "collectiq-prod-old-name-errors-critical".into();
        cw.put_metric_alarm(&orphan).await.unwrap();
        let failing = cat.alarms[0].alarm.name().to_owned();
        cw.fail_put(&failing, "AccessDenied");
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(!report.ok());
        assert!(report.deleted.is_empty());
        assert_eq!(report.kept, ["collectiq-prod-old-name-errors-critical"]);
        assert!(
            cw.alarm_names()
                .contains(&"collectiq-prod-old-name-errors-critical".to_owned())
        );
        let text = report.render_text("alarms");
        assert!(text.contains("1 orphans kept until every put succeeds"), "{text}");
    }

    /// The `prod-eu` spec: `prod` with the environment renamed (same account and region).
    fn prod_eu() -> PlatformSpec {
        let mut s = spec();
        s.platform.environment = "prod-eu".into();
        s
    }

    /// Two environments in one account, applied one after the other, then again: each apply keeps the
    /// other's alarms (every `collectiq-prod-eu-…` name is also under `collectiq-prod-`).
    #[tokio::test(start_paused = true)]
    async fn prod_and_prod_eu_in_one_account_keep_each_others_alarms() {
        let (prod, eu) = (spec(), prod_eu());
        let (cat_prod, cat_eu) = (desired_catalogue(&prod).unwrap(), desired_catalogue(&eu).unwrap());
        assert!(
            cat_eu
                .alarms
                .iter()
                .all(|a| a.alarm.name().starts_with("collectiq-prod-"))
        );
        let cw = FakeCloudWatch::default();
        for _ in 0..2 {
            for (cat, prefix) in [(&cat_prod, "collectiq-prod"), (&cat_eu, "collectiq-prod-eu")] {
                let p = plan(&cw, cat, prefix).await.unwrap();
                assert!(
                    p.plan.to_delete().is_empty(),
                    "{prefix}: {:?}",
                    p.plan.to_delete()
                );
                let r = apply(&cw, &p.plan, ApplyOptions::default(), &NoProgress).await;
                assert!(r.ok() && r.deleted.is_empty(), "{}", r.render_text(prefix));
            }
        }
        assert_eq!(
            cw.alarm_names().len(),
            cat_prod.alarms.len() + cat_eu.alarms.len()
        );
        // prod's own orphan still goes, prod-eu's stays with prod-eu.
        let mut retired = match &cat_prod.alarms[0].alarm {
            Alarm::Metric(m) => m.clone(),
            Alarm::Composite(_) => panic!(),
        };
        retired.alarm_name = "collectiq-prod-retired-errors-critical".into();
        cw.put_metric_alarm(&retired).await.unwrap();
        let p = plan(&cw, &cat_prod, "collectiq-prod").await.unwrap();
        assert_eq!(p.plan.to_delete(), ["collectiq-prod-retired-errors-critical"]);
        let e = plan(&cw, &cat_eu, "collectiq-prod-eu").await.unwrap();
        assert!(e.plan.to_delete().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn writes_are_paced_at_three_per_second() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        let planning = plan(&cw, &cat, "collectiq-prod").await.unwrap();
        let t0 = tokio::time::Instant::now();
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        let n = report.write_calls as f64;
        let secs = t0.elapsed().as_secs_f64();
        assert!(secs >= (n - 1.0) / 3.0 - 1e-3, "{n} writes in {secs}s");
        assert!(cw.max_writes_in_any_second() <= 3);
    }

    /// Alarms created before Environment and Owner were generated: `Put*` leaves an existing alarm's
    /// tags as they are (the fake, as the service), so the planner finds them missing and `TagResource`
    /// adds them — only the missing ones, other tags kept — and the next plan is empty.
    #[tokio::test(start_paused = true)]
    async fn alarms_created_before_a_tag_was_generated_are_given_it() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let old = |name: &str| -> Vec<alarms::model::Tag> {
            let mut tags = cw.tags(name);
            tags.retain(|t| t.key != "Environment" && t.key != "Owner");
            tags.push(alarms::model::Tag {
                key: "Team".into(),
                value: "by hand".into(),
            });
            tags
        };
        for a in &cat.alarms {
            let name = a.alarm.name();
            cw.set_tags(name, old(name));
        }
        let planning = plan_with(&cw, &cat, "collectiq-prod", TagAudit::all())
            .await
            .unwrap();
        let text = planning.plan.render_text();
        assert!(!planning.plan.is_empty(), "{text}");
        assert_eq!(planning.plan.retag.len(), cat.alarms.len(), "{text}");
        assert!(text.contains(&format!("{} to tag", cat.alarms.len())), "{text}");
        assert!(text.contains("tags: + Environment=prod, Owner="), "{text}");
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("alarms"));
        assert_eq!(report.tagged.len(), cat.alarms.len());
        assert_eq!(
            report.write_calls,
            cat.alarms.len(),
            "one TagResource an alarm, no put"
        );
        let name = cat.alarms[0].alarm.name();
        let tags = cw.tags(name);
        let value = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.as_str());
        assert_eq!(value("Environment"), Some("prod"));
        assert_eq!(value("Team"), Some("by hand"), "other tags are kept");
        assert_eq!(value("ManagedBy"), Some(alarms::plan::MANAGED_BY));
        let again = plan_with(&cw, &cat, "collectiq-prod", TagAudit::all())
            .await
            .unwrap();
        assert!(again.plan.is_empty(), "{}", again.plan.render_text());
    }

    /// The default audit reads six unchanged alarms' tags a run, the next six each five minutes:
    /// every alarm is checked within ⌈n / 6⌉ runs.
    #[tokio::test(start_paused = true)]
    async fn each_run_checks_a_slice_of_the_unchanged_alarms_and_the_slices_cover_them_all() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        for a in &cat.alarms {
            let name = a.alarm.name();
            let mut tags = cw.tags(name);
            tags.retain(|t| t.key != "Owner");
            cw.set_tags(name, tags);
        }
        let n = cat.alarms.len();
        let runs = n.div_ceil(TAG_AUDIT_PER_RUN);
        let start: DateTime<Utc> = "2026-12-05T23:55:00Z".parse().unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for run in 0..runs {
            let at = start + chrono::Duration::minutes(5 * run as i64);
            let reads = cw.tag_reads();
            let planning = plan_with(&cw, &cat, "collectiq-prod", TagAudit::at(at))
                .await
                .unwrap();
            assert_eq!(cw.tag_reads() - reads, TAG_AUDIT_PER_RUN);
            assert_eq!(planning.plan.retag.len(), TAG_AUDIT_PER_RUN);
            for r in &planning.plan.retag {
                assert_eq!(r.tags.len(), 1, "{r:?}");
                seen.insert(r.name.clone());
            }
        }
        assert_eq!(seen.len(), n, "every alarm is checked within {runs} runs");
        let none = plan_with(&cw, &cat, "collectiq-prod", TagAudit { per_run: 0, turn: 0 })
            .await
            .unwrap();
        assert!(none.plan.retag.is_empty());
    }

    /// An unchanged alarm whose tags say it is another environment's, or that carries no ownership
    /// tags (made by hand), is not tagged as ours — a later run could delete it — and a failed
    /// `TagResource` is named.
    #[tokio::test(start_paused = true)]
    async fn another_environments_alarm_is_not_tagged_and_a_failed_tag_is_named() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let cw = published(&cat).await;
        let theirs = cat.alarms[0].alarm.name();
        cw.set_tags(
            theirs,
            vec![
                alarms::model::Tag {
                    key: alarms::plan::MANAGED_BY_TAG.into(),
                    value: alarms::plan::MANAGED_BY.into(),
                },
                alarms::model::Tag {
                    key: alarms::plan::PLATFORM_TAG.into(),
                    value: "collectiq-prod-eu".into(),
                },
            ],
        );
        let by_hand = cat.alarms[2].alarm.name();
        cw.set_tags(by_hand, Vec::new());
        // Ours, from before Environment and Owner were generated.
        let gone = cat.alarms[1].alarm.name();
        let mut ours = cw.tags(gone);
        ours.retain(|t| [alarms::plan::MANAGED_BY_TAG, alarms::plan::PLATFORM_TAG].contains(&t.key.as_str()));
        assert_eq!(ours.len(), 2);
        cw.set_tags(gone, ours);
        let planning = plan_with(&cw, &cat, "collectiq-prod", TagAudit::all())
            .await
            .unwrap();
        let names: Vec<&str> = planning.plan.retag.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, [gone], "{}", planning.plan.render_text());
        // Deleted by someone between the plan and the apply.
        cw.delete_alarms(&[gone.to_owned()]).await.unwrap();
        let report = apply(&cw, &planning.plan, ApplyOptions::default(), &NoProgress).await;
        assert_eq!(report.failures.len(), 1);
        assert_eq!(
            (report.failures[0].name.as_str(), report.failures[0].action),
            (gone, "tag")
        );
        assert!(
            report
                .render_text("alarms")
                .contains(&format!("✗ {gone} (tag): TagResource")),
            "{}",
            report.render_text("alarms")
        );
    }
}
