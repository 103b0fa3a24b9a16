# The 12 functions. Each gets a role with only what its handler does; the policy documents below are
# the whole of it (logging, tracing and the environment key come from the lambda_fn module).
#
# Environment: exactly the variables each function's `Deps::from_env` reads (backend/src; the table in
# docs/backend.md). scripts/check-infra compares the plan with the code: a variable the code requires
# and Terraform does not set, or one Terraform sets and no code reads, fails the check.

locals {
  table_arns   = [aws_dynamodb_table.main.arn]
  uploads_arns = ["${aws_s3_bucket.uploads.arn}/uploads/*"]

  # `bedrock_model_id` may name a cross-region inference profile (`us.anthropic.…`, which newer models
  # need for on-demand calls): Converse then calls the profile, and IAM asks for InvokeModel on the
  # profile and on its foundation model in every region the profile routes to (a global profile's
  # have no region: `*` matches the empty one). A foundation model id keeps the profiles of
  # `bedrock_inference_profile_region_prefixes` beside it.
  bedrock_profile_prefix = try(regex("^(us|eu|apac|us-gov|ca|jp|au|global)\\.", var.bedrock_model_id)[0], null)
  bedrock_foundation_id = (local.bedrock_profile_prefix == null ? var.bedrock_model_id
  : substr(var.bedrock_model_id, length(local.bedrock_profile_prefix) + 1, -1))
  bedrock_model_arns = concat(
    ["arn:${local.partition}:bedrock:*::foundation-model/${local.bedrock_foundation_id}"],
    local.bedrock_profile_prefix == null
    ? [for p in var.bedrock_inference_profile_region_prefixes : "arn:${local.partition}:bedrock:*:${local.account_id}:inference-profile/${p}.${var.bedrock_model_id}"]
    : ["arn:${local.partition}:bedrock:*:${local.account_id}:inference-profile/${var.bedrock_model_id}"],
  )

  # Feature tag when the functions map gives none: seed 001's cost allocation features (upload,
  # valuation, authenticity) where a function serves one; api and cards for the rest.
  default_feature = {
    healthz             = "api"
    upload_presign      = "upload"
    cards_revalue       = "valuation"
    rekognition_extract = "valuation"
    pricing_agent       = "valuation"
    authenticity_agent  = "authenticity"
    aggregator          = "valuation"
    error_handler       = "valuation"
  }

  # Every function that logs a userId pseudonym (config::user_hasher). The value is the secret's ARN,
  # taken from the version resource so no function is created before the key has a value.
  user_id_hash_key_env = {
    USER_ID_HASH_KEY_SECRET_ID = aws_secretsmanager_secret_version.user_id_hash_key.arn
    # Not read by the code: a new key version changes the function configuration, so the apply publishes
    # new versions. The `live` aliases stay where CodeDeploy left them (ignore_changes), so the key moves
    # as each function is shipped to its new version; until then one user may appear under both
    # pseudonyms (docs/deploy.md, "The userId hash key").
    USER_ID_HASH_KEY_VERSION = tostring(var.user_id_hash_key_version)
  }
  table_env = { TABLE_NAME = aws_dynamodb_table.main.name }

  # Two maps, not one: cards_revalue needs the state machine, which needs the pipeline functions.
  api_env = {
    healthz = {}
    upload_presign = merge(local.user_id_hash_key_env, local.table_env, {
      BUCKET_UPLOADS      = aws_s3_bucket.uploads.id
      ALLOWED_UPLOAD_MIME = join(",", var.allowed_upload_mime)
      MAX_UPLOAD_MB       = tostring(var.max_upload_mb)
      PRESIGN_TTL_SECONDS = tostring(var.presign_ttl_seconds)
      PRESIGN_DAILY_LIMIT = tostring(var.presign_daily_limit)
    })
    cards_create = merge(local.user_id_hash_key_env, local.table_env, {
      BUCKET_UPLOADS     = aws_s3_bucket.uploads.id
      CREATE_DAILY_LIMIT = tostring(var.create_daily_limit)
    })
    cards_list   = merge(local.user_id_hash_key_env, local.table_env)
    cards_get    = merge(local.user_id_hash_key_env, local.table_env)
    cards_delete = merge(local.user_id_hash_key_env, local.table_env, { BUCKET_UPLOADS = aws_s3_bucket.uploads.id })
    cards_revalue = merge(local.user_id_hash_key_env, local.table_env, {
      STATE_MACHINE_ARN             = aws_sfn_state_machine.valuation.arn
      BUCKET_UPLOADS                = aws_s3_bucket.uploads.id
      REVALUE_DAILY_LIMIT           = tostring(var.revalue_daily_limit)
      SERVICE_VALUATION_DAILY_LIMIT = tostring(var.service_valuation_daily_limit)
    })
  }

  pipeline_env = {
    rekognition_extract = {}
    pricing_agent       = { PRICE_API_SECRET_ID = aws_secretsmanager_secret.pricing_api_keys.arn }
    authenticity_agent = {
      BEDROCK_MODEL_ID                = var.bedrock_model_id
      AUTHENTICITY_SEND_PHOTO         = tostring(var.authenticity_send_photo)
      AUTHENTICITY_PHASH              = tostring(var.authenticity_phash)
      AUTHENTICITY_PHASH_MAX_DISTANCE = tostring(var.authenticity_phash_max_distance)
    }
    aggregator = merge(local.user_id_hash_key_env, local.table_env, {
      EVENT_BUS_NAME              = aws_cloudwatch_event_bus.main.name
      AUTHENTICITY_FLAG_THRESHOLD = tostring(var.authenticity_flag_threshold)
    })
    error_handler = merge(local.user_id_hash_key_env, local.table_env)
  }
}

# Read once per cold start by every function in user_id_hash_key_env.
data "aws_iam_policy_document" "user_id_hash_key" {
  statement {
    sid       = "UserIdHashKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.user_id_hash_key.arn]
  }
}

data "aws_iam_policy_document" "upload_presign" {
  source_policy_documents = [data.aws_iam_policy_document.user_id_hash_key.json]

  statement {
    # The presigned PUT is executed with this role's credentials; it carries the signed tag
    # collectiq-upload=pending, which S3 authorises as PutObjectTagging.
    sid       = "PutUploads"
    actions   = ["s3:PutObject", "s3:PutObjectTagging"]
    resources = local.uploads_arns
  }

  statement {
    # The per-user daily quota: one conditional UpdateItem on a QUOTA# item (backend/src/quota.rs).
    # Only QUOTA# items: the function updates nothing else, so a flaw in it cannot rewrite cards.
    sid       = "CountPresigns"
    actions   = ["dynamodb:UpdateItem"]
    resources = local.table_arns
    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["QUOTA#*"]
    }
  }

  statement {
    # Upload objects (S3 bucket key) and the table's items.
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
  }
}

data "aws_iam_policy_document" "cards_create" {
  source_policy_documents = [data.aws_iam_policy_document.user_id_hash_key.json]

  statement {
    # TransactWriteItems of two or three Puts with attribute_not_exists(PK) (authorised as PutItem): the
    # card and the claim of each image, never overwriting. GetItem reads who holds an image already
    # taken, and that card (a retried create answers with it). Query reads the user's cards when a failed
    # create gives its uploads back: an image a card stored before claims shows stays confirmed.
    sid       = "WriteCard"
    actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"]
    resources = local.table_arns
  }

  statement {
    # The per-user daily quota of card creations: one conditional UpdateItem, before any S3 call.
    # Only QUOTA# items: the function updates nothing else, so a flaw in it cannot rewrite cards.
    sid       = "CountCreates"
    actions   = ["dynamodb:UpdateItem"]
    resources = local.table_arns
    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["QUOTA#*"]
    }
  }

  statement {
    # The card's images are re-tagged collectiq-upload=confirmed so the unconfirmed-upload expiry spares
    # them (backend/src/uploads.rs).
    sid       = "ConfirmUploads"
    actions   = ["s3:PutObjectTagging"]
    resources = local.uploads_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
  }
}

data "aws_iam_policy_document" "cards_list" {
  source_policy_documents = [data.aws_iam_policy_document.user_id_hash_key.json]

  statement {
    # Query on GSI1 only; the base table is never read.
    sid       = "QueryUserCards"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.main.arn}/index/GSI1"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
  }
}

data "aws_iam_policy_document" "cards_get" {
  source_policy_documents = [data.aws_iam_policy_document.user_id_hash_key.json]

  statement {
    sid       = "ReadCard"
    actions   = ["dynamodb:GetItem"]
    resources = local.table_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
  }
}

data "aws_iam_policy_document" "cards_delete" {
  source_policy_documents = [data.aws_iam_policy_document.user_id_hash_key.json]

  statement {
    # GetItem the card (its image keys) and its images' claims, Query the price items and the user's
    # cards (one stored before claims may show the same image), then TransactWriteItems of Deletes
    # (authorised as DeleteItem) and of a Put passing an image's claim to that older card (PutItem),
    # and DeleteItem for price items beyond one transaction.
    sid       = "DeleteCard"
    actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:PutItem"]
    resources = local.table_arns
  }

  statement {
    # A deleted card's images go with it (a delete marker; noncurrent-version expiry removes the bytes).
    sid       = "DeleteImages"
    actions   = ["s3:DeleteObject"]
    resources = local.uploads_arns
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
  }
}

data "aws_iam_policy_document" "cards_revalue" {
  source_policy_documents = [data.aws_iam_policy_document.user_id_hash_key.json]

  statement {
    # Conditional UpdateItem to VALUING (and back if StartExecution fails or the service's ceiling is
    # reached), the per-user daily quota's and the service's valuation ceiling's conditional UpdateItem
    # (and the ceiling's refund); GetItem tells 404 from 409.
    sid       = "ClaimCard"
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
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
  }
}

# Reading a card's photo from the uploads bucket (encrypted with the data key): rekognition_extract
# (Rekognition reads the S3 object with the caller's credentials) and authenticity_agent (the photo
# goes to the model) — seed 001's "s3:GetObject" for both.
data "aws_iam_policy_document" "read_uploads" {
  statement {
    sid       = "ReadUploads"
    actions   = ["s3:GetObject"]
    resources = local.uploads_arns
  }

  statement {
    # As S3 decrypts the object for the reader. (Every function's role may also decrypt with this key
    # as Lambda reads its environment variables: lambda_fn's EnvironmentKey statement, via Lambda.)
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "rekognition_extract" {
  source_policy_documents = [data.aws_iam_policy_document.read_uploads.json]

  statement {
    # Rekognition image APIs have no resource-level permissions.
    sid       = "DetectTextAndLabels"
    actions   = ["rekognition:DetectText", "rekognition:DetectLabels"]
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "pricing_agent" {
  statement {
    sid       = "PriceSourceKeys"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.pricing_api_keys.arn]
  }

  statement {
    # The secret is encrypted with the data key.
    sid       = "DataKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
  }
}

data "aws_iam_policy_document" "authenticity_agent" {
  # Seed 001 (IAM least privilege): "authenticity_agent: bedrock:InvokeModel, s3:GetObject".
  source_policy_documents = [data.aws_iam_policy_document.read_uploads.json]

  statement {
    # Converse is authorised as InvokeModel on the model (or its cross-region inference profile).
    sid       = "BedrockConverse"
    actions   = ["bedrock:InvokeModel"]
    resources = local.bedrock_model_arns
  }

  statement {
    # The pHash reference prints (seed 001: "S3 Uploads (Images + Samples)"), samples/{set}/{number}:
    # backend/src/authenticity_agent.rs, docs/backend.md. Decrypted through ReadUploads' DataKey.
    sid       = "ReadSamples"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.uploads.arn}/samples/*"]
  }

  statement {
    # Beyond seed 001's "s3:GetObject", because most cards have no sample: without s3:ListBucket S3
    # answers GetObject on a missing key with 403 AccessDenied, which the agent can only log as a
    # refusal (a WARN on every valuation, the comparison skipped); with it, 404 NoSuchKey, which means
    # "no sample, no comparison".
    # S3 evaluates ListBucket for that answer with the requested key as s3:prefix, so the role may list
    # samples/ only — not uploads/, whose keys carry user ids.
    sid       = "ListSamples"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.uploads.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["samples/*"]
    }
  }
}

data "aws_iam_policy_document" "aggregator" {
  source_policy_documents = [data.aws_iam_policy_document.user_id_hash_key.json]

  statement {
    # TransactWriteItems of an Update (card) and a Put (price item) is authorised as UpdateItem and
    # PutItem; GetItem tells a retried task from a deleted card.
    sid       = "PersistValuation"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"]
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
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
  }
}

data "aws_iam_policy_document" "error_handler" {
  source_policy_documents = [data.aws_iam_policy_document.user_id_hash_key.json]

  statement {
    # VALUING -> FAILED, conditionally.
    sid       = "MarkCardFailed"
    actions   = ["dynamodb:UpdateItem"]
    resources = local.table_arns
  }

  statement {
    # Replaying the dead-letter queues (dead_letters.tf): the event source mappings poll as this role.
    sid       = "ReplayDeadLetters"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.valuation_dlq.arn, aws_sqs_queue.events_dlq.arn]
  }

  statement {
    # The stuck-valuation sweep (sweep.tf): VALUING cards by updatedAt on GSI3 only.
    sid       = "FindStuckValuations"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.main.arn}/index/GSI3"]
  }

  statement {
    sid       = "DataKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.data_key_via
    }
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
  environment_variables = lookup(local.pipeline_env, each.key, {})
  policy_json           = lookup(local.pipeline_policies, each.key, null)
  alias_name            = var.alias_name
  # The stuck-valuation sweep invokes error_handler asynchronously (sweep.tf): a sweep that still fails
  # after Lambda's retries is queued with its whole invocation record, not lost. The others are
  # invoked synchronously by the state machine.
  on_failure_destination_arn = each.key == "error_handler" ? aws_sqs_queue.valuation_dlq.arn : null
  tags                       = merge(local.tags, { Feature = coalesce(each.value.feature, lookup(local.default_feature, each.key, "cards")), Tier = each.value.tier })
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
  environment_variables = lookup(local.api_env, each.key, {})
  policy_json           = lookup(local.api_policies, each.key, null)
  alias_name            = var.alias_name
  tags                  = merge(local.tags, { Feature = coalesce(each.value.feature, lookup(local.default_feature, each.key, "cards")), Tier = each.value.tier })
}

locals {
  # Unqualified: IAM, the drift check. Callers invoke the alias (alias_arns).
  function_arns  = merge({ for n, f in module.pipeline : n => f.arn }, { for n, f in module.api : n => f.arn })
  alias_arns     = merge({ for n, f in module.pipeline : n => f.alias_arn }, { for n, f in module.api : n => f.alias_arn })
  function_names = merge({ for n, f in module.pipeline : n => f.function_name }, { for n, f in module.api : n => f.function_name })
}
