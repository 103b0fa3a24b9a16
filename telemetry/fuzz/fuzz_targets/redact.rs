//! The redactor never panics, its work and output are bounded by the per-record budget, and a secret
//! planted after any input never survives. Slow (super-linear) inputs show up as libFuzzer timeouts:
//! run with `-timeout=1` (a 64 KiB budget is scanned in well under a millisecond).
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemetry::redact::{REDACTED, Redactor};

const PLANTED: &str = "Zq9PlantedSecretValue7";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let small = Redactor::default().with_max_scan_bytes(4096);
    for r in [Redactor::default(), small] {
        let out = r.redact_str(text);
        // Each redacted span becomes `[REDACTED]`; past the budget one marker replaces the rest.
        let scanned = text.len().min(r.max_scan_bytes());
        assert!(out.len() <= scanned * REDACTED.len() + 64, "{} -> {}", text.len(), out.len());
        if text.contains(PLANTED) {
            continue;
        }
        for key in ["password=", "api_key: ", "\"token\":\"", "X-Amz-Signature=", "token%3D"] {
            let planted = format!("{text} {key}{PLANTED}");
            let out = r.redact_str(&planted);
            assert!(!out.contains(PLANTED), "{planted:?} -> {out:?}");
        }
    }
});
