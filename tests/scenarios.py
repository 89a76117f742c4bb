"""Client-level scenarios every provider must pass (imagine -> U/V/R ...), written against the
harness API (`post`, `get`, `drain`) so the same functions run on moto in-process with any provider.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image


def png_bytes(
    size: tuple[int, int] = (64, 64), color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def submit_ok(system: Any, path: str, body: dict) -> str:
    r = system.post(path, body)
    assert r.status == 200, r.text
    data = r.json()
    assert data["code"] in (1, 22), data
    assert isinstance(data["result"], str) and len(data["result"]) == 16
    return data["result"]


def fetch(system: Any, task_id: str) -> dict:
    r = system.get(f"/mj/task/{task_id}/fetch")
    assert r.status == 200
    return r.json()


def run_to_end(system: Any, task_id: str) -> dict:
    system.drain()
    task = fetch(system, task_id)
    assert task["status"] in ("SUCCESS", "FAILURE"), task
    return task


def image_of(url: str) -> Image.Image:
    """Download a presigned URL's object through boto3 (moto in-process does not serve HTTP)."""
    from urllib.parse import unquote, urlsplit

    import boto3

    from mjproxy.config import settings

    bucket = settings().bucket_name
    path = unquote(urlsplit(url).path).lstrip("/")
    key = path[len(bucket) + 1 :] if path.startswith(bucket + "/") else path
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    img = Image.open(io.BytesIO(body))
    img.load()
    return img
