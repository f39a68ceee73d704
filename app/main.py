"""Build the FastAPI application from settings: routers, error pages, content loading."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.content.library import Library
from app.feedback.service import Feedback
from app.pages.renderer import PageRenderer
from app.render.assets import Assets
from app.render.jinja import page_environment
from app.render.page_cache import PageCache
from app.settings import Settings
from app.site import Clock, ReadLibrary, Site, utc_now
from app.surfaces.service import Surfaces
from app.web import api, ask, discovery, docs, health, machines, metrics, notes, pages, twins
from app.web.exposition import Exposition
from app.web.loading import LoadingGate
from app.web.observe import Observe
from app.web.preview import Preview
from app.web.redirects import (
    CanonicalHostMiddleware,
    should_redirect_hosts,
    trailing_slash_redirect,
)
from app.web.responses import HotPages, page
from app.web.security import SecurityHeaders

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = utc_now,
    read_library: ReadLibrary = Library.load,
    page_cache: PageCache | None = None,
    site: Site | None = None,
) -> FastAPI:
    """The site for these settings; tests pass their own, a clock to move time, and may hold
    the reading of the content folder (``read_library``). ``page_cache`` is for a caller that
    must see or empty the rendered pages (tests, ``nicepick build``); ``site`` for one that
    loaded the library already (``nicepick build``, which needs the app for a few URLs only:
    ``app/commands/app_when_needed.py``)."""
    settings = settings or Settings()
    # The library and what is visible now.
    if site is None:
        site = Site(settings, clock=clock, read_library=read_library)
    # Rendered pages as bytes, shared by the pages and the machine-read surfaces.
    cache = page_cache
    if cache is None:
        cache = PageCache(max_bytes=settings.page_cache_mb * 1024 * 1024)
    # Fingerprinted static URLs, and the templates' environment that links them.
    assets = Assets(settings.static_dir)
    env = page_environment(settings, asset_url=assets.url)
    # Live preview (``serve --reload``): a file watcher and the browsers' event stream.
    preview = Preview(site, cache=cache, assets=assets) if settings.reload else None
    # Reader notes: the form's token and meter on each comparison page, the outbox sender.
    feedback = Feedback(settings)
    # Every HTML page and its JSON twin, from one context, rendered once per change.
    renderer = PageRenderer(site, env=env, cache=cache, feedback=feedback)
    # Sitemap, feed, robots.txt and social cards.
    surfaces = Surfaces(site, cache=cache)
    # What /metrics answers: this process's figures, or every worker's, and the outbox.
    exposition = Exposition(feedback.store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not site.loaded.is_set():
            # Large folders load in a thread after this.
            site.start_loading()
        if preview is not None:
            preview.start()
        await feedback.start()
        try:
            yield
        finally:
            # First: a load still parsing in worker processes would leave them running.
            site.stop()
            await feedback.stop()
            if preview is not None:
                preview.stop()
            exposition.close()

    app = FastAPI(
        title="Nice Pick",
        summary="Comparison guides: each option's pros and cons, and our pick.",
        lifespan=lifespan,
        # FastAPI's /docs and /redoc pull scripts from a CDN and run inline code, which our CSP
        # refuses: app/web/docs.py serves Swagger UI from our own origin instead.
        docs_url=None,
        redoc_url=None,
        # Starlette's slash redirect is built from the Host header: ours is in http_error.
        redirect_slashes=False,
    )
    app.state.site = site
    app.state.pages = renderer
    app.state.surfaces = surfaces
    app.state.assets = assets  # the /static/ route maps names to files
    app.state.feedback = feedback
    app.state.db = feedback.db  # /readyz asks it
    app.state.exposition = exposition  # /metrics answers it
    # Added first so it sits inside every other middleware: hot pages still get their headers.
    app.add_middleware(HotPages, site=site)
    # Outside the hot path, which has no pages before the library is loaded anyway.
    app.add_middleware(LoadingGate, site=site)
    if should_redirect_hosts(settings.site_url, settings.redirect_host):
        # Outside the app's work: a request for a wrong host is answered before any of it.
        app.add_middleware(CanonicalHostMiddleware, site_url=settings.site_url)
    # Added last, so it is outermost: every answer gets the headers, the host redirect and
    # the 500 for an unhandled exception included (see app/web/security.py).
    app.add_middleware(SecurityHeaders, settings=settings)
    # Outermost of all: the request id is set before anything logs, and every answer (the
    # host redirect, the 500 above) is counted and timed (see app/web/observe.py).
    app.add_middleware(Observe, settings=settings)
    for router in (
        pages.router,
        health.router,
        discovery.router,
        machines.router,
        docs.router,
        ask.router,
        notes.router,
    ):
        _answer_head(router)
    _answer_head_unlisted(twins.router)
    app.include_router(twins.router)  # first: /compare/{slug} would take "x.json" as a slug
    app.include_router(pages.router)
    app.include_router(health.router)
    app.include_router(discovery.router)
    app.include_router(machines.router)
    app.include_router(api.router)
    app.include_router(docs.router)
    app.include_router(notes.router)
    app.include_router(ask.router)
    app.include_router(metrics.router)
    if preview is not None:
        app.include_router(preview.router)

    @app.exception_handler(pages.NotFound)
    async def not_found(request: Request, exc: pages.NotFound) -> Response:
        return page(request, renderer.not_found(), status_code=404)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            moved = trailing_slash_redirect(request, settings.site_url)
            if moved is not None:
                return moved
        if request.url.path.startswith("/api/") or request.url.path.endswith(".json"):
            # The API and the pages' JSON twins answer JSON, whatever the error: {"detail": ...}
            # as FastAPI documents it.
            answer = JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
            if exc.status_code == 405:  # HEAD too, where a twin answers it (see below)
                answer.headers["Allow"] = ", ".join(allowed_methods(request))
            return answer
        if exc.status_code == 404:
            return page(request, renderer.not_found(), status_code=404)
        body = renderer.error(exc.status_code, str(exc.detail))
        response = page(request, body, status_code=exc.status_code)
        if exc.headers:
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            # RFC 9110 section 15.5.6: a 405 names the methods the address takes. Starlette's
            # names those of the first route on the path only (GET, not a POST route beside).
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    return app


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app answers at the request's path: each asked of the
    router as that request would be (included routers hold their routes themselves)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def _answer_head(router: APIRouter) -> None:
    """Let the router's GET pages answer HEAD, as Starlette's own routes do and FastAPI's not.

    Link checkers and uptime monitors send HEAD; without this a page answered 405 until the
    hot path (``HotPages``) had served it once. The server drops the body of a HEAD answer
    (uvicorn; Starlette's FileResponse). Done before ``include_router``, which copies each
    route's methods. The JSON API keeps GET only, as its OpenAPI schema documents.
    """
    for route in router.routes:
        if isinstance(route, APIRoute) and route.methods and "GET" in route.methods:
            route.methods.add("HEAD")


def _answer_head_unlisted(router: APIRouter) -> None:
    """HEAD for routes the OpenAPI schema lists with GET alone (the pages' JSON twins): a
    hidden HEAD route beside each, since one route with both methods would list the operation
    twice under one id."""
    for route in list(router.routes):
        if isinstance(route, APIRoute) and route.methods == {"GET"} and route.include_in_schema:
            router.add_api_route(
                route.path, route.endpoint, methods=["HEAD"], include_in_schema=False
            )


def app_from_environment() -> FastAPI:
    """Uvicorn's factory: settings come from NICEPICK_* variables (set by ``nicepick serve``)."""
    return create_app(Settings())
