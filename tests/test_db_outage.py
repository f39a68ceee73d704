"""The database stops while the site serves, then starts again (a throwaway cluster of ours).

Pages answer 200 throughout; a note answers 503 with the reader's text kept while the database
is down; after it is back the next note is stored without restarting anything, and every
note is stored and mailed exactly once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from app.db import make_engine, upgrade
from app.feedback.store import notes
from tests.conftest import GOOD, ROOT
from tests.deliveries import deliveries_per_note, settled
from tests.live import eventually
from tests.pg import Cluster, free_port
from tests.proxy import Instance
from tests.smtp import SmtpServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SLUG = "vim-vs-emacs"


@pytest.fixture(scope="module")
def site(
    pg_cluster: Cluster, smtp_server: SmtpServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Instance]:
    root = tmp_path_factory.mktemp("outage")
    (root / "content").mkdir()
    (root / "content" / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    engine = make_engine(pg_cluster.url)
    upgrade(engine)
    engine.dispose()
    env = {
        "PATH": "/usr/bin:/bin",
        "NICEPICK_DATABASE_URL": pg_cluster.url,
        "NICEPICK_CONTENT_DIR": str(root / "content"),
        "NICEPICK_DATA_DIR": str(root / "data"),
        "NICEPICK_TEMPLATES_DIR": str(ROOT / "templates"),
        "NICEPICK_STATIC_DIR": str(ROOT / "static"),
        "NICEPICK_FEEDBACK_MIN_SECONDS": "0",
        "NICEPICK_FEEDBACK_RATE": "100/minute",
        "NICEPICK_SMTP_HOST": smtp_server.host,
        "NICEPICK_SMTP_PORT": str(smtp_server.port),
        "NICEPICK_SMTP_TLS": "none",
        "NICEPICK_OUTBOX_POLL_SECONDS": "0.3",
        "NICEPICK_OUTBOX_LEASE_SECONDS": "5",
        "NICEPICK_OUTBOX_RETRY_SECONDS": "0.3",
        "NICEPICK_OUTBOX_MAX_BACKOFF_SECONDS": "1",
        "NICEPICK_DATABASE_TIMEOUT": "2",
        "NICEPICK_SECRET_KEY": "outage-test-key-0123456789abcdef",  # required on PostgreSQL
    }
    instance = Instance(free_port(), env, root / "instance.log").start()
    try:
        yield instance
    finally:
        instance.stop()


def token(url: str) -> str:
    page = BeautifulSoup(httpx.get(f"{url}/compare/{SLUG}", timeout=10).text, "html.parser")
    field = page.select_one("input[name=token]")
    assert field is not None
    return str(field["value"])


def post(url: str, form_token: str, message: str) -> httpx.Response:
    return httpx.post(
        f"{url}/compare/{SLUG}/feedback",
        data={"option": "Emacs", "message": message, "token": form_token, "website": ""},
        timeout=30,
    )


def test_database_outage_keeps_pages_up_and_loses_no_note(
    site: Instance, pg_cluster: Cluster, smtp_server: SmtpServer
) -> None:
    form_token = token(site.url)
    accepted: list[str] = []
    for number in range(5):
        message = f"before the outage, note {number}"
        assert post(site.url, form_token, message).status_code == 303
        accepted.append(message)

    page_statuses: Counter[int] = Counter()
    stop_reading = threading.Event()

    def read_pages() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop_reading.is_set():
                for path in ("/", f"/compare/{SLUG}", "/healthz"):
                    page_statuses[client.get(f"{site.url}{path}").status_code] += 1
                time.sleep(0.02)

    reader = threading.Thread(target=read_pages)
    reader.start()
    try:
        pg_cluster.stop()
        refused_message = "written while the database was down"
        refused = post(site.url, form_token, refused_message)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "30"
        page = BeautifulSoup(refused.text, "html.parser")
        textarea = page.select_one("textarea[name=message]")
        assert textarea is not None and textarea.get_text() == refused_message
        alert = page.select_one("#feedback-errors")
        assert alert is not None and "please try again in a minute" in alert.get_text()
        assert httpx.get(f"{site.url}/readyz", timeout=10).status_code == 503
        # Pages keep flowing with the database away: many more are answered meanwhile (each
        # status is checked below, once the reader stops).
        served = sum(page_statuses.values())
        assert eventually(lambda: sum(page_statuses.values()) >= served + 30, timeout=30)

        pg_cluster.start()
        # The reader sends again; no restart, the pool reconnects.
        assert post(site.url, form_token, refused_message).status_code == 303
        accepted.append(refused_message)
        for number in range(3):
            message = f"after the outage, note {number}"
            assert post(site.url, form_token, message).status_code == 303
            accepted.append(message)
        assert httpx.get(f"{site.url}/readyz", timeout=10).status_code == 200
    finally:
        stop_reading.set()
        reader.join()
        if not pg_cluster.is_running():
            pg_cluster.start()

    assert set(page_statuses) == {200}, page_statuses
    assert page_statuses[200] > 10

    engine = make_engine(pg_cluster.url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(notes.c.message).order_by(notes.c.id)).scalars().all()
    finally:
        engine.dispose()
    assert stored == accepted

    smtp_server.wait_for(len(accepted), timeout=30)
    engine = make_engine(pg_cluster.url)
    try:
        # Once every note is sent and no lease is live, no second mail can be on its way.
        assert eventually(lambda: settled(engine), timeout=30)
        recorded = deliveries_per_note(engine)
    finally:
        engine.dispose()
    assert len(recorded) == len(accepted) and set(recorded.values()) == {1}
    per_note = Counter(str(message["X-Nicepick-Note"]) for message in smtp_server.messages)
    assert len(per_note) == len(accepted) and set(per_note.values()) == {1}


def test_readyz_is_separate_from_liveness(site: Instance) -> None:
    assert httpx.get(f"{site.url}/healthz", timeout=10).text == "ok\n"
    ready = httpx.get(f"{site.url}/readyz", timeout=10)
    assert (ready.status_code, ready.text) == (200, "ok\n")
    assert ready.headers["cache-control"] == "no-store"
