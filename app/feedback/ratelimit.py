"""Notes per client address, in the ``limits`` package's notation (``5/10minutes``).

With a store, hits are counted in the database (``FeedbackStore.hit_rate_limit``), so the limit
holds for a client in total, whichever instance it reaches. Without one (unit tests, tools),
in this process's memory.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

if TYPE_CHECKING:
    from app.feedback.store import FeedbackStore


class RateLimit:
    def __init__(self, rate: str, store: FeedbackStore | None = None) -> None:
        self.item = parse(rate)
        self.store = store
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> bool:
        """Count one attempt by ``client``; False when it is over the limit.

        Blocking when counted in the database: call it from a thread.
        """
        if self.store is not None:
            period = timedelta(seconds=self.item.get_expiry())
            return self.store.hit_rate_limit(client, limit=self.limit, period=period)
        return bool(self._limiter.hit(self.item, "feedback", client))

    @property
    def limit(self) -> int:
        """Notes allowed per ``period``."""
        return int(self.item.amount)

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.item.get_expiry())

    @property
    def description(self) -> str:
        return str(self.item)
