import json

from mjproxy.api.errors import ProtocolError
from mjproxy.api.http import Request, endpoint


def event(path="/mj/submit/imagine", method="POST", body=None, headers=None):
    return {"path": path, "httpMethod": method, "headers": headers or {}, "body": body}


class Ctx:
    function_name = "t"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:t"
    aws_request_id = "r"


def test_header_names_are_case_insensitive():
    req = Request(event(headers={"MJ-API-SECRET": "s", "Content-Type": "application/json"}))
    assert req.headers["mj-api-secret"] == "s"


def test_speed_mode_prefix():
    assert Request(event("/mj-relax/mj/submit/imagine")).mode == "RELAX"
    assert Request(event("/mj/submit/imagine")).mode is None


def test_malformed_json_is_a_400_in_springs_shape_without_code():
    handler = endpoint(lambda r: r.json())
    out = handler(event(body="{oops"), Ctx())
    assert out["statusCode"] == 400
    body = json.loads(out["body"])
    assert body["status"] == 400 and body["error"] == "Bad Request" and "code" not in body


def test_business_errors_are_http_200_envelopes():
    def fail(_):
        raise ProtocolError(4, "prompt不能为空")

    out = endpoint(fail)(event(body="{}"), Ctx())
    assert out["statusCode"] == 200
    assert out["body"] == '{"code":4,"description":"prompt不能为空","result":null,"properties":{}}'


def test_unexpected_errors_are_500_not_a_crash():
    def boom(_):
        raise RuntimeError("x")

    out = endpoint(boom)(event(body="{}"), Ctx())
    assert out["statusCode"] == 500


def test_unknown_prefix_is_404():
    out = endpoint(lambda r: {})(event("/mj-slow/mj/submit/imagine", body="{}"), Ctx())
    assert out["statusCode"] == 404


def test_none_is_sent_as_json_null():
    out = endpoint(lambda r: None)(event("/mj/task/1/fetch", "GET"), Ctx())
    assert out["statusCode"] == 200 and out["body"] == "null"


def test_preflight_answer_lets_browsers_cache_it():
    # Without Access-Control-Max-Age a browser polling fetch sends an OPTIONS before every GET.
    out = endpoint(lambda r: None)(event("/mj/task/1/fetch", "OPTIONS"), Ctx())
    assert out["statusCode"] == 200
    assert out["headers"]["Access-Control-Max-Age"] == "600"


def test_the_first_request_runs_without_cyclic_gc_and_the_collector_comes_back(monkeypatch):
    import gc

    from mjproxy.api import http

    seen = []
    handler = http.endpoint(lambda request: seen.append(gc.isenabled()), authenticated=False)
    monkeypatch.setattr(http, "_first", True)
    event = {"path": "/mj/task/1/fetch", "httpMethod": "GET"}
    ctx = type("Ctx", (), {"function_name": "fn", "memory_limit_in_mb": 512,
                           "invoked_function_arn": "arn:aws:lambda:us-east-1:1:function:fn",
                           "aws_request_id": "req-1"})()  # fmt: skip
    assert handler(event, ctx)["statusCode"] == 200
    assert handler(event, ctx)["statusCode"] == 200
    assert seen == [False, True] and gc.isenabled()
