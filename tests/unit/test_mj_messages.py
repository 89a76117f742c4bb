"""Reading Midjourney's messages: §6.8 regexes, §6.10 job UUID, the message view."""

from __future__ import annotations

from mjproxy.providers.midjourney.messages import (
    Message,
    is_running_status,
    job_hash,
    marker_seed,
    primary_prompt,
    seed_of,
    snowflake_at,
    snowflake_ms,
)

UUID = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
SIGNED = "?ex=66b0c1d2&is=66af7052&hm=0123456789abcdef0123456789abcdef&"


def test_job_hash_of_a_grid_with_a_signed_url():
    url = f"https://cdn.discordapp.com/attachments/1/2/someuser_Cat_in_a_hat_{UUID}.png{SIGNED}"
    assert job_hash(url) == UUID


def test_job_hash_of_a_preview_strips_the_query_string_first():
    # The original's [BUG]: with the query string left on, this came out as "0".
    url = f"https://cdn.discordapp.com/attachments/1/2/{UUID}_grid_0.webp{SIGNED}"
    assert job_hash(url) == UUID


def test_job_hash_without_a_uuid():
    assert job_hash(None) is None
    assert job_hash("https://cdn.discordapp.com/attachments/1/2/1795600000000123.png") is None


def test_primary_prompt_ignores_midjourneys_rewriting():
    sent = "https://cdn.discordapp.com/attachments/1/2/a.png  a red   fox --ar 3:2 --seed 5"
    echoed = "<https://s.mj.run/AbCdEf> a red fox --ar 3:2 --seed 5 --v 6.0"
    assert primary_prompt(sent) == primary_prompt(echoed) == "<link>aredfox"


def test_seed_of_takes_the_last_seed():
    assert seed_of("cat --seed 12 --v 6 --seed 34") == 34
    assert seed_of("cat --sameseed 3") is None
    assert seed_of(None) is None


def test_marker_seed_is_stable_and_in_midjourneys_range():
    assert marker_seed("1717401234567123") == marker_seed("1717401234567123")
    assert marker_seed("1717401234567123") != marker_seed("1717401234567124")
    assert 0 <= marker_seed("x") <= 4294967295


def test_running_statuses():
    for status in ("0%", "31%", "Waiting to start", "paused", "Stopped", "Job queued"):
        assert is_running_status(status), status
    for status in ("fast", "relaxed", "turbo", "fast, stealth", None):
        assert not is_running_status(status), status


def test_snowflakes_round_trip_to_milliseconds():
    assert snowflake_ms(snowflake_at(1717401234567)) == 1717401234567


def test_message_view_reads_interaction_metadata_and_references():
    msg = Message(
        {
            "id": "10",
            "content": "**cat --v 6.0** - <@42> (31%) (fast)",
            "author": {"id": "936929561302675456"},
            "interaction_metadata": {"id": "77", "type": 3, "interacted_message_id": "5"},
            "attachments": [{"url": "https://cdn.discordapp.com/a/b/c.png"}],
        }
    )
    assert msg.from_midjourney and msg.interaction_id == "77"
    assert msg.parent_message_id == "5" and msg.reference_id is None
    assert msg.echoed_prompt == "cat --v 6.0" and msg.status == "31%"
    legacy = Message({"id": "11", "interaction": {"id": "78", "name": "imagine"},
                      "message_reference": {"message_id": "6"}})  # fmt: skip
    assert legacy.interaction_id == "78" and legacy.interaction_name == "imagine"
    assert legacy.parent_message_id == "6" and legacy.reference_id == "6"
