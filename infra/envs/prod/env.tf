# What prod does differently from the other environments (the rest is the shared configuration in
# ../shared, symlinked here, and platform.auto.tfvars.json generated from the platform spec).
# Seed 001, "Environment Configuration" → Production: 1024 MB functions (the spec's memory_mb), info
# logging only, Express workflows for performance, a user pool with MFA, canary deployments with
# automatic rollback.
locals {
  deletion_protection     = true
  admin_password_auth     = false
  state_machine_log_level = "ERROR"

  # Seed 001 "Environment Configuration" → Production: "Cognito: prod-collectiq user pool with MFA". Every
  # user must set up a TOTP app and use it to sign in (check-infra verifies the planned pool).
  cognito_mfa = "ON"

  # Seed 001 "Custom domain": app.collectiq.com in prod — and nothing on localhost.
  default_cors_origins = ["https://app.collectiq.com"]
  # The hosted UI's callback and logout URLs (seed 001: https://<custom domain>/auth/callback).
  app_origins = ["https://app.collectiq.com"]

  # Used when platform.auto.tfvars.json does not carry the spec's [platform].log_level /
  # [[state_machines]].workflow_type; check-infra fails if these and the spec disagree.
  default_log_level          = "INFO"
  default_state_machine_type = "EXPRESS"
  # An Express execution lasts at most 5 minutes; the stuck-valuation sweep waits this plus 15.
  valuation_timeout_minutes = 5

  # Seed 001, "Lambda Deployment Rollback": 10 % of traffic, alarms watched for 10 minutes, then the rest.
  deployment_config_name = "CodeDeployDefault.LambdaCanary10Percent10Minutes"
}
