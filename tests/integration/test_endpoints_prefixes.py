"""Every new route under /mj-fast, /mj-relax and /mj-turbo: served like the root route, with the
speed mode recorded on tasks (properties.mode); behind the API secret when one is set."""

from __future__ import annotations

import pytest

from tests.scenarios import data_url, fetch, png_bytes, run_to_end, submit_ok

READS = [
    ("GET", "/mj/task/list", None),
    ("GET", "/mj/task/queue", None),
    ("POST", "/mj/task/list-by-condition", {"ids": ["1"]}),
    ("POST", "/mj/task/list-by-ids", {"ids": ["1"]}),
    ("GET", "/mj/account/list", None),
    ("GET", "/mj/account/local-1/fetch", None),
]


def blend_body():
    return {"base64Array": [data_url(png_bytes()), data_url(png_bytes(color=(0, 0, 200)))]}


@pytest.mark.parametrize("prefix", ["/mj-fast", "/mj-relax", "/mj-turbo"])
def test_describe_and_blend_record_the_mode(system, prefix):
    mode = prefix[len("/mj-") :].upper()
    describe = submit_ok(system, f"{prefix}/mj/submit/describe", {"base64": data_url(png_bytes())})
    blend = submit_ok(system, f"{prefix}/mj/submit/blend", blend_body())
    for task_id in (describe, blend):
        assert fetch(system, task_id)["properties"]["mode"] == mode
        assert run_to_end(system, task_id)["properties"]["mode"] == mode


def test_simple_change_under_a_prefix_records_its_mode(system):
    parent = submit_ok(system, "/mj/submit/imagine", {"prompt": "a hill"})
    assert "mode" not in fetch(system, parent)["properties"]
    run_to_end(system, parent)
    r = system.post("/mj-turbo/mj/submit/simple-change", {"content": f"{parent} U3"})
    child = run_to_end(system, r.json()["result"])
    assert child["properties"]["mode"] == "TURBO" and child["status"] == "SUCCESS"


def test_children_inherit_the_parents_mode(system):
    parent = submit_ok(system, "/mj-relax/mj/submit/blend", blend_body())
    run_to_end(system, parent)
    r = system.post("/mj/submit/simple-change", {"content": f"{parent} V1"})
    assert fetch(system, r.json()["result"])["properties"]["mode"] == "RELAX"


@pytest.mark.parametrize(("method", "path", "body"), READS)
@pytest.mark.parametrize("prefix", ["/mj-fast", "/mj-relax", "/mj-turbo"])
def test_reads_under_a_prefix_answer_as_the_root_route(system, prefix, method, path, body):
    submit_ok(system, "/mj/submit/imagine", {"prompt": "something"})
    root = system.request(method, path, body)
    prefixed = system.request(method, prefix + path, body)
    assert root.status == prefixed.status == 200
    assert root.json() == prefixed.json()


@pytest.mark.parametrize(
    "path",
    ["/mj-slow/mj/task/list", "/mj-/mj/task/queue", "/v1/mj/account/list"],
)
def test_unknown_prefixes_are_404(system, path):
    assert system.get(path).status == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    READS
    + [
        ("POST", "/mj/submit/simple-change", {"content": "1 U1"}),
        ("POST", "/mj/submit/describe", {"base64": ""}),
        ("POST", "/mj/submit/blend", {}),
        ("POST", "/mj-relax/mj/submit/blend", {}),
        ("GET", "/mj-relax/mj/task/list", None),
    ],
)
def test_every_new_route_requires_the_secret_when_set(system, monkeypatch, method, path, body):
    from mjproxy.api import auth

    monkeypatch.setenv("MJ_API_SECRET", "s3cret")
    auth.api_secret.cache_clear()
    r = system.request(method, path, body)
    assert (r.status, r.text) == (401, "")
    r = system.request(method, path, body, headers={"mj-api-secret": "s3cret"})
    assert r.status == 200


@pytest.mark.parametrize(
    "method,path",
    [("GET", "/no/such/route"), ("POST", "/mj/submit/nothing"), ("GET", "/mj/submit/imagine")],
)
def test_unknown_routes_reach_the_default_route_and_answer_springs_404(system, method, path):
    """The HTTP API sends what no route matches (a known path with another method too) to its
    $default route: NotFoundFunction's Spring error JSON, as the original answers."""
    r = system.request(method, path)
    assert r.status == 404
    body = r.json()
    assert (body["status"], body["error"], body["path"]) == (404, "Not Found", path)
    assert "timestamp" in body and r.headers["Access-Control-Allow-Origin"] == "*"
