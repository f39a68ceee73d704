"""Every redirect the site makes: its target is built from ``NICEPICK_SITE_URL``, never from
the request's ``Host`` header.

Starlette's redirects (``RedirectResponse`` of a path, the router's trailing-slash redirect)
build an absolute URL from the ``Host`` header and the socket's scheme: behind a TLS proxy
that is ``http://``, and with the canonical-host redirect off it is whatever host the client
named, a poisoned ``Location`` for any cache in between. Django's ``APPEND_SLASH`` and nginx's
``server_name_in_redirect on`` take the configured name instead; so do we.

While the site URL is a local address (development: ``nicepick serve --port 9000`` with the
default ``http://127.0.0.1:8000``), the target is the path alone, which RFC 9110 (10.2.2)
allows and the browser resolves against the address it used, so a local server on any port
keeps working; a path is never protocol-relative (``//host``).

``CanonicalHostMiddleware`` keeps one URL per page: another host name gets a 301 to ours.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app.web.observe import ROUTE_KEY

HOST_REDIRECT_ROUTE = "(host redirect)"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_local_site(site_url: str) -> bool:
    """Whether the site URL names this machine (a development server)."""
    return (urlsplit(site_url).hostname or "") in LOCAL_HOSTS


def site_location(site_url: str, path: str) -> str:
    """The ``Location`` for ``path`` (with its query) on the site of ``site_url``."""
    if not path.startswith("/") or path.startswith("//"):
        path = "/" + path.lstrip("/")
    if is_local_site(site_url):
        return path
    return site_url.rstrip("/") + path


def redirect(site_url: str, path: str, *, status_code: int) -> Response:
    """A redirect to ``path`` on our own site, with an empty body."""
    return Response(status_code=status_code, headers={"Location": site_location(site_url, path)})


def trailing_slash_redirect(request: Request, site_url: str) -> Response | None:
    """``GET /compare/x/`` -> 301 to ``/compare/x`` when that path is a route; else None.

    Replaces Starlette's ``redirect_slashes`` (a 307 to the ``Host`` header's host). A 301, as
    Django's ``APPEND_SLASH`` and nginx answer: the slashless URL is the page's one address.
    Only GET and HEAD: a redirected POST would lose its body.
    """
    path: str = request.scope["path"]
    if request.method not in ("GET", "HEAD") or path == "/" or not path.endswith("/"):
        return None
    stripped = {**request.scope, "path": path.rstrip("/")}
    if not any(route.matches(stripped)[0] is Match.FULL for route in request.app.router.routes):
        return None
    # raw_path keeps the request's own percent-encoding of the path.
    raw: bytes = request.scope.get("raw_path") or path.encode("utf-8")
    if not raw.endswith(b"/"):
        return None  # the slash was sent encoded (%2F): part of a name, not a trailing slash
    target = raw.decode("latin-1").rstrip("/")
    query: bytes = request.scope.get("query_string", b"")
    if query:
        target += "?" + query.decode("latin-1")
    return redirect(site_url, target, status_code=301)


# Probes answer on any host: load balancers ask by IP address, and compose's health check
# asks 127.0.0.1 inside the container; a redirect would have them probe the public site.
# So does Prometheus, which scrapes each instance by its address.
ANY_HOST_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def should_redirect_hosts(site_url: str, enabled: bool) -> bool:
    """On unless disabled, or the site URL is a local address (development: any host works)."""
    return enabled and not is_local_site(site_url)


class CanonicalHostMiddleware:
    """301 a request for another host name (``www.``, an old domain) to the site URL's host.

    Pure ASGI so it runs before routing and costs one header lookup per request. The health
    endpoints and ``/metrics`` are exempt (``ANY_HOST_PATHS``).
    """

    def __init__(self, app: ASGIApp, *, site_url: str) -> None:
        self.app = app
        parts = urlsplit(site_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ANY_HOST_PATHS:
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "").lower()
        # Only paths have a place on our host: "OPTIONS *" (asterisk form) is answered here.
        if host == self.host or not host or not scope["path"].startswith("/"):
            await self.app(scope, receive, send)
            return
        # raw_path keeps the request's own percent-encoding; never echo the bad host back.
        path = scope.get("raw_path") or scope["path"].encode("utf-8")
        query = scope.get("query_string", b"")
        location = (
            self.origin + path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        )
        scope[ROUTE_KEY] = HOST_REDIRECT_ROUTE  # one metrics series for every such answer
        response = Response(status_code=301, headers={"Location": location})
        await response(scope, receive, send)
