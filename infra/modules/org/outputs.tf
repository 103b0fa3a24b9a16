output "state_machine_arn" {
  description = "The organisation pass."
  value       = aws_sfn_state_machine.organisation.arn
}

output "account_function_role_arn" {
  description = "The role member accounts must trust (infra/modules/org/member: governance_principal_arn)."
  value       = module.function["governance-org-account"].role_arn
}

output "oam_sink_arn" {
  description = "The sink member accounts link to (infra/modules/org/member: oam_sink_arn)."
  value       = aws_oam_sink.organisation.arn
}

output "ledger_table_name" {
  description = "The organisation's ledger (organization.ledger_table in the organisation spec)."
  value       = aws_dynamodb_table.ledger.name
}

output "rollup_webhook_secret_arn" {
  description = "Put the roll-up channel's Slack webhook URL here (organization.slack_webhook_secret)."
  value       = aws_secretsmanager_secret.rollup_webhook.arn
}

output "definition" {
  description = "The state machine's definition with the functions' ARNs spelled out (known at plan time; the deployed one names the same functions by their resource ARNs)."
  value       = jsonencode(local.definitions.spelled)
}

output "function_environment" {
  description = "Every organisation function's environment: its variable names and the organisation spec it reads (known at plan time)."
  value = {
    keys          = sort(keys(local.environment))
    org_spec_file = local.environment.ORG_SPEC_FILE
  }
}

output "alarm_topic_arn" {
  description = "Where the failed-execution alarm goes: subscribe on-call (PagerDuty, Chatbot, e-mail)."
  value       = aws_sns_topic.alarms.arn
}
