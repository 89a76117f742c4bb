"""The customId table (plus-api.md §2.1.1/§2.1.3): every family parses, round-trips through the
buttons it offers, and the buttons follow the provider's capabilities."""

import pytest

from mjproxy.actions import (
    ALL_CAPABILITIES,
    CLASSIC_CAPABILITIES,
    FAMILIES,
    Capability,
    Modal,
    buttons_for,
    parse,
)
from mjproxy.domain.task import Task, TaskAction, TaskStatus

H = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"


def _task(action: TaskAction, prompt: str = "a fox") -> Task:
    return Task(id="1", action=action, status=TaskStatus.SUCCESS, prompt=prompt, promptEn=prompt)


@pytest.mark.parametrize(
    "custom_id, family, action, modal",
    [
        (f"MJ::JOB::upsample::2::{H}", "upsample", TaskAction.UPSCALE, Modal.NEVER),
        (f"MJ::JOB::variation::3::{H}", "variation", TaskAction.VARIATION, Modal.REMIX),
        (f"MJ::JOB::reroll::0::{H}::SOLO", "reroll", TaskAction.REROLL, Modal.REMIX),
        (f"MJ::JOB::low_variation::1::{H}::SOLO", "low_variation", TaskAction.VARIATION, Modal.REMIX),
        (f"MJ::JOB::high_variation::1::{H}::SOLO", "high_variation", TaskAction.VARIATION, Modal.REMIX),
        (f"MJ::Outpaint::50::1::{H}::SOLO", "outpaint", TaskAction.ZOOM, Modal.NEVER),
        (f"MJ::Outpaint::75::1::{H}::SOLO", "outpaint", TaskAction.ZOOM, Modal.NEVER),
        (f"MJ::CustomZoom::1::{H}", "custom_zoom", TaskAction.ZOOM, Modal.ALWAYS),
        (f"MJ::CustomZoom::{H}", "custom_zoom", TaskAction.ZOOM, Modal.ALWAYS),
        (f"MJ::JOB::pan_left::1::{H}::SOLO", "pan", TaskAction.PAN, Modal.REMIX),
        (f"MJ::JOB::upsample_v7_2x_subtle::1::{H}::SOLO", "upsample_hd", TaskAction.UPSCALE_HD, Modal.NEVER),
        (f"MJ::JOB::upsample_v5_4x::1::{H}::SOLO", "upsample_hd", TaskAction.UPSCALE_HD, Modal.NEVER),
        (f"MJ::Inpaint::1::{H}::SOLO", "inpaint", TaskAction.VARIATION, Modal.ALWAYS),
        ("MJ::Job::PicReader::4", "picreader", TaskAction.IMAGINE, Modal.NEVER),
        ("MJ::Picread::Retry", "picread_retry", TaskAction.DESCRIBE, Modal.NEVER),
    ],
)  # fmt: skip
def test_every_family_parses(custom_id, family, action, modal):
    spec = parse(custom_id)
    assert spec is not None and spec.family.name == family
    assert spec.family.action == action and spec.family.modal == modal


@pytest.mark.parametrize(
    "custom_id",
    ["", "MJ::JOB::upsample::5::x", "MJ::JOB::animate_mid::1::x::SOLO", "MJ::Outpaint::60::1::x::SOLO",
     "MJ::JOB::pan_sideways::1::x::SOLO", "hello"],
)  # fmt: skip
def test_unknown_custom_ids_do_not_parse(custom_id):
    assert parse(custom_id) is None


def test_arguments():
    assert parse(f"MJ::JOB::upsample::3::{H}").index == 3
    assert parse(f"MJ::JOB::pan_up::1::{H}::SOLO").pan_direction == "up"
    assert parse(f"MJ::Outpaint::75::1::{H}::SOLO").zoom_factor() == 1.5
    assert parse(f"MJ::Outpaint::50::1::{H}::SOLO").zoom_factor() == 2.0
    assert parse(f"MJ::CustomZoom::1::{H}").zoom_factor("a fox --zoom 1.8") == 1.8
    assert parse(f"MJ::CustomZoom::1::{H}").zoom_factor("a fox --zoom 7") == 2.0
    hd = parse(f"MJ::JOB::upsample_v6_2x_creative::1::{H}::SOLO")
    assert hd.hd_factor == 2 and hd.creative
    assert parse(f"MJ::JOB::upsample_v5_4x::1::{H}::SOLO").hd_factor == 4
    assert parse(f"MJ::JOB::high_variation::1::{H}::SOLO").strong
    assert parse(f"MJ::JOB::reroll::0::{H}::SOLO").hash == H


def _ids(buttons):
    return [b["customId"] for b in buttons]


def test_grid_buttons_in_midjourney_order():
    buttons = buttons_for(_task(TaskAction.IMAGINE), H, ALL_CAPABILITIES)
    assert [b["label"] or b["emoji"] for b in buttons] == [
        "U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"
    ]  # fmt: skip
    assert all(set(b) == {"customId", "emoji", "label", "style", "type"} for b in buttons)


def test_upscale_buttons_follow_plus_api_and_model_version():
    labels = [
        b["label"] or b["emoji"]
        for b in buttons_for(_task(TaskAction.UPSCALE), H, ALL_CAPABILITIES)
    ]
    assert labels == [
        "Upscale (Subtle)", "Upscale (Creative)", "Vary (Subtle)", "Vary (Strong)", "Vary (Region)",
        "Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom", "⬅️", "➡️", "⬆️", "⬇️",
        "Animate (High motion)", "Animate (Low motion)", "🔄",
    ]  # fmt: skip
    v5 = _ids(buttons_for(_task(TaskAction.UPSCALE, "a fox --v 5.2"), H, ALL_CAPABILITIES))
    assert f"MJ::JOB::upsample_v5_4x::1::{H}::SOLO" in v5
    v61 = _ids(buttons_for(_task(TaskAction.UPSCALE, "a fox --v 6.1"), H, ALL_CAPABILITIES))
    assert f"MJ::JOB::upsample_v6r1_2x_subtle::1::{H}::SOLO" in v61
    v8 = _ids(buttons_for(_task(TaskAction.UPSCALE, "a fox --v 8"), H, ALL_CAPABILITIES))
    assert not any("upsample_" in c for c in v8)


def test_every_offered_button_parses_back_to_its_family():
    for action in (TaskAction.IMAGINE, TaskAction.UPSCALE, TaskAction.DESCRIBE, TaskAction.PAN,
                   TaskAction.VIDEO):
        for b in buttons_for(_task(action), H, ALL_CAPABILITIES):
            spec = parse(b["customId"])
            assert spec is not None, b
            assert spec.hash in (H, None)
    offered = {
        parse(b["customId"]).family.name
        for a in (TaskAction.IMAGINE, TaskAction.UPSCALE, TaskAction.DESCRIBE, TaskAction.SHORTEN,
                  TaskAction.VIDEO)
        for b in buttons_for(_task(a), H, ALL_CAPABILITIES)
    }
    assert offered == {f.name for f in FAMILIES}


def test_buttons_follow_capabilities():
    classic = _ids(buttons_for(_task(TaskAction.UPSCALE), H, CLASSIC_CAPABILITIES))
    assert classic == [f"MJ::JOB::reroll::0::{H}::SOLO"]
    no_pan = buttons_for(_task(TaskAction.UPSCALE), H, ALL_CAPABILITIES - {Capability.OUTPAINT})
    assert not any("pan_" in c or "Zoom" in c for c in _ids(no_pan))


def test_describe_buttons_and_no_buttons_without_hash():
    ids = _ids(buttons_for(_task(TaskAction.DESCRIBE), H, ALL_CAPABILITIES))
    assert ids == [f"MJ::Job::PicReader::{i}" for i in range(1, 5)] + ["MJ::Picread::Retry"]
    assert buttons_for(_task(TaskAction.IMAGINE), None, ALL_CAPABILITIES) == []


def test_hd_upscale_is_not_offered_again():
    ids = _ids(buttons_for(_task(TaskAction.UPSCALE_HD), H, ALL_CAPABILITIES))
    assert ids and not any("upsample_" in c for c in ids)


@pytest.mark.parametrize("function", ["submit_action", "submit_modal"])
def test_the_button_functions_load_no_provider_or_pillow(function):
    """Capabilities are declared in mjproxy.providers, so pressing a button never imports a
    provider (Pillow, boto3 clients) into the API function; their bodies are read by
    mjproxy.api.body, so pydantic stays out of the cold path too."""
    from tests.unit.test_lazy_imports import imported_after

    assert imported_after(function) == set()


def test_animate_and_extend_parse_with_their_motion():
    high = parse(f"MJ::JOB::animate_high::1::{H}::SOLO")
    assert high.family.name == "animate" and high.family.action == TaskAction.VIDEO
    assert high.motion == "high" and high.family.modal == Modal.REMIX
    for cid in (f"MJ::JOB::animate_low_extend::1::{H}", f"MJ::JOB::animate_low_extend::1::{H}::SOLO"):
        spec = parse(cid)
        assert spec.family.name == "animate_extend" and spec.motion == "low" and spec.hash == H
    assert parse(f"MJ::JOB::upsample::1::{H}").motion is None
