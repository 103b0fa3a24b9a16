//! Text from AWS made safe to print on a terminal.
//!
//! Alarm names, state reasons (anyone allowed `cloudwatch:SetAlarmState` chooses one), alarm
//! descriptions, budget and Cost Explorer service names reach `collectiq-ops`'s terminal output. An
//! escape sequence in them (`ESC [2K` erases a line, `ESC ] 52` writes the clipboard, `ESC ] 8` hides a
//! link) must print as characters, not act on the operator's terminal. Bidirectional format characters
//! (U+202E shows `gnp.exe` as `exe.png`) and the Unicode line and paragraph separators would make a line
//! read differently from what it holds, so they are replaced too.

/// `s` with every control character except `\n`, every bidirectional format character and the line and
/// paragraph separators ([`is_deceptive`]) replaced by `�` (U+FFFD), so a renderer's own line structure
/// stays, nothing in `s` can move the cursor, erase, retitle or write the clipboard, and no text reads in
/// another order than it is stored.
///
/// ```
/// use vocabulary::text::terminal_safe;
/// assert_eq!(terminal_safe("0 firing\x1b[2K\rall clear\n"), "0 firing�[2K�all clear\n");
/// assert_eq!(terminal_safe("ok — 100 %"), "ok — 100 %");
/// assert_eq!(terminal_safe("invoice\u{202E}fdp.exe"), "invoice�fdp.exe");
/// ```
#[must_use]
pub fn terminal_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c != '\n' && is_deceptive(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Whether `c` changes how the text around it is shown rather than showing as itself: a control
/// character (C0, DEL, C1), a bidirectional format character (the embeddings and overrides U+202A–U+202E,
/// the isolates U+2066–U+2069, the marks U+200E, U+200F and U+061C) or the line and paragraph separators
/// U+2028 and U+2029 (which some renderers break lines at).
///
/// ```
/// use vocabulary::text::is_deceptive;
/// assert!(is_deceptive('\x1b') && is_deceptive('\n') && is_deceptive('\u{202E}') && is_deceptive('\u{2028}'));
/// assert!(!is_deceptive('é') && !is_deceptive('—') && !is_deceptive(' '));
/// ```
#[must_use]
pub fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{2028}' | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::{is_deceptive, terminal_safe};

    #[test]
    fn c0_c1_and_del_are_replaced_newlines_stay() {
        let hostile = "a\x1b]52;c;aGk=\x07b\u{9b}31mc\x7fd\te\r\nf";
        let safe = terminal_safe(hostile);
        assert_eq!(safe, "a�]52;c;aGk=�b�31mc�d�e�\nf");
        assert!(!safe.chars().any(|c| c.is_control() && c != '\n'));
    }

    /// A right-to-left override in a budget or alarm name made `collectiq-ops` print a line that read
    /// in another order than it held; the separators broke a line where some terminals and pagers do.
    #[test]
    fn bidi_format_characters_and_separators_are_replaced() {
        let hostile = "a\u{202A}b\u{202B}c\u{202C}d\u{202D}e\u{202E}f\u{2066}g\u{2067}h\u{2068}i\u{2069}j\u{200E}k\u{200F}l\u{061C}m\u{2028}n\u{2029}o";
        assert_eq!(terminal_safe(hostile), "a�b�c�d�e�f�g�h�i�j�k�l�m�n�o");
        // Right-to-left text itself is not deceptive: only the invisible characters that reorder it.
        assert_eq!(terminal_safe("שלום — مرحبا"), "שלום — مرحبا");
        assert!(!"שלום مرحبا ZWJ\u{200D}".chars().any(is_deceptive));
    }
}
