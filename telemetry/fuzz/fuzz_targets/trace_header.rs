//! The trace header parser never panics, and what it accepts round-trips through `to_string`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemetry::xray::TraceHeader;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(header) = TraceHeader::parse(text) {
        let again = TraceHeader::parse(&header.to_string()).expect("a printed header parses");
        assert_eq!(again, header);
    }
});
