//! `governance-dashboards`: plans and publishes the platform's dashboards (only what changed).
//! Logic: `governance::publish::lambda::dashboards_handler`.

use governance::publish::lambda::{LambdaDeps, dashboards_handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = LambdaDeps::from_env().await?;
    let deps = &deps;
    telemetry::lambda::run_sequential(
        telemetry::layer().service(service_fn(move |event| dashboards_handler(event, deps))),
    )
    .await
}
