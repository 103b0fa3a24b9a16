//! AWS metrics as typed constants: each [`AwsMetric`] carries its namespace, its name and every
//! dimension set CloudWatch publishes it with, so a reader cannot name one without the other.
//!
//! Sources (the "metrics and dimensions" page of each service; the tests at the bottom repeat the
//! values from these pages):
//! - Lambda: <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html>
//! - API Gateway HTTP APIs: <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html>,
//!   REST APIs: <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html>
//! - Step Functions: <https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html>
//! - DynamoDB: <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html>
//! - SQS: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html>
//! - S3: <https://docs.aws.amazon.com/AmazonS3/latest/userguide/metrics-dimensions.html>
//! - Bedrock: <https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-runtime-metrics.html>
//! - Rekognition: <https://docs.aws.amazon.com/rekognition/latest/dg/rekognition-monitoring.html>
//! - ECS: <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html>
//! - ALB: <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html>
//! - Billing: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/monitor_estimated_charges_with_cloudwatch.html>
//! - EventBridge: <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html>
//!
//! Cross-checked with cdk-monitoring-constructs' metric factories and `shared/reference/dashboards-alarms-anchors.md` §6.

use crate::dimension::{
    API_ID, API_NAME, AVAILABILITY_ZONE, BUCKET_NAME, CLUSTER_NAME, CURRENCY, EXECUTED_VERSION, FILTER_ID,
    FUNCTION_NAME, GLOBAL_SECONDARY_INDEX_NAME, LAMBDA_FUNCTION_ARN, LOAD_BALANCER, METHOD, MODEL_ID,
    OPERATION, QUEUE_NAME, RESOURCE, RULE_NAME, SERVICE_INTEGRATION_RESOURCE_ARN, SERVICE_NAME, STAGE,
    STATE_MACHINE_ARN, STORAGE_TYPE, TABLE_NAME, TARGET_GROUP,
};
use crate::namespace;

/// An AWS metric and every dimension set it is published with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsMetric {
    /// Namespace (`AWS/Lambda`).
    pub namespace: &'static str,
    /// Metric name (`Errors`).
    pub name: &'static str,
    /// The dimension sets it is published with (order-free); `&[]` is the account/region aggregate.
    pub dimension_sets: &'static [&'static [&'static str]],
}

impl AwsMetric {
    /// Whether `keys` (in any order) is exactly one of the sets this metric is published with.
    ///
    /// ```
    /// use vocabulary::aws::lambda;
    /// assert!(lambda::ERRORS.is_published_with(&["FunctionName"]));
    /// assert!(!lambda::ERRORS.is_published_with(&["FunctionName", "Stage"]));
    /// ```
    #[must_use]
    pub fn is_published_with(&self, keys: &[&str]) -> bool {
        self.dimension_sets.iter().any(|set| same_set(keys, set))
    }
}

/// Whether two dimension-key lists are the same set (CloudWatch ignores their order).
pub(crate) fn same_set(have: &[&str], want: &[&str]) -> bool {
    let mut a: Vec<&str> = have.to_vec();
    let mut b: Vec<&str> = want.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

macro_rules! service {
    ($(#[$mdoc:meta])* $module:ident, $ns:expr, $( $sets:expr => [ $( $id:ident = $name:literal ),+ $(,)? ] );+ $(;)?) => {
        $(#[$mdoc])*
        pub mod $module {
            #[allow(unused_imports)]
            use super::*;
            $( $(
                #[doc = concat!("`", $name, "`.")]
                pub const $id: AwsMetric = AwsMetric { namespace: $ns, name: $name, dimension_sets: $sets };
            )+ )+
            /// Every metric of this service in the vocabulary.
            pub const ALL: &[AwsMetric] = &[ $( $( $id, )+ )+ ];
        }
    };
}

// `ExecutedVersion` comes only with an alias's `Resource` (an alias invocation: the version that ran
// it), as CDK's metric metadata lists the sets and the canary alarms in infra/modules/backend/deploy.tf read.
const LAMBDA_SETS: &[&[&str]] = &[
    &[],
    &[FUNCTION_NAME],
    &[FUNCTION_NAME, RESOURCE],
    &[FUNCTION_NAME, RESOURCE, EXECUTED_VERSION],
];
// Detailed (route-level) metrics come as `ApiId`+`Method`+`Resource`+`Stage` (API Gateway developer
// guide, "Monitor CloudWatch metrics for HTTP APIs"; cdk-monitoring-constructs'
// ApiGatewayV2HttpApiMetricFactory), not a `Route` dimension.
const HTTP_API_SETS: &[&[&str]] = &[&[API_ID], &[API_ID, STAGE], &[API_ID, METHOD, RESOURCE, STAGE]];
const REST_API_SETS: &[&[&str]] = &[
    &[API_NAME],
    &[API_NAME, STAGE],
    &[API_NAME, METHOD, RESOURCE, STAGE],
];
const HTTP_AND_REST_SETS: &[&[&str]] = &[
    &[API_ID],
    &[API_ID, STAGE],
    &[API_ID, METHOD, RESOURCE, STAGE],
    &[API_NAME],
    &[API_NAME, STAGE],
    &[API_NAME, METHOD, RESOURCE, STAGE],
];
const STATES_SETS: &[&[&str]] = &[&[STATE_MACHINE_ARN]];
const STATES_LAMBDA_SETS: &[&[&str]] = &[&[LAMBDA_FUNCTION_ARN]];
const STATES_SERVICE_SETS: &[&[&str]] = &[&[SERVICE_INTEGRATION_RESOURCE_ARN]];
const DDB_TABLE_GSI_SETS: &[&[&str]] = &[&[TABLE_NAME], &[TABLE_NAME, GLOBAL_SECONDARY_INDEX_NAME]];
const DDB_OPERATION_SETS: &[&[&str]] = &[&[TABLE_NAME, OPERATION]];
const DDB_TABLE_SETS: &[&[&str]] = &[&[TABLE_NAME]];
const ACCOUNT_SETS: &[&[&str]] = &[&[]];
const SQS_SETS: &[&[&str]] = &[&[QUEUE_NAME]];
const S3_STORAGE_SETS: &[&[&str]] = &[&[BUCKET_NAME, STORAGE_TYPE]];
const S3_REQUEST_SETS: &[&[&str]] = &[&[BUCKET_NAME, FILTER_ID]];
const BEDROCK_SETS: &[&[&str]] = &[&[], &[MODEL_ID]];
const REKOGNITION_SETS: &[&[&str]] = &[&[], &[OPERATION]];
const ECS_SETS: &[&[&str]] = &[&[CLUSTER_NAME], &[CLUSTER_NAME, SERVICE_NAME]];
const ALB_LB_TG_SETS: &[&[&str]] = &[
    &[LOAD_BALANCER],
    &[LOAD_BALANCER, TARGET_GROUP],
    &[LOAD_BALANCER, AVAILABILITY_ZONE],
    &[LOAD_BALANCER, TARGET_GROUP, AVAILABILITY_ZONE],
];
const ALB_LB_SETS: &[&[&str]] = &[&[LOAD_BALANCER], &[LOAD_BALANCER, AVAILABILITY_ZONE]];
const ALB_TG_SETS: &[&[&str]] = &[
    &[LOAD_BALANCER, TARGET_GROUP],
    &[LOAD_BALANCER, TARGET_GROUP, AVAILABILITY_ZONE],
];
const BILLING_SETS: &[&[&str]] = &[&[CURRENCY], &[CURRENCY, SERVICE_NAME]];
const EVENTS_SETS: &[&[&str]] = &[&[], &[RULE_NAME]];

service! {
    /// `AWS/Lambda`, by `FunctionName` (also `Resource`, `ExecutedVersion`, or the account aggregate).
    lambda, namespace::LAMBDA,
    LAMBDA_SETS => [
        INVOCATIONS = "Invocations", ERRORS = "Errors", THROTTLES = "Throttles", DURATION = "Duration",
        CONCURRENT_EXECUTIONS = "ConcurrentExecutions",
        UNRESERVED_CONCURRENT_EXECUTIONS = "UnreservedConcurrentExecutions", ITERATOR_AGE = "IteratorAge",
        DEAD_LETTER_ERRORS = "DeadLetterErrors", DESTINATION_DELIVERY_FAILURES = "DestinationDeliveryFailures",
        PROVISIONED_CONCURRENCY_SPILLOVER_INVOCATIONS = "ProvisionedConcurrencySpilloverInvocations",
        PROVISIONED_CONCURRENT_EXECUTIONS = "ProvisionedConcurrentExecutions",
        ASYNC_EVENTS_RECEIVED = "AsyncEventsReceived", ASYNC_EVENT_AGE = "AsyncEventAge",
        ASYNC_EVENTS_DROPPED = "AsyncEventsDropped", RECURSIVE_INVOCATIONS_DROPPED = "RecursiveInvocationsDropped",
    ];
}

service! {
    /// `AWS/ApiGateway`. HTTP APIs spell their error metrics in lowercase (`4xx`, `5xx`) with `ApiId`;
    /// REST APIs use `4XXError`/`5XXError` with `ApiName`. Mixing the two never has data.
    api_gateway, namespace::API_GATEWAY,
    HTTP_API_SETS => [HTTP_4XX = "4xx", HTTP_5XX = "5xx", DATA_PROCESSED = "DataProcessed"];
    REST_API_SETS => [
        REST_4XX_ERROR = "4XXError", REST_5XX_ERROR = "5XXError", CACHE_HIT_COUNT = "CacheHitCount",
        CACHE_MISS_COUNT = "CacheMissCount",
    ];
    HTTP_AND_REST_SETS => [COUNT = "Count", LATENCY = "Latency", INTEGRATION_LATENCY = "IntegrationLatency"];
}

service! {
    /// `AWS/States`: executions by `StateMachineArn`, Lambda tasks by `LambdaFunctionArn`.
    /// `ExecutionThrottled` is singular.
    states, namespace::STATES,
    STATES_SETS => [
        EXECUTIONS_STARTED = "ExecutionsStarted", EXECUTIONS_SUCCEEDED = "ExecutionsSucceeded",
        EXECUTIONS_FAILED = "ExecutionsFailed", EXECUTIONS_ABORTED = "ExecutionsAborted",
        EXECUTIONS_TIMED_OUT = "ExecutionsTimedOut", EXECUTION_THROTTLED = "ExecutionThrottled",
        EXECUTION_TIME = "ExecutionTime", EXECUTIONS_REDRIVEN = "ExecutionsRedriven",
        REDRIVEN_EXECUTIONS_SUCCEEDED = "RedrivenExecutionsSucceeded",
        REDRIVEN_EXECUTIONS_FAILED = "RedrivenExecutionsFailed",
        REDRIVEN_EXECUTIONS_ABORTED = "RedrivenExecutionsAborted",
        REDRIVEN_EXECUTIONS_TIMED_OUT = "RedrivenExecutionsTimedOut",
    ];
    STATES_LAMBDA_SETS => [
        LAMBDA_FUNCTIONS_SCHEDULED = "LambdaFunctionsScheduled", LAMBDA_FUNCTIONS_STARTED = "LambdaFunctionsStarted",
        LAMBDA_FUNCTIONS_SUCCEEDED = "LambdaFunctionsSucceeded", LAMBDA_FUNCTIONS_FAILED = "LambdaFunctionsFailed",
        LAMBDA_FUNCTIONS_TIMED_OUT = "LambdaFunctionsTimedOut", LAMBDA_FUNCTION_RUN_TIME = "LambdaFunctionRunTime",
        LAMBDA_FUNCTION_SCHEDULE_TIME = "LambdaFunctionScheduleTime", LAMBDA_FUNCTION_TIME = "LambdaFunctionTime",
    ];
    STATES_SERVICE_SETS => [
        SERVICE_INTEGRATIONS_SCHEDULED = "ServiceIntegrationsScheduled",
        SERVICE_INTEGRATIONS_STARTED = "ServiceIntegrationsStarted",
        SERVICE_INTEGRATIONS_SUCCEEDED = "ServiceIntegrationsSucceeded",
        SERVICE_INTEGRATIONS_FAILED = "ServiceIntegrationsFailed",
        SERVICE_INTEGRATIONS_TIMED_OUT = "ServiceIntegrationsTimedOut",
        SERVICE_INTEGRATION_RUN_TIME = "ServiceIntegrationRunTime",
        SERVICE_INTEGRATION_SCHEDULE_TIME = "ServiceIntegrationScheduleTime",
        SERVICE_INTEGRATION_TIME = "ServiceIntegrationTime",
    ];
}

service! {
    /// `AWS/DynamoDB`: capacity and throttle events by `TableName` (+ `GlobalSecondaryIndexName`),
    /// request metrics by `TableName` + `Operation`, `UserErrors` for the account only.
    dynamodb, namespace::DYNAMODB,
    DDB_TABLE_GSI_SETS => [
        CONSUMED_READ_CAPACITY_UNITS = "ConsumedReadCapacityUnits",
        CONSUMED_WRITE_CAPACITY_UNITS = "ConsumedWriteCapacityUnits",
        PROVISIONED_READ_CAPACITY_UNITS = "ProvisionedReadCapacityUnits",
        PROVISIONED_WRITE_CAPACITY_UNITS = "ProvisionedWriteCapacityUnits",
        READ_THROTTLE_EVENTS = "ReadThrottleEvents", WRITE_THROTTLE_EVENTS = "WriteThrottleEvents",
        ONLINE_INDEX_PERCENTAGE_PROGRESS = "OnlineIndexPercentageProgress",
        ONLINE_INDEX_CONSUMED_WRITE_CAPACITY = "OnlineIndexConsumedWriteCapacity",
        ONLINE_INDEX_THROTTLE_EVENTS = "OnlineIndexThrottleEvents",
        READ_MAX_ON_DEMAND_THROUGHPUT_THROTTLE_EVENTS = "ReadMaxOnDemandThroughputThrottleEvents",
        WRITE_MAX_ON_DEMAND_THROUGHPUT_THROTTLE_EVENTS = "WriteMaxOnDemandThroughputThrottleEvents",
    ];
    DDB_OPERATION_SETS => [
        THROTTLED_REQUESTS = "ThrottledRequests", SYSTEM_ERRORS = "SystemErrors",
        SUCCESSFUL_REQUEST_LATENCY = "SuccessfulRequestLatency", RETURNED_ITEM_COUNT = "ReturnedItemCount",
        TRANSACTION_CONFLICT = "TransactionConflict",
    ];
    DDB_TABLE_SETS => [
        CONDITIONAL_CHECK_FAILED_REQUESTS = "ConditionalCheckFailedRequests",
        TIME_TO_LIVE_DELETED_ITEM_COUNT = "TimeToLiveDeletedItemCount", REPLICATION_LATENCY = "ReplicationLatency",
    ];
    ACCOUNT_SETS => [USER_ERRORS = "UserErrors"];
}

service! {
    /// `AWS/SQS`, by `QueueName`. For DLQ depth, alarm on `ApproximateNumberOfMessagesVisible`.
    sqs, namespace::SQS,
    SQS_SETS => [
        APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE = "ApproximateNumberOfMessagesVisible",
        APPROXIMATE_NUMBER_OF_MESSAGES_NOT_VISIBLE = "ApproximateNumberOfMessagesNotVisible",
        APPROXIMATE_NUMBER_OF_MESSAGES_DELAYED = "ApproximateNumberOfMessagesDelayed",
        APPROXIMATE_AGE_OF_OLDEST_MESSAGE = "ApproximateAgeOfOldestMessage",
        NUMBER_OF_MESSAGES_SENT = "NumberOfMessagesSent", NUMBER_OF_MESSAGES_RECEIVED = "NumberOfMessagesReceived",
        NUMBER_OF_MESSAGES_DELETED = "NumberOfMessagesDeleted", NUMBER_OF_EMPTY_RECEIVES = "NumberOfEmptyReceives",
        SENT_MESSAGE_SIZE = "SentMessageSize",
    ];
}

service! {
    /// `AWS/S3`: daily storage metrics by `BucketName` + `StorageType`; request metrics only for buckets
    /// with a metrics configuration (its id is `FilterId`).
    s3, namespace::S3,
    S3_STORAGE_SETS => [BUCKET_SIZE_BYTES = "BucketSizeBytes", NUMBER_OF_OBJECTS = "NumberOfObjects"];
    S3_REQUEST_SETS => [
        ALL_REQUESTS = "AllRequests", GET_REQUESTS = "GetRequests", PUT_REQUESTS = "PutRequests",
        DELETE_REQUESTS = "DeleteRequests", HEAD_REQUESTS = "HeadRequests", POST_REQUESTS = "PostRequests",
        LIST_REQUESTS = "ListRequests", BYTES_DOWNLOADED = "BytesDownloaded", BYTES_UPLOADED = "BytesUploaded",
        ERRORS_4XX = "4xxErrors", ERRORS_5XX = "5xxErrors", FIRST_BYTE_LATENCY = "FirstByteLatency",
        TOTAL_REQUEST_LATENCY = "TotalRequestLatency",
    ];
}

service! {
    /// `AWS/Bedrock` runtime metrics, by `ModelId` or for the account. Throttled requests count in
    /// neither `Invocations` nor the error metrics.
    bedrock, namespace::BEDROCK,
    BEDROCK_SETS => [
        INVOCATIONS = "Invocations", INVOCATION_LATENCY = "InvocationLatency",
        INVOCATION_CLIENT_ERRORS = "InvocationClientErrors", INVOCATION_SERVER_ERRORS = "InvocationServerErrors",
        INVOCATION_THROTTLES = "InvocationThrottles", INPUT_TOKEN_COUNT = "InputTokenCount",
        OUTPUT_TOKEN_COUNT = "OutputTokenCount", OUTPUT_IMAGE_COUNT = "OutputImageCount",
        LEGACY_MODEL_INVOCATIONS = "LegacyModelInvocations",
        CACHE_READ_INPUT_TOKEN_COUNT = "CacheReadInputTokenCount",
        CACHE_WRITE_INPUT_TOKEN_COUNT = "CacheWriteInputTokenCount",
    ];
}

service! {
    /// `AWS/Rekognition`, by `Operation` or for the account.
    rekognition, namespace::REKOGNITION,
    REKOGNITION_SETS => [
        SUCCESSFUL_REQUEST_COUNT = "SuccessfulRequestCount", THROTTLED_COUNT = "ThrottledCount",
        RESPONSE_TIME = "ResponseTime", SERVER_ERROR_COUNT = "ServerErrorCount", USER_ERROR_COUNT = "UserErrorCount",
        DETECTED_FACE_COUNT = "DetectedFaceCount", DETECTED_LABEL_COUNT = "DetectedLabelCount",
    ];
}

service! {
    /// `AWS/ECS`, by `ClusterName` or `ClusterName` + `ServiceName` (never `ServiceName` alone).
    ecs, namespace::ECS,
    ECS_SETS => [
        CPU_UTILIZATION = "CPUUtilization", MEMORY_UTILIZATION = "MemoryUtilization",
        CPU_RESERVATION = "CPUReservation", MEMORY_RESERVATION = "MemoryReservation",
    ];
}

service! {
    /// `AWS/ApplicationELB`: target metrics by `LoadBalancer` (+ `TargetGroup`), load-balancer metrics by
    /// `LoadBalancer` only, host counts by `LoadBalancer` + `TargetGroup`.
    application_elb, namespace::APPLICATION_ELB,
    ALB_LB_TG_SETS => [
        REQUEST_COUNT = "RequestCount", TARGET_RESPONSE_TIME = "TargetResponseTime",
        HTTP_CODE_TARGET_2XX_COUNT = "HTTPCode_Target_2XX_Count", HTTP_CODE_TARGET_3XX_COUNT = "HTTPCode_Target_3XX_Count",
        HTTP_CODE_TARGET_4XX_COUNT = "HTTPCode_Target_4XX_Count", HTTP_CODE_TARGET_5XX_COUNT = "HTTPCode_Target_5XX_Count",
        TARGET_CONNECTION_ERROR_COUNT = "TargetConnectionErrorCount",
    ];
    ALB_LB_SETS => [
        HTTP_CODE_ELB_4XX_COUNT = "HTTPCode_ELB_4XX_Count", HTTP_CODE_ELB_5XX_COUNT = "HTTPCode_ELB_5XX_Count",
        ACTIVE_CONNECTION_COUNT = "ActiveConnectionCount", NEW_CONNECTION_COUNT = "NewConnectionCount",
        CONSUMED_LCUS = "ConsumedLCUs", PROCESSED_BYTES = "ProcessedBytes",
        REJECTED_CONNECTION_COUNT = "RejectedConnectionCount",
    ];
    ALB_TG_SETS => [
        HEALTHY_HOST_COUNT = "HealthyHostCount", UN_HEALTHY_HOST_COUNT = "UnHealthyHostCount",
        REQUEST_COUNT_PER_TARGET = "RequestCountPerTarget",
    ];
}

service! {
    /// `AWS/Billing` (`us-east-1` only, with "Receive Billing Alerts" on), by `Currency` (+ `ServiceName`).
    billing, namespace::BILLING,
    BILLING_SETS => [ESTIMATED_CHARGES = "EstimatedCharges"];
}

service! {
    /// `AWS/Events`, by `RuleName` or for the account.
    events, namespace::EVENTS,
    EVENTS_SETS => [
        INVOCATIONS = "Invocations", FAILED_INVOCATIONS = "FailedInvocations", TRIGGERED_RULES = "TriggeredRules",
        THROTTLED_RULES = "ThrottledRules", MATCHED_EVENTS = "MatchedEvents",
        DEAD_LETTER_INVOCATIONS = "DeadLetterInvocations",
    ];
}

/// Every service module's metrics.
const SERVICES: &[&[AwsMetric]] = &[
    lambda::ALL,
    api_gateway::ALL,
    states::ALL,
    dynamodb::ALL,
    sqs::ALL,
    s3::ALL,
    bedrock::ALL,
    rekognition::ALL,
    ecs::ALL,
    application_elb::ALL,
    billing::ALL,
    events::ALL,
];

/// Every AWS metric in the vocabulary.
///
/// ```
/// assert!(vocabulary::aws::all().any(|m| m.namespace == "AWS/Bedrock" && m.name == "OutputTokenCount"));
/// ```
pub fn all() -> impl Iterator<Item = &'static AwsMetric> {
    SERVICES.iter().flat_map(|s| s.iter())
}

#[cfg(test)]
mod tests {
    //! Expected values are written from the AWS pages named in the module docs, not from the table.
    use super::*;
    use std::collections::HashSet;

    fn sets(m: &AwsMetric) -> Vec<Vec<&'static str>> {
        m.dimension_sets
            .iter()
            .map(|s| {
                let mut v = s.to_vec();
                v.sort_unstable();
                v
            })
            .collect()
    }

    #[test]
    fn no_metric_set_pair_twice_and_names_unique_per_namespace() {
        let mut seen = HashSet::new();
        for m in all() {
            for s in sets(m) {
                assert!(
                    seen.insert((m.namespace, m.name, s.clone())),
                    "{} {} {s:?}",
                    m.namespace,
                    m.name
                );
            }
        }
        let mut names = HashSet::new();
        for m in all() {
            assert!(
                names.insert((m.namespace, m.name)),
                "{} {} declared twice",
                m.namespace,
                m.name
            );
            assert!(namespace::ALL.contains(&m.namespace), "{}", m.namespace);
        }
    }

    #[test]
    fn bedrock_runtime_metrics_per_model_id() {
        // Bedrock user guide, "Monitor bedrock-runtime inference using CloudWatch metrics": namespace
        // AWS/Bedrock; Invocations, InvocationLatency, InvocationClientErrors, InvocationServerErrors,
        // InvocationThrottles, InputTokenCount, OutputTokenCount, OutputImageCount, LegacyModelInvocations;
        // dimension ModelId (and the across-all-models aggregate).
        assert_eq!(namespace::BEDROCK, "AWS/Bedrock");
        assert_eq!(bedrock::INPUT_TOKEN_COUNT.name, "InputTokenCount");
        assert_eq!(bedrock::OUTPUT_TOKEN_COUNT.name, "OutputTokenCount");
        assert_eq!(bedrock::INVOCATION_THROTTLES.name, "InvocationThrottles");
        let documented = [
            "Invocations",
            "InvocationLatency",
            "InvocationClientErrors",
            "InvocationServerErrors",
            "InvocationThrottles",
            "InputTokenCount",
            "OutputTokenCount",
            "OutputImageCount",
            "LegacyModelInvocations",
        ];
        // Prompt-cache token counts, same page (listed in shared/reference/cost-anchors.md, "CloudWatch
        // AWS/Bedrock"): CacheReadInputTokenCount, CacheWriteInputTokenCount.
        let cache = ["CacheReadInputTokenCount", "CacheWriteInputTokenCount"];
        let ours: Vec<&str> = bedrock::ALL.iter().map(|m| m.name).collect();
        assert_eq!(ours, [documented.as_slice(), cache.as_slice()].concat());
        assert_eq!(
            bedrock::CACHE_READ_INPUT_TOKEN_COUNT.name,
            "CacheReadInputTokenCount"
        );
        assert_eq!(
            bedrock::CACHE_WRITE_INPUT_TOKEN_COUNT.name,
            "CacheWriteInputTokenCount"
        );
        for m in bedrock::ALL {
            assert_eq!(m.namespace, "AWS/Bedrock");
            assert!(m.is_published_with(&["ModelId"]), "{}", m.name);
            assert!(m.is_published_with(&[]), "{}", m.name);
            assert!(!m.is_published_with(&["Model"]), "{}", m.name);
        }
    }

    #[test]
    fn lambda_function_metrics() {
        // Lambda developer guide, "Types of metrics for Lambda functions": Invocations, Errors, Throttles,
        // Duration, ConcurrentExecutions …; dimensions FunctionName, Resource, ExecutedVersion.
        assert_eq!(namespace::LAMBDA, "AWS/Lambda");
        for (m, name) in [
            (lambda::INVOCATIONS, "Invocations"),
            (lambda::ERRORS, "Errors"),
            (lambda::THROTTLES, "Throttles"),
            (lambda::DURATION, "Duration"),
            (lambda::CONCURRENT_EXECUTIONS, "ConcurrentExecutions"),
        ] {
            assert_eq!(m.name, name);
            assert!(m.is_published_with(&["FunctionName"]));
            assert!(m.is_published_with(&["Resource", "FunctionName"]));
            assert!(m.is_published_with(&["FunctionName", "Resource", "ExecutedVersion"]));
            assert!(
                !m.is_published_with(&["FunctionName", "ExecutedVersion"]),
                "ExecutedVersion only beside an alias's Resource"
            );
            assert!(!m.is_published_with(&["FunctionName", "Stage"]));
        }
    }

    #[test]
    fn http_api_metrics_are_lowercase_with_api_id() {
        // API Gateway developer guide, "CloudWatch metrics for HTTP APIs": 4xx, 5xx, Count,
        // IntegrationLatency, Latency, DataProcessed; dimensions ApiId, ApiId+Stage, and with detailed
        // metrics ApiId+Method+Resource+Stage (no `Route` dimension).
        assert_eq!(api_gateway::HTTP_4XX.name, "4xx");
        assert_eq!(api_gateway::HTTP_5XX.name, "5xx");
        assert!(api_gateway::HTTP_5XX.is_published_with(&["ApiId", "Stage", "Method", "Resource"]));
        assert!(!api_gateway::HTTP_5XX.is_published_with(&["ApiId", "Stage", "Route"]));
        assert!(!api_gateway::HTTP_5XX.is_published_with(&["ApiName"]));
        // REST: 4XXError/5XXError with ApiName.
        assert_eq!(api_gateway::REST_5XX_ERROR.name, "5XXError");
        assert!(api_gateway::REST_5XX_ERROR.is_published_with(&["ApiName", "Stage"]));
        assert!(!api_gateway::REST_5XX_ERROR.is_published_with(&["ApiId", "Stage"]));
        for m in [
            api_gateway::COUNT,
            api_gateway::LATENCY,
            api_gateway::INTEGRATION_LATENCY,
        ] {
            assert!(m.is_published_with(&["ApiId", "Stage"]));
            assert!(m.is_published_with(&["ApiName", "Stage"]));
        }
    }

    #[test]
    fn step_functions_dynamodb_sqs_ecs_alb_billing() {
        // Step Functions: "ExecutionThrottled" singular, by StateMachineArn; Lambda task metrics by LambdaFunctionArn.
        assert_eq!(states::EXECUTION_THROTTLED.name, "ExecutionThrottled");
        assert!(states::EXECUTIONS_FAILED.is_published_with(&["StateMachineArn"]));
        assert!(states::LAMBDA_FUNCTIONS_FAILED.is_published_with(&["LambdaFunctionArn"]));
        // `lambda:invoke` tasks: service-integration metrics by ServiceIntegrationResourceArn only.
        assert!(states::SERVICE_INTEGRATIONS_FAILED.is_published_with(&["ServiceIntegrationResourceArn"]));
        assert!(!states::SERVICE_INTEGRATIONS_FAILED.is_published_with(&["LambdaFunctionArn"]));
        // DynamoDB "metrics and dimensions": GSI dimension is GlobalSecondaryIndexName; SystemErrors per Operation.
        assert!(dynamodb::READ_THROTTLE_EVENTS.is_published_with(&["TableName", "GlobalSecondaryIndexName"]));
        assert!(!dynamodb::READ_THROTTLE_EVENTS.is_published_with(&["TableName", "GlobalSecondaryIndex"]));
        assert!(dynamodb::SYSTEM_ERRORS.is_published_with(&["TableName", "Operation"]));
        assert!(!dynamodb::SYSTEM_ERRORS.is_published_with(&["TableName"]));
        assert!(dynamodb::USER_ERRORS.is_published_with(&[]));
        // SQS: by QueueName.
        assert_eq!(
            sqs::APPROXIMATE_NUMBER_OF_MESSAGES_VISIBLE.name,
            "ApproximateNumberOfMessagesVisible"
        );
        assert!(sqs::APPROXIMATE_AGE_OF_OLDEST_MESSAGE.is_published_with(&["QueueName"]));
        // ECS "available metrics": ClusterName, or ClusterName + ServiceName.
        assert!(ecs::CPU_UTILIZATION.is_published_with(&["ServiceName", "ClusterName"]));
        assert!(!ecs::CPU_UTILIZATION.is_published_with(&["ServiceName"]));
        // ALB: ELB-generated codes per LoadBalancer only; HealthyHostCount needs TargetGroup.
        assert_eq!(
            application_elb::HTTP_CODE_ELB_5XX_COUNT.name,
            "HTTPCode_ELB_5XX_Count"
        );
        assert!(
            !application_elb::HTTP_CODE_ELB_5XX_COUNT.is_published_with(&["LoadBalancer", "TargetGroup"])
        );
        assert!(application_elb::HEALTHY_HOST_COUNT.is_published_with(&["LoadBalancer", "TargetGroup"]));
        assert!(!application_elb::HEALTHY_HOST_COUNT.is_published_with(&["LoadBalancer"]));
        // Billing: EstimatedCharges by Currency (+ ServiceName).
        assert_eq!(billing::ESTIMATED_CHARGES.namespace, "AWS/Billing");
        assert!(billing::ESTIMATED_CHARGES.is_published_with(&["Currency"]));
        assert!(billing::ESTIMATED_CHARGES.is_published_with(&["Currency", "ServiceName"]));
    }

    #[test]
    fn namespaces_are_spelt_as_aws_publishes_them() {
        assert_eq!(
            namespace::ALL,
            [
                "AWS/Lambda",
                "AWS/ApiGateway",
                "AWS/States",
                "AWS/DynamoDB",
                "AWS/SQS",
                "AWS/S3",
                "AWS/Bedrock",
                "AWS/Rekognition",
                "AWS/ECS",
                "AWS/ApplicationELB",
                "AWS/Billing",
                "AWS/Events",
            ]
        );
    }
}
