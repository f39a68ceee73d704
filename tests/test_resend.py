"""A form sent twice is one note: the resend gets the first sending's answer, one row, one mail.

Readers resend when their connection dropped after the note was stored, or when the browser
re-posts on reload. The form's nonce (the page's, or one per reader from feedback.js) and the
note's text make the idempotency key; different readers' notes never fold into one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from app.commands.export import export_site
from app.db import make_engine, upgrade
from app.feedback.store import notes, outbox
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD
from tests.live import eventually
from tests.smtp import SmtpServer

PAGE = "/compare/vim-vs-emacs"
POST = f"{PAGE}/feedback"
THANKS = f"https://nicepick.test{PAGE}?thanks=1#feedback"  # built from the site URL
MESSAGE = "Emacs has Org mode, and nothing in Vim comes close."


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


SHARED_KEY = "resend-tests-shared-key-0123456789abcdef"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'notes.sqlite3'}"
    url: str = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def make_client(
    settings: Settings,
    smtp_server: SmtpServer,
    database_url: str,
    write_content: Callable[[str, str], Path],
) -> Iterator[Callable[..., TestClient]]:
    write_content("vim-vs-emacs.md", GOOD)
    smtp_server.reset()
    base = settings.model_copy(
        update={
            "database_url": database_url,
            "secret_key": SHARED_KEY,  # a database beyond the data folder needs a shared key
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_tls": "none",
            "outbox_poll_seconds": 0.2,
            "feedback_rate": "100/minute",
        }
    )
    clients: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        client = TestClient(create_app(base.model_copy(update=overrides)))
        client.follow_redirects = False
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def page_form(client: TestClient, path: str = PAGE) -> dict[str, str]:
    """The hidden fields of the page's form, as a browser without JavaScript sends them."""
    form = soup(client.get(path).text).select_one("#feedback form")
    assert form is not None
    return {str(f["name"]): str(f.get("value", "")) for f in form.select("input[type=hidden]")}


def note_form(client: TestClient, message: str = MESSAGE, **fields: str) -> dict[str, str]:
    return {**page_form(client), "option": "Emacs", "message": message, "website": "", **fields}


def stored(database_url: str) -> tuple[list[str], int]:
    """Every stored note's message, and the number of outbox rows."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            messages = list(conn.execute(select(notes.c.message).order_by(notes.c.id)).scalars())
            mails = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    finally:
        engine.dispose()
    return messages, int(mails)


def all_mailed(client: TestClient) -> Callable[[], bool]:
    store = client.app.state.feedback.store  # type: ignore[attr-defined]
    return lambda: store.outbox_entries() == []


def test_the_page_carries_a_nonce_that_our_script_replaces(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    nonce = soup(client.get(PAGE).text).select_one('#feedback input[name="nonce"]')
    assert nonce is not None and nonce["data-nonce"] == "page" and len(str(nonce["value"])) == 32
    # Every worker renders the same bytes (shared ETag): the page's nonce is not random.
    assert page_form(make_client())["nonce"] == nonce["value"]


def test_a_resent_form_gets_the_first_answer_and_is_stored_and_mailed_once(
    make_client: Callable[..., TestClient], smtp_server: SmtpServer, database_url: str
) -> None:
    client = make_client()
    fields = note_form(client, nonce="reader-nonce-1")
    first = client.post(POST, data=fields)
    again = client.post(POST, data=fields)
    assert (first.status_code, first.headers["location"]) == (303, THANKS)
    assert (again.status_code, again.headers["location"]) == (303, THANKS)
    assert eventually(all_mailed(client), timeout=10)
    assert stored(database_url) == ([MESSAGE], 1)
    assert len(smtp_server.messages) == 1


def test_concurrent_resends_of_one_form_store_one_note_and_send_one_mail(
    make_client: Callable[..., TestClient], smtp_server: SmtpServer, database_url: str
) -> None:
    client = make_client()
    fields = note_form(client, nonce="reader-nonce-2")
    answers: list[httpx2.Response] = []
    start = threading.Barrier(8)

    def resend() -> None:
        start.wait()
        answers.append(client.post(POST, data=fields))

    threads = [threading.Thread(target=resend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [(a.status_code, a.headers["location"]) for a in answers] == [(303, THANKS)] * 8
    assert eventually(all_mailed(client), timeout=10)
    assert stored(database_url) == ([MESSAGE], 1)
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize(
    ("first", "second", "notes_stored"),
    [
        # Readers without JavaScript share the page's nonce: their different notes both count.
        ({}, {"message": f"{MESSAGE} Another reader."}, 2),
        ({}, {"option": "Vim"}, 2),
        ({}, {"name": "Ada"}, 2),
        # Two readers whose script gave each a nonce, writing the very same words.
        ({"nonce": "reader-a"}, {"nonce": "reader-b"}, 2),
        # The same reader, back on the form, sending an edited note: a new note.
        ({"nonce": "reader-a"}, {"nonce": "reader-a", "message": f"{MESSAGE} Edited."}, 2),
        # The same sending twice, with the page's nonce or the reader's.
        ({}, {}, 1),
        ({"nonce": "reader-a"}, {"nonce": "reader-a"}, 1),
    ],
)
def test_only_the_same_sending_is_folded_never_two_readers_notes(
    make_client: Callable[..., TestClient],
    database_url: str,
    first: dict[str, str],
    second: dict[str, str],
    notes_stored: int,
) -> None:
    client = make_client()
    for overrides in (first, second):
        response = client.post(POST, data={**note_form(client), **overrides})
        assert (response.status_code, response.headers["location"]) == (303, THANKS)
    messages, mails = stored(database_url)
    assert (len(messages), mails) == (notes_stored, notes_stored)


def test_a_resend_is_not_counted_against_the_rate_limit(
    make_client: Callable[..., TestClient], database_url: str
) -> None:
    client = make_client(feedback_rate="1/minute")
    fields = note_form(client, nonce="reader-nonce-3")
    assert client.post(POST, data=fields).status_code == 303
    assert client.post(POST, data=fields).status_code == 303  # as the first was answered
    other = {**fields, "message": f"{MESSAGE} A second note."}
    assert client.post(POST, data=other).status_code == 429
    assert stored(database_url) == ([MESSAGE], 1)


def test_a_rerendered_form_keeps_the_readers_nonce(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    response = client.post(POST, data=note_form(client, message="short", nonce="reader-4"))
    assert response.status_code == 422
    nonce = soup(response.text).select_one('#feedback input[name="nonce"]')
    # Not the page's: sending the corrected form again is this reader's sending.
    assert nonce is not None and nonce["value"] == "reader-4" and not nonce.has_attr("data-nonce")


def test_readers_of_an_exported_page_share_its_nonce_and_still_each_get_their_note(
    make_client: Callable[..., TestClient], database_url: str, tmp_path: Path
) -> None:
    client = make_client()
    settings: Settings = client.app.state.feedback.settings  # type: ignore[attr-defined]
    # Exported with an endpoint to post to (without one, the page shows no form).
    export_site(
        settings.model_copy(update={"feedback_endpoint": settings.site_url}), tmp_path / "site"
    )
    exported = (tmp_path / "site" / "compare" / "vim-vs-emacs" / "index.html").read_text()
    form = soup(exported).select_one("#feedback form")
    assert form is not None
    fields = {str(f["name"]): str(f.get("value", "")) for f in form.select("input[type=hidden]")}
    assert form.select_one('input[name="nonce"][data-nonce="page"]') is not None
    note = {**fields, "option": "Emacs", "message": MESSAGE, "website": ""}
    other_reader = {**note, "message": f"{MESSAGE} Said by another reader."}
    for sent in (note, other_reader, note):  # the last: the first reader's resend
        assert client.post(POST, data=sent).headers["location"] == THANKS
    assert stored(database_url) == ([MESSAGE, other_reader["message"]], 2)
