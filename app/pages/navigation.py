"""How readers move between pages: related comparisons, option pages, leaderboards, pagination.

Plain functions over lists of comparisons the caller has already filtered to what readers may
see; nothing here knows about HTTP, drafts or caching.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.content.bodies import LazyComparison
from app.content.model import Comparison, slugify

T = TypeVar("T")

PER_PAGE = 24
RELATED_LIMIT = 6
# Candidates kept per option, tag and category for related links (see RelatedIndex).
RELATED_POOL = 64


def related(
    comparison: Comparison, candidates: Sequence[Comparison], *, limit: int = RELATED_LIMIT
) -> list[Comparison]:
    """Other comparisons, best first: shared options, then shared tags, then same category."""
    options = {option.slug for option in comparison.options}
    tags = set(comparison.tag_slugs)
    scored: list[tuple[tuple[int, int, int, int, str], Comparison]] = []
    for other in candidates:
        if other.slug == comparison.slug:
            continue
        shared_options = len(options.intersection(o.slug for o in other.options))
        shared_tags = len(tags.intersection(other.tag_slugs))
        same_category = int(other.category_slug == comparison.category_slug)
        if not (shared_options or shared_tags or same_category):
            continue
        # Newer first among equals; the slug breaks the last tie so the order is stable.
        newest = -other.published.toordinal()
        key = (-shared_options, -shared_tags, -same_category, newest, other.slug)
        scored.append((key, other))
    scored.sort(key=lambda pair: pair[0])
    return [other for _key, other in scored[:limit]]


class RelatedIndex:
    """``related`` for any comparison against one fixed candidate list, in bounded work.

    Built once per candidate list (per content change). Each option, tag and category keeps
    only its ``per_key`` best candidates by ``related``'s tie-break (newest first, then slug),
    and a page scores the union of its keys' lists with ``related``'s own key. A page then
    costs O(keys x per_key) whatever the library's size: pooling every comparison that shares
    the category or a tag cost O(category) per page, ~85% of a first render at 100,000
    comparisons (725 ms median, issue 18). While no key has more than ``per_key`` comparisons
    the lists are whole and the answer is exactly ``related``'s; past that, an older candidate
    that shares several keys but is not among the newest of any of them is not considered.
    ``scored`` counts the candidates scored so far (tests pin the bound with it).
    """

    def __init__(self, candidates: Sequence[Comparison], *, per_key: int = RELATED_POOL) -> None:
        # Per candidate: option slugs, tag slugs (tuples: ~1/4 the memory of frozensets, and
        # a page scores at most a few hundred of them), category slug, minus publication day.
        facts: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, int]] = {}
        # In ``related``'s tie-break order (newest first, then slug), so each key's best
        # ``per_key`` are the head of its list: one sort, no per-key selection (per-key heaps
        # were most of the build at 100,000).
        ordered = sorted(candidates, key=lambda c: (-c.published.toordinal(), c.slug))
        # One dict per kind keyed by the bare slug, and ``_facts_of`` inlined: no key tuple
        # nor call per comparison and key (half of the build at 100,000 comparisons).
        by_option: defaultdict[str, list[Comparison]] = defaultdict(list)
        by_tag: defaultdict[str, list[Comparison]] = defaultdict(list)
        by_category: defaultdict[str, list[Comparison]] = defaultdict(list)
        for other in ordered:
            options = tuple([option.slug for option in other.options])
            tags = _tag_slugs(other)
            category = _slug(other.category)
            facts[other.slug] = (options, tags, category, -other.published.toordinal())
            for option in options:
                by_option[option].append(other)
            for tag in tags:
                by_tag[tag].append(other)
            by_category[category].append(other)
        # A key of one comparison relates nothing (most option names, at 100,000 synthetic
        # pages: 200,000 lists); facts are kept only for comparisons some list keeps. Keys in
        # ``_keys`` order of kinds, as before.
        self._sharing: dict[tuple[str, str], list[Comparison]] = {
            (kind, name): members[:per_key]
            for kind, groups in (("option", by_option), ("tag", by_tag), ("category", by_category))
            for name, members in groups.items()
            if len(members) > 1
        }
        kept = {other.slug for members in self._sharing.values() for other in members}
        self._facts = facts if len(kept) == len(facts) else {slug: facts[slug] for slug in kept}
        self._per_key = per_key
        self.scored = 0
        # ``on_demand``: every candidate with a key, and whether a page is a candidate.
        self._sharing_now: Callable[[str, str], Sequence[Comparison]] | None = None
        self._candidate: Callable[[str], bool] | None = None
        self._single: set[tuple[str, str]] = set()  # keys of one candidate, asked for already

    @classmethod
    def from_pools(
        cls, pools: dict[tuple[str, str], list[Comparison]], *, per_key: int = RELATED_POOL
    ) -> RelatedIndex:
        """The index whose lists are ``pools`` (``pools`` of one built over the same
        candidates, read back: ``app.pages.related_file``); facts are made as pages ask."""
        index = cls(())
        index._sharing = pools
        index._per_key = per_key
        return index

    @classmethod
    def on_demand(
        cls,
        sharing: Callable[[str, str], Sequence[Comparison]],
        candidate: Callable[[str], bool],
        *,
        per_key: int = RELATED_POOL,
    ) -> RelatedIndex:
        """The index whose lists are made the first time a page asks for them, from
        ``sharing(kind, name)`` (every candidate with that key: the site's groups), as
        ``refresh`` makes them; ``candidate(slug)``: whether a page is one. For a few pages
        (an incremental build), where building every list cost ~30 ms at 10,000 pages."""
        index = cls((), per_key=per_key)
        index._sharing_now = sharing
        index._candidate = candidate
        return index

    def _list(self, key: tuple[str, str]) -> Sequence[Comparison]:
        """The candidates kept for one key (none for a key of fewer than two)."""
        found = self._sharing.get(key)
        if found is not None or self._sharing_now is None or key in self._single:
            return found or ()
        entries = [(-c.published.toordinal(), c.slug, c) for c in self._sharing_now(*key)]
        if len(entries) < 2:
            self._single.add(key)
            return ()
        members = self._sharing[key] = [other for _n, _s, other in _best(entries, self._per_key)]
        return members

    @property
    def pools(self) -> dict[tuple[str, str], list[Comparison]]:
        """Each option, tag and category's kept candidates (shared: do not change them)."""
        return self._sharing

    def replace(self, old: Comparison, new: Comparison) -> None:
        """Put ``new`` where ``old`` is, in place: for an edit that kept ``old``'s options,
        tags, category, slug and publication day, so every list and fact stays right."""
        category = _slug(old.category)
        for key in _keys((option.slug for option in old.options), _tag_slugs(old), category):
            members = self._sharing.get(key, [])
            for position, other in enumerate(members):
                if other is old:
                    members[position] = new

    def refresh(
        self,
        old: Comparison | None,
        new: Comparison | None,
        sharing: Callable[[str, str], Sequence[Comparison]],
    ) -> None:
        """Make again, in place, the lists of every key ``old`` or ``new`` has, after an edit
        that changed those keys, the publication day, or added (``old`` None) or took away
        (``new`` None) a candidate: no other key's list can hold either. ``sharing(kind,
        name)`` gives every candidate with that key now (the site's groups): O(those), not
        O(library)."""
        keys = {key for c in (old, new) if c is not None for key in _keys(*_facts_of(c)[:3])}
        for kind, name in keys:
            entries = [(-c.published.toordinal(), c.slug, c) for c in sharing(kind, name)]
            if len(entries) < 2:
                self._sharing.pop((kind, name), None)
                continue
            members = [other for _n, _s, other in _best(entries, self._per_key)]
            self._sharing[(kind, name)] = members
            for other in members:  # facts of others that stayed no longer listed are unused
                self._facts[other.slug] = _facts_of(other)
        if old is not None and (new is None or new.slug != old.slug):
            # No longer a candidate: ``related`` must not take it for one (its shortcuts for
            # a candidate's page; an outside review found a page taken out of the candidates
            # and previewed ranked without the options it shares).
            self._facts.pop(old.slug, None)

    def lone_tags(self, comparison: Comparison) -> frozenset[str]:
        """The comparison's option "Related" tags that no other candidate carries."""
        return frozenset(
            tag
            for option in comparison.options
            for tag in option.related
            if all(other.slug == comparison.slug for other in self._list(("tag", tag)))
        )

    def related(self, comparison: Comparison, *, limit: int = RELATED_LIMIT) -> list[Comparison]:
        options = frozenset(option.slug for option in comparison.options)
        tags = frozenset(comparison.tag_slugs)
        category = comparison.category_slug
        # Pooled a kind at a time, strongest first: a candidate sharing an option outranks
        # every one that shares none, and one sharing a tag every one that shares neither.
        # While each list pooled so far is whole (shorter than ``per_key``: none was cut),
        # every candidate outside the pool ranks below all in it, so once the pool holds
        # ``limit`` the weaker kinds cannot change the answer, and their lists (the
        # category's, the longest, above all) are not scored. A cut list keeps the whole
        # union, as before. So does a page the index does not know as a candidate (in no
        # list): a key dropped for one member is empty only when that member is the page.
        pool: dict[str, Comparison] = {}
        candidate = (
            self._candidate(comparison.slug)
            if self._candidate is not None
            else comparison.slug in self._facts
        )
        whole = candidate
        lists, per_key = self._list, self._per_key
        for keys in (
            [("option", slug) for slug in options],
            [("tag", slug) for slug in tags],
            [("category", category)],
        ):
            for key in keys:
                members = lists(key)
                whole = whole and len(members) < per_key
                for other in members:
                    pool[other.slug] = other
            pool.pop(comparison.slug, None)
            if whole and len(pool) >= limit:
                break
        # A candidate page none of whose options has a list shares no option with any other
        # candidate (a key another one has lists both): no option is counted, for any of them.
        # Only for the very candidate the index holds (same options), not another page of
        # its slug (an edit not yet refreshed in).
        if options and candidate and not any(lists(("option", slug)) for slug in options):
            known = self._facts.get(comparison.slug)
            if self._candidate is not None or (known is not None and set(known[0]) == options):
                options = frozenset()
        self.scored += len(pool)
        # Each candidate's rank: most options shared, most tags shared, same category first
        # (False sorts before True), newest, slug; then the page. Slugs are distinct, so
        # tuples never compare pages, and ``nsmallest`` needs no key function. This loop is
        # most of a page's related links: no call but the two intersections, counted in C (a
        # generator over a set of each was 2.5x slower), and none for a page of no option
        # another page has.
        scored: list[tuple[int, int, bool, int, str, Comparison]] = []
        facts = self._facts
        by_options = options.intersection
        by_tags = tags.intersection
        for slug, other in pool.items():
            known = facts.get(slug)
            if known is None:  # an index read back (``from_pools``) makes them on first use
                known = facts[slug] = _facts_of(other)
            other_options, other_tags, other_category, newest = known
            scored.append(
                (
                    -len(by_options(other_options)) if options else 0,
                    -len(by_tags(other_tags)),
                    other_category != category,
                    newest,
                    slug,
                    other,
                )
            )
        return [ranked[-1] for ranked in heapq.nsmallest(limit, scored)]


# Names repeat across the library: each category and tag is slugified once per process, not
# once per comparison (slugify was half of building the index of 100,000 comparisons).
_slug = functools.lru_cache(maxsize=1 << 16)(slugify)


def _facts_of(comparison: Comparison) -> tuple[tuple[str, ...], tuple[str, ...], str, int]:
    """Option slugs, tag slugs, category slug and minus the publication day's ordinal."""
    options = tuple(option.slug for option in comparison.options)
    newest = -comparison.published.toordinal()
    return options, _tag_slugs(comparison), _slug(comparison.category), newest


def _tag_slugs(comparison: Comparison) -> tuple[str, ...]:
    """``Comparison.tag_slugs``, with each tag's slug from ``_slug``."""
    if isinstance(comparison, LazyComparison):
        return comparison.tag_slugs  # kept from the parse
    slugs = dict.fromkeys(_slug(tag) for tag in comparison.tags)
    for option in comparison.options:
        slugs.update(dict.fromkeys(option.related))
    return tuple(slugs)


def _keys(options: Iterable[str], tags: Iterable[str], category: str) -> list[tuple[str, str]]:
    return [
        *(("option", slug) for slug in options),
        *(("tag", slug) for slug in tags),
        ("category", category),
    ]


def _best(
    entries: list[tuple[int, str, Comparison]], count: int
) -> list[tuple[int, str, Comparison]]:
    """The first ``count`` entries by (newest, slug): a full sort only when short."""
    if len(entries) <= count:
        return sorted(entries, key=lambda entry: entry[:2])
    return heapq.nsmallest(count, entries, key=lambda entry: entry[:2])


@dataclass(frozen=True, slots=True)
class OptionPage:
    """Every visible comparison of one option, and how often it is our pick."""

    slug: str
    name: str
    comparisons: list[Comparison]
    wins: int

    @property
    def win_rate(self) -> float:
        return self.wins / len(self.comparisons) if self.comparisons else 0.0


def option_page(slug: str, comparisons: Sequence[Comparison]) -> OptionPage | None:
    """The option with this slug across the given comparisons, or None if none include it."""
    including = [c for c in comparisons if any(o.slug == slug for o in c.options)]
    if not including:
        return None
    names = Counter(o.name for c in including for o in c.options if o.slug == slug)
    name = names.most_common(1)[0][0]  # editors may spell it two ways; the usual one wins
    wins = sum(1 for c in including if c.pick_option.slug == slug)
    return OptionPage(slug, name, including, wins)


@dataclass(frozen=True, slots=True)
class Standing:
    """One row of a category leaderboard."""

    rank: int  # within its group
    slug: str
    name: str
    wins: int
    appearances: int
    group: int = 1  # options compared with each other, directly or through a shared rival

    @property
    def win_rate(self) -> float:
        return self.wins / self.appearances if self.appearances else 0.0


@dataclass(frozen=True, slots=True)
class Leaderboard:
    category_slug: str
    category: str
    standings: list[Standing]
    comparisons: list[Comparison]

    @property
    def groups(self) -> list[list[Standing]]:
        """The standings split by group, in group order."""
        grouped: dict[int, list[Standing]] = {}
        for standing in self.standings:
            grouped.setdefault(standing.group, []).append(standing)
        return list(grouped.values())


def _rival_groups(comparisons: Sequence[Comparison]) -> dict[str, str]:
    """Each option slug -> a representative of the options it was compared with, directly or
    through a chain of comparisons (union-find)."""
    parent: dict[str, str] = {}

    def find(slug: str) -> str:
        while parent.setdefault(slug, slug) != slug:
            parent[slug] = parent[parent[slug]]
            slug = parent[slug]
        return slug

    for comparison in comparisons:
        first, *others = (option.slug for option in comparison.options)
        for other in others:
            parent[find(other)] = find(first)
    return {slug: find(slug) for slug in parent}


def leaderboard(category_slug: str, comparisons: Sequence[Comparison]) -> Leaderboard | None:
    """Options of a category ranked by wins, then win rate, then name (a derived "best of").

    Only options compared with each other are ranked against each other: two options from
    unrelated comparisons, one win each, are not "tied first". Each group is ranked on its own
    (largest group first); equal wins and appearances share a rank."""
    in_category = [c for c in comparisons if c.category_slug == category_slug]
    if not in_category:
        return None
    wins: Counter[str] = Counter()
    appearances: Counter[str] = Counter()
    names: dict[str, str] = {}
    for comparison in in_category:
        wins[comparison.pick_option.slug] += 1
        for option in comparison.options:
            appearances[option.slug] += 1
            names.setdefault(option.slug, option.name)

    def key(slug: str) -> tuple[int, float, str]:
        return -wins[slug], -wins[slug] / appearances[slug], names[slug].casefold()

    members: dict[str, list[str]] = {}
    for slug, root in _rival_groups(in_category).items():
        members.setdefault(root, []).append(slug)
    groups = sorted(
        (sorted(group, key=key) for group in members.values()),
        key=lambda group: (-len(group), key(group[0])),
    )
    standings: list[Standing] = []
    for number, group in enumerate(groups, start=1):
        ranked: list[Standing] = []
        for position, slug in enumerate(group, start=1):
            # Ties on wins and rate share a rank ("1, 1, 3"), as leaderboards usually print.
            same = ranked and (wins[slug], appearances[slug]) == (
                ranked[-1].wins,
                ranked[-1].appearances,
            )
            rank = ranked[-1].rank if same else position
            ranked.append(Standing(rank, slug, names[slug], wins[slug], appearances[slug], number))
        standings += ranked
    return Leaderboard(category_slug, in_category[0].category, standings, in_category)


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    name: str
    count: int


def popular_categories(comparisons: Sequence[Comparison], *, limit: int = 12) -> list[Category]:
    """Categories with the most comparisons first (shown for an empty search)."""
    counts = Counter(c.category_slug for c in comparisons)
    names: dict[str, str] = {}
    for comparison in comparisons:
        names.setdefault(comparison.category_slug, comparison.category)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], names[item[0]].casefold()))
    return [Category(slug, names[slug], count) for slug, count in ranked[:limit]]


@dataclass(frozen=True, slots=True)
class MenuItem:
    """A category as the header's menu names it on every page. No count: a comparison added
    or removed would then change every page's header, and a static build would rewrite every
    page for one new file (the categories page and each category's own page give the counts)."""

    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Wayfinding:
    """What helps a reader who has not found their page yet: every category for the header's
    menu (by name), the biggest ones and the newest comparisons (for a search with no result)."""

    menu: tuple[MenuItem, ...]
    popular: tuple[Category, ...]
    recent: tuple[Comparison, ...]


def wayfinding(
    visible: Sequence[Comparison],
    *,
    popular: int = 12,
    recent: int = 6,
    by_category: Mapping[str, Sequence[Comparison]] | None = None,
) -> Wayfinding:
    """``visible`` is newest first, as ``Site.visible`` gives it; ``by_category``, when given,
    is ``Library.group(visible, "category")``, which counts them in O(categories)."""
    if by_category is None:
        every = popular_categories(visible, limit=len(visible))
    else:  # as popular_categories: by size, then name; ties in order of first appearance
        every = sorted(
            (
                Category(slug, members[0].category, len(members))
                for slug, members in by_category.items()
            ),
            key=lambda c: (-c.count, c.name.casefold()),
        )
    return Wayfinding(
        menu=tuple(
            MenuItem(c.slug, c.name) for c in sorted(every, key=lambda c: c.name.casefold())
        ),
        popular=tuple(every[:popular]),
        recent=tuple(visible[:recent]),
    )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a longer list; ``number`` counts from 1."""

    items: list[T]
    number: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(items: Sequence[T], number: int, *, per_page: int = PER_PAGE) -> Page[T] | None:
    """The requested page, or None when it is past the end (page 1 always exists)."""
    pages = max(1, math.ceil(len(items) / per_page))
    if number < 1 or number > pages:
        return None
    start = (number - 1) * per_page
    return Page(list(items[start : start + per_page]), number, pages, len(items))


def page_number(raw: str | None) -> int | None:
    """``?page=`` as a positive int; None for garbage, which routes answer with a 404."""
    if raw is None or raw == "":
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return None
    number = int(raw)
    return number if number >= 1 else None
