"""Instances on one shared database sign form tokens with one key, or do not start.

Two real ``nicepick serve`` processes on one real PostgreSQL database: without
``NICEPICK_SECRET_KEY`` each used to generate its own key, so a note posted to the instance
that did not render the page got a 422. Now such an instance refuses to start and names the
setting; with the setting, a page from one instance posts through the other.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from app.db import make_engine, upgrade
from app.feedback.store import notes
from app.feedback.tokens import SecretKeyRequired, load_secret
from tests.conftest import GOOD, ROOT
from tests.pg import free_port, scratch_database
from tests.proxy import Instance

SLUG = "vim-vs-emacs"


@pytest.mark.parametrize(
    ("url", "shared"),
    [
        ("sqlite:///{data}/nicepick.sqlite3", False),
        ("sqlite:///{data}/sub/notes.db", False),
        ("sqlite://", False),
        ("sqlite:///{other}/nicepick.sqlite3", True),  # a file other data folders may use
        ("postgresql+psycopg://user@db.internal/nicepick", True),
        ("mysql+pymysql://user@db/nicepick", True),
    ],
)
def test_a_key_is_generated_only_for_a_database_of_this_data_folder(
    tmp_path: Path, url: str, shared: bool
) -> None:
    data, other = tmp_path / "var", tmp_path / "elsewhere"
    database_url = url.format(data=data, other=other)
    if shared:
        with pytest.raises(SecretKeyRequired, match="NICEPICK_SECRET_KEY"):
            load_secret(None, data, database_url=database_url)
        assert not (data / "secret_key").exists()
    else:
        key = load_secret(None, data, database_url=database_url)
        assert len(key) >= 32 and (data / "secret_key").read_text().strip() == key
    assert load_secret("configured", data, database_url=database_url) == "configured"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    with scratch_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def environment(root: Path, url: str, number: int, **extra: str) -> dict[str, str]:
    content = root / "content"
    content.mkdir(exist_ok=True)
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    return {
        "PATH": "/usr/bin:/bin",
        "NICEPICK_DATABASE_URL": url,
        "NICEPICK_CONTENT_DIR": str(content),
        "NICEPICK_DATA_DIR": str(root / f"instance{number}"),  # each host has its own
        "NICEPICK_TEMPLATES_DIR": str(ROOT / "templates"),
        "NICEPICK_STATIC_DIR": str(ROOT / "static"),
        "NICEPICK_FEEDBACK_MIN_SECONDS": "0",
        **extra,
    }


@pytest.mark.slow
@pytest.mark.postgres
def test_without_a_shared_key_an_instance_on_postgresql_refuses_to_start(
    tmp_path: Path, database: str
) -> None:
    env = environment(tmp_path, database, 0)
    command = [sys.executable, "-m", "app", "serve", "--port", str(free_port())]
    try:
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("an instance without NICEPICK_SECRET_KEY started on a shared database")
    assert run.returncode == 1
    assert "NICEPICK_SECRET_KEY" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "instance0" / "secret_key").exists()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_page_from_one_instance_posts_through_the_other(tmp_path: Path, database: str) -> None:
    key = {"NICEPICK_SECRET_KEY": "one-key-for-both-instances-0123456789"}
    instances = [
        Instance(free_port(), environment(tmp_path, database, n, **key), tmp_path / f"{n}.log")
        for n in range(2)
    ]
    try:
        for instance in instances:
            instance.start()
        first, second = instances
        page = BeautifulSoup(
            httpx.get(f"{first.url}/compare/{SLUG}", timeout=10).text, "html.parser"
        )
        token = page.select_one('#feedback input[name="token"]')
        assert token is not None
        form = {
            "option": "Emacs",
            "message": "Rendered by one, posted to the other.",
            "token": str(token["value"]),
        }
        response = httpx.post(f"{second.url}/compare/{SLUG}/feedback", data=form, timeout=10)
        assert response.status_code == 303, response.text[:300]
    finally:
        for instance in instances:
            instance.stop()
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(notes)).scalar_one()
    finally:
        engine.dispose()
    assert stored == 1
    assert os.listdir(tmp_path / "instance0").count("secret_key") == 0
