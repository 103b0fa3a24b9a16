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
    // levels, ids) by table, a load and an `or` a byte; longer ones with no early exit, so the
    // compiler reads them many at a time.
    let escaped = if bytes.len() < 16 {
        bytes.iter().fold(0, |any, &b| any | ESCAPE[usize::from(b)]) != 0
    } else {
        bytes
            .iter()
            .fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\'))
    };
    if escaped {
        write_escaped(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
    out.push(b'"');
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

    proptest! {
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
