"""Local tier: the documented demo (docs/midjourney.md). The simulator serves Discord on
127.0.0.1 in real time, `python -m mjproxy.local` runs with MJ_PROVIDER=midjourney against it,
and a client drives it over HTTP."""

from __future__ import annotations

import json

import pytest
import requests

from mjsim import SimServer, Simulator, Ticker
from tests.local.conftest import Running, _free_port


@pytest.fixture(scope="module")
def mj_local():
    port = _free_port()
    sim = Simulator(f"http://127.0.0.1:{port}", start_delay=0.3, step_seconds=0.3,
                    progress_steps=(31, 62, 93), upscale_seconds=0.5)  # fmt: skip
    account = sim.add_account()
    server = SimServer(sim, "127.0.0.1", port).start()
    ticker = Ticker(sim, every=0.05).start()
    running = Running({
        "MJ_PROVIDER": "midjourney",
        "MJ_INSTANCES": json.dumps([sim.instance_config(account)]),
        "MJ_DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v9",
        "MJ_DISCORD_CDN_HOSTS": f"127.0.0.1:{port}",
        "MJ_DISCORD_POLL_SECONDS": "1",
        "MJ_DISCORD_INTERACTION_INTERVAL_SECONDS": "0",
    })  # fmt: skip
    yield running, sim
    running.stop()
    ticker.stop()
    server.stop()


def test_imagine_and_upscale_through_the_simulator_over_http(mj_local):
    running, sim = mj_local
    r = running.post("/mj/submit/imagine", {"prompt": "a red fox in snow --ar 3:2"}).json()
    assert r["code"] == 1
    seen = running.wait(r["result"], timeout=60)
    final = seen[-1]
    assert final["status"] == "SUCCESS", final
    assert "IN_PROGRESS" in [t["status"] for t in seen]
    assert final["properties"]["finalPrompt"].startswith("a red fox in snow --ar 3:2 --seed ")
    job = sim.job_for_nonce(final["properties"]["nonce"])
    assert requests.get(final["imageUrl"], timeout=10).content == job.image
    up = running.post("/mj/submit/change",
                      {"taskId": final["id"], "action": "UPSCALE", "index": 2}).json()  # fmt: skip
    child = running.wait(up["result"], timeout=60)[-1]
    assert child["status"] == "SUCCESS", child
    # The user token is nowhere in what clients see.
    assert "sim-user-token" not in running.get("/mj/account/list").text
