//! `telemetry`: the library every CollectIQ Lambda links.
//!
//! It will own structured JSON logs (Powertools keys), CloudWatch EMF metrics through the `metrics`
//! facade, X-Ray traces through OpenTelemetry, the per-invocation context and the flush before Lambda
//! freezes the process.
//!
//! With `default-features = false` it is only the [`catalogue`]: the one definition of the custom
//! metrics CollectIQ emits, imported by the functions that emit them and by the dashboards and alarms
//! that read them, so a widget or an alarm cannot point at a metric nobody emits.

pub mod catalogue;
