# Secrets the functions read at cold start. Lambda environments carry only their ids (ARNs); no secret
# value is ever a Terraform argument, an environment variable or part of the state. Encrypted with the
# backend's customer managed key, not seed 001's AWS managed one: why, in main.tf at aws_kms_key.data.

# Price-source API keys for pricing_agent (PRICE_API_SECRET_ID). Issued by the providers, so the value
# is set out of band (docs/deploy.md, step 5): Terraform creates the secret without a value.
resource "aws_secretsmanager_secret" "pricing_api_keys" {
  #checkov:skip=CKV2_AWS_57: third-party price-source API keys are issued by the providers and cannot be rotated by a Lambda; they are replaced by hand (docs/deploy.md)
  name                    = "${var.name_prefix}/pricing-api-keys"
  description             = "Price sources of pricing_agent as JSON {\"sources\":[{\"name\",\"baseUrl\",\"apiKey\"}]}. Value set out of band: see docs/deploy.md."
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 7
  tags                    = merge(local.tags, { Feature = "valuation", Service = "secretsmanager" })
}

# The HMAC key behind the userId pseudonyms in every log line (backend/src/identity.rs,
# USER_ID_HASH_KEY_SECRET_ID). Secrets Manager generates it (ephemeral: opened during plan and apply,
# never stored) and Terraform writes it write-only: neither the plan nor the state ever holds it.
# The version number is the rotation handle: bump user_id_hash_key_version and apply to write a new
# key (pseudonyms change from then on; the functions' USER_ID_HASH_KEY_VERSION changes with it, so new
# versions are published, which serve once CodeDeploy ships them behind the `live` aliases: until every
# function is shipped, old versions' warm environments keep the old key — docs/deploy.md).
ephemeral "aws_secretsmanager_random_password" "user_id_hash_key" {
  # 64 alphanumerics ≈ 381 bits; identity::MIN_KEY_BYTES is 32.
  password_length     = 64
  exclude_punctuation = true
  include_space       = false
}

resource "aws_secretsmanager_secret" "user_id_hash_key" {
  #checkov:skip=CKV2_AWS_57: rotation is a deliberate apply (user_id_hash_key_version), not a schedule: a new key changes every user's pseudonym, so a rotation Lambda would silently break following one user across logs
  name                    = "${var.name_prefix}/user-id-hash-key"
  description             = "HMAC-SHA256 key of the userId pseudonyms in backend logs. Generated and written by Terraform (write-only); never in state."
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 7
  tags                    = merge(local.tags, { Service = "secretsmanager" })
}

resource "aws_secretsmanager_secret_version" "user_id_hash_key" {
  secret_id                = aws_secretsmanager_secret.user_id_hash_key.id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.user_id_hash_key.random_password
  secret_string_wo_version = var.user_id_hash_key_version
}
