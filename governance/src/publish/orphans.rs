//! Which orphan alarms a `DeleteAlarms` call can take, and in what order. The service refuses to delete
//! an alarm that the rule of a published composite alarm references (`ValidationError: Cannot delete …
//! as there are composite alarm(s) depending on them.`) and then deletes nothing of that call, so one
//! such orphan would keep the other 99 of its batch every run. A composite that stays — made by hand,
//! or one of ours whose update was refused — therefore *holds* the orphans it references: they are
//! left, named with the composites holding them, and the others go.
//!
//! Apply reads the rules after the puts (an updated composite no longer holds what it dropped); the
//! plan reads them before and sets the rules of the composites it puts, so that it shows as held the
//! orphans apply will hold ([`CompositeRefs::held_orphans`]). Orphan composites go first, one a call
//! (the API refuses two), each after the orphan composites that reference it; composites in a cycle
//! hold each other ("you can't delete any composite alarm that is part of the cycle").
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DeleteAlarms.html>

use std::collections::{BTreeMap, BTreeSet};

use alarms::Alarm;
use alarms::rule::{reference_name, rule_children};
use serde::Serialize;

use super::cloudwatch::PublishedAlarm;

/// An orphan left because composite alarms that stay reference it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldOrphan {
    /// The orphan.
    pub name: String,
    /// The composite alarms whose rule references it (by name or ARN), sorted.
    pub held_by: Vec<String>,
}

/// The published composite alarms, each with the names of the alarms its rule references (an ARN
/// reduced to its name: an alarm of that name elsewhere is held too, which only leaves an orphan for a
/// later run).
///
/// ```
/// use governance::publish::orphans::CompositeRefs;
/// let refs = CompositeRefs::from_rules([
///     ("oncall", r#"ALARM("app-old-critical") OR NOT OK(arn:aws:cloudwatch:us-east-1:1:alarm:app-x)"#),
/// ]);
/// assert_eq!(refs.referrers("app-x"), ["oncall"]);
/// assert!(refs.referrers("app-new-critical").is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompositeRefs {
    rules: BTreeMap<String, BTreeSet<String>>,
}

impl CompositeRefs {
    /// The composites among what `DescribeAlarms` returned.
    #[must_use]
    pub fn of(published: &[PublishedAlarm]) -> Self {
        Self::from_rules(published.iter().filter_map(|p| match &p.alarm {
            Alarm::Composite(c) => Some((c.alarm_name.as_str(), c.alarm_rule.as_str())),
            Alarm::Metric(_) => None,
        }))
    }

    /// From `(composite name, AlarmRule)` pairs.
    #[must_use]
    pub fn from_rules<'a>(rules: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            rules: rules
                .into_iter()
                .map(|(name, rule)| (name.to_owned(), referenced(rule)))
                .collect(),
        }
    }

    /// Whether `name` is one of the composites.
    #[must_use]
    pub fn is_composite(&self, name: &str) -> bool {
        self.rules.contains_key(name)
    }

    /// The composites whose rule references `name`, sorted (a composite referencing itself included).
    #[must_use]
    pub fn referrers(&self, name: &str) -> Vec<String> {
        self.rules
            .iter()
            .filter(|(_, children)| children.contains(name))
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Forgets a deleted composite: what it referenced is no longer held by it.
    pub fn remove(&mut self, composite: &str) {
        self.rules.remove(composite);
    }

    /// Gives `composite` the rule `rule`, as a put of it does (creating it if it was not there).
    pub fn set_rule(&mut self, composite: &str, rule: &str) {
        self.rules.insert(composite.to_owned(), referenced(rule));
    }

    /// `name` as an orphan held by the composites referencing it, if any does.
    #[must_use]
    pub fn holding(&self, name: &str) -> Option<HeldOrphan> {
        let held_by = self.referrers(name);
        (!held_by.is_empty()).then(|| HeldOrphan {
            name: name.to_owned(),
            held_by,
        })
    }

    /// The orphans deleting `orphans` would leave, were every delete to succeed: each composite in
    /// [`Self::deletion_order`] is held if a composite still there references it, and releases what it
    /// references once deleted; then each other orphan a remaining composite references. The plan
    /// shows these as held; apply decides the same way, one delete at a time.
    ///
    /// ```
    /// use governance::publish::orphans::{CompositeRefs, HeldOrphan};
    /// let refs = CompositeRefs::from_rules([
    ///     ("by-hand", r#"ALARM("app-old-a")"#),
    ///     ("app-old-composite", r#"ALARM("app-old-b")"#),
    /// ]);
    /// let held = refs.held_orphans(&["app-old-a", "app-old-b", "app-old-composite"]);
    /// assert_eq!(held, [HeldOrphan { name: "app-old-a".into(), held_by: vec!["by-hand".into()] }]);
    /// ```
    #[must_use]
    pub fn held_orphans(&self, orphans: &[&str]) -> Vec<HeldOrphan> {
        let mut refs = self.clone();
        let (composites, metrics) = refs.deletion_order(orphans);
        let mut held = Vec::new();
        for name in composites {
            match refs.holding(name) {
                Some(h) => held.push(h),
                None => refs.remove(name),
            }
        }
        held.extend(metrics.into_iter().filter_map(|name| refs.holding(name)));
        held
    }

    /// `orphans` split into the composites, ordered so that each comes after the orphan composites
    /// referencing it (a cycle's members last: they hold each other), and the rest (metric alarms, and
    /// names no longer published), in the order given.
    #[must_use]
    pub fn deletion_order<'a>(&self, orphans: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
        let (mut pending, rest): (Vec<&str>, Vec<&str>) =
            orphans.iter().copied().partition(|n| self.is_composite(n));
        let mut ordered = Vec::with_capacity(pending.len());
        // Kahn's algorithm, in the given order: take a composite no pending composite references.
        while let Some(i) = pending.iter().position(|n| {
            !pending
                .iter()
                .any(|referrer| self.rules.get(*referrer).is_some_and(|c| c.contains(*n)))
        }) {
            ordered.push(pending.remove(i));
        }
        ordered.extend(pending);
        (ordered, rest)
    }
}

/// The alarm names `rule` references. A rule read back with its quotes still escaped
/// (`ALARM(\"x\")`) is scanned unescaped too: naming an alarm that is not there only holds nothing,
/// missing one would fail its whole delete call.
fn referenced(rule: &str) -> BTreeSet<String> {
    let mut names = rule_children(rule);
    if rule.contains("\\\"") {
        names.extend(rule_children(&rule.replace("\\\"", "\"")));
    }
    names.iter().map(|r| reference_name(r).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_by_name_arn_unquoted_and_escaped_quotes_are_all_found() {
        let refs = CompositeRefs::from_rules([
            ("a", r#"ALARM("m1") AND NOT INSUFFICIENT_DATA('m2')"#),
            (
                "b",
                "OK(arn:aws:cloudwatch:eu-west-1:123456789012:alarm:m3) OR TRUE",
            ),
            (
                "c",
                r#"ALARM(\"m4\") OR ALARM(\"arn:aws:cloudwatch:us-east-1:1:alarm:m5\")"#,
            ),
        ]);
        for (name, by) in [("m1", "a"), ("m2", "a"), ("m3", "b"), ("m4", "c"), ("m5", "c")] {
            assert_eq!(refs.referrers(name), [by], "{name}");
        }
        assert!(refs.referrers("m").is_empty());
        assert!(refs.referrers("TRUE").is_empty());
    }

    #[test]
    fn composites_go_first_each_after_those_referencing_it_and_a_cycle_last() {
        let refs = CompositeRefs::from_rules([
            ("c-a", r#"ALARM("m")"#),
            ("c-b", r#"ALARM("c-a")"#),
            ("c-c", r#"ALARM("c-b") OR ALARM("m")"#),
            ("loop-1", r#"ALARM("loop-2")"#),
            ("loop-2", r#"ALARM("loop-1")"#),
            ("self", r#"ALARM("self")"#),
            ("hand-made", r#"ALARM("c-x")"#),
        ]);
        let orphans = ["c-a", "c-b", "c-c", "loop-1", "loop-2", "m", "self", "gone"];
        let (composites, rest) = refs.deletion_order(&orphans);
        assert_eq!(composites, ["c-c", "c-b", "c-a", "loop-1", "loop-2", "self"]);
        assert_eq!(rest, ["m", "gone"]);
    }

    /// What the plan shows as held: an orphan composite that goes releases its orphans, one that is
    /// held (by hand-made `h`, or by a cycle) holds them; a put rule replaces the published one.
    #[test]
    fn held_orphans_are_those_apply_would_leave_if_every_delete_succeeded() {
        let mut refs = CompositeRefs::from_rules([
            ("h", r#"ALARM("held-c") OR ALARM("m-by-hand")"#),
            ("free-c", r#"ALARM("m-free")"#),
            ("held-c", r#"ALARM("m-held")"#),
            ("loop-1", r#"ALARM("loop-2") OR ALARM("m-loop")"#),
            ("loop-2", r#"ALARM("loop-1")"#),
            ("ours", r#"ALARM("m-dropped")"#),
        ]);
        refs.set_rule("ours", r#"ALARM("m-kept")"#);
        let orphans = [
            "free-c",
            "held-c",
            "loop-1",
            "loop-2",
            "m-by-hand",
            "m-dropped",
            "m-free",
            "m-held",
            "m-loop",
        ];
        let held: Vec<(String, Vec<String>)> = refs
            .held_orphans(&orphans)
            .into_iter()
            .map(|h| (h.name, h.held_by))
            .collect();
        let by = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            held,
            [
                ("held-c".to_owned(), by(&["h"])),
                ("loop-1".to_owned(), by(&["loop-2"])),
                ("loop-2".to_owned(), by(&["loop-1"])),
                ("m-by-hand".to_owned(), by(&["h"])),
                ("m-held".to_owned(), by(&["held-c"])),
                ("m-loop".to_owned(), by(&["loop-1"])),
            ]
        );
        assert_eq!(
            refs.referrers("m-dropped"),
            Vec::<String>::new(),
            "the put rule replaced it"
        );
    }

    /// Deleting a composite releases what it referenced; a cycle's members still hold each other.
    #[test]
    fn a_removed_composite_holds_nothing() {
        let mut refs = CompositeRefs::from_rules([
            ("c", r#"ALARM("m")"#),
            ("loop-1", r#"ALARM("loop-2")"#),
            ("loop-2", r#"ALARM("loop-1")"#),
        ]);
        assert_eq!(refs.referrers("m"), ["c"]);
        refs.remove("c");
        assert!(refs.referrers("m").is_empty());
        assert!(!refs.is_composite("c"));
        assert_eq!(refs.referrers("loop-1"), ["loop-2"]);
    }
}
