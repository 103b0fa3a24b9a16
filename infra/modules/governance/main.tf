# Governance: the four scheduled Lambdas (cost report, Bedrock fast burn, alarms, dashboards), where they send what they
# find (SNS per severity, Slack via a secret), what they remember (the ledger), and the budget that
# AWS itself watches.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  tags = merge({ Service = "governance", Feature = "cost-governance" }, var.tags)

  severities = toset(["critical", "warning"])

  budget_name = var.budget.name

  # Who hears about spend (seeds 000 and 001): budget 80 % → e-mail, cost above 120 % → warning (Slack),
  # above 150 % → page on-call. The spec's thresholds plus these three tiers; each ACTUAL notification is
  # routed by the highest tier it reaches. A forecast may only warn: only actual spend pages. Every
  # notification also e-mails budget_email_addresses, so finance hears of each one.
  tiers = var.budget_tiers_percent
  budget_actual_thresholds = distinct(concat(
    var.budget.actual_thresholds_percent,
    [local.tiers.email, local.tiers.warning, local.tiers.critical],
  ))

  budget_notifications = concat(
    [for p in local.budget_actual_thresholds : {
      type      = "ACTUAL"
      threshold = p
      severity  = p >= local.tiers.critical ? "critical" : (p >= local.tiers.warning ? "warning" : "email")
    }],
    [for p in var.budget.forecast_thresholds_percent : { type = "FORECASTED", threshold = p, severity = "warning" }],
  )

  # Exactly the dashboards this environment owns: `{prefix}-{section}` and its pages `-p{n}`, for every
  # section of dashboards::plan::SECTIONS (a test there holds this list to it). `{prefix}-*` would also
  # match another environment's (`collectiq-prod-eu-overview`).
  dashboard_sections = ["overview", "api", "lambda", "stepfunctions", "data", "ai", "agents", "cost", "compliance", "ecs"]
  dashboard_arns = flatten([for s in local.dashboard_sections : [
    "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${var.dashboard_prefix}-${s}",
    "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${var.dashboard_prefix}-${s}-p*",
  ]])
  alarm_arn_pattern = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.alarm_prefix}*"
}

# --- encryption --------------------------------------------------------------------------------------

# A customer managed key for the ledger table, the Slack secret, the logs and the schedules — not seed
# 001's AWS managed keys for DynamoDB and Secrets Manager, for the reasons given at the backend's key
# (infra/modules/backend/main.tf, aws_kms_key.data): the key policy, not only IAM, decides who reads.
resource "aws_kms_key" "governance" {
  description             = "${var.name_prefix} governance: ledger, secret, topics, logs, schedules"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = merge(local.tags, { Service = "kms" })

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
      {
        # Budgets and CloudWatch alarms publish to the encrypted topics.
        Sid       = "PublishersToEncryptedTopics"
        Effect    = "Allow"
        Principal = { Service = ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"] }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "governance" {
  name          = "alias/${var.name_prefix}-governance"
  target_key_id = aws_kms_key.governance.key_id
}
