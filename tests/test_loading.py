"""Serving while a large library loads in the background (``NICEPICK_BACKGROUND_LOAD_ABOVE``).

The loader thread is held on an event, so each test sees the "still loading" state for as
long as it needs, then lets it finish and checks what the full library answers.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.site import Site
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


@pytest.fixture
def held(
    settings: Settings, write_content: Callable[[str, str], Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, threading.Event]]:
    """A client on a site whose background load waits until the event is set."""
    write_content("vim-vs-emacs.md", GOOD)
    write_content("python-vs-ruby.md", PYTHON)
    write_content("broken.md", "no front matter\n")
    release = threading.Event()
    real_load = Site.load

    def slow_load(self: Site, *args: object, **kwargs: object) -> None:
        release.wait(10)
        real_load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Site, "load", slow_load)
    settings = settings.model_copy(update={"background_load_above": 0})
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client, release
        release.set()


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


def test_listing_waits_for_the_whole_library(held: tuple[TestClient, threading.Event]) -> None:
    client, release = held
    answers: list[str] = []
    waiting = threading.Thread(target=lambda: answers.append(client.get("/").text))
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive() and not answers  # held by the gate, not answered partially
    release.set()
    waiting.join(10)
    titles = {
        a.get_text(strip=True) for a in BeautifulSoup(answers[0], "html.parser").find_all("a")
    }
    assert {"Vim vs Emacs", "Python vs Ruby"} <= titles


def test_unknown_or_broken_slug_waits_and_gets_the_library_answer(
    held: tuple[TestClient, threading.Event],
) -> None:
    client, release = held
    threading.Timer(0.3, release.set).start()
    assert client.get("/compare/broken").status_code == 404
    assert client.get("/compare/emacs-vs-vim").headers["location"] == (
        "https://nicepick.test/compare/vim-vs-emacs"
    )


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
