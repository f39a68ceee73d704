"""The outbox under faults, with real parts: ``nicepick serve`` processes, a relay that
misbehaves on demand (tests/relay.py), SQLite (on a small tmpfs for the full disk), PostgreSQL
(a throwaway cluster stopped and started again), SIGTERM and kill -9.

Every test counts the mail the relay stored per note id: exactly one per note, except where
the relay stored a message and the connection died before its reply (the one window
docs/deploy.md states), which is asserted as exactly two copies with one Message-ID.

Notes are written straight into the database; the instances find them by polling.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from app.db import make_engine, upgrade
from app.feedback.store import FeedbackStore, NewNote, OutboxStatus, utcnow
from tests.conftest import GOOD
from tests.live import server_env
from tests.pg import Cluster, scratch_database
from tests.proxy import Instance
from tests.relay import Mode, Relay, wait_until
from tests.smtp import free_port

pytestmark = pytest.mark.slow

LEASE = 3.0
FAST = {
    "NICEPICK_OUTBOX_POLL_SECONDS": "0.2",
    "NICEPICK_OUTBOX_RETRY_SECONDS": "0.3",
    "NICEPICK_OUTBOX_MAX_BACKOFF_SECONDS": "1",
    "NICEPICK_OUTBOX_LEASE_SECONDS": str(LEASE),
    "NICEPICK_OUTBOX_DRAIN_SECONDS": "1",
    "NICEPICK_SMTP_TIMEOUT": "60",  # only what a test sets shorter ends a wait early
    "NICEPICK_DATABASE_TIMEOUT": "2",
}


def new_note(number: int, *, title: str = "Vim vs Emacs") -> NewNote:
    return NewNote(
        slug="vim-vs-emacs",
        title=title,
        our_pick="Vim",
        reader_pick="Emacs",
        message=f"fault-injection note {number}, long enough",
        name="",
        email="",
        page_hash="abc",
        page_updated=None,
    )


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    return folder


@pytest.fixture
def relay() -> Iterator[Relay]:
    server = Relay().start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def instances(count: int, env: dict[str, str], logs: Path) -> Iterator[list[Instance]]:
    """``count`` instances, not started; every one still running is stopped on exit."""
    made = [Instance(free_port(), env, logs / f"instance{n}.log") for n in range(count)]
    try:
        yield made
    finally:
        for instance in made:
            if instance.process is not None and instance.process.poll() is None:
                instance.kill()


def sqlite_site(data: Path, content: Path, relay: Relay, **extra: str) -> dict[str, str]:
    return server_env(data, content_dir=content, smtp_port=relay.port, **(FAST | extra))


def sqlite_store(data: Path) -> FeedbackStore:
    data.mkdir(parents=True, exist_ok=True)
    store = FeedbackStore.from_url(f"sqlite:///{(data / 'nicepick.sqlite3').resolve()}")
    store.create_schema()
    return store


def stop_timed(instance: Instance) -> float:
    started = time.monotonic()
    assert instance.stop() in (0, -signal.SIGTERM)
    return time.monotonic() - started


def log_count(instance: Instance, text: str) -> int:
    return instance.log.read_text(errors="replace").count(text)


# --- SIGTERM -----------------------------------------------------------------------------------


def test_sigterm_with_the_relay_hanging_in_ehlo_exits_at_once_and_hands_the_note_back(
    tmp_path: Path, content: Path, relay: Relay
) -> None:
    relay.mode = "hang_ehlo"
    store = sqlite_store(tmp_path / "var")
    env = sqlite_site(tmp_path / "var", content, relay)
    with instances(2, env, tmp_path) as (first, second):
        first.start()
        note = store.add_note(new_note(1))
        wait_until(lambda: relay.ehlo_received == 1, what="the sender waits in EHLO")
        took = stop_timed(first)
        # Nothing reached the relay: the lease goes back at once, no attempt is counted.
        [entry] = store.outbox_entries()
        assert (entry.claimed_by, entry.attempts) == (None, 0)
        relay.mode = "accept"
        second.start()
        wait_until(lambda: store.outbox_entries() == [], what="the other instance mails it")
    assert took < 10, f"SIGTERM took {took:.1f} s with the relay hanging in EHLO"
    assert relay.counts() == Counter({note.id: 1})


def test_sigterm_during_a_slow_data_drops_the_session_and_keeps_the_lease(
    tmp_path: Path, content: Path, relay: Relay
) -> None:
    relay.mode, relay.delay = "slow_data", 60.0
    store = sqlite_store(tmp_path / "var")
    env = sqlite_site(tmp_path / "var", content, relay)
    with instances(2, env, tmp_path) as (first, second):
        first.start()
        note = store.add_note(new_note(1))
        wait_until(lambda: relay.data_received == 1, what="the message is with the relay")
        took = stop_timed(first)
        # The relay may have stored it: the lease is kept, never handed back, and says why.
        [entry] = store.outbox_entries()
        assert entry.claimed_by is not None and entry.claimed_by.endswith("(outcome unknown)")
        assert entry.last_error is not None and entry.last_error.startswith("outcome unknown")
        assert entry.claimed_until is not None and entry.sent_at is None
        relay.mode = "accept"
        second.start()
        wait_until(lambda: store.outbox_entries() == [], what="sent again after the lease")
    assert took < 10, f"SIGTERM took {took:.1f} s with a message awaiting its reply"
    # Dropped, not QUIT: the relay gave the first copy up with the connection.
    assert relay.counts() == Counter({note.id: 1})


# --- the relay's faults ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "copies"),
    [
        ("reject_4xx", 1),  # retried after the backoff, delivered once
        ("drop_before_storing", 1),  # outcome unknown: sent again when the lease ends
        ("drop_after_storing", 2),  # the one window: stored, the reply never came
    ],
)
def test_a_relay_fault_on_the_first_attempt_ends_in_one_delivery_or_the_documented_window(
    tmp_path: Path, content: Path, relay: Relay, mode: Mode, copies: int
) -> None:
    relay.mode, relay.once = mode, True
    store = sqlite_store(tmp_path / "var")
    env = sqlite_site(tmp_path / "var", content, relay)
    with instances(1, env, tmp_path) as (site,):
        note = store.add_note(new_note(1))
        site.start()
        wait_until(lambda: store.outbox_entries() == [], what=f"delivered after {mode}")
    assert relay.counts() == Counter({note.id: copies})
    assert len(set(relay.message_ids(note.id))) == 1  # receivers fold the copies into one
    errors = store.attempt_errors(store.outbox_entries(include_sent=True)[0].outbox_id)
    assert errors[-1] is None and len(errors) == 2 and errors[0]


def test_a_relay_slower_than_every_timeout_and_lease_gets_one_copy(
    tmp_path: Path, content: Path, relay: Relay
) -> None:
    # The relay takes longer than NICEPICK_SMTP_TIMEOUT and than the lease to answer DATA,
    # and stores the message whatever the client does: the sender must wait for the reply
    # (RFC 5321's 10 minutes) and renew its lease meanwhile; another instance must not take it.
    relay.mode, relay.delay = "slow_data_keeps", 2 * LEASE
    store = sqlite_store(tmp_path / "var")
    env = sqlite_site(tmp_path / "var", content, relay, NICEPICK_SMTP_TIMEOUT="1")
    with instances(2, env, tmp_path) as pair:
        note = store.add_note(new_note(1))
        for instance in pair:
            instance.start()
        wait_until(lambda: store.outbox_entries() == [], timeout=30, what="the slow delivery")
    assert relay.counts() == Counter({note.id: 1})
    assert relay.mail_commands == 1


# --- the sender's own faults -------------------------------------------------------------------


def test_kill_9_mid_batch_resends_only_the_message_the_relay_was_answering(
    tmp_path: Path, content: Path, relay: Relay
) -> None:
    store = sqlite_store(tmp_path / "var")
    notes = [store.add_note(new_note(n)) for n in range(5)]
    env = sqlite_site(tmp_path / "var", content, relay)
    with instances(2, env, tmp_path) as (first, second):

        def kill_at_the_third(note_id: int) -> None:
            if note_id == notes[2].id and first.process is not None:
                first.process.send_signal(signal.SIGKILL)  # the relay stored it; no reply

        relay.on_stored = kill_at_the_third
        # It sends the five over one session, and may be killed before it answers /healthz.
        with contextlib.suppress(RuntimeError):
            first.start()
        assert first.process is not None
        assert first.process.wait(timeout=20) == -signal.SIGKILL
        relay.on_stored = None
        second.start()
        wait_until(lambda: store.outbox_entries() == [], what="the rest, after the lease")
    expected = Counter({note.id: 1 for note in notes})
    expected[notes[2].id] = 2  # the window: stored, then the sender died before the reply
    assert relay.counts() == expected


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 16 MB tmpfs of our own, to fill (mounting needs root; CI runs as root)."""
    folder = Path(tempfile.mkdtemp(prefix="nicepick-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        folder.rmdir()
        reason = f"cannot mount a tmpfs: {mounted.stderr.decode(errors='replace').strip()}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    # Unbuffered: a buffered file's close flushes what the full disk refused and raises
    # again, outside the suppress (whether it does depended on how full the disk was).
    with filler.open("wb", buffering=0) as out:
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 65536)
                out.flush()
    return filler


def test_a_full_disk_stops_the_sender_until_the_delivery_is_recorded(
    tmp_path: Path, content: Path, relay: Relay, small_disk: Path
) -> None:
    data = small_disk / "var"
    store = sqlite_store(data)
    env = sqlite_site(data, content, relay)
    fillers: list[Path] = []

    def fill_the_disk(note_id: int) -> None:
        if not fillers:
            fillers.append(fill(small_disk))  # the relay has it; "sent" cannot be written

    with instances(1, env, tmp_path) as (site,):
        site.start()
        relay.on_stored = fill_the_disk
        notes = [store.add_note(new_note(n)) for n in range(10)]
        wait_until(
            lambda: log_count(site, "still not recorded") >= 3,
            what="the sender retries the record and sends nothing else",
        )
        assert sum(relay.counts().values()) == 1
        fillers[0].unlink()
        wait_until(lambda: store.outbox_entries() == [], timeout=30, what="the rest once freed")
    assert relay.counts() == Counter({note.id: 1 for note in notes})


# --- permanent failures ------------------------------------------------------------------------


def nicepick(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_refused_note_fails_for_good_without_holding_up_the_others_and_only_retry_sends_it(
    tmp_path: Path, content: Path, relay: Relay
) -> None:
    store = sqlite_store(tmp_path / "var")
    first = store.add_note(new_note(1))
    refused = store.add_note(new_note(2))
    last = store.add_note(new_note(3))
    relay.refuse = {refused.id}
    env = sqlite_site(tmp_path / "var", content, relay)
    with instances(1, env, tmp_path) as (site,):
        site.start()
        wait_until(lambda: store.outbox_status() == OutboxStatus(pending=0, failed=1))
        assert relay.counts() == Counter({first.id: 1, last.id: 1})
        assert relay.data_received == 3  # the refused one was tried once, not retried
        far = utcnow() + timedelta(days=30)
        assert store.claim("probe", lease=timedelta(seconds=1), now=far) == []

        listed = nicepick(env, "outbox")
        assert listed.returncode == 0, listed.stderr
        lines = listed.stdout.splitlines()
        assert lines[0] == "0 pending, 1 failed"
        assert any(f"note #{refused.id} " in line and "failed" in line for line in lines)
        assert "SMTPDataError: (554, '5.6.0 Message refused by policy')" in listed.stdout

        relay.refuse = set()
        retried = nicepick(env, "outbox", "--retry")
        assert "retrying 1 message(s) now" in retried.stdout, retried.stderr
        wait_until(lambda: store.outbox_status() == OutboxStatus(pending=0, failed=0))
    assert relay.counts() == Counter({first.id: 1, refused.id: 1, last.id: 1})


def test_mail_that_cannot_be_built_fails_for_good_until_retry(
    tmp_path: Path, content: Path, relay: Relay
) -> None:
    """Readers' and editors' text always builds (tests/test_mail_headers.py), so what is left
    is the operator's: a recipient with a line break in it. Every such mail is failed at once
    with the reason, not retried hourly; fixed settings and ``outbox --retry`` send them."""
    store = sqlite_store(tmp_path / "var")
    notes = [store.add_note(new_note(n)) for n in (1, 2)]
    fixed = sqlite_site(tmp_path / "var", content, relay)
    broken = {**fixed, "NICEPICK_FEEDBACK_TO": "editors@nicepick.test\nBcc: victim@evil.test"}
    with instances(1, broken, tmp_path) as (site,):
        site.start()
        wait_until(lambda: store.outbox_status() == OutboxStatus(pending=0, failed=2))
        listed = nicepick(broken, "outbox")
        assert listed.stdout.splitlines()[0] == "0 pending, 2 failed"
        assert (
            "UnbuildableMessage" in listed.stdout and "a header could not be set" in listed.stdout
        )
    assert relay.data_received == 0
    retried = nicepick(fixed, "outbox", "--retry")
    assert "retrying 2 message(s) now" in retried.stdout, retried.stderr
    wait_until(lambda: relay.counts() == Counter({note.id: 1 for note in notes}))
    assert store.outbox_status() == OutboxStatus(pending=0, failed=0)


# --- PostgreSQL: an outage after the 250, and a skewed clock ------------------------------------


@pytest.mark.postgres
def test_a_database_outage_right_after_the_250_records_the_delivery_and_mails_once(
    tmp_path: Path, content: Path, relay: Relay, pg_cluster: Cluster
) -> None:
    engine = make_engine(pg_cluster.url)
    upgrade(engine)
    engine.dispose()
    store = FeedbackStore.from_url(pg_cluster.url)
    lease = 6.0
    # Slow enough that a lease taken at the claim would end during the outage.
    relay.mode, relay.delay = "slow_data", 0.7 * lease
    outage: list[threading.Timer] = []

    def stop_the_database(note_id: int) -> None:
        if not outage:
            pg_cluster.stop()  # the relay stored it; "sent" cannot be committed now
            restart = threading.Timer(2.0, pg_cluster.start)
            restart.start()
            # Listed once started: the test joins it as soon as it sees it.
            outage.append(restart)

    relay.on_stored = stop_the_database
    env = server_env(
        tmp_path / "var",
        content_dir=content,
        smtp_port=relay.port,
        **(
            FAST
            | {
                "NICEPICK_DATABASE_URL": pg_cluster.url,
                "NICEPICK_OUTBOX_LEASE_SECONDS": str(lease),
            }
        ),
    )
    try:
        with instances(2, env, tmp_path) as pair:
            for instance in pair:
                instance.start()
            note = store.add_note(new_note(1))
            wait_until(lambda: bool(outage), what="the outage")
            outage[0].join()
            wait_until(lambda: store.outbox_entries() == [], timeout=30, what="recorded")
        assert relay.counts() == Counter({note.id: 1})
        assert relay.mail_commands == 1
        [entry] = store.outbox_entries(include_sent=True)
        assert store.attempt_errors(entry.outbox_id) == [None]
    finally:
        if not pg_cluster.is_running():
            pg_cluster.start()
        store.dispose()


def faketime_env(offset: str) -> dict[str, str]:
    """Variables that run a process with its wall clock moved by ``offset`` (libfaketime)."""
    libfaketime = pytest.importorskip("libfaketime")
    _, variables = libfaketime.get_reload_information()
    return {**variables, "FAKETIME": offset}


@pytest.mark.postgres
def test_an_instance_with_its_clock_two_minutes_ahead_does_not_take_a_live_lease(
    tmp_path: Path, content: Path, relay: Relay
) -> None:
    relay.mode, relay.delay = "slow_data", 3 * LEASE
    with scratch_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        store = FeedbackStore.from_url(url)
        env = server_env(
            tmp_path / "var",
            content_dir=content,
            smtp_port=relay.port,
            **(FAST | {"NICEPICK_DATABASE_URL": url}),
        )
        try:
            with instances(2, env, tmp_path) as (honest, ahead):
                honest.start()
                note = store.add_note(new_note(1))
                wait_until(lambda: relay.data_received == 1, what="the honest instance sends")
                ahead.env |= faketime_env("+120s")
                ahead.start()
                ahead_date = httpx.get(f"{ahead.url}/healthz", timeout=5).headers["date"]
                skew = parsedate_to_datetime(ahead_date).timestamp() - time.time()
                assert skew > 100, f"the clock is not ahead ({skew:.0f} s)"
                wait_until(lambda: store.outbox_entries() == [], timeout=30, what="delivered")
            assert relay.counts() == Counter({note.id: 1})
            assert relay.mail_commands == 1
        finally:
            store.dispose()
