//! Automatic pagination: a dashboard past CloudWatch's limits (500 widgets, 2,500 metrics) becomes
//! numbered pages `{name}-p1`, `{name}-p2`, … that each fit, instead of a `PutDashboard` failure.

use crate::model::{Dashboard, DashboardBody, Widget, WidgetKind};
use crate::validate::{MAX_METRICS_PER_DASHBOARD, MAX_WIDGETS, metric_rows};

fn rows_of(w: &Widget) -> usize {
    match &w.kind {
        WidgetKind::Metric(p) => metric_rows(p),
        _ => 0,
    }
}

/// Splits `dashboard` into pages that each respect the widget and metric limits, keeping widget order
/// and shifting each page up so it starts at row 0. A dashboard within the limits comes back unchanged
/// (one page, same name). A single widget with more than 2,500 metrics cannot be split and stays on a
/// page of its own, where the validator reports it.
///
/// ```
/// use dashboards::builder::{DashboardBuilder, TextWidget};
/// use dashboards::paginate::paginate;
/// let mut b = DashboardBuilder::new("d");
/// for _ in 0..501 { b = b.with_widget(TextWidget::new("x").with_size(1, 1)); }
/// let pages = paginate(b.build_pages().unwrap().remove(0));
/// assert_eq!(pages.len(), 1); // already a page of 500
/// ```
#[must_use]
pub fn paginate(dashboard: Dashboard) -> Vec<Dashboard> {
    let total_metrics: usize = dashboard.body.widgets.iter().map(rows_of).sum();
    if dashboard.body.widgets.len() <= MAX_WIDGETS && total_metrics <= MAX_METRICS_PER_DASHBOARD {
        return vec![dashboard];
    }
    let Dashboard { name, mut body } = dashboard;
    let all = std::mem::take(&mut body.widgets);
    let mut pages: Vec<Vec<Widget>> = vec![Vec::new()];
    let mut metrics = 0usize;
    for w in all {
        let m = rows_of(&w);
        let full = pages.last().is_some_and(|p| {
            !p.is_empty() && (p.len() + 1 > MAX_WIDGETS || metrics + m > MAX_METRICS_PER_DASHBOARD)
        });
        if full {
            pages.push(Vec::new());
            metrics = 0;
        }
        metrics += m;
        if let Some(p) = pages.last_mut() {
            p.push(w);
        }
    }
    pages
        .into_iter()
        .enumerate()
        .map(|(i, mut widgets)| {
            let top = widgets.iter().filter_map(|w| w.y).min().unwrap_or(0);
            for w in &mut widgets {
                if let Some(y) = w.y.as_mut() {
                    *y -= top;
                }
            }
            Dashboard {
                name: format!("{name}-p{}", i + 1),
                body: DashboardBody {
                    widgets,
                    ..body.clone()
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{DashboardBuilder, Metric, MetricWidget};
    use crate::validate::{metric_count, validate};

    fn widget_with(n: usize, offset: usize) -> MetricWidget {
        (0..n).fold(MetricWidget::new("t", "us-east-1"), |w, i| {
            w.with_metric(
                Metric::aws("AWS/Lambda", "Errors")
                    .with_dimension("FunctionName", format!("f{}", offset + i)),
            )
        })
    }

    #[test]
    fn splits_on_the_metric_limit_and_every_page_validates() {
        let mut b = DashboardBuilder::new("many");
        for i in 0..7 {
            b = b.with_widget(widget_with(400, i * 400));
        }
        let pages = b.build_pages().unwrap();
        // 2,800 metrics: 6 widgets (2,400) fit on page 1, the 7th goes to page 2.
        assert_eq!(pages.len(), 2);
        assert_eq!(metric_count(&pages[0].body), 2_400);
        assert_eq!(metric_count(&pages[1].body), 400);
        for p in &pages {
            assert!(validate(p).is_ok());
            assert_eq!(p.body.widgets.iter().filter_map(|w| w.y).min(), Some(0));
        }
    }

    #[test]
    fn within_limits_is_unchanged() {
        let d = DashboardBuilder::new("small")
            .with_widget(widget_with(3, 0))
            .build()
            .unwrap();
        assert_eq!(paginate(d.clone()), vec![d]);
    }
}
