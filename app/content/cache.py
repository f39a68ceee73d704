"""A persistent cache of parse results in the data folder, so a warm start parses nothing.

Both, each for what it is good at. Listings, pairs, aliases and links are cross-file rules, so
the whole library must be read before any listing is right; lazy parsing alone would only
move that cost. So each file's result is kept here, and a large library is read in a
background thread after the server starts (``Site.start_loading``), while a comparison page
asked for meanwhile is parsed from its own file alone. Each result is keyed by its path and
checked by ``(mtime_ns, size)`` first (a ``stat``, no read) and by the SHA-256 of its bytes
second (a touched but unchanged file costs a hash, not a parse). Editing one file re-parses
that file only; a change to the parser or the model invalidates everything (``code_version``).

The file is ``marshal`` data of plain tuples rather than a pickle: unpickling frozen slotted
dataclasses runs Python-level ``__setstate__`` per object, while marshal plus rebuilding
through the constructors does not. The collector is paused while the objects are built
(``gc.disable``): hundreds of thousands of new containers otherwise trigger repeated full
collections. Figures: ``bench/RESULTS.md``, "Figures behind design choices".
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import logging
import marshal
import types
import typing
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from app.atomic import write_atomic
from app.content import markdown_limits, model, parse, reading, record
from app.content.model import Comparison, Problem
from app.content.reading import read_content

log = logging.getLogger(__name__)

_FORMAT = 4  # 3: authors, checked, tested, sources, changes; 4: and why


@functools.cache
def code_version() -> str:
    """Changes whenever the parser or the model does, so stale results are never reused.

    Read on first use, not at import: importing the content package reads no files.
    """
    digest = hashlib.sha256()
    for module in (parse, record, model, reading, markdown_limits):
        if module.__file__:
            digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


Result = tuple[Comparison | None, list[Problem]]


@dataclasses.dataclass(slots=True)
class _Entry:
    display: str
    mtime_ns: int
    size: int
    digest: str
    result: Any  # encoded (comparison, problems); decoded lazily on a hit


class ParseCache:
    """Parse results by file path, loaded from and saved to one file in the data folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, _Entry] = {}
        self.parses = 0  # files actually parsed since this cache was made (tests count them)
        self.hits = 0
        self._dirty = False
        self._read()

    def _read(self) -> None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read parse cache %s: %s", self.path, exc.strerror)
            return
        with paused_gc():
            try:
                fmt, version, entries = marshal.loads(data)
            except (EOFError, ValueError, TypeError):
                log.warning("parse cache %s is damaged; parsing every file", self.path)
                return
            if fmt != _FORMAT or version != code_version():
                return  # parser or model changed: every result may differ
            self.entries = {key: _Entry(*value) for key, value in entries.items()}

    def parse(self, path: Path, display: str, parse_file: Callable[[], Result]) -> Result:
        """The file's result from the cache when its bytes are unchanged, else ``parse_file()``."""
        key = str(path)
        entry = self.entries.get(key)
        try:
            stat = path.stat(follow_symlinks=False)
        except OSError:
            return parse_file()  # the parser reports the unreadable file itself
        if entry is not None and entry.display == display:
            if entry.mtime_ns == stat.st_mtime_ns and entry.size == stat.st_size:
                return self._hit(entry)
        try:
            # Through the parser's own reader: a named pipe or a link is never opened here.
            digest = hashlib.sha256(read_content(path)).hexdigest()
        except OSError:
            return parse_file()
        if entry is not None and entry.display == display and entry.digest == digest:
            entry.mtime_ns, entry.size = stat.st_mtime_ns, stat.st_size
            self._dirty = True
            return self._hit(entry)
        self.parses += 1
        comparison, problems = parse_file()
        result = _encode_result(comparison, problems)
        self.entries[key] = _Entry(display, stat.st_mtime_ns, stat.st_size, digest, result)
        self._dirty = True
        return comparison, problems

    def fresh(self, path: Path, display: str) -> bool:
        """Whether the file's result is kept and its ``(mtime_ns, size)`` unchanged (no read)."""
        entry = self.entries.get(str(path))
        if entry is None or entry.display != display:
            return False
        try:
            stat = path.stat(follow_symlinks=False)
        except OSError:
            return False
        return entry.mtime_ns == stat.st_mtime_ns and entry.size == stat.st_size

    def results(self, paths: list[str]) -> dict[str, tuple[Any, ...]]:
        """These paths' entries as plain tuples: what another process's cache ``adds``."""
        return {
            key: (entry.display, entry.mtime_ns, entry.size, entry.digest, entry.result)
            for key in paths
            if (entry := self.entries.get(key)) is not None
        }

    def add(self, results: dict[str, tuple[Any, ...]]) -> None:
        """Entries made by another process's cache (``results``), as if parsed here."""
        self.entries.update({key: _Entry(*value) for key, value in results.items()})
        self._dirty = self._dirty or bool(results)

    def _hit(self, entry: _Entry) -> Result:
        self.hits += 1
        return _decode_result(entry.result)

    def keep_only(self, paths: set[str]) -> None:
        """Forget files that no longer exist, so the cache does not grow forever."""
        gone = self.entries.keys() - paths
        for key in gone:
            del self.entries[key]
        self._dirty = self._dirty or bool(gone)

    def save(self) -> None:
        """Write the cache atomically (temp file, then rename) when anything changed."""
        if not self._dirty:
            return
        # Plain tuples by hand: ``dataclasses.astuple`` deep-copies every nested result (~1 s).
        entries = {
            key: (entry.display, entry.mtime_ns, entry.size, entry.digest, entry.result)
            for key, entry in self.entries.items()
        }
        data = marshal.dumps((_FORMAT, code_version(), entries))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, data)  # no temporary file left behind on a full disk
        except OSError as exc:  # a read-only data folder costs warm starts, nothing else
            log.warning("cannot write parse cache %s: %s", self.path, exc.strerror)
            return
        self._dirty = False


class paused_gc:
    """Context manager: no garbage collection while many long-lived objects are created."""

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.was_enabled:
            gc.enable()


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


def _encode_result(comparison: Comparison | None, problems: list[Problem]) -> Any:
    encode_comparison = _dataclass_codecs(Comparison)[0]
    encode_problem = _dataclass_codecs(Problem)[0]
    return (
        None if comparison is None else encode_comparison(comparison),
        [encode_problem(problem) for problem in problems],
    )


def _decode_result(encoded: Any) -> Result:
    comparison, problems = encoded
    decode_comparison = _dataclass_codecs(Comparison)[1]
    decode_problem = _dataclass_codecs(Problem)[1]
    return (
        None if comparison is None else decode_comparison(comparison),
        [decode_problem(problem) for problem in problems],
    )
