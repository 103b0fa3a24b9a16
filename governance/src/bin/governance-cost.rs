//! `governance-cost`: the daily cost report (`{"job":"cost_report"}`); the Bedrock burn check
//! (`{"job":"fast_burn"}`) on demand — the hourly schedule runs it in `governance-fastburn`.
//! Logic: `governance::cost_pass::lambda::cost_handler`.

use governance::cost_pass::lambda::{Deps, cost_handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = Deps::from_env().await?;
    let deps = &deps;
    telemetry::lambda::run_sequential(
        telemetry::layer().service(service_fn(move |event| cost_handler(event, deps))),
    )
    .await
}
