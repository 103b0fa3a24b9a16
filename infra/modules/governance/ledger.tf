# The governance ledger: snapshots for trends and anomalies, fire-once markers, governance's own API
# spend. Items carry an epoch-seconds TTL attribute so old snapshots age out on their own. Key names are
# the ones governance/src/ledger.rs writes (lowercase pk/sk).

resource "aws_dynamodb_table" "ledger" {
  name                        = "${var.name_prefix}-governance-ledger"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection
  tags                        = merge(local.tags, { Service = "dynamodb" })

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = var.ledger_ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.governance.arn
  }
}
