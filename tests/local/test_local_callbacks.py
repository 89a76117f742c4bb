"""Callbacks through the embedded local system over real HTTP: the notifier's SQS pollers (three,
so deliveries race as on Lambda) POST to a receiver on 127.0.0.1, which the local run allows only
because this test configures MJ_NOTIFY_ALLOW_PRIVATE=true."""

from __future__ import annotations

import pytest

from tests.local.conftest import Running
from tests.receiver import Receiver
from tests.waiting import wait_until

ORDER = {"SUBMITTED": 1.0, "IN_PROGRESS": 3.0, "SUCCESS": 4.0, "FAILURE": 4.0}


def order(task: dict) -> float:
    value = ORDER[task["status"]]
    if task["status"] == "IN_PROGRESS" and (task["progress"] or "").endswith("%"):
        value += float(task["progress"][:-1]) / 100
    return value


@pytest.fixture(scope="module")
def system_with_callbacks():
    running = Running(
        {
            "MJ_LOCAL_STEP_SECONDS": "0",
            "MJ_NOTIFY_ALLOW_PRIVATE": "true",
            "MJ_NOTIFY_RETRY_SECONDS": "1",
        }
    )
    yield running
    running.stop()


def test_callbacks_arrive_in_order_and_a_500_is_retried(system_with_callbacks):
    def first_success_fails(body, received):
        if body["status"] == "SUCCESS" and not any(
            r.json()["status"] == "SUCCESS" for r in received
        ):
            return 500
        return None

    with Receiver(answer=first_success_fails) as receiver:
        r = system_with_callbacks.post(
            "/mj/submit/imagine", {"prompt": "a lighthouse at dusk", "notifyHook": receiver.url}
        )
        task_id = r.json()["result"]
        wait_until(
            lambda: any(b["status"] == "SUCCESS" for b in receiver.tasks()),
            60,
            lambda: f"a SUCCESS callback: {[x.answered for x in receiver.received]}",
        )
    bodies = receiver.tasks()
    assert all(b["id"] == task_id for b in bodies)
    orders = [order(b) for b in bodies]
    assert orders == sorted(orders)
    finals = [x for x in receiver.received if x.json()["status"] == "SUCCESS"]
    assert [x.answered for x in finals] == [500, 200]
    fetched = system_with_callbacks.get(f"/mj/task/{task_id}/fetch").json()
    assert bodies[-1]["status"] == fetched["status"] == "SUCCESS"


def test_the_metadata_address_is_refused_even_locally(system_with_callbacks):
    r = system_with_callbacks.post(
        "/mj/submit/imagine",
        {"prompt": "a fox", "notifyHook": "http://169.254.169.254/latest/meta-data/"},
    )
    task_id = r.json()["result"]
    task = system_with_callbacks.wait_for(task_id, lambda t: t["status"] in ("SUCCESS", "FAILURE"))
    assert task["status"] == "SUCCESS"  # a refused callback never holds a task up
