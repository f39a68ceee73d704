"""Live preview's in-place edits applied to lists built before them, instead of building again.

``Library.reload_file`` swaps an edited comparison in place when no cross-file outcome can
change, and records ``(old, new)`` in ``Library.replaced``. What was built from the library
before (the visible list, its groups, the related index, the search index) is then patched
from those pairs when the facts it depends on allow, which costs O(list) where building costs
a sort and three groupings of the whole library (seconds at 100,000 comparisons). Each patch
gives exactly what building afresh would: ``tests/test_live_edits.py`` holds them to it.
"""

from __future__ import annotations

from collections.abc import Sequence

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
