"""``nicepick build``: the exported files, their compressed siblings, and server parity."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

import brotli
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.cli import main
from app.commands.export import ExportSummary, export_site, output_path
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD, comparison_text

NANO = (
    comparison_text(title="Nano vs Micro", category="Text Editors", tags="[editors, beginner]")
    .replace("Vim", "Nano")
    .replace("Emacs", "Micro")
)


@pytest.fixture
def exported(
    settings: Settings, write_content: Callable[[str, str], Path], tmp_path: Path
) -> tuple[Settings, Path, ExportSummary]:
    write_content("vim-vs-emacs.md", GOOD)
    write_content("nano-vs-micro.md", NANO)
    settings = settings.model_copy(update={"feedback_endpoint": "https://notes.nicepick.test"})
    out = tmp_path / "site"
    summary = export_site(settings, out)
    return settings, out, summary


def test_output_paths() -> None:
    out = Path("/o")
    assert output_path(out, "/") == Path("/o/index.html")
    assert output_path(out, "/compare/a-vs-b") == Path("/o/compare/a-vs-b/index.html")
    assert output_path(out, "/tag/x?page=2") == Path("/o/tag/x/page-2/index.html")
    assert output_path(out, "/?page=3") == Path("/o/page-3/index.html")
    assert output_path(out, "/sitemap.xml") == Path("/o/sitemap.xml")
    assert output_path(out, "/static/site.0123456789.css") == Path("/o/static/site.0123456789.css")


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
    """The feedback form's signed token carries its issue time; everything else must match."""
    return re.sub(rb'name="token" value="[^"]*"', b'name="token" value=""', html)


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
    assert "files" in captured.err  # the progress line
    sitemap = (out / "sitemap.xml").read_text()
    assert "https://static.nicepick.test/compare/vim-vs-emacs" in sitemap
