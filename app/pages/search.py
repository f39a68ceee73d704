"""The search page: results for the reader's words, or popular categories when there are none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlencode

from markupsafe import Markup
from pydantic import BaseModel, Field

from app.content.model import Comparison
from app.pages.base import ComparisonSummary, Text, summary, summary_values
from app.pages.navigation import Category


@dataclass(frozen=True, slots=True)
class SearchPage:
    TEMPLATE: ClassVar[str] = "search.html"

    query: str
    results: tuple[tuple[Comparison, Markup], ...]  # (comparison, snippet with <mark>s)
    number: int
    has_next: bool
    categories: tuple[Category, ...]  # popular categories: no words, or nothing found
    recent: tuple[Comparison, ...]  # the newest comparisons, shown when nothing is found
    json_url: str
    site_url: str

    def as_json(self) -> SearchJson:
        return SearchJson(
            query=self.query,
            number=self.number,
            next=search_url(self.site_url + "/search.json", self.query, self.number + 1)
            if self.has_next
            else None,
            results=[
                SearchHit(
                    **summary_values(c, self.site_url),
                    snippet=Text(html=str(snippet), text=snippet.striptags()),
                )
                for c, snippet in self.results
            ],
            categories=[
                CategoryOut(slug=c.slug, name=c.name, count=c.count, url=self._category(c))
                for c in self.categories
            ],
            recent=[summary(c, self.site_url) for c in self.recent],
        )

    def _category(self, category: Category) -> str:
        return f"{self.site_url}/category/{category.slug}"


class SearchHit(ComparisonSummary):
    snippet: Text = Field(description="The words around the match; ``<mark>`` in the HTML.")


class CategoryOut(BaseModel):
    slug: str
    name: str
    count: int
    url: str


class SearchJson(BaseModel):
    query: str
    number: int = Field(description="Page number, from 1.")
    next: str | None = Field(description="URL of the next page; null on the last.")
    results: list[SearchHit]
    categories: list[CategoryOut] = Field(
        description="Popular categories (a query with no words, or one that found nothing)."
    )
    recent: list[ComparisonSummary] = Field(
        description="The newest comparisons (a query that found nothing)."
    )


def search_url(path: str, query: str, number: int) -> str:
    params = {"q": query} | ({"page": str(number)} if number > 1 else {})
    return f"{path}?{urlencode(params)}"


def build(
    query: str,
    number: int,
    *,
    results: Sequence[tuple[Comparison, Markup]],
    has_next: bool,
    popular: Sequence[Category],
    recent: Sequence[Comparison] = (),
    site_url: str,
) -> SearchPage:
    """``results`` for a query with words; ``popular`` categories for one without; both, and
    the ``recent`` comparisons, for one that found nothing."""
    return SearchPage(
        query=query,
        results=tuple(results),
        number=number,
        has_next=has_next,
        categories=tuple(popular),
        recent=tuple(recent),
        json_url=search_url("/search.json", query, number),
        site_url=site_url,
    )
