"""The source-address allow-list (template ApiAllowedSourceCidrs, MJ_ALLOWED_SOURCE_CIDRS): what
the REST API's resource policy did at the gateway, checked by every function behind the HTTP API
before it reads anything. Empty = every address."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache

from ..config import on_reset

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=1)
def allowed_networks() -> tuple[Network, ...]:
    raw = os.environ.get("MJ_ALLOWED_SOURCE_CIDRS", "")
    # strict=False: "10.0.0.1/8" admits 10.0.0.0/8, as IAM's aws:SourceIp condition reads it.
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in raw.split(",") if c.strip())


def admitted(source_ip: str | None) -> bool:
    """Whether a request from `source_ip` may be served. An unknown or unparsable address is
    refused whenever a list is set (API Gateway always names the caller)."""
    networks = allowed_networks()
    if not networks:
        return True
    try:
        address = ipaddress.ip_address((source_ip or "").strip())
    except ValueError:
        return False
    return any(address.version == n.version and address in n for n in networks)


@on_reset
def _reset() -> None:
    allowed_networks.cache_clear()
