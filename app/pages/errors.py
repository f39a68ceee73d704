"""Error pages: the styled 404 (recent comparisons, every category) and any other status."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel

from app.content.library import Library
from app.content.model import Comparison, Problem
from app.content.reading import read_content_text
from app.pages.base import ComparisonSummary, ErrorOut, summary

RECENT = 6
CONTEXT_LINES = 3  # lines shown either side of a broken file's error


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


def broken_file(library: Library, slug: str) -> BrokenFilePage | None:
    """The file behind ``/compare/<slug>`` when it has errors, each with the lines around it."""
    source = library.source_for_slug(slug)
    if source is None:
        return None
    errors = [p for p in library.problems_for(source.path) if p.severity == "error"]
    if not errors:
        return None
    # The content reader: a link (to the data folder's secret, say) or a pipe is not shown.
    text = read_content_text(source.path)
    lines = text.splitlines() if text is not None else []
    return BrokenFilePage(
        source=source.display, problems=tuple(_with_excerpt(p, lines) for p in errors)
    )


def _with_excerpt(problem: Problem, lines: list[str]) -> ProblemExcerpt:
    return ProblemExcerpt(
        path=problem.path,
        line=problem.line,
        column=problem.column,
        severity=problem.severity,
        message=problem.message,
        excerpt=tuple(excerpt(lines, problem.line)),
    )


def excerpt(lines: list[str], line: int) -> Iterator[tuple[int, str, bool]]:
    """``(number, text, is_the_line)`` for the line and ``CONTEXT_LINES`` either side."""
    first = max(1, line - CONTEXT_LINES)
    last = min(len(lines), line + CONTEXT_LINES)
    for number in range(first, last + 1):
        yield number, lines[number - 1], number == line
