"""Category and tag pages: every visible comparison with one category or tag, 24 a page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel

from app.content.model import Comparison, slugify
from app.pages.base import ComparisonSummary, PageOut, page_out, page_url, summary, twin_path
from app.pages.navigation import Page, paginate

Kind = Literal["category", "tag"]


@dataclass(frozen=True, slots=True)
class Listing:
    """One listing: what it lists, and its title."""

    kind: Kind
    slug: str
    title: str
    comparisons: Sequence[Comparison]


@dataclass(frozen=True, slots=True)
class ListingPage:
    TEMPLATE: ClassVar[str] = "listing.html"

    listing: Listing
    page: Page[Comparison]
    base: str  # the page-1 path, for the pager
    canonical: str
    json_url: str
    site_url: str

    def as_json(self) -> ListingJson:
        listing = self.listing
        return ListingJson(
            kind=listing.kind,
            slug=listing.slug,
            title=listing.title,
            url=self.canonical,
            page=page_out(self.page, self.site_url, self.base),
            items=[summary(c, self.site_url) for c in self.page.items],
        )


class ListingJson(BaseModel):
    kind: Kind
    slug: str
    title: str
    url: str
    page: PageOut
    items: list[ComparisonSummary]


def listing(kind: Kind, slug: str, grouped: Mapping[str, Sequence[Comparison]]) -> Listing | None:
    """The listing of one category or tag slug among comparisons grouped by ``kind``."""
    comparisons = grouped.get(slug)
    if not comparisons:
        return None
    if kind == "category":
        title = comparisons[0].category
    else:
        # A tag's own spelling when a page lists it; a Related term is known by its slug.
        title = next((t for c in comparisons for t in c.tags if slugify(t) == slug), slug)
    return Listing(kind, slug, title, comparisons)


def build(
    kind: Kind,
    slug: str,
    number: int,
    *,
    grouped: Mapping[str, Sequence[Comparison]],
    site_url: str,
) -> ListingPage | None:
    """Page ``number`` of a category or tag; None for an unknown slug or a page past the end."""
    found = listing(kind, slug, grouped)
    page = paginate(found.comparisons, number) if found is not None else None
    if found is None or page is None:
        return None
    base = f"/{kind}/{slug}"
    return ListingPage(
        listing=found,
        page=page,
        base=base,
        canonical=page_url(site_url, base, number),
        json_url=page_url("", twin_path(base), number),
        site_url=site_url,
    )
