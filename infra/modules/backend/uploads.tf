# Upload bucket: card images PUT by browsers through presigned URLs under uploads/{sub}/. Private,
# KMS-encrypted, versioned, TLS-only, with a lifecycle; its access logs go to a second bucket.

resource "aws_s3_bucket" "uploads" {
  #checkov:skip=CKV_AWS_144: card images are re-uploadable user content; versioning plus PITR-backed metadata cover recovery, and cross-region replication would double storage cost
  bucket = "${var.name_prefix}-uploads-${local.account_id}"
  tags   = merge(local.tags, { Feature = "upload", Service = "s3" })
}

resource "aws_s3_bucket_public_access_block" "uploads" {
  bucket                  = aws_s3_bucket.uploads.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  versioning_configuration {
    status = "Enabled"
  }
}

# SSE-KMS with the backend's customer managed key rather than seeds 000/001's SSE-S3 (seed 004 gives
# the bucket a KMS key): why, in main.tf at aws_kms_key.data.
resource "aws_s3_bucket_server_side_encryption_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  rule {
    id     = "uploads-tiering"
    status = "Enabled"

    filter {
      prefix = "uploads/"
    }

    # Seeds 000 ("Intelligent tiering for variable access") and 001 ("S3 Intelligent-Tiering for
    # uploads"): a card's images are read often while it is new and rarely after, which tiering follows
    # per object without STANDARD_IA's retrieval fees on the ones read again.
    transition {
      days          = var.upload_ia_transition_days
      storage_class = "INTELLIGENT_TIERING"
    }
  }

  # An upload no card uses (still tagged collectiq-upload=pending: upload_presign signs the tag into the
  # presigned PUT, cards_create re-tags what it registers as confirmed) expires after a day
  # (backend/src/uploads.rs).
  rule {
    id     = "expire-unconfirmed-uploads"
    status = "Enabled"

    filter {
      and {
        prefix = "uploads/"
        tags   = { collectiq-upload = "pending" }
      }
    }

    expiration {
      days = var.unconfirmed_upload_expiration_days
    }

    # Versioning is on: expiring the current version only adds a delete marker, and the photo itself
    # would stay as a noncurrent version until the housekeeping rule's 30 days.
    noncurrent_version_expiration {
      noncurrent_days = var.unconfirmed_upload_expiration_days
    }
  }

  rule {
    id     = "housekeeping"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    # A deleted card's images and expired uploads leave delete markers; once their noncurrent versions
    # expire, a marker alone stays forever unless a rule removes it (S3 lifecycle: "expired object
    # delete markers").
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.uploads]
}

resource "aws_s3_bucket_cors_configuration" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  cors_rule {
    allowed_methods = ["PUT"]
    allowed_origins = var.cors_allowed_origins
    # upload_presign signs `If-None-Match: *` into the URL (a key is never overwritten): the browser
    # sends it, so its CORS preflight must be allowed to.
    allowed_headers = ["content-type", "content-length", "if-none-match", "x-amz-*"]
    max_age_seconds = 3000
  }
}

# S3 publishes request metrics (GetRequests, PutRequests, 4xxErrors, 5xxErrors, FirstByteLatency,
# TotalRequestLatency) only for a metrics configuration; the data dashboard reads them with
# FilterId=EntireBucket (dashboards::CatalogueOptions::s3_request_filter_id, docs/dashboards.md).
# Seed 001 "Observability and Monitoring" → "CloudWatch Dashboards" → "Data Layer Dashboard": "S3 GET/PUT
# request count". No filter: the whole bucket. S3 bills these at CloudWatch's custom-metric rate.
resource "aws_s3_bucket_metric" "entire_bucket" {
  # .bucket, not .id: the name is known at plan time, so check-infra can compare it with the spec.
  bucket = aws_s3_bucket.uploads.bucket
  name   = "EntireBucket"
}

# New uploads become EventBridge events (audit trail, future automation).
resource "aws_s3_bucket_notification" "uploads" {
  bucket      = aws_s3_bucket.uploads.id
  eventbridge = true
}

resource "aws_s3_bucket_logging" "uploads" {
  bucket        = aws_s3_bucket.uploads.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "uploads/"

  # S3 checks at PutBucketLogging that the target lets the logging service write.
  depends_on = [aws_s3_bucket_policy.access_logs, aws_s3_bucket_ownership_controls.access_logs]
}

data "aws_iam_policy_document" "uploads" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.uploads.arn, "${aws_s3_bucket.uploads.arn}/*"]

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

resource "aws_s3_bucket_policy" "uploads" {
  bucket = aws_s3_bucket.uploads.id
  policy = data.aws_iam_policy_document.uploads.json

  depends_on = [aws_s3_bucket_public_access_block.uploads]
}

# --- access-log bucket ------------------------------------------------------------------------------------

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_18: this is the server-access-log target; logging it to itself would loop
  #checkov:skip=CKV_AWS_144: access logs are operational data kept 90 days; cross-region replication is not worth its cost here
  #checkov:skip=CKV_AWS_145: S3 server access log delivery supports only SSE-S3 (AES256) on the target bucket, not SSE-KMS
  #checkov:skip=CKV2_AWS_62: nothing consumes access-log object events
  bucket = "${var.name_prefix}-access-logs-${local.account_id}"
  tags   = merge(local.tags, { Feature = "upload", Service = "s3" })
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = 90
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "S3ServerAccessLogDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.uploads.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]

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

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}
