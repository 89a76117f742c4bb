"""The local mode keeps its work in its data directory: after a clean stop or a SIGKILL, finished
tasks, their images (at the URLs handed out before) and follow-up actions still work (issue 14)."""

from __future__ import annotations

import requests

from .conftest import Running

PROMPT = {"prompt": "a lighthouse at dusk --ar 3:2"}


def _finished(running: Running) -> dict:
    task_id = running.post("/mj/submit/imagine", PROMPT).json()["result"]
    task = running.wait(task_id)[-1]
    assert task["status"] == "SUCCESS"
    return task


def test_a_restart_keeps_tasks_images_and_their_urls(tmp_path):
    env = {"MJ_LOCAL_STEP_SECONDS": "0", "MJ_DATA_DIR": str(tmp_path / "data")}
    first = Running(env)
    try:
        task = _finished(first)
        image = requests.get(task["imageUrl"], timeout=30)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    finally:
        first.stop()
    second = Running(env, port=first.port)
    try:
        again = second.get(f"/mj/task/{task['id']}/fetch").json()
        assert again["status"] == "SUCCESS" and again["id"] == task["id"]
        # The URL handed out before the restart still serves the same bytes.
        old = requests.get(task["imageUrl"], timeout=30)
        assert old.status_code == 200 and old.content == image.content
        listed = second.post("/mj/task/list-by-condition", {"ids": [task["id"]]}).json()
        assert [t["id"] for t in listed] == [task["id"]]
        # A follow-up on the old task is accepted and finishes.
        up = second.post("/mj/submit/change",
                         {"taskId": task["id"], "action": "UPSCALE", "index": 2}).json()  # fmt: skip
        assert up["code"] == 1, up
        assert second.wait(up["result"])[-1]["status"] == "SUCCESS"
    finally:
        second.stop()


def test_sigkill_keeps_what_was_answered_and_a_torn_journal_still_loads(tmp_path):
    data = tmp_path / "data"
    env = {"MJ_LOCAL_STEP_SECONDS": "0", "MJ_DATA_DIR": str(data)}
    first = Running(env)
    task = _finished(first)
    first.kill()
    # A crash in the middle of a write leaves a partial last line.
    with open(data / "journal.log", "ab") as fh:
        fh.write(b'0badc0de {"d":')
    second = Running(env, port=first.port)
    try:
        assert second.get(f"/mj/task/{task['id']}/fetch").json()["status"] == "SUCCESS"
        assert requests.get(task["imageUrl"], timeout=30).status_code == 200
    finally:
        second.stop()


def test_a_task_in_flight_at_a_crash_still_ends(tmp_path):
    env = {"MJ_LOCAL_STEP_SECONDS": "1", "MJ_DATA_DIR": str(tmp_path / "data")}
    first = Running(env)
    task_id = first.post("/mj/submit/imagine", PROMPT).json()["result"]
    first.wait_for(task_id, lambda t: t["status"] == "IN_PROGRESS")
    first.kill()
    second = Running(env, port=first.port)
    try:
        final = second.wait(task_id, timeout=120)[-1]
        assert final["status"] in ("SUCCESS", "FAILURE")
        assert final["status"] == "SUCCESS" or final["failReason"]
    finally:
        second.stop()


def test_a_second_system_on_the_same_data_directory_says_so(tmp_path):
    env = {"MJ_DATA_DIR": str(tmp_path / "data")}
    first = Running(env)
    try:
        import subprocess
        import sys

        out = subprocess.run(
            [sys.executable, "-m", "mjproxy.local", "--port", "0"],
            env={**__import__("os").environ, "MJ_DATA_DIR": env["MJ_DATA_DIR"]},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 1
        assert "used by another running local mode" in out.stderr
        assert "Traceback" not in out.stderr
    finally:
        first.stop()
