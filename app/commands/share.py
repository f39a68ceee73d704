"""One process's part of an export: render URLs without a request, write them, note links.

``Renderer`` serves the building process and each forked child alike: it asks
``DirectPages`` for a URL, writes the answer with the server's own compressed forms, records
a redirect, and collects the same-site links the files hold (pages no route table lists,
and which pages link to each comparison, for the incremental build). A URL only the app can
answer is handed back (``deferred``) for the building process to request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app.commands.direct import DirectPages
from app.commands.files import Files, output_name
from app.commands.links import links, patterns_for
from app.commands.redirect_files import kept_redirects, redirect_page, stand_in_name
from app.commands.summary import ExportSummary
from app.render.cached_page import CachedPage

# Markup and styles hold links; scripts' strings are not links (Swagger UI's are not).
LINKING_TYPES = ("text/html", "text/css", "text/xml", "application/xml", "application/atom+xml")


@dataclass
class Share:
    """What one process exported: its summary and the same-site links its files hold."""

    summary: ExportSummary = field(default_factory=ExportSummary)
    links: set[str] = field(default_factory=set)
    linked: dict[str, set[str]] = field(default_factory=dict)  # slug -> URLs linking its page
    # A file no route lists and not every page links (a script or an image an editor links
    # from a page's text), by its name in OUT (several URLs may name one file: /x/, /x?page=1)
    # -> the URLs linking it: it goes when the last of them stops.
    files_from: dict[str, set[str]] = field(default_factory=dict)
    # The last build's files this process removed to make room (``Files.cleared``): a forked
    # process's own copy, which the building process folds in.
    cleared: set[str] = field(default_factory=set)
    # Redirect sources whose HTML stand-in this process wrote (``Renderer.stand_ins``).
    stand_ins: set[str] = field(default_factory=set)

    def add(self, other: Share) -> None:
        """Take in what ``other`` exported too."""
        self.summary.add(other.summary)
        self.links |= other.links
        for slug, sources in other.linked.items():
            self.linked.setdefault(slug, set()).update(sources)
        for target, sources in other.files_from.items():
            self.files_from.setdefault(target, set()).update(sources)
        self.cleared |= other.cleared
        self.stand_ins |= other.stand_ins


# Kinds of page the route table lists (app/commands/routes.py), by their names in OUT: never
# one of ``files_from``; nor the home page's later pages (page-2/index.html, page-2.json).
_LISTED = ("compare/", "category/", "tag/", "option/", "best/", "author/", "og/")
# Their URLs: ``output_name`` of a link starting with one is a name starting with the other,
# so most links (a sitemap's 30,000) need no name made to be known as listed.
_LISTED_URLS = tuple(f"/{prefix}" for prefix in _LISTED)
_HOME_PAGES = re.compile(r"page-[0-9]+(/index\.html|\.json)")


class Renderer:
    def __init__(
        self,
        direct: DirectPages,
        files: Files,
        base: str,
        everywhere: frozenset[str] = frozenset(),
        *,
        stand_ins: bool = False,
    ) -> None:
        self.direct = direct
        self.files = files
        self.base = base
        # Write each redirect's HTML stand-in page as its 301 is met (a full build), in the
        # process that met it: 10,000 of them, written once every page was, took a second
        # with the other cores idle. The redirect files are written after (``write_redirects``).
        self.stand_ins = stand_ins
        # What the frame of every page links (its assets, header and footer): the 404 page's
        # links, none of which a page's text decides; and the names of their files, for
        # another spelling of one (``/x/``, ``/x?page=1``). Both: most links a page holds are
        # the frame's, found by URL without making a name for each.
        self.everywhere = everywhere
        self.everywhere_names = frozenset(output_name(link) for link in everywhere)
        self.link_memo: dict[bytes, str | None] = {}

    def render_all(self, urls: Iterable[str], done: Callable[[], None]) -> tuple[Share, list[str]]:
        """(what was written, the URLs only the app can answer)."""
        share = Share()
        deferred = [url for url in urls if not self.render(url, share, done)]
        share.cleared = set(self.files.cleared)
        return share, deferred

    def render(self, url: str, share: Share, done: Callable[[], None]) -> bool:
        """Export ``url`` without the app; False when only the app can answer it."""
        answer = self.direct.answer(url)
        if answer is None:
            return False
        if answer.redirect is not None:
            share.summary.redirects.append((url, answer.redirect))
            if self.stand_ins:
                for source, target in kept_redirects([(url, answer.redirect)]):
                    page = redirect_page(target, self.base)
                    self.files.write_name(stand_in_name(source), page, share.summary, {})
                    share.stand_ins.add(source)
        elif answer.missing:
            share.summary.skipped.append((url, 404))  # as the app's 404 is (app_requests.py)
        else:
            self.keep(url, answer.body, answer.media_type, share)
        done()
        return True

    def keep(self, url: str, body: bytes, content_type: str, share: Share) -> None:
        """Write the 200 answer for ``url``; a cached page brings its gzip and brotli forms
        (made for this when the build precompresses, else never)."""
        summary = share.summary
        compressed = (
            {"gzip": body.gzip, "br": body.br}
            if self.files.precompress and isinstance(body, CachedPage)
            else {}
        )
        self.files.write_name(output_name(url), body, summary, compressed)
        if "text/html" in content_type:
            summary.pages += 1
        if content_type.startswith(LINKING_TYPES):
            found = links(body, url, self.base, self.link_memo, patterns_for(content_type, url))
            share.links.update(found)
            for link in found:
                if link.startswith("/compare/"):
                    share.linked.setdefault(link[len("/compare/") :], set()).add(url)
                elif link not in self.everywhere and not link.startswith(_LISTED_URLS):
                    name = output_name(link)
                    if not (
                        name in self.everywhere_names
                        or name.startswith(_LISTED)
                        or _HOME_PAGES.fullmatch(name)
                    ):
                        share.files_from.setdefault(name, set()).add(url)
