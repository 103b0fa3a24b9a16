//! Lambda `cards_get`: `GET /cards/{id}`, one of the caller's cards.
//! The handler and its tests live in `backend::cards_get`; this is only the runtime wiring.

use backend::cards_get::{Deps, handler};
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
