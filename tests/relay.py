"""A mail relay that misbehaves on demand: aiosmtpd on a free port, counting mail per note id.

``Relay.mode`` is read at each command, so a test switches it while the site runs:

- ``accept``: store and answer 250 at once;
- ``hang_ehlo``: never answer EHLO (until the mode changes);
- ``slow_data``: answer DATA after ``delay`` seconds, storing only if the client is still
  there (aiosmtpd cancels a handler when its client leaves, as a before-queue filter does);
- ``slow_data_keeps``: the same delay, but the message is stored whatever the client does
  (the server queued it and is slow to say so);
- ``reject_4xx`` / ``reject_5xx``: answer DATA with 451 / 554, storing nothing;
- ``drop_before_storing`` / ``drop_after_storing``: drop the connection instead of replying.

``once=True`` falls back to ``accept`` after the first DATA. ``refuse`` names note ids answered
554 whatever the mode. ``on_stored(note_id)`` runs in the relay's thread after a message is
stored and before the reply, to kill a process or stop a database at that exact moment.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller

from tests.smtp import free_port

Mode = Literal[
    "accept",
    "hang_ehlo",
    "slow_data",
    "slow_data_keeps",
    "reject_4xx",
    "reject_5xx",
    "drop_before_storing",
    "drop_after_storing",
]


class Relay:
    def __init__(self, mode: Mode = "accept", *, delay: float = 0.0, once: bool = False) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.mode: Mode = mode
        self.delay = delay
        self.once = once
        self.refuse: set[int] = set()
        self.on_stored: Callable[[int], None] | None = None
        self.stored: list[EmailMessage] = []
        self.ehlo_received = 0
        self.mail_commands = 0
        self.data_received = 0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    # --- aiosmtpd handler hooks -------------------------------------------------------------

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.ehlo_received += 1
        while self.mode == "hang_ehlo":
            await asyncio.sleep(0.05)
        session.host_name = hostname
        return responses

    async def handle_MAIL(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mail_commands += 1
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_received += 1
        mode = self.mode
        if self.once:
            self.mode = "accept"
        message = message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        assert isinstance(message, EmailMessage)
        note_id = int(str(message["X-Nicepick-Note"]))
        if note_id in self.refuse or mode == "reject_5xx":
            return "554 5.6.0 Message refused by policy"
        if mode == "reject_4xx":
            return "451 4.3.0 Try again later"
        if mode == "drop_before_storing":
            return await self._drop(server)
        if mode == "slow_data":
            await asyncio.sleep(self.delay)  # cancelled, storing nothing, if the client leaves
        elif mode == "slow_data_keeps":
            await asyncio.shield(asyncio.ensure_future(self._store_later(message, note_id)))
            return "250 Message accepted for delivery"
        self._store(message, note_id)
        if mode == "drop_after_storing":
            return await self._drop(server)
        return "250 Message accepted for delivery"

    async def _store_later(self, message: EmailMessage, note_id: int) -> None:
        await asyncio.sleep(self.delay)
        self._store(message, note_id)

    def _store(self, message: EmailMessage, note_id: int) -> None:
        with self._lock:
            self.stored.append(message)
        if self.on_stored is not None:
            self.on_stored(note_id)

    async def _drop(self, server: Any) -> str:
        server.transport.abort()
        await asyncio.sleep(5)  # aiosmtpd cancels this handler as the connection goes
        return "451 4.3.0 never sent"

    # --- for the test -------------------------------------------------------------------------

    def counts(self) -> Counter[int]:
        """How many copies of each note the relay stored."""
        with self._lock:
            return Counter(int(str(m["X-Nicepick-Note"])) for m in self.stored)

    def message_ids(self, note_id: int) -> list[str]:
        with self._lock:
            return [
                str(m["Message-ID"])
                for m in self.stored
                if str(m["X-Nicepick-Note"]) == str(note_id)
            ]

    def start(self) -> Relay:
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self.mode = "accept"  # let hanging handlers end
            self._controller.stop()
            self._controller = None


def wait_until(check: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout} s: {what or check}")
        time.sleep(0.05)
