# --- SNS topics per severity -------------------------------------------------------------------------

resource "aws_sns_topic" "severity" {
  for_each = local.severities

  name              = "${var.name_prefix}-alarms-${each.key}"
  kms_master_key_id = aws_kms_key.governance.arn
  tags              = merge(local.tags, { Severity = each.key })
}

data "aws_iam_policy_document" "topic" {
  for_each = local.severities

  statement {
    sid       = "BudgetsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.severity[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["budgets.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:budgets::${local.account_id}:*"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.severity[each.key].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "severity" {
  for_each = local.severities

  arn    = aws_sns_topic.severity[each.key].arn
  policy = data.aws_iam_policy_document.topic[each.key].json
}

resource "aws_sns_topic_subscription" "pagerduty" {
  count = var.pagerduty_endpoint == null ? 0 : 1

  topic_arn              = aws_sns_topic.severity["critical"].arn
  protocol               = "https"
  endpoint               = var.pagerduty_endpoint
  endpoint_auto_confirms = true
}

# --- Slack webhook: the secret only; its value is set out of band and never enters state ------------

resource "aws_secretsmanager_secret" "slack_webhook" {
  #checkov:skip=CKV2_AWS_57: a Slack incoming-webhook URL is issued by Slack and cannot be rotated by a Lambda; it is replaced by hand (docs/deploy.md)
  name                    = var.slack_webhook_secret_name
  description             = "Slack incoming webhook URL for the governance reports. Value set out of band: see docs/deploy.md."
  kms_key_id              = aws_kms_key.governance.arn
  recovery_window_in_days = 7
  tags                    = local.tags
}

# --- AWS Budgets --------------------------------------------------------------------------------------

resource "aws_budgets_budget" "monthly" {
  name         = local.budget_name
  budget_type  = "COST"
  limit_amount = format("%.2f", var.budget.limit_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"
  tags         = local.tags

  dynamic "notification" {
    for_each = local.budget_notifications

    content {
      comparison_operator        = "GREATER_THAN"
      threshold                  = notification.value.threshold
      threshold_type             = "PERCENTAGE"
      notification_type          = notification.value.type
      subscriber_sns_topic_arns  = [aws_sns_topic.severity[notification.value.severity].arn]
      subscriber_email_addresses = var.budget_email_addresses
    }
  }

  depends_on = [aws_sns_topic_policy.severity]
}
