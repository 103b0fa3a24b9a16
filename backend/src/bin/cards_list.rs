//! Lambda `cards_list`: `GET /cards`, the caller's cards from GSI1, paginated.
//! The handler and its tests live in `backend::cards_list`; this is only the runtime wiring.

use backend::cards_list::{Deps, handler};
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
