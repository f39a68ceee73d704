"""The fields readers check a page by (authors, checked, tested, sources, changes, ``[^n]``):
parsed from real files, each mistake reported at its line and column."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from app.cli import main
from app.content.cache import ParseCache
from app.content.library import Library
from app.content.model import Change, PickChange, Source
from app.content.parse import parse_text
from app.content.sources import parse_file, source_file
from tests.conftest import GOOD

TODAY = date(2026, 11, 29)

# GOOD's front matter ends at line 8 ("published"); these lines become lines 9 onwards.
RECORD = """\
authors: [ana-ruiz]
checked: 2026-11-28
tested:
  Emacs: "30.1"
  Vim: "9.1"
sources:
  - title: Vim documentation
    url: https://vimhelp.org/
    accessed: 2026-11-28
  - title: GNU Emacs manual
    url: https://www.gnu.org/software/emacs/manual/
    accessed: 2026-11-27
changes:
  - date: 2026-11-28
    note: Re-checked against Vim 9.1.
    pick: Vim
  - date: 2026-03-01
    note: Emacs 30 made us switch.
    pick: Emacs
  - date: 2026-01-15
    note: Published.
    pick: Vim
"""


def with_record(record: str = RECORD, body: str = "") -> str:
    """GOOD with ``record`` after its ``published`` line and ``body`` after its intro."""
    text = GOOD.replace("published: 2026-01-15\n", "published: 2026-01-15\n" + record, 1)
    return text.replace(
        "Both editors are older than most of their users.\n",
        "Both editors are older than most of their users." + body + "\n",
        1,
    )


def problems_of(text: str, today: date | None = TODAY) -> list[str]:
    _, problems = parse_text(text, path="f.md", slug="vim-vs-emacs", today=today)
    return [str(problem) for problem in problems]


def test_every_field_parses_into_the_comparison() -> None:
    comparison, problems = parse_text(
        with_record(body=" Vim starts fast[^1]; Emacs 30 ships tree-sitter[^2]."),
        path="f.md",
        slug="vim-vs-emacs",
        today=TODAY,
    )
    assert problems == [] and comparison is not None
    assert comparison.authors == ("ana-ruiz",)
    assert comparison.checked == date(2026, 11, 28) == comparison.checked_on
    assert comparison.tested == (("Vim", "9.1"), ("Emacs", "30.1"))  # in option order
    assert comparison.sources[1] == Source(
        "GNU Emacs manual", "https://www.gnu.org/software/emacs/manual/", date(2026, 11, 27)
    )
    assert comparison.changes[2] == Change(date(2026, 1, 15), "Published.", "Vim")
    # The oldest entry is the publication, not a change of pick.
    assert comparison.pick_changes == (
        PickChange(date(2026, 11, 28), "Vim", "Emacs"),
        PickChange(date(2026, 3, 1), "Emacs", "Vim"),
    )


def test_a_page_without_the_new_fields_still_parses() -> None:
    comparison, problems = parse_text(GOOD, path="f.md", slug="vim-vs-emacs", today=TODAY)
    assert problems == [] and comparison is not None
    assert comparison.authors == () and comparison.sources == () and comparison.changes == ()
    assert comparison.checked is None and comparison.checked_on == date(2026, 1, 15)
    assert comparison.last_pick_change is None


def test_a_pick_change_with_no_older_pick_says_only_the_new_pick() -> None:
    record = (
        "changes:\n"
        "  - date: 2026-03-01\n    note: Switched.\n    pick: Vim\n"
        "  - date: 2026-01-15\n    note: Published.\n"
    )
    comparison, _ = parse_text(with_record(record), path="f.md", slug="vim-vs-emacs")
    assert comparison is not None
    assert comparison.last_pick_change == PickChange(date(2026, 3, 1), "Vim", None)


CASES = {
    "authors-not-slug": (
        "authors: [Ana Ruiz]\n",
        'f.md:9:11: error: author "Ana Ruiz" is not a file name: write the slug of '
        'content/authors/<slug>.md, e.g. "ana-ruiz"',
    ),
    "authors-not-list": (
        "authors: 3\n",
        'f.md:9:10: error: "authors" must be a list of author slugs, e.g. [ana-ruiz]',
    ),
    "checked-not-date": (
        "checked: soon\n",
        'f.md:9:10: error: "checked" must be a date like 2026-11-24, not "soon"',
    ),
    "checked-future": (
        "checked: 2026-12-25\n",
        'f.md:9:10: error: "checked" (2026-12-25) is in the future (today is 2026-11-29)',
    ),
    "tested-unknown-option": (
        'tested:\n  Emax: "30.1"\n',
        'f.md:10:3: error: "tested" names "Emax", which is not one of the options '
        '(Vim, Emacs) (did you mean "Emacs"?)',
    ),
    "tested-float": (
        "tested:\n  Vim: 9.10\n",
        'f.md:10:8: error: version of "Vim" must be in quotes ("9.1"): unquoted, 3.10 reads '
        "as the number 3.1",
    ),
    "source-not-http": (
        "sources:\n  - title: Notes\n    url: ftp://example.org/x\n    accessed: 2026-11-01\n",
        'f.md:11:10: error: "sources" entry 1: url must be a web address (http:// or https:// '
        'and a host), not "ftp://example.org/x"',
    ),
    "source-misspelt-field": (
        "sources:\n  - title: Notes\n    url: https://example.org/\n    acessed: 2026-11-01\n",
        'f.md:12:5: error: unknown field "acessed" in "sources" entry 1 (did you mean "accessed"?)',
    ),
    "source-missing-field": (
        "sources:\n  - title: Notes\n    url: https://example.org/\n",
        'f.md:10:5: error: "sources" entry 1 has no "accessed"',
    ),
    "source-accessed-future": (
        "sources:\n  - title: Notes\n    url: https://example.org/\n    accessed: 2027-01-01\n",
        'f.md:12:15: error: "sources" entry 1: accessed (2027-01-01) is in the future '
        "(today is 2026-11-29)",
    ),
    "changes-oldest-first": (
        "changes:\n  - date: 2026-01-15\n    note: Published.\n"
        "  - date: 2026-03-01\n    note: Re-checked.\n",
        'f.md:12:11: error: "changes" entry 2 (2026-03-01) is newer than the entry above it '
        "(2026-01-15): list changes newest first",
    ),
    "changes-unknown-pick": (
        "changes:\n  - date: 2026-03-01\n    note: Switched.\n    pick: Vi\n",
        'f.md:12:11: error: "changes" entry 1: pick "Vi" is not one of the options '
        '(Vim, Emacs) (did you mean "Vim"?)',
    ),
    "changes-last-pick-not-current": (
        "changes:\n  - date: 2026-03-01\n    note: Switched.\n    pick: Emacs\n"
        "  - date: 2026-01-15\n    note: Published.\n    pick: Vim\n",
        'f.md:12:11: error: the newest pick in "changes" is "Emacs" but "pick" is "Vim": '
        "add a newer entry with the current pick, or fix one of them",
    ),
    # A typo (2062 for 2026) on a pick change made the meter count only notes written
    # after that day: every reader's disagreement hidden for decades.
    "changes-future": (
        "changes:\n  - date: 2062-11-29\n    note: Switched.\n    pick: Vim\n",
        'f.md:10:11: error: "changes" entry 1 (2062-11-29) is in the future (today is 2026-11-29)',
    ),
    "changes-no-note": (
        "changes:\n  - date: 2026-03-01\n",
        'f.md:10:5: error: "changes" entry 1 has no "note"',
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_reported_at_its_line_and_column(case: str) -> None:
    record, message = CASES[case]
    assert problems_of(with_record(record)) == [message]


def test_a_future_date_is_an_error_only_when_check_gives_today() -> None:
    text = with_record("checked: 2026-12-25\n")
    assert problems_of(text, today=None) == []  # the server's cached parse: not day-dependent


def test_footnotes_beyond_the_sources_are_reported_where_they_stand() -> None:
    record = "sources:\n  - title: Notes\n    url: https://example.org/\n    accessed: 2026-11-01\n"
    text = with_record(record, body=" Fast[^1], small[^2], `[^9]` is code, [^x] is not.")
    # The intro is line 14: 8 lines of GOOD's front matter, 4 of sources, then "---".
    assert problems_of(text) == [
        "f.md:14:65: error: footnote [^2] names no source (sources has 1)",
        "f.md:14:87: error: footnote [^x] must be the number of a source, e.g. [^1]",
    ]


def test_a_footnote_in_other_digits_is_reported_not_raised() -> None:
    # "²".isdigit() is True but int("²") raises: one superscript two in a body stopped
    # check with a traceback, and the server at start-up (its library load raised).
    record = "sources:\n  - title: Notes\n    url: https://example.org/\n    accessed: 2026-11-01\n"
    text = with_record(record, body=" Fast[^\u00b2], small[^\u0661].")
    assert problems_of(text) == [
        "f.md:14:54: error: footnote [^\u00b2] must be the number of a source, e.g. [^1]",
        "f.md:14:65: error: footnote [^\u0661] must be the number of a source, e.g. [^1]",
    ]


def test_a_line_of_unclosed_footnotes_is_checked_in_linear_time() -> None:
    # Each "[^" was scanned to the end of its line for a "]": 4.8 s for 16,000 of them.
    started = time.perf_counter()
    problems = problems_of(with_record(body=" " + "[^" * 30_000))
    assert time.perf_counter() - started < 1
    assert not any("footnote" in problem for problem in problems)


def test_the_parse_cache_keeps_every_new_field(tmp_path: Path) -> None:
    path = tmp_path / "vim-vs-emacs.md"
    path.write_text(with_record(), encoding="utf-8")
    source = source_file(path)
    first = ParseCache(tmp_path / "cache.marshal")
    parsed, _ = first.parse(path, source.display, lambda: parse_file(source))
    first.save()
    second = ParseCache(tmp_path / "cache.marshal")
    cached, _ = second.parse(path, source.display, lambda: parse_file(source))
    assert second.hits == 1 and second.parses == 0
    assert cached == parsed and cached is not None and cached.sources and cached.changes


def write_author(content: Path, slug: str = "ana-ruiz") -> None:
    (content / "authors").mkdir(exist_ok=True)
    (content / "authors" / f"{slug}.md").write_text(
        "---\nname: Ana Ruiz\nrole: Editor\nurl: https://example.org/ana\n---\nWrites about editors.\n",
        encoding="utf-8",
    )


def test_authors_and_pages_folders_hold_no_comparisons(tmp_path: Path) -> None:
    write_author(tmp_path)
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "about.md").write_text(
        "---\ntitle: About\nsummary: Who we are.\n---\nWe pick.\n", encoding="utf-8"
    )
    (tmp_path / "vim-vs-emacs.md").write_text(with_record(), encoding="utf-8")
    library = Library.scan(tmp_path)
    assert library.problems == []
    assert list(library.comparisons) == ["vim-vs-emacs"]
    assert library.authors["ana-ruiz"].name == "Ana Ruiz"
    assert library.authors["ana-ruiz"].url == "https://example.org/ana"
    assert library.pages["about"].intro == "We pick."


def test_an_unknown_author_is_an_error_with_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content").mkdir()
    write_author(tmp_path / "content")
    record = RECORD.replace("authors: [ana-ruiz]", "authors: [ana-ruis]")
    (tmp_path / "content" / "vim-vs-emacs.md").write_text(with_record(record), encoding="utf-8")
    assert main(["check", "content"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        'content/vim-vs-emacs.md:9:11: error: unknown author "ana-ruis": no '
        'content/authors/ana-ruis.md (did you mean "ana-ruiz"?)'
    )


def test_an_author_file_is_checked_like_a_comparison(tmp_path: Path) -> None:
    (tmp_path / "authors").mkdir()
    (tmp_path / "authors" / "ana-ruiz.md").write_text(
        "---\nname: Ana Ruiz\nrol: Editor\nurl: mailto:ana@example.org\n---\nBio.\n",
        encoding="utf-8",
    )
    library = Library.scan(tmp_path)
    shown = [f"{p.line}:{p.column}: {p.message}" for p in library.problems]
    assert shown == [
        '3:1: unknown field "rol" (did you mean "role"?)',
        '2:1: missing required field "role"',
        '4:6: "url" must start with http:// or https://: "mailto:ana@example.org"',
    ]
    assert library.authors == {}


def test_strict_check_warns_on_no_authors_and_single_use_tags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    assert main(["check", "content"]) == 0
    capsys.readouterr()
    assert main(["check", "content", "--strict"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        'content/vim-vs-emacs.md:2:1: warning: no "authors": name who wrote the page, '
        "e.g. authors: [ana-ruiz]",
        'content/vim-vs-emacs.md:7:8: warning: tag "editors" is used by this page only: its '
        "tag page lists one comparison; use a tag other pages share, or drop it",
        'content/vim-vs-emacs.md:7:17: warning: tag "terminal" is used by this page only: its '
        "tag page lists one comparison; use a tag other pages share, or drop it",
        "0 errors, 3 warnings in 1 file",
    ]


def test_stale_lists_pages_by_the_age_of_their_facts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.commands.check import format_stale, stale

    (tmp_path / "old.md").write_text(GOOD, encoding="utf-8")  # published 2026-01-15
    fresh = with_record().replace("authors: [ana-ruiz]\n", "")
    (tmp_path / "fresh.md").write_text(
        fresh.replace("[Vim, Emacs]", "[Vim, Emacs, Nano]").replace(
            "## Verdict",
            "## Nano\nSmall.\n### Pros\n- Tiny\n### Cons\n- Few features\n\n## Verdict",
        ),
        encoding="utf-8",
    )
    found = stale(tmp_path, 90, today=TODAY)
    assert [(Path(s.path).name, s.checked, s.age) for s in found] == [
        ("old.md", date(2026, 1, 15), 318)
    ]
    assert format_stale(found, 90).splitlines()[-1] == "1 page not checked in the last 90 days"
    monkeypatch.chdir(tmp_path)
    assert main(["check", ".", "--stale", "3650"]) == 0
    assert main(["check", ".", "--stale", "0", "--strict"]) == 1


def test_live_preview_rereads_a_changed_author_file(tmp_path: Path) -> None:
    write_author(tmp_path)
    (tmp_path / "vim-vs-emacs.md").write_text(with_record(), encoding="utf-8")
    library = Library.scan(tmp_path)
    version = library.version
    path = tmp_path / "authors" / "ana-ruiz.md"
    path.write_text("---\nname: Ana R. Ruiz\nrole: Editor\n---\nBio.\n", encoding="utf-8")
    assert library.reload_file(path) == []
    assert library.authors["ana-ruiz"].name == "Ana R. Ruiz"
    assert library.version == version + 1 and list(library.comparisons) == ["vim-vs-emacs"]
    path.write_text("---\nname: Ana\n---\nBio.\n", encoding="utf-8")
    assert [p.message for p in library.reload_file(path)] == ['missing required field "role"']
    # The page names an author no file defines now: a cross-file error, as check reports it.
    assert [p.message for p in library.problems if "unknown author" in p.message] == [
        'unknown author "ana-ruiz": no content/authors/ana-ruiz.md'
    ]


@pytest.mark.parametrize(
    ("folder", "name", "front", "slug"),
    [
        ("authors", "Ana Ruiz.md", "name: Ana Ruiz\nrole: Editor\n", "ana-ruiz"),
        ("authors", 'a"b<x>?#.md', "name: Ana Ruiz\nrole: Editor\n", "a-b-x"),
        ("pages", "About Us.md", "title: About\nsummary: Who we are\n", "about-us"),
    ],
)
def test_a_side_file_whose_name_is_not_a_slug_is_refused(
    tmp_path: Path, folder: str, name: str, front: str, slug: str
) -> None:
    # Its page would live at /author/Ana Ruiz or /author/a"b<x>?# : a canonical link with a
    # space or a "#" in it, and an export that skips the page (404) or names a folder with
    # a space; no comparison can even name such an author ("not a file name").
    (tmp_path / folder).mkdir()
    (tmp_path / folder / name).write_text(f"---\n{front}---\nText.\n", encoding="utf-8")
    library = Library.scan(tmp_path)
    assert [(p.line, p.message) for p in library.problems] == [
        (1, f'file name "{name}" is not a slug: rename the file to {slug}.md')
    ]
    assert library.authors == {}
    assert library.pages == {}


def test_long_web_addresses_are_refused_in_linear_time(tmp_path: Path) -> None:
    # "https://" + 40,000 letters + " x": the address pattern backtracked quadratically,
    # 11 s (and ~100 s at the file size limit) in a source's url and an author's url.
    url = "https://" + "a" * 40_000 + " x"
    record = f"sources:\n  - title: Notes\n    url: {url}\n    accessed: 2026-11-01\n"
    (tmp_path / "authors").mkdir()
    (tmp_path / "authors" / "ana-ruiz.md").write_text(
        f"---\nname: Ana Ruiz\nrole: Editor\nurl: {url}\n---\nBio.\n", encoding="utf-8"
    )
    started = time.perf_counter()
    problems = problems_of(with_record(record))
    authors = Library.scan(tmp_path).problems
    assert time.perf_counter() - started < 1
    assert [p for p in problems if "url must be a web address" in p] != []
    assert [p.message.startswith('"url" must start with http') for p in authors] == [True]


def test_a_plain_page_no_address_serves_is_a_warning(tmp_path: Path) -> None:
    # Only about.md has an address (/about): a careless privacy.md passed check in silence
    # and was never served, in the server or in the export.
    (tmp_path / "pages").mkdir()
    for slug in ("about", "privacy"):
        (tmp_path / "pages" / f"{slug}.md").write_text(
            f"---\ntitle: {slug}\nsummary: A page\n---\nText.\n", encoding="utf-8"
        )
    library = Library.scan(tmp_path)
    assert [(p.path.rsplit("/", 1)[-1], p.severity, p.message) for p in library.problems] == [
        (
            "privacy.md",
            "warning",
            "no address serves this page: the site shows only content/pages/about.md (/about)",
        )
    ]


def test_a_control_character_in_a_writers_name_is_an_error(tmp_path: Path) -> None:
    # "\x1b[31m" pasted from a terminal reached every byline and the author page's HTML
    # (and its JSON-LD) as raw control characters; comparisons and profiles refuse them.
    (tmp_path / "authors").mkdir()
    (tmp_path / "authors" / "ana-ruiz.md").write_text(
        '---\nname: "Ana\\x1b[31m Ruiz"\nrole: Editor\n---\nBio.\n', encoding="utf-8"
    )
    library = Library.scan(tmp_path)
    assert [f"{p.line}:{p.column}: {p.message}" for p in library.problems] == [
        '2:7: "name" contains a control character (U+001B): write it on one line'
    ]
    assert library.authors == {}
