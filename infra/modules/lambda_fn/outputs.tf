output "function_name" {
  description = "The Lambda function name."
  value       = aws_lambda_function.this.function_name
}

output "arn" {
  description = "The Lambda function ARN."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "ARN API Gateway uses to invoke the function."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's execution role (to attach further policies)."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "The function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "memory_mb" {
  description = "Configured memory in MB."
  value       = aws_lambda_function.this.memory_size
}

output "timeout_s" {
  description = "Configured timeout in seconds."
  value       = aws_lambda_function.this.timeout
}

output "source_code_hash" {
  description = "base64 SHA-256 of the deployed package (null when the package is absent, e.g. during validate)."
  value       = local.source_code_hash
}

output "environment_keys" {
  description = "Names of the function's environment variables (known at plan time even when values are not): scripts/check-infra compares them with what the code reads."
  value       = sort(keys(local.environment))
}

output "version" {
  description = "Latest published version (\"$LATEST\" when the function has no alias): the TargetVersion of the next CodeDeploy deployment."
  value       = aws_lambda_function.this.version
}

output "alias_name" {
  description = "The traffic-serving alias, or null."
  value       = var.alias_name
}

output "alias_arn" {
  description = "ARN callers invoke: the alias's qualified ARN, or the function ARN when there is no alias."
  value       = var.alias_name == null ? aws_lambda_function.this.arn : aws_lambda_alias.this[0].arn
}

output "alias_invoke_arn" {
  description = "ARN API Gateway uses to invoke the alias (the function's invoke ARN when there is no alias)."
  value       = var.alias_name == null ? aws_lambda_function.this.invoke_arn : aws_lambda_alias.this[0].invoke_arn
}
