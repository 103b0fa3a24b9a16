//! Bedrock token pricing: a dated price table (`cost/data/bedrock-prices.toml`, compiled in), spend per
//! model from the `AWS/Bedrock` token metrics, spend per agent from CollectIQ's own token metrics, and
//! the reconciliation of both against what Cost Explorer billed.
//!
//! Anthropic models are billed through AWS Marketplace under service names such as
//! `Claude 3.5 Sonnet (Amazon Bedrock Edition)`, not under `Amazon Bedrock`; each model in the table
//! names the CE `SERVICE` line it is billed under (reference `cost-anchors.md` §0.2 and §3).
//!
//! Cost of one day's tokens for one model:
//! `(input + cache_write·1.25 + cache_read·0.1)·input_per_1k/1000 + output·output_per_1k/1000`,
//! at the price effective on that day.
//!
//! Three files along the seams, each reading only the ones before it:
//! - `table.rs`: [`PriceTable`], [`TokenKind`], [`TokenCounts`], model-id normalisation;
//! - `spend.rs`: [`bedrock_spend_by_model`], [`bedrock_spend_by_agent`];
//! - `reconcile.rs`: [`reconcile`], [`Reconciliation`], [`PricingWarning`].
//!
//! Everything is re-exported here, so callers name `cost::pricing::X`.

mod reconcile;
mod spend;
mod table;

pub use reconcile::*;
pub use spend::*;
pub use table::*;

#[cfg(test)]
mod fixtures;
