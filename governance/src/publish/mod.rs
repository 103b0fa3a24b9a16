//! Publishing dashboards and alarms: the shell around the pure `dashboards` and `alarms` crates.
//!
//! ```text
//! platform spec ─► catalogue + dashboards (pure) ─┐
//! DescribeAlarms / ListDashboards + GetDashboard ─┴► plan (pure) ─► apply: only changes, ≤ 3 alarm writes/s,
//!                                                                   orphans under the prefix deleted
//! DescribeAlarms + history + X-Ray ─► alarm-state summary (pure) ─► terminal, Slack, SNS escalation (once)
//! ```
//!
//! - [`cloudwatch`]: the [`cloudwatch::CloudWatchApi`] trait (only the operations used), its SDK
//!   implementation and the conversions of the alarms crate's input structs.
//! - [`alarms`] / [`dashboards`]: plan and apply. [`pacer`]: the 3-TPS pacer. [`orphans`]: which
//!   orphan alarms a composite that stays still holds, and the order the others are deleted in.
//! - [`queries`]: the Logs Insights saved queries (`DescribeQueryDefinitions` / `PutQueryDefinition` /
//!   `DeleteQueryDefinition`), planned and applied like dashboards; run with them.
//! - [`backtest`]: noise budget from `GetMetricData`. [`state`]: the state report and escalation.
//! - [`lambda`]: the Lambda handlers (`collectiq-ops dashboards …` and `alarms …` are in the ops front).
//! - [`progress`]: the [`ApplyProgress`] callback an apply reports to (the front draws bars).
//! - `fake` (feature `testing`): an in-memory CloudWatch for tests and benchmarks.
//!
//! User guide: `docs/publishing.md`.

pub mod alarms;
pub mod api_ids;
pub mod backtest;
pub mod cloudwatch;
pub mod dashboards;
#[cfg(any(test, feature = "testing"))]
pub mod fake;
pub mod lambda;
pub mod orphans;
pub mod pacer;
pub mod progress;
pub mod queries;
pub mod state;

use ::alarms::catalogue::{Catalogue, CatalogueError};
use ::alarms::plan::AlarmAction;
use ::dashboards::model::Dashboard;
use ::dashboards::plan::{DashboardAction, DashboardPlan};
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;
use serde::Serialize;

pub use self::alarms::{ApplyOptions, ApplyReport, ItemFailure};
pub use self::cloudwatch::{ApiError, CloudWatchApi};
pub use self::progress::{ApplyProgress, NoProgress};

impl From<CatalogueError> for PublishError {
    fn from(e: CatalogueError) -> Self {
        Self::Catalogue(e)
    }
}

impl From<::dashboards::BuildError> for PublishError {
    fn from(e: ::dashboards::BuildError) -> Self {
        Self::Dashboards(e)
    }
}

/// Why nothing could be planned.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The generated alarm catalogue is invalid (a bug). Its text is in the message, not a `source`:
    /// a chain printed whole (`{:#}`) would say it twice.
    #[error("alarm catalogue: {0}")]
    Catalogue(CatalogueError),
    /// A generated dashboard is invalid (a bug); its text in the message, as above.
    #[error("dashboards: {0}")]
    Dashboards(::dashboards::BuildError),
    /// Reading what is published failed.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// What is desired for a spec: the alarm catalogue and the dashboards.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The alarm catalogue.
    pub catalogue: Catalogue,
    /// The dashboards (the overview shows the catalogue's notifying alarms).
    pub dashboards: Vec<Dashboard>,
}

impl Desired {
    /// Generates both for `spec`.
    ///
    /// ```
    /// let spec = platform_spec::load(std::path::Path::new(concat!(
    ///     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/collectiq-prod.toml"
    /// ))).unwrap();
    /// let d = governance::publish::Desired::for_spec(&spec).unwrap();
    /// assert_eq!(d.dashboards.len(), 8);
    /// assert!(d.catalogue.alarms.len() > 50);
    /// ```
    ///
    /// # Errors
    /// [`PublishError::Catalogue`] or [`PublishError::Dashboards`].
    pub fn for_spec(spec: &PlatformSpec) -> Result<Self, PublishError> {
        Self::for_spec_in(spec, ::dashboards::catalogue::BillingAccount::of(spec))
    }

    /// [`Self::for_spec`] for a platform whose account is `billing` (an organisation run knows when the
    /// account runs other platforms too: their spend is in `EstimatedCharges`, so the dashboards draw
    /// no budget line a budget without billing alarms cannot be compared with).
    ///
    /// # Errors
    /// As [`Self::for_spec`].
    pub fn for_spec_in(
        spec: &PlatformSpec,
        billing: ::dashboards::catalogue::BillingAccount,
    ) -> Result<Self, PublishError> {
        let catalogue = self::alarms::desired_catalogue(spec)?;
        let dashboards = self::dashboards::desired_dashboards_in(spec, Some(&catalogue), billing)?;
        Ok(Self {
            catalogue,
            dashboards,
        })
    }
}

/// Both plans.
#[derive(Debug, Clone)]
pub struct PublishPlan {
    /// Dashboards.
    pub dashboards: DashboardPlan,
    /// Alarms, and every alarm that was read.
    pub alarms: self::alarms::AlarmPlanning,
}

impl PublishPlan {
    /// Monthly $ delta of dashboards and alarms together.
    #[must_use]
    pub fn monthly_delta(&self) -> Decimal {
        self.dashboards.monthly_delta() + self.alarms.monthly_delta()
    }

    /// Whether applying writes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.dashboards.is_empty() && self.alarms.is_empty()
    }

    /// Both plans, `terraform plan`-like, and the total.
    #[must_use]
    pub fn render_text(&self) -> String {
        format!(
            "{}\n{}\nTotal monthly change: {}/mo\n",
            self.dashboards.render_text(),
            self.alarms.render_text(),
            signed_usd(self.monthly_delta())
        )
    }
}

/// A monthly cost change, `+$1.20` / `-$0.50` (never `-$0.00`).
pub use cost::format::signed_usd;

/// Reads what is published and plans both.
///
/// # Errors
/// [`PublishError::Api`] when a read fails.
pub async fn plan_all<C: CloudWatchApi>(
    cw: &C,
    spec: &PlatformSpec,
    desired: &Desired,
) -> Result<PublishPlan, PublishError> {
    plan_all_with(cw, spec, desired, self::alarms::TagAudit::at(chrono::Utc::now())).await
}

/// [`plan_all`], checking the tags of the unchanged alarms `audit` picks (a daily run checks all:
/// [`self::alarms::TagAudit::all`]).
///
/// # Errors
/// As [`plan_all`].
pub async fn plan_all_with<C: CloudWatchApi>(
    cw: &C,
    spec: &PlatformSpec,
    desired: &Desired,
    audit: self::alarms::TagAudit,
) -> Result<PublishPlan, PublishError> {
    let prefix = spec.managed_prefix();
    let dashboards = self::dashboards::plan(cw, &desired.dashboards, &prefix).await?;
    let alarms = self::alarms::plan_with(cw, &desired.catalogue, &prefix, audit).await?;
    Ok(PublishPlan { dashboards, alarms })
}

/// What applying both plans did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// Dashboards.
    pub dashboards: ApplyReport,
    /// Alarms.
    pub alarms: ApplyReport,
}

impl PublishReport {
    /// Whether everything was written.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.dashboards.ok() && self.alarms.ok()
    }

    /// Write calls in total.
    #[must_use]
    pub fn write_calls(&self) -> usize {
        self.dashboards.write_calls + self.alarms.write_calls
    }

    /// Failures other than "the endpoint does not implement this" (moto and `PutCompositeAlarm`).
    #[must_use]
    pub fn real_failures(&self) -> Vec<&ItemFailure> {
        self.dashboards
            .failures
            .iter()
            .chain(&self.alarms.failures)
            .filter(|f| !f.error.is_not_implemented())
            .collect()
    }

    /// Both summaries.
    #[must_use]
    pub fn render_text(&self) -> String {
        format!(
            "{}{}",
            self.dashboards.render_text("dashboards"),
            self.alarms.render_text("alarms")
        )
    }
}

/// Applies both plans (dashboards first: they are cheap and fast), each with its own progress bar.
pub async fn apply_all<C: CloudWatchApi, P: ApplyProgress>(
    cw: &C,
    plan: &PublishPlan,
    options: ApplyOptions,
    progress: impl Fn(&str) -> P,
) -> PublishReport {
    let dashboards = self::dashboards::apply(cw, &plan.dashboards, &progress("dashboards")).await;
    let alarms = self::alarms::apply(cw, &plan.alarms.plan, options, &progress("alarms")).await;
    PublishReport { dashboards, alarms }
}

/// A machine-readable view of a plan (the pure plans hold full documents; this lists names and money).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanView {
    /// To create.
    pub create: Vec<String>,
    /// To update, with what differs.
    pub update: Vec<(String, Vec<String>)>,
    /// To delete (orphans under the managed prefix).
    pub delete: Vec<String>,
    /// Orphans not deleted because a composite alarm that stays references them, with those
    /// composites ([`self::alarms::AlarmPlanning::held`]); counted in `unchanged`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<self::orphans::HeldOrphan>,
    /// Published alarms to give the generated tags they lack (`Key=Value`), by `TagResource`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tag: Vec<(String, Vec<String>)>,
    /// Alarms not written, and why: another environment's of the same name, or one whose tags could
    /// not be read ([`alarms::plan::AlarmPlan::collisions`]); each fails the apply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub collisions: Vec<(String, String)>,
    /// Unchanged.
    pub unchanged: usize,
    /// Monthly USD before.
    pub monthly_before_usd: Decimal,
    /// Monthly USD after.
    pub monthly_after_usd: Decimal,
    /// Warnings.
    pub warnings: Vec<String>,
}

impl PlanView {
    /// The view of a dashboard plan.
    #[must_use]
    pub fn of_dashboards(p: &DashboardPlan) -> Self {
        let names = |a: DashboardAction| {
            p.changes
                .iter()
                .filter(|c| c.action == a)
                .map(|c| c.name.clone())
                .collect()
        };
        Self {
            create: names(DashboardAction::Create),
            update: p
                .changes
                .iter()
                .filter(|c| c.action == DashboardAction::Update)
                .map(|c| (c.name.clone(), c.details.clone()))
                .collect(),
            delete: names(DashboardAction::Delete),
            held: Vec::new(),
            tag: Vec::new(),
            collisions: Vec::new(),
            unchanged: p.count(DashboardAction::Unchanged),
            monthly_before_usd: p.monthly_before,
            monthly_after_usd: p.monthly_after,
            warnings: Vec::new(),
        }
    }

    /// The view of an alarm plan, as apply will carry it out: a held orphan is under `held`, not
    /// `delete` ([`self::alarms::AlarmPlanning::as_applied`]).
    #[must_use]
    pub fn of_alarms(planning: &self::alarms::AlarmPlanning) -> Self {
        let p = &planning.as_applied();
        let names = |a: AlarmAction| {
            p.changes
                .iter()
                .filter(|c| c.action == a)
                .map(|c| c.name.clone())
                .collect()
        };
        Self {
            create: names(AlarmAction::Create),
            update: p
                .changes
                .iter()
                .filter(|c| c.action == AlarmAction::Update)
                .map(|c| {
                    (
                        c.name.clone(),
                        c.fields
                            .iter()
                            .map(|f| format!("{}: {} -> {}", f.field, f.before, f.after))
                            .collect(),
                    )
                })
                .collect(),
            delete: names(AlarmAction::Delete),
            held: planning.held.clone(),
            tag: p
                .retag
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        r.tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect(),
                    )
                })
                .collect(),
            collisions: p.collisions.clone(),
            unchanged: p.count(AlarmAction::Unchanged),
            monthly_before_usd: p.monthly_before(),
            monthly_after_usd: p.monthly_after(),
            warnings: p.warnings.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::fake::FakeCloudWatch;

    /// The CLI prints an error with its chain (`{:#}`): a catalogue error says its text once.
    #[test]
    fn a_catalogue_error_is_said_once() {
        let e = anyhow::Error::from(PublishError::from(CatalogueError::DuplicateName {
            name: "x-warning".into(),
            first: "tables[0].name".into(),
            second: "tables[1].name".into(),
        }));
        let text = format!("{e:#}");
        assert_eq!(text.matches("x-warning").count(), 1, "{text}");
        assert!(text.starts_with("alarm catalogue: "), "{text}");
    }

    /// An organisation run publishes Backoffice dev (its budget has no billing alarms: its account's
    /// `EstimatedCharges` holds CollectIQ dev's spend too) without budget lines against the account's
    /// spend; in an account of its own, the same spec keeps them. Its spec says the account is shared,
    /// so its own publisher (`Desired::for_spec`) draws exactly what the organisation pass draws: the
    /// two no longer rewrite each other's dashboards every day.
    #[test]
    fn a_shared_account_publishes_no_budget_line_it_cannot_compare() {
        let spec = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/backoffice-dev.toml"),
        )
        .unwrap();
        let overview = |d: &Desired| {
            let o = d
                .dashboards
                .iter()
                .find(|x| x.name.ends_with("-overview"))
                .expect("an overview");
            serde_json::to_string(&o.body).unwrap()
        };
        assert!(spec.platform.shared_account);
        let own =
            overview(&Desired::for_spec_in(&spec, ::dashboards::catalogue::BillingAccount::Own).unwrap());
        let shared =
            overview(&Desired::for_spec_in(&spec, ::dashboards::catalogue::BillingAccount::Shared).unwrap());
        assert!(own.contains("\"label\":\"budget "), "{own}");
        assert!(!shared.contains("\"label\":\"budget "), "{shared}");
        assert!(shared.contains("spend (whole account)"), "{shared}");
        for name in ["backoffice-dev", "collectiq-dev"] {
            let spec = platform_spec::load(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("../infra/platforms/{name}.toml")),
            )
            .unwrap();
            assert_eq!(
                Desired::for_spec(&spec).unwrap().dashboards,
                Desired::for_spec_in(&spec, ::dashboards::catalogue::BillingAccount::Shared)
                    .unwrap()
                    .dashboards,
                "{name}: its own publisher and the organisation pass draw the same dashboards"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn plan_apply_replan_through_the_fake() {
        let spec = platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap();
        let desired = Desired::for_spec(&spec).unwrap();
        let cw = FakeCloudWatch::default();
        let plan = plan_all(&cw, &spec, &desired).await.unwrap();
        assert!(plan.monthly_delta() > Decimal::ZERO);
        let text = plan.render_text();
        assert!(text.contains("Total monthly change: +$"), "{text}");
        let report = apply_all(&cw, &plan, ApplyOptions::default(), |_| NoProgress).await;
        assert!(report.ok());
        assert_eq!(
            report.write_calls(),
            desired.dashboards.len() + desired.catalogue.alarms.len()
        );
        let again = plan_all(&cw, &spec, &desired).await.unwrap();
        assert!(again.is_empty());
        assert_eq!(again.monthly_delta(), Decimal::ZERO);
        let view = PlanView::of_alarms(&again.alarms);
        assert_eq!(view.unchanged, desired.catalogue.alarms.len());
        assert!(view.create.is_empty() && view.update.is_empty() && view.delete.is_empty());
    }

    #[test]
    fn signed_money() {
        assert_eq!(signed_usd(Decimal::new(-70, 2)), "-$0.70");
        assert_eq!(signed_usd(Decimal::ZERO), "+$0.00");
        assert_eq!(signed_usd(Decimal::new(1500, 2)), "+$15.00");
        // A saving under half a cent rounds to nothing: no sign of zero.
        assert_eq!(signed_usd(Decimal::new(-4, 3)), "+$0.00");
    }
}
