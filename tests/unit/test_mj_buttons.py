"""On `midjourney` a result's buttons are the ones Midjourney attached to the Discord message
(issue 11 item 1): the fixture corpus's components (tests/fixtures/midjourney/completions.json,
each fixture naming its peer source) in the protocol's `{customId, emoji, label, style, type}`,
link buttons and ids no family knows left out."""

from __future__ import annotations

import json
from pathlib import Path

from mjproxy.actions import ALL_CAPABILITIES, CLASSIC_CAPABILITIES, parse
from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers.midjourney import matcher as m
from mjproxy.providers.midjourney.buttons import buttons_hash, hidden_families, result_buttons
from mjproxy.providers.midjourney.messages import Message
from mjproxy.providers.midjourney.outcomes import describe_outcome, done_outcome

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "midjourney"
FIXTURES = {f["name"]: f for f in json.loads((CORPUS / "completions.json").read_text())}
UUID = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"


def message(name: str) -> Message:
    return Message(FIXTURES[name]["d"])


def test_a_grid_shows_midjourneys_u_reroll_v_buttons_in_its_order():
    buttons = result_buttons(message("imagine v7 fast"))
    assert [b["label"] or b["emoji"] for b in buttons] == [
        "U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"
    ]  # fmt: skip
    assert buttons[0] == {"customId": f"MJ::JOB::upsample::1::{UUID}", "emoji": "", "label": "U1",
                          "style": 2, "type": 2}  # fmt: skip
    assert buttons[4]["customId"] == f"MJ::JOB::reroll::0::{UUID}::SOLO"


def test_an_upscale_shows_its_follow_ups_without_the_web_link():
    msg = message("upscale Image #4")
    assert any(b.get("style") == 5 for b in msg.buttons)  # the fixture has the "Web" link
    buttons = result_buttons(msg)
    # "Web" left out, and the two modal buttons (Vary (Region), Custom Zoom: MODAL_FAMILIES;
    # Custom Zoom only with the gateway listener, below)
    assert len(buttons) == len(msg.buttons) - 3 and all(b["style"] != 5 for b in buttons)
    labels = [b["label"] for b in buttons]
    assert labels[:5] == ["Upscale (Subtle)", "Upscale (Creative)", "Vary (Subtle)",
                          "Vary (Strong)", "Zoom Out 2x"]  # fmt: skip
    assert "Vary (Region)" not in labels and "Custom Zoom" not in labels
    # custom emoji by name, unicode ones as they are
    assert buttons[0]["emoji"] == "upscale_1" and buttons[2]["emoji"] == "🪄"
    assert all(parse(b["customId"]) is not None for b in buttons)
    assert buttons_hash(buttons) == UUID
    with_gateway = [b["label"] for b in result_buttons(msg, hidden=hidden_families(True))]
    assert "Custom Zoom" in with_gateway and "Vary (Region)" not in with_gateway
    assert len(with_gateway) == len(buttons) + 1
    # Remix mode on, no listener: the remix-able buttons would open a window nobody receives
    remix_rest = [b["label"] for b in result_buttons(msg, hidden=hidden_families(False, True))]
    assert "Vary (Strong)" not in remix_rest and "Upscale (Subtle)" in remix_rest
    assert result_buttons(msg, hidden=hidden_families(True, True)) == result_buttons(
        msg, hidden=hidden_families(True)
    )


def test_unknown_ids_and_families_the_provider_cannot_press_are_left_out():
    raw = {"components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "U1", "custom_id": f"MJ::JOB::upsample::1::{UUID}"},
        {"type": 2, "style": 2, "emoji": {"name": "❤️"}, "custom_id": f"MJ::BOOKMARK::{UUID}"},
        {"type": 2, "style": 2, "label": "Vary (Strong)",
         "custom_id": f"MJ::JOB::high_variation::1::{UUID}::SOLO"},
        {"type": 2, "style": 5, "label": "Web", "url": f"https://www.midjourney.com/jobs/{UUID}"},
    ]}]}  # fmt: skip
    assert [b["label"] for b in result_buttons(Message(raw))] == ["U1", "Vary (Strong)"]
    assert [b["label"] for b in result_buttons(Message(raw), CLASSIC_CAPABILITIES)] == ["U1"]
    assert result_buttons(Message({"components": []}), ALL_CAPABILITIES) == []


def _task(action: TaskAction, parent_hash: str = "grid-hash") -> Task:
    t = Task(id="1717401234567123", action=action, status=TaskStatus.IN_PROGRESS, prompt="girl",
             promptEn="girl", progress="15%")  # fmt: skip
    t.properties["messageHash"] = parent_hash
    return t


def test_a_finished_upscale_carries_the_message_buttons_and_their_hash():
    fixture = dict(FIXTURES["upscale Image #4"]["d"])
    # The upscale's file named after its grid's job (a form trueai handles): the buttons still
    # carry the upscale's own job, which is what a press on it must name.
    att = dict(fixture["attachments"][0])
    att["url"] = att["url"].replace(UUID, "11111111-2222-3333-4444-555555555555")
    fixture["attachments"] = [att]
    event = m.classify(Message(fixture))
    task = _task(TaskAction.UPSCALE)
    out = done_outcome(event, task, m.Candidate.of(task), b"png")
    assert out.result == "single"
    assert out.buttons == result_buttons(Message(fixture))
    assert out.properties["messageHash"] == UUID


def test_an_hd_upscale_is_one_image_with_its_own_buttons():
    event = m.classify(message("v7 upscale done"))
    task = _task(TaskAction.UPSCALE_HD)
    out = done_outcome(event, task, m.Candidate.of(task), b"png")
    assert (
        out.result == "single"
        and out.buttons
        and all(parse(b["customId"]) is not None for b in out.buttons)
    )


def test_a_describe_result_carries_its_picreader_buttons():
    raw = {"id": "9", "author": {"id": "936929561302675456"}, "content": "",
           "interaction": {"id": "1", "name": "describe"},
           "embeds": [{"description": "1️⃣ a\n\n2️⃣ b", "image": {"url": "u"}}],
           "components": [{"type": 1, "components": [
               *({"type": 2, "style": 2, "label": str(i), "custom_id": f"MJ::Job::PicReader::{i}"}
                 for i in range(1, 5)),
               {"type": 2, "style": 2, "emoji": {"name": "🔄"}, "custom_id": "MJ::Picread::Retry"},
           ]}]}  # fmt: skip
    event = m.classify(Message(raw))
    task = _task(TaskAction.DESCRIBE)
    out = describe_outcome(event, task, m.Candidate.of(task))
    assert [b["customId"] for b in out.buttons] == [
        *(f"MJ::Job::PicReader::{i}" for i in range(1, 5)),
        "MJ::Picread::Retry",
    ]
