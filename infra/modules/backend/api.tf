# HTTP API: 7 routes, a Cognito JWT authorizer on all but GET /healthz, JSON access logs.

locals {
  routes = {
    "GET /healthz"             = { function = "healthz", authorized = false }
    "POST /upload/presign"     = { function = "upload_presign", authorized = true }
    "POST /cards"              = { function = "cards_create", authorized = true }
    "GET /cards"               = { function = "cards_list", authorized = true }
    "GET /cards/{id}"          = { function = "cards_get", authorized = true }
    "DELETE /cards/{id}"       = { function = "cards_delete", authorized = true }
    "POST /cards/{id}/revalue" = { function = "cards_revalue", authorized = true }
  }

  route_functions = toset([for r in local.routes : r.function])
}

# Seed 001 "Amazon Cognito User Pool Module": pool "collectiq-${environment}" (its module's name; the
# "Environment Configuration" prose says "prod-collectiq user pool", a description, not a name), client
# "collectiq-web-${environment}", passwords of 8+ characters with upper, lower, digit and symbol, the
# authorization-code flow with openid/email/profile, and a hosted UI at "collectiq-${environment}".
resource "aws_cognito_user_pool" "users" {
  name                     = var.name_prefix
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  # Per environment (env.tf): prod "ON" (seed 001 "Environment Configuration" → Production: "prod-collectiq
  # user pool with MFA"), dev "OPTIONAL" (001 "Amazon Cognito User Pool Module"). Either way the second
  # factor is a TOTP app (software token); no SMS, so no SNS role or SMS spend.
  mfa_configuration = var.mfa_configuration
  tags              = merge(local.tags, { Feature = "auth", Service = "cognito-idp" })

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 8
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }
}

resource "aws_cognito_user_pool_client" "web" {
  name                          = "collectiq-web-${var.environment}"
  user_pool_id                  = aws_cognito_user_pool.users.id
  generate_secret               = false
  prevent_user_existence_errors = "ENABLED"
  explicit_auth_flows = concat(
    ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    var.allow_admin_password_auth ? ["ALLOW_ADMIN_USER_PASSWORD_AUTH"] : [],
  )
  access_token_validity  = 1
  id_token_validity      = 1
  refresh_token_validity = 30

  token_validity_units {
    access_token  = "hours"
    id_token      = "hours"
    refresh_token = "days"
  }

  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = [for origin in var.app_origins : "${origin}/auth/callback"]
  logout_urls                          = var.app_origins
}

# The hosted UI (seed 001 "hosted_ui_domain_prefix", and its smoke test "Verify Cognito Hosted UI
# accessibility"): https://collectiq-<environment>.auth.<region>.amazoncognito.com.
resource "aws_cognito_user_pool_domain" "hosted_ui" {
  domain       = "collectiq-${var.environment}"
  user_pool_id = aws_cognito_user_pool.users.id
}

resource "aws_apigatewayv2_api" "http" {
  name          = "${var.name_prefix}-api"
  protocol_type = "HTTP"
  description   = "CollectIQ HTTP API"
  tags          = merge(local.tags, { Feature = "api", Service = "apigateway" })

  cors_configuration {
    allow_origins = var.cors_allowed_origins
    allow_methods = ["GET", "POST", "DELETE", "OPTIONS"]
    allow_headers = ["authorization", "content-type"]
    # GET /cards names its next page in a `Link` header (backend/src/cards_list.rs) and a quota's 429
    # says when to retry in `Retry-After` (backend/src/http.rs): a browser's script reads only the
    # CORS-safelisted response headers unless more are exposed (scripts/check-infra checks the list).
    expose_headers = ["link", "retry-after"]
    max_age        = 3600
  }
}

resource "aws_apigatewayv2_authorizer" "cognito" {
  api_id           = aws_apigatewayv2_api.http.id
  name             = "cognito-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    audience = [aws_cognito_user_pool_client.web.id]
    issuer   = "https://cognito-idp.${local.region}.amazonaws.com/${aws_cognito_user_pool.users.id}"
  }
}

resource "aws_apigatewayv2_integration" "function" {
  for_each = local.route_functions

  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = module.api[each.key].alias_invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = min(30000, var.functions[each.key].timeout_s * 1000 + 1000)
}

resource "aws_apigatewayv2_route" "authorized" {
  for_each = { for key, r in local.routes : key => r if r.authorized }

  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.function[each.value.function].id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.cognito.id
}

resource "aws_apigatewayv2_route" "public" {
  #checkov:skip=CKV_AWS_309: GET /healthz is the unauthenticated liveness probe by design; it returns only status and time
  for_each = { for key, r in local.routes : key => r if !r.authorized }

  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.function[each.value.function].id}"
  authorization_type = "NONE"
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338: retention is a per-environment cost decision taken in the platform spec (dev 30 d, prod 90 d)
  name              = "/aws/apigateway/${var.name_prefix}-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
  tags              = merge(local.tags, { Feature = "api", Service = "logs" })
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true
  tags        = merge(local.tags, { Feature = "api", Service = "apigateway" })

  default_route_settings {
    throttling_burst_limit   = var.api_throttle.burst_limit
    throttling_rate_limit    = var.api_throttle.rate_limit
    detailed_metrics_enabled = true
  }

  # No caller field: API Gateway cannot hash, and $context.authorizer.claims.sub is the raw Cognito sub.
  # Each function's summary line carries the keyed userId pseudonym; join this requestId (API Gateway's)
  # to the summary line's correlation_id (its own requestId is Lambda's).
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
    })
  }
}

resource "aws_lambda_permission" "api" {
  for_each = local.route_functions

  statement_id   = "AllowHttpApi"
  action         = "lambda:InvokeFunction"
  function_name  = module.api[each.key].function_name
  qualifier      = module.api[each.key].alias_name
  principal      = "apigateway.amazonaws.com"
  source_arn     = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
  source_account = local.account_id
}
