//! A CollectIQ-style function whose spans leave as OpenTelemetry: `tracing` spans and a span made with
//! the OpenTelemetry API (as a library would) in one trace, exported to whatever `OTEL_TRACES_EXPORTER`
//! names. With `AWS_LAMBDA_MAX_CONCURRENCY` set it serves invocations concurrently (Lambda Managed
//! Instances). The payload's `delay_ms` holds the invocation open, so tests can interleave them.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use opentelemetry::trace::{Tracer, TracerProvider as _};
use serde_json::{Value, json};
use std::time::Duration;

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let card = event.payload["card_id"].as_str().unwrap_or("unknown").to_owned();
    let delay = Duration::from_millis(event.payload["delay_ms"].as_u64().unwrap_or(0));
    let span = tracing::info_span!(
        "price_card",
        card_id = card.as_str(),
        annotation.card = card.as_str()
    );
    let _entered = span.clone().entered();
    tracing::info!("pricing card");
    metrics::counter!("CardsValued").increment(1);
    // A library instrumented with the OpenTelemetry API, not `tracing`.
    opentelemetry::global::tracer_provider()
        .tracer("pricing-lib")
        .in_span("pricing-lib.lookup", |_| {});
    drop(_entered);
    tokio::time::sleep(delay).await;
    // After the await, maybe on another worker thread: still this invocation's.
    metrics::counter!("CardsPriced").increment(1);
    span.in_scope(|| tracing::info!(after_ms = delay.as_millis() as u64, "priced"));
    Ok(json!({"card_id": card, "request_id": event.context.request_id}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init()?;
    telemetry::run(service_fn(handler)).await
}
