terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Seed 001 "Terraform State Management": S3 state, DynamoDB locks. The settings are the env's
  # backend.hcl (`terraform init -backend-config=backend.hcl`); infra/bootstrap makes the bucket and
  # the table once per account (docs/deploy.md, "Remote state").
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "CollectIQ"
      Environment = var.environment
      Owner       = var.owner
      ManagedBy   = "Terraform"
      CostCenter  = var.cost_center
      Service     = "collectiq"
      Feature     = "platform"
    }
  }
}
