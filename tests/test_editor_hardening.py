"""A careless or hostile content folder: what check reports, and what the site still serves.

Each table row is one kind of fault: Markdown that crashed or took minutes to render, titles
that ate the social card, control characters in names, named pipes and links in the content
folder, a missing folder, a newcomer taking an established page's address, and a full disk
under the caches. The exact ``path:line:col: message`` lines of the fixture files are asserted
in tests/test_check.py; here are the outcomes a reader or an operator sees.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.cli import main
from app.commands import files
from app.commands.check import check
from app.content.library import Library
from app.content.model import Comparison
from app.content.parse import parse_text
from app.content.sources import ContentFolderMissing
from app.main import create_app
from app.render.markup import markdown_to_html
from app.settings import Settings
from app.surfaces.cards import draw_card
from app.surfaces.feeds import atom_feed
from tests.conftest import GOOD, ROOT, comparison_text

NOTICE = "This part could not be shown"
BROKEN = ROOT / "tests" / "fixtures" / "broken"


def _good() -> Comparison:
    comparison, problems = parse_text(GOOD, path="vim-vs-emacs.md", slug="vim-vs-emacs")
    assert comparison is not None, problems
    return comparison


# --- Markdown: bounded at render time too ---------------------------------------------------

# (id, source, shown as a notice): the parser refuses all of the first four, yet if one
# reaches the renderer (an older parse cache, a caller building its own text) it must render
# in bounded time or become a notice, never raise.
RENDER_CASES = [
    ("300-level-list", "\n".join("\t" * i + "- level" for i in range(300)), True),
    ("300-markers-on-one-line", "- " * 300 + "x", True),
    ("over-32000-characters", "word " * 7000, True),
    ("20000-open-brackets", "[" * 20000, False),
    ("escaped-close-brackets", "[\\]" * 10000, False),
    ("open-parentheses-after-links", "[](" * 10000, False),
    ("7500-setext-headings", "a\n=\n" * 7500, True),
    ("5000-rules", "* * *\n" * 5000, True),
    ("100-rules-still-render", "word\n\n* * *\n\n" * 100, False),
    ("20-levels-still-render", "\n".join("    " * i + "- level" for i in range(20)), False),
]


@pytest.mark.parametrize(
    ("source", "notice"), [c[1:] for c in RENDER_CASES], ids=[c[0] for c in RENDER_CASES]
)
def test_markdown_renders_in_bounded_time_or_as_a_notice(source: str, notice: bool) -> None:
    started = time.process_time()
    html = str(markdown_to_html(source))
    # Before: RecursionError, or 81 s of CPU for "[" * 20000; now ~0.1 s (bench/RESULTS.md).
    assert time.process_time() - started < 5
    assert (NOTICE in html) is notice
    if not notice:
        assert html.startswith(("<p>", "<ul>"))


def test_a_failed_rendering_does_not_spoil_the_next_one_on_the_thread() -> None:
    markdown_to_html("\n".join("\t" * i + "- level" for i in range(300)))
    assert (
        str(markdown_to_html("- one\n- *two*"))
        == "<ul>\n<li>one</li>\n<li><em>two</em></li>\n</ul>"
    )


def test_the_feed_and_the_api_survive_a_part_that_cannot_render() -> None:
    broken = dataclasses.replace(
        _good(), bottom_line="\n".join("\t" * i + "- x" for i in range(300))
    )
    feed = atom_feed([broken, _good()], site_url="https://nicepick.test", site_name="Nice Pick")
    assert feed.count(b"<entry>") == 2
    assert NOTICE.encode() in feed


def test_real_links_still_render_when_a_part_is_full_of_them() -> None:
    source = "See [the docs](https://example.org/a) for details. " * 600
    assert str(markdown_to_html(source)).count('<a href="https://example.org/a"') == 600


# --- names: control characters --------------------------------------------------------------

NAME_CASES = [
    ("title-form-feed", {"title": '"Vim\\fvs Emacs"'}, '2:8: error: "title" contains a control character (U+000C)'),
    ("title-record-separator", {"title": '"Vim\\x1evs Emacs"'}, '2:8: error: "title" contains a control character (U+001E)'),
    ("title-line-separator", {"title": '"Vim\\Lvs Emacs"'}, '2:8: error: "title" contains a control character (U+2028)'),
    ("title-next-line", {"title": '"Vim\\Nvs Emacs"'}, '2:8: error: "title" contains a control character (U+0085)'),
    ("option-group-separator", {"options": '[Vim, "Em\\x1dacs"]'}, '5:16: error: "options" contains a control character (U+001D)'),
    ("pick-vertical-tab", {"pick": '"V\\vim"'}, '6:7: error: "pick" contains a control character (U+000B)'),
    ("category-escape", {"category": '"Dev\\eTools"'}, '3:11: error: "category" contains a control character (U+001B)'),
    ("tag-nul", {"tags": '[editors, "a\\0b"]'}, '7:17: error: "tags" contains a control character (U+0000)'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "expected"), [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES]
)
def test_names_with_control_characters_are_refused_at_their_position(
    fields: dict[str, str], expected: str
) -> None:
    comparison, problems = parse_text(comparison_text(**fields), path="f.md", slug="vim-vs-emacs")
    assert comparison is None
    errors = [str(p) for p in problems if p.severity == "error"]
    assert errors[0] == f"f.md:{expected}: names and titles must be one line of printable text"


# (id, field, value): integers past Python's 4,300-digit conversion limit, in every base YAML
# reads; each crashed check, serve and build with a bare ValueError.
HUGE_NUMBER_CASES = [
    ("decimal-title", "title", "1" + "0" * 5000, "2:8", 5001),
    ("decimal-in-tags", "tags", "[" + "9" * 5000 + "]", "7:8", 5000),
    ("hexadecimal", "title", "0x" + "f" * 5000, "2:8", 5002),
    ("binary", "title", "0b" + "1" * 20000, "2:8", 20002),
    ("sexagesimal", "title", "1" + ":0" * 2999, "2:8", 5999),
]


@pytest.mark.parametrize(
    ("field", "value", "where", "length"),
    [c[1:] for c in HUGE_NUMBER_CASES],
    ids=[c[0] for c in HUGE_NUMBER_CASES],
)
def test_a_huge_number_in_front_matter_is_refused_at_its_position(
    field: str, value: str, where: str, length: int
) -> None:
    _, problems = parse_text(comparison_text(**{field: value}), path="f.md", slug="vim-vs-emacs")
    assert [str(p) for p in problems] == [
        f"f.md:{where}: error: YAML syntax: a number of {length:,} characters; at most 100 "
        "(put text in quotes)"
    ]


def test_a_library_with_a_huge_number_still_loads_its_other_files(tmp_path: Path) -> None:
    (tmp_path / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    huge = comparison_text(title="1" + "0" * 5000).replace("Vim vs Emacs", "x")
    (tmp_path / "huge.md").write_text(huge, encoding="utf-8")
    library = Library.load(tmp_path)
    assert list(library.comparisons) == ["vim-vs-emacs"]


def test_a_billion_laughs_front_matter_is_refused_quickly_with_a_short_message() -> None:
    laughs = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        laughs.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 9) + "]")
    text = "---\n" + "\n".join(laughs) + "\npublished: *i\n---\n"
    started = time.process_time()
    _, problems = parse_text(text, path="f.md", slug="f")
    assert time.process_time() - started < 1
    assert [str(p) for p in problems] == [
        "f.md:2:4: error: YAML anchors and aliases (&name, *name) are not allowed: write each value out"
    ]


# --- social cards -----------------------------------------------------------------------------

CARD_CASES = [
    ("three-4000-character-words", {"title": " ".join(["w" * 4000] * 3)}),
    ("one-100000-character-word", {"title": "W" * 100_000}),
    ("100000-character-category", {"category": "C" * 100_000}),
    ("100000-character-pick", {"pick": "P" * 100_000}),
    ("many-long-words", {"title": "Supercalifragilistic " * 5000}),
]


@pytest.mark.parametrize("fields", [c[1] for c in CARD_CASES], ids=[c[0] for c in CARD_CASES])
def test_a_card_always_renders_in_bounded_time(fields: dict[str, str]) -> None:
    comparison = dataclasses.replace(_good(), **fields)  # type: ignore[arg-type]
    draw_card(_good(), site_name="Nice Pick")  # fonts loaded outside the timing
    started = time.process_time()
    body = draw_card(comparison, site_name="Nice Pick")
    # Before: 0.53 s for three 4,000-character words, DecompressionBombError for 100,000.
    assert time.process_time() - started < 0.4
    with Image.open(io.BytesIO(body)) as image:
        assert image.size == (1200, 630)


# --- the content folder: pipes, links, a missing folder --------------------------------------


def _check_in_thread(folder: Path) -> list[str]:
    """``check`` in a thread: a hang fails the test instead of hanging the suite."""
    found: list[str] = []
    worker = threading.Thread(
        target=lambda: found.extend(str(p) for p in check(folder).problems), daemon=True
    )
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "check hung"
    return found


def test_a_named_pipe_and_links_are_reported_not_read(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "vim-vs-emacs.md").write_text(GOOD)
    os.mkfifo(content / "x.md")
    secret = tmp_path / "var" / "secret_key"
    secret.parent.mkdir()
    secret.write_text("s3cr3t-value\n")
    (content / "leak.md").symlink_to(secret)
    (content / "inside.md").symlink_to(content / "vim-vs-emacs.md")
    shown = os.path.relpath(content)  # check names files relative to the working folder
    assert _check_in_thread(content) == [
        f"{shown}/inside.md:1:1: error: a symbolic link: not read (a content file must be a regular file in the folder)",
        f"{shown}/leak.md:1:1: error: a symbolic link: not read (a content file must be a regular file in the folder)",
        f"{shown}/x.md:1:1: error: not a regular file (a named pipe, socket or device): not read",
    ]  # fmt: skip


def test_an_oversized_file_is_reported_not_read(tmp_path: Path) -> None:
    text = GOOD + "\n" + "x" * 140_000
    (tmp_path / "big.md").write_text(text)
    assert [str(p) for p in check(tmp_path).problems] == [
        f"{os.path.normpath(os.path.join(os.path.relpath(tmp_path), 'big.md'))}:1:1: error: file is {len(text):,} bytes; "
        "the limit is 131,072 bytes (128 KiB)"
    ]


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_a_file_longer_than_its_stat_says_is_read_to_its_end() -> None:
    # The reader asks for the size ``fstat`` gave and one byte more, then reads on to the
    # end; a /proc file says it is empty and holds a page of text.
    from app.content.reading import read_content

    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    data = read_content(status)
    assert data.startswith(b"Name:") and data.endswith(b"\n") and len(data) > 100


def test_the_preview_error_page_never_shows_a_linked_file(settings: Settings) -> None:
    secret = settings.data_dir / "secret_key"
    secret.parent.mkdir(parents=True)
    secret.write_text("---\ns3cr3t-value: x\n")
    (settings.content_dir / "vim-vs-emacs.md").symlink_to(secret)
    preview = settings.model_copy(update={"reload": True})
    with TestClient(create_app(preview), follow_redirects=False) as client:
        response = client.get("/compare/vim-vs-emacs")
    assert "a symbolic link: not read" in response.text
    assert "s3cr3t" not in response.text


def test_serving_a_missing_content_folder_refuses_to_start(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = settings.content_dir.parent / "contnet"
    with pytest.raises(ContentFolderMissing, match="content folder .*contnet does not exist"):
        with TestClient(create_app(settings.model_copy(update={"content_dir": missing}))):
            pass
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(settings.data_dir))
    assert main(["serve", "--content", str(missing)]) == 1
    assert main(["build", str(settings.data_dir / "out"), "--content", str(missing)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-2:] == [
        f"nicepick serve: content folder {missing} does not exist (set NICEPICK_CONTENT_DIR or pass --content)",
        f"nicepick build: content folder {missing} does not exist (set NICEPICK_CONTENT_DIR or pass --content)",
    ]  # fmt: skip


def test_build_refuses_an_out_that_is_a_file_or_inside_the_content_folder(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(settings.data_dir))
    content = str(settings.content_dir)
    a_file = settings.content_dir.parent / "site.zip"
    a_file.write_bytes(b"PK")
    before = sorted(settings.content_dir.rglob("*"))
    assert main(["build", str(a_file), "--content", content]) == 1
    assert main(["build", str(settings.content_dir / "site"), "--content", content]) == 1
    assert main(["build", content, "--content", content]) == 1
    err = capsys.readouterr().err.splitlines()
    inside = "name a folder outside it (a build replaces everything in OUT)"
    assert err == [
        f"nicepick build: OUT {a_file} is a file, not a folder: name a folder for the site",
        f"nicepick build: OUT {content}/site is inside the content folder {content}: {inside}",
        f"nicepick build: OUT {content} is the content folder: {inside}",
    ]
    assert a_file.read_bytes() == b"PK"
    assert sorted(settings.content_dir.rglob("*")) == before


def test_build_never_empties_a_folder_it_did_not_make(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An outside review: `nicepick build var` deleted the notes database with the rest of
    # the data folder, and `nicepick build .` the whole project.
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(settings.data_dir))
    content = ["--content", str(settings.content_dir)]
    notes = settings.data_dir / "nicepick.sqlite3"
    notes.parent.mkdir(parents=True, exist_ok=True)
    notes.write_bytes(b"SQLite format 3\x00 readers' notes")
    mine = settings.data_dir.parent / "mine"
    (mine / "compare").mkdir(parents=True)
    (mine / "compare" / "mine.html").write_text("kept")
    project = settings.content_dir.parent
    assert main(["build", str(settings.data_dir), *content]) == 1
    assert main(["build", str(mine), *content]) == 1
    assert main(["build", str(project), *content]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"nicepick build: OUT {settings.data_dir} is the data folder: ")
    assert err[1] == (
        f"nicepick build: OUT {mine} holds files that no build wrote (compare, ...): name a new "
        "or empty folder (a build replaces everything in OUT), or empty it first"
    )
    assert err[2].startswith(f"nicepick build: OUT {project} holds the content folder")
    assert notes.read_bytes() == b"SQLite format 3\x00 readers' notes"
    assert (mine / "compare" / "mine.html").read_text() == "kept"

    # An empty folder takes a build, and a folder a build made takes the next one, full too.
    site = project / "site"
    site.mkdir()
    assert main(["build", str(site), "--no-cards", *content]) == 0
    assert main(["build", str(site), "--no-cards", "--full", *content]) == 0
    assert (site / "index.html").is_file() and (site / ".nicepick-build.marshal").is_file()


def test_build_refuses_links_and_paths_under_files_as_out(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second review: through a link a full build would empty the folder it names; a loop
    # of links, a dangling link and a path under a file each gave a traceback.
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(settings.data_dir))
    content = ["--content", str(settings.content_dir)]
    root = settings.content_dir.parent
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    (root / "linked").symlink_to(elsewhere)
    (root / "loop").symlink_to(root / "loop")
    (root / "notes.txt").write_text("a file")
    assert main(["build", str(root / "linked"), *content]) == 1
    assert main(["build", str(root / "loop"), *content]) == 1
    assert main(["build", str(root / "notes.txt" / "site"), *content]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"nicepick build: OUT {root / 'linked'} is a symbolic link: name the folder itself",
        f"nicepick build: OUT {root / 'loop'} is a symbolic link: name the folder itself",
        f"nicepick build: OUT {root / 'notes.txt' / 'site'} is under {root / 'notes.txt'}, "
        "a file: name a folder for the site",
    ]
    assert list(elsewhere.iterdir()) == []


def test_a_full_build_keeps_files_no_build_wrote_in_a_builds_folder(
    settings: Settings, write_content: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second review: a GitHub Pages checkout's .git and CNAME went with every full build
    # (--full, or after an upgrade): it emptied the whole folder.
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(settings.data_dir))
    write_content("vim-vs-emacs.md", GOOD)
    site = settings.content_dir.parent / "site"
    argv = ["build", str(site), "--no-cards", "--content", str(settings.content_dir)]
    assert main(argv) == 0
    (site / "CNAME").write_text("nicepick.example\n")
    (site / ".git").mkdir()
    (site / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages\n")
    built = sorted(p.relative_to(site) for p in site.rglob("*"))
    assert main([*argv, "--full"]) == 0
    assert (site / "CNAME").read_text() == "nicepick.example\n"
    assert (site / ".git" / "HEAD").read_text() == "ref: refs/heads/gh-pages\n"
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == built
    assert (site / "compare" / "vim-vs-emacs" / "index.html").is_file()


def test_a_build_never_writes_or_deletes_through_a_link_in_out(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # An outside review: OUT/docs made a link to a folder of the user's, `build --full`
    # deleted its index.html through the link and wrote the API docs there.
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(settings.data_dir))
    write_content("vim-vs-emacs.md", GOOD)
    (settings.content_dir / "pages").mkdir()
    (settings.content_dir / "pages" / "about.md").write_text(
        "---\ntitle: About\nsummary: Who we are.\n---\nWho we are.\n", encoding="utf-8"
    )
    site = settings.content_dir.parent / "site"
    argv = ["build", str(site), "--no-cards", "--content", str(settings.content_dir)]
    assert main(argv) == 0
    elsewhere = settings.content_dir.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "index.html").write_text("the user's own page")
    shutil.rmtree(site / "docs")
    (site / "docs").symlink_to(elsewhere)
    capsys.readouterr()
    assert main([*argv, "--full"]) == 1
    assert capsys.readouterr().err == (
        f"nicepick build: OUT {site} holds a symbolic link where a build writes (docs): "
        "remove it (a build would write and delete files where it points)\n"
    )
    # A plain page's folder, named by its editor: a full build removes the link itself.
    (site / "docs").unlink()
    shutil.rmtree(site / "about")
    (site / "about").symlink_to(elsewhere)
    # A second review: a link deeper down (a page's folder) was followed all the same; and a
    # file where the last build had a folder stopped the build.
    page = site / "compare" / "vim-vs-emacs"
    shutil.rmtree(page)
    page.symlink_to(elsewhere)
    (site / "option").rename(site / "options-kept-aside")
    (site / "option").write_text("a file where a folder was")
    assert main([*argv, "--full"]) == 0
    assert sorted(p.name for p in elsewhere.iterdir()) == ["index.html"]
    assert (elsewhere / "index.html").read_text() == "the user's own page"
    assert not (site / "about").is_symlink() and not page.is_symlink()
    assert "Who we are." in (site / "about" / "index.html").read_text()
    assert "Vim" in (page / "index.html").read_text()
    assert (site / "option").is_dir()


@pytest.mark.parametrize("edit", ["body", "title"])
def test_an_incremental_build_replaces_a_link_made_in_out_instead_of_writing_through_it(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    monkeypatch: pytest.MonkeyPatch,
    edit: str,
) -> None:
    # A link made inside a build's folder since the last build: the quick build (a body
    # edit) and the incremental one (a title edit) wrote the page through it, outside OUT.
    monkeypatch.setenv("NICEPICK_DATA_DIR", str(settings.data_dir))
    source = write_content("vim-vs-emacs.md", GOOD)
    site = settings.content_dir.parent / "site"
    argv = ["build", str(site), "--no-cards", "--content", str(settings.content_dir)]
    assert main(argv) == 0
    elsewhere = settings.content_dir.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "index.html").write_text("the user's own page")
    page = site / "compare" / "vim-vs-emacs"
    shutil.rmtree(page)
    page.symlink_to(elsewhere)
    if edit == "body":
        source.write_text(GOOD.replace("## Bottom line\n", "## Bottom line\nEdited. ", 1))
    else:
        source.write_text(GOOD.replace("title: Vim vs Emacs", "title: Vim vs Emacs, edited", 1))
    assert main(argv) == 0
    assert (elsewhere / "index.html").read_text() == "the user's own page"
    assert not page.is_symlink() and "edited" in (page / "index.html").read_text().lower()


def test_a_folder_a_build_needs_is_made_in_place_of_whatever_stands_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One mkdir for a new folder; else a folder stays, a link is replaced (never followed),
    # a file is refused for the caller to clear. Two render processes may meet one link:
    # the one that comes second finds it gone (an outside review), or finds the other's folder.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = tmp_path / "made"
    made.mkdir()
    files.folder_in_place_of_a_link(str(made))
    assert made.is_dir() and not made.is_symlink()
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    files.folder_in_place_of_a_link(str(link))
    assert link.is_dir() and not link.is_symlink() and elsewhere.is_dir()
    gone = tmp_path / "gone"  # the other process unlinked it between our mkdir and lstat
    files.folder_in_place_of_a_link(str(gone))
    assert gone.is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        files.folder_in_place_of_a_link(str(tmp_path / "file"))
    # The other process made the folder between our unlink and our mkdir.
    raced = tmp_path / "raced"
    raced.symlink_to(elsewhere)
    real_unlink = os.unlink

    def unlink_then_the_other_mkdir(path: str) -> None:
        real_unlink(path)
        os.mkdir(path)

    monkeypatch.setattr(os, "unlink", unlink_then_the_other_mkdir)
    files.folder_in_place_of_a_link(str(raced))
    assert raced.is_dir() and not raced.is_symlink()


def test_a_newcomer_in_another_order_does_not_take_the_established_address(
    settings: Settings,
) -> None:
    folder = BROKEN / "reversed-pair-newcomer"
    with TestClient(
        create_app(settings.model_copy(update={"content_dir": folder})), follow_redirects=False
    ) as client:
        assert client.get("/compare/vim-vs-emacs").status_code == 200
        response = client.get("/compare/emacs-vs-vim")
    assert response.status_code == 301
    assert response.headers["location"].endswith("/compare/vim-vs-emacs")
    library = Library.scan(folder)
    assert sorted(library.comparisons) == ["vim-vs-emacs"]


# --- a full disk under the caches -------------------------------------------------------------

# Each script runs in its own process with a file-size limit of zero bytes (RLIMIT_FSIZE):
# every write fails with EFBIG as on a full disk, after the temporary file was created.
FULL_DISK_SCRIPT = """
import resource, signal, sys
from pathlib import Path
data = Path(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
{setup}
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
{action}
"""
FULL_DISK_CASES = [
    (
        "social-card",
        "from app.surfaces.cards import CardCache\nfrom app.content.parse import parse_text\n"
        "from tests.conftest import GOOD\n"
        "c, _ = parse_text(GOOD, path='f.md', slug='vim-vs-emacs')\n"
        "cards = CardCache(data / 'og', site_name='Nice Pick')\n(data / 'og').mkdir()",
        "body = cards.card(c)\nassert body.startswith(b'\\x89PNG'), body[:8]",
    ),
    (
        "parse-cache",
        "from app.content.cache import ParseCache\nfrom app.content.library import Library\n"
        "(data / 'content').mkdir()\n"
        "from tests.conftest import GOOD\n(data / 'content' / 'a-vs-b.md').write_text(GOOD)",
        "lib = Library.scan(data / 'content', ParseCache(data / 'parse-cache.marshal'))\n"
        "assert list(lib.comparisons) == ['a-vs-b']",
    ),
    (
        "template-cache",
        "from app.render.jinja import build_environment\nfrom tests.conftest import ROOT\n"
        "env = build_environment(ROOT / 'templates', auto_reload=False, "
        "bytecode_dir=data / 'template-cache')",
        "env.get_template('404.html')",
    ),
    (
        "secret-key",
        "from app.feedback.tokens import load_secret",
        "try:\n    load_secret(None, data)\nexcept OSError:\n    pass\n"
        "else:\n    raise AssertionError('a key was written on a full disk')",
    ),
]


@pytest.mark.parametrize(
    ("setup", "action"), [c[1:] for c in FULL_DISK_CASES], ids=[c[0] for c in FULL_DISK_CASES]
)
def test_a_full_disk_leaves_no_temporary_files_and_no_error(
    tmp_path: Path, setup: str, action: str
) -> None:
    script = FULL_DISK_SCRIPT.format(setup=setup, action=action)
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    left = [p for p in tmp_path.rglob("*") if p.is_file() and p.stat().st_size == 0]
    assert left == []
    assert [p for p in tmp_path.rglob("*.tmp")] == []


def test_a_card_that_cannot_be_kept_is_still_served(
    settings: Settings, write_content: Callable[[str, str], Path]
) -> None:
    write_content("vim-vs-emacs.md", GOOD)
    settings.data_dir.mkdir()
    (settings.data_dir / "og").write_text("")  # a file where the folder goes: every write fails
    with TestClient(create_app(settings)) as client:
        response = client.get("/og/vim-vs-emacs.png")
    assert response.status_code == 200
    assert response.content.startswith(b"\x89PNG")
