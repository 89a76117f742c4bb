"""Every validation answer of imagine / change / fetch, in the protocol's own form."""

from __future__ import annotations

import base64

import pytest

from tests.scenarios import data_url, png_bytes, run_to_end, submit_ok


def envelope(r):
    assert r.status == 200, (r.status, r.text)
    return r.json()


@pytest.mark.parametrize("body", [{}, {"prompt": None}, {"prompt": ""}, {"prompt": "   "}])
def test_imagine_blank_prompt(system, body):
    assert envelope(system.post("/mj/submit/imagine", body)) == {
        "code": 4,
        "description": "prompt不能为空",
        "result": None,
        "properties": {},
    }


@pytest.mark.parametrize(
    "images",
    [
        ["not a data url"],
        ["data:text/plain;base64,aGVsbG8="],
        ["data:image/png;base64," + base64.b64encode(b"not really a png").decode()],
    ],
)
def test_imagine_bad_base64(system, images):
    out = envelope(system.post("/mj/submit/imagine", {"prompt": "x", "base64Array": images}))
    assert (out["code"], out["description"]) == (4, "base64格式错误")


def test_imagine_legacy_base64_field_is_validated_too(system):
    out = envelope(system.post("/mj/submit/imagine", {"prompt": "x", "base64": "nope"}))
    assert (out["code"], out["description"]) == (4, "base64格式错误")


def test_imagine_image_over_the_limit(system, monkeypatch):
    monkeypatch.setenv("MJ_MAX_IMAGE_BYTES", "100")
    from mjproxy import config

    config.reset()
    big = data_url(png_bytes((300, 300)))
    out = envelope(system.post("/mj/submit/imagine", {"prompt": "x", "base64Array": [big]}))
    assert out["code"] == 4 and "过大" in out["description"]


def test_malformed_json_and_missing_body_are_http_400(system):
    for body in ("{not json", "", "[1,2]"):
        r = system.post("/mj/submit/imagine", body)
        assert r.status == 400
        assert r.json()["status"] == 400 and "code" not in r.json()


def test_unknown_fields_are_ignored_and_numbers_coerced(system):
    out = envelope(
        system.post("/mj/submit/imagine", {"prompt": "x", "botType": "MID_JOURNEY", "state": 7})
    )
    assert out["code"] == 1


@pytest.fixture
def finished(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    run_to_end(system, task_id)
    return task_id


@pytest.mark.parametrize(
    "body, code, description",
    [
        ({"action": "UPSCALE", "index": 1}, 4, "taskId不能为空"),
        ({"taskId": "  ", "action": "UPSCALE", "index": 1}, 4, "taskId不能为空"),
        ({"taskId": "X"}, 4, "action参数错误"),
        ({"taskId": "X", "action": None}, 4, "action参数错误"),
        ({"taskId": "X", "action": "DESCRIBE"}, 4, "action参数错误"),
        ({"taskId": "X", "action": "UPSCALE"}, 4, "index参数错误，应为1-4"),
        ({"taskId": "X", "action": "VARIATION", "index": 0}, 4, "index参数错误，应为1-4"),
        ({"taskId": "X", "action": "UPSCALE", "index": 5}, 4, "index参数错误，应为1-4"),
        (
            {"taskId": "1234567890123456", "action": "UPSCALE", "index": 1},
            3,
            "关联任务不存在或已失效",
        ),
        ({"taskId": "1234567890123456", "action": "REROLL"}, 3, "关联任务不存在或已失效"),
    ],
)
def test_change_validation_in_order(system, body, code, description):
    out = envelope(system.post("/mj/submit/change", body))
    assert (out["code"], out["description"], out["result"]) == (code, description, None)


def test_change_unknown_action_string_is_http_400(system):
    r = system.post("/mj/submit/change", {"taskId": "1", "action": "FOO", "index": 1})
    assert r.status == 400


def test_change_parent_not_finished(system):
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    out = envelope(
        system.post("/mj/submit/change", {"taskId": task_id, "action": "UPSCALE", "index": 1})
    )
    assert (out["code"], out["description"]) == (4, "关联任务状态错误")


def test_change_of_an_upscale_is_not_allowed(system, finished):
    up = submit_ok(
        system, "/mj/submit/change", {"taskId": finished, "action": "UPSCALE", "index": 2}
    )
    run_to_end(system, up)
    out = envelope(
        system.post("/mj/submit/change", {"taskId": up, "action": "VARIATION", "index": 1})
    )
    assert (out["code"], out["description"]) == (4, "关联任务不允许执行变化")


def test_change_accepts_a_numeric_task_id(system, finished):
    out = envelope(system.post("/mj/submit/change", {"taskId": int(finished), "action": "REROLL"}))
    assert out["code"] == 1
