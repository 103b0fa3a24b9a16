variable "governance_principal_arn" {
  description = "The role of the organisation pass's account function (infra/modules/org output account_function_role_arn): the only principal this role trusts."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.governance_principal_arn))
    error_message = "governance_principal_arn must be an IAM role ARN."
  }
}

variable "role_name" {
  description = "Name of the role (accounts[].role_arn in the organisation spec ends with it)."
  type        = string
  default     = "collectiq-governance-member"
  # IAM's role-name characters: the name goes into arn:…:iam::*:role/<name>, where a "*" or "/" would
  # let the account function assume far more than the members' governance role.
  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be an IAM role name: 1 to 64 of A-Z, a-z, 0-9 and +=,.@_- (no path, no wildcard)."
  }
}

variable "external_id" {
  description = "sts:ExternalId the trust policy requires (accounts[].external_id). Null: none."
  type        = string
  default     = null
}

variable "managed_prefixes" {
  description = "Managed prefixes (<platform>-<env>) of the platform specs in this account: the only alarms and dashboards the role may write."
  type        = list(string)
}

variable "slack_webhook_secret_arns" {
  description = "The platforms' Slack webhook secrets in this account."
  type        = list(string)
  default     = []
}

variable "critical_topic_arns" {
  description = "The platforms' critical SNS topics in this account."
  type        = list(string)
  default     = []
}

variable "kms_key_arns" {
  description = "The customer-managed KMS keys that encrypt the platforms' webhook secrets and critical topics in this account (infra/modules/governance output kms_key_arn). Empty: the secrets and topics use AWS-managed keys."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", k))])
    error_message = "kms_key_arns must be KMS key ARNs."
  }
}

variable "oam_sink_arn" {
  description = "The monitoring account's OAM sink (infra/modules/org output oam_sink_arn). Null: no link."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags merged over the module's own."
  type        = map(string)
  default     = {}
}
