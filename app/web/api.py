"""The JSON API: published comparisons, listed and one by one, with exact OpenAPI models."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from app.content.model import Comparison, slugify
from app.discovery import paginate
from app.render import markdown_to_html
from app.seo import plain_text
from app.web.deps import SiteDep

router = APIRouter(prefix="/api", tags=["comparisons"])

API_PER_PAGE = 50


class Text(BaseModel):
    """Editor Markdown rendered two ways."""

    html: str = Field(description="Sanitised HTML.")
    text: str = Field(description="Plain text, one line per paragraph or item.")


class _ComparisonBase(BaseModel):
    slug: str
    title: str
    category: str
    category_slug: str
    summary: str
    pick: str = Field(description="Name of the option we pick.")
    tags: list[str]
    published: date
    updated: date | None
    url: str = Field(description="Canonical page URL.")
    api_url: str = Field(description="This comparison in the API.")


class ComparisonSummary(_ComparisonBase):
    options: list[str] = Field(description="Option names, in page order.")


class ComparisonList(BaseModel):
    items: list[ComparisonSummary]
    next: str | None = Field(description="URL of the next page; null on the last page.")


class OptionOut(BaseModel):
    name: str
    slug: str
    is_pick: bool
    url: str = Field(description="Page of every comparison with this option.")
    description: Text
    pros: list[Text]
    cons: list[Text]


class UseCaseOut(BaseModel):
    option: str
    body: Text


class ComparisonDetail(_ComparisonBase):
    options: list[OptionOut]
    verdict: Text
    use_cases: list[UseCaseOut]
    bottom_line: Text


class ErrorOut(BaseModel):
    detail: str


def _text(markdown: str, *, inline: bool = False) -> Text:
    return Text(html=str(markdown_to_html(markdown, inline=inline)), text=plain_text(markdown))


def _summary(comparison: Comparison, site_url: str) -> dict[str, object]:
    return {
        "slug": comparison.slug,
        "title": comparison.title,
        "category": comparison.category,
        "category_slug": comparison.category_slug,
        "summary": comparison.summary,
        "pick": comparison.pick,
        "tags": list(comparison.tags),
        "published": comparison.published,
        "updated": comparison.updated,
        "url": f"{site_url}/compare/{comparison.slug}",
        "api_url": f"{site_url}/api/comparisons/{comparison.slug}",
    }


@lru_cache(maxsize=1024)
def detail(comparison: Comparison, site_url: str) -> ComparisonDetail:
    """Everything a page says, as data; kept per comparison value, so edits miss the cache."""
    options = [
        OptionOut(
            name=option.name,
            slug=option.slug,
            is_pick=option.name == comparison.pick,
            url=f"{site_url}/option/{option.slug}",
            description=_text(option.description),
            pros=[_text(item, inline=True) for item in option.pros],
            cons=[_text(item, inline=True) for item in option.cons],
        )
        for option in comparison.options
    ]
    return ComparisonDetail.model_validate(
        {
            **_summary(comparison, site_url),
            "options": options,
            "verdict": _text(comparison.verdict),
            "use_cases": [
                UseCaseOut(option=case.option, body=_text(case.body))
                for case in comparison.use_cases
            ],
            "bottom_line": _text(comparison.bottom_line),
        }
    )


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
    return ComparisonList(
        items=[
            ComparisonSummary.model_validate({**_summary(c, url), "options": list(c.option_names)})
            for c in found.items
        ],
        next=following,
    )


@router.get(
    "/comparisons/{slug}",
    response_model=ComparisonDetail,
    responses={404: {"model": ErrorOut, "description": "No published comparison has this slug."}},
)
def get_comparison(slug: str, site: SiteDep) -> ComparisonDetail:
    """One published comparison: options with pros and cons, verdict, bottom line and pick."""
    comparison = site.library.comparisons.get(slug)
    if comparison is None or not site.is_visible(comparison):
        raise HTTPException(status_code=404, detail=f"no comparison {slug!r}")
    return detail(comparison, site.settings.site_url)
