//! Dashboard plan, as a pure function: desired dashboards vs what is published → create / update /
//! delete (only orphans under the managed prefix) / unchanged, with the monthly $ delta, rendered like
//! `terraform plan`. The shell reads `ListDashboards` + `GetDashboard` and writes only the changes.
//!
//! Bodies are compared as parsed JSON values (key order and whitespace do not matter); a body read back
//! from `GetDashboard` round-trips verbatim, so a second apply sees everything unchanged.
//!
//! **Ownership is an exact name grammar, never a bare prefix** ([`owned_by`]): a dashboard is the
//! environment's when its name is `{managed_prefix}-{section}` with `section` one of [`SECTIONS`] (one
//! token, no `-`), or a desired name. CloudWatch dashboards carry no tags, so the name is all there is;
//! `collectiq-prod-eu-overview` leaves `eu-overview` after `collectiq-prod-`, which is no section, so
//! `collectiq-prod` never deletes `collectiq-prod-eu`'s dashboards.

use crate::model::{Dashboard, WidgetKind};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Every section the catalogue has ever named a dashboard after (`{managed_prefix}-{section}`). A
/// section the catalogue stops generating stays here, so its old dashboards are still recognised as
/// orphans and deleted; a new section must be added (a test over every shipped spec fails until it is).
pub const SECTIONS: [&str; 10] = [
    "overview",
    "api",
    "lambda",
    "stepfunctions",
    "data",
    "ai",
    "agents",
    "cost",
    "compliance",
    "ecs",
];

/// Whether a dashboard named `name` belongs to the environment `managed_prefix` by the exact grammar
/// `{managed_prefix}-{section}`, `section` in [`SECTIONS`], or `{managed_prefix}-{section}-p{n}`, a
/// page of a section split past CloudWatch's per-dashboard limits (`n` from 1, no leading zero).
///
/// ```
/// use dashboards::plan::owned_by;
/// assert!(owned_by("collectiq-prod-overview", "collectiq-prod"));
/// assert!(owned_by("collectiq-prod-data-p2", "collectiq-prod"));
/// assert!(!owned_by("collectiq-prod-data-p0", "collectiq-prod"));
/// assert!(!owned_by("collectiq-prod-data-p", "collectiq-prod"));
/// assert!(!owned_by("collectiq-prod-notes-p1", "collectiq-prod"));
/// assert!(!owned_by("collectiq-prod-eu-overview", "collectiq-prod"));
/// assert!(owned_by("collectiq-prod-eu-overview", "collectiq-prod-eu"));
/// assert!(!owned_by("collectiq-prod-notes", "collectiq-prod"));
/// assert!(!owned_by("collectiq-production-overview", "collectiq-prod"));
/// ```
#[must_use]
pub fn owned_by(name: &str, managed_prefix: &str) -> bool {
    let page = |n: &str| {
        n.len() <= 4 && !n.starts_with('0') && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    };
    name.strip_prefix(managed_prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| {
            let section = match rest.rsplit_once("-p") {
                Some((section, n)) if page(n) => section,
                _ => rest,
            };
            SECTIONS.contains(&section)
        })
}

/// CloudWatch dashboard pricing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardPricing {
    /// Per custom dashboard per month (USD 3).
    pub per_dashboard_usd: Decimal,
    /// Dashboards per account that cost nothing (3).
    pub free_dashboards: u32,
}

impl Default for DashboardPricing {
    fn default() -> Self {
        Self {
            per_dashboard_usd: Decimal::from(3),
            free_dashboards: 3,
        }
    }
}

impl DashboardPricing {
    /// Monthly cost of an account holding `count` dashboards.
    ///
    /// ```
    /// use dashboards::plan::DashboardPricing;
    /// let p = DashboardPricing::default();
    /// assert_eq!(p.monthly_cost(3), 0.into());
    /// assert_eq!(p.monthly_cost(11), 24.into());
    /// ```
    #[must_use]
    pub fn monthly_cost(&self, count: usize) -> Decimal {
        let billable = count.saturating_sub(self.free_dashboards as usize);
        self.per_dashboard_usd * Decimal::from(billable)
    }
}

/// A dashboard as listed/read from the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedDashboard {
    /// `DashboardName`.
    pub name: String,
    /// `DashboardBody` from `GetDashboard`; `None` for dashboards not fetched (outside the managed prefix).
    pub body: Option<String>,
}

/// What the plan does with one dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DashboardAction {
    /// `PutDashboard` a new one.
    Create,
    /// `PutDashboard` over a changed one.
    Update,
    /// `DeleteDashboards` an orphan under the managed prefix.
    Delete,
    /// Nothing to do.
    Unchanged,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardChange {
    /// Dashboard name.
    pub name: String,
    /// Action.
    pub action: DashboardAction,
    /// What differs (updates), one line each.
    pub details: Vec<String>,
    /// The desired dashboard (create, update, unchanged).
    pub desired: Option<Dashboard>,
}

/// The dashboard plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardPlan {
    /// The managed prefix the plan was made for.
    pub managed_prefix: String,
    /// Changes, sorted by name.
    pub changes: Vec<DashboardChange>,
    /// Dashboards in the account before.
    pub account_dashboards_before: usize,
    /// Dashboards in the account after.
    pub account_dashboards_after: usize,
    /// Monthly dashboard cost of the account before.
    pub monthly_before: Decimal,
    /// Monthly dashboard cost of the account after.
    pub monthly_after: Decimal,
}

impl DashboardPlan {
    /// Monthly $ delta.
    #[must_use]
    pub fn monthly_delta(&self) -> Decimal {
        self.monthly_after - self.monthly_before
    }

    /// How many changes of `action`.
    #[must_use]
    pub fn count(&self, action: DashboardAction) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// Dashboards to `PutDashboard` (creates and updates).
    pub fn to_put(&self) -> impl Iterator<Item = &Dashboard> {
        self.changes
            .iter()
            .filter(|c| matches!(c.action, DashboardAction::Create | DashboardAction::Update))
            .filter_map(|c| c.desired.as_ref())
    }

    /// Names to `DeleteDashboards`.
    #[must_use]
    pub fn to_delete(&self) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|c| c.action == DashboardAction::Delete)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Whether applying the plan writes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changes
            .iter()
            .all(|c| c.action == DashboardAction::Unchanged)
    }

    /// A `terraform plan`-like rendering.
    #[must_use]
    pub fn render_text(&self) -> String {
        let mut s = format!("CloudWatch dashboards under {}-*\n", self.managed_prefix);
        for c in &self.changes {
            let (sign, word) = match c.action {
                DashboardAction::Create => ('+', "create"),
                DashboardAction::Update => ('~', "update"),
                DashboardAction::Delete => ('-', "delete (orphan under the managed prefix)"),
                DashboardAction::Unchanged => continue,
            };
            let _ = writeln!(s, "  {sign} {:<48} {word}", c.name);
            for d in &c.details {
                let _ = writeln!(s, "      {d}");
            }
        }
        let _ = writeln!(
            s,
            "Plan: {} to create, {} to update, {} to delete, {} unchanged. Dashboards: ${:.2}/mo -> ${:.2}/mo ({}${:.2}/mo).",
            self.count(DashboardAction::Create),
            self.count(DashboardAction::Update),
            self.count(DashboardAction::Delete),
            self.count(DashboardAction::Unchanged),
            self.monthly_before,
            self.monthly_after,
            if self.monthly_delta().is_sign_negative() {
                "-"
            } else {
                "+"
            },
            self.monthly_delta().abs(),
        );
        // Names and widget titles come from what is published (anyone allowed PutDashboard writes
        // them): escape sequences in them are shown as text, never run by the terminal.
        vocabulary::text::terminal_safe(&s)
    }
}

fn widget_title(w: &serde_json::Value) -> String {
    w.pointer("/properties/title")
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .or_else(|| {
            w.pointer("/properties/markdown")
                .and_then(|t| t.as_str())
                .map(|m| m.lines().next().unwrap_or("").to_owned())
        })
        .unwrap_or_else(|| {
            w.get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("widget")
                .to_owned()
        })
}

fn compact(v: Option<&serde_json::Value>) -> String {
    v.map_or_else(|| "(none)".to_owned(), |v| v.to_string())
}

/// Lines describing how `published` differs from `desired`.
fn diff(published: &serde_json::Value, desired: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let (p, d) = (
        published.as_object().unwrap_or(&empty),
        desired.as_object().unwrap_or(&empty),
    );
    let mut keys: Vec<&String> = p.keys().chain(d.keys()).filter(|k| *k != "widgets").collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if p.get(k) != d.get(k) {
            out.push(format!("{k}: {} -> {}", compact(p.get(k)), compact(d.get(k))));
        }
    }
    let none = Vec::new();
    let pw = p.get("widgets").and_then(|w| w.as_array()).unwrap_or(&none);
    let dw = d.get("widgets").and_then(|w| w.as_array()).unwrap_or(&none);
    if pw.len() != dw.len() {
        out.push(format!("widgets: {} -> {}", pw.len(), dw.len()));
    }
    let changed: Vec<String> = (0..pw.len().max(dw.len()))
        .filter(|&i| pw.get(i) != dw.get(i))
        .map(|i| {
            format!(
                "widget {i} \"{}\"",
                dw.get(i)
                    .or_else(|| pw.get(i))
                    .map(widget_title)
                    .unwrap_or_default()
            )
        })
        .collect();
    const SHOWN: usize = 10;
    for c in changed.iter().take(SHOWN) {
        out.push(format!("{c} changed"));
    }
    if changed.len() > SHOWN {
        out.push(format!("... and {} more widgets", changed.len() - SHOWN));
    }
    out
}

/// Plans `desired` against `published` (every dashboard of the account): desired names are created or
/// updated; a published dashboard is deleted only when it is [`owned_by`] the environment and no longer
/// desired; every other dashboard is left alone.
///
/// ```
/// use dashboards::builder::{DashboardBuilder, TextWidget};
/// use dashboards::plan::{plan_dashboards, DashboardAction, DashboardPricing, PublishedDashboard};
/// let d = DashboardBuilder::new("app-prod-overview").with_widget(TextWidget::new("# Hi")).build().unwrap();
/// let published = vec![
///     PublishedDashboard { name: "app-prod-overview".into(), body: Some(d.body_json().unwrap()) },
///     PublishedDashboard { name: "app-prod-ecs".into(), body: Some("{\"widgets\":[]}".into()) },
///     PublishedDashboard { name: "app-prod-eu-ecs".into(), body: None },
///     PublishedDashboard { name: "someone-elses".into(), body: None },
/// ];
/// let plan = plan_dashboards(&[d], &published, "app-prod", &DashboardPricing::default());
/// assert_eq!(plan.count(DashboardAction::Unchanged), 1);
/// // app-prod-eu-ecs is app-prod-eu's (no section "eu-ecs"): left alone.
/// assert_eq!(plan.to_delete(), ["app-prod-ecs"]);
/// // 4 -> 3 dashboards in the account: the 4th was the one billed ($3) beyond the 3 free.
/// assert_eq!(plan.monthly_delta(), rust_decimal::Decimal::from(-3));
/// ```
#[must_use]
pub fn plan_dashboards(
    desired: &[Dashboard],
    published: &[PublishedDashboard],
    managed_prefix: &str,
    pricing: &DashboardPricing,
) -> DashboardPlan {
    let managed = |n: &str| owned_by(n, managed_prefix);
    let published_by_name: BTreeMap<&str, &PublishedDashboard> =
        published.iter().map(|p| (p.name.as_str(), p)).collect();
    let desired_names: BTreeMap<&str, &Dashboard> = desired.iter().map(|d| (d.name.as_str(), d)).collect();
    let mut changes = Vec::new();
    for (name, d) in &desired_names {
        let want = serde_json::to_value(&d.body).unwrap_or(serde_json::Value::Null);
        let (action, details) = match published_by_name.get(name) {
            None => (
                DashboardAction::Create,
                vec![format!("{} widgets", d.body.widgets.len())],
            ),
            Some(p) => match p.body.as_deref().map(serde_json::from_str::<serde_json::Value>) {
                Some(Ok(have)) if have == want => (DashboardAction::Unchanged, Vec::new()),
                Some(Ok(have)) => (DashboardAction::Update, diff(&have, &want)),
                Some(Err(e)) => (
                    DashboardAction::Update,
                    vec![format!("published body is not JSON: {e}")],
                ),
                None => (
                    DashboardAction::Update,
                    vec!["published body was not read".to_owned()],
                ),
            },
        };
        changes.push(DashboardChange {
            name: (*name).to_owned(),
            action,
            details,
            desired: Some((*d).clone()),
        });
    }
    for p in published {
        if managed(&p.name) && !desired_names.contains_key(p.name.as_str()) {
            changes.push(DashboardChange {
                name: p.name.clone(),
                action: DashboardAction::Delete,
                details: Vec::new(),
                desired: None,
            });
        }
    }
    changes.sort_by(|a, b| a.name.cmp(&b.name));
    let before = published.len();
    let creates = changes
        .iter()
        .filter(|c| c.action == DashboardAction::Create)
        .count();
    let deletes = changes
        .iter()
        .filter(|c| c.action == DashboardAction::Delete)
        .count();
    let after = before + creates - deletes;
    DashboardPlan {
        managed_prefix: managed_prefix.to_owned(),
        changes,
        account_dashboards_before: before,
        account_dashboards_after: after,
        monthly_before: pricing.monthly_cost(before),
        monthly_after: pricing.monthly_cost(after),
    }
}

/// Widgets per type of a dashboard, for summaries (`metric: 12, text: 3`).
#[must_use]
pub fn widget_census(d: &Dashboard) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for w in &d.body.widgets {
        let k = match w.kind {
            WidgetKind::Metric(_) => "metric",
            WidgetKind::Text(_) => "text",
            WidgetKind::Alarm(_) => "alarm",
            WidgetKind::Log(_) => "log",
        };
        *m.entry(k).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{CatalogueOptions, dashboards_for};
    use std::path::Path;

    /// The IAM policies grant the dashboards of exactly these sections (an environment's
    /// `{prefix}-*` would reach another's): each Terraform list of them is this one, so a section
    /// added here is one the deployed roles may publish.
    #[test]
    fn the_iam_policies_name_every_section() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in [
            "infra/modules/governance/main.tf",
            "infra/modules/org/member/main.tf",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with("dashboard_sections"))
                .unwrap_or_else(|| panic!("{file}: no dashboard_sections"));
            let listed: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
            assert_eq!(listed, SECTIONS, "{file}");
        }
    }

    fn desired() -> Vec<Dashboard> {
        let s = platform_spec::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap();
        dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap()
    }

    fn published_from(ds: &[Dashboard]) -> Vec<PublishedDashboard> {
        ds.iter()
            .map(|d| PublishedDashboard {
                name: d.name.clone(),
                body: Some(d.body_json().unwrap()),
            })
            .collect()
    }

    #[test]
    fn first_plan_creates_everything_and_costs_beyond_three_free() {
        let want = desired();
        let plan = plan_dashboards(&want, &[], "collectiq-prod", &DashboardPricing::default());
        assert_eq!(plan.count(DashboardAction::Create), 8);
        assert_eq!(plan.monthly_delta(), Decimal::from(15));
        let text = plan.render_text();
        assert!(text.contains("+ collectiq-prod-overview"), "{text}");
        assert!(text.ends_with("Plan: 8 to create, 0 to update, 0 to delete, 0 unchanged. Dashboards: $0.00/mo -> $15.00/mo (+$15.00/mo).\n"), "{text}");
    }

    #[test]
    fn read_back_bodies_are_unchanged_even_reformatted() {
        let want = desired();
        let mut published = published_from(&want);
        // GetDashboard may return the body pretty-printed or with keys in another order.
        let v: serde_json::Value = serde_json::from_str(published[0].body.as_deref().unwrap()).unwrap();
        published[0].body = Some(serde_json::to_string_pretty(&v).unwrap());
        let plan = plan_dashboards(&want, &published, "collectiq-prod", &DashboardPricing::default());
        assert!(plan.is_empty(), "{}", plan.render_text());
        assert_eq!(plan.to_put().count(), 0);
        assert_eq!(plan.monthly_delta(), Decimal::ZERO);
    }

    #[test]
    fn changed_widget_is_an_update_naming_the_widget() {
        let want = desired();
        let mut published = published_from(&want);
        let mut v: serde_json::Value = serde_json::from_str(published[1].body.as_deref().unwrap()).unwrap();
        v["widgets"][2]["properties"]["period"] = serde_json::json!(3600);
        v["start"] = serde_json::json!("-PT3H");
        published[1].body = Some(v.to_string());
        let plan = plan_dashboards(&want, &published, "collectiq-prod", &DashboardPricing::default());
        let upd: Vec<&DashboardChange> = plan
            .changes
            .iter()
            .filter(|c| c.action == DashboardAction::Update)
            .collect();
        assert_eq!(upd.len(), 1);
        assert_eq!(upd[0].name, published[1].name);
        assert!(
            upd[0]
                .details
                .iter()
                .any(|d| d == "start: \"-PT3H\" -> \"-PT6H\""),
            "{:?}",
            upd[0].details
        );
        assert!(
            upd[0].details.iter().any(|d| d.starts_with("widget 2 ")),
            "{:?}",
            upd[0].details
        );
        assert_eq!(plan.to_put().count(), 1);
    }

    /// A published widget title is anyone's with PutDashboard: an escape sequence in it (clear the
    /// screen, a hyperlink) is shown as text in the plan, never run by the terminal.
    #[test]
    fn published_titles_cannot_drive_the_terminal() {
        let want = desired();
        let mut published = published_from(&want);
        let mut v: serde_json::Value = serde_json::from_str(published[1].body.as_deref().unwrap()).unwrap();
        // A widget added after ours: the plan names it by its published title.
        let mut extra = v["widgets"][0].clone();
        extra["properties"]["title"] = serde_json::json!("\u{1b}[2J\u{1b}]8;;https://evil\u{7}x");
        v["widgets"].as_array_mut().unwrap().push(extra);
        published[1].body = Some(v.to_string());
        let plan = plan_dashboards(&want, &published, "collectiq-prod", &DashboardPricing::default());
        let text = plan.render_text();
        assert!(text.contains("\u{FFFD}[2J"), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
    }

    /// A section of the grammar that `want` does not generate (a retired page).
    fn retired_section(want: &[Dashboard]) -> String {
        SECTIONS
            .iter()
            .map(|s| format!("collectiq-prod-{s}"))
            .find(|n| want.iter().all(|d| &d.name != n))
            .unwrap()
    }

    #[test]
    fn only_orphans_of_the_exact_grammar_are_deleted() {
        let want = desired();
        let retired = retired_section(&want);
        let mut published = published_from(&want);
        for name in [
            retired.as_str(),
            "collectiq-prod-legacy",
            "collectiq-production-x",
            "finance",
        ] {
            published.push(PublishedDashboard {
                name: name.into(),
                body: None,
            });
        }
        let plan = plan_dashboards(&want, &published, "collectiq-prod", &DashboardPricing::default());
        // "legacy" is no section of the grammar: someone's hand-made page, left alone.
        assert_eq!(plan.to_delete(), [retired.as_str()]);
        assert_eq!(plan.monthly_delta(), Decimal::from(-3));
        assert!(plan.render_text().contains("(-$3.00/mo)"));
    }

    /// A section split into pages (`{section}-p1`, `-p2`) is the environment's own: its bodies are
    /// read back (a second plan changes nothing) and, when the section fits one dashboard again, the
    /// pages are deleted rather than left published and billed.
    #[test]
    fn split_pages_are_owned_compared_and_deleted_when_the_section_fits_again() {
        let want = desired();
        let split: Vec<Dashboard> = ["p1", "p2"]
            .iter()
            .map(|p| {
                let mut d = want[0].clone();
                d.name = format!("{}-{p}", want[0].name);
                d
            })
            .collect();
        let mut paged: Vec<Dashboard> = want[1..].to_vec();
        paged.extend(split.iter().cloned());
        let again = plan_dashboards(
            &paged,
            &published_from(&paged),
            "collectiq-prod",
            &DashboardPricing::default(),
        );
        assert!(again.is_empty(), "{}", again.render_text());
        let shrunk = plan_dashboards(
            &want,
            &published_from(&paged),
            "collectiq-prod",
            &DashboardPricing::default(),
        );
        let mut deleted = shrunk.to_delete();
        deleted.sort_unstable();
        assert_eq!(deleted, [split[0].name.as_str(), split[1].name.as_str()]);
        assert_eq!(
            shrunk.count(DashboardAction::Create),
            1,
            "{}",
            shrunk.render_text()
        );
    }

    /// `prod` and `prod-eu` in one account: every `prod-eu` dashboard name starts with
    /// `collectiq-prod-`. Each plan deletes only its own orphan.
    #[test]
    fn prod_and_prod_eu_side_by_side_never_delete_each_other() {
        let prod = desired();
        let retired = retired_section(&prod);
        let eu: Vec<Dashboard> = prod
            .iter()
            .map(|d| {
                let mut d = d.clone();
                d.name = d.name.replacen("collectiq-prod-", "collectiq-prod-eu-", 1);
                d
            })
            .collect();
        let retired_eu = retired.replacen("collectiq-prod-", "collectiq-prod-eu-", 1);
        let mut account = published_from(&prod);
        account.extend(published_from(&eu));
        for name in [&retired, &retired_eu] {
            account.push(PublishedDashboard {
                name: name.clone(),
                body: None,
            });
        }
        let p = plan_dashboards(&prod, &account, "collectiq-prod", &DashboardPricing::default());
        assert_eq!(p.to_delete(), [retired.as_str()]);
        assert_eq!(p.count(DashboardAction::Unchanged), prod.len());
        let e = plan_dashboards(&eu, &account, "collectiq-prod-eu", &DashboardPricing::default());
        assert_eq!(e.to_delete(), [retired_eu.as_str()]);
        // And an environment whose prefix is a bare prefix of both claims nothing.
        let c = plan_dashboards(&[], &account, "collectiq", &DashboardPricing::default());
        assert!(c.to_delete().is_empty());
    }

    #[test]
    fn every_catalogue_dashboard_follows_the_grammar_of_its_environment() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms");
        let mut checked = 0;
        for path in platform_spec::spec_files(&dir).unwrap() {
            let s = platform_spec::load(&path).unwrap();
            let prefix = s.managed_prefix();
            for d in dashboards_for(&s, &CatalogueOptions::for_spec(&s)).unwrap() {
                assert!(
                    owned_by(&d.name, &prefix),
                    "{} is not {prefix}-<section>: add its section to SECTIONS",
                    d.name
                );
                checked += 1;
            }
        }
        assert!(checked >= 20, "{checked}");
    }

    #[test]
    fn invalid_published_json_is_overwritten() {
        let want = desired();
        let mut published = published_from(&want);
        published[0].body = Some("{not json".into());
        let plan = plan_dashboards(&want, &published, "collectiq-prod", &DashboardPricing::default());
        assert_eq!(plan.count(DashboardAction::Update), 1);
    }

    #[test]
    fn census_counts_types() {
        let want = desired();
        let c = widget_census(&want[0]);
        assert!(c["metric"] > 3);
        assert!(c["text"] >= 1);
    }
}
