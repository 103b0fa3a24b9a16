//! The demo seed: one realistic CollectIQ month, generated deterministically ([`month`]), turned into AWS
//! data by pure builders ([`datums`]: metric datums, pre-existing alarms, Cost Explorer pages) and written
//! into the emulator through the real SDK clients ([`write`]). The cost report, alarm state and
//! dashboards steps of the demo read exactly this data.

pub mod datums;
pub mod month;
pub mod write;

pub use datums::{
    PreexistingAlarm, cents, cost_explorer_pages, metric_datums, preexisting_alarms, total_tokens,
};
pub use month::{DemoBudget, DemoDay, DemoMonth, PINNED_TIME_OF_DAY, pinned_now};
pub use write::{SeedCause, SeedError, SeedReport, apply};
