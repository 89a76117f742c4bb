"""AWS calls made without creating a botocore client: one SigV4-signed HTTP request over a
kept-alive connection (issue 17: creating a client loads its service model and endpoint rules,
most of what an API function's cold start spends beyond a lean handler's).

Only inside a Lambda runtime (AWS_LAMBDA_FUNCTION_NAME is set): there the endpoint is a real
HTTP server. Tests and the local mode answer boto3 in-process, so they keep botocore. Every
caller falls back to botocore when a request here fails (an error the service gives the same on
every attempt is raised as botocore raises it instead), so a direct call can cost an attempt,
never the work: S3 uploads (mjproxy.images.direct), job messages (.sqs), DynamoDB item calls
(.dynamodb), secret reads (.secrets). Nothing here imports botocore's client machinery: that
import is most of what the direct calls save (bench/results/1_cold_start.md).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import ssl
import threading
from functools import cache
from importlib.util import find_spec
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .. import sigv4

TIMEOUT = 4  # seconds per socket operation: the functions' Timeout is 15 s and botocore may follow
# Kept-alive connections per thread (one thread per invocation on Lambda).
_local = threading.local()
log = logging.getLogger(__name__)
_OFF = ("off", "0", "false")
# Settings that make botocore pick another endpoint than the plain regional one.
_ENDPOINT_ENV = (
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def enabled(switch: str) -> bool:
    """In a Lambda runtime, unless the environment variable `switch` says off."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and (
        os.environ.get(switch, "").lower() not in _OFF
    )


def endpoint(service: str, region: str) -> str | None:
    """The endpoint botocore's `service` client posts to, or None where this module does not
    know: AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, else https://<service>.<region>.
    amazonaws.com in the standard partition (FIPS, dual-stack: None)."""
    if any(os.environ.get(name) for name in _ENDPOINT_ENV):
        return None
    configured = sigv4.endpoint_url(service)
    if configured:
        parts = urlsplit(configured)
        if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query:
            return None
        return f"{parts.scheme}://{parts.netloc}"
    if not sigv4.standard_region(region):
        return None
    return f"https://{service}.{region}.amazonaws.com"


class Prepared(NamedTuple):
    scheme: str
    netloc: str
    headers: dict[str, str]  # signed


def prepare(service: str, region: str, headers: dict[str, str], payload: bytes) -> Prepared | None:
    """A POST of `payload` to the service's endpoint, signed with the functions' credentials;
    None where this module does not know the endpoint or there are no credentials."""
    from ..aws import credentials

    base = endpoint(service, region)
    creds = credentials() if base is not None else None
    if base is None or creds is None:
        return None
    signed = sigv4.sign_headers("POST", base + "/", headers, payload, service, region, creds)
    parts = urlsplit(base)
    return Prepared(parts.scheme, parts.netloc, signed)


def post(prepared: Prepared, payload: bytes) -> tuple[int, bytes, http.client.HTTPMessage]:
    """Send a prepared POST (see `request`)."""
    return request(prepared.scheme, prepared.netloc, "POST", "/", payload, prepared.headers)


def call_json(
    service: str,
    target: str,
    params: dict[str, Any],
    region: str,
    switch: str,
    final: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """One AWS JSON 1.1 call that is safe to make twice (a read; X-Amz-Target `target`): its
    answer, or None when the caller must make it through botocore (off, outside Lambda, unknown
    endpoint, a refusal botocore would retry, an unreachable endpoint, a bug here). An error in
    `final` (answered the same on every attempt) is raised as botocore raises it: a ClientError
    with its code and message."""
    if not enabled(switch):
        return None
    operation = target.rsplit(".", 1)[-1]
    try:
        payload = json.dumps(params, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
        prepared = prepare(service, region, headers, payload)
        if prepared is None:
            return None
        status, data, _ = post(prepared, payload)
        answer = json.loads(data)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        log.warning("direct %s failed; calling through botocore", operation,
                    extra={"error": repr(exc)})  # fmt: skip
        return None
    except Exception:  # a bug here must cost an attempt, never the read
        log.exception("direct %s raised; calling through botocore", operation)
        return None
    if not isinstance(answer, dict):
        return None
    if status == 200:
        return answer
    code = error_code(answer, status)
    if 400 <= status < 500 and code in final:  # 400 on AWS (moto answers some with 404)
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": code, "Message": error_message(answer)}}, operation)
    log.warning("direct %s refused; calling through botocore", operation,
                extra={"status": status, "code": code})  # fmt: skip
    return None


def error_code(body: dict[str, Any], status: int) -> str:
    """The code of a JSON error answer: `__type` after its namespace ('...v20120810#Code')."""
    code = str(body.get("__type") or status)
    code = code.split(":", 1)[0]
    return code.rsplit("#", 1)[-1]


def error_message(body: dict[str, Any]) -> str:
    """The message of a JSON error answer (`message`, or `Message` in some services' errors)."""
    return str(body.get("message", body.get("Message", "")))


def request(
    scheme: str, netloc: str, method: str, target: str, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes, http.client.HTTPMessage]:
    """Send one request and read the answer: (status, body, headers). A kept-alive connection
    the server has closed meanwhile is reopened once; any other failure raises OSError or
    HTTPException (the caller then uses botocore)."""
    where = (scheme, netloc)
    for attempt in ("reused", "fresh") if where in _conns() else ("fresh",):
        try:
            conn = _connection(scheme, netloc, fresh=attempt == "fresh")
            conn.request(method, target, body=body, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException):
            _drop(where)
            if attempt == "reused":
                continue  # a kept-alive connection the server had closed: once more, anew
            raise
        if reply.status != 200:
            _drop(where)
        return reply.status, data, reply.headers
    raise OSError("unreachable")  # the loop always returns or raises


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process (loading the CA bundle costs ~30 ms), trusting what botocore
    trusts: AWS_CA_BUNDLE, else certifi's bundle where certifi is installed, else the one botocore
    ships. Found without importing either (botocore.httpsession alone imports in ~230 ms)."""
    return ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE") or ca_bundle())


def ca_bundle() -> str | None:
    """The CA file botocore.httpsession.where() names: certifi's cacert.pem, else botocore's."""
    for package in ("certifi", "botocore"):
        spec = find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = os.path.join(folder, "cacert.pem")
            if os.path.isfile(path):
                return path
    return None


def _conns() -> dict[tuple[str, str], http.client.HTTPConnection]:
    """This thread's kept-alive connections, one per (scheme, host): S3 and SQS each keep theirs."""
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    return conns


def _connection(scheme: str, netloc: str, fresh: bool) -> http.client.HTTPConnection:
    conn = _conns().get((scheme, netloc))
    if fresh or conn is None:
        _drop((scheme, netloc))
        if scheme == "https":
            conn = http.client.HTTPSConnection(netloc, timeout=TIMEOUT, context=_tls())
        else:
            conn = http.client.HTTPConnection(netloc, timeout=TIMEOUT)
        _conns()[(scheme, netloc)] = conn
    return conn


def _drop(where: tuple[str, str] | None = None) -> None:
    """Close the connection to `where`, or every connection of this thread."""
    conns = _conns()
    for key in [where] if where is not None else list(conns):
        conn = conns.pop(key, None)
        if conn is not None:
            conn.close()
