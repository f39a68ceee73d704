"""Option pages: every visible comparison that includes one option, and how often it wins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, Field

from app.content.model import Comparison
from app.pages.base import ComparisonSummary, PageOut, page_out, page_url, summary, twin_path
from app.pages.navigation import OptionPage, Page, option_page, paginate


@dataclass(frozen=True, slots=True)
class OptionPageContext:
    TEMPLATE: ClassVar[str] = "option.html"

    option: OptionPage
    page: Page[Comparison]
    base: str
    canonical: str
    json_url: str
    site_url: str

    def as_json(self) -> OptionJson:
        option = self.option
        return OptionJson(
            slug=option.slug,
            name=option.name,
            url=self.canonical,
            appearances=len(option.comparisons),
            wins=option.wins,
            win_rate=option.win_rate,
            page=page_out(self.page, self.site_url, self.base),
            items=[summary(c, self.site_url) for c in self.page.items],
        )


class OptionJson(BaseModel):
    slug: str
    name: str
    url: str
    appearances: int = Field(description="Visible comparisons that include the option.")
    wins: int = Field(description="Of those, how many pick it.")
    win_rate: float
    page: PageOut
    items: list[ComparisonSummary]


def build(
    slug: str, number: int, *, including: Sequence[Comparison], site_url: str
) -> OptionPageContext | None:
    """Page ``number`` of an option among the comparisons naming it; None if none or past end."""
    found = option_page(slug, including)
    page = paginate(found.comparisons, number) if found is not None else None
    if found is None or page is None:
        return None
    base = f"/option/{slug}"
    return OptionPageContext(
        option=found,
        page=page,
        base=base,
        canonical=page_url(site_url, base, number),
        json_url=page_url("", twin_path(base), number),
        site_url=site_url,
    )
