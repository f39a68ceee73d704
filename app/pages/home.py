"""The home page: category blocks, newest category first, 24 categories a page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, Field

from app.content.library import category_name
from app.content.model import Comparison
from app.pages.base import ComparisonSummary, PageOut, page_out, page_url, summary, twin_path
from app.pages.navigation import Page, paginate

CARDS_PER_CATEGORY = 6  # index.html shows this many, then "All N in ..."


@dataclass(frozen=True, slots=True)
class CategoryBlock:
    name: str
    slug: str
    comparisons: Sequence[Comparison]


@dataclass(frozen=True, slots=True)
class HomePage:
    TEMPLATE: ClassVar[str] = "index.html"

    page: Page[CategoryBlock]
    base: str
    total: int
    canonical: str
    json_url: str
    site_url: str

    def as_json(self) -> HomeJson:
        return HomeJson(
            total=self.total,
            url=self.canonical,
            page=page_out(self.page, self.site_url, self.base),
            categories=[
                CategoryBlockOut(
                    name=block.name,
                    slug=block.slug,
                    url=f"{self.site_url}/category/{block.slug}",
                    count=len(block.comparisons),
                    items=[
                        summary(c, self.site_url) for c in block.comparisons[:CARDS_PER_CATEGORY]
                    ],
                )
                for block in self.page.items
            ],
        )


class CategoryBlockOut(BaseModel):
    name: str
    slug: str
    url: str
    count: int = Field(description="Comparisons in the category.")
    items: list[ComparisonSummary] = Field(description="The newest few, as the page shows.")


class HomeJson(BaseModel):
    total: int = Field(description="Visible comparisons on the whole site.")
    url: str
    page: PageOut
    categories: list[CategoryBlockOut]


def build(
    number: int,
    *,
    visible: Sequence[Comparison],
    by_category: Mapping[str, Sequence[Comparison]],
    site_url: str,
) -> HomePage | None:
    """Page ``number`` of the home page; None past the end."""
    blocks = sorted(
        (
            CategoryBlock(category_name(items, slug) or slug, slug, items)
            for slug, items in by_category.items()
        ),
        key=lambda block: block.comparisons[0].published,
        reverse=True,
    )
    page = paginate(blocks, number)
    if page is None:
        return None
    return HomePage(
        page=page,
        base="/",
        total=len(visible),
        canonical=page_url(site_url, "/", number),
        json_url=page_url("", twin_path("/"), number),
        site_url=site_url,
    )
