//! `governance-fastburn`: the hourly Bedrock burn check from CloudWatch token metrics only (no Cost
//! Explorer calls). Logic: `governance::cost_pass::lambda::fast_burn_handler`.

use governance::cost_pass::lambda::{Deps, fast_burn_handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = Deps::from_env().await?;
    let deps = &deps;
    telemetry::lambda::run_sequential(
        telemetry::layer().service(service_fn(move |event| fast_burn_handler(event, deps))),
    )
    .await
}
