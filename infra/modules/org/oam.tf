# Cross-account observability: this (monitoring) account holds the OAM sink; every member links its
# metrics, log groups and traces to it (infra/modules/org/member), so the organisation overview and
# alarm state across accounts are read here without assuming any role.

resource "aws_oam_sink" "organisation" {
  name = "${var.name_prefix}-observability"
  tags = merge(local.tags, { Service = "oam" })
}

data "aws_iam_policy_document" "sink" {
  # The listed members (the organisation spec's [[accounts]]).
  dynamic "statement" {
    for_each = length(var.member_account_ids) > 0 ? [var.member_account_ids] : []
    content {
      sid       = "ListedMembers"
      actions   = ["oam:CreateLink", "oam:UpdateLink"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = statement.value
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "oam:ResourceTypes"
        values   = local.oam_resource_types
      }
    }
  }

  # Discovered members ([discovery], organization_id set): any account of this organisation, and only
  # of this one (aws:PrincipalOrgID), as AWS's own organisation-wide sink policy example does.
  dynamic "statement" {
    for_each = var.organization_id == null ? [] : [var.organization_id]
    content {
      sid       = "OrganisationMembers"
      actions   = ["oam:CreateLink", "oam:UpdateLink"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = ["*"]
      }

      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalOrgID"
        values   = [statement.value]
      }

      condition {
        test     = "ForAllValues:StringEquals"
        variable = "oam:ResourceTypes"
        values   = local.oam_resource_types
      }
    }
  }
}

locals {
  # What members share: metrics, log groups and traces (the overview dashboard and alarm roll-up).
  oam_resource_types = ["AWS::CloudWatch::Metric", "AWS::Logs::LogGroup", "AWS::XRay::Trace"]
}

resource "aws_oam_sink_policy" "organisation" {
  sink_identifier = aws_oam_sink.organisation.arn
  policy          = data.aws_iam_policy_document.sink.json
}
