"""What every page shares: the context protocol, rendering, and the JSON pieces of a page.

A page is a frozen dataclass built by a plain function from explicit inputs. It names its
template (``TEMPLATE``), its JSON twin's URL (``json_url``) and how it reads as data
(``as_json``). The HTML and the JSON are both rendered from that one value, so they cannot
say different things; tests assert the context as well as the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import date
from typing import Any, ClassVar, Protocol

from jinja2 import Environment
from pydantic import BaseModel, Field

from app.content.model import Comparison
from app.pages.json_ld import plain_text
from app.pages.navigation import Page
from app.render.markup import cached_markdown, is_plain


class Templated(Protocol):
    """A typed context that fills one template."""

    TEMPLATE: ClassVar[str]


class PageContext(Templated, Protocol):
    """A page's typed context: the template it fills, and its JSON twin."""

    @property
    def json_url(self) -> str: ...

    def as_json(self) -> BaseModel: ...


def template_values(context: object) -> dict[str, Any]:
    """The context's fields as Jinja names (shallow: comparisons stay objects)."""
    return {field.name: getattr(context, field.name) for field in fields(context)}  # type: ignore[arg-type]


def render_html(
    env: Environment, context: Templated, shared: Mapping[str, Any] | None = None
) -> bytes:
    """Template + context -> bytes. ``shared``: what ``base.html`` shows on every page (the
    header's categories), the same for every page of one content version."""
    template = env.get_template(context.TEMPLATE)
    return template.render({**(shared or {}), **template_values(context)}).encode("utf-8")


def render_json(context: PageContext) -> bytes:
    """The JSON twin: the same context, as its pydantic model reads it."""
    return context.as_json().model_dump_json().encode("utf-8")


def page_url(site_url: str, path: str, number: int = 1) -> str:
    """The canonical URL of page ``number`` of a paginated page (page 1 has no ``?page``)."""
    return f"{site_url}{path}" + (f"?page={number}" if number > 1 else "")


def twin_path(path: str) -> str:
    """``/compare/x`` -> ``/compare/x.json``; the home page ``/`` -> ``/.json``."""
    return "/.json" if path == "/" else f"{path}.json"


# --- JSON pieces ------------------------------------------------------------------------------


class Text(BaseModel):
    """Editor Markdown rendered two ways."""

    html: str = Field(description="Sanitised HTML.")
    text: str = Field(description="Plain text, one line per paragraph or item.")


def text(markdown: str, *, inline: bool = False) -> Text:
    if is_plain(markdown):
        # Renders as itself (``markdown_to_html``, ``plain_text``): one look instead of two,
        # and no cache entry for the 70,000 pros and cons an export's option pages repeat.
        return Text(html=markdown if inline else f"<p>{markdown}</p>", text=markdown)
    return Text(html=str(cached_markdown(markdown, inline)), text=plain_text(markdown))


class ComparisonFacts(BaseModel):
    """What every reading of a comparison carries, short or whole."""

    slug: str
    title: str
    category: str
    category_slug: str
    summary: str
    pick: str = Field(description="Name of the option we pick.")
    tags: list[str]
    published: date
    updated: date | None
    checked: date | None = Field(description="When the facts were last verified.")
    draft: bool = Field(description="True only on a preview server showing drafts.")
    url: str = Field(description="Canonical page URL.")
    api_url: str = Field(description="This comparison in the API.")


class ComparisonSummary(ComparisonFacts):
    """One comparison as a card shows it (and as the API lists it)."""

    options: list[str] = Field(description="Option names, in page order.")


def facts_values(comparison: Comparison, site_url: str) -> dict[str, Any]:
    """``ComparisonFacts``' fields of ``comparison``: a model holding them and more (a card,
    a page's JSON) is made from these at once, not from a ``ComparisonFacts`` made first
    (validating each value twice was half of a related card's cost in an export)."""
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
        "checked": comparison.checked,
        "draft": comparison.draft,
        "url": f"{site_url}/compare/{comparison.slug}",
        "api_url": f"{site_url}/api/comparisons/{comparison.slug}",
    }


def facts(comparison: Comparison, site_url: str) -> ComparisonFacts:
    return ComparisonFacts(**facts_values(comparison, site_url))


def summary(comparison: Comparison, site_url: str) -> ComparisonSummary:
    return ComparisonSummary(**summary_values(comparison, site_url))


def summary_values(comparison: Comparison, site_url: str) -> dict[str, Any]:
    """``ComparisonSummary``'s fields of ``comparison``, for a model holding them and more
    (as ``facts_values``)."""
    return {**facts_values(comparison, site_url), "options": list(comparison.option_names)}


class ErrorOut(BaseModel):
    detail: str


class PageOut(BaseModel):
    """Where this page stands in a paginated list."""

    number: int
    pages: int
    total: int = Field(description="Items over all pages.")
    prev: str | None = Field(description="URL of the previous page's JSON; null on page 1.")
    next: str | None = Field(description="URL of the next page's JSON; null on the last page.")


def page_out(page: Page[Any], site_url: str, path: str) -> PageOut:
    twin = twin_path(path)
    return PageOut(
        number=page.number,
        pages=page.pages,
        total=page.total,
        prev=page_url(site_url, twin, page.number - 1) if page.has_prev else None,
        next=page_url(site_url, twin, page.number + 1) if page.has_next else None,
    )
