"""Related comparisons cost the same work per page whatever the library's size (issue 18)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.content.library import Library
from app.content.model import Comparison, Option, slugify
from app.pages.navigation import RELATED_POOL, RelatedIndex, related


def comparison(
    number: int, *, category: str = "Databases", tags: tuple[str, ...] = ()
) -> Comparison:
    names = (f"Tool{number}a", f"Tool{number}b")
    options = tuple(Option(name, slugify(name), "", (), (), ()) for name in names)
    return Comparison(
        slug=f"tool{number}a-vs-tool{number}b",
        source=f"tool{number}a-vs-tool{number}b.md",
        title=f"{names[0]} vs {names[1]}",
        category=category,
        summary="",
        options=options,
        pick=names[0],
        tags=tags,
        published=date(2024, 1, 1) + timedelta(days=number % 700),
        intro="",
        verdict="",
        use_cases=(),
        bottom_line="",
        content_hash=str(number),
    )


def library(size: int) -> list[Comparison]:
    """One category and one tag shared by everything: the worst case for pooling."""
    return [comparison(n, tags=("shared", f"pair-{n // 2}")) for n in range(size)]


def scored_per_page(size: int, pages: int = 20) -> int:
    index = RelatedIndex(library(size))
    for number in range(pages):
        index.related(comparison(number, tags=("shared", f"pair-{number // 2}")))
    return index.scored // pages


def test_related_work_per_page_does_not_grow_with_the_library() -> None:
    small, large = scored_per_page(300), scored_per_page(3_000)
    # Keys of one page: 2 options, 2 tags, 1 category; each contributes at most RELATED_POOL.
    assert large <= 5 * RELATED_POOL
    assert large == small


def test_strongest_match_survives_a_huge_category() -> None:
    pages = library(3_000)
    # An old page that shares the "pair" tag: found although the category has 3,000 newer pages.
    old = pages[1]
    found = RelatedIndex(pages).related(pages[0])
    assert found[0].slug == old.slug


def test_same_answer_as_a_full_scan_while_every_key_is_small() -> None:
    pages = [
        comparison(n, category=f"Cat{n % 7}", tags=(f"t{n % 5}", f"u{n % 11}")) for n in range(120)
    ]
    index = RelatedIndex(pages, per_key=RELATED_POOL)
    for page in pages:
        assert [c.slug for c in index.related(page)] == [c.slug for c in related(page, pages)]


def test_the_index_reads_the_same_tags_and_category_as_the_model() -> None:
    pages = [comparison(n, category="Dev Tools", tags=("C++", "Rust Lang", "c")) for n in range(3)]
    index = RelatedIndex(pages)
    for page in pages:
        _options, tags, category, _newest = index._facts[page.slug]
        assert (tags, category) == (page.tag_slugs, page.category_slug)


def _union_answer(index: RelatedIndex, page: Comparison) -> list[str]:
    """What scoring every kept candidate of every key of ``page`` gives: the index's answer
    before it pooled the kinds one at a time."""
    keys = [("option", option.slug) for option in page.options]
    keys += [("tag", tag) for tag in page.tag_slugs] + [("category", page.category_slug)]
    pool = {other.slug: other for key in keys for other in index.pools.get(key, ())}
    pool.pop(page.slug, None)
    return [other.slug for other in related(page, list(pool.values()))]


def test_a_page_that_is_no_candidate_still_finds_what_shares_its_options() -> None:
    # A second review: Y shares two options with Q but is their only page (keys of one
    # member are dropped); six pages sharing a third option filled the answer first.
    first, second, third = (Option(n, n.lower(), "", (), (), ()) for n in ("A", "B", "X"))
    q = replace(comparison(1, category="C"), options=(first, second, third), pick="A")
    y = replace(comparison(2, category="C"), options=(first, second), pick="A")
    zs = [replace(comparison(10 + n, category="D"), options=(third,), pick="X") for n in range(6)]
    index = RelatedIndex([y, comparison(3, category="C"), *zs])
    assert index.related(q)[0].slug == y.slug


def _drawn(number: int, names: list[int], category: int, tags: list[int]) -> Comparison:
    options = tuple(Option(f"Tool{n}", f"tool{n}", "", (), (), ()) for n in dict.fromkeys(names))
    page = comparison(number, category=f"Cat{category}", tags=tuple(f"t{t}" for t in tags))
    return replace(page, options=options, pick=options[0].name)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(0, 12), min_size=2, max_size=3),
            st.integers(0, 3),
            st.lists(st.integers(0, 8), max_size=3),
        ),
        min_size=2,
        max_size=60,
    ),
    st.integers(2, 8),
)
def test_pooling_kind_by_kind_changes_no_answer(
    drawn: list[tuple[list[int], int, list[int]]], per_key: int
) -> None:
    # Small pools from few options, tags and categories: lists both whole and cut, pages
    # whose options alone fill the answer and pages that need their tags and category.
    pages = [_drawn(n, names, cat, tags) for n, (names, cat, tags) in enumerate(drawn)]
    index = RelatedIndex(pages[1:], per_key=per_key)
    # Each list made when a page asks for it (an incremental build's), from the groups.
    groups = {kind: Library.group(pages[1:], kind) for kind in ("category", "tag", "option")}
    candidates = {page.slug for page in pages[1:]}
    on_demand = RelatedIndex.on_demand(
        lambda kind, name: groups[kind].get(name, []), candidates.__contains__, per_key=per_key
    )
    # The first page is no candidate: the keys it shares with one page alone were dropped.
    for page in pages:
        answer = [c.slug for c in index.related(page, limit=3)]
        assert answer == _union_answer(index, page)[:3]
        assert [c.slug for c in on_demand.related(page, limit=3)] == answer
        assert on_demand.lone_tags(page) == index.lone_tags(page)


def test_options_that_fill_the_answer_spare_the_category() -> None:
    # Eight pages share both options with the first; 200 more share only the category.
    pages = [replace(comparison(n), options=comparison(0).options) for n in range(8)]
    pages += [comparison(n) for n in range(8, 208)]
    index = RelatedIndex(pages)
    found = index.related(pages[0])
    assert [c.slug for c in found] == [c.slug for c in related(pages[0], pages)]
    assert index.scored == 7  # the option lists' pages, none of the category's 64


def with_options(page: Comparison, *names: str, published: date | None = None) -> Comparison:
    options = tuple(Option(name, slugify(name), "", (), (), ()) for name in names)
    return replace(page, options=options, pick=names[0], published=published or page.published)


def test_a_page_taken_out_of_the_candidates_still_ranks_by_the_options_it_shares() -> None:
    # An outside review: P left the candidates (a draft again, in live preview) and, shown,
    # ranked the newer R above Q, which shares an option with it, as if P were still the
    # candidate whose options no other page has.
    p = with_options(comparison(1, tags=("t",)), "X", "Y")
    q = with_options(comparison(2, tags=("t",)), "X", "Z")
    r = with_options(comparison(3, tags=("t",)), "W", "V", published=date(2025, 6, 1))
    index = RelatedIndex([p, q, r])
    assert [c.slug for c in index.related(p, limit=1)] == [q.slug]
    groups: dict[tuple[str, str], list[Comparison]] = {}
    for page in (q, r):
        for option in page.options:
            groups.setdefault(("option", option.slug), []).append(page)
        for tag in page.tags:
            groups.setdefault(("tag", tag), []).append(page)
        groups.setdefault(("category", slugify(page.category)), []).append(page)
    index.refresh(p, None, lambda kind, name: groups.get((kind, name), []))
    assert [c.slug for c in index.related(p, limit=1)] == [q.slug]
    # Another page of a candidate's slug (an edit not refreshed in yet) is ranked by its own.
    edited = with_options(r, "X", "V")
    assert [c.slug for c in RelatedIndex([p, q, r]).related(edited, limit=1)][0] in (p.slug, q.slug)
