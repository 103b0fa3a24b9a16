//! Lambda `rekognition_extract`: valuation task 1, Rekognition text and labels → FeatureEnvelope.
//! The handler and its tests live in `backend::rekognition_extract`; this is only the runtime wiring.

use backend::rekognition_extract::{Deps, handler};
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    let deps = Deps::from_env(&backend::config::aws().await);
    // Built once and shared by every invocation; with AWS_LAMBDA_MAX_CONCURRENCY (Managed Instances)
    // several run at once, so the handler borrows it for the life of the process.
    let deps: &'static Deps = Box::leak(Box::new(deps));
    telemetry::lambda::run_with(
        telemetry::layer().with_correlation(backend::correlation_id),
        service_fn(move |e| handler(e, deps)),
    )
    .await
}
