//! Offline validation of a dashboard with CloudWatch's real rules, so a bad body fails in a test instead
//! of at `PutDashboard` time with `InvalidParameterInput`.
//!
//! Rules (each a [`Rule`]): ≤ 500 widgets, ≤ 500 entries per metric widget, ≤ 2,500 metrics per dashboard
//! counting metrics used only in math, the 24-column grid (`x` 0–23, `width` 1–24, `x + width ≤ 24`,
//! `height` 1–1000, `x` and `y` given together), ids start with a lowercase letter and are unique per
//! widget, expressions only reference ids of the same widget, something is visible, region present,
//! valid stats, periods and views, `"."` only repeats a value the previous row has, `alarms`
//! annotations not combined with `metrics`, gauge needs a y range, alarm widgets list 1–100 alarms,
//! dashboard names `[A-Za-z0-9_-]{1,255}`, `start`/`end`/`periodOverride` syntax, and for the namespaces in [`vocabulary::known`] (AWS's and the catalogue's): known
//! metric names and **exact** dimension sets (also inside `SEARCH('{Namespace,Dim,...} MetricName=...')`).
//!
//! Limits: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html>;
//! the result of a `SEARCH` is not counted (its size is only known at query time).

use crate::model::{Dashboard, DashboardBody, MetricEntry, MetricRow, MetricWidgetProperties, WidgetKind};
use std::collections::HashSet;
use std::fmt;
use telemetry::catalogue::MetricName;
use vocabulary::{MetricCheck, known, stat as stats};

/// Most widgets on one dashboard.
pub const MAX_WIDGETS: usize = 500;
/// Most entries in one metric widget's `metrics` array.
pub const MAX_METRICS_PER_WIDGET: usize = 500;
/// Most metrics on one dashboard, including metrics used only in math.
pub const MAX_METRICS_PER_DASHBOARD: usize = 2_500;
/// Grid width.
pub const GRID_COLUMNS: u32 = 24;
/// Longest dashboard name.
pub const MAX_NAME_LEN: usize = 255;

/// The rule a [`Violation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Dashboard name empty, too long or outside `[A-Za-z0-9_-]`.
    DashboardName,
    /// More than [`MAX_WIDGETS`] widgets.
    TooManyWidgets,
    /// More than [`MAX_METRICS_PER_WIDGET`] entries in one widget.
    TooManyMetricsInWidget,
    /// More than [`MAX_METRICS_PER_DASHBOARD`] metrics on the dashboard.
    TooManyMetricsInDashboard,
    /// Position or size outside the 24-column grid.
    Grid,
    /// An id that does not start with a lowercase letter or has other characters than `[A-Za-z0-9_]`.
    IdFormat,
    /// The same id twice in one widget.
    DuplicateId,
    /// An expression refers to an id the widget does not define.
    UnknownReference,
    /// Every entry of a widget is hidden: the widget shows nothing.
    NothingVisible,
    /// `region` missing or not a region name.
    Region,
    /// A statistic CloudWatch does not know.
    Stat,
    /// A period that is not 1, 5, 10, 30 or a multiple of 60.
    Period,
    /// A `view` CloudWatch does not know, or a gauge without a y range.
    View,
    /// `"."` in the first row, or where the previous row has no value to repeat.
    DotRepeat,
    /// Unknown metric name in a known namespace.
    UnknownMetric,
    /// Known metric asked for with a dimension set it is never published with.
    DimensionSet,
    /// `annotations.alarms` combined with `metrics`, or more than one alarm annotation.
    AlarmAnnotation,
    /// Alarm widget with 0 or more than 100 alarms.
    AlarmWidget,
    /// Log widget without a query.
    LogQuery,
    /// `start` neither a negative ISO 8601 duration (`-PT6H`) nor a timestamp, `end` with a relative
    /// `start`, or `periodOverride` not `auto`/`inherit`.
    TimeRange,
}

/// One broken rule, located like CloudWatch's `dataPath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the body (`/widgets/3/properties/metrics/0`), or `DashboardName`.
    pub path: String,
    /// The rule.
    pub rule: Rule,
    /// What is wrong, for humans.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every violation of one dashboard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dashboard {name} is invalid, there are {} validation errors: {}", .violations.len(), join(.violations))]
pub struct ValidationErrors {
    /// Dashboard name.
    pub name: String,
    /// The violations, in document order.
    pub violations: Vec<Violation>,
}

fn join(v: &[Violation]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl ValidationErrors {
    /// Whether some violation breaks `rule`.
    #[must_use]
    pub fn has(&self, rule: Rule) -> bool {
        self.violations.iter().any(|v| v.rule == rule)
    }
}

/// Validates a named dashboard.
///
/// ```
/// use dashboards::builder::{DashboardBuilder, Metric, MetricWidget};
/// use dashboards::validate::{validate, Rule};
/// let mut d = DashboardBuilder::new("demo")
///     .with_widget(MetricWidget::new("Errors", "us-east-1")
///         .with_metric(Metric::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f")))
///     .build().unwrap();
/// assert!(validate(&d).is_ok());
/// d.name = "bad name!".into();
/// assert!(validate(&d).unwrap_err().has(Rule::DashboardName));
/// ```
///
/// # Errors
/// [`ValidationErrors`] listing every violation.
pub fn validate(dashboard: &Dashboard) -> Result<(), ValidationErrors> {
    let mut violations = name_violations(&dashboard.name);
    violations.extend(validate_body(&dashboard.body));
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors {
            name: dashboard.name.clone(),
            violations,
        })
    }
}

fn name_violations(name: &str) -> Vec<Violation> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Vec::new()
    } else {
        vec![Violation {
            path: "DashboardName".into(),
            rule: Rule::DashboardName,
            message: format!("\"{name}\" must be 1-{MAX_NAME_LEN} characters from [A-Za-z0-9_-]"),
        }]
    }
}

/// How many metrics a body holds, as CloudWatch counts them against [`MAX_METRICS_PER_DASHBOARD`]:
/// every metric row, including rows that are hidden and used only in math.
#[must_use]
pub fn metric_count(body: &DashboardBody) -> usize {
    body.widgets
        .iter()
        .map(|w| match &w.kind {
            WidgetKind::Metric(p) => metric_rows(p),
            _ => 0,
        })
        .sum()
}

pub(crate) fn metric_rows(p: &MetricWidgetProperties) -> usize {
    p.metrics
        .iter()
        .filter(|e| matches!(e, MetricEntry::Metric(_)))
        .count()
}

/// Validates a body; returns every violation (empty when valid).
#[must_use]
pub fn validate_body(body: &DashboardBody) -> Vec<Violation> {
    let mut out = Vec::new();
    if body.widgets.len() > MAX_WIDGETS {
        out.push(Violation {
            path: "/widgets".into(),
            rule: Rule::TooManyWidgets,
            message: format!(
                "Should NOT have more than {MAX_WIDGETS} items (has {})",
                body.widgets.len()
            ),
        });
    }
    time_range(body, &mut out);
    let total = metric_count(body);
    if total > MAX_METRICS_PER_DASHBOARD {
        out.push(Violation {
            path: "/widgets".into(),
            rule: Rule::TooManyMetricsInDashboard,
            message: format!("{total} metrics, more than {MAX_METRICS_PER_DASHBOARD} per dashboard"),
        });
    }
    for (i, w) in body.widgets.iter().enumerate() {
        let path = format!("/widgets/{i}");
        grid(&path, w, &mut out);
        match &w.kind {
            WidgetKind::Metric(p) => metric_widget(&format!("{path}/properties"), p, &mut out),
            WidgetKind::Text(_) => {}
            WidgetKind::Alarm(p) => {
                if p.alarms.is_empty() || p.alarms.len() > 100 {
                    out.push(Violation {
                        path: format!("{path}/properties/alarms"),
                        rule: Rule::AlarmWidget,
                        message: format!("an alarm widget lists 1-100 alarms, found {}", p.alarms.len()),
                    });
                }
            }
            WidgetKind::Log(p) => {
                if p.query.trim().is_empty() {
                    out.push(Violation {
                        path: format!("{path}/properties/query"),
                        rule: Rule::LogQuery,
                        message: "a log widget needs a query".into(),
                    });
                }
                region(&format!("{path}/properties/region"), &p.region, &mut out);
            }
        }
    }
    out
}

fn is_relative_duration(s: &str) -> bool {
    // -P3M, -PT6H, -P1DT12H, -PT15M
    let Some(rest) = s.strip_prefix("-P") else {
        return false;
    };
    let (date, time) = rest.split_once('T').map_or((rest, ""), |(d, t)| (d, t));
    let ok_part = |part: &str, units: &[char]| {
        let mut digits = 0;
        let mut any = false;
        for c in part.chars() {
            if c.is_ascii_digit() {
                digits += 1;
            } else if units.contains(&c) && digits > 0 {
                digits = 0;
                any = true;
            } else {
                return false;
            }
        }
        digits == 0 && (any || part.is_empty())
    };
    !(date.is_empty() && time.is_empty())
        && ok_part(date, &['Y', 'M', 'W', 'D'])
        && ok_part(time, &['H', 'M', 'S'])
        && (!rest.contains('T') || !time.is_empty())
}

fn is_timestamp(s: &str) -> bool {
    // 2026-11-22T00:00:00Z (the document accepts ISO 8601 timestamps)
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn time_range(body: &DashboardBody, out: &mut Vec<Violation>) {
    let mut bad = |path: &str, message: String| {
        out.push(Violation {
            path: path.into(),
            rule: Rule::TimeRange,
            message,
        })
    };
    if let Some(start) = &body.start
        && !is_relative_duration(start)
        && !is_timestamp(start)
    {
        bad(
            "/start",
            format!("\"{start}\" is neither a relative duration like -PT6H nor an ISO 8601 timestamp"),
        );
    }
    if let Some(end) = &body.end {
        if !is_timestamp(end) {
            bad("/end", format!("\"{end}\" is not an ISO 8601 timestamp"));
        }
        if body.start.as_deref().is_none_or(|s| !is_timestamp(s)) {
            bad("/end", "end needs an absolute start".into());
        }
    }
    if let Some(p) = &body.period_override
        && p != "auto"
        && p != "inherit"
    {
        bad("/periodOverride", format!("\"{p}\" must be auto or inherit"));
    }
}

fn grid(path: &str, w: &crate::model::Widget, out: &mut Vec<Violation>) {
    let mut bad = |message: String| {
        out.push(Violation {
            path: path.into(),
            rule: Rule::Grid,
            message,
        })
    };
    if w.x.is_some() != w.y.is_some() {
        bad("x and y must be given together".into());
    }
    let width = w.width.unwrap_or(6);
    let height = w.height.unwrap_or(6);
    if !(1..=GRID_COLUMNS).contains(&width) {
        bad(format!("width {width} outside 1-{GRID_COLUMNS}"));
    }
    if !(1..=1000).contains(&height) {
        bad(format!("height {height} outside 1-1000"));
    }
    if let Some(x) = w.x {
        if x >= GRID_COLUMNS {
            bad(format!("x {x} outside 0-{}", GRID_COLUMNS - 1));
        } else if x.saturating_add(width) > GRID_COLUMNS {
            bad(format!(
                "x {x} + width {width} exceeds the {GRID_COLUMNS}-column grid"
            ));
        }
    }
}

fn region(path: &str, region: &str, out: &mut Vec<Violation>) {
    // `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`.
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if !ok {
        out.push(Violation {
            path: path.into(),
            rule: Rule::Region,
            message: if region.is_empty() {
                "region is required".into()
            } else {
                format!("\"{region}\" is not a region")
            },
        });
    }
}

fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

const VIEWS: [&str; 6] = ["timeSeries", "singleValue", "gauge", "bar", "pie", "table"];

fn metric_widget(path: &str, p: &MetricWidgetProperties, out: &mut Vec<Violation>) {
    region(&format!("{path}/region"), &p.region, out);
    if p.metrics.len() > MAX_METRICS_PER_WIDGET {
        out.push(Violation {
            path: format!("{path}/metrics"),
            rule: Rule::TooManyMetricsInWidget,
            message: format!(
                "Should NOT have more than {MAX_METRICS_PER_WIDGET} items (has {})",
                p.metrics.len()
            ),
        });
    }
    if let Some(stat) = &p.stat {
        check_stat(&format!("{path}/stat"), stat, out);
    }
    if let Some(period) = p.period {
        check_period(&format!("{path}/period"), period, out);
    }
    if let Some(view) = &p.view {
        if !VIEWS.contains(&view.as_str()) {
            out.push(Violation {
                path: format!("{path}/view"),
                rule: Rule::View,
                message: format!("view \"{view}\" is not one of {}", VIEWS.join(", ")),
            });
        } else if view == "gauge" {
            let left = p.y_axis.as_ref().and_then(|y| y.left.as_ref());
            if left.is_none_or(|l| l.min.is_none() || l.max.is_none()) {
                out.push(Violation {
                    path: format!("{path}/yAxis"),
                    rule: Rule::View,
                    message: "a gauge needs yAxis.left.min and yAxis.left.max".into(),
                });
            }
        }
    }
    if let Some(alarms) = p.annotations.as_ref().and_then(|a| a.alarms.as_ref())
        && (!p.metrics.is_empty() || alarms.len() != 1)
    {
        out.push(Violation {
            path: format!("{path}/annotations/alarms"),
            rule: Rule::AlarmAnnotation,
            message: "an alarm annotation is one alarm ARN and replaces `metrics`".into(),
        });
    }

    let mut ids = HashSet::new();
    for (j, e) in p.metrics.iter().enumerate() {
        if let Some(id) = &e.props().id {
            if !is_valid_id(id) {
                out.push(Violation {
                    path: format!("{path}/metrics/{j}"),
                    rule: Rule::IdFormat,
                    message: format!(
                        "id \"{id}\" must start with a lowercase letter and contain only [A-Za-z0-9_]"
                    ),
                });
            } else if !ids.insert(id.clone()) {
                out.push(Violation {
                    path: format!("{path}/metrics/{j}"),
                    rule: Rule::DuplicateId,
                    message: format!("id \"{id}\" is used twice in this widget"),
                });
            }
        }
    }
    if !p.metrics.is_empty() && p.metrics.iter().all(|e| e.props().visible == Some(false)) {
        out.push(Violation {
            path: format!("{path}/metrics"),
            rule: Rule::NothingVisible,
            message: "every entry is hidden (visible: false); the widget would show nothing".into(),
        });
    }

    let mut previous: Option<MetricRow> = None;
    for (j, e) in p.metrics.iter().enumerate() {
        let epath = format!("{path}/metrics/{j}");
        if let Some(stat) = &e.props().stat {
            check_stat(&epath, stat, out);
        }
        if let Some(period) = e.props().period {
            check_period(&epath, period, out);
        }
        match e {
            MetricEntry::Metric(row) => match resolve_dots(row, previous.as_ref()) {
                Ok(resolved) => {
                    check_known(&epath, &resolved, out);
                    previous = Some(resolved);
                }
                Err(message) => {
                    out.push(Violation {
                        path: epath,
                        rule: Rule::DotRepeat,
                        message,
                    });
                    previous = Some(row.clone());
                }
            },
            MetricEntry::Expression(x) => {
                for r in expression_references(&x.expression) {
                    if !ids.contains(&r) {
                        out.push(Violation {
                            path: epath.clone(),
                            rule: Rule::UnknownReference,
                            message: format!(
                                "expression refers to \"{r}\", which no entry of this widget defines"
                            ),
                        });
                    }
                }
                for (ns, keys, metric) in search_schemas(&x.expression) {
                    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    if let Some(metric) = metric {
                        push_check(&epath, &ns, &metric, &keys, out);
                    }
                }
            }
        }
    }
}

fn check_stat(path: &str, stat: &str, out: &mut Vec<Violation>) {
    if !stats::is_valid_stat(stat) {
        out.push(Violation {
            path: path.into(),
            rule: Rule::Stat,
            message: format!("\"{stat}\" is not a statistic"),
        });
    }
}

fn check_period(path: &str, period: u32, out: &mut Vec<Violation>) {
    if !stats::is_valid_dashboard_period(period) {
        out.push(Violation {
            path: path.into(),
            rule: Rule::Period,
            message: format!("period {period} must be 1, 5, 10, 30 or a multiple of 60"),
        });
    }
}

/// Resolves `"."` against the previous row, position by position (namespace, name, then name/value pairs).
fn resolve_dots(row: &MetricRow, previous: Option<&MetricRow>) -> Result<MetricRow, String> {
    let flat = |r: &MetricRow| -> Vec<String> {
        let mut v = vec![r.namespace.clone(), r.metric_name.clone()];
        for d in &r.dimensions {
            v.push(d.name.clone());
            v.push(d.value.clone());
        }
        v
    };
    let mine = flat(row);
    if !mine.iter().any(|s| s == ".") {
        return Ok(row.clone());
    }
    let Some(previous) = previous else {
        return Err("\".\" repeats the previous row's value, but this is the first row".into());
    };
    let theirs = flat(previous);
    let mut resolved = Vec::with_capacity(mine.len());
    for (i, s) in mine.iter().enumerate() {
        if s == "." {
            let Some(v) = theirs.get(i) else {
                return Err(format!(
                    "\".\" at position {i} but the previous row has only {} values",
                    theirs.len()
                ));
            };
            resolved.push(v.clone());
        } else {
            resolved.push(s.clone());
        }
    }
    let dimensions = resolved[2..]
        .chunks(2)
        .map(|c| crate::model::Dimension {
            name: c[0].clone(),
            value: c[1].clone(),
        })
        .collect();
    Ok(MetricRow {
        namespace: resolved[0].clone(),
        metric_name: resolved[1].clone(),
        dimensions,
        props: row.props.clone(),
    })
}

fn check_known(path: &str, row: &MetricRow, out: &mut Vec<Violation>) {
    let keys: Vec<&str> = row.dimensions.iter().map(|d| d.name.as_str()).collect();
    push_check(path, &row.namespace, &row.metric_name, &keys, out);
}

fn push_check(path: &str, namespace: &str, metric: &str, keys: &[&str], out: &mut Vec<Violation>) {
    match known::check::<MetricName>(namespace, metric, keys) {
        MetricCheck::Ok | MetricCheck::UnknownNamespace => {}
        MetricCheck::UnknownMetric { did_you_mean } => out.push(Violation {
            path: path.into(),
            rule: Rule::UnknownMetric,
            message: if did_you_mean.is_empty() {
                format!("{namespace} has no metric \"{metric}\"")
            } else {
                format!(
                    "{namespace} has no metric \"{metric}\"; did you mean {}?",
                    did_you_mean.join(" or ")
                )
            },
        }),
        MetricCheck::DimensionSetMismatch { expected } => out.push(Violation {
            path: path.into(),
            rule: Rule::DimensionSet,
            message: format!(
                "{namespace} {metric} is never published with dimensions {{{}}}; it has {}",
                keys.join(", "),
                expected
                    .iter()
                    .map(|s| format!("{{{}}}", s.join(", ")))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        }),
    }
}

/// Identifiers an expression refers to: tokens outside quotes that start with a lowercase letter
/// (functions and keywords are uppercase in CloudWatch's math syntax).
pub(crate) fn expression_references(expression: &str) -> Vec<String> {
    let mut refs: Vec<String> = Vec::new();
    let mut in_quote: Option<char> = None;
    let mut token = String::new();
    let mut flush = |token: &mut String| {
        // Literals start with a digit (`1e3`); functions and keywords are uppercase.
        if token.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && !refs.contains(token) {
            refs.push(token.clone());
        }
        token.clear();
    };
    for c in expression.chars() {
        match in_quote {
            Some(q) if c == q => in_quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => {
                flush(&mut token);
                in_quote = Some(c);
            }
            None if c.is_ascii_alphanumeric() || c == '_' || c == '.' => token.push(c),
            None => flush(&mut token),
        }
    }
    flush(&mut token);
    refs
}

/// The `{Namespace,Dim,...}` schemas of `SEARCH('...')` calls, with the `MetricName="..."` term if any.
pub(crate) fn search_schemas(expression: &str) -> Vec<(String, Vec<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = expression;
    while let Some(start) = rest.find("SEARCH(") {
        rest = &rest[start + "SEARCH(".len()..];
        let Some(q) = rest.find(['\'', '"']) else { break };
        let quote = rest.as_bytes()[q] as char;
        let after = &rest[q + 1..];
        let Some(end) = after.find(quote) else { break };
        let query = &after[..end];
        rest = &after[end + 1..];
        let Some(open) = query.find('{') else { continue };
        let Some(close) = query[open..].find('}') else {
            continue;
        };
        let schema: Vec<String> = query[open + 1..open + close]
            .split(',')
            .map(|s| s.trim().trim_matches('"').to_owned())
            .collect();
        let Some((ns, keys)) = schema.split_first() else {
            continue;
        };
        let metric = query
            .split_once("MetricName=")
            .map(|(_, m)| {
                m.trim_start()
                    .trim_start_matches('"')
                    .split(['"', ' '])
                    .next()
                    .unwrap_or("")
                    .to_owned()
            })
            .filter(|m| !m.is_empty());
        out.push((ns.clone(), keys.to_vec(), metric));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use serde_json::json;

    fn body_of(widgets: serde_json::Value) -> DashboardBody {
        serde_json::from_value(json!({ "widgets": widgets })).unwrap()
    }

    fn rules(body: &DashboardBody) -> Vec<Rule> {
        validate_body(body).into_iter().map(|v| v.rule).collect()
    }

    fn metric_widget(metrics: serde_json::Value) -> serde_json::Value {
        json!({"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
               "properties": {"region": "us-east-1", "metrics": metrics}})
    }

    const OK_ROW: &str = "FunctionName";

    fn good() -> serde_json::Value {
        metric_widget(json!([["AWS/Lambda", "Errors", OK_ROW, "f"]]))
    }

    #[test]
    fn a_good_body_has_no_violations() {
        assert!(rules(&body_of(json!([good()]))).is_empty());
    }

    #[test]
    fn dashboard_name_rule() {
        assert!(name_violations("collectiq-prod-overview_1").is_empty());
        assert_eq!(name_violations("has space")[0].rule, Rule::DashboardName);
        assert_eq!(name_violations("")[0].rule, Rule::DashboardName);
        assert!(name_violations(&"a".repeat(255)).is_empty());
        assert_eq!(name_violations(&"a".repeat(256))[0].rule, Rule::DashboardName);
    }

    #[test]
    fn widget_count_rule() {
        let text =
            json!({"type": "text", "x": 0, "y": 0, "width": 1, "height": 1, "properties": {"markdown": "x"}});
        let at = body_of(serde_json::Value::Array(vec![text.clone(); 500]));
        assert!(!rules(&at).contains(&Rule::TooManyWidgets));
        let over = body_of(serde_json::Value::Array(vec![text; 501]));
        assert!(rules(&over).contains(&Rule::TooManyWidgets));
    }

    fn rows(n: usize) -> serde_json::Value {
        serde_json::Value::Array(
            (0..n)
                .map(|i| json!(["AWS/Lambda", "Errors", "FunctionName", format!("f{i}")]))
                .collect(),
        )
    }

    #[test]
    fn metrics_per_widget_rule() {
        assert!(!rules(&body_of(json!([metric_widget(rows(500))]))).contains(&Rule::TooManyMetricsInWidget));
        assert!(rules(&body_of(json!([metric_widget(rows(501))]))).contains(&Rule::TooManyMetricsInWidget));
    }

    #[test]
    fn metrics_per_dashboard_rule_counts_hidden_math_inputs() {
        let five = serde_json::Value::Array(vec![metric_widget(rows(500)); 5]);
        assert!(!rules(&body_of(five)).contains(&Rule::TooManyMetricsInDashboard));
        // One more metric, hidden and only used in math, still counts.
        let mut widgets = vec![metric_widget(rows(500)); 5];
        widgets.push(metric_widget(json!([
            ["AWS/Lambda", "Errors", "FunctionName", "g", {"id": "m1", "visible": false}],
            [{"expression": "m1 * 2", "id": "e1"}]
        ])));
        let body = body_of(serde_json::Value::Array(widgets));
        assert_eq!(metric_count(&body), 2_501);
        assert!(rules(&body).contains(&Rule::TooManyMetricsInDashboard));
    }

    #[test]
    fn grid_rules() {
        let w = |x: u32, width: u32| json!({"type": "text", "x": x, "y": 0, "width": width, "height": 3, "properties": {"markdown": "x"}});
        assert!(rules(&body_of(json!([w(12, 12)]))).is_empty());
        assert!(rules(&body_of(json!([w(13, 12)]))).contains(&Rule::Grid));
        assert!(rules(&body_of(json!([w(24, 1)]))).contains(&Rule::Grid));
        assert!(rules(&body_of(json!([w(0, 25)]))).contains(&Rule::Grid));
        assert!(rules(&body_of(json!([w(0, 0)]))).contains(&Rule::Grid));
        let x_only =
            json!({"type": "text", "x": 0, "width": 6, "height": 3, "properties": {"markdown": "x"}});
        assert!(rules(&body_of(json!([x_only]))).contains(&Rule::Grid));
        let tall = json!({"type": "text", "x": 0, "y": 0, "width": 6, "height": 1001, "properties": {"markdown": "x"}});
        assert!(rules(&body_of(json!([tall]))).contains(&Rule::Grid));
    }

    #[test]
    fn id_rules() {
        let ok = metric_widget(json!([["AWS/Lambda", "Errors", "FunctionName", "f", {"id": "m_1"}]]));
        assert!(rules(&body_of(json!([ok]))).is_empty());
        let upper = metric_widget(json!([["AWS/Lambda", "Errors", "FunctionName", "f", {"id": "M1"}]]));
        assert!(rules(&body_of(json!([upper]))).contains(&Rule::IdFormat));
        let digit = metric_widget(json!([["AWS/Lambda", "Errors", "FunctionName", "f", {"id": "1m"}]]));
        assert!(rules(&body_of(json!([digit]))).contains(&Rule::IdFormat));
        let dup = metric_widget(json!([
            ["AWS/Lambda", "Errors", "FunctionName", "f", {"id": "m1"}],
            ["AWS/Lambda", "Errors", "FunctionName", "g", {"id": "m1"}]
        ]));
        assert!(rules(&body_of(json!([dup]))).contains(&Rule::DuplicateId));
    }

    #[test]
    fn expression_reference_rule() {
        let ok = metric_widget(json!([
            ["AWS/Lambda", "Errors", "FunctionName", "f", {"id": "errors", "visible": false}],
            ["AWS/Lambda", "Invocations", "FunctionName", "f", {"id": "inv", "visible": false}],
            [{"expression": "IF(inv > 0, 100 * errors / inv, 0)", "id": "rate", "label": "error rate"}]
        ]));
        assert!(rules(&body_of(json!([ok]))).is_empty());
        let dangling = metric_widget(json!([
            ["AWS/Lambda", "Errors", "FunctionName", "f", {"id": "errors"}],
            [{"expression": "100 * errors / invocations", "id": "rate"}]
        ]));
        assert!(rules(&body_of(json!([dangling]))).contains(&Rule::UnknownReference));
    }

    #[test]
    fn references_skip_quotes_functions_and_literals() {
        assert_eq!(
            expression_references(
                "SEARCH('{AWS/Lambda,FunctionName} MetricName=\"errors\"', 'Sum', 300) + m1 * 1e3"
            ),
            vec!["m1".to_owned()]
        );
        assert_eq!(expression_references("SUM(METRICS())"), Vec::<String>::new());
        assert_eq!(
            expression_references("FILL(m1, 0) / PERIOD(m1)"),
            vec!["m1".to_owned()]
        );
    }

    #[test]
    fn nothing_visible_rule() {
        let hidden =
            metric_widget(json!([["AWS/Lambda", "Errors", "FunctionName", "f", {"visible": false}]]));
        assert!(rules(&body_of(json!([hidden]))).contains(&Rule::NothingVisible));
        assert!(!rules(&body_of(json!([good()]))).contains(&Rule::NothingVisible));
    }

    #[test]
    fn region_rule() {
        let none = json!({"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6,
                          "properties": {"metrics": [["AWS/Lambda", "Errors", "FunctionName", "f"]]}});
        assert!(rules(&body_of(json!([none]))).contains(&Rule::Region));
        let bad = json!({"type": "log", "x": 0, "y": 0, "width": 6, "height": 6,
                         "properties": {"query": "SOURCE 'g' | fields @message", "region": "US East"}});
        assert!(rules(&body_of(json!([bad]))).contains(&Rule::Region));
        let gov = json!({"type": "log", "x": 0, "y": 0, "width": 6, "height": 6,
                         "properties": {"query": "SOURCE 'g' | fields @message", "region": "us-gov-west-1"}});
        assert!(rules(&body_of(json!([gov]))).is_empty());
    }

    #[test]
    fn stat_and_period_rules() {
        let ok = metric_widget(
            json!([["AWS/Lambda", "Duration", "FunctionName", "f", {"stat": "p99", "period": 60}]]),
        );
        assert!(rules(&body_of(json!([ok]))).is_empty());
        let bad_stat =
            metric_widget(json!([["AWS/Lambda", "Duration", "FunctionName", "f", {"stat": "Avg"}]]));
        assert!(rules(&body_of(json!([bad_stat]))).contains(&Rule::Stat));
        let bad_period =
            metric_widget(json!([["AWS/Lambda", "Duration", "FunctionName", "f", {"period": 90}]]));
        assert!(rules(&body_of(json!([bad_period]))).contains(&Rule::Period));
        let mut w: DashboardBody = body_of(json!([good()]));
        if let WidgetKind::Metric(p) = &mut w.widgets[0].kind {
            p.stat = Some("p100.5".into());
            p.period = Some(45);
        }
        let r = rules(&w);
        assert!(r.contains(&Rule::Stat) && r.contains(&Rule::Period));
    }

    #[test]
    fn view_rules() {
        let mut body = body_of(json!([good()]));
        let set = |body: &mut DashboardBody, view: &str, y: Option<YAxis>| {
            if let WidgetKind::Metric(p) = &mut body.widgets[0].kind {
                p.view = Some(view.into());
                p.y_axis = y;
            }
        };
        set(&mut body, "singleValue", None);
        assert!(rules(&body).is_empty());
        set(&mut body, "donut", None);
        assert!(rules(&body).contains(&Rule::View));
        set(&mut body, "gauge", None);
        assert!(rules(&body).contains(&Rule::View));
        let range = YAxis {
            left: Some(AxisRange {
                min: Some(0.0),
                max: Some(100.0),
                ..AxisRange::default()
            }),
            right: None,
        };
        set(&mut body, "gauge", Some(range));
        assert!(rules(&body).is_empty());
    }

    #[test]
    fn dot_repeat_rule() {
        let ok = metric_widget(json!([
            ["AWS/Lambda", "Errors", "FunctionName", "f"],
            [".", "Invocations", ".", "."]
        ]));
        assert!(rules(&body_of(json!([ok]))).is_empty());
        let first = metric_widget(json!([[".", "Errors", "FunctionName", "f"]]));
        assert!(rules(&body_of(json!([first]))).contains(&Rule::DotRepeat));
        let longer = metric_widget(json!([["AWS/Lambda", "Errors"], [".", "Errors", ".", "f"]]));
        assert!(rules(&body_of(json!([longer]))).contains(&Rule::DotRepeat));
        // A repeat that resolves to a wrong dimension set is caught as such.
        let resolved_bad = metric_widget(json!([
            ["AWS/ApiGateway", "Count", "ApiId", "a", "Stage", "$default"],
            [".", "5XXError", ".", ".", ".", "."]
        ]));
        assert!(rules(&body_of(json!([resolved_bad]))).contains(&Rule::DimensionSet));
    }

    #[test]
    fn known_metric_and_dimension_rules() {
        let http = metric_widget(json!([[
            "AWS/ApiGateway",
            "5xx",
            "ApiId",
            "a",
            "Stage",
            "$default"
        ]]));
        assert!(rules(&body_of(json!([http]))).is_empty());
        let upper = metric_widget(json!([[
            "AWS/ApiGateway",
            "5XX",
            "ApiId",
            "a",
            "Stage",
            "$default"
        ]]));
        let v = validate_body(&body_of(json!([upper])));
        assert_eq!(v[0].rule, Rule::UnknownMetric);
        assert!(v[0].message.contains("did you mean 5xx"), "{}", v[0].message);
        let gsi = metric_widget(json!([[
            "AWS/DynamoDB",
            "ReadThrottleEvents",
            "TableName",
            "t",
            "GlobalSecondaryIndex",
            "GSI1"
        ]]));
        assert!(rules(&body_of(json!([gsi]))).contains(&Rule::DimensionSet));
        let custom = metric_widget(json!([["CollectIQ", "CardsValued", "service", "collectiq"]]));
        assert!(rules(&body_of(json!([custom]))).is_empty());
        let custom_bad = metric_widget(json!([[
            "CollectIQ",
            "CardsValued",
            "service",
            "collectiq",
            "agent",
            "pricing"
        ]]));
        assert!(rules(&body_of(json!([custom_bad]))).contains(&Rule::DimensionSet));
        let foreign = metric_widget(json!([["Acme", "Anything", "x", "y"]]));
        assert!(rules(&body_of(json!([foreign]))).is_empty());
    }

    #[test]
    fn search_schemas_are_checked() {
        let ok = metric_widget(
            json!([[{"expression": "SEARCH('{AWS/Lambda,FunctionName} MetricName=\"Errors\"', 'Sum', 300)", "id": "s1"}]]),
        );
        assert!(rules(&body_of(json!([ok]))).is_empty());
        let bad = metric_widget(
            json!([[{"expression": "SEARCH('{AWS/States,StateMachineName} MetricName=\"ExecutionsFailed\"', 'Sum', 300)", "id": "s1"}]]),
        );
        assert!(rules(&body_of(json!([bad]))).contains(&Rule::DimensionSet));
        assert_eq!(
            search_schemas("SEARCH('{CollectIQ,service,agent} MetricName=\"AgentDuration\"', 'p95', 300)"),
            vec![(
                "CollectIQ".to_owned(),
                vec!["service".to_owned(), "agent".to_owned()],
                Some("AgentDuration".to_owned())
            )]
        );
    }

    #[test]
    fn alarm_annotation_rule() {
        let ok = json!({"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6,
            "properties": {"region": "us-east-1", "annotations": {"alarms": ["arn:aws:cloudwatch:us-east-1:1:alarm:a"]}}});
        assert!(rules(&body_of(json!([ok]))).is_empty());
        let both = json!({"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6,
            "properties": {"region": "us-east-1", "metrics": [["AWS/Lambda", "Errors", "FunctionName", "f"]],
                           "annotations": {"alarms": ["arn:aws:cloudwatch:us-east-1:1:alarm:a"]}}});
        assert!(rules(&body_of(json!([both]))).contains(&Rule::AlarmAnnotation));
    }

    #[test]
    fn alarm_widget_rule() {
        let w = |n: usize| {
            json!({"type": "alarm", "x": 0, "y": 0, "width": 6, "height": 6,
            "properties": {"alarms": (0..n).map(|i| format!("arn:aws:cloudwatch:us-east-1:1:alarm:a{i}")).collect::<Vec<_>>()}})
        };
        assert!(rules(&body_of(json!([w(100)]))).is_empty());
        assert!(rules(&body_of(json!([w(101)]))).contains(&Rule::AlarmWidget));
        assert!(rules(&body_of(json!([w(0)]))).contains(&Rule::AlarmWidget));
    }

    #[test]
    fn log_query_rule() {
        let w = |q: &str| json!({"type": "log", "x": 0, "y": 0, "width": 6, "height": 6, "properties": {"query": q, "region": "us-east-1"}});
        assert!(rules(&body_of(json!([w("SOURCE 'g' | stats count()")]))).is_empty());
        assert!(rules(&body_of(json!([w("  ")]))).contains(&Rule::LogQuery));
    }

    proptest::proptest! {
        #[test]
        fn validator_never_panics_on_odd_bodies(
            x in proptest::option::of(proptest::num::u32::ANY), y in proptest::option::of(proptest::num::u32::ANY),
            width in proptest::option::of(proptest::num::u32::ANY), height in proptest::option::of(proptest::num::u32::ANY),
            strings in proptest::collection::vec("[ -~]{0,8}", 0..9), expr in "[ -~]{0,40}",
            stat in "[ -~]{0,6}", period in proptest::num::u32::ANY,
        ) {
            let mut row = vec![serde_json::Value::String("AWS/Lambda".into()), serde_json::Value::String(".".into())];
            row.extend(strings.into_iter().map(serde_json::Value::String));
            if row.len() % 2 == 1 { row.pop(); }
            let w = json!({"type": "metric", "x": x, "y": y, "width": width, "height": height,
                "properties": {"region": "us-east-1", "stat": stat, "period": period,
                    "metrics": [row, [{"expression": expr, "id": "e1"}]]}});
            let mut w = w;
            for k in ["x", "y", "width", "height"] {
                if w[k].is_null() { w.as_object_mut().unwrap().remove(k); }
            }
            let body: DashboardBody = serde_json::from_value(json!({ "widgets": [w] })).unwrap();
            let _ = validate_body(&body);
        }
    }

    #[test]
    fn time_range_rule() {
        let with = |start: Option<&str>, end: Option<&str>, po: Option<&str>| {
            let mut b = body_of(json!([good()]));
            b.start = start.map(str::to_owned);
            b.end = end.map(str::to_owned);
            b.period_override = po.map(str::to_owned);
            rules(&b)
        };
        for ok in [
            "-PT6H",
            "-P3M",
            "-P1DT12H",
            "-PT15M",
            "-P2W",
            "2026-11-01T00:00:00Z",
        ] {
            assert!(with(Some(ok), None, None).is_empty(), "{ok}");
        }
        for bad in ["PT6H", "-PT", "-P", "-PT6", "6h", "-P1H", "-PTH"] {
            assert_eq!(with(Some(bad), None, None), vec![Rule::TimeRange], "{bad}");
        }
        assert!(
            with(
                Some("2026-11-01T00:00:00Z"),
                Some("2026-11-02T00:00:00Z"),
                Some("inherit")
            )
            .is_empty()
        );
        assert_eq!(
            with(Some("-PT6H"), Some("2026-11-02T00:00:00Z"), None),
            vec![Rule::TimeRange]
        );
        assert_eq!(with(None, None, Some("manual")), vec![Rule::TimeRange]);
    }

    #[test]
    fn errors_display_like_cloudwatch() {
        let d = Dashboard {
            name: "x".into(),
            body: body_of(json!([metric_widget(json!([[
                "AWS/Lambda",
                "Nope",
                "FunctionName",
                "f"
            ]]))])),
        };
        let e = validate(&d).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "dashboard x is invalid, there are 1 validation errors: /widgets/0/properties/metrics/0:"
            ),
            "{e}"
        );
    }
}
