"""Live preview for ``nicepick serve --reload``: watch files, re-read what changed, tell browsers.

A background thread polls modification times of ``content/``, ``templates/`` and ``static/``
every 300 ms (a few dozen ``stat`` calls: no extra dependency, and it behaves the same on
every filesystem, bind mounts included). A changed content file is re-parsed alone
(``Library.reload_file``), which bumps the library version so every cached page misses; a
template change clears the page cache (Jinja's ``auto_reload`` re-reads the template); a static
change drops asset fingerprints. Browsers learn of it through server-sent events at
``/__preview/events``, which ``static/preview.js`` turns into a page reload.

A file that no longer parses is not served stale: its page answers with ``preview_error.html``
showing ``path:line``, the message and the lines around it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from app.content.library import is_content_file
from app.content.model import Problem
from app.content.reading import read_content_text
from app.pages.base import render_html
from app.pages.errors import BrokenFilePage, ProblemExcerpt
from app.site import Site

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3
EVENTS_PATH = "/__preview/events"
# An event stream ends after this long and the browser reconnects at once (``retry``):
# uvicorn waits for open responses on shutdown, so no stream may be endless.
STREAM_SECONDS = 20.0
CONTEXT_LINES = 3

Snapshot = dict[Path, tuple[int, int]]  # path -> (mtime_ns, size)


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
    """``(mtime_ns, size)`` of every file under ``root``, hidden folders skipped."""
    found: Snapshot = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if _is_editor_litter(name):
                continue
            path = Path(folder, name)
            try:
                info = path.stat()
            except OSError:  # deleted between listing and stat
                continue
            found[path] = (info.st_mtime_ns, info.st_size)
    return found


def _changed(before: Snapshot, after: Snapshot) -> set[Path]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


class Watcher:
    """Polls the three folders and applies each change to the site, then counts a generation."""

    def __init__(self, site: Site, *, interval: float = POLL_SECONDS) -> None:
        self.site = site
        self.interval = interval
        self.generation = 0  # bumps once per poll that changed anything
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        settings = site.settings
        self._roots = {
            "content": settings.content_dir,
            "templates": settings.templates_dir,
            "static": settings.static_dir,
        }
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
            content=frozenset(p for p in changed["content"] if is_content_file(p, content_dir)),
            templates=bool(changed["templates"]),
            static=bool(changed["static"]),
        )
        if changes:
            self.apply(changes)
        return changes

    def apply(self, changes: Changes) -> None:
        library = self.site.library
        for path in sorted(changes.content):
            problems = library.reload_file(path)
            errors = sum(1 for p in problems if p.severity == "error")
            log.info("live preview: reloaded %s (%d errors)", path, errors)
        if changes.templates:
            self.site.cache.clear()
            log.info("live preview: templates changed")
        if changes.static:
            self.site.assets_changed()
            log.info("live preview: static files changed")
        self.generation += 1


class Preview:
    """The watcher plus the event stream browsers listen to; built only when reload is on."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.watcher = Watcher(site)
        # A new token per process: a page open across a restart reloads when it reconnects.
        self._boot = uuid.uuid4().hex[:8]
        self.router = APIRouter()
        self.router.add_api_route(
            EVENTS_PATH, self.events, methods=["GET"], include_in_schema=False
        )

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()

    def token(self) -> str:
        return f"{self._boot}-{self.watcher.generation}"

    async def events(self, request: Request) -> StreamingResponse:
        return StreamingResponse(
            self._stream(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request) -> AsyncIterator[str]:
        seen = self.watcher.generation
        yield f"retry: 300\nevent: hello\ndata: {self.token()}\n\n"
        deadline = time.monotonic() + STREAM_SECONDS
        ticks = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if await request.is_disconnected():
                return
            if self.watcher.generation != seen:
                seen = self.watcher.generation
                yield f"event: change\ndata: {self.token()}\n\n"
            ticks += 1
            if ticks % 50 == 0:
                yield ": keep-alive\n\n"  # proxies close silent connections


# --- the error page for a file that stopped parsing ----------------------------------------


def broken_page(site: Site, slug: str) -> bytes | None:
    """The preview error page for ``/compare/<slug>`` when its file has errors, else None."""
    context = broken_context(site, slug)
    return None if context is None else render_html(site.env, context)


def broken_context(site: Site, slug: str) -> BrokenFilePage | None:
    """The file, and each error with the lines around it."""
    source = site.library.source_for_slug(slug)
    if source is None:
        return None
    errors = [p for p in site.library.problems_for(source.path) if p.severity == "error"]
    if not errors:
        return None
    # The content reader: a link (to the data folder's secret, say) or a pipe is not shown.
    text = read_content_text(source.path)
    lines = text.splitlines() if text is not None else []
    return BrokenFilePage(
        source=source.display, problems=tuple(_with_excerpt(p, lines) for p in errors)
    )


def _with_excerpt(problem: Problem, lines: list[str]) -> ProblemExcerpt:
    return ProblemExcerpt(
        path=problem.path,
        line=problem.line,
        column=problem.column,
        severity=problem.severity,
        message=problem.message,
        excerpt=tuple(excerpt(lines, problem.line)),
    )


def excerpt(lines: list[str], line: int) -> Iterator[tuple[int, str, bool]]:
    """``(number, text, is_the_line)`` for the line and ``CONTEXT_LINES`` either side."""
    first = max(1, line - CONTEXT_LINES)
    last = min(len(lines), line + CONTEXT_LINES)
    for number in range(first, last + 1):
        yield number, lines[number - 1], number == line
