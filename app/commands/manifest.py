"""The build's manifest, ``OUT/.nicepick-build.marshal``: what the next build needs to rewrite
only what changed.

It records what the folder was built from (``fingerprint``: the code, templates, static files,
the settings that reach the bytes, and the files that are not comparisons: writers, option
profiles and plain pages; any difference means a full build), when (the forms'
tokens keep that time, ``app/feedback/tokens.py``), each page's source (slug -> content hash),
the notes' counts it shows (``app/commands/meters.py``) and the listings it belongs to, which
exported URLs link to each comparison, the redirects, and every file's digest. An incremental
build re-renders the pages a changed comparison can appear on and those whose counts changed,
writes a file only when its bytes differ, and lists what it wrote in ``rewritten``.
A quick build (``app/commands/quick.py``) records its few changes beside it (``Changes``);
``load`` applies them, and the next ``save`` folds them in.

The manifest is ``marshal`` data: it names every file of the build (75,000 at 10,000
comparisons, ~15 MB), and every incremental build reads it and writes it again, which JSON
made ~0.3 s of a one-page edit's build against a few hundredths of a second for ``marshal``.
It holds only dicts, lists, strings and numbers, which ``marshal`` writes in one format
across Python 3 versions; a file it cannot read is no manifest (a full build).
"""

from __future__ import annotations

import hashlib
import json
import marshal
from dataclasses import dataclass, field
from pathlib import Path

from app.content.sources import NON_COMPARISON_FOLDERS
from app.settings import PACKAGE_DIR, Settings

NAME = ".nicepick-build.marshal"
# The manifest as builds before ``marshal`` wrote it: removed by ``save`` (nothing reads it).
_OLD_NAMES = (".nicepick-build.json",)
# What quick builds (app/commands/quick.py) changed since: a few entries, where saving the
# whole manifest again would cost more than the rest of such a build (0.4 s at 2,000 pages).
CHANGES = ".nicepick-build-changes.json"
# In OUT while a build writes into it. A build stopped halfway (Ctrl-C, a crash, a full disk)
# leaves files of its own beside the last build's manifest, which would vouch for them: the
# next build, trusting it, rewrote none of them (an outside review: 261 stale files after a
# reverted edit). With this file there, no manifest is trusted and the next build is full.
UNFINISHED = ".nicepick-build-unfinished"
_FORMAT = 1


def begin_writing(out: Path) -> None:
    """Mark ``out`` as being written (before the first file of a build goes in)."""
    (out / UNFINISHED).touch()


def end_writing(out: Path) -> None:
    """``out`` holds a whole build again, its manifest (and quick record) saved."""
    (out / UNFINISHED).unlink(missing_ok=True)


def unfinished(out: Path) -> bool:
    """Whether a build into ``out`` stopped before it was whole (``begin_writing``)."""
    return (out / UNFINISHED).exists()


def digest(body: bytes) -> str:
    """A file's identity in the manifest: 96 bits of SHA-256, which processors hash in
    hardware (SHA extensions: twice BLAKE2b's speed here), for the 600 MB a large build
    writes. Another digest is other code, so another ``fingerprint``: no build compares it
    with an older manifest's."""
    return hashlib.sha256(body).hexdigest()[:24]


@dataclass
class Manifest:
    fingerprint: str
    built_at: float
    sources: dict[str, str] = field(default_factory=dict)  # slug -> content hash
    # slug -> its listings' paths and its publication date: what its neighbours' pages
    # (listings, related comparisons) depend on
    placed: dict[str, list[str]] = field(default_factory=dict)
    linked_from: dict[str, list[str]] = field(default_factory=dict)  # slug -> URLs linking it
    # A file no route lists that pages' text links (not the frame of every page), by its
    # name in OUT -> the URLs linking it (``share.Share.files_from``)
    files_from: dict[str, list[str]] = field(default_factory=dict)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path in OUT -> digest
    rewritten: list[str] = field(default_factory=list)  # paths this build wrote
    # The header's categories (slug, name) on every page: ``incremental.menu``
    menu: list[list[str]] = field(default_factory=list)
    sitemap: str = ""  # ``incremental.sitemap_key`` of the pages built (none: not known)
    # ``incremental.boards``: each category's standings' inputs (a category missing: not known)
    boards: dict[str, str] = field(default_factory=dict)
    # slug -> digest of the notes' counts its page was rendered with (``meters.digests``;
    # a page without notes has none): a note changes no content hash
    meters: dict[str, str] = field(default_factory=dict)

    def save(self, out: Path) -> bytes:
        """Write the manifest into ``out``; its bytes (the quick record names them)."""
        # Not dataclasses.asdict: it deep-copies every value, 0.5 s for 2,000 comparisons.
        document = {"format": _FORMAT, **vars(self)}
        data = marshal.dumps(document)
        (out / NAME).write_bytes(data)
        (out / CHANGES).unlink(missing_ok=True)  # folded in above
        for old in _OLD_NAMES:
            (out / old).unlink(missing_ok=True)
        return data

    @classmethod
    def load(cls, out: Path) -> Manifest | None:
        """The manifest of the build in ``out`` with the quick builds' changes since, or None
        (none, unreadable, older format, or a build since that did not finish)."""
        if unfinished(out):
            return None
        try:
            data = (out / NAME).read_bytes()
        except OSError:
            return None
        manifest = cls.parse(data)
        changes = Changes.load(out)
        if manifest is not None and changes is not None and changes.base == digest(data):
            manifest.files.update(changes.files)
            manifest.sources.update(changes.sources)
            for slug, urls in changes.linked_from.items():
                manifest.linked_from[slug] = sorted({*manifest.linked_from.get(slug, ()), *urls})
            for slug, counted in changes.meters.items():
                if counted is None:
                    manifest.meters.pop(slug, None)
                else:
                    manifest.meters[slug] = counted
            manifest.rewritten = changes.rewritten
        return manifest

    @classmethod
    def parse(cls, data: bytes) -> Manifest | None:
        """The manifest these bytes hold, or None (unreadable, older format)."""
        try:
            document = marshal.loads(data)
            if document.pop("format") != _FORMAT:
                return None
            manifest = cls(**document)
            manifest.redirects = [(source, target) for source, target in manifest.redirects]
        except (EOFError, ValueError, TypeError, KeyError, AttributeError):
            return None
        return manifest


def fingerprint(settings: Settings, *, cards: bool, precompress: bool = False) -> str:
    """What every page's bytes depend on besides the content: our code, templates and static
    files, and the settings that reach a page. Two builds with one fingerprint differ only by
    their content."""
    h = hashlib.blake2b(digest_size=16)
    roots = [PACKAGE_DIR, settings.templates_dir, settings.static_dir]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    reached = {
        "site_url": settings.site_url,
        "site_name": settings.site_name,
        "feedback_to": settings.feedback_to,
        "feedback_endpoint": settings.feedback_endpoint,
        "secret": hashlib.sha256((settings.secret_key or "").encode()).hexdigest(),
        "cache_seconds": settings.cache_seconds,
        "cards": cards,
        "precompress": precompress,
    }
    h.update(json.dumps(reached, sort_keys=True).encode())
    # Writers, profiles and plain pages reach many pages (bylines, facts tables, the footer)
    # through no comparison's hash: a few small files, rarely edited, so any edit rebuilds all.
    for folder in NON_COMPARISON_FOLDERS:
        for path in sorted((settings.content_dir / folder).glob("*.md")):
            if path.is_file():  # not a named pipe, which would block the read
                h.update(f"{folder}/{path.name}".encode())
                h.update(path.read_bytes())
    return h.hexdigest()


@dataclass
class Changes:
    """Quick builds' changes to the manifest whose bytes have digest ``base``."""

    base: str
    files: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    linked_from: dict[str, list[str]] = field(default_factory=dict)  # URLs to add
    rewritten: list[str] = field(default_factory=list)  # by the last quick build
    meters: dict[str, str | None] = field(default_factory=dict)  # new digests; None: no notes

    def save(self, out: Path) -> bytes:
        """Write the changes; return the bytes written."""
        data = json.dumps({"format": _FORMAT, **vars(self)}, separators=(",", ":")).encode()
        (out / CHANGES).write_bytes(data)
        return data

    @classmethod
    def load(cls, out: Path) -> Changes | None:
        try:
            document = json.loads((out / CHANGES).read_bytes())
            if document.pop("format") != _FORMAT:
                return None
            return cls(**document)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
