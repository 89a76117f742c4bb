"""The operator's metrics (issue 15 item 6): one EMF line per state change, with the dimensions
the template's alarms and dashboard query (template.yaml MjDashboard, *Alarm)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mjproxy import observability
from mjproxy.domain.task import Task, TaskAction, TaskStatus


@pytest.fixture
def emf(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "0")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "mjproxy")

    def lines() -> dict[str, dict]:
        out = {}
        for line in capsys.readouterr().out.splitlines():
            blob = json.loads(line)
            (definition,) = blob["_aws"]["CloudWatchMetrics"]
            (metric,) = definition["Metrics"]
            assert definition["Namespace"] == "mjproxy"
            dims = {d: blob[d] for d in definition["Dimensions"][0]}
            out[metric["Name"]] = {"value": blob[metric["Name"]], "dims": dims}
        return out

    return lines


def task(**kw) -> Task:
    base = Task(id="1", action=TaskAction.IMAGINE, status=TaskStatus.SUBMITTED, submitTime=1_000)
    return replace(base, **kw)


def test_start_reports_the_queue_wait(emf):
    before = task()
    after = task(status=TaskStatus.IN_PROGRESS, startTime=3_500)
    observability.task_changed(before, after, "bedrock")
    got = emf()
    assert got["QueueWait"]["value"] == [2500.0]
    assert got["QueueWait"]["dims"] == {"provider": "bedrock", "service": "mjproxy"}
    assert "TasksFinished" not in got


def test_success_counts_the_outcome_and_the_time_to_success(emf):
    before = task(status=TaskStatus.IN_PROGRESS, startTime=2_000)
    after = replace(before, status=TaskStatus.SUCCESS, finishTime=61_000)
    observability.task_changed(before, after, "openai")
    got = emf()
    assert got["TasksFinished"]["dims"] == {
        "outcome": "SUCCESS", "provider": "openai", "action": "IMAGINE", "service": "mjproxy"
    }
    assert got["TimeToSuccess"]["value"] == [60000.0]


def test_a_failure_is_counted_without_a_time_to_success(emf):
    before = task(status=TaskStatus.IN_PROGRESS, startTime=2_000)
    observability.task_changed(before, replace(before, status=TaskStatus.FAILURE), "local")
    got = emf()
    assert got["TasksFinished"]["dims"]["outcome"] == "FAILURE"
    assert "TimeToSuccess" not in got


def test_alarmed_metrics_carry_only_the_service_dimension(emf):
    """The alarms name {service: mjproxy} exactly; another dimension would split the metric."""
    observability.metric("TasksTimedOut", 1)
    observability.metric("AccountDisabled", 1)
    got = emf()
    assert got["TasksTimedOut"]["dims"] == {"service": "mjproxy"}
    assert got["AccountDisabled"]["dims"] == {"service": "mjproxy"}


def test_metrics_stay_off_when_disabled(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "1")
    observability.metric("TasksTimedOut", 1)
    assert capsys.readouterr().out == ""
