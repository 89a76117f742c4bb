"""A client's upload stored with one presigned PUT, without creating a boto3 S3 client.

Why: an image submit (describe, blend, edits, retexture, video, imagine with base64Array, modal
masks, upload-discord-images) needs S3 only to store what it was sent, and creating botocore's S3
client (its service model and endpoint rules, the largest of any service) was most of what those
functions' cold starts spent beyond imagine's (bench/results/1_cold_start.md). The URL comes from
mjproxy.sigv4 (byte-identical to botocore's presigned put_object, tests/unit/test_sigv4.py) and
carries Content-MD5, which S3 checks against the bytes it receives.

Only inside a Lambda runtime (mjproxy.direct). Any failure (a refused connection, a 4xx or 5xx, a
bucket shape sigv4 does not know) returns False and the caller stores through botocore, with its
retries and errors: a PUT here can cost an attempt, never an upload. MJ_S3_DIRECT_PUT=off turns
it off.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
from urllib.parse import urlsplit

from .. import direct

log = logging.getLogger(__name__)

EXPIRES = 60  # seconds: the URL is used at once


def enabled() -> bool:
    return direct.enabled("MJ_S3_DIRECT_PUT")


def put(key: str, data: bytes, content_type: str) -> bool:
    """Store `data` at `key` in the images bucket; False if the caller must use botocore."""
    if not enabled():
        return False
    from . import signing

    local = signing()
    if local is None:
        return False
    signer, credentials = local
    url = urlsplit(signer.url(key, EXPIRES, credentials, method="PUT"))
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(data)),
        "Content-MD5": base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode(),
    }
    try:
        status, body, _ = direct.request(
            url.scheme, url.netloc, "PUT", f"{url.path}?{url.query}", data, headers
        )
    except (OSError, http.client.HTTPException) as exc:
        log.warning("direct S3 PUT failed; storing through botocore", extra={"error": repr(exc)})
        return False
    if status == 200:
        return True
    log.warning(
        "direct S3 PUT refused; storing through botocore",
        extra={"status": status, "body": body[:300].decode("utf-8", "replace")},
    )
    return False
