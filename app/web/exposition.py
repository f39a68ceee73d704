"""What a Prometheus scrape answers: the registry behind ``GET /metrics`` (app/web/metrics.py).

With several worker processes (``nicepick serve --workers N``) prometheus_client keeps each
process's values in files under ``PROMETHEUS_MULTIPROC_DIR`` (the serve command makes and
empties it) and a scrape, answered by whichever worker, adds them up
(``MultiProcessCollector``). The outbox figures are read from the database at scrape time,
which all workers share, so they come from this process alone.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from app.feedback.store import FeedbackStore

log = logging.getLogger(__name__)

# prometheus_client's own variable (it reads it when it is imported); not one of our settings.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


class OutboxCollector(Collector):
    """Mail waiting to go out, read from the store when scraped: two aggregate queries over
    the unsent rows (the ``sent_at`` index), not a walk over every note."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        try:
            status = self.store.outbox_status()
            oldest = self.store.oldest_pending()
        except SQLAlchemyError as error:
            # Left out, not zero: an alert on the backlog must not clear while the database
            # is away (readiness says that).
            log.warning("outbox figures left out of /metrics: %s", type(error).__name__)
            return
        yield GaugeMetricFamily(
            "nicepick_outbox_pending",
            "Notes waiting to be mailed (first attempt or a retry).",
            value=status.pending,
        )
        yield GaugeMetricFamily(
            "nicepick_outbox_failed",
            "Notes the mail server refused for good; `nicepick outbox --retry` sends them.",
            value=status.failed,
        )
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily(
            "nicepick_outbox_oldest_pending_age_seconds",
            "Age of the oldest note waiting to be mailed; 0 when none waits.",
            value=max(0.0, age),
        )


class _ThisProcess(Collector):
    """prometheus_client's default registry (our metrics, plus the process and Python
    runtime figures) seen through another registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class Exposition:
    """What one scrape answers: this process's values, or every worker's when the values
    live in ``PROMETHEUS_MULTIPROC_DIR``, plus the outbox read from the store."""

    def __init__(self, store: FeedbackStore) -> None:
        self.registry = CollectorRegistry()
        self.folder = folder = os.environ.get(MULTIPROC_DIR)
        if folder:
            MultiProcessCollector(self.registry, path=folder)  # type: ignore[no-untyped-call]
        else:
            self.registry.register(_ThisProcess())
        self.registry.register(OutboxCollector(store))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def close(self) -> None:
        """At a worker's exit: drop its ``livesum`` gauges (connections in use, cache bytes)
        from the sums; its counters stay, as a restarted worker must not lower a total."""
        if self.folder:
            mark_process_dead(os.getpid(), self.folder)  # type: ignore[no-untyped-call]
