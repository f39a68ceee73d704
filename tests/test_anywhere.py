"""The site runs from any working directory: templates and static files come with the package,
so ``nicepick serve --content DIR`` started in an unrelated folder serves every page."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
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


@pytest.mark.slow
def test_the_wheel_carries_every_module_template_and_asset(tmp_path: Path) -> None:
    """A wheel built from the checkout holds every module of ``app/`` and, inside the package,
    the top-level templates and static files, which its settings then find on their own."""
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("nicepick-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    modules = {p.relative_to(root).as_posix() for p in (root / "app").rglob("*.py")}
    assert modules - names == set()
    for folder in ("templates", "static"):
        shipped = {f"app/{folder}/{p.name}" for p in (root / folder).iterdir() if p.is_file()}
        assert shipped and shipped - names == set()
    probe = (
        "from app.settings import Settings; s = Settings(_env_file=None); "
        "print(s.templates_dir); print(s.static_dir)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICEPICK_")}
    env["PYTHONPATH"] = str(tmp_path / "site")
    found = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert found == [
        str(tmp_path / "site" / "app" / "templates"),
        str(tmp_path / "site" / "app" / "static"),
    ]
