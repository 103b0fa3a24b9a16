//! Budget burn: period-to-date spend against a budget, projections to the period's end, days until the
//! budget is exhausted, and the alert tier. Formulas: reference `cost-anchors.md` §4, documented in
//! `docs/cost.md`.
//!
//! The period is the budget's own (`DescribeBudgets` `TimeUnit`, [`BudgetTimeUnit`]): the calendar month,
//! quarter or year in UTC, which is where AWS Budgets resets a budget created without a custom start.
//! `DAILY` and `CUSTOM` budgets, budgets that are not `COST` budgets, and any amount that is not in USD
//! are refused by [`BurnInput::from_budget`] with an error naming the budget — never computed as a
//! monthly USD budget. Below, "month" reads "period".
//!
//! With budget `B`, period length `D` days, elapsed fraction `f` (UTC seconds since the period's start /
//! `D`·86 400), and actual period-to-date spend `A`:
//! - expected linear spend `E = B·f`, burn ratio `r = A/E`;
//! - linear projection `P_lin = A/f` (unstable for `f < 0.2`);
//! - recent-rate projection `P_rec = A + ṙ·D·(1 − f)`, `ṙ` = mean of the last 7 *complete* days (today
//!   and `Estimated` days dropped; if fewer than 3 remain, the 7 days before yesterday, estimated ones
//!   included and flagged — yesterday, booked up to 24 h late, never);
//! - CE projection `P_ce = A − (spend already inside the forecast window) + Σ MeanValue`, with the
//!   interval from the bounds when all are present — monthly budgets only: the CE forecast the pass asks
//!   for ends at month end, so for a quarter or a year it would leave months out;
//! - without a CE projection (an organisation run asks for none; Cost Explorer refuses one early in a
//!   month or fails), Budgets' own `ForecastedSpend` takes its place: `P_bud = max(A, ForecastedSpend)`.
//!   It is Cost Explorer's forecast again, made by AWS for the budget's own scope and whole period (so a
//!   quarter's or a year's too), free with `DescribeBudgets`; beside a CE projection it is only reported,
//!   never blended (that would count one forecast twice);
//! - blended `P = Σ wᵢ·Pᵢ / Σ wᵢ` with `w_lin = f` when `f ≥ 0.2` else 0, `w_rec = 1`, `w_ce = 1` (or
//!   `w_bud = 1` in its place) (absent projections weigh 0; with nothing else, `P = P_lin`, flagged
//!   low-confidence);
//! - tier = the highest threshold (80/100/120/150 % of `B`) reached by `max(A, P)`, or 120/150 % by
//!   `r·B` on its own (from `f ≥ 0.2`; cost-anchors §4: "Warning = r ≥ 1.2 or P ≥ 1.2B"); a projected
//!   tier, or one the ratio reached, is left only when `P` (or `r·B`) falls [`PROJECTION_HYSTERESIS_PCT`]
//!   points below its threshold ([`BudgetBurn::with_previous_tier`]), so a projection hovering at 100 %
//!   does not flip the tier daily;
//! - severity (seeds 000/001): only ACTUAL spend pages — `A > 150 %` is critical (seed 000's "Cost > 150% of budget"); a projection, however
//!   high, and actual spend below 150 % are at most a warning (120 %, 100 %) or a notice (80 %, e-mail).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::input::{Budget, CostForecast, DailyTotal, ForecastResult};

/// Below this elapsed fraction the linear projection `A/f` gets no weight in the blend.
pub const LINEAR_MIN_FRACTION: Decimal = Decimal::from_parts(2, 0, 0, false, 1);
/// Days in the trailing recent-rate window.
pub const RECENT_WINDOW_DAYS: i64 = 7;
/// Fewest complete (non-estimated) days the recent rate needs before it falls back to estimated days
/// (those of the [`RECENT_WINDOW_DAYS`] before yesterday: see [`recent_rate`]).
pub const MIN_COMPLETE_DAYS: usize = 3;
/// Percentage points of the budget a projection (or the burn ratio, read as `100·r`) must fall below a
/// tier's threshold before a tier shown on the previous run is left (entering a tier still takes the
/// threshold itself). A day's spend moves a
/// month-end projection by a few points, so 5 keeps a projection at 100.00005 % today and 99.9 %
/// tomorrow in one tier, while a real fall (to 94 %) still shows.
pub const PROJECTION_HYSTERESIS_PCT: Decimal = Decimal::from_parts(5, 0, 0, false, 0);
/// The smallest budget limit a burn is computed against: one cent. AWS Budgets itself asks for more; a
/// limit of `1e-28` would make every percentage of it overflow, and one of `1e-22` shows as `$0.00`
/// beside `1000000000000000000000000000.0%`.
pub const MIN_LIMIT: Decimal = Decimal::from_parts(1, 0, 0, false, 2);
/// Most days ahead an exhaustion date is computed: beyond a million days (2,700 years) at the current
/// rate the budget is as good as never exhausted, and the seconds of `10²⁵` days overflow.
const MAX_EXHAUSTION_DAYS: i64 = 1_000_000;

/// A calendar month in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MonthPeriod {
    /// The 1st of the month.
    pub start: NaiveDate,
    /// The 1st of the next month (exclusive).
    pub end: NaiveDate,
}

impl MonthPeriod {
    /// The month containing `date`.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// let m = cost::burn::MonthPeriod::containing(NaiveDate::from_ymd_opt(2024, 2, 10).unwrap());
    /// assert_eq!(m.days(), 29);
    /// assert_eq!(m.key(), "2024-02");
    /// ```
    #[must_use]
    pub fn containing(date: NaiveDate) -> Self {
        let start = date.with_day(1).unwrap_or(date);
        let end = start.checked_add_months(chrono::Months::new(1)).unwrap_or(start);
        Self { start, end }
    }

    /// Number of days in the month.
    #[must_use]
    pub fn days(&self) -> u32 {
        u32::try_from((self.end - self.start).num_days()).unwrap_or(0)
    }

    /// `YYYY-MM`, the period key the alert ledger uses.
    #[must_use]
    pub fn key(&self) -> String {
        self.start.format("%Y-%m").to_string()
    }

    /// The previous month.
    #[must_use]
    pub fn previous(&self) -> Self {
        Self::containing(self.start - Duration::days(1))
    }

    /// Whether `date` is inside the month.
    #[must_use]
    pub fn contains(&self, date: NaiveDate) -> bool {
        date >= self.start && date < self.end
    }
}

/// How often a budget resets: `DescribeBudgets`' `TimeUnit`, for the units whose burn is computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BudgetTimeUnit {
    /// A calendar month (also a budget that states no `TimeUnit`, as in older saved inputs).
    #[default]
    Monthly,
    /// A calendar quarter (January, April, July, October).
    Quarterly,
    /// A calendar year.
    Annually,
}

impl BudgetTimeUnit {
    /// The unit `DescribeBudgets` names (`MONTHLY`, `QUARTERLY`, `ANNUALLY`; any case). `None` reads as
    /// monthly.
    ///
    /// # Errors
    /// The name as given, for a unit whose burn is not computed (`DAILY`, `CUSTOM`, anything else).
    ///
    /// ```
    /// use cost::burn::BudgetTimeUnit;
    /// assert_eq!(BudgetTimeUnit::from_aws(Some("QUARTERLY")), Ok(BudgetTimeUnit::Quarterly));
    /// assert_eq!(BudgetTimeUnit::from_aws(None), Ok(BudgetTimeUnit::Monthly));
    /// assert_eq!(BudgetTimeUnit::from_aws(Some("DAILY")), Err("DAILY".to_owned()));
    /// ```
    pub fn from_aws(unit: Option<&str>) -> Result<Self, String> {
        match unit.map(str::to_ascii_uppercase).as_deref() {
            None | Some("MONTHLY") => Ok(Self::Monthly),
            Some("QUARTERLY") => Ok(Self::Quarterly),
            Some("ANNUALLY") => Ok(Self::Annually),
            Some(_) => Err(unit.unwrap_or_default().to_owned()),
        }
    }

    /// `MONTHLY`, `QUARTERLY`, `ANNUALLY`.
    #[must_use]
    pub const fn aws_name(self) -> &'static str {
        match self {
            Self::Monthly => "MONTHLY",
            Self::Quarterly => "QUARTERLY",
            Self::Annually => "ANNUALLY",
        }
    }

    /// `month`, `quarter`, `year`.
    #[must_use]
    pub const fn noun(self) -> &'static str {
        match self {
            Self::Monthly => "month",
            Self::Quarterly => "quarter",
            Self::Annually => "year",
        }
    }

    /// `MTD`, `QTD`, `YTD`.
    #[must_use]
    pub const fn to_date_label(self) -> &'static str {
        match self {
            Self::Monthly => "MTD",
            Self::Quarterly => "QTD",
            Self::Annually => "YTD",
        }
    }

    /// Months in one period.
    #[must_use]
    pub const fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Annually => 12,
        }
    }
}

/// A budget's period in UTC: the calendar month, quarter or year containing a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BudgetPeriod {
    /// The first day.
    pub start: NaiveDate,
    /// The first day of the next period (exclusive).
    pub end: NaiveDate,
    /// Month, quarter or year (absent in reports saved before it existed: monthly).
    #[serde(default)]
    pub unit: BudgetTimeUnit,
}

impl BudgetPeriod {
    /// The `unit` period containing `date`.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use cost::burn::{BudgetPeriod, BudgetTimeUnit};
    /// let q = BudgetPeriod::containing(BudgetTimeUnit::Quarterly, NaiveDate::from_ymd_opt(2024, 11, 20).unwrap());
    /// assert_eq!((q.start.to_string(), q.end.to_string()), ("2024-10-01".into(), "2025-01-01".into()));
    /// assert_eq!((q.days(), q.key()), (92, "2024-Q4".to_owned()));
    /// let y = BudgetPeriod::containing(BudgetTimeUnit::Annually, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
    /// assert_eq!((y.days(), y.key()), (366, "2024".to_owned()));
    /// ```
    #[must_use]
    pub fn containing(unit: BudgetTimeUnit, date: NaiveDate) -> Self {
        let first_month = (date.month0() / unit.months()) * unit.months() + 1;
        let start = NaiveDate::from_ymd_opt(date.year(), first_month, 1).unwrap_or(date);
        let end = start
            .checked_add_months(chrono::Months::new(unit.months()))
            .unwrap_or(start);
        Self { start, end, unit }
    }

    /// Number of days in the period.
    #[must_use]
    pub fn days(&self) -> u32 {
        u32::try_from((self.end - self.start).num_days()).unwrap_or(0)
    }

    /// `YYYY-MM`, `YYYY-Qn` or `YYYY`.
    #[must_use]
    pub fn key(&self) -> String {
        match self.unit {
            BudgetTimeUnit::Monthly => self.start.format("%Y-%m").to_string(),
            BudgetTimeUnit::Quarterly => format!("{}-Q{}", self.start.year(), self.start.month0() / 3 + 1),
            BudgetTimeUnit::Annually => self.start.format("%Y").to_string(),
        }
    }

    /// Whether `date` is inside the period.
    #[must_use]
    pub fn contains(&self, date: NaiveDate) -> bool {
        date >= self.start && date < self.end
    }
}

impl From<MonthPeriod> for BudgetPeriod {
    fn from(m: MonthPeriod) -> Self {
        Self {
            start: m.start,
            end: m.end,
            unit: BudgetTimeUnit::Monthly,
        }
    }
}

/// The budget alert tier: the highest threshold reached by `max(actual, blended projection)`, or the
/// 120 % / 150 % tier reached by `r·B` on its own ([`BudgetBurn::ratio_tier`]). [`Tier::reached_by`]
/// says which thresholds are reached at the figure and which only above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Below 80 %.
    Ok,
    /// At or above 80 %.
    Pct80,
    /// At or above 100 %.
    Pct100,
    /// Above 120 % (strictly, as seed 000's "Cost > 120% of budget": exactly 120 % is [`Tier::Pct100`];
    /// the SRE mapping's warning, `r ≥ 1.2` or `P ≥ 1.2B`, read the same way; `r` counts on its own from
    /// [`LINEAR_MIN_FRACTION`] of the period on, since a blend with a slower recent rate can hide it).
    Pct120,
    /// Above 150 % (strictly, as seed 000's "Cost > 150% of budget": exactly 150 % is [`Tier::Pct120`];
    /// the SRE mapping's critical, `r ≥ 1.5` or `P ≥ 1.5B`, read the same way; only actual spend pages).
    Pct150,
}

impl Tier {
    /// All tiers, lowest first.
    pub const ALL: [Self; 5] = [Self::Ok, Self::Pct80, Self::Pct100, Self::Pct120, Self::Pct150];

    /// The threshold in percent of the budget (0 for `Ok`).
    #[must_use]
    pub const fn threshold_pct(self) -> u32 {
        match self {
            Self::Ok => 0,
            Self::Pct80 => 80,
            Self::Pct100 => 100,
            Self::Pct120 => 120,
            Self::Pct150 => 150,
        }
    }

    /// The tier reached by `pct` percent of the budget.
    ///
    /// ```
    /// use cost::burn::Tier;
    /// use rust_decimal::Decimal;
    /// assert_eq!(Tier::from_pct(Decimal::from(80)), Tier::Pct80);
    /// assert_eq!(Tier::from_pct(Decimal::new(7999, 2)), Tier::Ok);
    /// ```
    #[must_use]
    pub fn from_pct(pct: Decimal) -> Self {
        Self::ALL
            .into_iter()
            .rev()
            .find(|t| t.reached_by(pct))
            .unwrap_or(Self::Ok)
    }

    /// Whether `pct` reaches this tier. Seed 000's "Cost > 120% of budget" and "Cost > 150% of budget"
    /// are strict, as the billing alarms on the same figures are (`GreaterThanThreshold`): exactly
    /// 150 % is a warning, not a page. Seed 001's "alert at 80% and 100%" is reached at the figure.
    ///
    /// ```
    /// use cost::burn::Tier;
    /// use rust_decimal::Decimal;
    /// assert!(Tier::Pct100.reached_by(Decimal::from(100)));
    /// assert!(!Tier::Pct150.reached_by(Decimal::from(150)));
    /// assert!(Tier::Pct150.reached_by(Decimal::new(15001, 2)));
    /// assert_eq!(Tier::from_pct(Decimal::from(150)), Tier::Pct120);
    /// ```
    #[must_use]
    pub fn reached_by(self, pct: Decimal) -> bool {
        let threshold = Decimal::from(self.threshold_pct());
        match self {
            Self::Pct120 | Self::Pct150 => pct > threshold,
            Self::Ok | Self::Pct80 | Self::Pct100 => pct >= threshold,
        }
    }

    /// The tier of `pct` when `previous` was the tier shown last time: a tier above the raw one is kept
    /// while `pct` stays within [`PROJECTION_HYSTERESIS_PCT`] points below its threshold. Rising is
    /// never delayed.
    ///
    /// ```
    /// use cost::burn::Tier;
    /// use rust_decimal::Decimal;
    /// let pct = |s: &str| s.parse::<Decimal>().unwrap();
    /// assert_eq!(Tier::from_pct_with_hysteresis(pct("100.00005"), None), Tier::Pct100);
    /// // The next day the projection dips below 100 %: the tier holds.
    /// assert_eq!(Tier::from_pct_with_hysteresis(pct("99.9999"), Some(Tier::Pct100)), Tier::Pct100);
    /// // A real fall leaves it.
    /// assert_eq!(Tier::from_pct_with_hysteresis(pct("94.9"), Some(Tier::Pct100)), Tier::Pct80);
    /// ```
    #[must_use]
    pub fn from_pct_with_hysteresis(pct: Decimal, previous: Option<Self>) -> Self {
        let raw = Self::from_pct(pct);
        let Some(previous) = previous.filter(|p| *p > raw) else {
            return raw;
        };
        Self::ALL
            .into_iter()
            .rev()
            .filter(|t| *t > raw && *t <= previous)
            .find(|t| pct >= Decimal::from(t.threshold_pct()) - PROJECTION_HYSTERESIS_PCT)
            .unwrap_or(raw)
    }

    /// Short label: `OK`, `80%`, ...
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Pct80 => "80%",
            Self::Pct100 => "100%",
            Self::Pct120 => "120%",
            Self::Pct150 => "150%",
        }
    }

    /// How loud this tier is when ACTUAL spend reached it (seeds 000/001: > 150 % pages, > 120 % warns,
    /// 80 % is an e-mail notice). A projected tier is capped at a warning: see [`BudgetBurn::severity`].
    #[must_use]
    pub const fn severity(self) -> Severity {
        match self {
            Self::Ok => Severity::Ok,
            Self::Pct80 => Severity::Notice,
            Self::Pct100 | Self::Pct120 => Severity::Warning,
            Self::Pct150 => Severity::Critical,
        }
    }

    /// Emoji for Slack and the terminal.
    #[must_use]
    pub const fn emoji(self) -> &'static str {
        match self {
            Self::Ok => "✅",
            Self::Pct80 => "🟡",
            Self::Pct100 => "🟠",
            Self::Pct120 => "🔴",
            Self::Pct150 => "🚨",
        }
    }
}

/// How loud a tier is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nothing to say.
    Ok,
    /// Worth a look (80 %): the budget's e-mail notice.
    Notice,
    /// Act this week (100 %, 120 %, or any projected tier): Slack.
    Warning,
    /// Act now: ACTUAL spend above 150 % of the budget. Also goes to SNS (pages on-call).
    Critical,
}

impl Severity {
    /// Upper-case word.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Notice => "NOTICE",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
        }
    }
}

/// A CE forecast as requested: the response plus the `PredictionIntervalLevel` the request used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeForecastInput {
    /// The `GetCostForecast` response (period: today .. month end).
    pub forecast: CostForecast,
    /// The `PredictionIntervalLevel` of the request (51–99), if an interval was asked for.
    pub prediction_interval_level: Option<u8>,
}

/// Everything needed to compute one budget's burn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BurnInput {
    /// Budget name.
    pub budget_name: String,
    /// The budget's period (`TimeUnit`); absent in inputs saved before it existed: monthly.
    #[serde(default)]
    pub time_unit: BudgetTimeUnit,
    /// The limit `B` for one period (USD).
    pub limit: Decimal,
    /// Actual period-to-date spend `A` (USD), from Budgets `CalculatedSpend.ActualSpend` (never a
    /// missing `ActualSpend` read as $0: [`BurnInput::from_budget`] refuses that budget).
    pub actual: Decimal,
    /// Budgets' own `ForecastedSpend`, reported alongside (not blended: it is CE's forecast again).
    pub budgets_forecast: Option<Decimal>,
    /// CE daily totals for the budget's scope: at least the 8 days before today (the recent rate's
    /// fallback ends before yesterday) plus this period so far.
    pub daily: Vec<DailyTotal>,
    /// CE forecast for the rest of the month, when the call succeeded.
    pub ce_forecast: Option<CeForecastInput>,
}

impl BurnInput {
    /// Builds the input from a `DescribeBudgets` budget: a `COST` budget (or one that states no type)
    /// whose amounts are all in USD, reset monthly, quarterly or annually.
    ///
    /// # Errors
    /// [`BurnError::NoLimit`] when the budget has no `BudgetLimit`; [`BurnError::UnsupportedTimeUnit`]
    /// for a `DAILY` or `CUSTOM` budget; [`BurnError::NotCost`] for a usage, RI or Savings Plans
    /// budget; [`BurnError::NotUsd`] when the limit or a spend is in another unit (never mixed with USD);
    /// [`BurnError::NoActualSpend`] when AWS Budgets gave no `ActualSpend` (its spend so far is unknown,
    /// not $0).
    ///
    /// ```
    /// let q: cost::input::Budget = serde_json::from_str(r#"{"BudgetName":"prod-q","TimeUnit":"QUARTERLY",
    ///   "BudgetLimit":{"Amount":"1500","Unit":"USD"},
    ///   "CalculatedSpend":{"ActualSpend":{"Amount":"900","Unit":"USD"}}}"#).unwrap();
    /// let input = cost::burn::BurnInput::from_budget(&q, vec![], None).unwrap();
    /// assert_eq!(input.time_unit, cost::burn::BudgetTimeUnit::Quarterly);
    /// let eur: cost::input::Budget = serde_json::from_str(r#"{"BudgetName":"prod-eur",
    ///   "BudgetLimit":{"Amount":"500","Unit":"EUR"}}"#).unwrap();
    /// let e = cost::burn::BurnInput::from_budget(&eur, vec![], None).unwrap_err();
    /// assert_eq!(e.to_string(), "budget \"prod-eur\": its limit is in EUR, not USD; not mixed with the USD figures");
    /// ```
    ///
    /// ```
    /// let b: cost::input::Budget = serde_json::from_str(r#"{"BudgetName":"prod",
    ///   "BudgetLimit":{"Amount":"500","Unit":"USD"},
    ///   "CalculatedSpend":{"ActualSpend":{"Amount":"250","Unit":"USD"}}}"#).unwrap();
    /// let input = cost::burn::BurnInput::from_budget(&b, vec![], None).unwrap();
    /// assert_eq!(input.actual, rust_decimal::Decimal::from(250));
    /// // No ActualSpend (a budget AWS Budgets has not calculated yet): refused by name, never read as $0.
    /// let new: cost::input::Budget = serde_json::from_str(r#"{"BudgetName":"prod",
    ///   "BudgetLimit":{"Amount":"500","Unit":"USD"}}"#).unwrap();
    /// let e = cost::burn::BurnInput::from_budget(&new, vec![], None).unwrap_err();
    /// assert!(matches!(e, cost::burn::BurnError::NoActualSpend { .. }), "{e}");
    /// ```
    pub fn from_budget(
        budget: &Budget,
        daily: Vec<DailyTotal>,
        ce_forecast: Option<CeForecastInput>,
    ) -> Result<Self, BurnError> {
        let name = || budget.budget_name.clone();
        let time_unit = BudgetTimeUnit::from_aws(budget.time_unit.as_deref()).map_err(|unit| {
            BurnError::UnsupportedTimeUnit {
                budget: name(),
                time_unit: unit,
            }
        })?;
        if let Some(t) = budget
            .budget_type
            .as_deref()
            .filter(|t| !t.eq_ignore_ascii_case("COST"))
        {
            return Err(BurnError::NotCost {
                budget: name(),
                budget_type: t.to_owned(),
            });
        }
        let limit = budget
            .budget_limit
            .as_ref()
            .ok_or_else(|| BurnError::NoLimit { budget: name() })?;
        let spend = budget.calculated_spend.as_ref();
        let amounts = [
            ("limit", Some(limit)),
            ("actual spend", spend.map(|s| &s.actual_spend)),
            ("forecast spend", spend.and_then(|s| s.forecasted_spend.as_ref())),
        ];
        for (what, amount) in amounts {
            if let Some(a) = amount.filter(|a| !a.unit.eq_ignore_ascii_case("USD")) {
                return Err(BurnError::NotUsd {
                    budget: name(),
                    what,
                    unit: a.unit.clone(),
                });
            }
        }
        // No `ActualSpend` is an unknown spend, not $0: a budget read as $0 spent would show on track
        // (and never alert) whatever it really spent.
        let spend = spend.ok_or_else(|| BurnError::NoActualSpend { budget: name() })?;
        let limit = limit.amount;
        Ok(Self {
            budget_name: budget.budget_name.clone(),
            time_unit,
            limit,
            actual: spend.actual_spend.amount,
            budgets_forecast: spend.forecasted_spend.as_ref().map(|a| a.amount),
            daily,
            ce_forecast,
        })
    }
}

/// Errors computing a burn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BurnError {
    /// The budget has no fixed limit.
    #[error("budget {budget:?} has no BudgetLimit")]
    NoLimit {
        /// Budget name.
        budget: String,
    },
    /// The budget resets on a period whose burn is not computed (`DAILY`, `CUSTOM`).
    #[error(
        "budget {budget:?} is {time_unit}; burn is computed for MONTHLY, QUARTERLY and ANNUALLY budgets only"
    )]
    UnsupportedTimeUnit {
        /// Budget name.
        budget: String,
        /// `TimeUnit` as `DescribeBudgets` gave it.
        time_unit: String,
    },
    /// A usage, reservation or Savings Plans budget: its amounts are not dollars spent.
    #[error("budget {budget:?} is a {budget_type} budget, not a COST budget; not mixed with the USD figures")]
    NotCost {
        /// Budget name.
        budget: String,
        /// `BudgetType` as `DescribeBudgets` gave it.
        budget_type: String,
    },
    /// Cost Explorer's days do not cover the budget's period up to the report day.
    #[error(
        "budget {budget:?}: Cost Explorer's daily costs in this run do not cover {period} (first day missing: \
         {first_missing}); its spend on that day cannot be restated"
    )]
    DaysMissing {
        /// Budget name.
        budget: String,
        /// The period's key (`2026-10`, `2026-Q4`, `2026`).
        period: String,
        /// The first day of the period without a Cost Explorer answer.
        first_missing: NaiveDate,
    },
    /// An amount is in a unit other than USD.
    #[error("budget {budget:?}: its {what} is in {unit}, not USD; not mixed with the USD figures")]
    NotUsd {
        /// Budget name.
        budget: String,
        /// `limit`, `actual spend` or `forecast spend`.
        what: &'static str,
        /// The unit given.
        unit: String,
    },
    /// AWS Budgets gave no `ActualSpend` (a budget created since Budgets last calculated its spend, or a
    /// `CalculatedSpend` with a `ForecastedSpend` only): its spend so far is unknown, not $0.
    #[error(
        "budget {budget:?}: AWS Budgets gave no ActualSpend (not calculated yet); its spend so far is unknown, \
         not $0"
    )]
    NoActualSpend {
        /// Budget name.
        budget: String,
    },
    /// An amount is outside ±10¹⁵ USD (guards the arithmetic against overflow).
    #[error("budget {budget:?}: amount {amount} is out of range")]
    AmountOutOfRange {
        /// Budget name.
        budget: String,
        /// The amount.
        amount: Decimal,
    },
    /// The limit is zero or negative.
    #[error("budget {budget:?} has a non-positive limit {limit}")]
    NonPositiveLimit {
        /// Budget name.
        budget: String,
        /// The limit.
        limit: Decimal,
    },
    /// The limit is above zero but below [`MIN_LIMIT`] ($0.01): no percentage of it means anything.
    #[error("budget {budget:?} has a limit of {limit} USD, below $0.01; no burn is computed against it")]
    LimitBelowCent {
        /// Budget name.
        budget: String,
        /// The limit.
        limit: Decimal,
    },
    /// A figure of the burn is beyond what a decimal holds: not computed, never a panic.
    #[error("budget {budget:?}: its {what} cannot be computed (beyond the decimal range)")]
    NotComputable {
        /// Budget name.
        budget: String,
        /// The figure (`actual %`, `projected %`, ...).
        what: &'static str,
    },
}

/// The recent daily rate `ṙ`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentRate {
    /// Mean daily spend over the days used.
    pub per_day: Decimal,
    /// The days used (oldest first).
    pub days_used: Vec<NaiveDate>,
    /// True when fewer than [`MIN_COMPLETE_DAYS`] final days existed and estimated days (before
    /// yesterday) were used.
    pub includes_estimated: bool,
}

/// The CE forecast turned into a month-end projection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeProjection {
    /// Month-end projection from the mean.
    pub mean: Decimal,
    /// Month-end projection from the lower bounds (all periods must carry one).
    pub lower: Option<Decimal>,
    /// Month-end projection from the upper bounds.
    pub upper: Option<Decimal>,
    /// The interval's confidence level in percent.
    pub level: Option<u8>,
}

/// Which projections the blended value rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlendBasis {
    /// A weighted mean of the available projections.
    Weighted,
    /// Early in the month with neither a recent rate nor a CE forecast: only `A/f`, low confidence.
    LinearOnlyLowConfidence,
    /// No time has elapsed and nothing else is known: the projection is the actual spend.
    ActualOnly,
}

/// Month-end projections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projections {
    /// `A/f` (absent when `f = 0`).
    pub linear: Option<Decimal>,
    /// `ṙ`, if any day was usable.
    pub recent_rate: Option<RecentRate>,
    /// `A + ṙ·D·(1 − f)`.
    pub recent: Option<Decimal>,
    /// From the CE forecast.
    pub ce: Option<CeProjection>,
    /// Budgets' own forecast, as reported.
    pub budgets: Option<Decimal>,
    /// Whether Budgets' forecast is in the blend (in the CE projection's place, when there is none).
    #[serde(default)]
    pub budgets_blended: bool,
    /// The blended projection used for the tier.
    pub blended: Decimal,
    /// What the blend rests on.
    pub basis: BlendBasis,
}

/// When the budget runs out at the current rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exhaustion {
    /// Actual spend already reached the limit.
    Exhausted,
    /// Runs out after `days` more days, on `date`.
    InDays {
        /// `(B − A)/rate`.
        days: Decimal,
        /// `as_of + days`, as a UTC date.
        date: NaiveDate,
        /// Whether that date falls inside this month.
        within_period: bool,
        /// The daily rate used (`ṙ`, else the month-to-date average `A/(f·D)`).
        rate_per_day: Decimal,
    },
    /// No spend rate: never at this rate.
    NoSpend,
}

/// One budget's burn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetBurn {
    /// Budget name.
    pub budget_name: String,
    /// The budget's period containing `as_of` (month, quarter or year).
    pub period: BudgetPeriod,
    /// When it was computed.
    pub as_of: DateTime<Utc>,
    /// `B`.
    pub limit: Decimal,
    /// `A`.
    pub actual: Decimal,
    /// `f` in `[0, 1]`.
    pub elapsed_fraction: Decimal,
    /// `E = B·f`.
    pub expected: Decimal,
    /// `r = A/E` (absent when `E = 0`).
    pub burn_ratio: Option<Decimal>,
    /// The projections.
    pub projections: Projections,
    /// Days until exhausted.
    pub exhaustion: Exhaustion,
    /// `100·A/B`.
    pub actual_pct: Decimal,
    /// `100·P/B`.
    pub projected_pct: Decimal,
    /// The highest of the tier actual spend reached, the projected tier and the burn ratio's tier
    /// ([`BudgetBurn::ratio_tier`]); the last two with hysteresis once
    /// [`BudgetBurn::with_previous_tier`] gave it the tier shown last time.
    pub tier: Tier,
    /// Whether 150 % actual spend pages ([`Severity::Critical`]). False where the platform's seed
    /// keeps pages for outages and asks for the budget's own notices only (BudgetBuddy, seed 003:
    /// "Critical: Service down, data breach, security incident"; "Budget Alerts: 80% and 100%"):
    /// then the worst this budget says is a warning. Absent in burns saved before it existed: true.
    #[serde(default = "pages_by_default")]
    pub pages: bool,
    /// The tier each projection part showed after hysteresis ([`BudgetBurn::with_previous_parts`]):
    /// what the next report holds, part by part (the ledger keeps it beside the tier shown). Absent on
    /// a burn no hysteresis was applied to, and in burns saved before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<TierParts>,
}

const fn pages_by_default() -> bool {
    true
}

/// The tiers the two projections of a burn showed, each after its own hysteresis: the blended
/// projection's and the burn ratio's ([`BudgetBurn::ratio_tier`]; `Ok` below 120 %). Kept apart
/// because each part may hold only a tier it entered itself: after the ratio alone put a budget at
/// 120 % while the projection read 94.7 %, a projection of 97 % the next day is in the 80 % tier,
/// not held at 100 % on the strength of the ratio's 120 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierParts {
    /// The blended projection's tier.
    pub projected: Tier,
    /// The burn ratio's tier (`Ok`, `Pct120` or `Pct150`).
    pub ratio: Tier,
}

impl TierParts {
    /// Both parts at `tier`: what a tier recorded without its parts (before they were kept) stands for.
    #[must_use]
    pub const fn both(tier: Tier) -> Self {
        Self {
            projected: tier,
            ratio: tier,
        }
    }
}

impl BudgetBurn {
    /// The tier actual spend alone reached.
    #[must_use]
    pub fn actual_tier(&self) -> Tier {
        Tier::from_pct(self.actual_pct)
    }

    /// Only actual spend pages (seeds 000/001: "Cost > 150% of budget" is critical, "> 120%" a
    /// warning, "Budget 80% → Email"): `Critical` when ACTUAL spend reached 150 %; otherwise the tier's
    /// severity capped at `Warning`, so a projection — which may be wrong on day 1 of a month — warns
    /// but never pages, and 100 % actual is a warning, not a page.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use rust_decimal::Decimal;
    /// use cost::burn::{budget_burn, BurnInput, Severity, Tier};
    /// let burn = |actual: i64, day: u32| {
    ///     let input = BurnInput { budget_name: "prod".into(), limit: Decimal::from(500),
    ///         actual: Decimal::from(actual), budgets_forecast: None, daily: vec![], ce_forecast: None, time_unit: Default::default() };
    ///     budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, day, 12, 0, 0).unwrap()).unwrap()
    /// };
    /// // Day 7, $200 spent: projected ≈ $923 (185 %), tier 150 %, but nothing actual is over: a warning.
    /// assert_eq!(burn(200, 7).tier, Tier::Pct150);
    /// assert_eq!(burn(200, 7).severity(), Severity::Warning);
    /// // 100 % actually spent: a warning. Over 150 % actually spent (seed 000's "> 150%"): critical;
    /// // exactly 150 %: still a warning, as the billing alarm's `GreaterThanThreshold`.
    /// assert_eq!(burn(500, 28).severity(), Severity::Warning);
    /// assert_eq!(burn(750, 28).severity(), Severity::Warning);
    /// assert_eq!(burn(751, 28).severity(), Severity::Critical);
    /// ```
    #[must_use]
    pub fn severity(&self) -> Severity {
        if self.pages && self.actual_tier() == Tier::Pct150 {
            Severity::Critical
        } else {
            self.tier.severity().min(Severity::Warning)
        }
    }

    /// The burn with [`Self::pages`] set: `false` makes 150 % actual spend a warning, not a page.
    #[must_use]
    pub const fn paging(mut self, pages: bool) -> Self {
        self.pages = pages;
        self
    }

    /// The burn with its tier recomputed given the tier THIS budget showed on the previous run of the
    /// same month: the projected part keeps `previous` while the projection stays within
    /// [`PROJECTION_HYSTERESIS_PCT`] points below its threshold, and so does the burn ratio's part
    /// ([`Self::ratio_tier`]) — `r` is `P_lin/B`, a projection, so it wavers about 1.2 as a projection
    /// wavers about 120 %. The actual part needs no hysteresis: month-to-date spend only grows. With
    /// `previous` `None` this is the raw tier [`budget_burn`] gave. Never pass another budget's tier:
    /// from 150 % a projection of 96 % would hold 100 %, a tier this budget never entered.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use rust_decimal::Decimal;
    /// use cost::burn::{budget_burn, BurnInput, Tier};
    /// let burn = |actual: i64| {
    ///     let input = BurnInput { budget_name: "prod".into(), limit: Decimal::from(500),
    ///         actual: Decimal::from(actual), budgets_forecast: Some(Decimal::from(400)), daily: vec![],
    ///         ce_forecast: None, time_unit: Default::default() };
    ///     budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap()).unwrap()
    /// };
    /// // f = 0.5: $310 is r = 1.24 while the blend is (310 + 400)/1.5 = 473.33 (94.7 %).
    /// assert_eq!(burn(310).with_previous_tier(None).tier, Tier::Pct120);
    /// // $295 is r = 1.18: held at 120 % the day after it was shown, not entered afresh.
    /// assert_eq!(burn(295).with_previous_tier(Some(Tier::Pct120)).tier, Tier::Pct120);
    /// assert_eq!(burn(295).with_previous_tier(None).tier, Tier::Pct80);
    /// ```
    #[must_use]
    pub fn with_previous_tier(self, previous: Option<Tier>) -> Self {
        self.with_previous_parts(previous.map(TierParts::both))
    }

    /// [`Self::with_previous_tier`] given the tier each part showed last time ([`Self::parts`] of the
    /// previous report): each part holds only a tier it entered itself.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use rust_decimal::Decimal;
    /// use cost::burn::{budget_burn, BurnInput, Tier, TierParts};
    /// let burn = |actual: i64, forecast: i64| {
    ///     let input = BurnInput { budget_name: "prod".into(), limit: Decimal::from(500),
    ///         actual: Decimal::from(actual), budgets_forecast: Some(Decimal::from(forecast)), daily: vec![],
    ///         ce_forecast: None, time_unit: Default::default() };
    ///     budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap()).unwrap()
    /// };
    /// // Day 1: r = 1.24 puts the budget at 120 %; the projection reads 94.7 %, the 80 % tier.
    /// let day1 = burn(310, 400).with_previous_parts(None);
    /// assert_eq!(day1.tier, Tier::Pct120);
    /// assert_eq!(day1.parts, Some(TierParts { projected: Tier::Pct80, ratio: Tier::Pct120 }));
    /// // Day 2: r = 1.12 (out of the ratio's band), the projection 97.3 %: 80 %, as it never entered 100 %.
    /// assert_eq!(burn(280, 450).with_previous_parts(day1.parts).tier, Tier::Pct80);
    /// // Given only the tier shown, the 120 % would have held the projection at 100 %.
    /// assert_eq!(burn(280, 450).with_previous_tier(Some(day1.tier)).tier, Tier::Pct100);
    /// ```
    #[must_use]
    pub fn with_previous_parts(mut self, previous: Option<TierParts>) -> Self {
        let projected = Tier::from_pct_with_hysteresis(self.projected_pct, previous.map(|p| p.projected));
        let ratio = self.ratio_tier(previous.map(|p| p.ratio));
        self.tier = self.actual_tier().max(projected).max(ratio);
        self.parts = Some(TierParts { projected, ratio });
        self
    }

    /// The tier the burn ratio reaches on its own (the anchors' "Warning = r ≥ 1.2", "critical =
    /// r ≥ 1.5"): 120 % or 150 % when `100·r` is over that threshold, else `Ok` — the 80/100 notices
    /// stay the blend's. `r` counts only from [`LINEAR_MIN_FRACTION`] of the period on, where the linear
    /// projection it equals is trusted. Given the tier shown last time, the ratio keeps it as a
    /// projection does ([`Tier::from_pct_with_hysteresis`]): within [`PROJECTION_HYSTERESIS_PCT`] points
    /// (0.05 of `r`) below its threshold.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use rust_decimal::Decimal;
    /// use cost::burn::{budget_burn, BurnInput, Tier};
    /// let input = |actual| BurnInput { budget_name: "prod".into(), limit: Decimal::from(500), actual,
    ///     budgets_forecast: None, daily: vec![], ce_forecast: None, time_unit: Default::default() };
    /// let june_16 = Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap();
    /// // f = 0.5: $310 is r = 1.24, $290 is r = 1.16 (a notice at most: the blend's to give).
    /// assert_eq!(budget_burn(&input(Decimal::from(310)), june_16).unwrap().ratio_tier(None), Tier::Pct120);
    /// let r_1_16 = budget_burn(&input(Decimal::from(290)), june_16).unwrap();
    /// assert_eq!(r_1_16.ratio_tier(None), Tier::Ok);
    /// assert_eq!(r_1_16.ratio_tier(Some(Tier::Pct120)), Tier::Pct120);
    /// ```
    #[must_use]
    pub fn ratio_tier(&self, previous: Option<Tier>) -> Tier {
        self.burn_ratio
            .filter(|_| self.elapsed_fraction >= LINEAR_MIN_FRACTION)
            .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
            .map(|pct| Tier::from_pct_with_hysteresis(pct, previous))
            .filter(|t| *t >= Tier::Pct120)
            .unwrap_or(Tier::Ok)
    }

    /// The same budget's burn at `as_of`, with the actual spend `A` taken from Cost Explorer's `daily`
    /// totals over the budget's period up to and including `as_of`'s day, instead of AWS Budgets'
    /// `ActualSpend` — which is always the spend *now*, so for a day in the past it would mix in the
    /// days (or months) after it. Budgets' own forecast and the CE forecast (both made now) are dropped;
    /// the limit, the period's unit and whether the budget pages ([`Self::pages`]) are kept: a budget
    /// that never pages (seed 003) does not page for a day in the past either. The tier is the raw one
    /// (no hysteresis: a restated day is never announced, and the tier shown last is the tier shown
    /// *now*, after that day).
    ///
    /// # Errors
    /// [`BurnError::DaysMissing`] when `daily` lacks a day of the period up to `as_of` (a quarter or a
    /// year reaches further back than the days a report reads); the errors of [`budget_burn`].
    ///
    /// ```
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// use rust_decimal::Decimal;
    /// use cost::{burn::{budget_burn, BurnInput}, input::DailyTotal};
    /// let day = |d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
    /// let daily: Vec<_> = (1..=31).map(|d| DailyTotal { date: day(d), amount: Decimal::from(10), estimated: false }).collect();
    /// // Budgets says $600 spent: that is November's spend so far, read in November.
    /// let input = BurnInput { budget_name: "prod".into(), limit: Decimal::from(500), actual: Decimal::from(600),
    ///     budgets_forecast: None, daily: daily.clone(), ce_forecast: None, time_unit: Default::default() };
    /// let oct_20 = Utc.with_ymd_and_hms(2026, 10, 20, 23, 59, 59).unwrap();
    /// let burn = budget_burn(&input, oct_20).unwrap().restated_from_daily(&daily, oct_20).unwrap();
    /// assert_eq!(burn.actual, Decimal::from(200)); // October 1–20 at $10 a day
    /// ```
    pub fn restated_from_daily(&self, daily: &[DailyTotal], as_of: DateTime<Utc>) -> Result<Self, BurnError> {
        let period = BudgetPeriod::containing(self.period.unit, as_of.date_naive());
        let last = as_of.date_naive();
        let known: std::collections::BTreeMap<NaiveDate, Decimal> = daily
            .iter()
            .filter(|d| d.date >= period.start && d.date <= last)
            .map(|d| (d.date, d.amount))
            .collect();
        let wanted = period.start.iter_days().take_while(|d| *d <= last);
        if let Some(missing) = wanted.clone().find(|d| !known.contains_key(d)) {
            return Err(BurnError::DaysMissing {
                budget: self.budget_name.clone(),
                period: period.key(),
                first_missing: missing,
            });
        }
        let actual = checked_sum(wanted.filter_map(|d| known.get(&d).copied())).ok_or_else(|| {
            BurnError::NotComputable {
                budget: self.budget_name.clone(),
                what: "spend from Cost Explorer's days",
            }
        })?;
        let input = BurnInput {
            budget_name: self.budget_name.clone(),
            time_unit: self.period.unit,
            limit: self.limit,
            actual,
            budgets_forecast: None,
            daily: daily.to_vec(),
            ce_forecast: None,
        };
        budget_burn(&input, as_of).map(|burn| burn.paging(self.pages))
    }

    /// What the blended projection rests on, in words: the projections that carry weight, joined by
    /// `+` (`linear + trailing-7-day rate + CE forecast`), `linear only (low confidence)`, or `the actual
    /// spend only`. Linear counts only from [`LINEAR_MIN_FRACTION`] of the month on, as in the blend.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use rust_decimal::Decimal;
    /// let input = cost::burn::BurnInput {
    ///     budget_name: "prod".into(), limit: Decimal::from(500), actual: Decimal::from(300),
    ///     budgets_forecast: None, daily: vec![], ce_forecast: None, time_unit: Default::default(),
    /// };
    /// let at = |d| Utc.with_ymd_and_hms(2025, 6, d, 0, 0, 0).unwrap();
    /// let burn = cost::burn::budget_burn(&input, at(16)).unwrap();
    /// assert_eq!(burn.projection_basis(), "linear");
    /// let early = cost::burn::budget_burn(&input, at(3)).unwrap();
    /// assert_eq!(early.projection_basis(), "linear only (low confidence)");
    /// ```
    #[must_use]
    pub fn projection_basis(&self) -> String {
        match self.projections.basis {
            BlendBasis::ActualOnly => "the actual spend only".to_owned(),
            BlendBasis::LinearOnlyLowConfidence => "linear only (low confidence)".to_owned(),
            BlendBasis::Weighted => {
                let p = &self.projections;
                let linear = p.linear.is_some() && self.elapsed_fraction >= LINEAR_MIN_FRACTION;
                [
                    (linear, "linear"),
                    (p.recent.is_some(), "trailing-7-day rate"),
                    (p.ce.is_some(), "CE forecast"),
                    (p.budgets_blended, "Budgets' forecast"),
                ]
                .into_iter()
                .filter_map(|(used, name)| used.then_some(name))
                .collect::<Vec<_>>()
                .join(" + ")
            }
        }
    }
}

/// Fraction of the period elapsed at `as_of`, in `[0, 1]`.
#[must_use]
pub fn elapsed_fraction(period: &BudgetPeriod, as_of: DateTime<Utc>) -> Decimal {
    let start = period.start.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let secs = (as_of - start)
        .num_seconds()
        .clamp(0, i64::from(period.days()) * 86_400);
    let total = Decimal::from(period.days()) * Decimal::from(86_400);
    Decimal::from(secs).checked_div(total).unwrap_or(Decimal::ZERO)
}

/// The trailing recent rate at `today` (cost-anchors §4: "the trailing 7-day mean of complete days:
/// drop today and any Estimated day"): the final days among the last [`RECENT_WINDOW_DAYS`] before
/// `today`. With fewer than [`MIN_COMPLETE_DAYS`] of them (Cost Explorer marks every day of the open
/// month `Estimated`), every day of the [`RECENT_WINDOW_DAYS`] before *yesterday*, estimated or not,
/// flagged: yesterday, booked up to 24 h late, is only half there.
///
/// ```
/// use chrono::NaiveDate;
/// use cost::input::DailyTotal;
/// let d = |n| NaiveDate::from_ymd_opt(2025, 6, n).unwrap();
/// let daily: Vec<_> = (1..=10).map(|n| DailyTotal { date: d(n), amount: n.into(), estimated: n >= 9 }).collect();
/// let r = cost::burn::recent_rate(&daily, d(10)).unwrap();
/// // days 3..=8 (9 is estimated, 10 is today): (3+4+5+6+7+8)/6 = 5.5
/// assert_eq!(r.per_day, rust_decimal::Decimal::new(55, 1));
/// // All estimated (an open month): days 2..=8, yesterday (9) left out: (2+…+8)/7 = 5.
/// let open: Vec<_> = daily.iter().map(|t| DailyTotal { estimated: true, ..*t }).collect();
/// let r = cost::burn::recent_rate(&open, d(10)).unwrap();
/// assert_eq!((r.per_day, r.includes_estimated), (rust_decimal::Decimal::from(5), true));
/// ```
#[must_use]
pub fn recent_rate(daily: &[DailyTotal], today: NaiveDate) -> Option<RecentRate> {
    let window = |end: NaiveDate| {
        let from = end - Duration::days(RECENT_WINDOW_DAYS);
        let mut days: Vec<&DailyTotal> = daily.iter().filter(|d| d.date >= from && d.date < end).collect();
        days.sort_by_key(|d| d.date);
        days.dedup_by_key(|d| d.date);
        days
    };
    let complete: Vec<&DailyTotal> = window(today).into_iter().filter(|d| !d.estimated).collect();
    let (used, includes_estimated) = if complete.len() >= MIN_COMPLETE_DAYS {
        (complete, false)
    } else {
        // Estimated days, but not yesterday's: Cost Explorer books a day up to 24 h late, so yesterday
        // is half there and would drag the rate down (the report's settled window leaves it out too).
        let settled = window(today - Duration::days(1));
        let any_estimated = settled.iter().any(|d| d.estimated);
        (settled, any_estimated)
    };
    if used.is_empty() {
        return None;
    }
    // Checked: a caller's hostile daily totals give no rate, not a panic.
    let sum = checked_sum(used.iter().map(|d| d.amount))?;
    let per_day = sum.checked_div(Decimal::from(used.len()))?;
    Some(RecentRate {
        per_day,
        days_used: used.iter().map(|d| d.date).collect(),
        includes_estimated,
    })
}

fn ce_projection(input: &BurnInput, today: NaiveDate) -> Option<CeProjection> {
    let ce = input.ce_forecast.as_ref()?;
    let results = &ce.forecast.forecast_results_by_time;
    let (window_start, mean, lower, upper) = if results.is_empty() {
        (today, ce.forecast.total.as_ref()?.amount, None, None)
    } else {
        let start = results.iter().map(|r| r.time_period.start).min().unwrap_or(today);
        let mean = checked_sum(results.iter().map(|r| r.mean_value))?;
        // A bound missing in any period: no interval (as `Option: Sum` gave); an overflow: no projection.
        let bound = |b: fn(&ForecastResult) -> Option<Decimal>| -> Option<Option<Decimal>> {
            match results.iter().map(b).collect::<Option<Vec<_>>>() {
                Some(values) => checked_sum(values).map(Some),
                None => Some(None),
            }
        };
        let lower = bound(|r| r.prediction_interval_lower_bound)?;
        let upper = bound(|r| r.prediction_interval_upper_bound)?;
        (start, mean, lower, upper)
    };
    // CE forecasts from today on; spend already booked inside that window would be counted twice.
    let inside = checked_sum(
        input
            .daily
            .iter()
            .filter(|d| d.date >= window_start)
            .map(|d| d.amount),
    )?;
    let base = input.actual.checked_sub(inside)?.max(Decimal::ZERO);
    let add = |x: Option<Decimal>| x.and_then(|x| base.checked_add(x));
    Some(CeProjection {
        mean: base.checked_add(mean)?,
        lower: add(lower),
        upper: add(upper),
        level: lower.and(upper).and(ce.prediction_interval_level),
    })
}

/// The sum of `amounts`, or `None` when it overflows `Decimal`.
fn checked_sum(amounts: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    amounts
        .into_iter()
        .try_fold(Decimal::ZERO, |sum, a| sum.checked_add(a))
}

/// Computes one budget's burn at `as_of`.
///
/// # Errors
/// [`BurnError::NonPositiveLimit`] when `B ≤ 0`; [`BurnError::LimitBelowCent`] when `0 < B < $0.01`;
/// [`BurnError::AmountOutOfRange`] when an amount exceeds ±10¹⁵ USD; [`BurnError::NotComputable`] when a
/// figure the burn cannot do without (`E`, `100·A/B`, `100·P/B`) overflows. Every other figure that
/// cannot be computed is absent (`None`, [`Exhaustion::NoSpend`]): the arithmetic never panics.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use rust_decimal::Decimal;
/// let input = cost::burn::BurnInput {
///     budget_name: "prod".into(), limit: Decimal::from(500), actual: Decimal::from(310),
///     budgets_forecast: None, daily: vec![], ce_forecast: None, time_unit: Default::default(),
/// };
/// // June 16 00:00 UTC: f = 15/30 = 0.5, E = 250, r = 1.24, P_lin = 620 → 124 % (over "> 120%").
/// let burn = cost::burn::budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap()).unwrap();
/// assert_eq!(burn.burn_ratio, Some(Decimal::new(124, 2)));
/// assert_eq!(burn.tier, cost::burn::Tier::Pct120);
/// ```
pub fn budget_burn(input: &BurnInput, as_of: DateTime<Utc>) -> Result<BudgetBurn, BurnError> {
    if input.limit <= Decimal::ZERO {
        return Err(BurnError::NonPositiveLimit {
            budget: input.budget_name.clone(),
            limit: input.limit,
        });
    }
    if input.limit < MIN_LIMIT {
        return Err(BurnError::LimitBelowCent {
            budget: input.budget_name.clone(),
            limit: input.limit,
        });
    }
    let max = crate::input::MAX_AMOUNT;
    let forecast_amounts = input.ce_forecast.iter().flat_map(|c| {
        c.forecast.forecast_results_by_time.iter().flat_map(|r| {
            [
                Some(r.mean_value),
                r.prediction_interval_lower_bound,
                r.prediction_interval_upper_bound,
            ]
        })
    });
    let amounts = [Some(input.limit), Some(input.actual), input.budgets_forecast]
        .into_iter()
        .chain(input.daily.iter().map(|d| Some(d.amount)))
        .chain(forecast_amounts)
        .chain(
            input
                .ce_forecast
                .iter()
                .map(|c| c.forecast.total.as_ref().map(|t| t.amount)),
        )
        .flatten();
    if let Some(amount) = amounts.into_iter().find(|a| a.abs() > max) {
        return Err(BurnError::AmountOutOfRange {
            budget: input.budget_name.clone(),
            amount,
        });
    }
    let today = as_of.date_naive();
    let period = BudgetPeriod::containing(input.time_unit, today);
    let days = Decimal::from(period.days());
    let f = elapsed_fraction(&period, as_of);
    let b = input.limit;
    let a = input.actual;
    let not_computable = |what| BurnError::NotComputable {
        budget: input.budget_name.clone(),
        what,
    };
    // Checked throughout: the amounts are within ±10¹⁵ and `B ≥ $0.01`, so none of this overflows on a
    // real budget; a figure that would is absent (or refuses the budget), never a panic.
    let expected = b.checked_mul(f).ok_or_else(|| not_computable("expected spend"))?;
    let burn_ratio = a.checked_div(expected);
    let linear = a.checked_div(f);
    let rate = recent_rate(&input.daily, today);
    let remaining_days = days * (Decimal::ONE - f);
    let recent = rate
        .as_ref()
        .and_then(|r| a.checked_add(r.per_day.checked_mul(remaining_days)?));
    // The CE forecast ends at month end: for a quarter or a year it would leave months out.
    let ce = ce_projection(input, today).filter(|_| input.time_unit == BudgetTimeUnit::Monthly);

    // Budgets' forecast in the CE projection's place (never beside it: the same forecast twice). A
    // forecast below what is already spent would project a refund.
    let budgets_in_blend = input.budgets_forecast.filter(|_| ce.is_none()).map(|p| p.max(a));
    // (weight, projection) of each projection in the blend.
    let parts = [
        linear.filter(|_| f >= LINEAR_MIN_FRACTION).map(|p| (f, p)),
        recent.map(|p| (Decimal::ONE, p)),
        ce.as_ref().map(|p| (Decimal::ONE, p.mean)),
        budgets_in_blend.map(|p| (Decimal::ONE, p)),
    ];
    let weights = checked_sum(parts.iter().flatten().map(|(w, _)| *w));
    let weighted = parts
        .iter()
        .flatten()
        .try_fold(Decimal::ZERO, |sum, (w, p)| sum.checked_add(w.checked_mul(*p)?));
    let (blended, basis) = match (weighted.zip(weights).and_then(|(p, w)| p.checked_div(w)), linear) {
        (Some(p), _) => (p, BlendBasis::Weighted),
        (None, Some(p)) => (p, BlendBasis::LinearOnlyLowConfidence),
        (None, None) => (a, BlendBasis::ActualOnly),
    };

    let exhaustion = if a >= b {
        Exhaustion::Exhausted
    } else {
        let rate_per_day = rate
            .as_ref()
            .map(|r| r.per_day)
            .or_else(|| a.checked_div(f.checked_mul(days)?))
            .unwrap_or(Decimal::ZERO);
        match b
            .checked_sub(a)
            .and_then(|left| left.checked_div(rate_per_day))
            .filter(|_| rate_per_day > Decimal::ZERO)
        {
            Some(days_left) => {
                // Clamped before it becomes seconds: $10¹⁵ left at $10⁻¹⁰ a day is 10²⁵ days.
                let bounded = days_left.clamp(Decimal::ZERO, Decimal::from(MAX_EXHAUSTION_DAYS));
                let secs = i64::try_from(bounded.saturating_mul(Decimal::from(86_400)).trunc())
                    .unwrap_or(MAX_EXHAUSTION_DAYS * 86_400);
                let date = as_of
                    .checked_add_signed(Duration::seconds(secs))
                    .map_or(NaiveDate::MAX, |t| t.date_naive());
                Exhaustion::InDays {
                    days: days_left,
                    date,
                    within_period: period.contains(date),
                    rate_per_day,
                }
            }
            None => Exhaustion::NoSpend,
        }
    };

    let pct_of_limit = |x: Decimal| x.checked_mul(Decimal::ONE_HUNDRED)?.checked_div(b);
    let actual_pct = pct_of_limit(a).ok_or_else(|| not_computable("actual %"))?;
    let projected_pct = pct_of_limit(blended).ok_or_else(|| not_computable("projected %"))?;
    let burn = BudgetBurn {
        budget_name: input.budget_name.clone(),
        period,
        as_of,
        limit: b,
        actual: a,
        elapsed_fraction: f,
        expected,
        burn_ratio,
        projections: Projections {
            linear,
            recent_rate: rate,
            recent,
            ce,
            budgets: input.budgets_forecast,
            budgets_blended: budgets_in_blend.is_some(),
            blended,
            basis,
        },
        exhaustion,
        actual_pct,
        projected_pct,
        tier: Tier::Ok,
        pages: true,
        parts: None,
    };
    // The anchors' mapping: "Warning = r ≥ 1.2 or P ≥ 1.2B". `r` is `P_lin/B`, but blended with a
    // slower recent rate it can sit above 1.2 while the blend stays under 120 %: it counts on its own
    // (`BudgetBurn::ratio_tier`). One rule for the raw tier and the report's (with the previous tier),
    // so the report cannot drop what the burn found.
    Ok(burn.with_previous_tier(None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Amount, DateInterval};
    use chrono::TimeZone;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn d(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, n).unwrap()
    }

    fn input(limit: Decimal, actual: Decimal) -> BurnInput {
        BurnInput {
            budget_name: "collectiq-prod".into(),
            time_unit: BudgetTimeUnit::Monthly,
            limit,
            actual,
            budgets_forecast: None,
            daily: vec![],
            ce_forecast: None,
        }
    }

    fn flat_daily(from: u32, to: u32, amount: Decimal, estimated_from: u32) -> Vec<DailyTotal> {
        (from..=to)
            .map(|n| DailyTotal {
                date: d(n),
                amount,
                estimated: n >= estimated_from,
            })
            .collect()
    }

    /// cost-anchors §4: "Warning = r ≥ 1.2 or P ≥ 1.2B". Half-way through June, $310 of $500 is
    /// r = 1.24; a week at $4/day makes the blend (0.5·620 + 370)/1.5 = $453.33, 90.7 %. The ratio alone
    /// reaches the 120 % tier (a warning: only actual spend pages). Before the linear projection is
    /// trusted (f < 0.2) it does not.
    #[test]
    fn a_burn_ratio_over_1_2_warns_even_when_the_blend_is_lower() {
        let mut i = input(dec!(500), dec!(310));
        i.daily = flat_daily(9, 15, dec!(4), 99);
        let at = Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap();
        let burn = budget_burn(&i, at).unwrap();
        assert_eq!(burn.burn_ratio, Some(dec!(1.24)));
        assert_eq!(burn.projections.blended.round_dp(2), dec!(453.33));
        assert_eq!(burn.tier, Tier::Pct120);
        // The report passes every burn through `with_previous_tier`: with no tier shown before, or a
        // lower one, the ratio's tier stays.
        assert_eq!(burn.clone().with_previous_tier(None).tier, Tier::Pct120);
        assert_eq!(
            burn.clone().with_previous_tier(Some(Tier::Pct80)).tier,
            Tier::Pct120
        );
        // Exactly 1.2 is not over seed 000's "> 120%", and below it the blend alone sets the 80/100
        // notices: (0.5·600 + 362) / 1.5 = 441.33, 88 %.
        let mut i = input(dec!(500), dec!(300));
        i.daily = flat_daily(9, 15, dec!(4), 99);
        assert_eq!(budget_burn(&i, at).unwrap().tier, Tier::Pct80);
        // Day 3 of 30 (f = 0.1): $100 is r = 2, early-month noise; the blend (127, 25 %) decides.
        let mut i = input(dec!(500), dec!(100));
        i.daily = flat_daily(1, 2, dec!(1), 99);
        let early = budget_burn(&i, Utc.with_ymd_and_hms(2025, 6, 4, 0, 0, 0).unwrap()).unwrap();
        assert!(early.burn_ratio.unwrap() > dec!(1.5));
        assert!(early.tier < Tier::Pct120, "{:?}", early.tier);
    }

    #[test]
    fn month_period_handles_leap_and_december() {
        let feb = MonthPeriod::containing(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert_eq!(feb.days(), 29);
        let dec_ = MonthPeriod::containing(NaiveDate::from_ymd_opt(2025, 12, 31).unwrap());
        assert_eq!(dec_.end, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        assert_eq!(dec_.previous().key(), "2025-11");
    }

    #[test]
    fn elapsed_fraction_uses_hours() {
        let m: BudgetPeriod = MonthPeriod::containing(d(1)).into();
        // June 4 12:00 → 3.5 days of 30.
        let f = elapsed_fraction(&m, Utc.with_ymd_and_hms(2025, 6, 4, 12, 0, 0).unwrap());
        assert_eq!(f.round_dp(10), (dec!(3.5) / dec!(30)).round_dp(10));
        assert_eq!(
            elapsed_fraction(&m, Utc.with_ymd_and_hms(2025, 5, 31, 0, 0, 0).unwrap()),
            Decimal::ZERO
        );
        assert_eq!(
            elapsed_fraction(&m, Utc.with_ymd_and_hms(2025, 7, 3, 0, 0, 0).unwrap()),
            Decimal::ONE
        );
    }

    #[test]
    fn mid_month_hand_computed() {
        // June 19 00:00: f = 18/30 = 0.6, B = 500, A = 312.40.
        let mut i = input(dec!(500), dec!(312.40));
        // $16/day, day 18 estimated: the window 12..=18 keeps the 6 final days 12..=17, ṙ = 16.
        i.daily = flat_daily(1, 18, dec!(16), 18);
        let burn = budget_burn(&i, Utc.with_ymd_and_hms(2025, 6, 19, 0, 0, 0).unwrap()).unwrap();
        assert_eq!(burn.elapsed_fraction, dec!(0.6));
        assert_eq!(burn.expected, dec!(300));
        // r = 312.40 / 300 = 1.041333…
        assert_eq!(burn.burn_ratio.unwrap().round_dp(4), dec!(1.0413));
        // P_lin = 312.40 / 0.6 = 520.666…
        assert_eq!(burn.projections.linear.unwrap().round_dp(2), dec!(520.67));
        let rate = burn.projections.recent_rate.as_ref().unwrap();
        assert_eq!(rate.per_day, dec!(16));
        assert_eq!(rate.days_used, (12..=17).map(d).collect::<Vec<_>>());
        assert!(!rate.includes_estimated);
        // P_rec = 312.40 + 16 × 12 = 504.40
        assert_eq!(burn.projections.recent, Some(dec!(504.40)));
        // blended = (0.6 × 520.666… + 504.40) / 1.6 = (312.40 + 504.40)/1.6 = 510.50
        assert_eq!(burn.projections.blended.round_dp(2), dec!(510.50));
        assert_eq!(burn.projections.basis, BlendBasis::Weighted);
        // 102.1 % → Tier 100 %.
        assert_eq!(burn.tier, Tier::Pct100);
        assert_eq!(burn.actual_pct.round_dp(2), dec!(62.48));
        // (500 − 312.40)/16 = 11.725 days → June 30 17:24 → date June 30, within June.
        match burn.exhaustion {
            Exhaustion::InDays {
                days,
                date,
                within_period,
                rate_per_day,
            } => {
                assert_eq!(days, dec!(11.725));
                assert_eq!(date, d(30));
                assert!(within_period);
                assert_eq!(rate_per_day, dec!(16));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn recent_rate_drops_today_and_estimated_days() {
        // Days 3..=9 are the window for today = 10; 8 and 9 are estimated → days 3..=7, mean of 3..7 = 5.
        let daily: Vec<DailyTotal> = (1..=10)
            .map(|n| DailyTotal {
                date: d(n),
                amount: n.into(),
                estimated: n >= 8,
            })
            .collect();
        let r = recent_rate(&daily, d(10)).unwrap();
        assert_eq!(r.per_day, dec!(5));
        assert_eq!(r.days_used, vec![d(3), d(4), d(5), d(6), d(7)]);
        assert!(!r.includes_estimated);
    }

    #[test]
    fn recent_rate_falls_back_to_estimated_days_and_flags_it() {
        // All days estimated (as CE reports the current month): use them, flagged — days 1..=3, not
        // yesterday (the 4th), which CE has not finished booking.
        let daily = flat_daily(1, 5, dec!(2), 1);
        let r = recent_rate(&daily, d(5)).unwrap();
        assert_eq!(r.per_day, dec!(2));
        assert_eq!(r.days_used, vec![d(1), d(2), d(3)]);
        assert!(r.includes_estimated);
        assert!(
            recent_rate(&flat_daily(4, 5, dec!(2), 1), d(5)).is_none(),
            "only yesterday, estimated, and today"
        );
        assert!(recent_rate(&[], d(5)).is_none());
        assert!(
            recent_rate(&flat_daily(5, 5, dec!(2), 9), d(5)).is_none(),
            "only today"
        );
    }

    /// cost-anchors §4: "ṙ is the trailing 7-day mean of complete days: drop today and any Estimated
    /// day". In an open month every day is `Estimated`, so the rate falls back to estimated days — but
    /// never to yesterday, which Cost Explorer books up to 24 h late: steady $10 a day with yesterday
    /// half-booked at $5 is a rate of $10, not (6·10 + 5)/7 = $9.29.
    #[test]
    fn the_estimated_fallback_leaves_out_yesterday_s_half_booked_day() {
        let mut daily = flat_daily(1, 9, dec!(10), 1);
        daily.extend(flat_daily(10, 10, dec!(5), 1));
        let r = recent_rate(&daily, d(11)).unwrap();
        assert_eq!(r.per_day, dec!(10));
        assert_eq!(r.days_used, (3..=9).map(d).collect::<Vec<_>>());
        assert!(r.includes_estimated);
        // The projection rests on it: June 11 00:00 is f = 1/3, 20 days left at $10.
        let mut i = input(dec!(500), dec!(95));
        i.daily = daily;
        let burn = budget_burn(&i, Utc.with_ymd_and_hms(2025, 6, 11, 0, 0, 0).unwrap()).unwrap();
        assert_eq!(burn.projections.recent.unwrap().round_dp(9), dec!(295));
        // A final yesterday is a complete day like any other: with three complete days it counts.
        let settled = flat_daily(1, 10, dec!(10), 99);
        assert_eq!(
            recent_rate(&settled, d(11)).unwrap().days_used,
            (4..=10).map(d).collect::<Vec<_>>()
        );
    }

    /// Without a CE forecast (an organisation run, or CE refusing one), Budgets' own forecast takes
    /// its place in the blend, never beside it; it never projects below the actual spend.
    #[test]
    fn budgets_forecast_stands_in_for_a_missing_ce_forecast() {
        let june_16 = Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap();
        // f = 0.5, A = 300: P_lin = 600 at weight 0.5, no recent days.
        let mut i = input(dec!(500), dec!(300));
        assert_eq!(budget_burn(&i, june_16).unwrap().projections.blended, dec!(600));
        i.budgets_forecast = Some(dec!(400));
        let b = budget_burn(&i, june_16).unwrap();
        // (0.5·600 + 400) / 1.5
        assert_eq!(b.projections.blended.round_dp(2), dec!(466.67));
        assert!(b.projections.budgets_blended);
        assert_eq!(b.projection_basis(), "linear + Budgets' forecast");
        assert_eq!(b.tier, Tier::Pct80);
        // Below what is spent it counts as the spend: (0.5·600 + 300) / 1.5.
        i.budgets_forecast = Some(dec!(100));
        assert_eq!(budget_burn(&i, june_16).unwrap().projections.blended, dec!(400));
        // Early in the month (no linear weight) it is the projection on its own, not "low confidence".
        i.budgets_forecast = Some(dec!(520));
        let early = budget_burn(&i, Utc.with_ymd_and_hms(2025, 6, 3, 0, 0, 0).unwrap()).unwrap();
        assert_eq!(early.projections.blended, dec!(520));
        assert_eq!(early.projection_basis(), "Budgets' forecast");
        assert_eq!(early.tier, Tier::Pct100);
        // With a CE forecast it is reported only.
        i.ce_forecast = Some(CeForecastInput {
            forecast: CostForecast {
                total: Some(Amount::usd(dec!(250))),
                forecast_results_by_time: vec![],
            },
            prediction_interval_level: None,
        });
        let with_ce = budget_burn(&i, june_16).unwrap();
        assert!(!with_ce.projections.budgets_blended);
        assert_eq!(with_ce.projections.budgets, Some(dec!(520)));
        assert_eq!(with_ce.projection_basis(), "linear + CE forecast");
        // A quarter takes it too (it covers Budgets' whole period; CE's ends at month end).
        let mut q = input(dec!(1500), dec!(300));
        q.time_unit = BudgetTimeUnit::Quarterly;
        q.budgets_forecast = Some(dec!(1600));
        let quarter = budget_burn(&q, june_16).unwrap();
        assert!(quarter.projections.budgets_blended);
        assert!(quarter.projections.blended > quarter.projections.linear.unwrap());
    }

    #[test]
    fn early_month_leans_on_ce_not_linear() {
        // June 3 12:00: f = 2.5/30 = 0.0833 (< 0.2), A = 40 (a spiky first day).
        let mut i = input(dec!(500), dec!(40));
        i.ce_forecast = Some(CeForecastInput {
            forecast: CostForecast {
                total: Some(Amount::usd(dec!(400))),
                forecast_results_by_time: vec![ForecastResult {
                    time_period: DateInterval {
                        start: d(3),
                        end: d(1) + Duration::days(30),
                    },
                    mean_value: dec!(400),
                    prediction_interval_lower_bound: Some(dec!(350)),
                    prediction_interval_upper_bound: Some(dec!(470)),
                }],
            },
            prediction_interval_level: Some(80),
        });
        // Today (June 3) already has $4 booked, which the CE window covers again.
        i.daily = vec![
            DailyTotal {
                date: d(1),
                amount: dec!(30),
                estimated: true,
            },
            DailyTotal {
                date: d(2),
                amount: dec!(6),
                estimated: true,
            },
            DailyTotal {
                date: d(3),
                amount: dec!(4),
                estimated: true,
            },
        ];
        // The last days of May, at $12, still Estimated (CE has not closed the month yet).
        i.daily.extend((27..=31).map(|n| DailyTotal {
            date: NaiveDate::from_ymd_opt(2025, 5, n).unwrap(),
            amount: dec!(12),
            estimated: true,
        }));
        let burn = budget_burn(&i, Utc.with_ymd_and_hms(2025, 6, 3, 12, 0, 0).unwrap()).unwrap();
        // P_lin = 40 / (2.5/30) = 480: not weighted.
        assert_eq!(burn.projections.linear.unwrap().round_dp(6), dec!(480));
        // ṙ = (5 × 12 + 30)/6 = 15 over May 27 – June 1 (estimated, flagged; yesterday's half-booked $6
        // left out); P_rec = 40 + 15 × 27.5 = 452.5.
        let rate = burn.projections.recent_rate.as_ref().unwrap();
        assert!(rate.includes_estimated);
        assert_eq!((rate.per_day, rate.days_used.len()), (dec!(15), 6));
        assert_eq!(burn.projections.recent.unwrap().round_dp(6), dec!(452.5));
        // P_ce = 40 − 4 + 400 = 436 (interval 386–506 at 80 %).
        let ce = burn.projections.ce.as_ref().unwrap();
        assert_eq!(
            (ce.mean, ce.lower, ce.upper, ce.level),
            (dec!(436), Some(dec!(386)), Some(dec!(506)), Some(80))
        );
        // blended = (452.5 + 436)/2 = 444.25 → 88.85 % → 80 %.
        assert_eq!(burn.projections.blended.round_dp(6), dec!(444.25));
        assert_eq!(burn.tier, Tier::Pct80);
    }

    #[test]
    fn early_month_with_nothing_but_actual_is_low_confidence_linear() {
        let i = input(dec!(50), dec!(2));
        let burn = budget_burn(&i, Utc.with_ymd_and_hms(2025, 6, 2, 0, 0, 0).unwrap()).unwrap();
        // f = 1/30, P_lin = 60 → 120 %.
        assert_eq!(burn.projections.basis, BlendBasis::LinearOnlyLowConfidence);
        assert_eq!(burn.projections.blended.round_dp(6), dec!(60));
        assert_eq!(burn.tier, Tier::Pct120);
        // Exhaustion with no recent rate uses A/(f·D) = 2/day → 24 days.
        match burn.exhaustion {
            Exhaustion::InDays { days, .. } => assert_eq!(days.round_dp(6), dec!(24)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn first_instant_of_month_uses_actual_only() {
        let burn = budget_burn(
            &input(dec!(50), dec!(0)),
            Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap(),
        )
        .unwrap();
        assert_eq!(burn.projections.basis, BlendBasis::ActualOnly);
        assert_eq!(burn.burn_ratio, None);
        assert_eq!(burn.exhaustion, Exhaustion::NoSpend);
        assert_eq!(burn.tier, Tier::Ok);
    }

    #[test]
    fn over_budget_is_exhausted_and_warns_but_only_150_pct_actual_pages() {
        let at = Utc.with_ymd_and_hms(2025, 6, 25, 0, 0, 0).unwrap();
        let burn = budget_burn(&input(dec!(50), dec!(51)), at).unwrap();
        assert_eq!(burn.exhaustion, Exhaustion::Exhausted);
        // Seeds 000/001: 100 % of the budget is an alert, not a page.
        assert_eq!(burn.actual_tier(), Tier::Pct100);
        assert_eq!(burn.severity(), Severity::Warning);
        assert!(burn.tier >= Tier::Pct100);
        // 000 Critical Alarms: "Cost > 150% of budget" — over it, not at it (as the billing alarm).
        let burn = budget_burn(&input(dec!(50), dec!(75.01)), at).unwrap();
        assert_eq!(burn.severity(), Severity::Critical);
        let burn = budget_burn(&input(dec!(50), dec!(75)), at).unwrap();
        assert_eq!(burn.severity(), Severity::Warning);
    }

    #[test]
    fn a_day_one_projection_warns_and_never_pages() {
        // June 1st, 06:00: $10 of $50 spent → linear projection 10 / 0.00833 = $1,200 (2,400 %).
        let burn = budget_burn(
            &input(dec!(50), dec!(10)),
            Utc.with_ymd_and_hms(2025, 6, 1, 6, 0, 0).unwrap(),
        )
        .unwrap();
        assert_eq!(burn.tier, Tier::Pct150);
        assert_eq!(burn.actual_tier(), Tier::Ok);
        assert_eq!(burn.severity(), Severity::Warning);
    }

    #[test]
    fn projected_tier_holds_within_the_hysteresis_band() {
        // Hand-computed: a 30-day June, day 16 00:00 → f = 0.5; limit 500.
        let at = Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap();
        // Day 1 of the pair: A = 250.00025 → P_lin = 500.0005 = 100.0001 % → tier 100 %.
        let day1 = budget_burn(&input(dec!(500), dec!(250.00025)), at).unwrap();
        assert_eq!(day1.projected_pct, dec!(100.0001));
        assert_eq!(day1.tier, Tier::Pct100);
        // Day 2: the projection dips to 99.9 % (A = 249.75): raw tier 80 %, but the previous 100 % holds.
        let day2 = budget_burn(&input(dec!(500), dec!(249.75)), at).unwrap();
        assert_eq!(day2.projected_pct, dec!(99.9));
        assert_eq!(day2.tier, Tier::Pct80);
        assert_eq!(
            day2.clone().with_previous_tier(Some(day1.tier)).tier,
            Tier::Pct100
        );
        // A real fall (to 94 %, A = 235) leaves the tier; so does no previous tier.
        let fell = budget_burn(&input(dec!(500), dec!(235)), at).unwrap();
        assert_eq!(fell.projected_pct, dec!(94));
        assert_eq!(fell.with_previous_tier(Some(Tier::Pct100)).tier, Tier::Pct80);
        assert_eq!(day2.clone().with_previous_tier(None).tier, Tier::Pct80);
        // Rising is not delayed, and a lower previous tier changes nothing.
        assert_eq!(
            day1.clone().with_previous_tier(Some(Tier::Pct80)).tier,
            Tier::Pct100
        );
        // From 150 % a projection at 117 % lands on 120 % (within 5 of it), not on 150 %.
        assert_eq!(
            Tier::from_pct_with_hysteresis(dec!(117), Some(Tier::Pct150)),
            Tier::Pct120
        );
        assert_eq!(
            Tier::from_pct_with_hysteresis(dec!(145.5), Some(Tier::Pct150)),
            Tier::Pct150
        );
        assert_eq!(
            Tier::from_pct_with_hysteresis(dec!(75), Some(Tier::Pct80)),
            Tier::Pct80
        );
        assert_eq!(
            Tier::from_pct_with_hysteresis(dec!(74.99), Some(Tier::Pct80)),
            Tier::Ok
        );
    }

    /// Issue 13: `recent_rate` and the CE projection summed with `sum()`, which panics on overflow;
    /// they are public, so hostile totals give no rate or projection instead.
    #[test]
    fn overflowing_sums_give_none_not_a_panic() {
        let daily: Vec<DailyTotal> = (1..=8)
            .map(|n| DailyTotal {
                date: d(n),
                amount: Decimal::MAX,
                estimated: false,
            })
            .collect();
        assert_eq!(recent_rate(&daily, d(9)), None);
        let mut hostile = input(dec!(500), dec!(1));
        hostile.ce_forecast = Some(CeForecastInput {
            forecast: CostForecast {
                total: None,
                forecast_results_by_time: (10..12)
                    .map(|n| ForecastResult {
                        time_period: DateInterval {
                            start: d(n),
                            end: d(n + 1),
                        },
                        mean_value: Decimal::MAX,
                        prediction_interval_lower_bound: None,
                        prediction_interval_upper_bound: None,
                    })
                    .collect(),
            },
            prediction_interval_level: None,
        });
        assert!(ce_projection(&hostile, d(10)).is_none());
    }

    #[test]
    fn invalid_limits_are_errors() {
        let at = Utc.with_ymd_and_hms(2025, 6, 25, 0, 0, 0).unwrap();
        assert!(matches!(
            budget_burn(&input(dec!(0), dec!(1)), at),
            Err(BurnError::NonPositiveLimit { .. })
        ));
        let mut huge = input(dec!(500), dec!(1));
        huge.daily = vec![DailyTotal {
            date: d(1),
            amount: Decimal::MAX,
            estimated: false,
        }];
        assert!(matches!(
            budget_burn(&huge, at),
            Err(BurnError::AmountOutOfRange { .. })
        ));
        let b = Budget {
            budget_name: "x".into(),
            budget_type: None,
            time_unit: None,
            budget_limit: None,
            calculated_spend: None,
        };
        assert!(matches!(
            BurnInput::from_budget(&b, vec![], None),
            Err(BurnError::NoLimit { .. })
        ));
    }

    /// Audit: a limit of `1e-28` panicked ("Division overflowed" in `100·A/B`) and one of `1e-22`
    /// showed `$0.00` beside `1000000000000000000000000000.0%`. Below a cent the budget is refused by
    /// name, as other bad budgets are.
    #[test]
    fn a_limit_below_a_cent_is_refused_by_name_not_divided_by() {
        let at = Utc.with_ymd_and_hms(2025, 6, 25, 0, 0, 0).unwrap();
        for limit in [dec!(0.0000000000000000000000000001), dec!(1e-22), dec!(0.0099)] {
            let e = budget_burn(&input(limit, dec!(1000)), at).unwrap_err();
            assert_eq!(
                e,
                BurnError::LimitBelowCent {
                    budget: "collectiq-prod".into(),
                    limit
                }
            );
            assert!(
                e.to_string().contains("\"collectiq-prod\"") && e.to_string().contains("below $0.01"),
                "{e}"
            );
        }
        let cent = budget_burn(&input(MIN_LIMIT, dec!(1000)), at).unwrap();
        assert_eq!(cent.actual_pct, dec!(10000000));
    }

    /// Audit: $10¹⁵ left at $10⁻¹⁰ a day is 10²⁵ days, whose seconds panicked ("Multiplication
    /// overflowed"). The days are clamped before they become seconds: the date is far off, not a panic.
    #[test]
    fn an_exhaustion_eons_away_is_a_far_date_not_an_overflow() {
        let at = Utc.with_ymd_and_hms(2025, 6, 25, 0, 0, 0).unwrap();
        let mut slow = input(dec!(1000000000000000), dec!(0.0000000003));
        slow.daily = flat_daily(1, 24, dec!(0.0000000001), 31);
        let burn = budget_burn(&slow, at).unwrap();
        let Exhaustion::InDays {
            days,
            date,
            within_period,
            rate_per_day,
        } = burn.exhaustion
        else {
            panic!("{:?}", burn.exhaustion);
        };
        assert_eq!(rate_per_day, dec!(0.0000000001));
        assert!(days > Decimal::from(MAX_EXHAUSTION_DAYS), "{days}");
        assert!(!within_period);
        assert!(date.year() > 4000, "{date}");
        assert_eq!(burn.tier, Tier::Ok);
    }

    fn aws_budget(json: &str) -> Budget {
        serde_json::from_str(json).unwrap()
    }

    /// A quarterly budget burns over its calendar quarter (AWS Budgets resets QUARTERLY budgets on
    /// January, April, July and October 1st): August 16 00:00 UTC is day 46 of Q3's 92, f = 0.5.
    #[test]
    fn a_quarterly_budget_burns_over_its_quarter() {
        let b = aws_budget(
            r#"{"BudgetName":"prod-q","BudgetType":"COST","TimeUnit":"QUARTERLY",
            "BudgetLimit":{"Amount":"1500","Unit":"USD"},
            "CalculatedSpend":{"ActualSpend":{"Amount":"900","Unit":"USD"}}}"#,
        );
        let ce = CeForecastInput {
            forecast: CostForecast {
                total: Some(Amount::usd(dec!(100))),
                forecast_results_by_time: vec![],
            },
            prediction_interval_level: None,
        };
        let input = BurnInput::from_budget(&b, vec![], Some(ce)).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 8, 16, 0, 0, 0).unwrap();
        let burn = budget_burn(&input, at).unwrap();
        assert_eq!(burn.period.key(), "2026-Q3");
        assert_eq!(
            (burn.period.start, burn.period.end, burn.period.days()),
            (
                NaiveDate::from_ymd_opt(2026, 7, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(),
                92
            )
        );
        // E = 1500 × 0.5 = 750 (a month's reading would say 1500 × 15/31 = 725.81), r = 1.2,
        // P_lin = 900/0.5 = 1800 = 120 % — exactly, so not over seed 000's "> 120%": tier 100.
        assert_eq!(burn.elapsed_fraction, dec!(0.5));
        assert_eq!(burn.expected, dec!(750));
        assert_eq!(burn.burn_ratio, Some(dec!(1.2)));
        assert_eq!(burn.projections.blended, dec!(1800));
        assert_eq!(burn.tier, Tier::Pct100);
        // The CE forecast runs to month end only: it would leave September out of a Q3 projection.
        assert!(burn.projections.ce.is_none());
        let monthly = BurnInput {
            time_unit: BudgetTimeUnit::Monthly,
            ..input
        };
        assert!(budget_burn(&monthly, at).unwrap().projections.ce.is_some());
    }

    /// An annual budget: July 2 12:00 UTC is 182.5 days into 2026's 365, f = 0.5; $7,200 of $12,000 is
    /// on track for 120 % linearly, where a monthly reading (f = 1.5/31) would project thousands of
    /// percent. Budgets' forecast for the year ($14,000) takes the missing CE forecast's place:
    /// (0.5 · 14,400 + 14,000) / 1.5 = 14,133.33 → 117.8 %, tier 100.
    #[test]
    fn an_annual_budget_burns_over_its_year() {
        let b = aws_budget(
            r#"{"BudgetName":"prod-y","TimeUnit":"ANNUALLY",
            "BudgetLimit":{"Amount":"12000.0","Unit":"USD"},
            "CalculatedSpend":{"ActualSpend":{"Amount":"7200","Unit":"USD"},
                               "ForecastedSpend":{"Amount":"14000","Unit":"USD"}}}"#,
        );
        let input = BurnInput::from_budget(&b, vec![], None).unwrap();
        let burn = budget_burn(&input, Utc.with_ymd_and_hms(2026, 7, 2, 12, 0, 0).unwrap()).unwrap();
        assert_eq!((burn.period.key(), burn.period.days()), ("2026".to_owned(), 365));
        assert_eq!(burn.elapsed_fraction, dec!(0.5));
        assert_eq!(burn.expected, dec!(6000));
        assert_eq!(burn.projections.linear, Some(dec!(14400)));
        assert_eq!(burn.projected_pct.round_dp(2), dec!(117.78));
        assert_eq!(burn.tier, Tier::Pct100);
        assert_eq!(burn.projections.budgets, Some(dec!(14000)));
        assert!(burn.projections.budgets_blended);
        // Exhaustion is measured against the year: $4,800 left at $7,200/182.5 days ≈ 121.7 days.
        let Exhaustion::InDays {
            days, within_period, ..
        } = burn.exhaustion
        else {
            panic!("{:?}", burn.exhaustion)
        };
        assert_eq!(days.round_dp(1), dec!(121.7));
        assert!(within_period);
    }

    #[test]
    fn budgets_that_are_not_monthly_quarterly_or_annual_usd_cost_budgets_are_refused_by_name() {
        let refused = |json: &str| BurnInput::from_budget(&aws_budget(json), vec![], None).unwrap_err();
        let daily = refused(
            r#"{"BudgetName":"prod-d","TimeUnit":"DAILY","BudgetLimit":{"Amount":"20","Unit":"USD"}}"#,
        );
        assert_eq!(
            daily.to_string(),
            "budget \"prod-d\" is DAILY; burn is computed for MONTHLY, QUARTERLY and ANNUALLY budgets only"
        );
        let custom =
            refused(r#"{"BudgetName":"c","TimeUnit":"CUSTOM","BudgetLimit":{"Amount":"20","Unit":"USD"}}"#);
        assert!(
            matches!(custom, BurnError::UnsupportedTimeUnit { ref time_unit, .. } if time_unit == "CUSTOM")
        );
        let usage = refused(
            r#"{"BudgetName":"s3-gb","BudgetType":"USAGE","TimeUnit":"MONTHLY",
            "BudgetLimit":{"Amount":"5000","Unit":"GB"}}"#,
        );
        assert_eq!(
            usage.to_string(),
            "budget \"s3-gb\" is a USAGE budget, not a COST budget; not mixed with the USD figures"
        );
        let eur = refused(
            r#"{"BudgetName":"prod-eur","BudgetType":"COST","TimeUnit":"MONTHLY",
            "BudgetLimit":{"Amount":"500","Unit":"EUR"}}"#,
        );
        assert!(matches!(eur, BurnError::NotUsd { what: "limit", ref unit, .. } if unit == "EUR"));
        // A USD limit with spend reported in another unit is not mixed either.
        let spend = refused(
            r#"{"BudgetName":"prod","BudgetLimit":{"Amount":"500","Unit":"USD"},
            "CalculatedSpend":{"ActualSpend":{"Amount":"12","Unit":"EUR"}}}"#,
        );
        assert_eq!(
            spend.to_string(),
            "budget \"prod\": its actual spend is in EUR, not USD; not mixed with the USD figures"
        );
        // The unit's case does not matter; a budget that states no type or unit is a monthly cost budget.
        let ok = aws_budget(
            r#"{"BudgetName":"p","BudgetLimit":{"Amount":"5","Unit":"usd"},
            "CalculatedSpend":{"ActualSpend":{"Amount":"1","Unit":"usd"}}}"#,
        );
        assert_eq!(
            BurnInput::from_budget(&ok, vec![], None).unwrap().time_unit,
            BudgetTimeUnit::Monthly
        );
    }

    /// cost-anchors §2: `ForecastedSpend` is optional — and so, for a budget AWS Budgets has not
    /// calculated yet, is `ActualSpend`. A budget without one is refused by name (the report's
    /// `budget skipped: …` note), never burned as $0 spent; one with both keeps both.
    #[test]
    fn a_budget_without_actual_spend_is_refused_not_read_as_zero() {
        let missing = aws_budget(
            r#"{"BudgetName":"prod-new","BudgetType":"COST","TimeUnit":"MONTHLY",
            "BudgetLimit":{"Amount":"500","Unit":"USD"}}"#,
        );
        let e = BurnInput::from_budget(&missing, flat_daily(1, 10, dec!(30), 11), None).unwrap_err();
        assert_eq!(
            e,
            BurnError::NoActualSpend {
                budget: "prod-new".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "budget \"prod-new\": AWS Budgets gave no ActualSpend (not calculated yet); its spend so far is \
             unknown, not $0"
        );
        // The unit checks still come first: a euro budget is refused as such.
        let eur = aws_budget(r#"{"BudgetName":"e","BudgetLimit":{"Amount":"5","Unit":"EUR"}}"#);
        assert!(matches!(
            BurnInput::from_budget(&eur, vec![], None),
            Err(BurnError::NotUsd { what: "limit", .. })
        ));
        let both = aws_budget(
            r#"{"BudgetName":"prod","BudgetLimit":{"Amount":"500","Unit":"USD"},
            "CalculatedSpend":{"ActualSpend":{"Amount":"250","Unit":"USD"},
                               "ForecastedSpend":{"Amount":"700","Unit":"USD"}}}"#,
        );
        let input = BurnInput::from_budget(&both, vec![], None).unwrap();
        assert_eq!(
            (input.actual, input.budgets_forecast),
            (dec!(250), Some(dec!(700)))
        );
    }

    #[test]
    fn budget_periods_follow_the_calendar() {
        let on = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        for (date, key, start, end) in [
            (on(2026, 1, 1), "2026-Q1", on(2026, 1, 1), on(2026, 4, 1)),
            (on(2026, 3, 31), "2026-Q1", on(2026, 1, 1), on(2026, 4, 1)),
            (on(2026, 6, 30), "2026-Q2", on(2026, 4, 1), on(2026, 7, 1)),
            (on(2026, 12, 31), "2026-Q4", on(2026, 10, 1), on(2027, 1, 1)),
        ] {
            let q = BudgetPeriod::containing(BudgetTimeUnit::Quarterly, date);
            assert_eq!((q.key(), q.start, q.end), (key.to_owned(), start, end), "{date}");
            assert!(q.contains(date) && !q.contains(end));
        }
        let m = BudgetPeriod::containing(BudgetTimeUnit::Monthly, on(2024, 2, 29));
        assert_eq!(m, MonthPeriod::containing(on(2024, 2, 29)).into());
        assert_eq!((m.key(), m.days()), ("2024-02".to_owned(), 29));
    }

    /// A past day restated from CE: Budgets said $600 (the spend now, weeks later); October 1–20 at
    /// $10/day is $200, and the tier follows the restated spend. Budgets' and CE's forecasts (made now)
    /// are dropped.
    #[test]
    fn a_past_day_is_restated_from_cost_explorer_days() {
        let oct = |n| NaiveDate::from_ymd_opt(2026, 10, n).unwrap();
        let daily: Vec<DailyTotal> = (1..=31)
            .map(|n| DailyTotal {
                date: oct(n),
                amount: dec!(10),
                estimated: false,
            })
            .collect();
        let mut i = input(dec!(500), dec!(600));
        i.budgets_forecast = Some(dec!(900));
        i.daily = daily.clone();
        let at = Utc.with_ymd_and_hms(2026, 10, 20, 23, 59, 59).unwrap();
        let stale = budget_burn(&i, at).unwrap();
        assert_eq!(stale.tier, Tier::Pct150);
        let burn = stale.restated_from_daily(&daily, at).unwrap();
        assert_eq!(burn.actual, dec!(200));
        assert_eq!(burn.projections.budgets, None);
        assert_eq!(burn.projections.recent_rate.as_ref().unwrap().per_day, dec!(10));
        // ~ $310 at month end: 62 %, tier OK.
        assert_eq!(burn.tier, Tier::Ok);
        // A quarter reaching before the days read is refused, naming the first missing day.
        let q = BurnInput {
            time_unit: BudgetTimeUnit::Quarterly,
            ..i.clone()
        };
        let e = budget_burn(&q, at)
            .unwrap()
            .restated_from_daily(&daily[5..], at)
            .unwrap_err();
        assert_eq!(
            e,
            BurnError::DaysMissing {
                budget: "collectiq-prod".into(),
                period: "2026-Q4".into(),
                first_missing: oct(1)
            }
        );
    }

    /// Seed 003 ("Severity Levels": "Critical: Service down, data breach, security incident"): a budget
    /// whose spend never pages (`paging(false)`) does not start paging when its past day is restated —
    /// 160 % actually spent on October 20 is a warning there, and a page only where spend pages.
    #[test]
    fn a_restated_day_keeps_the_budgets_paging() {
        let oct = |n| NaiveDate::from_ymd_opt(2026, 10, n).unwrap();
        let daily: Vec<DailyTotal> = (1..=31)
            .map(|n| DailyTotal {
                date: oct(n),
                amount: dec!(10),
                estimated: false,
            })
            .collect();
        // October 1–20 at $10/day = $200 of a $125 budget: 160 % actual.
        let mut i = input(dec!(125), dec!(900));
        i.daily = daily.clone();
        let at = Utc.with_ymd_and_hms(2026, 10, 20, 23, 59, 59).unwrap();
        let burn = budget_burn(&i, at).unwrap();
        let quiet = burn
            .clone()
            .paging(false)
            .restated_from_daily(&daily, at)
            .unwrap();
        assert!(!quiet.pages);
        assert_eq!(quiet.actual_pct, dec!(160));
        assert_eq!(quiet.actual_tier(), Tier::Pct150);
        assert_eq!(quiet.severity(), Severity::Warning);
        let loud = burn.restated_from_daily(&daily, at).unwrap();
        assert!(loud.pages);
        assert_eq!(loud.severity(), Severity::Critical);
    }

    #[test]
    fn tier_thresholds_follow_the_seeds_wording() {
        assert_eq!(Tier::from_pct(dec!(79.999)), Tier::Ok);
        // Seed 001: "alert at 80% and 100%" — at the figure.
        assert_eq!(Tier::from_pct(dec!(80)), Tier::Pct80);
        assert_eq!(Tier::from_pct(dec!(100)), Tier::Pct100);
        // Seed 000: "Cost > 120%", "Cost > 150%" — over the figure.
        assert_eq!(Tier::from_pct(dec!(120)), Tier::Pct100);
        assert_eq!(Tier::from_pct(dec!(120.01)), Tier::Pct120);
        assert_eq!(Tier::from_pct(dec!(150)), Tier::Pct120);
        assert_eq!(Tier::from_pct(dec!(150.01)), Tier::Pct150);
        assert_eq!(Tier::from_pct(dec!(149.99)), Tier::Pct120);
        assert_eq!(Tier::from_pct(dec!(1000)), Tier::Pct150);
        assert_eq!(Tier::from_pct(dec!(-5)), Tier::Ok);
    }

    proptest! {
        #[test]
        fn tier_is_monotone_in_spend(
            limit in 1u32..10_000,
            a_cents in 0u64..2_000_000,
            extra_cents in 0u64..500_000,
            day in 1u32..=30,
            hour in 0u32..24,
            daily_cents in proptest::collection::vec(0u64..50_000, 0..10),
            with_ce in proptest::bool::ANY,
        ) {
            let at = Utc.with_ymd_and_hms(2025, 6, day, hour, 0, 0).unwrap();
            let mut i = input(Decimal::from(limit), Decimal::new(i64::try_from(a_cents).unwrap(), 2));
            i.daily = daily_cents.iter().enumerate().map(|(k, c)| DailyTotal {
                date: at.date_naive() - Duration::days(i64::try_from(k).unwrap() + 1),
                amount: Decimal::new(i64::try_from(*c).unwrap(), 2),
                estimated: k < 2,
            }).collect();
            if with_ce {
                i.ce_forecast = Some(CeForecastInput {
                    forecast: CostForecast { total: Some(Amount::usd(dec!(100))), forecast_results_by_time: vec![] },
                    prediction_interval_level: None,
                });
            }
            let low = budget_burn(&i, at).unwrap();
            i.actual += Decimal::new(i64::try_from(extra_cents).unwrap(), 2);
            let high = budget_burn(&i, at).unwrap();
            prop_assert!(high.tier >= low.tier, "{:?} -> {:?}", low.tier, high.tier);
            prop_assert!(high.projections.blended >= low.projections.blended);
        }

        #[test]
        fn tier_is_monotone_in_daily_rate(
            scale in 1u32..5, base_cents in 1u64..10_000, day in 9u32..=30,
        ) {
            let at = Utc.with_ymd_and_hms(2025, 6, day, 6, 0, 0).unwrap();
            let amount = Decimal::new(i64::try_from(base_cents).unwrap(), 2);
            let mut i = input(dec!(500), amount * Decimal::from(day - 1));
            i.daily = flat_daily(1, day - 1, amount, 99);
            let low = budget_burn(&i, at).unwrap();
            i.daily = flat_daily(1, day - 1, amount * Decimal::from(scale), 99);
            let high = budget_burn(&i, at).unwrap();
            prop_assert!(high.tier >= low.tier);
        }
    }
}
