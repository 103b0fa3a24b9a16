//! The pricing agent: asks every configured price source for recent sales of the card and turns the
//! quotes into a [`PriceEstimate`] (quartile range, median, confidence).
//!
//! Sources sit behind [`PriceSource`]; [`HttpPriceSource`] is the real one (reqwest, `x-api-key`),
//! configured from a Secrets Manager secret (`PRICE_API_SECRET_ID`) read once at init:
//! `{"sources": [{"name": "…", "baseUrl": "https://…", "apiKey": "…"}]}`. A source failing is
//! reported in `sources[].error`; only when every source fails does the task fail (`Retryable` if any
//! failure was transient, so the state machine retries). Records `PricingConfidence` and
//! `AgentDuration` (`agent = pricing`).

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::model::{ExtractOutput, PriceEstimate, PriceRange, SourceReport};
use crate::obs::{self, RequestLog};
use async_trait::async_trait;
use lambda_runtime::LambdaEvent;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use telemetry::catalogue::{Agent, MetricName};
use telemetry::xray::reqwest::SendTraced;

/// The currency estimates are made in; quotes in others are ignored.
pub const CURRENCY: &str = "USD";

/// What to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceQuery {
    /// Best guess of the card's name (first text line).
    pub name: Option<String>,
    /// Set number.
    pub number: Option<String>,
    /// Year.
    pub year: Option<u16>,
    /// Grade.
    pub grade: Option<String>,
}

impl PriceQuery {
    /// From extracted features.
    #[must_use]
    pub fn from_features(f: &crate::model::FeatureEnvelope) -> Self {
        Self {
            name: f.text.first().map(|t| t.text.clone()),
            number: f.hints.number.clone(),
            year: f.hints.year,
            grade: f.hints.grade.clone(),
        }
    }
}

/// One sale.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    /// Price.
    pub amount: Decimal,
    /// ISO 4217.
    pub currency: String,
}

/// A price API.
#[async_trait]
pub trait PriceSource: Send + Sync {
    /// Its name in reports.
    fn name(&self) -> &str;
    /// Recent sales matching `q`.
    async fn quotes(&self, q: &PriceQuery) -> Result<Vec<Quote>, HandlerError>;
}

/// One source's settings in the secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceConfig {
    /// Name.
    pub name: String,
    /// Base URL (`{baseUrl}/v1/prices`).
    pub base_url: String,
    /// The API key.
    pub api_key: String,
}

#[derive(Debug, Deserialize)]
struct SecretDoc {
    sources: Vec<SourceConfig>,
}

/// Parses the secret's JSON.
///
/// # Errors
/// [`ConfigError::Invalid`] for anything but `{"sources": [...]}` with at least one source.
pub fn parse_secret(text: &str) -> Result<Vec<SourceConfig>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "PRICE_API_SECRET_ID",
        reason,
    };
    let doc: SecretDoc =
        serde_json::from_str(text).map_err(|e| invalid(format!("secret is not the expected JSON: {e}")))?;
    if doc.sources.is_empty() {
        return Err(invalid("secret lists no sources".into()));
    }
    Ok(doc.sources)
}

/// Reads the sources from Secrets Manager.
///
/// # Errors
/// [`ConfigError::Invalid`] when the secret cannot be read or parsed.
pub async fn load_sources(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Vec<SourceConfig>, ConfigError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| ConfigError::Invalid {
            name: "PRICE_API_SECRET_ID",
            reason: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
        })?;
    parse_secret(out.secret_string().unwrap_or_default())
}

/// A price API over HTTPS: `GET {baseUrl}/v1/prices?name=&number=&year=&grade=` with `x-api-key`,
/// answering `{"quotes": [{"amount": "355.00", "currency": "USD"}]}`.
#[derive(Clone)]
pub struct HttpPriceSource {
    config: SourceConfig,
    http: reqwest::Client,
}

impl std::fmt::Debug for HttpPriceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpPriceSource")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct QuotesDoc {
    quotes: Vec<Quote>,
}

impl HttpPriceSource {
    /// A source with a 10 s timeout.
    #[must_use]
    pub fn new(config: SourceConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self { config, http }
    }
}

#[async_trait]
impl PriceSource for HttpPriceSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn quotes(&self, q: &PriceQuery) -> Result<Vec<Quote>, HandlerError> {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(v) = &q.name {
            params.push(("name", v.clone()));
        }
        if let Some(v) = &q.number {
            params.push(("number", v.clone()));
        }
        if let Some(v) = q.year {
            params.push(("year", v.to_string()));
        }
        if let Some(v) = &q.grade {
            params.push(("grade", v.clone()));
        }
        let url = format!("{}/v1/prices", self.config.base_url.trim_end_matches('/'));
        let resp = self
            .http
            .get(url)
            .header("x-api-key", &self.config.api_key)
            .query(&params)
            .send_traced()
            .await
            .map_err(|e| HandlerError::Retryable(format!("{}: {e}", self.config.name)))?;
        let status = resp.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(HandlerError::Retryable(format!(
                "{}: HTTP {status}",
                self.config.name
            )));
        }
        if !status.is_success() {
            return Err(HandlerError::Internal(format!(
                "{}: HTTP {status}",
                self.config.name
            )));
        }
        let doc: QuotesDoc = resp
            .json()
            .await
            .map_err(|e| HandlerError::Internal(format!("{}: malformed answer: {e}", self.config.name)))?;
        Ok(doc.quotes)
    }
}

/// The function's dependencies.
#[derive(Clone)]
pub struct Deps {
    /// The price sources.
    pub sources: Vec<Arc<dyn PriceSource>>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps")
            .field("sources", &self.sources.len())
            .finish()
    }
}

impl Deps {
    /// The HTTP sources listed in the `PRICE_API_SECRET_ID` secret.
    ///
    /// # Errors
    /// A missing variable or an unreadable secret.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let secrets = telemetry::traced_client!(aws_sdk_secretsmanager, aws);
        let configs = load_sources(&secrets, &config::required("PRICE_API_SECRET_ID")?).await?;
        Ok(Self {
            sources: configs
                .into_iter()
                .map(|c| Arc::new(HttpPriceSource::new(c)) as Arc<dyn PriceSource>)
                .collect(),
        })
    }
}

fn median(sorted: &[Decimal]) -> Decimal {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / Decimal::TWO
    }
}

/// Quartile range, median and confidence of USD quotes (`None` range without quotes).
///
/// Confidence = min(n, 10)/10 × 1/(1 + (p75 − p25)/median): more sales and a tighter spread → closer
/// to 1.
///
/// ```
/// use rust_decimal_macros::dec;
/// let (range, conf) = backend::pricing_agent::estimate(&[dec!(100), dec!(110), dec!(90), dec!(100)]);
/// let r = range.unwrap();
/// assert_eq!((r.low, r.median, r.high), (dec!(90), dec!(100), dec!(110)));
/// assert!(conf > 0.3 && conf < 0.4);
/// ```
#[must_use]
pub fn estimate(quotes: &[Decimal]) -> (Option<PriceRange>, f64) {
    let mut q: Vec<Decimal> = quotes.iter().copied().filter(|d| *d > Decimal::ZERO).collect();
    if q.is_empty() {
        return (None, 0.0);
    }
    q.sort();
    let last = q.len() - 1;
    let low = q[last / 4];
    let high = q[(last * 3).div_ceil(4)];
    let mid = median(&q);
    let spread = ((high - low) / mid).to_f64().unwrap_or(1.0);
    let count = q.len().min(10) as f64 / 10.0;
    let confidence = (count / (1.0 + spread) * 1000.0).round() / 1000.0;
    let round =
        |d: Decimal| d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    (
        Some(PriceRange {
            low: round(low),
            median: round(mid),
            high: round(high),
            currency: CURRENCY.to_owned(),
        }),
        confidence,
    )
}

/// The handler.
///
/// # Errors
/// `Retryable` when every source failed and one of them transiently; `Internal` otherwise.
pub async fn handler(event: LambdaEvent<ExtractOutput>, deps: &Deps) -> Result<PriceEstimate, HandlerError> {
    let log = RequestLog::start("pricing_agent", &event.context.request_id);
    let input = event.payload;
    let result = price(&input, deps).await;
    if let Ok(e) = &result {
        obs::record(MetricName::PricingConfidence, e.confidence);
        tracing::info!(
            card_id = input.request.card_id.as_str(),
            valuation_id = input.request.valuation_id.as_str(),
            confidence = e.confidence,
            median = e.range.as_ref().map(|r| r.median.to_string()),
            "card priced"
        );
    }
    obs::agent_duration(Agent::Pricing, log.elapsed_ms());
    log.finish(&result);
    result
}

async fn price(input: &ExtractOutput, deps: &Deps) -> Result<PriceEstimate, HandlerError> {
    if deps.sources.is_empty() {
        return Err(HandlerError::Internal("no price sources configured".into()));
    }
    let query = PriceQuery::from_features(&input.features);
    let mut all = Vec::new();
    let mut reports = Vec::new();
    let mut last_error = None;
    for source in &deps.sources {
        match source.quotes(&query).await {
            Ok(quotes) => {
                let usd: Vec<Decimal> = quotes
                    .iter()
                    .filter(|q| q.currency == CURRENCY)
                    .map(|q| q.amount)
                    .collect();
                reports.push(SourceReport {
                    source: source.name().to_owned(),
                    quotes: usd.len(),
                    error: None,
                });
                all.extend(usd);
            }
            Err(e) => {
                tracing::warn!(
                    source = source.name(),
                    error = &e as &dyn std::error::Error,
                    "price source failed"
                );
                reports.push(SourceReport {
                    source: source.name().to_owned(),
                    quotes: 0,
                    error: Some(e.to_string()),
                });
                last_error = Some(e);
            }
        }
    }
    if reports.iter().all(|r| r.error.is_some())
        && let Some(e) = last_error
    {
        let any_transient = reports
            .iter()
            .any(|r| r.error.as_deref().is_some_and(|m| m.starts_with("retryable")));
        return Err(if any_transient {
            HandlerError::Retryable(format!("every price source failed; last: {e}"))
        } else {
            e
        });
    }
    let (range, confidence) = estimate(&all);
    Ok(PriceEstimate {
        range,
        confidence,
        sources: reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn no_quotes_no_range() {
        assert_eq!(estimate(&[]), (None, 0.0));
        assert_eq!(estimate(&[dec!(0), dec!(-3)]), (None, 0.0));
    }

    #[test]
    fn one_quote_is_a_point_with_low_confidence() {
        let (r, c) = estimate(&[dec!(12.345)]);
        let r = r.unwrap();
        assert_eq!((r.low, r.median, r.high), (dec!(12.35), dec!(12.35), dec!(12.35)));
        assert!((c - 0.1).abs() < 1e-9);
    }

    #[test]
    fn secret_parsing_rejects_empty_and_malformed() {
        assert!(parse_secret(r#"{"sources": []}"#).is_err());
        assert!(parse_secret("key=abc").is_err());
        let s =
            parse_secret(r#"{"sources": [{"name": "a", "baseUrl": "https://x", "apiKey": "SECRETKEY123"}]}"#)
                .unwrap();
        assert_eq!(s[0].name, "a");
        assert!(!format!("{:?}", HttpPriceSource::new(s[0].clone())).contains("SECRETKEY"));
    }

    proptest! {
        #[test]
        fn range_is_ordered_and_confidence_bounded(cents in proptest::collection::vec(1u32..10_000_000, 1..50)) {
            let quotes: Vec<Decimal> = cents.iter().map(|c| Decimal::new(i64::from(*c), 2)).collect();
            let (r, c) = estimate(&quotes);
            let r = r.unwrap();
            prop_assert!(r.low <= r.median && r.median <= r.high);
            prop_assert!((0.0..=1.0).contains(&c));
        }
    }
}
