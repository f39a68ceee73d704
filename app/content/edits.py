"""Live preview's in-place edits applied to lists built before them, instead of building again.

``Library.reload_file`` swaps an edited comparison in place when no cross-file outcome can
change, and records ``(old, new)`` in ``Library.replaced`` (``old`` None for a page that
came, ``new`` None for one that went, when no other file contends). What was built from the library
before (the visible list, its groups, the related index, the search index) is then patched
from those pairs when the facts it depends on allow, which costs O(list) where building costs
a sort and three groupings of the whole library (seconds at 100,000 comparisons). Each patch
gives exactly what building afresh would: ``tests/test_live_edits.py`` holds them to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.content.library import Library
from app.content.model import Comparison

Swap = tuple[Comparison, Comparison]
Groups = dict[str, dict[str, list[Comparison]]]


def row_facts(comparison: Comparison) -> tuple[object, ...]:
    """What places a comparison in the visible list (and the search index's rows): slug,
    publication day and draft state. While they stay, it keeps its place in every list."""
    return comparison.slug, comparison.published, comparison.draft


def listing_facts(comparison: Comparison) -> tuple[object, ...]:
    """``row_facts`` plus what decides which groups and related pools hold a comparison:
    category, tags and options. While they stay, an edit only swaps one object for another."""
    options = tuple((option.slug, option.related) for option in comparison.options)
    return (*row_facts(comparison), comparison.category, comparison.tags, options)


def _position(comparisons: list[Comparison], wanted: Comparison) -> int | None:
    """Where ``wanted`` is in the list, by identity (``index`` compares every field)."""
    return next((at for at, c in enumerate(comparisons) if c is wanted), None)


def swap(comparisons: list[Comparison], old: Comparison, new: Comparison) -> bool:
    """Put ``new`` where ``old`` is in the list; False if it is not there."""
    at = _position(comparisons, old)
    if at is None:
        return False
    comparisons[at] = new
    return True


def patched_listings(
    visible: Sequence[Comparison], groups: Groups, swaps: Sequence[Swap]
) -> tuple[list[Comparison], Groups]:
    """The visible list and its groups (``Library.group`` of it, by kind) after ``swaps``,
    each of which kept ``row_facts``; the arguments are shared and left as they are.

    A group the edit left keeps its order without it; one it joined gets it at its place in
    the visible list; groups keep ``Library.group``'s order (first appearance in the list).
    """
    patched = list(visible)
    regrouped = {kind: dict(grouped) for kind, grouped in groups.items()}
    rank: dict[int, int] | None = None
    for old, new in swaps:
        if not swap(patched, old, new):
            continue  # not visible (a draft, or not yet published): in no group either
        if rank is not None:
            rank[id(new)] = rank[id(old)]
        for kind, grouped in regrouped.items():
            before, after = Library.group([old], kind), Library.group([new], kind)
            moved = before.keys() != after.keys()
            for name in before:
                members = grouped[name] = list(grouped[name])
                if name in after:
                    swap(members, old, new)
                else:
                    at = _position(members, old)
                    if at is not None:
                        del members[at]
                    if not members:
                        del grouped[name]
            if not moved:
                continue
            if rank is None:
                rank = {id(comparison): at for at, comparison in enumerate(patched)}
            places = rank
            for name in after.keys() - before.keys():
                members = grouped[name] = list(grouped.get(name, ()))
                at = next(
                    (i for i, c in enumerate(members) if places[id(c)] > places[id(new)]),
                    len(members),
                )
                members.insert(at, new)
            regrouped[kind] = dict(sorted(grouped.items(), key=lambda item: places[id(item[1][0])]))
    return patched, regrouped


Change = tuple[Comparison | None, Comparison | None]


def _place(members: Sequence[Comparison], comparison: Comparison) -> int:
    """Where ``comparison`` goes in a list newest first (by publication day, then slug, both
    descending: ``Library.visible``'s order, which every group keeps)."""
    key = (comparison.published, comparison.slug)
    low, high = 0, len(members)
    while low < high:
        middle = (low + high) // 2
        other = members[middle]
        if (other.published, other.slug) > key:
            low = middle + 1
        else:
            high = middle
    return low


def _take_out(members: list[Comparison], comparison: Comparison) -> bool:
    """Remove ``comparison`` (by identity) from a list newest first; False if not there."""
    at = _place(members, comparison)
    if at < len(members) and members[at] is comparison:
        del members[at]
        return True
    return False


def moved_listings(
    visible: Sequence[Comparison],
    groups: Groups,
    changes: Sequence[Change],
    shown: Callable[[Comparison], bool],
) -> tuple[list[Comparison], Groups]:
    """The visible list and its groups after ``changes`` that may move a comparison, add one
    (old None) or take one away (new None); ``shown`` tells whether one is visible now. The
    arguments are shared and left as they are.

    Each old comparison is taken out of the list and its groups, each new one put in at its
    place by binary search: O(list) copies, no sort of the list nor grouping of it (0.7 s
    of CPU at 100,000 comparisons). Groups then go back to ``Library.group``'s order: by
    their first member's place in the list, and among groups with the same first member,
    in that member's own order of keys.
    """
    patched = list(visible)
    regrouped = {kind: dict(grouped) for kind, grouped in groups.items()}
    for old, new in changes:
        if old is not None and _take_out(patched, old):
            for kind, grouped in regrouped.items():
                for name in Library.group([old], kind):
                    if name not in grouped:
                        continue
                    members = list(grouped[name])
                    _take_out(members, old)
                    if members:
                        grouped[name] = members
                    else:
                        del grouped[name]
        if new is not None and shown(new):
            patched.insert(_place(patched, new), new)
            for kind, grouped in regrouped.items():
                for name in Library.group([new], kind):
                    members = list(grouped.get(name, ()))
                    members.insert(_place(members, new), new)
                    grouped[name] = members
    if changes:
        regrouped = {kind: _in_group_order(grouped, kind) for kind, grouped in regrouped.items()}
    return patched, regrouped


def _in_group_order(grouped: dict[str, list[Comparison]], kind: str) -> dict[str, list[Comparison]]:
    """The groups in ``Library.group``'s order: first member newest first, and groups that
    share their first member in its order of keys."""
    items = sorted(
        grouped.items(), key=lambda item: (item[1][0].published, item[1][0].slug), reverse=True
    )
    ordered: list[tuple[str, list[Comparison]]] = []
    start = 0
    while start < len(items):
        first = items[start][1][0]
        end = start + 1
        while end < len(items) and items[end][1][0] is first:
            end += 1
        run = items[start:end]
        if len(run) > 1:
            keys = list(Library.group([first], kind))
            run.sort(key=lambda item: keys.index(item[0]))
        ordered.extend(run)
        start = end
    return dict(ordered)
