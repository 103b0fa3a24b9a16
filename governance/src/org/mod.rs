//! Governing an organisation: many AWS accounts and platform environments in one pass (issue 14).
//!
//! The organisation spec ([`platform_spec::Organization`], `infra/platforms/org/*.toml`) names the
//! management (payer) account, each member account with the role governance assumes there, and the
//! platform specs each account runs — or has them discovered ([`discover`]: `organizations:ListAccounts`
//! and a tag on each account naming its platform specs). One pass then:
//!
//! 1. reads the whole organisation's cost **once**, in the management account ([`cost`]: one
//!    `GetCostAndUsage` by `LINKED_ACCOUNT` × `SERVICE`, one by `LINKED_ACCOUNT` × `Environment` for
//!    untagged spend, cached for the day: ≤ 3 Cost Explorer requests a day in all);
//! 2. for every account × platform item, assumes the member role ([`assume`]) and runs the existing
//!    per-platform passes with those credentials — dashboards and alarms plan/apply, and the daily cost
//!    report on its slice of the organisation's cost ([`reads`]) — with bounded concurrency, one item at
//!    a time per account (CloudWatch's 3 TPS alarm-write quota is per account and region), each item
//!    isolated ([`run`]);
//! 3. keeps one ledger in the management account in which every key carries the member account id
//!    ([`ledger`]);
//! 4. rolls everything up ([`rollup`]: top accounts, top movers, every platform's tier, untagged spend per
//!    account) for the organisation's channel, and returns a summary naming what failed where and why.
//!
//! `collectiq-ops org plan|run --org FILE` runs it in one process ([`run_org`]); the Step Functions state
//! machine in `infra/modules/org` runs the same three stages ([`read_org_cost`], [`govern_items`] per
//! account, [`finish`]) as three functions ([`lambda`]). User guide: `docs/organisation.md`.

pub mod assume;
pub mod cost;
pub mod discover;
pub mod lambda;
pub mod ledger;
pub mod overview;
pub mod reads;
pub mod rollup;
pub mod run;

pub use run::{
    CostSource, Failure, ItemOutcome, Mode, OrgCost, OrgDeps, OrgOptions, OrgRun, Stage, finish,
    govern_items, read_org_cost, run_org,
};
