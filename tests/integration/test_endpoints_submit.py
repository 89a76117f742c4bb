"""simple-change, describe and blend on moto in-process: every description string, the happy
paths to SUCCESS, and U/V/R on blend results."""

from __future__ import annotations

import io
import os
import re

import pytest
from PIL import Image

from tests.scenarios import data_url, fetch, png_bytes, run_to_end, submit_ok

RED = (220, 30, 30)
BLUE = (30, 40, 220)


def envelope(r) -> dict:
    assert r.status == 200, r.text
    return r.json()


def code_and_description(r) -> tuple[int, str]:
    out = envelope(r)
    assert out["result"] is None and out["properties"] == {}
    return out["code"], out["description"]


def image_of(url: str) -> Image.Image:
    """The image behind a presigned URL, read from (moto's) S3: virtual-hosted or path style."""
    from urllib.parse import unquote, urlsplit

    import boto3

    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    if ".s3." in parts.netloc and not parts.netloc.startswith("s3."):
        bucket, key = parts.netloc.split(".s3.")[0], path
    else:
        bucket, key = path.split("/", 1)
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    img = Image.open(io.BytesIO(body))
    img.load()
    return img


def jpeg_bytes(size=(48, 32), color=(40, 160, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def finished(system) -> str:
    task_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a lighthouse"})
    assert run_to_end(system, task_id)["status"] == "SUCCESS"
    return task_id


# ---- simple-change ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "description"),
    [
        ("U1", "U1"),
        ("u2", "U2"),
        ("U34", "U3"),  # only the character after U/V is read (protocol.md §5.2)
        ("V4", "V4"),
        ("v1", "V1"),
        ("R", "R"),
        ("r", "R"),
    ],
)
def test_simple_change_grammar_accepted(system, finished, op, description):
    out = envelope(system.post("/mj/submit/simple-change", {"content": f"{finished} {op}"}))
    assert out["code"] == 1, out
    task = fetch(system, out["result"])
    assert task["description"] == f"/up {finished} {description}"
    expected_action = {"U": "UPSCALE", "V": "VARIATION", "R": "REROLL"}[description[0]]
    assert task["action"] == expected_action


@pytest.mark.parametrize(
    "content",
    [
        None,
        "",
        " ",
        "1717401234567123",
        "1717401234567123 ",  # trailing space: second token empty
        " 1717401234567123 U1",  # leading space: three tokens
        "1717401234567123  U1",  # two spaces: three tokens
        "1717401234567123 U1 ",  # trailing space after the op: three tokens
        "1717401234567123\tU1",
        "1717401234567123 U",
        "1717401234567123 U0",
        "1717401234567123 U5",
        "1717401234567123 Ux",
        "1717401234567123 V9",
        "1717401234567123 X1",
        "1717401234567123 R1",
        "1717401234567123 RR",
        "1717401234567123 UPSCALE",
        "1717401234567123 U1 extra",
    ],
)
def test_simple_change_parse_failures_are_content_invalid(system, content):
    body = {} if content is None else {"content": content}
    assert code_and_description(system.post("/mj/submit/simple-change", body)) == (
        4,
        "content参数错误",
    )


def test_simple_change_then_behaves_exactly_like_change(system):
    assert code_and_description(
        system.post("/mj/submit/simple-change", {"content": "1234567890123456 U1"})
    ) == (3, "关联任务不存在或已失效")
    running = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    assert code_and_description(
        system.post("/mj/submit/simple-change", {"content": f"{running} V2"})
    ) == (4, "关联任务状态错误")


def test_simple_change_runs_to_success_with_state_and_hook(system, finished):
    out = envelope(
        system.post(
            "/mj/submit/simple-change",
            {"content": f"{finished} U2", "state": "st", "notifyHook": ""},
        )
    )
    assert out["code"] == 1 and out["properties"]["discordInstanceId"]
    child = run_to_end(system, out["result"])
    assert child["status"] == "SUCCESS" and child["action"] == "UPSCALE"
    assert child["state"] == "st"
    assert child["prompt"] == fetch(system, finished)["prompt"]


def test_simple_change_malformed_json_is_http_400(system):
    assert system.post("/mj/submit/simple-change", "{nope").status == 400


# ---- describe ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body", [{}, {"base64": None}, {"base64": ""}, {"base64": "   "}, {"base64": "", "link": " "}]
)
def test_describe_blank_base64(system, body):
    # trueai's wording since describe also takes `link` (plus-api.md §2.1).
    out = code_and_description(system.post("/mj/submit/describe", body))
    assert out == (4, "base64或link不能为空")


@pytest.mark.parametrize(
    "value",
    [
        "not a data url",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        "data:image/png;base64,!!!!",
        "data:text/plain;base64,aGVsbG8=",
        "data:image/png;base64,aGVsbG8=",  # valid base64, not an image
        "data:image/png,rawbytes",
    ],
)
def test_describe_bad_base64(system, value):
    assert code_and_description(system.post("/mj/submit/describe", {"base64": value})) == (
        4,
        "base64格式错误",
    )


def test_describe_image_over_the_limit(system, monkeypatch):
    monkeypatch.setenv("MJ_MAX_IMAGE_BYTES", str(1024 * 1024))
    from mjproxy import config

    config.reset()
    noise = Image.frombytes("RGB", (800, 800), os.urandom(800 * 800 * 3))
    buf = io.BytesIO()
    noise.save(buf, format="PNG")
    assert len(buf.getvalue()) > 1024 * 1024
    r = system.post("/mj/submit/describe", {"base64": data_url(buf.getvalue())})
    assert code_and_description(r) == (4, "base64图片过大，最大1MB")


def test_describe_accepts_the_nonstandard_image_jpg(system):
    task_id = submit_ok(
        system, "/mj/submit/describe", {"base64": data_url(jpeg_bytes(), "image/jpg")}
    )
    task = fetch(system, task_id)
    assert task["description"] == f"/describe {task_id}.jpg"


def test_describe_runs_to_four_numbered_prompts_on_the_described_image(system):
    src = png_bytes((96, 64), (240, 200, 40))
    task_id = submit_ok(
        system, "/mj/submit/describe", {"base64": data_url(src), "state": "d", "notifyHook": ""}
    )
    queued = fetch(system, task_id)
    assert queued["action"] == "DESCRIBE" and queued["status"] == "NOT_START"
    assert queued["description"] == f"/describe {task_id}.png"
    assert queued["prompt"] is None and queued["promptEn"] is None

    task = run_to_end(system, task_id)
    assert task["status"] == "SUCCESS", task
    text = task["prompt"]
    assert text == task["promptEn"] == task["properties"]["finalPrompt"]
    parts = text.split("\n\n")
    assert [p[: len("1️⃣")] for p in parts] == ["1️⃣", "2️⃣", "3️⃣", "4️⃣"]
    for part in parts:
        assert re.search(r" --ar \d+:\d+$", part), part
        assert len(part) > len("1️⃣ --ar 3:2") + 10
    assert task["state"] == "d" and task["progress"] == "100%"
    assert task["description"] == f"/describe {task_id}.png"
    described = image_of(task["imageUrl"])
    assert described.size == (96, 64)
    assert described.convert("RGB").getpixel((10, 10)) == (240, 200, 40)
    # A describe result has no grid: it cannot be the parent of U/V/R; it offers "imagine this
    # prompt" 1️⃣-4️⃣ and 🔄 (plus-api.md §2.1.3).
    assert [b["customId"] for b in task["buttons"]] == [
        "MJ::Job::PicReader::1", "MJ::Job::PicReader::2", "MJ::Job::PicReader::3",
        "MJ::Job::PicReader::4", "MJ::Picread::Retry",
    ]  # fmt: skip
    r = system.post("/mj/submit/change", {"taskId": task_id, "action": "UPSCALE", "index": 1})
    assert code_and_description(r) == (4, "关联任务不允许执行变化")


def test_describe_description_follows_a_redrawn_task_id(system, monkeypatch):
    """If the first id drawn is taken, the task gets another one and its description says so."""
    from mjproxy.api import submit

    ids = iter(["1700000000000001", "1700000000000001", "1700000000000002"])
    monkeypatch.setattr(submit, "new_task_id", lambda ms=None: next(ids))
    first = submit_ok(system, "/mj/submit/describe", {"base64": data_url(png_bytes())})
    second = submit_ok(system, "/mj/submit/describe", {"base64": data_url(png_bytes())})
    assert (first, second) == ("1700000000000001", "1700000000000002")
    assert fetch(system, second)["description"] == "/describe 1700000000000002.png"


# ---- blend ------------------------------------------------------------------------------------
def images(n: int) -> list[str]:
    colors = [RED, BLUE, (30, 200, 60), (240, 220, 30), (200, 30, 200), (0, 0, 0)]
    return [data_url(png_bytes((64, 64), colors[i])) for i in range(n)]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"base64Array": None},
        {"base64Array": []},
        {"base64Array": images(1)},
        {"base64Array": images(6)},
        {"base64Array": images(1), "dimensions": None},  # the count is checked first
    ],
)
def test_blend_count(system, body):
    assert code_and_description(system.post("/mj/submit/blend", body)) == (
        4,
        "base64List参数错误",
    )


def test_blend_explicit_null_dimensions(system):
    r = system.post("/mj/submit/blend", {"base64Array": ["bad", "bad"], "dimensions": None})
    assert code_and_description(r) == (4, "dimensions参数错误")


def test_blend_unknown_dimensions_is_http_400(system):
    r = system.post("/mj/submit/blend", {"base64Array": images(2), "dimensions": "WIDE"})
    assert r.status == 400 and "code" not in r.json()


@pytest.mark.parametrize(
    "bad", ["nope", "data:image/png;base64,###", None, 12345, "data:image/svg+xml;base64,PHN2Zz4="]
)
def test_blend_bad_item(system, bad):
    r = system.post("/mj/submit/blend", {"base64Array": [images(1)[0], bad]})
    assert code_and_description(r) == (4, "base64格式错误")


def test_blend_nothing_is_left_behind_by_a_rejected_submit(system):
    system.post("/mj/submit/blend", {"base64Array": [images(1)[0], "nope"]})
    assert system.get("/mj/task/list").json() == []


@pytest.mark.parametrize(
    ("dimensions", "ratio"), [(None, 1.0), ("SQUARE", 1.0), ("PORTRAIT", 2 / 3), ("LANDSCAPE", 1.5)]
)
def test_blend_runs_to_a_grid_of_its_dimensions(system, dimensions, ratio):
    body = {"base64Array": images(2), "state": "b"}
    if dimensions:
        body["dimensions"] = dimensions
    task_id = submit_ok(system, "/mj/submit/blend", body)
    queued = fetch(system, task_id)
    assert queued["action"] == "BLEND" and queued["description"] == f"/blend {task_id} 2"
    assert queued["prompt"] is None and queued["promptEn"] is None

    from mjproxy.store.tasks import TaskRepository

    assert TaskRepository().get(task_id).dimensions == (dimensions or "SQUARE")
    task = run_to_end(system, task_id)
    assert task["status"] == "SUCCESS", task
    assert task["prompt"] and task["prompt"] == task["promptEn"]
    assert task["state"] == "b" and task["description"] == f"/blend {task_id} 2"
    grid = image_of(task["imageUrl"])
    assert abs(grid.width / grid.height - ratio) < 0.02
    assert len(task["imageUrls"]) == 4
    assert any(b["customId"].startswith("MJ::JOB::upsample::1::") for b in task["buttons"])


def test_blend_of_five(system):
    task_id = submit_ok(system, "/mj/submit/blend", {"base64Array": images(5)})
    assert fetch(system, task_id)["description"] == f"/blend {task_id} 5"
    assert run_to_end(system, task_id)["status"] == "SUCCESS"


def test_blend_then_upscale_variation_reroll(system):
    blend_id = submit_ok(
        system, "/mj/submit/blend", {"base64Array": images(3), "dimensions": "LANDSCAPE"}
    )
    blend = run_to_end(system, blend_id)
    assert blend["status"] == "SUCCESS"
    up_id = submit_ok(
        system, "/mj/submit/change", {"taskId": blend_id, "action": "UPSCALE", "index": 1}
    )
    up = run_to_end(system, up_id)
    assert up["status"] == "SUCCESS" and up["action"] == "UPSCALE"
    assert up["description"] == f"/up {blend_id} U1"
    assert up["prompt"] == blend["prompt"]
    quadrant = image_of(blend["imageUrls"][0]["url"])
    upscaled = image_of(up["imageUrl"])
    assert upscaled.width > quadrant.width
    for op, action in (("V3", "VARIATION"), ("R", "REROLL")):
        out = envelope(system.post("/mj/submit/simple-change", {"content": f"{blend_id} {op}"}))
        child = run_to_end(system, out["result"])
        assert (child["status"], child["action"]) == ("SUCCESS", action)
        assert child["description"] == f"/up {blend_id} {op}"
