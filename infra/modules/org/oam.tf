# Cross-account observability: this (monitoring) account holds the OAM sink; every member links its
# metrics, log groups and traces to it (infra/modules/org/member), so the organisation overview and
# alarm state across accounts are read here without assuming any role.

resource "aws_oam_sink" "organisation" {
  name = "${var.name_prefix}-observability"
  tags = local.tags
}

data "aws_iam_policy_document" "sink" {
  statement {
    actions   = ["oam:CreateLink", "oam:UpdateLink"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = var.member_account_ids
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "oam:ResourceTypes"
      values   = ["AWS::CloudWatch::Metric", "AWS::Logs::LogGroup", "AWS::XRay::Trace"]
    }
  }
}

resource "aws_oam_sink_policy" "organisation" {
  sink_identifier = aws_oam_sink.organisation.arn
  policy          = data.aws_iam_policy_document.sink.json
}
