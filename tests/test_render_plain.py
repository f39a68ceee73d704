"""The plain-text shortcut of ``markdown_to_html`` gives exactly what Python-Markdown gives."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.pages.json_ld import plain_text
from app.render import markup
from app.render.markup import markdown_to_html

# The shortcut's alphabet, plus a few characters that must send text to the parser.
ALPHABET = "abcXYZ019 ,.;:'\"?%/()=+-*_`[]!<>&#|~\\\n\t"


def parsed(source: str, *, inline: bool) -> str:
    """What the Markdown parser itself renders (the shortcut switched off)."""
    original = markup._PLAIN
    markup._PLAIN = re.compile(r"(?!)")  # matches nothing
    try:
        return str(markdown_to_html(source, inline=inline))
    finally:
        markup._PLAIN = original


def parsed_text(source: str) -> str:
    """``plain_text`` through the parser (the shortcut switched off, nothing remembered)."""
    original = markup._PLAIN
    markup._PLAIN = re.compile(r"(?!)")
    try:
        return str(plain_text.__wrapped__(source))
    finally:
        markup._PLAIN = original


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40), st.booleans())
def test_shortcut_matches_the_parser(source: str, inline: bool) -> None:
    assert str(markdown_to_html(source, inline=inline)) == parsed(source, inline=inline)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_plain_texts_shortcut_matches_the_parser(source: str) -> None:
    # JSON-LD and the JSON twins' "text": a plain line is its own text.
    assert plain_text.__wrapped__(source) == parsed_text(source)


def test_plain_text_of_a_plain_line_is_the_line_and_markup_is_dropped() -> None:
    assert plain_text("It's 100% free (as in beer)") == "It's 100% free (as in beer)"
    assert plain_text("Uses **bold**  and `code` &amp; more") == "Uses bold and code & more"


@pytest.mark.parametrize(
    "source",
    [
        "Starts in under 50 ms",
        "Ships on nearly every Unix host (as vi); 3.5 GB at most",
        'Says "fast" and means it',
        "It's 100% free",
        "One - two + three = six / two",
        "Word ",
        "Two  spaces",
        "1. not a list here",
        "A sentence. Another one? Yes: three",
    ],
)
def test_common_lines(source: str) -> None:
    for inline in (True, False):
        assert str(markdown_to_html(source, inline=inline)) == parsed(source, inline=inline)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="abcXYZ019 ,.;:'\"?%/()=+-", max_size=60), st.booleans())
def test_shortcut_alphabet_matches_the_parser(source: str, inline: bool) -> None:
    assert str(markdown_to_html(source, inline=inline)) == parsed(source, inline=inline)


def test_a_part_is_rendered_once_for_its_page_its_twin_and_its_json_ld(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python-Markdown takes up to a millisecond for a part with a link or code; a page, its
    # JSON twin (``text``) and its JSON-LD (``plain_text``) each ask for the same parts.
    from pathlib import Path

    from app.pages.base import text
    from app.render.jinja import build_environment

    rendered: list[str] = []
    real = markup.markdown_to_html

    def counting(source: str, *, inline: bool = False) -> object:
        rendered.append(source)
        return real(source, inline=inline)

    monkeypatch.setattr(markup, "markdown_to_html", counting)
    part = "Reads [the manual](https://example.org/manual) in `less` than a minute (twice)."
    env = build_environment(Path("templates"), auto_reload=False)
    page = env.from_string("<li>{{ part|markdown_inline }}</li>").render(part=part)
    twin = text(part, inline=True)
    ld = plain_text(part)
    assert '<a href="https://example.org/manual"' in page and "<code>less</code>" in page
    assert twin.html == page.removeprefix("<li>").removesuffix("</li>")
    assert ld == "Reads the manual in less than a minute (twice)."
    assert rendered.count(part) == 2  # inline for the page and its twin, a paragraph for JSON-LD
    # A paragraph (an intro, a verdict): one rendering for all three.
    block = part.replace("Reads", "Opens")
    env.from_string("{{ part|markdown }}").render(part=block)
    assert text(block).html.startswith("<p>Opens <a")
    assert plain_text(block).startswith("Opens the manual")
    assert rendered.count(block) == 1
