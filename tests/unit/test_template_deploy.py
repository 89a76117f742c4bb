"""What a stack deployed with the defaults does, read from the transformed template (issue 15):
closed API, the HTTP API's routes and answers (issue 17), throttling, alarms for every
dead-letter queue, dashboard, retention."""

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


def test_every_route_is_an_http_api_route_with_the_rest_apis_event(doc):
    """The HTTP API (issue 17: $1.00 per million requests, the REST API $3.50) hands the functions
    payload format 1.0, the event they read behind the REST API; no function keeps an `Api`
    event, the only kind `sam deploy --guided` asks an authorization question about
    (samcli/commands/deploy/auth_utils.py)."""
    from cfnlint.decode import decode

    source, _ = decode(str(template_iam.ROOT / "template.yaml"))
    assert source["Resources"]["MjApi"]["Type"] == "AWS::Serverless::HttpApi"
    routes = 0
    for name, res in source["Resources"].items():
        for event in (res.get("Properties", {}).get("Events") or {}).values():
            assert event["Type"] != "Api", name
            if event["Type"] == "HttpApi":
                routes += 1
                assert event["Properties"]["ApiId"] == {"Ref": "MjApi"}, name
                assert event["Properties"]["PayloadFormatVersion"] == "1.0", name
    assert routes > 50
    paths = api_body(doc)["paths"]
    for path, methods in paths.items():
        for method in methods.values():
            assert method["x-amazon-apigateway-integration"]["payloadFormatVersion"] == "1.0", path


def test_unknown_routes_answer_the_protocols_404(doc):
    """What the REST API's MISSING_AUTHENTICATION_TOKEN gateway response did: the $default route
    goes to NotFoundFunction, which answers Spring's error JSON with CORS headers."""
    default = api_body(doc)["paths"]["$default"]["x-amazon-apigateway-any-method"]
    assert "NotFoundFunction" in json.dumps(default["x-amazon-apigateway-integration"]["uri"])
    from mjproxy.local.runner import invoke, load_handler
    from mjproxy.local.template import Template

    (fn,) = [f for f in Template(template_iam.ROOT / "template.yaml").functions()
             if f.name == "NotFoundFunction"]  # fmt: skip
    out = invoke(fn, load_handler(fn), {"httpMethod": "GET", "path": "/mj/nope", "headers": {},
                 "requestContext": {"identity": {"sourceIp": "198.51.100.7"}}})  # fmt: skip
    assert out["statusCode"] == 404
    body = json.loads(out["body"])
    assert (body["status"], body["error"], body["path"]) == (404, "Not Found", "/mj/nope")
    assert out["headers"]["Access-Control-Allow-Origin"] == "*"


def test_the_api_is_throttled_access_logged_and_answers_preflights_with_max_age(doc):
    stage = doc["Resources"]["MjApiApiGatewayDefaultStage"]["Properties"]
    assert stage["StageName"] == "$default"
    settings = stage["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    fields = json.loads(
        re.sub(r"\$context\.[A-Za-z.]+", "0", stage["AccessLogSettings"]["Format"])
    )
    assert {"requestId", "ip", "status", "path", "latency"} <= set(fields)
    cors = api_body(doc)["x-amazon-apigateway-cors"]
    # The transform substitutes the parameter (here its default, 600 s).
    assert cors["maxAge"] == 600
    assert "mj-api-secret" in cors["allowHeaders"] and cors["allowOrigins"] == ["*"]


def test_the_source_address_list_reaches_every_function(doc):
    """The REST API's resource policy is now checked in the functions (api/sources.py)."""
    for name, res in doc["Resources"].items():
        if res["Type"] == "AWS::Lambda::Function":
            env = res["Properties"].get("Environment", {}).get("Variables", {})
            if "MJ_API_SECRET_ARN" in env:
                assert env["MJ_ALLOWED_SOURCE_CIDRS"] == {"Ref": "ApiAllowedSourceCidrs"}, name


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
    every = [
        res["Properties"]
        for res in doc["Resources"].values()
        if res["Type"] == "AWS::CloudWatch::Alarm"
    ]
    alarms = {a["MetricName"]: a for a in every}
    for metric in ("TasksTimedOut", "AccountDisabled"):
        assert alarms[metric]["Namespace"] == "mjproxy"
        assert alarms[metric]["Dimensions"] == [{"Name": "service", "Value": "mjproxy"}]
    # Both workers' failed invocations (a crash, a timeout, a waiting worker out of memory).
    errors = [a["Dimensions"][0]["Value"] for a in every if a["MetricName"] == "Errors"]
    assert {"Ref": "WorkerFunction"} in errors and {"Ref": "WaitWorkerFunction"} in errors
    topic = [{"Fn::If": ["HasAlarmEmail", {"Ref": "AlarmTopic"}, {"Ref": "AWS::NoValue"}]}]
    assert all(a["AlarmActions"] == topic for a in every)


def test_the_dashboard_is_valid_json_and_names_the_alarms(doc):
    body = doc["Resources"]["MjDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", body))
    kinds = [w["type"] for w in dashboard["widgets"]]
    assert kinds.count("alarm") == 1 and "log" in kinds
    # A conditional alarm (the waiting worker's) cannot be named by the unconditional dashboard.
    alarm_names = {
        n
        for n, r in doc["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm" and "Condition" not in r
    }
    assert {f"${{{n}.Arn}}" for n in alarm_names} <= set(re.findall(r"\$\{\w+\.Arn\}", body))
    for metric in ("TasksFinished", "TimeToSuccess", "QueueWait"):
        assert metric in body
    # The HTTP API's metrics are keyed by its id (4xx/5xx, not the REST API's 4XXError).
    assert '"AWS/ApiGateway","Count","ApiId","${MjApi}"' in body and '"5xx"' in body


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
                           "stage": "$default"},
    }
    assert Request(event).base_url == "https://d111.cloudfront.net"
    del event["headers"]["x-mj-public-host"]
    # The HTTP API's $default stage has no path of its own; a named stage would.
    assert Request(event).base_url == "https://abc.execute-api.us-east-1.amazonaws.com"
    event["requestContext"]["stage"] = "prod"
    assert Request(event).base_url == "https://abc.execute-api.us-east-1.amazonaws.com/prod"
