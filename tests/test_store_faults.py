"""Store faults as readers and probes see them: a corrupt or locked SQLite file, a table gone
from PostgreSQL, long titles and option names, a data folder that cannot be written.

Every failed note is a page with the form and the reader's text (503, or 500 for a fault that
is not the database's), answered within ``NICEPICK_DATABASE_TIMEOUT`` plus a second, and
``/readyz`` says 503 whenever a note could not be stored.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import httpx2
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from app.cli import main
from app.content.model import slugify
from app.content.parse import MAX_ADDRESS, MAX_TITLE
from app.db import make_engine, upgrade
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD
from tests.live import live_server, server_env

SLUG = "vim-vs-emacs"
MESSAGE = "Emacs has Org mode, and nothing in Vim comes close."


# A database beyond the data folder is shared: instances must share the form-token key.
SHARED_KEY = "store-fault-tests-shared-key-0123456789"


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def form_fields(page_html: str, message: str = MESSAGE, option: str = "Emacs") -> dict[str, str]:
    """What a reader's browser sends: the page's hidden fields plus what they typed."""
    form = soup(page_html).select_one("#feedback form")
    assert form is not None
    fields = {str(f["name"]): str(f.get("value", "")) for f in form.select("input[type=hidden]")}
    fields.update(option=option, message=message, website="")
    return fields


def assert_form_kept(response: httpx.Response | httpx2.Response, message: str) -> None:
    """The answer is the comparison page with the form, the reader's text and a notice."""
    page = soup(response.text)
    textarea = page.select_one("#feedback textarea[name=message]")
    assert textarea is not None, response.text[:300]
    assert textarea.get_text() == message
    alert = page.select_one("#feedback-errors[role=alert]")
    assert alert is not None and "not sent yet" in alert.get_text()


@pytest.fixture
def sqlite_settings(settings: Settings, write_content: Callable[[str, str], Path]) -> Settings:
    write_content(f"{SLUG}.md", GOOD)
    return settings.model_copy(update={"feedback_rate": "100/minute", "database_timeout": 1.0})


def sqlite_file(settings: Settings) -> Path:
    return settings.data_dir / "nicepick.sqlite3"


# --- a corrupt SQLite file ----------------------------------------------------------------------


def corrupt(path: Path) -> None:
    """Garbage over the whole file and its WAL, as a bad disk or a stray copy leaves it."""
    path.write_bytes(b"this is not a database " * 400)
    for name in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists():
            name.write_bytes(b"this is not a database " * 400)


@pytest.mark.parametrize("when", ["before the start", "while serving"])
def test_a_corrupt_sqlite_file_answers_503_with_the_form_and_readyz_says_so(
    sqlite_settings: Settings, when: str
) -> None:
    path = sqlite_file(sqlite_settings)
    if when == "before the start":
        path.parent.mkdir(parents=True)
        corrupt(path)
    with TestClient(create_app(sqlite_settings), follow_redirects=False) as client:
        fields = form_fields(client.get(f"/compare/{SLUG}").text)
        if when == "while serving":
            corrupt(path)
        response = client.post(f"/compare/{SLUG}/feedback", data=fields)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "30"
        assert_form_kept(response, MESSAGE)
        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.text
        # Pages need no database.
        assert client.get(f"/compare/{SLUG}").status_code == 200


# --- a locked SQLite file -----------------------------------------------------------------------


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another program holds a write transaction on the file (a backup tool, a stuck script)."""
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("DELETE FROM feedback_rate_hits")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_locked_sqlite_file_answers_every_concurrent_note_503_within_the_timeout(
    tmp_path: Path,
) -> None:
    timeout = 1.0
    content = tmp_path / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    env = server_env(
        tmp_path / "var",
        content_dir=content,
        NICEPICK_DATABASE_TIMEOUT=str(timeout),
        NICEPICK_FEEDBACK_RATE="1000/minute",
    )
    # More notes at once than the database has threads (pool 5 + overflow 5). One client,
    # made beforehand: a new one per request spends the test's CPU on TLS contexts.
    readers = 14
    answers: dict[int, tuple[int, float, httpx.Response | None]] = {}
    with (
        live_server(env, tmp_path / "server.log") as server,
        httpx.Client(timeout=timeout + 5, limits=httpx.Limits(max_connections=readers)) as http,
    ):
        fields = form_fields(http.get(f"{server.url}/compare/{SLUG}").text)

        def post(number: int) -> None:
            message = f"{MESSAGE} Reader {number}."
            started = time.monotonic()
            try:
                response: httpx.Response | None = http.post(
                    f"{server.url}/compare/{SLUG}/feedback", data={**fields, "message": message}
                )
            except httpx.TimeoutException:
                response = None
            answers[number] = (
                response.status_code if response else 0,
                time.monotonic() - started,
                response,
            )

        with write_locked(tmp_path / "var" / "nicepick.sqlite3"):
            threads = [threading.Thread(target=post, args=(n,)) for n in range(readers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            ready = http.get(f"{server.url}/readyz")
            assert ready.status_code == 503, ready.text
            assert "database" in ready.text

        slowest = max(seconds for _, seconds, _ in answers.values())
        assert {status for status, _, _ in answers.values()} == {503}, answers
        assert slowest <= timeout + 1.0, f"slowest answer took {slowest:.2f} s"
        for number, (_, _, response) in answers.items():
            assert response is not None
            assert_form_kept(response, f"{MESSAGE} Reader {number}.")

        # The lock is gone: the very next note is stored, and the instance is ready again.
        after = http.post(f"{server.url}/compare/{SLUG}/feedback", data=fields)
        assert after.status_code == 303
        assert http.get(f"{server.url}/readyz").status_code == 200


@pytest.mark.postgres
def test_a_locked_notes_table_on_postgresql_answers_503_within_the_timeout(
    sqlite_settings: Settings, pg_url: str
) -> None:
    """An operator's LOCK TABLE (or a long ALTER): PostgreSQL would make the note wait forever."""
    engine = make_engine(pg_url)
    upgrade(engine)
    settings = sqlite_settings.model_copy(update={"database_url": pg_url, "secret_key": SHARED_KEY})
    with TestClient(create_app(settings), follow_redirects=False) as client:
        fields = form_fields(client.get(f"/compare/{SLUG}").text)
        with engine.connect() as holder, holder.begin():
            holder.execute(text("LOCK TABLE feedback_notes IN EXCLUSIVE MODE"))
            started = time.monotonic()
            response = client.post(f"/compare/{SLUG}/feedback", data=fields)
            seconds = time.monotonic() - started
            assert response.status_code == 503
            assert seconds <= settings.database_timeout + 1.0, f"took {seconds:.2f} s"
            assert_form_kept(response, MESSAGE)
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "cannot be written" in ready.text
        assert client.post(f"/compare/{SLUG}/feedback", data=fields).status_code == 303
        assert client.get("/readyz").status_code == 200
    engine.dispose()


# --- a data folder that cannot be written ------------------------------------------------------


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@contextmanager
def read_only(disk: Path) -> Iterator[None]:
    """The folder turns read-only under the running site (a read-only bind mount onto itself;
    Linux refuses to remount a file system read-only while files are open for writing)."""
    mount("--bind", str(disk), str(disk))
    try:
        mount("-o", "remount,bind,ro", str(disk))
        yield
    finally:
        # Lazily: a connection the pool made during the fault (SQLite opens the file
        # read-only then) keeps it open until the pool replaces it (app/db.py).
        subprocess.run(["umount", "--lazy", str(disk)], check=True)


@contextmanager
def full(disk: Path) -> Iterator[None]:
    """Every free block of the file system taken by a file of someone else's."""
    filler = disk / "someone-elses-file"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"x" * 65536)
                handle.flush()
        except OSError:
            pass
    try:
        yield
    finally:
        filler.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB file system of the test's own (tmpfs), to fill up or to turn read-only."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a file system of the test's own needs root")
    mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder))
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.mark.parametrize(
    ("fault", "note_status"),
    [
        # Files open before the remount keep taking writes: the note is stored in the open
        # database file, but no new file (a mail, a cache) can be made; a connection made
        # meanwhile (the request's, when the outbox holds the other) reads only: then 503.
        pytest.param(read_only, (303, 503), id="read-only"),
        pytest.param(full, (503,), id="full"),
    ],
)
def test_a_data_folder_that_cannot_be_written_makes_readyz_503(
    sqlite_settings: Settings,
    small_disk: Path,
    fault: Callable[[Path], AbstractContextManager[None]],
    note_status: tuple[int, ...],
) -> None:
    data = small_disk / "var"
    data.mkdir()
    settings = sqlite_settings.model_copy(update={"data_dir": data})
    with TestClient(create_app(settings), follow_redirects=False) as client:
        fields = form_fields(client.get(f"/compare/{SLUG}").text)
        assert client.get("/readyz").status_code == 200
        with fault(small_disk):
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert f"{data} cannot be written" in ready.text
            response = client.post(f"/compare/{SLUG}/feedback", data=fields)
            assert response.status_code in note_status
            if response.status_code == 503:
                assert_form_kept(response, MESSAGE)
        assert client.get("/readyz").status_code == 200
        again = {**fields, "message": f"{MESSAGE} Once more."}
        assert client.post(f"/compare/{SLUG}/feedback", data=again).status_code == 303


def test_a_connection_made_while_the_folder_was_read_only_is_replaced_after(
    small_disk: Path,
) -> None:
    # The CI caught it once: the pool made a connection during the fault, SQLite opened the
    # file read-only, and that connection refused every note after the folder was mended.
    data = small_disk / "var"
    data.mkdir()
    engine = make_engine(f"sqlite:///{data / 'notes.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE kept (note TEXT)"))
    # Another connection holds the file open (the outbox's, say), as in the running site.
    with engine.connect() as holder:
        holder.execute(text("SELECT count(*) FROM kept"))
        with read_only(small_disk), engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM kept")).scalar() == 0
    for _attempt in range(2):  # the pool hands out each of its two connections in turn
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO kept VALUES ('stored')"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM kept")).scalar() == 2
    engine.dispose()


# --- PostgreSQL: long names, a store error that is not an outage --------------------------------

# The longest names `nicepick check` accepts: an option whose page address is 100 characters
# (``MAX_ADDRESS``), a file name of 97, and a title of 150 (``MAX_TITLE``).
LONG_NAME = "Emacs" + " with every package installed" * 3 + " xxxxxxx"
LONG_SLUG = "very-" * 17 + SLUG
LONG_TITLE = ("An extremely thorough comparison " * 5)[: MAX_TITLE - 1] + "."


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'notes.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    upgrade(engine)  # serve refuses an old PostgreSQL schema; an operator upgrades first
    engine.dispose()
    return url


@pytest.mark.parametrize(
    ("name", "title", "option"),
    [
        ("long title", LONG_TITLE, "Emacs"),
        ("long option name", "Vim vs Emacs", LONG_NAME),
        ("long slug", "Vim vs Emacs", "Emacs"),
    ],
)
def test_long_titles_option_names_and_slugs_take_notes_on_both_stores(
    settings: Settings,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
    name: str,
    title: str,
    option: str,
) -> None:
    assert len(slugify(LONG_NAME)) == MAX_ADDRESS and len(LONG_SLUG) > MAX_ADDRESS - 5
    assert len(LONG_TITLE) == MAX_TITLE
    slug = LONG_SLUG if name == "long slug" else SLUG
    source = "\n".join(
        f"title: {title}" if line.startswith("title:") else line.replace("Emacs", option)
        for line in GOOD.splitlines()
    )
    (settings.content_dir / f"{slug}.md").write_text(source, encoding="utf-8")
    # What `nicepick check` accepts, the store takes.
    assert main(["check", str(settings.content_dir)]) == 0, capsys.readouterr().out
    site_settings = settings.model_copy(
        update={"database_url": database_url, "secret_key": SHARED_KEY}
    )
    with TestClient(create_app(site_settings), follow_redirects=False) as client:
        fields = form_fields(client.get(f"/compare/{slug}").text, option=option)
        response = client.post(f"/compare/{slug}/feedback", data=fields)
        assert response.status_code == 303, response.text[:500]
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT slug, title, reader_pick, message FROM feedback_notes")
            ).one()
    finally:
        engine.dispose()
    assert tuple(row) == (slug, title, option, MESSAGE)


@pytest.mark.postgres
def test_a_store_error_that_is_no_outage_still_keeps_the_form_and_text(
    settings: Settings, pg_url: str
) -> None:
    """A table dropped by hand: PostgreSQL's ProgrammingError was a bare 500."""
    engine = make_engine(pg_url)
    upgrade(engine)
    (settings.content_dir / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    with TestClient(
        create_app(settings.model_copy(update={"database_url": pg_url, "secret_key": SHARED_KEY})),
        follow_redirects=False,
    ) as client:
        fields = form_fields(client.get(f"/compare/{SLUG}").text)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE feedback_outbox_attempts, feedback_outbox"))
        response = client.post(f"/compare/{SLUG}/feedback", data=fields)
        assert response.status_code == 503
        assert_form_kept(response, MESSAGE)
    engine.dispose()


# --- a SQLite file deleted under the running site ----------------------------------------------


def test_a_deleted_sqlite_file_answers_503_and_readyz_says_so(sqlite_settings: Settings) -> None:
    """``rm var/nicepick.sqlite3*``: open connections kept writing to the unlinked file, so
    notes got 303 and vanished at the next start."""
    path = sqlite_file(sqlite_settings)
    with TestClient(create_app(sqlite_settings), follow_redirects=False) as client:
        fields = form_fields(client.get(f"/compare/{SLUG}").text)
        assert client.post(f"/compare/{SLUG}/feedback", data=fields).status_code == 303
        assert client.get("/readyz").status_code == 200
        for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            name.unlink(missing_ok=True)
        message = f"{MESSAGE} Written after the file was deleted."
        response = client.post(f"/compare/{SLUG}/feedback", data={**fields, "message": message})
        assert response.status_code == 503
        assert_form_kept(response, message)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        # Gone, or already "replaced" by the empty file a new connection (the outbox's, the
        # meter's) made in its place: either way not the file the notes were in.
        assert "SQLite file" in ready.text and "restart" in ready.text, ready.text
