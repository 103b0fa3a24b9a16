//! `vocabulary`: the CloudWatch words every crate here shares, with no dependencies.
//!
//! - [`namespace`]: the `AWS/…` namespaces read by dashboards, alarms and the cost pass.
//! - [`dimension`]: AWS dimension names (`FunctionName`, `ModelId`, …).
//! - [`aws`]: AWS metrics as typed constants ([`AwsMetric`]: namespace, name and every dimension set the
//!   metric is published with), one module per service.
//! - [`known`]: the check "does CloudWatch publish this metric with exactly these dimension keys?",
//!   used by the dashboard and alarm validators.
//! - [`custom`]: the two traits a catalogue of custom metrics implements to take part
//!   (`telemetry::catalogue` does).
//! - [`stat`]: [`Stat`] and the statistic syntax CloudWatch accepts.
//! - [`metric_ref`]: [`MetricRef`], a metric with its dimension values, as dashboards and alarms name it.
//! - [`value`]: dimension values AWS defines (`Currency=USD`, S3 storage types).
//! - [`text`]: text from AWS made safe to print on a terminal (the renderers share it).
//!
//! CloudWatch matches names and dimension sets exactly and answers a wrong one with no data and no
//! error: an alarm on a misspelt metric never fires. Naming them once, here, with tests against the AWS
//! documentation, is what keeps dashboards, alarms and the demo writer from drifting apart.
//!
//! ```
//! use vocabulary::{MetricRef, Stat, aws::bedrock, dimension};
//! let m = MetricRef::of(bedrock::INPUT_TOKEN_COUNT).with_dimension(dimension::MODEL_ID, "anthropic.claude-3-5-haiku-20241022-v1:0");
//! assert_eq!((m.namespace(), m.metric_name()), ("AWS/Bedrock", "InputTokenCount"));
//! assert!(m.check_aws().is_ok());
//! assert_eq!(Stat::Percentile(99.9).to_string(), "p99.9");
//! ```

pub mod aws;
pub mod custom;
pub mod dimension;
pub mod known;
pub mod metric_ref;
pub mod namespace;
pub mod stat;
pub mod text;
pub mod value;

pub use aws::AwsMetric;
pub use custom::{CustomDimension, CustomMetric};
pub use known::MetricCheck;
pub use metric_ref::{Dimension, MetricRef};
pub use stat::Stat;
