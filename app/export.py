"""``nicepick build OUT``: the whole site as static files, byte for byte what the server sends.

Every file comes from a request to the app itself (in-process, no network), so an exported
page cannot drift from the served one: same templates, same cache, same headers decided by
the same code. The crawl starts from the home page, every visible comparison, category and
tag, the sitemap, feed and robots.txt, and follows every same-site link it finds (pagination,
option pages, fingerprinted assets, social cards), so a new kind of page is exported the day
it is linked.

Layout, for any static host and the nginx config in ``docs/nginx-export.conf``:
``/compare/x`` -> ``compare/x/index.html``; ``/tag/x?page=2`` -> ``tag/x/page-2/index.html``;
files with an extension keep their path. Text files get ``.gz`` and ``.br`` siblings for
``gzip_static``/``brotli_static``. Alias redirects go to ``_redirects`` (``from to 301``
lines, the format Netlify and Cloudflare Pages read; nginx users turn them into ``return``).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

from fastapi.testclient import TestClient

from app.cached_page import brotli_bytes, gzip_bytes
from app.content.library import Library
from app.settings import Settings

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

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        mb = 1024 * 1024
        return (
            f"{self.pages} pages, {self.files} files, {self.bytes / mb:.1f} MB "
            f"(gzip {self.gzip_bytes / mb:.1f} MB, brotli {self.brotli_bytes / mb:.1f} MB), "
            f"{len(self.redirects)} redirects, {len(self.skipped)} links skipped, "
            f"in {self.seconds:.1f} s ({self.pages_per_second:.0f} pages/s)"
        )


def output_path(out: Path, url: str) -> Path:
    """Where a site URL is written inside ``out`` (see the module docstring)."""
    parts = urlsplit(url)
    path = parts.path.lstrip("/")
    page = parse_qs(parts.query).get("page", [""])[0]
    name = path.rsplit("/", 1)[-1]
    if "." in name and not page:
        return out / path
    folder = out / path if path else out
    if page and page != "1":
        folder = folder / f"page-{page}"
    return folder / "index.html"


def seeds(library: Library, visible_slugs: Iterable[str]) -> list[str]:
    """The URLs every build starts from; the crawl finds the rest."""
    urls = ["/", "/robots.txt", "/sitemap.xml", "/feed.xml"]
    visible = [library.comparisons[slug] for slug in visible_slugs]
    urls += [f"/compare/{c.slug}" for c in visible]
    urls += [f"/category/{slug}" for slug in Library.group(visible, "category")]
    urls += [f"/tag/{slug}" for slug in Library.group(visible, "tag")]
    return urls


def export_site(
    settings: Settings, out: Path, *, progress: Progress | None = None, clean: bool = True
) -> ExportSummary:
    """Write the whole site for ``settings`` into ``out``; return what was written."""
    from app.main import create_app  # the app pulls in FastAPI; keep `--help` instant

    started = time.perf_counter()
    if clean and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary()
    base = settings.site_url
    app = create_app(settings)
    with TestClient(app, base_url=base, follow_redirects=False) as client:
        site = app.state.site
        queue = deque(seeds(site.library, (c.slug for c in site.visible())))
        seen = set(queue)
        done = 0
        while queue:
            url = queue.popleft()
            response = client.get(url, headers={"accept-encoding": "identity"})
            done += 1
            if progress:
                progress(done, done + len(queue))
            if response.status_code in (301, 302, 307, 308):
                target = response.headers["location"]
                summary.redirects.append((url, target))
                continue
            if response.status_code != 200:
                summary.skipped.append((url, response.status_code))
                continue
            body = response.content
            _write(output_path(out, url), body, summary)
            if "text/html" in response.headers.get("content-type", ""):
                summary.pages += 1
            for link in links(body, url, base):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
        missing = client.get(_NOT_FOUND_PROBE, headers={"accept-encoding": "identity"})
        _write(out / "404.html", missing.content, summary)
    if summary.redirects:
        lines = "".join(f"{source} {target} 301\n" for source, target in summary.redirects)
        (out / "_redirects").write_text(lines, encoding="utf-8")
    summary.seconds = time.perf_counter() - started
    return summary


def links(body: bytes, url: str, base: str) -> list[str]:
    """Same-site URLs a file links to, as paths (with ``?page=N`` kept, other queries dropped)."""
    found = []
    for match in _LINK.finditer(body):
        raw = next(group for group in match.groups() if group).decode("utf-8", "replace")
        raw = raw.replace("&amp;", "&")
        if raw.startswith(base + "/") or raw == base:
            raw = raw[len(base) :] or "/"
        elif raw.startswith(("//", "#", "mailto:", "data:")) or ":" in raw.split("/", 1)[0]:
            continue
        target = urlsplit(urljoin(url, raw))
        if target.scheme or target.netloc:
            continue
        page = parse_qs(target.query).get("page", [""])[0]
        if target.query and not page.isdigit():
            continue  # search queries and the like exist only on a running server
        path = target.path or "/"
        if path.endswith("/feedback") or path.startswith("/api/"):
            continue  # form targets answer POST only; the JSON API belongs to the server
        found.append(f"{path}?page={page}" if page else path)
    return found


def _write(path: Path, body: bytes, summary: ExportSummary) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    summary.files += 1
    summary.bytes += len(body)
    if path.suffix in COMPRESSIBLE and len(body) > 256:
        gz = gzip_bytes(body)
        br = brotli_bytes(body)
        path.with_name(path.name + ".gz").write_bytes(gz)
        path.with_name(path.name + ".br").write_bytes(br)
        summary.gzip_bytes += len(gz)
        summary.brotli_bytes += len(br)


def stderr_progress() -> Progress:
    """A one-line progress counter on stderr, redrawn at most ten times a second."""
    last = 0.0

    def show(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < 0.1 and done != total:
            return
        last = now
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r[{bar}] {done}/{total} files{end}")
        sys.stderr.flush()

    return show
