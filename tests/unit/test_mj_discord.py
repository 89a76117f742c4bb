"""The Discord REST client: headers, error mapping (§6.2), hosts we download from, payload
shapes (§6.3), the imagine prompt we send, and the command index cache (§6.1)."""

from __future__ import annotations

import json

import pytest

from mjproxy.config import Instance
from mjproxy.domain.task import Task, TaskAction
from mjproxy.providers.midjourney import commands, payloads
from mjproxy.providers.midjourney.account import Account, DiscordSettings
from mjproxy.providers.midjourney.discord import (
    Command,
    DiscordClient,
    DiscordError,
    RateLimited,
    Transient,
    Unauthorized,
)
from mjproxy.providers.midjourney.http import HttpResponse
from mjproxy.providers.midjourney.messages import marker_seed
from mjproxy.providers.midjourney.provider import imagine_prompt

TOKEN = "mfa.very-secret-user-token"
ACCOUNT = Account("c1", "g1", "c1", TOKEN, user_agent="UA/1", interaction_interval_seconds=0)


class FakeTransport:
    def __init__(self, *responses: HttpResponse | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[tuple[str, str, dict, bytes | None]] = []

    def __call__(self, method, url, headers, body, timeout):
        self.requests.append((method, url, headers, body))
        r = self.responses.pop(0)
        if isinstance(r, Exception):
            raise r
        return r


def client(*responses) -> tuple[DiscordClient, FakeTransport]:
    t = FakeTransport(*responses)
    return DiscordClient(ACCOUNT, DiscordSettings(api_base="https://discord.com/api/v9"), t), t


def j(status: int, data, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(status, json.dumps(data).encode(), headers or {})


def test_interaction_sends_the_originals_headers_and_accepts_only_204():
    c, t = client(HttpResponse(204))
    c.interact({"type": 2})
    method, url, headers, body = t.requests[0]
    assert (method, url) == ("POST", "https://discord.com/api/v9/interactions")
    assert headers == {"Authorization": TOKEN, "User-Agent": "UA/1",
                       "Content-Type": "application/json"}  # fmt: skip
    c, _ = client(HttpResponse(200, b"x" * 300))
    with pytest.raises(DiscordError) as err:
        c.interact({})
    assert err.value.message == "x" * 100  # first 100 characters of the body (§6.2)


def test_error_mapping():
    c, _ = client(j(429, {"message": "You are being rate limited.", "retry_after": 1.25}))
    with pytest.raises(RateLimited) as rl:
        c.interact({})
    assert rl.value.retry_after == 1.25
    c, _ = client(HttpResponse(429, b"", {"retry-after": "3"}))
    with pytest.raises(RateLimited) as rl:
        c.interact({})
    assert rl.value.retry_after == 3
    c, _ = client(j(401, {"message": "401: Unauthorized", "code": 0}))
    with pytest.raises(Unauthorized):
        c.interact({})
    c, _ = client(j(400, {"code": 50035, "message": "Invalid Form Body", "errors": {}}))
    with pytest.raises(DiscordError) as err:
        c.interact({})
    assert err.value.invalid_version and err.value.message == "Invalid Form Body"
    c, _ = client(j(404, {"code": 10008, "message": "Unknown Message"}))
    with pytest.raises(DiscordError) as err:
        c.interact({})
    assert not err.value.invalid_version and err.value.message == "Unknown Message"
    c, _ = client(j(502, {"message": "Bad Gateway"}))
    with pytest.raises(Transient):
        c.interact({})
    c, _ = client(TimeoutError("timed out"))
    with pytest.raises(Transient):
        c.interact({})


def test_downloads_only_from_discords_cdn_or_configured_hosts():
    c, t = client(HttpResponse(200, b"png"))
    assert c.download("https://cdn.discordapp.com/attachments/1/2/a.png?ex=1") == b"png"
    assert "Authorization" not in t.requests[0][2]  # CDN URLs are signed by themselves
    for url in ("https://evil.example/a.png", "http://cdn.discordapp.com/a.png",
                "file:///etc/passwd", "http://169.254.169.254/latest"):  # fmt: skip
        with pytest.raises(DiscordError):
            c.download(url)
    local = DiscordSettings(extra_cdn_hosts=("127.0.0.1:8765",))
    assert local.download_allowed("http://127.0.0.1:8765/attachments/1/2/a.png")
    assert not local.download_allowed("http://127.0.0.1:9999/a.png")


def test_command_index_keeps_midjourneys_commands_only():
    data = {"application_commands": [
        {"id": "1", "application_id": "936929561302675456", "version": "v1", "name": "imagine"},
        {"id": "2", "application_id": "123", "version": "v2", "name": "imagine"},
        {"id": "3", "application_id": "936929561302675456", "version": "v3", "name": "blend"},
    ]}  # fmt: skip
    c, t = client(j(200, data))
    found = c.command_index()
    assert found == {"imagine": Command("imagine", "1", "v1"), "blend": Command("blend", "3", "v3")}
    assert t.requests[0][1].endswith("/guilds/g1/application-command-index")


def test_the_token_is_never_in_a_repr():
    assert TOKEN not in repr(ACCOUNT)
    instance = Instance(id="c1", provider="midjourney", settings={"userToken": TOKEN})
    assert TOKEN not in repr(instance)


def test_payloads_have_the_originals_shapes():
    cmd = Command("imagine", "938956540159881230", "v9")
    p = payloads.imagine(ACCOUNT, cmd, "123", "a cat")
    assert p["type"] == 2 and p["application_id"] == "936929561302675456"
    assert (p["guild_id"], p["channel_id"], p["nonce"]) == ("g1", "c1", "123")
    assert len(p["session_id"]) == 32
    assert p["data"] == {"version": "v9", "id": "938956540159881230", "name": "imagine",
                         "type": 1, "options": [{"type": 3, "name": "prompt", "value": "a cat"}]}  # fmt: skip
    files = [("1.png", "up/1.png"), ("2.png", "up/2.png")]
    b = payloads.blend(ACCOUNT, Command("blend", "b", "v"), "1", files, "--ar 1:1")
    assert b["data"]["options"] == [
        {"type": 11, "name": "image1", "value": 0}, {"type": 11, "name": "image2", "value": 1},
        {"type": 3, "name": "dimensions", "value": "--ar 1:1"},
    ]  # fmt: skip
    assert b["data"]["attachments"][1] == {"id": "1", "filename": "2.png",
                                           "uploaded_filename": "up/2.png"}  # fmt: skip
    d = payloads.describe(ACCOUNT, Command("describe", "d", "v"), "1", files[:1])
    assert d["data"]["options"] == [{"type": 11, "name": "image", "value": 0}]
    btn = payloads.button(ACCOUNT, "1", "555", 0, payloads.custom_id(TaskAction.UPSCALE, 2, "h"))
    assert btn["type"] == 3 and btn["message_id"] == "555" and btn["message_flags"] == 0
    assert btn["data"] == {"component_type": 2, "custom_id": "MJ::JOB::upsample::2::h"}
    assert payloads.custom_id(TaskAction.VARIATION, 4, "h") == "MJ::JOB::variation::4::h"
    assert payloads.custom_id(TaskAction.REROLL, None, "h") == "MJ::JOB::reroll::0::h::SOLO"


def test_imagine_prompt_appends_our_seed_unless_the_user_gave_one():
    t = Task(
        id="1717401234567123", action=TaskAction.IMAGINE, prompt="猫", promptEn="a cat --ar 3:2"
    )
    assert imagine_prompt(t, ACCOUNT, []) == f"a cat --ar 3:2 --seed {marker_seed(t.id)}"
    t.promptEn = "a cat --seed 42"
    assert imagine_prompt(t, ACCOUNT, []) == "a cat --seed 42"
    t.promptEn, t.properties = "a cat", {"mode": "relax"}
    urls = ["https://cdn.discordapp.com/attachments/1/2/r.png"]
    assert imagine_prompt(t, ACCOUNT, urls) == f"{urls[0]} a cat --relax --seed {marker_seed(t.id)}"
    no_marker = Account("c1", "g1", "c1", TOKEN, seed_marker=False)
    t.properties = {}
    assert imagine_prompt(t, no_marker, []) == "a cat"


class FakeState:
    def __init__(self) -> None:
        self.stored: dict = {}
        self.at = 0

    def load_commands(self, account_id):
        return self.stored, self.at

    def store_commands(self, account_id, data):
        import time

        self.stored, self.at = data, int(time.time() * 1000)


def test_commands_are_cached_and_refreshed_on_demand():
    commands.clear_cache()
    index = {
        "application_commands": [
            {"id": "1", "application_id": "936929561302675456", "version": "v1", "name": "imagine"}
        ]
    }
    newer = {"application_commands": [
        {"id": "1", "application_id": "936929561302675456", "version": "v2", "name": "imagine"}]}  # fmt: skip
    c, t = client(j(200, index), j(200, newer))
    state = FakeState()
    cmds = commands.Commands(c, state, ttl_seconds=3600)
    assert cmds.get("imagine").version == "v1"
    assert cmds.get("imagine").version == "v1" and len(t.requests) == 1  # memory
    commands.clear_cache()
    assert cmds.get("imagine").version == "v1" and len(t.requests) == 1  # shared store
    assert cmds.get("imagine", refresh=True).version == "v2" and len(t.requests) == 2
    commands.clear_cache()


def test_commands_fall_back_to_known_versions_when_the_index_is_unreadable():
    commands.clear_cache()
    c, _ = client(j(403, {"message": "Missing Access", "code": 50001}))
    cmd = commands.Commands(c, FakeState(), ttl_seconds=3600).get("describe")
    assert cmd.id == "1092492867185950852" and cmd.version
    commands.clear_cache()
