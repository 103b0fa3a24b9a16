//! Where `collectiq-ops` writes: one human or `--json` document on stdout ([`emit`]), progress lines on
//! stderr ([`progress`]), files under `out/` ([`write_json`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::global::GlobalArgs;

/// A `› message` line on stderr (stdout stays the document).
pub fn progress(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "› {message}");
}

/// Prints `value` as pretty JSON with `--json`, else `text`. With `--json`, the text's failure lines
/// (`✗ …`) also go to stderr: a step after the document was built (a Slack post, an escalation, a
/// read that failed) says why there, and stdout stays one JSON document.
///
/// # Errors
/// When stdout cannot be written.
pub fn emit<T: Serialize>(global: &GlobalArgs, value: &T, text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if global.json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
        let mut err = std::io::stderr().lock();
        for line in failure_lines(text) {
            let _ = writeln!(err, "{}", vocabulary::text::terminal_safe(line));
        }
    } else {
        // Text quotes names and values from specs and AWS: escape sequences are shown, not run.
        writeln!(out, "{}", vocabulary::text::terminal_safe(text))?;
    }
    Ok(())
}

/// Writes `value` as pretty JSON to `dir/name` (creating `dir`); returns the path.
///
/// # Errors
/// When the directory or file cannot be written.
pub fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// The failure lines (`✗ …`, also indented) of a command's text.
fn failure_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| l.trim_start().starts_with('✗'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_lines_are_the_crossed_ones() {
        let text = "Posted 3 alarms.\n✗ Slack: 403 invalid_token\n  ✗ escalation of a: AccessDenied\nDone.";
        assert_eq!(
            failure_lines(text).collect::<Vec<_>>(),
            ["✗ Slack: 403 invalid_token", "  ✗ escalation of a: AccessDenied"]
        );
    }
}
