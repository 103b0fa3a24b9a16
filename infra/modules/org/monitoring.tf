# The watcher is watched: an organisation pass that fails tells on-call. Per-item failures are caught in
# the Map (one broken account never stops the others), so an execution fails only when the pass itself
# could not finish — the plan step (the organisation's cost or member list could not be read), or the
# summary step, which fails when any item failed, a discovered account was rejected or the day's roll-up
# could not be posted (governance/src/org/lambda.rs, summary_handler). One datapoint per failed or timed
# out execution; missing data is not breaching, so each failure pages once and the alarm clears itself
# on the next quiet period.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-organisation-alarms"
  kms_master_key_id = aws_kms_key.org.arn
  tags              = merge(local.tags, { Service = "sns" })
}

# Only this account's organisation alarms publish (the platforms' topics do the same): without a policy
# the topic kept SNS's default one, which lets any principal of the account publish a false page.
data "aws_iam_policy_document" "alarms_topic" {
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-organisation-*"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.alarms_topic.json
}

resource "aws_sns_topic_subscription" "alarms_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "executions_failed" {
  alarm_name          = "${var.name_prefix}-organisation-executions-failed-critical"
  alarm_description   = "The organisation governance pass failed or timed out: see the execution's summary (which accounts, which stage, why) in the Step Functions console. Runbook: docs/organisation.md, \"When a pass fails\"."
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  evaluation_periods  = 1
  datapoints_to_alarm = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "unfinished"
    expression  = "failed + timedout"
    label       = "Failed or timed-out executions"
    return_data = true
  }

  metric_query {
    id = "failed"
    metric {
      namespace   = "AWS/States"
      metric_name = "ExecutionsFailed"
      period      = 300
      stat        = "Sum"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.organisation.arn }
    }
  }

  metric_query {
    id = "timedout"
    metric {
      namespace   = "AWS/States"
      metric_name = "ExecutionsTimedOut"
      period      = 300
      stat        = "Sum"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.organisation.arn }
    }
  }

  tags = merge(local.tags, { Service = "cloudwatch" })
}

# A pass that never started fails no execution, so the alarm above cannot see it: the schedule's
# dead-letter queue holds the day's event, and a message in it pages through the same topic.

resource "aws_sqs_queue" "schedule_dlq" {
  name                      = "${var.name_prefix}-organisation-schedule-dlq"
  message_retention_seconds = 1209600
  # SQS-managed encryption: Scheduler needs no key grant for it, and the message is the schedule's
  # input ({"mode":"run","notify":true}) with the error, no data.
  sqs_managed_sse_enabled = true
  tags                    = merge(local.tags, { Service = "sqs" })
}

data "aws_iam_policy_document" "schedule_dlq" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.schedule_dlq.arn]

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

resource "aws_sqs_queue_policy" "schedule_dlq" {
  queue_url = aws_sqs_queue.schedule_dlq.id
  policy    = data.aws_iam_policy_document.schedule_dlq.json
}

# Pages once per schedule Scheduler could not deliver: messages *added* to the queue in 5 minutes, so the
# alarm returns to OK by itself and the next failed day pages again (an alarm on the messages held would
# stay in ALARM from the first one on). No OK action: five quiet minutes fix nothing.
resource "aws_cloudwatch_metric_alarm" "schedule_undelivered" {
  alarm_name        = "${var.name_prefix}-organisation-schedule-undelivered-critical"
  alarm_description = "EventBridge Scheduler could not start the organisation pass (retries spent): ${aws_sqs_queue.schedule_dlq.name} holds the event and the error. No account was governed that day. Runbook: docs/organisation.md, \"When a pass fails\"; start an execution with the message's input once the cause is fixed, then delete the message."
  namespace         = "AWS/SQS"
  metric_name       = "NumberOfMessagesSent"
  dimensions        = { QueueName = aws_sqs_queue.schedule_dlq.name }
  statistic         = "Sum"
  period            = 300
  # Any of the last three periods: an idle queue's first datapoint is published late.
  evaluation_periods  = 3
  datapoints_to_alarm = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = merge(local.tags, { Service = "cloudwatch" })
}
