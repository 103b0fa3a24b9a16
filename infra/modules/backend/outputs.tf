output "api_endpoint" {
  description = "Base URL of the HTTP API ($default stage)."
  value       = aws_apigatewayv2_api.http.api_endpoint
}

output "api_id" {
  description = "HTTP API id (the ApiId dimension of AWS/ApiGateway metrics)."
  value       = aws_apigatewayv2_api.http.id
}

output "api_name" {
  description = "HTTP API name (the spec's [[http_apis]].name)."
  value       = aws_apigatewayv2_api.http.name
}

output "api_routes" {
  description = "Route keys of the HTTP API."
  value       = sort(keys(local.routes))
}

output "function_names" {
  description = "Backend Lambda function names by logical name."
  value       = local.function_names
}

output "function_arns" {
  description = "Backend Lambda ARNs by logical name."
  value       = local.function_arns
}

output "functions" {
  description = "Deployed memory and timeout per logical function name (for the platform-spec drift check)."
  value = merge(
    { for n, f in module.pipeline : n => { function_name = f.function_name, memory_mb = f.memory_mb, timeout_s = f.timeout_s } },
    { for n, f in module.api : n => { function_name = f.function_name, memory_mb = f.memory_mb, timeout_s = f.timeout_s } },
  )
}

output "table_name" {
  description = "The single DynamoDB table."
  value       = aws_dynamodb_table.main.name
}

output "table_gsis" {
  description = "GSI names of the table."
  value       = sort([for g in aws_dynamodb_table.main.global_secondary_index : g.name])
}

output "upload_bucket" {
  description = "The upload bucket."
  value       = aws_s3_bucket.uploads.id
}

output "state_machine_arn" {
  description = "The valuation state machine."
  value       = aws_sfn_state_machine.valuation.arn
}

output "event_bus_name" {
  description = "The CollectIQ event bus."
  value       = aws_cloudwatch_event_bus.main.name
}

output "queue_names" {
  description = "Dead-letter queues: valuation (failures the error handler could not record) and events (EventBridge)."
  value       = { valuation_dlq = aws_sqs_queue.valuation_dlq.name, events_dlq = aws_sqs_queue.events_dlq.name }
}

output "user_pool_id" {
  description = "Cognito user pool id."
  value       = aws_cognito_user_pool.users.id
}

output "user_pool_client_id" {
  description = "Cognito app client id (the JWT audience)."
  value       = aws_cognito_user_pool_client.web.id
}

output "hosted_ui_domain" {
  description = "The Cognito hosted UI's domain (OAuth redirects): <prefix>.auth.<region>.amazoncognito.com."
  value       = "${aws_cognito_user_pool_domain.hosted_ui.domain}.auth.${local.region}.amazoncognito.com"
}

output "jwks_url" {
  description = "The user pool's JSON Web Key Set (JWT validation)."
  value       = "https://cognito-idp.${local.region}.amazonaws.com/${aws_cognito_user_pool.users.id}/.well-known/jwks.json"
}

output "pricing_secret_name" {
  description = "Secret whose value must be set to the price-source API keys (JSON object)."
  value       = aws_secretsmanager_secret.pricing_api_keys.name
}

output "kms_key_arn" {
  description = "The backend data KMS key."
  value       = aws_kms_key.data.arn
}

output "function_environment_keys" {
  description = "Environment variable names per backend function (for the code-vs-Terraform check in scripts/check-infra)."
  value = merge(
    { for n, f in module.pipeline : n => f.environment_keys },
    { for n, f in module.api : n => f.environment_keys },
  )
}

output "service_valuation_daily_limit" {
  description = "SERVICE_VALUATION_DAILY_LIMIT as cards_revalue's environment carries it (known at plan, unlike the rest of that environment): scripts/check-infra holds it to the spec's budget."
  value       = local.api_env["cards_revalue"]["SERVICE_VALUATION_DAILY_LIMIT"]
}

output "user_id_hash_key_secret_name" {
  description = "Secret holding the generated userId hash key (its value is never in state)."
  value       = aws_secretsmanager_secret.user_id_hash_key.name
}

output "deployments" {
  description = "Canary deployments per logical function: CodeDeploy application and group, the alias, the latest published version (TargetVersion of the next deployment) and the alarms that roll it back."
  value = {
    for n, f in local.deployed : n => {
      application      = aws_codedeploy_app.functions.name
      deployment_group = aws_codedeploy_deployment_group.function[n].deployment_group_name
      function_name    = f.function_name
      alias            = f.alias_name
      latest_version   = f.version
      rollback_alarms  = [local.catalogue_error_rate_alarms[n], aws_cloudwatch_metric_alarm.canary_errors[n].alarm_name]
    }
  }
}

output "state_machine_type" {
  description = "STANDARD or EXPRESS."
  value       = aws_sfn_state_machine.valuation.type
}

output "valuation_definition" {
  description = "The valuation state machine's definition (JSON) as deployed, its function aliases and queue spelled as the ARNs and URL they will have: known at plan time, for scripts/check-infra."
  value       = jsonencode(local.valuation_definitions.spelled)
}
