terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # State is local by default. For a shared account, add an S3 backend (docs/deploy.md, "Remote state").
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
      Service     = "governance"
      Feature     = "organisation"
    }
  }
}
