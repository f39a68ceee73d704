"""The feedback feature as one object: the web route and the lifespan talk to this, not to SQL.

``Feedback.submit`` runs the checks in order (rate limit, honeypot, token, fields), commits
the note with its outbox row, and wakes the sender. ``page_part`` gives the comparison page its
form token and disagreement meter, keyed so cached pages stay right.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.concurrency import run_in_threadpool

from app.content.model import Comparison
from app.feedback.form import FeedbackForm
from app.feedback.mail import Transport, transport_for
from app.feedback.outbox import OutboxSender
from app.feedback.ratelimit import RateLimit
from app.feedback.store import FeedbackStore, Meter, NewNote, Note
from app.feedback.tokens import FormTokens, TokenError, load_secret, window
from app.settings import Settings

log = logging.getLogger(__name__)

Status = Literal["stored", "ignored", "invalid", "limited"]


@dataclass(frozen=True, slots=True)
class MeterRow:
    option: str
    count: int
    percent: int
    is_pick: bool


@dataclass(frozen=True, slots=True)
class FeedbackView:
    """Template values for the feedback section of a comparison page."""

    action: str
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
        self.store = FeedbackStore.from_url(settings.resolved_database_url)
        self.tokens = FormTokens(
            load_secret(settings.secret_key, settings.data_dir),
            min_seconds=settings.feedback_min_seconds,
        )
        self.rate_limit = RateLimit(settings.feedback_rate)
        self.sender = OutboxSender(self.store, transport or transport_for(settings), settings)

    async def start(self) -> None:
        await run_in_threadpool(self.store.create_schema)
        self.sender.start()

    async def stop(self) -> None:
        await self.sender.stop()
        self.store.dispose()

    # --- the page ---------------------------------------------------------------------------

    def page_part(
        self, comparison: Comparison, thanks: bool
    ) -> tuple[tuple[Any, ...], Callable[[], dict[str, Any]]]:
        """Cache-key part and values: the render window (see tokens.py), the meter version."""
        key = ("feedback", window(), self.store.meter_version(comparison.slug), thanks)

        def values() -> dict[str, Any]:
            meter = self.store.meter(comparison.slug)
            view = FeedbackView(
                action=f"/compare/{comparison.slug}/feedback",
                token=self.tokens.issue(
                    comparison.slug,
                    page_hash=comparison.content_hash,
                    page_updated=comparison.last_modified,
                ),
                thanks=thanks,
                total=sum(row.count for row in meter_rows(comparison, meter)),
                meter=meter_rows(comparison, meter),
            )
            return {"feedback": view}

        return key, values

    # --- a submission -----------------------------------------------------------------------

    async def submit(
        self, comparison: Comparison, fields: Mapping[str, str], *, client: str
    ) -> Outcome:
        form = FeedbackForm.from_fields(fields)
        if not self.rate_limit.hit(client):
            return Outcome("limited", form)
        if form.is_bot:
            # Answer as if stored: a bot learns nothing from the reply.
            log.info("note for %s dropped: honeypot filled (%s)", comparison.slug, client)
            return Outcome("ignored", form)
        valid = form.validate(comparison.option_names)
        try:
            stamp = self.tokens.check(form.token, slug=comparison.slug)
        except TokenError as error:
            form.errors["form"] = str(error)
            return Outcome("invalid", form)
        if not valid:
            return Outcome("invalid", form)
        new = NewNote(
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
        note = await run_in_threadpool(self.store.add_note, new)
        self.sender.wake()
        return Outcome("stored", form, note)
