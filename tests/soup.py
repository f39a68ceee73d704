"""Typed look-ups in parsed HTML: a test that expects an element gets it, or fails naming it."""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag


def one(soup: BeautifulSoup | Tag, selector: str) -> Tag:
    """The element ``selector`` matches; an AssertionError naming it when there is none."""
    found = soup.select_one(selector)
    assert found is not None, f"no element matches {selector!r}"
    return found


def attr(soup: BeautifulSoup | Tag, selector: str, name: str) -> str:
    """The attribute ``name`` of the element ``selector`` matches, as one string."""
    value = one(soup, selector).get(name)
    assert isinstance(value, str), f"{selector!r} has no single {name!r}"
    return value


def text(soup: BeautifulSoup | Tag, selector: str) -> str:
    return one(soup, selector).get_text()
