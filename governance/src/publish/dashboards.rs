//! Publishing the generated dashboards: list every dashboard of the account (for the free-tier price),
//! `GetDashboard` the ones under the managed prefix, plan with the pure
//! [`dashboards::plan::plan_dashboards`], and `PutDashboard` only what changed; the environment's own
//! orphans are deleted, nothing else is touched. Ownership is the exact name grammar
//! `{prefix}-{section}` of [`dashboards::plan::owned_by`] (dashboards carry no tags), so
//! `collectiq-prod` never reads, rewrites or deletes `collectiq-prod-eu-*`.

use alarms::catalogue::Catalogue;
use dashboards::catalogue::{BillingAccount, CatalogueOptions, dashboards_for};
use dashboards::model::Dashboard;
use dashboards::plan::{
    DashboardAction, DashboardPlan, DashboardPricing, PublishedDashboard, owned_by, plan_dashboards,
};
use platform_spec::PlatformSpec;

use super::alarms::{ApplyReport, ItemFailure};
use super::cloudwatch::{ApiError, CloudWatchApi, list_all_dashboards};
use super::pacer::Pacer;
use super::progress::ApplyProgress;

/// `PutDashboard` / `GetDashboard` quota (10 TPS); we stay at half of it.
pub const DASHBOARD_CALLS_PER_SECOND: f64 = 5.0;

/// The dashboards for `spec`, with the catalogue's notifying alarms on the overview when the spec names
/// the account (alarm widgets need ARNs).
///
/// # Errors
/// [`dashboards::BuildError`] if a generated dashboard breaks a rule (a bug the dashboards crate's tests
/// catch).
pub fn desired_dashboards(
    spec: &PlatformSpec,
    catalogue: Option<&Catalogue>,
) -> Result<Vec<Dashboard>, dashboards::BuildError> {
    desired_dashboards_in(spec, catalogue, BillingAccount::of(spec))
}

/// [`desired_dashboards`] for a platform whose account is `billing` (shared with other platforms, or its
/// own).
///
/// # Errors
/// As [`desired_dashboards`].
pub fn desired_dashboards_in(
    spec: &PlatformSpec,
    catalogue: Option<&Catalogue>,
    billing: BillingAccount,
) -> Result<Vec<Dashboard>, dashboards::BuildError> {
    let mut opts = CatalogueOptions::for_spec(spec).with_billing_account(billing);
    if let (Some(cat), Some(account)) = (catalogue, spec.platform.account_id.as_deref()) {
        opts = opts.with_alarm_arns(cat.notifying_arns(&spec.platform.region, account));
    }
    dashboards_for(spec, &opts)
}

/// Every dashboard of the account; bodies read only for the environment's own ([`owned_by`]).
///
/// # Errors
/// When listing or reading a managed dashboard fails (nothing is planned from a partial read).
pub async fn read_published<C: CloudWatchApi>(
    cw: &C,
    managed_prefix: &str,
) -> Result<Vec<PublishedDashboard>, ApiError> {
    let mut pacer = Pacer::per_second(DASHBOARD_CALLS_PER_SECOND);
    let mut out = Vec::new();
    for name in list_all_dashboards(cw).await? {
        let body = if owned_by(&name, managed_prefix) {
            pacer.ready().await;
            Some(cw.get_dashboard(&name).await?)
        } else {
            None
        };
        out.push(PublishedDashboard { name, body });
    }
    Ok(out)
}

/// Reads what is published and plans `desired` against it.
///
/// # Errors
/// See [`read_published`].
pub async fn plan<C: CloudWatchApi>(
    cw: &C,
    desired: &[Dashboard],
    managed_prefix: &str,
) -> Result<DashboardPlan, ApiError> {
    let published = read_published(cw, managed_prefix).await?;
    Ok(plan_dashboards(
        desired,
        &published,
        managed_prefix,
        &DashboardPricing::default(),
    ))
}

/// Writes the plan's changes: `PutDashboard` per create/update, one `DeleteDashboards` for the
/// orphans. Failures are collected per dashboard.
pub async fn apply<C: CloudWatchApi>(
    cw: &C,
    plan: &DashboardPlan,
    progress: &dyn ApplyProgress,
) -> ApplyReport {
    let mut report = ApplyReport {
        unchanged: plan.count(DashboardAction::Unchanged),
        ..ApplyReport::default()
    };
    let puts: Vec<(&Dashboard, DashboardAction)> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, DashboardAction::Create | DashboardAction::Update))
        .filter_map(|c| c.desired.as_ref().map(|d| (d, c.action)))
        .collect();
    let deletes: Vec<String> = plan.to_delete().into_iter().map(str::to_owned).collect();
    progress.start((puts.len() + usize::from(!deletes.is_empty())) as u64);
    let mut pacer = Pacer::per_second(DASHBOARD_CALLS_PER_SECOND);
    for (d, action) in puts {
        let action = if action == DashboardAction::Create {
            "create"
        } else {
            "update"
        };
        progress.step(&d.name);
        let body = match d.body_json() {
            Ok(b) => b,
            Err(e) => {
                report.failures.push(ItemFailure {
                    name: d.name.clone(),
                    action,
                    error: ApiError::local("PutDashboard", format!("cannot serialize the body: {e}")),
                });
                continue;
            }
        };
        pacer.ready().await;
        report.write_calls += 1;
        match cw.put_dashboard(&d.name, &body).await {
            Ok(warnings) => {
                report
                    .warnings
                    .extend(warnings.into_iter().map(|w| format!("{}: {w}", d.name)));
                if action == "create" {
                    report.created.push(d.name.clone());
                } else {
                    report.updated.push(d.name.clone());
                }
            }
            Err(error) => report.failures.push(ItemFailure {
                name: d.name.clone(),
                action,
                error,
            }),
        }
        progress.advance();
    }
    // An orphan may be the page its replacement was to take over from (a section that fits one
    // dashboard again, `-data-p1`/`-p2` → `-data`): after a failed put it stays, and the next apply
    // that writes everything deletes it — as the alarms' apply keeps its orphans.
    if report.failures.iter().any(|f| !f.error.is_not_implemented()) {
        report.kept = deletes;
    } else {
        // DeleteDashboards takes up to 100 names: batches of at most 100, each failing alone. On an
        // error older API references say "no dashboards are deleted", the current model that it
        // "attempts to delete as many dashboards as possible": a failed batch is reported as failed
        // whole, some of it may be gone, and the next plan, which reads the account, says which.
        for batch in deletes.chunks(MAX_DASHBOARDS_PER_DELETE) {
            pacer.ready().await;
            report.write_calls += 1;
            match cw.delete_dashboards(batch).await {
                Ok(()) => report.deleted.extend(batch.iter().cloned()),
                Err(error) => report.failures.extend(batch.iter().map(|name| ItemFailure {
                    name: name.clone(),
                    action: "delete",
                    error: error.clone(),
                })),
            }
        }
        if !deletes.is_empty() {
            progress.advance();
        }
    }
    progress.finish();
    report
}

/// Most dashboards one `DeleteDashboards` call takes.
const MAX_DASHBOARDS_PER_DELETE: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::alarms::desired_catalogue;
    use crate::publish::fake::FakeCloudWatch;
    use crate::publish::progress::NoProgress;

    use crate::test_support::prod_spec as spec;

    #[tokio::test(start_paused = true)]
    async fn publish_twice_writes_once_and_orphans_go() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let desired = desired_dashboards(&spec, Some(&cat)).unwrap();
        let cw = FakeCloudWatch::default();
        // The grammar's ECS page: prod has no ECS service, so this is a page it no longer generates.
        assert!(desired.iter().all(|d| d.name != "collectiq-prod-ecs"));
        cw.put_dashboard("collectiq-prod-ecs", "{\"widgets\":[]}")
            .await
            .unwrap();
        cw.put_dashboard("collectiq-prod-eu-ecs", "{\"widgets\":[]}")
            .await
            .unwrap();
        cw.put_dashboard("someone-elses", "{\"widgets\":[]}")
            .await
            .unwrap();
        let first = plan(&cw, &desired, "collectiq-prod").await.unwrap();
        assert_eq!(first.count(DashboardAction::Create), desired.len());
        assert_eq!(first.to_delete(), ["collectiq-prod-ecs"]);
        let report = apply(&cw, &first, &NoProgress).await;
        assert!(report.ok());
        assert_eq!(report.write_calls, desired.len() + 1);
        let second = plan(&cw, &desired, "collectiq-prod").await.unwrap();
        assert!(second.is_empty(), "{}", second.render_text());
        let again = apply(&cw, &second, &NoProgress).await;
        assert_eq!(again.write_calls, 0);
        assert_eq!(again.unchanged, desired.len());
        // someone-elses and prod-eu's page are still there.
        let names = crate::publish::cloudwatch::list_all_dashboards(&cw)
            .await
            .unwrap();
        assert!(names.contains(&"someone-elses".to_owned()));
        assert!(names.contains(&"collectiq-prod-eu-ecs".to_owned()));
    }

    /// DeleteDashboards takes at most 100 names, and fails whole: 150 orphans go in two calls.
    #[tokio::test(start_paused = true)]
    async fn orphans_are_deleted_in_batches_of_at_most_100() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let desired = desired_dashboards(&spec, Some(&cat)).unwrap();
        let cw = FakeCloudWatch::default();
        for i in 1..=150 {
            cw.put_dashboard(&format!("collectiq-prod-data-p{i}"), "{\"widgets\":[]}")
                .await
                .unwrap();
        }
        let first = plan(&cw, &desired, "collectiq-prod").await.unwrap();
        assert_eq!(first.to_delete().len(), 150);
        let report = apply(&cw, &first, &NoProgress).await;
        assert!(report.ok(), "{:?}", report.failures);
        assert_eq!(report.deleted.len(), 150);
        assert_eq!(report.write_calls, desired.len() + 2);
        let names = crate::publish::cloudwatch::list_all_dashboards(&cw)
            .await
            .unwrap();
        assert!(
            names.iter().all(|n| !n.starts_with("collectiq-prod-data-p")),
            "{names:?}"
        );
    }

    /// A page that replaces an orphan may fail to be written: the orphan stays until an apply writes
    /// everything, so a failed put never leaves the section without a dashboard.
    #[tokio::test(start_paused = true)]
    async fn orphans_stay_while_a_put_fails() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let desired = desired_dashboards(&spec, Some(&cat)).unwrap();
        let cw = FakeCloudWatch::default();
        cw.put_dashboard("collectiq-prod-ecs", "{\"widgets\":[]}")
            .await
            .unwrap();
        let failing = desired[1].name.clone();
        cw.fail_put(&failing, "InvalidParameterInput");
        let first = plan(&cw, &desired, "collectiq-prod").await.unwrap();
        let report = apply(&cw, &first, &NoProgress).await;
        assert!(!report.ok());
        assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
        assert_eq!(report.failures[0].name, failing);
        assert_eq!(report.kept, ["collectiq-prod-ecs"]);
        assert!(report.deleted.is_empty());
        let names = crate::publish::cloudwatch::list_all_dashboards(&cw)
            .await
            .unwrap();
        assert!(names.contains(&"collectiq-prod-ecs".to_owned()));
        // The next apply writes the page, then the orphan goes.
        cw.stop_failing(&failing);
        let second = plan(&cw, &desired, "collectiq-prod").await.unwrap();
        let report = apply(&cw, &second, &NoProgress).await;
        assert!(report.ok(), "{:?}", report.failures);
        assert_eq!(report.deleted, ["collectiq-prod-ecs"]);
        assert!(report.kept.is_empty());
    }

    #[test]
    fn overview_shows_the_catalogue_alarms_when_the_account_is_known() {
        let spec = spec();
        let cat = desired_catalogue(&spec).unwrap();
        let with = desired_dashboards(&spec, Some(&cat)).unwrap();
        let without = desired_dashboards(&spec, None).unwrap();
        let arns = |ds: &[Dashboard]| {
            serde_json::to_string(&ds[0].body)
                .unwrap()
                .matches("arn:aws:cloudwatch:")
                .count()
        };
        assert_eq!(spec.platform.account_id.as_deref(), Some("123456789012"));
        assert!(arns(&with) > 0);
        assert_eq!(arns(&without), 0);
    }
}
