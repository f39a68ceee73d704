"""The client address a request came from, honouring only proxies we trust."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    """Parsed once per setting, not on every request (Settings has validated each entry)."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def in_networks(address: str, networks: Sequence[str]) -> bool:
    """Whether ``address`` is in one of ``networks`` (addresses or CIDRs, validated by
    Settings); False for anything that is not an IP address."""
    return _trusted(address, _networks(tuple(networks)))


def client_address(request: Request, trusted_proxies: Sequence[str]) -> str:
    """The peer address; behind a trusted proxy, the right-most X-Forwarded-For entry that is
    not itself a trusted proxy (entries further left are whatever the client claimed)."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else peer
