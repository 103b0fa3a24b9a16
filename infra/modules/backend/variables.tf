variable "name_prefix" {
  description = "Prefix of every resource name, e.g. collectiq-dev."
  type        = string
}

variable "table_name" {
  description = "Name of the single DynamoDB table (the platform spec's; null: <name_prefix>-data)."
  type        = string
  default     = null
}

variable "environment" {
  description = "Environment name (dev, prod)."
  type        = string
}

variable "service_name" {
  description = "POWERTOOLS_SERVICE_NAME of every function: the service field of log lines and the service dimension of custom metrics (the platform spec's service_name(); one per platform keeps metric cardinality low)."
  type        = string
}

variable "functions" {
  description = "The 12 backend Lambdas by logical name (= cargo bin name = zip name). name defaults to <name_prefix>-<logical name with '-' for '_'>; agent (the Bedrock agent a function acts as) is informational: the spec's, kept for the generated tfvars; no function reads it from its environment."
  type = map(object({
    name                 = optional(string)
    agent                = optional(string)
    memory_mb            = number
    timeout_s            = number
    tier                 = string
    feature              = optional(string)
    reserved_concurrency = optional(number)
    architecture         = optional(string, "arm64")
  }))

  validation {
    condition = alltrue([
      for required in [
        "healthz", "upload_presign", "cards_create", "cards_list", "cards_get", "cards_delete",
        "cards_revalue", "rekognition_extract", "pricing_agent", "authenticity_agent", "aggregator", "error_handler",
      ] : contains(keys(var.functions), required)
    ])
    error_message = "functions must contain the 12 CollectIQ functions: healthz, upload_presign, cards_create, cards_list, cards_get, cards_delete, cards_revalue, rekognition_extract, pricing_agent, authenticity_agent, aggregator, error_handler."
  }
}

variable "artifacts_dir" {
  description = "Folder holding <function>.zip built by scripts/package-lambdas."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of every backend log group (functions, API access, state machine, events), in days."
  type        = number
}

variable "log_level" {
  description = "Log level of the backend Lambdas (POWERTOOLS_LOG_LEVEL, read by telemetry)."
  type        = string
  default     = "INFO"
}

variable "allowed_upload_mime" {
  description = "MIME types upload_presign accepts (ALLOWED_UPLOAD_MIME, comma-joined)."
  type        = list(string)
  default     = ["image/jpeg", "image/png", "image/heic"]
}

variable "max_upload_mb" {
  description = "Largest upload upload_presign signs for (MAX_UPLOAD_MB)."
  type        = number
  default     = 12
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to call the API and PUT to the upload bucket."
  type        = list(string)
  default     = ["http://localhost:3000"]
}

variable "app_origins" {
  description = "The web app's https origins (seed 001's custom domain): the app client's callback (<origin>/auth/callback) and logout URLs."
  type        = list(string)
  default     = ["https://dev.collectiq.com"]
}

variable "upload_ia_transition_days" {
  description = "Days after which uploaded card images move to S3 Intelligent-Tiering (seeds 000/001)."
  type        = number
  default     = 30
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted upload versions are removed."
  type        = number
  default     = 30
}

variable "bedrock_model_id" {
  description = "Bedrock model the authenticity agent calls through Converse."
  type        = string
  default     = "anthropic.claude-3-5-sonnet-20240620-v1:0"
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
  description = "Whether the authenticity agent compares the card's front photo with the registered card's reference print, samples/{set}/{number} in the uploads bucket, by perceptual hash (AUTHENTICITY_PHASH; seed 001's \"Bedrock + pHash\"). One S3 GET a valuation, one more for cards with a sample; no Bedrock tokens."
  type        = bool
  default     = true
}

variable "authenticity_phash_max_distance" {
  description = "The most bits of 64 the photo's perceptual hash may differ from the reference print's and still match (AUTHENTICITY_PHASH_MAX_DISTANCE). Farther, the card is capped at 0.49 and flagged."
  type        = number
  default     = 12

  validation {
    condition     = var.authenticity_phash_max_distance >= 0 && var.authenticity_phash_max_distance <= 63 && floor(var.authenticity_phash_max_distance) == var.authenticity_phash_max_distance
    error_message = "authenticity_phash_max_distance must be a whole number of bits from 0 to 63 (the function refuses anything else at start)."
  }
}

variable "bedrock_inference_profile_region_prefixes" {
  description = "Cross-region inference profile prefixes (e.g. [\"us\"]) the authenticity agent may also use. Empty: on-demand foundation model only."
  type        = list(string)
  default     = ["us"]
}

variable "state_machine_log_level" {
  description = "Step Functions execution logging level: ALL, ERROR or FATAL."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR or FATAL (OFF is not allowed)."
  }
}

variable "api_throttle" {
  description = "Default route throttling of the HTTP API stage."
  type = object({
    burst_limit = number
    rate_limit  = number
  })
  default = {
    burst_limit = 100
    rate_limit  = 50
  }
}

variable "allow_admin_password_auth" {
  description = "Let IAM principals with cognito-idp:AdminInitiateAuth get tokens by username and password (ADMIN_USER_PASSWORD_AUTH): handy for smoke tests in dev, off in prod."
  type        = bool
  default     = false
}

variable "mfa_configuration" {
  description = "MFA of the Cognito user pool, with a TOTP app (software token) as the factor: ON (every user must set one up and use it to sign in; seed 001 for prod) or OPTIONAL (users may; seed 001's module default, dev)."
  type        = string
  default     = "ON"

  validation {
    condition     = contains(["ON", "OPTIONAL"], var.mfa_configuration)
    error_message = "mfa_configuration must be ON or OPTIONAL (OFF would leave no second factor at all)."
  }
}

variable "deletion_protection" {
  description = "Protect the table and user pool from deletion."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags merged over the provider default_tags on every resource of this module."
  type        = map(string)
  default     = {}
}

variable "presign_ttl_seconds" {
  description = "Lifetime of the presigned upload URL (PRESIGN_TTL_SECONDS of upload_presign). The URL also dies with the function's role session, so more than an hour buys nothing."
  type        = number
  default     = 300

  validation {
    condition     = var.presign_ttl_seconds >= 30 && var.presign_ttl_seconds <= 3600
    error_message = "presign_ttl_seconds must be between 30 and 3600."
  }
}

variable "authenticity_flag_threshold" {
  description = "Authenticity score below which the aggregator marks a card FLAGGED and emits AuthenticityFlagged (AUTHENTICITY_FLAG_THRESHOLD, (0, 1])."
  type        = number
  default     = 0.5

  validation {
    # backend/src/aggregator.rs refuses 0 at start-up (every valuation would then fail at Aggregator).
    condition     = var.authenticity_flag_threshold > 0 && var.authenticity_flag_threshold <= 1
    error_message = "authenticity_flag_threshold must be above 0 and at most 1 (the aggregator refuses 0)."
  }
}

variable "user_id_hash_key_version" {
  description = "Version of the generated userId hash key. Bump it (and apply) to write a new key: every userId pseudonym changes from then on."
  type        = number
  default     = 1

  validation {
    condition     = var.user_id_hash_key_version >= 1 && floor(var.user_id_hash_key_version) == var.user_id_hash_key_version
    error_message = "user_id_hash_key_version must be a whole number >= 1."
  }
}

variable "valuation_timeout_minutes" {
  description = "Timeout of a whole valuation execution. The stuck-valuation sweep fails cards VALUING for longer than this plus 15 minutes."
  type        = number
  default     = 30

  validation {
    condition     = var.valuation_timeout_minutes >= 5 && var.valuation_timeout_minutes <= (var.state_machine_type == "EXPRESS" ? 5 : 240)
    error_message = "valuation_timeout_minutes must be between 5 and 240, and exactly 5 for an EXPRESS workflow (an Express execution cannot run longer)."
  }
}

variable "stuck_valuation_sweep_rate" {
  description = "How often error_handler sweeps for cards left VALUING (an EventBridge schedule expression)."
  type        = string
  default     = "rate(15 minutes)"
}

# `live`: seed 004's alias (its rollback runs `update-alias --name live`); seed 001's rollback command
# names `prod`. One name in every environment keeps the invoke ARNs, dashboards and runbooks alike.
variable "alias_name" {
  description = "Alias every backend function serves traffic through (API Gateway, Step Functions and EventBridge invoke it); CodeDeploy moves it."
  type        = string
  default     = "live"
}

variable "deployment_config_name" {
  description = "CodeDeploy configuration that shifts alias traffic to a new version. Default: seed 001 \"Lambda Deployment Rollback\" (10 % of traffic, alarms watched for 10 minutes)."
  type        = string
  default     = "CodeDeployDefault.LambdaCanary10Percent10Minutes"

  validation {
    condition     = can(regex("^CodeDeployDefault\\.Lambda(AllAtOnce|Canary10Percent(5|10|15|30)Minutes|Linear10PercentEvery(1|2|3|10)Minutes?)$", var.deployment_config_name))
    error_message = "deployment_config_name must be one of CodeDeploy's predefined Lambda configurations (CodeDeployDefault.LambdaCanary10Percent10Minutes, ...LambdaLinear10PercentEvery1Minute, ...LambdaAllAtOnce)."
  }
}

variable "canary_error_rate_percent" {
  description = "A deployment rolls back when the alias's error rate passes this many percent (seed 001: 5)."
  type        = number
  default     = 5

  validation {
    condition     = var.canary_error_rate_percent > 0 && var.canary_error_rate_percent < 100
    error_message = "canary_error_rate_percent must be between 0 and 100."
  }
}

variable "canary_min_invocations" {
  description = "Minutes in which the new version served fewer calls than this never count as a high canary error rate (one failed call of three is not a trend)."
  type        = number
  default     = 10
}

variable "state_machine_type" {
  description = "Valuation workflow type: STANDARD (full execution history, for debugging) or EXPRESS (cheaper and faster at volume; at most 5 minutes per execution, history only in the log group)."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "EXPRESS"], var.state_machine_type)
    error_message = "state_machine_type must be STANDARD or EXPRESS."
  }
}

variable "presign_daily_limit" {
  description = "Presigned uploads per user and UTC day (PRESIGN_DAILY_LIMIT of upload_presign; then 429 with Retry-After)."
  type        = number
  default     = 200

  validation {
    condition     = var.presign_daily_limit >= 1 && floor(var.presign_daily_limit) == var.presign_daily_limit
    error_message = "presign_daily_limit must be a whole number >= 1."
  }
}

variable "create_daily_limit" {
  description = "Cards created per user and UTC day (CREATE_DAILY_LIMIT of cards_create; then 429 with Retry-After). Replays of a create count too: each re-reads the card and may re-tag its images."
  type        = number
  default     = 100

  validation {
    condition     = var.create_daily_limit >= 1 && floor(var.create_daily_limit) == var.create_daily_limit
    error_message = "create_daily_limit must be a whole number >= 1."
  }
}

variable "revalue_daily_limit" {
  description = "Revaluations per user and UTC day (REVALUE_DAILY_LIMIT of cards_revalue; each costs Rekognition, Bedrock and a Step Functions run)."
  type        = number
  default     = 20

  validation {
    condition     = var.revalue_daily_limit >= 1 && floor(var.revalue_daily_limit) == var.revalue_daily_limit
    error_message = "revalue_daily_limit must be a whole number >= 1."
  }
}

variable "service_valuation_daily_limit" {
  description = "Valuations per UTC day for all users together (SERVICE_VALUATION_DAILY_LIMIT of cards_revalue; then 429 \"the service's daily limit\" with Retry-After). Cognito sign-up is open: per-user limits alone let Bedrock spend grow with sign-ups. The environments set it from their budget (infra/envs/shared/main.tf)."
  type        = number
  default     = 3000

  validation {
    condition     = var.service_valuation_daily_limit >= 1 && floor(var.service_valuation_daily_limit) == var.service_valuation_daily_limit
    error_message = "service_valuation_daily_limit must be a whole number >= 1."
  }
}

variable "unconfirmed_upload_expiration_days" {
  description = "Days after which an upload no card registered (tag collectiq-upload=pending) expires."
  type        = number
  default     = 1
}
