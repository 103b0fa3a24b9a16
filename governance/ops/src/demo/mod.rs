//! `collectiq-ops demo`: the main job on the embedded default. Starts the local AWS emulator, seeds a
//! CollectIQ month, and runs the governance pass against it with the real SDK clients, printing what a
//! user would see and writing it under `out/`.
//!
//! The pass is a list of steps; each governance feature adds one [`DemoSection`] (see [`run`]):
//! [`publish_steps`] (alarm state, plan, apply, second apply) and [`cost_step`] (the daily report).
//!
//! **One now.** The demo runs as of one instant ([`DemoNow`]): the wall clock when it starts, or what
//! `--as-of` pins ([`resolve_now`]). The month is seeded up to it, its log events and traces in the
//! minutes before it, and doctor, the alarm state and the cost report all read at it; the output names it
//! once, at the top. A pinned instant must lie in the window the emulator (like AWS) can still hold data
//! for — CloudWatch Logs takes events at most 14 days old, X-Ray keeps traces 30 days — so `--as-of` older
//! than [`MAX_PINNED_AGE`] or in the future is refused with a message that says why.

pub mod cost_step;
pub mod publish_steps;
pub mod section;

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args;
use collectiq_tests::{Emulator, WebhookSink};
use governance::doctor;
use serde::Serialize;

use crate::global::{GlobalArgs, GlobalOption, load_spec};
use crate::output::{emit, progress, write_json};
use crate::seed;
pub use section::{DemoContext, DemoSection};

/// `demo` options.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The instant the demo runs as of (default: now, the wall clock). A date: today means now, a past day
    /// means 13:12 UTC that day (same month every run); or an RFC 3339 instant (2026-11-28T09:30:00Z).
    /// At most 13 days back — CloudWatch Logs accepts events up to 14 days old — and not in the future.
    #[arg(long, value_parser = parse_as_of)]
    pub as_of: Option<AsOf>,
}

impl DemoArgs {
    /// Why `option` would have no effect on the demo, or `None` when it uses it: it calls only the
    /// emulator it starts, with the emulator's credentials, in the spec's region.
    #[must_use]
    pub fn why_unused(&self, option: GlobalOption) -> Option<&'static str> {
        match option {
            GlobalOption::EndpointUrl => {
                Some("the demo starts its own emulator (use `doctor --endpoint-url …` for an existing one)")
            }
            GlobalOption::Profile => {
                Some("the demo calls only its own emulator, with the emulator's test credentials")
            }
            GlobalOption::Region => Some("the demo runs its own emulator in the spec's region"),
            GlobalOption::Platform | GlobalOption::Json | GlobalOption::Out => None,
        }
    }
}

/// What `--as-of` names: a day or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// `2026-11-28`.
    Date(NaiveDate),
    /// `2026-11-28T09:30:00Z`.
    Instant(DateTime<Utc>),
}

/// Parses `--as-of`: `YYYY-MM-DD` or an RFC 3339 instant.
///
/// # Errors
/// A message naming the value and both accepted forms.
pub fn parse_as_of(s: &str) -> Result<AsOf, String> {
    if let Ok(d) = s.parse::<NaiveDate>() {
        return Ok(AsOf::Date(d));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| AsOf::Instant(t.with_timezone(&Utc)))
        .map_err(|_| {
            format!("`{s}` is neither a date (2026-11-28) nor an RFC 3339 instant (2026-11-28T09:30:00Z)")
        })
}

/// How far back `--as-of` may pin the demo: the month's log events must still be inside CloudWatch Logs'
/// 14-day window when they are written, with a day to spare.
pub const MAX_PINNED_AGE: Duration = Duration::days(13);

/// The demo's one "now" and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DemoNow {
    /// The instant every section reads at.
    pub at: DateTime<Utc>,
    /// `true` when `--as-of` pinned it; `false` for the wall clock.
    pub pinned: bool,
}

/// Why `--as-of` cannot be the demo's now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AsOfError {
    /// After the wall clock.
    #[error(
        "--as-of {at} is after the wall clock ({wall}): the emulator cannot hold a month that has not \
         happened (CloudWatch Logs rejects events more than 2 hours ahead). Drop --as-of to run as of now."
    )]
    Future {
        /// The pinned instant.
        at: String,
        /// The wall clock.
        wall: String,
    },
    /// Older than [`MAX_PINNED_AGE`].
    #[error(
        "--as-of {at} is more than 13 days before the wall clock ({wall}): CloudWatch Logs (and the emulator) \
         reject log events older than 14 days and X-Ray keeps traces 30 days, so that month's logs and \
         traces could not be read back. Pick a day from {oldest} on, or drop --as-of to run as of now."
    )]
    TooOld {
        /// The pinned instant.
        at: String,
        /// The wall clock.
        wall: String,
        /// The oldest day accepted.
        oldest: NaiveDate,
    },
}

/// The demo's now for `as_of` at wall clock `wall`: `wall` itself (to the second) without `--as-of` or
/// for today's date; [`seed::pinned_now`] (13:12 UTC) for a past date; the instant as given. Refused when
/// after `wall` or more than [`MAX_PINNED_AGE`] before it.
///
/// ```
/// use collectiq_ops::demo::{AsOf, resolve_now};
/// let wall = "2026-12-02T06:08:31Z".parse().unwrap();
/// assert_eq!(resolve_now(None, wall).unwrap().at.to_rfc3339(), "2026-12-02T06:08:31+00:00");
/// let past = AsOf::Date("2026-11-28".parse().unwrap());
/// assert_eq!(resolve_now(Some(past), wall).unwrap().at.to_rfc3339(), "2026-11-28T13:12:00+00:00");
/// assert!(resolve_now(Some(AsOf::Date("2026-11-01".parse().unwrap())), wall).is_err());
/// ```
///
/// # Errors
/// [`AsOfError`] saying which window the instant misses and what to pass instead.
pub fn resolve_now(as_of: Option<AsOf>, wall: DateTime<Utc>) -> Result<DemoNow, AsOfError> {
    let wall = DateTime::from_timestamp(wall.timestamp(), 0).unwrap_or(wall);
    let at = match as_of {
        None => {
            return Ok(DemoNow {
                at: wall,
                pinned: false,
            });
        }
        Some(AsOf::Date(d)) if d == wall.date_naive() => {
            return Ok(DemoNow {
                at: wall,
                pinned: false,
            });
        }
        Some(AsOf::Date(d)) => seed::pinned_now(d),
        Some(AsOf::Instant(t)) => t,
    };
    let show = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    if at > wall {
        return Err(AsOfError::Future {
            at: show(at),
            wall: show(wall),
        });
    }
    if wall - at > MAX_PINNED_AGE {
        // The oldest day whose 13:12 UTC is still inside the window.
        let oldest = (wall - MAX_PINNED_AGE).date_naive();
        let oldest = if seed::pinned_now(oldest) < wall - MAX_PINNED_AGE {
            oldest.succ_opt().unwrap_or(oldest)
        } else {
            oldest
        };
        return Err(AsOfError::TooOld {
            at: show(at),
            wall: show(wall),
            oldest,
        });
    }
    Ok(DemoNow { at, pinned: true })
}

/// What the demo saw, written to `out/demo.json`.
#[derive(Debug, Serialize)]
struct DemoSummary<'a> {
    platform: String,
    /// The one instant every section reads at.
    now: DemoNow,
    as_of: chrono::NaiveDate,
    valuations_month_to_date: u64,
    claude_tokens_month_to_date: (u64, u64),
    spend_month_to_date_by_service: Vec<(String, String)>,
    budgets: Vec<DemoBudgetLine>,
    seed: SeedCounts,
    doctor: &'a doctor::DoctorReport,
    sections: Vec<DemoSection>,
}

#[derive(Debug, Serialize)]
struct DemoBudgetLine {
    name: String,
    limit_usd: String,
    actual_usd: String,
    forecast_usd: String,
}

#[derive(Debug, Serialize)]
struct SeedCounts {
    metric_datums: usize,
    put_metric_data_calls: usize,
    alarms: usize,
    alarms_firing: usize,
    log_events: usize,
    trace_segments: usize,
    /// Where the log events and traces end (the demo's now: `--as-of` is validated against the windows).
    logs_and_traces_at: Option<DateTime<Utc>>,
}

/// Runs the demo; returns the exit code (0 all good, 2 a check or step failed).
///
/// # Errors
/// When the spec does not load or the emulator cannot start or be seeded.
pub async fn run(global: &GlobalArgs, args: &DemoArgs) -> Result<i32> {
    if global.endpoint_url.is_some() {
        // `--endpoint-url` on the command line is refused by `cli::parse`; this one is
        // `COLLECTIQ_ENDPOINT_URL`, set for every command, which the demo has no use for.
        progress("COLLECTIQ_ENDPOINT_URL is not used: the demo starts its own emulator");
    }
    let spec = load_spec(&global.platform)?;
    let now = resolve_now(args.as_of, Utc::now())?;
    // The files the run writes, checked before the emulator starts: not after a minute and a half.
    let targets = crate::cost::output_paths(&global.out, &cost_step::charts(&global.out))
        .into_iter()
        .chain(["demo.json", "alarm-state.slack.json"].map(|name| global.out.join(name)))
        .collect::<Vec<_>>();
    crate::output::check_file_targets(targets.iter().map(std::path::PathBuf::as_path))?;
    progress("starting the local AWS emulator (moto + CloudWatch CBOR front)…");
    let emulator = Emulator::start().await.context("cannot start the emulator")?;
    progress(&format!("emulator up at {}", emulator.endpoint()));
    let slack = WebhookSink::start(Vec::new())
        .await
        .context("cannot start the loopback Slack sink")?;
    let clients = emulator.clients().await;
    let month = seed::DemoMonth::generate_at(&spec, now.at);
    progress(&format!(
        "seeding {} for {} → {}…",
        spec.managed_prefix(),
        month.days[0].date,
        month.now.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    let seeded = seed::apply(&spec, &month, &clients, slack.url()).await?;
    progress(&format!(
        "seeded {} metric datums in {} PutMetricData calls, {} budgets, {} alarms ({} firing)",
        seeded.metric_datums, seeded.put_metric_calls, seeded.budgets, seeded.alarms.0, seeded.alarms.1
    ));
    progress("running doctor against the seeded emulator…");
    let report = doctor::run_at(&spec, &clients, month.now).await;

    let ctx = DemoContext {
        spec: &spec,
        emulator: &emulator,
        clients: &clients,
        month: &month,
        slack: &slack,
        out: &global.out,
    };
    // The governance pass, one step per feature, in the order a scheduled run does them.
    let mut sections: Vec<DemoSection> = Vec::new();
    sections.extend(publish_steps::demo_sections(&ctx).await?);
    sections.push(cost_step::demo_step(&ctx).await?);

    let mtd = month.month_to_date_by_service();
    let summary = DemoSummary {
        platform: spec.managed_prefix(),
        now,
        as_of: month.as_of,
        valuations_month_to_date: month.month_days().map(|d| d.valuations).sum(),
        claude_tokens_month_to_date: seed::total_tokens(&month),
        spend_month_to_date_by_service: mtd
            .iter()
            .map(|(s, v)| (s.clone(), v.round_dp(2).to_string()))
            .collect(),
        budgets: month
            .budgets
            .iter()
            .map(|b| DemoBudgetLine {
                name: b.name.clone(),
                limit_usd: b.limit_usd.to_string(),
                actual_usd: b.actual_usd.to_string(),
                forecast_usd: b.forecast_usd.to_string(),
            })
            .collect(),
        seed: SeedCounts {
            metric_datums: seeded.metric_datums,
            put_metric_data_calls: seeded.put_metric_calls,
            alarms: seeded.alarms.0,
            alarms_firing: seeded.alarms.1,
            log_events: seeded.log_events,
            trace_segments: seeded.trace_segments,
            logs_and_traces_at: seeded.logs_and_traces_at,
        },
        doctor: &report,
        sections,
    };
    let path = write_json(&global.out, "demo.json", &summary)?;
    let text = render(&summary, &month, &path);
    emit(global, &summary, &text)?;
    // A step that failed is an error while running; a doctor check that failed is a finding.
    Ok(if !summary.sections.iter().all(|s| s.ok) {
        crate::exit::ERROR
    } else if report.all_ok() {
        crate::exit::OK
    } else if report.found_problems() {
        crate::exit::FINDINGS
    } else {
        crate::exit::ERROR
    })
}

fn render(s: &DemoSummary<'_>, month: &seed::DemoMonth, path: &Path) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "CollectIQ Ops demo — {} — now is {} ({}); every section below reads at this instant",
        s.platform,
        s.now.at.format("%Y-%m-%d %H:%M:%S UTC"),
        if s.now.pinned {
            "pinned by --as-of"
        } else {
            "the wall clock"
        }
    );
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Seeded month: {} → now ({} whole hours of today), history from {}",
        month.month_start,
        month.hours_today(),
        month.days.first().map_or(month.month_start, |d| d.date)
    );
    let total: rust_decimal::Decimal = month.month_to_date_by_service().iter().map(|(_, v)| *v).sum();
    let _ = writeln!(t, "  valuations      {:>12}", group(s.valuations_month_to_date));
    let _ = writeln!(
        t,
        "  Claude tokens   {:>12} in / {} out",
        group(s.claude_tokens_month_to_date.0),
        group(s.claude_tokens_month_to_date.1)
    );
    let _ = writeln!(t, "  spend           {:>12}", format!("${}", total.round_dp(2)));
    for (service, usd) in &s.spend_month_to_date_by_service {
        let _ = writeln!(t, "    {service:<44} {:>10}", format!("${usd}"));
    }
    for b in &s.budgets {
        let _ = writeln!(
            t,
            "  budget {}: ${} limit, ${} actual, ${} forecast by AWS Budgets",
            b.name, b.limit_usd, b.actual_usd, b.forecast_usd
        );
    }
    let _ = writeln!(
        t,
        "  seeded {} metric datums, {} alarms ({} firing), {} log events and {} trace segments in the 5 minutes before now",
        s.seed.metric_datums, s.seed.alarms, s.seed.alarms_firing, s.seed.log_events, s.seed.trace_segments
    );
    let _ = writeln!(t);
    let _ = writeln!(t, "{}", s.doctor);
    for section in &s.sections {
        let _ = writeln!(t);
        let _ = writeln!(t, "{}{}", section.title, if section.ok { "" } else { "  ✗" });
        let _ = writeln!(t, "{}", section.text.trim_end());
    }
    let _ = writeln!(t);
    let _ = write!(t, "Written: {}", path.display());
    t
}

/// `51234` → `51,234`.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall() -> DateTime<Utc> {
        "2026-12-02T06:08:31.750Z".parse().unwrap()
    }

    #[test]
    fn without_as_of_now_is_the_wall_clock_to_the_second() {
        let now = resolve_now(None, wall()).unwrap();
        assert_eq!(now.at.to_rfc3339(), "2026-12-02T06:08:31+00:00");
        assert!(!now.pinned);
        // Today's date means now too: 13:12 would be in the future at 06:08.
        let today = resolve_now(Some(parse_as_of("2026-12-02").unwrap()), wall()).unwrap();
        assert_eq!(today, now);
    }

    #[test]
    fn a_pinned_day_or_instant_inside_the_windows_is_the_now() {
        let day = resolve_now(Some(parse_as_of("2026-11-21").unwrap()), wall()).unwrap();
        assert_eq!(day.at.to_rfc3339(), "2026-11-21T13:12:00+00:00");
        assert!(day.pinned);
        let instant = resolve_now(Some(parse_as_of("2026-12-01T23:30:00Z").unwrap()), wall()).unwrap();
        assert_eq!(instant.at.to_rfc3339(), "2026-12-01T23:30:00+00:00");
        let offset = resolve_now(Some(parse_as_of("2026-12-02T07:00:00+02:00").unwrap()), wall()).unwrap();
        assert_eq!(offset.at.to_rfc3339(), "2026-12-02T05:00:00+00:00");
    }

    #[test]
    fn too_old_or_future_as_of_is_refused_with_the_window_and_the_way_out() {
        let old = resolve_now(Some(parse_as_of("2026-11-18").unwrap()), wall()).unwrap_err();
        let text = old.to_string();
        assert!(text.contains("--as-of 2026-11-18 13:12:00 UTC"), "{text}");
        assert!(text.contains("14 days") && text.contains("30 days"), "{text}");
        assert!(text.contains("Pick a day from 2026-11-19 on"), "{text}");
        // And the day it names is accepted.
        assert!(resolve_now(Some(parse_as_of("2026-11-19").unwrap()), wall()).is_ok());
        let future = resolve_now(Some(parse_as_of("2026-12-03").unwrap()), wall()).unwrap_err();
        assert!(future.to_string().contains("after the wall clock"), "{future}");
        let soon = resolve_now(Some(parse_as_of("2026-12-02T06:30:00Z").unwrap()), wall()).unwrap_err();
        assert!(matches!(soon, AsOfError::Future { .. }));
        let bad = parse_as_of("21/11/2026").unwrap_err();
        assert!(bad.contains("`21/11/2026`") && bad.contains("RFC 3339"), "{bad}");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(51_234_567), "51,234,567");
    }
}
