"""The local mode's HTTP front door: a threaded HTTP/1.1 server that reads requests as strictly
as API Gateway does (a bad Content-Length, a body past the limit, a malformed request line all
get a JSON answer, never an HTML page or a dropped connection) and hands them to a dispatcher.
Also serves S3 objects by presigned URL on the same port (local images survive restarts at the
same address), checking the SigV4 query signature and expiry like S3."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from calendar import timegm
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

log = logging.getLogger("mjproxy.local")

# Lambda's synchronous invocation payload limit: a larger body never reaches a function on AWS.
MAX_BODY_BYTES = 6 * 1024 * 1024
READ_TIMEOUT_SECONDS = 30  # a client that stops sending mid-body, or an idle keep-alive
JSON = {"Content-Type": "application/json"}

Dispatch = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(message: str) -> bytes:
    return json.dumps({"message": message}, separators=(",", ":")).encode()


class Server(ThreadingHTTPServer):
    # The default backlog of 5 resets bursts of new connections from browsers and bots.
    request_queue_size = 128
    daemon_threads = True
    allow_reuse_address = True


def read_body(rfile: Any, headers: Any) -> bytes:
    """The request body as API Gateway would take it, or HttpError."""
    te = (headers.get("Transfer-Encoding") or "").strip().lower()
    lengths = headers.get_all("Content-Length") or []
    if te and lengths:
        raise HttpError(400, "Content-Length and Transfer-Encoding together")
    if te:
        if te != "chunked":
            raise HttpError(400, "Unsupported Transfer-Encoding")
        return _read_chunked(rfile)
    if not lengths:
        return b""
    values = {v.strip() for v in lengths}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise HttpError(400, "Invalid Content-Length")
    length = int(next(iter(values)))
    if length > MAX_BODY_BYTES:
        raise HttpError(413, "Request Too Long")
    body = rfile.read(length) if length else b""
    if len(body) != length:
        raise HttpError(400, "Body shorter than Content-Length")
    return body


def _read_chunked(rfile: Any) -> bytes:
    out = bytearray()
    while True:
        line = rfile.readline(1024)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise HttpError(400, "Invalid chunk size") from exc
        if size < 0:
            raise HttpError(400, "Invalid chunk size")
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(out)
        if len(out) + size > MAX_BODY_BYTES:
            raise HttpError(413, "Request Too Long")
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise HttpError(400, "Body shorter than its chunks")
        out += chunk
        rfile.readline(1024)


def handler_class(dispatch: Dispatch) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without this, Nagle's algorithm holds
        # the body until the client's delayed ACK (~40 ms per keep-alive request).
        disable_nagle_algorithm = True
        timeout = READ_TIMEOUT_SECONDS

        def _serve(self) -> None:
            try:
                body = read_body(self.rfile, self.headers)
            except HttpError as exc:
                self.close_connection = True
                self._answer(exc.status, JSON, error_body(exc.message))
                return
            except TimeoutError:
                self.close_connection = True
                self._answer(400, JSON, error_body("Request body timed out"))
                return
            headers = {k: v for k, v in self.headers.items()}
            try:
                status, out_headers, data = dispatch(self.command, self.path, headers, body)
            except Exception:  # dispatch answers handler crashes itself; this is a last resort
                log.exception("dispatch failed for %s %s", self.command, self.path)
                status, out_headers, data = 502, JSON, error_body("Internal server error")
            self._answer(status, out_headers, data)

        def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None
                       ) -> None:  # fmt: skip
            """The base class answers a malformed request line or oversized headers with an
            HTML page; a JSON API answers with JSON."""
            self.close_connection = True
            try:
                self.send_response(code, message)
                body = error_body(message or self.responses.get(code, ("Error",))[0])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                    self.wfile.write(body)
            except OSError:
                pass

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_HEAD = _serve

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug(fmt, *args)

    return Handler


# ---- S3 objects by presigned URL ------------------------------------------------------------
def _s3_error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error>"
    ).encode()
    return status, {"Content-Type": "application/xml"}, body


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def presigned_valid(
    method: str, raw_path: str, host: str, secret_key: str, now: float | None = None
) -> str | None:
    """None if `raw_path` (path and query) is a valid, unexpired SigV4 presigned URL for
    `method` signed with `secret_key`; otherwise the S3 error code."""
    split = urlsplit(raw_path)
    params = parse_qsl(split.query, keep_blank_values=True)
    q = dict(params)
    if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in q:
        return "AccessDenied"
    try:
        amz_date = q["X-Amz-Date"]
        signed_at = timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
        expires = int(q.get("X-Amz-Expires", "0"))
        _key, date, region, service, _term = q["X-Amz-Credential"].split("/")
    except (KeyError, ValueError):
        return "AuthorizationQueryParametersError"
    if (now if now is not None else time.time()) > signed_at + expires:
        return "AccessDenied"
    signed_headers = q.get("X-Amz-SignedHeaders", "host").split(";")
    if signed_headers != ["host"]:
        return "SignatureDoesNotMatch"  # only plain GET links are handed out locally
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(params)
        if k != "X-Amz-Signature"
    )
    canonical = "\n".join(
        [method, split.path, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    expected = hmac.new(
        _signing_key(secret_key, date, region, service), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, q["X-Amz-Signature"]):
        return "SignatureDoesNotMatch"
    return None


def serve_object(
    method: str, raw_path: str, headers: dict[str, str], secret_key: str
) -> tuple[int, dict[str, str], bytes]:
    """GET/HEAD of `/<bucket>/<key>?X-Amz-…` from the embedded S3."""
    from ..aws import client

    if method not in ("GET", "HEAD"):
        return _s3_error(405, "MethodNotAllowed", "Only GET of presigned URLs is served")
    host = next((v for k, v in headers.items() if k.lower() == "host"), "")
    problem = presigned_valid(method if method == "GET" else "GET", raw_path, host, secret_key)
    if problem:
        return _s3_error(403, problem, "The presigned URL is invalid or has expired")
    bucket, _, key = urlsplit(raw_path).path.lstrip("/").partition("/")
    s3 = client("s3")
    try:
        out = s3.get_object(Bucket=unquote(bucket), Key=unquote(key))
    except s3.exceptions.NoSuchKey:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    except Exception:
        return _s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
    return (
        200,
        {
            "Content-Type": out.get("ContentType") or "binary/octet-stream",
            "ETag": out.get("ETag", ""),
            "Cache-Control": "private, max-age=300",
        },
        out["Body"].read(),
    )
