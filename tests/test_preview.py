"""Live preview: a real ``nicepick serve --reload`` sees edits, shows broken files, pushes events."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from app.content import parse as parse_module
from app.content.library import Library
from app.content.model import Comparison, Problem
from app.content.watch import Watcher
from app.render.assets import Assets
from app.render.page_cache import PageCache
from app.site import Site
from app.web.preview import apply_changes
from tests.conftest import GOOD
from tests.live import eventually, live_server, server_env

SLUG = "vim-vs-emacs"


@dataclass
class Preview:
    url: str
    content: Path
    log: Path


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Preview]:
    root = tmp_path_factory.mktemp("preview")
    content = root / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    env = server_env(root / "var")
    args = ("--reload", "--content", str(content))  # the flag, not the variable, names the folder
    with live_server(env, root / "server.log", args=args, cwd=root, timeout=30) as server:
        yield Preview(server.url, content, server.log)


@pytest.fixture
def page_file(preview: Preview) -> Iterator[Path]:
    """The comparison's file; put back as it was after each test."""
    path = preview.content / f"{SLUG}.md"
    yield path
    path.write_text(GOOD, encoding="utf-8")
    assert eventually(lambda: httpx.get(f"{preview.url}/compare/{SLUG}").status_code == 200)


@pytest.mark.slow
def test_pages_carry_the_preview_script(preview: Preview) -> None:
    page = BeautifulSoup(httpx.get(f"{preview.url}/compare/{SLUG}").text, "html.parser")
    script = page.find("script", src=lambda src: bool(src) and "/static/preview." in src)
    assert script is not None
    inline = page.find_all("script", src=False)  # only data blocks: the CSP forbids inline code
    assert all(tag.get("type") == "application/ld+json" for tag in inline)
    js = httpx.get(f"{preview.url}{script['src']}")
    assert js.status_code == 200 and "EventSource" in js.text


@pytest.mark.slow
def test_saved_edit_is_served_on_the_next_request(preview: Preview, page_file: Path) -> None:
    page_file.write_text(GOOD.replace("Vim is everywhere", "Vim is truly everywhere"))
    # Speed is the benchmarks' business; here the change must simply arrive, without restart.
    assert eventually(
        lambda: "Vim is truly everywhere" in httpx.get(f"{preview.url}/compare/{SLUG}").text
    )
    assert "reloaded" in preview.log.read_text()


@pytest.mark.slow
def test_broken_file_shows_an_error_page_with_path_line_and_lines(
    preview: Preview, page_file: Path
) -> None:
    page_file.write_text(GOOD.replace("pick: Vim", "pick: Nano"))
    assert eventually(lambda: httpx.get(f"{preview.url}/compare/{SLUG}").status_code == 422)
    page = BeautifulSoup(httpx.get(f"{preview.url}/compare/{SLUG}").text, "html.parser")
    location = page.select_one(".preview-problem h2 code")
    assert location is not None and location.get_text().endswith(f"{SLUG}.md:6:7")
    assert 'pick "Nano" is not one of the options (Vim, Emacs)' in page.get_text()
    hit = page.select_one(".preview-excerpt .hit")
    assert hit is not None and hit.get_text() == "   6 | pick: Nano"
    assert len(page.select(".preview-excerpt span")) == 7  # three lines either side


@pytest.mark.slow
def test_event_stream_announces_a_change(preview: Preview, page_file: Path) -> None:
    events: queue.Queue[str] = queue.Queue()

    def listen() -> None:
        with httpx.stream("GET", f"{preview.url}/__preview/events", timeout=10) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("event: "):
                    events.put(line.removeprefix("event: "))
                    if line == "event: change":
                        return

    threading.Thread(target=listen, daemon=True).start()
    assert events.get(timeout=5) == "hello"
    page_file.write_text(GOOD.replace("A modal editor.", "A modal editor from 1991."))
    assert events.get(timeout=5) == "change"


# --- in-process: one file re-parsed, caches follow -----------------------------------------


def test_reload_file_reparses_only_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vim-vs-emacs.md").write_text(GOOD)
    other = tmp_path / "vim-or-emacs.md"
    other.write_text(GOOD)
    library = Library.scan(tmp_path)
    assert [p.message for p in library.problems] == [
        # Shown relative to the working directory, which is tmp_path (tests/conftest.py).
        "vim-or-emacs.md already compares the same options (Vim, Emacs)"
    ]
    parsed: list[str] = []
    real = parse_module.parse_text

    def spy(
        text: str,
        *,
        path: str,
        slug: str,
        today: date | None = None,
        content_hash: str | None = None,
    ) -> tuple[Comparison | None, list[Problem]]:
        parsed.append(path)
        return real(text, path=path, slug=slug, today=today, content_hash=content_hash)

    monkeypatch.setattr("app.content.sources.parse_text", spy)
    version = library.version
    other.write_text(GOOD.replace("Vim", "Vi"))
    library.reload_file(other)
    assert parsed == [str(other.relative_to(tmp_path))]
    assert library.version == version + 1
    assert sorted(library.comparisons) == ["vim-or-emacs", "vim-vs-emacs"]
    assert library.problems == []  # the cross-file index was rebuilt: no more collision
    other.unlink()
    library.reload_file(other)
    assert sorted(library.comparisons) == ["vim-vs-emacs"]
    assert parsed == [str(other.relative_to(tmp_path))]


def test_watcher_applies_content_template_and_static_changes(
    tmp_path: Path, settings_factory: Callable[[Path], Site]
) -> None:
    site = settings_factory(tmp_path)
    settings = site.settings
    cache, assets = PageCache(), Assets(settings.static_dir)
    watcher = Watcher(
        content_dir=settings.content_dir,
        templates_dir=settings.templates_dir,
        static_dir=settings.static_dir,
        apply=partial(apply_changes, site=site, cache=cache, assets=assets),
    )
    watcher.start()
    watcher.stop()  # snapshots taken; drive polls by hand
    version = site.library.version
    (site.settings.content_dir / "vim-vs-emacs.md").write_text(GOOD.replace("pick: Vim", "pick: X"))
    changes = watcher.poll()
    assert changes.content and not changes.templates
    assert site.library.version == version + 1 and site.library.comparisons == {}
    cache.get_or_render("k", lambda: b"page")
    (site.settings.templates_dir / "extra.html").write_text("x")
    assert watcher.poll().templates and len(cache) == 0
    assets.url("site.css")
    cache.get_or_render("k", lambda: b"page")
    (site.settings.static_dir / "site.css").write_text("body{}")
    assert watcher.poll().static and len(assets) == 0 and len(cache) == 0
    assert not watcher.poll()
    assert watcher.generation == 3


@pytest.fixture
def settings_factory() -> Callable[[Path], Site]:
    from app.settings import Settings

    def make(root: Path) -> Site:
        for name in ("content", "templates", "static"):
            (root / name).mkdir()
        (root / "content" / "vim-vs-emacs.md").write_text(GOOD)
        (root / "static" / "site.css").write_text("")
        site = Site(
            Settings(
                content_dir=root / "content",
                templates_dir=root / "templates",
                static_dir=root / "static",
                data_dir=root / "var",
                reload=True,
                _env_file=None,
            )
        )
        site.load()
        return site

    return make
