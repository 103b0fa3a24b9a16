//! Spec text in error messages, and the text a spec may hold.
//!
//! A spec's strings reach `collectiq-ops spec check`'s output (one `✗ file:line: key: message` line per
//! problem, on a terminal or in `--json`), and from there dashboards, alarms, tfvars and Slack/SNS text.
//! Quoted in a message, a value is escaped as Rust's `Debug` escapes it (a newline is `\n`, U+202E is
//! `\u{202e}`), so it can neither start a forged `✗` line nor reorder the line it is on, and cut to
//! [`MAX_QUOTED_CHARS`] characters, so a 900 KB name is not echoed whole. And no string of a spec may hold
//! a control character or a bidirectional format character ([`vocabulary::text::is_deceptive`]): none of
//! the AWS names, dimension values, tags, e-mail addresses or labels it feeds has a use for one.

use std::fmt::Write as _;

use vocabulary::text::is_deceptive;

/// The most characters of one spec value an error message quotes.
pub(crate) const MAX_QUOTED_CHARS: usize = 120;

/// `s` in double quotes, escaped, and cut to [`MAX_QUOTED_CHARS`] characters with its length after
/// (`"xxx…"… (900000 characters)`).
pub(crate) fn quoted(s: &str) -> String {
    delimited(s, '"')
}

/// `s` in backticks (a key, as serde's messages spell keys), escaped and cut as [`quoted`].
pub(crate) fn ticked(s: &str) -> String {
    delimited(s, '`')
}

fn delimited(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_QUOTED_CHARS) + 2);
    out.push(quote);
    for c in s.chars().take(MAX_QUOTED_CHARS) {
        push_escaped(&mut out, c, quote);
    }
    out.push(quote);
    let count = s.chars().count();
    if count > MAX_QUOTED_CHARS {
        let _ = write!(out, "… ({count} characters)");
    }
    out
}

/// Pushes `c` as `Debug` would inside a string quoted with `quote`: itself when printable, else its
/// escape (`\n`, `\u{202e}`).
fn push_escaped(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
    } else if matches!(c, '\'' | '"' | '`') {
        out.push(c);
    } else if is_deceptive(c) || c.escape_debug().len() > 1 {
        out.extend(c.escape_debug());
    } else {
        out.push(c);
    }
}

/// `text` with every control and bidirectional format character escaped: the last guard on a message or
/// key path before it is printed (text quoted with [`quoted`] has none left).
pub(crate) fn escape_deceptive(text: &str) -> String {
    if !text.chars().any(is_deceptive) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    text.chars().for_each(|c| push_plain(&mut out, c));
    out
}

/// A key path with spec-supplied keys in it (`functions[1].<unknown key>`), escaped and with each part
/// cut to [`MAX_QUOTED_CHARS`] characters.
pub(crate) fn bounded_path(path: &str) -> String {
    path.split('.')
        .map(|part| {
            let count = part.chars().count();
            let kept: String = part.chars().take(MAX_QUOTED_CHARS).collect();
            let kept = escape_deceptive(&kept);
            if count > MAX_QUOTED_CHARS {
                format!("{kept}…")
            } else {
                kept
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A serde or TOML parser message with the spec text it quotes (`` unknown field `…` ``, `invalid type:
/// string "…"`) escaped and cut as [`quoted`] does; the rest escaped as [`escape_deceptive`].
pub(crate) fn bounded_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        if c != '`' && c != '"' {
            push_plain(&mut out, c);
            continue;
        }
        // A quoted run: backticks hold raw text, double quotes `Debug`-escaped text (keep its escapes).
        let mut run = String::new();
        let mut closed = false;
        while let Some(d) = chars.next() {
            if c == '"' && d == '\\' {
                if let Some(e) = chars.next() {
                    run.push(d);
                    run.push(e);
                }
                continue;
            }
            if d == c {
                closed = true;
                break;
            }
            run.push(d);
        }
        if !closed {
            out.push(c);
            run.chars().for_each(|d| push_plain(&mut out, d));
        } else if c == '`' {
            out.push_str(&ticked(&run));
        } else {
            out.push('"');
            run.chars()
                .take(MAX_QUOTED_CHARS)
                .for_each(|d| push_plain(&mut out, d));
            out.push('"');
            let count = run.chars().count();
            if count > MAX_QUOTED_CHARS {
                let _ = write!(out, "… ({count} characters)");
            }
        }
    }
    out
}

fn push_plain(out: &mut String, c: char) {
    if is_deceptive(c) {
        out.extend(c.escape_debug());
    } else {
        out.push(c);
    }
}

/// Every string value and key of the spec holding a control or bidirectional format character, as
/// `(key path, message)` in document order. The key path is spelled as serde spells it
/// (`budgets[0].name`, `notifications.email[1]`) so that [`crate::load::locate`] finds its line. The
/// values at `never_quoted` are not quoted (a secret's place, where a pasted secret must not reach the
/// output).
pub(crate) fn text_problems(source: &str, never_quoted: &[&str]) -> Vec<(String, String)> {
    let mut walk = Walk {
        never_quoted,
        out: Vec::new(),
    };
    if let Ok(doc) = toml_edit::Document::parse(source) {
        walk.item(doc.as_item(), "");
    }
    walk.out
}

struct Walk<'a> {
    never_quoted: &'a [&'a str],
    out: Vec<(String, String)>,
}

fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Walk<'_> {
    fn text(&mut self, s: &str, what: &str, path: &str) {
        if let Some(problem) = deceptive_problem(s, what, !self.never_quoted.contains(&path)) {
            self.out.push((path.to_owned(), problem));
        }
    }

    fn table<'t>(&mut self, entries: impl Iterator<Item = (&'t str, &'t toml_edit::Item)>, path: &str) {
        for (key, item) in entries {
            let at = key_path(path, key);
            self.text(key, "a key", &at);
            self.item(item, &at);
        }
    }

    fn item(&mut self, item: &toml_edit::Item, path: &str) {
        match item {
            toml_edit::Item::None => {}
            toml_edit::Item::Value(v) => self.value(v, path),
            toml_edit::Item::Table(t) => self.table(t.iter(), path),
            toml_edit::Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    self.table(t.iter(), &format!("{path}[{i}]"));
                }
            }
        }
    }

    fn value(&mut self, value: &toml_edit::Value, path: &str) {
        match value {
            toml_edit::Value::String(s) => self.text(s.value(), "text", path),
            toml_edit::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    self.value(v, &format!("{path}[{i}]"));
                }
            }
            toml_edit::Value::InlineTable(t) => {
                for (key, v) in t.iter() {
                    let at = key_path(path, key);
                    self.text(key, "a key", &at);
                    self.value(v, &at);
                }
            }
            _ => {}
        }
    }
}

/// Why `s` cannot be spec text: the first control or bidirectional format character in it, named by
/// code point and position (and `s`, quoted, when `quote`).
pub(crate) fn deceptive_problem(s: &str, what: &str, quote: bool) -> Option<String> {
    let (i, c) = s.chars().enumerate().find(|(_, c)| is_deceptive(*c))?;
    let mut message = format!(
        "expected {what} without control characters or bidirectional format characters, found U+{:04X} at \
         character {}",
        u32::from(c),
        i + 1,
    );
    if quote {
        let _ = write!(message, " of {}", quoted(s));
    }
    Some(message)
}

/// Why `path` cannot be an HTTP API route's path, if it cannot: API Gateway's route key is the method, a
/// space and the path, and the path is `/` or `/`-separated segments, each literal text or a path
/// variable in braces (`{id}`, or `{proxy+}` greedy, last only). The route key is also the `Route`
/// dimension value of the dashboards and alarms, which CloudWatch takes as ASCII without control
/// characters, so a path is printable ASCII: no space (it ends the method), `?` or `#` (a query or
/// fragment is not part of a route).
pub(crate) fn route_path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!(
            "expected a path starting with '/', found {}",
            quoted(path)
        ));
    }
    let rule = "a route path: '/'-separated segments of printable ASCII without spaces, '?' or '#', a \
                segment in braces a path variable ({id}, or {proxy+} last)";
    if let Some((i, c)) = path
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_graphic() || matches!(c, '?' | '#'))
    {
        return Some(format!(
            "expected {rule}, found U+{:04X} at character {} of {}",
            u32::from(c),
            i + 1,
            quoted(path)
        ));
    }
    if path == "/" {
        return None;
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (n, segment) in segments.iter().enumerate() {
        let why = if segment.is_empty() {
            Some("an empty segment ('//' or a trailing '/')".to_owned())
        } else if segment.contains(['{', '}']) {
            let name = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            let (name, greedy) = match name {
                Some(n) => n.strip_suffix('+').map_or((n, false), |n| (n, true)),
                None => ("", false),
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
            {
                Some(format!(
                    "segment \"{segment}\": a path variable is a whole segment, {{name}} or {{name+}}"
                ))
            } else if greedy && n + 1 != segments.len() {
                Some(format!(
                    "greedy path variable \"{segment}\" before the last segment"
                ))
            } else {
                None
            }
        } else {
            None
        };
        if let Some(why) = why {
            return Some(format!("expected {rule}, found {why} in {}", quoted(path)));
        }
    }
    None
}

/// The longest `notifications.runbook_base_url`: an alarm description's 1,024 characters hold the
/// longest generated text (≈ 520) and the runbook's file name beside it.
pub(crate) const MAX_RUNBOOK_BASE_URL: usize = 400;

/// Why `url` cannot be the base of the runbook links alarm descriptions carry, if it cannot: an
/// `https://` URL with a host, of printable ASCII without spaces, quotes or angle brackets (it reaches
/// SNS e-mail, Slack and pagers as text), at most [`MAX_RUNBOOK_BASE_URL`] characters.
pub(crate) fn runbook_base_url_problem(url: &str) -> Option<String> {
    let host = url
        .strip_prefix("https://")
        .map(|rest| rest.split('/').next().unwrap_or(""));
    let ok = url.len() <= MAX_RUNBOOK_BASE_URL
        && host.is_some_and(|h| !h.is_empty())
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"'<>`|\\".contains(&b))
        && !url.contains(['?', '#']);
    (!ok).then(|| {
        format!(
            "expected an https:// URL with a host, at most {MAX_RUNBOOK_BASE_URL} characters of printable \
             ASCII without spaces, quotes, '<', '>', '|', a query or a fragment, found {}",
            quoted(url)
        )
    })
}

/// Why `address` cannot be an e-mail address SNS subscribes (`Protocol = email`), if it cannot: a
/// plausible addr-spec — one `@`, a local part of at most 64 printable ASCII characters other than the
/// ones that need quoting (`"(),:;<>[\]`), a domain of at most 253 characters in two or more labels of
/// letters, digits and `-` (an internationalised domain in its `xn--` form), 254 in all.
pub(crate) fn email_problem(address: &str) -> Option<String> {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let ok = address.len() <= 254
        && address.split_once('@').is_some_and(|(local, domain)| {
            (1..=64).contains(&local.len())
                && local
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"\"(),:;<>[\\]@".contains(&b))
                && domain.len() <= 253
                && domain.split('.').count() >= 2
                && domain.split('.').all(label_ok)
        });
    (!ok).then(|| {
        format!(
            "expected an e-mail address like ops@example.com (one '@', no spaces or control characters, a \
             domain of '.'-separated labels of A-Z a-z 0-9 -), found {}",
            quoted(address)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_escapes_and_bounds() {
        assert_eq!(quoted("demo-dev-a"), "\"demo-dev-a\"");
        assert_eq!(
            quoted("x\n✗ other.toml:1: FORGED"),
            "\"x\\n✗ other.toml:1: FORGED\""
        );
        assert_eq!(
            quoted("a\u{202e}b\u{2066}c\x1b"),
            "\"a\\u{202e}b\\u{2066}c\\u{1b}\""
        );
        assert_eq!(quoted("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
        let long = quoted(&"n".repeat(900_000));
        assert_eq!(
            long,
            format!("\"{}\"… (900000 characters)", "n".repeat(MAX_QUOTED_CHARS))
        );
        assert_eq!(ticked("memroy"), "`memroy`");
    }

    #[test]
    fn serde_messages_are_escaped_and_bounded() {
        let key = format!("x\n✗ FORGED\u{202e}{}", "k".repeat(1000));
        let message = bounded_message(&format!("unknown field `{key}`, expected one of `name`, `id`"));
        assert!(
            !message.contains('\n') && !message.contains('\u{202e}'),
            "{message}"
        );
        assert!(
            message.starts_with("unknown field `x\\n✗ FORGED\\u{202e}kkk"),
            "{message}"
        );
        assert!(
            message.ends_with("`… (1011 characters), expected one of `name`, `id`"),
            "{message}"
        );
        assert!(message.len() < 300, "{message}");
        let long = format!("invalid type: string {:?}, expected u32", "s".repeat(5000));
        assert_eq!(
            bounded_message(&long),
            format!(
                "invalid type: string \"{}\"… (5000 characters), expected u32",
                "s".repeat(120)
            )
        );
        assert_eq!(bounded_message("a \"b\\\"c\" d"), "a \"b\\\"c\" d");
        assert_eq!(bounded_path("functions[1].memroy"), "functions[1].memroy");
        assert_eq!(bounded_path("a.b\u{202e}"), "a.b\\u{202e}");
        assert_eq!(bounded_path(&"k".repeat(500)), format!("{}…", "k".repeat(120)));
    }

    #[test]
    fn route_paths_follow_api_gateways_route_keys() {
        for ok in [
            "/",
            "/cards",
            "/cards/{id}",
            "/cards/{id}/revalue",
            "/{proxy+}",
            "/a/{p.b-c_d+}",
            "/v1:x@y~z",
        ] {
            assert_eq!(route_path_problem(ok), None, "{ok}");
        }
        for refused in [
            "cards",
            "/cards\x1b[31m",
            "/cards/\u{202e}di",
            "/cards/é",
            "/cards list",
            "/cards?x=1",
            "/cards#top",
            "/cards//x",
            "/cards/",
            "/cards/{id",
            "/cards/x{id}",
            "/cards/{}",
            "/{proxy+}/x",
            "/{a b}",
        ] {
            let p = route_path_problem(refused);
            assert!(
                p.as_deref().is_some_and(|p| p.starts_with("expected")),
                "{refused:?}: {p:?}"
            );
            assert!(!p.unwrap().chars().any(is_deceptive), "{refused:?}");
        }
    }

    #[test]
    fn emails_are_plausible_addr_specs() {
        for ok in [
            "ops@example.com",
            "devops+alerts@collectiq.com",
            "a.b@x-y.co.uk",
            "o@xn--bcher-kva.de",
        ] {
            assert_eq!(email_problem(ok), None, "{ok}");
        }
        for refused in [
            "ops-at-example",
            "ops@example",
            "@example.com",
            "ops@@example.com",
            "a@b@example.com",
            "ops @example.com",
            "ops@exa mple.com",
            "ops\x1b[31m@example.com",
            "ops@example.com\u{202e}",
            "ops@bücher.de",
            "ops@-example.com",
            "ops@example..com",
            "\"o p\"@example.com",
        ] {
            assert!(email_problem(refused).is_some(), "{refused:?}");
        }
    }
}
