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
  lambda_retry = [
    {
      ErrorEquals     = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"]
      IntervalSeconds = 2
      MaxAttempts     = 3
      BackoffRate     = 2
      JitterStrategy  = "FULL"
    },
    {
      ErrorEquals     = ["Retryable", "States.Timeout"]
      IntervalSeconds = 5
      MaxAttempts     = 2
      BackoffRate     = 2
      JitterStrategy  = "FULL"
    },
  ]

  catch_to_error_handler = [
    {
      ErrorEquals = ["States.ALL"]
      ResultPath  = "$.error"
      Next        = "HandleError"
    },
  ]

  lambda_task = {
    for name in ["rekognition_extract", "pricing_agent", "authenticity_agent", "aggregator", "error_handler"] : name => {
      Type           = "Task"
      Resource       = "arn:${local.partition}:states:::lambda:invoke"
      TimeoutSeconds = var.functions[name].timeout_s + 5
      Parameters = {
        FunctionName = module.pipeline[name].alias_arn
        "Payload.$"  = "$"
      }
      ResultSelector = { "value.$" = "$.Payload" }
      Retry          = local.lambda_retry
    }
  }

  valuation_definition = {
    Comment = "CollectIQ card valuation: extract features, price and authenticate in parallel, aggregate."
    # A whole-execution timeout cannot be caught into HandleError: the card stays VALUING until the
    # stuck-valuation sweep (sweep.tf) fails it, which waits this long plus a margin.
    TimeoutSeconds = var.valuation_timeout_minutes * 60
    StartAt        = "ExtractFeatures"
    States = {
      # rekognition_extract returns {request, features}: its output replaces the state, so every later
      # state's input carries the request (the contract in docs/backend.md).
      ExtractFeatures = merge(local.lambda_task["rekognition_extract"], {
        OutputPath = "$.value"
        Catch      = local.catch_to_error_handler
        Next       = "Agents"
      })
      Agents = {
        Type           = "Parallel"
        ResultSelector = { "pricing.$" = "$[0]", "authenticity.$" = "$[1]" }
        ResultPath     = "$.agents"
        Catch          = local.catch_to_error_handler
        Next           = "Aggregate"
        Branches = [
          {
            StartAt = "Pricing"
            States = {
              Pricing = merge(local.lambda_task["pricing_agent"], {
                OutputPath = "$.value"
                End        = true
              })
            }
          },
          {
            StartAt = "Authenticity"
            States = {
              Authenticity = merge(local.lambda_task["authenticity_agent"], {
                OutputPath = "$.value"
                End        = true
              })
            }
          },
        ]
      }
      Aggregate = merge(local.lambda_task["aggregator"], {
        ResultPath = "$.valuation"
        Catch      = local.catch_to_error_handler
        Next       = "Done"
      })
      Done = {
        Type = "Succeed"
      }
      HandleError = merge(local.lambda_task["error_handler"], {
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
          QueueUrl        = aws_sqs_queue.valuation_dlq.id
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
  }
}

resource "aws_cloudwatch_log_group" "state_machine" {
  #checkov:skip=CKV_AWS_338: retention is a per-environment cost decision taken in the platform spec (dev 30 d, prod 90 d)
  name              = "/aws/vendedlogs/states/${var.name_prefix}-valuation"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
  tags              = merge(local.tags, { Feature = "valuation" })
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
  tags               = merge(local.tags, { Feature = "valuation" })
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

  statement {
    sid       = "ExecutionDataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
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
  definition = jsonencode(local.valuation_definition)
  tags       = merge(local.tags, { Feature = "valuation" })

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
