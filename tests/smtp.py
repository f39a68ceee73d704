"""A real SMTP server for tests: aiosmtpd's Controller on a free port, keeping what it receives.

``smtp_server`` (module scope) starts one per test module. ``SmtpServer.delay`` makes each
message take that long (a slow server); ``wait_for(n)`` waits until ``n`` messages arrived.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SmtpServer:
    """The handler aiosmtpd calls, and the messages it kept."""

    def __init__(self, port: int | None = None, *, delay: float = 0.0) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.delay = delay
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def start(self, **options: Any) -> SmtpServer:
        """Listen; ``options`` go to aiosmtpd's SMTP (``authenticator``, ``tls_context`` ...)."""
        self._controller = Controller(self, hostname=self.host, port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
        self.delay = 0.0

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages once at least ``count`` arrived; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    """The test settings, mailing ``smtp_server`` with short outbox timings (emptied first)."""
    smtp_server.reset()
    return settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_tls": "none",
            "smtp_timeout": 5.0,
            "outbox_poll_seconds": 0.2,
            "outbox_retry_seconds": 0.1,
            "outbox_max_backoff_seconds": 0.5,
            "outbox_lease_seconds": 5.0,
            "feedback_rate": "100/minute",
        }
    )
