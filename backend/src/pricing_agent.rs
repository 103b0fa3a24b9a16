//! The pricing agent: asks every configured price source for recent sales of the card and turns the
//! quotes into a [`PriceEstimate`] (quartile range, median, confidence). The card asked for is the one
//! its owner registered (the valuation request's `card`), the photo's text filling in only what the
//! owner left out ([`PriceQuery::for_card`]).
//!
//! Sources sit behind [`PriceSource`]; [`HttpPriceSource`] is the real one (reqwest, `x-api-key`),
//! configured from a Secrets Manager secret (`PRICE_API_SECRET_ID`) read once at init:
//! `{"sources": [{"name": "…", "baseUrl": "https://…", "apiKey": "…"}]}`. Each source's answers are
//! kept in the function's memory for [`PRICE_CACHE_TTL`] (seed 001, "Caching": pricing data cached
//! with a 300-second TTL, application-level caching in Lambda memory): a card revalued, or several
//! copies of one card valued within five minutes, cost one call per source ([`CachedPriceSource`]).
//! A source failing is
//! reported in `sources[].error`; only when every source fails does the task fail (`Retryable` if any
//! failure was transient, so the state machine retries). Records `PricingConfidence` and
//! `AgentDuration` (`agent = pricing`).

use crate::HandlerError;
use crate::config::{self, ConfigError};
use crate::model::{
    CardDetails, ExtractOutput, FeatureEnvelope, PriceEstimate, PriceRange, SourceReport, TextLine,
};
use crate::obs::{self, RequestLog};
use crate::rekognition_extract::GRADING_COMPANIES;
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PriceQuery {
    /// The card's name: as registered, else read off the photo ([`PriceQuery::from_features`]).
    pub name: Option<String>,
    /// Set number.
    pub number: Option<String>,
    /// Year.
    pub year: Option<u16>,
    /// Grade.
    pub grade: Option<String>,
}

impl PriceQuery {
    /// For a valuation: each field as the owner registered the card (`POST /cards`, carried in the
    /// valuation request), and read off the photo only where the owner gave none — the text on a
    /// photo never overrides what the owner registered (a slab label in the picture is not the
    /// card's grade when the owner said otherwise). Without registered details (a request started
    /// before they were carried), all of it from the photo.
    ///
    /// ```
    /// use backend::model::{CardDetails, TextLine};
    /// use backend::pricing_agent::PriceQuery;
    /// let photo = backend::rekognition_extract::envelope("c", vec![
    ///     TextLine { text: "4/102".into(), confidence: 99.8, top: None },
    ///     TextLine { text: "Charizard".into(), confidence: 95.0, top: None },
    /// ], vec![]);
    /// assert_eq!(PriceQuery::for_card(None, &photo).name.as_deref(), Some("Charizard"));
    /// let card = CardDetails { name: "Blastoise".into(), set_name: None, number: None, year: Some(1999),
    ///                          grade: None, rarity: None };
    /// let q = PriceQuery::for_card(Some(&card), &photo);
    /// assert_eq!((q.name.as_deref(), q.number.as_deref()), (Some("Blastoise"), Some("4/102")));
    /// ```
    #[must_use]
    pub fn for_card(registered: Option<&CardDetails>, f: &FeatureEnvelope) -> Self {
        let photo = Self::from_features(f);
        let Some(card) = registered else {
            return photo;
        };
        Self {
            name: Some(card.name.clone()),
            number: card.number.clone().or(photo.number),
            year: card.year.or(photo.year),
            grade: card.grade.clone().or(photo.grade),
        }
    }

    /// From the photo's text alone: the hints ([`crate::rekognition_extract::hints`]) and, as the name,
    /// the first line in reading order that reads like one ([`name_on_photo`]).
    #[must_use]
    pub fn from_features(f: &FeatureEnvelope) -> Self {
        Self {
            name: name_on_photo(&f.text),
            number: f.hints.number.clone(),
            year: f.hints.year,
            grade: f.hints.grade.clone(),
        }
    }
}

/// The card's name as the photo shows it: the first line in reading order — top to bottom by each
/// line's `top`; lines without a position after those with one, in the order given — that reads like
/// a name: a word of three letters or more, more letters than digits, no grading company's label.
/// Not the line Rekognition was surest of: that is mostly a short number (`4/102`, `120 HP`), no name
/// to price a card by. `None` when no line reads like a name.
#[must_use]
pub fn name_on_photo(lines: &[TextLine]) -> Option<String> {
    let mut ordered: Vec<&TextLine> = lines.iter().collect();
    // Stable: lines at the same height, or without one, keep their order.
    ordered.sort_by(|a, b| match (a.top, b.top) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    ordered
        .into_iter()
        .map(|l| l.text.trim())
        .find(|text| reads_like_a_name(text))
        .map(str::to_owned)
}

fn reads_like_a_name(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    letters > digits
        && words.iter().any(|w| w.chars().count() >= 3)
        && !words
            .iter()
            .any(|w| GRADING_COMPANIES.contains(&w.to_ascii_uppercase().as_str()))
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

/// How long a source's answer is reused: seed 001's pricing-data TTL.
pub const PRICE_CACHE_TTL: Duration = Duration::from_secs(300);
/// Answers kept per source at most; past it, the oldest is forgotten first (a warm function valuing
/// many different cards keeps its memory bounded).
pub const PRICE_CACHE_ENTRIES: usize = 1_024;

/// Quotes in one answer kept at most; a larger answer is used but not kept (the memory bound is
/// entries × quotes).
pub const PRICE_CACHE_MAX_QUOTES: usize = 1_000;

/// Each query's answer and when it came.
type Answers = std::collections::HashMap<PriceQuery, (std::time::Instant, Vec<Quote>)>;

/// A [`PriceSource`] whose answers are reused for [`PRICE_CACHE_TTL`]: answers as the source gave them
/// (an empty one too: no sales is an answer; one the agent then rejects, such as an absurd amount, is
/// rejected again from memory) — an error is asked again next time — at most [`PRICE_CACHE_ENTRIES`]
/// of them, each of at most [`PRICE_CACHE_MAX_QUOTES`] quotes. Safe to share between concurrent
/// invocations (Lambda Managed Instances); two invocations missing at once both ask.
pub struct CachedPriceSource {
    inner: Arc<dyn PriceSource>,
    ttl: Duration,
    entries: std::sync::Mutex<Answers>,
    clock: fn() -> std::time::Instant,
}

impl std::fmt::Debug for CachedPriceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedPriceSource")
            .field("source", &self.inner.name())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedPriceSource {
    /// `inner`'s answers, kept for [`PRICE_CACHE_TTL`].
    #[must_use]
    pub fn new(inner: Arc<dyn PriceSource>) -> Self {
        Self::with_clock(inner, PRICE_CACHE_TTL, std::time::Instant::now)
    }

    /// Kept for `ttl`, by `clock` (tests).
    #[must_use]
    pub fn with_clock(inner: Arc<dyn PriceSource>, ttl: Duration, clock: fn() -> std::time::Instant) -> Self {
        Self {
            inner,
            ttl,
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
            clock,
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Answers> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh answer for `q`, if one is kept.
    fn fresh(&self, q: &PriceQuery, now: std::time::Instant) -> Option<Vec<Quote>> {
        let entries = self.entries();
        let (at, quotes) = entries.get(q)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| quotes.clone())
    }

    /// Keeps `quotes` for `q`: the stale answers go first, then, while still full, the oldest.
    fn keep(&self, q: &PriceQuery, quotes: &[Quote], now: std::time::Instant) {
        let mut entries = self.entries();
        if entries.len() >= PRICE_CACHE_ENTRIES && !entries.contains_key(q) {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < ttl);
            while entries.len() >= PRICE_CACHE_ENTRIES {
                let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                entries.remove(&oldest);
            }
        }
        entries.insert(q.clone(), (now, quotes.to_vec()));
    }
}

#[async_trait]
impl PriceSource for CachedPriceSource {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn quotes(&self, q: &PriceQuery) -> Result<Vec<Quote>, HandlerError> {
        if let Some(quotes) = self.fresh(q, (self.clock)()) {
            return Ok(quotes);
        }
        let quotes = self.inner.quotes(q).await?;
        if quotes.len() <= PRICE_CACHE_MAX_QUOTES {
            self.keep(q, &quotes, (self.clock)());
        }
        Ok(quotes)
    }
}

/// One source's settings in the secret. Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceConfig {
    /// Name.
    pub name: String,
    /// Base URL (`{baseUrl}/v1/prices`): `https://`, or `http://` to a loopback address (a local test
    /// server; nothing leaves the machine), without credentials, query or fragment.
    pub base_url: String,
    /// The API key (sent as `x-api-key`, only ever to `baseUrl`).
    pub api_key: String,
}

impl std::fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A mistyped secret may have put the key (or credentials) into the URL: show it only when it
        // is a valid endpoint.
        let base_url = if endpoint(&self.base_url).is_ok() {
            self.base_url.as_str()
        } else {
            "<invalid, not shown>"
        };
        f.debug_struct("SourceConfig")
            .field("name", &self.name)
            .field("base_url", &base_url)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Deserialize)]
struct SecretDoc {
    sources: Vec<SourceConfig>,
}

/// What `baseUrl` must look like (the error text names the rule, never the value).
const BASE_URL_RULE: &str = "must be https://host[:port][/path] (http:// only to a loopback IP), without \
                             credentials, query or fragment";

/// `{baseUrl}/v1/prices` when `base_url` is an allowed endpoint ([`SourceConfig::base_url`]).
fn endpoint(base_url: &str) -> Result<reqwest::Url, &'static str> {
    let url = reqwest::Url::parse(base_url.trim()).map_err(|_| BASE_URL_RULE)?;
    let loopback = url
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<std::net::IpAddr>().ok())
        .is_some_and(|ip| ip.is_loopback());
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(BASE_URL_RULE);
    }
    let path = format!("{}/v1/prices", url.path().trim_end_matches('/'));
    let mut out = url;
    out.set_path(&path);
    Ok(out)
}

/// The secret's JSON shape, for error messages.
const SECRET_SHAPE: &str = r#"{"sources": [{"name": "…", "baseUrl": "https://…", "apiKey": "…"}]}"#;

/// Why the secret's text is not [`SECRET_SHAPE`], naming the place and the kind of mistake — never
/// the text itself: serde_json's messages quote the input (`invalid type: string "sk-live-…"`), and the
/// input is a secret.
fn describe_json_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let at = safe_path(e.path());
    let at = match at.as_str() {
        "" => "the top level".to_owned(),
        _ => at,
    };
    let inner = e.inner();
    let what = match inner.classify() {
        serde_json::error::Category::Syntax => {
            format!(
                "not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            )
        }
        serde_json::error::Category::Eof => "truncated JSON".to_owned(),
        serde_json::error::Category::Io => "unreadable".to_owned(),
        serde_json::error::Category::Data => {
            // "missing field `apiKey`" names one of our own fields; every other data error may quote
            // the value.
            let msg = inner.to_string();
            match msg
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                Some(field) if ["sources", "name", "baseUrl", "apiKey"].contains(&field) => {
                    format!("missing field `{field}`")
                }
                _ => "a value of the wrong type".to_owned(),
            }
        }
    };
    format!("secret is not {SECRET_SHAPE}: {what} at {at}")
}

/// Our own field names and array indexes of `path`, every other key as `<unknown key>`: the path ends
/// at whatever key the parser read last, and a key is secret text too (an API key pasted without its
/// `"apiKey":` is read as a key).
fn safe_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if ["sources", "name", "baseUrl", "apiKey"].contains(&key.as_str()) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            _ => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str("<unknown key>");
            }
        }
    }
    out
}

/// Parses the secret's JSON and checks every source.
///
/// ```
/// let s = backend::pricing_agent::parse_secret(
///     r#"{"sources": [{"name": "a", "baseUrl": "https://api.example.com", "apiKey": "k"}]}"#)?;
/// assert_eq!(s[0].name, "a");
/// assert!(!format!("{s:?}").contains("\"k\""));
/// let e = backend::pricing_agent::parse_secret(r#"{"sources": [{"name": "a", "baseUrl": 1, "apiKey": "sk-9"}]}"#);
/// assert!(e.unwrap_err().to_string().contains("sources[0].baseUrl"));
/// # Ok::<(), backend::config::ConfigError>(())
/// ```
///
/// # Errors
/// [`ConfigError::Invalid`] for anything but `{"sources": [...]}` with at least one source, each with a
/// non-empty name and key and an allowed `baseUrl`. The message names the field and the kind of
/// mistake; no part of the secret's text appears in it.
pub fn parse_secret(text: &str) -> Result<Vec<SourceConfig>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "PRICE_API_SECRET_ID",
        reason,
    };
    let de = &mut serde_json::Deserializer::from_str(text);
    let doc: SecretDoc =
        serde_path_to_error::deserialize(de).map_err(|e| invalid(describe_json_error(&e)))?;
    if doc.sources.is_empty() {
        return Err(invalid("secret lists no sources".into()));
    }
    for (i, s) in doc.sources.iter().enumerate() {
        if s.name.trim().is_empty() {
            return Err(invalid(format!("sources[{i}].name is empty")));
        }
        if s.api_key.trim().is_empty() {
            return Err(invalid(format!("sources[{i}].apiKey is empty")));
        }
        endpoint(&s.base_url).map_err(|rule| invalid(format!("sources[{i}].baseUrl {rule}")))?;
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
///
/// The key goes to `baseUrl` and nowhere else: redirects are never followed (a 3xx is an error, so
/// neither another host nor a downgrade to `http` ever sees the key), and a `baseUrl` that is not an
/// allowed endpoint is refused before any request.
#[derive(Clone)]
pub struct HttpPriceSource {
    config: SourceConfig,
    endpoint: Result<reqwest::Url, &'static str>,
    /// `Err` when the client could not be built (a TLS back-end that fails to start): the source then
    /// answers an error rather than fall back to reqwest's default client, which follows redirects with
    /// the API key.
    http: Result<reqwest::Client, String>,
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
    /// A source with a 10 s timeout that never follows redirects.
    #[must_use]
    pub fn new(config: SourceConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string());
        Self {
            endpoint: endpoint(&config.base_url),
            config,
            http,
        }
    }
}

#[async_trait]
impl PriceSource for HttpPriceSource {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn quotes(&self, q: &PriceQuery) -> Result<Vec<Quote>, HandlerError> {
        let name = &self.config.name;
        let url = self
            .endpoint
            .clone()
            .map_err(|rule| HandlerError::Internal(format!("{name}: baseUrl {rule}")))?;
        let http = self
            .http
            .as_ref()
            .map_err(|e| HandlerError::Internal(format!("{name}: no HTTP client ({e})")))?;
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
        let resp = http
            .get(url)
            .header("x-api-key", &self.config.api_key)
            .query(&params)
            .send_traced()
            .await
            .map_err(|e| HandlerError::Retryable(format!("{name}: {}", e.without_url())))?;
        let status = resp.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(HandlerError::Retryable(format!("{name}: HTTP {status}")));
        }
        if status.is_redirection() {
            return Err(HandlerError::Internal(format!(
                "{name}: HTTP {status}: redirects are not followed (the API key goes to baseUrl only)"
            )));
        }
        if !status.is_success() {
            return Err(HandlerError::Internal(format!("{name}: HTTP {status}")));
        }
        let doc: QuotesDoc = resp
            .json()
            .await
            .map_err(|e| HandlerError::Internal(format!("{name}: malformed answer: {}", e.without_url())))?;
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
    /// The HTTP sources listed in the `PRICE_API_SECRET_ID` secret, each behind a [`CachedPriceSource`].
    ///
    /// # Errors
    /// A missing variable or an unreadable secret.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let secrets = telemetry::traced_client!(aws_sdk_secretsmanager, aws);
        let configs = load_sources(&secrets, &config::required("PRICE_API_SECRET_ID")?).await?;
        Ok(Self {
            sources: configs
                .into_iter()
                .map(|c| {
                    let source: Arc<dyn PriceSource> = Arc::new(HttpPriceSource::new(c));
                    Arc::new(CachedPriceSource::new(source)) as Arc<dyn PriceSource>
                })
                .collect(),
        })
    }
}

/// Smallest quote that counts, in USD (a cent).
pub const MIN_QUOTE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);
/// Largest quote that counts, in USD (100 million; the dearest card ever sold went for a tenth of that).
pub const MAX_QUOTE: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 0);

/// A price computation that does not fit `rust_decimal` (96-bit mantissa, about ±7.9 × 10^28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("price arithmetic overflowed computing the {0}")]
pub struct PriceMathError(pub &'static str);

fn median(sorted: &[Decimal]) -> Result<Decimal, PriceMathError> {
    let n = sorted.len();
    if n % 2 == 1 {
        return Ok(sorted[n / 2]);
    }
    let (a, b) = (sorted[n / 2 - 1], sorted[n / 2]);
    // (a + b) / 2 overflows for two quotes near the maximum; a + (b − a) / 2 stays between a and b.
    b.checked_sub(a)
        .and_then(|d| d.checked_div(Decimal::TWO))
        .and_then(|half| a.checked_add(half))
        .ok_or(PriceMathError("median"))
}

/// Quartile range, median and confidence of USD quotes (`None` range without positive quotes).
///
/// Confidence = min(n, 10)/10 × 1/(1 + (p75 − p25)/median): more sales and a tighter spread → closer
/// to 1. Every step is checked: quotes at the ends of `Decimal`'s range give an error, not a panic
/// (the handler never gets here with such quotes: a source answering outside
/// [`MIN_QUOTE`]..=[`MAX_QUOTE`] is skipped).
///
/// ```
/// use rust_decimal_macros::dec;
/// let (range, conf) = backend::pricing_agent::estimate(&[dec!(100), dec!(110), dec!(90), dec!(100)])?;
/// let r = range.unwrap();
/// assert_eq!((r.low, r.median, r.high), (dec!(90), dec!(100), dec!(110)));
/// assert!(conf > 0.3 && conf < 0.4);
/// let tiny = rust_decimal::Decimal::from_scientific("1e-28").unwrap();
/// let huge = rust_decimal::Decimal::from_scientific("7e28").unwrap();
/// assert!(backend::pricing_agent::estimate(&[tiny, huge]).is_ok());
/// assert!(backend::pricing_agent::estimate(&[tiny, tiny, huge]).is_err()); // not a panic
/// # Ok::<(), backend::pricing_agent::PriceMathError>(())
/// ```
///
/// # Errors
/// [`PriceMathError`] naming the step that does not fit (a tiny median under a huge spread).
pub fn estimate(quotes: &[Decimal]) -> Result<(Option<PriceRange>, f64), PriceMathError> {
    let mut q: Vec<Decimal> = quotes.iter().copied().filter(|d| *d > Decimal::ZERO).collect();
    if q.is_empty() {
        return Ok((None, 0.0));
    }
    q.sort();
    let last = q.len() - 1;
    let low = q[last / 4];
    let high = q[(last * 3).div_ceil(4)];
    let mid = median(&q)?;
    let spread = high
        .checked_sub(low)
        .and_then(|width| width.checked_div(mid))
        .ok_or(PriceMathError("spread"))?
        .to_f64()
        .unwrap_or(f64::INFINITY);
    let count = q.len().min(10) as f64 / 10.0;
    let confidence = (count / (1.0 + spread) * 1000.0).round() / 1000.0;
    let round =
        |d: Decimal| d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    Ok((
        Some(PriceRange {
            low: round(low),
            median: round(mid),
            high: round(high),
            currency: CURRENCY.to_owned(),
        }),
        confidence,
    ))
}

/// The USD amounts of one source's answer, or why the source is skipped: one amount outside
/// [`MIN_QUOTE`]..=[`MAX_QUOTE`] means the source is broken (or hostile), and none of its quotes count.
fn usd_amounts(quotes: &[Quote]) -> Result<Vec<Decimal>, HandlerError> {
    let usd: Vec<Decimal> = quotes
        .iter()
        .filter(|q| q.currency == CURRENCY)
        .map(|q| q.amount)
        .collect();
    if let Some(bad) = usd.iter().position(|a| !(MIN_QUOTE..=MAX_QUOTE).contains(a)) {
        return Err(HandlerError::Internal(format!(
            "quotes[{bad}].amount is outside {MIN_QUOTE}..={MAX_QUOTE} {CURRENCY}: source skipped"
        )));
    }
    Ok(usd)
}

/// The handler.
///
/// # Errors
/// `Retryable` when every source failed and one of them transiently; `Internal` otherwise.
pub async fn handler(event: LambdaEvent<ExtractOutput>, deps: &Deps) -> Result<PriceEstimate, HandlerError> {
    let mut log = RequestLog::start("pricing_agent", &event.context.request_id);
    let input = event.payload;
    // Seed 001's structured log names the user: the pseudonym the API put in the execution input.
    log.user_pseudonym(input.request.user_pseudonym.as_deref());
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
    let query = PriceQuery::for_card(input.request.card.as_ref(), &input.features);
    let mut all = Vec::new();
    let mut reports = Vec::new();
    let mut last_error = None;
    for source in &deps.sources {
        match source.quotes(&query).await.and_then(|q| usd_amounts(&q)) {
            Ok(usd) => {
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
    let (range, confidence) = estimate(&all).map_err(|e| HandlerError::Internal(e.to_string()))?;
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
    use std::io::{Read, Write};
    use std::sync::mpsc;

    fn sci(s: &str) -> Decimal {
        Decimal::from_scientific(s).unwrap()
    }

    #[test]
    fn no_quotes_no_range() {
        assert_eq!(estimate(&[]).unwrap(), (None, 0.0));
        assert_eq!(estimate(&[dec!(0), dec!(-3)]).unwrap(), (None, 0.0));
    }

    #[test]
    fn one_quote_is_a_point_with_low_confidence() {
        let (r, c) = estimate(&[dec!(12.345)]).unwrap();
        let r = r.unwrap();
        assert_eq!((r.low, r.median, r.high), (dec!(12.35), dec!(12.35), dec!(12.35)));
        assert!((c - 0.1).abs() < 1e-9);
    }

    #[test]
    fn extreme_quotes_are_an_error_not_a_panic() {
        // The median of two quotes near the top used to overflow in `a + b` (a panic), and a tiny
        // median makes the spread division overflow.
        let tiny = sci("1e-28");
        let huge = sci("7e28");
        let _ = estimate(&[tiny, huge]); // no panic is the assertion
        assert!(
            estimate(&[huge, huge]).is_ok(),
            "halving first keeps the median in range"
        );
        assert_eq!(estimate(&[tiny, tiny, huge]), Err(PriceMathError("spread")));
        assert_eq!(
            estimate(&[Decimal::MAX, Decimal::MAX]).unwrap().0.unwrap().median,
            Decimal::MAX
        );
    }

    #[test]
    fn a_source_with_an_absurd_quote_is_skipped_with_the_reason() {
        let quotes = |amounts: &[Decimal]| -> Vec<Quote> {
            amounts
                .iter()
                .map(|a| Quote {
                    amount: *a,
                    currency: CURRENCY.into(),
                })
                .collect()
        };
        assert_eq!(
            usd_amounts(&quotes(&[dec!(0.01), dec!(100000000)]))
                .unwrap()
                .len(),
            2
        );
        let e = usd_amounts(&quotes(&[dec!(5), sci("7e28")])).unwrap_err();
        assert_eq!(
            e,
            HandlerError::Internal("quotes[1].amount is outside 0.01..=100000000 USD: source skipped".into())
        );
        assert!(usd_amounts(&quotes(&[sci("1e-28")])).is_err());
        // other currencies are ignored whatever their amount
        let eur = vec![Quote {
            amount: sci("7e28"),
            currency: "EUR".into(),
        }];
        assert_eq!(usd_amounts(&eur).unwrap(), Vec::<Decimal>::new());
    }

    const KEY: &str = "sk-live-DO-NOT-LEAK-4242";

    #[test]
    fn secret_errors_name_the_field_never_the_value() {
        assert!(parse_secret(r#"{"sources": []}"#).is_err());
        let s = parse_secret(&format!(
            r#"{{"sources": [{{"name": "a", "baseUrl": "https://x.example/api/", "apiKey": "{KEY}"}}]}}"#
        ))
        .unwrap();
        assert_eq!(s[0].name, "a");
        let shown = format!("{:?} {:?}", s[0], HttpPriceSource::new(s[0].clone()));
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");

        // Each of these is a mistyped secret; serde_json's own messages would quote the key.
        let cases = [
            (
                KEY.to_owned(),
                "not valid JSON (line 1, column 1) at the top level",
            ),
            (
                format!(r#"{{"sources": "{KEY}"}}"#),
                "a value of the wrong type at sources",
            ),
            (
                format!(r#"{{"sources": [{{"name": "a", "baseUrl": "https://x", "apiKey": ["{KEY}"]}}]}}"#),
                "a value of the wrong type at sources[0].apiKey",
            ),
            (
                format!(r#"{{"sources": [{{"name": "a", "baseUrl": "https://x", "apiKey": {KEY}}}]}}"#),
                "at sources[0].apiKey",
            ),
            (
                format!(r#"{{"sources": [{{"name": "a", "apiKey": "{KEY}"}}]}}"#),
                "missing field `baseUrl` at sources[0]",
            ),
            (
                format!(r#"{{"sources": [{{"name": "a", "baseUrl": "https://x", "apiKey": "{KEY}"#),
                "truncated JSON",
            ),
            (
                format!(r#"{{"sources": [{{"name": "a", "baseUrl": "{KEY}", "apiKey": "k"}}]}}"#),
                "sources[0].baseUrl must be https://",
            ),
            (
                format!(r#"{{"sources": [{{"name": "a", "baseUrl": "https://u:{KEY}@x", "apiKey": "k"}}]}}"#),
                "sources[0].baseUrl must be https://",
            ),
            (
                format!(
                    r#"{{"sources": [{{"name": "a", "baseUrl": "https://x?key={KEY}", "apiKey": "k"}}]}}"#
                ),
                "sources[0].baseUrl must be https://",
            ),
            (
                r#"{"sources": [{"name": "a", "baseUrl": "http://prices.example.com", "apiKey": "k"}]}"#
                    .to_owned(),
                "sources[0].baseUrl must be https://",
            ),
            (
                r#"{"sources": [{"name": "a", "baseUrl": "https://x", "apiKey": " "}]}"#.to_owned(),
                "sources[0].apiKey is empty",
            ),
            // The key pasted without `"apiKey":` is read as an object key: the path must not quote it.
            (
                format!(r#"{{"sources": [{{"name": "a", "baseUrl": "https://x", "{KEY}"}}]}}"#),
                "not valid JSON",
            ),
            (
                format!(r#"{{"sources": [{{"name": "a", "baseUrl": "https://x", "{KEY}": 1}}]}}"#),
                "sources[0]",
            ),
            // A broken value under an unknown key: the parser's path ends at that key.
            (
                format!(r#"{{"sources": [{{"name": "a", "baseUrl": "https://x", "{KEY}": [1,}}]}}"#),
                "at sources[0].<unknown key>",
            ),
        ];
        for (text, want) in cases {
            let err = parse_secret(&text).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(want), "{msg:?} should contain {want:?}");
            assert!(msg.contains("PRICE_API_SECRET_ID"), "{msg}");
            assert!(!msg.contains("DO-NOT-LEAK"), "the secret leaked: {msg}");
            assert!(!format!("{err:?}").contains("DO-NOT-LEAK"), "{err:?}");
        }
    }

    #[test]
    fn base_urls_must_be_https_or_loopback_http() {
        for ok in [
            "https://api.example.com",
            "https://api.example.com:8443/base/",
            "http://127.0.0.1:9",
            "http://[::1]:80",
        ] {
            assert!(endpoint(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            endpoint("https://api.example.com/base/").unwrap().as_str(),
            "https://api.example.com/base/v1/prices"
        );
        for bad in [
            "http://api.example.com",
            "http://localhost:8080", // a name can resolve anywhere
            "ftp://api.example.com",
            "https://user:pw@api.example.com",
            "https://api.example.com/?k=1",
            "https://api.example.com/#f",
            "api.example.com",
            "",
        ] {
            assert_eq!(endpoint(bad), Err(BASE_URL_RULE), "{bad}");
        }
    }

    /// A one-shot-per-connection HTTP server on `ip`: every request's head goes to the channel, and
    /// every answer is `response`.
    fn serve(ip: &str, response: String) -> (String, mpsc::Receiver<String>) {
        let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&buf).to_ascii_lowercase());
                let _ = conn.write_all(response.as_bytes());
            }
        });
        (format!("http://{addr}"), rx)
    }

    fn redirect_to(status: &str, location: &str) -> String {
        format!("HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    }

    fn source(base_url: &str) -> HttpPriceSource {
        HttpPriceSource::new(SourceConfig {
            name: "cardmarket".into(),
            base_url: base_url.into(),
            api_key: KEY.into(),
        })
    }

    fn query() -> PriceQuery {
        PriceQuery {
            name: Some("Charizard".into()),
            number: None,
            year: None,
            grade: None,
        }
    }

    #[tokio::test]
    async fn the_api_key_never_follows_a_redirect() {
        // The second host (another loopback address: a different host to the client) would answer
        // with quotes, so following the redirect would look like success.
        let ok = r#"{"quotes":[{"amount":"1.00","currency":"USD"}]}"#;
        let (thief, stolen) = serve(
            "127.0.0.2",
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ok}",
                ok.len()
            ),
        );
        for status in [
            "301 Moved Permanently",
            "302 Found",
            "307 Temporary Redirect",
            "308 Permanent Redirect",
        ] {
            let (api, seen) = serve("127.0.0.1", redirect_to(status, &format!("{thief}/steal")));
            let err = source(&api).quotes(&query()).await.unwrap_err();
            let head = seen.recv_timeout(Duration::from_secs(5)).unwrap();
            assert!(
                head.contains(&format!("x-api-key: {}", KEY.to_ascii_lowercase())),
                "{head}"
            );
            assert!(head.starts_with("get /v1/prices?name=charizard "), "{head}");
            assert!(
                matches!(&err, HandlerError::Internal(m) if m.contains(&status[..3]) && m.contains("redirects are not followed")),
                "{err:?}"
            );
            assert!(!err.to_string().contains(KEY));
        }
        assert!(
            stolen.recv_timeout(Duration::from_millis(300)).is_err(),
            "the redirect target was contacted"
        );
    }

    #[tokio::test]
    async fn a_plain_http_base_url_is_refused_before_any_request() {
        let err = source("http://prices.example.com")
            .quotes(&query())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            HandlerError::Internal(format!("cardmarket: baseUrl {BASE_URL_RULE}"))
        );
    }

    struct Fixed(Vec<Decimal>);

    #[async_trait]
    impl PriceSource for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        async fn quotes(&self, _: &PriceQuery) -> Result<Vec<Quote>, HandlerError> {
            Ok(self
                .0
                .iter()
                .map(|a| Quote {
                    amount: *a,
                    currency: CURRENCY.into(),
                })
                .collect())
        }
    }

    /// Counts its calls; answers `quotes`, or fails while `failing` is set.
    struct Counting {
        calls: std::sync::atomic::AtomicUsize,
        failing: std::sync::atomic::AtomicBool,
    }

    impl Counting {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                calls: std::sync::atomic::AtomicUsize::new(0),
                failing: std::sync::atomic::AtomicBool::new(false),
            })
        }
        fn calls(&self) -> usize {
            self.calls.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl PriceSource for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        async fn quotes(&self, q: &PriceQuery) -> Result<Vec<Quote>, HandlerError> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(HandlerError::Retryable("counting: HTTP 503".into()));
            }
            Ok(vec![Quote {
                amount: Decimal::from(q.year.unwrap_or(1)),
                currency: CURRENCY.into(),
            }])
        }
    }

    thread_local! {
        static NOW: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
    }

    /// A clock the test moves (`advance`); starts at the first read.
    fn test_clock() -> std::time::Instant {
        NOW.with(|n| {
            let now = n.get().unwrap_or_else(std::time::Instant::now);
            n.set(Some(now));
            now
        })
    }

    fn advance(by: Duration) {
        NOW.with(|n| n.set(Some(test_clock() + by)));
    }

    fn year(y: u16) -> PriceQuery {
        PriceQuery {
            name: Some("Charizard".into()),
            number: Some("4/102".into()),
            year: Some(y),
            grade: None,
        }
    }

    /// Seed 001: pricing data cached with a 300-second TTL in Lambda memory. One call per card and
    /// five minutes; another card is another call; an answer 300 s old is asked again.
    #[tokio::test(flavor = "current_thread")]
    async fn answers_are_reused_for_five_minutes() {
        let inner = Counting::new();
        let cached = CachedPriceSource::with_clock(inner.clone(), PRICE_CACHE_TTL, test_clock);
        assert_eq!(cached.name(), "counting");
        let first = cached.quotes(&year(1999)).await.unwrap();
        advance(Duration::from_secs(299));
        assert_eq!(cached.quotes(&year(1999)).await.unwrap(), first);
        assert_eq!(
            inner.calls(),
            1,
            "the second ask within 300 s is answered from memory"
        );
        cached.quotes(&year(2000)).await.unwrap();
        assert_eq!(inner.calls(), 2, "another card is another question");
        advance(Duration::from_secs(1));
        cached.quotes(&year(1999)).await.unwrap();
        assert_eq!(inner.calls(), 3, "300 s old: asked again");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn failures_are_not_kept() {
        let inner = Counting::new();
        let cached = CachedPriceSource::with_clock(inner.clone(), PRICE_CACHE_TTL, test_clock);
        inner.failing.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(cached.quotes(&year(1999)).await.is_err());
        inner.failing.store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(cached.quotes(&year(1999)).await.is_ok(), "asked again at once");
        assert!(cached.quotes(&year(1999)).await.is_ok());
        assert_eq!(inner.calls(), 2);
    }

    /// The memory stays bounded whatever the cards: past the limit the oldest answer goes.
    #[tokio::test(flavor = "current_thread")]
    async fn the_cache_is_bounded_and_forgets_the_oldest_first() {
        let inner = Counting::new();
        let cached = CachedPriceSource::with_clock(inner.clone(), PRICE_CACHE_TTL, test_clock);
        let n = u16::try_from(PRICE_CACHE_ENTRIES).unwrap();
        for y in 0..n + 10 {
            cached.quotes(&year(y)).await.unwrap();
            advance(Duration::from_millis(1));
        }
        assert_eq!(cached.entries().len(), PRICE_CACHE_ENTRIES);
        let calls = inner.calls();
        cached.quotes(&year(n + 9)).await.unwrap();
        assert_eq!(inner.calls(), calls, "the newest is kept");
        cached.quotes(&year(0)).await.unwrap();
        assert_eq!(inner.calls(), calls + 1, "the oldest was forgotten");
    }

    fn line(text: &str, confidence: f32) -> crate::model::TextLine {
        crate::model::TextLine {
            text: text.into(),
            confidence,
            top: None,
        }
    }

    fn read(lines: Vec<crate::model::TextLine>) -> crate::model::FeatureEnvelope {
        crate::rekognition_extract::envelope("c", lines, vec![])
    }

    /// Rekognition is surest of short numbers: the most confident line on a Charizard is `4/102` (or
    /// `120 HP`), which is no name to price a card by.
    #[test]
    fn the_name_read_off_the_photo_is_not_the_most_confident_line() {
        let f = read(vec![line("Charizard", 95.0), line("4/102", 99.8)]);
        assert_eq!(
            f.text[0].text, "4/102",
            "the envelope keeps the most confident first"
        );
        let q = PriceQuery::from_features(&f);
        assert_eq!(q.name.as_deref(), Some("Charizard"));
        assert_eq!(q.number.as_deref(), Some("4/102"));
        // With positions, top to bottom: the slab label and the HP come before the name, but are
        // no name.
        let at = |text: &str, confidence: f32, top: f32| crate::model::TextLine {
            top: Some(top),
            ..line(text, confidence)
        };
        let f = read(vec![
            at("4/102 ©1999 Wizards", 99.8, 0.92),
            at("PSA 10 GEM MINT", 99.9, 0.01),
            at("120 HP", 99.7, 0.11),
            at("Charizard", 95.0, 0.12),
        ]);
        assert_eq!(PriceQuery::from_features(&f).name.as_deref(), Some("Charizard"));
        // Nothing that reads like a name: no name rather than a number.
        let f = read(vec![line("120 HP", 99.0), line("4/102", 98.0)]);
        assert_eq!(PriceQuery::from_features(&f).name, None);
    }

    /// What the owner registered is what is priced; the photo fills in only what the owner left out,
    /// and never overrides it (a grade printed on a photographed label is not the card's).
    #[test]
    fn the_registered_card_is_priced_not_the_photos_text() {
        let f = read(vec![
            line("Charizard", 95.0),
            line("4/102 ©1999 Wizards", 99.8),
            line("PSA 10 GEM MINT", 99.0),
        ]);
        let mut card = crate::model::CardDetails {
            name: "Blastoise".into(),
            set_name: Some("Base Set".into()),
            number: None,
            year: None,
            grade: Some("PSA 7".into()),
            rarity: None,
        };
        assert_eq!(
            PriceQuery::for_card(Some(&card), &f),
            PriceQuery {
                name: Some("Blastoise".into()),
                number: Some("4/102".into()),
                year: Some(1999),
                grade: Some("PSA 7".into()),
            }
        );
        card.number = Some("2/102".into());
        card.year = Some(2000);
        card.grade = None;
        assert_eq!(
            PriceQuery::for_card(Some(&card), &f),
            PriceQuery {
                name: Some("Blastoise".into()),
                number: Some("2/102".into()),
                year: Some(2000),
                grade: Some("PSA 10".into()),
            }
        );
        assert_eq!(PriceQuery::for_card(None, &f), PriceQuery::from_features(&f));
        assert_eq!(PriceQuery::for_card(None, &f).name.as_deref(), Some("Charizard"));
    }

    /// Seed 001 "Structured Logging": the summary line names the user — the pseudonym the API put in the
    /// execution input (the role has no hash key: seed 001 lists its actions), never the `sub`; a
    /// `userPseudonym` not shaped like one is left out.
    #[tokio::test]
    async fn the_summary_line_names_the_owner_by_the_inputs_pseudonym() {
        let deps = Deps {
            sources: vec![Arc::new(Fixed(vec![dec!(10.00), dec!(12.00)]))],
        };
        let sub = "7d3a1f2e-0000-4000-8000-000000000002";
        let pseudonym = crate::identity::UserHasher::new(vec![8; 32]).unwrap().hash(sub);
        for (given, logged) in [
            (Some(pseudonym.as_str()), pseudonym.as_str()),
            (Some(sub), "anonymous"),
            (None, "anonymous"),
        ] {
            let mut input = extract();
            input.request.user_id = sub.into();
            input.request.user_pseudonym = given.map(str::to_owned);
            let (out, lines) = crate::obs::capture::summary_lines(handler(
                LambdaEvent::new(input, lambda_runtime::Context::default()),
                &deps,
            ))
            .await;
            out.unwrap();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(lines[0]["userId"], logged, "{given:?}");
            assert_eq!(lines[0]["operation"], "pricing_agent");
        }
    }

    /// The revalue request carries the pseudonym in camelCase, as the pipeline reads it back.
    #[test]
    fn the_pseudonym_rides_in_the_execution_input() {
        let mut input = extract();
        input.request.user_pseudonym = Some("u_0123456789abcdef0123456789abcdef".into());
        let json = serde_json::to_value(&input.request).unwrap();
        assert_eq!(json["userPseudonym"], "u_0123456789abcdef0123456789abcdef");
        assert!(
            serde_json::to_value(&extract().request)
                .unwrap()
                .get("userPseudonym")
                .is_none()
        );
    }

    fn extract() -> ExtractOutput {
        serde_json::from_value(serde_json::json!({
            "request": {"valuationId": "v", "userId": "u", "cardId": "c", "bucket": "b", "frontS3Key": "k",
                        "requestedAt": "2026-11-22T00:40:00.000Z", "correlationId": "r"},
            "features": {"cardId": "c", "text": [], "labels": [], "looksLikeCard": true, "hints": {}}
        }))
        .unwrap()
    }

    /// Any `Decimal`, with the ends of its range and tiny/huge magnitudes well represented.
    fn any_decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            Just(Decimal::MAX),
            Just(Decimal::MIN),
            Just(Decimal::ZERO),
            Just(Decimal::new(1, 28)),
            (1i64..=9, 0u32..=28).prop_map(|(m, e)| {
                Decimal::try_from_i128_with_scale(i128::from(m) * 10i128.pow(e), 0).unwrap_or(Decimal::MAX)
            }),
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
            (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28)
                .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s)),
        ]
    }

    proptest! {
        #[test]
        fn range_is_ordered_and_confidence_bounded(cents in proptest::collection::vec(1u32..10_000_000, 1..50)) {
            let quotes: Vec<Decimal> = cents.iter().map(|c| Decimal::new(i64::from(*c), 2)).collect();
            let (r, c) = estimate(&quotes).unwrap();
            let r = r.unwrap();
            prop_assert!(r.low <= r.median && r.median <= r.high);
            prop_assert!((0.0..=1.0).contains(&c));
        }

        #[test]
        fn extreme_quotes_never_panic(quotes in proptest::collection::vec(any_decimal(), 0..12)) {
            // estimate on its own: an error at worst
            if let Ok((Some(r), c)) = estimate(&quotes) {
                prop_assert!(r.low <= r.median && r.median <= r.high);
                prop_assert!((0.0..=1.0).contains(&c));
            }
            // the whole task: the source is skipped or used, never a panic, never an absurd range
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let deps = Deps { sources: vec![Arc::new(Fixed(quotes.clone()))] };
            match rt.block_on(price(&extract(), &deps)) {
                Ok(est) => {
                    prop_assert!(quotes.iter().all(|q| (MIN_QUOTE..=MAX_QUOTE).contains(q)));
                    if let Some(r) = est.range {
                        prop_assert!(MIN_QUOTE <= r.low && r.high <= MAX_QUOTE);
                    }
                }
                Err(e) => {
                    prop_assert!(e.to_string().contains("source skipped"), "{e}");
                }
            }
        }
    }
}
