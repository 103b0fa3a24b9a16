//! Alarm plan, as a pure function: desired alarms vs what `DescribeAlarms` returned → create / update /
//! delete (only orphans under the managed prefix) / unchanged, with the monthly $ delta and noise
//! warnings, rendered like `terraform plan`. The shell does the I/O and writes only the changes.
//!
//! Both sides are [`normalize`]d first, so an alarm read back exactly as it was put compares
//! unchanged: action lists are sets, dimensions are sets, omitted values equal their defaults
//! (`DatapointsToAlarm` = `EvaluationPeriods`, `TreatMissingData` = `missing`, `ActionsEnabled` =
//! `true`, `ReturnData` = `true`), and tags are ignored (`DescribeAlarms` does not return them and
//! `PutMetricAlarm` ignores them on update).
//!
//! **Ownership is exact, never a bare prefix.** A published alarm that is not in the catalogue is deleted
//! only when [`owned_by`] says it is this environment's: its name is `{managed_prefix}-…` *and* it carries
//! the catalogue's tags `ManagedBy = collectiq-ops` and `Platform = {managed_prefix}` (the shell reads
//! them with `ListTagsForResource` for exactly these candidates, see [`ownership_candidates`]). Alarm
//! names cannot decide it alone: `collectiq-prod-eu-api-5xx-rate-critical` is a well-formed
//! `collectiq-prod` name for a resource called `eu-api`, so `prod` would delete `prod-eu`'s alarms as
//! orphans on every run. An untagged alarm under the prefix (made by hand, or before tags) is left alone
//! and counted as unmanaged.

use crate::cost::AlarmPricing;
use crate::model::{Alarm, Tag, TreatMissingData};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Tag key every generated alarm carries, with the value [`MANAGED_BY`].
pub const MANAGED_BY_TAG: &str = "ManagedBy";
/// The value of [`MANAGED_BY_TAG`].
pub const MANAGED_BY: &str = "collectiq-ops";
/// Tag key naming the environment that owns an alarm: its managed prefix (`collectiq-prod`), exactly.
pub const PLATFORM_TAG: &str = "Platform";

fn tags_of(alarm: &Alarm) -> &[crate::model::Tag] {
    match alarm {
        Alarm::Metric(m) => &m.tags,
        Alarm::Composite(c) => &c.tags,
    }
}

/// The value of `alarm`'s tag `key`, if it has one.
fn tag_of<'a>(alarm: &'a Alarm, key: &str) -> Option<&'a str> {
    tags_of(alarm)
        .iter()
        .find(|t| t.key == key)
        .map(|t| t.value.as_str())
}

/// Whether `alarm` (as published, with the tags the shell read for it) belongs to the environment
/// `managed_prefix`: the name is `{managed_prefix}-…` and the tags say `ManagedBy = collectiq-ops`,
/// `Platform = {managed_prefix}` exactly.
///
/// ```
/// use alarms::composite::{AlarmRule, CompositeAlarm};
/// use alarms::model::{Alarm, Tag};
/// use alarms::plan::owned_by;
/// let tagged = |name: &str, platform: &str| {
///     let mut c = CompositeAlarm::new(name, AlarmRule::alarm("x")).build().unwrap();
///     c.tags = vec![
///         Tag { key: "ManagedBy".into(), value: "collectiq-ops".into() },
///         Tag { key: "Platform".into(), value: platform.into() },
///     ];
///     Alarm::Composite(c)
/// };
/// assert!(owned_by(&tagged("collectiq-prod-api-errors-critical", "collectiq-prod"), "collectiq-prod"));
/// // prod-eu's alarm starts with "collectiq-prod-" too, but its tag names prod-eu.
/// let eu = tagged("collectiq-prod-eu-api-errors-critical", "collectiq-prod-eu");
/// assert!(!owned_by(&eu, "collectiq-prod"));
/// assert!(owned_by(&eu, "collectiq-prod-eu"));
/// ```
#[must_use]
pub fn owned_by(alarm: &Alarm, managed_prefix: &str) -> bool {
    let tag = |key| tag_of(alarm, key);
    alarm
        .name()
        .strip_prefix(managed_prefix)
        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('-'))
        && tag(MANAGED_BY_TAG) == Some(MANAGED_BY)
        && tag(PLATFORM_TAG) == Some(managed_prefix)
}

/// The published names whose tags decide whether they are orphans: under `{managed_prefix}-` and not
/// desired (a desired name is compared, never deleted). The shell reads tags for these only.
#[must_use]
pub fn ownership_candidates<'a>(
    desired: &[Alarm],
    published: &'a [&'a str],
    managed_prefix: &str,
) -> Vec<&'a str> {
    let prefix = format!("{managed_prefix}-");
    let wanted: BTreeSet<&str> = desired.iter().map(Alarm::name).collect();
    published
        .iter()
        .copied()
        .filter(|n| n.starts_with(&prefix) && !wanted.contains(n))
        .collect()
}

/// What the plan does with one alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlarmAction {
    /// `Put*Alarm` a new alarm.
    Create,
    /// `Put*Alarm` over a changed one (state is kept).
    Update,
    /// `DeleteAlarms` an orphan under the managed prefix.
    Delete,
    /// Nothing to do.
    Unchanged,
}

/// One field that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// API field name (`Threshold`).
    pub field: String,
    /// Published value (compact JSON), `(none)` if absent.
    pub before: String,
    /// Desired value.
    pub after: String,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmChange {
    /// Alarm name.
    pub name: String,
    /// Action.
    pub action: AlarmAction,
    /// Differing fields (updates).
    pub fields: Vec<FieldChange>,
    /// The desired alarm (create, update, unchanged).
    pub desired: Option<Alarm>,
    /// Monthly cost of the published alarm (0 if none).
    pub monthly_before: Decimal,
    /// Monthly cost of the desired alarm (0 if deleted).
    pub monthly_after: Decimal,
}

/// How often an alarm may page before the plan warns about noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoiseBudget {
    /// Most ALARM transitions tolerated in the window.
    pub max_fires: u32,
    /// Window, in days (CloudWatch keeps 14 days of history, and 15 days of 1-minute data).
    pub window_days: u32,
}

impl Default for NoiseBudget {
    fn default() -> Self {
        Self {
            max_fires: 5,
            window_days: 14,
        }
    }
}

/// The alarm plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmPlan {
    /// The managed prefix.
    pub managed_prefix: String,
    /// Changes sorted by name.
    pub changes: Vec<AlarmChange>,
    /// Published alarms outside the managed prefix (never touched).
    pub unmanaged: usize,
    /// Warnings (noise budget, ...).
    pub warnings: Vec<String>,
    /// Desired alarms not written because the published alarm of that name is another environment's
    /// ([`AlarmPlan::refuse_collisions`]): `(name, why)`.
    pub collisions: Vec<(String, String)>,
    /// Published alarms whose tags lack some of the generated ones ([`Retag`]), tagged by
    /// `TagResource`; the planner fills it in from the tags it read.
    pub retag: Vec<Retag>,
}

/// Tags a published alarm lacks or holds with another value. `PutMetricAlarm` and `PutCompositeAlarm`
/// ignore `Tags` when the alarm exists (CloudWatch API reference: "to change the tags of an existing
/// alarm, use TagResource"), so an alarm created before a tag was generated never gets it from a put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retag {
    /// Alarm name.
    pub name: String,
    /// Alarm ARN (`TagResource` takes it).
    pub arn: String,
    /// The tags to set: only those missing or different.
    pub tags: Vec<Tag>,
}

/// The tags of `want` that `have` lacks or holds with another value (a key appears once in each:
/// CloudWatch keeps one value a key).
///
/// ```
/// use alarms::model::Tag;
/// use alarms::plan::missing_tags;
/// let t = |k: &str, v: &str| Tag { key: k.into(), value: v.into() };
/// let want = [t("Environment", "prod"), t("Owner", "DevOps"), t("ManagedBy", "collectiq-ops")];
/// let have = [t("ManagedBy", "collectiq-ops"), t("Owner", "Ops"), t("Extra", "x")];
/// assert_eq!(missing_tags(&want, &have), [t("Environment", "prod"), t("Owner", "DevOps")]);
/// ```
#[must_use]
pub fn missing_tags(want: &[Tag], have: &[Tag]) -> Vec<Tag> {
    want.iter()
        .filter(|w| !have.iter().any(|h| h.key == w.key && h.value == w.value))
        .cloned()
        .collect()
}

impl AlarmPlan {
    /// Fills in [`Self::retag`]: for each alarm in `read` (published alarms whose tags were read, with
    /// their ARN) that the plan keeps — an update or unchanged — and that is this environment's
    /// ([`owned_by`]: its ownership tags are ours already), the generated tags it lacks. An alarm made
    /// by hand, by Terraform or by another environment is never tagged as ours: the ownership tags
    /// would let a later run delete it.
    pub fn plan_retags(&mut self, read: &[(&Alarm, &str)]) {
        let prefix = self.managed_prefix.as_str();
        self.retag = self
            .changes
            .iter()
            .filter(|c| matches!(c.action, AlarmAction::Update | AlarmAction::Unchanged))
            .filter_map(|c| {
                let want = c.desired.as_ref()?;
                let (have, arn) = read.iter().find(|(p, _)| p.name() == c.name)?;
                let tags = missing_tags(tags_of(want), tags_of(have));
                (owned_by(have, prefix) && !tags.is_empty()).then(|| Retag {
                    name: c.name.clone(),
                    arn: (*arn).to_owned(),
                    tags,
                })
            })
            .collect();
    }

    /// Takes out of the plan every update of an alarm whose published tags say it is another
    /// generated environment's (`ManagedBy=collectiq-ops`, `Platform` not this prefix): two
    /// environments in one account whose names meet (`collectiq-prod` with an API named `eu-api`,
    /// `collectiq-prod-eu` with one named `api`) would overwrite each other's alarm on every run, so one
    /// resource would always go unwatched. Each is listed in [`Self::collisions`] instead: a person
    /// renames one of the resources. `published` are the alarms read, with tags filled in for the
    /// updates.
    pub fn refuse_collisions(&mut self, published: &[&Alarm]) {
        let prefix = &self.managed_prefix;
        let mut collisions = Vec::new();
        self.changes.retain(|c| {
            if c.action != AlarmAction::Update {
                return true;
            }
            let Some(have) = published.iter().find(|p| p.name() == c.name) else {
                return true;
            };
            match (tag_of(have, MANAGED_BY_TAG), tag_of(have, PLATFORM_TAG)) {
                (Some(by), Some(platform)) if by == MANAGED_BY && platform != prefix.as_str() => {
                    collisions.push((
                        c.name.clone(),
                        format!(
                            "the published alarm of this name is {platform}'s (tag Platform={platform}): not \
                             overwritten; rename the resource of one of the two environments"
                        ),
                    ));
                    false
                }
                _ => true,
            }
        });
        self.collisions.extend(collisions);
    }

    /// How many changes of `action`.
    #[must_use]
    pub fn count(&self, action: AlarmAction) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// Monthly cost of the managed alarms before.
    #[must_use]
    pub fn monthly_before(&self) -> Decimal {
        self.changes.iter().map(|c| c.monthly_before).sum()
    }

    /// Monthly cost of the managed alarms after.
    #[must_use]
    pub fn monthly_after(&self) -> Decimal {
        self.changes.iter().map(|c| c.monthly_after).sum()
    }

    /// After − before.
    #[must_use]
    pub fn monthly_delta(&self) -> Decimal {
        self.monthly_after() - self.monthly_before()
    }

    /// Whether applying writes nothing and nothing waits for a person: an alarm left out for a name
    /// collision ([`Self::collisions`]) fails every apply until a resource is renamed, so a plan
    /// holding one is not empty (`plan --detailed-exitcode` says so).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.action == AlarmAction::Unchanged)
            && self.retag.is_empty()
            && self.collisions.is_empty()
    }

    /// Alarms to put, metric alarms first (composites reference them, so they must exist first).
    #[must_use]
    pub fn to_put(&self) -> Vec<&Alarm> {
        let mut v: Vec<&Alarm> = self
            .changes
            .iter()
            .filter(|c| matches!(c.action, AlarmAction::Create | AlarmAction::Update))
            .filter_map(|c| c.desired.as_ref())
            .collect();
        v.sort_by_key(|a| matches!(a, Alarm::Composite(_)));
        v
    }

    /// Names to delete (`DeleteAlarms` takes ≤ 100 per call). Composites are listed first, since an
    /// alarm a composite still references cannot be deleted.
    #[must_use]
    pub fn to_delete(&self) -> Vec<&str> {
        let mut v: Vec<(bool, &str)> = self
            .changes
            .iter()
            .filter(|c| c.action == AlarmAction::Delete)
            .map(|c| (!is_composite(c), c.name.as_str()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    }

    /// [`Self::to_delete`] in `DeleteAlarms` calls: at most `max` names a call, and at most one
    /// composite alarm a call (the API refuses a call naming two, and deletes none of it). Each
    /// composite goes alone, before the metric alarms it may reference.
    ///
    #[must_use]
    pub fn delete_batches(&self, max: usize) -> Vec<Vec<&str>> {
        let composites = self.composites_to_delete();
        let names = self.to_delete();
        let (first, rest) = names.split_at(composites);
        let mut batches: Vec<Vec<&str>> = first.iter().map(|n| vec![*n]).collect();
        batches.extend(rest.chunks(max.max(1)).map(<[&str]>::to_vec));
        batches
    }

    /// How many of [`Self::to_delete`] (its first ones) are composite alarms.
    fn composites_to_delete(&self) -> usize {
        self.changes
            .iter()
            .filter(|c| c.action == AlarmAction::Delete && is_composite(c))
            .count()
    }

    /// Adds a warning for every alarm that would have fired more than the budget allows (`fires`:
    /// alarm name → ALARM transitions in the window, from [`crate::backtest`]).
    pub fn apply_noise_budget(&mut self, fires: &BTreeMap<String, u32>, budget: NoiseBudget) {
        for (name, n) in fires {
            if *n > budget.max_fires {
                self.warnings.push(format!(
                    "{name} would have fired {n} times in the last {} days (noise budget {})",
                    budget.window_days, budget.max_fires
                ));
            }
        }
    }

    /// A `terraform plan`-like rendering.
    ///
    /// ```
    /// use alarms::plan::{plan_alarms};
    /// use alarms::spec::{MetricAlarm, MetricRef};
    /// use alarms::Alarm;
    /// use vocabulary::Stat;
    /// let a = MetricAlarm::new("app-prod-fn-x-errors-critical", MetricRef::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "x"), Stat::Sum, 60)
    ///     .above(0.0).build().unwrap();
    /// let plan = plan_alarms(&[Alarm::Metric(a)], &[], "app-prod", &Default::default());
    /// assert!(plan.render_text().contains("+ app-prod-fn-x-errors-critical"));
    /// ```
    #[must_use]
    pub fn render_text(&self) -> String {
        let mut s = format!("CloudWatch alarms under {}-*\n", self.managed_prefix);
        for c in &self.changes {
            let (sign, word) = match c.action {
                AlarmAction::Create => ('+', "create"),
                AlarmAction::Update => ('~', "update"),
                AlarmAction::Delete => ('-', "delete (orphan under the managed prefix)"),
                AlarmAction::Unchanged => continue,
            };
            let delta = c.monthly_after - c.monthly_before;
            let _ = writeln!(s, "  {sign} {:<64} {word} ({})", c.name, money(delta));
            if c.action == AlarmAction::Update {
                for f in &c.fields {
                    if f.before.contains('\n') || f.after.contains('\n') {
                        // Multi-line values (descriptions with their runbook) stay inside the change's
                        // indentation instead of spilling to column 0.
                        let _ = writeln!(s, "      ~ {}:", f.field);
                        let _ = writeln!(s, "          - {}", f.before.replace('\n', "\n            "));
                        let _ = writeln!(s, "          + {}", f.after.replace('\n', "\n            "));
                    } else {
                        let _ = writeln!(s, "      ~ {}: {} -> {}", f.field, f.before, f.after);
                    }
                }
            }
        }
        for r in &self.retag {
            let tags: Vec<String> = r.tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect();
            let _ = writeln!(s, "  ~ {:<64} tags: + {}", r.name, tags.join(", "));
        }
        for (name, why) in &self.collisions {
            let _ = writeln!(s, "  ✗ {name}: {why}");
        }
        for w in &self.warnings {
            let _ = writeln!(s, "  ! {w}");
        }
        let _ = writeln!(
            s,
            "Plan: {} to create, {} to update, {} to delete, {}{} unchanged ({} unmanaged untouched). Alarms: ${:.2}/mo -> ${:.2}/mo ({}/mo).",
            self.count(AlarmAction::Create),
            self.count(AlarmAction::Update),
            self.count(AlarmAction::Delete),
            if self.retag.is_empty() {
                String::new()
            } else {
                format!("{} to tag, ", self.retag.len())
            },
            self.count(AlarmAction::Unchanged),
            self.unmanaged,
            self.monthly_before(),
            self.monthly_after(),
            money(self.monthly_delta()),
        );
        // The "before" side is what CloudWatch holds, which anyone allowed PutMetricAlarm wrote.
        vocabulary::text::terminal_safe(&s)
    }
}

/// The one line after both plans: the monthly $ delta of alarms, dashboards and both. The dashboards'
/// side is `DashboardPlan::monthly_before`/`monthly_after` (this crate does not depend on `dashboards`).
///
/// ```
/// use alarms::plan::{plan_alarms, total_line};
/// let a = plan_alarms(&[], &[], "x", &Default::default());
/// assert_eq!(total_line(&a, 0.into(), 0.into()), "Monthly: alarms +$0.00, dashboards +$0.00, total +$0.00 ($0.00/mo -> $0.00/mo).");
/// ```
#[must_use]
pub fn total_line(alarms: &AlarmPlan, dashboards_before: Decimal, dashboards_after: Decimal) -> String {
    let before = alarms.monthly_before() + dashboards_before;
    let after = alarms.monthly_after() + dashboards_after;
    format!(
        "Monthly: alarms {}, dashboards {}, total {} (${before:.2}/mo -> ${after:.2}/mo).",
        money(alarms.monthly_delta()),
        money(dashboards_after - dashboards_before),
        money(after - before),
    )
}

/// `+$0.30` / `-$0.10`; a change that rounds to zero is `+$0.00`, never `-$0.00`.
fn money(d: Decimal) -> String {
    let cents = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    if cents.is_sign_negative() && !cents.is_zero() {
        format!("-${:.2}", cents.abs())
    } else {
        format!("+${:.2}", cents.abs())
    }
}

fn sorted_dedup(v: &mut Vec<String>) {
    v.sort();
    v.dedup();
}

/// The canonical form both sides are compared in (see the module docs).
///
/// ```
/// use alarms::plan::normalize;
/// use alarms::spec::{MetricAlarm, MetricRef};
/// use alarms::Alarm;
/// use vocabulary::Stat;
/// let a = MetricAlarm::new("a", MetricRef::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "x"), Stat::Sum, 60)
///     .above(0.0).build().unwrap();
/// let mut read_back = a.clone();
/// read_back.datapoints_to_alarm = None; // omitted = EvaluationPeriods
/// read_back.tags.clear();
/// assert_eq!(normalize(&Alarm::Metric(a)), normalize(&Alarm::Metric(read_back)));
/// ```
#[must_use]
pub fn normalize(alarm: &Alarm) -> Alarm {
    match alarm {
        Alarm::Metric(a) => {
            let mut a = a.clone();
            a.tags.clear();
            sorted_dedup(&mut a.ok_actions);
            sorted_dedup(&mut a.alarm_actions);
            sorted_dedup(&mut a.insufficient_data_actions);
            a.dimensions.sort();
            if a.datapoints_to_alarm.is_none() {
                a.datapoints_to_alarm = Some(a.evaluation_periods);
            }
            if a.treat_missing_data.is_none() {
                a.treat_missing_data = Some(TreatMissingData::Missing);
            }
            if a.actions_enabled.is_none() {
                a.actions_enabled = Some(true);
            }
            if a.alarm_description.as_deref() == Some("") {
                a.alarm_description = None;
            }
            if a.evaluate_low_sample_count_percentile.as_deref() == Some("") {
                a.evaluate_low_sample_count_percentile = None;
            }
            for q in &mut a.metrics {
                if q.return_data.is_none() {
                    q.return_data = Some(true);
                }
                if let Some(ms) = q.metric_stat.as_mut() {
                    ms.metric.dimensions.sort();
                }
            }
            Alarm::Metric(a)
        }
        Alarm::Composite(c) => {
            let mut c = c.clone();
            c.tags.clear();
            sorted_dedup(&mut c.ok_actions);
            sorted_dedup(&mut c.alarm_actions);
            sorted_dedup(&mut c.insufficient_data_actions);
            if c.actions_enabled.is_none() {
                c.actions_enabled = Some(true);
            }
            if c.alarm_description.as_deref() == Some("") {
                c.alarm_description = None;
            }
            if c.actions_suppressor.is_none() {
                c.actions_suppressor_wait_period = None;
                c.actions_suppressor_extension_period = None;
            }
            Alarm::Composite(c)
        }
    }
}

fn kind(a: &Alarm) -> &'static str {
    match a {
        Alarm::Metric(_) => "Metric",
        Alarm::Composite(_) => "Composite",
    }
}

fn field_changes(published: &Alarm, desired: &Alarm) -> Vec<FieldChange> {
    let to_map = |a: &Alarm| match serde_json::to_value(a) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (p, d) = (to_map(published), to_map(desired));
    let mut keys: Vec<&String> = p.keys().chain(d.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| p.get(*k) != d.get(*k))
        .map(|k| {
            let show = |v: Option<&serde_json::Value>| match v {
                None => "(none)".to_owned(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            };
            FieldChange {
                field: k.clone(),
                before: show(p.get(k)),
                after: show(d.get(k)),
            }
        })
        .collect()
}

/// Whether a change deletes or replaces a composite alarm (its `Kind` was `Composite`).
fn is_composite(c: &AlarmChange) -> bool {
    c.fields
        .iter()
        .any(|f| f.field == "Kind" && f.before == "Composite")
}

/// Plans `desired` against `published` (every alarm `DescribeAlarms` returned, with tags filled in for
/// the [`ownership_candidates`]): desired names are created or updated; a published alarm is deleted
/// only when [`owned_by`] the environment; everything else is left alone and counted as unmanaged.
///
/// ```
/// use alarms::catalogue::{catalogue_for, CatalogueOptions};
/// use alarms::plan::{plan_alarms, AlarmAction};
/// let spec = platform_spec::load(std::path::Path::new(concat!(
///     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/collectiq-prod.toml"
/// ))).unwrap();
/// let desired = catalogue_for(&spec, &CatalogueOptions::for_spec(&spec)).unwrap().inputs();
/// let first = plan_alarms(&desired, &[], "collectiq-prod", &Default::default());
/// assert_eq!(first.count(AlarmAction::Create), desired.len());
/// // After apply, DescribeAlarms returns the same alarms: the second plan writes nothing.
/// let second = plan_alarms(&desired, &desired, "collectiq-prod", &Default::default());
/// assert!(second.is_empty());
/// // Seen from an environment whose prefix is a bare prefix of these names: none is its orphan.
/// assert!(plan_alarms(&[], &desired, "collectiq", &Default::default()).to_delete().is_empty());
/// ```
#[must_use]
pub fn plan_alarms(
    desired: &[Alarm],
    published: &[Alarm],
    managed_prefix: &str,
    pricing: &AlarmPricing,
) -> AlarmPlan {
    let published_by_name: BTreeMap<&str, &Alarm> = published.iter().map(|a| (a.name(), a)).collect();
    let desired_by_name: BTreeMap<&str, &Alarm> = desired.iter().map(|a| (a.name(), a)).collect();
    let mut changes = Vec::with_capacity(desired.len());
    for (name, want) in &desired_by_name {
        let after = pricing.alarm_cost(want).monthly_usd;
        let (action, fields, before) = match published_by_name.get(name) {
            None => (AlarmAction::Create, Vec::new(), Decimal::ZERO),
            Some(have) => {
                let (n_have, n_want) = (normalize(have), normalize(want));
                let before = pricing.alarm_cost(have).monthly_usd;
                if n_have == n_want {
                    (AlarmAction::Unchanged, Vec::new(), before)
                } else {
                    let mut fields = field_changes(&n_have, &n_want);
                    if kind(have) != kind(want) {
                        fields.insert(
                            0,
                            FieldChange {
                                field: "Kind".into(),
                                before: kind(have).into(),
                                after: kind(want).into(),
                            },
                        );
                    }
                    (AlarmAction::Update, fields, before)
                }
            }
        };
        changes.push(AlarmChange {
            name: (*name).to_owned(),
            action,
            fields,
            desired: Some((*want).clone()),
            monthly_before: before,
            monthly_after: after,
        });
    }
    let mut unmanaged = 0;
    for (name, have) in &published_by_name {
        if desired_by_name.contains_key(name) {
            continue;
        }
        if !owned_by(have, managed_prefix) {
            unmanaged += 1;
        } else {
            changes.push(AlarmChange {
                name: (*name).to_owned(),
                action: AlarmAction::Delete,
                fields: vec![FieldChange {
                    field: "Kind".into(),
                    before: kind(have).into(),
                    after: "(none)".into(),
                }],
                desired: None,
                monthly_before: pricing.alarm_cost(have).monthly_usd,
                monthly_after: Decimal::ZERO,
            });
        }
    }
    changes.sort_by(|a, b| a.name.cmp(&b.name));
    AlarmPlan {
        managed_prefix: managed_prefix.to_owned(),
        changes,
        unmanaged,
        warnings: Vec::new(),
        collisions: Vec::new(),
        retag: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{CatalogueOptions, catalogue_for};
    use crate::composite::{AlarmRule, CompositeAlarm};
    use crate::model::Dimension;
    use rust_decimal_macros::dec;

    #[test]
    fn money_is_signed_and_never_negative_zero() {
        assert_eq!(money(dec!(0.3)), "+$0.30");
        assert_eq!(money(dec!(-0.1)), "-$0.10");
        assert_eq!(money(dec!(-0.004)), "+$0.00");
        assert_eq!(money(dec!(-0.005)), "-$0.01");
    }

    fn desired() -> Vec<Alarm> {
        let s = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap();
        catalogue_for(&s, &CatalogueOptions::for_spec(&s))
            .unwrap()
            .inputs()
    }

    /// The tags the catalogue puts on every alarm of `prefix` (as `ListTagsForResource` returns them).
    fn ours(prefix: &str) -> Vec<crate::model::Tag> {
        vec![
            crate::model::Tag {
                key: MANAGED_BY_TAG.into(),
                value: MANAGED_BY.into(),
            },
            crate::model::Tag {
                key: PLATFORM_TAG.into(),
                value: prefix.into(),
            },
        ]
    }

    /// What DescribeAlarms gives back: no tags, defaults omitted, actions and dimensions reordered.
    fn read_back(a: &Alarm) -> Alarm {
        match a.clone() {
            Alarm::Metric(mut m) => {
                m.tags.clear();
                if m.datapoints_to_alarm == Some(m.evaluation_periods) {
                    m.datapoints_to_alarm = None;
                }
                m.ok_actions.reverse();
                m.dimensions.reverse();
                for q in &mut m.metrics {
                    if q.return_data == Some(true) {
                        q.return_data = None;
                    }
                    if let Some(ms) = q.metric_stat.as_mut() {
                        ms.metric.dimensions.reverse();
                    }
                }
                Alarm::Metric(m)
            }
            Alarm::Composite(mut c) => {
                c.tags.clear();
                c.actions_enabled = None;
                Alarm::Composite(c)
            }
        }
    }

    #[test]
    fn read_back_alarms_compare_unchanged() {
        let want = desired();
        let published: Vec<Alarm> = want.iter().map(read_back).collect();
        let plan = plan_alarms(&want, &published, "collectiq-prod", &AlarmPricing::default());
        assert!(plan.is_empty(), "{}", plan.render_text());
        assert_eq!(plan.monthly_delta(), Decimal::ZERO);
        assert!(plan.to_put().is_empty() && plan.to_delete().is_empty());
    }

    #[test]
    fn threshold_change_is_an_update_with_the_field() {
        let want = desired();
        let mut published: Vec<Alarm> = want.iter().map(read_back).collect();
        if let Alarm::Metric(m) = &mut published[0] {
            m.threshold = Some(3.0);
        }
        let plan = plan_alarms(&want, &published, "collectiq-prod", &AlarmPricing::default());
        assert_eq!(plan.count(AlarmAction::Update), 1);
        let c = plan
            .changes
            .iter()
            .find(|c| c.action == AlarmAction::Update)
            .unwrap();
        assert_eq!(
            c.fields,
            vec![FieldChange {
                field: "Threshold".into(),
                before: "3.0".into(),
                after: "5.0".into()
            }]
        );
        assert!(
            plan.render_text().contains("      ~ Threshold: 3.0 -> 5.0\n"),
            "{}",
            plan.render_text()
        );
        assert_eq!(plan.to_put().len(), 1);
    }

    #[test]
    fn multi_line_description_change_stays_indented() {
        let want = desired();
        let mut published: Vec<Alarm> = want.iter().map(read_back).collect();
        if let Alarm::Metric(m) = &mut published[0] {
            m.alarm_description = None;
        }
        let plan = plan_alarms(&want, &published, "collectiq-prod", &AlarmPricing::default());
        let text = plan.render_text();
        let change = plan
            .changes
            .iter()
            .find(|c| c.action == AlarmAction::Update)
            .unwrap();
        assert!(
            change
                .fields
                .iter()
                .any(|f| f.field == "AlarmDescription" && f.after.contains('\n'))
        );
        assert!(
            text.contains("      ~ AlarmDescription:\n          - (none)\n          + "),
            "{text}"
        );
        // Every line of the change is indented under the alarm: nothing spills to column 0 except the
        // header and the plan summary.
        for line in text.lines().skip(1) {
            assert!(
                line.starts_with(' ') || line.starts_with("Plan: "),
                "unindented line {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn orphans_under_prefix_deleted_others_untouched_composites_first() {
        let want = desired();
        let mut published: Vec<Alarm> = want.iter().map(read_back).collect();
        let orphan_metric = match &want[0] {
            Alarm::Metric(m) => {
                let mut m = m.clone();
                m.alarm_name = "collectiq-prod-old-signal-warning".into();
                m.dimensions = vec![Dimension {
                    name: "FunctionName".into(),
                    value: "gone".into(),
                }];
                Alarm::Metric(m)
            }
            Alarm::Composite(_) => panic!(),
        };
        let mut orphan_comp = CompositeAlarm::new(
            "collectiq-prod-zz-old-critical",
            AlarmRule::alarm("collectiq-prod-old-signal-warning"),
        )
        .build()
        .unwrap();
        orphan_comp.tags = ours("collectiq-prod");
        let orphan_comp = Alarm::Composite(orphan_comp);
        let mut foreign = orphan_metric.clone();
        if let Alarm::Metric(m) = &mut foreign {
            m.alarm_name = "collectiq-production-other".into();
        }
        published.extend([orphan_metric, orphan_comp, foreign]);
        let plan = plan_alarms(&want, &published, "collectiq-prod", &AlarmPricing::default());
        assert_eq!(
            plan.to_delete(),
            [
                "collectiq-prod-zz-old-critical",
                "collectiq-prod-old-signal-warning"
            ]
        );
        assert_eq!(plan.unmanaged, 1);
        assert_eq!(plan.monthly_delta(), -(dec!(0.50) + dec!(0.20)));
    }

    /// DeleteAlarms takes at most 100 names and at most one composite a call (two composites in one
    /// call are refused, and nothing in it is deleted): each composite alone, first, then the metric
    /// alarms in hundreds.
    #[test]
    fn delete_batches_hold_at_most_one_composite_and_a_hundred_names() {
        let want = desired();
        let template = match &want[0] {
            Alarm::Metric(m) => m.clone(),
            Alarm::Composite(_) => panic!(),
        };
        let mut published: Vec<Alarm> = want.iter().map(read_back).collect();
        for i in 0..150 {
            let mut m = template.clone();
            m.alarm_name = format!("collectiq-prod-old-{i:03}-warning");
            published.push(Alarm::Metric(m));
        }
        for i in 0..3 {
            let mut c = CompositeAlarm::new(
                format!("collectiq-prod-old-{i}-critical"),
                AlarmRule::alarm("collectiq-prod-old-000-warning"),
            )
            .build()
            .unwrap();
            c.tags = ours("collectiq-prod");
            published.push(Alarm::Composite(c));
        }
        let plan = plan_alarms(&want, &published, "collectiq-prod", &AlarmPricing::default());
        let batches = plan.delete_batches(100);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 1, 1, 100, 50]);
        for b in &batches[..3] {
            assert!(b[0].ends_with("-critical"), "{b:?}");
        }
        assert!(batches[3..].iter().flatten().all(|n| n.ends_with("-warning")));
        assert_eq!(batches.iter().flatten().count(), plan.to_delete().len());
    }

    /// Two environments in one account, `prod` and `prod-eu`: every `prod-eu` name also starts with
    /// `collectiq-prod-`. Neither plan deletes the other's alarms; each deletes only its own orphan.
    #[test]
    fn prod_and_prod_eu_side_by_side_never_delete_each_other() {
        let prod = desired();
        let eu: Vec<Alarm> = prod
            .iter()
            .map(|a| {
                let mut a = a.clone();
                let rename = |n: &mut String| *n = n.replacen("collectiq-prod-", "collectiq-prod-eu-", 1);
                match &mut a {
                    Alarm::Metric(m) => {
                        rename(&mut m.alarm_name);
                        m.tags = ours("collectiq-prod-eu");
                    }
                    Alarm::Composite(c) => {
                        rename(&mut c.alarm_name);
                        c.tags = ours("collectiq-prod-eu");
                    }
                }
                a
            })
            .collect();
        let orphan = |name: &str, prefix: &str| {
            let mut c = CompositeAlarm::new(name, AlarmRule::alarm("x")).build().unwrap();
            c.tags = ours(prefix);
            Alarm::Composite(c)
        };
        let mut account: Vec<Alarm> = prod.iter().chain(&eu).cloned().collect();
        account.push(orphan("collectiq-prod-retired-critical", "collectiq-prod"));
        account.push(orphan("collectiq-prod-eu-retired-critical", "collectiq-prod-eu"));
        // A hand-made alarm under the prefix, untagged: nobody's to delete.
        let mut by_hand = CompositeAlarm::new("collectiq-prod-by-hand-critical", AlarmRule::alarm("x"))
            .build()
            .unwrap();
        by_hand.tags.clear();
        account.push(Alarm::Composite(by_hand));

        let p = plan_alarms(&prod, &account, "collectiq-prod", &AlarmPricing::default());
        assert_eq!(p.to_delete(), ["collectiq-prod-retired-critical"]);
        assert_eq!(p.unmanaged, eu.len() + 2);
        let e = plan_alarms(&eu, &account, "collectiq-prod-eu", &AlarmPricing::default());
        assert_eq!(e.to_delete(), ["collectiq-prod-eu-retired-critical"]);
        // The candidates whose tags the shell reads for prod include prod-eu's names (the name alone
        // cannot tell), never a desired name.
        let names: Vec<&str> = account.iter().map(Alarm::name).collect();
        let c = ownership_candidates(&prod, &names, "collectiq-prod");
        assert_eq!(c.len(), eu.len() + 3);
        assert!(!c.contains(&prod[0].name()));
    }

    #[test]
    fn every_catalogue_alarm_is_owned_by_its_environment_and_no_other() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms");
        let mut checked = 0;
        for path in platform_spec::spec_files(&dir).unwrap() {
            let s = platform_spec::load(&path).unwrap();
            let prefix = s.managed_prefix();
            for a in catalogue_for(&s, &CatalogueOptions::for_spec(&s))
                .unwrap()
                .inputs()
            {
                assert!(owned_by(&a, &prefix), "{} not owned by {prefix}", a.name());
                assert!(!owned_by(&a, &format!("{prefix}-eu")), "{}", a.name());
                let shorter = &prefix[..prefix.rfind('-').unwrap()];
                assert!(!owned_by(&a, shorter), "{} owned by {shorter}", a.name());
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn first_plan_puts_metric_alarms_before_composites_and_prices_them() {
        let want = desired();
        let plan = plan_alarms(&want, &[], "collectiq-prod", &AlarmPricing::default());
        let puts = plan.to_put();
        assert_eq!(puts.len(), want.len());
        let first_composite = puts
            .iter()
            .position(|a| matches!(a, Alarm::Composite(_)))
            .unwrap();
        assert!(
            puts[first_composite..]
                .iter()
                .all(|a| matches!(a, Alarm::Composite(_)))
        );
        assert_eq!(plan.monthly_before(), Decimal::ZERO);
        // 130 alarm metrics × $0.10 + 17 composites × $0.50.
        assert_eq!(plan.monthly_after(), dec!(21.50));
        assert!(
            plan.render_text()
                .ends_with("Alarms: $0.00/mo -> $21.50/mo (+$21.50/mo).\n"),
            "{}",
            plan.render_text()
        );
    }

    #[test]
    fn noise_budget_warns() {
        let want = desired();
        let mut plan = plan_alarms(&want, &[], "collectiq-prod", &AlarmPricing::default());
        let fires = BTreeMap::from([
            ("collectiq-prod-api-5xx-rate-critical".to_owned(), 9),
            ("collectiq-prod-api-latency-p95-warning".to_owned(), 5),
        ]);
        plan.apply_noise_budget(&fires, NoiseBudget::default());
        assert_eq!(
            plan.warnings,
            [
                "collectiq-prod-api-5xx-rate-critical would have fired 9 times in the last 14 days (noise budget 5)"
            ]
        );
        assert!(
            plan.render_text()
                .contains("  ! collectiq-prod-api-5xx-rate-critical would have fired 9 times")
        );
    }

    #[test]
    fn rendered_plan_snapshot() {
        let want = desired();
        let mut published: Vec<Alarm> = want.iter().map(read_back).collect();
        // one update, one create (removed from published), one orphan delete
        if let Alarm::Metric(m) = &mut published[1] {
            m.evaluation_periods = 3;
            m.datapoints_to_alarm = Some(2);
        }
        let created = published.remove(2);
        let mut orphan = created.clone();
        if let Alarm::Metric(m) = &mut orphan {
            m.alarm_name = "collectiq-prod-fn-retired-error-rate-critical".into();
            m.tags = ours("collectiq-prod");
        }
        published.push(orphan);
        let mut plan = plan_alarms(&want, &published, "collectiq-prod", &AlarmPricing::default());
        plan.apply_noise_budget(
            &BTreeMap::from([(created.name().to_owned(), 12)]),
            NoiseBudget::default(),
        );
        assert_eq!(
            (
                plan.count(AlarmAction::Create),
                plan.count(AlarmAction::Update),
                plan.count(AlarmAction::Delete)
            ),
            (1, 1, 1)
        );
        assert_eq!(plan.monthly_delta(), Decimal::ZERO);
        let text = plan.render_text();
        assert!(text.contains(&format!("+ {}", created.name())));
        assert!(text.contains("- collectiq-prod-fn-retired-error-rate-critical"));
        insta::assert_snapshot!("plan_text_mixed", text);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn plan_invariants(
            keep in proptest::collection::vec(proptest::bool::ANY, 54),
            publish in proptest::collection::vec(proptest::bool::ANY, 54),
            bump in proptest::collection::vec(proptest::bool::ANY, 54),
            orphans in 0usize..4, foreign in 0usize..4,
        ) {
            let all = desired();
            let want: Vec<Alarm> = all.iter().zip(&keep).filter(|(_, k)| **k).map(|(a, _)| a.clone()).collect();
            let mut published: Vec<Alarm> = Vec::new();
            for ((a, p), b) in all.iter().zip(&publish).zip(&bump) {
                if !*p { continue; }
                let mut r = read_back(a);
                if *b && let Alarm::Metric(m) = &mut r { m.evaluation_periods += 1; }
                // With the tags the shell reads for a candidate (the catalogue's own).
                match (&mut r, a) {
                    (Alarm::Metric(m), Alarm::Metric(o)) => m.tags.clone_from(&o.tags),
                    (Alarm::Composite(c), Alarm::Composite(o)) => c.tags.clone_from(&o.tags),
                    _ => {}
                }
                published.push(r);
            }
            // Orphans as the shell hands them over: with the tags it read for them.
            let mut template = read_back(&all[0]);
            if let Alarm::Metric(m) = &mut template { m.tags = ours("collectiq-prod"); }
            for i in 0..orphans {
                let mut o = template.clone();
                if let Alarm::Metric(m) = &mut o { m.alarm_name = format!("collectiq-prod-orphan{i}-x-warning"); }
                published.push(o);
            }
            for i in 0..foreign {
                let mut o = template.clone();
                if let Alarm::Metric(m) = &mut o { m.alarm_name = format!("someone-else-{i}"); }
                published.push(o);
                // prod-eu's copy of an alarm: under "collectiq-prod-" by name, prod-eu's by tag.
                let mut eu = template.clone();
                if let Alarm::Metric(m) = &mut eu {
                    m.alarm_name = format!("collectiq-prod-eu-orphan{i}-x-warning");
                    m.tags = ours("collectiq-prod-eu");
                }
                published.push(eu);
            }
            let plan = plan_alarms(&want, &published, "collectiq-prod", &AlarmPricing::default());
            let n = |a| plan.count(a);
            proptest::prop_assert_eq!(n(AlarmAction::Create) + n(AlarmAction::Update) + n(AlarmAction::Unchanged), want.len());
            proptest::prop_assert_eq!(plan.unmanaged, 2 * foreign);
            let wanted: std::collections::BTreeSet<&str> = want.iter().map(Alarm::name).collect();
            for d in plan.to_delete() {
                proptest::prop_assert!(d.starts_with("collectiq-prod-") && !wanted.contains(d));
            }
            // Everything under "collectiq-prod-" is prod's (tagged so) except prod-eu's copies.
            let prods = |p: &&Alarm| p.name().starts_with("collectiq-prod-") && !p.name().starts_with("collectiq-prod-eu-");
            let expected_deletes = published.iter().filter(prods).filter(|p| !wanted.contains(p.name())).count();
            proptest::prop_assert_eq!(plan.to_delete().len(), expected_deletes);
            // Applying the plan and planning again writes nothing.
            let after: Vec<Alarm> = want.iter().map(read_back).chain(published.iter().filter(|p| !prods(p)).cloned()).collect();
            proptest::prop_assert!(plan_alarms(&want, &after, "collectiq-prod", &AlarmPricing::default()).is_empty());
        }
    }

    #[test]
    fn kind_change_is_reported() {
        let m = match &desired()[0] {
            Alarm::Metric(m) => m.clone(),
            Alarm::Composite(_) => panic!(),
        };
        let comp = Alarm::Composite(
            CompositeAlarm::new(m.alarm_name.clone(), AlarmRule::alarm("x"))
                .build()
                .unwrap(),
        );
        let plan = plan_alarms(
            &[Alarm::Metric(m)],
            &[comp],
            "collectiq-prod",
            &AlarmPricing::default(),
        );
        assert_eq!(
            plan.changes[0].fields[0],
            FieldChange {
                field: "Kind".into(),
                before: "Composite".into(),
                after: "Metric".into()
            }
        );
    }
}
