"""Who sent a request: the peer address, or — behind a proxy the operator trusts — the client the
proxy names in ``X-Forwarded-For``. Per-address limits count this address."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES``: comma-separated addresses or CIDR ranges (empty: trust no proxy)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip())


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(environ: Mapping[str, Any], trusted: tuple[Network, ...]) -> str:
    """The peer, unless it is a trusted proxy: then the nearest ``X-Forwarded-For`` hop that is not
    itself a trusted proxy (a client cannot forge its way past the proxies it came through)."""
    peer = str(environ.get("REMOTE_ADDR") or "")
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
