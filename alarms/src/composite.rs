//! Composite alarms: a typed [`AlarmRule`] and a builder for `PutCompositeAlarm` inputs.
//!
//! Rule syntax: `ALARM("name")`, `OK(..)`, `INSUFFICIENT_DATA(..)`, `TRUE`, `FALSE`, combined with `AND`,
//! `OR`, `NOT` and parentheses; ≤ 10,240 characters, ≤ 100 underlying alarms, and no cycles (a cycle
//! stops evaluation and blocks deletion).
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html>

use crate::model::{PutCompositeAlarmInput, Tag};
pub use crate::rule::{MAX_CHILDREN, MAX_RULE_CHARS, reference_name, rule_children};
use crate::validate::{AlarmValidationErrors, validate_composite_alarm};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The state a rule term tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleState {
    /// `ALARM(..)`.
    Alarm,
    /// `OK(..)`.
    Ok,
    /// `INSUFFICIENT_DATA(..)`.
    InsufficientData,
}

/// A composite alarm rule.
///
/// ```
/// use alarms::composite::AlarmRule;
/// let rule = AlarmRule::alarm("a").or(AlarmRule::alarm("b")).and(AlarmRule::ok("maintenance").not());
/// assert_eq!(rule.to_string(), r#"(ALARM("a") OR ALARM("b")) AND NOT OK("maintenance")"#);
/// assert_eq!(rule.children().len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AlarmRule {
    /// A state test on one alarm (name or ARN).
    State(RuleState, String),
    /// `TRUE`.
    True,
    /// `FALSE`.
    False,
    /// All must hold.
    And(Vec<AlarmRule>),
    /// Any must hold.
    Or(Vec<AlarmRule>),
    /// Negation.
    Not(Box<AlarmRule>),
}

impl AlarmRule {
    /// `ALARM("name")`.
    #[must_use]
    pub fn alarm(name: impl Into<String>) -> Self {
        Self::State(RuleState::Alarm, name.into())
    }

    /// `OK("name")`.
    #[must_use]
    pub fn ok(name: impl Into<String>) -> Self {
        Self::State(RuleState::Ok, name.into())
    }

    /// `INSUFFICIENT_DATA("name")`.
    #[must_use]
    pub fn insufficient_data(name: impl Into<String>) -> Self {
        Self::State(RuleState::InsufficientData, name.into())
    }

    /// `self AND other` (flattened).
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        match self {
            Self::And(mut v) => {
                v.push(other);
                Self::And(v)
            }
            s => Self::And(vec![s, other]),
        }
    }

    /// `self OR other` (flattened).
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        match self {
            Self::Or(mut v) => {
                v.push(other);
                Self::Or(v)
            }
            s => Self::Or(vec![s, other]),
        }
    }

    /// `NOT self`.
    #[must_use]
    #[allow(clippy::should_implement_trait)] // a rule builder, not boolean negation of a value
    pub fn not(self) -> Self {
        Self::Not(Box::new(self))
    }

    /// `ALARM(a) OR ALARM(b) OR …` over `names` (`FALSE` when empty).
    #[must_use]
    pub fn any_alarm<I: IntoIterator<Item = S>, S: Into<String>>(names: I) -> Self {
        let v: Vec<Self> = names.into_iter().map(Self::alarm).collect();
        match v.len() {
            0 => Self::False,
            1 => v.into_iter().next().unwrap_or(Self::False),
            _ => Self::Or(v),
        }
    }

    /// The distinct alarms the rule references.
    #[must_use]
    pub fn children(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect(&mut out);
        out
    }

    fn collect(&self, out: &mut BTreeSet<String>) {
        match self {
            Self::State(_, n) => {
                out.insert(n.clone());
            }
            Self::True | Self::False => {}
            Self::And(v) | Self::Or(v) => v.iter().for_each(|r| r.collect(out)),
            Self::Not(r) => r.collect(out),
        }
    }

    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::And(v) | Self::Or(v) if v.len() > 1 => write!(f, "({self})"),
            _ => write!(f, "{self}"),
        }
    }
}

impl fmt::Display for AlarmRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::State(s, name) => {
                let fun = match s {
                    RuleState::Alarm => "ALARM",
                    RuleState::Ok => "OK",
                    RuleState::InsufficientData => "INSUFFICIENT_DATA",
                };
                write!(f, "{fun}(\"{}\")", name.replace('"', "\\\""))
            }
            Self::True => f.write_str("TRUE"),
            Self::False => f.write_str("FALSE"),
            Self::And(v) | Self::Or(v) => {
                let op = if matches!(self, Self::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                for (i, r) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    r.fmt_operand(f)?;
                }
                Ok(())
            }
            Self::Not(r) => {
                f.write_str("NOT ")?;
                r.fmt_operand(f)
            }
        }
    }
}

/// A composite alarm whose rule references itself through other composites.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("composite alarms form a cycle: {}", .0.join(" -> "))]
pub struct CycleError(pub Vec<String>);

/// Checks that no composite alarm reaches itself through the rules of `composites`.
///
/// ```
/// use alarms::composite::{find_cycle, CompositeAlarm, AlarmRule};
/// let a = CompositeAlarm::new("a", AlarmRule::alarm("b")).build().unwrap();
/// let b = CompositeAlarm::new("b", AlarmRule::alarm("a")).build().unwrap();
/// assert!(find_cycle(&[a.clone()]).is_ok());
/// assert_eq!(find_cycle(&[a, b]).unwrap_err().0, ["a", "b", "a"]);
/// ```
///
/// # Errors
/// [`CycleError`] with the path of the first cycle found.
pub fn find_cycle(composites: &[PutCompositeAlarmInput]) -> Result<(), CycleError> {
    let graph: BTreeMap<&str, Vec<String>> = composites
        .iter()
        .map(|c| {
            (
                c.alarm_name.as_str(),
                rule_children(&c.alarm_rule)
                    .iter()
                    .map(|r| reference_name(r).to_owned())
                    .collect(),
            )
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        n: &'a str,
        graph: &'a BTreeMap<&str, Vec<String>>,
        marks: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Result<(), CycleError> {
        match marks.get(n) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let start = path.iter().position(|p| *p == n).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| (*s).to_owned()).collect();
                cycle.push(n.to_owned());
                return Err(CycleError(cycle));
            }
            None => {}
        }
        let Some((key, children)) = graph.get_key_value(n) else {
            return Ok(());
        };
        marks.insert(key, Mark::Visiting);
        path.push(key);
        for c in children {
            visit(c, graph, marks, path)?;
        }
        path.pop();
        marks.insert(key, Mark::Done);
        Ok(())
    }
    let mut marks = BTreeMap::new();
    for n in graph.keys() {
        visit(n, &graph, &mut marks, &mut Vec::new())?;
    }
    Ok(())
}

/// A composite alarm under construction.
///
/// ```
/// use alarms::composite::{AlarmRule, CompositeAlarm};
/// let c = CompositeAlarm::new("collectiq-prod-valuation-failures-critical",
///         AlarmRule::any_alarm(["collectiq-prod-valuation-failed-executions-critical", "collectiq-prod-valuation-failure-rate-critical"]))
///     .with_description("Valuation pipeline failing")
///     .with_alarm_actions(vec!["arn:aws:sns:us-east-1:1:critical".into()])
///     .with_actions_suppressor("collectiq-prod-maintenance", 60, 60)
///     .build()
///     .unwrap();
/// assert!(c.alarm_rule.starts_with("ALARM(\"collectiq-prod-valuation-failed"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct CompositeAlarm {
    input: PutCompositeAlarmInput,
}

impl CompositeAlarm {
    /// A composite named `name` with `rule`.
    pub fn new(name: impl Into<String>, rule: AlarmRule) -> Self {
        Self {
            input: PutCompositeAlarmInput {
                alarm_name: name.into(),
                alarm_description: None,
                alarm_rule: rule.to_string(),
                actions_enabled: Some(true),
                ok_actions: Vec::new(),
                alarm_actions: Vec::new(),
                insufficient_data_actions: Vec::new(),
                actions_suppressor: None,
                actions_suppressor_wait_period: None,
                actions_suppressor_extension_period: None,
                tags: Vec::new(),
            },
        }
    }

    /// Description.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.input.alarm_description = Some(d.into());
        self
    }

    /// ALARM-state actions.
    pub fn with_alarm_actions(mut self, arns: Vec<String>) -> Self {
        self.input.alarm_actions = arns;
        self
    }

    /// OK-state actions.
    pub fn with_ok_actions(mut self, arns: Vec<String>) -> Self {
        self.input.ok_actions = arns;
        self
    }

    /// Suppress actions while `alarm` is in ALARM (AWS recommends 60 s wait and extension).
    pub fn with_actions_suppressor(
        mut self,
        alarm: impl Into<String>,
        wait_s: u32,
        extension_s: u32,
    ) -> Self {
        self.input.actions_suppressor = Some(alarm.into());
        self.input.actions_suppressor_wait_period = Some(wait_s);
        self.input.actions_suppressor_extension_period = Some(extension_s);
        self
    }

    /// Tags (create only).
    pub fn with_tags(mut self, tags: Vec<Tag>) -> Self {
        self.input.tags = tags;
        self
    }

    /// The validated input.
    ///
    /// # Errors
    /// Every broken `PutCompositeAlarm` rule.
    pub fn build(self) -> Result<PutCompositeAlarmInput, AlarmValidationErrors> {
        validate_composite_alarm(&self.input)?;
        Ok(self.input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rendering_parenthesizes_nested_operators() {
        let r = AlarmRule::alarm("a").and(AlarmRule::alarm("b").or(AlarmRule::alarm("c")));
        assert_eq!(r.to_string(), r#"ALARM("a") AND (ALARM("b") OR ALARM("c"))"#);
        assert_eq!(
            AlarmRule::True.and(AlarmRule::False).to_string(),
            "TRUE AND FALSE"
        );
        assert_eq!(AlarmRule::any_alarm(Vec::<String>::new()), AlarmRule::False);
        assert_eq!(AlarmRule::any_alarm(["x"]), AlarmRule::alarm("x"));
        assert_eq!(
            AlarmRule::insufficient_data("q\"x").to_string(),
            r#"INSUFFICIENT_DATA("q\"x")"#
        );
    }

    #[test]
    fn children_scanner_handles_arns_keywords_and_unquoted_names() {
        let c = rule_children("ALARM(arn:aws:cloudwatch:us-east-1:1:alarm:x) AND NOT OK(\"y)z\") OR TRUE");
        assert_eq!(
            c.into_iter().collect::<Vec<_>>(),
            ["arn:aws:cloudwatch:us-east-1:1:alarm:x", "y)z"]
        );
        assert_eq!(reference_name("arn:aws:cloudwatch:us-east-1:1:alarm:x"), "x");
        assert_eq!(reference_name("x"), "x");
    }

    #[test]
    fn cycles_through_three_composites_are_found() {
        let mk = |n: &str, child: &str| CompositeAlarm::new(n, AlarmRule::alarm(child)).build().unwrap();
        let chain = [mk("a", "b"), mk("b", "c"), mk("c", "metric")];
        assert!(find_cycle(&chain).is_ok());
        let cyc = [
            mk("a", "b"),
            mk("b", "c"),
            mk("c", "arn:aws:cloudwatch:us-east-1:1:alarm:a"),
        ];
        assert_eq!(find_cycle(&cyc).unwrap_err().0, ["a", "b", "c", "a"]);
        let own = [mk("self", "self")];
        assert!(find_cycle(&own).is_err());
    }

    fn rule_strategy() -> impl Strategy<Value = AlarmRule> {
        let leaf = prop_oneof![
            "[a-z][a-z0-9-]{0,12}".prop_map(AlarmRule::alarm),
            "[a-z][a-z0-9-]{0,12}".prop_map(AlarmRule::ok),
            Just(AlarmRule::True),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(AlarmRule::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(AlarmRule::Or),
                inner.prop_map(|r| r.not()),
            ]
        })
    }

    proptest! {
        #[test]
        fn scanner_finds_exactly_the_typed_children(rule in rule_strategy()) {
            prop_assert_eq!(rule_children(&rule.to_string()), rule.children());
        }
    }
}
