//! The metrics CloudWatch actually publishes, with their exact dimension sets, per namespace.
//!
//! CloudWatch matches dimension sets exactly: a widget or alarm asking for `Errors` with
//! `{FunctionName, Stage}` gets no data and no error. This table is what the validators check against;
//! CollectIQ's own namespace is checked against [`telemetry::catalogue`].
//!
//! Sources: the AWS "metrics and dimensions" pages of each service (Lambda, API Gateway HTTP APIs and
//! REST APIs, Step Functions, DynamoDB, SQS, S3, Bedrock runtime, Rekognition, ECS, ALB, Billing,
//! EventBridge), cross-checked with cdk-monitoring-constructs' metric factories. Namespaces not in the
//! table are not checked.

use telemetry::catalogue::{self, MetricName};

/// A known AWS metric and every dimension set it is published with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownMetric {
    /// Namespace (`AWS/Lambda`).
    pub namespace: &'static str,
    /// Metric name (`Errors`).
    pub metric: &'static str,
    /// The dimension sets it is published with (order-free); `&[]` is the account/region aggregate.
    pub dimension_sets: &'static [&'static [&'static str]],
}

const LAMBDA_SETS: &[&[&str]] = &[
    &[],
    &["FunctionName"],
    &["FunctionName", "Resource"],
    &["FunctionName", "ExecutedVersion"],
];
const HTTP_API_SETS: &[&[&str]] = &[&["ApiId"], &["ApiId", "Stage"], &["ApiId", "Stage", "Route"]];
const REST_API_SETS: &[&[&str]] = &[
    &["ApiName"],
    &["ApiName", "Stage"],
    &["ApiName", "Method", "Resource", "Stage"],
];
const HTTP_AND_REST_SETS: &[&[&str]] = &[
    &["ApiId"],
    &["ApiId", "Stage"],
    &["ApiId", "Stage", "Route"],
    &["ApiName"],
    &["ApiName", "Stage"],
    &["ApiName", "Method", "Resource", "Stage"],
];
const STATES_SETS: &[&[&str]] = &[&["StateMachineArn"]];
const STATES_LAMBDA_SETS: &[&[&str]] = &[&["LambdaFunctionArn"]];
const DDB_TABLE_GSI_SETS: &[&[&str]] = &[&["TableName"], &["TableName", "GlobalSecondaryIndexName"]];
const DDB_OPERATION_SETS: &[&[&str]] = &[&["TableName", "Operation"]];
const DDB_TABLE_SETS: &[&[&str]] = &[&["TableName"]];
const SQS_SETS: &[&[&str]] = &[&["QueueName"]];
const S3_STORAGE_SETS: &[&[&str]] = &[&["BucketName", "StorageType"]];
const S3_REQUEST_SETS: &[&[&str]] = &[&["BucketName", "FilterId"]];
const BEDROCK_SETS: &[&[&str]] = &[&[], &["ModelId"]];
const REKOGNITION_SETS: &[&[&str]] = &[&[], &["Operation"]];
const ECS_SETS: &[&[&str]] = &[&["ClusterName"], &["ClusterName", "ServiceName"]];
const ALB_LB_TG_SETS: &[&[&str]] = &[
    &["LoadBalancer"],
    &["LoadBalancer", "TargetGroup"],
    &["LoadBalancer", "AvailabilityZone"],
    &["LoadBalancer", "TargetGroup", "AvailabilityZone"],
];
const ALB_LB_SETS: &[&[&str]] = &[&["LoadBalancer"], &["LoadBalancer", "AvailabilityZone"]];
const ALB_TG_SETS: &[&[&str]] = &[
    &["LoadBalancer", "TargetGroup"],
    &["LoadBalancer", "TargetGroup", "AvailabilityZone"],
];
const BILLING_SETS: &[&[&str]] = &[&["Currency"], &["Currency", "ServiceName"]];
const EVENTS_SETS: &[&[&str]] = &[&[], &["RuleName"]];

macro_rules! known_table {
    ($( $ns:literal, $sets:ident: [$($m:literal),+ $(,)?]; )* $( { $extra:expr } )*) => {
        &[ $( $( KnownMetric { namespace: $ns, metric: $m, dimension_sets: $sets }, )+ )* $( $extra, )* ]
    };
}

/// Every AWS metric the validators know.
pub const KNOWN_AWS_METRICS: &[KnownMetric] = known_table! {
    "AWS/Lambda", LAMBDA_SETS: ["Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions",
        "UnreservedConcurrentExecutions", "IteratorAge", "DeadLetterErrors", "DestinationDeliveryFailures",
        "ProvisionedConcurrencySpilloverInvocations", "ProvisionedConcurrentExecutions",
        "AsyncEventsReceived", "AsyncEventAge", "AsyncEventsDropped", "RecursiveInvocationsDropped"];
    // HTTP APIs spell error metrics in lowercase; REST APIs use 4XXError/5XXError with ApiName.
    "AWS/ApiGateway", HTTP_API_SETS: ["4xx", "5xx", "DataProcessed"];
    "AWS/ApiGateway", REST_API_SETS: ["4XXError", "5XXError", "CacheHitCount", "CacheMissCount"];
    "AWS/ApiGateway", HTTP_AND_REST_SETS: ["Count", "Latency", "IntegrationLatency"];
    "AWS/States", STATES_SETS: ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed",
        "ExecutionsAborted", "ExecutionsTimedOut", "ExecutionThrottled", "ExecutionTime", "ExecutionsRedriven",
        "RedrivenExecutionsSucceeded", "RedrivenExecutionsFailed", "RedrivenExecutionsAborted",
        "RedrivenExecutionsTimedOut"];
    "AWS/States", STATES_LAMBDA_SETS: ["LambdaFunctionsScheduled", "LambdaFunctionsStarted",
        "LambdaFunctionsSucceeded", "LambdaFunctionsFailed", "LambdaFunctionsTimedOut", "LambdaFunctionRunTime",
        "LambdaFunctionScheduleTime", "LambdaFunctionTime"];
    "AWS/DynamoDB", DDB_TABLE_GSI_SETS: ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits",
        "ProvisionedReadCapacityUnits", "ProvisionedWriteCapacityUnits", "ReadThrottleEvents",
        "WriteThrottleEvents", "OnlineIndexPercentageProgress", "OnlineIndexConsumedWriteCapacity",
        "OnlineIndexThrottleEvents", "ReadMaxOnDemandThroughputThrottleEvents",
        "WriteMaxOnDemandThroughputThrottleEvents"];
    "AWS/DynamoDB", DDB_OPERATION_SETS: ["ThrottledRequests", "SystemErrors", "SuccessfulRequestLatency",
        "ReturnedItemCount", "TransactionConflict"];
    "AWS/DynamoDB", DDB_TABLE_SETS: ["ConditionalCheckFailedRequests", "TimeToLiveDeletedItemCount",
        "ReplicationLatency"];
    "AWS/SQS", SQS_SETS: ["ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed", "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent",
        "NumberOfMessagesReceived", "NumberOfMessagesDeleted", "NumberOfEmptyReceives", "SentMessageSize"];
    "AWS/S3", S3_STORAGE_SETS: ["BucketSizeBytes", "NumberOfObjects"];
    // Request metrics exist only for buckets with a metrics configuration (its id is FilterId).
    "AWS/S3", S3_REQUEST_SETS: ["AllRequests", "GetRequests", "PutRequests", "DeleteRequests",
        "HeadRequests", "PostRequests", "ListRequests", "BytesDownloaded", "BytesUploaded", "4xxErrors",
        "5xxErrors", "FirstByteLatency", "TotalRequestLatency"];
    "AWS/Bedrock", BEDROCK_SETS: ["Invocations", "InvocationLatency", "InvocationClientErrors",
        "InvocationServerErrors", "InvocationThrottles", "InputTokenCount", "OutputTokenCount",
        "OutputImageCount", "LegacyModelInvocations"];
    "AWS/Rekognition", REKOGNITION_SETS: ["SuccessfulRequestCount", "ThrottledCount", "ResponseTime",
        "ServerErrorCount", "UserErrorCount", "DetectedFaceCount", "DetectedLabelCount"];
    "AWS/ECS", ECS_SETS: ["CPUUtilization", "MemoryUtilization", "CPUReservation", "MemoryReservation"];
    "AWS/ApplicationELB", ALB_LB_TG_SETS: ["RequestCount", "TargetResponseTime",
        "HTTPCode_Target_2XX_Count", "HTTPCode_Target_3XX_Count", "HTTPCode_Target_4XX_Count",
        "HTTPCode_Target_5XX_Count", "TargetConnectionErrorCount"];
    "AWS/ApplicationELB", ALB_LB_SETS: ["HTTPCode_ELB_4XX_Count", "HTTPCode_ELB_5XX_Count",
        "ActiveConnectionCount", "NewConnectionCount", "ConsumedLCUs", "ProcessedBytes",
        "RejectedConnectionCount"];
    "AWS/ApplicationELB", ALB_TG_SETS: ["HealthyHostCount", "UnHealthyHostCount", "RequestCountPerTarget"];
    "AWS/Billing", BILLING_SETS: ["EstimatedCharges"];
    "AWS/Events", EVENTS_SETS: ["Invocations", "FailedInvocations", "TriggeredRules", "ThrottledRules",
        "MatchedEvents", "DeadLetterInvocations"];
    { KnownMetric { namespace: "AWS/DynamoDB", metric: "UserErrors", dimension_sets: &[&[]] } }
};

/// What the table says about one (namespace, metric, dimension keys) triple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricCheck {
    /// The namespace is not in the table: nothing can be said.
    UnknownNamespace,
    /// Known namespace, unknown metric name.
    UnknownMetric {
        /// Names known in that namespace with the same spelling ignoring case, for the message.
        did_you_mean: Vec<&'static str>,
    },
    /// Known metric, but not published with this dimension set.
    DimensionSetMismatch {
        /// The sets it is published with.
        expected: Vec<Vec<&'static str>>,
    },
    /// Known metric with an exact dimension set.
    Ok,
}

fn same_set(have: &[&str], want: &[&str]) -> bool {
    let mut a: Vec<&str> = have.to_vec();
    let mut b: Vec<&str> = want.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Whether `namespace` is one the table covers (an `AWS/…` namespace listed above, or CollectIQ's).
#[must_use]
pub fn is_known_namespace(namespace: &str) -> bool {
    namespace == catalogue::NAMESPACE || KNOWN_AWS_METRICS.iter().any(|k| k.namespace == namespace)
}

/// The dimension sets `metric` is published with in `namespace`, if the table knows it.
#[must_use]
pub fn dimension_sets(namespace: &str, metric: &str) -> Option<Vec<Vec<&'static str>>> {
    if namespace == catalogue::NAMESPACE {
        let spec = MetricName::from_name(metric)?.spec();
        return Some(
            spec.dimension_sets
                .iter()
                .map(|set| set.iter().map(|k| k.as_str()).collect())
                .collect(),
        );
    }
    let sets: Vec<Vec<&'static str>> = KNOWN_AWS_METRICS
        .iter()
        .filter(|k| k.namespace == namespace && k.metric == metric)
        .flat_map(|k| k.dimension_sets.iter().map(|s| s.to_vec()))
        .collect();
    (!sets.is_empty()).then_some(sets)
}

/// Checks a metric and its dimension keys against the table.
///
/// ```
/// use dashboards::known_metrics::{check, MetricCheck};
/// assert_eq!(check("AWS/ApiGateway", "5xx", &["ApiId", "Stage"]), MetricCheck::Ok);
/// // REST spelling with HTTP API dimensions never has data.
/// assert!(matches!(check("AWS/ApiGateway", "5XXError", &["ApiId", "Stage"]), MetricCheck::DimensionSetMismatch { .. }));
/// assert!(matches!(check("AWS/DynamoDB", "ReadThrottleEvents", &["TableName", "GlobalSecondaryIndex"]),
///     MetricCheck::DimensionSetMismatch { .. }));
/// ```
#[must_use]
pub fn check(namespace: &str, metric: &str, keys: &[&str]) -> MetricCheck {
    if !is_known_namespace(namespace) {
        return MetricCheck::UnknownNamespace;
    }
    let Some(sets) = dimension_sets(namespace, metric) else {
        let lower = metric.to_ascii_lowercase();
        let did_you_mean = if namespace == catalogue::NAMESPACE {
            MetricName::ALL
                .iter()
                .map(|m| m.as_str())
                .filter(|m| m.to_ascii_lowercase() == lower)
                .collect()
        } else {
            KNOWN_AWS_METRICS
                .iter()
                .filter(|k| k.namespace == namespace && k.metric.to_ascii_lowercase() == lower)
                .map(|k| k.metric)
                .collect()
        };
        return MetricCheck::UnknownMetric { did_you_mean };
    };
    if sets.iter().any(|s| same_set(keys, s)) {
        MetricCheck::Ok
    } else {
        MetricCheck::DimensionSetMismatch { expected: sets }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicate_metric_set_pairs() {
        let mut seen = std::collections::HashSet::new();
        for k in KNOWN_AWS_METRICS {
            for s in k.dimension_sets {
                let mut s = s.to_vec();
                s.sort_unstable();
                assert!(
                    seen.insert((k.namespace, k.metric, s.clone())),
                    "{} {} {s:?}",
                    k.namespace,
                    k.metric
                );
            }
        }
    }

    #[test]
    fn http_api_metrics_are_lowercase() {
        assert_eq!(
            check("AWS/ApiGateway", "4xx", &["ApiId", "Stage", "Route"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check("AWS/ApiGateway", "5XX", &["ApiId", "Stage"]),
            MetricCheck::UnknownMetric {
                did_you_mean: vec!["5xx"]
            }
        );
        assert!(matches!(
            check("AWS/ApiGateway", "4xx", &["ApiName"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
    }

    #[test]
    fn gsi_dimension_is_global_secondary_index_name() {
        assert_eq!(
            check(
                "AWS/DynamoDB",
                "WriteThrottleEvents",
                &["GlobalSecondaryIndexName", "TableName"]
            ),
            MetricCheck::Ok
        );
        // slic-watch's spelling never matches anything.
        assert!(matches!(
            check(
                "AWS/DynamoDB",
                "WriteThrottleEvents",
                &["TableName", "GlobalSecondaryIndex"]
            ),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        // SystemErrors is per operation only.
        assert!(matches!(
            check("AWS/DynamoDB", "SystemErrors", &["TableName"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
    }

    #[test]
    fn custom_namespace_uses_the_catalogue() {
        assert_eq!(
            check("CollectIQ", "BedrockInputTokens", &["service", "agent", "model"]),
            MetricCheck::Ok
        );
        assert!(matches!(
            check("CollectIQ", "BedrockInputTokens", &["service"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        assert!(matches!(
            check("CollectIQ", "Nope", &["service"]),
            MetricCheck::UnknownMetric { .. }
        ));
    }

    #[test]
    fn other_namespaces_are_not_checked() {
        assert_eq!(
            check("Acme/Things", "Whatever", &["x"]),
            MetricCheck::UnknownNamespace
        );
        assert!(!is_known_namespace("Acme/Things"));
        assert!(is_known_namespace("AWS/Bedrock"));
    }

    #[test]
    fn service_specific_sets() {
        assert_eq!(
            check("AWS/States", "ExecutionsFailed", &["StateMachineArn"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check("AWS/Bedrock", "InvocationThrottles", &["ModelId"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check("AWS/ECS", "CPUUtilization", &["ServiceName", "ClusterName"]),
            MetricCheck::Ok
        );
        assert!(matches!(
            check("AWS/ECS", "CPUUtilization", &["ServiceName"]),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        assert_eq!(
            check("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", &["LoadBalancer"]),
            MetricCheck::Ok
        );
        assert!(matches!(
            check(
                "AWS/ApplicationELB",
                "HTTPCode_ELB_5XX_Count",
                &["LoadBalancer", "TargetGroup"]
            ),
            MetricCheck::DimensionSetMismatch { .. }
        ));
        assert_eq!(
            check("AWS/S3", "BucketSizeBytes", &["BucketName", "StorageType"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check("AWS/Rekognition", "ResponseTime", &["Operation"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check("AWS/SQS", "ApproximateNumberOfMessagesVisible", &["QueueName"]),
            MetricCheck::Ok
        );
        assert_eq!(
            check("AWS/Billing", "EstimatedCharges", &["Currency"]),
            MetricCheck::Ok
        );
        assert_eq!(check("AWS/Lambda", "Errors", &["FunctionName"]), MetricCheck::Ok);
    }
}
