//! The `hello` function without `telemetry` (no subscriber, no recorder, no layer): the baseline for
//! the cold-start and binary-size comparison in docs/BENCHMARKS.md.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    tracing::debug!("payload received");
    let card = event.payload["card_id"].as_str().unwrap_or("unknown").to_owned();
    let result = tracing::info_span!("price_card", card_id = card.as_str()).in_scope(|| {
        tracing::info!("pricing card");
        metrics::counter!("CardsValued").increment(1);
        metrics::histogram!("ValuationLatency").record(12.5);
        Ok::<_, Error>(json!({"card_id": card, "value_usd": "120.00"}))
    })?;
    Ok(result)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
