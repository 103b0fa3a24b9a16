//! The demo seed: one realistic CollectIQ month, generated deterministically ([`month`]) and written into
//! the emulator through the real SDK clients ([`apply`]). Later features (cost report, alarm state,
//! dashboards) read exactly this data.

pub mod apply;
pub mod month;

pub use apply::{SeedError, SeedReport, apply, cost_explorer_pages, metric_datums, preexisting_alarms};
pub use month::{DemoBudget, DemoDay, DemoMonth};
