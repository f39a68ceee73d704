"""The site runs from any working directory: templates and static files come with the package,
so ``nicepick serve --content DIR`` started in an unrelated folder serves every page."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.conftest import GOOD
from tests.live import live_server


def test_default_template_and_static_folders_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert (settings.templates_dir / "compare.html").is_file()
    assert (settings.static_dir / "site.css").is_file()


def test_serve_started_outside_the_checkout_answers_every_page(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    content = elsewhere / "guides"
    content.mkdir(parents=True)
    (content / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    # Only what an operator would pass: no template or static folder, paths relative to cwd.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICEPICK_")}
    env["NICEPICK_SECRET_KEY"] = "anywhere-test-secret-key-0123456789abcdef"
    args = ("--content", "guides", "--log-level", "warning")
    with live_server(env, tmp_path / "serve.log", args=args, cwd=elsewhere) as server:
        for path in ("/", "/compare/vim-vs-emacs", "/compare/vim-vs-emacs.json", "/docs"):
            response = httpx.get(server.url + path, timeout=10)
            assert response.status_code == 200, (path, response.text[:300])
        page = httpx.get(server.url + "/compare/vim-vs-emacs", timeout=10).text
        css = page.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
        assert httpx.get(server.url + css, timeout=10).status_code == 200
    assert (elsewhere / "var").is_dir()  # the data folder is the operator's, next to the cwd
