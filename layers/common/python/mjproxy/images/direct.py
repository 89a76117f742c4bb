"""A client's upload stored with one presigned PUT, without creating a boto3 S3 client.

Why: an image submit (describe, blend, edits, retexture, video, imagine with base64Array, modal
masks, upload-discord-images) needs S3 only to store what it was sent, and creating botocore's S3
client (its service model and endpoint rules, the largest of any service) was most of what those
functions' cold starts spent beyond imagine's (bench/results/1_cold_start.md). The URL comes from
mjproxy.sigv4 (byte-identical to botocore's presigned put_object, tests/unit/test_sigv4.py) and
carries Content-MD5, which S3 checks against the bytes it receives.

Only inside a Lambda runtime (AWS_LAMBDA_FUNCTION_NAME is set): there the endpoint is a real
HTTP server. Tests and the local mode answer boto3 in-process, so they keep botocore. Any failure
(a refused connection, a 4xx or 5xx, a bucket shape sigv4 does not know) returns False and the
caller stores through botocore, with its retries and errors: a PUT here can cost an attempt,
never an upload. MJ_S3_DIRECT_PUT=off turns it off.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import logging
import os
import ssl
import threading
from functools import cache
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

EXPIRES = 60  # seconds: the URL is used at once
TIMEOUT = 4  # seconds per socket operation: the functions' Timeout is 15 s and botocore may follow
_local = threading.local()  # one kept-alive connection per thread (one per invocation on Lambda)


def enabled() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and (
        os.environ.get("MJ_S3_DIRECT_PUT", "").lower() not in ("off", "0", "false")
    )


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
    target = f"{url.path}?{url.query}"
    reused = getattr(_local, "conn", None) is not None and _local.netloc == (url.scheme, url.netloc)
    for attempt in ("reused", "fresh") if reused else ("fresh",):
        try:
            conn = _connection(url.scheme, url.netloc, fresh=attempt == "fresh")
            conn.request("PUT", target, body=data, headers=headers)
            reply = conn.getresponse()
            body = reply.read()
        except (OSError, http.client.HTTPException) as exc:
            _drop()
            if attempt == "reused":
                continue  # a kept-alive connection the server had closed: once more, anew
            log.warning("direct S3 PUT failed; storing through botocore", extra={"error": repr(exc)})
            return False
        if reply.status == 200:
            return True
        _drop()
        log.warning(
            "direct S3 PUT refused; storing through botocore",
            extra={"status": reply.status, "body": body[:300].decode("utf-8", "replace")},
        )
        return False
    return False


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process (loading the CA bundle costs ~30 ms), trusting what botocore
    trusts: AWS_CA_BUNDLE, else botocore's bundle."""
    from botocore.httpsession import where

    return ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or where())


def _connection(scheme: str, netloc: str, fresh: bool) -> http.client.HTTPConnection:
    conn = getattr(_local, "conn", None)
    if fresh or conn is None or _local.netloc != (scheme, netloc):
        _drop()
        if scheme == "https":
            conn = http.client.HTTPSConnection(netloc, timeout=TIMEOUT, context=_tls())
        else:
            conn = http.client.HTTPConnection(netloc, timeout=TIMEOUT)
        _local.conn, _local.netloc = conn, (scheme, netloc)
    return conn


def _drop() -> None:
    conn = getattr(_local, "conn", None)
    if conn is not None:
        conn.close()
    _local.conn = None
    _local.netloc = None
