"""A PostgreSQL connection that stops answering: notes get their 503 within the budget.

A TCP proxy of the test's own sits between ``nicepick serve`` and a scratch database; pausing
it holds every byte in both directions, as a stalled network, NAT or proxy does (no error, no
reply). Readers must still get the 503 page with their text within
``NICEPICK_DATABASE_TIMEOUT``, and a note committed late is stored once when sent again.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.db import make_engine, upgrade
from tests.conftest import GOOD
from tests.live import live_server, server_env
from tests.test_store_faults import MESSAGE, SHARED_KEY, SLUG, assert_form_kept, form_fields

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TIMEOUT = 2.0  # NICEPICK_DATABASE_TIMEOUT under test, short so the test is quick


class StallingProxy:
    """Forwards TCP to ``target``; while paused, holds what it read instead of passing it on."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    break
                self.flowing.wait()
                sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.flowing.set()
        self.listener.close()
        for sock in self.sockets:
            sock.close()


@pytest.fixture
def proxy(pg_url: str) -> Iterator[tuple[StallingProxy, str]]:
    engine = make_engine(pg_url)
    upgrade(engine)  # serve refuses an old PostgreSQL schema
    engine.dispose()
    url = engine.url
    stalling = StallingProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield stalling, url.set(port=stalling.port).render_as_string(hide_password=False)
    finally:
        stalling.close()


def test_notes_get_503_within_the_timeout_while_postgresql_stops_answering(
    tmp_path: Path,
    pg_url: str,
    proxy: tuple[StallingProxy, str],
) -> None:
    stalling, proxied_url = proxy
    content = tmp_path / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    env = server_env(
        tmp_path / "var",
        content_dir=content,
        NICEPICK_DATABASE_URL=proxied_url,
        NICEPICK_SECRET_KEY=SHARED_KEY,
        NICEPICK_DATABASE_TIMEOUT=str(TIMEOUT),
        NICEPICK_FEEDBACK_RATE="1000/minute",
    )
    # More notes at once than the database has threads and connections (5 + 5).
    readers = 12
    answers: dict[int, tuple[int, float, httpx.Response | None]] = {}
    with (
        live_server(env, tmp_path / "server.log") as server,
        httpx.Client(timeout=TIMEOUT + 20, limits=httpx.Limits(max_connections=readers)) as http,
    ):
        fields = form_fields(http.get(f"{server.url}/compare/{SLUG}").text)
        # Connections are in the pool, and they work.
        first = http.post(f"{server.url}/compare/{SLUG}/feedback", data=fields)
        assert first.status_code == 303

        def post(number: int) -> None:
            started = time.monotonic()
            try:
                response: httpx.Response | None = http.post(
                    f"{server.url}/compare/{SLUG}/feedback",
                    data={**fields, "message": f"{MESSAGE} Reader {number}."},
                )
            except httpx.TimeoutException:
                response = None
            status = response.status_code if response else 0
            answers[number] = (status, time.monotonic() - started, response)

        stalling.flowing.clear()
        threads = [threading.Thread(target=post, args=(n,)) for n in range(readers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stalling.flowing.set()

        statuses = {number: status for number, (status, _, _) in answers.items()}
        assert set(statuses.values()) == {503}, statuses
        slowest = max(seconds for _, seconds, _ in answers.values())
        assert slowest <= TIMEOUT + 1.0, f"slowest answer took {slowest:.2f} s"
        for number, (_, _, response) in answers.items():
            assert response is not None
            assert_form_kept(response, f"{MESSAGE} Reader {number}.")

        # The network flows again: each reader's resend is stored, once, even where the
        # stalled attempt committed late.
        for number in range(readers):
            again = http.post(
                f"{server.url}/compare/{SLUG}/feedback",
                data={**fields, "message": f"{MESSAGE} Reader {number}."},
            )
            assert again.status_code == 303, again.text[:300]
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            counts = conn.execute(
                text("SELECT message, count(*) FROM feedback_notes GROUP BY message")
            ).all()
    finally:
        engine.dispose()
    assert dict(counts) == {
        MESSAGE: 1,
        **{f"{MESSAGE} Reader {number}.": 1 for number in range(readers)},
    }
