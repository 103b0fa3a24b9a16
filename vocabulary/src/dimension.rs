//! AWS dimension names, spelt as CloudWatch publishes them.
//!
//! Sources: each service's "metrics and dimensions" page (named next to the metrics in [`crate::aws`]).

/// Lambda: the function.
pub const FUNCTION_NAME: &str = "FunctionName";
/// Lambda: a version or alias.
pub const RESOURCE: &str = "Resource";
/// Lambda: the version an alias invocation ran.
pub const EXECUTED_VERSION: &str = "ExecutedVersion";
/// API Gateway HTTP API: the API id.
pub const API_ID: &str = "ApiId";
/// API Gateway: the stage (`$default` for HTTP APIs' default stage).
pub const STAGE: &str = "Stage";
/// API Gateway REST API: the API name.
pub const API_NAME: &str = "ApiName";
/// API Gateway REST API: the HTTP method.
pub const METHOD: &str = "Method";
/// Step Functions: the state machine ARN.
pub const STATE_MACHINE_ARN: &str = "StateMachineArn";
/// Step Functions: the Lambda function ARN of a task whose `Resource` is the function's ARN (the
/// older Lambda integration; a `lambda:invoke` task publishes service-integration metrics instead).
pub const LAMBDA_FUNCTION_ARN: &str = "LambdaFunctionArn";
/// Step Functions: the service integration of a task, account-qualified —
/// `arn:aws:states:<region>:<account>:lambda:invoke` for every `arn:aws:states:::lambda:invoke` task of
/// the account's state machines (not the bare `arn:aws:states:::…` of the definition).
pub const SERVICE_INTEGRATION_RESOURCE_ARN: &str = "ServiceIntegrationResourceArn";
/// DynamoDB: the table.
pub const TABLE_NAME: &str = "TableName";
/// DynamoDB: a GSI (not `GlobalSecondaryIndex`: that spelling never matches).
pub const GLOBAL_SECONDARY_INDEX_NAME: &str = "GlobalSecondaryIndexName";
/// DynamoDB and Rekognition: the API operation.
pub const OPERATION: &str = "Operation";
/// SQS: the queue.
pub const QUEUE_NAME: &str = "QueueName";
/// S3: the bucket.
pub const BUCKET_NAME: &str = "BucketName";
/// S3 storage metrics: the storage class (`StandardStorage`, `AllStorageTypes`).
pub const STORAGE_TYPE: &str = "StorageType";
/// S3 request metrics: the metrics configuration id.
pub const FILTER_ID: &str = "FilterId";
/// Bedrock: the model id or inference profile.
pub const MODEL_ID: &str = "ModelId";
/// ECS: the cluster.
pub const CLUSTER_NAME: &str = "ClusterName";
/// ECS: the service (always with `ClusterName`).
pub const SERVICE_NAME: &str = "ServiceName";
/// ALB: `app/<name>/<id>`.
pub const LOAD_BALANCER: &str = "LoadBalancer";
/// ALB: `targetgroup/<name>/<id>`.
pub const TARGET_GROUP: &str = "TargetGroup";
/// ALB: the availability zone.
pub const AVAILABILITY_ZONE: &str = "AvailabilityZone";
/// Billing: the currency (`USD`).
pub const CURRENCY: &str = "Currency";
/// EventBridge: the rule.
pub const RULE_NAME: &str = "RuleName";
