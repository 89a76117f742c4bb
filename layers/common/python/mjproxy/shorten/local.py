"""The deterministic local shortener: drops filler words and boilerplate quality tags, ranks the
remaining content words and builds five prompts of decreasing length, keeping the parameters
(`--ar 3:2` …) on each. The same prompt always gives the same answer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PROMPT_COUNT = 5
KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
# Share of the content words each of the five prompts keeps.
KEEP = (1.0, 0.75, 0.55, 0.4, 0.25)

# Words that add no content to an image prompt: articles, linking words, intensifiers and the
# quality boilerplate Midjourney's own /shorten reports as unimportant.
FILLER_WORDS = frozenset(
    """a an the of and or with without in on at to for from by into onto over under very really
    extremely incredibly super highly ultra hyper most more quite rather so such just that which
    who whose is are was were be being been it its this these those there here some any each
    featuring showing depicting image picture photo style detailed details intricate
    masterpiece best quality high resolution hd 4k 8k 16k uhd trending artstation award winning
    beautiful stunning amazing gorgeous epic breathtaking wonderful awesome nice perfect
    realistic photorealistic hyperrealistic octane render unreal engine sharp focus""".split()
)
FILLER_PHRASES = (
    "trending on artstation", "award winning", "best quality", "high quality", "highly detailed",
    "ultra detailed", "very detailed", "high resolution", "unreal engine", "octane render",
    "sharp focus", "masterpiece",
)  # fmt: skip
_WORD = re.compile(r"[\w'’-]+", re.U)


@dataclass
class Analysis:
    tokens: list[str]  # the important tokens, most important first
    prompts: list[str]  # five shortened prompts, longest first
    params: str = ""  # the prompt's parameters, kept on every shortened prompt
    source: str = "local"  # "local", "bedrock" or "openai"
    removed: list[str] = field(default_factory=list)  # filler words that were dropped


def _split(prompt: str) -> tuple[str, str]:
    """(text, parameters) — everything from the first ` --x` on is a parameter."""
    m = re.search(r"(?:^|\s)--[a-zA-Z]", prompt)
    if not m:
        return prompt.strip(), ""
    return prompt[: m.start()].strip(), prompt[m.start() :].strip()


def analyse(prompt: str) -> Analysis:
    text, params = _split(prompt or "")
    lowered = text.lower()
    for phrase in FILLER_PHRASES:
        lowered = lowered.replace(phrase, " ")
    removed: list[str] = []
    content: list[str] = []
    heads: set[str] = set()
    phrase_of: dict[str, int] = {}  # word -> index of the phrase it first appears in
    group = 0
    # Filler words and commas split the text into phrases; the last word of an English noun
    # phrase is its head ("deep snow" -> snow), which matters more than its modifiers.
    for chunk in re.split(r"[,;.!?()]+", lowered):
        phrase: list[str] = []
        for w in _WORD.findall(chunk) + [""]:
            if w and w not in FILLER_WORDS and not w.isdigit():
                phrase_of.setdefault(w, group)
                phrase.append(w)
                content.append(w)
                continue
            if w:
                removed.append(w)
            nouns = [x for x in phrase if not x.endswith("ing")]
            if nouns:
                heads.add(nouns[-1])
            if phrase:
                group += 1
            phrase = []
    # Keep the first occurrence of each word, in prompt order.
    seen: dict[str, int] = {}
    for pos, w in enumerate(content):
        seen.setdefault(w, pos)
    unique = list(seen)
    # Importance: phrase heads first, then earlier words (Midjourney reads the start of a prompt
    # first), repeated words, longer (more specific) words; -ing verbs count less.
    counts = {w: content.count(w) for w in unique}
    n = max(1, len(unique))

    def score(w: str) -> float:
        return (
            (n - seen[w]) / n
            + (0.5 if w in heads else 0.0)
            - (0.4 if w.endswith("ing") else 0.0)
            + 0.5 * (counts[w] - 1)
            + min(len(w), 10) / 40
        )

    ranked = sorted(unique, key=lambda w: (-score(w), seen[w]))
    prompts = []
    for share in KEEP:
        keep = set(ranked[: max(1, round(len(unique) * share))])
        words_kept = [w for w in unique if w in keep]
        body = _join(words_kept, phrase_of) if words_kept else text
        prompts.append(f"{body} {params}".strip())
    return Analysis(tokens=ranked, prompts=prompts, params=params, removed=removed)


def _join(words: list[str], phrase_of: dict[str, int]) -> str:
    """The kept words with the prompt's own phrasing: words of one phrase joined by spaces,
    phrases by commas."""
    groups: dict[int, list[str]] = {}
    for w in words:
        groups.setdefault(phrase_of[w], []).append(w)
    return ", ".join(" ".join(g) for _, g in sorted(groups.items()))


def render(analysis: Analysis) -> str:
    """The answer text as Midjourney's /shorten shows it (protocol.md §5: `## Important tokens`
    … `## Shortened prompts` 1️⃣…5️⃣), which clients display as properties.finalPrompt."""
    lines = ["## Important tokens", ", ".join(analysis.tokens[:12]), "", "## Shortened prompts"]
    for keycap, prompt in zip(KEYCAPS, analysis.prompts, strict=False):
        lines += ["", f"{keycap} {prompt}"]
    return "\n".join(lines)
