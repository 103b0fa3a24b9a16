# The four governance Lambdas, each with a role that can do only its own job.

locals {
  spec_path = "/var/task/platforms/${var.platform_spec}.toml"

  # Where the deployed ledger, webhook secret and critical topic are: Terraform's names win over the
  # spec's (issue 13), so a spec that still names another account's topic cannot misroute a page.
  notify_env = {
    LEDGER_TABLE_NAME        = aws_dynamodb_table.ledger.name
    SLACK_WEBHOOK_SECRET_ARN = aws_secretsmanager_secret.slack_webhook.arn
    SNS_TOPIC_CRITICAL_ARN   = aws_sns_topic.severity["critical"].arn
  }

  # Per function, what its code reads (scripts/check-infra step 6 compares with governance/src). The
  # two handler families name the spec differently: cost_pass::lambda reads COLLECTIQ_PLATFORM_FILE (a
  # path; its COLLECTIQ_PLATFORM fallback is a spec *name*), publish::lambda reads COLLECTIQ_PLATFORM as
  # a path.
  # The deployed API ids by name (the spec's are placeholders: API Gateway makes the id): the alarms and
  # widgets on ApiId watch the API that exists.
  api_env = { HTTP_API_IDS = jsonencode(var.http_api_ids) }
  function_env = {
    governance-cost       = merge(local.notify_env, { COLLECTIQ_PLATFORM_FILE = local.spec_path })
    governance-fastburn   = merge(local.notify_env, { COLLECTIQ_PLATFORM_FILE = local.spec_path })
    governance-alarms     = merge(local.notify_env, local.api_env, { COLLECTIQ_PLATFORM = local.spec_path })
    governance-dashboards = merge(local.api_env, { COLLECTIQ_PLATFORM = local.spec_path })
  }

  package_paths = { for name, _ in var.functions : name => "${var.artifacts_dir}/${name}.zip" }
}

# One policy per function, from what its code calls (governance/src; the audit is in docs/publishing.md
# and scripts/check-infra asserts each function's action set). Policy document names follow the
# function keys without "governance-": check-infra relies on it.

# Slack (the webhook secret) and the critical SNS topic; the governance key encrypts both. Only
# critical alerts go to SNS: the cost pass, the burn check and the alarm escalation all publish there.
data "aws_iam_policy_document" "notify" {
  statement {
    sid       = "SlackWebhook"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack_webhook.arn]
  }

  statement {
    sid       = "CriticalTopic"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.severity["critical"].arn]
  }

  statement {
    # Decrypt the secret and the ledger; data keys for the encrypted topic and ledger writes. Only
    # through the three services that hold data with the key (no governance code calls KMS itself), so
    # the role cannot decrypt a ciphertext of the key by calling KMS directly. The environment variables
    # are lambda_fn's own EnvironmentKey statement; the logs use the key policy's CloudWatchLogs grant.
    sid       = "GovernanceKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.governance.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = [for s in ["secretsmanager", "sns", "dynamodb"] : "${s}.${local.region}.amazonaws.com"]
    }
  }
}

# Delivery records (governance/src/ledger): a pending record written before a send (TransactWriteItems
# of conditional Puts, authorised as PutItem), read back by the next run (Query) and marked sent after
# (UpdateItem); the alarms function also keeps its state snapshots here (PutItem/Query). Nothing is ever
# released, so no DeleteItem.
data "aws_iam_policy_document" "ledger_records" {
  statement {
    sid       = "LedgerRecords"
    actions   = ["dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.ledger.arn]
  }
}

# Bedrock token and app metrics: ListMetrics finds the series, GetMetricData reads them. CloudWatch has
# no resource-level permissions for either.
data "aws_iam_policy_document" "read_metrics" {
  statement {
    sid       = "ReadMetrics"
    actions   = ["cloudwatch:ListMetrics", "cloudwatch:GetMetricData"]
    resources = ["*"]
  }
}

# governance-cost: the daily report (and the burn check when sent {"job":"fast_burn"} by hand).
data "aws_iam_policy_document" "cost" {
  source_policy_documents = [data.aws_iam_policy_document.notify.json, data.aws_iam_policy_document.read_metrics.json]

  statement {
    # Delivery records (PutItem/Query/UpdateItem), CE-cache snapshots (PutItem/Query), the CE request
    # counter (UpdateItem, GetItem when the cap is reached).
    sid       = "Ledger"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.ledger.arn]
  }

  statement {
    # Cost Explorer has no resource-level permissions for these read actions.
    sid       = "CostExplorer"
    actions   = ["ce:GetCostAndUsage", "ce:GetCostForecast"]
    resources = ["*"]
  }

  statement {
    # DescribeBudgets is authorised as ViewBudget.
    sid       = "Budgets"
    actions   = ["budgets:ViewBudget"]
    resources = ["arn:${local.partition}:budgets::${local.account_id}:budget/*"]
  }
}

# governance-fastburn: the hourly burn check — CloudWatch token metrics for the 5 m–6 h windows, the
# daily run's Cost Explorer totals read from the ledger (the `ledger_records` Query grant) for the 3 d one.
# No Cost Explorer itself (an hourly function that could call it could spend $0.01 a request), no budgets.
data "aws_iam_policy_document" "fastburn" {
  source_policy_documents = [
    data.aws_iam_policy_document.notify.json,
    data.aws_iam_policy_document.read_metrics.json,
    data.aws_iam_policy_document.ledger_records.json,
  ]
}

# governance-alarms: publish the catalogue, report the state, escalate once per episode.
data "aws_iam_policy_document" "alarms" {
  #checkov:skip=CKV_AWS_111: PutCompositeAlarm cannot be constrained to a resource (CloudWatch refuses it unless scoped to "*"); every other write is on the managed prefix, deletes also on the ownership tags
  #checkov:skip=CKV_AWS_356: DescribeAlarms, DescribeAlarmHistory and PutCompositeAlarm are granted on "*" because CloudWatch returns or creates composite alarms only with that scope; PutMetricAlarm, TagResource and DeleteAlarms stay on the managed prefix
  source_policy_documents = [data.aws_iam_policy_document.notify.json, data.aws_iam_policy_document.ledger_records.json]

  statement {
    # Read every alarm of this account and region (the state summary counts alarms we do not own).
    # Scoped to "*": with a narrower scope neither call returns composite alarms (CloudWatch API
    # reference, DescribeAlarms and DescribeAlarmHistory), and the composites are the alarms that page.
    sid       = "DescribeAlarms"
    actions   = ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"]
    resources = ["*"]
  }

  statement {
    # PutCompositeAlarm must be scoped to "*": "You can't create a composite alarms if your
    # cloudwatch:PutCompositeAlarm permission has a narrower scope" (CloudWatch API reference).
    sid       = "PutCompositeAlarms"
    actions   = ["cloudwatch:PutCompositeAlarm"]
    resources = ["*"]
  }

  statement {
    # The state report links firing alarms to recent faulting traces; X-Ray reads have no
    # resource-level permissions.
    sid       = "ReadTraces"
    actions   = ["xray:GetTraceSummaries"]
    resources = ["*"]
  }

  statement {
    # TagResource: PutMetricAlarm/PutCompositeAlarm with Tags needs it. ListTagsForResource: an orphan
    # is deleted only when its tags say it is this environment's (exact ownership, not the name prefix).
    sid       = "ManageOwnAlarms"
    actions   = ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource", "cloudwatch:ListTagsForResource"]
    resources = [local.alarm_arn_pattern]
  }

  statement {
    # The name pattern alone also matches another environment's alarms ("collectiq-prod-" matches
    # "collectiq-prod-eu-…"), so IAM enforces the ownership the code decides: only alarms tagged as this
    # environment's and as generated (alarms::plan::owned_by) can be deleted.
    sid       = "DeleteOwnAlarmsOnly"
    actions   = ["cloudwatch:DeleteAlarms"]
    resources = [local.alarm_arn_pattern]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/ManagedBy"
      values   = ["collectiq-ops"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Platform"
      values   = [var.name_prefix]
    }
  }
}

# governance-dashboards: plan and publish dashboards and Logs Insights saved queries. Nothing to notify,
# nothing to remember.
data "aws_iam_policy_document" "dashboards" {
  statement {
    sid       = "ListDashboards"
    actions   = ["cloudwatch:ListDashboards"]
    resources = ["*"]
  }

  statement {
    sid       = "ManageOwnDashboards"
    actions   = ["cloudwatch:GetDashboard", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"]
    resources = local.dashboard_arns
  }

  statement {
    # The Logs Insights saved queries published with the dashboards (governance/src/publish/queries.rs).
    # These three actions have no resource type in the Service Authorization Reference, so "*" is the
    # only resource IAM accepts; the code writes and deletes only names of the exact form
    # "<platform>-<env>/<slug>" (dashboards::queries::is_managed).
    sid       = "ManageOwnSavedQueries"
    actions   = ["logs:DescribeQueryDefinitions", "logs:PutQueryDefinition", "logs:DeleteQueryDefinition"]
    resources = ["*"]
  }
}

locals {
  policies = {
    governance-cost       = data.aws_iam_policy_document.cost.json
    governance-fastburn   = data.aws_iam_policy_document.fastburn.json
    governance-alarms     = data.aws_iam_policy_document.alarms.json
    governance-dashboards = data.aws_iam_policy_document.dashboards.json
  }
}

module "function" {
  source   = "../lambda_fn"
  for_each = var.functions

  function_name         = coalesce(each.value.name, "${var.name_prefix}-${each.key}")
  description           = "CollectIQ governance: ${each.key}"
  package_path          = local.package_paths[each.key]
  architecture          = each.value.architecture
  memory_mb             = each.value.memory_mb
  timeout_s             = each.value.timeout_s
  reserved_concurrency  = each.value.reserved_concurrency
  log_retention_days    = var.log_retention_days
  log_level             = var.log_level
  kms_key_arn           = aws_kms_key.governance.arn
  service_name          = each.key
  environment_variables = local.function_env[each.key]
  policy_json           = local.policies[each.key]

  # Scheduled and SNS-triggered runs are asynchronous: after Lambda's retries the invocation record goes
  # to the failures queue, whose alarm pages (failures.tf).
  on_failure_destination_arn = aws_sqs_queue.failures.arn
  maximum_retry_attempts     = 2
  tags                       = merge(local.tags, { Feature = each.value.feature, Tier = each.value.tier })
}
