//! `platform-spec` (pure): the platform spec — one TOML file per platform and environment under
//! `infra/platforms/` — and its loader.
//!
//! Dashboards, alarms and cost all read the same [`PlatformSpec`], so the three never disagree about
//! what exists. A spec error is a message naming the file, line and key
//! (`infra/platforms/x.toml:12: functions[3].memory_mb: expected 128..10240, found 64`), never a panic.
//!
//! This crate sits inside `governance/` (which loads specs at run time) but is its own crate so that the
//! pure `dashboards`, `alarms` and `cost` crates can take a spec without depending on the AWS shell.
//!
//! ```
//! let spec = platform_spec::load(std::path::Path::new(concat!(
//!     env!("CARGO_MANIFEST_DIR"), "/../../infra/platforms/collectiq-prod.toml"
//! ))).unwrap();
//! assert_eq!(spec.managed_prefix(), "collectiq-prod");
//! ```

mod load;
mod model;
mod naming;
pub mod org;
mod text;

pub use load::{
    COST_COMPONENTS, HttpApiIdsError, LAMBDA_RUNTIMES, MAX_SPEC_BYTES, Problem, SpecError,
    elb_suffix_problem, http_api_id_problem, is_region, load, parse, parse_http_api_ids, secret_problem,
    sns_topic_arn_problem, spec_files, topic_arn_problem, webhook_secret_problem,
};
pub use model::*;
pub use naming::ServiceNaming;
pub use org::discovery::{ListedAccount, Membership};
pub use org::{OrgItem, OrgSpecError, Organization, load_org, parse_org};
