//! Lambda `healthz`: `GET /healthz`, the unauthenticated liveness probe.
//! The handler and its tests live in `backend::healthz`; this is only the runtime wiring.

use backend::healthz::{Deps, handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = Deps;
    lambda_runtime::run(
        telemetry::layer()
            .with_correlation(backend::correlation_id)
            .service(service_fn(|e| handler(e, &deps))),
    )
    .await
}
