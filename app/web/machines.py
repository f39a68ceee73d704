"""Machine-read routes (sitemap, robots.txt, Atom feed, social cards) and the canonical-host
redirect that keeps one URL per page."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.web.deps import SurfacesDep
from app.web.pages import NotFound
from app.web.redirects import is_local_site

router = APIRouter()

XML = "application/xml; charset=utf-8"
_CACHE = {"Cache-Control": "public, max-age=300"}


@router.get("/sitemap.xml", include_in_schema=False)
def sitemap(surfaces: SurfacesDep) -> Response:
    return Response(surfaces.sitemap(), media_type=XML, headers=_CACHE)


@router.get("/sitemap-{number:int}.xml", include_in_schema=False)
def sitemap_part(number: int, surfaces: SurfacesDep) -> Response:
    body = surfaces.sitemap_part(number)
    if body is None:
        raise NotFound(f"sitemap-{number}.xml")
    return Response(body, media_type=XML, headers=_CACHE)


@router.get("/robots.txt", include_in_schema=False)
def robots(surfaces: SurfacesDep) -> Response:
    return Response(surfaces.robots(), media_type="text/plain; charset=utf-8", headers=_CACHE)


@router.get("/feed.xml", include_in_schema=False)
def feed(surfaces: SurfacesDep) -> Response:
    return Response(surfaces.feed(), media_type="application/atom+xml", headers=_CACHE)


@router.get("/og/{slug}.png", include_in_schema=False)
def card(slug: str, surfaces: SurfacesDep) -> Response:
    body = surfaces.card(slug)
    if body is None:
        raise NotFound(slug)
    return Response(body, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})


# Probes answer on any host: load balancers ask by IP address, and compose's health check
# asks 127.0.0.1 inside the container; a redirect would have them probe the public site.
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


def should_redirect_hosts(site_url: str, enabled: bool) -> bool:
    """On unless disabled, or the site URL is a local address (development: any host works)."""
    return enabled and not is_local_site(site_url)


class CanonicalHostMiddleware:
    """301 a request for another host name (``www.``, an old domain) to the site URL's host.

    Pure ASGI so it runs before routing and costs one header lookup per request. The health
    endpoints are exempt (``HEALTH_PATHS``).
    """

    def __init__(self, app: ASGIApp, *, site_url: str) -> None:
        self.app = app
        parts = urlsplit(site_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in HEALTH_PATHS:
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "").lower()
        if host == self.host or not host:
            await self.app(scope, receive, send)
            return
        # raw_path keeps the request's own percent-encoding; never echo the bad host back.
        path = scope.get("raw_path") or scope["path"].encode("utf-8")
        query = scope.get("query_string", b"")
        location = (
            self.origin + path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        )
        response = Response(status_code=301, headers={"Location": location})
        await response(scope, receive, send)
