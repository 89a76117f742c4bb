"""The poller's cursor: what it reads again (running jobs, unclaimed messages for a grace period)
and what it never matches twice (messages of jobs whose task ended)."""

from __future__ import annotations

import pytest

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers.midjourney import poller as poller_mod
from mjproxy.providers.midjourney.poller import Poller
from mjproxy.providers.midjourney.state import PollerState

MJ = {"id": "936929561302675456"}
GRID = [{"url": "https://cdn.discordapp.com/a/b/u_owl_0f1e2d3c-aaaa-bbbb-cccc-1234567890ab.png"}]


class FakePoller(Poller):
    def __init__(self, results: dict[str, str] | None = None) -> None:  # no AWS
        self.applied: list[tuple[str, str, str]] = []
        self.results = results or {}

    def _apply(self, event, cand, client):
        self.applied.append((event.message.id, event.kind, cand.task.id))
        return self.results.get(event.kind, "active")


def task(tid: str, prompt: str = "owl", sent: int = 1) -> Task:
    return Task(id=tid, action=TaskAction.IMAGINE, status=TaskStatus.SUBMITTED, prompt=prompt,
                promptEn=prompt, providerState={"sentAt": sent})  # fmt: skip


def message(mid: int, content: str, ix: str, **extra) -> dict:
    return {"id": str(mid), "content": content, "author": MJ,
            "interaction": {"id": ix, "name": "imagine"}, **extra}  # fmt: skip


def test_a_running_jobs_message_keeps_the_cursor_behind_it():
    p, state = FakePoller(), PollerState(after="10")
    msgs = [message(20, "**owl** - <@1> (31%) (fast)", "7"), message(30, "hello", "x",
                                                                     author={"id": "5"})]  # fmt: skip
    assert p._process(msgs, [task("1")], state, client=None) == (1, 1)
    assert state.after == "19"  # the progress message is read again next time


def test_everything_done_moves_the_cursor_to_the_newest_message():
    p, state = FakePoller({"done": "ended"}), PollerState(after="10")
    msgs = [message(20, "**owl** - <@1> (fast)", "7", attachments=GRID)]
    p._process(msgs, [task("1")], state, client=None)
    assert state.after == "20" and "7" in state.retired


def test_a_finished_jobs_messages_are_never_matched_to_a_sibling():
    # Task 1 finished with the message of interaction 7; task 2 has the same prompt and no seed.
    p, state = FakePoller({"done": "ended"}), PollerState(after="10")
    first_done = message(20, "**owl** - <@1> (fast)", "7", attachments=GRID)
    p._process([first_done], [task("1", sent=1), task("2", sent=2)], state, client=None)
    assert p.applied == [("20", "done", "1")]
    p.applied.clear()
    p._process([first_done], [task("2", sent=2)], state, client=None)  # read again
    assert p.applied == []


def test_an_unclaimed_message_is_read_again_for_a_grace_period_only(monkeypatch):
    clock = {"now": 1_000_000}
    monkeypatch.setattr(poller_mod, "now_ms", lambda: clock["now"])
    p, state = FakePoller(), PollerState(after="10")
    stray = [message(20, "**someone else** - <@1> (fast)", "9", attachments=GRID)]
    p._process(stray, [task("1", prompt="owl")], state, client=None)
    assert state.after == "19"  # maybe our task's write was not visible yet
    clock["now"] += poller_mod.UNCLAIMED_GRACE_MS + 1
    p._process(stray, [task("1", prompt="owl")], state, client=None)
    assert state.after == "20" and state.unclaimed == {}


def test_the_next_delay_doubles_while_quiet_up_to_the_ceiling_and_resets_on_a_change():
    delays, delay = [], 0.0  # a fresh chain's first message goes out at once
    for quiet in (True, True, True, False, True):
        delay = poller_mod.next_delay(delay, 3.0, 12.0, quiet)
        delays.append(delay)
    assert delays == [6.0, 12.0, 12.0, 3.0, 6.0]
    assert poller_mod.next_delay(3.0, 3.0, 3.0, True) == 3.0  # ceiling = interval: no back-off


def test_the_ceiling_defaults_to_twice_the_interval_and_is_never_below_it(monkeypatch):
    from mjproxy.config import ConfigError
    from mjproxy.providers.midjourney.account import DiscordSettings

    monkeypatch.delenv("MJ_DISCORD_POLL_MAX_SECONDS", raising=False)
    monkeypatch.delenv("MJ_MIDJOURNEY_PREVIEWS", raising=False)
    default = DiscordSettings.from_env()
    assert default.max_poll_seconds(3.0) == 6.0 and default.previews == "link"
    monkeypatch.setenv("MJ_DISCORD_POLL_MAX_SECONDS", "2")
    assert DiscordSettings.from_env().max_poll_seconds(3.0) == 3.0
    monkeypatch.setenv("MJ_MIDJOURNEY_PREVIEWS", "keep")
    with pytest.raises(ConfigError):
        DiscordSettings.from_env()


def test_an_unbound_task_keeps_the_poller_at_its_interval():
    bound = Task(id="2", action=TaskAction.IMAGINE, status=TaskStatus.IN_PROGRESS,
                 providerState={"sentAt": 1, "messageIds": ["20"]})  # fmt: skip
    assert not poller_mod.awaiting_first_message([bound])
    assert poller_mod.awaiting_first_message([bound, task("1")])


def test_the_retired_keys_are_read_only_when_a_message_needs_them():
    loads: list[int] = []
    p, state = FakePoller(), PollerState(after="10")

    def load():
        loads.append(1)
        state.merge_retired(["7"], 3)  # interaction 7's task ended in an earlier run

    human = [message(30, "hello", "x", author={"id": "5"})]
    p._process(human, [task("1")], state, client=None, load_retired=load)
    assert loads == []  # a human's message is ignored before any retired key is looked at
    old = [message(20, "**owl** - <@1> (fast)", "7", attachments=GRID)]
    p._process(old, [task("2")], state, client=None, load_retired=load)
    assert loads == [1] and p.applied == []  # read once, and the old job's message is ignored
    assert not state.retired_dirty  # nothing to write back
