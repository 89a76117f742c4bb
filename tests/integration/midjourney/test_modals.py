"""Custom Zoom on `midjourney` (issue 11): the press opens a Discord modal, which the gateway
listener delivers; the events Lambda answers it with a type-5 interaction (the shapes of
tests/fixtures/midjourney/modals.json), and the zoom Midjourney then runs is matched to the
task. Over the real handlers, on moto, against the simulator with its gateway; not one channel
read (the `mj` fixture of test_gateway checks it)."""

from __future__ import annotations

import pytest
from moto import mock_aws

from tests.integration.midjourney.conftest import make_system
from tests.integration.midjourney.gateway_support import gateway_system
from tests.integration.midjourney.test_buttons import an_upscale, button, press
from tests.integration.midjourney.test_gateway import mj  # noqa: F401  (the gateway fixture)
from tests.integration.midjourney.test_midjourney import imagine, sim_job, stored
from tests.scenarios import fetch, run_to_end


def custom_zoom(mj, up: dict, prompt: str) -> str:  # noqa: F811
    answer = mj.post(
        "/mj/submit/action", {"taskId": up["id"], "customId": button(up, "Custom Zoom")}
    ).json()
    assert answer["code"] == 21 and answer["description"] == "Waiting for window confirm", answer
    assert fetch(mj, answer["result"])["status"] == "MODAL"
    confirmed = mj.post("/mj/submit/modal", {"taskId": answer["result"], "prompt": prompt})
    assert confirmed.json()["code"] in (1, 22), confirmed.text
    return answer["result"]


@pytest.mark.parametrize(
    ("prompt", "sent", "zoom"),
    [("a lighthouse in a storm --zoom 1.5", "a lighthouse in a storm --zoom 1.5", 1.5),
     ("a lighthouse in a storm", "a lighthouse in a storm --zoom 2", 2.0)],
    ids=["zoom-1.5", "default-zoom"],
)  # fmt: skip
def test_custom_zoom_answers_midjourneys_window_and_gets_its_result(mj, prompt, sent, zoom):  # noqa: F811
    up = an_upscale(mj)
    on_result = {b["label"] for b in up["buttons"]}
    # offered while the listener is live; Vary (Region) (an iframe editor) still is not
    assert "Custom Zoom" in on_result and "Vary (Region)" not in on_result
    task_id = custom_zoom(mj, up, prompt)
    task = run_to_end(mj, task_id)
    assert task["status"] == "SUCCESS", task
    assert task["action"] == "ZOOM" and len(task["imageUrls"]) == 4
    assert "U1" in {b["label"] for b in task["buttons"]}
    window = next(e for e in mj.sim.log if e["event"] == "modal")
    submitted = next(e for e in mj.sim.log if e["event"] == "modal_submit")
    # the window Midjourney opened for our press, answered with its own ids and the prompt
    assert window["custom_id"].startswith("MJ::OutpaintCustomZoomModal::")
    assert submitted["window"] == window["id"]
    assert (submitted["value"], submitted["zoom"]) == (sent, zoom)
    # the task holds the zoom job the submit started (its nonce), starting from the upscale
    job = sim_job(mj, task_id)
    assert job.kind == "zoom" and job.nonce == submitted["nonce"] == task["properties"]["nonce"]
    assert job.parent_message_id == up["properties"]["messageId"]
    assert stored(task_id) == job.image


def test_two_custom_zooms_of_one_upscale_each_get_their_own_job(mj):  # noqa: F811
    up = an_upscale(mj, "a harbour at dawn")
    first = custom_zoom(mj, up, "a harbour at dawn --zoom 1.2")
    second = custom_zoom(mj, up, "a harbour at dawn --zoom 1.8")
    mj.drain()
    jobs = [sim_job(mj, i) for i in (first, second)]
    assert [fetch(mj, i)["status"] for i in (first, second)] == ["SUCCESS", "SUCCESS"]
    assert [j.prompt for j in jobs] == [
        "a harbour at dawn --zoom 1.2",
        "a harbour at dawn --zoom 1.8",
    ]
    assert stored(first) == jobs[0].image and stored(second) == jobs[1].image


def test_a_window_delivered_twice_is_answered_once(mj):  # noqa: F811
    # SQS delivers at least once, and the listener resends after a RESUME
    send, repeated = mj.forwarder.dispatch, []

    def twice(event, data, *args, **kw):
        sent = send(event, data, *args, **kw)
        if event == "INTERACTION_MODAL_CREATE":
            repeated.append(send(event, data, *args, **kw))
        return sent

    mj.forwarder.dispatch = twice
    up = an_upscale(mj)
    task = run_to_end(mj, custom_zoom(mj, up, "a lighthouse in a storm --zoom 1.5"))
    assert task["status"] == "SUCCESS", task
    assert len([e for e in mj.sim.log if e["event"] == "modal_submit"]) == 1
    assert len([e for e in mj.sim.log if e["event"] == "modal"]) == 1 and repeated == [True]


# ---- Remix mode (the account's `remix` setting; Midjourney's /settings Remix on) -------------


@pytest.fixture
def remix_mj(monkeypatch, sim):
    """The gateway system on an account with Remix mode on, in Midjourney and in its config."""
    from mjproxy.providers.midjourney import commands, http

    account = sim.add_account()
    account.remix = True
    with mock_aws():
        config = sim.instance_config(account, coreSize=3, remix=True)
        gw = gateway_system(make_system(monkeypatch, sim, [config]), sim, account)
        yield gw
        assert gw.channel_reads() == 0, "the REST poller read the channel"
    http.set_transport(None)
    commands.clear_cache()


def windows(system) -> list[tuple[str, str]]:
    """(window custom_id, value submitted) of each window answered, in order."""
    log = system.sim.log
    opened = {e["id"]: e["custom_id"] for e in log if e["event"] == "modal"}
    return [(opened[e["window"]], e["value"]) for e in log if e["event"] == "modal_submit"]


def test_with_remix_on_a_v_press_answers_the_remix_window_with_the_parents_prompt(remix_mj):
    grid = run_to_end(remix_mj, imagine(remix_mj, "a lighthouse in a storm"))
    child_id = press(remix_mj, grid["id"], button(grid, "V2"))
    child = run_to_end(remix_mj, child_id)
    assert child["status"] == "SUCCESS" and child["action"] == "VARIATION", child
    job = sim_job(remix_mj, child_id)
    assert windows(remix_mj) == [(f"MJ::RemixModal::{sim_job(remix_mj, grid['id']).id}::2::1",
                                  "a lighthouse in a storm")]  # fmt: skip
    assert job.by == "Remix (Strong)" and stored(child_id) == job.image


def test_enable_remix_confirms_a_new_prompt_for_a_pan(remix_mj):
    up = an_upscale(remix_mj)
    answer = remix_mj.post("/mj/submit/action", {
        "taskId": up["id"], "customId": button(up, emoji="⬅️"), "enableRemix": True,
    }).json()  # fmt: skip
    assert answer["code"] == 21 and answer["properties"]["remix"] is True, answer
    confirmed = remix_mj.post(
        "/mj/submit/modal", {"taskId": answer["result"], "prompt": "a lighthouse at night"}
    )
    assert confirmed.json()["code"] in (1, 22), confirmed.text
    task = run_to_end(remix_mj, answer["result"])
    assert task["status"] == "SUCCESS" and task["action"] == "PAN", task
    up_job = sim_job(remix_mj, up["id"])
    assert windows(remix_mj)[-1] == (f"MJ::PanModal::left::{up_job.id}::1", "a lighthouse at night")
    assert sim_job(remix_mj, task["id"]).prompt == "a lighthouse at night"


def test_enable_remix_rerolls_a_grid_with_a_new_prompt(remix_mj):
    grid = run_to_end(remix_mj, imagine(remix_mj, "a red fox"))
    answer = remix_mj.post("/mj/submit/action", {
        "taskId": grid["id"], "customId": button(grid, emoji="🔄"), "enableRemix": True,
    }).json()  # fmt: skip
    assert answer["code"] == 21, answer
    remix_mj.post("/mj/submit/modal", {"taskId": answer["result"], "prompt": "a blue fox"})
    task = run_to_end(remix_mj, answer["result"])
    assert task["status"] == "SUCCESS" and task["action"] == "REROLL", task
    message_id = grid["properties"]["messageId"]
    assert windows(remix_mj) == [(f"MJ::ImagineModal::{message_id}", "a blue fox")]
    assert sim_job(remix_mj, task["id"]).prompt == "a blue fox"


def test_enable_remix_on_an_account_with_remix_off_is_refused(mj):  # noqa: F811
    grid = run_to_end(mj, imagine(mj, "a red fox"))
    answer = mj.post("/mj/submit/action", {
        "taskId": grid["id"], "customId": button(grid, "V1"), "enableRemix": True,
    }).json()  # fmt: skip
    assert answer["code"] == 4 and answer.get("result") is None, answer
    assert answer["description"] == "当前账号不支持 remix，请开启 remix 功能"


def test_with_remix_on_and_no_listener_remix_buttons_are_hidden_and_a_press_refused(
    monkeypatch, sim
):
    from mjproxy.providers.midjourney import commands, http

    account = sim.add_account()
    account.remix = True
    with mock_aws():
        rest = make_system(monkeypatch, sim, [sim.instance_config(account, coreSize=3, remix=True)])
        grid = run_to_end(rest, imagine(rest, "a red fox"))
        # not offered: the window would reach nobody
        assert [b["label"] or b["emoji"] for b in grid["buttons"]] == ["U1", "U2", "U3", "U4"]
        hand_made = button(grid, "U1").replace("::upsample::", "::variation::")
        answer = rest.post("/mj/submit/action", {"taskId": grid["id"], "customId": hand_made})
        assert answer.json()["code"] == 4 and answer.json().get("result") is None, answer.text
        assert answer.json()["description"].startswith(
            "当前账号不支持该操作: this account has remix on: Midjourney answers"
        )
        assert sim.count("interactions") == 1  # the imagine only
    http.set_transport(None)
    commands.clear_cache()
