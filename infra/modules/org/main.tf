# The organisation pass on AWS's own engine (issue 14): EventBridge Scheduler starts a Step Functions
# Standard workflow in the management (payer) account. It reads the organisation's
# cost once, then a Map state governs every member account — one iteration per account, each assuming
# the member role (infra/modules/org/member) — with bounded concurrency and a Catch per iteration, so a
# broken account never stops the others, and a summary state rolls everything up. The same per-item
# code runs in one process as `collectiq-ops org run` (docs/organisation.md).

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  tags       = merge({ Service = "governance", Feature = "organisation" }, var.tags)

  # The listed members' roles; with discovery ([discovery] in the organisation spec, organization_id set)
  # the same role name in any account of this organisation (aws:ResourceOrgID below), never elsewhere.
  member_role_arns = concat(
    [for a in var.member_account_ids : "arn:${local.partition}:iam::${a}:role/${var.member_role_name}"],
    var.organization_id == null ? [] : ["arn:${local.partition}:iam::*:role/${var.member_role_name}"],
  )

  functions = {
    # Reads Cost Explorer once for every member (LINKED_ACCOUNT x SERVICE, cached in the ledger) and
    # returns the accounts to govern. With discovery it also lists the accounts and reads one account's
    # tags per call (up to 3,000 accounts): Lambda's ceiling, not 2 minutes.
    governance-org-plan = { memory_mb = 512, timeout_s = 900 }
    # One member account: assume its role, publish dashboards and alarms, build its platforms' reports.
    governance-org-account = { memory_mb = 512, timeout_s = 900 }
    # The roll-up: top accounts, movers, every platform's tier, untagged spend; posted once a day. Its
    # timeout outlasts the worst Slack post (3 attempts of 10 s and two waits of up to 30 s) and the
    # overview's publish (90 s an operation): killed between Slack's answer and the ledger's record, the
    # day's roll-up would be posted again (test: governance org::lambda, summary_timeout_…).
    governance-org-summary = { memory_mb = 256, timeout_s = 300 }
  }
}

# --- encryption ---------------------------------------------------------------------------------------

resource "aws_kms_key" "org" {
  description             = "${var.name_prefix} organisation governance: ledger, logs, state machine"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*" }
        }
      },
      {
        # The execution alarm publishes to the encrypted alarm topic (monitoring.tf).
        Sid       = "CloudWatchAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
  tags = merge(local.tags, { Service = "kms" })
}

# --- the organisation's ledger: every key carries the member account id -------------------------------

resource "aws_dynamodb_table" "ledger" {
  name         = "${var.name_prefix}-governance-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.org.arn
  }

  tags = merge(local.tags, { Service = "dynamodb" })
}

resource "aws_secretsmanager_secret" "rollup_webhook" {
  #checkov:skip=CKV2_AWS_57: a Slack incoming-webhook URL is issued by Slack and cannot be rotated by a Lambda; it is replaced by hand (docs/organisation.md)
  name       = "${var.name_prefix}/slack-webhook"
  kms_key_id = aws_kms_key.org.arn
  tags       = merge(local.tags, { Service = "secretsmanager" })
}

# --- the three functions --------------------------------------------------------------------------------

data "aws_iam_policy_document" "ledger" {
  statement {
    # The ledger's calls (governance/src/ledger/dynamodb.rs): PutItem, UpdateItem, GetItem, Query, and
    # TransactWriteItems of conditional Puts, which IAM authorises per item as PutItem (there is no
    # dynamodb:TransactWriteItems action).
    sid       = "Ledger"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.ledger.arn]
  }

  statement {
    # Only as DynamoDB reads and writes the ledger for the role (no organisation code calls KMS itself).
    sid       = "LedgerKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.org.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "plan" {
  source_policy_documents = [data.aws_iam_policy_document.ledger.json]

  statement {
    # Cost Explorer has no resource-level permissions; the cap (3 a day) is enforced in the ledger.
    sid       = "OrganisationCost"
    actions   = ["ce:GetCostAndUsage"]
    resources = ["*"]
  }

  statement {
    # Member discovery ([discovery] in the organisation spec). ListAccounts has no resource-level
    # permissions; tags are read on this organisation's accounts only.
    sid       = "DiscoverMembers"
    actions   = ["organizations:ListAccounts"]
    resources = ["*"]
  }

  statement {
    sid       = "DiscoverMemberPlatforms"
    actions   = ["organizations:ListTagsForResource"]
    resources = ["arn:${local.partition}:organizations::${local.account_id}:account/o-*/*"]
  }
}

data "aws_iam_policy_document" "account" {
  source_policy_documents = [data.aws_iam_policy_document.ledger.json]

  statement {
    # Only the named role in the listed members: never an arbitrary role in an arbitrary account.
    sid       = "AssumeMemberRole"
    actions   = ["sts:AssumeRole"]
    resources = local.member_role_arns

    dynamic "condition" {
      for_each = var.organization_id == null ? [] : [var.organization_id]
      content {
        test     = "StringEquals"
        variable = "aws:ResourceOrgID"
        values   = [condition.value]
      }
    }
  }
}

data "aws_iam_policy_document" "summary" {
  #checkov:skip=CKV_AWS_356: cloudwatch:ListDashboards has no resource-level permissions; the overview's writes are limited to its own name
  source_policy_documents = [data.aws_iam_policy_document.ledger.json]

  statement {
    sid       = "RollupWebhook"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.rollup_webhook.arn]
  }

  statement {
    # The webhook secret is encrypted with the organisation key: decrypted only as Secrets Manager
    # reads it for the role.
    sid       = "RollupWebhookKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.org.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  statement {
    # The organisation overview dashboard (governance/src/org/overview.rs): listed to plan, then read,
    # written or deleted under the organisation's own prefix only.
    sid       = "ListDashboards"
    actions   = ["cloudwatch:ListDashboards"]
    resources = ["*"]
  }

  statement {
    sid       = "OrganisationOverview"
    actions   = ["cloudwatch:GetDashboard", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"]
    resources = ["arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${var.name_prefix}-organisation-*"]
  }
}

locals {
  # What governance/src/org/lambda.rs reads (scripts/check-infra compares the two).
  environment = {
    ORG_SPEC_FILE            = "/var/task/platforms/org/${var.name_prefix}.toml"
    LEDGER_TABLE_NAME        = aws_dynamodb_table.ledger.name
    SLACK_WEBHOOK_SECRET_ARN = aws_secretsmanager_secret.rollup_webhook.arn
  }

  policies = {
    governance-org-plan    = data.aws_iam_policy_document.plan.json
    governance-org-account = data.aws_iam_policy_document.account.json
    governance-org-summary = data.aws_iam_policy_document.summary.json
  }
}

module "function" {
  source   = "../lambda_fn"
  for_each = local.functions

  function_name         = "${var.name_prefix}-${each.key}"
  description           = "CollectIQ organisation governance: ${each.key}"
  package_path          = "${var.artifacts_dir}/${each.key}.zip"
  memory_mb             = each.value.memory_mb
  timeout_s             = each.value.timeout_s
  log_retention_days    = var.log_retention_days
  kms_key_arn           = aws_kms_key.org.arn
  service_name          = each.key
  policy_json           = local.policies[each.key]
  environment_variables = local.environment
  tags                  = local.tags
}
