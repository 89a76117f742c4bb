"""The offline `local` provider: procedural grids, upscale, variations, blend, describe, progress."""

from __future__ import annotations

import functools
import io
import random
from dataclasses import dataclass, field, replace

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from mjproxy import config
from mjproxy.config import Instance, Settings
from mjproxy.domain.task import Task, TaskAction
from mjproxy.images import split_grid
from mjproxy.providers import local_art
from mjproxy.providers.base import Outcome
from mjproxy.providers.local import LocalProvider, blend_prompt, task_seed, with_seed


# ---- a tiny fake ProviderContext --------------------------------------------------------------
@pytest.fixture(scope="module")
def settings() -> Settings:
    config.reset()
    try:
        base = config.settings()
    finally:
        config.reset()
    return replace(base, local_step_seconds=0, local_progress_steps=4)


@functools.lru_cache(maxsize=16)
def _split(grid: bytes) -> tuple[bytes, ...]:
    return tuple(split_grid(grid))


@dataclass
class FakeContext:
    settings: Settings
    instance: Instance = field(default_factory=lambda: Instance(id="local-1"))
    inputs_by_task: dict[str, list[bytes]] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    grids: dict[str, bytes] = field(default_factory=dict)

    def inputs(self, task: Task) -> list[bytes]:
        return list(self.inputs_by_task.get(task.id, []))

    def parent(self, task: Task) -> Task | None:
        return self.tasks.get(task.parentId) if task.parentId else None

    def parent_quadrant(self, task: Task) -> bytes:
        if task.parentId not in self.grids or not task.index:
            raise LookupError(f"no grid for {task.parentId}")
        return _split(self.grids[task.parentId])[task.index - 1]

    def parent_grid(self, task: Task) -> bytes:
        return self.grids[task.parentId]

    def now_ms(self) -> int:
        return 1_700_000_000_000


def run(task: Task, ctx: FakeContext) -> tuple[Outcome, list[Outcome]]:
    """Drive a task like the worker does: start, then poll while the provider asks to,
    merging each outcome's state into providerState. Returns (final, all outcomes)."""
    provider = LocalProvider()
    outcomes = [provider.start(task, ctx)]
    while outcomes[-1].kind in ("submitted", "progress", "wait"):
        task.providerState = {**task.providerState, **outcomes[-1].state}
        assert len(outcomes) < 50
        outcomes.append(provider.poll(task, ctx))
    final = outcomes[-1]
    if final.kind == "done":
        ctx.tasks[task.id] = task
        if final.result == "grid":
            ctx.grids[task.id] = final.image
    return final, outcomes


def imagine(
    ctx: FakeContext,
    prompt: str,
    task_id: str = "1700000000000001",
    seed: int | None = 42,
    refs: list[bytes] | None = None,
) -> Task:
    task = Task(id=task_id, action=TaskAction.IMAGINE, prompt=prompt, promptEn=prompt, seed=seed)
    if refs:
        ctx.inputs_by_task[task.id] = refs
    return task


def child(
    parent: Task,
    action: TaskAction,
    task_id: str,
    index: int | None = None,
    seed: int | None = None,
) -> Task:
    return Task(
        id=task_id,
        action=action,
        prompt=parent.prompt,
        promptEn=parent.promptEn,
        parentId=parent.id,
        index=index,
        seed=seed,
    )


# ---- image helpers ----------------------------------------------------------------------------
def img(data: bytes) -> Image.Image:
    out = Image.open(io.BytesIO(data))
    out.load()
    return out.convert("RGB")


def png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def quads(grid: bytes) -> list[Image.Image]:
    return [img(q) for q in _split(grid)]


def diff(a: Image.Image, b: Image.Image, size: tuple[int, int] = (48, 48)) -> float:
    """Mean absolute per-channel difference of two images at a common small size (0..255)."""
    a, b = a.resize(size, Image.Resampling.BOX), b.resize(size, Image.Resampling.BOX)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def mean(image: Image.Image) -> tuple[float, float, float]:
    r, g, b = ImageStat.Stat(image).mean
    return r, g, b


def noise_image(size: tuple[int, int], seed: int = 1) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


# ---- IMAGINE / REROLL -------------------------------------------------------------------------
@pytest.mark.parametrize(("ar", "ratio"), [("3:2", 3 / 2), ("2:3", 2 / 3), ("16:9", 16 / 9)])
def test_grid_aspect_follows_ar(settings, ar, ratio):
    ctx = FakeContext(settings)
    final, _ = run(imagine(ctx, f"misty mountains at dawn --ar {ar}"), ctx)
    assert final.kind == "done" and final.result == "grid"
    w, h = img(final.image).size
    assert w % 2 == 0 and h % 2 == 0
    assert abs(w / h - ratio) < 0.01
    assert 900 <= max(w, h) <= 1100  # quadrant long side about 512


def test_square_by_default_and_quadrants_differ(settings):
    ctx = FakeContext(settings)
    final, _ = run(imagine(ctx, "a lighthouse on a cliff above the sea"), ctx)
    grid = img(final.image)
    assert grid.size[0] == grid.size[1]
    parts = quads(final.image)
    for i in range(4):
        for j in range(i + 1, 4):
            assert diff(parts[i], parts[j]) > 6, (i, j)


def test_grid_is_art_not_noise(settings):
    """Smooth pictures: neighbouring pixels are much closer than in random noise."""
    grid = img(local_art.render_grid("sunset over the ocean", 7))
    small = grid.resize((256, 256), Image.Resampling.BOX)
    shifted = small.transform(small.size, Image.Transform.AFFINE, (1, 0, 1, 0, 1, 0))
    neighbour = sum(ImageStat.Stat(ImageChops.difference(small, shifted)).mean) / 3
    assert neighbour < 12
    assert max(ImageStat.Stat(grid).stddev) > 20  # and not a flat colour either


def test_same_task_renders_the_same_bytes(settings):
    a, _ = run(
        imagine(FakeContext(settings), "red roses in the snow --ar 2:3"), FakeContext(settings)
    )
    b, _ = run(
        imagine(FakeContext(settings), "red roses in the snow --ar 2:3"), FakeContext(settings)
    )
    assert a.image == b.image
    # the final step run twice (redelivered job) gives the same result too
    ctx = FakeContext(settings)
    task = imagine(ctx, "red roses in the snow --ar 2:3")
    task.providerState = {"step": settings.local_progress_steps}
    first = LocalProvider().poll(task, ctx)
    second = LocalProvider().poll(task, ctx)
    assert first.image == second.image == a.image


def test_seed_changes_the_picture_and_prompt_words_change_the_palette(settings):
    one = img(local_art.render_grid("blue ocean", 1))
    two = img(local_art.render_grid("blue ocean", 2))
    assert diff(one, two) > 5
    red = mean(img(local_art.render_grid("red desert", 3)))
    blue = mean(img(local_art.render_grid("blue ice", 3)))
    assert red[0] - red[2] > blue[0] - blue[2] + 30
    night = ImageStat.Stat(img(local_art.render_grid("mountains at night", 4)).convert("L")).mean[0]
    day = ImageStat.Stat(img(local_art.render_grid("mountains at noon", 4)).convert("L")).mean[0]
    assert night < day - 30


def test_reroll_differs_from_parent(settings):
    ctx = FakeContext(settings)
    parent = imagine(ctx, "a quiet forest lake", seed=1001)
    first, _ = run(parent, ctx)
    reroll = child(parent, TaskAction.REROLL, "1700000000000002", seed=2002)
    second, _ = run(reroll, ctx)
    assert second.kind == "done" and second.result == "grid"
    assert second.image != first.image
    assert diff(img(first.image), img(second.image)) > 5
    assert second.properties["finalPrompt"] == "a quiet forest lake --seed 2002"


def test_reroll_without_seed_ignores_prompt_seed(settings):
    ctx = FakeContext(settings)
    parent = imagine(ctx, "dunes --seed 77", seed=None)
    assert task_seed(parent, parent.prompt) == 77
    reroll = child(parent, TaskAction.REROLL, "1700000000000003")
    assert task_seed(reroll, reroll.prompt) != 77


def test_reference_images_influence_the_grid(settings):
    green = png(Image.new("RGB", (300, 200), (20, 200, 40)))
    ctx = FakeContext(settings)
    plain, _ = run(imagine(ctx, "a calm landscape", task_id="1700000000000010"), ctx)
    with_ref, _ = run(
        imagine(ctx, "a calm landscape", task_id="1700000000000011", refs=[green]), ctx
    )
    r0, g0, b0 = mean(img(plain.image))
    r1, g1, b1 = mean(img(with_ref.image))
    assert (g1 - (r1 + b1) / 2) > (g0 - (r0 + b0) / 2) + 25
    assert diff(img(plain.image), img(with_ref.image)) > 20


def test_final_prompt_and_png_label(settings):
    ctx = FakeContext(settings)
    final, _ = run(imagine(ctx, "koi pond --ar 3:2", seed=9), ctx)
    assert final.properties == {"finalPrompt": "koi pond --ar 3:2 --seed 9"}
    assert with_seed("koi pond --seed 5", 9) == "koi pond --seed 5"
    with Image.open(io.BytesIO(final.image)) as image:
        assert "procedural" in image.info.get("Software", "")


def test_seed_derived_from_task_id_when_unset(settings):
    task = Task(id="1700000000000123", action=TaskAction.IMAGINE, prompt="x")
    assert task_seed(task, "x") == task_seed(task, "x")
    other = Task(id="1700000000000124", action=TaskAction.IMAGINE, prompt="x")
    assert task_seed(task, "x") != task_seed(other, "x")
    assert 0 <= task_seed(task, "x") <= 4294967295


# ---- UPSCALE / VARIATION ----------------------------------------------------------------------
def test_upscale_is_the_quadrant_twice_as_large(settings):
    ctx = FakeContext(settings)
    parent = imagine(ctx, "snowy peaks under the stars --ar 3:2")
    grid, _ = run(parent, ctx)
    chosen = quads(grid.image)[2]
    final, _ = run(child(parent, TaskAction.UPSCALE, "1700000000000020", index=3), ctx)
    assert final.kind == "done" and final.result == "single"
    big = img(final.image)
    assert big.size == (chosen.size[0] * 2, chosen.size[1] * 2)
    down = big.resize(chosen.size, Image.Resampling.LANCZOS)
    assert diff(down, chosen, chosen.size) < 4  # the same picture
    others = [q for i, q in enumerate(quads(grid.image)) if i != 2]
    assert all(diff(down, chosen) < diff(down, q) for q in others)
    assert final.properties["finalPrompt"].endswith("--seed 42")


def test_variation_is_related_to_the_source_but_quadrants_differ(settings):
    ctx = FakeContext(settings)
    parent = imagine(ctx, "a city skyline at sunset")
    grid, _ = run(parent, ctx)
    source = quads(grid.image)[0]
    final, _ = run(child(parent, TaskAction.VARIATION, "1700000000000030", index=1, seed=5), ctx)
    assert final.kind == "done" and final.result == "grid"
    assert img(final.image).size == img(grid.image).size
    variants = quads(final.image)
    unrelated = noise_image(source.size)
    other_picture = img(local_art.render_grid("green jungle at noon", 8)).crop((0, 0, *source.size))
    for v in variants:
        d = diff(v, source)
        assert d < 0.5 * diff(unrelated, source)
        assert d < diff(other_picture, source)
        # the mean colour stays close as well
        mv, ms = mean(v), mean(source)
        assert sum(abs(a - b) for a, b in zip(mv, ms, strict=True)) / 3 < 30
    for i in range(4):
        for j in range(i + 1, 4):
            assert diff(variants[i], variants[j]) > 3, (i, j)


def test_variation_without_parent_image_fails(settings):
    ctx = FakeContext(settings)
    task = Task(
        id="1700000000000031", action=TaskAction.VARIATION, prompt="x", parentId="nope", index=1
    )
    final, _ = run(task, ctx)
    assert final.kind == "failed" and "parent image" in final.fail_reason


# ---- BLEND ------------------------------------------------------------------------------------
def test_blend_mixes_red_and_blue(settings):
    ctx = FakeContext(settings)
    red = png(Image.new("RGB", (400, 300), (255, 0, 0)))
    blue = png(Image.new("RGB", (300, 500), (0, 0, 255)))
    task = Task(id="1700000000000040", action=TaskAction.BLEND, dimensions="PORTRAIT", seed=3)
    ctx.inputs_by_task[task.id] = [red, blue]
    final, _ = run(task, ctx)
    assert final.kind == "done" and final.result == "grid"
    assert final.prompt == "<local://input-1> <local://input-2> --ar 2:3"
    assert final.properties["finalPrompt"] == final.prompt
    grid = img(final.image)
    w, h = grid.size
    assert abs(w / h - 2 / 3) < 0.01
    r, g, b = mean(grid)
    assert r > 50 and b > 50 and g < 30
    # at least one quadrant is a real mix (purple on average), not just one input
    assert any(mean(q)[0] > 60 and mean(q)[2] > 60 for q in quads(final.image))
    # and purple pixels exist
    raw = grid.resize((64, 96)).tobytes()
    pixels = [raw[i : i + 3] for i in range(0, len(raw), 3)]
    assert any(60 < px[0] < 200 and 60 < px[2] < 200 for px in pixels)


@pytest.mark.parametrize(("dims", "ratio"), [("SQUARE", 1.0), ("LANDSCAPE", 1.5)])
def test_blend_dimensions(settings, dims, ratio):
    ctx = FakeContext(settings)
    task = Task(id="1700000000000041", action=TaskAction.BLEND, dimensions=dims, seed=3)
    ctx.inputs_by_task[task.id] = [
        png(noise_image((64, 64), 1)),
        png(noise_image((80, 60), 2)),
        png(Image.new("RGB", (50, 50), (0, 200, 0))),
    ]
    final, _ = run(task, ctx)
    w, h = img(final.image).size
    assert abs(w / h - ratio) < 0.01
    assert final.prompt.startswith("<local://input-1> <local://input-2> <local://input-3> --ar")


def test_blend_needs_two_images(settings):
    ctx = FakeContext(settings)
    task = Task(id="1700000000000042", action=TaskAction.BLEND, dimensions="SQUARE")
    ctx.inputs_by_task[task.id] = [png(Image.new("RGB", (10, 10)))]
    final, _ = run(task, ctx)
    assert final.kind == "failed" and "2 to 5" in final.fail_reason
    assert blend_prompt(2, (3, 2)) == "<local://input-1> <local://input-2> --ar 3:2"


# ---- DESCRIBE ---------------------------------------------------------------------------------
def dark_blue_image() -> bytes:
    image = Image.new("RGB", (640, 360), (10, 22, 70))
    draw = ImageDraw.Draw(image)
    draw.ellipse((400, 40, 470, 110), fill=(60, 90, 170))
    draw.polygon([(0, 360), (200, 220), (380, 300), (640, 200), (640, 360)], fill=(5, 10, 35))
    return png(image)


def test_describe_dark_blue_image(settings):
    ctx = FakeContext(settings)
    task = Task(id="1700000000000050", action=TaskAction.DESCRIBE)
    ctx.inputs_by_task[task.id] = [dark_blue_image()]
    final, outcomes = run(task, ctx)
    assert final.kind == "done" and final.result == "text"
    assert all(o.preview is None for o in outcomes)
    text = final.text
    assert final.prompt == text and final.properties["finalPrompt"] == text
    parts = text.split("\n\n")
    assert len(parts) == 4
    for i, part in enumerate(parts, start=1):
        assert part.startswith(f"{i}\ufe0f\u20e3 ")
        assert part.endswith(" --ar 16:9")
        assert "\n" not in part
    assert len(set(p[3:] for p in parts)) == 4  # four different phrasings
    lower = text.lower()
    assert "blue" in lower
    assert any(word in lower for word in ("dark", "night", "nocturnal", "moody"))
    assert "bright" not in lower


def test_describe_is_derived_from_the_image():
    bright = png(Image.new("RGB", (300, 400), (250, 220, 120)))
    text = local_art.describe(bright)
    assert text.count("--ar 3:4") == 4
    assert "yellow" in text.lower() and "bright" in text.lower()
    assert "blue" not in text.lower()
    assert local_art.describe(dark_blue_image()) != text
    assert local_art.reduce_ratio(1920, 1080) == (16, 9)
    assert local_art.reduce_ratio(1023, 767) == (4, 3)


def test_describe_rejects_garbage(settings):
    ctx = FakeContext(settings)
    task = Task(id="1700000000000051", action=TaskAction.DESCRIBE)
    ctx.inputs_by_task[task.id] = [b"not an image"]
    final, _ = run(task, ctx)
    assert final.kind == "failed" and "invalid input image" in final.fail_reason


# ---- progress ---------------------------------------------------------------------------------
def test_progress_is_step_based(settings):
    ctx = FakeContext(settings)
    task = imagine(ctx, "aurora over a frozen lake --ar 3:2")
    final, outcomes = run(task, ctx)
    steps = settings.local_progress_steps
    assert outcomes[0].kind == "submitted"
    assert outcomes[0].state == {"step": 0} and outcomes[0].delay == settings.local_step_seconds
    progress = outcomes[1:-1]
    assert len(progress) == steps  # then the next poll is the result
    assert [o.kind for o in progress] == ["progress"] * steps
    assert [o.progress for o in progress] == ["0%", "25%", "50%", "75%"]
    assert [o.state["step"] for o in progress] == [1, 2, 3, 4]
    assert all(o.delay == settings.local_step_seconds for o in progress)
    assert final.kind == "done" and len(outcomes) == steps + 2
    # previews: small blurred PNGs after the first step
    assert progress[0].preview is None
    for o in progress[1:]:
        preview = img(o.preview)
        assert max(preview.size) <= 256
        assert abs(preview.size[0] / preview.size[1] - 1.5) < 0.05


def test_progress_steps_follow_settings(settings):
    ctx = FakeContext(replace(settings, local_progress_steps=2, local_step_seconds=3))
    final, outcomes = run(imagine(ctx, "tiny"), ctx)
    assert [o.progress for o in outcomes[1:-1]] == ["0%", "50%"]
    assert all(o.delay == 3 for o in outcomes[:-1])
    assert final.kind == "done"


def test_registry_knows_local():
    from mjproxy.providers import get_provider

    provider = get_provider("local")
    assert isinstance(provider, LocalProvider) and provider.name == "local"


def test_quadrant_size_is_exact_for_simple_ratios():
    assert local_art.quadrant_size((1, 1)) == (512, 512)
    assert local_art.quadrant_size((16, 9)) == (512, 288)
    w, h = local_art.quadrant_size((3, 2))
    assert w / h == 1.5
    w, h = local_art.quadrant_size((999, 1000))
    assert max(w, h) == 512


def test_reroll_of_a_blend_blends_again(settings):
    ctx = FakeContext(settings)
    parent = Task(id="1700000000000060", action=TaskAction.BLEND, dimensions="LANDSCAPE", seed=1)
    ctx.inputs_by_task[parent.id] = [
        png(Image.new("RGB", (64, 64), (250, 200, 0))),
        png(noise_image((64, 64), 3)),
    ]
    first, _ = run(parent, ctx)
    parent.prompt = parent.promptEn = first.prompt
    reroll = child(parent, TaskAction.REROLL, "1700000000000061", seed=2)
    second, _ = run(reroll, ctx)
    assert second.kind == "done" and second.result == "grid"
    assert img(second.image).size == img(first.image).size
    assert second.image != first.image


def test_upscale_previews_show_the_chosen_quadrant(settings):
    ctx = FakeContext(settings)
    parent = imagine(ctx, "golden wheat fields")
    run(parent, ctx)
    _, outcomes = run(child(parent, TaskAction.UPSCALE, "1700000000000070", index=2), ctx)
    previews = [img(o.preview) for o in outcomes if o.preview]
    assert len(previews) == settings.local_progress_steps - 1
    distances = [diff(previews[-1], q) for q in quads(ctx.grids[parent.id])]
    assert min(distances) == distances[1]  # the closest quadrant is the chosen one
