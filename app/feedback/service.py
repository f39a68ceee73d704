"""The feedback feature as one object: the web route and the lifespan talk to this, not to SQL.

``Feedback.submit`` runs the checks (honeypot, fields, token, then the rate limit), commits
the note with its rate-limit hit and outbox row in one transaction, and wakes the sender.
``page_part`` gives the comparison page its form token and disagreement meter, keyed so
cached pages stay right.

Every database call goes through the ``Database``'s bounded thread pool (``app/db.py``). When
the database is away, ``submit`` answers ``unavailable`` (the route turns it into a 503 page
that keeps the reader's text), and the next submission after it returns simply works: the
pool pre-pings and reconnects. A background task re-reads the meter counts every
``meter_refresh_seconds``, so notes posted through other instances show here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.exc import SQLAlchemyError

from app.content.model import Comparison
from app.db import UNAVAILABLE, Database
from app.feedback.form import FeedbackForm
from app.feedback.mail import Transport, transport_for
from app.feedback.outbox import OutboxSender
from app.feedback.ratelimit import RateLimit
from app.feedback.store import FeedbackStore, Meter, NewNote, Note
from app.feedback.tokens import FormTokens, TokenError, load_secret, window, window_start
from app.settings import Settings

log = logging.getLogger(__name__)

Status = Literal["stored", "ignored", "invalid", "limited", "unavailable"]

UNAVAILABLE_MESSAGE = (
    "We could not save it just now: our notes database is not answering. Your text is "
    "still here; please try again in a minute."
)
# Rate-limit rows older than any window are swept this often (clients that never came back).
PRUNE_EVERY_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class MeterRow:
    option: str
    count: int
    percent: int
    is_pick: bool


@dataclass(frozen=True, slots=True)
class FeedbackView:
    """Template values for the feedback section of a comparison page."""

    token: str
    thanks: bool
    total: int
    meter: list[MeterRow] = field(default_factory=list)


@dataclass(slots=True)
class Outcome:
    status: Status
    form: FeedbackForm
    note: Note | None = None


def meter_rows(comparison: Comparison, meter: Meter) -> list[MeterRow]:
    """One row per current option; notes naming a since-removed option are not shown."""
    total = sum(meter.counts.get(name, 0) for name in comparison.option_names)
    return [
        MeterRow(
            option=name,
            count=meter.counts.get(name, 0),
            percent=round(100 * meter.counts.get(name, 0) / total) if total else 0,
            is_pick=name == comparison.pick,
        )
        for name in comparison.option_names
    ]


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
        self.store = FeedbackStore(self.db.engine)
        self.tokens = FormTokens(
            load_secret(
                settings.secret_key, settings.data_dir, database_url=settings.resolved_database_url
            ),
            min_seconds=settings.feedback_min_seconds,
        )
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

    def page_part(
        self, comparison: Comparison, thanks: bool
    ) -> tuple[tuple[Any, ...], Callable[[], dict[str, Any]]]:
        """Cache-key part and values: the render window (see tokens.py), the meter version."""
        current = window()
        key = ("feedback", current, self.store.meter_version(comparison.slug), thanks)

        def values() -> dict[str, Any]:
            rows = meter_rows(comparison, self.store.meter(comparison.slug))
            view = FeedbackView(
                # Stamped with the window's start, not the render moment: every worker and
                # every re-render in the window then produce the same bytes and ETag.
                token=self.tokens.issue(
                    comparison.slug,
                    page_hash=comparison.content_hash,
                    page_updated=comparison.last_modified,
                    now=window_start(current),
                ),
                thanks=thanks,
                total=sum(row.count for row in rows),
                meter=rows,
            )
            return {"feedback": view}

        return key, values

    # --- a submission -----------------------------------------------------------------------

    async def submit(
        self, comparison: Comparison, fields: Mapping[str, str], *, client: str
    ) -> Outcome:
        form = FeedbackForm.from_fields(fields)
        # The checks that need no database run first, so a valid note costs one transaction
        # (rate-limit hit and note together) and one thread hop. The answers are as if the
        # limit were checked first: a client over it gets "limited" whatever it sent.
        new = None if form.is_bot else self._new_note(comparison, form)
        if new is None:
            # A bot or an invalid note is counted against the limit like any other attempt.
            try:
                allowed = await self.db.run(self.rate_limit.hit, client)
            except UNAVAILABLE as error:
                return self._unavailable(form, error)
            if not allowed:
                return Outcome("limited", form)
            if form.is_bot:
                # Answer as if stored: a bot learns nothing from the reply.
                log.info("note for %s dropped: honeypot filled (%s)", comparison.slug, client)
                return Outcome("ignored", form)
            return Outcome("invalid", form)
        try:
            note = await self.db.run(
                self.store.add_note_within_limit,
                new,
                client,
                limit=self.rate_limit.limit,
                period=self.rate_limit.period,
            )
        except UNAVAILABLE as error:
            return self._unavailable(form, error)
        if note is None:
            return Outcome("limited", form)
        self.sender.wake()
        return Outcome("stored", form, note)

    def _new_note(self, comparison: Comparison, form: FeedbackForm) -> NewNote | None:
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
        )

    def _unavailable(self, form: FeedbackForm, error: Exception) -> Outcome:
        """Never a fake success: the reader keeps the text and is told to try again."""
        log.warning("note not stored, database unavailable: %s", type(error).__name__)
        form.errors["form"] = UNAVAILABLE_MESSAGE
        return Outcome("unavailable", form)
