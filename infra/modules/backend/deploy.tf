# Canary deployments (seed 001, "Lambda Deployment Rollback"): every backend function serves traffic
# through the alias `var.alias_name`; CodeDeploy moves that alias to a new version by the environment's
# deployment configuration (10 % of traffic for 10 minutes, then all of it) and rolls back when one
# of the deployment group's alarms fires:
#
#   - the function's error-rate alarm from the generated alarm catalogue
#     (`<prefix>-fn-<id>-error-rate-<critical|warning>`, alarms/src/catalogue.rs; published by
#     governance-alarms, so it exists before any deployment runs), and
#   - the canary alarm below: the new version's own error rate above `canary_error_rate_percent` (5 %,
#     the seed's "auto-rollback if error rate > 5 %"), read from the alias's per-version series
#     (`ExecutedVersion`). The catalogue's alarm reads all versions and needs 10 % sustained for 5
#     minutes; with a tenth of the traffic on the new version it fires late or not at all within the
#     canary's 10 minutes, so it cannot stop a canary on its own.
#
# Terraform creates the groups; a deployment is started by whoever ships a new version (docs/deploy.md).

locals {
  # The catalogue's name grammar: {prefix}-{resource}-{signal}-{severity}, resource fn-{slug(id)},
  # severity from the tier. scripts/check-infra checks these names against the catalogue's snapshot.
  catalogue_error_rate_alarms = {
    for id, f in var.functions : id => format(
      "%s-fn-%s-error-rate-%s",
      var.name_prefix,
      trim(lower(replace(id, "/[^A-Za-z0-9]+/", "-")), "-"),
      f.tier == "critical" ? "critical" : "warning",
    )
  }

  deployed = merge(module.pipeline, module.api)
}

resource "aws_codedeploy_app" "functions" {
  name             = "${var.name_prefix}-functions"
  compute_platform = "Lambda"
  tags             = merge(local.tags, { Feature = "deploy", Service = "codedeploy" })
}

data "aws_iam_policy_document" "codedeploy_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["codedeploy.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "codedeploy" {
  name               = "${var.name_prefix}-codedeploy"
  assume_role_policy = data.aws_iam_policy_document.codedeploy_assume.json
  tags               = merge(local.tags, { Feature = "deploy", Service = "iam" })
}

# What AWSCodeDeployRoleForLambda grants for a deployment without hooks or S3-hosted AppSpecs, scoped to
# these functions' aliases and this account's alarms.
data "aws_iam_policy_document" "codedeploy" {
  statement {
    sid     = "ShiftAliasTraffic"
    actions = ["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"]
    # The one alias CodeDeploy moves, not every qualifier of the function.
    resources = [for f in local.deployed : "${f.arn}:${var.alias_name}"]
  }

  statement {
    sid       = "WatchRollbackAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:*"]
  }
}

resource "aws_iam_role_policy" "codedeploy" {
  name   = "shift-alias-traffic"
  role   = aws_iam_role.codedeploy.id
  policy = data.aws_iam_policy_document.codedeploy.json
}

# The new version's error rate, per minute, once it served at least canary_min_invocations calls; 2
# breaching minutes out of 3 roll back. The series is the alias's `ExecutedVersion` one for the version
# this apply published — the `TargetVersion` of the deployment that follows (docs/deploy.md) — so the 90 %
# of the traffic still on the old version cannot dilute it: over the whole alias a new version failing
# half its calls during a 10 % canary reads as 5 %. It watches the version the last apply published: the
# live one once a deployment to it succeeded (docs/deploy.md's loop refuses to deploy another).
# A new version that serves fewer than canary_min_invocations calls a minute is not judged by it (the
# catalogue's alarm still is, over all versions).
# Named outside the `<prefix>-` namespace governance-alarms owns, so its orphan pruning never deletes it.
resource "aws_cloudwatch_metric_alarm" "canary_errors" {
  for_each = local.deployed

  alarm_name          = "deploy-${each.value.function_name}-canary-error-rate"
  alarm_description   = "CodeDeploy rollback: ${each.value.function_name}:${var.alias_name}, version ${each.value.version} (the deployment's target), error rate above ${var.canary_error_rate_percent} % (seed 001, Lambda Deployment Rollback). No actions: CodeDeploy polls it during a deployment."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.canary_error_rate_percent
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching"
  tags                = merge(local.tags, { Feature = "deploy", Service = "cloudwatch" })

  metric_query {
    id          = "rate"
    label       = "error rate (%)"
    expression  = "IF(invocations >= ${var.canary_min_invocations}, 100 * errors / invocations, 0)"
    return_data = true
  }

  metric_query {
    id = "errors"

    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      period      = 60
      stat        = "Sum"
      dimensions = {
        FunctionName    = each.value.function_name
        Resource        = "${each.value.function_name}:${var.alias_name}"
        ExecutedVersion = each.value.version
      }
    }
  }

  metric_query {
    id = "invocations"

    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      period      = 60
      stat        = "Sum"
      dimensions = {
        FunctionName    = each.value.function_name
        Resource        = "${each.value.function_name}:${var.alias_name}"
        ExecutedVersion = each.value.version
      }
    }
  }
}

resource "aws_codedeploy_deployment_group" "function" {
  for_each = local.deployed

  app_name               = aws_codedeploy_app.functions.name
  deployment_group_name  = each.value.function_name
  service_role_arn       = aws_iam_role.codedeploy.arn
  deployment_config_name = var.deployment_config_name
  tags                   = merge(local.tags, { Feature = "deploy", Service = "codedeploy" })

  deployment_style {
    deployment_option = "WITH_TRAFFIC_CONTROL"
    deployment_type   = "BLUE_GREEN"
  }

  alarm_configuration {
    enabled = true
    alarms = [
      local.catalogue_error_rate_alarms[each.key],
      aws_cloudwatch_metric_alarm.canary_errors[each.key].alarm_name,
    ]
  }

  auto_rollback_configuration {
    enabled = true
    events  = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
  }

  depends_on = [aws_iam_role_policy.codedeploy]
}
