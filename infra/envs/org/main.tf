# The organisation stack (issue 14), in the management (payer) account: the state
# machine that governs every member account, its three functions, the organisation's ledger and the
# OAM sink. Each member applies infra/modules/org/member with its own credentials. Set-up:
# docs/organisation.md.

data "aws_caller_identity" "deployer" {
  lifecycle {
    postcondition {
      condition     = self.account_id == var.management_account_id
      error_message = "These credentials deploy to account ${self.account_id}, but management_account_id is ${var.management_account_id} ([organization].management_account_id of the organisation spec): use the management account's credentials, or fix the spec and terraform.tfvars."
    }
  }
}

module "org" {
  source = "../../modules/org"

  name_prefix         = var.organization
  member_account_ids  = var.member_account_ids
  organization_id     = var.organization_id
  member_role_name    = var.member_role_name
  max_concurrency     = var.max_concurrency
  schedule_expression = var.schedule_expression
  artifacts_dir       = coalesce(var.artifacts_dir, abspath("${path.root}/../../../build/lambda"))
  log_retention_days  = var.log_retention_days
  alarm_email         = var.alarm_email
}
