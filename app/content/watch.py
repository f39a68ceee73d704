"""Which files changed: the live preview's watcher over the content, template and static folders.

The operating system says which paths changed (inotify on Linux, FSEvents, ReadDirectoryChanges:
``watchfiles``, which uvicorn's reload already brings), and only those paths are looked at
again. Where notifications cannot be had (no ``watchfiles``, the inotify watch limit reached,
a file system that sends none, as some bind mounts and network shares), a background thread
polls modification times every 300 ms instead: the same on every file system, but each poll
stats every file (0.45 s of CPU per poll at 100,000 files). What changed goes to the ``apply``
callable it was given (``app.web.preview.apply_changes``).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from app.content.profiles import is_profile_file
from app.content.sources import is_content_file, is_side_file

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3
# Notifications: a batch is handed on once no new event came for this long (an editor's save
# is several events: write a temporary file, rename it over the old one).
SETTLE_MS = 50
# How often the notification thread wakes when nothing happens (to see ``stop``; cheap).
WAKE_MS = 1000

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
    """Watches the three folders, hands each change to ``apply``, then counts a generation."""

    def __init__(
        self,
        *,
        content_dir: Path,
        templates_dir: Path,
        static_dir: Path,
        apply: Callable[[Changes], None],
        interval: float = POLL_SECONDS,
        notify: bool = True,
    ) -> None:
        self.interval = interval
        self._notify = notify  # False: poll every ``interval``, never ask for notifications
        self.generation = 0  # bumps once per poll that changed anything
        self._apply = apply
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._roots = {"content": content_dir, "templates": templates_dir, "static": static_dir}
        self._snapshots: dict[str, Snapshot] = {}

    def start(self) -> None:
        self._snapshots = {name: snapshot(root) for name, root in self._roots.items()}
        run = self._run_notified if self._notify else self._run
        self._thread = threading.Thread(target=run, name="preview-watcher", daemon=True)
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

    def _run_notified(self) -> None:
        """Apply what the operating system reports; poll instead if it cannot report."""
        try:
            import watchfiles
        except ImportError:
            self._run()
            return
        ready = False
        try:
            for batch in watchfiles.watch(
                *self._roots.values(),
                watch_filter=None,  # ours: ``_look_again`` skips what ``snapshot`` skips
                debounce=1600,
                step=SETTLE_MS,
                stop_event=self._stop,
                rust_timeout=WAKE_MS,
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                try:
                    if not ready:
                        # The first batch, or the first quiet wake-up: notifications flow
                        # now, so one poll catches what changed since ``start`` looked.
                        ready = True
                        self.poll()
                    if batch:
                        self.notified(path for _change, path in batch)
                except Exception:  # a watcher that dies silently would leave pages stale
                    log.exception("live preview: applying a change failed")
        except Exception as exc:  # e.g. "OS file watch limit reached"
            if self._stop.is_set():
                return
            log.warning(
                "live preview: no file notifications (%s); polling every %g s", exc, self.interval
            )
            self._run()

    def poll(self) -> Changes:
        """Look at every file once; apply what changed; return it (tests call this directly)."""
        changed: dict[str, set[Path]] = {}
        for name, root in self._roots.items():
            after = snapshot(root)
            changed[name] = _changed(self._snapshots.get(name, {}), after)
            self._snapshots[name] = after
        return self._apply_changed(changed)

    def notified(self, paths: Iterable[str]) -> Changes:
        """Look again at the paths the operating system named; apply what changed; return it.

        A path is compared with the snapshot as ``poll`` would (a save that left the bytes'
        time and size as they were changes nothing); a folder made, moved in, removed or
        moved away counts as all the files in it.
        """
        changed: dict[str, set[Path]] = {name: set() for name in self._roots}
        for path in paths:
            name = self._root_of(path)
            if name is not None:
                changed[name] |= self._look_again(name, path)
        return self._apply_changed(changed)

    def _root_of(self, path: str) -> str | None:
        """The watched folder holding ``path`` (the innermost, if one holds another)."""
        found: tuple[int, str] | None = None
        for name, root in self._roots.items():
            folder = str(root)
            if path.startswith(folder + os.sep) and (found is None or len(folder) > found[0]):
                found = (len(folder), name)
        return found[1] if found is not None else None

    def _look_again(self, name: str, path: str) -> set[Path]:
        """What changed at one path of a watched folder, keeping its snapshot up to date."""
        shot = self._snapshots.setdefault(name, {})
        relative = path[len(str(self._roots[name])) + 1 :]
        *folders, leaf = relative.split(os.sep)
        if any(part.startswith(".") for part in folders) or _is_editor_litter(leaf):
            return set()  # as ``snapshot``: hidden folders and editors' litter are not content
        try:
            info = os.stat(path)
        except OSError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            if os.path.islink(path):  # as ``snapshot``: links to folders are not followed
                return set()
            inside = path + os.sep
            before = {p: s for p, s in shot.items() if p.startswith(inside)}
            after = snapshot(Path(path))
            for vanished in before.keys() - after.keys():
                del shot[vanished]
            shot.update(after)
            return _changed(before, after)
        if info is None:
            if shot.pop(path, None) is not None:
                return {Path(path)}
            inside = path + os.sep  # a folder removed or moved away: the files it held
            gone = [p for p in shot if p.startswith(inside)]
            for p in gone:
                del shot[p]
            return {Path(p) for p in gone}
        stamp = (info.st_mtime_ns, info.st_size)
        if shot.get(path) == stamp:
            return set()
        shot[path] = stamp
        return {Path(path)}

    def _apply_changed(self, changed: dict[str, set[Path]]) -> Changes:
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
