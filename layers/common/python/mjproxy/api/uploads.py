"""POST /mj/submit/upload-discord-images: store reference images and answer their links, which
clients paste into prompts (`--sref`, `--cref`, `--oref`, image prompts). Not a task: the answer
is immediate and `result` is an ARRAY of URLs (plus-api.md §2.1; new-api reads `[]string`)."""

from __future__ import annotations

from typing import Any

from .. import images
from ..domain import codes
from ..domain.task import new_task_id
from .choice import candidates
from .errors import ProtocolError
from .models import UploadRequest
from .submit import Services, parse_images

UPLOAD_MAX = 10


def submit_upload(
    body: UploadRequest, mode: str | None = None, svc: Services | None = None
) -> dict[str, Any]:
    """Each image goes to our own storage under a fresh upload id; its URL is the stable image
    link (never expires, redirects to a fresh presigned URL) whatever MJ_IMAGE_URL_MODE is, so it
    still works when Midjourney or a relay fetches it days later. An `accountFilter` naming no
    usable instance is code 4 实例不存在或不可用 (trueai's answer). On a midjourney account the
    images go to Discord as the peers upload them (providers/midjourney/upload.py) and the links
    are Discord's CDN URLs; if Discord refuses, our own links are answered instead."""
    svc = svc or Services()
    raw = body.base64Array or []
    if (
        not raw
        or len(raw) > UPLOAD_MAX
        or any(not isinstance(v, str) or not v.strip() for v in raw)
    ):
        raise ProtocolError(codes.VALIDATION_ERROR, codes.BASE64_PARAM_INVALID)
    found = candidates(svc.pool.enabled(), mode=mode, account_filter=body.accountFilter)
    if body.accountFilter is not None and not found:
        raise ProtocolError(codes.VALIDATION_ERROR, codes.INSTANCE_NOT_AVAILABLE)
    try:
        inputs = parse_images([v for v in raw if v])
    except ProtocolError as exc:
        if exc.description == codes.BASE64_INVALID:
            raise ProtocolError(codes.VALIDATION_ERROR, codes.BASE64_PARAM_INVALID) from exc
        raise
    upload_id = new_task_id()
    discord = next((c.instance for c in found if c.instance.provider == "midjourney"), None)
    if discord is not None:
        from ..providers.midjourney.upload import discord_links

        links = discord_links(discord, upload_id, inputs)
        if links is not None:
            return {"code": codes.SUCCESS, "description": codes.SUBMIT_SUCCESS,
                    "result": links, "properties": {}}  # fmt: skip
    urls = []
    for n, image in enumerate(inputs, start=1):
        key = images.ref_key(upload_id, n, image.ext)
        images.put_upload(key, image.data, image.content_type)
        urls.append(images.stable_url(key))
    return {
        "code": codes.SUCCESS,
        "description": codes.SUBMIT_SUCCESS,
        "result": urls,
        "properties": {},
    }
