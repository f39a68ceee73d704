"""The outbox sender: claims due notes, mails them, and records each delivery or failure.

One sender runs in each server process. It wakes at once when a note is committed here
(``wake``), otherwise every ``outbox_poll_seconds`` or when the next retry falls due, so notes
from other processes and retries after a restart are picked up too.

Once means once. Notes go out over one SMTP session, one at a time: each is claimed just
before it is sent (so a sender held up by a slow server holds one note, not a batch), and its
delivery is committed as soon as its 250 arrives, before the next is claimed: a crash exposes
at most the one message in flight. Its lease is renewed every third of
``outbox_lease_seconds`` while it is being sent (a slow server is waited for, RFC 5321's 10
minutes, never cut short into a resend). Every write checks the lease holder (see
``app/feedback/store.py``), so a renewal also tells a sender that another instance took its
note over or recorded it. A sender that cannot record a delivery sends nothing more and
claims nothing until it has.

A failure is classed by what it says about the note. A 5xx reply to MAIL, RCPT or DATA (the
server refused this message) or any error while building the message is permanent: the note is
marked failed, shown by ``nicepick outbox``, and sent again only by ``nicepick outbox --retry``.
Everything else (no connection, 4xx, a 5xx to the session itself, such as a refused login)
is retried after ``outbox_retry_seconds * 2**(attempts-1)``, capped at
``outbox_max_backoff_seconds``. When the connection dies after a message was handed over and
before the reply, the server may have stored it: the lease is kept until it ends, then the
note is sent again (the one window for a repeat, docs/deploy.md).

On SIGTERM (``stop``) the sender claims nothing more. A message already handed over is given
``outbox_drain_seconds`` for its reply; any other send is dropped at once, without QUIT. The
leases on notes that cannot have reached the server are handed back, so another instance sends
them now; the others run out on their own.

Database calls go through the ``Database``'s bounded thread pool (see ``app/db.py``) when one
is given, else Starlette's.

Under 500 lines: the send loop, the lease heartbeat and the shutdown drain share the
sender's state (what is in flight, what is unrecorded), so they stay one class; the failure
classes (``is_permanent``, ``failure_kind``) sit beside it because they read the same errors.

While a note is being delivered, the sender's log lines name the request that posted it
(``app.logs.request_id``, set from the note's stored ``request_id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

from aiosmtplib.errors import (
    SMTPAuthenticationError,
    SMTPException,
    SMTPResponseException,
    SMTPTimeoutError,
)
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from app import metrics
from app.db import Database
from app.feedback.mail import (
    Session,
    SmtpRefused,
    Transport,
    UnbuildableMessage,
    build_message,
    wire_bytes,
)
from app.feedback.store import Delivery, FeedbackStore
from app.logs import request_id
from app.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

# After the drain time, how long ``stop`` still gives the cancelled sender to write down what
# it knows and to hand leases back, before leaving the leases to run out.
CLEANUP_SECONDS = 5.0


def backoff(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


def is_permanent(error: BaseException) -> bool:
    """Whether a reply about one message (to MAIL, RCPT or DATA) refuses it for good: a 5xx.

    Only replies about a message are judged so. A 5xx to the session (greeting, EHLO, AUTH)
    says nothing about the note and would fail every note at once, so the sender retries it;
    Postfix likewise defers rather than bounces on a refused login
    (``smtp_sasl_auth_soft_bounce``, https://www.postfix.org/postconf.5.html).
    """
    if isinstance(error, SMTPAuthenticationError):
        return False
    return isinstance(error, SMTPResponseException) and 500 <= error.code < 600


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


def ends_session(error: BaseException) -> bool:
    """No connection, a timeout, a broken protocol: not a reply about one message."""
    if isinstance(error, SMTPResponseException):
        return False
    return isinstance(error, (SMTPException, OSError, TimeoutError))


def failure_kind(error: BaseException, *, permanent: bool) -> str:
    """The ``kind`` label of ``nicepick_smtp_failures_total``: a fixed word per cause, so an
    alert can tell a refused login from a server that is away."""
    if isinstance(error, UnbuildableMessage) or (
        permanent and not isinstance(error, SMTPResponseException)
    ):
        return "unbuildable"
    if isinstance(error, (SMTPAuthenticationError, SmtpRefused)):
        return "auth"
    if isinstance(error, SMTPResponseException):
        return "refused" if 500 <= error.code < 600 else "deferred"
    if isinstance(error, (SMTPTimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(error, (SMTPException, OSError)):
        return "connection"
    return "other"


class Unrecorded(Exception):
    """A delivery could not be written down; nothing more is sent until it is."""


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
        # Handed over when a shutdown cut the session, and not yet recorded as "outcome
        # unknown": the server may have it, so its lease is never handed back.
        self._at_risk: set[int] = set()
        # Accepted by the server (250), "sent" not yet committed: written down before
        # anything else is claimed or sent, and never handed back.
        self._unrecorded: dict[int, Delivery] = {}
        self._session: Session | None = None
        self._flush_pause = 0.25  # doubles, to 5 s, while the database refuses the record

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.outbox_lease_seconds)

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

    async def stop(self, timeout: float | None = None) -> None:
        """Stop sending: wait up to ``timeout`` (``outbox_drain_seconds``) for the reply to a
        message already handed over, drop any other send at once, hand back safe leases."""
        drain = self.settings.outbox_drain_seconds if timeout is None else timeout
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self.wake()
        if not self._handing_over() and not self._unrecorded:
            task.cancel()  # nothing is with the server unrecorded: no reason to wait
        done, _ = await asyncio.wait({task}, timeout=drain)
        if not done:
            task.cancel()
        released = 0
        try:
            # One budget for the rest: the cancelled sender writes down what it knows, the
            # deliveries still unrecorded are tried once more, safe leases go back.
            async with asyncio.timeout(CLEANUP_SECONDS):
                await asyncio.wait({task})
                await self._flush_unrecorded()
                held = await self._call(self.store.held_by, self.worker)
                keep = self._at_risk | set(self._unrecorded)
                released = await self._call(self.store.release, self.worker, held - keep)
        except (SQLAlchemyError, TimeoutError):  # the database may be away; leases run out
            log.warning("could not hand back outbox leases; they end on their own")
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("outbox sender ended with an error", exc_info=task.exception())
        if released:
            log.info("handed back %d unsent note(s) to the other instances", released)
        keep = self._at_risk | set(self._unrecorded)
        for outbox_id in sorted(keep):
            log.warning(
                "outbox row %d may have reached the mail server unrecorded; its lease is "
                "kept and it is sent again only once the lease ends",
                outbox_id,
            )

    # --- work -------------------------------------------------------------------------------

    async def _run(self, wake: asyncio.Event) -> None:
        while not self._stopping:
            wake.clear()
            try:
                while not self._stopping and await self.deliver_due():
                    pass
                delay = await self._next_delay()
            except SQLAlchemyError as error:  # the database is away for a moment
                log.warning("outbox pass failed: %s", type(error).__name__)
                delay = self.settings.outbox_poll_seconds
            except Exception:  # a bug; keep the loop alive, say where
                log.exception("outbox pass failed")
                delay = self.settings.outbox_poll_seconds
            if self._unrecorded:  # a delivery waits to be written down: try again soon
                delay = min(delay, self._flush_pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)

    async def _next_delay(self) -> float:
        poll = self.settings.outbox_poll_seconds
        due = await self._call(self.store.next_due_in)
        if due is None:
            return poll
        # A row claimed by another process stays "due" until sent; never spin on it.
        return min(poll, max(0.05, due))

    async def deliver_due(self) -> int:
        """Send due notes over one session, claiming each just before it is sent, up to
        ``batch`` of them; returns how many were claimed (0 while a delivery waits to be
        recorded: a sender that cannot write must not send more)."""
        if not await self._flush_unrecorded():
            return 0
        first = await self._claim_next()
        if first is None:
            return 0
        return await self._send_session(first)

    async def _claim_next(self) -> Delivery | None:
        # One at a time: a sender working through a slow server holds one note, not a batch
        # the other instances could be sending meanwhile.
        claimed = await self._call(lambda: self.store.claim(self.worker, lease=self.lease, limit=1))
        return claimed[0] if claimed else None

    async def drain(self) -> None:
        """Send everything due, then make sure every delivery is written down (the CLI)."""
        while await self.deliver_due():
            pass
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.outbox_lease_seconds
        while not await self._flush_unrecorded() and loop.time() < deadline:
            await asyncio.sleep(0.5)

    async def _flush_unrecorded(self) -> bool:
        """Write down the deliveries that could not be recorded; True when none is left."""
        for delivery in list(self._unrecorded.values()):
            request_id.set(delivery.request_id)
            try:
                await self._mark_sent(delivery)
            except SQLAlchemyError as error:
                log.warning(
                    "note %d mailed, still not recorded (%s); claiming nothing until it is",
                    delivery.note.id,
                    type(error).__name__,
                )
                self._flush_pause = min(self._flush_pause * 2, 5.0)
                return False
            del self._unrecorded[delivery.outbox_id]
            log.info("note %d: delivery recorded at last", delivery.note.id)
        self._flush_pause = 0.25
        request_id.set(None)
        return True

    async def _build(self, delivery: Delivery) -> EmailMessage | None:
        # From here until the next note, this task's log lines name the request that stored
        # this one (the sender runs in its own task: no request of ours shares the variable).
        request_id.set(delivery.request_id)
        try:
            message = build_message(delivery.note, self.settings)
            wire_bytes(message)  # what fails on serialising fails here, not mid-session
        except Exception as error:  # whatever the cause, this note's mail cannot be made
            await self._failed(delivery, error, permanent=True)
            return None
        return message

    async def _heartbeat(self, sending: set[int]) -> None:
        """Renew the lease of the note being sent every third of a lease."""
        while True:
            await asyncio.sleep(self.settings.outbox_lease_seconds / 3)
            try:
                held = await self._call(
                    lambda: self.store.renew(self.worker, set(sending), lease=self.lease)
                )
            except SQLAlchemyError as error:
                log.warning("could not renew an outbox lease (%s)", type(error).__name__)
                continue
            for lost in sending - held:
                log.warning("outbox row %d was taken over or recorded elsewhere", lost)

    async def _send_session(self, first: Delivery) -> int:
        message = await self._build(first)
        if message is None:
            return 1
        sending: set[int] = set()
        heartbeat = asyncio.create_task(self._heartbeat(sending), name="nicepick-outbox-lease")
        try:
            return await self._send_over_one_session(first, message, sending)
        finally:
            request_id.set(None)
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _send_over_one_session(
        self, delivery: Delivery, message: EmailMessage, sending: set[int]
    ) -> int:
        """Send ``delivery``, then claim and send the next due note on the same session, and
        so on up to ``batch`` notes. Each delivery is committed at its 250, before the next
        note is claimed, so a crash exposes only the message in flight."""
        claimed = 1
        current: Delivery | None = delivery
        sending.add(delivery.outbox_id)
        try:
            async with self.transport.session() as session:
                self._session = session
                while True:
                    try:
                        await session.send(message)
                    except Exception as error:
                        if session.handed_over or ends_session(error):
                            raise  # the session broke; handled below
                        # A reply about this message (4xx, 5xx), or a message that cannot be
                        # sent as built: this note only; the session goes on.
                        permanent = is_permanent(error) or not isinstance(
                            error, SMTPResponseException
                        )
                        await self._failed(delivery, error, permanent=permanent)
                    else:
                        self._unrecorded[delivery.outbox_id] = delivery
                        await self._record_sent(delivery)
                    current = None
                    sending.discard(delivery.outbox_id)
                    if self._stopping or claimed >= self.batch:
                        return claimed
                    # The next note, claimed just before it is sent, built in the open session.
                    while True:
                        next_delivery = await self._claim_next()
                        if next_delivery is None:
                            return claimed
                        claimed += 1
                        next_message = await self._build(next_delivery)
                        if next_message is not None:
                            break
                    delivery, message, current = next_delivery, next_message, next_delivery
                    sending.add(delivery.outbox_id)
        except asyncio.CancelledError:
            if current is not None and self._handing_over():
                self._at_risk.add(current.outbox_id)
                with contextlib.suppress(Exception):
                    await self._unknown(current, "interrupted by shutdown")
            raise
        except Unrecorded:
            # The database cannot take writes: send and claim nothing more until it can.
            return claimed
        except SQLAlchemyError:
            raise  # the same, found while claiming the next note; its lease runs out
        except Exception as error:
            # The session broke (or never opened: a 5xx greeting or a refused login says
            # nothing about the note, so it does not fail for good). The message in flight
            # may have been stored if it was handed over.
            if current is not None and self._handing_over():
                await self._unknown(current, describe(error))
            elif current is not None:
                await self._failed(current, error)
        finally:
            self._session = None
        return claimed

    def _handing_over(self) -> bool:
        """Whether a message is with the server and its reply not yet in."""
        return self._session is not None and self._session.handed_over

    async def _record_sent(self, delivery: Delivery) -> None:
        """Commit "sent" at once; if the database refuses for a moment, keep the delivery in
        memory and stop: the loop writes it down before it claims or sends anything else."""
        pause = 0.1
        for _ in range(4):
            try:
                await self._mark_sent(delivery)
            except SQLAlchemyError:
                await asyncio.sleep(pause)
                pause *= 2
            else:
                del self._unrecorded[delivery.outbox_id]
                metrics.MAIL_SENT.inc()
                log.info(
                    "note %d (request %s) mailed to %s",
                    delivery.note.id,
                    delivery.request_id or "unknown",
                    self.settings.feedback_to,
                )
                return
        log.warning("note %d mailed, but not yet recorded; retrying", delivery.note.id)
        raise Unrecorded

    async def _mark_sent(self, delivery: Delivery) -> None:
        if not await self._call(self.store.mark_sent, delivery.outbox_id, self.worker):
            log.warning(
                "note %d mailed after its lease ended; recorded, another instance may have "
                "mailed it too",
                delivery.note.id,
            )

    async def _failed(
        self, delivery: Delivery, error: BaseException, *, permanent: bool = False
    ) -> None:
        attempts = delivery.attempts + 1
        text = describe(error)
        metrics.SMTP_FAILURES.labels(failure_kind(error, permanent=permanent)).inc()
        if permanent:
            log.error(
                "note %d: refused for good (%s); `nicepick outbox --retry` sends it again",
                delivery.note.id,
                text,
            )
            delay = 0.0
        else:
            delay = backoff(
                attempts,
                base=self.settings.outbox_retry_seconds,
                cap=self.settings.outbox_max_backoff_seconds,
            )
            log.warning(
                "note %d: attempt %d failed (%s); retry in %.0f s",
                delivery.note.id,
                attempts,
                text,
                delay,
            )
        retry_in = timedelta(seconds=delay)
        await self._call(
            lambda: self.store.mark_failed(
                delivery.outbox_id, self.worker, text, retry_in=retry_in, permanent=permanent
            )
        )

    async def _unknown(self, delivery: Delivery, reason: str) -> None:
        metrics.SMTP_FAILURES.labels("outcome_unknown").inc()
        log.warning(
            "note %d: connection lost after the message was handed over (%s); the server may "
            "have it; sent again when the lease ends",
            delivery.note.id,
            reason,
        )
        await self._call(
            self.store.mark_unknown,
            delivery.outbox_id,
            self.worker,
            f"outcome unknown: {reason}"[:2000],
        )
        # Recorded: the row is now held by no live worker, so nothing hands it back.
        self._at_risk.discard(delivery.outbox_id)
