"""Which folders ``nicepick build`` may write into: a full build empties OUT first, so OUT
must be new, empty, or a folder a build made.

An outside review found ``nicepick build var`` deleting the readers' notes database with the
rest of the data folder, ``nicepick build content`` the Markdown, and ``nicepick build .``
the whole project: the full build emptied whatever folder it was given. Now a folder that
holds anything but a build (its manifest, the marker of a build stopped halfway, or another
of the ``.nicepick-`` files builds keep there) is refused, and so is one that is, holds or
sits inside the content or data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

# The files a build keeps in OUT beside the site (``app/commands/manifest.py``: the manifest,
# its changes, the unfinished mark; the search words), by every version so far.
_BUILD_FILES = ".nicepick-"


class UnusableOut(ValueError):
    """OUT cannot take a build; ``str(error)`` says why and what to name instead."""


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
    return None


def check_out(out: Path, *, content_dir: Path, data_dir: Path) -> None:
    """Raise ``UnusableOut`` when a build must not write into ``out``."""
    problem = out_problem(out, content_dir=content_dir, data_dir=data_dir)
    if problem is not None:
        raise UnusableOut(problem)
