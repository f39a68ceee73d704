"""Related comparisons cost the same work per page whatever the library's size (issue 18)."""

from __future__ import annotations

from datetime import date, timedelta

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
