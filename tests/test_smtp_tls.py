"""The SMTP password never crosses an unencrypted link unless the operator allows it.

Real aiosmtpd servers on free ports: one that offers AUTH without STARTTLS (as a misconfigured
or downgraded server would), one that offers STARTTLS with a self-signed certificate made here
with openssl, which the client trusts through ``SSL_CERT_FILE`` (read by OpenSSL's default
verify paths, which ``ssl.create_default_context`` loads).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiosmtplib
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.feedback.mail import SmtpRefused, SmtpTransport, build_message
from app.feedback.store import Note
from app.settings import Settings
from tests.smtp import SmtpServer

USER, PASSWORD = "mailer", "s3cret-password"
Tls = Literal["auto", "starttls", "tls", "none"]


@dataclass
class Logins:
    """What the server's authenticator saw: one (mechanism, login, over TLS) per attempt."""

    seen: list[tuple[str, str, bool]] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login = auth_data.login.decode()
        self.seen.append((mechanism, login, session.ssl is not None))
        ok = login == USER and auth_data.password.decode() == PASSWORD
        return AuthResult(success=ok)


@dataclass
class Server:
    smtp: SmtpServer
    logins: Logins


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("cert")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def plain_server() -> Iterator[Server]:
    """Offers AUTH on a clear-text link, and no STARTTLS."""
    logins = Logins()
    server = SmtpServer().start(authenticator=logins, auth_require_tls=False)
    try:
        yield Server(server, logins)
    finally:
        server.stop()


@pytest.fixture
def starttls_server(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    """Offers STARTTLS (and AUTH only after it)."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts our self-signed cert
    logins = Logins()
    server = SmtpServer().start(authenticator=logins, tls_context=context, auth_require_tls=True)
    try:
        yield Server(server, logins)
    finally:
        server.stop()


def transport(server: SmtpServer, tls: Tls, *, login: bool) -> SmtpTransport:
    values: dict[str, object] = {
        "smtp_host": server.host,
        "smtp_port": server.port,
        "smtp_tls": tls,
        "smtp_timeout": 5.0,
    }
    if login:
        values |= {"smtp_username": USER, "smtp_password": PASSWORD}
    return SmtpTransport(Settings(**values, _env_file=None))  # type: ignore[arg-type]


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def send(sender: SmtpTransport, message: Any) -> None:
    """Send on a fresh loop, then wait until every socket it opened is closed again: a TLS
    link closes after its close_notify exchange, a few loop turns after ``send`` returns,
    and a loop closed before that leaves the socket to the garbage collector."""

    async def run() -> None:
        before = open_files()  # counted inside the loop: the loop has descriptors of its own
        try:
            await sender.send(message)
        finally:
            deadline = asyncio.get_running_loop().time() + 5
            while open_files() > before and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)

    asyncio.run(run())


def a_message() -> Any:
    note = Note(
        id=3,
        slug="vim-vs-emacs",
        title="Vim vs Emacs",
        our_pick="Vim",
        reader_pick="Emacs",
        message="Org mode.",
        name="",
        email="",
        page_hash="c" * 64,
        page_updated=None,
        created_at=datetime(2026, 11, 29, tzinfo=UTC),
    )
    return build_message(note, Settings(_env_file=None))


@dataclass(frozen=True)
class Case:
    id: str
    server: Literal["plain", "starttls"]
    tls: Tls
    login: bool
    delivered: bool
    logins: list[tuple[str, str, bool]]  # what the server must have seen


CASES = [
    # The fault: auto on a server without STARTTLS used to send the password in clear.
    Case("auto-plain-server-with-password-refused", "plain", "auto", True, False, []),
    Case("starttls-required-plain-server-refused", "plain", "starttls", True, False, []),
    # The operator's explicit choice: clear text allowed.
    Case(
        "none-sends-password-in-clear-when-told",
        "plain",
        "none",
        True,
        True,
        [("PLAIN", USER, False)],
    ),
    # Nothing secret to protect: mail still goes to a plain server.
    Case("auto-plain-server-without-password", "plain", "auto", False, True, []),
    # TLS offered: the password goes over it.
    Case("auto-upgrades-then-logs-in", "starttls", "auto", True, True, [("PLAIN", USER, True)]),
    Case("starttls-logs-in-over-tls", "starttls", "starttls", True, True, [("PLAIN", USER, True)]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_credentials_only_cross_tls_unless_allowed(
    case: Case, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    server: Server = request.getfixturevalue(f"{case.server}_server")
    sender = transport(server.smtp, case.tls, login=case.login)
    caplog.set_level(logging.ERROR, logger="app.feedback.mail")

    if case.delivered:
        send(sender, a_message())
        [mail] = server.smtp.wait_for(1)
        assert mail["X-Nicepick-Note"] == "3"
    else:
        with pytest.raises(aiosmtplib.SMTPException) as raised:
            send(sender, a_message())
        assert server.smtp.messages == []
        if case.tls == "auto":
            assert isinstance(raised.value, SmtpRefused)
            assert "NICEPICK_SMTP_TLS=none" in str(raised.value)
            assert any("in clear text" in record.getMessage() for record in caplog.records)
    assert server.logins.seen == case.logins
