# --- from platform.auto.tfvars.json, generated from infra/platforms/<platform>-<environment>.toml --------
# (schema: docs/deploy.md, "platform.auto.tfvars.json schema")

variable "platform" {
  description = "Platform name ([platform].name of the spec), e.g. collectiq."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.platform))
    error_message = "platform must be 2-16 lowercase letters, digits or '-'."
  }
}

variable "service_name" {
  description = "POWERTOOLS_SERVICE_NAME of every backend function ([platform].service_name of the spec, else its name)."
  type        = string
}

variable "table_name" {
  description = "The backend's single DynamoDB table ([[tables]][0].name of the spec; seeds 001/004: <env>-CollectIQ). Null: <platform>-<env>-data."
  type        = string
  default     = null
}

variable "environment" {
  description = "Environment name ([platform].environment): the Environment tag and part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits."
  }
}

variable "region" {
  description = "AWS region to deploy to ([platform].region)."
  type        = string
  default     = "us-east-1"
}

variable "account_id" {
  description = "The AWS account the spec describes ([platform].account_id). Set: the plan fails unless the credentials deploy to that account, so a spec still holding another (example) account cannot be deployed. Null: not checked."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", coalesce(var.account_id, "000000000000")))
    error_message = "account_id must be a 12-digit AWS account id."
  }
}

variable "owner" {
  description = "Owner tag ([platform].owner): the team accountable for this environment."
  type        = string
  # Seed 001 "Resource Tagging Strategy": Owner = "DevOps".
  default = "DevOps"
}

variable "log_retention_days" {
  description = "Retention of every log group, in days ([platform].log_retention_days)."
  type        = number
}

variable "budget" {
  description = "The monthly cost budget ([[budgets]][0]): name, limit_usd, actual_thresholds_percent, forecast_thresholds_percent."
  type = object({
    name                        = string
    limit_usd                   = number
    actual_thresholds_percent   = list(number)
    forecast_thresholds_percent = list(number)
  })
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL of every function ([platform].log_level: DEBUG in dev, INFO in prod, seed 001). Null: the environment's default in env.tf."
  type        = string
  default     = null

  validation {
    condition     = var.log_level == null || contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], upper(coalesce(var.log_level, "INFO")))
    error_message = "log_level must be TRACE, DEBUG, INFO, WARN or ERROR."
  }
}

variable "state_machine_type" {
  description = "Valuation workflow type ([[state_machines]].workflow_type: STANDARD in dev, EXPRESS in prod, seed 001). Null: the environment's default in env.tf."
  type        = string
  default     = null
}

variable "service_valuation_daily_limit" {
  description = "Valuations per UTC day for all users together (cards_revalue's SERVICE_VALUATION_DAILY_LIMIT). Null: six per dollar of the monthly budget (3,000 for prod's $500, 300 for dev's $50; docs/backend.md, \"Daily quotas\")."
  type        = number
  default     = null
}

variable "budget_email_addresses" {
  description = "E-mail addresses every budget notification goes to, the 80 % notice only there ([notifications].email of the spec, or terraform.tfvars). At least one."
  type        = list(string)
  default     = []
}

variable "slack_webhook_secret_name" {
  description = "Secrets Manager secret name for the Slack webhook ([notifications].slack_webhook_secret). Null: <platform>/<environment>/slack-webhook."
  type        = string
  default     = null
}

variable "functions" {
  description = "The 12 backend functions ([[functions]]) keyed by id: name, memory_mb, timeout_s, tier, optional agent."
  type = map(object({
    name                 = optional(string)
    memory_mb            = number
    timeout_s            = number
    tier                 = string
    agent                = optional(string)
    feature              = optional(string)
    reserved_concurrency = optional(number)
    architecture         = optional(string, "arm64")
  }))
}

variable "governance_functions" {
  description = "The 4 governance functions (not part of the watched platform's spec, hence the default here)."
  type = map(object({
    name                 = optional(string)
    memory_mb            = number
    timeout_s            = number
    tier                 = string
    feature              = optional(string, "governance")
    reserved_concurrency = optional(number)
    architecture         = optional(string, "arm64")
  }))
  default = {
    governance-cost       = { memory_mb = 512, timeout_s = 300, tier = "standard", feature = "cost-governance" }
    governance-fastburn   = { memory_mb = 256, timeout_s = 120, tier = "standard", feature = "cost-governance" }
    governance-alarms     = { memory_mb = 256, timeout_s = 120, tier = "standard", feature = "alarms" }
    governance-dashboards = { memory_mb = 256, timeout_s = 120, tier = "standard", feature = "dashboards" }
  }
}

# --- set by whoever deploys (terraform.tfvars, see terraform.tfvars.example) ------------------------------

variable "cost_center" {
  description = "CostCenter tag."
  type        = string
  # Seed 001 "Resource Tagging Strategy": CostCenter = "Engineering".
  default = "Engineering"
}

variable "artifacts_dir" {
  description = "Folder with the Lambda zips from scripts/package-lambdas. Null: <repo>/build/lambda."
  type        = string
  default     = null
}

variable "pagerduty_endpoint" {
  description = "PagerDuty HTTPS integration URL subscribed to the critical topic (or give oncall_email_addresses)."
  type        = string
  default     = null
  sensitive   = true
}

variable "oncall_email_addresses" {
  description = "E-mail addresses subscribed to the critical topic (each confirms a link once). Give this, pagerduty_endpoint, or both: a page must reach someone."
  type        = list(string)
  default     = []
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to call the API and upload (null: the environment's seed 001 domain, local.default_cors_origins)."
  type        = list(string)
  default     = null
}

variable "authenticity_flag_threshold" {
  description = "Authenticity score below which the aggregator flags a card (AUTHENTICITY_FLAG_THRESHOLD, above 0 and at most 1)."
  type        = number
  default     = 0.5
}

variable "replay_dead_letters" {
  description = "Whether error_handler consumes both dead-letter queues (their event source mappings enabled). Off by default: the queues are for on-call (their depth pages); turn it on to replay them after a fix, off again once drained (alarms/runbooks/dlq-depth.md)."
  type        = bool
  default     = false
}

variable "authenticity_send_photo" {
  description = "Whether the authenticity agent sends the card's front photo to the model (AUTHENTICITY_SEND_PHOTO). Off by default: a photo adds up to about 1,600 input tokens a valuation to seed 000's 1,200."
  type        = bool
  default     = false
}

variable "authenticity_phash" {
  description = "Whether the authenticity agent compares the card's front photo with the registered card's reference print (samples/{set}/{number} in the uploads bucket) by perceptual hash (AUTHENTICITY_PHASH; seed 001's \"Bedrock + pHash\"). One S3 GET a valuation, one more for cards with a sample."
  type        = bool
  default     = true
}

variable "authenticity_phash_max_distance" {
  description = "The most bits of 64 the photo's perceptual hash may differ from the reference print's and still match (AUTHENTICITY_PHASH_MAX_DISTANCE, a whole number from 0 to 63: the backend module checks it)."
  type        = number
  default     = 12
}

variable "user_id_hash_key_version" {
  description = "Version of the generated userId hash key; bump to rotate it (every userId pseudonym changes)."
  type        = number
  default     = 1
}
