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
