//! What Terraform sends each governance function parses as that function's event: the scheduler's
//! payloads (`infra/modules/governance/variables.tf`), the dashboards' invocation on deploy
//! (`schedules.tf`) and the warning topic's SNS envelope (`notifications.tf`). The events refuse unknown
//! fields (a misspelt `dry_run` must not publish), so a payload key the code does not know would fail
//! every scheduled run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use governance::cost_pass::lambda::JobRequest;
use governance::publish::lambda::{AlarmsEvent, DashboardsEvent};

fn module_file(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../infra/modules/governance/{name}")),
    )
    .unwrap()
}

/// `{ job = "x", trigger = "y" }` (HCL) as JSON.
fn hcl_map_to_json(body: &str) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for pair in body.split(',') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        map.insert(
            k.trim().to_owned(),
            serde_json::Value::String(v.trim().trim_matches('"').to_owned()),
        );
    }
    serde_json::Value::Object(map)
}

fn parses_as(function: &str, payload: &serde_json::Value) -> Result<(), String> {
    let text = payload.to_string();
    match function {
        "governance-cost" | "governance-fastburn" => serde_json::from_str::<JobRequest>(&text).map(drop),
        "governance-alarms" => serde_json::from_str::<AlarmsEvent>(&text).map(drop),
        "governance-dashboards" => serde_json::from_str::<DashboardsEvent>(&text).map(drop),
        other => return Err(format!("no event type known for {other}")),
    }
    .map_err(|e| format!("{function} refuses {text}: {e}"))
}

/// The text between `open` (after `from`) and the next `close`.
fn between<'a>(text: &'a str, from: usize, open: &str, close: &str) -> Option<(&'a str, usize)> {
    let start = text[from..].find(open)? + from + open.len();
    let end = text[start..].find(close)? + start;
    Some((&text[start..end], end))
}

#[test]
fn every_payload_terraform_sends_parses_as_its_functions_event() {
    let vars = module_file("variables.tf");
    let schedules_at = vars
        .find("variable \"schedules\"")
        .expect("the schedules variable");
    let mut at = schedules_at;
    let mut checked = Vec::new();
    while let Some((function, end)) = between(&vars, at, "function   = \"", "\"") {
        let (payload, end) = between(&vars, end, "payload    = {", "}").expect("its payload");
        parses_as(function, &hcl_map_to_json(payload)).unwrap();
        checked.push(function.to_owned());
        at = end;
    }
    assert_eq!(
        checked,
        [
            "governance-cost",
            "governance-fastburn",
            "governance-alarms",
            "governance-dashboards"
        ],
        "the default schedules"
    );
    let schedules = module_file("schedules.tf");
    let (deploy, _) =
        between(&schedules, 0, "input         = jsonencode({", "})").expect("the deploy invocation");
    parses_as("governance-dashboards", &hcl_map_to_json(deploy)).unwrap();
    // The warning topic invokes governance-alarms with SNS's envelope.
    assert!(
        module_file("notifications.tf").contains("endpoint  = module.function[\"governance-alarms\"].arn")
    );
    let sns = serde_json::json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "{}"}}]});
    parses_as("governance-alarms", &sns).unwrap();
}
