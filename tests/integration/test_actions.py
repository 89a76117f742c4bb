"""Every button of every result, pressed through /mj/submit/action (and /mj/submit/modal) on moto
in-process with the `local` provider (issue 11; plus-api.md §2.1.1–§2.1.3)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mjproxy import config
from mjproxy.domain import codes
from mjproxy.sweeper import Sweeper
from tests.scenarios import data_url, fetch, image_of, png_bytes, run_to_end, submit_ok

PROMPT = "a lighthouse on a cliff at dusk, dramatic sea"
MINUTE = 60_000


def press(system, task_id: str, custom_id: str, path: str = "/mj/submit/action", **extra) -> dict:
    r = system.post(path, {"taskId": task_id, "customId": custom_id, **extra})
    assert r.status == 200, r.text
    return r.json()


def button(task: dict, needle: str) -> str:
    ids = [b["customId"] for b in task["buttons"] if needle in b["customId"]]
    assert ids, (needle, [b["customId"] for b in task["buttons"]])
    return ids[0]


def done(system, answer: dict) -> dict:
    assert answer["code"] in (1, 22), answer
    child = run_to_end(system, answer["result"])
    assert child["status"] == "SUCCESS", child
    return child


@pytest.fixture
def grid(system) -> dict:
    return run_to_end(system, submit_ok(system, "/mj/submit/imagine", {"prompt": PROMPT}))


@pytest.fixture
def upscale(system, grid) -> dict:
    return done(system, press(system, grid["id"], button(grid, "::upsample::2::")))


def test_grid_buttons_press_to_upscale_variation_and_reroll(system, grid):
    assert [b["label"] or b["emoji"] for b in grid["buttons"]] == [
        "U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"
    ]  # fmt: skip
    up = done(system, press(system, grid["id"], button(grid, "::upsample::3::")))
    assert up["action"] == "UPSCALE" and up["description"] == f"/up {grid['id']} U3"
    quadrant = image_of(grid["imageUrls"][2]["url"])
    assert image_of(up["imageUrl"]).width >= 2 * quadrant.width
    var = done(system, press(system, grid["id"], button(grid, "::variation::1::")))
    assert var["action"] == "VARIATION" and len(var["imageUrls"]) == 4
    again = done(system, press(system, grid["id"], button(grid, "::reroll::")))
    assert again["action"] == "REROLL" and again["prompt"] == grid["prompt"]
    assert again["imageUrl"] and again["buttons"][0]["label"] == "U1"


def test_upscale_buttons_are_the_plus_api_set(upscale):
    assert [b["label"] or b["emoji"] for b in upscale["buttons"]] == [
        "Upscale (Subtle)", "Upscale (Creative)", "Vary (Subtle)", "Vary (Strong)",
        "Vary (Region)", "Zoom Out 2x", "Zoom Out 1.5x", "Custom Zoom", "⬅️", "➡️", "⬆️", "⬇️",
        "Animate (High motion)", "Animate (Low motion)", "🔄",
    ]  # fmt: skip
    assert all(b["type"] == 2 and b["style"] == 2 for b in upscale["buttons"])


@pytest.mark.parametrize("direction", ["left", "right", "up", "down"])
def test_pan_extends_the_image_in_its_direction(system, upscale, direction):
    src = image_of(upscale["imageUrl"])
    pan = done(system, press(system, upscale["id"], button(upscale, f"::pan_{direction}::")))
    assert pan["action"] == "PAN" and len(pan["imageUrls"]) == 4
    cell = image_of(pan["imageUrls"][0]["url"])
    if direction in ("left", "right"):
        assert cell.width > src.width and cell.width / cell.height > src.width / src.height
    else:
        assert cell.height / cell.width > src.height / src.width
    # the source is in the candidate, unchanged, on the side opposite the pan
    w, h = cell.size
    side = min(w, h)  # the source is square (an upscale of a 1:1 grid)
    box = {
        "left": (w - side, 0, w, h),
        "right": (0, 0, side, h),
        "up": (0, h - side, w, h),
        "down": (0, 0, w, side),
    }[direction]
    kept = cell.convert("RGB").crop(box)
    m = side // 6  # away from the seam
    inner = (m, m, side - m, side - m)
    assert _mean_diff(kept.crop(inner), src.convert("RGB").resize((side, side)).crop(inner)) < 6
    assert pan["buttons"][0]["label"] == "U1"  # a pan gives a grid, as on Midjourney


@pytest.mark.parametrize(
    "needle, factor", [("MJ::Outpaint::50::", 2.0), ("MJ::Outpaint::75::", 1.5)]
)
def test_zoom_out_shows_the_source_smaller_in_new_surroundings(system, upscale, needle, factor):
    zoom = done(system, press(system, upscale["id"], button(upscale, needle)))
    assert zoom["action"] == "ZOOM" and len(zoom["imageUrls"]) == 4
    cell = image_of(zoom["imageUrls"][0]["url"]).convert("RGB")
    src = image_of(upscale["imageUrl"]).convert("RGB").resize(cell.size)
    # the centre of the candidate is the whole source scaled down by `factor`
    w, h = cell.size
    inner = (round(w / factor), round(h / factor))
    box = ((w - inner[0]) // 2, (h - inner[1]) // 2)
    centre = cell.crop((box[0] + 8, box[1] + 8, box[0] + inner[0] - 8, box[1] + inner[1] - 8))
    expected = src.resize(inner).crop((8, 8, inner[0] - 8, inner[1] - 8))
    assert _mean_diff(centre, expected) < 12
    # ... and the border is new content, not the source
    assert _mean_diff(cell.crop((0, 0, w, box[1])), src.crop((0, 0, w, box[1]))) > 5


def _mean_diff(a: Image.Image, b: Image.Image) -> float:
    from PIL import ImageChops, ImageStat

    return sum(ImageStat.Stat(ImageChops.difference(a, b.resize(a.size))).mean) / 3


def test_vary_subtle_changes_less_than_strong(system, upscale):
    src = image_of(upscale["imageUrl"]).convert("RGB")
    diffs = {}
    for needle in ("low_variation", "high_variation"):
        vary = done(system, press(system, upscale["id"], button(upscale, needle)))
        assert vary["action"] == "VARIATION" and len(vary["imageUrls"]) == 4
        cells = [image_of(u["url"]).convert("RGB") for u in vary["imageUrls"]]
        diffs[needle] = sum(_mean_diff(c, src) for c in cells) / 4
    assert 0 < diffs["low_variation"] < diffs["high_variation"]


@pytest.mark.parametrize("kind", ["v7_2x_subtle", "v7_2x_creative"])
def test_hd_upscale_at_least_doubles_the_width(system, upscale, kind):
    hd = done(system, press(system, upscale["id"], button(upscale, f"upsample_{kind}")))
    src = image_of(upscale["imageUrl"])
    out = image_of(hd["imageUrl"])
    assert hd["action"] == "UPSCALE_HD" and out.width >= 2 * src.width
    assert hd["imageUrls"] is None
    assert not any("upsample_" in b["customId"] for b in hd["buttons"])  # not offered again
    assert _mean_diff(out.convert("RGB"), src.convert("RGB")) < 25  # the same picture


def test_v5_upscale_offers_2x_and_4x(system):
    grid = run_to_end(system, submit_ok(system, "/mj/submit/imagine", {"prompt": "a cat --v 5.2"}))
    up = done(system, press(system, grid["id"], button(grid, "::upsample::1::")))
    labels = [b["label"] for b in up["buttons"]]
    assert labels[:2] == ["Upscale (2x)", "Upscale (4x)"]
    hd = done(system, press(system, up["id"], button(up, "upsample_v5_4x")))
    assert image_of(hd["imageUrl"]).width >= 4 * image_of(up["imageUrl"]).width


def test_reroll_of_an_upscale_makes_a_new_grid_of_the_prompt(system, upscale):
    again = done(system, press(system, upscale["id"], button(upscale, "::reroll::")))
    assert again["action"] == "REROLL" and again["prompt"] == upscale["prompt"]
    assert len(again["imageUrls"]) == 4


# ---- the modal flow -----------------------------------------------------------------------------
def test_custom_zoom_waits_for_the_modal_then_zooms_by_its_prompt(system, upscale):
    answer = press(system, upscale["id"], button(upscale, "MJ::CustomZoom::"))
    assert answer["code"] == 21 and answer["description"] == "Waiting for window confirm"
    assert answer["properties"] == {"finalPrompt": upscale["promptEn"], "remix": True}
    waiting = fetch(system, answer["result"])
    assert waiting["status"] == "MODAL" and waiting["action"] == "ZOOM"
    assert system.drain() == 0 or fetch(system, answer["result"])["status"] == "MODAL"
    r = system.post(
        "/mj/submit/modal", {"taskId": answer["result"], "prompt": f"{PROMPT} --zoom 1.25"}
    )
    assert r.json()["code"] == 1 and r.json()["result"] == answer["result"]
    zoom = run_to_end(system, answer["result"])
    assert zoom["status"] == "SUCCESS" and zoom["prompt"].endswith("--zoom 1.25")
    # a second confirm is refused: the task is no longer MODAL
    again = system.post("/mj/submit/modal", {"taskId": answer["result"], "prompt": "x"}).json()
    assert (again["code"], again["description"]) == (4, codes.PARENT_STATUS_INVALID)


def _mask(size=(64, 64)) -> str:
    mask = Image.new("L", size, 0)
    mask.paste(255, (16, 16, 48, 48))  # the centre quarter, white = repaint
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    return data_url(buf.getvalue())


def test_vary_region_repaints_only_the_masked_area(system, upscale):
    answer = press(system, upscale["id"], button(upscale, "MJ::Inpaint::"))
    assert answer["code"] == 21
    no_mask = system.post("/mj/submit/modal", {"taskId": answer["result"], "prompt": "a red boat"})
    assert no_mask.json()["code"] == 4 and no_mask.json()["description"] == codes.MASK_EMPTY
    r = system.post(
        "/mj/submit/modal",
        {"taskId": answer["result"], "prompt": "a red boat", "maskBase64": _mask()},
    )
    assert r.json()["code"] == 1
    region = run_to_end(system, answer["result"])
    assert region["status"] == "SUCCESS" and region["action"] == "VARIATION"
    assert region["prompt"] == "a red boat"
    cell = image_of(region["imageUrls"][0]["url"]).convert("RGB")
    src = image_of(upscale["imageUrl"]).convert("RGB").resize(cell.size)
    w, h = cell.size
    outside = (0, 0, w, h // 5)
    inside = (w * 3 // 8, h * 3 // 8, w * 5 // 8, h * 5 // 8)
    assert _mean_diff(cell.crop(outside), src.crop(outside)) < 3
    assert _mean_diff(cell.crop(inside), src.crop(inside)) > 8


def test_remix_opens_the_modal_and_an_empty_prompt_keeps_the_parents(system, grid):
    answer = press(system, grid["id"], button(grid, "::variation::2::"), enableRemix=True)
    assert answer["code"] == 21 and answer["properties"]["remix"] is True
    r = system.post("/mj/submit/modal", {"taskId": answer["result"], "prompt": ""})
    assert r.json()["code"] == 1
    var = run_to_end(system, answer["result"])
    assert var["status"] == "SUCCESS" and var["prompt"] == grid["prompt"]


def test_a_modal_never_confirmed_fails_after_the_configured_time(system, monkeypatch, upscale):
    monkeypatch.setenv("MJ_MODAL_TIMEOUT_MINUTES", "5")
    config.reset()
    answer = press(system, upscale["id"], button(upscale, "MJ::CustomZoom::"))
    created = fetch(system, answer["result"])["submitTime"]
    assert Sweeper(clock=lambda: created + 5 * MINUTE).run().not_started == []
    assert fetch(system, answer["result"])["status"] == "MODAL"
    report = Sweeper(clock=lambda: created + 5 * MINUTE + 1).run()
    assert report.not_started == [answer["result"]]
    final = fetch(system, answer["result"])
    assert final["status"] == "FAILURE" and final["progress"] == "100%"
    assert final["failReason"] == codes.MODAL_TIMEOUT_FMT.format(minutes=5)
    assert final["failReason"].startswith("任务超时")


# ---- describe results ---------------------------------------------------------------------------
def test_describe_buttons_imagine_a_prompt_and_retry(system):
    src = png_bytes((96, 64), (30, 90, 200))
    described = run_to_end(
        system, submit_ok(system, "/mj/submit/describe", {"base64": data_url(src)})
    )
    assert [b["emoji"] for b in described["buttons"]] == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄"]
    imagined = done(system, press(system, described["id"], "MJ::Job::PicReader::2"))
    second = [ln for ln in described["prompt"].splitlines() if ln.strip()][1]
    assert imagined["action"] == "IMAGINE" and second.endswith(imagined["prompt"])
    assert not imagined["prompt"].startswith("2️⃣") and len(imagined["imageUrls"]) == 4
    retry = done(system, press(system, described["id"], "MJ::Picread::Retry"))
    assert retry["action"] == "DESCRIBE" and retry["prompt"]
    assert image_of(retry["imageUrl"]).size == (96, 64)


def test_animate_makes_a_video_of_the_upscale_and_extend_continues_it(system, upscale):
    from tests.integration.test_plus_video import frames, mp4_of

    high = done(system, press(system, upscale["id"], button(upscale, "::animate_high::")))
    assert high["action"] == "VIDEO" and high["parentId"] == upscale["id"]
    clip = frames(mp4_of(high["videoUrl"]))
    assert len(clip) > 10 and high["videoUrls"] == [{"url": high["videoUrl"]}]
    assert [b["label"] for b in high["buttons"]] == ["Extend (High motion)", "Extend (Low motion)"]
    assert all(b["emoji"] == "🎞️" for b in high["buttons"])
    longer = done(system, press(system, high["id"], button(high, "animate_low_extend")))
    assert longer["action"] == "VIDEO" and longer["videoUrl"] != high["videoUrl"]
    assert frames(mp4_of(longer["videoUrl"]))  # a real clip, from the first one's last frame
    # Extend belongs to a video, Animate to an image
    wrong = press(system, high["id"], button(upscale, "::animate_high::").replace(
        upscale["properties"]["messageHash"], high["properties"]["messageHash"]))
    assert wrong["code"] == 4 and wrong["result"] is None


def test_shorten_buttons_imagine_the_shortened_prompt(system):
    filled = "a very beautiful highly detailed red fox sitting in deep snow, masterpiece"
    short = run_to_end(system, submit_ok(system, "/mj/submit/shorten", {"prompt": filled}))
    assert short["status"] == "SUCCESS"
    picked = done(system, press(system, short["id"], "MJ::Job::PromptAnalyzer::1"))
    assert picked["action"] == "IMAGINE" and len(picked["imageUrls"]) == 4
    assert "fox" in picked["prompt"] and "beautiful" not in picked["prompt"]
    assert not picked["prompt"].startswith(("1️⃣", "#"))


def test_animate_is_not_offered_where_there_is_no_video_model(system, monkeypatch, upscale):
    from mjproxy import providers
    from mjproxy.actions import ALL_CAPABILITIES, Capability

    monkeypatch.setitem(providers.CAPABILITIES, "local", ALL_CAPABILITIES - {Capability.ANIMATE})
    data = press(system, upscale["id"], button(upscale, "::animate_low::"))
    assert data["code"] == 4 and "animate" in data["description"] and data["result"] is None
    grid = run_to_end(system, submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"}))
    up = done(system, press(system, grid["id"], button(grid, "::upsample::1::")))
    assert up["buttons"] and not any("animate" in b["customId"] for b in up["buttons"])
    assert Capability.ANIMATE not in providers.capabilities_of("openai")


# ---- bad input ------------------------------------------------------------------------------------
def test_bad_input_answers_in_the_protocols_own_form(system, grid):
    def answer(body: dict) -> tuple[int, str]:
        data = system.post("/mj/submit/action", body).json()
        assert data["result"] is None, data  # no result on any rejection
        return data["code"], data["description"]

    hash_ = grid["properties"]["messageHash"]
    assert answer({"taskId": grid["id"]}) == (4, "参数错误")
    assert answer({"customId": f"MJ::JOB::upsample::1::{hash_}"}) == (4, "参数错误")
    assert answer({"taskId": grid["id"], "customId": "MJ::JOB::dance::1"}) == (
        4,
        "未知的 Action 类型",
    )
    assert answer({"taskId": "1111111111111111", "customId": f"MJ::JOB::upsample::1::{hash_}"}) == (
        3, "关联任务不存在或已失效"
    )  # fmt: skip
    other = "00000000-0000-0000-0000-000000000000"
    code, text = answer({"taskId": grid["id"], "customId": f"MJ::JOB::upsample::1::{other}"})
    assert code == 4 and text == codes.CUSTOM_ID_MISMATCH
    # a button the grid does not have (pans belong to an upscale)
    code, _ = answer({"taskId": grid["id"], "customId": f"MJ::JOB::pan_left::1::{hash_}::SOLO"})
    assert code == 4
    running = submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"})
    code, text = answer({"taskId": running, "customId": f"MJ::JOB::upsample::1::{hash_}"})
    assert (code, text) == (4, "关联任务状态错误")
    modal = system.post("/mj/submit/modal", {"taskId": "1111111111111111", "prompt": "x"}).json()
    assert (modal["code"], modal["result"]) == (3, None)


def test_a_provider_without_the_capability_has_no_button_and_refuses_it(
    system, monkeypatch, upscale
):
    from mjproxy import providers
    from mjproxy.actions import ALL_CAPABILITIES, Capability

    monkeypatch.setitem(providers.CAPABILITIES, "local", ALL_CAPABILITIES - {Capability.OUTPAINT})
    data = press(system, upscale["id"], button(upscale, "::pan_left::"))
    assert data["code"] == 4 and "pan" in data["description"] and data["result"] is None
    grid = run_to_end(system, submit_ok(system, "/mj/submit/imagine", {"prompt": "a fox"}))
    up = done(system, press(system, grid["id"], button(grid, "::upsample::1::")))
    assert not any("pan_" in b["customId"] or "Zoom" in b["label"] for b in up["buttons"])


def test_change_and_simple_change_press_the_same_buttons(system, grid):
    child_id = submit_ok(
        system, "/mj/submit/change", {"taskId": grid["id"], "action": "UPSCALE", "index": 4}
    )
    up = run_to_end(system, child_id)
    assert up["status"] == "SUCCESS" and up["action"] == "UPSCALE"
    # U1 on a pan result works through /change too (any grid result)
    pan = done(system, press(system, up["id"], button(up, "::pan_right::")))
    child = submit_ok(system, "/mj/submit/simple-change", {"content": f"{pan['id']} U1"})
    assert run_to_end(system, child)["status"] == "SUCCESS"
    # and the speed prefixes route the new endpoints
    data = press(
        system, grid["id"], button(grid, "::upsample::1::"), path="/mj-relax/mj/submit/action"
    )
    assert data["code"] in (1, 22)
    assert fetch(system, data["result"])["properties"]["mode"] == "RELAX"


# ---- what a strict Go decoder reads ---------------------------------------------------------------
# new-api's `dto.MidjourneyDto` (controller/midjourney.go UpdateMidjourneyTaskBulk, plus-api.md
# §2.3): a JSON type mismatch fails the whole `[]MidjourneyDto` (buttons is `any`).
GO_FIELDS = {
    "id": (str,),
    "action": (str,),
    "prompt": (str, type(None)),
    "promptEn": (str, type(None)),
    "description": (str, type(None)),
    "state": (str, type(None)),
    "submitTime": (int, type(None)),
    "startTime": (int, type(None)),
    "finishTime": (int, type(None)),
    "imageUrl": (str, type(None)),
    "status": (str,),
    "progress": (str, type(None)),
    "failReason": (str, type(None)),
    "properties": (dict,),
    "buttons": (list,),
}


def _go_decodes(task: dict) -> None:
    for name, types in GO_FIELDS.items():
        assert name in task, name
        value = task[name]
        assert isinstance(value, types) and not isinstance(value, bool), (name, value)
    for b in task["buttons"]:
        assert isinstance(b["customId"], str) and isinstance(b["type"], int), b
    final = task["properties"].get("finalPrompt")
    assert final is None or isinstance(final, str)


def test_lists_fetch_and_queue_decode_strictly_with_buttons_and_modal(system, upscale):
    modal = press(system, upscale["id"], button(upscale, "MJ::CustomZoom::"))["result"]
    ids = [upscale["id"], upscale["parentId"] if "parentId" in upscale else upscale["id"], modal]
    listed = system.post("/mj/task/list-by-condition", {"ids": ids}).json()
    assert {t["status"] for t in listed} == {"SUCCESS", "MODAL"}
    answers = [*listed, fetch(system, modal), *system.get("/mj/task/list").json()]
    answers += system.get("/mj/task/queue").json()
    assert any(t["status"] == "MODAL" for t in system.get("/mj/task/queue").json())
    for task in answers:
        _go_decodes(task)
    assert any(t["buttons"] for t in answers)
