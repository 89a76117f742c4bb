"""Midjourney as it answers today (issue 12): refusals of the account itself (subscription, ban,
fast hours, captcha, 403) protect the account, "Job queued" keeps a task waiting, the listener's
live session id reaches the session-scoped events, REST polling bounds an unseen refusal, and the
2024 message forms still work."""

from __future__ import annotations

import pytest
from moto import mock_aws

from mjproxy.store.instances import InstancePool
from mjproxy.store.tasks import TaskRepository
from tests.integration.midjourney.conftest import make_system, one_account
from tests.integration.midjourney.gateway_support import gateway_system
from tests.integration.midjourney.test_midjourney import change, imagine, sim_job, stored
from tests.scenarios import fetch, run_to_end


def account_entry(mj) -> dict:
    (entry,) = [a for a in mj.get("/mj/account/list").json() if a["id"] == mj.account.channel_id]
    return entry


def start_jobs(mj, *prompts: str) -> list[str]:
    ids = [imagine(mj, p) for p in prompts]
    for _ in range(3):
        mj.deliver_once()  # the interactions go out, the jobs start
    return ids


@pytest.mark.parametrize(
    ("refusal", "title"),
    [
        ("subscription_required", "Subscription required"),
        ("subscription_paused", "Subscription paused"),
        ("blocked", "Blocked"),
        ("plan_cancelled", "Plan Cancelled"),
        ("pending_mod", "Pending mod message"),
    ],
)
def test_an_account_refusal_disables_the_account_and_ends_all_its_tasks(mj, refusal, title):
    running = start_jobs(mj, "a slow river")
    mj.sim.inject(refusal)
    refused = imagine(mj, "a quiet field")
    waiting = imagine(mj, "a third one")  # may still wait for the account's pacing
    mj.drain()
    for task_id in (running[0], refused, waiting):
        task = fetch(mj, task_id)
        assert task["status"] == "FAILURE", task
        assert f"[{title}]" in task["failReason"] and mj.account.channel_id in task["failReason"]
    entry = account_entry(mj)
    assert entry["enable"] is False and title in entry["properties"]["disabledReason"]
    r = mj.post("/mj/submit/imagine", {"prompt": "after"}).json()
    assert r["code"] == 3 and r["description"] == "无可用的账号实例"
    # The operator re-enables it (the DynamoDB flag of docs/midjourney.md), no redeploy.
    InstancePool().enable(mj.account.channel_id)
    assert account_entry(mj)["enable"] is True
    assert run_to_end(mj, imagine(mj, "back again"))["status"] == "SUCCESS"


def test_exhausted_fast_hours_switch_the_account_to_relax(mj):
    mj.sim.inject("credits_exhausted")
    refused = run_to_end(mj, imagine(mj, "a fast one"))
    assert refused["status"] == "FAILURE" and "[Credits exhausted]" in refused["failReason"]
    assert "relax" in refused["failReason"]
    entry = account_entry(mj)
    assert entry["enable"] is True and entry["properties"]["mode"] == "relax"
    task = run_to_end(mj, imagine(mj, "a patient one"))
    assert task["status"] == "SUCCESS"
    assert "--relax" in sim_job(mj, task["id"]).prompt  # sent in relax mode from now on


def test_a_403_on_the_interaction_disables_the_account(monkeypatch, sim):
    account = sim.add_account()
    wrong = sim.instance_config(account, guildId="1200000000000000999")  # Missing Access
    with mock_aws():
        system = make_system(monkeypatch, sim, [wrong])
        task = run_to_end(system, imagine(system, "never allowed"))
        assert task["status"] == "FAILURE" and "Missing Access" in task["failReason"]
        assert InstancePool().instance(account.channel_id).enable is False
        assert system.post("/mj/submit/imagine", {"prompt": "x"}).json()["code"] == 3


def test_an_unseen_refusal_ends_within_the_answer_bound_in_rest_mode(monkeypatch, mj):
    """Today's captcha is a gateway modal: REST reads never see it. The task ends once the
    answer bound has passed (real time; set tiny here), with a reason that says why."""
    monkeypatch.setenv("MJ_DISCORD_ANSWER_SECONDS", "0.001")
    mj.sim.inject("captcha")
    task = run_to_end(mj, imagine(mj, "a harmless cat"))
    assert task["status"] == "FAILURE"
    assert task["failReason"].startswith("Midjourney showed no answer within 0.001 s")
    assert "gateway listener" in task["failReason"]


def test_bound_jobs_are_not_expired_by_the_answer_bound(monkeypatch, mj):
    monkeypatch.setenv("MJ_DISCORD_ANSWER_SECONDS", "0.001")
    ids = [imagine(mj, p) for p in ("a red kite", "a red kite", "a blue kite")]
    mj.drain()
    assert [fetch(mj, i)["status"] for i in ids] == ["SUCCESS"] * 3


def test_the_2024_message_forms_still_complete(monkeypatch, sim):
    sim.message_format = "2024"
    account = sim.add_account()
    with mock_aws():
        system = make_system(monkeypatch, sim, [sim.instance_config(account, coreSize=3)])
        ids = [imagine(system, "an old tram"), imagine(system, "an old tram")]
        system.drain()
        for task_id in ids:
            assert fetch(system, task_id)["status"] == "SUCCESS"
        child = change(system, ids[0], "UPSCALE", 3)
        system.drain()
        assert fetch(system, child)["status"] == "SUCCESS"
        assert "Open on website" not in (sim.messages[account.channel_id][
            fetch(system, ids[0])["properties"]["messageId"]]["content"])  # fmt: skip


# ---- with the gateway listener ------------------------------------------------------------------
@pytest.fixture
def gw(monkeypatch, sim):
    with one_account(monkeypatch, sim, gateway_system) as system:
        yield system


def test_interactions_carry_the_live_gateway_session(gw):
    task = run_to_end(gw, imagine(gw, "a paper boat"))
    assert task["status"] == "SUCCESS"
    assert sim_job(gw, task["id"]).session == gw.session.id
    # Session-scoped events reached the listener: the task was bound by its interaction id.
    state = TaskRepository().get(task["id"]).providerState
    assert state["interactionId"] == sim_job(gw, task["id"]).interaction_id


def test_a_captcha_disables_the_account_and_fails_its_tasks(gw):
    running = imagine(gw, "a long job")
    gw.deliver_once()
    gw.sim.inject("captcha")
    refused = imagine(gw, "the one that met the captcha")
    gw.drain()
    for task_id in (running, refused):
        task = fetch(gw, task_id)
        assert task["status"] == "FAILURE", task
        assert "Action required to continue" in task["failReason"]
        assert "re-enable" in task["failReason"]
    assert InstancePool().instance(gw.account.channel_id).enable is False


def test_job_queued_keeps_the_task_waiting_until_midjourney_runs_it(gw):
    gw.sim.concurrency = 1  # Midjourney's plan runs one job at a time: the others are queued
    ids = [imagine(gw, f"a queued lamp {n}") for n in range(3)]
    gw.drain()
    for task_id in ids:
        task = fetch(gw, task_id)
        assert task["status"] == "SUCCESS", task
        assert stored(task_id) == sim_job(gw, task_id).image
    assert any(j.queued_notice for j in gw.sim.jobs.values())
