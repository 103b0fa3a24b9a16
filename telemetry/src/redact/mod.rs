//! Redaction of secrets and personal data in log lines and span attributes.
//!
//! Hand-written scanners instead of regexes. Every scanner is one left-to-right pass that never
//! revisits a byte more than a constant number of times, so the cost is linear in the input: a value
//! found after a key is skipped whole, never rescanned for the next key (a field such as
//! `cookie=cookie=cookie=…` used to cost O(n²): 43 s for 1 MB). On top of that the work per record is
//! bounded: at most [`DEFAULT_MAX_SCAN_BYTES`] (64 KiB, [`Redactor::with_max_scan_bytes`]) of a line's
//! text is scanned; text past the budget is withheld, not printed unscanned, and replaced by
//! `[REDACTED: N bytes past the scan limit]`. Measured throughput: `docs/BENCHMARKS.md` (bench `redact`).
//!
//! What is found becomes [`REDACTED`]:
//! - the value after a key whose name ends with a deny-listed word ([`DEFAULT_DENY_LIST`]: password,
//!   secret, token, api key, signature, credential, `SecretString`, …) or holds `password`, `passwd` or
//!   `privatekey` anywhere (`password_hash`), written `key=value`, `key: value`,
//!   `"key": "value"` (JSON text, also escaped JSON `\"key\":\"value\"`), or percent-encoded
//!   (`token%3Dabc`, `%22password%22%3A%22x%22`) — this covers `?api_key=`, `?token=`,
//!   `X-Amz-Signature=`, `X-Amz-Credential=` and `X-Amz-Security-Token=` query parameters;
//! - HTTP header values to the end of the line (`Authorization:`, `Proxy-Authorization:`, `Cookie:`,
//!   `Set-Cookie:`, `X-Api-Key:`, `X-Amz-Security-Token:`);
//! - JWTs (three parts) and JWE tokens (five parts, `eyJ…`);
//! - e-mail addresses (also `%40`-encoded);
//! - AWS access key ids (`AKIA…`/`ASIA…`) and 40-character AWS secret access keys;
//! - Slack incoming-webhook URLs (the path after `hooks.slack.com/`);
//! - payment card numbers: 13–19 digits, spaces or dashes allowed between digits, a known issuer
//!   prefix and a valid Luhn check digit (so timestamps and ids of the same length stay) — also when
//!   another digit group touches the number (`qty 2 4111 1111 1111 1111`).
//!
//! Look-alikes stay: git SHAs (lowercase hex), UUIDs, request ids, ARNs (`…:secret:name` is a name, not
//! a value), X-Ray trace ids and headers, token counts (`input_tokens=1200`).
//!
//! [`redact_attribute`] is the entry point for span attributes (X-Ray/OpenTelemetry exporters).

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::OnceLock;

/// The replacement text.
pub const REDACTED: &str = "[REDACTED]";

/// Bytes of text scanned per record (log line or span) by default: 64 KiB.
pub const DEFAULT_MAX_SCAN_BYTES: usize = 64 * 1024;

/// Field-name endings that are always redacted (compared lowercase, ignoring `_`, `-` and `.`); the same
/// words mark a key inside free text.
pub const DEFAULT_DENY_LIST: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secretkey",
    // Secrets Manager's GetSecretValue answer: `SecretString`, `SecretBinary`.
    "secretstring",
    "secretbinary",
    "token",
    "authorization",
    "cookie",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "credentials",
    "signature",
    "ssn",
];

/// Words that deny a name wherever they stand in it (`password_hash`, `private_key_pem`), not only at
/// its end: nothing named after a password or a private key is safe to print.
const DENY_ANYWHERE: &[&str] = &["password", "passwd", "privatekey"];

/// Normalised header-name endings whose `Name: value` runs to the end of the line.
const HEADER_ENDINGS: &[&str] = &["authorization", "cookie", "apikey", "securitytoken"];

/// What to redact. On by default in the JSON logger.
///
/// ```
/// use telemetry::redact::Redactor;
/// let r = Redactor::default();
/// assert_eq!(r.redact_str("mail bob@example.com now"), "mail [REDACTED] now");
/// assert_eq!(r.redact_str("GET /cards?api_key=k-123&page=2"), "GET /cards?api_key=[REDACTED]&page=2");
/// assert!(r.is_denied_field("user_password"));
/// assert!(!r.is_denied_field("input_tokens"));
/// ```
#[derive(Debug, Clone)]
pub struct Redactor {
    deny: Vec<String>,
    emails: bool,
    max_scan: usize,
}

impl Default for Redactor {
    fn default() -> Self {
        Self {
            deny: DEFAULT_DENY_LIST.iter().map(|s| (*s).to_owned()).collect(),
            emails: true,
            max_scan: DEFAULT_MAX_SCAN_BYTES,
        }
    }
}

/// How many bytes of one record may still be scanned. Shared by all the strings of a record (message,
/// fields, context keys), so a line with many large fields is bounded as a whole.
///
/// ```
/// use telemetry::redact::Redactor;
/// let r = Redactor::default().with_max_scan_bytes(8);
/// let budget = r.budget();
/// assert_eq!(r.redact_within("abcdef", &budget), "abcdef");
/// assert_eq!(r.redact_within("ghijkl", &budget), "gh[REDACTED: 4 bytes past the scan limit]");
/// assert_eq!(budget.remaining(), 0);
/// ```
#[derive(Debug)]
pub struct ScanBudget(Cell<usize>);

impl ScanBudget {
    /// A budget of `bytes`.
    #[must_use]
    pub const fn new(bytes: usize) -> Self {
        Self(Cell::new(bytes))
    }

    /// Bytes left.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.0.get()
    }
}

impl Redactor {
    /// Adds field-name endings to the deny-list (also used as keys inside text).
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

    /// Bytes of text scanned per record (default [`DEFAULT_MAX_SCAN_BYTES`]); the rest is withheld.
    #[must_use]
    pub fn with_max_scan_bytes(mut self, bytes: usize) -> Self {
        self.max_scan = bytes;
        self
    }

    /// The per-record byte budget.
    #[must_use]
    pub fn max_scan_bytes(&self) -> usize {
        self.max_scan
    }

    /// A fresh budget for one record.
    #[must_use]
    pub fn budget(&self) -> ScanBudget {
        ScanBudget::new(self.max_scan)
    }

    /// Whether a field with this name is redacted whole.
    #[must_use]
    pub fn is_denied_field(&self, name: &str) -> bool {
        // This runs for every field of every line and every word before a separator in text: the name
        // is normalised once, on the stack, and each deny-listed word compared to it.
        let mut buf = [0u8; 64];
        let mut n = 0;
        for c in name.bytes().filter(|c| !matches!(c, b'_' | b'-' | b'.')) {
            if n == buf.len() {
                return self.deny.iter().any(|d| ends_with_normalised(name, d))
                    || DENY_ANYWHERE.iter().any(|d| contains_normalised(name, d));
            }
            buf[n] = c.to_ascii_lowercase();
            n += 1;
        }
        let name = &buf[..n];
        self.deny.iter().any(|d| name.ends_with(d.as_bytes()))
            || DENY_ANYWHERE
                .iter()
                .any(|d| name.windows(d.len()).any(|w| w == d.as_bytes()))
    }

    /// Redacts secrets found inside free text, scanning at most the per-record budget.
    #[must_use]
    pub fn redact_str<'a>(&self, s: &'a str) -> Cow<'a, str> {
        self.redact_within(s, &self.budget())
    }

    /// A field: [`REDACTED`] if its name is denied, else its value through [`redact_str`](Self::redact_str).
    #[must_use]
    pub fn redact_field<'a>(&self, name: &str, value: &'a str, budget: &ScanBudget) -> Cow<'a, str> {
        if self.is_denied_field(name) {
            return Cow::Borrowed(REDACTED);
        }
        self.redact_within(value, budget)
    }

    /// Redacts `s`, charging its length to `budget`; text past the budget is withheld.
    #[must_use]
    pub fn redact_within<'a>(&self, s: &'a str, budget: &ScanBudget) -> Cow<'a, str> {
        let allowed = budget.remaining();
        if s.len() <= allowed {
            budget.0.set(allowed - s.len());
            return self.redact_all(s);
        }
        budget.0.set(0);
        let cut = cut_point(s, allowed);
        let mut out = self.redact_all(&s[..cut]).into_owned();
        let _ = write!(out, "[REDACTED: {} bytes past the scan limit]", s.len() - cut);
        Cow::Owned(out)
    }

    fn redact_all<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let Some(hints) = Hints::of(s.as_bytes()) else {
            return Cow::Borrowed(s);
        };
        let mut spans: Vec<(usize, usize)> = Vec::new();
        if hints.separator {
            self.find_key_values(s, &mut spans);
            find_slack_webhooks(s.as_bytes(), &mut spans);
        }
        if hints.jwt {
            find_jwts(s.as_bytes(), &mut spans);
        }
        if self.emails && hints.at {
            find_emails(s.as_bytes(), &mut spans);
        }
        if hints.akia {
            find_access_key_ids(s, &mut spans);
        }
        if hints.b64_run {
            find_secret_keys(s.as_bytes(), &mut spans);
        }
        if hints.digits {
            find_card_numbers(s.as_bytes(), &mut spans);
        }
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

    /// Keys (words ending with a deny-listed name) followed by `:`/`=` (or `%3A`/`%3D`): the value
    /// after them. The cursor jumps past each value, so no byte is scanned for keys twice.
    fn find_key_values(&self, s: &str, spans: &mut Vec<(usize, usize)>) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if !is_word(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && is_word(b[i]) {
                i += 1;
            }
            // Word bytes are ASCII, so `start..i` are char boundaries.
            let word = &s[start..i];
            if !self.is_denied_field(word) {
                continue;
            }
            let header = HEADER_ENDINGS.iter().any(|h| ends_with_normalised(word, h));
            // `arn:aws:secretsmanager:…:secret:name` — a name inside an ARN, not a key.
            let in_colon_list = start > 0 && b[start - 1] == b':';
            if let Some((from, to)) = value_after(b, i, header, in_colon_list) {
                if to > from {
                    spans.push((from, to));
                }
                i = i.max(to);
            }
        }
    }
}

/// Redacts a span attribute with the default rules: [`REDACTED`] when the key is deny-listed, else the
/// value's secrets, bounded by [`DEFAULT_MAX_SCAN_BYTES`]. For the X-Ray and OpenTelemetry exporters.
///
/// ```
/// use telemetry::redact::redact_attribute;
/// assert_eq!(redact_attribute("db.password", "hunter2"), "[REDACTED]");
/// assert_eq!(redact_attribute("http.url", "https://x.io/a?token=abc"), "https://x.io/a?token=[REDACTED]");
/// assert_eq!(redact_attribute("card_id", "c-1"), "c-1");
/// ```
#[must_use]
pub fn redact_attribute<'a>(key: &str, value: &'a str) -> Cow<'a, str> {
    static DEFAULT: OnceLock<Redactor> = OnceLock::new();
    let r = DEFAULT.get_or_init(Redactor::default);
    r.redact_field(key, value, &r.budget())
}

/// What a one-pass look at the bytes says is worth scanning for.
#[derive(Debug, Default)]
struct Hints {
    separator: bool,
    at: bool,
    jwt: bool,
    akia: bool,
    b64_run: bool,
    digits: bool,
}

impl Hints {
    fn of(b: &[u8]) -> Option<Self> {
        if b.len() < 6 {
            return None;
        }
        let mut h = Self::default();
        let (mut run, mut digits) = (0usize, 0usize);
        for (i, &c) in b.iter().enumerate() {
            match c {
                b':' | b'=' => h.separator = true,
                b'%' => {
                    h.separator = true;
                    h.at = true;
                }
                b'@' => h.at = true,
                b'e' if b[i..].starts_with(b"eyJ") => h.jwt = true,
                b'A' if b[i..].starts_with(b"AKIA") || b[i..].starts_with(b"ASIA") => h.akia = true,
                _ => {}
            }
            if c.is_ascii_digit() {
                digits += 1;
            }
            if is_b64(c) {
                run += 1;
                h.b64_run |= run >= 40;
            } else {
                run = 0;
            }
        }
        h.digits = digits >= 13;
        (h.separator || h.at || h.jwt || h.akia || h.b64_run || h.digits).then_some(h)
    }
}

/// The largest char boundary ≤ `limit`, moved back to the last separator within 512 bytes so a
/// token is not cut in two (its first half printed).
fn cut_point(s: &str, limit: usize) -> usize {
    let mut cut = limit.min(s.len());
    while cut > 0 && !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let b = s.as_bytes();
    let floor = cut.saturating_sub(512);
    let mut i = cut;
    while i > floor {
        let c = b[i - 1];
        if c.is_ascii() && !is_b64url(c) && !matches!(c, b'/' | b'+' | b'=' | b'%' | b'.') {
            return i;
        }
        i -= 1;
    }
    cut
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

/// `normalise(name).contains(needle)` (`needle` lowercase ASCII) without allocating for names up to 64
/// bytes.
fn contains_normalised(name: &str, needle: &str) -> bool {
    let mut buf = [0u8; 64];
    let mut n = 0;
    for c in name.bytes().filter(|c| !matches!(c, b'_' | b'-' | b'.')) {
        if n == buf.len() {
            return normalise(name).contains(needle);
        }
        buf[n] = c.to_ascii_lowercase();
        n += 1;
    }
    buf[..n].windows(needle.len()).any(|w| w == needle.as_bytes())
}

const fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

const fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'/' || c == b'+'
}

const fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// `%XY` at `i`, case-insensitive, as the byte it encodes.
fn percent_at(b: &[u8], i: usize) -> Option<u8> {
    if b.get(i) != Some(&b'%') {
        return None;
    }
    let hex = |c: u8| (c as char).to_digit(16);
    let hi = hex(*b.get(i + 1)?)?;
    let lo = hex(*b.get(i + 2)?)?;
    u8::try_from(hi * 16 + lo).ok()
}

/// The byte at `i` and its width, decoding one level of percent-encoding.
fn decoded_at(b: &[u8], i: usize) -> Option<(u8, usize)> {
    match percent_at(b, i) {
        Some(c) => Some((c, 3)),
        None => b.get(i).map(|c| (*c, 1)),
    }
}

/// The value after a key ending at `i`: `(start, end)`, or `None` when no `:`/`=` follows.
fn value_after(b: &[u8], mut i: usize, header: bool, in_colon_list: bool) -> Option<(usize, usize)> {
    // The key's closing quote (also `\"` in escaped JSON, `%22` encoded) and blanks.
    while let Some((c, w)) = decoded_at(b, i) {
        if matches!(c, b'"' | b'\'' | b'\\' | b' ' | b'\t') {
            i += w;
        } else {
            break;
        }
    }
    let (sep, w) = decoded_at(b, i)?;
    if !matches!(sep, b':' | b'=') {
        return None;
    }
    let encoded = w == 3;
    if sep == b':' && in_colon_list && !encoded {
        return None;
    }
    i += w;
    while let Some((c, w)) = decoded_at(b, i) {
        if matches!(c, b' ' | b'\t') {
            i += w;
        } else {
            break;
        }
    }
    // An opening quote: `"`, `'`, `\"`, `%22`, `%27`.
    let escaped = b.get(i) == Some(&b'\\') && matches!(b.get(i + 1), Some(b'"' | b'\''));
    let at = if escaped { i + 1 } else { i };
    let quote = match decoded_at(b, at) {
        Some((q @ (b'"' | b'\''), w)) => Some((q, w)),
        _ => None,
    };
    let start = match quote {
        Some((_, w)) => at + w,
        None => i,
    };
    let mut j = start;
    while j < b.len() {
        let c = b[j];
        let stop = match quote {
            Some((q, 1)) if escaped => c == b'\n' || (c == b'\\' && b.get(j + 1) == Some(&q)),
            Some((q, 1)) => {
                if c == b'\\' {
                    j += 2;
                    continue;
                }
                c == q || c == b'\n'
            }
            Some((q, _)) => percent_at(b, j) == Some(q) || matches!(c, b'&' | b' ' | b'\n'),
            None if header && sep == b':' && !encoded => matches!(c, b'\n' | b'\r' | b'"' | b'\''),
            None => {
                matches!(
                    c,
                    b'&' | b' '
                        | b'\t'
                        | b'\n'
                        | b'\r'
                        | b','
                        | b';'
                        | b'"'
                        | b'\''
                        | b'#'
                        | b'}'
                        | b']'
                        | b')'
                        | b'<'
                        | b'>'
                        | b'\\'
                ) || (encoded
                    && matches!(
                        percent_at(b, j),
                        Some(b'&' | b'"' | b'\'' | b' ' | b',' | b';' | b'}' | b'#')
                    ))
            }
        };
        if stop {
            break;
        }
        j += 1;
    }
    Some((start, j.min(b.len())))
}

/// Case-insensitive ASCII search for `needle` (lowercase) from `from`.
fn find_ci(b: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || b.len() < needle.len() {
        return None;
    }
    (from..=b.len() - needle.len()).find(|&i| {
        b[i..i + needle.len()]
            .iter()
            .zip(needle)
            .all(|(c, n)| c.to_ascii_lowercase() == *n)
    })
}

fn find_slack_webhooks(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    const HOST: &[u8] = b"hooks.slack.com/";
    let mut from = 0;
    while let Some(at) = find_ci(b, HOST, from) {
        let start = at + HOST.len();
        let mut end = start;
        while end < b.len()
            && !b[end].is_ascii_whitespace()
            && !matches!(b[end], b'"' | b'\'' | b'<' | b'>' | b')' | b',' | b'\\')
        {
            end += 1;
        }
        if end > start {
            spans.push((start, end));
        }
        from = end.max(start);
    }
}

/// JWS (`header.payload.signature`) and JWE (`header.key.iv.ciphertext.tag`, the key part may be empty).
fn find_jwts(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut i = 0;
    while i + 3 <= b.len() {
        if &b[i..i + 3] != b"eyJ" || (i > 0 && is_b64url(b[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        let mut dots = 0;
        while i < b.len() && (is_b64url(b[i]) || (b[i] == b'.' && dots < 4)) {
            if b[i] == b'.' {
                dots += 1;
            }
            i += 1;
        }
        let mut end = i;
        while end > start && b[end - 1] == b'.' && dots > 2 {
            end -= 1;
            dots -= 1;
        }
        if dots >= 2 && end - start > 20 {
            spans.push((start, end));
        }
        i = i.max(start + 3);
    }
}

/// `local@domain.tld`, also with `@` written `%40`. Local parts are at most 64 bytes and domains 255
/// (RFC 5321), which also bounds the work per `@`.
fn find_emails(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    let mut i = 0;
    while i < b.len() {
        let width = if b[i] == b'@' {
            1
        } else if percent_at(b, i) == Some(b'@') {
            3
        } else {
            i += 1;
            continue;
        };
        let at = i;
        let mut start = at;
        while start > 0 && at - start < 64 && local(b[start - 1]) {
            start -= 1;
        }
        let dom_start = at + width;
        let mut end = dom_start;
        while end < b.len() && end - dom_start < 255 && domain(b[end]) {
            end += 1;
        }
        while end > dom_start && b[end - 1] == b'.' {
            end -= 1;
        }
        let dom = &b[dom_start..end];
        let tld_ok = dom.iter().rposition(|c| *c == b'.').is_some_and(|dot| {
            let tld = &dom[dot + 1..];
            dot > 0 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic)
        });
        if start < at && tld_ok {
            spans.push((start, end));
            i = end.max(at + width);
        } else {
            i = at + width;
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

/// 40-character base64 runs with upper, lower and a digit or symbol (AWS secret access keys); git
/// SHAs (lowercase hex) never qualify.
fn find_secret_keys(b: &[u8], spans: &mut Vec<(usize, usize)>) {
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

/// Payment card numbers: 13–19 digits with single spaces or dashes allowed between them, an issuer
/// prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay) and a valid Luhn check digit.
///
/// A run of digit groups joined by single spaces or dashes is tried whole first; failing that, each
/// stretch of whole groups inside it, longest first from each group on (a quantity or a second number
/// next to a card number joins its run: `qty 2 4111 1111 1111 1111`). A stretch holds at most 19
/// digits, so at most 19 groups are tried from each start: linear in the input.
fn find_card_numbers(b: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && !number_boundary(b, i - 1, true)) {
            i += 1;
            continue;
        }
        groups.clear();
        let mut group_start = i;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                i += 1;
            } else if matches!(b[i], b' ' | b'-') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                groups.push((group_start, i));
                i += 1;
                group_start = i;
            } else {
                break;
            }
        }
        groups.push((group_start, i));
        let right_ok = i == b.len() || number_boundary(b, i, false);
        let mut first = 0;
        while first < groups.len() {
            match card_in_groups(b, &groups[first..], right_ok) {
                Some(taken) => {
                    spans.push((groups[first].0, groups[first + taken - 1].1));
                    first += taken;
                }
                None => first += 1,
            }
        }
    }
}

/// The most leading `groups` (counted) that spell a card number: 13–19 digits, an issuer prefix, a
/// valid Luhn digit. A stretch ending at the run's end needs `right_ok` (its right boundary).
fn card_in_groups(b: &[u8], groups: &[(usize, usize)], right_ok: bool) -> Option<usize> {
    let mut digits = [0u8; 19];
    let mut n = 0usize;
    let mut found = None;
    for (k, &(start, end)) in groups.iter().enumerate() {
        for &c in &b[start..end] {
            if n == digits.len() {
                return found;
            }
            digits[n] = c - b'0';
            n += 1;
        }
        let at_run_end = k + 1 == groups.len();
        if (13..=19).contains(&n)
            && (!at_run_end || right_ok)
            && card_prefix(&digits[..n], n)
            && luhn(&digits[..n])
        {
            found = Some(k + 1);
        }
    }
    found
}

/// Whether the byte at `i` ends (or, `left`, starts) a number: not alphanumeric, and not the `.` of a
/// decimal or a version (`1.2.3.4567…`).
fn number_boundary(b: &[u8], i: usize, left: bool) -> bool {
    let c = b[i];
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if c != b'.' {
        return true;
    }
    let other = if left {
        i.checked_sub(1).and_then(|k| b.get(k))
    } else {
        b.get(i + 1)
    };
    !other.is_some_and(u8::is_ascii_digit)
}

fn card_prefix(d: &[u8], len: usize) -> bool {
    let p = |k: usize| d.iter().take(k).fold(0u32, |a, x| a * 10 + u32::from(*x));
    match d.first() {
        Some(4) => matches!(len, 13 | 16 | 19),
        Some(5) => (51..=55).contains(&p(2)) && len == 16,
        Some(2) => (2221..=2720).contains(&p(4)) && len == 16,
        Some(3) => {
            (matches!(p(2), 34 | 37) && len == 15)
                || ((3528..=3589).contains(&p(4)) && len >= 16)
                || ((matches!(p(2), 36 | 38) || (300..=305).contains(&p(3))) && len >= 14)
        }
        Some(6) => (p(4) == 6011 || p(2) == 65 || (644..=649).contains(&p(3)) || p(2) == 62) && len >= 16,
        _ => false,
    }
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(k, &x)| {
            let x = u32::from(x);
            if k % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests;
