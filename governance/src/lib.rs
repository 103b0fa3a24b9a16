//! `governance`: the imperative shell around the pure `dashboards`, `alarms` and `cost` crates.
//!
//! It loads platform specs, builds the AWS SDK clients ([`aws`]), runs the local emulator for the demo and
//! the tests ([`emulator`]), seeds it with a CollectIQ month ([`seed`]), checks an account's access
//! ([`doctor`]) and hosts the `collectiq-ops` CLI ([`cli`]).

pub mod aws;
pub mod cli;
pub mod cost_pass;
pub mod demo;
pub mod doctor;
pub mod emulator;
pub mod ledger;
pub mod publish;
pub mod seed;
pub mod tfvars;

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
