"""The app, made and started for the export's first URL that only it can answer.

``DirectPages`` answers every page the route table lists; the app is asked for the rest
(static files and links no table lists, found by a full build's crawl; a page that has gone,
whose 404 removes its file). An incremental build of a few pages usually asks it nothing, and
then neither FastAPI nor SQLAlchemy (the feedback service) is imported: their imports cost
more than such a build's rendering.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from app.commands.share import Renderer, Share

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal
    from fastapi import FastAPI

    from app.commands.app_requests import AppExporter


class AppWhenNeeded:
    """``make()`` gives the app (a static copy, ``export.as_static_copy``); it is made and
    started (its lifespan, in ``TestClient``'s event loop) at the first ``run`` with URLs,
    and stopped by ``close``."""

    def __init__(self, make: Callable[[], FastAPI], renderer: Renderer, base: str) -> None:
        self._make = make
        self._renderer = renderer
        self._base = base
        self._stack = ExitStack()
        self._started: tuple[BlockingPortal, AppExporter] | None = None

    @property
    def started(self) -> bool:
        return self._started is not None

    def run(self, urls: list[str], done: Callable[[], None]) -> Share:
        """Export ``urls``: each the renderer answers without the app, the rest through the
        app (``AppExporter.run``), started for them."""
        share, left = self._renderer.render_all(urls, done)
        if left:
            portal, exporter = self._start()
            share.add(portal.call(exporter.run, left, done))
        return share

    def _start(self) -> tuple[BlockingPortal, AppExporter]:
        if self._started is None:
            from fastapi.testclient import TestClient

            from app.commands.app_requests import AppExporter

            app = self._make()
            client = TestClient(app, base_url=self._base, follow_redirects=False)
            self._stack.enter_context(client)
            portal = client.portal
            assert portal is not None  # set while the client is entered
            self._started = (portal, AppExporter(app, self._renderer, self._base))
        return self._started

    def close(self) -> None:
        """Stop the app when it was started (its lifespan's end)."""
        self._stack.close()
        self._started = None
