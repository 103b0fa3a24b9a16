//! `dashboards` (pure, no I/O): a typed model of the CloudWatch dashboard body, a validator with
//! CloudWatch's real rules, and the dashboards generated from a CollectIQ platform spec.
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html>

/// The CloudWatch namespace of CollectIQ's custom metrics, re-exported from the shared catalogue.
pub use telemetry::catalogue::NAMESPACE;
