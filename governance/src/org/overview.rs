//! The organisation overview dashboard: one CloudWatch dashboard in the monitoring account (where the
//! OAM sink is, `infra/modules/org/oam.tf`) with a widget per member account whose metrics carry that
//! account's `accountId` — Lambda invocations, errors and throttles, the account-wide aggregates every
//! account publishes — so on-call sees every member on one screen, beside the roll-up's alarm state.
//!
//! Published by the summary step with the same plan/apply as the platforms' dashboards, under the
//! managed prefix `<organisation>-organisation` (exact name grammar, so nothing else is touched);
//! unchanged → no write.

use dashboards::BuildError;
use dashboards::builder::{DashboardBuilder, Metric, MetricWidget, TextWidget};
use dashboards::model::Dashboard;
use vocabulary::Stat;
use vocabulary::aws::lambda;

/// Widgets one dashboard holds (CloudWatch: 500), less the header and the "more accounts" note.
pub const MAX_ACCOUNTS_SHOWN: usize = 498;

/// One member account on the overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverviewAccount {
    /// 12 digits.
    pub id: String,
    /// Its name in the organisation spec.
    pub name: String,
    /// The platform environments governed there (`backoffice-dev`).
    pub platforms: Vec<String>,
    /// Its generated alarms in ALARM when the pass read them (critical, warning).
    pub firing: (usize, usize),
}

/// The managed prefix of the organisation's own dashboards.
#[must_use]
pub fn managed_prefix(organization: &str) -> String {
    format!("{organization}-organisation")
}

/// The overview for `accounts`, in the order given (the caller puts the accounts with alarms firing
/// first); past [`MAX_ACCOUNTS_SHOWN`] a note says how many are left out (the roll-up lists them all).
///
/// # Errors
/// A [`BuildError`] if the dashboard breaks one of CloudWatch's rules (names, sizes).
pub fn overview(
    organization: &str,
    region: &str,
    accounts: &[OverviewAccount],
) -> Result<Dashboard, BuildError> {
    let firing: usize = accounts.iter().map(|a| a.firing.0 + a.firing.1).sum();
    let mut b = DashboardBuilder::new(format!("{}-overview", managed_prefix(organization)))
        .with_start("-PT24H")
        .with_widget(
            TextWidget::new(format!(
                "## Organisation {organization}: {} member account(s), {firing} generated alarm(s) in ALARM \
                 at the last pass\nEach graph reads one member account through cross-account observability \
                 (`accountId`): Lambda invocations, errors and throttles across all its functions in \
                 {region} (the OAM sink's region; a member's functions elsewhere are not drawn). Spend, \
                 budget tiers and the alarms by name: the daily roll-up in Slack.",
                accounts.len()
            ))
            .with_size(24, 2),
        );
    for a in accounts.iter().take(MAX_ACCOUNTS_SHOWN) {
        let alarms = match a.firing {
            (0, 0) => String::new(),
            (c, w) => format!(" — {c} critical, {w} warning in ALARM"),
        };
        let mut widget = MetricWidget::new(
            format!("{} ({}) · {}{alarms}", a.name, a.id, a.platforms.join(", ")),
            region,
        )
        .with_stat(Stat::Sum)
        .with_period(300)
        .with_size(12, 6);
        for (metric, label) in [
            (lambda::INVOCATIONS, "Invocations"),
            (lambda::ERRORS, "Errors"),
            (lambda::THROTTLES, "Throttles"),
        ] {
            widget = widget.with_metric(Metric::of(metric).with_label(label).in_account(&a.id));
        }
        b = b.with_widget(widget);
    }
    if accounts.len() > MAX_ACCOUNTS_SHOWN {
        b = b.with_widget(TextWidget::new(format!(
            "{} more account(s) not shown (a dashboard holds 500 widgets); the roll-up lists every account.",
            accounts.len() - MAX_ACCOUNTS_SHOWN
        )));
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dashboards::model::{MetricEntry, WidgetKind};

    fn account(i: usize) -> OverviewAccount {
        OverviewAccount {
            id: format!("{:012}", 100_000_000_000 + i),
            name: format!("member-{i}"),
            platforms: vec!["backoffice-dev".into()],
            firing: if i == 0 { (1, 2) } else { (0, 0) },
        }
    }

    #[test]
    fn every_member_graph_reads_its_own_account() {
        let accounts: Vec<OverviewAccount> = (0..3).map(account).collect();
        let d = overview("acme", "us-east-1", &accounts).unwrap();
        assert_eq!(d.name, "acme-organisation-overview");
        let header = serde_json::to_string(&d.body).unwrap();
        assert!(
            header.contains("across all its functions in us-east-1"),
            "{header}"
        );
        assert!(dashboards::plan::owned_by(&d.name, &managed_prefix("acme")));
        let graphs: Vec<_> = d
            .body
            .widgets
            .iter()
            .filter_map(|w| match &w.kind {
                WidgetKind::Metric(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(graphs.len(), 3);
        for (g, a) in graphs.iter().zip(&accounts) {
            assert!(g.title.as_deref().unwrap().contains(&a.id));
            assert_eq!(g.metrics.len(), 3);
            for m in &g.metrics {
                let MetricEntry::Metric(row) = m else {
                    panic!("{m:?}")
                };
                assert_eq!(row.namespace, "AWS/Lambda");
                assert!(row.dimensions.is_empty(), "the account-wide aggregate");
                assert_eq!(row.props.account_id.as_deref(), Some(a.id.as_str()));
            }
        }
        assert!(
            graphs[0]
                .title
                .as_deref()
                .unwrap()
                .ends_with("1 critical, 2 warning in ALARM")
        );
        // The body CloudWatch receives carries `accountId` in each row's options.
        let body = d.body_json().unwrap();
        assert_eq!(body.matches("\"accountId\":\"1000000000").count(), 9, "{body}");
    }

    #[test]
    fn past_one_dashboard_the_rest_are_named_not_dropped_silently() {
        let accounts: Vec<OverviewAccount> = (0..MAX_ACCOUNTS_SHOWN + 7).map(account).collect();
        let d = overview("acme", "us-east-1", &accounts).unwrap();
        assert_eq!(d.body.widgets.len(), 500);
        let body = d.body_json().unwrap();
        assert!(body.contains("7 more account(s) not shown"), "tail of the body");
    }
}
