"""The Niji-like style of the providers without a Niji bot (mjproxy.providers.niji)."""

from __future__ import annotations

import io

from PIL import Image

from mjproxy.domain.task import Task, TaskAction
from mjproxy.providers import niji
from tests.scenarios import png_bytes

PHRASE = "anime style"


def test_the_phrase_goes_after_the_text_and_before_the_parameters():
    assert niji.styled("a fox in snow --ar 3:2 --no trees", PHRASE) == (
        "a fox in snow, anime style --ar 3:2 --no trees"
    )
    assert niji.styled("a fox in snow,", PHRASE) == "a fox in snow, anime style"
    assert niji.styled("--ar 2:3", PHRASE) == "anime style --ar 2:3"
    assert niji.styled("", PHRASE) == "anime style"


def test_the_phrase_is_configurable(monkeypatch):
    monkeypatch.setenv("MJ_NIJI_STYLE", "watercolour manga")
    assert niji.styled("a cat") == "a cat, watercolour manga"
    monkeypatch.setenv("MJ_NIJI_STYLE", " ")
    assert niji.styled("a cat") == f"a cat, {niji.DEFAULT_STYLE}"


class _Ctx:
    def __init__(self, parent: Task | None = None) -> None:
        self._parent = parent

    def parent(self, task: Task) -> Task | None:
        return self._parent


def _task(action: TaskAction, bot: str | None, prompt: str = "a lighthouse --ar 3:2", **kw):
    return Task(id="1", action=action, prompt=prompt, promptEn=prompt, botType=bot, **kw)


def test_only_niji_tasks_that_draw_are_styled():
    ctx = _Ctx()
    sent = niji.for_generator(_task(TaskAction.IMAGINE, "NIJI_JOURNEY"), ctx)
    assert sent.promptEn == f"a lighthouse, {niji.DEFAULT_STYLE} --ar 3:2"
    assert sent.prompt == "a lighthouse --ar 3:2"  # what the client sent stays as it was
    for unchanged in (
        _task(TaskAction.IMAGINE, "MID_JOURNEY"),
        _task(TaskAction.IMAGINE, None),
        _task(TaskAction.DESCRIBE, "NIJI_JOURNEY"),
        _task(TaskAction.UPSCALE, "NIJI_JOURNEY"),
    ):
        assert niji.for_generator(unchanged, ctx) is unchanged


def test_a_button_task_without_a_prompt_styles_its_parents():
    parent = _task(TaskAction.IMAGINE, "NIJI_JOURNEY", "two koi --ar 1:1")
    child = _task(TaskAction.VARIATION, "NIJI_JOURNEY", "", parentId="0", index=2)
    sent = niji.for_generator(child, _Ctx(parent))
    assert sent.promptEn == f"two koi, {niji.DEFAULT_STYLE} --ar 1:1"


def _colours(png: bytes) -> int:
    return len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(1 << 24))


def test_cel_shading_flattens_colours_and_draws_outlines():
    # A smooth gradient with a sharp square on it: many colours, one hard edge.
    image = Image.new("RGB", (64, 64))
    image.putdata([(x * 4, y * 4, 128) for y in range(64) for x in range(64)])
    image.paste((250, 250, 250), (20, 20, 44, 44))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    shaded = niji.cel_shade(buf.getvalue())
    out = Image.open(io.BytesIO(shaded)).convert("RGB")
    assert out.size == (64, 64)
    assert _colours(shaded) < _colours(buf.getvalue()) // 8
    assert out.getpixel((20, 32)) == (0, 0, 0)  # the square's edge is outlined
    assert out.getpixel((32, 32)) != (0, 0, 0)  # its inside is not
    assert _colours(niji.cel_shade(png_bytes((8, 8), (10, 20, 30)))) == 1
