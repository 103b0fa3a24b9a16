//! Text from AWS made safe to print on a terminal.
//!
//! Alarm names, state reasons (anyone allowed `cloudwatch:SetAlarmState` chooses one), alarm
//! descriptions, budget and Cost Explorer service names reach `collectiq-ops`'s terminal output. An
//! escape sequence in them (`ESC [2K` erases a line, `ESC ] 52` writes the clipboard, `ESC ] 8` hides a
//! link) must print as characters, not act on the operator's terminal.

/// `s` with every control character except `\n` replaced by `�` (U+FFFD), so a renderer's own line
/// structure stays and nothing in `s` can move the cursor, erase, retitle or write the clipboard.
///
/// ```
/// use vocabulary::text::terminal_safe;
/// assert_eq!(terminal_safe("0 firing\x1b[2K\rall clear\n"), "0 firing�[2K�all clear\n");
/// assert_eq!(terminal_safe("ok — 100 %"), "ok — 100 %");
/// ```
#[must_use]
pub fn terminal_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn c0_c1_and_del_are_replaced_newlines_stay() {
        let hostile = "a\x1b]52;c;aGk=\x07b\u{9b}31mc\x7fd\te\r\nf";
        let safe = terminal_safe(hostile);
        assert_eq!(safe, "a�]52;c;aGk=�b�31mc�d�e�\nf");
        assert!(!safe.chars().any(|c| c.is_control() && c != '\n'));
    }
}
