//! The pure part of the seed: a deterministic CollectIQ month, computed from a platform spec and the
//! instant it is seeded as of (its "now").
//!
//! Everything time-bound in the seed hangs off [`DemoMonth::now`]: today's partial day ends there (only
//! the hours completed by then have hourly data), and the writers stamp log events and traces in the
//! minutes before it. [`DemoMonth::generate_at`] takes any instant (the demo passes the wall clock);
//! [`DemoMonth::generate`] pins a date at [`PINNED_TIME_OF_DAY`], so a test that names a date gets the
//! same month on every day it runs.
//!
//! The numbers follow the seed design's volumes (≈50k valuations a month, 1,000 input / 200 output Claude
//! tokens per valuation, all the authenticity agent's, DetectText + DetectLabels per card) priced at real
//! on-demand rates, so the month shows exactly the drift the cost report must surface: Bedrock costs ≈ 4×
//! the design model's $75 and Rekognition 2× its $50.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;
use telemetry::catalogue::Agent;

/// Cost Explorer SERVICE names used by the seed (as CE spells them).
pub mod services {
    /// Lambda.
    pub const LAMBDA: &str = "AWS Lambda";
    /// API Gateway.
    pub const API_GATEWAY: &str = "Amazon API Gateway";
    /// DynamoDB.
    pub const DYNAMODB: &str = "Amazon DynamoDB";
    /// Step Functions.
    pub const STEP_FUNCTIONS: &str = "AWS Step Functions";
    /// Rekognition.
    pub const REKOGNITION: &str = "Amazon Rekognition";
    /// S3.
    pub const S3: &str = "Amazon Simple Storage Service";
    /// CloudWatch.
    pub const CLOUDWATCH: &str = "AmazonCloudWatch";
    /// Bedrock's own line (Titan embeddings, guardrails); Claude is billed through the Marketplace.
    pub const BEDROCK: &str = "Amazon Bedrock";
    /// Secrets Manager.
    pub const SECRETS_MANAGER: &str = "AWS Secrets Manager";
    /// Cost Explorer itself (governance's own API spend).
    pub const COST_EXPLORER: &str = "AWS Cost Explorer";
}

/// Tokens one agent spent in one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentTokens {
    /// Input tokens.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Prompt-cache read tokens.
    pub cache_read: u64,
    /// Converse calls.
    pub calls: u64,
}

/// One day of the seeded platform.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoDay {
    /// The UTC day.
    pub date: NaiveDate,
    /// Whether Cost Explorer still marks the day `Estimated` (the last two days and today).
    pub estimated: bool,
    /// Fraction of the day that has happened (1 for past days).
    pub elapsed: Decimal,
    /// Card valuations completed (`CardsValued`).
    pub valuations: u64,
    /// Cards created (`CardsCreated`).
    pub cards_created: u64,
    /// Unblended cost per CE SERVICE name, tagged `Environment=<env>`.
    pub cost_by_service: BTreeMap<String, Decimal>,
    /// Unblended cost per CE SERVICE name with no `Environment` tag (hygiene).
    pub untagged_by_service: BTreeMap<String, Decimal>,
    /// Claude tokens per agent.
    pub tokens: BTreeMap<Agent, AgentTokens>,
    /// Rekognition calls (DetectText + DetectLabels).
    pub rekognition_calls: u64,
    /// Lambda invocations per function id, errors per function id.
    pub invocations: BTreeMap<String, (u64, u64)>,
    /// API requests, 4xx and 5xx.
    pub api_requests: (u64, u64, u64),
    /// State machine executions started, failed.
    pub executions: (u64, u64),
}

impl DemoDay {
    /// Total cost of the day (tagged and untagged).
    #[must_use]
    pub fn total_usd(&self) -> Decimal {
        self.cost_by_service
            .values()
            .chain(self.untagged_by_service.values())
            .copied()
            .sum()
    }
}

/// A budget with the spend AWS Budgets would report for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoBudget {
    /// Budget name.
    pub name: String,
    /// Monthly limit.
    pub limit_usd: Decimal,
    /// Month-to-date actual spend.
    pub actual_usd: Decimal,
    /// Budgets' own forecast for the month.
    pub forecast_usd: Decimal,
    /// ACTUAL thresholds.
    pub actual_thresholds_percent: Vec<u32>,
    /// FORECASTED thresholds.
    pub forecast_thresholds_percent: Vec<u32>,
}

/// A seeded month: history for baselines plus the month to date.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoMonth {
    /// `{platform}-{env}`.
    pub prefix: String,
    /// The `Environment` tag value.
    pub environment: String,
    /// "Today": the last, partial day (the UTC date of [`Self::now`]).
    pub as_of: NaiveDate,
    /// The instant the month is seeded as of: today's data ends here, log events and traces are stamped
    /// in the minutes before it, and the demo reads every section at it.
    pub now: DateTime<Utc>,
    /// First day of the month of `as_of`.
    pub month_start: NaiveDate,
    /// Every day from the start of the previous month up to and including `as_of`.
    pub days: Vec<DemoDay>,
    /// Budgets with their spend.
    pub budgets: Vec<DemoBudget>,
    /// The Bedrock model every agent calls (ModelId dimension).
    pub model_id: String,
    /// The CE SERVICE name the model is billed under.
    pub model_billing_service: String,
}

/// Rates used to price the seed (us-east-1 on-demand, per unit).
mod rates {
    use rust_decimal::Decimal;
    use rust_decimal::prelude::FromPrimitive;

    fn d(v: f64) -> Decimal {
        Decimal::from_f64(v).unwrap_or_default()
    }
    /// Claude 3.5 Sonnet: $3 / 1M input, $15 / 1M output, cache read 0.1× input.
    pub(super) fn claude(input: u64, output: u64, cache_read: u64) -> Decimal {
        (Decimal::from(input) * d(3.0) + Decimal::from(output) * d(15.0) + Decimal::from(cache_read) * d(0.3))
            / Decimal::from(1_000_000)
    }
    /// Rekognition Group 2 APIs: $0.001 per image.
    pub(super) fn rekognition(calls: u64) -> Decimal {
        Decimal::from(calls) * d(0.001)
    }
}

/// splitmix64: tiny, deterministic, good enough for demo noise.
#[derive(Debug, Clone)]
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A factor in `[1 - spread, 1 + spread]`, in thousandths.
    fn factor(&mut self, spread_permille: u64) -> Decimal {
        let span = 2 * spread_permille + 1;
        let offset = self.next() % span;
        Decimal::new(1000 - spread_permille as i64 + offset as i64, 3)
    }
}

fn scaled(base: u64, factor: Decimal) -> u64 {
    use rust_decimal::prelude::ToPrimitive;
    (Decimal::from(base) * factor).round().to_u64().unwrap_or(base)
}

fn usd(cents_per_day: i64) -> Decimal {
    Decimal::new(cents_per_day, 2)
}

/// Per-agent tokens for one valuation: 1,000 input / 200 output, as the seed design assumes (000: 1,200
/// tokens a valuation), all the authenticity agent's — the one function seed 001 lets call Bedrock
/// ("IAM Least Privilege"). It caches its long grading rubric (600 cache-read tokens).
const TOKENS_PER_VALUATION: [(Agent, u64, u64, u64); 1] = [(Agent::Authenticity, 1000, 200, 600)];

/// The time of day a date-only as-of stands for: 13:12 UTC, when 55 % of the day has passed and 13
/// whole hours (00–12) have hourly data.
pub const PINNED_TIME_OF_DAY: NaiveTime = match NaiveTime::from_hms_opt(13, 12, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// `as_of` at [`PINNED_TIME_OF_DAY`] UTC: the instant [`DemoMonth::generate`] seeds a date as of.
#[must_use]
pub fn pinned_now(as_of: NaiveDate) -> DateTime<Utc> {
    as_of.and_time(PINNED_TIME_OF_DAY).and_utc()
}

/// Share of `now`'s day that has passed (0 at midnight, just under 1 before the next).
fn elapsed_share(now: DateTime<Utc>) -> Decimal {
    (Decimal::from(now.num_seconds_from_midnight()) / Decimal::from(86_400)).normalize()
}

impl DemoMonth {
    /// Generates the month of `spec`'s platform up to `as_of` (partial) at [`PINNED_TIME_OF_DAY`], with the
    /// previous month as history: [`Self::generate_at`] at [`pinned_now`]`(as_of)`. The same inputs always
    /// give the same month.
    #[must_use]
    pub fn generate(spec: &PlatformSpec, as_of: NaiveDate) -> Self {
        Self::generate_at(spec, pinned_now(as_of))
    }

    /// Generates the month of `spec`'s platform up to the instant `now`: the previous month as history,
    /// this month's days in full and today up to `now` (its share of the day's volume, hourly data for
    /// the hours completed). The same inputs always give the same month.
    ///
    /// ```
    /// # let spec = platform_spec::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/platforms/collectiq-prod.toml"))).unwrap();
    /// use collectiq_ops::seed::DemoMonth;
    /// let now = "2026-12-02T06:08:00Z".parse().unwrap();
    /// let month = DemoMonth::generate_at(&spec, now);
    /// assert_eq!(month.as_of.to_string(), "2026-12-02");
    /// assert_eq!(month.hours_today(), 6);
    /// assert!(month.days.iter().all(|d| d.date <= month.as_of));
    /// ```
    #[must_use]
    pub fn generate_at(spec: &PlatformSpec, now: DateTime<Utc>) -> Self {
        let as_of = now.date_naive();
        let today_elapsed = elapsed_share(now);
        let month_start = as_of.with_day(1).unwrap_or(as_of);
        let history_start = month_start
            .checked_sub_days(Days::new(1))
            .and_then(|d| d.with_day(1))
            .unwrap_or(month_start);
        // Scale volumes to the platform's design model (50k/month in prod).
        let monthly = spec
            .cost
            .design_model
            .as_ref()
            .map_or(50_000, |m| m.valuations_per_month);
        let daily_base = monthly / 30;
        let mut noise = Noise(u64::from(as_of.num_days_from_ce().unsigned_abs()) ^ 0xC011_EC71);
        let model = spec.bedrock_models.first();
        let mut days = Vec::new();
        let mut date = history_start;
        while date <= as_of {
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            let elapsed = if date == as_of {
                today_elapsed
            } else {
                Decimal::ONE
            };
            let season = if weekend {
                Decimal::new(125, 2)
            } else {
                Decimal::ONE
            };
            let growth =
                Decimal::ONE + Decimal::from((date - history_start).num_days()) / Decimal::from(1000);
            let valuations = scaled(daily_base, season * growth * noise.factor(60) * elapsed);
            let cards_created = scaled(valuations, Decimal::new(104, 2));
            let mut tokens = BTreeMap::new();
            for (agent, input, output, cache) in TOKENS_PER_VALUATION {
                let f = noise.factor(30);
                tokens.insert(
                    agent,
                    AgentTokens {
                        input: scaled(valuations * input, f),
                        output: scaled(valuations * output, f),
                        cache_read: scaled(valuations * cache, f),
                        calls: valuations,
                    },
                );
            }
            // A retry storm yesterday (the last day the cost report checks for anomalies): extract
            // re-ran DetectText for every card, twice.
            let storm = as_of.pred_opt() == Some(date);
            let rekognition_calls = valuations * if storm { 6 } else { 2 };
            let claude = tokens
                .values()
                .map(|t| rates::claude(t.input, t.output, t.cache_read))
                .sum::<Decimal>();
            let v = Decimal::from(valuations) / Decimal::from(daily_base.max(1));
            let mut cost = BTreeMap::new();
            cost.insert(
                services::REKOGNITION.to_owned(),
                rates::rekognition(rekognition_calls),
            );
            cost.insert(
                services::LAMBDA.to_owned(),
                (usd(62) * v * noise.factor(50)).round_dp(4),
            );
            cost.insert(
                services::API_GATEWAY.to_owned(),
                (usd(18) * v * noise.factor(40)).round_dp(4),
            );
            cost.insert(
                services::DYNAMODB.to_owned(),
                (usd(41) * v * noise.factor(50)).round_dp(4),
            );
            cost.insert(
                services::STEP_FUNCTIONS.to_owned(),
                (usd(25) * v * noise.factor(30)).round_dp(4),
            );
            cost.insert(
                services::S3.to_owned(),
                (usd(13) * v * noise.factor(80)).round_dp(4),
            );
            cost.insert(
                services::BEDROCK.to_owned(),
                (usd(4) * elapsed * noise.factor(100)).round_dp(4),
            );
            cost.insert(
                services::CLOUDWATCH.to_owned(),
                (usd(21) * elapsed * noise.factor(60)).round_dp(4),
            );
            cost.insert(
                services::SECRETS_MANAGER.to_owned(),
                (usd(1) * elapsed).round_dp(4),
            );
            cost.insert(services::COST_EXPLORER.to_owned(), (usd(3) * elapsed).round_dp(4));
            let mut untagged = BTreeMap::new();
            // Log groups created by hand, never tagged: the hygiene section should notice.
            untagged.insert(
                services::CLOUDWATCH.to_owned(),
                (usd(7) * elapsed * noise.factor(60)).round_dp(4),
            );
            // Third-party models are billed through the Marketplace under their own SERVICE name.
            let claude_line = model
                .and_then(|m| m.billing_service.clone())
                .unwrap_or_else(|| CLAUDE_SONNET_LINE.to_owned());
            *cost.entry(claude_line).or_default() += claude.round_dp(4);
            let mut invocations = BTreeMap::new();
            for f in &spec.functions {
                let (calls, errors) = match f.id.as_str() {
                    "healthz" => (1440 * u64::from(elapsed == Decimal::ONE) + 800, 0),
                    "cards_list" | "cards_get" => (valuations * 4, valuations / 2000),
                    "upload_presign" | "cards_create" => (cards_created, cards_created / 5000),
                    "cards_delete" => (valuations / 20, 0),
                    "cards_revalue" => (valuations / 10, 0),
                    "error_handler" => (valuations / 800 + u64::from(storm) * 40, 0),
                    "authenticity_agent" => (valuations, valuations / 400 + u64::from(date == as_of) * 90),
                    _ => (valuations, valuations / 1500),
                };
                invocations.insert(f.id.clone(), (calls, errors));
            }
            let api_requests = invocations
                .iter()
                .filter(|(id, _)| {
                    spec.http_apis
                        .iter()
                        .any(|a| a.routes.iter().any(|r| &&r.function == id))
                })
                .map(|(_, (calls, _))| *calls)
                .sum::<u64>();
            let executions = (
                valuations + valuations / 10,
                valuations / 300 + u64::from(date == as_of) * 60,
            );
            days.push(DemoDay {
                date,
                estimated: (as_of - date).num_days() <= 2,
                elapsed,
                valuations,
                cards_created,
                cost_by_service: cost,
                untagged_by_service: untagged,
                tokens,
                rekognition_calls,
                invocations,
                api_requests: (api_requests, api_requests / 40, api_requests / 900),
                executions,
            });
            date = match date.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        let mtd: Decimal = days
            .iter()
            .filter(|d| d.date >= month_start)
            .map(DemoDay::total_usd)
            .sum();
        let days_in_month = Decimal::from(days_in_month(month_start));
        // At least a minute of the month has passed, so the forecast never divides by zero at midnight
        // on the 1st.
        let elapsed_days =
            (Decimal::from(as_of.day() - 1) + today_elapsed).max(Decimal::ONE / Decimal::from(1440));
        let budgets = spec
            .budgets
            .iter()
            .map(|b| DemoBudget {
                name: b.name.clone(),
                limit_usd: b.limit_usd,
                actual_usd: mtd.round_dp(2),
                // AWS Budgets forecasts roughly linearly from the month so far.
                forecast_usd: (mtd / elapsed_days * days_in_month).round_dp(2),
                actual_thresholds_percent: b.actual_thresholds_percent.clone(),
                forecast_thresholds_percent: b.forecast_thresholds_percent.clone(),
            })
            .collect();
        Self {
            prefix: spec.managed_prefix(),
            environment: spec.platform.environment.clone(),
            as_of,
            now,
            month_start,
            days,
            budgets,
            model_id: model.map_or_else(
                || "anthropic.claude-3-5-sonnet-20240620-v1:0".to_owned(),
                |m| m.id.clone(),
            ),
            model_billing_service: model
                .and_then(|m| m.billing_service.clone())
                .unwrap_or_else(|| CLAUDE_SONNET_LINE.to_owned()),
        }
    }

    /// Whole hours of today completed at [`Self::now`] (13 at 13:12): the hours that have hourly data.
    #[must_use]
    pub fn hours_today(&self) -> u32 {
        self.now.hour()
    }

    /// Days of the current month (the last one partial).
    pub fn month_days(&self) -> impl Iterator<Item = &DemoDay> {
        self.days.iter().filter(|d| d.date >= self.month_start)
    }

    /// Month-to-date cost per CE SERVICE name (tagged and untagged), highest first.
    #[must_use]
    pub fn month_to_date_by_service(&self) -> Vec<(String, Decimal)> {
        let mut by: BTreeMap<String, Decimal> = BTreeMap::new();
        for day in self.month_days() {
            for (service, usd) in day.cost_by_service.iter().chain(&day.untagged_by_service) {
                *by.entry(service.clone()).or_default() += *usd;
            }
        }
        let mut out: Vec<_> = by.into_iter().collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// The Marketplace line Claude 3.5 Sonnet is billed under.
pub const CLAUDE_SONNET_LINE: &str = "Claude 3.5 Sonnet (Amazon Bedrock Edition)";

/// Days in the month that starts at `month_start`.
#[must_use]
pub fn days_in_month(month_start: NaiveDate) -> u32 {
    let next = month_start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month_start);
    u32::try_from((next - month_start).num_days()).unwrap_or(30)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::prod_spec as prod;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn same_inputs_same_month() {
        let spec = prod();
        assert_eq!(
            DemoMonth::generate(&spec, date("2026-11-21")),
            DemoMonth::generate(&spec, date("2026-11-21"))
        );
    }

    #[test]
    fn month_has_history_and_partial_today() {
        let m = DemoMonth::generate(&prod(), date("2026-11-21"));
        assert_eq!(m.days.first().unwrap().date, date("2026-10-01"));
        assert_eq!(m.days.last().unwrap().date, date("2026-11-21"));
        assert_eq!(m.month_days().count(), 21);
        let estimated: Vec<_> = m
            .days
            .iter()
            .filter(|d| d.estimated)
            .map(|d| d.date.day())
            .collect();
        assert_eq!(estimated, [19, 20, 21]);
        assert!(m.days.last().unwrap().elapsed < Decimal::ONE);
    }

    #[test]
    fn volumes_match_the_seed_design() {
        let m = DemoMonth::generate(&prod(), date("2026-11-21"));
        let october: u64 = m
            .days
            .iter()
            .filter(|d| d.date.month() == 10)
            .map(|d| d.valuations)
            .sum();
        assert!(
            (45_000..60_000).contains(&october),
            "{october} valuations in October"
        );
        let day = &m.days[10];
        let input: u64 = day.tokens.values().map(|t| t.input).sum();
        let output: u64 = day.tokens.values().map(|t| t.output).sum();
        let per_valuation_in = input / day.valuations;
        let per_valuation_out = output / day.valuations;
        assert!((950..=1050).contains(&per_valuation_in), "{per_valuation_in}");
        assert!((190..=210).contains(&per_valuation_out), "{per_valuation_out}");
    }

    #[test]
    fn claude_is_billed_on_the_marketplace_line_at_about_four_times_the_model() {
        let m = DemoMonth::generate(&prod(), date("2026-11-21"));
        let october_claude: Decimal = m
            .days
            .iter()
            .filter(|d| d.date.month() == 10)
            .filter_map(|d| d.cost_by_service.get(CLAUDE_SONNET_LINE))
            .copied()
            .sum();
        // ≈ 50k × (1000 × $3 + 200 × $15) / 1M = $300, plus cached reads.
        assert!(
            october_claude > Decimal::from(280) && october_claude < Decimal::from(360),
            "{october_claude}"
        );
        let bedrock_own: Decimal = m
            .days
            .iter()
            .filter_map(|d| d.cost_by_service.get(services::BEDROCK))
            .copied()
            .sum();
        assert!(bedrock_own < Decimal::from(5));
    }

    #[test]
    fn budget_spend_is_the_month_to_date_total_and_prod_runs_hot() {
        let m = DemoMonth::generate(&prod(), date("2026-11-21"));
        let mtd: Decimal = m.month_days().map(DemoDay::total_usd).sum();
        let b = &m.budgets[0];
        assert_eq!(b.actual_usd, mtd.round_dp(2));
        assert_eq!(b.limit_usd, Decimal::from(500));
        // At real prices (and two Rekognition calls per card) prod runs past its $500 budget.
        assert!(
            b.forecast_usd > Decimal::from(450) && b.forecast_usd < Decimal::from(600),
            "{}",
            b.forecast_usd
        );
    }

    #[test]
    fn yesterday_has_a_rekognition_spike() {
        let m = DemoMonth::generate(&prod(), date("2026-11-21"));
        let rek = |day: u32| {
            m.month_days()
                .find(|d| d.date.day() == day)
                .unwrap()
                .cost_by_service[services::REKOGNITION]
        };
        assert!(rek(20) > rek(19) * Decimal::from(2));
    }

    #[test]
    fn a_pinned_date_is_that_day_at_13_12_and_55_percent_elapsed() {
        let m = DemoMonth::generate(&prod(), date("2026-11-21"));
        assert_eq!(m.now.to_rfc3339(), "2026-11-21T13:12:00+00:00");
        assert_eq!(m.hours_today(), 13);
        assert_eq!(m.days.last().unwrap().elapsed, Decimal::new(55, 2));
        assert_eq!(m, DemoMonth::generate_at(&prod(), pinned_now(date("2026-11-21"))));
    }

    #[test]
    fn today_ends_at_now_whatever_the_hour() {
        let spec = prod();
        let at = |s: &str| DemoMonth::generate_at(&spec, s.parse().unwrap());
        let early = at("2026-12-02T06:08:00Z");
        assert_eq!(early.as_of, date("2026-12-02"));
        assert_eq!(early.month_start, date("2026-12-01"));
        assert_eq!(early.days.first().unwrap().date, date("2026-11-01"));
        assert_eq!(early.hours_today(), 6);
        // 6 h 8 min of 24 h.
        assert_eq!(
            early.days.last().unwrap().elapsed,
            Decimal::from(6 * 3600 + 8 * 60) / Decimal::from(86_400)
        );
        let late = at("2026-12-02T22:30:00Z");
        assert!(late.days.last().unwrap().valuations > early.days.last().unwrap().valuations * 3);
        // Midnight on the 1st: nothing of the month yet, and no division by zero in the forecast.
        let first = at("2026-12-01T00:00:00Z");
        assert_eq!(first.month_days().count(), 1);
        assert_eq!(first.days.last().unwrap().valuations, 0);
        assert!(first.budgets.iter().all(|b| b.forecast_usd >= Decimal::ZERO));
    }

    #[test]
    fn days_in_month_handles_every_length() {
        assert_eq!(days_in_month(date("2026-02-01")), 28);
        assert_eq!(days_in_month(date("2028-02-01")), 29);
        assert_eq!(days_in_month(date("2026-11-01")), 30);
        assert_eq!(days_in_month(date("2026-12-01")), 31);
    }
}
