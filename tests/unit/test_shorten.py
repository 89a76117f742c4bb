"""The shortener package: the local rules really drop filler, the LLM paths parse what Bedrock
Converse and OpenAI chat completions answer (stubbed; shapes from their public API references)."""

from __future__ import annotations

import io
import json

import pytest
from botocore.stub import Stubber

from mjproxy import shorten
from mjproxy.shorten import llm, local

FILLED = (
    "a very beautiful highly detailed red fox sitting in deep snow, trending on artstation, "
    "8k, masterpiece --ar 3:2"
)


def test_local_shortener_drops_filler_and_keeps_parameters():
    out = local.analyse(FILLED)
    assert len(out.prompts) == 5
    for prompt in out.prompts:
        assert prompt.endswith("--ar 3:2")
        for filler in (
            "very",
            "beautiful",
            "highly",
            "detailed",
            "artstation",
            "8k",
            "masterpiece",
        ):
            assert filler not in prompt.split(), (filler, prompt)
    assert out.prompts[0] == "red fox sitting, deep snow --ar 3:2"
    # Shorter and shorter, and the subject survives to the end.
    lengths = [len(p) for p in out.prompts]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] > lengths[-1]
    assert "fox" in out.prompts[-1]
    assert out.tokens[0] == "fox"


def test_local_shortener_is_deterministic_and_renders_like_midjourney():
    assert local.analyse(FILLED) == local.analyse(FILLED)
    text = local.render(local.analyse(FILLED))
    assert text.startswith("## Important tokens\n")
    assert "## Shortened prompts" in text
    assert [line[:3] for line in text.splitlines() if line[:1].isdigit()] == [
        "1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣",
    ]  # fmt: skip


def test_a_prompt_of_only_filler_keeps_its_text():
    out = local.analyse("very beautiful masterpiece")
    assert all(p == "very beautiful masterpiece" for p in out.prompts)


def test_llm_lines_are_parsed_without_numbering():
    text = '1. red fox in snow\n\n2) fox, snow\n- fox\n3️⃣ a fox\n"fox only"\nextra'
    assert llm.parse_lines(text) == ["red fox in snow", "fox, snow", "fox", "a fox", "fox only"]


def test_bedrock_converse_answer_is_used(monkeypatch):
    import boto3

    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    stub = Stubber(client)
    # Converse response shape: output.message.content[].text (Bedrock API reference).
    stub.add_response(
        "converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "red fox\nfox"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 10, "outputTokens": 4, "totalTokens": 14},
            "metrics": {"latencyMs": 100},
        },
        {
            "modelId": "amazon.nova-micro-v1:0",
            "system": [{"text": llm.SYSTEM_PROMPT}],
            "messages": [{"role": "user", "content": [{"text": FILLED}]}],
            "inferenceConfig": {"temperature": 0, "maxTokens": 800},
        },
    )
    monkeypatch.setattr(
        llm, "configured_llm", lambda: llm.BedrockConverse("amazon.nova-micro-v1:0", client)
    )
    monkeypatch.setattr(shorten, "configured_llm", llm.configured_llm)
    with stub:
        out = shorten.shorten(FILLED)
    assert out.source == "bedrock"
    assert out.prompts == ["red fox --ar 3:2", "fox --ar 3:2"]


class _Reply(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_openai_chat_answer_is_used_and_failure_falls_back(monkeypatch):
    sent = []

    def opener(request, timeout):
        sent.append(json.loads(request.data))
        body = {"choices": [{"message": {"role": "assistant", "content": "fox in snow --ar 3:2"}}]}
        return _Reply(json.dumps(body).encode())

    chat = llm.OpenAIChat("https://api.example/v1", "gpt-4o-mini", "sk-test", opener)
    monkeypatch.setattr(shorten, "configured_llm", lambda: chat)
    out = shorten.shorten(FILLED)
    assert (out.source, out.prompts) == ("openai", ["fox in snow --ar 3:2"])
    assert sent[0]["messages"][1]["content"] == FILLED

    def broken(request, timeout):
        raise OSError("connection refused")

    monkeypatch.setattr(
        shorten, "configured_llm", lambda: llm.OpenAIChat("https://x/v1", "m", "k", broken)
    )
    fallback = shorten.shorten(FILLED)
    assert fallback.source == "local" and fallback.prompts == local.analyse(FILLED).prompts


@pytest.mark.parametrize("kind,cls", [("bedrock", llm.BedrockConverse), ("", type(None))])
def test_configured_llm_from_the_environment(monkeypatch, kind, cls):
    monkeypatch.setenv("MJ_SHORTEN_LLM", kind)
    assert isinstance(llm.configured_llm(), cls)
