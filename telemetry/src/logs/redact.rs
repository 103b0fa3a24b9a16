//! Redaction of secrets and personal data in log messages and fields.
//!
//! Hand-written scanners instead of regexes: a cheap pre-check skips almost every line, and the
//! scanners are linear. What is found becomes `[REDACTED]`:
//! JWTs, e-mail addresses, AWS access key ids (`AKIA…`/`ASIA…`), 40-character AWS secret keys,
//! `Authorization`/`Cookie`/`X-Api-Key`/`X-Amz-Security-Token` values, presigned-URL signature
//! parameters (`X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`, `Signature`), and the whole
//! value of any field whose name is on the deny-list (password, secret, token, …).

use std::borrow::Cow;

/// The replacement text.
pub const REDACTED: &str = "[REDACTED]";

/// Field-name endings that are always redacted (compared lowercase, ignoring `_`, `-` and `.`).
pub const DEFAULT_DENY_LIST: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "secretkey",
    "token",
    "authorization",
    "cookie",
    "apikey",
    "accesskey",
    "privatekey",
    "credentials",
    "ssn",
];

const HEADER_NAMES: &[&str] = &["authorization", "cookie", "x-api-key", "x-amz-security-token"];
const URL_PARAMS: &[&str] = &[
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "signature",
];

/// What to redact. On by default in [`super::LogConfig`].
///
/// ```
/// use telemetry::logs::Redactor;
/// let r = Redactor::default();
/// assert_eq!(r.redact_str("mail bob@example.com now"), "mail [REDACTED] now");
/// assert!(r.is_denied_field("user_password"));
/// assert!(!r.is_denied_field("input_tokens"));
/// ```
#[derive(Debug, Clone)]
pub struct Redactor {
    deny: Vec<String>,
    emails: bool,
}

impl Default for Redactor {
    fn default() -> Self {
        Self {
            deny: DEFAULT_DENY_LIST.iter().map(|s| (*s).to_owned()).collect(),
            emails: true,
        }
    }
}

impl Redactor {
    /// Adds field-name endings to the deny-list.
    #[must_use]
    pub fn deny_fields<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, names: I) -> Self {
        self.deny.extend(names.into_iter().map(|n| normalise(n.as_ref())));
        self
    }

    /// Keeps e-mail addresses (some services log them on purpose).
    #[must_use]
    pub fn keep_emails(mut self) -> Self {
        self.emails = false;
        self
    }

    /// Whether a field with this name is redacted whole.
    #[must_use]
    pub fn is_denied_field(&self, name: &str) -> bool {
        self.deny.iter().any(|d| ends_with_normalised(name, d))
    }

    /// Redacts secrets found inside free text.
    #[must_use]
    pub fn redact_str<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if !might_contain_secret(s) {
            return Cow::Borrowed(s);
        }
        let mut spans: Vec<(usize, usize)> = Vec::new();
        find_jwts(s, &mut spans);
        if self.emails {
            find_emails(s, &mut spans);
        }
        find_access_key_ids(s, &mut spans);
        find_secret_keys(s, &mut spans);
        find_after_keywords(s, HEADER_NAMES, true, &mut spans);
        find_after_keywords(s, URL_PARAMS, false, &mut spans);
        if spans.is_empty() {
            return Cow::Borrowed(s);
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(s.len());
        let mut pos = 0;
        for (start, end) in spans {
            if end <= pos {
                continue;
            }
            let start = start.max(pos);
            out.push_str(&s[pos..start]);
            out.push_str(REDACTED);
            pos = end;
        }
        out.push_str(&s[pos..]);
        Cow::Owned(out)
    }
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// `normalise(name).ends_with(suffix)` without allocating (this runs for every field of every line).
fn ends_with_normalised(name: &str, suffix: &str) -> bool {
    let mut n = name
        .bytes()
        .rev()
        .filter(|c| !matches!(c, b'_' | b'-' | b'.'))
        .map(|c| c.to_ascii_lowercase());
    suffix.bytes().rev().all(|s| n.next() == Some(s))
}

fn might_contain_secret(s: &str) -> bool {
    if s.len() < 6 {
        return false;
    }
    let b = s.as_bytes();
    b.contains(&b'@')
        || s.contains("eyJ")
        || s.contains("AKIA")
        || s.contains("ASIA")
        || b.iter().any(|c| matches!(c, b':' | b'='))
        || (s.len() >= 40 && has_base64_run(b))
}

fn has_base64_run(b: &[u8]) -> bool {
    let mut run = 0;
    for &c in b {
        if is_b64(c) {
            run += 1;
            if run >= 40 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

const fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'/' || c == b'+'
}

const fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

fn find_jwts(s: &str, spans: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(off) = s[from..].find("eyJ") {
        let start = from + off;
        let mut i = start;
        let mut dots = 0;
        while i < b.len() && (is_b64url(b[i]) || (b[i] == b'.' && dots < 2)) {
            if b[i] == b'.' {
                dots += 1;
            }
            i += 1;
        }
        if dots == 2 && i - start > 20 {
            spans.push((start, i));
        }
        from = i.max(start + 3);
    }
}

fn find_emails(s: &str, spans: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    for (at, _) in s.match_indices('@') {
        let mut start = at;
        while start > 0 && local(b[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < b.len() && domain(b[end]) {
            end += 1;
        }
        while end > at + 1 && b[end - 1] == b'.' {
            end -= 1;
        }
        let dom = &s[at + 1..end];
        let tld_ok = dom.rsplit_once('.').is_some_and(|(h, tld)| {
            !h.is_empty() && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic())
        });
        if start < at && tld_ok {
            spans.push((start, end));
        }
    }
}

fn find_access_key_ids(s: &str, spans: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    for prefix in ["AKIA", "ASIA"] {
        for (start, _) in s.match_indices(prefix) {
            let end = start + 20;
            if end > b.len() {
                continue;
            }
            let body_ok = b[start + 4..end]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            let left_ok = start == 0 || !b[start - 1].is_ascii_alphanumeric();
            let right_ok = end == b.len() || !b[end].is_ascii_alphanumeric();
            if body_ok && left_ok && right_ok {
                spans.push((start, end));
            }
        }
    }
}

fn find_secret_keys(s: &str, spans: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !is_b64(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_b64(b[i]) {
            i += 1;
        }
        if i - start == 40 {
            let run = &b[start..i];
            let upper = run.iter().any(u8::is_ascii_uppercase);
            let lower = run.iter().any(u8::is_ascii_lowercase);
            let digit_or_sym = run.iter().any(|c| c.is_ascii_digit() || *c == b'/' || *c == b'+');
            if upper && lower && digit_or_sym {
                spans.push((start, i));
            }
        }
    }
}

/// Finds `keyword` (case-insensitive) followed by `:` or `=` (after optional quotes/spaces) and marks
/// the value. Header values run to the end of the line or the closing quote; URL parameters to `&`.
fn find_after_keywords(s: &str, keywords: &[&str], header: bool, spans: &mut Vec<(usize, usize)>) {
    let b = s.as_bytes();
    let lower = s.to_ascii_lowercase();
    for kw in keywords {
        for (pos, _) in lower.match_indices(kw) {
            let before_ok = pos == 0 || !b[pos - 1].is_ascii_alphanumeric() && b[pos - 1] != b'-';
            if !before_ok {
                continue;
            }
            let mut i = pos + kw.len();
            while i < b.len() && matches!(b[i], b'"' | b'\'' | b' ') {
                i += 1;
            }
            if i >= b.len() || !(b[i] == b':' || b[i] == b'=') {
                continue;
            }
            i += 1;
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
            let quote = (i < b.len() && matches!(b[i], b'"' | b'\'')).then(|| b[i]);
            if quote.is_some() {
                i += 1;
            }
            let start = i;
            while i < b.len() {
                let c = b[i];
                let stop = match quote {
                    Some(q) => c == q || c == b'\n',
                    None if header => c == b'\n' || c == b'\r' || c == b'"' || c == b'\'',
                    None => matches!(c, b'&' | b' ' | b'"' | b'\'' | b'#' | b'\n'),
                };
                if stop {
                    break;
                }
                i += 1;
            }
            if i > start {
                spans.push((start, i));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(s: &str) -> String {
        Redactor::default().redact_str(s).into_owned()
    }

    #[test]
    fn redacts_each_kind() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(r(&format!("token {jwt} end")), "token [REDACTED] end");
        assert_eq!(r("to alice.b+x@mail.example.org."), "to [REDACTED].");
        assert_eq!(r("key AKIAIOSFODNN7EXAMPLE used"), "key [REDACTED] used");
        assert_eq!(
            r("secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "secret=[REDACTED]"
        );
        assert_eq!(r("Authorization: Bearer abc.def"), "Authorization: [REDACTED]");
        assert_eq!(
            r(r#"{"Cookie":"sid=1; x=2","a":1}"#),
            r#"{"Cookie":"[REDACTED]","a":1}"#
        );
        assert_eq!(
            r("https://b.s3.amazonaws.com/k.jpg?X-Amz-Credential=AK%2F1&X-Amz-Signature=abc123&x=1"),
            "https://b.s3.amazonaws.com/k.jpg?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&x=1"
        );
    }

    #[test]
    fn leaves_ordinary_text() {
        for s in [
            "valuation done in 12 ms",
            "sha da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "user@localhost",
            "ratio=0.5",
            "AKIA too short",
        ] {
            assert_eq!(r(s), s);
        }
    }

    #[test]
    fn deny_list_is_suffix_based() {
        let red = Redactor::default().deny_fields(["card_number"]);
        assert!(red.is_denied_field("Password"));
        assert!(red.is_denied_field("id_token"));
        assert!(red.is_denied_field("client-secret"));
        assert!(red.is_denied_field("cardNumber"));
        assert!(!red.is_denied_field("output_tokens"));
        assert!(!red.is_denied_field("secret_arn"));
    }

    proptest! {
        #[test]
        fn never_panics_and_never_leaks_emails(prefix in "[ -~]{0,40}", user in "[a-z]{1,10}", suffix in "[ -~]{0,40}") {
            let s = format!("{prefix} {user}@corp.example.com {suffix}");
            let out = r(&s);
            let needle = format!("{user}@corp.example.com");
            prop_assert!(!out.contains(&needle));
        }

        #[test]
        fn arbitrary_input_is_safe(s in "\\PC{0,200}") {
            let _ = r(&s);
        }
    }
}
