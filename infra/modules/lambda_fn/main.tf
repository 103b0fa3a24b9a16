# One Rust Lambda on the provided.al2023 runtime: the function, its log group, and a role that can do
# exactly what the caller's policy document says plus write its own logs and traces.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # Lambda's application log levels are TRACE, DEBUG, INFO, WARN, ERROR, FATAL; Powertools' names
  # for two of them (WARNING, CRITICAL) are mapped.
  application_log_level = lookup({ WARNING = "WARN", CRITICAL = "FATAL" }, upper(var.log_level), upper(var.log_level))

  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"

  # Hash of the package when it exists; plan/apply need the file, validate does not.
  source_code_hash = var.source_code_hash != null ? var.source_code_hash : (
    fileexists(var.package_path) ? filebase64sha256(var.package_path) : null
  )

  environment = merge(
    {
      POWERTOOLS_SERVICE_NAME      = var.service_name
      POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
      POWERTOOLS_LOG_LEVEL         = var.log_level
    },
    var.environment_variables,
  )

  async_failure_targets = compact([var.dead_letter_target_arn, var.on_failure_destination_arn])
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338: retention is a per-environment cost decision taken in the platform spec (dev 30 d, prod 90 d); audit trails live in CloudTrail, not in function logs
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = merge(var.tags, { Service = "logs" })
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  # The function's own name, as seed 004's runbook looks it up (`aws iam list-attached-role-policies
  # --role-name dev-collectiq-cards-create`).
  name               = var.function_name
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = merge(var.tags, { Service = "iam" })
}

# One inline policy: the caller's statements (policy_json) plus the function's own logs and traces.
# Merged rather than attached separately so no count depends on a policy known only after apply.
data "aws_iam_policy_document" "this" {
  source_policy_documents = var.policy_json == null ? [] : [var.policy_json]

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  statement {
    # X-Ray has no resource-level permissions for these two actions.
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    # Only as Lambda decrypts the function's environment variables (Lambda itself reads them with a
    # grant; this covers a decrypt made with the role's credentials through the service). Without the
    # condition the role could call kms:Decrypt on the key directly, for any ciphertext of it.
    sid       = "EnvironmentKey"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["lambda.${data.aws_region.current.name}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = length(local.async_failure_targets) > 0 ? [1] : []

    # Lambda delivers a failed asynchronous invocation with the function's role. Every target is an SQS
    # queue (variables.tf refuses others): SendMessage is all it needs.
    content {
      sid       = "AsyncFailureTargets"
      actions   = ["sqs:SendMessage"]
      resources = local.async_failure_targets
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "function"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117: the functions call only AWS public endpoints with IAM auth; a VPC would add NAT cost and cold-start latency and protect nothing
  #checkov:skip=CKV_AWS_272: packages are built and hashed by scripts/package-lambdas in CI; AWS Signer is not used by this project (see docs/deploy.md)
  #checkov:skip=CKV_AWS_115: reserved concurrency is optional (reserved_concurrency) because accounts with the default 10-execution quota cannot reserve any
  #checkov:skip=CKV_AWS_116: a DLQ only applies to asynchronous invocation; async callers pass on_failure_destination_arn (the governance functions: their failures queue, with the full invocation record a DLQ lacks), API and Step Functions callers are synchronous
  function_name    = var.function_name
  description      = var.description
  role             = aws_iam_role.this.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  memory_size      = var.memory_mb
  timeout          = var.timeout_s
  filename         = var.package_path
  source_code_hash = local.source_code_hash
  kms_key_arn      = var.kms_key_arn
  # A function behind an alias publishes a version per code or configuration change; the alias (and
  # CodeDeploy's traffic shifting) decides which version serves traffic.
  publish = var.alias_name != null

  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  # With the JSON format Lambda filters application lines by their "level" at this level (INFO when
  # unset): left unset, a dev function at DEBUG (seed 001: "debug logging enabled") lost every debug
  # line. Set to the function's own level, which Lambda also hands the code as AWS_LAMBDA_LOG_LEVEL.
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = local.application_log_level
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_target_arn == null ? [] : [var.dead_letter_target_arn]

    content {
      target_arn = dead_letter_config.value
    }
  }

  tags = merge(var.tags, { Service = "lambda" })

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

# Always present (AWS has one anyway): a count on the destination ARN would fail to plan whenever the
# ARN is known only after apply (a queue created in the same run).
# With an alias the configuration is the alias's: callers invoke the alias (a rule's target, a
# subscription), and the unqualified function's configuration does not apply to a qualified call.
resource "aws_lambda_function_event_invoke_config" "this" {
  function_name          = aws_lambda_function.this.function_name
  qualifier              = var.alias_name == null ? null : aws_lambda_alias.this[0].name
  maximum_retry_attempts = var.maximum_retry_attempts

  dynamic "destination_config" {
    for_each = var.on_failure_destination_arn == null ? [] : [var.on_failure_destination_arn]

    content {
      on_failure {
        destination = destination_config.value
      }
    }
  }
}

# The alias callers invoke (API Gateway, Step Functions, EventBridge). Terraform creates it on the first
# published version and then leaves it alone: CodeDeploy moves it to each new version, shifting traffic
# by the deployment group's configuration and rolling back on its alarms (docs/deploy.md, "Canary
# deployments"). Were Terraform to follow `version`, every apply would switch all traffic at once.
resource "aws_lambda_alias" "this" {
  count = var.alias_name == null ? 0 : 1

  name             = var.alias_name
  description      = "Traffic-serving alias; moved by CodeDeploy, not by Terraform."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version

  lifecycle {
    ignore_changes = [function_version, routing_config]
  }
}
