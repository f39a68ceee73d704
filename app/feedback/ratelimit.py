"""Notes per client address, in the ``limits`` package's notation (``5/10minutes``).

Hits are counted in the database (``FeedbackStore.hit_rate_limit``), so the limit holds for a
client in total, whichever instance it reaches.

A client is its IPv4 address, or its IPv6 network (``client_key``): one subscriber is given a
whole /64 (RFC 6177, RIPE-690) and picks any address in it at will, so counting single IPv6
addresses would give one attacker 2**64 fresh limits.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import TYPE_CHECKING

from limits import parse

if TYPE_CHECKING:
    from app.feedback.store import FeedbackStore


def client_key(address: str, *, ipv6_prefix: int = 64) -> str:
    """What the limit counts ``address`` as: an IPv4 address as it is, an IPv6 address as its
    ``/ipv6_prefix`` network (an IPv4-mapped one as its IPv4 address); anything that is not
    an IP address (a test client's name) as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{ipv6_prefix}", strict=False))
    return str(ip)


class RateLimit:
    def __init__(self, rate: str, store: FeedbackStore) -> None:
        self.item = parse(rate)
        self.store = store

    def hit(self, client: str) -> bool:
        """Count one attempt by ``client``; False when it is over the limit.

        Blocking (a database write): call it from a thread.
        """
        return self.store.hit_rate_limit(client, limit=self.limit, period=self.period)

    @property
    def limit(self) -> int:
        """Notes allowed per ``period``."""
        return int(self.item.amount)

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.item.get_expiry())
