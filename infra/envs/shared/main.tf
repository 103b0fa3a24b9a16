# Shared by every environment: infra/envs/<env>/{main,outputs,variables,versions}.tf are symlinks to
# these files, so dev and prod cannot drift apart by accident. An environment's own choices live in its
# env.tf and its platform.auto.tfvars.json (generated from infra/platforms/<platform>-<env>.toml).

locals {
  name_prefix   = "${var.platform}-${var.environment}"
  platform_spec = "${var.platform}-${var.environment}"
  artifacts_dir = coalesce(var.artifacts_dir, abspath("${path.root}/../../../build/lambda"))

  slack_webhook_secret_name = coalesce(var.slack_webhook_secret_name, "${var.platform}/${var.environment}/slack-webhook")

  # What each environment does differently, beyond its generated platform.auto.tfvars.json, is in its
  # own env.tf (deletion_protection, admin_password_auth, state_machine_log_level).
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
  pagerduty_endpoint        = var.pagerduty_endpoint
  slack_webhook_secret_name = local.slack_webhook_secret_name
  dashboard_prefix          = local.name_prefix
  alarm_prefix              = "${local.name_prefix}-"
  deletion_protection       = local.deletion_protection
}

module "backend" {
  source = "../../modules/backend"

  name_prefix             = local.name_prefix
  environment             = var.environment
  service_name            = var.service_name
  functions               = var.functions
  artifacts_dir           = local.artifacts_dir
  log_retention_days      = var.log_retention_days
  cors_allowed_origins    = var.cors_allowed_origins
  state_machine_log_level = local.state_machine_log_level
  deletion_protection     = local.deletion_protection

  allow_admin_password_auth   = local.admin_password_auth
  authenticity_flag_threshold = var.authenticity_flag_threshold
  user_id_hash_key_version    = var.user_id_hash_key_version
}
