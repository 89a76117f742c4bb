"""Matched messages become outcomes: progress never goes backwards, unchanged progress writes
nothing, results carry Midjourney's ids (§4.4)."""

from __future__ import annotations

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers.midjourney import matcher as m
from mjproxy.providers.midjourney.messages import RED, Message
from mjproxy.providers.midjourney.outcomes import (
    describe_outcome,
    done_outcome,
    failure_outcome,
    progress_outcome,
)

UUID = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
MJ = {"id": "936929561302675456"}


def event(content: str, **fields) -> m.Event:
    return m.classify(Message({"id": "9", "content": content, "author": MJ, **fields}))


def running(progress: str | None, status=TaskStatus.IN_PROGRESS, **kw) -> Task:
    return Task(id="1", action=kw.pop("action", TaskAction.IMAGINE), status=status,
                progress=progress, **kw)  # fmt: skip


def test_progress_sets_midjourneys_percentage_and_ids():
    e = event("**cat --v 6.0** - <@1> (31%) (fast)",
              attachments=[{"url": f"https://cdn.discordapp.com/a/b/{UUID}_grid_0.webp?ex=1"}])  # fmt: skip
    t = running("0%", status=TaskStatus.SUBMITTED)
    out = progress_outcome(e, t, m.Candidate.of(t), preview=b"png")
    assert out.kind == "progress" and out.progress == "31%" and out.preview == b"png"
    assert out.properties == {"progressMessageId": "9", "finalPrompt": "cat --v 6.0",
                              "messageHash": UUID}  # fmt: skip


def test_progress_never_goes_backwards_and_unchanged_writes_nothing():
    e = event("**cat** - <@1> (15%) (fast)")
    t = running("46%", properties={"progressMessageId": "9", "finalPrompt": "cat"})
    cand = m.Candidate.of(t)
    cand.bind(e)
    t.providerState.update(cand.binding_state())
    assert progress_outcome(e, t, cand, None) is None
    start = event("**cat** - <@1> (Waiting to start)")
    assert progress_outcome(start, t, cand, None) is None


def test_blend_takes_the_prompt_midjourney_shows():
    e = event("**<https://s.mj.run/a> <https://s.mj.run/b> --ar 1:1** - <@1> (Waiting to start)")
    t = running(None, status=TaskStatus.SUBMITTED, action=TaskAction.BLEND)
    assert progress_outcome(e, t, m.Candidate.of(t), None).prompt.startswith("<https://s.mj.run/a>")


def test_done_grid_and_upscale():
    url = f"https://cdn.discordapp.com/a/b/user_cat_{UUID}.png?ex=1&is=2&hm=3&"
    e = event("**cat --v 6.0** - <@1> (fast)", attachments=[{"url": url}], flags=0)
    t = running("93%")
    out = done_outcome(e, t, m.Candidate.of(t), b"grid")
    assert out.result == "grid" and out.image == b"grid"
    assert out.properties == {"messageId": "9", "flags": 0, "messageHash": UUID,
                              "finalPrompt": "cat --v 6.0"}  # fmt: skip
    up = event("**cat** - Image #2 <@1>", attachments=[{"url": url}])
    t = running(None, status=TaskStatus.SUBMITTED, action=TaskAction.UPSCALE)
    assert done_outcome(up, t, m.Candidate.of(t), b"one").result == "single"


def test_describe_and_failure():
    e = event("", interaction={"id": "1", "name": "describe"},
              embeds=[{"description": "1️⃣ a\n\n2️⃣ b", "image": {"url": "u"}}])  # fmt: skip
    t = running(None, status=TaskStatus.SUBMITTED, action=TaskAction.DESCRIBE)
    out = describe_outcome(e, t, m.Candidate.of(t))
    assert out.result == "text" and out.text == "1️⃣ a\n\n2️⃣ b"
    assert out.properties["finalPrompt"] == out.text
    f = event("", embeds=[{"title": "Invalid parameter", "description": "bad", "color": RED}])
    assert failure_outcome(f, t).fail_reason == "[Invalid parameter] bad"
