//! OTLP protobuf encoding of span batches, and the UDP exporter AWS's Lambda OpenTelemetry
//! distributions use to reach the X-Ray endpoint Lambda runs beside each function.
//!
//! Format (read from aws-observability/aws-otel-python-instrumentation, `otlp_udp_exporter.py`): one
//! datagram = the daemon header `{"format":"json","version":1}` + `\n`, then `T1S` (sampled spans; `T1U`
//! unsampled), then the standard base64 (with padding) of a serialized `ExportTraceServiceRequest`, sent
//! to `AWS_XRAY_DAEMON_ADDRESS` (default `127.0.0.1:2000`). A batch too big for one datagram is split.
//! Protobuf: <https://github.com/open-telemetry/opentelemetry-proto> (`collector/trace/v1`), written
//! by [`proto`](super::proto) without intermediate structs.

use super::proto::{EncodedResource, TraceRequest};
use crate::xray::{DAEMON_HEADER, DEFAULT_DAEMON_ADDRESS, SpanSink};
use base64::Engine as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The prefix of a datagram carrying sampled spans.
pub const SAMPLED_PREFIX: &str = "T1S";
/// The prefix of a datagram carrying unsampled spans (exported for metrics only).
pub const UNSAMPLED_PREFIX: &str = "T1U";
/// The largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// Encodes a batch as one OTLP `ExportTraceServiceRequest` (spans grouped by resource and scope).
///
/// ```
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// use prost::Message;
/// let bytes = telemetry::otel::otlp::encode(Vec::new(), &opentelemetry_sdk::Resource::builder_empty().build());
/// let request = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
/// assert!(request.resource_spans.iter().all(|r| r.scope_spans.is_empty()), "no spans, no scopes");
/// ```
#[must_use]
pub fn encode(batch: Vec<SpanData>, resource: &Resource) -> Vec<u8> {
    TraceRequest::new(&batch, &EncodedResource::new(resource)).encode()
}

/// One UDP payload: header, prefix, base64 of `protobuf`.
#[must_use]
pub fn datagram(protobuf: &[u8], sampled: bool) -> Vec<u8> {
    let prefix = if sampled { SAMPLED_PREFIX } else { UNSAMPLED_PREFIX };
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(DAEMON_HEADER.len() + prefix.len() + protobuf.len().div_ceil(3) * 4);
    out.extend_from_slice(DAEMON_HEADER.as_bytes());
    out.extend_from_slice(prefix.as_bytes());
    let start = out.len();
    out.resize(start + base64::encoded_len(protobuf.len(), true).unwrap_or(0), 0);
    let n = engine.encode_slice(protobuf, &mut out[start..]).unwrap_or(0);
    out.truncate(start + n);
    out
}

/// Sends each batch as OTLP protobuf datagrams to the Lambda X-Ray endpoint. Non-blocking: a full
/// socket buffer or an absent listener loses the batch, never delays the invocation.
#[derive(Debug)]
pub struct OtlpUdpExporter {
    socket: UdpSocket,
    target: SocketAddr,
    resource: EncodedResource,
    dropped: Arc<AtomicU64>,
}

impl OtlpUdpExporter {
    /// An exporter to `address` (`host:port`, or the SDK form `tcp:h:p udp:h:p`).
    ///
    /// # Errors
    /// The address does not resolve, or no local UDP socket can be bound.
    pub fn new(address: &str, resource: Resource) -> std::io::Result<Self> {
        let udp = address
            .split_whitespace()
            .find_map(|p| p.strip_prefix("udp:"))
            .unwrap_or(address.trim());
        let target = udp.to_socket_addrs()?.next().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("AWS_XRAY_DAEMON_ADDRESS {address:?} did not resolve"),
            )
        })?;
        let bind: SocketAddr = if target.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        let socket = UdpSocket::bind(bind)?;
        socket.set_nonblocking(true)?;
        Ok(Self {
            socket,
            target,
            resource: EncodedResource::new(&resource),
            dropped: Arc::default(),
        })
    }

    /// An exporter to `AWS_XRAY_DAEMON_ADDRESS` (default `127.0.0.1:2000`).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn from_env(resource: Resource) -> std::io::Result<Self> {
        let address =
            std::env::var("AWS_XRAY_DAEMON_ADDRESS").unwrap_or_else(|_| DEFAULT_DAEMON_ADDRESS.to_owned());
        Self::new(&address, resource)
    }

    /// Spans lost so far (send failures, or a single span too large for a datagram).
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Sends `request` in one datagram, or halves it (between spans) until each half fits; a single
    /// span too big for a datagram is dropped.
    fn send(&self, mut request: TraceRequest<'_>, sampled: bool) {
        let payload = datagram(&request.encode(), sampled);
        let count = request.span_count();
        if payload.len() <= MAX_DATAGRAM {
            if self.socket.send_to(&payload, self.target).is_err() {
                self.dropped.fetch_add(count as u64, Ordering::Relaxed);
            }
            return;
        }
        if count <= 1 {
            self.dropped.fetch_add(count as u64, Ordering::Relaxed);
            return;
        }
        let tail = request.split_off(count / 2);
        self.send(request, sampled);
        self.send(tail, sampled);
    }
}

impl SpanSink for OtlpUdpExporter {
    fn export(&self, batch: Vec<SpanData>) {
        if batch.is_empty() {
            return;
        }
        let sampled = batch[0].span_context.is_sampled();
        self.send(TraceRequest::new(&batch, &self.resource), sampled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::XrayLayer;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
    use prost::Message as _;
    use std::time::Duration;
    use tracing_subscriber::layer::SubscriberExt;

    fn decode(datagram: &[u8]) -> ExportTraceServiceRequest {
        let text = std::str::from_utf8(datagram).unwrap();
        let (header, body) = text.split_once('\n').unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(header).unwrap(),
            serde_json::json!({"format": "json", "version": 1})
        );
        let b64 = body.strip_prefix("T1S").expect("sampled prefix");
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap()
    }

    #[test]
    fn an_invocation_is_one_datagram_of_otlp_protobuf() {
        let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
        daemon.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let resource = Resource::builder_empty()
            .with_attributes([opentelemetry::KeyValue::new("service.name", "valuation")])
            .build();
        let exporter = OtlpUdpExporter::new(&daemon.local_addr().unwrap().to_string(), resource).unwrap();
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(exporter));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header =
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                telemetry.segment_name = "valuate"
            )
            .entered();
            let _s = tracing::info_span!("price_card", card_id = "c-1").entered();
        });
        let mut buf = vec![0u8; 65_536];
        let n = daemon.recv(&mut buf).unwrap();
        let req = decode(&buf[..n]);
        let rs = &req.resource_spans[0];
        let res = rs.resource.as_ref().unwrap();
        assert_eq!(res.attributes[0].key, "service.name");
        let spans = &rs.scope_spans[0].spans;
        assert_eq!(rs.scope_spans[0].scope.as_ref().unwrap().name, "telemetry");
        assert_eq!(spans.len(), 2);
        let (child, inv) = (&spans[0], &spans[1]);
        assert_eq!(inv.name, "valuate");
        assert_eq!(hex(&inv.trace_id), "5759e988bd862e3fe1be46a994272793");
        assert_eq!(hex(&inv.parent_span_id), "53995c3f42cd8ad8");
        assert_eq!(child.parent_span_id, inv.span_id);
        assert_eq!(child.name, "price_card");
        let attr = child.attributes.iter().find(|a| a.key == "card_id").unwrap();
        assert_eq!(
            attr.value.as_ref().unwrap().value,
            Some(AnyValue::StringValue("c-1".into()))
        );
        assert!(child.end_time_unix_nano >= child.start_time_unix_nano);
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn oversize_batches_are_split_and_dead_endpoints_cost_nothing() {
        let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
        daemon.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let exporter = OtlpUdpExporter::new(
            &daemon.local_addr().unwrap().to_string(),
            Resource::builder_empty().build(),
        )
        .unwrap();
        let big = "x".repeat(10_000);
        let subscriber = tracing_subscriber::registry().with(XrayLayer::with_span_sink(exporter));
        tracing::subscriber::with_default(subscriber, || {
            let _inv = tracing::info_span!(
                "lambda.invocation",
                telemetry.trace_header =
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            )
            .entered();
            for _ in 0..12 {
                let _s = tracing::info_span!("step", blob = big.as_str()).entered();
            }
        });
        let mut buf = vec![0u8; 65_536];
        let mut spans = 0;
        let mut datagrams = 0;
        while let Ok(n) = daemon.recv(&mut buf) {
            assert!(n <= MAX_DATAGRAM);
            datagrams += 1;
            spans += decode(&buf[..n]).resource_spans[0]
                .scope_spans
                .iter()
                .map(|s| s.spans.len())
                .sum::<usize>();
        }
        assert!(datagrams > 1, "split into several datagrams");
        assert_eq!(spans, 13, "every span arrived once");
    }
}
