"""POST /mj/submit/shorten on the midjourney provider: Discord's own /shorten against the
simulator. The task shows Midjourney's answer as it is (properties.finalPrompt and promptEn), its
buttons are the answer's 1️⃣..5️⃣, and pressing one imagines that prompt on Midjourney."""

from __future__ import annotations

from mjproxy.providers.midjourney import commands
from tests.integration.midjourney.test_midjourney import sim_job
from tests.scenarios import fetch, run_to_end, submit_ok

PROMPT = (
    "Peeking out from the bushes, masterpiece, octane rendering, realistic photography --ar 3:2"
)


def shorten(mj, prompt: str = PROMPT) -> str:
    return submit_ok(mj, "/mj/submit/shorten", {"prompt": prompt})


def test_shorten_sends_discords_shorten_and_shows_midjourneys_answer(mj):
    task_id = shorten(mj)
    task = run_to_end(mj, task_id)

    job = sim_job(mj, task_id)
    assert (job.kind, job.command, job.prompt) == ("shorten", "shorten", PROMPT)
    assert task["status"] == "SUCCESS" and task["action"] == "SHORTEN", task
    assert task["description"] == f"/shorten {PROMPT}"
    assert task["prompt"] == PROMPT  # the client's own
    assert task["promptEn"] == task["properties"]["finalPrompt"] == job.text
    assert job.text.startswith("## Important tokens\n") and "\n## Shortened prompts\n1️⃣ " in job.text
    assert task["buttons"] == [
        {"customId": f"MJ::Job::PromptAnalyzer::{n}", "emoji": "", "label": key, "style": 2,
         "type": 2}
        for n, key in enumerate(("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣"), start=1)
    ]  # fmt: skip
    assert mj.sim.count("interactions", "POST") == 1  # one /shorten, nothing else


def test_a_shortened_prompt_button_imagines_it_on_midjourney(mj):
    parent = run_to_end(mj, shorten(mj))
    second = [ln for ln in parent["promptEn"].splitlines() if ln.startswith("2️⃣ ")][0][3:].strip()

    child_id = submit_ok(
        mj, "/mj/submit/action", {"taskId": parent["id"], "customId": "MJ::Job::PromptAnalyzer::2"}
    )
    child = run_to_end(mj, child_id)

    assert child["status"] == "SUCCESS" and child["action"] == "IMAGINE", child
    assert child["prompt"] == second
    job = sim_job(mj, child_id)
    assert (job.kind, job.command) == ("imagine", "imagine")
    assert job.prompt.startswith(second.split(" --")[0])


def test_two_shortens_at_once_each_get_their_own_answer(mj):
    first = shorten(mj, "a very long prompt about a red fox sleeping in fresh snow at dawn")
    second = shorten(mj, "an old lighthouse on a cliff above a stormy grey sea")
    mj.drain()
    for task_id in (first, second):
        task = fetch(mj, task_id)
        assert task["status"] == "SUCCESS", task
        assert task["properties"]["finalPrompt"] == sim_job(mj, task_id).text


def test_the_shorten_command_version_comes_from_the_guild_index(mj):
    mj.sim.redeploy_commands()  # the built-in version is stale now
    commands.clear_cache()
    task = run_to_end(mj, shorten(mj))
    assert task["status"] == "SUCCESS", task
