"""A finished ``nicepick check``'s problems, reused while nothing under the folder changed.

The per-file parse cache spares the parsing, but a check still decoded every cached result
and applied the cross-file rules to all of them (duplicate slugs, pairs, aliases, links,
authors, profiles): seconds at 100,000 files for an answer that cannot have changed. What a
check reports depends only on the files under the content folder (every reader goes through
``app.content.reading`` and stays inside it), the working folder (paths are shown relative
to it), the day (future dates), ``--strict`` and the code of the content package and of the
check. So the report is kept with a fingerprint of all of those: the path, ``mtime_ns``,
size and inode of every ``*.md`` entry under the folder (one ``lstat`` each, no read: every
file a check reads is a ``*.md``, so a data folder inside the content folder changes
nothing), the same test the parse cache trusts for a file's bytes. Any difference, a file
added, removed, touched or edited anywhere in the folder, and the check runs as before; it
is never partly reused.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import marshal
import os
from dataclasses import astuple
from datetime import date
from pathlib import Path

import app.content as content_package
from app.atomic import write_atomic
from app.content.model import Problem

log = logging.getLogger(__name__)

_FORMAT = 1


@functools.cache
def _rules_version() -> str:
    """The code that decides a report: the whole content package (parser, cross-file rules,
    profiles, writers) and the check itself, so an upgrade never reuses an older answer."""
    digest = hashlib.sha256()
    folders = (Path(content_package.__file__).parent, Path(__file__).parent)
    for module in sorted(path for folder in folders for path in folder.glob("*.py")):
        digest.update(module.read_bytes())
    return digest.hexdigest()


def fingerprint(content_dir: Path, *, today: date | None, strict: bool) -> str:
    """A digest of every input of a check: the ``lstat`` of each entry named ``*.md`` (or
    ``.MD``, ``.markdown``: ``unread_files`` warns of those), and the rest."""
    digest = hashlib.sha256()
    header = (_FORMAT, _rules_version(), str(content_dir), os.getcwd(), str(today), strict)
    digest.update(repr(header).encode())
    rows: list[str] = []
    seen: set[tuple[int, int]] = set()
    # Symbolic links to folders are followed (the profile and side-file readers list a
    # linked ``options/`` or ``authors/``), each real folder once, so a loop ends.
    pending = [str(content_dir)]
    while pending:
        folder = pending.pop()
        try:
            info = os.stat(folder)
            entries = list(os.scandir(folder))
        except OSError as exc:
            rows.append(f"{folder}\0error {exc.errno}")
            continue
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        for entry in entries:
            if entry.name.lower().endswith((".md", ".markdown")):  # as unread_files sees them
                try:
                    own = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    rows.append(f"{entry.path}\0error {exc.errno}")
                else:
                    rows.append(f"{entry.path}\0{own.st_mtime_ns}\0{own.st_size}\0{own.st_ino}")
            try:
                linked_folder = entry.is_dir()  # follows a link, so a linked folder is walked too
            except OSError as exc:  # a loop of links: the parser names it, no traceback here
                rows.append(f"{entry.path}\0error {exc.errno}")
                continue
            if linked_folder:
                pending.append(entry.path)
    rows.sort()
    digest.update("\n".join(rows).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def load_report(path: Path, key: str) -> tuple[tuple[Problem, ...], int] | None:
    """The stored problems and file count when stored under ``key``, else None."""
    try:
        stored_key, problems, files = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if stored_key != key:
        return None
    return tuple(Problem(*row) for row in problems), files


def save_report(path: Path, key: str, problems: tuple[Problem, ...], files: int) -> None:
    """Keep a finished check's problems under ``key`` (atomically; a failure only costs time)."""
    data = marshal.dumps((key, [astuple(problem) for problem in problems], files))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as exc:
        log.warning("cannot write check report %s: %s", path, exc.strerror)
