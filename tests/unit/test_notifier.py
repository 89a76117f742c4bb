"""Callback pieces without AWS: the §4.2 order, the SSRF guard, the signature, the backoff, and
the delivery decisions of the Notifier with an in-memory ledger and a fake sender."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

import pytest

from mjproxy import notifier as nt
from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.notifier import Message, Notifier, Refused, check_target, notify_order
from mjproxy.store.callbacks import Busy, Ledger, Superseded


def task(status: TaskStatus, progress: str | None = None, hook: str | None = "http://hook.test/cb"):
    return Task(
        id="1717401234567123",
        action=TaskAction.IMAGINE,
        status=status,
        progress=progress,
        submitTime=1717401234567,
        properties={"notifyHook": hook},
    )


# ---- order ---------------------------------------------------------------------------------


def test_order_follows_the_protocol():
    assert notify_order(task(TaskStatus.NOT_START)) == 0
    assert notify_order(task(TaskStatus.SUBMITTED, "0%")) == 1
    assert notify_order(task(TaskStatus.IN_PROGRESS, "0%")) == 3
    assert notify_order(task(TaskStatus.IN_PROGRESS, "46%")) == Decimal("3.46")
    assert notify_order(task(TaskStatus.IN_PROGRESS, "Waiting to start")) == 3
    assert notify_order(task(TaskStatus.SUCCESS, "100%")) == 4
    assert notify_order(task(TaskStatus.FAILURE, "100%")) == 4


# ---- SSRF guard ----------------------------------------------------------------------------


def fixed(*addresses: str):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # instance metadata
        "127.0.0.1",
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "224.0.0.1",  # multicast (is_global in Python, so checked explicitly)
        "240.0.0.1",  # reserved
        "::1",
        "fe80::1",
        "fd00:ec2::254",  # EC2 IPv6 metadata
        "::ffff:169.254.169.254",  # IPv4-mapped
        "::ffff:127.0.0.1",
    ],
)
def test_non_public_targets_are_refused(address):
    with pytest.raises(Refused):
        check_target("http://hook.test/cb", False, fixed(address))


def test_the_metadata_address_is_refused_by_ip_literal_without_any_lookup():
    def no_lookup(host, port):
        raise AssertionError("an IP literal needs no lookup")

    for url in (
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "https://169.254.169.254:443/",
    ):
        with pytest.raises(Refused, match="169.254.169.254"):
            check_target(url, False, no_lookup)


@pytest.mark.parametrize(
    "address",
    [
        "::a9fe:a9fe",  # IPv4-compatible ::169.254.169.254
        "64:ff9b::a9fe:a9fe",  # NAT64 well-known prefix -> 169.254.169.254
        "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
    ],
)
def test_ipv6_forms_embedding_a_refused_ipv4_are_refused(address):
    with pytest.raises(Refused):
        check_target("http://hook.test/cb", False, fixed(address))
    with pytest.raises(Refused, match="link-local|non-public"):
        check_target(f"http://[{address}]/cb", False, fixed())


def test_embedded_metadata_addresses_stay_refused_even_when_private_targets_are_allowed():
    for address in ("::a9fe:a9fe", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1"):
        with pytest.raises(Refused, match="metadata"):
            check_target(f"http://[{address}]/", True, fixed())


def test_ipv6_forms_embedding_a_public_ipv4_pass():
    for address in ("::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"):
        assert check_target("http://hook.test/", False, fixed(address)).address == address


def test_one_private_answer_among_public_ones_refuses_the_name():
    with pytest.raises(Refused):
        check_target("http://hook.test/", False, fixed("8.8.8.8", "10.1.1.1"))


def test_link_local_stays_refused_even_when_private_targets_are_allowed():
    with pytest.raises(Refused):
        check_target("http://169.254.169.254/", True, fixed("169.254.169.254"))
    with pytest.raises(Refused):
        check_target("http://x.test/", True, fixed("169.254.170.2"))
    assert check_target("http://127.0.0.1:9/cb", True, fixed("127.0.0.1")).address == "127.0.0.1"


@pytest.mark.allow_hosts(["127.0.0.1"])  # lets getaddrinfo run; answered from the hosts file
def test_a_name_resolving_to_loopback_is_refused_unless_allowed():
    # "localhost" is answered from the hosts file: no network involved.
    with pytest.raises(Refused, match="non-public"):
        check_target("http://localhost:8999/cb", False)
    assert check_target("http://localhost:8999/cb", True).port == 8999


@pytest.mark.parametrize(
    "url", ["ftp://hook.test/x", "file:///etc/passwd", "gopher://x/", "//hook.test/", "http:///x"]
)
def test_only_http_and_https_with_a_host(url):
    with pytest.raises(Refused):
        check_target(url, True, fixed("8.8.8.8"))


def test_a_public_target_keeps_path_query_and_the_checked_address():
    target = check_target("https://hooks.example.com/mj?k=1", False, fixed("93.184.216.34"))
    assert (target.scheme, target.host, target.port) == ("https", "hooks.example.com", 443)
    assert target.path == "/mj?k=1" and target.address == "93.184.216.34"


# ---- signature and backoff -----------------------------------------------------------------


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = b'{"id":"1"}'
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert nt.signature("k", "1700000000", body) == "sha256=" + expected


def test_backoff_grows_three_fold_and_is_capped(monkeypatch):
    monkeypatch.setenv("MJ_NOTIFY_RETRY_SECONDS", "10")
    assert [nt.backoff_seconds(n) for n in range(4)] == [10, 30, 90, 270]
    assert nt.backoff_seconds(10) == 900


def test_the_receiver_timeout_is_at_most_ten_seconds(monkeypatch):
    from mjproxy import config

    monkeypatch.setenv("MJ_NOTIFY_TIMEOUT_SECONDS", "60")
    assert config.settings().notify_timeout_seconds == 10.0


# ---- delivery decisions --------------------------------------------------------------------


class MemoryLedger:
    """The claim rules of store/callbacks.py, in memory."""

    def __init__(self, current: Task) -> None:
        self.task = current
        self.state = Ledger()
        self.errors: list[str] = []

    def read(self, task_id):
        return self.task, self.state

    def claim(self, task_id, order, key, *, now_ms, lease_ms, retry_of=None):
        s = self.state
        if s.lease is not None and s.lease >= now_ms:
            raise Busy(task_id)
        newer = s.order is None or s.order < order
        same_again = s.order == order and (
            s.key != key or s.lease is not None or (retry_of is not None and s.key == retry_of)
        )
        if not (newer or same_again):
            raise Superseded(task_id)
        self.state = Ledger(order, key, now_ms + lease_ms, s.error)

    def release(self, task_id, key, error=None):
        if self.state.key == key:
            self.state = Ledger(self.state.order, key, None, error or self.state.error)
            if error:
                self.errors.append(error)

    def record_error(self, task_id, error):
        self.errors.append(error)


class Harness:
    def __init__(self, current: Task, statuses=(200,)) -> None:
        self.ledger = MemoryLedger(current)
        self.sent: list[tuple[str, dict]] = []
        self.statuses = list(statuses)
        self.requeued: list[dict] = []
        self.notifier = Notifier(
            ledger=self.ledger,
            sender=self.send,
            resolver=fixed("93.184.216.34"),
            clock=lambda: 1_700_000_000_000,
            requeue=lambda task_id, **kw: self.requeued.append(kw),
        )

    def send(self, target, body, headers, timeout):
        assert timeout <= 10
        self.sent.append((body.decode(), headers))
        return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture(autouse=True)
def _no_aws_in_body(monkeypatch):
    # The body is the wire JSON; presigning needs no network but keep images out of it here.
    monkeypatch.setattr("mjproxy.images.presign", lambda key: f"https://img.test/{key}")


def test_each_state_is_sent_once_and_never_an_older_one():
    h = Harness(task(TaskStatus.IN_PROGRESS, "46%"))
    assert h.notifier.handle(Message("1717401234567123")) == "sent"
    assert h.notifier.handle(Message("1717401234567123")) == "superseded"  # same state again
    h.ledger.task = task(TaskStatus.IN_PROGRESS, "15%")  # an older state (cannot really happen)
    assert h.notifier.handle(Message("1717401234567123")) == "superseded"
    h.ledger.task = task(TaskStatus.SUCCESS, "100%")
    assert h.notifier.handle(Message("1717401234567123")) == "sent"
    assert [b.split('"status":"')[1].split('"')[0] for b, _ in h.sent] == [
        "IN_PROGRESS",
        "SUCCESS",
    ]


def test_a_failed_delivery_is_retried_with_backoff_then_given_up(monkeypatch):
    monkeypatch.setenv("MJ_NOTIFY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("MJ_NOTIFY_RETRY_SECONDS", "5")
    h = Harness(task(TaskStatus.SUCCESS, "100%"), statuses=[500, 502, 503])
    assert h.notifier.handle(Message("1717401234567123")) == "retry"
    assert h.requeued[-1] == {"attempt": 1, "retry_of": "SUCCESS|100%", "delay": 5}
    assert h.notifier.handle(Message("1717401234567123", **_kw(h.requeued[-1]))) == "retry"
    assert h.requeued[-1] == {"attempt": 2, "retry_of": "SUCCESS|100%", "delay": 15}
    assert h.notifier.handle(Message("1717401234567123", **_kw(h.requeued[-1]))) == "gave-up"
    assert len(h.sent) == 3
    assert [hd["X-Mj-Delivery-Attempt"] for _, hd in h.sent] == ["1", "2", "3"]
    assert h.ledger.errors == ["callback given up after 3 attempts: HTTP 503"]


def _kw(requeued: dict) -> dict:
    return {"attempt": requeued["attempt"], "retryOf": requeued["retry_of"]}


def test_network_errors_are_retried_too():
    h = Harness(task(TaskStatus.SUBMITTED, "0%"))

    def broken(*a):
        raise TimeoutError("timed out")

    h.notifier.sender = broken
    assert h.notifier.handle(Message("1717401234567123")) == "retry"
    assert h.requeued[-1]["retry_of"] == "SUBMITTED|0%"


def test_a_busy_task_is_looked_at_again_shortly():
    h = Harness(task(TaskStatus.SUBMITTED, "0%"))
    h.ledger.state = Ledger(Decimal(1), "SUBMITTED|0%", 1_700_000_000_000 + 5000)
    assert h.notifier.handle(Message("1717401234567123")) == "busy"
    assert h.requeued[-1]["delay"] == nt.BUSY_DELAY_SECONDS and h.requeued[-1]["waits"] == 1


def test_nothing_is_sent_without_a_hook_or_for_not_start():
    assert (
        Harness(task(TaskStatus.SUCCESS, "100%", hook=None)).notifier.handle(Message("1"))
        == "no-hook"
    )
    assert Harness(task(TaskStatus.NOT_START)).notifier.handle(Message("1")) == "not-started"


def test_a_refused_target_is_recorded_and_never_called():
    h = Harness(task(TaskStatus.SUCCESS, "100%", hook="http://169.254.169.254/latest/"))
    assert h.notifier.handle(Message("1717401234567123")) == "refused"
    assert h.sent == [] and h.requeued == []
    assert "169.254.169.254" in h.ledger.errors[0]


def test_signed_when_a_secret_is_configured(monkeypatch):
    monkeypatch.setenv("MJ_NOTIFY_SIGNING_SECRET", "whsec")
    h = Harness(task(TaskStatus.SUCCESS, "100%"))
    h.notifier.handle(Message("1717401234567123"))
    body, headers = h.sent[0]
    assert headers["X-Mj-Timestamp"] == "1700000000"
    assert headers["X-Mj-Signature"] == nt.signature("whsec", "1700000000", body.encode())
    assert headers["Content-Type"] == "application/json"


def test_unsigned_without_a_secret():
    h = Harness(task(TaskStatus.SUCCESS, "100%"))
    h.notifier.handle(Message("1717401234567123"))
    assert "X-Mj-Signature" not in h.sent[0][1]
