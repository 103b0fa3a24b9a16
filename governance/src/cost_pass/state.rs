//! What the cost pass keeps in the governance ledger, and under which keys (`{platform}-{env}` prefix):
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `{prefix}#ce-daily` | `YYYY-MM-DD` | one day of Cost Explorer rows (snapshot): settled days are never re-queried |
//! | `{prefix}#ce-forecast` | `YYYY-MM-DD` | today's `GetCostForecast` answer (or why there is none) |
//! | `{prefix}#ce-requests` | `YYYY-MM-DD` | Cost Explorer requests that day (counter with the daily cap) |
//! | `{prefix}#cost-report` | `YYYY-MM-DD` | the day's Slack delivery record (the report), or a marker pointing at the transition record that carried it |
//! | `{prefix}#cost-alert#<period>` | `tier#NNN` / `recovery#NNN` | Slack delivery record of the report announcing tier NNN % / the recovery from it |
//! | `{prefix}#cost-alert#<period>` | `sns#NNN` | SNS delivery record of the critical page for tier NNN % |
//! | `{prefix}#cost-alert#<period>` | `sns-owed#NNN` | written by earlier versions only: Slack announced tier NNN % but its page failed; the next run records and sends the page |
//! | `{prefix}#cost-tiers` | `YYYY-MM-DD` | the tier each budget showed in the day's report ([`ShownTiers`]): the next report's hysteresis holds the tier shown last, not the highest announced |
//! | `{prefix}#fast-burn#YYYY-MM-DD` | `page_fast` / `page_slow` / `ticket` | Slack delivery records of the hourly check |
//! | `{prefix}#fast-burn#YYYY-MM-DD` | `page_fast#sns` / `page_slow#sns` | SNS delivery records of the hourly check |
//!
//! `<period>` is the budgets' own period ([`super::alert_period`]): `YYYY-MM`, or `YYYY-Qn` / `YYYY` when
//! every budget is quarterly / annual, so a quarterly budget's tier fires once a quarter.
//!
//! A delivery record ([`crate::ledger::delivery`]) holds its message and whether it was sent; each
//! channel has its own, so a failed Slack post never holds back a page or the reverse.
//!
//! The hourly burn check reads the `ce-daily` snapshots too (its 3 d window is Cost Explorer's daily
//! totals, cost-anchors §4), with `dynamodb:Query` only and no Cost Explorer request.
//!
//! The alert state [`cost::alerting::decide`] needs is rebuilt from the `cost-alert` items whose message
//! was delivered: the highest tier delivered is the highest notified, and a delivered `recovery#` item for
//! it means the recovery note went out. A transition whose message is still pending is decided again
//! (and its record sent). Each new transition is recorded in one conditional transaction with its
//! messages, so two concurrent runs cannot both record it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{Datelike, Days, Months, NaiveDate};
use cost::alerting::{AlertDecision, AlertState};
use cost::burn::{CeForecastInput, Tier, TierParts};
use cost::input::{CostRow, DailyCostTable};
use serde::{Deserialize, Serialize};

use crate::ledger::{LedgerError, LedgerStore, put_snapshot, snapshots};

/// How long daily snapshots are kept (the anomaly baseline reaches back 29 days; the trend 14).
pub const SNAPSHOT_KEEP: Duration = Duration::from_secs(70 * 86_400);
/// How long delivery records and markers are kept (past the end of their period).
pub const CLAIM_KEEP: Duration = Duration::from_secs(70 * 86_400);
/// [`alert_keep`] of the longest period (a year) from its first day: for records of a partition whose
/// period is not known when they are sent.
pub const LONGEST_ALERT_KEEP: Duration = Duration::from_secs((366 + 70) * 86_400);

/// How long the records and claims of the alert period `period` are kept when written on `today`: until
/// [`CLAIM_KEEP`] after the period ends. A claim gone before its period ends would have the period's
/// tier announced (and paged) again: a quarterly budget's 80 % claim of October 5 kept 70 days would
/// expire on December 14, within the quarter.
///
/// ```
/// use chrono::NaiveDate;
/// use cost::burn::{BudgetPeriod, BudgetTimeUnit};
/// use governance::cost_pass::state::{CLAIM_KEEP, alert_keep};
/// let oct5 = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap();
/// let q4 = BudgetPeriod::containing(BudgetTimeUnit::Quarterly, oct5);
/// assert_eq!(alert_keep(&q4, oct5).as_secs(), (88 * 86_400) + CLAIM_KEEP.as_secs());
/// ```
#[must_use]
pub fn alert_keep(period: &cost::burn::BudgetPeriod, today: chrono::NaiveDate) -> Duration {
    let left = u64::try_from((period.end - today).num_days()).unwrap_or(0);
    Duration::from_secs(left * 86_400) + CLAIM_KEEP
}

/// How many days after a day Cost Explorer's figures for it have stopped moving: CE lags by up to
/// 24 h (`docs/cost.md`) and updates its data at least once a day, up to three times (cost-anchors
/// §0.3–0.4), so the day three days back has had two full days of updates after its lag. A day read
/// that old counts as settled even while `Estimated` — as every day of the open month is — and so is
/// read from Cost Explorer once, not on every run until the month closes. A month's bill is finalised
/// after it closes, at a time AWS does not state: each such day is read once more this many days after
/// its month ends, and kept as that read found it. The single-account pass ([`query_start`]) and the
/// organisation's ([`crate::org`]) both go by it.
pub const SETTLE_DAYS: u64 = 3;

/// The first day after `date`'s month.
fn month_after(date: NaiveDate) -> Option<NaiveDate> {
    date.with_day(1)?.checked_add_months(Months::new(1))
}

/// `date` plus `days`.
#[must_use]
pub fn plus_days(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days)).unwrap_or(NaiveDate::MAX)
}

/// Whether a read on `today` is the one made [`SETTLE_DAYS`] after `date`'s month closed (or later).
///
/// ```
/// use chrono::NaiveDate;
/// use governance::cost_pass::state::after_close;
/// let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
/// assert!(!after_close(d(11, 30), d(12, 3)));
/// assert!(after_close(d(11, 30), d(12, 4)));
/// ```
#[must_use]
pub fn after_close(date: NaiveDate, today: NaiveDate) -> bool {
    month_after(date).is_some_and(|next| plus_days(next, SETTLE_DAYS) <= today)
}

/// Ledger keys of one platform environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (`collectiq-prod`).
    #[must_use]
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// Daily CE snapshots.
    #[must_use]
    pub fn ce_daily(&self) -> String {
        format!("{}#ce-daily", self.prefix)
    }

    /// Cached forecasts.
    #[must_use]
    pub fn ce_forecast(&self) -> String {
        format!("{}#ce-forecast", self.prefix)
    }

    /// The CE request counter.
    #[must_use]
    pub fn ce_requests(&self) -> String {
        format!("{}#ce-requests", self.prefix)
    }

    /// Daily report claims.
    #[must_use]
    pub fn report(&self) -> String {
        format!("{}#cost-report", self.prefix)
    }

    /// Budget alert claims of one period (`YYYY-MM`).
    #[must_use]
    pub fn alert(&self, period: &str) -> String {
        format!("{}#cost-alert#{period}", self.prefix)
    }

    /// The tiers each day's report showed, per budget ([`ShownTiers`]).
    #[must_use]
    pub fn shown_tiers(&self) -> String {
        format!("{}#cost-tiers", self.prefix)
    }

    /// Fast-burn claims of one day.
    #[must_use]
    pub fn fast_burn(&self, day: NaiveDate) -> String {
        format!("{}#fast-burn#{day}", self.prefix)
    }
}

/// One day of Cost Explorer rows as stored in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySnapshot {
    /// Whether CE still marked the day `Estimated` (such a day is queried again until it was read
    /// [`SETTLE_DAYS`] old, and once more [`SETTLE_DAYS`] after its month closed: [`DaySnapshot::settled_for`]).
    pub estimated: bool,
    /// The day's rows (every service × environment tag).
    pub rows: Vec<CostRow>,
    /// The report day of the run that read it from Cost Explorer (absent in snapshots written before
    /// it was kept: an `Estimated` one of those is read again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_on: Option<NaiveDate>,
}

impl DaySnapshot {
    /// Whether this snapshot can stand for the stored `date`: every row is of that day, with an amount
    /// within ±[`cost::input::MAX_AMOUNT`] — the range a Cost Explorer answer is held to.
    ///
    /// # Errors
    /// The first row that cannot, in words.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use cost::input::DailyCostTable;
    /// use governance::cost_pass::state::DaySnapshot;
    /// let d = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    /// let snap = |amount| DaySnapshot {
    ///     estimated: false,
    ///     rows: DailyCostTable::default().with_row(d, "AWS Lambda", amount, false).rows,
    ///     read_on: None,
    /// };
    /// assert!(snap(14.into()).check(d).is_ok());
    /// let hostile = "50000000000000000000000000000".parse().unwrap();
    /// assert!(snap(hostile).check(d).unwrap_err().contains("out of range"));
    /// assert!(snap(14.into()).check(d.succ_opt().unwrap()).is_err());
    /// ```
    pub fn check(&self, date: NaiveDate) -> Result<(), String> {
        for row in &self.rows {
            if row.date != date {
                return Err(format!("it holds a row of {} ({})", row.date, row.service));
            }
            cost::input::within_range(row.amount, &row.amount.to_string())
                .map_err(|e| format!("{} {e}", row.service))?;
        }
        Ok(())
    }

    /// Whether the stored `date` was read while Cost Explorer was still booking it: `Estimated` and
    /// read by the run of the day after (CE books a day up to 24 h late; the daily run reads
    /// yesterday about 7 h after it ended). Such a day is a fraction of its spend: the fast-burn
    /// check's 3-day window leaves it out until a later run read it again.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use governance::cost_pass::state::DaySnapshot;
    /// let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
    /// let snap = |estimated, read_on| DaySnapshot { estimated, rows: vec![], read_on };
    /// assert!(snap(true, Some(d(21))).half_booked(d(20)), "read the morning after");
    /// assert!(!snap(true, Some(d(22))).half_booked(d(20)), "read again a day later");
    /// assert!(!snap(false, Some(d(21))).half_booked(d(20)), "final");
    /// assert!(!snap(true, None).half_booked(d(20)), "written before read_on was kept: not known");
    /// ```
    #[must_use]
    pub fn half_booked(&self, date: NaiveDate) -> bool {
        self.estimated && self.read_on.is_some_and(|read_on| read_on <= plus_days(date, 1))
    }

    /// Whether the stored `date` answers a run on `today` for good: final, or `Estimated` but read
    /// [`SETTLE_DAYS`] or more after it (its figures had stopped moving) — until [`SETTLE_DAYS`] after
    /// its month closed, when it is read once more unless this read was made then.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use governance::cost_pass::state::DaySnapshot;
    /// let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
    /// let read_on = |day| DaySnapshot { estimated: true, rows: vec![], read_on: Some(day) };
    /// assert!(!read_on(d(11, 19)).settled_for(d(11, 18), d(11, 21)), "a day old when read");
    /// assert!(read_on(d(11, 21)).settled_for(d(11, 18), d(11, 22)), "three days old when read");
    /// assert!(!read_on(d(11, 21)).settled_for(d(11, 18), d(12, 4)), "read once more after the close");
    /// assert!(read_on(d(12, 4)).settled_for(d(11, 18), d(12, 5)));
    /// ```
    #[must_use]
    pub fn settled_for(&self, date: NaiveDate, today: NaiveDate) -> bool {
        if !self.estimated {
            return true;
        }
        let Some(read_on) = self.read_on else {
            return false;
        };
        plus_days(date, SETTLE_DAYS) <= read_on && (after_close(date, read_on) || !after_close(date, today))
    }
}

/// The snapshots of `[from, to)` as one table (days refused as [`cached_snapshots`] refuses them left
/// out).
///
/// # Errors
/// When the ledger query fails.
pub async fn cached_days<L: LedgerStore + ?Sized>(
    ledger: &L,
    keys: &Keys,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<DailyCostTable, LedgerError> {
    Ok(snapshot_table(
        &cached_snapshots(ledger, keys, from, to).await?.days,
    ))
}

/// The stored days of a window ([`cached_snapshots`]): those that can be used, and why each other one
/// cannot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CachedSnapshots {
    /// The stored days that can be used, each with what [`query_start`] needs to know of it.
    pub days: BTreeMap<NaiveDate, DaySnapshot>,
    /// One note per stored day refused, naming its item (`pk/sk`) and why: such a day counts as not
    /// stored (Cost Explorer is asked for it again, and the new answer replaces the item).
    pub refused: Vec<String>,
}

/// The stored days of `[from, to)`. The ledger is not trusted more than Cost Explorer: a stored day
/// that does not parse, holds a row of another day, or an amount beyond ±[`cost::input::MAX_AMOUNT`]
/// (which Cost Explorer's own answers are refused for) is refused — logged and noted in
/// [`CachedSnapshots::refused`] — rather than failing, or panicking, every run until the item expires.
///
/// # Errors
/// When the ledger query fails.
pub async fn cached_snapshots<L: LedgerStore + ?Sized>(
    ledger: &L,
    keys: &Keys,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<CachedSnapshots, LedgerError> {
    let pk = keys.ce_daily();
    let last = to.pred_opt().unwrap_or(to);
    let bodies = ledger
        .snapshot_bodies(&pk, &from.to_string(), &last.to_string())
        .await?;
    let mut cached = CachedSnapshots::default();
    for (sk, body) in bodies {
        let Ok(date) = sk.parse::<NaiveDate>() else {
            continue;
        };
        if date < from || date >= to {
            continue;
        }
        let checked = serde_json::from_str::<DaySnapshot>(&body)
            .map_err(|e| format!("does not parse ({e})"))
            .and_then(|snap| snap.check(date).map(|()| snap));
        match checked {
            Ok(snap) => {
                cached.days.insert(date, snap);
            }
            Err(why) => {
                tracing::warn!(pk = %pk, sk = %sk, why = %why, "stored Cost Explorer day refused");
                cached.refused.push(format!(
                    "stored Cost Explorer day {pk}/{sk} refused: {why}; asked of Cost Explorer again"
                ));
            }
        }
    }
    Ok(cached)
}

/// Stored days as one table.
#[must_use]
pub fn snapshot_table(stored: &BTreeMap<NaiveDate, DaySnapshot>) -> DailyCostTable {
    let mut table = DailyCostTable::default();
    for (date, snap) in stored {
        table.days.insert(*date, snap.estimated);
        table.rows.extend(snap.rows.iter().cloned());
    }
    table.rows.sort_by_key(|r| r.date);
    table
}

/// Stores every day of `table` before `before` (today is partial and never stored), as read by the run
/// of report day `read_on` — but not a day with an amount that could not be read
/// ([`DailyCostTable::unreadable`]): it is incomplete, so it is asked of Cost Explorer again rather than
/// kept. Returns how many days were written.
///
/// # Errors
/// When a put fails.
pub async fn store_days<L: LedgerStore + ?Sized>(
    ledger: &L,
    keys: &Keys,
    table: &DailyCostTable,
    before: NaiveDate,
    read_on: NaiveDate,
) -> Result<usize, LedgerError> {
    let mut written = 0;
    for (date, estimated) in table.days.range(..before) {
        if table.unreadable.contains_key(date) {
            continue;
        }
        let snap = DaySnapshot {
            estimated: *estimated,
            rows: table.rows.iter().filter(|r| r.date == *date).cloned().collect(),
            read_on: Some(read_on),
        };
        put_snapshot(ledger, &keys.ce_daily(), &date.to_string(), &snap, SNAPSHOT_KEEP).await?;
        written += 1;
    }
    Ok(written)
}

/// The first day of `[window_start, today)` the cache cannot answer for good — missing, or `Estimated`
/// and not settled ([`DaySnapshot::settled_for`]: Cost Explorer marks every day of the open month
/// `Estimated`, and one read [`SETTLE_DAYS`] old is kept as it is) — or `today` when every day is
/// settled. Cost Explorer is queried from there.
///
/// ```
/// use chrono::NaiveDate;
/// use governance::cost_pass::state::{DaySnapshot, query_start};
/// let d = |n| NaiveDate::from_ymd_opt(2025, 6, n).unwrap();
/// let snap = |estimated, read_on| DaySnapshot { estimated, rows: vec![], read_on: Some(d(read_on)) };
/// let cached = [(d(1), snap(false, 2)), (d(2), snap(true, 3))].into_iter().collect();
/// // June 2 was a day old when read on the 3rd: asked again on the 4th.
/// assert_eq!(query_start(&cached, d(1), d(4)), d(2));
/// assert_eq!(query_start(&Default::default(), d(1), d(4)), d(1));
/// ```
#[must_use]
pub fn query_start(
    cached: &BTreeMap<NaiveDate, DaySnapshot>,
    window_start: NaiveDate,
    today: NaiveDate,
) -> NaiveDate {
    window_start
        .iter_days()
        .take_while(|d| *d < today)
        .find(|d| cached.get(d).is_none_or(|snap| !snap.settled_for(*d, today)))
        .unwrap_or(today)
}

/// The tier each budget showed in one day's report, by budget name: what the next report's projection
/// hysteresis holds ([`cost::report::ReportSettings::previous_tiers`]). Recorded by the run that
/// records the day's report, once a day (the first such run: later runs that day send nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownTiers {
    /// Budget name → the tier shown.
    pub tiers: BTreeMap<String, Tier>,
    /// Budget name → the tier each projection part showed ([`cost::burn::TierParts`]): each part holds
    /// only a tier it entered itself. Absent from days recorded before it was kept.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, TierParts>,
}

/// The stored [`ShownTiers`] of `[from, to]` (days), oldest first.
///
/// # Errors
/// When the ledger query fails, or a stored item does not parse (named in the error).
pub async fn shown_tiers<L: LedgerStore + ?Sized>(
    ledger: &L,
    keys: &Keys,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, ShownTiers)>, LedgerError> {
    let stored: Vec<(String, ShownTiers)> =
        snapshots(ledger, &keys.shown_tiers(), &from.to_string(), &to.to_string()).await?;
    let mut days = Vec::with_capacity(stored.len());
    for (sk, tiers) in stored {
        let day = sk.parse::<NaiveDate>().map_err(|e| {
            LedgerError::document(
                ledger.table(),
                format!("read shown tiers {}/{from}..={to}", keys.shown_tiers()),
                format!("sort key {sk:?} is not a day (YYYY-MM-DD): {e}"),
            )
        })?;
        days.push((day, tiers));
    }
    days.sort_by_key(|(d, _)| *d);
    Ok(days)
}

/// The tier each budget showed on the last report day before `today` within its own period: `budgets`
/// are `(name, first day of the budget's current period)`, `shown` the stored days. A budget with no
/// report day in its period gets none (it enters a tier at the threshold itself).
///
/// ```
/// use chrono::NaiveDate;
/// use cost::burn::Tier;
/// use governance::cost_pass::state::{ShownTiers, previous_tiers};
/// let d = |m, n| NaiveDate::from_ymd_opt(2026, m, n).unwrap();
/// let shown = |t| ShownTiers { tiers: [("b".to_owned(), t)].into(), parts: Default::default() };
/// let days = [(d(10, 30), shown(Tier::Pct150)), (d(11, 19), shown(Tier::Pct100)), (d(11, 20), shown(Tier::Pct80))];
/// // The tier shown last (80 %), not the highest of the month (100 %).
/// assert_eq!(previous_tiers(&days, &[("b".into(), d(11, 1))], d(11, 21))["b"], Tier::Pct80);
/// // October's tier is not November's.
/// assert!(previous_tiers(&days[..1], &[("b".into(), d(11, 1))], d(11, 21)).is_empty());
/// ```
#[must_use]
pub fn previous_tiers(
    shown: &[(NaiveDate, ShownTiers)],
    budgets: &[(String, NaiveDate)],
    today: NaiveDate,
) -> BTreeMap<String, Tier> {
    budgets
        .iter()
        .filter_map(|(name, period_start)| {
            last_shown(shown, name, *period_start, today).map(|s| (name.clone(), s.tiers[name]))
        })
        .collect()
}

/// The tier each projection part of each budget showed on the same day [`previous_tiers`] takes its
/// tier from, where that day kept them (days recorded before parts were kept have none: their tier
/// stands for both parts).
#[must_use]
pub fn previous_parts(
    shown: &[(NaiveDate, ShownTiers)],
    budgets: &[(String, NaiveDate)],
    today: NaiveDate,
) -> BTreeMap<String, TierParts> {
    budgets
        .iter()
        .filter_map(|(name, period_start)| {
            last_shown(shown, name, *period_start, today)
                .and_then(|s| s.parts.get(name))
                .map(|parts| (name.clone(), *parts))
        })
        .collect()
}

/// The last report day before `today` in the budget's period that showed `name`.
fn last_shown<'a>(
    shown: &'a [(NaiveDate, ShownTiers)],
    name: &str,
    period_start: NaiveDate,
    today: NaiveDate,
) -> Option<&'a ShownTiers> {
    shown
        .iter()
        .rev()
        .filter(|(day, _)| *day >= period_start && *day < today)
        .map(|(_, s)| s)
        .find(|s| s.tiers.contains_key(name))
}

/// A cached forecast: the answer, or why there was none (so a failing forecast is not paid for again
/// on every re-run the same day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastSnapshot {
    /// The forecast, when CE gave one.
    pub forecast: Option<CeForecastInput>,
    /// Why there is none, in plain words (the report's note quotes it).
    pub unavailable: Option<String>,
    /// The class of the failure (absent in snapshots written before failures were classified).
    #[serde(default)]
    pub failure: Option<super::forecast::ForecastFailure>,
}

/// `tier#080`, `tier#100`, ...
#[must_use]
pub fn tier_marker(tier: Tier) -> String {
    format!("tier#{:03}", tier.threshold_pct())
}

/// `recovery#100`: the recovery note after tier 100 % was sent.
#[must_use]
pub fn recovery_marker(from: Tier) -> String {
    format!("recovery#{:03}", from.threshold_pct())
}

fn tier_of_pct(pct: &str) -> Option<Tier> {
    let pct: u32 = pct.parse().ok()?;
    Tier::ALL.into_iter().find(|t| t.threshold_pct() == pct)
}

/// The alert state of `period` rebuilt from its claim sort keys (`None`: nothing claimed yet).
///
/// ```
/// use cost::burn::Tier;
/// use governance::cost_pass::state::alert_state;
/// let s = alert_state("2026-11", &["tier#080".into(), "tier#100".into(), "recovery#100".into()]).unwrap();
/// assert_eq!(s.highest_notified, Tier::Pct100);
/// assert!(s.recovery_sent);
/// ```
#[must_use]
pub fn alert_state(period: &str, claimed: &[String]) -> Option<AlertState> {
    let tiers: Vec<Tier> = claimed
        .iter()
        .filter_map(|sk| sk.strip_prefix("tier#").and_then(tier_of_pct))
        .collect();
    let highest = tiers.into_iter().max()?;
    let recovery_sent = claimed.iter().any(|sk| {
        sk.strip_prefix("recovery#")
            .and_then(tier_of_pct)
            .is_some_and(|t| t == highest)
    });
    Some(AlertState {
        period: period.to_owned(),
        highest_notified: highest,
        current: if recovery_sent { Tier::Ok } else { highest },
        recovery_sent,
    })
}

/// `sns#100`: the SNS claim of the critical message for tier 100 % (`tier` is the `tier#NNN` marker's).
#[must_use]
pub fn sns_marker(tier_marker: &str) -> String {
    format!("sns#{}", tier_marker.trim_start_matches("tier#"))
}

/// The tier marker (`tier#NNN`) whose critical SNS message an earlier version owes: an `sns-owed#NNN`
/// item without its `sns#NNN` record (this version never writes `sns-owed#`: a failed page stays pending).
///
/// ```
/// use governance::cost_pass::state::owed_sns;
/// assert_eq!(owed_sns(&["tier#100".into(), "sns-owed#100".into()]), Some("tier#100".into()));
/// assert_eq!(owed_sns(&["tier#100".into(), "sns-owed#100".into(), "sns#100".into()]), None);
/// assert_eq!(owed_sns(&["tier#100".into()]), None);
/// ```
#[must_use]
pub fn owed_sns(claimed: &[String]) -> Option<String> {
    claimed
        .iter()
        .filter_map(|sk| sk.strip_prefix("sns-owed#"))
        .find(|pct| !claimed.iter().any(|sk| sk.strip_prefix("sns#") == Some(*pct)))
        .map(|pct| format!("tier#{pct}"))
}

/// The claim that records `decision` (`None` for [`AlertDecision::Nothing`]).
#[must_use]
pub fn decision_marker(decision: &AlertDecision) -> Option<String> {
    match decision {
        AlertDecision::Nothing => None,
        AlertDecision::Notify { tier } => Some(tier_marker(*tier)),
        AlertDecision::Escalate { to, .. } => Some(tier_marker(*to)),
        AlertDecision::Recovery { from } => Some(recovery_marker(*from)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cost::alerting::decide;

    /// The day-19 case: the burn ratio alone put a budget at 120 % while its projection read 94.7 %;
    /// with only the tier kept, the next day's 97 % projection was held at 100 %, a tier it never
    /// entered. The day's parts are kept beside its tier and given back with it; an older day without
    /// parts (recorded before they were kept) gives none, so its tier stands for both.
    #[test]
    fn the_parts_shown_are_given_back_from_the_same_day_as_the_tier() {
        use cost::burn::TierParts;
        let d = |n| NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        let parts = TierParts {
            projected: Tier::Pct80,
            ratio: Tier::Pct120,
        };
        let with_parts = ShownTiers {
            tiers: [("b".to_owned(), Tier::Pct120)].into(),
            parts: [("b".to_owned(), parts)].into(),
        };
        let old: ShownTiers = serde_json::from_str(r#"{"tiers":{"b":"pct100"}}"#).unwrap();
        assert!(old.parts.is_empty());
        let budgets = [("b".to_owned(), d(1))];
        let days = [(d(17), old.clone()), (d(18), with_parts)];
        assert_eq!(previous_tiers(&days, &budgets, d(19))["b"], Tier::Pct120);
        assert_eq!(previous_parts(&days, &budgets, d(19))["b"], parts);
        // The day before: only the old day, no parts.
        assert!(previous_parts(&days, &budgets, d(18)).is_empty());
        assert_eq!(previous_tiers(&days, &budgets, d(18))["b"], Tier::Pct100);
    }

    /// The longest delivery marker a Slack record carries (64-character platform and environment names,
    /// the spec's most) fits the room a rendered report keeps for it: a report cut to Slack's limits is
    /// never refused once marked.
    #[test]
    fn the_longest_slack_marker_fits_the_room_the_report_keeps() {
        use crate::cost_pass::notify::record_id;
        use crate::ledger::delivery::SLACK_MARKER_PREFIX;
        let keys = Keys::new(format!("{}-{}", "p".repeat(64), "e".repeat(64)));
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        for id in [
            record_id(&keys.alert("2026-Q4"), "recovery#150"),
            record_id(&keys.alert("2026-11"), "tier#150"),
            record_id(&keys.report(), "2026-11-21"),
            record_id(&keys.fast_burn(day), "page_fast"),
            record_id(&keys.fast_burn(day), "page_slow#sns"),
        ] {
            let marker = format!("{SLACK_MARKER_PREFIX}{id}");
            assert!(
                marker.chars().count() <= cost::slack::limits::MARKER_TEXT,
                "{marker}"
            );
        }
    }

    #[test]
    fn rebuilt_state_drives_decide_like_the_stored_one() {
        // Walk a month: 80 → 100 → same → Ok (recovery) → Ok → 120; rebuild the state from claims each step.
        let period = "2026-11";
        let mut claims: Vec<String> = Vec::new();
        let mut sent = Vec::new();
        for tier in [
            Tier::Pct80,
            Tier::Pct100,
            Tier::Pct100,
            Tier::Ok,
            Tier::Ok,
            Tier::Pct120,
        ] {
            let prev = alert_state(period, &claims);
            let t = decide(prev.as_ref(), period, tier);
            if let Some(m) = decision_marker(&t.decision) {
                assert!(!claims.contains(&m), "a marker is claimed once");
                claims.push(m);
            }
            sent.push(t.decision);
        }
        assert_eq!(
            sent,
            vec![
                AlertDecision::Notify { tier: Tier::Pct80 },
                AlertDecision::Escalate {
                    from: Tier::Pct80,
                    to: Tier::Pct100
                },
                AlertDecision::Nothing,
                AlertDecision::Recovery { from: Tier::Pct100 },
                AlertDecision::Nothing,
                AlertDecision::Escalate {
                    from: Tier::Pct100,
                    to: Tier::Pct120
                },
            ]
        );
        assert_eq!(claims, ["tier#080", "tier#100", "recovery#100", "tier#120"]);
    }

    #[test]
    fn no_claims_means_no_state_and_junk_is_ignored() {
        assert_eq!(alert_state("2026-11", &[]), None);
        assert_eq!(alert_state("2026-11", &["tier#abc".into(), "other".into()]), None);
    }

    /// Audit: stored days were trusted. Three items of `5e28` each then panicked both passes
    /// ("Addition overflowed") until they expired. A stored day out of range — or not parsing, or
    /// holding another day's row — is refused by its `pk/sk` and counts as not stored.
    #[tokio::test]
    async fn stored_days_out_of_range_are_refused_by_name_not_trusted() {
        use crate::ledger::MemoryLedger;
        use cost::input::CostRow;
        let ledger = MemoryLedger::new();
        let keys = Keys::new("collectiq-prod");
        let d = |n| NaiveDate::from_ymd_opt(2026, 12, n).unwrap();
        let snap = |date, amount: &str| DaySnapshot {
            estimated: false,
            rows: vec![CostRow {
                date,
                service: "AWS Lambda".into(),
                environment: Some("prod".into()),
                amount: amount.parse().unwrap(),
                estimated: false,
            }],
            read_on: Some(d(7)),
        };
        for (sk, snapshot) in [
            (d(3), snap(d(3), "14")),
            (d(4), snap(d(4), "50000000000000000000000000000")),
            (d(5), snap(d(5), "50000000000000000000000000000")),
            (d(6), snap(d(6), "-1000000000000000.01")),
            (d(2), snap(d(1), "14")),
        ] {
            put_snapshot(
                &ledger,
                &keys.ce_daily(),
                &sk.to_string(),
                &snapshot,
                SNAPSHOT_KEEP,
            )
            .await
            .unwrap();
        }
        ledger
            .put_snapshot_body(
                &keys.ce_daily(),
                "2026-12-01",
                "{\"rows\": 7}".into(),
                SNAPSHOT_KEEP,
            )
            .await
            .unwrap();
        let cached = cached_snapshots(&ledger, &keys, d(1), d(7)).await.unwrap();
        assert_eq!(cached.days.keys().copied().collect::<Vec<_>>(), [d(3)]);
        assert_eq!(cached.refused.len(), 5, "{:#?}", cached.refused);
        for sk in [
            "2026-12-01",
            "2026-12-02",
            "2026-12-04",
            "2026-12-05",
            "2026-12-06",
        ] {
            let item = format!("collectiq-prod#ce-daily/{sk} refused");
            assert!(
                cached.refused.iter().any(|n| n.contains(&item)),
                "{item}: {:#?}",
                cached.refused
            );
        }
        assert!(cached.refused.iter().any(|n| n.contains("out of range")));
        // Refused days are not cached: Cost Explorer is asked from the first of them.
        assert_eq!(query_start(&cached.days, d(1), d(7)), d(1));
        assert_eq!(
            cached_days(&ledger, &keys, d(1), d(7)).await.unwrap().days.len(),
            1
        );
    }

    #[test]
    fn query_starts_at_first_unsettled_day_or_today() {
        let d = |n| NaiveDate::from_ymd_opt(2025, 6, n).unwrap();
        let final_day = DaySnapshot {
            estimated: false,
            rows: vec![],
            read_on: None,
        };
        let settled: BTreeMap<NaiveDate, DaySnapshot> = [(d(1), final_day.clone()), (d(2), final_day)]
            .into_iter()
            .collect();
        assert_eq!(query_start(&settled, d(1), d(3)), d(3));
        assert_eq!(query_start(&settled, d(1), d(4)), d(3));
        assert_eq!(query_start(&settled, d(1), d(1)), d(1));
    }
}
