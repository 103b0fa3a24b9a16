//! `backend`: CollectIQ's own Lambda functions.
//!
//! Each function is a module with `pub async fn handler(LambdaEvent<Req>, &Deps) -> Result<Resp,
//! HandlerError>` and a `Deps` holding its SDK clients and settings (`Deps::from_env`); the binaries
//! in `src/bin/` are thin mains that link `telemetry`:
//!
//! ```no_run
//! use backend::cards_get::{Deps, handler};
//! use lambda_runtime::{Error, service_fn};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     telemetry::init()?;
//!     let deps = Deps::from_env(&backend::config::aws().await)?;
//!     lambda_runtime::run(telemetry::layer().service(service_fn(|e| handler(e, &deps)))).await
//! }
//! ```
//!
//! HTTP functions answer 4xx JSON errors naming the field and raise 5xx as Lambda errors
//! ([`http::respond`]); pipeline tasks fail with the stable error types of [`HandlerError`], which the
//! state machine's `Retry` (`Retryable`) and `Catch` (everything) match. See `docs/backend.md`.

pub mod config;
pub mod cursor;
pub mod error;
pub mod http;
pub mod identity;
pub mod model;
pub mod obs;
pub mod store;

pub mod aggregator;
pub mod authenticity_agent;
pub mod cards_create;
pub mod cards_delete;
pub mod cards_get;
pub mod cards_list;
pub mod cards_revalue;
pub mod error_handler;
pub mod healthz;
pub mod pricing_agent;
pub mod rekognition_extract;
pub mod upload_presign;

pub use error::HandlerError;
