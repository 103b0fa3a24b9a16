//! `governance-org-account`: one iteration of the organisation state machine's Map — every platform of
//! one member account, through the role governance assumes there.
//! Logic: `governance::org::lambda::account_handler_until`.

use governance::org::lambda::{OrgLambdaDeps, account_handler_until};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = OrgLambdaDeps::from_env().await?;
    let deps = &deps;
    telemetry::lambda::run_sequential(
        telemetry::layer().service(service_fn(move |event: LambdaEvent<_>| {
            // Each item is bounded by the time this invocation has left (see account_handler_until).
            let deadline = event.context.deadline();
            account_handler_until(event.payload, deps, Some(deadline))
        })),
    )
    .await
}
