"""What each request leaves behind: its id (``X-Request-ID``), its access line, its metrics.

A pure ASGI middleware, outermost, so it sees every answer: the host redirect, the hot path,
the 500 for an unhandled exception. It costs one wrapped ``send`` per request; a
``BaseHTTPMiddleware`` would cost a task and a queue (see app/web/security.py).

The id: an incoming ``X-Request-ID`` is kept only from a trusted proxy
(``NICEPICK_TRUSTED_PROXIES``, the rule that already decides client addresses) and only when
it is safe to log (``app.logs.valid_request_id``); otherwise a new one is made. Anyone else
could put a colleague's id, or a line break, into our logs. The id is answered in the
response header and set in ``app.logs.request_id`` for every line logged while the request
runs (the feedback route stores it with the note, so the outbox names it at delivery).

Metrics are labelled by the matched route's template (``/compare/{slug}``), never by the raw
path: a stranger's 10,000 made-up URLs are one series, ``route="unmatched"``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.logs import new_request_id, request_id, valid_request_id
from app.settings import Settings
from app.web.client import in_networks

access = logging.getLogger("nicepick.access")

# Where a middleware that answers before routing (the hot path, the host redirect) names the
# route it answered for, as the router does in ``scope["route"]``.
ROUTE_KEY = "nicepick.route"


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/compare/{slug}``), else ``unmatched``."""
    named: str | None = scope.get(ROUTE_KEY)
    if named is not None:
        return named
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else metrics.UNMATCHED


class Observe:
    """Give each request an id, then count, time and log its answer."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.trusted_proxies = tuple(settings.trusted_proxies)
        self.access_log = settings.access_log
        # Each (route, status class)'s series, found once: ``labels()`` takes a lock and
        # builds a key on every call, a third of what recording cost. Bounded like the labels.
        self._series: dict[tuple[str, int], tuple[Counter, Histogram]] = {}

    def _request_id(self, scope: Scope) -> str:
        if self.trusted_proxies:
            client = scope.get("client")
            if client and in_networks(client[0], self.trusted_proxies):
                for name, value in scope["headers"]:
                    if name == b"x-request-id":
                        incoming: str = value.decode("latin-1")
                        if valid_request_id(incoming):
                            return incoming
                        break
        return new_request_id()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = self._request_id(scope)
        token = request_id.set(rid)
        header = (b"x-request-id", rid.encode("latin-1"))
        status = 500  # what the server answers when the app raised before answering
        sent = 0

        async def send_observed(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            duration = time.perf_counter() - start
            route = route_template(scope)
            series = self._series.get((route, status // 100))
            if series is None:
                series = self._series[route, status // 100] = (
                    metrics.HTTP_REQUESTS.labels(route, metrics.status_class(status)),
                    metrics.HTTP_DURATION.labels(route),
                )
            series[0].inc()
            series[1].observe(duration)
            if self.access_log:
                method: str = scope["method"]
                access.info(
                    "%s %s %d %.1f ms",
                    method,
                    # As sent, still percent-encoded: a decoded %0A would break the line.
                    (scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
                    status,
                    duration * 1000,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(duration * 1000, 3),
                        "bytes": sent,
                    },
                )
            request_id.reset(token)
