"""Markdown and Jinja: comparisons and listings to HTML bytes, each rendered once and kept.

Editors' Markdown is untrusted as far as HTML goes: Python-Markdown's raw-HTML handling is
switched off (so ``<buckets>`` shows as text) and its output goes through nh3, which keeps
only our tags and http(s), mailto and relative links.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from functools import lru_cache
from pathlib import Path
from typing import Any

import markdown
import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from app.content.markdown_limits import MAX_NESTING, MAX_PART_CHARS, scan_budget, too_deep
from app.content.model import Comparison, slugify
from app.render import template_cache
from app.render.cached_page import CachedPage

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


def _new_markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"])
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
    if _PLAIN.fullmatch(source) and "  " not in source and not source.endswith(" "):
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


def _beyond_bounds(source: str) -> str | None:
    """Why ``source`` exceeds the Markdown bounds, or None."""
    if len(source) > MAX_PART_CHARS:
        return f"{len(source):,} characters, over {MAX_PART_CHARS:,}"
    deep = too_deep(enumerate(source.splitlines(), start=1))
    if deep is not None:
        return f"nested {deep[2]} levels, over {MAX_NESTING}"
    return None


@lru_cache(maxsize=4096)
def _cached_markdown(source: str, inline: bool) -> Markup:
    return markdown_to_html(source, inline=inline)


def build_environment(
    templates_dir: Path, *, auto_reload: bool, bytecode_dir: Path | None = None
) -> Environment:
    """Our templates' environment; with ``bytecode_dir``, compiled templates are kept there
    between starts (``app.render.template_cache``)."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        auto_reload=auto_reload,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    if bytecode_dir is not None:
        template_cache.attach(env, bytecode_dir)
    env.filters["markdown"] = lambda text: _cached_markdown(text or "", False)
    env.filters["markdown_inline"] = lambda text: _cached_markdown(text or "", True)
    env.filters["slugify"] = slugify
    return env


# Misses (a render that returns no bytes: an unknown slug, a page number past the end) are
# remembered apart from pages, because their keys are whatever a client typed. nginx's
# proxy_cache does the same with its keys zone: a miss costs a fixed-size digest of its key
# (nginx: an MD5 in ``keys_zone``, "one megabyte zone can store about 8 thousand keys",
# https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_cache_path), never the key
# itself, and the zone holds a fixed number of them. 4,096 digests take about 0.6 MB.
MISS_ENTRIES = 4096
# Bytes of a cache entry beyond its body, compressed forms and key: the dict slot and linked
# list node of the OrderedDict (~160) and the attribute dict of the CachedPage, measured with
# tracemalloc (tests/test_page_cache.py checks the estimate).
_ENTRY_OVERHEAD = 160

_MISS = CachedPage.of(b"")


class PageCache:
    """Rendered pages by key; a key names everything the bytes depend on, so no invalidation.

    Each entry is a ``CachedPage``: the ETag and compressed forms are computed here, once per
    rendered body, never per request. The cache holds at most ``max_bytes`` (body, its gzip
    and brotli forms, its key and the bookkeeping around them) and drops the least recently
    used pages beyond that: a crawler walking all 30,000 pages of a 10,000-comparison site
    would otherwise pin about 1 GB.

    A render that returns empty bytes is a miss: the caller's page does not exist. Only a
    16-byte digest of its key is kept, in a separate least-recently-used set of at most
    ``max_misses``, so repeated misses still render nothing while a stranger's strings (the
    slug in ``/option/<anything>``, ``?page=N``) can neither fill memory nor push real
    pages out of the page budget.
    """

    def __init__(self, max_bytes: int = 256 * 1024 * 1024, max_misses: int = MISS_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, CachedPage] = OrderedDict()
        self._misses: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self._max_bytes = max_bytes
        self._max_misses = max_misses
        self._bytes = 0

    def get_or_render(self, key: Hashable, render: Callable[[], bytes]) -> CachedPage:
        cached = self._entries.get(key)
        if cached is not None:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
            return cached
        digest = _digest(key)
        with self._lock:
            if digest in self._misses:
                self._misses.move_to_end(digest)
                return _MISS
        rendered = render()
        if not rendered:
            with self._lock:
                self._misses[digest] = None
                while len(self._misses) > self._max_misses:
                    self._misses.popitem(last=False)
            return _MISS
        body = CachedPage.of(rendered)
        size = _footprint(key, body)
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= _footprint(key, previous)
            self._entries[key] = body
            self._bytes += size
            while self._bytes > self._max_bytes and len(self._entries) > 1:
                evicted_key, evicted = self._entries.popitem(last=False)
                self._bytes -= _footprint(evicted_key, evicted)
        return body

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._misses.clear()
            self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def misses(self) -> int:
        return len(self._misses)

    def __len__(self) -> int:
        return len(self._entries)


def _digest(key: Hashable) -> bytes:
    """A fixed-size name for a key: ``repr`` of our keys (tuples of str, int, bool) is exact."""
    return hashlib.blake2b(repr(key).encode("utf-8", "backslashreplace"), digest_size=16).digest()


def _key_bytes(key: object) -> int:
    """Memory of a key: the tuple and what it holds (shared strings are counted anyway)."""
    size = sys.getsizeof(key)
    if isinstance(key, tuple):
        size += sum(_key_bytes(part) for part in key)
    return size


def _footprint(key: Hashable, page: CachedPage) -> int:
    return (
        sys.getsizeof(page)
        + sys.getsizeof(page.gzip)
        + sys.getsizeof(page.br)
        + sys.getsizeof(page.__dict__)
        + _key_bytes(key)
        + _ENTRY_OVERHEAD
    )


def render_template(env: Environment, name: str, context: dict[str, Any]) -> bytes:
    return env.get_template(name).render(context).encode("utf-8")


def comparison_context(comparison: Comparison) -> dict[str, Any]:
    """Template values for a comparison page that depend on the comparison alone."""
    use_cases = {case.option: case for case in comparison.use_cases}
    return {
        "comparison": comparison,
        "pick": comparison.pick_option,
        "use_cases": [use_cases[o.name] for o in comparison.options if o.name in use_cases],
    }
