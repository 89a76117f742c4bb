"""What a stack deployed with the defaults does, read from the transformed template (issue 15):
closed API, gateway answers, throttling, alarms for every dead-letter queue, dashboard, retention."""

from __future__ import annotations

import json
import re

import pytest

from mjproxy.api.http import Request
from tests import template_iam


@pytest.fixture(scope="module")
def doc() -> dict:
    return template_iam.transformed()


def api_body(doc) -> dict:
    return doc["Resources"]["MjApi"]["Properties"]["Body"]


def test_without_a_named_secret_the_stack_generates_one_and_every_function_gets_it(doc):
    gen = doc["Resources"]["GeneratedApiSecret"]
    assert gen["Condition"] == "GenerateApiSecret"
    assert gen["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    for name, res in doc["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function":
            env = res["Properties"]["Environment"]["Variables"]
            assert env["MJ_API_SECRET_ARN"] == {
                "Fn::If": ["GenerateApiSecret", {"Ref": "GeneratedApiSecret"}, ""]
            }, name
    outputs = doc["Outputs"]
    assert "get-secret-value" in outputs["ApiSecretCommand"]["Value"]["Fn::Sub"]


def test_the_api_declares_auth_so_sam_deploy_guided_asks_nothing(doc):
    """samcli/commands/deploy/auth_utils.py: a function's Api event counts as authenticated
    when its RestApiId names an AWS::Serverless::Api with an `Auth` property."""
    from cfnlint.decode import decode

    source, _ = decode(str(template_iam.ROOT / "template.yaml"))
    assert source["Resources"]["MjApi"]["Properties"].get("Auth")
    for name, res in source["Resources"].items():
        for event in (res.get("Properties", {}).get("Events") or {}).values():
            if event["Type"] == "Api":
                assert event["Properties"]["RestApiId"] == {"Ref": "MjApi"}, name
    policy = api_body(doc)["x-amazon-apigateway-policy"]["Statement"][0]
    # A list once CloudFormation resolves it (a plain comma string would be an invalid CIDR).
    assert "Fn::Split" in policy["Condition"]["IpAddress"]["aws:SourceIp"]


@pytest.mark.parametrize(
    "kind,status,error",
    [
        ("MISSING_AUTHENTICATION_TOKEN", "404", "Not Found"),
        ("THROTTLED", "429", "Too Many Requests"),
        ("REQUEST_TOO_LARGE", "413", "Payload Too Large"),
    ],
)
def test_gateway_refusals_are_json_with_cors_headers(doc, kind, status, error):
    response = api_body(doc)["x-amazon-apigateway-gateway-responses"][kind]
    assert response["statusCode"] == status
    body = response["responseTemplates"]["application/json"]
    parsed = json.loads(body.replace("$context.path", "/prod/nope"))
    assert parsed == {"status": int(status), "error": error, "path": "/prod/nope"}
    headers = response["responseParameters"]
    assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
    assert "mj-api-secret" in headers["gatewayresponse.header.Access-Control-Allow-Headers"]


def test_the_stage_is_throttled_traced_and_access_logged(doc):
    stage = doc["Resources"]["MjApiprodStage"]["Properties"]
    (settings,) = stage["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert stage["TracingEnabled"] is True
    fields = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "0", stage["AccessLogSetting"]["Format"]))
    assert {"requestId", "ip", "status", "path", "latency"} <= set(fields)


def test_preflights_are_cached(doc):
    options = api_body(doc)["paths"]["/mj/task/list"]["options"]
    params = options["x-amazon-apigateway-integration"]["responses"]["default"]
    assert "method.response.header.Access-Control-Max-Age" in params["responseParameters"]


def test_every_dead_letter_queue_has_an_alarm(doc):
    resources = doc["Resources"]
    dlqs = {
        res["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for res in resources.values()
        if res["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in res.get("Properties", {})
    }
    alarmed = {
        dim["Value"]["Fn::GetAtt"][0]
        for res in resources.values()
        if res["Type"] == "AWS::CloudWatch::Alarm" and res["Properties"]["Namespace"] == "AWS/SQS"
        for dim in res["Properties"]["Dimensions"]
    }
    assert dlqs and dlqs <= alarmed


def test_alarms_watch_the_metrics_the_code_emits(doc):
    """TasksTimedOut (sweeper) and AccountDisabled (store/instances.py) with the one
    dimension Powertools adds, service=mjproxy (tests/unit/test_observability.py)."""
    alarms = {
        res["Properties"]["MetricName"]: res["Properties"]
        for res in doc["Resources"].values()
        if res["Type"] == "AWS::CloudWatch::Alarm"
    }
    for metric in ("TasksTimedOut", "AccountDisabled"):
        assert alarms[metric]["Namespace"] == "mjproxy"
        assert alarms[metric]["Dimensions"] == [{"Name": "service", "Value": "mjproxy"}]
    assert alarms["Errors"]["Dimensions"][0]["Value"] == {"Ref": "WorkerFunction"}
    topic = [{"Fn::If": ["HasAlarmEmail", {"Ref": "AlarmTopic"}, {"Ref": "AWS::NoValue"}]}]
    assert all(a["AlarmActions"] == topic for a in alarms.values())


def test_the_dashboard_is_valid_json_and_names_the_alarms(doc):
    body = doc["Resources"]["MjDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    kinds = [w["type"] for w in dashboard["widgets"]]
    assert kinds.count("alarm") == 1 and "log" in kinds
    alarm_names = {n for n, r in doc["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert {f"${{{n}.Arn}}" for n in alarm_names} <= set(re.findall(r"\$\{\w+\.Arn\}", body))
    for metric in ("TasksFinished", "TimeToSuccess", "QueueWait"):
        assert metric in body


def test_functions_log_to_one_group_with_retention_and_are_traced(doc):
    group = doc["Resources"]["FunctionLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    for name, res in doc["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function":
            assert res["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": "FunctionLogGroup"}}
            assert res["Properties"]["TracingConfig"] == {"Mode": "Active"}, name


def test_data_survives_the_stack_and_the_bucket_refuses_plain_http(doc):
    resources = doc["Resources"]
    for name in ("TasksTable", "InstancesTable", "ImagesBucket"):
        assert resources[name]["DeletionPolicy"] == "Retain", name
        assert resources[name]["UpdateReplacePolicy"] == "Retain", name
    (deny,) = resources["ImagesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_images_outlive_tasks_and_stable_links_are_the_default(doc):
    params = doc["Parameters"]
    assert params["ImageUrlMode"]["Default"] == "stable"
    assert params["ImageRetentionDays"]["Default"] > params["TaskTtlDays"]["Default"]
    rules = doc["Resources"]["ImagesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {"Ref": "ImageRetentionDays"} in [r.get("ExpirationInDays") for r in rules]


def test_stable_links_name_the_cloudfront_host_when_it_forwards_one():
    event = {
        "headers": {"x-mj-public-host": "d111.cloudfront.net", "Host": "abc.execute-api"},
        "requestContext": {"domainName": "abc.execute-api.us-east-1.amazonaws.com",
                           "stage": "prod"},
    }
    assert Request(event).base_url == "https://d111.cloudfront.net"
    del event["headers"]["x-mj-public-host"]
    assert Request(event).base_url == "https://abc.execute-api.us-east-1.amazonaws.com/prod"
