"""Midjourney through a Discord user account (protocol.md §6): REST interactions from the worker
(provider.py), results read back by a per-account poller (poller.py) and one ordered matcher
(matcher.py). The simulator used by the tests lives outside the layer (sim/mjsim)."""

from .provider import MidjourneyProvider

__all__ = ["MidjourneyProvider"]
