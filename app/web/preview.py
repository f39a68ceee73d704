"""Live preview for ``nicepick serve --reload``: the file watcher's changes go to the site,
and browsers hear of them.

The watcher (``app/content/watch.py``) watches the folders; ``apply_changes`` re-reads what
changed and drops what it made stale. Browsers learn of it through server-sent events at
``/__preview/events``, which ``static/preview.js`` turns into a page reload. A file that no
longer parses is not served stale: its page answers with ``preview_error.html``
(``PageRenderer.broken_file``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.content.watch import Changes, Watcher
from app.render.assets import Assets
from app.render.page_cache import PageCache
from app.site import Site

log = logging.getLogger(__name__)

EVENTS_PATH = "/__preview/events"
# An event stream ends after this long and the browser reconnects at once (``retry``):
# uvicorn waits for open responses on shutdown, so no stream may be endless.
STREAM_SECONDS = 20.0


def apply_changes(changes: Changes, *, site: Site, cache: PageCache, assets: Assets) -> None:
    """What the watcher found: re-read it, and let no page serve it stale.

    A changed content file is re-parsed alone (``Site.reload_files``), which bumps the library
    version so every cached page misses; a template change clears the page cache (Jinja's
    ``auto_reload`` re-reads the template); a static change drops the fingerprints and the
    pages that carry the old URLs.
    """
    if changes.content:
        site.reload_files(changes.content)
    if changes.templates:
        cache.clear()
        log.info("live preview: templates changed")
    if changes.static:
        assets.clear()
        cache.clear()
        log.info("live preview: static files changed")


class Preview:
    """The watcher plus the event stream browsers listen to; built only when reload is on."""

    def __init__(self, site: Site, *, cache: PageCache, assets: Assets) -> None:
        settings = site.settings
        self.watcher = Watcher(
            content_dir=settings.content_dir,
            templates_dir=settings.templates_dir,
            static_dir=settings.static_dir,
            apply=partial(apply_changes, site=site, cache=cache, assets=assets),
        )
        # A new token per process: a page open across a restart reloads when it reconnects.
        self._boot = uuid.uuid4().hex[:8]
        self.router = APIRouter()
        self.router.add_api_route(
            EVENTS_PATH, self.events, methods=["GET"], include_in_schema=False
        )

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()

    def token(self) -> str:
        return f"{self._boot}-{self.watcher.generation}"

    async def events(self, request: Request) -> StreamingResponse:
        return StreamingResponse(
            self._stream(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request) -> AsyncIterator[str]:
        seen = self.watcher.generation
        yield f"retry: 300\nevent: hello\ndata: {self.token()}\n\n"
        deadline = time.monotonic() + STREAM_SECONDS
        ticks = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if await request.is_disconnected():
                return
            if self.watcher.generation != seen:
                seen = self.watcher.generation
                yield f"event: change\ndata: {self.token()}\n\n"
            ticks += 1
            if ticks % 50 == 0:
                yield ": keep-alive\n\n"  # proxies close silent connections
