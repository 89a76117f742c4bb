"""Hostile input gets the protocol's answers, never a 5xx (issue 14): deep JSON, invalid text,
fields past their documented limits (docs/limits.md), corrupt images and decompression bombs.
These run through api/http.py exactly as on AWS (API Gateway proxy events)."""

from __future__ import annotations

import io
import json
import random

import pytest
from PIL import Image

from tests.scenarios import data_url, png_bytes

POST_PATHS = [
    "/mj/submit/imagine", "/mj/submit/change", "/mj/submit/simple-change",
    "/mj/submit/describe", "/mj/submit/blend", "/mj/task/list-by-condition",
]  # fmt: skip


def envelope(r):
    assert r.status == 200, (r.status, r.text)
    return r.json()


@pytest.mark.parametrize("depth", [33, 200, 100_000])
def test_deeply_nested_json_is_400(system, depth):
    body = '{"prompt":' + "[" * depth + "]" * depth + "}"
    assert system.post("/mj/submit/imagine", body).status == 400


@pytest.mark.parametrize(
    "raw",
    [
        '{"prompt":"a cat \\ud800"}',  # a lone surrogate, escaped
        '{"prompt":"a cat", "state":"\\udfff"}',
        b'{"prompt":"a cat \xff\xfe"}',  # not UTF-8 at all
    ],
)
def test_text_that_is_not_unicode_is_400(system, raw):
    assert system.post("/mj/submit/imagine", raw).status == 400


@pytest.mark.parametrize(
    ("field", "limit"), [("prompt", 8192), ("state", 4096), ("notifyHook", 2048)]
)
def test_fields_past_their_limit_get_code_4_with_the_limit(system, field, limit):
    body = {"prompt": "a cat", field: "x" * (limit + 1)}
    out = envelope(system.post("/mj/submit/imagine", body))
    assert (out["code"], out["description"]) == (4, f"{field}过长，最多{limit}个字符")
    body[field] = ("https://example.com/" if field == "notifyHook" else "") + "y" * (limit - 30)
    assert envelope(system.post("/mj/submit/imagine", body))["code"] == 1


def test_a_corrupt_image_is_code_4_at_submit(system):
    good = png_bytes()
    truncated = good[: len(good) // 2]
    out = envelope(system.post("/mj/submit/imagine",
                               {"prompt": "x", "base64Array": [data_url(truncated)]}))  # fmt: skip
    assert (out["code"], out["description"]) == (4, "base64图片无法解码")


def test_a_decompression_bomb_is_code_4_at_submit(system):
    buf = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buf, format="PNG")  # 64 MP in a few kilobytes
    assert len(buf.getvalue()) < 100_000
    for path, body in [
        ("/mj/submit/imagine", {"prompt": "x", "base64Array": [data_url(buf.getvalue())]}),
        ("/mj/submit/describe", {"base64": data_url(buf.getvalue())}),
    ]:
        out = envelope(system.post(path, body))
        assert (out["code"], out["description"]) == (4, "base64图片尺寸过大，最多25百万像素")


def _mutations(rng: random.Random) -> list[str | bytes]:
    samples: list[str | bytes] = [
        "", "null", "[]", "1", '"x"', "{", '{"prompt":', "{}" * 1000, '{"a":' * 50 + "1" + "}" * 50,
        '{"prompt":1e999999}', '{"prompt":-0}', '{"ids":' + json.dumps(["1"] * 5000) + "}",
        '{"taskId":"' + "9" * 5000 + '","action":"UPSCALE","index":1}',
        '{"content":"' + "1" * 3000 + ' U1"}', '{"base64Array":[' + '"data:image/png;base64,"' * 1 + "]}",
        '{"dimensions":"HUGE"}', '{"action":"UPSCALE","index":99999999999999999999}',
        '{"ids":[{"$gt":""}]}', '{"prompt":"\\u0000"}', '{"state":' + json.dumps({"x": [1]}) + "}",
    ]  # fmt: skip
    fields = ["prompt", "state", "notifyHook", "taskId", "action", "index", "content", "ids",
              "base64", "base64Array", "dimensions"]  # fmt: skip
    values = [None, True, -1, 2**70, 3.5, "", "\t", "x" * 9000, [], {}, ["x"], [None], "U1",
              "UPSCALE", "http://169.254.169.254/", "data:image/png;base64,AAAA"]  # fmt: skip
    for _ in range(120):
        body = {f: rng.choice(values) for f in rng.sample(fields, rng.randint(1, 4))}
        samples.append(json.dumps(body))
    samples += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) for _ in range(20)]
    return samples


def test_fuzzed_bodies_never_get_a_5xx(system):
    rng = random.Random(14)  # fixed: a failure can be replayed
    for body in _mutations(rng):
        for path in POST_PATHS:
            r = system.post(path, body)
            assert r.status < 500, (path, body[:200], r.status, r.text[:300])
            if r.text:
                json.loads(r.text)  # JSON, never a page


@pytest.mark.parametrize("task_id", ["9" * 5000, "%00", "\u2603" * 10, "../../etc"])
def test_odd_task_ids_in_the_path_never_get_a_5xx(system, task_id):
    for path in (f"/mj/task/{task_id}/fetch", f"/mj/task/{task_id}/image-seed"):
        r = system.get(path)
        assert r.status < 500, (path, r.status, r.text[:200])
