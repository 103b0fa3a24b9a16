//! The AWS namespaces CollectIQ's dashboards, alarms and cost pass read.
//!
//! Spec: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/aws-services-cloudwatch-metrics.html>

/// AWS Lambda.
pub const LAMBDA: &str = "AWS/Lambda";
/// Amazon API Gateway (HTTP and REST APIs share it; their dimensions differ).
pub const API_GATEWAY: &str = "AWS/ApiGateway";
/// AWS Step Functions.
pub const STATES: &str = "AWS/States";
/// Amazon DynamoDB.
pub const DYNAMODB: &str = "AWS/DynamoDB";
/// Amazon SQS.
pub const SQS: &str = "AWS/SQS";
/// Amazon S3 (storage metrics daily; request metrics only with a metrics configuration).
pub const S3: &str = "AWS/S3";
/// Amazon Bedrock runtime.
pub const BEDROCK: &str = "AWS/Bedrock";
/// Amazon Rekognition.
pub const REKOGNITION: &str = "AWS/Rekognition";
/// Amazon ECS.
pub const ECS: &str = "AWS/ECS";
/// Application Load Balancer.
pub const APPLICATION_ELB: &str = "AWS/ApplicationELB";
/// Billing (`EstimatedCharges`), published in `us-east-1` only.
pub const BILLING: &str = "AWS/Billing";
/// Amazon EventBridge.
pub const EVENTS: &str = "AWS/Events";

/// Every namespace above.
pub const ALL: [&str; 12] = [
    LAMBDA,
    API_GATEWAY,
    STATES,
    DYNAMODB,
    SQS,
    S3,
    BEDROCK,
    REKOGNITION,
    ECS,
    APPLICATION_ELB,
    BILLING,
    EVENTS,
];

/// The only region `AWS/Billing` metrics exist in.
pub const BILLING_REGION: &str = "us-east-1";
