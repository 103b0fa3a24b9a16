//! `cost` (pure, no I/O): budget burn and projections, Bedrock token pricing and reconciliation,
//! unit economics ($ per valuation), anomalies, and the cost report with its Slack Block Kit rendering.
//! Money is `rust_decimal::Decimal`, never `f64`.
//!
//! The governance crate reads AWS (Cost Explorer, Budgets, CloudWatch) and maps the responses into the
//! [`input`] types, which mirror the API documents; every computation here takes and returns plain values.
//! Formulas and report layout: `docs/cost.md`.

pub mod alerting;
pub mod anomaly;
pub mod burn;
pub mod chart;
pub mod fastburn;
pub mod format;
pub mod input;
pub mod pricing;
pub mod report;
pub mod slack;
pub mod sns;
pub mod terminal;
pub mod unit;

/// The CloudWatch namespace of CollectIQ's custom metrics, re-exported from the shared catalogue.
pub use telemetry::catalogue::NAMESPACE;
