"""Leaderboards (``/best/<category>``): a category's options ranked by how often we pick them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from markupsafe import Markup
from pydantic import BaseModel, Field

from app.content.model import Comparison
from app.pages.base import twin_path
from app.pages.json_ld import category_json_ld, script_json
from app.pages.navigation import Leaderboard, leaderboard


@dataclass(frozen=True, slots=True)
class BestPage:
    TEMPLATE: ClassVar[str] = "best.html"

    board: Leaderboard
    json_ld: Markup
    canonical: str
    json_url: str
    site_url: str

    def as_json(self) -> BestJson:
        board = self.board
        return BestJson(
            category=board.category,
            category_slug=board.category_slug,
            url=self.canonical,
            comparisons=len(board.comparisons),
            standings=[
                StandingOut(
                    rank=s.rank,
                    slug=s.slug,
                    name=s.name,
                    wins=s.wins,
                    appearances=s.appearances,
                    win_rate=s.win_rate,
                    group=s.group,
                    url=f"{self.site_url}/option/{s.slug}",
                )
                for s in board.standings
            ],
        )


class StandingOut(BaseModel):
    rank: int = Field(description="Rank within its group; ties share a rank.")
    group: int = Field(
        description="Options ranked together: compared with each other, directly or through "
        "a shared rival. Groups are not ranked against each other."
    )
    slug: str
    name: str
    wins: int
    appearances: int
    win_rate: float
    url: str


class BestJson(BaseModel):
    category: str
    category_slug: str
    url: str
    comparisons: int = Field(description="Visible comparisons in the category.")
    standings: list[StandingOut]


def build(category_slug: str, *, visible: Sequence[Comparison], site_url: str) -> BestPage | None:
    board = leaderboard(category_slug, visible)
    if board is None:
        return None
    path = f"/best/{category_slug}"
    json_ld = category_json_ld(category_slug, visible, site_url=site_url)
    return BestPage(
        board=board,
        json_ld=script_json(json_ld),
        canonical=f"{site_url}{path}",
        json_url=twin_path(path),
        site_url=site_url,
    )
