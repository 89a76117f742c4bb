"""The matcher's rules, one by one, and their order (classify.py, matcher.py)."""

from __future__ import annotations

from mjproxy.domain.task import Task, TaskAction, TaskStatus
from mjproxy.providers.midjourney import classify as c
from mjproxy.providers.midjourney import matcher as m
from mjproxy.providers.midjourney.messages import ORANGE, RED, YELLOW, Message, marker_seed

MJ = {"id": "936929561302675456", "bot": True}
UUID = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
CDN = "https://cdn.discordapp.com/attachments/1/2"
SIGNED = "?ex=1&is=2&hm=3&"


def msg(content: str = "", **fields) -> Message:
    return Message({"id": fields.pop("id", "1000"), "content": content, "author": MJ, **fields})


def grid(name: str = f"user_cat_{UUID}.png") -> list[dict]:
    return [{"url": f"{CDN}/{name}{SIGNED}"}]


def task(
    tid: str, action: TaskAction = TaskAction.IMAGINE, *, prompt: str = "cat", sent: int | None = 1,
    parent_msg: str | None = None, index: int | None = None, **state,
) -> Task:  # fmt: skip
    t = Task(id=tid, action=action, status=TaskStatus.SUBMITTED, prompt=prompt, promptEn=prompt,
             index=index)  # fmt: skip
    if sent is not None:
        t.providerState["sentAt"] = sent
    t.providerState.update(state)
    if parent_msg:
        t.properties["referencedMessageId"] = parent_msg
    return t


def cands(*tasks: Task) -> list[m.Candidate]:
    return [m.Candidate.of(t) for t in tasks]


# ---- classifiers ------------------------------------------------------------------------------
def test_messages_not_from_midjourney_are_ignored():
    own = Message({"id": "1", "content": "upload image: x.png", "author": {"id": "42"}})
    assert c.ignore_foreign(own).kind == "ignore"
    assert c.ignore_foreign(msg("x")) is None


def test_warning_embeds_in_both_colours_are_warnings_only():
    for colour in (ORANGE, YELLOW):
        assert c.ignore_warning(msg(embeds=[{"title": "t", "color": colour}])).kind == "ignore"


def test_failed_content():
    event = c.failed_content(msg("Failed to process your command :("))
    assert event.kind == "failure" and event.reason == "Failed to process your command :("


def test_captcha():
    event = c.captcha(msg(iframe_path="/captcha/embedded/abc", embeds=[{"title": "Verify"}]))
    assert event.reason == "[Verify] /captcha/embedded/abc"


def test_red_embed():
    embed = {"title": "Invalid parameter", "description": "Invalid value for --ar", "color": RED}
    assert c.red_embed(msg(embeds=[embed])).reason == "[Invalid parameter] Invalid value for --ar"


def test_describe_result_and_start():
    image = {"url": f"{CDN}/1717401234567123.png{SIGNED}"}
    done = msg(interaction={"id": "9", "name": "describe"},
               embeds=[{"description": "1️⃣ a cat", "image": image}])  # fmt: skip
    assert c.describe_result(done).text == "1️⃣ a cat"
    start = msg(interaction={"id": "9", "name": "describe"}, embeds=[{"image": image}])
    assert c.describe_result(start) is None and c.describe_start(start).kind == "start"


def test_other_embed_fails_only_non_job_messages():
    action = msg(embeds=[{"title": "Action needed to continue", "description": "Appeal?"}])
    assert c.other_embed(action).reason == "[Action needed to continue] Appeal?"
    link = msg(embeds=[{"title": "t", "description": "d", "type": "link"}])
    assert c.other_embed(link) is None


def test_upscale_done_reads_the_image_number():
    event = c.upscale_done(msg("**cat --v 6.0** - Image #3 <@42>", attachments=grid()))
    assert event.kind == "done" and event.upscale and event.index == 3
    assert event.prompt == "cat --v 6.0"
    assert event.job_hash is None  # an upscale's file may carry the grid's UUID
    assert c.upscale_done(msg("**cat** - Upscaled (Subtle) by <@42> (fast)", attachments=grid()))


def test_grid_done_for_imagine_and_variations():
    done = c.grid_done(msg("**cat --v 6.0** - <@42> (fast)", attachments=grid()))
    assert done.kind == "done" and not done.variation and done.job_hash == UUID
    var = c.grid_done(msg("**cat** - Variations (Strong) by <@42> (fast)", attachments=grid()))
    assert var.variation
    # Still running: a percentage is no speed mode.
    assert c.grid_done(msg("**cat** - <@42> (31%) (fast)", attachments=grid())) is None
    assert c.grid_done(msg("**cat** - <@42> (fast)")) is None  # no image: not finished


def test_progress_and_start():
    p = c.progress(msg("**cat** - <@42> (46%) (fast)", attachments=grid(f"{UUID}_grid_0.webp")))
    assert p.kind == "progress" and p.progress == "46%" and p.job_hash == UUID
    s = c.progress(msg("**cat** - <@42> (Waiting to start)"))
    assert s.kind == "start" and s.progress == "0%"
    assert c.progress(msg("**cat** - <@42> (Stopped)")).kind == "ignore"


def test_old_start_formats_give_the_image_number():
    e = c.old_start(msg("Upscaling image #2 with **cat** - <@42> (Waiting to start)"))
    assert e.upscale and e.index == 2
    e = c.old_start(msg("Making variations for image #4 with prompt **cat** - <@42> (0%)"))
    assert e.variation and e.index == 4


def test_classifier_order_is_explicit():
    names = [rule.__name__ for rule in c.CLASSIFIERS]
    assert names.index("red_embed") < names.index("grid_done")
    assert names.index("describe_result") < names.index("other_embed")
    assert names.index("grid_done") < names.index("progress")
    # A red embed on a message with an image is still a failure.
    embed = {"title": "Banned prompt detected", "description": "no", "color": RED}
    event = c.classify(msg("**cat** - <@42> (fast)", embeds=[embed], attachments=grid()))
    assert event.kind == "failure"


# ---- locators ---------------------------------------------------------------------------------
def test_by_binding_follows_a_job_already_taken():
    t = task("1", interactionId="77")
    e = c.classify(msg("**cat** - <@42> (fast)", attachments=grid(),
                       interaction_metadata={"id": "77"}))  # fmt: skip
    assert m.by_binding(e, cands(task("0"), t)).task is t
    t2 = task("2", jobHash=UUID)
    assert m.by_binding(e, cands(t2)).task is t2
    t3 = task("3", messageIds=["1000"])
    assert m.by_binding(c.classify(msg("**cat** - <@42> (31%) (x)")), cands(t3)).task is t3


def test_by_parent_message_picks_action_and_index():
    u1 = task("1", TaskAction.UPSCALE, parent_msg="55", index=1)
    u2 = task("2", TaskAction.UPSCALE, parent_msg="55", index=2)
    other = task("3", TaskAction.UPSCALE, parent_msg="66", index=2)
    e = c.classify(msg("**cat** - Image #2 <@42>", attachments=grid(),
                       message_reference={"message_id": "55"}))  # fmt: skip
    assert m.by_parent_message(e, cands(u1, other, u2)).task is u2
    v = task("4", TaskAction.VARIATION, parent_msg="55", index=3)
    r = task("5", TaskAction.REROLL, parent_msg="55", sent=5)
    ev = c.classify(msg("**cat** - Variations (Strong) by <@42> (fast)", attachments=grid(),
                        interaction_metadata={"id": "8", "interacted_message_id": "55"}))  # fmt: skip
    assert m.by_parent_message(ev, cands(r, v)).task is v  # earliest sent
    er = c.classify(msg("**cat** - <@42> (fast)", attachments=grid(),
                        interaction_metadata={"id": "9", "interacted_message_id": "55"}))  # fmt: skip
    assert m.by_parent_message(er, cands(v, r)).task is r  # imagine format: a reroll


def test_by_described_image_uses_our_upload_name():
    d = task("1717401234567123", TaskAction.DESCRIBE)
    e = c.classify(msg(interaction={"id": "1", "name": "describe"},
                       embeds=[{"description": "1️⃣ x",
                                "image": {"url": f"{CDN}/1717401234567123.png{SIGNED}"}}]))  # fmt: skip
    assert m.by_described_image(e, cands(task("1", TaskAction.DESCRIBE), d)).task is d


def test_by_seed_finds_the_task_whose_seed_we_appended():
    a, b = task("1717401234567001"), task("1717401234567002")
    e = c.classify(msg(f"**cat --seed {marker_seed(b.id)} --v 6.0** - <@42> (fast)",
                       attachments=grid()))  # fmt: skip
    assert m.by_seed(e, cands(a, b)).task is b
    # In an error embed's footer too.
    embed = {"title": "Banned prompt detected", "description": "x", "color": RED,
             "footer": {"text": f"/imagine cat --seed {marker_seed(a.id)}"}}  # fmt: skip
    assert m.by_seed(c.classify(msg(embeds=[embed])), cands(a, b)).task is a


def test_by_seed_never_takes_a_button_result():
    a = task("1717401234567001")
    e = c.classify(msg(f"**cat --seed {marker_seed(a.id)}** - <@42> (fast)", attachments=grid(),
                       interaction_metadata={"id": "3", "interacted_message_id": "9"}))  # fmt: skip
    assert m.by_seed(e, cands(a)) is None and m.by_prompt(e, cands(a)) is None


def test_by_prompt_takes_the_earliest_sent_unbound_task():
    first, second = task("1", prompt="a red fox", sent=10), task("2", prompt="a red  fox", sent=5)
    bound = task("3", prompt="a red fox", sent=1, interactionId="x")
    e = c.classify(msg("**a red fox --v 6.0** - <@42> (Waiting to start)"))
    assert m.by_prompt(e, cands(first, second, bound)).task is second
    assert m.by_prompt(e, cands(task("4", prompt="a blue fox"))) is None


def test_by_prompt_accepts_a_truncated_echo():
    long = "a very long prompt " * 10
    e = c.classify(msg(f"**{long[:60]}** - <@42> (fast)", attachments=grid()))
    assert m.by_prompt(e, cands(task("1", prompt=long))) is not None


def test_order_rules_for_blend_and_describe():
    b1, b2 = task("1", TaskAction.BLEND, sent=2), task("2", TaskAction.BLEND, sent=1)
    e = c.classify(msg("**<https://s.mj.run/a> <https://s.mj.run/b> --ar 1:1** - <@42> (fast)",
                       attachments=grid(), interaction={"id": "5", "name": "blend"}))  # fmt: skip
    assert m.by_blend_order(e, cands(b1, b2)).task is b2
    d = task("3", TaskAction.DESCRIBE)
    ed = c.classify(msg(interaction={"id": "6", "name": "describe"}, embeds=[{"image": {}}]))
    assert m.by_describe_order(ed, cands(d)).task is d


def test_by_sole_pending_only_when_unambiguous():
    embed = {"title": "Queue full", "description": "wait", "color": 0}
    e = c.classify(msg(embeds=[embed], interaction={"id": "5", "name": "imagine"}))
    one = task("1")
    assert m.by_sole_pending(e, cands(one, task("2", TaskAction.BLEND))).task is one
    assert m.by_sole_pending(e, cands(one, task("3"))) is None


def test_tasks_sent_after_a_message_cannot_own_it():
    late = task("1", prompt="cat", sent=10**13 * 2)
    e = c.classify(msg("**cat** - <@42> (Waiting to start)", id=str(1 << 22)))
    assert m.by_prompt(e, cands(late)) is None


def test_locator_order_is_explicit():
    names = [rule.__name__ for rule in m.LOCATORS]
    assert names == ["by_nonce", "by_binding", "by_parent_message", "by_described_image", "by_seed",
                     "by_prompt", "by_blend_order", "by_describe_order", "by_shorten_order",
                     "by_sole_pending"]  # fmt: skip


# ---- match ------------------------------------------------------------------------------------
def test_match_binds_the_job_so_later_messages_follow():
    t = task("1", prompt="owl")
    start = msg(
        "**owl** - <@42> (Waiting to start)", id="100", interaction={"id": "7", "name": "imagine"}
    )
    event, found = m.match(start, cands_list := cands(t))
    assert found.task is t and found.interaction_id == "7" and found.message_ids == ["100"]
    done = msg("**owl** - <@42> (fast)", id="101", attachments=grid(),
               interaction={"id": "7", "name": "imagine"})  # fmt: skip
    assert m.match(done, cands_list)[1] is found
    assert found.binding_state()["interactionId"] == "7"


def test_match_ignores_messages_of_retired_jobs():
    # The grid of a finished task read again must not go to a sibling with the same prompt.
    t = task("2", prompt="owl")
    done = msg("**owl** - <@42> (fast)", id="101", attachments=grid(),
               interaction={"id": "7", "name": "imagine"})  # fmt: skip
    event, found = m.match(done, cands(t), retired={"7"})
    assert found is None and event.kind == "ignore"


def test_by_nonce_when_the_message_carries_ours():
    t = task("1")
    t.properties["nonce"] = "1248060123456789504"
    e = c.classify(msg("**cat** - <@42> (Waiting to start)", nonce="1248060123456789504"))
    assert m.by_nonce(e, cands(task("2"), t)).task is t
    assert m.by_nonce(c.classify(msg("**cat** - <@42> (Waiting to start)")), cands(t)) is None


def test_by_parent_message_tells_the_upscales_follow_ups_apart():
    """On one upscale message: Upscale (Subtle), Vary (Strong), Zoom Out, Pan Left and Right
    pressed at once; each result text (trueai MjMessageParser.cs:33-85) binds its own task."""
    meta = {"interaction_metadata": {"id": "77", "type": 3, "interacted_message_id": "500"}}

    def child(tid, action, custom, sent):
        t = task(tid, action, parent_msg="500", sent=sent)
        t.customId = custom
        return t

    hd = child("hd", TaskAction.UPSCALE_HD, f"MJ::JOB::upsample_v7_2x_subtle::1::{UUID}::SOLO", 5)
    vary = child("vary", TaskAction.VARIATION, f"MJ::JOB::high_variation::1::{UUID}::SOLO", 4)
    zoom = child("zoom", TaskAction.ZOOM, f"MJ::Outpaint::50::1::{UUID}::SOLO", 3)
    left = child("left", TaskAction.PAN, f"MJ::JOB::pan_left::1::{UUID}::SOLO", 2)
    right = child("right", TaskAction.PAN, f"MJ::JOB::pan_right::1::{UUID}::SOLO", 1)
    every = cands(hd, vary, zoom, left, right)
    texts = {
        "**cat --v 7.0** - Upscaled (Subtle) by <@1> (fast)": hd,
        "**cat --v 7.0** - Variations (Strong) by <@1> (fast)": vary,
        "**cat --v 7.0** - Zoom Out by <@1> (fast)": zoom,
        "**cat --v 7.0** - Pan Left by <@1> (fast)": left,
        "**cat --v 7.0** - Pan Right by <@1> (31%) (fast)": right,
    }
    for content, owner in texts.items():
        e = c.classify(msg(content, attachments=grid(), **meta))
        assert m.by_parent_message(e, every).task is owner, content


def test_an_imagine_echoing_another_jobs_seed_is_not_matched_by_prompt():
    """A job sent with another --seed (a cancelled or timed-out task's, no message bound yet)
    answers with that seed: a sibling of the same prompt must not take it."""
    mine = task("1", prompt="owl --seed 7")
    echoed = msg("**owl --seed 8** - <@42> (fast)", id="300", attachments=grid(),
                 interaction={"id": "9", "name": "imagine"})  # fmt: skip
    assert m.match(echoed, cands(mine))[1] is None
    same = msg("**owl --seed 7** - <@42> (fast)", id="301", attachments=grid(),
               interaction={"id": "10", "name": "imagine"})  # fmt: skip
    assert m.match(same, cands(mine))[1] is not None
