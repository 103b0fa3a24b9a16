//! X-Ray-compatible ids for the OpenTelemetry SDK: a trace id whose first 32 bits are the epoch
//! seconds (X-Ray's `1-{8 hex time}-{24 hex}`), and random non-zero span ids.
//!
//! Spec: <https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-traceids>.

use opentelemetry::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;
use std::time::SystemTime;

/// Generates X-Ray-compatible ids (the same ones [`XrayLayer`](crate::xray::XrayLayer) makes).
///
/// ```
/// use opentelemetry_sdk::trace::IdGenerator;
/// let id = telemetry::otel::XrayIdGenerator.new_trace_id();
/// let secs = u32::from_str_radix(&format!("{id:032x}")[..8], 16).unwrap();
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32;
/// assert!(now - secs <= 1);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct XrayIdGenerator;

impl IdGenerator for XrayIdGenerator {
    fn new_trace_id(&self) -> TraceId {
        crate::xray::new_xray_trace_id(SystemTime::now())
    }

    fn new_span_id(&self) -> SpanId {
        crate::xray::new_span_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xray::xray_trace_id;

    #[test]
    fn trace_ids_carry_the_time_and_differ() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let ids: Vec<TraceId> = (0..100).map(|_| XrayIdGenerator.new_trace_id()).collect();
        for id in &ids {
            let x = xray_trace_id(*id);
            let secs = u64::from_str_radix(&x[2..10], 16).unwrap();
            assert!(now.abs_diff(secs) <= 2, "{x}");
            assert!(crate::xray::TraceHeader::parse(&format!("Root={x}")).is_ok());
        }
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), 100);
        assert!((0..100).all(|_| XrayIdGenerator.new_span_id() != SpanId::INVALID));
    }
}
