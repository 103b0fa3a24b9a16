//! Fuzz target: the W3C `traceparent` parser never panics, bounds its work, and whatever it accepts
//! prints back to a value it accepts again with the same ids (W3C Trace Context §3.2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemetry::propagation::{TraceParent, valid_tracestate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tp) = TraceParent::parse(text) {
        let printed = tp.to_string();
        assert_eq!(printed.len(), 55);
        assert_eq!(TraceParent::parse(&printed), Ok(tp));
        // Its X-Ray spelling names the same context.
        assert_eq!(TraceParent::from_xray(&tp.to_xray()), Some(tp));
    }
    if let Some(state) = valid_tracestate(text) {
        assert!(state.len() <= telemetry::propagation::MAX_TRACESTATE);
        // What is kept is kept again as it is (W3C Trace Context §3.3.1).
        assert_eq!(valid_tracestate(&state).as_deref(), Some(&*state));
    }
    let event = serde_json::json!({"headers": {"traceparent": text, "tracestate": text}});
    let _ = telemetry::propagation::event_context(&event);
});
