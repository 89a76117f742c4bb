"""The foundation flows on moto in-process: imagine -> SUCCESS -> U/V/R, as a client sees them."""

from __future__ import annotations

from tests.scenarios import data_url, fetch, image_of, png_bytes, run_to_end, submit_ok


def test_imagine_goes_through_every_status_to_a_presigned_grid(system):
    task_id = submit_ok(
        system, "/mj/submit/imagine", {"prompt": "a red fox in snow --ar 3:2", "state": '{"u":1}'}
    )
    seen = [fetch(system, task_id)]
    assert seen[0]["status"] == "NOT_START" and seen[0]["progress"] is None
    for _ in range(50):
        if not system.deliver_once():
            break
        seen.append(fetch(system, task_id))
    statuses = [t["status"] for t in seen]
    assert statuses[0] == "NOT_START" and "SUBMITTED" in statuses and "IN_PROGRESS" in statuses
    assert statuses[-1] == "SUCCESS"
    running = [t["progress"] for t in seen if t["status"] == "IN_PROGRESS"]
    assert all(p.endswith("%") for p in running)
    assert [int(p[:-1]) for p in running] == sorted(int(p[:-1]) for p in running)
    final = seen[-1]
    assert final["progress"] == "100%" and final["failReason"] is None
    assert final["description"] == "/imagine a red fox in snow --ar 3:2"
    assert final["state"] == '{"u":1}'
    assert final["startTime"] and final["finishTime"] >= final["startTime"] >= final["submitTime"]
    assert (
        "X-Amz-Signature=" in final["imageUrl"]
        and "X-Amz-Algorithm=AWS4-HMAC-SHA256" in final["imageUrl"]
    )
    grid = image_of(final["imageUrl"])
    assert grid.format == "PNG"
    assert abs(grid.width / grid.height - 1.5) < 0.02
    assert len(final["imageUrls"]) == 4
    assert final["properties"]["discordInstanceId"]
    assert final["properties"]["finalPrompt"]
    assert any(b["customId"].startswith("MJ::JOB::upsample::1::") for b in final["buttons"])


def test_upscale_is_the_chosen_quadrant_as_a_larger_image(system):
    parent_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "lighthouse at dusk --ar 2:3"})
    parent = run_to_end(system, parent_id)
    quadrants = [image_of(u["url"]) for u in parent["imageUrls"]]
    for index in (1, 2, 3, 4):
        child_id = submit_ok(
            system, "/mj/submit/change", {"taskId": parent_id, "action": "UPSCALE", "index": index}
        )
        child = run_to_end(system, child_id)
        assert child["status"] == "SUCCESS", child
        assert child["action"] == "UPSCALE"
        assert child["description"] == f"/up {parent_id} U{index}"
        assert child["prompt"] == parent["prompt"]
        assert child["imageUrls"] is None
        # an upscale's own follow-ups (plus-api.md §2.1.3), never the grid's U/V
        assert "MJ::JOB::reroll::0::" in child["buttons"][-1]["customId"]
        assert not any("::upsample::" in b["customId"] for b in child["buttons"])
        up = image_of(child["imageUrl"])
        q = quadrants[index - 1]
        assert up.width > q.width and up.height > q.height
        # It is that quadrant: closer to it than to any other quadrant.
        small = up.convert("RGB").resize(q.size)
        distances = [_distance(small, other.convert("RGB")) for other in quadrants]
        assert distances.index(min(distances)) == index - 1


def test_variation_and_reroll_give_new_grids(system):
    parent_id = submit_ok(system, "/mj/submit/imagine", {"prompt": "a castle on a hill"})
    parent = run_to_end(system, parent_id)
    var_id = submit_ok(
        system, "/mj/submit/change", {"taskId": parent_id, "action": "VARIATION", "index": 3}
    )
    var = run_to_end(system, var_id)
    assert var["status"] == "SUCCESS" and var["description"] == f"/up {parent_id} V3"
    assert len(var["imageUrls"]) == 4
    reroll_id = submit_ok(system, "/mj/submit/change", {"taskId": parent_id, "action": "REROLL"})
    reroll = run_to_end(system, reroll_id)
    assert reroll["status"] == "SUCCESS" and reroll["description"] == f"/up {parent_id} R"
    before = image_of(parent["imageUrl"]).convert("RGB")
    after = image_of(reroll["imageUrl"]).convert("RGB").resize(before.size)
    assert _distance(before, after) > 5
    # Results of V and R can themselves be changed further.
    up_id = submit_ok(
        system, "/mj/submit/change", {"taskId": reroll_id, "action": "UPSCALE", "index": 1}
    )
    assert run_to_end(system, up_id)["status"] == "SUCCESS"


def test_reference_images_are_stored_and_used(system):
    ref = data_url(png_bytes((64, 64), (10, 200, 40)))
    task_id = submit_ok(
        system, "/mj/submit/imagine", {"prompt": "a garden", "base64Array": [ref], "base64": ref}
    )
    task = run_to_end(system, task_id)
    assert task["status"] == "SUCCESS"


def test_unknown_task_is_json_null(system):
    r = system.get("/mj/task/1234567890123456/fetch")
    assert r.status == 200 and r.text == "null"


def test_change_keeps_the_mode_prefix_and_state(system):
    parent_id = submit_ok(system, "/mj-relax/mj/submit/imagine", {"prompt": "a boat"})
    run_to_end(system, parent_id)
    r = system.post(
        "/mj-relax/mj/submit/change",
        {"taskId": parent_id, "action": "UPSCALE", "index": 1, "state": "s"},
    )
    assert r.json()["code"] == 1
    child = run_to_end(system, r.json()["result"])
    assert child["state"] == "s"
    r = system.get(f"/mj-relax/mj/task/{parent_id}/fetch")
    assert r.json()["id"] == parent_id


def _distance(a, b) -> float:
    from PIL import ImageChops, ImageStat

    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3
