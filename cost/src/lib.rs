//! `cost` (pure, no I/O): budget burn and projections, Bedrock token pricing and reconciliation,
//! unit economics ($ per valuation), anomalies, and the cost report with its Slack Block Kit rendering.
//! Money is `rust_decimal::Decimal`, never `f64`.

/// The CloudWatch namespace of CollectIQ's custom metrics, re-exported from the shared catalogue.
pub use telemetry::catalogue::NAMESPACE;
