//! The smallest CollectIQ-style function: `telemetry::init()` and `telemetry::run` (the invocation layer
//! around a handler that logs, counts and opens a span; the span flush after each response). The payload's `mode` makes it fail (`error`) or panic (`panic`),
//! which the end-to-end test uses.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    tracing::debug!("payload received");
    let card = event.payload["card_id"].as_str().unwrap_or("unknown").to_owned();
    let result = tracing::info_span!(
        "price_card",
        card_id = card.as_str(),
        annotation.card = card.as_str()
    )
    .in_scope(|| {
        tracing::info!(user_email = "collector@example.com", "pricing card");
        metrics::counter!("CardsValued").increment(1);
        metrics::histogram!("ValuationLatency").record(12.5);
        match event.payload["mode"].as_str() {
            Some("error") => Err(Error::from("pricing source unavailable")),
            Some("panic") => panic!("corrupt card image"),
            _ => Ok(json!({"card_id": card, "value_usd": "120.00"})),
        }
    })?;
    Ok(result)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    telemetry::run(service_fn(handler)).await
}
