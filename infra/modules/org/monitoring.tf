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
  tags              = local.tags
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

  tags = local.tags
}
