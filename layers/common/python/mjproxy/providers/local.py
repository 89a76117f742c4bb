"""The `local` provider: the embedded, offline default generator.

It draws honest procedural art with Pillow (see local_art.py: no AI, and every PNG says so in
its `Software` text chunk), so the whole system runs end to end without any external service.

Progress is counted in steps, not wall-clock time, so it behaves the same with zero delays:
`start` records step 0; each `poll` either reports the next progress step ("0%", "25%", … for
`local_progress_steps` steps, with a small blurred preview) or, once the steps are used up,
renders the result. Rendering depends only on the task (prompt, seed, inputs), so a step that
runs twice after a crash produces the same bytes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from PIL import UnidentifiedImageError

from ..actions import ActionSpec, spec_of
from ..domain.prompts import parse_prompt
from ..domain.task import TaskAction
from . import local_actions, local_art, niji
from .base import Outcome, Provider
from .common import ACTION_METHODS

if TYPE_CHECKING:
    from ..domain.task import Task
    from .base import ProviderContext

log = logging.getLogger(__name__)

# BLEND's `dimensions` and the aspect ratio each stands for (Midjourney's /blend option).
BLEND_DIMENSIONS: dict[str, tuple[int, int]] = {
    "PORTRAIT": (2, 3),
    "SQUARE": (1, 1),
    "LANDSCAPE": (3, 2),
}
PREVIEW_QUADRANT_SIDE = 64  # previews are rendered small, then blurred
_SEED_RE = re.compile(r"(?:^|\s)--seed\b")


class InputError(Exception):
    """The task's inputs cannot be used (missing parent image, wrong count, not an image)."""


def task_seed(task: Task, prompt: str = "") -> int:
    """The task's seed: `task.seed` (set at submit), else the prompt's --seed (not for REROLL,
    which must differ from its parent), else one derived from the task id."""
    if task.seed is not None:
        return int(task.seed) & 0xFFFFFFFF
    if task.action != TaskAction.REROLL:
        parsed = parse_prompt(prompt or "").seed
        if parsed is not None:
            return parsed
    return local_art.text_seed(f"mjproxy-local:{task.id}")


def with_seed(prompt: str, seed: int) -> str:
    """The prompt as the generator understood it: with ` --seed N` unless it already has one."""
    prompt = (prompt or "").strip()
    if _SEED_RE.search(prompt):
        return prompt
    return f"{prompt} --seed {seed}".strip()


def blend_prompt(count: int, aspect: tuple[int, int]) -> str:
    """BLEND's displayed prompt: short links for the inputs plus --ar, as Midjourney shows it."""
    links = " ".join(f"<local://input-{i}>" for i in range(1, count + 1))
    return f"{links} --ar {aspect[0]}:{aspect[1]}"


def blend_aspect(dimensions: str | None) -> tuple[int, int]:
    return BLEND_DIMENSIONS.get((dimensions or "SQUARE").upper(), (1, 1))


VARY_STRENGTH = {False: 0.45, True: 1.6}  # Vary (Subtle) / (Strong) vs 1.0 for V1..V4


class LocalProvider(Provider):
    name = "local"

    def start(self, task: Task, ctx: ProviderContext) -> Outcome:
        return Outcome.submitted(delay=ctx.settings.local_step_seconds, state={"step": 0})

    def poll(self, task: Task, ctx: ProviderContext) -> Outcome:
        steps = max(1, int(ctx.settings.local_progress_steps))
        try:
            step = max(0, int((task.providerState or {}).get("step", 0)))
        except (TypeError, ValueError):
            step = 0
        if step < steps:
            pct = step * 100 // steps
            return Outcome.in_progress(
                f"{pct}%",
                delay=ctx.settings.local_step_seconds,
                preview=self._preview(task, ctx, pct) if pct > 0 else None,
                state={"step": step + 1},
            )
        try:
            outcome = self._finish(task, ctx)
        except InputError as exc:
            return Outcome.failed(str(exc))
        if outcome.image and niji.is_niji(task):  # no Niji bot here: its look instead
            outcome = replace(outcome, image=niji.cel_shade(outcome.image))
        return outcome

    # ---- the final result ------------------------------------------------------------------
    def _finish(self, task: Task, ctx: ProviderContext) -> Outcome:
        spec = spec_of(task)
        if spec is not None and spec.family.capability in ACTION_METHODS:
            return getattr(self, spec.family.capability.value)(task, ctx, spec)
        action = TaskAction(task.action)
        if action == TaskAction.DESCRIBE:
            text = _decode(local_art.describe, self._describe_input(task, ctx))
            return Outcome.described(text, prompt=text, properties={"finalPrompt": text})
        if action == TaskAction.BLEND:
            images, aspect = self._blend_inputs(task, ctx)
            png = _decode(local_art.blend, images, aspect, task_seed(task))
            shown = blend_prompt(len(images), aspect)
            return Outcome.grid(png, prompt=shown, properties={"finalPrompt": shown})
        png = self._draw(task, ctx, local_art.QUADRANT_LONG_SIDE)
        prompt = self._prompt(task, ctx)
        if action == TaskAction.UPSCALE:
            seed = self._upscale_seed(task, ctx, prompt)
            return Outcome.single(
                png, seed=seed, properties={"finalPrompt": with_seed(prompt, seed)}
            )
        seed = task_seed(task, prompt)
        return Outcome.grid(png, seed=seed, properties={"finalPrompt": with_seed(prompt, seed)})

    # ---- the buttons of an upscaled image (plus-api.md §2.1.3) -----------------------------
    def outpaint(self, task: Task, ctx: ProviderContext, spec: ActionSpec) -> Outcome:
        """Pans, Zoom Out 2x/1.5x and Custom Zoom (`--zoom` in the modal's prompt)."""
        source, prompt, seed = self._source(task, ctx)
        if spec.pan_direction:
            png = _decode(local_actions.pan, source, spec.pan_direction, prompt, seed)
        else:
            png = _decode(local_actions.zoom_out, source, spec.zoom_factor(prompt), prompt, seed)
        return Outcome.grid(png, properties={"finalPrompt": with_seed(prompt, seed)})

    def vary(self, task: Task, ctx: ProviderContext, spec: ActionSpec) -> Outcome:
        source, prompt, seed = self._source(task, ctx)
        strength = VARY_STRENGTH[spec.strong]
        png = _decode(local_art.variations, source, seed, local_art.QUADRANT_LONG_SIDE, strength)
        return Outcome.grid(png, properties={"finalPrompt": with_seed(prompt, seed)})

    def vary_region(self, task: Task, ctx: ProviderContext, spec: ActionSpec) -> Outcome:
        source, prompt, seed = self._source(task, ctx)
        if not task.maskKey:
            raise InputError("Vary (Region) needs a mask (maskBase64 of /mj/submit/modal)")
        mask = ctx.blob(task.maskKey)
        try:
            png = _decode(local_actions.vary_region, source, mask, prompt, seed)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        return Outcome.grid(png, properties={"finalPrompt": with_seed(prompt, seed)})

    def upscale_hd(self, task: Task, ctx: ProviderContext, spec: ActionSpec) -> Outcome:
        source, prompt, seed = self._source(task, ctx)
        png = _decode(local_actions.upscale_hd, source, spec.hd_factor, spec.creative, seed)
        return Outcome.single(png, properties={"finalPrompt": with_seed(prompt, seed)})

    def _source(self, task: Task, ctx: ProviderContext) -> tuple[bytes, str, int]:
        """The parent's image, the prompt to draw from, the seed."""
        try:
            source = ctx.parent_grid(task)
        except LookupError as exc:
            raise InputError(f"parent image not available: {exc}") from exc
        prompt = self._prompt(task, ctx)
        return source, prompt, task_seed(task, prompt)

    def _draw(self, task: Task, ctx: ProviderContext, size: int) -> bytes:
        """The task's picture with quadrants `size` px on the long side (previews draw small).
        For UPSCALE at preview size, the chosen quadrant itself; for the buttons of an upscaled
        image, that image (the preview blurs it)."""
        spec = spec_of(task)
        if spec is not None and spec.family.capability in ACTION_METHODS:
            return self._source(task, ctx)[0]
        action = TaskAction(task.action)
        if action == TaskAction.UPSCALE:
            quadrant = self._parent_quadrant(task, ctx)
            if size < local_art.QUADRANT_LONG_SIDE:
                return quadrant
            return _decode(local_art.upscale, quadrant)
        if action == TaskAction.VARIATION:
            quadrant = self._parent_quadrant(task, ctx)
            seed = task_seed(task, self._prompt(task, ctx))
            return _decode(local_art.variations, quadrant, seed, size)
        if action == TaskAction.BLEND:
            images, aspect = self._blend_inputs(task, ctx)
            return _decode(local_art.blend, images, aspect, task_seed(task), size)
        # IMAGINE / REROLL
        prompt = self._prompt(task, ctx)
        seed = task_seed(task, prompt)
        blend_parent = self._blend_parent(task, ctx)
        if blend_parent is not None:  # 🔄 on a blend: blend the same inputs again, new seed
            images = ctx.inputs(task) or ctx.inputs(blend_parent)
            if not images:
                raise InputError("the blended images are no longer available")
            aspect = blend_aspect(task.dimensions or blend_parent.dimensions)
            return _decode(local_art.blend, images, aspect, seed, size)
        refs = self._refs(task, ctx)
        return _decode(local_art.render_grid, prompt, seed, None, refs, size)

    # ---- progress previews -----------------------------------------------------------------
    def _preview(self, task: Task, ctx: ProviderContext, pct: int) -> bytes | None:
        """A small blurred take on the eventual result (None for DESCRIBE, or if it fails:
        a preview is optional and the final step reports any real problem)."""
        if task.action == TaskAction.DESCRIBE:
            return None
        try:
            return local_art.preview(self._draw(task, ctx, PREVIEW_QUADRANT_SIDE), pct)
        except Exception:  # a preview must never break a task
            log.warning("local preview failed", extra={"taskId": task.id}, exc_info=True)
            return None

    # ---- inputs ----------------------------------------------------------------------------
    def _prompt(self, task: Task, ctx: ProviderContext) -> str:
        prompt = task.promptEn or task.prompt
        if not prompt and task.action != TaskAction.IMAGINE and task.parentId:
            parent = ctx.parent(task)
            if parent is not None:
                prompt = parent.promptEn or parent.prompt
        return prompt or ""

    def _upscale_seed(self, task: Task, ctx: ProviderContext, prompt: str) -> int:
        """An upscale shows its parent's picture, so it reports the parent's seed."""
        if task.seed is None and task.parentId:
            parent = ctx.parent(task)
            if parent is not None:
                return task_seed(parent, parent.promptEn or parent.prompt or prompt)
        return task_seed(task, prompt)

    def _blend_parent(self, task: Task, ctx: ProviderContext) -> Task | None:
        if task.action != TaskAction.REROLL or not task.parentId:
            return None
        parent = ctx.parent(task)
        if parent is not None and TaskAction(parent.action) == TaskAction.BLEND:
            return parent
        return None

    def _refs(self, task: Task, ctx: ProviderContext) -> list[bytes]:
        refs = ctx.inputs(task)
        if not refs and task.action == TaskAction.REROLL and task.parentId:
            parent = ctx.parent(task)
            refs = ctx.inputs(parent) if parent is not None else []
        return list(refs)

    def _parent_quadrant(self, task: Task, ctx: ProviderContext) -> bytes:
        try:
            return ctx.parent_quadrant(task)
        except LookupError as exc:
            raise InputError(f"parent image not available: {exc}") from exc

    def _blend_inputs(
        self, task: Task, ctx: ProviderContext
    ) -> tuple[list[bytes], tuple[int, int]]:
        images = list(ctx.inputs(task))
        if not 2 <= len(images) <= 5:
            raise InputError(f"blend needs 2 to 5 images, got {len(images)}")
        return images, blend_aspect(task.dimensions)

    def _describe_input(self, task: Task, ctx: ProviderContext) -> bytes:
        images = ctx.inputs(task)
        if not images:
            raise InputError("describe needs an image")
        return images[0]


def _decode(fn, *args):  # type: ignore[no-untyped-def]
    """Run a local_art function, turning undecodable input images into an InputError."""
    try:
        return fn(*args)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(f"invalid input image: {exc}") from exc
