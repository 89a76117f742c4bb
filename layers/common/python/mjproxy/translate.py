"""Prompt translation for imagine (protocol.md §5.10), off by default.

`MJ_TRANSLATE` picks the translator: "" (off), "aws" (Amazon Translate) or "openai" (any
OpenAI-compatible chat-completions endpoint). Only prompts containing a CJK ideograph are
translated, and only their free text: `--params` stay as typed (except the value of `--no`, which
is text too) and image URLs are kept verbatim and moved to the front, as the original 2.5.3+ does.
A translator that fails or answers nothing leaves the text untranslated: a submit never fails
because of translation (the original answered HTTP 500 on a GPT network error).
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

from .config import on_reset, settings

log = logging.getLogger(__name__)

# Everything from the first ` --name` to the end: the parameters (kept as typed).
PARAMS = re.compile(r"\x20+--[a-z]+.*$", re.I | re.S)
# An image URL with its trailing spaces (the original's character set; `-` escaped for Python).
IMAGE_URL = re.compile(r"https?://[a-z0-9\-_:@&?=+,.!/~*'%$]+\x20+", re.I)
# The value of `--no` up to the next parameter (case-sensitive, as in the original).
NO_PARAM = re.compile(r"--no\s+(.*?)(?=--|$)", re.S)

SYSTEM_PROMPT = (
    "把中文翻译成英文。Translate the user's text into English for an image-generation prompt. "
    "Reply with the translation only, no quotes or explanations."
)


class Translator(Protocol):
    def translate(self, text: str) -> str:
        """`text` in English. May raise: callers fall back to the original text."""


def contains_cjk(text: str) -> bool:
    """Any character in U+4E00..U+9FA5 (the original's check). A scan, not a regex character
    class: compiling that class costs ~1 ms of every imagine's cold start, more than scanning
    the longest prompt; max() (in C) clears the usual all-ASCII prompt at once."""
    return max(text, default="") >= "\u4e00" and any("\u4e00" <= c <= "\u9fa5" for c in text)


def _safe(translator: Translator, text: str) -> str:
    try:
        out = translator.translate(text)
    except Exception as exc:  # any translator error: keep the user's text
        log.warning("translation failed; keeping the original text", extra={"error": str(exc)})
        return text
    return out.strip() if out and out.strip() else text


def translate_prompt(prompt: str, translator: Translator | None) -> str:
    """promptEn for `prompt` (protocol.md §5.10, 2.5.3+ algorithm)."""
    if translator is None or not contains_cjk(prompt):
        return prompt
    m = PARAMS.search(prompt)
    params = m.group(0) if m else ""
    head = prompt[: m.start()] if m else prompt
    urls = [u.group(0) for u in IMAGE_URL.finditer(head)]
    text = head
    for url in urls:
        text = text.replace(url, "", 1)
    if text.strip():
        text = _safe(translator, text).strip()
    no = NO_PARAM.search(params)
    if no and contains_cjk(no.group(1)):
        # An English --no value would come back unchanged: skip the call.
        value_en = _safe(translator, no.group(1).strip()).strip()
        tail = params[no.end() :]
        # The original always appends a space; at the very end that would be a trailing blank.
        params = params[: no.start()] + f"--no {value_en}" + (" " if tail else "") + tail
    return "".join(urls) + text + params


# ---- translators ------------------------------------------------------------------------


class AwsTranslator:
    """Amazon Translate (needs translate:TranslateText). The client is created on first use,
    with short timeouts and one retry: a submit must answer well inside API Gateway's 29 s."""

    def __init__(
        self, client: Any = None, source: str = "zh", target: str = "en", timeout: float = 8.0
    ) -> None:
        self._client = client
        self.source = source
        self.target = target
        self.timeout = timeout

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "translate",
                region_name=settings().region,
                config=Config(
                    connect_timeout=self.timeout,
                    read_timeout=self.timeout,
                    retries={"max_attempts": 2, "mode": "standard"},
                ),
            )
        return self._client

    def translate(self, text: str) -> str:
        out = self.client.translate_text(
            Text=text, SourceLanguageCode=self.source, TargetLanguageCode=self.target
        )
        return str(out["TranslatedText"])


Opener = Callable[[urllib.request.Request, float], Any]


def _urlopen(request: urllib.request.Request, timeout: float) -> Any:
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - configured https URL


class OpenAITranslator:
    """An OpenAI-compatible `POST {base}/chat/completions` (OpenAI, Azure-style gateways, local
    servers): system message asking for English, temperature 0, as the original's GPT mode."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str,
        timeout: float,
        opener: Opener | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.opener = opener or _urlopen

    def translate(self, text: str) -> str:
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": 2048,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": text},
            ],
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with self.opener(request, self.timeout) as response:
            data = json.loads(response.read().decode("utf-8"))
        return str(data["choices"][0]["message"]["content"])


@lru_cache(maxsize=4)
def _build(kind: str, base_url: str, model: str, timeout: float) -> Translator | None:
    if kind == "aws":
        return AwsTranslator(timeout=timeout)
    if kind == "openai":
        from .secrets import secret

        key = secret(
            "MJ_TRANSLATE_OPENAI_API_KEY",
            "MJ_TRANSLATE_OPENAI_API_KEY_PARAM",
            "MJ_TRANSLATE_OPENAI_API_KEY_ARN",
        )
        return OpenAITranslator(base_url, model, key, timeout)
    return None


def configured_translator() -> Translator | None:
    """The translator chosen by MJ_TRANSLATE (None when off), built once per configuration."""
    s = settings()
    return _build(
        s.translate, s.translate_openai_base_url, s.translate_openai_model,
        s.translate_timeout_seconds,
    )  # fmt: skip


def prompt_en(prompt: str) -> str:
    """What imagine stores as promptEn (and checks for banned words)."""
    if not contains_cjk(prompt):
        return prompt
    try:
        translator = configured_translator()
    except Exception as exc:  # e.g. the API key's SSM parameter is unreadable
        log.warning("translator unavailable; keeping the original text", extra={"error": str(exc)})
        return prompt
    return translate_prompt(prompt, translator)


on_reset(_build.cache_clear)
