//! Real SDK clients reading real error answers of each protocol (awsJson: DynamoDB, Cost Explorer;
//! awsQuery XML: SNS; Smithy RPCv2 CBOR: CloudWatch) over a replayed HTTP exchange: the SDK's own
//! deserializer parses the bytes, and [`AwsCallError`] must land each one in the class AWS documents.
#![allow(clippy::unwrap_used)] // test set-up helpers outside #[test] fns: failing loudly is the point

use aws_error::{AwsCallError, ErrorClass};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use aws_types::region::Region;

fn replay(uri: &str, status: u16, headers: &[(&str, &str)], body: impl Into<SdkBody>) -> StaticReplayClient {
    let mut response = http::Response::builder().status(status);
    for (k, v) in headers {
        response = response.header(*k, *v);
    }
    StaticReplayClient::new(vec![ReplayEvent::new(
        http::Request::builder().uri(uri).body(SdkBody::empty()).unwrap(),
        response.body(body.into()).unwrap(),
    )])
}

fn sdk_config(http: StaticReplayClient) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test"),
        ))
        .retry_config(RetryConfig::disabled())
        .http_client(http)
        .build()
}

async fn dynamodb(status: u16, body: &str) -> AwsCallError {
    let http = replay(
        "https://dynamodb.us-east-1.amazonaws.com/",
        status,
        &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-requestid", "REQ-DDB-1"),
        ],
        body.to_owned(),
    );
    let client = aws_sdk_dynamodb::Client::new(&sdk_config(http));
    client
        .get_item()
        .table_name("cards")
        .key("id", aws_sdk_dynamodb::types::AttributeValue::S("c-1".into()))
        .send()
        .await
        .map_err(AwsCallError::of("DynamoDB", "GetItem"))
        .unwrap_err()
}

#[tokio::test]
async fn dynamodb_throttle_is_retryable_and_flags_throttle() {
    let e = dynamodb(
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::Throttled);
    assert_eq!(e.code(), Some("ProvisionedThroughputExceededException"));
    assert_eq!(e.status(), Some(400));
    assert_eq!(e.request_id(), Some("REQ-DDB-1"));
    assert!(e.is_retryable() && e.is_throttle() && !e.is_fault());
    let flags = e.xray_flags();
    assert!(flags.error && flags.throttle && !flags.fault);
    assert!(e.advice().contains("throttled"), "{}", e.advice());
    // The SDK error is kept, typed, for callers that match modeled variants.
    let sdk = e
        .sdk_error::<aws_sdk_dynamodb::operation::get_item::GetItemError, aws_smithy_runtime_api::client::orchestrator::HttpResponse>()
        .expect("the source is the SDK error");
    assert!(matches!(
        sdk.as_service_error(),
        Some(aws_sdk_dynamodb::operation::get_item::GetItemError::ProvisionedThroughputExceededException(_))
    ));
    assert!(std::error::Error::source(&e).is_some());
    assert_eq!(
        e.to_string(),
        "DynamoDB GetItem: ProvisionedThroughputExceededException: The level of configured provisioned throughput for the table was exceeded. (HTTP 400, request id REQ-DDB-1)"
    );
}

#[tokio::test]
async fn internal_server_error_is_a_retryable_fault_not_a_throttle() {
    let e = dynamodb(
        500,
        r#"{"__type":"com.amazon.coral.service#InternalServerError","message":"boom"}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::ServerFault);
    assert_eq!(e.code(), Some("InternalServerError"));
    assert!(e.is_retryable() && e.is_fault() && !e.is_throttle());
    assert!(e.advice().contains("failed on its side"), "{}", e.advice());
}

#[tokio::test]
async fn missing_table_is_not_found_and_not_retryable() {
    let e = dynamodb(
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::NotFound);
    assert!(!e.is_retryable() && !e.is_fault());
    assert!(e.xray_flags().error);
    assert!(
        e.advice().contains("Requested resource not found"),
        "{}",
        e.advice()
    );
    assert_eq!(e.iam_action(), None);
}

#[tokio::test]
async fn access_denied_names_the_iam_action_from_the_message() {
    let e = dynamodb(
        400,
        r#"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:sts::123456789012:assumed-role/gov/x is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/cards because no identity-based policy allows the dynamodb:GetItem action"}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::AccessDenied);
    assert_eq!(e.iam_action().as_deref(), Some("dynamodb:GetItem"));
    assert!(!e.is_retryable());
    assert!(
        e.advice().contains("the role needs dynamodb:GetItem"),
        "{}",
        e.advice()
    );
}

#[tokio::test]
async fn rejected_credentials_are_denied_without_an_iam_action() {
    let e = dynamodb(
        400,
        r#"{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::AccessDenied);
    assert_eq!(e.iam_action(), None);
    assert!(e.advice().contains("credentials were rejected"), "{}", e.advice());
}

async fn cost_forecast(status: u16, body: &str) -> AwsCallError {
    let http = replay(
        "https://ce.us-east-1.amazonaws.com/",
        status,
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-requestid", "REQ-CE"),
        ],
        body.to_owned(),
    );
    let client = aws_sdk_costexplorer::Client::new(&sdk_config(http));
    client
        .get_cost_forecast()
        .send()
        .await
        .map_err(AwsCallError::of("CostExplorer", "GetCostForecast"))
        .unwrap_err()
}

#[tokio::test]
async fn cost_explorer_limit_exceeded_is_its_throttle() {
    let e = cost_forecast(
        400,
        r#"{"__type":"LimitExceededException","Message":"Rate exceeded"}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::Throttled);
    assert_eq!(e.message(), Some("Rate exceeded"));
    assert!(e.is_retryable());
}

#[tokio::test]
async fn cost_explorer_access_denied_falls_back_to_the_operations_action() {
    let e = cost_forecast(
        400,
        r#"{"__type":"AccessDeniedException","Message":"Access denied"}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::AccessDenied);
    assert_eq!(e.iam_action().as_deref(), Some("ce:GetCostForecast"));
}

#[tokio::test]
async fn an_emulator_without_the_operation_is_not_implemented() {
    // moto's answer to an operation it lacks.
    let e = cost_forecast(501, "The get_cost_forecast action has not been implemented").await;
    assert_eq!(e.class(), ErrorClass::NotImplemented);
    assert!(!e.is_retryable());
    assert!(
        e.advice().contains("does not implement GetCostForecast"),
        "{}",
        e.advice()
    );
    let e = cost_forecast(
        500,
        r#"{"message":"The get_cost_forecast action has not been implemented"}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::NotImplemented);
}

#[tokio::test]
async fn cost_explorer_data_unavailable_is_a_client_fault() {
    let e = cost_forecast(
        400,
        r#"{"__type":"DataUnavailableException","Message":"Insufficient amount of historical data"}"#,
    )
    .await;
    assert_eq!(e.class(), ErrorClass::ClientFault);
    assert_eq!(e.code(), Some("DataUnavailableException"));
    assert!(!e.is_retryable());
}

async fn sns_publish(status: u16, code: &str, message: &str) -> AwsCallError {
    let body = format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n  <Error>\n    <Type>Sender</Type>\n    \
         <Code>{code}</Code>\n    <Message>{message}</Message>\n  </Error>\n  <RequestId>REQ-SNS</RequestId>\n</ErrorResponse>\n"
    );
    let http = replay(
        "https://sns.us-east-1.amazonaws.com/",
        status,
        &[("content-type", "text/xml"), ("x-amzn-requestid", "REQ-SNS")],
        body,
    );
    let client = aws_sdk_sns::Client::new(&sdk_config(http));
    client
        .publish()
        .topic_arn("arn:aws:sns:us-east-1:123456789012:critical")
        .message("m")
        .send()
        .await
        .map_err(AwsCallError::of("SNS", "Publish"))
        .unwrap_err()
}

#[tokio::test]
async fn sns_query_xml_errors() {
    let e = sns_publish(429, "Throttled", "Rate exceeded").await;
    assert_eq!((e.class(), e.code()), (ErrorClass::Throttled, Some("Throttled")));
    assert_eq!(e.request_id(), Some("REQ-SNS"));

    let e = sns_publish(403, "AuthorizationError", "User is not authorized to perform: SNS:Publish on resource: arn:aws:sns:us-east-1:123456789012:critical").await;
    assert_eq!(e.class(), ErrorClass::AccessDenied);
    assert_eq!(e.iam_action().as_deref(), Some("SNS:Publish"));

    let e = sns_publish(404, "NotFound", "Topic does not exist").await;
    assert_eq!(e.class(), ErrorClass::NotFound);

    let e = sns_publish(500, "InternalError", "Internal error").await;
    assert_eq!(e.class(), ErrorClass::ServerFault);
    assert!(e.is_retryable());
}

/// A CBOR text string (RFC 8949 major type 3).
fn cbor_text(out: &mut Vec<u8>, s: &str) {
    let len = s.len();
    if len < 24 {
        out.push(0x60 | u8::try_from(len).unwrap());
    } else {
        out.push(0x78);
        out.push(u8::try_from(len).unwrap());
    }
    out.extend_from_slice(s.as_bytes());
}

async fn cloudwatch_put_alarm(
    status: u16,
    type_: &str,
    message: &str,
    query_error: Option<&str>,
) -> AwsCallError {
    let mut body = vec![0xa2];
    cbor_text(&mut body, "__type");
    cbor_text(&mut body, type_);
    cbor_text(&mut body, "message");
    cbor_text(&mut body, message);
    let mut headers = vec![
        ("content-type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("x-amzn-requestid", "REQ-CW"),
    ];
    if let Some(q) = query_error {
        headers.push(("x-amzn-query-error", q));
    }
    let http = replay(
        "https://monitoring.us-east-1.amazonaws.com/",
        status,
        &headers,
        body,
    );
    let client = aws_sdk_cloudwatch::Client::new(&sdk_config(http));
    client
        .put_metric_alarm()
        .alarm_name("a")
        .send()
        .await
        .map_err(AwsCallError::of("CloudWatch", "PutMetricAlarm"))
        .unwrap_err()
}

#[tokio::test]
async fn cloudwatch_cbor_errors() {
    let e = cloudwatch_put_alarm(
        400,
        "com.amazonaws.cloudwatch#ThrottlingException",
        "Rate exceeded",
        Some("Throttling;Sender"),
    )
    .await;
    assert_eq!((e.class(), e.code()), (ErrorClass::Throttled, Some("Throttling")));
    assert_eq!(e.request_id(), Some("REQ-CW"));

    // The alarm quota is a limit, not a rate: retrying will not help.
    let e = cloudwatch_put_alarm(
        400,
        "com.amazonaws.cloudwatch#LimitExceededFault",
        "The maximum number of alarms",
        Some("LimitExceeded;Sender"),
    )
    .await;
    assert_eq!(
        (e.class(), e.code()),
        (ErrorClass::ClientFault, Some("LimitExceeded"))
    );
    assert!(!e.is_retryable());

    let e = cloudwatch_put_alarm(
        500,
        "com.amazonaws.cloudwatch#InternalServiceFault",
        "Internal",
        Some("InternalServiceError;Receiver"),
    )
    .await;
    assert_eq!(e.class(), ErrorClass::ServerFault);
}
