//! The X-Ray trace header: `Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled={0|1|?};Lineage=…`.
//!
//! It arrives as `context.xray_trace_id` (and the `_X_AMZN_TRACE_ID` env var in sequential mode) and
//! as the `X-Amzn-Trace-Id` HTTP header. `Lineage` (Lambda's recursion detection) and unknown keys are
//! kept verbatim so the header can be passed on unchanged.

use opentelemetry::{SpanId, TraceId};
use std::fmt;

/// The sampling decision in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampled {
    /// `Sampled=1`: emit subsegments.
    Yes,
    /// `Sampled=0`: emit nothing.
    No,
    /// `Sampled=?`: the caller asks the receiver to decide.
    Requested,
    /// No `Sampled` key.
    Unknown,
}

/// A parsed trace header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    /// The 128-bit trace id (`Root`).
    pub root: TraceId,
    /// The parent segment id (`Parent`): Lambda's facade segment inside a function.
    pub parent: Option<SpanId>,
    /// `Sampled`.
    pub sampled: Sampled,
    /// `Lineage`, kept opaque.
    pub lineage: Option<String>,
    /// Other `key=value` pairs, kept in order.
    pub extra: Vec<(String, String)>,
}

/// Why a header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// No `Root=` part.
    #[error("trace header has no Root")]
    MissingRoot,
    /// `Root` is not `1-{8 hex}-{24 hex}`.
    #[error("invalid Root {0:?}")]
    InvalidRoot(String),
    /// `Parent` is not 16 hex digits.
    #[error("invalid Parent {0:?}")]
    InvalidParent(String),
}

impl TraceHeader {
    /// Parses a header. Never panics, whatever the input.
    ///
    /// ```
    /// use telemetry::xray::{Sampled, TraceHeader};
    /// let h = TraceHeader::parse("Root=1-64a15448-4aa914a00d66aa066325d7e3;Parent=60a7d0c22fb2f001;Sampled=1;Lineage=16f3a795:0")?;
    /// assert_eq!(h.sampled, Sampled::Yes);
    /// assert_eq!(h.xray_trace_id(), "1-64a15448-4aa914a00d66aa066325d7e3");
    /// assert_eq!(h.lineage.as_deref(), Some("16f3a795:0"));
    /// assert_eq!(h.to_string(), "Root=1-64a15448-4aa914a00d66aa066325d7e3;Parent=60a7d0c22fb2f001;Sampled=1;Lineage=16f3a795:0");
    /// # Ok::<(), telemetry::xray::HeaderError>(())
    /// ```
    ///
    /// # Errors
    /// A missing or malformed `Root`, or a malformed `Parent`.
    pub fn parse(header: &str) -> Result<Self, HeaderError> {
        match Self::parse_lambda_shape(header) {
            Some(h) => Ok(h),
            None => Self::parse_parts(header),
        }
    }

    /// The header exactly as Lambda writes it, `Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled={1|0|?}`,
    /// read at its fixed offsets — what [`Self::parse_parts`] answers for it, without splitting and
    /// trimming (a test holds the two together). `None` for anything else, valid or not.
    fn parse_lambda_shape(header: &str) -> Option<Self> {
        let b = header.as_bytes();
        if b.len() != 74
            || !b.starts_with(b"Root=")
            || b.get(40..48)? != b";Parent="
            || b.get(64..73)? != b";Sampled="
        {
            return None;
        }
        let root = parse_root(header.get(5..40)?).ok()?;
        let parent = parse_span_id(header.get(48..64)?)?;
        let sampled = match b[73] {
            b'1' => Sampled::Yes,
            b'0' => Sampled::No,
            b'?' => Sampled::Requested,
            _ => return None,
        };
        Some(Self {
            root,
            parent: Some(parent),
            sampled,
            lineage: None,
            extra: Vec::new(),
        })
    }

    /// Any header: its `;`-separated parts, blanks around parts, keys and values trimmed.
    fn parse_parts(header: &str) -> Result<Self, HeaderError> {
        let mut root = None;
        let mut parent = None;
        let mut sampled = Sampled::Unknown;
        let mut lineage = None;
        let mut extra = Vec::new();
        // What may still be carried on into outgoing headers (`Lineage` and the other keys).
        let mut room = MAX_CARRIED_BYTES;
        let mut carry = |k: &str, v: &str| {
            let cost = k.len() + v.len() + 2;
            let fits = cost <= room;
            if fits {
                room -= cost;
            }
            fits
        };
        // Blanks around parts, keys and values are trimmed as `str::trim` does, ASCII ones by byte
        // (`trim_blanks`).
        for part in crate::context::split_ascii(header, b';') {
            let part = trim_blanks(part);
            if part.is_empty() {
                continue;
            }
            let eq = part.bytes().position(|b| b == b'=');
            let (k, v) = match eq {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, ""),
            };
            match trim_blanks(k) {
                "Root" => root = Some(parse_root(trim_blanks(v))?),
                "Parent" => {
                    parent = Some(
                        parse_span_id(trim_blanks(v))
                            .ok_or_else(|| HeaderError::InvalidParent(v.to_owned()))?,
                    )
                }
                "Sampled" => {
                    sampled = match trim_blanks(v) {
                        "1" => Sampled::Yes,
                        "0" => Sampled::No,
                        "?" => Sampled::Requested,
                        _ => Sampled::Unknown,
                    }
                }
                // Carried on into outgoing headers: a value that is not printable ASCII (a control
                // character from a hostile event) would make the HTTP client refuse — or panic on — the
                // header, so it is dropped here; and so is what does not fit in
                // [`MAX_CARRIED_BYTES`], so a hostile header cannot make every outgoing call's header
                // too large for the services it calls.
                // Lambda's recursive-loop detection: its own room, so earlier parts cannot push it out.
                "Lineage" if is_header_safe(v) && v.len() <= MAX_LINEAGE_BYTES => {
                    lineage = Some(v.to_owned())
                }
                "Lineage" => {}
                // A part that is not `key=value` is not carried: written back it would gain an `=`.
                other if eq.is_some() && is_header_safe(other) && is_header_safe(v) && carry(other, v) => {
                    extra.push((other.to_owned(), v.to_owned()));
                }
                _ => {}
            }
        }
        Ok(Self {
            root: root.ok_or(HeaderError::MissingRoot)?,
            parent,
            sampled,
            lineage,
            extra,
        })
    }

    /// The trace id as X-Ray prints it: `1-{8 hex}-{24 hex}`.
    #[must_use]
    pub fn xray_trace_id(&self) -> String {
        xray_trace_id(self.root)
    }

    /// Whether subsegments should be emitted.
    #[must_use]
    pub fn is_sampled(&self) -> bool {
        self.sampled == Sampled::Yes
    }
}

thread_local! {
    /// A header already parsed, handed to whoever parses exactly that text next ([`handing`]): the
    /// text's address and length, and the header.
    static HANDED: std::cell::RefCell<Option<(usize, usize, TraceHeader)>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `header` (the parse of `text`) handed on: inside `f`, [`take_handed`] given `text` —
/// the very same bytes in memory, not an equal copy — answers `header` instead of parsing it again.
/// The invocation layer parses Lambda's header once, and the span layer, reading it back from the
/// invocation span's field while `f` creates that span, takes the result. The slot is cleared when
/// `f` returns or unwinds, on this thread, so the address can never be mistaken for another string's
/// later; `text` is borrowed throughout, so it cannot change meanwhile. `None`: just `f`.
#[cfg_attr(not(feature = "lambda"), allow(dead_code))]
pub(crate) fn handing<R>(text: &str, header: Option<TraceHeader>, f: impl FnOnce() -> R) -> R {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            let _ = HANDED.try_with(|h| h.try_borrow_mut().map(|mut h| h.take()));
        }
    }
    let Some(header) = header else { return f() };
    let _ = HANDED.try_with(|h| {
        if let Ok(mut h) = h.try_borrow_mut() {
            *h = Some((text.as_ptr() as usize, text.len(), header));
        }
    });
    let _clear = Clear;
    f()
}

/// The header handed on for exactly `text` ([`handing`]), taken (a second call answers `None`).
pub(crate) fn take_handed(text: &str) -> Option<TraceHeader> {
    HANDED
        .try_with(|h| {
            let mut h = h.try_borrow_mut().ok()?;
            match &*h {
                Some((at, len, _)) if *at == text.as_ptr() as usize && *len == text.len() => {
                    h.take().map(|(_, _, header)| header)
                }
                _ => None,
            }
        })
        .ok()
        .flatten()
}

/// How many bytes of `Lineage` and other `key=value` parts (each counted with its `;` and `=`) a
/// parsed header keeps: each part in the order they come, if it still fits; one that does not is
/// dropped, and later ones that fit are kept. An Application Load Balancer
/// rewrites an `X-Amzn-Trace-Id` larger than 7 KB to its `Root` alone; Lambda's own header is a tenth
/// of this.
pub const MAX_CARRIED_BYTES: usize = 4096;

/// The longest `Lineage` value carried on (Lambda's is `<8 hex>:<count>` per function in the loop,
/// `|`-separated: a few dozen bytes). It is kept whatever came before it in the header: it does not
/// count against [`MAX_CARRIED_BYTES`], which bounds the other parts.
pub const MAX_LINEAGE_BYTES: usize = 1024;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `bytes` as lowercase hex into `out` (twice as long). A table lookup, not `fmt`: these ids
/// are written for every span exported.
fn hex_into(out: &mut [u8], bytes: &[u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
}

/// Formats an OpenTelemetry trace id the X-Ray way.
///
/// ```
/// let id = opentelemetry::TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap();
/// assert_eq!(telemetry::xray::xray_trace_id(id), "1-5759e988-bd862e3fe1be46a994272793");
/// ```
#[must_use]
pub fn xray_trace_id(id: TraceId) -> String {
    ascii_string(&xray_trace_id_ascii(id))
}

/// `ascii` (hex digits and dashes: always UTF-8, so never empty for a non-empty input) as a
/// `String`, copied whole rather than pushed a `char` at a time.
fn ascii_string(ascii: &[u8]) -> String {
    std::str::from_utf8(ascii).map(str::to_owned).unwrap_or_default()
}

/// [`xray_trace_id`] as ASCII bytes, for writers that append it to a buffer.
pub(crate) fn xray_trace_id_ascii(id: TraceId) -> [u8; 35] {
    let b = id.to_bytes();
    let mut out = [0u8; 35];
    out[..2].copy_from_slice(b"1-");
    hex_into(&mut out[2..10], &b[..4]);
    out[10] = b'-';
    hex_into(&mut out[11..], &b[4..]);
    out
}

/// A span id as 16 lowercase hex digits (X-Ray's `id` and `parent_id`).
#[must_use]
pub(crate) fn span_id_hex(id: SpanId) -> String {
    ascii_string(&span_id_ascii(id))
}

/// [`span_id_hex`] as ASCII bytes.
pub(crate) fn span_id_ascii(id: SpanId) -> [u8; 16] {
    let mut out = [0u8; 16];
    hex_into(&mut out, &id.to_bytes());
    out
}

fn parse_root(v: &str) -> Result<TraceId, HeaderError> {
    // `1-{8 hex}-{24 hex}`: read in place, byte by byte (the header is parsed for every invocation,
    // more than once).
    let b = v.as_bytes();
    let mut bytes = [0u8; 16];
    let ok = b.len() == 35
        && b[0] == b'1'
        && b[1] == b'-'
        && b[10] == b'-'
        && hex_decode(&b[2..10], &mut bytes[..4])
        && hex_decode(&b[11..], &mut bytes[4..]);
    let id = TraceId::from_bytes(bytes);
    if ok && id != TraceId::INVALID {
        Ok(id)
    } else {
        Err(HeaderError::InvalidRoot(v.to_owned()))
    }
}

fn parse_span_id(v: &str) -> Option<SpanId> {
    let mut bytes = [0u8; 8];
    (v.len() == 16 && hex_decode(v.as_bytes(), &mut bytes))
        .then(|| SpanId::from_bytes(bytes))
        .filter(|id| *id != SpanId::INVALID)
}

/// `s.trim()`: ASCII whitespace (with the vertical tab, which `u8::is_ascii_whitespace` leaves out)
/// trimmed by byte; the Unicode-aware trim only when a non-ASCII byte is left at either end (a
/// U+00A0 or U+3000 around a part).
fn trim_blanks(s: &str) -> &str {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let b = s.as_bytes();
    let start = b.iter().position(|c| !blank(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !blank(c)).map_or(start, |i| i + 1);
    // Blanks are ASCII: `start` and `end` are char boundaries.
    let t = &s[start..end];
    if t.as_bytes().first().is_some_and(|c| !c.is_ascii())
        || t.as_bytes().last().is_some_and(|c| !c.is_ascii())
    {
        t.trim()
    } else {
        t
    }
}

/// Each byte's value as a hex digit (either case), or `0xff`: one lookup per digit.
static HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut d = 0u8;
    while d < 16 {
        t[HEX[d as usize] as usize] = d;
        t[HEX[d as usize].to_ascii_uppercase() as usize] = d;
        d += 1;
    }
    t
};

/// Decodes hex digits (either case) into `out`, which is half as long; false on any other byte.
fn hex_decode(hex: &[u8], out: &mut [u8]) -> bool {
    if hex.len() != out.len() * 2 {
        return false;
    }
    let mut bad = 0u8;
    for (pair, o) in hex.chunks_exact(2).zip(out.iter_mut()) {
        let (hi, lo) = (HEX_VALUE[usize::from(pair[0])], HEX_VALUE[usize::from(pair[1])]);
        // A non-digit has the high bit set: collected, tested once at the end.
        bad |= hi | lo;
        *o = hi << 4 | (lo & 0xf);
    }
    bad & 0x80 == 0
}

impl fmt::Display for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root={}", self.xray_trace_id())?;
        if let Some(p) = self.parent {
            write!(f, ";Parent={p:016x}")?;
        }
        match self.sampled {
            Sampled::Yes => f.write_str(";Sampled=1")?,
            Sampled::No => f.write_str(";Sampled=0")?,
            Sampled::Requested => f.write_str(";Sampled=?")?,
            Sampled::Unknown => {}
        }
        self.write_carried(f)
    }
}

impl TraceHeader {
    /// `;Lineage=…` and the other `;key=value` parts, in order: what the header carries on past
    /// `Root`, `Parent` and `Sampled`.
    pub(crate) fn write_carried(&self, f: &mut impl fmt::Write) -> fmt::Result {
        if let Some(l) = &self.lineage {
            write!(f, ";Lineage={l}")?;
        }
        for (k, v) in &self.extra {
            write!(f, ";{k}={v}")?;
        }
        Ok(())
    }
}

/// Printable ASCII without `;` or `=`: what a trace-header key or value may carry into an outgoing header.
fn is_header_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b';' && b != b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The byte trim is `str::trim` on any text, Unicode blanks included.
        #[test]
        fn trim_blanks_is_str_trim(s in "[ \t\n\u{0b}\u{0c}\r\u{a0}\u{85}\u{2028}\u{3000}a=;é]{0,12}|.{0,12}") {
            proptest::prop_assert_eq!(trim_blanks(&s), s.trim());
        }
    }

    proptest::proptest! {
        /// Lambda's shape read at fixed offsets answers what the general parse does, for the shape
        /// itself and for texts one character off it anywhere (blanks, other hex, separators, a
        /// multi-byte character, a different length).
        #[test]
        fn the_lambda_shape_parses_as_any_header(
            root in "[0-9a-f]{8}-[0-9a-fA-F]{24}",
            parent in "[0-9a-fA-F]{16}",
            sampled in "[10?x ]",
            at in 0usize..80,
            with in "[ ;=0-9a-fRSPé\\t]{0,2}",
        ) {
            let header = format!("Root=1-{root};Parent={parent};Sampled={sampled}");
            let cut = header.char_indices().map(|(i, _)| i).rfind(|&i| i <= at).unwrap_or(0);
            let end = header[cut..].chars().next().map_or(cut, |c| cut + c.len_utf8());
            let edited = format!("{}{with}{}", &header[..cut], &header[end..]);
            for h in [header.as_str(), edited.as_str()] {
                proptest::prop_assert_eq!(TraceHeader::parse(h), TraceHeader::parse_parts(h), "{:?}", h);
            }
        }
    }

    #[test]
    fn lambdas_own_header_takes_the_fixed_offsets() {
        let h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(
            TraceHeader::parse_lambda_shape(h),
            Some(TraceHeader::parse_parts(h).unwrap())
        );
        assert_eq!(TraceHeader::parse_lambda_shape(&h.replace("=1", "= 1")), None);
    }

    /// A handed header is taken only for the very text it was handed with, once, and only while the
    /// handing closure runs (or until it unwinds): an equal copy elsewhere in memory, a prefix of the
    /// text, a second taker, or a taker afterwards all parse for themselves.
    #[test]
    fn a_handed_header_is_taken_once_for_its_own_text_only() {
        let text = String::from("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
        let mut other = TraceHeader::parse(&text).unwrap();
        other.sampled = Sampled::No;
        let copy = text.clone();
        handing(&text, Some(other.clone()), || {
            assert_eq!(take_handed(&copy), None, "an equal copy at another address");
            assert_eq!(take_handed(&text[..40]), None, "same address, another length");
            assert_eq!(take_handed(&text), Some(other.clone()));
            assert_eq!(take_handed(&text), None, "taken once");
        });
        handing(&text, Some(other.clone()), || {});
        assert_eq!(take_handed(&text), None, "the handing closure returned");
        let unwound = std::panic::catch_unwind(|| handing(&text, Some(other.clone()), || panic!("in f")));
        assert!(unwound.is_err());
        assert_eq!(take_handed(&text), None, "the handing closure unwound");
        assert_eq!(
            handing(&text, None, || take_handed(&text)),
            None,
            "nothing handed"
        );
    }

    /// A header with Unicode or vertical-tab blanks around its parts parses as it always did.
    #[test]
    fn unicode_and_vertical_tab_blanks_are_trimmed() {
        let h = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793\u{0b};\u{a0}Parent=53995c3f42cd8ad8 ;Sampled=1\u{3000}",
        )
        .unwrap();
        assert!(h.is_sampled());
        assert_eq!(h.xray_trace_id(), "1-5759e988-bd862e3fe1be46a994272793");
    }

    /// Every byte, as the high and as the low digit: decoded as `char::to_digit(16)` reads it, and
    /// refused where that refuses it.
    #[test]
    fn hex_decode_reads_every_byte_as_to_digit_does() {
        let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
        for c in 0..=255u8 {
            for (pair, expect) in [
                ([c, b'7'], digit(c).map(|d| d << 4 | 7)),
                ([b'a', c], digit(c).map(|d| 0xa0 | d)),
            ] {
                let mut out = [0u8; 1];
                let ok = hex_decode(&pair, &mut out);
                assert_eq!(ok.then_some(out[0]), expect, "{pair:?}");
            }
        }
        assert!(!hex_decode(b"abc", &mut [0u8; 1]), "odd length");
    }
    use proptest::prelude::*;

    /// A hostile header of 100,000 extra parts and a 1 MB lineage keeps what fits in
    /// `MAX_CARRIED_BYTES`, the first parts in order; the header it prints for outgoing calls stays
    /// within that and the ids. Lambda's own header with a lineage keeps it all.
    #[test]
    fn what_a_header_carries_on_is_bounded() {
        let root = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let parts: String = (0..100_000).map(|i| format!(";k{i}=v{i}")).collect();
        let h = TraceHeader::parse(&format!("{root};Lineage={}{parts}", "a".repeat(1 << 20))).unwrap();
        assert_eq!(h.lineage, None, "a 1 MB lineage does not fit");
        assert_eq!(h.extra[0], ("k0".to_owned(), "v0".to_owned()));
        let kept: usize = h.extra.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        assert!(
            kept <= MAX_CARRIED_BYTES && kept > MAX_CARRIED_BYTES - 20,
            "{kept}"
        );
        assert!(
            h.extra
                .iter()
                .enumerate()
                .all(|(i, (k, _))| *k == format!("k{i}")),
            "in order"
        );
        assert!(h.to_string().len() <= root.len() + MAX_CARRIED_BYTES);
        // Lineage after 4 KiB of other parts is still carried (Lambda's loop detection needs it).
        let junk = "a".repeat(4_088);
        let late = TraceHeader::parse(&format!("{root};junk={junk};Lineage=a87bd80c:1")).unwrap();
        assert_eq!(late.extra, [("junk".to_owned(), junk)], "the junk fills the room");
        assert_eq!(late.lineage.as_deref(), Some("a87bd80c:1"));
        let lambda = format!("{root};Lineage=a87bd80c:1|68fd508a:5;Self=1-67891233-12456789abcdef012345678");
        let h = TraceHeader::parse(&lambda).unwrap();
        assert_eq!(h.to_string(), lambda);
    }

    /// A hostile event's header: lineage or extra values with control characters never reach an
    /// outgoing header (the SDK's header map would refuse them); the trace itself still joins.
    #[test]
    fn control_characters_in_lineage_and_extra_keys_are_dropped() {
        let h = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a\u{1}b:0;Evil=x\r\nInjected: 1;Self=1-abc",
        )
        .unwrap();
        assert_eq!(h.lineage, None);
        assert_eq!(h.extra, [("Self".to_owned(), "1-abc".to_owned())]);
        let out = h.to_string();
        assert!(out.bytes().all(|b| (0x20..0x7f).contains(&b)), "{out:?}");
        assert_eq!(h.xray_trace_id(), "1-5759e988-bd862e3fe1be46a994272793");
        let ok = TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a87bd80c:1|68fd508a:5")
            .unwrap();
        assert_eq!(ok.lineage.as_deref(), Some("a87bd80c:1|68fd508a:5"));
    }

    /// A part without `=` is not carried on into outgoing headers (it would come out as `Foo=`).
    #[test]
    fn a_part_without_a_value_is_not_carried() {
        let h = TraceHeader::parse(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Foo;Bar=1;Baz=",
        )
        .unwrap();
        let mut carried = String::new();
        h.write_carried(&mut carried).unwrap();
        assert_eq!(carried, ";Bar=1;Baz=");
    }

    #[test]
    fn parses_and_rejects() {
        let h = TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0").unwrap();
        assert_eq!(h.parent, None);
        assert!(!h.is_sampled());
        assert_eq!(
            TraceHeader::parse("Parent=60a7d0c22fb2f001"),
            Err(HeaderError::MissingRoot)
        );
        assert!(matches!(
            TraceHeader::parse("Root=2-5759e988-bd862e3fe1be46a994272793"),
            Err(HeaderError::InvalidRoot(_))
        ));
        assert!(matches!(
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a99427279"),
            Err(HeaderError::InvalidRoot(_))
        ));
        assert!(matches!(
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=zz"),
            Err(HeaderError::InvalidParent(_))
        ));
        let h =
            TraceHeader::parse(" Root=1-5759e988-bd862e3fe1be46a994272793 ; Self=1-abc ;Sampled=?").unwrap();
        assert_eq!(h.sampled, Sampled::Requested);
        assert_eq!(h.extra, vec![("Self".to_owned(), "1-abc".to_owned())]);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = TraceHeader::parse(&s);
        }

        #[test]
        fn round_trips(root in any::<u128>().prop_filter("non-zero", |r| *r != 0), parent in any::<u64>().prop_filter("nz", |p| *p != 0),
                       sampled in prop_oneof![Just("1"), Just("0"), Just("?")], lineage in proptest::option::of("[0-9a-f]{8}:[0-9]")) {
            let root = TraceId::from_bytes(root.to_be_bytes());
            let mut text = format!("Root={};Parent={parent:016x};Sampled={sampled}", xray_trace_id(root));
            if let Some(l) = &lineage {
                text.push_str(&format!(";Lineage={l}"));
            }
            let h = TraceHeader::parse(&text).unwrap();
            prop_assert_eq!(h.root, root);
            prop_assert_eq!(h.lineage.clone(), lineage);
            prop_assert_eq!(h.to_string(), text);
        }
    }
}
