"""Which files changed: the live preview's watcher over the content, template and static folders.

A background thread polls modification times every 300 ms (a few dozen ``stat`` calls: no
extra dependency, and it behaves the same on every filesystem, bind mounts included). What
changed goes to the ``apply`` callable it was given (``app.web.preview.apply_changes``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.content.library import is_content_file, is_side_file
from app.content.profiles import is_profile_file

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3

Snapshot = dict[str, tuple[int, int]]  # path -> (mtime_ns, size)


@dataclass(frozen=True, slots=True)
class Changes:
    """What one poll found, by watched folder."""

    content: frozenset[Path]
    templates: bool
    static: bool

    def __bool__(self) -> bool:
        return bool(self.content) or self.templates or self.static


def _is_editor_litter(name: str) -> bool:
    """Swap, backup and lock files editors write next to the file being saved."""
    return (
        name.startswith((".", "#"))
        or name.endswith(("~", ".swp", ".swx", ".tmp"))
        or name == "4913"  # vim's write-permission probe
    )


def snapshot(root: Path) -> Snapshot:
    """``(mtime_ns, size)`` of every file under ``root``, hidden folders skipped.

    ``scandir`` and string paths: at 100,000 files, building a ``Path`` per file made each poll
    cost about a second of CPU (issue 18); only changed paths become ``Path`` objects.
    """
    found: Snapshot = {}
    pending = [str(root)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # deleted or unreadable meanwhile
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir():  # as os.walk: links to folders are not followed
                    if not name.startswith(".") and not entry.is_symlink():
                        pending.append(entry.path)
                    continue
                if _is_editor_litter(name):
                    continue
                info = entry.stat()
            except OSError:  # deleted between listing and stat
                continue
            found[entry.path] = (info.st_mtime_ns, info.st_size)
    return found


def _changed(before: Snapshot, after: Snapshot) -> set[Path]:
    if before.keys() == after.keys():
        return {Path(p) for p, stamp in after.items() if before[p] != stamp}
    return {Path(p) for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


class Watcher:
    """Polls the three folders, hands each change to ``apply``, then counts a generation."""

    def __init__(
        self,
        *,
        content_dir: Path,
        templates_dir: Path,
        static_dir: Path,
        apply: Callable[[Changes], None],
        interval: float = POLL_SECONDS,
    ) -> None:
        self.interval = interval
        self.generation = 0  # bumps once per poll that changed anything
        self._apply = apply
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._roots = {"content": content_dir, "templates": templates_dir, "static": static_dir}
        self._snapshots: dict[str, Snapshot] = {}

    def start(self) -> None:
        self._snapshots = {name: snapshot(root) for name, root in self._roots.items()}
        self._thread = threading.Thread(target=self._run, name="preview-watcher", daemon=True)
        self._thread.start()
        log.info("live preview: watching %s", ", ".join(str(r) for r in self._roots.values()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # a watcher that dies silently would leave pages stale
                log.exception("live preview: applying a change failed")

    def poll(self) -> Changes:
        """Look once; apply what changed; return it (tests call this directly)."""
        changed: dict[str, set[Path]] = {}
        for name, root in self._roots.items():
            after = snapshot(root)
            changed[name] = _changed(self._snapshots.get(name, {}), after)
            self._snapshots[name] = after
        content_dir = self._roots["content"]
        changes = Changes(
            content=frozenset(
                p
                for p in changed["content"]
                if is_content_file(p, content_dir)
                or is_profile_file(p, content_dir)
                or is_side_file(p, content_dir)
            ),
            templates=bool(changed["templates"]),
            static=bool(changed["static"]),
        )
        if changes:
            self._apply(changes)
            self.generation += 1
        return changes
