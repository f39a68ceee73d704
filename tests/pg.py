"""PostgreSQL for tests: a database of our own on the shared server, or a throwaway cluster.

``pg_url`` creates ``nicepick_test_<uuid>`` on ``NICEPICK_TEST_DATABASE_URL`` (default: the
machine's server at 127.0.0.1:5432, database ``test``) and drops it afterwards. When no server
answers, the tests skip with the reason shown, except under ``CI=true``, where they fail: CI
must never pass by skipping the PostgreSQL suite.

``Cluster`` is a private server (``initdb`` + ``pg_ctl`` on a free port, data in a temp folder)
that a test may stop and start again to play a database outage. The machine's own server is
never touched. PostgreSQL refuses to run as root, so as root the binaries run as ``postgres``.
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_BIN = Path(os.environ.get("NICEPICK_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def server_url() -> str:
    return os.environ.get("NICEPICK_TEST_DATABASE_URL") or DEFAULT_URL


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@functools.cache
def _unreachable_reason() -> str | None:
    url = server_url()
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        first_line = str(exc).strip().splitlines()[0]
        return f"PostgreSQL at {make_url(url).render_as_string()} unreachable: {first_line}"
    finally:
        engine.dispose()
    return None


def require_postgres() -> str:
    """The server URL, or skip (fail under CI=true) with the reason it cannot be used."""
    reason = _unreachable_reason()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(f"{reason}; set NICEPICK_TEST_DATABASE_URL to run these")
    return server_url()


@contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh, uniquely named database on the test server; dropped on exit."""
    url = make_url(require_postgres())
    name = f"nicepick_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE ends sessions a killed server process may have left (PostgreSQL 13+).
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


class Cluster:
    """A PostgreSQL server of the test's own, which it may stop and start at will."""

    def __init__(self) -> None:
        self.port = free_port()
        # Not under pytest's tmp_path: its parents are private to root, unreadable to postgres.
        self.root = Path(tempfile.mkdtemp(prefix="nicepick-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self) -> None:
        # fast: end sessions at once, as a crashed or restarted server would.
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def is_running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        reason = f"no PostgreSQL binaries at {PG_BIN} for a throwaway cluster"
        if _in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    cluster = Cluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def wait_until(
    predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05
) -> bool:
    """Poll ``predicate()`` until it is true or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
