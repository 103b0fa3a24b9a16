//! `telemetry`: the library every CollectIQ Lambda links.
//!
//! Structured JSON logs with Powertools keys ([`logs`]), CloudWatch EMF metrics through the `metrics`
//! facade ([`emf`]), X-Ray subsegments from `tracing` spans ([`xray`]), Bedrock usage recording
//! ([`genai`]) and the invocation layer for `lambda_runtime` that ties them to one per-invocation
//! context and flushes them before Lambda freezes the process ([`layer`], [`init`]).
//!
//! With `default-features = false` it is only the [`catalogue`]: the one definition of the custom
//! metrics CollectIQ emits, imported by the functions that emit them and by the dashboards and alarms
//! that read them, so a widget or an alarm cannot point at a metric nobody emits.

pub mod catalogue;

#[cfg(any(feature = "logs", feature = "emf", feature = "xray"))]
pub mod clock;
#[cfg(any(feature = "logs", feature = "emf", feature = "xray"))]
pub mod context;
#[cfg(feature = "emf")]
pub mod emf;
#[cfg(feature = "genai")]
pub mod genai;
#[cfg(any(feature = "logs", feature = "emf", feature = "xray"))]
mod json;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "logs")]
pub mod logs;
#[cfg(feature = "otel")]
pub mod otel;
#[cfg(feature = "xray")]
pub mod propagation;
#[cfg(any(feature = "logs", feature = "xray", feature = "emf"))]
pub mod redact;
mod sort;
#[cfg(any(feature = "test-util", all(test, feature = "logs")))]
pub mod testing;
#[cfg(feature = "xray")]
pub mod xray;

#[cfg(feature = "lambda")]
pub use lambda::{InitError, init, layer, run};
