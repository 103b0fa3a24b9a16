variable "region" {
  description = "Region of the state bucket and lock table (seed 001: us-east-1; each env's backend.hcl names the same)."
  type        = string
  default     = "us-east-1"
}

variable "owner" {
  description = "Owner tag (seed 001, \"Resource Tagging Strategy\")."
  type        = string
  default     = "DevOps"
}

variable "cost_center" {
  description = "CostCenter tag (seed 001, \"Resource Tagging Strategy\")."
  type        = string
  default     = "Engineering"
}

variable "noncurrent_version_days" {
  description = "Days a replaced state version is kept for recovery (`terraform state push` of an older version, docs/deploy.md)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1: versioning is the state's recovery."
  }
}
