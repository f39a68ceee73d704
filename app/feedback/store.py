"""Every SQL statement of the feedback feature, written with SQLAlchemy Core.

The schema lives in ``metadata``; Alembic revisions in ``app/migrations`` create it (see
``app/db.py``). Methods are synchronous and short; async callers run them in the database's
bounded thread pool so the event loop never waits on the database. SQLite (the default) runs
in WAL mode with write transactions started ``BEGIN IMMEDIATE``; PostgreSQL
(``postgresql+psycopg://``) goes through the very same statements.

Outbox rows are claimed with a lease (``claimed_by``, ``claimed_until``): a conditional
``UPDATE ... WHERE claimed_until IS NULL OR claimed_until < now`` that only one worker can win,
so several processes never send one note at the same time. On PostgreSQL the candidate
``SELECT`` also takes ``FOR UPDATE SKIP LOCKED`` (see ``claim``): instances polling together
skip each other's rows instead of queueing on them. The holder renews its lease while it sends
(``renew``), and every write about a claimed row checks that the writer still holds it.

Lease times come from one clock: on PostgreSQL the server's (``now()``), since instances on
several hosts may disagree by minutes; on SQLite, which only processes of one host can share,
that host's clock, read once the write lock is held (a time read before queueing for the lock
would be stale by the wait).

The rate limit is counted here too (``rate_hits``), so it holds across every instance, and the
disagreement meter is read as one snapshot of all pages' counts (``refresh_meters``) that the
page path reads from memory: pages never wait on, or fail with, the database.

Over 400 lines on purpose: every statement of the feature lives here and nowhere else (routes,
the outbox and the commands hold no SQL), and the lease rules only hold if the claim, renew,
record and release statements are read side by side.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from app import db
from app.feedback.view import Meter as Meter  # re-exported: the store answers with it
from app.feedback.view import meter_since

metadata = sa.MetaData()

NoteKind = Literal["note", "request"]
NOTE: NoteKind = "note"
REQUEST: NoteKind = "request"

notes = sa.Table(
    "feedback_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # Text, not String(n), for what comes from the editors' files: SQLite never enforces a
    # length, so a limit would hold on PostgreSQL alone, and the content has none to match
    # (a slug is a file name, at most 255 bytes). PostgreSQL stores text and varchar alike:
    # https://www.postgresql.org/docs/current/datatype-character.html
    sa.Column("slug", sa.Text, nullable=False, index=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("our_pick", sa.Text, nullable=False),
    sa.Column("reader_pick", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("name", sa.String(100), nullable=False, server_default=""),
    sa.Column("email", sa.String(254), nullable=False, server_default=""),
    # The page version the reader saw: the content file's hash and its updated date.
    sa.Column("page_hash", sa.String(64), nullable=False),
    sa.Column("page_updated", sa.Date, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),  # naive UTC
    # The submission's idempotency key (``service.submission_key``): a resent form finds the
    # note its first sending stored. NULL for notes stored before the key existed.
    sa.Column("submission_key", sa.String(64), nullable=True),
    # What the reader sent: a disagreement with a page's pick (``note``), or a request for a
    # comparison we have not written (``request``: no page, its title the asked-for pair).
    sa.Column("kind", sa.String(16), nullable=False, server_default=NOTE),
    sa.Index("ux_feedback_notes_submission_key", "submission_key", unique=True),
    # The X-Request-ID of the POST that stored the note (``app/logs.py``), so the outbox's
    # log lines for it name the request. NULL for notes stored before, or outside a request.
    sa.Column("request_id", sa.String(128), nullable=True),
)

outbox = sa.Table(
    "feedback_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "note_id",
        sa.Integer,
        sa.ForeignKey("feedback_notes.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime, nullable=False),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claimed_until", sa.DateTime, nullable=True),
    sa.Column("last_attempt_at", sa.DateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("sent_at", sa.DateTime, nullable=True),
    # Set when the mail server refused the note for good (5xx) or its mail cannot be built:
    # never claimed again until ``nicepick outbox --retry`` clears it.
    sa.Column("failed_at", sa.DateTime, nullable=True),
    sa.Index("ix_feedback_outbox_due", "sent_at", "next_attempt_at"),
)

attempts = sa.Table(
    "feedback_outbox_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "outbox_id",
        sa.Integer,
        sa.ForeignKey("feedback_outbox.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("worker", sa.String(200), nullable=False),
    sa.Column("error", sa.Text, nullable=True),  # NULL: delivered
)


# One row per accepted note per client: a moving window, counted under a per-client lock.
rate_hits = sa.Table(
    "feedback_rate_hits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client", sa.String(100), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),  # naive UTC
    sa.Index("ix_feedback_rate_hits_client_at", "client", "at"),
)

# Key space of the per-client advisory lock (two-int form, apart from the migration lock).
_RATE_LOCK_CLASS = 7263

# A submission's statements, built once with bound parameters: building them per call with
# ``.values(...)`` cost about half of a POST's Python time (coercing each value and computing
# the statement's cache key), all of it while holding SQLite's write lock.
_INSERT_NOTE = notes.insert().returning(notes.c.id)
_INSERT_OUTBOX = outbox.insert()
_INSERT_HIT = rate_hits.insert()
_FORGET_HITS = rate_hits.delete().where(
    rate_hits.c.client == sa.bindparam("hit_client"), rate_hits.c.at <= sa.bindparam("since")
)
_COUNT_HITS = sa.select(sa.func.count()).where(rate_hits.c.client == sa.bindparam("hit_client"))
_LOCK_FOR_NOTES = sa.text(
    "LOCK TABLE feedback_notes, feedback_outbox, feedback_rate_hits IN ROW EXCLUSIVE MODE"
)
_TOUCH_VERSION = sa.text("UPDATE alembic_version SET version_num = version_num")
_LOCK_CLIENT = sa.select(
    sa.func.pg_advisory_xact_lock(_RATE_LOCK_CLASS, sa.func.hashtext(sa.bindparam("hit_client")))
)


class _OverLimit(Exception):
    """Raised inside a write transaction to roll back a note over the client's rate limit."""


class _Probed(Exception):
    """Raised inside a write transaction to roll back a probe."""


# The database server's time as naive UTC, the form of every timestamp column.
_DB_NOW = sa.select(sa.func.timezone("UTC", sa.func.now(), type_=sa.DateTime))


def _held(worker: str) -> sa.ColumnElement[bool]:
    """The row is claimed by ``worker`` and not yet sent (nor refused for good)."""
    return sa.and_(
        outbox.c.claimed_by == worker, outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None)
    )


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column holds (SQLite has no time zones)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _moment(now: datetime | None) -> datetime:
    """``now`` as stored (naive UTC), or the current time: tests pass their own clock."""
    return _naive(now) if now else utcnow()


@dataclass(frozen=True, slots=True)
class NewNote:
    """A validated note, ready to store."""

    slug: str
    title: str
    our_pick: str
    reader_pick: str
    message: str
    name: str
    email: str
    page_hash: str
    page_updated: date | None
    submission_key: str | None = None
    kind: NoteKind = NOTE
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    slug: str
    title: str
    our_pick: str
    reader_pick: str
    message: str
    name: str
    email: str
    page_hash: str
    page_updated: date | None
    created_at: datetime  # aware UTC
    kind: NoteKind = NOTE

    @property
    def is_request(self) -> bool:
        return self.kind == REQUEST

    def as_dict(self) -> dict[str, Any]:
        """The note as JSON-ready values (dates as ISO 8601 strings)."""
        return asdict(self) | {
            "page_updated": self.page_updated.isoformat() if self.page_updated else None,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed outbox row and its note."""

    outbox_id: int
    attempts: int
    note: Note
    request_id: str | None = None  # of the request that stored the note


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    outbox_id: int
    note_id: int
    slug: str
    attempts: int
    next_attempt_at: datetime
    claimed_by: str | None
    claimed_until: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None
    failed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """Counts of unsent mail, as ``nicepick outbox`` reports them (and a metrics page would)."""

    pending: int  # waiting for its first attempt or for a retry
    failed: int  # refused for good; sent again only by ``nicepick outbox --retry``


def _day(value: object) -> date:
    """A day as the database returns it: a date (PostgreSQL) or ISO text (SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _note(row: sa.Row[Any]) -> Note:
    created = _aware(row.created_at)
    assert created is not None
    return Note(
        id=row.id,
        slug=row.slug,
        title=row.title,
        our_pick=row.our_pick,
        reader_pick=row.reader_pick,
        message=row.message,
        name=row.name,
        email=row.email,
        page_hash=row.page_hash,
        page_updated=row.page_updated,
        created_at=created,
        kind=REQUEST if row.kind == REQUEST else NOTE,
    )


class FeedbackStore:
    """Notes, their outbox rows and delivery attempts in one database."""

    def __init__(self, engine: Engine, *, timeout: float = 5.0) -> None:
        self.engine = engine
        # How long a write may wait for the database's lock (NICEPICK_DATABASE_TIMEOUT).
        self.timeout = timeout
        self._meter_versions: dict[str, int] = {}
        self._lock = threading.Lock()
        # The meter snapshot: slug -> reader's pick -> count, as last read from the database
        # (plus this process's own notes since). ``_writes`` tells a refresh that raced a
        # note of ours to drop its older snapshot.
        # slug -> (reader's pick, day written as an ordinal) -> notes: the meter can then
        # count from any day (a page's last change of pick) without asking the database.
        self._meters: dict[str, dict[tuple[str, int], int]] = {}
        self._meters_loaded = False
        self._last_try = -1e9
        self._writes = 0
        # SQLite allows one writer. Without this lock, this process's writers (concurrent
        # POSTs, the outbox sender) meet in SQLite's busy handler, which polls by sleeping
        # 1, 2, 5, 10 ... 100 ms: a queue of four writers then waits tens of milliseconds for
        # a lock held under one. Queued here, the next writer starts the moment the last one
        # commits. Other processes on the same file still wait through busy_timeout.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def from_url(cls, url: str) -> FeedbackStore:
        return cls(db.make_engine(url))

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def _write(self, deadline: float | None = None) -> Iterator[Connection]:
        """A write transaction that starts by ``deadline`` (``time.monotonic()``; default: the
        timeout from now) or raises ``sa.exc.TimeoutError``/``OperationalError``."""
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        # The connection is checked out (and pre-pinged) before queueing for the lock.
        with self.engine.connect() as connection, self._queued(connection, deadline):
            connection.execution_options(write=True)
            with connection.begin():
                yield connection

    @contextmanager
    def _queued(self, connection: Connection, deadline: float) -> Iterator[None]:
        """On SQLite, wait for this process's writers and then for other processes' locks,
        both within ``deadline``: a locked file costs each writer the timeout once, not once
        per writer queued ahead of it."""
        if self._write_lock is None:
            yield
            return
        if not self._write_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise sa.exc.TimeoutError(
                f"no write lock within {self.timeout:g} s: other writers of this process hold it"
            )
        try:
            # What is left of the deadline is how long SQLite's busy handler may wait for
            # other processes; set on the driver's connection, so no transaction begins here.
            driver = connection.connection.driver_connection
            assert driver is not None
            left = deadline - time.monotonic()
            pragma = f"PRAGMA busy_timeout={db.busy_timeout_ms(left)}"
            try:
                driver.execute(pragma)
            except sqlite3.Error as error:
                # Straight to the driver, so SQLAlchemy does not wrap its errors: a connection
                # closed under us (its file deleted, say) must be a store failure like any other.
                raise sa.exc.OperationalError(pragma, None, error) from error
            try:
                yield
            finally:
                # A connection closed meanwhile (dropped as its file was deleted) needs no reset.
                with contextlib.suppress(sqlite3.ProgrammingError):
                    driver.execute(f"PRAGMA busy_timeout={db.busy_timeout_ms(self.timeout)}")
        finally:
            self._write_lock.release()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection, connection.begin():
            yield connection

    def create_schema(self) -> None:
        """Upgrade the embedded SQLite file; on PostgreSQL refuse a schema that is behind
        (``db.SchemaBehind``): there ``nicepick db upgrade`` migrates. Safe when workers race."""
        db.prepare_schema(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def probe_write(self) -> None:
        """Start the write a note needs and roll it back, within the timeout a note gets; raise
        what a note would meet: a locked, read-only or corrupt SQLite file, a read-only
        PostgreSQL (a standby, ``default_transaction_read_only``), a locked notes table."""
        try:
            with self._write() as connection:  # SQLite: BEGIN IMMEDIATE, the writer's lock
                if self.is_postgresql:
                    # The locks an insert takes, waiting at most lock_timeout (app/db.py).
                    connection.execute(_LOCK_FOR_NOTES)
                # A real write, which read-only files and servers refuse; never committed.
                connection.execute(_TOUCH_VERSION)
                raise _Probed
        except _Probed:
            pass

    # --- notes ------------------------------------------------------------------------------

    def add_note(self, new: NewNote, *, now: datetime | None = None) -> Note:
        """Commit the note and its outbox row in one transaction."""
        moment = _moment(now)
        with self._write() as connection:
            note_id = self._insert_note(connection, new, moment)
        return self._noted(new, note_id, moment)

    def add_note_within_limit(
        self,
        new: NewNote,
        client: str,
        *,
        limit: int,
        period: timedelta,
        now: datetime | None = None,
        deadline: float | None = None,
    ) -> Note | None:
        """Count the note against ``client``'s rate limit (see ``hit_rate_limit``) and commit
        it with its outbox row, all in one transaction; None, with nothing stored, when the
        client is over the limit. A note whose ``submission_key`` is stored already (the same
        form sent again) is not stored twice: the first sending's note is returned, and the
        resend is not counted against the limit.

        A submission's path: one write transaction and one commit instead of two, so a POST
        holds SQLite's single write lock once. The resend check costs no query of its own:
        the key's unique index refuses the insert, and only then is the first note read.
        """
        moment = _moment(now)
        try:
            with self._write(deadline) as connection:
                note_id = self._insert_note(connection, new, moment)
                if not self._count_hit(
                    connection, client, limit=limit, period=period, moment=moment
                ):
                    raise _OverLimit  # rolls the note back
        except _OverLimit:
            return None
        except sa.exc.IntegrityError:
            # Sent before (or at this very moment, by a second connection of the same reader:
            # PostgreSQL holds our insert until theirs commits, then refuses it).
            first = self.note_by_key(new.submission_key) if new.submission_key else None
            if first is None:
                raise
            return first
        return self._noted(new, note_id, moment)

    def note_by_key(self, submission_key: str) -> Note | None:
        """The note stored for a submission key, if any."""
        query = sa.select(notes).where(notes.c.submission_key == submission_key)
        with self._read() as connection:
            row = connection.execute(query).first()
        return _note(row) if row is not None else None

    def _insert_note(self, connection: Connection, new: NewNote, moment: datetime) -> int:
        fields = asdict(new)  # NewNote's fields are the table's columns, bar id and created_at
        note_id: int = connection.execute(
            _INSERT_NOTE, {**fields, "created_at": moment}
        ).scalar_one()
        connection.execute(_INSERT_OUTBOX, {"note_id": note_id, "next_attempt_at": moment})
        return note_id

    def _noted(self, new: NewNote, note_id: int, moment: datetime) -> Note:
        """The committed note; this process's meter counts it at once (a request has none)."""
        with self._lock:
            # One step with the count: a refresh that raced this note then drops its
            # snapshot, rather than keep one that already holds the note and count it twice.
            self._writes += 1
            if new.kind == NOTE:
                counts = self._meters.setdefault(new.slug, {})
                key = (new.reader_pick, moment.date().toordinal())
                counts[key] = counts.get(key, 0) + 1
                self._meter_versions[new.slug] = self._meter_versions.get(new.slug, 0) + 1
        return Note(
            id=note_id,
            slug=new.slug,
            title=new.title,
            our_pick=new.our_pick,
            reader_pick=new.reader_pick,
            message=new.message,
            name=new.name,
            email=new.email,
            page_hash=new.page_hash,
            page_updated=new.page_updated,
            created_at=moment.replace(tzinfo=UTC),
            kind=new.kind,
        )

    def notes(self, *, slug: str | None = None, kind: NoteKind = NOTE) -> list[Note]:
        """Notes of one kind (disagreements by default, or comparison requests), oldest first."""
        query = sa.select(notes).where(notes.c.kind == kind).order_by(notes.c.id)
        if slug:
            query = query.where(notes.c.slug == slug)
        with self._read() as connection:
            return [_note(row) for row in connection.execute(query)]

    def meter_version(self, slug: str) -> int:
        """A number that changes when the slug's meter does; memory only, never a query.

        Bumped by ``add_note`` in this process and by ``refresh_meters`` when a note posted
        through another instance shows up. It is part of the page's cache key, so cached
        page bytes stay valid until this page's counts really change.
        """
        if not self._meters_loaded:
            self._try_refresh()
        return self._meter_versions.get(slug, 0)

    def meter(self, slug: str, *, since: date | None = None) -> Meter:
        """The slug's counts from the last snapshot; memory only, so pages never need the DB.

        With ``since`` (a day, UTC), only notes written that day or later are counted; the
        others are ``earlier``.
        """
        if not self._meters_loaded:
            self._try_refresh()
        with self._lock:
            by_day = dict(self._meters.get(slug, {}))
        return meter_since(by_day, since)

    def meter_snapshot(self) -> dict[str, dict[tuple[str, int], int]]:
        """Every page's counts from the last snapshot, as ``meter`` reads them; memory only
        (empty before the first). An export keeps what it rendered its pages with."""
        with self._lock:
            return {slug: dict(by_day) for slug, by_day in self._meters.items()}

    def meter_counts(self) -> dict[str, dict[tuple[str, int], int]]:
        """Every page's counts by reader's pick and day, in one grouped query.

        ``date(created_at)`` is a function both SQLite and PostgreSQL have: SQLite answers
        text (``2026-11-29``), PostgreSQL a date; both are read back as a date.
        """
        day = sa.func.date(notes.c.created_at)
        query = (
            sa.select(notes.c.slug, notes.c.reader_pick, day, sa.func.count())
            .where(notes.c.kind == NOTE)
            .group_by(notes.c.slug, notes.c.reader_pick, day)
        )
        counts: dict[str, dict[tuple[str, int], int]] = {}
        with self._read() as connection:
            for slug, pick, written, count in connection.execute(query):
                ordinal = _day(written).toordinal()
                counts.setdefault(slug, {})[(pick, ordinal)] = int(count)
        return counts

    def refresh_meters(self) -> set[str]:
        """Re-read every page's counts; bump the version of each page whose counts changed.

        One query per refresh per instance, whatever the traffic (the meter's "version stamp
        checked cheaply"): each instance runs it every ``meter_refresh_seconds``, so a note
        posted through one instance shows on all of them within that period.
        """
        with self._lock:
            writes = self._writes
        counts = self.meter_counts()
        with self._lock:
            if self._writes != writes:
                return set()  # a note of ours landed meanwhile; the next refresh is newer
            changed = {
                slug
                for slug in counts.keys() | self._meters.keys()
                if counts.get(slug) != self._meters.get(slug)
            }
            for slug in changed:
                self._meter_versions[slug] = self._meter_versions.get(slug, 0) + 1
            self._meters = counts
            self._meters_loaded = True
        return changed

    def _try_refresh(self) -> None:
        # Only until the first snapshot, and at most every few seconds: while the database is
        # away the meter stays empty and pages do not wait on connection attempts.
        now = time.monotonic()
        if now - self._last_try < 5.0:
            return
        self._last_try = now
        try:
            self.refresh_meters()
        except sa.exc.SQLAlchemyError:
            pass

    # --- rate limit -------------------------------------------------------------------------

    def hit_rate_limit(
        self, client: str, *, limit: int, period: timedelta, now: datetime | None = None
    ) -> bool:
        """Count one note by ``client`` if it had fewer than ``limit`` in ``period``.

        A moving window, exact across instances: the count and the insert happen under a
        per-client lock (a PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE serialises
        writers anyway), so two instances cannot both let the sixth note through.
        """
        with self._write() as connection:
            return self._count_hit(
                connection, client, limit=limit, period=period, moment=_moment(now)
            )

    def _count_hit(
        self,
        connection: Connection,
        client: str,
        *,
        limit: int,
        period: timedelta,
        moment: datetime,
    ) -> bool:
        """``hit_rate_limit`` inside the caller's write transaction."""
        client = client[:100]
        if self.is_postgresql:
            connection.execute(_LOCK_CLIENT, {"hit_client": client})
        connection.execute(_FORGET_HITS, {"hit_client": client, "since": moment - period})
        count = connection.execute(_COUNT_HITS, {"hit_client": client}).scalar_one()
        if count >= limit:
            return False
        connection.execute(_INSERT_HIT, {"client": client, "at": moment})
        return True

    def prune_rate_hits(self, *, older_than: timedelta, now: datetime | None = None) -> int:
        """Forget hits of clients that never came back; returns how many rows went."""
        moment = _moment(now)
        with self._write() as connection:
            result = connection.execute(
                rate_hits.delete().where(rate_hits.c.at <= moment - older_than)
            )
            return int(result.rowcount)

    # --- outbox -----------------------------------------------------------------------------

    def _clock(self, connection: Connection, now: datetime | None) -> datetime:
        """The time leases are granted and checked against, read inside the transaction."""
        if now is not None:
            return _naive(now)  # tests pass their own clock
        if self.is_postgresql:
            moment: datetime = connection.execute(_DB_NOW).scalar_one()
            return moment
        return utcnow()

    def claim(
        self, worker: str, *, lease: timedelta, limit: int = 5, now: datetime | None = None
    ) -> list[Delivery]:
        """Take up to ``limit`` due rows for ``worker`` until the lease ends."""
        with self._write() as connection:
            moment = self._clock(connection, now)
            free = sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < moment)
            due = sa.and_(
                outbox.c.sent_at.is_(None),
                outbox.c.failed_at.is_(None),
                outbox.c.next_attempt_at <= moment,
                free,
            )
            candidates = sa.select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)
            if self.is_postgresql:
                candidates = candidates.with_for_update(skip_locked=True)
            # The candidates are read first, then updated by id: inside ``UPDATE ... WHERE id
            # IN (subquery)`` PostgreSQL may run a ``LIMIT ... SKIP LOCKED`` subquery again for
            # each row, skipping the rows this very statement just locked, and so claim every
            # due row whatever the limit (one instance then hoarded the whole outbox).
            # https://www.cybertec-postgresql.com/en/update-limit-in-postgresql/
            # The UPDATE repeats the check, so only one worker's claim can match a row.
            ids = list(connection.execute(candidates).scalars())
            if not ids:
                return []
            take = (
                outbox.update()
                .where(outbox.c.id.in_(ids), due)
                .values(claimed_by=worker, claimed_until=moment + lease)
                .returning(outbox.c.id)
            )
            claimed = list(connection.execute(take).scalars())
        if not claimed:
            return []
        # Read after the commit: the lease makes these rows ours, and a read takes no lock.
        with self._read() as connection:
            rows = connection.execute(
                sa.select(outbox.c.id.label("outbox_id"), outbox.c.attempts, notes)
                .join(notes, notes.c.id == outbox.c.note_id)
                .where(outbox.c.id.in_(claimed))
                .order_by(outbox.c.id)
            ).all()
        return [
            Delivery(row.outbox_id, row.attempts, _note(row), request_id=row.request_id)
            for row in rows
        ]

    def renew(
        self,
        worker: str,
        outbox_ids: Collection[int],
        *,
        lease: timedelta,
        now: datetime | None = None,
    ) -> set[int]:
        """Extend ``worker``'s leases on these rows; returns the ids it still holds unsent.

        A row missing from the answer was taken over, or recorded as sent, by someone else:
        its mail must not be sent by ``worker``.
        """
        if not outbox_ids:
            return set()
        with self._write() as connection:
            moment = self._clock(connection, now)
            held = connection.execute(
                outbox.update()
                .where(_held(worker), outbox.c.id.in_(list(outbox_ids)))
                .values(claimed_until=moment + lease)
                .returning(outbox.c.id)
            )
            return set(held.scalars())

    def mark_sent(self, outbox_id: int, worker: str, *, now: datetime | None = None) -> bool:
        """Record a delivery; returns whether ``worker`` still held the row.

        The mail is out whatever the lease says, so it is recorded either way: a row that
        another instance took over meanwhile is marked sent without touching that instance's
        lease, and the other instance, finding the row sent when it renews, does not mail it.
        """
        with self._write() as connection:
            moment = self._clock(connection, now)
            ours = connection.execute(
                outbox.update()
                .where(outbox.c.id == outbox_id, _held(worker))
                .values(
                    attempts=outbox.c.attempts + 1,
                    last_attempt_at=moment,
                    last_error=None,
                    claimed_by=None,
                    claimed_until=None,
                    sent_at=moment,
                )
            ).rowcount
            if not ours:
                connection.execute(
                    outbox.update()
                    .where(outbox.c.id == outbox_id, outbox.c.sent_at.is_(None))
                    .values(
                        attempts=outbox.c.attempts + 1,
                        last_attempt_at=moment,
                        last_error=None,
                        failed_at=None,
                        sent_at=moment,
                    )
                )
            self._log_attempt(connection, outbox_id, worker, None, moment)
        return bool(ours)

    def mark_failed(
        self,
        outbox_id: int,
        worker: str,
        error: str,
        *,
        retry_at: datetime | None = None,
        retry_in: timedelta | None = None,
        permanent: bool = False,
        now: datetime | None = None,
    ) -> bool:
        """Record a failed attempt and free the lease; the row is due again at ``retry_at``
        (or ``retry_in`` from now), or never again when ``permanent``. Only the lease holder
        changes the row (a late report must not free another instance's claim); the attempt
        is logged either way. Returns whether ``worker`` held the row."""
        with self._write() as connection:
            moment = self._clock(connection, now)
            retry = _naive(retry_at) if retry_at else moment + (retry_in or timedelta())
            values: dict[str, Any] = {"next_attempt_at": retry}
            if permanent:
                values["failed_at"] = moment
            ours = self._update_held(connection, outbox_id, worker, error, moment, **values)
            self._log_attempt(connection, outbox_id, worker, error, moment)
        return ours

    def mark_unknown(
        self, outbox_id: int, worker: str, error: str, *, now: datetime | None = None
    ) -> bool:
        """Record an attempt whose outcome is unknown (the server may have stored the mail).

        The lease is kept, not handed back: the note is sent again only once the lease ends,
        which is the one window for a repeat (docs/deploy.md).
        """
        with self._write() as connection:
            moment = self._clock(connection, now)
            ours = self._update_held(
                connection,
                outbox_id,
                worker,
                error,
                moment,
                next_attempt_at=moment,
                # Held by no live worker from now on: nothing hands it back or renews it.
                claimed_by=f"{worker} (outcome unknown)"[:200],
                claimed_until=outbox.c.claimed_until,
            )
            self._log_attempt(connection, outbox_id, worker, error, moment)
        return ours

    def _update_held(
        self,
        connection: Connection,
        outbox_id: int,
        worker: str,
        error: str,
        moment: datetime,
        **values: Any,
    ) -> bool:
        update = {
            "attempts": outbox.c.attempts + 1,
            "last_attempt_at": moment,
            "last_error": error,
            "claimed_by": None,
            "claimed_until": None,
        } | values
        result = connection.execute(
            outbox.update().where(outbox.c.id == outbox_id, _held(worker)).values(**update)
        )
        return bool(result.rowcount)

    def _log_attempt(
        self,
        connection: Connection,
        outbox_id: int,
        worker: str,
        error: str | None,
        moment: datetime,
    ) -> None:
        connection.execute(
            attempts.insert().values(outbox_id=outbox_id, at=moment, worker=worker, error=error)
        )

    def release(self, worker: str, outbox_ids: Collection[int] | None = None) -> int:
        """Hand back ``worker``'s claimed, unsent rows (only ``outbox_ids`` when given) so
        another instance sends them now rather than after the lease (at shutdown). Returns
        how many. Never pass a row whose mail may have reached the server."""
        where = [_held(worker)]
        if outbox_ids is not None:
            if not outbox_ids:
                return 0
            where.append(outbox.c.id.in_(list(outbox_ids)))
        with self._write() as connection:
            result = connection.execute(
                outbox.update().where(*where).values(claimed_by=None, claimed_until=None)
            )
            return int(result.rowcount)

    def held_by(self, worker: str) -> set[int]:
        """The unsent rows ``worker`` holds a lease on (whether or not it has ended)."""
        with self._read() as connection:
            return set(connection.execute(sa.select(outbox.c.id).where(_held(worker))).scalars())

    def next_due_in(self) -> float | None:
        """Seconds until the earliest unsent row can next be claimed (due and its lease over),
        by the lease clock; None when nothing waits. Never negative."""
        ready = sa.case(
            (outbox.c.claimed_until > outbox.c.next_attempt_at, outbox.c.claimed_until),
            else_=outbox.c.next_attempt_at,
        )
        query = sa.select(sa.func.min(ready)).where(
            outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None)
        )
        with self._read() as connection:
            due = connection.execute(query).scalar_one()
            if due is None:
                return None
            moment = self._clock(connection, None)
        return max(0.0, float((due - moment).total_seconds()))

    def retry_now(self, *, now: datetime | None = None) -> int:
        """Make every unsent row due at once, those refused for good too; returns how many."""
        with self._write() as connection:
            moment = self._clock(connection, now)
            result = connection.execute(
                outbox.update()
                .where(outbox.c.sent_at.is_(None))
                .values(next_attempt_at=moment, failed_at=None)
            )
            return int(result.rowcount)

    def outbox_status(self) -> OutboxStatus:
        """How many notes wait for mail, and how many were refused for good."""
        failed = sa.func.count(outbox.c.failed_at)
        query = sa.select(sa.func.count() - failed, failed).where(outbox.c.sent_at.is_(None))
        with self._read() as connection:
            pending, failed_count = connection.execute(query).one()
        return OutboxStatus(pending=int(pending), failed=int(failed_count))

    def oldest_pending(self) -> datetime | None:
        """When the oldest note still waiting for mail was stored (refused ones aside: they
        wait for ``nicepick outbox --retry``, counted by ``outbox_status``); None when none
        waits. Reads the few unsent rows through the ``sent_at`` index."""
        query = (
            sa.select(sa.func.min(notes.c.created_at))
            .select_from(outbox.join(notes, notes.c.id == outbox.c.note_id))
            .where(outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None))
        )
        with self._read() as connection:
            oldest: datetime | None = connection.execute(query).scalar_one()
        return _aware(oldest)

    def outbox_entries(self, *, include_sent: bool = False) -> list[OutboxEntry]:
        query = (
            sa.select(outbox, notes.c.slug)
            .join(notes, notes.c.id == outbox.c.note_id)
            .order_by(outbox.c.id)
        )
        if not include_sent:
            query = query.where(outbox.c.sent_at.is_(None))
        with self._read() as connection:
            rows = connection.execute(query).all()
        return [
            OutboxEntry(
                outbox_id=row.id,
                note_id=row.note_id,
                slug=row.slug,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at.replace(tzinfo=UTC),
                claimed_by=row.claimed_by,
                claimed_until=_aware(row.claimed_until),
                last_attempt_at=_aware(row.last_attempt_at),
                last_error=row.last_error,
                sent_at=_aware(row.sent_at),
                failed_at=_aware(row.failed_at),
            )
            for row in rows
        ]

    def attempt_errors(self, outbox_id: int) -> list[str | None]:
        """Each recorded attempt's error (None for the delivery), oldest first."""
        query = (
            sa.select(attempts.c.error)
            .where(attempts.c.outbox_id == outbox_id)
            .order_by(attempts.c.id)
        )
        with self._read() as connection:
            return list(connection.execute(query).scalars())
