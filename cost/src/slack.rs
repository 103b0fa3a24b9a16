//! The cost report as a Slack incoming-webhook payload with Block Kit blocks.
//!
//! The serde types mirror the Block Kit documents (<https://api.slack.com/reference/block-kit/blocks>):
//! `header`, `section` (text and/or fields), `divider`, `context`, with `plain_text` and `mrkdwn` text
//! objects. The renderer keeps every payload inside Slack's limits ([`limits`]): ≤ 50 blocks, section
//! text ≤ 3,000 characters, ≤ 10 fields of ≤ 2,000, header ≤ 150, context ≤ 10 elements, and a total
//! under ~12,000 characters (Slack rejects long messages with `msg_blocks_too_long` around 13k). Long
//! lists are capped, chunked into several sections, and the overflow is counted in a line.
//! [`validate`] checks a payload against the same limits.

use serde::{Deserialize, Serialize};

use crate::alerting::AlertDecision;
use crate::anomaly::{AnomalySeverity, Direction};
use crate::burn::{BudgetBurn, Exhaustion, Tier};
use crate::format::{
    budget_pct, count, drift_pct, fit, pct, ratio, sparkline, truncate, usd, usd_dp, z_score,
};
use crate::pricing::PricingWarning;
use crate::report::{CostReport, display_platform};
use crate::unit::{GapExplanation, UnitEconomics};

/// Slack's limits, and this crate's conservative total.
pub mod limits {
    /// Blocks per message.
    pub const MAX_BLOCKS: usize = 50;
    /// Characters in a section's `text`.
    pub const SECTION_TEXT: usize = 3000;
    /// Fields in a section.
    pub const SECTION_FIELDS: usize = 10;
    /// Characters per field.
    pub const FIELD_TEXT: usize = 2000;
    /// Characters in a header's `plain_text`.
    pub const HEADER_TEXT: usize = 150;
    /// Elements in a context block.
    pub const CONTEXT_ELEMENTS: usize = 10;
    /// Characters in a `block_id`.
    pub const BLOCK_ID: usize = 255;
    /// Total characters over all text objects (undocumented Slack limit ≈ 13k; we stay below 12k).
    pub const TOTAL_TEXT: usize = 12_000;
    /// Characters in a context element (Slack: 2,000; ours shorter).
    pub const CONTEXT_TEXT: usize = 2000;
    /// Characters a sender may add to a rendered report as a delivery marker (a context element:
    /// governance's `delivery ref <record id>`); [`render`] keeps room for it, for the decision line
    /// of [`render_with_decision`](super::render_with_decision) and for its own "omitted" note.
    pub const MARKER_TEXT: usize = 320;
}

/// Most list lines shown per list in Slack (the terminal and JSON carry all).
pub const MAX_LIST_LINES: usize = 10;
/// Most budgets shown with their own section.
pub const MAX_BUDGETS: usize = 4;
/// Width of service/model names in code-block tables.
const NAME_WIDTH: usize = 34;

/// A Block Kit text object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextObject {
    /// `plain_text`.
    PlainText {
        /// The text.
        text: String,
        /// Whether `:emoji:` codes are rendered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emoji: Option<bool>,
    },
    /// `mrkdwn`.
    Mrkdwn {
        /// The text.
        text: String,
        /// `true` from [`TextObject::mrkdwn`]: Slack parses nothing in the text by itself — a bare URL,
        /// `#channel` or `@here` inside a service, budget or alarm name stays text. The links the report
        /// means are written `<url|label>`, which Slack reads either way.
        #[serde(default)]
        verbatim: bool,
    },
}

impl TextObject {
    /// A `mrkdwn` object.
    #[must_use]
    pub fn mrkdwn(text: impl Into<String>) -> Self {
        Self::Mrkdwn {
            text: text.into(),
            verbatim: true,
        }
    }

    /// A `plain_text` object with emoji on.
    #[must_use]
    pub fn plain(text: impl Into<String>) -> Self {
        Self::PlainText {
            text: text.into(),
            emoji: Some(true),
        }
    }

    /// The text.
    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Self::PlainText { text, .. } | Self::Mrkdwn { text, .. } => text,
        }
    }

    fn text_mut(&mut self) -> &mut String {
        match self {
            Self::PlainText { text, .. } | Self::Mrkdwn { text, .. } => text,
        }
    }
}

/// A Block Kit layout block (the subset the report uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// `header`: large plain text.
    Header {
        /// `plain_text` only.
        text: TextObject,
    },
    /// `section`: text and/or up to 10 fields.
    Section {
        /// The text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<TextObject>,
        /// Two-column fields.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<TextObject>,
    },
    /// `divider`.
    Divider {},
    /// `context`: small text elements.
    Context {
        /// The elements.
        elements: Vec<TextObject>,
    },
}

impl Block {
    fn section(text: String) -> Self {
        Self::Section {
            text: Some(TextObject::mrkdwn(text)),
            fields: Vec::new(),
        }
    }

    /// The block's text objects (what Slack's character limits count).
    #[must_use]
    pub fn texts(&self) -> Vec<&TextObject> {
        match self {
            Self::Header { text } => vec![text],
            Self::Section { text, fields } => text.iter().chain(fields.iter()).collect(),
            Self::Divider {} => vec![],
            Self::Context { elements } => elements.iter().collect(),
        }
    }
}

/// An incoming-webhook payload: `text` is the notification/fallback, `blocks` the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlackMessage {
    /// Fallback text (notifications, clients without Block Kit).
    pub text: String,
    /// The blocks.
    pub blocks: Vec<Block>,
}

impl SlackMessage {
    /// Total characters over all text objects.
    #[must_use]
    pub fn total_chars(&self) -> usize {
        self.blocks
            .iter()
            .flat_map(Block::texts)
            .map(|t| t.text().chars().count())
            .sum()
    }
}

/// A broken Slack limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LimitViolation {
    /// More than 50 blocks.
    TooManyBlocks(usize),
    /// A header over 150 characters (or not `plain_text`).
    Header {
        /// Block index.
        block: usize,
        /// Characters.
        chars: usize,
    },
    /// Section text over 3,000.
    SectionText {
        /// Block index.
        block: usize,
        /// Characters.
        chars: usize,
    },
    /// More than 10 fields.
    TooManyFields {
        /// Block index.
        block: usize,
        /// Fields.
        fields: usize,
    },
    /// A field over 2,000.
    FieldText {
        /// Block index.
        block: usize,
        /// Characters.
        chars: usize,
    },
    /// A section with neither text nor fields.
    EmptySection {
        /// Block index.
        block: usize,
    },
    /// A context with 0 or more than 10 elements, or an element over 2,000 characters.
    Context {
        /// Block index.
        block: usize,
        /// Elements.
        elements: usize,
    },
    /// Total text over [`limits::TOTAL_TEXT`].
    TotalText(usize),
    /// Empty fallback text.
    EmptyFallback,
}

/// Checks a payload against Slack's limits. Empty means it is safe to post.
///
/// ```
/// let msg = cost::slack::SlackMessage { text: "x".into(), blocks: vec![cost::slack::Block::Divider {}] };
/// assert!(cost::slack::validate(&msg).is_empty());
/// ```
#[must_use]
pub fn validate(msg: &SlackMessage) -> Vec<LimitViolation> {
    use limits::*;
    let mut v = Vec::new();
    let chars = |t: &TextObject| t.text().chars().count();
    if msg.blocks.len() > MAX_BLOCKS {
        v.push(LimitViolation::TooManyBlocks(msg.blocks.len()));
    }
    if msg.text.trim().is_empty() {
        v.push(LimitViolation::EmptyFallback);
    }
    for (i, b) in msg.blocks.iter().enumerate() {
        match b {
            Block::Header { text } => {
                if chars(text) > HEADER_TEXT || !matches!(text, TextObject::PlainText { .. }) {
                    v.push(LimitViolation::Header {
                        block: i,
                        chars: chars(text),
                    });
                }
            }
            Block::Section { text, fields } => {
                if text.is_none() && fields.is_empty() {
                    v.push(LimitViolation::EmptySection { block: i });
                }
                if let Some(t) = text.as_ref().filter(|t| chars(t) > SECTION_TEXT) {
                    v.push(LimitViolation::SectionText {
                        block: i,
                        chars: chars(t),
                    });
                }
                if fields.len() > SECTION_FIELDS {
                    v.push(LimitViolation::TooManyFields {
                        block: i,
                        fields: fields.len(),
                    });
                }
                for f in fields.iter().filter(|f| chars(f) > FIELD_TEXT) {
                    v.push(LimitViolation::FieldText {
                        block: i,
                        chars: chars(f),
                    });
                }
            }
            Block::Divider {} => {}
            Block::Context { elements } => {
                if elements.is_empty()
                    || elements.len() > CONTEXT_ELEMENTS
                    || elements.iter().any(|e| chars(e) > CONTEXT_TEXT)
                {
                    v.push(LimitViolation::Context {
                        block: i,
                        elements: elements.len(),
                    });
                }
            }
        }
    }
    let total = msg.total_chars();
    if total > TOTAL_TEXT {
        v.push(LimitViolation::TotalText(total));
    }
    v
}

/// Escapes `&`, `<`, `>` for mrkdwn and removes backticks (they would close code blocks). A text
/// cut to a width is cut before it is escaped ([`escape_within`], or `escape(&fit(…))` in a column),
/// so an entity is never cut in half (`Storage &a…`) and columns line up on what Slack shows.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match escaped_char(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out
}

/// `s` escaped ([`escape`]) in at most `max` characters: cut before escaping, with `…` when cut.
#[must_use]
pub fn escape_within(s: &str, max: usize) -> String {
    let width = |c: char| escaped_char(c).map_or(1, str::len);
    if s.chars().map(width).sum::<usize>() <= max {
        return escape(s);
    }
    if max == 0 {
        return String::new();
    }
    let mut used = 0;
    let kept: String = s
        .chars()
        .take_while(|&c| {
            used += width(c);
            used < max
        })
        .collect();
    let mut out = escape(&kept);
    out.push('…');
    out
}

/// What mrkdwn needs in place of `c`, if anything.
const fn escaped_char(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '`' => Some("'"),
        _ => None,
    }
}

/// Sections of `*title*` plus lines, each ≤ 3,000 characters, optionally inside code blocks. At most
/// [`MAX_LIST_LINES`] lines are shown; the rest are counted in a final line.
/// `Last 7 settled days: $0.00912 (+14% vs month) · 11,669 valuations · 2025-06-10 – 2025-06-16`: the
/// recent $/valuation beside the month's, where a cost drift shows first.
pub(crate) fn recent_unit_line(month: &UnitEconomics, recent: &UnitEconomics) -> String {
    let per = recent
        .per_valuation
        .map_or_else(|| "n/a".to_owned(), |p| usd_dp(p, 5));
    let vs_month = recent
        .per_valuation
        .zip(month.per_valuation)
        .and_then(|(r, m)| r.checked_div(m))
        .map_or_else(String::new, |q| {
            let change = (q - rust_decimal::Decimal::ONE) * rust_decimal::Decimal::ONE_HUNDRED;
            format!(
                " ({}{}% vs month)",
                if change.is_sign_negative() { "" } else { "+" },
                change.round_dp(0).normalize()
            )
        });
    format!(
        "Last {} settled days: {per}{vs_month} · {} valuations · {} – {}",
        (recent.end - recent.start).num_days(),
        count(recent.valuations),
        recent.start,
        recent.end.pred_opt().unwrap_or(recent.end)
    )
}

fn list_sections(title: &str, lines: &[String], code: bool) -> Vec<Block> {
    let mut shown: Vec<String> = lines
        .iter()
        .take(MAX_LIST_LINES)
        .map(|l| truncate_escaped(l, 250))
        .collect();
    let hidden = lines.len().saturating_sub(MAX_LIST_LINES);
    let more = (hidden > 0).then(|| format!("… and {hidden} more (see the terminal or JSON report)"));
    if shown.is_empty() {
        return Vec::new();
    }
    let (open, close) = if code { ("```\n", "\n```") } else { ("", "") };
    let budget = limits::SECTION_TEXT
        .saturating_sub(title.chars().count() + open.len() + close.len() + 4)
        .max(300);
    let mut blocks = Vec::new();
    let mut chunk: Vec<String> = Vec::new();
    let mut len = 0;
    for line in shown.drain(..) {
        let n = line.chars().count() + 1;
        if len + n > budget && !chunk.is_empty() {
            blocks.push(Block::section(format!(
                "{title}\n{open}{}{close}",
                chunk.join("\n")
            )));
            chunk.clear();
            len = 0;
        }
        len += n;
        chunk.push(line);
    }
    blocks.push(Block::section(format!(
        "{title}\n{open}{}{close}",
        chunk.join("\n")
    )));
    if let Some(m) = more {
        blocks.push(Block::Context {
            elements: vec![TextObject::mrkdwn(m)],
        });
    }
    blocks
}

fn exhaustion_text(b: &BudgetBurn) -> String {
    match &b.exhaustion {
        Exhaustion::Exhausted => "already exhausted".to_owned(),
        Exhaustion::InDays {
            days,
            date,
            within_period,
            ..
        } => {
            let note = if *within_period {
                String::new()
            } else {
                format!(" (after {} end)", b.period.unit.noun())
            };
            format!("in {} days ({date}){note}", days.round_dp(1))
        }
        Exhaustion::NoSpend => "no spend rate".to_owned(),
    }
}

/// ` · 2026-Q4` for a quarterly or annual budget (nothing for a monthly one: the report's date says it).
pub(crate) fn period_suffix(b: &BudgetBurn) -> String {
    match b.period.unit {
        crate::burn::BudgetTimeUnit::Monthly => String::new(),
        _ => format!(" · {}", b.period.key()),
    }
}

fn budget_fields(b: &BudgetBurn) -> Vec<TextObject> {
    let p = &b.projections;
    let ce = p.ce.as_ref().map_or_else(
        || "n/a".to_owned(),
        |c| match (c.lower, c.upper, c.level) {
            (Some(l), Some(u), Some(level)) => {
                format!("{} ({level}%: {}–{})", usd(c.mean), usd_dp(l, 0), usd_dp(u, 0))
            }
            _ => usd(c.mean),
        },
    );
    let recent = p.recent_rate.as_ref().zip(p.recent).map_or_else(
        || "n/a".to_owned(),
        |(r, proj)| {
            let est = if r.includes_estimated { " (est.)" } else { "" };
            format!("{}/day → {}{est}", usd(r.per_day), usd(proj))
        },
    );
    [
        format!(
            "*{}*{}\n{} / {} ({})",
            escape(&truncate(&b.budget_name, 80)),
            period_suffix(b),
            usd(b.actual),
            usd(b.limit),
            budget_pct(b.actual_pct)
        ),
        format!(
            "*Burn ratio*\n{} (expected {})",
            b.burn_ratio.map_or_else(|| "n/a".to_owned(), ratio),
            usd(b.expected)
        ),
        format!(
            "*Projected*\n{} ({})",
            usd(p.blended),
            budget_pct(b.projected_pct)
        ),
        format!(
            "*Tier*\n{} {} — {}",
            b.tier.emoji(),
            b.tier.label(),
            b.severity().label()
        ),
        format!("*Recent rate*\n{recent}"),
        format!("*CE forecast*\n{ce}"),
        format!("*Linear A/f*\n{}", p.linear.map_or_else(|| "n/a".to_owned(), usd)),
        format!("*Exhausted*\n{}", exhaustion_text(b)),
    ]
    .into_iter()
    .map(TextObject::mrkdwn)
    .collect()
}

fn explanation_text(e: &GapExplanation) -> String {
    match e {
        GapExplanation::InLine => "in line".to_owned(),
        GapExplanation::ModelDrift {
            billed_model,
            seed_matches_model,
            seed_volume_at_billed_model,
            ..
        } => format!(
            "model drift: billed {billed_model}, seed priced like {seed_matches_model} ({} at seed volume)",
            usd_dp(*seed_volume_at_billed_model, 0)
        ),
        GapExplanation::Above { ratio: r } => format!("{} seed", ratio(*r)),
        GapExplanation::Below { ratio: r } => format!("{} seed", ratio(*r)),
        GapExplanation::NotInSeed => "not in seed".to_owned(),
        GapExplanation::NoValuations => "no valuations".to_owned(),
    }
}

fn warning_line(w: &PricingWarning) -> String {
    format!("⚠️ {}", escape(&w.message()))
}

/// "Cost per valuation": per component against the seed's design model. Left out for a platform that
/// values nothing against no design model (Backoffice, BudgetBuddy): "n/a vs seed $0" says nothing.
fn unit_economics_section(report: &CostReport, blocks: &mut Vec<Block>) {
    let u = &report.unit;
    if !u.applies() {
        return;
    }
    let (ws, we) = report.window;
    let per = u.per_valuation.map_or_else(|| "n/a".to_owned(), |p| usd_dp(p, 5));
    let vs = u
        .per_valuation
        .and_then(|p| p.checked_div(u.seed_per_valuation))
        .map_or_else(String::new, |r| format!(" ({})", ratio(r)));
    let recent = report
        .unit_recent
        .as_ref()
        .map_or_else(String::new, |r| format!("\n{}", recent_unit_line(u, r)));
    let title = format!(
        "*Cost per valuation* {per} vs seed {}{vs} · {} valuations · {ws} – {}{recent}",
        usd_dp(u.seed_per_valuation, 5),
        count(u.valuations),
        we.pred_opt().unwrap_or(we)
    );
    let lines: Vec<String> = u
        .components
        .iter()
        .map(|c| {
            format!(
                "{} {:>10} {:>9} seed {:>9}  {}",
                fit(c.component.label(), 14),
                usd(c.cost),
                c.per_valuation.map_or_else(|| "n/a".to_owned(), |p| usd_dp(p, 5)),
                usd_dp(c.seed_per_valuation, 5),
                escape(&explanation_text(&c.explanation))
            )
        })
        .collect();
    blocks.extend(list_sections(&title, &lines, true));
}

/// Renders the report as a webhook payload that respects Slack's limits.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use cost::report::{build_report, ReportInputs, ReportSettings};
/// let inputs = ReportInputs {
///     platform: "collectiq".into(), environment: "prod".into(),
///     as_of: Utc.with_ymd_and_hms(2025, 6, 18, 6, 0, 0).unwrap(),
///     cost_and_usage: Default::default(), budgets: vec![], ce_forecast: None, ce_forecast_unavailable: None, metrics: vec![],
///     self_spend: Default::default(), notes: vec![],
/// };
/// let report = build_report(&inputs, &ReportSettings::default(), cost::pricing::PriceTable::bundled().unwrap());
/// let msg = cost::slack::render(&report);
/// assert!(cost::slack::validate(&msg).is_empty());
/// assert!(msg.text.starts_with("CollectIQ prod"));
/// ```
#[must_use]
pub fn render(report: &CostReport) -> SlackMessage {
    let mut blocks = Vec::new();
    blocks.push(Block::Header {
        text: TextObject::plain(truncate(
            &format!(
                "💸 {} cost — {}{} — {}",
                display_platform(&report.platform),
                report.environment,
                report
                    .account
                    .as_ref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default(),
                report.date
            ),
            limits::HEADER_TEXT,
        )),
    });
    let status = match report.worst_budget() {
        Some(b) => format!(
            "*{} {} — {}* · worst budget `{}` · {} of the {} elapsed",
            report.tier().emoji(),
            report.tier().label(),
            report.severity().label(),
            escape(&truncate(&b.budget_name, 80)),
            pct(b.elapsed_fraction * rust_decimal::Decimal::ONE_HUNDRED),
            b.period.unit.noun()
        ),
        None => "*No budget configured* for this environment".to_owned(),
    };
    blocks.push(Block::section(status));
    for b in report.budgets.iter().take(MAX_BUDGETS) {
        blocks.push(Block::Section {
            text: None,
            fields: budget_fields(b),
        });
    }
    if report.budgets.len() > MAX_BUDGETS {
        let rest: Vec<String> = report.budgets[MAX_BUDGETS..]
            .iter()
            .map(|b| {
                format!(
                    "{} {} {}",
                    b.tier.emoji(),
                    escape(&truncate(&b.budget_name, 60)),
                    budget_pct(b.projected_pct)
                )
            })
            .collect();
        blocks.extend(list_sections("*More budgets*", &rest, false));
    }
    blocks.push(Block::Divider {});

    unit_economics_section(report, &mut blocks);

    // Bedrock: each line in cents that add up to the total above them.
    let shown = crate::format::cents_summing(
        &report
            .bedrock_by_model
            .per_model
            .iter()
            .map(|m| m.cost)
            .collect::<Vec<_>>(),
    );
    let by_model: Vec<String> = report
        .bedrock_by_model
        .per_model
        .iter()
        .zip(shown)
        .map(|(m, cost)| {
            // Cache tokens are in the dollar figure (reads at 0.1×, writes at 1.25× the input price):
            // shown when there are any, so the line adds up.
            let cache = match (m.tokens.cache_read, m.tokens.cache_write) {
                (0, 0) => String::new(),
                (read, write) => format!(" · {} cache read / {} cache write", count(read), count(write)),
            };
            format!(
                "{} {:>10}  {} in / {} out{cache}",
                escape(&fit(&m.model_name, NAME_WIDTH)),
                usd(cost),
                count(m.tokens.input),
                count(m.tokens.output)
            )
        })
        .collect();
    blocks.extend(list_sections(
        &format!(
            "*Bedrock by model* (tokens × price) — {}",
            usd(report.bedrock_by_model.total)
        ),
        &by_model,
        true,
    ));
    let by_agent: Vec<String> = report
        .bedrock_by_agent
        .iter()
        .map(|a| {
            let model = a.model_key.clone().unwrap_or_else(|| format!("? {}", a.model_id));
            format!(
                "{} {:>10}",
                escape(&fit(&format!("{} · {model}", a.agent), NAME_WIDTH + 8)),
                usd(a.cost)
            )
        })
        .collect();
    match report.agent_metrics_missing() {
        Some(missing) => blocks.push(Block::section(format!(
            "*Bedrock by agent* — {}",
            escape(&missing)
        ))),
        None => blocks.extend(list_sections("*Bedrock by agent*", &by_agent, true)),
    }
    let rec = &report.reconciliation;
    let mut rec_lines: Vec<String> = rec
        .lines
        .iter()
        .map(|l| {
            let mark = if l.within_threshold { "✅" } else { "⚠️" };
            format!(
                "{mark} {} billed {} · tokens {} · drift {}{}",
                escape(&truncate(&l.billing_service, 60)),
                usd(l.billed),
                usd(l.estimated),
                l.drift_pct
                    .map_or_else(|| "n/a".to_owned(), |d| drift_pct(d, rec.threshold_pct)),
                l.small_gap_note(rec.threshold_pct)
                    .map_or_else(String::new, |note| format!(" ({note})"))
            )
        })
        .collect();
    rec_lines.extend(rec.warnings.iter().map(warning_line));
    blocks.extend(list_sections(
        &format!("*Billed vs tokens* (threshold ±{})", pct(rec.threshold_pct)),
        &rec_lines,
        false,
    ));
    blocks.push(Block::Divider {});

    // Trends.
    let trend_lines: Vec<String> = report
        .top_services
        .iter()
        .map(|t| {
            format!(
                "{} {:>9} {}",
                escape(&fit(&t.service, NAME_WIDTH)),
                usd(t.last()),
                sparkline(&t.amounts())
            )
        })
        .collect();
    let days = report.top_services.first().map_or(0, |t| t.daily.len());
    blocks.extend(list_sections(
        &format!("*Top services* (last day, {days}-day trend)"),
        &trend_lines,
        true,
    ));

    // Spikes are read on yesterday, drops two days back (`anomaly::daily_anomalies`): one date in the
    // title when they share it, else each line says its own.
    let one_day = report
        .anomalies
        .first()
        .map(|f| f.date)
        .filter(|d| report.anomalies.iter().all(|a| a.date == *d));
    let anomaly_lines: Vec<String> = report
        .anomalies
        .iter()
        .map(|a| {
            let icon = match (a.direction, a.severity) {
                (Direction::Drop, _) => "🔻",
                (Direction::Spike, AnomalySeverity::High) => "🔺",
                (Direction::Spike, _) => "▲",
            };
            let on = if one_day.is_some() {
                String::new()
            } else {
                format!(" on {}", a.date)
            };
            format!(
                "{icon} {} {} vs {} usual (z {}, {:?}){on}",
                escape(&truncate(&a.service, 60)),
                usd(a.amount),
                usd(a.baseline_mean),
                z_score(a.z, 1),
                a.severity
            )
        })
        .collect();
    if !report.anomalies.is_empty() {
        let title = one_day.map_or_else(|| "*Anomalies*".to_owned(), |d| format!("*Anomalies on {d}*"));
        blocks.extend(list_sections(&title, &anomaly_lines, false));
    }

    let mut hygiene = Vec::new();
    if let Some(u) = &report.hygiene.untagged {
        hygiene.push(format!(
            "Untagged (`Environment$`): {} ({})",
            pct(u.share_pct),
            usd(u.untagged)
        ));
    }
    hygiene.extend(
        report
            .hygiene
            .unmapped_bedrock_services
            .iter()
            .map(|(s, amount)| {
                format!(
                    "Unmapped Marketplace line: {} ({})",
                    escape(&truncate(s, 80)),
                    usd(*amount)
                )
            }),
    );
    blocks.extend(list_sections("*Hygiene*", &hygiene, false));

    let footer = footer(report);
    let notes: Vec<TextObject> = report
        .notes
        .iter()
        .take(limits::CONTEXT_ELEMENTS)
        .map(|n| TextObject::mrkdwn(escape(&truncate(n, 300))))
        .collect();
    if !notes.is_empty() {
        blocks.push(Block::Context { elements: notes });
    }
    SlackMessage {
        text: truncate(&report.headline(), 300),
        blocks: fit_blocks(blocks, footer),
    }
}

/// Like [`render`], with a line under the header saying what changed since the last notification
/// (from [`crate::alerting::decide`]) and the change prefixed to the fallback text.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use cost::alerting::AlertDecision;
/// use cost::burn::Tier;
/// use cost::report::{build_report, ReportInputs, ReportSettings};
/// let inputs = ReportInputs {
///     platform: "collectiq".into(), environment: "prod".into(),
///     as_of: Utc.with_ymd_and_hms(2025, 6, 18, 6, 0, 0).unwrap(),
///     cost_and_usage: Default::default(), budgets: vec![], ce_forecast: None, ce_forecast_unavailable: None, metrics: vec![],
///     self_spend: Default::default(), notes: vec![],
/// };
/// let report = build_report(&inputs, &ReportSettings::default(), cost::pricing::PriceTable::bundled().unwrap());
/// let msg = cost::slack::render_with_decision(&report, &AlertDecision::Escalate { from: Tier::Pct80, to: Tier::Pct120 });
/// assert!(msg.text.starts_with("Escalated to 120% (was 80%)"));
/// ```
#[must_use]
pub fn render_with_decision(report: &CostReport, decision: &AlertDecision) -> SlackMessage {
    let mut msg = render(report);
    // What put the report in the tier, as the message's own figures show it: finance reads the line.
    let line = match decision {
        AlertDecision::Nothing => return msg,
        AlertDecision::Notify { tier } => match TierCause::of(report, *tier) {
            TierCause::Actual => format!("{} Budget tier {} reached", tier.emoji(), tier.label()),
            TierCause::Projection => {
                format!("{} Budget projected to reach {}", tier.emoji(), tier.label())
            }
            TierCause::BurnRatio(r) => format!(
                "{} Spending at {} the budget's pace (tier {})",
                tier.emoji(),
                ratio(r),
                tier.label()
            ),
        },
        AlertDecision::Escalate { from, to } => {
            format!(
                "{} Escalated to {} (was {}){}",
                to.emoji(),
                to.label(),
                from.label(),
                match TierCause::of(report, *to) {
                    TierCause::Actual => String::new(),
                    TierCause::Projection => ", projected".to_owned(),
                    TierCause::BurnRatio(r) => format!(", by burn rate {}", ratio(r)),
                }
            )
        }
        AlertDecision::Recovery { from } => format!("✅ Recovered: back under 80% (was {})", from.label()),
    };
    // Without emoji in the fallback: it shows in notifications.
    let plain = line
        .split_once(' ')
        .map_or(line.as_str(), |(_, rest)| rest)
        .to_owned();
    msg.text = truncate(&format!("{plain} — {}", msg.text), 300);
    let at = usize::from(!msg.blocks.is_empty());
    msg.blocks.insert(at, Block::section(format!("*{line}*")));
    if msg.blocks.len() > limits::MAX_BLOCKS {
        // Drop the last block before the footer to stay within 50.
        let footer_at = msg.blocks.len() - 2;
        msg.blocks.remove(footer_at);
    }
    msg
}

/// What put a report in a tier: a tier is the highest of actual spend's, the projection's and the
/// burn ratio's ([`BudgetBurn::tier`]), and the decision line says which, so it never contradicts the
/// figures under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TierCause {
    /// Actual spend of some budget reached it.
    Actual,
    /// The blended projection reached it (or holds it, within the hysteresis band).
    Projection,
    /// Only the burn ratio `r` did (docs/cost.md §2: "a blend with a slower recent rate can keep `P`
    /// under 120 % while `r` is above 1.2"); the highest such `r`.
    BurnRatio(rust_decimal::Decimal),
}

impl TierCause {
    /// The strongest cause among the budgets in `tier`: actual spend, then a projection over the
    /// threshold, then a burn ratio over it, then one the ratio holds (hysteresis, as
    /// [`BudgetBurn::ratio_tier`] holds it); a tier no budget accounts for (a projection held within
    /// the band) reads as projected.
    fn of(report: &CostReport, tier: Tier) -> Self {
        let in_tier = || report.budgets.iter().filter(move |b| b.tier >= tier);
        if report.budgets.iter().any(|b| b.actual_tier() >= tier) {
            return Self::Actual;
        }
        if in_tier().any(|b| Tier::from_pct(b.projected_pct) >= tier) {
            return Self::Projection;
        }
        [None, Some(tier)]
            .into_iter()
            .find_map(|previous| {
                in_tier()
                    .filter(|b| b.ratio_tier(previous) >= tier)
                    .filter_map(|b| b.burn_ratio)
                    .max()
            })
            .map_or(Self::Projection, Self::BurnRatio)
    }
}

fn footer(report: &CostReport) -> Block {
    let s = &report.self_spend;
    let mut elements = vec![TextObject::mrkdwn(format!(
        "governance: {} CE requests ({}{}), {} GetMetricData, {} Budgets",
        s.ce_requests,
        usd(s.ce_cost()),
        if s.ce_daily_cap > 0 {
            format!(", cap {}/day", s.ce_daily_cap)
        } else {
            String::new()
        },
        s.cloudwatch_requests,
        s.budgets_requests
    ))];
    if report.ce_estimated {
        elements.push(TextObject::mrkdwn("CE data estimated (not final)".to_owned()));
    }
    elements.push(TextObject::mrkdwn(format!(
        "as of {}",
        report.as_of.format("%Y-%m-%d %H:%M UTC")
    )));
    Block::Context { elements }
}

/// Drops trailing blocks (before the footer) until the count and total text fit, noting how many.
fn fit_blocks(mut blocks: Vec<Block>, footer: Block) -> Vec<Block> {
    for b in &mut blocks {
        enforce_block(b);
    }
    let footer_chars: usize = footer.texts().iter().map(|t| t.text().chars().count()).sum();
    let chars = |bs: &[Block]| -> usize {
        bs.iter()
            .flat_map(Block::texts)
            .map(|t| t.text().chars().count())
            .sum::<usize>()
    };
    let mut dropped = 0usize;
    // Room for the footer, an "omitted" note (≤ 100), a decision line (`render_with_decision`, ≤ 64)
    // and a sender's delivery marker.
    let reserved = footer_chars + 100 + 64 + limits::MARKER_TEXT;
    while blocks.len() + 2 > limits::MAX_BLOCKS || chars(&blocks) + reserved > limits::TOTAL_TEXT {
        if blocks.len() <= 2 {
            break;
        }
        blocks.pop();
        dropped += 1;
    }
    if dropped > 0 {
        blocks.push(Block::Context {
            elements: vec![TextObject::mrkdwn(format!(
                "{dropped} more blocks omitted to fit Slack's limits; the full report is in the JSON output"
            ))],
        });
    }
    blocks.push(footer);
    blocks
}

fn enforce_block(b: &mut Block) {
    match b {
        Block::Header { text } => clip(text, limits::HEADER_TEXT),
        Block::Section { text, fields } => {
            if let Some(t) = text {
                clip(t, limits::SECTION_TEXT);
            }
            fields.truncate(limits::SECTION_FIELDS);
            fields.iter_mut().for_each(|f| clip(f, limits::FIELD_TEXT));
        }
        Block::Divider {} => {}
        Block::Context { elements } => {
            elements.truncate(limits::CONTEXT_ELEMENTS);
            elements.iter_mut().for_each(|e| clip(e, limits::CONTEXT_TEXT));
        }
    }
}

fn clip(t: &mut TextObject, max: usize) {
    let s = t.text_mut();
    if s.chars().count() > max {
        *s = truncate_escaped(s, max);
    }
}

/// [`truncate`] for text escaped already (list lines, whole sections): the cut never ends inside an
/// entity (`&amp;`, `&lt;`, `&gt;`), which Slack would show as `&am…`.
fn truncate_escaped(s: &str, max: usize) -> String {
    let cut = truncate(s, max);
    let Some(body) = cut.strip_suffix('…') else {
        return cut;
    };
    // A `&` among the last four characters with no `;` after it began an entity the cut split.
    match body.rfind('&') {
        Some(at) if body.len() - at < 5 && !body[at..].contains(';') => format!("{}…", &body[..at]),
        _ => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::{Anomaly, Baseline};
    use crate::report::tests::demo_report;
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn section_texts(msg: &SlackMessage) -> Vec<String> {
        msg.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Section { text: Some(t), .. } => Some(t.text().to_owned()),
                _ => None,
            })
            .collect()
    }

    /// A platform that values no cards (no design model, no `CardsValued`) gets no cost-per-valuation
    /// section — not CollectIQ's seed table and "n/a" per valuation; CollectIQ's report keeps it.
    #[test]
    fn no_cost_per_valuation_without_a_design_model_or_valuations() {
        use crate::report::{ReportSettings, build_report, tests::demo_inputs};
        use crate::unit::SeedCostModel;
        let has_section = |settings: &ReportSettings, valuations: bool| {
            let mut inputs = demo_inputs();
            if !valuations {
                inputs.metrics.retain(|m| m.metric_name != "CardsValued");
            }
            let report = build_report(&inputs, settings, crate::pricing::PriceTable::bundled().unwrap());
            let msg = render(&report);
            assert!(validate(&msg).is_empty(), "{:?}", validate(&msg));
            section_texts(&msg)
                .iter()
                .any(|t| t.starts_with("*Cost per valuation*"))
        };
        let none = ReportSettings {
            seed: SeedCostModel::none(),
            ..ReportSettings::default()
        };
        assert!(!has_section(&none, false));
        assert!(
            has_section(&none, true),
            "valuations counted: per valuation without a seed"
        );
        assert!(
            has_section(&ReportSettings::default(), false),
            "CollectIQ's seed, no valuations yet"
        );
        assert!(has_section(&ReportSettings::default(), true));
    }

    #[test]
    fn demo_payload_snapshot_and_parsed_checks() {
        let msg = render(&demo_report());
        let json = serde_json::to_value(&msg).unwrap();
        // Key order must not depend on serde_json's preserve_order, which other crates switch on.
        let mut settings = insta::Settings::clone_current();
        settings.set_sort_maps(true);
        let _sorted = settings.bind_to_scope();
        insta::assert_json_snapshot!("demo_month_payload", json);
        // Parsed back, the payload is what Slack expects.
        let parsed: SlackMessage = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(parsed, msg);
        assert!(validate(&parsed).is_empty(), "{:?}", validate(&parsed));
        assert_eq!(json["blocks"][0]["type"], "header");
        assert_eq!(json["blocks"][0]["text"]["type"], "plain_text");
        assert_eq!(
            json["blocks"][0]["text"]["text"],
            "💸 CollectIQ cost — prod — 2025-06-18"
        );
        assert_eq!(
            msg.text,
            "CollectIQ prod: $241.41 MTD (48.3% of $500.00) — NOTICE"
        );
        let Block::Section { fields, .. } = &msg.blocks[2] else {
            panic!("budget fields")
        };
        assert_eq!(
            fields[0].text(),
            "*collectiq-prod-monthly*\n$241.41 / $500.00 (48.3%)"
        );
        assert_eq!(fields[2].text(), "*Projected*\n$408.74 (81.7%)");
        assert_eq!(fields[3].text(), "*Tier*\n🟡 80% — NOTICE");
        assert_eq!(fields[5].text(), "*CE forecast*\n$399.27 (80%: $378–$429)");
        let texts = section_texts(&msg);
        let unit = texts
            .iter()
            .find(|t| t.starts_with("*Cost per valuation*"))
            .unwrap();
        assert!(unit.contains("model drift: billed Claude 3.5 Sonnet v2, seed priced like Claude 3.5 Haiku ($300 at seed volume)"), "{unit}");
        let trends = texts.iter().find(|t| t.starts_with("*Top services*")).unwrap();
        assert!(trends.contains("14-day trend"));
        // The Rekognition spike on the last day shows as the top of its sparkline.
        let rek = trends
            .lines()
            .find(|l| l.starts_with("Amazon Rekognition"))
            .unwrap();
        assert!(rek.ends_with('█'), "{rek}");
        assert_eq!(rek.chars().filter(|c| "▁▂▃▄▅▆▇█".contains(*c)).count(), 14);
        let anomalies = texts
            .iter()
            .find(|t| t.starts_with("*Anomalies on 2025-06-17*"))
            .unwrap();
        assert!(
            anomalies.contains("🔺 Amazon Rekognition $12.50 vs $1.67 usual (z 10, High)"),
            "{anomalies}"
        );
        let Some(Block::Context { elements }) = msg.blocks.last() else {
            panic!("footer")
        };
        assert_eq!(
            elements[0].text(),
            "governance: 2 CE requests ($0.02, cap 5/day), 1 GetMetricData, 1 Budgets"
        );
    }

    #[test]
    fn validate_catches_each_limit() {
        let long = "x".repeat(3001);
        let msg = SlackMessage {
            text: String::new(),
            blocks: vec![
                Block::Header {
                    text: TextObject::mrkdwn("h"),
                },
                Block::Section {
                    text: Some(TextObject::mrkdwn(long.clone())),
                    fields: vec![],
                },
                Block::Section {
                    text: None,
                    fields: vec![TextObject::mrkdwn("f"); 11],
                },
                Block::Section {
                    text: None,
                    fields: vec![TextObject::mrkdwn(long.clone())],
                },
                Block::Section {
                    text: None,
                    fields: vec![],
                },
                Block::Context { elements: vec![] },
            ],
        };
        let v = validate(&msg);
        for expected in [
            LimitViolation::EmptyFallback,
            LimitViolation::Header { block: 0, chars: 1 },
            LimitViolation::SectionText {
                block: 1,
                chars: 3001,
            },
            LimitViolation::TooManyFields { block: 2, fields: 11 },
            LimitViolation::FieldText {
                block: 3,
                chars: 3001,
            },
            LimitViolation::EmptySection { block: 4 },
            LimitViolation::Context {
                block: 5,
                elements: 0,
            },
        ] {
            assert!(v.contains(&expected), "{expected:?} not in {v:?}");
        }
        let many = SlackMessage {
            text: "t".into(),
            blocks: vec![Block::Divider {}; 51],
        };
        assert_eq!(validate(&many), vec![LimitViolation::TooManyBlocks(51)]);
    }

    #[test]
    fn escaping_keeps_mrkdwn_and_code_blocks_intact() {
        assert_eq!(escape("a<b>&`c`"), "a&lt;b&gt;&amp;'c'");
        // Slack's own parsing is off too: a bare `@here` or URL in a name is never made a mention or link.
        let json = serde_json::to_value(TextObject::mrkdwn("@here https://x.example")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "mrkdwn", "text": "@here https://x.example", "verbatim": true})
        );
    }

    /// A name is cut before it is escaped: an entity is never cut in half, and what is cut fits.
    #[test]
    fn escaped_text_cut_to_a_width_keeps_whole_entities() {
        let name = "Snowflake Data Cloud - Storage & Compute";
        assert_eq!(
            escape_within(name, 100),
            "Snowflake Data Cloud - Storage &amp; Compute"
        );
        for max in 0..50 {
            let out = escape_within(name, max);
            assert!(out.chars().count() <= max, "{max}: {out}");
            let shown = out.trim_end_matches('…');
            assert!(
                !shown.ends_with("&a") && !shown.ends_with("&am") && !shown.ends_with("&amp"),
                "{max}: {out}"
            );
            assert!(name.starts_with(&shown.replace("&amp;", "&")), "{max}: {out}");
        }
        assert_eq!(escape_within(name, 33), "Snowflake Data Cloud - Storage …");
        assert_eq!(escape_within(name, 37), "Snowflake Data Cloud - Storage &amp;…");
    }

    /// A service column is padded on the name Slack shows, so rows line up with `&` in a name.
    #[test]
    fn columns_line_up_on_the_shown_names() {
        let mut r = demo_report();
        r.top_services.truncate(2);
        r.top_services[0].service = "Storage & Compute".into();
        r.top_services[1].service = "Amazon Bedrock".into();
        let text: String = render(&r)
            .blocks
            .iter()
            .flat_map(Block::texts)
            .map(|t| t.text().to_owned())
            .collect();
        let shown = |name: &str| {
            let line = text
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{name} in {text}"));
            line.replace("&amp;", "&").find('$').unwrap()
        };
        assert_eq!(shown("Storage &amp; Compute"), shown("Amazon Bedrock"));
    }

    /// A spike (yesterday) and a drop (two days back) in one report: each line says its day.
    #[test]
    fn anomalies_of_two_days_each_say_their_day() {
        let mut r = demo_report();
        let anomaly = |day: u32, direction: Direction| Anomaly {
            service: "Amazon Bedrock".into(),
            date: NaiveDate::from_ymd_opt(2025, 6, day).unwrap(),
            amount: Decimal::ZERO,
            baseline_mean: Decimal::TEN,
            baseline_std: Decimal::ONE,
            z: Decimal::from(-10),
            delta: Decimal::from(-10),
            severity: AnomalySeverity::High,
            direction,
            baseline: Baseline::Trailing { samples: 9 },
            estimated: true,
        };
        r.anomalies = vec![anomaly(17, Direction::Spike), anomaly(16, Direction::Drop)];
        let texts = section_texts(&render(&r));
        let section = texts.iter().find(|t| t.starts_with("*Anomalies*")).unwrap();
        assert!(
            section.contains("on 2025-06-17")
                && section.contains("🔻 Amazon Bedrock $0.00 vs $10.00 usual (z -10, High) on 2025-06-16"),
            "{section}"
        );
    }

    fn huge_report(n: usize, name_len: usize) -> CostReport {
        let mut r = demo_report();
        let day = NaiveDate::from_ymd_opt(2025, 6, 17).unwrap();
        let name = |i: usize| format!("{i} {}", "Service&<name>`".repeat(name_len / 15 + 1));
        let template = r.top_services[0].clone();
        r.top_services = (0..n)
            .map(|i| crate::report::ServiceTrend {
                service: name(i),
                ..template.clone()
            })
            .collect();
        r.anomalies = (0..n)
            .map(|i| Anomaly {
                service: name(i),
                date: day,
                amount: Decimal::from(i),
                baseline_mean: Decimal::ONE,
                baseline_std: Decimal::ONE,
                z: Decimal::from(3),
                delta: Decimal::from(i),
                severity: AnomalySeverity::High,
                direction: Direction::Spike,
                baseline: Baseline::SameWeekday { samples: 4 },
                estimated: false,
            })
            .collect();
        r.hygiene.unmapped_bedrock_services = (0..n).map(|i| (name(i), Decimal::ONE)).collect();
        let b = r.budgets[0].clone();
        r.budgets = (0..n.min(60))
            .map(|i| crate::burn::BudgetBurn {
                budget_name: name(i),
                ..b.clone()
            })
            .collect();
        r.notes = (0..n).map(name).collect();
        r.bedrock_by_agent = (0..n)
            .map(|i| crate::pricing::AgentSpend {
                agent: name(i),
                ..r.bedrock_by_agent[0].clone()
            })
            .collect();
        r
    }

    #[test]
    fn two_hundred_services_and_anomalies_still_fit() {
        let msg = render(&huge_report(200, 300));
        assert!(validate(&msg).is_empty(), "{:?}", validate(&msg));
        assert!(msg.blocks.len() <= limits::MAX_BLOCKS);
        let all: String = section_texts(&msg).join("\n");
        assert!(
            all.contains("… and 190 more")
                || msg
                    .blocks
                    .iter()
                    .any(|b| matches!(b, Block::Context { elements } if elements[0].text().contains("more")))
        );
        // The footer survives any trimming.
        let Some(Block::Context { elements }) = msg.blocks.last() else {
            panic!("footer")
        };
        assert!(elements[0].text().starts_with("governance:"));
    }

    /// A report cut to fit still fits with every decision line and the longest marker a sender may add.
    #[test]
    fn a_cut_report_keeps_room_for_its_decision_and_marker() {
        use crate::alerting::AlertDecision;
        use crate::burn::Tier;
        for n in [40, 60, 200] {
            for decision in [
                AlertDecision::Recovery { from: Tier::Pct150 },
                AlertDecision::Escalate {
                    from: Tier::Pct120,
                    to: Tier::Pct150,
                },
                AlertDecision::Notify { tier: Tier::Pct150 },
            ] {
                let mut msg = render_with_decision(&huge_report(n, 300), &decision);
                // Where a sender puts it: the footer's context block.
                let Some(Block::Context { elements }) = msg.blocks.last_mut() else {
                    panic!("footer")
                };
                elements.push(TextObject::mrkdwn("m".repeat(limits::MARKER_TEXT)));
                assert!(
                    validate(&msg).is_empty(),
                    "{n} {decision:?}: {:?}",
                    validate(&msg)
                );
            }
        }
    }

    #[test]
    fn decisions_add_one_line_and_keep_limits() {
        use crate::alerting::AlertDecision;
        use crate::burn::Tier;
        let r = demo_report();
        let plain = render(&r);
        assert_eq!(render_with_decision(&r, &AlertDecision::Nothing), plain);
        let msg = render_with_decision(&r, &AlertDecision::Recovery { from: Tier::Pct120 });
        assert_eq!(msg.blocks.len(), plain.blocks.len() + 1);
        assert_eq!(
            section_texts(&msg)[0],
            "*✅ Recovered: back under 80% (was 120%)*"
        );
        assert!(
            msg.text
                .starts_with("Recovered: back under 80% (was 120%) — CollectIQ prod")
        );
        let big = render_with_decision(
            &huge_report(200, 300),
            &AlertDecision::Notify { tier: Tier::Pct150 },
        );
        assert!(validate(&big).is_empty(), "{:?}", validate(&big));
        assert!(matches!(&big.blocks[1], Block::Section { text: Some(t), .. } if t.text().contains("150%")));
    }

    /// The demo month spent 21.7 % of its budget and is projected past 100 %: the alert line says
    /// "projected", never "reached", until actual spend gets there.
    #[test]
    fn a_tier_only_projected_is_not_said_reached() {
        use crate::alerting::AlertDecision;
        let mut r = demo_report();
        assert!(
            r.budgets[0].actual_pct < Decimal::from(100),
            "{}",
            r.budgets[0].actual_pct
        );
        let notify = AlertDecision::Notify { tier: Tier::Pct100 };
        let escalate = AlertDecision::Escalate {
            from: Tier::Pct80,
            to: Tier::Pct100,
        };
        let line = |r: &CostReport, d: &AlertDecision| render_with_decision(r, d).text;
        assert!(
            line(&r, &notify).starts_with("Budget projected to reach 100% — "),
            "{}",
            line(&r, &notify)
        );
        assert!(!line(&r, &notify).contains("reached"));
        assert!(line(&r, &escalate).starts_with("Escalated to 100% (was 80%), projected — "));
        r.budgets[0].actual_pct = Decimal::from(104);
        assert!(
            line(&r, &notify).starts_with("Budget tier 100% reached — "),
            "{}",
            line(&r, &notify)
        );
        assert!(line(&r, &escalate).starts_with("Escalated to 100% (was 80%) — "));
    }

    /// A tier the burn ratio reached on its own (cost-anchors §4: "Warning = r ≥ 1.2") is neither
    /// reached nor projected: half-way through June, $310 of $500 is r = 1.24 while the blend with
    /// Budgets' $400 forecast is $473.33 (94.7 %). The line says the pace, which the message's own
    /// burn-ratio field shows, not a projection its projected field contradicts.
    #[test]
    fn a_tier_only_the_burn_ratio_reached_says_the_pace() {
        use crate::alerting::AlertDecision;
        use crate::burn::{BurnInput, budget_burn};
        use chrono::{TimeZone, Utc};
        let burn = |actual: i64, previous: Option<Tier>| {
            let input = BurnInput {
                budget_name: "collectiq-prod-monthly".into(),
                limit: Decimal::from(500),
                actual: Decimal::from(actual),
                budgets_forecast: Some(Decimal::from(400)),
                daily: vec![],
                ce_forecast: None,
                time_unit: crate::burn::BudgetTimeUnit::Monthly,
            };
            budget_burn(&input, Utc.with_ymd_and_hms(2025, 6, 16, 0, 0, 0).unwrap())
                .unwrap()
                .with_previous_tier(previous)
        };
        let mut r = demo_report();
        r.budgets = vec![burn(310, None)];
        assert_eq!(r.budgets[0].tier, Tier::Pct120);
        assert_eq!(budget_pct(r.budgets[0].projected_pct), "94.7%");
        let notify = render_with_decision(&r, &AlertDecision::Notify { tier: Tier::Pct120 });
        let escalate = render_with_decision(
            &r,
            &AlertDecision::Escalate {
                from: Tier::Pct80,
                to: Tier::Pct120,
            },
        );
        assert!(
            notify
                .text
                .starts_with("Spending at 1.24× the budget's pace (tier 120%) — "),
            "{}",
            notify.text
        );
        assert_eq!(
            section_texts(&notify)[0],
            "*🔴 Spending at 1.24× the budget's pace (tier 120%)*"
        );
        assert!(
            escalate
                .text
                .starts_with("Escalated to 120% (was 80%), by burn rate 1.24× — "),
            "{}",
            escalate.text
        );
        for msg in [&notify, &escalate] {
            let all = serde_json::to_string(msg).unwrap();
            assert!(!all.contains("projected to reach"), "{all}");
            assert!(!all.contains(", projected"), "{all}");
            assert!(validate(msg).is_empty(), "{:?}", validate(msg));
        }
        // The day after, $295 is r = 1.18: the ratio holds the tier it gave (hysteresis) and the line
        // still names it — the blend (92.7 %) is further off 120 % than the ratio.
        r.budgets = vec![burn(295, Some(Tier::Pct120))];
        assert_eq!(r.budgets[0].tier, Tier::Pct120);
        let held = render_with_decision(&r, &AlertDecision::Notify { tier: Tier::Pct120 });
        assert!(
            held.text
                .starts_with("Spending at 1.18× the budget's pace (tier 120%) — "),
            "{}",
            held.text
        );
        // With the projection over 120 % too, the projection is named, as before.
        r.budgets[0].projected_pct = Decimal::new(1_253, 1);
        let projected = render_with_decision(&r, &AlertDecision::Notify { tier: Tier::Pct120 });
        assert!(
            projected.text.starts_with("Budget projected to reach 120% — "),
            "{}",
            projected.text
        );
    }

    /// Drift and z-scores sit beside the thresholds they are compared with (the ±10 % drift threshold;
    /// |z| 2.0 / 2.5 / 3.0): printed to one decimal they never round onto or across one. 10.04 % drift
    /// is over ±10 % (it warns), so it never reads 10.0 %; z = 2.96 is Medium, so it never reads 3.0.
    #[test]
    fn drift_and_z_never_round_across_their_thresholds() {
        let mut r = demo_report();
        assert_eq!(r.reconciliation.threshold_pct, Decimal::TEN);
        let line = crate::pricing::ReconciliationLine {
            billing_service: "Claude 3.5 Sonnet (Amazon Bedrock Edition)".into(),
            models: Vec::new(),
            billed: Decimal::new(1334, 2),
            estimated: Decimal::from(12),
            estimated_by_agents: Decimal::from(12),
            drift_pct: Some(Decimal::new(1004, 2)),
            within_threshold: false,
        };
        let under = crate::pricing::ReconciliationLine {
            billing_service: "Amazon Bedrock".into(),
            drift_pct: Some(Decimal::new(-1000, 2)),
            within_threshold: true,
            ..line.clone()
        };
        r.reconciliation.lines = vec![line, under];
        assert_eq!(r.anomalies.len(), 1);
        let spike = r.anomalies[0].clone();
        r.anomalies = vec![
            Anomaly {
                z: Decimal::new(296, 2),
                severity: AnomalySeverity::Medium,
                ..spike.clone()
            },
            Anomaly {
                service: "AWS Lambda".into(),
                z: Decimal::new(-2496, 3),
                severity: AnomalySeverity::Low,
                direction: Direction::Drop,
                ..spike
            },
        ];
        let text = section_texts(&render(&r)).join("\n");
        assert!(text.contains("*Billed vs tokens* (threshold ±10.0%)"), "{text}");
        assert!(text.contains("· drift 10.1%"), "{text}");
        assert!(text.contains("· drift -10.0%"), "{text}");
        assert!(text.contains("(z 2.9, Medium)"), "{text}");
        assert!(text.contains("(z -2.4, Low)"), "{text}");
    }

    /// Lines escaped before they are cut to 250 characters end before a split entity, never in one.
    #[test]
    fn lines_cut_after_escaping_keep_whole_entities() {
        for pad in 240..252 {
            let line = escape(&format!("{}&<>{}", "a".repeat(pad), "b".repeat(40)));
            let cut = truncate_escaped(&line, 250);
            assert!(cut.chars().count() <= 250, "{pad}");
            let body = cut.strip_suffix('…').unwrap();
            let tail = &body[body.rfind('&').unwrap_or(0)..];
            assert!(
                !body.contains('&') || ["&amp;", "&lt;", "&gt;"].iter().any(|e| tail.starts_with(e)),
                "{pad}: {cut}"
            );
            for entity in ["&am…", "&a…", "&l…", "&lt…", "&g…", "&…"] {
                assert!(!cut.ends_with(entity), "{pad}: {cut}");
            }
        }
        assert_eq!(truncate_escaped("short &amp; fine", 250), "short &amp; fine");
    }

    /// The model line's dollars include cache tokens: the line names them when there are any.
    #[test]
    fn the_model_line_names_its_cache_tokens() {
        let mut r = demo_report();
        let plain = section_texts(&render(&r)).join("\n");
        assert!(!plain.contains("cache read"), "{plain}");
        r.bedrock_by_model.per_model[0].tokens.cache_read = 4_137_279;
        let text = section_texts(&render(&r)).join("\n");
        assert!(text.contains(" · 4,137,279 cache read / 0 cache write"), "{text}");
    }

    /// The model lines add up to the total above them: two models of $1.005 each show as $1.01 and
    /// $1.00 under "— $2.01", not $1.01 twice (finance adds the lines up).
    #[test]
    fn the_model_lines_add_up_to_their_total() {
        let mut r = demo_report();
        let mut second = r.bedrock_by_model.per_model[0].clone();
        second.model_key = "second".to_owned();
        second.model_name = "Second model".to_owned();
        r.bedrock_by_model.per_model.truncate(1);
        r.bedrock_by_model.per_model.push(second);
        for m in &mut r.bedrock_by_model.per_model {
            m.cost = Decimal::new(1005, 3);
        }
        r.bedrock_by_model.total = Decimal::new(2010, 3);
        let text = section_texts(&render(&r)).join("\n");
        assert!(
            text.contains("*Bedrock by model* (tokens × price) — $2.01"),
            "{text}"
        );
        assert!(text.contains("$1.01") && text.contains("$1.00"), "{text}");
    }

    proptest! {
        #[test]
        fn every_payload_respects_slack_limits(n in 0usize..220, name_len in 1usize..400, tier in 0usize..5) {
            let report = huge_report(n, name_len);
            let msg = render(&report);
            prop_assert!(validate(&msg).is_empty(), "{:?}", validate(&msg));
            let decision = crate::alerting::AlertDecision::Notify { tier: crate::burn::Tier::ALL[tier] };
            let msg = render_with_decision(&report, &decision);
            prop_assert!(validate(&msg).is_empty(), "{:?}", validate(&msg));
        }
    }

    // Moved from report.rs's tests, which rendered through this module while this module reads
    // `report` (a module circle); the assertions are unchanged.
    /// A cost drift in the last days shows in the 7-day $/valuation first: from June 13 Lambda costs
    /// $4.3667 a day instead of $0.3667 (a retry storm). Hand-computed:
    /// - month to date (June 1–16): 213.8672 + 4 × 4 = 229.8672 over 26,672 valuations = $0.0086183;
    /// - last 7 settled days (June 10–16): 93.5669 + 16 = 109.5669 over 11,669 = $0.0093896 (+9 %).
    #[test]
    fn seven_day_unit_cost_shows_a_drift_before_the_month_does() {
        let mut inputs = crate::report::tests::demo_inputs();
        let rows = std::mem::take(&mut inputs.cost_and_usage.rows);
        inputs.cost_and_usage = rows
            .into_iter()
            .fold(crate::input::DailyCostTable::default(), |t, row| {
                let bump = row.service == "AWS Lambda"
                    && row.date >= crate::report::tests::d(6, 13)
                    && row.date <= crate::report::tests::d(6, 16);
                let amount = if bump {
                    row.amount + rust_decimal_macros::dec!(4)
                } else {
                    row.amount
                };
                t.with_row(row.date, &row.service, amount, row.estimated)
            });
        let r = crate::report::build_report(
            &inputs,
            &crate::report::ReportSettings::default(),
            crate::pricing::PriceTable::bundled().unwrap(),
        );
        assert_eq!(r.unit.total_cost, rust_decimal_macros::dec!(229.8672));
        assert_eq!(
            r.unit.per_valuation.unwrap().round_dp(7),
            rust_decimal_macros::dec!(0.0086183)
        );
        let recent = r.unit_recent.as_ref().unwrap();
        assert_eq!(recent.total_cost, rust_decimal_macros::dec!(109.5669));
        assert_eq!(
            recent.per_valuation.unwrap().round_dp(7),
            rust_decimal_macros::dec!(0.0093896)
        );
        let text = recent_unit_line(&r.unit, recent);
        assert_eq!(
            text,
            "Last 7 settled days: $0.00939 (+9% vs month) · 11,669 valuations · 2025-06-10 – 2025-06-16"
        );
        // Lambda per valuation over the 7 days: (7 × 0.3667 + 16) / 11,669 = $0.0015911, 7.2× the seed's
        // $0.00022; over the month it is diluted to (16 × 0.3667 + 16) / 26,672 = $0.0008199.
        let lambda = |u: &UnitEconomics| {
            u.components
                .iter()
                .find(|c| c.component == crate::unit::Component::Lambda)
                .and_then(|c| c.per_valuation)
                .unwrap()
                .round_dp(7)
        };
        assert_eq!(lambda(recent), rust_decimal_macros::dec!(0.0015911));
        assert_eq!(lambda(&r.unit), rust_decimal_macros::dec!(0.0008199));
    }
}
