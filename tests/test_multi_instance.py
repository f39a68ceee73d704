"""Three instances on one PostgreSQL database, Debian's nginx in front with deploy/nginx.conf.

300 notes from 100 client addresses go through nginx at once, while the SMTP server is down
for the first part and one instance is killed with kill -9 midway and started again. After:
300 rows, exactly 300 mails (one per note id), the same meter on every instance. The rate
limit holds for one address whichever instance serves it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine, func, select

from app.db import make_engine, upgrade
from app.feedback.store import notes
from tests.conftest import GOOD, ROOT
from tests.deliveries import deliveries_per_note, settled
from tests.live import eventually
from tests.pg import free_port, scratch_database
from tests.proxy import Instance, Nginx, nginx
from tests.smtp import SmtpServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SLUG = "vim-vs-emacs"
NOTES = 300
CLIENTS = 100  # three notes each, under the limit of five


@dataclass
class Deployment:
    instances: list[Instance]
    proxy: Nginx
    smtp: SmtpServer
    engine: Engine


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("multi")
    content = root / "content"
    content.mkdir()
    (content / f"{SLUG}.md").write_text(GOOD, encoding="utf-8")
    with scratch_database() as url:
        engine = make_engine(url)
        upgrade(engine)  # `nicepick db upgrade`, once, before the instances start
        smtp = SmtpServer()  # its port is known, the server is not started yet: "down"
        instances = []
        for number in range(3):
            data = root / f"instance{number}"
            env = {
                "PATH": "/usr/bin:/bin",
                "NICEPICK_DATABASE_URL": url,
                "NICEPICK_CONTENT_DIR": str(content),
                "NICEPICK_DATA_DIR": str(data),
                "NICEPICK_TEMPLATES_DIR": str(ROOT / "templates"),
                "NICEPICK_STATIC_DIR": str(ROOT / "static"),
                "NICEPICK_SECRET_KEY": "one-key-for-every-instance-0123456789",
                "NICEPICK_TRUSTED_PROXIES": "127.0.0.1",
                "NICEPICK_FEEDBACK_MIN_SECONDS": "0",
                "NICEPICK_FEEDBACK_RATE": "5/10minutes",
                "NICEPICK_SMTP_HOST": smtp.host,
                "NICEPICK_SMTP_PORT": str(smtp.port),
                "NICEPICK_SMTP_TLS": "none",
                "NICEPICK_SMTP_TIMEOUT": "2",
                "NICEPICK_OUTBOX_POLL_SECONDS": "0.5",
                "NICEPICK_OUTBOX_LEASE_SECONDS": "4",
                "NICEPICK_OUTBOX_RETRY_SECONDS": "0.5",
                "NICEPICK_OUTBOX_MAX_BACKOFF_SECONDS": "1",
                "NICEPICK_METER_REFRESH_SECONDS": "1",
            }
            instances.append(Instance(free_port(), env, root / f"instance{number}.log"))
        try:
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(Instance.start, instances))
            ports = [instance.port for instance in instances]
            with nginx(free_port(), ports, ROOT / "static") as proxy:
                yield Deployment(instances, proxy, smtp, engine)
        finally:
            for instance in instances:
                instance.stop()
            smtp.stop()
            engine.dispose()


def form_token(url: str) -> str:
    page = httpx.get(f"{url}/compare/{SLUG}", timeout=10)
    assert page.status_code == 200
    token = BeautifulSoup(page.text, "html.parser").select_one("input[name=token]")
    assert token is not None
    return str(token["value"])


def post_note(
    client: httpx.Client, url: str, token: str, message: str, address: str, pick: str = "Emacs"
) -> httpx.Response:
    return client.post(
        f"{url}/compare/{SLUG}/feedback",
        data={"option": pick, "message": message, "token": token, "website": ""},
        headers={"X-Forwarded-For": address},
    )


def stored(engine: Engine, message: str) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(notes).where(notes.c.message == message)
        return int(conn.execute(query).scalar_one())


def meter_on(url: str) -> tuple[str, list[str]]:
    page = BeautifulSoup(httpx.get(f"{url}/compare/{SLUG}", timeout=10).text, "html.parser")
    heading = page.select_one(".disagreement-meter h3")
    counts = [node.get_text(" ", strip=True) for node in page.select(".meter-count")]
    return (heading.get_text(" ", strip=True) if heading else ""), counts


def test_300_notes_through_nginx_with_smtp_down_and_an_instance_killed(
    deployment: Deployment,
) -> None:
    proxy, smtp, engine = deployment.proxy, deployment.smtp, deployment.engine
    token = form_token(proxy.url)
    done = 0
    done_lock = threading.Lock()
    statuses: Counter[int] = Counter()

    def submit(index: int) -> None:
        nonlocal done
        message = f"multi-instance note {index:03d}: Emacs wins for me"
        address = f"10.20.{index % CLIENTS // 250}.{index % CLIENTS + 1}"
        pick = "Vim" if index % 3 == 0 else "Emacs"
        with httpx.Client(timeout=30, follow_redirects=False) as client:
            for _attempt in range(5):
                try:
                    response = post_note(client, proxy.url, token, message, address, pick)
                    status = response.status_code
                except httpx.TransportError:
                    status = 0
                with done_lock:
                    statuses[status] += 1
                if status == 303:
                    break
                # The instance died with the request (502 from nginx): like a reader, send
                # again only if the note did not make it.
                assert status in (0, 502, 504), f"unexpected {status}"
                if stored(engine, message):
                    break
                time.sleep(0.2)
            else:
                pytest.fail(f"note {index} never accepted")
        with done_lock:
            done += 1

    killed = deployment.instances[1]

    def chaos() -> None:
        while done < NOTES // 3:
            time.sleep(0.01)
        killed.kill()  # kill -9, midway, while the SMTP server is still down
        while done < NOTES // 2:
            time.sleep(0.01)
        killed.start()
        while done < NOTES * 2 // 3:
            time.sleep(0.01)
        smtp.start()  # the mail server comes back for the last part

    conductor = threading.Thread(target=chaos)
    conductor.start()
    with ThreadPoolExecutor(24) as pool:
        list(pool.map(submit, range(NOTES)))
    conductor.join(60)
    assert not conductor.is_alive()

    with engine.connect() as conn:
        rows = conn.execute(select(notes.c.message)).scalars().all()
    assert len(rows) == NOTES
    assert len(set(rows)) == NOTES

    smtp.wait_for(NOTES, timeout=90)
    # Every note sent and no lease live: no instance can still be sending one again, so the
    # records and the mailbox are final.
    assert eventually(lambda: settled(engine), timeout=30)
    recorded = deliveries_per_note(engine)
    assert len(recorded) == NOTES and set(recorded.values()) == {1}, "a note was sent twice"
    per_note = Counter(str(message["X-Nicepick-Note"]) for message in smtp.messages)
    assert len(per_note) == NOTES
    assert set(per_note.values()) == {1}, "a note was mailed twice"

    # The meter agrees on every instance, read directly, within the refresh period.
    expected = f"{NOTES} readers told us what they would pick"
    deadline = time.monotonic() + 5
    while True:
        meters = [meter_on(instance.url) for instance in deployment.instances]
        if all(heading == expected for heading, _ in meters) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all(heading == expected for heading, _ in meters), meters
    assert len({tuple(counts) for _, counts in meters}) == 1
    assert meters[0][1] == ["100 (33%)", "200 (67%)"]


def test_a_note_through_one_instance_shows_on_every_instance_within_5_seconds(
    deployment: Deployment,
) -> None:
    first, *others = deployment.instances
    before = [meter_on(instance.url)[0] for instance in deployment.instances]
    with httpx.Client(timeout=10) as client:
        response = post_note(
            client, first.url, form_token(first.url), "one more note here", "10.9.9.9"
        )
    assert response.status_code == 303

    def moved_everywhere() -> bool:
        after = [meter_on(instance.url)[0] for instance in others]
        return all(a != b for a, b in zip(after, before[1:], strict=True))

    # Within 5 s is the behaviour asked for (the test name): a bounded wait, not a timing.
    assert eventually(moved_everywhere, timeout=5), before


def test_rate_limit_holds_for_one_address_whichever_instance_serves(
    deployment: Deployment,
) -> None:
    address = "203.0.113.99"
    instances = deployment.instances
    token = form_token(deployment.proxy.url)
    with httpx.Client(timeout=10) as client:
        # Five notes spread over the three instances directly (each trusts 127.0.0.1 too) ...
        for number in range(5):
            url = instances[number % 3].url
            response = post_note(client, url, token, f"rate note {number} long enough", address)
            assert response.status_code == 303
        # ... then the sixth through nginx, and a seventh straight to another instance.
        sixth = post_note(client, deployment.proxy.url, token, "rate note 6 long enough", address)
        seventh = post_note(client, instances[2].url, token, "rate note 7 long enough", address)
    assert (sixth.status_code, seventh.status_code) == (429, 429)
    assert "please send it again in" in BeautifulSoup(sixth.text, "html.parser").get_text()
    assert stored(deployment.engine, "rate note 6 long enough") == 0


def test_nginx_serves_static_assets_itself_and_instances_report_ready(
    deployment: Deployment,
) -> None:
    page = httpx.get(f"{deployment.proxy.url}/compare/{SLUG}", timeout=10)
    css = BeautifulSoup(page.text, "html.parser").select_one("link[rel=stylesheet]")
    assert css is not None
    asset = httpx.get(f"{deployment.proxy.url}{css['href']}", timeout=10)
    assert asset.status_code == 200
    assert asset.headers["server"] == "nginx"  # not an instance (they send no Server header)
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.content == Path(ROOT / "static" / "site.css").read_bytes()
    for instance in deployment.instances:
        ready = httpx.get(f"{instance.url}/readyz", timeout=10)
        assert (ready.status_code, ready.text) == (200, "ok\n")


def test_sigterm_drains_and_exits_cleanly_while_nginx_keeps_serving(
    deployment: Deployment,
) -> None:
    leaving = deployment.instances[2]
    seen = leaving.log.stat().st_size
    # SIGTERM: requests drained, leases handed back; uvicorn then re-raises the signal, so
    # the process ends "by SIGTERM" with nothing logged as an error on the way.
    assert leaving.stop() in (0, -signal.SIGTERM)
    with leaving.log.open("rb") as log:
        log.seek(seen)
        shutdown = log.read().decode(errors="replace")
    assert "Traceback" not in shutdown and "ERROR" not in shutdown, shutdown
    try:
        statuses = Counter(
            httpx.get(f"{deployment.proxy.url}/compare/{SLUG}", timeout=10).status_code
            for _ in range(12)
        )
        assert statuses == Counter({200: 12})
    finally:
        leaving.start()
