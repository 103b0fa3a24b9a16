# The 12 functions. Each gets a role with only what its handler does; the policy documents below are
# the whole of it (logging and tracing come from the lambda_fn module).

locals {
  table_arns   = [aws_dynamodb_table.main.arn]
  index_arns   = ["${aws_dynamodb_table.main.arn}/index/*"]
  uploads_arns = ["${aws_s3_bucket.uploads.arn}/uploads/*"]

  bedrock_model_arns = concat(
    ["arn:${local.partition}:bedrock:*::foundation-model/${var.bedrock_model_id}"],
    [for p in var.bedrock_inference_profile_region_prefixes : "arn:${local.partition}:bedrock:*:${local.account_id}:inference-profile/${p}.${var.bedrock_model_id}"],
  )

  # Feature tag when the functions map gives none.
  default_feature = {
    healthz             = "api"
    upload_presign      = "uploads"
    cards_revalue       = "valuation"
    rekognition_extract = "valuation"
    pricing_agent       = "valuation"
    authenticity_agent  = "valuation"
    aggregator          = "valuation"
    error_handler       = "valuation"
  }

  common_env = {
    COLLECTIQ_ENVIRONMENT = var.environment
    TABLE_NAME            = aws_dynamodb_table.main.name
  }

  # Two maps, not one: cards_revalue needs the state machine, which needs the pipeline functions.
  api_env = {
    healthz = {}
    upload_presign = {
      UPLOAD_BUCKET       = aws_s3_bucket.uploads.id
      ALLOWED_UPLOAD_MIME = join(",", var.allowed_upload_mime)
      MAX_UPLOAD_MB       = tostring(var.max_upload_mb)
    }
    cards_create  = { UPLOAD_BUCKET = aws_s3_bucket.uploads.id }
    cards_list    = { GSI1_NAME = "GSI1" }
    cards_get     = {}
    cards_delete  = { UPLOAD_BUCKET = aws_s3_bucket.uploads.id }
    cards_revalue = { STATE_MACHINE_ARN = aws_sfn_state_machine.valuation.arn }
  }

  pipeline_env = {
    rekognition_extract = { UPLOAD_BUCKET = aws_s3_bucket.uploads.id }
    pricing_agent       = { PRICING_SECRET_ARN = aws_secretsmanager_secret.pricing_api_keys.arn }
    authenticity_agent  = { BEDROCK_MODEL_ID = var.bedrock_model_id, UPLOAD_BUCKET = aws_s3_bucket.uploads.id }
    aggregator          = { EVENT_BUS_NAME = aws_cloudwatch_event_bus.main.name }
    error_handler       = { DLQ_URL = aws_sqs_queue.valuation_dlq.id }
  }
}

data "aws_iam_policy_document" "upload_presign" {
  statement {
    # The presigned PUT is executed with this role's credentials.
    sid       = "PutUploads"
    actions   = ["s3:PutObject"]
    resources = local.uploads_arns
  }

  statement {
    sid       = "EncryptUploads"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "cards_create" {
  statement {
    sid       = "WriteCard"
    actions   = ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"]
    resources = local.table_arns
  }

  statement {
    sid       = "CheckUpload"
    actions   = ["s3:GetObject"]
    resources = local.uploads_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "cards_list" {
  statement {
    sid       = "QueryUserCards"
    actions   = ["dynamodb:Query"]
    resources = concat(local.table_arns, ["${aws_dynamodb_table.main.arn}/index/GSI1"])
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "cards_get" {
  statement {
    sid       = "ReadCard"
    actions   = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = local.table_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "cards_delete" {
  statement {
    sid       = "DeleteCard"
    actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
    resources = local.table_arns
  }

  statement {
    sid       = "DeleteUpload"
    actions   = ["s3:DeleteObject"]
    resources = local.uploads_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "cards_revalue" {
  statement {
    sid       = "ReadCard"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = local.table_arns
  }

  statement {
    sid       = "StartValuation"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.valuation.arn]
  }

  statement {
    # Table, and the state machine's customer-managed encryption.
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "rekognition_extract" {
  statement {
    # Rekognition image APIs have no resource-level permissions.
    sid       = "DetectTextAndLabels"
    actions   = ["rekognition:DetectText", "rekognition:DetectLabels"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject"]
    resources = local.uploads_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "pricing_agent" {
  statement {
    sid       = "PriceSourceKeys"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.pricing_api_keys.arn]
  }

  statement {
    sid       = "PriceHistory"
    actions   = ["dynamodb:Query"]
    resources = local.table_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "authenticity_agent" {
  statement {
    # Converse is authorised as InvokeModel on the model (or its cross-region inference profile).
    sid       = "BedrockConverse"
    actions   = ["bedrock:InvokeModel"]
    resources = local.bedrock_model_arns
  }

  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject"]
    resources = local.uploads_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "aggregator" {
  statement {
    sid       = "PersistValuation"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:TransactWriteItems", "dynamodb:GetItem"]
    resources = local.table_arns
  }

  statement {
    sid       = "PublishEvents"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.main.arn]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

data "aws_iam_policy_document" "error_handler" {
  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.valuation_dlq.arn]
  }

  statement {
    sid       = "MarkCardFailed"
    actions   = ["dynamodb:UpdateItem"]
    resources = local.table_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
  }
}

locals {
  api_policies = {
    healthz        = null
    upload_presign = data.aws_iam_policy_document.upload_presign.json
    cards_create   = data.aws_iam_policy_document.cards_create.json
    cards_list     = data.aws_iam_policy_document.cards_list.json
    cards_get      = data.aws_iam_policy_document.cards_get.json
    cards_delete   = data.aws_iam_policy_document.cards_delete.json
    cards_revalue  = data.aws_iam_policy_document.cards_revalue.json
  }

  pipeline_policies = {
    rekognition_extract = data.aws_iam_policy_document.rekognition_extract.json
    pricing_agent       = data.aws_iam_policy_document.pricing_agent.json
    authenticity_agent  = data.aws_iam_policy_document.authenticity_agent.json
    aggregator          = data.aws_iam_policy_document.aggregator.json
    error_handler       = data.aws_iam_policy_document.error_handler.json
  }
}

module "pipeline" {
  source   = "../lambda_fn"
  for_each = local.pipeline_functions

  function_name         = coalesce(each.value.name, "${var.name_prefix}-${replace(each.key, "_", "-")}")
  description           = "CollectIQ valuation pipeline: ${each.key}"
  package_path          = "${var.artifacts_dir}/${each.key}.zip"
  architecture          = each.value.architecture
  memory_mb             = each.value.memory_mb
  timeout_s             = each.value.timeout_s
  reserved_concurrency  = each.value.reserved_concurrency
  log_retention_days    = var.log_retention_days
  log_level             = var.log_level
  kms_key_arn           = aws_kms_key.data.arn
  service_name          = var.service_name
  environment_variables = merge(local.common_env, lookup(local.pipeline_env, each.key, {}), each.value.agent == null ? {} : { COLLECTIQ_AGENT = each.value.agent })
  policy_json           = lookup(local.pipeline_policies, each.key, null)
  tags                  = merge(local.tags, { Feature = coalesce(each.value.feature, lookup(local.default_feature, each.key, "cards")), Tier = each.value.tier })
}

module "api" {
  source   = "../lambda_fn"
  for_each = local.api_functions

  function_name         = coalesce(each.value.name, "${var.name_prefix}-${replace(each.key, "_", "-")}")
  description           = "CollectIQ API: ${each.key}"
  package_path          = "${var.artifacts_dir}/${each.key}.zip"
  architecture          = each.value.architecture
  memory_mb             = each.value.memory_mb
  timeout_s             = each.value.timeout_s
  reserved_concurrency  = each.value.reserved_concurrency
  log_retention_days    = var.log_retention_days
  log_level             = var.log_level
  kms_key_arn           = aws_kms_key.data.arn
  service_name          = var.service_name
  environment_variables = merge(local.common_env, lookup(local.api_env, each.key, {}), each.value.agent == null ? {} : { COLLECTIQ_AGENT = each.value.agent })
  policy_json           = lookup(local.api_policies, each.key, null)
  tags                  = merge(local.tags, { Feature = coalesce(each.value.feature, lookup(local.default_feature, each.key, "cards")), Tier = each.value.tier })
}

locals {
  function_arns  = merge({ for n, f in module.pipeline : n => f.arn }, { for n, f in module.api : n => f.arn })
  function_names = merge({ for n, f in module.pipeline : n => f.function_name }, { for n, f in module.api : n => f.function_name })
}
