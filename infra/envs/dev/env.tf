# What dev does differently from the other environments (the rest is the shared configuration in
# ../shared, symlinked here, and platform.auto.tfvars.json generated from the platform spec).
# Seed 001, "Environment Configuration" → Development: 512 MB functions (the spec's memory_mb), debug
# logging, Standard workflows for debugging, no manual approval.
locals {
  deletion_protection     = false
  admin_password_auth     = true
  state_machine_log_level = "ALL"

  # Used when platform.auto.tfvars.json does not carry the spec's [platform].log_level /
  # [[state_machines]].workflow_type; check-infra fails if these and the spec disagree.
  default_log_level          = "DEBUG"
  default_state_machine_type = "STANDARD"
  valuation_timeout_minutes  = 30

  # A short canary still exercises the rollback path before prod does.
  deployment_config_name = "CodeDeployDefault.LambdaCanary10Percent5Minutes"
}
