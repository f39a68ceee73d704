"""Which files of the content folder are comparisons, how editors see their names, and what
one file parses to (``parse_file``): the library (``app/content/library.py``) loads these,
the file watcher and ``check`` name them the same way.
"""

from __future__ import annotations

import codecs
import errno
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from app.content.model import Comparison, Problem, slugify
from app.content.parse import parse_text
from app.content.reading import NotContent, read_content


class ContentFolderMissing(FileNotFoundError):
    """The content folder does not exist: refuse to start rather than serve an empty site.

    An empty site answers 404 to every page while health checks say 200, so a typo in
    ``NICEPICK_CONTENT_DIR`` would take a site down without any alarm.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(
            errno.ENOENT,
            f"content folder {folder} does not exist (set NICEPICK_CONTENT_DIR or pass --content)",
        )
        self.folder = folder

    def __str__(self) -> str:
        return str(self.strerror)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    display: str  # path as editors see it in messages
    slug: str


# Top-level folders of the content folder whose files are not comparisons: authors, option
# profiles (app.content.profiles) and standalone pages, each read by its own rules.
NON_COMPARISON_FOLDERS = ("authors", "options", "pages")


def is_content_file(path: Path, content_dir: Path) -> bool:
    """A comparison file: ``*.md`` under the folder, not a README, not in a hidden folder,
    not in one of the ``NON_COMPARISON_FOLDERS``."""
    try:
        relative = path.relative_to(content_dir)
    except ValueError:
        return False
    return (
        path.suffix == ".md"
        and path.name.lower() != "readme.md"
        and not any(part.startswith(".") for part in relative.parts)
        and not (len(relative.parts) > 1 and relative.parts[0] in NON_COMPARISON_FOLDERS)
    )


# The non-comparison folders this module reads itself (content/options/ has its own reader).
SIDE_FOLDERS = ("authors", "pages")


def is_side_file(path: Path, content_dir: Path) -> bool:
    """A writer or a plain page: ``authors/<slug>.md`` or ``pages/<slug>.md``."""
    return in_top_folder(path, content_dir, SIDE_FOLDERS)


def in_top_folder(path: Path, content_dir: Path, folders: Collection[str]) -> bool:
    """A file another reader than the comparisons' takes: ``<folder>/<name>.md`` directly in
    one of ``folders`` at the content folder's top, neither hidden nor a README (the
    folder's own note)."""
    try:
        relative = path.relative_to(content_dir)
    except ValueError:
        return False
    return (
        len(relative.parts) == 2
        and relative.parts[0] in folders
        and path.suffix == ".md"
        and not path.name.startswith(".")
        and path.name.lower() != "readme.md"
    )


def source_file(path: Path, cwd: str | None = None) -> SourceFile:
    """Name a file as editors see it: relative to the working folder when it is inside it."""
    display = str(path)
    if cwd is not None and display.startswith(cwd):
        # Inside the working folder (``cwd`` ends with a separator): what relpath would give.
        return SourceFile(path, display[len(cwd) :], path.stem)
    if path.is_absolute():
        try:
            display = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            pass
        if display.startswith(".."):
            display = str(path)
    return SourceFile(path, display, path.stem)


def discover(content_dir: Path) -> list[SourceFile]:
    """Every ``*.md`` comparison under the folder (subfolders too), README files excepted."""
    return sources_in(content_dir, comparison_paths(content_dir))


def comparison_paths(content_dir: Path) -> list[tuple[str, ...]]:
    """Each comparison file's path parts under the folder, sorted: ``discover`` without a
    ``SourceFile`` per file (the quick build compares them with its record).

    The rules of ``is_content_file`` and the order of ``sorted(rglob("*.md"))`` (by path
    parts), with ``os.walk``: ~5x faster on 10,000 files than building and testing Paths.
    """
    found: list[tuple[str, ...]] = []
    root = str(content_dir)
    for folder, subfolders, names in os.walk(root):
        relative = os.path.relpath(folder, root)
        parts = () if relative == "." else tuple(relative.split(os.sep))
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith(".") and (parts or name not in NON_COMPARISON_FOLDERS)
        ]
        found.extend(
            (*parts, name)
            for name in names
            if name.endswith(".md")
            and len(name) > 3
            and name.lower() != "readme.md"
            and not name.startswith(".")
        )
    found.sort()
    return found


def unread_files(content_dir: Path) -> list[Problem]:
    """A warning for each file an editor may have meant as a page that no reader takes: a
    name ending ``.MD`` or ``.markdown`` (pages are ``*.md``), or starting with a dot (hidden,
    as an editor's backup or a copy made by a file manager may be). The server skips them
    without a word; ``check`` says so. Hidden folders (``.git``) are not looked into."""
    found: list[Problem] = []
    root = str(content_dir)
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in sorted(names):
            lower = name.lower()
            if not lower.endswith((".md", ".markdown")) or lower == "readme.md":
                continue
            if name.startswith("."):
                reason = f'a name starting with "." is hidden: rename it {name.lstrip(".")}'
            elif not name.endswith(".md"):
                stem = name[: -len(".markdown")] if lower.endswith(".markdown") else name[:-3]
                reason = f'pages are read from files ending in ".md": rename it {stem}.md'
            else:
                continue
            display = source_file(Path(folder, name), None).display
            found.append(Problem(display, 1, 1, "warning", f"not read: {reason}"))
    return found


def sources_in(content_dir: Path, found: Sequence[tuple[str, ...]]) -> list[SourceFile]:
    """The files at these paths (parts under the folder, in this order), named as
    ``source_file`` names them: ``discover``'s result from its listing."""
    cwd = os.getcwd().rstrip(os.sep) + os.sep
    absolute = content_dir.is_absolute() and ".." not in content_dir.parts
    folder = str(content_dir).rstrip(os.sep) + os.sep
    if absolute and not folder.startswith(cwd) and not cwd.startswith(folder):
        # Neither holds the other: editors see absolute paths (``source_file`` would find
        # the same through one ``relpath`` per file: ~2 s of a warm start at 100,000 files).
        # The stem is the name without ".md" (every name found ends so).
        return [
            SourceFile(path, str(path), parts[-1][:-3])
            for parts in found
            for path in (_child(content_dir, parts),)
        ]
    return [source_file(_child(content_dir, parts), cwd if absolute else None) for parts in found]


def _child(folder: Path, parts: tuple[str, ...]) -> Path:
    """``folder.joinpath(*parts)`` for names listed by the file system (no separator, never
    "." nor ".."): through pathlib's own child constructor where it has one, which skips
    parsing the names again (a third of the cost of 100,000 paths)."""
    if not _MAKE_CHILD:  # not in every Python version: the public way
        return folder.joinpath(*parts)
    path = folder
    for part in parts:
        path = path._make_child_relpath(part)  # type: ignore[attr-defined]
    return path


_MAKE_CHILD = hasattr(Path, "_make_child_relpath")


def top_level_files(content_dir: Path) -> tuple[list[str], bool]:
    """The content file names directly in the folder, in ``discover`` order, and whether it
    has subfolders. One ``scandir``: a start-up decision that must not cost a full walk."""
    names: list[str] = []
    nested = False
    try:
        entries = list(os.scandir(content_dir))
    except OSError:
        return [], False
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            nested = nested or entry.name not in NON_COMPARISON_FOLDERS
        elif entry.name.endswith(".md") and entry.name.lower() != "readme.md":
            names.append(entry.name)
    names.sort()
    return names, nested


def slug_for(stem: str) -> str:
    """The slug a file's name gives its page (``Vim vs Emacs.md`` -> ``vim-vs-emacs``)."""
    return slugify(stem) or stem


def parse_file(
    source: SourceFile, today: date | None = None
) -> tuple[Comparison | None, list[Problem]]:
    try:
        data = read_content(source.path)
    except NotContent as exc:
        return None, [Problem(source.display, 1, 1, "error", str(exc.strerror))]
    except OSError as exc:
        return None, [Problem(source.display, 1, 1, "error", f"cannot read: {exc.strerror}")]
    return parse_bytes(source, data, today)


def parse_bytes(
    source: SourceFile, data: bytes, today: date | None = None, *, digest: str | None = None
) -> tuple[Comparison | None, list[Problem]]:
    """``parse_file`` of the bytes already read from the file (a worker reads each once);
    ``digest``, their SHA-256 when the caller made it already (a parse cache does)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(source.display, 1, 1, "error", f"not UTF-8 text: {exc.reason}")]
    # The comparison's content hash is that of its text without a byte order mark, encoded
    # again: the very bytes read, unless they start with a mark.
    known = digest if digest is not None and not data.startswith(codecs.BOM_UTF8) else None
    return parse_text(
        text, path=source.display, slug=slugify(source.slug), today=today, content_hash=known
    )
