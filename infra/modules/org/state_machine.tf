# The state machine: plan → Map over accounts (bounded, each iteration catches its own failure) → summary.

locals {
  # One definition, built twice from the same expression: `deployed` names the functions by their ARNs
  # (known after apply; what the state machine runs), `spelled` by the ARNs those functions will have
  # (known at plan time). scripts/check-infra checks the `spelled` one (output `definition`) against the
  # plan: every state reachable, every Task a planned function. (A definition fully known at plan time
  # in the resource itself would make the provider call ValidateStateMachineDefinition during the plan,
  # which the emulator does not implement.)
  function_arns = {
    deployed = { for k, f in module.function : k => f.arn }
    spelled  = { for k in keys(local.functions) : k => "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name_prefix}-${k}" }
  }

  # Lambda's own transient errors are retried; anything else the function raises is the account's
  # failure, caught and recorded so the Map carries on.
  lambda_retry = [{
    ErrorEquals     = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"]
    IntervalSeconds = 2
    MaxAttempts     = 3
    BackoffRate     = 2
  }]

  definitions = { for variant, arns in local.function_arns : variant => {
    Comment = "${var.name_prefix}: govern every member account (docs/organisation.md)"
    StartAt = "ReadOrganisationCost"
    States = {
      ReadOrganisationCost = {
        Type     = "Task"
        Comment  = "One Cost Explorer query in the management account for every member; returns the accounts to govern"
        Resource = "arn:${local.partition}:states:::lambda:invoke"
        Parameters = {
          FunctionName = arns["governance-org-plan"]
          "Payload.$"  = "$"
        }
        # What every later step needs (governance/src/org/lambda.rs: PlanResponse).
        ResultSelector = {
          "accounts.$"     = "$.Payload.accounts"
          "as_of.$"        = "$.Payload.as_of"
          "mode.$"         = "$.Payload.mode"
          "notify.$"       = "$.Payload.notify"
          "cost_read.$"    = "$.Payload.cost_read"
          "cost_failure.$" = "$.Payload.cost_failure"
        }
        Retry = local.lambda_retry
        Next  = "GovernEachAccount"
      }
      GovernEachAccount = {
        Type           = "Map"
        Comment        = "One iteration per member account; its platforms run one after another inside it"
        ItemsPath      = "$.accounts"
        MaxConcurrency = var.max_concurrency
        # One iteration's input (AccountRequest).
        ItemSelector = {
          "account.$"   = "$$.Map.Item.Value"
          "as_of.$"     = "$.as_of"
          "mode.$"      = "$.mode"
          "notify.$"    = "$.notify"
          "cost_read.$" = "$.cost_read"
        }
        ItemProcessor = {
          ProcessorConfig = { Mode = "INLINE" }
          StartAt         = "GovernAccount"
          States = {
            GovernAccount = {
              Type     = "Task"
              Resource = "arn:${local.partition}:states:::lambda:invoke"
              Parameters = {
                FunctionName = arns["governance-org-account"]
                "Payload.$"  = "$"
              }
              ResultSelector = { "outcome.$" = "$.Payload" }
              Retry          = local.lambda_retry
              Catch = [{
                ErrorEquals = ["States.ALL"]
                ResultPath  = "$.error"
                Next        = "AccountFailed"
              }]
              End = true
            }
            AccountFailed = {
              Type    = "Pass"
              Comment = "The failure is this account's only: recorded, and the Map goes on"
              Parameters = {
                "account.$" = "$.account"
                failed      = true
                "error.$"   = "$.error"
              }
              End = true
            }
          }
        }
        ResultPath = "$.outcomes"
        Next       = "Summarise"
      }
      Summarise = {
        Type     = "Task"
        Comment  = "The roll-up and the summary of what failed where (the item outcomes are in the ledger); fails the execution when anything failed"
        Resource = "arn:${local.partition}:states:::lambda:invoke"
        Parameters = {
          FunctionName = arns["governance-org-summary"]
          "Payload.$"  = "$"
        }
        Retry = local.lambda_retry
        End   = true
      }
    }
    }
  }
}

data "aws_iam_policy_document" "states_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name_prefix}-org-state-machine"
  assume_role_policy = data.aws_iam_policy_document.states_assume.json
  tags               = merge(local.tags, { Service = "iam" })
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid       = "InvokeOrganisationFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = [for f in module.function : f.arn]
  }

  statement {
    # Vended log delivery and X-Ray have no resource-level permissions.
    sid = "LogsAndTraces"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
      "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "govern-organisation"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_338: retention is a cost decision (log_retention_days, default 90 d); audit trails live in CloudTrail
  name              = "/aws/vendedlogs/states/${var.name_prefix}-organisation"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.org.arn
  tags              = merge(local.tags, { Service = "logs" })
}

resource "aws_sfn_state_machine" "organisation" {
  name       = "${var.name_prefix}-organisation"
  role_arn   = aws_iam_role.state_machine.arn
  type       = "STANDARD"
  definition = jsonencode(local.definitions.deployed)

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  tags = merge(local.tags, { Service = "states" })
}

# --- the schedule ----------------------------------------------------------------------------------------

locals {
  # The schedule is in the account's default group, which other schedules may share: the Scheduler role's
  # key statement is bound to this schedule's ARN (the encryption context Scheduler sends), not the group.
  schedule = {
    group = "default"
    name  = "${var.name_prefix}-organisation-daily"
  }
  schedule_arn = "arn:${local.partition}:scheduler:${local.region}:${local.account_id}:schedule/${local.schedule.group}/${local.schedule.name}"
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
  name               = "${var.name_prefix}-org-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = merge(local.tags, { Service = "iam" })
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "StartOrganisationPass"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.organisation.arn]
  }

  statement {
    # The schedule's input is encrypted with the organisation key: Scheduler decrypts it as this role,
    # or no execution is ever started (every day lands in the DLQ). Scheduler calls KMS itself as this
    # role (no service in between, so kms:ViaService is never set and would deny every run); the
    # encryption context names the schedule, so the role decrypts this schedule's input and nothing else.
    sid       = "ScheduleKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.org.arn]

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:scheduler:schedule:arn"
      values   = [local.schedule_arn]
    }
  }

  statement {
    # A day whose execution could not be started at all (state machine deleted, role broken,
    # StartExecution throttled past the retry policy): the event lands in the schedule's DLQ.
    sid       = "UnstartedPasses"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.schedule_dlq.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "start-organisation-pass"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "organisation" {
  name                         = local.schedule.name
  group_name                   = local.schedule.group
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = "UTC"
  kms_key_arn                  = aws_kms_key.org.arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_sfn_state_machine.organisation.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ mode = "run", notify = true })

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.schedule_dlq.arn
    }
  }
}
