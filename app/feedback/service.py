"""The feedback feature as one object: the web route and the lifespan talk to this, not to SQL.

``Feedback.submit`` runs the checks (honeypot, fields, token, then the rate limit), commits
the note with its rate-limit hit and outbox row in one transaction, and wakes the sender.
``page_part`` gives the comparison page its form token and disagreement meter, keyed so
cached pages stay right.

Every database call goes through the ``Database``'s bounded thread pool (``app/db.py``). When
the store fails in any way (away, locked, corrupt, a value refused), ``submit`` answers
``unavailable`` within ``database_timeout`` (the route turns it into a 503 page that keeps the
reader's text), and the next submission after the database returns simply works: the pool
pre-pings and reconnects.

A form sent twice (a reader whose connection dropped after the note was stored sends again;
a browser re-posts on reload) is stored once: each submission carries an idempotency key,
``submission_key``, from the form's nonce and the note itself, and a resend is answered with
the first sending's note (see ``submission_key`` for why the text is part of the key).

A background task re-reads the meter counts every ``meter_refresh_seconds``, so notes posted
through other instances show here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from app import metrics
from app.content.model import Comparison
from app.db import UNAVAILABLE, Database
from app.feedback.form import FeedbackForm
from app.feedback.mail import Transport, transport_for
from app.feedback.outbox import OutboxSender
from app.feedback.ratelimit import RateLimit
from app.feedback.request_form import TOKEN_SLUG, RequestForm
from app.feedback.store import REQUEST, FeedbackStore, NewNote, Note
from app.feedback.tokens import (
    EXPORT_VALID_SECONDS,
    FormTokens,
    TokenError,
    load_secret,
    site_origin,
    window,
    window_start,
)
from app.feedback.view import feedback_view, page_nonce
from app.settings import Settings

log = logging.getLogger(__name__)

Status = Literal["stored", "ignored", "invalid", "limited", "unavailable"]

UNAVAILABLE_MESSAGE = (
    "We could not save it just now: our notes database is not answering. Your text is "
    "still here; please try again in a minute."
)
NONCE = "nonce"  # the form field that carries the idempotency nonce
# Rate-limit rows older than any window are swept this often (clients that never came back).
PRUNE_EVERY_SECONDS = 300.0


def submission_key(slug: str, nonce: str, form: FeedbackForm) -> str:
    """The idempotency key of one sending of a form: its nonce and what the reader wrote.

    The nonce alone cannot be the key. Pages are cached bytes (and exported pages are files),
    so the nonce rendered into a page is shared by every reader of that page: ``feedback.js``
    gives each reader a random one when it runs, but readers without JavaScript keep the
    page's. With the note's text in the key, two readers who write different notes never
    share a key, however they share a nonce; and a reader who goes back and sends an edited
    note sends a new note. What still folds into one: byte-identical notes (same pick,
    words, name and address) from two readers without JavaScript on one page within one
    render window (or one export), which is what a resend looks like from here.
    """
    material = [slug, nonce, form.option, form.message.strip(), form.name.strip(), form.email]
    return hashlib.sha256(json.dumps(material).encode("utf-8")).hexdigest()


Form = TypeVar("Form", FeedbackForm, RequestForm)


@dataclass(slots=True)
class Outcome(Generic[Form]):
    status: Status
    form: Form
    note: Note | None = None
    nonce: str = ""  # as the reader sent it: a re-rendered form sends it again


@dataclass(frozen=True, slots=True)
class RequestView:
    """Template values for the "ask for a comparison" form: its token and page nonce."""

    token: str
    nonce: str


def refusal_reason(outcome: Outcome[Any]) -> str:
    """The metric label of an outcome: ``stored``, or why the note was refused (a bad form
    token is told apart from bad fields: many of those point at stale cached pages)."""
    if outcome.status == "ignored":
        return "honeypot"
    if outcome.status == "invalid" and "form" in outcome.form.errors:
        return "token"
    return outcome.status


class Feedback:
    def __init__(self, settings: Settings, *, transport: Transport | None = None) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(
            settings.resolved_database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            connect_timeout=settings.database_timeout,
        )
        self.store = FeedbackStore(self.db.engine, timeout=settings.database_timeout)
        self.tokens = FormTokens(
            load_secret(
                settings.secret_key, settings.data_dir, database_url=settings.resolved_database_url
            ),
            min_seconds=settings.feedback_min_seconds,
            site=site_origin(settings.site_url),
        )
        self.exported_at: float | None = None  # set by ``export_forms``
        # Counted in the database, so the limit holds across every instance.
        self.rate_limit = RateLimit(settings.feedback_rate, self.store)
        self.sender = OutboxSender(
            self.store, transport or transport_for(settings), settings, db=self.db
        )
        self._refresher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            # SQLite: upgraded here. PostgreSQL: db.SchemaBehind stops the start (by design).
            await self.db.run(self.store.create_schema)
            await self.db.run(self.store.refresh_meters)
        except SQLAlchemyError as error:
            # Pages need no database: serve them, answer notes with 503, and let /readyz tell.
            log.warning("database unreachable at start (%s); notes wait for it", error)
        self.sender.start()
        self._refresher = asyncio.create_task(self._refresh_meters(), name="nicepick-meters")

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        await self.sender.stop()
        self.db.dispose()

    async def _refresh_meters(self) -> None:
        """Re-read the meter counts every few seconds; sweep old rate-limit rows now and then."""
        loop = asyncio.get_running_loop()
        next_prune = loop.time() + PRUNE_EVERY_SECONDS
        failing = False
        while True:
            await asyncio.sleep(self.settings.meter_refresh_seconds)
            try:
                await self.db.run(self.store.refresh_meters)
                if loop.time() >= next_prune:
                    next_prune = loop.time() + PRUNE_EVERY_SECONDS
                    await self.db.run(
                        lambda: self.store.prune_rate_hits(older_than=self.rate_limit.period)
                    )
            except SQLAlchemyError as error:
                if not failing:  # once per outage, not every two seconds
                    log.warning("meter refresh failed (%s); showing the last counts", error)
                failing = True
            else:
                failing = False

    # --- the page ---------------------------------------------------------------------------

    def export_forms(self, built_at: float) -> float:
        """Render forms for a static export built at ``built_at``: tokens valid until the
        returned expiry (see tokens.py); the build's endpoint, if any, takes the posts."""
        self.exported_at = built_at
        return built_at + EXPORT_VALID_SECONDS

    def page_part(
        self, comparison: Comparison, thanks: bool
    ) -> tuple[tuple[Any, ...], Callable[[], dict[str, Any]]]:
        """Cache-key part and values: the render window (see tokens.py), the meter version."""
        exported = self.exported_at
        current = window() if exported is None else exported
        change = comparison.last_pick_change
        since = change.day if change is not None else None
        key = ("feedback", current, self.store.meter_version(comparison.slug), since, thanks)

        def values() -> dict[str, Any]:
            view = feedback_view(
                comparison,
                self.store.meter(comparison.slug, since=since),
                self.tokens,
                thanks=thanks,
                # Stamped with the window's start, not the render moment: every worker and
                # every re-render in the window then produce the same bytes and ETag.
                now=window_start(int(current)) if exported is None else exported,
                exported=exported is not None,
                can_send=exported is None or self.settings.feedback_endpoint is not None,
            )
            return {"feedback": view}

        return key, values

    # --- a submission -----------------------------------------------------------------------

    async def submit(
        self,
        comparison: Comparison,
        fields: Mapping[str, str],
        *,
        client: str,
        request_id: str | None = None,
    ) -> Outcome[FeedbackForm]:
        """Check and store a note (``request_id``, the POST's, is stored with it for the
        outbox's log lines), counted by outcome in ``nicepick_notes_total``."""
        form = FeedbackForm.from_fields(fields)
        nonce = fields.get(NONCE, "")
        new = None if form.is_bot else self._new_note(comparison, form, nonce, request_id)
        outcome = await self._store(new, form, nonce, client=client, about=comparison.slug)
        metrics.NOTES.labels(refusal_reason(outcome)).inc()
        return outcome

    async def submit_request(
        self, fields: Mapping[str, str], *, client: str, request_id: str | None = None
    ) -> Outcome[RequestForm]:
        """A reader's request for a comparison: the same checks, limit and outbox as a note."""
        form = RequestForm.from_fields(fields)
        nonce = fields.get(NONCE, "")
        new = None if form.is_bot else self._new_request(form, nonce, request_id)
        outcome = await self._store(new, form, nonce, client=client, about="a comparison request")
        metrics.NOTES.labels(refusal_reason(outcome)).inc()
        return outcome

    async def _store(
        self, new: NewNote | None, form: Form, nonce: str, *, client: str, about: str
    ) -> Outcome[Form]:
        """Store a checked note (``new``), or answer why not: bot, invalid, limited, down."""
        # Every wait for the database (a thread, this process's writers, another process's
        # lock) comes out of one budget, so a reader has an answer within the timeout.
        deadline = time.monotonic() + self.settings.database_timeout
        # The checks that need no database ran first, so a valid note costs one transaction
        # (rate-limit hit and note together) and one thread hop. The answers are as if the
        # limit were checked first: a client over it gets "limited" whatever it sent.
        if new is None:
            # A bot or an invalid note is counted against the limit like any other attempt.
            try:
                allowed = await self.db.run_by(deadline, self.rate_limit.hit, client)
            except SQLAlchemyError as error:
                return self._unavailable(form, nonce, error)
            if not allowed:
                return Outcome("limited", form, nonce=nonce)
            if form.is_bot:
                # Answer as if stored: a bot learns nothing from the reply.
                log.info("note for %s dropped: honeypot filled (%s)", about, client)
                return Outcome("ignored", form, nonce=nonce)
            return Outcome("invalid", form, nonce=nonce)
        try:
            # The whole call, not only its lock waits, answers by the deadline: a connection
            # that stopped answering would otherwise hold the reader for minutes.
            note = await self.db.run_by(
                deadline,
                self.store.add_note_within_limit,
                new,
                client,
                limit=self.rate_limit.limit,
                period=self.rate_limit.period,
                deadline=deadline,
            )
        except SQLAlchemyError as error:
            return self._unavailable(form, nonce, error)
        if note is None:
            return Outcome("limited", form, nonce=nonce)
        self.sender.wake()
        return Outcome("stored", form, note, nonce=nonce)

    def _new_note(
        self, comparison: Comparison, form: FeedbackForm, nonce: str, request_id: str | None
    ) -> NewNote | None:
        """The note to store, or None with ``form.errors`` filled (fields, then the token)."""
        valid = form.validate(comparison.option_names)
        try:
            stamp = self.tokens.check(form.token, slug=comparison.slug)
        except TokenError as error:
            form.errors["form"] = str(error)
            return None
        if not valid:
            return None
        return NewNote(
            slug=comparison.slug,
            title=comparison.title,
            our_pick=comparison.pick,
            reader_pick=form.option,
            message=form.message.strip(),
            name=form.name.strip(),
            email=form.email,
            page_hash=stamp.page_hash,
            page_updated=stamp.page_updated,
            # No nonce, no key: a form from a page rendered before nonces existed, or a
            # script posting on its own, is stored each time, as an idempotency key is
            # the sender's to give (Stripe's Idempotency-Key header is optional likewise).
            submission_key=submission_key(comparison.slug, nonce, form) if nonce else None,
            request_id=request_id,
        )

    def _new_request(self, form: RequestForm, nonce: str, request_id: str | None) -> NewNote | None:
        """The request to store, or None with ``form.errors`` filled (fields, then the token)."""
        valid = form.validate()
        try:
            self.tokens.check(form.token, slug=TOKEN_SLUG)
        except TokenError as error:
            form.errors["form"] = str(error).replace("note", "request")
            return None
        if not valid:
            return None
        key_material = json.dumps(
            [TOKEN_SLUG, nonce, form.title, form.reason.strip(), form.name.strip(), form.email]
        )
        return NewNote(
            slug="",  # no page yet: the title names the comparison asked for
            title=form.title,
            our_pick="",
            reader_pick="",
            message=form.reason.strip(),
            name=form.name.strip(),
            email=form.email,
            page_hash="",
            page_updated=None,
            submission_key=(
                hashlib.sha256(key_material.encode("utf-8")).hexdigest() if nonce else None
            ),
            kind=REQUEST,
            request_id=request_id,
        )

    def request_view(self) -> RequestView:
        """The request form's token, stamped like a page's with its render window's start."""
        token = self.tokens.issue(
            TOKEN_SLUG, page_hash="", page_updated=None, now=window_start(window())
        )
        return RequestView(token=token, nonce=page_nonce(token))

    def _unavailable(self, form: Form, nonce: str, error: Exception) -> Outcome[Form]:
        """Never a fake success: the reader keeps the text and is told to try again."""
        if isinstance(error, UNAVAILABLE):
            log.warning("note not stored, database unavailable: %s", error)
        else:  # corrupt, a value refused, a table gone: an operator must look
            log.error("note not stored, the store failed", exc_info=error)
        form.errors["form"] = UNAVAILABLE_MESSAGE
        return Outcome("unavailable", form, nonce=nonce)

    # --- readiness --------------------------------------------------------------------------

    def ready(self) -> tuple[bool, str]:
        """Whether this instance can take notes: the folders it writes take a new file (the
        data folder: mail files, caches; the SQLite file's folder), the database answers with
        the current schema, and a note's write can start within the timeout. Blocking: call
        it from a thread."""
        folders = [self.settings.data_dir]
        if (folder := self.db.sqlite_folder) is not None and folder != self.settings.data_dir:
            folders.append(folder)
        for folder in folders:
            if (problem := folder_write_problem(folder)) is not None:
                return False, problem
        ready, reason = self.db.ready()
        if not ready:
            return ready, reason
        try:
            self.store.probe_write()
        except SQLAlchemyError as error:
            cause = error.orig if isinstance(error, DBAPIError) else error
            first_line = (str(cause).strip() or type(cause).__name__).splitlines()[0]
            return False, f"database cannot be written: {first_line}"
        return True, "ok"


# One filesystem block: creating an empty file can succeed on a full disk, writing data cannot.
PROBE_BYTES = 4096


def folder_write_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot take a new file (read-only, full, gone), or None when it can."""
    probe = folder / f".ready-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * PROBE_BYTES)
            # Written through to the file system, where a full disk refuses the blocks.
            handle.flush()
    except OSError as error:
        return f"{folder} cannot be written: {error.strerror or error}"
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    return None
