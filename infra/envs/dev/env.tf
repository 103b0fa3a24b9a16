# What dev does differently from the other environments (the rest is the shared configuration in
# ../shared, symlinked here, and platform.auto.tfvars.json generated from the platform spec).
# Seed 001, "Environment Configuration" → Development: 512 MB functions (the spec's memory_mb), debug
# logging, Standard workflows for debugging, no manual approval; MFA stays optional (asked of prod only).
locals {
  deletion_protection     = false
  admin_password_auth     = true
  state_machine_log_level = "ALL"

  # Seed 001 asks MFA of prod only ("Environment Configuration" → Development: "Cognito: dev-collectiq user
  # pool"); dev keeps the "Amazon Cognito User Pool Module" default, so test users sign in with a password.
  cognito_mfa = "OPTIONAL"

  # Seed 001 "Custom domain": dev.collectiq.com for non-prod; the local frontend too, for development.
  default_cors_origins = ["https://dev.collectiq.com", "http://localhost:3000"]
  # The hosted UI's callback and logout URLs (seed 001: https://<custom domain>/auth/callback).
  app_origins = ["https://dev.collectiq.com"]

  # Used when platform.auto.tfvars.json does not carry the spec's [platform].log_level /
  # [[state_machines]].workflow_type; check-infra fails if these and the spec disagree.
  default_log_level          = "DEBUG"
  default_state_machine_type = "STANDARD"
  valuation_timeout_minutes  = 30

  # Seed 001, "Lambda Deployment Rollback": 10 % of traffic, alarms watched for 10 minutes, then the rest —
  # the seed makes no exception for dev, so dev rehearses exactly the canary prod runs.
  deployment_config_name = "CodeDeployDefault.LambdaCanary10Percent10Minutes"
}
