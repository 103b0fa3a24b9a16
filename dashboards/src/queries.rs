//! CloudWatch Logs Insights query definitions as code: the saved queries on-call opens from the console
//! (Logs Insights → *Saved queries*, one folder per platform environment), generated from a platform
//! spec, and a pure plan against what the account has saved — the same plan / apply / prune as
//! dashboards ([`crate::plan`]).
//!
//! API: `PutQueryDefinition` (`name` 1..=255, `queryString` 1..=10,000, `logGroupNames` each 1..=512 of
//! `[.\-_/#A-Za-z0-9]`, `queryDefinitionId` to update in place) and `DeleteQueryDefinition`
//! (`queryDefinitionId`); `DescribeQueryDefinitions` lists them (`queryDefinitionNamePrefix`, paged).
//! Query syntax: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html>.
//!
//! Ownership is an exact name grammar, never a bare prefix: governance owns a saved query only when its
//! name is `{platform}-{env}/{kind}` with a kind it generates ([`KINDS`]); a colleague's
//! `collectiq-prod/my-notes`, `collectiq-prod/my notes` or `collectiq-prod/team/x` is never updated or
//! deleted. An unchanged definition is not written.
//!
//! The catalogue ([`queries_for`]) is seed 001's "Log Insights Queries" (error rate by operation, P95
//! latency by endpoint, user activity patterns) for every platform that has the log groups, plus the
//! seeds' error searches for platforms whose logs are not CollectIQ's JSON (seed 002's and 003's
//! `--filter-pattern "ERROR"`).
//!
//! ```
//! use dashboards::queries::{plan_queries, queries_for, QueryAction};
//! let spec = platform_spec::load(std::path::Path::new(concat!(
//!     env!("CARGO_MANIFEST_DIR"), "/../infra/platforms/collectiq-prod.toml"
//! ))).unwrap();
//! let desired = queries_for(&spec).unwrap();
//! let plan = plan_queries(&desired, &[], &spec.managed_prefix());
//! assert_eq!(plan.count(QueryAction::Create), desired.len());
//! assert!(plan.render_text().contains("+ collectiq-prod/error-rate-by-operation"));
//! ```

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use platform_spec::{FunctionSpec, PlatformSpec};
use serde::Serialize;

/// Most characters of a query definition's name (`PutQueryDefinition`).
pub const MAX_NAME_CHARS: usize = 255;
/// Most characters of a query string (`PutQueryDefinition`).
pub const MAX_QUERY_CHARS: usize = 10_000;
/// Most log groups one Logs Insights query reads (`StartQuery`; a saved query that names more cannot
/// run).
pub const MAX_LOG_GROUPS: usize = 50;
/// Logs Insights commands a query may start a stage with.
const COMMANDS: [&str; 12] = [
    "fields",
    "filter",
    "stats",
    "sort",
    "limit",
    "parse",
    "display",
    "dedup",
    "pattern",
    "unmask",
    "diff",
    "filterIndex",
];

/// A query definition governance saves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryDefinition {
    /// `{platform}-{env}/{slug}`: the console shows `{platform}-{env}` as a folder.
    pub name: String,
    /// The log groups it reads, sorted.
    pub log_group_names: Vec<String>,
    /// The Logs Insights query (no `SOURCE`: the log groups are above).
    pub query_string: String,
}

/// Why a query definition is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The name breaks the grammar or the API's length.
    #[error("query definition name \"{name}\": {reason}")]
    Name {
        /// The name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A log group name breaks CloudWatch Logs' rule, or there are none or too many.
    #[error("query definition {name}: {reason}")]
    LogGroups {
        /// The definition's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The query string is empty, too long or not Logs Insights syntax.
    #[error("query definition {name}: {reason}")]
    Query {
        /// The definition's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_log_group_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 512
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#'))
}

/// The kinds of saved query governance generates (the slug of each [`queries_for`] entry). A kind that
/// is retired stays here, so the queries it left are still recognised and pruned.
pub const KINDS: [&str; 5] = [
    "error-rate-by-operation",
    "errors",
    "p95-latency-by-endpoint",
    "user-activity",
    "ecs-errors",
];

/// Whether `slug` is one of the [`KINDS`], or `p95-latency-by-endpoint-<api>` (one per HTTP API when a
/// platform has several).
fn is_known_kind(slug: &str) -> bool {
    KINDS.contains(&slug)
        || slug.strip_prefix("p95-latency-by-endpoint-").is_some_and(is_slug)
        || slug.rsplit_once('-').is_some_and(|(kind, n)| {
            PARTED_KINDS.contains(&kind) && n.parse::<u32>().is_ok_and(|n| n >= 2) && !n.starts_with('0')
        })
}

/// The kinds over every function's (or ECS service's) log group: past [`MAX_LOG_GROUPS`], one query a
/// part of 50 log groups, the first keeping the kind's name and the next `<kind>-2`, `<kind>-3`, …
const PARTED_KINDS: [&str; 4] = ["error-rate-by-operation", "errors", "user-activity", "ecs-errors"];

/// `(name, log groups)` of each part of a query over `groups` (see [`PARTED_KINDS`]): one part of up to
/// [`MAX_LOG_GROUPS`], named `kind`, then `kind-2`, … — a platform growing past 50 functions keeps its
/// query and gains a second.
fn parts(kind: &str, groups: &[String]) -> Vec<(String, Vec<String>)> {
    groups
        .chunks(MAX_LOG_GROUPS)
        .enumerate()
        .map(|(i, chunk)| {
            let name = if i == 0 {
                kind.to_owned()
            } else {
                format!("{kind}-{}", i + 1)
            };
            (name, chunk.to_vec())
        })
        .collect()
}

/// Whether governance owns the saved query `name` for `managed_prefix`: exactly `{prefix}/{kind}` with a
/// kind it generates ([`KINDS`]) — never a bare prefix, and never another slug a colleague saved in the
/// same console folder.
///
/// ```
/// use dashboards::queries::is_managed;
/// assert!(is_managed("collectiq-prod/error-rate-by-operation", "collectiq-prod"));
/// assert!(is_managed("collectiq-prod/p95-latency-by-endpoint-admin-api", "collectiq-prod"));
/// assert!(is_managed("collectiq-prod/errors-2", "collectiq-prod"));
/// assert!(!is_managed("collectiq-prod/errors-1", "collectiq-prod"));
/// assert!(!is_managed("collectiq-prod/errors-02", "collectiq-prod"));
/// assert!(!is_managed("collectiq-prod/my-notes", "collectiq-prod"));
/// assert!(!is_managed("collectiq-prod/My notes", "collectiq-prod"));
/// assert!(!is_managed("collectiq-prod/team/x", "collectiq-prod"));
/// assert!(!is_managed("collectiq-production/errors", "collectiq-prod"));
/// assert!(!is_managed("collectiq-prod-eu/errors", "collectiq-prod"));
/// ```
#[must_use]
pub fn is_managed(name: &str, managed_prefix: &str) -> bool {
    name.strip_prefix(managed_prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|slug| is_slug(slug) && is_known_kind(slug))
}

/// Whether a `/` after `before` (the stage so far) opens a regex literal rather than dividing: after
/// `like`, `=~`, `(` or `,`, or as the pattern of `parse <field>`.
fn starts_regex(before: &str) -> bool {
    let t = before.trim_end();
    if t.ends_with("like") || t.ends_with("=~") || t.ends_with('(') || t.ends_with(',') {
        return true;
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    matches!(words.as_slice(), ["parse"] | ["parse", _])
}

/// The `|`-separated stages of `query`, ignoring `|` inside quotes and `/regex/` literals.
fn stages(query: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quote: Option<char> = None;
    let mut depth = 0i32;
    let mut prev = ' ';
    for (i, c) in query.char_indices() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' | '`' => quote = Some(c),
                '/' if starts_regex(&query[start..i]) => quote = Some('/'),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        return Err(format!("unbalanced ')' at character {i}"));
                    }
                }
                '|' if depth == 0 => {
                    out.push(query[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            },
        }
        prev = if prev == '\\' && c == '\\' { ' ' } else { c };
    }
    if let Some(q) = quote {
        return Err(format!("unterminated {q}…{q} literal"));
    }
    if depth != 0 {
        return Err("unbalanced '('".to_owned());
    }
    out.push(query[start..].trim());
    Ok(out)
}

impl QueryDefinition {
    /// A definition named `{managed_prefix}/{slug}` over `log_groups` (sorted, deduplicated), validated.
    ///
    /// ```
    /// use dashboards::queries::QueryDefinition;
    /// let q = QueryDefinition::new("app-prod", "errors", ["/aws/lambda/f"], "filter level = 'ERROR' | limit 20").unwrap();
    /// assert_eq!(q.name, "app-prod/errors");
    /// let err = QueryDefinition::new("app-prod", "errors", ["/aws/lambda/f"], "SOURCE 'x' | limit 2").unwrap_err();
    /// assert!(err.to_string().contains("SOURCE"));
    /// ```
    ///
    /// # Errors
    /// [`QueryError`] naming the definition and what breaks `PutQueryDefinition`'s or Logs Insights'
    /// rules.
    pub fn new<S: Into<String>>(
        managed_prefix: &str,
        slug: &str,
        log_groups: impl IntoIterator<Item = S>,
        query: impl Into<String>,
    ) -> Result<Self, QueryError> {
        let name = format!("{managed_prefix}/{slug}");
        let mut log_group_names: Vec<String> = log_groups.into_iter().map(Into::into).collect();
        log_group_names.sort();
        log_group_names.dedup();
        let def = Self {
            name,
            log_group_names,
            query_string: query.into().trim().to_owned(),
        };
        def.validate(managed_prefix)?;
        Ok(def)
    }

    /// Checks the definition against `PutQueryDefinition`'s limits, the ownership grammar and the
    /// Logs Insights command syntax.
    ///
    /// # Errors
    /// The first [`QueryError`] found.
    pub fn validate(&self, managed_prefix: &str) -> Result<(), QueryError> {
        let name = || self.name.clone();
        if self.name.chars().count() > MAX_NAME_CHARS {
            return Err(QueryError::Name {
                name: name(),
                reason: format!("longer than {MAX_NAME_CHARS} characters"),
            });
        }
        if !is_managed(&self.name, managed_prefix) {
            return Err(QueryError::Name {
                name: name(),
                reason: format!(
                    "expected {managed_prefix}/<kind>, the kind one of {} (or p95-latency-by-endpoint-<api slug of a-z 0-9 ->)",
                    KINDS.join(", ")
                ),
            });
        }
        if self.log_group_names.is_empty() || self.log_group_names.len() > MAX_LOG_GROUPS {
            return Err(QueryError::LogGroups {
                name: name(),
                reason: format!(
                    "expected 1..={MAX_LOG_GROUPS} log groups, found {}",
                    self.log_group_names.len()
                ),
            });
        }
        if let Some(bad) = self.log_group_names.iter().find(|g| !is_log_group_name(g)) {
            return Err(QueryError::LogGroups {
                name: name(),
                reason: format!("\"{bad}\" is not a log group name (1..=512 of a-z A-Z 0-9 _ - / . #)"),
            });
        }
        let query = |reason: String| QueryError::Query { name: name(), reason };
        let n = self.query_string.chars().count();
        if n == 0 || n > MAX_QUERY_CHARS {
            return Err(query(format!(
                "expected 1..={MAX_QUERY_CHARS} characters, found {n}"
            )));
        }
        for stage in stages(&self.query_string).map_err(query)? {
            let command = stage.split_whitespace().next().unwrap_or("");
            if command.eq_ignore_ascii_case("SOURCE") {
                return Err(query(
                    "a saved query names its log groups in logGroupNames, not with SOURCE".to_owned(),
                ));
            }
            if !COMMANDS.contains(&command) {
                return Err(query(format!(
                    "stage \"{stage}\" does not start with a Logs Insights command ({})",
                    COMMANDS.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The query as a dashboard log widget writes it: `SOURCE 'lg1' | SOURCE 'lg2' | …`.
    #[must_use]
    pub fn widget_query(&self) -> String {
        let mut s: String = self
            .log_group_names
            .iter()
            .map(|g| format!("SOURCE '{g}' | "))
            .collect();
        s.push_str(&self.query_string);
        s
    }
}

/// A query definition as `DescribeQueryDefinitions` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedQuery {
    /// `queryDefinitionId`.
    pub id: String,
    /// `name`.
    pub name: String,
    /// `logGroupNames`.
    pub log_group_names: Vec<String>,
    /// `queryString`.
    pub query_string: String,
}

/// What the plan does with one saved query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryAction {
    /// `PutQueryDefinition` without an id.
    Create,
    /// `PutQueryDefinition` with the saved id.
    Update,
    /// `DeleteQueryDefinition`: a managed query nobody generates any more, or a duplicate.
    Delete,
    /// Nothing to write.
    Unchanged,
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryChange {
    /// The definition's name.
    pub name: String,
    /// What to do.
    pub action: QueryAction,
    /// The saved `queryDefinitionId` (update, delete, unchanged).
    pub id: Option<String>,
    /// What differs, one line each (updates).
    pub details: Vec<String>,
    /// The desired definition (create, update, unchanged).
    pub desired: Option<QueryDefinition>,
}

/// The query-definition plan of one platform environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryPlan {
    /// `{platform}-{env}`.
    pub managed_prefix: String,
    /// Changes, sorted by name (deletes of duplicates after the kept one).
    pub changes: Vec<QueryChange>,
}

/// A `PutQueryDefinition` call: the saved id when it updates one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryPut<'a> {
    /// `queryDefinitionId`, `None` to create.
    pub id: Option<&'a str>,
    /// The definition.
    pub definition: &'a QueryDefinition,
}

impl QueryPlan {
    /// How many changes of `action`.
    #[must_use]
    pub fn count(&self, action: QueryAction) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// The `PutQueryDefinition` calls (creates and updates).
    #[must_use]
    pub fn to_put(&self) -> Vec<QueryPut<'_>> {
        self.changes
            .iter()
            .filter(|c| matches!(c.action, QueryAction::Create | QueryAction::Update))
            .filter_map(|c| {
                c.desired.as_ref().map(|definition| QueryPut {
                    id: c.id.as_deref(),
                    definition,
                })
            })
            .collect()
    }

    /// The `queryDefinitionId`s to `DeleteQueryDefinition`.
    #[must_use]
    pub fn to_delete(&self) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|c| c.action == QueryAction::Delete)
            .filter_map(|c| c.id.as_deref())
            .collect()
    }

    /// Whether applying writes nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.action == QueryAction::Unchanged)
    }

    /// A `terraform plan`-like rendering.
    #[must_use]
    pub fn render_text(&self) -> String {
        let mut s = format!("Logs Insights saved queries under {}/\n", self.managed_prefix);
        for c in &self.changes {
            let (sign, word) = match c.action {
                QueryAction::Create => ('+', "create"),
                QueryAction::Update => ('~', "update"),
                QueryAction::Delete => ('-', "delete"),
                QueryAction::Unchanged => continue,
            };
            let _ = writeln!(s, "  {sign} {:<56} {word}", c.name);
            for d in &c.details {
                let _ = writeln!(s, "      {d}");
            }
        }
        let _ = writeln!(
            s,
            "Plan: {} to create, {} to update, {} to delete, {} unchanged. Saved queries cost nothing; a run \
             costs $0.005 per GB scanned.",
            self.count(QueryAction::Create),
            self.count(QueryAction::Update),
            self.count(QueryAction::Delete),
            self.count(QueryAction::Unchanged),
        );
        // Published query names and strings are anyone's with PutQueryDefinition: shown as text.
        vocabulary::text::terminal_safe(&s)
    }
}

impl fmt::Display for QueryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_text())
    }
}

fn sorted(groups: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = groups.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Plans `desired` against `saved` (every query definition of the account, or those listed under the
/// prefix): creates, updates in place (same id), deletes managed ones nobody generates and duplicates
/// of a managed name, and leaves everything else alone. Log groups compare as sets, queries as text
/// without surrounding whitespace.
///
/// ```
/// use dashboards::queries::{plan_queries, QueryAction, QueryDefinition, SavedQuery};
/// let want = QueryDefinition::new("app-prod", "errors", ["/aws/lambda/f"], "filter level = 'ERROR'").unwrap();
/// let saved = |id: &str, name: &str, q: &str| SavedQuery {
///     id: id.into(), name: name.into(), log_group_names: vec!["/aws/lambda/f".into()], query_string: q.into(),
/// };
/// let plan = plan_queries(&[want.clone()], &[
///     saved("1", "app-prod/errors", "filter level = 'ERROR'"),
///     saved("2", "app-prod/ecs-errors", "limit 1"), // a kind this platform no longer generates
///     saved("3", "app-prod/Mine", "limit 1"),
///     saved("4", "app-prod/my-notes", "limit 1"),   // a colleague's: not a kind governance makes
/// ], "app-prod");
/// assert_eq!(plan.count(QueryAction::Unchanged), 1);
/// assert_eq!(plan.to_delete(), ["2"]);
/// assert!(plan.to_put().is_empty());
/// ```
#[must_use]
pub fn plan_queries(desired: &[QueryDefinition], saved: &[SavedQuery], managed_prefix: &str) -> QueryPlan {
    let mut by_name: BTreeMap<&str, Vec<&SavedQuery>> = BTreeMap::new();
    for s in saved.iter().filter(|s| is_managed(&s.name, managed_prefix)) {
        by_name.entry(s.name.as_str()).or_default().push(s);
    }
    for list in by_name.values_mut() {
        list.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let mut changes = Vec::new();
    let mut wanted = std::collections::BTreeSet::new();
    for d in desired {
        wanted.insert(d.name.as_str());
        let existing = by_name
            .get(d.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (action, id, details) = match existing.first() {
            None => (QueryAction::Create, None, Vec::new()),
            Some(s) => {
                let mut details = Vec::new();
                if sorted(&s.log_group_names) != sorted(&d.log_group_names) {
                    details.push(format!(
                        "log groups: {} -> {}",
                        s.log_group_names.len(),
                        d.log_group_names.len()
                    ));
                }
                if s.query_string.trim() != d.query_string {
                    details.push("query changed".to_owned());
                }
                let action = if details.is_empty() {
                    QueryAction::Unchanged
                } else {
                    QueryAction::Update
                };
                (action, Some(s.id.clone()), details)
            }
        };
        changes.push(QueryChange {
            name: d.name.clone(),
            action,
            id,
            details,
            desired: Some(d.clone()),
        });
        // Same managed name saved twice (a manual copy, a lost create response): keep one.
        for dup in existing.iter().skip(1) {
            changes.push(QueryChange {
                name: d.name.clone(),
                action: QueryAction::Delete,
                id: Some(dup.id.clone()),
                details: vec!["duplicate of a managed name".to_owned()],
                desired: None,
            });
        }
    }
    for (name, list) in &by_name {
        if wanted.contains(name) {
            continue;
        }
        for s in list {
            changes.push(QueryChange {
                name: (*name).to_owned(),
                action: QueryAction::Delete,
                id: Some(s.id.clone()),
                details: Vec::new(),
                desired: None,
            });
        }
    }
    changes.sort_by(|a, b| a.name.cmp(&b.name).then(a.action.cmp(&b.action)));
    QueryPlan {
        managed_prefix: managed_prefix.to_owned(),
        changes,
    }
}

/// Whether a function links `telemetry` (Rust on a custom runtime) and so logs CollectIQ's JSON lines
/// (`"level":"ERROR"`).
fn links_telemetry(f: &FunctionSpec) -> bool {
    f.runtime.starts_with("provided")
}

/// Invocations (a Lambda `REPORT` line, text or JSON log format) and errors of one line, as 0/1.
fn lambda_error_fields(json_logs: bool) -> String {
    let error = if json_logs {
        // telemetry writes compact JSON: exactly `"level":"ERROR"`. Its EMF documents carry Lambda's
        // log level too when Lambda filters JSON logs by level (`AWS_LAMBDA_LOG_LEVEL=ERROR` makes
        // every metrics line `"level":"ERROR"`, or Lambda would drop it): they are not errors.
        r#"strcontains(@message, '"level":"ERROR"') * (1 - strcontains(@message, '"_aws":{'))"#
    } else {
        // Seed 002's and 003's filter pattern.
        r#"strcontains(@message, 'ERROR')"#
    };
    format!(
        r#"fields strcontains(@message, 'REPORT RequestId:') + strcontains(@message, '"type":"platform.report"') as invocation, {error} as error"#
    )
}

/// The saved queries of `spec`:
///
/// | name | when | reads |
/// |---|---|---|
/// | `error-rate-by-operation` | functions | every function's log group: invocations (`REPORT` lines), error lines, error % per function (past 50 functions, `-2`, `-3`, … for each next 50: a query reads at most 50 log groups) |
/// | `errors` | functions | the error lines themselves, newest first, with the request id |
/// | `p95-latency-by-endpoint` | an HTTP API with `access_log_group` | `routeKey`, `responseLatency` of the JSON access log: p50/p95/p99 and requests per route |
/// | `user-activity` | functions linking `telemetry` | active users (`count_distinct(userId)`, the keyed pseudonym of the functions' request lines) and requests per hour |
/// | `ecs-errors` | ECS services with `log_group` | `ERROR` lines per 5 minutes (seed 003, "High Error Rate") |
///
/// # Errors
/// [`QueryError`] if a generated definition breaks a rule — a bug the tests catch for every shipped spec.
pub fn queries_for(spec: &PlatformSpec) -> Result<Vec<QueryDefinition>, QueryError> {
    let prefix = spec.managed_prefix();
    let mut out = Vec::new();
    let fns = &spec.functions;
    if !fns.is_empty() {
        let groups: Vec<String> = fns.iter().map(FunctionSpec::log_group).collect();
        let json = fns.iter().all(links_telemetry);
        // Seed 001 "Log Insights Queries": error rate by operation (one function = one operation).
        for (name, part) in parts("error-rate-by-operation", &groups) {
            out.push(QueryDefinition::new(
                &prefix,
                &name,
                part,
                format!(
                    "{} | parse @log /\\/aws\\/lambda\\/(?<operation>[^:]+)$/ | stats sum(invocation) as invocations, \
                     sum(error) as errors, 100 * sum(error) / sum(invocation) as error_pct by operation | sort error_pct desc",
                    lambda_error_fields(json)
                ),
            )?);
        }
        let error_filter = if json {
            // Not the EMF documents, which carry Lambda's filter level (see `lambda_error_fields`).
            r#"filter level = "ERROR" and @message not like '"_aws":{'"#
        } else {
            "filter @message like /ERROR/"
        };
        for (name, part) in parts("errors", &groups) {
            out.push(QueryDefinition::new(
                &prefix,
                &name,
                part,
                // The request id as telemetry writes it (`function_request_id`): `@requestId` is filled
                // from Lambda's text START/END lines, not from a custom runtime's JSON lines.
                format!(
                    "{error_filter} | fields @timestamp, @log, function_request_id, correlation_id, error_type, @message \
                     | sort @timestamp desc | limit 100"
                ),
            )?);
        }
    }
    for api in spec.http_apis.iter().filter(|a| a.access_log_group.is_some()) {
        let Some(group) = api.access_log_group.as_deref() else {
            continue;
        };
        let suffix = if spec.http_apis.len() > 1 {
            format!("-{}", platform_spec::name_part(&api.name))
        } else {
            String::new()
        };
        // Seed 001 "Log Insights Queries": P95 latency by endpoint.
        out.push(QueryDefinition::new(
            &prefix,
            &format!("p95-latency-by-endpoint{suffix}"),
            [group],
            "filter ispresent(responseLatency) | stats pct(responseLatency, 50) as p50_ms, \
             pct(responseLatency, 95) as p95_ms, pct(responseLatency, 99) as p99_ms, count(*) as requests by routeKey \
             | sort p95_ms desc",
        )?);
    }
    if !fns.is_empty() && fns.iter().all(links_telemetry) {
        // Seed 001 "Log Insights Queries": user activity patterns. Counted from the functions' own
        // "request completed" lines, whose `userId` is the keyed pseudonym: the API access log carries
        // no user field (the raw Cognito sub must not reach it, issue 13). Counts only; no id is listed.
        let groups: Vec<String> = fns.iter().map(FunctionSpec::log_group).collect();
        for (name, part) in parts("user-activity", &groups) {
            out.push(QueryDefinition::new(
                &prefix,
                &name,
                part,
                "filter ispresent(userId) and userId != 'anonymous' | stats count_distinct(userId) as \
                 active_users, count(*) as requests by bin(1h)",
            )?);
        }
    }
    let ecs_groups: Vec<String> = spec
        .ecs_services
        .iter()
        .filter_map(|s| s.log_group.clone())
        .collect();
    // Seed 003 "High Error Rate": `aws logs tail /aws/ecs/budgetbuddy-cluster --filter-pattern "ERROR"`.
    for (name, part) in parts("ecs-errors", &ecs_groups) {
        out.push(QueryDefinition::new(
            &prefix,
            &name,
            part,
            "filter @message like /ERROR/ | stats count(*) as errors by bin(5m)",
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{DashboardBuilder, LogWidget};
    use std::path::Path;

    fn spec(name: &str) -> PlatformSpec {
        platform_spec::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../infra/platforms/{name}.toml")),
        )
        .unwrap()
    }

    /// `strcontains(@message, '…')` of `message`, as Logs Insights evaluates it (1 or 0).
    fn strcontains(expr: &str, message: &str) -> Vec<i32> {
        expr.split("strcontains(@message, '")
            .skip(1)
            .map(|rest| i32::from(message.contains(&rest[..rest.find("')").unwrap()])))
            .collect()
    }

    /// With Lambda filtering JSON logs at ERROR, every EMF document telemetry writes carries
    /// `"level":"ERROR"` (or Lambda would drop it): the error rate and the `errors` query must not count
    /// metrics as errors, and must still count a real error line.
    #[test]
    fn emf_documents_under_lambdas_error_filter_are_not_errors() {
        use telemetry::emf::EmfBuilder;
        let out = telemetry::testing::CapturedWriter::default();
        let alc = |k: &str| match k {
            "AWS_LAMBDA_LOG_FORMAT" => Some("JSON".to_owned()),
            "AWS_LAMBDA_LOG_LEVEL" => Some("ERROR".to_owned()),
            _ => None,
        };
        let recorder = EmfBuilder::from_lookup(alc)
            .namespace("CollectIQ")
            .service("valuation")
            .function_name("collectiq-prod-valuation")
            .with_writer(out.clone())
            .build()
            .unwrap();
        recorder.record_cold_start();
        recorder.flush();
        let emf = out.contents();
        let emf = emf.lines().next().expect("the cold start document");
        assert!(emf.contains(r#""level":"ERROR""#), "{emf}");
        let error_line = r#"{"level":"ERROR","timestamp":"2026-12-06T20:00:00.000Z","message":"valuation failed","service":"valuation","function_request_id":"r1"}"#;

        let fields = lambda_error_fields(true);
        let error = &fields[fields.find(" as invocation, ").unwrap()..];
        // error = contains(level ERROR) * (1 - contains(EMF's `_aws`)).
        let value = |line: &str| match strcontains(error, line)[..] {
            [level, emf] => level * (1 - emf),
            ref other => panic!("unexpected error expression {error}: {other:?}"),
        };
        assert_eq!(value(emf), 0, "an EMF document counted as an error");
        assert_eq!(value(error_line), 1, "an error line not counted");

        let s = spec("collectiq-prod");
        let qs = queries_for(&s).unwrap();
        let errors = &get(&qs, "collectiq-prod/errors").query_string;
        let excluded = errors
            .split("@message not like '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("no EMF exclusion in {errors}"));
        assert!(
            emf.contains(excluded) && !error_line.contains(excluded),
            "{errors}"
        );
    }

    /// A query reads at most 50 log groups, and one query over every function failed the whole publish
    /// (dashboards included) past 50 functions: the function queries come in parts of 50 instead, each
    /// function's group in exactly one part of each kind, the first part keeping the kind's name.
    #[test]
    fn function_queries_come_in_parts_of_fifty() {
        let mut s = spec("collectiq-prod");
        let first = s.functions[0].clone();
        s.functions = (0..120)
            .map(|i| {
                let mut f = first.clone();
                f.id = format!("f{i}");
                f.name = format!("collectiq-prod-f{i}");
                f
            })
            .collect();
        let qs = queries_for(&s).unwrap();
        let all: Vec<String> = s.functions.iter().map(FunctionSpec::log_group).collect();
        for kind in &PARTED_KINDS[..3] {
            let names = ["", "-2", "-3"].map(|n| format!("collectiq-prod/{kind}{n}"));
            let sizes: Vec<usize> = names.iter().map(|n| get(&qs, n).log_group_names.len()).collect();
            assert_eq!(sizes, [50, 50, 20], "{kind}");
            let mut seen: Vec<String> = names
                .iter()
                .flat_map(|n| get(&qs, n).log_group_names.clone())
                .collect();
            seen.sort();
            let mut want = all.clone();
            want.sort();
            assert_eq!(seen, want, "{kind}: every function once");
            assert!(!qs.iter().any(|q| q.name.ends_with(&format!("/{kind}-4"))));
        }
        assert!(qs.iter().all(|q| is_managed(&q.name, "collectiq-prod")));
        // Up to 50 functions: one query a kind, named as before.
        s.functions.truncate(50);
        let qs = queries_for(&s).unwrap();
        assert!(
            !qs.iter().any(|q| q.name.ends_with("-2")),
            "{:?}",
            qs.iter().map(|q| &q.name).collect::<Vec<_>>()
        );
    }

    fn get<'a>(qs: &'a [QueryDefinition], name: &str) -> &'a QueryDefinition {
        qs.iter()
            .find(|q| q.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn collectiq_has_seed_001s_three_queries_over_its_real_log_groups() {
        let s = spec("collectiq-prod");
        let qs = queries_for(&s).unwrap();
        let names: Vec<&str> = qs.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "collectiq-prod/error-rate-by-operation",
                "collectiq-prod/errors",
                "collectiq-prod/p95-latency-by-endpoint",
                "collectiq-prod/user-activity",
            ]
        );
        let errors = get(&qs, "collectiq-prod/error-rate-by-operation");
        assert_eq!(errors.log_group_names.len(), 12);
        assert!(
            errors
                .log_group_names
                .contains(&"/aws/lambda/prod-collectiq-cards-get".to_owned())
        );
        assert!(errors.query_string.contains(r#"'"level":"ERROR"'"#));
        assert!(errors.query_string.contains("by operation"));
        let p95 = get(&qs, "collectiq-prod/p95-latency-by-endpoint");
        // The access-log group infra/modules/backend/api.tf writes, with routeKey and responseLatency.
        assert_eq!(p95.log_group_names, ["/aws/apigateway/collectiq-prod-api"]);
        assert!(
            p95.query_string.contains("pct(responseLatency, 95)") && p95.query_string.contains("by routeKey")
        );
        let users = get(&qs, "collectiq-prod/user-activity");
        // The pseudonym from the functions' request lines, never the access log's raw Cognito sub.
        assert!(users.query_string.contains("count_distinct(userId)"));
        assert!(!users.query_string.contains("userSub"));
        assert_eq!(users.log_group_names.len(), 12);
    }

    #[test]
    fn backoffice_and_budgetbuddy_use_their_seeds_log_groups() {
        let bo = queries_for(&spec("backoffice-dev")).unwrap();
        let errors = get(&bo, "backoffice-dev/error-rate-by-operation");
        assert_eq!(errors.log_group_names, ["/aws/lambda/dev-backoffice-api"]);
        // Python logs: the seed's "ERROR" filter pattern, not telemetry's JSON.
        assert!(
            errors
                .query_string
                .contains("strcontains(@message, 'ERROR') as error")
        );
        assert_eq!(
            get(&bo, "backoffice-dev/p95-latency-by-endpoint").log_group_names,
            ["/aws/apigateway/dev-backoffice"]
        );
        let bb = queries_for(&spec("budgetbuddy-prod")).unwrap();
        assert_eq!(bb.len(), 1);
        assert_eq!(bb[0].name, "budgetbuddy-prod/ecs-errors");
        assert_eq!(bb[0].log_group_names, ["/aws/ecs/budgetbuddy-cluster"]);
    }

    #[test]
    fn every_shipped_query_is_valid_and_renders_as_a_valid_log_widget() {
        for name in [
            "collectiq-prod",
            "collectiq-dev",
            "backoffice-dev",
            "budgetbuddy-prod",
        ] {
            let s = spec(name);
            for q in queries_for(&s).unwrap() {
                q.validate(&s.managed_prefix()).unwrap();
                let d = DashboardBuilder::new(format!("{}-queries", s.managed_prefix()))
                    .with_widget(LogWidget::new(&q.name, &s.platform.region, q.widget_query()))
                    .build()
                    .unwrap();
                crate::validate(&d).unwrap();
                assert!(
                    q.widget_query().starts_with("SOURCE '/aws/"),
                    "{}",
                    q.widget_query()
                );
            }
        }
    }

    #[test]
    fn bad_definitions_are_refused_with_what_and_where() {
        let bad = |slug: &str, groups: &[&str], q: &str| {
            QueryDefinition::new("app-prod", slug, groups.iter().copied(), q)
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad("my-notes", &["/g"], "limit 1").contains("the kind one of error-rate-by-operation, errors")
        );
        assert!(
            bad("Bad Name", &["/g"], "limit 1").contains("\"app-prod/Bad Name\": expected app-prod/<kind>")
        );
        assert!(bad("errors", &[], "limit 1").contains("expected 1..=50 log groups, found 0"));
        assert!(bad("errors", &["/has space"], "limit 1").contains("\"/has space\" is not a log group name"));
        assert!(bad("errors", &["/g"], "  ").contains("expected 1..=10000 characters, found 0"));
        assert!(bad("errors", &["/g"], "filter a = 1 | selectt b").contains("stage \"selectt b\""));
        assert!(bad("errors", &["/g"], "filter (a = 1").contains("unbalanced '('"));
        assert!(bad("errors", &["/g"], "filter a = 'x").contains("unterminated"));
        let many: Vec<String> = (0..51).map(|i| format!("/g{i}")).collect();
        let err = QueryDefinition::new("app-prod", "errors", many, "limit 1").unwrap_err();
        assert!(err.to_string().contains("found 51"), "{err}");
        // `|` inside quotes and regexes does not split stages.
        QueryDefinition::new(
            "app-prod",
            "errors",
            ["/g"],
            "filter @message like /a|b/ | filter m = 'c|d' | limit 1",
        )
        .unwrap();
    }

    fn saved(id: &str, q: &QueryDefinition) -> SavedQuery {
        SavedQuery {
            id: id.into(),
            name: q.name.clone(),
            log_group_names: q.log_group_names.iter().rev().cloned().collect(),
            query_string: format!("{}\n", q.query_string),
        }
    }

    #[test]
    fn plan_creates_then_a_second_apply_writes_nothing() {
        let s = spec("collectiq-prod");
        let prefix = s.managed_prefix();
        let desired = queries_for(&s).unwrap();
        let first = plan_queries(&desired, &[], &prefix);
        assert_eq!(first.count(QueryAction::Create), 4);
        assert!(first.to_put().iter().all(|p| p.id.is_none()));
        // What the account holds after applying (log groups listed in another order, a trailing newline).
        let after: Vec<SavedQuery> = desired
            .iter()
            .enumerate()
            .map(|(i, q)| saved(&format!("id-{i}"), q))
            .collect();
        let second = plan_queries(&desired, &after, &prefix);
        assert!(second.is_empty(), "{}", second.render_text());
        assert_eq!(second.count(QueryAction::Unchanged), 4);
        assert!(
            second
                .render_text()
                .contains("0 to create, 0 to update, 0 to delete, 4 unchanged")
        );
    }

    #[test]
    fn plan_updates_in_place_prunes_owned_orphans_and_duplicates_and_leaves_the_rest() {
        let prefix = "app-prod";
        let want = QueryDefinition::new(prefix, "errors", ["/g1", "/g2"], "filter level = 'ERROR'").unwrap();
        let mut changed = saved("b", &want);
        changed.query_string = "filter level = 'WARN'".into();
        changed.log_group_names = vec!["/g1".into()];
        let dup = saved("c", &want);
        let orphan = SavedQuery {
            id: "d".into(),
            name: "app-prod/user-activity".into(),
            log_group_names: vec!["/g1".into()],
            query_string: "limit 1".into(),
        };
        let colleagues = [
            "app-prod/My notes",
            "app-prod/my-notes",
            "app-prod/team/x",
            "app-production/errors",
            "other",
        ]
        .map(|n| SavedQuery {
            id: n.into(),
            name: n.into(),
            log_group_names: vec!["/g1".into()],
            query_string: "limit 1".into(),
        });
        let mut all = vec![dup, changed, orphan];
        all.extend(colleagues);
        let plan = plan_queries(&[want], &all, prefix);
        let puts = plan.to_put();
        assert_eq!(puts.len(), 1);
        assert_eq!(puts[0].id, Some("b"), "updates keep the lowest saved id");
        let update = plan
            .changes
            .iter()
            .find(|c| c.action == QueryAction::Update)
            .unwrap();
        assert_eq!(update.details, ["log groups: 1 -> 2", "query changed"]);
        let mut deleted = plan.to_delete();
        deleted.sort_unstable();
        assert_eq!(deleted, ["c", "d"]);
        let text = plan.render_text();
        assert!(text.contains("~ app-prod/errors"), "{text}");
        assert!(text.contains("- app-prod/user-activity"), "{text}");
        assert!(
            !text.contains("My notes") && !text.contains("my-notes") && !text.contains("app-production"),
            "{text}"
        );
    }
}
