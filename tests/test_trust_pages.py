"""What a reader sees of the fields that make a page checkable: the byline and author page,
tested versions, Sources with working ``[^n]`` links, What changed, the pick history, the
meter counted since the last change of pick (a real SQLite store), /about, /tags,
/categories, and the JSON twins and JSON-LD carrying the same facts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import extruct
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.feedback.store import FeedbackStore, NewNote
from app.settings import Settings
from tests.conftest import GOOD, SiteMaker
from tests.soup import attr, one, text

PAGE = "/compare/vim-vs-emacs"
RECORD = """\
authors: [ana-ruiz, li-wei]
checked: 2026-11-28
tested:
  Vim: "9.1"
  Emacs: "30.1"
sources:
  - title: Vim documentation
    url: https://vimhelp.org/
    accessed: 2026-11-28
  - title: GNU Emacs manual
    url: https://www.gnu.org/software/emacs/manual/
    accessed: 2026-11-27
changes:
  - date: 2026-06-01
    note: Re-checked against Vim 9.1; the pick went back to **Vim**.
    pick: Vim
  - date: 2026-03-01
    note: Emacs 30 made us switch.
    pick: Emacs
  - date: 2026-01-15
    note: Published.
    pick: Vim
"""
ANA = "---\nname: Ana Ruiz\nrole: Editor\nurl: https://example.org/ana\n---\nWrites about *editors*.\n"
LI = "---\nname: Li Wei\nrole: Reviewer\n---\nChecks the facts.\n"
ABOUT = "---\ntitle: About Nice Pick\nsummary: How we pick.\n---\n## How we pick\nWe name one.\n"


def page_text(record: str = RECORD) -> str:
    text = GOOD.replace("published: 2026-01-15\n", "published: 2026-01-15\n" + record, 1)
    return text.replace(
        "Both editors are older than most of their users.",
        "Both editors are older than most of their users: Vim 9.1[^1], Emacs 30[^2].",
    )


FILES = {
    "vim-vs-emacs.md": page_text(),
    "authors/ana-ruiz.md": ANA,
    "authors/li-wei.md": LI,
    "pages/about.md": ABOUT,
}


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


@pytest.fixture
def site(make_site: SiteMaker) -> TestClient:
    return make_site(FILES)


def test_byline_links_each_author_and_says_when_facts_were_checked(site: TestClient) -> None:
    page = soup(site.get(PAGE).text)
    byline = one(page, ".byline")
    links = [(a["href"], a.get_text()) for a in byline.select("a[rel=author]")]
    assert links == [("/author/ana-ruiz", "Ana Ruiz"), ("/author/li-wei", "Li Wei")]
    assert "Facts checked November 28, 2026" in byline.get_text()
    assert attr(byline, ".checked time", "datetime") == "2026-11-28"


def test_author_page_lists_their_comparisons_and_has_a_twin(site: TestClient) -> None:
    page = soup(site.get("/author/ana-ruiz").text)
    assert text(page, "h1") == "Ana Ruiz"
    assert one(page, ".bio em").get_text() == "editors"
    assert attr(page, ".lede a", "href") == "https://example.org/ana"
    assert [a["href"] for a in page.select(".card-list a")] == [PAGE]
    data = site.get("/author/ana-ruiz.json").json()
    assert data["name"] == "Ana Ruiz" and data["homepage"] == "https://example.org/ana"
    assert [item["slug"] for item in data["items"]] == ["vim-vs-emacs"]
    assert site.get("/author/nobody").status_code == 404
    assert site.get("/author/nobody.json").status_code == 404


def test_each_option_shows_the_version_tested(site: TestClient) -> None:
    page = soup(site.get(PAGE).text)
    versions = [one(h, ".tested").get_text() for h in page.select(".option-card h2")]
    assert versions == ["9.1", "30.1"]


def test_sources_are_numbered_and_footnotes_link_to_them(site: TestClient) -> None:
    page = soup(site.get(PAGE).text)
    items = page.select(".sources ol li")
    assert [li["id"] for li in items] == ["source-1", "source-2"]
    assert attr(items[1], "a", "href") == "https://www.gnu.org/software/emacs/manual/"
    assert "accessed November 27, 2026" in items[1].get_text()
    refs = page.select(".intro sup a")
    assert [(a["href"], a.get_text()) for a in refs] == [("#source-1", "[1]"), ("#source-2", "[2]")]
    for ref in refs:  # every footnote lands on an element of the page
        assert page.find(id=str(ref["href"])[1:]) is not None


def test_what_changed_and_the_pick_history(site: TestClient) -> None:
    page = soup(site.get(PAGE).text)
    entries = [li.get_text(" ", strip=True) for li in page.select(".changes li")]
    assert entries == [
        "June 1, 2026 : Re-checked against Vim 9.1; the pick went back to Vim . pick: Vim",
        "March 1, 2026 : Emacs 30 made us switch. pick: Emacs",
        "January 15, 2026 : Published.",
    ]
    assert one(page, ".changes li strong").get_text() == "Vim"  # the note is Markdown
    notice = one(page, ".pick-history").get_text(" ", strip=True)
    assert notice.startswith("Our pick changed from Emacs to Vim on June 1, 2026")


def test_a_page_without_the_fields_shows_none_of_their_blocks(make_site: SiteMaker) -> None:
    page = soup(make_site({"vim-vs-emacs.md": GOOD}).get(PAGE).text)
    for selector in (".byline", ".tested", ".sources", ".changes", ".pick-history"):
        assert page.select_one(selector) is None, selector


def note(pick: str) -> NewNote:
    return NewNote(
        slug="vim-vs-emacs",
        title="Vim vs Emacs",
        our_pick="Vim",
        reader_pick=pick,
        message="A message of some length",
        name="",
        email="",
        page_hash="hash",
        page_updated=None,
    )


def test_meter_counts_only_notes_since_the_last_pick_change(
    settings: Settings, make_site: SiteMaker
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = FeedbackStore.from_url(settings.resolved_database_url)
    store.create_schema()
    before = datetime(2026, 5, 31, 23, 59, tzinfo=UTC)  # the day before the change
    for pick in ("Emacs", "Emacs", "Vim"):
        store.add_note(note(pick), now=before)
    store.add_note(note("Emacs"), now=datetime(2026, 6, 1, 0, 0, tzinfo=UTC))  # that day
    store.add_note(note("Vim"), now=datetime(2026, 7, 1, tzinfo=UTC))
    site = make_site(FILES)
    page = soup(site.get(PAGE).text)
    counts = [li.get_text(" ", strip=True) for li in page.select(".disagreement-meter li")]
    assert counts == ["Vim our pick 1 (50%)", "Emacs 1 (50%)"]
    assert "2 readers" in text(page, "#meter-title")
    earlier = one(page, ".meter-earlier").get_text(" ", strip=True)
    assert earlier == (
        "Counted since our pick changed on June 1, 2026 ; 3 earlier notes about the previous pick."
    )
    meter = site.get(PAGE + ".json").json()["meter"]
    assert (meter["total"], meter["since"], meter["earlier"]) == (2, "2026-06-01", 3)


def test_the_meter_of_a_page_without_a_pick_change_counts_every_note(
    settings: Settings, make_site: SiteMaker
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = FeedbackStore.from_url(settings.resolved_database_url)
    store.create_schema()
    store.add_note(note("Emacs"), now=datetime(2026, 1, 20, tzinfo=UTC))
    page = soup(make_site({"vim-vs-emacs.md": GOOD}).get(PAGE).text)
    assert "1 reader told us" in text(page, "#meter-title")
    assert page.select_one(".meter-earlier") is None


def test_the_twin_and_the_api_carry_every_new_field(site: TestClient) -> None:
    data = site.get(PAGE + ".json").json()
    assert data == site.get("/api/comparisons/vim-vs-emacs").json()
    assert [a["url"] for a in data["authors"]] == [
        "https://nicepick.test/author/ana-ruiz",
        "https://nicepick.test/author/li-wei",
    ]
    assert data["checked"] == "2026-11-28"
    (card,) = site.get("/api/comparisons").json()["items"]
    assert card["checked"] == "2026-11-28"  # the summaries carry it too
    assert data["tested"] == {"Vim": "9.1", "Emacs": "30.1"}
    assert [o["tested"] for o in data["options"]] == ["9.1", "30.1"]
    assert data["sources"][0] == {
        "number": 1,
        "title": "Vim documentation",
        "url": "https://vimhelp.org/",
        "accessed": "2026-11-28",
    }
    assert [(c["date"], c["pick"]) for c in data["changes"]] == [
        ("2026-06-01", "Vim"),
        ("2026-03-01", "Emacs"),
        ("2026-01-15", "Vim"),
    ]
    assert data["pick_change"] == {"date": "2026-06-01", "pick": "Vim", "previous": "Emacs"}


def structured(html: str) -> list[dict[str, Any]]:
    """The page's JSON-LD as extruct (the library behind many SEO checkers) reads it."""
    found = extruct.extract(html, base_url="https://nicepick.test/", syntaxes=["json-ld"])
    items: list[dict[str, Any]] = found["json-ld"]
    return items


def test_json_ld_names_person_authors_and_cites_the_sources(site: TestClient) -> None:
    (document,) = structured(site.get(PAGE).text)
    review = next(node for node in document["@graph"] if node["@id"].endswith("#review"))
    assert review["author"] == [
        {
            "@type": "Person",
            "name": "Ana Ruiz",
            "url": "https://nicepick.test/author/ana-ruiz",
            "jobTitle": "Editor",
            "sameAs": "https://example.org/ana",
        },
        {
            "@type": "Person",
            "name": "Li Wei",
            "url": "https://nicepick.test/author/li-wei",
            "jobTitle": "Reviewer",
        },
    ]
    assert [c["url"] for c in review["citation"]] == [
        "https://vimhelp.org/",
        "https://www.gnu.org/software/emacs/manual/",
    ]


def test_json_ld_without_authors_keeps_the_site_as_author(make_site: SiteMaker) -> None:
    (document,) = structured(make_site({"vim-vs-emacs.md": GOOD}).get(PAGE).text)
    review = next(node for node in document["@graph"] if node["@id"].endswith("#review"))
    assert review["author"]["@type"] == "Organization" and "citation" not in review


def test_about_page_and_its_twin_and_the_footer_link(site: TestClient) -> None:
    page = soup(site.get("/about").text)
    assert text(page, "h1") == "About Nice Pick"
    assert text(page, ".prose h2") == "How we pick"
    twin = site.get("/about.json").json()
    assert twin["summary"] == "How we pick."
    assert [(p["title"], p["body"]["text"]) for p in twin["sections"]] == [
        ("How we pick", "We name one.")
    ]
    for path in ("/", PAGE, "/tags", "/categories", "/author/ana-ruiz", "/about"):
        footer = one(soup(site.get(path).text), ".site-footer")
        hrefs = [a["href"] for a in footer.select("a")]
        assert {"/about", "/tags", "/categories"} <= set(hrefs), path


def test_no_about_file_means_no_about_page(make_site: SiteMaker) -> None:
    site = make_site({"vim-vs-emacs.md": GOOD})
    assert site.get("/about").status_code == 404


def test_tags_and_categories_index_every_one_with_its_count(site: TestClient) -> None:
    page = soup(site.get("/tags").text)
    tags = [(a["href"], a.get_text(" ", strip=True)) for a in page.select(".index-list a")]
    # The page's tags, then its options' Related terms, each once, most used first.
    assert ("/tag/editors", "editors 1") in tags and ("/tag/lisp", "lisp 1") in tags
    categories = site.get("/categories.json").json()
    assert categories["items"] == [
        {
            "slug": "dev-tools",
            "name": "Dev Tools",
            "count": 1,
            "url": "https://nicepick.test/category/dev-tools",
        }
    ]
    assert text(soup(site.get("/categories").text), "h1") == "Categories"


def test_sitemap_lists_about_indexes_and_author_pages(site: TestClient) -> None:
    body = site.get("/sitemap.xml").text
    for path in ("/about", "/tags", "/categories", "/author/ana-ruiz", "/author/li-wei"):
        assert f"<loc>https://nicepick.test{path}</loc>" in body, path
