# A governance function that fails says so (issue 13): every failed asynchronous invocation — a schedule
# whose run errored after Lambda's 2 retries, an SNS-triggered alarms run — lands in one queue with its
# full invocation record (request, error type and message), and so does a schedule EventBridge Scheduler
# could not invoke at all. A Terraform-owned alarm on what reaches that queue pages on-call, once per failure.
#
# The alarm is Terraform's, not the generated catalogue's, on purpose: the catalogue is published by
# governance-alarms, which may be the very function that is failing (or has never run). It is named
# outside the `<prefix>-` namespace governance-alarms owns, so its orphan pruning never deletes it.

resource "aws_sqs_queue" "failures" {
  name                      = "${var.name_prefix}-governance-dlq"
  message_retention_seconds = 1209600
  # SQS-managed encryption: Lambda destinations, Scheduler and CloudWatch need no key grants for it, and
  # the records hold job names and error messages, not data.
  sqs_managed_sse_enabled = true
  tags                    = merge(local.tags, { Service = "sqs" })
}

data "aws_iam_policy_document" "failures" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.failures.arn]

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

resource "aws_sqs_queue_policy" "failures" {
  queue_url = aws_sqs_queue.failures.id
  policy    = data.aws_iam_policy_document.failures.json
}

# Each new failure pages: the alarm counts messages *added* to the queue in 5 minutes (Lambda's
# on-failure destination and Scheduler's dead-letter queue both add them with SendMessage, which
# NumberOfMessagesSent counts), so it returns to OK by itself and the next failure pages again — an alarm
# on the messages *held* would stay in ALARM from the first failure until someone purged the queue, and
# every failure after it would page nobody. No OK action: a failure is not fixed because 15 quiet minutes
# passed. (A pager that groups alerts by alarm name adds a failure to the incident still open.)
resource "aws_cloudwatch_metric_alarm" "failures" {
  alarm_name        = "watch-${var.name_prefix}-governance-failures-critical"
  alarm_description = "A governance function (cost report, fast burn, alarms, dashboards) failed and its retries are spent: a new invocation record reached ${aws_sqs_queue.failures.name}. Alarm state, escalations or the cost report may be missing until it is fixed. Runbook: read the message (requestPayload, responseContext.functionError, responsePayload.errorMessage), fix, re-invoke the function with the same payload, then delete the message."
  namespace         = "AWS/SQS"
  metric_name       = "NumberOfMessagesSent"
  dimensions        = { QueueName = aws_sqs_queue.failures.name }
  statistic         = "Sum"
  period            = 300
  # Any of the last three periods: SQS publishes an idle queue's first datapoint late, and a datapoint
  # that lands after its period was evaluated must still page.
  evaluation_periods  = 3
  datapoints_to_alarm = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.severity["critical"].arn]
  tags                = merge(local.tags, { Severity = "critical", Service = "cloudwatch" })
}
