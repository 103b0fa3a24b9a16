//! X-Ray traces through OpenTelemetry ids: the trace header parser, `tracing` spans as subsegments of
//! Lambda's segment, and the UDP daemon exporter.
//!
//! Lambda owns the function's segment; a function may only add subsegments whose `parent_id` is the
//! header's `Parent` and whose `trace_id` is its `Root`, and only when `Sampled=1`. Emitting a root
//! segment instead gives the "two unconnected traces" of aws-lambda-rust-runtime #618.

#[cfg(feature = "xray-api")]
pub mod api;
mod exporter;
mod header;
mod layer;
mod segment;

pub use exporter::{DAEMON_HEADER, DEFAULT_DAEMON_ADDRESS, MemorySink, SegmentSink, UdpDaemonSink};
pub use header::{HeaderError, Sampled, TraceHeader, xray_trace_id};
pub use layer::{ANNOTATION_PREFIX, XrayLayer, current_trace_header};
pub use segment::{
    AnnotationValue, MAX_ANNOTATIONS, MAX_DOCUMENT_BYTES, Subsegment, annotation_key, segment_name,
};
