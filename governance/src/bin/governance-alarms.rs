//! `governance-alarms`: publishes the alarm catalogue (only what changed), posts the alarm-state report
//! to Slack and escalates critical alarms still firing after N minutes to SNS, once per episode.
//! Logic: `governance::publish::lambda::alarms_handler`.

use governance::publish::lambda::{LambdaDeps, alarms_handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    // Terraform's environment wins over the packaged spec: from_env applies it.
    let deps = LambdaDeps::from_env().await?;
    let deps = &deps;
    telemetry::lambda::run_sequential(
        telemetry::layer().service(service_fn(move |event| alarms_handler(event, deps))),
    )
    .await
}
