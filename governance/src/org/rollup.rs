//! The organisation roll-up: one report over every account — the top accounts by month-to-date spend,
//! the top movers (account × service against the seven days before: rises yesterday, drops two days
//! back, as the daily report reads its anomalies), each platform's budget tier from its own report, and
//! untagged spend per account — rendered for the terminal and as a Slack Block Kit message for the
//! organisation's channel (each platform's report still goes to its own).
//!
//! Pure except [`post`]: delivered at least once a day, recorded *pending* in the organisation's ledger
//! before it is sent and *posted* after, so a run that failed to post (or died) posts on the next run,
//! and a later run the same day does not post twice. Like every single-account report, the message is
//! checked against Slack's limits (`cost::slack::validate`) first: one Slack would refuse is not sent,
//! and nothing is recorded for it.

use std::collections::BTreeMap;

use alarms::catalogue::Severity;
use chrono::{Datelike, Duration, NaiveDate};
use cost::burn::Tier;
use cost::format::{rounded, usd};
use cost::slack::{Block, SlackMessage, TextObject};
use rust_decimal::Decimal;
use serde::Serialize;

use super::cost::LinkedCost;
use crate::aws::AwsClients;
use crate::cost_pass::SdkChannels;
use crate::cost_pass::notify::{SlackPoster as _, SlackSource};
use crate::cost_pass::slack::SlackRetry;
use crate::ledger::{LeaseHolder, LedgerStore};

/// Rows per list.
pub const TOP: usize = 5;

/// One platform's budget tier as its own report computed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemBurn {
    /// `<account>/<platform>-<env>`.
    pub item: String,
    /// The account.
    pub account_id: String,
    /// Tier threshold reached (0, 80, 100, 120, 150), when the report was built.
    pub tier_pct: Option<u32>,
    /// Actual spend in percent of the worst budget.
    pub actual_pct: Option<Decimal>,
    /// Why there is no tier (the item failed).
    pub missing: Option<String>,
    /// Its generated alarms in ALARM (name, `critical`/`warning`), critical first.
    pub firing: Vec<(String, Severity)>,
}

/// One account's spend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSpend {
    /// The account.
    pub account_id: String,
    /// Its name in the organisation spec (or `unlisted` for a member the spec does not govern).
    pub account_name: String,
    /// USD.
    pub usd: Decimal,
    /// Share of the organisation's month-to-date spend, percent.
    pub share_pct: Decimal,
}

/// One account × service whose spend moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mover {
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The CE service.
    pub service: String,
    /// The day it moved: yesterday for a rise (a half-booked day's spend is a lower bound, so a rise is
    /// already real), two days back for a drop (the last day Cost Explorer's lag of up to 24 h has
    /// passed; yesterday is half-booked at the morning's run, and every service would read as a drop).
    pub date: NaiveDate,
    /// Spend on `date`.
    pub day_usd: Decimal,
    /// Mean daily spend over the seven days before it.
    pub baseline_usd: Decimal,
    /// `day - baseline`.
    pub delta_usd: Decimal,
}

/// The organisation roll-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgRollup {
    /// The organisation.
    pub organization: String,
    /// Report day.
    pub date: NaiveDate,
    /// Month-to-date spend of every account.
    pub month_to_date_usd: Decimal,
    /// The accounts spending most this month.
    pub top_accounts: Vec<AccountSpend>,
    /// Account × service with the largest change: rises yesterday, drops two days back ([`Mover::date`]).
    pub top_movers: Vec<Mover>,
    /// Every platform's tier.
    pub burn: Vec<ItemBurn>,
    /// Untagged month-to-date spend per account (largest first).
    pub untagged: Vec<AccountSpend>,
    /// Cost Explorer requests the organisation made today.
    pub ce_requests_today: u64,
}

fn pct(part: Decimal, whole: Decimal) -> Decimal {
    if whole.is_zero() {
        Decimal::ZERO
    } else {
        rounded(part * Decimal::from(100) / whole, 1)
    }
}

/// Builds the roll-up for `date` from the organisation's spend and every item's outcome.
#[must_use]
pub fn rollup(
    organization: &str,
    date: NaiveDate,
    cost: &LinkedCost,
    names: &BTreeMap<String, String>,
    burn: &[ItemBurn],
    ce_requests_today: u64,
) -> OrgRollup {
    let name = |a: &str| names.get(a).cloned().unwrap_or_else(|| "unlisted".to_owned());
    let month_start = date.with_day(1).unwrap_or(date);
    let end = date.succ_opt().unwrap_or(date);
    let by_account = cost.by_account(month_start, end);
    let total: Decimal = by_account.values().copied().sum();
    let mut top_accounts: Vec<AccountSpend> = by_account
        .iter()
        .map(|(a, usd)| AccountSpend {
            account_id: a.clone(),
            account_name: name(a),
            usd: rounded(*usd, 2),
            share_pct: pct(*usd, total),
        })
        .collect();
    top_accounts.sort_by(|x, y| y.usd.cmp(&x.usd).then(x.account_id.cmp(&y.account_id)));
    top_accounts.truncate(TOP);

    // As the daily report reads anomalies (`cost::anomaly::daily_anomalies`): rises on yesterday, drops
    // two days back — yesterday is half-booked at the morning's run, so a steady service would read as
    // a drop there.
    let yesterday = date - Duration::days(1);
    let mut top_movers: Vec<Mover> = movers_on(cost, yesterday, &name)
        .into_iter()
        .filter(|m| m.delta_usd > Decimal::ZERO)
        .chain(
            movers_on(cost, yesterday - Duration::days(1), &name)
                .into_iter()
                .filter(|m| m.delta_usd < Decimal::ZERO),
        )
        .collect();
    top_movers.sort_by(|x, y| {
        y.delta_usd
            .abs()
            .cmp(&x.delta_usd.abs())
            .then(x.account_id.cmp(&y.account_id))
            .then(x.service.cmp(&y.service))
            .then(x.date.cmp(&y.date))
    });
    top_movers.truncate(TOP);

    let mut untagged: Vec<AccountSpend> = cost
        .untagged(month_start, end)
        .into_iter()
        .filter(|(_, usd)| !usd.is_zero())
        .map(|(a, usd)| AccountSpend {
            share_pct: pct(usd, by_account.get(&a).copied().unwrap_or_default()),
            account_name: name(&a),
            account_id: a,
            usd: rounded(usd, 2),
        })
        .collect();
    untagged.sort_by(|x, y| y.usd.cmp(&x.usd).then(x.account_id.cmp(&y.account_id)));

    let mut burn = burn.to_vec();
    // Items without a report first (nothing is known of them: they need a look), then by tier.
    burn.sort_by(|x, y| {
        (x.tier_pct.is_some(), std::cmp::Reverse(x.tier_pct))
            .cmp(&(y.tier_pct.is_some(), std::cmp::Reverse(y.tier_pct)))
            .then(x.item.cmp(&y.item))
    });
    OrgRollup {
        organization: organization.to_owned(),
        date,
        month_to_date_usd: rounded(total, 2),
        top_accounts,
        top_movers,
        burn,
        untagged,
        ce_requests_today,
    }
}

/// Every account × service whose spend on `day` differs by a cent or more from its mean over the seven
/// days before.
fn movers_on(cost: &LinkedCost, day: NaiveDate, name: &dyn Fn(&str) -> String) -> Vec<Mover> {
    let end = day.succ_opt().unwrap_or(day);
    let spend = cost.by_account_service(day, end);
    let before = cost.by_account_service(day - Duration::days(7), day);
    let mut keys: Vec<&(String, String)> = spend.keys().chain(before.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            let d = spend.get(k).copied().unwrap_or_default();
            let b = rounded(before.get(k).copied().unwrap_or_default() / Decimal::from(7), 2);
            Mover {
                account_id: k.0.clone(),
                account_name: name(&k.0),
                service: k.1.clone(),
                date: day,
                day_usd: rounded(d, 2),
                baseline_usd: b,
                delta_usd: rounded(d - b, 2),
            }
        })
        .filter(|m| m.delta_usd.abs() >= Decimal::new(1, 2))
        .collect()
}

impl ItemBurn {
    /// The tier its report gave it (`None` without a report, or for a threshold that is no tier).
    fn tier(&self) -> Option<Tier> {
        self.tier_pct
            .and_then(|t| Tier::ALL.into_iter().find(|tier| tier.threshold_pct() == t))
    }

    /// Whether actual spend reached the tier: a tier is the highest of actual spend's, the
    /// projection's and the burn ratio's (`org::run`), and one actual spend is below is projected.
    fn spent(&self) -> bool {
        self.tier()
            .zip(self.actual_pct)
            .is_some_and(|(tier, actual)| tier.reached_by(actual))
    }
}

fn tier_label(b: &ItemBurn) -> String {
    match (b.tier_pct, &b.missing) {
        // A report with no budget to measure against is not "ok": nothing was compared.
        (Some(0), _) if b.actual_pct.is_none() => "no budget".to_owned(),
        (Some(0), _) => "ok".to_owned(),
        (Some(t), _) if b.spent() => format!("≥{t}%"),
        (Some(t), _) => format!("≥{t}% projected"),
        (None, Some(why)) => format!("no report ({why})"),
        (None, None) => "no report".to_owned(),
    }
}

impl OrgRollup {
    fn sections(&self) -> Vec<(String, Vec<String>)> {
        let accounts = self
            .top_accounts
            .iter()
            .map(|a| {
                format!(
                    "{} {:<20} {:>12} {:>6}%",
                    a.account_id,
                    a.account_name,
                    usd(a.usd),
                    a.share_pct
                )
            })
            .collect();
        let movers = if self.top_movers.is_empty() {
            vec!["no change of a cent or more".to_owned()]
        } else {
            self.top_movers
                .iter()
                .map(|m| {
                    format!(
                        "{} {} {}: {} on {} vs {}/day ({}{})",
                        m.account_id,
                        m.account_name,
                        m.service,
                        usd(m.day_usd),
                        m.date,
                        usd(m.baseline_usd),
                        if m.delta_usd.is_sign_negative() { "-" } else { "+" },
                        usd(m.delta_usd.abs())
                    )
                })
                .collect()
        };
        let burn = self
            .burn
            .iter()
            .map(|b| {
                let pct = b
                    .actual_pct
                    // Never rounded across a tier, as the platform's own report prints it.
                    .map(|p| format!(" ({} of budget)", cost::format::budget_pct(p)))
                    .unwrap_or_default();
                format!("{} {}{pct}", b.item, tier_label(b))
            })
            .collect();
        let alarms = self.alarm_lines();
        let untagged = if self.untagged.is_empty() {
            vec!["none".to_owned()]
        } else {
            self.untagged
                .iter()
                .map(|a| {
                    format!(
                        "{} {}: {} ({}% of the account)",
                        a.account_id,
                        a.account_name,
                        usd(a.usd),
                        a.share_pct
                    )
                })
                .collect()
        };
        vec![
            ("Top accounts (month to date)".to_owned(), accounts),
            (
                "Top movers (rises yesterday, drops two days back, vs the 7 days before)".to_owned(),
                movers,
            ),
            ("Budget tier per platform".to_owned(), burn),
            ("Alarms in ALARM per account".to_owned(), alarms),
            ("Untagged spend per account (month to date)".to_owned(), untagged),
        ]
    }

    /// One line per platform with alarms in ALARM, most critical alarms first: `<account>/<platform>-<env>:
    /// 2 critical, 1 warning — name, name, …` (the first three names).
    fn alarm_lines(&self) -> Vec<String> {
        let mut firing: Vec<(&ItemBurn, usize)> = self
            .burn
            .iter()
            .filter(|b| !b.firing.is_empty())
            .map(|b| {
                let critical = b.firing.iter().filter(|(_, s)| *s == Severity::Critical).count();
                (b, critical)
            })
            .collect();
        if firing.is_empty() {
            return vec!["none".to_owned()];
        }
        firing.sort_by(|(x, xc), (y, yc)| {
            yc.cmp(xc)
                .then(y.firing.len().cmp(&x.firing.len()))
                .then(x.item.cmp(&y.item))
        });
        firing
            .into_iter()
            .map(|(b, critical)| {
                let names: Vec<&str> = b.firing.iter().take(3).map(|(n, _)| n.as_str()).collect();
                let more = b.firing.len().saturating_sub(3);
                format!(
                    "{}: {critical} critical, {} warning — {}{}",
                    b.item,
                    b.firing.len() - critical,
                    names.join(", "),
                    if more > 0 {
                        format!(" (+{more})")
                    } else {
                        String::new()
                    }
                )
            })
            .collect()
    }

    /// `acme: $1,234.56 month to date, 4 platform(s), 1 at or over 80% of budget, 1 more projected to
    /// reach it, 1 without a report`: "at or over" counts actual spend; a platform only its projection
    /// or burn ratio put at 80 % or more is counted apart.
    #[must_use]
    pub fn headline(&self) -> String {
        let failed = self.burn.iter().filter(|b| b.tier_pct.is_none()).count();
        let spent_80 = |b: &&ItemBurn| b.actual_pct.is_some_and(|p| Tier::Pct80.reached_by(p));
        let spent = self.burn.iter().filter(spent_80).count();
        let projected = self
            .burn
            .iter()
            .filter(|b| b.tier().is_some_and(|t| t >= Tier::Pct80) && !spent_80(b))
            .count();
        format!(
            "{}: {} month to date, {} platform(s), {spent} at or over 80% of budget{}{}",
            self.organization,
            usd(self.month_to_date_usd),
            self.burn.len(),
            if projected > 0 {
                format!(", {projected} more projected to reach it")
            } else {
                String::new()
            },
            if failed > 0 {
                format!(", {failed} without a report")
            } else {
                String::new()
            }
        )
    }

    /// The roll-up for a terminal.
    #[must_use]
    pub fn render_text(&self) -> String {
        let mut out = format!("{} — {}\n", self.headline(), self.date);
        for (title, lines) in self.sections() {
            out.push_str(&format!("{title}:\n"));
            for l in lines {
                out.push_str(&format!("  {l}\n"));
            }
        }
        out.push_str(&format!(
            "Cost Explorer requests today: {}\n",
            self.ce_requests_today
        ));
        // Service names and failure messages come from AWS: nothing in them may act on the terminal.
        vocabulary::text::terminal_safe(&out)
    }

    /// The roll-up as a Block Kit message (lists cut to fit Slack's 3,000 characters per section).
    #[must_use]
    pub fn render_slack(&self) -> SlackMessage {
        let mut blocks = vec![Block::Header {
            text: TextObject::plain(format!(
                "Organisation cost — {} — {}",
                self.organization, self.date
            )),
        }];
        // Slack refuses a message past its total text (`cost::slack::limits::TOTAL_TEXT`): the sections
        // share what the header and the footer leave, each at most 2,850 of a section's 3,000.
        let mut room = cost::slack::limits::TOTAL_TEXT - 500;
        for (title, lines) in self.sections() {
            let cap = room.min(2_850);
            let mut body = format!("*{title}*\n```");
            let mut shown = 0;
            for l in lines.iter().take(20) {
                // Service names, account names and AWS error messages: text, never markup (a backtick
                // would end the code block, `<!channel>` would ping the channel).
                let l = cost::slack::escape(l);
                if body.len() + l.len() + 40 > cap {
                    break;
                }
                body.push_str(&l);
                body.push('\n');
                shown += 1;
            }
            // What did not fit is counted, never silently dropped (the terminal and JSON list it all).
            if shown < lines.len() {
                body.push_str(&format!("… and {} more\n", lines.len() - shown));
            } else if lines.is_empty() {
                body.push_str("none\n");
            }
            body.push_str("```");
            room = room.saturating_sub(body.chars().count());
            blocks.push(Block::Section {
                text: Some(TextObject::mrkdwn(body)),
                fields: Vec::new(),
            });
        }
        blocks.push(Block::Context {
            elements: vec![TextObject::mrkdwn(format!(
                "Cost Explorer requests today: {} (one query in the management account for every member)",
                self.ce_requests_today
            ))],
        });
        SlackMessage {
            text: self.headline(),
            blocks,
        }
    }
}

/// What became of the day's roll-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupDelivery {
    /// In words, for the summary (`posted`, `already posted for 2026-12-02`, `not posted …: why`).
    pub said: String,
    /// It was not posted and no other run is posting it: the pass fails (so the execution fails and its
    /// alarm tells on-call) and the next run posts it.
    pub failed: bool,
}

impl RollupDelivery {
    fn done(said: String) -> Self {
        Self { said, failed: false }
    }

    fn failed(said: String) -> Self {
        Self { said, failed: true }
    }
}

/// Posts the roll-up to the organisation's channel at least once per day (see the module docs).
/// Returns what happened.
pub async fn post<L: LedgerStore>(
    rollup: &OrgRollup,
    management: &AwsClients,
    ledger: &L,
    secret: &str,
) -> RollupDelivery {
    post_with(rollup, &SdkChannels::new(management), ledger, secret).await
}

/// [`post`] through `channels` (the management account's Secrets Manager in production, a fake in
/// tests).
pub async fn post_with<L: LedgerStore, S: SlackSource>(
    rollup: &OrgRollup,
    channels: &S,
    ledger: &L,
    secret: &str,
) -> RollupDelivery {
    let pk = format!("org#{}#rollup", rollup.organization);
    let day = rollup.date.to_string();
    let keep = std::time::Duration::from_secs(70 * 86_400);
    let claims = match ledger.claims(&pk).await {
        Ok(items) => items,
        Err(e) => return RollupDelivery::failed(format!("not posted: {e}")),
    };
    if claims.iter().any(|(sk, detail)| *sk == day && detail == "posted") {
        return RollupDelivery::done(format!("already posted for {day}"));
    }
    // Checked as the single-account report is before it is sent (`cost::slack::validate`): Slack
    // refuses a message past its limits, and a retry would send the same one. Nothing is claimed, so
    // the pass fails now and a later run posts the day's roll-up once it fits.
    let message = rollup.render_slack();
    let violations = cost::slack::validate(&message);
    if !violations.is_empty() {
        return RollupDelivery::failed(format!(
            "not posted: the message breaks Slack's limits ({violations:?})"
        ));
    }
    if !claims.iter().any(|(sk, _)| *sk == day) {
        // (A pending one is from a failed run: post again.) Taken meanwhile (`false`): by another run,
        // which may have died before it posted — whether it is posting is the lease's to say, so this
        // run goes on to it rather than counting the roll-up as done by someone.
        if let Err(e) = ledger.claim(&pk, &day, "pending", keep).await {
            return RollupDelivery::failed(format!("not posted: {e}"));
        }
    }
    // One poster at a time (two runs at once both find it pending): the send lease, as for every
    // delivery record; it also hands back the record as it is now.
    let now = chrono::Utc::now();
    let holder = LeaseHolder {
        until: now + crate::cost_pass::notify::SEND_LEASE,
        taken_at: now,
    };
    match ledger.lease(&pk, &day, holder.until, holder.taken_at).await {
        Ok(Some(detail)) if detail == "posted" => {
            return RollupDelivery::done(format!("already posted for {day}"));
        }
        Ok(Some(_)) => {}
        // That run may have died: failing makes sure someone runs again (once its lease ran out).
        Ok(None) => {
            return RollupDelivery::failed(format!(
                "another run was posting the {day} roll-up; run again to make sure it went out"
            ));
        }
        Err(e) => return RollupDelivery::failed(format!("not posted: {e}")),
    }
    // A post that failed hands the record back at once (the write ends the lease): the next run need
    // not wait for the lease to run out. Best effort: if it fails too, the lease runs out. Both writes
    // are the lease holder's only: one whose post outlasted the lease must not undo the "posted" of the
    // run that took over.
    let give_back = async || match ledger
        .update_leased(&pk, &day, holder, "pending", Some(keep))
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::info!("the roll-up's lease ran out and another run took it over"),
        Err(e) => tracing::warn!(error = %e, "the roll-up's lease could not be given back; it runs out"),
    };
    let webhook = match channels.slack(secret, SlackRetry::default()).await {
        Ok(w) => w,
        Err(e) => {
            give_back().await;
            return RollupDelivery::failed(format!("not posted (the next run retries): {e}"));
        }
    };
    match webhook.post(&message).await {
        Ok(_) => match ledger
            .update_leased(&pk, &day, holder, "posted", Some(keep))
            .await
        {
            Ok(true) => RollupDelivery::done("posted".to_owned()),
            Ok(false) => RollupDelivery::done(
                "posted, after its lease ran out: another run had taken the roll-up over and may post it too"
                    .to_owned(),
            ),
            Err(e) => RollupDelivery::done(format!(
                "posted, but not recorded (the next run may post again): {e}"
            )),
        },
        Err(e) => {
            give_back().await;
            RollupDelivery::failed(format!("not posted (the next run retries): {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// The roll-up rounds halves as the accounts' own reports print them (`cost::format`: away from
    /// zero), so one figure never reads $10.12 here and $10.13 there.
    #[test]
    fn halves_round_as_the_account_reports_print_them() {
        let dec = Decimal::new;
        assert_eq!(pct(dec(1225, 2), dec(100, 0)), dec(123, 1));
        assert_eq!(
            pct(dec(1245, 2), dec(100, 0)),
            dec(125, 1),
            "half-even would give 12.4"
        );
        assert_eq!(usd(dec(10_125, 3)), "$10.13");
    }

    fn cost() -> LinkedCost {
        let mut cost = LinkedCost::default();
        let mut add = |date: &str, account: &str, service: &str, usd: i64| {
            cost.days
                .entry(d(date))
                .or_default()
                .rows
                .push(super::super::cost::LinkedRow {
                    account: account.into(),
                    service: service.into(),
                    amount: Decimal::from(usd),
                });
        };
        // Seven quiet days of Lambda at $7/day in A, then Bedrock jumps in B yesterday.
        for day in 2..=8 {
            add(&format!("2026-12-0{day}"), "111111111111", "AWS Lambda", 7);
            add(&format!("2026-12-0{day}"), "222222222222", "Claude", 1);
        }
        add("2026-12-09", "111111111111", "AWS Lambda", 7);
        add("2026-12-09", "222222222222", "Claude", 31);
        add("2026-11-30", "111111111111", "AWS Lambda", 1000); // last month: not month to date
        cost.days
            .entry(d("2026-12-09"))
            .or_default()
            .untagged
            .insert("222222222222".into(), Decimal::from(3));
        cost
    }

    #[test]
    fn top_accounts_movers_and_untagged_spend() {
        let names = BTreeMap::from([("111111111111".to_owned(), "prod".to_owned())]);
        let burn = vec![
            ItemBurn {
                item: "111111111111/collectiq-prod".into(),
                account_id: "111111111111".into(),
                tier_pct: Some(0),
                actual_pct: Some(Decimal::new(3996, 2)),
                missing: None,
                firing: vec![("collectiq-prod-api-latency-p95-warning".into(), Severity::Warning)],
            },
            ItemBurn {
                item: "222222222222/budgetbuddy-prod".into(),
                account_id: "222222222222".into(),
                tier_pct: Some(100),
                actual_pct: Some(Decimal::from(104)),
                missing: None,
                firing: (1..=5)
                    .map(|i| {
                        let severity = if i <= 2 {
                            Severity::Critical
                        } else {
                            Severity::Warning
                        };
                        (
                            format!("budgetbuddy-prod-alarm-{i}-{}", severity.as_str()),
                            severity,
                        )
                    })
                    .collect(),
            },
        ];
        let r = rollup("acme", d("2026-12-10"), &cost(), &names, &burn, 2);
        // Dec 2..9: A 8 × $7 = $56; B 7 × $1 + $31 = $38.
        assert_eq!(r.month_to_date_usd, Decimal::from(94));
        assert_eq!(r.top_accounts[0].account_id, "111111111111");
        assert_eq!(r.top_accounts[0].usd, Decimal::from(56));
        assert_eq!(r.top_accounts[1].account_name, "unlisted");
        // Only B's Claude moved: $31 against a $1/day baseline.
        assert_eq!(r.top_movers.len(), 1);
        assert_eq!(r.top_movers[0].delta_usd, Decimal::from(30));
        assert_eq!(r.untagged[0].account_id, "222222222222");
        assert_eq!(r.untagged[0].usd, Decimal::from(3));
        assert_eq!(
            r.burn[0].item, "222222222222/budgetbuddy-prod",
            "worst tier first"
        );
        let text = r.render_text();
        assert!(
            text.contains("222222222222/budgetbuddy-prod ≥100% (104.0% of budget)"),
            "{text}"
        );
        // Rounded as the platforms' own reports round (39.96 → 40.0), not cut to 39.9.
        assert!(
            text.contains("111111111111/collectiq-prod ok (40.0% of budget)"),
            "{text}"
        );
        // Alarm state across accounts: the platform with the most critical alarms first, three names.
        let alarms: Vec<&str> = text
            .lines()
            .skip_while(|l| *l != "Alarms in ALARM per account:")
            .skip(1)
            .take(2)
            .collect();
        assert_eq!(
            alarms,
            [
                "  222222222222/budgetbuddy-prod: 2 critical, 3 warning — budgetbuddy-prod-alarm-1-critical, \
                 budgetbuddy-prod-alarm-2-critical, budgetbuddy-prod-alarm-3-warning (+2)",
                "  111111111111/collectiq-prod: 0 critical, 1 warning — collectiq-prod-api-latency-p95-warning",
            ],
            "{text}"
        );
        let slack = r.render_slack();
        assert!(cost::slack::validate(&slack).is_empty());
        assert!(slack.text.contains("1 at or over 80%"), "{}", slack.text);
        let quiet = rollup("acme", d("2026-12-10"), &cost(), &names, &[], 2);
        assert!(
            quiet
                .render_text()
                .contains("Alarms in ALARM per account:\n  none\n"),
            "{}",
            quiet.render_text()
        );
    }

    /// A platform's tier is the highest of its actual spend, its projection and its burn ratio: one at
    /// 40 % actual that projects 85 % is "projected" at 80 %, not "at or over 80% of budget", in the
    /// headline and on its line; and the percentage never rounds across a tier (150.04 % is over the
    /// strict 150 % tier, so it reads 150.1 %, not 150.0 %).
    #[test]
    fn a_projected_tier_is_not_counted_as_spent_and_figures_keep_their_tier() {
        let item = |n: &str, tier: u32, actual: Decimal| ItemBurn {
            item: format!("111111111111/{n}-prod"),
            account_id: "111111111111".into(),
            tier_pct: Some(tier),
            actual_pct: Some(actual),
            missing: None,
            firing: Vec::new(),
        };
        let burn = [
            item("collectiq", 80, Decimal::from(40)),
            item("budgetbuddy", 150, Decimal::new(15_004, 2)),
            item("backoffice", 120, Decimal::from(120)),
        ];
        let r = rollup("acme", d("2026-12-10"), &cost(), &BTreeMap::new(), &burn, 2);
        assert_eq!(
            r.headline(),
            "acme: $94.00 month to date, 3 platform(s), 2 at or over 80% of budget, \
             1 more projected to reach it"
        );
        let text = r.render_text();
        for line in [
            "  111111111111/budgetbuddy-prod ≥150% (150.1% of budget)\n",
            // Exactly 120 % is under the strict 120 % tier: the ratio or the projection put it there.
            "  111111111111/backoffice-prod ≥120% projected (120.0% of budget)\n",
            "  111111111111/collectiq-prod ≥80% projected (40.0% of budget)\n",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }
        assert!(r.render_slack().text.starts_with(&r.headline()));
    }

    /// An item without a report is listed first and counted in the headline, never pushed past the
    /// Slack section's cut; one whose report found no budget reads "no budget", not "ok"; what does not
    /// fit a section is counted.
    #[test]
    fn failed_items_lead_and_nothing_is_cut_silently() {
        let item = |n: usize, tier: Option<u32>, actual: Option<i64>| ItemBurn {
            item: format!("{:012}/p{n:02}-prod", n),
            account_id: format!("{:012}", n),
            tier_pct: tier,
            actual_pct: actual.map(Decimal::from),
            missing: tier.is_none().then(|| "assume role: AccessDenied".to_owned()),
            firing: Vec::new(),
        };
        let mut burn: Vec<ItemBurn> = (1..=24).map(|n| item(n, Some(0), Some(10))).collect();
        burn.push(item(25, None, None));
        burn.push(item(26, Some(0), None));
        let r = rollup("acme", d("2026-12-10"), &cost(), &BTreeMap::new(), &burn, 2);
        assert_eq!(r.burn[0].item, "000000000025/p25-prod", "the failed item first");
        assert!(r.headline().ends_with(", 1 without a report"), "{}", r.headline());
        let text = r.render_text();
        assert!(text.contains("000000000026/p26-prod no budget"), "{text}");
        let slack = serde_json::to_string(&r.render_slack()).unwrap();
        assert!(
            slack.contains("000000000025/p25-prod no report (assume role: AccessDenied)"),
            "{slack}"
        );
        assert!(slack.contains("… and 6 more"), "{slack}");
        assert!(cost::slack::validate(&r.render_slack()).is_empty());
    }

    /// Every section full of long lines (failed items with long AWS errors, many alarms) still makes a
    /// message Slack takes: the sections share the total, and what is cut is counted. An organisation
    /// with no spend yet shows "none", not an empty code block.
    #[test]
    fn full_sections_share_slacks_total_and_empty_ones_say_none() {
        let burn: Vec<ItemBurn> = (1..=40)
            .map(|n| ItemBurn {
                item: format!("{n:012}/platform-with-a-long-name-{n:02}-production"),
                account_id: format!("{n:012}"),
                tier_pct: None,
                actual_pct: None,
                missing: Some(format!(
                    "publish: {}",
                    "AccessDenied: not authorized to perform ".repeat(4)
                )),
                firing: (1..=6)
                    .map(|i| {
                        (
                            format!("platform-with-a-long-name-{n:02}-production-alarm-{i}-critical"),
                            Severity::Critical,
                        )
                    })
                    .collect(),
            })
            .collect();
        // Forty accounts, each with a long name, a service that jumped yesterday and untagged spend.
        let mut spend = LinkedCost::default();
        let mut names = BTreeMap::new();
        for n in 1..=40 {
            let account = format!("{n:012}");
            names.insert(
                account.clone(),
                format!(
                    "member-account-with-a-long-descriptive-name-{n:02}-{}",
                    "x".repeat(150)
                ),
            );
            for day in 2..=9 {
                spend
                    .days
                    .entry(d(&format!("2026-12-0{day}")))
                    .or_default()
                    .rows
                    .push(super::super::cost::LinkedRow {
                        account: account.clone(),
                        service: format!(
                            "Marketplace product with a very long title number {n:02} {}",
                            "y".repeat(150)
                        ),
                        amount: Decimal::from(if day == 9 { 100 + n } else { 1 }),
                    });
            }
            spend
                .days
                .entry(d("2026-12-09"))
                .or_default()
                .untagged
                .insert(account, Decimal::from(n));
        }
        let r = rollup("acme", d("2026-12-10"), &spend, &names, &burn, 2);
        let slack = r.render_slack();
        assert!(
            slack.total_chars() > 9_000,
            "every section full: {}",
            slack.total_chars()
        );
        assert!(
            cost::slack::validate(&slack).is_empty(),
            "{:?}",
            cost::slack::validate(&slack)
        );
        assert!(serde_json::to_string(&slack).unwrap().contains(" more\\n```"));

        let empty = rollup(
            "acme",
            d("2026-12-01"),
            &Default::default(),
            &BTreeMap::new(),
            &[],
            0,
        );
        let json = serde_json::to_string(&empty.render_slack()).unwrap();
        assert!(!json.contains("``````"), "{json}");
        assert!(
            json.contains("*Top accounts (month to date)*\\n```none\\n```"),
            "{json}"
        );
    }

    /// A Cost Explorer service name is not ours: markup in it stays text in the roll-up's code blocks.
    #[test]
    fn service_names_cannot_break_out_of_the_code_block() {
        let mut c = cost();
        c.days
            .get_mut(&d("2026-12-09"))
            .unwrap()
            .rows
            .push(super::super::cost::LinkedRow {
                account: "111111111111".into(),
                service: "Evil```<!channel> <https://x.example|pay>".into(),
                amount: Decimal::from(500),
            });
        let r = rollup("acme", d("2026-12-10"), &c, &BTreeMap::new(), &[], 0);
        let json = serde_json::to_string(&r.render_slack()).unwrap();
        assert!(
            json.contains("Evil'''&lt;!channel&gt; &lt;https://x.example|pay&gt;"),
            "{json}"
        );
        assert!(!json.contains("<!channel>"), "{json}");
        assert!(
            r.render_text().contains("Evil```<!channel>"),
            "the terminal shows it as it is"
        );
    }

    /// At the morning's run yesterday holds a few hours of spend: a steady service read there showed
    /// as a drop. Rises are read on yesterday (a lower bound already over the baseline is real), drops
    /// two days back, as `cost::anomaly::daily_anomalies` reads them.
    #[test]
    fn a_half_booked_yesterday_is_no_drop_and_drops_are_read_two_days_back() {
        let mut cost = LinkedCost::default();
        let mut add = |day: u32, account: &str, service: &str, usd: i64| {
            cost.days
                .entry(d(&format!("2026-12-{day:02}")))
                .or_default()
                .rows
                .push(super::super::cost::LinkedRow {
                    account: account.into(),
                    service: service.into(),
                    amount: Decimal::from(usd),
                });
        };
        // Lambda at $7 a day, and $4 so far on Dec 9 (estimated, half-booked).
        for day in 2..=8 {
            add(day, "111111111111", "AWS Lambda", 7);
        }
        add(9, "111111111111", "AWS Lambda", 4);
        cost.days.get_mut(&d("2026-12-09")).unwrap().estimated = true;
        let r = rollup("acme", d("2026-12-10"), &cost, &BTreeMap::new(), &[], 0);
        assert!(
            r.top_movers.iter().all(|m| m.service != "AWS Lambda"),
            "{:?}",
            r.top_movers
        );
        // A real drop: S3 in another account, $5 a day, then $1 from Dec 8 — reported on Dec 8, once.
        for day in 1..=9 {
            cost.days
                .entry(d(&format!("2026-12-{day:02}")))
                .or_default()
                .rows
                .push(super::super::cost::LinkedRow {
                    account: "222222222222".into(),
                    service: "Amazon Simple Storage Service".into(),
                    amount: Decimal::from(if day < 8 { 5 } else { 1 }),
                });
        }
        let r = rollup("acme", d("2026-12-10"), &cost, &BTreeMap::new(), &[], 0);
        let moved: Vec<(&str, NaiveDate, Decimal)> = r
            .top_movers
            .iter()
            .map(|m| (m.service.as_str(), m.date, m.delta_usd))
            .collect();
        assert_eq!(
            moved,
            [(
                "Amazon Simple Storage Service",
                d("2026-12-08"),
                Decimal::from(-4)
            )]
        );
        assert!(
            r.render_text()
                .contains("Amazon Simple Storage Service: $1.00 on 2026-12-08 vs $5.00/day (-$4.00)"),
            "{}",
            r.render_text()
        );
    }

    /// Another run claimed the day between this run's read and its claim, then died before posting
    /// (or its claim was this run's own write, sent again by the SDK): the claim says `false`. That
    /// used to end the run as "another run is posting" — a success, and nobody posted the day's
    /// roll-up. The lease decides instead: free, so this run posts it, once.
    #[tokio::test]
    async fn a_claim_taken_by_a_run_that_died_is_posted_not_counted_as_done() {
        use crate::cost_pass::fake::FakeChannels;
        use crate::ledger::MemoryLedger;
        let fits = rollup("acme", d("2026-12-10"), &cost(), &BTreeMap::new(), &[], 0);
        let (channels, ledger) = (FakeChannels::new(), MemoryLedger::default());
        ledger.race_next_claim("org#acme#rollup", "2026-12-10", "pending");
        let delivery = post_with(&fits, &channels, &ledger, "org/slack").await;
        assert_eq!(delivery, RollupDelivery::done("posted".to_owned()));
        assert_eq!(channels.posted(), [fits.render_slack()]);
        let again = post_with(&fits, &channels, &ledger, "org/slack").await;
        assert_eq!(
            again,
            RollupDelivery::done("already posted for 2026-12-10".to_owned())
        );
        assert_eq!(channels.posted().len(), 1, "posted once");
    }

    /// A webhook whose first post is slow — it waits for `release` — and then fails (a 503 after
    /// Slack may have posted it); every later post is accepted.
    #[derive(Default)]
    struct SlowFirstPost {
        release: tokio::sync::Notify,
        calls: std::sync::atomic::AtomicUsize,
        posted: std::sync::Mutex<Vec<SlackMessage>>,
    }

    impl crate::cost_pass::notify::SlackPoster for &SlowFirstPost {
        async fn post(
            &self,
            message: &SlackMessage,
        ) -> Result<crate::cost_pass::slack::PostReceipt, crate::cost_pass::slack::SlackError> {
            if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                self.release.notified().await;
                return Err(crate::cost_pass::slack::SlackError::Unavailable {
                    attempts: 1,
                    detail: "503".into(),
                    outcome_unknown: true,
                });
            }
            self.posted.lock().unwrap().push(message.clone());
            Ok(crate::cost_pass::slack::PostReceipt {
                attempts: 1,
                waited_ms: 0,
            })
        }
    }

    impl<'a> SlackSource for &'a SlowFirstPost {
        type Slack = &'a SlowFirstPost;

        async fn slack(
            &self,
            _secret: &str,
            _retry: SlackRetry,
        ) -> Result<Self::Slack, crate::cost_pass::notify::NotifyError> {
            Ok(*self)
        }
    }

    /// Run A's post outlasts its lease; run B takes the roll-up over, posts it and records it posted;
    /// then A's post fails. A used to hand the record back as "pending" over B's "posted" (a write
    /// conditioned on nothing), and the next run posted the roll-up again. Its writes are now the lease
    /// holder's only: the day stays posted, and the next run posts nothing.
    #[tokio::test]
    async fn a_post_that_outlasts_its_lease_cannot_undo_the_run_that_took_over() {
        use crate::ledger::MemoryLedger;
        let fits = rollup("acme", d("2026-12-10"), &cost(), &BTreeMap::new(), &[], 0);
        let ledger = MemoryLedger::default();
        let slow = SlowFirstPost::default();
        let slack = &slow;
        let run_b = async {
            while slack.calls.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                tokio::task::yield_now().await;
            }
            ledger.end_leases(); // A's lease runs out while it is still posting
            let posted = post_with(&fits, &slack, &ledger, "org/slack").await;
            slack.release.notify_one();
            posted
        };
        let (a, b) = tokio::join!(post_with(&fits, &slack, &ledger, "org/slack"), run_b);
        assert_eq!(b, RollupDelivery::done("posted".to_owned()));
        assert!(a.failed, "A reports its own failure: {a:?}");
        assert_eq!(
            ledger.detail("org#acme#rollup", "2026-12-10").as_deref(),
            Some("posted")
        );
        let again = post_with(&fits, &slack, &ledger, "org/slack").await;
        assert_eq!(
            again,
            RollupDelivery::done("already posted for 2026-12-10".to_owned())
        );
        assert_eq!(slack.posted.lock().unwrap().len(), 1);
    }

    /// Slack refuses a header block whose text passes 150 characters (Block Kit reference, header
    /// block: `text` at most 150): the roll-up is checked with `cost::slack::validate`, as the
    /// single-account report is before it posts, and one Slack would refuse is neither sent nor claimed
    /// in the ledger; the pass fails (`failed`) so the next run posts. A message that fits is posted once.
    #[tokio::test]
    async fn a_roll_up_slack_would_refuse_is_not_posted() {
        use crate::cost_pass::fake::FakeChannels;
        use crate::ledger::MemoryLedger;
        let long = "a".repeat(140);
        let refused = rollup(&long, d("2026-12-10"), &cost(), &BTreeMap::new(), &[], 0);
        assert!(!cost::slack::validate(&refused.render_slack()).is_empty());
        let (channels, ledger) = (FakeChannels::new(), MemoryLedger::default());
        let delivery = post_with(&refused, &channels, &ledger, "org/slack").await;
        assert!(delivery.failed, "{delivery:?}");
        assert!(
            delivery
                .said
                .starts_with("not posted: the message breaks Slack's limits")
                && delivery.said.contains("Header"),
            "{delivery:?}"
        );
        assert_eq!(channels.attempts(), (0, 0), "nothing sent");
        assert!(
            ledger.claimed(&format!("org#{long}#rollup")).is_empty(),
            "nothing claimed"
        );

        let fits = rollup("acme", d("2026-12-10"), &cost(), &BTreeMap::new(), &[], 0);
        let delivery = post_with(&fits, &channels, &ledger, "org/slack").await;
        assert_eq!(delivery, RollupDelivery::done("posted".to_owned()));
        assert_eq!(channels.posted(), [fits.render_slack()]);
        let again = post_with(&fits, &channels, &ledger, "org/slack").await;
        assert_eq!(
            again,
            RollupDelivery::done("already posted for 2026-12-10".to_owned())
        );
        assert_eq!(channels.posted().len(), 1);
    }
}
