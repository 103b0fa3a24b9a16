//! Whatever names, labels and values reach the EMF recorder, every document it writes is spec-valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemetry::emf::{EmfBuilder, SharedBuffer, validate};

fuzz_target!(|data: &[u8]| {
    let out = SharedBuffer::default();
    let Ok(rec) = EmfBuilder::new()
        .namespace("Fuzz")
        .allow_all_labels()
        .max_values_per_key(4)
        .with_writer(out.clone())
        .build()
    else {
        return;
    };
    metrics::with_local_recorder(&rec, || {
        // Records of: kind byte, name length, name, label length, label value, 8-byte value.
        let mut rest = data;
        while rest.len() > 3 {
            let kind = rest[0] % 3;
            let name_len = usize::from(rest[1] % 40).min(rest.len() - 2);
            let name = String::from_utf8_lossy(&rest[2..2 + name_len]).into_owned();
            rest = &rest[2 + name_len..];
            let Some((&label_len, tail)) = rest.split_first() else {
                break;
            };
            let label_len = usize::from(label_len % 16).min(tail.len());
            let label = String::from_utf8_lossy(&tail[..label_len]).into_owned();
            rest = &tail[label_len..];
            let mut raw = [0u8; 8];
            let n = rest.len().min(8);
            raw[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            let value = f64::from_le_bytes(raw);
            match kind {
                0 => metrics::counter!(name, "k" => label).increment(u64::from_le_bytes(raw) % 1000),
                1 => metrics::gauge!(name, "k" => label).set(value),
                _ => metrics::histogram!(name, "k" => label).record(value),
            }
        }
    });
    rec.flush_with(&[("function_request_id", "fuzz")]);
    for line in out.contents().lines() {
        if let Err(e) = validate(line) {
            panic!("{e}: {line}");
        }
    }
});
