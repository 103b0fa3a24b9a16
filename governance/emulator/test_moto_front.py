"""Tests for moto_front.py: CloudWatch rpcv2Cbor <-> awsJson through moto's real WSGI app.

No network: werkzeug's test Client calls the front in-process. Run with
``.venv/bin/python -m pytest governance/emulator``.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import struct
import subprocess
import sys
import time
import urllib.request
from typing import Any

import cbor2
import pytest
from werkzeug.test import Client

from moto_front import (
    CBOR_CONTENT_TYPE,
    MotoFront,
    cbor_to_json,
    encode_cbor,
    fix_trace_summaries,
    json_to_cbor,
)

CW_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20261121/us-east-1/monitoring/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=00"
)
XRAY_AUTH = CW_AUTH.replace("/monitoring/", "/xray/")
LOGS_AUTH = CW_AUTH.replace("/monitoring/", "/logs/")


@pytest.fixture(scope="module")
def front() -> MotoFront:
    return MotoFront()


@pytest.fixture()
def client(front: MotoFront) -> Client:
    c = Client(front)
    reset = c.post("/moto-api/reset")
    assert reset.status_code == 200
    return c


def cw(
    client: Client,
    op: str,
    payload: dict[str, Any] | None,
    *,
    gzipped: bool = False,
    auth: str | None = CW_AUTH,
) -> tuple[int, dict[str, str], Any]:
    """One CloudWatch rpcv2Cbor call the way aws-sdk-cloudwatch makes it."""
    body = b"" if payload is None else cbor2.dumps(payload)
    headers = {
        "Content-Type": CBOR_CONTENT_TYPE,
        "Accept": CBOR_CONTENT_TYPE,
        "smithy-protocol": "rpc-v2-cbor",
    }
    if auth:
        headers["Authorization"] = auth
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    response = client.post(
        f"/service/GraniteServiceVersion20100801/operation/{op}", data=body, headers=headers
    )
    raw = response.get_data()
    decoded = cbor2.loads(raw) if raw else None
    return response.status_code, dict(response.headers), decoded


def ts(seconds: float) -> cbor2.CBORTag:
    """A CBOR timestamp as the Rust SDK sends it: tag 1 over a double."""
    return cbor2.CBORTag(1, float(seconds))


def epoch(value: Any) -> float:
    """Epoch seconds of a decoded tag-1 timestamp (cbor2 decodes tag 1 to a datetime)."""
    return value.timestamp()


def minute(offset: int = 0) -> int:
    return (int(time.time()) // 60) * 60 + offset * 60


# --- health and pass-through ------------------------------------------------------------------


def test_health_endpoint_answers_ok(client: Client) -> None:
    response = client.get("/__front/health")
    assert response.status_code == 200
    assert response.get_data() == b"ok"


def test_non_cloudwatch_requests_reach_inner_app_untouched() -> None:
    seen: list[dict[str, Any]] = []

    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(
            {
                "path": environ["PATH_INFO"],
                "target": environ.get("HTTP_X_AMZ_TARGET"),
                "body": environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)),
            }
        )
        start_response("418 I'm a teapot", [("Content-Type", "x/y"), ("X-Echo", "1")])
        return [b"raw-bytes"]

    c = Client(MotoFront(inner))
    response = c.post(
        "/",
        data=b'{"logGroupName":"g"}',
        headers={"X-Amz-Target": "Logs_20140328.CreateLogGroup", "Content-Type": "x/y"},
    )
    assert response.status_code == 418
    assert response.get_data() == b"raw-bytes"
    assert response.headers["X-Echo"] == "1"
    assert seen == [
        {"path": "/", "target": "Logs_20140328.CreateLogGroup", "body": b'{"logGroupName":"g"}'}
    ]
    # CBOR for another service is not CloudWatch's business either.
    c.post("/service/SomethingElse/operation/Op", data=b"\xa0")
    assert seen[-1]["path"] == "/service/SomethingElse/operation/Op"


def test_logs_awsjson_passes_through_to_moto(client: Client) -> None:
    def logs(op: str, payload: dict[str, Any]) -> Any:
        response = client.post(
            "/",
            data=json.dumps(payload),
            headers={
                "X-Amz-Target": f"Logs_20140328.{op}",
                "Content-Type": "application/x-amz-json-1.1",
                "Authorization": LOGS_AUTH,
            },
        )
        assert response.status_code == 200, response.get_data()
        return json.loads(response.get_data() or b"{}")

    logs("CreateLogGroup", {"logGroupName": "/aws/lambda/dev-presign"})
    groups = logs("DescribeLogGroups", {})["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/dev-presign"]


def test_awsjson_operation_moto_lacks_is_a_typed_501(client: Client) -> None:
    # moto 5.2.5 has Cost Explorer but no GetCostForecast: without the front the server answers a bare
    # HTML 500 that no SDK can classify.
    response = client.post(
        "/",
        data=json.dumps(
            {
                "TimePeriod": {"Start": "2026-11-22", "End": "2026-12-01"},
                "Metric": "UNBLENDED_COST",
                "Granularity": "MONTHLY",
            }
        ),
        headers={
            "X-Amz-Target": "AWSInsightsIndexService.GetCostForecast",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": LOGS_AUTH.replace("/logs/", "/ce/"),
        },
    )
    assert response.status_code == 501, response.get_data()
    assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    error = json.loads(response.get_data())
    assert error["__type"] == "NotImplemented"
    assert "AWSInsightsIndexService.GetCostForecast" in error["message"]


def test_cloudwatch_awsjson_still_works(client: Client) -> None:
    response = client.post(
        "/",
        data=json.dumps({}),
        headers={
            "X-Amz-Target": "GraniteServiceVersion20100801.ListDashboards",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": CW_AUTH,
        },
    )
    assert response.status_code == 200
    assert json.loads(response.get_data()) == {"DashboardEntries": []}


# --- metrics ----------------------------------------------------------------------------------


def test_put_metric_data_then_get_metric_data_sum_round_trips(client: Client) -> None:
    t0, t1, t2 = minute(-3), minute(-2), minute(-1)
    dims = [{"Name": "FunctionName", "Value": "dev-presign"}]
    status, headers, body = cw(
        client,
        "PutMetricData",
        {
            "Namespace": "CollectIQ",
            "MetricData": [
                {
                    "MetricName": "CardsValued",
                    "Dimensions": dims,
                    "Timestamp": ts(t0),
                    "Value": 2.0,
                },
                {
                    "MetricName": "CardsValued",
                    "Dimensions": dims,
                    "Timestamp": ts(t1),
                    "Values": [1.0, 3.0],
                    "Counts": [2.0, 1.0],
                },
                {
                    "MetricName": "CardsValued",
                    "Dimensions": dims,
                    "Timestamp": ts(t2),
                    "StatisticValues": {
                        "SampleCount": 4.0,
                        "Sum": 10.0,
                        "Minimum": 1.0,
                        "Maximum": 4.0,
                    },
                    "Unit": "Count",
                },
            ],
        },
    )
    assert status == 200
    assert body is None, "PutMetricData has Unit output: no body"
    assert "Content-Type" not in headers
    assert headers["smithy-protocol"] == "rpc-v2-cbor"

    status, headers, body = cw(
        client,
        "GetMetricData",
        {
            "MetricDataQueries": [
                {
                    "Id": "cards",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "CollectIQ",
                            "MetricName": "CardsValued",
                            "Dimensions": dims,
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
            ],
            "StartTime": ts(t0 - 60),
            "EndTime": ts(t2 + 60),
        },
    )
    assert status == 200, body
    assert headers["Content-Type"] == CBOR_CONTENT_TYPE
    (result,) = body["MetricDataResults"]
    assert result["Id"] == "cards"
    assert result["StatusCode"] == "Complete"
    got = dict(zip([epoch(t) for t in result["Timestamps"]], result["Values"]))
    # Value 2; Values*Counts = 1*2 + 3*1 = 5; StatisticValues Sum = 10.
    assert got == {float(t0): 2.0, float(t1): 5.0, float(t2): 10.0}
    assert all(isinstance(v, float) for v in result["Values"])


def test_raw_wire_format_of_timestamps_and_doubles(client: Client) -> None:
    t0 = minute(-1)
    cw(
        client,
        "PutMetricData",
        {"Namespace": "N", "MetricData": [{"MetricName": "M", "Timestamp": ts(t0), "Value": 3}]},
    )
    response = client.post(
        "/service/GraniteServiceVersion20100801/operation/GetMetricData",
        data=cbor2.dumps(
            {
                "MetricDataQueries": [
                    {
                        "Id": "m",
                        "MetricStat": {
                            "Metric": {"Namespace": "N", "MetricName": "M"},
                            "Period": 60,
                            "Stat": "Sum",
                        },
                    }
                ],
                "StartTime": ts(t0 - 60),
                "EndTime": ts(t0 + 60),
            }
        ),
        headers={"Content-Type": CBOR_CONTENT_TYPE, "Authorization": CW_AUTH},
    )
    raw = response.get_data()
    # tag 1 (0xc1) followed by a 64-bit float (0xfb) holding the epoch seconds.
    assert b"\xc1\xfb" + struct.pack(">d", float(t0)) in raw
    # 3 (sent as an integer) comes back as the double 3.0.
    assert b"\xfb" + struct.pack(">d", 3.0) in raw


def test_gzipped_put_metric_data_with_1200_datums(client: Client) -> None:
    t0 = minute(-2)
    datums = [
        {
            "MetricName": "InputTokenCount",
            "Dimensions": [{"Name": "ModelId", "Value": "anthropic.claude-3-5-sonnet"}],
            "Timestamp": ts(t0),
            "Value": float(i % 10),
        }
        for i in range(1200)
    ]
    payload = {"Namespace": "AWS/Bedrock", "MetricData": datums}
    assert len(cbor2.dumps(payload)) > 10 * 1024
    status, _, body = cw(client, "PutMetricData", payload, gzipped=True)
    assert status == 200, body
    status, _, body = cw(
        client,
        "GetMetricData",
        {
            "MetricDataQueries": [
                {
                    "Id": "tokens",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/Bedrock",
                            "MetricName": "InputTokenCount",
                            "Dimensions": [
                                {"Name": "ModelId", "Value": "anthropic.claude-3-5-sonnet"}
                            ],
                        },
                        "Period": 300,
                        "Stat": "Sum",
                    },
                }
            ],
            "StartTime": ts(t0 - 600),
            "EndTime": ts(t0 + 600),
        },
    )
    assert status == 200
    (result,) = body["MetricDataResults"]
    assert sum(result["Values"]) == sum(float(i % 10) for i in range(1200))


def test_list_metrics_converts_nested_shapes(client: Client) -> None:
    cw(
        client,
        "PutMetricData",
        {
            "Namespace": "AWS/Lambda",
            "MetricData": [
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "FunctionName", "Value": f"fn-{i}"}],
                    "Value": 1.0,
                }
                for i in range(3)
            ],
        },
    )
    status, _, body = cw(client, "ListMetrics", {"Namespace": "AWS/Lambda"})
    assert status == 200
    names = sorted(m["Dimensions"][0]["Value"] for m in body["Metrics"])
    assert names == ["fn-0", "fn-1", "fn-2"]


# --- dashboards -------------------------------------------------------------------------------


def test_dashboard_put_get_list_delete(client: Client) -> None:
    dashboard = json.dumps({"widgets": [{"type": "text", "properties": {"markdown": "hi"}}]})
    status, _, body = cw(
        client, "PutDashboard", {"DashboardName": "collectiq-ops", "DashboardBody": dashboard}
    )
    assert status == 200
    assert body == {"DashboardValidationMessages": []}

    status, _, body = cw(client, "GetDashboard", {"DashboardName": "collectiq-ops"})
    assert status == 200
    assert body["DashboardName"] == "collectiq-ops"
    assert body["DashboardBody"] == dashboard
    assert body["DashboardArn"].endswith(":dashboard/collectiq-ops")

    status, _, body = cw(client, "ListDashboards", {})
    assert status == 200
    (entry,) = body["DashboardEntries"]
    assert entry["DashboardName"] == "collectiq-ops"
    assert abs(epoch(entry["LastModified"]) - time.time()) < 120
    assert isinstance(entry["Size"], int)

    # DeleteDashboardsOutput is an empty structure (not Unit): an empty CBOR map.
    status, headers, body = cw(client, "DeleteDashboards", {"DashboardNames": ["collectiq-ops"]})
    assert (status, body) == (200, {})
    assert headers["Content-Type"] == CBOR_CONTENT_TYPE
    status, _, body = cw(client, "ListDashboards", {})
    assert body == {"DashboardEntries": []}


def test_get_missing_dashboard_is_resource_not_found(client: Client) -> None:
    status, headers, body = cw(client, "GetDashboard", {"DashboardName": "nope"})
    assert status == 404
    assert body["__type"] == "ResourceNotFound"
    assert body["message"] == "Dashboard does not exist"
    assert headers["x-amzn-query-error"] == "ResourceNotFound;Sender"
    assert headers["Content-Type"] == CBOR_CONTENT_TYPE
    assert headers["smithy-protocol"] == "rpc-v2-cbor"


def test_invalid_dashboard_body_is_invalid_parameter_input(client: Client) -> None:
    status, _, body = cw(client, "PutDashboard", {"DashboardName": "d", "DashboardBody": "{oops"})
    assert status == 400
    assert body["__type"] == "InvalidParameterInput"
    assert "invalid JSON" in body["message"]


# --- alarms -----------------------------------------------------------------------------------


def put_alarm(client: Client, name: str, **extra: Any) -> None:
    payload = {
        "AlarmName": name,
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": "dev-presign"}],
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 5,
        "ComparisonOperator": "GreaterThanThreshold",
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops-critical"],
    }
    payload.update(extra)
    status, _, body = cw(client, "PutMetricAlarm", payload)
    assert (status, body) == (200, None)


def test_put_metric_alarm_then_describe_alarms(client: Client) -> None:
    before = time.time()
    put_alarm(client, "dev-presign-errors")
    status, _, body = cw(client, "DescribeAlarms", {"AlarmNames": ["dev-presign-errors"]})
    assert status == 200
    (alarm,) = body["MetricAlarms"]
    assert alarm["AlarmName"] == "dev-presign-errors"
    assert alarm["Threshold"] == 5.0 and isinstance(alarm["Threshold"], float)
    assert alarm["Period"] == 300 and isinstance(alarm["Period"], int)
    assert alarm["ActionsEnabled"] is True
    assert alarm["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:ops-critical"]
    # cbor2 turns tag 1 into a datetime: the front sent a tag-1 timestamp.
    assert abs(epoch(alarm["StateUpdatedTimestamp"]) - before) < 60
    assert abs(epoch(alarm["AlarmConfigurationUpdatedTimestamp"]) - before) < 60


def test_metric_math_and_extended_statistic_alarms(client: Client) -> None:
    put_alarm(
        client,
        "p95-latency",
        Statistic=None,
        ExtendedStatistic="p95",
        MetricName="Duration",
    )
    status, _, _ = cw(
        client,
        "PutMetricAlarm",
        {
            "AlarmName": "error-rate",
            "EvaluationPeriods": 1,
            "Threshold": 0.05,
            "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": [
                {
                    "Id": "errors",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
                        "Period": 300,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                },
                {
                    "Id": "calls",
                    "MetricStat": {
                        "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"},
                        "Period": 300,
                        "Stat": "Sum",
                    },
                    "ReturnData": False,
                },
                {"Id": "rate", "Expression": "errors / calls", "ReturnData": True},
            ],
        },
    )
    assert status == 200
    status, _, body = cw(client, "DescribeAlarms", {})
    alarms = {a["AlarmName"]: a for a in body["MetricAlarms"]}
    assert alarms["p95-latency"]["ExtendedStatistic"] == "p95"
    assert "Statistic" not in alarms["p95-latency"]
    rate = [m for m in alarms["error-rate"]["Metrics"] if m["Id"] == "rate"]
    assert rate == [{"Id": "rate", "Expression": "errors / calls", "ReturnData": True}]


def test_set_alarm_state_and_describe_for_metric(client: Client) -> None:
    put_alarm(client, "dev-presign-errors")
    status, _, body = cw(
        client,
        "SetAlarmState",
        {"AlarmName": "dev-presign-errors", "StateValue": "ALARM", "StateReason": "seeded"},
    )
    assert (status, body) == (200, None)
    status, _, body = cw(client, "DescribeAlarms", {"StateValue": "ALARM"})
    assert [a["AlarmName"] for a in body["MetricAlarms"]] == ["dev-presign-errors"]
    assert body["MetricAlarms"][0]["StateReason"] == "seeded"

    status, _, body = cw(
        client,
        "DescribeAlarmsForMetric",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": "dev-presign"}],
        },
    )
    assert status == 200
    assert [a["AlarmName"] for a in body["MetricAlarms"]] == ["dev-presign-errors"]

    status, headers, body = cw(
        client, "SetAlarmState", {"AlarmName": "missing", "StateValue": "OK", "StateReason": "x"}
    )
    assert status == 404
    assert body["__type"] == "ResourceNotFound"


# --- what moto does not do --------------------------------------------------------------------


def test_unimplemented_operation_is_501_naming_it(client: Client) -> None:
    status, headers, body = cw(client, "DescribeAlarmHistory", {"AlarmName": "x"})
    assert status == 501
    assert body["__type"] == "NotImplemented"
    assert "DescribeAlarmHistory" in body["message"]
    assert headers["smithy-protocol"] == "rpc-v2-cbor"


def test_moto_crash_is_500_internal_failure(client: Client) -> None:
    t0 = minute(-1)
    datum = {"MetricName": "M", "Value": 1.0}
    cw(client, "PutMetricData", {"Namespace": "N", "MetricData": [datum]})
    status, _, body = cw(
        client,
        "GetMetricData",
        {
            "MetricDataQueries": [
                {
                    "Id": "p",
                    "MetricStat": {
                        "Metric": {"Namespace": "N", "MetricName": "M"},
                        "Period": 60,
                        "Stat": "p95",
                    },
                }
            ],
            "StartTime": ts(t0 - 600),
            "EndTime": ts(t0 + 600),
        },
    )
    assert status == 500
    assert body["__type"] == "InternalFailure"
    assert "GetMetricData" in body["message"]


def test_unknown_operation_and_bad_body(client: Client) -> None:
    status, _, body = cw(client, "NoSuchOperation", {})
    assert status == 404
    assert body["__type"] == "UnknownOperationException"
    response = client.post(
        "/service/GraniteServiceVersion20100801/operation/ListDashboards",
        data=b"\xff\xfe",
        headers={"Content-Type": CBOR_CONTENT_TYPE},
    )
    assert response.status_code == 400
    assert cbor2.loads(response.get_data())["__type"] == "SerializationException"


def test_request_without_authorization_defaults_to_us_east_1(client: Client) -> None:
    status, _, body = cw(client, "ListDashboards", None, auth=None)
    assert (status, body) == (200, {"DashboardEntries": []})


# --- X-Ray ------------------------------------------------------------------------------------


def test_xray_trace_summaries_users_become_a_list(client: Client) -> None:
    now = time.time()
    segment = {
        "name": "dev-presign",
        "id": "70de5b6f19ff9a0a",
        "trace_id": "1-" + format(int(now), "x") + "-" + "a" * 24,
        "start_time": now - 2,
        "end_time": now - 1,
    }
    response = client.post(
        "/TraceSegments",
        data=json.dumps({"TraceSegmentDocuments": [json.dumps(segment)]}),
        headers={"Content-Type": "application/json", "Authorization": XRAY_AUTH},
    )
    assert response.status_code == 200, response.get_data()
    response = client.post(
        "/TraceSummaries",
        data=json.dumps({"StartTime": now - 60, "EndTime": now + 60}),
        headers={"Content-Type": "application/json", "Authorization": XRAY_AUTH},
    )
    assert response.status_code == 200
    document = json.loads(response.get_data())
    (summary,) = document["TraceSummaries"]
    assert summary["Users"] == []
    assert summary["Id"] == segment["trace_id"]
    assert int(response.headers["Content-Length"]) == len(response.get_data())


def test_fix_trace_summaries_only_touches_users() -> None:
    doc = {"TraceSummaries": [{"Users": {}, "Annotations": {}, "Http": {}}], "Other": {}}
    assert fix_trace_summaries(doc) is True
    assert doc == {"TraceSummaries": [{"Users": [], "Annotations": {}, "Http": {}}], "Other": {}}
    assert fix_trace_summaries({"TraceSummaries": [{"Users": []}]}) is False


# --- conversion units -------------------------------------------------------------------------


def test_conversions_follow_the_model(front: MotoFront) -> None:
    model = front.cloudwatch
    shape = model.operation_model("GetMetricWidgetImage").output_shape
    assert json_to_cbor({"MetricWidgetImage": "aGVsbG8=", "Extra": 1}, shape) == {
        "MetricWidgetImage": b"hello"
    }
    shape = model.operation_model("DescribeAlarms").output_shape
    out = json_to_cbor(
        {
            "MetricAlarms": [
                {
                    "AlarmName": "a",
                    "StateUpdatedTimestamp": "2026-11-21T10:00:00.500Z",
                    "Threshold": 1,
                    "Period": 60.0,
                    "Unit": None,
                }
            ]
        },
        shape,
    )
    (alarm,) = out["MetricAlarms"]
    assert alarm["StateUpdatedTimestamp"] == cbor2.CBORTag(1, 1795255200.5)
    assert alarm["Threshold"] == 1.0 and isinstance(alarm["Threshold"], float)
    assert alarm["Period"] == 60 and isinstance(alarm["Period"], int)
    assert "Unit" not in alarm

    shape = model.operation_model("PutMetricData").input_shape
    decoded = cbor2.loads(
        cbor2.dumps(
            {
                "Namespace": "N",
                "MetricData": [{"MetricName": "M", "Timestamp": ts(1795255200.25), "Value": 1.0}],
                "EntityMetricData": None,
            }
        )
    )
    assert cbor_to_json(decoded, shape) == {
        "Namespace": "N",
        "MetricData": [{"MetricName": "M", "Timestamp": 1795255200.25, "Value": 1.0}],
    }


def test_non_finite_doubles_are_64_bit() -> None:
    raw = encode_cbor({"v": json_to_cbor_double(math.inf)})
    assert raw == b"\xa1\x61v\xfb" + struct.pack(">d", math.inf)
    assert cbor2.loads(raw) == {"v": math.inf}


def json_to_cbor_double(value: float) -> Any:
    class DoubleShape:
        type_name = "double"

    return json_to_cbor(value, DoubleShape())  # type: ignore[arg-type]


def test_corrupt_gzip_body_is_a_client_error(client: Client) -> None:
    response = client.post(
        "/service/GraniteServiceVersion20100801/operation/PutMetricData",
        data=b"\x1f\x8b not really gzip",
        headers={"Content-Type": CBOR_CONTENT_TYPE, "Content-Encoding": "gzip"},
    )
    assert response.status_code == 400
    assert cbor2.loads(response.get_data())["__type"] == "SerializationException"


def test_html_500_from_moto_becomes_501_not_implemented() -> None:
    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "text/html")])
        return [b"<!doctype html><title>500 Internal Server Error</title>"]

    c = Client(MotoFront(inner))
    status, headers, body = cw(c, "PutAnomalyDetector", {})
    assert status == 501
    assert body["__type"] == "NotImplemented"
    assert "PutAnomalyDetector" in body["message"] and "HTTP 500" in body["message"]
    assert headers["x-amzn-query-error"] == "NotImplemented;Receiver"


def test_json_error_without_query_header_maps_shape_to_query_code() -> None:
    def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 NOT FOUND", [("Content-Type", "application/x-amz-json-1.0")])
        error = {"__type": "com.amazonaws.cloudwatch#DashboardNotFoundError", "message": "gone"}
        return [json.dumps(error).encode()]

    c = Client(MotoFront(inner))
    status, _, body = cw(c, "GetDashboard", {"DashboardName": "x"})
    assert status == 404
    assert body == {"__type": "ResourceNotFound", "message": "gone"}


# --- the command line (the one test that uses a real loopback socket) -------------------------


def test_cli_announces_port_serves_and_exits_on_stdin_eof() -> None:
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "moto_front.py")
    proc = subprocess.Popen(
        [sys.executable, script, "--port", "0", "--quiet", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("moto_front listening on http://127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        assert port > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__front/health", timeout=10) as r:
            assert (r.status, r.read()) == (200, b"ok")
        path = "/service/GraniteServiceVersion20100801/operation/ListDashboards"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}",
            data=cbor2.dumps({}),
            headers={"Content-Type": CBOR_CONTENT_TYPE, "Authorization": CW_AUTH},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.headers["smithy-protocol"] == "rpc-v2-cbor"
            assert cbor2.loads(r.read()) == {"DashboardEntries": []}
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
