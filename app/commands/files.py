"""Where each exported URL is written in ``OUT``, and the writing: a file (with its ``.gz`` and
``.br`` siblings when the build precompresses), left alone when an incremental build finds
the same bytes there.

Layout, for any static host and the nginx config in ``docs/nginx-export.conf``:
``/compare/x`` -> ``compare/x/index.html``; ``/tag/x?page=2`` -> ``tag/x/page-2/index.html``;
files with an extension keep their path (``/tag/x.json?page=2`` -> ``tag/x/page-2.json``).
With ``precompress`` (``nicepick build --precompress``), text files get ``.gz`` and ``.br``
siblings for nginx's ``gzip_static``/``brotli_static``. Not by default: static hosts compress
by themselves, and three files a page is most of a large build's file system time.

Files are named by plain strings relative to ``OUT`` (as the manifest names them), not Path
objects: a large build writes tens of thousands, and pathlib's parsing cost more than the
writes themselves.
"""

from __future__ import annotations

import errno
import os
import stat
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from app.commands.manifest import digest
from app.commands.summary import ExportSummary
from app.render.cached_page import brotli_bytes, gzip_bytes

# Types worth precompressing; images and fonts are compressed already.
COMPRESSIBLE = {".html", ".xml", ".txt", ".css", ".js", ".svg", ".json", ".webmanifest"}
_SMALLEST_COMPRESSED = 257  # bytes: below that a sibling saves nothing worth a file


def output_path(out: Path, url: str) -> Path:
    """Where a site URL is written inside ``out`` (see the module docstring)."""
    return out / output_name(url)


def output_name(url: str) -> str:
    """``output_path`` relative to ``out``, as the manifest names files (plain strings: an
    incremental build looks up every link it finds, and Path objects cost 50 us each)."""
    if url.startswith("/") and not url.startswith("//") and "?" not in url and "#" not in url:
        # Most links: a plain path, which urlsplit would hand back whole (a third of the
        # lookups' time).
        path, page = url.lstrip("/"), ""
    else:
        parts = urlsplit(url)
        path = parts.path.lstrip("/")
        page = parse_qs(parts.query).get("page", [""])[0] if parts.query else ""
    name = path.rsplit("/", 1)[-1]
    if "." in name:
        if page and page != "1":
            # A listing's JSON twin past page 1 (/tag/x.json?page=2): beside the HTML pages'
            # folders, as tag/x/page-2.json (tag/x.json itself is a file).
            stem, _, extension = path.rpartition(".")
            # The home page's twin (/.json?page=2) has no stem: page-2.json at OUT's top.
            return f"{stem}/page-{page}.{extension}" if stem else f"page-{page}.{extension}"
        return path
    folder = path.rstrip("/")
    if page and page != "1":
        folder = f"{folder}/page-{page}" if folder else f"page-{page}"
    return f"{folder}/index.html" if folder else "index.html"


def page_urls(name: str) -> set[str]:
    """The URLs ``output_name`` may have written as ``name``: ``tag/x/page-2/index.html`` is
    ``/tag/x?page=2`` (or a page named ``page-2``), ``compare/x/index.html`` is
    ``/compare/x``, ``feed.xml`` is ``/feed.xml``."""
    if name != "index.html" and not name.endswith("/index.html"):
        return {f"/{name}"}
    folder = name.removesuffix("index.html").rstrip("/")
    urls = {f"/{folder}"}
    listing, _, page = folder.rpartition("page-")
    if (not listing or listing.endswith("/")) and page.isdigit():
        urls.add(f"/{listing.rstrip('/')}?page={page}")
    return urls


def compressible(name: str) -> bool:
    """Whether the file ``name`` gets ``.gz`` and ``.br`` siblings (by its extension)."""
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return dot > 0 and base[dot:] in COMPRESSIBLE


@dataclass
class Files:
    """Writes the export's files into ``out``; on an incremental build, only those whose
    bytes differ from the manifest's (``previous``), siblings included."""

    out: Path
    previous: dict[str, str] = field(default_factory=dict)  # path in OUT -> digest
    precompress: bool = False  # .gz and .br siblings (the manifest's fingerprint names it)
    cleared: set[str] = field(default_factory=set)  # the last build's, removed by _make_room
    _folders: set[str] = field(default_factory=set)  # made by this writer: no mkdir again
    _looked_at: set[str] = field(default_factory=set)  # folders checked for links (_put)

    def changed(self, path: Path, body: bytes) -> bool:
        name = path.relative_to(self.out).as_posix()
        return self.previous.get(name) != digest(body) or not path.is_file()

    def write(
        self, path: Path, body: bytes, summary: ExportSummary, compressed: dict[str, bytes]
    ) -> None:
        self.write_name(path.relative_to(self.out).as_posix(), body, summary, compressed)

    def write_name(
        self, name: str, body: bytes, summary: ExportSummary, compressed: dict[str, bytes]
    ) -> None:
        """Write ``body`` as ``name`` (relative to ``out``) with its siblings, from
        ``compressed`` (the server's forms, by encoding) or compressed here."""
        known = digest(body)
        summary.written[name] = known
        summary.files += 1
        summary.bytes += len(body)
        target = f"{self.out}/{name}"
        if self.previous.get(name) == known and os.path.isfile(target):
            return  # the same bytes as the last build: leave the file (and its mtime) alone
        summary.rewritten.append(name)
        try:
            self._put(name, body)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            self._make_room(self.out / name)
            self._folders.clear()  # _make_room removed folders this writer had made
            self._put(name, body)
        if not self.precompress:
            return  # a change of it is another fingerprint: a full build, no old siblings
        if len(body) >= _SMALLEST_COMPRESSED and compressible(name):
            gz = compressed.get("gzip") or gzip_bytes(body)
            br = compressed.get("br") or brotli_bytes(body)
            self._put(name + ".gz", gz)
            self._put(name + ".br", br)
            summary.gzip_bytes += len(gz)
            summary.brotli_bytes += len(br)
        elif self.previous.get(name) is not None:
            # Shrunk below the size worth compressing: an old sibling would be served stale
            # (nginx's gzip_static prefers it to the file).
            for sibling in (".gz", ".br"):
                with suppress(FileNotFoundError):
                    os.unlink(target + sibling)

    def _put(self, name: str, body: bytes) -> None:
        folder = name.rpartition("/")[0]
        if folder and folder not in self._folders:
            self._make_folder(folder)
        write_file(f"{self.out}/{name}", body)

    def _make_folder(self, folder: str) -> None:
        """Make ``folder`` (relative to ``out``) and those above it, each a real folder:
        a link found where one is (made since the last build) is replaced, never written
        through. One ``mkdir`` for a new folder, which cannot be a link: a full build makes
        ~30,000, and looking at each first (``unlink_links``, then ``makedirs``' own look
        at the folder above) took three calls to the file system for one."""
        parent = folder.rpartition("/")[0]
        if parent and parent not in self._folders:
            self._make_folder(parent)
        path = f"{self.out}/{folder}"
        try:
            os.mkdir(path)
        except FileNotFoundError:  # OUT itself is not there yet (a folder above is made)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.mkdir(path)
        except FileExistsError:
            folder_in_place_of_a_link(path)
        self._looked_at.add(folder)
        self._folders.add(folder)

    def remove(self, name: str) -> None:
        """Delete a file of the last build that this one no longer has, with its siblings
        (not a folder this build made in its place: see ``_make_room``).

        ``name`` is relative to OUT and never leaves it: joined as it was, a manifest's name
        with a leading slash (older builds named the home page's later JSON twins
        ``/page-2.json``) was an absolute path, and this deleted ``/page-2.json`` at the file
        system's root."""
        name = name.lstrip("/")
        if not name or ".." in name.split("/"):
            return
        if "/" in name:  # never removed through a link
            unlink_links(self.out, name.rpartition("/")[0], self._looked_at)
        path = self.out / name
        for stale in (path, path.with_name(path.name + ".gz"), path.with_name(path.name + ".br")):
            if stale.is_file():  # not a folder, nor a path under what is now a file
                stale.unlink()  # a link's own name, not what it points to
        # The folders it leaves empty (a gone page's, a gone listing's holding its later
        # pages, in whatever order they go): a host would answer them with a listing or 403.
        folder = name.rpartition("/")[0]
        while folder:
            try:
                os.rmdir(f"{self.out}/{folder}")
            except OSError:  # not empty (or not there): nor is any folder above it
                break
            self._folders.discard(folder)
            folder = folder.rpartition("/")[0]

    def _make_room(self, path: Path) -> None:
        """Clear the last build's file where ``path`` needs a folder, or its folder where
        ``path`` needs a file: where a renamed page's JSON twin was (``compare/a-vs-b.json``),
        a folder built before ``incremental.affected`` left a gone page's twin out holds a
        redirect's stand-in (``compare/a-vs-b.json/index.html``), and the page renamed back
        needs the file again."""
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


def folder_in_place_of_a_link(path: str) -> None:
    """Leave a real folder at ``path``, where something is already: a folder stays; a link
    (made since the last build) is replaced, never followed; a file raises FileExistsError
    (the caller makes room: ``Files._make_room``). Another render process may meet the same
    link at the same time and replace it first: its folder is as good (an outside review)."""
    try:
        mode: int | None = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None  # the other process removed the link: make the folder
    if mode is not None and stat.S_ISDIR(mode):
        return
    if mode is not None and not stat.S_ISLNK(mode):
        raise FileExistsError(errno.EEXIST, "a file where a folder goes", path)
    with suppress(FileNotFoundError):
        os.unlink(path)  # the link's own name, not what it points to
    try:
        os.mkdir(path)
    except FileExistsError:  # made by the other process meanwhile (or its link again)
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise


def unlink_links(out: Path, folder: str, looked_at: set[str]) -> None:
    """Remove each symbolic link on the way to ``folder`` (relative to ``out``; made there
    since the last build): a build writes a real folder in its place, never through it to
    where it points (outside OUT, say). ``looked_at``: the folders already looked at, each
    once per build."""
    parts = folder.split("/")
    for end in range(1, len(parts) + 1):
        step = "/".join(parts[:end])
        if step in looked_at:
            continue
        looked_at.add(step)
        if os.path.islink(f"{out}/{step}"):
            os.unlink(f"{out}/{step}")


def write_file(target: str, body: bytes) -> None:
    """Write ``body`` as the file ``target``, replacing a link of that name rather than
    writing through it. os.open/os.write: the io module's buffered file objects cost more
    than the write."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    try:
        fd = os.open(target, flags, 0o666)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        os.unlink(target)
        fd = os.open(target, flags, 0o666)
    try:
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
