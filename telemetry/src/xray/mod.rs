//! Traces under Lambda's segment: the trace header parser, `tracing` spans as OpenTelemetry spans
//! ([`XrayLayer`]), the span sinks they go to ([`SpanSink`]) and the X-Ray daemon exporter that turns
//! them into subsegment documents ([`XraySegmentExporter`]).
//!
//! Lambda owns the function's segment; a function may only add subsegments whose `parent_id` is the
//! header's `Parent` and whose `trace_id` is its `Root`, and only when `Sampled=1`. Emitting a root
//! segment instead gives the "two unconnected traces" of aws-lambda-rust-runtime #618.

#[cfg(feature = "xray-api")]
pub mod api;
#[cfg(feature = "xray-aws-sdk")]
pub mod aws_sdk;
mod batch;
mod export;
mod exporter;
pub(crate) mod header;
mod layer;
#[cfg(feature = "xray-reqwest")]
pub mod reqwest;
mod segment;
mod spans;
mod translate;

pub use batch::ANNOTATION_PREFIX;
pub use export::XraySegmentExporter;
pub use exporter::{DAEMON_HEADER, DEFAULT_DAEMON_ADDRESS, MemorySink, SegmentSink, UdpDaemonSink};
pub use header::{HeaderError, MAX_CARRIED_BYTES, MAX_LINEAGE_BYTES, Sampled, TraceHeader, xray_trace_id};
#[cfg(feature = "lambda")]
pub(crate) use layer::add_links;
#[cfg(feature = "lambda")]
pub(crate) use layer::finish_if_open;
pub use layer::{OutgoingContext, XrayLayer, current_trace_header, outgoing_context_for, trace_header_for};
#[cfg(feature = "otel")]
pub(crate) use layer::{adopt, new_span_id, new_xray_trace_id};
pub use segment::{
    AnnotationValue, Http, HttpRequest, HttpResponse, MAX_ANNOTATIONS, MAX_DOCUMENT_BYTES, Subsegment,
    annotation_key, segment_name,
};
pub use spans::{Flusher, MemorySpanSink, SpanSink, SpanSinks};
pub use translate::subsegments;

/// A local UDP "X-Ray daemon" for tests: what a real daemon would receive.
#[cfg(all(test, any(feature = "xray-aws-sdk", feature = "xray-reqwest")))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod fake_daemon {
    use super::{DAEMON_HEADER, UdpDaemonSink};
    use std::net::UdpSocket;
    use std::time::Duration;

    /// A bound socket and a sink sending to it.
    pub(crate) fn start() -> (UdpSocket, UdpDaemonSink) {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let sink = UdpDaemonSink::new(&socket.local_addr().unwrap().to_string()).unwrap();
        (socket, sink)
    }

    /// Every datagram received so far, each checked for the daemon header and parsed.
    pub(crate) fn received(socket: &UdpSocket) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while let Ok(n) = socket.recv(&mut buf) {
            let text = std::str::from_utf8(&buf[..n]).unwrap();
            let body = text.strip_prefix(DAEMON_HEADER).expect("daemon header");
            out.push(serde_json::from_str(body).unwrap());
        }
        out
    }
}
