"""Custom Zoom on `midjourney` (issue 11): the press opens a Discord modal, which the gateway
listener delivers; the events Lambda answers it with a type-5 interaction (the shapes of
tests/fixtures/midjourney/modals.json), and the zoom Midjourney then runs is matched to the
task. Over the real handlers, on moto, against the simulator with its gateway; not one channel
read (the `mj` fixture of test_gateway checks it)."""

from __future__ import annotations

import pytest

from tests.integration.midjourney.test_buttons import an_upscale, button
from tests.integration.midjourney.test_gateway import mj  # noqa: F401  (the gateway fixture)
from tests.integration.midjourney.test_midjourney import sim_job, stored
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
