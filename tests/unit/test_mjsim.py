"""The simulator speaks Discord as the proxy expects it (and as protocol.md §6 describes)."""

from __future__ import annotations

import json

from mjproxy.providers.midjourney import matcher
from mjproxy.providers.midjourney.messages import Message, job_hash
from mjsim import ManualClock, Simulator
from mjsim.formats import echo

BASE = "http://mjsim.test"


def setup() -> tuple[Simulator, object]:
    sim = Simulator(BASE, ManualClock(1_800_000_000.0))
    return sim, sim.add_account("tok")


def call(sim, method, path, body=None, token="tok"):
    data = json.dumps(body).encode() if body is not None else None
    r = sim.handle(method, BASE + path, {"Authorization": token}, data)
    return r.status, (json.loads(r.body) if r.body and r.body[:1] in b"[{" else r.body), r.headers


def imagine(sim, acct, prompt, nonce="1", version=None):
    _, index, _ = call(sim, "GET", f"/api/v9/guilds/{acct.guild_id}/application-command-index")
    cmd = next(c for c in index["application_commands"] if c["name"] == "imagine")
    body = {"type": 2, "application_id": "936929561302675456", "guild_id": acct.guild_id,
            "channel_id": acct.channel_id, "session_id": "s", "nonce": nonce,
            "data": {"id": cmd["id"], "version": version or cmd["version"], "name": "imagine",
                     "type": 1, "options": [{"type": 3, "name": "prompt", "value": prompt}]}}  # fmt: skip
    return call(sim, "POST", "/api/v9/interactions", body)


def messages(sim, acct, **q):
    query = "&".join(f"{k}={v}" for k, v in q.items())
    return call(sim, "GET", f"/api/v9/channels/{acct.channel_id}/messages?{query}")[1]


def test_imagine_lifecycle_in_the_protocols_formats():
    sim, acct = setup()
    assert imagine(sim, acct, "a  cat — stylize 50")[0] == 204
    sim.advance(1)
    (start,) = messages(sim, acct)
    assert (
        start["content"]
        == f"**a cat -- stylize 50 --v 6.0** - <@{acct.user_id}> (Waiting to start)"
    )
    assert start["interaction_metadata"]["name"] == "imagine"
    sim.advance(2)
    (running,) = messages(sim, acct)
    assert running["id"] == start["id"] and running["content"].endswith("(31%) (fast)")
    event = matcher.classify(Message(running))
    assert event.kind == "progress" and event.job_hash
    sim.advance(10)
    (final,) = messages(sim, acct)  # the progress message was deleted
    assert final["id"] != start["id"]
    event = matcher.classify(Message(final))
    assert event.kind == "done" and event.job_hash == job_hash(final["attachments"][0]["url"])
    assert "?ex=" in final["attachments"][0]["url"]
    ids = [c.get("custom_id") for row in final["components"] for c in row["components"]]
    assert f"MJ::JOB::upsample::1::{event.job_hash}" in ids
    assert f"MJ::JOB::reroll::0::{event.job_hash}::SOLO" in ids
    # Today's form: the Open-on-website link before the mode, and the web link button.
    assert f"(<https://midjourney.com/jobs/{event.job_hash}>) (fast)" in final["content"]
    links = [c for row in final["components"] for c in row["components"] if c.get("style") == 5]
    assert links and event.job_hash in links[0]["url"]
    status, png, _ = call(sim, "GET", final["attachments"][0]["url"][len(BASE) :])
    assert status == 200 and png[:4] == b"\x89PNG"


def test_listing_after_a_cursor_is_oldest_first_window_newest_first_order():
    sim, acct = setup()
    for n in range(5):
        call(sim, "POST", f"/api/v9/channels/{acct.channel_id}/messages", {"content": f"m{n}"})
        sim.advance(1)
    all_ = messages(sim, acct)
    assert [m["content"] for m in all_] == ["m4", "m3", "m2", "m1", "m0"]
    page = messages(sim, acct, after=all_[-1]["id"], limit=2)
    assert [m["content"] for m in page] == ["m2", "m1"]


def test_faults_401_429_and_stale_versions():
    sim, acct = setup()
    assert call(sim, "GET", "/api/v9/guilds/1/application-command-index", token="bad")[0] == 401
    sim.rate_limit(1, retry_after=2.5)
    status, body, headers = call(sim, "GET", f"/api/v9/channels/{acct.channel_id}/messages")
    assert status == 429 and body["retry_after"] == 2.5 and headers["retry-after"] == "2"
    _, index, _ = call(sim, "GET", f"/api/v9/guilds/{acct.guild_id}/application-command-index")
    old = next(c for c in index["application_commands"] if c["name"] == "imagine")["version"]
    sim.redeploy_commands()
    status, body, _ = imagine(sim, acct, "cat", version=old)
    assert status == 400 and body["code"] == 50035
    assert "INTERACTION_APPLICATION_COMMAND_INVALID_VERSION" in json.dumps(body)
    sim.revoke("tok")
    assert call(sim, "POST", "/api/v9/interactions", {"type": 2})[0] == 401


def test_moderation_answers_with_a_red_embed_quoting_the_command():
    sim, acct = setup()
    imagine(sim, acct, "a bloody scene")
    sim.advance(1)
    (reply,) = messages(sim, acct)
    embed = reply["embeds"][0]
    assert embed["title"] == "Banned prompt detected" and embed["color"] == 16711680
    assert embed["footer"]["text"] == "/imagine a bloody scene"


def test_cdn_urls_expire():
    sim = Simulator(BASE, ManualClock(1_800_000_000.0), url_ttl_seconds=60)
    acct = sim.add_account("tok")
    imagine(sim, acct, "cat")
    sim.advance(20)
    url = messages(sim, acct)[0]["attachments"][0]["url"]
    assert call(sim, "GET", url[len(BASE) :])[0] == 200
    sim.advance(120)
    status, body, _ = call(sim, "GET", url[len(BASE) :])
    assert status == 404 and body == b"This content is no longer available."


def test_echo_rewrites_links_and_appends_the_version():
    assert echo("https://x.test/a.png  cat").startswith("<https://s.mj.run/")
    assert echo("cat --niji 6") == "cat --niji 6"
    assert echo("<https://s.mj.run/abc> cat --v 5.2") == "<https://s.mj.run/abc> cat --v 5.2"
