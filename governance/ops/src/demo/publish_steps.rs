//! The demo's publishing steps: the alarm-state report (posted to the loopback Slack, escalated to SNS
//! once), the dashboards + alarms plan with its monthly $ delta, the apply, and a second apply that
//! writes nothing.

use alarms::announce::{AnnounceOptions, PostReason};
use anyhow::Result;
use chrono::{Duration, Utc};
use governance::ledger::Ledger;
use governance::publish::state::{
    AnnounceReport, StateOptions, announce, escalate, render_slack, render_text, state_report,
};
use governance::publish::{ApplyOptions, Desired, NoProgress, PlanView, apply_all, plan_all, signed_usd};
use serde_json::json;

use super::section::{DemoContext, DemoSection};
use crate::output::{progress, write_json};
use crate::progress::progress_bar;

/// Minutes a critical alarm fires before the demo escalates it.
const ESCALATE_AFTER: i64 = 15;

/// The publishing sections of the demo, in the order a scheduled run does them.
///
/// # Errors
/// When the catalogue or dashboards cannot be generated or the emulator cannot be read at all.
pub async fn demo_sections(ctx: &DemoContext<'_>) -> Result<Vec<DemoSection>> {
    let mut sections = vec![alarm_state_section(ctx).await?];
    sections.extend(publish_sections(ctx).await?);
    Ok(sections)
}

async fn alarm_state_section(ctx: &DemoContext<'_>) -> Result<DemoSection> {
    let spec = ctx.spec;
    let cw = &ctx.clients.cloudwatch;
    let catalogue = governance::publish::alarms::desired_catalogue(spec)?;
    progress("alarm state: DescribeAlarms, alarm history, X-Ray evidence…");
    // The demo's one now. The emulator stamps alarm state changes with its own (wall) clock, which is
    // this instant plus the seconds the seed took — unless `--as-of` pinned an earlier one (said below).
    let now = ctx.month.now;
    let emulator_clock_ahead = Utc::now() - now;
    let report = state_report(
        cw,
        &ctx.clients.xray,
        spec,
        &catalogue,
        now,
        StateOptions::default(),
    )
    .await?;
    let slack = render_slack(&report);
    let slack_path = write_json(ctx.out, "alarm-state.slack.json", &slack)?;
    let ledger = Ledger::new(ctx.clients.dynamodb.clone(), &spec.ledger.table);
    let topic = &spec.notifications.sns_critical_topic_arn;
    let secret = &spec.notifications.slack_webhook_secret;
    let after = Duration::minutes(ESCALATE_AFTER);
    let slack_posts = || ctx.slack.received().len();
    let posts_before = slack_posts();
    // The schedule's order: escalate, then post only what changed since the last post.
    let first = escalate(&report, after, &ledger, &ctx.clients.sns, topic).await;
    let posted = announce(
        &report,
        first.paged(),
        &ledger,
        &governance::cost_pass::SdkChannels::new(ctx.clients),
        secret,
        AnnounceOptions::default(),
    )
    .await;
    // The seed put the alarms in ALARM moments ago; the next scheduled runs happen later.
    let later = now + Duration::minutes(20);
    let report_later = state_report(
        cw,
        &ctx.clients.xray,
        spec,
        &catalogue,
        later,
        StateOptions::default(),
    )
    .await?;
    let second = escalate(&report_later, after, &ledger, &ctx.clients.sns, topic).await;
    let posted_second = announce(
        &report_later,
        second.paged(),
        &ledger,
        &governance::cost_pass::SdkChannels::new(ctx.clients),
        secret,
        AnnounceOptions::default(),
    )
    .await;
    let third = escalate(&report_later, after, &ledger, &ctx.clients.sns, topic).await;
    let posted_third = announce(
        &report_later,
        third.paged(),
        &ledger,
        &governance::cost_pass::SdkChannels::new(ctx.clients),
        secret,
        AnnounceOptions::default(),
    )
    .await;
    let slack_sent = slack_posts().saturating_sub(posts_before);
    let sns_sent = ctx
        .emulator
        .sns_messages()
        .await
        .map(|m| m.iter().filter(|m| &m.topic_arn == topic).count())
        .unwrap_or(0);
    let mut text = render_text(&report);
    if emulator_clock_ahead > Duration::minutes(ESCALATE_AFTER) {
        text.push_str(&format!(
            "  (--as-of pinned now {} h before the wall clock: the emulator stamped the seeded alarms' state \
             changes at its own clock, so \"since\" is later than now and nothing has fired long enough to escalate.)\n",
            emulator_clock_ahead.num_hours()
        ));
    }
    let why = |a: &AnnounceReport| {
        if let Some(f) = &a.failure {
            format!("✗ {f}")
        } else if a.posted {
            format!(
                "posted ({})",
                a.reasons
                    .iter()
                    .map(PostReason::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            "quiet (nothing changed)".to_owned()
        }
    };
    text.push_str(&format!(
        "  Slack, on change only: this run {}; 20 min later {}; the run after that {}. Posts received by the webhook: {slack_sent} ({} blocks; payload {})\n",
        why(&posted),
        why(&posted_second),
        why(&posted_third),
        slack.blocks.len(),
        slack_path.display()
    ));
    text.push_str(&format!(
        "  Escalation after {ESCALATE_AFTER} min: now {} escalated ({} not yet); 20 min later (simulated clock) {} escalated to SNS; the run after that {} (already escalated this episode: {}). SNS messages on the critical topic: {sns_sent}.\n",
        first.escalated.len(),
        first.not_yet.len(),
        second.escalated.len(),
        third.escalated.len(),
        third.already_escalated.len()
    ));
    let ok = posted.failure.is_none()
        && posted_second.failure.is_none()
        && !posted_third.posted
        && first.failures.is_empty()
        && second.failures.is_empty()
        && third.escalated.is_empty();
    Ok(DemoSection {
        title: "Alarm state".into(),
        text,
        json: json!({
            "report": report,
            "slack_posted": posted.posted,
            "slack": { "now": posted, "after_20_min": posted_second, "next_run": posted_third, "posts_received": slack_sent },
            "escalation": { "now": first, "after_20_min": second, "next_run": third },
            "sns_messages_on_critical_topic": sns_sent,
        }),
        ok,
    })
}

async fn publish_sections(ctx: &DemoContext<'_>) -> Result<Vec<DemoSection>> {
    let spec = ctx.spec;
    let cw = &ctx.clients.cloudwatch;
    let desired = Desired::for_spec(spec)?;
    progress("planning dashboards and alarms against what is published…");
    let plan = plan_all(cw, spec, &desired).await?;
    let plan_section = DemoSection {
        title: "Dashboards and alarms: plan".into(),
        text: plan.render_text(),
        json: json!({
            "dashboards": PlanView::of_dashboards(&plan.dashboards),
            "alarms": PlanView::of_alarms(&plan.alarms),
            "monthly_delta_usd": plan.monthly_delta(),
        }),
        ok: true,
    };
    progress(&format!(
        "applying: {} alarm writes at ≤ 3/s…",
        plan.alarms.plan.to_put().len() + usize::from(!plan.alarms.plan.to_delete().is_empty())
    ));
    let report = apply_all(cw, &plan, ApplyOptions::default(), progress_bar).await;
    let unimplemented: Vec<String> = report
        .alarms
        .failures
        .iter()
        .filter(|f| f.error.is_not_implemented())
        .map(|f| f.name.clone())
        .collect();
    let mut text = report.render_text();
    if !unimplemented.is_empty() {
        text.push_str(&format!(
            "  ({} composite alarm(s) failed with 501: the emulator has no PutCompositeAlarm; the request shape is tested with SDK test clients)\n",
            unimplemented.len()
        ));
    }
    let apply_section = DemoSection {
        title: "Dashboards and alarms: apply".into(),
        text,
        json: serde_json::to_value(&report)?,
        ok: report.real_failures().is_empty(),
    };
    progress("second apply: re-plan against what is now published…");
    let again = plan_all(cw, spec, &desired).await?;
    let second = apply_all(cw, &again, ApplyOptions::default(), |_| NoProgress).await;
    let retried: usize = second
        .alarms
        .failures
        .iter()
        .filter(|f| f.error.is_not_implemented())
        .count();
    let text = format!(
        "{}{} write calls{}; monthly change {}/mo.\n",
        second.render_text(),
        second.write_calls(),
        if retried > 0 {
            format!(" — only the {retried} composite(s) the emulator cannot store were tried again")
        } else {
            String::new()
        },
        signed_usd(again.monthly_delta())
    );
    let second_section = DemoSection {
        title: "Dashboards and alarms: second apply".into(),
        text,
        json: serde_json::to_value(&second)?,
        ok: second.write_calls() == retried && second.real_failures().is_empty(),
    };
    Ok(vec![plan_section, apply_section, second_section])
}
