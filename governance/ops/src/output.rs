//! Where `collectiq-ops` writes: one human or `--json` document on stdout ([`emit`], [`write_stdout`]),
//! progress lines on stderr ([`progress`]), files under `out/` ([`write_json`], [`write_file`]).
//!
//! A reader that stops early (`collectiq-ops spec check | head -1`) closes the pipe: that is not an
//! error of the command, so the rest of the document is dropped quietly and the process exits with the
//! command's own code. Nothing here panics on a closed stdout or stderr (`println!` and `eprintln!`
//! would).

use std::io::{ErrorKind, Write};
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
    if global.json {
        let mut document = serde_json::to_string_pretty(value)?;
        document.push('\n');
        write_stdout(document.as_bytes())?;
        let mut err = std::io::stderr().lock();
        for line in failure_lines(text) {
            let _ = writeln!(err, "{}", vocabulary::text::terminal_safe(line));
        }
    } else {
        // Text quotes names and values from specs and AWS: escape sequences are shown, not run.
        let document = format!("{}\n", vocabulary::text::terminal_safe(text));
        write_stdout(document.as_bytes())?;
    }
    Ok(())
}

/// Writes `bytes` to stdout. A closed pipe (the reader stopped early, `| head`) drops the rest quietly:
/// the command did its job, and its exit code says how it went.
///
/// # Errors
/// When stdout cannot be written for another reason (a full disk).
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        written => written.context("cannot write to stdout"),
    }
}

/// For a command ending in error after printing its report (exit 1: an item that failed to publish, a
/// failed post): its failure lines (`✗ …`) on stderr too, so stderr says what failed, as the exit code
/// table promises. In JSON mode [`emit`] already put them there; with both streams on a terminal the
/// reader has just seen them on stdout.
pub fn failures_to_stderr(global: &GlobalArgs, text: &str) {
    use std::io::IsTerminal as _;
    if global.json || (std::io::stdout().is_terminal() && std::io::stderr().is_terminal()) {
        return;
    }
    let _ = write_failures(&mut std::io::stderr().lock(), text);
}

/// [`failures_to_stderr`]'s lines, into `w`.
fn write_failures(w: &mut impl Write, text: &str) -> std::io::Result<()> {
    for line in failure_lines(text) {
        writeln!(w, "{}", vocabulary::text::terminal_safe(line.trim_start()))?;
    }
    Ok(())
}

/// An `error: message` line on stderr; a closed stderr loses it, never panics.
pub fn error_line(message: &str) {
    let mut err = std::io::stderr().lock();
    // Messages quote values from specs and AWS: escape sequences in them are shown, not run.
    let _ = writeln!(err, "error: {}", vocabulary::text::terminal_safe(message));
}

/// Writes `value` as pretty JSON to `dir/name` (creating `dir`); returns the path.
///
/// # Errors
/// When the directory or file cannot be written.
pub fn write_json<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<PathBuf> {
    let path = dir.join(name);
    let text = serde_json::to_string_pretty(value)?;
    write_file(&path, text.as_bytes())?;
    Ok(path)
}

/// Writes `bytes` to `path` (creating its folder) through a temporary file in the same folder renamed
/// over it: a write that fails (a full disk) leaves the old file whole, where `std::fs::write` would
/// have truncated it first. An existing file keeps its permissions.
///
/// # Errors
/// When the folder cannot be created or the file cannot be written or renamed; the message names the
/// path.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    match std::fs::metadata(path) {
        Ok(old) if old.is_dir() => anyhow::bail!("cannot write {}: it is a directory", path.display()),
        // The rename would replace a file its owner made read-only, which a plain write would not.
        Ok(old) if old.permissions().readonly() => {
            anyhow::bail!("cannot write {}: it is read-only", path.display())
        }
        _ => {}
    }
    let name = path
        .file_name()
        .with_context(|| format!("cannot write {}: it names no file", path.display()))?;
    let (temp, mut file) = (0..100)
        .find_map(|n| {
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{}.{n}.tmp", std::process::id()));
            let temp = dir.join(temp_name);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
            {
                Err(e) if e.kind() == ErrorKind::AlreadyExists => None,
                opened => Some(opened.map(|file| (temp, file))),
            }
        })
        .unwrap_or_else(|| Err(ErrorKind::AlreadyExists.into()))
        .with_context(|| {
            format!(
                "cannot write {}: no temporary file in {}",
                path.display(),
                dir.display()
            )
        })?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| match std::fs::metadata(path) {
            Ok(old) => file.set_permissions(old.permissions()),
            Err(_) => Ok(()),
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// Refuses, before any work, file targets that could not be written after it: one that is a directory
/// or a read-only file ([`write_file`] refuses to replace it), or under a path whose nearest existing
/// part is not a directory (`--out` naming a regular file). A folder that does not exist yet is fine: it
/// is created when the file is written.
///
/// # Errors
/// The first such target, named with what is in the way.
pub fn check_file_targets<'a>(targets: impl IntoIterator<Item = &'a Path>) -> Result<()> {
    for path in targets {
        if path.is_dir() {
            anyhow::bail!("cannot write {}: it is a directory", path.display());
        }
        if std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly()) {
            anyhow::bail!("cannot write {}: it is read-only", path.display());
        }
        let existing = path
            .ancestors()
            .skip(1)
            .map(|a| {
                if a.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    a
                }
            })
            .find(|a| std::fs::symlink_metadata(a).is_ok());
        if let Some(dir) = existing.filter(|a| !a.is_dir()) {
            anyhow::bail!(
                "cannot write {}: {} is not a directory",
                path.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// The failure lines (`✗ …`, also indented) of a command's text.
fn failure_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| l.trim_start().starts_with('✗'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variables file, a report: replaced whole through a renamed temporary file, which is gone
    /// afterwards; the old file's permissions are kept; a folder in the way is named, the old file kept.
    #[test]
    fn write_file_replaces_the_file_whole_and_leaves_nothing_behind() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/platform.auto.tfvars.json");
        write_file(&path, b"first").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let left: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["platform.auto.tfvars.json"], "no temporary file left");

        let folder = dir.path().join("sub/a-folder.json");
        std::fs::create_dir(&folder).unwrap();
        let e = format!("{:#}", write_file(&folder, b"x").unwrap_err());
        assert!(e.contains("a-folder.json: it is a directory"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let e = format!("{:#}", write_file(&path, b"third").unwrap_err());
        assert!(e.contains("it is read-only"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
    }

    /// `--out afile`, `--chart afile/x.svg`, a target that is a folder: refused before any work,
    /// naming what is in the way; a folder still to be made is fine.
    #[test]
    fn file_targets_are_checked_before_the_work() {
        let dir = tempfile::tempdir().unwrap();
        let afile = dir.path().join("afile");
        std::fs::write(&afile, "not a folder").unwrap();
        let under_file = afile.join("x.svg");
        let e = check_file_targets([under_file.as_path()])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "cannot write {}: {} is not a directory",
                under_file.display(),
                afile.display()
            )
        );
        let deeper = afile.join("a/b/cost-report.json");
        assert!(check_file_targets([deeper.as_path()]).is_err());
        let e = check_file_targets([dir.path()]).unwrap_err().to_string();
        assert!(e.ends_with("it is a directory"), "{e}");
        let new = dir.path().join("not/yet/made.json");
        check_file_targets([new.as_path(), afile.as_path(), Path::new("relative.json")]).unwrap();
    }

    #[test]
    fn failures_written_for_stderr_are_the_crossed_lines_made_safe() {
        let mut out = Vec::new();
        write_failures(
            &mut out,
            "Applied 3.\n  ✗ a (create): PutMetricAlarm: AccessDenied\n✗ b\u{1b}[31m (delete): x\nDone.",
        )
        .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.starts_with("✗ a (create): PutMetricAlarm: AccessDenied\n"),
            "{out}"
        );
        assert!(
            !out.contains('\u{1b}'),
            "escape sequences are shown, not run: {out}"
        );
    }

    #[test]
    fn failure_lines_are_the_crossed_ones() {
        let text = "Posted 3 alarms.\n✗ Slack: 403 invalid_token\n  ✗ escalation of a: AccessDenied\nDone.";
        assert_eq!(
            failure_lines(text).collect::<Vec<_>>(),
            ["✗ Slack: 403 invalid_token", "  ✗ escalation of a: AccessDenied"]
        );
    }
}
