"""Responses for rendered pages: cached bytes go out as they are, with validators and encodings.

A ``CachedPage`` (see ``app.render.cached_page``) already carries its strong ETag and gzip/brotli
bodies, so answering costs a header choice: ``If-None-Match`` gets 304 with no body, clients
that accept brotli or gzip get the precompressed body, and every answer says
``Vary: Accept-Encoding`` so shared caches keep the encodings apart.

``HotPages`` is the lean path: a pure ASGI middleware that answers a repeat GET for a page the
routes already served from the cache straight from a path -> page map, skipping FastAPI's
routing and dependency machinery (the issue's target: as fast as a constant-bytes route).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import lru_cache

from fastapi import Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.render.cached_page import CachedPage
from app.site import Site
from app.web.deps import settings_of
from app.web.observe import ROUTE_KEY, route_template

HTML = "text/html; charset=utf-8"
JSON = "application/json"
Header = tuple[bytes, bytes]

# Where ``page`` leaves a page the hot path may remember for this request's path.
_SCOPE_KEY = "nicepick.hot_page"
HOT_SECONDS = 1.0  # how long the hot path trusts a page before asking the route again
# Paths the hot path remembers at once. Entries outlive their second until a sweep, and each
# holds its page even after the page cache dropped it, so the map is bounded by count: when
# full, expired entries are swept (at most once per HOT_SECONDS) and, if it is still full, new
# paths wait for the next sweep. Only paths a route answered 200 from the cache get in.
HOT_ENTRIES = 1024


@lru_cache(maxsize=8)
def cache_control(max_age: int, stale: int) -> str:
    """``Cache-Control`` of pages; 0 seconds means caches must revalidate every time."""
    if max_age == 0:
        return "no-cache"
    value = f"public, max-age={max_age}"
    return f"{value}, stale-while-revalidate={stale}" if stale else value


def choose_encoding(accept_encoding: str) -> str | None:
    """``br`` or ``gzip`` when the client accepts it (``q=0`` refuses), else None for identity."""
    accepted: set[str] = set()
    for item in accept_encoding.lower().split(","):
        token, _, params = item.partition(";")
        token = token.strip()
        quality = params.strip()
        if quality.startswith("q="):
            try:
                if float(quality[2:]) == 0:
                    continue
            except ValueError:
                continue
        accepted.add(token)
    if "br" in accepted:
        return "br"
    if "gzip" in accepted or "*" in accepted:
        return "gzip"
    return None


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 13.1.2: a weak comparison over the listed tags, or ``*``."""
    if if_none_match.strip() == "*":
        return True
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def cached_answer(
    page: CachedPage,
    *,
    status_code: int,
    if_none_match: str | None,
    accept_encoding: str | None,
    cache_control_value: str,
    media_type: str = HTML,
) -> tuple[int, list[Header], bytes]:
    """Status, headers and body for a cached page; shared by ``page`` and the hot path."""
    headers: list[Header] = [
        (b"content-type", media_type.encode()),
        (b"vary", b"Accept-Encoding"),
    ]
    encoding = choose_encoding(accept_encoding) if accept_encoding else None
    if status_code == 200:
        # A strong validator names one representation (RFC 9110 8.8.3): the gzip and brotli
        # bodies are others, so each has its own tag, as nginx and Apache give them.
        etag = page.etag if encoding is None else f'{page.etag[:-1]}-{encoding}"'
        headers.append((b"etag", etag.encode()))
        headers.append((b"cache-control", cache_control_value.encode()))
        if if_none_match is not None and etag_matches(if_none_match, etag):
            return 304, headers[1:], b""
    else:
        # Error pages may change as soon as content does; let nobody keep them.
        headers.append((b"cache-control", b"no-cache"))
    body: bytes = page
    if encoding == "br":
        body = page.br
        headers.append((b"content-encoding", b"br"))
    elif encoding == "gzip":
        body = page.gzip
        headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(body)).encode()))
    return status_code, headers, body


def page(
    request: Request, body: bytes, *, status_code: int = 200, media_type: str = HTML
) -> Response:
    """A page or its JSON twin: cached pages get ETag, 304 and compression; one-off renders go
    as they are."""
    if not isinstance(body, CachedPage):
        return Response(content=body, status_code=status_code, media_type=media_type)
    settings = settings_of(request)
    status, headers, content = cached_answer(
        body,
        status_code=status_code,
        if_none_match=request.headers.get("if-none-match"),
        accept_encoding=request.headers.get("accept-encoding"),
        cache_control_value=cache_control(settings.cache_seconds, settings.cache_stale_seconds),
        media_type=media_type,
    )
    if status_code == 200 and request.method in ("GET", "HEAD"):
        request.scope[_SCOPE_KEY] = (body, media_type)
    response = Response(b"" if request.method == "HEAD" else content, status_code=status)
    response.raw_headers = headers  # already complete; HEAD keeps the GET content-length
    return response


class HotPages:
    """Answer GET/HEAD for pages already served from the cache without entering the router.

    The map only learns a path after the full route served a cached 200 for it (no query
    string, no cookies), so the route's own logic (visibility, redirects, 404s) decided. An
    entry lives ``HOT_SECONDS`` at most and all are dropped when the library changes: parts
    of a page may change without the content (the feedback form's time window, the
    disagreement meter, a scheduled comparison going live), and re-asking the route once a
    second per page costs nothing measurable while keeping every such part fresh within a
    second. Requests with cookies or a query string always take the full route, since a
    route may answer those differently (``?thanks=1``, ``?page=2``).
    """

    def __init__(self, app: ASGIApp, *, site: Site) -> None:
        self.app = app
        self.site = site
        # path -> (until, page, media type, route template)
        self.pages: dict[str, tuple[float, CachedPage, str, str]] = {}
        self._version = -1
        self._next_sweep = 0.0
        self.enabled = not site.settings.reload  # live preview favours freshness over speed
        settings = site.settings
        self._cache_control = cache_control(settings.cache_seconds, settings.cache_stale_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.enabled
            or scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or scope["query_string"]
        ):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        version = self.site.library.version
        if version != self._version:
            self.pages = {}
            self._version = version
        entry = self.pages.get(path)
        if entry is not None and entry[0] > time.monotonic():
            if_none_match, accept_encoding, cookie = _request_headers(scope["headers"])
            if not cookie:
                scope[ROUTE_KEY] = entry[3]  # the route that taught us the page
                status, headers, body = cached_answer(
                    entry[1],
                    status_code=200,
                    if_none_match=if_none_match,
                    accept_encoding=accept_encoding,
                    cache_control_value=self._cache_control,
                    media_type=entry[2],
                )
                await send({"type": "http.response.start", "status": status, "headers": headers})
                if scope["method"] == "HEAD":
                    body = b""
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
        learned = scope.get(_SCOPE_KEY)
        # A page rendered from a library that was replaced meanwhile must not be remembered.
        if (
            learned is not None
            and version == self.site.library.version == self._version
            and not _has_cookie(scope["headers"])
        ):
            self._remember(path, learned, route_template(scope))

    def _remember(self, path: str, learned: tuple[CachedPage, str], route: str) -> None:
        now = time.monotonic()
        if len(self.pages) >= HOT_ENTRIES and path not in self.pages:
            if now < self._next_sweep:
                return
            self._next_sweep = now + HOT_SECONDS
            self.pages = {key: entry for key, entry in self.pages.items() if entry[0] > now}
            if len(self.pages) >= HOT_ENTRIES:
                return
        self.pages[path] = (now + HOT_SECONDS, *learned, route)


def _request_headers(headers: Iterable[Header]) -> tuple[str | None, str | None, bool]:
    """``If-None-Match``, ``Accept-Encoding`` and whether a cookie came, in one pass."""
    if_none_match = accept_encoding = None
    cookie = False
    for name, value in headers:
        if name == b"if-none-match":
            if_none_match = value.decode("latin-1")
        elif name == b"accept-encoding":
            accept_encoding = value.decode("latin-1")
        elif name == b"cookie":
            cookie = True
    return if_none_match, accept_encoding, cookie


def _has_cookie(headers: Iterable[Header]) -> bool:
    return any(name == b"cookie" for name, _ in headers)
