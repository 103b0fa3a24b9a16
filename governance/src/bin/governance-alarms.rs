//! `governance-alarms`: publishes the alarm catalogue (only what changed), posts the alarm-state report
//! to Slack and escalates critical alarms still firing after N minutes to SNS, once per episode.
//! Logic: `governance::publish::lambda::alarms_handler`.

use governance::publish::lambda::{LambdaDeps, alarms_handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    // Terraform's environment wins over the packaged spec.
    let deps = LambdaDeps::from_env().await?.with_targets(
        var("LEDGER_TABLE_NAME"),
        var("SLACK_WEBHOOK_SECRET_ARN"),
        var("SNS_TOPIC_CRITICAL_ARN"),
    );
    let deps = &deps;
    lambda_runtime::run(telemetry::layer().service(service_fn(move |event| alarms_handler(event, deps))))
        .await
}
