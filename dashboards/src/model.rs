//! Serde structs mirroring the CloudWatch dashboard body document.
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html>
//!
//! The model is deliberately permissive where the document is (stats and views are strings, a metric row
//! may contain `"."` repeats) so that a body read back with `GetDashboard` parses; the rules live in
//! [`mod@crate::validate`]. The typed builders in [`crate::builder`] only ever produce valid values.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A named dashboard: what `PutDashboard` takes (`DashboardName` + `DashboardBody`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// `DashboardName`: ≤ 255 characters from `[A-Za-z0-9_-]`.
    pub name: String,
    /// The body document.
    pub body: DashboardBody,
}

impl Dashboard {
    /// The body as the JSON string `PutDashboard` takes.
    ///
    /// # Errors
    /// Only if serialization fails, which the model's types rule out in practice.
    pub fn body_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&self.body)
    }
}

/// The dashboard body: top-level object of the document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardBody {
    /// Widgets (0–500).
    pub widgets: Vec<Widget>,
    /// Default time range start (`-PT6H`, `-P3M` or ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// End of the time range (ISO 8601), only with an absolute `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// `auto` or `inherit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_override: Option<String>,
}

/// One widget: position, size and typed properties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Widget {
    /// Column (0–23) on the 24-column grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<u32>,
    /// Row (≥ 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<u32>,
    /// Width in columns (1–24, default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in rows (1–1000, default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// `type` and `properties`.
    #[serde(flatten)]
    pub kind: WidgetKind,
}

/// The widget `type` with its `properties`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// Boxing the metric variant would only complicate every match; a dashboard has at most 500 widgets.
#[allow(clippy::large_enum_variant)]
#[serde(tag = "type", content = "properties", rename_all = "lowercase")]
pub enum WidgetKind {
    /// A graph, number, gauge, bar, pie or table of metrics.
    Metric(MetricWidgetProperties),
    /// Markdown text.
    Text(TextWidgetProperties),
    /// Status of a list of alarms.
    Alarm(AlarmWidgetProperties),
    /// A CloudWatch Logs Insights query.
    Log(LogWidgetProperties),
}

/// `properties` of a `metric` widget.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricWidgetProperties {
    /// Widget title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Metric rows and expressions (0–500).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricEntry>,
    /// Region of the metrics (required).
    #[serde(default)]
    pub region: String,
    /// `timeSeries`, `singleValue`, `gauge`, `bar`, `pie` or `table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// Stack the time series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacked: Option<bool>,
    /// Default statistic (`Sum`, `Average`, `p99`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
    /// Default period in seconds (multiple of 60, or 1/5/10/30 for high resolution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// Axis ranges and labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_axis: Option<YAxis>,
    /// Horizontal and vertical annotations, or an alarm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// Legend placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legend: Option<Legend>,
    /// Show the latest, possibly incomplete, data point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_data: Option<bool>,
    /// For `singleValue`/`pie`/`bar`: aggregate over the whole time range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_period_to_time_range: Option<bool>,
}

/// `yAxis`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct YAxis {
    /// Left axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<AxisRange>,
    /// Right axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<AxisRange>,
}

/// One axis.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxisRange {
    /// Minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Show units next to the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_units: Option<bool>,
}

/// `legend`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Legend {
    /// `right`, `bottom` or `hidden`.
    pub position: String,
}

/// `annotations`: either `alarms` (alone) or horizontal/vertical lines and bands.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Annotations {
    /// One alarm ARN; cannot be combined with `metrics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<Vec<String>>,
    /// Horizontal lines or bands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub horizontal: Vec<HorizontalAnnotation>,
    /// Vertical lines or bands (ISO 8601 timestamps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vertical: Vec<VerticalAnnotation>,
}

/// A horizontal annotation: a line, or a band between two values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HorizontalAnnotation {
    /// A line at `value`.
    Line(AnnotationLine),
    /// A band between two values.
    Band([AnnotationLine; 2]),
}

/// One horizontal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationLine {
    /// Y value.
    pub value: f64,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// `above`, `below` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<String>,
    /// Whether shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    /// `left` or `right`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_axis: Option<String>,
}

/// A vertical annotation (a moment in time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerticalAnnotation {
    /// ISO 8601 timestamp.
    pub value: String,
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// `properties` of a `text` widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextWidgetProperties {
    /// The markdown.
    pub markdown: String,
    /// `solid` or `transparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
}

/// `properties` of an `alarm` widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmWidgetProperties {
    /// Alarm ARNs (1–100).
    pub alarms: Vec<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `default`, `stateUpdatedTimestamp` or `timestamp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// Only alarms in these states (`ALARM`, `INSUFFICIENT_DATA`, `OK`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<Vec<String>>,
}

/// `properties` of a `log` widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogWidgetProperties {
    /// `SOURCE 'group' | fields ...`.
    pub query: String,
    /// Region.
    #[serde(default)]
    pub region: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `table`, `timeSeries`, `bar` or `pie`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// Stack a time series view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacked: Option<bool>,
}

/// One dimension of a metric row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dimension {
    /// Dimension name (`FunctionName`), or `"."` to repeat the previous row's value.
    pub name: String,
    /// Dimension value, or `"."`.
    pub value: String,
}

/// Rendering options after the strings of a metric row, or the body of an expression.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderProps {
    /// Id (starts with a lowercase letter); needed when an expression refers to the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Legend label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Statistic for this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
    /// Period for this entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// `false` hides it (typical for the inputs of an expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
    /// `left` or `right`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_axis: Option<String>,
    /// Region of this entry (cross-region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Account of this entry (cross-account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl RenderProps {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One entry of a metric widget's `metrics` array.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricEntry {
    /// `["Namespace","MetricName","DimName","DimValue",…,{render props}]`.
    Metric(MetricRow),
    /// `[{"expression":"SUM(METRICS())","id":"e1",…}]` — math, `SEARCH(...)` or Metrics Insights.
    Expression(ExpressionEntry),
}

/// A metric row; any string may be `"."` to repeat the value at the same position of the previous row.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// Namespace (`AWS/Lambda`, `CollectIQ`).
    pub namespace: String,
    /// Metric name.
    pub metric_name: String,
    /// Dimensions in document order.
    pub dimensions: Vec<Dimension>,
    /// Rendering options.
    pub props: RenderProps,
}

/// An expression entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpressionEntry {
    /// The expression text.
    pub expression: String,
    /// Id, label, visibility, ...
    #[serde(flatten)]
    pub props: RenderProps,
}

impl Serialize for MetricEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Metric(row) => {
                let with_props = !row.props.is_empty();
                let len = 2 + 2 * row.dimensions.len() + usize::from(with_props);
                let mut seq = serializer.serialize_seq(Some(len))?;
                seq.serialize_element(&row.namespace)?;
                seq.serialize_element(&row.metric_name)?;
                for d in &row.dimensions {
                    seq.serialize_element(&d.name)?;
                    seq.serialize_element(&d.value)?;
                }
                if with_props {
                    seq.serialize_element(&row.props)?;
                }
                seq.end()
            }
            Self::Expression(expr) => {
                let mut seq = serializer.serialize_seq(Some(1))?;
                seq.serialize_element(expr)?;
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for MetricEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = MetricEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a metric row [namespace, name, dim, value, ..., {props}] or [{expression}]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut strings: Vec<String> = Vec::new();
        let mut trailing: Option<serde_json::Map<String, serde_json::Value>> = None;
        while let Some(item) = seq.next_element::<serde_json::Value>()? {
            if trailing.is_some() {
                return Err(de::Error::custom(
                    "the render-properties object must be the last element",
                ));
            }
            match item {
                serde_json::Value::String(s) => strings.push(s),
                serde_json::Value::Object(map) => trailing = Some(map),
                _ => {
                    return Err(de::Error::custom(
                        "Invalid metric field type, only 'String' type is allowed",
                    ));
                }
            }
        }
        let object = trailing.map(serde_json::Value::Object);
        if strings.is_empty() {
            let Some(object) = object else {
                return Err(de::Error::custom("empty metric entry"));
            };
            let expr: ExpressionEntry = serde_json::from_value(object).map_err(de::Error::custom)?;
            return Ok(MetricEntry::Expression(expr));
        }
        if strings.len() < 2 || !strings.len().is_multiple_of(2) {
            return Err(de::Error::custom(format!(
                "a metric row needs namespace, name and name/value pairs, found {} strings",
                strings.len()
            )));
        }
        let props = match object {
            Some(o) => serde_json::from_value(o).map_err(de::Error::custom)?,
            None => RenderProps::default(),
        };
        let mut it = strings.into_iter();
        let namespace = it.next().unwrap_or_default();
        let metric_name = it.next().unwrap_or_default();
        let rest: Vec<String> = it.collect();
        let dimensions = rest
            .chunks(2)
            .map(|c| Dimension {
                name: c[0].clone(),
                value: c[1].clone(),
            })
            .collect();
        Ok(MetricEntry::Metric(MetricRow {
            namespace,
            metric_name,
            dimensions,
            props,
        }))
    }
}

impl MetricEntry {
    /// The entry's render properties.
    #[must_use]
    pub fn props(&self) -> &RenderProps {
        match self {
            Self::Metric(row) => &row.props,
            Self::Expression(e) => &e.props,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn metric_row_round_trips_as_array() {
        let entry = MetricEntry::Metric(MetricRow {
            namespace: "AWS/Lambda".into(),
            metric_name: "Errors".into(),
            dimensions: vec![Dimension {
                name: "FunctionName".into(),
                value: "f".into(),
            }],
            props: RenderProps {
                id: Some("m1".into()),
                ..RenderProps::default()
            },
        });
        let v = serde_json::to_value(&entry).unwrap();
        assert_eq!(
            v,
            json!(["AWS/Lambda", "Errors", "FunctionName", "f", {"id": "m1"}])
        );
        let back: MetricEntry = serde_json::from_value(v).unwrap();
        assert_eq!(back, entry);
    }

    #[test]
    fn row_without_props_has_no_trailing_object() {
        let v = json!(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "q"]);
        let e: MetricEntry = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&e).unwrap(), v);
    }

    #[test]
    fn expression_round_trips() {
        let v = json!([{"expression": "SUM(METRICS())", "id": "e1", "label": "Total"}]);
        let e: MetricEntry = serde_json::from_value(v.clone()).unwrap();
        assert!(matches!(&e, MetricEntry::Expression(x) if x.expression == "SUM(METRICS())"));
        assert_eq!(serde_json::to_value(&e).unwrap(), v);
    }

    #[test]
    fn non_string_fields_are_rejected_like_cloudwatch() {
        let err = serde_json::from_value::<MetricEntry>(json!(["AWS/Lambda", "Errors", "FunctionName", 3]))
            .unwrap_err();
        assert!(err.to_string().contains("only 'String' type is allowed"), "{err}");
        // Dimensions passed as an object (CloudWatch: "Should NOT have more than 2 items").
        assert!(
            serde_json::from_value::<MetricEntry>(json!(["AWS/Lambda", "Errors", {"FunctionName": "f"}, {}]))
                .is_err()
        );
        assert!(
            serde_json::from_value::<MetricEntry>(json!(["AWS/Lambda", "Errors", "FunctionName"])).is_err()
        );
    }

    fn props_strategy() -> impl Strategy<Value = RenderProps> {
        (
            prop::option::of("[a-z][a-zA-Z0-9_]{0,6}"),
            prop::option::of("[ -~]{0,12}"),
            prop::option::of(prop::sample::select(vec!["Sum", "p99", "Average"])),
            prop::option::of(prop::sample::select(vec![60u32, 300])),
            prop::option::of(any::<bool>()),
        )
            .prop_map(|(id, label, stat, period, visible)| RenderProps {
                id,
                label,
                stat: stat.map(str::to_owned),
                period,
                visible,
                ..RenderProps::default()
            })
    }

    fn entry_strategy() -> impl Strategy<Value = MetricEntry> {
        let row = (
            "[A-Za-z/.]{1,12}",
            "[A-Za-z0-9.]{1,12}",
            prop::collection::vec(("[A-Za-z.]{1,8}", "[ -~]{0,10}"), 0..4),
            props_strategy(),
        )
            .prop_map(|(namespace, metric_name, dims, props)| {
                MetricEntry::Metric(MetricRow {
                    namespace,
                    metric_name,
                    dimensions: dims
                        .into_iter()
                        .map(|(name, value)| Dimension { name, value })
                        .collect(),
                    props,
                })
            });
        let expr = ("[ -~]{1,30}", props_strategy())
            .prop_map(|(expression, props)| MetricEntry::Expression(ExpressionEntry { expression, props }));
        prop_oneof![row, expr]
    }

    proptest! {
        #[test]
        fn any_entry_round_trips_through_json(entry in entry_strategy()) {
            let text = serde_json::to_string(&entry).unwrap();
            let back: MetricEntry = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, entry);
        }
    }

    #[test]
    fn widget_has_type_and_properties() {
        let w = Widget {
            x: Some(0),
            y: Some(0),
            width: Some(24),
            height: Some(2),
            kind: WidgetKind::Text(TextWidgetProperties {
                markdown: "# Hi".into(),
                background: None,
            }),
        };
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(
            v,
            json!({"x": 0, "y": 0, "width": 24, "height": 2, "type": "text", "properties": {"markdown": "# Hi"}})
        );
        assert_eq!(serde_json::from_value::<Widget>(v).unwrap(), w);
    }
}
