//! One whole run: the daily cost report ([`run_daily`]) and the hourly Bedrock burn check
//! ([`run_fast_burn`]).
//!
//! Daily, in order: `DescribeBudgets` → `ListMetrics` + one `GetMetricData` batch → the cached CE days
//! from the ledger → one `GetCostAndUsage` (all pages) from the first unsettled day → store the new days
//! → `GetCostForecast` (once a day, cached; skipped on the 1st and 2nd) → [`cost::report::build_report`]
//! → [`cost::alerting::decide`] from the ledger's claims → claim, then post to Slack (and SNS for a
//! critical tier).
//!
//! Every read goes through [`CostReads`], every ledger write through [`LedgerStore`], every send through
//! [`Channels`]: [`PassContext`] holds the three, so the protocol below is tested on in-memory fakes
//! (feature `testing`) as well as against the emulator.
//!
//! **Once per period and channel, at least once.** Each message — Slack's report (with the alert line
//! of a new budget transition), SNS's critical page — is recorded in the ledger as a pending delivery
//! record with its whole payload, in one conditional transaction with the decision's marker, and only
//! then sent; a record is marked sent after its channel accepted it. Every run sends whatever is still
//! pending (a failed send, a process that died), so nothing decided is lost, and a re-run finds the
//! markers and decides nothing new ([`super::notify`], docs/cost-governance.md for each crash window).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use cost::alerting::{AlertDecision, decide};
use cost::anomaly::AnomalyConfig;
use cost::burn::{BudgetPeriod, BudgetTimeUnit, MonthPeriod, Severity};
use cost::fastburn::{FastBurn, FastBurnAlert, fast_burn};
use cost::input::{DailyCostTable, DailyTotal};
use cost::pricing::PriceTable;
use cost::report::{
    CostReport, GovernanceSpend, ReportInputs, ReportSettings, build_report, recent_window, settled_window,
};
#[cfg(test)]
use cost::slack::validate;
use cost::slack::{Block, SlackMessage, TextObject, render_with_decision};
use cost::sns::{SnsMessage, critical_message, subject_safe};
use cost::unit::{Component, SeedCostModel};
use platform_spec::PlatformSpec;
use rust_decimal::Decimal;
use serde::Serialize;

use aws_error::ErrorClass;

use super::counting::{ApiCalls, RequestCounter};
pub use super::notify::Delivery;
use super::notify::{BurnNotice, Channels, DailyNotice, SdkChannels, deliver_daily, deliver_fast_burn};
use super::read::{self, CeQuota, ReadError};
use super::slack::SlackRetry;
use super::source::{self, CostReads, SdkReads};
use super::state::{self, DaySnapshot, ForecastSnapshot, Keys, SNAPSHOT_KEEP};
use crate::aws::AwsClients;
use crate::ledger::delivery::SnsNotification;
use crate::ledger::{self, Ledger, LedgerError, LedgerStore};

/// A run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum CostPassError {
    /// The ledger failed (the table is missing, access denied, ...).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// Cost Explorer could not be read and nothing is cached (the read's failure, classified). A run
    /// that sends has sent the critical budget page first, when Budgets' actual spend called for one.
    #[error("no Cost Explorer data for the report: {0}")]
    NoCostData(ReadError),
    /// A Cost Explorer answer did not have the expected shape.
    #[error("Cost Explorer answer: {0}")]
    Input(#[from] cost::input::InputError),
    /// A read the run cannot do without failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The bundled price table does not load (a build problem).
    #[error("price table: {0}")]
    Prices(String),
    /// Nothing to measure the burn against.
    #[error("the spec has no budgets: the fast burn check needs a monthly allowance")]
    NoAllowance,
}

/// Names of the ledger table, the Slack secret and the critical topic (from the spec; the Lambdas may
/// override them from their environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Targets {
    /// DynamoDB ledger table.
    pub ledger_table: String,
    /// Secrets Manager secret (name or ARN) with the Slack webhook URL.
    pub slack_webhook_secret: String,
    /// SNS topic for critical tiers.
    pub sns_critical_topic_arn: String,
}

impl Targets {
    /// The spec's names.
    #[must_use]
    pub fn from_spec(spec: &PlatformSpec) -> Self {
        Self {
            ledger_table: spec.ledger.table.clone(),
            slack_webhook_secret: spec.notifications.slack_webhook_secret.clone(),
            sns_critical_topic_arn: spec.notifications.sns_critical_topic_arn.clone(),
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct PassOptions {
    /// "Now" for the report (its day is the report day).
    pub as_of: DateTime<Utc>,
    /// Send to Slack/SNS (claiming in the ledger first); otherwise a dry run that only renders.
    pub notify: bool,
    /// Where things go.
    pub targets: Targets,
    /// Slack retry bounds.
    pub slack_retry: SlackRetry,
    /// The report day is over (a past day asked for again): each budget's spend is restated from Cost
    /// Explorer's days up to it — AWS Budgets only knows the spend now, which would mix in later days
    /// and months — no forecast is requested (it would be made from today), nothing is decided and
    /// nothing is sent.
    pub past_day: bool,
    /// The account the report is for, named in its headline and header (an organisation pass, where
    /// several accounts run the same platform environment); `None` in a single-account run.
    pub account: Option<String>,
    /// Notes the caller adds to the report's own (shown in Slack and SNS like them).
    pub notes: Vec<String>,
    /// The untagged spend per day when the caller knows it apart from the rows it hands over (an
    /// organisation pass: Cost Explorer cannot group by account, service and tag at once, so the
    /// account's rows carry the platform's tag and the untagged amount comes from a second query).
    /// Replaces the report's untagged share, which the rows alone would put at 0 %.
    pub untagged_by_day: Option<std::collections::BTreeMap<NaiveDate, Decimal>>,
    /// The real UTC day the run's Cost Explorer requests are counted under against the daily cap (the
    /// day they are billed, whatever day the report is for): the wall clock's day when the options
    /// are made. One value for the whole run, so a run that crosses midnight counts on one day, and a
    /// caller (a test) that reads the counter reads the day the run used.
    pub ce_day: NaiveDate,
}

impl PassOptions {
    /// A dry run for `as_of` with the spec's targets.
    #[must_use]
    pub fn new(spec: &PlatformSpec, as_of: DateTime<Utc>) -> Self {
        Self {
            as_of,
            notify: false,
            targets: Targets::from_spec(spec),
            slack_retry: SlackRetry::default(),
            past_day: false,
            account: None,
            notes: Vec::new(),
            untagged_by_day: None,
            ce_day: Utc::now().date_naive(),
        }
    }

    /// With Cost Explorer requests counted under `day` ([`PassOptions::ce_day`]).
    #[must_use]
    pub fn with_ce_day(mut self, day: NaiveDate) -> Self {
        self.ce_day = day;
        self
    }

    /// For `account` (see [`PassOptions::account`]).
    #[must_use]
    pub fn for_account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// With `note` among the report's notes.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// With notifications on or off.
    #[must_use]
    pub fn with_notify(mut self, notify: bool) -> Self {
        self.notify = notify;
        self
    }

    /// With [`PassOptions::past_day`] set.
    #[must_use]
    pub fn with_past_day(mut self, past_day: bool) -> Self {
        self.past_day = past_day;
        self
    }
}

/// The outcome of the daily run.
#[derive(Debug, Clone, Serialize)]
pub struct DailyRun {
    /// The report.
    pub report: CostReport,
    /// The Slack payload (with the alert line when a transition was decided).
    pub slack: SlackMessage,
    /// The budget alert decision for the period.
    pub decision: AlertDecision,
    /// The SNS message, when the decision is a critical notification.
    pub sns: Option<SnsMessage>,
    /// What was sent.
    pub delivery: Delivery,
    /// This run's AWS requests.
    pub calls: ApiCalls,
    /// Cost Explorer requests counted today (all runs), against the cap.
    pub ce_requests_today: u64,
    /// The CE window asked for (`[start, end)`), when CE was queried.
    pub ce_query: Option<(NaiveDate, NaiveDate)>,
    /// Days answered from the ledger instead of Cost Explorer.
    pub cached_days: usize,
    /// The environment's daily totals (for the burn chart).
    pub daily: Vec<DailyTotal>,
    /// Inputs the report needs that could not be read this run (budgets, metrics, Cost Explorer's
    /// recent days). While any is missing nothing is claimed or sent: the next run completes the report
    /// and sends it once.
    pub missing: Vec<MissingInput>,
}

/// An input the report needs and could not read this run, and why. Serialised as its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MissingInput {
    /// What, with the failure: `budgets (budgets:DescribeBudgets: AccessDeniedException: …)`.
    pub what: String,
    /// The failure's class when an AWS call failed, so a caller can say *why* without parsing `what`
    /// (the organisation pass names it per member account).
    #[serde(skip)]
    pub class: Option<ErrorClass>,
}

impl MissingInput {
    /// `what` could not be read because of `error`.
    fn read(what: &str, error: &ReadError) -> Self {
        Self {
            what: format!("{what} ({error})"),
            class: error.class(),
        }
    }
}

impl std::fmt::Display for MissingInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

impl DailyRun {
    /// The budget-burn chart of the worst budget, in `format`: the bytes of the file.
    ///
    /// # Errors
    /// When there is no budget or plotting fails.
    pub fn chart(
        &self,
        format: cost::chart::ChartFormat,
        width: u32,
        height: u32,
    ) -> Result<Vec<u8>, String> {
        let burn = self
            .report
            .worst_budget()
            .ok_or_else(|| "no budget to chart".to_owned())?;
        cost::chart::burn_chart(burn, &self.daily, width, height, format).map_err(|e| e.to_string())
    }
}

/// Report settings from the spec: `[cost]` (anomaly floor, drift threshold, design model with its
/// tokens per valuation), the `[[bedrock_models]] aliases` and which budgets never page.
#[must_use]
pub fn report_settings(spec: &PlatformSpec) -> ReportSettings {
    let mut s = ReportSettings {
        anomaly: AnomalyConfig::with_floor(spec.cost.anomaly_min_daily_usd),
        drift_threshold_pct: Decimal::from(spec.cost.reconciliation_drift_percent),
        model_aliases: spec.model_aliases(),
        // Where the spec turns the 120/150 % billing alarms off, the seed keeps pages for outages:
        // the report's 150 % is a warning there too (seed 003 "Severity Levels").
        quiet_budgets: spec
            .budgets
            .iter()
            .filter(|b| !b.billing_alarms)
            .map(|b| b.name.clone())
            .collect(),
        ..ReportSettings::default()
    };
    // Without a design model the platform does not value cards (Backoffice, BudgetBuddy): no seed to
    // compare with, rather than CollectIQ's table.
    s.seed = spec
        .cost
        .design_model
        .as_ref()
        .map_or_else(SeedCostModel::none, seed_model);
    s
}

/// Most of CollectIQ's own token and volume series one report reads (a normal platform has a few dozen:
/// agents × models × token kinds). Every backend function may put metrics into the namespace, so a label
/// with unbounded values (a request id as `model`) would otherwise make each run read — and pay for —
/// thousands of series.
pub const MAX_APP_SERIES: usize = 1_000;

/// Keeps at most [`MAX_APP_SERIES`] of CollectIQ's series and says so in `notes` when there were more.
/// AWS's series are all kept, and so are the valuation count and the tokens of the spec's own models
/// (ids and aliases): a flood of junk labels cuts only junk, never what the report is about.
fn cap_app_series(series: &mut Vec<read::SeriesKey>, spec: &PlatformSpec, notes: &mut Vec<String>) {
    let ns = telemetry::catalogue::NAMESPACE;
    let app = series.iter().filter(|s| s.namespace == ns).count();
    if app <= MAX_APP_SERIES {
        return;
    }
    let known: std::collections::BTreeSet<&str> = spec
        .bedrock_models
        .iter()
        .flat_map(|m| std::iter::once(m.id.trim()).chain(m.aliases.iter().map(|a| a.trim())))
        .collect();
    let model = telemetry::catalogue::DimensionKey::Model.as_str();
    let essential = |s: &read::SeriesKey| {
        s.metric_name == telemetry::catalogue::MetricName::CardsValued.as_str()
            || s.dimensions
                .iter()
                .any(|(k, v)| k == model && known.contains(v.as_str()))
    };
    let mut room = MAX_APP_SERIES.saturating_sub(
        series
            .iter()
            .filter(|s| s.namespace == ns && essential(s))
            .count(),
    );
    series.retain(|s| {
        if s.namespace != ns || essential(s) {
            return true;
        }
        let keep = room > 0;
        room = room.saturating_sub(1);
        keep
    });
    notes.push(format!(
        "{app} token and volume series found in {ns}; {} were read — the valuation count and the spec's \
         models first (a label with unbounded values?): spend per agent may be under-counted",
        series.iter().filter(|s| s.namespace == ns).count()
    ));
}

/// The spec's design cost model as a [`SeedCostModel`]. Component keys are the component labels in
/// snake case (`bedrock`, `api_gateway`, `dynamodb`, ...); unknown keys count as `Other`. Tokens per
/// valuation come from `tokens_per_valuation`, absent when the design does not state them.
#[must_use]
pub fn seed_model(model: &platform_spec::DesignCostModel) -> SeedCostModel {
    let mut monthly: BTreeMap<Component, Decimal> = BTreeMap::new();
    for (key, usd) in &model.components_usd {
        let component = Component::ALL
            .into_iter()
            .find(|c| c.label().to_ascii_lowercase().replace(' ', "_") == key.to_ascii_lowercase())
            .unwrap_or(Component::Other);
        *monthly.entry(component).or_default() += *usd;
    }
    SeedCostModel {
        valuations_per_month: model.valuations_per_month,
        monthly,
        bedrock_tokens_per_valuation: model.tokens_per_valuation.map(|t| (t.input, t.output)),
    }
}

/// The period the budget alert is decided and claimed in (`…#cost-alert#<key>`): the budgets' own when
/// they share one unit — a quarterly budget's tier fires once a quarter (`2026-Q4`), not again each
/// month — else the month (a spec mixing units alerts on the worst budget's tier each month).
///
/// ```
/// use chrono::NaiveDate;
/// use governance::cost_pass::alert_period;
/// let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
/// let budget = |unit: &str| cost::input::Budget {
///     budget_name: "b".into(),
///     budget_type: Some("COST".into()),
///     time_unit: Some(unit.into()),
///     budget_limit: None,
///     calculated_spend: None,
/// };
/// assert_eq!(alert_period(&[budget("QUARTERLY")], day).key(), "2026-Q4");
/// assert_eq!(alert_period(&[budget("MONTHLY")], day).key(), "2026-11");
/// assert_eq!(alert_period(&[budget("MONTHLY"), budget("QUARTERLY")], day).key(), "2026-11");
/// assert_eq!(alert_period(&[], day).key(), "2026-11");
/// ```
#[must_use]
pub fn alert_period(budgets: &[cost::input::Budget], today: NaiveDate) -> BudgetPeriod {
    let units: std::collections::BTreeSet<BudgetTimeUnit> = budgets
        .iter()
        .filter_map(|b| BudgetTimeUnit::from_aws(b.time_unit.as_deref()).ok())
        .collect();
    let unit = match (units.len(), units.first()) {
        (1, Some(unit)) => *unit,
        _ => BudgetTimeUnit::Monthly,
    };
    BudgetPeriod::containing(unit, today)
}

/// The alert partitions a record may be pending in on `today` whatever the budgets' unit: the month's,
/// the quarter's and the year's, and the period before each.
fn owed_alert_partitions(keys: &Keys, today: NaiveDate) -> Vec<String> {
    let mut pks = Vec::new();
    for unit in [
        BudgetTimeUnit::Monthly,
        BudgetTimeUnit::Quarterly,
        BudgetTimeUnit::Annually,
    ] {
        let current = BudgetPeriod::containing(unit, today);
        let before = current.start.pred_opt().unwrap_or(today);
        for period in [BudgetPeriod::containing(unit, before), current] {
            let pk = keys.alert(&period.key());
            if !pks.contains(&pk) {
                pks.push(pk);
            }
        }
    }
    pks
}

/// The first day the report needs: the settled window, the anomaly baseline (4 weeks before the drop
/// day, two days back), the trend window and the 7-day recent rate, whichever reaches back furthest.
#[must_use]
pub fn needed_from(today: NaiveDate, settings: &ReportSettings) -> NaiveDate {
    let settled = settled_window(today).0;
    // Drops are read two days back (`cost::anomaly::daily_anomalies`), with their weeks before them.
    let anomaly = today - Duration::days(i64::from(settings.anomaly.weeks) * 7 + 2);
    let trend = today - Duration::days(i64::from(settings.trend_days));
    let recent = today - Duration::days(8);
    settled.min(anomaly).min(trend).min(recent)
}

/// The first day of token and volume metrics the report needs: the settled window's and the last 7
/// settled days' (`$/valuation, last 7 settled days`), whichever starts first. Early in a month the 7
/// days reach into the previous one: read from the month's 1st only, they would hold a week of cost over
/// a few days of valuations (a $/valuation several times too high, read as a cost drift).
///
/// ```
/// use chrono::NaiveDate;
/// let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
/// assert_eq!(governance::cost_pass::metrics_from(d(12, 3)), d(11, 25));
/// assert_eq!(governance::cost_pass::metrics_from(d(12, 20)), d(12, 1));
/// ```
#[must_use]
pub fn metrics_from(today: NaiveDate) -> NaiveDate {
    settled_window(today).0.min(recent_window(today).0)
}

/// Months of history Cost Explorer holds before the current month: "the Cost Explorer API can access up
/// to 13 months of historical data and data for the current month" (AWS Cost Management user guide,
/// "Best practices for the AWS Cost Explorer API").
pub const CE_HISTORY_MONTHS: u32 = 13;

/// The first day Cost Explorer still holds on `today`: the 1st of the month [`CE_HISTORY_MONTHS`] before
/// today's.
///
/// ```
/// use chrono::NaiveDate;
/// let d = |y, m, n| NaiveDate::from_ymd_opt(y, m, n).unwrap();
/// assert_eq!(governance::cost_pass::earliest_report_day(d(2026, 11, 22)), d(2025, 10, 1));
/// assert_eq!(governance::cost_pass::earliest_report_day(d(2026, 1, 31)), d(2024, 12, 1));
/// ```
#[must_use]
pub fn earliest_report_day(today: NaiveDate) -> NaiveDate {
    today
        .with_day(1)
        .and_then(|first| first.checked_sub_months(chrono::Months::new(CE_HISTORY_MONTHS)))
        .unwrap_or(NaiveDate::MIN)
}

/// A report day that cannot be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReportDateError {
    /// After today: there is nothing to report yet.
    #[error("--date {0} is in the future")]
    Future(NaiveDate),
    /// Before the oldest day Cost Explorer holds ([`earliest_report_day`]): its costs cannot be read.
    #[error(
        "--date {date} is too far back: Cost Explorer holds only the last {CE_HISTORY_MONTHS} months and the \
         current month, so the earliest day that can be reported today is {earliest}"
    )]
    BeforeHistory {
        /// The day asked for.
        date: NaiveDate,
        /// The oldest day that can be reported.
        earliest: NaiveDate,
    },
}

/// "Now" for a report on `date`: now for today (or no date), the last second of a past day.
///
/// # Errors
/// [`ReportDateError::Future`] for a day after `now`'s, [`ReportDateError::BeforeHistory`] for one
/// before the oldest Cost Explorer holds.
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 30, 0).unwrap();
/// let d = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
/// let at = governance::cost_pass::as_of_for(Some(d), now).unwrap();
/// assert_eq!(at.to_rfc3339(), "2026-11-21T23:59:59+00:00");
/// assert_eq!(governance::cost_pass::as_of_for(None, now).unwrap(), now);
/// ```
pub fn as_of_for(date: Option<NaiveDate>, now: DateTime<Utc>) -> Result<DateTime<Utc>, ReportDateError> {
    let today = now.date_naive();
    match date {
        None => Ok(now),
        Some(d) if d == today => Ok(now),
        Some(d) if d > today => Err(ReportDateError::Future(d)),
        Some(d) if d < earliest_report_day(today) => Err(ReportDateError::BeforeHistory {
            date: d,
            earliest: earliest_report_day(today),
        }),
        // 23:59:59 exists on every day; `now` is never reached.
        Some(d) => Ok(d.and_hms_opt(23, 59, 59).map_or(now, |t| t.and_utc())),
    }
}

fn prices() -> Result<&'static PriceTable, CostPassError> {
    PriceTable::bundled().map_err(|e| CostPassError::Prices(e.to_string()))
}

/// Runs the daily cost pass for `spec` with `clients` (see the module docs): [`PassContext::daily`] on
/// the SDK clients, the DynamoDB ledger and the real channels, every request counted.
///
/// ```no_run
/// # async fn example() -> anyhow::Result<()> {
/// use governance::cost_pass::{PassOptions, run_daily};
/// let spec = platform_spec::load(std::path::Path::new("infra/platforms/collectiq-prod.toml"))?;
/// let clients = governance::aws::AwsClients::new(&aws_config::load_from_env().await);
/// let run = run_daily(&spec, &clients, &PassOptions::new(&spec, chrono::Utc::now()).with_notify(true)).await?;
/// println!("{}\n{} CE requests", run.report.headline(), run.calls.cost_explorer());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`CostPassError`] when the ledger fails or no Cost Explorer data can be had. Failed sends do not
/// fail the run: they are in [`DailyRun::delivery`].
pub async fn run_daily(
    spec: &PlatformSpec,
    clients: &AwsClients,
    options: &PassOptions,
) -> Result<DailyRun, CostPassError> {
    on_sdk(spec, clients, options, async |pass| pass.daily().await).await
}

/// The hourly check: `AWS/Bedrock` token metrics (5-minute sums over the last 3 days, one
/// `ListMetrics` + one `GetMetricData` batch), priced and compared with the spec's smallest monthly
/// budget in 5 m / 30 m / 1 h / 6 h windows; the 3 d window is the environment's Cost Explorer daily totals the
/// daily run stored in the ledger (complete days; no Cost Explorer request here), or the token cost
/// with the reason when the ledger has too few ([`cost::fastburn`]). An alert is sent once per day, kind and
/// channel (claims `fast-burn#<day>/<kind>` for Slack and `<kind>#sns` for SNS): pages go to SNS and
/// Slack, tickets to Slack. [`PassContext::fast_burn`] on the SDK clients.
///
/// ```no_run
/// # async fn example() -> anyhow::Result<()> {
/// use governance::cost_pass::{PassOptions, run_fast_burn};
/// let spec = platform_spec::load(std::path::Path::new("infra/platforms/collectiq-prod.toml"))?;
/// let clients = governance::aws::AwsClients::new(&aws_config::load_from_env().await);
/// let run = run_fast_burn(&spec, &clients, &PassOptions::new(&spec, chrono::Utc::now())).await?;
/// assert_eq!(run.calls.cost_explorer(), 0);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`CostPassError`] when the spec has no budgets, the metrics cannot be read or the ledger fails.
pub async fn run_fast_burn(
    spec: &PlatformSpec,
    clients: &AwsClients,
    options: &PassOptions,
) -> Result<FastBurnRun, CostPassError> {
    on_sdk(spec, clients, options, async |pass| pass.fast_burn().await).await
}

/// Runs `pass` on a [`PassContext`] over the SDK: `clients` with every request counted, the DynamoDB
/// ledger of `options`' targets, the real channels.
async fn on_sdk<T>(
    spec: &PlatformSpec,
    clients: &AwsClients,
    options: &PassOptions,
    pass: impl for<'c> AsyncFnOnce(PassContext<'c, SdkReads<'c>, Ledger, SdkChannels<'c>>) -> T,
) -> T {
    let counter = RequestCounter::new();
    let clients = counter.attach(clients);
    let ledger = Ledger::new(clients.dynamodb.clone(), &options.targets.ledger_table);
    let (reads, channels) = (SdkReads::new(&clients), SdkChannels::new(&clients));
    pass(PassContext {
        spec,
        options,
        reads: &reads,
        ledger: &ledger,
        channels: &channels,
        counter: &counter,
    })
    .await
}

/// What one run works with: the spec and options, the three seams — what is read ([`CostReads`]), the
/// ledger written to ([`LedgerStore`]), the channels sent to ([`Channels`]) — and the counter every
/// request is recorded in. [`run_daily`] and [`run_fast_burn`] build it on the SDK clients; the unit
/// tests build it on the in-memory fakes (feature `testing`).
#[derive(Debug)]
pub struct PassContext<'a, R, L, N> {
    /// The platform spec.
    pub spec: &'a PlatformSpec,
    /// As of when, whether to send, where to.
    pub options: &'a PassOptions,
    /// Cost Explorer, Budgets, CloudWatch metrics.
    pub reads: &'a R,
    /// Claims, snapshots, the Cost Explorer counter.
    pub ledger: &'a L,
    /// Slack and SNS.
    pub channels: &'a N,
    /// This run's requests (the SDK interceptor or the fakes record into it).
    pub counter: &'a RequestCounter,
}

impl<R: CostReads, L: LedgerStore, N: Channels> PassContext<'_, R, L, N> {
    /// The daily run (see the module docs).
    ///
    /// # Errors
    /// [`CostPassError`] when the ledger fails or no Cost Explorer data can be had. Failed sends do not
    /// fail the run: they are in [`DailyRun::delivery`].
    pub async fn daily(&self) -> Result<DailyRun, CostPassError> {
        let spec = self.spec;
        let keys = Keys::new(spec.managed_prefix());
        let settings = report_settings(spec);
        let as_of = self.options.as_of;
        let today = as_of.date_naive();
        let environment = spec.platform.environment.clone();
        let mut notes = Vec::new();
        // What the report needs and could not read: while any is missing, nothing is claimed or sent.
        let mut missing: Vec<MissingInput> = Vec::new();
        let quota = CeQuota {
            ledger: self.ledger,
            pk: keys.ce_requests(),
            day: self.options.ce_day.to_string(),
            cap: spec.cost.ce_daily_request_cap,
        };

        // Budgets (free) and metrics first: if Cost Explorer is capped, the rest of the report still stands.
        let mut budgets_absent = 0usize;
        let budgets = match self.reads.budgets(spec).await {
            Ok((found, missing)) => {
                budgets_absent = missing.len();
                for name in missing {
                    notes.push(format!("budget {name} (in the spec) not found in AWS Budgets"));
                }
                found
            }
            Err(e) => {
                notes.push(format!("budgets not read: {e}"));
                missing.push(MissingInput::read("budgets", &e));
                Vec::new()
            }
        };
        let alert_period = alert_period(&budgets, today);
        let window_start = needed_from(today, &settings);
        let metrics_from = metrics_from(today);
        let metrics = match self.reads.report_series(spec, true).await {
            Ok(mut series) => {
                cap_app_series(&mut series, spec, &mut notes);
                let start = metrics_from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
                match self.reads.metric_sums(&series, start, as_of, 86_400).await {
                    Ok(m) => m,
                    Err(e) => {
                        notes.push(format!("token and volume metrics not read: {e}"));
                        missing.push(MissingInput::read("token and volume metrics", &e));
                        Vec::new()
                    }
                }
            }
            Err(e) => {
                notes.push(format!("token and volume metrics not listed: {e}"));
                missing.push(MissingInput::read("token and volume metrics", &e));
                Vec::new()
            }
        };

        // Cost Explorer: cached settled days + one query from the first unsettled day. A stored day the
        // ledger holds out of range is refused (named in a note) and asked for again.
        let state::CachedSnapshots {
            days: stored,
            refused,
        } = state::cached_snapshots(self.ledger, &keys, window_start, today).await?;
        notes.extend(refused);
        let q_start = state::query_start(&stored, window_start, today);
        let cached = state::snapshot_table(&stored);
        let q_end = today.succ_opt().unwrap_or(today);
        let cached_days = cached.days.range(window_start..q_start).count();
        let mut ce_query = None;
        // Cost Explorer gave nothing and nothing is stored: no report can be made, but Budgets' own
        // figure can still page (below), and the run then fails with this error.
        let mut no_cost_data = None;
        let (pages, ce_failure) = self.cost_pages(&keys, &quota, q_start, q_end, today).await?;
        let table = match ce_failure {
            None => {
                ce_query = Some((q_start, q_end));
                cached.merged_with(&DailyCostTable::from_pages(&pages, read::COST_METRIC)?)
            }
            Some(e) => {
                // The pages read before the failure are in the ledger already; the report would still
                // lack the days after them.
                let table = if pages.is_empty() {
                    cached
                } else {
                    cached.merged_with(&DailyCostTable::from_pages(&pages, read::COST_METRIC)?)
                };
                let what = format!("Cost Explorer days from {q_start}");
                if table.days.is_empty() {
                    // Nothing to report from. A run that sends goes on only as far as the critical
                    // page (the incomplete run's path below) and then fails with this error.
                    if !self.options.notify || self.options.past_day {
                        return Err(CostPassError::NoCostData(e));
                    }
                    missing.push(MissingInput::read(&what, &e));
                    no_cost_data = Some(e);
                    table
                } else {
                    let last = table.days.keys().next_back().copied().unwrap_or(today);
                    let read = if pages.is_empty() {
                        "not queried"
                    } else {
                        "not read to the end"
                    };
                    notes.push(format!(
                        "Cost Explorer {read} ({e}); the report uses stored days up to {last}"
                    ));
                    if spec.cost.ce_daily_request_cap > 0 {
                        missing.push(MissingInput::read(&what, &e));
                    }
                    table
                }
            }
        };

        notes.extend(unreadable_notes(&table));

        let (forecast, forecast_unavailable) = if budgets.is_empty() {
            (None, None)
        } else if self.options.past_day {
            (
                None,
                Some(format!(
                    "not requested for a past day: Cost Explorer forecasts from today, not from {today}"
                )),
            )
        } else if today.day() <= 2 {
            (
                None,
                Some("not requested on the 1st and 2nd: Cost Explorer cannot forecast that early".to_owned()),
            )
        } else {
            let (forecast, unavailable, transient) =
                self.forecast_for_today(&keys, &quota, today, &settings).await?;
            // A throttle or a fault: a later run asks again, so this report is not the day's final one
            // (posting it would claim the day with a projection made without the forecast).
            if transient && spec.cost.ce_daily_request_cap > 0 {
                missing.push(MissingInput {
                    what: format!(
                        "Cost Explorer forecast ({})",
                        unavailable.as_deref().unwrap_or("no answer")
                    ),
                    class: None,
                });
            }
            (forecast, unavailable)
        };

        // Governance's own spend: this run's attempts beyond the quota units taken (SDK retries) are added
        // to the day's counter, so the footer and the cap see what was really billed.
        let run_calls = self.counter.snapshot();
        let ce_today = quota.used().await?;
        let self_spend = GovernanceSpend {
            ce_requests: u32::try_from(ce_today).unwrap_or(u32::MAX),
            ce_daily_cap: spec.cost.ce_daily_request_cap,
            cloudwatch_requests: run_calls.of("GetMetricData"),
            budgets_requests: run_calls.service("budgets"),
        };

        notes.extend(self.options.notes.iter().cloned());
        let inputs = ReportInputs {
            platform: spec.platform.name.clone(),
            environment: environment.clone(),
            as_of,
            cost_and_usage: table.clone(),
            budgets,
            ce_forecast: forecast,
            ce_forecast_unavailable: forecast_unavailable,
            metrics,
            self_spend,
            notes,
        };
        // The period's claims: the fire-once decision below.
        let period = alert_period.key();
        let alert_pk = keys.alert(&period);
        // Only delivered markers count: a transition whose message is still pending is decided again (and
        // its pending record sent), as the decision of this run.
        let claimed: Vec<String> = self
            .ledger
            .claims(&alert_pk)
            .await?
            .into_iter()
            .filter(|(_, detail)| super::notify::settled(detail))
            .map(|(sk, _)| sk)
            .collect();
        let previous = state::alert_state(&period, &claimed);
        // The tier each budget showed on the last report day of its period, so that a projection
        // hovering at a threshold keeps the tier it showed instead of flipping from day to day
        // (hysteresis) — the tier shown, not the highest announced: after 100 % fell to 80 %, a
        // projection of 96 % shows 80 % until it reaches 100 % again.
        let budget_starts: Vec<(String, NaiveDate)> = inputs
            .budgets
            .iter()
            .map(|b| {
                let unit =
                    BudgetTimeUnit::from_aws(b.time_unit.as_deref()).unwrap_or(BudgetTimeUnit::Monthly);
                (b.budget_name.clone(), BudgetPeriod::containing(unit, today).start)
            })
            .collect();
        let tiers_from = budget_starts
            .iter()
            .map(|(_, start)| *start)
            .min()
            .unwrap_or(today);
        let shown = state::shown_tiers(self.ledger, &keys, tiers_from, today).await?;
        let shown_today = shown.iter().any(|(day, _)| *day == today);
        let settings = ReportSettings {
            previous_tiers: state::previous_tiers(&shown, &budget_starts, today),
            previous_parts: state::previous_parts(&shown, &budget_starts, today),
            ..settings
        };
        let mut report = build_report(&inputs, &settings, prices()?);
        report.account.clone_from(&self.options.account);
        if let (Some(days), Some(share)) = (&self.options.untagged_by_day, &mut report.hygiene.untagged) {
            let untagged: Decimal = days
                .range(report.window.0..report.window.1)
                .map(|(_, v)| *v)
                .sum();
            *share = cost::anomaly::UntaggedShare::of(untagged, share.total);
        }
        let daily = table
            .for_environment(&environment, settings.include_untagged)
            .daily_totals();

        let (report, decision) = if self.options.past_day {
            // A day that is over: its budgets' spend as Cost Explorer's days up to it, nothing decided.
            (
                report.with_budget_spend_from_daily(&daily),
                AlertDecision::Nothing,
            )
        } else {
            // Fire-once decision from the period's claims (read above). A budget whose spend is unknown
            // (skipped: no ActualSpend, or the $0 Budgets shows while it recalculates after an edit) or
            // missing from the account is not "back under 80 %": a recovery waits for every budget, or
            // it would be recorded, and the real tier never announced again this period.
            let unknown = budgets_absent + inputs.budgets.len().saturating_sub(report.budgets.len());
            let decision = match decide(previous.as_ref(), &period, report.tier()).decision {
                AlertDecision::Recovery { .. } if unknown > 0 => AlertDecision::Nothing,
                decision => decision,
            };
            (report, decision)
        };
        let sns = sns_for(&report, &decision);
        let slack = render_with_decision(&report, &decision);

        let delivery = if self.options.past_day {
            Delivery {
                skipped: Some(format!(
                    "{today} is a past day: never posted (budget spend restated from Cost Explorer)"
                )),
                ..Delivery::default()
            }
        } else if self.options.notify && !missing.is_empty() {
            // An incomplete report is never the day's report: nothing is claimed, nothing sent, and the
            // run says so loudly (the handler fails) so the next run completes and sends it once.
            let absent = missing
                .iter()
                .map(|m| m.what.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let why = format!(
                "the {today} report was not sent: missing {absent}; the next run completes and sends it"
            );
            let mut delivery = Delivery {
                requested: true,
                skipped: Some(why.clone()),
                errors: vec![why],
                ..Delivery::default()
            };
            // A critical page is actual spend at 150 % of a budget: Budgets' figure, whatever Cost Explorer
            // or CloudWatch could not give. It goes now (recorded as the complete run would record it, so
            // that run does not page again) instead of waiting for the next complete run.
            if let Err(e) = super::notify::record_early_page(
                self.ledger,
                &report,
                &alert_pk,
                &self.options.targets.sns_critical_topic_arn,
                state::alert_keep(&alert_period, today),
                &absent,
                Utc::now(),
            )
            .await
            {
                delivery
                    .errors
                    .push(format!("the critical page could not be recorded: {e}"));
            }
            // What earlier runs recorded is still owed — a budget page above all — and does not depend on
            // this run's inputs. The period is unknown when the budgets were not read, so every unit's.
            let owed = owed_alert_partitions(&keys, today);
            let owed: Vec<&str> = owed.iter().map(String::as_str).collect();
            let day = today.to_string();
            let report_pk = keys.report();
            let scope = super::notify::PendingScope {
                reports: Some((&report_pk, &day)),
                alert_pks: &owed,
                slack_secret: &self.options.targets.slack_webhook_secret,
                sns_topic: &self.options.targets.sns_critical_topic_arn,
                // The period is unknown here: kept as long as a year's records.
                keep: state::LONGEST_ALERT_KEEP,
                retry: self.options.slack_retry,
                now: Utc::now(),
            };
            if let Err(e) =
                super::notify::send_pending(self.ledger, self.channels, &scope, &mut delivery).await
            {
                delivery
                    .errors
                    .push(format!("messages earlier runs left pending were not read: {e}"));
            }
            delivery
        } else if self.options.notify {
            let last_day_before = alert_period.start.pred_opt().unwrap_or(today);
            let previous_alert_pk =
                keys.alert(&BudgetPeriod::containing(alert_period.unit, last_day_before).key());
            let notice = DailyNotice {
                keys: &keys,
                report: &report,
                decision: &decision,
                sns: sns.as_ref(),
                alert_pk: &alert_pk,
                previous_alert_pk: &previous_alert_pk,
                slack_secret: &self.options.targets.slack_webhook_secret,
                sns_topic: &self.options.targets.sns_critical_topic_arn,
                alert_keep: state::alert_keep(&alert_period, today),
                retry: self.options.slack_retry,
                now: Utc::now(),
            };
            let delivery = deliver_daily(self.ledger, self.channels, notice).await?;
            // The day's report is recorded (sent, or pending for the next run to send): what it shows is
            // what the next day's hysteresis holds. The day's first recorded report is the one sent.
            if !shown_today {
                let tiers = state::ShownTiers {
                    tiers: report
                        .budgets
                        .iter()
                        .map(|b| (b.budget_name.clone(), b.tier))
                        .collect(),
                    parts: report
                        .budgets
                        .iter()
                        .filter_map(|b| b.parts.map(|p| (b.budget_name.clone(), p)))
                        .collect(),
                };
                ledger::put_snapshot(
                    self.ledger,
                    &keys.shown_tiers(),
                    &today.to_string(),
                    &tiers,
                    state::LONGEST_ALERT_KEEP,
                )
                .await?;
            }
            delivery
        } else {
            Delivery {
                skipped: Some("dry run (no --post)".into()),
                ..Delivery::default()
            }
        };

        if let Some(e) = no_cost_data {
            // The report was never a report: the run fails as before, after the page went out.
            for error in &delivery.errors {
                tracing::warn!(error = %error, "while Cost Explorer gave nothing");
            }
            return Err(CostPassError::NoCostData(e));
        }
        Ok(DailyRun {
            report,
            slack,
            decision,
            sns,
            delivery,
            calls: self.counter.snapshot(),
            ce_requests_today: quota.used().await.unwrap_or(ce_today),
            ce_query,
            cached_days,
            daily,
            missing,
        })
    }

    /// `GetCostAndUsage` over `[q_start, q_end)`, page by page; each page's complete days go to the
    /// ledger as soon as it is read (paid for), before the next request can fail. A day is complete when
    /// a later day follows it on the page or the page was the last (a day may continue on the next
    /// page). Returns the pages read and the failure that stopped the query, if one did.
    async fn cost_pages(
        &self,
        keys: &Keys,
        quota: &CeQuota<'_, L>,
        q_start: NaiveDate,
        q_end: NaiveDate,
        today: NaiveDate,
    ) -> Result<(Vec<cost::input::CostAndUsagePage>, Option<ReadError>), CostPassError> {
        let mut pager = source::CostPager::new(quota, self.counter, q_start, q_end);
        let mut pages = Vec::new();
        loop {
            match pager.next(self.reads).await {
                Ok(Some(page)) => {
                    pages.push(page);
                    let fresh = DailyCostTable::from_pages(&pages, read::COST_METRIC)?;
                    let complete_before = if pager.done() {
                        today
                    } else {
                        fresh
                            .days
                            .keys()
                            .next_back()
                            .copied()
                            .unwrap_or(q_start)
                            .min(today)
                    };
                    state::store_days(self.ledger, keys, &fresh, complete_before, today).await?;
                }
                Ok(None) => return Ok((pages, None)),
                Err(e) => return Ok((pages, Some(e))),
            }
        }
    }

    async fn forecast_for_today(
        &self,
        keys: &Keys,
        quota: &CeQuota<'_, L>,
        today: NaiveDate,
        settings: &ReportSettings,
    ) -> Result<(Option<cost::burn::CeForecastInput>, Option<String>, bool), CostPassError> {
        let day = today.to_string();
        let cached: Vec<(String, ForecastSnapshot)> =
            ledger::snapshots(self.ledger, &keys.ce_forecast(), &day, &day).await?;
        if let Some((_, snap)) = cached.into_iter().next() {
            return Ok((snap.forecast, snap.unavailable, false));
        }
        let month_end = MonthPeriod::containing(today).end;
        let snap = match source::cost_forecast(
            self.reads,
            quota,
            self.counter,
            today,
            month_end,
            &self.spec.platform.environment,
            settings.include_untagged,
        )
        .await
        {
            Ok(f) => ForecastSnapshot {
                forecast: Some(f),
                unavailable: None,
                failure: None,
            },
            // Not asked: nothing to cache, a later run with allowance left asks.
            Err(e @ ReadError::CapReached { .. }) => {
                return Ok((None, Some(format!("not requested: {e}")), false));
            }
            Err(ReadError::Forecast(u)) => ForecastSnapshot {
                forecast: None,
                unavailable: Some(u.reason()),
                failure: Some(u.failure),
            },
            Err(e) => ForecastSnapshot {
                forecast: None,
                unavailable: Some(e.to_string()),
                failure: None,
            },
        };
        // Only an answer that holds all day is cached: a forecast, or a lasting refusal. A throttle, a
        // 5xx or a lost connection is not: the next run asks again.
        let lasting = snap.forecast.is_some() || snap.failure.is_some_and(|f| f.is_lasting());
        if lasting {
            ledger::put_snapshot(self.ledger, &keys.ce_forecast(), &day, &snap, SNAPSHOT_KEEP).await?;
        }
        let transient = snap
            .failure
            .is_some_and(super::forecast::ForecastFailure::is_transient);
        Ok((snap.forecast, snap.unavailable, transient))
    }

    /// The hourly burn check (see [`run_fast_burn`]).
    ///
    /// # Errors
    /// [`CostPassError`] when the spec has no budgets, the metrics cannot be read or the ledger fails.
    pub async fn fast_burn(&self) -> Result<FastBurnRun, CostPassError> {
        let spec = self.spec;
        let options = self.options;
        // Every budget of a spec covers the whole environment, each on its own: the burn is measured
        // against the tightest (two budgets of $500 and $300 are not an allowance of $800).
        let Some(allowance) = spec
            .budgets
            .iter()
            .map(|b| b.limit_usd)
            .filter(|l| *l > Decimal::ZERO)
            .min()
        else {
            return Err(CostPassError::NoAllowance);
        };
        let as_of = options.as_of;
        let until = cost::fastburn::complete_until(as_of);
        let series = self.reads.report_series(spec, false).await?;
        let metrics = self
            .reads
            // The windows end at the last settled 5-minute period (`complete_until`). CloudWatch starts
            // its periods at the query's start rounded down to the minute: a start on a 5-minute
            // boundary makes them the windows' periods, whatever the minute of `as_of`.
            .metric_sums(
                &series,
                until - Duration::days(3) - Duration::minutes(5),
                until,
                300,
            )
            .await?;
        let burn = fast_burn(prices()?, &metrics, allowance, as_of, &spec.model_aliases());
        // The 3 d window from Cost Explorer's daily totals, as the daily run left them in the ledger
        // (this check has no Cost Explorer permission, by design). A ledger that cannot be read fails a
        // run that sends, as any ledger failure does (every send is recorded there first; the next
        // hourly run tries again); a dry run shows the token cost instead and says why.
        let burn = match self.stored_daily_totals(as_of.date_naive()).await {
            Ok(daily) => burn.with_ce_daily(&daily),
            Err(e) if options.notify => return Err(e.into()),
            Err(e) => FastBurn {
                long_window: cost::fastburn::LongWindow::BedrockTokens {
                    why: format!("the ledger's Cost Explorer totals could not be read ({e})"),
                },
                ..burn
            },
        };
        let slack = burn.alert.map(|a| fast_burn_message(spec, &burn, a));
        let mut delivery = Delivery {
            requested: options.notify,
            ..Delivery::default()
        };
        match (burn.alert, &slack, options.notify) {
            (None, _, true) => {
                // The burn has eased, but a page an earlier run recorded and could not send is owed.
                delivery.skipped = Some("no burn alert".into());
                if let Err(e) = self.send_owed_burns(&mut delivery).await {
                    // This run decided nothing; only the owed alerts wait for the next run.
                    delivery.errors.push(format!(
                        "burn alerts earlier runs left pending were not read: {e}"
                    ));
                }
            }
            (None, _, false) => delivery.skipped = Some("no burn alert".into()),
            (Some(_), _, false) => delivery.skipped = Some("dry run".into()),
            (Some(alert), Some(message), true) => {
                delivery = self.send_fast_burn(&burn, alert, message).await?;
            }
            (Some(_), None, true) => {}
        }
        Ok(FastBurnRun {
            burn,
            slack,
            delivery,
            calls: self.counter.snapshot(),
        })
    }

    /// The environment's Cost Explorer daily totals the daily run stored for the
    /// [`cost::fastburn::LONG_WINDOW_REACH_DAYS`] days before `today` (`{prefix}#ce-daily`, one item per
    /// day, `Estimated` flag kept), counted as the report counts them (untagged spend per
    /// `[cost] include_untagged`).
    async fn stored_daily_totals(&self, today: NaiveDate) -> Result<Vec<DailyTotal>, LedgerError> {
        let keys = Keys::new(self.spec.managed_prefix());
        let from = today - Duration::days(cost::fastburn::LONG_WINDOW_REACH_DAYS);
        // Days refused as out of range are logged by `cached_snapshots` and left out, as missing days are.
        let mut stored = state::cached_snapshots(self.ledger, &keys, from, today)
            .await?
            .days;
        // A day read the morning after it is half-booked (CE books a day up to 24 h late) and would pull
        // the 3-day rate down: left out until a later daily run reads it again; the window then takes
        // the complete days before it.
        stored.retain(|date, snap| !snap.half_booked(*date));
        let table = state::snapshot_table(&stored);
        let include_untagged = report_settings(self.spec).include_untagged;
        Ok(table
            .for_environment(&self.spec.platform.environment, include_untagged)
            .daily_totals())
    }

    /// The burn alerts' ledger partitions around the pass's `as_of` day: today's, where this run records
    /// its alert, the days before whose pending alerts are still sent, and those given up
    /// ([`super::notify::BurnPartitions`]).
    fn burn_partitions(&self) -> super::notify::BurnPartitions {
        let keys = Keys::new(self.spec.managed_prefix());
        super::notify::BurnPartitions::new(&keys, self.options.as_of.date_naive())
    }

    /// Where this run's burn alerts are recorded and owed ones are looked for, and how they are sent.
    fn burn_scope<'a>(
        &'a self,
        partitions: &'a super::notify::BurnPartitions,
    ) -> super::notify::BurnScope<'a> {
        super::notify::BurnScope {
            partitions,
            slack_secret: &self.options.targets.slack_webhook_secret,
            sns_topic: &self.options.targets.sns_critical_topic_arn,
            retry: self.options.slack_retry,
            now: Utc::now(),
        }
    }

    /// Sends the burn alerts that earlier runs recorded and could not send (and gives up, loudly, those
    /// pending for longer than they are sent).
    async fn send_owed_burns(&self, delivery: &mut Delivery) -> Result<(), CostPassError> {
        let partitions = self.burn_partitions();
        let scope = self.burn_scope(&partitions);
        if super::notify::send_owed_burns(self.ledger, self.channels, &scope, delivery).await? {
            delivery.skipped = None;
        }
        Ok(())
    }

    /// Records each channel of a burn alert (Slack `<kind>`, SNS `<kind>#sns` for pages) once per day,
    /// then sends what is pending ([`deliver_fast_burn`]).
    async fn send_fast_burn(
        &self,
        burn: &FastBurn,
        alert: FastBurnAlert,
        message: &SlackMessage,
    ) -> Result<Delivery, CostPassError> {
        let spec = self.spec;
        let partitions = self.burn_partitions();
        let sns = (alert != FastBurnAlert::Ticket).then(|| {
            SnsNotification::new(
                &self.options.targets.sns_critical_topic_arn,
                &subject_safe(&format!(
                    "CRITICAL {} {} Bedrock burn {}",
                    cost::report::display_platform(&spec.platform.name),
                    spec.platform.environment,
                    burn_line(burn)
                )),
                &fast_burn_text(spec, burn, alert),
                Severity::Critical.label(),
                "cost_fast_burn",
            )
        });
        let notice = BurnNotice {
            scope: self.burn_scope(&partitions),
            kind: alert_kind(alert),
            slack: message,
            sns: sns.as_ref(),
        };
        Ok(deliver_fast_burn(self.ledger, self.channels, notice).await?)
    }
}

/// Most groups one note names for a day with unreadable amounts (a page of them would fill the report).
const UNREADABLE_GROUPS_NAMED: usize = 3;

/// One note per day whose Cost Explorer answer had an amount that could not be read
/// ([`DailyCostTable::unreadable`]), naming the day and the groups: the report's figures leave those
/// groups out (the day counts as `Estimated`, a lower bound) and the day is asked for again next run.
fn unreadable_notes(table: &DailyCostTable) -> Vec<String> {
    table
        .unreadable
        .iter()
        .map(|(date, groups)| {
            let mut named: Vec<String> = groups
                .iter()
                .take(UNREADABLE_GROUPS_NAMED)
                .map(|keys| keys.join(" / "))
                .collect();
            if groups.len() > UNREADABLE_GROUPS_NAMED {
                named.push(format!("{} more", groups.len() - UNREADABLE_GROUPS_NAMED));
            }
            format!(
                "Cost Explorer {date} incomplete: the amount of {} could not be read; left out (a lower \
                 bound) and asked for again on the next run",
                named.join(", ")
            )
        })
        .collect()
}

fn sns_for(report: &CostReport, decision: &AlertDecision) -> Option<SnsMessage> {
    match decision {
        AlertDecision::Notify { .. } | AlertDecision::Escalate { .. } => critical_message(report),
        AlertDecision::Nothing | AlertDecision::Recovery { .. } => None,
    }
}

/// The outcome of the hourly burn check.
#[derive(Debug, Clone, Serialize)]
pub struct FastBurnRun {
    /// The burn rates and the alert.
    pub burn: FastBurn,
    /// The Slack message sent (or that would be sent) for the alert.
    pub slack: Option<SlackMessage>,
    /// What was sent.
    pub delivery: Delivery,
    /// This run's AWS requests (no Cost Explorer, by design).
    pub calls: ApiCalls,
}

fn alert_kind(alert: FastBurnAlert) -> &'static str {
    match alert {
        FastBurnAlert::PageFast => "page_fast",
        FastBurnAlert::PageSlow => "page_slow",
        FastBurnAlert::Ticket => "ticket",
    }
}

fn burn_line(burn: &FastBurn) -> String {
    burn.windows
        .iter()
        .map(|w| {
            format!(
                "{} {}x",
                w.window.label(),
                cost::format::burn_rate(w.burn_rate, 1)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn fast_burn_text(spec: &PlatformSpec, burn: &FastBurn, alert: FastBurnAlert) -> String {
    let what = match alert {
        FastBurnAlert::PageFast => "is burning 2% of the month's budget in one hour (1h and 5m >= 14.4x)",
        FastBurnAlert::PageSlow => "is burning 5% of the month's budget in six hours (6h and 30m >= 6x)",
        _ if burn.alerts_only_for_unpriced() => {
            "cannot be measured: tokens of models with no price are in no window's spend"
        }
        FastBurnAlert::Ticket => "is burning on pace to overspend (3d and 6h >= 1x)",
    };
    let mut lines = vec![format!(
        "{} {}: Bedrock token spend {what}.",
        cost::report::display_platform(&spec.platform.name),
        spec.platform.environment
    )];
    for w in &burn.windows {
        lines.push(format!(
            "{:>4}: {} spent, burn rate {}x",
            w.window.label(),
            cost::format::usd(w.cost),
            cost::format::burn_rate(w.burn_rate, 2)
        ));
    }
    lines.push(format!(
        "Allowance {}/month; from CloudWatch AWS/Bedrock token counts as of {}.",
        cost::format::usd(burn.allowance),
        burn.as_of.format("%Y-%m-%d %H:%M UTC")
    ));
    lines.push(format!("{}.", burn.long_window.describe()));
    if !burn.unpriced_model_ids.is_empty() {
        lines.push(format!(
            "Unpriced model ids: {}",
            burn.unpriced_model_ids.join(", ")
        ));
    }
    lines.join("\n")
}

fn fast_burn_message(spec: &PlatformSpec, burn: &FastBurn, alert: FastBurnAlert) -> SlackMessage {
    let (emoji, label) = match alert {
        FastBurnAlert::PageFast => ("🔥", "PAGE: fast burn"),
        FastBurnAlert::PageSlow => ("🔥", "PAGE: sustained burn"),
        _ if burn.alerts_only_for_unpriced() => ("⚠️", "TICKET: tokens with no price"),
        FastBurnAlert::Ticket => ("⚠️", "TICKET: slow burn"),
    };
    let name = cost::report::display_platform(&spec.platform.name);
    let header = format!("{emoji} {name} {} — Bedrock {label}", spec.platform.environment);
    let table = burn
        .windows
        .iter()
        .map(|w| {
            format!(
                "{:>4}  {:>10}  {:>6}x",
                w.window.label(),
                cost::format::usd(w.cost),
                cost::format::burn_rate(w.burn_rate, 2)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    SlackMessage {
        text: format!(
            "{name} {}: Bedrock {label} ({})",
            spec.platform.environment,
            burn_line(burn)
        ),
        blocks: vec![
            Block::Header {
                text: TextObject::plain(header.chars().take(150).collect::<String>()),
            },
            Block::Section {
                text: Some(TextObject::mrkdwn(format!(
                    "*Burn rate by window* (1.0× spends the allowance exactly by month end)\n```{table}```"
                ))),
                fields: Vec::new(),
            },
            Block::Context {
                elements: vec![
                    TextObject::mrkdwn(format!(
                        "allowance {}/month • 5m–6h: CloudWatch AWS/Bedrock tokens • as of {}",
                        cost::format::usd(burn.allowance),
                        burn.as_of.format("%Y-%m-%d %H:%M UTC")
                    )),
                    TextObject::mrkdwn(burn.long_window.describe()),
                ],
            },
        ]
        .into_iter()
        .chain((!burn.unpriced_model_ids.is_empty()).then(|| Block::Section {
            text: Some(TextObject::mrkdwn(unpriced_line(&burn.unpriced_model_ids))),
            fields: Vec::new(),
        }))
        .collect(),
    }
}

/// Most model ids a burn message names (a section holds 3,000 characters).
const UNPRICED_NAMED: usize = 10;

/// The models whose tokens no window priced, for Slack: escaped, at most [`UNPRICED_NAMED`].
fn unpriced_line(ids: &[String]) -> String {
    let mut named: Vec<String> = ids
        .iter()
        .take(UNPRICED_NAMED)
        .map(|id| format!("`{}`", cost::slack::escape_within(id, 120)))
        .collect();
    if ids.len() > UNPRICED_NAMED {
        named.push(format!("{} more", ids.len() - UNPRICED_NAMED));
    }
    format!(
        "*No price for* {} — their tokens are in no rate above; add them to the price table \
         (`[[bedrock_models]]` aliases map a profile id to a priced model)",
        named.join(", ")
    )
}

/// Reads what [`run_daily`] stored for one day (for tests and the docs' examples).
///
/// # Errors
/// When the ledger read fails.
pub async fn stored_day<L: LedgerStore + ?Sized>(
    ledger: &L,
    spec: &PlatformSpec,
    day: NaiveDate,
) -> Result<Option<DaySnapshot>, LedgerError> {
    let keys = Keys::new(spec.managed_prefix());
    let d = day.to_string();
    Ok(
        ledger::snapshots::<L, DaySnapshot>(ledger, &keys.ce_daily(), &d, &d)
            .await?
            .into_iter()
            .next()
            .map(|(_, s)| s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::prod_spec as spec;

    /// The spec loader's component keys are the report's components, each mapped to its own.
    #[test]
    fn every_spec_component_key_is_a_report_component() {
        let keys: Vec<String> = Component::ALL
            .iter()
            .map(|c| c.label().to_ascii_lowercase().replace(' ', "_"))
            .collect();
        assert_eq!(keys, platform_spec::COST_COMPONENTS);
        for (key, component) in platform_spec::COST_COMPONENTS.iter().zip(Component::ALL) {
            let model = platform_spec::DesignCostModel {
                valuations_per_month: 1,
                components_usd: [((*key).to_owned(), Decimal::ONE)].into(),
                tokens_per_valuation: None,
            };
            assert_eq!(
                seed_model(&model).monthly.keys().collect::<Vec<_>>(),
                [&component],
                "{key}"
            );
        }
    }

    mod partial {
        //! Partial results: a run keeps what it read, says what it could not, and never claims or sends
        //! the day's report while an input is missing; the next run completes it. Cost Explorer counts
        //! and the cap. On the in-memory seams, with failures injected by [`Flaky`].
        use super::*;
        use crate::cost_pass::fake::{FakeChannels, FakeReads, Outcome, call_error};
        use crate::cost_pass::forecast::{ForecastFailure, ForecastUnavailable};
        use crate::cost_pass::read::SeriesKey;
        use crate::ledger::MemoryLedger;
        use chrono::TimeZone;
        use cost::burn::CeForecastInput;
        use cost::input::{Budget, CostAndUsagePage, MetricSumSeries};
        use std::sync::Mutex;

        /// The prod spec with room for these scenarios under the Cost Explorer cap: [`FakeReads`] pages
        /// 10 days at a time, so a month takes 3 pages, and a scenario of failed and completing runs
        /// pays up to 7 requests in one day (the spec's 5 would end it early; the cap has its own tests).
        fn spec() -> PlatformSpec {
            let mut spec = crate::test_support::prod_spec();
            spec.cost.ce_daily_request_cap = 10;
            spec
        }

        /// [`FakeReads`] with scripted failures: the next `budgets` calls, the n-th CE page call, the
        /// next forecast calls (throttled).
        struct Flaky {
            inner: FakeReads,
            counter: RequestCounter,
            budget_failures: Mutex<usize>,
            page_calls: Mutex<usize>,
            fail_page_call: Mutex<Option<usize>>,
            forecast_throttles: Mutex<usize>,
            /// A day whose answer carries a group with an amount that could not be read: the SDK
            /// reader ([`read::partial_page_from_sdk`]) leaves such a group without metrics.
            unreadable_on: Mutex<Option<NaiveDate>>,
        }

        /// The pass over `reads` (its counter the run's), the memory ledger and the fake channels.
        fn context<'a>(
            spec: &'a PlatformSpec,
            options: &'a PassOptions,
            reads: &'a Flaky,
            ledger: &'a MemoryLedger,
            channels: &'a FakeChannels,
        ) -> PassContext<'a, Flaky, MemoryLedger, FakeChannels> {
            PassContext {
                spec,
                options,
                reads,
                ledger,
                channels,
                counter: &reads.counter,
            }
        }

        impl Flaky {
            fn new(counter: &RequestCounter) -> Self {
                Self {
                    inner: FakeReads::new(counter, "prod")
                        .with_budget("collectiq-prod-monthly", Decimal::from(500), Decimal::from(300))
                        .with_daily_spend(Decimal::from(14), 10),
                    counter: counter.clone(),
                    budget_failures: Mutex::new(0),
                    page_calls: Mutex::new(0),
                    fail_page_call: Mutex::new(None),
                    forecast_throttles: Mutex::new(0),
                    unreadable_on: Mutex::new(None),
                }
            }
        }

        impl Flaky {
            /// One monthly budget of $500 with `spent` dollars spent, and `daily` dollars a day for the
            /// last 10 days.
            fn spending(counter: &RequestCounter, spent: u32, daily: u32) -> Self {
                let mut reads = Self::new(counter);
                reads.inner = FakeReads::new(counter, "prod")
                    .with_budget("collectiq-prod-monthly", Decimal::from(500), Decimal::from(spent))
                    .with_daily_spend(Decimal::from(daily), 10);
                reads
            }
        }

        fn take(m: &Mutex<usize>) -> bool {
            let mut n = m.lock().unwrap();
            let fire = *n > 0;
            *n = n.saturating_sub(1);
            fire
        }

        impl CostReads for Flaky {
            async fn budgets(&self, spec: &PlatformSpec) -> Result<(Vec<Budget>, Vec<String>), ReadError> {
                if take(&self.budget_failures) {
                    self.counter.record("budgets", "DescribeBudgets");
                    return Err(ReadError::Aws {
                        api: "budgets:DescribeBudgets",
                        cause: Box::new(call_error(
                            "Budgets",
                            "DescribeBudgets",
                            400,
                            Some("ThrottlingException"),
                        )),
                    });
                }
                self.inner.budgets(spec).await
            }
            async fn report_series(
                &self,
                spec: &PlatformSpec,
                app: bool,
            ) -> Result<Vec<SeriesKey>, ReadError> {
                self.inner.report_series(spec, app).await
            }
            async fn metric_sums(
                &self,
                series: &[SeriesKey],
                start: DateTime<Utc>,
                end: DateTime<Utc>,
                period_s: i32,
            ) -> Result<Vec<MetricSumSeries>, ReadError> {
                self.inner.metric_sums(series, start, end, period_s).await
            }
            async fn cost_and_usage_page(
                &self,
                start: NaiveDate,
                end: NaiveDate,
                token: Option<String>,
            ) -> Result<CostAndUsagePage, ReadError> {
                let call = {
                    let mut n = self.page_calls.lock().unwrap();
                    *n += 1;
                    *n
                };
                if *self.fail_page_call.lock().unwrap() == Some(call) {
                    self.counter.record("costexplorer", "GetCostAndUsage");
                    return Err(ReadError::Aws {
                        api: "ce:GetCostAndUsage",
                        cause: Box::new(call_error("CostExplorer", "GetCostAndUsage", 503, None)),
                    });
                }
                let mut page = self.inner.cost_and_usage_page(start, end, token).await?;
                let unreadable_on = *self.unreadable_on.lock().unwrap();
                for result in &mut page.results_by_time {
                    if Some(result.time_period.start) == unreadable_on {
                        result.groups.push(cost::input::Group {
                            keys: vec!["Amazon Rekognition".into(), "Environment$dev".into()],
                            metrics: BTreeMap::new(),
                        });
                    }
                }
                Ok(page)
            }
            async fn cost_forecast(
                &self,
                today: NaiveDate,
                month_end: NaiveDate,
                environment: &str,
                include_untagged: bool,
            ) -> Result<CeForecastInput, ReadError> {
                if take(&self.forecast_throttles) {
                    self.counter.record("costexplorer", "GetCostForecast");
                    return Err(ReadError::Forecast(ForecastUnavailable {
                        failure: ForecastFailure::Throttled,
                        detail: "LimitExceededException: Rate exceeded".into(),
                    }));
                }
                self.inner
                    .cost_forecast(today, month_end, environment, include_untagged)
                    .await
            }
        }

        fn as_of() -> DateTime<Utc> {
            Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap()
        }

        async fn run(
            spec: &PlatformSpec,
            reads: &Flaky,
            ledger: &MemoryLedger,
            channels: &FakeChannels,
        ) -> Result<DailyRun, CostPassError> {
            // One Cost Explorer day for every run of a scenario, whenever midnight UTC falls.
            let options = PassOptions::new(spec, as_of())
                .with_notify(true)
                .with_ce_day(as_of().date_naive());
            run_with(spec, &options, reads, ledger, channels).await
        }

        async fn run_with(
            spec: &PlatformSpec,
            options: &PassOptions,
            reads: &Flaky,
            ledger: &MemoryLedger,
            channels: &FakeChannels,
        ) -> Result<DailyRun, CostPassError> {
            context(spec, options, reads, ledger, channels).daily().await
        }

        /// An organisation pass knows an account's untagged spend from a second query, not from the rows
        /// (which carry the platform's tag): the report's untagged share is that spend over the window's.
        #[tokio::test(start_paused = true)]
        async fn untagged_spend_given_apart_from_the_rows_sets_the_share() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            let plain = run(&spec, &reads, &ledger, &channels).await.unwrap();
            let share = plain.report.hygiene.untagged.clone().unwrap();
            let window = plain.report.window;
            let mut options = PassOptions::new(&spec, as_of());
            options.untagged_by_day = Some(std::collections::BTreeMap::from([
                (window.0, Decimal::from(2)),
                (window.1.pred_opt().unwrap(), Decimal::from(3)),
                (window.1, Decimal::from(1000)), // outside the window: not counted
            ]));
            let given = run_with(&spec, &options, &reads, &ledger, &channels)
                .await
                .unwrap();
            let u = given.report.hygiene.untagged.unwrap();
            assert_eq!(u.total, share.total);
            assert_eq!(u.untagged, Decimal::from(5).min(share.total));
            assert_eq!(
                u.share_pct,
                cost::anomaly::UntaggedShare::of(u.untagged, u.total).share_pct
            );
        }

        /// A budget announced at a tier whose spend is then unknown (the $0 AWS Budgets shows while it
        /// recalculates after an edit, no `ActualSpend` yet) or gone from the account is not "back under
        /// 80 %": no recovery is decided or recorded, and when its spend is back the tier is still the
        /// one announced (nothing new to say), not announced again as if after a recovery.
        #[tokio::test(start_paused = true)]
        async fn a_budget_whose_spend_is_unknown_never_recovers() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let keys = Keys::new(spec.managed_prefix());
            let counter = RequestCounter::new();
            let over = |reads: FakeReads| Flaky {
                inner: reads.with_daily_spend(Decimal::from(14), 10),
                ..Flaky::new(&counter)
            };
            let spending = || {
                FakeReads::new(&counter, "prod").with_budget(
                    "collectiq-prod-monthly",
                    Decimal::from(500),
                    Decimal::from(480),
                )
            };
            let day = |d: i64| {
                PassOptions::new(&spec, as_of() + chrono::Duration::days(d))
                    .with_notify(true)
                    .with_ce_day((as_of() + chrono::Duration::days(d)).date_naive())
            };
            let first = run_with(&spec, &day(0), &over(spending()), &ledger, &channels)
                .await
                .unwrap();
            assert!(
                matches!(first.decision, AlertDecision::Notify { .. }),
                "{:?}",
                first.decision
            );
            for (d, reads) in [
                (1, over(spending().with_spend_unknown())),
                (2, over(FakeReads::new(&counter, "prod"))),
            ] {
                let run = run_with(&spec, &day(d), &reads, &ledger, &channels)
                    .await
                    .unwrap();
                assert_eq!(run.decision, AlertDecision::Nothing, "day +{d}");
                assert!(run.report.budgets.is_empty(), "day +{d}");
            }
            assert!(
                !ledger
                    .claimed(&keys.alert("2026-11"))
                    .iter()
                    .any(|sk| sk.starts_with("recovery#")),
                "{:?}",
                ledger.claimed(&keys.alert("2026-11"))
            );
            let back = run_with(&spec, &day(3), &over(spending()), &ledger, &channels)
                .await
                .unwrap();
            assert_eq!(
                back.decision,
                AlertDecision::Nothing,
                "the announced tier still holds"
            );
        }

        /// A failed `DescribeBudgets` must not post (and claim) "— no budget": nothing is sent, the run
        /// fails loudly naming what is missing, and the next run posts the day's report once.
        #[tokio::test(start_paused = true)]
        async fn failed_budgets_read_sends_nothing_and_the_next_run_posts_once() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let keys = Keys::new(spec.managed_prefix());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            *reads.budget_failures.lock().unwrap() = 1;
            let first = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(
                first.missing.iter().any(|m| m.what.starts_with("budgets")),
                "{:?}",
                first.missing
            );
            // Why it is missing, as a class a caller can name (the organisation pass does, per member).
            assert_eq!(first.missing[0].class, Some(ErrorClass::Throttled));
            assert_eq!(
                serde_json::to_value(&first.missing[0]).unwrap(),
                serde_json::json!(first.missing[0].what),
                "serialised as its text"
            );
            assert!(first.delivery.failed(), "{:?}", first.delivery);
            assert!(
                first.delivery.errors[0].contains("not sent: missing budgets"),
                "{:?}",
                first.delivery
            );
            assert!(channels.posted().is_empty());
            assert!(ledger.claimed(&keys.report()).is_empty());
            assert!(ledger.claimed(&keys.alert("2026-11")).is_empty());

            let second = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(second.missing.is_empty(), "{:?}", second.missing);
            assert!(second.delivery.slack_posted, "{:?}", second.delivery);
            assert_eq!(channels.posted().len(), 1);
            assert_eq!(second.report.budgets.len(), 1);
            let third = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(!third.delivery.failed(), "{:?}", third.delivery);
            assert_eq!(channels.posted().len(), 1, "the day's report is posted once");
        }

        /// A critical budget page an earlier run recorded and could not publish is sent by the next
        /// run even when that run's own report is incomplete (budgets throttled): for a daily pass,
        /// waiting for the next complete run can hold a page back a day. The report is still not sent.
        #[tokio::test(start_paused = true)]
        async fn an_incomplete_run_still_sends_the_page_an_earlier_run_left_pending() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            // $800 spent of $500: 160 %, the critical tier, which pages.
            let reads = Flaky::spending(&counter, 800, 38);
            channels.script_sns([crate::cost_pass::fake::Outcome::Fail("InternalError".into())]);
            let first = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(first.delivery.failed(), "{:?}", first.delivery);
            assert!(channels.published().is_empty());
            assert_eq!(channels.posted().len(), 1, "the report with its alert line");

            *reads.budget_failures.lock().unwrap() = 1;
            let second = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(!second.missing.is_empty());
            assert!(
                second.delivery.errors[0].contains("not sent: missing budgets"),
                "{:?}",
                second.delivery
            );
            assert_eq!(
                channels.published().len(),
                1,
                "the pending page went out: {:?}",
                second.delivery
            );
            assert_eq!(channels.posted().len(), 1, "no report from an incomplete run");

            let third = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(!third.delivery.failed(), "{:?}", third.delivery);
            assert_eq!(channels.published().len(), 1, "paged once");
            assert_eq!(channels.posted().len(), 1, "the day's report posted once");
        }

        /// A critical page is Budgets' actual spend at 150 %: a run that cannot send the day's report
        /// because a Cost Explorer input is missing (the forecast throttled; the daily cap would do the
        /// same) still pages at once instead of a complete run later — and the complete run then posts
        /// the report with its transition, and pages no second time.
        #[tokio::test(start_paused = true)]
        async fn a_critical_page_does_not_wait_for_cost_explorer() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            // $800 spent of $500: 160 %, the critical tier, which pages.
            let reads = Flaky::spending(&counter, 800, 38);
            *reads.forecast_throttles.lock().unwrap() = 1;
            let first = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(
                first.missing.iter().any(|m| m.what.contains("forecast")),
                "{:?}",
                first.missing
            );
            assert!(
                first.delivery.errors[0].contains("not sent: missing Cost Explorer forecast"),
                "{:?}",
                first.delivery
            );
            assert!(channels.posted().is_empty(), "no report from an incomplete run");
            let published = channels.published();
            assert_eq!(published.len(), 1, "paged at once: {:?}", first.delivery);
            assert!(published[0].subject.contains("$800"), "{:?}", published[0]);
            assert!(
                published[0].message.contains("waits for: Cost Explorer forecast"),
                "{}",
                published[0].message
            );
            let keys = Keys::new(spec.managed_prefix());
            assert!(
                !ledger
                    .claimed(&keys.alert("2026-11"))
                    .iter()
                    .any(|sk| sk.starts_with("tier#")),
                "the transition is not claimed: the complete run announces it"
            );

            let second = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(second.missing.is_empty(), "{:?}", second.missing);
            assert!(!second.delivery.failed(), "{:?}", second.delivery);
            assert!(
                matches!(
                    second.decision,
                    AlertDecision::Notify { .. } | AlertDecision::Escalate { .. }
                ),
                "{:?}",
                second.decision
            );
            assert_eq!(channels.posted().len(), 1, "the report with its transition");
            assert_eq!(channels.published().len(), 1, "paged once");
            let third = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(!third.delivery.failed(), "{:?}", third.delivery);
            assert_eq!((channels.posted().len(), channels.published().len()), (1, 1));
        }

        /// Cost Explorer giving nothing with nothing stored (here: no request allowed) makes no report,
        /// but Budgets' actual spend at 150 % still pages, once, and the run still fails.
        #[tokio::test(start_paused = true)]
        async fn a_critical_page_goes_out_when_cost_explorer_gives_nothing() {
            let mut spec = spec();
            spec.cost.ce_daily_request_cap = 0;
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::spending(&counter, 800, 38);
            for _ in 0..2 {
                let r = run(&spec, &reads, &ledger, &channels).await;
                assert!(matches!(r, Err(CostPassError::NoCostData(_))), "{r:?}");
                assert!(channels.posted().is_empty(), "no report without cost data");
                let published = channels.published();
                assert_eq!(published.len(), 1, "paged once over two runs");
                assert!(published[0].subject.contains("$800"), "{:?}", published[0]);
                assert!(
                    published[0]
                        .message
                        .contains("waits for: Cost Explorer days from"),
                    "{}",
                    published[0].message
                );
            }
            // A dry run reads the same and sends nothing.
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let options = PassOptions::new(&spec, as_of()).with_ce_day(as_of().date_naive());
            let r = run_with(&spec, &options, &reads, &ledger, &channels).await;
            assert!(matches!(r, Err(CostPassError::NoCostData(_))), "{r:?}");
            assert!(channels.published().is_empty() && channels.posted().is_empty());
        }

        /// A budget under 150 % pages nobody, complete run or not: an incomplete run sends nothing.
        #[tokio::test(start_paused = true)]
        async fn an_incomplete_run_under_the_critical_tier_sends_nothing() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            // $600 of $500: 120 %, a warning.
            let reads = Flaky::spending(&counter, 600, 28);
            *reads.forecast_throttles.lock().unwrap() = 1;
            let first = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(first.delivery.failed(), "{:?}", first.delivery);
            assert!(channels.published().is_empty() && channels.posted().is_empty());
        }

        /// A quarterly budget's tier is claimed for the quarter: its records must outlive the quarter,
        /// or the tier is announced (and a critical one paged) again before the quarter ends — 70 days
        /// after October 5 is December 14.
        #[tokio::test(start_paused = true)]
        async fn a_quarterly_claim_outlives_its_quarter() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let mut reads = Flaky::new(&counter);
            // $425 of $500 this quarter: 85 %, tier 80.
            reads.inner = FakeReads::new(&counter, "prod")
                .with_budget("collectiq-prod-quarterly", Decimal::from(500), Decimal::from(425))
                .with_budget_unit("QUARTERLY")
                .with_daily_spend(Decimal::from(5), 10);
            let run = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(run.delivery.slack_posted, "{:?}", run.delivery);
            let keys = Keys::new(spec.managed_prefix());
            let alert = keys.alert("2026-Q4");
            let claimed = ledger.claimed(&alert);
            assert!(!claimed.is_empty(), "a tier of the quarter was claimed");
            // November 21 to January 1: 41 days, then the 70 days every claim is kept after its period.
            let until_quarter_end = std::time::Duration::from_secs(41 * 86_400);
            for sk in &claimed {
                let left = ledger.expires_in(&alert, sk).expect("a TTL");
                assert!(
                    left >= until_quarter_end + state::CLAIM_KEEP - std::time::Duration::from_secs(86_400),
                    "{sk}: {left:?}"
                );
            }
        }

        /// A fast-burn page an earlier run recorded and left pending (`page_fast#sns` of `as_of`'s day).
        async fn record_burn_page(spec: &PlatformSpec, ledger: &MemoryLedger) {
            use crate::ledger::delivery::{DeliveryRecord, SnsNotification};
            let pk = Keys::new(spec.managed_prefix()).fast_burn(as_of().date_naive());
            let page = SnsNotification::new(
                &spec.notifications.sns_critical_topic_arn,
                "CRITICAL CollectIQ prod Bedrock burn",
                "burning 20x the allowance",
                "CRITICAL",
                "cost_fast_burn",
            );
            let record = DeliveryRecord::sns(
                &crate::cost_pass::notify::record_id(&pk, "page_fast#sns"),
                page,
                as_of(),
            );
            let detail = record.to_detail().unwrap();
            ledger
                .record_all(&[crate::ledger::NewItem {
                    pk: &pk,
                    sk: "page_fast#sns",
                    detail: &detail,
                    keep: None,
                }])
                .await
                .unwrap();
        }

        /// The hourly check: a burn page an earlier run recorded and could not publish is sent by the
        /// next run even when the burn has eased and that run decides no alert of its own.
        #[tokio::test(start_paused = true)]
        async fn a_burn_page_left_pending_is_sent_after_the_burn_eased() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter); // no Bedrock tokens: no burn now
            record_burn_page(&spec, &ledger).await;
            let options = PassOptions::new(&spec, as_of()).with_notify(true);
            let context = context(&spec, &options, &reads, &ledger, &channels);
            let eased = context.fast_burn().await.unwrap();
            assert!(eased.burn.alert.is_none());
            assert_eq!(channels.published().len(), 1, "{:?}", eased.delivery);
            assert_eq!(eased.delivery.sent.len(), 1);
            let again = context.fast_burn().await.unwrap();
            assert_eq!(channels.published().len(), 1, "sent once: {:?}", again.delivery);
            assert_eq!(again.delivery.skipped.as_deref(), Some("no burn alert"));
        }

        /// The hourly check on `days` after [`as_of`], sending.
        async fn burn_run_after(
            days: i64,
            spec: &PlatformSpec,
            reads: &Flaky,
            ledger: &MemoryLedger,
            channels: &FakeChannels,
        ) -> FastBurnRun {
            let options = PassOptions::new(spec, as_of() + Duration::days(days)).with_notify(true);
            let context = context(spec, &options, reads, ledger, channels);
            context.fast_burn().await.unwrap()
        }

        /// A burn page whose publish keeps failing (a topic policy broken on Friday, fixed on Monday):
        /// the page was only looked for today and yesterday, so from the second day on it was dropped
        /// without a word. Every run of the following days tries it and fails, and the first after the
        /// channel recovers publishes it — once (docs/cost-governance.md: "stays pending and fails
        /// every run until it goes out").
        #[tokio::test(start_paused = true)]
        async fn a_burn_page_pending_for_days_fails_every_run_until_it_goes_out_once() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter); // no Bedrock tokens: no burn of its own
            record_burn_page(&spec, &ledger).await;
            channels.script_sns((0..3).map(|_| Outcome::Fail("AuthorizationError".into())));
            for days in [1, 2, 3] {
                let run = burn_run_after(days, &spec, &reads, &ledger, &channels).await;
                assert!(run.delivery.failed(), "day +{days}: {:?}", run.delivery);
                assert_eq!(run.delivery.pending.len(), 1, "day +{days}: {:?}", run.delivery);
            }
            assert_eq!(channels.attempts().1, 3, "tried once a run");
            assert!(channels.published().is_empty());
            let recovered = burn_run_after(4, &spec, &reads, &ledger, &channels).await;
            assert!(!recovered.delivery.failed(), "{:?}", recovered.delivery);
            assert_eq!(recovered.delivery.sent.len(), 1, "{:?}", recovered.delivery);
            assert!(recovered.delivery.sent[0].retried);
            let after = burn_run_after(5, &spec, &reads, &ledger, &channels).await;
            assert!(!after.delivery.failed(), "{:?}", after.delivery);
            assert_eq!(channels.published().len(), 1, "published once");
        }

        /// A burn page still pending once [`notify::BURN_RESEND_DAYS`] have passed is given up: settled
        /// as superseded (never sent), and the run that settles it fails naming it — never dropped in
        /// silence. The runs after are quiet.
        #[tokio::test(start_paused = true)]
        async fn a_burn_page_pending_past_the_resend_days_is_given_up_as_a_failure() {
            use crate::cost_pass::notify::{self, BURN_RESEND_DAYS};
            use crate::ledger::delivery::{DeliveryRecord, DeliveryState};
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            record_burn_page(&spec, &ledger).await;
            channels.script_sns([Outcome::Fail("AuthorizationError".into())]);
            let last = i64::try_from(BURN_RESEND_DAYS).unwrap() - 1;
            let tried = burn_run_after(last, &spec, &reads, &ledger, &channels).await;
            assert!(tried.delivery.failed() && tried.delivery.superseded.is_empty());
            assert_eq!(channels.attempts().1, 1, "still sent on its last day");
            let given_up = burn_run_after(last + 1, &spec, &reads, &ledger, &channels).await;
            assert!(given_up.delivery.failed(), "{:?}", given_up.delivery);
            let error = &given_up.delivery.errors[0];
            assert!(
                error.contains("page_fast#sns") && error.contains("given up"),
                "{error}"
            );
            assert!(
                error.contains("AuthorizationError"),
                "the last send error: {error}"
            );
            assert_eq!(given_up.delivery.superseded.len(), 1);
            assert_eq!(channels.attempts().1, 1, "not sent again");
            let pk = Keys::new(spec.managed_prefix()).fast_burn(as_of().date_naive());
            let record = DeliveryRecord::parse(&ledger.detail(&pk, "page_fast#sns").unwrap()).unwrap();
            assert_eq!(record.state, DeliveryState::Superseded);
            assert!(
                ledger.expires_in(&pk, "page_fast#sns").is_some(),
                "kept for inspection, then expires"
            );
            assert!(notify::settled(&ledger.detail(&pk, "page_fast#sns").unwrap()));
            let quiet = burn_run_after(last + 2, &spec, &reads, &ledger, &channels).await;
            assert!(!quiet.delivery.failed(), "{:?}", quiet.delivery);
            assert!(channels.published().is_empty());
        }

        /// Two runs at once (an at-least-once scheduler delivering twice, a retry beside the next run)
        /// both read a pending page: it is published once, Slack posted once; the run that found it
        /// being sent says so, and nothing failed (docs/cost-governance.md, "Two runs at once").
        #[tokio::test(start_paused = true)]
        async fn two_runs_at_once_send_a_pending_page_once() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            record_burn_page(&spec, &ledger).await;
            channels.script_sns([Outcome::AcceptAfter(std::time::Duration::from_secs(5))]);
            let options = PassOptions::new(&spec, as_of()).with_notify(true);
            let context = context(&spec, &options, &reads, &ledger, &channels);
            let (a, b) = tokio::join!(context.fast_burn(), context.fast_burn());
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(
                channels.published().len(),
                1,
                "{:?} / {:?}",
                a.delivery,
                b.delivery
            );
            let sent = a.delivery.sent.len() + b.delivery.sent.len();
            let in_flight = a.delivery.in_flight.len() + b.delivery.in_flight.len();
            assert_eq!((sent, in_flight), (1, 1), "{:?} / {:?}", a.delivery, b.delivery);
            assert!(!a.delivery.failed() && !b.delivery.failed());
            // Sent and marked: a later run sends nothing.
            let again = context.fast_burn().await.unwrap();
            assert_eq!(channels.published().len(), 1, "{:?}", again.delivery);
        }

        /// Cost Explorer marks every day of the open month `Estimated`: a run used to ask again from
        /// the 1st every day. A day read three days old is kept (flag and all) and not asked again;
        /// three days after its month closes it is read once more, then kept as found (as the
        /// organisation pass does, `org::cost`).
        #[tokio::test(start_paused = true)]
        async fn the_open_months_estimated_days_are_kept_once_read_three_days_old() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let mut reads = Flaky::new(&counter);
            let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
            reads.inner = reads.inner.with_estimated_from(d(11, 1));
            let run_on = |m, n| {
                let options = PassOptions::new(&spec, Utc.with_ymd_and_hms(2026, m, n, 13, 0, 0).unwrap())
                    .with_ce_day(d(m, n));
                let (reads, ledger, channels, spec) = (&reads, &ledger, &channels, &spec);
                async move { run_with(spec, &options, reads, ledger, channels).await.unwrap() }
            };
            let first = run_on(11, 21).await;
            assert_eq!(first.ce_query.map(|q| q.0), Some(d(10, 22)));
            let stored = stored_day(&ledger, &spec, d(11, 5)).await.unwrap().unwrap();
            assert!(stored.estimated, "kept as Cost Explorer marked it");
            assert_eq!(stored.read_on, Some(d(11, 21)));
            // Nov 1–18 were three days old or more when read on the 21st: the 22nd asks from the 19th.
            let next = run_on(11, 22).await;
            assert_eq!(next.ce_query.map(|q| q.0), Some(d(11, 19)));
            assert!(next.missing.is_empty(), "{:?}", next.missing);
            // Three days after November closes its estimates are read once more (the window starts Nov 4
            // on Dec 4), then kept: the next day asks only for the days still new.
            let after_close = run_on(12, 4).await;
            assert_eq!(after_close.ce_query.map(|q| q.0), Some(d(11, 4)));
            let kept = run_on(12, 5).await;
            assert_eq!(kept.ce_query.map(|q| q.0), Some(d(12, 2)));
        }

        /// A spec's budgets each cover the whole environment: with $500 and $300 the burn is measured
        /// against $300 (the tightest), not an $800 allowance no budget has.
        #[tokio::test(start_paused = true)]
        async fn the_burn_is_measured_against_the_tightest_budget() {
            let mut spec = spec();
            let mut second = spec.budgets[0].clone();
            second.name = "collectiq-prod-tight".to_owned();
            second.limit_usd = Decimal::from(300);
            spec.budgets.push(second);
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            let options = PassOptions::new(&spec, as_of());
            let context = context(&spec, &options, &reads, &ledger, &channels);
            let run = context.fast_burn().await.unwrap();
            assert_eq!(run.burn.allowance, Decimal::from(300));
        }

        /// The hourly check's 3 d window is the environment's Cost Explorer daily totals the daily run
        /// left in the ledger (cost-anchors §4), read without a Cost Explorer request; before the daily
        /// run has stored any, the window is the token cost and the alert says so.
        #[tokio::test(start_paused = true)]
        async fn the_burn_check_takes_its_3d_window_from_the_daily_runs_stored_days() {
            use cost::fastburn::{LongWindow, Window};
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter); // $14 a day, no Bedrock tokens
            let options = PassOptions::new(&spec, as_of());
            let context = context(&spec, &options, &reads, &ledger, &channels);
            let before = context.fast_burn().await.unwrap();
            let why = before.burn.long_window.describe();
            assert!(
                matches!(before.burn.long_window, LongWindow::BedrockTokens { .. })
                    && why.contains("for 0 of the 7 days before 2026-11-21"),
                "{why}"
            );
            assert!(
                fast_burn_text(&spec, &before.burn, FastBurnAlert::Ticket).contains(&why),
                "the alert says what the 3d window is"
            );
            assert_eq!(before.burn.windows[4].cost, Decimal::ZERO);

            context.daily().await.unwrap();
            let ce_before = counter.snapshot().cost_explorer();
            let after = context.fast_burn().await.unwrap();
            assert_eq!(
                counter.snapshot().cost_explorer(),
                ce_before,
                "no Cost Explorer request"
            );
            let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
            assert_eq!(
                after.burn.long_window,
                LongWindow::CostExplorer {
                    days: vec![d(18), d(19), d(20)],
                    includes_estimated: false
                }
            );
            // $42 over 72 h against $500 over November's 720 h: 0.84×.
            assert_eq!(after.burn.windows[4].cost, Decimal::from(42));
            assert_eq!(after.burn.rate(Window::D3).round_dp(6), Decimal::new(84, 2));
            let text = fast_burn_text(&spec, &after.burn, FastBurnAlert::Ticket);
            assert!(
                text.contains("3d: Cost Explorer daily totals of 2026-11-18 to 2026-11-20 (complete days)"),
                "{text}"
            );
        }

        /// Cost Explorer books a day up to 24 h late and marks the open month `Estimated`: the day the
        /// daily run read the morning after (Nov 20, read on the 21st) is half-booked and would pull
        /// the 3-day rate down; the window takes the three days before it, until a later run reads it
        /// again.
        #[tokio::test(start_paused = true)]
        async fn the_burn_checks_3d_window_leaves_out_a_day_read_the_morning_after() {
            use cost::fastburn::LongWindow;
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let mut reads = Flaky::new(&counter);
            let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
            reads.inner = reads.inner.with_estimated_from(d(1));
            let options = PassOptions::new(&spec, as_of());
            let context = context(&spec, &options, &reads, &ledger, &channels);
            context.daily().await.unwrap();
            let stored = stored_day(&ledger, &spec, d(20)).await.unwrap().unwrap();
            assert!(stored.estimated && stored.read_on == Some(d(21)), "{stored:?}");
            let burn = context.fast_burn().await.unwrap().burn;
            assert_eq!(
                burn.long_window,
                LongWindow::CostExplorer {
                    days: vec![d(17), d(18), d(19)],
                    includes_estimated: true
                }
            );
        }

        /// The stored days cannot be read: a dry run shows the burn with the token cost in the 3 d
        /// window and names the failure; a run that sends fails on it, typed as the ledger's (its
        /// sends are recorded there first), and the next hourly run tries again.
        #[tokio::test(start_paused = true)]
        async fn an_unreadable_ledger_is_named_by_a_dry_burn_check_and_fails_a_sending_one() {
            use crate::ledger::LedgerOp;
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            let dry = PassOptions::new(&spec, as_of());
            let context = |options| PassContext {
                spec: &spec,
                options,
                reads: &reads,
                ledger: &ledger,
                channels: &channels,
                counter: &reads.counter,
            };
            ledger.fail(LedgerOp::Query, 1);
            let shown = context(&dry).fast_burn().await.unwrap();
            let why = shown.burn.long_window.describe();
            assert!(
                why.starts_with("3d: Bedrock token cost from CloudWatch")
                    && why.contains("the ledger's Cost Explorer totals could not be read (ledger "),
                "{why}"
            );
            let sending = PassOptions::new(&spec, as_of()).with_notify(true);
            ledger.fail(LedgerOp::Query, 1);
            let failed = context(&sending).fast_burn().await;
            assert!(matches!(failed, Err(CostPassError::Ledger(_))), "{failed:?}");
            assert!(
                context(&sending).fast_burn().await.is_ok(),
                "the next run reads it"
            );
        }

        /// Cost Explorer fails on the second page: the first page's days are in the ledger already
        /// (paid for, kept), the report is not sent, and the next run asks CE only from where the
        /// stored days end — and sends.
        #[tokio::test(start_paused = true)]
        async fn pages_read_before_a_failure_are_kept_and_the_next_run_completes() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            *reads.fail_page_call.lock().unwrap() = Some(2);
            let first = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(
                first
                    .missing
                    .iter()
                    .any(|m| m.what.starts_with("Cost Explorer days from 2026-10-22")),
                "{:?}",
                first.missing
            );
            assert!(channels.posted().is_empty());
            // Page one covered Oct 22 .. Oct 31 (10 days); the last day of a page may continue on the
            // next, so Oct 22 .. Oct 30 are stored.
            let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
            assert!(stored_day(&ledger, &spec, d(10, 22)).await.unwrap().is_some());
            assert!(stored_day(&ledger, &spec, d(10, 30)).await.unwrap().is_some());
            assert!(stored_day(&ledger, &spec, d(10, 31)).await.unwrap().is_none());
            let ce_first = counter.snapshot().of("GetCostAndUsage");
            assert_eq!(ce_first, 2);

            let second = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(second.missing.is_empty(), "{:?}", second.missing);
            assert_eq!(second.ce_query.map(|q| q.0), Some(d(10, 31)));
            assert_eq!(second.cached_days, 9);
            assert_eq!(channels.posted().len(), 1);
        }

        /// Audit: one `"Amount":"NaN"` of a dev group on one day stopped the prod report ("no Cost
        /// Explorer data for the report"), and nothing was stored, so every run failed the same way.
        /// The report goes out with a note naming the day and the group; the days that parsed are
        /// stored, the incomplete one is not, and the next run asks Cost Explorer for it again.
        #[tokio::test(start_paused = true)]
        async fn an_unreadable_amount_leaves_its_day_incomplete_and_the_report_goes_out() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
            *reads.unreadable_on.lock().unwrap() = Some(d(18));
            let first = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(first.missing.is_empty(), "{:?}", first.missing);
            assert!(
                first.report.notes.iter().any(|n| n.contains("2026-11-18")
                    && n.contains("Amazon Rekognition / Environment$dev")
                    && n.contains("incomplete")),
                "{:#?}",
                first.report.notes
            );
            assert_eq!(channels.posted().len(), 1, "the report is sent");
            assert!(stored_day(&ledger, &spec, d(17)).await.unwrap().is_some());
            assert!(stored_day(&ledger, &spec, d(19)).await.unwrap().is_some());
            assert!(
                stored_day(&ledger, &spec, d(18)).await.unwrap().is_none(),
                "an incomplete day is not kept as final"
            );
            *reads.unreadable_on.lock().unwrap() = None;
            let again = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert_eq!(again.ce_query.map(|q| q.0), Some(d(18)));
            assert!(stored_day(&ledger, &spec, d(18)).await.unwrap().is_some());
        }

        /// Audit: ledger items `…#ce-daily` of three days with a row of `5e28` each panicked the hourly
        /// check ("Addition overflowed", `cost::fastburn`) and the daily report (`cost::anomaly`), every
        /// run until they expired. They are refused by name: the burn check leaves them out, the
        /// report says so and asks Cost Explorer for those days again, replacing the items.
        #[tokio::test(start_paused = true)]
        async fn stored_days_out_of_range_are_asked_for_again_not_summed() {
            use cost::input::CostRow;
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            let keys = Keys::new(spec.managed_prefix());
            let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
            for n in 18..=20 {
                let hostile = DaySnapshot {
                    estimated: false,
                    rows: vec![CostRow {
                        date: d(n),
                        service: "AWS Lambda".into(),
                        environment: Some("prod".into()),
                        amount: "50000000000000000000000000000".parse().unwrap(),
                        estimated: false,
                    }],
                    read_on: Some(d(21)),
                };
                ledger::put_snapshot(
                    &ledger,
                    &keys.ce_daily(),
                    &d(n).to_string(),
                    &hostile,
                    SNAPSHOT_KEEP,
                )
                .await
                .unwrap();
            }
            let options = PassOptions::new(&spec, as_of()).with_ce_day(as_of().date_naive());
            let context = context(&spec, &options, &reads, &ledger, &channels);
            let burn = context.fast_burn().await.unwrap().burn;
            assert!(
                matches!(burn.long_window, cost::fastburn::LongWindow::BedrockTokens { .. }),
                "{:?}",
                burn.long_window
            );
            let daily = context.daily().await.unwrap();
            for n in 18..=20 {
                let item = format!("{}/2026-11-{n} refused", keys.ce_daily());
                assert!(
                    daily.report.notes.iter().any(|note| note.contains(&item)),
                    "{item}: {:#?}",
                    daily.report.notes
                );
                let stored = stored_day(&ledger, &spec, d(n)).await.unwrap().unwrap();
                assert_eq!(
                    stored.rows[0].amount,
                    Decimal::from(14),
                    "replaced by Cost Explorer's answer"
                );
            }
            let after = context.fast_burn().await.unwrap().burn;
            assert_eq!(after.windows[4].cost, Decimal::from(42));
        }

        /// A throttled `GetCostForecast` is not cached as "unavailable" for the day: the next run asks
        /// again. A lasting answer (not implemented) is cached: the run after that does not.
        #[tokio::test(start_paused = true)]
        async fn a_transient_forecast_failure_is_not_cached_for_the_day() {
            let spec = spec();
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let keys = Keys::new(spec.managed_prefix());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            *reads.forecast_throttles.lock().unwrap() = 1;
            let day = "2026-11-21";
            let cached = || async {
                ledger::snapshots::<_, ForecastSnapshot>(&ledger, &keys.ce_forecast(), day, day)
                    .await
                    .unwrap()
            };
            let throttled = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert!(cached().await.is_empty(), "a throttle must not be cached");
            assert_eq!(counter.snapshot().of("GetCostForecast"), 1);
            // Not the day's final report: nothing posted or claimed while the forecast may still come.
            assert!(
                throttled
                    .missing
                    .iter()
                    .any(|m| m.what.starts_with("Cost Explorer forecast (")),
                "{:?}",
                throttled.missing
            );
            assert!(channels.posted().is_empty(), "nothing posted");
            let next = run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert_eq!(counter.snapshot().of("GetCostForecast"), 2, "asked again");
            assert!(next.missing.is_empty(), "{:?}", next.missing);
            assert_eq!(channels.posted().len(), 1, "the complete report, once");
            assert_eq!(cached().await.len(), 1, "not implemented holds all day");
            run(&spec, &reads, &ledger, &channels).await.unwrap();
            assert_eq!(counter.snapshot().of("GetCostForecast"), 2);
        }

        /// `ce_daily_request_cap = 0` means no Cost Explorer request at all, not "the first one".
        #[tokio::test(start_paused = true)]
        async fn cap_zero_sends_no_cost_explorer_request() {
            let mut spec = spec();
            spec.cost.ce_daily_request_cap = 0;
            let (ledger, channels) = (MemoryLedger::new(), FakeChannels::new());
            let counter = RequestCounter::new();
            let reads = Flaky::new(&counter);
            let r = run(&spec, &reads, &ledger, &channels).await;
            assert_eq!(
                counter.snapshot().cost_explorer(),
                0,
                "{}",
                counter.snapshot().summary()
            );
            assert!(matches!(r, Err(CostPassError::NoCostData(_))), "{r:?}");
            assert!(channels.posted().is_empty());
        }
    }

    #[test]
    fn spec_design_model_becomes_the_seed() {
        let s = report_settings(&spec());
        assert_eq!(s.seed, SeedCostModel::collectiq());
        assert_eq!(s.anomaly.min_dollar_delta, Decimal::from(5));
        assert_eq!(s.drift_threshold_pct, Decimal::from(10));
    }

    #[test]
    fn app_series_are_capped_with_a_note_aws_series_kept() {
        let spec = spec();
        let ns = telemetry::catalogue::NAMESPACE;
        let key = |ns: &str, metric: &str, model: &str| read::SeriesKey {
            namespace: ns.to_owned(),
            metric_name: metric.to_owned(),
            dimensions: vec![("model".to_owned(), model.to_owned())],
        };
        // Junk that sorts first (a request id as the model), then the report's own series last.
        let own_model = spec.bedrock_models[0].id.clone();
        let mut series: Vec<read::SeriesKey> = (0..MAX_APP_SERIES + 5)
            .map(|i| key(ns, "BedrockInputTokens", &format!("0{i:05}")))
            .chain([
                key(ns, "BedrockInputTokens", &own_model),
                key(ns, "CardsValued", ""),
            ])
            .chain((0..3).map(|i| key("AWS/Bedrock", "InputTokenCount", &format!("m{i}"))))
            .collect();
        let mut notes = Vec::new();
        cap_app_series(&mut series, &spec, &mut notes);
        assert_eq!(
            series.iter().filter(|s| s.namespace == ns).count(),
            MAX_APP_SERIES
        );
        assert_eq!(series.iter().filter(|s| s.namespace == "AWS/Bedrock").count(), 3);
        assert!(
            series.iter().any(|s| s.metric_name == "CardsValued"),
            "the valuation count is kept"
        );
        assert!(
            series.iter().any(|s| s.dimensions[0].1 == own_model),
            "the spec's model is kept"
        );
        assert!(notes[0].starts_with("1007 token and volume series"), "{notes:?}");
        let mut few: Vec<read::SeriesKey> = (0..10)
            .map(|i| key(ns, "BedrockInputTokens", &format!("m{i}")))
            .collect();
        let mut quiet = Vec::new();
        cap_app_series(&mut few, &spec, &mut quiet);
        assert_eq!((few.len(), quiet.len()), (10, 0));
    }

    #[test]
    fn a_spec_without_a_design_model_is_compared_with_no_seed() {
        let mut spec = spec();
        spec.cost.design_model = None;
        assert_eq!(report_settings(&spec).seed, SeedCostModel::none());
        for file in ["budgetbuddy-prod.toml", "backoffice-dev.toml"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../infra/platforms")
                .join(file);
            let spec = platform_spec::load(&path).unwrap();
            assert!(!report_settings(&spec).seed.has_valuations(), "{file}");
        }
    }

    #[test]
    fn tokens_per_valuation_and_aliases_come_from_the_spec() {
        let mut spec = spec();
        let design = spec.cost.design_model.as_mut().unwrap();
        assert_eq!(seed_model(design).bedrock_tokens_per_valuation, Some((1000, 200)));
        design.tokens_per_valuation = Some(platform_spec::TokensPerValuation {
            input: 3000,
            output: 500,
        });
        assert_eq!(
            report_settings(&spec).seed.bedrock_tokens_per_valuation,
            Some((3000, 500))
        );
        spec.cost.design_model.as_mut().unwrap().tokens_per_valuation = None;
        assert_eq!(report_settings(&spec).seed.bedrock_tokens_per_valuation, None);

        assert!(report_settings(&spec).model_aliases.is_empty());
        let profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3";
        spec.bedrock_models[0].aliases.push(profile.to_owned());
        let s = report_settings(&spec);
        assert_eq!(s.model_aliases[profile], spec.bedrock_models[0].id);
        let model = prices().unwrap().resolve_with(profile, &s.model_aliases).unwrap();
        assert!(model.key.contains("sonnet"), "{}", model.key);
    }

    /// The platforms whose seeds keep pages for outages (BudgetBuddy, seed 003; Backoffice, seed 002)
    /// get no page from spend; CollectIQ's budgets page at 150 % (seed 000 "Critical Alarms").
    #[test]
    fn spend_pages_only_where_the_seed_pages_on_cost() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/platforms");
        for (file, quiet) in [
            ("collectiq-prod.toml", false),
            ("collectiq-dev.toml", false),
            ("budgetbuddy-prod.toml", true),
            ("backoffice-dev.toml", true),
        ] {
            let spec = platform_spec::load(&root.join(file)).unwrap();
            let s = report_settings(&spec);
            let names: std::collections::BTreeSet<String> =
                spec.budgets.iter().map(|b| b.name.clone()).collect();
            assert_eq!(
                s.quiet_budgets,
                if quiet { names } else { Default::default() },
                "{file}"
            );
        }
    }

    /// "The Cost Explorer API can access up to 13 months of historical data and data for the current
    /// month" (AWS Cost Management user guide): on 2026-11-22 that is October 2025 onwards. A day before
    /// it is refused naming `--date`; the future stays refused.
    #[test]
    fn report_days_stay_within_cost_explorers_history() {
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 30, 0).unwrap();
        let d = |y, m, n| NaiveDate::from_ymd_opt(y, m, n).unwrap();
        assert_eq!(
            as_of_for(Some(d(2025, 10, 1)), now).unwrap().to_rfc3339(),
            "2025-10-01T23:59:59+00:00"
        );
        let e = as_of_for(Some(d(2025, 9, 30)), now).unwrap_err();
        assert_eq!(
            e,
            ReportDateError::BeforeHistory {
                date: d(2025, 9, 30),
                earliest: d(2025, 10, 1)
            }
        );
        let said = e.to_string();
        assert!(said.starts_with("--date 2025-09-30 is too far back"), "{said}");
        assert!(
            said.contains("13 months") && said.ends_with("2025-10-01"),
            "{said}"
        );
        assert!(as_of_for(Some(d(2019, 1, 1)), now).is_err());
        assert_eq!(
            as_of_for(Some(d(2026, 11, 23)), now),
            Err(ReportDateError::Future(d(2026, 11, 23)))
        );
    }

    #[test]
    fn window_reaches_back_for_the_anomaly_baseline() {
        let s = report_settings(&spec());
        let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
        // The drop day (Nov 19, two days back) minus 4 weeks = Oct 22; the settled window starts Nov 1.
        assert_eq!(needed_from(d(11, 21), &s), d(10, 22));
        // On Dec 2 the settled window is November.
        assert_eq!(needed_from(d(12, 2), &s), d(11, 1));
    }

    #[test]
    fn fast_burn_message_is_within_slack_limits() {
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        let mut s = cost::input::MetricSumSeries::new("AWS/Bedrock", "InputTokenCount")
            .with_dimension("ModelId", "anthropic.claude-3-5-sonnet-20240620-v1:0");
        for k in 1..=12 {
            s = s.with_point(now - Duration::minutes(5 * k), 1e6);
        }
        let burn = fast_burn(prices().unwrap(), &[s], Decimal::from(500), now, &BTreeMap::new());
        let alert = burn.alert.unwrap();
        assert_eq!(alert, FastBurnAlert::PageFast);
        let msg = fast_burn_message(&spec(), &burn, alert);
        assert!(validate(&msg).is_empty(), "{:?}", validate(&msg));
        assert!(msg.text.contains("PAGE: fast burn"), "{}", msg.text);
        let text = fast_burn_text(&spec(), &burn, alert);
        assert!(text.contains("1h"), "{text}");
        assert_eq!(alert_kind(alert), "page_fast");

        // A rate just under a page's threshold never reads as the threshold in the page's text.
        let mut under = burn.clone();
        for w in &mut under.windows {
            w.burn_rate = Decimal::new(14_38, 2);
        }
        let line = burn_line(&under);
        assert!(line.contains("1h 14.3x") && !line.contains("14.4"), "{line}");
        let text = fast_burn_text(&spec(), &under, FastBurnAlert::PageSlow);
        assert!(text.contains("burn rate 14.38x"), "{text}");
        for w in &mut under.windows {
            w.burn_rate = Decimal::new(5_996, 3);
        }
        assert!(!burn_line(&under).contains("6.0x"), "{}", burn_line(&under));
        assert!(fast_burn_text(&spec(), &under, FastBurnAlert::Ticket).contains("burn rate 5.99x"));
    }

    /// Tokens of a model with no price (an inference profile the spec does not alias) are in no
    /// window: the ticket says the spend cannot be measured and names the model, not "slow burn".
    #[test]
    fn a_ticket_for_unpriced_tokens_names_the_model() {
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        let s = cost::input::MetricSumSeries::new("AWS/Bedrock", "InputTokenCount")
            .with_dimension("ModelId", "us.vendor.<mystery>-v9")
            .with_point(now - Duration::minutes(10), 2e6);
        let burn = fast_burn(prices().unwrap(), &[s], Decimal::from(500), now, &BTreeMap::new());
        assert_eq!(burn.alert, Some(FastBurnAlert::Ticket));
        let msg = fast_burn_message(&spec(), &burn, FastBurnAlert::Ticket);
        assert!(validate(&msg).is_empty(), "{:?}", validate(&msg));
        assert!(msg.text.contains("TICKET: tokens with no price"), "{}", msg.text);
        let shown = serde_json::to_string(&msg.blocks).unwrap();
        assert!(shown.contains("us.vendor.&lt;mystery&gt;-v9"), "{shown}");
        let text = fast_burn_text(&spec(), &burn, FastBurnAlert::Ticket);
        assert!(text.contains("cannot be measured"), "{text}");
        assert!(
            text.contains("Unpriced model ids: us.vendor.<mystery>-v9"),
            "{text}"
        );
    }
}
