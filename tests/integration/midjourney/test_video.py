"""VIDEO on the midjourney provider against the simulator (sim/mjsim/video.py): /submit/video is
an /imagine with `--video 1 --motion …`, Animate on an upscale presses Midjourney's own button,
and the task shows the batch's real MP4s (the first copied from the Discord attachment, the
others from Midjourney's CDN) in videoUrl / videoUrls[{url}]."""

from __future__ import annotations

from tests.integration.midjourney.test_midjourney import sim_job
from tests.integration.test_plus_video import code_desc, frames, mp4_of
from tests.scenarios import data_url, png_bytes, run_to_end, submit_ok
from tests.scenarios import fetch as fetch_task

IMAGE = data_url(png_bytes((64, 64), (200, 40, 40)))
CDN = "http://mjsim.test/mjcdn"


def video_env(monkeypatch) -> None:
    monkeypatch.setenv("MJ_MIDJOURNEY_CDN", CDN)


def test_submit_video_imagines_with_video_and_motion_and_shows_four_real_clips(mj, monkeypatch):
    video_env(monkeypatch)
    task_id = submit_ok(
        mj, "/mj/submit/video", {"prompt": "a red fox runs", "image": IMAGE, "motion": "high"}
    )
    task = run_to_end(mj, task_id)

    job = sim_job(mj, task_id)
    assert (job.kind, job.command) == ("video", "imagine")
    assert " a red fox runs" in job.prompt and "--video 1" in job.prompt
    assert "--motion high" in job.prompt and job.prompt.startswith("<https://s.mj.run/")
    assert (task["action"], task["status"], task["progress"]) == ("VIDEO", "SUCCESS", "100%")
    assert task["properties"]["messageHash"] == job.id
    urls = [v["url"] for v in task["videoUrls"]]
    assert len(urls) == 4 and task["videoUrl"] == urls[0]
    clips = [mp4_of(u) for u in urls]  # all four copied to S3 (the CDN host is allowed here)
    assert clips[0] == mj.sim.clips[f"/video/{job.id}/0_0.mp4"]
    assert clips[3] == mj.sim.clips[f"/video/{job.id}/0_3.mp4"]
    assert len(frames(clips[1])) == 12
    assert task["imageUrl"]  # the video's U1..U4 (test_video_extend.py), not 🔄
    assert [b["label"] for b in task["buttons"]] == ["U1", "U2", "U3", "U4"]


def test_clips_from_a_host_not_allowed_stay_midjourney_cdn_links(mj, monkeypatch):
    monkeypatch.setenv("MJ_MIDJOURNEY_CDN", "https://cdn.midjourney.com")
    task = run_to_end(mj, submit_ok(mj, "/mj/submit/video", {"prompt": "waves", "image": IMAGE}))
    job = sim_job(mj, task["id"])
    assert "--motion low" in job.prompt  # trueai's default motion
    urls = [v["url"] for v in task["videoUrls"]]
    assert urls[1:] == [f"https://cdn.midjourney.com/video/{job.id}/0_{i}.mp4" for i in (1, 2, 3)]
    assert mp4_of(urls[0]) == mj.sim.clips[f"/video/{job.id}/0_0.mp4"]  # the Discord attachment


def test_animate_on_an_upscale_presses_midjourneys_button(mj, monkeypatch):
    video_env(monkeypatch)
    grid = run_to_end(mj, submit_ok(mj, "/mj/submit/imagine", {"prompt": "a lighthouse"}))
    up = run_to_end(
        mj, submit_ok(mj, "/mj/submit/change", {"taskId": grid["id"], "action": "UPSCALE",
                                                 "index": 2})  # fmt: skip
    )
    up_hash = up["properties"]["messageHash"]
    animate = [b for b in up["buttons"] if "animate" in b["customId"]]
    assert animate == [
        {"customId": f"MJ::JOB::animate_high::1::{up_hash}::SOLO", "emoji": "🎞️",
         "label": "Animate (High motion)", "style": 2, "type": 2},
        {"customId": f"MJ::JOB::animate_low::1::{up_hash}::SOLO", "emoji": "🎞️",
         "label": "Animate (Low motion)", "style": 2, "type": 2},
    ]  # fmt: skip
    before = mj.sim.count("interactions", "POST")
    child_id = submit_ok(
        mj, "/mj/submit/action", {"taskId": up["id"], "customId": animate[1]["customId"]}
    )
    child = run_to_end(mj, child_id)

    assert (child["action"], child["status"]) == ("VIDEO", "SUCCESS"), child
    assert child["parentId"] == up["id"]
    assert mj.sim.count("interactions", "POST") == before + 1  # one press, nothing else
    job = sim_job(mj, child_id)
    assert job.kind == "video" and job.prompt.endswith("--video 1 --motion low")
    assert len(child["videoUrls"]) == 4
    assert mp4_of(child["videoUrl"]) == mj.sim.clips[f"/video/{job.id}/0_0.mp4"]


def test_extend_on_an_account_with_remix_off_is_refused_with_the_reason(mj, monkeypatch):
    # Midjourney takes the extend prompt only in its Remix window (test_video_extend.py)
    video_env(monkeypatch)
    task = run_to_end(mj, submit_ok(mj, "/mj/submit/video", {"prompt": "p", "image": IMAGE}))
    presses = mj.sim.count("interactions")
    r = mj.post(
        "/mj/submit/video",
        {"prompt": "more", "action": "extend", "taskId": task["id"], "index": 0},
    )
    code, desc = code_desc(r)
    assert (code, desc.split(": video extend")[0]) == (4, "服务不支持: 视频延展 (extend)")
    assert "opens only with Remix mode on" in desc and mj.sim.count("interactions") == presses


def test_two_animates_of_one_upscale_and_two_videos_at_once_each_get_their_own_job(
    mj, monkeypatch
):
    video_env(monkeypatch)
    grid = run_to_end(mj, submit_ok(mj, "/mj/submit/imagine", {"prompt": "a lighthouse"}))
    up = run_to_end(
        mj, submit_ok(mj, "/mj/submit/change", {"taskId": grid["id"], "action": "UPSCALE",
                                                 "index": 1})  # fmt: skip
    )
    presses = {
        motion: submit_ok(mj, "/mj/submit/action", {"taskId": up["id"], "customId": b["customId"]})
        for b in up["buttons"]
        if (motion := b["customId"].split("::")[2].removeprefix("animate_")) in ("high", "low")
    }
    videos = {
        motion: submit_ok(mj, "/mj/submit/video",
                          {"prompt": "same words", "image": IMAGE, "motion": motion})
        for motion in ("high", "low")
    }  # fmt: skip
    mj.drain()
    for motion, task_id in [*presses.items(), *videos.items()]:
        task = fetch_task(mj, task_id)
        job = sim_job(mj, task_id)
        assert task["status"] == "SUCCESS", task
        assert f"--motion {motion}" in job.prompt
        assert mp4_of(task["videoUrl"]) == mj.sim.clips[f"/video/{job.id}/0_0.mp4"]
