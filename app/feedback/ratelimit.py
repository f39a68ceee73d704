"""Notes per client address, in the ``limits`` package's notation (``5/10minutes``).

Counters live in this process's memory for now (issue 9 moves them to the database so every
worker shares them).
"""

from __future__ import annotations

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class RateLimit:
    def __init__(self, rate: str) -> None:
        self.item = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> bool:
        """Count one attempt by ``client``; False when it is over the limit."""
        return bool(self._limiter.hit(self.item, "feedback", client))

    @property
    def description(self) -> str:
        return str(self.item)
