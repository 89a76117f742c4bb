"""Images in S3: per-task keys, uploads, downloads, presigned URLs on every read, grid split."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from .. import secrets, sigv4
from ..aws import client
from ..aws import credentials as aws_credentials
from ..config import on_reset, settings
from . import probe

log = logging.getLogger(__name__)

# MIME types clients really send, including the non-standard image/jpg (protocol.md §5.7).
MIME_EXT = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/pjpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "image/x-ms-bmp": "bmp",
}
EXT_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
}
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)((?:;[\w-]+=[^;,]*)*)(;base64)?,(.*)$", re.S)


class ImageTooLarge(ValueError):
    pass


class InvalidImage(ValueError):
    pass


class UnreadableImage(InvalidImage):
    """The bytes start like an image but do not decode (truncated, corrupt)."""


class TooManyPixels(InvalidImage):
    """A decompression bomb, or simply an image larger than any generator takes."""


# 25 megapixels (5000 x 5000, ~100 MB decoded as RGBA): above every Midjourney output (an
# upscaled 2x grid is 4096 x 4096); a small file that claims more is a decompression bomb.
MAX_PIXELS = 25_000_000


@dataclass(frozen=True)
class DataUrl:
    mime: str
    data: bytes

    @property
    def ext(self) -> str:
        return MIME_EXT[self.mime]

    @property
    def content_type(self) -> str:
        return EXT_MIME[self.ext]


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:2] == b"BM":
        return "bmp"
    return None


def parse_data_url(value: str, max_bytes: int | None = None) -> DataUrl:
    """Decode an RFC 2397 image data URL; InvalidImage if it is not an image we accept,
    ImageTooLarge past the configured size limit."""
    limit = max_bytes if max_bytes is not None else settings().max_image_bytes
    m = _DATA_URL.match(value.strip()) if isinstance(value, str) else None
    if not m or not m.group(3):
        raise InvalidImage("not a base64 data URL")
    mime = m.group(1).lower()
    if mime not in MIME_EXT:
        raise InvalidImage(f"unsupported type {mime}")
    payload = m.group(4)
    # Cheap pre-check before decoding: base64 is 4/3 of the bytes.
    if len(payload) * 3 // 4 > limit + 3:
        raise ImageTooLarge(str(limit))
    try:
        data = base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidImage("bad base64") from exc
    if len(data) > limit:
        raise ImageTooLarge(str(limit))
    fmt = sniff(data) if data else None
    if fmt is None:
        raise InvalidImage("bytes are not an image")
    check_whole(data, fmt)
    return DataUrl(mime=mime, data=data)


def check_whole(data: bytes, fmt: str, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Check at submit that `data` (format `fmt`, as sniffed) is a whole image of at most
    `max_pixels`, so a truncated or corrupt file or a bomb is the client's code 4 instead of a
    worker failure later. Read from the format's structure (images.probe), not by decoding with
    Pillow: no submit function loads Pillow. Returns (width, height)."""
    try:
        return probe.probe(data, fmt, max_pixels)
    except probe.Oversized as exc:
        raise TooManyPixels(str(exc)) from exc
    except probe.Malformed as exc:
        raise UnreadableImage(str(exc)) from exc


# ---- keys ---------------------------------------------------------------------------------
def grid_key(task_id: str) -> str:
    return f"tasks/{task_id}/grid.png"


def quadrant_key(task_id: str, index: int) -> str:
    return f"tasks/{task_id}/{index}.png"


def single_key(task_id: str) -> str:
    return f"tasks/{task_id}/image.png"


def video_key(task_id: str, n: int = 1) -> str:
    return f"tasks/{task_id}/video-{n}.mp4"


def preview_key(task_id: str) -> str:
    return f"tasks/{task_id}/preview.png"


def preview_due(previewed_at: int | None, now_ms: int) -> bool:
    """Whether a new progress preview is worth its S3 PUT: none stored yet, or the stored one
    is MJ_PREVIEW_MIN_SECONDS old (10 s by default: a relay polls every 15 s and never sees a
    faster refresh; web UIs polling every 2-5 s see a preview refreshed every 10 s instead of
    at every step). 0 stores every preview. midjourney's are not stored at all unless
    MJ_MIDJOURNEY_PREVIEWS=store (poller.py)."""
    if previewed_at is None:
        return True
    return now_ms - int(previewed_at) >= settings().preview_min_seconds * 1000


def ref_key(task_id: str, n: int, ext: str) -> str:
    return f"tasks/{task_id}/input-{n}.{ext}"


# ---- S3 -----------------------------------------------------------------------------------
def put(key: str, data: bytes, content_type: str = "image/png") -> None:
    client("s3").put_object(
        Bucket=settings().bucket_name, Key=key, Body=data, ContentType=content_type
    )


def put_upload(key: str, data: bytes, content_type: str) -> None:
    """Store what a client sent (an API function): one presigned PUT where it can
    (mjproxy.images.direct, no S3 client on the cold start), else through botocore."""
    from . import direct

    if not direct.put(key, data, content_type):
        put(key, data, content_type)


def get(key: str) -> bytes:
    out = client("s3").get_object(Bucket=settings().bucket_name, Key=key)
    return out["Body"].read()


# The base URL of the request being served (set by api/http.py), for stable image links; ""
# inside a request whose base is unknown, None outside any request (a callback, the worker).
request_base_url: ContextVar[str | None] = ContextVar("request_base_url", default=None)
# What every URL of one answer signs with, read once per request (a list answers 100 tasks of
# 5 URLs each; the environment's credentials alone cost ~10 us a read): the signer and its
# credentials, the links' keys. None outside a request: each URL reads them afresh.
_request_memo: ContextVar[dict[str, Any] | None] = ContextVar("_request_memo", default=None)
_T = TypeVar("_T")


@contextmanager
def request_scope(base_url: str) -> Iterator[None]:
    """One API request: its base URL for stable links ("" when unknown), and one read of the
    signing material for all the URLs it answers."""
    base = request_base_url.set(base_url)
    memo = _request_memo.set({})
    try:
        yield
    finally:
        _request_memo.reset(memo)
        request_base_url.reset(base)


def _per_request(name: str, make: Callable[[], _T]) -> _T:
    memo = _request_memo.get()
    if memo is None:
        return make()
    if name not in memo:
        memo[name] = make()  # an exception leaves nothing: the next URL tries again
    return memo[name]


_STABLE_KEY = re.compile(
    r"^tasks/(\d{1,20})/((?:grid|image|preview|[1-4]|input-\d{1,2}|video-[1-4])\.(?:png|jpg|webp|gif|bmp|mp4))$"
)


def key_signature(key: str, secret: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()[:32]


def link_keys() -> tuple[str, ...]:
    """The keys that sign stable links, newest first: MJ_IMAGE_URL_SECRET locally; on AWS the
    rotatable secret MJ_IMAGE_URL_SECRET_ARN names (current, then previous version)."""
    return _per_request(
        "link_keys", lambda: secrets.rotating("MJ_IMAGE_URL_SECRET", "MJ_IMAGE_URL_SECRET_ARN")
    )


def stable_key(task_id: str, name: str, sig: str | None) -> str | None:
    """The S3 key a stable link names, or None if the link is malformed or its signature wrong
    (a link signed before the key's last rotation still verifies)."""
    key = f"tasks/{task_id}/{name}"
    if not _STABLE_KEY.match(key):
        return None
    keys = link_keys()
    if keys and not any(hmac.compare_digest(sig or "", key_signature(key, k)) for k in keys):
        return None
    return key


def public_url(key: str) -> str:
    """The imageUrl clients get. `presigned` (default): a fresh SigV4 URL on every read.
    `stable`: `<base>/mj/image/<id>/<file>?sig=…`, which never expires and redirects to a fresh
    presigned URL — for relays that store imageUrl once and fetch it for months."""
    if settings().image_url_mode != "stable":
        return presign(key)
    return stable_url(key)


def stable_url(key: str) -> str:
    """A link that never expires (`<base>/mj/image/<id>/<file>?sig=…`) whatever
    MJ_IMAGE_URL_MODE says: for URLs clients keep and paste into prompts (uploads). Presigned
    when no base URL is known or the key has no stable form."""
    return _stable_link(key) or presign(key)


def _stable_link(key: str) -> str | None:
    s = settings()
    base = s.public_base_url or request_base_url.get()
    m = _STABLE_KEY.match(key)
    if not base or not m:
        return None
    try:
        keys = link_keys()
    except Exception:  # noqa: BLE001 - a signing key we cannot read must not fail the answer
        log.exception("image link key unreadable; answering a presigned URL")
        return None
    url = f"{base}/mj/image/{m.group(1)}/{m.group(2)}"
    if keys:
        url += f"?sig={key_signature(key, keys[0])}"
    return url


def quadrant_url(key: str) -> str:
    """The imageUrls entry of a task whose quadrants are stored when first read: a stable link
    (the link function stores the quadrant before it redirects), or, outside any request and
    with no PublicBaseUrl (a callback), the quadrant stored now and presigned. An API request
    always has a base on AWS (the API's domain) and locally (Host); one without (a bare test
    event) gets the presigned URL without the work."""
    link = _stable_link(key)
    if link is not None:
        return link
    if request_base_url.get() is None:
        try:
            ensure_quadrant(key)
        except Exception:  # noqa: BLE001 - a callback must not fail because its grid expired
            log.exception("quadrant not stored; naming it anyway", extra={"key": key})
    return presign(key)


def presign(key: str) -> str:
    """A fresh SigV4 URL for a plain GET; computed locally, no AWS call. mjproxy.sigv4 for the
    usual bucket shapes (no S3 client, cached signing key), botocore for the rest."""
    s = settings()
    local = signing()
    if local is not None:
        signer, credentials = local
        return signer.url(key, s.presign_expires, credentials)
    return client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": s.bucket_name, "Key": key}, ExpiresIn=s.presign_expires
    )


def signing() -> tuple[sigv4.Presigner, sigv4.Credentials] | None:
    """The images bucket's signer and the credentials to sign with, or None where botocore must
    sign (a bucket or endpoint shape mjproxy.sigv4 does not know, or no credentials)."""
    return _per_request("signing", _signing)


def _signing() -> tuple[sigv4.Presigner, sigv4.Credentials] | None:
    s = settings()
    signer = _presigner(s.bucket_name, s.region, sigv4.endpoint_url())
    credentials = aws_credentials() if signer.supported else None
    return (signer, credentials) if credentials is not None else None


@lru_cache(maxsize=4)
def _presigner(bucket: str, region: str, endpoint_url: str | None) -> sigv4.Presigner:
    return sigv4.Presigner(bucket, region, endpoint_url)


@on_reset
def _reset() -> None:
    _presigner.cache_clear()
    _stored.clear()


def split_grid(grid_png: bytes, indexes: tuple[int, ...] = (1, 2, 3, 4)) -> list[bytes]:
    """Quadrants of a 2x2 grid as PNGs, by index: 1 top-left, 2 top-right, 3 bottom-left,
    4 bottom-right (the order U1..U4 / V1..V4 refer to); all four by default."""
    from PIL import Image

    with Image.open(io.BytesIO(grid_png)) as img:
        img.load()
        w, h = img.size
        boxes = [
            (0, 0, w // 2, h // 2),
            (w // 2, 0, w, h // 2),
            (0, h // 2, w // 2, h),
            (w // 2, h // 2, w, h),
        ]
        out = []
        for index in indexes:
            buf = io.BytesIO()
            # Level 3: a fraction of the default level-6 time for a few percent more bytes.
            img.crop(boxes[index - 1]).save(buf, format="PNG", compress_level=3)
            out.append(buf.getvalue())
    return out


def quadrants_on_read() -> bool:
    """Whether a finished grid stores its quadrants only when first read. With stable links
    (MJ_IMAGE_URL_MODE=stable, the deployed default) every read of an imageUrls entry passes
    the link function, which stores the quadrant then: 4 of a grid task's 5 PUTs are saved for
    every task whose quadrants nobody opens (relays read imageUrl only; clients.md §B.5).
    Presigned URLs point straight at S3, so the quadrants must exist beforehand."""
    return settings().image_url_mode == "stable"


def store_grid(task_id: str, grid_png: bytes, quadrants: bool = True) -> tuple[str, list[str]]:
    """Store a grid, and its four quadrants unless `quadrants` is False (then they are cropped
    from the grid when first read: ensure_quadrant, quadrant); returns (grid key, quadrant
    keys)."""
    key = grid_key(task_id)
    put(key, grid_png)
    qkeys = [quadrant_key(task_id, i) for i in range(1, 5)]
    if quadrants:
        for qkey, part in zip(qkeys, split_grid(grid_png), strict=True):
            put(qkey, part)
    return key, qkeys


_QUADRANT_KEY = re.compile(r"^tasks/(\d{1,20})/([1-4])\.png$")
# Quadrant keys this process has seen stored: a warm link function skips the HEAD request.
_stored: set[str] = set()
_STORED_LIMIT = 10_000


def absent(exc: Exception) -> bool:
    """An S3 error meaning "no such object". Without s3:ListBucket (the functions have none)
    S3 answers a missing key with 403 rather than 404; the functions may read every key, so a
    403 here means missing too."""
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "403", "NoSuchKey", "NotFound", "AccessDenied")


def _remember(key: str) -> None:
    if len(_stored) >= _STORED_LIMIT:
        _stored.clear()
    _stored.add(key)


def ensure_quadrant(key: str) -> None:
    """Make sure quadrant `key` (`tasks/<id>/<n>.png`) exists: if not, crop it and its three
    siblings from the task's grid in one decode (whoever opens one quadrant of imageUrls opens
    all four) and store them. Any other key is left alone."""
    m = _QUADRANT_KEY.match(key)
    if m is None or key in _stored:
        return
    try:
        client("s3").head_object(Bucket=settings().bucket_name, Key=key)
    except Exception as exc:
        if not absent(exc):
            raise
    else:
        _remember(key)
        return
    task_id = m.group(1)
    for i, part in enumerate(split_grid(get(grid_key(task_id))), start=1):
        put(quadrant_key(task_id, i), part)
        _remember(quadrant_key(task_id, i))


def quadrant(key: str, stored: bool = True) -> bytes:
    """A quadrant's PNG: the stored object, or, for a grid whose quadrants are stored on first
    read (`stored` False), cropped from the grid, one GetObject either way, and not stored (a
    worker reading its parent's quadrant is not a client opening it)."""
    m = _QUADRANT_KEY.match(key)
    if stored or m is None:
        return get(key)
    return split_grid(get(grid_key(m.group(1))), (int(m.group(2)),))[0]
