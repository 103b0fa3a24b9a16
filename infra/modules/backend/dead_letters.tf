# Replaying the dead-letter queues through error_handler (backend/src/error_handler.rs, its SQS input):
# a failed valuation's state is read as a caught failure (the card goes VALUING -> FAILED, one ERROR
# line), an undelivered domain event is logged; a message of another shape stays in the queue (reported
# as a batch item failure) for a person. The mappings exist but are off: the queues are for on-call, whose
# depth alarm pages; `replay_dead_letters = true` replays them after a fix (alarms/runbooks/dlq-depth.md).
resource "aws_lambda_event_source_mapping" "dead_letters" {
  for_each = {
    valuation = aws_sqs_queue.valuation_dlq.arn
    events    = aws_sqs_queue.events_dlq.arn
  }

  event_source_arn        = each.value
  function_name           = module.pipeline["error_handler"].alias_arn
  enabled                 = var.replay_dead_letters
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
  tags                    = merge(local.tags, { Feature = "valuation", Service = "lambda" })

  depends_on = [module.pipeline]
}
