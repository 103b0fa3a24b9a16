# The stuck-valuation sweep: error_handler, on a schedule, fails cards left VALUING by executions that
# never reached ErrorHandler (a whole-execution timeout, a stopped execution, a failed error handler),
# found on GSI3 (valuingShard, updatedAt: the valuations in flight). Without it such a card could never
# be revalued (409).

locals {
  # No live execution is older than the state machine's timeout; 15 minutes more covers clock skew and
  # an ErrorHandler still running at the deadline.
  stuck_after_minutes = var.valuation_timeout_minutes + 15
}

resource "aws_cloudwatch_event_rule" "sweep" {
  name                = "${var.name_prefix}-stuck-valuation-sweep"
  description         = "error_handler fails cards VALUING for more than ${local.stuck_after_minutes} minutes."
  schedule_expression = var.stuck_valuation_sweep_rate
  tags                = merge(local.tags, { Feature = "valuation", Service = "events" })
}

resource "aws_cloudwatch_event_target" "sweep" {
  rule      = aws_cloudwatch_event_rule.sweep.name
  target_id = "error-handler"
  arn       = module.pipeline["error_handler"].alias_arn
  input     = jsonencode({ sweepStuckValuations = { olderThanMinutes = local.stuck_after_minutes } })

  retry_policy {
    maximum_event_age_in_seconds = 900
    maximum_retry_attempts       = 2
  }

  # A sweep EventBridge could not hand to Lambda at all (permission, throttling, a missing alias) after
  # these retries: kept in the events DLQ (its policy admits this rule, events.tf), whose depth alarm
  # pages. Once invoked, a failing sweep is error_handler's on-failure destination's (functions.tf).
  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

resource "aws_lambda_permission" "sweep" {
  statement_id  = "stuck-valuation-sweep"
  action        = "lambda:InvokeFunction"
  function_name = module.pipeline["error_handler"].function_name
  qualifier     = module.pipeline["error_handler"].alias_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep.arn
}
