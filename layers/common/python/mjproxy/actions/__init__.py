"""Every button a user can press: the customId families, the capabilities providers declare, and
the buttons derived from both (plus-api.md §2.1.1–§2.1.3)."""

from .buttons import buttons_for, result_kind
from .table import (
    ALL_CAPABILITIES,
    CLASSIC_CAPABILITIES,
    FAMILIES,
    ActionSpec,
    Capability,
    Family,
    Modal,
    family,
    parse,
    spec_of,
)

__all__ = [
    "ALL_CAPABILITIES",
    "CLASSIC_CAPABILITIES",
    "FAMILIES",
    "ActionSpec",
    "Capability",
    "Family",
    "Modal",
    "buttons_for",
    "family",
    "parse",
    "result_kind",
    "spec_of",
]
