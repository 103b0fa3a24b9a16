//! Typed builders: `new(required).with_x(..)`, checked in `build()`.
//!
//! A metric row is a [`vocabulary::MetricRef`] (the same type alarms use) plus how it is drawn. Custom
//! metrics enter through [`Metric::custom`] with a [`MetricName`] and [`DimensionKey`]s from the shared
//! catalogue; AWS metrics through [`Metric::of`] with a [`vocabulary::aws`] constant (or [`Metric::aws`]),
//! checked against [`vocabulary::known`] when built. [`DashboardBuilder`] lays widgets out on the grid
//! and validates the result ([`DashboardBuilder::build_pages`] also splits it into numbered pages past the
//! limits).

use crate::layout::GridLayout;
use crate::model::{
    AlarmWidgetProperties, AnnotationLine, Annotations, AxisRange, Dashboard, DashboardBody, Dimension,
    ExpressionEntry, HorizontalAnnotation, Legend, LogWidgetProperties, MetricEntry, MetricRow,
    MetricWidgetProperties, RenderProps, TextWidgetProperties, Widget, WidgetKind, YAxis,
};
use crate::paginate::paginate;
use crate::validate::{ValidationErrors, validate};
use telemetry::catalogue::{self, DimensionKey, MetricName};
use vocabulary::{AwsMetric, MetricCheck, MetricRef, Stat};

/// Why a builder refused to build.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// A metric that CloudWatch never publishes in that shape.
    #[error("metric {namespace} {metric}: {reason}")]
    Metric {
        /// Namespace.
        namespace: String,
        /// Metric name.
        metric: String,
        /// What is wrong.
        reason: String,
    },
    /// A bad expression entry.
    #[error("expression {id}: {reason}")]
    Expression {
        /// Its id.
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// The assembled dashboard breaks CloudWatch's rules.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// A metric row under construction: a [`MetricRef`] and how it is drawn.
///
/// ```
/// use dashboards::builder::Metric;
/// use vocabulary::Stat;
/// use telemetry::catalogue::{DimensionKey, MetricName};
/// let row = Metric::custom(MetricName::AgentDuration)
///     .with_custom_dimension(DimensionKey::Service, "collectiq")
///     .with_custom_dimension(DimensionKey::Agent, "pricing")
///     .with_stat(Stat::Percentile(95.0))
///     .build()
///     .unwrap();
/// assert_eq!(row.namespace, "CollectIQ");
/// // A dimension set nobody emits is refused.
/// assert!(Metric::custom(MetricName::AgentDuration).with_custom_dimension(DimensionKey::Service, "x").build().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Metric {
    metric: MetricRef,
    props: RenderProps,
}

impl From<MetricRef> for Metric {
    fn from(metric: MetricRef) -> Self {
        Self {
            metric,
            props: RenderProps::default(),
        }
    }
}

impl Metric {
    /// An AWS-published metric by name (`Metric::aws("AWS/Lambda", "Errors")`); prefer [`Self::of`].
    pub fn aws(namespace: &str, metric: &str) -> Self {
        MetricRef::aws(namespace, metric).into()
    }

    /// An AWS metric from the vocabulary (`Metric::of(vocabulary::aws::lambda::ERRORS)`).
    pub fn of(metric: AwsMetric) -> Self {
        MetricRef::of(metric).into()
    }

    /// One of CollectIQ's own metrics, from the shared catalogue.
    pub fn custom(metric: MetricName) -> Self {
        MetricRef::custom(metric).into()
    }

    /// Adds a dimension.
    pub fn with_dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metric = self.metric.with_dimension(name, value);
        self
    }

    /// Adds a catalogue dimension.
    pub fn with_custom_dimension(self, key: DimensionKey, value: impl Into<String>) -> Self {
        self.with_dimension(key.as_str(), value)
    }

    /// The metric this row shows.
    pub fn metric_ref(&self) -> &MetricRef {
        &self.metric
    }

    /// Statistic for this row.
    pub fn with_stat(mut self, stat: Stat) -> Self {
        self.props.stat = Some(stat.to_string());
        self
    }

    /// Period in seconds for this row.
    pub fn with_period(mut self, seconds: u32) -> Self {
        self.props.period = Some(seconds);
        self
    }

    /// Legend label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.props.label = Some(label.into());
        self
    }

    /// Id, so expressions can refer to it.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.props.id = Some(id.into());
        self
    }

    /// Color `#rrggbb`.
    pub fn with_color(mut self, color: impl Into<String>) -> Self {
        self.props.color = Some(color.into());
        self
    }

    /// Hidden: only an input of an expression.
    pub fn hidden(mut self) -> Self {
        self.props.visible = Some(false);
        self
    }

    /// Plot against the right axis.
    pub fn on_right_axis(mut self) -> Self {
        self.props.y_axis = Some("right".into());
        self
    }

    /// Read this row from another region than the widget's (cross-region graph).
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.props.region = Some(region.into());
        self
    }

    /// Read this row from another account (`accountId`: a source account linked to this monitoring
    /// account through CloudWatch cross-account observability).
    pub fn in_account(mut self, account_id: impl Into<String>) -> Self {
        self.props.account_id = Some(account_id.into());
        self
    }

    /// The row, if CloudWatch publishes this metric with exactly these dimension keys.
    ///
    /// # Errors
    /// [`BuildError::Metric`] for an unknown metric or a dimension set it is never published with.
    pub fn build(self) -> Result<MetricRow, BuildError> {
        let err = |reason: String| BuildError::Metric {
            namespace: self.metric.namespace().to_owned(),
            metric: self.metric.metric_name().to_owned(),
            reason,
        };
        match self.metric.check::<MetricName>() {
            Ok(()) => {}
            Err(MetricCheck::DimensionSetMismatch { expected }) => {
                let keys = self.metric.dimension_keys();
                return Err(err(format!("dimensions {keys:?} are not one of {expected:?}")));
            }
            Err(_) => return Err(err("unknown metric".into())),
        }
        let (namespace, metric_name, dimensions) = self.metric.into_parts();
        Ok(MetricRow {
            namespace,
            metric_name,
            dimensions: dimensions
                .into_iter()
                .map(|d| Dimension {
                    name: d.name,
                    value: d.value,
                })
                .collect(),
            props: self.props,
        })
    }
}

/// A `SEARCH` over one of CollectIQ's catalogue metrics, typed: the dimension keys must be a set the
/// metric is emitted with, so the search matches exactly those series whatever the dimension values
/// (for instance whichever function's `service` emitted them).
///
/// ```
/// use dashboards::builder::{CustomSearch, Expression};
/// use vocabulary::Stat;
/// use telemetry::catalogue::{DimensionKey, MetricName};
/// let e = Expression::search("valued", CustomSearch::new(MetricName::CardsValued, &[DimensionKey::Service], Stat::Sum, 300).sum())
///     .build()
///     .unwrap();
/// assert_eq!(e.expression, r#"SUM(SEARCH('{CollectIQ,service} MetricName="CardsValued"', 'Sum', 300))"#);
/// // A set the metric is not emitted with is refused.
/// assert!(Expression::search("x", CustomSearch::new(MetricName::CardsValued, &[DimensionKey::Service, DimensionKey::Agent], Stat::Sum, 300)).build().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct CustomSearch {
    metric: MetricName,
    keys: Vec<DimensionKey>,
    filters: Vec<(DimensionKey, String)>,
    stat: Stat,
    period: u32,
    sum: bool,
}

impl CustomSearch {
    /// Every series of `metric` with exactly the dimension `keys`, as `stat` over `period` seconds.
    pub fn new(metric: MetricName, keys: &[DimensionKey], stat: Stat, period: u32) -> Self {
        Self {
            metric,
            keys: keys.to_vec(),
            filters: Vec::new(),
            stat,
            period,
            sum: false,
        }
    }

    /// Only series whose `key` is `value`.
    pub fn filter(mut self, key: DimensionKey, value: impl Into<String>) -> Self {
        self.filters.push((key, value.into()));
        self
    }

    /// Add the matching series up into one (`SUM(SEARCH(..))`); only meaningful for counts.
    pub fn sum(mut self) -> Self {
        self.sum = true;
        self
    }

    fn render(&self) -> Result<String, String> {
        let spec = self.metric.spec();
        if !spec.is_emitted_with(&self.keys) {
            return Err(format!(
                "{} is not emitted with dimensions {:?}",
                self.metric, self.keys
            ));
        }
        if let Some((k, _)) = self.filters.iter().find(|(k, _)| !self.keys.contains(k)) {
            return Err(format!("filter on {k}, which is not in the schema"));
        }
        let mut schema = vec![catalogue::NAMESPACE.to_owned()];
        schema.extend(self.keys.iter().map(|k| k.as_str().to_owned()));
        let mut query = format!("{{{}}} MetricName=\"{}\"", schema.join(","), self.metric.as_str());
        for (k, v) in &self.filters {
            query.push_str(&format!(" {k}=\"{}\"", v.replace(['"', '\''], "")));
        }
        let search = format!("SEARCH('{query}', '{}', {})", self.stat, self.period);
        Ok(if self.sum {
            format!("SUM({search})")
        } else {
            search
        })
    }
}

/// A math, `SEARCH` or Metrics Insights expression under construction.
///
/// ```
/// use dashboards::builder::Expression;
/// let e = Expression::new("rate", "100 * errors / invocations").with_label("Error rate (%)").build().unwrap();
/// assert_eq!(e.props.id.as_deref(), Some("rate"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Expression {
    expression: String,
    search: Option<CustomSearch>,
    props: RenderProps,
}

impl Expression {
    /// An expression with its id.
    pub fn new(id: impl Into<String>, expression: impl Into<String>) -> Self {
        Self {
            expression: expression.into(),
            search: None,
            props: RenderProps {
                id: Some(id.into()),
                ..RenderProps::default()
            },
        }
    }

    /// A typed `SEARCH` over a catalogue metric (checked and rendered by [`Self::build`]).
    pub fn search(id: impl Into<String>, search: CustomSearch) -> Self {
        let mut e = Self::new(id, String::new());
        e.search = Some(search);
        e
    }

    /// Legend label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.props.label = Some(label.into());
        self
    }

    /// Period in seconds.
    pub fn with_period(mut self, seconds: u32) -> Self {
        self.props.period = Some(seconds);
        self
    }

    /// Hidden (an intermediate result).
    pub fn hidden(mut self) -> Self {
        self.props.visible = Some(false);
        self
    }

    /// Color `#rrggbb`.
    pub fn with_color(mut self, color: impl Into<String>) -> Self {
        self.props.color = Some(color.into());
        self
    }

    /// Plot against the right axis.
    pub fn on_right_axis(mut self) -> Self {
        self.props.y_axis = Some("right".into());
        self
    }

    /// The entry.
    ///
    /// # Errors
    /// [`BuildError::Expression`] when the expression is empty, or a search's dimension set is not one
    /// its metric is emitted with.
    pub fn build(mut self) -> Result<ExpressionEntry, BuildError> {
        if let Some(search) = self.search.take() {
            self.expression = search.render().map_err(|reason| BuildError::Expression {
                id: self.props.id.clone().unwrap_or_default(),
                reason,
            })?;
        }
        if self.expression.trim().is_empty() {
            return Err(BuildError::Expression {
                id: self.props.id.unwrap_or_default(),
                reason: "empty expression".into(),
            });
        }
        Ok(ExpressionEntry {
            expression: self.expression,
            props: self.props,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum PendingEntry {
    Metric(Metric),
    Expression(Expression),
}

/// Graph (or number, gauge, bar, pie, table) of metrics.
///
/// ```
/// use dashboards::builder::{Metric, MetricWidget};
/// use vocabulary::Stat;
/// let w = MetricWidget::new("Lambda errors", "us-east-1")
///     .with_metric(Metric::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f"))
///     .with_stat(Stat::Sum)
///     .with_period(60)
///     .with_size(12, 6)
///     .build()
///     .unwrap();
/// assert_eq!(w.width, Some(12));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct MetricWidget {
    props: MetricWidgetProperties,
    entries: Vec<PendingEntry>,
    width: u32,
    height: u32,
}

impl MetricWidget {
    /// A time-series widget titled `title` over metrics in `region`, 8 × 6.
    pub fn new(title: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            props: MetricWidgetProperties {
                title: Some(title.into()),
                region: region.into(),
                view: Some("timeSeries".into()),
                ..MetricWidgetProperties::default()
            },
            entries: Vec::new(),
            width: 8,
            height: 6,
        }
    }

    /// Adds a metric row.
    pub fn with_metric(mut self, metric: Metric) -> Self {
        self.entries.push(PendingEntry::Metric(metric));
        self
    }

    /// Adds the p50, p95 and p99 of `metric`, labelled `p50`, `p95`, `p99`: the latency triple every
    /// service row shows (the median for the usual case, p95/p99 for the tail users feel).
    pub fn with_percentiles(self, metric: &Metric) -> Self {
        self.with_percentiles_of(metric, &[50.0, 95.0, 99.0])
    }

    /// Adds each of `percentiles` of `metric`, labelled `p50`, `p90`, …: for a widget whose seed names
    /// other percentiles than the usual triple (seed 000's API latency: P50, P90, P99).
    ///
    /// ```
    /// use dashboards::builder::{Metric, MetricWidget};
    /// use dashboards::model::{MetricEntry, WidgetKind};
    /// let latency = Metric::of(vocabulary::aws::api_gateway::LATENCY).with_dimension("ApiId", "a1b2c3");
    /// let w = MetricWidget::new("Latency (ms)", "us-east-1")
    ///     .with_percentiles_of(&latency, &[50.0, 90.0, 95.0, 99.0])
    ///     .build()
    ///     .unwrap();
    /// let WidgetKind::Metric(p) = w.kind else { unreachable!() };
    /// let stats: Vec<_> = p.metrics.iter().filter_map(|e| match e {
    ///     MetricEntry::Metric(r) => r.props.stat.clone(),
    ///     MetricEntry::Expression(_) => None,
    /// }).collect();
    /// assert_eq!(stats, ["p50", "p90", "p95", "p99"]);
    /// ```
    pub fn with_percentiles_of(self, metric: &Metric, percentiles: &[f64]) -> Self {
        percentiles.iter().fold(self, |widget, &p| {
            widget.with_metric(
                metric
                    .clone()
                    .with_stat(Stat::Percentile(p))
                    .with_label(format!("p{p}")),
            )
        })
    }

    /// Adds an expression.
    pub fn with_expression(mut self, expression: Expression) -> Self {
        self.entries.push(PendingEntry::Expression(expression));
        self
    }

    /// Default statistic.
    pub fn with_stat(mut self, stat: Stat) -> Self {
        self.props.stat = Some(stat.to_string());
        self
    }

    /// Default period in seconds.
    pub fn with_period(mut self, seconds: u32) -> Self {
        self.props.period = Some(seconds);
        self
    }

    /// Stacked areas.
    pub fn stacked(mut self) -> Self {
        self.props.stacked = Some(true);
        self
    }

    /// A single number per series.
    pub fn single_value(mut self) -> Self {
        self.props.view = Some("singleValue".into());
        self.props.set_period_to_time_range = Some(true);
        self
    }

    /// A bar chart over the time range.
    pub fn bar(mut self) -> Self {
        self.props.view = Some("bar".into());
        self.props.set_period_to_time_range = Some(true);
        self
    }

    /// A gauge from `min` to `max`.
    pub fn gauge(mut self, min: f64, max: f64) -> Self {
        self.props.view = Some("gauge".into());
        self.props.set_period_to_time_range = Some(true);
        self.with_left_axis(Some(min), Some(max), None)
    }

    /// Left axis range and label.
    pub fn with_left_axis(mut self, min: Option<f64>, max: Option<f64>, label: Option<&str>) -> Self {
        let y = self.props.y_axis.get_or_insert_with(YAxis::default);
        y.left = Some(AxisRange {
            min,
            max,
            label: label.map(str::to_owned),
            show_units: Some(label.is_none()),
        });
        self
    }

    /// Right axis range and label.
    pub fn with_right_axis(mut self, min: Option<f64>, max: Option<f64>, label: Option<&str>) -> Self {
        let y = self.props.y_axis.get_or_insert_with(YAxis::default);
        y.right = Some(AxisRange {
            min,
            max,
            label: label.map(str::to_owned),
            show_units: Some(label.is_none()),
        });
        self
    }

    /// A horizontal line (a threshold) at `value`.
    pub fn with_threshold_line(mut self, value: f64, label: impl Into<String>, color: &str) -> Self {
        self.props
            .annotations
            .get_or_insert_with(Annotations::default)
            .horizontal
            .push(HorizontalAnnotation::Line(AnnotationLine {
                value,
                label: Some(label.into()),
                color: Some(color.to_owned()),
                fill: None,
                visible: None,
                y_axis: None,
            }));
        self
    }

    /// Legend position (`right`, `bottom`, `hidden`).
    pub fn with_legend(mut self, position: &str) -> Self {
        self.props.legend = Some(Legend {
            position: position.to_owned(),
        });
        self
    }

    /// Width (columns) and height (rows).
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// The widget (unplaced).
    ///
    /// # Errors
    /// The first entry that fails to build.
    pub fn build(self) -> Result<Widget, BuildError> {
        let mut props = self.props;
        for e in self.entries {
            props.metrics.push(match e {
                PendingEntry::Metric(m) => MetricEntry::Metric(m.build()?),
                PendingEntry::Expression(x) => MetricEntry::Expression(x.build()?),
            });
        }
        Ok(Widget {
            x: None,
            y: None,
            width: Some(self.width),
            height: Some(self.height),
            kind: WidgetKind::Metric(props),
        })
    }
}

/// Markdown text.
///
/// ```
/// use dashboards::builder::TextWidget;
/// let w = TextWidget::new("# Overview").with_size(24, 2).build();
/// assert_eq!(w.width, Some(24));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct TextWidget {
    markdown: String,
    transparent: bool,
    width: u32,
    height: u32,
}

impl TextWidget {
    /// Text, full width, 2 rows.
    pub fn new(markdown: impl Into<String>) -> Self {
        Self {
            markdown: markdown.into(),
            transparent: false,
            width: 24,
            height: 2,
        }
    }

    /// No background.
    pub fn transparent(mut self) -> Self {
        self.transparent = true;
        self
    }

    /// Width and height.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// The widget (unplaced). Text cannot be invalid.
    pub fn build(self) -> Widget {
        Widget {
            x: None,
            y: None,
            width: Some(self.width),
            height: Some(self.height),
            kind: WidgetKind::Text(TextWidgetProperties {
                markdown: self.markdown,
                background: self.transparent.then(|| "transparent".to_owned()),
            }),
        }
    }
}

/// Status of up to 100 alarms.
///
/// ```
/// use dashboards::builder::AlarmWidget;
/// let w = AlarmWidget::new("Critical alarms", vec!["arn:aws:cloudwatch:us-east-1:1:alarm:a".into()]).build();
/// assert_eq!(w.height, Some(4));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct AlarmWidget {
    props: AlarmWidgetProperties,
    width: u32,
    height: u32,
}

impl AlarmWidget {
    /// Alarm status list, full width.
    pub fn new(title: impl Into<String>, alarm_arns: Vec<String>) -> Self {
        Self {
            props: AlarmWidgetProperties {
                alarms: alarm_arns,
                title: Some(title.into()),
                sort_by: Some("stateUpdatedTimestamp".into()),
                states: None,
            },
            width: 24,
            height: 4,
        }
    }

    /// Width and height.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// The widget (unplaced); the validator checks the 1–100 alarm count.
    pub fn build(self) -> Widget {
        Widget {
            x: None,
            y: None,
            width: Some(self.width),
            height: Some(self.height),
            kind: WidgetKind::Alarm(self.props),
        }
    }
}

/// A CloudWatch Logs Insights query.
///
/// ```
/// use dashboards::builder::LogWidget;
/// let w = LogWidget::new("Errors", "us-east-1", "SOURCE '/aws/lambda/f' | filter level = 'ERROR'").build();
/// assert_eq!(w.width, Some(24));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct LogWidget {
    props: LogWidgetProperties,
    width: u32,
    height: u32,
}

impl LogWidget {
    /// A table of query results, full width.
    pub fn new(title: impl Into<String>, region: impl Into<String>, query: impl Into<String>) -> Self {
        Self {
            props: LogWidgetProperties {
                query: query.into(),
                region: region.into(),
                title: Some(title.into()),
                view: Some("table".into()),
                stacked: None,
            },
            width: 24,
            height: 6,
        }
    }

    /// Width and height.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// The widget (unplaced).
    pub fn build(self) -> Widget {
        Widget {
            x: None,
            y: None,
            width: Some(self.width),
            height: Some(self.height),
            kind: WidgetKind::Log(self.props),
        }
    }
}

/// A widget waiting to be laid out.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingWidget {
    /// A metric widget.
    Metric(MetricWidget),
    /// A built widget (text, alarm, log, or a metric widget built elsewhere).
    Built(Widget),
    /// End the current row.
    NewRow,
}

impl From<MetricWidget> for PendingWidget {
    fn from(w: MetricWidget) -> Self {
        Self::Metric(w)
    }
}
impl From<TextWidget> for PendingWidget {
    fn from(w: TextWidget) -> Self {
        Self::Built(w.build())
    }
}
impl From<AlarmWidget> for PendingWidget {
    fn from(w: AlarmWidget) -> Self {
        Self::Built(w.build())
    }
}
impl From<LogWidget> for PendingWidget {
    fn from(w: LogWidget) -> Self {
        Self::Built(w.build())
    }
}
impl From<Widget> for PendingWidget {
    fn from(w: Widget) -> Self {
        Self::Built(w)
    }
}

/// A dashboard under construction.
///
/// ```
/// use dashboards::builder::{DashboardBuilder, Metric, MetricWidget, TextWidget};
/// let d = DashboardBuilder::new("collectiq-prod-demo")
///     .with_start("-PT6H")
///     .with_section("## Lambda")
///     .with_widget(MetricWidget::new("Errors", "us-east-1")
///         .with_metric(Metric::aws("AWS/Lambda", "Errors").with_dimension("FunctionName", "f")))
///     .build()
///     .unwrap();
/// assert_eq!(d.body.widgets.len(), 2);
/// assert_eq!((d.body.widgets[1].x, d.body.widgets[1].y), (Some(0), Some(2)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct DashboardBuilder {
    name: String,
    start: Option<String>,
    period_override: Option<String>,
    widgets: Vec<PendingWidget>,
}

impl DashboardBuilder {
    /// A dashboard named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            start: None,
            period_override: None,
            widgets: Vec::new(),
        }
    }

    /// Default time range (`-PT6H`).
    pub fn with_start(mut self, start: impl Into<String>) -> Self {
        self.start = Some(start.into());
        self
    }

    /// `auto` or `inherit`.
    pub fn with_period_override(mut self, value: impl Into<String>) -> Self {
        self.period_override = Some(value.into());
        self
    }

    /// Adds a widget at the next free place.
    pub fn with_widget(mut self, widget: impl Into<PendingWidget>) -> Self {
        self.widgets.push(widget.into());
        self
    }

    /// Starts a new row with a full-width markdown header.
    pub fn with_section(mut self, markdown: impl Into<String>) -> Self {
        self.widgets.push(PendingWidget::NewRow);
        self.widgets
            .push(TextWidget::new(markdown).with_size(24, 2).transparent().into());
        self
    }

    /// Ends the current row.
    pub fn new_row(mut self) -> Self {
        self.widgets.push(PendingWidget::NewRow);
        self
    }

    fn assemble(self) -> Result<Dashboard, BuildError> {
        let mut grid = GridLayout::new();
        let mut widgets = Vec::with_capacity(self.widgets.len());
        for pending in self.widgets {
            let mut widget = match pending {
                PendingWidget::NewRow => {
                    grid.new_row();
                    continue;
                }
                PendingWidget::Metric(m) => m.build()?,
                PendingWidget::Built(w) => w,
            };
            if widget.x.is_none() || widget.y.is_none() {
                let (x, y) = grid.place(widget.width.unwrap_or(6), widget.height.unwrap_or(6));
                widget.x = Some(x);
                widget.y = Some(y);
            }
            widgets.push(widget);
        }
        Ok(Dashboard {
            name: self.name,
            body: DashboardBody {
                widgets,
                start: self.start,
                end: None,
                period_override: self.period_override,
            },
        })
    }

    /// Lays out and validates one dashboard.
    ///
    /// # Errors
    /// A widget that fails to build, or [`BuildError::Invalid`] (also when past the size limits: use
    /// [`Self::build_pages`] to split instead).
    pub fn build(self) -> Result<Dashboard, BuildError> {
        let d = self.assemble()?;
        validate(&d)?;
        Ok(d)
    }

    /// Lays out, splits into numbered pages past 500 widgets or 2,500 metrics, and validates each page.
    ///
    /// # Errors
    /// A widget that fails to build, or [`BuildError::Invalid`] for the first invalid page.
    pub fn build_pages(self) -> Result<Vec<Dashboard>, BuildError> {
        let pages = paginate(self.assemble()?);
        for p in &pages {
            validate(p)?;
        }
        Ok(pages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Moved with the table from the former `known_metrics` module: CollectIQ's namespace is checked
    // against `telemetry::catalogue` through `vocabulary::known`.
    #[test]
    fn custom_namespace_uses_the_catalogue() {
        use vocabulary::known::check;
        assert_eq!(
            check::<MetricName>("CollectIQ", "BedrockInputTokens", &["service", "agent", "model"]),
            MetricCheck::Ok
        );
        assert!(matches!(
            check::<MetricName>("CollectIQ", "BedrockInputTokens", &["service"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        assert!(matches!(
            check::<MetricName>("CollectIQ", "Nope", &["service"]),
            MetricCheck::UnknownMetric { .. }
        ));
    }

    #[test]
    fn aws_metric_with_wrong_dimensions_is_refused() {
        let e = Metric::aws("AWS/States", "ExecutionsFailed")
            .with_dimension("StateMachineName", "x")
            .build()
            .unwrap_err();
        assert!(matches!(e, BuildError::Metric { .. }));
        assert!(e.to_string().contains("StateMachineArn"), "{e}");
        assert!(
            Metric::aws("AWS/Lambda", "Errorz")
                .with_dimension("FunctionName", "f")
                .build()
                .is_err()
        );
        assert!(Metric::aws("Acme", "Anything").build().is_ok());
    }

    #[test]
    fn widget_build_fails_on_a_bad_entry() {
        let w = MetricWidget::new("t", "us-east-1")
            .with_metric(Metric::aws("AWS/Lambda", "Errors"))
            .with_metric(Metric::aws("AWS/Lambda", "Errors").with_dimension("Function", "f"))
            .build();
        assert!(w.is_err());
        assert!(Expression::new("e1", " ").build().is_err());
    }

    #[test]
    fn builder_output_serializes_to_the_document_shape() {
        let w = MetricWidget::new("Latency", "us-east-1")
            .with_metric(
                Metric::aws("AWS/Lambda", "Duration")
                    .with_dimension("FunctionName", "f")
                    .with_stat(Stat::Percentile(99.0)),
            )
            .with_threshold_line(1000.0, "SLO", "#d62728")
            .with_left_axis(Some(0.0), None, Some("ms"))
            .build()
            .unwrap();
        let v = serde_json::to_value(&w).unwrap();
        assert_eq!(v["type"], "metric");
        assert_eq!(
            v["properties"]["metrics"][0],
            serde_json::json!(["AWS/Lambda", "Duration", "FunctionName", "f", {"stat": "p99"}])
        );
        assert_eq!(v["properties"]["annotations"]["horizontal"][0]["value"], 1000.0);
        assert_eq!(v["properties"]["yAxis"]["left"]["label"], "ms");
    }

    #[test]
    fn invalid_dashboard_is_refused_by_build() {
        let e = DashboardBuilder::new("bad name")
            .with_widget(TextWidget::new("x"))
            .build()
            .unwrap_err();
        assert!(matches!(e, BuildError::Invalid(_)));
        let e = DashboardBuilder::new("ok")
            .with_widget(MetricWidget::new("t", "").with_metric(Metric::aws("AWS/Lambda", "Errors")))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("region is required"), "{e}");
    }

    #[test]
    fn sections_start_new_rows() {
        let d = DashboardBuilder::new("d")
            .with_widget(TextWidget::new("a").with_size(6, 3))
            .with_section("## B")
            .with_widget(TextWidget::new("c").with_size(6, 3))
            .build()
            .unwrap();
        let pos: Vec<_> = d
            .body
            .widgets
            .iter()
            .map(|w| (w.x.unwrap(), w.y.unwrap()))
            .collect();
        assert_eq!(pos, vec![(0, 0), (0, 3), (0, 5)]);
    }

    #[test]
    fn build_pages_splits_past_the_widget_limit() {
        let mut b = DashboardBuilder::new("big");
        for i in 0..1_001 {
            b = b.with_widget(TextWidget::new(format!("w{i}")).with_size(6, 2));
        }
        assert!(b.clone().build().is_err());
        let pages = b.build_pages().unwrap();
        assert_eq!(
            pages.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["big-p1", "big-p2", "big-p3"]
        );
        assert_eq!(
            pages.iter().map(|p| p.body.widgets.len()).collect::<Vec<_>>(),
            vec![500, 500, 1]
        );
        assert_eq!(pages[1].body.widgets[0].y, Some(0));
    }
}
