variable "function_name" {
  description = "Full Lambda function name, e.g. dev-collectiq-cards-get."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1-64 characters of letters, digits, '-' or '_'."
  }
}

variable "description" {
  description = "Human description shown in the Lambda console."
  type        = string
  default     = ""
}

variable "package_path" {
  description = "Path of the zip holding the `bootstrap` binary (built by scripts/package-lambdas). It need not exist for `terraform validate`; it must for plan/apply."
  type        = string
}

variable "source_code_hash" {
  description = "base64 SHA-256 of the zip. Null: computed from package_path when the file exists."
  type        = string
  default     = null
}

variable "architecture" {
  description = "Instruction set: arm64 (Graviton, ~20 % cheaper per GB-s) or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_mb" {
  description = "Memory in MB (128..10240); CPU scales with it."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be within 128..10240."
  }
}

variable "timeout_s" {
  description = "Timeout in seconds (1..900)."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout_s >= 1 && var.timeout_s <= 900
    error_message = "timeout_s must be within 1..900."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the log group and the environment variables."
  type        = string
}

variable "environment_variables" {
  description = "Extra environment variables. POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_LOG_LEVEL are set by the module unless given here. Never put secrets here: pass a Secrets Manager ARN instead."
  type        = map(string)
  default     = {}
}

variable "service_name" {
  description = "POWERTOOLS_SERVICE_NAME: the `service` field of every log line and the EMF service dimension."
  type        = string
}

variable "metrics_namespace" {
  description = "POWERTOOLS_METRICS_NAMESPACE: the CloudWatch namespace of custom (EMF) metrics."
  type        = string
  default     = "CollectIQ"
}

variable "log_level" {
  description = "Log level of the function: POWERTOOLS_LOG_LEVEL, and Lambda's application log level (JSON format filters lines by their level; unset, it is INFO and dev's DEBUG lines were dropped). Lambda hands the code the same level as AWS_LAMBDA_LOG_LEVEL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"], upper(var.log_level))
    error_message = "log_level must be TRACE, DEBUG, INFO, WARN (WARNING), ERROR or FATAL (CRITICAL)."
  }
}

variable "policy_json" {
  description = "IAM policy document (JSON) with what the function needs beyond logging and tracing. Null: none."
  type        = string
  default     = null
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions. Null: unreserved (the account pool). New accounts with a 10-execution quota cannot reserve any."
  type        = number
  default     = null
}

variable "dead_letter_target_arn" {
  description = "SQS queue ARN for failed asynchronous invocations. Null: none (synchronous callers see the error)."
  type        = string
  default     = null

  # The role is granted sqs:SendMessage only (main.tf): an SNS topic would get no permission to publish.
  validation {
    condition     = var.dead_letter_target_arn == null || can(regex("^arn:[^:]+:sqs:", var.dead_letter_target_arn))
    error_message = "dead_letter_target_arn must be an SQS queue ARN (the function's role may only sqs:SendMessage to it)."
  }
}

variable "on_failure_destination_arn" {
  description = "SQS queue ARN receiving failed asynchronous invocations, with the full invocation record. Null: none."
  type        = string
  default     = null

  # The role is granted sqs:SendMessage only (main.tf): an SNS, Lambda or EventBridge destination would
  # get no permission, and Lambda would drop the record.
  validation {
    condition     = var.on_failure_destination_arn == null || can(regex("^arn:[^:]+:sqs:", var.on_failure_destination_arn))
    error_message = "on_failure_destination_arn must be an SQS queue ARN (the function's role may only sqs:SendMessage to it)."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of failed asynchronous invocations (0..2)."
  type        = number
  default     = 2
}

variable "tags" {
  description = "Resource tags merged over the provider default_tags (e.g. Service, Feature, Tier)."
  type        = map(string)
  default     = {}
}

variable "alias_name" {
  description = "Name of the alias callers invoke (e.g. live). Null: no alias, versions are not published and callers invoke $LATEST."
  type        = string
  default     = null

  validation {
    condition     = var.alias_name == null || can(regex("^[A-Za-z][A-Za-z0-9_-]{0,127}$", coalesce(var.alias_name, "x")))
    error_message = "alias_name must start with a letter and hold only letters, digits, '-' or '_' (not a number: that would be a version)."
  }
}
