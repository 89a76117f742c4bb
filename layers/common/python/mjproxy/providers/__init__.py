"""Provider registry: names in configuration map to implementations, imported lazily so a
function only pays for the provider it uses."""

from __future__ import annotations

import importlib
from functools import cache

from ..config import on_reset
from .base import Outcome, Provider, ProviderContext, ProviderError

__all__ = [
    "Outcome",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "REGISTRY",
    "capabilities_of",
    "get_provider",
]

REGISTRY = {
    "local": "mjproxy.providers.local:LocalProvider",
    "bedrock": "mjproxy.providers.bedrock:BedrockProvider",
    "openai": "mjproxy.providers.openai:OpenAIProvider",
    "midjourney": "mjproxy.providers.midjourney:MidjourneyProvider",
}


def provider_class(name: str) -> type[Provider]:
    try:
        target = REGISTRY[name]
    except KeyError as exc:
        raise ValueError(f"unknown provider {name!r}; known: {', '.join(REGISTRY)}") from exc
    module_name, _, cls_name = target.partition(":")
    return getattr(importlib.import_module(module_name), cls_name)


@cache
def get_provider(name: str) -> Provider:
    return provider_class(name)()


def capabilities_of(name: str) -> frozenset[str]:
    """What provider `name` declares it can do (the submit functions need no instance of it)."""
    return provider_class(name).capabilities


on_reset(get_provider.cache_clear)
