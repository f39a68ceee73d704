"""``nicepick build OUT``: the whole site as static files, byte for byte what the server sends.

Every file comes from a request to the app itself (in-process ASGI calls in the app's own
event loop, no network), so an exported page cannot drift from the served one: same
templates, same cache, same headers decided by the same code; cached pages bring their
gzip/brotli forms too. The URLs come from the library (home and its pages, every visible
comparison, category, tag and option page with their pagination, social cards, sitemap,
feed, robots.txt); every same-site link found in the files is exported as well (assets,
sitemap parts, leaderboards), so a new kind of page is exported the day it is linked.
Large sites are split over one process per CPU (``jobs``).

Layout, for any static host and the nginx config in ``docs/nginx-export.conf``:
``/compare/x`` -> ``compare/x/index.html``; ``/tag/x?page=2`` -> ``tag/x/page-2/index.html``;
files with an extension keep their path (``/tag/x.json?page=2`` -> ``tag/x/page-2.json``).
Text files get ``.gz`` and ``.br`` siblings for ``gzip_static``/``brotli_static``. Old
addresses get three redirect forms (``app/commands/redirect_files.py``), the search page an
index (``app/commands/static_search.py``), and ``OUT`` a manifest for the next, incremental,
build (``app/commands/manifest.py``).

Over 400 lines on purpose: URL discovery, the file layout and the process split are one
walk over one app; apart, each would need the others' state passed back and forth.
"""

from __future__ import annotations

import asyncio
import logging
import marshal
import multiprocessing
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urljoin, urlsplit

from fastapi.testclient import TestClient
from starlette.datastructures import Headers

from app.commands.incremental import affected, placed
from app.commands.manifest import Manifest, digest, fingerprint
from app.commands.quick_record import remember
from app.commands.redirect_files import write_redirects
from app.commands.routes import Visible, seeds
from app.commands.static_search import PageTerms, write_search_index
from app.content.library import Library
from app.content.model import Problem
from app.render.cached_page import brotli_bytes, gzip_bytes
from app.render.page_cache import PageCache
from app.settings import Settings
from app.web.deps import feedback_of, pages_of, site_of

if TYPE_CHECKING:
    from fastapi import FastAPI

# Types worth precompressing; images and fonts are compressed already.
COMPRESSIBLE = {".html", ".xml", ".txt", ".css", ".js", ".svg", ".json", ".webmanifest"}
# href/src/action values, absolute URLs in meta content (social cards), sitemap <loc>s, CSS url().
_LINK = re.compile(
    rb"(?:href|src|action)\s*=\s*[\"']([^\"'<>\s]+)[\"']"
    rb"|content\s*=\s*[\"'](https?://[^\"'<>\s]+)[\"']"
    rb"|<loc>([^<]+)</loc>"
    rb"|url\(\s*[\"']?([^\"')]+)[\"']?\s*\)"
)
_NOT_FOUND_PROBE = "/__nicepick-export-404__"
_LINKING_TYPES = ("text/html", "text/css", "text/xml", "application/xml", "application/atom+xml")
# Below this many URLs one process exports alone: starting another costs ~2 s.
PARALLEL_ABOVE = 2000
Progress = Callable[[int, int], None]


@dataclass
class ExportSummary:
    """What a build wrote, for the closing line and for tests."""

    pages: int = 0  # HTML pages
    files: int = 0  # every file written, siblings excluded
    bytes: int = 0
    gzip_bytes: int = 0
    brotli_bytes: int = 0
    seconds: float = 0.0
    redirects: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)  # (url, status)
    left_out: int = 0  # content files not built because of their errors (--allow-errors)
    written: dict[str, str] = field(default_factory=dict)  # path in OUT -> digest
    rewritten: list[str] = field(default_factory=list)  # paths whose bytes changed
    incremental: bool = False
    forms_until: float | None = None  # exported forms are accepted until then (epoch seconds)

    def add(self, other: ExportSummary) -> None:
        """Fold in what another process (or round) wrote."""
        self.pages += other.pages
        self.files += other.files
        self.bytes += other.bytes
        self.gzip_bytes += other.gzip_bytes
        self.brotli_bytes += other.brotli_bytes
        self.redirects += other.redirects
        self.skipped += other.skipped
        self.written.update(other.written)
        self.rewritten += other.rewritten

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        mb = 1024 * 1024
        text = (
            f"{self.pages} pages, {self.files} files, {self.bytes / mb:.1f} MB "
            f"(gzip {self.gzip_bytes / mb:.1f} MB, brotli {self.brotli_bytes / mb:.1f} MB), "
            f"{len(self.redirects)} redirects, {len(self.skipped)} links skipped, "
            f"in {self.seconds:.1f} s ({self.pages_per_second:.0f} pages/s)"
        )
        if self.incremental:
            text += f"; incremental: {len(self.rewritten)} files rewritten"
        if self.left_out:
            text += f"; {self.left_out} content files left out because of errors"
        return text


def output_path(out: Path, url: str) -> Path:
    """Where a site URL is written inside ``out`` (see the module docstring)."""
    return out / output_name(url)


def output_name(url: str) -> str:
    """``output_path`` relative to ``out``, as the manifest names files (plain strings: an
    incremental build looks up every link it finds, and Path objects cost 50 us each)."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    page = parse_qs(parts.query).get("page", [""])[0] if parts.query else ""
    name = path.rsplit("/", 1)[-1]
    if "." in name:
        if page and page != "1":
            # A listing's JSON twin past page 1 (/tag/x.json?page=2): beside the HTML pages'
            # folders, as tag/x/page-2.json (tag/x.json itself is a file).
            stem, _, extension = path.rpartition(".")
            return f"{stem}/page-{page}.{extension}"
        return path
    folder = path.rstrip("/")
    if page and page != "1":
        folder = f"{folder}/page-{page}" if folder else f"page-{page}"
    return f"{folder}/index.html" if folder else "index.html"


@dataclass
class _Share:
    """What one process exported: its summary and the same-site links its files hold."""

    summary: ExportSummary
    links: set[str]
    linked: dict[str, set[str]]  # comparison slug -> URLs whose file links to its page


class _Exporter:
    """Requests URLs from the app in its own event loop (no HTTP, no thread hop per file)
    and writes each answer with its ``.gz``/``.br`` siblings."""

    def __init__(self, app: FastAPI, cache: PageCache, files: Files, base: str) -> None:
        self.app = app
        self.cache = cache  # the app's page cache, emptied as the export goes
        self.files = files
        self.out = files.out
        self.base = base
        parts = urlsplit(base)
        self.scheme = parts.scheme
        self.host = parts.netloc.encode("latin-1")
        self.link_memo: dict[bytes, str | None] = {}

    async def fetch(self, url: str, encoding: str = "identity") -> tuple[int, Headers, bytes]:
        path, _, query = url.partition("?")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": self.scheme,
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", self.host), (b"accept-encoding", encoding.encode())],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
            "state": {},
        }
        status = 500
        headers: Headers = Headers()
        chunks: list[bytes] = []

        requested = False
        complete = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await complete.wait()  # streaming responses listen for the client leaving
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = Headers(raw=message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    complete.set()

        await self.app(scope, receive, send)  # type: ignore[arg-type]
        return status, headers, b"".join(chunks)

    async def run(self, urls: list[str], done: Callable[[], None]) -> _Share:
        share = _Share(ExportSummary(), set(), {})
        cache = self.cache
        for number, url in enumerate(urls, start=1):
            await self.export(url, share)
            done()
            if number % 2000 == 0:
                # Each page is exported once: the server's cache would only hold ~1 GB of
                # bytes at 10,000 comparisons (pages, gzip, brotli) for no reader.
                cache.clear()
        return share

    async def export(self, url: str, share: _Share) -> None:
        summary = share.summary
        status, headers, body = await self.fetch(url)
        if status in (301, 302, 307, 308):
            # The server's Location is absolute (the site URL); _redirects names our own pages
            # by path, so the folder works on any host it is published to.
            target = headers["location"]
            site_url = site_of(self.app).settings.site_url
            if target.startswith(site_url + "/"):
                target = target[len(site_url) :]
            summary.redirects.append((url, target))
            return
        if status != 200:
            summary.skipped.append((url, status))
            return
        path = output_path(self.out, url)
        compressed: dict[str, bytes] = {}
        if "etag" in headers and path.suffix in COMPRESSIBLE and self.files.changed(path, body):
            # A cached page: the server compressed it once already; take its bytes.
            for encoding in ("gzip", "br"):
                status, answer, coded = await self.fetch(url, encoding)
                if status == 200 and answer.get("content-encoding") == encoding:
                    compressed[encoding] = coded
        self.files.write(path, body, summary, compressed)
        content_type = headers.get("content-type", "")
        if "text/html" in content_type:
            summary.pages += 1
        # Markup and styles hold links; scripts' strings are not links (Swagger UI's are not).
        if content_type.startswith(_LINKING_TYPES):
            found = links(body, url, self.base, self.link_memo)
            share.links.update(found)
            for link in found:
                if link.startswith("/compare/"):
                    share.linked.setdefault(link[len("/compare/") :], set()).add(url)


class ContentErrors(Exception):
    """The content folder has errors and the build was not told to leave their pages out."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} content errors")
        self.problems = problems


def build_warnings(settings: Settings) -> list[str]:
    """What an operator must hear before publishing this build."""
    if not settings.feedback_endpoint:
        return [
            "NICEPICK_FEEDBACK_ENDPOINT is not set: a static host cannot take the notes "
            "readers post, so the exported pages say notes cannot be sent and show "
            f"{settings.feedback_to} instead of the form. Set it to a running `nicepick serve` "
            "(docs/static-hosting.md)."
        ]
    if not settings.secret_key:
        return [
            "NICEPICK_SECRET_KEY is not set: the exported forms are signed with the key in "
            f"{settings.data_dir / 'secret_key'}; the endpoint at {settings.feedback_endpoint} "
            "accepts them only with that same key (set NICEPICK_SECRET_KEY on both)."
        ]
    return []


def left_out(library: Library) -> int:
    """Content files that have no page in the build (their errors keep them out)."""
    return sum(
        1
        for parsed in library.files.values()
        if parsed.comparison is None
        or library.comparisons.get(parsed.comparison.slug) is not parsed.comparison
    )


def as_static_copy(app: FastAPI, settings: Settings, built_at: float) -> float:
    """Make ``app`` render pages for a static host: forms stamped with the build time (valid
    until the returned moment), and no "ask for a comparison" form without an endpoint to
    take it (a static host has no /request)."""
    pages_of(app).env.globals["can_ask"] = settings.feedback_endpoint is not None
    return feedback_of(app).export_forms(built_at)


def export_site(
    settings: Settings,
    out: Path,
    *,
    progress: Progress | None = None,
    clean: bool = True,
    cards: bool = True,
    jobs: int | None = None,
    allow_errors: bool = False,
    built_at: float | None = None,
    incremental: bool = True,
) -> ExportSummary:
    """Write the whole site for ``settings`` into ``out``; return what was written.

    ``ContentErrors`` (nothing written) when a content file has an error, unless
    ``allow_errors``: then those files are left out and the summary counts them. Drafts and
    future pages are never exported, whatever ``settings.drafts`` says. ``built_at`` (epoch
    seconds, default now) stamps the forms' tokens (``app/feedback/tokens.py``).

    When ``out`` holds a build with a manifest made by the same code, templates and settings
    (``app/commands/manifest.py``) and ``incremental`` is on, only the pages a changed
    comparison can appear on are rendered (``app/commands/incremental.py``), files are
    written only when their bytes differ, and the forms keep the first build's time.
    ``clean`` (a full build) empties ``out`` first.

    ``cards=False`` leaves the social card PNGs out (about half the time of a large build;
    pages still name them in ``og:image``). ``jobs`` processes share the work (default:
    one per CPU for large sites, one for small ones, where starting more costs more).
    """
    from app.main import create_app  # the app pulls in FastAPI; keep `--help` instant

    started = time.perf_counter()
    # An export is what readers see: never drafts, never the live preview's scripts.
    settings = settings.model_copy(update={"drafts": False, "reload": False})
    build_print = fingerprint(settings, cards=cards)
    previous = Manifest.load(out) if incremental else None
    if previous is not None and previous.fingerprint != build_print:
        previous = None  # other code, templates or settings: every page may differ
    if built_at is None:
        built_at = previous.built_at if previous is not None else time.time()
    base = settings.site_url
    cache = _page_cache(settings)
    app = create_app(settings, page_cache=cache)
    site = site_of(app)
    site.load()  # the whole library now, not in the background; saves the parse cache too
    errors = [problem for problem in site.library.problems if problem.severity == "error"]
    if errors and not allow_errors:
        raise ContentErrors(sorted(errors, key=lambda p: (p.path, p.line, p.column, p.message)))
    if previous is None and clean and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    files = Files(out, previous.files if previous is not None else {})
    forms_until = as_static_copy(app, settings, built_at)
    visible = Visible(site.library, site.visible())
    with TestClient(app, base_url=base, follow_redirects=False) as client:
        portal = client.portal
        assert portal is not None
        if previous is None:
            urls = seeds(visible, cards=cards)
            changed: set[str] = set()
        else:
            known = previous.files
            urls, changed = affected(
                previous,
                visible,
                cards=cards,
                had=lambda url: output_name(url) in known,
            )
            jobs = 1
        seen = set(urls)
        if jobs is None:
            jobs = min(os.cpu_count() or 1, 4) if len(urls) >= PARALLEL_ABOVE else 1
        exporter = _Exporter(app, cache, files, base)
        counter = multiprocessing.get_context("spawn").Value("q", 0)
        total = len(urls)

        def done() -> None:
            with counter.get_lock():
                counter.value += 1
            if progress:
                progress(counter.value, total)

        shares: list[_Share] = []
        if jobs > 1:
            # The other processes take every jobs-th URL; this one takes the first share.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                jobs - 1, mp_context=context, initializer=_child_init, initargs=(counter,)
            ) as pool:
                futures = [
                    pool.submit(_child_export, settings, out, urls[n::jobs], built_at)
                    for n in range(1, jobs)
                ]
                shares.append(portal.call(exporter.run, urls[0::jobs], done))
                while not all(f.done() for f in futures):
                    if progress:
                        progress(counter.value, total)
                    time.sleep(0.1)
                shares += [f.result() for f in futures]
        else:
            shares.append(portal.call(exporter.run, urls, done))
        summary = ExportSummary(incremental=previous is not None)
        linked: dict[str, set[str]] = {}
        if previous is not None:
            linked = {slug: set(urls) for slug, urls in previous.linked_from.items()}
        for share in shares:
            summary.add(share.summary)
            for slug, sources in share.linked.items():
                linked.setdefault(slug, set()).update(sources)
        # Links nobody listed up front (assets, sitemap parts, new kinds of pages): here.
        # An incremental build has the last build's files already.
        pending = sorted({link for share in shares for link in share.links} - seen)
        if previous is not None:
            known = previous.files
            pending = [link for link in pending if output_name(link) not in known]
        if not cards:  # pages still name their cards in og:image; --no-cards means no PNGs
            seen.update(link for link in pending if link.startswith("/og/"))
            pending = [link for link in pending if not link.startswith("/og/")]
        while pending:
            seen.update(pending)
            total += len(pending)
            share = portal.call(exporter.run, pending, done)
            summary.add(share.summary)
            for slug, sources in share.linked.items():
                linked.setdefault(slug, set()).update(sources)
            pending = sorted(share.links - seen)
            if not cards:
                pending = [link for link in pending if not link.startswith("/og/")]
        if progress:
            progress(total, total)
        _status, _headers, missing = portal.call(exporter.fetch, _NOT_FOUND_PROBE)
        files.write(out / "404.html", missing, summary, {})

    def write(path: Path, body: bytes) -> None:
        files.write(path, body, summary, {})

    # After the crawl: the index is for what was exported, and a search page written above.
    words: PageTerms = _load_terms(out) if previous is not None else {}
    write_search_index(out, visible.comparisons, write, words)
    current = {c.content_hash for c in visible.comparisons}
    _save_terms(out, {key: value for key, value in words.items() if key in current})
    redirects = summary.redirects
    if previous is not None:
        # The last build's, except those of the changed pages (found again above if kept).
        redirects += [
            (source, target)
            for source, target in previous.redirects
            # A twin's redirect (to /compare/b.json) belongs to page b as much as its page's.
            if target.removeprefix("/compare/").removesuffix(".json") not in changed
        ]
    summary.redirects = write_redirects(out, redirects, site_url=base, write=write)
    written = summary.written
    if previous is not None:
        # Files of the last build this one did not visit are still there, unchanged; those
        # of pages that are gone (a removed comparison, an emptied listing, a dropped alias's
        # stand-in page) are deleted.
        gone = _gone(previous, summary, changed)
        kept = {source for source, _target in summary.redirects}
        gone.update(
            f"{source.strip('/')}/index.html"
            for source, _target in previous.redirects
            # Not when this build wrote the page itself there (a file renamed back).
            if source not in kept and f"{source.strip('/')}/index.html" not in summary.written
        )
        for name in gone:
            files.remove(name)
        written = {
            name: value
            for name, value in previous.files.items()
            if name not in gone and name not in files.cleared
        } | summary.written
    Manifest(
        fingerprint=build_print,
        built_at=built_at,
        sources={c.slug: c.content_hash for c in visible.comparisons},
        placed={c.slug: placed(c) for c in visible.comparisons},
        linked_from={slug: sorted(sources) for slug, sources in linked.items()},
        redirects=summary.redirects,
        files=written,
        rewritten=sorted(summary.rewritten),
    ).save(out)
    began = time.time() - (time.perf_counter() - started)  # for the next build's quick path
    remember(out, site.library, visible.comparisons, began=began)
    summary.skipped.sort()
    summary.left_out = left_out(site.library)
    summary.forms_until = forms_until
    summary.seconds = time.perf_counter() - started
    return summary


_TERMS = ".nicepick-search-terms.marshal"  # each page's words by content hash, for the next build


def _load_terms(out: Path) -> PageTerms:
    try:
        known = marshal.loads((out / _TERMS).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return known if isinstance(known, dict) else {}


def _save_terms(out: Path, known: PageTerms) -> None:
    (out / _TERMS).write_bytes(marshal.dumps(known))


def _gone(previous: Manifest, summary: ExportSummary, changed: set[str]) -> set[str]:
    """Files of the last build whose page no longer exists: a changed page that answered
    404 this time, and pages of its listings past their new last page."""
    gone: set[str] = set()
    for url, _status in summary.skipped:
        name = url.strip("/").partition("?")[0]
        for candidate in (f"{name}/index.html" if name else "index.html", name):
            if candidate in previous.files:
                gone.add(candidate)
    listings = {
        listing.strip("/") for slug in changed for listing in previous.placed.get(slug, [])[:-1]
    }
    for name in previous.files:
        folder = name.rsplit("/", 2)[0] if name.count("/") >= 2 else ""
        if folder in listings and name not in summary.written and "/page-" in name:
            gone.add(name)
    for slug in changed:
        for name in (f"compare/{slug}/index.html", f"og/{slug}.png"):
            if name in previous.files and name not in summary.written:
                gone.add(name)
    return gone


_child_counter: Any = None


def _page_cache(settings: Settings) -> PageCache:
    return PageCache(max_bytes=settings.page_cache_mb * 1024 * 1024)


def _child_init(counter: Any) -> None:
    global _child_counter
    _child_counter = counter
    logging.getLogger().setLevel(logging.WARNING)


def _child_export(settings: Settings, out: Path, urls: list[str], built_at: float) -> _Share:
    """One other process's share: its own app on the same folders, the same bytes."""
    from app.main import create_app

    cache = _page_cache(settings)
    app = create_app(settings, page_cache=cache)
    site_of(app).load()  # from the parse cache the first process just saved
    as_static_copy(app, settings, built_at)

    def done() -> None:
        with _child_counter.get_lock():
            _child_counter.value += 1

    with TestClient(app, base_url=settings.site_url, follow_redirects=False) as client:
        assert client.portal is not None
        exporter = _Exporter(app, cache, Files(out), settings.site_url)
        return client.portal.call(exporter.run, urls, done)


def links(
    body: bytes, url: str, base: str, memo: dict[bytes, str | None] | None = None
) -> list[str]:
    """Same-site URLs a file links to, as paths (with ``?page=N`` kept, other queries dropped).

    ``memo`` keeps what each absolute link (``/x`` or the base URL's) resolved to: pages
    share most of their links (navigation, assets), so each is parsed once per build.
    """
    found = []
    for match in _LINK.finditer(body):
        raw_bytes = next(group for group in match.groups() if group)
        absolute = raw_bytes.startswith(b"/") and not raw_bytes.startswith(b"//")
        if memo is not None and absolute and raw_bytes in memo:
            known = memo[raw_bytes]
            if known is not None:
                found.append(known)
            continue
        resolved = _resolve(raw_bytes, url, base)
        if memo is not None and (absolute or raw_bytes.startswith(base.encode())):
            memo[raw_bytes] = resolved
        if resolved is not None:
            found.append(resolved)
    return found


def _resolve(raw_bytes: bytes, url: str, base: str) -> str | None:
    raw = raw_bytes.decode("utf-8", "replace").replace("&amp;", "&")
    if raw.startswith(base + "/") or raw == base:
        raw = raw[len(base) :] or "/"
    elif raw.startswith(("//", "#", "mailto:", "data:")) or ":" in raw.split("/", 1)[0]:
        return None
    target = urlsplit(urljoin(url, raw))
    if target.scheme or target.netloc:
        return None
    page = parse_qs(target.query).get("page", [""])[0]
    if target.query and not page.isdigit():
        return None  # search queries and the like exist only on a running server
    path = target.path or "/"
    if path.endswith("/feedback") or path.startswith("/api/"):
        return None  # form targets answer POST only; the JSON API belongs to the server
    return f"{path}?page={page}" if page else path


@dataclass
class Files:
    """Writes the export's files into ``out``; on an incremental build, only those whose
    bytes differ from the manifest's (``previous``), siblings included."""

    out: Path
    previous: dict[str, str] = field(default_factory=dict)  # path in OUT -> digest
    cleared: set[str] = field(default_factory=set)  # the last build's, removed by _make_room

    def changed(self, path: Path, body: bytes) -> bool:
        name = path.relative_to(self.out).as_posix()
        return self.previous.get(name) != digest(body) or not path.is_file()

    def write(
        self, path: Path, body: bytes, summary: ExportSummary, compressed: dict[str, bytes]
    ) -> None:
        name = path.relative_to(self.out).as_posix()
        summary.written[name] = digest(body)
        summary.files += 1
        summary.bytes += len(body)
        if self.previous.get(name) == summary.written[name] and path.is_file():
            return  # the same bytes as the last build: leave the file (and its mtime) alone
        summary.rewritten.append(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            self._make_room(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        if path.suffix in COMPRESSIBLE and len(body) > 256:
            gz = compressed.get("gzip") or gzip_bytes(body)
            br = compressed.get("br") or brotli_bytes(body)
            path.with_name(path.name + ".gz").write_bytes(gz)
            path.with_name(path.name + ".br").write_bytes(br)
            summary.gzip_bytes += len(gz)
            summary.brotli_bytes += len(br)

    def remove(self, name: str) -> None:
        """Delete a file of the last build that this one no longer has, with its siblings
        (not a folder this build made in its place: see ``_make_room``)."""
        path = self.out / name
        for stale in (path, path.with_name(path.name + ".gz"), path.with_name(path.name + ".br")):
            if stale.is_file():  # not a folder, nor a path under what is now a file
                stale.unlink()
        if path.name == "index.html" and path.parent != self.out:
            # A gone page's folder: left empty, a host would answer it with a listing or 403.
            with suppress(OSError):
                path.parent.rmdir()

    def _make_room(self, path: Path) -> None:
        """Clear the last build's file where ``path`` needs a folder, or its folder where
        ``path`` needs a file: a renamed page's JSON twin (``compare/a-vs-b.json``) becomes
        a redirect's stand-in folder (``compare/a-vs-b.json/index.html``), and back."""
        for parent in reversed(path.relative_to(self.out).parents[:-1]):
            if (self.out / parent).is_file() and parent.as_posix() in self.previous:
                self.remove(parent.as_posix())
                self.cleared.add(parent.as_posix())
        if path.is_dir():
            inside = path.relative_to(self.out).as_posix() + "/"
            for name in [name for name in self.previous if name.startswith(inside)]:
                self.remove(name)
                self.cleared.add(name)
            if path.is_dir():  # still there: folders below it, or files no build wrote
                for folder in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
                    folder.rmdir()
                path.rmdir()  # refuses (OSError) a folder holding files no build wrote


@contextmanager
def progress_bar() -> Iterator[Progress | None]:
    """A progress bar with the rate and time left on a terminal's stderr; None elsewhere
    (a CI log, a pipe), where redrawing a bar would only fill the log."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as Bar,
    )

    with Bar(
        TextColumn("building"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files, about"),
        TimeRemainingColumn(),
        TextColumn("left"),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("build", total=None)

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield show
