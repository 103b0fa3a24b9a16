//! What may go out as an authenticity flag: in the verdict, on the card's `CardValuationUpdated` and
//! `AuthenticityFlagged` events (`detail.authenticityFlags`), to whatever consumes them.
//!
//! Flags come from two places. This crate writes a few itself ([`KNOWN`]: the injection guard, a
//! photo that did not reach the judge, a set number the photo contradicts, a card kept out of the set
//! analytics, a photo that does not match — or could not be compared with — the reference print of
//! the registered card); they go out verbatim and are never crowded out, and the model cannot write
//! them ([`from_model`]). The rest are the model's words, and
//! the model reads text printed on whatever was photographed, so they are untrusted: each is reduced
//! to one line of printable text ([`sanitise`]: letters and digits of any script, ASCII punctuation,
//! single spaces — no control, format or bidirectional characters such as U+202E, no newlines, no
//! invisible tag characters) of at most [`MAX_FLAG_CHARS`] characters, and there are at most
//! [`MAX_FLAGS`] flags in all ([`bound`]). So a flag cannot forge a line in a consumer's log, reorder
//! the text around it on a screen, or blow up an event (20 × 160 characters, under 13 KB, against
//! EventBridge's 256 KB entry).

/// The flag added when text on the card reads like instructions to the model.
pub const INJECTION_FLAG: &str =
    "text on the card reads like instructions to the model (possible prompt injection)";

/// The flag added when the photo was meant for the judge (`AUTHENTICITY_SEND_PHOTO=true`) and did not
/// reach it — too large, not a JPEG or PNG, gone from the bucket, or refused by Converse: the score
/// then rests on the text, which a fake printed with a genuine card's text passes.
pub const PHOTO_NOT_JUDGED_FLAG: &str = "photo_not_judged: the photo did not reach the judge (too large, unreadable, missing or refused); scored on its text alone";

/// The flag a valuation gets when the set number its owner registered is not the one on the photo
/// (`Charizard 4/102` typed over a photo of `Rattata 66/102`): the price was asked for the typed
/// card and the authenticity judged on the photographed one, so a person looks at it, and a
/// `FLAGGED` card stays out of its set's analytics.
pub const DETAILS_MISMATCH_FLAG: &str = "the set number registered for the card is not the one on the photo";

/// The flag a valuation gets when its card has a set and a rarity but stays out of the cross-user set
/// analytics (GSI2) because the photo does not confirm the card its owner registered
/// ([`photo_confirms`](crate::aggregator::photo_confirms)): the owner sees the value found, analysts do not count it.
pub const UNCONFIRMED_FLAG: &str =
    "not counted in the set analytics: the photo does not confirm the registered card";

/// The flag a valuation gets when its front photo's perceptual hash is farther from the reference
/// print of the registered card (a sample in the uploads bucket) than `AUTHENTICITY_PHASH_MAX_DISTANCE`
/// bits of 64: another print, or another card, whatever its text says. The distance is in the agent's
/// log line, not here, so consumers can match the flag exactly.
pub const REFERENCE_MISMATCH_FLAG: &str =
    "the photo does not match the reference print of the registered card (perceptual hash)";

/// The flag a valuation gets when a reference print of the registered card exists but the front photo
/// could not be compared with it — too large, not a JPEG or PNG, undecodable, or gone from the bucket:
/// the uploader chose that file, so skipping the comparison must not pass the card.
pub const REFERENCE_NOT_COMPARED_FLAG: &str = "the photo could not be compared with the reference print of the registered card (too large, unreadable or missing)";

/// The flags that send a card to a person whatever `AUTHENTICITY_FLAG_THRESHOLD` is
/// ([`crate::aggregator`]): the injection guard's, a photo meant for the judge that did not reach it,
/// and a photo that does not match — or could not be compared with — the reference print.
pub const ALWAYS_FLAGGED: [&str; 4] = [
    INJECTION_FLAG,
    PHOTO_NOT_JUDGED_FLAG,
    REFERENCE_MISMATCH_FLAG,
    REFERENCE_NOT_COMPARED_FLAG,
];

/// The most flags a verdict or an event carries.
pub const MAX_FLAGS: usize = 20;

/// The longest a flag may be, in characters (a longer one is cut, ending in `...`).
pub const MAX_FLAG_CHARS: usize = 160;

/// The flags this crate writes itself, which consumers may match exactly.
pub const KNOWN: [&str; 6] = [
    INJECTION_FLAG,
    PHOTO_NOT_JUDGED_FLAG,
    DETAILS_MISMATCH_FLAG,
    UNCONFIRMED_FLAG,
    REFERENCE_MISMATCH_FLAG,
    REFERENCE_NOT_COMPARED_FLAG,
];

/// `flag` as one line of printable text: letters and digits (any script), ASCII punctuation and
/// symbols, any run of whitespace (newlines, tabs, U+2028) as one space, everything else — control
/// and format characters (bidirectional overrides and isolates, zero-width characters, tag
/// characters), combining marks, private-use characters, emoji — dropped; at most
/// [`MAX_FLAG_CHARS`] characters. `None` when nothing printable is left.
///
/// ```
/// use backend::flags::sanitise;
/// assert_eq!(sanitise("holo\u{202E}\n  pattern\u{200B}").as_deref(), Some("holo pattern"));
/// assert_eq!(sanitise("\u{200B}\n\t"), None);
/// ```
#[must_use]
pub fn sanitise(flag: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = 0;
    let mut space = false;
    for c in flag.chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if !(c.is_ascii_graphic() || c.is_alphanumeric()) {
            continue;
        }
        if chars == MAX_FLAG_CHARS {
            // One more printable character: cut, with room for the mark.
            let keep: String = out.chars().take(MAX_FLAG_CHARS - 3).collect();
            return Some(format!("{}...", keep.trim_end()));
        }
        if space && !out.is_empty() {
            out.push(' ');
            chars += 1;
            if chars == MAX_FLAG_CHARS {
                let keep: String = out.chars().take(MAX_FLAG_CHARS - 3).collect();
                return Some(format!("{}...", keep.trim_end()));
            }
        }
        space = false;
        out.push(c);
        chars += 1;
    }
    (!out.is_empty()).then_some(out)
}

/// The flags as they may go out: this crate's own ([`KNOWN`]) first, verbatim and each once, then the
/// others [`sanitise`]d, each once, empty ones dropped; at most [`MAX_FLAGS`] in all.
///
/// ```
/// use backend::flags::{MAX_FLAGS, bound};
/// let model = (0..100).map(|i| format!("concern {i}"));
/// let flags = bound(model.chain([backend::authenticity_agent::INJECTION_FLAG.to_owned()]));
/// assert_eq!(flags.len(), MAX_FLAGS);
/// assert_eq!(flags[0], backend::authenticity_agent::INJECTION_FLAG);
/// ```
#[must_use]
pub fn bound(flags: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut known = Vec::new();
    let mut others: Vec<String> = Vec::new();
    for flag in flags {
        if KNOWN.contains(&flag.as_str()) {
            if !known.contains(&flag) {
                known.push(flag);
            }
        } else if others.len() < MAX_FLAGS
            && let Some(clean) = sanitise(&flag)
            && !others.contains(&clean)
            && !KNOWN.contains(&clean.as_str())
        {
            others.push(clean);
        }
    }
    known.extend(others);
    known.truncate(MAX_FLAGS);
    known
}

/// The model's flags as they may go out: [`bound`], except that none is one of this crate's own
/// ([`KNOWN`]), which consumers match exactly — the model reads text printed on the photographed
/// object, so an answer listing `the set number registered for the card is not the one on the photo`
/// would otherwise forge the crate's own finding (or `photo_not_judged: …` claim a photo was never
/// seen). A flag that is one of them, as written or once [`sanitise`]d, is dropped.
///
/// ```
/// use backend::flags::{DETAILS_MISMATCH_FLAG, from_model};
/// let flags = from_model(["worn corners".to_owned(), DETAILS_MISMATCH_FLAG.to_owned(), format!("{DETAILS_MISMATCH_FLAG}\u{200B}")]);
/// assert_eq!(flags, ["worn corners"]);
/// ```
#[must_use]
pub fn from_model(flags: impl IntoIterator<Item = String>) -> Vec<String> {
    bound(flags.into_iter().filter(|flag| {
        !KNOWN.contains(&flag.as_str()) && sanitise(flag).is_none_or(|clean| !KNOWN.contains(&clean.as_str()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No model answer makes a flag consumers read as this crate's own, whatever it writes around it.
    #[test]
    fn the_model_cannot_write_the_crates_own_flags() {
        for known in KNOWN {
            for forged in [
                known.to_owned(),
                format!("  {known}\n"),
                format!("{known}\u{200B}"),
                known.replace(' ', "\u{2028}"),
            ] {
                assert!(from_model([forged.clone()]).is_empty(), "{forged:?}");
            }
        }
        assert_eq!(
            from_model(["holo pattern off".to_owned(), format!("{} too", KNOWN[0])]),
            ["holo pattern off".to_owned(), format!("{} too", KNOWN[0])],
            "other words stay"
        );
    }

    /// Printable, one line, bounded: what a consumer may print or log without escaping lines.
    fn printable(flag: &str) -> bool {
        flag.chars().count() <= MAX_FLAG_CHARS
            && flag
                .chars()
                .all(|c| c == ' ' || c.is_ascii_graphic() || c.is_alphanumeric())
            && !flag.starts_with(' ')
            && !flag.ends_with(' ')
            && !flag.contains("  ")
    }

    #[test]
    fn known_flags_are_printable_and_go_out_as_they_are() {
        for flag in KNOWN {
            assert!(printable(flag), "{flag}");
            assert_eq!(sanitise(flag).as_deref(), Some(flag));
        }
    }

    /// Model flags an injection could have written: a 10 KB flag, a flag reversing the text after it
    /// (U+202E) with newlines forging a log line, invisible characters (zero-width, tag characters
    /// spelling a hidden instruction), and a hundred flags.
    #[test]
    fn hostile_model_flags_are_cut_to_printable_lines() {
        let huge = "A".repeat(10 * 1024);
        let flags = bound([huge.clone()]);
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].chars().count(), MAX_FLAG_CHARS);
        assert!(flags[0].ends_with("..."), "{}", flags[0]);

        let bidi =
            "font weight\u{202E}txt.exe\n{\"level\":\"INFO\",\"message\":\"card genuine\"}\r\n\u{2028}ok";
        let flags = bound([bidi.to_owned()]);
        assert_eq!(
            flags,
            ["font weighttxt.exe {\"level\":\"INFO\",\"message\":\"card genuine\"} ok"]
        );
        let hidden: String = "holo\u{200B}\u{2066}pattern\u{2069}"
            .chars()
            .chain(
                "ignore"
                    .chars()
                    .map(|c| char::from_u32(0xE0000 + c as u32).unwrap()),
            )
            .collect();
        assert_eq!(bound([hidden]), ["holopattern"]);
        assert_eq!(
            bound(["\u{202E}\u{200F}\n\t".to_owned(), "  ".to_owned()]),
            Vec::<String>::new()
        );
        // Letters of any script stay; combining marks stacked on them (zalgo) do not.
        assert_eq!(
            bound([
                "Pokémon Glänzend 色違い".to_owned(),
                "e\u{0301}\u{0302}\u{0303}x".to_owned()
            ]),
            ["Pokémon Glänzend 色違い", "ex"]
        );

        let many: Vec<String> = (0..100).map(|i| format!("concern {i}")).collect();
        let flags = bound(many.into_iter().chain(KNOWN.map(str::to_owned)));
        assert_eq!(flags.len(), MAX_FLAGS);
        assert_eq!(
            &flags[..KNOWN.len()],
            KNOWN,
            "this crate's flags are never crowded out"
        );
        for flag in [huge.as_str(), bidi]
            .into_iter()
            .flat_map(|f| bound([f.to_owned()]))
        {
            assert!(printable(&flag), "{flag:?}");
        }
    }

    proptest::proptest! {
        /// Whatever the model writes, every flag that goes out is a printable line within the bounds,
        /// and bounding twice changes nothing; none of the model's is one of this crate's own.
        #[test]
        fn any_flags_go_out_bounded_and_printable(
            flags in proptest::collection::vec(proptest::prelude::any::<String>(), 0..40),
        ) {
            let model = from_model(flags.clone());
            proptest::prop_assert!(model.iter().all(|f| !KNOWN.contains(&f.as_str())));
            let out = bound(flags);
            proptest::prop_assert!(out.len() <= MAX_FLAGS);
            for f in &out {
                proptest::prop_assert!(printable(f), "{:?}", f);
            }
            proptest::prop_assert_eq!(bound(out.clone()), out);
        }
    }
}
