"""A rolling restart under load with a slow mail relay: every note stored, mailed once.

    python -m bench.outbox_rolling [--rate 0.5] [--data-seconds 20] [--relay gives-up|keeps]
                                   [--settle 10] [--record]

Loopback only. Three ``nicepick serve`` instances share one PostgreSQL database (a scratch
database on NICEPICK_TEST_DATABASE_URL, default the machine's server at 127.0.0.1:5432) and
one aiosmtpd relay that answers each DATA after ``--data-seconds``. Readers post notes at
``--rate`` per second, spread over the instances; a reader whose instance is down (connection
refused, as nginx's ``proxy_next_upstream`` would see it) posts to the next one. Meanwhile each
instance in turn gets SIGTERM, is started again, answers /readyz, and ``--settle`` seconds
later the next one goes: the procedure docs/deploy.md prescribes. Then the load stops and the
bench waits until the outbox is empty.

``--relay gives-up``: a message whose client leaves before the reply is not stored (aiosmtpd
cancels its handler; a before-queue filter behaves so). ``--relay keeps``: it is stored anyway
(the server queued it and is slow to say so): every session dropped on SIGTERM then lands in
the one window docs/deploy.md states, and its note arrives twice with one Message-ID.

Reported: notes posted, 303s, stored, mailed, duplicates (and how many of them the window
explains: attempts recorded "outcome unknown"), each instance's SIGTERM-to-exit time, and how
long the outbox took to drain after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import free_port, record, site_env, start_server

SLUG = "docker-vs-podman"  # a comparison of the repository's own content


class SlowRelay:
    """aiosmtpd handler answering each DATA after ``delay`` seconds; copies per note id."""

    def __init__(self, delay: float, keeps: bool) -> None:
        self.delay = delay
        self.keeps = keeps
        self.copies: Counter[int] = Counter()
        self.message_ids: dict[int, set[str]] = {}
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=policy.default)
        if self.keeps:
            await asyncio.shield(asyncio.ensure_future(self._store_later(message)))
        else:
            await asyncio.sleep(self.delay)  # cancelled, storing nothing, if the client leaves
            self._store(message)
        return "250 Message accepted for delivery"

    async def _store_later(self, message: Any) -> None:
        await asyncio.sleep(self.delay)
        self._store(message)

    def _store(self, message: Any) -> None:
        note = int(str(message["X-Nicepick-Note"]))
        with self._lock:
            self.copies[note] += 1
            self.message_ids.setdefault(note, set()).add(str(message["Message-ID"]))


class Instance:
    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_server(self.env, self.port, log=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"instance on {self.port} never ready")

    def stop(self) -> float:
        """SIGTERM; seconds until the process exited."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return time.monotonic() - started


class Readers:
    """Posts notes at a steady rate, each to the next instance, failing over when refused."""

    def __init__(self, instances: list[Instance], rate: float) -> None:
        self.instances = instances
        self.rate = rate
        self.posted = 0
        self.statuses: Counter[int] = Counter()
        self.failovers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tokens: dict[int, str] = {}

    def _token(self, client: httpx.Client, instance: Instance) -> str:
        if instance.port not in self._tokens:
            page = client.get(f"{instance.url}/compare/{SLUG}").text
            found = re.search(r'name="token" value="([^"]+)"', page)
            assert found, "no form token"
            self._tokens[instance.port] = found.group(1)
        return self._tokens[instance.port]

    def _post(self, client: httpx.Client, number: int, start: int) -> None:
        message = f"rolling-restart note {number} {uuid.uuid4().hex[:8]}: Docker for me"
        for offset in range(len(self.instances) * 2):
            instance = self.instances[(start + offset) % len(self.instances)]
            try:
                data = {"option": "Docker", "message": message, "token": ""}
                data["token"] = self._token(client, instance)
                response = client.post(f"{instance.url}/compare/{SLUG}/feedback", data=data)
            except httpx.TransportError:
                self.failovers += 1
                continue
            self.statuses[response.status_code] += 1
            if response.status_code != 503:
                return
            self.failovers += 1
        self.statuses[0] += 1  # no instance took it

    def _run(self) -> None:
        with httpx.Client(timeout=30, follow_redirects=False) as client:
            for number in itertools.count():
                if self._stop.is_set():
                    return
                self._post(client, number, number)
                self.posted += 1
                self._stop.wait(1 / self.rate)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def scratch_database() -> tuple[str, Any]:
    server = os.environ.get("NICEPICK_TEST_DATABASE_URL") or (
        "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    url = make_url(server)
    name = f"nicepick_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False), (admin, name)


def drop_database(handle: Any) -> None:
    admin, name = handle
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=0.5, help="notes per second")
    parser.add_argument("--data-seconds", type=float, default=20.0)
    parser.add_argument("--relay", choices=["gives-up", "keeps"], default="gives-up")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds between restarts")
    parser.add_argument("--lease", type=float, default=60.0)
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    from app.db import make_engine, upgrade
    from app.feedback.store import FeedbackStore

    relay = SlowRelay(args.data_seconds, keeps=args.relay == "keeps")
    smtp_port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    url, handle = scratch_database()
    engine = make_engine(url)
    upgrade(engine)  # `nicepick db upgrade`, once
    store = FeedbackStore(engine)
    instances: list[Instance] = []
    try:
        with tempfile.TemporaryDirectory(prefix="nicepick-rolling-") as temp:
            root = Path(temp)
            for number in range(3):
                env = site_env(
                    root / f"data{number}",
                    NICEPICK_DATABASE_URL=url,
                    NICEPICK_SECRET_KEY="one-key-for-every-instance-0123456789",
                    NICEPICK_FEEDBACK_MIN_SECONDS="0",
                    NICEPICK_FEEDBACK_RATE="100000/minute",
                    NICEPICK_SMTP_HOST="127.0.0.1",
                    NICEPICK_SMTP_PORT=str(smtp_port),
                    NICEPICK_SMTP_TLS="none",
                    NICEPICK_OUTBOX_POLL_SECONDS="2",
                    NICEPICK_OUTBOX_LEASE_SECONDS=str(args.lease),
                )
                instances.append(Instance(free_port(), env, root / f"instance{number}.log"))
            for instance in instances:
                instance.start()
            readers = Readers(instances, args.rate)
            readers.start()
            started = time.monotonic()
            exits: list[float] = []
            time.sleep(args.settle)
            for instance in instances:
                exits.append(instance.stop())
                instance.start()
                time.sleep(args.settle)
            readers.stop()
            load_seconds = time.monotonic() - started
            drained_at = time.monotonic()
            while time.monotonic() - drained_at < args.drain_timeout:
                if not store.outbox_entries():
                    break
                time.sleep(1)
            drain_seconds = time.monotonic() - drained_at
            stored = store.notes()
            left = store.outbox_entries()
            with engine.connect() as conn:
                unknown = set(
                    conn.execute(
                        text(
                            "SELECT o.note_id FROM feedback_outbox_attempts a "
                            "JOIN feedback_outbox o ON o.id = a.outbox_id "
                            "WHERE a.error LIKE 'outcome unknown%'"
                        )
                    ).scalars()
                )
            for instance in instances:
                instance.stop()
    finally:
        for instance in instances:
            if instance.process is not None and instance.process.poll() is None:
                instance.process.kill()
                instance.process.wait()
        controller.stop()
        store.dispose()
        drop_database(handle)

    mailed = set(relay.copies)
    duplicated = {note: n for note, n in relay.copies.items() if n > 1}
    extra = sum(n - 1 for n in duplicated.values())
    in_window = sum(n - 1 for note, n in duplicated.items() if note in unknown)
    same_id = all(len(relay.message_ids[note]) == 1 for note in duplicated)
    lines = [
        f"3 instances on PostgreSQL, relay answering DATA in {args.data_seconds:.0f} s "
        f"({args.relay}), lease {args.lease:.0f} s, drain 10 s, {args.rate} notes/s for "
        f"{load_seconds:.0f} s while each instance was restarted in turn",
        f"notes posted {readers.posted}; answered 303: {readers.statuses[303]}; other answers "
        f"{dict((k, v) for k, v in readers.statuses.items() if k != 303)}; "
        f"failovers to another instance {readers.failovers}",
        f"stored {len(stored)}; mailed {len(mailed)}; left in the outbox {len(left)} "
        f"(outbox drained {drain_seconds:.0f} s after the load)",
        f"duplicates {extra} (of which in the documented window, attempt recorded "
        f"'outcome unknown': {in_window}; one Message-ID per note: {same_id})",
        "SIGTERM to exit per instance: " + ", ".join(f"{s:.1f} s" for s in exits),
    ]
    for line in lines:
        print(line)
    if args.record:
        record("Outbox rolling restart", "bench/outbox_rolling.py", lines)
    ok = len(mailed) == len(stored) and not left and extra == in_window and max(exits) < 30
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
