"""Progress previews are stored at most every MJ_PREVIEW_MIN_SECONDS (issue 17: one S3 PUT each;
a relay polling every 15 s never sees a faster refresh)."""

from __future__ import annotations

import pytest

from mjproxy import config, images
from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers import Outcome
from mjproxy.worker import outcome_changes


@pytest.fixture
def puts(monkeypatch):
    stored: list[str] = []
    monkeypatch.setattr(
        images, "put", lambda key, data, content_type="image/png": stored.append(key)
    )
    return stored


def running(**kw) -> Task:
    return Task(
        id="1764064525123456", action=TaskAction.IMAGINE, status=TaskStatus.IN_PROGRESS, **kw
    )


def progress(pct: str) -> Outcome:
    return Outcome.in_progress(pct, delay=1, preview=b"\x89PNG preview")


def test_the_first_preview_is_stored_and_a_later_one_only_after_the_interval(puts, monkeypatch):
    monkeypatch.setenv("MJ_PREVIEW_MIN_SECONDS", "10")
    config.reset()
    first = outcome_changes(running(), progress("25%"), now=1_000_000)
    assert first["previewKey"] == "tasks/1764064525123456/preview.png"
    assert first["previewAt"] == 1_000_000 and len(puts) == 1
    task = running(previewKey=first["previewKey"], previewAt=first["previewAt"])
    soon = outcome_changes(task, progress("50%"), now=1_009_999)
    # The progress moves on; the stored preview stays the one clients see.
    assert soon["progress"] == "50%" and "previewKey" not in soon and "previewAt" not in soon
    assert len(puts) == 1
    later = outcome_changes(task, progress("75%"), now=1_010_000)
    assert later["previewAt"] == 1_010_000 and len(puts) == 2


def test_zero_stores_every_preview(puts, monkeypatch):
    monkeypatch.setenv("MJ_PREVIEW_MIN_SECONDS", "0")
    config.reset()
    task = running(previewKey="tasks/1764064525123456/preview.png", previewAt=5)
    outcome_changes(task, progress("50%"), now=5)
    assert len(puts) == 1


def test_preview_due():
    config.reset()
    assert images.preview_due(None, 0)
    assert not images.preview_due(1000, 10_999)
    assert images.preview_due(1000, 11_000)
