//! `governance`: the core of the governance service, the imperative shell around the pure `dashboards`,
//! `alarms` and `cost` crates. What runs in the governance Lambdas lives here, and nothing else:
//!
//! - [`aws`]: the SDK clients (retries, X-Ray subsegments, `--endpoint-url`);
//! - [`cost_pass`]: the daily cost report and the hourly Bedrock burn check;
//! - [`publish`]: dashboards and alarms plan/apply, alarm state and escalation;
//! - [`ledger`]: the DynamoDB ledger (claims, snapshots, capped counters);
//! - [`doctor`]: one cheap read of every API the passes need;
//! - [`org`]: an organisation's accounts and platforms in one pass (issue 14).
//!
//! The front (`collectiq-ops`: clap, terminal rendering, progress bars, the demo and its month writer)
//! is the `collectiq-ops` crate in `governance/ops`; the emulator harness is in the test kit
//! (`collectiq-tests`). In-memory fakes of the seams are behind the `testing` feature. See
//! `docs/architecture.md`.

pub mod aws;
pub mod cost_pass;
pub mod doctor;
pub mod ledger;
// Issue 14: one pass over many accounts and platforms.
pub mod org;
pub mod publish;

pub use platform_spec::{PlatformSpec, SpecError};

#[cfg(test)]
pub(crate) mod test_support {
    /// The CollectIQ prod spec shipped in infra/platforms, which the unit tests run against.
    pub(crate) fn prod_spec() -> platform_spec::PlatformSpec {
        platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap()
    }
}
