"""Prompt translation (protocol.md §5.10): the 2.5.3+ algorithm with a fake translator, Amazon
Translate through botocore's Stubber, the OpenAI-compatible client with a fake opener, and the
rule that a translator failure keeps the original text."""

from __future__ import annotations

import io
import json

import pytest
from botocore.stub import Stubber

from mjproxy import translate
from mjproxy.translate import AwsTranslator, OpenAITranslator, translate_prompt


class Dictionary:
    """A fake translator: known phrases, and every call recorded."""

    WORDS = {
        "一只猫": "a cat",
        "一只可爱的猫": "a cute cat",
        "狗": "dog",
        "狗和鸟": "dogs and birds",
        "红色": "red",
    }

    def __init__(self) -> None:
        self.calls: list[str] = []

    def translate(self, text: str) -> str:
        self.calls.append(text)
        return self.WORDS.get(text.strip(), f"<{text.strip()}>")


class Broken:
    def translate(self, text: str) -> str:
        raise ConnectionError("translator down")


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        # Without CJK nothing is translated (and the translator is not called).
        ("a cat --ar 16:9", "a cat --ar 16:9"),
        # Free text translated, parameters kept exactly as typed.
        ("一只猫 --ar 16:9 --v 6.0", "a cat --ar 16:9 --v 6.0"),
        ("一只猫", "a cat"),
        # Image URLs (with their trailing spaces) kept verbatim and moved to the front.
        (
            "https://example.com/a.png 一只猫 --ar 1:1",
            "https://example.com/a.png a cat --ar 1:1",
        ),
        (
            "一只猫 https://cdn.example.com/x/b.jpg?x=1&y=2 红色 --iw 2",
            "https://cdn.example.com/x/b.jpg?x=1&y=2 <一只猫 红色> --iw 2",
        ),
        # As in the original, a URL is only recognised with a space after it: one directly
        # before the parameters stays part of the text.
        (
            "一只猫 https://example.com/b.png --iw 2",
            "<一只猫 https://example.com/b.png> --iw 2",
        ),
        # The --no value is text: translated, the other parameters untouched.
        ("一只猫 --no 狗 --ar 16:9", "a cat --no dog --ar 16:9"),
        ("一只猫 --ar 16:9 --no 狗和鸟", "a cat --ar 16:9 --no dogs and birds"),
        # Parameter names are matched case-insensitively, like the original.
        ("一只猫 --AR 2:3", "a cat --AR 2:3"),
        # CJK only inside the parameters: the free text has none, but the original still sends
        # it to the translator; here the English text comes back as is.
        ("cat --no 狗", "<cat> --no dog"),
    ],
)
def test_the_translation_algorithm(prompt, expected):
    assert translate_prompt(prompt, Dictionary()) == expected


def test_no_cjk_means_no_translator_call():
    fake = Dictionary()
    assert translate_prompt("a red fox --no dogs", fake) == "a red fox --no dogs"
    assert fake.calls == []


def test_an_english_no_value_is_not_sent_to_the_translator():
    fake = Dictionary()
    assert translate_prompt("一只猫 --no dogs", fake) == "a cat --no dogs"
    assert fake.calls == ["一只猫"]


def test_a_failing_translator_keeps_the_original_text():
    assert translate_prompt("一只猫 --no 狗 --ar 1:1", Broken()) == "一只猫 --no 狗 --ar 1:1"


def test_an_empty_translation_keeps_the_original_text():
    class Empty:
        def translate(self, text: str) -> str:
            return "   "

    assert translate_prompt("一只猫 --ar 1:1", Empty()) == "一只猫 --ar 1:1"


def test_translation_is_off_by_default(monkeypatch):
    monkeypatch.delenv("MJ_TRANSLATE", raising=False)
    assert translate.configured_translator() is None
    assert translate.prompt_en("一只猫 --ar 1:1") == "一只猫 --ar 1:1"


def test_prompt_en_never_raises_even_when_the_translator_cannot_be_built(monkeypatch):
    def boom():
        raise RuntimeError("SSM unreachable")

    monkeypatch.setattr(translate, "configured_translator", boom)
    assert translate.prompt_en("一只猫") == "一只猫"


def test_the_configured_translator_follows_mj_translate(monkeypatch):
    monkeypatch.setenv("MJ_TRANSLATE", "aws")
    assert isinstance(translate.configured_translator(), AwsTranslator)
    from mjproxy import config

    monkeypatch.setenv("MJ_TRANSLATE", "openai")
    monkeypatch.setenv("MJ_TRANSLATE_OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("MJ_TRANSLATE_OPENAI_BASE_URL", "https://llm.example.com/v1/")
    config.reset()
    translator = translate.configured_translator()
    assert isinstance(translator, OpenAITranslator)
    assert translator.url == "https://llm.example.com/v1/chat/completions"
    assert translator.api_key == "sk-test"
    monkeypatch.setenv("MJ_TRANSLATE", "baidu")
    config.reset()
    with pytest.raises(config.ConfigError):
        config.settings()


# ---- Amazon Translate ----------------------------------------------------------------------


def test_amazon_translate_request_and_answer():
    translator = AwsTranslator(timeout=3.0)
    assert translator.client.meta.config.read_timeout == 3.0
    with Stubber(translator.client) as stub:
        stub.add_response(
            "translate_text",
            {
                "TranslatedText": "a cute cat",
                "SourceLanguageCode": "zh",
                "TargetLanguageCode": "en",
            },
            {"Text": "一只可爱的猫", "SourceLanguageCode": "zh", "TargetLanguageCode": "en"},
        )
        stub.add_response(
            "translate_text",
            {"TranslatedText": "dog", "SourceLanguageCode": "zh", "TargetLanguageCode": "en"},
            {"Text": "狗", "SourceLanguageCode": "zh", "TargetLanguageCode": "en"},
        )
        out = translate_prompt("一只可爱的猫 --no 狗 --ar 3:2", translator)
        stub.assert_no_pending_responses()
    assert out == "a cute cat --no dog --ar 3:2"


def test_an_amazon_translate_error_keeps_the_original_text():
    translator = AwsTranslator()
    with Stubber(translator.client) as stub:
        stub.add_client_error("translate_text", "ThrottlingException", "slow down")
        out = translate_prompt("一只猫 --ar 3:2", translator)
    assert out == "一只猫 --ar 3:2"


# ---- OpenAI-compatible ---------------------------------------------------------------------


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_openai_compatible_request_and_answer():
    seen = {}

    def opener(request, timeout):
        seen["url"] = request.full_url
        seen["timeout"] = timeout
        seen["headers"] = dict(request.header_items())
        seen["body"] = json.loads(request.data)
        answer = {"choices": [{"message": {"role": "assistant", "content": " a cat \n"}}]}
        return FakeResponse(json.dumps(answer).encode())

    translator = OpenAITranslator("https://llm.example.com/v1", "m-1", "sk-x", 7.0, opener)
    assert translate_prompt("一只猫 --ar 1:1", translator) == "a cat --ar 1:1"
    assert seen["url"] == "https://llm.example.com/v1/chat/completions"
    assert seen["timeout"] == 7.0
    assert seen["headers"]["Authorization"] == "Bearer sk-x"
    body = seen["body"]
    assert body["model"] == "m-1" and body["temperature"] == 0
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][1] == {"role": "user", "content": "一只猫"}


@pytest.mark.parametrize(
    "failure",
    [
        TimeoutError("timed out"),
        OSError("connection refused"),
        ValueError("not json"),
    ],
)
def test_an_openai_failure_keeps_the_original_text(failure):
    def opener(request, timeout):
        raise failure

    translator = OpenAITranslator("https://llm.example.com/v1", "m", "", 1.0, opener)
    assert translate_prompt("一只猫 --ar 1:1", translator) == "一只猫 --ar 1:1"


def test_an_openai_answer_without_choices_keeps_the_original_text():
    def opener(request, timeout):
        return FakeResponse(b'{"error": {"message": "quota"}}')

    translator = OpenAITranslator("https://llm.example.com/v1", "m", "", 1.0, opener)
    assert translate_prompt("一只猫", translator) == "一只猫"
