//! Reconciliation: Cost Explorer's Bedrock lines (first-party and Marketplace-billed) against the token
//! estimates, with the warnings that need a human (drift, unmapped lines, unpriced models, price changes).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::spend::ModelSpend;
use super::spend::{AgentSpend, BedrockSpend};
use super::table::{PriceTable, is_bedrock_service};
use crate::input::DailyCostTable;

/// Default reconciliation drift threshold, in percent.
pub const DEFAULT_DRIFT_THRESHOLD_PCT: Decimal = Decimal::from_parts(10, 0, 0, false, 0);

/// A billed-vs-estimated gap smaller than this many dollars over the window is never a drift warning,
/// whatever its percentage: a few cents of Titan embeddings with no token metrics must not page finance,
/// nor a few cents of tokens CE has not billed yet ([`PricingWarning::OneSided`]).
pub const DRIFT_MIN_GAP_USD: Decimal = Decimal::ONE;

const fn default_drift_threshold_pct() -> Decimal {
    DEFAULT_DRIFT_THRESHOLD_PCT
}

/// Why a reconciliation needs a human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PricingWarning {
    /// Tokens for a `ModelId` with no price: the estimate misses them.
    UnknownModelId {
        /// The raw id.
        model_id: String,
        /// Its tokens.
        tokens: u64,
    },
    /// The app reports cache tokens for a model but `AWS/Bedrock` has no cache data point for it in the
    /// period (an empty series, as `GetMetricData` returns for a metric never emitted, is none).
    MissingCacheTokens {
        /// Price table key.
        model_key: String,
        /// Cache tokens the app reported.
        app_cache_tokens: u64,
    },
    /// The price of a model changed inside the period.
    PriceChanged {
        /// Price table key.
        model_key: String,
        /// First day of the new price.
        effective: NaiveDate,
    },
    /// Billed and estimated differ by more than the threshold.
    Drift {
        /// CE service line.
        billing_service: String,
        /// `(billed − estimated)/billed · 100`.
        drift_pct: Decimal,
        /// The threshold it is over ([`Reconciliation::threshold_pct`]), so the figure is printed
        /// without rounding onto it ([`crate::format::drift_pct`]). Absent in warnings saved before it
        /// existed: the default.
        #[serde(default = "default_drift_threshold_pct")]
        threshold_pct: Decimal,
    },
    /// Metered tokens CE has not billed yet, for at least [`DRIFT_MIN_GAP_USD`] (a line billed with no
    /// tokens metered is a 100 % [`Self::Drift`] instead).
    OneSided {
        /// CE service line.
        billing_service: String,
        /// Billed.
        billed: Decimal,
        /// Estimated.
        estimated: Decimal,
    },
    /// A Marketplace Bedrock service name no model in the price table is billed under.
    UnmappedBillingService {
        /// CE service name.
        billing_service: String,
        /// Billed in the period.
        billed: Decimal,
    },
}

impl PricingWarning {
    /// One line for humans.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::UnknownModelId { model_id, tokens } => {
                format!(
                    "unknown model id `{model_id}` ({tokens} tokens unpriced): add it to bedrock-prices.toml"
                )
            }
            Self::MissingCacheTokens {
                model_key,
                app_cache_tokens,
            } => format!(
                "{model_key}: the app reports {app_cache_tokens} cache tokens but AWS/Bedrock has no cache metrics"
            ),
            Self::PriceChanged { model_key, effective } => {
                format!("{model_key}: price changed on {effective}; days before and after priced separately")
            }
            Self::Drift {
                billing_service,
                drift_pct,
                threshold_pct,
            } => {
                format!(
                    "{billing_service}: billed differs from token estimate by {}",
                    crate::format::drift_pct(*drift_pct, *threshold_pct)
                )
            }
            Self::OneSided {
                billing_service,
                billed,
                estimated,
            } => format!(
                "{billing_service}: billed ${} but tokens estimate ${}",
                crate::format::rounded(*billed, 2),
                crate::format::rounded(*estimated, 2)
            ),
            Self::UnmappedBillingService {
                billing_service,
                billed,
            } => format!(
                "Marketplace line `{billing_service}` (${}) is not mapped to a model in bedrock-prices.toml",
                crate::format::rounded(*billed, 2)
            ),
        }
    }
}

/// One CE billing line compared with the token estimates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconciliationLine {
    /// CE `SERVICE`.
    pub billing_service: String,
    /// Models billed under it (price table keys) that had tokens.
    pub models: Vec<String>,
    /// What CE billed in the period.
    pub billed: Decimal,
    /// Tokens from `AWS/Bedrock` × price.
    pub estimated: Decimal,
    /// Tokens from the app's metrics × price (the per-agent view summed).
    pub estimated_by_agents: Decimal,
    /// `(billed − estimated)/billed · 100`; absent when nothing was billed.
    pub drift_pct: Option<Decimal>,
    /// Whether `|drift_pct|` is within the threshold.
    pub within_threshold: bool,
}

impl ReconciliationLine {
    /// What a reader needs next to an "ok" whose drift percentage is above `threshold_pct`: the gap is
    /// under [`DRIFT_MIN_GAP_USD`], so a large percentage of a few cents is not drift. `None` otherwise.
    #[must_use]
    pub fn small_gap_note(&self, threshold_pct: Decimal) -> Option<String> {
        (self.within_threshold && self.drift_pct.is_some_and(|d| d.abs() > threshold_pct))
            .then(|| format!("gap under ${DRIFT_MIN_GAP_USD:.2}"))
    }
}

/// Billed vs estimated Bedrock spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// The period `[start, end)`.
    pub start: NaiveDate,
    /// Exclusive end.
    pub end: NaiveDate,
    /// Drift threshold in percent.
    pub threshold_pct: Decimal,
    /// One line per billing service.
    pub lines: Vec<ReconciliationLine>,
    /// Total billed for Bedrock (all Bedrock lines).
    pub billed_total: Decimal,
    /// Total estimated from `AWS/Bedrock` tokens.
    pub estimated_total: Decimal,
    /// What needs a human.
    pub warnings: Vec<PricingWarning>,
}

/// Reconciles token estimates against CE Bedrock lines over `[start, end)`. Use complete, preferably
/// non-estimated days on both sides: CE lags the metrics by up to a day.
///
/// ```
/// use chrono::NaiveDate;
/// use cost::input::DailyCostTable;
/// use cost::pricing::{reconcile, BedrockSpend, PriceTable, DEFAULT_DRIFT_THRESHOLD_PCT};
/// let d = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
/// let ce = DailyCostTable::default().with_row(d, "Claude 9 (Amazon Bedrock Edition)", 5.into(), false);
/// let r = reconcile(PriceTable::bundled().unwrap(), &BedrockSpend::default(), &[], &ce, d, d.succ_opt().unwrap(), DEFAULT_DRIFT_THRESHOLD_PCT);
/// assert!(r.warnings.iter().any(|w| matches!(w, cost::pricing::PricingWarning::UnmappedBillingService { .. })));
/// ```
#[must_use]
pub fn reconcile(
    table: &PriceTable,
    by_model: &BedrockSpend,
    by_agent: &[AgentSpend],
    ce: &DailyCostTable,
    start: NaiveDate,
    end: NaiveDate,
    threshold_pct: Decimal,
) -> Reconciliation {
    let billed: BTreeMap<String, Decimal> = ce
        .service_totals(start, end)
        .into_iter()
        .filter(|(s, _)| is_bedrock_service(s))
        .collect();
    let mut warnings = Vec::new();
    let mut services: BTreeSet<String> = billed.keys().cloned().collect();
    services.extend(by_model.per_model.iter().map(|m| m.billing_service.clone()));
    let mut lines = Vec::new();
    for service in services {
        let mapped = table.models.iter().any(|m| m.billing_service == service);
        let billed_here = billed.get(&service).copied().unwrap_or_default();
        if !mapped {
            warnings.push(PricingWarning::UnmappedBillingService {
                billing_service: service.clone(),
                billed: billed_here,
            });
        }
        let models: Vec<&ModelSpend> = by_model
            .per_model
            .iter()
            .filter(|m| m.billing_service == service)
            .collect();
        let estimated: Decimal = models.iter().map(|m| m.cost).sum();
        let estimated_by_agents: Decimal = by_agent
            .iter()
            .filter(|a| {
                a.model_key
                    .as_deref()
                    .and_then(|k| table.model(k))
                    .is_some_and(|m| m.billing_service == service)
            })
            .map(|a| a.cost)
            .sum();
        let drift_pct = (billed_here - estimated)
            .checked_div(billed_here)
            .map(|x| x * Decimal::ONE_HUNDRED);
        let small_gap = (billed_here - estimated).abs() < DRIFT_MIN_GAP_USD;
        let within_threshold = small_gap || drift_pct.is_some_and(|d| d.abs() <= threshold_pct);
        match drift_pct {
            Some(d) if !within_threshold && mapped => {
                warnings.push(PricingWarning::Drift {
                    billing_service: service.clone(),
                    drift_pct: d,
                    threshold_pct,
                });
            }
            // Nothing billed: the same minimum gap as a drift, so cents metered a day before CE books
            // them are not a warning (the mirror of a few cents billed with no tokens metered).
            None if !estimated.is_zero() && !small_gap => warnings.push(PricingWarning::OneSided {
                billing_service: service.clone(),
                billed: billed_here,
                estimated,
            }),
            _ => {}
        }
        lines.push(ReconciliationLine {
            billing_service: service,
            models: models.iter().map(|m| m.model_key.clone()).collect(),
            billed: billed_here,
            estimated,
            estimated_by_agents,
            drift_pct,
            within_threshold,
        });
    }
    for u in &by_model.unpriced {
        warnings.push(PricingWarning::UnknownModelId {
            model_id: u.model_id.clone(),
            tokens: u.tokens.total(),
        });
    }
    let mut seen_unknown_app: BTreeSet<&str> = BTreeSet::new();
    for a in by_agent.iter().filter(|a| a.model_key.is_none()) {
        if seen_unknown_app.insert(&a.model_id) && !by_model.unpriced.iter().any(|u| u.model_id == a.model_id)
        {
            warnings.push(PricingWarning::UnknownModelId {
                model_id: a.model_id.clone(),
                tokens: a.tokens.total(),
            });
        }
    }
    for m in &by_model.per_model {
        let app_cache: u64 = by_agent
            .iter()
            .filter(|a| a.model_key.as_deref() == Some(&m.model_key))
            .map(|a| a.tokens.cache_read.saturating_add(a.tokens.cache_write))
            .sum();
        if app_cache > 0 && !m.cache_metrics_seen {
            warnings.push(PricingWarning::MissingCacheTokens {
                model_key: m.model_key.clone(),
                app_cache_tokens: app_cache,
            });
        }
    }
    for (model_key, effective) in &by_model.price_changes {
        warnings.push(PricingWarning::PriceChanged {
            model_key: model_key.clone(),
            effective: *effective,
        });
    }
    lines.sort_by(|a, b| {
        b.billed
            .cmp(&a.billed)
            .then_with(|| a.billing_service.cmp(&b.billing_service))
    });
    Reconciliation {
        start,
        end,
        threshold_pct,
        billed_total: billed.values().copied().sum(),
        estimated_total: by_model.total,
        lines,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use crate::input::{DailyCostTable, MetricSumSeries};
    use crate::pricing::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

    fn month_fixture() -> (Vec<MetricSumSeries>, Vec<MetricSumSeries>, DailyCostTable) {
        let profile = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
        let haiku = "anthropic.claude-3-haiku-20240307-v1:0";
        let cw = vec![
            // Sonnet called both by bare id and through the US profile: summed.
            bedrock("InputTokenCount", SONNET, &[(1, 600_000.0), (2, 400_000.0)]),
            bedrock("InputTokenCount", profile, &[(2, 1_000_000.0)]),
            bedrock("OutputTokenCount", SONNET, &[(1, 200_000.0)]),
            bedrock("OutputTokenCount", profile, &[(2, 200_000.0)]),
            bedrock("InputTokenCount", haiku, &[(1, 4_000_000.0)]),
            bedrock("OutputTokenCount", haiku, &[(1, 400_000.0)]),
            bedrock("InputTokenCount", "anthropic.claude-opus-9", &[(1, 10.0)]),
            // Outside the period: ignored.
            bedrock("InputTokenCount", SONNET, &[(9, 9e9)]),
            // No ModelId (account aggregate): ignored.
            MetricSumSeries::new(BEDROCK_NAMESPACE, "InputTokenCount").with_point(at(1), 9e9),
        ];
        let apps = vec![
            app(TokenKind::Input, "authenticity", SONNET, &[(1, 1_500_000.0)]),
            app(TokenKind::Output, "authenticity", SONNET, &[(1, 300_000.0)]),
            app(TokenKind::CacheRead, "authenticity", SONNET, &[(1, 100_000.0)]),
            app(TokenKind::Input, "pricing", haiku, &[(1, 4_000_000.0)]),
            app(TokenKind::Output, "pricing", haiku, &[(1, 400_000.0)]),
        ];
        let ce = DailyCostTable::default()
            .with_row(
                d(1),
                "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
                dec!(6.0),
                false,
            )
            .with_row(
                d(2),
                "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
                dec!(6.6),
                false,
            )
            .with_row(d(1), "Claude 3 Haiku (Amazon Bedrock Edition)", dec!(1.5), false)
            .with_row(d(1), "Claude 4 Opus (Amazon Bedrock Edition)", dec!(0.5), false)
            .with_row(d(1), "AWS Lambda", dec!(3), false);
        (cw, apps, ce)
    }

    #[test]
    fn spend_per_model_per_agent_and_reconciliation_hand_computed() {
        let t = table();
        let (cw, apps, ce) = month_fixture();
        let by_model = bedrock_spend_by_model(t, &cw, d(1), d(3), &BTreeMap::new());
        // Sonnet: 2M in × 0.003/1k = 6; 400k out × 0.015/1k = 6 → 12.
        // Haiku: 4M × 0.00025/1k = 1; 400k × 0.00125/1k = 0.5 → 1.5.
        assert_eq!(by_model.per_model.len(), 2);
        assert_eq!(by_model.per_model[0].model_key, "claude-3-5-sonnet-v2");
        assert_eq!(by_model.per_model[0].cost, dec!(12));
        assert_eq!(by_model.per_model[0].ids_seen.len(), 2);
        assert_eq!(by_model.per_model[1].cost, dec!(1.5));
        assert_eq!(by_model.total, dec!(13.5));
        assert_eq!(by_model.unpriced.len(), 1);
        assert_eq!(by_model.unpriced[0].tokens.input, 10);

        let by_agent = bedrock_spend_by_agent(t, &apps, d(1), d(3), &BTreeMap::new());
        // authenticity: 1.5M × 0.003 + 300k × 0.015 + 100k × 0.0003 → 4.5 + 4.5 + 0.03 = 9.03
        assert_eq!(by_agent[0].agent, "authenticity");
        assert_eq!(by_agent[0].cost, dec!(9.03));
        assert_eq!(by_agent[1].agent, "pricing");
        assert_eq!(by_agent[1].cost, dec!(1.5));

        let r = reconcile(
            t,
            &by_model,
            &by_agent,
            &ce,
            d(1),
            d(3),
            DEFAULT_DRIFT_THRESHOLD_PCT,
        );
        assert_eq!(r.billed_total, dec!(14.6));
        assert_eq!(r.estimated_total, dec!(13.5));
        let sonnet = &r.lines[0];
        assert_eq!(
            sonnet.billing_service,
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)"
        );
        assert_eq!(sonnet.billed, dec!(12.6));
        // (12.6 − 12)/12.6 = 4.76 % → within 10 %.
        assert_eq!(sonnet.drift_pct.unwrap().round_dp(2), dec!(4.76));
        assert!(sonnet.within_threshold);
        assert_eq!(sonnet.estimated_by_agents, dec!(9.03));
        let haiku = r
            .lines
            .iter()
            .find(|l| l.billing_service.starts_with("Claude 3 Haiku"))
            .unwrap();
        assert_eq!(haiku.drift_pct, Some(Decimal::ZERO));
        let kinds: Vec<&str> = r
            .warnings
            .iter()
            .map(|w| match w {
                PricingWarning::UnknownModelId { .. } => "unknown",
                PricingWarning::MissingCacheTokens { .. } => "cache",
                PricingWarning::PriceChanged { .. } => "price",
                PricingWarning::Drift { .. } => "drift",
                PricingWarning::OneSided { .. } => "one-sided",
                PricingWarning::UnmappedBillingService { .. } => "unmapped",
            })
            .collect();
        assert_eq!(kinds, vec!["unmapped", "unknown", "cache"]);
        assert!(r.warnings[0].message().contains("Claude 4 Opus"));
        assert!(!r.lines.iter().any(|l| l.billing_service == "AWS Lambda"));
    }

    #[test]
    fn drift_above_threshold_and_one_sided_lines_warn() {
        let t = table();
        let (cw, _, _) = month_fixture();
        let by_model = bedrock_spend_by_model(t, &cw, d(1), d(3), &BTreeMap::new());
        // Billed 48 for Sonnet against an estimate of 12: +75 % (the 4× seed gap shape).
        let ce = DailyCostTable::default().with_row(
            d(1),
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
            dec!(48),
            false,
        );
        let r = reconcile(t, &by_model, &[], &ce, d(1), d(3), DEFAULT_DRIFT_THRESHOLD_PCT);
        assert!(r.warnings.contains(&PricingWarning::Drift {
            billing_service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)".into(),
            drift_pct: dec!(75),
            threshold_pct: DEFAULT_DRIFT_THRESHOLD_PCT,
        }));
        // Haiku metered but nothing billed yet.
        assert!(
            r.warnings
                .iter()
                .any(|w| matches!(w, PricingWarning::OneSided { estimated, .. } if *estimated == dec!(1.5)))
        );
    }

    /// The warning's figure never rounds onto the threshold it went over: $13.34 billed against $12 of
    /// tokens is 10.045 % drift, over ±10 %, so it reads 10.1 %, not 10.0 %.
    #[test]
    fn a_drift_just_over_the_threshold_never_reads_as_the_threshold() {
        let t = table();
        let (cw, _, _) = month_fixture();
        let by_model = bedrock_spend_by_model(t, &cw, d(1), d(3), &BTreeMap::new());
        let ce = DailyCostTable::default().with_row(
            d(1),
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
            dec!(13.34),
            false,
        );
        let r = reconcile(t, &by_model, &[], &ce, d(1), d(3), DEFAULT_DRIFT_THRESHOLD_PCT);
        let drift = r
            .warnings
            .iter()
            .find(|w| matches!(w, PricingWarning::Drift { .. }))
            .expect("a drift warning");
        assert_eq!(
            drift.message(),
            "Claude 3.5 Sonnet (Amazon Bedrock Edition): billed differs from token estimate by 10.1%"
        );
    }

    /// `DRIFT_MIN_GAP_USD` both ways: Claude 3 Haiku tokens worth $0.40 (1.6M input × $0.00025/1k,
    /// cost-anchors §3) with nothing billed yet is pennies, not a one-sided line; the mirror case ($0.75
    /// billed, no tokens) is `a_gap_under_a_dollar_is_never_drift`.
    #[test]
    fn metered_pennies_not_billed_yet_are_not_one_sided() {
        let t = table();
        let haiku = "anthropic.claude-3-haiku-20240307-v1:0";
        let cw = vec![bedrock("InputTokenCount", haiku, &[(1, 1_600_000.0)])];
        let by_model = bedrock_spend_by_model(t, &cw, d(1), d(3), &BTreeMap::new());
        assert_eq!(by_model.total, dec!(0.4));
        let empty = DailyCostTable::default();
        let r = reconcile(t, &by_model, &[], &empty, d(1), d(3), DEFAULT_DRIFT_THRESHOLD_PCT);
        assert_eq!(r.warnings, vec![], "{:?}", r.warnings);
        assert!(r.lines[0].within_threshold);
        assert_eq!(r.lines[0].drift_pct, None);
    }

    /// The governance reader asks `AWS/Bedrock` for all four token metrics, so a model without prompt
    /// caching comes back with an EMPTY `CacheReadInputTokenCount` series: that is no cache metric, and
    /// the app's 100k cache-read tokens warn. A zero-valued point is data: then AWS reports caching.
    #[test]
    fn an_empty_cache_series_is_not_a_cache_metric() {
        let t = table();
        let empty_cache = bedrock("CacheReadInputTokenCount", SONNET, &[]);
        let cw = vec![
            bedrock("InputTokenCount", SONNET, &[(1, 1_000_000.0)]),
            empty_cache.clone(),
        ];
        let apps = vec![
            app(TokenKind::Input, "authenticity", SONNET, &[(1, 1_000_000.0)]),
            app(TokenKind::CacheRead, "authenticity", SONNET, &[(1, 100_000.0)]),
        ];
        let ce = DailyCostTable::default().with_row(
            d(1),
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
            dec!(3),
            false,
        );
        let by_agent = bedrock_spend_by_agent(t, &apps, d(1), d(3), &BTreeMap::new());
        let by_model = bedrock_spend_by_model(t, &cw, d(1), d(3), &BTreeMap::new());
        assert!(!by_model.per_model[0].cache_metrics_seen);
        let r = reconcile(
            t,
            &by_model,
            &by_agent,
            &ce,
            d(1),
            d(3),
            DEFAULT_DRIFT_THRESHOLD_PCT,
        );
        assert!(
            r.warnings.contains(&PricingWarning::MissingCacheTokens {
                model_key: "claude-3-5-sonnet-v2".into(),
                app_cache_tokens: 100_000,
            }),
            "{:?}",
            r.warnings
        );
        // A point of 0 cache tokens is AWS reporting the metric.
        let cw = vec![
            bedrock("InputTokenCount", SONNET, &[(1, 1_000_000.0)]),
            bedrock("CacheReadInputTokenCount", SONNET, &[(1, 0.0)]),
        ];
        let by_model = bedrock_spend_by_model(t, &cw, d(1), d(3), &BTreeMap::new());
        assert!(by_model.per_model[0].cache_metrics_seen);
        let r = reconcile(
            t,
            &by_model,
            &by_agent,
            &ce,
            d(1),
            d(3),
            DEFAULT_DRIFT_THRESHOLD_PCT,
        );
        assert!(
            !r.warnings
                .iter()
                .any(|w| matches!(w, PricingWarning::MissingCacheTokens { .. })),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn a_gap_under_a_dollar_is_never_drift() {
        let t = table();
        // 75 cents billed on Bedrock's own line with no token metrics at all: 100 % drift, but pennies.
        let ce = DailyCostTable::default().with_row(d(1), "Amazon Bedrock", dec!(0.75), false);
        let r = reconcile(
            t,
            &BedrockSpend::default(),
            &[],
            &ce,
            d(1),
            d(3),
            DEFAULT_DRIFT_THRESHOLD_PCT,
        );
        assert!(
            !r.warnings
                .iter()
                .any(|w| matches!(w, PricingWarning::Drift { .. })),
            "{:?}",
            r.warnings
        );
        let line = r
            .lines
            .iter()
            .find(|l| l.billing_service == "Amazon Bedrock")
            .unwrap();
        assert!(line.within_threshold);
        assert_eq!(line.drift_pct, Some(dec!(100)));
        // The same percentage on real money still warns.
        let ce = DailyCostTable::default().with_row(d(1), "Amazon Bedrock", dec!(7.50), false);
        let r = reconcile(
            t,
            &BedrockSpend::default(),
            &[],
            &ce,
            d(1),
            d(3),
            DEFAULT_DRIFT_THRESHOLD_PCT,
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| matches!(w, PricingWarning::Drift { .. }))
        );
    }
}
