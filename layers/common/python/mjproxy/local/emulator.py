"""The embedded AWS side of the local mode: moto in-process (boto3 calls are answered inside this
process by moto's own request handlers, no HTTP hop), one lock that makes the DynamoDB and S3
emulation linearizable like the real services, a hook that sees every successful write (the
data directory's journal), and an optional moto HTTP server over the same state for other
processes (`sam local`, the gateway listener)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("mjproxy.local")

# DynamoDB operations that change items; S3 methods that change objects.
DDB_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
S3_WRITES = frozenset({"PUT", "POST", "DELETE"})
SQS_WRITES = frozenset(
    {"SendMessage", "SendMessageBatch", "DeleteMessage", "DeleteMessageBatch", "PurgeQueue"}
)


@dataclass(frozen=True)
class Write:
    """One successful write request as the emulator answered it."""

    service: str  # "dynamodb", "s3" or "sqs"
    operation: str  # DynamoDB: the X-Amz-Target operation; S3: the HTTP method
    path: str  # S3: /bucket/key (path-style); DynamoDB: "/"
    query: str
    body: Any  # DynamoDB: the parsed JSON request; S3: None


WriteHook = Callable[[Write], None]


def _header(headers: Any, name: str) -> str:
    value = headers.get(name) or headers.get(name.lower()) or ""
    # botocore's prepared requests hold some header values as bytes
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _service(headers: Any, url: str) -> str:
    target = _header(headers, "X-Amz-Target")
    if target.startswith("DynamoDB_"):
        return "dynamodb"
    if target.startswith("AmazonSQS"):
        return "sqs"
    auth = _header(headers, "Authorization")
    # SigV4 credential scope: Credential=<key>/<date>/<region>/<service>/aws4_request
    if "Credential=" in auth:
        parts = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(parts) >= 4:
            return parts[3]
    host = urlsplit(url).hostname or ""
    return host.split(".", 1)[0] if host.endswith("amazonaws.com") else ""


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read"):  # a file-like body (only S3 uploads; not needed for the journal)
        return b""
    return b""


class Emulator:
    """`start()` turns moto on for every boto3 client of this process; `stop()` turns it off."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sqs_lock = threading.Lock()
        self.hook: WriteHook | None = None
        self._mock: Any = None
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._original: Callable[..., Any] | None = None
        self._direct: tuple[str, Callable[..., Any], object] | None = None

    # ---- in-process ---------------------------------------------------------------------
    def start(self) -> Emulator:
        from moto import mock_aws
        from moto.core.models import botocore_stubber

        from . import moto_speedups, moto_sqs

        moto_speedups.check()  # identical answers, or no start
        moto_speedups.install()
        moto_sqs.install()  # no lost or doubled messages under concurrent pollers
        self._mock = mock_aws()
        self._mock.start()
        self._original = botocore_stubber.process_request
        original = self._original

        def process_request(request: Any) -> Any:
            return self._handle(request.method, request.url, request.headers, request.body,
                                lambda: original(request))  # fmt: skip

        # An instance attribute: BotocoreStubber.__call__ looks it up on the instance.
        botocore_stubber.process_request = process_request  # type: ignore[method-assign]
        self._install_direct(lambda request: botocore_stubber.process_request(request))
        return self

    def _install_direct(self, process_request: Callable[[Any], Any]) -> None:
        """DynamoDB item calls skip the HTTP stand-in (mjproxy.local.direct): for clients of
        sessions made from now on, and of boto3's default session if it exists already."""
        import boto3
        from botocore.handlers import BUILTIN_HANDLERS, REGISTER_LAST

        from . import direct

        self._direct = (direct.EVENT, direct.make_hook(process_request), REGISTER_LAST)
        BUILTIN_HANDLERS.append(self._direct)
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.register_last(*self._direct[:2])

    def _remove_direct(self) -> None:
        import boto3
        from botocore.handlers import BUILTIN_HANDLERS

        if self._direct is None:
            return
        if self._direct in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.remove(self._direct)
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.unregister(*self._direct[:2])
        self._direct = None

    def stop(self) -> None:
        from moto.core.models import botocore_stubber

        self.stop_server()
        self._remove_direct()
        if self._original is not None:
            del botocore_stubber.process_request
            self._original = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def _handle(
        self, method: str, url: str, headers: Any, body: Any, call: Callable[[], Any]
    ) -> Any:
        service = _service(headers, url)
        if service == "sqs":
            op = _header(headers, "X-Amz-Target").rsplit(".", 1)[-1]
            if op not in SQS_WRITES or self.hook is None:
                # Receives (long polls wait inside moto) take no lock here: moto_sqs guards them.
                return call()
            with self.sqs_lock:
                result = call()
                if result is not None and int(result[0]) < 300:
                    self._call_hook(Write("sqs", op, "/", "", None))
                return result
        if service not in ("dynamodb", "s3"):
            return call()
        with self.lock:
            result = call()
            if self.hook is not None and result is not None:
                status = result[0] if isinstance(result, tuple) else getattr(result, "status", 200)
                self._after(service, method, url, headers, body, int(status))
            return result

    def _after(
        self, service: str, method: str, url: str, headers: Any, body: Any, status: int
    ) -> None:
        if status >= 300 or self.hook is None:
            return
        split = urlsplit(url)
        if service == "dynamodb":
            target = _header(headers, "X-Amz-Target")
            op = target.rsplit(".", 1)[-1]
            if op not in DDB_WRITES:
                return
            try:
                parsed = json.loads(_body_bytes(body) or b"{}")
            except ValueError:
                return
            write = Write("dynamodb", op, "/", "", parsed)
        else:
            if method.upper() not in S3_WRITES:
                return
            write = Write("s3", method.upper(), split.path, split.query, None)
        self._call_hook(write)

    def _call_hook(self, write: Write) -> None:
        if self.hook is None:
            return
        try:
            self.hook(write)
        except Exception:  # the write is done; a journal failure must not fail the request
            log.exception("journal: could not record %s %s", write.service, write.operation)

    # ---- HTTP, for other processes ------------------------------------------------------
    def start_server(self, host: str, port: int) -> int:
        """A moto server on `host:port` over this process's state (its writes are journaled
        too). Returns the port."""
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        emulator = self

        def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            import io

            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            headers = {
                k[5:].replace("_", "-").title(): v
                for k, v in environ.items()
                if k.startswith("HTTP_")
            }
            url = f"http://{environ.get('HTTP_HOST', 'localhost')}{environ.get('PATH_INFO', '')}"
            if environ.get("QUERY_STRING"):
                url += "?" + environ["QUERY_STRING"]
            seen: list[int] = []

            def recording_start(status: str, *args: Any) -> Any:
                seen.append(int(status.split(" ", 1)[0]))
                return start_response(status, *args)

            def call() -> tuple[int, list[bytes]]:
                chunks = list(app(environ, recording_start))
                return (seen[0] if seen else 200, chunks)

            result = emulator._handle(environ["REQUEST_METHOD"], url, headers, body, call)
            return result[1]

        self._server = make_server(host, port, wrapped, threaded=True,
                                   request_handler=MotoRequestHandler)  # fmt: skip
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, name="moto-server", daemon=True
        )
        self._server_thread.start()
        return int(self._server.server_address[1])

    def stop_server(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
