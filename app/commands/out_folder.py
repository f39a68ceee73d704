"""Which folders ``nicepick build`` may write into: a full build empties OUT first, so OUT
must be new, empty, or a folder a build made.

An outside review found ``nicepick build var`` deleting the readers' notes database with the
rest of the data folder, ``nicepick build content`` the Markdown, and ``nicepick build .``
the whole project: the full build emptied whatever folder it was given. Now a folder that
holds anything but a build (its manifest, the marker of a build stopped halfway, or another
of the ``.nicepick-`` files builds keep there) is refused, and so is one that is, holds or
sits inside the content or data folder.

A full build over a build empties OUT of what builds wrote and keeps the rest (a host's
CNAME, a .git): ``empty_for_full_build``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from app.commands.files import Files
from app.commands.manifest import NAME as MANIFEST_NAME
from app.commands.manifest import UNFINISHED, Manifest, begin_writing

# The files a build keeps in OUT beside the site (``app/commands/manifest.py``: the manifest,
# its changes, the unfinished mark; the search words), by every version so far.
_BUILD_FILES = ".nicepick-"


class UnusableOut(ValueError):
    """OUT cannot take a build; ``str(error)`` says why and what to name instead."""


class OutBusy(Exception):
    """Another build is writing into OUT now."""


@contextmanager
def writing_alone(out: Path) -> Iterator[None]:
    """Hold OUT for one build (made first when it is new): ``OutBusy`` when another build
    holds it. Two builds into one folder at once took each other's files away (a full
    build's emptying raced the other's writes and stopped with a traceback). The lock is the
    folder's own (``flock``), so nothing is written into OUT for it, and the kernel lets it
    go when the process ends, however it ends. A folder made for it is taken away again when
    the build wrote nothing (refused for its content errors)."""
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    held = False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutBusy(
                f"another build is writing into {out}: wait for it to end, then build again"
            ) from None
        except OSError:
            # A file system without flock on a folder (NFS emulates it with a write lock, which
            # a folder opened for reading cannot take): the build goes on unguarded, as before.
            pass
        held = True
        yield
    finally:
        # Only by the build that held it: a second one, refused, took the first one's new
        # folder away (both saw none) and left it writing into one it no longer held.
        if made and held:
            with suppress(OSError):  # not empty: the build is in it
                out.rmdir()
        os.close(descriptor)


class OutTakenAway(OSError):
    """OUT was removed, emptied or replaced while a build wrote into it."""


def still_written(out: Path) -> None:
    """``OutTakenAway`` unless ``out`` still holds the mark this build left when it began
    writing (``begin_writing``): a folder removed or emptied meanwhile was made again by the
    next file written, and the build went on to save a manifest that vouched for every file
    it wrote before (an outside review: 600 pages missing, and the next builds left them so)."""
    if not (out / UNFINISHED).exists():
        raise OutTakenAway(
            f"{out} was removed or emptied while this build wrote into it: build again"
        )


def out_problem(out: Path, *, content_dir: Path, data_dir: Path) -> str | None:
    """Why a build must not write into ``out``, or None when it may."""
    if out.is_symlink():
        # A full build empties OUT: through a link, the folder it names (or a loop, or
        # nothing at all), none of which the checks below would see as OUT.
        return f"OUT {out} is a symbolic link: name the folder itself"
    if out.exists() and not out.is_dir():
        return f"OUT {out} is a file, not a folder: name a folder for the site"
    under = next((p for p in out.absolute().parents if p.exists() and not p.is_dir()), None)
    if under is not None:
        return f"OUT {out} is under {under}, a file: name a folder for the site"
    try:
        target = out.resolve()
    except (OSError, RuntimeError) as error:  # a loop of links above it
        return f"OUT {out} cannot be resolved: {error}"
    for what, folder in (("content", content_dir), ("data", data_dir)):
        theirs = folder.resolve()
        if target == theirs:
            return (
                f"OUT {out} is the {what} folder: "
                "name a folder outside it (a build replaces everything in OUT)"
            )
        if target.is_relative_to(theirs):
            return (
                f"OUT {out} is inside the {what} folder {folder}: "
                "name a folder outside it (a build replaces everything in OUT)"
            )
        if theirs.is_relative_to(target):
            return (
                f"OUT {out} holds the {what} folder {folder}: "
                "name a folder of its own (a build replaces everything in OUT)"
            )
    if out.is_dir():
        try:
            names = os.listdir(out)
        except OSError as error:
            return f"OUT {out} cannot be read: {error.strerror}"
        if names and not any(name.startswith(_BUILD_FILES) for name in names):
            first = min(names)
            return (
                f"OUT {out} holds files that no build wrote ({first}, ...): name a new or "
                "empty folder (a build replaces everything in OUT), or empty it first"
            )
        linked = sorted(name for name in names if _built_name(name) and (out / name).is_symlink())
        if linked:
            # A build writes (and a full one removes) files through it: outside OUT.
            return (
                f"OUT {out} holds a symbolic link where a build writes ({linked[0]}): "
                "remove it (a build would write and delete files where it points)"
            )
    return None


def check_out(out: Path, *, content_dir: Path, data_dir: Path) -> None:
    """Raise ``UnusableOut`` when a build must not write into ``out``."""
    problem = out_problem(out, content_dir=content_dir, data_dir=data_dir)
    if problem is not None:
        raise UnusableOut(problem)


# Entries a build writes at OUT's top that no route lists (the crawl or the build's own steps
# write them); a build's manifest names them too, so these count only without one.
_WRITTEN_UNLISTED = frozenset(
    {"404.html", "_redirects", "nginx-redirects.map", "search-index", "static", "docs", "og"}
)
_NUMBERED = re.compile(r"sitemap-[0-9]+\.xml|page-[0-9]+(?:\.json)?")
# Entries at OUT's top that every build with pages of these kinds writes (a plain page's
# folder, named by its editor, is not among them).
_ALWAYS_BUILT = _WRITTEN_UNLISTED | {
    ".json",
    "author",
    "best",
    "categories",
    "categories.json",
    "category",
    "compare",
    "feed.xml",
    "index.html",
    "openapi.json",
    "option",
    "robots.txt",
    "search",
    "search.json",
    "sitemap.xml",
    "tag",
    "tags",
    "tags.json",
}


def _built_name(name: str) -> bool:
    return name in _ALWAYS_BUILT or _NUMBERED.fullmatch(name) is not None


def empty_for_full_build(
    out: Path, *, precompress: bool, tops: Callable[[], Iterable[str]]
) -> None:
    """Ready ``out`` (a build's folder) for a full build: remove what builds wrote and keep
    any other file (a host's CNAME, a .git).

    After a whole build its manifest lists every file it wrote: those go, whatever code made
    them. A build stopped halfway listed nothing of what it wrote, so then every entry at
    OUT's top that a build makes goes whole: those the last whole build's manifest names
    (still there: a manifest is replaced only when a build ends), those ``tops`` names (the
    top-level names of this build's pages) and the few every build writes. Everything
    before kept all or nothing: after Ctrl-C, the next build deleted a checkout's .git."""
    built = Manifest.load(out)  # None after a build stopped halfway
    # Marked before the first file goes: stopped while emptying, OUT must not keep a
    # manifest the next build trusts over a folder half emptied (an outside review: the
    # next build was incremental and left 7,619 files missing or stale).
    begin_writing(out)
    if built is not None:
        names = [name.lstrip("/") for name in built.files]
        _clear_folders(out, {folder for name in names for folder in _folders_of(name)})
        files = Files(out, built.files, precompress=precompress)
        for name in built.files:
            files.remove(name)
    else:
        ours = {*tops(), *_ALWAYS_BUILT}
        try:
            last = Manifest.parse((out / MANIFEST_NAME).read_bytes())
        except OSError:
            last = None
        if last is not None:
            ours.update(name.lstrip("/").split("/", 1)[0] for name in last.files)
        for name in os.listdir(out):
            path = out / name
            # With the compressed copies of a build's own files (--precompress): nginx's
            # gzip_static serves a .gz whose file is gone.
            base = name.removesuffix(".gz").removesuffix(".br")
            if name.startswith(_BUILD_FILES) or not (base in ours or _NUMBERED.fullmatch(base)):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for name in os.listdir(out):
        if name.startswith(_BUILD_FILES) and name != UNFINISHED and (out / name).is_file():
            (out / name).unlink()


def _folders_of(name: str) -> Iterator[str]:
    """``a/b/c.html`` -> ``a``, ``a/b``: the folders a build's file is in, from OUT's top."""
    parts = name.split("/")[:-1]
    for end in range(1, len(parts) + 1):
        yield "/".join(parts[:end])


def _clear_folders(out: Path, folders: Iterable[str]) -> None:
    """Remove what stands where the last build had these folders and is not one: a
    symbolic link (removing the files of a build through one deleted files outside OUT,
    and writing through it replaced them), or a file (the build stopped on it). A link is
    removed itself, never what it points to. Top folders first: below a link, nothing."""
    for folder in sorted(folders, key=lambda name: name.count("/")):
        path = out / folder
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
