"""POST /mj/task/{id}/cancel on the midjourney provider, against the simulator: the task ends
CANCEL at once, Midjourney's own Cancel Job button is pressed on the job's progress message, the
slot goes to the next task, and no later Discord message turns the task SUCCESS or is taken for
another task's answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto import mock_aws

from mjproxy.store.tasks import TaskRepository
from tests.integration.midjourney.conftest import make_system
from tests.integration.midjourney.test_midjourney import imagine, sim_job
from tests.scenarios import fetch


def cancel(mj, task_id: str) -> dict:
    r = mj.post(f"/mj/task/{task_id}/cancel")
    assert r.status == 200, r.text
    return r.json()


def deliver_until(mj, check, rounds: int = 80) -> None:
    for _ in range(rounds):
        if check():
            return
        mj.deliver_once()
    raise AssertionError("condition not reached")


@contextmanager
def one_slot(monkeypatch: Any, sim: Any) -> Iterator[Any]:
    """One simulator account with coreSize 1: a second task waits for the first's slot."""
    account = sim.add_account()
    with mock_aws():
        yield make_system(monkeypatch, sim, [sim.instance_config(account, coreSize=1)])


def interactions(mj) -> int:
    return mj.sim.count("interactions", "POST")


def test_cancelling_a_running_job_presses_midjourneys_cancel_button(mj):
    task_id = imagine(mj, "a slow glacier at dawn")
    deliver_until(mj, lambda: fetch(mj, task_id)["status"] == "IN_PROGRESS")
    state = TaskRepository().get(task_id).providerState
    job = sim_job(mj, task_id)
    assert state["cancelButton"] == {
        "customId": f"MJ::CancelJob::ByJobid::{job.id}",
        "messageId": job.message_id,
        "flags": 0,
    }
    before = interactions(mj)

    answer = cancel(mj, task_id)

    assert answer == {"code": 1, "description": "成功", "result": task_id, "properties": {}}
    task = fetch(mj, task_id)
    assert (task["status"], task["progress"], task["failReason"]) == ("CANCEL", "100%", "取消任务")
    assert interactions(mj) == before + 1  # the Cancel Job press, nothing else
    assert job.cancelled and [e for e in mj.sim.log if e["event"] == "cancel"][0]["job"] == job.id
    mj.drain()
    assert fetch(mj, task_id)["status"] == "CANCEL"
    assert job.final_message_id is None  # Midjourney never finished it
    assert cancel(mj, task_id)["code"] == 4  # a finished task: 关联任务状态错误


def test_the_freed_slot_starts_the_next_task_and_it_succeeds(monkeypatch, sim):
    with one_slot(monkeypatch, sim) as system:
        first = imagine(system, "a lantern on a pier")
        second = imagine(system, "a kite over dunes")
        assert fetch(system, second)["status"] == "NOT_START"
        deliver_until(system, lambda: fetch(system, first)["status"] == "IN_PROGRESS")

        assert cancel(system, first)["code"] == 1

        system.drain()
        assert fetch(system, first)["status"] == "CANCEL"
        done = fetch(system, second)
        assert done["status"] == "SUCCESS", done


def test_a_job_cancelled_before_its_first_message_never_answers_for_a_sibling(mj):
    """No message bound the job yet, so there is no button to press: Midjourney runs it to the
    end. Its result must not finish the cancelled task nor a later imagine of the same prompt."""
    mj.sim.start_delay = 5.0  # Midjourney's first answer comes five channel reads later
    first = imagine(mj, "a quiet harbour")
    deliver_until(mj, lambda: fetch(mj, first)["status"] == "SUBMITTED")
    assert "cancelButton" not in TaskRepository().get(first).providerState
    assert cancel(mj, first)["code"] == 1
    second = imagine(mj, "a quiet harbour")

    mj.drain()

    assert fetch(mj, first)["status"] == "CANCEL"
    cancelled_job = sim_job(mj, first)
    assert cancelled_job.final_message_id is not None  # it ran on: nothing could stop it
    sibling = fetch(mj, second)
    assert sibling["status"] == "SUCCESS", sibling
    assert sibling["properties"]["messageHash"] == sim_job(mj, second).id != cancelled_job.id


def test_cancelling_a_waiting_task_sends_nothing_to_discord(monkeypatch, sim):
    with one_slot(monkeypatch, sim) as system:
        first = imagine(system, "a red door")
        waiting = imagine(system, "a blue door")
        before = sim.count("interactions", "POST")
        assert cancel(system, waiting)["code"] == 1
        system.drain()
        assert fetch(system, waiting)["status"] == "CANCEL"
        assert fetch(system, first)["status"] == "SUCCESS"
        assert sim.count("interactions", "POST") == before + 1  # only the first's /imagine
