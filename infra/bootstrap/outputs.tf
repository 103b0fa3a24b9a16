output "state_bucket" {
  description = "The state bucket: `bucket` in infra/envs/<env>/backend.hcl."
  value       = aws_s3_bucket.state.id
}

output "lock_table" {
  description = "The lock table: `dynamodb_table` in infra/envs/<env>/backend.hcl."
  value       = aws_dynamodb_table.locks.name
}

output "kms_key_arn" {
  description = "The key the state and the lock table are encrypted with; backend.hcl's `kms_key_id` names it by its alias."
  value       = aws_kms_key.state.arn
}

output "kms_key_alias_arn" {
  description = "The key's alias: `kms_key_id` in infra/envs/<env>/backend.hcl."
  value       = aws_kms_alias.state.arn
}
