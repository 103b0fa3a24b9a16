# EventBridge Scheduler: cost daily, fast burn hourly, alarms every 5 minutes, dashboards daily, and the
# dashboards once more on every deploy that changes their package.

resource "aws_scheduler_schedule_group" "governance" {
  name = "${var.name_prefix}-governance"
  tags = merge(local.tags, { Service = "scheduler" })
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name_prefix}-governance-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = merge(local.tags, { Service = "iam" })
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeGovernance"
    actions   = ["lambda:InvokeFunction"]
    resources = [for f in module.function : f.arn]
  }

  statement {
    # A schedule that cannot invoke its function at all (deleted, throttled past the retry policy).
    sid       = "UndeliveredRuns"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }

  statement {
    # Scheduler decrypts a schedule's input by calling KMS itself as this role (CloudTrail shows the
    # role, not the service, so kms:ViaService is never set and would deny every run). The encryption
    # context names the schedule: bound to this group's schedules, the role decrypts nothing else.
    sid       = "ScheduleKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.governance.arn]

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:scheduler:schedule:arn"
      values   = ["arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${aws_scheduler_schedule_group.governance.name}/*"]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-governance"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "governance" {
  for_each = var.schedules

  name                         = each.key
  group_name                   = aws_scheduler_schedule_group.governance.name
  description                  = "${each.value.function}: ${jsonencode(each.value.payload)}"
  schedule_expression          = each.value.expression
  schedule_expression_timezone = var.schedule_timezone
  kms_key_arn                  = aws_kms_key.governance.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = module.function[each.value.function].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode(each.value.payload)

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }

    dead_letter_config {
      arn = aws_sqs_queue.failures.arn
    }
  }
}

# Dashboards follow the code and the bundled platform spec: re-publish whenever the package changes.
resource "aws_lambda_invocation" "dashboards_on_deploy" {
  count = var.invoke_dashboards_on_deploy ? 1 : 0

  function_name = module.function["governance-dashboards"].function_name
  input         = jsonencode({ job = "dashboards", trigger = "deploy" })

  triggers = {
    package = coalesce(module.function["governance-dashboards"].source_code_hash, "package-absent")
  }
}
