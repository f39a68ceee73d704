"""Real processes for end-to-end tests: the site under uvicorn, an SMTP server that keeps mail.

``nicepick serve`` runs as a subprocess on a free loopback port, configured only through
``NICEPICK_*`` variables, exactly as an operator would start it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
NICEPICK = ROOT / ".venv" / "bin" / "nicepick"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Mailbox:
    """Keeps every message the SMTP server accepted (aiosmtpd handler protocol)."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def find(self, marker: str, timeout: float = 10.0) -> EmailMessage | None:
        """The first message whose text contains ``marker``, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for message in list(self.messages):
                body = message.get_body(("plain",))
                if body is not None and marker in body.get_content():
                    return message
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def server_env(
    data_dir: Path, *, content_dir: Path | None = None, smtp_port: int | None = None, **extra: str
) -> dict[str, str]:
    """Settings for a throwaway site: temp data, the repo's templates, optional local SMTP."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NICEPICK_")}
    env.update(
        NICEPICK_CONTENT_DIR=str(content_dir or ROOT / "content"),
        NICEPICK_DATA_DIR=str(data_dir),
        NICEPICK_TEMPLATES_DIR=str(ROOT / "templates"),
        NICEPICK_STATIC_DIR=str(ROOT / "static"),
        NICEPICK_FEEDBACK_MIN_SECONDS="0",
        NICEPICK_SECRET_KEY="live-test-secret-key-0123456789abcdef",
        NICEPICK_OUTBOX_POLL_SECONDS="0.2",
    )
    if smtp_port is not None:
        env.update(
            NICEPICK_SMTP_HOST="127.0.0.1",
            NICEPICK_SMTP_PORT=str(smtp_port),
            NICEPICK_SMTP_TLS="none",
        )
    env.update(extra)
    return env


@contextmanager
def live_server(
    env: dict[str, str],
    log: Path,
    *,
    args: Sequence[str] = ("--log-level", "warning"),
    cwd: Path = ROOT,
    timeout: float = 20.0,
) -> Iterator[Server]:
    """``nicepick serve`` on a free port; waits for /healthz, stops the process afterwards."""
    port = free_port()
    command = [str(NICEPICK), "serve", "--port", str(port), *args]
    if not NICEPICK.exists():  # a venv made elsewhere: run the CLI module with this Python
        command = [sys.executable, "-m", "app", *command[1:]]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Whether ``condition`` came to hold within ``timeout`` seconds, polling it meanwhile.

    Tests wait for an outcome this way rather than sleeping or timing it: how fast it arrives
    is for bench/ to measure.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def raw_request(url: str, request: bytes, *, timeout: float = 5.0) -> bytes:
    """Send bytes as they are (no client normalises ``..`` or encodings); return the reply."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def raw_status(reply: bytes) -> int:
    """The status code of a raw HTTP/1.1 reply (0 when the server closed without one)."""
    if not reply.startswith(b"HTTP/1."):
        return 0
    return int(reply.split(b" ", 2)[1])


def running(pid: int) -> bool:
    """Whether ``pid`` is a process not yet ended (an orphan's zombie has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
