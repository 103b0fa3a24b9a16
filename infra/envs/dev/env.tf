# What dev does differently from the other environments (the rest is the shared configuration in
# ../shared, symlinked here, and platform.auto.tfvars.json generated from the platform spec).
locals {
  deletion_protection     = false
  admin_password_auth     = true
  state_machine_log_level = "ALL"
}
