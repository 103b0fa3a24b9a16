variable "name_prefix" {
  description = "Prefix of every resource name, e.g. collectiq-dev."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, prod)."
  type        = string
}

variable "platform_spec" {
  description = "Platform spec name the governance Lambdas load, e.g. collectiq-dev (file infra/platforms/<name>.toml, shipped inside each governance zip under platforms/)."
  type        = string
}

variable "functions" {
  description = "The four governance Lambdas by logical name (governance-cost, governance-fastburn, governance-alarms, governance-dashboards; = cargo bin name = zip name): memory, timeout, tier and optional reserved concurrency."
  type = map(object({
    name                 = optional(string)
    memory_mb            = number
    timeout_s            = number
    tier                 = string
    feature              = optional(string, "governance")
    reserved_concurrency = optional(number)
    architecture         = optional(string, "arm64")
  }))

  validation {
    condition = alltrue([
      for required in ["governance-cost", "governance-fastburn", "governance-alarms", "governance-dashboards"] : contains(keys(var.functions), required)
    ]) && alltrue([for name in keys(var.functions) : contains(["governance-cost", "governance-fastburn", "governance-alarms", "governance-dashboards"], name)])
    error_message = "functions must be exactly governance-cost, governance-fastburn, governance-alarms and governance-dashboards (each has its own IAM policy)."
  }
}

variable "artifacts_dir" {
  description = "Folder holding <function>.zip built by scripts/package-lambdas."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the governance log groups, in days."
  type        = number
}

variable "log_level" {
  description = "Log level of the governance Lambdas (POWERTOOLS_LOG_LEVEL, read by telemetry)."
  type        = string
  default     = "INFO"
}

variable "budget" {
  description = "Monthly cost budget: name, limit in USD, and the percentages of the limit at which ACTUAL and FORECASTED spend notify (routed by budget_tiers_percent)."
  type = object({
    name                        = string
    limit_usd                   = number
    actual_thresholds_percent   = list(number)
    forecast_thresholds_percent = list(number)
  })

  validation {
    condition     = var.budget.limit_usd > 0 && alltrue([for p in concat(var.budget.actual_thresholds_percent, var.budget.forecast_thresholds_percent) : p > 0])
    error_message = "budget.limit_usd and every threshold percentage must be > 0."
  }

  validation {
    # AWS Budgets takes at most 5 notifications per budget; the three routing tiers are added to the
    # ACTUAL thresholds.
    condition = length(distinct(concat(var.budget.actual_thresholds_percent, [
      var.budget_tiers_percent.email, var.budget_tiers_percent.warning, var.budget_tiers_percent.critical,
    ]))) + length(var.budget.forecast_thresholds_percent) <= 5
    error_message = "AWS Budgets allows 5 notifications per budget: the spec's ACTUAL thresholds plus the routing tiers (budget_tiers_percent) plus the FORECASTED thresholds exceed it."
  }

  validation {
    # Each FORECASTED threshold is one notification; Budgets refuses a second with the same threshold.
    condition     = length(distinct(var.budget.forecast_thresholds_percent)) == length(var.budget.forecast_thresholds_percent)
    error_message = "budget.forecast_thresholds_percent lists a percentage twice: AWS Budgets refuses two FORECASTED notifications with the same threshold."
  }
}

variable "slack_webhook_secret_name" {
  description = "Name of the Secrets Manager secret that holds the Slack webhook URL (created empty here)."
  type        = string
}

variable "budget_email_addresses" {
  description = "E-mail addresses (finance) AWS Budgets writes to for every budget notification: the 80 % notice goes only there (seed 001: \"AWS Budget 80% threshold → Email notification\")."
  type        = list(string)

  validation {
    condition     = length(var.budget_email_addresses) >= 1 && length(var.budget_email_addresses) <= 10 && alltrue([for a in var.budget_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a))])
    error_message = "budget_email_addresses must hold 1 to 10 e-mail addresses: the budget's 80 % notice goes only to them (set [notifications].email in the platform spec, or budget_email_addresses in terraform.tfvars)."
  }
}

variable "budget_tiers_percent" {
  description = "Routing of ACTUAL budget notifications by percent of the limit (seeds 000/001): from `email` on, e-mail only; from `warning` on, also the warning topic (Slack); from `critical` on, the critical topic (page). FORECASTED notifications go to the warning topic, never to critical."
  type = object({
    email    = number
    warning  = number
    critical = number
  })
  default = { email = 80, warning = 120, critical = 150 }

  validation {
    condition     = 0 < var.budget_tiers_percent.email && var.budget_tiers_percent.email < var.budget_tiers_percent.warning && var.budget_tiers_percent.warning < var.budget_tiers_percent.critical
    error_message = "budget_tiers_percent must rise: 0 < email < warning < critical."
  }
}

variable "oncall_email_addresses" {
  description = "E-mail addresses subscribed to the critical topic (each confirms once). With pagerduty_endpoint, at least one must be given: a page must reach a person."
  type        = list(string)
  default     = []

  validation {
    condition     = var.pagerduty_endpoint != null || length(var.oncall_email_addresses) > 0
    error_message = "The critical topic would reach nobody: set pagerduty_endpoint, oncall_email_addresses, or both (terraform.tfvars)."
  }
}

variable "pagerduty_endpoint" {
  description = "Optional PagerDuty (or any HTTPS) integration URL subscribed to the critical topic. Null: no subscription."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.pagerduty_endpoint == null || startswith(coalesce(var.pagerduty_endpoint, "https://"), "https://")
    error_message = "pagerduty_endpoint must be an https:// URL."
  }
}

variable "http_api_ids" {
  description = "Deployed HTTP API ids by API name: API Gateway makes the id at CreateApi, so the spec's can only be a placeholder. The alarms and dashboards functions take these instead (HTTP_API_IDS), or their ApiId alarms would watch an API that does not exist."
  type        = map(string)
  default     = {}
}

variable "dashboard_prefix" {
  description = "Name prefix of the dashboards the governance pass owns: PutDashboard/DeleteDashboards are scoped to <prefix>-*, the names it generates (not a bare prefix, which would take collectiq-dev2-… too)."
  type        = string
}

variable "alarm_prefix" {
  description = "Name prefix of the alarms the governance pass owns (PutMetricAlarm/DeleteAlarms are scoped to it)."
  type        = string
}

variable "schedules" {
  description = "EventBridge Scheduler expressions and the JSON payload each sends to its Lambda."
  type = map(object({
    function   = string
    expression = string
    payload    = map(string)
  }))
  default = {
    cost-daily = {
      function   = "governance-cost"
      expression = "cron(0 7 * * ? *)"
      payload    = { job = "cost_report" }
    }
    cost-fast-burn = {
      function   = "governance-fastburn"
      expression = "rate(1 hour)"
      payload    = { job = "fast_burn" }
    }
    alarms = {
      function   = "governance-alarms"
      expression = "rate(5 minutes)"
      payload    = { job = "alarms" }
    }
    dashboards-daily = {
      function   = "governance-dashboards"
      expression = "cron(30 6 * * ? *)"
      payload    = { job = "dashboards" }
    }
  }
}

variable "schedule_timezone" {
  description = "Time zone of the cron schedules."
  type        = string
  default     = "UTC"
}

variable "invoke_dashboards_on_deploy" {
  description = "Invoke governance-dashboards once on every apply that changes its package (code or bundled platform spec)."
  type        = bool
  default     = true
}

variable "ledger_ttl_attribute" {
  description = "Name of the numeric epoch-seconds attribute after which DynamoDB expires ledger items."
  type        = string
  default     = "expires_at"
}

variable "deletion_protection" {
  description = "Protect the ledger table from deletion."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags merged over the provider default_tags on every resource of this module."
  type        = map(string)
  default     = {}
}
