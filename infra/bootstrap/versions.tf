# The Terraform state backend of seed 001 ("Terraform State Management"): the S3 bucket
# `collectiq-terraform-state-<account id>` (versioned, for state recovery) and the DynamoDB lock table
# `collectiq-terraform-locks`, in us-east-1 (seed 004's deployment guide shortens the bucket to
# `collectiq-terraform-state` with keys `<env>/backend/terraform.tfstate`; seed 001's design, with the
# account id that keeps the bucket name unique across accounts, is the one followed). Applied once per account, with local state, before
# `terraform init -backend-config=backend.hcl` in infra/envs/dev and infra/envs/prod (docs/deploy.md,
# "Remote state"). scripts/check-infra applies it to the local emulator and plans both environments
# through the backend it makes.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "CollectIQ"
      Environment = "shared"
      Owner       = var.owner
      ManagedBy   = "Terraform"
      CostCenter  = var.cost_center
      Service     = "s3"
      Feature     = "terraform-state"
    }
  }
}
