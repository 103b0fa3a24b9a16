//! Publishing the Logs Insights saved queries (issue 11 item 6): the shell around the pure
//! [`dashboards::queries`] catalogue and plan, with the same plan / apply / prune as dashboards.
//!
//! ```text
//! platform spec ─► queries_for (pure) ─────────────────────────────┐
//! DescribeQueryDefinitions (prefix "{platform}-{env}/", paged) ───┴► plan_queries (pure)
//!   ─► PutQueryDefinition only for creates and updates (the saved queryDefinitionId → update in place)
//!   ─► DeleteQueryDefinition for managed orphans and duplicates; everything else is left alone
//! ```
//!
//! API: <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutQueryDefinition.html>
//! (`queryDefinitionId` updates in place; name, query and log groups are replaced, nothing is kept),
//! `DescribeQueryDefinitions` (`queryDefinitionNamePrefix`, `maxResults` ≤ 1000, `nextToken`) and
//! `DeleteQueryDefinition` (`queryDefinitionId`).
//!
//! Ownership is the exact name grammar of [`dashboards::queries::is_managed`] (`{prefix}/{kind}`, the
//! kinds governance generates), not a bare prefix: the listing asks for `collectiq-prod/`, and the plan
//! still drops any name that is not exactly `collectiq-prod/<kind>` — so `collectiq-prod-eu/…`,
//! `collectiq-prod/my-notes`, `collectiq-prod/My notes` and `collectiq-prod/team/x` are never written or
//! deleted.
//!
//! The calls sit behind [`LogsQueryApi`] (only these three operations), implemented for
//! `aws_sdk_cloudwatchlogs::Client`; [`FakeLogsQueries`] (feature `testing`) is an in-memory account.
//! moto 5.2.5 implements none of the three operations (the emulator answers HTTP 501): [`plan_or_skip`]
//! turns that into a note, so the emulator's dashboards pass still runs; the request shapes are proven
//! with SDK replay clients (`governance/tests/publish_queries_sdk.rs`).

use std::future::Future;

use dashboards::queries::{QueryAction, QueryError, queries_for};
// The pure side this shell plans with, re-exported so callers need not name the dashboards crate.
pub use dashboards::queries::{QueryDefinition, QueryPlan, SavedQuery, plan_queries};
use platform_spec::PlatformSpec;
use serde::Serialize;

use super::alarms::{ApplyReport, ItemFailure};
use super::cloudwatch::ApiError;
use super::pacer::Pacer;
use super::progress::ApplyProgress;

/// Query-definition calls per second. CloudWatch Logs' control-plane quotas for these operations are
/// a few TPS per account; a handful of saved queries per platform needs no more.
pub const QUERY_CALLS_PER_SECOND: f64 = 5.0;

/// `DescribeQueryDefinitions`' largest page.
pub const DESCRIBE_PAGE_SIZE: i32 = 1000;

/// One page of `DescribeQueryDefinitions`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryDefinitionPage {
    /// The saved queries of the page.
    pub queries: Vec<SavedQuery>,
    /// Token of the next page.
    pub next_token: Option<String>,
}

/// The CloudWatch Logs operations publishing saved queries uses — and nothing else.
pub trait LogsQueryApi: Send + Sync {
    /// `DescribeQueryDefinitions` of names starting with `name_prefix`, one page.
    fn describe_query_definitions(
        &self,
        name_prefix: &str,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<QueryDefinitionPage, ApiError>> + Send;
    /// `PutQueryDefinition`: creates (`id` is `None`) or replaces the saved query `id`; returns its id.
    fn put_query_definition(
        &self,
        id: Option<&str>,
        definition: &QueryDefinition,
    ) -> impl Future<Output = Result<String, ApiError>> + Send;
    /// `DeleteQueryDefinition`.
    fn delete_query_definition(&self, id: &str) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// The saved queries `spec` should have ([`queries_for`]).
///
/// # Errors
/// [`QueryError`] when a generated definition breaks a rule (a bug the dashboards crate's tests catch
/// for every shipped spec).
pub fn desired_queries(spec: &PlatformSpec) -> Result<Vec<QueryDefinition>, QueryError> {
    queries_for(spec)
}

/// The name prefix the listing asks for: `{managed_prefix}/`, the folder the console shows.
#[must_use]
pub fn listing_prefix(managed_prefix: &str) -> String {
    format!("{managed_prefix}/")
}

/// Every saved query whose name starts with `{managed_prefix}/`, following `nextToken` to the last page
/// (an empty token ends it too).
///
/// # Errors
/// The first failed page (nothing is planned from a partial read).
pub async fn read_saved<L: LogsQueryApi>(
    logs: &L,
    managed_prefix: &str,
) -> Result<Vec<SavedQuery>, ApiError> {
    let prefix = listing_prefix(managed_prefix);
    let mut pacer = Pacer::per_second(QUERY_CALLS_PER_SECOND);
    let mut out = Vec::new();
    let mut token = None;
    let mut guard =
        super::cloudwatch::PageGuard::new("DescribeQueryDefinitions", super::cloudwatch::MAX_PAGES);
    loop {
        pacer.ready().await;
        let page = logs.describe_query_definitions(&prefix, token).await?;
        out.extend(page.queries);
        match guard.next(page.next_token)? {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Reads what is saved and plans `desired` against it.
///
/// # Errors
/// See [`read_saved`].
pub async fn plan<L: LogsQueryApi>(
    logs: &L,
    desired: &[QueryDefinition],
    managed_prefix: &str,
) -> Result<QueryPlan, ApiError> {
    let saved = read_saved(logs, managed_prefix).await?;
    Ok(plan_queries(desired, &saved, managed_prefix))
}

/// A plan, or why there is none because the endpoint cannot list saved queries at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPlanning {
    /// The plan.
    Planned(QueryPlan),
    /// The endpoint does not implement `DescribeQueryDefinitions` (moto): the note says so.
    Unsupported(String),
}

/// [`plan`], except that an endpoint that does not implement `DescribeQueryDefinitions` (the emulator)
/// yields [`QueryPlanning::Unsupported`] with a note instead of an error. AWS implements it, so there an
/// error is always an error.
///
/// # Errors
/// Any other failed read.
pub async fn plan_or_skip<L: LogsQueryApi>(
    logs: &L,
    desired: &[QueryDefinition],
    managed_prefix: &str,
) -> Result<QueryPlanning, ApiError> {
    match plan(logs, desired, managed_prefix).await {
        Ok(p) => Ok(QueryPlanning::Planned(p)),
        Err(e) if e.is_not_implemented() => Ok(QueryPlanning::Unsupported(format!(
            "Logs Insights saved queries not planned: the endpoint does not implement {} ({} to save)",
            e.operation,
            desired.len()
        ))),
        Err(e) => Err(e),
    }
}

/// Writes the plan's changes: one `PutQueryDefinition` per create or update (updates pass the saved
/// id), one `DeleteQueryDefinition` per orphan or duplicate. Unchanged definitions are not written.
/// Failures are collected per query, never returned early.
pub async fn apply<L: LogsQueryApi>(logs: &L, plan: &QueryPlan, progress: &dyn ApplyProgress) -> ApplyReport {
    let mut report = ApplyReport {
        unchanged: plan.count(QueryAction::Unchanged),
        ..ApplyReport::default()
    };
    let puts = plan.to_put();
    let deletes: Vec<(&str, &str)> = plan
        .changes
        .iter()
        .filter(|c| c.action == QueryAction::Delete)
        .filter_map(|c| c.id.as_deref().map(|id| (c.name.as_str(), id)))
        .collect();
    progress.start((puts.len() + deletes.len()) as u64);
    let mut pacer = Pacer::per_second(QUERY_CALLS_PER_SECOND);
    for put in puts {
        let name = put.definition.name.clone();
        let action = if put.id.is_some() { "update" } else { "create" };
        progress.step(&name);
        pacer.ready().await;
        report.write_calls += 1;
        match logs.put_query_definition(put.id, put.definition).await {
            Ok(_) if put.id.is_some() => report.updated.push(name),
            Ok(_) => report.created.push(name),
            Err(error) => report.failures.push(ItemFailure { name, action, error }),
        }
        progress.advance();
    }
    // A duplicate or an orphan may be the definition a failed put was to replace (a renamed query):
    // kept until an apply writes everything, as the alarms' and dashboards' orphans are.
    if report.failures.iter().any(|f| !f.error.is_not_implemented()) {
        report.kept = deletes
            .iter()
            .map(|(name, id)| format!("{name} ({id})"))
            .collect();
        progress.finish();
        return report;
    }
    for (name, id) in deletes {
        progress.step(name);
        pacer.ready().await;
        report.write_calls += 1;
        match logs.delete_query_definition(id).await {
            Ok(()) => report.deleted.push(format!("{name} ({id})")),
            Err(error) => report.failures.push(ItemFailure {
                name: format!("{name} ({id})"),
                action: "delete",
                error,
            }),
        }
        progress.advance();
    }
    progress.finish();
    report
}

/// A machine-readable view of a query plan (names only; the pure plan holds whole definitions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct QueryPlanView {
    /// To create.
    pub create: Vec<String>,
    /// To update in place, with what differs.
    pub update: Vec<(String, Vec<String>)>,
    /// To delete: `name (queryDefinitionId)` of managed orphans and duplicates.
    pub delete: Vec<String>,
    /// Unchanged, not written.
    pub unchanged: usize,
    /// Why nothing was planned (an endpoint without the API), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl QueryPlanView {
    /// The view of a plan, or of the note saying why there is none.
    #[must_use]
    pub fn of(planning: &QueryPlanning) -> Self {
        let p = match planning {
            QueryPlanning::Planned(p) => p,
            QueryPlanning::Unsupported(note) => {
                return Self {
                    note: Some(note.clone()),
                    ..Self::default()
                };
            }
        };
        let names = |a: QueryAction| {
            p.changes
                .iter()
                .filter(|c| c.action == a)
                .map(|c| c.name.clone())
                .collect()
        };
        Self {
            create: names(QueryAction::Create),
            update: p
                .changes
                .iter()
                .filter(|c| c.action == QueryAction::Update)
                .map(|c| (c.name.clone(), c.details.clone()))
                .collect(),
            delete: p
                .changes
                .iter()
                .filter(|c| c.action == QueryAction::Delete)
                .map(|c| format!("{} ({})", c.name, c.id.as_deref().unwrap_or("?")))
                .collect(),
            unchanged: p.count(QueryAction::Unchanged),
            note: None,
        }
    }
}

impl QueryPlanning {
    /// Whether applying writes nothing (always, when unsupported).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Planned(p) => p.is_empty(),
            Self::Unsupported(_) => true,
        }
    }

    /// The plan's text, or the note.
    #[must_use]
    pub fn render_text(&self) -> String {
        match self {
            Self::Planned(p) => p.render_text(),
            Self::Unsupported(note) => format!("{note}\n"),
        }
    }

    /// The plan, if there is one.
    #[must_use]
    pub fn plan(&self) -> Option<&QueryPlan> {
        match self {
            Self::Planned(p) => Some(p),
            Self::Unsupported(_) => None,
        }
    }
}

/// A copy of `client` whose retries suit publishing against AWS (standard mode, 6 attempts, backoff from
/// 1 s, throttling retried by the SDK's classifier); a single-attempt client (the emulator) is returned
/// unchanged so unimplemented calls fail fast, as is every client when the user chose the retry settings
/// ([`crate::aws::retries_chosen`]). The CloudWatch twin is
/// [`super::cloudwatch::with_publishing_retries`].
#[must_use]
pub fn with_publishing_retries(client: &aws_sdk_cloudwatchlogs::Client) -> aws_sdk_cloudwatchlogs::Client {
    use aws_config::retry::RetryConfig;
    let config = client.config();
    if config.retry_config().is_some_and(|r| r.max_attempts() <= 1) || crate::aws::retries_chosen() {
        return client.clone();
    }
    let retry = RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(std::time::Duration::from_secs(1))
        .with_max_backoff(std::time::Duration::from_secs(20));
    aws_sdk_cloudwatchlogs::Client::from_conf(config.to_builder().retry_config(retry).build())
}

impl LogsQueryApi for aws_sdk_cloudwatchlogs::Client {
    async fn describe_query_definitions(
        &self,
        name_prefix: &str,
        next_token: Option<String>,
    ) -> Result<QueryDefinitionPage, ApiError> {
        let out = self
            .describe_query_definitions()
            .query_definition_name_prefix(name_prefix)
            .max_results(DESCRIBE_PAGE_SIZE)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatchLogs", "DescribeQueryDefinitions", e))?;
        let queries = out
            .query_definitions()
            .iter()
            .filter_map(|q| {
                Some(SavedQuery {
                    // A definition without an id cannot be updated or deleted: not ours to plan.
                    id: q.query_definition_id()?.to_owned(),
                    name: q.name().unwrap_or_default().to_owned(),
                    log_group_names: q.log_group_names().to_vec(),
                    query_string: q.query_string().unwrap_or_default().to_owned(),
                })
            })
            .collect();
        Ok(QueryDefinitionPage {
            queries,
            next_token: out.next_token().map(str::to_owned),
        })
    }

    async fn put_query_definition(
        &self,
        id: Option<&str>,
        definition: &QueryDefinition,
    ) -> Result<String, ApiError> {
        let out = self
            .put_query_definition()
            .query_language(aws_sdk_cloudwatchlogs::types::QueryLanguage::Cwli)
            .name(&definition.name)
            .set_query_definition_id(id.map(str::to_owned))
            .set_log_group_names(Some(definition.log_group_names.clone()))
            .query_string(&definition.query_string)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatchLogs", "PutQueryDefinition", e))?;
        out.query_definition_id()
            .or(id)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::local("PutQueryDefinition", "the answer has no queryDefinitionId"))
    }

    async fn delete_query_definition(&self, id: &str) -> Result<(), ApiError> {
        let out = self
            .delete_query_definition()
            .query_definition_id(id)
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("CloudWatchLogs", "DeleteQueryDefinition", e))?;
        if out.success() {
            Ok(())
        } else {
            Err(ApiError::local(
                "DeleteQueryDefinition",
                format!("the service answered success=false for {id}"),
            ))
        }
    }
}

#[cfg(any(test, feature = "testing"))]
pub use fake::FakeLogsQueries;

#[cfg(any(test, feature = "testing"))]
mod fake {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex, MutexGuard};

    use dashboards::queries::{QueryDefinition, SavedQuery};

    use super::{ApiError, LogsQueryApi, QueryDefinitionPage};

    #[derive(Debug, Default)]
    struct State {
        saved: BTreeMap<String, SavedQuery>,
        next_id: u64,
        writes: Vec<String>,
        describe_calls: usize,
        prefixes: Vec<String>,
        fail_puts: BTreeMap<String, String>,
    }

    /// An in-memory account's saved queries: pages of `page_size` in id order, the name-prefix filter,
    /// ids assigned on create, updates in place, unknown ids refused like the service
    /// (`ResourceNotFoundException`). Clones share state.
    #[derive(Debug, Clone)]
    pub struct FakeLogsQueries {
        state: Arc<Mutex<State>>,
        page_size: usize,
    }

    impl Default for FakeLogsQueries {
        fn default() -> Self {
            Self::with_page_size(2)
        }
    }

    impl FakeLogsQueries {
        /// A fake answering `page_size` definitions per page (small, so paging is exercised).
        ///
        /// ```
        /// let logs = governance::publish::queries::FakeLogsQueries::with_page_size(1);
        /// assert_eq!(logs.write_calls().len(), 0);
        /// ```
        #[must_use]
        pub fn with_page_size(page_size: usize) -> Self {
            Self {
                state: Arc::default(),
                page_size: page_size.max(1),
            }
        }

        fn lock(&self) -> MutexGuard<'_, State> {
            self.state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }

        /// Saves a query as someone else would (no write is counted); returns its id.
        pub fn seed(&self, name: &str, log_groups: &[&str], query: &str) -> String {
            let mut s = self.lock();
            s.next_id += 1;
            let id = format!("qd-{:04}", s.next_id);
            s.saved.insert(
                id.clone(),
                SavedQuery {
                    id: id.clone(),
                    name: name.to_owned(),
                    log_group_names: log_groups.iter().map(|g| (*g).to_owned()).collect(),
                    query_string: query.to_owned(),
                },
            );
            id
        }

        /// Makes every put of `name` fail with `code`.
        pub fn fail_put(&self, name: &str, code: &str) {
            self.lock().fail_puts.insert(name.to_owned(), code.to_owned());
        }

        /// Everything saved, in id order.
        #[must_use]
        pub fn saved(&self) -> Vec<SavedQuery> {
            self.lock().saved.values().cloned().collect()
        }

        /// The write calls made, as `Put <name>` / `Put <id> <name>` / `Delete <id>`.
        #[must_use]
        pub fn write_calls(&self) -> Vec<String> {
            self.lock().writes.clone()
        }

        /// `DescribeQueryDefinitions` calls made, and the prefixes they asked for.
        #[must_use]
        pub fn describe_calls(&self) -> (usize, Vec<String>) {
            let s = self.lock();
            (s.describe_calls, s.prefixes.clone())
        }
    }

    impl LogsQueryApi for FakeLogsQueries {
        async fn describe_query_definitions(
            &self,
            name_prefix: &str,
            next_token: Option<String>,
        ) -> Result<QueryDefinitionPage, ApiError> {
            let mut s = self.lock();
            s.describe_calls += 1;
            s.prefixes.push(name_prefix.to_owned());
            let matching: Vec<&SavedQuery> = s
                .saved
                .values()
                .filter(|q| q.name.starts_with(name_prefix))
                .collect();
            let start = match next_token.as_deref() {
                None => 0,
                Some(t) => t.parse::<usize>().map_err(|_| {
                    ApiError::local("DescribeQueryDefinitions", format!("invalid nextToken {t}"))
                })?,
            };
            let end = (start + self.page_size).min(matching.len());
            Ok(QueryDefinitionPage {
                queries: matching[start.min(end)..end]
                    .iter()
                    .map(|q| (*q).clone())
                    .collect(),
                next_token: (end < matching.len()).then(|| end.to_string()),
            })
        }

        async fn put_query_definition(
            &self,
            id: Option<&str>,
            definition: &QueryDefinition,
        ) -> Result<String, ApiError> {
            let mut s = self.lock();
            s.writes.push(match id {
                Some(id) => format!("Put {id} {}", definition.name),
                None => format!("Put {}", definition.name),
            });
            if let Some(code) = s.fail_puts.get(&definition.name) {
                return Err(crate::publish::fake::rejected("PutQueryDefinition", code));
            }
            let id = match id {
                Some(id) if s.saved.contains_key(id) => id.to_owned(),
                Some(id) => {
                    return Err(ApiError {
                        operation: "PutQueryDefinition",
                        code: Some("ResourceNotFoundException".into()),
                        message: format!("query definition {id} does not exist"),
                        status: Some(400),
                        classified: None,
                    });
                }
                None => {
                    s.next_id += 1;
                    format!("qd-{:04}", s.next_id)
                }
            };
            s.saved.insert(
                id.clone(),
                SavedQuery {
                    id: id.clone(),
                    name: definition.name.clone(),
                    log_group_names: definition.log_group_names.clone(),
                    query_string: definition.query_string.clone(),
                },
            );
            Ok(id)
        }

        async fn delete_query_definition(&self, id: &str) -> Result<(), ApiError> {
            let mut s = self.lock();
            s.writes.push(format!("Delete {id}"));
            match s.saved.remove(id) {
                Some(_) => Ok(()),
                None => Err(ApiError {
                    operation: "DeleteQueryDefinition",
                    code: Some("ResourceNotFoundException".into()),
                    message: format!("query definition {id} does not exist"),
                    status: Some(400),
                    classified: None,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::progress::NoProgress;
    use crate::test_support::prod_spec as spec;

    #[tokio::test(start_paused = true)]
    async fn first_apply_creates_a_second_writes_nothing() {
        let spec = spec();
        let desired = desired_queries(&spec).unwrap();
        assert_eq!(desired.len(), 4);
        let logs = FakeLogsQueries::default();
        let first = plan(&logs, &desired, "collectiq-prod").await.unwrap();
        assert_eq!(first.count(QueryAction::Create), 4);
        let report = apply(&logs, &first, &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("saved queries"));
        assert_eq!(report.created.len(), 4);
        assert_eq!(report.write_calls, 4);
        assert!(
            logs.write_calls()
                .iter()
                .all(|w| w.starts_with("Put collectiq-prod/"))
        );

        let second = plan(&logs, &desired, "collectiq-prod").await.unwrap();
        assert!(second.is_empty(), "{}", second.render_text());
        let again = apply(&logs, &second, &NoProgress).await;
        assert_eq!(again.write_calls, 0);
        assert_eq!(again.unchanged, 4);
        assert_eq!(logs.write_calls().len(), 4, "unchanged → no write");
        // Four definitions in pages of two: the reads followed nextToken, always with the folder prefix.
        let (calls, prefixes) = logs.describe_calls();
        assert_eq!(calls, 1 + 2);
        assert!(prefixes.iter().all(|p| p == "collectiq-prod/"), "{prefixes:?}");
    }

    /// After a failed put nothing is deleted: the duplicate or orphan may be the definition the put was
    /// to replace. They are named as kept, and go with the next apply that writes everything.
    #[tokio::test(start_paused = true)]
    async fn orphans_and_duplicates_stay_while_a_put_fails() {
        let spec = spec();
        let desired = desired_queries(&spec).unwrap();
        let logs = FakeLogsQueries::default();
        let orphan = logs.seed("collectiq-prod/ecs-errors", &["/g"], "limit 1");
        logs.fail_put("collectiq-prod/errors", "LimitExceededException");
        let p = plan(&logs, &desired, "collectiq-prod").await.unwrap();
        let report = apply(&logs, &p, &NoProgress).await;
        assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
        assert!(report.deleted.is_empty());
        assert_eq!(report.kept, [format!("collectiq-prod/ecs-errors ({orphan})")]);
        assert!(logs.write_calls().iter().all(|w| !w.starts_with("Delete")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_query_is_updated_in_place_and_only_owned_orphans_go() {
        let spec = spec();
        let desired = desired_queries(&spec).unwrap();
        let logs = FakeLogsQueries::default();
        let errors = desired
            .iter()
            .find(|q| q.name == "collectiq-prod/errors")
            .unwrap();
        let stale = logs.seed(&errors.name, &["/aws/lambda/prod-collectiq-cards-get"], "limit 5");
        let orphan = logs.seed("collectiq-prod/ecs-errors", &["/g"], "limit 1");
        let dup = logs.seed(&errors.name, &["/aws/lambda/prod-collectiq-cards-get"], "limit 5");
        // Not ours: another environment sharing the prefix text, a colleague's notes, a sub-folder.
        let eu = logs.seed("collectiq-prod-eu/errors", &["/g"], "limit 1");
        let notes = logs.seed("collectiq-prod/My notes", &["/g"], "limit 1");
        let nested = logs.seed("collectiq-prod/team/x", &["/g"], "limit 1");
        let slug = logs.seed("collectiq-prod/my-notes", &["/g"], "limit 1");

        let p = plan(&logs, &desired, "collectiq-prod").await.unwrap();
        let report = apply(&logs, &p, &NoProgress).await;
        assert!(report.ok(), "{}", report.render_text("saved queries"));
        assert_eq!(report.updated, ["collectiq-prod/errors"]);
        assert_eq!(report.created.len(), 3);
        let mut deleted = report.deleted.clone();
        deleted.sort();
        assert_eq!(
            deleted,
            [
                format!("collectiq-prod/ecs-errors ({orphan})"),
                format!("collectiq-prod/errors ({dup})")
            ]
        );
        let writes = logs.write_calls();
        assert!(
            writes.contains(&format!("Put {stale} collectiq-prod/errors")),
            "{writes:?}"
        );
        for id in [&eu, &notes, &nested, &slug] {
            assert!(
                writes.iter().all(|w| !w.contains(id.as_str())),
                "{id} was written: {writes:?}"
            );
        }
        let saved = logs.saved();
        let updated = saved.iter().find(|q| q.id == stale).unwrap();
        assert_eq!(updated.query_string, errors.query_string);
        assert_eq!(updated.log_group_names, errors.log_group_names);
        for id in [&eu, &notes, &nested, &slug] {
            assert!(saved.iter().any(|q| &q.id == id));
        }
        // The second run: nothing to write.
        let again = plan(&logs, &desired, "collectiq-prod").await.unwrap();
        assert!(again.is_empty(), "{}", again.render_text());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_put_is_named_and_the_rest_is_written() {
        let spec = spec();
        let desired = desired_queries(&spec).unwrap();
        let logs = FakeLogsQueries::default();
        logs.fail_put("collectiq-prod/user-activity", "LimitExceededException");
        let p = plan(&logs, &desired, "collectiq-prod").await.unwrap();
        let report = apply(&logs, &p, &NoProgress).await;
        assert_eq!(report.created.len(), 3);
        assert_eq!(report.failures.len(), 1);
        let text = report.render_text("saved queries");
        assert!(
            text.contains(
                "✗ collectiq-prod/user-activity (create): PutQueryDefinition: LimitExceededException"
            ),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_endpoint_without_the_api_is_a_note_other_errors_are_errors() {
        struct Answering(ApiError);
        impl LogsQueryApi for Answering {
            async fn describe_query_definitions(
                &self,
                _: &str,
                _: Option<String>,
            ) -> Result<QueryDefinitionPage, ApiError> {
                Err(self.0.clone())
            }
            async fn put_query_definition(
                &self,
                _: Option<&str>,
                _: &QueryDefinition,
            ) -> Result<String, ApiError> {
                Err(self.0.clone())
            }
            async fn delete_query_definition(&self, _: &str) -> Result<(), ApiError> {
                Err(self.0.clone())
            }
        }
        let err = |code: &str, status: u16| ApiError {
            operation: "DescribeQueryDefinitions",
            code: Some(code.into()),
            message: code.into(),
            status: Some(status),
            classified: None,
        };
        let desired = desired_queries(&spec()).unwrap();
        let moto = plan_or_skip(&Answering(err("NotImplemented", 501)), &desired, "collectiq-prod")
            .await
            .unwrap();
        assert!(moto.is_empty());
        let view = QueryPlanView::of(&moto);
        assert_eq!(
            view.note.as_deref(),
            Some(
                "Logs Insights saved queries not planned: the endpoint does not implement \
                 DescribeQueryDefinitions (4 to save)"
            )
        );
        let denied = plan_or_skip(
            &Answering(err("AccessDeniedException", 400)),
            &desired,
            "collectiq-prod",
        )
        .await
        .unwrap_err();
        assert_eq!(denied.code.as_deref(), Some("AccessDeniedException"));
    }

    #[test]
    fn the_view_names_creates_updates_and_deletes_with_ids() {
        let want = QueryDefinition::new("app-prod", "errors", ["/g"], "limit 2").unwrap();
        let saved = |id: &str, name: &str, q: &str| SavedQuery {
            id: id.into(),
            name: name.into(),
            log_group_names: vec!["/g".into()],
            query_string: q.into(),
        };
        let p = plan_queries(
            &[want],
            &[
                saved("1", "app-prod/errors", "limit 1"),
                saved("2", "app-prod/ecs-errors", "limit 1"),
            ],
            "app-prod",
        );
        let view = QueryPlanView::of(&QueryPlanning::Planned(p));
        assert!(view.create.is_empty());
        assert_eq!(
            view.update,
            [("app-prod/errors".to_owned(), vec!["query changed".to_owned()])]
        );
        assert_eq!(view.delete, ["app-prod/ecs-errors (2)"]);
        assert_eq!(view.unchanged, 0);
        assert_eq!(listing_prefix("app-prod"), "app-prod/");
    }
}
