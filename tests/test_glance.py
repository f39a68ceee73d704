"""The comparison page answers first: the pick's reason, best-for lines, the table side by side."""

from __future__ import annotations

import time
from collections.abc import Callable

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.content.model import Comparison
from app.content.parse import parse_text
from app.pages.glance import best_for, first_sentence, reason, split_table
from tests.conftest import GOOD
from tests.soup import attr, one, text

TABLE = "| | Vim | Emacs |\n|---|---|---|\n| Modal | Yes | no |\n| Lisp | ✗ | **Yes** |\n"


def parsed(source: str = GOOD) -> Comparison:
    comparison, problems = parse_text(source, path="content/vim-vs-emacs.md", slug="vim-vs-emacs")
    assert comparison is not None, problems
    return comparison


def test_first_sentence_stops_at_the_first_full_stop_before_a_capital() -> None:
    assert first_sentence("Fast, e.g. at start. Then more.\n\nNext.") == "Fast, e.g. at start."
    assert first_sentence("Version 1.2 is out") == "Version 1.2 is out"
    assert first_sentence("One line\nfolded. Two.") == "One line folded."


def test_the_reason_is_why_else_the_bottom_lines_first_sentence() -> None:
    assert reason(parsed()) == "Vim is everywhere you log in."
    with_why = GOOD.replace("pick: Vim\n", "pick: Vim\nwhy: Already installed.\n")
    assert reason(parsed(with_why)) == "Already installed."


def test_best_for_reads_on_from_use_x_if_and_marks_the_pick() -> None:
    lines = best_for(parsed())
    assert [(b.option, b.text, b.continues, b.is_pick) for b in lines] == [
        ("Vim", "you edit on remote servers.", True, True),
        ("Emacs", "you want one program for mail, notes and code.", True, False),
    ]


def test_split_table_takes_the_first_table_and_marks_yes_no_and_the_pick() -> None:
    table, rest = split_table(f"Before.\n\n{TABLE}\nAfter.", "Emacs")
    assert table is not None
    assert rest == "Before.\n\n\nAfter."
    assert [(c.label, c.is_pick) for c in table.columns] == [("Vim", False), ("Emacs", True)]
    assert [(label.text, [(c.text, c.mark) for c in cells]) for label, cells in table.rows] == [
        ("Modal", [("Yes", "yes"), ("no", "no")]),
        ("Lisp", [("✗", "no"), ("**Yes**", "yes")]),
    ]


def test_a_table_inside_a_code_fence_stays_in_the_verdict() -> None:
    text = f"```\n{TABLE}```\n"
    assert split_table(text, "Vim") == (None, text)


def test_the_page_shows_pick_and_reason_at_a_glance_before_the_intro(
    make_site: Callable[..., TestClient],
) -> None:
    source = GOOD.replace("Pick by how you work.", f"Pick by how you work.\n\n{TABLE}")
    client = make_site({"vim-vs-emacs.md": source})
    page = BeautifulSoup(client.get("/compare/vim-vs-emacs").text, "html.parser")
    glance = one(page, ".comparison-header .glance")
    assert text(glance, ".pick-name") == "Vim"
    assert text(glance, ".glance-reason") == "Vim is everywhere you log in."
    best = [li.get_text(" ", strip=True) for li in glance.select(".best-for li")]
    assert best == [
        "Vim if you edit on remote servers. Nice Pick",
        "Emacs if you want one program for mail, notes and code.",
    ]
    jumps = [str(a["href"]) for a in glance.select(".jump-links a")]
    assert jumps == ["#side-by-side", "#pros-cons", "#verdict", "#feedback"]
    for target in jumps:
        assert page.select_one(target) is not None
    # The glance comes before the intro, the table before the option cards.
    parts = page.select(".glance, .intro, #side-by-side, #pros-cons")
    assert [part.get("id") or part.get("class") for part in parts] == [
        ["glance"],
        ["intro"],
        "side-by-side",
        "pros-cons",
    ]
    side = one(page, "#side-by-side")
    assert "Vim" in text(side, "thead th.is-pick")
    assert attr(side, ".table-scroll", "role") == "region"
    cells = [td.get_text(" ", strip=True) for td in side.select("tbody td.mark-yes")]
    assert cells == ["✓ Yes", "✓ Yes"]
    twin = client.get("/compare/vim-vs-emacs.json").json()
    assert twin["reason"]["text"] == "Vim is everywhere you log in."
    assert twin["side_by_side"]["pick_column"] == 0
    assert [b["option"] for b in twin["best_for"]] == ["Vim", "Emacs"]


def test_a_long_almost_delimiter_row_is_read_in_linear_time() -> None:
    # "|---" then 30,000 spaces and a letter: the delimiter pattern's neighbouring \s* runs
    # backtracked cubically (3.7 s at 16,000 spaces, ~30 s at 30,000): one editor's line
    # under a table held a worker that long on the page's first render and on every build.
    verdict = "| | Vim | Emacs |\n|---" + " " * 30_000 + "x\n| Speed | yes | no |\n"
    started = time.perf_counter()
    table, rest = split_table(verdict, "Vim")
    assert time.perf_counter() - started < 0.5
    assert table is None and rest == verdict


def test_many_one_cell_headers_over_delimiter_rows_are_read_in_linear_time() -> None:
    # "a\|b" (one cell: the pipe is escaped) over "---|---", 3,000 times: each such pair
    # scanned every line below it before its header was found too narrow (0.8 s a render).
    verdict = "a\\|b\n---|---\n" * 4_000
    started = time.perf_counter()
    table, rest = split_table(verdict, "Vim")
    assert time.perf_counter() - started < 0.2
    assert table is None and rest == verdict
