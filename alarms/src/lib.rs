//! `alarms` (pure, no I/O): typed alarm specs rendered to PutMetricAlarm / PutCompositeAlarm inputs,
//! their validator, the catalogue generated from a platform spec, cost estimate, backtest and the
//! alarm-state summary.

/// The CloudWatch namespace of CollectIQ's custom metrics, re-exported from the shared catalogue.
pub use telemetry::catalogue::NAMESPACE;
