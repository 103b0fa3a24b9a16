# What prod does differently from the other environments (the rest is the shared configuration in
# ../shared, symlinked here, and platform.auto.tfvars.json generated from the platform spec).
locals {
  deletion_protection     = true
  admin_password_auth     = false
  state_machine_log_level = "ERROR"
}
