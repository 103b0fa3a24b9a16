//! JSON string literals written straight into a byte buffer, escaped exactly as serde_json escapes
//! them: the EMF documents, the log lines and the X-Ray documents write every string through here
//! (serde_json's writer costs ~150 instructions a call before the first byte, and a log line writes
//! ten strings).

/// How serde_json escapes each byte: 0 = as is, `u` = `\u00XX`, otherwise the letter after `\`.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal, quotes included, escaped exactly as serde_json escapes it.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most strings need no escaping: one look at every byte, then one copy. Short ones (field names,
    // levels, ids) by table, a load and an `or` a byte; longer ones eight bytes at a time, with no
    // early exit (ids, ARNs, messages: ~1.5 instructions a byte instead of ~5).
    let escaped = if bytes.len() < 16 {
        by_table(bytes)
    } else {
        let words = bytes.chunks_exact(8);
        let rest = words.remainder();
        words.fold(0, |any, w| {
            any | escapes_in_word(u64::from_le_bytes([
                w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
            ]))
        }) != 0
            || by_table(rest)
    };
    if escaped {
        write_escaped(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
}

/// Whether any of `bytes` is one serde_json escapes, byte by byte.
fn by_table(bytes: &[u8]) -> bool {
    bytes.iter().fold(0, |any, &b| any | ESCAPE[usize::from(b)]) != 0
}

/// Non-zero when one of the eight bytes of `w` is one serde_json escapes: below 0x20, `"` or `\`.
/// The has-a-zero-byte test (Hacker's Delight 6-1) on `w` less 0x20 in each byte and on `w` with the
/// quote and the backslash cleared: a borrow only ever runs on from a byte that matched, so the
/// word-wide answer is exact.
fn escapes_in_word(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let control = w.wrapping_sub(LO * 0x20) & !w & HI;
    control | zero_byte(w ^ (LO * u64::from(b'"'))) | zero_byte(w ^ (LO * u64::from(b'\\')))
}

/// `bytes` with every byte serde_json escapes escaped, the others copied in runs.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[usize::from(b)];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.push(b'\\');
            out.push(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends compact JSON `src` (no blanks between tokens, as serde_json's compact writer leaves it)
/// laid out as serde_json's pretty printer lays out the same value: a line and two more spaces of
/// indent for each member and element, `": "` after a key, `{}` and `[]` when empty. The pretty log
/// lines (`POWERTOOLS_DEV`) are the compact ones laid out, so serde's pretty writer — an instance of
/// every serialized type for its formatter — is not in the binary.
#[cfg(feature = "logs")]
pub(crate) fn write_pretty(out: &mut Vec<u8>, src: &[u8]) {
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    let mut depth = 0usize;
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        i += 1;
        match c {
            b'"' => {
                let start = i - 1;
                while i < src.len() && src[i] != b'"' {
                    i += if src[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(src.len());
                out.extend_from_slice(&src[start..i]);
            }
            // `}` and `]` are two past `{` and `[` in ASCII.
            b'{' | b'[' if src.get(i).is_some_and(|&next| next == c + 2) => {
                out.extend_from_slice(&[c, c + 2]);
                i += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                out.push(c);
                newline(out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(out, depth);
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_like_serde_json() {
        // Every byte alone, inside short plain text, and at each end of 15-byte texts (the longest the
        // short check reads) and 16-byte ones (the shortest the long check reads).
        assert_eq!(("fourteen bytes".len(), "fifteen bytes..".len()), (14, 15));
        for b in 0..=127u8 {
            let c = char::from(b).to_string();
            for s in [
                c.clone(),
                format!("plain {c} text"),
                format!("{c}fourteen bytes"),
                format!("fourteen bytes{c}"),
                format!("{c}fifteen bytes.."),
                format!("fifteen bytes..{c}"),
            ] {
                let mut out = Vec::new();
                write_str(&mut out, &s);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    serde_json::to_string(&s).unwrap()
                );
            }
        }
        for s in [
            "",
            "plain",
            "q\"uote",
            "back\\slash",
            "\u{0}\u{1f}\n\r\t\u{8}\u{c}",
            "é€😀",
            "\u{7f}/",
        ] {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap());
        }
    }

    /// The word test finds each escaped byte at each of the eight places, among bytes that are not
    /// escaped (0x20, `!`, `#`, `[`, `]`, 0x7f, 0x80, 0xff: each side of each escaped value), and
    /// finds none among those alone.
    #[test]
    fn the_word_test_finds_every_escaped_byte_in_every_place() {
        let plain = [0x20u8, b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff];
        for &fill in &plain {
            for &other in &plain {
                let mut w = [fill; 8];
                w[3] = other;
                assert_eq!(escapes_in_word(u64::from_le_bytes(w)), 0, "{w:?}");
            }
        }
        for b in (0..=255u8).filter(|b| ESCAPE[usize::from(*b)] != 0) {
            for at in 0..8 {
                for &fill in &plain {
                    let mut w = [fill; 8];
                    w[at] = b;
                    assert_ne!(
                        escapes_in_word(u64::from_le_bytes(w)),
                        0,
                        "{b:#x} at {at} in {fill:#x}"
                    );
                }
            }
        }
        for b in (0..=255u8).filter(|b| ESCAPE[usize::from(*b)] == 0) {
            assert_eq!(escapes_in_word(u64::from_le_bytes([b; 8])), 0, "{b:#x}");
        }
    }

    #[cfg(feature = "logs")]
    /// Any JSON value: strings of any text (quotes, backslashes, braces and commas inside), numbers,
    /// empty and nested objects and arrays.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[\\\\\"{}\\[\\],: a-zé]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec(("[\\\\\"{}:, a-z]{0,4}", inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    #[cfg(feature = "logs")]
    #[test]
    fn pretty_layout_is_serde_jsons() {
        use serde_json::json;
        for v in [
            json!({}),
            json!([]),
            json!({"a": {}, "b": [], "c": [{}], "d": [[]]}),
            json!({"s": "{\"x\": [1, 2]}\\", "n": -1.5e-7, "t": true, "z": null}),
            json!([1, "two", {"three": [3]}]),
        ] {
            let mut out = Vec::new();
            write_pretty(&mut out, &serde_json::to_vec(&v).unwrap());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string_pretty(&v).unwrap()
            );
        }
    }

    proptest! {
        #[cfg(feature = "logs")]
        #[test]
        fn any_value_is_laid_out_as_serde_pretty_prints_it(v in json_value()) {
            let mut out = Vec::new();
            write_pretty(&mut out, &serde_json::to_vec(&v).unwrap());
            prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string_pretty(&v).unwrap());
        }

        #[test]
        fn any_string_escapes_like_serde_json(s in any::<String>()) {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            let text = String::from_utf8(out).unwrap();
            prop_assert_eq!(&text, &serde_json::to_string(&s).unwrap());
            prop_assert_eq!(serde_json::from_str::<String>(&text).unwrap(), s);
        }

    }
}
