"""The database connection: engine, the thread pool that runs every query, and the schema version.

One ``Database`` per process serves the feedback store, the outbox and the rate limit, on the
embedded SQLite file or on PostgreSQL (``postgresql+psycopg://...``) through the same SQLAlchemy
Core code.

Why a bounded thread pool and not an async driver: the store is plain synchronous Core, which is
the one code path SQLite and PostgreSQL share (an async SQLite driver is a thread underneath
anyway). Queries run in worker threads so they never block the event loop, and those threads
come from a limiter of our own, sized to the connection pool: more threads than connections
would only queue inside the pool, and sharing AnyIO's default pool (which also runs the sync page
routes) would let a dead database, with every thread stuck in a connect timeout, starve page
serving. Pages must keep flowing while the database is down.

Migrations are Alembic revisions in ``app/migrations``. ``upgrade`` takes a PostgreSQL
transaction-level advisory lock (a file lock on SQLite) so instances started together do not
race; the second one finds the schema current and does nothing.

Under 500 lines: the engine options of both databases (each pragma and timeout with the
page that justifies it), the migration lock and the pool's two gauges (connections in use,
calls waiting for a thread) belong with the connection they configure or count.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from app import metrics

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
# Alembic announces every plugin it loads at INFO; that is noise in a server's log.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant works; it only has to be the same for every instance of this application.
ADVISORY_LOCK_KEY = 0x6E6963657069636B  # "nicepick"

P = ParamSpec("P")
T = TypeVar("T")


# What a database that is down, restarting, locked or unreachable raises: it may well answer in
# a minute. Every other SQLAlchemyError (a corrupt file, a value the column refuses, a table
# gone) needs an operator. Readers get the same 503 with their text kept for both; only the
# log level differs.
UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
)


class DatabaseFileGone(sa_exc.SQLAlchemyError):
    """The SQLite file was deleted or replaced under a connection that still has the old one
    open: what it wrote would vanish at the next start."""


def file_identity(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def sqlite_file_problem(path: str, opened: tuple[int, int] | None) -> str | None:
    """Why the file at ``path`` is not the one a connection opened (``opened``), or None."""
    now = file_identity(path)
    if now is None:
        return f"the SQLite file {path} is gone (deleted while open); restart to recreate it"
    if opened is not None and now != opened:
        return f"the SQLite file {path} was replaced while open; restart to use the new one"
    return None


class SchemaBehind(RuntimeError):
    """The database schema is older than this code; ``nicepick db upgrade`` brings it up."""


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None
    head: str | None  # None only until the first revision exists

    @property
    def is_current(self) -> bool:
        return self.current == self.head


def busy_timeout_ms(seconds: float) -> int:
    """SQLite's busy_timeout for a wait of ``seconds`` (at least a millisecond: 0 turns it off)."""
    return max(1, round(seconds * 1000))


def _sqlite_connect(timeout: float, dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself, so writes can take the lock up
    # front: https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#pysqlite-serializable
    dbapi_connection.isolation_level = None
    # WAL lets readers and one writer work at once; busy_timeout makes a second writer wait
    # for the lock instead of failing at once with "database is locked", for as long as a
    # request may wait for the database (NICEPICK_DATABASE_TIMEOUT), not a fixed 30 s: a file
    # another program holds locked then costs a reader that long, and a 503.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: COMMIT returns once the transaction is written to the WAL file, in
    # the operating system's page cache, without waiting for fsync (checkpoints fsync). A
    # note committed before the 303 therefore survives a crash or kill of this process: the
    # kernel holds the write and the next open replays the WAL. A power loss or kernel crash
    # can lose the last commits made since the previous sync (the file stays consistent,
    # those notes are gone although their readers saw the thank-you). FULL would fsync the
    # WAL on every commit to cover that, at a disk flush per note.
    # https://www.sqlite.org/pragma.html#pragma_synchronous
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms(timeout)}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads, then writes, can fail at once with SQLITE_BUSY
    # instead of waiting; IMMEDIATE waits on busy_timeout for the write lock. Writers ask
    # for it with ``execution_options(write=True)``.
    write = connection.get_execution_options().get("write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(
    url: str | URL,
    *,
    pool_size: int = 5,
    max_overflow: int = 5,
    connect_timeout: float = 5.0,
) -> Engine:
    """An engine for SQLite or PostgreSQL, with pre-ping so it recovers when the server returns."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            pool_timeout=connect_timeout,
            connect_args={"timeout": connect_timeout, "check_same_thread": False},
        )

        path = url.database if url.database and url.database != ":memory:" else None

        def on_connect(dbapi_connection: Any, record: Any) -> None:
            _sqlite_connect(connect_timeout, dbapi_connection, record)
            if path is not None:
                record.info["file"] = file_identity(path)
                # SQLite opens a file it cannot write read-only, and such a connection never
                # writes again: noted, to be replaced once the file can be written.
                record.info["read_only"] = not os.access(path, os.W_OK)

        def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            # A connection made while the data folder was read-only (a disk remounted so, then
            # mended) would refuse every note after: the pool makes a new one instead.
            if path is not None and record.info.get("read_only") and os.access(path, os.W_OK):
                raise sa_exc.DisconnectionError("opened read-only; the file is writable now")

        def on_begin(connection: Connection) -> None:
            # A connection keeps writing to a file deleted under it (``rm`` unlinks, the
            # open file lives on), and those notes vanish at restart: refuse the write, so
            # the reader keeps the text and gets the 503.
            if path is not None and connection.get_execution_options().get("write", False):
                opened = connection.connection.info.get("file")
                if (problem := sqlite_file_problem(path, opened)) is not None:
                    connection.invalidate()
                    raise DatabaseFileGone(problem)
            _sqlite_begin(connection)

        event.listen(engine, "connect", on_connect)
        event.listen(engine, "checkout", on_checkout)
        event.listen(engine, "begin", on_begin)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # A connection dropped while the server was away is noticed here, not by the query.
        pool_pre_ping=True,
        # Fail fast while the server is down: a reader waits seconds for a 503, not minutes.
        pool_timeout=connect_timeout,
        connect_args={
            "connect_timeout": max(1, round(connect_timeout)),
            # And while a table or row is locked (an operator's ALTER or LOCK TABLE, a stuck
            # session): PostgreSQL waits for a lock forever unless told otherwise.
            # https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT
            # statement_timeout ends a statement the server is still running past the same
            # budget (every query of ours is a short one; `db upgrade` turns it off).
            "options": (
                f"-c lock_timeout={busy_timeout_ms(connect_timeout)} "
                f"-c statement_timeout={busy_timeout_ms(connect_timeout)}"
            ),
            # A connection whose peer went silent (a stalled network, proxy or server) raises
            # an error instead of waiting for ever: tcp_user_timeout when sent data stays
            # unacknowledged, keepalives when an idle one gets no probe answers. Both are
            # libpq's: https://www.postgresql.org/docs/current/libpq-connect.html
            "keepalives": 1,
            "keepalives_idle": max(1, round(connect_timeout)),
            "keepalives_interval": max(1, round(connect_timeout / 3)),
            "keepalives_count": 3,
            "tcp_user_timeout": busy_timeout_ms(connect_timeout),
        },
    )


class Database:
    """The engine plus a bounded pool of threads that run every query off the event loop."""

    def __init__(
        self,
        url: str | URL,
        *,
        pool_size: int = 5,
        max_overflow: int = 5,
        connect_timeout: float = 5.0,
    ) -> None:
        self.engine = make_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, connect_timeout=connect_timeout
        )
        self._limiter = anyio.CapacityLimiter(pool_size + max_overflow)
        self._connect_timeout = connect_timeout
        # Queries still running in a thread. A task cancelled at shutdown leaves its thread
        # running; ``dispose`` waits for it, or the connection it returns afterwards goes back
        # to a pool nobody closes (SQLAlchemy's Engine.dispose leaves checked-out connections).
        self._running = 0
        self._all_done = threading.Condition()
        # The SQLite file as first opened (device, inode), for readiness to notice it deleted
        # or replaced while this process has it open.
        self._opened_file: tuple[int, int] | None = None
        if self.engine.url.get_backend_name() == "sqlite" and self.engine.url.database:
            database = self.engine.url.database

            def remember(_dbapi_connection: Any, _record: Any) -> None:
                if self._opened_file is None:
                    self._opened_file = file_identity(database)

            event.listen(self.engine, "connect", remember)
        # Connections in use, for nicepick_db_connections_in_use (the pool's own events).
        event.listen(self.engine, "checkout", _checked_out)
        event.listen(self.engine, "checkin", _checked_in)

    def _counted(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``fn`` in a worker thread, counted as running until it returns (``dispose``)."""
        with self._all_done:
            self._running += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with self._all_done:
                self._running -= 1
                self._all_done.notify_all()

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking database function in one of this database's threads."""

        call = _Waiting(functools.partial(self._counted, fn, *args, **kwargs))
        try:
            return await anyio.to_thread.run_sync(call, limiter=self._limiter)
        finally:
            call.done()

    async def run_by(
        self, deadline: float, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``run``, answered by ``deadline`` (``time.monotonic()``) or ``sa_exc.TimeoutError``.

        A thread stuck on a connection that stopped answering (a stalled network or proxy:
        no error, no reply) cannot be interrupted; it is left to finish on its own, bounded
        by ``statement_timeout`` and the TCP timeouts set in ``make_engine``. What it commits
        late is safe: a note carries an idempotency key, so the reader's resend finds it.
        """

        call = _Waiting(functools.partial(self._counted, fn, *args, **kwargs))
        try:
            with anyio.fail_after(max(0.0, deadline - time.monotonic())):
                return await anyio.to_thread.run_sync(
                    call, limiter=self._limiter, abandon_on_cancel=True
                )
        except TimeoutError:
            raise sa_exc.TimeoutError(
                f"the database did not answer within {self._connect_timeout:g} s"
            ) from None
        finally:
            call.done()

    def schema_status(self) -> SchemaStatus:
        return schema_status(self.engine)

    def ready(self) -> tuple[bool, str]:
        """Whether the database answers and its schema is current (the store adds whether it
        can be written: ``FeedbackStore.probe_write``)."""
        database = self.engine.url.database
        if database and self._opened_file is not None:
            # Before any connection: a new one would create an empty file in its place.
            problem = sqlite_file_problem(database, self._opened_file)
            if problem is not None:
                return False, problem
        try:
            status = self.schema_status()
        except SQLAlchemyError as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        if status.current is None and database and self._opened_file is not None:
            # The file we migrated at start has no schema now: a new, empty file took its
            # place (once every connection to the deleted one closed, it may even reuse the
            # inode, so the identity check above cannot always tell).
            return False, f"the SQLite file {database} was replaced while open; restart to use it"
        if not status.is_current:
            return False, f"schema at {status.current or 'nothing'}, code needs {status.head}"
        return True, "ok"

    @property
    def sqlite_folder(self) -> Path | None:
        """The folder of the SQLite file (its WAL and lock files live there too), else None."""
        url = self.engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return Path(url.database).parent

    def dispose(self) -> None:
        """Close every connection, once the queries still running (bounded by the database
        timeout, which every lock wait and connect obeys) have given theirs back."""
        with self._all_done:
            self._all_done.wait_for(lambda: self._running == 0, timeout=self._connect_timeout + 1)
        self.engine.dispose()


def _checked_out(_dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    metrics.DB_CONNECTIONS_IN_USE.inc()


def _checked_in(_dbapi_connection: Any, _record: Any) -> None:
    metrics.DB_CONNECTIONS_IN_USE.dec()


class _Waiting(Generic[T]):
    """A call counted in ``nicepick_db_queries_waiting`` from now until a thread starts it,
    or until ``done`` when it never started (cancelled, or timed out while waiting)."""

    def __init__(self, call: Callable[[], T]) -> None:
        self.call = call
        self.lock = threading.Lock()
        self.waiting = True
        metrics.DB_QUERIES_WAITING.inc()

    def _stop_waiting(self) -> None:
        with self.lock:
            if self.waiting:
                self.waiting = False
                metrics.DB_QUERIES_WAITING.dec()

    def __call__(self) -> T:
        self._stop_waiting()
        return self.call()

    def done(self) -> None:
        self._stop_waiting()


# --- migrations ---------------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code so no alembic.ini has to be found on disk."""
    # Alembic is imported only when the schema is touched: it costs a second at start.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_REVISION = re.compile(r"^revision\s*=\s*[\"']([^\"']+)[\"']\s*$", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(None|[\"']([^\"']+)[\"'])\s*$", re.MULTILINE)


def head_revision() -> str | None:
    """The newest revision. Read from the migration files' ``revision``/``down_revision``
    lines when they are that plain (one linear history), because every start asks and
    importing Alembic costs about a second; Alembic itself answers anything else."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(text), _DOWN_REVISION.findall(text)
        if path.name == "__init__.py" and not revision:
            continue
        if len(revision) != 1 or len(down) != 1:
            return _alembic_head()
        revisions.add(revision[0])
        if down[0][1]:
            parents.add(down[0][1])
    heads = revisions - parents
    if len(heads) > 1:
        return _alembic_head()
    return next(iter(heads), None)


def _alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_status(engine: Engine) -> SchemaStatus:
    # Read Alembic's table directly: /readyz asks every few seconds, and Alembic's
    # MigrationContext would log two INFO lines each time.
    with engine.connect() as conn:
        current = None
        if inspect(conn).has_table("alembic_version"):
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return SchemaStatus(current=current, head=head_revision())


@contextlib.contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """On a SQLite file, serialise upgrades of workers of one machine through a lock file."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_suffix(".migrate.lock")
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine) -> SchemaStatus:
    """Bring the schema to the newest revision; safe when several instances call it together."""
    from alembic import command

    if engine.dialect.name == "postgresql":
        with engine.connect() as conn, conn.begin():
            # Held until this transaction ends; PostgreSQL runs DDL inside transactions, so the
            # whole upgrade commits (and the lock is released) at once. Alembic sees an
            # external transaction and runs inside it.
            # An upgrade waits for another one however long it takes, not lock_timeout.
            conn.execute(text("SET LOCAL lock_timeout = 0"))
            # Nor may a long migration (an index on a large table) be cut off mid-way.
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            command.upgrade(alembic_config(conn), "head")
    else:
        with _file_lock(engine), engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    return schema_status(engine)


def prepare_schema(engine: Engine) -> SchemaStatus:
    """What ``serve`` does at start: upgrade the embedded SQLite file, refuse an old PostgreSQL.

    On PostgreSQL, schema changes are an operator's deliberate step (``nicepick db upgrade``),
    run once before rolling out new instances, never a side effect of one instance booting.
    """
    status = schema_status(engine)  # a SELECT: the usual start finds the schema current
    if engine.dialect.name == "sqlite" and not status.is_current:
        return upgrade(engine)
    if not status.is_current:
        raise SchemaBehind(
            f"the database schema is at {status.current or 'nothing (empty database)'} but this "
            f"version needs {status.head}; run `nicepick db upgrade` first"
        )
    return status
