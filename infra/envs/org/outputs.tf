output "state_machine_arn" {
  description = "The organisation pass (start an execution with {\"mode\": \"plan\"} to try it)."
  value       = module.org.state_machine_arn
}

output "account_function_role_arn" {
  description = "The role every member's governance role must trust (infra/modules/org/member: governance_principal_arn)."
  value       = module.org.account_function_role_arn
}

output "oam_sink_arn" {
  description = "The sink every member links to (infra/modules/org/member: oam_sink_arn)."
  value       = module.org.oam_sink_arn
}

output "alarm_topic_arn" {
  description = "Where the failed-execution alarm goes: subscribe on-call to it."
  value       = module.org.alarm_topic_arn
}

output "ledger_table_name" {
  description = "The organisation's ledger: must equal [organization].ledger_table."
  value       = module.org.ledger_table_name
}

output "rollup_webhook_secret_arn" {
  description = "Put the roll-up channel's Slack webhook URL here."
  value       = module.org.rollup_webhook_secret_arn
}

output "state_machine_definition" {
  description = "The state machine's definition (scripts/check-infra checks it against the plan)."
  value       = module.org.definition
}

output "function_environment" {
  description = "The organisation functions' variable names and spec file (scripts/check-infra compares them with the code)."
  value       = module.org.function_environment
}
