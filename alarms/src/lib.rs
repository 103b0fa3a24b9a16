//! `alarms` (pure, no I/O): typed alarm specs rendered to `PutMetricAlarm` / `PutCompositeAlarm`
//! inputs, their validator, the catalogue generated from a platform spec, cost estimate, plan/diff,
//! backtest and the alarm-state summary.
//!
//! - [`model`]: the API input structs (the contract with `governance`).
//! - [`spec`] and [`composite`]: typed builders; composite rules with cycle detection. [`rule`]: the
//!   rule text's limits and children scanner, shared by `composite` and `validate`.
//!   Metric references and `Stat` come from the `vocabulary` crate.
//! - [`validate`]: the API's rules, checked offline.
//! - [`catalogue`]: the alarms of a platform spec, with [`runbook`]s for critical ones; [`thresholds`]:
//!   which alarms a spec item gets and at what value, shared with the dashboards that draw them.
//! - [`cost`]: monthly cost per alarm and dashboard, in `Decimal` dollars.
//! - [`plan`]: desired vs published → create/update/delete/unchanged, $ delta, noise warnings.
//! - [`backtest`]: how often an alarm would have fired over a metric history.
//! - [`state`]: the alarm-state summary (firing by severity, flaps, recoveries, trace evidence).
//! - [`announce`]: whether a run's alarm-state report is worth a Slack post (on change, one digest a period).
//!
//! ```
//! use alarms::catalogue::{catalogue_for, CatalogueOptions};
//! let spec = platform_spec::load(std::path::Path::new(concat!(
//!     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/collectiq-prod.toml"
//! ))).unwrap();
//! let catalogue = catalogue_for(&spec, &CatalogueOptions::for_spec(&spec)).unwrap();
//! let plan = alarms::plan::plan_alarms(&catalogue.inputs(), &[], &spec.managed_prefix(), &Default::default());
//! assert_eq!(plan.count(alarms::plan::AlarmAction::Create), catalogue.alarms.len());
//! assert_eq!(plan.monthly_after(), rust_decimal::Decimal::new(2150, 2)); // $21.50 a month
//! print!("{}", plan.render_text());
//! ```

pub mod announce;
pub mod backtest;
pub mod catalogue;
pub mod composite;
pub mod cost;
pub mod model;
pub mod plan;
pub mod rule;
pub mod runbook;
mod severity;
pub mod spec;
pub mod state;
pub mod thresholds;
pub mod validate;

pub use model::{Alarm, PutCompositeAlarmInput, PutMetricAlarmInput};
/// The CloudWatch namespace of CollectIQ's custom metrics, re-exported from the shared catalogue.
pub use telemetry::catalogue::NAMESPACE;
