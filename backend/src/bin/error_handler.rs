//! Lambda `error_handler`: the state machine's Catch and the DLQs' consumer.
//! The handler and its tests live in `backend::error_handler`; this is only the runtime wiring.

use backend::error_handler::{Deps, handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = Deps::from_env(&backend::config::aws().await).await?;
    lambda_runtime::run(
        telemetry::layer()
            .with_correlation(backend::correlation_id)
            .service(service_fn(|e| handler(e, &deps))),
    )
    .await
}
