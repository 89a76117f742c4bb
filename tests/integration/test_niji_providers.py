# ruff: noqa: F811  (pytest passes the imported `backend` fixture by name)
"""`botType: NIJI_JOURNEY` on the providers without a Niji bot (issue 16 item 6): bedrock and
openai are sent the Niji style phrase (after the prompt's text, before its parameters), local
cel-shades its pictures; the task keeps the client's prompt and says what was sent."""

from __future__ import annotations

import io

from PIL import Image

from mjproxy.providers.niji import DEFAULT_STYLE
from tests.integration.test_provider_scenarios import (  # noqa: F401  (the `backend` fixture)
    CELL,
    NEGATIVE,
    PROMPT,
    TEXT,
    assert_grid,
    backend,
    object_bytes,
)
from tests.scenarios import run_to_end, submit_ok

STYLED = f"{TEXT}, {DEFAULT_STYLE}"


def _imagine(system, bot: str, prompt: str = PROMPT) -> dict:
    body = {"prompt": prompt, "botType": bot}
    return run_to_end(system, submit_ok(system, "/mj/submit/imagine", body))


def test_a_niji_imagine_sends_the_style_phrase_and_keeps_the_clients_prompt(backend, system):
    backend.grid(CELL)
    task = _imagine(system, "NIJI_JOURNEY")
    assert_grid(task, CELL)
    assert (task["botType"], task["prompt"]) == ("NIJI_JOURNEY", PROMPT)
    calls = backend.take_calls()
    if backend.name == "bedrock":
        assert {c.body["prompt"] for c in calls} == {STYLED}
        assert {c.body["negative_prompt"] for c in calls} == {NEGATIVE}  # parameters still read
        assert task["properties"]["finalPrompt"] == STYLED
    else:
        [call] = calls
        assert call.body["prompt"] == f"{STYLED}\n\nDo not include: {NEGATIVE}."
        assert call.body["size"] == "1536x1024"  # --ar 3:2 still read
        assert task["properties"]["finalPrompt"].startswith(STYLED)


def test_a_midjourney_bot_imagine_sends_the_prompt_unstyled(backend, system):
    backend.grid(CELL)
    _imagine(system, "MID_JOURNEY")
    assert all(DEFAULT_STYLE not in c.body["prompt"] for c in backend.take_calls())


def test_the_variation_of_a_niji_grid_is_niji_too(backend, system):
    backend.grid(CELL)
    parent = _imagine(system, "NIJI_JOURNEY")
    backend.take_calls()
    backend.grid(CELL)
    body = {"taskId": parent["id"], "action": "VARIATION", "index": 2}
    child = run_to_end(system, submit_ok(system, "/mj/submit/change", body))
    assert child["botType"] == "NIJI_JOURNEY"
    assert all(STYLED in c.body["prompt"] for c in backend.take_calls())


def _colours(url: str) -> int:
    image = Image.open(io.BytesIO(object_bytes(url))).convert("RGB")
    return len(image.getcolors(1 << 24))


def test_local_niji_pictures_are_cel_shaded(system):
    prompt = "a quiet harbour at dusk --seed 77"
    plain = _imagine(system, "MID_JOURNEY", prompt)
    shaded = _imagine(system, "NIJI_JOURNEY", prompt)
    assert plain["status"] == shaded["status"] == "SUCCESS"
    assert shaded["botType"] == "NIJI_JOURNEY"
    assert object_bytes(plain["imageUrl"]) != object_bytes(shaded["imageUrl"])
    assert _colours(shaded["imageUrl"]) * 4 < _colours(plain["imageUrl"])
