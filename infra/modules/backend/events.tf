# The event bus the aggregator publishes to, and the rules for the two domain events. Both are kept in
# a log group (searchable history; consumers add their own targets); undeliverable events go to the DLQ.

locals {
  event_rules = {
    card-valuation-updated = "CardValuationUpdated"
    authenticity-flagged   = "AuthenticityFlagged"
  }
}

resource "aws_cloudwatch_event_bus" "main" {
  name = "${var.name_prefix}-events"
  tags = merge(local.tags, { Feature = "valuation", Service = "events" })
}

resource "aws_cloudwatch_event_rule" "domain" {
  for_each = local.event_rules

  name           = "${var.name_prefix}-${each.key}"
  description    = "CollectIQ ${each.value} events"
  event_bus_name = aws_cloudwatch_event_bus.main.name
  tags           = merge(local.tags, { Feature = "valuation", Service = "events" })

  event_pattern = jsonencode({
    source        = ["collectiq.valuation"]
    "detail-type" = [each.value]
  })
}

resource "aws_cloudwatch_log_group" "events" {
  #checkov:skip=CKV_AWS_338: retention is a per-environment cost decision taken in the platform spec (dev 30 d, prod 90 d)
  name              = "/aws/events/${var.name_prefix}-domain"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
  tags              = merge(local.tags, { Feature = "valuation", Service = "logs" })
}

data "aws_iam_policy_document" "events_to_logs" {
  statement {
    sid       = "EventBridgeToLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.events.arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }

    # Only on this account's behalf (the confused deputy): a rule in another account naming this
    # log group as its target must not write into it.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "events" {
  policy_name     = "${var.name_prefix}-events-to-logs"
  policy_document = data.aws_iam_policy_document.events_to_logs.json
}

resource "aws_cloudwatch_event_target" "to_logs" {
  for_each = aws_cloudwatch_event_rule.domain

  rule           = each.value.name
  event_bus_name = aws_cloudwatch_event_bus.main.name
  target_id      = "log-group"
  arn            = aws_cloudwatch_log_group.events.arn

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    # The domain rules' log-group targets and the stuck-valuation sweep's target (sweep.tf).
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = concat([for r in aws_cloudwatch_event_rule.domain : r.arn], [aws_cloudwatch_event_rule.sweep.arn])
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.events_dlq.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.events_dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}
