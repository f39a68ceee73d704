"""Comparisons whose long Markdown stays in the parse cache file until a page needs it.

A comparison's bodies (intro, verdict, "Use X if" cases, bottom line, and each option's
description, pros and cons) are most of its size, yet only the pages that show it read them:
listings, related links, grouping and search ranking need the short fields alone. So a warm
start builds ``LazyComparison`` and ``LazyOption`` objects whose body fields are left empty,
each holding where its bodies sit in the cache file (``Bodies``); the first read of a body
field reads and decodes that file's bodies (one ``pread`` and ``marshal.loads`` of a few KB)
and a small LRU keeps the last ones decoded, since a render reads several fields of one
page. Every worker of a machine reads the same pages of the kernel's page cache instead of
holding its own copy of every page's text.

They are subclasses, so everything that takes a ``Comparison`` takes them, and they equal
and hash as the plain objects with the same fields do (a cache hit equals a fresh parse).
A body field's descriptor stores into the parent class's own slot: the dataclass
constructor, ``dataclasses.replace`` and pickling keep working and give objects whose bodies
are simply present, and only a slot still holding ``UNREAD`` is read back.
"""

from __future__ import annotations

import functools
import marshal
import os
import weakref
from typing import Any

from app.content.model import Comparison, Option, UseCase

# Size of the per-file LRU of decoded bodies: a render reads each of a page's body fields
# once or twice, and search snippets read a few dozen pages at a time.
DECODED_BODIES = 256

COMPARISON_BODIES = ("intro", "verdict", "use_cases", "bottom_line")
OPTION_BODIES = ("description", "pros", "cons")


class Bodies:
    """The bodies area of one cache file (or of one result's bytes), decoded per comparison
    on use.

    Read with ``os.pread`` from the open file rather than through a memory mapping: a
    mapping counts every page it touches in the process's resident memory (the kernel maps
    up to 64 KB around each fault), so after 10,000 pages served the whole file showed in
    each worker's RSS. Read calls leave the file in the kernel's page cache only, shared by
    every worker and reclaimable, and the open file keeps a replaced cache file readable."""

    def __init__(self, source: int | bytes, base: int) -> None:
        """``source``: an open file descriptor, closed with this object, or the bytes."""
        self._source = source
        self._base = base
        self.read = functools.lru_cache(maxsize=DECODED_BODIES)(self._read)
        if isinstance(source, int):
            # The last comparison read from the file closes it (a replaced file is freed).
            weakref.finalize(self, os.close, source)

    def raw(self, offset: int, length: int) -> bytes:
        """The encoded bodies of one comparison, to copy into the next cache file."""
        start = self._base + offset
        if isinstance(self._source, bytes):
            return self._source[start : start + length]
        return read_exactly(self._source, length, start)

    def _read(self, offset: int, length: int) -> tuple[Any, ...]:
        intro, verdict, cases, bottom_line, options = marshal.loads(self.raw(offset, length))
        use_cases = tuple(UseCase(option, body) for option, body in cases)
        return intro, verdict, use_cases, bottom_line, options


def read_exactly(descriptor: int, length: int, offset: int) -> bytes:
    """``length`` bytes at ``offset`` of the open file; ValueError when the file is shorter."""
    data = os.pread(descriptor, length, offset)
    if len(data) != length:
        raise ValueError(f"cache file cut short at {offset + len(data)}")
    return data


Ref = tuple[Bodies, int, int]  # (the file's bodies, offset, length) of one comparison


def encode_bodies(comparison: Comparison) -> bytes:
    """One comparison's bodies as stored in the cache file (what ``Bodies.read`` decodes)."""
    return marshal.dumps(
        (
            comparison.intro,
            comparison.verdict,
            tuple((case.option, case.body) for case in comparison.use_cases),
            comparison.bottom_line,
            tuple((o.description, o.pros, o.cons) for o in comparison.options),
        )
    )


class _Unread:
    """What a lazy object's body slot holds until read: a marker compared by identity, where
    an unset slot raised AttributeError on every read (~1 us each, a million in a build)."""

    def __repr__(self) -> str:
        return "UNREAD"


UNREAD: Any = _Unread()


class _Body:
    """A body field of a lazy class: the parent dataclass's slot, or while that holds
    ``UNREAD``, read from the cache file (``_from`` picks the field out of the comparison's
    decoded bodies)."""

    def __init__(self, parent: type, name: str, index: int) -> None:
        self._slot = parent.__dict__[name]  # the dataclass's own member descriptor
        self._index = index

    def __set__(self, instance: Any, value: Any) -> None:
        self._slot.__set__(instance, value)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = self._slot.__get__(instance, owner)
        if value is not UNREAD:
            return value
        bodies, offset, length = instance._ref
        return self._from(instance, bodies.read(offset, length))

    def _from(self, instance: Any, decoded: tuple[Any, ...]) -> Any:
        return decoded[self._index]


class _OptionBody(_Body):
    """A body field of ``LazyOption``: its option's entry among the comparison's bodies."""

    def _from(self, instance: Any, decoded: tuple[Any, ...]) -> Any:
        return decoded[4][instance._position][self._index]


def _fields_equal(one: Any, other: Any, names: tuple[str, ...]) -> bool:
    return all(getattr(one, name) == getattr(other, name) for name in names)


_COMPARISON_FIELDS = tuple(Comparison.__dataclass_fields__)
_OPTION_FIELDS = tuple(Option.__dataclass_fields__)


class LazyOption(Option):
    """An ``Option`` whose description, pros and cons are read from the cache file on use."""

    __slots__ = ("_ref", "_position")
    _ref: Ref
    _position: int

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Option):
            return NotImplemented
        return _fields_equal(self, other, _OPTION_FIELDS)

    __hash__ = Option.__hash__


class LazyComparison(Comparison):
    """A ``Comparison`` whose bodies (and its options') are read from the cache file on use.

    It also keeps its category's and tags' slugs and its pair key, worked out when the file
    was parsed: the listings, related links, the grouping and the library's index ask for them
    once per page and several times per load, and working them out again was a fifth of a
    warm start."""

    __slots__ = ("_ref", "_category_slug", "_tag_slugs", "_pair_key")
    _ref: Ref
    _category_slug: str
    _tag_slugs: tuple[str, ...]
    _pair_key: tuple[str, ...]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Comparison):
            return NotImplemented
        return _fields_equal(self, other, _COMPARISON_FIELDS)

    __hash__ = Comparison.__hash__

    @property
    def category_slug(self) -> str:
        try:
            return self._category_slug
        except AttributeError:  # made by the constructor (``dataclasses.replace``, a copy)
            return super().category_slug

    @property
    def tag_slugs(self) -> tuple[str, ...]:
        try:
            return self._tag_slugs
        except AttributeError:
            return super().tag_slugs

    @property
    def pair_key(self) -> tuple[str, ...]:
        try:
            return self._pair_key
        except AttributeError:
            return super().pair_key


for _index, _name in enumerate(COMPARISON_BODIES):
    setattr(LazyComparison, _name, _Body(Comparison, _name, _index))
for _index, _name in enumerate(OPTION_BODIES):
    setattr(LazyOption, _name, _OptionBody(Option, _name, _index))

# Building objects slot by slot through the slots' own (C) setters, body slots ``UNREAD``:
# the dataclass constructor would call the Python ``__set__`` above for every body field, and
# a warm start builds a few hundred thousand of these.
SHORT_FIELDS = tuple(name for name in _COMPARISON_FIELDS if name not in COMPARISON_BODIES)
_new = object.__new__
_set_name, _set_slug, _set_related, _set_option_ref, _set_position = (
    cls.__dict__[name].__set__
    for cls, name in (
        (Option, "name"),
        (Option, "slug"),
        (Option, "related"),
        (LazyOption, "_ref"),
        (LazyOption, "_position"),
    )
)
_SHORT_SETTERS = tuple(Comparison.__dict__[name].__set__ for name in SHORT_FIELDS)
_UNREAD_COMPARISON = tuple(Comparison.__dict__[name].__set__ for name in COMPARISON_BODIES)
_UNREAD_OPTION = tuple(Option.__dict__[name].__set__ for name in OPTION_BODIES)
_DERIVED_SETTERS = tuple(
    LazyComparison.__dict__[name].__set__
    for name in ("_ref", "_category_slug", "_tag_slugs", "_pair_key")
)


def lazy_option(name: str, slug: str, related: tuple[str, ...], ref: Ref, position: int) -> Option:
    """A ``LazyOption``: the option at ``position`` of the comparison whose bodies ``ref`` names."""
    option = _new(LazyOption)
    _set_name(option, name)
    _set_slug(option, slug)
    _set_related(option, related)
    _set_option_ref(option, ref)
    _set_position(option, position)
    for unread in _UNREAD_OPTION:
        unread(option, UNREAD)
    return option


def lazy_comparison(short: list[Any], ref: Ref, derived: tuple[Any, ...]) -> Comparison:
    """A ``LazyComparison`` from its ``SHORT_FIELDS`` in order and its category slug, tag
    slugs and pair key."""
    comparison = _new(LazyComparison)
    for setter, value in zip(_SHORT_SETTERS, short, strict=True):
        setter(comparison, value)
    for setter, value in zip(_DERIVED_SETTERS, (ref, *derived), strict=True):
        setter(comparison, value)
    for unread in _UNREAD_COMPARISON:
        unread(comparison, UNREAD)
    return comparison
