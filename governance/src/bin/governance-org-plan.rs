//! `governance-org-plan`: the first step of the organisation state machine (`infra/modules/org`) —
//! the organisation's cost, read once in the management account, and the member accounts to govern.
//! Logic: `governance::org::lambda::plan_handler`.

use governance::org::lambda::{OrgLambdaDeps, plan_handler};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = OrgLambdaDeps::from_env().await?;
    let deps = &deps;
    telemetry::lambda::run_sequential(
        telemetry::layer().service(service_fn(move |event: LambdaEvent<_>| {
            plan_handler(event.payload, deps, chrono::Utc::now())
        })),
    )
    .await
}
