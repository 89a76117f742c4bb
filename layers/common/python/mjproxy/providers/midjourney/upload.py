"""Images onto Discord as the peers upload them (protocol.md §6.4): an attachment slot
(`POST /channels/{id}/attachments`), a PUT of the bytes to its `upload_url`, and, where a link is
wanted, a channel message carrying the upload, whose attachment's CDN URL is the link (trueai
SubmitController.cs:245-268: `UploadAsync`, then `SendImageMessageAsync("upload image: …")`).
Used by imagine's reference images, describe and blend, and POST /mj/submit/upload-discord-images."""

from __future__ import annotations

import logging

from ...config import ConfigError, Instance
from ...images import DataUrl
from .account import Account
from .discord import DiscordClient, DiscordError, RateLimited, Transient, Unauthorized

log = logging.getLogger(__name__)

# §6.4 failure texts (clients show them as they are).
UPLOAD_FAILED = "上传图片到discord失败"
SEND_FAILED = "发送图片消息到discord失败"
SEND_NO_IMAGE = "发送图片消息到discord失败: 图片不存在"


class UploadFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ext_of(key: str) -> str:
    return key.rsplit(".", 1)[-1] if "." in key else "png"


def mime_of(ext: str) -> str:
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
            "gif": "image/gif", "bmp": "image/bmp"}.get(ext, "image/png")  # fmt: skip


def upload(client: DiscordClient, name: str, blob: bytes) -> str:
    """The attachment slot and the PUT; returns the `upload_filename` commands refer to."""
    try:
        upload_url, uploaded = client.request_upload(name, len(blob))
        client.put_upload(upload_url, blob, mime_of(ext_of(name)))
    except (RateLimited, Unauthorized, Transient):
        raise
    except DiscordError as exc:
        raise UploadFailed(UPLOAD_FAILED) from exc
    return uploaded


def upload_link(client: DiscordClient, name: str, blob: bytes) -> str:
    """Upload, post it in the channel, and answer the message attachment's CDN URL."""
    uploaded = upload(client, name, blob)
    try:
        message = client.send_upload_message(uploaded, name)
    except (RateLimited, Unauthorized, Transient):
        raise
    except DiscordError as exc:
        raise UploadFailed(SEND_FAILED) from exc
    attachments = message.get("attachments") or []
    if not attachments or not attachments[0].get("url"):
        raise UploadFailed(SEND_NO_IMAGE)
    return str(attachments[0]["url"])


def discord_links(instance: Instance, upload_id: str, inputs: list[DataUrl]) -> list[str] | None:
    """POST /mj/submit/upload-discord-images on a midjourney account: each image uploaded and
    posted in the account's channel, its CDN URL answered; None when Discord refuses any of them
    (the caller answers its own stable links then)."""
    try:
        client = DiscordClient(Account.from_instance(instance))
        return [upload_link(client, f"{upload_id}-{n}.{image.ext}", image.data)
                for n, image in enumerate(inputs, start=1)]  # fmt: skip
    except (UploadFailed, DiscordError, ConfigError) as exc:
        log.warning("Discord upload refused; answering our own links",
                    extra={"instance": instance.id, "reason": str(exc)})  # fmt: skip
        return None
