"""/shorten: shorter versions of a prompt (plus API SHORTEN tasks), locally or by an LLM."""

from __future__ import annotations

from .llm import configured_llm
from .local import Analysis, analyse, render

__all__ = ["Analysis", "analyse", "render", "configured_llm", "shorten"]


def shorten(prompt: str) -> Analysis:
    """The configured LLM's shortened prompts (MJ_SHORTEN_LLM), else the local shortener's; an
    LLM that fails or answers nothing usable falls back to the local result."""
    local = analyse(prompt)
    llm = configured_llm()
    if llm is None:
        return local
    prompts = llm.shorten(prompt)
    if not prompts:
        return local
    params = local.params
    return Analysis(
        tokens=local.tokens,
        prompts=[f"{p} {params}".strip() if params and "--" not in p else p for p in prompts],
        params=params,
        source=llm.name,
    )
