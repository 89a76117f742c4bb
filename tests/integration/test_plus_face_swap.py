# ruff: noqa: F811  (pytest passes the imported `backend` fixture by name)
"""POST /mj/insight-face/swap (issue 16 item 10): a SWAP_FACE task on an `openai` instance, one
`/images/edits` call with both images behind the recorded OpenAI stub of
test_provider_scenarios.py; trueai's checks and strings (InsightFaceController.cs) for bad input;
4 服务不支持 where no instance can swap faces."""

from __future__ import annotations

import pytest

from mjproxy.faceswap import BOT_TYPE
from mjproxy.providers.openai import OpenAIConfig
from tests.integration.test_actions_providers import _images
from tests.integration.test_provider_scenarios import (  # noqa: F401  (the `backend` fixture)
    backend,
    object_bytes,
)
from tests.scenarios import data_url, fetch, png_bytes, run_to_end, submit_ok

FACE = png_bytes((40, 40), (200, 150, 120))
TARGET = png_bytes((96, 64), (20, 60, 200))
RESULT = (1536, 1024)
openai_only = pytest.mark.parametrize("backend", ["openai"], indirect=True)


@openai_only
@pytest.mark.parametrize("path", ["/mj/insight-face/swap", "/mj-relax/mj/insight-face/swap"])
def test_a_face_swap_is_one_edit_of_both_images_and_a_single_image(backend, system, path):
    _images(backend, RESULT, n=1)
    body = {"sourceBase64": data_url(FACE), "targetBase64": data_url(TARGET), "state": "s1"}
    task = run_to_end(system, submit_ok(system, path, body))
    assert task["status"] == "SUCCESS", task
    assert (task["action"], task["description"], task["botType"]) == (
        "SWAP_FACE", "/swap_face", BOT_TYPE,
    )  # fmt: skip
    assert task["state"] == "s1" and task["buttons"] == [] and task["imageUrls"] in (None, [])
    assert object_bytes(task["imageUrl"])[:8] == b"\x89PNG\r\n\x1a\n"
    [call] = backend.take_calls()
    assert call.endpoint == "/images/edits"
    assert (call.body["n"], call.body["size"]) == ("1", "1536x1024")
    assert call.body["prompt"] == OpenAIConfig().face_swap_prompt
    assert call.files == [("image[]", "image/png", TARGET), ("image[]", "image/png", FACE)]


@openai_only
def test_bare_base64_is_taken_as_png(backend, system):
    import base64

    _images(backend, RESULT, n=1)
    body = {
        "sourceBase64": base64.b64encode(FACE).decode(),
        "targetBase64": base64.b64encode(TARGET).decode(),
    }
    task = run_to_end(system, submit_ok(system, "/mj/insight-face/swap", body))
    assert task["status"] == "SUCCESS", task
    assert [f[2] for f in backend.take_calls()[0].files] == [TARGET, FACE]


@openai_only
@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"targetBase64": data_url(TARGET)}, "人脸图片不能为空"),
        ({"sourceUrl": " ", "targetBase64": data_url(TARGET)}, "人脸图片不能为空"),
        ({"sourceBase64": data_url(FACE)}, "目标图片不能为空"),
        ({"sourceBase64": data_url(FACE), "targetBase64": data_url(FACE)}, "人脸图片和目标图片不能相同"),
        ({"sourceUrl": "https://e.x/a.png", "targetUrl": "https://e.x/a.png"}, "人脸图片和目标图片不能相同"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_with_trueais_words_and_no_task(backend, system, body, description):
    r = system.post("/mj/insight-face/swap", body)
    assert r.status == 200
    assert (r.json()["code"], r.json()["description"]) == (4, description)
    assert system.get("/mj/task/list").json() == []


@openai_only
def test_a_refused_face_swap_fails_the_task_with_openais_words(backend, system):
    reason = backend.content_filtered()
    body = {"sourceBase64": data_url(FACE), "targetBase64": data_url(TARGET)}
    task_id = submit_ok(system, "/mj/insight-face/swap", body)
    task = run_to_end(system, task_id)
    assert (task["status"], task["progress"], task["failReason"]) == ("FAILURE", "100%", reason)
    assert len(backend.take_calls()) == 1 and fetch(system, task_id)["imageUrl"] is None
