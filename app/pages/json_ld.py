"""What the pages tell search engines in ``<script type="application/ld+json">``: schema.org
markup for a comparison and for a category's leaderboard, and the plain text it quotes."""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from app.content.model import Author, Comparison, Option
from app.content.profiles import Profile
from app.pages.navigation import leaderboard
from app.render.markup import cached_markdown, is_plain

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t]+")


@functools.lru_cache(maxsize=2048)
def plain_text(markdown_source: str) -> str:
    """Editor Markdown as plain text: rendered (so escapes resolve), then tags dropped.

    Kept for the last few thousand parts: a page asks for each of its items' text twice (its
    ``Text`` and its JSON-LD)."""
    if is_plain(markdown_source):
        # Rendered as itself in a paragraph: no tag, entity, tab, double space or line
        # break to take out, nor a space at either end (tests/test_render_plain.py).
        return markdown_source
    rendered = str(cached_markdown(markdown_source, False))  # the key the page's own is kept by
    rendered = re.sub(r"</(p|li|h\d|pre|blockquote|tr)>", "\n", rendered)
    text = html.unescape(_TAG.sub("", rendered))
    lines = (_SPACE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def script_json(data: Any) -> Markup:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` as \\u escapes, still valid JSON."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # U+2028/9 are legal in JSON but end a line in older JavaScript parsers.
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def _notes(items: Sequence[str]) -> dict[str, Any]:
    return {
        "@type": "ItemList",
        "itemListElement": [
            {"@type": "ListItem", "position": position, "name": plain_text(item)}
            for position, item in enumerate(items, start=1)
        ],
    }


def person(author: Author, site_url: str) -> dict[str, Any]:
    """A writer as a schema.org Person: their page here, their own site as ``sameAs``."""
    found: dict[str, Any] = {
        "@type": "Person",
        "name": author.name,
        "url": f"{site_url}/author/{author.slug}",
        "jobTitle": author.role,
    }
    if author.url:
        found["sameAs"] = author.url
    return found


def comparison_json_ld(
    comparison: Comparison,
    *,
    site_url: str,
    site_name: str,
    profiles: Mapping[str, Profile] | None = None,
    authors: Sequence[Author] = (),
) -> dict[str, Any]:
    """schema.org markup: a Review whose verdict is the pick, one Review per option with
    ``positiveNotes``/``negativeNotes`` (the form search engines read for editorial pros and
    cons), and the options as an ItemList. An option with a profile is reviewed under the
    profile's name, with its homepage as ``sameAs``. The writers are its ``author`` (else
    the site) and the sources its ``citation``."""
    profiles = profiles or {}
    url = f"{site_url}/compare/{comparison.slug}"
    publisher = {"@type": "Organization", "name": site_name, "url": f"{site_url}/"}
    written_by: Any = [person(a, site_url) for a in authors] if authors else publisher
    citations = [
        {"@type": "CreativeWork", "name": source.title, "url": source.url}
        for source in comparison.sources
    ]
    dates = {
        "datePublished": comparison.published.isoformat(),
        "dateModified": comparison.last_modified.isoformat(),
    }

    def option_thing(option: Option) -> dict[str, Any]:
        thing = {
            "@type": "Thing",
            "@id": f"{url}#option-{option.slug}",
            "name": option.name,
            "url": f"{site_url}/option/{option.slug}",
            "description": plain_text(option.description),
        }
        profile = profiles.get(option.slug)
        if profile is not None:
            thing["name"] = profile.name
            thing["sameAs"] = profile.homepage
        return thing

    option_reviews = [
        {
            "@type": "Review",
            "@id": f"{url}#review-{option.slug}",
            "name": f"{option.name}: pros and cons",
            "url": f"{url}#opt-{option.slug}",
            "itemReviewed": option_thing(option),
            "positiveNotes": _notes(option.pros),
            "negativeNotes": _notes(option.cons),
            "author": written_by,
            **dates,
        }
        for option in comparison.options
    ]
    pick = comparison.pick_option
    return {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "Review",
                "@id": f"{url}#review",
                "name": comparison.title,
                "headline": comparison.title,
                "url": url,
                "description": comparison.summary,
                "inLanguage": "en",
                "articleSection": comparison.category,
                "keywords": ", ".join(comparison.tags),
                "itemReviewed": {"@id": f"{url}#option-{pick.slug}"},
                "reviewBody": plain_text(comparison.bottom_line),
                "positiveNotes": _notes(pick.pros),
                "negativeNotes": _notes(pick.cons),
                "hasPart": [{"@id": review["@id"]} for review in option_reviews],
                "about": {"@id": f"{url}#options"},
                "image": f"{site_url}/og/{comparison.slug}.png",
                "author": written_by,
                "publisher": publisher,
                **({"citation": citations} if citations else {}),
                **dates,
            },
            {
                "@type": "ItemList",
                "@id": f"{url}#options",
                "name": comparison.title,
                "numberOfItems": len(comparison.options),
                "itemListElement": [
                    {"@type": "ListItem", "position": position, "item": option_thing(option)}
                    for position, option in enumerate(comparison.options, start=1)
                ],
            },
            *option_reviews,
        ],
    }


def category_json_ld(
    category_slug: str, comparisons: Sequence[Comparison], *, site_url: str
) -> dict[str, Any] | None:
    """The leaderboard of a category as a schema.org ItemList, best option first."""
    board = leaderboard(category_slug, comparisons)
    if board is None:
        return None
    return {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "name": f"Best {board.category}",
        "url": f"{site_url}/best/{category_slug}",
        "itemListOrder": "https://schema.org/ItemListOrderDescending",
        "numberOfItems": len(board.standings),
        "itemListElement": [
            {
                "@type": "ListItem",
                "position": position,
                "name": standing.name,
                "url": f"{site_url}/option/{standing.slug}",
            }
            for position, standing in enumerate(board.standings, start=1)
        ],
    }
