"""The comparison model: frozen dataclasses with no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Literal

from app.content.memo import ShortMemo

Severity = Literal["error", "warning"]
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Turn a name into a URL slug: ``"Dev Tools"`` -> ``"dev-tools"``, ``"C++"`` -> ``"c"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")


# Names recur across files (categories, tags, an option in ten comparisons): each is
# slugified once per process, by the parser and by the slug properties below alike.
slugify_name: ShortMemo[str] = ShortMemo(slugify, 1 << 16)


def pair_key(option_slugs: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The order-free identity of a set of options, so "B vs A" finds "A vs B"."""
    return tuple(sorted(option_slugs))


# Control characters (C0, DEL, C1), line and paragraph separators, the bidirectional
# overrides that reorder what a terminal shows, and lone surrogates: a file name's bytes
# that are not UTF-8 (0x9b, a terminal's 8-bit CSI) come back as those, and printed they are
# the raw byte again.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escaped(found: re.Match[str]) -> str:
    return found.group().encode("unicode_escape").decode("ascii")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a content file, located like a compiler message."""

    path: str
    line: int
    column: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        line = f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"
        # One problem, one line, nothing a terminal acts on: a file named "a\nb.md:1:1: ..."
        # printed fake problems, an escape character in a name drove the terminal.
        return _UNPRINTABLE.sub(_escaped, line)


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    slug: str
    description: str  # Markdown
    pros: tuple[str, ...]  # Markdown, one item each
    cons: tuple[str, ...]
    related: tuple[str, ...]  # tag slugs


@dataclass(frozen=True, slots=True)
class UseCase:
    """A "Use <option> if" card of the verdict."""

    option: str
    body: str  # Markdown


@dataclass(frozen=True, slots=True)
class Source:
    """One entry of a comparison's numbered "Sources" list (``[^n]`` in the text points here)."""

    title: str
    url: str  # http(s) only
    accessed: date


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a comparison's change log, newest first; ``pick`` when the pick changed
    *to* that option on that day."""

    day: date  # "date" in the front matter; not the field's name: it would hide the type
    note: str  # Markdown, one line
    pick: str | None = None


@dataclass(frozen=True, slots=True)
class PickChange:
    """A change of pick readers are told about: from ``previous`` (None if unknown) to ``pick``."""

    day: date
    pick: str
    previous: str | None


@dataclass(frozen=True, slots=True)
class Author:
    """A writer, from ``content/authors/<slug>.md``."""

    slug: str
    source: str
    name: str
    role: str
    bio: str  # Markdown
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    slug: str
    source: str  # path as given to the parser, for messages
    title: str
    category: str
    summary: str
    options: tuple[Option, ...]
    pick: str
    tags: tuple[str, ...]
    published: date
    intro: str  # Markdown
    verdict: str  # Markdown
    use_cases: tuple[UseCase, ...]
    bottom_line: str  # Markdown
    content_hash: str
    updated: date | None = None
    why: str | None = None  # one line: why the pick wins (else the Bottom line's first sentence)
    draft: bool = False
    aliases: tuple[str, ...] = ()
    links: tuple[tuple[int, str], ...] = field(default=())  # (line, target slug) of /compare/ links
    authors: tuple[str, ...] = ()  # author slugs (content/authors/<slug>.md)
    checked: date | None = None  # when the facts were last verified
    tested: tuple[tuple[str, str], ...] = ()  # (option name, version), in option order
    sources: tuple[Source, ...] = ()
    changes: tuple[Change, ...] = ()  # newest first; the oldest is the publication
    # Links to /category/, /tag/, /option/, /best/, /author/ pages: (line, column, kind,
    # slug, what follows the slug: "", ".json", "/", "?page=2", ".json?page=2")
    listing_links: tuple[tuple[int, int, str, str, str], ...] = ()

    @property
    def category_slug(self) -> str:
        return slugify_name(self.category)

    @property
    def tag_slugs(self) -> tuple[str, ...]:
        """The page's tags, then its options' "Related" terms: each links to a /tag/ page."""
        slugs = dict.fromkeys(map(slugify_name, self.tags))
        for option in self.options:
            slugs.update(dict.fromkeys(option.related))
        return tuple(slugs)

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(option.name for option in self.options)

    @property
    def pick_option(self) -> Option:
        return next(option for option in self.options if option.name == self.pick)

    @property
    def pair_key(self) -> tuple[str, ...]:
        return pair_key([option.slug for option in self.options])

    @property
    def last_modified(self) -> date:
        return self.updated or self.published

    @property
    def checked_on(self) -> date:
        """When the facts were last verified: ``checked``, else ``updated``, else ``published``."""
        return self.checked or self.updated or self.published

    def tested_version(self, option: str) -> str | None:
        return dict(self.tested).get(option)

    @property
    def pick_changes(self) -> tuple[PickChange, ...]:
        """Every change of pick, newest first: a ``pick`` entry that is not the oldest entry."""
        found: list[PickChange] = []
        entries = self.changes
        for index, change in enumerate(entries[:-1]):
            if change.pick is None:
                continue
            previous = next((older.pick for older in entries[index + 1 :] if older.pick), None)
            found.append(PickChange(change.day, change.pick, previous))
        return tuple(found)

    @property
    def last_pick_change(self) -> PickChange | None:
        changes = self.pick_changes
        return changes[0] if changes else None

    @property
    def published_at(self) -> datetime:
        """Publication moment: the start of the ``published`` day, UTC."""
        return datetime.combine(self.published, time.min, tzinfo=UTC)

    def is_public(self, now: datetime) -> bool:
        """Drafts and future-dated comparisons stay off every public surface."""
        return not self.draft and self.published_at <= now

    def source_path(self) -> Path:
        return Path(self.source)
