"""Reader-facing HTML pages: index, comparison, category and tag listings, static assets."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from app.pages.navigation import page_number
from app.pages.renderer import PageRenderer
from app.site import Site
from app.web.deps import AssetsDep, PagesDep, SiteDep
from app.web.loading import library_loaded
from app.web.redirects import redirect
from app.web.responses import HTML, page

router = APIRouter()
log = logging.getLogger(__name__)

# ``?page=N`` as text: garbage answers the styled 404 rather than a JSON validation error.
PageParam = Annotated[str | None, Query(alias="page")]


class NotFound(Exception):
    """Raised by a route to answer with the styled 404 page."""


@router.get("/", include_in_schema=False)
def index(request: Request, pages: PagesDep, number: PageParam = None) -> Response:
    wanted = page_number(number)
    body = pages.home(wanted) if wanted is not None else None
    if body is None:
        raise NotFound("/")
    return page(request, body)


@router.get("/compare/{slug}", include_in_schema=False)
async def compare(request: Request, slug: str, site: SiteDep, pages: PagesDep) -> Response:
    # Async so that waiting for the library holds no thread; the work runs in threads.
    if not site.loaded.is_set():
        # The library is still loading in the background (app.web.loading): this file alone.
        early = await run_in_threadpool(_early_page, slug, site, pages)
        if early is not None:
            return early
        # Anything else (404, alias, redirect) is the library's to decide.
        log.debug("GET /compare/%s waits for the library", slug)
        if not await library_loaded(site):
            return still_loading(request, pages)
    return await run_in_threadpool(_compare, request, slug, site, pages)


def _early_page(slug: str, site: Site, pages: PageRenderer) -> Response | None:
    early = site.early_comparison(slug)
    if early is None:
        return None
    # Not kept by any cache: the full page adds related links once loading is done.
    body = pages.comparison(early, early=True)
    return Response(body, media_type=HTML, headers={"Cache-Control": "no-store"})


def still_loading(request: Request, pages: PageRenderer) -> Response:
    """503 while the library takes longer to load than a request waits for it."""
    body = pages.error(503, "The site is starting; please try again in a moment.")
    response = page(request, body, status_code=503)
    response.headers["Retry-After"] = "5"
    return response


def _compare(request: Request, slug: str, site: Site, pages: PageRenderer) -> Response:
    comparison, canonical = site.library.resolve(slug)
    if comparison is None or not site.is_visible(comparison):
        target = site.library.comparisons.get(canonical) if canonical else None
        if target is not None and site.is_visible(target):
            return redirect(site.settings.site_url, f"/compare/{target.slug}", status_code=301)
        if site.settings.reload:
            # Live preview: a file that stopped parsing shows why, never a stale page or a 404.
            broken = pages.broken_file(slug)
            if broken is not None:
                # 422: the editor's file is at fault, not the server.
                return page(request, broken, status_code=422)
        raise NotFound(slug)
    # After a note was sent (post/redirect/get), a cached variant with the thank-you notice.
    thanks = request.query_params.get("thanks") == "1"
    return page(request, pages.comparison(comparison, thanks=thanks))


@router.get("/category/{slug}", include_in_schema=False)
def category(request: Request, slug: str, pages: PagesDep, number: PageParam = None) -> Response:
    wanted = page_number(number)
    body = pages.listing("category", slug, wanted) if wanted is not None else None
    if body is None:
        raise NotFound(slug)
    return page(request, body)


@router.get("/tag/{slug}", include_in_schema=False)
def tag(request: Request, slug: str, pages: PagesDep, number: PageParam = None) -> Response:
    wanted = page_number(number)
    body = pages.listing("tag", slug, wanted) if wanted is not None else None
    if body is None:
        raise NotFound(slug)
    return page(request, body)


@router.get("/author/{slug}", include_in_schema=False)
def author(request: Request, slug: str, pages: PagesDep) -> Response:
    body = pages.author(slug)
    if body is None:
        raise NotFound(slug)
    return page(request, body)


@router.get("/about", include_in_schema=False)
def about(request: Request, pages: PagesDep) -> Response:
    body = pages.prose("about")
    if body is None:
        raise NotFound("about")
    return page(request, body)


@router.get("/tags", include_in_schema=False)
def tags(request: Request, pages: PagesDep) -> Response:
    return page(request, pages.index("tag") or b"")


@router.get("/categories", include_in_schema=False)
def categories(request: Request, pages: PagesDep) -> Response:
    return page(request, pages.index("category") or b"")


@router.get("/static/{name:path}", include_in_schema=False)
def static(name: str, assets: AssetsDep) -> Response:
    path = assets.file(name)
    if path is None:
        raise NotFound(name)
    fingerprinted = path.name != name.rsplit("/", 1)[-1]
    cache = "public, max-age=31536000, immutable" if fingerprinted else "public, max-age=300"
    return FileResponse(path, headers={"Cache-Control": cache})


@router.get("/healthz", include_in_schema=False)
def healthz(site: SiteDep) -> Response:
    if not site.loaded.is_set():
        return Response("loading\n", status_code=503, media_type="text/plain")
    return Response("ok\n", media_type="text/plain")
