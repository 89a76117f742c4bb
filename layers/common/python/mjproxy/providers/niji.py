"""`botType: NIJI_JOURNEY` on the providers that have no Niji bot (issue 16 item 6).

On `midjourney` the Niji bot runs the task (providers/midjourney). Elsewhere a Niji-like style
preset stands in for it, so choosing Niji changes the picture as it does on Discord:
- the text-to-image generators (`bedrock`, `openai`) get the style phrase `MJ_NIJI_STYLE` after
  the prompt's text and before its `--` parameters (the phrase is in `properties.finalPrompt`,
  which holds the text that was sent);
- the procedural `local` generator cannot read a phrase, so its pictures are cel-shaded instead
  (`cel_shade`: flat colour bands and dark outlines, the look Niji is chosen for).
Text tasks (DESCRIBE, SHORTEN) and upscales, which add no new content, are left as they are.
"""

from __future__ import annotations

import io
import os
from dataclasses import replace

from ..domain.task import Task, TaskAction
from .base import ProviderContext
from .common import source_prompt

NIJI_JOURNEY = "NIJI_JOURNEY"
DEFAULT_STYLE = (
    "anime illustration in the niji style, clean line art, cel shading, vivid colours, "
    "expressive characters"
)
# Actions that draw new content from a prompt: the ones a style changes.
STYLED = frozenset({
    TaskAction.IMAGINE, TaskAction.VARIATION, TaskAction.REROLL, TaskAction.BLEND,
    TaskAction.PAN, TaskAction.ZOOM, TaskAction.OUTPAINT, TaskAction.INPAINT, TaskAction.EDIT,
    TaskAction.RETEXTURE, TaskAction.VIDEO,
})  # fmt: skip
# The providers that read the phrase (`local` cel-shades instead; `midjourney` has the bot).
PHRASED = frozenset({"bedrock", "openai"})
CEL_LEVELS = 3  # bits per channel kept: 8 flat bands of each primary
OUTLINE_THRESHOLD = 48  # edge strength (0-255) drawn as an outline


def style() -> str:
    return os.environ.get("MJ_NIJI_STYLE", "").strip() or DEFAULT_STYLE


def is_niji(task: Task) -> bool:
    return task.botType == NIJI_JOURNEY and TaskAction(task.action) in STYLED


def styled(prompt: str, phrase: str | None = None) -> str:
    """`prompt` with the style phrase after its text and before its `--` parameters."""
    phrase = phrase or style()
    text, sep, params = prompt.partition(" --")
    if prompt.startswith("--"):
        text, sep, params = "", "--", prompt[2:]
    text = text.strip().rstrip(",")
    head = f"{text}, {phrase}" if text else phrase
    return f"{head} {sep.strip()}{params}" if sep else head


def for_generator(task: Task, ctx: ProviderContext) -> Task:
    """The task as a text-to-image generator should see it: a Niji task's prompt (its own, or
    its parent's for a button task that carries none) with the style phrase; any other task as
    it is. Only what is sent changes: the stored task keeps the client's prompt."""
    if not is_niji(task):
        return task
    return replace(task, promptEn=styled(source_prompt(task, ctx)))


def cel_shade(png: bytes) -> bytes:
    """A Niji-like look for a procedural picture: colours in flat bands, dark outlines."""
    from PIL import Image, ImageChops, ImageFilter, ImageOps

    image = Image.open(io.BytesIO(png)).convert("RGB")
    flat = ImageOps.posterize(image.filter(ImageFilter.SMOOTH_MORE), CEL_LEVELS)
    edges = image.convert("L").filter(ImageFilter.FIND_EDGES)
    outline = edges.point(lambda v: 0 if v >= OUTLINE_THRESHOLD else 255)
    out = ImageChops.multiply(flat, Image.merge("RGB", (outline, outline, outline)))
    buf = io.BytesIO()
    out.save(buf, format="PNG", compress_level=3)
    return buf.getvalue()
