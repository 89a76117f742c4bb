"""Every payload of the fixture corpus (tests/fixtures/midjourney/*.json, real shapes from the
peers' code and tests, each naming its source) through the matcher's rules and the outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers.midjourney import matcher as m
from mjproxy.providers.midjourney.gateway_events import is_captcha
from mjproxy.providers.midjourney.messages import Message, job_hash
from mjproxy.providers.midjourney.outcomes import done_outcome, progress_outcome

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "midjourney"


def load(name: str) -> list[dict]:
    return json.loads((CORPUS / f"{name}.json").read_text())


def ids(fixtures: list[dict]) -> list[str]:
    return [f["name"] for f in fixtures]


MESSAGES = load("completions") + load("progress") + load("embeds")


def test_every_fixture_names_its_source():
    for name in (
        "completions",
        "progress",
        "embeds",
        "gateway",
        "hashes",
        "modals",
        "cancel",
        "shorten",
        "seed",
        "upload",
        "niji",
        "video",
    ):
        for f in load(name):
            repo_or_doc, _, where = f["source"].partition(" ")
            assert repo_or_doc and where, f["name"]
            assert ("@" in repo_or_doc and ":" in where) or repo_or_doc.endswith(".md"), f


@pytest.mark.parametrize("fixture", MESSAGES, ids=ids(MESSAGES))
def test_message_fixtures_classify_as_the_source_says(fixture):
    exp = fixture["expect"]
    event = m.classify(Message(fixture["d"]))
    assert event.kind == exp["event"], fixture["name"]
    if "prompt" in exp:
        assert event.prompt == exp["prompt"]
    if "progress" in exp:
        assert event.progress == exp["progress"]
    if "hash" in exp:
        assert event.job_hash == exp["hash"]
    if "reason" in exp:
        assert event.reason == exp["reason"]
    if "action" in exp:
        assert event.account_action == exp["action"]
    assert event.upscale == exp.get("upscale", False)
    assert event.variation == exp.get("variation", False)
    assert event.queued == exp.get("queued", False)
    if "index" in exp:
        assert event.index == exp["index"]
    if "mode" in exp:
        assert Message(fixture["d"]).status == exp["mode"]


def _task(action: TaskAction) -> Task:
    t = Task(id="1717401234567123", action=action, status=TaskStatus.IN_PROGRESS, prompt="cat",
             promptEn="cat", progress="15%")  # fmt: skip
    t.properties["messageHash"] = "parent-hash"
    return t


DONE = [f for f in MESSAGES if f["expect"]["event"] == "done"]


@pytest.mark.parametrize("fixture", DONE, ids=ids(DONE))
def test_completions_become_success_with_the_message_and_job(fixture):
    event = m.classify(Message(fixture["d"]))
    action = TaskAction.UPSCALE if event.upscale else TaskAction.IMAGINE
    task = _task(action)
    out = done_outcome(event, task, m.Candidate.of(task), b"png")
    assert out.kind == "done" and out.result == ("single" if event.upscale else "grid")
    assert out.properties["messageId"] == fixture["d"]["id"]
    msg = Message(fixture["d"])
    # the hash on Midjourney's own buttons first: it is what a press is checked against
    on_buttons = next((b["customId"] for b in out.buttons if "::" in b["customId"]), "")
    expected = (
        next((p for p in on_buttons.split("::") if len(p) == 36), None)
        or job_hash(msg.attachment_url)
        or msg.linked_job
        or "parent-hash"
    )
    assert out.properties["messageHash"] == expected  # a UUID, never "0" or "7"
    assert out.properties["messageHash"] in (fixture["expect"].get("hash", expected), "parent-hash")


PROGRESS = [f for f in MESSAGES if f["expect"]["event"] == "progress"]


@pytest.mark.parametrize("fixture", PROGRESS, ids=ids(PROGRESS))
def test_progress_moves_the_task_on(fixture):
    event = m.classify(Message(fixture["d"]))
    task = _task(TaskAction.IMAGINE)
    task.progress = "0%"
    out = progress_outcome(event, task, m.Candidate.of(task), None)
    assert out is not None and out.progress == fixture["expect"]["progress"]


@pytest.mark.parametrize("fixture", load("hashes"), ids=ids(load("hashes")))
def test_job_hashes_are_uuids(fixture):
    assert job_hash(fixture["d"]["url"]) == fixture["expect"]["hash"]


def test_gateway_captcha_and_the_vary_region_editor_are_told_apart():
    found = {f["expect"]["event"]: is_captcha(f["d"]) for f in load("gateway")
             if f["t"] == "INTERACTION_IFRAME_MODAL_CREATE"}  # fmt: skip
    assert found == {"captcha": True, "not-captcha": False}


def test_queued_notices_bind_only_by_nonce():
    queued = next(f for f in MESSAGES if f["expect"].get("queued"))
    t = Task(id="1", action=TaskAction.IMAGINE, status=TaskStatus.SUBMITTED, prompt="cat",
             promptEn="cat", providerState={"sentAt": 1})  # fmt: skip
    d = dict(queued["d"])
    d.pop("nonce")
    event, cand = m.match(Message(d), m.Candidate.of(t) and [m.Candidate.of(t)])
    assert event.kind == "start" and cand is None  # no guess: "Job queued" cannot fail a job
    t.properties["nonce"] = queued["d"]["nonce"]
    event, cand = m.match(Message(queued["d"]), [m.Candidate.of(t)])
    assert cand is not None and cand.task.id == "1"


CANCEL = [f for f in load("cancel") if f["kind"] == "message"]


@pytest.mark.parametrize("fixture", CANCEL, ids=ids(CANCEL))
def test_the_cancel_job_button_is_read_from_a_running_jobs_message(fixture):
    from mjproxy.providers.midjourney.cancel import cancel_button

    msg = Message(fixture["d"])
    assert m.classify(msg).kind == fixture["expect"]["event"]
    assert cancel_button(msg) == fixture["expect"]["cancel"]
    press = next(f for f in load("cancel") if f["kind"] == "press")
    assert sorted(cancel_button(msg) or {}) == sorted(press["fields"])


SHORTEN = [f for f in load("shorten") if f["kind"] == "message"]


@pytest.mark.parametrize("fixture", SHORTEN, ids=ids(SHORTEN))
def test_a_shorten_reply_is_a_text_result_of_the_shorten_task(fixture):
    from mjproxy.actions.table import KEYCAPS
    from mjproxy.providers import capabilities_of
    from mjproxy.providers.midjourney.buttons import result_buttons

    msg = Message(fixture["d"])
    event = m.classify(msg)
    assert event.kind == "describe"  # the matcher's text result (describe's or /shorten's)
    keyed = [ln for ln in (event.text or "").splitlines() if ln[:1] and ln[:3] in KEYCAPS[:5]]
    assert len(keyed) == fixture["expect"]["prompts"]
    assert len(result_buttons(msg, capabilities_of("midjourney"))) == fixture["expect"]["buttons"]
    shorten = Task(id="1764064525123456", action=TaskAction.SHORTEN, status=TaskStatus.SUBMITTED,
                   providerState={"sentAt": 1})  # fmt: skip
    imagine = Task(id="1764064525123457", action=TaskAction.IMAGINE, status=TaskStatus.SUBMITTED,
                   providerState={"sentAt": 1})  # fmt: skip
    found = m.locate(event, [m.Candidate.of(imagine), m.Candidate.of(shorten)])
    assert found is not None and found.task.id == shorten.id


def test_the_shorten_command_is_sent_as_the_source_shows():
    from mjproxy.providers.midjourney import payloads
    from mjproxy.providers.midjourney.account import Account
    from mjproxy.providers.midjourney.discord import FALLBACK_COMMANDS

    body = next(f for f in load("shorten") if f["kind"] == "command")["body"]
    account = Account("1", "2", "3", "token")
    sent = payloads.imagine(account, FALLBACK_COMMANDS["shorten"], "99", "$value")
    assert {k: sent[k] for k in body} == body


def test_the_seed_flow_sends_and_reads_what_the_source_shows():
    from mjproxy.providers.midjourney import payloads
    from mjproxy.providers.midjourney import seed as seed_flow
    from mjproxy.providers.midjourney.account import Account
    from mjproxy.providers.midjourney.discord import FALLBACK_COMMANDS, DiscordClient
    from mjproxy.providers.midjourney.http import HttpResponse

    fixtures = {f["kind"]: f for f in load("seed")}
    body = fixtures["command"]["body"]
    account = Account("1", "2", "3", "token")
    sent = payloads.show(account, FALLBACK_COMMANDS["show"], "99", "$channel_id", "$job_id")
    assert {k: sent[k] for k in body} == body and "guild_id" not in sent

    seen: list[tuple[str, str]] = []

    def send(method, url, headers, data, timeout):
        seen.append((method, url))
        return HttpResponse(204)

    ids = fixtures["reaction"]["path"].split("/")
    DiscordClient(account, send=send).react(ids[2], ids[4], seed_flow.ENVELOPE)
    assert seen[0][0] == "PUT" and seen[0][1].endswith(fixtures["reaction"]["path"])

    dm = fixtures["message"]
    exp = dm["expect"]
    assert seed_flow._seed_in([dm["d"]], exp["job"]) == exp["seed"]
    assert seed_flow._seed_in([dm["d"]], "00000000-0000-0000-0000-000000000000") is None


def test_uploads_send_what_the_source_shows():
    from mjproxy.providers.midjourney.account import Account
    from mjproxy.providers.midjourney.discord import DiscordClient
    from mjproxy.providers.midjourney.http import HttpResponse

    slot, message = load("upload")
    sent: list[tuple[str, str, dict]] = []

    def send(method, url, headers, data, timeout):
        sent.append((method, url, json.loads(data)))
        return HttpResponse(200, json.dumps(slot["answer"]).encode())

    client = DiscordClient(Account("1", "2", "1300000000000000001", "token"), send=send)
    name = slot["body"]["files"][0]["filename"]
    assert client.request_upload(name, 73)[1] == slot["answer"]["attachments"][0]["upload_filename"]
    client.send_upload_message(slot["answer"]["attachments"][0]["upload_filename"], name)
    for (method, url, body), f in zip(sent, (slot, message), strict=True):
        assert (method, url.endswith(f["path"]), body) == (f["method"], True, f["body"])


def test_the_niji_bot_is_addressed_as_the_source_shows():
    from mjproxy.providers.midjourney import payloads
    from mjproxy.providers.midjourney.account import NIJI_APP_ID, Account, app_of
    from mjproxy.providers.midjourney.discord import FALLBACK_COMMANDS, command_key

    app, cmds = load("niji")
    assert NIJI_APP_ID == app["application_id"] == app_of("NIJI_JOURNEY")
    for name, (cid, version) in cmds["commands"].items():
        cmd = FALLBACK_COMMANDS[command_key(name, NIJI_APP_ID)]
        assert (cmd.name, cmd.id, cmd.version, cmd.application_id) == (
            name,
            cid,
            version,
            app_of("NIJI_JOURNEY"),
        )
    account = Account("1", "2", "3", "token")
    cmd = FALLBACK_COMMANDS[command_key("imagine", NIJI_APP_ID)]
    assert payloads.imagine(account, cmd, "9", "a fox")["application_id"] == NIJI_APP_ID
    press = payloads.button(account, "9", "10", 0, "MJ::JOB::upsample::1::x", NIJI_APP_ID)
    assert press["application_id"] == NIJI_APP_ID
