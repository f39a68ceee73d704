"""Pages about the site rather than one comparison: a writer's page (``/author/<slug>``),
a plain page such as ``/about``, and the indexes of every tag and every category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from app.content.model import Author, Comparison, slugify
from app.content.people import TextPage
from app.pages.base import ComparisonSummary, Text, summary, text, twin_path
from app.pages.comparison import AuthorOut, author_out

# --- /author/<slug> -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorPage:
    TEMPLATE: ClassVar[str] = "author.html"

    author: Author
    comparisons: tuple[Comparison, ...]  # visible ones naming the author, newest first
    canonical: str
    json_url: str
    site_url: str

    def as_json(self) -> AuthorJson:
        return AuthorJson(
            **dict(author_out(self.author, self.site_url)),
            bio=text(self.author.bio),
            items=[summary(c, self.site_url) for c in self.comparisons],
        )


class AuthorJson(AuthorOut):
    bio: Text
    items: list[ComparisonSummary] = Field(description="The comparisons they wrote, newest first.")


def author_page(
    slug: str,
    *,
    authors: Mapping[str, Author],
    visible: Sequence[Comparison],
    site_url: str,
) -> AuthorPage | None:
    """A writer's page, or None when no ``content/authors/<slug>.md`` was loaded."""
    author = authors.get(slug)
    if author is None:
        return None
    path = f"/author/{slug}"
    return AuthorPage(
        author=author,
        comparisons=tuple(c for c in visible if slug in c.authors),
        canonical=f"{site_url}{path}",
        json_url=twin_path(path),
        site_url=site_url,
    )


# --- /about and other plain pages -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProsePage:
    TEMPLATE: ClassVar[str] = "prose.html"

    page: TextPage
    canonical: str
    json_url: str

    def as_json(self) -> ProseJson:
        return ProseJson(
            slug=self.page.slug,
            title=self.page.title,
            summary=self.page.summary,
            url=self.canonical,
            body=text(self.page.body),
        )


class ProseJson(BaseModel):
    slug: str
    title: str
    summary: str
    url: str
    body: Text


def prose_page(slug: str, *, pages: Mapping[str, TextPage], site_url: str) -> ProsePage | None:
    """``content/pages/<slug>.md`` at ``/<slug>``, or None when there is no such file."""
    found = pages.get(slug)
    if found is None:
        return None
    return ProsePage(page=found, canonical=f"{site_url}/{slug}", json_url=twin_path(f"/{slug}"))


# --- /tags and /categories --------------------------------------------------------------------

IndexKind = Literal["tag", "category"]


@dataclass(frozen=True, slots=True)
class IndexEntry:
    slug: str
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class IndexPage:
    TEMPLATE: ClassVar[str] = "index_list.html"

    kind: IndexKind
    title: str  # "Tags" or "Categories"
    entries: tuple[IndexEntry, ...]  # most comparisons first, then by name
    canonical: str
    json_url: str
    site_url: str

    def as_json(self) -> IndexJson:
        return IndexJson(
            kind=self.kind,
            title=self.title,
            url=self.canonical,
            items=[
                IndexEntryOut(
                    slug=e.slug,
                    name=e.name,
                    count=e.count,
                    url=f"{self.site_url}/{self.kind}/{e.slug}",
                )
                for e in self.entries
            ],
        )


class IndexEntryOut(BaseModel):
    slug: str
    name: str
    count: int = Field(description="Visible comparisons listed on its page.")
    url: str


class IndexJson(BaseModel):
    kind: IndexKind
    title: str
    url: str
    items: list[IndexEntryOut]


def index_page(
    kind: IndexKind, *, grouped: Mapping[str, Sequence[Comparison]], site_url: str
) -> IndexPage:
    """Every tag (or category) with how many visible comparisons its page lists."""
    entries = []
    for slug, comparisons in grouped.items():
        if kind == "category":
            name = comparisons[0].category
        else:
            name = next((t for c in comparisons for t in c.tags if slugify(t) == slug), slug)
        entries.append(IndexEntry(slug, name, len(comparisons)))
    entries.sort(key=lambda e: (-e.count, e.name.casefold()))
    path = "/tags" if kind == "tag" else "/categories"
    return IndexPage(
        kind=kind,
        title="Tags" if kind == "tag" else "Categories",
        entries=tuple(entries),
        canonical=f"{site_url}{path}",
        json_url=twin_path(path),
        site_url=site_url,
    )
