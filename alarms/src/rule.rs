//! The text of a composite alarm's `AlarmRule`: its limits and the scanner that finds the alarms a
//! rule references. [`crate::composite`] builds rules and [`crate::validate`] checks them; both read
//! this module, which reads neither (so the two do not import each other).
//!
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html>

use std::collections::BTreeSet;

/// Longest `AlarmRule`.
pub const MAX_RULE_CHARS: usize = 10_240;
/// Most distinct alarms one composite may reference.
pub const MAX_CHILDREN: usize = 100;
/// Most elements of a rule: "The AlarmRule expression can have as many as 500 elements", each a state
/// function (`ALARM(…)`, `OK(…)`, `INSUFFICIENT_DATA(…)`) or `TRUE`/`FALSE`.
pub const MAX_RULE_ELEMENTS: usize = 500;

/// The alarms a rule *string* references (as published; names or ARNs, quotes removed).
///
/// ```
/// let c = alarms::rule::rule_children(r#"ALARM("a b") OR (OK(c) AND NOT INSUFFICIENT_DATA('d'))"#);
/// assert_eq!(c.into_iter().collect::<Vec<_>>(), ["a b", "c", "d"]);
/// ```
#[must_use]
pub fn rule_children(rule: &str) -> BTreeSet<String> {
    rule_references(rule).into_iter().collect()
}

/// The elements of a rule ([`MAX_RULE_ELEMENTS`]): each state function, however often it names the same
/// alarm, and each `TRUE` or `FALSE` outside quotes.
///
/// ```
/// let n = alarms::rule::rule_elements(r#"ALARM(a) OR OK(a) OR (TRUE AND NOT ALARM("TRUE b"))"#);
/// assert_eq!(n, 4);
/// ```
#[must_use]
pub fn rule_elements(rule: &str) -> usize {
    let mut literals = 0;
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in rule.chars().chain(std::iter::once(' ')) {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, c) if c.is_ascii_alphanumeric() || c == '_' => word.push(c),
            (None, c) => {
                literals += usize::from(matches!(word.as_str(), "TRUE" | "FALSE"));
                word.clear();
                if matches!(c, '"' | '\'') {
                    quote = Some(c);
                }
            }
        }
    }
    rule_references(rule).len() + literals
}

/// Every alarm reference of a rule, in order, repeats included.
fn rule_references(rule: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = rule;
    loop {
        let next = ["ALARM(", "OK(", "INSUFFICIENT_DATA("]
            .iter()
            .filter_map(|k| {
                let mut from = 0;
                // Only a keyword not preceded by an identifier character (so `NOT OK(` matches, `XOK(` does not).
                while let Some(i) = rest[from..].find(k) {
                    let at = from + i;
                    let prev = rest[..at].chars().next_back();
                    if prev.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
                        return Some((at, k.len()));
                    }
                    from = at + k.len();
                }
                None
            })
            .min();
        let Some((at, len)) = next else { break };
        let after = &rest[at + len..];
        let Some(close) = find_close(after) else { break };
        let arg = after[..close].trim();
        let arg = arg
            .strip_prefix('"')
            .and_then(|a| a.strip_suffix('"'))
            .unwrap_or(arg);
        let arg = arg
            .strip_prefix('\'')
            .and_then(|a| a.strip_suffix('\''))
            .unwrap_or(arg);
        out.push(arg.replace("\\\"", "\""));
        rest = &after[close + 1..];
    }
    out
}

/// Index of the `)` closing an argument, skipping quoted text.
fn find_close(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, ')') => return Some(i),
            (None, _) => {}
        }
    }
    None
}

/// The alarm name in a rule reference (an ARN's last `:alarm:` part, or the name itself).
#[must_use]
pub fn reference_name(reference: &str) -> &str {
    reference.rsplit_once(":alarm:").map_or(reference, |(_, n)| n)
}
