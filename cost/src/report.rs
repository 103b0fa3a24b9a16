//! The one cost report model, built from plain inputs; [`crate::slack`], [`crate::terminal`] and
//! [`crate::sns`] render it.
//!
//! Windows, for a report at `as_of` (UTC) on day `t`:
//! - budget burn: the month containing `t`, up to `as_of`;
//! - Bedrock spend, reconciliation, unit economics and hygiene: the settled days of the month,
//!   `[1st, t − 1)` — yesterday is left out because CE lags by up to 24 h (see [`settled_window`]);
//! - $/valuation of the last 7 settled days, `[t − 8, t − 1)`, beside the month-to-date figure: a cost
//!   drift shows there days before it moves the month's average (see [`recent_window`]);
//! - anomalies: day `t − 1` (the last complete day);
//! - service trends: the 14 days `[t − 14, t)`, top services by spend in that window.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::anomaly::{Anomaly, AnomalyConfig, Hygiene, daily_anomalies, hygiene};
use crate::burn::{
    BlendBasis, BudgetBurn, BurnInput, CeForecastInput, MonthPeriod, Severity, Tier, TierParts, budget_burn,
};
use crate::input::{Budget, DailyCostTable, MetricSumSeries};
use crate::pricing::{
    AgentSpend, BedrockSpend, DEFAULT_DRIFT_THRESHOLD_PCT, PriceTable, Reconciliation,
    bedrock_spend_by_agent, bedrock_spend_by_model, reconcile,
};
use crate::unit::{SeedCostModel, UnitEconomics, unit_economics, valuations};
use telemetry::catalogue::MetricName;

/// Days in the recent $/valuation window.
pub const RECENT_UNIT_DAYS: i64 = 7;

/// What one Cost Explorer request costs (paginated requests each count).
pub const CE_REQUEST_PRICE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

/// The governance run's own API usage, for the report footer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceSpend {
    /// Cost Explorer requests made today (every page counts), $0.01 each.
    pub ce_requests: u32,
    /// The daily cap on CE requests.
    pub ce_daily_cap: u32,
    /// CloudWatch `GetMetricData` requests.
    pub cloudwatch_requests: u32,
    /// Budgets requests (free).
    pub budgets_requests: u32,
}

impl GovernanceSpend {
    /// `ce_requests × $0.01`.
    ///
    /// ```
    /// let s = cost::report::GovernanceSpend { ce_requests: 3, ..Default::default() };
    /// assert_eq!(s.ce_cost(), rust_decimal::Decimal::new(3, 2));
    /// ```
    #[must_use]
    pub fn ce_cost(&self) -> Decimal {
        Decimal::from(self.ce_requests) * CE_REQUEST_PRICE
    }
}

/// One day of a service's trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyPoint {
    /// The day.
    pub date: NaiveDate,
    /// Spend (0 on days CE returned without this service or did not return).
    pub amount: Decimal,
}

/// A top service's daily series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTrend {
    /// CE service.
    pub service: String,
    /// One point per day of the window, oldest first.
    pub daily: Vec<DailyPoint>,
    /// Sum over the window.
    pub total: Decimal,
}

impl ServiceTrend {
    /// The last day's spend.
    #[must_use]
    pub fn last(&self) -> Decimal {
        self.daily.last().map_or(Decimal::ZERO, |p| p.amount)
    }

    /// The amounts, oldest first.
    #[must_use]
    pub fn amounts(&self) -> Vec<Decimal> {
        self.daily.iter().map(|p| p.amount).collect()
    }
}

/// The cost report for one platform, environment and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostReport {
    /// Platform (`collectiq`).
    pub platform: String,
    /// Environment (`prod`).
    pub environment: String,
    /// Report day (UTC date of `as_of`).
    pub date: NaiveDate,
    /// When the inputs were read.
    pub as_of: DateTime<Utc>,
    /// Budget burn, worst tier first.
    pub budgets: Vec<BudgetBurn>,
    /// The window of the spend/unit/reconciliation figures `[start, end)`.
    pub window: (NaiveDate, NaiveDate),
    /// Bedrock spend per model (from `AWS/Bedrock` tokens).
    pub bedrock_by_model: BedrockSpend,
    /// Bedrock spend per agent and model (from the app's token metrics).
    pub bedrock_by_agent: Vec<AgentSpend>,
    /// Billed vs estimated.
    pub reconciliation: Reconciliation,
    /// $ per valuation over the settled days of the month.
    pub unit: UnitEconomics,
    /// $ per valuation over the last [`RECENT_UNIT_DAYS`] settled days ([`recent_window`]), which may
    /// reach into the previous month. `None` in reports saved before it existed.
    #[serde(default)]
    pub unit_recent: Option<UnitEconomics>,
    /// Anomalies on the last complete day.
    pub anomalies: Vec<Anomaly>,
    /// Hygiene.
    pub hygiene: Hygiene,
    /// Top services over the trend window.
    pub top_services: Vec<ServiceTrend>,
    /// Whether any CE day in the window is `Estimated`.
    pub ce_estimated: bool,
    /// Data caveats (forecast missing, estimated days, budgets skipped, ...).
    pub notes: Vec<String>,
    /// The governance run's own API spend.
    pub self_spend: GovernanceSpend,
    /// The AWS account the report is for, when one run reports on several accounts (an organisation
    /// pass): shown beside the platform wherever the report names it, so two accounts running the same
    /// platform environment never post look-alike reports. `None` for a single-account run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl CostReport {
    /// The worst budget tier (`Ok` without budgets).
    #[must_use]
    pub fn tier(&self) -> Tier {
        self.budgets.iter().map(|b| b.tier).max().unwrap_or(Tier::Ok)
    }

    /// The worst budget severity.
    #[must_use]
    pub fn severity(&self) -> Severity {
        self.budgets
            .iter()
            .map(BudgetBurn::severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// What to say instead of a "Bedrock by agent" list when no per-agent token metrics were read: the
    /// app's `BedrockInputTokens`/`BedrockOutputTokens` (by `agent` and `model`) had no data in the
    /// window, so spend per agent is unknown — not zero. `None` when there are per-agent figures.
    #[must_use]
    pub fn agent_metrics_missing(&self) -> Option<String> {
        self.bedrock_by_agent.is_empty().then(|| {
            format!(
                "no per-agent token metrics ({}/{} by agent) between {} and {}: spend per agent unknown",
                MetricName::BedrockInputTokens.as_str(),
                MetricName::BedrockOutputTokens.as_str(),
                self.window.0,
                self.window.1.pred_opt().unwrap_or(self.window.1)
            )
        })
    }

    /// The report with every budget's burn restated from Cost Explorer's `daily` totals (the
    /// environment's, as the report reads them) up to its day — for a report on a day in the past, where
    /// AWS Budgets' `ActualSpend` (always the spend now) would mix in later days and months. See
    /// [`BudgetBurn::restated_from_daily`]. A budget that cannot be restated (its period reaches before
    /// the days read) is dropped with a note naming it; a note says where the spend came from.
    #[must_use]
    pub fn with_budget_spend_from_daily(mut self, daily: &[crate::input::DailyTotal]) -> Self {
        if self.budgets.is_empty() {
            return self;
        }
        let mut restated = Vec::new();
        for b in &self.budgets {
            match b.restated_from_daily(daily, self.as_of) {
                Ok(burn) => restated.push(burn),
                Err(e) => self.notes.push(format!("budget skipped: {e}")),
            }
        }
        sort_worst_first(&mut restated);
        self.budgets = restated;
        // First: Slack shows only the first ten notes, and this one says what every figure above means.
        self.notes.insert(
            0,
            format!(
                "{} is a past day: budget spend is Cost Explorer's daily cost for {} up to that day, not AWS \
             Budgets' spend (which is always as of now); no Budgets or CE forecast",
                self.date, self.environment
            ),
        );
        self
    }

    /// The budget that sets the report's severity (then the highest tier and projection), if any: a
    /// page names the budget that pages, not one whose projection is higher but which only warns.
    #[must_use]
    pub fn worst_budget(&self) -> Option<&BudgetBurn> {
        self.budgets.iter().min_by(|a, b| worst_first(a, b))
    }

    /// The report for `account` (see [`CostReport::account`]).
    #[must_use]
    pub fn for_account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// What the report is about: `CollectIQ prod`, or `CollectIQ prod (123456789012)` for an account of
    /// an organisation pass.
    #[must_use]
    pub fn scope(&self) -> String {
        let name = display_platform(&self.platform);
        match &self.account {
            Some(account) => format!("{name} {} ({account})", self.environment),
            None => format!("{name} {}", self.environment),
        }
    }

    /// `CollectIQ prod: $312.40 MTD (62.5% of $500.00) — WARNING` (`QTD`/`YTD` when the worst budget is
    /// quarterly/annual; the account after the environment in an organisation pass): the Slack `text`
    /// fallback and the basis of the SNS subject.
    #[must_use]
    pub fn headline(&self) -> String {
        let scope = self.scope();
        match self.worst_budget() {
            Some(b) => format!(
                "{scope}: {} {} ({} of {}) — {}",
                crate::format::usd(b.actual),
                b.period.unit.to_date_label(),
                crate::format::budget_pct(b.actual_pct),
                crate::format::usd(b.limit),
                self.severity().label()
            ),
            None => format!(
                "{scope}: {} in {} days — no budget",
                crate::format::usd(self.unit.total_cost),
                (self.window.1 - self.window.0).num_days()
            ),
        }
    }
}

/// The platforms whose seed documents spell their name in mixed case (seed 000: CollectIQ; seed 003:
/// BudgetBuddy), as finance and on-call know them.
const MIXED_CASE_NAMES: [&str; 2] = ["CollectIQ", "BudgetBuddy"];

/// `collectiq` → `CollectIQ`, `budgetbuddy` → `BudgetBuddy` (their seeds' spelling); other names are
/// capitalised (`backoffice` → `Backoffice`).
#[must_use]
pub fn display_platform(platform: &str) -> String {
    if let Some(name) = MIXED_CASE_NAMES.iter().find(|n| n.eq_ignore_ascii_case(platform)) {
        return (*name).to_owned();
    }
    let mut chars = platform.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Everything read from AWS for one report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInputs {
    /// Platform name.
    pub platform: String,
    /// Environment.
    pub environment: String,
    /// When the inputs were read.
    pub as_of: DateTime<Utc>,
    /// CE DAILY by SERVICE (optionally also by the `Environment` tag, then filtered to this environment):
    /// the month so far plus the baseline window (≥ 28 days back).
    pub cost_and_usage: DailyCostTable,
    /// `DescribeBudgets` budgets for this environment; all share the CE daily series and forecast above
    /// (the environment's scope). A budget with a narrower scope needs its own [`BurnInput`].
    pub budgets: Vec<Budget>,
    /// CE forecast for the rest of the month, if the call succeeded.
    pub ce_forecast: Option<CeForecastInput>,
    /// Why there is no CE forecast, in plain words, when the shell knows (e.g. "the endpoint does not
    /// implement GetCostForecast"). The report's note names it with what the projection fell back to.
    pub ce_forecast_unavailable: Option<String>,
    /// CloudWatch `Sum` series: `AWS/Bedrock` token counts per `ModelId`, CollectIQ token metrics per
    /// agent/model, `CardsValued`.
    pub metrics: Vec<MetricSumSeries>,
    /// The run's own API usage.
    pub self_spend: GovernanceSpend,
    /// Caveats from the shell (e.g. "Cost Explorer not queried (…); the report uses cached days").
    pub notes: Vec<String>,
}

/// Knobs with CollectIQ defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSettings {
    /// The seed cost model.
    pub seed: SeedCostModel,
    /// Anomaly settings.
    pub anomaly: AnomalyConfig,
    /// Reconciliation drift threshold, percent.
    pub drift_threshold_pct: Decimal,
    /// `ModelId` aliases (application inference profile ARN → model id).
    pub model_aliases: BTreeMap<String, String>,
    /// How many services get a trend line.
    pub top_services: usize,
    /// Trend window in days.
    pub trend_days: u32,
    /// When CE is grouped by the `Environment` tag: count untagged spend (`Environment$`) as this
    /// environment's (default true: Marketplace model charges are often untaggable, and a budget should
    /// rather over- than under-count). The untagged share is reported under hygiene either way.
    pub include_untagged: bool,
    /// The tier each budget showed on the previous report of this month (shown, not the highest
    /// announced), by budget name, for the hysteresis of the projection and the burn ratio
    /// ([`BudgetBurn::with_previous_tier`]). A budget not in it gets none: it
    /// enters a tier at the threshold itself. Never one budget's tier for another (see
    /// [`ReportSettings::previous_tier_of`]).
    pub previous_tiers: BTreeMap<String, Tier>,
    /// The tier each projection part of a budget showed on the previous report, by budget name
    /// ([`BudgetBurn::with_previous_parts`]); where a budget has an entry it is used instead of its
    /// [`Self::previous_tiers`] one, so each part holds only a tier it entered itself.
    pub previous_parts: BTreeMap<String, TierParts>,
    /// The tier the previous report of this month showed as a whole, for a caller that records no tier
    /// per budget. It names no budget, so it is used only when [`Self::previous_tiers`] is empty and the
    /// report has a single budget (then it is that budget's). It must be the tier *shown*, not the
    /// highest announced in the period (an alert state's): after 100 % fell to 80 %, holding 100 %
    /// would show a 96 % projection at 100 % again. `None`: no hysteresis.
    pub previous_tier: Option<Tier>,
    /// Budgets whose spend never pages ([`BudgetBurn::pages`] false): their platform's seed keeps
    /// pages for outages (the spec's `[[budgets]].billing_alarms = false`).
    pub quiet_budgets: BTreeSet<String>,
}

impl Default for ReportSettings {
    fn default() -> Self {
        Self {
            seed: SeedCostModel::collectiq(),
            anomaly: AnomalyConfig::default(),
            drift_threshold_pct: DEFAULT_DRIFT_THRESHOLD_PCT,
            model_aliases: BTreeMap::new(),
            top_services: 5,
            trend_days: 14,
            include_untagged: true,
            previous_tiers: BTreeMap::new(),
            previous_parts: BTreeMap::new(),
            previous_tier: None,
            quiet_budgets: BTreeSet::new(),
        }
    }
}

impl ReportSettings {
    /// The tier `budget` showed on the previous report, in a report of `budgets` budgets: its entry in
    /// [`Self::previous_tiers`]; without any entries, the report-wide [`Self::previous_tier`] when
    /// `budget` is the report's only one. Otherwise `None`: budget B, never at 100 % and projecting
    /// 96 %, must not hold 100 % because budget A was announced at 150 %.
    ///
    /// ```
    /// use cost::{burn::Tier, report::ReportSettings};
    /// let per_budget = ReportSettings {
    ///     previous_tiers: [("a".to_owned(), Tier::Pct150)].into_iter().collect(),
    ///     ..ReportSettings::default()
    /// };
    /// assert_eq!(per_budget.previous_tier_of("a", 2), Some(Tier::Pct150));
    /// assert_eq!(per_budget.previous_tier_of("b", 2), None);
    /// let report_wide = ReportSettings { previous_tier: Some(Tier::Pct150), ..ReportSettings::default() };
    /// assert_eq!(report_wide.previous_tier_of("a", 1), Some(Tier::Pct150));
    /// assert_eq!(report_wide.previous_tier_of("b", 2), None);
    /// ```
    #[must_use]
    pub fn previous_tier_of(&self, budget: &str, budgets: usize) -> Option<Tier> {
        if self.previous_tiers.is_empty() {
            self.previous_tier.filter(|_| budgets == 1)
        } else {
            self.previous_tiers.get(budget).copied()
        }
    }
}

/// The note for a report without a CE forecast: why (when known) and what the projection used instead,
/// e.g. `Cost Explorer forecast unavailable (the endpoint does not implement GetCostForecast);
/// projection uses linear + trailing-7-day rate`.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rust_decimal::Decimal;
/// let input = cost::burn::BurnInput {
///     budget_name: "prod".into(), limit: Decimal::from(500), actual: Decimal::from(300),
///     budgets_forecast: None, daily: vec![], ce_forecast: None, time_unit: Default::default(),
/// };
/// let burn = cost::burn::budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap()).unwrap();
/// assert_eq!(
///     cost::report::forecast_fallback_note(Some("access denied"), &burn),
///     "Cost Explorer forecast unavailable (access denied); projection uses linear"
/// );
/// ```
#[must_use]
pub fn forecast_fallback_note(reason: Option<&str>, burn: &BudgetBurn) -> String {
    let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    format!(
        "Cost Explorer forecast unavailable{why}; projection uses {}",
        burn.projection_basis()
    )
}

/// The settled-days window for a report on `today`: `[1st of the month of t−2, t−1)`. Yesterday is left
/// out because Cost Explorer lags usage by up to 24 h (a half-booked day would read as a reconciliation
/// drift and a low $/valuation). On the 1st and 2nd this is (most of) the previous month.
///
/// ```
/// use chrono::NaiveDate;
/// let d = |m, n| NaiveDate::from_ymd_opt(2025, m, n).unwrap();
/// assert_eq!(cost::report::settled_window(d(6, 18)), (d(6, 1), d(6, 17)));
/// assert_eq!(cost::report::settled_window(d(7, 2)), (d(6, 1), d(7, 1)));
/// ```
#[must_use]
pub fn settled_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let end = today - Duration::days(1);
    (MonthPeriod::containing(end - Duration::days(1)).start, end)
}

/// The last [`RECENT_UNIT_DAYS`] settled days for a report on `today`: `[t − 8, t − 1)`, ending where
/// [`settled_window`] ends.
///
/// ```
/// use chrono::NaiveDate;
/// let d = |m, n| NaiveDate::from_ymd_opt(2025, m, n).unwrap();
/// assert_eq!(cost::report::recent_window(d(6, 18)), (d(6, 10), d(6, 17)));
/// // Early in a month the window reaches into the previous one.
/// assert_eq!(cost::report::recent_window(d(7, 4)), (d(6, 26), d(7, 3)));
/// ```
#[must_use]
pub fn recent_window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let (_, end) = settled_window(today);
    (end - Duration::days(RECENT_UNIT_DAYS), end)
}

/// Top `n` services by spend over `[start, end)`, with 0-filled daily series.
#[must_use]
pub fn top_service_trends(
    ce: &DailyCostTable,
    start: NaiveDate,
    end: NaiveDate,
    n: usize,
) -> Vec<ServiceTrend> {
    let by_day = ce.by_service_day();
    let mut totals: Vec<(String, Decimal)> = ce.service_totals(start, end).into_iter().collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    totals
        .into_iter()
        .take(n)
        .map(|(service, total)| {
            let series = by_day.get(&service);
            let daily = start
                .iter_days()
                .take_while(|d| *d < end)
                .map(|date| DailyPoint {
                    date,
                    amount: series.and_then(|s| s.get(&date)).copied().unwrap_or_default(),
                })
                .collect();
            ServiceTrend {
                service,
                daily,
                total,
            }
        })
        .collect()
}

/// The most severe first (a budget that pages before one that warns), then the worst tier, then the
/// highest projection, then by name.
fn worst_first(a: &BudgetBurn, b: &BudgetBurn) -> std::cmp::Ordering {
    b.severity()
        .cmp(&a.severity())
        .then_with(|| b.tier.cmp(&a.tier))
        .then_with(|| b.projected_pct.cmp(&a.projected_pct))
        .then_with(|| a.budget_name.cmp(&b.budget_name))
}

/// Sorted by [`worst_first`].
fn sort_worst_first(budgets: &mut [BudgetBurn]) {
    budgets.sort_by(worst_first);
}

/// Builds the report.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use cost::report::{build_report, ReportInputs, ReportSettings};
/// let inputs = ReportInputs {
///     platform: "collectiq".into(), environment: "dev".into(),
///     as_of: Utc.with_ymd_and_hms(2025, 6, 18, 6, 0, 0).unwrap(),
///     cost_and_usage: Default::default(), budgets: vec![], ce_forecast: None, ce_forecast_unavailable: None, metrics: vec![],
///     self_spend: Default::default(), notes: vec![],
/// };
/// let r = build_report(&inputs, &ReportSettings::default(), cost::pricing::PriceTable::bundled().unwrap());
/// assert_eq!(r.tier(), cost::burn::Tier::Ok);
/// assert_eq!(r.window.0.to_string(), "2025-06-01");
/// ```
#[must_use]
pub fn build_report(inputs: &ReportInputs, settings: &ReportSettings, prices: &PriceTable) -> CostReport {
    let today = inputs.as_of.date_naive();
    let (start, end) = settled_window(today);
    let all = &inputs.cost_and_usage;
    let env_table = all.for_environment(&inputs.environment, settings.include_untagged);
    let ce = &env_table;
    let mut notes = inputs.notes.clone();
    let daily = ce.daily_totals();

    let mut budgets = Vec::new();
    for b in &inputs.budgets {
        match BurnInput::from_budget(b, daily.clone(), inputs.ce_forecast.clone())
            .and_then(|i| budget_burn(&i, inputs.as_of))
        {
            Ok(burn) => budgets.push(burn),
            Err(e) => notes.push(format!("budget skipped: {e}")),
        }
    }
    // After all are computed: the report-wide previous tier holds a budget only when it is the only one.
    let count = budgets.len();
    budgets = budgets
        .into_iter()
        .map(|burn| {
            let previous = settings
                .previous_parts
                .get(&burn.budget_name)
                .copied()
                .or_else(|| {
                    settings
                        .previous_tier_of(&burn.budget_name, count)
                        .map(TierParts::both)
                });
            let pages = !settings.quiet_budgets.contains(&burn.budget_name);
            burn.with_previous_parts(previous).paging(pages)
        })
        .collect();
    sort_worst_first(&mut budgets);
    if !budgets.is_empty() {
        if inputs.ce_forecast.is_none() {
            notes.push(forecast_fallback_note(
                inputs.ce_forecast_unavailable.as_deref(),
                &budgets[0],
            ));
        }
        if budgets.iter().any(|b| {
            b.projections
                .recent_rate
                .as_ref()
                .is_some_and(|r| r.includes_estimated)
        }) {
            notes.push("recent rate includes CE-estimated days (lower bound)".to_owned());
        }
        if budgets
            .iter()
            .any(|b| b.projections.basis == BlendBasis::LinearOnlyLowConfidence)
        {
            notes.push("early in the month: projection is linear only, low confidence".to_owned());
        }
    }

    let by_model = bedrock_spend_by_model(prices, &inputs.metrics, start, end, &settings.model_aliases);
    let by_agent = bedrock_spend_by_agent(prices, &inputs.metrics, start, end, &settings.model_aliases);
    let reconciliation = reconcile(
        prices,
        &by_model,
        &by_agent,
        ce,
        start,
        end,
        settings.drift_threshold_pct,
    );
    let n = valuations(&inputs.metrics, start, end);
    let unit = unit_economics(ce, start, end, n, &settings.seed, Some(&by_model), prices);
    let (recent_start, recent_end) = recent_window(today);
    let recent_by_model = bedrock_spend_by_model(
        prices,
        &inputs.metrics,
        recent_start,
        recent_end,
        &settings.model_aliases,
    );
    let unit_recent = unit_economics(
        ce,
        recent_start,
        recent_end,
        valuations(&inputs.metrics, recent_start, recent_end),
        &settings.seed,
        Some(&recent_by_model),
        prices,
    );

    let anomalies = daily_anomalies(ce, today, &settings.anomaly);
    let hygiene = hygiene(all, start, end, prices);
    let trend_start = today - Duration::days(i64::from(settings.trend_days));
    let top_services = top_service_trends(ce, trend_start, today, settings.top_services);
    let ce_estimated = ce.days.range(start..end).any(|(_, e)| *e);

    CostReport {
        platform: inputs.platform.clone(),
        environment: inputs.environment.clone(),
        date: today,
        as_of: inputs.as_of,
        budgets,
        window: (start, end),
        bedrock_by_model: by_model,
        bedrock_by_agent: by_agent,
        reconciliation,
        unit,
        unit_recent: Some(unit_recent),
        anomalies,
        hygiene,
        top_services,
        ce_estimated,
        notes,
        self_spend: inputs.self_spend,
        account: None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Report headlines spell each platform as its seed does.
    #[test]
    fn platform_names_are_spelled_as_their_seeds_spell_them() {
        assert_eq!(display_platform("collectiq"), "CollectIQ");
        assert_eq!(display_platform("budgetbuddy"), "BudgetBuddy");
        assert_eq!(display_platform("backoffice"), "Backoffice");
        assert_eq!(display_platform("ledger-sync"), "Ledger-sync");
        assert_eq!(display_platform(""), "");
    }
    use crate::input::{Amount, CalculatedSpend};
    use crate::pricing::{BEDROCK_NAMESPACE, MODEL_ID_DIMENSION, TokenKind};
    use chrono::TimeZone;
    use rust_decimal_macros::dec;
    use telemetry::catalogue::{Agent, DimensionKey, MetricName, NAMESPACE};

    pub(crate) fn d(m: u32, n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, m, n).unwrap()
    }

    /// A CollectIQ prod month at Sonnet prices, read on June 18 06:00 UTC: 45 days of CE history
    /// (May 4 – June 17, plus a partial June 18), Bedrock tokens, app metrics and one Rekognition spike.
    pub(crate) fn demo_inputs() -> ReportInputs {
        let as_of = Utc.with_ymd_and_hms(2025, 6, 18, 6, 0, 0).unwrap();
        let sonnet_line = "Claude 3.5 Sonnet (Amazon Bedrock Edition)";
        // Daily amounts of a $401/month run rate (30 days): seed 000's table ($11 Lambda, $50
        // Rekognition, $15 DynamoDB, $5 API Gateway, $5 Step Functions, $5 S3, $10 CloudWatch) with
        // Bedrock billed at Sonnet prices ($300 instead of $75).
        let services: [(&str, Decimal); 8] = [
            (sonnet_line, dec!(10)),
            ("Amazon Rekognition", dec!(1.6667)),
            ("AWS Lambda", dec!(0.3667)),
            ("Amazon DynamoDB", dec!(0.5)),
            ("Amazon API Gateway", dec!(0.1667)),
            ("AWS Step Functions", dec!(0.1667)),
            ("Amazon Simple Storage Service", dec!(0.1666)),
            ("AmazonCloudWatch", dec!(0.3333)),
        ];
        let mut ce = DailyCostTable::default();
        let mut day = d(5, 4);
        while day <= d(6, 18) {
            let estimated = day >= d(6, 16);
            let partial = if day == d(6, 18) { dec!(0.25) } else { Decimal::ONE };
            for (service, amount) in services {
                let mut a = amount * partial;
                if service == "Amazon Rekognition" && day == d(6, 17) {
                    a = dec!(12.5); // a reprocessing job gone wrong
                }
                ce = ce.with_row(day, service, a, estimated);
            }
            day = day.succ_opt().unwrap();
        }
        let mtd: Decimal = ce
            .rows
            .iter()
            .filter(|r| r.date >= d(6, 1))
            .map(|r| r.amount)
            .sum();
        let budget = Budget {
            budget_name: "collectiq-prod-monthly".into(),
            budget_type: Some("COST".into()),
            time_unit: Some("MONTHLY".into()),
            budget_limit: Some(Amount::usd(dec!(500))),
            calculated_spend: Some(CalculatedSpend {
                actual_spend: Amount::usd(mtd),
                forecasted_spend: Some(Amount::usd(dec!(410.12))),
            }),
        };
        let ce_forecast = CeForecastInput {
            forecast: serde_json::from_str(
                r#"{"Total":{"Amount":"161.2","Unit":"USD"},"ForecastResultsByTime":[{"TimePeriod":
                {"Start":"2025-06-18","End":"2025-07-01"},"MeanValue":"161.2",
                "PredictionIntervalLowerBound":"140.0","PredictionIntervalUpperBound":"190.5"}]}"#,
            )
            .unwrap(),
            prediction_interval_level: Some(80),
        };
        let sonnet = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
        let mut metrics = Vec::new();
        let mut push = |namespace: &str, name: &str, dims: &[(&str, &str)], per_day: f64| {
            let mut s = MetricSumSeries::new(namespace, name);
            for (k, v) in dims {
                s = s.with_dimension(k, v);
            }
            for n in 1..=17 {
                s = s.with_point(Utc.with_ymd_and_hms(2025, 6, n, 0, 0, 0).unwrap(), per_day);
            }
            metrics.push(s);
        };
        // 1,667 valuations/day × (1,000 in + 200 out) on Sonnet ≈ $10/day.
        push(
            BEDROCK_NAMESPACE,
            TokenKind::Input.bedrock_metric(),
            &[(MODEL_ID_DIMENSION, sonnet)],
            1_666_700.0,
        );
        push(
            BEDROCK_NAMESPACE,
            TokenKind::Output.bedrock_metric(),
            &[(MODEL_ID_DIMENSION, sonnet)],
            333_340.0,
        );
        let svc = DimensionKey::Service.as_str();
        let agent = DimensionKey::Agent.as_str();
        let model = DimensionKey::Model.as_str();
        for (a, share) in [
            (Agent::Authenticity, 0.6),
            (Agent::Pricing, 0.3),
            (Agent::OcrReasoning, 0.1),
        ] {
            let dims = [(svc, "collectiq-valuation"), (agent, a.as_str()), (model, sonnet)];
            push(
                NAMESPACE,
                MetricName::BedrockInputTokens.as_str(),
                &dims,
                1_666_700.0 * share,
            );
            push(
                NAMESPACE,
                MetricName::BedrockOutputTokens.as_str(),
                &dims,
                333_340.0 * share,
            );
        }
        push(
            NAMESPACE,
            MetricName::CardsValued.as_str(),
            &[(svc, "collectiq-aggregator")],
            1667.0,
        );
        ReportInputs {
            platform: "collectiq".into(),
            environment: "prod".into(),
            as_of,
            cost_and_usage: ce,
            budgets: vec![budget],
            ce_forecast: Some(ce_forecast),
            ce_forecast_unavailable: None,
            metrics,
            self_spend: GovernanceSpend {
                ce_requests: 2,
                ce_daily_cap: 5,
                cloudwatch_requests: 1,
                budgets_requests: 1,
            },
            notes: vec![],
        }
    }

    pub(crate) fn demo_report() -> CostReport {
        build_report(
            &demo_inputs(),
            &ReportSettings::default(),
            PriceTable::bundled().unwrap(),
        )
    }

    #[test]
    fn demo_month_report_hand_checked() {
        let r = demo_report();
        assert_eq!(r.date, d(6, 18));
        assert_eq!(r.window, (d(6, 1), d(6, 17)));
        // Prod budget: A = 17 days × 13.3667 + 10.8333 (Rekognition spike) + 0.25 × 13.3667 ≈ 241.41.
        let prod = r
            .budgets
            .iter()
            .find(|b| b.budget_name == "collectiq-prod-monthly")
            .unwrap();
        assert_eq!(prod.actual.round_dp(2), dec!(241.41));
        // f = (17 days + 6 h)/30 = 0.575; E = 287.5.
        assert_eq!(prod.elapsed_fraction, dec!(0.575));
        assert_eq!(prod.expected, dec!(287.5));
        // r = 0.8397; P_lin = 419.86; ṙ = 13.3667 (June 11–15; 16–17 estimated) → P_rec = 411.83;
        // P_ce = 241.41 − 3.34 (June 18 already booked) + 161.2 = 399.27 (378.07–428.57 at 80 %);
        // blended = (0.575 × 419.86 + 411.83 + 399.27)/2.575 = 408.74 → 81.7 % → 80 %.
        assert_eq!(prod.burn_ratio.unwrap().round_dp(4), dec!(0.8397));
        assert_eq!(prod.projections.recent.unwrap().round_dp(2), dec!(411.83));
        let ce = prod.projections.ce.as_ref().unwrap();
        assert_eq!(
            (ce.mean.round_dp(2), ce.lower.unwrap().round_dp(2)),
            (dec!(399.27), dec!(378.07))
        );
        assert_eq!(prod.projections.blended.round_dp(2), dec!(408.74));
        assert_eq!(prod.tier, Tier::Pct80);
        assert_eq!(r.tier(), Tier::Pct80);
        assert_eq!(r.severity(), Severity::Notice);
        // Bedrock by model over the settled June 1–16: 16 × (1,666.7 × 0.003 + 333.34 × 0.015) = 160.0032.
        assert_eq!(r.bedrock_by_model.total, dec!(160.0032));
        // The per-agent split sums to the same (60/30/10).
        let agents: Decimal = r.bedrock_by_agent.iter().map(|a| a.cost).sum();
        assert_eq!(agents.round_dp(2), dec!(160.00));
        assert_eq!(r.bedrock_by_agent[0].agent, "authenticity");
        // Billed 160 vs estimated 160.0032: drift −0.002 %.
        let line = &r.reconciliation.lines[0];
        assert_eq!(line.billed, dec!(160));
        assert!(line.within_threshold);
        // Unit: 16 × 1,667 = 26,672 valuations; 16 × 13.3667 = 213.8672 → $0.0080185 per valuation.
        assert_eq!(r.unit.valuations, 26_672);
        assert_eq!(r.unit.total_cost, dec!(213.8672));
        assert_eq!(r.unit.per_valuation.unwrap().round_dp(7), dec!(0.0080184));
        assert_eq!(r.unit.largest_gap, Some(crate::unit::Component::Bedrock));
        // Everything but Bedrock is at seed 000's per-valuation cost.
        for c in &r.unit.components[1..] {
            assert_eq!(
                c.explanation,
                crate::unit::GapExplanation::InLine,
                "{:?}",
                c.component
            );
        }
        // The last 7 settled days, June 10–16: 7 × 1,667 = 11,669 valuations, 7 × 13.3667 = 93.5669;
        // a steady month, so the same $/valuation as month-to-date.
        let recent = r.unit_recent.as_ref().unwrap();
        assert_eq!((recent.start, recent.end), (d(6, 10), d(6, 17)));
        assert_eq!(recent.valuations, 11_669);
        assert_eq!(recent.total_cost, dec!(93.5669));
        assert_eq!(recent.per_valuation, r.unit.per_valuation);
        assert_eq!(r.agent_metrics_missing(), None);
        // The Rekognition spike on June 17 is a high anomaly.
        assert_eq!(r.anomalies.len(), 1);
        assert_eq!(r.anomalies[0].service, "Amazon Rekognition");
        assert_eq!(r.anomalies[0].date, d(6, 17));
        // Top services: Sonnet first, 14 points each, June 4 – June 17.
        assert_eq!(r.top_services.len(), 5);
        assert_eq!(
            r.top_services[0].service,
            "Claude 3.5 Sonnet (Amazon Bedrock Edition)"
        );
        assert_eq!(r.top_services[0].daily.len(), 14);
        assert_eq!(r.top_services[0].daily[0].date, d(6, 4));
        assert!(r.ce_estimated);
        assert_eq!(r.self_spend.ce_cost(), dec!(0.02));
        assert_eq!(
            r.headline(),
            "CollectIQ prod: $241.41 MTD (48.3% of $500.00) — NOTICE"
        );
    }

    /// Seed 003 ("Severity Levels": critical is service down, data breach, security incident;
    /// "Cost Monitoring": budget alerts at 80 % and 100 %): a quiet budget spent past 150 % is a loud
    /// warning and sends no page; the same budget elsewhere pages.
    #[test]
    fn a_quiet_budget_past_150_percent_warns_and_never_pages() {
        let mut inputs = demo_inputs();
        // The demo month has spent $241.41 by the 18th: a $140 limit is 172 % actual.
        inputs.budgets[0].budget_limit = Some(Amount::usd(dec!(140)));
        let prices = PriceTable::bundled().unwrap();
        let loud = build_report(&inputs, &ReportSettings::default(), prices);
        assert_eq!(loud.budgets[0].actual_tier(), Tier::Pct150);
        assert_eq!(loud.severity(), Severity::Critical);
        assert!(crate::sns::critical_message(&loud).is_some());
        let settings = ReportSettings {
            quiet_budgets: [inputs.budgets[0].budget_name.clone()].into_iter().collect(),
            ..ReportSettings::default()
        };
        let quiet = build_report(&inputs, &settings, prices);
        assert_eq!(quiet.budgets[0].tier, Tier::Pct150, "the tier is still shown");
        assert_eq!(quiet.severity(), Severity::Warning);
        assert!(crate::sns::critical_message(&quiet).is_none());
    }

    #[test]
    fn hysteresis_holds_the_previous_tier_across_runs() {
        // The demo month projects 81.7 % (tier 80 %). Yesterday's 100 % does not hold: 81.7 is more than 5
        // points below 100, a real fall.
        let settings = |previous| ReportSettings {
            previous_tier: previous,
            ..ReportSettings::default()
        };
        let prices = PriceTable::bundled().unwrap();
        let fell = build_report(&demo_inputs(), &settings(Some(Tier::Pct100)), prices);
        assert_eq!(fell.tier(), Tier::Pct80);
        // A budget of $410 puts the same month's projection at 408.74/410 = 99.69 %: raw tier 80 %,
        // held at 100 % when yesterday's report showed 100 %.
        let mut inputs = demo_inputs();
        inputs.budgets[0].budget_limit = Some(Amount::usd(dec!(410)));
        let raw = build_report(&inputs, &settings(None), prices);
        assert_eq!(raw.budgets[0].projected_pct.round_dp(2), dec!(99.69));
        assert_eq!(raw.tier(), Tier::Pct80);
        let held = build_report(&inputs, &settings(Some(Tier::Pct100)), prices);
        assert_eq!(held.tier(), Tier::Pct100);
        assert_eq!(held.severity(), Severity::Warning);
    }

    #[test]
    fn settled_window_skips_yesterday_and_rolls_back_early_in_the_month() {
        assert_eq!(settled_window(d(7, 1)), (d(6, 1), d(6, 30)));
        assert_eq!(settled_window(d(7, 2)), (d(6, 1), d(7, 1)));
        assert_eq!(settled_window(d(7, 3)), (d(7, 1), d(7, 2)));
    }

    #[test]
    fn budgets_without_limit_become_notes() {
        let mut inputs = demo_inputs();
        let mut no_limit = inputs.budgets[0].clone();
        no_limit.budget_limit = None;
        inputs.budgets.push(no_limit);
        inputs.ce_forecast = None;
        let r = build_report(
            &inputs,
            &ReportSettings::default(),
            PriceTable::bundled().unwrap(),
        );
        assert_eq!(r.budgets.len(), 1);
        assert!(r.notes.iter().any(|n| n.contains("budget skipped")));
        assert!(
            r.notes.contains(
                &"Cost Explorer forecast unavailable; projection uses linear + trailing-7-day rate \
                  + Budgets' forecast"
                    .to_owned()
            ),
            "{:?}",
            r.notes
        );
    }

    /// Next to the demo's monthly budget: a quarterly one is computed over Q2 (April 1 – July 1, June 18
    /// 06:00 is 78.25 of 91 days), and a daily and a euro budget are refused by name, never computed as
    /// monthly USD.
    #[test]
    fn budgets_keep_their_own_period_and_currency() {
        let mut inputs = demo_inputs();
        let monthly = inputs.budgets[0].clone();
        let mut quarterly = monthly.clone();
        quarterly.budget_name = "collectiq-prod-quarterly".into();
        quarterly.time_unit = Some("QUARTERLY".into());
        quarterly.budget_limit = Some(Amount::usd(dec!(1500)));
        let mut daily = monthly.clone();
        daily.budget_name = "collectiq-prod-daily".into();
        daily.time_unit = Some("DAILY".into());
        let mut euro = monthly.clone();
        euro.budget_name = "collectiq-prod-eur".into();
        euro.budget_limit = Some(Amount {
            amount: dec!(460),
            unit: "EUR".into(),
        });
        inputs.budgets.extend([quarterly, daily, euro]);
        let r = build_report(
            &inputs,
            &ReportSettings::default(),
            PriceTable::bundled().unwrap(),
        );
        let names: Vec<&str> = r.budgets.iter().map(|b| b.budget_name.as_str()).collect();
        assert_eq!(names, ["collectiq-prod-monthly", "collectiq-prod-quarterly"]);
        let q = &r.budgets[1];
        assert_eq!((q.period.key(), q.period.days()), ("2025-Q2".to_owned(), 91));
        assert_eq!(
            q.elapsed_fraction.round_dp(12),
            (dec!(78.25) / dec!(91)).round_dp(12)
        );
        assert_eq!(q.actual, r.budgets[0].actual, "Budgets' ActualSpend, as given");
        assert!(
            q.projections.ce.is_none(),
            "the month-end CE forecast is not a quarter's"
        );
        for note in [
            "budget skipped: budget \"collectiq-prod-daily\" is DAILY; burn is computed for MONTHLY, QUARTERLY \
             and ANNUALLY budgets only",
            "budget skipped: budget \"collectiq-prod-eur\": its limit is in EUR, not USD; not mixed with the USD \
             figures",
        ] {
            assert!(r.notes.contains(&note.to_owned()), "{note:?} in {:#?}", r.notes);
        }
        // With the quarterly budget the worst, the headline says quarter-to-date.
        inputs.budgets.truncate(2);
        inputs.budgets[1].budget_limit = Some(Amount::usd(dec!(300)));
        let r = build_report(
            &inputs,
            &ReportSettings::default(),
            PriceTable::bundled().unwrap(),
        );
        assert_eq!(r.worst_budget().unwrap().budget_name, "collectiq-prod-quarterly");
        assert!(r.headline().contains(" QTD ("), "{}", r.headline());
    }

    /// The demo month read as a past day: the restated spend is CE's environment total from June 1 to
    /// June 18 (not the Budgets figure it was given), and the report says so.
    #[test]
    fn a_past_day_report_takes_budget_spend_from_cost_explorer_and_says_so() {
        let mut inputs = demo_inputs();
        inputs.budgets[0].calculated_spend = Some(CalculatedSpend {
            actual_spend: Amount::usd(dec!(999)),
            forecasted_spend: Some(Amount::usd(dec!(1200))),
        });
        let report = build_report(
            &inputs,
            &ReportSettings::default(),
            PriceTable::bundled().unwrap(),
        );
        assert_eq!(report.budgets[0].actual, dec!(999));
        let daily = inputs.cost_and_usage.for_environment("prod", true).daily_totals();
        let june_1_to_18: Decimal = daily
            .iter()
            .filter(|t| t.date >= d(6, 1) && t.date <= d(6, 18))
            .map(|t| t.amount)
            .sum();
        let restated = report.with_budget_spend_from_daily(&daily);
        let b = &restated.budgets[0];
        assert_eq!(b.actual, june_1_to_18);
        assert_eq!(b.actual.round_dp(2), dec!(241.41));
        assert_eq!(b.projections.budgets, None);
        assert!(b.projections.ce.is_none());
        assert!(
            restated.notes.iter().any(|n| n.starts_with(
                "2025-06-18 is a past day: budget spend is Cost Explorer's daily cost for prod up to that day"
            )),
            "{:#?}",
            restated.notes
        );
        assert!(restated.headline().starts_with("CollectIQ prod: $241.41 MTD"));
    }

    /// Seed 003 ("Severity Levels": "Critical: Service down, data breach, security incident"): a quiet
    /// budget read on a past day is as quiet as on the day itself. The demo month's June 1–18 ($241.41)
    /// against $151 is 160 % actual: a warning, no page.
    #[test]
    fn a_quiet_budget_on_a_past_day_warns_and_never_pages() {
        let mut inputs = demo_inputs();
        inputs.budgets[0].budget_limit = Some(Amount::usd(dec!(151)));
        let settings = ReportSettings {
            quiet_budgets: [inputs.budgets[0].budget_name.clone()].into_iter().collect(),
            ..ReportSettings::default()
        };
        let daily = inputs.cost_and_usage.for_environment("prod", true).daily_totals();
        let past = build_report(&inputs, &settings, PriceTable::bundled().unwrap())
            .with_budget_spend_from_daily(&daily);
        let b = &past.budgets[0];
        assert!(!b.pages);
        assert_eq!(b.actual_pct.round(), dec!(160));
        assert_eq!(b.actual_tier(), Tier::Pct150);
        assert_eq!(past.severity(), Severity::Warning);
        assert!(
            past.headline().ends_with("(159.9% of $151.00) — WARNING"),
            "{}",
            past.headline()
        );
        assert!(crate::sns::critical_message(&past).is_none());
    }

    /// Two budgets with nothing in common but the report: A was announced at 150 % (its actual spend),
    /// B — $100, projecting 96 % — never reached 100 %. B's tier is 80 %: entering a tier takes the
    /// threshold itself (`PROJECTION_HYSTERESIS_PCT`), and A's tier is not B's.
    #[test]
    fn the_previous_tier_is_each_budget_s_own() {
        // June 18 06:00: f = 0.575. No CE days or forecast: P = (f·P_lin + max(A, ForecastedSpend))/(f + 1).
        let budget = |name: &str, limit, actual, forecast| Budget {
            budget_name: name.into(),
            budget_type: Some("COST".into()),
            time_unit: Some("MONTHLY".into()),
            budget_limit: Some(Amount::usd(limit)),
            calculated_spend: Some(CalculatedSpend {
                actual_spend: Amount::usd(actual),
                forecasted_spend: Some(Amount::usd(forecast)),
            }),
        };
        let inputs = ReportInputs {
            // A: $760 of $500 = 152 % actual. B: $55.20 of $100 → P_lin = 96, forecast 96 → P = 96.
            budgets: vec![
                budget("a", dec!(500), dec!(760), dec!(1300)),
                budget("b", dec!(100), dec!(55.2), dec!(96)),
            ],
            cost_and_usage: DailyCostTable::default(),
            ce_forecast: None,
            metrics: vec![],
            ..demo_inputs()
        };
        let prices = PriceTable::bundled().unwrap();
        let b_of = |r: &CostReport| r.budgets.iter().find(|b| b.budget_name == "b").unwrap().clone();
        let raw = build_report(&inputs, &ReportSettings::default(), prices);
        assert_eq!(b_of(&raw).projected_pct, dec!(96));
        assert_eq!(b_of(&raw).tier, Tier::Pct80);
        // The report-wide tier of the last report (the alert ledger's) names no budget: with two, it
        // holds neither.
        let report_wide = ReportSettings {
            previous_tier: Some(Tier::Pct150),
            ..ReportSettings::default()
        };
        let r = build_report(&inputs, &report_wide, prices);
        assert_eq!(b_of(&r).tier, Tier::Pct80);
        assert_eq!(r.tier(), Tier::Pct150);
        // Per budget: A's 150 % is A's; B, with no previous tier, enters at the threshold: 80 %.
        let per_budget = |b: Option<Tier>| ReportSettings {
            previous_tiers: [("a".to_owned(), Tier::Pct150)]
                .into_iter()
                .chain(b.map(|t| ("b".to_owned(), t)))
                .collect(),
            ..ReportSettings::default()
        };
        let r = build_report(&inputs, &per_budget(None), prices);
        assert_eq!(b_of(&r).tier, Tier::Pct80);
        assert_eq!(r.tier(), Tier::Pct150);
        // B's own 100 % from yesterday holds at 96 % (within 5 points): hysteresis still works per budget.
        let r = build_report(&inputs, &per_budget(Some(Tier::Pct100)), prices);
        assert_eq!(b_of(&r).tier, Tier::Pct100);
    }

    /// cost-anchors §4: "Warning = r ≥ 1.2 or P ≥ 1.2B" — the burn ratio reaches the 120 % tier on its
    /// own, in the report as in the burn, and the report's hysteresis holds it as it holds a projection.
    /// June 18 06:00 is f = 414/720 = 0.575, so $500 expects E = $287.50 spent; Budgets' forecast ($450)
    /// stands in for the missing CE forecast and keeps the blend low.
    #[test]
    fn a_burn_ratio_over_1_2_reaches_the_120_tier_in_the_report() {
        let inputs = |actual| ReportInputs {
            budgets: vec![Budget {
                budget_name: "prod".into(),
                budget_type: Some("COST".into()),
                time_unit: Some("MONTHLY".into()),
                budget_limit: Some(Amount::usd(dec!(500))),
                calculated_spend: Some(CalculatedSpend {
                    actual_spend: Amount::usd(actual),
                    forecasted_spend: Some(Amount::usd(dec!(450))),
                }),
            }],
            cost_and_usage: DailyCostTable::default(),
            ce_forecast: None,
            metrics: vec![],
            ..demo_inputs()
        };
        let settings = |previous: Option<Tier>| ReportSettings {
            previous_tiers: previous.map(|t| ("prod".to_owned(), t)).into_iter().collect(),
            ..ReportSettings::default()
        };
        let prices = PriceTable::bundled().unwrap();
        // $360: r = 360/287.5 = 1.252 (over 1.2); P = (0.575·P_lin + 450)/1.575 = (360 + 450)/1.575
        // = $514.29, 102.9 % (under 120 %). The ratio sets the tier: 120 %, a warning.
        let r = build_report(&inputs(dec!(360)), &settings(None), prices);
        let b = &r.budgets[0];
        assert_eq!(b.burn_ratio.unwrap().round_dp(3), dec!(1.252));
        assert_eq!(b.projected_pct.round_dp(1), dec!(102.9));
        assert_eq!(r.tier(), Tier::Pct120);
        assert_eq!(r.severity(), Severity::Warning);
        // The next day at $340 (r = 1.183, within 5 points below 1.2; P = 100.3 %) the 120 % shown
        // yesterday holds, as a projection's would; entering it afresh takes r over 1.2 itself.
        let held = build_report(&inputs(dec!(340)), &settings(Some(Tier::Pct120)), prices);
        assert_eq!(held.budgets[0].burn_ratio.unwrap().round_dp(3), dec!(1.183));
        assert_eq!(held.tier(), Tier::Pct120);
        let fresh = build_report(&inputs(dec!(340)), &settings(None), prices);
        assert_eq!(fresh.tier(), Tier::Pct100);
        // A real fall (r = 1.113, P = 97.8 %) leaves 120 %; the projection's own band keeps 100 %.
        let fell = build_report(&inputs(dec!(320)), &settings(Some(Tier::Pct120)), prices);
        assert_eq!(fell.budgets[0].projected_pct.round_dp(1), dec!(97.8));
        assert_eq!(fell.tier(), Tier::Pct100);
    }

    #[test]
    fn a_missing_forecast_is_one_note_with_its_reason_and_the_fallback() {
        let mut inputs = demo_inputs();
        let with_forecast = build_report(
            &inputs,
            &ReportSettings::default(),
            PriceTable::bundled().unwrap(),
        );
        assert_eq!(
            with_forecast.budgets[0].projection_basis(),
            "linear + trailing-7-day rate + CE forecast"
        );
        assert!(
            !with_forecast
                .notes
                .iter()
                .any(|n| n.contains("forecast unavailable"))
        );

        inputs.ce_forecast = None;
        inputs.ce_forecast_unavailable = Some("the endpoint does not implement GetCostForecast".into());
        let r = build_report(
            &inputs,
            &ReportSettings::default(),
            PriceTable::bundled().unwrap(),
        );
        let notes: Vec<_> = r.notes.iter().filter(|n| n.contains("forecast")).collect();
        assert_eq!(
            notes,
            [
                "Cost Explorer forecast unavailable (the endpoint does not implement GetCostForecast); \
                 projection uses linear + trailing-7-day rate + Budgets' forecast"
            ]
        );
        assert!(r.budgets[0].projections.ce.is_none());
        assert!(r.budgets[0].projections.budgets_blended);
    }

    #[test]
    fn an_account_s_report_names_its_account_wherever_it_names_the_platform() {
        let single = demo_report();
        let r = demo_report().for_account("123456789012");
        assert!(!single.headline().contains("123456789012"));
        assert_eq!(
            r.headline(),
            single
                .headline()
                .replacen("CollectIQ prod:", "CollectIQ prod (123456789012):", 1)
        );
        let slack = serde_json::to_string(&crate::slack::render(&r)).unwrap();
        assert!(
            slack.contains(&format!("💸 CollectIQ cost — prod (123456789012) — {}", r.date)),
            "{slack}"
        );
        let sns = crate::sns::message(&r);
        assert!(
            sns.subject.contains("CollectIQ prod (123456789012)"),
            "{}",
            sns.subject
        );
        assert!(sns.subject.len() < 100);
        // Saved single-account reports read back as they were written.
        let json = serde_json::to_value(&single).unwrap();
        assert!(json.get("account").is_none());
        let back: CostReport = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
