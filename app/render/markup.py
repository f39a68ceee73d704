"""Editor Markdown to safe HTML: one part of a comparison at a time, bounded in cost.

Editors' Markdown is untrusted as far as HTML goes: Python-Markdown's raw-HTML handling is
switched off (so ``<buckets>`` shows as text) and its output goes through nh3, which keeps
only our tags and http(s), mailto and relative links.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element, SubElement

import markdown
import nh3
from markdown.inlinepatterns import InlineProcessor
from markupsafe import Markup

from app.content.markdown_limits import (
    MAX_BREAKS,
    MAX_NESTING,
    MAX_PART_CHARS,
    scan_budget,
    too_deep,
    too_many_breaks,
)

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h3", "h4", "h5", "h6", "hr",
    "i", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}}
_URL_SCHEMES = {"http", "https", "mailto"}


class _ScanBudget:
    """How many more characters this rendering's "]" and ")" searches may read."""

    remaining = 0


_LINK_PATTERNS = (
    "reference", "link", "image_link", "image_reference", "short_reference", "short_image_ref",
)  # fmt: skip


class _SourceReference(InlineProcessor):
    """``[^n]`` -> a superscript link to the n-th entry of the page's Sources list.

    Not Python-Markdown's footnotes extension: our notes are the front matter's ``sources``
    (numbered, with a title, URL and date), not definitions written in the text, and the
    extension's ids and back-links would not pass the sanitizer's attribute list anyway.
    Code spans and blocks are untouched: their patterns run first.
    """

    def handleMatch(  # type: ignore[override]  # noqa: N802 (the stubs give Pattern's form)
        self, m: re.Match[str], data: str
    ) -> tuple[Element, int, int]:
        number = m.group(1)
        sup = Element("sup")
        link = SubElement(sup, "a", {"href": f"#source-{number}", "title": f"Source {number}"})
        link.text = f"[{number}]"
        return sup, m.start(0), m.end(0)


def _new_markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"])
    # Above "reference" (170), which would read "[^1]" as a link label.
    md.inlinePatterns.register(_SourceReference(r"\[\^([0-9]{1,4})\]", md), "source_ref", 175)
    # Python-Markdown passes raw HTML through; without these two, "<x>" stays literal text.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    # Each "[" is searched forward for its "]" (and each "](" for its ")") through the rest
    # of the paragraph: quadratic, 90 s for twenty thousand "[". The parser refuses such
    # parts (app.content.markdown_limits); here, as a safety net, the searches of one
    # rendering share a budget, and past it a "[" stays text, so the work stays linear.
    budget = _ScanBudget()
    for name in _LINK_PATTERNS:
        if name in md.inlinePatterns:
            _limit_scans(md.inlinePatterns[name], budget)
    md.scan_budget = budget  # type: ignore[attr-defined]
    return md


def _limit_scans(pattern: Any, budget: _ScanBudget) -> None:
    """Make ``pattern``'s bracket searches (``getText``, ``getLink``) draw on ``budget``."""
    get_text: Callable[[str, int], tuple[str, int, bool]] = pattern.getText
    get_link: Callable[[str, int], tuple[str, str | None, int, bool]] = pattern.getLink

    def limited_text(data: str, index: int) -> tuple[str, int, bool]:
        if budget.remaining <= 0:
            return "", index, False
        text, end, handled = get_text(data, index)
        budget.remaining -= end - index
        return text, end, handled

    def limited_link(data: str, index: int) -> tuple[str, str | None, int, bool]:
        if budget.remaining <= 0:
            return "", None, index, False
        href, title, end, handled = get_link(data, index)
        budget.remaining -= max(end - index, 1)
        return href, title, end, handled

    pattern.getText = limited_text
    pattern.getLink = limited_link


_local = threading.local()
log = logging.getLogger(__name__)


# One line of words and punctuation with no character Markdown or HTML gives a meaning to
# (no * _ ` [ ] ! < > & # | ~ \\, no newline, starting with a letter so it cannot open a list,
# heading or code block): Python-Markdown renders it as the same text in a paragraph. Most
# pros and cons are such lines; a comparison page has ~50 of them, and skipping the parser
# for them makes a first render ~3x faster (tests/test_render_plain.py checks the equality).
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ,.;:'\"?%/()=+-]*")


# What a part that cannot be rendered shows instead: its page, the feed and the build go on.
_NOTICE = '<p class="render-error">This part could not be shown; the editors have been told.</p>'


def markdown_to_html(source: str, *, inline: bool = False) -> Markup:
    """Render editor Markdown to safe HTML; ``inline`` drops the wrapping paragraph.

    A part beyond the bounds ``nicepick check`` enforces (size, nesting), or one that fails
    to render at all, becomes a notice, logged: one bad part never fails its page, the
    feed, the API or the build.
    """
    if is_plain(source):
        return Markup(source if inline else f"<p>{source}</p>")
    refused = _beyond_bounds(source)
    if refused is not None:
        log.error("Markdown not rendered (%s): %.60r", refused, source)
        return Markup(_NOTICE)
    md: markdown.Markdown | None = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _new_markdown()
    md.scan_budget.remaining = scan_budget(len(source))  # type: ignore[attr-defined]
    try:
        html = md.reset().convert(source)
    except Exception:  # RecursionError and whatever else a parser bug may raise
        # The instance may be left half-reset (a RecursionError once made every later
        # rendering on that thread return garbage): build a new one next time.
        _local.md = None
        log.exception("Markdown failed to render: %.60r", source)
        return Markup(_NOTICE)
    if inline and html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    return Markup(clean)


@functools.lru_cache(maxsize=4096)
def cached_markdown(source: str, inline: bool = False) -> Markup:
    """``markdown_to_html``, kept for the last 4,096 parts: a comparison's page, its JSON
    twin and its JSON-LD render the same parts, and its option pages its pros and cons
    again (Python-Markdown takes ~0.1-1 ms for a part with a link or code)."""
    return markdown_to_html(source, inline=inline)


def is_plain(source: str) -> bool:
    """Whether ``source`` renders as itself (in a paragraph unless inline): ``_PLAIN``."""
    return _PLAIN.fullmatch(source) is not None and "  " not in source and source[-1] != " "


def _beyond_bounds(source: str) -> str | None:
    """Why ``source`` exceeds the Markdown bounds, or None."""
    if len(source) > MAX_PART_CHARS:
        return f"{len(source):,} characters, over {MAX_PART_CHARS:,}"
    deep = too_deep(enumerate(source.splitlines(), start=1))
    if deep is not None:
        return f"nested {deep[2]} levels, over {MAX_NESTING}"
    breaks = too_many_breaks(enumerate(source.splitlines(), start=1))
    if breaks is not None:
        return f"{breaks[2]:,} headings and rules, over {MAX_BREAKS}"
    return None
