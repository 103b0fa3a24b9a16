//! OpenTelemetry as the span model: the SDK `TracerProvider` [`init`](crate::init) installs, X-Ray
//! trace ids, Lambda resource attributes, and the exporters chosen by OpenTelemetry's environment
//! variables.
//!
//! `tracing` spans (through [`XrayLayer`](crate::xray::XrayLayer)) and spans any library makes with
//! the OpenTelemetry API (through the global provider, [`provider`]) are the same `SpanData`, in one
//! trace, parented under Lambda's segment; they leave through the same [`SpanSink`](crate::xray::SpanSink)s:
//! - `xray` — X-Ray subsegment documents to the daemon over UDP (the default);
//! - `otlp` — OTLP protobuf: over UDP to `AWS_XRAY_DAEMON_ADDRESS` in the format of AWS's Lambda
//!   OpenTelemetry distributions when no endpoint is set inside Lambda ([`otlp`]), else OTLP/HTTP to
//!   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, SigV4-signed
//!   for X-Ray's OTLP endpoint ([`http`]);
//! - `otlp-udp` — the UDP form explicitly; `none` — nothing.
//!
//! Nothing on the invocation path waits on the network: UDP sends are non-blocking, and HTTP bodies go
//! through a bounded queue to a background thread; a dead endpoint loses spans, never requests.

pub mod config;
mod ids;
pub mod provider;
mod redacted;
pub mod resource;

#[cfg(feature = "otlp-http")]
pub mod http;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "otlp")]
mod proto;

pub use config::{
    BuiltExporters, ConfigError, ConfigWarning, ExporterBuildError, ExporterKind, HeaderProblem, OtlpTls,
    PemFile, TraceExportConfig,
};
pub use ids::XrayIdGenerator;
pub use provider::{SinkProcessor, install_provider};
pub use resource::lambda_resource;
