# In each member account: the role governance assumes (trusting only the organisation pass's account
# function, optionally with an external id) with exactly what the per-platform passes call, and the OAM
# link that shares this account's metrics, logs and traces with the monitoring account's sink.

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  # dashboards::plan::SECTIONS (a test there holds this list to it).
  dashboard_sections = ["overview", "api", "lambda", "stepfunctions", "data", "ai", "agents", "cost", "compliance", "ecs"]
  tags               = merge({ Service = "governance", Feature = "organisation" }, var.tags)

  # The services that use the platform keys for this role, in each key's region: Secrets Manager
  # (GetSecretValue of a webhook secret) and SNS (Publish to an encrypted critical topic). Each key is a
  # single-account governance module's, made in the region of the secret and topics it encrypts (the
  # platform's region, where the organisation pass calls them: governance/src/org/assume.rs), and a
  # member may run platforms in several regions: every key ARN's region, not only this provider's.
  platform_key_services = distinct(flatten([
    for k in var.kms_key_arns : [for s in ["secretsmanager", "sns"] : "${s}.${split(":", k)[3]}.amazonaws.com"]
  ]))
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.governance_principal_arn]
    }

    dynamic "condition" {
      for_each = var.external_id == null ? [] : [var.external_id]
      content {
        test     = "StringEquals"
        variable = "sts:ExternalId"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "member" {
  name                 = var.role_name
  description          = "Assumed by the organisation governance pass in ${var.governance_principal_arn}"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = merge(local.tags, { Service = "iam" })
}

data "aws_iam_policy_document" "member" {
  #checkov:skip=CKV_AWS_356: cloudwatch:DescribeAlarms (called with a name prefix), ListDashboards, ListMetrics and GetMetricData are granted on "*" because the publish and cost passes call them account-wide, and PutCompositeAlarm because CloudWatch refuses it with a narrower scope; every other write is limited to the managed prefixes
  statement {
    # Publish: plan (Describe/List/Get) and apply (Put) under the managed prefixes only.
    sid = "PublishDashboardsAndAlarms"
    # TagResource: PutMetricAlarm/PutCompositeAlarm with Tags (every generated alarm carries its owner's
    # tags) is refused without it. ListTagsForResource: an orphan is deleted only when its tags say it is
    # this environment's.
    actions = [
      "cloudwatch:PutMetricAlarm",
      "cloudwatch:TagResource", "cloudwatch:ListTagsForResource",
      "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard",
    ]
    resources = flatten([
      for p in var.managed_prefixes : concat(
        ["arn:${local.partition}:cloudwatch:*:${local.account_id}:alarm:${p}-*"],
        # Exactly each platform's dashboards and their pages (`${p}-*` would match another's).
        [for s in local.dashboard_sections : "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${p}-${s}"],
        [for s in local.dashboard_sections : "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${p}-${s}-p*"],
      )
    ])
  }

  statement {
    # The name pattern alone also matches another environment's alarms ("collectiq-prod-" matches
    # "collectiq-prod-eu-…"), so IAM enforces the ownership the code decides, as the single-account
    # module's governance-alarms role does: only alarms tagged as generated and as one of this
    # account's managed platforms can be deleted.
    sid       = "DeleteOwnAlarmsOnly"
    actions   = ["cloudwatch:DeleteAlarms"]
    resources = [for p in var.managed_prefixes : "arn:${local.partition}:cloudwatch:*:${local.account_id}:alarm:${p}-*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/ManagedBy"
      values   = ["collectiq-ops"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Platform"
      values   = var.managed_prefixes
    }
  }

  statement {
    # PutCompositeAlarm must be scoped to "*": "You can't create a composite alarms if your
    # cloudwatch:PutCompositeAlarm permission has a narrower scope" (CloudWatch API reference).
    sid       = "PutCompositeAlarms"
    actions   = ["cloudwatch:PutCompositeAlarm"]
    resources = ["*"]
  }

  statement {
    # These reads have no resource-level permissions (and DescribeAlarms returns composite alarms only
    # when scoped to "*").
    sid       = "ReadMetricsAndAlarms"
    actions   = ["cloudwatch:DescribeAlarms", "cloudwatch:ListDashboards", "cloudwatch:ListMetrics", "cloudwatch:GetMetricData"]
    resources = ["*"]
  }

  statement {
    # The deployed HTTP API ids (apigatewayv2 GetApis): API Gateway makes them at CreateApi, so a
    # spec's can only be placeholders, and an ApiId alarm on one would watch an API that does not exist.
    sid       = "ReadHttpApiIds"
    actions   = ["apigateway:GET"]
    resources = ["arn:${local.partition}:apigateway:*::/apis"]
  }

  statement {
    sid       = "ReadBudgets"
    actions   = ["budgets:ViewBudget"]
    resources = ["arn:${local.partition}:budgets::${local.account_id}:budget/*"]
  }

  dynamic "statement" {
    for_each = length(var.slack_webhook_secret_arns) == 0 ? [] : [1]
    content {
      sid       = "PlatformSlackWebhooks"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.slack_webhook_secret_arns
    }
  }

  dynamic "statement" {
    # The webhook secrets and critical topics are encrypted with customer-managed keys (the single-account
    # module's aws_kms_key.governance): reading a secret needs Decrypt, publishing to an encrypted topic
    # GenerateDataKey and Decrypt. Only as Secrets Manager and SNS use them for the role (no governance
    # code calls KMS itself): the role cannot decrypt a ciphertext of the keys (the platform's ledger,
    # logs, schedules) by calling KMS directly.
    for_each = length(var.kms_key_arns) == 0 ? [] : [1]
    content {
      sid       = "PlatformKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.platform_key_services
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.critical_topic_arns) == 0 ? [] : [1]
    content {
      sid       = "PlatformCriticalTopics"
      actions   = ["sns:Publish"]
      resources = var.critical_topic_arns
    }
  }
}

resource "aws_iam_role_policy" "member" {
  name   = "collectiq-governance"
  role   = aws_iam_role.member.id
  policy = data.aws_iam_policy_document.member.json
}

resource "aws_oam_link" "observability" {
  count           = var.oam_sink_arn == null ? 0 : 1
  label_template  = "$AccountName"
  resource_types  = ["AWS::CloudWatch::Metric", "AWS::Logs::LogGroup", "AWS::XRay::Trace"]
  sink_identifier = var.oam_sink_arn
  tags            = merge(local.tags, { Service = "oam" })
}
