variable "name_prefix" {
  description = "Prefix of every resource name (the organisation's name, e.g. collectiq-group)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 1-40 lowercase letters, digits or '-'."
  }
}

variable "member_account_ids" {
  description = "Member accounts the organisation spec lists (12 digits each): accounts whose governance role may be assumed and whose OAM links the sink accepts. May be empty when organization_id is set (members discovered: any account of the organisation)."
  type        = list(string)

  validation {
    condition     = (length(var.member_account_ids) > 0 || var.organization_id != null) && alltrue([for a in var.member_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "member_account_ids must be 12-digit account ids, and not empty unless organization_id is set (members discovered)."
  }
}

variable "organization_id" {
  description = "The AWS Organizations id (o-...) when the organisation spec discovers its members ([discovery]): the account function may then assume member_role_name in any account of this organisation, and the OAM sink accepts links from any of them (aws:PrincipalOrgID), not only from member_account_ids. null: the listed accounts only."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must be an AWS Organizations id (o- and 10-32 lowercase letters or digits), or null."
  }
}

variable "member_role_name" {
  description = "Name of the role governance assumes in every member account (infra/modules/org/member creates it)."
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
  description = "Accounts governed at once by the Map state. Each iteration is one account (its platforms run one after another), so CloudWatch's 3 TPS PutMetricAlarm quota per account and region holds at any value."
  type        = number
  default     = 8

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 40
    error_message = "max_concurrency must be within 1..40 (inline Map states run at most 40 iterations at once)."
  }
}

variable "schedule_expression" {
  description = "When the organisation pass runs (EventBridge Scheduler). Once a day: Cost Explorer refreshes at most three times a day."
  type        = string
  default     = "cron(0 6 * * ? *)"
}

variable "artifacts_dir" {
  description = "Directory holding governance-org-plan.zip, governance-org-account.zip and governance-org-summary.zip."
  type        = string
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the functions and the state machine."
  type        = number
  default     = 90
}

variable "alarm_email" {
  description = "Who is told when an organisation pass fails (an e-mail subscription to the alarm topic; confirm it from the mail AWS sends). Null: subscribe on-call's own endpoint to the alarm_topic_arn output."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address."
  }
}

variable "tags" {
  description = "Tags merged over the module's own."
  type        = map(string)
  default     = {}
}
