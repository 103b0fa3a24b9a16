# CollectIQ's backend: single-table DynamoDB, the upload bucket, the 12 Lambdas, the HTTP API behind a
# Cognito JWT authorizer, the valuation state machine and the event bus.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  # The services that use the data key for a function (table, uploads, queues, state machine, secrets,
  # environment variables): a function's DataKey statement holds only through them, so no role can call
  # kms:Decrypt on the key directly.
  data_key_via = [for s in ["dynamodb", "s3", "sqs", "states", "secretsmanager", "lambda"] : "${s}.${local.region}.amazonaws.com"]

  # Service names the stack (seed 001 lists "lambda, dynamodb, s3, etc." — the AWS service, which the
  # cost reports already group by; seed 004 tags its functions "collectiq"): collectiq-backend beside
  # governance's "governance", so the two stacks' costs split by this tag.
  tags = merge({ Service = "collectiq-backend", Feature = "cards" }, var.tags)

  # Step Functions tasks; the rest are HTTP API handlers. Two module calls, because cards_revalue needs
  # the state machine ARN and the state machine needs the pipeline function ARNs.
  pipeline_names = toset(["rekognition_extract", "pricing_agent", "authenticity_agent", "aggregator", "error_handler"])

  pipeline_functions = { for name, f in var.functions : name => f if contains(local.pipeline_names, name) }
  api_functions      = { for name, f in var.functions : name => f if !contains(local.pipeline_names, name) }
}

# --- encryption --------------------------------------------------------------------------------------

# One customer managed key for the backend's data: a departure from seed 001 "Encryption" (S3: SSE-S3,
# DynamoDB: AWS managed keys, Secrets Manager: AWS managed KMS keys; CloudWatch Logs: KMS) and seed
# 000 "S3 (SSE-S3)", on purpose. The seeds disagree among themselves (seed 004's deployment guide
# gives its s3_uploads module `kms_key_id = aws_kms_key.main.id`, seed 000 says "DynamoDB (KMS)"),
# and a customer managed key is the stricter of the choices: its key policy, not only IAM, decides
# who can read card images, user items and secrets (SSE-S3 and AWS managed keys let any principal
# with s3:GetObject / dynamodb:GetItem / secretsmanager:GetSecretValue in the account read them);
# every use is a CloudTrail event on this key; disabling it cuts all access at once; and the logs
# need a KMS key anyway. Cost: $1 a month plus requests (S3 bucket keys keep those low).
resource "aws_kms_key" "data" {
  description             = "${var.name_prefix} backend data: table, uploads, queue, logs, state machine"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  tags                    = merge(local.tags, { Service = "kms" })

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
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
      {
        # The state machine's logging is vended: CloudWatch Logs' delivery service (a principal other
        # than logs.<region>) decrypts the execution data the state machine encrypts with this key, or
        # no execution log is delivered (prod's EXPRESS workflow has no other history).
        Sid       = "StepFunctionsLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "delivery.logs.amazonaws.com" }
        Action    = "kms:Decrypt"
        Resource  = "*"
        # Only for deliveries of this account's logs (the confused deputy: without it, a log delivery
        # set up in any account could be made to decrypt with this key).
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:*" }
        }
      },
      {
        # EventBridge delivers failed events to the encrypted DLQ.
        Sid       = "EventBridgeToEncryptedQueue"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "data" {
  name          = "alias/${var.name_prefix}-data"
  target_key_id = aws_kms_key.data.key_id
}

# --- single table --------------------------------------------------------------------------------------

resource "aws_dynamodb_table" "main" {
  name                        = coalesce(var.table_name, "${var.name_prefix}-data")
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "PK"
  range_key                   = "SK"
  deletion_protection_enabled = var.deletion_protection
  tags                        = merge(local.tags, { Service = "dynamodb" })

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }

  attribute {
    name = "userId"
    type = "S"
  }

  attribute {
    name = "createdAt"
    type = "S"
  }

  attribute {
    name = "setRarity"
    type = "S"
  }

  attribute {
    name = "valueMedian"
    type = "N"
  }

  attribute {
    name = "valuingShard"
    type = "S"
  }

  attribute {
    name = "updatedAt"
    type = "S"
  }

  # A user's cards, newest first (cards_list).
  global_secondary_index {
    name            = "GSI1"
    hash_key        = "userId"
    range_key       = "createdAt"
    projection_type = "ALL"
  }

  # Seed 001 "DynamoDB Module": GSI2 = set#rarity + valueMedian (analytics: a set's cards of one rarity
  # by value). Sparse: only a card with a set, a rarity and a valuation has both keys. Keys only: an
  # analytics reader gets the cards it wants by PK/SK.
  global_secondary_index {
    name            = "GSI2"
    hash_key        = "setRarity"
    range_key       = "valueMedian"
    projection_type = "KEYS_ONLY"
  }

  # The valuations in flight, oldest first (the stuck-valuation sweep). Sparse: only a VALUING card
  # carries valuingShard (VALUING#0..7), so the index holds a handful of items, not every card; sharded:
  # a burst of valuations spreads over eight keys (one `status` key took every card's writes, and its
  # ever-growing updatedAt sort key cannot be split). backend/src/store.rs (valuing_shard).
  global_secondary_index {
    name               = "GSI3"
    hash_key           = "valuingShard"
    range_key          = "updatedAt"
    projection_type    = "INCLUDE"
    non_key_attributes = ["userId", "cardId"]
  }

  # Per-user daily quota counters (backend/src/quota.rs) carry expiresAt: the end of the next UTC day.
  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  # Seed 000 "Backup Strategy": PITR (35 days) — and "Cross-region replication (production only)", not
  # done on purpose: a replica alone restores cards whose images are not there (the uploads bucket has
  # no cross-region copy, see uploads.tf), a CMK-encrypted replica needs a key in the second region, and
  # the region outage it covers is the rarest of the failures alarms/runbooks/disaster-recovery.md
  # handles. A prod that needs it adds `replica` blocks with stream_enabled (NEW_AND_OLD_IMAGES).
  point_in_time_recovery {
    enabled = true
  }

  # The backend's customer managed key, not seed 001's AWS managed one: see aws_kms_key.data.
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }
}

# --- dead-letter queues ----------------------------------------------------------------------------------

# Failed valuations the error handler could not record (the state machine's DeadLetter state), and
# stuck-valuation sweeps that failed after Lambda's retries (error_handler's on-failure destination).
resource "aws_sqs_queue" "valuation_dlq" {
  name                      = "${var.name_prefix}-valuation-dlq"
  message_retention_seconds = 1209600
  # error_handler replays it (dead_letters.tf): Lambda refuses a mapping whose queue's visibility
  # timeout is below the function's timeout, and recommends six times it.
  visibility_timeout_seconds        = 6 * local.pipeline_functions["error_handler"].timeout_s
  kms_master_key_id                 = aws_kms_key.data.arn
  kms_data_key_reuse_period_seconds = 3600
  tags                              = merge(local.tags, { Feature = "valuation", Service = "sqs" })
}

# TLS only, as every queue here. No Allow: the state machine and error_handler send with their roles'
# own sqs:SendMessage, and error_handler's replay reads with its role.
data "aws_iam_policy_document" "valuation_dlq" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.valuation_dlq.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "valuation_dlq" {
  queue_url = aws_sqs_queue.valuation_dlq.id
  policy    = data.aws_iam_policy_document.valuation_dlq.json
}

# Events EventBridge could not deliver: domain events (events.tf) and stuck-valuation sweeps (sweep.tf).
resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name_prefix}-events-dlq"
  message_retention_seconds = 1209600
  # error_handler replays it (dead_letters.tf): Lambda refuses a mapping whose queue's visibility
  # timeout is below the function's timeout, and recommends six times it.
  visibility_timeout_seconds        = 6 * local.pipeline_functions["error_handler"].timeout_s
  kms_master_key_id                 = aws_kms_key.data.arn
  kms_data_key_reuse_period_seconds = 3600
  tags                              = merge(local.tags, { Feature = "valuation", Service = "sqs" })
}
