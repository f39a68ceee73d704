"""Reader pages for finding things: search, option pages and category leaderboards."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.pages.navigation import page_number
from app.web.deps import PagesDep
from app.web.pages import NotFound, PageParam
from app.web.responses import page

router = APIRouter()


@router.get("/search", include_in_schema=False)
def search(request: Request, pages: PagesDep, q: str = "", number: PageParam = None) -> Response:
    wanted = page_number(number)
    body = pages.search(q, wanted) if wanted is not None else None
    if body is None:
        raise NotFound(request.url.path)
    return page(request, body)


@router.get("/option/{slug}", include_in_schema=False)
def option(request: Request, slug: str, pages: PagesDep, number: PageParam = None) -> Response:
    wanted = page_number(number)
    body = pages.option(slug, wanted) if wanted is not None else None
    if body is None:
        raise NotFound(slug)
    return page(request, body)


@router.get("/best/{category}", include_in_schema=False)
def best(request: Request, category: str, pages: PagesDep) -> Response:
    body = pages.best(category)
    if body is None:
        raise NotFound(category)
    return page(request, body)
