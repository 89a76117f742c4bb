"""The banned-word pre-filter for imagine (protocol.md §5.6): code 24 before any task exists.

The list is the bundled `data/banned-words.txt`, or the file named by MJ_BANNED_WORDS_FILE, or the
object MJ_BANNED_WORDS_S3_KEY in the images bucket (`s3://bucket/key` for another bucket),
re-read every few minutes so an edited list takes effect without a deploy.

Matching differs from the original on purpose: each word is regex-escaped (the original inserted
it unescaped, so a word such as `c++` broke the check), spaces in a phrase match any run of
whitespace, boundaries are "not a word character" on both sides (so `\\b` quirks around
punctuation do not matter), and `bannedWord` is the text actually matched in the prompt (the
original could point at an earlier, non-word-bounded occurrence). Entries that contain CJK
characters match as plain substrings, since Chinese text has no spaces between words.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .config import on_reset, settings

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).resolve().parent / "data" / "banned-words.txt"
RELOAD_SECONDS = 300
# Kana, CJK ideographs (extension A and the unified block), Hangul. Compared as characters: the
# equivalent regex character class takes ~2 ms to compile, a cold start's share of this module.
_CJK_RANGES = (
    ("\u3040", "\u30ff"),
    ("\u3400", "\u4dbf"),
    ("\u4e00", "\u9fff"),
    ("\uac00", "\ud7af"),
)


def _has_cjk(word: str) -> bool:
    return any(lo <= c <= hi for c in word for lo, hi in _CJK_RANGES)


@dataclass(frozen=True)
class BannedWord:
    word: str
    body: str  # the regular expression of the word (case-insensitive)
    bounded: bool  # between non-word characters (every entry without CJK characters)

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(_bounded(self.body) if self.bounded else self.body, re.I)


def _bounded(body: str) -> str:
    return rf"(?<!\w)(?:{body})(?!\w)"


class BannedList(list[BannedWord]):
    """The list's words and one alternation of all their patterns, which matches a prompt iff
    some word does: the usual prompt, which has none, costs one search and one compile instead
    of one per word (~180 compiles, 5 ms of a cold start, 30 ms on a loaded machine)."""

    @cached_property
    def any(self) -> re.Pattern[str]:
        # The bounded words share one pair of boundaries (a third of the compile time);
        # backtracking tries every alternative at every position, so this still matches
        # wherever one of the words alone would.
        bounded = "|".join(w.body for w in self if w.bounded)
        parts = [_bounded(bounded)] if bounded else []
        parts += [f"(?:{w.body})" for w in self if not w.bounded]
        return re.compile("|".join(parts), re.I)


@dataclass(frozen=True)
class Hit:
    word: str  # the list entry
    text: str  # what matched in the prompt (returned as properties.bannedWord)


def parse_list(text: str) -> list[str]:
    """One word or phrase per line; blank lines and `#` comments ignored; duplicates dropped."""
    words: dict[str, None] = {}
    for line in text.splitlines():
        word = line.strip()
        if word and not word.startswith("#"):
            words.setdefault(word, None)
    return list(words)


def compile_word(word: str) -> BannedWord:
    body = r"\s+".join(re.escape(part) for part in word.split())
    return BannedWord(word, body, bounded=not _has_cjk(word))


def find_banned(prompt: str, words: list[BannedWord]) -> Hit | None:
    """The first list entry (in list order, as the original) found in `prompt`."""
    if isinstance(words, BannedList) and words and not words.any.search(prompt):
        return None
    for banned in words:
        m = banned.pattern.search(prompt)
        if m:
            return Hit(banned.word, m.group(0))
    return None


# ---- loading ----------------------------------------------------------------------------


def _read_s3(key: str) -> str:
    from .aws import client

    bucket = settings().bucket_name
    if key.startswith("s3://"):
        bucket, _, key = key[5:].partition("/")
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body.decode("utf-8-sig")


def _read_source() -> tuple[str, str]:
    """(source description, text) per configuration; the bundled list when an override fails,
    so a typo in the configuration weakens nothing."""
    s = settings()
    try:
        if s.banned_words_s3_key:
            return f"s3:{s.banned_words_s3_key}", _read_s3(s.banned_words_s3_key)
        if s.banned_words_file:
            path = Path(s.banned_words_file)
            return str(path), path.read_text(encoding="utf-8-sig")
    except Exception:
        log.exception("banned-word list override unreadable; using the bundled list")
    return "bundled", BUNDLED.read_text(encoding="utf-8")


_cache: dict[tuple[str, str], tuple[float, BannedList]] = {}


def banned_words() -> BannedList:
    s = settings()
    key = (s.banned_words_file, s.banned_words_s3_key)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < RELOAD_SECONDS:
        return hit[1]
    source, text = _read_source()
    words = BannedList(compile_word(w) for w in parse_list(text))
    log.info("banned-word list loaded", extra={"source": source, "words": len(words)})
    _cache[key] = (time.monotonic(), words)
    return words


def check(prompt_en: str) -> Hit | None:
    """The banned word in `prompt_en`, or None (also None when the check is turned off)."""
    if not settings().banned_words_enabled:
        return None
    return find_banned(prompt_en, banned_words())


@on_reset
def reset() -> None:
    _cache.clear()
