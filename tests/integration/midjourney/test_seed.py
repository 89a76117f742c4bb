"""GET /mj/task/{id}/image-seed on the midjourney provider, against the simulator: the echoed
--seed of an imagine, else the peers' flow in the account's DM channel with the bot (/show, the
✉️ reaction, the "**Job ID** … **seed**" answer); the seed is kept on the task."""

from __future__ import annotations

import pytest
from moto import mock_aws

from mjproxy.providers.midjourney import seed as seed_module
from mjsim import seed as sim_seed
from tests.integration.midjourney.conftest import MjSystem, make_system
from tests.integration.midjourney.test_midjourney import change, imagine, sim_job
from tests.scenarios import fetch, run_to_end


@pytest.fixture
def mj_dm(monkeypatch, sim):
    """One account whose DM channel with the bot is configured (privateChannelId); the DM reads
    move the simulated clock on, so the flow needs no sleeping."""
    monkeypatch.setattr(seed_module.time, "sleep", lambda s: sim.advance(s))
    account = sim.add_account()
    dm = sim_seed.open_dm(sim, account)
    with mock_aws():
        cfg = sim.instance_config(account, coreSize=3, privateChannelId=dm)
        yield MjSystem(make_system(monkeypatch, sim, [cfg]), sim, account)


def image_seed(mj, task_id: str) -> dict:
    r = mj.get(f"/mj/task/{task_id}/image-seed")
    assert r.status == 200, r.text
    return r.json()


def test_an_imagines_seed_is_the_one_it_was_sent_with_and_costs_no_call(mj_dm):
    task = run_to_end(mj_dm, imagine(mj_dm, "a red fox in snow"))
    before = len(mj_dm.sim.calls)
    out = image_seed(mj_dm, task["id"])
    assert (out["code"], out["description"]) == (1, "成功")
    assert f"--seed {out['result']} " in task["properties"]["finalPrompt"] + " "
    assert len(mj_dm.sim.calls) == before


def test_an_upscales_seed_comes_from_midjourneys_dm(mj_dm):
    parent = run_to_end(mj_dm, imagine(mj_dm, "a lighthouse at dusk"))
    up_id = change(mj_dm, parent["id"], "UPSCALE", 2)
    run_to_end(mj_dm, up_id)
    job = sim_job(mj_dm, up_id)
    interactions = mj_dm.sim.count("interactions", "POST")

    out = image_seed(mj_dm, up_id)

    assert out == {"code": 1, "description": "成功", "result": str(sim_seed.job_seed(job)),
                   "properties": {}}  # fmt: skip
    assert mj_dm.sim.count("interactions", "POST") == interactions + 1  # the /show
    assert mj_dm.sim.count("reaction", "PUT") == 1
    events = [e for e in mj_dm.sim.log if e["event"] in ("show", "reaction")]
    assert [e["event"] for e in events] == ["show", "reaction"]
    assert events[0]["job"] == job.id and events[1]["emoji"] == "✉️"
    assert fetch(mj_dm, up_id)["seed"] == out["result"]  # kept on the task
    calls = len(mj_dm.sim.calls)
    assert image_seed(mj_dm, up_id)["result"] == out["result"]
    assert len(mj_dm.sim.calls) == calls  # asked once


def test_without_a_dm_channel_the_answer_says_what_is_missing(mj):
    parent = run_to_end(mj, imagine(mj, "a boat"))
    up_id = change(mj, parent["id"], "UPSCALE", 1)
    run_to_end(mj, up_id)
    out = image_seed(mj, up_id)
    assert (out["code"], out["description"]) == (4, "请配置私聊频道")
    assert fetch(mj, up_id)["seed"] is None


def test_an_unfinished_or_text_task_has_no_seed(mj_dm):
    running = imagine(mj_dm, "a slow glacier")
    assert (image_seed(mj_dm, running)["code"], image_seed(mj_dm, running)["description"]) == (
        4, "关联任务状态错误",
    )  # fmt: skip
    mj_dm.drain()
    r = mj_dm.post("/mj/submit/shorten", {"prompt": "a slow glacier at dawn, epic"})
    shorten_id = r.json()["result"]
    run_to_end(mj_dm, shorten_id)
    out = image_seed(mj_dm, shorten_id)
    assert (out["code"], out["description"]) == (4, "关联任务状态错误")


def test_no_answer_within_the_budget_says_so(monkeypatch, mj_dm):
    parent = run_to_end(mj_dm, imagine(mj_dm, "a kite"))
    up_id = change(mj_dm, parent["id"], "UPSCALE", 3)
    run_to_end(mj_dm, up_id)
    monkeypatch.setattr(sim_seed, "ANSWER_SECONDS", 600.0)  # the bot does not answer in time
    out = image_seed(mj_dm, up_id)
    assert (out["code"], out["description"]) == (4, "超时，未找到 seed")
    assert fetch(mj_dm, up_id)["seed"] is None
