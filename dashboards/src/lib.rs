//! `dashboards` (pure, no I/O): a typed model of the CloudWatch dashboard body, a validator with
//! CloudWatch's real rules, and the dashboards generated from a platform spec.
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html>
//!
//! - [`model`]: serde structs mirroring the body document (metric, text, alarm and log widgets).
//! - [`builder`]: typed builders; custom metrics only from [`telemetry::catalogue`].
//! - [`layout`]: the 24-column grid. [`paginate`]: numbered pages past the limits.
//! - [`mod@validate`]: CloudWatch's rules, incl. exact dimension sets from [`vocabulary::known`].
//! - [`catalogue`]: the Overview, API, Lambda, Step Functions, Data, AI, Agents, Cost, ECS and Compliance
//!   dashboards.
//! - [`plan`]: desired vs published dashboards → create/update/delete/unchanged and the $ delta.
//! - [`queries`]: Logs Insights saved queries (`PutQueryDefinition`) from the spec, and their plan.
//!
//! ```
//! use dashboards::catalogue::{dashboards_for, CatalogueOptions};
//! let spec = platform_spec::load(std::path::Path::new(concat!(
//!     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/collectiq-prod.toml"
//! ))).unwrap();
//! let desired = dashboards_for(&spec, &CatalogueOptions::for_spec(&spec)).unwrap();
//! for d in &desired {
//!     dashboards::validate(d).unwrap();
//! }
//! let plan = dashboards::plan::plan_dashboards(&desired, &[], &spec.managed_prefix(), &Default::default());
//! println!("{}", plan.render_text());
//! ```
//!

pub mod builder;
pub mod catalogue;
pub mod layout;
pub mod model;
pub mod paginate;
pub mod plan;
pub mod queries;
pub mod validate;

pub use builder::{BuildError, DashboardBuilder};
pub use model::{Dashboard, DashboardBody};
/// The CloudWatch namespace of CollectIQ's custom metrics, re-exported from the shared catalogue.
pub use telemetry::catalogue::NAMESPACE;
pub use validate::{ValidationErrors, validate};
