output "role_arn" {
  description = "accounts[].role_arn for the organisation spec."
  value       = aws_iam_role.member.arn
}
