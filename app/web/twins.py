"""The JSON twins of the HTML pages: the same path with ``.json``, from the same context.

Each page links its twin (``<link rel="alternate" type="application/json">``, as Datasette
does: https://docs.datasette.io/en/stable/json_api.html). A twin is rendered once per change
and served like the page: cached bytes with a strong ETag, 304, gzip and brotli. Unknown
pages answer ``404`` with ``{"detail": ...}``, as the API does.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.pages.base import ErrorOut
from app.pages.best import BestJson
from app.pages.comparison import ComparisonDetail
from app.pages.home import HomeJson
from app.pages.listing import ListingJson
from app.pages.option import OptionJson
from app.pages.people import AuthorJson, IndexJson, ProseJson
from app.pages.renderer import PageRenderer
from app.pages.search import SearchJson
from app.site import Site
from app.web.deps import PagesDep, SiteDep
from app.web.loading import library_loaded
from app.web.redirects import redirect
from app.web.responses import JSON, page

router = APIRouter(tags=["pages"])
log = logging.getLogger(__name__)

PageNumber = Annotated[int, Query(alias="page", ge=1, le=999_999, description="From 1.")]


def _missing(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"no page {what!r}")


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such page."}
}


def _json(request: Request, body: bytes | None, what: str) -> Response:
    if body is None:
        raise _missing(what)
    return page(request, body, media_type=JSON)


@router.get("/.json", response_model=HomeJson, responses=_NOT_FOUND)
def home(request: Request, pages: PagesDep, number: PageNumber = 1) -> Response:
    """The home page: categories, newest first, each with its newest comparisons."""
    return _json(request, pages.home(number, "json"), "/")


@router.get("/compare/{slug}.json", response_model=ComparisonDetail, responses=_NOT_FOUND)
async def comparison(request: Request, slug: str, site: SiteDep, pages: PagesDep) -> Response:
    """Everything a comparison page shows: options, verdict, meter, version, related."""
    # No early twin: it would lack what the page adds once loaded. Async, so that the wait
    # holds no thread; the work runs in one.
    if not site.loaded.is_set():
        log.debug("GET /compare/%s.json waits for the library", slug)
        if not await library_loaded(site):
            raise HTTPException(
                status_code=503, detail="the site is starting", headers={"Retry-After": "5"}
            )
    return await run_in_threadpool(_comparison, request, slug, site, pages)


def _comparison(request: Request, slug: str, site: Site, pages: PageRenderer) -> Response:
    found, canonical = site.library.resolve(slug)
    if found is None or not site.is_visible(found):
        target = site.library.comparisons.get(canonical) if canonical else None
        if target is not None and site.is_visible(target):
            return redirect(site.settings.site_url, f"/compare/{target.slug}.json", status_code=301)
        raise _missing(slug)
    return page(request, pages.comparison(found, "json"), media_type=JSON)


@router.get("/category/{slug}.json", response_model=ListingJson, responses=_NOT_FOUND)
def category(request: Request, slug: str, pages: PagesDep, number: PageNumber = 1) -> Response:
    """One page of a category: its comparisons, newest first."""
    return _json(request, pages.listing("category", slug, number, "json"), slug)


@router.get("/tag/{slug}.json", response_model=ListingJson, responses=_NOT_FOUND)
def tag(request: Request, slug: str, pages: PagesDep, number: PageNumber = 1) -> Response:
    """One page of a tag: its comparisons, newest first."""
    return _json(request, pages.listing("tag", slug, number, "json"), slug)


@router.get("/option/{slug}.json", response_model=OptionJson, responses=_NOT_FOUND)
def option(request: Request, slug: str, pages: PagesDep, number: PageNumber = 1) -> Response:
    """One option across comparisons: where it appears and how often we pick it."""
    return _json(request, pages.option(slug, number, "json"), slug)


@router.get("/author/{slug}.json", response_model=AuthorJson, responses=_NOT_FOUND)
def author(request: Request, slug: str, pages: PagesDep) -> Response:
    """A writer: their bio and the comparisons they wrote, newest first."""
    return _json(request, pages.author(slug, "json"), slug)


@router.get("/about.json", response_model=ProseJson, responses=_NOT_FOUND)
def about(request: Request, pages: PagesDep) -> Response:
    """How we pick, who writes, how to disagree and how corrections are made."""
    return _json(request, pages.prose("about", "json"), "/about")


@router.get("/tags.json", response_model=IndexJson)
def tags(request: Request, pages: PagesDep) -> Response:
    """Every tag with how many comparisons its page lists, the most used first."""
    return _json(request, pages.index("tag", "json"), "/tags")


@router.get("/categories.json", response_model=IndexJson)
def categories(request: Request, pages: PagesDep) -> Response:
    """Every category with how many comparisons its page lists, the most used first."""
    return _json(request, pages.index("category", "json"), "/categories")


@router.get("/best/{category}.json", response_model=BestJson, responses=_NOT_FOUND)
def best(request: Request, category: str, pages: PagesDep) -> Response:
    """A category's options ranked by how often we pick them."""
    return _json(request, pages.best(category, "json"), category)


@router.get("/search.json", response_model=SearchJson, responses=_NOT_FOUND)
def search(
    request: Request,
    pages: PagesDep,
    q: str = "",
    number: PageNumber = 1,
) -> Response:
    """Comparisons matching the words, best first; popular categories when there are none."""
    return _json(request, pages.search(q, number, "json"), "/search")
