"""The gateway listener as the only event source (issue 6): the scenario suite again, with REST
polling never reading the channel; ephemeral errors; a resumed connection losing nothing; the
poller taking over when the listener dies."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from mjproxy.store.instances import InstancePool
from tests.integration.midjourney.conftest import make_system
from tests.integration.midjourney.gateway_support import gateway_system
from tests.integration.midjourney.test_midjourney import (  # noqa: F401  (re-run here)
    imagine,
    test_a_banned_prompt_fails_with_midjourneys_text,
    test_an_invalid_parameter_fails_with_midjourneys_text,
    test_blend_takes_the_prompt_midjourney_shows_and_can_be_upscaled,
    test_describe_returns_midjourneys_four_prompts,
    test_errors_are_matched_to_the_right_task_among_several,
    test_imagine_goes_through_every_status_and_stores_midjourneys_grid,
    test_other_midjourney_failures_end_the_task_not_a_timeout,
    test_reference_images_are_uploaded_and_prepended_to_the_prompt,
    test_reroll_gives_a_new_grid_and_its_result_can_be_changed_again,
    test_six_concurrent_imagines_three_identical_each_get_their_own_image,
    test_upscale_u1_to_u4_each_presses_the_right_button,
    test_variations_v1_to_v4_at_once_each_get_their_own_grid,
)
from tests.scenarios import fetch, run_to_end


@pytest.fixture
def mj(monkeypatch, sim):
    """The scenario fixture, with the listener instead of the poller: after each test, not a
    single channel read happened."""
    from mjproxy.providers.midjourney import commands, http

    account = sim.add_account()
    with mock_aws():
        system = make_system(monkeypatch, sim, [sim.instance_config(account, coreSize=3)])
        gw = gateway_system(system, sim, account)
        yield gw
        assert gw.channel_reads() == 0, "the REST poller read the channel"
    http.set_transport(None)
    commands.clear_cache()


def _task_props(task_id: str) -> dict:
    from mjproxy.store.tasks import TaskRepository

    return TaskRepository().get(task_id).providerState


def test_tasks_are_bound_by_nonce_then_interaction_id(mj):
    task_id = imagine(mj, "a lantern in fog")
    task = run_to_end(mj, task_id)
    assert task["status"] == "SUCCESS"
    job = mj.sim.job_for_nonce(task["properties"]["nonce"])
    assert _task_props(task_id)["interactionId"] == job.interaction_id


def test_an_ephemeral_banned_prompt_fails_at_once_with_midjourneys_text(mj):
    mj.sim.ephemeral_errors = True  # invisible to REST reads
    task = run_to_end(mj, imagine(mj, "a bloody battlefield"))
    assert task["status"] == "FAILURE"
    assert task["failReason"].startswith("[Banned prompt detected] Sorry! Our AI moderator")


def test_ephemeral_errors_find_their_task_among_identical_prompts(mj):
    mj.sim.ephemeral_errors = True
    ok_id = imagine(mj, "a cat on a sofa")
    bad_id = imagine(mj, "a cat on a sofa --foo")
    mj.drain()
    assert fetch(mj, ok_id)["status"] == "SUCCESS"
    assert fetch(mj, bad_id)["failReason"] == (
        "[Invalid parameter] Unrecognized parameter(s): `--foo`"
    )


def test_a_dropped_connection_resumes_without_losing_events(mj):
    ids = [imagine(mj, f"a quiet harbour {n}") for n in range(3)]
    mj.deliver_once()  # the interactions go out
    last = mj.session.seq
    mj.disconnect(lost=False)  # the socket dies; the session lives on
    mj.sim.advance(30)  # every job finishes meanwhile: nothing is forwarded
    mj.system.drain()
    assert all(fetch(mj, i)["status"] != "SUCCESS" for i in ids)
    session, missed = mj.hub.resume(mj.account.token, mj.session.id, last)
    assert missed, "the hub kept the missed dispatches"
    for n, t, d in missed:  # RESUME replays them in order
        mj.forwarder.dispatch(t, d, n, session.id)
    mj.drain()
    assert [fetch(mj, i)["status"] for i in ids] == ["SUCCESS"] * 3


def test_when_the_listener_dies_the_poller_takes_over(monkeypatch, sim):
    from mjproxy.providers.midjourney import commands, http

    sim.advance_per_read = 1.0
    account = sim.add_account()
    with mock_aws():
        system = make_system(monkeypatch, sim, [sim.instance_config(account, coreSize=3)])
        gw = gateway_system(system, sim, account)
        ids = [imagine(gw, f"a falling leaf {n}") for n in range(4)]
        gw.deliver_once()
        gw.deliver_once()
        assert gw.channel_reads() == 0
        gw.disconnect(lost=True)  # killed: the gap can only be read over REST
        gw.system.drain()
        assert [fetch(gw, i)["status"] for i in ids] == ["SUCCESS"] * 4
        assert gw.channel_reads() > 0
    http.set_transport(None)
    commands.clear_cache()


def test_a_listener_killed_without_a_word_is_replaced_by_the_watchdog(monkeypatch, sim):
    from mjproxy.local.runner import invoke
    from mjproxy.providers.midjourney import commands, http

    sim.advance_per_read = 1.0
    account = sim.add_account()
    with mock_aws():
        system = make_system(monkeypatch, sim, [sim.instance_config(account, coreSize=3)])
        gw = gateway_system(system, sim, account)
        task_id = imagine(gw, "a silent bell")
        gw.system.drain()  # sent; the listener covers the account: no poller chain
        gw.session.sink = None  # SIGKILL: no "down" status...
        boto3.client("dynamodb").update_item(  # ...and its heartbeat runs out
            TableName=InstancePool().table,
            Key={"id": {"S": account.channel_id}},
            UpdateExpression="SET gatewayUntil = :z",
            ExpressionAttributeValues={":z": {"N": "1"}},
        )
        assert fetch(gw, task_id)["status"] in ("SUBMITTED", "IN_PROGRESS")
        fn, handler = system.functions["DiscordPollerFunction"]
        assert invoke(fn, handler, {"source": "aws.events"}) == {"started": 1}
        assert run_to_end(gw.system, task_id)["status"] == "SUCCESS"
    http.set_transport(None)
    commands.clear_cache()


def test_interaction_failure_fails_its_task_at_once(mj):
    task_id = imagine(mj, "a kite over dunes")
    mj.system.deliver_once()  # the interaction goes out (the job would take seconds)
    nonce = fetch(mj, task_id)["properties"]["nonce"]
    ix = mj.sim.job_for_nonce(nonce).interaction_id
    mj.forwarder.dispatch("INTERACTION_FAILURE", {"id": ix, "nonce": nonce}, 99, "s")
    mj.system.drain()
    task = fetch(mj, task_id)
    assert task["status"] == "FAILURE" and task["failReason"].startswith("[Interaction failed]")


def test_a_fatal_close_code_reported_by_the_listener_disables_the_account(mj):
    task_id = imagine(mj, "a moth at a lamp")
    mj.system.deliver_once()
    mj.forwarder.status("disabled", reason="Discord gateway closed the connection with 4004")
    mj.system.drain()
    task = fetch(mj, task_id)
    assert task["status"] == "FAILURE" and "4004" in task["failReason"]
    assert InstancePool().disabled_reason(mj.account.channel_id)
    mj.sim.advance(30)  # nothing more to read for a disabled account
    mj.system.drain()


def test_the_poller_is_needed_for_what_the_session_did_not_see():
    from mjproxy.providers.midjourney.state import AccountItem, PollerState

    now = 1_000_000
    item = AccountItem([], None, 0, PollerState(), gateway_since=now - 10, gateway_until=now + 1)
    assert item.gateway_covers(now - 10, now)  # session older than the tasks: covered
    assert not item.gateway_covers(now - 11, now)  # a task older than the session: read
    stale = AccountItem([], None, 0, PollerState(), gateway_since=now - 10, gateway_until=now)
    assert not stale.gateway_covers(now, now)  # no fresh heartbeat: the listener may be dead
