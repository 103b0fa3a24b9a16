//! Unit economics: dollars per card valuation, in total and per component, against the seed cost model.
//!
//! `$ per valuation = cost ÷ CardsValued` over the same days. Each component (Bedrock incl. the
//! Marketplace-billed Claude lines, Rekognition, Lambda, ...) is compared with the seed's
//! `component $ / seed valuations`; the gap is explained per component. For Bedrock the seed's token
//! assumption (e.g. 1,000 in + 200 out per valuation) is priced at every model of the price table: if
//! the seed's dollars match a cheaper model than the one actually billed, the gap is **model drift**
//! (reference `cost-anchors.md` §0.1: $75 matches Claude 3.5 Haiku; at Sonnet prices it is ~$300).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use telemetry::catalogue::{MetricName, NAMESPACE};

use crate::input::{DailyCostTable, MetricSumSeries};
use crate::pricing::{BEDROCK_SERVICE, BedrockSpend, MARKETPLACE_SUFFIX, PriceTable, TokenCounts};

/// A ratio within `[1/TOLERANCE, TOLERANCE]` of the seed counts as in line with it.
pub const TOLERANCE: Decimal = Decimal::from_parts(125, 0, 0, false, 2);

/// A cost component of a valuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// Amazon Bedrock and the Marketplace-billed model lines.
    Bedrock,
    /// Amazon Rekognition.
    Rekognition,
    /// AWS Lambda.
    Lambda,
    /// Amazon DynamoDB.
    DynamoDb,
    /// Amazon API Gateway.
    ApiGateway,
    /// AWS Step Functions.
    StepFunctions,
    /// Amazon S3.
    S3,
    /// Amazon CloudWatch.
    CloudWatch,
    /// Everything else (tax, KMS, EventBridge, SQS, ...).
    Other,
}

impl Component {
    /// All components, in report order.
    pub const ALL: [Self; 9] = [
        Self::Bedrock,
        Self::Rekognition,
        Self::Lambda,
        Self::DynamoDb,
        Self::ApiGateway,
        Self::StepFunctions,
        Self::S3,
        Self::CloudWatch,
        Self::Other,
    ];

    /// Classifies a Cost Explorer `SERVICE` value.
    ///
    /// ```
    /// use cost::unit::Component;
    /// assert_eq!(Component::of_service("Claude 3.5 Sonnet (Amazon Bedrock Edition)"), Component::Bedrock);
    /// assert_eq!(Component::of_service("AmazonCloudWatch"), Component::CloudWatch);
    /// assert_eq!(Component::of_service("Tax"), Component::Other);
    /// ```
    #[must_use]
    pub fn of_service(service: &str) -> Self {
        match service {
            BEDROCK_SERVICE => Self::Bedrock,
            s if s.ends_with(MARKETPLACE_SUFFIX) => Self::Bedrock,
            "Amazon Rekognition" => Self::Rekognition,
            "AWS Lambda" => Self::Lambda,
            "Amazon DynamoDB" => Self::DynamoDb,
            "Amazon API Gateway" => Self::ApiGateway,
            "AWS Step Functions" => Self::StepFunctions,
            "Amazon Simple Storage Service" => Self::S3,
            "AmazonCloudWatch" | "Amazon CloudWatch" => Self::CloudWatch,
            _ => Self::Other,
        }
    }

    /// Display name.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Bedrock => "Bedrock",
            Self::Rekognition => "Rekognition",
            Self::Lambda => "Lambda",
            Self::DynamoDb => "DynamoDB",
            Self::ApiGateway => "API Gateway",
            Self::StepFunctions => "Step Functions",
            Self::S3 => "S3",
            Self::CloudWatch => "CloudWatch",
            Self::Other => "Other",
        }
    }
}

/// The seed cost model: monthly dollars per component at a monthly valuation volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedCostModel {
    /// Valuations per month the seed assumes.
    pub valuations_per_month: u64,
    /// Monthly dollars per component.
    pub monthly: BTreeMap<Component, Decimal>,
    /// Bedrock tokens per valuation the seed assumes (input, output), if stated.
    pub bedrock_tokens_per_valuation: Option<(u64, u64)>,
}

impl SeedCostModel {
    /// CollectIQ's seed, exactly seed 000's "Monthly Cost Breakdown" table: $176/month for 50k valuations
    /// ($0.00352 each) — Lambda $11, Bedrock $75, Rekognition $50, DynamoDB $15, S3 $5, API Gateway $5,
    /// Step Functions $5, CloudWatch $10; 1,200 Bedrock tokens per valuation (1,000 input + 200 output).
    ///
    /// ```
    /// let seed = cost::unit::SeedCostModel::collectiq();
    /// assert_eq!(seed.total_monthly(), rust_decimal::Decimal::from(176));
    /// assert_eq!(seed.per_valuation(), rust_decimal::Decimal::new(352, 5));
    /// ```
    #[must_use]
    pub fn collectiq() -> Self {
        let monthly = [
            (Component::Lambda, 11),
            (Component::Bedrock, 75),
            (Component::Rekognition, 50),
            (Component::DynamoDb, 15),
            (Component::S3, 5),
            (Component::ApiGateway, 5),
            (Component::StepFunctions, 5),
            (Component::CloudWatch, 10),
        ]
        .into_iter()
        .map(|(c, d)| (c, Decimal::from(d)))
        .collect();
        Self {
            valuations_per_month: 50_000,
            monthly,
            bedrock_tokens_per_valuation: Some((1000, 200)),
        }
    }

    /// No design model: a platform that does not value cards (seeds 002 and 003 state no per-request
    /// cost table), so the report has no cost-per-valuation section.
    ///
    /// ```
    /// let none = cost::unit::SeedCostModel::none();
    /// assert!(!none.has_valuations());
    /// assert!(cost::unit::SeedCostModel::collectiq().has_valuations());
    /// ```
    #[must_use]
    pub fn none() -> Self {
        Self {
            valuations_per_month: 0,
            monthly: BTreeMap::new(),
            bedrock_tokens_per_valuation: None,
        }
    }

    /// Whether the model prices valuations at all (a volume and some cost).
    #[must_use]
    pub fn has_valuations(&self) -> bool {
        self.valuations_per_month > 0 && !self.total_monthly().is_zero()
    }

    /// Total monthly dollars.
    #[must_use]
    pub fn total_monthly(&self) -> Decimal {
        self.monthly.values().copied().sum()
    }

    /// Dollars per valuation in total (0 if the seed has no volume).
    #[must_use]
    pub fn per_valuation(&self) -> Decimal {
        self.total_monthly()
            .checked_div(Decimal::from(self.valuations_per_month))
            .unwrap_or_default()
    }

    /// Dollars per valuation for one component.
    #[must_use]
    pub fn component_per_valuation(&self, c: Component) -> Decimal {
        self.monthly
            .get(&c)
            .copied()
            .unwrap_or_default()
            .checked_div(Decimal::from(self.valuations_per_month))
            .unwrap_or_default()
    }
}

/// Why a component differs from the seed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GapExplanation {
    /// Within [`TOLERANCE`] of the seed.
    InLine,
    /// The seed's Bedrock dollars match a cheaper model's prices than the model actually billed.
    ModelDrift {
        /// The model with most Bedrock spend.
        billed_model: String,
        /// The price-table model whose price best reproduces the seed's Bedrock dollars.
        seed_matches_model: String,
        /// The seed's monthly token volume priced at the billed model.
        seed_volume_at_billed_model: Decimal,
        /// Measured tokens per valuation (all kinds), when token metrics were given.
        tokens_per_valuation: Option<Decimal>,
    },
    /// More per valuation than the seed (usage or price).
    Above {
        /// Actual ÷ seed per valuation.
        ratio: Decimal,
    },
    /// Less per valuation than the seed.
    Below {
        /// Actual ÷ seed per valuation.
        ratio: Decimal,
    },
    /// Spend the seed did not budget for.
    NotInSeed,
    /// No valuations in the period: per-valuation figures are undefined.
    NoValuations,
}

/// One component's unit cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentUnitCost {
    /// The component.
    pub component: Component,
    /// Cost in the period.
    pub cost: Decimal,
    /// `cost ÷ valuations`.
    pub per_valuation: Option<Decimal>,
    /// The seed's per-valuation figure.
    pub seed_per_valuation: Decimal,
    /// `per_valuation − seed_per_valuation`.
    pub delta_per_valuation: Option<Decimal>,
    /// `per_valuation × seed volume`: what a month at the seed's volume would cost.
    pub monthly_at_seed_volume: Option<Decimal>,
    /// The seed's monthly figure.
    pub seed_monthly: Decimal,
    /// The explanation.
    pub explanation: GapExplanation,
}

/// Unit economics for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitEconomics {
    /// First day.
    pub start: NaiveDate,
    /// Exclusive end.
    pub end: NaiveDate,
    /// `CardsValued` in the period.
    pub valuations: u64,
    /// Total cost in the period.
    pub total_cost: Decimal,
    /// `total_cost ÷ valuations`.
    pub per_valuation: Option<Decimal>,
    /// Seed per valuation ($0.00352 for CollectIQ).
    pub seed_per_valuation: Decimal,
    /// Total at the seed's monthly volume.
    pub monthly_at_seed_volume: Option<Decimal>,
    /// Seed monthly total.
    pub seed_monthly: Decimal,
    /// Components, in [`Component::ALL`] order (components with neither cost nor seed omitted).
    pub components: Vec<ComponentUnitCost>,
    /// The component with the largest absolute per-valuation gap.
    pub largest_gap: Option<Component>,
}

impl UnitEconomics {
    /// Whether a cost per valuation means anything here: valuations were counted or a design model prices
    /// them. A platform that values no cards (Backoffice, BudgetBuddy) shows no such section.
    #[must_use]
    pub fn applies(&self) -> bool {
        self.valuations > 0 || !self.seed_per_valuation.is_zero()
    }
}

/// `CardsValued` over `[start, end)` from CollectIQ's own metric series (all dimension sets summed).
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use cost::input::MetricSumSeries;
/// let s = MetricSumSeries::new(cost::NAMESPACE, "CardsValued")
///     .with_point(Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap(), 1600.0);
/// let n = cost::unit::valuations(&[s], NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(), NaiveDate::from_ymd_opt(2025, 6, 2).unwrap());
/// assert_eq!(n, 1600);
/// ```
#[must_use]
pub fn valuations(series: &[MetricSumSeries], start: NaiveDate, end: NaiveDate) -> u64 {
    series
        .iter()
        .filter(|s| s.namespace == NAMESPACE && s.metric_name == MetricName::CardsValued.as_str())
        .map(|s| s.total_between(start, end))
        .fold(0u64, u64::saturating_add)
}

fn ratio_explanation(ratio: Decimal) -> GapExplanation {
    if ratio > TOLERANCE {
        GapExplanation::Above { ratio }
    } else if ratio * TOLERANCE < Decimal::ONE {
        GapExplanation::Below { ratio }
    } else {
        GapExplanation::InLine
    }
}

fn bedrock_explanation(
    ratio: Decimal,
    seed: &SeedCostModel,
    bedrock: Option<&BedrockSpend>,
    table: &PriceTable,
    valuations: u64,
    day: NaiveDate,
) -> GapExplanation {
    let base = ratio_explanation(ratio);
    if !matches!(base, GapExplanation::Above { .. }) {
        return base;
    }
    let (Some(spend), Some((tin, tout))) = (bedrock, seed.bedrock_tokens_per_valuation) else {
        return base;
    };
    let Some(billed) = spend.per_model.first().and_then(|m| table.model(&m.model_key)) else {
        return base;
    };
    let n = seed.valuations_per_month;
    let seed_tokens = TokenCounts {
        input: tin.saturating_mul(n),
        output: tout.saturating_mul(n),
        ..TokenCounts::default()
    };
    let seed_bedrock = seed.monthly.get(&Component::Bedrock).copied().unwrap_or_default();
    let Some(closest) = table
        .models
        .iter()
        .min_by_key(|m| (table.cost(m, &seed_tokens, day) - seed_bedrock).abs())
    else {
        return base;
    };
    let at_billed = table.cost(billed, &seed_tokens, day);
    if closest.key == billed.key || at_billed * Decimal::ONE_HUNDRED <= seed_bedrock * Decimal::from(125) {
        return base;
    }
    let all_tokens: u64 = spend
        .per_model
        .iter()
        .map(|m| m.tokens.total())
        .fold(0, u64::saturating_add);
    GapExplanation::ModelDrift {
        billed_model: billed.name.clone(),
        seed_matches_model: closest.name.clone(),
        seed_volume_at_billed_model: at_billed,
        tokens_per_valuation: Decimal::from(all_tokens).checked_div(Decimal::from(valuations)),
    }
}

/// Unit economics over `[start, end)`: CE cost by service (Marketplace-aware) ÷ valuations, against
/// `seed`. `bedrock` (spend per model from token metrics) lets a Bedrock gap be named model drift.
///
/// ```
/// use chrono::NaiveDate;
/// use cost::input::DailyCostTable;
/// use cost::unit::{unit_economics, SeedCostModel};
/// let d = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
/// let ce = DailyCostTable::default().with_row(d, "Amazon Rekognition", 2.into(), false);
/// let u = unit_economics(&ce, d, d.succ_opt().unwrap(), 2000, &SeedCostModel::collectiq(), None,
///     cost::pricing::PriceTable::bundled().unwrap());
/// assert_eq!(u.per_valuation, Some(rust_decimal::Decimal::new(1, 3)));
/// ```
#[must_use]
pub fn unit_economics(
    ce: &DailyCostTable,
    start: NaiveDate,
    end: NaiveDate,
    valuations: u64,
    seed: &SeedCostModel,
    bedrock: Option<&BedrockSpend>,
    table: &PriceTable,
) -> UnitEconomics {
    let mut by_component: BTreeMap<Component, Decimal> = BTreeMap::new();
    // Saturating, as `service_totals` is: no arithmetic on the amounts panics the report.
    for (service, amount) in ce.service_totals(start, end) {
        let sum = by_component.entry(Component::of_service(&service)).or_default();
        *sum = sum.saturating_add(amount);
    }
    let n = Decimal::from(valuations);
    let seed_n = Decimal::from(seed.valuations_per_month);
    let per = |cost: Decimal| cost.checked_div(n);
    let mut components = Vec::new();
    for c in Component::ALL {
        let cost = by_component.get(&c).copied().unwrap_or_default();
        let seed_monthly = seed.monthly.get(&c).copied().unwrap_or_default();
        if cost.is_zero() && seed_monthly.is_zero() {
            continue;
        }
        let per_valuation = per(cost);
        let seed_per_valuation = seed.component_per_valuation(c);
        let explanation = match per_valuation {
            None => GapExplanation::NoValuations,
            Some(_) if seed_per_valuation.is_zero() => GapExplanation::NotInSeed,
            Some(p) => {
                let ratio = p.checked_div(seed_per_valuation).unwrap_or_default();
                if c == Component::Bedrock {
                    bedrock_explanation(ratio, seed, bedrock, table, valuations, start)
                } else {
                    ratio_explanation(ratio)
                }
            }
        };
        components.push(ComponentUnitCost {
            component: c,
            cost,
            per_valuation,
            seed_per_valuation,
            delta_per_valuation: per_valuation.and_then(|p| p.checked_sub(seed_per_valuation)),
            monthly_at_seed_volume: per_valuation.and_then(|p| p.checked_mul(seed_n)),
            seed_monthly,
            explanation,
        });
    }
    let largest_gap = components
        .iter()
        .filter_map(|c| c.delta_per_valuation.map(|d| (d.abs(), c.component)))
        .filter(|(d, _)| !d.is_zero())
        .max()
        .map(|(_, c)| c);
    let total_cost = by_component
        .values()
        .fold(Decimal::ZERO, |sum, c| sum.saturating_add(*c));
    let per_valuation = per(total_cost);
    UnitEconomics {
        start,
        end,
        valuations,
        total_cost,
        per_valuation,
        seed_per_valuation: seed.per_valuation(),
        monthly_at_seed_volume: per_valuation.and_then(|p| p.checked_mul(seed_n)),
        seed_monthly: seed.total_monthly(),
        components,
        largest_gap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{ModelSpend, TokenCounts};
    use rust_decimal_macros::dec;

    fn d(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, n).unwrap()
    }

    /// A 30-day month at seed volume (50k valuations) where Bedrock is billed at Sonnet prices.
    fn month_at_sonnet_prices() -> DailyCostTable {
        let rows = [
            ("Claude 3.5 Sonnet (Amazon Bedrock Edition)", dec!(300)),
            ("Amazon Rekognition", dec!(50)),
            ("AWS Lambda", dec!(11)),
            ("Amazon DynamoDB", dec!(15)),
            ("Amazon API Gateway", dec!(5)),
            ("AWS Step Functions", dec!(5)),
            ("Amazon Simple Storage Service", dec!(5)),
            ("AmazonCloudWatch", dec!(10)),
        ];
        rows.iter().fold(DailyCostTable::default(), |t, (s, monthly)| {
            (1..=30).fold(t, |t, n| t.with_row(d(n), s, monthly / dec!(30), false))
        })
    }

    fn sonnet_spend() -> BedrockSpend {
        BedrockSpend {
            per_model: vec![ModelSpend {
                model_key: "claude-3-5-sonnet-v2".into(),
                model_name: "Claude 3.5 Sonnet v2".into(),
                billing_service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)".into(),
                ids_seen: vec![],
                tokens: TokenCounts {
                    input: 50_000_000,
                    output: 10_000_000,
                    ..Default::default()
                },
                cost: dec!(300),
                cache_metrics_seen: false,
            }],
            unpriced: vec![],
            total: dec!(300),
            price_changes: vec![],
        }
    }

    /// Seed 000, "Cost Management" → "Monthly Cost Breakdown" (based on 50,000 card valuations per month).
    /// Audit: amounts that overflow their sum (a tampered ledger's) panicked the report in
    /// `unit_economics`' plain `sum()` and `+=`. The sums saturate; a figure that does not fit is absent.
    #[test]
    fn unit_economics_on_amounts_that_overflow_never_panic() {
        // Two services of one component (Other), and one of another.
        let ce = DailyCostTable::default()
            .with_row(d(1), "AWS Lambda", Decimal::MAX, false)
            .with_row(d(1), "Amazon Textract", Decimal::MAX, false)
            .with_row(d(1), "Tax", Decimal::MAX, false);
        let u = unit_economics(
            &ce,
            d(1),
            d(2),
            1,
            &SeedCostModel::collectiq(),
            None,
            PriceTable::bundled().unwrap(),
        );
        assert_eq!(u.total_cost, Decimal::MAX);
        assert_eq!(
            u.monthly_at_seed_volume, None,
            "MAX × the seed's volume does not fit"
        );
    }

    #[test]
    fn collectiq_seed_is_seed_000_table_component_by_component() {
        let s = SeedCostModel::collectiq();
        let table = [
            (Component::Lambda, dec!(11)),       // 50k invocations × 4 functions
            (Component::Bedrock, dec!(75)),      // 50k invocations × 1200 tokens
            (Component::Rekognition, dec!(50)),  // 50k images (OCR + labels)
            (Component::DynamoDb, dec!(15)),     // 200k reads, 100k writes
            (Component::S3, dec!(5)),            // storage + requests
            (Component::ApiGateway, dec!(5)),    // 50k requests
            (Component::StepFunctions, dec!(5)), // 50k executions × 4 transitions
            (Component::CloudWatch, dec!(10)),   // logs + metrics
        ];
        assert_eq!(s.monthly.len(), table.len());
        for (c, usd) in table {
            assert_eq!(s.monthly.get(&c), Some(&usd), "{c:?}");
            assert_eq!(s.component_per_valuation(c), usd / dec!(50000), "{c:?}");
        }
        assert_eq!(s.monthly.get(&Component::Other), None);
        assert_eq!(s.valuations_per_month, 50_000);
        assert_eq!(s.total_monthly(), dec!(176));
        assert_eq!(s.per_valuation(), dec!(0.00352));
        assert_eq!(s.component_per_valuation(Component::Lambda), dec!(0.00022));
        assert_eq!(s.component_per_valuation(Component::CloudWatch), dec!(0.0002));
        let (tin, tout) = s.bedrock_tokens_per_valuation.unwrap();
        assert_eq!(tin + tout, 1200);
    }

    #[test]
    fn sonnet_month_shows_401_and_bedrock_model_drift() {
        let table = PriceTable::bundled().unwrap();
        let seed = SeedCostModel::collectiq();
        let spend = sonnet_spend();
        let u = unit_economics(
            &month_at_sonnet_prices(),
            d(1),
            d(1) + chrono::Duration::days(30),
            50_000,
            &seed,
            Some(&spend),
            table,
        );
        assert_eq!(u.total_cost.round_dp(6), dec!(401));
        // 401 / 50,000 = 0.00802
        assert_eq!(u.per_valuation.unwrap().round_dp(8), dec!(0.00802));
        assert_eq!(u.monthly_at_seed_volume.unwrap().round_dp(6), dec!(401));
        assert_eq!(u.largest_gap, Some(Component::Bedrock));
        let bedrock = &u.components[0];
        assert_eq!(bedrock.component, Component::Bedrock);
        // 300 / 50,000 = 0.006 vs seed 0.0015.
        assert_eq!(bedrock.per_valuation.unwrap().round_dp(8), dec!(0.006));
        assert_eq!(bedrock.delta_per_valuation.unwrap().round_dp(8), dec!(0.0045));
        match &bedrock.explanation {
            GapExplanation::ModelDrift {
                billed_model,
                seed_matches_model,
                seed_volume_at_billed_model,
                tokens_per_valuation,
            } => {
                assert_eq!(billed_model, "Claude 3.5 Sonnet v2");
                assert_eq!(seed_matches_model, "Claude 3.5 Haiku"); // $80, closest to $75
                assert_eq!(*seed_volume_at_billed_model, dec!(300));
                assert_eq!(*tokens_per_valuation, Some(dec!(1200)));
            }
            other => panic!("{other:?}"),
        }
        for c in &u.components[1..] {
            assert_eq!(c.explanation, GapExplanation::InLine, "{:?}", c.component);
        }
    }

    #[test]
    fn bedrock_above_seed_without_token_data_is_just_above() {
        let table = PriceTable::bundled().unwrap();
        let u = unit_economics(
            &month_at_sonnet_prices(),
            d(1),
            d(1) + chrono::Duration::days(30),
            50_000,
            &SeedCostModel::collectiq(),
            None,
            table,
        );
        assert_eq!(
            u.components[0].explanation,
            GapExplanation::Above { ratio: dec!(4) }
        );
    }

    #[test]
    fn below_not_in_seed_and_no_valuations() {
        let table = PriceTable::bundled().unwrap();
        let ce = DailyCostTable::default()
            .with_row(d(1), "Amazon Rekognition", dec!(0.5), false)
            .with_row(d(1), "AWS Key Management Service", dec!(1), false);
        let u = unit_economics(&ce, d(1), d(2), 1000, &SeedCostModel::collectiq(), None, table);
        let rek = u
            .components
            .iter()
            .find(|c| c.component == Component::Rekognition)
            .unwrap();
        // 0.5/1000 = 0.0005 vs 0.001 → ratio 0.5.
        assert_eq!(rek.explanation, GapExplanation::Below { ratio: dec!(0.5) });
        let other = u
            .components
            .iter()
            .find(|c| c.component == Component::Other)
            .unwrap();
        assert_eq!(other.explanation, GapExplanation::NotInSeed);
        // Seed components with no spend are still listed (cost 0, below).
        assert!(
            u.components
                .iter()
                .any(|c| c.component == Component::Lambda && c.cost.is_zero())
        );
        let none = unit_economics(&ce, d(1), d(2), 0, &SeedCostModel::collectiq(), None, table);
        assert_eq!(none.per_valuation, None);
        assert!(
            none.components
                .iter()
                .all(|c| c.explanation == GapExplanation::NoValuations)
        );
        assert_eq!(none.largest_gap, None);
    }
}
