//! The cost governance pass: read AWS with the fewest (counted, capped) calls, compute the report with the
//! pure [`cost`] crate, remember what was seen and sent in the [`crate::ledger`], and notify Slack (and SNS
//! for critical tiers) at most once per period.
//!
//! - [`source`]: the read seam [`CostReads`] (CE pages, forecast, budgets, metric series and sums), its
//!   SDK implementation, and the Cost Explorer cap taken before every CE request;
//! - [`read`]: SDK answers → [`cost::input`] (`GetCostAndUsage`, `GetCostForecast`, `DescribeBudgets`,
//!   `ListMetrics` + `GetMetricData`), the Cost Explorer daily cap ([`read::CeQuota`]);
//! - [`counting`]: an SDK interceptor counting every request per operation;
//! - [`forecast`]: why `GetCostForecast` failed, in classes and plain words;
//! - [`state`]: ledger keys, daily CE snapshots (and when an `Estimated` one is settled), the tiers each
//!   report showed (the hysteresis's previous tiers), the fire-once alert state rebuilt from claims;
//! - [`slack`]: the webhook client (secret URL, 429 `Retry-After`, no retry on other 4xx);
//! - [`notify`]: the send seam [`Channels`] — the webhook secret from Secrets Manager, SNS publish;
//! - [`pass`]: the daily run ([`run_daily`]) and the hourly burn check ([`run_fast_burn`]), both methods
//!   of [`PassContext`] over the seams;
//! - `fake` (feature `testing`): in-memory [`CostReads`] and [`Channels`] for the protocol tests (the
//!   ledger's is [`crate::ledger::MemoryLedger`]);
//! - [`lambda`]: the handlers behind the Lambda mains (`collectiq-ops cost …` is in the ops front).
//!
//! User docs: `docs/cost-governance.md`.

pub mod counting;
#[cfg(any(test, feature = "testing"))]
pub mod fake;
pub mod forecast;
pub mod lambda;
pub mod notify;
pub mod pass;
pub mod read;
pub mod slack;
pub mod source;
pub mod state;

pub use notify::{Channels, SdkChannels, SlackPoster};
pub use pass::{
    CE_HISTORY_MONTHS, CostPassError, DailyRun, Delivery, FastBurnRun, MissingInput, PassContext,
    PassOptions, ReportDateError, Targets, alert_period, as_of_for, earliest_report_day, metrics_from,
    report_settings, run_daily, run_fast_burn,
};
pub use source::{CostReads, SdkReads};
