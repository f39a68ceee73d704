"""A persistent cache of parse results in the data folder, so a warm start parses nothing.

Both, each for what it is good at. Listings, pairs, aliases and links are cross-file rules, so
the whole library must be read before any listing is right; lazy parsing alone would only
move that cost. So each file's result is kept here, and a large library is read in a
background thread after the server starts (``Site.start_loading``), while a comparison page
asked for meanwhile is parsed from its own file alone. Each result is keyed by its path and
checked by ``(mtime_ns, ctime_ns, size)`` first (a ``stat``, no read) and by the SHA-256 of
its bytes second (a touched but unchanged file costs a hash, not a parse). The change time is
there because the modification time can be set back (``touch -r``, ``rsync -t``): a file
rewritten at its old size with its old mtime would otherwise pass as unchanged, and this
cache leaves a few edited files' saved entries stale (``STALE_AT_MOST``). Editing one file re-parses
that file only; a change to the parser or the model invalidates everything (``code_version``).

The file is ``marshal`` data of plain tuples rather than a pickle: unpickling frozen slotted
dataclasses runs Python-level ``__setstate__`` per object, while marshal plus rebuilding
through the slots' setters does not. It has two parts: a head with every file's short fields
(slug, title, tags, options' names, dates, problems; what listings, related links, search
ranking and the cross-file rules need), read whole at start, and then each file's bodies
(intro, verdict, use cases, bottom line, options' descriptions, pros and cons), which stay in
the file, kept open, and a comparison read from it is a ``LazyComparison``
(``app.content.bodies``) that reads and decodes its bodies when a page asks. Bodies were most
of a loaded library's memory; the file's pages sit in the kernel's page cache, shared by
every worker instead of copied into each. A cold load swaps what it parsed for such copies
once it has saved the file (``stored``). The collector is paused while the objects are
built (``gc.disable``): hundreds of thousands of new containers otherwise trigger repeated
full collections.
Figures: ``bench/RESULTS.md``, "Figures behind design choices" and "Memory and warm start
at 100,000".

Over 400 lines: the file's layout, its encoding of a comparison into short fields and bodies,
and the entries made in worker processes must change together (``_FORMAT``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import logging
import marshal
import operator
import os
import sys
import types
import typing
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from app.atomic import write_atomic_and_open
from app.collector import paused_gc
from app.content import front_matter, markdown_limits, memo, model, parse, problems, reading, record
from app.content.bodies import (
    SHORT_FIELDS,
    Bodies,
    Ref,
    encode_bodies,
    lazy_comparison,
    lazy_option,
    read_exactly,
)
from app.content.model import Comparison, Problem
from app.content.reading import read_content

log = logging.getLogger(__name__)

_FORMAT = 6  # 3: authors, checked, tested, sources, changes; 4: and why; 5: bodies apart;
# 6: change times
_MAGIC = b"nicepick-parse-cache\n"
# Bodies copied into a new cache file with one read at most this long: a spool file is a
# megabyte or so; the old cache file, hundreds, is never read whole into memory.
_RUN_BYTES = 1 << 20
# A cache file that differs from the folder by this few files is not written again: each
# load parses them anew (~0.2 ms each, a hash first), where writing the file costs ~50 ms at
# 10,000 pages (42 MB), every incremental build after one edit. More, or a file gone (the
# cache must not grow forever), and it is.
STALE_AT_MOST = 16


@functools.cache
def code_version() -> str:
    """Changes whenever the parser or the model does, so stale results are never reused.

    Read on first use, not at import: importing the content package reads no files.
    """
    digest = hashlib.sha256()
    for module in (parse, front_matter, memo, problems, record, model, reading, markdown_limits):
        if module.__file__:
            digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


Result = tuple[Comparison | None, list[Problem]]


@dataclasses.dataclass(slots=True)
class _Entry:
    display: str
    mtime_ns: int
    ctime_ns: int
    size: int
    digest: str
    compact: Any  # the encoded comparison without its bodies (None: the file had errors)
    problems: Any  # encoded problems
    offset: int  # of its bodies in the cache file (``Bodies``), or in ``store``
    length: int
    body: bytes | None = None  # encoded bodies of a result parsed since the file was read
    # Where the bodies are until the next save, when a worker process wrote them (``spool``).
    store: Bodies | None = None


# (display, mtime_ns, ctime_ns, size, digest, compact record, encoded problems, encoded
# bodies): one entry as plain, picklable values.
Made = tuple[str, int, int, int, str, Any, Any, bytes]


def make_entry(path: Path, display: str, parse: Callable[[bytes, str], Result]) -> Made | None:
    """One file's entry, made with no cache at hand (in a worker process), the way
    ``ParseCache.parse`` makes it: ``stat``, then the bytes' digest, then the parse of the
    same bytes (read once), given their digest too. None when the file cannot be read;
    ``ParseCache.parse`` then reports it as it always does."""
    try:
        stat = path.stat(follow_symlinks=False)
        data = read_content(path)
    except OSError:
        return None
    digest = hashlib.sha256(data).hexdigest()
    comparison, problems = parse(data, digest)
    compact, encoded_problems, body = _encode_result(comparison, problems, display)
    return (
        display,
        stat.st_mtime_ns,
        stat.st_ctime_ns,
        stat.st_size,
        digest,
        compact,
        encoded_problems,
        body,
    )


# A ``Made`` whose bodies were written to a spool file instead: (its fields but the last,
# then the length of its bodies there). None: the file could not be read.
Spooled = tuple[str, int, int, int, str, Any, Any, int] | None


def spool(made: list[Made | None], path: Path) -> list[Spooled]:
    """In a worker: write the entries' bodies one after the other to ``path`` and return the
    entries without them, so the parent process receives short fields only (its bodies, most
    of a result, are copied from the file into the cache file when it is saved)."""
    with open(path, "wb") as handle:
        handle.writelines(entry[7] for entry in made if entry is not None)
    return [None if entry is None else (*entry[:7], len(entry[7])) for entry in made]


class ParseCache:
    """Parse results by file path, loaded from and saved to one file in the data folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, _Entry] = {}
        self.parses = 0  # files actually parsed since this cache was made (tests count them)
        self.hits = 0
        self._dirty = False
        self._stale = 0  # entries that differ from the file's (parsed or touched since)
        self._forgot = False  # entries of files gone since the file was written
        self._bodies: Bodies | None = None
        self._parsed: set[str] = set()  # keys parsed here and saved since (``stored``)
        # Keys whose comparison was handed out with its bodies outside the cache file (in
        # memory, or a worker's spool file): after a save, ``stored`` swaps only those.
        self._given: set[str] = set()
        self._read()

    def _read(self) -> None:
        try:
            descriptor = _open(self.path)  # the bodies are read from it only when a page asks
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read parse cache %s: %s", self.path, exc.strerror)
            return
        start = len(_MAGIC) + 8
        with paused_gc():
            try:
                first = read_exactly(descriptor, start, 0)
                if first[: len(_MAGIC)] != _MAGIC:  # an older format: no warning, a parse
                    os.close(descriptor)
                    log.info("parse cache %s is of an older format; parsing every file", self.path)
                    return
                head_length = int.from_bytes(first[len(_MAGIC) :], "little")
                head = marshal.loads(read_exactly(descriptor, head_length, start))
                fmt, version, entries = head
            except (EOFError, ValueError, TypeError, OSError):
                os.close(descriptor)
                log.warning("parse cache %s is damaged; parsing every file", self.path)
                return
            if fmt != _FORMAT or version != code_version():
                os.close(descriptor)
                return  # parser or model changed: every result may differ
            self._bodies = Bodies(descriptor, start + head_length)
            self.entries = {key: _Entry(*value) for key, value in entries.items()}

    def parse(self, path: Path, display: str, parse_file: Callable[[], Result]) -> Result:
        """The file's result from the cache when its bytes are unchanged, else ``parse_file()``.

        A result read back from the file is a ``LazyComparison``: its bodies stay in the
        cache file until a page reads them."""
        key = str(path)
        entry = self.entries.get(key)
        try:
            stat = os.stat(key, follow_symlinks=False)  # the str: no second fspath of the Path
        except OSError:
            return parse_file()  # the parser reports the unreadable file itself
        if entry is not None and entry.display == display:
            if (
                entry.mtime_ns == stat.st_mtime_ns
                and entry.ctime_ns == stat.st_ctime_ns
                and entry.size == stat.st_size
            ):
                return self._hit(key, entry)
        try:
            # Through the parser's own reader: a named pipe or a link is never opened here.
            digest = hashlib.sha256(read_content(path)).hexdigest()
        except OSError:
            return parse_file()
        if entry is not None and entry.display == display and entry.digest == digest:
            entry.mtime_ns, entry.ctime_ns = stat.st_mtime_ns, stat.st_ctime_ns
            entry.size = stat.st_size
            self._dirty = True
            self._stale += 1
            return self._hit(key, entry)
        self.parses += 1
        self._stale += 1
        comparison, problems = parse_file()
        compact, encoded_problems, body = _encode_result(comparison, problems, display)
        self.entries[key] = _Entry(
            display,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
            stat.st_size,
            digest,
            compact,
            encoded_problems,
            0,
            0,
            body,
        )
        self._dirty = True
        self._given.add(key)
        return comparison, problems

    def lacks(self, path: Path, display: str) -> bool:
        """Whether no entry at all could serve this file (no ``stat``: a warm start pays
        nothing for asking; an edited file's entry is checked by ``parse`` as always)."""
        entry = self.entries.get(str(path))
        return entry is None or entry.display != display

    def add_spooled(self, paths: list[Path], spooled: list[Spooled], path: Path) -> int:
        """Keep the entries a worker made for ``paths`` whose bodies it wrote to the spool file
        at ``path`` (``spool``), as ``parse`` would; the file is opened and unlinked here (its
        bodies are read from the open file until the next save). How many were kept."""
        descriptor = _open(path)
        path.unlink()
        store = Bodies(descriptor, 0)
        offset = made = 0
        for source, entry in zip(paths, spooled, strict=True):
            if entry is None:
                continue
            display, mtime_ns, ctime_ns, size, digest, compact, problems, length = entry
            self.entries[str(source)] = _Entry(
                display,
                mtime_ns,
                ctime_ns,
                size,
                digest,
                compact,
                problems,
                offset,
                length,
                None,
                store,
            )
            offset += length
            made += 1
        self.parses += made
        self._stale += made
        self._dirty = self._dirty or bool(made)
        return made

    def _hit(self, key: str, entry: _Entry) -> Result:
        self.hits += 1
        if entry.body is not None or entry.store is not None:
            self._given.add(key)
        return _decode_result(entry, self._bodies)

    def keep_only(self, paths: set[str]) -> None:
        """Forget files that no longer exist, so the cache does not grow forever."""
        gone = self.entries.keys() - paths
        for key in gone:
            del self.entries[key]
        self._dirty = self._dirty or bool(gone)
        self._forgot = self._forgot or bool(gone)

    def save(self) -> None:
        """Write the cache atomically (temp file, then rename) when anything changed.

        The head (every file's short fields) first, then each file's bodies; bodies already
        in a file (the old cache file, a worker's spool file) are copied from it, a run of
        neighbours at a time. Comparisons read from the old file keep it open, so it stays
        readable after the rename; the new file is opened in its place, so ``stored`` can
        hand out light copies of what was parsed.

        Not when a file was read and differs from the folder by ``STALE_AT_MOST`` files at
        most: those are parsed again by each load until more are."""
        if not self._dirty:
            return
        few = self._stale <= STALE_AT_MOST and not self._forgot
        if few and self._bodies is not None:
            return
        with paused_gc():  # 100,000 new tuples would trigger full collections of the library
            self._save()

    def _save(self) -> None:
        entries: dict[str, tuple[Any, ...]] = {}
        offset = 0
        for key, entry in self.entries.items():
            length = len(entry.body) if entry.body is not None else entry.length
            display = key if entry.display == key else entry.display  # one string, not two
            entries[key] = (
                display,
                entry.mtime_ns,
                entry.ctime_ns,
                entry.size,
                entry.digest,
                entry.compact,
                entry.problems,
                offset,
                length,
            )
            offset += length
        head = marshal.dumps((_FORMAT, code_version(), entries))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # no temporary file left behind on a full disk
            parts = itertools.chain(
                [_MAGIC, len(head).to_bytes(8, "little"), head], self._bodies_in_order()
            )
            # The descriptor is the file written, not whatever holds the name after the
            # rename: another server saving at the same moment may have renamed its own over.
            descriptor = write_atomic_and_open(self.path, parts)
        except OSError as exc:  # a read-only data folder costs warm starts, nothing else
            log.warning("cannot write parse cache %s: %s", self.path, exc.strerror)
            return
        self._bodies = Bodies(descriptor, len(_MAGIC) + 8 + len(head))
        for key, entry in self.entries.items():
            if key in self._given and (entry.body is not None or entry.store is not None):
                self._parsed.add(key)
            entry.body = entry.store = None
            entry.offset, entry.length = entries[key][7:9]
        self._given.clear()
        self._dirty = self._forgot = False
        self._stale = 0

    def _bodies_in_order(self) -> Iterator[bytes]:
        """Every entry's encoded bodies in entry order: from memory, or read from the file
        that holds them (a worker's spool file, the old cache file), one read per run of
        entries that lie one after the other there."""
        run: Bodies | None = None
        start = end = 0
        for entry in self.entries.values():
            if entry.body is not None:
                if run is not None:
                    yield run.raw(start, end - start)
                    run = None
                yield entry.body
                continue
            source = entry.store if entry.store is not None else self._bodies
            if source is None:  # cannot happen: an entry read from a file has that file
                continue
            if source is run and entry.offset == end and end - start < _RUN_BYTES:
                end += entry.length
                continue
            if run is not None:
                yield run.raw(start, end - start)
            run, start, end = source, entry.offset, entry.offset + entry.length
        if run is not None:
            yield run.raw(start, end - start)

    def stored(self, key: str) -> Comparison | None:
        """A file parsed by this cache and saved since, read back from the saved file: its
        bodies leave memory (a cold start holds no more than a warm one). None otherwise."""
        entry = self.entries.get(key)
        if key not in self._parsed or entry is None or entry.body is not None:
            return None
        if entry.store is not None:
            return None
        return _decode_result(entry, self._bodies)[0]


def _open(path: Path) -> int:
    """The file open for reading (a descriptor), kept open by the ``Bodies`` read from it: a
    newer cache file renamed over it leaves this one readable until its last comparison is
    gone."""
    return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))


# Encoding follows the model's type hints, so decoding touches only the fields that need it
# (dates, nested dataclasses): a Comparison is rebuilt from one tuple with four fix-ups,
# about 10x faster than walking every value generically.
Codec = Callable[[Any], Any]


def _codecs(hint: Any) -> tuple[Codec, Codec] | None:
    """(encode, decode) for values of this type, or None when marshal keeps them as they are."""
    origin = typing.get_origin(hint)
    if hint is date:
        return date.toordinal, date.fromordinal
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _dataclass_codecs(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [h for h in typing.get_args(hint) if h is not type(None)]
        codecs = _codecs(inner[0]) if len(inner) == 1 else None
        if codecs is None:
            return None
        encode, decode = codecs
        return (
            lambda v: None if v is None else encode(v),
            lambda v: None if v is None else decode(v),
        )
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and (item := _codecs(args[0])) is not None:
            encode_item, decode_item = item
            return (
                lambda v: tuple([encode_item(x) for x in v]),
                lambda v: tuple([decode_item(x) for x in v]),
            )
    return None


@functools.cache
def _dataclass_codecs(cls: type[Any]) -> tuple[Codec, Codec]:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    special = [(i, codecs) for i, name in enumerate(names) if (codecs := _codecs(hints[name]))]

    def encode(value: Any) -> tuple[Any, ...]:
        fields = [getattr(value, name) for name in names]
        for i, (encode_field, _) in special:
            fields[i] = encode_field(fields[i])
        return tuple(fields)

    def decode(fields: Any) -> Any:
        fields = list(fields)
        for i, (_, decode_field) in special:
            fields[i] = decode_field(fields[i])
        return cls(*fields)

    return encode, decode


# Strings that repeat across files, shared in the file (marshal writes one copy of an object
# met twice) and so in memory after a warm start: categories, tags, option names and slugs.
_intern = sys.intern


def _encode_result(
    comparison: Comparison | None, problems: list[Problem], display: str
) -> tuple[Any, Any, bytes]:
    """(the comparison without its bodies, with its category slug, tag slugs and pair key;
    the problems; the encoded bodies)."""
    encode_problem = _dataclass_codecs(Problem)[0]
    encoded_problems = [encode_problem(problem) for problem in problems]
    if comparison is None:
        return None, encoded_problems, encode_bodies_of(None)
    # The short fields only, read in one call: encoding the whole comparison (its options'
    # bodies, its use cases) and keeping these of it did the rest for nothing.
    fields = list(_short_fields(comparison))
    for index, encode_field in _COMPACT_ENCODERS:
        if value := fields[index]:  # None and () encode to themselves: no call for most
            fields[index] = encode_field(value)
    fields[_SHORT_CATEGORY] = _intern(comparison.category)
    fields[_SHORT_PICK] = _intern(comparison.pick)
    fields[_SHORT_TAGS] = tuple([_intern(tag) for tag in comparison.tags])
    fields[_SHORT_OPTIONS] = tuple(
        [
            (_intern(o.name), _intern(o.slug), tuple([_intern(tag) for tag in o.related]))
            for o in comparison.options
        ]
    )
    if comparison.source == display:
        fields[_SHORT_SOURCE] = display  # the same text as the entry's: stored once
    derived = (
        _intern(comparison.category_slug),
        tuple([_intern(tag) for tag in comparison.tag_slugs]),
        tuple([_intern(slug) for slug in comparison.pair_key]),
    )
    return (tuple(fields), derived), encoded_problems, encode_bodies_of(comparison)


def encode_bodies_of(comparison: Comparison | None) -> bytes:
    return b"" if comparison is None else encode_bodies(comparison)


def _decode_result(entry: _Entry, bodies: Bodies | None) -> Result:
    decode_problem = _dataclass_codecs(Problem)[1]
    problems = [decode_problem(problem) for problem in entry.problems]
    if entry.compact is None:
        return None, problems
    if entry.body is not None:  # parsed since the file was read: bodies held in memory
        bodies = Bodies(entry.body, 0)
        ref: Ref = (bodies, 0, len(entry.body))
    elif entry.store is not None:  # made by a worker: bodies in its spool file until a save
        ref = (entry.store, entry.offset, entry.length)
    else:
        assert bodies is not None  # an entry without its own body came from the file
        ref = (bodies, entry.offset, entry.length)
    compact, derived = entry.compact
    fields = list(compact)
    for index, decode_field in _COMPACT_CODECS:
        if value := fields[index]:  # None and () decode to themselves: no call for most
            fields[index] = decode_field(value)
    fields[_SHORT_OPTIONS] = tuple(
        [
            lazy_option(name, slug, related, ref, position)
            for position, (name, slug, related) in enumerate(fields[_SHORT_OPTIONS])
        ]
    )
    return lazy_comparison(fields, ref, derived), problems


_short_fields = operator.attrgetter(*SHORT_FIELDS)  # a compact record's fields, as they are
_SHORT_OPTIONS, _SHORT_CATEGORY, _SHORT_PICK, _SHORT_TAGS, _SHORT_SOURCE = (
    SHORT_FIELDS.index(name) for name in ("options", "category", "pick", "tags", "source")
)


def _compact_codecs(which: int) -> list[tuple[int, Codec]]:
    """The encoders (``which`` 0) or decoders (1) of the fields a compact record keeps
    encoded (dates, sources, changes), by position in the record."""
    hints = typing.get_type_hints(Comparison)
    return [
        (index, codecs[which])
        for index, name in enumerate(SHORT_FIELDS)
        if name != "options" and (codecs := _codecs(hints[name])) is not None
    ]


_COMPACT_ENCODERS = _compact_codecs(0)
_COMPACT_CODECS = _compact_codecs(1)


def encoded_comparison(comparison: Comparison) -> tuple[Any, ...]:
    """A comparison as plain, comparable values (what the cache stores): a quick incremental
    build digests them to tell what an edit changed."""
    encoded: tuple[Any, ...] = _dataclass_codecs(Comparison)[0](comparison)
    return encoded
