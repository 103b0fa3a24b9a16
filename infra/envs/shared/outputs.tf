# The names the seeds give the outputs: seed 001 ("Outputs" — to backend: api_base_url,
# dynamodb_table_name, s3_uploads_bucket, step_functions_arn, eventbridge_bus_name; to frontend:
# cognito_user_pool_id, cognito_client_id; the Cognito module's hosted_ui_domain, jwks_url) and seed 004
# (its verification reads api_endpoint, and the frontend configuration cognito_user_pool_id,
# cognito_client_id, cognito_domain). The API's URL goes by both seeds' names, the hosted UI's domain
# likewise. Seed 001's amplify_* outputs are not here: this project deploys no Amplify app.
output "api_endpoint" {
  description = "Base URL of the CollectIQ HTTP API (seed 004's name)."
  value       = module.backend.api_endpoint
}

output "api_base_url" {
  description = "Base URL of the CollectIQ HTTP API (seed 001's name)."
  value       = module.backend.api_endpoint
}

output "dynamodb_table_name" {
  description = "The cards table."
  value       = module.backend.table_name
}

output "s3_uploads_bucket" {
  description = "The uploads bucket."
  value       = module.backend.upload_bucket
}

output "step_functions_arn" {
  description = "The valuation state machine."
  value       = module.backend.state_machine_arn
}

output "eventbridge_bus_name" {
  description = "The CollectIQ event bus."
  value       = module.backend.event_bus_name
}

output "cognito_user_pool_id" {
  description = "Cognito user pool id (the API's JWT issuer)."
  value       = module.backend.user_pool_id
}

output "cognito_client_id" {
  description = "Cognito app client id (the JWT audience; the frontend's OAuth client)."
  value       = module.backend.user_pool_client_id
}

output "cognito_domain" {
  description = "The Cognito hosted UI's domain (seed 004's name)."
  value       = module.backend.hosted_ui_domain
}

output "hosted_ui_domain" {
  description = "The Cognito hosted UI's domain (seed 001's name)."
  value       = module.backend.hosted_ui_domain
}

output "jwks_url" {
  description = "The user pool's JSON Web Key Set, for JWT validation."
  value       = module.backend.jwks_url
}

output "slack_webhook_secret_name" {
  description = "Set this secret's value to the Slack webhook URL (docs/deploy.md)."
  value       = module.governance.slack_webhook_secret_name
}

output "slack_webhook_secret_arn" {
  description = "The Slack webhook secret's ARN: an organisation member module's slack_webhook_secret_arns (docs/organisation.md)."
  value       = module.governance.slack_webhook_secret_arn
}

output "kms_key_arn" {
  description = "The governance key (it encrypts the Slack secret and the topics): an organisation member module's kms_key_arns (docs/organisation.md)."
  value       = module.governance.kms_key_arn
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
  description = "The environment's log level and workflow type, every budget notification with its route, the governance failures queue and the service's daily valuation ceiling."
  value = {
    log_level                     = local.log_level
    state_machine_type            = local.state_machine_type
    budget_notifications          = module.governance.budget_notifications
    failures_queue_name           = module.governance.failures_queue_name
    service_valuation_daily_limit = module.backend.service_valuation_daily_limit
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
