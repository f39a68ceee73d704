"""The JSON API: published comparisons, listed and one by one, with exact OpenAPI models.

A public contract, served from the pages' own contexts (``app.pages``): a comparison here is
byte for byte its page's JSON twin, and a listed one is the summary every card uses.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.content.model import slugify
from app.pages.base import ComparisonSummary, ErrorOut, summary
from app.pages.comparison import ComparisonDetail
from app.pages.navigation import paginate
from app.web.deps import PagesDep, SiteDep
from app.web.responses import JSON, page

router = APIRouter(prefix="/api", tags=["comparisons"])

API_PER_PAGE = 50

__all__ = ["ComparisonDetail", "ComparisonList", "ComparisonSummary", "ErrorOut", "router"]


class ComparisonList(BaseModel):
    items: list[ComparisonSummary]
    next: str | None = Field(description="URL of the next page; null on the last page.")


@router.get("/comparisons", response_model=ComparisonList)
def list_comparisons(
    site: SiteDep,
    category: Annotated[str | None, Query(max_length=200, description="Category slug.")] = None,
    tag: Annotated[str | None, Query(max_length=200, description="Tag slug.")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> ComparisonList:
    """Published comparisons, newest first, 50 a page."""
    comparisons = site.visible()
    if category:
        wanted = slugify(category)
        comparisons = [c for c in comparisons if c.category_slug == wanted]
    if tag:
        wanted = slugify(tag)
        comparisons = [c for c in comparisons if wanted in c.tag_slugs]
    found = paginate(comparisons, page, per_page=API_PER_PAGE)
    if found is None:
        return ComparisonList(items=[], next=None)
    url = site.settings.site_url
    following = None
    if found.has_next:
        # From the site URL and the parameters we know, never from request.url: its host is
        # the client's Host header (which may itself contain "/api/").
        known = [(name, value) for name, value in (("tag", tag), ("category", category)) if value]
        following = f"{url}/api/comparisons?{urlencode([*known, ('page', page + 1)])}"
    return ComparisonList(items=[summary(c, url) for c in found.items], next=following)


@router.get(
    "/comparisons/{slug}",
    response_model=ComparisonDetail,
    responses={404: {"model": ErrorOut, "description": "No published comparison has this slug."}},
)
def get_comparison(request: Request, slug: str, site: SiteDep, pages: PagesDep) -> Response:
    """One published comparison: everything its page shows (``/compare/<slug>.json``)."""
    comparison = site.library.comparisons.get(slug)
    if comparison is None or not site.is_visible(comparison):
        raise HTTPException(status_code=404, detail=f"no comparison {slug!r}")
    return page(request, pages.comparison(comparison, "json"), media_type=JSON)
