"""Banned words (protocol.md §5.6): whole-word, case-insensitive, regex-escaped matching; the
bundled list; overrides from a file and from S3."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from mjproxy import banned_words
from mjproxy.banned_words import compile_word, find_banned, parse_list


@pytest.fixture(autouse=True)
def _fresh_list():
    banned_words.reset()
    yield
    banned_words.reset()


def words(*entries: str):
    return [compile_word(w) for w in entries]


def test_whole_word_case_insensitive_and_the_matched_text_is_reported():
    hit = find_banned("A portrait, NUDE, oil on canvas", words("nude"))
    assert hit is not None and hit.word == "nude" and hit.text == "NUDE"
    assert find_banned("nudelman street at dusk", words("nude")) is None
    assert find_banned("denuded hills", words("nude")) is None
    assert find_banned("blood-red sky", words("blood")).text == "blood"


def test_words_are_regex_escaped():
    # Unescaped, "c++" is an invalid pattern and "a.b" would match "axb".
    assert find_banned("learning c++ today", words("c++")).text == "c++"
    assert find_banned("axb", words("a.b")) is None
    assert find_banned("(x)", words("(x)")).text == "(x)"


def test_phrases_match_across_any_whitespace():
    hit = find_banned("a man with No   Clothes on", words("no clothes"))
    assert hit is not None and hit.text == "No   Clothes"
    assert find_banned("no clothesline", words("no clothes")) is None


def test_list_order_decides_which_word_is_reported():
    hit = find_banned("gore and nude", words("nude", "gore"))
    assert hit.word == "nude"


def test_cjk_entries_match_inside_text_without_spaces():
    assert find_banned("一个裸体女人", words("裸体")).text == "裸体"


def test_parse_list_ignores_blanks_comments_and_duplicates():
    assert parse_list("# c\n\n nude \nnude\nno clothes\n") == ["nude", "no clothes"]


def test_the_bundled_list_is_sensible():
    entries = parse_list(banned_words.BUNDLED.read_text(encoding="utf-8"))
    assert 100 <= len(entries) <= 200
    for word in ("nude", "naked", "blood", "lingerie", "no clothes"):
        assert word in entries
    assert banned_words.check("a naked man") is not None
    assert banned_words.check("a red fox in snow --ar 3:2") is None


def test_one_search_over_the_whole_list_finds_what_the_word_by_word_search_finds():
    entries = [*parse_list(banned_words.BUNDLED.read_text(encoding="utf-8")), "裸体", "c++"]
    plain = [compile_word(w) for w in entries]
    listed = banned_words.BannedList(plain)
    prompts = ["a red fox in snow --ar 3:2", "一个裸体女人", "learning C++ today", "c+++"]
    for word in entries[::3]:
        prompts += [
            f"a {word.upper()}, oil",
            f"x{word}",
            f"{word}s",
            f"({word})",
            word.replace(" ", "\t  "),
        ]
    for prompt in prompts:
        assert find_banned(prompt, listed) == find_banned(prompt, plain), prompt


def test_the_check_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("MJ_BANNED_WORDS_ENABLED", "false")
    assert banned_words.check("a naked man") is None


def test_a_file_replaces_the_bundled_list(tmp_path, monkeypatch):
    path = tmp_path / "words.txt"
    path.write_text("# ours\nbanana\n", encoding="utf-8")
    monkeypatch.setenv("MJ_BANNED_WORDS_FILE", str(path))
    assert banned_words.check("a naked man") is None
    assert banned_words.check("a Banana split").text == "Banana"


def test_an_unreadable_override_falls_back_to_the_bundled_list(tmp_path, monkeypatch):
    monkeypatch.setenv("MJ_BANNED_WORDS_FILE", str(tmp_path / "missing.txt"))
    assert banned_words.check("a naked man").text == "naked"


def test_an_s3_object_replaces_the_bundled_list(monkeypatch):
    monkeypatch.setenv("BUCKET_NAME", "words-bucket")
    monkeypatch.setenv("MJ_BANNED_WORDS_S3_KEY", "config/banned-words.txt")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="words-bucket")
        s3.put_object(
            Bucket="words-bucket", Key="config/banned-words.txt", Body=b"kiwi\nstar fruit\n"
        )
        assert banned_words.check("Star  Fruit salad").text == "Star  Fruit"
        assert banned_words.check("a naked man") is None


def test_an_s3_url_names_another_bucket(monkeypatch):
    monkeypatch.setenv("MJ_BANNED_WORDS_S3_KEY", "s3://shared-config/mj/words.txt")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="shared-config")
        s3.put_object(Bucket="shared-config", Key="mj/words.txt", Body=b"mango\n")
        assert banned_words.check("mango tree").text == "mango"
