"""boto3 clients, created lazily on first use so tests and the local runner can point them
anywhere (`AWS_ENDPOINT_URL`), and cached per process for warm invocations."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from .config import on_reset, settings


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    extra: dict[str, Any] = {}
    if service == "s3":
        # SigV4 presigned URLs (boto3 defaults to SigV2 query auth for S3).
        # Path-style only against a local endpoint (moto), where bucket host names do not resolve.
        local = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        style = "path" if local else "virtual"
        extra["config"] = Config(signature_version="s3v4", s3={"addressing_style": style})
    return boto3.client(service, region_name=settings().region, **extra)


@on_reset
def reset() -> None:
    client.cache_clear()
