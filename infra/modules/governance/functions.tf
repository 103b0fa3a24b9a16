# The three governance Lambdas, each with a role that can do only its own job.

locals {
  common_env = {
    COLLECTIQ_ENVIRONMENT = var.environment
    # Both hold the path of the spec inside the zip: the CLI and the publish Lambdas read
    # COLLECTIQ_PLATFORM as a path, the cost Lambda reads COLLECTIQ_PLATFORM_FILE first.
    COLLECTIQ_PLATFORM       = "/var/task/platforms/${var.platform_spec}.toml"
    COLLECTIQ_PLATFORM_FILE  = "/var/task/platforms/${var.platform_spec}.toml"
    COLLECTIQ_PLATFORM_NAME  = var.platform_spec
    LEDGER_TABLE_NAME        = aws_dynamodb_table.ledger.name
    SLACK_WEBHOOK_SECRET_ARN = aws_secretsmanager_secret.slack_webhook.arn
    SNS_TOPIC_CRITICAL_ARN   = aws_sns_topic.severity["critical"].arn
    SNS_TOPIC_WARNING_ARN    = aws_sns_topic.severity["warning"].arn
    BUDGET_NAME              = local.budget_name
    DASHBOARD_PREFIX         = var.dashboard_prefix
    ALARM_PREFIX             = var.alarm_prefix
  }

  package_paths = { for name, _ in var.functions : name => "${var.artifacts_dir}/${name}.zip" }
}

# What every governance function needs: its ledger, its notification targets, and the key behind them.
data "aws_iam_policy_document" "common" {
  statement {
    sid = "Ledger"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
      "dynamodb:ConditionCheckItem",
    ]
    resources = [aws_dynamodb_table.ledger.arn]
  }

  statement {
    sid       = "SlackWebhook"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack_webhook.arn]
  }

  statement {
    sid       = "SeverityTopics"
    actions   = ["sns:Publish"]
    resources = [for t in aws_sns_topic.severity : t.arn]
  }

  statement {
    sid       = "GovernanceKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.governance.arn]
  }

  statement {
    # Read-only metric queries; CloudWatch offers no resource-level permission for GetMetricData.
    sid       = "ReadMetrics"
    actions   = ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "cost" {
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  statement {
    # Cost Explorer has no resource-level permissions for these read actions.
    sid       = "CostExplorer"
    actions   = ["ce:GetCostAndUsage", "ce:GetCostForecast"]
    resources = ["*"]
  }

  statement {
    sid       = "Budgets"
    actions   = ["budgets:ViewBudget"]
    resources = ["arn:${local.partition}:budgets::${local.account_id}:budget/*"]
  }
}

data "aws_iam_policy_document" "alarms" {
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  statement {
    # Read every alarm of this account and region (the state summary covers alarms we do not own).
    sid       = "DescribeAlarms"
    actions   = ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
  }

  statement {
    # The alarm-state summary links firing alarms to recent traces; X-Ray reads have no resource-level
    # permissions.
    sid       = "ReadTraces"
    actions   = ["xray:GetTraceSummaries", "xray:BatchGetTraces"]
    resources = ["*"]
  }

  statement {
    sid = "ManageOwnAlarms"
    actions = [
      "cloudwatch:PutMetricAlarm",
      "cloudwatch:PutCompositeAlarm",
      "cloudwatch:DeleteAlarms",
      "cloudwatch:TagResource",
      "cloudwatch:ListTagsForResource",
    ]
    resources = [local.alarm_arn_pattern]
  }
}

data "aws_iam_policy_document" "dashboards" {
  source_policy_documents = [data.aws_iam_policy_document.common.json]

  statement {
    sid       = "ListDashboards"
    actions   = ["cloudwatch:ListDashboards"]
    resources = ["*"]
  }

  statement {
    sid       = "ManageOwnDashboards"
    actions   = ["cloudwatch:GetDashboard", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"]
    resources = [local.dashboard_arn_pattern]
  }
}

locals {
  policies = {
    governance-cost       = data.aws_iam_policy_document.cost.json
    governance-alarms     = data.aws_iam_policy_document.alarms.json
    governance-dashboards = data.aws_iam_policy_document.dashboards.json
  }
}

module "function" {
  source   = "../lambda_fn"
  for_each = var.functions

  function_name        = coalesce(each.value.name, "${var.name_prefix}-${each.key}")
  description          = "CollectIQ governance: ${each.key}"
  package_path         = local.package_paths[each.key]
  architecture         = each.value.architecture
  memory_mb            = each.value.memory_mb
  timeout_s            = each.value.timeout_s
  reserved_concurrency = each.value.reserved_concurrency
  log_retention_days   = var.log_retention_days
  log_level            = var.log_level
  kms_key_arn          = aws_kms_key.governance.arn
  service_name         = each.key
  environment_variables = merge(local.common_env, {
    GOVERNANCE_JOB_FUNCTION = each.key
  })
  policy_json = lookup(local.policies, each.key, data.aws_iam_policy_document.common.json)
  tags        = merge(local.tags, { Feature = each.value.feature, Tier = each.value.tier })
}
