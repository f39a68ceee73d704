"""What a quick incremental build (``app/commands/quick.py``) checks an edit against: a
record written after every build, kept in the data folder (``record_path``), not in OUT: it
names every content file, drafts and scheduled pages included, and OUT is published.

Per comparison file: its ``stat`` (size, mtime), its slug, whether readers saw it, and a
digest of what *other* files of the build show of it: every field except those only its own
page, its JSON twin, the search index and the feed read (``BODY_ONLY``). When an edit leaves
that digest unchanged, no listing, tag, option, best-of, home or redirect page, sitemap, card
or search result chunk can change, so the quick build re-renders the page (and the feed when
the page is in it) and patches the search index.

Beside it: what that page's neighbours need without the library (the header's categories,
the feed's pages, the search index's page order and shard sizes), the digest of the notes'
counts each page shows (``app/commands/meters.py``), what is known to exist
(slugs and aliases, for the body's links), and the moment the visible set would next change
(a scheduled page going live). The record names the manifest it belongs to by its digest, so
a record left by an interrupted build is never trusted.

It is ``marshal`` data: a quick build reads it in a few milliseconds, where the manifest's
JSON of every output file is the larger read.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Literal

from app.atomic import write_atomic
from app.commands.manifest import CHANGES, Manifest, digest
from app.commands.manifest import NAME as MANIFEST_NAME
from app.content.cache import encoded_comparison
from app.content.library import Library
from app.content.model import Comparison

NAME = "quick.marshal"
_FORMAT = 1


def record_path(out: Path, data_dir: Path) -> Path:
    """Where the record of the build in ``out`` is kept: the data folder, one per output
    folder (named by its absolute path's digest)."""
    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    return data_dir / "builds" / key / NAME


# Fields only the comparison's own page (HTML, JSON twin, JSON-LD), the search index and the
# feed (the bottom line) read: other pages are built from the rest (cards, listings, sitemap,
# option pages' pros and cons). ``links`` is checked against what exists by the quick build;
# ``listing_links`` only by ``check`` (a link to a listing that is gone is a warning there).
BODY_ONLY = (
    "intro",
    "verdict",
    "use_cases",
    "bottom_line",
    "content_hash",
    "links",
    "listing_links",
)
_NAMES = [f.name for f in fields(Comparison)]
_BLANKED = [_NAMES.index(name) for name in BODY_ONLY]
_OPTIONS = _NAMES.index("options")
_DESCRIPTION = 2  # Option's fields: name, slug, description, pros, cons, related


def shown_digest(comparison: Comparison) -> str:
    """Digest of what other pages show of a comparison (everything but ``BODY_ONLY`` and the
    options' descriptions, which only its own page shows)."""
    values = list(encoded_comparison(comparison))
    for index in _BLANKED:
        values[index] = None
    values[_OPTIONS] = tuple(
        (*option[:_DESCRIPTION], None, *option[_DESCRIPTION + 1 :]) for option in values[_OPTIONS]
    )
    return hashlib.blake2b(repr(values).encode(), digest_size=12).hexdigest()


@dataclass
class Entry:
    """One comparison file as the last build saw it."""

    mtime_ns: int
    size: int
    slug: str
    visible: bool
    shown: str


@dataclass
class Record:
    manifest: str  # digest of the manifest file this record belongs to
    manifest_stat: tuple[int, int]  # its (mtime_ns, size): checked instead of its digest
    changes: str | None  # digest of the quick builds' changes beside it, if any
    fingerprint: str  # the manifest's
    built_at: float  # the manifest's
    sources: dict[str, str]  # the manifest's: slug -> content hash of each built page
    meters: dict[str, str]  # the manifest's: slug -> digest of the counts its page shows
    digests: dict[str, str]  # the manifest's digests of the files a quick build may rewrite
    files: dict[str, Entry]  # path -> entry, every comparison file of the content folder
    known: list[str]  # slugs and aliases that exist (a body's /compare/ link may name them)
    reveal_at: float | None  # the next scheduled page's publication (epoch seconds)
    categories: list[tuple[str, str]]  # the header's menu: (slug, name)
    feed: list[str]  # slugs the feed shows with their bottom line, newest first
    order: list[str]  # visible slugs in the search index's page order
    shard_sizes: dict[str, int]  # search shard prefix -> its terms' size (_Term.size)

    def save(self, path: Path) -> None:
        document = {
            "format": _FORMAT,
            **vars(self),
            "files": {path: tuple(vars(entry).values()) for path, entry in self.files.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, marshal.dumps(document))

    @classmethod
    def load(cls, path: Path) -> Record | None:
        """The record at ``path``, or None (none, damaged, another format)."""
        try:
            document = marshal.loads(path.read_bytes())
            if document.pop("format") != _FORMAT:
                return None
            document["files"] = {path: Entry(*entry) for path, entry in document["files"].items()}
            document["manifest_stat"] = tuple(document["manifest_stat"])
            return cls(**document)
        except (OSError, EOFError, ValueError, TypeError, KeyError, AttributeError):
            return None


class _Unread(Enum):
    UNREAD = "unread"


# A record not read yet: ``current_record`` reads it. A build whose quick attempt read the
# record passes it on (the record of 10,000 files costs ~20 ms to read), None included.
UNREAD = _Unread.UNREAD
MaybeRead = Record | None | Literal[_Unread.UNREAD]


def current_record(out: Path, data_dir: Path) -> Record | None:
    """The record of the build in ``out``, when it is of the manifest there and of the quick
    builds' changes since (a stat of the manifest, whose bytes the last build's record
    hashed; the changes' digest); else None."""
    record = Record.load(record_path(out, data_dir))
    if record is None:
        return None
    try:
        stat = (out / MANIFEST_NAME).stat()
        changes = (out / CHANGES).read_bytes() if record.changes is not None else None
    except OSError:
        return None
    if (stat.st_mtime_ns, stat.st_size) != record.manifest_stat:
        return None
    if changes is None:
        return None if (out / CHANGES).exists() else record
    return record if digest(changes) == record.changes else None


def remember(
    out: Path,
    library: Library,
    visible: Sequence[Comparison],
    *,
    began: float,
    data_dir: Path,
    manifest: Manifest,
    data: bytes,
    sizes: dict[str, int] | None = None,
    last: Record | None = None,
    entries: dict[str, Entry] | None = None,
) -> None:
    """Write the record of the build just saved in ``out`` (``manifest``, already written
    as ``data``), from the library it was built from and the comparisons it showed (newest
    first); ``began`` (epoch seconds): when that build started reading the content folder.
    ``sizes``: the search shards' sizes, when the build knows them (else read from ``out``).
    ``last``: the record this build found, when it read it (else read here): its digests of
    the files unchanged since are kept. ``entries``: ``file_entries``, when the build made
    them already (a full build's search index process, beside the rendering)."""
    from app.commands.search_patch import shard_sizes
    from app.commands.static_search import ordered
    from app.pages.navigation import wayfinding
    from app.surfaces.feeds import FEED_SIZE

    record = record_path(out, data_dir)
    if any(problem.severity == "error" for problem in library.problems):
        _forget(record)  # pages left out for their errors: only a full look can say what changes
        return
    shown = {comparison.slug for comparison in visible}
    if entries is None:
        entries = file_entries(
            library, shown, began, _digests_of(last or Record.load(record), manifest.fingerprint)
        )
    if entries is None:
        _forget(record)
        return
    hidden = [
        c.published_at.timestamp()
        for c in library.comparisons.values()
        if c.slug not in shown and not c.draft
    ]
    feed = sorted(visible, key=lambda c: (c.published, c.slug), reverse=True)[:FEED_SIZE]
    stat = (out / MANIFEST_NAME).stat()
    Record(
        manifest=digest(data),
        manifest_stat=(stat.st_mtime_ns, stat.st_size),
        changes=None,  # a build's save folds them in and removes them
        fingerprint=manifest.fingerprint,
        built_at=manifest.built_at,
        sources=manifest.sources,
        meters=manifest.meters,
        # ``quick_may_write`` inlined: 75,000 calls cost ~10 ms.
        digests={
            name: value
            for name, value in manifest.files.items()
            if name.startswith(_QUICK_WRITES) or name == "feed.xml"
        },
        files=entries,
        known=sorted({*library.comparisons, *library.by_alias}),
        reveal_at=min(hidden, default=None),
        categories=[(item.slug, item.name) for item in wayfinding(visible).menu],
        feed=[c.slug for c in feed],
        order=[c.slug for c in ordered(visible)],
        shard_sizes=shard_sizes(out) if sizes is None else sizes,
    ).save(record)


def file_entries(
    library: Library,
    shown: set[str],
    began: float,
    last_digests: dict[str, tuple[int, int, str]],
) -> dict[str, Entry] | None:
    """Each content file's ``Entry`` as a build that began reading the content folder at
    ``began`` saw it; None when one did not parse (``shown``: the slugs it showed;
    ``last_digests``: ``_digests_of`` the last record)."""
    files: dict[str, Entry] = {}
    for path, parsed in library.files.items():
        comparison = parsed.comparison
        if comparison is None:
            return None
        name = str(path)
        stat = os.stat(name, follow_symlinks=False)
        # A file written while the build ran may hold other bytes than the ones it read: no
        # stat of it is trusted, so the next build reads it again.
        trusted = stat.st_mtime_ns < began * 1e9
        known = last_digests.get(name)
        files[name] = Entry(
            stat.st_mtime_ns if trusted else -1,
            stat.st_size,
            comparison.slug,
            comparison.slug in shown,
            # The last record's digest when the file is the one it saw (the quick build's
            # own proof of an unchanged file): 10,000 digests cost ~0.5 s of each build.
            known[2]
            if known is not None and trusted and known[:2] == (stat.st_mtime_ns, stat.st_size)
            else shown_digest(comparison),
        )
    return files


def last_digests(out: Path, data_dir: Path, fingerprint: str) -> dict[str, tuple[int, int, str]]:
    """``file_entries``' ``last_digests`` from the record kept for ``out`` now."""
    return _digests_of(Record.load(record_path(out, data_dir)), fingerprint)


def _digests_of(last: Record | None, fingerprint: str) -> dict[str, tuple[int, int, str]]:
    """(mtime_ns, size, shown digest) of each file the last record trusted, when that record
    was made by the same code and settings (other code may digest other fields)."""
    if last is None or last.fingerprint != fingerprint:
        return {}
    return {
        name: (entry.mtime_ns, entry.size, entry.shown)
        for name, entry in last.files.items()
        if entry.mtime_ns != -1
    }


_QUICK_WRITES = ("compare/", "search-index/")


def quick_may_write(name: str) -> bool:
    """Whether a quick build may rewrite this file of OUT: a page, its twin, the search
    index, the feed."""
    return name.startswith(_QUICK_WRITES) or name == "feed.xml"


def _forget(record: Path) -> None:
    record.unlink(missing_ok=True)
