//! Trace evidence through the real aws-sdk-xray client. moto answers `GetTraceSummaries` with a
//! `FilterExpression` by HTTP 500, so the request shape, paging and ordering are proven here with an SDK
//! test client: the client serializes the real request and parses the modeled output.

use aws_sdk_xray::operation::get_trace_summaries::GetTraceSummariesOutput;
use aws_sdk_xray::types::TraceSummary;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use chrono::{TimeZone, Utc};
use governance::publish::state::TraceApi;

const FILTER: &str = r#"service("prod-collectiq-authenticity-agent") { fault = true }"#;

fn summaries(ids: &[&str], next: Option<&str>) -> GetTraceSummariesOutput {
    let mut out = GetTraceSummariesOutput::builder();
    for id in ids {
        out = out.trace_summaries(TraceSummary::builder().id(*id).build());
    }
    out.set_next_token(next.map(str::to_owned)).build()
}

#[tokio::test]
async fn faulting_traces_sends_the_filter_reads_every_page_and_returns_the_newest() {
    let first = mock!(aws_sdk_xray::Client::get_trace_summaries)
        .match_requests(|r| {
            r.filter_expression() == Some(FILTER) && r.next_token().is_none() && r.sampling() == Some(false)
        })
        .then_output(|| {
            summaries(
                &[
                    "1-6920f1a0-000000000000000000000001",
                    "1-6920f2b0-000000000000000000000002",
                ],
                Some("page-2"),
            )
        });
    let second = mock!(aws_sdk_xray::Client::get_trace_summaries)
        .match_requests(|r| r.filter_expression() == Some(FILTER) && r.next_token() == Some("page-2"))
        .then_output(|| {
            // Pages come in no particular order and may repeat a trace.
            summaries(
                &[
                    "1-6920f3c0-000000000000000000000003",
                    "1-6920f1a0-000000000000000000000001",
                ],
                None,
            )
        });
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, &[&first, &second]);
    let end = Utc
        .with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
        .single()
        .unwrap_or_default();
    let start = end - chrono::Duration::hours(6);

    let ids = client.faulting_traces(FILTER, start, end, 2).await.unwrap();

    assert_eq!(
        ids,
        [
            "1-6920f3c0-000000000000000000000003",
            "1-6920f2b0-000000000000000000000002"
        ]
    );
    assert_eq!(first.num_calls(), 1);
    assert_eq!(second.num_calls(), 1);
    assert_eq!(
        alarms::state::xray_trace_url("us-east-1", &ids[0]),
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#xray:traces/\
         1-6920f3c0-000000000000000000000003"
    );
}

#[tokio::test]
async fn a_failing_trace_query_names_the_call() {
    let failing = mock!(aws_sdk_xray::Client::get_trace_summaries).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap_or_else(|_| unreachable!()),
            aws_smithy_types::body::SdkBody::from(r#"{"__type":"InternalFailure","message":"boom"}"#),
        )
    });
    let client = mock_client!(aws_sdk_xray, RuleMode::MatchAny, &[&failing]);
    let end = Utc::now();
    let err = client
        .faulting_traces(FILTER, end - chrono::Duration::hours(1), end, 3)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("GetTraceSummaries"), "{err}");
}
