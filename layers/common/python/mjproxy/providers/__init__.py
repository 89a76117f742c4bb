"""Provider registry: names in configuration map to implementations, imported lazily so a
function only pays for the provider it uses."""

from __future__ import annotations

import importlib
from functools import cache

from ..actions.table import ALL_CAPABILITIES, CLASSIC_CAPABILITIES, Capability
from ..config import on_reset
from .base import Outcome, Provider, ProviderContext, ProviderError

__all__ = [
    "Outcome",
    "Provider",
    "ProviderContext",
    "ProviderError",
    "CAPABILITIES",
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


# What each provider can do (mjproxy.actions.Capability): the buttons its results show and the
# customIds /mj/submit/action accepts. Declared here rather than on the classes so that a submit
# function knows them without importing a provider (and its Pillow / boto3 dependencies).
# midjourney presses whatever component Midjourney attached, so it does every family.
# Animate needs a video model: local renders clips, bedrock runs Nova Reel (mjproxy.video),
# midjourney presses Midjourney's own Animate (providers/midjourney/video.py); OpenAI's image
# API has none. A video's U1-U4 (one clip of Midjourney's batch, then Extend) exist on Discord
# only: the others extend a video directly.
_NOT_DISCORD = ALL_CAPABILITIES - {Capability.VIDEO_UPSCALE}
CAPABILITIES: dict[str, frozenset[str]] = {
    "local": _NOT_DISCORD,
    "bedrock": _NOT_DISCORD,
    "openai": _NOT_DISCORD - {Capability.ANIMATE},
    "midjourney": ALL_CAPABILITIES,
}


def capabilities_of(name: str) -> frozenset[str]:
    """What provider `name` declares it can do (CLASSIC_CAPABILITIES if it declares nothing)."""
    return CAPABILITIES.get(name, CLASSIC_CAPABILITIES)


on_reset(get_provider.cache_clear)
