"""The loaded library: read every file first, then index by slug, pair, category, tag and option.

A file that breaks the contract is skipped with a logged ``path:line:col: message`` and the
rest of the site keeps serving. Cross-file rules (duplicate slugs, the same pair twice, links
to missing pages) live here because one file alone cannot know them.

The option profiles (``content/options/``, parsed by ``app.content.profiles``) are read with
the comparisons, so ``check`` and the server see the same ones. Which files are comparisons
and what one file parses to is ``app/content/sources.py``.

Over 400 lines: loading, reloading one file and the cross-file indexes share the same
indexes and must change together.
"""

from __future__ import annotations

import bisect
import difflib
import logging
import os
import re
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from app.collector import paused_gc
from app.content.cache import ParseCache
from app.content.model import Author, Comparison, Problem, pair_key, slugify
from app.content.people import TextPage, read_author, read_page
from app.content.profiles import (
    Profile,
    disagreements,
    is_profile_file,
    load_profiles,
    profile_files,
)
from app.content.reading import read_content_text
from app.content.sources import (
    SIDE_FOLDERS,
    ContentFolderMissing,
    SourceFile,
    discover,
    is_side_file,
    parse_file,
    source_file,
)

log = logging.getLogger(__name__)

# In-place edits remembered (``Library.replaced``): caches older than that many edits rebuild.
REPLACED_KEPT = 256

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """One file's own parse result, kept so a single change re-parses a single file."""

    source: SourceFile
    comparison: Comparison | None
    problems: tuple[Problem, ...]


@dataclass
class Library:
    """Comparisons by slug plus the indexes the pages need; rebuilt whole or per file."""

    comparisons: dict[str, Comparison] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    by_pair: dict[tuple[str, ...], str] = field(default_factory=dict)
    by_alias: dict[str, str] = field(default_factory=dict)
    version: int = 0  # bumps on every change; caches key on it
    # Each file's own parse result by path, in path order: the cross-file index is rebuilt
    # from these, so reloading one file never re-parses the others.
    files: dict[Path, ParsedFile] = field(default_factory=dict)
    # Option profiles (content/options/) by slug, their files and their own problems.
    profiles: dict[str, Profile] = field(default_factory=dict)
    profile_paths: tuple[Path, ...] = ()
    profile_problems: list[Problem] = field(default_factory=list)
    content_dir: Path | None = None  # set by ``scan``; tells a profile from a comparison
    # Writers by slug and plain pages by slug (content/authors/, content/pages/).
    authors: dict[str, Author] = field(default_factory=dict)
    pages: dict[str, TextPage] = field(default_factory=dict)
    side_problems: list[Problem] = field(default_factory=list)  # of those files
    # Live preview: version -> (old, new) for each edit patched into the indexes in place
    # (``_replace_in_place``), the last ``REPLACED_KEPT``; a version missing here was a rebuild.
    # ``old`` is None for a page added (a new file, or a broken one mended), ``new`` for one
    # that went away (a file removed or broken); both None for a file that never parsed.
    replaced: dict[int, tuple[Comparison | None, Comparison | None]] = field(default_factory=dict)

    # --- loading ----------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        content_dir: Path,
        cache: ParseCache | None = None,
        *,
        sources: list[SourceFile] | None = None,
        yield_every: int = 0,
    ) -> Library:
        """Parse every file, then apply the cross-file rules and build the indexes."""
        library = cls.scan(content_dir, cache, sources=sources, yield_every=yield_every)
        if cache is not None:
            library._lighten(cache)
        for problem in library.problems:
            _log_problem(problem)
        skipped = sum(1 for p in library.problems if p.severity == "error")
        log.info(
            "loaded %d comparisons from %s (%d problems)",
            len(library.comparisons),
            content_dir,
            skipped,
        )
        return library

    @classmethod
    def scan(
        cls,
        content_dir: Path,
        cache: ParseCache | None = None,
        *,
        sources: list[SourceFile] | None = None,
        yield_every: int = 0,
        today: date | None = None,
    ) -> Library:
        """Like ``load``, without logging: ``nicepick check`` prints the problems itself.

        With a ``cache``, files whose bytes did not change since it was saved are not parsed.
        ``sources`` is a ``discover`` result already made; ``yield_every`` N files, a loader
        running in a background thread lets the request threads have the GIL. ``today``
        (``check`` only, never with a cache) also refuses dates after it.
        """
        if sources is None and not content_dir.is_dir():
            raise ContentFolderMissing(content_dir)
        library = cls()
        with paused_gc():  # tens of thousands of long-lived objects: see app.content.cache
            for number, source in enumerate(
                discover(content_dir) if sources is None else sources, start=1
            ):
                if yield_every and number % yield_every == 0:
                    time.sleep(0)
                if cache is None:
                    comparison, found = parse_file(source, today)
                else:
                    comparison, found = cache.parse(
                        source.path, source.display, partial(parse_file, source, today)
                    )
                library.files[source.path] = ParsedFile(source, comparison, tuple(found))
            library._read_profiles(content_dir)
            library._read_side_files(content_dir)
            library._reindex()
        if cache is not None:
            cache.keep_only({str(path) for path in library.files})
            cache.save()
        return library

    def _lighten(self, cache: ParseCache) -> None:
        """Swap each comparison parsed by this load for its copy read back from the saved
        cache, whose bodies stay in the file (``app.content.bodies``): a server that parsed
        its library holds no more than one that started warm."""
        with paused_gc():
            for path, parsed in self.files.items():
                light = cache.stored(str(path))
                if light is None or parsed.comparison is None:
                    continue
                self.files[path] = ParsedFile(parsed.source, light, parsed.problems)
                if self.comparisons.get(light.slug) is parsed.comparison:
                    self.comparisons[light.slug] = light

    def reload_file(self, path: Path) -> list[Problem]:
        """Re-parse one changed (or new) file, rebuild the indexes; return its problems."""
        if self.content_dir is not None and is_profile_file(path, self.content_dir):
            self._read_profiles(self.content_dir)
            self._reindex()
            shown = source_file(path).display
            return [p for p in self.problems if p.path == shown]
        if path.parent.name in SIDE_FOLDERS and is_side_file(path, path.parent.parent):
            # A writer or a plain page: the few side files are read again together.
            self._read_side_files(path.parent.parent)
            self._reindex()
            tail = os.path.join(path.parent.name, path.name)
            return [p for p in self.side_problems if p.path.endswith(tail)]
        if not path.is_file():
            self.remove_file(path)
            return []
        parsed = self.files.get(path)
        source = parsed.source if parsed else source_file(path)
        comparison, found = parse_file(source)
        after = ParsedFile(source, comparison, tuple(found))
        if not self._replace_in_place(parsed, after):
            if parsed is None:  # keep path order, so "which file came first" stays stable
                self._insert_file(after)
            else:
                self.files[path] = after
            self._reindex()
        mine = self.problems_for(path)
        for problem in mine:
            _log_problem(problem)
        return mine

    def remove_file(self, path: Path) -> None:
        """Forget a deleted file and rebuild the indexes (or patch them, when no other
        file's outcome depends on it: ``_replace_in_place``)."""
        if self.content_dir is not None and path in self.profile_paths:
            self._read_profiles(self.content_dir)
            self._reindex()
            return
        parsed = self.files.get(path)
        if parsed is not None and not self._replace_in_place(parsed, None):
            self.files = {known: p for known, p in self.files.items() if p is not parsed}
            self._reindex()

    def _insert_file(self, parsed: ParsedFile) -> None:
        """Add a file's parse result at its place in path order, the order the full load
        gives (``discover`` sorts by path parts, as ``Path`` compares): one insertion, not a
        sort of every path (0.5 s at 100,000 files)."""
        paths = list(self.files)
        path = parsed.source.path
        at = bisect.bisect_left(paths, path)
        ordered = (at == 0 or paths[at - 1] < path) and (at == len(paths) or path < paths[at])
        if not ordered:  # not in path order (never after a full load): sort them
            self.files[path] = parsed
            self.files = dict(sorted(self.files.items()))
            return
        self.files = _inserted(self.files, at, path, parsed)

    def _contested(self, comparison: Comparison, was: Comparison | None = None) -> bool:
        """Whether another file's outcome may depend on this comparison being indexed:
        another comparison (than itself and ``was``, its file's before the edit) with its slug
        or options (which of them wins), an alias equal to its slug or one of its aliases, or
        a link to either. O(library), without building."""
        names = {comparison.slug, *comparison.aliases}
        pair = comparison.pair_key
        for parsed in self.files.values():
            other = parsed.comparison
            if other is None or other is comparison or other is was:
                continue
            if other.slug in names or other.pair_key == pair:
                return True
            if other.aliases and not names.isdisjoint(other.aliases):
                return True
            if other.links and any(target in names for _line, target in other.links):
                return True
        return False

    def _replace_in_place(self, before: ParsedFile | None, after: ParsedFile | None) -> bool:
        """Patch an edited file into the indexes without rebuilding them, when the edit
        cannot change any other file's outcome; else do nothing and return False.

        ``_reindex`` costs O(library) (0.3 s of CPU at 10,000 comparisons, over 1 s at
        100,000). Which file wins a slug or a pair, and which alias is taken, depend only on
        slugs, pairs, publication days and aliases: while those (and the option names other
        files' errors quote) stay, every other file's indexes and problems stay too. So do
        they when a page comes (a file added or mended) or goes (removed or broken) that no
        other file contends with (``_contested``), or one is re-dated that no other shares
        options with. Only this file's own problems are made again, in the order ``_index``
        gives them. The problems list then holds them last: per file (``problems_for``) it is
        what a fresh load gives.
        """
        old = before.comparison if before is not None else None
        new = after.comparison if after is not None else None
        if old is not None and self.comparisons.get(old.slug) is not old:
            return False  # it lost its slug or pair to another file: that file may win now
        if old is not None and new is not None:
            same = (old.slug, old.pair_key, old.aliases, old.option_names)
            if (new.slug, new.pair_key, new.aliases, new.option_names) != same:
                if self._contested(old, new) or self._contested(new, old):
                    return False
                return self._come_and_go(before, after, old, new)
            if old.published != new.published and self._contested(new, old):
                return False
        elif old is not None or new is not None:
            if self._contested(old or new):  # type: ignore[arg-type]
                return False
            return self._come_and_go(before, after, old, new)
        elif before is None and after is not None:  # a new file that does not parse
            self._insert_file(after)
        return self._patched(before, after, old, new)

    def _come_and_go(
        self,
        before: ParsedFile | None,
        after: ParsedFile | None,
        old: Comparison | None,
        new: Comparison | None,
    ) -> bool:
        """Take ``old`` out of the indexes and put ``new`` in at its file's place in path
        order (the order of ``comparisons`` a full load gives), then ``_patched``."""
        if after is not None and before is None:
            self._insert_file(after)
        # New dicts, not changed ones: request threads may be iterating the ones they hold.
        comparisons, by_pair, by_alias = self.comparisons, dict(self.by_pair), dict(self.by_alias)
        if old is not None:
            comparisons = dict(comparisons)
            del comparisons[old.slug]
            del by_pair[old.pair_key]
            for alias in old.aliases:
                if by_alias.get(alias) == old.slug:
                    del by_alias[alias]
        if new is not None:
            path = after.source.path  # type: ignore[union-attr]
            paths = list(self.files)
            preceding = None
            for at in range(bisect.bisect_left(paths, path) - 1, -1, -1):
                earlier = self.files[paths[at]].comparison
                if earlier is not None and comparisons.get(earlier.slug) is earlier:
                    preceding = earlier.slug
                    break
            at = 0 if preceding is None else list(comparisons).index(preceding) + 1
            comparisons = _inserted(comparisons, at, new.slug, new)
            by_pair[new.pair_key] = new.slug
            for alias in new.aliases:
                if (
                    alias not in comparisons
                    and alias not in by_alias
                    and _other_order_owner(alias, new.slug, by_pair) is None
                ):
                    by_alias[alias] = new.slug
        self.comparisons, self.by_pair, self.by_alias = comparisons, by_pair, by_alias
        return self._patched(before, after, old, new)

    def _patched(
        self,
        before: ParsedFile | None,
        after: ParsedFile | None,
        old: Comparison | None,
        new: Comparison | None,
    ) -> bool:
        """This file's own problems made again and its parse result kept (the indexes hold
        ``new`` already, or are left as they are); the change recorded in ``replaced``."""
        problems = list(after.problems) if after is not None else []
        if new is not None:
            for position, alias in enumerate(new.aliases):
                owner = _other_order_owner(alias, new.slug, self.by_pair)
                if owner is not None and alias not in self.comparisons:
                    problems.append(_alias_of_other_order(new, alias, owner))
                elif (
                    alias in self.comparisons
                    or self.by_alias.get(alias) != new.slug
                    or alias in new.aliases[:position]
                ):
                    problems.append(_alias_taken(new, alias))
            self.comparisons[new.slug] = new
            problems.extend(
                self._reference_problems(
                    new,
                    self.comparisons,
                    self.by_alias,
                    self.by_pair,
                    _Listed(self.comparisons, self),
                )
            )
            problems.extend(disagreements(self.profiles, [new]))
        if after is not None:
            self.files[after.source.path] = after
        elif before is not None:  # a new dict: request threads may be iterating this one
            files = dict(self.files)
            del files[before.source.path]
            self.files = files
        mine = {parsed.source.display for parsed in (before, after) if parsed is not None}
        self.problems = [p for p in self.problems if p.path not in mine] + problems
        self.version += 1
        self.replaced[self.version] = (old, new)
        if len(self.replaced) > REPLACED_KEPT:
            del self.replaced[next(iter(self.replaced))]
        return True

    def left_out(self) -> list[Comparison]:
        """Comparisons parsed from their files that the cross-file rules left out of
        ``comparisons`` (a slug or pair of options another page has)."""
        kept = self.comparisons
        return [
            parsed.comparison
            for parsed in self.files.values()
            if parsed.comparison is not None
            and kept.get(parsed.comparison.slug) is not parsed.comparison
        ]

    def problems_for(self, path: Path) -> list[Problem]:
        """Every problem reported against one file, its own and cross-file ones."""
        parsed = self.files.get(path)
        if parsed is None:
            return []
        return [p for p in self.problems if p.path == parsed.source.display]

    def source_for_slug(self, slug: str) -> SourceFile | None:
        """The file that would serve ``/compare/<slug>``, parsed or not."""
        return next(
            (parsed.source for parsed in self.files.values() if _slug_of(parsed.source) == slug),
            None,
        )

    def _read_profiles(self, content_dir: Path) -> None:
        """Every option profile, parsed again: a few hundred small files at most."""
        self.content_dir = content_dir
        paths = profile_files(content_dir)
        self.profiles, self.profile_problems = load_profiles(
            paths, lambda path: source_file(path).display
        )
        self.profile_paths = tuple(paths)

    def _read_side_files(self, content_dir: Path) -> None:
        """Read the writers and the plain pages (few, small files: no cache needed)."""
        self.side_problems = []
        cwd = os.getcwd().rstrip(os.sep) + os.sep

        def files(folder: str) -> list[tuple[Path, str]]:
            directory = content_dir / folder
            if not directory.is_dir():
                return []
            return [
                (path, source_file(path, cwd if content_dir.is_absolute() else None).display)
                for path in sorted(directory.glob("*.md"))
                if path.name.lower() != "readme.md" and not path.name.startswith(".")
            ]

        self.authors = {}
        for path, display in files("authors"):
            author, problems = read_author(path, display)
            self.side_problems.extend(problems)
            if author is not None:
                self.authors[author.slug] = author
        self.pages = {}
        for path, display in files("pages"):
            text_page, problems = read_page(path, display)
            self.side_problems.extend(problems)
            if text_page is not None:
                self.pages[text_page.slug] = text_page

    def _reindex(self) -> None:
        problems = [problem for parsed in self.files.values() for problem in parsed.problems]
        problems.extend(self.profile_problems)
        problems.extend(self.side_problems)
        comparisons = [p.comparison for p in self.files.values() if p.comparison is not None]
        self._index(comparisons, problems)
        self.problems.extend(disagreements(self.profiles, self.comparisons.values()))

    def _index(self, parsed: Iterable[Comparison], problems: list[Problem]) -> None:
        comparisons: dict[str, Comparison] = {}
        for comparison in parsed:
            if comparison.slug in comparisons:
                first = comparisons[comparison.slug]
                problems.append(
                    Problem(
                        comparison.source,
                        1,
                        1,
                        "error",
                        f'duplicate slug "{comparison.slug}": {first.source} already uses it',
                    )
                )
                continue
            comparisons[comparison.slug] = comparison
        # The same options in another order: the page published first keeps the pair, so a
        # newcomer (``emacs-vs-vim.md`` beside an established ``vim-vs-emacs.md``) can never
        # take over an address readers, links and the disagreement meter already use, and
        # the error lands on the file just added. Pages published the same day keep path
        # order (the sort is stable), so the outcome never depends on the file system.
        by_pair: dict[tuple[str, ...], str] = {}
        for comparison in sorted(comparisons.values(), key=lambda c: c.published):
            if comparison.pair_key in by_pair:
                first = comparisons[by_pair[comparison.pair_key]]
                problems.append(
                    Problem(
                        comparison.source,
                        *field_position(comparison, "options"),
                        "error",
                        f"{first.source} already compares the same options "
                        f"({', '.join(first.option_names)})",
                    )
                )
                continue
            by_pair[comparison.pair_key] = comparison.slug
        comparisons = {
            slug: c for slug, c in comparisons.items() if by_pair.get(c.pair_key) == slug
        }
        by_alias: dict[str, str] = {}
        for comparison in comparisons.values():
            for alias in comparison.aliases:
                if alias in comparisons or alias in by_alias:
                    problems.append(_alias_taken(comparison, alias))
                    continue
                if (owner := _other_order_owner(alias, comparison.slug, by_pair)) is not None:
                    problems.append(_alias_of_other_order(comparison, alias, owner))
                    continue
                by_alias[alias] = comparison.slug
        listed = _Listed(comparisons, self)
        for comparison in comparisons.values():
            problems.extend(
                self._reference_problems(comparison, comparisons, by_alias, by_pair, listed)
            )
        self.comparisons = comparisons
        self.by_pair = by_pair
        self.by_alias = by_alias
        self.problems = problems
        self.version += 1

    def _reference_problems(
        self,
        comparison: Comparison,
        comparisons: dict[str, Comparison],
        by_alias: dict[str, str],
        by_pair: dict[tuple[str, ...], str],
        listed: _Listed,
    ) -> list[Problem]:
        """A comparison's authors without a file, links to no page, and links to a page's
        options in another order (a redirect: it works, but readers take a detour)."""
        problems: list[Problem] = []
        for author in comparison.authors:
            if author not in self.authors:
                close = difflib.get_close_matches(author, list(self.authors), n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                problems.append(
                    Problem(
                        comparison.source,
                        *field_position(comparison, "authors", author),
                        "error",
                        f'unknown author "{author}": no content/authors/{author}.md{hint}',
                    )
                )
        for line, target in comparison.links:
            if target in comparisons or target in by_alias:
                continue
            canonical = by_pair.get(pair_key(target.split("-vs-")))
            if canonical is not None:
                # An outside review: the site answers it (301), yet check called it missing
                # and the build refused to run.
                problems.append(
                    Problem(
                        comparison.source,
                        line,
                        _link_column(comparison, line, target),
                        "warning",
                        f"link to /compare/{target}, which redirects to /compare/{canonical}: "
                        "link that address",
                    )
                )
            else:
                problems.append(
                    Problem(
                        comparison.source,
                        line,
                        _link_column(comparison, line, target),
                        "error",
                        f"link to /compare/{target}, which does not exist",
                    )
                )
        for line, column, kind, slug, _rest in comparison.listing_links:
            slugs = listed.slugs(kind)
            if slug not in slugs:
                close = difflib.get_close_matches(slug, list(slugs), n=1)
                hint = f" (did you mean /{kind}/{close[0]}?)" if close else ""
                problems.append(
                    Problem(
                        comparison.source,
                        line,
                        column,
                        "warning",
                        f"link to /{kind}/{slug}, which does not exist{hint}",
                    )
                )
        return problems

    # --- lookups ----------------------------------------------------------------------------

    def resolve(self, slug: str) -> tuple[Comparison | None, str | None]:
        """Find a page by slug; else the canonical slug to redirect to (alias or other order)."""
        comparison = self.comparisons.get(slug)
        if comparison is not None:
            return comparison, None
        # The options in another order first: that address is the pair's own, whatever an
        # alias claims (``_other_order_owner``).
        canonical = self.by_pair.get(pair_key(slug.split("-vs-")))
        if canonical is not None:
            return None, canonical
        return None, self.by_alias.get(slug)

    def visible(self, now: datetime | None = None, *, drafts: bool = False) -> list[Comparison]:
        """Comparisons readers may see, newest first."""
        moment = now or datetime.now(UTC)
        if drafts:  # every page is public, a draft or due later: all of them
            shown = list(self.comparisons.values())
        else:
            # ``is_public`` by day: a page is live from its day's start (UTC), so from the
            # day of ``moment`` in UTC on; no datetime per comparison (100,000 at start).
            today = moment.astimezone(UTC).date()
            shown = [c for c in self.comparisons.values() if not c.draft and c.published <= today]
        return sorted(shown, key=lambda c: (c.published, c.slug), reverse=True)

    @staticmethod
    def group(comparisons: Iterable[Comparison], key: str) -> dict[str, list[Comparison]]:
        """Group by ``category`` or by each ``tag``/``option`` slug, keeping the given order."""
        groups: dict[str, list[Comparison]] = defaultdict(list)
        for comparison in comparisons:
            if key == "category":
                groups[comparison.category_slug].append(comparison)
            elif key == "tag":
                for tag in comparison.tag_slugs:
                    groups[tag].append(comparison)
            elif key == "option":
                for option in comparison.options:
                    groups[option.slug].append(comparison)
        return dict(groups)


# A name that is a slug already: ``slugify`` leaves it as it is, ~50x faster to tell than to
# slugify (live preview looks for a broken file's name among every file: 100,000 of them).
_PLAIN_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _inserted(mapping: dict[K, V], at: int, key: K, value: V) -> dict[K, V]:
    """A new dict: ``mapping`` with ``key`` put at position ``at`` of its order. Through
    lists of keys and values, not of items: 100,000 item tuples cost 2.5x the rest."""
    keys, values = list(mapping), list(mapping.values())
    keys.insert(at, key)
    values.insert(at, value)
    return dict(zip(keys, values, strict=True))


def _slug_of(source: SourceFile) -> str:
    """``slug_for(source.slug)``, the page's slug from its file name."""
    stem = source.slug
    return stem if _PLAIN_SLUG.fullmatch(stem) else slugify(stem) or stem


def _alias_taken(comparison: Comparison, alias: str) -> Problem:
    return Problem(
        comparison.source,
        *field_position(comparison, "aliases"),
        "error",
        f'alias "{alias}" is already a page or another alias',
    )


def _other_order_owner(alias: str, slug: str, by_pair: dict[tuple[str, ...], str]) -> str | None:
    """The page (not ``slug``) whose options ``alias`` names in another order: that address
    already redirects to it, so the alias would silently take it over."""
    owner = by_pair.get(pair_key(alias.split("-vs-")))
    return owner if owner is not None and owner != slug else None


def _alias_of_other_order(comparison: Comparison, alias: str, owner: str) -> Problem:
    return Problem(
        comparison.source,
        *field_position(comparison, "aliases"),
        "error",
        f'alias "{alias}" names the options of "{owner}" in another order, '
        "an address that already leads there",
    )


def _log_problem(problem: Problem) -> None:
    log.log(logging.ERROR if problem.severity == "error" else logging.DEBUG, "%s", problem)


def _read_lines(comparison: Comparison) -> list[str]:
    """The file's lines, re-read only to place a cross-file error; empty if it is gone."""
    text = read_content_text(comparison.source_path())
    return text.splitlines() if text is not None else []


def field_position(comparison: Comparison, key: str, value: str = "") -> tuple[int, int]:
    """(line, column) of a front-matter field's value (of ``value`` in it, when given: a
    flow list ``[a, b]`` or a block list's ``- b`` line), or 1:1 when it cannot be found."""
    pattern = re.compile(rf"^{re.escape(key)}\s*:\s*")
    lines = _read_lines(comparison)
    for number, line in enumerate(lines, start=1):
        match = pattern.match(line)
        if match:
            if value and value in line[match.end() :]:
                return number, line.index(value, match.end()) + 1
            for offset, item in enumerate(lines[number:], start=number + 1):
                if not item.startswith((" ", "\t", "-")):
                    break
                if value and item.lstrip(" -\t").strip("\"' ") == value:
                    return offset, item.index(value) + 1
            return number, match.end() + 1
        if number > 1 and line.strip() == "---":
            break
    return 1, 1


class _Listed:
    """The slugs that have a page of each kind (``/category/<slug>``, ...) among some
    comparisons (drafts too: a link to a page not out yet is not broken), each kind's made
    when first asked: few pages link a listing, so most loads never make them."""

    def __init__(self, comparisons: dict[str, Comparison], library: Library) -> None:
        self._comparisons = comparisons
        self._library = library
        self._made: dict[str, set[str]] = {}

    def slugs(self, kind: str) -> set[str]:
        found = self._made.get(kind)
        if found is None:
            found = self._made[kind] = self._of(kind)
        return found

    def _of(self, kind: str) -> set[str]:
        comparisons = self._comparisons.values()
        if kind in ("category", "best"):
            return {c.category_slug for c in comparisons}
        if kind == "tag":
            return {tag for c in comparisons for tag in c.tag_slugs}
        if kind == "option":  # every profile has a page, though no comparison names it yet
            return {o.slug for c in comparisons for o in c.options} | set(self._library.profiles)
        return set(self._library.authors)


def _link_column(comparison: Comparison, line: int, target: str) -> int:
    lines = _read_lines(comparison)
    if 0 < line <= len(lines):
        column = lines[line - 1].find(f"/compare/{target}")
        if column >= 0:
            return column + 1
    return 1


def category_name(comparisons: Iterable[Comparison], category_slug: str) -> str | None:
    return next((c.category for c in comparisons if c.category_slug == category_slug), None)
