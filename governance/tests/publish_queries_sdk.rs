//! Logs Insights saved queries through the real aws-sdk-cloudwatchlogs client. moto 5.2.5 implements
//! none of `DescribeQueryDefinitions`, `PutQueryDefinition` and `DeleteQueryDefinition`, so the wire
//! format is proven here with a replay HTTP client: the SDK serializes the real request (awsJson 1.1,
//! `X-Amz-Target: Logs_20140328.<Op>`) and parses the answer as the API reference documents it.
//! Expected request bodies are written from the API reference
//! (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutQueryDefinition.html>
//! and its siblings), not from the adapter.

#![allow(clippy::unwrap_used, clippy::expect_used)] // set-up helpers of a test binary

use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use dashboards::queries::{QueryAction, QueryDefinition, SavedQuery, plan_queries};
use governance::publish::NoProgress;
use governance::publish::queries::{QueryPlanning, apply, plan_or_skip, read_saved};
use serde_json::{Value, json};

fn client(http: StaticReplayClient) -> aws_sdk_cloudwatchlogs::Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .http_client(http)
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

/// One exchange: any request, answered with `status`, an optional error type and a JSON body.
fn answer(status: u16, error_type: Option<&str>, body: Value) -> ReplayEvent {
    let mut response = http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1");
    if let Some(t) = error_type {
        response = response.header("x-amzn-errortype", t);
    }
    ReplayEvent::new(
        http::Request::builder()
            .uri("https://logs.us-east-1.amazonaws.com/")
            .body(SdkBody::empty())
            .unwrap(),
        response.body(SdkBody::from(body.to_string())).unwrap(),
    )
}

/// Every request `http` saw: `(X-Amz-Target, JSON body)`.
fn sent(http: &StaticReplayClient) -> Vec<(String, Value)> {
    http.actual_requests()
        .map(|r| {
            (
                r.headers().get("x-amz-target").unwrap_or_default().to_owned(),
                serde_json::from_slice(r.body().bytes().unwrap()).unwrap(),
            )
        })
        .collect()
}

fn saved_json(id: &str, name: &str, query: &str) -> Value {
    json!({"queryDefinitionId": id, "name": name, "queryString": query,
           "logGroupNames": ["/aws/lambda/app-prod-api"], "lastModified": 1_764_633_600_000_i64})
}

#[tokio::test]
async fn describe_asks_for_the_folder_prefix_and_follows_next_token() {
    let http = StaticReplayClient::new(vec![
        answer(
            200,
            None,
            json!({"queryDefinitions": [
                saved_json("id-1", "app-prod/errors", "limit 1"),
                saved_json("id-2", "app-prod/My notes", "limit 2"),
            ], "nextToken": "page-2"}),
        ),
        answer(
            200,
            None,
            json!({"queryDefinitions": [saved_json("id-3", "app-prod/old", "limit 3")]}),
        ),
    ]);
    let logs = client(http.clone());
    let saved = read_saved(&logs, "app-prod").await.unwrap();
    let ids: Vec<&str> = saved.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["id-1", "id-2", "id-3"]);
    assert_eq!(saved[0].log_group_names, ["/aws/lambda/app-prod-api"]);
    assert_eq!(saved[2].query_string, "limit 3");
    let requests = sent(&http);
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].0, "Logs_20140328.DescribeQueryDefinitions");
    // The folder prefix with its slash: `app-prod-eu/…` is not even listed.
    assert_eq!(
        requests[0].1,
        json!({"queryDefinitionNamePrefix": "app-prod/", "maxResults": 1000})
    );
    assert_eq!(
        requests[1].1,
        json!({"queryDefinitionNamePrefix": "app-prod/", "maxResults": 1000, "nextToken": "page-2"})
    );
}

#[tokio::test]
async fn apply_updates_with_the_saved_id_creates_without_one_and_deletes_the_orphan() {
    let changed = QueryDefinition::new(
        "app-prod",
        "errors",
        ["/aws/lambda/app-prod-api"],
        "filter level = 'ERROR' | limit 20",
    )
    .unwrap();
    let new = QueryDefinition::new(
        "app-prod",
        "user-activity",
        ["/aws/lambda/app-prod-api", "/aws/lambda/app-prod-worker"],
        "stats count(*) by bin(1h)",
    )
    .unwrap();
    let saved = |id: &str, name: &str, q: &str| SavedQuery {
        id: id.into(),
        name: name.into(),
        log_group_names: vec!["/aws/lambda/app-prod-api".into()],
        query_string: q.into(),
    };
    let plan = plan_queries(
        &[changed.clone(), new.clone()],
        &[
            saved("id-errors", "app-prod/errors", "limit 20"),
            saved("id-old", "app-prod/ecs-errors", "limit 1"),
            saved("id-mine", "app-prod/My notes", "limit 1"),
        ],
        "app-prod",
    );
    assert_eq!(plan.count(QueryAction::Update), 1);
    assert_eq!(plan.count(QueryAction::Create), 1);
    let http = StaticReplayClient::new(vec![
        answer(200, None, json!({"queryDefinitionId": "id-errors"})),
        answer(200, None, json!({"queryDefinitionId": "id-new"})),
        answer(200, None, json!({"success": true})),
    ]);
    let report = apply(&client(http.clone()), &plan, &NoProgress).await;
    assert!(report.ok(), "{}", report.render_text("saved queries"));
    assert_eq!(report.updated, ["app-prod/errors"]);
    assert_eq!(report.created, ["app-prod/user-activity"]);
    assert_eq!(report.deleted, ["app-prod/ecs-errors (id-old)"]);
    assert_eq!(report.write_calls, 3);

    let requests = sent(&http);
    let targets: Vec<&str> = requests.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        targets,
        [
            "Logs_20140328.PutQueryDefinition",
            "Logs_20140328.PutQueryDefinition",
            "Logs_20140328.DeleteQueryDefinition"
        ]
    );
    let update = &requests[0].1;
    // Update in place: the saved id, and every field (PutQueryDefinition keeps nothing of the old one).
    assert_eq!(update["queryDefinitionId"], "id-errors");
    assert_eq!(update["name"], "app-prod/errors");
    assert_eq!(update["queryString"], "filter level = 'ERROR' | limit 20");
    assert_eq!(update["logGroupNames"], json!(["/aws/lambda/app-prod-api"]));
    assert_eq!(update["queryLanguage"], "CWLI");
    // The SDK fills the idempotency token (36..=128 non-space characters).
    let token = update["clientToken"].as_str().unwrap();
    assert!(token.len() >= 36 && !token.contains(' '), "{token}");
    let create = &requests[1].1;
    assert!(create.get("queryDefinitionId").is_none(), "{create}");
    assert_eq!(create["name"], "app-prod/user-activity");
    assert_eq!(
        create["logGroupNames"],
        json!(["/aws/lambda/app-prod-api", "/aws/lambda/app-prod-worker"])
    );
    assert_eq!(requests[2].1, json!({"queryDefinitionId": "id-old"}));
    // The colleague's "My notes" was never sent anywhere.
    assert!(requests.iter().all(|(_, b)| !b.to_string().contains("id-mine")));
}

#[tokio::test]
async fn failed_writes_are_named_and_do_not_stop_the_rest() {
    let orphan = SavedQuery {
        id: "id-old".into(),
        name: "app-prod/ecs-errors".into(),
        log_group_names: vec!["/g".into()],
        query_string: "limit 1".into(),
    };
    let plan = plan_queries(
        &[QueryDefinition::new("app-prod", "errors", ["/g"], "limit 1").unwrap()],
        std::slice::from_ref(&orphan),
        "app-prod",
    );
    let http = StaticReplayClient::new(vec![answer(
        400,
        Some("LimitExceededException"),
        json!({"__type": "LimitExceededException", "message": "too many query definitions"}),
    )]);
    let report = apply(&client(http), &plan, &NoProgress).await;
    assert_eq!(report.failures.len(), 1);
    // After a failed put the orphan stays (it may be the definition the put was to replace): named as
    // kept, not deleted.
    assert_eq!(report.write_calls, 1);
    assert_eq!(report.kept, ["app-prod/ecs-errors (id-old)"]);
    let put = &report.failures[0];
    assert_eq!((put.name.as_str(), put.action), ("app-prod/errors", "create"));
    assert_eq!(put.error.code.as_deref(), Some("LimitExceededException"));
    assert_eq!(put.error.status, Some(400));

    // A delete answered `success: false` is a failure named with its id.
    let orphan_only = plan_queries(&[], &[orphan], "app-prod");
    let http = StaticReplayClient::new(vec![answer(200, None, json!({"success": false}))]);
    let report = apply(&client(http), &orphan_only, &NoProgress).await;
    assert_eq!((report.failures.len(), report.write_calls), (1, 1));
    let delete = &report.failures[0];
    assert_eq!(delete.name, "app-prod/ecs-errors (id-old)");
    assert!(delete.error.message.contains("success=false"), "{}", delete.error);
}

#[tokio::test]
async fn an_endpoint_without_the_api_is_a_note_and_access_denied_is_an_error() {
    let desired = [QueryDefinition::new("app-prod", "errors", ["/g"], "limit 1").unwrap()];
    // What the emulator answers (HTTP 501, `NotImplemented`).
    let moto = StaticReplayClient::new(vec![answer(
        501,
        None,
        json!({"__type": "NotImplemented", "message": "moto does not implement DescribeQueryDefinitions"}),
    )]);
    let planning = plan_or_skip(&client(moto), &desired, "app-prod").await.unwrap();
    assert!(
        matches!(&planning, QueryPlanning::Unsupported(note) if note.contains("DescribeQueryDefinitions"))
    );
    assert!(planning.is_empty());
    // A role without logs:DescribeQueryDefinitions: an error naming the call, never a silent skip.
    let denied = StaticReplayClient::new(vec![answer(
        400,
        Some("AccessDeniedException"),
        json!({"__type": "AccessDeniedException", "message": "not authorized to perform: logs:DescribeQueryDefinitions"}),
    )]);
    let err = plan_or_skip(&client(denied), &desired, "app-prod")
        .await
        .unwrap_err();
    assert_eq!(err.operation, "DescribeQueryDefinitions");
    assert_eq!(err.code.as_deref(), Some("AccessDeniedException"));
}
