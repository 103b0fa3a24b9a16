# The S3 backend of seed 001 ("Terraform State Management") for prod, in the spec's account
# (123456789012): `terraform init -backend-config=backend.hcl`. The bucket and the lock table are
# infra/bootstrap's (applied once per account); scripts/check-infra holds these values to the seed
# and to the spec's account, and plans through them against the local emulator.
bucket         = "collectiq-terraform-state-123456789012"
key            = "prod/terraform.tfstate"
region         = "us-east-1"
encrypt        = true
# The state is written with infra/bootstrap's key: without it the backend asks S3 for SSE-S3 on every
# upload, which overrides the bucket's SSE-KMS default.
kms_key_id     = "arn:aws:kms:us-east-1:123456789012:alias/collectiq-terraform-state"
dynamodb_table = "collectiq-terraform-locks"
