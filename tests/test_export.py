"""``nicepick build``: the exported files, their compressed siblings, and server parity."""

from __future__ import annotations

import gzip
import json
import marshal
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

import app.commands.quick as quick_module
from app.cli import main
from app.commands.export import (
    ContentErrors,
    ExportSummary,
    Files,
    build_warnings,
    export_site,
    output_path,
)
from app.commands.files import output_name
from app.commands.manifest import Manifest, digest
from app.commands.quick import quick_build
from app.content.model import slugify
from app.feedback.service import Feedback
from app.feedback.tokens import EXPORT_VALID_SECONDS
from app.main import create_app
from app.settings import Settings
from app.surfaces.service import Surfaces
from bench.generate import comparison_markdown
from tests.conftest import GOOD, ROOT, add_notes, comparison_text
from tests.nginx_export import nginx_export
from tests.soup import attr, one

NANO = (
    comparison_text(title="Nano vs Micro", category="Text Editors", tags="[editors, beginner]")
    .replace("Vim", "Nano")
    .replace("Emacs", "Micro")
)
# Never in an export: a draft and a page published in the future, each with a word of its own.
DRAFT = (
    comparison_text(title="Ed vs Sam", published="2026-01-15\ndraft: true")
    .replace("Vim", "Ed")
    .replace("Emacs", "Sam")
    .replace("older than most", "Zorblaxdraft older than most")
)
FUTURE = (
    comparison_text(title="Joe vs Jed", published="2099-01-01")
    .replace("Vim", "Joe")
    .replace("Emacs", "Jed")
    .replace("older than most", "Quuxfuture older than most")
)
ALIASED = GOOD.replace("published:", "aliases: [emacs-or-vim]\npublished:")
BROKEN = (ROOT / "tests/fixtures/broken/missing-field/vim-vs-emacs.md").read_text()
SECRET = "export-test-secret-0123456789abcdef"


def write_site(write: Callable[[str, str], Path]) -> None:
    """Aliases, a broken file, a draft and a future page beside two good comparisons."""
    write("vim-vs-emacs.md", ALIASED)
    write("nano-vs-micro.md", NANO)
    write("ed-vs-sam.md", DRAFT)
    write("joe-vs-jed.md", FUTURE)
    write("broken/broken-page.md", BROKEN)


@pytest.fixture
def exported(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> tuple[Settings, Path, ExportSummary]:
    write_site(write_content)
    settings = settings.model_copy(
        update={"feedback_endpoint": "https://notes.nicepick.test", "secret_key": SECRET}
    )
    out = tmp_path / "site"
    # Precompressed, as for nginx (docs/nginx-export.conf serves the .gz siblings).
    summary = export_site(settings, out, allow_errors=True, precompress=True)
    return settings, out, summary


def test_output_paths() -> None:
    out = Path("/o")
    assert output_path(out, "/") == Path("/o/index.html")
    assert output_path(out, "/compare/a-vs-b") == Path("/o/compare/a-vs-b/index.html")
    assert output_path(out, "/tag/x?page=2") == Path("/o/tag/x/page-2/index.html")
    assert output_path(out, "/?page=3") == Path("/o/page-3/index.html")
    assert output_path(out, "/sitemap.xml") == Path("/o/sitemap.xml")
    assert output_path(out, "/tag/x.json?page=2") == Path("/o/tag/x/page-2.json")
    assert output_path(out, "/tag/x.json?page=1") == Path("/o/tag/x.json")
    assert output_name("/.json?page=2") == "page-2.json"  # the home page's twin, page 2
    assert output_path(out, "/static/site.0123456789.css") == Path("/o/static/site.0123456789.css")


def test_removing_a_file_of_the_last_build_never_reaches_outside_out(tmp_path: Path) -> None:
    # Names come from the manifest, a file in OUT: one with a leading slash (older builds
    # named the home page's later JSON twins "/page-2.json") or climbing out of OUT must
    # not delete anything but OUT's own file.
    out = tmp_path / "site"
    out.mkdir()
    outside = tmp_path / "page-2.json"
    outside.write_text("not the build's")
    (out / "page-2.json").write_text("the build's")
    (out / "page-2.json.gz").write_bytes(b"gz")
    files = Files(out, {"/page-2.json": "digest"})
    files.remove("/page-2.json")
    files.remove("../page-2.json")
    files.remove(f"/{outside}")
    assert outside.read_text() == "not the build's"
    assert sorted(path.name for path in out.iterdir()) == []


def test_build_writes_every_kind_of_file(exported: tuple[Settings, Path, ExportSummary]) -> None:
    _, out, summary = exported
    for name in (
        "index.html",
        "compare/vim-vs-emacs/index.html",
        "compare/nano-vs-micro/index.html",
        "category/dev-tools/index.html",
        "category/text-editors/index.html",
        "tag/editors/index.html",
        "sitemap.xml",
        "feed.xml",
        "robots.txt",
        "404.html",
    ):
        assert (out / name).is_file(), name
    stylesheets = list((out / "static").glob("site.*.css"))
    assert len(stylesheets) == 1 and len(stylesheets[0].name.split(".")[1]) == 10
    assert summary.pages >= 6 and summary.files >= 10
    page = BeautifulSoup((out / "404.html").read_bytes(), "html.parser")
    assert page.h1 is not None


def test_compressed_siblings_decompress_to_the_file(
    exported: tuple[Settings, Path, ExportSummary],
) -> None:
    _, out, _ = exported
    for name in ("compare/vim-vs-emacs/index.html", "sitemap.xml"):
        original = (out / name).read_bytes()
        assert gzip.decompress((out / f"{name}.gz").read_bytes()) == original
        assert brotli.decompress((out / f"{name}.br").read_bytes()) == original


def test_a_build_writes_compressed_siblings_only_when_asked_and_never_leaves_stale_ones(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # A static host compresses by itself: by default one file per URL. Switching the choice
    # is another build (its fingerprint), so no sibling of the other choice stays behind.
    write_site(write_content)
    out = tmp_path / "site"

    def siblings() -> list[str]:
        return sorted(p.name for p in out.rglob("*") if p.suffix in (".gz", ".br"))

    plain = export_site(settings, out, allow_errors=True)
    assert siblings() == [] and plain.gzip_bytes == plain.brotli_bytes == 0
    assert "gzip" not in str(plain)
    assert (out / "compare/vim-vs-emacs/index.html").is_file()
    packed = export_site(settings, out, allow_errors=True, precompress=True)
    assert not packed.incremental
    page = out / "compare/vim-vs-emacs/index.html"
    assert gzip.decompress(page.with_name("index.html.gz").read_bytes()) == page.read_bytes()
    assert "index.html.br" in siblings()
    again = export_site(settings, out, allow_errors=True)
    assert not again.incremental and siblings() == []


def test_exported_page_is_the_servers_bytes(
    exported: tuple[Settings, Path, ExportSummary],
) -> None:
    settings, out, _ = exported
    with TestClient(create_app(settings), base_url=settings.site_url) as client:
        for url, name in (
            ("/compare/vim-vs-emacs", "compare/vim-vs-emacs/index.html"),
            ("/", "index.html"),
            ("/tag/editors", "tag/editors/index.html"),
        ):
            served = client.get(url, headers={"accept-encoding": "identity"})
            assert without_token(served.content) == without_token((out / name).read_bytes()), url


def without_token(html: bytes) -> bytes:
    """The feedback form's signed token carries its issue time (and the page's nonce is made
    from it); everything else must match."""
    html = re.sub(rb'name="token" value="[^"]*"', b'name="token" value=""', html)
    return re.sub(rb'name="nonce" value="[^"]*"', b'name="nonce" value=""', html)


def test_exported_form_posts_to_the_feedback_endpoint(
    exported: tuple[Settings, Path, ExportSummary],
) -> None:
    _, out, _ = exported
    page = BeautifulSoup((out / "compare/vim-vs-emacs/index.html").read_bytes(), "html.parser")
    form = page.select_one("form.feedback-form")
    assert form is not None
    assert form["action"] == "https://notes.nicepick.test/compare/vim-vs-emacs/feedback#feedback"


def test_build_command_prints_a_summary(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_content("vim-vs-emacs.md", GOOD)
    for name in ("content_dir", "data_dir", "templates_dir", "static_dir"):
        monkeypatch.setenv(f"NICEPICK_{name.upper()}", str(getattr(settings, name)))
    out = tmp_path / "built"
    assert main(["build", str(out), "--base-url", "https://static.nicepick.test"]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}:" in captured.out and "pages/s" in captured.out
    # Not a terminal: no progress bar, only the warning that forms cannot be sent.
    assert "building" not in captured.err
    assert "WARNING: NICEPICK_FEEDBACK_ENDPOINT is not set" in captured.err
    sitemap = (out / "sitemap.xml").read_text()
    assert "https://static.nicepick.test/compare/vim-vs-emacs" in sitemap


# --- what never leaks, and a build that refuses errors ----------------------------------------


def test_drafts_future_pages_and_broken_files_leave_no_trace(
    exported: tuple[Settings, Path, ExportSummary],
) -> None:
    _, out, summary = exported
    assert (out / "compare/nano-vs-micro/index.html").is_file()
    for path in out.rglob("*"):
        if path.is_file() and path.suffix not in (".gz", ".br", ".png"):
            data = path.read_bytes()
            for secret in (b"Zorblaxdraft", b"Quuxfuture", b"ed-vs-sam", b"joe-vs-jed", b"broken"):
                assert secret not in data, (path, secret)
    assert not (out / "compare/ed-vs-sam").exists() and not (out / "compare/joe-vs-jed").exists()
    assert summary.left_out == 1
    assert "1 content files left out because of errors" in str(summary)


def test_a_build_with_content_errors_writes_nothing_and_names_each_problem(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_site(write_content)
    write_content("other-broken.md", BROKEN.replace("pick: Vim", "pick: Nobody"))
    out = tmp_path / "site"
    with pytest.raises(ContentErrors) as refused:
        export_site(settings, out)
    assert not out.exists()
    paths = sorted({problem.path for problem in refused.value.problems})
    assert [Path(path).name for path in paths] == ["broken-page.md", "other-broken.md"]
    for name in ("content_dir", "data_dir", "templates_dir", "static_dir"):
        monkeypatch.setenv(f"NICEPICK_{name.upper()}", str(getattr(settings, name)))
    assert main(["build", str(out)]) == 1
    err = capsys.readouterr().err
    for problem in refused.value.problems:
        assert str(problem) in err
    assert re.search(r"broken-page\.md:\d+:\d+: error: ", err)
    assert not out.exists()
    assert main(["build", str(out), "--allow-errors"]) == 0
    assert "2 content files left out because of errors" in capsys.readouterr().out


# --- redirects in three forms -------------------------------------------------------------------

OLD = {
    "/compare/emacs-or-vim": "/compare/vim-vs-emacs",  # an alias
    "/compare/emacs-vs-vim": "/compare/vim-vs-emacs",  # the options the other way round
    "/compare/micro-vs-nano": "/compare/nano-vs-micro",
}


def test_redirects_are_written_for_netlify_nginx_and_any_host(
    exported: tuple[Settings, Path, ExportSummary],
) -> None:
    settings, out, summary = exported
    lines = (out / "_redirects").read_text().splitlines()
    assert sorted(lines) == sorted(f"{old} {new} 301" for old, new in OLD.items())
    assert sorted(summary.redirects) == sorted(OLD.items())
    nginx_map = (out / "nginx-redirects.map").read_text()
    assert nginx_map.startswith("#") and "map $uri $nicepick_redirect {" in nginx_map
    for old, new in OLD.items():
        assert f'    "{old}" "{new}";' in nginx_map
        page = BeautifulSoup((out / old.lstrip("/") / "index.html").read_bytes(), "html.parser")
        assert attr(page, 'meta[http-equiv="refresh"]', "content") == f"0; url={new}"
        assert attr(page, 'link[rel="canonical"]', "href") == settings.site_url + new
        assert attr(page, 'meta[name="robots"]', "content") == "noindex"
        assert attr(page, "a", "href") == new
    # The redirect pages are not content: the sitemap lists only the pages themselves.
    assert "emacs-or-vim" not in (out / "sitemap.xml").read_text()


@pytest.mark.slow
def test_nginx_serves_the_export_with_its_redirect_map(
    exported: tuple[Settings, Path, ExportSummary],
) -> None:
    _, out, _ = exported
    # A listing's second page of JSON, as a long listing has it (output_path's layout).
    (out / "tag/editors/page-2.json").write_bytes(b'{"page": 2}')
    with nginx_export(out) as url:
        for old, new in OLD.items():
            moved = httpx.get(url + old)
            assert moved.status_code == 301, old
            assert moved.headers["location"].endswith(new)
        page = httpx.get(url + "/compare/vim-vs-emacs", headers={"accept-encoding": "gzip"})
        assert page.status_code == 200
        assert page.content == (out / "compare/vim-vs-emacs/index.html").read_bytes()
        assert page.headers["content-encoding"] == "gzip"  # the .gz sibling, via gzip_static
        assert httpx.get(url + "/_redirects").status_code == 404
        assert (out / ".nicepick-build.marshal").is_file()  # for the next build, not for readers
        assert httpx.get(url + "/.nicepick-build.marshal").status_code == 404
        twin = httpx.get(url + "/tag/editors.json")
        assert twin.json() == json.loads((out / "tag/editors.json").read_bytes())
        assert httpx.get(url + "/tag/editors.json?page=2").json() == {"page": 2}
        assert httpx.get(url + "/nope").status_code == 404


# --- forms that work as long as the page is online --------------------------------------------

DAY = 24 * 3600


def export_built(settings: Settings, out: Path, *, days_ago: float) -> Path:
    """Export as if built ``days_ago`` days ago (the build's clock, injected)."""
    export_site(settings, out, built_at=time.time() - days_ago * DAY, allow_errors=True)
    return out / "compare/vim-vs-emacs/index.html"


def form_fields(page: Path) -> dict[str, str]:
    html = BeautifulSoup(page.read_bytes(), "html.parser")
    return {
        "option": "Emacs",
        "message": "Org mode alone makes Emacs the better pick.",
        "token": attr(html, 'form.feedback-form input[name="token"]', "value"),
        "nonce": attr(html, 'form.feedback-form input[name="nonce"]', "value"),
        "website": "",
    }


@pytest.fixture
def endpoint_settings(settings: Settings, write_content: Callable[[str, str], Path]) -> Settings:
    """The feedback endpoint: the same site URL and key as the build, its own host name."""
    write_site(write_content)
    return settings.model_copy(
        update={"feedback_endpoint": "https://notes.nicepick.test", "secret_key": SECRET}
    )


def post_note(
    settings: Settings, fields: dict[str, str], *, origin: str | None
) -> tuple[int, str, int]:
    """(status, body, notes stored) for ``fields`` posted to a running endpoint."""
    headers = {"host": "notes.nicepick.test"}
    if origin is not None:  # as a browser posts a form from the exported page
        headers.update({"origin": origin, "sec-fetch-site": "cross-site"})
    with TestClient(create_app(settings), follow_redirects=False) as client:
        answer = client.post("/compare/vim-vs-emacs/feedback", data=fields, headers=headers)
        feedback: Feedback = client.app.state.feedback  # type: ignore[attr-defined]
        return answer.status_code, answer.text, len(feedback.store.notes())


def test_a_form_exported_months_ago_is_accepted_from_the_sites_origin(
    endpoint_settings: Settings, tmp_path: Path
) -> None:
    page = export_built(endpoint_settings, tmp_path / "site", days_ago=200)
    status, _, stored = post_note(
        endpoint_settings, form_fields(page), origin="https://nicepick.test"
    )
    assert (status, stored) == (303, 1)


def test_an_exported_form_is_refused_from_any_other_origin(
    endpoint_settings: Settings, tmp_path: Path
) -> None:
    page = export_built(endpoint_settings, tmp_path / "site", days_ago=2)
    status, body, stored = post_note(
        endpoint_settings, form_fields(page), origin="https://evil.example"
    )
    assert (status, stored) == (403, 0)
    assert "sent from another website" in body


def test_an_exported_form_past_its_stated_expiry_is_refused(
    endpoint_settings: Settings, tmp_path: Path
) -> None:
    page = export_built(
        endpoint_settings, tmp_path / "site", days_ago=EXPORT_VALID_SECONDS / DAY + 1
    )
    status, body, stored = post_note(
        endpoint_settings, form_fields(page), origin="https://nicepick.test"
    )
    assert (status, stored) == (422, 0)
    assert "too old to take notes" in body


def test_a_token_from_another_sites_build_is_refused(
    endpoint_settings: Settings, tmp_path: Path
) -> None:
    other = endpoint_settings.model_copy(update={"site_url": "https://other.example"})
    page = export_built(other, tmp_path / "site", days_ago=2)
    # No Origin (as curl sends it): the token itself names the other site.
    status, body, stored = post_note(endpoint_settings, form_fields(page), origin=None)
    assert (status, stored) == (422, 0)
    assert "belongs to another website" in body


def test_without_an_endpoint_the_page_says_notes_cannot_be_sent(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    write_site(write_content)
    assert build_warnings(settings)[0].startswith("NICEPICK_FEEDBACK_ENDPOINT is not set")
    page = export_built(settings, tmp_path / "site", days_ago=0)
    html = BeautifulSoup(page.read_bytes(), "html.parser")
    assert html.select_one("form.feedback-form") is None
    offline = one(html, "#feedback-offline")
    assert "cannot be sent" in offline.get_text()
    assert attr(offline, "a", "href") == f"mailto:{settings.feedback_to}"


# --- incremental builds ---------------------------------------------------------------------


def digests(out: Path) -> dict[str, bytes]:
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file() and not path.name.startswith(".nicepick")  # the build's own notes
    }


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(
            lambda text: text.replace("A modal editor.", "A modal editor, tiny."), id="body"
        ),
        pytest.param(lambda text: text.replace("Two editors", "Two small editors"), id="summary"),
        pytest.param(lambda text: text.replace("beginner]", "beginner, terminal]"), id="tags"),
    ],
)
def test_an_incremental_build_rewrites_exactly_the_files_a_full_build_changes(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    tmp_path: Path,
    edit: Callable[[str], str],
) -> None:
    write_site(write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True, built_at=built_at)
    before = digests(out)
    write_content("nano-vs-micro.md", edit(NANO))
    summary = export_site(settings, out, allow_errors=True)  # the manifest's time is kept
    assert summary.incremental
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, allow_errors=True, built_at=built_at, incremental=False)
    after = digests(fresh)
    now = digests(out)
    differ = sorted(name for name in now.keys() | after.keys() if now.get(name) != after.get(name))
    assert differ == []  # the same site as a full build
    expected = sorted(name for name, body in after.items() if before.get(name) != body)
    expected = [name for name in expected if not name.endswith((".gz", ".br"))]
    manifest = Manifest.load(out)
    assert manifest is not None
    assert manifest.rewritten == expected
    assert "compare/nano-vs-micro/index.html" in expected


def test_a_build_with_nothing_changed_rewrites_nothing(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    write_site(write_content)
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True)
    summary = export_site(settings, out, allow_errors=True)
    assert summary.incremental and summary.rewritten == []


@pytest.mark.parametrize(
    "driver",
    [
        pytest.param("sqlite", id="counts-read-with-sqlite3"),
        # Only SQLAlchemy reads this URL as that file (as PostgreSQL): built with the app.
        pytest.param("sqlite+pysqlite", id="counts-read-by-the-app"),
    ],
)
def test_notes_stored_since_the_last_build_rewrite_their_page_and_twin_only(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path, driver: str
) -> None:
    # No content file changed, so no content hash says the page is stale: the counts read
    # now, against those the last build rendered it with, do.
    settings = settings.model_copy(
        update={"database_url": f"{driver}:///{tmp_path / 'notes.sqlite3'}", "secret_key": SECRET}
    )
    write_site(write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True, built_at=built_at)
    before = digests(out)
    add_notes(settings, "nano-vs-micro", ["Micro", "Micro", "Nano"])
    summary = export_site(settings, out, allow_errors=True)
    assert summary.incremental
    page = BeautifulSoup((out / "compare/nano-vs-micro/index.html").read_bytes(), "html.parser")
    shown = " ".join(one(page, "#meter-title").get_text().split())
    assert shown == "3 readers told us what they would pick"
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, allow_errors=True, built_at=built_at, incremental=False)
    after, now = digests(fresh), digests(out)
    assert (
        sorted(name for name in now.keys() | after.keys() if now.get(name) != after.get(name)) == []
    )
    changed = sorted(name for name, body in after.items() if before.get(name) != body)
    manifest = Manifest.load(out)
    assert manifest is not None
    assert manifest.rewritten == [name for name in changed if not name.endswith((".gz", ".br"))]
    assert manifest.rewritten == ["compare/nano-vs-micro.json", "compare/nano-vs-micro/index.html"]
    again = export_site(settings, out, allow_errors=True)
    assert again.incremental and again.rewritten == []


def test_while_the_database_is_down_an_incremental_build_keeps_the_counts_pages_show(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The app reads no counts while the database cannot answer: the pages it does not
    # re-render keep theirs (not all rewritten showing none), and one re-rendered for an edit
    # (showing none) is recounted by the first build that reads the counts again.
    reachable = settings.model_copy(
        update={
            "database_url": f"sqlite+pysqlite:///{tmp_path / 'notes.sqlite3'}",
            "secret_key": SECRET,
        }
    )
    # Nothing listens on the discard port: every connection is refused at once.
    down = reachable.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:9/notes"}
    )
    write_site(write_content)
    built_at = time.time()
    out = tmp_path / "site"
    add_notes(reachable, "nano-vs-micro", ["Micro", "Micro", "Nano"])
    add_notes(reachable, "vim-vs-emacs", ["Vim"])
    export_site(reachable, out, allow_errors=True, built_at=built_at)

    unchanged = export_site(down, out, allow_errors=True)
    assert unchanged.incremental and unchanged.rewritten == []
    write_content("nano-vs-micro.md", NANO.replace("A modal editor.", "Small and quick."))
    edited = export_site(down, out, allow_errors=True)
    # The edited page, and the one whose related links show it, rendered showing no notes.
    shown_none = ["compare/nano-vs-micro/index.html", "compare/vim-vs-emacs/index.html"]
    assert sorted(n for n in edited.rewritten if n.endswith("index.html")) == shown_none

    back = export_site(reachable, out, allow_errors=True)
    assert sorted(n for n in back.rewritten if n.endswith("index.html")) == shown_none
    assert meter_shown(out, "nano-vs-micro") == "3 readers told us what they would pick"
    assert meter_shown(out, "vim-vs-emacs") == "1 reader told us what they would pick"
    fresh = tmp_path / "fresh"
    export_site(reachable, fresh, allow_errors=True, built_at=built_at, incremental=False)
    assert_same_build(out, fresh)


def meter_shown(out: Path, slug: str) -> str:
    page = BeautifulSoup((out / "compare" / slug / "index.html").read_bytes(), "html.parser")
    return " ".join(one(page, "#meter-title").get_text().split())


def folders(out: Path) -> list[str]:
    """Every folder in ``out``: an empty one left behind is served as a listing or a 403."""
    return sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_dir())


def assert_same_build(out: Path, fresh: Path) -> None:
    """``out`` holds what the full build ``fresh`` holds: every file's name and bytes, every
    folder, and a manifest naming the same redirects, the same pages linking each page and
    the same pages linking each file no route lists (which go with the last link to them)."""
    now, full = digests(out), digests(fresh)
    assert (
        sorted(name for name in now.keys() | full.keys() if now.get(name) != full.get(name)) == []
    )
    assert folders(out) == folders(fresh)
    built, rebuilt = Manifest.load(out), Manifest.load(fresh)
    assert built is not None and rebuilt is not None
    assert sorted(built.redirects) == sorted(rebuilt.redirects)
    assert built.linked_from == rebuilt.linked_from
    assert built.files_from == rebuilt.files_from


def test_an_incremental_build_after_a_rename_and_back_matches_a_full_build(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # Renaming nano-vs-micro.md turned the page's JSON twin, the file compare/nano-vs-micro.json,
    # into a redirect whose stand-in was the folder compare/nano-vs-micro.json/; renaming it
    # back turned the folder into a file again. Each incremental build stopped with
    # FileExistsError (then IsADirectoryError), and every later one too, until someone thought
    # of --full; then the builds kept that redirect, which a full build has no link to. The
    # twin of a page gone is now removed, not asked for.
    write_site(write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True, built_at=built_at)
    for old, new in [("nano-vs-micro.md", "nano-and-micro.md"), ("nano-and-micro.md", None)]:
        write_content(old, "").unlink()
        write_content(new or "nano-vs-micro.md", NANO)
        export_site(settings, out, allow_errors=True)
        fresh = tmp_path / f"fresh-{old}"
        export_site(settings, fresh, allow_errors=True, built_at=built_at, incremental=False)
        assert_same_build(out, fresh)
    assert json.loads((out / "compare/nano-vs-micro.json").read_bytes())["slug"] == "nano-vs-micro"
    assert [p for p in (out / "compare").rglob("*") if "nano-and-micro" in p.name] == []


def test_a_duplicate_that_sorts_first_leaves_no_trace_of_the_page_it_displaces(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # micro-vs-nano.md compares the same options as nano-vs-micro.md on the same day and
    # comes first in path order: it keeps the pair and nano-vs-micro.md is left out, its
    # address now one of micro-vs-nano's other orders. The incremental build asked for the
    # old page's JSON twin, got a redirect, and kept it (a full build has no link to it).
    write_site(write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True, built_at=built_at)
    duplicate = NANO.replace("Two", "Two small")
    for step in ("added", "removed"):
        if step == "added":
            write_content("micro-vs-nano.md", duplicate)
        else:
            (settings.content_dir / "micro-vs-nano.md").unlink()
        assert export_site(settings, out, allow_errors=True).incremental
        fresh = tmp_path / f"fresh-{step}"
        export_site(settings, fresh, allow_errors=True, built_at=built_at, incremental=False)
        assert_same_build(out, fresh)
    assert not (out / "compare/micro-vs-nano.json").exists()
    assert json.loads((out / "compare/nano-vs-micro.json").read_bytes())["slug"] == "nano-vs-micro"


def test_a_build_replaces_the_last_builds_file_by_a_folder_and_back(tmp_path: Path) -> None:
    # What the rename above does to the files, whether or not the crawl meets the old twin.
    out = tmp_path / "site"
    twin = out / "compare/a-vs-b.json"
    twin.parent.mkdir(parents=True)
    twin.write_bytes(b"{}")
    files = Files(out, {"compare/a-vs-b.json": digest(b"{}")})
    files.write(twin / "index.html", b"<p>moved</p>", ExportSummary(), {})
    assert (twin / "index.html").read_bytes() == b"<p>moved</p>"
    assert files.cleared == {"compare/a-vs-b.json"}
    files = Files(out, {"compare/a-vs-b.json/index.html": digest(b"<p>moved</p>")})
    files.write(twin, b"{}", ExportSummary(), {})
    assert twin.read_bytes() == b"{}"
    assert files.cleared == {"compare/a-vs-b.json/index.html"}


def test_a_file_that_shrinks_below_compression_loses_its_old_siblings(tmp_path: Path) -> None:
    # nginx's gzip_static prefers index.json.gz to the file: a stale sibling would be served.
    out = tmp_path / "site"
    big = b'{"terms": "' + b"x" * 1000 + b'"}'
    Files(out, {}, precompress=True).write(out / "t/61.json", big, ExportSummary(), {})
    assert (out / "t/61.json.gz").is_file() and (out / "t/61.json.br").is_file()
    small = Files(out, {"t/61.json": digest(big)}, precompress=True)
    small.write(out / "t/61.json", b"{}", ExportSummary(), {})
    assert (out / "t/61.json").read_bytes() == b"{}"
    assert not (out / "t/61.json.gz").exists() and not (out / "t/61.json.br").exists()


def test_an_incremental_build_follows_edits_to_authors_profiles_and_plain_pages(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # Only comparisons were compared with the last build: a writer's new name, a rewritten
    # About page or a deleted profile left "0 files rewritten", the old pages online and
    # every byline and facts table as before, until someone thought of --full.
    write_content("vim-vs-emacs.md", GOOD.replace("published:", "authors: [ana-ruiz]\npublished:"))
    author = "---\nname: Ana Ruiz\nrole: Editor\n---\nWrites about editors.\n"
    write_content("authors/ana-ruiz.md", author)
    write_content("pages/about.md", "---\ntitle: About us\nsummary: Who we are\n---\nHello.\n")
    profile = write_content(
        "options/vim.md",
        "---\nname: Vim\nhomepage: https://www.vim.org/\nlicence: Vim License\n"
        "first_release: 1991\nplatforms: [Linux, macOS, Windows]\nkind: tool\n---\nAn editor.\n",
    )
    out = tmp_path / "site"
    export_site(settings, out)
    assert "https://www.vim.org/" in (out / "option/vim/index.html").read_text()
    write_content("authors/ana-ruiz.md", author.replace("Ana Ruiz", "Ana Ruiz-Oliva"))
    write_content("pages/about.md", "---\ntitle: About Nice Pick\nsummary: Who we are\n---\nHi.\n")
    profile.unlink()
    export_site(settings, out)

    def page(name: str) -> BeautifulSoup:
        return BeautifulSoup((out / name).read_text(encoding="utf-8"), "html.parser")

    assert "Ana Ruiz-Oliva" in one(page("author/ana-ruiz/index.html"), "h1").get_text()
    assert "Ana Ruiz-Oliva" in page("compare/vim-vs-emacs/index.html").get_text()
    assert "About Nice Pick" in one(page("about/index.html"), "h1").get_text()
    # The option's page stays (it lists the comparisons), without the profile's facts.
    assert "https://www.vim.org/" not in (out / "option/vim/index.html").read_text()


def test_a_comparison_removed_from_a_category_that_stays_leaves_unrelated_pages_alone(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The header names the categories without counting them: a page gone from a category
    # that keeps others changes its listings and neighbours, not every page's header.
    generated_site(settings, write_content, count=40)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    pages = {name for name in digests(out) if name.startswith("compare/")}
    (settings.content_dir / "tool7a-vs-tool7b.md").unlink()
    summary = export_site(settings, out, jobs=2)
    assert summary.incremental
    rewritten = {name for name in summary.rewritten if name.startswith("compare/")}
    assert rewritten and len(rewritten) < len(pages) // 2
    same_as_a_full_build(settings, out, tmp_path, built_at)


def test_a_categorys_last_comparison_removed_leaves_every_pages_header(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    rng = generated_site(settings, write_content, count=40)
    slug, text = comparison_markdown(40, rng)
    lone = write_content(
        f"{slug}.md", re.sub(r"^category: .*$", "category: Lone Category", text, flags=re.M)
    )
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    menu = 'header nav[aria-label="Categories"] a[href="/category/lone-category"]'
    home = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert home.select(menu)
    lone.unlink()
    assert export_site(settings, out).incremental
    for name in ("index.html", "compare/tool3a-vs-tool3b/index.html"):
        page = BeautifulSoup((out / name).read_text(encoding="utf-8"), "html.parser")
        assert page.select('header nav[aria-label="Categories"] a')
        assert page.select(menu) == [], name
    same_as_a_full_build(settings, out, tmp_path, built_at)


def test_a_category_renamed_in_its_newest_page_updates_every_pages_header(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The header names each category as its newest page spells it: a respelling that keeps
    # the slug changes every page too.
    generated_site(settings, write_content, count=40)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    path = settings.content_dir / "tool39a-vs-tool39b.md"  # the newest of "Web Servers"
    text = path.read_text()
    assert "category: Web Servers\n" in text
    path.write_text(text.replace("category: Web Servers\n", "category: Web servers\n"))
    assert export_site(settings, out).incremental
    same_as_a_full_build(settings, out, tmp_path, built_at)


def test_a_retitled_page_leaves_the_other_pages_of_its_listings_in_place(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # Its listings' other pages are not re-rendered (their cards are the same): they stay.
    rng = random.Random(6)
    for number in range(150):
        slug, text = comparison_markdown(number, rng)
        write_content(f"{slug}.md", text)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    assert any(out.glob("category/*/page-2/index.html"))  # listings of several pages
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    path.write_text(path.read_text().replace("title: Tool7a", "title: Tool7a!"))
    assert export_site(settings, out).incremental
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, built_at=built_at, incremental=False)
    after, now = digests(fresh), digests(out)
    assert (
        sorted(name for name in now.keys() | after.keys() if now.get(name) != after.get(name)) == []
    )


def generated_site(
    settings: Settings, write_content: Callable[[str, str], Path], *, count: int = 150
) -> random.Random:
    """``count`` synthetic comparisons (bench/generate.py); the generator, to make more."""
    rng = random.Random(6)
    for number in range(count):
        slug, text = comparison_markdown(number, rng)
        write_content(f"{slug}.md", text)
    return rng


def related_of(out: Path, slug: str) -> list[str]:
    twin = json.loads((out / "compare" / f"{slug}.json").read_bytes())
    return [summary["slug"] for summary in twin["related"]]


def same_as_a_full_build(
    settings: Settings, out: Path, tmp_path: Path, built_at: float, *, precompress: bool = False
) -> None:
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, built_at=built_at, incremental=False, precompress=precompress)
    assert_same_build(out, fresh)


def test_a_new_tag_leaves_the_pages_of_its_listings_whose_related_links_stay(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    before = digests(out)
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    text = path.read_text()
    category = re.search(r"^category: (.+)$", text, re.M)
    assert category is not None
    members = [
        page
        for page in settings.content_dir.glob("*.md")
        if f"category: {category[1]}\n" in page.read_text()
    ]
    path.write_text(text.replace("tags: [", "tags: [edited-tag, "))
    summary = export_site(settings, out)
    assert summary.incremental
    same_as_a_full_build(settings, out, tmp_path, built_at)
    # Not every page of the category: those showing the same related links are proven alike.
    assert summary.pages < len(members)
    manifest = Manifest.load(out)
    assert manifest is not None
    now = digests(out)
    assert manifest.rewritten == sorted(
        name
        for name, body in now.items()
        if before.get(name) != body and not name.endswith((".gz", ".br"))
    )


def test_a_tag_shared_with_a_page_re_renders_the_page_it_now_relates_to(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # A page of the edited page's category that did not link to it, given all its tags: its
    # related links now show the edited page, so it must be re-rendered though not linked.
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    text = path.read_text()
    category = re.search(r"^category: (.+)$", text, re.M)
    assert category is not None
    other = next(
        page
        for page in sorted(settings.content_dir.glob("*.md"))
        if page != path
        and f"category: {category[1]}\n" in page.read_text()
        and "tool7a-vs-tool7b" not in related_of(out, page.stem)
    )
    tags = re.search(r"^tags: \[(.*)\]$", other.read_text(), re.M)
    assert tags is not None
    path.write_text(text.replace("tags: [", f"tags: [{tags[1]}, "))
    assert export_site(settings, out).incremental
    assert "tool7a-vs-tool7b" in related_of(out, other.stem)
    manifest = Manifest.load(out)
    assert manifest is not None
    assert f"compare/{other.stem}/index.html" in manifest.rewritten
    same_as_a_full_build(settings, out, tmp_path, built_at)


def test_an_incremental_build_of_a_retitled_page_imports_neither_fastapi_nor_sqlalchemy(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # Their imports cost more than such a build's rendering: its pages, the machine files,
    # the search page and the 404 page are rendered without the app, the forms' counts read
    # without the feedback service. A build of its own process, as `nicepick build` runs.
    write_site(write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True, built_at=built_at)
    write_content("nano-vs-micro.md", NANO.replace("title: Nano vs Micro", "title: Nano or Micro"))
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from app.commands.export import export_site\n"
        "from app.settings import Settings\n"
        f"settings = Settings(**json.loads({settings.model_dump_json()!r}), _env_file=None)\n"
        f"summary = export_site(settings, Path({str(out)!r}), allow_errors=True)\n"
        "loaded = [name for name in ('fastapi', 'sqlalchemy', 'starlette') if name in sys.modules]\n"
        "print(json.dumps([summary.incremental, sorted(summary.rewritten), loaded]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    incremental, rewritten, loaded = json.loads(done.stdout.splitlines()[-1])
    assert incremental and "compare/nano-vs-micro/index.html" in rewritten
    assert loaded == []
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, allow_errors=True, built_at=built_at, incremental=False)
    after, now = digests(fresh), digests(out)
    assert (
        sorted(name for name in now.keys() | after.keys() if now.get(name) != after.get(name)) == []
    )


def test_a_build_removes_the_search_words_file_of_the_format_before(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # Builds before the "-3" words file left theirs in OUT; nothing reads them any more.
    write_site(write_content)
    out = tmp_path / "site"
    out.mkdir()
    older = (".nicepick-search-terms.marshal", ".nicepick-search-terms-2.marshal")
    for name in older:
        (out / name).write_bytes(b"words of an older build")
    export_site(settings, out, allow_errors=True)
    assert [name for name in older if (out / name).exists()] == []
    assert (out / ".nicepick-search-terms-3.marshal").exists()


def test_a_manifest_in_json_as_builds_before_wrote_it_means_a_full_build_and_goes(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    write_site(write_content)
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True)
    manifest = Manifest.load(out)
    assert manifest is not None
    (out / ".nicepick-build.marshal").unlink()
    (out / ".nicepick-build.json").write_text(json.dumps({"format": 1, **vars(manifest)}))
    summary = export_site(settings, out, allow_errors=True)
    assert not summary.incremental
    assert not (out / ".nicepick-build.json").exists()
    assert Manifest.load(out) is not None


def test_a_damaged_manifest_means_a_full_build(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    write_site(write_content)
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True)
    data = (out / ".nicepick-build.marshal").read_bytes()
    (out / ".nicepick-build.marshal").write_bytes(data[: len(data) // 2])
    assert Manifest.load(out) is None
    assert not export_site(settings, out, allow_errors=True).incremental


@pytest.mark.parametrize("redirects", [5, [1], [("a", "b", "c")]])
def test_a_manifest_of_the_wrong_shape_is_no_manifest(redirects: object) -> None:
    # Readable marshal data, not ours: refused like a damaged file, not a TypeError.
    document = {"format": 1, "fingerprint": "x", "built_at": 1.0, "redirects": redirects}
    assert Manifest.parse(marshal.dumps(document)) is None
    assert Manifest.parse(marshal.dumps({**document, "redirects": [("a", "b")]})) is not None


@pytest.mark.parametrize(
    ("first", "edited"),
    [
        # The page alone carries the tag: its spelling is the one /tags shows.
        (NANO, NANO.replace("[editors, beginner]", "[editors, Beginner]")),
        # The page becomes the newest of the tag's pages: its spelling now leads.
        (
            NANO.replace("[editors,", "[Editors,").replace("2026-01-15", "2026-01-14"),
            NANO.replace("[editors,", "[Editors,").replace("2026-01-15", "2026-01-16"),
        ),
    ],
    ids=["respelled", "newest"],
)
def test_a_tag_spelled_otherwise_re_renders_the_tags_page(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    tmp_path: Path,
    first: str,
    edited: str,
) -> None:
    # Its slug and count stay, so no tag comes or goes; /tags shows each tag as its newest
    # page spells it, which changed.
    write_site(write_content)
    write_content("nano-vs-micro.md", first)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True, built_at=built_at)
    before = (out / "tags.json").read_bytes()
    write_content("nano-vs-micro.md", edited)
    assert export_site(settings, out, allow_errors=True).incremental
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, allow_errors=True, built_at=built_at, incremental=False)
    assert (fresh / "tags.json").read_bytes() != before  # the edit shows on /tags
    after, now = digests(fresh), digests(out)
    assert (
        sorted(name for name in now.keys() | after.keys() if now.get(name) != after.get(name)) == []
    )


def test_a_tag_respelled_re_renders_every_page_of_its_listing(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # A listing's heading spells its tag as the newest page does; the listing's later pages
    # do not hold the edited page's card, so no link leads to them.
    generated_site(settings, write_content)
    pages = sorted(settings.content_dir.glob("*.md"))[:40]
    for page in pages:
        page.write_text(page.read_text().replace("tags: [", "tags: [many, ", 1))
    path = pages[0]
    text = re.sub(r"^published: .*$", "published: 2025-12-01", path.read_text(), flags=re.M)
    path.write_text(text)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    assert (out / "tag/many/page-2/index.html").exists()
    path.write_text(text.replace("tags: [many, ", "tags: [Many, "))
    assert export_site(settings, out).incremental
    assert "Many" in (out / "tag/many/page-2.json").read_text()
    same_as_a_full_build(settings, out, tmp_path, built_at)


def published(page: Path) -> str:
    found = re.search(r"^published: (.+)$", page.read_text(), re.M)
    assert found is not None
    return found[1]


@pytest.mark.parametrize(
    "dropping",
    [
        pytest.param(lambda pages: pages[0], id="first-file"),
        # On page 1, so not linked from page 2: the build does not ask for page 2, which
        # must leave the manifest all the same (it links the 25th page).
        pytest.param(lambda pages: max(pages, key=published), id="newest"),
    ],
)
def test_a_listing_one_page_shorter_loses_its_last_pages_twin(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    tmp_path: Path,
    dropping: Callable[[list[Path]], Path],
) -> None:
    # 25 pages carry the tag (two listing pages of 24); one drops it: page 2 and its JSON
    # twin are gone from a full build, so from the incremental build too.
    generated_site(settings, write_content)
    pages = sorted(settings.content_dir.glob("*.md"))[:25]
    for page in pages:
        page.write_text(page.read_text().replace("tags: [", "tags: [many, ", 1))
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at, precompress=True)
    assert (out / "tag/many/page-2.json.gz").exists()
    page = dropping(pages)
    page.write_text(page.read_text().replace("tags: [many, ", "tags: [", 1))
    assert export_site(settings, out, precompress=True).incremental
    assert not (out / "tag/many/page-2.json").exists()
    assert not (out / "tag/many/page-2.json.gz").exists()
    manifest = Manifest.load(out)
    assert manifest is not None
    assert "tag/many/page-2.json" not in manifest.files
    same_as_a_full_build(settings, out, tmp_path, built_at, precompress=True)


def test_a_listing_gone_leaves_the_manifest_and_no_folder_behind(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # 25 pages carry the tag (two listing pages), then none: the tag's pages go. They stayed
    # in the manifest as pages linking the 25, so each later build asked for them again and
    # reported them skipped (404), and the folder tag/many/ was left behind, empty.
    generated_site(settings, write_content)
    pages = sorted(settings.content_dir.glob("*.md"))[:25]
    for page in pages:
        page.write_text(page.read_text().replace("tags: [", "tags: [many, ", 1))
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    assert (out / "tag/many/page-2/index.html").exists()
    for page in pages:
        page.write_text(page.read_text().replace("tags: [many, ", "tags: [", 1))
    assert export_site(settings, out).incremental
    assert not (out / "tag/many").exists()
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, built_at=built_at, incremental=False)
    assert_same_build(out, fresh)
    pages[0].write_text(pages[0].read_text().replace("\n## ", "\nEdited.\n\n## ", 1))
    later = export_site(settings, out)
    assert later.incremental and "compare/" + pages[0].stem + "/index.html" in later.rewritten
    refreshed = export_site(
        settings, tmp_path / "fresh-later", built_at=built_at, incremental=False
    )
    assert set(later.skipped) <= set(refreshed.skipped)  # nothing asked for that is gone


def test_a_new_pick_re_renders_its_categorys_standings(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # /best/<category> counts each option's wins and links to option pages, not to the page.
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    text = path.read_text()
    assert "pick: Tool7a\n" in text
    path.write_text(text.replace("pick: Tool7a\n", "pick: Tool7b\n"))
    assert export_site(settings, out).incremental
    same_as_a_full_build(settings, out, tmp_path, built_at)


def test_a_page_given_an_author_re_renders_the_authors_page(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The author's page lists the page from now on, but did not link to it last time.
    write_site(write_content)
    for slug, name in (("ana-ruiz", "Ana Ruiz"), ("bo-lee", "Bo Lee")):
        write_content(f"authors/{slug}.md", f"---\nname: {name}\nrole: Editor\n---\nWrites.\n")
    with_author = NANO.replace("published:", "authors: [ana-ruiz]\npublished:")
    write_content("nano-vs-micro.md", with_author)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True, built_at=built_at)
    write_content("nano-vs-micro.md", with_author.replace("[ana-ruiz]", "[bo-lee]"))
    assert export_site(settings, out, allow_errors=True).incremental
    assert "nano-vs-micro" in (out / "author/bo-lee.json").read_text()
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, allow_errors=True, built_at=built_at, incremental=False)
    after, now = digests(fresh), digests(out)
    assert (
        sorted(name for name in now.keys() | after.keys() if now.get(name) != after.get(name)) == []
    )


def rewritten_as_they_differ(out: Path, before: dict[str, bytes]) -> None:
    """The manifest's ``rewritten`` names exactly the files whose bytes changed."""
    manifest = Manifest.load(out)
    assert manifest is not None
    assert manifest.rewritten == sorted(
        name
        for name, body in digests(out).items()
        if before.get(name) != body and not name.endswith((".gz", ".br"))
    )


def test_a_retitled_page_patches_the_search_index_and_leaves_sitemap_standings_redirects(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The sitemap lists no title, the standings count picks, the redirects are the same:
    # none is written again, and only the index files holding the page's words and its
    # result are.
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    before = digests(out)
    index = [n for n in before if n.startswith("search-index/") and not n.endswith((".gz", ".br"))]
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    path.write_text(path.read_text().replace("title: Tool7a vs Tool7b", "title: Tool7a or zebra"))
    summary = export_site(settings, out)
    assert summary.incremental
    same_as_a_full_build(settings, out, tmp_path, built_at)
    rewritten_as_they_differ(out, before)
    assert "sitemap.xml" not in summary.written
    assert not any(name.startswith("best/") for name in summary.written)
    assert summary.redirects and "_redirects" not in summary.written
    written = [name for name in summary.written if name.startswith("search-index/")]
    assert "search-index/meta.json" in summary.rewritten  # the page's length in words
    assert len(written) < len(index) / 2


def test_a_word_taken_out_of_a_title_again_patches_the_search_index_too(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # "zebra" is no other page's word: added, it got a small shard of its own; taken out
    # again, that shard emptied and the whole index was written (1,000 files at 10,000 pages).
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    title = "title: Tool7a vs Tool7b"
    path.write_text(path.read_text().replace(title, "title: Tool7a or zebra"))
    export_site(settings, out)
    before = digests(out)
    index = [n for n in before if n.startswith("search-index/") and not n.endswith((".gz", ".br"))]
    path.write_text(path.read_text().replace("title: Tool7a or zebra", title))
    summary = export_site(settings, out)
    assert summary.incremental
    same_as_a_full_build(settings, out, tmp_path, built_at)
    rewritten_as_they_differ(out, before)
    written = [name for name in summary.written if name.startswith("search-index/")]
    assert len(written) < len(index) / 2
    assert len([name for name in digests(out) if name.startswith("search-index/t/")]) < len(
        [name for name in index if name.startswith("search-index/t/")]
    )


def test_a_page_newer_than_every_other_is_patched_into_the_search_index(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # An editor's new page is the newest: numbered after every other in the index, it was
    # still a reason to write the whole index (1,000 files at 10,000 pages).
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    before = digests(out)
    index = [n for n in before if n.startswith("search-index/") and not n.endswith((".gz", ".br"))]
    text = (settings.content_dir / "tool7a-vs-tool7b.md").read_text()
    newest = re.sub(r"^published: \S+$", "published: 2026-01-01", text, flags=re.M)
    write_content("tool7n-vs-tool7b.md", newest.replace("Tool7a", "Tool7n"))
    summary = export_site(settings, out)
    assert summary.incremental
    same_as_a_full_build(settings, out, tmp_path, built_at)
    written = [name for name in summary.written if name.startswith("search-index/")]
    assert "search-index/meta.json" in written
    assert len(written) < len(index)  # the whole index is every file written again


def test_a_tag_taken_away_removes_its_pages_and_names_no_link_skipped(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The tag's page, asked for again, answered 404 and was reported as "2 links skipped:
    # /tag/zebra-tag (404)", though no page links it any more: its files are removed.
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    path.write_text(path.read_text().replace("tags: [", "tags: [zebra-tag, ", 1))
    export_site(settings, out)
    assert (out / "tag/zebra-tag/index.html").is_file()
    path.write_text(path.read_text().replace("tags: [zebra-tag, ", "tags: [", 1))
    summary = export_site(settings, out)
    assert summary.incremental
    assert summary.skipped == []
    # The tag's page, its twin, and the search shard its word alone filled.
    assert summary.removed == 3 and "3 removed" in str(summary)
    assert not (out / "tag/zebra-tag").exists() and not (out / "tag/zebra-tag.json").exists()
    same_as_a_full_build(settings, out, tmp_path, built_at)


@pytest.mark.parametrize("suffix", ["", ".json", "/"])
def test_a_gone_tag_still_linked_by_a_page_not_rendered_again_is_reported(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path, suffix: str
) -> None:
    # An outside review: page B's text links /tag/zebra-tag; page A loses the tag. B is not
    # rendered again, the tag's page answers 404, and the build said nothing of B's link.
    # The second review: its twin linked, the page was named instead; a full build answers
    # a link with a slash after it (the server's redirect) without a word.
    generated_site(settings, write_content)
    out = tmp_path / "site"
    page = settings.content_dir / "tool7a-vs-tool7b.md"
    page.write_text(page.read_text().replace("tags: [", "tags: [zebra-tag, ", 1))
    linking = settings.content_dir / "tool21a-vs-tool21b.md"
    link = f"[Z](/tag/zebra-tag{suffix}) "
    linking.write_text(linking.read_text().replace("## Bottom line\n", f"## Bottom line\n{link}"))
    export_site(settings, out)
    page.write_text(page.read_text().replace("tags: [zebra-tag, ", "tags: [", 1))
    summary = export_site(settings, out)
    assert summary.incremental
    fresh = export_site(settings, tmp_path / "fresh", incremental=False)
    assert summary.skipped == fresh.skipped
    if suffix != "/":
        assert summary.skipped == [(f"/tag/zebra-tag{suffix}", 404)]


@pytest.mark.parametrize("target", ["/404.html", "/_redirects", "/search-index/meta.json"])
def test_a_text_link_to_a_file_the_build_writes_itself_keeps_it(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path, target: str
) -> None:
    # An outside review: /_redirects answers 404 (no page is there), and the incremental
    # build removed the file as a page gone; the 404 page's link left the manifest.
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    page = settings.content_dir / "tool21a-vs-tool21b.md"
    page.write_text(page.read_text().replace("## Bottom line\n", f"## Bottom line\n[x]({target}) "))
    assert export_site(settings, out).incremental
    assert (out / target.lstrip("/")).is_file()
    same_as_a_full_build(settings, out, tmp_path, built_at)


def test_a_broken_link_in_a_page_rendered_again_is_still_reported(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    generated_site(settings, write_content)
    out = tmp_path / "site"
    export_site(settings, out)
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    path.write_text(
        path.read_text().replace("## Bottom line\n", "## Bottom line\n[All](/tag/nothing) ", 1)
    )
    summary = export_site(settings, out)
    assert summary.incremental and summary.skipped == [("/tag/nothing", 404)]


def test_a_new_tag_re_renders_the_sitemap_and_one_page_of_its_category(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The page stays in its category at its place: of the category's pages only the one
    # holding its card (its tags) is rendered again; the sitemap lists the new tag's page.
    generated_site(settings, write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    before = digests(out)
    path = settings.content_dir / "tool7a-vs-tool7b.md"
    text = path.read_text()
    category = re.search(r"^category: (.+)$", text, re.M)
    assert category is not None
    folder = f"category/{slugify(category[1])}/"
    assert f"{folder}page-2/index.html" in before  # a listing of several pages
    path.write_text(text.replace("tags: [", "tags: [edited-tag, "))
    summary = export_site(settings, out)
    assert summary.incremental
    same_as_a_full_build(settings, out, tmp_path, built_at)
    rewritten_as_they_differ(out, before)
    assert "sitemap.xml" in summary.rewritten
    listed = [n for n in summary.written if n.startswith(folder) and n.endswith("index.html")]
    assert len(listed) == 1


def test_a_category_emptied_takes_its_standings_with_it(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # Nano vs Micro is the one page of "Text Editors". Moved to Dev Tools, then removed, the
    # category has no standings in a full build; the incremental build asked only for the
    # standings the route table lists now, so best/text-editors/ (page, twin, siblings and
    # folder) stayed.
    write_site(write_content)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, allow_errors=True, built_at=built_at)
    assert (out / "best/text-editors/index.html").exists()
    for step, text in [("moved", NANO.replace("Text Editors", "Dev Tools")), ("removed", None)]:
        if text is None:
            write_content("nano-vs-micro.md", "").unlink()
        else:
            write_content("nano-vs-micro.md", text)
        assert export_site(settings, out, allow_errors=True).incremental, step
        assert not (out / "best/text-editors").exists(), step
        assert not (out / "best/text-editors.json").exists(), step
        fresh = tmp_path / f"fresh-{step}"
        export_site(settings, fresh, allow_errors=True, built_at=built_at, incremental=False)
        assert_same_build(out, fresh)


def one_category_each(write: Callable[[str, str], Path], count: int) -> None:
    """``count`` comparisons, each the one page of a category of its own."""
    for number in range(count):
        a, b = f"Tool{number}a", f"Tool{number}b"
        text = comparison_text(
            title=f"{a} vs {b}", options=f"[{a}, {b}]", pick=a, category=f"Category {number}"
        )
        write(f"{a.lower()}-vs-{b.lower()}.md", text.replace("Vim", a).replace("Emacs", b))


def test_the_home_pages_second_page_goes_with_its_last_category(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # The home page lists 24 categories a page: at 25 it has a second page, which a page
    # removed (24 categories) leaves out of a full build. The incremental build kept
    # page-2/index.html and page-2.json, and its manifest kept /?page=2 linking every page.
    one_category_each(write_content, 25)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    assert (out / "page-2/index.html").exists() and (out / "page-2.json").exists()
    write_content("tool24a-vs-tool24b.md", "").unlink()
    assert export_site(settings, out).incremental
    assert not (out / "page-2").exists() and not (out / "page-2.json").exists()
    same_as_a_full_build(settings, out, tmp_path, built_at)


def test_a_site_emptied_keeps_no_search_results_or_form_script(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> None:
    # With no page left the search index has no results to show (no search-index/d/0.json)
    # and no page carries the notes form, whose script a full build then does not copy;
    # the incremental build left both.
    write_content("vim-vs-emacs.md", GOOD)
    write_content("nano-vs-micro.md", NANO)
    built_at = time.time()
    out = tmp_path / "site"
    export_site(settings, out, built_at=built_at)
    assert (out / "search-index/d/0.json").exists()
    assert list((out / "static").glob("feedback.*.js"))
    for name in ("vim-vs-emacs.md", "nano-vs-micro.md"):
        write_content(name, "").unlink()
    assert export_site(settings, out).incremental
    assert not (out / "search-index/d").exists()
    assert not list((out / "static").glob("feedback.*"))
    same_as_a_full_build(settings, out, tmp_path, built_at)


@pytest.mark.parametrize("change", ["added", "removed"])
def test_a_sitemap_in_parts_follows_a_page_added_or_removed(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    # Past its limit the sitemap is an index of /sitemap-N.xml parts, files the last build
    # wrote: the build asks for each part again, as it asks for the index.
    monkeypatch.setattr(Surfaces.__init__, "__kwdefaults__", {"sitemap_limit": 20})
    rng = random.Random(6)
    for number in range(12):
        _slug, text = comparison_markdown(number, rng)
        (settings.content_dir / f"n{number}.md").write_text(text)
    out = tmp_path / "site"
    built_at = 1_780_000_000.0
    export_site(settings, out, built_at=built_at, cards=False, jobs=1)
    assert (out / "sitemap-2.xml").is_file()
    if change == "added":  # Databases, as n0 and n6
        _slug, text = comparison_markdown(12, random.Random(12))
        (settings.content_dir / "n12.md").write_text(text)
    else:
        (settings.content_dir / "n0.md").unlink()
    assert export_site(settings, out, cards=False, jobs=1).incremental
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, built_at=built_at, incremental=False, cards=False, jobs=1)
    assert_same_build(out, fresh)


SCRIPT_LINK = "\n\nSee [the script](/static/preview.js).\n"


@pytest.mark.parametrize("change", ["page removed", "link edited out", "link added"])
def test_a_file_only_a_pages_text_links_comes_and_goes_with_the_link(
    settings: Settings, tmp_path: Path, change: str
) -> None:
    # /static/preview.js is no page's asset: exported only because a page's text links it.
    rng = random.Random(6)
    for number in range(12):
        _slug, text = comparison_markdown(number, rng)
        if number == 0 and change != "link added":  # Databases, with n6 staying in it
            text = text.replace("\n## Tool0a\n", SCRIPT_LINK + "\n## Tool0a\n", 1)
        (settings.content_dir / f"n{number}.md").write_text(text)
    out = tmp_path / "site"
    built_at = 1_780_000_000.0
    export_site(settings, out, built_at=built_at, cards=False, jobs=1)
    assert (out / "static/preview.js").is_file() == (change != "link added")
    page = settings.content_dir / "n0.md"
    if change == "page removed":
        page.unlink()
    elif change == "link edited out":
        page.write_text(page.read_text().replace(SCRIPT_LINK, ""))
    else:
        page.write_text(page.read_text().replace("\n## Tool0a\n", SCRIPT_LINK + "\n## Tool0a\n"))
    # As `nicepick build` does: the quick path first (an edit of the text alone), which
    # leaves a change of such links to the build that crawls.
    if change != "page removed":
        assert quick_build(settings, out, cards=False) is None
    assert export_site(settings, out, cards=False, jobs=1).incremental
    assert (out / "static/preview.js").is_file() == (change == "link added")
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, built_at=built_at, incremental=False, cards=False, jobs=1)
    assert_same_build(out, fresh)
    manifest = Manifest.load(out)
    assert manifest is not None
    linking = ["/compare/n0"] if change == "link added" else []
    assert manifest.files_from.get("static/preview.js", []) == linking


def text_linking(settings: Settings, texts: dict[int, str]) -> None:
    """12 generated comparisons, page ``n``'s text with ``texts[n]`` added."""
    rng = random.Random(6)
    for number in range(12):
        _slug, text = comparison_markdown(number, rng)
        if number in texts:
            heading = f"\n## Tool{number}a\n"
            text = text.replace(heading, texts[number] + heading, 1)
        (settings.content_dir / f"n{number}.md").write_text(text)


def link_edited_out(
    settings: Settings, tmp_path: Path, texts: dict[int, str], link: str
) -> tuple[Path, Path]:
    """(OUT after a build, ``link`` taken out of page n0 and an incremental build; a fresh
    full build of the same content)."""
    text_linking(settings, texts)
    out, fresh = tmp_path / "site", tmp_path / "fresh"
    built_at = 1_780_000_000.0
    export_site(settings, out, built_at=built_at, cards=False, jobs=1)
    page = settings.content_dir / "n0.md"
    page.write_text(page.read_text().replace(link, ""))
    assert export_site(settings, out, cards=False, jobs=1).incremental
    export_site(settings, fresh, built_at=built_at, incremental=False, cards=False, jobs=1)
    return out, fresh


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("/categories/", "categories/index.html"),  # the route table's page, with a slash
        ("/categories?page=1", "categories/index.html"),
        ("/categories/index.html", "categories/index.html"),
        ("/docs/", "docs/index.html"),  # the page every page's footer links
        ("/compare/n1/", "compare/n1/index.html"),
    ],
)
def test_a_link_edited_out_never_takes_a_file_another_url_of_it_needs(
    settings: Settings, tmp_path: Path, target: str, name: str
) -> None:
    # Files are kept by name: /x/, /x?page=1 and /x/index.html are one file.
    link = f"\n\nSee [this]({target}).\n"
    out, fresh = link_edited_out(settings, tmp_path, {0: link}, link)
    assert (out / name).is_file()
    assert_same_build(out, fresh)


@pytest.mark.parametrize(
    "target", ["/categories/", "/docs/", "/compare/n1/", "/feed.xml/", "/compare/n1.json/"]
)
def test_a_link_with_a_trailing_slash_leaves_its_page_a_page(
    settings: Settings, tmp_path: Path, target: str
) -> None:
    # The server answers /x/ with a 301 to /x. Its stand-in page, written at x/index.html, is
    # where /x's own page lies: the build replaced the page with a redirect to itself, which
    # a static host serving x/index.html for /x followed forever. A static host serves that
    # one file for both spellings: no redirect is written for them, in any of its forms.
    text_linking(settings, {0: f"\n\nSee [this]({target}).\n"})
    out = tmp_path / "site"
    export_site(settings, out, cards=False, jobs=1)  # for a file (/feed.xml/): it stopped
    if "." in target:  # a file's folder would be a stand-in's
        assert (out / target.strip("/")).is_file()
    else:
        page = BeautifulSoup((out / target.strip("/") / "index.html").read_text(), "html.parser")
        assert page.select_one('meta[http-equiv="refresh"]') is None
        assert page.select_one("main") is not None
    assert f"{target} " not in (out / "_redirects").read_text()
    assert f'"{target}"' not in (out / "nginx-redirects.map").read_text()
    manifest = Manifest.load(out)
    assert manifest is not None and all(source != target for source, _ in manifest.redirects)


def test_a_script_two_pages_link_stays_when_one_links_it_no_more(
    settings: Settings, tmp_path: Path
) -> None:
    # n0 links /static/preview.js?page=1 and n1 /static/preview.js: one file, two URLs.
    first, second = (
        "\n\nSee [a](/static/preview.js?page=1).\n",
        "\n\nSee [b](/static/preview.js).\n",
    )
    out, fresh = link_edited_out(settings, tmp_path, {0: first, 1: second}, first)
    assert (out / "static/preview.js").is_file()
    assert_same_build(out, fresh)


def stopping_after_one(write: Callable[..., None]) -> Callable[..., None]:
    """``write``, which raises KeyboardInterrupt (Ctrl-C) from its second call on."""
    calls = 0

    def interrupted(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise KeyboardInterrupt
        write(*args, **kwargs)

    return interrupted


def test_a_full_build_stopped_while_emptying_out_is_followed_by_a_full_one(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An outside review: Ctrl-C while `build --full` removed the last build's files left its
    # manifest trusted; the next build was incremental and 7,619 files stayed missing.
    text_linking(settings, {})
    out = tmp_path / "site"
    built_at = 1_780_000_000.0
    export_site(settings, out, built_at=built_at, cards=False, jobs=1)
    monkeypatch.setattr(Files, "remove", stopping_after_one(Files.remove))
    with pytest.raises(KeyboardInterrupt):
        export_site(settings, out, built_at=built_at, cards=False, jobs=1, incremental=False)
    monkeypatch.undo()
    assert quick_build(settings, out, cards=False) is None
    assert not export_site(settings, out, built_at=built_at, cards=False, jobs=1).incremental
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, built_at=built_at, incremental=False, cards=False, jobs=1)
    assert_same_build(out, fresh)


@pytest.mark.parametrize("stopped", ["incremental", "quick"])
def test_a_build_stopped_halfway_is_followed_by_a_full_one(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopped: str
) -> None:
    # Ctrl-C during an incremental build left its new pages beside the last build's manifest;
    # after the edit was undone, the next build found nothing changed and kept them (an outside
    # review: 261 stale files). A build stopped halfway is now followed by a full one.
    text_linking(settings, {})
    out = tmp_path / "site"
    built_at = 1_780_000_000.0
    export_site(settings, out, built_at=built_at, cards=False, jobs=1)
    # A GitHub Pages checkout: the full build after the stop used to delete all of OUT.
    (out / "CNAME").write_text("nicepick.example\n")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/gh-pages\n")
    page = settings.content_dir / "n0.md"
    text = page.read_text()
    if stopped == "incremental":
        page.write_text(re.sub(r"^category: .*$", "category: Elsewhere", text, flags=re.M))
    else:
        page.write_text(text.replace("\n## Tool0a\n", "\nEdited.\n\n## Tool0a\n", 1))
    monkeypatch.setattr(Files, "write_name", stopping_after_one(Files.write_name))
    monkeypatch.setattr(quick_module, "_write", stopping_after_one(quick_module._write))
    with pytest.raises(KeyboardInterrupt):
        if stopped == "incremental":
            export_site(settings, out, cards=False, jobs=1)
        else:
            quick_build(settings, out, cards=False)
    monkeypatch.undo()
    page.write_text(text)  # the edit undone: only the stopped build's files differ now
    assert quick_build(settings, out, cards=False) is None
    assert not export_site(settings, out, built_at=built_at, cards=False, jobs=1).incremental
    assert (out / "CNAME").read_text() == "nicepick.example\n"
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/gh-pages\n"
    shutil.rmtree(out / ".git")
    (out / "CNAME").unlink()
    fresh = tmp_path / "fresh"
    export_site(settings, fresh, built_at=built_at, incremental=False, cards=False, jobs=1)
    assert_same_build(out, fresh)
    assert export_site(settings, out, cards=False, jobs=1).incremental  # whole again


def test_links_to_the_servers_own_pages_are_not_exported(
    settings: Settings, tmp_path: Path
) -> None:
    # Followed, they exported the build's own metrics (the server shows them only to
    # NICEPICK_METRICS_ALLOW), health checks that say "ok" forever, and a request form whose
    # server token expires after a day although the build promised its forms a year.
    text_linking(
        settings,
        {0: "\n\nSee [m](/metrics), [h](/healthz/), [r](/readyz) and [q](/request).\n"},
    )
    out = tmp_path / "site"
    export_site(settings, out, cards=False, jobs=1)
    assert (out / "compare/n0/index.html").is_file()
    for name in ("metrics", "healthz", "readyz", "request"):
        assert not (out / name).exists(), name


def test_a_page_number_on_a_page_without_pages_is_the_page_itself(
    settings: Settings, tmp_path: Path
) -> None:
    # The server ignores ?page=N there, as a static host ignores queries; the export wrote a
    # copy at x/page-N/, which stayed after the link was edited out.
    link = "\n\nSee [a](/feed.xml?page=3), [b](/tags?page=2) and [c](/compare/n1?page=2).\n"
    out, fresh = link_edited_out(settings, tmp_path, {0: link, 1: link}, link)
    for name in ("feed.xml/page-3", "tags/page-2", "compare/n1/page-2"):
        assert not (out / name).exists(), name
    assert (out / "tags/index.html").is_file() and (out / "compare/n1/index.html").is_file()
    assert_same_build(out, fresh)


def test_every_same_site_link_of_an_exported_page_names_a_file_of_the_export(
    exported: tuple[Settings, Path, ExportSummary],
) -> None:
    # An outside review: the search page's <link rel="alternate"> named /search.json, which
    # the export did not hold. Every href and src on the site's own host must be a file (or
    # a redirect the host is told of), whatever the query after it.
    from urllib.parse import urlsplit

    from bs4 import BeautifulSoup

    _settings, out, _summary = exported
    redirected = {
        line.split()[0] for line in (out / "_redirects").read_text().splitlines() if line.strip()
    }
    missing: dict[str, set[str]] = {}
    for page in out.rglob("*.html"):
        soup = BeautifulSoup(page.read_bytes(), "html.parser")
        for tag in soup.find_all(["a", "link", "script", "img"]):
            target = tag.get("href") or tag.get("src")
            if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
                continue
            parts = urlsplit(target)
            page_query = parts.query if parts.query.startswith("page=") else ""
            url = parts.path + (f"?{page_query}" if page_query else "")
            if output_path(out, url).is_file() or parts.path in redirected:
                continue
            missing.setdefault(target, set()).add(str(page.relative_to(out)))
    assert not missing, missing
