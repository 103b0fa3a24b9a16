//! Lambda `rekognition_extract`: valuation task 1, Rekognition text and labels → FeatureEnvelope.
//! The handler and its tests live in `backend::rekognition_extract`; this is only the runtime wiring.

use backend::rekognition_extract::{Deps, handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = Deps::from_env(&backend::config::aws().await);
    lambda_runtime::run(
        telemetry::layer()
            .with_correlation(backend::correlation_id)
            .service(service_fn(|e| handler(e, &deps))),
    )
    .await
}
