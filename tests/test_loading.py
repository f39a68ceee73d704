"""Serving while a large library loads in the background (``NICEPICK_BACKGROUND_LOAD_ABOVE``).

The site reads its folder through ``read_library``; these tests pass one that waits on an
event, so each test sees the "still loading" state for as long as it needs, then lets it
finish and checks what the full library answers.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.content.cache import ParseCache
from app.content.library import Library
from app.content.model import Comparison
from app.content.sources import SourceFile
from app.main import create_app
from app.settings import Settings
from app.site import ReadLibrary, Site, group_every_kind
from tests.conftest import GOOD, comparison_text
from tests.soup import text

PYTHON = (
    comparison_text(
        title="Python vs Ruby", options="[Python, Ruby]", pick="Python", category="Languages"
    )
    .replace("## Vim", "## Python")
    .replace("## Emacs", "## Ruby")
)
PYTHON = PYTHON.replace("### Use Vim if", "### Use Python if").replace(
    "### Use Emacs if", "### Use Ruby if"
)


def held_reader(release: threading.Event) -> ReadLibrary:
    """``Library.load`` that first waits until ``release`` is set."""

    def read(
        content_dir: Path,
        cache: ParseCache | None = None,
        *,
        sources: list[SourceFile] | None = None,
        yield_every: int = 0,
    ) -> Library:
        release.wait(10)
        return Library.load(content_dir, cache, sources=sources, yield_every=yield_every)

    return read


@pytest.fixture
def held(
    settings: Settings, write_content: Callable[[str, str], Path]
) -> Iterator[tuple[TestClient, threading.Event]]:
    """A client on a site whose background load waits until the event is set."""
    write_content("vim-vs-emacs.md", GOOD)
    write_content("python-vs-ruby.md", PYTHON)
    write_content("broken.md", "no front matter\n")
    release = threading.Event()
    settings = settings.model_copy(update={"background_load_above": 0})
    app = create_app(settings, read_library=held_reader(release))
    with TestClient(app, follow_redirects=False) as client:
        yield client, release
        release.set()


def wait_until_held(caplog: pytest.LogCaptureFixture, path: str) -> None:
    """Return once the site has logged that a request for ``path`` waits for the library."""
    deadline = time.monotonic() + 10
    while not any(r.getMessage() == f"GET {path} waits for the library" for r in caplog.records):
        assert time.monotonic() < deadline, f"GET {path} never reached the loading gate"
        time.sleep(0.01)


def test_comparison_page_is_served_from_its_file_before_the_library_is_loaded(
    held: tuple[TestClient, threading.Event],
) -> None:
    client, release = held
    assert client.get("/healthz").status_code == 503  # still loading
    early = client.get("/compare/vim-vs-emacs")
    assert early.status_code == 200
    assert early.headers["cache-control"] == "no-store"
    assert "etag" not in early.headers
    assert text(BeautifulSoup(early.text, "html.parser"), "h1").strip() == "Vim vs Emacs"
    release.set()
    client.app.state.site.loaded.wait(10)  # type: ignore[attr-defined]
    full = client.get("/compare/vim-vs-emacs")
    assert full.status_code == 200 and "etag" in full.headers
    assert client.get("/healthz").status_code == 200


def test_listing_waits_for_the_whole_library(
    held: tuple[TestClient, threading.Event], caplog: pytest.LogCaptureFixture
) -> None:
    client, release = held
    caplog.set_level(logging.DEBUG, logger="app.web.loading")
    answers: list[str] = []
    waiting = threading.Thread(target=lambda: answers.append(client.get("/").text))
    waiting.start()
    wait_until_held(caplog, "/")
    assert not answers  # held by the gate (the load is still held), not answered partially
    release.set()
    waiting.join(10)
    titles = {
        a.get_text(strip=True) for a in BeautifulSoup(answers[0], "html.parser").find_all("a")
    }
    assert {"Vim vs Emacs", "Python vs Ruby"} <= titles


def test_unknown_or_broken_slug_waits_and_gets_the_library_answer(
    held: tuple[TestClient, threading.Event], caplog: pytest.LogCaptureFixture
) -> None:
    client, release = held
    caplog.set_level(logging.DEBUG, logger="app.web.pages")
    # Parsed alone, neither file gives a page: the route waits for the library, which decides.
    answers: dict[str, tuple[int, str | None]] = {}

    def ask(path: str) -> None:
        answer = client.get(path)
        answers[path] = (answer.status_code, answer.headers.get("location"))

    paths = ("/compare/broken", "/compare/emacs-vs-vim")
    asking = [threading.Thread(target=ask, args=(path,)) for path in paths]
    for thread in asking:
        thread.start()
    for path in paths:
        wait_until_held(caplog, path)
    assert not answers
    release.set()
    for thread in asking:
        thread.join(10)
    assert answers == {
        "/compare/broken": (404, None),
        "/compare/emacs-vs-vim": (301, "https://nicepick.test/compare/vim-vs-emacs"),
    }


def test_a_loaded_library_is_left_out_of_garbage_collection_walks(
    settings: Settings, write_content: Callable[[str, str], Path]
) -> None:
    # A full collection walks every tracked object; with 10,000 comparisons that stalled all
    # requests for 100+ ms at a time. Loaded comparisons are moved out of those walks.
    write_content("vim-vs-emacs.md", GOOD)
    site = Site(settings)
    site.load()
    comparison = site.library.comparisons["vim-vs-emacs"]
    assert gc.is_tracked(comparison.options)
    assert gc.get_freeze_count() > 0
    assert not any(tracked is comparison.options for tracked in gc.get_objects())


def test_a_failed_background_load_is_logged_kept_unhealthy_and_retried(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    write_content("vim-vs-emacs.md", GOOD)
    attempts: list[int] = []
    healed = threading.Event()

    def failing(
        content_dir: Path,
        cache: ParseCache | None = None,
        *,
        sources: list[SourceFile] | None = None,
        yield_every: int = 0,
    ) -> Library:
        attempts.append(1)
        if not healed.is_set():
            raise OSError("disk went away")
        return Library.load(content_dir, cache, sources=sources, yield_every=yield_every)

    settings = settings.model_copy(update={"background_load_above": 0})
    app = create_app(settings, read_library=failing)
    app.state.site.load_retry_seconds = (0.01,)
    with TestClient(app, follow_redirects=False) as client:
        deadline = time.monotonic() + 10
        while len(attempts) < 2:  # failed, and retried
            assert time.monotonic() < deadline, "the load was not retried"
            time.sleep(0.01)
        assert client.get("/healthz").status_code == 503  # never "ok" on an empty library
        assert any("disk went away" in (r.exc_text or "") for r in caplog.records)
        healed.set()
        assert app.state.site.loaded.wait(10)
        assert client.get("/healthz").status_code == 200
        assert client.get("/compare/vim-vs-emacs").status_code == 200


def test_requests_waiting_for_the_library_hold_no_page_threads(
    held: tuple[TestClient, threading.Event], caplog: pytest.LogCaptureFixture
) -> None:
    client, release = held
    caplog.set_level(logging.DEBUG, logger="app.web.pages")
    caplog.set_level(logging.DEBUG, logger="app.web.twins")
    site: Site = client.app.state.site  # type: ignore[attr-defined]
    # More unknown slugs than AnyIO's 40 threads that run sync routes, the HTML page and its
    # JSON twin: each waits for the library to decide. Waits that held a thread each took
    # every thread, so some of these never started and the real page below waited too.
    pages = [f"/compare/unknown-{n}" for n in range(50)]
    twins = [f"/compare/unknown-{n}.json" for n in range(20)]
    answers: dict[str, int] = {}

    def ask(path: str) -> None:
        answers[path] = client.get(path).status_code

    asking = [threading.Thread(target=ask, args=(path,)) for path in pages + twins]
    for thread in asking:
        thread.start()
    for path in pages + twins:
        wait_until_held(caplog, path)
    # A real page is still served from its file at once, while the load is held.
    early = client.get("/compare/vim-vs-emacs")
    assert early.status_code == 200
    assert not site.loaded.is_set(), "the page waited for the load: its threads were taken"
    release.set()
    for thread in asking:
        thread.join(10)
    assert answers == dict.fromkeys(pages + twins, 404)


def test_grouping_every_kind_at_once_gives_library_group_for_each(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    (content / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    nano = comparison_text(title="Nano vs Micro", tags="[editors, beginners]")
    nano = nano.replace("Vim", "Nano").replace("Emacs", "Micro")
    (content / "nano-vs-micro.md").write_text(nano, encoding="utf-8")
    (content / "vim-vs-nano.md").write_text(
        comparison_text(title="Vim vs Nano", category="Terminal").replace("Emacs", "Nano"),
        encoding="utf-8",
    )
    library = Library.load(content)
    comparisons = library.visible(drafts=True)
    assert len(comparisons) == 3
    every = group_every_kind(comparisons)
    for kind in ("category", "tag", "option"):
        assert every[kind] == Library.group(comparisons, kind)
        assert list(every[kind]) == list(Library.group(comparisons, kind))  # same order
    assert set(every["option"]) == {"vim", "emacs", "nano", "micro"}


def test_requests_arriving_together_group_the_library_once(
    settings: Settings,
    write_content: Callable[[str, str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Right after a load, the loading thread's warm-up and the first requests all ask for the
    # groups: at 100,000 comparisons grouping twice cost 0.4 s of the warm start.
    write_content("vim-vs-emacs.md", GOOD)
    site = Site(settings)
    site.load(search=False)
    calls: list[str] = []

    def slow_grouping(comparisons: list[Comparison]) -> dict[str, dict[str, list[Comparison]]]:
        calls.append(threading.current_thread().name)
        time.sleep(0.2)  # long enough for every other thread to arrive meanwhile
        return group_every_kind(comparisons)

    monkeypatch.setattr("app.site.group_every_kind", slow_grouping)
    site.load(search=False)  # a new library version: the groups are made again
    found: list[dict[str, list[Comparison]]] = []
    threads = [
        threading.Thread(target=lambda: found.append(site.grouped("category"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert all(groups is found[0] for groups in found)
    assert [c.slug for c in found[0]["dev-tools"]] == ["vim-vs-emacs"]
