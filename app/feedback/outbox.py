"""The outbox sender: claims due notes, mails them, and schedules retries after failures.

One sender runs in each server process. It wakes at once when a note is committed here
(``wake``), otherwise every ``outbox_poll_seconds`` or when the next retry falls due, so notes
from other processes and retries after a restart are picked up too. A failed attempt is
recorded with its error and retried after ``outbox_retry_seconds * 2**(attempts-1)``, capped
at ``outbox_max_backoff_seconds``. A row is claimed with a lease before sending, so two
processes never send it at the same time; a process killed mid-send leaves a lease that
expires after ``outbox_lease_seconds``. A process that stops normally (SIGTERM) finishes the
send in progress and hands back the leases it still holds, so another instance sends those
notes at once.

Database calls go through the ``Database``'s bounded thread pool (see ``app/db.py``) when one
is given, else Starlette's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from app.db import Database
from app.feedback.mail import Transport, build_message
from app.feedback.store import Delivery, FeedbackStore
from app.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


def backoff(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


class OutboxSender:
    def __init__(
        self,
        store: FeedbackStore,
        transport: Transport,
        settings: Settings,
        *,
        batch: int = 5,
        db: Database | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.transport = transport
        self.settings = settings
        self.batch = batch
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.db is not None:
            return await self.db.run(fn, *args)
        return await run_in_threadpool(fn, *args)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        # Each run gets its own event on the running loop: an app started again (tests start
        # one app per TestClient) must never wait on an event bound to an earlier loop.
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(self._wake), name="nicepick-outbox")

    def wake(self) -> None:
        """A note was committed: look for work now rather than at the next poll."""
        wake, loop = self._wake, self._loop
        if wake is None or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:  # called from another thread or loop: asyncio objects are not thread-safe
            loop.call_soon_threadsafe(wake.set)

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the send in progress (up to ``timeout``), then end the loop."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self.wake()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            released = await self._call(self.store.release, self.worker)
        except Exception:  # the database may be away; the leases then simply run out
            log.warning("could not hand back outbox leases; they end on their own")
        else:
            if released:
                log.info("handed back %d unsent note(s) to the other instances", released)

    # --- work -------------------------------------------------------------------------------

    async def _run(self, wake: asyncio.Event) -> None:
        while not self._stopping:
            wake.clear()
            try:
                while not self._stopping and await self.deliver_due():
                    pass
                delay = await self._next_delay()
            except Exception:  # the database may be away for a moment; keep the loop alive
                log.exception("outbox pass failed")
                delay = self.settings.outbox_poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)

    async def _next_delay(self) -> float:
        poll = self.settings.outbox_poll_seconds
        due = await self._call(self.store.next_due)
        if due is None:
            return poll
        # A row claimed by another process stays "due" until sent; never spin on it.
        return min(poll, max(0.05, (due - datetime.now(UTC)).total_seconds()))

    async def deliver_due(self) -> int:
        """Send one batch of due notes; returns how many were claimed."""
        lease = timedelta(seconds=self.settings.outbox_lease_seconds)
        deliveries = await self._call(
            lambda: self.store.claim(self.worker, lease=lease, limit=self.batch)
        )
        if deliveries:
            await asyncio.gather(*(self._deliver(delivery) for delivery in deliveries))
        return len(deliveries)

    async def _deliver(self, delivery: Delivery) -> None:
        note = delivery.note
        try:
            message = build_message(note, self.settings)
            # Never outlive the lease: another process may take the row after it.
            await asyncio.wait_for(
                self.transport.send(message), self.settings.outbox_lease_seconds * 0.9
            )
        except Exception as error:  # every failure is recorded and retried
            attempts = delivery.attempts + 1
            delay = backoff(
                attempts,
                base=self.settings.outbox_retry_seconds,
                cap=self.settings.outbox_max_backoff_seconds,
            )
            text = f"{type(error).__name__}: {error}"[:2000]
            log.warning(
                "note %d: attempt %d failed (%s); retry in %.0f s", note.id, attempts, text, delay
            )
            retry_at = datetime.now(UTC) + timedelta(seconds=delay)
            await self._call(
                lambda: self.store.mark_failed(
                    delivery.outbox_id, self.worker, text, retry_at=retry_at
                )
            )
            return
        await self._record_sent(delivery)
        log.info("note %d mailed to %s", note.id, self.settings.feedback_to)

    async def _record_sent(self, delivery: Delivery) -> None:
        """Commit "sent"; while the database is away, keep trying as long as the lease holds.

        The mail is out: this commit is all that stops a second send once the lease ends (the
        one duplicate window, docs/deploy.md), so a short database outage must not open it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.outbox_lease_seconds * 0.9
        pause = 0.2
        while True:
            try:
                await self._call(self.store.mark_sent, delivery.outbox_id, self.worker)
                return
            except SQLAlchemyError:
                if loop.time() + pause > deadline:
                    raise
                log.warning("note %d sent, but not yet recorded; retrying", delivery.note.id)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
