# Shared by every environment: infra/envs/<env>/{main,outputs,variables,versions}.tf are symlinks to
# these files, so dev and prod cannot drift apart by accident. An environment's own choices live in its
# env.tf and its platform.auto.tfvars.json (generated from infra/platforms/<platform>-<env>.toml).

locals {
  name_prefix   = "${var.platform}-${var.environment}"
  platform_spec = "${var.platform}-${var.environment}"
  artifacts_dir = coalesce(var.artifacts_dir, abspath("${path.root}/../../../build/lambda"))

  slack_webhook_secret_name = coalesce(var.slack_webhook_secret_name, "${var.platform}/${var.environment}/slack-webhook")

  # What each environment does differently, beyond its generated platform.auto.tfvars.json, is in its
  # own env.tf (deletion_protection, admin_password_auth, cognito_mfa, state_machine_log_level,
  # deployment_config_name, valuation_timeout_minutes, and the seed's log level and workflow type for a
  # tfvars file that does not carry the spec's). scripts/check-infra compares the outcome with the spec.
  log_level          = coalesce(var.log_level, local.default_log_level)
  state_machine_type = coalesce(var.state_machine_type, local.default_state_machine_type)

  # The service's daily ceiling on valuations, all users together (Cognito sign-up is open, so per-user
  # limits alone let Bedrock spend grow with sign-ups): six a day per dollar of the monthly budget. A
  # 31-day month at the ceiling then costs ~149 % of the budget at Claude 3.5 Sonnet list prices
  # ($0.00802 a valuation: seed 000's table with Bedrock at $3/$15 per million tokens), under seed
  # 000's critical "Cost > 150% of budget"; prod's 3,000 leave seed 000's 50k a month 1.86x headroom.
  service_valuation_daily_limit = coalesce(var.service_valuation_daily_limit, floor(var.budget.limit_usd * 6))
}

# The spec's ARNs (topics, state machine, bucket) name its account; deploying it with another account's
# credentials would create resources the governance Lambdas never look at.
data "aws_caller_identity" "deployer" {
  lifecycle {
    postcondition {
      condition     = var.account_id == null || self.account_id == var.account_id
      error_message = "These credentials deploy to account ${self.account_id}, but the platform spec describes account ${coalesce(var.account_id, "-")}: set [platform].account_id and the account inside every ARN of infra/platforms/${var.platform}-${var.environment}.toml to yours, regenerate platform.auto.tfvars.json (docs/deploy.md, step 3), or use the right credentials."
    }
  }
}

module "governance" {
  source = "../../modules/governance"

  name_prefix               = local.name_prefix
  environment               = var.environment
  platform_spec             = local.platform_spec
  functions                 = var.governance_functions
  artifacts_dir             = local.artifacts_dir
  log_retention_days        = var.log_retention_days
  budget                    = var.budget
  budget_email_addresses    = var.budget_email_addresses
  oncall_email_addresses    = var.oncall_email_addresses
  pagerduty_endpoint        = var.pagerduty_endpoint
  log_level                 = local.log_level
  slack_webhook_secret_name = local.slack_webhook_secret_name
  dashboard_prefix          = local.name_prefix
  alarm_prefix              = "${local.name_prefix}-"
  deletion_protection       = local.deletion_protection
  http_api_ids              = { (module.backend.api_name) = module.backend.api_id }
}

module "backend" {
  source = "../../modules/backend"

  name_prefix             = local.name_prefix
  environment             = var.environment
  service_name            = var.service_name
  table_name              = var.table_name
  functions               = var.functions
  artifacts_dir           = local.artifacts_dir
  log_retention_days      = var.log_retention_days
  cors_allowed_origins    = var.cors_allowed_origins != null ? var.cors_allowed_origins : local.default_cors_origins
  app_origins             = local.app_origins
  state_machine_log_level = local.state_machine_log_level
  state_machine_type      = local.state_machine_type
  deletion_protection     = local.deletion_protection
  log_level               = local.log_level

  # Canary deployments of every backend function (seed 001, "Lambda Deployment Rollback").
  deployment_config_name    = local.deployment_config_name
  valuation_timeout_minutes = local.valuation_timeout_minutes

  # Seed 001 "Environment Configuration": prod's user pool requires MFA, dev's offers it (env.tf).
  mfa_configuration = local.cognito_mfa

  allow_admin_password_auth       = local.admin_password_auth
  authenticity_flag_threshold     = var.authenticity_flag_threshold
  authenticity_send_photo         = var.authenticity_send_photo
  authenticity_phash              = var.authenticity_phash
  authenticity_phash_max_distance = var.authenticity_phash_max_distance
  replay_dead_letters             = var.replay_dead_letters
  user_id_hash_key_version        = var.user_id_hash_key_version

  # Per-user limits keep their module defaults; the service's ceiling follows the environment's budget.
  service_valuation_daily_limit = local.service_valuation_daily_limit
}
