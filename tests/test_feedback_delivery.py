"""Delivery under trouble: SMTP down then up, a killed server, 50 notes at once.

Real processes throughout: ``nicepick serve`` under uvicorn (tests/live.py), aiosmtpd on a free
port (tests/smtp.py), the SQLite file in a temp folder.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.feedback.store import FeedbackStore
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD
from tests.deliveries import deliveries_per_note, settled
from tests.live import live_server, server_env
from tests.smtp import SmtpServer, free_port

pytestmark = pytest.mark.slow

PAGE = "/compare/vim-vs-emacs"
MESSAGE = "Emacs has Org mode, and nothing in Vim comes close."
FAST_RETRY = {
    "NICEPICK_OUTBOX_POLL_SECONDS": "0.2",
    "NICEPICK_OUTBOX_RETRY_SECONDS": "0.2",
    "NICEPICK_OUTBOX_MAX_BACKOFF_SECONDS": "0.5",
    "NICEPICK_OUTBOX_LEASE_SECONDS": "5",
    "NICEPICK_FEEDBACK_RATE": "1000/minute",
}


def token_from(html: str) -> str:
    field = BeautifulSoup(html, "html.parser").select_one('#feedback input[name="token"]')
    assert field is not None
    return str(field["value"])


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def open_store(data_dir: Path) -> FeedbackStore:
    return FeedbackStore.from_url(f"sqlite:///{(data_dir / 'nicepick.sqlite3').resolve()}")


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir(exist_ok=True)
    (folder / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    return folder


def test_smtp_down_then_up_delivers_after_retry(settings: Settings, content: Path) -> None:
    port = free_port()  # nothing listens here yet: the server is "down"
    settings = settings.model_copy(
        update={
            "content_dir": content,
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_tls": "none",
            "smtp_timeout": 2.0,
            "outbox_poll_seconds": 0.2,
            "outbox_retry_seconds": 0.2,
            "outbox_max_backoff_seconds": 0.5,
        }
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        token = token_from(client.get(PAGE).text)
        data = {"option": "Emacs", "message": MESSAGE, "token": token}
        assert client.post(f"{PAGE}/feedback", data=data).status_code == 303
        store: FeedbackStore = client.app.state.feedback.store  # type: ignore[attr-defined]
        wait_until(lambda: any(e.attempts >= 2 for e in store.outbox_entries()))
        (entry,) = store.outbox_entries()
        assert entry.sent_at is None and entry.last_error
        server = SmtpServer(port).start()
        try:
            (mail,) = server.wait_for(1)
            assert mail["Subject"] == "Disagreement: Vim vs Emacs"
            wait_until(lambda: settled(store.engine))
            errors = store.attempt_errors(entry.outbox_id)
            # Failed while the server was down, then delivered once; nothing is in flight now.
            assert errors[-1] is None and all(errors[:-1]) and len(errors) >= 3
            assert len(server.messages) == 1
        finally:
            server.stop()


def test_server_killed_with_mail_pending_delivers_once_after_restart(
    tmp_path: Path, content: Path
) -> None:
    port = free_port()
    data_dir = tmp_path / "var"
    env = server_env(data_dir, content_dir=content, smtp_port=port, **FAST_RETRY)
    with live_server(env, tmp_path / "first.log") as first:
        token = token_from(httpx.get(first.url + PAGE).text)
        data = {"option": "Emacs", "message": MESSAGE, "token": token}
        response = httpx.post(f"{first.url}{PAGE}/feedback", data=data)
        assert response.status_code == 303
        store = open_store(data_dir)
        wait_until(lambda: any(e.last_error for e in store.outbox_entries()))
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
    assert [e.sent_at for e in store.outbox_entries()] == [None]  # still pending

    server = SmtpServer(port).start()
    try:
        with live_server(env, tmp_path / "second.log"):
            (mail,) = server.wait_for(1, timeout=15)
            assert mail["Message-ID"].startswith("<note-1.")
            wait_until(lambda: settled(store.engine))
            assert deliveries_per_note(store.engine) == {int(mail["X-Nicepick-Note"]): 1}
            assert len(server.messages) == 1
    finally:
        server.stop()
        store.dispose()


def test_fifty_concurrent_notes_make_fifty_rows_and_fifty_mails(
    tmp_path: Path, content: Path, smtp_server: SmtpServer
) -> None:
    smtp_server.reset()
    data_dir = tmp_path / "var"
    env = server_env(data_dir, content_dir=content, smtp_port=smtp_server.port, **FAST_RETRY)
    with live_server(env, tmp_path / "server.log") as server:
        token = token_from(httpx.get(server.url + PAGE).text)

        async def post_all() -> list[int]:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                replies = await asyncio.gather(
                    *(
                        client.post(
                            f"{PAGE}/feedback",
                            data={"option": "Emacs", "message": f"{MESSAGE} #{n}", "token": token},
                        )
                        for n in range(50)
                    )
                )
            return [reply.status_code for reply in replies]

        assert asyncio.run(post_all()) == [303] * 50
        mails = smtp_server.wait_for(50, timeout=30)
        store = open_store(data_dir)
        try:
            assert len(store.notes()) == 50
            wait_until(lambda: settled(store.engine))
            assert deliveries_per_note(store.engine) == {note.id: 1 for note in store.notes()}
        finally:
            store.dispose()
        assert len(smtp_server.messages) == 50
        assert len({mail["Message-ID"] for mail in mails}) == 50
        bodies = {mail.get_content().split("#")[-1].strip() for mail in mails}
        assert bodies == {str(n) for n in range(50)}
