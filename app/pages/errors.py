"""Error pages: the styled 404 (recent comparisons, every category) and any other status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel

from app.content.model import Comparison
from app.pages.base import ComparisonSummary, ErrorOut, summary

RECENT = 6


@dataclass(frozen=True, slots=True)
class NotFoundPage:
    TEMPLATE: ClassVar[str] = "404.html"

    recent: tuple[Comparison, ...]
    categories: tuple[tuple[str, str], ...]  # (name, slug), by name
    site_url: str
    json_url: str = ""  # a page that is not there has no twin

    def as_json(self) -> NotFoundJson:
        return NotFoundJson(
            detail="not found", recent=[summary(c, self.site_url) for c in self.recent]
        )


class NotFoundJson(BaseModel):
    detail: str
    recent: list[ComparisonSummary]


@dataclass(frozen=True, slots=True)
class ErrorPage:
    TEMPLATE: ClassVar[str] = "error.html"

    status: int
    message: str
    json_url: str = ""

    def as_json(self) -> ErrorOut:
        return ErrorOut(detail=self.message)


def not_found(
    *,
    visible: Sequence[Comparison],
    by_category: Mapping[str, Sequence[Comparison]],
    site_url: str,
) -> NotFoundPage:
    return NotFoundPage(
        recent=tuple(visible[:RECENT]),
        categories=tuple(sorted((items[0].category, slug) for slug, items in by_category.items())),
        site_url=site_url,
    )


def error(status: int, message: str) -> ErrorPage:
    return ErrorPage(status=status, message=message)


@dataclass(frozen=True, slots=True)
class ProblemExcerpt:
    """One error of a content file, with the lines around it: ``(number, text, is_it)``."""

    path: str
    line: int
    column: int
    severity: str
    message: str
    excerpt: tuple[tuple[int, str, bool], ...]


@dataclass(frozen=True, slots=True)
class BrokenFilePage:
    """Live preview only: the page of a file that stopped parsing shows why."""

    TEMPLATE: ClassVar[str] = "preview_error.html"

    source: str
    problems: tuple[ProblemExcerpt, ...]
