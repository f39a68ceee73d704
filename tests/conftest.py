"""Shared fixtures: settings on a temp folder, a site built from given files, a client."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
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


def comparison_text(**overrides: str) -> str:
    """The GOOD comparison with front-matter lines replaced, e.g. ``pick="Nano"``."""
    lines = GOOD.splitlines()
    for key, value in overrides.items():
        lines = [f"{key}: {value}" if line.startswith(f"{key}:") else line for line in lines]
    return "\n".join(lines) + "\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    content = tmp_path / "content"
    content.mkdir()
    return Settings(
        content_dir=content,
        data_dir=tmp_path / "var",
        templates_dir=ROOT / "app" / "templates",
        static_dir=ROOT / "app" / "static",
        site_url="https://nicepick.test",
        redirect_host=False,  # TestClient's host is "testserver"; test_seo.py turns it on
        feedback_min_seconds=0,
        _env_file=None,  # type: ignore[call-arg]
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
