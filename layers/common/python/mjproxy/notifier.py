"""The notifier: delivers callbacks (protocol.md §5.12) from the notify queue.

One queue message names a task (`notify.enqueue`). Delivery reads the task fresh, so the body is
always the task's current state in the one wire format (the same JSON as fetch, compact), and then:

1. refuses a target that is not http(s) or resolves to a private, loopback, link-local,
   multicast or reserved address, unless MJ_NOTIFY_ALLOW_PRIVATE=true; link-local addresses (the
   instance metadata service at 169.254.169.254 above all) are refused even then. The connection
   goes to the address that was checked, so a DNS answer that changes between check and connect
   (rebinding) cannot redirect it;
2. claims the state in the task's callback ledger (store/callbacks.py): never a state older than
   one already sent, each state once, one delivery in flight per task;
3. POSTs it (timeout <= 10 s, no redirects followed), signed with HMAC-SHA256 when
   MJ_NOTIFY_SIGNING_SECRET is set;
4. on a non-2xx answer or a network error re-enqueues itself with exponential backoff
   (MJ_NOTIFY_RETRY_SECONDS x 3^n) until MJ_NOTIFY_MAX_ATTEMPTS attempts, then gives up and
   records why on the task (`notifyError`). A retry sends the state current at that moment.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from . import notify, redact, sqs_batch, wire
from .config import settings
from .domain.task import Task, TaskStatus, now_ms
from .observability import logger, set_task

log = logging.getLogger(__name__)

USER_AGENT = "mjproxy-notifier/1"
SIGNATURE_HEADER = "X-Mj-Signature"
TIMESTAMP_HEADER = "X-Mj-Timestamp"
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit
BUSY_DELAY_SECONDS = 2  # another delivery for the task is in flight: look again shortly
BUSY_LIMIT = 60  # ... but not forever (a lease lasts at most LEASE_MARGIN_MS past the timeout)
LEASE_MARGIN_MS = 20_000

# ---- order (protocol.md §4.2) -----------------------------------------------------------

_BASE_ORDER = {
    TaskStatus.MODAL: Decimal(0),
    TaskStatus.NOT_START: Decimal(0),
    TaskStatus.SUBMITTED: Decimal(1),
    TaskStatus.IN_PROGRESS: Decimal(3),
    TaskStatus.FAILURE: Decimal(4),
    TaskStatus.SUCCESS: Decimal(4),
    TaskStatus.CANCEL: Decimal(4),
}


def notify_order(task: Task) -> Decimal:
    """NOT_START 0, SUBMITTED 1, IN_PROGRESS 3 + percent/100, SUCCESS, FAILURE and CANCEL 4."""
    order = _BASE_ORDER[task.status]
    progress = (task.progress or "").strip()
    if task.status == TaskStatus.IN_PROGRESS and progress.endswith("%"):
        try:
            order += Decimal(progress[:-1]) / 100
        except ArithmeticError:
            pass
    return order


def state_key(task: Task) -> str:
    return f"{task.status.value}|{task.progress or ''}"


# ---- target checks (SSRF) -----------------------------------------------------------------


class Refused(Exception):
    """The target may not be called; retrying cannot change that."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP the connection goes to


Resolver = Callable[[str, int], list[str]]


def resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# Never a callback target, even with MJ_NOTIFY_ALLOW_PRIVATE: link-local ranges hold the cloud
# metadata services (169.254.169.254, ECS's 169.254.170.2), plus EC2's IPv6 metadata address.
# No developer's receiver lives there, and credentials do.
ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)


# NAT64 prefixes (RFC 6052 well-known, RFC 8215 local-use): the last 32 bits are an IPv4 address.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries and may be routed to: IPv4-mapped (::ffff:a.b.c.d),
    IPv4-compatible (::a.b.c.d), 6to4 (2002::/16), Teredo (2001::/32, its client) and NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64) or 1 < int(ip) <= 0xFFFFFFFF:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _ips(address: str) -> list[IP]:
    """The address, and the IPv4 address it embeds: both must pass the guard. A mapped address
    is checked as its IPv4 alone (::ffff:8.8.8.8 is 8.8.8.8)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not isinstance(ip, ipaddress.IPv6Address):
        return [ip]
    inner = embedded_ipv4(ip)
    if inner is None:
        return [ip]
    return [inner] if ip.ipv4_mapped is not None else [ip, inner]


def public_address(address: str) -> bool:
    # is_global is False for private, loopback, link-local, reserved, shared (100.64/10) and
    # documentation ranges, but True for multicast, so that is excluded explicitly.
    return all(ip.is_global and not ip.is_multicast for ip in _ips(address))


def metadata_address(address: str) -> bool:
    return any(
        ip.version == net.version and ip in net for ip in _ips(address) for net in ALWAYS_REFUSED
    )


def check_target(url: str, allow_private: bool, resolver: Resolver = resolve) -> Target:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused(f"refused: scheme {scheme or '(none)'!r} is not http or https")
    host = parts.hostname
    if not host:
        raise Refused("refused: no host in the notifyHook URL")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(f"refused: bad port in the notifyHook URL: {exc}") from exc
    try:
        # An IP literal needs no lookup (and must not get a different answer from one).
        addresses = [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:
        addresses = resolver(host, port)
    if not addresses:
        raise OSError(f"{host} did not resolve")
    for address in addresses:
        # Any refused answer refuses the whole name: mixing one in is how rebinding starts.
        if metadata_address(address):
            raise Refused(f"refused: {host} resolves to a link-local/metadata address ({address})")
        if not allow_private and not public_address(address):
            raise Refused(f"refused: {host} resolves to a non-public address ({address})")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port, path, addresses[0])


# ---- HTTP ---------------------------------------------------------------------------------


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to `address` with the URL's host in the Host header."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to `address`, certificate checked against the URL's host name (SNI too)."""

    def __init__(self, target: Target, timeout: float) -> None:
        self._ssl_context = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self._ssl_context)
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._ssl_context.wrap_socket(sock, server_hostname=self.host)


def pinned_connection(target: Target, timeout: float) -> http.client.HTTPConnection:
    """A connection to the checked address of `target` (also used by links.py)."""
    conn_cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    return conn_cls(target, timeout)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body`; returns the HTTP status. Redirects are not followed (a 3xx is a failure).

    `timeout` bounds the whole attempt, not each socket call: a receiver that drips one byte a
    second never lets a single read time out, so a watchdog shuts the socket at the deadline."""
    conn = pinned_connection(target, timeout)
    expired = threading.Event()

    def abort() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # unblocks the read in the sending thread
            except OSError:
                pass

    watchdog = threading.Timer(timeout, abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            conn.request("POST", target.path, body=body, headers=headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            # A socket shut mid-read surfaces as a reset or a truncated status line.
            if expired.is_set():
                raise TimeoutError(f"no answer within {timeout:g} s") from exc
            raise
        if expired.is_set():
            raise TimeoutError(f"no answer within {timeout:g} s")
        try:
            response.read(65536)  # drain a little so the receiver sees a clean close
        except (OSError, http.client.HTTPException):
            pass  # the status line arrived: the callback was delivered
        return response.status
    finally:
        watchdog.cancel()
        conn.close()


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body) (docs/callbacks.md)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signing_secret() -> str:
    from .secrets import secret

    return secret("MJ_NOTIFY_SIGNING_SECRET", "MJ_NOTIFY_SIGNING_SECRET_PARAM")


# ---- delivery -----------------------------------------------------------------------------

Sender = Callable[[Target, bytes, dict[str, str], float], int]


@dataclass(frozen=True)
class Message:
    taskId: str
    attempt: int = 0
    retryOf: str | None = None  # the state key whose delivery failed (a retry)
    waits: int = 0

    @classmethod
    def from_json(cls, body: str) -> Message:
        data = json.loads(body)
        return cls(
            taskId=str(data["taskId"]),
            attempt=int(data.get("attempt") or 0),
            retryOf=data.get("retryOf"),
            waits=int(data.get("waits") or 0),
        )


def backoff_seconds(attempt: int) -> int:
    """Delay before attempt `attempt + 1` (attempt counted from 0)."""
    return min(MAX_DELAY_SECONDS, settings().notify_retry_seconds * 3**attempt)


class Notifier:
    def __init__(
        self,
        ledger: Any = None,
        sender: Sender | None = None,
        resolver: Resolver | None = None,
        clock: Callable[[], int] | None = None,
        requeue: Callable[..., None] | None = None,
    ) -> None:
        if ledger is None:
            from .store.callbacks import CallbackLedger

            ledger = CallbackLedger()
        self.ledger = ledger
        # None = the module's functions, looked up per call (tests patch them there).
        self.sender = sender
        self.resolver = resolver
        self.clock = clock or now_ms
        self.requeue = requeue or notify.enqueue

    def body(self, task: Task) -> bytes:
        from .api.tasks import task_view

        return wire.dumps(task_view(task)).encode("utf-8")

    def headers(self, task: Task, body: bytes, attempt: int) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Mj-Task-Id": task.id,
            "X-Mj-Delivery-Attempt": str(attempt + 1),
        }
        secret = signing_secret()
        if secret:
            timestamp = str(self.clock() // 1000)
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
        return headers

    def handle(self, message: Message) -> str:
        """Deliver for one message; returns what happened (for logs and tests)."""
        from .api.tasks import visible
        from .store.callbacks import Busy, Superseded

        task, _ = self.ledger.read(message.taskId)
        if not visible(task):
            return "gone"
        hook = (task.properties.get("notifyHook") or "").strip()
        if not hook:
            return "no-hook"
        if task.status == TaskStatus.NOT_START:
            return "not-started"  # never sent for NOT_START (protocol.md §5.12)
        s = settings()
        try:
            target = check_target(hook, s.notify_allow_private, self.resolver or resolve)
        except Refused as exc:
            log.warning("callback refused", extra={"taskId": task.id, "reason": str(exc)})
            self.ledger.record_error(task.id, str(exc))
            return "refused"
        except OSError as exc:  # DNS failure: may be transient
            return self._failed(task, message, None, f"resolve failed: {exc}")
        key = state_key(task)
        if message.retryOf is not None and message.retryOf != key:
            # The task moved on since the failed attempt: the newer state gets all its attempts.
            message = replace(message, attempt=0)
        now = self.clock()
        lease_ms = int(s.notify_timeout_seconds * 1000) + LEASE_MARGIN_MS
        try:
            self.ledger.claim(
                task.id, notify_order(task), key, now_ms=now, lease_ms=lease_ms,
                retry_of=message.retryOf,
            )  # fmt: skip
        except Busy:
            if message.waits < BUSY_LIMIT:
                self.requeue(
                    task.id, attempt=message.attempt, retry_of=message.retryOf,
                    waits=message.waits + 1, delay=BUSY_DELAY_SECONDS,
                )  # fmt: skip
            return "busy"
        except Superseded:
            return "superseded"
        body = self.body(task)
        try:
            headers = self.headers(task, body, message.attempt)
            status = (self.sender or post)(target, body, headers, s.notify_timeout_seconds)
        except Exception as exc:  # network errors, timeouts, TLS failures
            return self._failed(task, message, key, redact.scrub(f"{type(exc).__name__}: {exc}"))
        if 200 <= status < 300:
            self.ledger.release(task.id, key)
            log.info("callback delivered", extra={"taskId": task.id, "state": key})
            return "sent"
        return self._failed(task, message, key, f"HTTP {status}")

    def _failed(self, task: Task, message: Message, key: str | None, reason: str) -> str:
        attempts = message.attempt + 1
        if attempts >= settings().notify_max_attempts:
            error = f"callback given up after {attempts} attempts: {reason}"
            log.warning("callback given up", extra={"taskId": task.id, "reason": reason})
            if key is not None:
                self.ledger.release(task.id, key, error=error)
            else:
                self.ledger.record_error(task.id, error)
            return "gave-up"
        if key is not None:
            self.ledger.release(task.id, key)
        self.requeue(
            task.id, attempt=attempts, retry_of=key or message.retryOf,
            delay=backoff_seconds(message.attempt),
        )  # fmt: skip
        log.info("callback failed; retrying", extra={"taskId": task.id, "reason": reason})
        return "retry"


# ---- Lambda entry -------------------------------------------------------------------------

_notifier: Notifier | None = None


def notifier() -> Notifier:
    global _notifier
    if _notifier is None:
        _notifier = Notifier()
    return _notifier


def _record(record: Any) -> None:
    try:
        message = Message.from_json(record.body)
    except (ValueError, KeyError, TypeError):
        log.error("unreadable notify message dropped", extra={"body": record.body[:200]})
        return
    set_task(message.taskId)
    notifier().handle(message)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS batch entry with partial failures: a record that raised (DynamoDB or SQS trouble,
    not a failed callback, which re-enqueues itself) is retried by SQS, then dead-lettered."""
    return sqs_batch.process(event, _record, context)
