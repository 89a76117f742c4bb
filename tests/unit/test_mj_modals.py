"""Custom Zoom's Discord modal on `midjourney` (issue 11): what we read from Midjourney's
INTERACTION_MODAL_CREATE and what we send back, against the peers' shapes in
tests/fixtures/midjourney/modals.json (each naming its source)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mjproxy.actions import parse
from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers.midjourney import payloads
from mjproxy.providers.midjourney.account import Account
from mjproxy.providers.midjourney.modals import (
    NEEDS_GATEWAY,
    NO_MODAL,
    NO_REMIX_WINDOW,
    UNEXPECTED,
    ModalCreate,
    answer,
    answered,
    refusal,
)

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "midjourney"
FIXTURES = {f["name"]: f for f in json.loads((CORPUS / "modals.json").read_text())}
HASH = "5f6e7d8c-1a2b-4c3d-9e8f-0a1b2c3d4e5f"


def _task(custom_id: str, prompt: str) -> Task:
    return Task(id="1717401234567123", action=TaskAction.ZOOM, status=TaskStatus.SUBMITTED,
                prompt=prompt, promptEn=prompt, customId=custom_id,
                properties={"nonce": "1248060123456789600"})  # fmt: skip


def test_the_modal_create_is_read_as_the_peers_read_it():
    fixture = FIXTURES["custom zoom modal create"]
    modal = ModalCreate.of(fixture["d"])
    assert (modal.id, modal.nonce) == (fixture["d"]["id"], fixture["d"]["nonce"])
    assert modal.custom_id == fixture["expect"]["submit_custom_id"]
    assert modal.input_id == fixture["expect"]["input_id"]
    # the press's INTERACTION_SUCCESS names the same interaction (erictik, trueai)
    assert FIXTURES["press success names the modal"]["d"]["id"] == modal.id


def test_the_submit_is_trueais_zoom_body():
    want = FIXTURES["custom zoom modal submit"]["body"]
    account = Account(id="1300000000000000001", guild_id=want["guild_id"],
                      channel_id=want["channel_id"], user_token="t",
                      gateway_session=want["session_id"])  # fmt: skip
    modal = ModalCreate.of(FIXTURES["custom zoom modal create"]["d"])
    task = _task(f"MJ::CustomZoom::{HASH}", "a lighthouse in a storm --zoom 1.5")
    custom_id, input_id, value = answer(modal, task)  # type: ignore[misc]
    body = payloads.modal_submit(account, want["nonce"], modal.id, custom_id, input_id, value)
    assert body == want


@pytest.mark.parametrize("custom_id", [f"MJ::CustomZoom::{HASH}", f"MJ::CustomZoom::1::{HASH}"])
def test_a_prompt_without_zoom_gets_the_default_factor(custom_id):
    modal = ModalCreate.of(FIXTURES["custom zoom modal create"]["d"])
    assert answer(modal, _task(custom_id, "a lighthouse"))[2] == "a lighthouse --zoom 2"


REMIX = {"id": "1", "nonce": "2", "custom_id": f"MJ::RemixModal::{HASH}::2::1",
         "components": [{"type": 1, "components": [
             {"type": 4, "custom_id": "MJ::RemixModal::new_prompt"}]}]}  # fmt: skip


def test_a_remix_window_is_answered_with_its_own_ids_and_the_tasks_prompt():
    # Remix mode on: a V press is answered with a remix window (trueai's ids, modals.json)
    task = _task(f"MJ::JOB::variation::2::{HASH}", "a lighthouse at night")
    assert answer(ModalCreate.of(REMIX), task) == (
        f"MJ::RemixModal::{HASH}::2::1",
        "MJ::RemixModal::new_prompt",
        "a lighthouse at night",
    )


def test_a_window_the_task_did_not_ask_for_fails_it_with_a_reason():
    # an upscale is never remixed; a Custom Zoom expects its own window
    for custom_id in (f"MJ::JOB::upsample::1::{HASH}", f"MJ::CustomZoom::{HASH}"):
        task = _task(custom_id, "a lighthouse")
        assert answer(ModalCreate.of(REMIX), task) == UNEXPECTED.format(
            custom_id=REMIX["custom_id"]
        )


def test_late_events_of_an_answered_press_are_recognised():
    task = _task(f"MJ::CustomZoom::{HASH}", "a lighthouse")
    task.providerState["modal"] = {"id": "1", "pressNonce": "99"}
    assert answered([task], "99") and not answered([task], "98") and not answered([task], "")


def test_a_press_that_cannot_be_answered_is_refused_before_it_is_sent():
    zoom, region = parse(f"MJ::CustomZoom::{HASH}"), parse(f"MJ::Inpaint::1::{HASH}::SOLO")
    assert zoom is not None and region is not None
    assert refusal(zoom, gateway_live=True) is None
    assert refusal(zoom, gateway_live=False) == NEEDS_GATEWAY.format(label="Custom Zoom")
    assert refusal(region, gateway_live=True) == NO_MODAL.format(label="Vary (Region)")
    upscale, vary = parse(f"MJ::JOB::upsample::1::{HASH}"), parse(f"MJ::JOB::variation::1::{HASH}")
    assert upscale is not None and vary is not None
    assert refusal(upscale, gateway_live=False, remix=True) is None
    # Remix mode turns V into a window: fine with the listener, refused without it
    assert refusal(vary, gateway_live=True, remix=True) is None
    assert refusal(vary, gateway_live=False, remix=True) == NO_REMIX_WINDOW
    assert refusal(vary, gateway_live=False, remix=False) is None
