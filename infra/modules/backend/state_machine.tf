# The valuation state machine: Rekognition extract → Parallel(Pricing, Authenticity) → Aggregator.
# Each task retries transient Lambda faults and errors the handlers classify as "Retryable"; anything
# else is caught, handed to error_handler (which logs it with the correlation id and fails the card) and
# fails. If error_handler itself fails, the whole state goes to the valuation DLQ (its depth is alarmed):
# a failure is never lost.
#
# Type per environment (seed 001, Environment Configuration): STANDARD in dev (execution history in the
# console, for debugging), EXPRESS in prod (priced per request and duration instead of per transition;
# an execution lasts at most 5 minutes, so valuation_timeout_minutes is 5 there, and its history is only
# the log group). Tasks invoke each function's alias, which CodeDeploy shifts (deploy.tf).

locals {
  # Seed 001 ("Step Functions Error Handling"): every task retries States.TaskFailed after 2 s, at most 3
  # times, backing off ×2, then a Catch on States.ALL hands the failure to the error handler (below).
  # States.TaskFailed matches every error a task raises but States.Timeout, so on its own it would also
  # retry what a retry cannot fix — a card that fails validation would be extracted, priced and sent to
  # Bedrock four times. Step Functions uses the first retrier whose ErrorEquals names the error: the
  # handlers' permanent error types (backend/src/error.rs, every `error_type` but "Retryable") come first
  # with MaxAttempts 0 — never retried, straight to the Catch — and the seed's retrier takes the rest:
  # "Retryable", Lambda's own service and throttling errors, a crashed or timed-out runtime.
  # scripts/check-infra checks this against error.rs and the seed (output valuation_definition).
  #
  # An EXPRESS execution lasts at most 5 minutes, and a whole-execution timeout cannot be caught: one
  # pass of the longest path (extract 60 s, an agent 120 s, aggregate 30 s, each + 5) and the error
  # handler fit, but a retried timeout does not (a second 120 s agent attempt passes 300 s), and the
  # execution would end TIMED_OUT with no ErrorHandler, no DLQ message, the card VALUING until the
  # sweep. There, a timed-out attempt goes straight to the Catch; the seed's retries stay for the
  # transient errors that fail fast. check-infra checks the path's worst case against the timeout.
  # Lambda.Unknown is in that list too: "Unhandled errors in Lambda are reported as Lambda.Unknown …
  # These include out-of-memory errors and function timeouts" (Step Functions, "Handle Lambda service
  # exceptions") — a timed-out agent can surface as it, and its retries would not fit either.
  timeout_retry = var.state_machine_type == "EXPRESS" ? [
    {
      ErrorEquals = ["Sandbox.Timedout", "States.Timeout", "Lambda.Unknown"]
      MaxAttempts = 0
    },
  ] : []
  lambda_retry = concat([
    {
      ErrorEquals = ["Validation", "Unauthorized", "NotFound", "Conflict", "TooManyRequests", "Internal"]
      MaxAttempts = 0
    },
    ], local.timeout_retry, [
    {
      ErrorEquals     = ["States.TaskFailed"]
      IntervalSeconds = 2
      MaxAttempts     = 3
      BackoffRate     = 2
      # Full jitter spreads the retries of executions that failed together (a throttled dependency).
      JitterStrategy = "FULL"
    },
    ], var.state_machine_type == "EXPRESS" ? [] : [
    {
      # The task's own TimeoutSeconds (the function's timeout + 5 s) passed without an answer.
      ErrorEquals     = ["States.Timeout"]
      IntervalSeconds = 5
      MaxAttempts     = 2
      BackoffRate     = 2
      JitterStrategy  = "FULL"
    },
  ])

  catch_to_error_handler = [
    {
      ErrorEquals = ["States.ALL"]
      ResultPath  = "$.error"
      Next        = "ErrorHandler"
    },
  ]

  # One definition, built twice from the same expression (as infra/modules/org does): `deployed` names
  # the aliases and the queue by what Terraform creates (known after apply: what the state machine
  # runs), `spelled` by the ARNs and URL they will have (known at plan time: what check-infra checks).
  task_targets = {
    deployed = {
      functions = { for name, f in module.pipeline : name => f.alias_arn }
      dlq_url   = aws_sqs_queue.valuation_dlq.id
    }
    spelled = {
      functions = {
        for name, f in module.pipeline : name =>
        "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${f.function_name}${f.alias_name == null ? "" : ":${f.alias_name}"}"
      }
      dlq_url = "https://sqs.${local.region}.amazonaws.com/${local.account_id}/${aws_sqs_queue.valuation_dlq.name}"
    }
  }

  lambda_tasks = { for variant, targets in local.task_targets : variant => {
    for name in ["rekognition_extract", "pricing_agent", "authenticity_agent", "aggregator", "error_handler"] : name => {
      Type           = "Task"
      Resource       = "arn:${local.partition}:states:::lambda:invoke"
      TimeoutSeconds = var.functions[name].timeout_s + 5
      Parameters = {
        FunctionName = targets.functions[name]
        "Payload.$"  = "$"
      }
      ResultSelector = { "value.$" = "$.Payload" }
      Retry          = local.lambda_retry
    }
  } }

  # State names are seed 001's ("Step Functions Module": RekognitionExtract → PricingAgent ∥
  # AuthenticityAgent → Aggregator; "Catch and DLQ": Next "ErrorHandler"): the console, execution
  # history and any alarm or query on a state name use the platform's words.
  valuation_definitions = { for variant, targets in local.task_targets : variant => {
    Comment = "CollectIQ card valuation: extract features, price and authenticate in parallel, aggregate."
    # A whole-execution timeout cannot be caught into ErrorHandler: the card stays VALUING until the
    # stuck-valuation sweep (sweep.tf) fails it, which waits this long plus a margin.
    TimeoutSeconds = var.valuation_timeout_minutes * 60
    StartAt        = "RekognitionExtract"
    States = {
      # rekognition_extract returns {request, features}: its output replaces the state, so every later
      # state's input carries the request (the contract in docs/backend.md).
      RekognitionExtract = merge(local.lambda_tasks[variant]["rekognition_extract"], {
        OutputPath = "$.value"
        Catch      = local.catch_to_error_handler
        Next       = "Agents"
      })
      Agents = {
        Type           = "Parallel"
        ResultSelector = { "pricing.$" = "$[0]", "authenticity.$" = "$[1]" }
        ResultPath     = "$.agents"
        Catch          = local.catch_to_error_handler
        Next           = "Aggregator"
        Branches = [
          {
            StartAt = "PricingAgent"
            States = {
              PricingAgent = merge(local.lambda_tasks[variant]["pricing_agent"], {
                OutputPath = "$.value"
                End        = true
              })
            }
          },
          {
            StartAt = "AuthenticityAgent"
            States = {
              AuthenticityAgent = merge(local.lambda_tasks[variant]["authenticity_agent"], {
                OutputPath = "$.value"
                End        = true
              })
            }
          },
        ]
      }
      Aggregator = merge(local.lambda_tasks[variant]["aggregator"], {
        ResultPath = "$.valuation"
        Catch      = local.catch_to_error_handler
        Next       = "Done"
      })
      Done = {
        Type = "Succeed"
      }
      ErrorHandler = merge(local.lambda_tasks[variant]["error_handler"], {
        ResultPath = "$.errorHandled"
        Catch = [
          {
            ErrorEquals = ["States.ALL"]
            ResultPath  = "$.errorHandlerError"
            Next        = "DeadLetter"
          },
        ]
        Next = "ValuationFailed"
      })
      # The body is the whole state ({request, error, errorHandlerError}): error_handler reads it back
      # from the queue like a Catch input (FailureInput::Sqs).
      DeadLetter = {
        Type     = "Task"
        Resource = "arn:${local.partition}:states:::sqs:sendMessage"
        Parameters = {
          QueueUrl        = targets.dlq_url
          "MessageBody.$" = "$"
        }
        Retry = [
          {
            ErrorEquals     = ["States.ALL"]
            IntervalSeconds = 2
            MaxAttempts     = 3
            BackoffRate     = 2
            JitterStrategy  = "FULL"
          },
        ]
        Next = "ValuationFailed"
      }
      ValuationFailed = {
        Type  = "Fail"
        Error = "ValuationFailed"
        Cause = "A valuation step failed; see the error_handler log and the DLQ for the correlation id."
      }
    }
  } }
}

resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_338: retention is a per-environment cost decision taken in the platform spec (dev 30 d, prod 90 d)
  name              = "/aws/vendedlogs/states/${var.name_prefix}-valuation"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
  tags              = merge(local.tags, { Feature = "valuation", Service = "logs" })
}

data "aws_iam_policy_document" "sfn_assume" {
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
  name               = "${var.name_prefix}-valuation-sfn"
  assume_role_policy = data.aws_iam_policy_document.sfn_assume.json
  tags               = merge(local.tags, { Feature = "valuation", Service = "iam" })
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    # The alias CodeDeploy shifts (a qualified ARN is not covered by the unqualified one).
    sid       = "InvokePipeline"
    actions   = ["lambda:InvokeFunction"]
    resources = [for f in module.pipeline : f.alias_arn]
  }

  statement {
    # CloudWatch Logs vended-log delivery APIs have no resource-level permissions.
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    # X-Ray has no resource-level permissions for these actions.
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }

  statement {
    # DeadLetter: failures the error handler could not record.
    sid       = "ValuationDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.valuation_dlq.arn]
  }

  # The data key also encrypts the table, the uploads and the secrets: each use below is bound to what
  # it is for (the state machine's own executions, its log delivery, the dead-letter queue), so the
  # role cannot decrypt another ciphertext of the key by calling KMS itself.
  statement {
    sid       = "ExecutionDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:states:stateMachineArn"
      values   = [local.valuation_state_machine_arn]
    }
  }

  statement {
    sid       = "LogDeliveryDataKey"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:SourceArn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:*"]
    }
  }

  statement {
    sid       = "DeadLetterDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
}

locals {
  # Built from the name: the role's policy is written before the state machine exists.
  valuation_state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name_prefix}-valuation"
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "valuation"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

resource "aws_sfn_state_machine" "valuation" {
  #checkov:skip=CKV_AWS_285: execution payloads carry the user's Cognito sub and card data; logs record events without data (privacy); a STANDARD workflow keeps its full history in the Step Functions API for 90 days
  name       = "${var.name_prefix}-valuation"
  role_arn   = aws_iam_role.state_machine.arn
  type       = var.state_machine_type
  definition = jsonencode(local.valuation_definitions.deployed)
  tags       = merge(local.tags, { Feature = "valuation", Service = "states" })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = false
    level                  = var.state_machine_log_level
  }

  tracing_configuration {
    enabled = true
  }

  encryption_configuration {
    type                              = "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = aws_kms_key.data.arn
    kms_data_key_reuse_period_seconds = 300
  }

  depends_on = [aws_iam_role_policy.state_machine]
}
