"""The content contract: what a file must say, and where the parser says it went wrong."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.content.model import Comparison, Problem
from app.content.parse import parse_text
from app.content.people import read_author, read_page
from tests.conftest import GOOD, comparison_text


def parse(text: str) -> tuple[Comparison | None, list[Problem]]:
    return parse_text(text, path="content/vim-vs-emacs.md", slug="vim-vs-emacs")


def errors(text: str) -> list[str]:
    return [str(p) for p in parse(text)[1] if p.severity == "error"]


def test_good_file_becomes_a_full_comparison() -> None:
    comparison, problems = parse(GOOD)
    assert problems == []
    assert comparison is not None
    assert comparison.title == "Vim vs Emacs"
    assert comparison.category == "Dev Tools" and comparison.category_slug == "dev-tools"
    assert comparison.option_names == ("Vim", "Emacs")
    assert comparison.pick == "Vim"
    assert comparison.published == date(2026, 1, 15)
    assert comparison.intro == "Both editors are older than most of their users."
    vim = comparison.options[0]
    assert vim.description == "A modal editor."
    assert vim.pros == ("Starts in **under 50 ms**", "Ships on nearly every Unix host as `vi`")
    assert vim.cons == ("Modal editing takes weeks to learn",)
    assert vim.related == ("terminal",)
    assert [case.option for case in comparison.use_cases] == ["Vim", "Emacs"]
    assert comparison.bottom_line == "Vim is everywhere you log in."


def test_title_defaults_to_options_joined_by_vs() -> None:
    text = GOOD.replace("title: Vim vs Emacs\n", "")
    comparison, _ = parse(text)
    assert comparison is not None and comparison.title == "Vim vs Emacs"


def test_headings_match_case_insensitively_and_ignore_a_leading_the() -> None:
    text = GOOD.replace("## Verdict", "## The Verdict").replace(
        "## Bottom line", "## THE BOTTOM LINE"
    )
    text = text.replace("## Emacs", "## emacs")
    comparison, problems = parse(text)
    assert problems == [] and comparison is not None
    assert comparison.verdict == "Pick by how you work."


def test_headings_inside_code_fences_are_not_sections() -> None:
    text = GOOD.replace("A modal editor.", "A modal editor.\n\n```\n## Not a section\n```")
    comparison, problems = parse(text)
    assert problems == [] and comparison is not None
    assert "## Not a section" in comparison.options[0].description


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (comparison_text(pick="Nano"), 'content/vim-vs-emacs.md:6:7: error: pick "Nano" is not one of the options (Vim, Emacs)'),
        (GOOD.replace("category: Dev Tools\n", ""), 'content/vim-vs-emacs.md:2:1: error: missing required field "category"'),
        (comparison_text(published="2026-13-45"), 'content/vim-vs-emacs.md:8:12: error: "published" must be a date like 2026-11-24, not "2026-13-45"'),
        (comparison_text(options="[Vim]"), 'content/vim-vs-emacs.md:5:10: error: "options" needs two or more names'),
        (GOOD.replace("category:", "catagory:"), 'content/vim-vs-emacs.md:3:1: error: unknown field "catagory" (did you mean "category"?)'),
        (comparison_text(summary="a: b: c"), "content/vim-vs-emacs.md:4:11: error: YAML syntax: mapping values are not allowed in this context"),
        (GOOD.replace("## Emacs", "## Nano"), 'content/vim-vs-emacs.md:23:4: error: section "## Nano" names no option (options: Vim, Emacs; or Verdict, Bottom line)'),
        (GOOD.replace("### Cons\n- Modal editing takes weeks to learn\n", ""), 'content/vim-vs-emacs.md:12:1: error: option "Vim" has no "### Cons" list'),
        (GOOD.replace("### Use Emacs if", "### Use Nano if"), 'content/vim-vs-emacs.md:39:5: error: "### Use Nano if" under Verdict must read "Use <option> if" with one of: Vim, Emacs'),
        ("title: no front matter\n", "content/vim-vs-emacs.md:1:1: error: file must start with a '---' line opening the YAML front matter"),
    ],
    ids=["pick", "missing-field", "bad-date", "one-option", "unknown-field", "yaml", "stray-section", "no-cons", "use-if", "no-front-matter"],
)  # fmt: skip
def test_contract_violation_is_reported_with_its_line(text: str, expected: str) -> None:
    comparison, _ = parse(text)
    assert comparison is None
    assert expected in errors(text)


def test_missing_option_section_names_the_option() -> None:
    start = GOOD.index("## Emacs")
    text = GOOD[:start] + GOOD[GOOD.index("## Verdict") :]
    assert 'content/vim-vs-emacs.md:5:1: error: option "Emacs" has no "## Emacs" section' in errors(
        text
    )


def test_filler_is_a_warning_not_an_error() -> None:
    text = GOOD.replace(
        "Modal editing takes weeks to learn", "Specific tradeoffs depend on your use case"
    )
    comparison, problems = parse(text)
    assert comparison is not None
    assert [p.severity for p in problems] == ["warning"]
    assert problems[0].line == 19 and "filler" in problems[0].message


def test_why_is_an_optional_one_line_reason() -> None:
    plain = parse(GOOD)[0]
    assert plain is not None and plain.why is None
    text = GOOD.replace("pick: Vim\n", "pick: Vim\nwhy: Already on every server.\n")
    comparison, problems = parse(text)
    assert problems == [] and comparison is not None
    assert comparison.why == "Already on every server."


def test_a_long_why_is_a_warning_at_its_line() -> None:
    text = GOOD.replace("pick: Vim\n", f"pick: Vim\nwhy: {'x' * 170}\n")
    line = text.splitlines().index(f"why: {'x' * 170}") + 1
    comparison, problems = parse(text)
    assert comparison is not None
    assert [str(p) for p in problems] == [
        f'content/vim-vs-emacs.md:{line}:6: warning: "why" is 170 characters; keep it under '
        "160 so the pick and its reason fit a phone's first screen"
    ]


def test_a_why_on_two_lines_is_refused() -> None:
    text = GOOD.replace("pick: Vim\n", 'pick: Vim\nwhy: "one\\vtwo"\n')
    assert any('"why" contains a control character (U+000B)' in e for e in errors(text))


# Front matter the plain reader takes (first group) and leaves to PyYAML (second): both must
# give exactly what PyYAML gives, values and every line:column mark.
PLAIN_FRONT_MATTER = [
    "title: Vim vs Emacs\noptions: [Vim, Emacs]\npublished: 2026-01-05",
    "title: Vim's [x] {y} \"q\" !e %p @a `b |c >d -e ?f\ntags: [a b, (c), d-e, f']",
    "tags: []\npublished: 2024-13-45\nupdated: 2024-1-2\nx_y: z\n_k: v\nn: x",
]
PYYAML_FRONT_MATTER = [
    "a: yes",
    "on: x",
    "a: 1",
    "a: 1.5",
    "a: x\na: y",
    "tags: [a, yes, 1]",
    "tags: [a ,b]",
    "a: x  ",
    "a:  x",
    "a: ~",
    "a: =",
    "a: <<",
    "a: 0x1F",
    "a: -",
    "a: 10:30",
    "a: b # c",
    "a: &x b",
    "a: 'q'",
    'a: "q"',
    "a: [x, [y]]",
    "a:\n  - x",
    "a: é",
    "a: x\n",
    "summary: one\n  two",
]


@pytest.mark.parametrize("source", PLAIN_FRONT_MATTER + PYYAML_FRONT_MATTER)
def test_plain_front_matter_reads_as_pyyaml_does(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.content import front_matter
    from app.content.problems import Collector

    plain = front_matter._plain_front_matter(source)
    assert (plain is not None) == (source in PLAIN_FRONT_MATTER)
    fast_problems = Collector("x")
    fast = front_matter.read_front_matter(source, fast_problems)
    monkeypatch.setattr(front_matter, "_plain_front_matter", lambda source: None)
    slow_problems = Collector("x")
    assert fast == front_matter.read_front_matter(source, slow_problems)
    assert fast_problems.problems == slow_problems.problems


def test_long_lines_are_not_kept_in_memory_after_the_parse() -> None:
    # Headings, tags and slugs are memoised across files; a careless or hostile file of very
    # long lines must not stay in memory once per line after its parse.
    import gc
    import tracemalloc

    def hostile(number: int) -> str:
        long_heading = f"## {number}" + "x" * 100_000
        return comparison_text().replace("## Verdict", long_heading + "\n\n## Verdict", 1)

    parse_text(
        hostile(-1), path="warm-up.md", slug="warm-up"
    )  # compiled patterns and memo tables exist
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for number in range(40):  # 4 MB of distinct heading lines
            parse_text(hostile(number), path=f"h-{number}.md", slug=f"h-{number}")
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 1_000_000


@pytest.mark.parametrize(("extra", "reported"), [(0, False), (1, True)])
def test_a_part_one_character_over_the_size_bound_is_reported(extra: int, reported: bool) -> None:
    # The parts are looked at only when the whole body is long enough for one to be over
    # the bound; a part that is the whole body sits right at that edge.
    from app.content.markdown_limits import MAX_PART_CHARS
    from app.content.parse import _check_markdown_bounds
    from app.content.problems import Collector

    problems = Collector("x.md")
    line = "x" * (MAX_PART_CHARS - 1 + extra)  # the part's size counts its line's end too
    _check_markdown_bounds([line], 9, [], problems)
    messages = [problem.message for problem in problems.problems]
    assert messages == (
        [
            f"the intro is {MAX_PART_CHARS + 1:,} characters; a part may have at most 32,000: "
            "split it into subsections or shorten it"
        ]
        if reported
        else []
    )


@pytest.mark.parametrize("mark", [b"", b"\xef\xbb\xbf"])
def test_the_content_hash_leaves_out_a_byte_order_mark_when_the_digest_is_given(
    mark: bytes,
) -> None:
    # A parse cache hands the parser the digest of the bytes it read; for bytes starting
    # with a byte order mark that is not the text's hash, and the parser makes its own.
    import hashlib

    from app.content.sources import SourceFile, parse_bytes

    data = mark + GOOD.encode("utf-8")
    source = SourceFile(Path("vim-vs-emacs.md"), "vim-vs-emacs.md", "vim-vs-emacs")
    comparison, _ = parse_bytes(source, data, digest=hashlib.sha256(data).hexdigest())
    assert comparison is not None
    assert comparison.content_hash == hashlib.sha256(GOOD.encode("utf-8")).hexdigest()


def test_one_pass_tells_printable_and_possibly_deep_bodies_as_the_slower_tests_do() -> None:
    # ``printable_and_deep`` answers from the bytes of printable ASCII text what the
    # expression and the byte test answer from any text; bodies built from the characters
    # that matter (markers, digits, spaces, tabs, controls, non-ASCII) must agree.
    import random

    from app.content.markdown_limits import may_be_too_deep, printable_and_deep

    printable_bytes = bytes(range(0x20, 0x7F)) + b"\t\n"
    pieces = ["> ", "- ", "* ", "+ ", "1. ", "2) ", "    ", "\t", " ", "a", "x.", "\n", "#"]
    rare = ["\x07", "\r", "\x1f", "\x7f", "é", "\u2003", "\x0b"]
    chooser = random.Random(7)
    for _ in range(3000):
        count = chooser.randrange(0, 40)
        text = "".join(chooser.choice(pieces) for _ in range(count))
        if chooser.random() < 0.2:
            at = chooser.randrange(len(text) + 1)
            text = text[:at] + chooser.choice(rare) + text[at:]
        printable = text.isascii() and not text.encode("ascii").translate(None, printable_bytes)
        assert printable_and_deep(text) == (printable, may_be_too_deep(text)), repr(text)
    # 21 markers and spaces may be 21 levels (one more than shown); 20 cannot
    assert printable_and_deep("intro\n" + "> " * 10 + ">quote") == (True, True)
    assert printable_and_deep("intro\n" + "> " * 10 + "quote") == (True, False)


# U+202E shows what follows it reversed: "Vim vs \u202eEmacs" reads "Vim vs scamE", a title
# (or tag, or line of text) that says otherwise than the file does.
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("title: Vim vs Emacs", "title: Vim vs \u202eEmacs", '"title" contains an invisible'),
        ("tags: [", "tags: [\u2066editors\u2069, ", '"tags" contains an invisible'),
        (
            "## Verdict\n",
            "## Verdict\nKeep \u202dthis\u202c.\n",
            "an invisible text-direction control (U+202D) in the text",
        ),
    ],
)
def test_text_direction_controls_are_refused_where_they_stand(
    old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    found = errors(GOOD.replace(old, new, 1))
    assert any(expected in error for error in found), found


def test_a_name_whose_page_address_is_too_long_for_a_file_is_refused() -> None:
    # The export writes tag/<address>/index.html: past 255 bytes `build` stopped halfway.
    long_tag = "q" * 260
    found = errors(GOOD.replace("tags: [", f"tags: [{long_tag}, ", 1))
    assert any(
        '"tags" name' in error and "gives an address of 260 characters (at most 100)" in error
        for error in found
    ), found
    assert errors(GOOD.replace("tags: [", f"tags: [{'q' * 100}, ", 1)) == []


def test_a_file_name_whose_page_address_is_too_long_for_a_file_is_refused() -> None:
    # The export writes compare/<address>.json beside compare/<address>/index.html.
    comparison, problems = parse_text(GOOD, path="content/long.md", slug="a" * 101)
    assert comparison is None
    assert [str(p) for p in problems] == [
        "content/long.md:1:1: error: the file name gives an address of 101 characters "
        "(at most 100): rename the file"
    ]
    assert parse_text(GOOD, path="content/long.md", slug="a" * 100)[1] == []


def test_options_whose_joined_address_is_too_long_for_a_file_are_refused() -> None:
    # Each under 100 characters, but compare/<a-vs-b-vs-c>/ (the other order's redirect
    # page) is one file name: three of 90 stopped `build`.
    names = [f"Caddy{'x' * 85}", f"Traefik{'x' * 85}", f"Nginx{'x' * 85}"]
    text = GOOD.replace("options: [Vim, Emacs]", f"options: [{', '.join(names)}]")
    assert any('"options" give the address' in error for error in errors(text))


def test_a_direction_control_written_as_a_character_reference_is_refused() -> None:
    # Markdown turns &#x202E; into the character itself on the page and in its twin.
    for reference in ("&#x202E;", "&#8238;", "&#X2066;"):
        text = GOOD.replace("## Verdict\n", f"## Verdict\nKeep {reference}this.\n", 1)
        assert any(f"text-direction control ({reference})" in e for e in errors(text)), reference


def test_writers_and_plain_pages_refuse_what_comparisons_refuse(tmp_path: Path) -> None:
    writer = tmp_path / "ada.md"
    writer.write_text("---\nname: Ada\nrole: Editor\n---\nWrites \u202eabout editors.\n")
    _author, problems = read_author(writer, "content/authors/ada.md")
    assert [str(p) for p in problems] == [
        "content/authors/ada.md:5:8: error: an invisible text-direction control (U+202E) in "
        "the text: delete it; it makes the line read otherwise than it is written"
    ]
    # Its page is author/<address>/ in the export: past the bound `build` stopped.
    long = tmp_path / f"{'w' * 101}.md"
    long.write_text("---\nname: Ada\nrole: Editor\n---\nWrites.\n")
    _author, problems = read_author(long, "content/authors/long.md")
    assert [p.message for p in problems] == [
        "the file name gives an address of 101 characters (at most 100): rename the file"
    ]
    page = tmp_path / "about.md"
    page.write_text("---\ntitle: About\nsummary: Us.\n---\nWe &#x2067;compare.\n")
    assert any("text-direction control" in p.message for p in read_page(page, "about.md")[1])


def test_a_related_item_too_long_for_an_address_is_refused_at_its_line() -> None:
    # An outside review: `check` passed a 500-letter "### Related" item, whose tag page
    # then stopped `build` with "File name too long".
    text = GOOD.replace("### Related\n- terminal", f"### Related\n- {'r' * 500}", 1)
    line = text.splitlines().index(f"- {'r' * 500}") + 1
    assert errors(text) == [
        f'content/vim-vs-emacs.md:{line}:1: error: "related" name "{"r" * 59}…" gives an '
        "address of 500 characters (at most 100): shorten it"
    ]
    assert errors(GOOD.replace("### Related\n- terminal", f"### Related\n- {'r' * 100}")) == []
    blank = GOOD.replace("### Related\n- terminal", "### Related\n- terminal\n- ", 1)
    assert [e.split(" error: ")[1] for e in errors(blank)] == ['"related" has an empty item']


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("category", '" "', 'required field "category" is empty'),
        ("category", '"\u00a0"', 'required field "category" is empty'),
        ("summary", '"  "', 'required field "summary" is empty'),
        ("summary", '"\u200b"', 'required field "summary" is empty'),
        ("title", '"\u200b"', '"title" is empty: write the title or leave the field out'),
        ("tags", '[terminal, "\u00a0"]', '"tags" has an empty name: write it or take it out'),
        ("options", '[Vim, Emacs, " "]', '"options" has an empty name: write it or take it out'),
    ],
)
def test_a_blank_name_is_refused_not_linked_as_an_empty_address(
    field: str, value: str, message: str
) -> None:
    # An outside review: `category: " "` passed `check`, and every page then linked
    # /category/ and /tag/, which answer 404.
    found = errors(comparison_text(**{field: value}))
    assert any(error.endswith(f"error: {message}") for error in found), found


def test_a_title_longer_than_a_title_is_refused() -> None:
    # It headed the page, every card and listing and the editors' mail whole: a paragraph
    # pasted into the field passed `check`.
    assert errors(comparison_text(title=f'"{"Vim vs Emacs " * 11}"')) == []  # 142 characters
    found = errors(comparison_text(title=f'"{"Vim vs Emacs " * 12}"'))
    assert [error.split(" error: ")[1] for error in found] == [
        '"title" is 155 characters; at most 150: shorten it (it heads the page, its cards '
        "and every listing)"
    ]


def test_links_to_listings_are_kept_at_their_own_line_and_column() -> None:
    # A second review: a link whose path starts another's was placed at the other's column,
    # and a line break Python's splitlines counts (U+2028) put it a line off the others.
    links = "[f](/tag/terminal-x) [g](/tag/terminal) [h](/tag/term.json?page=2) [i](/tag/x/)"
    text = GOOD.replace("A modal editor.", "A modal\u2028editor.\n\n" + links)
    comparison, problems = parse_text(text, path="vim-vs-emacs.md", slug="vim-vs-emacs")
    assert comparison is not None, problems
    line = text.splitlines().index(links) + 1
    assert comparison.listing_links == (
        (line, links.index("/tag/terminal-x") + 1, "tag", "terminal-x", ""),
        (line, links.index("/tag/terminal)") + 1, "tag", "terminal", ""),
        (line, links.index("/tag/term.json") + 1, "tag", "term", ".json?page=2"),
        (line, links.index("/tag/x/") + 1, "tag", "x", "/"),
    )
