"""Option profiles on the pages: the comparison's facts table, the option's own page (won or
lost, pooled pros and cons, alternatives), their JSON twins and the JSON-LD."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from tests.conftest import SiteMaker
from tests.soup import attr, one, text

VIM = """\
---
name: Vim
homepage: https://www.vim.org/
licence: Vim License
first_release: 1991
latest:
  version: "9.1"
  date: 2024-01-02
platforms: [Linux, macOS, Windows]
kind: tool
---
A modal text editor descended from **vi**.
"""
EMACS = """\
---
name: Emacs
homepage: https://www.gnu.org/software/emacs/
licence: GPL-3.0-or-later
first_release: 1985
platforms: [Linux, macOS, Windows]
kind: tool
---
An extensible editor built on Emacs Lisp.
"""
NEOVIM = """\
---
name: Neovim
homepage: https://neovim.io/
licence: Apache-2.0
first_release: 2015
platforms: [Linux, macOS, Windows]
kind: tool
---
A fork of Vim with a Lua API.
"""


def comparison(options: list[str], pick: str, pros: dict[str, list[str]], *, published: str) -> str:
    """A valid comparison of ``options`` picking ``pick``, with the given pros per option."""
    sections = "".join(
        f"## {name}\n{name} is an editor.\n\n### Pros\n"
        + "".join(f"- {pro}\n" for pro in pros.get(name, [f"{name} has its own pro"]))
        + f"### Cons\n- {name} has its own con\n\n"
        for name in options
    )
    return (
        f"---\ncategory: Dev Tools\nsummary: {' or '.join(options)}.\n"
        f"options: [{', '.join(options)}]\npick: {pick}\npublished: {published}\n---\n"
        f"Intro.\n\n{sections}## Verdict\nIt turns on habits.\n\n"
        f"## Bottom line\n{pick} wins.\n"
    )


FILES = {
    "vim-vs-emacs.md": comparison(
        ["Vim", "Emacs"],
        "Vim",
        {"Vim": ["Starts in *50 ms*", "Ships as vi"]},
        published="2026-01-10",
    ),
    "vim-vs-nano.md": comparison(
        ["Vim", "Nano"], "Nano", {"Vim": ["starts in *50 ms*."]}, published="2026-02-10"
    ),
    "vim-vs-emacs-vs-helix.md": comparison(
        ["Vim", "Emacs", "Helix"], "Emacs", {}, published="2026-03-10"
    ),
    "options/vim.md": VIM,
    "options/emacs.md": EMACS,
    "options/neovim.md": NEOVIM,
}


@pytest.fixture
def site(make_site: SiteMaker) -> TestClient:
    return make_site(FILES)


def soup_of(client: TestClient, path: str) -> BeautifulSoup:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def test_facts_table_puts_options_side_by_side_with_the_picks_column_marked(
    site: TestClient,
) -> None:
    page = soup_of(site, "/compare/vim-vs-emacs-vs-helix")
    table = one(page, "section.facts table")
    assert text(table, "caption") == "Vim, Emacs and Helix at a glance, from each option's profile"
    heads = table.select("thead th[scope=col]")
    assert [th.get_text(" ", strip=True) for th in heads] == [
        "Fact",
        "Vim",
        "Emacs Nice Pick",
        "Helix",
    ]
    assert [th.get("class") for th in heads[1:]] == [None, ["is-pick"], None]
    rows = {
        one(row, "th[scope=row]").get_text(): [td.get_text(" ", strip=True) for td in row("td")]
        for row in table.select("tbody tr")
    }
    assert rows == {
        "Kind": ["Tool", "Tool", "— unknown"],
        "Licence": ["Vim License", "GPL-3.0-or-later", "— unknown"],
        "First release": ["1991", "1985", "— unknown"],
        "Latest release": ["9.1 (Jan 2, 2024)", "— unknown", "— unknown"],
        "Platforms": ["Linux, macOS, Windows", "Linux, macOS, Windows", "— unknown"],
        "Homepage": ["vim.org", "gnu.org", "— unknown"],
    }
    assert attr(table, "tbody tr:last-child td.is-pick a", "href") == (
        "https://www.gnu.org/software/emacs/"
    )
    assert attr(table, "thead th:nth-of-type(2) a", "href") == "/option/vim"


def test_no_facts_table_when_no_option_has_a_profile(make_site: SiteMaker) -> None:
    client = make_site(
        {"nano-vs-helix.md": comparison(["Nano", "Helix"], "Helix", {}, published="2026-01-01")}
    )
    assert soup_of(client, "/compare/nano-vs-helix").select("section.facts") == []
    assert client.get("/compare/nano-vs-helix.json").json()["facts"] is None


def test_no_facts_table_when_only_one_option_has_a_profile(site: TestClient) -> None:
    """Vim has a profile, Nano none: a table would be one column of facts beside dashes."""
    assert soup_of(site, "/compare/vim-vs-nano").select("section.facts") == []
    assert site.get("/compare/vim-vs-nano.json").json()["facts"] is None
    assert soup_of(site, "/compare/vim-vs-emacs").select("section.facts") != []


def test_comparison_twin_carries_the_profiles_in_option_order(site: TestClient) -> None:
    facts = site.get("/compare/vim-vs-emacs.json").json()["facts"]
    assert [(f["option"], f["is_pick"]) for f in facts] == [("Vim", True), ("Emacs", False)]
    vim = facts[0]["profile"]
    assert vim["url"] == "https://nicepick.test/option/vim"
    assert vim["latest"] == {"version": "9.1", "date": "2024-01-02"}
    assert (vim["first_release"], vim["kind"], vim["platforms"]) == (
        1991,
        "tool",
        ["Linux", "macOS", "Windows"],
    )
    assert facts[1]["profile"]["latest"] is None


def test_option_page_marks_each_comparison_won_or_lost_to_the_pick(site: TestClient) -> None:
    page = soup_of(site, "/option/vim")
    outcomes = {
        text(card, "h3 a"): (text(card, ".outcome"), card.select_one(".outcome-won") is not None)
        for card in page.select("section.appearances .summary-card")
    }
    assert outcomes == {
        "Vim vs Emacs vs Helix": ("Lost to Emacs", False),
        "Vim vs Nano": ("Lost to Nano", False),
        "Vim vs Emacs": ("Won", True),
    }
    assert "Nice Pick" not in one(page, "section.appearances").get_text()


def test_option_page_shows_the_profile(site: TestClient) -> None:
    page = soup_of(site, "/option/vim")
    assert text(page, "section.profile .description") == "A modal text editor descended from vi."
    facts = dict(
        zip(
            [dt.get_text() for dt in page.select(".fact-list dt")],
            [dd.get_text() for dd in page.select(".fact-list dd")],
            strict=True,
        )
    )
    assert facts["Latest release"] == "9.1 (Jan 2, 2024)"
    assert attr(page, ".fact-list a", "href") == "https://www.vim.org/"


def test_pros_and_cons_are_pooled_with_the_comparison_each_came_from(site: TestClient) -> None:
    page = soup_of(site, "/option/vim")
    pros = page.select("section.pooled.pros li")
    sources = [[a["href"] for a in li.select(".from a")] for li in pros]
    # The same pro in two comparisons (case and final stop aside) is said once, with both.
    # Newest comparison first; the first wording of a pooled pro is kept.
    assert [li.get_text(" ", strip=True).split(" (from")[0] for li in pros] == [
        "Vim has its own pro",
        "starts in 50 ms .",
        "Ships as vi",
    ]
    assert one(pros[1], "em").get_text() == "50 ms"
    assert sources[1] == ["/compare/vim-vs-nano#opt-vim", "/compare/vim-vs-emacs#opt-vim"]
    cons = page.select("section.pooled.cons li")
    assert [li.get_text(" ", strip=True) for li in cons] == [
        "Vim has its own con (from Vim vs Emacs vs Helix , Vim vs Nano , Vim vs Emacs )"
    ]


def test_alternatives_list_the_most_often_compared_first(site: TestClient) -> None:
    page = soup_of(site, "/option/vim")
    links = page.select("section.alternatives a.pill")
    assert [(a.get_text(), a["href"]) for a in links] == [
        ("Emacs", "/option/emacs"),
        ("Helix", "/option/helix"),
        ("Nano", "/option/nano"),
    ]
    assert site.get("/option/helix").status_code == 200  # every alternative has a page


def test_option_twin_carries_profile_outcomes_pooled_notes_and_alternatives(
    site: TestClient,
) -> None:
    data: dict[str, Any] = site.get("/option/vim.json").json()
    assert data["profile"]["homepage"] == "https://www.vim.org/"
    assert data["profile"]["description"]["text"] == "A modal text editor descended from vi."
    assert [(i["slug"], i["won"], i["outcome"]) for i in data["items"]] == [
        ("vim-vs-emacs-vs-helix", False, "Lost to Emacs"),
        ("vim-vs-nano", False, "Lost to Nano"),
        ("vim-vs-emacs", True, "Won"),
    ]
    assert data["pros"][1]["sources"] == [
        "https://nicepick.test/compare/vim-vs-nano#opt-vim",
        "https://nicepick.test/compare/vim-vs-emacs#opt-vim",
    ]
    assert len(data["cons"]) == 1
    assert [(a["name"], a["compared"]) for a in data["alternatives"]] == [
        ("Emacs", 2),
        ("Helix", 1),
        ("Nano", 1),
    ]


def test_an_option_without_a_profile_keeps_its_page(site: TestClient) -> None:
    page = soup_of(site, "/option/nano")
    assert page.select("section.profile") == []
    assert text(page, ".outcome") == "Won"
    assert site.get("/option/nano.json").json()["profile"] is None


def test_a_profile_without_comparisons_has_a_page(site: TestClient) -> None:
    page = soup_of(site, "/option/neovim")
    assert text(page, "h1") == "Neovim"
    assert text(page, ".lede") == "Not in any comparison yet."
    data = site.get("/option/neovim.json").json()
    assert (data["appearances"], data["items"], data["profile"]["name"]) == (0, [], "Neovim")
    assert site.get("/option/neovim?page=2").status_code == 404
    assert site.get("/option/nothing-at-all").status_code == 404


def test_json_ld_reviews_each_option_as_its_profile(site: TestClient) -> None:
    page = soup_of(site, "/compare/vim-vs-emacs")
    graph = json.loads(one(page, "script[type='application/ld+json']").get_text())["@graph"]
    reviewed = {
        node["@id"].rsplit("#", 1)[1]: node["itemReviewed"]
        for node in graph
        if node["@type"] == "Review" and "#review-" in node["@id"]
    }
    assert reviewed["review-vim"]["name"] == "Vim"
    assert reviewed["review-vim"]["url"] == "https://nicepick.test/option/vim"
    assert reviewed["review-vim"]["sameAs"] == "https://www.vim.org/"
    assert reviewed["review-emacs"]["sameAs"] == "https://www.gnu.org/software/emacs/"


def test_json_ld_has_no_same_as_without_a_profile(make_site: SiteMaker) -> None:
    client = make_site(
        {"nano-vs-helix.md": comparison(["Nano", "Helix"], "Helix", {}, published="2026-01-01")}
    )
    page = soup_of(client, "/compare/nano-vs-helix")
    script = one(page, "script[type='application/ld+json']").get_text()
    assert "sameAs" not in script and "/option/nano" in script
