//! Every metric an alarm reads is on one of the platform's dashboards, with the same dimensions, so
//! on-call can see what paged them, and every threshold line a dashboard draws is an alarm's. The
//! catalogue and the dashboards come from the same spec; these tests keep them from drifting apart.

// Helpers of an integration test may panic: a failing fixture is a failing test.
#![allow(clippy::unwrap_used)]

use alarms::Alarm;
use alarms::catalogue::{CatalogueOptions, Severity, catalogue_for};
use dashboards::catalogue::{CatalogueOptions as DashboardOptions, dashboards_for};
use dashboards::model::{HorizontalAnnotation, MetricEntry, WidgetKind};
use std::collections::BTreeSet;

type MetricKey = (String, String, BTreeSet<(String, String)>);

fn dashboard_metrics(name: &str) -> BTreeSet<MetricKey> {
    dashboard_metrics_of(&spec(name))
}

fn dashboard_metrics_of(spec: &platform_spec::PlatformSpec) -> BTreeSet<MetricKey> {
    let mut out = BTreeSet::new();
    for d in dashboards_for(spec, &DashboardOptions::for_spec(spec)).unwrap() {
        for w in d.body.widgets {
            let WidgetKind::Metric(p) = w.kind else { continue };
            for e in p.metrics {
                if let MetricEntry::Metric(r) = e {
                    let dims = r.dimensions.into_iter().map(|d| (d.name, d.value)).collect();
                    out.insert((r.namespace, r.metric_name, dims));
                }
            }
        }
    }
    out
}

fn spec(name: &str) -> platform_spec::PlatformSpec {
    platform_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../infra/platforms/{name}.toml")),
    )
    .unwrap()
}

fn alarm_metrics(a: &alarms::PutMetricAlarmInput) -> Vec<MetricKey> {
    let key = |ns: &str, m: &str, dims: &[alarms::model::Dimension]| {
        (
            ns.to_owned(),
            m.to_owned(),
            dims.iter().map(|d| (d.name.clone(), d.value.clone())).collect(),
        )
    };
    if let (Some(ns), Some(m)) = (&a.namespace, &a.metric_name) {
        return vec![key(ns, m, &a.dimensions)];
    }
    a.metrics
        .iter()
        .filter_map(|q| q.metric_stat.as_ref())
        .map(|s| key(&s.metric.namespace, &s.metric.metric_name, &s.metric.dimensions))
        .collect()
}

#[test]
fn every_alarm_metric_is_on_a_dashboard() {
    for name in [
        "collectiq-prod",
        "collectiq-dev",
        "backoffice-dev",
        "budgetbuddy-prod",
    ] {
        let shown = dashboard_metrics(name);
        let s = spec(name);
        let cat = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let mut checked = 0;
        for d in &cat.alarms {
            let Alarm::Metric(a) = &d.alarm else { continue };
            for m in alarm_metrics(a) {
                assert!(
                    shown.contains(&m),
                    "{name}: {} reads {m:?}, which no dashboard shows",
                    d.name()
                );
                checked += 1;
            }
        }
        // Backoffice has the fewest alarms (seed 002: errors, throttles, 5xx).
        let least = if name == "backoffice-dev" { 8 } else { 11 };
        assert!(checked >= least, "{name}: only {checked} metrics checked");
    }
}

/// A model called through inference profiles publishes under their `ModelId`s: its alarms read each
/// alias's series, and its widgets draw every one of them (the sum the alarm fires on).
#[test]
fn every_alias_series_an_alarm_reads_is_on_a_dashboard() {
    let mut s = spec("collectiq-prod");
    let aliases = [
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
    ];
    s.bedrock_models[0].aliases = aliases.iter().map(|a| (*a).to_owned()).collect();
    let shown = dashboard_metrics_of(&s);
    let cat = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
    let mut alias_series = 0;
    for d in &cat.alarms {
        let Alarm::Metric(a) = &d.alarm else { continue };
        for m in alarm_metrics(a) {
            assert!(
                shown.contains(&m),
                "{} reads {m:?}, which no dashboard shows",
                d.name()
            );
            if m.2.iter().any(|(_, v)| aliases.contains(&v.as_str())) {
                alias_series += 1;
            }
        }
    }
    // Two aliases × (throttles, input-tokens anomaly).
    assert_eq!(alias_series, 4);
}

#[test]
fn overview_lists_the_notifying_alarms() {
    let s = spec("collectiq-prod");
    let cat = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
    let arns = cat.notifying_arns(&s.platform.region, s.platform.account_id.as_deref().unwrap());
    let ds = dashboards_for(&s, &DashboardOptions::for_spec(&s).with_alarm_arns(arns.clone())).unwrap();
    let overview = ds.iter().find(|d| d.name == "collectiq-prod-overview").unwrap();
    let listed: Vec<String> = overview
        .body
        .widgets
        .iter()
        .filter_map(|w| match &w.kind {
            WidgetKind::Alarm(p) => Some(p.alarms.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(listed, arns);
    assert!(listed[0].ends_with("-critical"), "critical alarms first");
    dashboards::validate(overview).unwrap();
}

/// Every threshold line that names a severity is an alarm of the catalogue: same severity word, same
/// value, reading a metric the widget plots. A line for an alarm that does not exist (Backoffice's API
/// latency, seed 002 "Components": errors, throttles, 5xx) or with another severity would tell on-call
/// something that will never page or never post.
#[test]
fn every_threshold_line_is_an_alarm_with_its_severity_and_value() {
    for name in [
        "collectiq-prod",
        "collectiq-dev",
        "backoffice-dev",
        "budgetbuddy-prod",
    ] {
        let s = spec(name);
        let cat = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
        let mut checked = 0;
        for d in dashboards_for(&s, &DashboardOptions::for_spec(&s)).unwrap() {
            for w in &d.body.widgets {
                let WidgetKind::Metric(p) = &w.kind else { continue };
                let plotted: BTreeSet<(String, String)> = p
                    .metrics
                    .iter()
                    .filter_map(|e| match e {
                        MetricEntry::Metric(r) => Some((r.namespace.clone(), r.metric_name.clone())),
                        MetricEntry::Expression(_) => None,
                    })
                    .collect();
                let lines = p.annotations.iter().flat_map(|a| a.horizontal.iter());
                for line in lines {
                    let HorizontalAnnotation::Line(line) = line else {
                        continue;
                    };
                    let label = line.label.as_deref().unwrap_or_default();
                    let severities: Vec<Severity> = [Severity::Critical, Severity::Warning]
                        .into_iter()
                        .filter(|s| {
                            label
                                .split_whitespace()
                                .any(|w| w.trim_matches(['(', ')']) == s.as_str())
                        })
                        .collect();
                    if severities.is_empty() {
                        continue;
                    }
                    let found = cat.alarms.iter().any(|a| {
                        let Alarm::Metric(m) = &a.alarm else { return false };
                        severities.contains(&a.severity)
                            && m.threshold
                                .is_some_and(|t| (t - line.value).abs() <= 1e-9 * t.abs().max(1.0))
                            && alarm_metrics(m)
                                .iter()
                                .any(|(ns, metric, _)| plotted.contains(&(ns.clone(), metric.clone())))
                    });
                    assert!(
                        found,
                        "{name}: {} / {:?}: line \"{label}\" at {} is no alarm's",
                        d.name, p.title, line.value
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 3, "{name}: only {checked} lines checked");
    }
}

/// The Step Functions failure-rate widget draws what its paging alarm computes: failed *and* timed-out
/// executions over started ones (an execution past its timeout never reaches ErrorHandler), so a page
/// for timed-out executions never shows a rate under the line.
#[test]
fn the_failure_rate_widget_draws_the_alarms_expression() {
    let s = spec("collectiq-prod");
    let cat = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
    let alarm = cat
        .alarms
        .iter()
        .find(|a| a.name().ends_with("-failure-rate-critical"))
        .expect("the state machine's failure-rate alarm");
    let Alarm::Metric(m) = &alarm.alarm else {
        panic!("a metric math alarm")
    };
    let returned = m
        .metrics
        .iter()
        .find(|q| q.return_data == Some(true))
        .and_then(|q| q.expression.clone())
        .expect("the alarm's expression");
    let drawn: Vec<String> = dashboards_for(&s, &DashboardOptions::for_spec(&s))
        .unwrap()
        .into_iter()
        .flat_map(|d| d.body.widgets)
        .filter_map(|w| match w.kind {
            WidgetKind::Metric(p) if p.title.as_deref() == Some("Failure rate (%)") => Some(p),
            _ => None,
        })
        .flat_map(|p| p.metrics)
        .filter_map(|e| match e {
            MetricEntry::Expression(x) => Some(x.expression),
            MetricEntry::Metric(_) => None,
        })
        .collect();
    assert_eq!(drawn, [returned]);
}

/// collectiq-prod moved to GovCloud (`us-gov-west-1`, its topic and state machine ARNs in
/// `aws-us-gov`): every ARN its dashboards show (the overview's alarms, the Step Functions
/// `lambda:invoke` integration) is in that partition, not `arn:aws:`, which names nothing there.
#[test]
fn govcloud_dashboards_show_aws_us_gov_arns() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
    )
    .unwrap()
    .replace("us-east-1", "us-gov-west-1")
    .replace("arn:aws:", "arn:aws-us-gov:");
    let s = platform_spec::parse(&text, "collectiq-prod.toml").unwrap();
    let cat = catalogue_for(&s, &CatalogueOptions::for_spec(&s)).unwrap();
    let arns = cat.notifying_arns(&s.platform.region, s.platform.account_id.as_deref().unwrap());
    let ds = dashboards_for(&s, &DashboardOptions::for_spec(&s).with_alarm_arns(arns)).unwrap();
    let mut alarm_arns = 0;
    let mut invoke = 0;
    for d in &ds {
        let body = d.body_json().unwrap();
        for (at, _) in body.match_indices("arn:") {
            let arn = &body[at..];
            assert!(
                arn.starts_with("arn:aws-us-gov:"),
                "{}: {}",
                d.name,
                &arn[..arn.len().min(80)]
            );
            alarm_arns +=
                usize::from(arn.starts_with("arn:aws-us-gov:cloudwatch:us-gov-west-1:123456789012:alarm:"));
            invoke += usize::from(
                arn.starts_with("arn:aws-us-gov:states:us-gov-west-1:123456789012:lambda:invoke\""),
            );
        }
    }
    assert!(
        alarm_arns > 0 && invoke > 0,
        "{alarm_arns} alarm ARNs, {invoke} lambda:invoke"
    );
}
