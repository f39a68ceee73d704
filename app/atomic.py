"""Write a file whole or not at all: a temporary file beside it, then a rename.

A reader (another worker, the next start) sees the old file or the new one, never half of
one. The temporary file is removed when anything fails on the way (a full disk, a quota, a
file-size limit, an interrupt), so a failed write leaves nothing behind: Jinja's own
``FileSystemBytecodeCache.dump_bytecode`` does the same (``remove_silent``), and so must every
cache of ours, or each failed attempt on a full disk leaves one more empty ``*.tmp`` file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(
    path: Path, data: bytes | Iterable[bytes], *, mode: int = 0o644, exclusive: bool = False
) -> None:
    """Put ``data`` at ``path`` through a temporary file; leave no temporary file on failure.

    ``data`` may come in parts (written one after the other), so a large file is never
    joined into one more copy in memory first.

    ``mode`` is set before the data is visible (``mkstemp`` makes 0600 files; a cache is
    0644 like any file we write, a secret stays 0600 from the start). ``exclusive``
    publishes with ``link`` instead of ``rename``: it fails with ``FileExistsError`` when
    ``path`` exists, as ``O_EXCL`` does, but the file appears complete, so a competing
    process never reads it empty.
    """
    _publish(path, data, mode=mode, exclusive=exclusive, reader=False)


def write_atomic_and_open(path: Path, data: bytes | Iterable[bytes], *, mode: int = 0o644) -> int:
    """``write_atomic``, and a descriptor open for reading the file just written: that very
    file, even when another process renames its own over ``path`` right after ours (opening
    ``path`` again would read theirs)."""
    reader = _publish(path, data, mode=mode, exclusive=False, reader=True)
    assert reader is not None
    return reader


def _publish(
    path: Path, data: bytes | Iterable[bytes], *, mode: int, exclusive: bool, reader: bool
) -> int | None:
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    opened: int | None = None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            if isinstance(data, bytes):
                handle.write(data)
            else:
                handle.writelines(data)
            if exclusive:
                handle.flush()
                os.fsync(handle.fileno())  # a key must survive a crash right after creation
        if reader:
            opened = os.open(temporary, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        if exclusive:
            os.link(temporary, path)
        else:
            os.replace(temporary, path)
    except BaseException:
        if opened is not None:
            os.close(opened)
        raise
    finally:
        # After a rename the name is gone (FileNotFoundError); after a link or any failure it
        # is still there and must go.
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return opened
