"""The gate in front of the app while a large library loads in the background.

A comparison page (``GET /compare/<slug>``) may pass: the route parses that one file
(``Site.early_page``). Health checks, /metrics and static files pass. Every other request (listings,
search, sitemap, feed, API, notes) waits until the whole library is in place, so nothing is
ever answered from a partial library; waiting is an ``await``, so it holds no thread.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from app.site import Site

log = logging.getLogger(__name__)

_PASS_PREFIXES = ("/static/", "/healthz", "/readyz", "/metrics")
_POLL_SECONDS = 0.02
# How long a route that needs the whole library waits for it before answering 503. A large
# library loads in seconds; past this the reader is better served by "try again" than by a
# connection a proxy will time out anyway (nginx's proxy_read_timeout defaults to 60 s).
LIBRARY_WAIT_SECONDS = 30.0


async def library_loaded(site: Site, timeout: float = LIBRARY_WAIT_SECONDS) -> bool:
    """Wait, without holding a thread, until the library is loaded; False after ``timeout``.

    ``site.loaded`` is a ``threading.Event``: ``wait()`` in a sync route would hold one of the
    threads that render pages for the whole load, and a burst of such requests took every
    page thread with it. Polling it from the event loop costs no thread.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not site.loaded.is_set():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(_POLL_SECONDS)
    return True


def passes_early(method: str, path: str) -> bool:
    """Whether a request may be answered before the library finished loading."""
    if path.startswith(_PASS_PREFIXES):
        return True
    if method in ("GET", "HEAD") and path.startswith("/compare/"):
        return "/" not in path[len("/compare/") :]  # the page, not its feedback form target
    return False


class LoadingGate:
    """Hold requests that need the whole library until ``site.loaded`` is set."""

    def __init__(self, app: ASGIApp, *, site: Site) -> None:
        self.app = app
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and not self.site.loaded.is_set()
            and not passes_early(scope["method"], scope["path"])
        ):
            log.debug("%s %s waits for the library", scope["method"], scope["path"])
            while not self.site.loaded.is_set():
                await asyncio.sleep(_POLL_SECONDS)
        await self.app(scope, receive, send)
