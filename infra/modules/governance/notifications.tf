# --- SNS topics per severity -------------------------------------------------------------------------

resource "aws_sns_topic" "severity" {
  for_each = local.severities

  name              = "${var.name_prefix}-alarms-${each.key}"
  kms_master_key_id = aws_kms_key.governance.arn
  tags              = merge(local.tags, { Severity = each.key, Service = "sns" })
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

    # Only the alarms this platform owns: those governance-alarms generates (the alarm prefix) and the
    # governance failures alarm (failures.tf). Without it, anyone in the account who may create an
    # alarm but not publish could page on-call through this topic (CloudWatch publishes as itself).
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values = [
        "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.alarm_prefix}*",
        "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:watch-${var.name_prefix}-*",
      ]
    }
  }
}

resource "aws_sns_topic_policy" "severity" {
  for_each = local.severities

  arn    = aws_sns_topic.severity[each.key].arn
  policy = data.aws_iam_policy_document.topic[each.key].json
}

# --- who each topic reaches: no topic without a subscriber ---------------------------------------------

# critical → on-call: PagerDuty (or any HTTPS pager) and/or on-call e-mail addresses; at least one of the
# two is required (variables.tf), so a page always reaches a person.
resource "aws_sns_topic_subscription" "pagerduty" {
  count = var.pagerduty_endpoint == null ? 0 : 1

  topic_arn              = aws_sns_topic.severity["critical"].arn
  protocol               = "https"
  endpoint               = var.pagerduty_endpoint
  endpoint_auto_confirms = true
}

# SNS e-mails a confirmation link first: the subscription is pending until the recipient clicks it
# (docs/deploy.md, step 6 lists the pending ones).
resource "aws_sns_topic_subscription" "oncall_email" {
  for_each = toset(var.oncall_email_addresses)

  topic_arn = aws_sns_topic.severity["critical"].arn
  protocol  = "email"
  endpoint  = each.value
}

# warning → Slack, through governance-alarms rather than AWS Chatbot: every message on the topic (a
# warning alarm changing state, a budget forecast or 120 % notice) starts an alarm-state run at once
# instead of at the next 5-minute schedule, and that run posts to Slack only what changed, deduplicated
# in the ledger. Chatbot would post the raw alarm as well, so Slack would get two posts per change; it
# also needs a one-time Slack OAuth in the console that Terraform cannot do. The run does not render
# the SNS message itself: budget notices reach finance by e-mail (every budget notification has the
# e-mail subscribers) and Slack through the billing alarms of the catalogue. The function's event type
# (governance::publish::lambda::AlarmsEvent) takes SNS's `Records` envelope; a test parses SNS's sample.
resource "aws_sns_topic_subscription" "warning_to_governance" {
  topic_arn = aws_sns_topic.severity["warning"].arn
  protocol  = "lambda"
  endpoint  = module.function["governance-alarms"].arn
}

resource "aws_lambda_permission" "warning_to_governance" {
  statement_id  = "warning-topic"
  action        = "lambda:InvokeFunction"
  function_name = module.function["governance-alarms"].function_name
  principal     = "sns.amazonaws.com"
  source_arn    = aws_sns_topic.severity["warning"].arn
}

# --- Slack webhook: the secret only; its value is set out of band and never enters state ------------

resource "aws_secretsmanager_secret" "slack_webhook" {
  #checkov:skip=CKV2_AWS_57: a Slack incoming-webhook URL is issued by Slack and cannot be rotated by a Lambda; it is replaced by hand (docs/deploy.md)
  name                    = var.slack_webhook_secret_name
  description             = "Slack incoming webhook URL for the governance reports. Value set out of band: see docs/deploy.md."
  kms_key_id              = aws_kms_key.governance.arn
  recovery_window_in_days = 7
  tags                    = merge(local.tags, { Service = "secretsmanager" })
}

# --- AWS Budgets --------------------------------------------------------------------------------------

resource "aws_budgets_budget" "monthly" {
  name         = local.budget_name
  budget_type  = "COST"
  limit_amount = format("%.2f", var.budget.limit_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"
  tags         = merge(local.tags, { Service = "budgets" })

  # Gross usage, as the cost report reads Cost Explorer (Credit and Refund excluded): its actual spend
  # and its daily rate must measure the same thing. Budgets includes credits and refunds by default, so a
  # credit would hide spend the report still projects (cost/src/burn.rs).
  cost_types {
    include_credit = false
    include_refund = false
  }

  dynamic "notification" {
    for_each = local.budget_notifications

    content {
      comparison_operator        = "GREATER_THAN"
      threshold                  = notification.value.threshold
      threshold_type             = "PERCENTAGE"
      notification_type          = notification.value.type
      subscriber_sns_topic_arns  = notification.value.severity == "email" ? [] : [aws_sns_topic.severity[notification.value.severity].arn]
      subscriber_email_addresses = var.budget_email_addresses
    }
  }

  depends_on = [aws_sns_topic_policy.severity]
}
