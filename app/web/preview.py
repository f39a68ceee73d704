"""Live preview for ``nicepick serve --reload``: the file watcher's changes go to the site,
and browsers hear of them.

The watcher (``app/content/watch.py``) polls the folders; ``Site.apply_changes`` re-reads what
changed. Browsers learn of it through server-sent events at ``/__preview/events``, which
``static/preview.js`` turns into a page reload. A file that no longer parses is not served
stale: its page answers with ``preview_error.html`` (``PageRenderer.broken_file``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.content.watch import Watcher
from app.site import Site

EVENTS_PATH = "/__preview/events"
# An event stream ends after this long and the browser reconnects at once (``retry``):
# uvicorn waits for open responses on shutdown, so no stream may be endless.
STREAM_SECONDS = 20.0


class Preview:
    """The watcher plus the event stream browsers listen to; built only when reload is on."""

    def __init__(self, site: Site) -> None:
        self.site = site
        settings = site.settings
        self.watcher = Watcher(
            content_dir=settings.content_dir,
            templates_dir=settings.templates_dir,
            static_dir=settings.static_dir,
            apply=site.apply_changes,
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
