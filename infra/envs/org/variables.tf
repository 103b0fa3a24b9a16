# The organisation stack's settings. They mirror the organisation spec
# (infra/platforms/org/<organization>.toml); scripts/check-infra plans this root with
# terraform.tfvars.example and checks the plan against that file.

variable "organization" {
  description = "The organisation's name ([organization].name): the prefix of every resource, and the organisation spec the functions read (platforms/org/<organization>.toml in their zip)."
  type        = string
}

variable "management_account_id" {
  description = "The account this stack deploys to ([organization].management_account_id): the plan refuses other credentials."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.management_account_id))
    error_message = "management_account_id must be a 12-digit account id."
  }
}

variable "region" {
  description = "The region of the organisation stack ([organization].region)."
  type        = string
}

variable "member_account_ids" {
  description = "Every [[accounts]].id of the organisation spec: the only accounts whose governance role may be assumed and whose observability links the sink accepts."
  type        = list(string)
}

variable "organization_id" {
  description = "The AWS Organizations id (o-...) when the organisation spec has [discovery]: governance may then assume member_role_name ([discovery].role_name) in any account of the organisation. Leave unset to allow member_account_ids only."
  type        = string
  default     = null
}

variable "member_role_name" {
  description = "The role governance assumes in every member (the last part of each [[accounts]].role_arn)."
  type        = string
  default     = "collectiq-governance-member"
  # IAM's role-name characters: the name goes into arn:…:iam::*:role/<name>, where a "*" or "/" would
  # let the account function assume far more than the members' governance role.
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.member_role_name))
    error_message = "member_role_name must be an IAM role name: 1 to 64 of A-Z, a-z, 0-9 and +=,.@_- (no path, no wildcard)."
  }
}

variable "max_concurrency" {
  description = "Accounts governed at once by the Map state."
  type        = number
  default     = 8
}

variable "schedule_expression" {
  description = "When the organisation pass runs (EventBridge Scheduler, UTC)."
  type        = string
  default     = "cron(0 6 * * ? *)"
}

variable "artifacts_dir" {
  description = "Directory holding governance-org-{plan,account,summary}.zip (scripts/package-lambdas --org). Default: build/lambda of this checkout."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the functions and the state machine."
  type        = number
  default     = 90
}

variable "alarm_email" {
  description = "Who is told by e-mail when an organisation pass fails (null: subscribe on-call to the alarm_topic_arn output)."
  type        = string
  default     = null
}

# Seed 001 "Resource Tagging Strategy": every CollectIQ resource carries Owner = "DevOps" and
# CostCenter = "Engineering"; the organisation stack is tagged Project = "CollectIQ" as well.
variable "owner" {
  description = "Owner tag."
  type        = string
  default     = "DevOps"
}

variable "cost_center" {
  description = "CostCenter tag."
  type        = string
  default     = "Engineering"
}

variable "environment" {
  description = "Environment tag (seed 001, \"Resource Tagging Strategy\": every resource carries one). The organisation's governance runs in production; without the tag its own spend counts as untagged in its roll-up."
  type        = string
  default     = "prod"
}
