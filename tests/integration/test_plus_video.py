"""VIDEO tasks on moto in-process: the local provider's real MP4 (decoded back with PyAV),
extend, the exact strings of trueai's video DTO checks, and Amazon Nova Reel's asynchronous
flow against a stubbed bedrock-runtime (StartAsyncInvoke / GetAsyncInvoke shapes from the
Bedrock API reference)."""

from __future__ import annotations

import io
import json

import boto3
import pytest

from tests.scenarios import data_url, png_bytes, run_to_end, submit_ok


def mp4_of(url: str) -> bytes:
    from urllib.parse import unquote, urlsplit

    from mjproxy.config import settings

    bucket = settings().bucket_name
    path = unquote(urlsplit(url).path).lstrip("/")
    key = path[len(bucket) + 1 :] if path.startswith(bucket + "/") else path
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def frames(mp4: bytes) -> list:
    import av

    with av.open(io.BytesIO(mp4)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return [f.to_image() for f in container.decode(video=0)]


def mean(img, band: int | None = None) -> float:
    from PIL import ImageStat

    stat = ImageStat.Stat(img).mean
    return stat[band] if band is not None else sum(stat) / len(stat)


def code_desc(r) -> tuple[int, str]:
    assert r.status == 200, r.text
    out = r.json()
    return out["code"], out["description"]


def test_local_video_is_a_real_mp4_panning_over_the_image(system):
    image = data_url(png_bytes((320, 200), (200, 40, 40)))
    task_id = submit_ok(system, "/mj-fast/mj/submit/video", {"prompt": "pan", "image": image})
    task = run_to_end(system, task_id)
    assert (task["action"], task["status"], task["progress"]) == ("VIDEO", "SUCCESS", "100%")
    assert task["videoUrls"] == [{"url": task["videoUrl"]}]
    clip = frames(mp4_of(task["videoUrl"]))
    assert len(clip) == 48 and clip[0].size == (480, 300)
    # Red in, red out (H.264 keeps the colour within a small error).
    assert abs(mean(clip[0], 0) - 200) < 12
    assert task["imageUrl"] and task["mode"] == "FAST"


def test_end_image_and_loop(system):
    red, blue = (
        data_url(png_bytes((64, 64), (220, 0, 0))),
        data_url(png_bytes((64, 64), (0, 0, 220))),
    )
    crossfade = run_to_end(
        system,
        submit_ok(system, "/mj/submit/video", {"prompt": "p", "image": red, "endImage": blue}),
    )
    clip = frames(mp4_of(crossfade["videoUrl"]))
    assert mean(clip[0], 0) > mean(clip[0], 2)
    assert mean(clip[-1], 2) > mean(clip[-1], 0)  # ends on the end image
    looped = run_to_end(
        system, submit_ok(system, "/mj/submit/video", {"prompt": "p", "image": red, "loop": True})
    )
    clip = frames(mp4_of(looped["videoUrl"]))
    assert abs(mean(clip[0]) - mean(clip[-1])) < 3


def test_extend_continues_a_finished_video(system):
    image = data_url(png_bytes((96, 64), (40, 160, 40)))
    first = run_to_end(
        system, submit_ok(system, "/mj/submit/video", {"prompt": "p", "image": image})
    )
    body = {"prompt": "more", "action": "extend", "taskId": first["id"]}
    second = run_to_end(system, submit_ok(system, "/mj/submit/video", body))
    assert second["status"] == "SUCCESS" and second["parentId"] == first["id"]
    assert second["videoUrl"] != first["videoUrl"]


@pytest.mark.parametrize(
    "body,expected",
    [
        ({"image": "x"}, (4, "Prompt 不能为空")),
        ({"prompt": "p"}, (4, "image不能为空")),
        ({"prompt": "p", "image": "x", "taskId": "1"}, (4, "任务类型错误")),
        ({"prompt": "p", "image": "!!", "motion": "low"}, (4, "base64格式错误")),
        ({"prompt": "p", "image": "x", "motion": "wild"}, (4, "motion参数错误")),
        ({"prompt": "p", "image": "ftp://x/y.png"}, (4, "base64格式错误")),
        (
            {"prompt": "p", "action": "extend", "taskId": "1234567890123456"},
            (3, "关联任务不存在或已失效"),
        ),
    ],
)
def test_video_bad_input(system, body, expected):
    assert code_desc(system.post("/mj/submit/video", body)) == expected


def test_video_url_to_a_private_address_is_refused(system):
    body = {"prompt": "p", "image": "http://127.0.0.1/a.png"}
    code, desc = code_desc(system.post("/mj/submit/video", body))
    assert code == 4 and desc.startswith("链接图片下载失败: refused:")


def test_providers_without_video_answer_code_4(system, monkeypatch):
    from mjproxy import config

    monkeypatch.setenv("MJ_INSTANCES", json.dumps([{"id": "o", "provider": "openai"}]))
    config.reset()
    body = {"prompt": "p", "image": data_url(png_bytes())}
    assert code_desc(system.post("/mj/submit/video", body)) == (4, "视频功能未启用")


def test_nova_reel_async_flow_on_bedrock(system, monkeypatch):
    from botocore.stub import ANY, Stubber

    from mjproxy import config, images
    from mjproxy.video import local, providers

    monkeypatch.setenv("MJ_INSTANCES", json.dumps([{"id": "b", "provider": "bedrock"}]))
    config.reset()
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    stub = Stubber(client)
    monkeypatch.setattr(
        providers.NovaReelProvider,
        "__init__",
        lambda self, c=None: setattr(self, "_client", client),
    )
    monkeypatch.setattr(providers, "NOVA_POLL_SECONDS", 0)
    arn = "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abc123"
    stub.add_response("start_async_invoke", {"invocationArn": arn}, {
        "modelId": "amazon.nova-reel-v1:1", "modelInput": ANY, "outputDataConfig": ANY,
        "clientRequestToken": ANY,
    })  # fmt: skip
    stub.add_response("get_async_invoke", {
        "invocationArn": arn, "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1",
        "status": "InProgress", "submitTime": "2026-01-01T00:00:00Z",
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/tasks/x/nova/abc123"}},
    }, {"invocationArn": arn})  # fmt: skip
    task_id = submit_ok(
        system, "/mj/submit/video", {"prompt": "waves", "image": data_url(png_bytes())}
    )
    uri = f"s3://{config.settings().bucket_name}/tasks/{task_id}/nova/abc123"
    stub.add_response("get_async_invoke", {
        "invocationArn": arn, "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-reel-v1:1",
        "status": "Completed", "submitTime": "2026-01-01T00:00:00Z",
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": uri}},
    }, {"invocationArn": arn})  # fmt: skip
    # What Nova Reel would have written into our bucket.
    nova_mp4 = local.render(png_bytes((128, 72)), seconds=1, long_side=128).mp4
    images.put(f"tasks/{task_id}/nova/abc123/output.mp4", nova_mp4, "video/mp4")
    with stub:
        task = run_to_end(system, task_id)
    assert task["status"] == "SUCCESS", task
    assert mp4_of(task["videoUrl"]) == nova_mp4
    stub.assert_no_pending_responses()
