"""Plus-API submits on moto in-process: upload-discord-images and describe by `link`
(plus-api.md §2.1: exact strings of trueai's SubmitController)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.scenarios import data_url, png_bytes


def env(r) -> dict:
    assert r.status == 200, r.text
    return r.json()


def code_desc(r) -> tuple[int, str]:
    out = env(r)
    return out["code"], out["description"]


# ---- upload-discord-images ------------------------------------------------------------------
def test_upload_answers_an_array_of_stable_links(system):
    import boto3

    from mjproxy.config import settings

    body = {"base64Array": [data_url(png_bytes()), data_url(png_bytes(color=(0, 0, 200)))]}
    host = {"Host": "api.example"}  # API Gateway always knows its domain; the harness needs it
    out = env(system.post("/mj/submit/upload-discord-images", body, headers=host))
    assert (out["code"], out["description"]) == (1, "提交成功")
    assert isinstance(out["result"], list) and len(out["result"]) == 2
    for n, url in enumerate(out["result"], start=1):
        # A stable link (no expiry), even in the default presigned mode.
        parts = urlsplit(url)
        assert (parts.netloc, "X-Amz-" in url) == ("api.example", False)
        assert parts.path.startswith("/mj/image/") and parts.path.endswith(f"/input-{n}.png")
        redirect = system.get(f"{parts.path}?{parts.query}")
        assert redirect.status == 302
        key = "tasks/" + parts.path.removeprefix("/mj/image/")
        obj = boto3.client("s3").get_object(Bucket=settings().bucket_name, Key=key)
        assert obj["Body"].read()[:4] == b"\x89PNG"


def test_upload_under_a_speed_prefix(system):
    body = {"base64Array": [data_url(png_bytes())]}
    assert env(system.post("/mj-turbo/mj/submit/upload-discord-images", body))["code"] == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"base64Array": []}, {"base64Array": [None]}, {"base64Array": ["data:image/png;base64,!!"]},
     {"base64Array": ["not a data url"]}],
)  # fmt: skip
def test_upload_bad_base64(system, body):
    r = system.post("/mj/submit/upload-discord-images", body)
    assert code_desc(r) == (4, "base64 参数错误")


def test_upload_with_an_account_filter_naming_no_instance(system):
    body = {"base64Array": [data_url(png_bytes())], "accountFilter": {"instanceId": "nope"}}
    r = system.post("/mj/submit/upload-discord-images", body)
    assert code_desc(r) == (4, "实例不存在或不可用")


# ---- describe by link -----------------------------------------------------------------------
@pytest.mark.parametrize("link", ["ftp://example.com/a.png", "example.com/a.png", "https://"])
def test_describe_link_must_be_http(system, link):
    assert code_desc(system.post("/mj/submit/describe", {"link": link})) == (4, "链接格式错误")


@pytest.mark.parametrize(
    "link",
    ["http://127.0.0.1/a.png", "http://169.254.169.254/latest/meta-data/", "http://[::1]/a.png",
     "http://10.0.0.8:8080/a.png"],
)  # fmt: skip
def test_describe_link_to_private_addresses_is_refused_without_a_request(system, link):
    code, desc = code_desc(system.post("/mj/submit/describe", {"link": link}))
    assert code == 4 and desc.startswith("链接图片下载失败: refused:"), desc


def test_describe_base64_still_wins_over_link(system):
    body = {"base64": data_url(png_bytes()), "link": "http://127.0.0.1/a.png"}
    assert env(system.post("/mj/submit/describe", body))["code"] == 1


# ---- shorten --------------------------------------------------------------------------------
FILLED = "a very beautiful highly detailed red fox sitting in deep snow, masterpiece --ar 3:2"


def test_shorten_reaches_success_with_five_prompts_and_buttons(system):
    from tests.scenarios import fetch, run_to_end, submit_ok

    task_id = submit_ok(system, "/mj-relax/mj/submit/shorten", {"prompt": FILLED})
    waiting = fetch(system, task_id)
    assert (waiting["action"], waiting["description"]) == ("SHORTEN", f"/shorten {FILLED}")
    task = run_to_end(system, task_id)
    assert task["status"] == "SUCCESS" and task["progress"] == "100%"
    assert task["prompt"] == FILLED  # the client's own prompt stays
    final = task["properties"]["finalPrompt"]
    assert final == task["promptEn"] and "1️⃣ red fox sitting, deep snow --ar 3:2" in final
    assert "beautiful" not in final.split("## Shortened prompts")[1]
    assert [b["customId"] for b in task["buttons"]] == [
        f"MJ::Job::PromptAnalyzer::{i}" for i in range(1, 6)
    ]
    assert task["imageUrl"] is None and task["mode"] == "RELAX"


@pytest.mark.parametrize("body", [{}, {"prompt": ""}, {"prompt": "  "}])
def test_shorten_blank_prompt(system, body):
    assert code_desc(system.post("/mj/submit/shorten", body)) == (4, "prompt不能为空")


# ---- face swap ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/mj/insight-face/swap", "/mj-fast/mj/insight-face/swap"])
def test_face_swap_is_refused_with_the_reason(system, path):
    body = {"sourceBase64": data_url(png_bytes()), "targetBase64": data_url(png_bytes())}
    code, desc = code_desc(system.post(path, body))
    assert code == 4 and desc.startswith("服务不支持") and "face swap" in desc
