"""Request bodies (mjproxy.api.body): the pydantic-free fast path gives exactly what pydantic's
lax mode gives, on every value it decides; everything else is pydantic's own answer."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from mjproxy.api import models
from mjproxy.api.body import Body, BodyError, _Slow

ROOT = Path(__file__).resolve().parents[2]
BODIES = [
    c
    for c in vars(models).values()
    if isinstance(c, type) and issubclass(c, Body) and c is not Body
]
# What clients send, and what they should not: numbers of every kind where strings, ints and
# booleans belong, numeric and boolean strings, enum values in other cases, nested shapes.
ODD = [
    None, True, False, 0, 1, -1, 2, 2**70, -(2**70), 1.0, 1.5, -0.0, 0.0, 2.0, 1e20, 1e16,
    float("inf"), float("nan"), "", " ", "1", " 1 ", "+1", "-1", "1_0", "01", "1.0", "1e3", "١",
    "0x1", "true", "True", "yes", "on", "off", "f", "t", "n", "y", "no", "0", "x", "🦊", [], ["a"],
    [1], [1.5], [True], [None], ["a", None], [[]], [{}], {}, {"a": 1}, {"modes": ["FAST"]},
    {"instanceId": 1, "remix": True}, {"remix": "yes"}, {"modes": "FAST"}, "UPSCALE", "upscale",
    " UPSCALE", "SQUARE", "square", "PORTRAIT", "IMAGINE", "REROLL",
]  # fmt: skip


def reference(cls: type[Body], data: dict) -> Body | str:
    """pydantic's answer (the model of the same declaration), or its error type."""
    try:
        return cls._from_model(cls.pydantic_model().model_validate(data))
    except ValidationError as exc:
        return "error " + exc.errors()[0]["type"]


def fast(cls: type[Body], data: dict) -> Body | str | None:
    """The fast path's answer, None when it leaves the body to pydantic."""
    try:
        return cls._fast(data)
    except _Slow:
        return None


@pytest.mark.parametrize("cls", BODIES, ids=lambda c: c.__name__)
def test_fast_path_agrees_with_pydantic_on_every_value_it_decides(cls):
    decided = 0
    for name, *_ in cls._fields():
        for value in ODD:
            data = {name: value, "unknownField": value}
            got = fast(cls, data)
            if got is None:
                continue
            decided += 1
            want = reference(cls, data)
            assert got == want, (cls.__name__, name, value)
            assert type(getattr(got, name)) is type(getattr(want, name)), (name, value)
    assert decided  # the usual values never need pydantic


@pytest.mark.parametrize("cls", BODIES, ids=lambda c: c.__name__)
def test_random_bodies_parse_as_pydantic_parses_them(cls):
    rng = random.Random(cls.__name__)
    names = [n for n, *_ in cls._fields()]
    for _ in range(300):
        data = {rng.choice(names): rng.choice(ODD) for _ in range(rng.randint(0, 4))}
        want = reference(cls, data)
        try:
            got: Body | str = cls.parse(data)
        except BodyError:
            got = "error"
        if isinstance(want, str):
            assert got == "error", (data, got)
        else:
            assert got == want, data


def test_defaults_and_unknown_fields():
    blend = models.BlendRequest.parse({"base64Array": ["a", None], "extra": {"x": 1}})
    assert blend.dimensions is models.BlendDimensions.SQUARE and blend.base64Array == ["a", None]
    assert models.BlendRequest.parse({"dimensions": None}).dimensions is None
    change = models.ChangeRequest.parse({"taskId": 1764064525123456, "action": "UPSCALE"})
    assert change.taskId == "1764064525123456" and change.action is models.TaskAction.UPSCALE
    with pytest.raises(BodyError):
        models.ChangeRequest.parse({"action": "FOO"})


def test_usual_bodies_never_import_pydantic():
    bodies = {
        "ImagineRequest": {"prompt": "a fox", "base64Array": ["data:image/png;base64,AA=="],
                           "notifyHook": "https://h", "state": "s", "botType": "MID_JOURNEY",
                           "accountFilter": {"instanceId": "a", "modes": ["FAST"], "remix": True}},
        "ChangeRequest": {"taskId": 1764064525123456, "action": "VARIATION", "index": 2},
        "BlendRequest": {"base64Array": ["a", "b"], "dimensions": "PORTRAIT"},
        "ActionRequest": {"taskId": "1", "customId": "MJ::JOB::upsample::1::h", "enableRemix": False},
    }  # fmt: skip
    code = (
        "import json, sys; from mjproxy.api import models; "
        f"[getattr(models, n).parse(b) for n, b in json.loads({json.dumps(bodies)!r}).items()]; "
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(ROOT / "layers/common/python"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
