//! `collectiq-ops`: the front of the governance service. It turns the command line into calls on the
//! `governance` core and renders what comes back for a person (terminal text, `--json`, files under
//! `out/`, progress bars on stderr).
//!
//! - [`cli`]: the clap definition and the dispatch to one module per subcommand;
//! - [`global`]: the options every subcommand takes, the spec loader and the SDK clients they build;
//! - [`output`]: stdout/`--json`, stderr progress lines, files under `out/`;
//! - [`progress`]: the indicatif bars behind the core's [`governance::publish::ApplyProgress`];
//! - [`spec`]: `spec check` and `spec export-tfvars` (with [`tfvars`]);
//! - [`cost`]: `cost report|fast-burn`; [`publish`]: `dashboards …` and `alarms …`;
//! - [`org`]: `org plan|run`, an organisation's accounts and platforms in one pass;
//! - [`demo`]: `demo`, which starts the test kit's emulator and seeds it with [`seed`]'s month.
//!
//! Dependencies point one way: this crate → `governance` → the pure crates. Nothing in `governance`
//! knows this crate exists; the Lambda binaries link no clap, indicatif or tempfile (see
//! `docs/architecture.md`).

pub mod cli;
pub mod cost;
pub mod demo;
pub mod exit;
pub mod global;
pub mod org;
pub mod output;
pub mod progress;
pub mod publish;
pub mod seed;
pub mod spec;
pub mod tfvars;

#[cfg(test)]
pub(crate) mod test_support {
    /// The CollectIQ prod spec shipped in infra/platforms, which the unit tests run against.
    pub(crate) fn prod_spec() -> platform_spec::PlatformSpec {
        platform_spec::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../infra/platforms/collectiq-prod.toml"),
        )
        .unwrap()
    }
}
