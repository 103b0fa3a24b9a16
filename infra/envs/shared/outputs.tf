output "api_endpoint" {
  description = "Base URL of the CollectIQ HTTP API."
  value       = module.backend.api_endpoint
}

output "user_pool_id" {
  description = "Cognito user pool id."
  value       = module.backend.user_pool_id
}

output "user_pool_client_id" {
  description = "Cognito app client id."
  value       = module.backend.user_pool_client_id
}

output "slack_webhook_secret_name" {
  description = "Set this secret's value to the Slack webhook URL (docs/deploy.md)."
  value       = module.governance.slack_webhook_secret_name
}

output "pricing_secret_name" {
  description = "Set this secret's value to the price-source API keys (docs/deploy.md)."
  value       = module.backend.pricing_secret_name
}

output "sns_topic_arns" {
  description = "Governance SNS topics by severity."
  value       = module.governance.sns_topic_arns
}

output "function_environment_keys" {
  description = "Environment variable names of every Lambda (backend and governance), for the code-vs-Terraform check."
  value       = merge(module.backend.function_environment_keys, module.governance.function_environment_keys)
}

# Everything the platform spec describes, as deployed: `collectiq-ops` compares it with the spec.
output "platform" {
  description = "Deployed platform facts for the platform-spec drift check."
  value = {
    platform             = var.platform
    environment          = var.environment
    region               = var.region
    log_retention_days   = var.log_retention_days
    functions            = module.backend.functions
    governance_functions = module.governance.function_names
    api_id               = module.backend.api_id
    api_routes           = module.backend.api_routes
    state_machine_arn    = module.backend.state_machine_arn
    table_name           = module.backend.table_name
    table_gsis           = module.backend.table_gsis
    queue_names          = module.backend.queue_names
    event_bus_name       = module.backend.event_bus_name
    budget_name          = module.governance.budget_name
    budget_limit_usd     = var.budget.limit_usd
    bucket_name          = module.backend.upload_bucket
    sns_topic_arns       = module.governance.sns_topic_arns
    slack_secret_name    = module.governance.slack_webhook_secret_name
    ledger_table_name    = module.governance.ledger_table_name
    log_level            = local.log_level
    state_machine_type   = module.backend.state_machine_type
  }
}

# Known at plan time (the `platform` output is not, as a whole): what scripts/check-infra checks against
# the seeds before anything is deployed.
output "settings" {
  description = "The environment's log level and workflow type, every budget notification with its route, and the governance failures queue."
  value = {
    log_level            = local.log_level
    state_machine_type   = local.state_machine_type
    budget_notifications = module.governance.budget_notifications
    failures_queue_name  = module.governance.failures_queue_name
  }
}

output "deployments" {
  description = "Canary deployment of each backend function: CodeDeploy application and group, alias, latest published version and rollback alarms (docs/deploy.md, \"Canary deployments\")."
  value       = module.backend.deployments
}

output "valuation_definition" {
  description = "The valuation state machine's definition (JSON), known at plan time: scripts/check-infra checks its states, retries and targets."
  value       = module.backend.valuation_definition
}
