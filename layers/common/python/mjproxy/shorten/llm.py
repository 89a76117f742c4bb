"""Shortening by an LLM where one is configured (MJ_SHORTEN_LLM=bedrock|openai): Amazon Bedrock's
Converse API or an OpenAI-compatible chat completions endpoint. Any failure returns no prompts,
and the caller falls back to the local shortener (a SHORTEN task never fails for want of an LLM).

Settings: MJ_SHORTEN_BEDROCK_MODEL_ID (default amazon.nova-micro-v1:0; the worker's role needs
bedrock:InvokeModel on it), MJ_SHORTEN_OPENAI_BASE_URL, MJ_SHORTEN_OPENAI_MODEL and the key in
MJ_SHORTEN_OPENAI_API_KEY[_PARAM|_ARN].
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You shorten Midjourney prompts. Reply with exactly five shortened versions of the user's "
    "prompt, one per line, longest first, without numbering or commentary. Keep the subject, "
    "style and composition words; drop filler words and quality boilerplate; keep any --parameters "
    "unchanged at the end of each line."
)
TIMEOUT_SECONDS = 20.0
Opener = Callable[[urllib.request.Request, float], Any]


class Llm(Protocol):
    name: str

    def shorten(self, prompt: str) -> list[str]: ...


def parse_lines(text: str) -> list[str]:
    """Five prompts from an LLM answer, tolerating numbering, bullets and blank lines."""
    out = []
    for line in (text or "").splitlines():
        line = re.sub(r"^\s*(?:\d+[.)]|[-*•]|\d️⃣)\s*", "", line).strip().strip('"')
        if line:
            out.append(line)
    return out[:5]


class BedrockConverse:
    name = "bedrock"

    def __init__(self, model_id: str, client: Any | None = None) -> None:
        self.model_id = model_id
        self._client = client

    def shorten(self, prompt: str) -> list[str]:
        from ..aws import client as aws_client

        bedrock = self._client or aws_client("bedrock-runtime")
        try:
            out = bedrock.converse(
                modelId=self.model_id,
                system=[{"text": SYSTEM_PROMPT}],
                messages=[{"role": "user", "content": [{"text": prompt}]}],
                inferenceConfig={"temperature": 0, "maxTokens": 800},
            )
            parts = out["output"]["message"]["content"]
            return parse_lines("".join(p.get("text", "") for p in parts))
        except Exception:
            log.warning("bedrock shorten failed; using the local shortener", exc_info=True)
            return []


class OpenAIChat:
    name = "openai"

    def __init__(
        self, base_url: str, model: str, api_key: str, opener: Opener | None = None
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.opener = opener or (lambda req, t: urllib.request.urlopen(req, timeout=t))  # noqa: S310

    def shorten(self, prompt: str) -> list[str]:
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": prompt},
            ],
        }
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with self.opener(request, TIMEOUT_SECONDS) as response:
                data = json.loads(response.read().decode("utf-8"))
            return parse_lines(str(data["choices"][0]["message"]["content"]))
        except Exception:
            log.warning("openai shorten failed; using the local shortener", exc_info=True)
            return []


def configured_llm() -> Llm | None:
    kind = os.environ.get("MJ_SHORTEN_LLM", "").strip().lower()
    if kind == "bedrock":
        return BedrockConverse(
            os.environ.get("MJ_SHORTEN_BEDROCK_MODEL_ID", "").strip() or "amazon.nova-micro-v1:0"
        )
    if kind == "openai":
        from ..secrets import secret

        try:
            key = secret(
                "MJ_SHORTEN_OPENAI_API_KEY",
                "MJ_SHORTEN_OPENAI_API_KEY_PARAM",
                "MJ_SHORTEN_OPENAI_API_KEY_ARN",
            )
        except Exception:
            log.warning("shorten: OpenAI key unreadable; using the local shortener", exc_info=True)
            return None
        return OpenAIChat(
            os.environ.get("MJ_SHORTEN_OPENAI_BASE_URL", "").strip() or "https://api.openai.com/v1",
            os.environ.get("MJ_SHORTEN_OPENAI_MODEL", "").strip() or "gpt-4o-mini",
            key,
        )
    return None
