"""What only the app answers, requested in-process: ASGI calls in the app's own event loop
(no HTTP, no thread hop per file), each answer handed to the export's ``Renderer`` to write.

Static files come this way, and any link the route table does not list that
``DirectPages`` does not know.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers

from app.commands.share import Renderer, Share
from app.web.deps import site_of

if TYPE_CHECKING:
    from fastapi import FastAPI


class AppExporter:
    """Requests what only the app answers, in its own event loop (no HTTP, no thread hop per
    file), and hands each answer to the ``Renderer`` to write."""

    def __init__(self, app: FastAPI, renderer: Renderer, base: str) -> None:
        self.app = app
        self.renderer = renderer
        parts = urlsplit(base)
        self.scheme = parts.scheme
        self.host = parts.netloc.encode("latin-1")

    async def fetch(self, url: str, encoding: str = "identity") -> tuple[int, Headers, bytes]:
        path, _, query = url.partition("?")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": self.scheme,
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", self.host), (b"accept-encoding", encoding.encode())],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
            "state": {},
        }
        status = 500
        headers: Headers = Headers()
        chunks: list[bytes] = []

        requested = False
        complete = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await complete.wait()  # streaming responses listen for the client leaving
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = Headers(raw=message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    complete.set()

        await self.app(scope, receive, send)  # type: ignore[arg-type]
        return status, headers, b"".join(chunks)

    async def run(self, urls: list[str], done: Callable[[], None]) -> Share:
        share = Share()
        for url in urls:
            if not self.renderer.render(url, share, done):
                await self.export(url, share)
                done()
        return share

    async def export(self, url: str, share: Share) -> None:
        summary = share.summary
        status, headers, body = await self.fetch(url)
        if status in (301, 302, 307, 308):
            # The server's Location is absolute (the site URL); _redirects names our own pages
            # by path, so the folder works on any host it is published to.
            target = headers["location"]
            site_url = site_of(self.app).settings.site_url
            if target.startswith(site_url + "/"):
                target = target[len(site_url) :]
            summary.redirects.append((url, target))
            return
        if status != 200:
            summary.skipped.append((url, status))
            return
        # Siblings are compressed by Files as the page cache would (same functions, same bytes).
        self.renderer.keep(url, body, headers.get("content-type", ""), share)
