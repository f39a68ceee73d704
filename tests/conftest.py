"""Shared fixtures: settings on a temp folder, a site built from given files, a client.

Every test runs in its own temporary working directory with no ``NICEPICK_*`` variable of
the developer's shell in sight (``isolated``), so a local database URL or SMTP host never
leaks into the suite. Time is a ``FakeClock`` handed to ``create_app``; no test patches it.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

# PostgreSQL fixtures (pg_url, pg_module_url, pg_cluster) live in tests/pg.py; the SMTP
# server (smtp_server) in tests/smtp.py.
pytest_plugins = ["tests.pg", "tests.smtp"]

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
---
title: Vim vs Emacs
category: Dev Tools
summary: Two editors that outlived their rivals.
options: [Vim, Emacs]
pick: Vim
tags: [editors, terminal]
published: 2026-01-15
---
Both editors are older than most of their users.

## Vim
A modal editor.

### Pros
- Starts in **under 50 ms**
- Ships on nearly every Unix host as `vi`
### Cons
- Modal editing takes weeks to learn
### Related
- terminal

## Emacs
A Lisp machine that edits text.

### Pros
- Everything is programmable in Emacs Lisp
### Cons
- Default key chords strain the hands
### Related
- lisp

## Verdict
Pick by how you work.

### Use Vim if
You edit on remote servers.

### Use Emacs if
You want one program for mail, notes and code.

## Bottom line
Vim is everywhere you log in.
"""


class FakeClock:
    """A clock tests move by hand: ``create_app(settings, clock=clock)``."""

    def __init__(self, now: datetime = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def set(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer setting reaches a test, and nothing is written into the checkout."""
    for name in list(os.environ):
        if name.startswith("NICEPICK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def comparison_text(**overrides: str) -> str:
    """The GOOD comparison with front-matter lines replaced, e.g. ``pick="Nano"``."""
    lines = GOOD.splitlines()
    for key, value in overrides.items():
        lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line for line in lines]
    return "\n".join(lines) + "\n"


def add_notes(settings: Settings, slug: str, picks: list[str]) -> None:
    """Store a reader's note on ``slug`` for each pick, through the feedback store."""
    from app.feedback.store import FeedbackStore, NewNote

    store = FeedbackStore.from_url(settings.resolved_database_url)
    store.create_schema()
    try:
        for pick in picks:
            store.add_note(
                NewNote(
                    slug=slug,
                    title=slug,
                    our_pick="",
                    reader_pick=pick,
                    message="A message of some length",
                    name="",
                    email="",
                    page_hash="hash",
                    page_updated=None,
                )
            )
    finally:
        store.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    content = tmp_path / "content"
    content.mkdir()
    return Settings(
        content_dir=content,
        data_dir=tmp_path / "var",
        templates_dir=ROOT / "templates",
        static_dir=ROOT / "static",
        site_url="https://nicepick.test",
        redirect_host=False,  # TestClient's host is "testserver"; test_seo.py turns it on
        feedback_min_seconds=0,
        _env_file=None,
    )


@pytest.fixture
def write_content(settings: Settings) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = settings.content_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def client(settings: Settings, write_content: Callable[[str, str], Path]) -> Iterator[TestClient]:
    write_content("vim-vs-emacs.md", GOOD)
    with TestClient(create_app(settings), follow_redirects=False) as test_client:
        yield test_client


SiteMaker = Callable[..., TestClient]


@pytest.fixture
def make_site(settings: Settings) -> Iterator[SiteMaker]:
    """``make_site({"a-vs-b.md": text}, clock=FakeClock(), drafts=True)``: a started client on
    a site built from those files, with those settings changed; closed after the test."""
    started: list[TestClient] = []

    def make(
        files: Mapping[str, str], *, clock: FakeClock | None = None, **overrides: object
    ) -> TestClient:
        configured = settings.model_copy(update=overrides)
        for name, text in files.items():
            path = configured.content_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        app = create_app(configured, clock=clock or FakeClock(datetime.now(UTC)))
        client = TestClient(app, follow_redirects=False)
        started.append(client.__enter__())
        return client

    yield make
    for client in started:
        client.__exit__(None, None, None)
