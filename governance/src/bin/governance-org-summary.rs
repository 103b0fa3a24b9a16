//! `governance-org-summary`: the last step of the organisation state machine — the roll-up to the
//! organisation's channel and the summary of what failed where (the execution fails when anything did).
//! Logic: `governance::org::lambda::summary_handler`.

use governance::org::lambda::{OrgLambdaDeps, summary_handler};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = OrgLambdaDeps::from_env().await?;
    let deps = &deps;
    telemetry::lambda::run_sequential(
        telemetry::layer().service(service_fn(move |event: LambdaEvent<_>| {
            summary_handler(event.payload, deps)
        })),
    )
    .await
}
