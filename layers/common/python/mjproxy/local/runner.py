"""The embedded local mode (design.md §8): a moto server for DynamoDB/SQS/S3, the template's
resources created in it, every function's routes served over HTTP as API Gateway proxy events to
the real `lambda_handler`s, and SQS pollers / schedules that invoke the worker functions the way
Lambda does (deleting only the messages not reported in `batchItemFailures`)."""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..api.http import CORS_HEADERS
from . import server
from .emulator import Emulator
from .persist import DataDir
from .provision import function_environment, provision
from .template import DEFAULT_ROUTE, Function, Route, Template

log = logging.getLogger("mjproxy.local")
ROOT = Path(__file__).resolve().parents[5]  # repository root (layers/common/python/mjproxy/local)


@dataclass
class FakeContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    deadline_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_handler(fn: Function) -> Callable[[dict, Any], Any]:
    module_file, _, attr = fn.handler.rpartition(".")
    path = fn.code_uri / f"{module_file}.py"
    spec = importlib.util.spec_from_file_location(f"mjproxy_fn_{fn.name}", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, attr)


def invoke(
    fn: Function, handler: Callable[[dict, Any], Any], event: dict, timeout_s: int = 900
) -> Any:
    ctx = FakeContext(
        function_name=fn.name,
        aws_request_id=str(uuid.uuid4()),
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{fn.name}",
        deadline_ms=int(time.time() * 1000) + timeout_s * 1000,
    )
    return handler(event, ctx)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping builds from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            }
            for m in messages
        ]
    }


def api_event(
    route: Route,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    params: dict[str, str],
) -> dict[str, Any]:
    split = urlsplit(raw_path)
    query = parse_qsl(split.query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for k, v in query:
        multi_query.setdefault(k, []).append(v)
    try:
        text, encoded = (body.decode("utf-8") if body else None), False
    except UnicodeDecodeError:
        # Bytes that are not UTF-8 text reach the function base64-encoded (as API Gateway passes
        # binary bodies); api/http.py answers them with 400.
        text, encoded = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": route.path,
        "path": split.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "stage": "local",
            "path": split.path,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": headers.get("X-Forwarded-For", "127.0.0.1")},
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class StartError(OSError):
    pass


def default_data_dir() -> str:
    """MJ_DATA_DIR, else `local-data/` in the checkout (git-ignored); `off` keeps nothing."""
    return os.environ.get("MJ_DATA_DIR") or str(ROOT / "local-data")


class LocalSystem:
    """Start with `start()`, stop with `stop()`; `base_url` is the API. `data_dir=None` keeps
    nothing across restarts; `moto_port` also serves the emulated AWS side over HTTP for other
    processes (`sam local`, the gateway listener)."""

    def __init__(
        self,
        template_path: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        moto_port: int | None = None,
        moto_host: str = "127.0.0.1",
        visibility_timeout: int = 10,
        pollers_per_queue: int = 3,
        schedule_seconds: float | None = None,
        data_dir: str | Path | None = None,
    ) -> None:
        self.template = Template(template_path or ROOT / "template.yaml")
        self.host = host
        self.port = port
        self.moto_port = moto_port
        self.moto_host = moto_host
        self.visibility_timeout = visibility_timeout
        self.pollers_per_queue = pollers_per_queue
        self.schedule_seconds = schedule_seconds
        self.data_dir = Path(data_dir) if data_dir else None
        self.routes: list[tuple[Route, Function, Callable]] = []
        self.default_route: tuple[Route, Function, Callable] | None = None  # template $default
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._emulator = Emulator()
        self._store: DataDir | None = None
        self._http: server.Server | None = None
        self._lock_file: Any = None
        self._bucket_prefixes: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def local_url(self) -> str:
        """Where this machine reaches the API (image links; 0.0.0.0 is not an address)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def moto_url(self) -> str | None:
        return f"http://{self.moto_host}:{self.moto_port}" if self.moto_port else None

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self) -> LocalSystem:
        # The port first: a port in use is the most common start failure, and says so at once.
        try:
            self._http = server.Server((self.host, self.port), server.handler_class(self.dispatch))
        except OSError as exc:
            raise StartError(f"port {self.port} on {self.host} is in use ({exc.strerror})") from exc
        self.port = self._http.server_address[1]
        if self.data_dir is not None:
            self._lock_data_dir()
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.update(
            {
                # S3 answers on the API's own port (presigned image URLs stay valid across
                # restarts); moto maps that address to its S3.
                "AWS_ENDPOINT_URL_S3": self.local_url,
                "MOTO_S3_CUSTOM_ENDPOINTS": self.local_url,
                "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
                "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
                "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                "POWERTOOLS_TRACE_DISABLED": "1",
                "POWERTOOLS_METRICS_DISABLED": "1",
            }
        )
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
        self._reset_caches()
        self._emulator.start()
        provision(
            self.template,
            visibility_timeout=self.visibility_timeout,
            region=os.environ["AWS_DEFAULT_REGION"],
        )
        if self.data_dir is not None:
            self._store = DataDir(self.data_dir, self._key_attrs())
            self._store.restore()
            self._store.attach(self._emulator)
        if self.moto_port is not None:
            self.moto_port = self._emulator.start_server(self.moto_host, self.moto_port)
        env = function_environment(self.template, dict(os.environ))
        if not os.environ.get("MJ_IMAGE_URL_SECRET") and not env.get("MJ_IMAGE_URL_SECRET"):
            # On AWS the stack's UUID signs stable links; here a secret kept with the data.
            env["MJ_IMAGE_URL_SECRET"] = (
                self._store.secret("image-url-secret") if self._store else uuid.uuid4().hex
            )
        elif os.environ.get("MJ_IMAGE_URL_SECRET"):
            env["MJ_IMAGE_URL_SECRET"] = os.environ["MJ_IMAGE_URL_SECRET"]
        os.environ.update(env)
        if not os.environ.get("AWS_ENDPOINT_URL"):
            # The template's empty slot: boto3 must not take "" for an endpoint.
            os.environ.pop("AWS_ENDPOINT_URL", None)
        self._reset_caches()
        self._bucket_prefixes = tuple(
            f"/{self.template.physical[b]}/" for b in self.template.of_type("AWS::S3::Bucket")
        )

        for fn in self.template.functions():
            handler = load_handler(fn)
            for route in fn.routes:
                if route.path == DEFAULT_ROUTE:
                    self.default_route = (route, fn, handler)
                else:
                    self.routes.append((route, fn, handler))
            for logical, batch in fn.queues:
                for n in range(self.pollers_per_queue):
                    self._spawn(
                        f"sqs-{fn.name}-{n}",
                        self._poll_queue,
                        fn,
                        handler,
                        self.template.physical[logical],
                        self.template.arns[logical],
                        batch,
                    )
            for seconds in fn.schedules:
                self._spawn(
                    f"schedule-{fn.name}",
                    self._schedule,
                    fn,
                    handler,
                    self.schedule_seconds or seconds,
                )
        self.routes.sort(key=lambda r: r[0].specificity)
        self._spawn("http", self._http.serve_forever)
        return self

    def _key_attrs(self) -> dict[str, list[str]]:
        return {
            self.template.physical[logical]: [
                k["AttributeName"] for k in res.get("Properties", {}).get("KeySchema", [])
            ]
            for logical, res in self.template.of_type("AWS::DynamoDB::Table").items()
        }

    def _lock_data_dir(self) -> None:
        import fcntl

        assert self.data_dir is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.data_dir / "lock", "a+")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._lock_file.close()
            self._lock_file = None
            if self._http:
                self._http.server_close()
            raise StartError(
                f"data directory {self.data_dir} is used by another running local mode "
                "(stop it, or set MJ_DATA_DIR to another directory)"
            ) from exc

    def stop(self) -> None:
        self._stop.set()
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        for t in self._threads:
            t.join(timeout=5)
        if self._store:
            self._store.close()
        self._emulator.stop()
        if self._lock_file:
            self._lock_file.close()

    def __enter__(self) -> LocalSystem:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _spawn(self, name: str, target: Callable, *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    @staticmethod
    def _reset_caches() -> None:
        from .. import config

        config.reset()

    # ---- HTTP ---------------------------------------------------------------------------
    def dispatch(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        path = urlsplit(raw_path).path
        for route, fn, handler in self.routes:
            m = route.regex.match(path)
            if not m:
                continue
            if route.method != method:
                continue
            event = api_event(route, method, raw_path, headers, body, m.groupdict())
            return self._call(fn, handler, event)
        if path.startswith(self._bucket_prefixes):
            # Presigned image URLs point here (AWS_ENDPOINT_URL_S3 is this server).
            return server.serve_object(
                method, raw_path, headers, os.environ["AWS_SECRET_ACCESS_KEY"]
            )
        # Like the deployed HTTP API: its CORS configuration answers a preflight of any path,
        # and every other request no route matches (a known path with another method too)
        # goes to the $default route's function (template NotFoundFunction: the 404 JSON).
        if method == "OPTIONS":
            return 200, dict(CORS_HEADERS), b""
        if self.default_route is not None:
            route, fn, handler = self.default_route
            return self._call(fn, handler, api_event(route, method, raw_path, headers, body, {}))
        body = json.dumps(
            {"status": 404, "error": "Not Found", "path": path}, separators=(",", ":")
        )
        return 404, {**CORS_HEADERS, "Content-Type": "application/json"}, body.encode()

    def _call(
        self, fn: Function, handler: Callable, event: dict[str, Any]
    ) -> tuple[int, dict[str, str], bytes]:
        """One proxy invocation as API Gateway makes it: the function's answer, or a 502."""
        try:
            result = invoke(fn, handler, event)
        except Exception:  # a handler crash is API Gateway's 502
            log.exception("handler %s raised", fn.name)
            return 502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}'
        out_headers = dict(result.get("headers") or {})
        for k, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[k] = values[-1]
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
        return int(result.get("statusCode", 200)), out_headers, data

    # ---- SQS and schedules --------------------------------------------------------------
    def _poll_queue(
        self, fn: Function, handler: Callable, queue_url: str, queue_arn: str, batch: int
    ) -> None:
        import boto3

        sqs = boto3.client("sqs")
        while not self._stop.is_set():
            try:
                out = sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(batch, 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:
                if self._stop.is_set():
                    return
                log.exception("receive failed")
                time.sleep(1)
                continue
            messages = out.get("Messages", [])
            if not messages:
                continue
            event = sqs_event(messages, queue_arn)
            try:
                result = invoke(fn, handler, event) or {}
            except Exception:
                # Like Lambda: a failed invocation deletes nothing; SQS redelivers after the
                # visibility timeout and the redrive policy applies.
                log.exception("%s raised; batch left for redelivery", fn.name)
                continue
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            done = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)
                if m["MessageId"] not in failed
            ]
            if done:
                sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)

    def _schedule(self, fn: Function, handler: Callable, seconds: float) -> None:
        while not self._stop.wait(seconds):
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "resources": [],
                "detail": {},
            }
            try:
                invoke(fn, handler, event)
            except Exception:
                log.exception("scheduled %s raised", fn.name)


def describe(system: LocalSystem) -> str:
    from ..api.auth import api_secret
    from ..config import settings

    s = settings()
    secret = api_secret()
    store = system._store
    if store is not None:
        r = store.restored
        kept = (
            f"  data: {system.data_dir} (kept across restarts; restored {r['items']} items, "
            f"{r['objects']} images, {r['messages']} queued messages; `make clean-data` wipes it)"
        )
    else:
        kept = "  data: in memory only (MJ_DATA_DIR=off): nothing is kept after a stop"
    aws = (
        f"moto in-process; for other processes at {system.moto_url}"
        if system.moto_url
        else "moto in-process"
    )
    header = f" -H 'mj-api-secret: {secret}'" if secret else ""
    lines = [
        f"mjproxy local mode: API at {system.base_url}  (AWS side: {aws})",
        kept,
        f"  provider: {s.provider}; instances: {', '.join(i.id for i in s.instances)}",
        f"  auth: ON, send the header  mj-api-secret: {secret}"
        if secret
        else "  auth: off (set MJ_API_SECRET to require an mj-api-secret header)",
        "  callbacks to private/loopback addresses: "
        + (
            "allowed" if s.notify_allow_private else "refused (MJ_NOTIFY_ALLOW_PRIVATE=true allows)"
        ),
        f"  console: {system.base_url}/console   "
        f"(CLI: .venv/bin/mjproxy --base-url {system.base_url} tasks)",
        f'  try: curl{header} -d \'{{"prompt":"a red fox in snow'
        f" --ar 3:2\"}}' {system.base_url}/mj/submit/imagine",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="mjproxy-local", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("MJ_LOCAL_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument(
        "--moto-port",
        type=int,
        default=int(os.environ["MOTO_PORT"]) if os.environ.get("MOTO_PORT") else None,
        help="also serve the emulated AWS side over HTTP on this port (0: any free port)",
    )
    parser.add_argument(
        "--moto-host",
        default=os.environ.get("MOTO_HOST", "127.0.0.1"),
        help="0.0.0.0 lets `sam local` containers reach the moto server",
    )
    parser.add_argument(
        "--data-dir",
        default=default_data_dir(),
        help="where tasks, images and queued jobs are kept (MJ_DATA_DIR; 'off': memory only)",
    )
    parser.add_argument("--template", default=str(ROOT / "template.yaml"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # boto3 announces every client's endpoint at INFO; only our own messages are worth reading.
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    system = LocalSystem(
        args.template,
        host=args.host,
        port=args.port,
        moto_port=args.moto_port,
        moto_host=args.moto_host,
        # e.g. 2: the poller watchdog every 2 s instead of the template's 2 minutes (tests)
        schedule_seconds=float(os.environ.get("MJ_LOCAL_SCHEDULE_SECONDS") or 0) or None,
        data_dir=None if args.data_dir.strip().lower() in ("off", "none", "") else args.data_dir,
    )
    try:
        system.start()
    except StartError as exc:
        print(f"mjproxy local mode: cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    print(describe(system), flush=True)
    print("ready", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
