"""botType NIJI_JOURNEY on the midjourney provider, against the simulator's Niji bot: the task's
commands go to Niji's own application (1022952195194359889) with Niji's command ids from the
guild index, its results are read from the Niji bot's messages, and their buttons are pressed
on Niji's application."""

from __future__ import annotations

from mjproxy.providers.midjourney import commands
from mjsim import niji
from tests.integration.midjourney.test_midjourney import change, sim_job
from tests.scenarios import run_to_end, submit_ok

MJ = "936929561302675456"


def niji_imagine(mj, prompt: str) -> str:
    return submit_ok(mj, "/mj/submit/imagine", {"prompt": prompt, "botType": "NIJI_JOURNEY"})


def test_a_niji_imagine_runs_on_the_niji_bot_and_its_buttons_press_there(mj):
    task = run_to_end(mj, niji_imagine(mj, "a fox spirit in a bamboo forest"))
    assert task["status"] == "SUCCESS" and task["botType"] == "NIJI_JOURNEY", task
    job = sim_job(mj, task["id"])
    assert (job.bot, job.command) == (niji.NIJI_APP_ID, "imagine")

    up = run_to_end(mj, change(mj, task["id"], "UPSCALE", 2))

    assert up["status"] == "SUCCESS" and up["botType"] == "NIJI_JOURNEY", up
    assert sim_job(mj, up["id"]).bot == niji.NIJI_APP_ID  # pressed on Niji's application


def test_without_botType_the_midjourney_bot_runs_it(mj):
    task = run_to_end(mj, submit_ok(mj, "/mj/submit/imagine", {"prompt": "a fox"}))
    assert task["status"] == "SUCCESS"
    assert sim_job(mj, task["id"]).bot == MJ


def test_niji_command_versions_come_from_the_guild_index(mj):
    mj.sim.redeploy_commands()  # every built-in version, Niji's too, is stale now
    commands.clear_cache()
    task = run_to_end(mj, niji_imagine(mj, "a paper lantern festival"))
    assert task["status"] == "SUCCESS", task
    shorten = submit_ok(
        mj, "/mj/submit/shorten", {"prompt": "a paper lantern festival", "botType": "NIJI_JOURNEY"}
    )
    assert run_to_end(mj, shorten)["status"] == "SUCCESS"
    assert sim_job(mj, shorten).bot == niji.NIJI_APP_ID
