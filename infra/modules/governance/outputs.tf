output "function_arns" {
  description = "Governance Lambda ARNs by logical name."
  value       = { for name, f in module.function : name => f.arn }
}

output "function_names" {
  description = "Governance Lambda function names by logical name."
  value       = { for name, f in module.function : name => f.function_name }
}

output "sns_topic_arns" {
  description = "SNS topic ARNs by severity (critical, warning)."
  value       = { for sev, t in aws_sns_topic.severity : sev => t.arn }
}

output "slack_webhook_secret_name" {
  description = "Name of the Secrets Manager secret whose value must be set to the Slack webhook URL."
  value       = aws_secretsmanager_secret.slack_webhook.name
}

output "slack_webhook_secret_arn" {
  description = "ARN of the Slack webhook secret."
  value       = aws_secretsmanager_secret.slack_webhook.arn
}

output "ledger_table_name" {
  description = "The governance ledger table."
  value       = aws_dynamodb_table.ledger.name
}

output "budget_name" {
  description = "The monthly AWS Budgets budget."
  value       = aws_budgets_budget.monthly.name
}

output "kms_key_arn" {
  description = "The governance KMS key."
  value       = aws_kms_key.governance.arn
}

output "schedule_names" {
  description = "EventBridge Scheduler schedules (group/name)."
  value       = [for s in aws_scheduler_schedule.governance : "${s.group_name}/${s.name}"]
}

output "function_environment_keys" {
  description = "Environment variable names per governance function."
  value       = { for name, f in module.function : name => f.environment_keys }
}

output "budget_notifications" {
  description = "Every budget notification and where it goes: type (ACTUAL/FORECASTED), threshold (% of the limit), severity (email = e-mail only, warning = + warning topic, critical = + critical topic). scripts/check-infra checks the seeds' routing on it."
  value       = local.budget_notifications
}

output "failures_queue_name" {
  description = "Queue of failed governance invocations (on-failure destination and Scheduler DLQ); its depth alarm pages."
  value       = aws_sqs_queue.failures.name
}
