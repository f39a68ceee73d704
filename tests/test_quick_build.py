"""The quick incremental build: a body edit rewrites the same files a full build would change,
and every edit it cannot prove harmless goes to the full incremental build, untouched."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from pathlib import Path

import brotli
import pytest
from bs4 import BeautifulSoup

from app.cli import main
from app.commands.export import export_site
from app.commands.manifest import Manifest
from app.commands.quick import quick_build
from app.commands.quick_record import Record, current_record, record_path
from app.settings import Settings
from tests.conftest import GOOD, add_notes, comparison_text
from tests.soup import one

SECRET = "quick-build-test-secret-0123456789"


def pair(first: str, second: str, **front: str) -> str:
    return (
        comparison_text(title=f"{first} vs {second}", **front)
        .replace("Vim", first)
        .replace("Emacs", second)
    )


# Four pages sharing a category and tags, so each page has related comparisons.
PAGES = {
    "vim-vs-emacs.md": GOOD,
    "nano-vs-micro.md": pair("Nano", "Micro", tags="[editors, beginner]"),
    "helix-vs-kakoune.md": pair("Helix", "Kakoune", published="2026-02-01"),
    "joe-vs-jed.md": pair("Joe", "Jed", published="2099-01-01"),  # not published yet
}


@pytest.fixture
def site(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> tuple[Settings, Path]:
    for name, text in PAGES.items():
        write_content(name, text)
    settings = settings.model_copy(
        update={"feedback_endpoint": "https://notes.nicepick.test", "secret_key": SECRET}
    )
    out = tmp_path / "site"
    export_site(settings, out, cards=False)
    return settings, out


def files(out: Path) -> dict[str, bytes]:
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file() and not path.name.startswith(".nicepick")  # the build's own notes
    }


def edit(settings: Settings, name: str, change: Callable[[str], str]) -> None:
    path = settings.content_dir / name
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


def assert_same_as_a_full_build(settings: Settings, out: Path, tmp_path: Path) -> None:
    manifest = Manifest.load(out)
    assert manifest is not None
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, cards=False, built_at=manifest.built_at, incremental=False)
    full, quick = files(fresh), files(out)
    assert sorted(n for n in full.keys() | quick.keys() if full.get(n) != quick.get(n)) == []


def test_a_body_edit_rewrites_the_page_its_twin_and_the_search_index_only(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, out = site
    before = files(out)
    edit(
        settings, "nano-vs-micro.md", lambda t: t.replace("A modal editor.", "A tiny, fast editor.")
    )
    summary = quick_build(settings, out, cards=False)
    assert summary is not None and summary.pages == 1
    assert_same_as_a_full_build(settings, out, tmp_path)
    changed = sorted(n for n, body in files(out).items() if before.get(n) != body)
    manifest = Manifest.load(out)
    assert manifest is not None
    assert manifest.rewritten == [n for n in changed if not n.endswith((".gz", ".br"))]
    assert {"compare/nano-vs-micro/index.html", "compare/nano-vs-micro.json"} <= set(changed)
    assert "search-index/meta.json" in changed  # the page's length in words changed
    assert all(n.startswith(("compare/nano-vs-micro", "search-index/")) for n in changed)


def test_a_build_over_two_processes_leaves_the_record_one_process_leaves(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    # Over two processes the search index's own process makes the record's entries of the
    # content files and the shards' sizes, beside the rendering; alone, the build makes
    # them at its end. The next build's quick path reads them either way.
    settings, _out = site
    records = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs-{jobs}"
        export_site(settings, out, cards=False, built_at=1764547200.0, jobs=jobs)
        record = Record.load(record_path(out, settings.data_dir))
        assert record is not None
        records[jobs] = record
    one, two = records[1], records[2]
    assert two.files == one.files and len(two.files) == len(PAGES)
    assert two.shard_sizes == one.shard_sizes and two.shard_sizes
    assert (two.order, two.feed, two.digests.keys()) == (one.order, one.feed, one.digests.keys())
    edit(
        settings, "nano-vs-micro.md", lambda t: t.replace("A modal editor.", "A tiny, fast editor.")
    )
    summary = quick_build(settings, tmp_path / "jobs-2", cards=False)
    assert summary is not None and summary.pages == 1
    assert_same_as_a_full_build(settings, tmp_path / "jobs-2", tmp_path)


def test_a_precompressed_build_gets_its_edited_pages_siblings_again(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, out = site
    export_site(settings, out, cards=False, precompress=True)
    edit(
        settings, "nano-vs-micro.md", lambda t: t.replace("A modal editor.", "A tiny, fast editor.")
    )
    # Not the build's choice: not this build's files (its fingerprint), nothing written.
    assert quick_build(settings, out, cards=False) is None
    summary = quick_build(settings, out, cards=False, precompress=True)
    assert summary is not None and summary.pages == 1
    page = out / "compare/nano-vs-micro/index.html"
    assert "A tiny, fast editor." in page.read_text()
    assert gzip.decompress(page.with_name("index.html.gz").read_bytes()) == page.read_bytes()
    assert brotli.decompress(page.with_name("index.html.br").read_bytes()) == page.read_bytes()
    manifest = Manifest.load(out)
    assert manifest is not None
    fresh = tmp_path / "fresh"
    export_site(
        settings,
        fresh,
        cards=False,
        built_at=manifest.built_at,
        incremental=False,
        precompress=True,
    )
    full, quick = files(fresh), files(out)
    assert sorted(n for n in full.keys() | quick.keys() if full.get(n) != quick.get(n)) == []


def test_a_bottom_line_edit_also_rewrites_the_feed_which_shows_it(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, out = site
    edit(settings, "helix-vs-kakoune.md", lambda t: t.replace("everywhere", "anywhere"))
    summary = quick_build(settings, out, cards=False)
    assert summary is not None and "feed.xml" in summary.rewritten
    assert_same_as_a_full_build(settings, out, tmp_path)


def test_a_second_edit_of_the_same_page_is_quick_too_and_still_exact(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, out = site
    edit(settings, "vim-vs-emacs.md", lambda t: t.replace("A modal editor.", "Modal."))
    assert quick_build(settings, out, cards=False) is not None
    edit(settings, "vim-vs-emacs.md", lambda t: t.replace("Pick by how", "Choose by how"))
    assert quick_build(settings, out, cards=False) is not None
    assert_same_as_a_full_build(settings, out, tmp_path)


def test_an_edit_of_a_page_not_yet_published_writes_nothing(
    site: tuple[Settings, Path],
) -> None:
    settings, out = site
    before = files(out)
    edit(settings, "joe-vs-jed.md", lambda t: t.replace("A modal editor.", "Secret."))
    summary = quick_build(settings, out, cards=False)
    assert summary is not None and summary.rewritten == []
    assert files(out) == before


def test_no_file_of_the_output_names_a_page_not_yet_published(
    site: tuple[Settings, Path],
) -> None:
    settings, out = site
    for path in out.rglob("*"):  # the build's own notes included: OUT is what gets published
        if path.is_file() and path.suffix not in (".gz", ".br"):
            assert b"joe-vs-jed" not in path.read_bytes(), path
    # The quick build's record names every content file: it is kept in the data folder.
    assert b"joe-vs-jed" in record_path(out, settings.data_dir).read_bytes()


@pytest.mark.parametrize(
    ("name", "change"),
    [
        pytest.param("nano-vs-micro.md", lambda t: t.replace("Two editors", "Two"), id="summary"),
        pytest.param("nano-vs-micro.md", lambda t: t.replace("Nano vs Micro", "N"), id="title"),
        pytest.param("nano-vs-micro.md", lambda t: t.replace("beginner]", "x]"), id="tags"),
        pytest.param("nano-vs-micro.md", lambda t: t.replace("- Starts", "- Boots"), id="pros"),
        pytest.param(
            "nano-vs-micro.md",
            lambda t: t.replace("A modal editor.", "See [x](/compare/no-such-page)."),
            id="broken link",
        ),
        pytest.param("nano-vs-micro.md", lambda t: t.replace("title:", "titel:"), id="error"),
    ],
)
def test_what_other_pages_show_goes_to_the_full_incremental_build(
    site: tuple[Settings, Path], tmp_path: Path, name: str, change: Callable[[str], str]
) -> None:
    settings, out = site
    before = files(out)
    edit(settings, name, change)
    assert quick_build(settings, out, cards=False) is None
    assert files(out) == before  # nothing written by the attempt


def test_the_record_a_failed_attempt_read_serves_the_full_incremental_build(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    """The build command reads the record once: the quick attempt gives up on a tag edit
    with the record as it found it, and the incremental build made with that record is the
    full build's."""
    settings, out = site
    edit(settings, "nano-vs-micro.md", lambda t: t.replace("beginner]", "terminal]"))
    record = current_record(out, settings.data_dir)
    assert record is not None
    as_read = copy.deepcopy(record)
    assert quick_build(settings, out, cards=False, record=record) is None
    assert record == as_read
    summary = export_site(settings, out, cards=False, record=record)
    assert summary.incremental
    assert "tag/terminal/index.html" in files(out)
    assert_same_as_a_full_build(settings, out, tmp_path)


def test_an_added_or_removed_file_goes_to_the_full_incremental_build(
    site: tuple[Settings, Path],
) -> None:
    settings, out = site
    (settings.content_dir / "ed-vs-sam.md").write_text(pair("Ed", "Sam"), encoding="utf-8")
    assert quick_build(settings, out, cards=False) is None
    (settings.content_dir / "ed-vs-sam.md").unlink()
    (settings.content_dir / "helix-vs-kakoune.md").unlink()
    assert quick_build(settings, out, cards=False) is None


def test_other_settings_go_to_the_full_incremental_build(site: tuple[Settings, Path]) -> None:
    settings, out = site
    edit(settings, "nano-vs-micro.md", lambda t: t.replace("A modal editor.", "Tiny."))
    renamed = settings.model_copy(update={"site_name": "Another Pick"})
    assert quick_build(renamed, out, cards=False) is None
    assert quick_build(settings, out, cards=True) is None  # cards were left out last time


def test_the_build_command_takes_the_quick_path_and_says_so(
    site: tuple[Settings, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings, out = site
    edit(settings, "nano-vs-micro.md", lambda t: t.replace("A modal editor.", "Tiny."))
    for name, value in {
        "NICEPICK_CONTENT_DIR": settings.content_dir,
        "NICEPICK_DATA_DIR": settings.data_dir,
        "NICEPICK_TEMPLATES_DIR": settings.templates_dir,
        "NICEPICK_STATIC_DIR": settings.static_dir,
        "NICEPICK_FEEDBACK_ENDPOINT": settings.feedback_endpoint,
        "NICEPICK_SECRET_KEY": SECRET,
    }.items():
        monkeypatch.setenv(name, str(value))
    code = main(["build", str(out), "--base-url", settings.site_url, "--no-cards"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "incremental (page bodies and notes only):" in printed
    assert "exported forms are accepted until" in printed
    assert_same_as_a_full_build(settings, out, tmp_path)


def test_a_file_edited_while_the_build_ran_is_read_again_by_the_next(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    for name, text in PAGES.items():
        write_content(name, text)
    out = tmp_path / "site"
    edited: list[bool] = []

    def edit_once(done: int, total: int) -> None:
        # After the build read the content folder: its pages have the old words.
        if not edited:
            edited.append(True)
            edit(settings, "nano-vs-micro.md", lambda t: t.replace("A modal", "A small"))

    export_site(settings, out, cards=False, progress=edit_once)
    assert edited
    summary = quick_build(settings, out, cards=False)
    assert summary is not None and "compare/nano-vs-micro/index.html" in summary.rewritten
    assert_same_as_a_full_build(settings, out, tmp_path)


def test_a_body_edit_shows_the_notes_stored_since_as_a_full_build_does(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    # The quick build reads the counts with the stdlib's sqlite3, not through the store.
    settings, out = site
    add_notes(settings, "vim-vs-emacs", ["Emacs", "Emacs", "Vim"])
    edit(settings, "vim-vs-emacs.md", lambda t: t.replace("A modal editor.", "Modal."))
    assert quick_build(settings, out, cards=False) is not None
    twin = json.loads((out / "compare" / "vim-vs-emacs.json").read_bytes())
    assert twin["meter"]["total"] == 3
    assert_same_as_a_full_build(settings, out, tmp_path)


def test_a_title_edit_shows_the_notes_stored_since_as_a_full_build_does(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    # Not a quick build: the incremental one, which reads the counts without the store too
    # (app/commands/static_forms.py), and must show them exactly as the store would.
    settings, out = site
    add_notes(settings, "vim-vs-emacs", ["Emacs", "Emacs", "Vim"])
    add_notes(settings, "nano-vs-micro", ["Vim"])
    edit(settings, "vim-vs-emacs.md", lambda t: t.replace("title: Vim vs Emacs", "title: V or E"))
    assert quick_build(settings, out, cards=False) is None
    assert export_site(settings, out, cards=False).incremental
    twin = json.loads((out / "compare" / "vim-vs-emacs.json").read_bytes())
    assert twin["meter"]["total"] == 3
    assert_same_as_a_full_build(settings, out, tmp_path)


def test_its_walk_names_the_comparison_files_and_names_them_as_discover_does(
    tmp_path: Path,
) -> None:
    from app.commands.quick import _source_file
    from app.content.sources import comparison_paths, discover

    content = tmp_path / "content"
    for name in [
        "a-vs-b.md",
        "README.md",
        ".hidden.md",
        "notes.txt",
        "sub/c-vs-d.md",
        "sub/deeper/e-vs-f.md",
        ".git/x-vs-y.md",
        "authors/ada.md",
        "pages/about.md",
        "sub/authors/g-vs-h.md",
    ]:
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        (content / name).write_text("x", encoding="utf-8")
    walked = comparison_paths(content)
    assert walked == [("a-vs-b.md",), ("sub", "authors", "g-vs-h.md"), ("sub", "c-vs-d.md"),
                      ("sub", "deeper", "e-vs-f.md")]  # fmt: skip
    names = [str(content) + "/" + "/".join(parts) for parts in walked]
    assert [_source_file(content, Path(name)) for name in names] == discover(content)


def test_after_a_title_edit_the_next_body_edit_of_that_page_is_quick_and_exact(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    # The record keeps the last digest of unchanged files only: the retitled one is new.
    settings, out = site
    edit(settings, "nano-vs-micro.md", lambda t: t.replace("title: Nano vs Micro", "title: Nano!"))
    assert quick_build(settings, out, cards=False) is None
    export_site(settings, out, cards=False)
    edit(settings, "nano-vs-micro.md", lambda t: t.replace("A modal editor.", "Small."))
    assert quick_build(settings, out, cards=False) is not None
    assert_same_as_a_full_build(settings, out, tmp_path)


def test_a_title_edit_after_a_quick_build_patches_the_index_it_left_and_is_exact(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    # The quick build patched the index and kept its shard sizes in the record: the
    # incremental build patches that index in turn, from those sizes.
    settings, out = site
    edit(settings, "nano-vs-micro.md", lambda t: t.replace("A modal editor.", "Small, quick."))
    assert quick_build(settings, out, cards=False) is not None
    edit(settings, "nano-vs-micro.md", lambda t: t.replace("title: Nano vs Micro", "title: Nano"))
    summary = export_site(settings, out, cards=False)
    assert summary.incremental
    assert "search-index/meta.json" in summary.rewritten  # "vs" and "micro" left the title
    assert_same_as_a_full_build(settings, out, tmp_path)


def meter_title(out: Path, slug: str) -> str:
    """The count the exported page shows above its meter ("3 readers told us ...")."""
    soup = BeautifulSoup((out / "compare" / slug / "index.html").read_bytes(), "html.parser")
    return " ".join(one(soup, "#meter-title").get_text().split())


def rewritten_as_a_full_build_changes(
    settings: Settings, out: Path, tmp_path: Path, before: dict[str, bytes]
) -> list[str]:
    """What the last build rewrote, having checked it is what a full build changes since
    ``before`` (compressed siblings aside) and that OUT is now that full build's copy."""
    manifest = Manifest.load(out)
    assert manifest is not None
    assert_same_as_a_full_build(settings, out, tmp_path)
    full = files(tmp_path / "fresh")
    changed = sorted(n for n, body in full.items() if before.get(n) != body)
    assert manifest.rewritten == [n for n in changed if not n.endswith((".gz", ".br"))]
    return manifest.rewritten


def test_notes_stored_with_no_edit_rewrite_their_page_and_twin_as_a_full_build_does(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    # No content file changed, so no content hash says the page is stale: the counts read
    # now, against those the last build rendered it with, do.
    settings, out = site
    before = files(out)
    add_notes(settings, "nano-vs-micro", ["Micro", "Micro", "Nano"])
    summary = quick_build(settings, out, cards=False)
    assert summary is not None
    assert meter_title(out, "nano-vs-micro") == "3 readers told us what they would pick"
    assert rewritten_as_a_full_build_changes(settings, out, tmp_path, before) == [
        "compare/nano-vs-micro.json",
        "compare/nano-vs-micro/index.html",
    ]
    again = quick_build(settings, out, cards=False)
    assert again is not None and again.pages == 0 and again.rewritten == []


def test_notes_on_one_page_and_a_body_edit_of_another_rewrite_both_as_a_full_build_does(
    site: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, out = site
    before = files(out)
    add_notes(settings, "nano-vs-micro", ["Micro"])
    edit(settings, "vim-vs-emacs.md", lambda t: t.replace("A modal editor.", "Modal."))
    assert quick_build(settings, out, cards=False) is not None
    assert meter_title(out, "nano-vs-micro") == "1 reader told us what they would pick"
    rewritten = rewritten_as_a_full_build_changes(settings, out, tmp_path, before)
    assert {"compare/nano-vs-micro/index.html", "compare/vim-vs-emacs/index.html"} <= set(rewritten)


def test_notes_the_quick_build_reads_through_the_store_rewrite_their_page_too(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The same file named so that only SQLAlchemy reads it as such (PostgreSQL goes this way):
    # the counts come from the feedback store, not from the stdlib's sqlite3.
    for name, page in PAGES.items():
        write_content(name, page)
    database = tmp_path / "notes.sqlite3"
    settings = settings.model_copy(
        update={
            "feedback_endpoint": "https://notes.nicepick.test",
            "secret_key": SECRET,
            "database_url": f"sqlite+pysqlite:///{database}",
        }
    )
    out = tmp_path / "site"
    export_site(settings, out, cards=False)
    before = files(out)
    add_notes(settings, "helix-vs-kakoune", ["Kakoune", "Kakoune"])
    assert quick_build(settings, out, cards=False) is not None
    assert meter_title(out, "helix-vs-kakoune") == "2 readers told us what they would pick"
    assert rewritten_as_a_full_build_changes(settings, out, tmp_path, before) == [
        "compare/helix-vs-kakoune.json",
        "compare/helix-vs-kakoune/index.html",
    ]
    again = quick_build(settings, out, cards=False)
    assert again is not None and again.rewritten == []


def test_while_the_database_is_down_pages_keep_the_counts_they_show(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # A build made while the notes' database cannot answer reads no counts. Pages must not
    # all lose theirs at once (every page with notes rewritten showing none): those it does
    # not re-render keep what they show, and the one it re-renders for an edit (showing
    # none) is recounted by the first build that can read the counts again.
    for name, page in PAGES.items():
        write_content(name, page)
    reachable = settings.model_copy(
        update={
            "feedback_endpoint": "https://notes.nicepick.test",
            "secret_key": SECRET,
            "database_url": f"sqlite+pysqlite:///{tmp_path / 'notes.sqlite3'}",
        }
    )
    # Nothing listens on the discard port: every connection is refused at once.
    down = reachable.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:9/notes"}
    )
    out = tmp_path / "site"
    add_notes(reachable, "helix-vs-kakoune", ["Kakoune", "Kakoune"])
    add_notes(reachable, "nano-vs-micro", ["Micro"])
    export_site(reachable, out, cards=False)
    assert meter_title(out, "helix-vs-kakoune") == "2 readers told us what they would pick"

    unedited = quick_build(down, out, cards=False)
    assert unedited is not None and unedited.rewritten == []
    edit(down, "nano-vs-micro.md", lambda t: t.replace("A modal editor.", "Small, quick."))
    edited = quick_build(down, out, cards=False)
    assert edited is not None
    pages = [name for name in edited.rewritten if name.startswith("compare/")]
    assert sorted(pages) == ["compare/nano-vs-micro.json", "compare/nano-vs-micro/index.html"]
    assert meter_title(out, "helix-vs-kakoune") == "2 readers told us what they would pick"

    back = quick_build(reachable, out, cards=False)
    assert back is not None
    assert sorted(back.rewritten) == [
        "compare/nano-vs-micro.json",
        "compare/nano-vs-micro/index.html",
    ]
    assert meter_title(out, "nano-vs-micro") == "1 reader told us what they would pick"
    assert_same_as_a_full_build(reachable, out, tmp_path)


def test_a_deleted_notes_database_holds_no_notes_as_a_full_build_finds(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # A database without the notes table is not a database that cannot answer: it holds no
    # notes (the server and the export's path make the schema and find none), so the pages
    # that showed notes are rendered showing none, as a full build renders them.
    for name, page in PAGES.items():
        write_content(name, page)
    database = tmp_path / "notes.sqlite3"
    settings = settings.model_copy(
        update={
            "feedback_endpoint": "https://notes.nicepick.test",
            "secret_key": SECRET,
            "database_url": f"sqlite:///{database}",
        }
    )
    out = tmp_path / "site"
    add_notes(settings, "helix-vs-kakoune", ["Kakoune", "Kakoune"])
    export_site(settings, out, cards=False)
    before = files(out)
    database.unlink()
    summary = quick_build(settings, out, cards=False)
    assert summary is not None
    assert rewritten_as_a_full_build_changes(settings, out, tmp_path, before) == [
        "compare/helix-vs-kakoune.json",
        "compare/helix-vs-kakoune/index.html",
    ]
    soup = BeautifulSoup((out / "compare/helix-vs-kakoune/index.html").read_bytes(), "html.parser")
    assert soup.select("#meter-title") == []
