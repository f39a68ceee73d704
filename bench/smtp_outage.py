"""Feedback through a mail outage: every note is kept, and each is mailed exactly once.

    python -m bench.smtp_outage [--notes 200] [--outage 60] [--mode close|refuse] [--record]

Loopback only. Starts ``nicepick serve`` pointed at an SMTP port where, for ``--outage``
seconds, nothing works: ``close`` accepts each connection and hangs up at once (a crashing
server), ``refuse`` leaves the port closed (connection refused). Meanwhile ``--notes``
readers post the feedback form concurrently. Then a real SMTP server (aiosmtpd) comes up on
that port, and we wait for the outbox to drain. The bar: every note answered 303, every note
stored, every note delivered, no duplicate, no note left in the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT, free_port, record, site_env, start_server


class HangUp:
    """A listener that accepts every connection and closes it before saying a word."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.sock.settimeout(0.2)
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


class Inbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def start_site(data: Path, port: int, smtp_port: int) -> subprocess.Popen[bytes]:
    env = site_env(
        data,
        site_url=f"http://127.0.0.1:{port}",
        NICEPICK_SMTP_HOST="127.0.0.1",
        NICEPICK_SMTP_PORT=str(smtp_port),
        NICEPICK_SMTP_TLS="none",
        NICEPICK_SMTP_TIMEOUT="5",
        NICEPICK_FEEDBACK_MIN_SECONDS="0",
        NICEPICK_FEEDBACK_RATE="100000/minute",
        NICEPICK_OUTBOX_POLL_SECONDS="1",
        NICEPICK_OUTBOX_RETRY_SECONDS="1",
        NICEPICK_OUTBOX_MAX_BACKOFF_SECONDS="8",
    )
    return start_server(env, port, log=data.parent / "server.log")


async def post_notes(base: str, slug: str, option: str, count: int) -> tuple[list[int], list[str]]:
    """``count`` readers post at once, each on its own connection; statuses and markers."""
    page = httpx.get(f"{base}/compare/{slug}").text
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token, "no form token on the page"
    markers = [f"outage-note-{i}-{uuid.uuid4().hex[:12]}" for i in range(count)]
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def one(marker: str) -> int:
            data = {
                "option": option,
                "message": f"Posted during the mail outage: {marker}",
                "name": "Bench",
                "email": "",
                "token": token.group(1),
            }
            response = await client.post(f"/compare/{slug}/feedback", data=data)
            return response.status_code

        statuses = await asyncio.gather(*(one(marker) for marker in markers))
    return list(statuses), markers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--outage", type=float, default=60.0, help="seconds without SMTP")
    parser.add_argument("--mode", choices=["close", "refuse"], default="close")
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--record", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    sys.path.insert(0, str(ROOT))
    from app.feedback.store import FeedbackStore

    port, smtp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="nicepick-outage-") as temp:
        data = Path(temp) / "var"
        outage = HangUp(smtp_port) if args.mode == "close" else None
        site = start_site(data, port, smtp_port)
        inbox = Inbox()
        controller = None
        try:
            index = httpx.get(f"{base}/").text
            slug_match = re.search(r'href="/compare/([^"]+)"', index)
            assert slug_match
            slug = slug_match.group(1)
            page = httpx.get(f"{base}/compare/{slug}").text
            option_match = re.search(r'name="option" id="[^"]+" value="([^"]+)"', page)
            assert option_match, "no option on the form"

            outage_start = time.monotonic()
            started = time.perf_counter()
            statuses, markers = asyncio.run(
                post_notes(base, slug, option_match.group(1), args.notes)
            )
            post_seconds = time.perf_counter() - started
            store = FeedbackStore.from_url(f"sqlite:///{data / 'nicepick.sqlite3'}")
            stored_during = len(store.notes())
            time.sleep(max(0.0, args.outage - (time.monotonic() - outage_start)))
            pending_at_recovery = len(store.outbox_entries())
            failed_attempts = outage.accepted if outage else 0

            # Recovery: a working mail server on the same port.
            if outage:
                outage.stop()
                outage = None
            controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
            controller.start()
            recovered = time.monotonic()
            while len(inbox.messages) < args.notes and time.monotonic() - recovered < (
                args.drain_timeout
            ):
                time.sleep(0.2)
            drain_seconds = time.monotonic() - recovered
            time.sleep(3)  # any duplicate would arrive now
            notes = store.notes()
            left = store.outbox_entries()
            store.dispose()
        finally:
            if outage:
                outage.stop()
            site.terminate()
            site.wait(timeout=20)
            if controller:
                controller.stop()

    bodies = [m.get_body(("plain",)).get_content() for m in inbox.messages]
    found = Counter(marker for marker in markers for body in bodies if marker in body)
    ids = Counter(str(m["Message-ID"]) for m in inbox.messages)
    duplicates = sum(n - 1 for n in ids.values() if n > 1) + sum(
        n - 1 for n in found.values() if n > 1
    )
    ok_posts = statuses.count(303)
    stored_markers = {marker for marker in markers if any(marker in n.message for n in notes)}
    summary = (
        f"{args.notes} concurrent notes posted in {post_seconds:.1f} s during a "
        f"{args.outage:.0f} s SMTP outage ({args.mode}; {failed_attempts} failed SMTP "
        f"connections): {ok_posts} answered 303, {stored_during} stored during the outage, "
        f"{pending_at_recovery} waiting in the outbox at recovery; after recovery "
        f"{len(stored_markers)} stored, {len(found)} delivered in {drain_seconds:.1f} s, "
        f"{duplicates} duplicates, {len(left)} left in the outbox"
    )
    print(summary)
    passed = (
        ok_posts == args.notes
        and len(stored_markers) == args.notes
        and len(found) == args.notes
        and duplicates == 0
        and not left
    )
    print("PASS" if passed else "FAIL")
    if args.record:
        outcome = f"{summary}: {'PASS' if passed else 'FAIL'}"
        record("Feedback through an SMTP outage", "bench/smtp_outage.py", [outcome])
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
