"""The site's Prometheus metrics: every series a module may record, named once here.

Domain modules record through these objects and know nothing of HTTP; ``app/web/metrics.py``
serves them. Each label takes values from a fixed set (route templates, status classes,
outcomes, failure kinds), never from what a client sent, so the number of series is bounded
whatever the traffic.

The metric objects are module-level, as prometheus_client is built for: in multiprocess mode
(``PROMETHEUS_MULTIPROC_DIR``, set by ``nicepick serve --workers N``) each value lives in a
memory-mapped file per process and per metric, and the library picks that storage when a
metric is created, so these must exist once per process, not once per app. Tests read the
change of a value, never its absolute level.
https://prometheus.github.io/client_python/multiprocess/

Gauges say how worker processes combine: ``livesum`` for amounts that add up (connections in
use, cache bytes), ``max`` for what every worker holds alike (the library's size).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

# Seconds; from 1 ms (a cached page) to 10 s (a database timeout).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The route label of a request no route matched (a stranger's URL): one series for all.
UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter(
    "nicepick_http_requests",
    "HTTP requests answered, by route template and status class (2xx, 3xx, 4xx, 5xx).",
    ["route", "status"],
)
HTTP_DURATION = Histogram(
    "nicepick_http_request_duration_seconds",
    "Time from the request to the last byte of the answer handed to the server, by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)

PAGE_CACHE_HITS = Counter("nicepick_page_cache_hits", "Pages answered from the page cache.")
PAGE_CACHE_MISSES = Counter(
    "nicepick_page_cache_misses", "Page cache lookups that rendered (or found no page)."
)
PAGE_CACHE_EVICTIONS = Counter(
    "nicepick_page_cache_evictions", "Pages dropped from the page cache to stay in its budget."
)
PAGE_CACHE_BYTES = Gauge(
    "nicepick_page_cache_bytes",
    "Memory held by cached pages (bodies, compressed forms, keys), summed over workers.",
    multiprocess_mode="livesum",
)

LIBRARY_COMPARISONS = Gauge(
    "nicepick_library_comparisons",
    "Comparisons in the library loaded now.",
    multiprocess_mode="max",
)
LIBRARY_LOAD_SECONDS = Gauge(
    "nicepick_library_load_seconds",
    "How long the last full load of the content folder took.",
    multiprocess_mode="max",
)
SEARCH_DURATION = Histogram(
    "nicepick_search_duration_seconds",
    "Time to answer one search query from the index (not counting the page around it).",
    buckets=LATENCY_BUCKETS,
)

NOTES = Counter(
    "nicepick_notes",
    "Reader notes by outcome: stored, or refused as honeypot, invalid, token, limited, "
    "unavailable.",
    ["outcome"],
)
MAIL_SENT = Counter("nicepick_mail_sent", "Notes the mail server accepted (250).")
SMTP_FAILURES = Counter(
    "nicepick_smtp_failures",
    "Failed mail attempts by kind: refused (5xx), deferred (4xx), auth, connection, "
    "timeout, unbuildable, outcome_unknown, other.",
    ["kind"],
)

DB_CONNECTIONS_IN_USE = Gauge(
    "nicepick_db_connections_in_use",
    "Database connections checked out of the pool now, summed over workers.",
    multiprocess_mode="livesum",
)
DB_QUERIES_WAITING = Gauge(
    "nicepick_db_queries_waiting",
    "Database calls waiting for one of the pool's threads, summed over workers.",
    multiprocess_mode="livesum",
)


def status_class(status: int) -> str:
    """``404`` -> ``"4xx"``."""
    return f"{status // 100}xx"


@contextmanager
def timed(histogram: Histogram) -> Iterator[None]:
    """Observe the duration of the block (also when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        histogram.observe(time.perf_counter() - start)
